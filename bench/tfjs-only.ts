/**
 * Runs the TensorFlow.js workloads on every tfjs backend and prints one markdown table (no engine of ours
 * involved). Usage, from the repository root:
 *
 *   . scripts/gpu-env.sh && npx tsx bench/tfjs-only.ts [--quick] [--backends=webgpu,wasm,cpu] [--only=substr]
 *                                                       [--no-ceiling] [--no-write]
 *
 * The same sampling as bench/run.ts (suite.ts): per workload, the backends are prepared side by side, each warmed
 * up (first run reported apart, then warm-up runs) and timed in alternating rounds, tf.setBackend switching them
 * before every run; a short FMA ceiling measurement before and after each workload's rounds. --quick: 1 warm-up
 * run, at least 3 rounds; a backend slower than 10 s a run (60 s for a training step), or estimated so from its
 * earlier rows, is skipped ("skipped (slow: …)"), never timed once. See samplingRules in harness.ts.
 * Results go to bench/results/<adapter slug>-tfjs.{json,md} (e.g. lavapipe-tfjs.md) unless --no-write.
 */
import { availableParallelism } from 'node:os';
import { create, globals } from 'webgpu';
import { summarizeAdapter } from '../src/tensor/gpu.ts';
import { createCeilingProbe, measureFmaCeiling } from './ceiling.ts';
import { renderTable, samplingRules, writeResults, type ResultRow } from './harness.ts';
import { lavapipeThreads, procedureNote, runSuite, sideThreads } from './suite.ts';
import { loadTfjs, tfjsSide, tfjsWorkloads, TFJS_BACKENDS, type TfjsBackendName, type WasmInfo } from './tfjs.ts';
import { isMainModule } from '../src/node/main-module.ts';

export interface BenchArgs {
  quick: boolean;
  backends: TfjsBackendName[];
  only?: string;
  ceiling: boolean;
  write: boolean;
  /** bench/run.ts only: skip tfjs entirely. */
  noTfjs: boolean;
  /**
   * bench/run.ts only: seconds from the process's start after which no workload starts (the rest are reported
   * skipped), headline workloads first (priorityOrder); for a device call whose time is counted, so that the results
   * are written in time.
   */
  deadlineS?: number;
}

/** Flags shared by this runner and bench/run.ts. */
export function parseBenchArgs(argv: string[], opts: { allowNoTfjs?: boolean } = {}): BenchArgs {
  const args: BenchArgs = { quick: false, backends: [...TFJS_BACKENDS], ceiling: true, write: true, noTfjs: false };
  for (const a of argv) {
    if (a === '--quick') args.quick = true;
    else if (a === '--no-tfjs' && opts.allowNoTfjs) args.noTfjs = true;
    else if (a === '--no-ceiling') args.ceiling = false;
    else if (a === '--no-write') args.write = false;
    else if (a.startsWith('--only=')) args.only = a.slice('--only='.length);
    else if (a.startsWith('--deadline-s=') && opts.allowNoTfjs) {
      const s = Number(a.slice('--deadline-s='.length));
      if (!(s > 0)) throw new Error(`--deadline-s: expected a positive number of seconds, got "${a.slice(13)}"`);
      args.deadlineS = s;
    } else if (a.startsWith('--backends=')) {
      const names = a.slice('--backends='.length).split(',').filter(Boolean);
      for (const n of names) {
        if (!(TFJS_BACKENDS as readonly string[]).includes(n)) {
          throw new Error(`--backends: unknown backend "${n}" (known: ${TFJS_BACKENDS.join(', ')})`);
        }
      }
      args.backends = names as TfjsBackendName[];
    } else throw new Error(`unknown argument "${a}" (see the comment at the top of bench/tfjs-only.ts)`);
  }
  return args;
}

const log = (msg: string): void => void process.stderr.write(msg + '\n');

export interface TfjsBenchResult {
  rows: ResultRow[];
  /** FMA ceiling at the start and at the end of the run (each row has its own, measured beside its workload). */
  ceilingGflops?: number;
  ceilingGflopsAtEnd?: number;
  adapterName: string;
  adapterSlug: string;
  tfjsVersion: string;
  /** What tfjs-wasm ran with, when it initialised. */
  wasm?: WasmInfo;
  /** Threads per column, for the table header. */
  threads: Record<string, number>;
}

