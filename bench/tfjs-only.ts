/**
 * Runs the TensorFlow.js workloads on every tfjs backend and prints one markdown table (no engine of ours
 * involved). Usage, from the repository root:
 *
 *   . scripts/gpu-env.sh && npx tsx bench/tfjs-only.ts [--quick] [--backends=webgpu,wasm,cpu] [--only=substr]
 *                                                       [--no-ceiling] [--no-write]
 *
 * --quick: fewer repeats, a 3 s measurement budget per workload, a step whose first run exceeds 10 s (1 s on
 * cpu/wasm, which compile nothing) is timed by that run alone ("1 run" in the table), and a layer whose
 * estimated run time (its FLOPs at the backend's measured rate for that kind of work) exceeds 30 s, or a
 * training step estimated above 90 s, is skipped ("skipped (slow)"); without --quick the limits are 120/300 s.
 * Results go to bench/results/<adapter slug>-tfjs.{json,md} (e.g. lavapipe-tfjs.md) unless --no-write.
 */
import { create, globals } from 'webgpu';
import { summarizeAdapter } from '../src/tensor/gpu.ts';
import { measureFmaCeiling } from './ceiling.ts';
import { gflops, inQuickSuite, renderTable, timeIt, writeResults, type ResultRow, type TimeOptions } from './harness.ts';
import { isUnsupportedError, loadTfjs, missingKernel, tfjsMemory, tfjsWorkloads, TFJS_BACKENDS, type TfjsBackendName } from './tfjs.ts';
import { isMainModule } from '../src/node/main-module.ts';

export interface BenchArgs {
  quick: boolean;
  backends: TfjsBackendName[];
  only?: string;
  ceiling: boolean;
  write: boolean;
  /** bench/run.ts only: skip tfjs entirely. */
  noTfjs: boolean;
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
    else if (a.startsWith('--backends=')) {
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
  ceilingGflops?: number;
  adapterName: string;
  adapterSlug: string;
  tfjsVersion: string;
}

/** Runs the tfjs workloads on each requested backend (webgpu on `gpu`'s adapter) and returns the rows. */
export async function benchTfjs(args: BenchArgs, gpu: GPU): Promise<TfjsBenchResult> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const adapterName = adapter ? adapter.info.description || `${adapter.info.vendor} ${adapter.info.device}` : 'no-gpu';
  // Short, stable name for result files ("lavapipe", "nvidia", ...), the same one the engine's benchmarks use.
  const adapterSlug = adapter ? summarizeAdapter(adapter.info).slug : 'no-gpu';

  let ceilingGflops: number | undefined;
  if (args.ceiling && adapter) {
    const device = await adapter.requestDevice();
    const c = await measureFmaCeiling(device);
    ceilingGflops = c.gflops;
    log(`FMA ceiling on ${adapterName}: ${c.gflops.toFixed(1)} GFLOP/s (${c.invocations} invocations x ${c.trips} trips, ${c.msPerDispatch.toFixed(0)} ms/dispatch)`);
    device.destroy();
  }

  const ctx = await loadTfjs({ gpu, backends: args.backends });
  for (const [name, why] of Object.entries(ctx.failed)) log(`tfjs-${name} did not initialise: ${why}`);
  const tf = ctx.tf;

  const timeOpts: TimeOptions = args.quick
    ? { warmup: 1, repeats: 3, minTimeMs: 0, budgetMs: 3000, singleRunAboveMs: 10_000 }
    : { warmup: 2, repeats: 5, minTimeMs: 1000, maxRepeats: 20, budgetMs: 30_000 };
  // Train steps are the headline numbers, so they get a higher limit than single layers.
  const slowLimitMs = { layer: args.quick ? 30_000 : 120_000, train: args.quick ? 90_000 : 300_000 };
  const workloads = tfjsWorkloads({ matmulSizes: args.quick ? [256, 512, 1024] : [256, 512, 1024, 2048] })
    .filter((w) => !args.only || w.id.includes(args.only));

