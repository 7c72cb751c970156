import { describe, it, expect } from 'vitest';
import { Tensor, tidy } from '../src/tensor/index.ts';
import { conv2d, convTranspose2d, conv2dOutputSize, convTranspose2dOutputSize, convTiles, type ConvTranspose2dOptions } from '../src/tensor/conv.ts';
import { useEngine, checkOp, randomArray, expectClose, size } from './helpers.ts';
import {
  refConv2d, refConvTranspose2d, refConv2dGrads, refConvTranspose2dGrads, refConv2dOutShape, refConvT2dOutShape,
  type ConvRefOpts, type ConvShapes,
} from './reference/conv.ts';

useEngine();

type Shape4 = [number, number, number, number];
interface Case {
  name: string;
  x: Shape4;
  w: Shape4;
  bias: boolean;
  opts: ConvTranspose2dOptions;
}

const p2 = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;
const refOpts = (o: ConvTranspose2dOptions): ConvRefOpts => ({
  stride: p2(o.stride, 1), padding: p2(o.padding, 0), dilation: p2(o.dilation, 1), outputPadding: p2(o.outputPadding, 0),
});

// Small shapes for finite differences: strides 1/2/3, paddings 0/1/2, dilation 1/2, odd sizes, batch 1,
// channel counts that are not multiples of 4, kernels 1/3/4/5, non-square everything.
const CONV_CASES: Case[] = [
  { name: 'k3 s1 p0', x: [2, 3, 6, 7], w: [5, 3, 3, 3], bias: true, opts: {} },
  { name: 'k3 s1 p1 batch 1', x: [1, 2, 5, 5], w: [3, 2, 3, 3], bias: true, opts: { padding: 1 } },
  { name: 'k1', x: [2, 5, 4, 3], w: [6, 5, 1, 1], bias: false, opts: {} },
  { name: 'k4 s2 p1 (DCGAN D)', x: [2, 2, 8, 8], w: [3, 2, 4, 4], bias: true, opts: { stride: 2, padding: 1 } },
  { name: 'k5 s3 p2', x: [1, 3, 11, 9], w: [2, 3, 5, 5], bias: false, opts: { stride: 3, padding: 2 } },
  { name: 'dilation 2', x: [2, 2, 7, 8], w: [3, 2, 3, 3], bias: true, opts: { dilation: 2, padding: 1 } },
  { name: 'non-square kernel, stride, padding, dilation', x: [1, 3, 9, 7], w: [9, 3, 3, 2], bias: true, opts: { stride: [2, 1], padding: [1, 2], dilation: [1, 2] } },
  { name: 'many out channels (several channel tiles)', x: [1, 3, 5, 4], w: [13, 3, 3, 3], bias: true, opts: { padding: 1 } },
];

const CONVT_CASES: Case[] = [
  { name: 'k3 s2 (DCGAN G)', x: [2, 3, 3, 3], w: [3, 5, 3, 3], bias: false, opts: { stride: 2 } },
  { name: 'k3 s2 p2 op1 (DCGAN G output layer)', x: [1, 4, 4, 4], w: [4, 1, 3, 3], bias: true, opts: { stride: 2, padding: 2, outputPadding: 1 } },
  { name: 'k3 s1 p1', x: [2, 2, 5, 4], w: [2, 3, 3, 3], bias: true, opts: { padding: 1 } },
  { name: 'k4 s2 p1', x: [1, 3, 4, 5], w: [3, 2, 4, 4], bias: true, opts: { stride: 2, padding: 1 } },
  { name: 'k5 s3 p1 op2', x: [1, 2, 3, 4], w: [2, 3, 5, 5], bias: false, opts: { stride: 3, padding: 1, outputPadding: 2 } },
  { name: 'k1 s2', x: [2, 3, 3, 3], w: [3, 2, 1, 1], bias: true, opts: { stride: 2 } },
  { name: 'dilation 2 s2 op1', x: [1, 2, 4, 3], w: [2, 3, 3, 3], bias: true, opts: { stride: 2, dilation: 2, outputPadding: 1 } },
  { name: 'non-square', x: [1, 2, 3, 5], w: [2, 9, 2, 3], bias: true, opts: { stride: [3, 2], padding: [0, 1], outputPadding: [1, 0] } },
];

