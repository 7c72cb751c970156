/**
 * Kernel choice by measurement, per (adapter, op, shape), kept in a table that can be saved and read again.
 *
 * The conv and matmul ops have several kernels with the same inputs and outputs (register tiles for CPU adapters,
 * workgroup-memory tiles for GPUs, several tile sizes, split-K or not; see conv.ts and matmul.ts). Which is
 * fastest depends on the adapter and on the problem's shape, so the ops ask `chooseKernel` each time:
 *
 * 1. A problem already in the table runs its measured winner.
 * 2. A new problem runs the op's default for now and is queued; the next time the program waits for the GPU
 *    (`engine().read`, `engine().sync`, e.g. a loss read back after the first training step) the tuner times every
 *    candidate on scratch inputs of that shape and records the winner (`tunePending`). From then on the winner
 *    runs. Ops stay synchronous, and a shape costs its tuning once.
 * 3. The table is loaded from and saved to a `TuneStore` (a JSON file in Node, `localStorage` in a browser),
 *    under a key made of the adapter's identity and a hash of the kernels' source, so a new driver or a changed
 *    kernel starts a fresh table.
 *
 * Tuning is on by default on GPUs and off on CPU adapters (lavapipe compiles each pipeline for seconds, and its
 * register kernels were measured fastest at every shape tried); `setTuneMode('on')` (env `WGPU_GAN_AUTOTUNE=on`)
 * turns it on there too. Anchor: burn/CubeCL's autotune, which also keys winners by a shape key and persists them.
 */
import { engine } from './engine.ts';
import { SHADERS } from '../shaders.gen.ts';

/** A tuning problem: one op at one shape, with scratch inputs to run each candidate kernel on. */
export interface TuneProblem {
  /** Records one run of the candidate (launches only; the tuner synchronises and times). */
  run(candidate: string): void;
  /** Frees the scratch inputs. */
  dispose(): void;
}

export interface TuneEntry {
  best: string;
  /** Median milliseconds per candidate (one run's for a candidate cut before the rounds: see pickFastest). */
  ms: Record<string, number>;
  /** The candidates cut before the rounds (their `ms` is one run's), when any were. */
  cut?: string[];
}

/** The stored document: one section per adapter (and kernel source), each a table of winners by problem. */
export interface TuneDocument {
  format: typeof TUNE_FORMAT;
  tables: Record<string, { adapter: string; updated: string; entries: Record<string, TuneEntry> }>;
}

export const TUNE_FORMAT = 'wgpu-gan-autotune/1';

/** Where the table lives between runs. `load` returns whatever was saved (checked by the tuner) or null. */
export interface TuneStore {
  load(): unknown;
  /** Writes the document; false when it could not (the store says why), else true or nothing. */
  save(doc: TuneDocument): boolean | void;
  /** For messages: where the table is kept. */
  readonly where: string;
}

/** 'auto': tune on GPUs, not on CPU adapters; 'on': tune everywhere; 'off': defaults only, no table lookups. */
export const TUNE_MODES = ['auto', 'on', 'off'] as const;
export type TuneMode = (typeof TUNE_MODES)[number];

export interface Fastest<V extends string> {
  best: V;
  /** Median milliseconds per version (one run's for a version cut before the rounds: see pickFastest). */
  ms: Record<V, number>;
}

