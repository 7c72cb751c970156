/**
 * Kernel explorer: every WGSL kernel of the engine (src/shaders.gen.ts, generated from shaders/*.wgsl) with its
 * header comment and source, and, for each, a small experiment: random inputs of the shapes you choose, run
 * through the engine op that launches the kernel, compared with the float64 reference in src/reference/ — the
 * same functions the unit tests check the kernels against.
 */
import {
  Tensor,
  tidy,
  memoryStats,
  conv2d,
  convTranspose2d,
  conv2dWeightGrad,
  matmul,
  maxPool2d,
  avgPool2d,
  upsample2d,
  bceWithLogits,
  batchNorm,
  gram,
  unary,
  add,
  sub,
  mul,
  div,
  maximum,
  setConvVersion,
  type UnaryOp,
  type ConvVersion,
} from '../../src/tensor/index.ts';
import { defaultMatmulVersion, setMatmulVersion, splitK, type MatmulVersion } from '../../src/tensor/matmul.ts';
import { setTransposedRoute, setWgradRoute } from '../../src/tensor/conv.ts';
import { bnSubgroups } from '../../src/tensor/norm.ts';
import { engine, kernelLabel } from '../../src/tensor/engine.ts';
import { Adam, SGD, Linear, emaUpdate } from '../../src/nn/index.ts';
import { SHADERS } from '../../src/shaders.gen.ts';
import { Rng } from '../../src/data/dataset.ts';
import * as convRef from '../../src/reference/conv.ts';
import * as elementwiseRef from '../../src/reference/elementwise.ts';
import * as gramRef from '../../src/reference/gram.ts';
import * as lossRef from '../../src/reference/losses.ts';
import * as normRef from '../../src/reference/norm.ts';
import * as poolRef from '../../src/reference/pool.ts';
import * as optimRef from '../../src/reference/optim.ts';
import * as finiteRef from '../../src/reference/finite.ts';
import * as ganOpsRef from '../../src/reference/gan-ops.ts';
import { pixelNorm, minibatchStddev, fade, ganStepStats } from '../../src/tensor/gan-ops.ts';
import { nonFiniteCounts } from '../../src/tensor/finite.ts';
import { $, h, navBar, startGpu, banner, errorText, formatDuration, nextFrame } from './common.ts';
import { checkKernels, checkRowCount } from '../../src/check/kernels.ts';

type Values = Record<string, number | string>;
type Shape4 = [number, number, number, number];

interface Field {
  key: string;
  label: string;
  value: number | string;
  /** A choice instead of a number. */
  options?: string[];
  /** Bounds of a number field (default: by key, see FIELD_RULES; a field without one takes any finite number). */
  rule?: FieldRule;
}

interface FieldRule {
  int?: boolean;
  min?: number;
  /** The value must be above `above` (a positive eps or rate). */
  above?: number;
  max?: number;
}

/** The bounds of the experiments' number fields, by key: sizes and strides are whole numbers ≥ 1, paddings ≥ 0. */
const FIELD_RULES: Record<string, FieldRule> = {
  N: { int: true, min: 1 },
  C: { int: true, min: 1 },
  H: { int: true, min: 1 },
  W: { int: true, min: 1 },
  M: { int: true, min: 1 },
  K: { int: true, min: 1 },
  B: { int: true, min: 1 },
  R: { int: true, min: 1 },
  n: { int: true, min: 1 },
  k: { int: true, min: 1 },
  every: { int: true, min: 1 },
  stride: { int: true, min: 1 },
  dilation: { int: true, min: 1 },
  padding: { int: true, min: 0 },
  outputPadding: { int: true, min: 0 },
  axis: { int: true, min: 0 },
  seed: { int: true, min: 0 },
  eps: { above: 0 },
  lr: { above: 0 },
};

/** Checks one number against its field's rule; the message names the field. */
function checkField(label: string, x: number, rule: FieldRule | undefined): void {
  if (!rule) return;
  if (rule.int && !Number.isInteger(x)) throw new Error(`${label}: must be a whole number, got ${x}`);
  if (rule.min !== undefined && x < rule.min) throw new Error(`${label}: must be at least ${rule.min}, got ${x}`);
  if (rule.above !== undefined && !(x > rule.above))
    throw new Error(`${label}: must be greater than ${rule.above}, got ${x}`);
  if (rule.max !== undefined && x > rule.max) throw new Error(`${label}: must be at most ${rule.max}, got ${x}`);
}

/** One prepared run: GPU inputs are made by `inputs`, `op` launches the kernel, `reference` is the float64 answer. */
interface Prepared {
  inputs: () => Tensor[];
  op: (t: Tensor[]) => Tensor | Promise<Tensor>;
  reference: () => ArrayLike<number>;
  shape: number[];
  /** What the inputs are, in words. */
  describe: string;
  /** Allowed max |error| relative to the reference's root mean square. Default 1e-4. */
  relTolerance?: number;
  /** Multiply-adds of the float64 reference, where they grow faster than its inputs (conv, matmul): capped. */
  work?: number;
}

interface Experiment {
  /** The engine call it makes. */
  call: string;
  fields: Field[];
  prepare: (v: Values, random: (n: number) => Float32Array) => Prepared;
}

const num = (v: Values, k: string) => Number(v[k]);
const pair = (v: Values, k: string): [number, number] => [num(v, k), num(v, k)];
const shape4 = (v: Values, a: string, b: string, c: string, d: string): Shape4 => [
  num(v, a),
  num(v, b),
  num(v, c),
  num(v, d),
];
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;
/** The references take float64 arrays: the float32 inputs, widened (exactly). */
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);

/** The forward or the backward pass of an op (the kernels of both run in the engine; the page times one). */
const passField: Field = { key: 'pass', label: 'pass', value: 'forward', options: ['forward', 'backward'] };

/** The most input values a backward's reference by differences takes (2 forward passes per value). */
const MAX_DIFFERENCED = 4096;

/**
 * The input gradient of Σ g ⊙ f(x) by central differences of a float64 reference `f` (step 1e-5, relative to each
 * value's size: truncation error of order 1e-10, rounding of order 1e-16 / 1e-5 of the sums): the backward's
 * reference where src/reference/ has the forward only, for functions smooth at x (not max pooling, whose winners
 * a step could swap: its reference is exact, below).
 */
function gradByDifferences(f: (x: Float64Array) => Float64Array, x: Float64Array, g: ArrayLike<number>): Float64Array {
  if (x.length > MAX_DIFFERENCED)
    throw new Error(
      `the backward's reference takes differences of the float64 forward, 2 passes per input value: at most ${MAX_DIFFERENCED} values (these settings give ${x.length})`,
    );
  const dx = new Float64Array(x.length);
  const dot = (y: Float64Array) => y.reduce((s, v, i) => s + v * g[i], 0);
  const xp = Float64Array.from(x); // one copy, each value moved and put back
  for (let i = 0; i < x.length; i++) {
    const h = 1e-5 * Math.max(1, Math.abs(x[i]));
    xp[i] = x[i] + h;
    const up = dot(f(xp));
    xp[i] = x[i] - h;
    dx[i] = (up - dot(f(xp))) / (2 * h);
    xp[i] = x[i];
  }
  return dx;
}

