/**
 * Conversions between float32 and the two 16-bit float formats found in checkpoints.
 *
 * float16 (IEEE binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits.
 * bfloat16: the top 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa bits).
 * Both directions work on bit patterns so that values round-trip exactly, ±Inf and NaN payloads included
 * (except that JS engines quiet signaling NaNs; keep the raw bits if those matter).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float16 bits -> float32 value (exact: every float16 is representable as a float32). */
export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) {
    if (mantissa === 0) return sign * Infinity;
    // Keep the NaN payload: shift the 10 mantissa bits into the top of float32's 23.
    u32[0] = ((bits & 0x8000) << 16) | 0x7f800000 | (mantissa << 13);
    return f32[0]!;
  }
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** float32 value -> float16 bits, rounding to nearest even; overflow goes to ±Inf. */
export function floatToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) {
    if (mantissa === 0) return sign | 0x7c00;
    // NaN: keep the top payload bits, and make sure at least one mantissa bit stays set.
    return sign | 0x7c00 | (mantissa >>> 13) | (mantissa >>> 13 === 0 ? 0x200 : 0);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal (or underflow to zero): shift the mantissa, with its implicit 1, right.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let half = full >>> shift;
    const remainder = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && half & 1)) half += 1;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and may reach Inf).
  if (remainder > 0x1000 || (remainder === 0x1000 && half & 1)) half += 1;
  return sign | half;
}

/** bfloat16 bits -> float32 value (exact). */
export function bfloat16BitsToFloat(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

/** float32 value -> bfloat16 bits, rounding to nearest even; NaN stays NaN. */
export function floatToBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) {
    const top = x >>> 16;
    return top & 0x7f ? top : top | 0x40; // a NaN whose payload lived only in the low half
  }
  const roundingBias = 0x7fff + ((x >>> 16) & 1);
  return ((x + roundingBias) >>> 16) & 0xffff;
}
