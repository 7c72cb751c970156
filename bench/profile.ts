/**
 * What bench/profile-dcgan.ts and bench/profile-style.ts share: run a step under the engine's per-launch GPU
 * timestamps and print where its time goes, largest kernel first.
 */
import { engine } from '../src/tensor/index.ts';
import type { KernelTime } from '../src/tensor/engine.ts';

export interface StepProfile {
  /** Per kernel (shader, entry and template expression), averaged over the profiled steps. */
  rows: KernelTime[];
  /** Sum of all kernels' GPU time for one step. */
  stepMs: number;
}

/** Runs `step` once untimed (pipelines compile outside the profile), then `steps` times under the profiler. */
export async function profileSteps(step: () => Promise<void>, steps: number): Promise<StepProfile> {
  await step();
  engine().startProfiling();
  for (let i = 0; i < steps; i++) await step();
  const rows = await engine().stopProfiling();
  const total = rows.reduce((n, r) => n + r.ms, 0);
  return { rows: rows.map((r) => ({ ...r, ms: r.ms / steps, launches: r.launches / steps })), stepMs: total / steps };
}

/** The profile as a markdown table; `unit` names one step ("step", "iteration"). */
export function profileTable(p: StepProfile, unit: string): string {
  const lines = [`| kernel | ms / ${unit} | share | launches / ${unit} |`, '|---|---|---|---|'];
  for (const r of p.rows)
    lines.push(`| ${r.kernel} | ${r.ms.toFixed(2)} | ${((100 * r.ms) / p.stepMs).toFixed(1)}% | ${r.launches} |`);
  return lines.join('\n');
}

/** `--name value` from the command line, or the default. */
export function cliArg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}
