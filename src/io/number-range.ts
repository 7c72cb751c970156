/**
 * A number option's allowed range, in the words every part of the project uses for it ("an integer in [2, 512]",
 * "a number in (0, 1]"): the CLI's option tables, the trainers' own checks and the web pages' fields. No Node
 * imports.
 */

/** A number's allowed range: `an integer in [2, 512]`, `a number in (0, 1]`. */
export interface NumberRange {
  type: 'integer' | 'float';
  min: number;
  max: number;
  /** the bound itself is not allowed: `(min, …` */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  /** why the limit is where it is (printed in help and messages) */
  limit?: string;
}

/** The largest float32: a learning rate and the like reach the GPU as float32 uniforms. */
export const MAX_F32 = 3.4028234663852886e38;
/** The largest seed: seeds are 32-bit. */
export const MAX_SEED = 2 ** 32 - 1;

const fmtNum = (x: number) =>
  Math.abs(x) >= 1e13
    ? x.toPrecision(4)
    : Math.abs(x) >= 1e6 && Number.isInteger(x)
      ? x.toLocaleString('en-US')
      : String(x);

/** `an integer in [1, 256]`, `a number in (0, 1]`. */
export function describeRange(r: NumberRange): string {
  return `${r.type === 'integer' ? 'an integer' : 'a number'} in ${r.minExclusive ? '(' : '['}${fmtNum(r.min)}, ${fmtNum(r.max)}${r.maxExclusive ? ')' : ']'}`;
}

/** Whether x is a finite number of the range's kind within its bounds. */
export function inRange(r: NumberRange, x: number): boolean {
  return (
    Number.isFinite(x) &&
    (r.type === 'float' || Number.isInteger(x)) &&
    (r.minExclusive ? x > r.min : x >= r.min) &&
    (r.maxExclusive ? x < r.max : x <= r.max)
  );
}
