/**
 * Issue 20's growing nets against the DCGAN paper's nets, on the colour emoji (docs/gan/emoji/): which draws the
 * better 32×32 emoji in one time budget, and what an image costs at 64×64 beside DCGAN-64.
 *
 *   . scripts/gpu-env.sh && npx tsx scripts/growing-study.ts speed [--rounds 3] [--images 48] [--sizes 32,64] [--widths 16] [--batch 16]
 *   . scripts/gpu-env.sh && npx tsx scripts/growing-study.ts quality --budget-s 900 [--size 32|64] [--models dcgan32,progan,msggan] [--seed 1] [--nice 10]
 *   . scripts/gpu-env.sh && npx tsx scripts/growing-study.ts plan-quality [--models progan,msggan] [--steps 300] [--size 32] [--seed 1] [--tree DIR] [--label L] [--lr-d X]
 *   npx tsx scripts/growing-study.ts plan-dstats [--runs DIR]
 *   npx tsx scripts/growing-study.ts render
 *
 * The method is scripts/recipe-study.ts's (its header says why):
 *
 *  - `speed`: the training step of every candidate in ONE process, interleaved over rounds (scripts/study-kit.ts),
 *    timed as `train` runs it, at one batch size for all (BATCH, or --batch): at 32 px on data/emoji-32 dcgan32, at 64 px on
 *    data/emoji-64 dcgan64, and msggan, and progan at each of its phases (stage s at α = 1, and mid-fade, α ≈ 0.5,
 *    for s ≥ 1), so its cost over a whole run follows from its growth schedule. Each sample is timed in wall time and
 *    in the process's CPU time; each class's conv GFLOP per step and channel plan are recorded. (Measurements before
 *    the channel plan timed only progan's last stage at 64 px.) A progan trainer is put at a phase by its step counter (a run's
 *    stage and α are a function of step·batch and --grow-images alone). `--widths W,…` also times msggan and
 *    progan's last stage at those --width values (the table's other rows are at the models' default widths).
 *  - `quality`: each model at 32 px (or --size 64: bench/device/gan64.sh on a lent GPU) trained by `train` (a separate
 *    process, `nice`; STUDY_TRAIN_CLI names a bundled CLI to run instead of tsx) for the steps its median speed (the
 *    latest measurement on this adapter, at its batch) fits
 *    in one budget; for progan the budget is spent along its schedule, phase by phase at each phase's measured
 *    speed, and --grow-images is chosen so the last stage is at full strength by GROWN_BY of the budget. Scored POINTS
 *    times along the run with --eval-every (the last at the last step). Budgeted in steps, so the machine's load
 *    changes only how long a run takes, not what it measures. Each run's grids are copied into docs/gan/growing/.
 *  - `plan-quality`: the channel plan's quality check: each growing model trained by `train` for a fixed number of
 *    steps at its default width with the growing recipe, from this tree ('current default') or from --tree, a
 *    snapshot of the commit before the plan changed with an ENGINE_COMMIT file ('earlier default'); the run's channels
 *    per stage read from its checkpoint. `plan-dstats` fills in D's zero-loss steps from run folders elsewhere.
 *  - `render`: docs/gan/growing/README.md from docs/gan/growing/results.json (which the phases append to); the
 *    latest runs' grids copied again where their run folders are still here.
 */
import { PNG } from 'pngjs';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/node/files.ts';
import type { EvalPoint } from '../src/gan/visuals.ts';
import type { GanKind } from '../src/gan/models.ts';
import type { GanLossKind } from '../src/gan/losses.ts';
import {
  engineCommit,
  flag,
  interleavedRounds,
  load,
  median,
  runAsMain,
  stepper,
  timedTrain,
  type TrainRecord,
  type TimedCandidate,
} from './study-kit.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = join(ROOT, 'docs', 'gan', 'growing');
const RESULTS = join(DOCS, 'results.json');
const README = join(DOCS, 'README.md');
const RUNS = join(ROOT, 'runs', 'growing');

/** One batch size for every candidate, at both sizes: the recipe study's choice for short budgets on this machine. */
const BATCH = 16;
/** G's weight average, the same for all three (its score and the trained G's are both reported). */
const G_EMA = 0.99;
/** progan reaches its last stage at α = 1 by this share of the quality budget's time. */
const GROWN_BY = 0.4;
/** Scores along a quality run (the last at its last step). */
const POINTS = 2;
const DATA: Record<number, string> = { 32: 'data/emoji-32', 64: 'data/emoji-64' };
/** Images in each emoji folder (docs/gan/emoji/). */
const EMOJI_IMAGES = 3786;

/** A model's training recipe, as `train` options. */
interface Recipe {
  kind: GanKind;
  loss: GanLossKind;
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  note: string;
}
/** The DCGAN paper's recipe (train's defaults): BCE, Adam 2e-4, β = (0.5, 0.999). */
const DCGAN: Omit<Recipe, 'kind'> = {
  loss: 'bce',
  lrG: 2e-4,
  lrD: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  note: "the DCGAN paper's recipe (train's defaults): BCE, Adam 2e-4, β (0.5, 0.999)",
};
/**
 * The growing nets: MSG-GAN's loss (relativistic average hinge; ProGAN's WGAN-GP is not in this project) with
 * ProGAN's Adam (1e-3, β (0, 0.99)), the same for both so they differ only in how they grow.
 */
const GROWING: Omit<Recipe, 'kind'> = {
  loss: 'rahinge',
  lrG: 1e-3,
  lrD: 1e-3,
  beta1: 0,
  beta2: 0.99,
  note: "MSG-GAN's relativistic average hinge with ProGAN's Adam: 1e-3, β (0, 0.99)",
};
const RECIPES: Record<string, Recipe> = {
  dcgan32: { kind: 'dcgan32', ...DCGAN },
  progan: { kind: 'progan', ...GROWING },
  msggan: { kind: 'msggan', ...GROWING },
  dcgan64: { kind: 'dcgan64', ...DCGAN },
};
/** The DCGAN a growing net is compared with at each size. */
const BASELINE: Record<number, string> = { 32: 'dcgan32', 64: 'dcgan64' };

// ---------------------------------------------------------------------------------------------------------------
// speed classes: a model at a size (and, for progan, a phase of its growth)

interface SpeedClass {
  key: string;
  model: string;
  size: number;
  /** progan: the stage timed, and whether mid-fade (α ≈ 0.5) or at full strength */
  stage?: number;
  fade?: boolean;
  /** a --width other than the model's default (`--widths`): the key ends in ` w<width>` */
  width?: number;
}
const K = (size: number) => Math.log2(size / 4);
/** Issue 20's target on a cost ratio: within 1.5× of the DCGAN's cost per image, or not. */
const ok = (x: number) => (x <= 1.5 ? 'within' : 'not within');
/** The verdict on rounds' ratios: by their median, and whether some round passed 1.5. */
const judged = (r: number[], what = '') =>
  `by its median ${ok(median(r))}${what}${Math.max(...r) > 1.5 ? ', not in every round' : ''}`;
const progKey = (size: number, stage: number, fade: boolean) => `${size} progan s${stage}${fade ? ' fade' : ''}`;

/**
 * The classes of a size: the DCGAN, msggan and progan's phases at the default widths; for each of `widths`, msggan
 * and progan's last stage at that width too.
 */
function speedClasses(size: number, widths: number[] = []): SpeedClass[] {
  const base = BASELINE[size];
  const out: SpeedClass[] = [
    { key: `${size} ${base}`, model: base, size },
    { key: `${size} msggan`, model: 'msggan', size },
  ];
  // every phase of progan's schedule (for its cost over a whole run)
  for (let s = 0; s <= K(size); s++) {
    if (s > 0) out.push({ key: progKey(size, s, true), model: 'progan', size, stage: s, fade: true });
    out.push({ key: progKey(size, s, false), model: 'progan', size, stage: s, fade: false });
  }
  for (const w of widths) {
    out.push({ key: `${size} msggan w${w}`, model: 'msggan', size, width: w });
    const k = `${progKey(size, K(size), false)} w${w}`;
    out.push({ key: k, model: 'progan', size, stage: K(size), fade: false, width: w });
  }
  return out;
}