/**
 * `op` as the forward, or the backward of Σ g ⊙ op(x) for an upstream gradient g (the input's .grad); the graph's
 * saved tensors (max pooling's winners, BatchNorm's statistics) are freed by the tidy scope.
 */
function forwardOrBackward(pass: string, op: (x: Tensor) => Tensor): (t: Tensor[]) => Tensor {
  return ([xt, gt]) => {
    if (pass !== 'backward') return op(xt);
    return tidy(() => {
      op(xt).backward(gt);
      const dx = xt.grad!;
      xt.grad = null;
      return dx;
    });
  };
}

const imageFields: Field[] = [
  { key: 'N', label: 'batch N', value: 2 },
  { key: 'C', label: 'channels C', value: 3 },
  { key: 'H', label: 'height H', value: 9 },
  { key: 'W', label: 'width W', value: 9 },
];

/**
 * conv2d / convTranspose2d; `singleChannel` starts as a transposed conv to one channel (the col2im path); `channels`
 * starts with that many input channels (a longer reduction).
 */
function convExperiment(singleChannel = false, channels?: number): Experiment {
  const modes = ['conv2d', 'convTranspose2d'];
  return {
    call: 'conv2d(x, w, null, {stride, padding, dilation}) or convTranspose2d(x, w, null, {..., outputPadding})',
    fields: [
      {
        key: 'mode',
        label: 'operation',
        value: modes[singleChannel ? 1 : 0],
        options: singleChannel ? [...modes].reverse() : modes,
      },
      ...imageFields.map((f) => (f.key === 'C' && channels ? { ...f, value: channels } : f)),
      { key: 'M', label: 'output channels', value: singleChannel ? 1 : 4 },
      { key: 'k', label: 'kernel size', value: 3 },
      { key: 'stride', label: 'stride', value: 2 },
      { key: 'padding', label: 'padding', value: 1 },
      { key: 'dilation', label: 'dilation', value: 1 },
      { key: 'outputPadding', label: 'output padding (convT)', value: 0 },
    ],
    prepare(v, random) {
      const xs = shape4(v, 'N', 'C', 'H', 'W');
      const k = num(v, 'k');
      const transposed = v.mode === 'convTranspose2d';
      const ws: Shape4 = transposed ? [xs[1], num(v, 'M'), k, k] : [num(v, 'M'), xs[1], k, k];
      const g = {
        stride: pair(v, 'stride'),
        padding: pair(v, 'padding'),
        dilation: pair(v, 'dilation'),
        outputPadding: pair(v, 'outputPadding'),
      };
      const x = random(size(xs));
      const w = random(size(ws));
      const s = { x: xs, w: ws };
      return {
        inputs: () => [Tensor.fromArray(x, xs), Tensor.fromArray(w, ws)],
        op: ([xt, wt]) =>
          transposed
            ? convTranspose2d(xt, wt, null, g)
            : conv2d(xt, wt, null, { stride: g.stride, padding: g.padding, dilation: g.dilation }),
        reference: () => (transposed ? convRef.refConvTranspose2d : convRef.refConv2d)(f64(x), f64(w), null, s, g),
        shape: transposed ? convRef.refConvT2dOutShape(s, g) : convRef.refConv2dOutShape(s, g),
        // every (input pixel, tap) pair of a transposed conv, every (output pixel, tap) pair of a conv, per channel pair
        work: size(transposed ? xs : convRef.refConv2dOutShape(s, g)) * (transposed ? ws[1] : xs[1]) * k * k,
        describe: `x ${fmtShape(xs)}, weight ${fmtShape(ws)} (${transposed ? '[Cin, Cout, kh, kw]' : '[Cout, Cin, kh, kw]'}), uniform in [-1, 1)`,
      };
    },
  };
}

function weightGradExperiment(): Experiment {
  return {
    call: 'conv2dWeightGrad(x, [k, k], dy, {stride, padding})',
    fields: [
      ...imageFields,
      { key: 'M', label: 'output channels', value: 4 },
      { key: 'k', label: 'kernel size', value: 3 },
      { key: 'stride', label: 'stride', value: 1 },
      { key: 'padding', label: 'padding', value: 1 },
    ],
    prepare(v, random) {
      const xs = shape4(v, 'N', 'C', 'H', 'W');
      const k = num(v, 'k');
      const g = { stride: pair(v, 'stride'), padding: pair(v, 'padding') };
      const ws: Shape4 = [num(v, 'M'), xs[1], k, k];
      const s = { x: xs, w: ws };
      const ys = convRef.refConv2dOutShape(s, g);
      const x = random(size(xs));
      const dy = random(size(ys));
      return {
        inputs: () => [Tensor.fromArray(x, xs), Tensor.fromArray(dy, ys)],
        op: ([xt, dyt]) => conv2dWeightGrad(xt, [k, k], dyt, { stride: g.stride, padding: g.padding }),
        // dw of conv2d's gradients (the weights only enter dx, so zeros do).
        reference: () => convRef.refConv2dGrads(f64(x), new Float64Array(size(ws)), f64(dy), s, g).dw,
        shape: ws,
        work: 2 * size(ys) * xs[1] * k * k, // dw, and dx, which the reference computes too
        describe: `x ${fmtShape(xs)}, output gradient dy ${fmtShape(ys)}`,
      };
    },
  };
}

/** batchNorm in training mode (batch statistics, then normalize) against the float64 reference. */
const batchnormExperiment: Experiment = {
  call: 'batchNorm(x, null, null, null, null, {training: true, eps}), or its backward for an upstream gradient g',
  fields: [passField, ...imageFields, { key: 'eps', label: 'eps', value: 1e-5 }],
  prepare(v, random) {
    const xs = shape4(v, 'N', 'C', 'H', 'W');
    const x = random(size(xs));
    const g = random(size(xs));
    const ref = (xv: Float64Array) =>
      normRef.batchNorm(
        xv,
        xs,
        null,
        null,
        new Float64Array(xs[1]),
        new Float64Array(xs[1]).fill(1),
        true,
        0.1,
        num(v, 'eps'),
      ).y;
    const backward = v.pass === 'backward';
    return {
      inputs: () =>
        backward ? [Tensor.fromArray(x, xs).requireGrad(), Tensor.fromArray(g, xs)] : [Tensor.fromArray(x, xs)],
      op: forwardOrBackward(v.pass as string, (t) =>
        batchNorm(t, null, null, null, null, { training: true, eps: num(v, 'eps') }),
      ),
      // the backward's reference: central differences of the float64 forward
      reference: () => (backward ? gradByDifferences(ref, f64(x), g) : ref(f64(x))),
      shape: xs,
      describe: `x ${fmtShape(xs)}${backward ? ', upstream gradient g uniform in [-1, 1); output is dx' : ''}`,
    };
  },
};

