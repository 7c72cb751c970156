/**
 * Sample-quality metrics for generated images, computed from a classifier's outputs on the CPU in float64.
 *
 *   classHistogram   how many samples the classifier assigns to each class (argmax)
 *   confidentRate    the fraction of samples whose top class probability reaches a threshold
 *   classCoverage    which classes at least `minCount` confident samples land in; a generator that has
 *                    collapsed onto a few modes leaves the other classes empty
 *   frechetDistance  ‖μ₁−μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2}) between Gaussians fitted to classifier features
 *                    (the FID recipe, with our own classifier's penultimate layer instead of Inception's)
 *
 * The matrix square root is never formed from the non-symmetric product Σ₁Σ₂: its trace equals the trace
 * of (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}, a symmetric positive semi-definite matrix, so two symmetric
 * eigendecompositions (cyclic Jacobi, below) give it stably, without complex numbers.
 *
 * Matrices here are row-major Float64Arrays of a square size d. Nothing in this file touches the GPU,
 * except `evaluateSamples`, which runs the classifier.
 */
import { permutation, type Dataset } from '../data/dataset.ts';
import type { Tensor } from '../tensor/index.ts';
import type { Classifier, ClassifierOutputs } from './classifier.ts';
import { formatShape } from '../tensor/shape.ts';

// ---------------------------------------------------------------------------------------------------------
// Class probabilities

/** Row-wise softmax of [n, k] logits, in float64 (subtracting each row's max so exp cannot overflow). */
export function softmaxRows(logits: ArrayLike<number>, numClasses: number): Float64Array {
  const n = rowCount(logits, numClasses, 'softmaxRows');
  const out = new Float64Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const row = i * numClasses;
    let max = -Infinity;
    for (let j = 0; j < numClasses; j++) max = Math.max(max, logits[row + j]!);
    let total = 0;
    for (let j = 0; j < numClasses; j++) total += out[row + j] = Math.exp(logits[row + j]! - max);
    for (let j = 0; j < numClasses; j++) out[row + j]! /= total;
  }
  return out;
}

function rowCount(values: ArrayLike<number>, numClasses: number, fn: string): number {
  if (!(Number.isInteger(numClasses) && numClasses > 0))
    throw new Error(`${fn}: number of classes must be a positive integer, got ${numClasses}`);
  if (values.length % numClasses !== 0)
    throw new Error(`${fn}: ${values.length} values do not form rows of ${numClasses} classes`);
  return values.length / numClasses;
}

function checkThreshold(threshold: number, fn: string): void {
  if (!(threshold >= 0 && threshold <= 1))
    throw new Error(`${fn}: threshold must be a probability in [0, 1], got ${threshold}`);
}

/** The top class of each row and its probability. */
export function topClasses(
  probs: ArrayLike<number>,
  numClasses: number,
): { classes: Int32Array; confidence: Float64Array } {
  const n = rowCount(probs, numClasses, 'topClasses');
  const classes = new Int32Array(n);
  const confidence = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < numClasses; j++) if (probs[i * numClasses + j]! > probs[i * numClasses + best]!) best = j;
    classes[i] = best;
    confidence[i] = probs[i * numClasses + best]!;
  }
  return { classes, confidence };
}

/** Number of samples whose top class is each class (all samples, confident or not). */
export function classHistogram(probs: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const c of topClasses(probs, numClasses).classes) counts[c]!++;
  return counts;
}

/** Fraction of samples whose top class probability is at least `threshold` (0 for no samples). */
export function confidentRate(probs: ArrayLike<number>, numClasses: number, threshold = 0.9): number {
  checkThreshold(threshold, 'confidentRate');
  const { confidence } = topClasses(probs, numClasses);
  if (confidence.length === 0) return 0;
  let confident = 0;
  for (const p of confidence) if (p >= threshold) confident++;
  return confident / confidence.length;
}

export interface Coverage {
  /** How many classes are covered. */
  count: number;
  /** The covered classes, ascending. */
  classes: number[];
  /** The classes no confident sample falls into (the modes a collapsed generator dropped). */
  missing: number[];
  /** Confident samples per class. */
  confidentCounts: number[];
}

