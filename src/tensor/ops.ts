/**
 * Differentiable tensor ops. Each op launches its kernel(s) from shaders/ and, when autograd is recording,
 * attaches its backward (see src/autograd/graph.ts). Ops are also installed as Tensor methods at the end.
 *
 * Backward functions must return tensors they own (never the incoming gradient itself): the graph walker
 * disposes each gradient after use. Views (`reshapeView`) are cheap owned handles on shared storage.
 */
import { engine, grid1d, elementwiseGrid, ELEMENTS_PER_INVOCATION } from './engine.ts';
import { shaderParams } from './params.ts';
import { Tensor, shapeSize, checkShape, type Shape } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { launchMatmul } from './matmul.ts';

// ------------------------------------------------------------------ shape helpers

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

const fmt = (s: Shape) => `[${s.join(', ')}]`;

/** numpy/torch broadcasting: align from the right; sizes must match or be 1. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Per-output-dimension strides into an input of shape `inShape` broadcast to `outShape` (0 where broadcast). */
function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const strides = contiguousStrides(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < off || inShape[i - off] === 1 ? 0 : strides[i - off]));
}

function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

function normAxes(axes: number | number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(a, rank, op));
  if (new Set(list).size !== list.length) throw new Error(`${op}: repeated axis in [${axes}]`);
  return list.sort((x, y) => x - y);
}

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

// ------------------------------------------------------------------ unary elementwise

/** Forward expression f(x; a, b) and gradient expression (in x, y = f(x), g, a, b) for each unary op. */
export const UNARY_OPS = {
  neg: { f: '-x', df: '-g' },
  exp: { f: 'exp(x)', df: 'g * y' },
  log: { f: 'log(x)', df: 'g / x' },
  sqrt: { f: 'sqrt(x)', df: 'g * 0.5 / y' },
  abs: { f: 'abs(x)', df: 'g * sign(x)' },
  relu: { f: 'max(x, 0.0)', df: 'select(0.0, g, x > 0.0)' },
  leakyRelu: { f: 'select(a * x, x, x > 0.0)', df: 'select(a * g, g, x > 0.0)' },
  sigmoid: { f: '1.0 / (1.0 + exp(-x))', df: 'g * y * (1.0 - y)' },
  tanh: { f: 'stable_tanh(x)', df: 'g * (1.0 - y * y)' },
  pow: { f: 'powf(x, a)', df: 'g * a * powf(x, a - 1.0)' },
  square: { f: 'x * x', df: '2.0 * g * x' },
  addScalar: { f: 'x + a', df: 'g' },
  mulScalar: { f: 'x * a', df: 'g * a' },
  rsubScalar: { f: 'a - x', df: '-g' },
  rdivScalar: { f: 'a / x', df: '-g * a / (x * x)' },
  clamp: { f: 'clamp(x, a, b)', df: 'select(0.0, g, x >= a && x <= b)' },
  // Not differentiable (masks): their gradient is zero almost everywhere.
  gtScalar: { f: 'select(0.0, 1.0, x > a)', df: '0.0' },
  ltScalar: { f: 'select(0.0, 1.0, x < a)', df: '0.0' },
  step: { f: 'select(0.0, 1.0, x > 0.0)', df: '0.0' },
} as const;
export type UnaryOp = keyof typeof UNARY_OPS;

const NON_DIFF = new Set<UnaryOp>(['gtScalar', 'ltScalar', 'step']);

function launchElementwise(shader: 'unary' | 'unary_backward', subs: Record<string, string>, inputs: Tensor[], out: Tensor, a: number, b: number): void {
  if (out.size === 0) return;
  engine().launch(
    { shader, subs, constants: { PER: ELEMENTS_PER_INVOCATION } },
    { params: shaderParams(shader, { n: out.size, a, b }), buffers: [...inputs.map((t) => t.buffer), out.buffer], workgroups: elementwiseGrid(out.size) },
  );
}

export function unary(x: Tensor, op: UnaryOp, a = 0, b = 0): Tensor {
  const out = Tensor.empty(x.shape);
  launchElementwise('unary', { EXPR: UNARY_OPS[op].f }, [x], out, a, b);
  if (NON_DIFF.has(op)) return out;
  return record(out, op, [x], (g) => {
    const dx = Tensor.empty(x.shape);
    launchElementwise('unary_backward', { GRAD: UNARY_OPS[op].df }, [x, out, g], dx, a, b);
    return [dx];
  });
}

