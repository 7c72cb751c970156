/**
 * The colour quality score on a labelled folder (issue 20, item 6), on a small folder the test makes (three
 * classes of coloured blobs on white, 32×32): `train-classifier --dataset DIR` writes DIR/classifier-32.safetensors
 * with the folder's identity and classes; the folder score uses all its images as the reference and the held-out
 * split for accuracy; a classifier of other data, classes or size is refused; `eval` scores a 3-channel
 * checkpoint of a run on the folder and names what is missing.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLabels } from '../src/data/labels.ts';
import { Rng, permutation } from '../src/data/dataset.ts';
import { encodePng } from '../src/node/png.ts';
import { readClassifierInfo, FOLDER_TEST_SHARE } from '../src/gan/classifier.ts';
import { evaluateSamples } from '../src/gan/metrics.ts';
import {
  classifierPath,
  classNames,
  evaluateForDataset,
  loadClassifierFile,
  loadClassifierTestSet,
  loadFolderSplit,
  scoringProblem,
} from '../src/node/eval-models.ts';
import { trainClassifierCommand } from '../src/cli/train-classifier.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { ganSpec } from '../src/gan/models.ts';
import { runCli } from './cli-run.ts';
import { useEngine, readJsonl } from './helpers.ts';

useEngine();

const CLASSES = ['red', 'green', 'blue'];
const PER_CLASS = 24;
let dir = '';
let folder = '';

/** A 32×32 white image with a disc of the class's colour (radius 5–8) at a random place. */
function blob(cls: number, rng: Rng): Uint8Array {
  const size = 32;
  const rgba = new Uint8ClampedArray(size * size * 4).fill(255);
  const [cx, cy, r] = [8 + rng.int(16), 8 + rng.int(16), 5 + rng.int(4)];
  const shade = 120 + rng.int(100);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) {
        const i = (y * size + x) * 4;
        rgba[i] = cls === 0 ? shade : 40;
        rgba[i + 1] = cls === 1 ? shade : 40;
        rgba[i + 2] = cls === 2 ? shade : 40;
      }
  return encodePng({ width: size, height: size, rgba });
}

function makeFolder(path: string): void {
  mkdirSync(path, { recursive: true });
  const rng = new Rng(5);
  const images: Record<string, string> = {};
  for (let i = 0; i < PER_CLASS; i++)
    for (let c = 0; c < CLASSES.length; c++) {
      const name = `${CLASSES[c]}-${String(i).padStart(2, '0')}.png`;
      writeFileSync(join(path, name), blob(c, rng));
      images[name] = CLASSES[c]!;
    }
  writeFileSync(join(path, 'labels.json'), formatLabels({ name: 'coloured blobs', classes: CLASSES, images }));
}

