/**
 * Movement ops: reshape (a view), and the strided copies of shaders/strided_copy.wgsl — permute, transpose,
 * expand, slice, narrow, concat — plus squeeze, unsqueeze and clone. `gather` reads a strided view of a tensor
 * into a new contiguous one; `scatter` writes a tensor into a strided view of another. Each op's backward is
 * the other direction (permute ↔ inverse permute, slice ↔ scatter into zeros, expand ↔ sumTo, concat ↔ slices).
 *
 * Backward functions must return tensors they own (never the incoming gradient itself): the graph walker
 * disposes each gradient after use. Views (`reshapeView`) are cheap owned handles on shared storage.
 */
import { engine, grid1d } from './engine.ts';
import { shaderParams } from './params.ts';
import { Tensor, shapeSize, checkShape, type Shape } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { broadcastShapes, broadcastStrides, contiguousStrides, formatShape, normAxis, sameShape } from './shape.ts';
import { sumTo } from './reduce-kernel.ts';

/** Y = X at a strided view (strided_copy.wgsl gather), times `scale` when it is not 1 (one pass). */
function gather(x: Tensor, shape: Shape, strides: number[], offset: number, scale = 1): Tensor {
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  engine().launch(
    { shader: 'strided_copy', entry: 'gather', constants: scale === 1 ? undefined : { SCALED: true } },
    {
      params: shaderParams('strided_copy', { n: out.size, rank: shape.length, offset, scale, shape, stride: strides }),
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
      params: shaderParams('strided_copy', {
        n: src.size,
        rank: src.rank,
        offset,
        scale: 1,
        shape: src.shape,
        stride: strides,
      }),
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
    if (rest === 0 || x.size % rest !== 0)
      throw new Error(`reshape: cannot reshape ${formatShape(x.shape)} into ${formatShape(shape)}`);
    s[inferred] = x.size / rest;
  }
  checkShape(s, 'reshape target');
  if (shapeSize(s) !== x.size)
    throw new Error(
      `reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(shape)} (${shapeSize(s)} elements)`,
    );
  const out = x.reshapeView(s);
  return record(out, 'reshape', [x], (g) => [g.reshapeView(x.shape)]);
}

export function permute(x: Tensor, dims: number[]): Tensor {
  if (dims.length !== x.rank || new Set(dims.map((d) => normAxis(d, x.rank, 'permute'))).size !== x.rank) {
    throw new Error(`permute: [${dims}] is not a permutation of the ${x.rank} dimensions of ${formatShape(x.shape)}`);
  }
  const d = dims.map((a) => normAxis(a, x.rank, 'permute'));
  const strides = contiguousStrides(x.shape);
  const out = gather(
    x,
    d.map((i) => x.shape[i]),
    d.map((i) => strides[i]),
    0,
  );
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

/** Copies `x` out to the broadcast shape `shape`, without recording a graph. */
export function expandRaw(x: Tensor, shape: Shape, scale = 1): Tensor {
  broadcastShapes(x.shape, shape, 'expand');
  return gather(x, shape, broadcastStrides(x.shape, shape), 0, scale);
}

/** Broadcasts to `shape` (copying). */
export function expand(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes(x.shape, shape, 'expand');
  if (!sameShape(target, shape))
    throw new Error(`expand: ${formatShape(x.shape)} cannot be expanded to ${formatShape(shape)}`);
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
    if (!Number.isInteger(step) || step <= 0)
      throw new Error(`slice: step ${step} in dimension ${i} must be a positive integer`);
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
  if (start < 0 || length < 0 || start + length > x.shape[a])
    throw new Error(`narrow: [${start}, ${start + length}) is outside dimension ${a} of size ${x.shape[a]}`);
  if (isRun(x.shape, a)) {
    // The entries are one contiguous run of x: a buffer copy each way instead of a gather and a scatter.
    const out = narrowRaw(x, a, start, length);
    const offset = start * contiguousStrides(x.shape)[a] * 4;
    return record(out, 'narrow', [x], (g) => {
      const dx = Tensor.zeros(x.shape);
      engine().copy(g.buffer, 0, dx.buffer, offset, g.size * 4);
      return [dx];
    });
  }
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
      throw new Error(
        `concat: shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ outside axis ${a}`,
      );
    }
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((n, t) => n + t.shape[a], 0);
  const out = Tensor.empty(shape);
  const strides = contiguousStrides(shape);
  // Along the leading non-unit axis each part is one contiguous run of the output: a buffer copy, not a launch.
  const runs = isRun(shape, a);
  const starts: number[] = [];
  let pos = 0;
  for (const t of tensors) {
    starts.push(pos);
    if (runs) engine().copy(t.buffer, 0, out.buffer, pos * strides[a] * 4, t.size * 4);
    else scatter(t, out, strides, pos * strides[a]);
    pos += t.shape[a];
  }
  return record(out, 'concat', tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? narrowRaw(g, a, starts[i], t.shape[a]) : null)),
  );
}

/** Whether a range of axis `a` is one contiguous run of a tensor of `shape` (every axis before it has size 1). */
const isRun = (shape: Shape, a: number) => shape.slice(0, a).every((d) => d === 1);

function narrowRaw(x: Tensor, a: number, start: number, length: number): Tensor {
  const strides = contiguousStrides(x.shape);
  const shape = [...x.shape];
  shape[a] = length;
  if (!isRun(x.shape, a)) return gather(x, shape, strides, start * strides[a]);
  const out = Tensor.empty(shape);
  engine().copy(x.buffer, start * strides[a] * 4, out.buffer, 0, out.size * 4);
  return out;
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  const shape =
    axis === undefined
      ? x.shape.filter((d) => d !== 1)
      : x.shape.filter((d, i) => !(i === normAxis(axis, x.rank, 'squeeze') && d === 1));
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
