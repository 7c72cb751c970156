/**
 * Benchmark plumbing shared by every adapter: a timer, exact FLOP counters, a markdown table, and a results writer.
 *
 * Nothing in here knows about a particular engine. Workloads hand the timer a `step` that starts the work and
 * resolves only once the device has finished it (a one-element read-back is the usual way), so that wall-clock
 * time includes the GPU work and not just the time it takes to enqueue it.
 *
 * Node-only (writeResults uses fs); the bench folder is never bundled for the browser.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------------------------

export interface TimeOptions {
  /** Untimed runs after the first one (the first run is always made and reported as `firstRunMs`). */
  warmup?: number;
  /** Timed runs at least this many times... */
  repeats?: number;
  /** ...and keeps going until the timed runs add up to this many milliseconds... */
  minTimeMs?: number;
  /** ...but never more than this many timed runs (keeps tiny workloads from looping for ever on fast devices). */
  maxRepeats?: number;
  /**
   * Soft cap on the whole measurement in ms. Slow steps get fewer warm-up and timed runs (never fewer than one
   * timed run), judged from the latest run's duration.
   */
  budgetMs?: number;
  /** The clock, in ms (performance.now unless a test gives its own). */
  now?: () => number;
}

export interface SampleStats {
  median: number;
  min: number;
  max: number;
  /** Every timed run in milliseconds, in the order they ran. */
  samples: number[];
}

export interface Timing extends SampleStats {
  /** The first run: shader compilation, pipeline creation, allocator warm-up. Always kept out of the samples. */
  firstRunMs: number;
  /**
   * Only in results written before the interleaved runner: the first run was the only sample. Nothing writes it
   * now; renderCell still marks such a row "1 run" when an old results file is rendered.
   */
  firstRunReused?: boolean;
  /** Untimed warm-up runs after the first one, in ms (the interleaved runner records them). */
  warmupMs?: number[];
}

/** Median, min and max of a list of durations. The median of an even count is the mean of the middle two. */
export function summarize(samples: readonly number[]): SampleStats {
  if (samples.length === 0) throw new Error('summarize: no samples (repeats must be at least 1)');
  for (const s of samples) {
    if (!Number.isFinite(s)) throw new Error(`summarize: sample ${s} is not a finite number of milliseconds`);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples: [...samples] };
}

/**
 * Times an async step. The first call is timed on its own (it pays for compilation), `warmup` more calls run
 * untimed, then the step is timed `repeats` times or until `minTimeMs` has passed, whichever is later.
 */
