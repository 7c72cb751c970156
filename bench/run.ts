/**
 * `npm run bench`: our engine beside TensorFlow.js, in one process, on the same Dawn adapter.
 *
 *   npm run bench -- [--quick] [--only=substr] [--backends=webgpu,wasm,cpu] [--no-tfjs] [--no-write] [--conv=register|tiled]
 *                    [--deadline-s=N]   (no workload starts N s after the process started; training steps, largest matmul first)
 *   WGPU_ADAPTER=swiftshader npm run bench -- --quick        # the SwiftShader adapter instead of lavapipe
 *
 * Rows: matmul 256³…1024³ (2048³ without --quick, and 4096³ on GPUs), every conv layer of the lesson's DCGAN and VGG16 (forward,
 * grad-input, grad-weight), one full DCGAN training step (batch 256), one style-transfer iteration at 128 and
 * 256 px. Columns: ours, tfjs-webgpu, tfjs-wasm, tfjs-cpu (headers with their thread counts), ratios ours/tfjs,
 * and the FMA ceiling measured beside each workload.
 *
 * Per workload, every side that runs it is prepared, warmed up the same way (first run timed and reported apart,
 * then warm-up runs) and timed in alternating rounds ours, tfjs-webgpu, tfjs-wasm, tfjs-cpu, ours, … (suite.ts,
 * harness.ts interleave and samplingRules), so the machine's drift hits every side alike; a side too slow for
 * the rounds is skipped, never timed once. The FMA ceiling is measured in full at the start and the end, and
 * briefly right before and after each workload's rounds.
 * Output: a markdown table on stdout and bench/results/<adapter>.json + .md. --conv forces our conv kernels
 * (default: the engine's choice); the version used is in the results' meta, and with --conv the files are
 * bench/results/<adapter>-conv-<version>.json + .md, so both versions can be run one after the other.
 */
import { availableParallelism } from 'node:os';
import { initEngine } from '../src/tensor/index.ts';
import { getGPU } from '../src/tensor/gpu.ts';
import { convVersion } from '../src/tensor/conv.ts';
import { tuneLog } from '../src/tensor/autotune.ts';
import { configureKernelsFromEnv } from '../src/node/tune-store.ts';
import { matmulVersion } from '../src/tensor/matmul.ts';
import { createCeilingProbe, measureFmaCeiling } from './ceiling.ts';
import { applyConvFlag } from './conv-layers.ts';
import { priorityOrder, renderTable, samplingRules, writeResults, type ResultRow } from './harness.ts';
import { ourSide, ourWorkloads } from './ours.ts';
import { lavapipeThreads, procedureNote, runSuite, sideThreads, type BenchSide } from './suite.ts';
import { parseBenchArgs } from './tfjs-only.ts';
import { onSigterm } from './stop-signal.ts';
import { loadTfjs, tfjsSide, tfjsWorkloads, type TfjsContext } from './tfjs.ts';

const log = (msg: string): void => void process.stderr.write(msg + '\n');

