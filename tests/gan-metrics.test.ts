import { describe, it, expect } from 'vitest';
import {
  softmaxRows,
  classHistogram,
  confidentRate,
  classCoverage,
  featureStats,
  symmetricEigen,
  symmetricSqrt,
  traceSqrtProduct,
  frechetDistance,
  frechetDistanceOf,
  formatEvaluation,
} from '../src/gan/metrics.ts';
import { rng } from './helpers.ts';

/** A random symmetric positive definite d×d matrix: B Bᵀ + εI. */
function randomSpd(d: number, seed: number, eps = 0.1): Float64Array {
  const r = rng(seed);
  const b = Float64Array.from({ length: d * d }, () => r() * 2 - 1);
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += b[i * d + k]! * b[j * d + k]!;
      out[i * d + j] = s + (i === j ? eps : 0);
    }
  }
  return out;
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) out[i * d + j]! += a[i * d + k]! * b[k * d + j]!;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function trace(a: ArrayLike<number>, d: number): number {
  let t = 0;
  for (let i = 0; i < d; i++) t += a[i * d + i]!;
  return t;
}

describe('class probabilities', () => {
  // 5 samples over 3 classes, crafted: confident 0, confident 0, unsure (top 1 at 0.5), confident 2, at threshold 1.
  const probs = Float64Array.from([
    0.95, 0.03, 0.02, 0.92, 0.04, 0.04, 0.3, 0.5, 0.2, 0.01, 0.01, 0.98, 0.05, 0.9, 0.05,
  ]);

  it('softmaxRows matches exp/sum and survives huge logits', () => {
    const p = softmaxRows([1, 2, 3, 1000, 1000, 0], 3);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const s = e[0]! + e[1]! + e[2]!;
    expect(
      maxAbsDiff(
        p.subarray(0, 3),
        e.map((v) => v / s),
      ),
    ).toBeLessThan(1e-15);
    expect(Array.from(p.subarray(3))).toEqual([0.5, 0.5, 0]);
    expect(() => softmaxRows([1, 2, 3, 4], 3)).toThrow(/4 values do not form rows of 3 classes/);
  });

  it('histogram counts every sample by its top class', () => {
    expect(classHistogram(probs, 3)).toEqual([2, 2, 1]);
  });

  it('confident rate counts top probabilities at or above the threshold', () => {
    expect(confidentRate(probs, 3, 0.9)).toBeCloseTo(4 / 5, 15);
    expect(confidentRate(probs, 3, 0.95)).toBeCloseTo(2 / 5, 15);
    expect(confidentRate(probs, 3, 0.5)).toBe(1);
    expect(confidentRate(new Float64Array(0), 3)).toBe(0);
    expect(() => confidentRate(probs, 3, 1.5)).toThrow(/threshold must be a probability/);
  });

  it('coverage lists the classes that confident samples reach, and the missing ones', () => {
    expect(classCoverage(probs, 3, { threshold: 0.9 })).toEqual({
      count: 3,
      classes: [0, 1, 2],
      missing: [],
      confidentCounts: [2, 1, 1],
    });
    // At 0.95 class 1 has only the unsure sample: a collapsed mode.
    expect(classCoverage(probs, 3, { threshold: 0.95 })).toEqual({
      count: 2,
      classes: [0, 2],
      missing: [1],
      confidentCounts: [1, 0, 1],
    });
    expect(classCoverage(probs, 3, { threshold: 0.9, minCount: 2 })).toEqual({
      count: 1,
      classes: [0],
      missing: [1, 2],
      confidentCounts: [2, 1, 1],
    });
    expect(() => classCoverage(probs, 3, { minCount: 0 })).toThrow(/minCount must be a positive integer/);
  });

  it('a mode-collapsed batch (all the same digit) covers one class', () => {
    const collapsed = new Float64Array(100 * 10);
    for (let i = 0; i < 100; i++) collapsed[i * 10 + 7] = 1;
    const cov = classCoverage(collapsed, 10);
    expect(cov.count).toBe(1);
    expect(cov.classes).toEqual([7]);
    expect(cov.missing).toHaveLength(9);
  });
});