const EXPERIMENTS: Record<string, Experiment> = {
  conv2d_naive: withConv(convExperiment(), 'naive'),
  conv2d_implicit_gemm: withConv(convExperiment(), 'register'),
  conv2d_implicit_gemm_sg: withConv(convExperiment(), 'register-sg'),
  conv2d_implicit_gemm_tiled: withConv(convExperiment(), 'tiled'),
  // 32 input channels × 9 taps: 18 slabs of 16 steps for one tile, cut into 4 chunks (gatherChunks) and summed here
  conv_split_sum: withConv(convExperiment(false, 32), 'tiled-splitk'),
  conv_pack_weight: convExperiment(),
  // the matrix product and col2im route of a 1-channel transposed conv (a CPU adapter with subgroups would take the
  // 1×1 conv and conv_col2im_planes instead)
  conv_col2im: forced(
    convExperiment(true),
    "setTransposedRoute('phases')",
    () => setTransposedRoute('phases'),
    () => setTransposedRoute('auto'),
  ),
  conv_col2im_planes: colsExperiment(),
  conv2d_weight_grad_naive: withSplitWgrad('naive'),
  conv2d_weight_grad: withSplitWgrad('register'),
  conv2d_weight_grad_sg: withSplitWgrad('register-sg'),
  conv2d_weight_grad_tiled: withSplitWgrad('tiled'),
  matmul: withMatmul('register'),
  // matmul_sg.wgsl where it applies (lavapipe with 8-lane subgroups, a workgroup 8 wide: N > 64), else matmul.wgsl;
  // the launches listed under the result say which ran.
  matmul_sg: withMatmul('register-sg', matmulExperiment(45, 128)),
  matmul_naive: withMatmul('naive'),
  matmul_tiled: withMatmul('tiled'),
  matmul_tiled_vec4: withMatmul('tiled-vec4'),
  matmul_split_sum: splitMatmulExperiment(),
  pool_max: poolExperiment('max'),
  pool_avg: poolExperiment('avg'),
  upsample: {
    call: 'upsample2d(x, scale)',
    fields: [...imageFields, { key: 'scale', label: 'scale', value: 2, rule: { int: true, min: 1 } }],
    prepare(v, random) {
      const xs = shape4(v, 'N', 'C', 'H', 'W');
      const s = num(v, 'scale');
      const x = random(size(xs));
      return {
        inputs: () => [Tensor.fromArray(x, xs)],
        op: ([t]) => upsample2d(t, s),
        reference: () => poolRef.upsample2d(f64(x), xs, s, s),
        shape: [xs[0], xs[1], xs[2] * s, xs[3] * s],
        describe: `x ${fmtShape(xs)}`,
      };
    },
  },
  pixel_norm: {
    call: 'pixelNorm(x) (over the channels at each sample and position)',
    fields: [...imageFields],
    prepare(v, random) {
      const xs = shape4(v, 'N', 'C', 'H', 'W');
      const x = random(size(xs));
      return {
        inputs: () => [Tensor.fromArray(x, xs)],
        op: ([t]) => pixelNorm(t),
        reference: () => ganOpsRef.pixelNorm(f64(x), xs),
        shape: xs,
        describe: `x ${fmtShape(xs)}`,
      };
    },
  },
  minibatch_stddev: {
    call: 'minibatchStddev(x, groupSize) (one more channel: the group’s mean standard deviation)',
    fields: [
      { key: 'N', label: 'batch N', value: 4 },
      { key: 'C', label: 'channels C', value: 3 },
      { key: 'H', label: 'height H', value: 5 },
      { key: 'W', label: 'width W', value: 5 },
      { key: 'G', label: 'group size', value: 2, rule: { int: true, min: 1 } },
    ],
    prepare(v, random) {
      const xs = shape4(v, 'N', 'C', 'H', 'W');
      const G = num(v, 'G');
      const x = random(size(xs));
      return {
        inputs: () => [Tensor.fromArray(x, xs)],
        // a batch that is not a multiple of the group: the op throws, naming both
        op: ([t]) => minibatchStddev(t, G),
        reference: () => ganOpsRef.minibatchStddev(f64(x), xs, G),
        shape: [xs[0], xs[1] + 1, xs[2], xs[3]],
        describe: `x ${fmtShape(xs)}, groups of ${G}`,
      };
    },
  },
  fade: {
    call: 'fade(a, b, alpha) = (1 − α)·a + α·b',
    fields: [...imageFields, { key: 'alpha', label: 'α', value: 0.3, rule: { min: 0, max: 1 } }],
    prepare(v, random) {
      const xs = shape4(v, 'N', 'C', 'H', 'W');
      const alpha = num(v, 'alpha');
      const a = random(size(xs));
      const b = random(size(xs));
      return {
        inputs: () => [Tensor.fromArray(a, xs), Tensor.fromArray(b, xs)],
        op: ([at, bt]) => fade(at, bt, alpha),
        reference: () => ganOpsRef.fade(f64(a), f64(b), alpha),
        shape: xs,
        describe: `a and b ${fmtShape(xs)}, uniform in [-1, 1)`,
      };
    },
  },
  unary: unaryExperiment(false),
  unary_backward: unaryExperiment(true),
  binary: {
    call: 'add / sub / mul / div / maximum (a, b) with broadcasting',
    fields: [
      { key: 'fn', label: 'function', value: 'mul', options: Object.keys(elementwiseRef.BINARY) },
      { key: 'a', label: 'shape of a', value: '4,1,5' },
      { key: 'b', label: 'shape of b', value: '3,1' },
    ],
    prepare(v, random) {
      const as = shapeList(v.a, 'shape of a');
      const bs = shapeList(v.b, 'shape of b');
      const a = random(size(as));
      const b = Float32Array.from(random(size(bs)), (x) =>
        v.fn === 'div' ? Math.sign(x || 1) * (0.5 + Math.abs(x)) : x,
      );
      const fns: Record<string, (x: Tensor, y: Tensor) => Tensor> = { add, sub, mul, div, maximum };
      return {
        inputs: () => [Tensor.fromArray(a, as), Tensor.fromArray(b, bs)],
        // Shapes that do not broadcast: the op throws, naming both.
        op: ([x, y]) => fns[v.fn as string](x, y),
        reference: () => elementwiseRef.binary(f64(a), as, f64(b), bs, elementwiseRef.BINARY[v.fn as string]),
        shape: elementwiseRef.broadcast(as, bs),
        describe: `a ${fmtShape(as)}, b ${fmtShape(bs)}`,
      };
    },
  },
  reduce: {
    call: 'sum(x, axis)',
    fields: [
      { key: 'shape', label: 'shape', value: '3,40,5' },
      { key: 'axis', label: 'axis', value: 1 },
    ],
    prepare(v, random) {
      const s = shapeList(v.shape, 'shape');
      const axis = num(v, 'axis');
      if (!(axis >= 0 && axis < s.length)) throw new Error(`axis: ${axis} is not an axis of ${fmtShape(s)}`);
      const x = random(size(s));
      return {
        inputs: () => [Tensor.fromArray(x, s)],
        op: ([t]) => t.sum(axis),
        reference: () => elementwiseRef.reduce(f64(x), s, [axis], 'sum'),
        shape: s.filter((_, i) => i !== axis),
        describe: `x ${fmtShape(s)}`,
      };
    },
  },
  loss_bce: {
    call: "bceWithLogits(logits, targets, {reduction: 'none'})",
    fields: [
      { key: 'n', label: 'elements', value: 64 },
      { key: 'scale', label: 'logit scale', value: 20 },
    ],
    prepare(v, random) {
      const n = num(v, 'n');
      const x = random(n).map((a) => a * num(v, 'scale'));
      const t = random(n).map((a) => (a + 1) / 2);
      return {
        inputs: () => [Tensor.fromArray(x, [n]), Tensor.fromArray(t, [n])],
        op: ([xt, tt]) => bceWithLogits(xt, tt, { reduction: 'none' }),
        reference: () => lossRef.bceWithLogits(f64(x), f64(t), 'none'),
        shape: [n],
        describe: `logits [${n}] in ±${v.scale}, targets in [0, 1)`,
      };
    },
  },
  strided_copy: {
    call: 'x.transpose(1, 2) (a strided gather into a new tensor)',
    fields: [
      { key: 'B', label: 'batch', value: 2 },
      { key: 'R', label: 'rows', value: 5 },
      { key: 'C', label: 'columns', value: 7 },
    ],
    prepare(v, random) {
      const [B, R, C] = [num(v, 'B'), num(v, 'R'), num(v, 'C')];
      const x = random(B * R * C);
      return {
        inputs: () => [Tensor.fromArray(x, [B, R, C])],
        op: ([t]) => t.transpose(1, 2),
        reference: () => elementwiseRef.permute(f64(x), [B, R, C], [0, 2, 1]),
        shape: [B, C, R],
        describe: `x [${B}, ${R}, ${C}]`,
      };
    },
  },
  // batchnorm.wgsl's reductions (a workgroup per channel) on any adapter; batchnorm_sg.wgsl's where the engine takes
  // them (lavapipe with subgroups), else batchnorm.wgsl's again.
  batchnorm: forced(
    batchnormExperiment,
    'bnSubgroups.enabled = false',
    () => (bnSubgroups.enabled = false),
    () => (bnSubgroups.enabled = true),
  ),
  batchnorm_sg: batchnormExperiment,
  gram: {
    call: "G = gram(f, {normalize: 'hw'}) (forward), or d(Σ R ⊙ G)/df through backward (gram.wgsl symmetrises dG)",
    // backward by default: the forward is a matmul and a scale; gram.wgsl is the backward's symmetrisation
    fields: [
      { ...passField, value: 'backward' },
      { key: 'C', label: 'channels C', value: 6 },
      { key: 'H', label: 'height H', value: 5 },
      { key: 'W', label: 'width W', value: 4 },
    ],
    prepare(v, random) {
      const [C, H, W] = [num(v, 'C'), num(v, 'H'), num(v, 'W')];
      const HW = H * W;
      const f = random(C * HW);
      const R = random(C * C);
      const backward = v.pass === 'backward';
      return {
        inputs: () =>
          backward
            ? [Tensor.fromArray(f, [1, C, H, W]).requireGrad(), Tensor.fromArray(R, [1, C, C])]
            : [Tensor.fromArray(f, [1, C, H, W])],
        op: async ([ft, rt]) => {
          if (!backward) return gram(ft, { normalize: 'hw' });
          // the forward's tensors freed once the backward has run (each Run would keep them otherwise)
          tidy(() => {
            gram(ft, { normalize: 'hw' }).mul(rt).sum().backward();
          });
          const g = ft.grad!;
          ft.grad = null;
          return g;
        },
        // forward: G = F·Fᵀ / HW; backward: dL/dG = R, so df = (R + Rᵀ)·F / HW.
        reference: () =>
          backward ? gramRef.gramGrad(f64(f), [1, C, H, W], f64(R), 'hw') : gramRef.gram(f64(f), [1, C, H, W], 'hw'),
        shape: backward ? [1, C, H, W] : [1, C, C],
        work: C * C * HW * (backward ? 2 : 1),
        describe: `features f [1, ${C}, ${H}, ${W}]${backward ? `, weights R [1, ${C}, ${C}]; output is df` : '; output is G'}`,
      };
    },
  },
  nonfinite: {
    call: 'nonFiniteCounts([a, b]): how many values of each tensor are NaN or ±Inf (one launch)',
    fields: [
      { key: 'n', label: 'values per tensor', value: 1000 },
      { key: 'every', label: 'every k-th value of b made NaN/+Inf/−Inf', value: 7 },
    ],
    prepare(v, random) {
      const n = num(v, 'n');
      const every = Math.max(1, Math.floor(num(v, 'every')));
      const a = random(n);
      const b = random(n);
      const poison = [NaN, Infinity, -Infinity];
      for (let i = 0; i < n; i += every) b[i] = poison[(i / every) % 3];
      return {
        inputs: () => [Tensor.fromArray(a, [n]), Tensor.fromArray(b, [n])],
        op: async ([at, bt]) => Tensor.fromArray(await nonFiniteCounts([at, bt])),
        reference: () => Float64Array.from(finiteRef.nonFiniteCounts([a, b])),
        shape: [2],
        describe: `a, b [${n}] uniform in [-1, 1), every ${every}th value of b non-finite; output is [count in a, count in b]`,
      };
    },
  },
  adam: optimizerExperiment('adam'),
  sgd: optimizerExperiment('sgd'),
  ema: {
    call: 'emaUpdate(average, current, decay): the weight average of a module with one parameter',
    fields: [
      { key: 'n', label: 'elements', value: 1000 },
      { key: 'decay', label: 'decay', value: 0.95, rule: { min: 0, max: 0.9999 } },
    ],
    prepare(v, random) {
      const n = num(v, 'n');
      const decay = num(v, 'decay');
      const a = random(n);
      const c = random(n);
      return {
        inputs: () => [Tensor.fromArray(a, [1, n]), Tensor.fromArray(c, [1, n])],
        op: ([at, ct]) => {
          const [average, current] = [new Linear(n, 1, false), new Linear(n, 1, false)];
          average.namedParameters()[0][1].assign(at);
          current.namedParameters()[0][1].assign(ct);
          emaUpdate(average, current, decay);
          const out = average.namedParameters()[0][1].clone();
          average.dispose();
          current.dispose();
          return out;
        },
        reference: () => optimRef.emaStep(a, c, decay),
        shape: [1, n],
        describe: `average and current weights [1, ${n}], uniform in [-1, 1)`,
      };
    },
  },
  gan_stats: {
    call: 'ganStepStats({lossD, dReal, dFake, lossG}, sigmoid) = [lossD, lossG, mean s(D(x)), mean s(D(G(z)))]',
    fields: [
      { key: 'n', label: 'batch', value: 64 },
      { key: 'scale', label: 'logit scale', value: 4 },
      { key: 'score', label: 's', value: 'sigmoid', options: ['sigmoid', 'identity'] },
    ],
    prepare(v, random) {
      const n = num(v, 'n');
      const real = random(n).map((x) => x * num(v, 'scale'));
      const fake = random(n).map((x) => x * num(v, 'scale'));
      const losses = random(2).map((x) => x + 1);
      const sigmoid = v.score === 'sigmoid';
      return {
        inputs: () => [
          Tensor.fromArray(losses.slice(0, 1), [1]),
          Tensor.fromArray(losses.slice(1), [1]),
          Tensor.fromArray(real, [n, 1]),
          Tensor.fromArray(fake, [n, 1]),
        ],
        op: ([lossD, lossG, dReal, dFake]) => ganStepStats({ lossD, lossG, dReal, dFake }, sigmoid),
        reference: () => Float64Array.from(ganOpsRef.ganStepStats(losses[0], losses[1], f64(real), f64(fake), sigmoid)),
        shape: [4],
        describe: `D's outputs on ${n} reals and ${n} fakes in ±${v.scale}, two losses in [0, 2)`,
      };
    },
  },
  fill: {
    call: 'Tensor.full(shape, value)',
    fields: [
      { key: 'shape', label: 'shape', value: '3,7' },
      { key: 'value', label: 'value', value: 2.5 },
    ],
    prepare(v) {
      const s = shapeList(v.shape, 'shape');
      return {
        inputs: () => [],
        op: () => Tensor.full(s, num(v, 'value')),
        reference: () => new Float64Array(size(s)).fill(num(v, 'value')),
        shape: s,
        describe: `shape ${fmtShape(s)}`,
      };
    },
  },
  random: {
    call: 'Tensor.randn([n], {seed}): compared as statistics (mean 0, standard deviation 1)',
    fields: [
      { key: 'n', label: 'samples', value: 65536 },
      { key: 'seed', label: 'seed', value: 7 },
    ],
    prepare(v) {
      const n = num(v, 'n');
      return {
        inputs: () => [],
        op: async () => {
          const t = Tensor.randn([n], { seed: num(v, 'seed') });
          const a = await t.toArray();
          t.dispose();
          let m = 0,
            s = 0;
          for (const x of a) m += x;
          m /= n;
          for (const x of a) s += (x - m) ** 2;
          return Tensor.fromArray([m, Math.sqrt(s / n)]);
        },
        reference: () => Float64Array.from([0, 1]),
        shape: [2],
        describe: `${n} normal samples; the output is [mean, std] of the samples`,
        // Sampling error: about 1/√n for both; allow 5 standard errors (the reference's root mean square is 1/√2).
        relTolerance: (5 * Math.SQRT2) / Math.sqrt(n),
      };
    },
  },
};