export async function timeIt(fn: () => Promise<void>, opts: TimeOptions = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 1;
  const repeats = opts.repeats ?? 5;
  const minTimeMs = opts.minTimeMs ?? 0;
  const maxRepeats = Math.max(repeats, opts.maxRepeats ?? 100);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`timeIt: warmup must be an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(`timeIt: repeats must be an integer >= 1, got ${repeats}`);

  const budget = opts.budgetMs ?? Infinity;
  const now = opts.now ?? (() => performance.now());
  let t0 = now();
  await fn();
  const firstRunMs = now() - t0;
  let spent = firstRunMs;
  let latest = firstRunMs;
  for (let i = 0; i < warmup && spent + latest < budget; i++) {
    t0 = now();
    await fn();
    latest = now() - t0;
    spent += latest;
  }
  const timedRuns = Number.isFinite(budget)
    ? Math.min(repeats, Math.max(1, Math.floor((budget - spent) / latest)))
    : repeats;

  const samples: number[] = [];
  let total = 0;
  while (samples.length < timedRuns || (total < minTimeMs && samples.length < maxRepeats && spent + total < budget)) {
    t0 = now();
    await fn();
    const ms = now() - t0;
    samples.push(ms);
    total += ms;
  }
  return { ...summarize(samples), firstRunMs };
}

// ---------------------------------------------------------------------------------------------------------------
// Interleaved sampling: every side of one workload (ours, each tfjs backend) is prepared, warmed up the same way,
// then timed in alternating rounds A B C A B C …, so that a machine whose speed drifts slows every side alike.
// ---------------------------------------------------------------------------------------------------------------

export type WorkloadKind = 'matmul' | 'layer' | 'train';

/** How one workload's sides are sampled (see `samplingRules` for the values the runners use). */
export interface SamplingRules {
  /** Untimed runs per side after its first run, taken in rounds like the samples. */
  warmup: number;
  /** Timed runs per side, at least. Every side gets the same number: one per round. */
  samples: number;
  /** More rounds follow until every side's timed runs add up to this many ms... */
  minTimeMs: number;
  /** ...but never more rounds than this... */
  maxSamples: number;
  /** ...nor once the timed rounds (all sides together) have taken this long. */
  budgetMs: number;
  /**
   * A side whose warm run (its last warm-up run; with no warm-up, its first run) takes longer than this is skipped,
   * "slow": `samples` timed runs would not fit the budget. Also the limit for a side's estimate before it runs.
   */
  maxRunMs: number;
  /** A side whose first run takes longer than this is skipped at once, without warm-up runs. */
  maxFirstRunMs: number;
}

/**
 * The sampling rules of `npm run bench` and bench/tfjs-only.ts. `--quick`: first run + 1 warm-up run per side,
 * then at least 3 rounds (up to 15 while a side's samples add up to less than 300 ms and the rounds took less than
 * 3 s); a side slower than 10 s a warm run (60 s for the training steps) is skipped. Without --quick: 2 warm-up
 * runs, 5 to 20 rounds (1 s of samples per side, 60 s per workload), limits 60 s and 300 s.
 */
export function samplingRules(quick: boolean, kind: WorkloadKind): SamplingRules {
  const train = kind === 'train';
  if (quick) {
    return {
      warmup: 1,
      samples: 3,
      minTimeMs: 300,
      maxSamples: 15,
      budgetMs: 3000,
      maxRunMs: train ? 60_000 : 10_000,
      maxFirstRunMs: train ? 120_000 : 30_000,
    };
  }
  return {
    warmup: 2,
    samples: 5,
    minTimeMs: 1000,
    maxSamples: 20,
    budgetMs: 60_000,
    maxRunMs: train ? 300_000 : 60_000,
    maxFirstRunMs: train ? 600_000 : 120_000,
  };
}

/** One side of an interleaved measurement. */
export interface Contender {
  /** Column name: "ours", "tfjs-webgpu", ... */
  name: string;
  /** Makes this side current before each of its calls, outside the timed window (a tfjs side: tf.setBackend). */
  activate?: () => void | Promise<void>;
  /** Allocates the workload on this side, right before its first run (not timed); returns the step to time. */
  prepare: () => (() => Promise<void>) | Promise<() => Promise<void>>;
  /** Called right after the first run (not timed), e.g. to read the memory the step holds. */
  afterFirstRun?: () => void | Promise<void>;
  /** Estimated ms of one run from earlier workloads; above `maxRunMs` the side is skipped without running. */
  estimateMs?: number;
  /** Never skipped as slow, however long it takes (the headline rows, see `mustBeTimed`). */
  neverSkip?: boolean;
}

export interface SideOutcome {
  name: string;
  status: 'ok' | 'skipped' | 'error';
  /** Why it was skipped ("slow: …") or what failed. */
  note?: string;
  /** The thrown value, when status is "error". */
  error?: unknown;
  firstRunMs?: number;
  /** Untimed warm-up runs after the first. */
  warmupMs: number[];
  /** Status "ok" only: the timed runs, one per round, in round order; firstRunMs and warmupMs included. */
  timing?: Timing;
}

export interface InterleaveResult {
  /** One per contender, in the contenders' order. */
  sides: SideOutcome[];
  /** Timed rounds taken (every side that stayed "ok" has this many samples). */
  rounds: number;
}

export interface InterleaveHooks {
  /** Runs once after the warm-ups, right before the first timed round (e.g. a short FMA ceiling measurement). */
  beforeSamples?: () => void | Promise<void>;
  /** Runs once right after the last timed round. */
  afterSamples?: () => void | Promise<void>;
  /** After every run of a side, with its duration (progress output for slow steps). */
  onRun?: (side: string, phase: 'first' | 'warmup' | 'sample', ms: number) => void;
  /** The clock (tests pass a fake one). */
  now?: () => number;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * Times the contenders of one workload side by side:
 *   1. per side in order: activate, prepare, first run (timed, reported apart), afterFirstRun;
 *   2. `warmup` rounds of untimed runs, A B C A B C …;
 *   3. sides whose warm run exceeds `maxRunMs` are skipped ("slow"), as are sides whose first run exceeded
 *      `maxFirstRunMs` (those skip the warm-up too) and sides whose estimate exceeded `maxRunMs` (never run);
 *      a `neverSkip` side is timed however slow it is;
 *   4. beforeSamples, then timed rounds A B C A B C … until `samples` rounds are done and the minTimeMs /
 *      maxSamples / budgetMs rule says stop, then afterSamples.
 * Every call activates its side first, outside the timed window. A side that throws is marked "error" and drops
 * out; the others go on. No sample is ever a first run, and no side gets fewer than `samples` samples.
 */
export async function interleave(
  contenders: readonly Contender[],
  rules: SamplingRules,
  hooks: InterleaveHooks = {},
): Promise<InterleaveResult> {
  if (!Number.isInteger(rules.warmup) || rules.warmup < 0)
    throw new Error(`interleave: warmup must be an integer >= 0, got ${rules.warmup}`);
  if (!Number.isInteger(rules.samples) || rules.samples < 1)
    throw new Error(`interleave: samples must be an integer >= 1, got ${rules.samples}`);
  const now = hooks.now ?? (() => performance.now());
  const sides: SideOutcome[] = contenders.map((c) => ({ name: c.name, status: 'ok', warmupMs: [] }));
  const steps: (() => Promise<void>)[] = [];
  const samples: number[][] = contenders.map(() => []);
  const live = (): number[] => sides.flatMap((s, i) => (s.status === 'ok' ? [i] : []));
  const skip = (i: number, note: string): void => void Object.assign(sides[i]!, { status: 'skipped', note });
  const fail = (i: number, e: unknown): void => {
    Object.assign(sides[i]!, {
      status: 'error',
      error: e,
      note: ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 200),
    });
  };
  const timed = async (i: number, phase: 'warmup' | 'sample'): Promise<number> => {
    await contenders[i]!.activate?.();
    const t0 = now();
    await steps[i]!();
    const ms = now() - t0;
    hooks.onRun?.(contenders[i]!.name, phase, ms);
    return ms;
  };

  const exempt = (i: number): boolean => contenders[i]!.neverSkip === true;
  for (const i of live()) {
    const est = contenders[i]!.estimateMs;
    if (est !== undefined && est > rules.maxRunMs && !exempt(i)) skip(i, `slow: estimated ${secs(est)} a run`);
  }
  for (const i of live()) {
    const c = contenders[i]!;
    try {
      await c.activate?.();
      steps[i] = await c.prepare();
      const t0 = now();
      await steps[i]!();
      const first = now() - t0;
      sides[i]!.firstRunMs = first;
      hooks.onRun?.(c.name, 'first', first);
      await c.afterFirstRun?.();
      if (first > rules.maxFirstRunMs && !exempt(i)) skip(i, `slow: first run ${secs(first)}`);
    } catch (e) {
      fail(i, e);
    }
  }
  for (let r = 0; r < rules.warmup; r++) {
    for (const i of live()) {
      try {
        sides[i]!.warmupMs.push(await timed(i, 'warmup'));
      } catch (e) {
        fail(i, e);
      }
    }
  }
  for (const i of live()) {
    const warm = sides[i]!.warmupMs.at(-1) ?? sides[i]!.firstRunMs!;
    if (warm > rules.maxRunMs && !exempt(i)) skip(i, `slow: ${secs(warm)} a warm run`);
  }
  if (live().length === 0) return { sides, rounds: 0 };

  await hooks.beforeSamples?.();
  const started = now();
  let rounds = 0;
  const total = (i: number): number => samples[i]!.reduce((a, b) => a + b, 0);
  while (live().length > 0) {
    if (rounds >= rules.samples) {
      if (rounds >= rules.maxSamples || now() - started >= rules.budgetMs) break;
      if (live().every((i) => total(i) >= rules.minTimeMs)) break;
    }
    for (const i of live()) {
      try {
        samples[i]!.push(await timed(i, 'sample'));
      } catch (e) {
        fail(i, e);
      }
    }
    rounds++;
  }
  await hooks.afterSamples?.();
  for (const i of live()) {
    sides[i]!.timing = { ...summarize(samples[i]!), firstRunMs: sides[i]!.firstRunMs!, warmupMs: sides[i]!.warmupMs };
  }
  return { sides, rounds };
}

/**
 * Measured throughput per backend and class of work (matmul, each conv pass, all conv passes): predicts how long
 * a backend would take for a workload it has not run yet, so a hopeless one (tfjs-cpu's filter gradient ran 48–94× slower
 * than its forward conv on the DCGAN and VGG layers of bench/results/lavapipe-all-workloads.json) is skipped before it runs. Training steps are predicted from the layers' rate.
 */
export class ThroughputModel {
  private readonly done = new Map<string, { flops: number; ms: number }>();

  private add(key: string, flops: number, ms: number): void {
    const d = this.done.get(key) ?? { flops: 0, ms: 0 };
    this.done.set(key, { flops: d.flops + flops, ms: d.ms + ms });
  }

  record(backend: string, w: { kind: WorkloadKind; pass?: ConvPass; flops: number }, ms: number): void {
    if (w.kind === 'layer') {
      this.add(`${backend}\u0000layer/${w.pass}`, w.flops, ms);
      this.add(`${backend}\u0000layer`, w.flops, ms);
    } else this.add(`${backend}\u0000${w.kind}`, w.flops, ms);
  }

  /** Estimated ms of one run; undefined for matmuls (always run) and when nothing comparable has run yet. */
  estimate(backend: string, w: { kind: WorkloadKind; pass?: ConvPass; flops: number }): number | undefined {
    const keys = w.kind === 'layer' ? [`layer/${w.pass}`, 'matmul'] : w.kind === 'train' ? ['layer', 'matmul'] : [];
    for (const k of keys) {
      const d = this.done.get(`${backend}\u0000${k}`);
      if (d && d.ms > 0) return w.flops / (d.flops / d.ms);
    }
    return undefined;
  }
}

/** Throughput in GFLOP/s of `flops` floating-point operations done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  if (!(ms > 0)) throw new Error(`gflops: duration must be > 0 ms, got ${ms}`);
  return flops / (ms * 1e6);
}

// ---------------------------------------------------------------------------------------------------------------
// FLOP counters. One multiply-add counts as 2 FLOPs. Convolutions count every kernel tap, padded ones included,
// because that is the work a dense kernel does; bias adds count 1 per output element.
// ---------------------------------------------------------------------------------------------------------------

/** FLOPs of `batch` independent [M,K]x[K,N] matrix products. */
export function matmulFlops(m: number, n: number, k: number, batch = 1): number {
  return 2 * m * n * k * batch;
}

/**
 * A 2-D convolution layer, PyTorch style (NCHW, weight [out,in,kh,kw] for conv, [in,out,kh,kw] for convT).
 * `inH/inW` are the spatial sizes of the layer's forward input.
 */
export interface ConvLayerShape {
  name: string;
  kind: 'conv' | 'convT';
  batch: number;
  inChannels: number;
  outChannels: number;
  inH: number;
  inW: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  padding: number;
  /** convT only: extra rows/columns at the bottom/right of the output (PyTorch `output_padding`). */
  outputPadding?: number;
  bias: boolean;
}

/** Output spatial size of a layer, with PyTorch's formulas (floor for conv). */
export function convOutputSize(l: ConvLayerShape): { outH: number; outW: number } {
  const op = l.outputPadding ?? 0;
  const out = (size: number, k: number): number =>
    l.kind === 'conv'
      ? Math.floor((size + 2 * l.padding - k) / l.stride) + 1
      : (size - 1) * l.stride - 2 * l.padding + k + op;
  const outH = out(l.inH, l.kernelH);
  const outW = out(l.inW, l.kernelW);
  if (outH < 1 || outW < 1) throw new Error(`layer ${l.name}: output size ${outH}x${outW} is empty`);
  if (l.kind === 'conv' && op !== 0) throw new Error(`layer ${l.name}: outputPadding is only meaningful for convT`);
  return { outH, outW };
}

/**
 * Multiply-add count shared by a layer's three passes (times 2): for conv, every output pixel of every output
 * channel reads Cin*kh*kw inputs; for convT the roles swap, every *input* pixel scatters into Cout*kh*kw outputs.
 */
function convMacFlops(l: ConvLayerShape): number {
  const taps = l.kernelH * l.kernelW;
  if (l.kind === 'conv') {
    const { outH, outW } = convOutputSize(l);
    return 2 * l.batch * l.outChannels * outH * outW * l.inChannels * taps;
  }
  return 2 * l.batch * l.inChannels * l.inH * l.inW * l.outChannels * taps;
}

function biasFlops(l: ConvLayerShape): number {
  if (!l.bias) return 0;
  const { outH, outW } = convOutputSize(l);
  return l.batch * l.outChannels * outH * outW;
}

/** Forward pass: the dense product plus one add per output element when the layer has a bias. */
export function convForwardFlops(l: ConvLayerShape): number {
  return convMacFlops(l) + biasFlops(l);
}

/** Gradient with respect to the layer input: the same products as forward, no bias term. */
export function convGradInputFlops(l: ConvLayerShape): number {
  return convMacFlops(l);
}

/** Gradient with respect to the weight (and bias: one add per output element, summing dy over N,H,W). */
export function convGradWeightFlops(l: ConvLayerShape): number {
  return convMacFlops(l) + biasFlops(l);
}

export type ConvPass = 'forward' | 'gradInput' | 'gradWeight';

export function convPassFlops(l: ConvLayerShape, pass: ConvPass): number {
  switch (pass) {
    case 'forward':
      return convForwardFlops(l);
    case 'gradInput':
      return convGradInputFlops(l);
    case 'gradWeight':
      return convGradWeightFlops(l);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Results and the markdown table
// ---------------------------------------------------------------------------------------------------------------

/**
 * What `--quick` runs, so that `npm run bench -- --quick` stays under 10 minutes on a 2-core CPU adapter (the
 * committed runs took 346–535 s, bench/README.md): our engine runs everything but the 256 px style step; tfjs-webgpu
 * and tfjs-wasm run the matmuls, the DCGAN layers and the DCGAN and 128 px style steps; tfjs-cpu (0.77–0.99 GFLOP/s
 * on the matmuls in bench/results/lavapipe.json, 2026-12-02 10:39 UTC) runs the matmuls only. The rest
 * shows as "skipped (not in --quick)"; a run without --quick measures all of it.
 */
export function inQuickSuite(backend: string, workload: string): boolean {
  if (workload === 'train/style-256') return false;
  if (backend === 'ours') return true;
  if (backend === 'tfjs-cpu') return workload.startsWith('matmul/');
  return !workload.startsWith('layer/VGG');
}

/**
 * The headline rows: the DCGAN step and the 128 px style step on ours and tfjs-webgpu are always timed in full
 * (never skipped as slow), however slow the machine is that day; they take seconds to a minute a run on lavapipe.
 */
export function mustBeTimed(backend: string, workload: string): boolean {
  return (
    (backend === 'ours' || backend === 'tfjs-webgpu') &&
    (workload === 'train/dcgan-step' || workload === 'train/style-128')
  );
}

/**
 * The order workloads run in under a deadline (bench --deadline-s), most wanted first: the training steps (the DCGAN
 * step, the style iterations, largest first), the largest matmul, the DCGAN layers, the VGG layers, the other
 * matmuls. The table keeps the usual order; only the order of measurement changes.
 */
export function priorityOrder<T extends { id: string }>(workloads: readonly T[]): T[] {
  const largestMatmul = workloads.filter((w) => w.id.startsWith('matmul/')).at(-1)?.id;
  const rank = (id: string): number => {
    if (id === 'train/dcgan-step') return 0;
    if (id.startsWith('train/')) return 1 - Number(id.match(/\d+$/)?.[0] ?? 0) / 1e6; // style-256 before style-128
    if (id === largestMatmul) return 2;
    if (id.startsWith('layer/VGG')) return 4;
    if (id.startsWith('layer/')) return 3;
    return 5;
  };
  return workloads
    .map((w, i) => ({ w, i }))
    .sort((a, b) => rank(a.w.id) - rank(b.w.id) || a.i - b.i)
    .map(({ w }) => w);
}

export type RowStatus = 'ok' | 'unsupported' | 'skipped' | 'error';

export interface MemoryInfo {
  /** Bytes held by live tensors after a step (weights, optimizer state, cached targets). */
  numBytes?: number;
  /** Bytes of GPU buffers in use / allocated, where the backend reports them. */
  numBytesInGPU?: number;
  numBytesInGPUAllocated?: number;
}

/** One workload measured on one backend. */
export interface ResultRow {
  /** Stable id, the key that pairs rows of different backends, e.g. "conv/D1/forward" or "matmul/1024". */
  workload: string;
  /** Backend (column) name, e.g. "ours", "tfjs-webgpu", "tfjs-wasm", "tfjs-cpu". */
  backend: string;
  status: RowStatus;
  /** Why it was skipped / the error message / anything worth a footnote. */
  note?: string;
  /** Useful FLOPs of one step, when the workload has a FLOP model. */
  flops?: number;
  timing?: Timing;
  memory?: MemoryInfo;
  /**
   * FMA ceiling of this row's workload: the mean of the short measurements right before and right after its timed
   * rounds (`ceilingSamples`). The table's ceiling column and `percentOfCeiling` use it.
   */
  ceilingGflops?: number;
  /** The ceiling measurements around the workload's timed rounds, in GFLOP/s: [before, after]. */
  ceilingSamples?: number[];
  /** This row's median GFLOP/s as a percentage of `ceilingGflops`. */
  percentOfCeiling?: number;
  /** How the row was sampled: the sides timed in the same rounds, and the number of rounds. */
  interleaved?: { with: string[]; rounds: number; warmupRuns: number };
  /**
   * Rows other than ours, when ours ran in the same rounds: `ratio` is this row's median / ours (the table's
   * ratio column); `perRound` summarizes this row's sample / ours' sample of the same round.
   */
  vsOurs?: { backend: string; ratio: number; perRound: { median: number; min: number; max: number } };
}

export interface TableOptions {
  /** Backend columns in display order; defaults to the order backends first appear in the rows. */
  backends?: string[];
  /** The backend that ratio columns put on top ("ours"); no ratio columns when absent from the rows. */
  ours?: string;
  /** Backends to compare `ours` with; defaults to every other backend. */
  compareTo?: string[];
  /**
   * FMA-bound GFLOP/s of the adapter, shown as a column when given; a row's own `ceilingGflops` (measured beside
   * its workload) takes its place. The column is there when either is.
   */
  ceilingGflops?: number;
  /** Threads a backend computes with, shown in its column header: "tfjs-wasm (1 thread)". */
  threads?: Record<string, number>;
}

/** Milliseconds with 3 significant digits or so: "412", "41.2", "4.12". */
export function fmtMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

/** GFLOP/s: one decimal from 10 up, two below. */
export function fmtGflops(g: number): string {
  return g >= 10 ? g.toFixed(1) : g.toFixed(2);
}

/**
 * What a backend's cell says: "412 ms (398–431, n=3; 9.10 GF/s)" (median, min–max and count of the timed runs,
 * GFLOP/s of the median), "unsupported", "skipped (slow: …)", "error", or "—". A results file written before the
 * interleaved runner may hold a first run as the only sample: "(…, 1 run)".
 */
export function renderCell(row: ResultRow | undefined): string {
  if (!row) return '—';
  switch (row.status) {
    case 'unsupported':
      return 'unsupported';
    case 'skipped':
      return row.note ? `skipped (${row.note})` : 'skipped';
    case 'error':
      return 'error';
    case 'ok': {
      const t = row.timing;
      if (!t) return '—';
      const gf = row.flops ? fmtGflops(gflops(row.flops, t.median)) : undefined;
      if (t.firstRunReused) return gf ? `${fmtMs(t.median)} ms (${gf} GF/s, 1 run)` : `${fmtMs(t.median)} ms (1 run)`;
      const n = t.samples.length;
      const spread = n > 1 ? `${fmtMs(t.min)}–${fmtMs(t.max)}, n=${n}` : `n=${n}`;
      return gf ? `${fmtMs(t.median)} ms (${spread}; ${gf} GF/s)` : `${fmtMs(t.median)} ms (${spread})`;
    }
  }
}

/**
 * Speed of `ours` relative to `other`: other's median time / ours (same work, so >1 means ours is faster).
 * "unsupported" when either side lacks the op, "—" when either was not run (skipped, failed or absent).
 */
export function renderRatio(ours: ResultRow | undefined, other: ResultRow | undefined): string {
  if (ours?.status === 'unsupported' || other?.status === 'unsupported') return 'unsupported';
  if (ours?.status !== 'ok' || other?.status !== 'ok' || !ours.timing || !other.timing) return '—';
  return `${(other.timing.median / ours.timing.median).toFixed(2)}×`;
}

/**
 * `other` against `ours` when both were timed in the same rounds (same count of samples, each named in the
 * other's `interleaved.with`): the ratio of medians and the per-round ratios other[i] / ours[i]. Undefined otherwise.
 */
export function ratioStats(ours: ResultRow | undefined, other: ResultRow | undefined): ResultRow['vsOurs'] {
  if (ours?.status !== 'ok' || other?.status !== 'ok' || !ours.timing || !other.timing) return undefined;
  const a = ours.timing.samples;
  const b = other.timing.samples;
  if (a.length !== b.length || !other.interleaved?.with.includes(ours.backend)) return undefined;
  const perRound = summarize(b.map((ms, i) => ms / a[i]!));
  return {
    backend: ours.backend,
    ratio: other.timing.median / ours.timing.median,
    perRound: { median: perRound.median, min: perRound.min, max: perRound.max },
  };
}

/** A column header: the backend, with its thread count when known ("tfjs-wasm (1 thread)"). */
export function renderHeader(backend: string, threads?: Record<string, number>): string {
  const n = threads?.[backend];
  return n === undefined ? backend : `${backend} (${n} thread${n === 1 ? '' : 's'})`;
}

/** The ceiling cell of one workload: "24.1 (23.6–24.5)" (mean, then the measurements before/after), or the run's. */
function renderCeiling(rows: readonly (ResultRow | undefined)[], fallback: number | undefined): string {
  const row = rows.find((r) => r?.ceilingGflops !== undefined);
  if (!row) return fallback !== undefined ? fmtGflops(fallback) : '—';
  const s = row.ceilingSamples ?? [];
  const lo = Math.min(...s);
  const hi = Math.max(...s);
  return s.length > 1
    ? `${fmtGflops(row.ceilingGflops!)} (${fmtGflops(lo)}–${fmtGflops(hi)})`
    : fmtGflops(row.ceilingGflops!);
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A markdown table: one line per workload, one column per backend, then ours/other ratios and the ceiling. */
export function renderTable(rows: readonly ResultRow[], opts: TableOptions = {}): string {
  const workloads: string[] = [];
  const seenBackends: string[] = [];
  const byKey = new Map<string, ResultRow>();
  for (const r of rows) {
    if (!workloads.includes(r.workload)) workloads.push(r.workload);
    if (!seenBackends.includes(r.backend)) seenBackends.push(r.backend);
    byKey.set(`${r.workload}\u0000${r.backend}`, r);
  }
  const backends = opts.backends ?? seenBackends;
  const ours = opts.ours && seenBackends.includes(opts.ours) ? opts.ours : undefined;
  const compareTo = ours ? (opts.compareTo ?? backends.filter((b) => b !== ours)) : [];
  const get = (w: string, b: string): ResultRow | undefined => byKey.get(`${w}\u0000${b}`);

  const withCeiling = opts.ceilingGflops !== undefined || rows.some((r) => r.ceilingGflops !== undefined);
  const header = [
    'workload',
    'GFLOP',
    ...backends.map((b) => renderHeader(b, opts.threads)),
    ...compareTo.map((b) => `${ours}/${b}`),
  ];
  if (withCeiling) header.push('ceiling GF/s');
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const w of workloads) {
    const flops = backends.map((b) => get(w, b)?.flops).find((f) => f !== undefined);
    const cells = [
      w,
      flops !== undefined ? (flops / 1e9).toFixed(3) : '—',
      ...backends.map((b) => renderCell(get(w, b))),
      ...compareTo.map((b) => renderRatio(get(w, ours!), get(w, b))),
    ];
    if (withCeiling)
      cells.push(
        renderCeiling(
          backends.map((b) => get(w, b)),
          opts.ceilingGflops,
        ),
      );
    lines.push(`| ${cells.map(escapeCell).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/** File-name-safe form of an adapter name: "llvmpipe (LLVM 15.0.6, 256 bits)" -> "llvmpipe-llvm-15-0-6-256-bits". */
export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!slug) throw new Error(`slugify: adapter name "${name}" has no letters or digits to build a file name from`);
  return slug;
}