/**
 * The classes of the measurements made before the channel plan was recorded (no `plans`, some without `classes`):
 * at 64 px then only progan's last stage was timed.
 */
function legacyClasses(m: SpeedMeasurement, size: number): SpeedClass[] {
  if (m.classes) return m.classes.filter((c) => c.size === size);
  const all = speedClasses(size);
  return size === 32 ? all : all.filter((c) => c.stage === undefined || c.stage === K(size));
}

/** The phase growing length used to put a speed-phase progan trainer at a stage (no run of the speed phase nears it). */
const SPEED_GROW = 1_000_000;
/** The first step of a phase: stage s (s ≥ 1) fades in over [L + 2(s−1)L, 2sL) images and is at α = 1 for the next L. */
function phaseStep(stage: number, fade: boolean, batch: number): number {
  if (stage === 0) return 0;
  const start = SPEED_GROW + 2 * (stage - 1) * SPEED_GROW;
  return Math.ceil((start + (fade ? 0.5 : 1.25) * SPEED_GROW) / batch);
}

// ---------------------------------------------------------------------------------------------------------------
// results.json

interface SpeedMeasurement {
  date: string;
  adapter: string;
  engine: string;
  batch: number;
  gEma: number;
  rounds: number;
  imagesPerSample: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** per class key: images/s of each round, in round order */
  samples: Record<string, number[]>;
  median: Record<string, number>;
  /** per class key: the model's --width (its spec's width) */
  widths: Record<string, number>;
  /** the classes timed (absent in the first measurements: legacyClasses) */
  classes?: SpeedClass[];
  /** per class key: images per second of the process's CPU time, each round (from the channel plan's measurements on) */
  cpuSamples?: Record<string, number[]>;
  cpuMedian?: Record<string, number>;
  /** per class key: conv GFLOP of one training step (src/tensor/conv.ts convWork: forward and both gradients) */
  gflopPerStep?: Record<string, number>;
  /** per class key of a growing net: its G's channels per stage (the spec's stageWidths) */
  plans?: Record<string, number[]>;
}
interface QualityRun extends TrainRecord {
  model: string;
  /** the images' side (absent in the first runs: 32) */
  size?: number;
  /** the batch of its speed measurement (absent in the first runs: BATCH) */
  batch?: number;
  /** the adapter of its speed measurement, where train ran (absent in the first runs: lavapipe here) */
  adapter?: string;
  seed: number;
  budgetSeconds: number;
  /** the speed measurement the steps came from */
  speedDate: string;
  /** images/s the steps came from: the model's median; for progan its mean over the run's schedule */
  imagesPerSecond: number;
  /** progan: --grow-images, and the step its last stage reaches α = 1 */
  growImages: number | null;
  grownAtStep: number | null;
  steps: number;
  width: number;
  /** the grids copied into docs/gan/growing/ (file names) */
  grids: string[];
}
/**
 * A run of the channel-plan comparison (`plan-quality`): a model's earlier or current default at one size, trained
 * by `train` for a fixed number of steps (the same for every run of a comparison), from this tree or from a snapshot
 * of the commit before the plan changed (--tree).
 */
interface PlanRun extends TrainRecord {
  /** what was trained: 'earlier default' (the snapshot's), 'current default', or a variant ('…, lr-d 0.0005') */
  label: string;
  model: string;
  size: number;
  seed: number;
  steps: number;
  lrD: number;
  /** progan: --grow-images (its last stage at α = 1 from GROWN_BY of the steps) */
  growImages: number | null;
  width: number;
  /** G's channels per stage (4×4 first), read from the run's checkpoint (its to_rgb weights' shapes) */
  stageWidths: number[];
  grids: string[];
  /** D's loss in the run's log.jsonl: on how many steps it was 0 (D wins outright under a hinge), its mean over the last 50 */
  dLoss?: DLossStats;
}
interface DLossStats {
  steps: number;
  zeroSteps: number;
  meanLast50: number;
}
interface Results {
  about: string;
  recipes: Record<string, Recipe>;
  speed: SpeedMeasurement[];
  runs: QualityRun[];
  /** the channel plan's quality check: earlier against current defaults at the same steps */
  planRuns?: PlanRun[];
  /** observations written by hand after the runs, rendered under the verdict */
  notes?: string[];
}

function readResults(): Results {
  const fresh: Results = {
    about:
      'Issue 20: progressive growing and MSG-GAN against the DCGAN paper nets on the emoji, written by scripts/growing-study.ts: speed = interleaved images/s per class (one process); runs = 32 px `train` runs budgeted in steps from the speed medians.',
    recipes: {},
    speed: [],
    runs: [],
  };
  const res: Results = existsSync(RESULTS) ? { ...fresh, ...JSON.parse(readFileSync(RESULTS, 'utf8')) } : fresh;
  res.recipes = RECIPES;
  return res;
}
function writeResults(res: Results): void {
  mkdirSync(DOCS, { recursive: true });
  writeFileAtomic(RESULTS, JSON.stringify(res, null, 2) + '\n');
}
const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------------------------------------------------------
// speed

async function speedPhase(argv: string[]): Promise<void> {
  const { initEngine } = await import('../src/tensor/index.ts');
  const { GanTrainer } = await import('../src/gan/trainer.ts');
  const { ganSpec } = await import('../src/gan/models.ts');
  const { datasetByName } = await import('../src/node/datasets.ts');
  const { convWork } = await import('../src/tensor/conv.ts');
  // The commit whose code this process loaded, read before the rounds (not after them, when it may have moved on).
  const engineAtStart = engineCommit(ROOT);
  const rounds = Number(flag(argv, 'rounds') ?? 3);
  const imagesPerSample = Number(flag(argv, 'images') ?? 48);
  const sizes = (flag(argv, 'sizes') ?? '32,64').split(',').map(Number);
  const batch = Number(flag(argv, 'batch') ?? BATCH);
  const engine = await initEngine();
  const extra = flag(argv, 'widths')?.split(',').map(Number) ?? [];
  const classes = sizes.flatMap((size) => speedClasses(size, extra));
  const data = new Map<number, Awaited<ReturnType<typeof datasetByName>>>();
  for (const size of sizes) data.set(size, await datasetByName(join(ROOT, DATA[size]), { size, channels: 3 }));
  const widths: Record<string, number> = {};
  const plans: Record<string, number[]> = {};
  const gflopPerStep: Record<string, number> = {};
  const trainers: InstanceType<typeof GanTrainer>[] = [];
  const candidates: TimedCandidate[] = [];
  for (const c of classes) {
    const x = RECIPES[c.model];
    const spec = ganSpec(x.kind, { channels: 3, size: c.size, ...(c.width ? { width: c.width } : {}) });
    widths[c.key] = spec.width!;
    if (spec.stageWidths) plans[c.key] = spec.stageWidths;
    const trainer = new GanTrainer(spec, {
      batchSize: batch,
      lrG: x.lrG,
      lrD: x.lrD,
      beta1: x.beta1,
      beta2: x.beta2,
      loss: x.loss,
      gEma: G_EMA,
      seed: 1,
      ...(c.stage !== undefined ? { growImages: SPEED_GROW } : {}),
    });
    if (c.stage !== undefined) {
      trainer.step = phaseStep(c.stage, c.fade!, batch);
      const g = trainer.growthOf(trainer.step);
      if (g.stage !== c.stage || (c.fade ? g.alpha >= 1 : g.alpha !== 1))
        throw new Error(`${c.key}: step ${trainer.step} is at stage ${g.stage}, α ${g.alpha}`);
    }
    trainers.push(trainer);
    const run = await stepper(trainer, data.get(c.size)!);
    await run(1); // the first step tunes and compiles; the next one's conv work is counted
    convWork.flops = 0;
    await run(1);
    gflopPerStep[c.key] = Math.round(convWork.flops / 1e7) / 100;
    console.log(
      `${c.key}: ${gflopPerStep[c.key]} conv GFLOP per step${spec.stageWidths ? `, stages ${spec.stageWidths}` : ''}`,
    );
    candidates.push({ key: c.key, batch, run });
  }
  const loadBefore = load();
  const date = new Date().toISOString();
  console.log(
    `speed: ${classes.length} classes at batch ${batch}, ${rounds} rounds of ${imagesPerSample} images each, adapter ${engine.adapter.slug}, load ${loadBefore.join(' ')}`,
  );
  const cpu: Record<string, number[]> = {};
  const samples = await interleavedRounds(candidates, rounds, imagesPerSample, console.log, cpu);
  for (const t of trainers) t.dispose();
  const m: SpeedMeasurement = {
    date,
    adapter: engine.adapter.slug,
    engine: engineAtStart,
    batch,
    gEma: G_EMA,
    rounds,
    imagesPerSample,
    loadavgBefore: loadBefore,
    loadavgAfter: load(),
    samples: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map(r2)])),
    median: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, r2(median(v))])),
    widths,
    classes,
    cpuSamples: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v.map(r3)])),
    cpuMedian: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, r3(median(v))])),
    gflopPerStep,
    plans,
  };
  const res = readResults();
  res.speed.push(m);
  writeResults(res);
  for (const c of classes)
    console.log(`${c.key}: median ${m.median[c.key]} images/s, ${m.cpuMedian![c.key]} images per CPU second`);
}