describe('featureStats', () => {
  it('gives the mean and the unbiased covariance (as numpy.cov)', () => {
    // 4 samples of dimension 2.
    const x = [1, 2, 3, 6, 5, 4, 7, 0];
    const s = featureStats(x, 4, 2);
    expect(Array.from(s.mean)).toEqual([4, 3]);
    // Centered: (-3,-1) (-1,3) (1,1) (3,-3); Σ x² = 20, Σ xy = 3-3+1-9 = -8, Σ y² = 20; / 3.
    expect(maxAbsDiff(s.cov, [20 / 3, -8 / 3, -8 / 3, 20 / 3])).toBeLessThan(1e-14);
    expect(s.count).toBe(4);
  });

  it('rejects wrong sizes and non-finite values', () => {
    expect(() => featureStats([1, 2, 3], 2, 2)).toThrow(/3 values cannot be \[n=2, d=2\]/);
    expect(() => featureStats([1, 2], 1, 2)).toThrow(/at least 2 samples/);
    expect(() => featureStats([1, NaN, 3, 4], 2, 2)).toThrow(/feature 1 of sample 0 is NaN/);
  });
});

describe('symmetric eigendecomposition (Jacobi)', () => {
  it('reconstructs a random SPD matrix with orthonormal eigenvectors', () => {
    for (const d of [1, 2, 7, 40]) {
      const a = randomSpd(d, 10 + d);
      const { values, vectors, sweeps } = symmetricEigen(a, d);
      expect(sweeps).toBeLessThan(20);
      // V diag(λ) Vᵀ = A
      const rec = new Float64Array(d * d);
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++)
          for (let k = 0; k < d; k++) rec[i * d + j]! += vectors[i * d + k]! * values[k]! * vectors[j * d + k]!;
      const scale = Math.max(...Array.from(a, Math.abs));
      expect(maxAbsDiff(rec, a) / scale).toBeLessThan(1e-12);
      // VᵀV = I
      const vtv = new Float64Array(d * d);
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++)
          for (let k = 0; k < d; k++) vtv[i * d + j]! += vectors[k * d + i]! * vectors[k * d + j]!;
      const eye = Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
      expect(maxAbsDiff(vtv, eye)).toBeLessThan(1e-12);
      // Eigenvalues of an SPD matrix are positive; their sum is the trace.
      expect(Math.min(...values)).toBeGreaterThan(0);
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace(a, d), 9);
    }
  });

  it('finds known eigenvalues of a 2×2 matrix', () => {
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
    const { values } = symmetricEigen([2, 1, 1, 2], 2);
    expect(Array.from(values).sort()).toEqual([expect.closeTo(1, 14), expect.closeTo(3, 14)]);
  });

  it('rejects non-symmetric and misshapen input', () => {
    expect(() => symmetricEigen([1, 2, 3, 4], 2)).toThrow(/not symmetric at \(0, 1\)/);
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/expected a 2×2 matrix/);
    expect(() => symmetricEigen([1, Infinity, Infinity, 1], 2)).toThrow(/not finite/);
  });

  it('symmetricSqrt squares back to the matrix', () => {
    const d = 12;
    const a = randomSpd(d, 5);
    const r = symmetricSqrt(a, d);
    expect(maxAbsDiff(matmul(r, r, d), a) / Math.max(...Array.from(a, Math.abs))).toBeLessThan(1e-11);
  });
});

