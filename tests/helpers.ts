/**
 * Test utilities: a seeded CPU RNG, comparison relative to the reference's own size, and gradient checking of
 * GPU ops against float64 TypeScript references (central finite differences of the reference).
 */
import { readFileSync } from 'node:fs';
import { expect, beforeAll } from 'vitest';
import { initEngine, Tensor, tidy, type Shape } from '../src/tensor/index.ts';
import { DEVICE_LIMITS, type DeviceLimits } from '../src/tensor/gpu.ts';
import { closeError } from '../src/reference/close.ts';

/**
 * Call at the top of a test file: one engine per test file (vitest runs files in separate processes). The kernel
 * tuner is off, so every adapter runs its default kernels and a test's launches are its own; the tuner's tests
 * (autotune.test.ts) turn it on, and every kernel version is tested by forcing it.
 */
export function useEngine(): void {
  beforeAll(async () => {
    await initEngine({ autotune: 'off', limits: testLimits() });
  });
}

/**
 * The device limits the tests ask for: the adapter's largest (default), or WebGPU's default limits with
 * `WGPU_GAN_LIMITS=default` in the environment (the whole suite then runs as on the weakest conforming adapter).
 */
export function testLimits(): DeviceLimits {
  const v = process.env.WGPU_GAN_LIMITS || 'adapter';
  if (!(DEVICE_LIMITS as readonly string[]).includes(v))
    throw new Error(`WGPU_GAN_LIMITS="${v}" is not one of ${DEVICE_LIMITS.join(', ')}`);
  return v as DeviceLimits;
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

export { closeError, relError, DEFAULT_FLOOR, type CloseError } from '../src/reference/close.ts';

/**
 * Passes when both the norm-wise error and the largest element error (in units of the reference's RMS) are at
 * most `tol`. Since ‖a − b‖/‖b‖ = rms(a − b)/rms(b) ≤ max|a − b|/rms(b), the element check is the stricter of
 * the two; the message reports both so a failure says whether the whole tensor or a few elements are off.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4, what = 'values'): void {
  const e = closeError(actual, expected);
  if (!(e.norm <= tol && e.element <= tol)) {
    const i = e.worst;
    throw new Error(
      `${what}: norm-wise relative error ${e.norm.toExponential(3)}, largest element error ${e.element.toExponential(3)} ` +
        `of the reference's RMS (tolerance ${tol}); worst index ${i}: got ${actual[i]}, expected ${expected[i]}`,
    );
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

/** What one run of a `GradCase` produced: GPU forward and gradients beside the float64 reference's. */
export interface GradRun {
  out: Float32Array;
  refOut: Float64Array;
  /** The inputs that got a gradient (`wrt`), in order... */
  wrt: number[];
  /** ...their GPU gradients... */
  grads: Float32Array[];
  /** ...and central finite differences of the reference, one per `wrt` entry. */
  numeric: Float64Array[];
}

/**
 * Runs a case: the GPU op forward, then backward of L = Σ y · w for a random weighting w (so every output
 * element matters), and central finite differences of the same L computed on the float64 reference.
 */
export async function runGradCase(c: GradCase): Promise<GradRun> {
  const seed = c.seed ?? 1;
  const xs = c.inputs ?? c.shapes.map((s, i) => randomArray(size(s), seed * 100 + i));
  const refOut = c.ref(xs);
  const w = randomArray(refOut.length, seed * 7 + 3);
  const wrt = c.wrt ?? xs.map((_, i) => i);

  const leaves = xs.map((x, i) => Tensor.fromArray(Float32Array.from(x), c.shapes[i]).requireGrad(wrt.includes(i)));
  const res = tidy(() => {
    const y = c.gpu(leaves);
    const wt = Tensor.fromArray(Float32Array.from(w), y.shape);
    y.mul(wt).sum().backward();
    return y;
  });
  const out = await res.toArray();
  const grads = await Promise.all(wrt.map((i) => leaves[i].grad!.toArray()));
  res.dispose();
  leaves.forEach((l) => {
    l.zeroGrad();
    l.dispose();
  });

  const eps = c.eps ?? 1e-6;
  const loss = (inputs: Float64Array[]) => {
    const y = c.ref(inputs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * w[i];
    return s;
  };
  const numeric = wrt.map((k) => {
    const x = xs[k];
    const g = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const orig = x[j];
      x[j] = orig + eps;
      const lp = loss(xs);
      x[j] = orig - eps;
      const lm = loss(xs);
      x[j] = orig;
      g[j] = (lp - lm) / (2 * eps);
    }
    return g;
  });
  return { out, refOut, wrt, grads, numeric };
}

/**
 * Checks forward against the reference (`fwdTol`, default 1e-5) and each input's gradient against central
 * finite differences of the reference (`gradTol`, default 3e-5), both relative to the reference tensor's own
 * size (`expectClose`). Across this suite the largest errors seen on lavapipe are ~1e-6 (forward) and ~3e-6
 * (gradients), so the defaults leave about 10× room for other adapters' summation orders.
 */
export async function checkOp(c: GradCase): Promise<void> {
  const r = await runGradCase(c);
  expectClose(r.out, r.refOut, c.fwdTol ?? 1e-5, 'forward');
  r.wrt.forEach((k, gi) => expectClose(r.grads[gi], r.numeric[gi], c.gradTol ?? 3e-5, `gradient of input ${k}`));
}

/** The records of a JSON-lines file (log.jsonl, eval.jsonl), one per line (typed by the caller, untyped by default). */
export function readJsonl<T = any>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}