function runCase(c: Case, transposed: boolean) {
  const s: ConvShapes = { x: c.x, w: c.w };
  const o = refOpts(c.opts);
  const outC = transposed ? c.w[1] : c.w[0];
  const shapes = c.bias ? [c.x, c.w, [outC]] : [c.x, c.w];
  const op = transposed ? convTranspose2d : conv2d;
  const ref = transposed ? refConvTranspose2d : refConv2d;
  return checkOp({
    shapes,
    gpu: ([x, w, b]) => op(x, w, b ?? null, c.opts),
    ref: ([x, w, b]) => ref(x, w, b ?? null, s, o),
  });
}

describe('conv2d: forward vs float64 reference, gradients vs finite differences', () => {
  for (const c of CONV_CASES) it(c.name, () => runCase(c, false));
});

describe('convTranspose2d: forward vs float64 reference, gradients vs finite differences', () => {
  for (const c of CONVT_CASES) it(c.name, () => runCase(c, true));
});

describe('reference analytic gradients match finite differences', () => {
  // The big-shape tests below compare against these formulas, so they are checked here first.
  const fdCheck = (f: (x: Float64Array, w: Float64Array) => Float64Array, x: Float64Array, w: Float64Array, dy: Float64Array, dx: Float64Array, dw: Float64Array) => {
    const eps = 1e-6;
    const loss = () => f(x, w).reduce((a, v, i) => a + v * dy[i], 0);
    for (const [arr, grad] of [[x, dx], [w, dw]] as const) {
      const num = new Float64Array(arr.length);
      for (let i = 0; i < arr.length; i++) {
        const o = arr[i];
        arr[i] = o + eps; const lp = loss();
        arr[i] = o - eps; const lm = loss();
        arr[i] = o;
        num[i] = (lp - lm) / (2 * eps);
      }
      expectClose(grad, num, 1e-6);
    }
  };
  it('conv2d', () => {
    const s: ConvShapes = { x: [2, 3, 7, 6], w: [4, 3, 3, 2] };
    const o: ConvRefOpts = { stride: [2, 1], padding: [1, 2], dilation: [1, 2] };
    const x = randomArray(size(s.x), 1), w = randomArray(size(s.w), 2), dy = randomArray(size(refConv2dOutShape(s, o)), 3);
    const g = refConv2dGrads(x, w, dy, s, o);
    fdCheck((a, b) => refConv2d(a, b, null, s, o), x, w, dy, g.dx, g.dw);
  });
  it('convTranspose2d', () => {
    const s: ConvShapes = { x: [2, 3, 4, 3], w: [3, 2, 3, 4] };
    const o: ConvRefOpts = { stride: [2, 3], padding: [1, 0], dilation: [1, 1], outputPadding: [1, 2] };
    const x = randomArray(size(s.x), 4), w = randomArray(size(s.w), 5), dy = randomArray(size(refConvT2dOutShape(s, o)), 6);
    const g = refConvTranspose2dGrads(x, w, dy, s, o);
    fdCheck((a, b) => refConvTranspose2d(a, b, null, s, o), x, w, dy, g.dx, g.dw);
  });
});

