/**
 * The one measure of closeness the tests (tests/helpers.ts: expectClose, checkOp) and the kernel check (src/check/kernels.ts) use to
 * compare a GPU result with its float64 reference. No Node, no test framework: plain arithmetic.
 */

/**
 * How far `actual` is from `expected`, measured against `expected`'s own size (never against 1, so a tensor of
 * small values gets as strict a check as one of large values):
 *  - `norm`: ‖a − b‖₂ / max(‖b‖₂, floor·√n) — a wrong scale (0.8×, ½×, 0) shows here as 0.2, 0.5, 1;
 *  - `element`: max_i |a_i − b_i| / max(rms(b), floor) — one bad element in a large tensor shows here.
 * `floor` only matters for a reference that is (nearly) all zeros, where there is no size to compare against.
 * NaN or ±Inf anywhere in either array gives Infinity.
 */
export interface CloseError {
  norm: number;
  element: number;
  /** Index of the largest |a_i − b_i|. */
  worst: number;
}

export const DEFAULT_FLOOR = 1e-8;

export function closeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = DEFAULT_FLOOR): CloseError {
  if (a.length !== b.length) throw new Error(`closeError: ${a.length} values against a reference of ${b.length}`);
  const n = b.length;
  if (n === 0) return { norm: 0, element: 0, worst: -1 };
  let sq = 0;
  let diffSq = 0;
  let maxDiff = 0;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!Number.isFinite(d) || !Number.isFinite(b[i])) return { norm: Infinity, element: Infinity, worst: i };
    sq += b[i] * b[i];
    diffSq += d * d;
    if (d > maxDiff) {
      maxDiff = d;
      worst = i;
    }
  }
  const rms = Math.sqrt(sq / n);
  return {
    norm: Math.sqrt(diffSq) / Math.max(Math.sqrt(sq), floor * Math.sqrt(n)),
    element: maxDiff / Math.max(rms, floor),
    worst,
  };
}

/** The larger of the two errors of `closeError`: what the tests' expectClose and the kernel check compare. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>, floor = DEFAULT_FLOOR): number {
  const e = closeError(a, b, floor);
  return Math.max(e.norm, e.element);
}