/**
 * The classes that at least `minCount` samples are assigned to with probability ≥ `threshold`. Counting only
 * confident samples keeps blurry in-between images from "covering" a class by accident.
 */
export function classCoverage(
  probs: ArrayLike<number>,
  numClasses: number,
  opts: { threshold?: number; minCount?: number } = {},
): Coverage {
  const threshold = opts.threshold ?? 0.9;
  const minCount = opts.minCount ?? 1;
  checkThreshold(threshold, 'classCoverage');
  if (!(Number.isInteger(minCount) && minCount >= 1))
    throw new Error(`classCoverage: minCount must be a positive integer, got ${minCount}`);
  const { classes, confidence } = topClasses(probs, numClasses);
  const confidentCounts = new Array<number>(numClasses).fill(0);
  classes.forEach((c, i) => {
    if (confidence[i]! >= threshold) confidentCounts[c]!++;
  });
  const covered: number[] = [];
  const missing: number[] = [];
  confidentCounts.forEach((count, c) => (count >= minCount ? covered : missing).push(c));
  return { count: covered.length, classes: covered, missing, confidentCounts };
}

// ---------------------------------------------------------------------------------------------------------
// Gaussian statistics of features

export interface FeatureStats {
  /** Feature dimension d. */
  dim: number;
  /** Number of samples the statistics were computed from. */
  count: number;
  mean: Float64Array;
  /** Sample covariance (denominator n − 1), d×d row-major. */
  cov: Float64Array;
}

/**
 * Mean and unbiased covariance of n feature vectors of dimension d (row-major [n, d]). Two passes in float64:
 * the covariance is accumulated from centred values, which avoids the cancellation of E[xxᵀ] − μμᵀ.
 */
export function featureStats(features: ArrayLike<number>, n: number, d: number): FeatureStats {
  if (!(Number.isInteger(n) && n >= 2))
    throw new Error(`featureStats: need at least 2 samples for a covariance, got n=${n}`);
  if (!(Number.isInteger(d) && d >= 1))
    throw new Error(`featureStats: feature dimension must be a positive integer, got d=${d}`);
  if (features.length !== n * d)
    throw new Error(`featureStats: ${features.length} values cannot be [n=${n}, d=${d}] (${n * d} values)`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += features[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = features[i * d + j]!;
      if (!Number.isFinite(v)) throw new Error(`featureStats: feature ${j} of sample ${i} is ${v}`);
      centred[j] = v - mean[j]!;
    }
    // Upper triangle only; mirrored below.
    for (let a = 0; a < d; a++) {
      const ca = centred[a]!;
      if (ca === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) cov[row + b]! += ca * centred[b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { dim: d, count: n, mean, cov };
}

// ---------------------------------------------------------------------------------------------------------
// Symmetric eigendecomposition (cyclic Jacobi) and the Fréchet distance

export interface SymmetricEigen {
  /** Eigenvalues, in the order of the columns of `vectors` (not sorted). */
  values: Float64Array;
  /** Orthonormal eigenvectors as the columns of a d×d row-major matrix V, so that A = V diag(values) Vᵀ. */
  vectors: Float64Array;
  /** Sweeps used until the off-diagonal part vanished. */
  sweeps: number;
}

function checkSquare(a: ArrayLike<number>, d: number, fn: string): void {
  if (!(Number.isInteger(d) && d >= 1) || a.length !== d * d)
    throw new Error(`${fn}: expected a ${d}×${d} matrix (${d * d} values), got ${a.length} values`);
}

/**
 * Eigendecomposition of a symmetric d×d matrix by the cyclic Jacobi method: sweep over every off-diagonal
 * pair (p, q) and apply the plane rotation that zeroes a_pq, accumulating the rotations into V. Each sweep
 * costs O(d³) and convergence is quadratic once the off-diagonal entries are small, so 6–10 sweeps are
 * typical. Jacobi is slower than tridiagonal QR but short, and it computes small eigenvalues to high
 * relative accuracy, which matters for the near-singular covariances of classifier features.
 */
export function symmetricEigen(
  matrix: ArrayLike<number>,
  d: number,
  opts: { maxSweeps?: number } = {},
): SymmetricEigen {
  checkSquare(matrix, d, 'symmetricEigen');
  const a = Float64Array.from(matrix);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const x = a[i * d + j]!;
      const y = a[j * d + i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y))
        throw new Error(`symmetricEigen: entry (${i}, ${j}) is not finite`);
      if (Math.abs(x - y) > 1e-8 * Math.max(1, Math.abs(x), Math.abs(y)))
        throw new Error(`symmetricEigen: matrix is not symmetric at (${i}, ${j}): ${x} vs ${y}`);
      const mid = 0.5 * (x + y);
      a[i * d + j] = mid;
      a[j * d + i] = mid;
    }
  }
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  const maxSweeps = opts.maxSweeps ?? 60;
  let total = 0;
  for (let i = 0; i < d * d; i++) total += a[i]! * a[i]!;
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p * d + q]! * a[p * d + q]!;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        const app = a[p * d + p]!;
        const aqq = a[q * d + q]!;
        // Rotation angle from cot(2φ) = (a_qq − a_pp) / (2 a_pq); take the smaller root t = tan φ for stability.
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J, with J the identity except J_pp = J_qq = c, J_pq = s, J_qp = −s.
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!;
          const akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!;
          const aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        a[p * d + q] = 0;
        a[q * d + p] = 0;
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!;
          const vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  if (sweeps === maxSweeps) throw new Error(`symmetricEigen: no convergence after ${maxSweeps} sweeps (d=${d})`);
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i]!;
  return { values, vectors: v, sweeps };
}

