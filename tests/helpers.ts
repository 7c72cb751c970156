/**
 * Test utilities: a seeded CPU RNG, max-error comparison, and gradient checking of GPU ops against
 * float64 TypeScript references (central finite differences of the reference).
 */
import { expect, beforeAll } from 'vitest';
import { initEngine, Tensor, tidy, type Shape } from '../src/tensor/index.ts';

/** Call at the top of a test file: one engine per test file (vitest runs files in separate processes). */
export function useEngine(): void {
  beforeAll(async () => {
    await initEngine();
  });
}

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** max |a - b| / max(1, max |b|): the relative max-abs error the acceptance criteria use. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return Infinity;
    err = Math.max(err, d);
  }
  return err / scale;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): void {
  const e = relError(actual, expected);
  if (!(e <= tol)) {
    const first = Array.from(expected as ArrayLike<number>).findIndex((v, i) => Math.abs(v - actual[i]) / Math.max(1, Math.abs(v)) > tol);
    throw new Error(`relative error ${e.toExponential(3)} > ${tol}; first bad index ${first}: got ${actual[first]}, expected ${expected[first]}`);
  }
}

export interface GradCase {
  shapes: Shape[];
  /** The GPU op under test. */
  gpu: (xs: Tensor[]) => Tensor;
  /** float64 reference of the same op; returns the flat output. */
  ref: (xs: Float64Array[]) => Float64Array;
  /** Custom input generator (default uniform in [-1, 1]). */
  inputs?: Float64Array[];
  seed?: number;
  fwdTol?: number;
  gradTol?: number;
  /** Which inputs get a gradient check (default all). */
  wrt?: number[];
  eps?: number;
}

/**
 * Checks forward against the reference and each input's gradient against central finite differences of
 * the reference loss L = Σ ref(x) · w for a random weighting w (so every output element matters).
 */
export async function checkOp(c: GradCase): Promise<void> {
  const seed = c.seed ?? 1;
  const xs = c.inputs ?? c.shapes.map((s, i) => randomArray(size(s), seed * 100 + i));
  const refOut = c.ref(xs);
  const w = randomArray(refOut.length, seed * 7 + 3);
  const wrt = c.wrt ?? xs.map((_, i) => i);

  const { out, grads } = await (async () => {
    const leaves = xs.map((x, i) => Tensor.fromArray(Float32Array.from(x), c.shapes[i]).requireGrad(wrt.includes(i)));
    const res = tidy(() => {
      const y = c.gpu(leaves);
      const wt = Tensor.fromArray(Float32Array.from(w), y.shape);
      y.mul(wt).sum().backward();
      return y;
    });
    const outData = await res.toArray();
    const gradData = await Promise.all(wrt.map((i) => leaves[i].grad!.toArray()));
    res.dispose();
    leaves.forEach((l) => { l.zeroGrad(); l.dispose(); });
    return { out: outData, grads: gradData };
  })();

  expectClose(out, refOut, c.fwdTol ?? 1e-4);
  const eps = c.eps ?? 1e-6;
  const loss = (inputs: Float64Array[]) => {
    const y = c.ref(inputs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * w[i];
    return s;
  };
  wrt.forEach((k, gi) => {
    const x = xs[k];
    const numeric = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const orig = x[j];
      x[j] = orig + eps;
      const lp = loss(xs);
      x[j] = orig - eps;
      const lm = loss(xs);
      x[j] = orig;
      numeric[j] = (lp - lm) / (2 * eps);
    }
    expectClose(grads[gi], numeric, c.gradTol ?? 1e-3);
  });
}