  const rows: ResultRow[] = [];
  for (const name of args.backends) {
    const backend = `tfjs-${name}`;
    if (!ctx.available.includes(name)) {
      for (const w of workloads) rows.push({ workload: w.id, backend, status: 'skipped', note: 'backend unavailable' });
      continue;
    }
    await tf.setBackend(name);
    // Measured throughput so far, per class of work (matmul, each conv pass, all conv passes together): predicts
    // which steps would take too long. tfjs-cpu's filter gradient runs ~50x slower than its forward conv.
    const done = new Map<string, { flops: number; ms: number }>();
    const record = (key: string, flops: number, ms: number): void => {
      const d = done.get(key) ?? { flops: 0, ms: 0 };
      done.set(key, { flops: d.flops + flops, ms: d.ms + ms });
    };
    const estimate = (w: (typeof workloads)[number]): number => {
      const keys = w.kind === 'layer' ? [`layer/${w.pass}`, 'matmul'] : w.kind === 'train' ? ['layer', 'matmul'] : [];
      for (const k of keys) {
        const d = done.get(k);
        if (d && d.ms > 0) return w.flops / (d.flops / d.ms);
      }
      return 0;
    };
    const started = performance.now();
    for (const w of workloads) {
      const row: ResultRow = { workload: w.id, backend, status: 'ok', flops: w.flops };
      if (args.quick && !inQuickSuite(backend, w.id)) {
        rows.push({ ...row, status: 'skipped', note: 'not in --quick' });
        continue;
      }
      const missing = missingKernel(tf, w);
      if (missing) {
        rows.push({ ...row, status: 'unsupported', note: `no ${missing} kernel` });
        log(`${backend} ${w.id}: unsupported (no ${missing} kernel)`);
        continue;
      }
      const estimateMs = estimate(w);
      if (w.kind !== 'matmul' && estimateMs > slowLimitMs[w.kind]) {
        rows.push({ ...row, status: 'skipped', note: 'slow' });
        log(`${backend} ${w.id}: skipped (slow: estimated ${(estimateMs / 1000).toFixed(1)} s per run)`);
        continue;
      }
      let prepared: ReturnType<typeof w.prepare> | undefined;
      // An outer scope collects whatever a failed step leaves behind (tfjs leaks tape tensors on a throw).
      tf.engine().startScope();
      try {
        prepared = w.prepare(tf);
        // cpu and wasm compile nothing on the first run, so a slow first run is already a fair sample.
        const opts = args.quick && name !== 'webgpu' ? { ...timeOpts, singleRunAboveMs: 1000 } : timeOpts;
        row.timing = await timeIt(prepared.step, opts);
        row.memory = tfjsMemory(tf);
        record(w.kind === 'layer' ? `layer/${w.pass}` : w.kind, w.flops, row.timing.median);
        if (w.kind === 'layer') record('layer', w.flops, row.timing.median);
        log(`${backend} ${w.id}: ${row.timing.median.toFixed(2)} ms, ${gflops(w.flops, row.timing.median).toFixed(2)} GFLOP/s (first run ${row.timing.firstRunMs.toFixed(0)} ms, ${row.timing.samples.length} samples)`);
      } catch (e) {
        row.status = isUnsupportedError(e) ? 'unsupported' : 'error';
        row.note = (e as Error).message.split('\n')[0]!.slice(0, 200);
        log(`${backend} ${w.id}: ${row.status}: ${row.note}`);
      } finally {
        try {
          prepared?.dispose();
        } catch {
          // A failed step can leave tensors half-made; disposing what exists is best effort.
        }
        tf.engine().endScope();
      }
      rows.push(row);
    }
    log(`${backend}: done in ${((performance.now() - started) / 1000).toFixed(0)} s, ${tf.memory().numTensors} tensors still alive`);
  }

  return { rows, ceilingGflops, adapterName, adapterSlug, tfjsVersion: tf.version.tfjs };
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  Object.assign(globalThis, globals);
  const gpu = create([]); // referenced until exit: Dawn tears its instance down when this object is collected
  const { rows, ceilingGflops, adapterName, adapterSlug, tfjsVersion } = await benchTfjs(args, gpu);
  const table = { backends: args.backends.map((b) => `tfjs-${b}`), ceilingGflops };
  process.stdout.write(`\n${adapterName} (ceiling ${ceilingGflops?.toFixed(1) ?? '—'} GFLOP/s)\n\n` + renderTable(rows, table));
  if (args.write) {
    const meta = {
      runner: 'bench/tfjs-only.ts', quick: args.quick, ceilingGflops, tfjsVersion,
      webgpuAdapter: adapterName, node: process.version, table,
    };
    const out = writeResults(`${adapterSlug} tfjs`, rows, meta);
    log(`wrote ${out.json} and ${out.md}`);
  }
  void gpu;
}

if (isMainModule(import.meta.url)) main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