/** V diag(f(λ)) Vᵀ: a function applied to a symmetric matrix through its eigendecomposition. */
function applyToEigen(e: SymmetricEigen, d: number, f: (lambda: number) => number): Float64Array {
  const fv = e.values.map(f);
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += e.vectors[i * d + k]! * fv[k]! * e.vectors[j * d + k]!;
      out[i * d + j] = s;
      out[j * d + i] = s;
    }
  }
  return out;
}

/** Row-major d×d product. */
function matmulSquare(x: Float64Array, y: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const xik = x[i * d + k]!;
      if (xik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j]! += xik * y[k * d + j]!;
    }
  }
  return out;
}

/**
 * The square root of a symmetric positive semi-definite matrix. Eigenvalues that rounding pushed slightly
 * below zero are treated as zero.
 */
export function symmetricSqrt(matrix: ArrayLike<number>, d: number): Float64Array {
  return applyToEigen(symmetricEigen(matrix, d), d, (l) => Math.sqrt(Math.max(l, 0)));
}

/**
 * Tr((Σ₁Σ₂)^{1/2}) for symmetric PSD Σ₁, Σ₂, computed as Tr((Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}): the two products
 * are similar matrices (same eigenvalues), and the second one is symmetric PSD.
 */
export function traceSqrtProduct(covA: ArrayLike<number>, covB: ArrayLike<number>, d: number): number {
  checkSquare(covA, d, 'traceSqrtProduct (first covariance)');
  checkSquare(covB, d, 'traceSqrtProduct (second covariance)');
  const rootA = symmetricSqrt(covA, d);
  const m = matmulSquare(matmulSquare(rootA, Float64Array.from(covB), d), rootA, d);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const mid = 0.5 * (m[i * d + j]! + m[j * d + i]!);
      m[i * d + j] = mid;
      m[j * d + i] = mid;
    }
  }
  const { values } = symmetricEigen(m, d);
  let trace = 0;
  for (const l of values) trace += Math.sqrt(Math.max(l, 0));
  return trace;
}

/**
 * Fréchet (2-Wasserstein) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂):
 * ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁Σ₂)^{1/2}). It is a squared distance, so it is ≥ 0 up to rounding
 * (tiny negative results are clamped to 0).
 */
export function frechetDistance(
  muA: ArrayLike<number>,
  covA: ArrayLike<number>,
  muB: ArrayLike<number>,
  covB: ArrayLike<number>,
): number {
  const d = muA.length;
  if (muB.length !== d) throw new Error(`frechetDistance: means have different lengths (${d} and ${muB.length})`);
  checkSquare(covA, d, 'frechetDistance (first covariance)');
  checkSquare(covB, d, 'frechetDistance (second covariance)');
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (muA[i]! - muB[i]!) ** 2;
  let traces = 0;
  for (let i = 0; i < d; i++) traces += covA[i * d + i]! + covB[i * d + i]!;
  const fd = meanTerm + traces - 2 * traceSqrtProduct(covA, covB, d);
  return Math.max(fd, 0);
}

