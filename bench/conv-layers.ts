/**
 * Per-layer conv benchmark of our kernels: forward, grad-input and grad-weight of every lesson layer
 * (DCGAN generator and discriminator at batch 256, or 64 with --quick; VGG16 block1_conv1 … block4_conv2 at 128 px,
 * batch 1). Each pass is timed alone, between `engine().sync()` calls, so the time is the GPU work of that pass.
 *
 *   npx tsx bench/conv-layers.ts [--quick] [--only NAME-SUBSTRING] [--conv=register|tiled]
 *
 * --conv forces our conv kernels (default: the engine's choice, see convVersion()); the version used is printed.
 */
import { availableParallelism } from 'node:os';
import { engine, initEngine, Tensor } from '../src/tensor/index.ts';
import {
  conv2d,
  convTranspose2d,
  conv2dInputGrad,
  conv2dWeightGrad,
  convTranspose2dInputGrad,
  convTranspose2dWeightGrad,
  conv2dOutputSize,
  convTranspose2dOutputSize,
  convVersion,
  setConvVersion,
  CONV_VERSIONS,
  type ConvVersion,
} from '../src/tensor/conv.ts';
import { convPassFlops, timeIt, type ConvPass, type ConvLayerShape } from './harness.ts';
import { generatorLayers, discriminatorLayers, vggLayers } from './shapes.ts';
import { isMainModule } from '../src/node/main-module.ts';

/**
 * Applies `--conv=VERSION` (register, tiled, …: which conv kernels our engine runs, see convVersion()) if `argv` has it;
 * returns the other arguments and the version forced, if any. Shared with bench/run.ts.
 */
export function applyConvFlag(argv: readonly string[]): { rest: string[]; conv?: ConvVersion } {
  const flag = argv.find((a) => a.startsWith('--conv='));
  const rest = argv.filter((a) => a !== flag);
  if (!flag) return { rest };
  const conv = flag.slice('--conv='.length);
  if (!(CONV_VERSIONS as readonly string[]).includes(conv))
    throw new Error(`--conv: unknown conv kernel version "${conv}" (known: ${CONV_VERSIONS.join(', ')})`);
  setConvVersion(conv as ConvVersion);
  return { rest, conv: conv as ConvVersion };
}

export interface ConvBenchRow {
  layer: string;
  pass: ConvPass;
  /** Median wall-clock time of the pass. */
  ms: number;
  gflops: number;
  /**
   * Least CPU time the process used for the pass, divided by the number of cores: lavapipe runs the kernels on
   * CPU threads inside this process, so this is the wall time the pass would take on an otherwise idle machine
   * (the shared benchmark machine is often busy with other work, which inflates wall time but not CPU time).
   */
  cpuMs: number;
  cpuGflops: number;
}

/** The layers benchmarked: DCGAN G and D at batch 256 (64 when quick), VGG16 conv1_1 … conv4_2 at 128 px. */
export function convBenchLayers(quick: boolean): ConvLayerShape[] {
  const batch = quick ? 64 : 256;
  return [...generatorLayers(batch), ...discriminatorLayers(batch), ...vggLayers(128, 1)];
}