/**
 * Times the versions in alternating rounds and returns the one with the lowest median; a tie keeps the earlier
 * version. `timeRuns(v, runs)` records `runs` runs of `v` back to back, times them as one span and returns
 * milliseconds per run (Infinity or NaN: it failed). First one untimed run of each (it compiles the pipelines; a
 * version that fails here is out, at Infinity); then one run of each sizes its samples: a version whose run took
 * under `minSampleMs` is timed `runs` at a time, enough to fill `minSampleMs` (a power of two, at most `maxRuns`; a
 * run that read as 0 gets `maxRuns`), so that a coarse clock (GPU timestamps rounded to 65.5 or 100 µs) cannot
 * decide between passes of a few microseconds; then `reps` rounds of one sample of each, so a machine whose speed
 * drifts slows all of them alike.
 *
 * A version whose sizing run, and a second run after it, took at least `minSampleMs` (long enough for the clock to be
 * believed) and over `prune` times the quickest version's time (its one run, or one whole sample of it when that run
 * was shorter than `minSampleMs`) is cut: it sits the rounds out, the quicker of its two runs standing as its time,
 * and the winner is chosen among the versions timed in the rounds. A candidate many times
 * slower than the best (the CPU adapters' register kernels where a GPU's workgroup tiles are far faster, say) then
 * costs its warm-up and one run instead of `reps` more samples.
 */
export async function pickFastest<V extends string>(
  versions: readonly V[],
  timeRuns: (v: V, runs: number) => Promise<number>,
  opts: { reps?: number; minSampleMs?: number; maxRuns?: number; prune?: number } = {},
): Promise<Fastest<V> & { runs: Record<V, number>; cut: V[] }> {
  const { reps = 3, minSampleMs = 0, maxRuns = 64, prune = 4 } = opts;
  if (versions.length === 0) throw new Error('pickFastest: no versions to compare');
  const ms = {} as Record<V, number>;
  const runs = {} as Record<V, number>;
  const failed = (t: number) => !Number.isFinite(t); // Infinity or NaN
  let live: V[] = [];
  for (const v of versions) {
    runs[v] = 1;
    if (failed(await timeRuns(v, 1))) ms[v] = Infinity;
    else live.push(v);
  }
  const once = {} as Record<V, number>;
  for (const v of live) {
    once[v] = await timeRuns(v, 1);
    runs[v] = runsFor(once[v], minSampleMs, maxRuns);
    if (failed(once[v])) ms[v] = Infinity;
  }
  live = live.filter((v) => !failed(once[v]));
  // the quickest version's time, over a whole sample when its one run was too short to believe
  const quickest = live.reduce<V | null>((q, v) => (q === null || once[v] < once[q] ? v : q), null);
  let reference = quickest === null ? Infinity : once[quickest];
  if (quickest !== null && prune < Infinity && reference < minSampleMs)
    reference = await timeRuns(quickest, runs[quickest]);
  // a version is cut only when a second run agrees with the first (one stalled run must not cut the winner)
  const cut: V[] = [];
  const over = (t: number) => t >= minSampleMs && t > prune * reference;
  for (const v of live) {
    if (!over(once[v])) continue;
    const again = await timeRuns(v, 1);
    const t = Math.min(once[v], failed(again) ? Infinity : again);
    if (!over(t)) continue;
    cut.push(v);
    ms[v] = t;
  }
  const timed = live.filter((v) => !cut.includes(v));
  const samples = new Map<V, number[]>(timed.map((v) => [v, []]));
  for (let r = 0; r < reps; r++) for (const v of timed) samples.get(v)!.push(await timeRuns(v, runs[v]));
  for (const v of timed) {
    const s = samples.get(v)!.sort((a, b) => a - b);
    ms[v] = s[Math.floor(s.length / 2)]!;
  }
  // the winner among the versions timed in the rounds (a cut one only when none of them has a time)
  const pool = timed.some((v) => Number.isFinite(ms[v])) ? versions.filter((v) => timed.includes(v)) : versions;
  let best = pool[0]!;
  for (const v of pool) if (ms[v] < ms[best]) best = v;
  return { best, ms, runs, cut };
}

/** How many runs one sample takes so that it lasts at least `minSampleMs`, given one run took `oneRunMs`. */
export function runsFor(oneRunMs: number, minSampleMs: number, maxRuns: number): number {
  if (!(oneRunMs < minSampleMs)) return 1; // NaN and Infinity (a failed run) included: nothing to gain
  if (!(oneRunMs > 0)) return maxRuns;
  return Math.min(maxRuns, 2 ** Math.ceil(Math.log2(minSampleMs / oneRunMs)));
}