/** Forward and all three gradients of one layer against the reference's analytic gradients (no FD: too slow). */
async function checkLayer(kind: 'conv' | 'convT', xs: Shape4, ws: Shape4, bias: boolean, opts: ConvTranspose2dOptions, expectOut: Shape4) {
  const s: ConvShapes = { x: xs, w: ws };
  const o = refOpts(opts);
  const outC = kind === 'conv' ? ws[0] : ws[1];
  const x = randomArray(size(xs), 11), w = randomArray(size(ws), 12, -0.2, 0.2), b = bias ? randomArray(outC, 13) : null;
  const refY = kind === 'conv' ? refConv2d(x, w, b, s, o) : refConvTranspose2d(x, w, b, s, o);
  const dy = randomArray(refY.length, 14);
  const ref = kind === 'conv' ? refConv2dGrads(x, w, dy, s, o) : refConvTranspose2dGrads(x, w, dy, s, o);
  const X = Tensor.fromArray(Float32Array.from(x), xs).requireGrad();
  const W = Tensor.fromArray(Float32Array.from(w), ws).requireGrad();
  const B = b ? Tensor.fromArray(Float32Array.from(b), [outC]).requireGrad() : null;
  const Y = tidy(() => {
    const y = kind === 'conv' ? conv2d(X, W, B, opts) : convTranspose2d(X, W, B, opts);
    y.backward(Tensor.fromArray(Float32Array.from(dy), y.shape));
    return y;
  });
  expect(Y.shape).toEqual(expectOut);
  expectClose(await Y.toArray(), refY, 1e-4);
  expectClose(await X.grad!.toArray(), ref.dx, 1e-4);
  expectClose(await W.grad!.toArray(), ref.dw, 1e-4);
  if (B) expectClose(await B.grad!.toArray(), ref.db, 1e-4);
  for (const t of [X, W, B, Y]) { t?.zeroGrad(); t?.dispose(); }
}

describe('lesson layer shapes (batch 2): forward and gradients vs the reference', () => {
  const G = { stride: 2 };
  it('DCGAN G1 convT 100→256 k3 s2: 1→3', () => checkLayer('convT', [2, 100, 1, 1], [100, 256, 3, 3], false, G, [2, 256, 3, 3]));
  it('DCGAN G2 convT 256→128: 3→7', () => checkLayer('convT', [2, 256, 3, 3], [256, 128, 3, 3], false, G, [2, 128, 7, 7]));
  it('DCGAN G3 convT 128→64: 7→15', () => checkLayer('convT', [2, 128, 7, 7], [128, 64, 3, 3], false, G, [2, 64, 15, 15]));
  it('DCGAN G4 convT 64→1 p2 op1: 15→28', () =>
    checkLayer('convT', [2, 64, 15, 15], [64, 1, 3, 3], true, { stride: 2, padding: 2, outputPadding: 1 }, [2, 1, 28, 28]));
  const D = { stride: 2, padding: 1 };
  it('DCGAN D1 conv 1→64 k4 s2 p1: 28→14', () => checkLayer('conv', [2, 1, 28, 28], [64, 1, 4, 4], true, D, [2, 64, 14, 14]));
  it('DCGAN D2 conv 64→128: 14→7', () => checkLayer('conv', [2, 64, 14, 14], [128, 64, 4, 4], false, D, [2, 128, 7, 7]));
  it('DCGAN D3 conv 128→256: 7→3', () => checkLayer('conv', [2, 128, 7, 7], [256, 128, 4, 4], false, D, [2, 256, 3, 3]));
  it('DCGAN D4 conv 256→1 k3: 3→1', () => checkLayer('conv', [2, 256, 3, 3], [1, 256, 3, 3], true, {}, [2, 1, 1, 1]));
  it('VGG16 block1_conv1 3→64 3x3 p1 at 12x10', () => checkLayer('conv', [1, 3, 12, 10], [64, 3, 3, 3], true, { padding: 1 }, [1, 64, 12, 10]));
  it('VGG16 block2_conv1 64→128 3x3 p1 at 8x8', () => checkLayer('conv', [1, 64, 8, 8], [128, 64, 3, 3], true, { padding: 1 }, [1, 128, 8, 8]));
});