async function main(): Promise<void> {
  const kernels = configureKernelsFromEnv();
  const eng = await initEngine();
  const { rest, conv } = applyConvFlag(process.argv.slice(2));
  const args = parseBenchArgs(rest, { allowNoTfjs: true });
  const adapter = eng.adapter;
  const adapterName = adapter.description || `${adapter.vendor} ${adapter.architecture}`;
  // Full measurement (calibration) at the start; then a short one before and after each workload's rounds.
  const probe = args.ceiling ? await createCeilingProbe(eng.device) : undefined;
  const ceiling = probe?.calibration;
  if (ceiling) log(`FMA ceiling on ${adapterName}: ${ceiling.gflops.toFixed(1)} GFLOP/s`);

  // 4096³ (the size issue 16's GPU target names) on GPUs only: on a CPU adapter one run takes tens of seconds.
  const matmulSizes = args.quick
    ? [256, 512, 1024]
    : adapter.isCPU
      ? [256, 512, 1024, 2048]
      : [256, 512, 1024, 2048, 4096];
  const ours = ourWorkloads({ matmulSizes, styleSizes: [128, 256] }).filter(
    (w) => !args.only || w.id.includes(args.only),
  );
  // Under a deadline the headline workloads run first (priorityOrder); the rows are put back in the usual order.
  const order = args.deadlineS ? priorityOrder(ours) : ours;
  const sides: BenchSide[] = [ourSide(ours)];
  let ctx: TfjsContext | undefined;
  if (!args.noTfjs) {
    ctx = await loadTfjs({ gpu: await getGPU(), backends: args.backends });
    for (const [name, why] of Object.entries(ctx.failed)) log(`tfjs-${name} did not initialise: ${why}`);
    if (ctx.wasm) log(`tfjs-wasm: ${ctx.wasm.threads} thread(s), ${ctx.wasm.binary}`);
    const tfjs = tfjsWorkloads({ matmulSizes, styleSizes: [128, 256] });
    sides.push(...args.backends.map((b) => tfjsSide(ctx!, b, tfjs)));
  }
  const tf = ctx?.tf;
  const started = performance.now();
  const backends = sides.map((s) => s.backend);
  const threads = sideThreads(backends, {
    lavapipe: adapter.isCPU ? lavapipeThreads() : undefined,
    wasm: ctx?.wasm?.threads,
  });
  const table = { backends, ours: 'ours', threads };
  const position = new Map(ours.map((w, i) => [w.id, i]));

  /** Prints the table and the tuner's choices and writes the results files; `stopped`: a SIGTERM cut the run short. */
  const finish = (measured: readonly ResultRow[], ceilingEnd: number | undefined, stopped: boolean): void => {
    // a run stopped early: the workloads it never reached (runSuite hands over whole workloads) are rows too, so
    // the table says what is missing
    const reached = new Set(measured.map((r) => r.workload));
    const missing: ResultRow[] = stopped
      ? ours
          .filter((w) => !reached.has(w.id))
          .flatMap((w) =>
            backends.map((b) => ({
              workload: w.id,
              backend: b,
              status: 'skipped' as const,
              flops: w.flops,
              note: 'not reached: stopped by SIGTERM',
            })),
          )
      : [];
    const rows = [...measured, ...missing].sort((a, b) => position.get(a.workload)! - position.get(b.workload)!);
    const wallS = (performance.now() - started) / 1000;
    const drift = ceilingEnd ? `; ${ceilingEnd.toFixed(1)} at the end` : '';
    process.stdout.write(
      `\n${adapterName} (FMA ceiling ${ceiling?.gflops.toFixed(1) ?? '—'} GFLOP/s at the start${drift})${stopped ? ' — stopped early (SIGTERM)' : ''}\n\n${renderTable(rows, table)}`,
    );
    if (tuneLog().length > 0) {
      console.log(
        `\nKernels chosen per shape by the tuner (${tuneLog().length} problems; median ms per candidate, * one run: cut before the rounds):`,
      );
      for (const { problem, entry } of tuneLog())
        console.log(
          `  ${problem}: ${entry.best}  (${Object.entries(entry.ms)
            .map(([v, ms]) => `${v} ${ms.toFixed(3)}${entry.cut?.includes(v) ? '*' : ''}`)
            .join(', ')})`,
        );
    }
    if (!args.write) return;
    const out = writeResults(conv ? `${adapter.slug} conv ${conv}` : adapter.slug, rows, {
      runner: 'bench/run.ts',
      quick: args.quick,
      ceilingGflops: ceiling?.gflops,
      ceilingGflopsAtEnd: ceilingEnd,
      adapter: adapterName,
      isCPUAdapter: adapter.isCPU,
      convVersion: convVersion(),
      matmulVersion: matmulVersion(),
      autotune: { ...kernels, tuned: tuneLog() },
      threads,
      wasm: ctx?.wasm,
      cpuCores: availableParallelism(),
      tfjsVersion: tf?.version.tfjs,
      procedure: procedureNote(backends),
      wallSeconds: Math.round(wallS),
      deadlineSeconds: args.deadlineS,
      ...(stopped ? { stoppedEarly: 'SIGTERM' } : {}),
      samplingRules: {
        matmul: samplingRules(args.quick, 'matmul'),
        layer: samplingRules(args.quick, 'layer'),
        train: samplingRules(args.quick, 'train'),
      },
      node: process.version,
      date: new Date().toISOString(),
      table,
    });
    log(`wrote ${out.json} and ${out.md}`);
  };

  // A timeout's SIGTERM (a device call's limit) writes the workloads measured so far instead of nothing.
  let soFar: readonly ResultRow[] = [];
  onSigterm(() => {
    log('SIGTERM: writing the workloads measured so far');
    finish(soFar, undefined, true);
  });
  const measured = await runSuite(order, sides, {
    quick: args.quick,
    // from the process's start (performance.now()'s origin in Node): set-up, calibration and tfjs's loading count too
    deadline: args.deadlineS ? 1000 * args.deadlineS : undefined,
    ceiling: probe ? async () => (await probe.measure()).gflops : undefined,
    // One tfjs scope per workload collects whatever a failed tfjs step leaves behind.
    beforeWorkload: tf ? () => tf.engine().startScope() : undefined,
    afterWorkload: tf ? () => tf.engine().endScope() : undefined,
    onRows: (rows) => void (soFar = rows),
    log,
  });
  log(`all workloads: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  probe?.destroy();
  // Measured again at the end: on a shared or throttling machine the two differ (the rows' own ceilings show when).
  const ceilingEnd = args.ceiling ? await measureFmaCeiling(eng.device) : undefined;
  if (ceilingEnd) log(`FMA ceiling at the end: ${ceilingEnd.gflops.toFixed(1)} GFLOP/s`);
  finish(measured, ceilingEnd?.gflops, false);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
