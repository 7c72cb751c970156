/**
 * Per-kernel GPU time of DCGAN training steps (timestamp queries around every launch): where a step's time
 * goes, largest first, and the launches, submits and host milliseconds per step.
 * Usage: npx tsx bench/profile-dcgan.ts [--batch 256] [--steps 3] [--model dcgan] [--size N] [--width N] [--dispatch-flops 4e10]
 * A growing model (progan, msggan; --size 8…128) is first trained through its growth (one batch per phase, on the
 * same synthetic batch) so that the profile is of its last stage at α = 1, at full size.
 */
import { initEngine, engine } from '../src/tensor/index.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { convTiles } from '../src/tensor/conv.ts';
import { ganSpec, isGrowing, type GanKind } from '../src/gan/models.ts';
import { isMainModule } from '../src/node/main-module.ts';
import { configureKernelsFromEnv } from '../src/node/tune-store.ts';
import { cliArg, profileSteps, profileTable, type StepProfile } from './profile.ts';

export async function profileDcganStep(opts: {
  batch: number;
  steps: number;
  model: GanKind;
  size?: number;
  width?: number;
}): Promise<StepProfile> {
  await initEngine();
  const spec = ganSpec(opts.model, { size: opts.size, width: opts.width });
  const growing = isGrowing(opts.model);
  const t = new GanTrainer(spec, { batchSize: opts.batch, seed: 1, ...(growing ? { growImages: opts.batch } : {}) });
  const real = new Float32Array(opts.batch * spec.channels * spec.size * spec.size).map((_, i) => Math.sin(i));
  try {
    // one batch per phase of growing: 2 phases a stage after the first, then the last stage at α = 1
    if (growing) for (let i = 0; i < 2 * Math.log2(spec.size / 4) + 1; i++) await t.readStats(t.trainBatch(real));
    return await profileSteps(async () => void (await t.readStats(t.trainBatch(real))), opts.steps);
  } finally {
    t.dispose();
  }
}

/** The command: prints the profile of `--batch`, `--steps`, `--model` (see the header). */
export async function main(): Promise<void> {
  configureKernelsFromEnv();
  // --dispatch-flops N: the CPU adapter's limit on FLOPs per conv dispatch (convTiles.lavapipeFlopsPerDispatch and
  // flopsPerDispatch), e.g. 4e10
  // to count the launches a GPU makes (where one dispatch takes up to 4e10) on lavapipe, at a small batch.
  const dispatchFlops = cliArg('dispatch-flops', '');
  if (dispatchFlops) convTiles.lavapipeFlopsPerDispatch = convTiles.flopsPerDispatch = Number(dispatchFlops);
  const batch = Number(cliArg('batch', '256'));
  const p = await profileDcganStep({
    batch,
    steps: Number(cliArg('steps', '2')),
    model: cliArg('model', 'dcgan') as GanKind,
    size: cliArg('size', '') ? Number(cliArg('size', '')) : undefined,
    width: cliArg('width', '') ? Number(cliArg('width', '')) : undefined,
  });
  console.log(`GPU time per training step (batch ${batch}): ${p.stepMs.toFixed(1)} ms on ${engine().adapter.slug}`);
  console.log(profileTable(p, 'step'));
}

if (isMainModule(import.meta.url)) {
  await main();
  process.exit(0);
}
