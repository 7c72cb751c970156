/**
 * `eval`: scores a GAN checkpoint with the dataset's classifier (models/<dataset>-classifier.safetensors, or for a
 * labelled folder of colour images DIR/classifier-<size>.safetensors, trained by `train-classifier --dataset DIR`):
 * class coverage (mode collapse shows as missing classes), the confident-sample rate, and the Fréchet
 * distance in the classifier's feature space against the test set beside its real-vs-real baseline.
 * Prints them and writes eval.json into the run folder.
 */
import { dirname, join } from 'node:path';
import { initEngine } from '../tensor/index.ts';
import { GanTrainer, checkpointSpec } from '../gan/trainer.ts';
import { formatEvaluation } from '../gan/metrics.ts';
import {
  evaluateForDataset,
  writeEvaluation,
  classNames,
  scoringProblem,
  isFolderDataset,
  checkFolderScoring,
  CLASSIFIER_DATASETS,
  loadClassifierFile,
} from '../node/eval-models.ts';
import { shortJson } from '../nn/checkpoint.ts';
import { chooseGenerator, loadTrainerCheckpoint, checkBatchesFit, checkDrawnFinite } from './gan-checkpoint.ts';
import { sameFile, checkOutputFile } from './args.ts';
import {
  UsageError,
  InputError,
  parseOrHelp,
  formatOptions,
  readInputFile,
  MAX_SEED,
  type OptionSpec,
} from './args.ts';

/** `eval`'s options: the parser's checks and the help text both come from this table. */
export const EVAL_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'checkpoint',
    type: 'string',
    arg: 'FILE',
    help: 'checkpoint.safetensors of a run (eval.json is written beside it; required)',
  },
  {
    name: 'dataset',
    type: 'string',
    arg: 'NAME',
    help: `the dataset to score against: ${CLASSIFIER_DATASETS.join(', ')} or a labelled folder DIR (DIR/labels.json, its classifier DIR/classifier-<size>.safetensors) (default: the dataset the run was trained on)`,
  },
  {
    name: 'n',
    type: 'integer',
    min: 2,
    max: 60_000,
    default: 2000,
    help: 'samples to generate',
    limit: 'the size of the Fashion-MNIST training set; the samples are held in memory for the Fréchet distance',
  },
  { name: 'seed', type: 'integer', min: 0, max: MAX_SEED, default: 12345, help: 'latent seed' },
  {
    name: 'classifier',
    type: 'string',
    arg: 'FILE',
    help: 'another classifier file (default models/<dataset>-classifier.safetensors, or DIR/classifier-<size>.safetensors)',
  },
  {
    name: 'generator',
    type: 'string',
    choices: ['ema', 'raw'],
    help: 'from a run trained with --g-ema: the weight average (default) or the last trained weights',
  },
  { name: 'help', type: 'boolean', short: 'h', help: 'this text' },
];

const HELP = `Usage: eval --checkpoint FILE [options]

Generates samples from a checkpoint and scores them with the dataset's classifier.

${formatOptions(EVAL_OPTIONS)}`;

