/** float64 reference for Gram matrices: G[n] = F[n]·F[n]ᵀ / norm with F[n] = f[n] as [C, H·W]. */
export function gram(f: Float64Array, shape: readonly number[], normalize: 'hw' | 'chw' | 'none'): Float64Array {
  const [N, C, H, W] = shape;
  const HW = H * W;
  const norm = normalize === 'hw' ? HW : normalize === 'chw' ? C * HW : 1;
  const g = new Float64Array(N * C * C);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < C; i++) {
      for (let j = 0; j < C; j++) {
        let s = 0;
        for (let k = 0; k < HW; k++) s += f[(n * C + i) * HW + k] * f[(n * C + j) * HW + k];
        g[(n * C + i) * C + j] = s / norm;
      }
    }
  }
  return g;
}

/**
 * Gradient of gram: given dG = dL/dG, dL/df[n, i, k] = Σ_j (dG[n, i, j] + dG[n, j, i]) · f[n, j, k] / norm
 * (G[n, i, j] = Σ_k f[n, i, k]·f[n, j, k] / norm uses row i of F[n] twice, once as a row and once as a column).
 */
export function gramGrad(
  f: Float64Array,
  shape: readonly number[],
  dG: Float64Array,
  normalize: 'hw' | 'chw' | 'none',
): Float64Array {
  const [N, C, H, W] = shape;
  const HW = H * W;
  const norm = normalize === 'hw' ? HW : normalize === 'chw' ? C * HW : 1;
  const df = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < C; i++) {
      for (let j = 0; j < C; j++) {
        const s = (dG[(n * C + i) * C + j] + dG[(n * C + j) * C + i]) / norm;
        for (let k = 0; k < HW; k++) df[(n * C + i) * HW + k] += s * f[(n * C + j) * HW + k];
      }
    }
  }
  return df;
}
