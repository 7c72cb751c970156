/** float64 references for the losses (torch semantics). */
export type Reduction = 'mean' | 'sum' | 'none';

export function reduce(l: Float64Array, r: Reduction): Float64Array {
  if (r === 'none') return l;
  let s = 0;
  for (const v of l) s += v;
  return Float64Array.of(r === 'mean' ? s / l.length : s);
}

/**
 * max(x, 0) − x·t + log(1 + e^(−|x|)): loss_bce.wgsl's l without its weight w (the tests multiply the reference by w,
 * which is one number).
 */
export function bceWithLogits(x: Float64Array, t: Float64Array | number, r: Reduction): Float64Array {
  return reduce(
    x.map((v, i) => Math.max(v, 0) - v * (typeof t === 'number' ? t : t[i]) + Math.log1p(Math.exp(-Math.abs(v)))),
    r,
  );
}

export function mse(a: Float64Array, b: Float64Array, r: Reduction): Float64Array {
  return reduce(
    a.map((v, i) => (v - b[i]) ** 2),
    r,
  );
}

export function l1(a: Float64Array, b: Float64Array, r: Reduction): Float64Array {
  return reduce(
    a.map((v, i) => Math.abs(v - b[i])),
    r,
  );
}

/** Per-image total variation (see src/tensor/losses.ts for the formulas), then reduced over the batch. */
export function totalVariation(
  x: Float64Array,
  shape: readonly number[],
  kind: 'abs' | 'squared',
  beta: number,
  r: Reduction,
): Float64Array {
  const [N, C, H, W] = shape;
  const at = (n: number, c: number, h: number, w: number) => x[((n * C + c) * H + h) * W + w];
  const per = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          if (kind === 'abs') {
            if (h + 1 < H) s += Math.abs(at(n, c, h + 1, w) - at(n, c, h, w));
            if (w + 1 < W) s += Math.abs(at(n, c, h, w + 1) - at(n, c, h, w));
          } else if (h + 1 < H && w + 1 < W) {
            const dx = at(n, c, h, w + 1) - at(n, c, h, w);
            const dy = at(n, c, h + 1, w) - at(n, c, h, w);
            s += (dx * dx + dy * dy) ** (beta / 2);
          }
        }
      }
    }
    per[n] = s;
  }
  if (r === 'mean') return Float64Array.of(per.reduce((a, b) => a + b, 0) / N);
  return reduce(per, r);
}