/** A copy of the folder (with its classifier) whose labels.json is changed by `edit`. */
function copyWithLabels(name: string, edit: (labels: Record<string, unknown>) => void): string {
  const d = join(dir, name);
  cpSync(folder, d, { recursive: true });
  const labels = JSON.parse(readFileSync(join(d, 'labels.json'), 'utf8'));
  edit(labels);
  writeFileSync(join(d, 'labels.json'), JSON.stringify(labels));
  return d;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emoji-classifier-'));
  folder = join(dir, 'blobs');
  makeFolder(folder);
  const code = await trainClassifierCommand([
    '--dataset',
    folder,
    '--epochs',
    '20',
    '--lr',
    '0.01',
    '--balance',
    '0.5',
    '--batch',
    '8',
    '--conv1',
    '4',
    '--conv2',
    '8',
    '--hidden',
    '8',
  ]);
  expect(code).toBe(0);
}, 600_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a labelled folder classifier', () => {
  it('is written into the folder with its identity, classes and held-out accuracy', () => {
    const path = classifierPath(folder);
    expect(path).toBe(join(folder, 'classifier-32.safetensors'));
    const info = readClassifierInfo(new Uint8Array(readFileSync(path)), path);
    expect(info.dataset).toBe('coloured blobs');
    expect(info.classNames).toEqual(CLASSES);
    expect(info.config).toMatchObject({ channels: 3, imageSize: 32, numClasses: 3, conv1: 4, conv2: 8, hidden: 8 });
    // stratified: round(24 · 11 / 72) = 4 test images per class
    expect(Math.round(FOLDER_TEST_SHARE * 72)).toBe(11);
    expect(info.testSet).toMatch(/stratified 15% of each class .* \(12 images\), seed/);
    expect(info.training).toMatchObject({ trainImages: 60, epochs: 20, batch: 8, lr: 0.01, balance: 0.5 });
    expect(info.testAccuracy).toBeGreaterThanOrEqual(0.75); // the blobs differ by colour only
    expect(classNames(folder)).toEqual(CLASSES);
  });

  it('splits the same way every time, per class, with the test images held out', async () => {
    const a = loadFolderSplit(folder);
    const b = await loadClassifierTestSet(folder);
    expect(a.test.images).toEqual(b.images);
    expect([...a.test.labels!].filter((l) => l === 0)).toHaveLength(4);
    expect(a.train.n + a.test.n).toBe(72);
  });

  it('scores the folder: all its images the reference, the accuracy on the held-out split', async () => {
    const { folder: all, test } = loadFolderSplit(folder);
    const classifier = loadClassifierFile(folder);
    const heldOut = await classifier.accuracy(test);
    classifier.dispose();
    const real = await evaluateForDataset(folder, all.dataset.images);
    expect(real.testAccuracy).toBe(heldOut);
    expect(real.fdSamples).toBe(36); // min(72 samples, half A of the 72 images)
    expect(real.fdReferenceSamples).toBe(36);
    expect(real.classHistogram).toHaveLength(3);
    // The first 36 images in the folder's order (names sorted: 24 blue, 12 green, no red) are a skewed sample: further
    // from the reference (half B) than half A is.
    expect(real.fdRealVsRealBaseline).toBeGreaterThan(0);
    expect(real.fd).toBeGreaterThan(real.fdRealVsRealBaseline);
    // The folder's images in the order of half A (the split's default seed 0) are the baseline's own sample: the same
    // features against the same reference, so the same distance (up to float32 rounding of the features when the
    // classifier runs them in another batch).
    const pixels = 3 * 32 * 32;
    const halfA = new Float32Array(36 * pixels);
    permutation(72, 0)
      .subarray(0, 36)
      .forEach((j, i) => halfA.set(all.dataset.images.subarray(j * pixels, (j + 1) * pixels), i * pixels));
    const asBaseline = await evaluateForDataset(folder, halfA);
    expect(asBaseline.fdRealVsRealBaseline).toBe(real.fdRealVsRealBaseline);
    expect(Math.abs(asBaseline.fd - real.fdRealVsRealBaseline)).toBeLessThanOrEqual(1e-4 * real.fdRealVsRealBaseline);
    // one class only (the red blobs, repeated): coverage falls to at most one class and the distance grows
    const red = all.dataset.images.subarray(0, 3 * 32 * 32 * 24);
    const reds = new Float32Array(72 * 3 * 32 * 32);
    for (let k = 0; k < 3; k++) reds.set(red.subarray(0, 24 * 3 * 32 * 32), k * 24 * 3 * 32 * 32);
    const collapsed = await evaluateForDataset(folder, reds);
    expect(collapsed.coverage.count).toBeLessThanOrEqual(1);
    expect(collapsed.fd).toBeGreaterThan(real.fd);
    // the second call reuses the classifier's outputs on the folder: the same numbers as a call that computes them
    const again = await evaluateForDataset(folder, reds);
    const fresh = loadClassifierFile(folder);
    const direct = await evaluateSamples(fresh, reds, all.dataset, { accuracySet: test });
    fresh.dispose();
    expect(again).toEqual(direct);
    expect(collapsed).toEqual(direct);
  });

  it('refuses a classifier of other data, other classes or another size', () => {
    const renamed = copyWithLabels('renamed', (l) => (l.name = 'other data'));
    expect(() => loadClassifierFile(renamed)).toThrow(/trained on 'coloured blobs', not 'other data'/);
    const reordered = copyWithLabels('reordered', (l) => (l.classes = ['green', 'red', 'blue']));
    expect(() => loadClassifierFile(reordered)).toThrow(
      /trained on the classes \["red","green","blue"\], but .*labels\.json has \["green","red","blue"\]/,
    );
    expect(() => loadClassifierFile(folder, classifierPath(folder), { imageSize: 16 })).toThrow(
      /scores 32×32 images, not 16×16/,
    );
    expect(() => loadClassifierFile(folder, classifierPath(folder, 16), { imageSize: 16 })).toThrow(
      /weight file not found: .*classifier-16\.safetensors \(train one with `npx tsx src\/cli\/train-classifier\.ts --dataset .* --size 16`\)/,
    );
  });

  it('says why a model cannot be scored', () => {
    expect(scoringProblem('mnist', 1, 28)).toBeUndefined();
    expect(scoringProblem('mnist', 3, 32)).toMatch(
      /the mnist classifier scores 1×28×28 images; this model makes 3×32×32/,
    );
    expect(scoringProblem(folder, 3, 32)).toBeUndefined();
    expect(scoringProblem(folder, 1, 32)).toMatch(/scores colour images/);
    expect(scoringProblem(folder, 3, 64)).toMatch(
      /no classifier for .* at 64×64: .*classifier-64\.safetensors not found/,
    );
    expect(scoringProblem(join(dir, 'nowhere'), 3, 32)).toMatch(/no classifier for ".*nowhere": .*labels\.json/);
  });

  it('train-classifier: a hostile folder or size is one error naming the file', async () => {
    const bad = copyWithLabels('badlabels', (l) => (l.images = { 'red-00.png': 'purple' }));
    await expect(trainClassifierCommand(['--dataset', bad])).rejects.toThrow(
      /--dataset .*badlabels: .*badlabels\/labels\.json: image red-00\.png has class "purple", which is not in "classes"/,
    );
    const unlisted = copyWithLabels('unlisted', (l) => delete (l.images as Record<string, string>)['blue-03.png']);
    await expect(trainClassifierCommand(['--dataset', unlisted])).rejects.toThrow(
      /unlisted\/blue-03\.png: image not listed in .*labels\.json/,
    );
    await expect(trainClassifierCommand(['--dataset', folder, '--size', '30'])).rejects.toThrow(
      /--size: must be a multiple of 4/,
    );
    await expect(trainClassifierCommand(['--dataset', 'mnist', '--size', '32'])).rejects.toThrow(
      /--size: only for labelled folders/,
    );
    const nolabels = copyWithLabels('nolabels-train', () => {});
    rmSync(join(nolabels, 'labels.json'));
    await expect(trainClassifierCommand(['--dataset', nolabels])).rejects.toThrow(
      /--dataset .*nolabels-train: .*nolabels-train\/labels\.json not found: a labelled folder needs a labels\.json/,
    );
    await expect(trainClassifierCommand(['--dataset', folder, '--epochs', 'x'])).rejects.toThrow(
      /--epochs: expected a non-negative integer, got "x"/,
    );
    await expect(trainClassifierCommand(['--dataset', join(dir, 'none')])).rejects.toThrow(
      /--dataset: expected mnist or fashion-mnist or a folder with a labels\.json/,
    );
  });
});