/** Runs one pass of one layer on prepared tensors; returns the result (for the caller to dispose). */
export function passRunner(l: ConvLayerShape, pass: ConvPass): { run: () => Tensor; free: () => void } {
  const opts = {
    stride: l.stride,
    padding: l.padding,
    ...(l.kind === 'convT' ? { outputPadding: l.outputPadding ?? 0 } : {}),
  };
  const kernel: [number, number] = [l.kernelH, l.kernelW];
  const xShape: [number, number, number, number] = [l.batch, l.inChannels, l.inH, l.inW];
  const [Ho, Wo] =
    l.kind === 'conv'
      ? conv2dOutputSize([l.inH, l.inW], kernel, opts)
      : convTranspose2dOutputSize([l.inH, l.inW], kernel, opts);
  const yShape = [l.batch, l.outChannels, Ho, Wo];
  const wShape =
    l.kind === 'conv' ? [l.outChannels, l.inChannels, ...kernel] : [l.inChannels, l.outChannels, ...kernel];
  const x = Tensor.randn(xShape, { seed: 1 });
  const w = Tensor.randn(wShape, { seed: 2, std: 0.05 });
  const b = l.bias ? Tensor.randn([l.outChannels], { seed: 3 }) : null;
  const dy = Tensor.randn(yShape, { seed: 4 });
  const free = () => [x, w, b, dy].forEach((t) => t?.dispose());
  const conv = l.kind === 'conv';
  const run = (): Tensor => {
    switch (pass) {
      case 'forward':
        return conv ? conv2d(x, w, b, opts) : convTranspose2d(x, w, b, opts);
      case 'gradInput':
        return conv ? conv2dInputGrad(xShape, w, dy, opts) : convTranspose2dInputGrad(xShape, w, dy, opts);
      case 'gradWeight': {
        const dw = conv ? conv2dWeightGrad(x, kernel, dy, opts) : convTranspose2dWeightGrad(x, kernel, dy, opts);
        if (!b) return dw;
        const db = dy.sum([0, 2, 3]); // the bias gradient is part of the grad-weight pass (as counted in the FLOPs)
        db.dispose();
        return dw;
      }
    }
  };
  return { run, free };
}

export async function benchConvLayers(quick: boolean, only?: string): Promise<ConvBenchRow[]> {
  await initEngine();
  const cores = availableParallelism();
  const rows: ConvBenchRow[] = [];
  for (const l of convBenchLayers(quick)) {
    if (only && !l.name.includes(only)) continue;
    for (const pass of ['forward', 'gradInput', 'gradWeight'] as ConvPass[]) {
      const { run, free } = passRunner(l, pass);
      await engine().sync();
      let cpuMs = Infinity;
      const timing = await timeIt(
        async () => {
          const c0 = process.cpuUsage();
          run().dispose();
          await engine().sync();
          const c = process.cpuUsage(c0);
          cpuMs = Math.min(cpuMs, (c.user + c.system) / 1000 / cores);
        },
        { warmup: 1, repeats: quick ? 2 : 5, budgetMs: quick ? 1500 : 5000 },
      );
      free();
      const flops = convPassFlops(l, pass);
      rows.push({
        layer: l.name,
        pass,
        ms: timing.median,
        gflops: flops / (timing.median * 1e6),
        cpuMs,
        cpuGflops: flops / (cpuMs * 1e6),
      });
    }
  }
  return rows;
}

/** A plain-text table of the rows plus the aggregate (total FLOPs / total time). */
export function formatConvRows(rows: ConvBenchRow[]): string {
  const lines = ['layer                       pass         wall ms  GFLOP/s   cpu ms/core  GFLOP/s'];
  let totalMs = 0;
  let totalCpu = 0;
  let totalFlops = 0;
  const num = (v: number, w: number) => v.toFixed(2).padStart(w);
  for (const r of rows) {
    lines.push(
      `${r.layer.padEnd(28)}${r.pass.padEnd(11)}${num(r.ms, 9)}${num(r.gflops, 9)}${num(r.cpuMs, 14)}${num(r.cpuGflops, 9)}`,
    );
    totalMs += r.ms;
    totalCpu += r.cpuMs;
    totalFlops += r.gflops * r.ms * 1e6;
  }
  lines.push(
    `${'aggregate'.padEnd(39)}${num(totalMs, 9)}${num(totalFlops / (totalMs * 1e6), 9)}${num(totalCpu, 14)}${num(totalFlops / (totalCpu * 1e6), 9)}`,
  );
  return lines.join('\n');
}

if (isMainModule(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const onlyAt = process.argv.indexOf('--only');
  applyConvFlag(process.argv);
  const rows = await benchConvLayers(quick, onlyAt > 0 ? process.argv[onlyAt + 1] : undefined);
  console.log(`conv kernels: ${convVersion()}`);
  console.log(formatConvRows(rows));
  process.exit(0);
}
