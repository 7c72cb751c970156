/**
 * The tensor ops, and their installation as Tensor methods (`t.add(u)`, `t.reshape(s)`, …).
 *
 * The ops live in modules by kind — ./shape.ts (shape arithmetic), ./elementwise.ts (unary and broadcasting
 * binary ops), ./reduction.ts (sum, mean, max), ./movement.ts (reshape, permute, slice, concat, …) and
 * ./matmul.ts (matmul, linear) — and are re-exported here. Each method is one entry of TENSOR_METHODS, an op
 * whose first parameter is the tensor the method is called on; the method's type is derived from the entry
 * (`Method` below), so every signature is written once, on the op.
 */
import { Tensor } from './tensor.ts';
import { unary, add, sub, mul, div, maximum, minimum, compare } from './elementwise.ts';
import { sum, mean, max } from './reduction.ts';
import { reshape, permute, transpose, expand, slice, narrow, squeeze, unsqueeze, clone } from './movement.ts';
import { matmul } from './matmul.ts';

export { contiguousStrides, broadcastShapes } from './shape.ts';
export {
  UNARY_OPS,
  unary,
  BINARY_OPS,
  add,
  sub,
  mul,
  div,
  maximum,
  minimum,
  compare,
  type UnaryOp,
  type BinaryOp,
} from './elementwise.ts';
export { sumTo } from './reduce-kernel.ts';
export { sum, mean, max } from './reduction.ts';
export { reshape, permute, transpose, expand, slice, narrow, concat, squeeze, unsqueeze, clone } from './movement.ts';
export { matmul, linear } from './matmul.ts';

/** The Tensor methods: name → op taking the tensor first. */
const TENSOR_METHODS = {
  add,
  sub,
  mul,
  div,
  maximum,
  minimum,
  gt: (x: Tensor, b: Tensor | number): Tensor => compare(x, b, 'gt'),
  lt: (x: Tensor, b: Tensor | number): Tensor => compare(x, b, 'lt'),
  eq: (x: Tensor, b: Tensor | number): Tensor => compare(x, b, 'eq'),
  neg: (x: Tensor): Tensor => unary(x, 'neg'),
  exp: (x: Tensor): Tensor => unary(x, 'exp'),
  log: (x: Tensor): Tensor => unary(x, 'log'),
  sqrt: (x: Tensor): Tensor => unary(x, 'sqrt'),
  abs: (x: Tensor): Tensor => unary(x, 'abs'),
  relu: (x: Tensor): Tensor => unary(x, 'relu'),
  leakyRelu: (x: Tensor, slope = 0.01): Tensor => unary(x, 'leakyRelu', slope),
  sigmoid: (x: Tensor): Tensor => unary(x, 'sigmoid'),
  tanh: (x: Tensor): Tensor => unary(x, 'tanh'),
  pow: (x: Tensor, p: number): Tensor => unary(x, 'pow', p),
  square: (x: Tensor): Tensor => unary(x, 'square'),
  clamp: (x: Tensor, lo: number, hi: number): Tensor => unary(x, 'clamp', lo, hi),
  sum,
  mean,
  max,
  reshape,
  /** Merges the dimensions from `startDim` (default 1, keeping the batch) on into one. */
  flatten: (x: Tensor, startDim = 1): Tensor => reshape(x, [...x.shape.slice(0, startDim), -1]),
  permute,
  transpose,
  expand,
  slice,
  narrow,
  squeeze,
  unsqueeze,
  matmul,
  clone,
};

/** The method made of an op: its parameters after the tensor, its result. */
type Method<Op> = Op extends (x: Tensor, ...args: infer Args) => infer Result ? (...args: Args) => Result : never;
type TensorMethods = { [Name in keyof typeof TENSOR_METHODS]: Method<(typeof TENSOR_METHODS)[Name]> };

declare module './tensor.ts' {
  interface Tensor extends TensorMethods {}
}

// Installation. (The table is checked against this type here rather than with `satisfies` on its literal: that
// check would run while the compiler resolves Tensor's base types, which include the table's own type.)
const ops: Record<string, (x: Tensor, ...args: never[]) => Tensor> = TENSOR_METHODS;
const prototype = Tensor.prototype as unknown as Record<string, (this: Tensor, ...args: never[]) => Tensor>;
for (const [name, op] of Object.entries(ops)) {
  prototype[name] = function (...args) {
    return op(this, ...args);
  };
}
