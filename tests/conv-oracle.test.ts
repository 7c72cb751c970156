/**
 * conv2d / convTranspose2d against an independent implementation: TensorFlow.js on its CPU backend. tfjs is
 * channels-last, so inputs go NCHW → NHWC and back, and weights are re-laid-out (tfjs conv2d filter
 * [kh, kw, in, out]; conv2dTranspose filter [kh, kw, outChannels, inChannels]). Gradients come from tf.grads of
 * the same weighted-sum loss that our autograd differentiates.
 */
import { describe, it, beforeAll, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Tensor, tidy } from '../src/tensor/index.ts';
import { conv2d, convTranspose2d } from '../src/tensor/conv.ts';
import { useEngine, randomArray, expectClose, size } from './helpers.ts';

useEngine();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Shape4 = [number, number, number, number];
type Pair = [number, number];

const toNHWC = (data: Float64Array, s: Shape4) =>
  tf.tensor4d(Float32Array.from(data), s).transpose([0, 2, 3, 1]) as tf.Tensor4D;
/** Both layouts have (kh, kw) last in torch and first in tfjs, with the two channel dims swapped. */
const toTfFilter = (data: Float64Array, s: Shape4) =>
  tf.tensor4d(Float32Array.from(data), s).transpose([2, 3, 1, 0]) as tf.Tensor4D;
const fromNHWC = (t: tf.Tensor) => t.transpose([0, 3, 1, 2]).dataSync();
const fromTfFilter = (t: tf.Tensor) => t.transpose([3, 2, 0, 1]).dataSync();

/** Our forward, and the gradients of L = Σ y·weights with respect to x and w. */
async function ours(
  kind: 'conv' | 'convT',
  x: Float64Array,
  xs: Shape4,
  w: Float64Array,
  ws: Shape4,
  weights: Float64Array | null,
  opts: object,
) {
  const X = Tensor.fromArray(Float32Array.from(x), xs).requireGrad();
  const W = Tensor.fromArray(Float32Array.from(w), ws).requireGrad();
  const Y = tidy(() => {
    const y = kind === 'conv' ? conv2d(X, W, null, opts) : convTranspose2d(X, W, null, opts);
    if (weights)
      y.mul(Tensor.fromArray(Float32Array.from(weights), y.shape))
        .sum()
        .backward();
    return y;
  });
  const res = {
    shape: [...Y.shape],
    y: await Y.toArray(),
    dx: weights ? await X.grad!.toArray() : null,
    dw: weights ? await W.grad!.toArray() : null,
  };
  for (const t of [X, W, Y]) {
    t.zeroGrad();
    t.dispose();
  }
  return res;
}

interface ConvCase {
  x: Shape4;
  w: Shape4;
  stride: Pair;
  padding: Pair;
  dilation?: Pair;
}

const CONV: ConvCase[] = [
  { x: [2, 3, 9, 8], w: [5, 3, 3, 3], stride: [1, 1], padding: [1, 1] },
  { x: [3, 4, 10, 11], w: [6, 4, 4, 4], stride: [2, 2], padding: [1, 1] },
  { x: [1, 2, 11, 9], w: [3, 2, 5, 3], stride: [3, 2], padding: [2, 1] },
  { x: [2, 17, 6, 6], w: [20, 17, 3, 3], stride: [1, 1], padding: [0, 0] },
];

