/**
 * The reduce kernel (shaders/reduce.wgsl) without autograd, and what the other ops' backward passes build on it:
 * `sumTo`, which sums a gradient of a broadcast result back down to an input's shape. It sits below the op
 * modules because elementwise ops, `expand` and matmul need `sumTo` in their backward, while the differentiable
 * reductions (./reduction.ts) need elementwise and movement ops in theirs.
 */
import { engine, grid1d } from './engine.ts';
import { shaderParams } from './params.ts';
import { Tensor, shapeSize, type Shape } from './tensor.ts';
import { contiguousStrides, formatShape, sameShape } from './shape.ts';

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
    const group = isRed ? reduced : kept;
    if (prev === isRed && group.shape.length) {
      // Contiguous with the previous dim of the same group: merge (inner stride wins).
      group.shape[group.shape.length - 1] *= shape[i];
      group.stride[group.stride.length - 1] = strides[i];
    } else {
      group.shape.push(shape[i]);
      group.stride.push(strides[i]);
    }
    prev = isRed;
  }
  return { kept, reduced };
}

/** Forces the reduce kernel's entry point (tests and the kernel guide time both); null: the host's rule below. */
export const reduceEntry = { forced: null as 'per_thread' | 'per_workgroup' | null };

/**
 * Sum (times `scale`) or max of `x` over the sorted `axes`, dropping them; not recorded by autograd. With `into` (a
 * plain sum only) the sum is added into that tensor in place and it is returned: a gradient already held for the
 * same tensor (src/tensor/conv.ts weightGrad).
 */
export function reduceRaw(x: Tensor, axes: number[], op: 'sum' | 'max', scale: number, into?: Tensor): Tensor {
  const outShape = x.shape.filter((_, i) => !axes.includes(i));
  if (into && !(op === 'sum' && scale === 1 && into.size === shapeSize(outShape)))
    throw new Error(`reduceRaw: adding into a tensor takes a plain sum into ${formatShape(outShape)}`);
  const out = into ?? Tensor.empty(outShape);
  if (out.size === 0) return out;
  const { kept, reduced } = reductionPlan(x.shape, axes);
  const redSize = shapeSize(reduced.shape);
  if (x.size === 0 || redSize === 0) {
    // Reducing an empty set: sum → 0; max has no identity.
    if (op === 'max') throw new Error(`max: cannot reduce over an empty dimension of shape ${formatShape(x.shape)}`);
    if (into) return into;
    out.dispose();
    return Tensor.zeros(outShape);
  }
  const perWorkgroup =
    reduceEntry.forced !== null ? reduceEntry.forced === 'per_workgroup' : redSize >= 128 && out.size < 16384;
  const params = shaderParams('reduce', {
    outSize: out.size,
    redSize,
    keptRank: kept.shape.length,
    redRank: reduced.shape.length,
    scale,
    // the start value's bits: 0.0, or −Inf for max (a row of −Inf then has max −Inf, as in torch; WGSL has no
    // infinity literal, and a constant bitcast to one is refused)
    identity: op === 'sum' ? 0 : 0xff800000,
    keptShape: kept.shape,
    keptStride: kept.stride,
    redShape: reduced.shape,
    redStride: reduced.stride,
  });
  const subs = op === 'sum' ? { COMBINE: 'a + b' } : { COMBINE: 'max_nan(a, b)' };
  engine().launch(
    {
      shader: 'reduce',
      entry: perWorkgroup ? 'per_workgroup' : 'per_thread',
      subs,
      constants: into ? { ACCUMULATE: true } : undefined,
    },
    { params, buffers: [x.buffer, out.buffer], workgroups: perWorkgroup ? grid1d(out.size, 1) : grid1d(out.size, 256) },
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

/** sumTo(x, shape) and dispose x. */
export function reduceAndFree(x: Tensor, shape: Shape): Tensor {
  const r = sumTo(x, shape);
  x.dispose();
  return r;
}
