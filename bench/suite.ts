/**
 * The runner bench/run.ts and bench/tfjs-only.ts share: one workload at a time, every side that runs it (ours and
 * each tfjs backend) prepared, warmed up the same way and timed in alternating rounds A B C A B C … (harness.ts
 * `interleave`), with a short FMA ceiling measurement right before and right after the workload's timed rounds.
 * Ratios between sides of a row therefore come from samples taken seconds apart, not minutes.
 *
 * Node-only (reads /proc for lavapipe's thread count).
 */
import { readdirSync, readFileSync } from 'node:fs';
import {
  fmtGflops,
  fmtMs,
  gflops,
  inQuickSuite,
  interleave,
  mustBeTimed,
  ratioStats,
  renderCell,
  samplingRules,
  ThroughputModel,
  type Contender,
  type ConvPass,
  type MemoryInfo,
  type ResultRow,
  type RowStatus,
  type SamplingRules,
  type WorkloadKind,
} from './harness.ts';

/** A workload as the runner sees it; each side looks up its own implementation by `id`. */
export interface SuiteWorkload {
  id: string;
  flops: number;
  kind: WorkloadKind;
  pass?: ConvPass;
}

/** One side's workload, allocated: the step to time, and what the row reports about it. */
export interface PreparedSide {
  /** One step; resolves after the device has finished it. */
  step: () => Promise<void>;
  /** Frees the workload's tensors (called with the side active). */
  dispose: () => void;
  /** Right after the first run, with the side active (e.g. to read the memory the step holds). */
  afterFirstRun?: () => void;
  /** After the timed rounds, before dispose: the row's memory and note. */
  report?: () => { memory?: MemoryInfo; note?: string };
}

/** A column of the table: our engine, or one tfjs backend. */
export interface BenchSide {
  backend: string;
  /** Set when the side cannot run at all (a tfjs backend that did not initialise): every row says so. */
  unavailable?: string;
  /** Makes the side current before each of its calls, outside the timed window (tfjs: tf.setBackend). */
  activate?: () => void | Promise<void>;
  /** Undefined when the side runs `w`; otherwise the row's status and note (e.g. unsupported: no kernel). */
  check?: (w: SuiteWorkload) => { status: RowStatus; note: string } | undefined;
  /** Allocates `w` on this side (called with the side active). */
  prepare: (w: SuiteWorkload) => PreparedSide;
  /** How an error thrown by prepare or a step is reported (default "error"). */
  classify?: (e: unknown) => 'unsupported' | 'error';
}

export interface SuiteOptions {
  quick: boolean;
  /** A short FMA ceiling measurement in GFLOP/s (ceiling.ts createCeilingProbe), run before and after each workload's rounds. */
  ceiling?: () => Promise<number>;
  /** Around each workload, e.g. one tfjs engine scope for all tfjs sides, so a failed step's leftovers are freed. */
  beforeWorkload?: () => void;
  afterWorkload?: () => void;
  /** Sampling rules per kind of workload; default samplingRules(quick, kind). */
  rules?: (kind: WorkloadKind) => SamplingRules;
  /** The side the other rows' `vsOurs` compares with (default "ours"). */
  ours?: string;
  /** Called after each workload with every row so far (what a run stopped early can still write). */
  onRows?: (rows: readonly ResultRow[]) => void;
  /** performance.now() after which no workload starts: its rows are reported skipped ("past --deadline-s"). */
  deadline?: number;
  log?: (msg: string) => void;
}

function errorLine(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 200);
}