/**
 * The shortest sample the tuner times (see pickFastest): a pass of a few microseconds is run enough times to fill
 * it, so neither a coarse GPU clock nor the jitter of a submission decides between kernels.
 */
export const TUNE_SAMPLE_MS = 2;

interface Pending {
  candidates: readonly string[];
  make: () => TuneProblem;
}

const state = {
  mode: 'auto' as TuneMode,
  reps: 3,
  store: null as TuneStore | null,
  /** The table key of the engine the entries belong to (they are dropped when another adapter shows up). */
  tableKey: null as string | null,
  entries: new Map<string, TuneEntry>(),
  /** Problems whose winner is known to be among their candidates: a launch of one asks nothing more. */
  resolved: new Map<string, string>(),
  pending: new Map<string, Pending>(),
  /** Problems whose tuning could not finish (every candidate failed, no room for scratch): not queued again. */
  untunable: new Set<string>(),
  tuning: false,
  /** While tunePending runs: problems finished, all it has to time so far, and the one being timed. */
  progress: null as TuneProgress | null,
  reporter: null as ((event: TuneEvent) => void) | null,
  /** Problems tuned since start-up, in order (for logs and benchmarks). */
  log: [] as { problem: string; entry: TuneEntry }[],
  /** Fingerprint of the kernels' source, set by the ops' modules (a changed kernel invalidates the table). */
  kernelsHash: '',
};

/** Sets the tuning mode (see TuneMode). Queued problems are dropped when it turns off. */
export function setTuneMode(mode: TuneMode): void {
  state.mode = mode;
  if (mode === 'off') state.pending.clear();
}

export function tuneMode(): TuneMode {
  return state.mode;
}

/** Samples per candidate (after one warm-up run each). */
export function setTuneReps(reps: number): void {
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`setTuneReps: reps must be an integer ≥ 1, got ${reps}`);
  state.reps = reps;
}

/** Where tuned tables are loaded from and saved to (null: this process only). Reloads on the next lookup. */
export function setTuneStore(store: TuneStore | null): void {
  state.store = store;
  state.tableKey = null;
  tableEngine = null;
}

/** Whether the tuner times new problems on this engine's adapter. */
export function tuningEnabled(): boolean {
  if (state.mode === 'off') return false;
  return state.mode === 'on' || !engine().adapter.isCPU;
}

/** The sources of the shaders whose names start with `prefix` ('matmul', 'conv'), in name order. */
export function familySources(prefix: string): string[] {
  return Object.keys(SHADERS)
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => SHADERS[name]!);
}

/** Registers the source text of kernels whose choice the tuner makes: a change starts a fresh table. */
export function registerTunedKernels(sources: readonly string[]): void {
  state.kernelsHash = fnv1a([state.kernelsHash, ...sources].join('\0'));
  state.tableKey = null;
  tableEngine = null;
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The key of this engine's table: the adapter's identity and the kernels' fingerprint. */
export function tableKey(): string {
  const a = engine().adapter;
  return `${a.vendor}|${a.architecture}|${a.device}|${a.description}|kernels ${state.kernelsHash}`;
}

/** The engine whose table is loaded (a launch checks only this reference, not the key's text). */
let tableEngine: object | null = null;

/** Makes sure the in-memory table belongs to the current engine, loading the stored one if there is a store. */
function syncTable(): void {
  if (tableEngine === engine() && state.tableKey !== null) return;
  const key = tableKey();
  tableEngine = engine();
  if (state.tableKey === key) return;
  state.tableKey = key;
  state.entries.clear();
  state.resolved.clear();
  state.pending.clear();
  const doc = readDocument();
  const table = doc?.tables[key];
  if (!table) return;
  for (const [problem, entry] of Object.entries(table.entries)) {
    if (isEntry(entry)) state.entries.set(problem, entry);
  }
}

function isEntry(v: unknown): v is TuneEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  if (typeof e.best !== 'string' || typeof e.ms !== 'object' || e.ms === null) return false;
  if (e.cut !== undefined && !(Array.isArray(e.cut) && e.cut.every((c) => typeof c === 'string'))) return false;
  return Object.values(e.ms).every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
}