export async function evalCommand(argv: string[]): Promise<number> {
  const o = parseOrHelp(argv, EVAL_OPTIONS, HELP);
  if (!o) return 0;
  const path = o.str('checkpoint');
  if (!path) throw new UsageError('--checkpoint FILE is required (see --help)');
  const n = o.num('n');
  const seed = o.num('seed');
  const v = { dataset: o.str('dataset'), classifier: o.str('classifier'), generator: o.str('generator') };
  if (v.classifier !== undefined) readInputFile(v.classifier, '--classifier', 'a classifier .safetensors file');
  const bytes = readInputFile(path, '--checkpoint', 'a checkpoint.safetensors written by train');
  // eval.json goes beside the checkpoint: a folder there, or a folder that cannot be written, fails now, not after scoring
  checkOutputFile(join(dirname(path), 'eval.json'), '--checkpoint');
  if (sameFile(path, join(dirname(path), 'eval.json')))
    throw new UsageError(
      `--checkpoint ${path}: eval writes its scores to eval.json beside the checkpoint, which would replace the checkpoint itself; rename it`,
    );
  let ckpt: ReturnType<typeof checkpointSpec>;
  try {
    ckpt = checkpointSpec(bytes, path);
  } catch (e) {
    throw new InputError(`--checkpoint ${path}: not a checkpoint written by train: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const { spec, options, meta } = ckpt;
  const given = v.dataset as string | undefined;
  const recorded = meta.dataset;
  if (given === undefined && recorded !== undefined && typeof recorded !== 'string')
    throw new InputError(
      `--checkpoint ${path}: metadata dataset is ${shortJson(recorded)}, not a dataset name; pass --dataset`,
    );
  const dataset = given ?? (recorded as string | undefined);
  if (!dataset || !((CLASSIFIER_DATASETS as readonly string[]).includes(dataset) || isFolderDataset(dataset))) {
    // the name came from --dataset, or from the checkpoint's record of the data it was trained on
    if (dataset === undefined)
      throw new UsageError(
        `--checkpoint ${path}: records no dataset; pass --dataset ${CLASSIFIER_DATASETS.join(', ')} or a folder with a labels.json`,
      );
    const source = given !== undefined ? '--dataset' : `--checkpoint ${path} (trained on it)`;
    throw new UsageError(
      `${source}: no classifier for dataset "${dataset ?? '(unknown)'}": pass --dataset ${CLASSIFIER_DATASETS.join(', ')} or a folder with a labels.json`,
    );
  }
  const folder = isFolderDataset(dataset);
  // a folder scored with --classifier FILE needs no classifier of its own (the file's size is checked when it loads)
  const problem =
    folder && v.classifier !== undefined && spec.channels === 3
      ? undefined
      : scoringProblem(dataset, spec.channels, spec.size);
  if (problem) throw new InputError(`--checkpoint ${path}: ${problem}`);
  if (folder) {
    // the folder and the classifier as scoring reads them, before the samples are drawn
    try {
      checkFolderScoring(dataset, spec.size, v.classifier);
    } catch (e) {
      throw new InputError(`--dataset ${dataset}: ${(e as Error).message}`, { cause: e });
    }
  }

  await initEngine();
  // a --classifier file is loaded (names, shapes, values, the data it was trained on checked) before the samples
  let model: ReturnType<typeof loadClassifierFile> | undefined;
  if (v.classifier !== undefined) {
    try {
      model = loadClassifierFile(dataset, v.classifier, folder ? { imageSize: spec.size } : {});
    } catch (e) {
      throw new InputError(`--classifier ${v.classifier}: ${(e as Error).message}`, { cause: e });
    }
  }
  checkBatchesFit(spec, [[`--n ${n} (drawn 250 at a time)`, Math.min(n, 250)]]);
  const trainer = new GanTrainer(spec, options);
  loadTrainerCheckpoint(trainer, bytes, path);
  chooseGenerator(trainer, v.generator as string | undefined);
  const generator = trainer.sampledModule;
  // Eval-mode BatchNorm: each sample is independent of its batch.
  const samples = await trainer.sampleValues(n, seed);
  trainer.dispose();
  checkDrawnFinite(samples, path, `generator ${generator}'s ${n} samples`);
  const scoring = evaluateForDataset(dataset, samples, {
    ...(v.classifier ? { classifier: v.classifier as string, model } : {}),
    ...(folder ? { imageSize: spec.size } : {}),
  });
  const evaluation = folder
    ? await scoring.catch((e: Error) => {
        // a classifier that does not fit, the labels file or an image of the folder: the user's files
        throw new InputError(`--dataset ${dataset}: ${e.message}`, { cause: e });
      })
    : await scoring;
  model?.dispose();
  console.log(`${spec.kind} at step ${meta.step} (${path}), generator ${generator}, ${n} samples, dataset ${dataset}`);
  console.log(formatEvaluation(evaluation, classNames(dataset)));
  const out = writeEvaluation(dirname(path), evaluation, {
    checkpoint: path,
    step: meta.step,
    model: spec.kind,
    dataset,
    generator,
  });
  console.log(`Wrote ${out}`);
  return 0;
}
