/**
 * What bench/profile-dcgan.ts and bench/profile-style.ts share: run a step under the engine's per-launch GPU
 * timestamps and print where its time goes, largest kernel first, with the launches and the host time per step.
 */
import { performance } from 'node:perf_hooks';
import { engine } from '../src/tensor/index.ts';
import { convWork } from '../src/tensor/conv.ts';
import type { KernelTime } from '../src/tensor/engine.ts';

export interface StepProfile {
  /** Per kernel (shader, entry and template expression), averaged over the profiled steps. */
  rows: KernelTime[];
  /** Sum of all kernels' GPU time for one step. */
  stepMs: number;
  /** Kernel launches (dispatches) per step, and command submissions per step. */
  launches: number;
  submits: number;
  /** Share of launches whose bind group the engine reused from its cache. */
  bindGroupReuse: number;
  /**
   * Host milliseconds per step: the synchronous part of the step (the forward and backward passes, the optimizer
   * updates: recording launches, writing uniforms, submitting), up to its first wait for the GPU. Unprofiled steps.
   */
  hostMs: number;
  /** Wall-clock milliseconds per unprofiled step. */
  wallMs: number;
  /** FLOPs of the conv passes per step (src/tensor/conv.ts convWork: the benchmarks' count, bias terms aside). */
  convFlops: number;
}

/**
 * Runs `step` once untimed (pipelines compile, new shapes are tuned), then `steps` times plainly (launches, host
 * and wall time) and `steps` times under the profiler (GPU time per kernel).
 */
export async function profileSteps(step: () => Promise<void>, steps: number): Promise<StepProfile> {
  await step();
  const e = engine();
  await e.sync();
  const before = e.stats();
  convWork.flops = 0;
  let hostMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    // An async function runs synchronously up to its first await: here, the read-back of the step's losses.
    const h0 = performance.now();
    const done = step();
    hostMs += performance.now() - h0;
    await done;
  }
  await e.sync();
  const wallMs = (performance.now() - t0) / steps;
  const after = e.stats();
  const convFlops = convWork.flops / steps;
  e.startProfiling();
  for (let i = 0; i < steps; i++) await step();
  const rows = await e.stopProfiling();
  const total = rows.reduce((n, r) => n + r.ms, 0);
  return {
    rows: rows.map((r) => ({ ...r, ms: r.ms / steps, launches: r.launches / steps })),
    stepMs: total / steps,
    launches: (after.dispatches - before.dispatches) / steps,
    submits: (after.submits - before.submits) / steps,
    bindGroupReuse: (after.bindGroupHits - before.bindGroupHits) / Math.max(1, after.dispatches - before.dispatches),
    hostMs: hostMs / steps,
    wallMs,
    convFlops,
  };
}

/** The profile as a markdown table; `unit` names one step ("step", "iteration"). */
export function profileTable(p: StepProfile, unit: string): string {
  const lines = [
    `${p.launches} launches (${(100 * p.bindGroupReuse).toFixed(0)}% with a cached bind group) and ${p.submits} ` +
      `submits per ${unit}; host (JavaScript) ${p.hostMs.toFixed(1)} ms, ` +
      `wall ${p.wallMs.toFixed(1)} ms, GPU ${p.stepMs.toFixed(1)} ms per ${unit}`,
    `conv passes: ${(p.convFlops / 1e9).toFixed(3)} GFLOP per ${unit}` +
      (convMs(p) > 0 ? `, ${(p.convFlops / (convMs(p) * 1e6)).toFixed(1)} GFLOP/s over their kernels' GPU time` : ''),
    '',
    `| kernel | ms / ${unit} | share | launches / ${unit} |`,
    '|---|---|---|---|',
  ];
  for (const r of p.rows)
    lines.push(`| ${r.kernel} | ${r.ms.toFixed(2)} | ${((100 * r.ms) / p.stepMs).toFixed(1)}% | ${r.launches} |`);
  return lines.join('\n');
}

/** `--name value` from the command line, or the default. */
export function cliArg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}

/** GPU milliseconds of the conv kernels (gathers, weight gradients, weight packing, the one-channel path). */
function convMs(p: StepProfile): number {
  return p.rows.filter((r) => /^conv/.test(r.kernel)).reduce((n, r) => n + r.ms, 0);
}
