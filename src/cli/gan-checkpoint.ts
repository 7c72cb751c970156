/**
 * What the GAN commands (train, sample, eval) share about a checkpoint and the batches drawn from it: reading its
 * model and options, loading it into a trainer, choosing its generator, and refusing a batch too large for the GPU.
 * A file that is not such a checkpoint, or that the loader refuses, is the user's input (InputError, exit 2).
 */
import { engine as currentEngine } from '../tensor/engine.ts';
import { checkpointSpec, type GanTrainer } from '../gan/trainer.ts';
import { batchFitProblem, type GanSpec } from '../gan/models.ts';
import { CheckpointError, nonFinite } from '../nn/checkpoint.ts';
import { InputError, UsageError } from './args.ts';

/** The most images a sample grid holds (train --grid, sample --n): a 16×16 grid, drawn in one GPU batch. */
export const MAX_GRID = 256;

/** A checkpoint's model and options; bytes that are not a checkpoint of this program are the user's input error. */
export function readCheckpointSpec(bytes: Uint8Array, path: string, flag: string): ReturnType<typeof checkpointSpec> {
  try {
    return checkpointSpec(bytes);
  } catch (e) {
    throw new InputError(`${flag} ${path}: not a checkpoint written by train: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Refuses, naming the option, a batch whose feature maps would not fit the adapter's largest storage-buffer binding
 * (WebGPU would fail the launch, possibly hours into a run when progan reaches its last stage).
 */
export function checkBatchesFit(spec: GanSpec, uses: readonly (readonly [what: string, n: number])[]): void {
  const problem = batchFitProblem(spec, uses, currentEngine().maxTensorBytes, '--width');
  if (problem) throw new UsageError(problem);
}

/** Loads a checkpoint into a trainer; one the loader refuses (bad metadata or dtype, NaN/Inf values) is the user's input. */
export function loadTrainerCheckpoint(trainer: GanTrainer, bytes: Uint8Array, path: string): void {
  try {
    trainer.loadCheckpoint(bytes, path);
  } catch (e) {
    throw e instanceof CheckpointError ? new InputError(e.message, { cause: e }) : e;
  }
}

/**
 * Refuses what a checkpoint's nets drew when any value is not finite: weights or BatchNorm statistics that are
 * finite but extreme (a running mean of −3e38) pass the loader's checks and then draw NaN, which a PNG would
 * show as noise and a score would rate. `what` names the values ("generator G's output").
 */
export function checkDrawnFinite(values: ArrayLike<number>, path: string, what: string): void {
  const bad = nonFinite(values);
  if (bad) throw drawnNonFinite(path, what, { ...bad, of: values.length });
}

/** Draws the fixed-z grid's first latents (up to 16) and refuses the checkpoint if they come out non-finite. */
export async function probeGenerator(trainer: GanTrainer, path: string, n: number): Promise<void> {
  const bad = await trainer.nonFiniteSamples(n);
  if (bad) throw drawnNonFinite(path, `generator ${trainer.sampledModule}'s output`, bad);
}

function drawnNonFinite(path: string, what: string, bad: { count: number; first: number; of: number }): InputError {
  return new InputError(
    `--checkpoint ${path}: ${what} holds ${bad.count} non-finite value${bad.count > 1 ? 's' : ''} (first: ${bad.first}) ` +
      `of ${bad.of}: the checkpoint's weights or BatchNorm statistics overflow; nothing was written`,
  );
}

/** `--generator ema|raw` of sample and eval: which generator of a checkpoint to draw from. */
export function chooseGenerator(trainer: GanTrainer, choice: string | undefined): void {
  if (choice === undefined) return;
  if (choice !== 'ema' && choice !== 'raw') throw new UsageError(`--generator: expected ema or raw, got "${choice}"`);
  if (choice === 'ema' && !trainer.Gema)
    throw new UsageError(
      '--generator ema: this checkpoint has no weight average (the run was trained without --g-ema)',
    );
  trainer.sampleFrom = choice;
}
