/**
 * Float64 references of the optimizers' update kernels (shaders/adam.wgsl, shaders/sgd.wgsl), written out from
 * torch.optim's algorithms. Used by tests/optim.test.ts and the kernel explorer.
 */

/** Adam's state for one parameter: the parameter, both moment estimates, and the step count. */
export interface AdamState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
  t: number;
}

/** A fresh Adam state for a parameter (moments 0, step 0). */
export function adamState(p: ArrayLike<number>): AdamState {
  return { p: Float64Array.from(p), m: new Float64Array(p.length), v: new Float64Array(p.length), t: 0 };
}

/** One Adam step in place (torch.optim.Adam, amsgrad off; weight decay added to the gradient, as L2). */
export function adamStep(
  s: AdamState,
  grad: ArrayLike<number>,
  o: { lr: number; betas: readonly [number, number]; eps: number; weightDecay?: number },
): void {
  const [b1, b2] = o.betas;
  const wd = o.weightDecay ?? 0;
  s.t++;
  for (let i = 0; i < s.p.length; i++) {
    const g = grad[i] + wd * s.p[i];
    s.m[i] = b1 * s.m[i] + (1 - b1) * g;
    s.v[i] = b2 * s.v[i] + (1 - b2) * g * g;
    const mHat = s.m[i] / (1 - b1 ** s.t);
    const vHat = s.v[i] / (1 - b2 ** s.t);
    s.p[i] -= (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
  }
}

/**
 * One SGD step in place (torch.optim.SGD): d = g + wd·p; with momentum, buf = d on the first step, else
 * momentum·buf + (1 − dampening)·d, and d = buf (or d + momentum·buf with Nesterov); then p −= lr·d.
 */
export function sgdStep(
  p: Float64Array,
  buf: Float64Array | null,
  first: boolean,
  g: ArrayLike<number>,
  o: { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number },
): void {
  const momentum = o.momentum ?? 0;
  const dampening = o.dampening ?? 0;
  const wd = o.weightDecay ?? 0;
  for (let i = 0; i < p.length; i++) {
    let d = g[i] + wd * p[i];
    if (momentum !== 0 && buf) {
      buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
      d = o.nesterov ? d + momentum * buf[i] : buf[i];
    }
    p[i] -= o.lr * d;
  }
}

/** One update of a weight average (nn/ema.ts emaUpdate): decay·average + (1 − decay)·current, elementwise. */
export function emaStep(average: ArrayLike<number>, current: ArrayLike<number>, decay: number): Float64Array {
  return Float64Array.from(average, (a, i) => decay * a + (1 - decay) * current[i]);
}
