/**
 * The growing GANs' ops against an independent implementation (issue 20, item 4): each op written as the ProGAN
 * paper's code computes it, from TensorFlow.js's own ops on its CPU backend, and differentiated by tf.grads. Our
 * forward and the gradients our autograd takes of the same weighted-sum loss must match.
 *
 *   pixel norm:       x · rsqrt(mean over channels of x² + ε)
 *   minibatch stddev: x viewed as [G, M, C, H, W] (sample n = g·M + m), centred over g, √(mean over g of the
 *                     square + ε), averaged over C, H, W to one value per m, tiled to [N, 1, H, W], concatenated
 *                     after the channels
 *   fade:             lerp(a, b, α) = a + (b − a)·α
 *
 * These are the formulas of tests/gan-ops.test.ts's float64 references too, but here the sums, the broadcasts and
 * the derivatives are tfjs's, not ours.
 */
import { describe, it, beforeAll, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Tensor, tidy } from '../src/tensor/index.ts';
import { pixelNorm, minibatchStddev, fade } from '../src/tensor/gan-ops.ts';
import { useEngine, randomArray, expectClose, size } from './helpers.ts';

useEngine();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const EPS = 1e-8;

/** Our op's output and the gradients of Σ y·weights with respect to each input. */
async function ours(
  op: (xs: Tensor[]) => Tensor,
  inputs: { data: Float64Array; shape: number[] }[],
  weights: Float64Array,
) {
  const xs = inputs.map((i) => Tensor.fromArray(Float32Array.from(i.data), i.shape).requireGrad());
  const y = tidy(() => {
    const out = op(xs);
    out
      .mul(Tensor.fromArray(Float32Array.from(weights), out.shape))
      .sum()
      .backward();
    return out;
  });
  const res = { shape: [...y.shape], y: await y.toArray(), grads: [] as Float32Array[] };
  for (const x of xs) res.grads.push(await x.grad!.toArray());
  for (const t of [...xs, y]) {
    t.zeroGrad();
    t.dispose();
  }
  return res;
}

/** tfjs's output and gradients of the same loss. */
function theirs(
  op: (xs: tf.Tensor[]) => tf.Tensor,
  inputs: { data: Float64Array; shape: number[] }[],
  weights: Float64Array,
) {
  return tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(Float32Array.from(i.data), i.shape));
    const y = op(xs);
    const w = tf.tensor(Float32Array.from(weights), y.shape);
    const grads = tf.grads((...a: tf.Tensor[]) => op(a).mul(w).sum())(xs);
    return { shape: y.shape, y: y.dataSync(), grads: grads.map((g) => g.dataSync()) };
  });
}

const tfPixelNorm = (x: tf.Tensor) => x.mul(tf.rsqrt(x.square().mean(1, true).add(EPS)));

function tfMinibatchStddev(x: tf.Tensor, G: number): tf.Tensor {
  const [N, C, H, W] = x.shape;
  const M = N / G;
  const y = x.reshape([G, M, C, H, W]);
  const centred = y.sub(y.mean(0, true));
  const sd = centred.square().mean(0).add(EPS).sqrt(); // [M, C, H, W]
  const perGroup = sd.mean([1, 2, 3]).reshape([1, M, 1, 1]);
  const stat = perGroup.tile([G, 1, H, W]).reshape([N, 1, H, W]); // [G, M, H, W] read as n = g·M + m
  return tf.concat([x, stat], 1);
}

const tfLerp = (a: tf.Tensor, b: tf.Tensor, alpha: number) => a.add(b.sub(a).mul(alpha));

describe('pixelNorm matches tfjs (cpu backend): forward and dx', () => {
  for (const shape of [
    [2, 5, 3, 7],
    [3, 17],
    [4, 64, 4, 4],
  ]) {
    it(`x ${shape}`, async () => {
      const x = { data: randomArray(size(shape), 1, -2, 2), shape };
      const weights = randomArray(size(shape), 2);
      const got = await ours(([t]) => pixelNorm(t), [x], weights);
      const want = theirs(([t]) => tfPixelNorm(t), [x], weights);
      expect(got.shape).toEqual(want.shape);
      expectClose(got.y, want.y, 1e-5, 'y');
      expectClose(got.grads[0], want.grads[0], 1e-4, 'dx');
    });
  }
});

describe('minibatchStddev matches tfjs (cpu backend): forward and dx', () => {
  const cases: [number[], number][] = [
    [[4, 3, 5, 2], 4],
    [[6, 2, 3, 3], 2],
    [[8, 5, 4, 4], 4],
    [[3, 7, 2, 5], 1],
  ];
  for (const [shape, G] of cases) {
    it(`x ${shape}, groups of ${G}`, async () => {
      const x = { data: randomArray(size(shape), 3, -2, 2), shape };
      const outShape = [shape[0], shape[1] + 1, shape[2], shape[3]];
      const weights = randomArray(size(outShape), 4);
      const got = await ours(([t]) => minibatchStddev(t, G), [x], weights);
      const want = theirs(([t]) => tfMinibatchStddev(t, G), [x], weights);
      expect(got.shape).toEqual(outShape);
      expect(want.shape).toEqual(outShape);
      expectClose(got.y, want.y, 1e-5, 'y');
      // With groups of 1 every deviation is exactly 0 and so is the gradient through √(0 + ε), in both: dx is the
      // weights of x's own channels, bit for bit.
      if (G === 1) {
        const own = outShape[1]! - 1;
        const passed = Float32Array.from(weights).filter(
          (_, i) => i % (outShape[1]! * shape[2]! * shape[3]!) < own * shape[2]! * shape[3]!,
        );
        expect(Array.from(got.grads[0])).toEqual(Array.from(passed));
        expect(Array.from(want.grads[0])).toEqual(Array.from(passed));
      } else expectClose(got.grads[0], want.grads[0], 1e-4, 'dx');
    });
  }
});

describe('fade matches tfjs lerp (cpu backend): forward, da and db', () => {
  for (const alpha of [0, 0.3, 0.875, 1]) {
    it(`α = ${alpha}`, async () => {
      const shape = [2, 3, 5, 4];
      const a = { data: randomArray(size(shape), 5), shape };
      const b = { data: randomArray(size(shape), 6), shape };
      const weights = randomArray(size(shape), 7);
      const got = await ours(([p, q]) => fade(p, q, alpha), [a, b], weights);
      const want = theirs(([p, q]) => tfLerp(p, q, alpha), [a, b], weights);
      expectClose(got.y, want.y, 1e-6, 'y');
      if (alpha === 0) expect(Array.from(got.y)).toEqual(Array.from(Float32Array.from(a.data)));
      if (alpha === 1) expect(Array.from(got.y)).toEqual(Array.from(Float32Array.from(b.data)));
      // at α = 1 (0) the gradient of a (b) is all zeros: there the comparison is absolute
      for (const [k, zero] of [
        [0, alpha === 1],
        [1, alpha === 0],
      ] as const) {
        if (zero) expect(got.grads[k].every((v, i) => v === 0 && want.grads[k][i] === 0)).toBe(true);
        else expectClose(got.grads[k], want.grads[k], 1e-6, k === 0 ? 'da' : 'db');
      }
    });
  }
});