/** The latest speed measurement that has every class of a size. */
function latestSpeed(res: Results, size: number, adapter: string): SpeedMeasurement {
  const keys = speedClasses(size).map((c) => c.key);
  for (let i = res.speed.length - 1; i >= 0; i--)
    if (res.speed[i].adapter === adapter && keys.every((k) => res.speed[i].median[k] !== undefined))
      return res.speed[i];
  throw new Error(`no speed measured at ${size} px on ${adapter}: run the speed phase here first`);
}

/** A measurement on a CPU adapter, whose cost is the process's CPU time (lavapipe's threads are in-process). */
const onCpu = (m: SpeedMeasurement) => /lavapipe|llvmpipe|swiftshader/i.test(m.adapter);

/**
 * progan's schedule at `size` with phases of L images, as (images, images/s) spans in order; the last span (its
 * last stage at α = 1) is open-ended.
 */
function proganSpans(m: SpeedMeasurement, size: number, L: number): { images: number; ips: number }[] {
  const spans = [{ images: L, ips: m.median[progKey(size, 0, false)] }];
  for (let s = 1; s <= K(size); s++) {
    spans.push({ images: L, ips: m.median[progKey(size, s, true)] });
    spans.push({ images: s < K(size) ? L : Infinity, ips: m.median[progKey(size, s, false)] });
  }
  return spans;
}
/** Images progan trains in `seconds` on its schedule of phases of L images. */
function proganImagesIn(m: SpeedMeasurement, size: number, L: number, seconds: number): number {
  let images = 0;
  let left = seconds;
  for (const sp of proganSpans(m, size, L)) {
    const t = sp.images / sp.ips;
    if (t >= left) return images + left * sp.ips;
    images += sp.images;
    left -= t;
  }
  return images;
}
/** --grow-images L such that progan's last stage is at α = 1 after `share` of `seconds` (a multiple of the batch). */
function proganGrowImages(m: SpeedMeasurement, size: number, seconds: number, share: number): number {
  // the time to the last stage's full strength is L · Σ 1/ips over the phases before it
  const perL = proganSpans(m, size, 1)
    .slice(0, -1)
    .reduce((t, sp) => t + 1 / sp.ips, 0);
  return Math.max(m.batch, Math.floor((share * seconds) / perL / m.batch) * m.batch);
}

// ---------------------------------------------------------------------------------------------------------------
// quality: `train` runs at 32 (or 64) px, budgeted in steps

function trainArgs(
  model: string,
  size: number,
  batch: number,
  steps: number,
  seed: number,
  out: string,
  growImages: number | null,
): string[] {
  const x = RECIPES[model];
  const args = ['--model', x.kind, '--dataset', DATA[size], '--batch', String(batch)];
  if (x.kind === 'progan' || x.kind === 'msggan') args.push('--size', String(size));
  args.push('--loss', x.loss, '--lr-g', String(x.lrG), '--lr-d', String(x.lrD));
  args.push('--beta1', String(x.beta1), '--beta2', String(x.beta2), '--g-ema', String(G_EMA));
  if (growImages !== null) args.push('--grow-images', String(growImages));
  args.push('--max-steps', String(steps), '--epochs', '100000', '--seed', String(seed));
  args.push('--eval-every', String(steps / POINTS), '--checkpoint-every', String(steps), '--final-eval', 'false');
  args.push('--out', out);
  return args;
}

/**
 * A PNG re-encoded smaller for the docs: RGB (the grids are opaque), deflate level 9; with `halfGrid`, an 8×8 grid
 * (train's 64 samples, 2 px apart) keeps its first 4 rows.
 */
function compactPng(bytes: Uint8Array, halfGrid: boolean): Uint8Array {
  const img = PNG.sync.read(Buffer.from(bytes));
  const row = (img.height - 2) / 8;
  if (halfGrid && img.width === img.height && Number.isInteger(row)) {
    img.height = 2 + 4 * row;
    img.data = img.data.subarray(0, img.width * img.height * 4);
  }
  return PNG.sync.write(img, { colorType: 2, inputColorType: 6, deflateLevel: 9 });
}

/** A quality run's folder. */
const runDir = (model: string, seed: number, size = 32) =>
  join(RUNS, `${model}${size === 32 ? '' : `-${size}px`}-seed${seed}`);

/**
 * Copies a run's grids into docs/gan/growing/ as `<model>-seed<seed>-<name>`: its final samples; for seed 1 also
 * progan's stage grids and msggan's scales.
 */
function copyGrids(model: string, seed: number, size = 32): string[] {
  const samples = join(runDir(model, seed, size), 'samples');
  if (!existsSync(samples)) return [];
  const more =
    seed === 1 ? ['scales.png', ...readdirSync(samples).filter((f) => /^stage-\d+-\d+px\.png$/.test(f))] : [];
  const copied: string[] = [];
  for (const n of ['final.png', ...more].sort()) {
    if (!existsSync(join(samples, n))) continue;
    const to = `${model}${size === 32 ? '' : `-${size}px`}-seed${seed}-${n}`;
    writeFileAtomic(join(DOCS, to), compactPng(readFileSync(join(samples, n)), n === 'final.png'));
    copied.push(to);
  }
  return copied;
}