/** Runs the tfjs workloads on the requested backends (webgpu on `gpu`'s adapter), interleaved per workload. */
export async function benchTfjs(args: BenchArgs, gpu: GPU): Promise<TfjsBenchResult> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const adapterName = adapter ? adapter.info.description || `${adapter.info.vendor} ${adapter.info.device}` : 'no-gpu';
  // Short, stable name for result files ("lavapipe", "nvidia", ...), the same one the engine's benchmarks use.
  const adapterSlug = adapter ? summarizeAdapter(adapter.info).slug : 'no-gpu';

  // The ceiling runs on a device of its own, kept for the whole run: measured once in full, then briefly beside
  // every workload.
  const device = args.ceiling && adapter ? await adapter.requestDevice() : undefined;
  const probe = device ? await createCeilingProbe(device) : undefined;
  if (probe) {
    const c = probe.calibration;
    log(
      `FMA ceiling on ${adapterName}: ${c.gflops.toFixed(1)} GFLOP/s (${c.invocations} invocations x ${c.trips} trips, ${c.msPerDispatch.toFixed(0)} ms/dispatch)`,
    );
  }

  const ctx = await loadTfjs({ gpu, backends: args.backends });
  for (const [name, why] of Object.entries(ctx.failed)) log(`tfjs-${name} did not initialise: ${why}`);
  if (ctx.wasm) log(`tfjs-wasm: ${ctx.wasm.threads} thread(s), ${ctx.wasm.binary}`);
  const tf = ctx.tf;

  const workloads = tfjsWorkloads({ matmulSizes: args.quick ? [256, 512, 1024] : [256, 512, 1024, 2048] }).filter(
    (w) => !args.only || w.id.includes(args.only),
  );
  const started = performance.now();
  const rows = await runSuite(
    workloads,
    args.backends.map((n) => tfjsSide(ctx, n, workloads)),
    {
      quick: args.quick,
      ceiling: probe ? async () => (await probe.measure()).gflops : undefined,
      // One scope per workload collects whatever a failed step leaves behind (tfjs leaks tape tensors on a throw).
      beforeWorkload: () => tf.engine().startScope(),
      afterWorkload: () => tf.engine().endScope(),
      log,
    },
  );
  log(
    `tfjs: done in ${((performance.now() - started) / 1000).toFixed(0)} s, ${tf.memory().numTensors} tensors still alive`,
  );
  probe?.destroy();
  const end = device ? await measureFmaCeiling(device) : undefined;
  if (end) log(`FMA ceiling at the end: ${end.gflops.toFixed(1)} GFLOP/s`);
  device?.destroy();

  const threads = sideThreads(
    args.backends.map((b) => `tfjs-${b}`),
    { lavapipe: lavapipeThreads(), wasm: ctx.wasm?.threads },
  );
  return {
    rows,
    ceilingGflops: probe?.calibration.gflops,
    ceilingGflopsAtEnd: end?.gflops,
    adapterName,
    adapterSlug,
    tfjsVersion: tf.version.tfjs,
    wasm: ctx.wasm,
    threads,
  };
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  Object.assign(globalThis, globals);
  const gpu = create([]); // referenced until exit: Dawn tears its instance down when this object is collected
  const r = await benchTfjs(args, gpu);
  const backends = args.backends.map((b) => `tfjs-${b}`);
  const table = { backends, threads: r.threads };
  const drift = r.ceilingGflopsAtEnd !== undefined ? `; ${r.ceilingGflopsAtEnd.toFixed(1)} at the end` : '';
  process.stdout.write(
    `\n${r.adapterName} (FMA ceiling ${r.ceilingGflops?.toFixed(1) ?? '—'} GFLOP/s at the start${drift})\n\n` +
      renderTable(r.rows, table),
  );
  if (args.write) {
    const meta = {
      runner: 'bench/tfjs-only.ts',
      quick: args.quick,
      ceilingGflops: r.ceilingGflops,
      ceilingGflopsAtEnd: r.ceilingGflopsAtEnd,
      tfjsVersion: r.tfjsVersion,
      webgpuAdapter: r.adapterName,
      node: process.version,
      threads: r.threads,
      wasm: r.wasm,
      cpuCores: availableParallelism(),
      procedure: procedureNote(backends),
      samplingRules: {
        matmul: samplingRules(args.quick, 'matmul'),
        layer: samplingRules(args.quick, 'layer'),
        train: samplingRules(args.quick, 'train'),
      },
      table,
    };
    const out = writeResults(`${r.adapterSlug} tfjs`, r.rows, meta);
    log(`wrote ${out.json} and ${out.md}`);
  }
  void gpu;
}

if (isMainModule(import.meta.url))
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
