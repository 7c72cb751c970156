/**
 * Per-kernel GPU time of style-transfer iterations (the benchmark's train/style-<size> workload: VGG16 to
 * block4_conv2, content + Gram style + TV losses, an Adam step on the image), timed with timestamp queries around
 * every launch: where an iteration's time goes, largest first.
 * Usage: npx tsx bench/profile-style.ts [--size 128] [--steps 2]
 */
import { initEngine, engine } from '../src/tensor/index.ts';
import { isMainModule } from '../src/node/main-module.ts';
import { configureKernelsFromEnv } from '../src/node/tune-store.ts';
import { ourWorkloads } from './ours.ts';
import { cliArg, profileSteps, profileTable, type StepProfile } from './profile.ts';

export async function profileStyleStep(opts: { size: number; steps: number }): Promise<StepProfile> {
  await initEngine();
  const workload = ourWorkloads({ matmulSizes: [], styleSizes: [opts.size] }).find(
    (w) => w.id === `train/style-${opts.size}`,
  );
  if (!workload) throw new Error(`profile-style: no style workload at ${opts.size} px`);
  const run = workload.prepare();
  try {
    return await profileSteps(run.step, opts.steps);
  } finally {
    run.dispose();
  }
}

/** The command: prints the profile of `--size`, `--steps` (see the header). */
export async function main(): Promise<void> {
  configureKernelsFromEnv();
  const size = Number(cliArg('size', '128'));
  const p = await profileStyleStep({ size, steps: Number(cliArg('steps', '2')) });
  console.log(`GPU time per style iteration (${size} px): ${p.stepMs.toFixed(1)} ms on ${engine().adapter.slug}`);
  console.log(profileTable(p, 'iteration'));
}

if (isMainModule(import.meta.url)) {
  await main();
  process.exit(0);
}