async function qualityPhase(argv: string[]): Promise<void> {
  const budget = Number(flag(argv, 'budget-s') ?? 900);
  const seed = Number(flag(argv, 'seed') ?? 1);
  const nice = Number(flag(argv, 'nice') ?? 10);
  const size = Number(flag(argv, 'size') ?? 32);
  if (!DATA[size]) throw new Error(`--size ${size}: the study trains at ${Object.keys(DATA).join(' or ')} px`);
  const models = (flag(argv, 'models') ?? `${BASELINE[size]},progan,msggan`).split(',');
  // every run's steps from the same measurement (the latest at this size on this adapter, at its batch), chosen
  // before the first run starts
  const m = latestSpeed(
    readResults(),
    size,
    (await (await import('../src/tensor/index.ts')).initEngine()).adapter.slug,
  );
  const batch = m.batch;
  const plan = models.map((model) => {
    if (!RECIPES[model] || (model.startsWith('dcgan') && model !== BASELINE[size]))
      throw new Error(`unknown ${size} px model ${model}`);
    let images: number;
    let growImages: number | null = null;
    if (model === 'progan') {
      growImages = proganGrowImages(m, size, budget, GROWN_BY);
      images = proganImagesIn(m, size, growImages, budget);
    } else images = budget * m.median[`${size} ${model}`];
    const steps = Math.max(POINTS, Math.floor(images / batch / POINTS) * POINTS);
    return { model, steps, growImages, ips: r2((steps * batch) / budget) };
  });
  for (const p of plan)
    console.log(
      `plan ${p.model} at ${size} px on ${m.adapter}: ${p.steps} steps of ${batch} in ${budget} s (${p.ips} images/s${p.growImages ? `, --grow-images ${p.growImages}` : ''})`,
    );
  for (const p of plan) {
    const out = runDir(p.model, seed, size);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(RUNS, { recursive: true });
    const args = trainArgs(p.model, size, batch, p.steps, seed, out, p.growImages);
    console.log(`${p.model}: train ${args.join(' ')}`);
    const rec = await timedTrain(ROOT, args, out, nice);
    const evals = rec.evals;
    const grownAt = p.growImages === null ? null : Math.ceil((2 * K(size) * p.growImages) / batch);
    const run: QualityRun = {
      model: p.model,
      size,
      batch,
      adapter: m.adapter,
      seed,
      budgetSeconds: budget,
      speedDate: m.date,
      imagesPerSecond: p.ips,
      growImages: p.growImages,
      grownAtStep: grownAt,
      steps: p.steps,
      width: m.widths[p.model === 'progan' ? progKey(size, K(size), false) : `${size} ${p.model}`],
      ...rec,
      grids: copyGrids(p.model, seed, size),
    };
    const res = readResults();
    res.runs.push(run);
    writeResults(res);
    const last = evals.at(-1);
    console.log(
      `  exit ${rec.exitCode}, ${rec.wallSeconds.toFixed(0)} s; ` +
        (last
          ? `step ${last.step}: ${last.coverage}/${last.classes ?? '?'}, ${(100 * last.confidentRate).toFixed(1)}% confident, FD ${last.fd.toFixed(2)} (trained G ${last.fdTrainedG?.toFixed(2)})`
          : 'no score'),
    );
    render();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// plan-quality: the earlier default against the current one, the same steps

/** G's channels per stage of a growing run's checkpoint: its to_rgb.s weights are [channels, C_s, 1, 1]. */
function stageWidthsOf(checkpoint: string): number[] {
  const bytes = readFileSync(checkpoint);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape?: number[] }>;
  const out: number[] = [];
  for (let s = 0; header[`G.to_rgb.${s}.weight`]; s++) out.push(header[`G.to_rgb.${s}.weight`].shape![1]);
  return out;
}

/** D's loss over a run folder's log.jsonl, or null without one. */
function dLossStats(out: string): DLossStats | null {
  const path = join(out, 'log.jsonl');
  if (!existsSync(path)) return null;
  const losses = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { lossD: number }).lossD);
  const last = losses.slice(-50);
  return {
    steps: losses.length,
    zeroSteps: losses.filter((x) => x === 0).length,
    meanLast50: r3(last.reduce((a, b) => a + b, 0) / last.length),
  };
}

/** A plan-quality run's folder name. */
const planRunName = (r: { model: string; size: number; label: string; seed: number }) =>
  `plan-${r.model}-${r.size}-${slug(r.label)}-seed${r.seed}`;

/** Fills the D-loss statistics of the plan-quality runs that lack them from their folders under `runs` (log.jsonl). */
function planDStats(argv: string[]): void {
  const runs = resolve(flag(argv, 'runs') ?? RUNS);
  const res = readResults();
  for (const r of res.planRuns ?? []) {
    if (r.dLoss) continue;
    const st = dLossStats(join(runs, planRunName(r)));
    if (st) r.dLoss = st;
    console.log(`${planRunName(r)}: ${st ? JSON.stringify(st) : 'no log.jsonl'}`);
  }
  writeResults(res);
}

/** `train` arguments of a plan-quality run: the growing recipe, the model's default width, fixed steps. */
function planArgs(
  model: string,
  size: number,
  steps: number,
  seed: number,
  out: string,
  lrD: number,
  grow: number | null,
) {
  const x = RECIPES[model];
  const args = ['--model', x.kind, '--dataset', DATA[size], '--size', String(size), '--batch', String(BATCH)];
  args.push('--loss', x.loss, '--lr-g', String(x.lrG), '--lr-d', String(lrD));
  args.push('--beta1', String(x.beta1), '--beta2', String(x.beta2), '--g-ema', String(G_EMA));
  if (grow !== null) args.push('--grow-images', String(grow));
  args.push('--max-steps', String(steps), '--epochs', '100000', '--seed', String(seed));
  args.push('--eval-every', String(steps / POINTS), '--checkpoint-every', String(steps), '--final-eval', 'false');
  args.push('--out', out);
  return args;
}

const slug = (label: string) => label.replace(/[^a-z0-9.]+/gi, '-').replace(/^-|-$/g, '');

async function planQualityPhase(argv: string[]): Promise<void> {
  const steps = Number(flag(argv, 'steps') ?? 300);
  const size = Number(flag(argv, 'size') ?? 32);
  const seed = Number(flag(argv, 'seed') ?? 1);
  const nice = Number(flag(argv, 'nice') ?? 10);
  const tree = resolve(flag(argv, 'tree') ?? ROOT);
  const lrDFlag = flag(argv, 'lr-d');
  const label = flag(argv, 'label') ?? (tree === ROOT ? 'current default' : 'earlier default');
  const models = (flag(argv, 'models') ?? 'progan,msggan').split(',');
  if (!DATA[size]) throw new Error(`plan-quality: no emoji folder for ${size} px`);
  if (steps % POINTS) throw new Error(`plan-quality: --steps must be a multiple of ${POINTS}`);
  // a snapshot tree has no .git: its ENGINE_COMMIT file names the commit it was made from
  if (tree !== ROOT && existsSync(join(tree, 'ENGINE_COMMIT')))
    process.env.ENGINE_COMMIT = readFileSync(join(tree, 'ENGINE_COMMIT'), 'utf8').trim();
  for (const model of models) {
    if (model !== 'progan' && model !== 'msggan') throw new Error(`plan-quality: ${model} is not a growing model`);
    const lrD = lrDFlag ? Number(lrDFlag) : RECIPES[model].lrD;
    const grow = model === 'progan' ? Math.max(BATCH, Math.floor((GROWN_BY * steps) / (2 * K(size))) * BATCH) : null;
    const name = planRunName({ model, size, label, seed });
    const out = join(RUNS, name);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(RUNS, { recursive: true });
    const args = planArgs(model, size, steps, seed, out, lrD, grow);
    console.log(`${label}: ${model} (${tree}) train ${args.join(' ')}`);
    const rec = await timedTrain(tree, args, out, nice);
    const ckpt = join(out, 'checkpoint.safetensors');
    const config = existsSync(join(out, 'config.json'))
      ? (JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { model: { width: number } })
      : null;
    const run: PlanRun = {
      label,
      model,
      size,
      seed,
      steps,
      lrD,
      growImages: grow,
      width: config?.model.width ?? NaN,
      stageWidths: existsSync(ckpt) ? stageWidthsOf(ckpt) : [],
      ...rec,
      grids: copyPlanGrid(out, name),
      ...(dLossStats(out) ? { dLoss: dLossStats(out)! } : {}),
    };
    const res = readResults();
    (res.planRuns ??= []).push(run);
    writeResults(res);
    const last = rec.evals.at(-1);
    console.log(
      `  exit ${rec.exitCode}, ${rec.wallSeconds.toFixed(0)} s, stages ${run.stageWidths.join(',')}; ` +
        (last ? `step ${last.step}: ${last.coverage}/${last.classes ?? '?'}, FD ${last.fd.toFixed(2)}` : 'no score'),
    );
  }
}

