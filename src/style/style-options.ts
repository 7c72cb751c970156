/**
 * The numeric style-transfer options that the command line (`style`, src/cli/style.ts) and the browser's style page
 * (web/src/style-page.ts) both offer, declared once: flag (the page's field id), kind, bounds and why. No Node
 * imports: the page uses this module.
 */
import type { NumberRange } from '../io/number-range.ts';

/** A numeric style option: its flag and its range. */
export interface StyleNumberOption extends NumberRange {
  flag: string;
}

/**
 * The largest result side the options take. What a run can hold is smaller on most adapters and checked against
 * the device (checkOptions): every feature map must fit one GPU buffer binding, and VGG's first at 1024 px is 256 MiB.
 */
export const MAX_STYLE_SIZE = 4096;

export const STYLE_NUMBER_OPTIONS = {
  size: {
    flag: 'size',
    type: 'integer',
    min: 8,
    max: MAX_STYLE_SIZE,
    limit: "smaller where VGG's maps exceed the adapter's largest GPU buffer binding: 256 MiB at 1024 px",
  },
  steps: { flag: 'steps', type: 'integer', min: 0, max: 100_000 },
  contentWeight: { flag: 'content-weight', type: 'float', min: 0, max: 1e12 },
  styleWeight: { flag: 'style-weight', type: 'float', min: 0, max: 1e12 },
  tvWeight: { flag: 'tv-weight', type: 'float', min: 0, max: 1e12 },
} as const satisfies Record<string, StyleNumberOption>;
