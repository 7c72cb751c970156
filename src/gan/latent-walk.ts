/**
 * The latent walk: G's images along a spherical path between two points of a run's chain of seeded latent points,
 * exactly as the CLI's `sample --interpolate` draws its strips. The GAN page shows it; no Node imports.
 *
 * Point k (k ≥ 1) of the chain is the latent GanTrainer.interpolationLatents draws for seed k (from the run's seed
 * and `interp:k`); a walk of `frames` images takes t = i / (frames − 1), i = 0 … frames − 1, along slerp (the
 * trainer's, unchanged), so its first and last images are G at the two points themselves. The CLI's strip r
 * (r = 1 … --rows) walks point 2r − 1 → 2r: `walkPair(r − 1)` is that strip. G runs in eval mode (running BatchNorm
 * statistics), from the generator the trainer samples from (`GanTrainer.generate`: its weight average when it keeps
 * one, progan at its stage and α upsampled to full size, msggan's largest scale), as the CLI does.
 */
import { makeGrid, type RgbaImage } from '../io/image.ts';
import { describeRange, inRange, type NumberRange } from '../io/number-range.ts';
import type { Tensor } from '../tensor/index.ts';
import type { GanTrainer } from './trainer.ts';

/** Frames of a walk: the bounds and default of the CLI's `sample --steps` (images per interpolation strip). */
export const WALK_FRAMES: NumberRange & { default: number; help: string } = {
  type: 'integer',
  min: 2,
  max: 32,
  default: 10,
  help: 'images per walk, both end points included',
};

/** Two points of the chain, walked from `from` to `to`. */
export interface WalkSegment {
  from: number;
  to: number;
}

/** The w-th pair of fresh points (w ≥ 0): 2w + 1 → 2w + 2, the CLI's interpolation strip w + 1. */
export function walkPair(w: number): WalkSegment {
  if (!Number.isInteger(w) || w < 0) throw new Error(`latent walk: a pair's index must be an integer ≥ 0, got ${w}`);
  return { from: 2 * w + 1, to: 2 * w + 2 };
}

/** The next pair of fresh points after `s` (both beyond s.to), still one of the CLI's strips. */
export function pairAfter(s: WalkSegment): WalkSegment {
  return walkPair(Math.ceil(s.to / 2));
}

/** The walk continued along the chain: from where `s` ends to the next point (an animation's next leg). */
export function nextLeg(s: WalkSegment): WalkSegment {
  return { from: s.to, to: s.to + 1 };
}

/** The CLI's strip (1-based `sample --interpolate` row) a segment is, or null when the CLI draws no such strip. */
export function cliStrip(s: WalkSegment): number | null {
  return s.from % 2 === 1 && s.to === s.from + 1 ? (s.from + 1) / 2 : null;
}

function checkWalk(s: WalkSegment, frames: number): void {
  if (!inRange(WALK_FRAMES, frames))
    throw new Error(`latent walk: frames must be ${describeRange(WALK_FRAMES)}, got ${frames}`);
  for (const [name, k] of [
    ['from', s.from],
    ['to', s.to],
  ] as const)
    if (!Number.isInteger(k) || k < 1 || k > 2 ** 31)
      throw new Error(`latent walk: point ${name} must be an integer in [1, 2147483648], got ${k}`);
  if (s.from === s.to) throw new Error(`latent walk: from and to are the same point (${s.from})`);
}

/** The walk's latents, [frames, …latent shape]: GanTrainer.interpolationLatents on the segment's two points. */
export function walkLatents(trainer: GanTrainer, s: WalkSegment, frames: number): Promise<Tensor> {
  checkWalk(s, frames);
  return trainer.interpolationLatents(frames, s.from, s.to);
}

/** G's images along the walk, [frames, C, size, size] flat, in [-1, 1] (eval mode; see the module's comment). */
export async function walkImages(trainer: GanTrainer, s: WalkSegment, frames: number): Promise<Float32Array> {
  const z = await walkLatents(trainer, s, frames);
  const images = trainer.generate(z);
  z.dispose();
  const values = await images.toArray();
  images.dispose();
  return values;
}

/** A walk's images in one row, laid out as the CLI's interpolation strips are (2 px padding, [-1, 1] to 0…255). */
export function walkStrip(values: Float32Array, frames: number, channels: number, size: number): RgbaImage {
  return makeGrid(values, frames, channels, size, size, { nrow: frames, padding: 2, range: [-1, 1] });
}