/** Fréchet distance between two sets of feature statistics. */
export function frechetDistanceOf(a: FeatureStats, b: FeatureStats): number {
  if (a.dim !== b.dim) throw new Error(`frechetDistance: feature dimensions differ (${a.dim} and ${b.dim})`);
  return frechetDistance(a.mean, a.cov, b.mean, b.cov);
}

// ---------------------------------------------------------------------------------------------------------
// Evaluating generated samples

export interface SampleEvaluation {
  /** Number of generated samples scored. */
  samples: number;
  /** Probability a sample's top class needs to count as confident. */
  threshold: number;
  coverage: Coverage;
  confidentRate: number;
  /** Top-class counts over all generated samples. */
  classHistogram: number[];
  /** Fréchet distance between the first `fdSamples` generated samples and reference half B of the test set. */
  fd: number;
  /** The same distance for real images: half A of the test set (fdSamples of them) against half B. */
  fdRealVsRealBaseline: number;
  /** How many images each side of both distances used (equal, so that their finite-sample bias is equal). */
  fdSamples: number;
  /** Size of reference half B. */
  fdReferenceSamples: number;
  /** Classifier accuracy on the test set, or on `accuracySet` when given (a sanity check that the classifier suits this data). */
  testAccuracy: number;
}

export interface EvaluateOptions {
  /** Confidence threshold for coverage and confident rate (default 0.9). */
  threshold?: number;
  /** Confident samples a class needs to count as covered (default 1). */
  minCount?: number;
  /** Seed of the split of the test set into halves A and B (default 0). */
  splitSeed?: number;
  /**
   * Labelled images the classifier's accuracy is measured on, when they are not `testSet` itself: a labelled
   * folder is scored against all its images (the GAN trained on all of them) while the classifier's accuracy is
   * that of its held-out split.
   */
  accuracySet?: Dataset;
  /**
   * The classifier's outputs on `testSet` (and logits on `accuracySet`) from an earlier call with the same classifier
   * and images, so that repeated scoring (`train --eval-every`) runs the classifier on the samples only.
   */
  realOutputs?: ClassifierOutputs;
  accuracySetLogits?: Float32Array;
}

/**
 * Scores generated images [n, 1, 28, 28] in [−1, 1] (a tensor or its values) with a trained classifier.
 *
 * The test set is split (seeded, disjoint) into halves A and B. B is the reference for both Fréchet
 * distances: FD(generated, B) and FD(A, B), each with the same number m = min(n, |A|) of images on the
 * left, so the real-vs-real value is the floor an ideal generator would reach with this many samples.
 */