// ------------------------------------------------------------------ binary elementwise with broadcasting

export const BINARY_OPS = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
  gt: 'select(0.0, 1.0, a > b)',
  lt: 'select(0.0, 1.0, a < b)',
  ge: 'select(0.0, 1.0, a >= b)',
  le: 'select(0.0, 1.0, a <= b)',
  eq: 'select(0.0, 1.0, a == b)',
} as const;
export type BinaryOp = keyof typeof BINARY_OPS;

/** Launches the broadcast kernel without recording a graph. */
function binaryRaw(a: Tensor, b: Tensor, op: BinaryOp): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, op);
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  const same = sameShape(a.shape, shape) && sameShape(b.shape, shape);
  engine().launch(
    { shader: 'binary', subs: { EXPR: BINARY_OPS[op] }, constants: { SAME_SHAPE: same, PER: ELEMENTS_PER_INVOCATION } },
    {
      params: shaderParams('binary', {
        n: out.size,
        rank: shape.length,
        shape,
        strideA: broadcastStrides(a.shape, shape),
        strideB: broadcastStrides(b.shape, shape),
      }),
      buffers: [a.buffer, b.buffer, out.buffer],
      workgroups: elementwiseGrid(out.size),
    },
  );
  return out;
}

/** Sums a gradient of a broadcast result back down to an input's shape (identity shape gives a view). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g.reshapeView(shape);
  const off = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < off || (shape[i - off] === 1 && g.shape[i] !== 1)) axes.push(i);
  const s = reduceRaw(g, axes, 'sum', 1);
  const r = s.reshapeView(shape);
  s.dispose();
  return r;
}

function scalarOperand(v: number | Tensor): v is number {
  return typeof v === 'number';
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  if (scalarOperand(b)) return unary(a, 'addScalar', b);
  const out = binaryRaw(a, b, 'add');
  return record(out, 'add', [a, b], (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (scalarOperand(b)) return unary(a, 'addScalar', -b);
  const out = binaryRaw(a, b, 'sub');
  return record(out, 'sub', [a, b], (g) => {
    const nb = unary(g, 'neg');
    const gb = sumTo(nb, b.shape);
    nb.dispose();
    return [sumTo(g, a.shape), gb];
  });
}

/** sumTo(x, shape) and dispose x. */
function reduceAndFree(x: Tensor, shape: Shape): Tensor {
  const r = sumTo(x, shape);
  x.dispose();
  return r;
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (scalarOperand(b)) return unary(a, 'mulScalar', b);
  const out = binaryRaw(a, b, 'mul');
  return record(out, 'mul', [a, b], (g) => [
    a.requiresGrad ? reduceAndFree(binaryRaw(g, b, 'mul'), a.shape) : null,
    b.requiresGrad ? reduceAndFree(binaryRaw(g, a, 'mul'), b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  if (scalarOperand(b)) return unary(a, 'mulScalar', 1 / b);
  const out = binaryRaw(a, b, 'div');
  return record(out, 'div', [a, b], (g) => {
    const ga = a.requiresGrad ? reduceAndFree(binaryRaw(g, b, 'div'), a.shape) : null;
    let gb: Tensor | null = null;
    if (b.requiresGrad) {
      // d(a/b)/db = -(a/b)/b = -out/b
      const t = binaryRaw(g, out, 'mul');
      const t2 = binaryRaw(t, b, 'div');
      t.dispose();
      const t3 = unary(t2, 'neg');
      t2.dispose();
      gb = reduceAndFree(t3, b.shape);
    }
    return [ga, gb];
  });
}

/** Elementwise max; where a == b the gradient is split equally (as torch.maximum). */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return minmax(a, b, 'maximum', 'gt');
}

export function minimum(a: Tensor, b: Tensor): Tensor {
  return minmax(a, b, 'minimum', 'lt');
}

function minmax(a: Tensor, b: Tensor, op: 'maximum' | 'minimum', wins: 'gt' | 'lt'): Tensor {
  const out = binaryRaw(a, b, op);
  return record(out, op, [a, b], (g) => {
    // weight for a: 1 where a wins, 0.5 on ties; for b the complement.
    const aw = binaryRaw(a, b, wins);
    const tie = binaryRaw(a, b, 'eq');
    const half = unary(tie, 'mulScalar', 0.5);
    const wa = binaryRaw(aw, half, 'add');
    [aw, tie, half].forEach((t) => t.dispose());
    const ga = binaryRaw(g, wa, 'mul');
    const wb = unary(wa, 'rsubScalar', 1);
    wa.dispose();
    const gb = binaryRaw(g, wb, 'mul');
    wb.dispose();
    return [reduceAndFree(ga, a.shape), reduceAndFree(gb, b.shape)];
  });
}

/** Comparisons give 0/1 masks and are not differentiable. */
export function compare(a: Tensor, b: Tensor | number, op: 'gt' | 'lt' | 'ge' | 'le' | 'eq'): Tensor {
  if (scalarOperand(b)) {
    const t = Tensor.full([], b);
    const r = binaryRaw(a, t, op);
    t.dispose();
    return r;
  }
  return binaryRaw(a, b, op);
}

// ------------------------------------------------------------------ reductions

/** Splits axes into coalesced kept and reduced groups (see shaders/reduce.wgsl). */
function reductionPlan(shape: Shape, axes: number[]) {
  const strides = contiguousStrides(shape);
  const red = new Set(axes);
  const kept = { shape: [] as number[], stride: [] as number[] };
  const reduced = { shape: [] as number[], stride: [] as number[] };
  let prev: boolean | null = null;
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue; // size-1 dims change nothing
    const isRed = red.has(i);
    const g = isRed ? reduced : kept;
    if (prev === isRed && g.shape.length) {
      // Contiguous with the previous dim of the same group: merge (inner stride wins).
      g.shape[g.shape.length - 1] *= shape[i];
      g.stride[g.stride.length - 1] = strides[i];
    } else {
      g.shape.push(shape[i]);
      g.stride.push(strides[i]);
    }
    prev = isRed;
  }
  return { kept, reduced };
}

function reduceRaw(x: Tensor, axes: number[], op: 'sum' | 'max', scale: number): Tensor {
  const outShape = x.shape.filter((_, i) => !axes.includes(i));
  const out = Tensor.empty(outShape);
  if (out.size === 0) return out;
  const { kept, reduced } = reductionPlan(x.shape, axes);
  const redSize = shapeSize(reduced.shape);
  if (x.size === 0 || redSize === 0) {
    // Reducing an empty set: sum → 0; max has no identity.
    if (op === 'max') throw new Error(`max: cannot reduce over an empty dimension of shape ${fmt(x.shape)}`);
    out.dispose();
    return Tensor.zeros(outShape);
  }
  const perWorkgroup = redSize >= 128 && out.size < 16384;
  const params = shaderParams('reduce', {
    outSize: out.size,
    redSize,
    keptRank: kept.shape.length,
    redRank: reduced.shape.length,
    scale,
    keptShape: kept.shape,
    keptStride: kept.stride,
    redShape: reduced.shape,
    redStride: reduced.stride,
  });
  const subs = op === 'sum' ? { COMBINE: 'a + b', IDENTITY: '0.0' } : { COMBINE: 'max(a, b)', IDENTITY: '-3.4028234663852886e38' };
  engine().launch(
    { shader: 'reduce', entry: perWorkgroup ? 'per_workgroup' : 'per_thread', subs },
    { params, buffers: [x.buffer, out.buffer], workgroups: perWorkgroup ? grid1d(out.size, 1) : grid1d(out.size, 256) },
  );
  return out;
}

function keptShape(shape: Shape, axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes(axes, x.rank, 'sum');
  return reduceWithGrad(x, ax, keepdim, 'sum', 1);
}

export function mean(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes(axes, x.rank, 'mean');
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  if (count === 0) throw new Error(`mean: reducing over an empty dimension of shape ${fmt(x.shape)}`);
  return reduceWithGrad(x, ax, keepdim, 'sum', 1 / count);
}

function reduceWithGrad(x: Tensor, ax: number[], keepdim: boolean, op: 'sum', scale: number): Tensor {
  const r = reduceRaw(x, ax, op, scale);
  const out = keepdim ? r.reshapeView(keptShape(x.shape, ax)) : r;
  if (keepdim) r.dispose();
  return record(out, op, [x], (g) => {
    const gk = g.reshapeView(keptShape(x.shape, ax));
    const full = expandRaw(gk, x.shape);
    gk.dispose();
    if (scale === 1) return [full];
    const scaled = unary(full, 'mulScalar', scale);
    full.dispose();
    return [scaled];
  });
}

/** Max over `axes`; the gradient goes to the maximal elements, shared equally among ties (torch.amax). */
export function max(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes(axes, x.rank, 'max');
  const r = reduceRaw(x, ax, 'max', 1);
  const out = keepdim ? r.reshapeView(keptShape(x.shape, ax)) : r;
  if (keepdim) r.dispose();
  return record(out, 'max', [x], (g) => {
    const mk = out.reshapeView(keptShape(x.shape, ax));
    const mask = binaryRaw(x, mk, 'eq');
    mk.dispose();
    const count = reduceRaw(mask, ax, 'sum', 1);
    const countK = count.reshapeView(keptShape(x.shape, ax));
    const gk = g.reshapeView(keptShape(x.shape, ax));
    const share = binaryRaw(gk, countK, 'div');
    const dx = binaryRaw(mask, share, 'mul');
    [mask, count, countK, gk, share].forEach((t) => t.dispose());
    return [dx];
  });
}

// ------------------------------------------------------------------ strided copies: permute, slice, expand, concat

function gather(x: Tensor, shape: Shape, strides: number[], offset: number): Tensor {
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  engine().launch(
    { shader: 'strided_copy', entry: 'gather' },
    {
      params: shaderParams('strided_copy', { n: out.size, rank: shape.length, offset, shape, stride: strides }),
      buffers: [x.buffer, out.buffer],
      workgroups: grid1d(out.size, 256),
    },
  );
  return out;
}

function scatter(src: Tensor, dst: Tensor, strides: number[], offset: number): void {
  if (src.size === 0) return;
  engine().launch(
    { shader: 'strided_copy', entry: 'scatter' },
    {
      params: shaderParams('strided_copy', { n: src.size, rank: src.rank, offset, shape: src.shape, stride: strides }),
      buffers: [src.buffer, dst.buffer],
      workgroups: grid1d(src.size, 256),
    },
  );
}

export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const inferred = s.indexOf(-1);
  if (inferred !== -1) {
    const rest = s.reduce((n, d, i) => (i === inferred ? n : n * d), 1);
    if (rest === 0 || x.size % rest !== 0) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} into ${fmt(shape)}`);
    s[inferred] = x.size / rest;
  }
  checkShape(s, 'reshape target');
  if (shapeSize(s) !== x.size) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)} (${shapeSize(s)} elements)`);
  const out = x.reshapeView(s);
  return record(out, 'reshape', [x], (g) => [g.reshapeView(x.shape)]);
}

