import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { Tensor, tidy } from '../src/tensor/index.ts';
import {
  balancedClassWeights,
  crossEntropy,
  Classifier,
  DEFAULT_CLASSIFIER_CONFIG,
  randomShift,
  splitMnistDigits,
  splitStratified,
  trainClassifier,
  encodeClassifier,
  loadClassifier,
  readClassifierInfo,
  MNIST_TEST_COUNT,
  type ClassifierConfig,
} from '../src/gan/classifier.ts';
import { evaluateSamples } from '../src/gan/metrics.ts';
import { Rng, subset, split, type Dataset } from '../src/data/dataset.ts';
import { encodeSafetensors } from '../src/io/safetensors.ts';
import { floatToHalfBits, halfBitsToFloat } from '../src/io/half.ts';
import { loadMnistDigits } from '../src/node/datasets.ts';
import { classifierPath, loadClassifierFile, loadClassifierTestSet } from '../src/node/eval-models.ts';
import { useEngine, checkOp, expectClose, randomArray } from './helpers.ts';

useEngine();

/** float64 cross-entropy per sample: logsumexp(z) − z[label]. */
function refCrossEntropy(z: Float64Array, labels: ArrayLike<number>, k: number): Float64Array {
  const n = labels.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = z.subarray(i * k, (i + 1) * k);
    const m = Math.max(...row);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    out[i] = m + Math.log(s) - row[labels[i]!]!;
  }
  return out;
}

/** A copy of `bytes` with the first occurrence of an ASCII string replaced by another of the same length. */
function replaceBytes(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const [a, b] = [new TextEncoder().encode(from), new TextEncoder().encode(to)];
  const at = bytes.findIndex((_, i) => a.every((v, j) => bytes[i + j] === v));
  if (at < 0 || a.length !== b.length) throw new Error(`replaceBytes: "${from}" not found`);
  const out = bytes.slice();
  out.set(b, at);
  return out;
}

const TINY: ClassifierConfig = { ...DEFAULT_CLASSIFIER_CONFIG, conv1: 4, conv2: 8, hidden: 16 };