describe('every register-tile size gives the same result', () => {
  // The host picks tile sizes per layer; force each size so every variant of the kernels is exercised.
  // 2·16·16 = 512 output pixels fill whole tiles of every size, so the largest requested size is the one used.
  const defaults = { ...convTiles };
  const variants = [
    { gatherTM: 16, gatherTN: 8, wgradTM: 16, wgradTC: 8 },
    { gatherTM: 4, gatherTN: 2, wgradTM: 4, wgradTC: 2 },
    { gatherTM: 1, gatherTN: 1, wgradTM: 1, wgradTC: 1 },
    { gatherTM: 8, gatherTN: 4, wgradTM: 8, wgradTC: 4 },
    // Tiny dispatch budget: every grid is split into many launches along both of its split dimensions.
    { gatherTM: 4, gatherTN: 8, wgradTM: 4, wgradTC: 8, flopsPerDispatch: 3e4 },
  ];
  for (const v of variants) {
    it(JSON.stringify(v), async () => {
      Object.assign(convTiles, v);
      try {
        await checkLayer('conv', [2, 21, 16, 16], [19, 21, 3, 3], true, { padding: 1 }, [2, 19, 16, 16]);
        await checkLayer('convT', [2, 18, 8, 8], [18, 13, 4, 4], true, { stride: 2, padding: 1 }, [2, 13, 16, 16]);
      } finally {
        Object.assign(convTiles, defaults);
      }
    });
  }
});

describe('output sizes and errors', () => {
  it('output sizes follow torch', () => {
    expect(conv2dOutputSize([28, 28], [4, 4], { stride: 2, padding: 1 })).toEqual([14, 14]);
    expect(conv2dOutputSize([7, 7], [4, 4], { stride: 2, padding: 1 })).toEqual([3, 3]);
    expect(conv2dOutputSize([10, 9], [3, 2], { stride: [2, 3], dilation: [2, 1] })).toEqual([3, 3]);
    expect(convTranspose2dOutputSize([1, 1], [3, 3], { stride: 2 })).toEqual([3, 3]);
    expect(convTranspose2dOutputSize([3, 3], [3, 3], { stride: 2 })).toEqual([7, 7]);
    expect(convTranspose2dOutputSize([7, 7], [3, 3], { stride: 2 })).toEqual([15, 15]);
    expect(convTranspose2dOutputSize([15, 15], [3, 3], { stride: 2, padding: 2, outputPadding: 1 })).toEqual([28, 28]);
  });

  it('rejects bad shapes and options with messages naming them', () => {
    const x = Tensor.zeros([1, 3, 5, 5]);
    expect(() => conv2d(x, Tensor.zeros([4, 2, 3, 3]))).toThrow(/conv2d: input \[1, 3, 5, 5\] has 3 channels but weight \[4, 2, 3, 3\] expects 2/);
    expect(() => conv2d(x, Tensor.zeros([4, 3, 7, 3]))).toThrow(/conv2d: kernel 7x3 .*larger than the padded input 5x5/);
    expect(() => conv2d(x, Tensor.zeros([4, 3, 3, 3]), Tensor.zeros([3]))).toThrow(/bias must have shape \[4\].*got \[3\]/);
    expect(() => conv2d(Tensor.zeros([3, 5, 5]), Tensor.zeros([4, 3, 3, 3]))).toThrow(/conv2d: input x \[N,Cin,H,W\] must be 4-D, got shape \[3, 5, 5\]/);
    expect(() => conv2d(x, Tensor.zeros([4, 3, 3, 3]), null, { stride: 0 })).toThrow(/conv2d: stride must be an integer ≥ 1/);
    expect(() => convTranspose2d(x, Tensor.zeros([3, 2, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(/convTranspose2d: outputPadding \[2, 2\] must be smaller than max\(stride, dilation\) = 2/);
    expect(() => convTranspose2d(x, Tensor.zeros([2, 3, 3, 3]))).toThrow(/convTranspose2d: input \[1, 3, 5, 5\] has 3 channels but weight \[2, 3, 3, 3\] expects 2/);
    expect(() => convTranspose2d(Tensor.zeros([1, 3, 1, 1]), Tensor.zeros([3, 2, 1, 1]), null, { padding: 1 })).toThrow(/convTranspose2d: output size -1x-1 is empty/);
  });
});