export function permute(x: Tensor, dims: number[]): Tensor {
  if (dims.length !== x.rank || new Set(dims.map((d) => normAxis(d, x.rank, 'permute'))).size !== x.rank) {
    throw new Error(`permute: [${dims}] is not a permutation of the ${x.rank} dimensions of ${fmt(x.shape)}`);
  }
  const d = dims.map((a) => normAxis(a, x.rank, 'permute'));
  const strides = contiguousStrides(x.shape);
  const out = gather(x, d.map((i) => x.shape[i]), d.map((i) => strides[i]), 0);
  const inverse = new Array<number>(d.length);
  d.forEach((a, i) => (inverse[a] = i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, d0 = -2, d1 = -1): Tensor {
  const a = normAxis(d0, x.rank, 'transpose');
  const b = normAxis(d1, x.rank, 'transpose');
  const dims = [...Array(x.rank).keys()];
  [dims[a], dims[b]] = [dims[b], dims[a]];
  return permute(x, dims);
}

function expandRaw(x: Tensor, shape: Shape): Tensor {
  broadcastShapes(x.shape, shape, 'expand');
  return gather(x, shape, broadcastStrides(x.shape, shape), 0);
}

/** Broadcasts to `shape` (copying). */
export function expand(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes(x.shape, shape, 'expand');
  if (!sameShape(target, shape)) throw new Error(`expand: ${fmt(x.shape)} cannot be expanded to ${fmt(shape)}`);
  const out = expandRaw(x, shape);
  return record(out, 'expand', [x], (g) => [sumTo(g, x.shape)]);
}

/**
 * Python-style slicing: one [start, end, step?] per leading dimension (null or missing = the whole dim).
 * Negative indices count from the end; steps must be positive.
 */
export function slice(x: Tensor, ranges: ([number, number, number?] | [number, number] | null)[]): Tensor {
  if (ranges.length > x.rank) throw new Error(`slice: ${ranges.length} ranges for a tensor of rank ${x.rank}`);
  const strides = contiguousStrides(x.shape);
  const shape: number[] = [];
  const sstrides: number[] = [];
  let offset = 0;
  for (let i = 0; i < x.rank; i++) {
    const dim = x.shape[i];
    const r = ranges[i];
    let [start, end, step] = r ? [r[0], r[1], r[2] ?? 1] : [0, dim, 1];
    if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step ${step} in dimension ${i} must be a positive integer`);
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, start), dim);
    shape.push(Math.ceil((end - start) / step));
    sstrides.push(strides[i] * step);
    offset += start * strides[i];
  }
  const out = gather(x, shape, sstrides, offset);
  return record(out, 'slice', [x], (g) => {
    const dx = Tensor.zeros(x.shape);
    scatter(g, dx, sstrides, offset);
    return [dx];
  });
}

/** `length` entries of `axis` from `start` (torch.narrow). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis(axis, x.rank, 'narrow');
  if (start < 0 || length < 0 || start + length > x.shape[a]) throw new Error(`narrow: [${start}, ${start + length}) is outside dimension ${a} of size ${x.shape[a]}`);
  const ranges: [number, number][] = x.shape.map((d) => [0, d]);
  ranges[a] = [start, start + length];
  return slice(x, ranges);
}

export function concat(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: no tensors given');
  const first = tensors[0];
  const a = normAxis(axis, first.rank, 'concat');
  for (const t of tensors) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${fmt(first.shape)} and ${fmt(t.shape)} differ outside axis ${a}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((n, t) => n + t.shape[a], 0);
  const out = Tensor.empty(shape);
  const strides = contiguousStrides(shape);
  const starts: number[] = [];
  let pos = 0;
  for (const t of tensors) {
    starts.push(pos);
    scatter(t, out, strides, pos * strides[a]);
    pos += t.shape[a];
  }
  return record(out, 'concat', tensors, (g) => tensors.map((t, i) => (t.requiresGrad ? narrowRaw(g, a, starts[i], t.shape[a]) : null)));
}

function narrowRaw(x: Tensor, a: number, start: number, length: number): Tensor {
  const strides = contiguousStrides(x.shape);
  const shape = [...x.shape];
  shape[a] = length;
  return gather(x, shape, strides, start * strides[a]);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  const shape = axis === undefined ? x.shape.filter((d) => d !== 1) : x.shape.filter((d, i) => !(i === normAxis(axis, x.rank, 'squeeze') && d === 1));
  return reshape(x, shape);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  if (a < 0 || a > x.rank) throw new Error(`unsqueeze: axis ${axis} is out of range for rank ${x.rank}`);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Copy with a fresh storage. */
export function clone(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape);
  engine().copy(x.buffer, 0, out.buffer, 0, x.size * 4);
  return record(out, 'clone', [x], (g) => [g.reshapeView(x.shape)]);
}

// ------------------------------------------------------------------ matmul

/**
 * Batched matrix product with torch.matmul semantics: 1-D operands are promoted (and the added dim removed
 * after), batch dimensions broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) throw new Error(`matmul: both operands need at least one dimension, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const [M, K] = a2.shape.slice(-2);
  const [K2, N] = b2.shape.slice(-2);
  if (K !== K2) throw new Error(`matmul: shapes ${fmt(a.shape)} and ${fmt(b.shape)} are not aligned (inner dimensions ${K} and ${K2})`);
  const batchShape = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul');
  const out = matmulForward(a2, b2, batchShape, M, N, K);
  let result = out;
  if (a.rank === 1 || b.rank === 1) {
    const shape = [...batchShape, ...(a.rank === 1 ? [] : [M]), ...(b.rank === 1 ? [] : [N])];
    result = reshape(out, shape);
    if (!out.requiresGrad) out.dispose();
  }
  // The promoted views are graph nodes when autograd records (their tidy scope frees them); else free now.
  if (!out.requiresGrad) {
    if (a2 !== a) a2.dispose();
    if (b2 !== b) b2.dispose();
  }
  return result;
}

/** Makes an operand's batch either full or broadcast (stride 0); partial broadcasts are expanded. */
function batchOperand(x: Tensor, batchShape: number[]): { t: Tensor; stride: number; owned: boolean } {
  const batch = shapeSize(batchShape);
  const xb = shapeSize(x.shape.slice(0, -2));
  const mat = x.shape[x.rank - 2] * x.shape[x.rank - 1];
  if (xb === batch) return { t: x, stride: mat, owned: false };
  if (xb === 1) return { t: x, stride: 0, owned: false };
  return { t: expandRaw(x, [...batchShape, ...x.shape.slice(-2)]), stride: mat, owned: true };
}

function matmulForward(a: Tensor, b: Tensor, batchShape: number[], M: number, N: number, K: number): Tensor {
  const batch = shapeSize(batchShape);
  const out = Tensor.empty([...batchShape, M, N]);
  const A = batchOperand(a, batchShape);
  const B = batchOperand(b, batchShape);
  launchMatmul({ A: A.t.buffer, B: B.t.buffer, C: out.buffer, M, N, K, batch, aBatchStride: A.stride, bBatchStride: B.stride, cBatchStride: M * N, transA: false, transB: false, accumulate: false });
  if (A.owned) A.t.dispose();
  if (B.owned) B.t.dispose();
  return record(out, 'matmul', [a, b], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = g · Bᵀ  (batch-full), then summed over broadcast batch dims
      const full = Tensor.empty([...batchShape, M, K]);
      const Bx = batchOperand(b, batchShape);
      launchMatmul({ A: g.buffer, B: Bx.t.buffer, C: full.buffer, M, N: K, K: N, batch, aBatchStride: M * N, bBatchStride: Bx.stride, cBatchStride: M * K, transA: false, transB: true, accumulate: false });
      if (Bx.owned) Bx.t.dispose();
      ga = reduceAndFree(full, a.shape);
    }
    if (b.requiresGrad) {
      // dB = Aᵀ · g
      const full = Tensor.empty([...batchShape, K, N]);
      const Ax = batchOperand(a, batchShape);
      launchMatmul({ A: Ax.t.buffer, B: g.buffer, C: full.buffer, M: K, N, K: M, batch, aBatchStride: Ax.stride, bBatchStride: M * N, cBatchStride: K * N, transA: true, transB: false, accumulate: false });
      if (Ax.owned) Ax.t.dispose();
      gb = reduceAndFree(full, b.shape);
    }
    return [ga, gb];
  });
}

/**
 * y = x·Wᵀ (+ b) for x [..., in] and W [out, in] (torch's Linear layout), without materialising Wᵀ: the
 * matmul kernel reads W transposed. Backward: dx = g·W, dW = gᵀ·x (reads g transposed), db = Σ g.
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  if (w.rank !== 2) throw new Error(`linear: weight must be [out, in], got ${fmt(w.shape)}`);
  const [outF, inF] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) throw new Error(`linear: input ${fmt(x.shape)} must end in ${inF} features to match weight ${fmt(w.shape)}`);
  if (b && (b.rank !== 1 || b.shape[0] !== outF)) throw new Error(`linear: bias ${fmt(b.shape)} must be [${outF}] for weight ${fmt(w.shape)}`);
  const M = x.size / inF;
  const outShape = [...x.shape.slice(0, -1), outF];
  const y = Tensor.empty(outShape);
  launchMatmul({ A: x.buffer, B: w.buffer, C: y.buffer, M, N: outF, K: inF, batch: 1, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0, transA: false, transB: true, accumulate: false });
  const xy = record(y, 'linear', [x, w], (g) => {
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    if (x.requiresGrad) {
      gx = Tensor.empty(x.shape);
      launchMatmul({ A: g.buffer, B: w.buffer, C: gx.buffer, M, N: inF, K: outF, batch: 1, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0, transA: false, transB: false, accumulate: false });
    }
    if (w.requiresGrad) {
      gw = Tensor.empty(w.shape);
      launchMatmul({ A: g.buffer, B: x.buffer, C: gw.buffer, M: outF, N: inF, K: M, batch: 1, aBatchStride: 0, bBatchStride: 0, cBatchStride: 0, transA: true, transB: false, accumulate: false });
    }
    return [gx, gw];
  });
  if (!b) return xy;
  const out = add(xy, b);
  if (!out.requiresGrad) xy.dispose();
  return out;
}

// ------------------------------------------------------------------ Tensor methods

declare module './tensor.ts' {
  interface Tensor {
    add(b: Tensor | number): Tensor;
    sub(b: Tensor | number): Tensor;
    mul(b: Tensor | number): Tensor;
    div(b: Tensor | number): Tensor;
    maximum(b: Tensor): Tensor;
    minimum(b: Tensor): Tensor;
    gt(b: Tensor | number): Tensor;
    lt(b: Tensor | number): Tensor;
    eq(b: Tensor | number): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    relu(): Tensor;
    leakyRelu(slope?: number): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    pow(p: number): Tensor;
    square(): Tensor;
    clamp(lo: number, hi: number): Tensor;
    sum(axes?: number | number[], keepdim?: boolean): Tensor;
    mean(axes?: number | number[], keepdim?: boolean): Tensor;
    max(axes?: number | number[], keepdim?: boolean): Tensor;
    reshape(shape: Shape): Tensor;
    flatten(startDim?: number): Tensor;
    permute(dims: number[]): Tensor;
    transpose(d0?: number, d1?: number): Tensor;
    expand(shape: Shape): Tensor;
    slice(ranges: ([number, number, number?] | [number, number] | null)[]): Tensor;
    narrow(axis: number, start: number, length: number): Tensor;
    squeeze(axis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    matmul(b: Tensor): Tensor;
    clone(): Tensor;
  }
}

const P = Tensor.prototype;
P.add = function (b) { return add(this, b); };
P.sub = function (b) { return sub(this, b); };
P.mul = function (b) { return mul(this, b); };
P.div = function (b) { return div(this, b); };
P.maximum = function (b) { return maximum(this, b); };
P.minimum = function (b) { return minimum(this, b); };
P.gt = function (b) { return compare(this, b, 'gt'); };
P.lt = function (b) { return compare(this, b, 'lt'); };
P.eq = function (b) { return compare(this, b, 'eq'); };
P.neg = function () { return unary(this, 'neg'); };
P.exp = function () { return unary(this, 'exp'); };
P.log = function () { return unary(this, 'log'); };
P.sqrt = function () { return unary(this, 'sqrt'); };
P.abs = function () { return unary(this, 'abs'); };
P.relu = function () { return unary(this, 'relu'); };
P.leakyRelu = function (slope = 0.01) { return unary(this, 'leakyRelu', slope); };
P.sigmoid = function () { return unary(this, 'sigmoid'); };
P.tanh = function () { return unary(this, 'tanh'); };
P.pow = function (p) { return unary(this, 'pow', p); };
P.square = function () { return unary(this, 'square'); };
P.clamp = function (lo, hi) { return unary(this, 'clamp', lo, hi); };
P.sum = function (axes, keepdim) { return sum(this, axes, keepdim); };
P.mean = function (axes, keepdim) { return mean(this, axes, keepdim); };
P.max = function (axes, keepdim) { return max(this, axes, keepdim); };
P.reshape = function (shape) { return reshape(this, shape); };
P.flatten = function (startDim = 1) { return reshape(this, [...this.shape.slice(0, startDim), -1]); };
P.permute = function (dims) { return permute(this, dims); };
P.transpose = function (d0, d1) { return transpose(this, d0, d1); };
P.expand = function (shape) { return expand(this, shape); };
P.slice = function (ranges) { return slice(this, ranges); };
P.narrow = function (axis, start, length) { return narrow(this, axis, start, length); };
P.squeeze = function (axis) { return squeeze(this, axis); };
P.unsqueeze = function (axis) { return unsqueeze(this, axis); };
P.matmul = function (b) { return matmul(this, b); };
P.clone = function () { return clone(this); };