/** Runs every workload on every side, interleaved per workload; returns one row per (workload, side). */
export async function runSuite(
  workloads: readonly SuiteWorkload[],
  sides: readonly BenchSide[],
  opts: SuiteOptions,
): Promise<ResultRow[]> {
  const log = opts.log ?? (() => {});
  const rulesFor = opts.rules ?? ((kind: WorkloadKind) => samplingRules(opts.quick, kind));
  const oursName = opts.ours ?? 'ours';
  const model = new ThroughputModel();
  const out: ResultRow[] = [];

  for (const w of workloads) {
    const rows: ResultRow[] = sides.map((s) => ({ workload: w.id, backend: s.backend, status: 'ok', flops: w.flops }));
    const entries: { side: number; contender: Contender; prepared?: PreparedSide }[] = [];
    sides.forEach((side, i) => {
      const row = rows[i]!;
      const mark = (status: RowStatus, note: string): void => void Object.assign(row, { status, note });
      if (side.unavailable) return mark('skipped', side.unavailable);
      if (opts.quick && !inQuickSuite(side.backend, w.id)) return mark('skipped', 'not in --quick');
      if (opts.deadline !== undefined && performance.now() > opts.deadline) return mark('skipped', 'past --deadline-s');
      const checked = side.check?.(w);
      if (checked) return mark(checked.status, checked.note);
      const entry: (typeof entries)[number] = {
        side: i,
        contender: {
          name: side.backend,
          activate: side.activate,
          estimateMs: model.estimate(side.backend, w),
          neverSkip: mustBeTimed(side.backend, w.id),
          prepare: () => {
            entry.prepared = side.prepare(w);
            return entry.prepared.step;
          },
          afterFirstRun: () => entry.prepared?.afterFirstRun?.(),
        },
      };
      entries.push(entry);
    });

    if (entries.length > 0) {
      const ceilings: number[] = [];
      const probe = opts.ceiling
        ? async (): Promise<void> => {
            try {
              ceilings.push(await opts.ceiling!());
            } catch (e) {
              log(`${w.id}: ceiling measurement failed: ${errorLine(e)}`);
            }
          }
        : undefined;
      opts.beforeWorkload?.();
      try {
        const res = await interleave(
          entries.map((e) => e.contender),
          rulesFor(w.kind),
          {
            beforeSamples: probe,
            afterSamples: probe,
            onRun: (side, phase, ms) => {
              if (ms >= 3000)
                log(`  ${side} ${w.id}: ${phase === 'first' ? 'first run' : phase} ${(ms / 1000).toFixed(1)} s`);
            },
          },
        );
        const timed = res.sides.filter((s) => s.status === 'ok').map((s) => s.name);
        res.sides.forEach((s, k) => {
          const e = entries[k]!;
          const side = sides[e.side]!;
          const row = rows[e.side]!;
          if (s.status === 'ok') {
            row.timing = s.timing!;
            row.interleaved = {
              with: timed.filter((n) => n !== s.name),
              rounds: res.rounds,
              warmupRuns: s.warmupMs.length,
            };
            model.record(side.backend, w, s.timing!.median);
            try {
              const rep = e.prepared?.report?.();
              if (rep?.memory) row.memory = rep.memory;
              if (rep?.note) row.note = rep.note;
            } catch (err) {
              log(`${side.backend} ${w.id}: report failed: ${errorLine(err)}`);
            }
          } else if (s.status === 'skipped') {
            row.status = 'skipped';
            row.note = s.note;
          } else {
            row.status = side.classify?.(s.error) ?? 'error';
            row.note = s.note;
          }
          const first = s.firstRunMs !== undefined ? `first run ${fmtMs(s.firstRunMs)} ms` : 'not run';
          const extra =
            s.status === 'ok' ? `; ${first}, warm-up ${s.warmupMs.map(fmtMs).join(', ') || 'none'} ms` : ` (${first})`;
          log(
            `${side.backend} ${w.id}: ${renderCell(row)}${extra}${row.note && s.status === 'ok' ? `; ${row.note}` : ''}`,
          );
        });
      } finally {
        for (const e of entries) {
          try {
            await sides[e.side]!.activate?.();
            e.prepared?.dispose();
          } catch {
            // A failed step can leave tensors half-made; disposing what exists is best effort.
          }
        }
        opts.afterWorkload?.();
      }
      if (ceilings.length > 0) {
        const mean = ceilings.reduce((a, b) => a + b, 0) / ceilings.length;
        for (const row of rows) {
          row.ceilingGflops = mean;
          row.ceilingSamples = ceilings;
          if (row.status === 'ok' && row.timing && row.timing.median > 0 && row.flops)
            row.percentOfCeiling = (100 * gflops(row.flops, row.timing.median)) / mean;
        }
        log(
          `${w.id}: FMA ceiling ${ceilings.map(fmtGflops).join(' GFLOP/s before the rounds, ')}${ceilings.length > 1 ? ' after' : ''}`,
        );
      }
      const ours = rows.find((r) => r.backend === oursName);
      for (const row of rows) {
        if (row === ours) continue;
        const vs = ratioStats(ours, row);
        if (vs) row.vsOurs = vs;
      }
    }
    out.push(...rows);
    opts.onRows?.([...out]);
  }
  return out;
}

/**
 * How many worker threads lavapipe (llvmpipe) started in this process: its threads are named "llvmpipe-N" in
 * /proc/self/task/<tid>/comm, one per core unless LP_NUM_THREADS says otherwise. Undefined when there are none
 * (another adapter) or /proc cannot be read.
 */
export function lavapipeThreads(): number | undefined {
  try {
    const names = new Set<string>();
    for (const t of readdirSync('/proc/self/task')) {
      try {
        const name = readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
        // Distinct names: a second device on the same adapter would start its own llvmpipe-0…N-1.
        if (/^llvmpipe-\d+$/.test(name)) names.add(name);
      } catch {
        // the thread exited meanwhile
      }
    }
    return names.size > 0 ? names.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Threads each column computes with, for the table header: ours and tfjs-webgpu run on lavapipe's threads (when
 * the adapter is lavapipe), tfjs-wasm on XNNPACK's pool as the backend reports it, tfjs-cpu on the JS main thread.
 */
export function sideThreads(
  backends: readonly string[],
  info: { lavapipe?: number; wasm?: number },
): Record<string, number> {
  const threads: Record<string, number> = {};
  for (const b of backends) {
    const n =
      b === 'ours' || b === 'tfjs-webgpu'
        ? info.lavapipe
        : b === 'tfjs-wasm'
          ? info.wasm
          : b === 'tfjs-cpu'
            ? 1
            : undefined;
    if (n !== undefined) threads[b] = n;
  }
  return threads;
}

/** The procedure in words, for the results' meta. */
export function procedureNote(backends: readonly string[]): string {
  return (
    `per workload, ${backends.join(', ')} prepared side by side; each side's first run (timed, reported apart) ` +
    'then warm-up runs in rounds, then timed rounds alternating the sides in this order; tfjs backends switched ' +
    'with tf.setBackend before every run (untimed); FMA ceiling measured right before and right after the timed rounds'
  );
}
