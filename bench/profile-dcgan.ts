/**
 * Per-kernel GPU time of DCGAN training steps (timestamp queries around every launch): where a step's time
 * goes, largest first. Usage: npx tsx bench/profile-dcgan.ts [--batch 256] [--steps 3] [--model dcgan]
 */
import { initEngine, engine } from '../src/tensor/index.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { ganSpec, type GanKind } from '../src/gan/models.ts';
import type { KernelTime } from '../src/tensor/engine.ts';
import { isMainModule } from '../src/node/main-module.ts';

export async function profileDcganStep(opts: { batch: number; steps: number; model: GanKind }): Promise<{ rows: KernelTime[]; stepMs: number }> {
  await initEngine();
  const spec = ganSpec(opts.model);
  const t = new GanTrainer(spec, { batchSize: opts.batch, seed: 1 });
  const real = new Float32Array(opts.batch * spec.channels * spec.size * spec.size).map((_, i) => Math.sin(i));
  await t.readStats(t.trainBatch(real)); // warm-up: pipelines compiled outside the profile
  engine().startProfiling();
  for (let i = 0; i < opts.steps; i++) await t.readStats(t.trainBatch(real));
  const rows = await engine().stopProfiling();
  t.dispose();
  const total = rows.reduce((n, r) => n + r.ms, 0);
  return { rows: rows.map((r) => ({ ...r, ms: r.ms / opts.steps, launches: r.launches / opts.steps })), stepMs: total / opts.steps };
}

if (isMainModule(import.meta.url)) {
  const arg = (name: string, d: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : d;
  };
  const batch = Number(arg('batch', '256'));
  const { rows, stepMs } = await profileDcganStep({ batch, steps: Number(arg('steps', '2')), model: arg('model', 'dcgan') as GanKind });
  console.log(`GPU time per training step (batch ${batch}): ${stepMs.toFixed(1)} ms on ${engine().adapter.slug}`);
  console.log('| kernel | ms / step | share | launches / step |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.kernel} | ${r.ms.toFixed(2)} | ${((100 * r.ms) / stepMs).toFixed(1)}% | ${r.launches} |`);
  process.exit(0);
}
