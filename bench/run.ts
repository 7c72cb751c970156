/**
 * `npm run bench`: our engine beside TensorFlow.js, in one process, on the same Dawn adapter.
 *
 *   npm run bench -- [--quick] [--only=substr] [--backends=webgpu,wasm,cpu] [--no-tfjs] [--no-write] [--conv=register|tiled]
 *   WGPU_ADAPTER=swiftshader npm run bench -- --quick        # the SwiftShader adapter instead of lavapipe
 *
 * Rows: matmul 256³…1024³ (2048³ without --quick), every conv layer of the lesson's DCGAN and VGG16 (forward,
 * grad-input, grad-weight), one full DCGAN training step (batch 256), one style-transfer iteration at 128 and
 * 256 px. Columns: ours, tfjs-webgpu, tfjs-wasm, tfjs-cpu, ratios ours/tfjs, and the adapter's FMA ceiling
 * measured in the same run. Warm-up runs (pipeline compilation) are reported apart from the timed runs.
 * Output: a markdown table on stdout and bench/results/<adapter>.json + .md. --conv forces our conv kernels
 * (default: the engine's choice); the version used is in the results' meta, and with --conv the files are
 * bench/results/<adapter>-conv-<version>.json + .md, so both versions can be run one after the other.
 */
import { initEngine, engine, memoryStats } from '../src/tensor/index.ts';
import { getGPU } from '../src/tensor/gpu.ts';
import { convVersion } from '../src/tensor/conv.ts';
import { matmulVersion } from '../src/tensor/matmul.ts';
import { measureFmaCeiling } from './ceiling.ts';
import { applyConvFlag } from './conv-layers.ts';
import { gflops, inQuickSuite, renderTable, timeIt, writeResults, type ResultRow, type TimeOptions } from './harness.ts';
import { ourWorkloads } from './ours.ts';
import { benchTfjs, parseBenchArgs, type BenchArgs } from './tfjs-only.ts';

const log = (msg: string): void => void process.stderr.write(msg + '\n');

async function runOurs(args: BenchArgs, timeOpts: TimeOptions): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const workloads = ourWorkloads({ matmulSizes: args.quick ? [256, 512, 1024] : [256, 512, 1024, 2048], styleSizes: [128, 256] })
    .filter((w) => !args.only || w.id.includes(args.only));
  for (const w of workloads) {
    const row: ResultRow = { workload: w.id, backend: 'ours', status: 'ok', flops: w.flops };
    if (args.quick && !inQuickSuite('ours', w.id)) {
      rows.push({ ...row, status: 'skipped', note: 'not in --quick' });
      continue;
    }
    let prepared: ReturnType<typeof w.prepare> | undefined;
    try {
      prepared = w.prepare();
      const before = engine().stats();
      row.timing = await timeIt(prepared.step, timeOpts);
      const m = memoryStats();
      row.memory = { numBytes: m.inUseBytes, numBytesInGPU: m.inUseBytes, numBytesInGPUAllocated: m.inUseBytes + m.pooledBytes };
      const after = engine().stats();
      const runs = row.timing.samples.length + 1;
      row.note = `${Math.round((after.dispatches - before.dispatches) / runs)} launches, ${Math.max(1, Math.round((after.submits - before.submits) / runs))} submits per step`;
      log(`ours ${w.id}: ${row.timing.median.toFixed(2)} ms, ${gflops(w.flops, row.timing.median).toFixed(2)} GFLOP/s (first run ${row.timing.firstRunMs.toFixed(0)} ms; ${row.note})`);
    } catch (e) {
      row.status = 'error';
      row.note = (e as Error).message.split('\n')[0]!.slice(0, 200);
      log(`ours ${w.id}: error: ${row.note}`);
    } finally {
      prepared?.dispose();
    }
    rows.push(row);
  }
  return rows;
}

async function main(): Promise<void> {
  const eng = await initEngine();
  const { rest, conv } = applyConvFlag(process.argv.slice(2));
  const args = parseBenchArgs(rest, { allowNoTfjs: true });
  const adapter = eng.adapter;
  const adapterName = adapter.description || `${adapter.vendor} ${adapter.architecture}`;
  const ceiling = args.ceiling ? await measureFmaCeiling(eng.device) : undefined;
  if (ceiling) log(`FMA ceiling on ${adapterName}: ${ceiling.gflops.toFixed(1)} GFLOP/s`);

  const timeOpts: TimeOptions = args.quick
    ? { warmup: 1, repeats: 3, minTimeMs: 0, budgetMs: 4000, singleRunAboveMs: 15_000 }
    : { warmup: 2, repeats: 5, minTimeMs: 1000, maxRepeats: 20, budgetMs: 30_000 };
  const rows = await runOurs(args, timeOpts);
  if (!args.noTfjs) rows.push(...(await benchTfjs({ ...args, ceiling: false, write: false }, await getGPU())).rows);
  // Measured again at the end: on a shared or throttling machine the two differ, and ratios between rows
  // measured minutes apart (ours first, then each tfjs backend) carry that drift.
  const ceilingEnd = args.ceiling ? await measureFmaCeiling(eng.device) : undefined;
  if (ceilingEnd) log(`FMA ceiling at the end: ${ceilingEnd.gflops.toFixed(1)} GFLOP/s`);

  const backends = ['ours', ...(args.noTfjs ? [] : args.backends.map((b) => `tfjs-${b}`))];
  const table = { backends, ours: 'ours', ceilingGflops: ceiling?.gflops };
  const drift = ceilingEnd ? `; ${ceilingEnd.gflops.toFixed(1)} at the end` : '';
  process.stdout.write(`\n${adapterName} (FMA ceiling ${ceiling?.gflops.toFixed(1) ?? '—'} GFLOP/s${drift})\n\n${renderTable(rows, table)}`);
  if (args.write) {
    const out = writeResults(conv ? `${adapter.slug} conv ${conv}` : adapter.slug, rows, {
      runner: 'bench/run.ts', quick: args.quick, ceilingGflops: ceiling?.gflops, ceilingGflopsAtEnd: ceilingEnd?.gflops,
      adapter: adapterName, isCPUAdapter: adapter.isCPU,
      convVersion: convVersion(), matmulVersion: matmulVersion(),
      node: process.version, date: new Date().toISOString(), table,
    });
    log(`wrote ${out.json} and ${out.md}`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