/** Copies a plan-quality run's final grid into docs/gan/growing/ as `<run name>-final.png`. */
function copyPlanGrid(out: string, name: string): string[] {
  const fin = join(out, 'samples', 'final.png');
  if (!existsSync(fin)) return [];
  writeFileAtomic(join(DOCS, `${name}-final.png`), compactPng(readFileSync(fin), true));
  return [`${name}-final.png`];
}

// ---------------------------------------------------------------------------------------------------------------
// render

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const minutes = (s: number) => `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
const range = (xs: number[]) => `${f1(Math.min(...xs))}–${f1(Math.max(...xs))}`;
const ratioCell = (xs: number[]) => `${f2(median(xs))} (${f2(Math.min(...xs))}–${f2(Math.max(...xs))})`;

/** A class's cost per image over the baseline's in each round (the two were timed in the same round). */
function roundRatios(m: SpeedMeasurement, size: number, key: string): number[] {
  const base = m.samples[`${size} ${BASELINE[size]}`];
  return m.samples[key].map((v, i) => base[i] / v);
}

function speedTable(m: SpeedMeasurement, size: number): string[] {
  const base = m.median[`${size} ${BASELINE[size]}`];
  const lines = [
    `| model | width | phase | images/s, median (min–max of ${m.rounds}) | cost per image × ${BASELINE[size]} (ratio of the medians) | the same round by round: median (min–max) |`,
    '|---|---|---|---|---|---|',
  ];
  for (const c of legacyClasses(m, size)) {
    const phase =
      c.stage === undefined
        ? 'full size'
        : `stage ${c.stage} (${4 << c.stage}×${4 << c.stage}), ${c.fade ? 'mid-fade (α ≈ 0.5)' : 'α = 1'}`;
    lines.push(
      `| ${c.model} | ${m.widths[c.key]} | ${phase} | ${f1(m.median[c.key])} (${range(m.samples[c.key])}) | ${f2(base / m.median[c.key])} | ${ratioCell(roundRatios(m, size, c.key))} |`,
    );
  }
  return lines;
}

/** Whether a quality run was budgeted from a speed measurement of the current channel plan (one with `plans`). */
function underPlan(res: Results, r: QualityRun): boolean {
  return Boolean(res.speed.find((m) => m.date === r.speedDate)?.plans);
}

/** The latest budget's runs of the current plan or of the earlier one: the last of each model and seed, by seed. */
function latestRuns(res: Results, current: boolean, size = 32): QualityRun[] {
  const of = res.runs.filter((r) => underPlan(res, r) === current && (r.size ?? 32) === size);
  const budget = of.at(-1)?.budgetSeconds;
  const byRun = new Map<string, QualityRun>();
  for (const r of of) if (r.budgetSeconds === budget) byRun.set(`${r.seed} ${r.model}`, r);
  return [...byRun.values()].sort((a, b) => a.seed - b.seed);
}

function verdict(runs: QualityRun[]): string {
  const scored = runs.filter((r) => r.evals.length && r.exitCode === 0);
  if (scored.length < 2) return 'Not enough finished runs to compare yet.';
  const final = (r: QualityRun) => r.evals.at(-1)!;
  /** the models by a final distance, best first */
  const rank = (fd: (r: QualityRun) => number) => [...scored].sort((a, b) => fd(a) - fd(b));
  const order = rank((r) => final(r).fd);
  const [w, second] = order;
  const fdW = final(w).fd;
  const fdS = final(second).fd;
  const trained = rank((r) => final(r).fdTrainedG ?? final(r).fd);
  const sameOrder = trained.every((r, i) => r === order[i]);
  return (
    `**Seed ${w.seed}: ${w.model} won** on the Fréchet distance of the G average at the end of the budget (the sampled generator, ` +
    `which the grids show): ${order.map((r) => `${r.model} ${f2(final(r).fd)}`).join(', ')} — ` +
    `${f1(fdS - fdW)} (${f1((100 * (fdS - fdW)) / fdS)}%) below the runner-up, against a real-vs-real floor of ` +
    `${f2(final(w).fdRealVsRealBaseline)}. The trained G's distances ` +
    `(${trained.map((r) => `${r.model} ${f2(final(r).fdTrainedG ?? NaN)}`).join(', ')}) rank them ` +
    `${sameOrder ? 'the same way' : 'differently'}. Coverage: ` +
    `${order.map((r) => `${r.model} ${final(r).coverage}/${final(r).classes ?? 10}`).join(', ')}; confident: ` +
    `${order.map((r) => `${r.model} ${f1(100 * final(r).confidentRate)}%`).join(', ')}.`
  );
}

/**
 * The 1.5× target from every 64 px measurement: each round's cost ratio (a class over dcgan64 timed in the same
 * round, in the same process) pooled over the measurements, per model and width; then each measurement in a line.
 */
function targetLines(all: SpeedMeasurement[]): string[] {
  if (!all.length) return [];
  const pooled = (key: string) => all.flatMap((x) => (x.samples[key] ? roundRatios(x, 64, key) : []));
  const widths = [...new Set(all.flatMap((x) => (x.classes ?? []).flatMap((c) => (c.width ? [c.width] : []))))];
  const lines: string[] = [];
  const say = (suffix: string, what: string) => {
    const p = pooled(`${progKey(64, K(64), false)}${suffix}`);
    const q = pooled(`64 msggan${suffix}`);
    lines.push(
      `${what}: progan at its last stage (64×64, α = 1) costs ${ratioCell(p)}× dcgan64 per image (median of ${p.length} rounds, min–max) — ` +
        `${ok(median(p))} the target; msggan ${ratioCell(q)}× (${q.length} rounds) — ${ok(median(q))} the target.`,
      '',
    );
  };
  lines.push(
    '**The 1.5× target** (cost per image at 64×64 within 1.5× of DCGAN-64 at the same batch on the same adapter), each ' +
      'round’s ratio (the model over dcgan64 timed in the same round of the same process) pooled over every 64 px ' +
      'measurement below:',
    '',
  );
  say(
    '',
    `At the models’ CLI default widths (${all[0].widths['64 dcgan64']} for dcgan64, ${all[0].widths['64 msggan']} for the growing nets)`,
  );
  for (const w of widths)
    say(
      ` w${w}`,
      `At \`--width ${w}\` for the growing nets (their 64×64 blocks ${w} channels wide, their widest ${8 * w})`,
    );
  lines.push('Every 64 px measurement (the table above is the latest):', '');
  for (const x of all) {
    const keys = Object.keys(x.median).filter((k) => k.startsWith('64 ') && k !== '64 dcgan64' && !k.includes('fade'));
    const cells = keys.map(
      (k) =>
        `${k.replace('64 ', '')} ${f2(x.median['64 dcgan64'] / x.median[k])}× (round by round ${ratioCell(roundRatios(x, 64, k))})`,
    );
    lines.push(
      `- ${when(x.date)}, ${x.rounds} rounds, load average ${x.loadavgBefore[0]} → ${x.loadavgAfter[0]}: ${cells.join('; ')}`,
    );
  }
  lines.push('');
  return lines;
}

/** Each round's cost per image over the baseline's by the process's CPU time (both timed in that round). */
function cpuRoundRatios(m: SpeedMeasurement, size: number, key: string): number[] {
  const base = m.cpuSamples![`${size} ${BASELINE[size]}`];
  return m.cpuSamples![key].map((v, i) => base[i] / v);
}

/** progan's phases at a size, in schedule order: stage 0, then each later stage's fade and its α = 1 phase. */
const proganPhases = (size: number): string[] => [
  progKey(size, 0, false),
  ...Array.from({ length: K(size) }, (_, i) => [progKey(size, i + 1, true), progKey(size, i + 1, false)]).flat(),
];