export async function evaluateSamples(
  classifier: Classifier,
  samples: Tensor | Float32Array,
  testSet: Dataset,
  opts: EvaluateOptions = {},
): Promise<SampleEvaluation> {
  const threshold = opts.threshold ?? 0.9;
  checkThreshold(threshold, 'evaluateSamples');
  const imageSize = classifier.config.imageSize;
  const pixels = imageSize * imageSize * classifier.config.channels;
  const values = samples instanceof Float32Array ? samples : await samples.toArray();
  if (!(samples instanceof Float32Array)) {
    const want = [classifier.config.channels, imageSize, imageSize];
    if (samples.rank !== 4 || samples.shape.slice(1).some((s, i) => s !== want[i])) {
      throw new Error(
        `evaluateSamples: samples must have shape [n, ${want.join(', ')}], got ${formatShape(samples.shape)}`,
      );
    }
  }
  if (values.length === 0 || values.length % pixels !== 0) {
    throw new Error(
      `evaluateSamples: ${values.length} sample values are not a whole number of ${classifier.config.channels}×${imageSize}×${imageSize} images`,
    );
  }
  if (testSet.c * testSet.h * testSet.w !== pixels) {
    throw new Error(
      `evaluateSamples: test set '${testSet.name}' has ${testSet.c}×${testSet.h}×${testSet.w} images, the classifier takes ${classifier.config.channels}×${imageSize}×${imageSize}`,
    );
  }
  if (testSet.n < 4)
    throw new Error(
      `evaluateSamples: test set '${testSet.name}' has ${testSet.n} images, need at least 4 to split it in halves`,
    );
  const n = values.length / pixels;
  const k = classifier.config.numClasses;

  const generated = await classifier.run(values, n);
  const real = opts.realOutputs ?? (await classifier.run(testSet.images, testSet.n));
  if (real.features.length !== testSet.n * classifier.config.hidden)
    throw new Error(`evaluateSamples: realOutputs hold ${real.features.length} features, not ${testSet.n} rows`);
  const probs = softmaxRows(generated.logits, k);

  const accuracySet = opts.accuracySet ?? testSet;
  if (accuracySet.c * accuracySet.h * accuracySet.w !== pixels)
    throw new Error(
      `evaluateSamples: accuracy set '${accuracySet.name}' has ${accuracySet.c}×${accuracySet.h}×${accuracySet.w} images, the classifier takes ${classifier.config.channels}×${imageSize}×${imageSize}`,
    );
  let correct = 0;
  if (accuracySet.labels) {
    const logits = opts.accuracySet
      ? (opts.accuracySetLogits ?? (await classifier.run(accuracySet.images, accuracySet.n)).logits)
      : real.logits;
    const { classes } = topClasses(logits, k);
    classes.forEach((c, i) => {
      if (c === accuracySet.labels![i]) correct++;
    });
  }

  const order = permutation(testSet.n, opts.splitSeed ?? 0);
  const halfA = order.subarray(0, Math.floor(testSet.n / 2));
  const halfB = order.subarray(Math.floor(testSet.n / 2));
  const m = Math.min(n, halfA.length);
  const d = classifier.config.hidden;
  const rows = (source: Float32Array, indices: ArrayLike<number>) => {
    const out = new Float32Array(indices.length * d);
    for (let i = 0; i < indices.length; i++) out.set(source.subarray(indices[i]! * d, (indices[i]! + 1) * d), i * d);
    return out;
  };
  const reference = featureStats(rows(real.features, halfB), halfB.length, d);
  const genStats = featureStats(generated.features.subarray(0, m * d), m, d);
  const realStats = featureStats(rows(real.features, halfA.subarray(0, m)), m, d);

  return {
    samples: n,
    threshold,
    coverage: classCoverage(probs, k, {
      threshold,
      ...(opts.minCount !== undefined ? { minCount: opts.minCount } : {}),
    }),
    confidentRate: confidentRate(probs, k, threshold),
    classHistogram: classHistogram(probs, k),
    fd: frechetDistanceOf(genStats, reference),
    fdRealVsRealBaseline: frechetDistanceOf(realStats, reference),
    fdSamples: m,
    fdReferenceSamples: halfB.length,
    testAccuracy: accuracySet.labels ? correct / accuracySet.n : NaN,
  };
}

/** A short human-readable summary of an evaluation (for the CLI). */
export function formatEvaluation(e: SampleEvaluation, classNames?: readonly string[]): string {
  const name = (c: number) => classNames?.[c] ?? String(c);
  const lines = [
    `samples scored:      ${e.samples}`,
    `class coverage:      ${e.coverage.count}/${e.classHistogram.length} classes with a sample at p ≥ ${e.threshold}` +
      (e.coverage.missing.length ? ` (missing: ${e.coverage.missing.map(name).join(', ')})` : ''),
    `confident rate:      ${(100 * e.confidentRate).toFixed(1)}% of samples at p ≥ ${e.threshold}`,
    `class histogram:     ${e.classHistogram.map((c, i) => `${name(i)}:${c}`).join(' ')}`,
    `Fréchet distance:    ${e.fd.toFixed(3)} (generated vs real, ${e.fdSamples} vs ${e.fdReferenceSamples} images)`,
    `real-vs-real FD:     ${e.fdRealVsRealBaseline.toFixed(3)} (baseline, same sizes)`,
    `classifier accuracy: ${Number.isNaN(e.testAccuracy) ? 'n/a (unlabelled test set)' : `${(100 * e.testAccuracy).toFixed(2)}% on the test set`}`,
  ];
  return lines.join('\n');
}