describe('Fréchet distance', () => {
  const d = 16;
  const covA = randomSpd(d, 21);
  const covB = randomSpd(d, 22);
  const muA = Float64Array.from({ length: d }, (_, i) => Math.sin(i));
  const muB = Float64Array.from({ length: d }, (_, i) => Math.cos(i));

  it('is ~0 for identical Gaussians', () => {
    const fd = frechetDistance(muA, covA, muA, covA);
    expect(fd).toBeLessThan(1e-9 * trace(covA, d));
  });

  it('equals ‖Δμ‖² when only the means differ', () => {
    const expected = muA.reduce((s, v, i) => s + (v - muB[i]!) ** 2, 0);
    expect(frechetDistance(muA, covA, muB, covA)).toBeCloseTo(expected, 8);
  });

  it('matches the closed form for diagonal covariances: Σ (√a − √b)²', () => {
    const a = Float64Array.from({ length: d }, (_, i) => 0.5 + i);
    const b = Float64Array.from({ length: d }, (_, i) => 3 / (1 + i));
    const diag = (v: Float64Array) => {
      const m = new Float64Array(d * d);
      v.forEach((x, i) => (m[i * d + i] = x));
      return m;
    };
    const meanTerm = muA.reduce((s, v, i) => s + (v - muB[i]!) ** 2, 0);
    const covTerm = a.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(b[i]!)) ** 2, 0);
    expect(frechetDistance(muA, diag(a), muB, diag(b))).toBeCloseTo(meanTerm + covTerm, 10);
  });

  it('matches the 2×2 closed form Tr√(Σ₁Σ₂) = √(tr(Σ₁Σ₂) + 2√(det Σ₁ det Σ₂)) for non-commuting covariances', () => {
    const s1 = [2, 0.7, 0.7, 1];
    const s2 = [0.5, -0.3, -0.3, 3];
    const prod = matmul(s1, s2, 2);
    const det = (m: number[]) => m[0]! * m[3]! - m[1]! * m[2]!;
    const expected = Math.sqrt(trace(prod, 2) + 2 * Math.sqrt(det(s1) * det(s2)));
    expect(traceSqrtProduct(s1, s2, 2)).toBeCloseTo(expected, 12);
    const fd = frechetDistance([0, 0], s1, [1, 2], s2);
    expect(fd).toBeCloseTo(5 + 3 + 3.5 - 2 * expected, 12);
  });

  it('scales as √α: Tr√(Σ · αΣ) = √α Tr Σ, and is symmetric in its arguments', () => {
    const scaled = covA.map((v) => 4 * v);
    expect(traceSqrtProduct(covA, scaled, d)).toBeCloseTo(2 * trace(covA, d), 8);
    const ab = frechetDistance(muA, covA, muB, covB);
    const ba = frechetDistance(muB, covB, muA, covA);
    expect(ab).toBeGreaterThan(0);
    expect(Math.abs(ab - ba) / ab).toBeLessThan(1e-10);
  });

  it('handles singular (rank-deficient) covariances, as from fewer samples than features', () => {
    // 5 samples in 16 dimensions: rank ≤ 4. FD with itself is still ~0, and never negative.
    const r = rng(3);
    const x = Float64Array.from({ length: 5 * d }, () => r());
    const s = featureStats(x, 5, d);
    expect(frechetDistanceOf(s, s)).toBeLessThan(1e-9);
    const t = featureStats(
      x.map((v) => v + 0.5),
      5,
      d,
    );
    // √ of eigenvalues that are zero up to rounding (~1e-16) contributes ~1e-8: the accuracy limit here.
    expect(frechetDistanceOf(s, t)).toBeCloseTo(d * 0.25, 6);
  });

  it('converges to the true distance for samples of two Gaussians', () => {
    // N(0, I) vs N(1, 4I) in 3-D: FD = 3·1² + 3·(1 − 2)² = 6.
    const r = rng(11);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const n = 20000;
    const a = Float64Array.from({ length: n * 3 }, gauss);
    const b = Float64Array.from({ length: n * 3 }, () => 1 + 2 * gauss());
    const fd = frechetDistanceOf(featureStats(a, n, 3), featureStats(b, n, 3));
    // Sampling error of the means and variances at this n is a few percent.
    expect(fd).toBeGreaterThan(5.7);
    expect(fd).toBeLessThan(6.3);
  });

  it('rejects mismatched sizes', () => {
    expect(() => frechetDistance([0, 0], [1, 0, 0, 1], [0, 0, 0], [1, 0, 0, 0, 1, 0, 0, 0, 1])).toThrow(
      /means have different lengths \(2 and 3\)/,
    );
    expect(() => frechetDistance([0, 0], [1, 0, 0], [0, 0], [1, 0, 0, 1])).toThrow(/first covariance.*2×2/);
  });
});

describe('formatEvaluation', () => {
  it('names missing classes and both distances', () => {
    const text = formatEvaluation(
      {
        samples: 100,
        threshold: 0.9,
        coverage: { count: 9, classes: [0, 1, 2, 3, 4, 5, 6, 8, 9], missing: [7], confidentCounts: [] },
        confidentRate: 0.8,
        classHistogram: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
        fd: 12.5,
        fdRealVsRealBaseline: 1.25,
        fdSamples: 100,
        fdReferenceSamples: 750,
        testAccuracy: 0.985,
      },
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
    );
    expect(text).toContain('9/10 classes');
    expect(text).toContain('missing: h');
    expect(text).toContain('80.0%');
    expect(text).toContain('12.500');
    expect(text).toContain('1.250');
    expect(text).toContain('98.50%');
  });
});