describe('crossEntropy', () => {
  const n = 6;
  const k = 5;
  const labels = Int32Array.from([0, 4, 2, 2, 1, 3]);

  it('per-sample losses and gradients match a float64 reference', async () => {
    await checkOp({
      shapes: [[n, k]],
      inputs: [randomArray(n * k, 3, -4, 4)],
      gpu: ([z]) => crossEntropy(z!, labels, { reduction: 'none' }),
      ref: ([z]) => refCrossEntropy(z!, labels, k),
      eps: 1e-4,
    });
  });

  it('mean and sum reductions, with labels given as a tensor', async () => {
    const sumRef = (z: Float64Array) => Float64Array.of(refCrossEntropy(z, labels, k).reduce((a, b) => a + b, 0));
    await checkOp({
      shapes: [[n, k]],
      gpu: ([z]) => crossEntropy(z!, labels, { reduction: 'sum' }),
      ref: ([z]) => sumRef(z!),
      eps: 1e-4,
    });
    await checkOp({
      shapes: [[n, k]],
      gpu: ([z]) => {
        const lt = Tensor.fromArray(Float32Array.from(labels), [n]);
        return crossEntropy(z!, lt);
      },
      ref: ([z]) => sumRef(z!).map((v) => v / n),
      eps: 1e-4,
    });
  });

  it('class weights as torch: w[y]·loss per sample, the mean divided by Σ w[y]; values and gradients', async () => {
    const w = [0.5, 2, 1, 3, 0.25];
    const weighted = (z: Float64Array) => refCrossEntropy(z, labels, k).map((v, i) => w[labels[i]!]! * v);
    const totalW = [...labels].reduce((a, l) => a + w[l]!, 0);
    await checkOp({
      shapes: [[n, k]],
      gpu: ([z]) => crossEntropy(z!, labels, { reduction: 'none', classWeights: w }),
      ref: ([z]) => weighted(z!),
      eps: 1e-4,
    });
    await checkOp({
      shapes: [[n, k]],
      gpu: ([z]) => crossEntropy(z!, labels, { classWeights: w }),
      ref: ([z]) => Float64Array.of(weighted(z!).reduce((a, b) => a + b, 0) / totalW),
      eps: 1e-4,
    });
    const z = Tensor.zeros([n, k]);
    expect(() => crossEntropy(z, labels, { classWeights: [1, 2] })).toThrow(/2 class weights for 5 classes/);
    expect(() => crossEntropy(z, labels, { classWeights: [0, 0, 0, 0, 0] })).toThrow(/weights of this batch sum to 0/);
    const asTensor = Tensor.fromArray(Float32Array.from(labels), [n]);
    expect(() => crossEntropy(z, asTensor, { classWeights: w })).toThrow(
      /classWeights need the labels as an Int32Array/,
    );
    [z, asTensor].forEach((t) => t.dispose());
  });

  it('balancedClassWeights: (N / (K·n_c))^power, 0 for an empty class', () => {
    // 6 samples: class 0 ×3, class 1 ×2, class 2 ×1, class 3 none; N/K = 1.5
    const labels6 = [0, 0, 0, 1, 1, 2];
    expect([...balancedClassWeights(labels6, 4, 1)]).toEqual([0.5, 0.75, 1.5, 0]);
    const half = balancedClassWeights(labels6, 4);
    expectClose(half, [Math.sqrt(0.5), Math.sqrt(0.75), Math.sqrt(1.5), 0], 1e-12);
    expect([...balancedClassWeights(labels6, 4, 0)]).toEqual([1, 1, 1, 0]);
  });

  it('is stable for huge logits (no overflow in exp)', async () => {
    const z = Tensor.fromArray([1000, 0, -1000, 500, 502, 0], [2, 3]);
    const loss = crossEntropy(z, Int32Array.from([0, 0]), { reduction: 'none' });
    expectClose(await loss.toArray(), [0, 2 + Math.log(1 + Math.exp(-2) + Math.exp(-502))], 1e-6);
    [z, loss].forEach((t) => t.dispose());
  });

  it('rejects bad labels and shapes', () => {
    const z = Tensor.zeros([2, 3]);
    expect(() => crossEntropy(z, Int32Array.from([0, 3]))).toThrow(
      /label 3 of sample 1 is not a class index in \[0, 3\)/,
    );
    expect(() => crossEntropy(z, Int32Array.from([0]))).toThrow(/logits \[2, 3\] need 2 labels .* got 1 labels/);
    const flat = Tensor.zeros([6]);
    expect(() => crossEntropy(flat, Int32Array.from([0]))).toThrow(/logits must be \[N, K\], got \[6\]/);
    [z, flat].forEach((t) => t.dispose());
  });
});