/**
 * progan's cost per image over its whole schedule, each round: the CPU time per image averaged over its phases, of
 * equal numbers of images each (ProGAN's schedule: as many images for each fade as for each stage at α = 1), over
 * the baseline's in that round.
 */
function scheduleRatios(m: SpeedMeasurement, size: number): number[] {
  const keys = proganPhases(size);
  const base = m.cpuSamples![`${size} ${BASELINE[size]}`];
  return base.map((b, i) => keys.reduce((t, k) => t + 1 / m.cpuSamples![k][i], 0) / keys.length / (1 / b));
}

const stagesCell = (w: number[] | undefined) => (w?.length ? w.join(', ') : '—');

/** The cost table of a measurement with CPU times, at one size. */
function planCostTable(m: SpeedMeasurement, size: number): string[] {
  const baseKey = `${size} ${BASELINE[size]}`;
  const lines = [
    `| model | width | channels per stage, 4×4 first | phase | conv GFLOP per step | × ${BASELINE[size]} | images per CPU second, median (min–max of ${m.rounds}) | cost per image × ${BASELINE[size]} by CPU time, round by round: median (min–max) | by wall time |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of m.classes!.filter((x) => x.size === size)) {
    const phase =
      c.stage === undefined
        ? 'full size'
        : `stage ${c.stage} (${4 << c.stage}×${4 << c.stage}), ${c.fade ? 'mid-fade (α ≈ 0.5)' : 'α = 1'}`;
    const cpu = m.cpuSamples![c.key];
    lines.push(
      `| ${c.model} | ${m.widths[c.key]} | ${stagesCell(m.plans![c.key])} | ${phase} | ${f1(m.gflopPerStep![c.key])} | ${f2(m.gflopPerStep![c.key] / m.gflopPerStep![baseKey])} | ` +
        `${f2(median(cpu))} (${f2(Math.min(...cpu))}–${f2(Math.max(...cpu))}) | ${ratioCell(cpuRoundRatios(m, size, c.key))} | ${ratioCell(roundRatios(m, size, c.key))} |`,
    );
  }
  return lines;
}

/** The quality runs' table, verdicts, `notes` (paragraphs written about these runs) and grids under `heading`. */
function qualityBlock(res: Results, runs: QualityRun[], heading: string, notes: string[] = []): string[] {
  const L: string[] = [];
  const budget = runs[0].budgetSeconds;
  const size = runs[0].size ?? 32;
  const batch = runs[0].batch ?? BATCH;
  const here = runs[0].adapter === undefined || /lavapipe|llvmpipe/.test(runs[0].adapter);
  const e0 = runs.find((r) => r.evals.length)?.evals[0];
  L.push(
    `${heading} ${budget} s of training`,
    '',
    `Each model trained by \`train\` on ${DATA[size]} (3,786 images) at batch ${batch} for the steps its median speed`,
    `(the measurement of ${runs[0].speedDate ? when(runs[0].speedDate) : '?'}${runs[0].adapter ? `, ${runs[0].adapter}` : ''}) fits in ${budget} s, with a G weight average (decay ${G_EMA}), scored`,
    `${POINTS} times along the run as \`eval\` scores (2,000 samples of the G average; the trained G’s distance beside it),`,
    `real-vs-real Fréchet distance ${e0 ? f2(e0.fdRealVsRealBaseline) : '?'}` +
      (size === 32
        ? '; real images themselves cover 7/10 categories and are 68.5% confident.'
        : ` (the classifier ${DATA[size]}/classifier-${size}.safetensors).`),
    here
      ? 'The wall time is the whole `train` process under `nice -n 10` on the shared machine, scoring included: only for'
      : 'The wall time is the whole `train` process on the machine the speeds were measured on, scoring included: only for',
    'the record (the budget is in steps).',
    '',
    '| model | seed | width | loss, Adam | batch | images/s | steps in the budget | wall time | coverage | confident | FD (G average) | FD (trained G) | FD (G average) along the run |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of runs) {
    const x = res.recipes[r.model];
    const e = r.evals.at(-1);
    const grow = r.growImages
      ? `; --grow-images ${r.growImages}: ${size}×${size} at α = 1 from step ${r.grownAtStep}`
      : '';
    const along = r.evals.map((p) => `${p.step}: ${f1(p.fd)}`).join(', ');
    L.push(
      `| ${r.model} | ${r.seed} | ${r.width} | ${x.loss}, ${x.lrG} β (${x.beta1}, ${x.beta2}) | ${batch} | ${f1(r.imagesPerSecond)}${r.model === 'progan' ? ' (over its schedule)' : ''} | ${r.steps} (${f1((r.steps * batch) / EMOJI_IMAGES)} epochs)${grow} | ${minutes(r.wallSeconds)} | ` +
        (e
          ? `${e.coverage}/${e.classes ?? 10} | ${f1(100 * e.confidentRate)}% | ${f2(e.fd)} | ${e.fdTrainedG !== undefined ? f2(e.fdTrainedG) : '—'} | ${along} |`
          : `— | — | — | — | failed (exit ${r.exitCode}) |`),
    );
  }
  const seeds = [...new Set(runs.map((r) => r.seed))];
  L.push('');
  for (const seed of seeds) L.push(verdict(runs.filter((r) => r.seed === seed)), '');
  const done = runs.filter((r) => r.evals.length && r.exitCode === 0);
  const models = [...new Set(done.map((r) => r.model))];
  if (seeds.length > 1 && models.every((m) => seeds.every((sd) => done.some((r) => r.model === m && r.seed === sd)))) {
    const mean = (m: string) => {
      const fds = done.filter((r) => r.model === m).map((r) => r.evals.at(-1)!.fd);
      return fds.reduce((a, b) => a + b, 0) / fds.length;
    };
    const order = [...models].sort((a, b) => mean(a) - mean(b));
    L.push(
      `**Over the ${seeds.length} seeds**, the mean final Fréchet distance of the G average: ${order.map((m) => `${m} ${f1(mean(m))}`).join(', ')}.`,
      '',
    );
  }
  L.push(...notes.flatMap((n) => [n, '']));
  L.push('Recipes:', '');
  for (const name of new Set(runs.map((r) => r.model))) L.push(`- **${name}**: ${res.recipes[name].note}.`);
  L.push('');
  L.push('### Samples at the end of each run (drawn from the G average)', '');
  for (const r of runs) {
    const fin = r.grids.find((g) => g.endsWith('-final.png'));
    if (fin)
      L.push(
        `**${r.model}**, seed ${r.seed}, step ${r.steps} (the first 32 of the grid's 64 samples):`,
        '',
        `![${r.model} seed ${r.seed} samples at step ${r.steps}](${fin})`,
        '',
      );
  }
  const stages = runs.flatMap((r) => r.grids.filter((g) => /stage-\d+/.test(g)).map((g) => [r, g] as const));
  if (stages.length) {
    L.push(
      `**progan's stages** (seed ${stages[0][0].seed}), each drawn from the G average as its stage ended (before the next faded in):`,
      '',
    );
    for (const [, g] of stages) L.push(`![${g}](${g})`, '');
  }
  for (const r of runs)
    for (const g of r.grids.filter((x) => x.endsWith('scales.png')))
      L.push(
        `**msggan's scales** (seed ${r.seed}) at the end (one row per scale G draws, 4×4 to ${size}×${size}):`,
        '',
        `![${g}](${g})`,
        '',
      );
  return L;
}

