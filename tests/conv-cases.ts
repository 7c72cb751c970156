/**
 * Conv test cases shared by conv.test.ts (the default kernels) and conv-tiled.test.ts (the workgroup-tiled
 * kernels): small shapes checked against the float64 reference with finite-difference gradients, and the
 * lesson's layer shapes checked against the reference's analytic gradients.
 */
import { expect } from 'vitest';
import { conv2d, convTranspose2d, type ConvTranspose2dOptions } from '../src/tensor/conv.ts';
import { checkOp, expectClose } from './helpers.ts';
import { refConv2d, refConvTranspose2d, refOpts, type ConvShapes } from '../src/reference/conv.ts';
import { layerReference, runLayer } from '../src/check/kernels.ts';

export type Shape4 = [number, number, number, number];
export interface Case {
  name: string;
  x: Shape4;
  w: Shape4;
  bias: boolean;
  opts: ConvTranspose2dOptions;
}

export { refOpts };

// Small shapes for finite differences: strides 1/2/3, paddings 0/1/2, dilation 1/2, odd sizes, batch 1,
// channel counts that are not multiples of 4, kernels 1/3/4/5, non-square everything.
export const CONV_CASES: Case[] = [
  { name: 'k3 s1 p0', x: [2, 3, 6, 7], w: [5, 3, 3, 3], bias: true, opts: {} },
  { name: 'k3 s1 p1 batch 1', x: [1, 2, 5, 5], w: [3, 2, 3, 3], bias: true, opts: { padding: 1 } },
  { name: 'k1', x: [2, 5, 4, 3], w: [6, 5, 1, 1], bias: false, opts: {} },
  { name: 'k4 s2 p1 (DCGAN D)', x: [2, 2, 8, 8], w: [3, 2, 4, 4], bias: true, opts: { stride: 2, padding: 1 } },
  { name: 'k5 s3 p2', x: [1, 3, 11, 9], w: [2, 3, 5, 5], bias: false, opts: { stride: 3, padding: 2 } },
  { name: 'dilation 2', x: [2, 2, 7, 8], w: [3, 2, 3, 3], bias: true, opts: { dilation: 2, padding: 1 } },
  {
    name: 'non-square kernel, stride, padding, dilation',
    x: [1, 3, 9, 7],
    w: [9, 3, 3, 2],
    bias: true,
    opts: { stride: [2, 1], padding: [1, 2], dilation: [1, 2] },
  },
  {
    name: 'many out channels (several channel tiles)',
    x: [1, 3, 5, 4],
    w: [13, 3, 3, 3],
    bias: true,
    opts: { padding: 1 },
  },
  // As a 1×1 conv (the transposed route), the input gradient's 4 · 9 = 36 rows make a full 32-row tile and a partial
  // one; 6 source channels pair up, so the subgroup kernel reads the weights as vec4s, rows past 36 included.
  {
    name: '36 input-gradient rows as a 1×1 conv (a partial 32-row tile of vec4 weights)',
    x: [2, 4, 7, 7],
    w: [6, 4, 3, 3],
    bias: false,
    opts: { stride: 2, padding: 1 },
  },
  // One input channel: the input gradient runs as a matrix product + conv_col2im.wgsl (on a CPU adapter with
  // subgroups, as a 1×1 conv + conv_col2im_planes.wgsl).
  {
    name: '1 input channel, non-square stride/padding/dilation (col2im input gradient)',
    x: [2, 1, 7, 9],
    w: [3, 1, 3, 2],
    bias: true,
    opts: { stride: [2, 1], padding: [1, 0], dilation: [1, 2] },
  },
];

export const CONVT_CASES: Case[] = [
  { name: 'k3 s2 (DCGAN G)', x: [2, 3, 3, 3], w: [3, 5, 3, 3], bias: false, opts: { stride: 2 } },
  {
    name: 'k3 s2 p2 op1 (DCGAN G output layer)',
    x: [1, 4, 4, 4],
    w: [4, 1, 3, 3],
    bias: true,
    opts: { stride: 2, padding: 2, outputPadding: 1 },
  },
  { name: 'k3 s1 p1', x: [2, 2, 5, 4], w: [2, 3, 3, 3], bias: true, opts: { padding: 1 } },
  { name: 'k4 s2 p1', x: [1, 3, 4, 5], w: [3, 2, 4, 4], bias: true, opts: { stride: 2, padding: 1 } },
  {
    name: 'k5 s3 p1 op2',
    x: [1, 2, 3, 4],
    w: [2, 3, 5, 5],
    bias: false,
    opts: { stride: 3, padding: 1, outputPadding: 2 },
  },
  { name: 'k1 s2', x: [2, 3, 3, 3], w: [3, 2, 1, 1], bias: true, opts: { stride: 2 } },
  {
    name: 'dilation 2 s2 op1',
    x: [1, 2, 4, 3],
    w: [2, 3, 3, 3],
    bias: true,
    opts: { stride: 2, dilation: 2, outputPadding: 1 },
  },
  {
    name: 'non-square',
    x: [1, 2, 3, 5],
    w: [2, 9, 2, 3],
    bias: true,
    opts: { stride: [3, 2], padding: [0, 1], outputPadding: [1, 0] },
  },
  // A 1×1 input without padding runs as one matrix product (convTransposeFromPoint); with padding it does not.
  {
    name: '1x1 input k2x3 s2 (matrix-product path)',
    x: [3, 5, 1, 1],
    w: [5, 7, 2, 3],
    bias: true,
    opts: { stride: 2 },
  },
  { name: '1x1 input k3 p1 (gather path)', x: [2, 4, 1, 1], w: [4, 3, 3, 3], bias: true, opts: { padding: 1 } },
  // One output channel runs as a matrix product + conv_col2im.wgsl; 5×5 = 25 taps need no zero columns.
  {
    name: '1 output channel k5 s2 p1 op1 (col2im, 25 taps)',
    x: [1, 3, 4, 4],
    w: [3, 1, 5, 5],
    bias: true,
    opts: { stride: 2, padding: 1, outputPadding: 1 },
  },
  {
    name: '1 output channel k2x3 s[3,2] d[2,1] (col2im, padded taps)',
    x: [2, 2, 3, 4],
    w: [2, 1, 2, 3],
    bias: false,
    opts: { stride: [3, 2], dilation: [2, 1], padding: [0, 1] },
  },
];