describe('conv2d matches tfjs (cpu backend): forward, dx, dw', () => {
  for (const c of CONV) {
    it(`x ${c.x} w ${c.w} stride ${c.stride} padding ${c.padding}`, async () => {
      const x = randomArray(size(c.x), 1),
        w = randomArray(size(c.w), 2);
      const Ho = Math.floor((c.x[2] + 2 * c.padding[0] - c.w[2]) / c.stride[0]) + 1;
      const Wo = Math.floor((c.x[3] + 2 * c.padding[1] - c.w[3]) / c.stride[1]) + 1;
      const yShape: Shape4 = [c.x[0], c.w[0], Ho, Wo];
      const weights = randomArray(size(yShape), 3);
      const got = await ours('conv', x, c.x, w, c.w, weights, { stride: c.stride, padding: c.padding });
      expect(got.shape).toEqual(yShape);
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [c.padding[0], c.padding[0]],
        [c.padding[1], c.padding[1]],
        [0, 0],
      ];
      const f = (xt: tf.Tensor4D, wt: tf.Tensor4D) => tf.conv2d(xt, wt, c.stride, pad);
      const xt = toNHWC(x, c.x),
        wt = toTfFilter(w, c.w),
        weightsT = toNHWC(weights, yShape);
      expectClose(got.y, fromNHWC(f(xt, wt)), 1e-4);
      const [dx, dw] = tf.grads((a, b) =>
        f(a as tf.Tensor4D, b as tf.Tensor4D)
          .mul(weightsT)
          .sum(),
      )([xt, wt]);
      expectClose(got.dx!, fromNHWC(dx), 1e-4);
      expectClose(got.dw!, fromTfFilter(dw), 1e-4);
    });
  }

  it('dilated forward (tfjs has no gradient for dilation > 1)', async () => {
    const xs: Shape4 = [2, 3, 12, 10],
      ws: Shape4 = [4, 3, 3, 3];
    const x = randomArray(size(xs), 4),
      w = randomArray(size(ws), 5);
    const got = await ours('conv', x, xs, w, ws, null, { dilation: [2, 3], padding: [2, 3] });
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [2, 2],
      [3, 3],
      [0, 0],
    ];
    const want = tf.conv2d(toNHWC(x, xs), toTfFilter(w, ws), 1, pad, 'NHWC', [2, 3]);
    expect(got.shape).toEqual([2, 4, 12, 10]);
    expectClose(got.y, fromNHWC(want), 1e-4);
  });
});

interface ConvTCase {
  x: Shape4;
  w: Shape4;
  stride: Pair;
  padding: Pair;
  outputPadding: Pair;
}

const CONVT: ConvTCase[] = [
  { x: [2, 3, 3, 3], w: [3, 4, 3, 3], stride: [2, 2], padding: [0, 0], outputPadding: [0, 0] },
  { x: [2, 4, 5, 5], w: [4, 2, 3, 3], stride: [2, 2], padding: [2, 2], outputPadding: [1, 1] },
  { x: [1, 3, 4, 6], w: [3, 2, 4, 4], stride: [2, 2], padding: [1, 1], outputPadding: [0, 0] },
  { x: [2, 5, 3, 4], w: [5, 6, 3, 2], stride: [3, 2], padding: [1, 0], outputPadding: [2, 1] },
];

describe('convTranspose2d matches tfjs conv2dTranspose (cpu backend): forward, dx, dw', () => {
  for (const c of CONVT) {
    it(`x ${c.x} w ${c.w} stride ${c.stride} padding ${c.padding} outputPadding ${c.outputPadding}`, async () => {
      const x = randomArray(size(c.x), 6),
        w = randomArray(size(c.w), 7);
      const [N, , H, W] = c.x;
      const [, Cout, kh, kw] = c.w;
      // torch: (H−1)s − 2p + k + op. tfjs computes the unpadded output (H−1)s + k (+ op extra rows asked for via
      // outputShape); torch's result is that cropped by p at the top/left.
      const Ho = (H - 1) * c.stride[0] - 2 * c.padding[0] + kh + c.outputPadding[0];
      const Wo = (W - 1) * c.stride[1] - 2 * c.padding[1] + kw + c.outputPadding[1];
      const full: [number, number, number, number] = [
        N,
        (H - 1) * c.stride[0] + kh + c.outputPadding[0],
        (W - 1) * c.stride[1] + kw + c.outputPadding[1],
        Cout,
      ];
      const yShape: Shape4 = [N, Cout, Ho, Wo];
      const weights = randomArray(size(yShape), 8);
      const got = await ours('convT', x, c.x, w, c.w, weights, {
        stride: c.stride,
        padding: c.padding,
        outputPadding: c.outputPadding,
      });
      expect(got.shape).toEqual(yShape);
      const f = (xt: tf.Tensor4D, wt: tf.Tensor4D) =>
        tf
          .conv2dTranspose(xt, wt, full, c.stride, 'valid')
          .slice([0, c.padding[0], c.padding[1], 0], [N, Ho, Wo, Cout]);
      const xt = toNHWC(x, c.x),
        wt = toTfFilter(w, c.w),
        weightsT = toNHWC(weights, yShape);
      expectClose(got.y, fromNHWC(f(xt, wt)), 1e-4);
      const [dx, dw] = tf.grads((a, b) =>
        f(a as tf.Tensor4D, b as tf.Tensor4D)
          .mul(weightsT)
          .sum(),
      )([xt, wt]);
      expectClose(got.dx!, fromNHWC(dx), 1e-4);
      expectClose(got.dw!, fromTfFilter(dw), 1e-4);
    });
  }
});
