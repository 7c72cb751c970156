/**
 * Per-kernel GPU time of style-transfer iterations (the benchmark's train/style-<size> workload: VGG16 to
 * block4_conv2, content + Gram style + TV losses, an Adam step on the image), timed with timestamp queries around
 * every launch: where an iteration's time goes, largest first.
 * Usage: npx tsx bench/profile-style.ts [--size 128] [--steps 2]
 */
import { initEngine, engine } from '../src/tensor/index.ts';
import type { KernelTime } from '../src/tensor/engine.ts';
import { isMainModule } from '../src/node/main-module.ts';
import { ourWorkloads } from './ours.ts';

export async function profileStyleStep(opts: { size: number; steps: number }): Promise<{ rows: KernelTime[]; stepMs: number }> {
  await initEngine();
  const workload = ourWorkloads({ matmulSizes: [], styleSizes: [opts.size] }).find((w) => w.id === `train/style-${opts.size}`);
  if (!workload) throw new Error(`profile-style: no style workload at ${opts.size} px`);
  const run = workload.prepare();
  try {
    await run.step(); // warm-up: pipelines compiled outside the profile
    engine().startProfiling();
    for (let i = 0; i < opts.steps; i++) await run.step();
    const rows = await engine().stopProfiling();
    const total = rows.reduce((n, r) => n + r.ms, 0);
    return { rows: rows.map((r) => ({ ...r, ms: r.ms / opts.steps, launches: r.launches / opts.steps })), stepMs: total / opts.steps };
  } finally {
    run.dispose();
  }
}

if (isMainModule(import.meta.url)) {
  const arg = (name: string, d: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : d;
  };
  const size = Number(arg('size', '128'));
  const { rows, stepMs } = await profileStyleStep({ size, steps: Number(arg('steps', '2')) });
  console.log(`GPU time per style iteration (${size} px): ${stepMs.toFixed(1)} ms on ${engine().adapter.slug}`);
  console.log('| kernel | ms / iteration | share | launches / iteration |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.kernel} | ${r.ms.toFixed(2)} | ${((100 * r.ms) / stepMs).toFixed(1)}% | ${r.launches} |`);
  process.exit(0);
}
