/** float64 references for max/avg pooling and nearest upsampling (NCHW, torch semantics). */
export type Shape = readonly number[];

export interface PoolRef {
  k: [number, number];
  s: [number, number];
  p: [number, number];
}

export function poolOut(shape: Shape, o: PoolRef): [number, number] {
  return [
    Math.floor((shape[2] + 2 * o.p[0] - o.k[0]) / o.s[0]) + 1,
    Math.floor((shape[3] + 2 * o.p[1] - o.k[1]) / o.s[1]) + 1,
  ];
}

/** Max over each window, padding −inf. Returns values and the flat in-plane argmax (first on ties). */
export function maxPool2d(x: Float64Array, shape: Shape, o: PoolRef): { y: Float64Array; idx: Int32Array } {
  const [N, C, H, W] = shape;
  const [OH, OW] = poolOut(shape, o);
  const y = new Float64Array(N * C * OH * OW);
  const idx = new Int32Array(y.length);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity,
          at = -1;
        for (let i = 0; i < o.k[0]; i++) {
          for (let j = 0; j < o.k[1]; j++) {
            const h = oh * o.s[0] - o.p[0] + i,
              w = ow * o.s[1] - o.p[1] + j;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const v = x[pl * H * W + h * W + w];
            // NaN wins, as in torch: the first NaN of the window, once one is seen
            if (at < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
              best = v;
              at = h * W + w;
            }
          }
        }
        const oi = (pl * OH + oh) * OW + ow;
        y[oi] = best;
        idx[oi] = at;
      }
    }
  }
  return { y, idx };
}

export function avgPool2d(x: Float64Array, shape: Shape, o: PoolRef, countIncludePad = true): Float64Array {
  const [N, C, H, W] = shape;
  const [OH, OW] = poolOut(shape, o);
  const y = new Float64Array(N * C * OH * OW);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const h0 = oh * o.s[0] - o.p[0],
          w0 = ow * o.s[1] - o.p[1];
        let sum = 0,
          real = 0;
        for (let h = h0; h < h0 + o.k[0]; h++) {
          for (let w = w0; w < w0 + o.k[1]; w++) {
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            sum += x[pl * H * W + h * W + w];
            real++;
          }
        }
        // torch: the window clipped to the padded input.
        const padded = (Math.min(h0 + o.k[0], H + o.p[0]) - h0) * (Math.min(w0 + o.k[1], W + o.p[1]) - w0);
        y[(pl * OH + oh) * OW + ow] = sum / (countIncludePad ? padded : real);
      }
    }
  }
  return y;
}

export function upsample2d(x: Float64Array, shape: Shape, sh: number, sw: number): Float64Array {
  const [N, C, H, W] = shape;
  const OH = H * sh,
    OW = W * sw;
  const y = new Float64Array(N * C * OH * OW);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++)
        y[(pl * OH + oh) * OW + ow] = x[pl * H * W + Math.floor(oh / sh) * W + Math.floor(ow / sw)];
    }
  }
  return y;
}
