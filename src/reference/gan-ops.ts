/**
 * float64 references for the ops of src/tensor/gan-ops.ts (pixel norm, minibatch standard deviation, fade-in
 * blend) and for the equalized learning rate's weight scale.
 */

/** y[n, c, p] = x[n, c, p] / √(Σ_c' x[n, c', p]² / C + eps), x of shape [N, C, ...]. */
export function pixelNorm(x: Float64Array, shape: readonly number[], eps = 1e-8): Float64Array {
  const [N, C] = shape;
  const P = shape.slice(2).reduce((a, b) => a * b, 1);
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += x[(n * C + c) * P + p] ** 2;
      const r = 1 / Math.sqrt(s / C + eps);
      for (let c = 0; c < C; c++) y[(n * C + c) * P + p] = x[(n * C + c) * P + p] * r;
    }
  }
  return y;
}

/**
 * x [N, C, H, W] → [N, C + 1, H, W]: channel C of sample n holds the mean over the C·H·W features of the standard
 * deviation (population, eps inside the root) over the G samples of n's group, the samples g·M + (n mod M), M = N/G.
 */
export function minibatchStddev(x: Float64Array, shape: readonly number[], G: number, eps = 1e-8): Float64Array {
  const [N, C, H, W] = shape;
  const M = N / G;
  const F = C * H * W;
  const stat = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    let total = 0;
    for (let f = 0; f < F; f++) {
      let mean = 0;
      for (let g = 0; g < G; g++) mean += x[(g * M + m) * F + f];
      mean /= G;
      let v = 0;
      for (let g = 0; g < G; g++) v += (x[(g * M + m) * F + f] - mean) ** 2;
      total += Math.sqrt(v / G + eps);
    }
    stat[m] = total / F;
  }
  const y = new Float64Array(N * (C + 1) * H * W);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) y[n * (F + H * W) + f] = x[n * F + f];
    for (let p = 0; p < H * W; p++) y[n * (F + H * W) + F + p] = stat[n % M];
  }
  return y;
}

/** (1 − α)·a + α·b elementwise. */
export function fade(a: Float64Array, b: Float64Array, alpha: number): Float64Array {
  return a.map((v, i) => (1 - alpha) * v + alpha * b[i]);
}

/** He's constant of the equalized learning rate: gain / √fan_in (gain √2 for layers followed by a (leaky) ReLU). */
export function equalizedScale(fanIn: number, gain = Math.SQRT2): number {
  return gain / Math.sqrt(fanIn);
}

/**
 * A GAN step's statistics [lossD, lossG, mean s(dReal), mean s(dFake)], s = the logistic function when `sigmoid`
 * else the identity; NaN for an absent part (no D step: lossD, dReal and dFake null; no G step: lossG null).
 */
export function ganStepStats(
  lossD: number | null,
  lossG: number | null,
  dReal: Float64Array | null,
  dFake: Float64Array | null,
  sigmoid: boolean,
): number[] {
  const s = (x: number) => (sigmoid ? 1 / (1 + Math.exp(-x)) : x);
  let real = 0;
  let fake = 0;
  for (const v of dReal ?? []) real += s(v);
  for (const v of dFake ?? []) fake += s(v);
  return [lossD ?? NaN, lossG ?? NaN, dReal ? real / dReal.length : NaN, dFake ? fake / dFake.length : NaN];
}
