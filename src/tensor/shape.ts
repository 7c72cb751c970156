/**
 * Shape arithmetic shared by the ops: formatting, strides, broadcasting, axis normalisation. Plain functions
 * of number arrays — nothing here touches the GPU or a Tensor — so this module sits at the bottom of the
 * engine's layers and anything may import it.
 */
import type { Shape } from './tensor.ts';

/** `[2, 3, 4]`: how every error message writes a shape. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** numpy/torch broadcasting: align from the right; sizes must match or be 1. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new Error(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`,
      );
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Per-output-dimension strides into an input of shape `inShape` broadcast to `outShape` (0 where broadcast). */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const strides = contiguousStrides(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < off || inShape[i - off] === 1 ? 0 : strides[i - off]));
}

/** A possibly negative axis as an index in [0, rank); `op` names the op in the error. */
export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1))
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

/** Axes to reduce over, normalised and sorted (all of them when omitted); repeats are an error. */
export function normAxes(axes: number | number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = (Array.isArray(axes) ? axes : [axes]).map((a) => normAxis(a, rank, op));
  if (new Set(list).size !== list.length) throw new Error(`${op}: repeated axis in [${axes}]`);
  return list.sort((x, y) => x - y);
}

export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** `shape` with the reduced `axes` kept as size 1 (a keepdim result). */
export function keptShape(shape: Shape, axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}
