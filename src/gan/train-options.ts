/**
 * The numeric training options, declared once: their command-line flag, kind, bounds and help. The CLI's option
 * table (src/cli/train.ts), the trainer's own check (checkTrainOptions in ./trainer.ts) and the browser's GAN page
 * (web/src/gan-page.ts) all read them from here, so a bound cannot differ between them. No Node imports: the page
 * uses this module.
 */

import { MAX_F32, MAX_SEED, describeRange, inRange, type NumberRange } from '../io/number-range.ts';

export { MAX_F32, MAX_SEED, describeRange, inRange, type NumberRange };

/** A numeric training option: the TrainOptions field, its flag (and the web page's field id) and its range. */
export interface TrainNumberOption extends NumberRange {
  flag: string;
  help: string;
  /** the value's placeholder in the CLI help */
  arg?: string;
}

/** The numeric fields of TrainOptions that a user sets, by field name. */
export const TRAIN_NUMBER_OPTIONS = {
  batchSize: {
    flag: 'batch',
    type: 'integer',
    min: 2,
    max: 512,
    help: 'batch size',
    limit: "BatchNorm needs 2; a 64 px batch's largest activation must fit one GPU buffer",
  },
  lrG: {
    flag: 'lr-g',
    type: 'float',
    min: 0,
    minExclusive: true,
    max: MAX_F32,
    limit: 'a float32 on the GPU',
    help: 'generator learning rate (may be changed when resuming a run)',
  },
  lrD: {
    flag: 'lr-d',
    type: 'float',
    min: 0,
    minExclusive: true,
    max: MAX_F32,
    limit: 'a float32 on the GPU',
    help: 'discriminator learning rate (may be changed when resuming a run)',
  },
  beta1: { flag: 'beta1', type: 'float', min: 0, max: 1, maxExclusive: true, help: 'Adam β1' },
  beta2: { flag: 'beta2', type: 'float', min: 0, max: 1, maxExclusive: true, help: 'Adam β2' },
  dStepsPerG: { flag: 'd-steps', arg: 'K', type: 'integer', min: 1, max: 100, help: 'D steps per G step' },
  dSkipBelow: {
    flag: 'd-skip-below',
    type: 'float',
    min: 0,
    max: 100,
    help: "skip the D step while D's loss is below X (0 = never)",
  },
  realLabel: {
    flag: 'real-label',
    type: 'float',
    min: 0,
    minExclusive: true,
    max: 1,
    help: 'one-sided label smoothing: target for real images, e.g. 0.9 (--loss bce or lsgan)',
  },
  gEma: {
    flag: 'g-ema',
    arg: 'D',
    type: 'float',
    min: 0,
    max: 1,
    maxExclusive: true,
    help: "keep an exponential moving average of G's weights (decay D per G step, e.g. 0.999) and draw grids, samples and scores from it; saved as G_ema (0 = off; may be switched on when resuming a run that had none: the average starts from the loaded G)",
  },
  seed: { flag: 'seed', type: 'integer', min: 0, max: MAX_SEED, help: 'seed of init, data order and latents' },
  growImages: {
    flag: 'grow-images',
    arg: 'N',
    type: 'integer',
    min: 1,
    max: 1e9,
    help: 'progan: images per phase of growing — stage 0 trains on N, each later stage fades in over N and trains at full strength on N more',
  },
} as const satisfies Record<string, TrainNumberOption>;

export type TrainNumberField = keyof typeof TRAIN_NUMBER_OPTIONS;

/**
 * The message for a value outside its option's range (null when it is inside), naming the option as the caller
 * calls it (`--batch`, or a page's field label).
 */
export function trainOptionProblem(field: TrainNumberField, value: number, label?: string): string | null {
  const o: TrainNumberOption = TRAIN_NUMBER_OPTIONS[field];
  if (inRange(o, value)) return null;
  return `${label ?? `--${o.flag}`}: expected ${describeRange(o)}${o.limit ? ` (${o.limit})` : ''}, got ${value}`;
}

/**
 * The numeric model options a user sets (fields of the model description, meta.model, not of TrainOptions): the
 * CLI's `--width` and the GAN page's width field.
 */
export const MODEL_NUMBER_OPTIONS = {
  width: {
    flag: 'width',
    type: 'integer',
    min: 8,
    max: 512,
    help: "dcgan32, dcgan64, progan, msggan: channels of the nets' narrowest hidden layers, next to the image (coarser layers have up to 8× as many) [64 for dcgan32/64, 16 for progan/msggan]",
  },
} as const satisfies Record<string, TrainNumberOption>;