function matmulExperiment(K = 45, N = 27): Experiment {
  return {
    call: 'matmul(a, b) (the engine picks the matmul kernel)',
    fields: [
      { key: 'M', label: 'rows M', value: 33 },
      { key: 'K', label: 'inner K', value: K },
      { key: 'N', label: 'columns N', value: N },
    ],
    prepare(v, random) {
      const [M, K, N] = [num(v, 'M'), num(v, 'K'), num(v, 'N')];
      const a = random(M * K);
      const b = random(K * N);
      return {
        inputs: () => [Tensor.fromArray(a, [M, K]), Tensor.fromArray(b, [K, N])],
        op: ([x, y]) => matmul(x, y),
        reference: () => elementwiseRef.matmul(f64(a), f64(b), 1, M, K, N),
        shape: [M, N],
        work: M * K * N,
        describe: `a [${M}, ${K}], b [${K}, ${N}]`,
      };
    },
  };
}

/**
 * The same experiment with one version of a kernel family forced while the op launches (the engine otherwise
 * picks per adapter), so each file of a family — naive, register-tiled, workgroup-tiled — runs its own kernel.
 */
function forced(exp: Experiment, how: string, force: () => void, restore: () => void): Experiment {
  return {
    ...exp,
    call: `${exp.call}, with ${how}`,
    prepare(v, random) {
      const p = exp.prepare(v, random);
      return {
        ...p,
        op: (t) => {
          force();
          try {
            return p.op(t);
          } finally {
            restore();
          }
        },
      };
    },
  };
}