/** The channel plan's section: its cost against the DCGAN at 64 (and 32) px, the target, and its quality check. */
function planSection(res: Results): string[] {
  // by CPU time: the measurements on a CPU adapter (a GPU's are in gpuSpeedSection, by wall time)
  const measured = res.speed.filter((m) => m.plans && m.cpuSamples && m.classes && onCpu(m));
  const runs = res.planRuns ?? [];
  if (!measured.length && !runs.length && !latestRuns(res, true).length) return [];
  const L: string[] = [];
  const latest = (size: number) => [...measured].reverse().find((m) => m.classes!.some((c) => c.size === size));
  const m64 = latest(64);
  const plan = (m: SpeedMeasurement | undefined, key: string) => stagesCell(m?.plans?.[key]);
  L.push(
    '## The channel plan, and the cost per image at 64×64 (issue 20’s 1.5× target)',
    '',
    'Both growing nets follow ProGAN’s channel plan (arXiv 1710.10196: feature maps inversely proportional to the',
    'resolution, capped): each stage has half the channels of the one below it, from `--width` at the full-size',
    `stage up to at most 8× that at 4×4 — at the default width, ${plan(m64, progKey(64, K(64), false))} at 64×64${latest(32) ? ` and ${plan(latest(32), progKey(32, K(32), false))} at 32×32` : ''}.`,
    'The full-size stage, where every 3×3 convolution costs the most, is the narrowest. MSG-GAN’s D joins each scale as',
    'the authors’ code does (φ_lin: the image’s 1×1 convolution and the features coming down each bring half of a block’s',
    'input channels), so the joins do not widen its blocks. Before, the last two stages were equally wide and the join',
    'doubled each block’s input (the sections under “the earlier channel plan” below).',
    '',
  );
  for (const size of [64, 32]) {
    const m = latest(size);
    if (!m) continue;
    L.push(
      `### Cost per image at ${size}×${size}`,
      '',
      `Training step as \`train\` runs it (real batches of ${DATA[size]}, record, read back), batch ${m.batch}, G weight average ${m.gEma}, ` +
        `the growing nets with ${res.recipes.progan.loss} (${m.rounds} interleaved rounds of ${m.imagesPerSample} images per class in one process; ` +
        `${when(m.date)}, engine ${m.engine.slice(0, 7)}, ${m.adapter}; load average ${m.loadavgBefore[0]} before, ${m.loadavgAfter[0]} after, ` +
        'on a 2-core machine shared with other sessions). The cost is the process’s CPU time per image (lavapipe runs in its',
      'threads), each class over the DCGAN timed in the same round; the wall time beside it moves with the other sessions’ load.',
      '',
      ...planCostTable(m, size),
      '',
    );
  }
  if (m64) {
    // only the measurements of the latest one's engine: a faster conv kernel moves the ratios, so older engines' rounds
    // are not pooled with the latest
    const same = measured.filter(
      (m) => m.engine === m64.engine && m.cpuSamples!['64 msggan'] && m.cpuSamples![progKey(64, 4, false)],
    );
    const pool = (f: (m: SpeedMeasurement) => number[]) => same.flatMap(f);
    // a class timed again under its --width key (` w16`) at the width its default key ran at is the same
    // configuration: its rounds are pooled too
    const sameConfig = (m: SpeedMeasurement, key: string) =>
      (m.classes ?? [])
        .filter(
          (c) =>
            c.key === key || (c.width !== undefined && c.key === `${key} w${c.width}` && c.width === m.widths[key]),
        )
        .map((c) => c.key)
        .filter((k) => m.cpuSamples![k]);
    const p = pool((m) => sameConfig(m, progKey(64, K(64), false)).flatMap((k) => cpuRoundRatios(m, 64, k)));
    const q = pool((m) => sameConfig(m, '64 msggan').flatMap((k) => cpuRoundRatios(m, 64, k)));
    const whole = pool((m) => (proganPhases(64).every((k) => m.cpuSamples![k]) ? scheduleRatios(m, 64) : []));
    const g = (k: string) => m64.gflopPerStep![k] / m64.gflopPerStep!['64 dcgan64'];
    const gWhole = proganPhases(64).reduce((t, k) => t + m64.gflopPerStep![k], 0) / proganPhases(64).length;
    L.push(
      `**The 1.5× target** (cost per image at 64×64 within 1.5× of DCGAN-64 at the same batch on the same adapter), by CPU time, ` +
        `each round’s ratio pooled over the ${same.length} measurement${same.length > 1 ? 's' : ''} of this plan with engine ${m64.engine.slice(0, 7)} (a class timed twice at the same width counted with all its rounds): ` +
        `progan at its last stage (64×64, α = 1) costs ${ratioCell(p)}× dcgan64 per image (median of ${p.length} rounds, min–max) — ${judged(p, ' the target')}` +
        (whole.length
          ? `; over its whole schedule (equal images in each phase, stage 0 to the last stage at α = 1) ${ratioCell(whole)}× — ${judged(whole)}`
          : '') +
        `; msggan ${ratioCell(q)}× — ${judged(q, ' the target')}. In conv work per step: progan’s last stage ${f2(g(progKey(64, K(64), false)))}×, ` +
        `its schedule ${f2(gWhole / m64.gflopPerStep!['64 dcgan64'])}×, msggan ${f2(g('64 msggan'))}× dcgan64’s ${f1(m64.gflopPerStep!['64 dcgan64'])} GFLOP.`,
      '',
    );
  }
  const quality = latestRuns(res, true);
  if (quality.length)
    L.push(...qualityBlock(res, quality, '### Which draws the better 32×32 emoji under this plan, in'));
  const quality64 = latestRuns(res, true, 64);
  if (quality64.length)
    L.push(...qualityBlock(res, quality64, '### Which draws the better 64×64 emoji under this plan, in'));
  if (runs.length) {
    L.push(
      '### The earlier default against the current one on the emoji, in the same steps',
      '',
      `Each run trained by \`train\` on the emoji at batch ${BATCH} with the growing recipe (${res.recipes.progan.note}), the same`,
      `number of steps for the earlier and the current default of a model (progan’s last stage at α = 1 from ${100 * GROWN_BY}% of them),`,
      `scored ${POINTS} times along the run as \`eval\` scores (2,000 samples of the G average; the trained G’s distance beside it).`,
      'The earlier default ran from a snapshot of the commit before the plan changed (engine column). “D loss 0” counts the',
      'steps on which D’s relativistic hinge loss was 0 (D won outright). The wall time is the whole `train` process under',
      '`nice -n 10` on the shared machine, only for the record.',
      '',
      '| run | model | size | seed | width | channels per stage, 4×4 first | lr D | steps | coverage | confident | FD (G average) | FD (trained G) | FD (G average) along the run | D loss 0 | mean D loss, last 50 steps | wall time | load average | engine |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const r of runs) {
      const e = r.evals.at(-1);
      L.push(
        `| ${r.label} | ${r.model} | ${r.size} | ${r.seed} | ${r.width} | ${stagesCell(r.stageWidths)} | ${r.lrD} | ${r.steps}${r.growImages ? ` (--grow-images ${r.growImages})` : ''} | ` +
          (e
            ? `${e.coverage}/${e.classes ?? 10} | ${f1(100 * e.confidentRate)}% | ${f2(e.fd)} | ${e.fdTrainedG !== undefined ? f2(e.fdTrainedG) : '—'} | ${r.evals.map((x) => `${x.step}: ${f1(x.fd)}`).join(', ')} | `
            : `— | — | — | — | failed (exit ${r.exitCode}) | `) +
          `${r.dLoss ? `${r.dLoss.zeroSteps} of ${r.dLoss.steps}` : '—'} | ${r.dLoss ? f2(r.dLoss.meanLast50) : '—'} | ` +
          `${minutes(r.wallSeconds)} | ${r.loadavgBefore[0]} → ${r.loadavgAfter[0]} | ${r.engine.slice(0, 7)} |`,
      );
    }
    L.push('');
    // each model, size and seed: the current default against the earlier one (the latest run of each)
    const last = (label: string, model: string, size: number, seed: number) =>
      [...runs]
        .reverse()
        .find((r) => r.label === label && r.model === model && r.size === size && r.seed === seed && r.evals.length);
    const seen = new Set<string>();
    for (const r of runs) {
      const id = `${r.model} ${r.size} ${r.seed}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const a = last('earlier default', r.model, r.size, r.seed);
      const b = last('current default', r.model, r.size, r.seed);
      if (!a || !b) continue;
      const [ea, eb] = [a.evals.at(-1)!, b.evals.at(-1)!];
      const pct = (x: number, y: number) => `${x <= y ? '−' : '+'}${f1(Math.abs((100 * (x - y)) / y))}%`;
      const ahead = eb.fd <= ea.fd;
      const ta = ea.fdTrainedG ?? NaN;
      const tb = eb.fdTrainedG ?? NaN;
      L.push(
        `**${r.model} at ${r.size} px, seed ${r.seed}, ${b.steps} steps:** on the G average (the sampled generator) the current ` +
          `default is ${ahead ? 'ahead' : 'behind'}, FD ${f2(eb.fd)} against ${f2(ea.fd)} (${pct(eb.fd, ea.fd)}); the trained G’s FD ` +
          `${tb <= ta === ahead ? 'ranks them the same way' : 'ranks them the other way'}, ${f2(tb)} against ${f2(ta)} (${pct(tb, ta)}); ` +
          `coverage ${eb.coverage}/${eb.classes ?? 10} against ${ea.coverage}/${ea.classes ?? 10}; D’s loss 0 on ` +
          `${b.dLoss?.zeroSteps ?? '?'} steps against ${a.dLoss?.zeroSteps ?? '?'}. One seed of a short run each: a sign, not a ranking.`,
        '',
      );
    }
    const grids = runs.flatMap((r) => r.grids.map((g) => [r, g] as const));
    if (grids.length) {
      L.push('Their samples at the end (the G average; the first 32 of 64):', '');
      for (const [r, g] of grids)
        L.push(`**${r.label}**, ${r.model} ${r.size} px, seed ${r.seed}:`, '', `![${r.label} ${r.model}](${g})`, '');
    }
  }
  return L;
}

/** The speed measured on each GPU (bench/device/gan64.sh), by wall time: the latest at each size and adapter. */
function gpuSpeedSection(res: Results): string[] {
  const L: string[] = [];
  const latest = new Map<string, SpeedMeasurement>();
  for (const m of res.speed.filter((x) => !onCpu(x) && x.classes))
    for (const size of new Set(m.classes!.map((c) => c.size))) latest.set(`${size} ${m.adapter}`, m);
  for (const [key, m] of latest) {
    const size = Number(key.split(' ')[0]);
    const last = progKey(size, K(size), false);
    const p = roundRatios(m, size, last);
    const q = roundRatios(m, size, `${size} msggan`);
    L.push(
      `### Speed at ${size}×${size} on ${m.adapter}`,
      '',
      `Training step as \`train\` runs it (real batches of ${DATA[size]}, record, read back), batch ${m.batch}, G weight average ${m.gEma}; one process, ` +
        `${m.rounds} interleaved rounds of ${m.imagesPerSample} images per class (${when(m.date)}, engine ${m.engine.slice(0, 7)}, ${m.adapter}). ` +
        'On a GPU the cost is the wall time (the process’s CPU time is not the work).',
      '',
      ...speedTable(m, size),
      '',
      `**The 1.5× target** by wall time on ${m.adapter}: progan at its last stage costs ${ratioCell(p)}× ${BASELINE[size]} per image ` +
        `(median of ${p.length} rounds, min–max) — ${ok(median(p))} the target; msggan ${ratioCell(q)}× — ${ok(median(q))} the target.`,
      '',
    );
  }
  return L;
}

