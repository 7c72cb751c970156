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
  /**
   * When the first run takes longer than this, stop there and report it as the only sample (flagged
   * `firstRunReused`). For quick runs of multi-second steps, where compilation is a small part of the time.
   */
  singleRunAboveMs?: number;
}

export interface SampleStats {
  median: number;
  min: number;
  max: number;
  /** Every timed run in milliseconds, in the order they ran. */
  samples: number[];
}

export interface Timing extends SampleStats {
  /** The first run: shader compilation, pipeline creation, allocator warm-up. Kept out of the samples... */
  firstRunMs: number;
  /** ...except when this is true: the step was so slow that the first run is the only sample. */
  firstRunReused?: boolean;
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
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`timeIt: repeats must be an integer >= 1, got ${repeats}`);

  const budget = opts.budgetMs ?? Infinity;
  let t0 = performance.now();
  await fn();
  const firstRunMs = performance.now() - t0;
  if (opts.singleRunAboveMs !== undefined && firstRunMs > opts.singleRunAboveMs) {
    return { ...summarize([firstRunMs]), firstRunMs, firstRunReused: true };
  }
  let spent = firstRunMs;
  let latest = firstRunMs;
  for (let i = 0; i < warmup && spent + latest < budget; i++) {
    t0 = performance.now();
    await fn();
    latest = performance.now() - t0;
    spent += latest;
  }
  const timedRuns = Number.isFinite(budget)
    ? Math.min(repeats, Math.max(1, Math.floor((budget - spent) / latest)))
    : repeats;

  const samples: number[] = [];
  let total = 0;
  while (samples.length < timedRuns || (total < minTimeMs && samples.length < maxRepeats && spent + total < budget)) {
    t0 = performance.now();
    await fn();
    const ms = performance.now() - t0;
    samples.push(ms);
    total += ms;
  }
  return { ...summarize(samples), firstRunMs };
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
    case 'forward': return convForwardFlops(l);
    case 'gradInput': return convGradInputFlops(l);
    case 'gradWeight': return convGradWeightFlops(l);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Results and the markdown table
// ---------------------------------------------------------------------------------------------------------------

/**
 * What `--quick` runs, so that `npm run bench -- --quick` stays under 5 minutes on a 2-core CPU adapter:
 * our engine runs everything but the 256 px style step; tfjs-webgpu and tfjs-wasm run the matmuls, the DCGAN
 * layers and the DCGAN and 128 px style steps; tfjs-cpu (0.3–0.5 GFLOP/s) runs the matmuls only. The rest
 * shows as "skipped (not in --quick)"; a run without --quick measures all of it.
 */
export function inQuickSuite(backend: string, workload: string): boolean {
  if (workload === 'train/style-256') return false;
  if (backend === 'ours') return true;
  if (backend === 'tfjs-cpu') return workload.startsWith('matmul/');
  return !workload.startsWith('layer/VGG');
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
}

export interface TableOptions {
  /** Backend columns in display order; defaults to the order backends first appear in the rows. */
  backends?: string[];
  /** The backend that ratio columns put on top ("ours"); no ratio columns when absent from the rows. */
  ours?: string;
  /** Backends to compare `ours` with; defaults to every other backend. */
  compareTo?: string[];
  /** FMA-bound GFLOP/s of the adapter, shown as a column when given. */
  ceilingGflops?: number;
}

function fmtMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

function fmtGflops(g: number): string {
  return g >= 10 ? g.toFixed(1) : g.toFixed(2);
}

/**
 * What a backend's cell says: "12.3 ms (4.56 GF/s)", "unsupported", "skipped (slow)", "error", or "—".
 * ", 1 run" marks a time that is a single first run (compilation included).
 */
export function renderCell(row: ResultRow | undefined): string {
  if (!row) return '—';
  switch (row.status) {
    case 'unsupported': return 'unsupported';
    case 'skipped': return row.note ? `skipped (${row.note})` : 'skipped';
    case 'error': return 'error';
    case 'ok': {
      if (!row.timing) return '—';
      const ms = row.timing.median;
      const once = row.timing.firstRunReused ? ', 1 run' : '';
      return row.flops ? `${fmtMs(ms)} ms (${fmtGflops(gflops(row.flops, ms))} GF/s${once})` : `${fmtMs(ms)} ms${once ? ' (1 run)' : ''}`;
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

  const header = ['workload', 'GFLOP', ...backends, ...compareTo.map((b) => `${ours}/${b}`)];
  if (opts.ceilingGflops !== undefined) header.push('ceiling GF/s');
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const w of workloads) {
    const flops = backends.map((b) => get(w, b)?.flops).find((f) => f !== undefined);
    const cells = [
      w,
      flops !== undefined ? (flops / 1e9).toFixed(3) : '—',
      ...backends.map((b) => renderCell(get(w, b))),
      ...compareTo.map((b) => renderRatio(get(w, ours!), get(w, b))),
    ];
    if (opts.ceilingGflops !== undefined) cells.push(fmtGflops(opts.ceilingGflops));
    lines.push(`| ${cells.map(escapeCell).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/** File-name-safe form of an adapter name: "llvmpipe (LLVM 15.0.6, 256 bits)" -> "llvmpipe-llvm-15-0-6-256-bits". */
export function slugify(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
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
  const metaLines = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k, v]) => `- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const doc = [
    `# Benchmark results: ${adapterName}`,
    '',
    `Written ${written.date}. Cells: median ms over the timed runs (GFLOP/s from the FLOP model).`,
    'Ratio columns: the other backend\'s median time divided by ours (>1 means ours is faster).',
    '',
    ...metaLines,
    '',
    renderTable(rows, table),
  ].join('\n');
  writeAtomic(md, doc);
  return { json, md };
}