function withConv(exp: Experiment, v: ConvVersion): Experiment {
  return forced(
    exp,
    `setConvVersion('${v}')`,
    () => setConvVersion(v),
    () => setConvVersion(null),
  );
}

/** The weight gradient split-K with conv version `v` (a CPU adapter would run most shapes as a gather). */
function withSplitWgrad(v: ConvVersion): Experiment {
  return forced(
    weightGradExperiment(),
    `setConvVersion('${v}'), setWgradRoute('split')`,
    () => {
      setConvVersion(v);
      setWgradRoute('split');
    },
    () => {
      setConvVersion(null);
      setWgradRoute('auto');
    },
  );
}

/**
 * convTranspose2d's forward as a 1×1 conv and conv_col2im_planes.wgsl (transposedGatherViaCols), with the register
 * kernels (the route is theirs): convTranspose2d only (conv2d's forward does not reach this kernel).
 */
function colsExperiment(): Experiment {
  const conv = convExperiment();
  const base = {
    ...conv,
    fields: conv.fields.map((f) =>
      f.key === 'mode'
        ? { ...f, value: 'convTranspose2d', options: ['convTranspose2d'] }
        : f.key === 'dilation'
          ? { ...f, label: 'dilation (other than 1: the phases run instead)' }
          : f,
    ),
  };
  return forced(
    base,
    "setConvVersion('register'), setTransposedRoute('cols') (a 1×1 conv, then this kernel)",
    () => {
      setConvVersion('register');
      setTransposedRoute('cols');
    },
    () => {
      setConvVersion(null);
      setTransposedRoute('auto');
    },
  );
}

function withMatmul(v: MatmulVersion, exp = matmulExperiment()): Experiment {
  return forced(
    exp,
    `setMatmulVersion('${v}')`,
    () => setMatmulVersion(v),
    () => setMatmulVersion(null),
  );
}

/** matmul with split-K forced (chunks of ≥ 64 along k until 64 workgroups; the adapter's default kernel, split). */
function splitMatmulExperiment(): Experiment {
  const base = matmulExperiment(600);
  const saved = { ...splitK };
  return forced(
    base,
    'split-K forced (k in chunks of ≥ 64, partial products summed by this kernel)',
    () => {
      splitK.minWorkgroups = () => 64;
      splitK.minChunk = 64;
      setMatmulVersion(`${defaultMatmulVersion().replace('-splitk', '')}-splitk` as MatmulVersion);
    },
    () => {
      Object.assign(splitK, saved);
      setMatmulVersion(null);
    },
  );
}