describe('Classifier model', () => {
  it('gives logits and penultimate features of the right shapes, with torch-style keys', async () => {
    const model = new Classifier(TINY, { seed: 3 });
    expect(model.stateDict().size).toBe(8);
    expect([...model.stateDict().keys()]).toEqual([
      'features.0.weight',
      'features.0.bias',
      'features.3.weight',
      'features.3.bias',
      'features.7.weight',
      'features.7.bias',
      'head.1.weight',
      'head.1.bias',
    ]);
    expect(model.stateDict().get('features.7.weight')!.shape).toEqual([16, 8 * 7 * 7]);
    const images = Float32Array.from(randomArray(3 * 784, 9));
    const { logits, features } = await model.run(images, 3);
    expect(logits.length).toBe(3 * 10);
    expect(features.length).toBe(3 * 16);
    // Features come after a ReLU.
    expect(Math.min(...features)).toBeGreaterThanOrEqual(0);
    // run() equals a plain eval-mode forward.
    model.eval();
    const direct = tidy(() => model.forward(Tensor.fromArray(images, [3, 1, 28, 28])));
    expectClose(await direct.toArray(), logits, 1e-5);
    direct.dispose();
    expect(() => tidy(() => model.forward(Tensor.zeros([1, 1, 32, 32])))).toThrow(
      /input must be \[N, 1, 28, 28\], got \[1, 1, 32, 32\]/,
    );
    model.dispose();
  });

  it('randomShift moves a pixel by at most the shift and fills with background', () => {
    // 9×9 with the lit pixel in the middle: a shift of up to 4 keeps it inside, so a shift beyond 2 would show
    const h = 9;
    const images = new Float32Array(40 * h * h).fill(-1);
    for (let i = 0; i < 40; i++) images[i * h * h + 4 * h + 4] = 1;
    randomShift(images, 40, 1, h, h, 2, new Rng(4));
    const offsets = new Set<string>();
    const dys = new Set<number>();
    const dxs = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const img = images.subarray(i * h * h, (i + 1) * h * h);
      const lit = [...img.keys()].filter((p) => img[p] === 1);
      expect(lit).toHaveLength(1);
      expect(img.filter((v) => v === -1).length).toBe(h * h - 1);
      const [dy, dx] = [Math.floor(lit[0]! / h) - 4, (lit[0]! % h) - 4];
      expect(Math.abs(dy)).toBeLessThanOrEqual(2);
      expect(Math.abs(dx)).toBeLessThanOrEqual(2);
      offsets.add(`${dy},${dx}`);
      dys.add(dy);
      dxs.add(dx);
    }
    expect(offsets.size).toBeGreaterThan(10); // many of the 25 offsets occur
    // every shift from −2 to 2 occurs on each axis (the bound is reached, not just respected)
    expect([...dys].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
    expect([...dxs].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
  });

  it('randomShift fills with a given value, or with the nearest edge pixel', () => {
    // 1 image, 1 channel, 3×3: values 1..9 row by row
    const base = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // find a seed whose first draw shifts by (dy, dx) = (1, −1): dy then dx, each rng.int(3) − 1
    let seed = 0;
    for (; ; seed++) {
      const r = new Rng(seed);
      if (r.int(3) - 1 === 1 && r.int(3) - 1 === -1) break;
    }
    const filled = base.slice();
    randomShift(filled, 1, 1, 3, 3, 1, new Rng(seed), 0.5);
    // out[y][x] = in[y − 1][x + 1]: the top row and the right column are uncovered
    expect([...filled]).toEqual([0.5, 0.5, 0.5, 2, 3, 0.5, 5, 6, 0.5]);
    const edge = base.slice();
    randomShift(edge, 1, 1, 3, 3, 1, new Rng(seed), 'edge');
    // uncovered pixels take in[clamp(y − 1)][clamp(x + 1)]
    expect([...edge]).toEqual([2, 3, 3, 2, 3, 3, 5, 6, 6]);
  });

  it('a short training run lowers the loss (tiny model, 500 digits, 40 steps)', async () => {
    const digits = splitMnistDigits(loadMnistDigits());
    const train = split(digits.train, 500, { seed: 1 })[1];
    const test = split(digits.test, 300, { seed: 1 })[1];
    const losses: number[] = [];
    const { model, testAccuracy } = await trainClassifier(train, {
      epochs: 4,
      batch: 50,
      lr: 0.02,
      seed: 2,
      config: { ...TINY, dropout: 0 },
      test,
      reportEvery: 10,
      onProgress: (p) => {
        if (p.testAccuracy === undefined) losses.push(p.loss);
      },
    });
    expect(losses.length).toBe(4);
    expect(losses[0]!).toBeGreaterThan(1.8); // starts near ln 10 = 2.3
    expect(losses[3]!).toBeLessThan(0.6 * losses[0]!);
    expect(testAccuracy).toHaveLength(4);
    expect(testAccuracy[3]!).toBeGreaterThan(0.5); // chance is 0.1
    expect(model.training).toBe(false);
    model.dispose();
  });
});

describe('MNIST split', () => {
  it('is deterministic, disjoint, complete and stratified', () => {
    const all = loadMnistDigits();
    const a = splitMnistDigits(all);
    const b = splitMnistDigits(all);
    expect(a.train.n + a.test.n).toBe(all.n);
    expect(Math.abs(a.test.n - MNIST_TEST_COUNT)).toBeLessThanOrEqual(5);
    expect(a.test.labels!.every((l, i) => l === b.test.labels![i])).toBe(true);
    expect(a.test.images.every((v, i) => v === b.test.images[i])).toBe(true);
    // Every class gives ~15% of its images to the test set.
    const count = (ds: Dataset, c: number) => ds.labels!.filter((l) => l === c).length;
    for (let c = 0; c < 10; c++) {
      const frac = count(a.test, c) / (count(a.test, c) + count(a.train, c));
      expect(Math.abs(frac - MNIST_TEST_COUNT / all.n)).toBeLessThan(0.002);
    }
    // Disjoint: no test image appears in the train set (compare by a hash of the pixels).
    const key = (ds: Dataset, i: number) => {
      let h = 0;
      for (let p = 0; p < 784; p++) h = (Math.imul(h, 31) + Math.round(ds.images[i * 784 + p]! * 1000)) | 0;
      return h;
    };
    const trainKeys = new Set(Array.from({ length: a.train.n }, (_, i) => key(a.train, i)));
    const overlap = Array.from({ length: a.test.n }, (_, i) => key(a.test, i)).filter((h) => trainKeys.has(h)).length;
    expect(overlap).toBeLessThanOrEqual(2); // the npm set itself holds a few duplicate digits
  });
});

describe('stratified split', () => {
  it('gives each class round(n_c · testCount / n) test images, keeps the order, and is deterministic', () => {
    // classes of 10, 3 and 1 images, interleaved; 4 of 14 to the test set → round(2.86) = 3, round(0.86) = 1, round(0.29) = 0
    const labels = Int32Array.from([0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
    const n = labels.length;
    const ds: Dataset = { images: Float32Array.from(labels.keys()), labels, n, c: 1, h: 1, w: 1, name: 'toy' };
    const a = splitStratified(ds, 4, 11);
    const b = splitStratified(ds, 4, 11);
    expect([...a.test.labels!].sort()).toEqual([0, 0, 0, 1]);
    expect(a.train.n).toBe(10);
    expect([...a.test.images]).toEqual([...b.test.images]);
    const ids = [...a.train.images, ...a.test.images];
    expect(ids.sort((x, y) => x - y)).toEqual([...labels.keys()]); // disjoint and complete
    expect([...a.test.images]).toEqual([...a.test.images].sort((x, y) => x - y)); // dataset order kept
    expect([...a.test.images].every((i) => a.test.labels![a.test.images.indexOf(i)] === labels[i])).toBe(true);
    expect([...splitStratified(ds, 4, 12).test.images]).not.toEqual([...a.test.images]); // the seed picks them
  });

  it('splitMnistDigits is the stratified split that the committed MNIST classifier was tested on', () => {
    const info = readClassifierInfo(new Uint8Array(readFileSync(classifierPath('mnist'))));
    const recorded = /\((\d+) images\)/.exec(info.testSet!)![1];
    const { test } = splitMnistDigits(loadMnistDigits());
    expect(test.n).toBe(Number(recorded));
  });
});

describe('classifier files', () => {
  async function tinyBytes(dataset = 'mnist'): Promise<{ model: Classifier; bytes: Uint8Array }> {
    const model = new Classifier(TINY, { seed: 5 });
    return { model, bytes: await encodeClassifier(model, { dataset, testAccuracy: 0.5, testSet: 'none' }) };
  }

  it('round-trips through float16 safetensors', async () => {
    const { model, bytes } = await tinyBytes();
    const info = readClassifierInfo(bytes);
    expect(info).toMatchObject({ dataset: 'mnist', testAccuracy: 0.5, testSet: 'none', config: TINY });
    const loaded = loadClassifier(bytes, 'mnist');
    expect(loaded.training).toBe(false);
    // Every parameter and buffer comes back as its float16 rounding, bit for bit.
    const rounded = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [key, t] of model.stateDict()) {
      const data = (await t.toArray()).map((v) => halfBitsToFloat(floatToHalfBits(v)));
      rounded.set(key, { shape: t.shape, data });
    }
    const back = loaded.stateDict();
    expect([...back.keys()]).toEqual([...rounded.keys()]);
    for (const [key, t] of back) expect(await t.toArray(), key).toEqual(rounded.get(key)!.data);
    // So it computes what the original computes with those rounded values: the same kernels on the same bits.
    model.loadStateDict(rounded);
    const images = Float32Array.from(randomArray(4 * 784, 2));
    const [a, b] = [await model.run(images, 4), await loaded.run(images, 4)];
    expect(b.logits).toEqual(a.logits);
    expect(b.features).toEqual(a.features);
    // Half the bytes of float32 (plus the header).
    expect(bytes.length).toBeLessThan(model.numParameters() * 2 + 2048);
    [model, loaded].forEach((m) => m.dispose());
  });

  it('fails clearly on corrupted, foreign or mismatched files', async () => {
    const { model, bytes } = await tinyBytes();
    model.dispose();
    expect(() => loadClassifier(bytes, 'fashion-mnist', 'x.safetensors')).toThrow(
      /loadClassifier\(x.safetensors\): the classifier was trained on 'mnist', not 'fashion-mnist'/,
    );
    expect(() => loadClassifier(bytes.subarray(0, bytes.length - 100), 'mnist')).toThrow(
      /not a readable safetensors file: .*/,
    );
    expect(() => loadClassifier(new Uint8Array([1, 2, 3]), 'mnist')).toThrow(
      /not a readable safetensors file: .*truncated/,
    );
    const foreign = encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
    expect(() => loadClassifier(foreign, 'mnist')).toThrow(
      /not a classifier of this project \(metadata format is undefined/,
    );
    // Config and weights disagree: the file claims hidden = 32 but holds the hidden = 16 tensors.
    const patched = replaceBytes(bytes, '\\"hidden\\":16', '\\"hidden\\":32');
    expect(() => loadClassifier(patched, 'mnist')).toThrow(
      /weights do not fit the config .*shape mismatch for features\.7\.weight: the state dict has \[16, 392\], the model has \[32, 392\]/,
    );
    // A missing tensor.
    const partial = encodeSafetensors(
      { 'features.0.weight': { dtype: 'F16', shape: [4, 1, 3, 3], data: new Float32Array(36) } },
      { format: 'wgpu-gan-classifier/1', dataset: 'mnist', config: JSON.stringify(TINY) },
    );
    expect(() => loadClassifier(partial, 'mnist')).toThrow(/missing key\(s\): features\.0\.bias, /);
    // A NaN weight.
    const nan = encodeSafetensors(
      { 'features.0.weight': { dtype: 'F16', shape: [1], data: Float32Array.of(NaN) } },
      { format: 'wgpu-gan-classifier/1', dataset: 'mnist', config: JSON.stringify(TINY) },
    );
    expect(() => loadClassifier(nan, 'mnist')).toThrow(
      /tensor features\.0\.weight holds a non-finite value \(NaN\) at index 0/,
    );
    // A bad config.
    const badConfig = encodeSafetensors(
      {},
      { format: 'wgpu-gan-classifier/1', dataset: 'mnist', config: JSON.stringify({ ...TINY, conv1: -1 }) },
    );
    expect(() => loadClassifier(badConfig, 'mnist')).toThrow(
      /metadata config: conv1 must be a positive integer, got -1/,
    );
    expect(() => loadClassifierFile('mnist', '/nonexistent/c.safetensors')).toThrow(
      /weight file not found: \/nonexistent\/c.safetensors/,
    );
    expect(() => loadClassifierFile('cifar')).toThrow(/no classifier for dataset 'cifar'/);
  });
});

describe('committed MNIST classifier', () => {
  const path = classifierPath('mnist');

  it('is small, loads, and scores ≥ 98% on its test split', async () => {
    expect(existsSync(path)).toBe(true);
    const bytes = new Uint8Array(readFileSync(path));
    expect(bytes.length).toBeLessThan(2 * 1024 * 1024);
    const info = readClassifierInfo(bytes);
    expect(info.dataset).toBe('mnist');
    const model = loadClassifierFile('mnist');
    const test = await loadClassifierTestSet('mnist');
    const accuracy = await model.accuracy(test);
    expect(accuracy).toBeGreaterThanOrEqual(0.98);
    expect(accuracy).toBeCloseTo(info.testAccuracy!, 6);
    model.dispose();
  });

  it('evaluateSamples: real digits score like the baseline; one repeated digit shows mode collapse', async () => {
    const model = loadClassifierFile('mnist');
    const test = await loadClassifierTestSet('mnist');
    const [samplePool, reference] = split(test, 800, { seed: 3 }); // 701 and 800 images
    // "Generated" = 300 real test digits the reference never saw: everything should look like the real baseline.
    const real = subset(
      samplePool,
      Array.from({ length: 300 }, (_, i) => i),
    );
    const good = await evaluateSamples(model, real.images, reference);
    expect(good.samples).toBe(300);
    expect(good.coverage.count).toBe(10);
    expect(good.confidentRate).toBeGreaterThan(0.9);
    // The 800 reference images split into halves A and B of 400; both distances use 300 images against B.
    expect(good.fdSamples).toBe(300);
    expect(good.fdReferenceSamples).toBe(400);
    expect(good.testAccuracy).toBeGreaterThanOrEqual(0.97);
    expect(good.fd).toBeLessThan(2 * good.fdRealVsRealBaseline);
    expect(good.classHistogram.reduce((a, b) => a + b, 0)).toBe(300);
    // A collapsed generator: only 7s.
    const sevens = [...samplePool.labels!.keys()].filter((i) => samplePool.labels![i] === 7);
    const collapsed = await evaluateSamples(model, subset(samplePool, sevens).images, reference);
    // A 7 or two may be confidently misread as another digit; nothing like the 10 classes of real data.
    expect(collapsed.coverage.classes).toContain(7);
    expect(collapsed.coverage.count).toBeLessThanOrEqual(2);
    expect(collapsed.classHistogram[7]).toBeGreaterThan(0.95 * sevens.length);
    expect(collapsed.fd).toBeGreaterThan(5 * collapsed.fdRealVsRealBaseline);
    await expect(evaluateSamples(model, new Float32Array(100), reference)).rejects.toThrow(
      /100 sample values are not a whole number of 1×28×28 images/,
    );
    const wrong = Tensor.zeros([2, 3, 28, 28]);
    await expect(evaluateSamples(model, wrong, reference)).rejects.toThrow(
      /samples must have shape \[n, 1, 28, 28\], got \[2, 3, 28, 28\]/,
    );
    wrong.dispose();
    model.dispose();
  });
});

describe('committed Fashion-MNIST classifier', () => {
  it('loads and classifies a seeded 500-image sample of the test set like its recorded accuracy', async () => {
    const path = classifierPath('fashion-mnist');
    expect(existsSync(path)).toBe(true);
    const bytes = new Uint8Array(readFileSync(path));
    expect(bytes.length).toBeLessThan(2 * 1024 * 1024);
    const info = readClassifierInfo(bytes, path);
    expect(info.dataset).toBe('fashion-mnist');
    expect(info.testAccuracy!).toBeGreaterThan(0.85);
    const model = loadClassifierFile('fashion-mnist');
    expect(() => loadClassifierFile('mnist', path)).toThrow(/trained on 'fashion-mnist', not 'mnist'/);
    const sample = split(await loadClassifierTestSet('fashion-mnist'), 500, { seed: 4 })[1];
    const accuracy = await model.accuracy(sample);
    // 500 images: the standard error of an accuracy near 0.9 is about 0.013.
    expect(Math.abs(accuracy - info.testAccuracy!)).toBeLessThan(0.05);
    model.dispose();
  });
});
