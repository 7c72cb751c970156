/**
 * The checker itself: a gradient that is wrong by a constant factor must fail `checkOp`, however small its
 * values. The cases are the ones a reviewer fed through the old checker, which divided the error by
 * max(1, max|reference|) and so passed any gradient whose values all sat below 1: a zero and a halved gradient
 * of `mean` over axis 1 of [5, 700] (every true gradient is w/700 < 1.5e-3), and 0.8× the gradient of
 * `l1Loss` with the 'mean' reduction.
 */
import { describe, it, expect } from 'vitest';
import { Tensor, noGrad, record, l1Loss } from '../src/tensor/index.ts';
import { useEngine, checkOp, runGradCase, closeError, expectClose, relError, type GradCase } from './helpers.ts';
import * as R from '../src/reference/elementwise.ts';
import * as RL from '../src/reference/losses.ts';

useEngine();

/** Identity forward whose backward multiplies the incoming gradient by `factor`: a deliberately wrong op. */
function scaleGradient(x: Tensor, factor: number): Tensor {
  const out = noGrad(() => x.mul(1));
  return record(out, `scaleGradient×${factor}`, [x], (g) => [g.mul(factor)]);
}

/** The old checker's error: max|a − b| / max(1, max|b|), whatever the size of b. */
function oldRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return err / scale;
}

const meanCase = (factor: number): GradCase => ({
  shapes: [[5, 700]],
  gpu: ([x]) => scaleGradient(x, factor).mean(1),
  ref: ([x]) => R.reduce(x, [5, 700], [1], 'mean'),
});

const l1Case = (factor: number): GradCase => ({
  shapes: [
    [4, 37],
    [4, 37],
  ],
  gpu: ([a, b]) => l1Loss(scaleGradient(a, factor), b, { reduction: 'mean' }),
  ref: ([a, b]) => RL.l1(a, b, 'mean'),
  wrt: [0],
});

describe('checkOp catches wrong gradients of any size', () => {
  const wrong: [string, GradCase, number][] = [
    ['zero gradient of mean over axis 1 of [5, 700]', meanCase(0), 1],
    ['halved gradient of mean over axis 1 of [5, 700]', meanCase(0.5), 0.5],
    ['0.8× the gradient of l1Loss (mean)', l1Case(0.8), 0.2],
  ];
  for (const [name, c, expectedNormError] of wrong) {
    it(`fails a ${name} that the old absolute check passed`, async () => {
      const r = await runGradCase(c);
      // The old checker would have passed it at the gradTol the reduction tests used (2e-3)...
      expect(oldRelError(r.grads[0], r.numeric[0])).toBeLessThan(2e-3);
      // ...the new one sees the wrong factor in the norm-wise error, and checkOp rejects it.
      expect(closeError(r.grads[0], r.numeric[0]).norm).toBeCloseTo(expectedNormError, 4);
      await expect(checkOp(c)).rejects.toThrow(/gradient of input 0: norm-wise relative error/);
    });
  }

  it('passes the same cases with the true gradient (factor 1)', async () => {
    await checkOp(meanCase(1));
    await checkOp(l1Case(1));
  });
});

describe('closeError / expectClose', () => {
  it('measures the norm-wise error and the largest element error in units of the reference RMS', () => {
    // b = [3, 4]: ‖b‖ = 5, rms = √12.5; a − b = [0, 0.5].
    const e = closeError([3, 4.5], [3, 4]);
    expect(e.norm).toBeCloseTo(0.5 / 5, 12);
    expect(e.element).toBeCloseTo(0.5 / Math.sqrt(12.5), 12);
    expect(e.worst).toBe(1);
    expect(relError([3, 4.5], [3, 4])).toBeCloseTo(0.5 / Math.sqrt(12.5), 12);
  });

  it('is as strict for tiny tensors as for large ones', () => {
    const b = [1e-5, -2e-5, 3e-5];
    expect(() =>
      expectClose(
        b.map((v) => v * 0.99),
        b,
        1e-3,
      ),
    ).toThrow(/norm-wise relative error 1\.000e-2/);
    expectClose(
      b.map((v) => v * (1 + 1e-5)),
      b,
      1e-4,
    );
  });

  it('catches one bad element in a large tensor that the norm barely sees', () => {
    const b = Array.from({ length: 10000 }, (_, i) => Math.sin(i));
    const a = b.slice();
    a[1234] += 0.05; // 0.05 of an element against an RMS of 0.71: norm error 7e-4, element error 7e-2
    const e = closeError(a, b);
    expect(e.norm).toBeLessThan(1e-3);
    expect(e.element).toBeGreaterThan(5e-2);
    expect(() => expectClose(a, b, 1e-3, 'forward')).toThrow(/forward: .*worst index 1234/);
  });

  it('treats NaN and Inf as an infinite error, and an all-zero reference by an absolute floor', () => {
    expect(relError([1, NaN], [1, 2])).toBe(Infinity);
    expect(relError([1, 2], [1, Infinity])).toBe(Infinity);
    expectClose([0, 0], [0, 0], 1e-12);
    expect(() => expectClose([1e-6, 0], [0, 0], 1e-3)).toThrow(/norm-wise relative error/);
  });
});