function poolExperiment(kind: 'max' | 'avg'): Experiment {
  return {
    call: `${kind}Pool2d(x, {kernelSize, stride, padding}), or its backward for an upstream gradient g`,
    fields: [
      passField,
      ...imageFields,
      { key: 'k', label: 'kernel size', value: 3 },
      { key: 'stride', label: 'stride', value: 2 },
      { key: 'padding', label: 'padding', value: 1 },
    ],
    prepare(v, random) {
      const xs = shape4(v, 'N', 'C', 'H', 'W');
      const geo = { k: pair(v, 'k'), s: pair(v, 'stride'), p: pair(v, 'padding') };
      const x = random(size(xs));
      const ys = [xs[0], xs[1], ...poolRef.poolOut(xs, geo)];
      const g = random(size(ys));
      const opts = { kernelSize: geo.k, stride: geo.s, padding: geo.p };
      // Average: padding counted (torch's count_include_pad=True default), as avgPool2d does.
      const ref = (xv: Float64Array) =>
        kind === 'max' ? poolRef.maxPool2d(xv, xs, geo).y : poolRef.avgPool2d(xv, xs, geo, true);
      const backward = v.pass === 'backward';
      return {
        inputs: () =>
          backward ? [Tensor.fromArray(x, xs).requireGrad(), Tensor.fromArray(g, ys)] : [Tensor.fromArray(x, xs)],
        op: forwardOrBackward(v.pass as string, (t) => (kind === 'max' ? maxPool2d(t, opts) : avgPool2d(t, opts))),
        // the backward's reference: max, each output's g to its window's winner (the reference's, first on ties, as
        // the kernel picks); average, linear, so central differences of the float64 forward are exact but for rounding
        reference: () => {
          if (!backward) return ref(f64(x));
          if (kind === 'avg') return gradByDifferences(ref, f64(x), g);
          const { idx } = poolRef.maxPool2d(f64(x), xs, geo);
          const dx = new Float64Array(size(xs));
          const [perIn, perOut] = [xs[2] * xs[3], ys[2]! * ys[3]!];
          idx.forEach((at, o) => (dx[Math.floor(o / perOut) * perIn + at] += g[o]!));
          return dx;
        },
        shape: backward ? xs : ys,
        describe: `x ${fmtShape(xs)}${backward ? ', upstream gradient g uniform in [-1, 1); output is dx' : ''}`,
        // a window's values per output; the average's backward differences the forward twice per input value
        work: size(ys) * geo.k[0] * geo.k[1] * (backward && kind === 'avg' ? 2 * size(xs) : 1),
      };
    },
  };
}

function unaryExperiment(gradient: boolean): Experiment {
  return {
    call: gradient ? 'f(x).backward(g): the input gradient g · f′(x)' : 'f(x) elementwise',
    fields: [
      { key: 'fn', label: 'function', value: 'tanh', options: Object.keys(elementwiseRef.UNARY) },
      { key: 'n', label: 'elements', value: 100 },
      { key: 'scale', label: 'input scale', value: 3 },
    ],
    prepare(v, random) {
      const n = num(v, 'n');
      const fn = v.fn as string;
      const x = random(n).map((a) => a * num(v, 'scale'));
      const g = random(n);
      const r = elementwiseRef.UNARY[fn];
      return {
        inputs: () => [Tensor.fromArray(x, [n]).requireGrad(), Tensor.fromArray(g, [n])],
        op: ([xt, gt]) => {
          if (!gradient) return unary(xt, fn as UnaryOp);
          tidy(() => {
            unary(xt, fn as UnaryOp)
              .mul(gt)
              .sum()
              .backward();
          });
          const dx = xt.grad!;
          xt.grad = null;
          return dx;
        },
        reference: () => Float64Array.from(x, (a, i) => (gradient ? g[i] * r.df(a) : r.f(a))),
        shape: [n],
        describe: `x [${n}] in ±${v.scale}${gradient ? ', upstream gradient g uniform in [-1, 1)' : ''}`,
      };
    },
  };
}

function optimizerExperiment(kind: 'adam' | 'sgd'): Experiment {
  return {
    call:
      kind === 'adam'
        ? 'new Adam([p], {lr, betas: [0.9, 0.999], eps}).step() (first step)'
        : 'new SGD([p], {lr}).step()',
    fields: [
      { key: 'n', label: 'elements', value: 50 },
      { key: 'lr', label: 'learning rate', value: 0.1 },
      ...(kind === 'adam' ? [{ key: 'eps', label: 'eps', value: 1e-8 }] : []),
    ],
    prepare(v, random) {
      const n = num(v, 'n');
      const lr = num(v, 'lr');
      const eps = num(v, 'eps');
      const p = random(n);
      const g = random(n);
      return {
        inputs: () => [Tensor.fromArray(p, [n]).requireGrad(), Tensor.fromArray(g, [n])],
        op: ([pt, gt]) => {
          const opt = kind === 'adam' ? new Adam([pt], { lr, betas: [0.9, 0.999], eps }) : new SGD([pt], { lr });
          pt.grad = gt.clone();
          opt.step();
          opt.dispose();
          pt.grad.dispose();
          pt.grad = null;
          return pt.clone();
        },
        // The same float64 references as tests/optim.test.ts (src/reference/optim.ts), one step from a fresh state.
        reference: () => {
          if (kind === 'sgd') {
            const ref = Float64Array.from(p);
            optimRef.sgdStep(ref, null, true, g, { lr });
            return ref;
          }
          const state = optimRef.adamState(p);
          optimRef.adamStep(state, g, { lr, betas: [0.9, 0.999], eps });
          return state.p;
        },
        shape: [n],
        describe: `parameter p [${n}] and gradient g [${n}], uniform in [-1, 1)`,
      };
    },
  };
}

function shapeList(text: unknown, field: string): number[] {
  const s = String(text)
    .split(/[\s,x×]+/)
    .filter(Boolean)
    .map(Number);
  if (!s.length || s.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(`${field}: "${text}" is not a list of positive whole numbers like 4,1,5`);
  return s;
}

/** The comment block a shader opens with (its header: formula, work split, gradient kernel). */
export function shaderHeader(source: string): string {
  const lines: string[] = [];
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n').trim();
}

/** The first sentence of a shader's header (which may wrap over several comment lines), without its file name. */
export function kernelSummary(source: string): string {
  const paragraph = shaderHeader(source)
    .split(/\n\s*\n/)[0]
    .split('\n')
    .map((l) => l.trim())
    .join(' ')
    .replace(/^[\w.]+\.wgsl\s*[—-]\s*/, '');
  const end = paragraph.search(/\.(\s|$)/);
  return end >= 0 ? paragraph.slice(0, end + 1) : paragraph;
}

/** Largest |a − b| (NaN if either has a NaN where the other does not, or lengths differ). */
function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}

