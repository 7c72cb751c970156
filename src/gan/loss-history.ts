/**
 * The loss points a GAN checkpoint carries in its metadata (`meta.lossHistory`), so a run's loss chart survives a
 * save and a load — in the browser app and in `train --resume` alike, whichever of the two wrote the checkpoint.
 *
 * The format is one column per quantity, the latest MAX_SAVED_POINTS points at most (about 2 MB of JSON):
 *   { step: [0, 1, 2, …], lossD: [1.38, null, …], lossG: […], dReal: […], dFake: […] }
 * `step` is the trainer's step of the point (0 for the first step), strictly increasing and before the checkpoint's
 * step. A null is a half of a step that did not run (a skipped D step, a D-only step's G loss): it reads back as
 * NaN, the value the trainer reports for it. A checkpoint without the field has no history (an older `train`).
 */
import { CheckpointError, isCount, shortJson } from '../nn/checkpoint.ts';
import type { StepStats } from './trainer.ts';

/** Most loss points a checkpoint carries (the latest ones). */
export const MAX_SAVED_POINTS = 50_000;

const COLUMNS = ['lossD', 'lossG', 'dReal', 'dFake'] as const;

export interface LossHistoryColumns {
  step: number[];
  lossD: (number | null)[];
  lossG: (number | null)[];
  dReal: (number | null)[];
  dFake: (number | null)[];
}

/** The latest MAX_SAVED_POINTS points as the columns of `meta.lossHistory`; NaN and ±Inf become null. */
export function encodeLossHistory(points: readonly StepStats[]): LossHistoryColumns {
  const kept = points.slice(-MAX_SAVED_POINTS);
  const col = (k: (typeof COLUMNS)[number]) => kept.map((s) => (Number.isFinite(s[k]) ? s[k] : null));
  return {
    step: kept.map((s) => s.step),
    lossD: col('lossD'),
    lossG: col('lossG'),
    dReal: col('dReal'),
    dFake: col('dFake'),
  };
}

/**
 * The points of a checkpoint's `meta.lossHistory` (`value`), checked: [] when the checkpoint has none. Anything else
 * that is not the format above — columns missing or of different lengths, more than MAX_SAVED_POINTS points,
 * a value that is neither a finite number nor null, steps that are not increasing counts before the checkpoint's
 * `step` — is refused with a CheckpointError naming the file and the field.
 */
export function decodeLossHistory(value: unknown, step: number, file?: string): StepStats[] {
  if (value === undefined) return [];
  const where = `${file ? `checkpoint ${file}:` : 'checkpoint:'} meta.lossHistory`;
  const bad = (why: string): never => {
    throw new CheckpointError(`${where}${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    bad(` must be an object of columns (step, ${COLUMNS.join(', ')}), got ${describe(value)}`);
  const v = value as Record<string, unknown>;
  const steps = v.step;
  if (!Array.isArray(steps)) return bad(`.step must be an array of steps, got ${describe(steps)}`);
  if (steps.length > MAX_SAVED_POINTS)
    bad(` holds ${steps.length} points; a checkpoint carries at most ${MAX_SAVED_POINTS}`);
  const columns = COLUMNS.map((k) => {
    const c = v[k];
    if (!Array.isArray(c)) return bad(`.${k} must be an array, got ${describe(c)}`);
    if (c.length !== steps.length)
      bad(`.${k} has ${c.length} value${c.length === 1 ? '' : 's'}, but .step has ${steps.length}`);
    return c.map((x: unknown, i) => {
      if (x === null) return NaN;
      if (typeof x !== 'number' || !Number.isFinite(x))
        bad(`.${k}[${i}] must be a finite number or null, got ${describe(x)}`);
      return x as number;
    });
  });
  const [lossD, lossG, dReal, dFake] = columns as [number[], number[], number[], number[]];
  const out: StepStats[] = [];
  for (let i = 0; i < steps.length; i++) {
    const s: unknown = steps[i];
    if (!isCount(s)) bad(`.step[${i}] must be a step count (a non-negative integer), got ${describe(s)}`);
    const n = s as number;
    if (i > 0 && n <= out[i - 1]!.step)
      bad(`.step[${i}] is ${n}, not after the previous point's step ${out[i - 1]!.step}`);
    if (n >= step) bad(`.step[${i}] is ${n}, not before the checkpoint's step ${step}`);
    out.push({
      step: n,
      lossD: lossD[i]!,
      lossG: lossG[i]!,
      dReal: dReal[i]!,
      dFake: dFake[i]!,
      dSkipped: Number.isNaN(lossD[i]),
      gStepped: !Number.isNaN(lossG[i]),
    });
  }
  return out;
}

/**
 * The history a resumed run continues: the checkpoint's points before the first point of `later` (the run's own
 * log from there on, which has every step the checkpoint may have dropped), then `later`.
 */
export function joinLossHistory(saved: readonly StepStats[], later: readonly StepStats[]): StepStats[] {
  const from = later.length ? later[0]!.step : Infinity;
  return [...saved.filter((p) => p.step < from), ...later];
}

/** A hostile value for a message: a number as itself (JSON would write Infinity as null), an array by its length. */
function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return shortJson(v);
}