describe('eval on a colour checkpoint of a labelled folder', () => {
  let ckpt = '';
  beforeAll(async () => {
    const trainer = new GanTrainer(ganSpec('dcgan32', { width: 8 }), { batchSize: 4, seed: 2 });
    const bytes = await trainer.saveCheckpoint({ dataset: folder });
    trainer.dispose();
    mkdirSync(join(dir, 'run'));
    ckpt = join(dir, 'run', 'checkpoint.safetensors');
    writeFileSync(ckpt, bytes);
  });

  it('reports coverage over the folder classes, the Fréchet distance and its real-vs-real baseline', async () => {
    const r = await runCli(['eval', '--checkpoint', ckpt, '--n', '40']);
    expect(r.code, r.err.join('\n')).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/class coverage: +\d\/3 classes/);
    expect(text).toMatch(/class histogram: +red:\d+ green:\d+ blue:\d+/);
    const e = JSON.parse(readFileSync(join(dir, 'run', 'eval.json'), 'utf8'));
    expect(e.dataset).toBe(folder);
    expect(e.samples).toBe(40);
    expect(e.fdSamples).toBe(36);
    expect(e.classHistogram.reduce((a: number, b: number) => a + b, 0)).toBe(40);
    expect(e.fd).toBeGreaterThan(e.fdRealVsRealBaseline); // an untrained generator
  });

  it("train --eval-every counts coverage out of the folder's classes, in its line and in eval.jsonl", async () => {
    const out = join(dir, 'run-eval-every');
    const r = await runCli([
      'train',
      '--model',
      'dcgan32',
      '--width',
      '8',
      '--dataset',
      folder,
      '--batch',
      '8',
      '--max-steps',
      '2',
      '--eval-every',
      '2',
      '--out',
      out,
    ]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const points = readJsonl(join(out, 'eval.jsonl'));
    expect(points).toHaveLength(1);
    expect(points[0].classes).toBe(CLASSES.length);
    const line = r.err.join('').match(/step 2: Fréchet distance [\d.]+ \(real-vs-real [\d.]+\), (\d+)\/(\d+) classes/);
    expect(line, r.err.join('')).not.toBeNull();
    expect(Number(line![1])).toBe(points[0].coverage);
    expect(line![2]).toBe(String(CLASSES.length));
  });

  it('names the missing classifier and the folder without labels', async () => {
    const bare = join(dir, 'bare');
    cpSync(folder, bare, { recursive: true });
    rmSync(join(bare, 'classifier-32.safetensors'));
    const r = await runCli(['eval', '--checkpoint', ckpt, '--dataset', bare]);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(
      /^eval: --checkpoint .*checkpoint\.safetensors: no classifier for .*bare at 32×32: .*classifier-32\.safetensors not found \(train one with `npx tsx src\/cli\/train-classifier\.ts --dataset .*bare --size 32`\)$/,
    );
    const nolabels = join(dir, 'nolabels');
    cpSync(folder, nolabels, { recursive: true });
    rmSync(join(nolabels, 'labels.json'));
    const r2 = await runCli(['eval', '--checkpoint', ckpt, '--dataset', nolabels]);
    expect(r2.code).toBe(2);
    expect(r2.err.join('\n')).toMatch(
      /--dataset: no classifier for dataset ".*nolabels".*a folder with a labels\.json/,
    );
    expect(existsSync(join(dir, 'run', 'eval.json'))).toBe(true); // from the run above, not rewritten by failures
  });
});