/** Largest |b| (scales the tolerance). */
/** The root mean square of b's values. */
function rms(b: ArrayLike<number>): number {
  let sq = 0;
  for (let i = 0; i < b.length; i++) sq += b[i] * b[i];
  return b.length ? Math.sqrt(sq / b.length) : 0;
}

// ---------------------------------------------------------------------------------------------------------
// The page

let current = '';
const MAX_SHOWN = 24;
/** Largest input the page runs (the float64 reference is plain loops on this thread). */
const MAX_ELEMENTS = 2_000_000;
/**
 * Most multiply-adds of the float64 reference, which runs in plain loops on this thread and freezes the page while
 * it does: about 2 s of a laptop's core (a 1200³ matrix product, 1.7e9, froze a tab for 8.8 s in an audit).
 */
const MAX_WORK = 4e8;

function showKernel(name: string): void {
  current = name;
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('.kernel-list button')))
    b.classList.toggle('current', b.dataset.kernel === name);
  const source = SHADERS[name];
  $('kernel-name').textContent = `${name}.wgsl`;
  $('kernel-header').textContent = shaderHeader(source);
  $('kernel-source').textContent = source;
  $('result').replaceChildren();
  delete $('result').dataset.ok;
  delete $('result').dataset.maxError;
  const form = $('inputs');
  form.replaceChildren();
  const exp = EXPERIMENTS[name];
  $('run').hidden = !exp;
  if (!exp) {
    form.append(h('p', { class: 'muted' }, 'This kernel has no experiment here yet; read its source below.'));
    return;
  }
  form.append(h('p', { class: 'muted' }, 'Runs ', h('code', {}, exp.call)));
  for (const f of exp.fields) {
    const input = f.options
      ? h('select', { id: `f-${f.key}` }, ...f.options.map((o) => h('option', { value: o }, o)))
      : h('input', { id: `f-${f.key}`, type: typeof f.value === 'number' ? 'number' : 'text', value: String(f.value) });
    if (f.options) (input as HTMLSelectElement).value = String(f.value);
    form.append(h('label', {}, f.label, input));
  }
  form.append(h('label', {}, 'random seed', h('input', { id: 'f-seed', type: 'number', value: '1' })));
}

function readValues(exp: Experiment): Values {
  const v: Values = {};
  for (const f of exp.fields) {
    const el = $<HTMLInputElement>(`f-${f.key}`);
    if (f.options || typeof f.value === 'string') v[f.key] = el.value;
    else {
      const x = Number(el.value);
      if (el.value.trim() === '' || !Number.isFinite(x)) throw new Error(`${f.label}: "${el.value}" is not a number`);
      checkField(f.label, x, f.rule ?? FIELD_RULES[f.key]);
      v[f.key] = x;
    }
  }
  return v;
}