/** Writes `text` to `file` through a temporary file and a rename, so readers never see half a file. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export const DEFAULT_RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/**
 * Writes bench/results/<adapter-slug>.json (rows + meta, machine-readable) and .md (the table) atomically.
 * Returns the two paths.
 */
export function writeResults(
  adapterName: string,
  rows: readonly ResultRow[],
  meta: Record<string, unknown> & { table?: TableOptions } = {},
  outDir: string = DEFAULT_RESULTS_DIR,
): { json: string; md: string } {
  mkdirSync(outDir, { recursive: true });
  const slug = slugify(adapterName);
  const json = join(outDir, `${slug}.json`);
  const md = join(outDir, `${slug}.md`);
  const { table, ...rest } = meta;
  const written = { adapter: adapterName, date: new Date().toISOString(), ...rest, rows };
  writeAtomic(json, JSON.stringify(written, null, 2) + '\n');
  const metaLines = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const doc = [
    `# Benchmark results: ${adapterName}`,
    '',
    `Written ${written.date}. Cells: median ms of the timed runs (min–max, n = how many; GFLOP/s of the median`,
    'from the FLOP model); first runs are never among them. The sides of one workload were timed in alternating',
    "rounds (see bench/README.md). Ratio columns: the other backend's median time divided by ours (>1 means ours",
    "is faster). Ceiling: the FMA kernel measured right before and right after each workload's timed rounds.",
    '',
    ...metaLines,
    '',
    renderTable(rows, table),
  ].join('\n');
  writeAtomic(md, doc);
  return { json, md };
}