/** The stored document if it is one of ours; a missing, unreadable or foreign one counts as empty. */
function readDocument(): TuneDocument | null {
  if (!state.store) return null;
  let raw: unknown;
  try {
    raw = state.store.load();
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const doc = raw as Partial<TuneDocument>;
  if (doc.format !== TUNE_FORMAT || typeof doc.tables !== 'object' || doc.tables === null) return null;
  return doc as TuneDocument;
}

/** Saves the table in the store; whether it was saved (no store, or one that could not write: false). */
function saveTable(): boolean {
  if (!state.store || !state.tableKey) return false;
  const doc: TuneDocument = readDocument() ?? { format: TUNE_FORMAT, tables: {} };
  doc.tables[state.tableKey] = {
    adapter: engine().adapter.description || engine().adapter.slug,
    updated: new Date().toISOString(),
    entries: Object.fromEntries([...state.entries].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  return state.store.save(doc) !== false;
}

/**
 * The kernel to run for `problem` (op and shape, e.g. "conv.gather|…"): its measured winner if the table has
 * one among `candidates()`, else `fallback` — and, with tuning enabled, the problem is queued to be timed at the
 * next wait for the GPU. `make` builds scratch inputs of the problem's shape when it is timed.
 */
export function chooseKernel(
  problem: string,
  candidates: () => readonly string[],
  fallback: string,
  make: () => TuneProblem,
): string {
  // `candidates` is called only when needed: with tuning off (tests, CPU adapters without a table) a launch pays
  // for no candidate list.
  if (state.mode === 'off') return fallback;
  syncTable();
  const known = state.resolved.get(problem);
  if (known !== undefined) return known;
  const entry = state.entries.get(problem);
  if (entry && candidates().includes(entry.best)) {
    state.resolved.set(problem, entry.best);
    return entry.best;
  }
  if (!tuningEnabled() || state.tuning || state.untunable.has(problem) || state.pending.has(problem)) return fallback;
  const list = candidates();
  if (list.length >= 2) {
    // The default is timed first, so that a tie (two kernels the clock cannot tell apart) keeps it.
    const ordered = list.includes(fallback) ? [fallback, ...list.filter((c) => c !== fallback)] : list;
    state.pending.set(problem, { candidates: ordered, make });
    engine().beforeWait = tunePending;
  }
  return fallback;
}

/** The measured winner of a problem, if the table has one (for tests and logs). */
export function tunedEntry(problem: string): TuneEntry | undefined {
  if (state.mode === 'off') return undefined;
  syncTable();
  return state.entries.get(problem);
}

/** Problems queued for timing. */
export function pendingProblems(): string[] {
  return [...state.pending.keys()];
}

/** What was tuned in this process so far, in order. */
export function tuneLog(): readonly { problem: string; entry: TuneEntry }[] {
  return state.log;
}

/** What a tuning tells its reporter: that it starts (with how many problems queued), and that it ended. */
export type TuneEvent =
  | { phase: 'start'; problems: number; store: string | null }
  | { phase: 'end'; tuned: number; seconds: number; where: string | null };

/**
 * Who is told when a tuning starts and ends (the CLI prints a line each; a first run on a GPU spends seconds in it).
 * null: nobody.
 */
export function setTuneReporter(reporter: ((event: TuneEvent) => void) | null): void {
  state.reporter = reporter;
}

/** Where the tuned table is kept (the store's description), or null when it is kept nowhere. */
export function tuneStoreWhere(): string | null {
  return state.store?.where ?? null;
}

/** How far a tuning has got: `done` problems of `total` (more may join while it runs), `problem` being timed. */
export interface TuneProgress {
  done: number;
  total: number;
  problem: string;
}

/**
 * While the tuner times candidates (inside a read-back, which then takes seconds on a first run): how far it has
 * got, for a status line; null otherwise.
 */
export function tuneProgress(): TuneProgress | null {
  return state.progress && { ...state.progress };
}

/** Forgets the in-memory table, the queue and the log (the store is left as it is). */
export function resetTuner(): void {
  state.entries.clear();
  state.resolved.clear();
  state.pending.clear();
  state.untunable.clear();
  state.log.length = 0;
  state.tableKey = null;
  tableEngine = null;
}

/**
 * Times every queued problem's candidates and records the winners (then saves the table if there is a store).
 * Called by the engine before it waits for the GPU; safe to call directly. GPU time comes from timestamp queries
 * where the adapter has them (and no profile is being recorded), else from the wall clock around a sync.
 */
export async function tunePending(): Promise<number> {
  if (state.tuning || state.pending.size === 0) return 0;
  state.tuning = true;
  const e = engine();
  e.beforeWait = null;
  let tuned = 0;
  let done = 0;
  const t0 = performance.now();
  try {
    await e.sync();
    state.reporter?.({ phase: 'start', problems: state.pending.size, store: tuneStoreWhere() });
    for (; state.pending.size > 0; done++) {
      const [problem, p] = state.pending.entries().next().value as [string, Pending];
      state.pending.delete(problem);
      state.progress = { done, total: done + 1 + state.pending.size, problem };
      let scratch: TuneProblem;
      try {
        scratch = p.make();
      } catch {
        state.untunable.add(problem); // no room for scratch inputs (a huge shape): keep the default
        continue;
      }
      try {
        // A candidate that fails (a pipeline this GPU rejects, a validation error) counts as infinitely slow, so
        // tuning never breaks the read-back it runs in; a problem whose candidates all failed keeps the default.
        const time = async (c: string, runs: number) => {
          try {
            const ms = await timeRuns(() => scratch.run(c), runs);
            await engine().sync(); // surfaces a validation error of this candidate here, not in the caller's read
            return ms;
          } catch {
            return Infinity;
          }
        };
        const r = await pickFastest(p.candidates, time, { reps: state.reps, minSampleMs: TUNE_SAMPLE_MS });
        const ms = Object.fromEntries(Object.entries(r.ms).filter(([, t]) => Number.isFinite(t)));
        if (!Number.isFinite(r.ms[r.best]!)) {
          state.untunable.add(problem);
          continue;
        }
        const cut = r.cut.filter((c) => c in ms);
        const entry: TuneEntry = { best: r.best, ms, ...(cut.length > 0 ? { cut } : {}) };
        state.entries.set(problem, entry);
        state.log.push({ problem, entry });
        tuned++;
      } finally {
        scratch.dispose();
      }
    }
  } finally {
    state.tuning = false;
    state.progress = null;
  }
  const saved = tuned > 0 && saveTable();
  const where = saved ? tuneStoreWhere() : null;
  state.reporter?.({ phase: 'end', tuned, seconds: (performance.now() - t0) / 1000, where });
  return tuned;
}

/**
 * Milliseconds per run of `runs` recorded runs, timed together: GPU time between two timestamps where the adapter
 * has timestamp queries (and no profile is being recorded), else the wall clock from a finished queue to the end
 * of the runs.
 */
async function timeRuns(record: () => void, runs: number): Promise<number> {
  const e = engine();
  const all = () => {
    for (let i = 0; i < runs; i++) record();
  };
  await e.sync();
  const gpuMs = await e.timeGpu(all);
  if (gpuMs !== null) return gpuMs / runs;
  const t0 = performance.now();
  all();
  await e.sync();
  return (performance.now() - t0) / runs;
}