export function renderReadme(res: Results): string {
  const L: string[] = [];
  L.push(
    '# Growing nets against DCGAN on the emoji (issue 20)',
    '',
    'Progressive growing (`--model progan`) and MSG-GAN (`--model msggan`) against the DCGAN paper’s nets',
    '(`dcgan32`, `dcgan64`) on the colour emoji of [docs/gan/emoji/](../emoji/README.md): the same images, one batch',
    'size, one time budget. Rendered by `npx tsx scripts/growing-study.ts render` from [results.json](results.json);',
    'every figure was measured by `scripts/growing-study.ts` (its header gives the commands and the method).',
    '',
  );
  L.push(...planSection(res));
  L.push(...gpuSpeedSection(res));
  // the sections below were measured under the earlier channel plan (the measurements without `plans`)
  const has = (size: number) => (m: SpeedMeasurement) =>
    !m.plans &&
    legacyClasses(m, size).every((c) => m.median[c.key] !== undefined) &&
    m.median[`${size} ${BASELINE[size]}`] !== undefined;
  const m32 = [...res.speed].reverse().find(has(32));
  const m64 = [...res.speed].reverse().find(has(64));
  const runs = latestRuns(res, false);
  if (runs.length || m32 || m64)
    L.push(
      '## Under the earlier channel plan',
      '',
      'Everything below was measured before the plan above: the growing nets’ last two stages equally wide (at the width',
      'in the tables), MSG-GAN’s join doubling its blocks’ input.',
      '',
    );
  if (runs.length) L.push(...qualityBlock(res, runs, '### Which draws the better 32×32 emoji in', res.notes ?? []));
  for (const [size, m] of [
    [32, m32],
    [64, m64],
  ] as const) {
    if (!m) continue;
    L.push(
      `### Speed at ${size}×${size}`,
      '',
      `Training step as \`train\` runs it (real batches of ${DATA[size]}, record, read back), batch ${m.batch}, G weight average ${m.gEma}; one process, ` +
        `${m.rounds} interleaved rounds of ${m.imagesPerSample} images per class (${when(m.date)}, engine ${m.engine.slice(0, 7)}, ` +
        `${m.adapter}; load average ${m.loadavgBefore[0]} before, ${m.loadavgAfter[0]} after, on a 2-core machine shared with other sessions).`,
      '',
      ...speedTable(m, size),
      '',
    );
    if (size === 32) {
      const run = runs.find((r) => r.model === 'progan');
      if (run?.growImages) {
        const imgs = run.steps * BATCH;
        L.push(
          `progan over its quality run (--grow-images ${run.growImages}, ${imgs} images): ${f1(run.imagesPerSecond)} images/s on average by these speeds, ` +
            `cost per image × dcgan32 ${f2(m.median['32 dcgan32'] / run.imagesPerSecond)}.`,
          '',
        );
      }
    }
    if (size === 64) L.push(...targetLines(res.speed.filter(has(64))));
  }
  return L.join('\n').trimEnd() + '\n';
}

function render(): void {
  const res = readResults();
  if (!res.speed.length && !res.runs.length) return;
  mkdirSync(DOCS, { recursive: true });
  // the grids again from the run folders still here (the same names: they follow the copying's current form)
  // only the current plan's runs: the earlier plan's grids are committed, and a later run of the same model and seed
  // would have replaced its run folder
  for (const size of [32, 64])
    for (const r of latestRuns(res, true, size))
      if (existsSync(runDir(r.model, r.seed, size))) r.grids = copyGrids(r.model, r.seed, size);
  writeFileAtomic(README, renderReadme(res));
  console.log(`wrote ${README}`);
}

export async function main(argv: string[]): Promise<void> {
  const cmd = argv[0];
  if (cmd === 'speed') await speedPhase(argv.slice(1));
  else if (cmd === 'quality') await qualityPhase(argv.slice(1));
  else if (cmd === 'plan-quality') await planQualityPhase(argv.slice(1));
  else if (cmd === 'plan-dstats') planDStats(argv.slice(1));
  else if (cmd !== 'render')
    throw new Error('usage: growing-study.ts speed | quality | plan-quality | render [options]');
  render();
}

runAsMain(import.meta.url, main);