/** Runs the current kernel's experiment: warm-up (compiles pipelines), then the best of 3 timed runs. */
async function runCurrent(): Promise<void> {
  const name = current; // the list is locked while this runs (main), so it stays the kernel shown
  const exp = EXPERIMENTS[name];
  const out = $('result');
  out.replaceChildren(h('p', { class: 'muted' }, 'running…'));
  delete out.dataset.ok;
  delete out.dataset.maxError;
  const values = readValues(exp);
  const seedField = $<HTMLInputElement>('f-seed');
  const seed = Number(seedField.value);
  if (seedField.value.trim() === '' || !Number.isFinite(seed))
    throw new Error(`random seed: "${seedField.value}" is not a number`);
  checkField('random seed', seed, FIELD_RULES.seed);
  const rng = new Rng(seed);
  const random = (n: number) => {
    if (!(n <= MAX_ELEMENTS))
      throw new Error(`inputs of ${n} elements are too large for this page (at most ${MAX_ELEMENTS})`);
    return Float32Array.from({ length: n }, () => rng.float() * 2 - 1);
  };
  const p = exp.prepare(values, random);
  if (p.shape.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(
      `these settings give an output of shape ${fmtShape(p.shape)}, which has no elements: make the input larger than the (dilated) kernel, or the padding larger`,
    );
  if (size(p.shape) > MAX_ELEMENTS)
    throw new Error(`an output of shape ${fmtShape(p.shape)} is too large for this page`);
  if (p.work !== undefined && p.work > MAX_WORK)
    throw new Error(
      `these settings take ${p.work.toPrecision(2)} multiply-adds in the float64 reference, which runs on this page's thread: at most ${MAX_WORK.toPrecision(1)} here; make them smaller`,
    );
  let got: Float32Array = new Float32Array(0);
  let best = Infinity;
  // What one call launched (the last one): the engine picks kernels by adapter and shape, so say which ran.
  const launched = new Map<string, number>();
  for (let rep = 0; rep < 4; rep++) {
    const inputs = p.inputs();
    try {
      if (rep === 3)
        engine().onLaunch = (k) => void launched.set(kernelLabel(k), (launched.get(kernelLabel(k)) ?? 0) + 1);
      const t0 = performance.now();
      const y = await p.op(inputs);
      got = await y.toArray();
      const ms = performance.now() - t0;
      y.dispose();
      if (rep > 0) best = Math.min(best, ms);
    } finally {
      engine().onLaunch = null;
      inputs.forEach((t) => t.dispose());
    }
  }
  const ranThis = [...launched.keys()].some((l) => l === name || l.startsWith(`${name}:`) || l.startsWith(`${name}(`));
  // The reference holds this thread: say so, and let the page paint it first.
  out.replaceChildren(
    h('p', { class: 'muted' }, `GPU done; computing the float64 reference on this page's thread (the page waits)…`),
  );
  await nextFrame();
  const t1 = performance.now();
  const expected = p.reference();
  const refMs = performance.now() - t1;
  if (got.length !== expected.length)
    throw new Error(
      `the GPU returned ${got.length} values, the reference ${expected.length} (shape ${fmtShape(p.shape)})`,
    );
  const err = maxAbsError(got, expected);
  // Relative to the reference's own size (its root mean square), as the unit tests compare: an absolute floor of
  // 1 would pass a wrong kernel whose outputs are all small.
  const scale = Math.max(rms(expected), Number.MIN_VALUE);
  const tolerance = (p.relTolerance ?? 1e-4) * scale;
  const ok = err <= tolerance;
  const table = h(
    'table',
    { class: 'values' },
    h(
      'tr',
      {},
      h('th', {}, 'index'),
      h('th', {}, 'GPU (float32)'),
      h('th', {}, 'reference (float64)'),
      h('th', {}, '|difference|'),
    ),
  );
  for (let i = 0; i < Math.min(MAX_SHOWN, got.length); i++) {
    table.append(
      h(
        'tr',
        {},
        h('td', {}, String(i)),
        h('td', {}, got[i].toPrecision(7)),
        h('td', {}, expected[i].toPrecision(7)),
        h('td', {}, Math.abs(got[i] - expected[i]).toExponential(2)),
      ),
    );
  }
  const verdict = h('span', { class: ok ? 'ok' : 'bad', id: 'verdict' }, ok ? 'within tolerance' : 'ABOVE tolerance');
  out.replaceChildren(
    h('p', {}, `Inputs: ${p.describe}. Output ${fmtShape(p.shape)}, ${got.length} values.`),
    h(
      'p',
      {},
      'max |GPU − reference| = ',
      h('b', { id: 'max-error' }, err.toExponential(3)),
      ` (tolerance ${tolerance.toExponential(1)}: ${(p.relTolerance ?? 1e-4).toExponential(0)} × the reference's root mean square) `,
      verdict,
    ),
    h(
      'p',
      {},
      'GPU time ',
      h('b', { id: 'gpu-ms' }, best.toFixed(2)),
      ` ms per call, best of 3 after a warm-up, including the readback; TypeScript reference ${refMs.toFixed(2)} ms.`,
    ),
    h(
      'p',
      {},
      'Kernels launched by one call: ',
      h(
        'span',
        { id: 'launches' },
        [...launched].map(([label, n]) => (n > 1 ? `${label} ×${n}` : label)).join(', ') || 'none',
      ),
      ranThis
        ? ''
        : h(
            'span',
            { class: 'bad' },
            ` — ${name}.wgsl was not among them: at these sizes, on this adapter, the engine runs another kernel`,
          ),
    ),
    table,
    got.length > MAX_SHOWN ? h('p', { class: 'muted' }, `first ${MAX_SHOWN} of ${got.length} values shown`) : '',
  );
  out.dataset.ranKernel = String(ranThis);
  out.dataset.maxError = String(err);
  // tensors alive after the run has freed its own (the e2e test checks that runs leave none behind)
  out.dataset.liveTensors = String(memoryStats().liveTensors);
  out.dataset.ok = String(ok);
}

/**
 * The check of every kernel version (src/check/kernels.ts) on this page's GPU: its markdown lines shown as they come,
 * tables as tables. Returns the number of failed rows.
 */
async function checkEveryKernel(quick: boolean): Promise<number> {
  const out = $('check-result');
  out.replaceChildren();
  delete out.dataset.failed;
  let table: HTMLTableElement | null = null;
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim().replace(/\*\*/g, ''));
  const print = (line: string): void => {
    if (line.startsWith('|---')) return;
    if (!line.startsWith('|')) {
      table = null;
      if (line.startsWith('# ')) out.append(h('h3', {}, line.slice(2)));
      else if (line) out.append(h('p', {}, line));
      return;
    }
    if (!table) {
      table = h('table', { class: 'check' }, h('tr', {}, ...cells(line).map((c) => h('th', {}, c))));
      out.append(table);
      return;
    }
    const row = cells(line);
    const ok = row.at(-1)?.startsWith('ok') ?? false;
    table.append(h('tr', { class: ok ? '' : 'bad' }, ...row.map((c) => h('td', {}, c))));
    rows++;
    showProgress();
  };
  // Rows arrive seconds apart (a row's float64 reference runs on this thread): how far, and for how long, is shown.
  const total = checkRowCount(quick);
  const t0 = performance.now();
  let rows = 0;
  const progress = $('check-progress');
  const showProgress = () => {
    progress.textContent = `row ${Math.min(rows + 1, total)} of ${total} · ${formatDuration((performance.now() - t0) / 1000)}`;
  };
  showProgress();
  const timer = setInterval(showProgress, 500);
  const stopButton = $<HTMLButtonElement>('check-stop');
  let stopAsked = false;
  stopButton.hidden = false;
  stopButton.disabled = false;
  stopButton.onclick = () => {
    stopAsked = true;
    stopButton.disabled = true;
  };
  let failed: number;
  try {
    failed = await checkKernels({ quick, print, stop: () => stopAsked });
  } finally {
    clearInterval(timer);
    stopButton.hidden = true;
    progress.textContent = `${rows} of ${total} rows in ${formatDuration((performance.now() - t0) / 1000)}`;
  }
  out.dataset.failed = String(failed);
  out.dataset.rows = String(out.querySelectorAll('tr').length - out.querySelectorAll('table').length);
  // tensors alive once the check has freed its own (the e2e test compares this with the count before)
  out.dataset.liveTensors = String(memoryStats().liveTensors);
  return failed;
}

async function main(): Promise<void> {
  navBar('kernels.html');
  const list = $('kernel-list');
  const names = Object.keys(SHADERS).sort();
  for (const name of names) {
    const summary = kernelSummary(SHADERS[name]);
    const button = h('button', { 'data-kernel': name }, name, h('br'), h('small', {}, summary));
    button.addEventListener('click', () => showKernel(name));
    list.append(h('li', {}, button));
  }
  $('kernel-count').textContent = `${names.length} kernels`;
  const asked = new URLSearchParams(location.search).get('kernel');
  if (asked !== null && !(asked in SHADERS)) {
    banner(
      `There is no kernel named "${asked}" (from ?kernel= in the address). The kernels are: ${names.join(', ')}.`,
      'error',
    );
  }
  showKernel(asked !== null && asked in SHADERS ? asked : 'conv2d_implicit_gemm');
  const eng = await startGpu();
  if (!eng) return;
  $('run').addEventListener('click', async () => {
    const button = $<HTMLButtonElement>('run');
    // the Run button and the kernel list wait for the run: a result is shown under the kernel it ran
    const locked = [button, ...Array.from(document.querySelectorAll<HTMLButtonElement>('.kernel-list button'))];
    for (const b of locked) b.disabled = true;
    try {
      await runCurrent();
    } catch (e) {
      // A field out of range or an op's shape error: shown here, not logged (errorText logs internal faults).
      $('result').replaceChildren(h('p', { class: 'bad' }, errorText(e)));
    } finally {
      for (const b of locked) b.disabled = false;
    }
  });
  $('check-all').addEventListener('click', async () => {
    // the explorer's forced versions and this check's would meet in the engine's switches: one at a time
    const locked = [
      $<HTMLButtonElement>('check-all'),
      $<HTMLButtonElement>('run'),
      ...Array.from(document.querySelectorAll<HTMLButtonElement>('.kernel-list button')),
    ];
    for (const b of locked) b.disabled = true;
    $('check-result').dataset.liveBefore = String(memoryStats().liveTensors);
    try {
      await checkEveryKernel($<HTMLInputElement>('check-quick').checked);
    } catch (e) {
      $('check-result').append(h('p', { class: 'bad' }, errorText(e)));
    } finally {
      for (const b of locked) b.disabled = false;
    }
  });
  document.body.dataset.ready = 'true';
}

main().catch((e) => banner(errorText(e), 'error'));