export function runCase(c: Case, transposed: boolean) {
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

/**
 * Forward and all three gradients of one layer against the reference's analytic gradients (no FD: too slow): the
 * layer run and the reference are the kernel check's (src/check/kernels.ts), the assertions these.
 */
export async function checkLayer(
  kind: 'conv' | 'convT',
  xs: Shape4,
  ws: Shape4,
  bias: boolean,
  opts: ConvTranspose2dOptions,
  expectOut: Shape4,
) {
  const l = { name: `${kind} ${xs.join('×')}`, kind, x: xs, w: ws, bias, opts };
  const ref = layerReference(l, 11);
  const got = await runLayer(l, ref);
  expect(got.shape).toEqual(expectOut);
  expectClose(got.y, ref.y, 1e-4);
  expectClose(got.dx, ref.dx, 1e-4);
  expectClose(got.dw, ref.dw, 1e-4);
  if (got.db) expectClose(got.db, ref.db, 1e-4);
}

export interface LayerCase {
  name: string;
  kind: 'conv' | 'convT';
  x: Shape4;
  w: Shape4;
  bias: boolean;
  opts: ConvTranspose2dOptions;
  out: Shape4;
}

const G = { stride: 2 };
const D = { stride: 2, padding: 1 };
/** The lesson's DCGAN layers at batch 2, and two VGG16 layers at small sizes. */
export const LESSON_LAYERS: LayerCase[] = [
  {
    name: 'DCGAN G1 convT 100→256 k3 s2: 1→3',
    kind: 'convT',
    x: [2, 100, 1, 1],
    w: [100, 256, 3, 3],
    bias: false,
    opts: G,
    out: [2, 256, 3, 3],
  },
  {
    name: 'DCGAN G2 convT 256→128: 3→7',
    kind: 'convT',
    x: [2, 256, 3, 3],
    w: [256, 128, 3, 3],
    bias: false,
    opts: G,
    out: [2, 128, 7, 7],
  },
  {
    name: 'DCGAN G3 convT 128→64: 7→15',
    kind: 'convT',
    x: [2, 128, 7, 7],
    w: [128, 64, 3, 3],
    bias: false,
    opts: G,
    out: [2, 64, 15, 15],
  },
  {
    name: 'DCGAN G4 convT 64→1 p2 op1: 15→28',
    kind: 'convT',
    x: [2, 64, 15, 15],
    w: [64, 1, 3, 3],
    bias: true,
    opts: { stride: 2, padding: 2, outputPadding: 1 },
    out: [2, 1, 28, 28],
  },
  {
    name: 'DCGAN D1 conv 1→64 k4 s2 p1: 28→14',
    kind: 'conv',
    x: [2, 1, 28, 28],
    w: [64, 1, 4, 4],
    bias: true,
    opts: D,
    out: [2, 64, 14, 14],
  },
  {
    name: 'DCGAN D2 conv 64→128: 14→7',
    kind: 'conv',
    x: [2, 64, 14, 14],
    w: [128, 64, 4, 4],
    bias: false,
    opts: D,
    out: [2, 128, 7, 7],
  },
  {
    name: 'DCGAN D3 conv 128→256: 7→3',
    kind: 'conv',
    x: [2, 128, 7, 7],
    w: [256, 128, 4, 4],
    bias: false,
    opts: D,
    out: [2, 256, 3, 3],
  },
  {
    name: 'DCGAN D4 conv 256→1 k3: 3→1',
    kind: 'conv',
    x: [2, 256, 3, 3],
    w: [1, 256, 3, 3],
    bias: true,
    opts: {},
    out: [2, 1, 1, 1],
  },
  {
    name: 'VGG16 block1_conv1 3→64 3x3 p1 at 12x10',
    kind: 'conv',
    x: [1, 3, 12, 10],
    w: [64, 3, 3, 3],
    bias: true,
    opts: { padding: 1 },
    out: [1, 64, 12, 10],
  },
  {
    name: 'VGG16 block2_conv1 64→128 3x3 p1 at 8x8',
    kind: 'conv',
    x: [1, 64, 8, 8],
    w: [128, 64, 3, 3],
    bias: true,
    opts: { padding: 1 },
    out: [1, 128, 8, 8],
  },
];

export const checkLesson = (l: LayerCase) => checkLayer(l.kind, l.x, l.w, l.bias, l.opts, l.out);
