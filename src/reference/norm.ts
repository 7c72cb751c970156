/**
 * float64 reference for batch normalization (torch semantics) over axis 1 of [N, C, ...]. Without the activation
 * the kernels can fuse into the normalize pass (act(γ·x̂ + β)): the tests apply the activations' own references to y.
 */
export type Shape = readonly number[];

export interface BatchNormRefOut {
  y: Float64Array;
  /** Batch mean and biased variance per channel (training) or the running ones (eval). */
  mean: Float64Array;
  variance: Float64Array;
  /** Running statistics after the update (training), or unchanged (eval). */
  runningMean: Float64Array;
  runningVar: Float64Array;
}

export function batchNorm(
  x: Float64Array,
  shape: Shape,
  gamma: Float64Array | null,
  beta: Float64Array | null,
  runningMean: Float64Array,
  runningVar: Float64Array,
  training: boolean,
  momentum = 0.1,
  eps = 1e-5,
): BatchNormRefOut {
  const [N, C] = shape;
  const HW = shape.slice(2).reduce((a, b) => a * b, 1);
  const M = N * HW;
  const at = (n: number, c: number, j: number) => (n * C + c) * HW + j;
  const mean = new Float64Array(C),
    variance = new Float64Array(C);
  const rm = Float64Array.from(runningMean),
    rv = Float64Array.from(runningVar);
  for (let c = 0; c < C; c++) {
    if (training) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) s += x[at(n, c, j)];
      const m = s / M;
      let q = 0;
      for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) q += (x[at(n, c, j)] - m) ** 2;
      mean[c] = m;
      variance[c] = q / M;
      rm[c] = (1 - momentum) * rm[c] + momentum * m;
      rv[c] = (1 - momentum) * rv[c] + momentum * (q / (M - 1));
    } else {
      mean[c] = runningMean[c];
      variance[c] = runningVar[c];
    }
  }
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const r = 1 / Math.sqrt(variance[c] + eps);
      for (let j = 0; j < HW; j++) {
        const xh = (x[at(n, c, j)] - mean[c]) * r;
        y[at(n, c, j)] = gamma ? gamma[c] * xh + beta![c] : xh;
      }
    }
  }
  return { y, mean, variance, runningMean: rm, runningVar: rv };
}

/**
 * The gradients of batchNorm in training mode (the batch statistics; running ones do not enter), from dy = dL/dy:
 *   dβ_c = Σ dy,   dγ_c = Σ dy·x̂,   dx = γ_c·r_c / M · (M·dy − Σ dy − x̂·Σ dy·x̂)
 * over the M = N·H·W values of channel c, with x̂ = (x − μ_c)·r_c and r_c = 1/√(σ²_c + eps) (σ² biased). Without
 * γ (affine off), γ_c = 1 and no dγ, dβ. An activation after it is the caller's: dy is then act′(y)·dL/d(act(y)).
 */
export function batchNormBackward(
  x: Float64Array,
  shape: Shape,
  gamma: Float64Array | null,
  dy: Float64Array,
  eps = 1e-5,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const [N, C] = shape;
  const HW = shape.slice(2).reduce((a, b) => a * b, 1);
  const M = N * HW;
  const at = (n: number, c: number, j: number) => (n * C + c) * HW + j;
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) s += x[at(n, c, j)];
    const mean = s / M;
    let q = 0;
    for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) q += (x[at(n, c, j)] - mean) ** 2;
    const r = 1 / Math.sqrt(q / M + eps);
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let n = 0; n < N; n++)
      for (let j = 0; j < HW; j++) {
        const i = at(n, c, j);
        sumDy += dy[i];
        sumDyXhat += dy[i] * (x[i] - mean) * r;
      }
    dbeta[c] = sumDy;
    dgamma[c] = sumDyXhat;
    const g = gamma ? gamma[c] : 1;
    for (let n = 0; n < N; n++)
      for (let j = 0; j < HW; j++) {
        const i = at(n, c, j);
        dx[i] = ((g * r) / M) * (M * dy[i] - sumDy - (x[i] - mean) * r * sumDyXhat);
      }
  }
  return { dx, dgamma, dbeta };
}

/**
 * Batch normalization with the batch split into `groups` equal runs of consecutive images, each normalized by its
 * own statistics: `groups` calls of batchNorm in turn, the running statistics carried from one to the next.
 * `mean` and `variance` are [groups·C], group g's channel c at g·C + c.
 */
export function batchNormGroups(
  x: Float64Array,
  shape: Shape,
  groups: number,
  gamma: Float64Array | null,
  beta: Float64Array | null,
  runningMean: Float64Array,
  runningVar: Float64Array,
  training: boolean,
  momentum = 0.1,
  eps = 1e-5,
): BatchNormRefOut {
  const [N, C] = shape;
  const part = x.length / groups;
  const sub = [N / groups, ...shape.slice(1)];
  const y = new Float64Array(x.length);
  const mean = new Float64Array(groups * C);
  const variance = new Float64Array(groups * C);
  let rm = runningMean;
  let rv = runningVar;
  for (let g = 0; g < groups; g++) {
    const r = batchNorm(x.subarray(g * part, (g + 1) * part), sub, gamma, beta, rm, rv, training, momentum, eps);
    y.set(r.y, g * part);
    mean.set(r.mean, g * C);
    variance.set(r.variance, g * C);
    rm = r.runningMean;
    rv = r.runningVar;
  }
  return { y, mean, variance, runningMean: rm, runningVar: rv };
}
