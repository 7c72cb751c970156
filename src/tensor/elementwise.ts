/**
 * Elementwise ops: the unary table (one kernel, shaders/unary.wgsl, with the expression substituted) and the
 * binary table with numpy/torch broadcasting (shaders/binary.wgsl), and the differentiable ops built on them.
 * A binary op's backward sums each input's gradient back over the dimensions it was broadcast along (`sumTo`).
 *
 * Backward functions must return tensors they own (never the incoming gradient itself): the graph walker
 * disposes each gradient after use.
 */
import { engine, elementwiseGrid, ELEMENTS_PER_INVOCATION } from './engine.ts';
import { shaderParams } from './params.ts';
import { Tensor } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { broadcastShapes, broadcastStrides, sameShape } from './shape.ts';
import { sumTo, reduceAndFree } from './reduce-kernel.ts';

// ------------------------------------------------------------------ unary

/** Forward expression f(x; a, b) and gradient expression (in x, y = f(x), g, a, b) for each unary op. */
export const UNARY_OPS = {
  neg: { f: '-x', df: '-g' },
  exp: { f: 'exp(x)', df: 'g * y' },
  log: { f: 'log(x)', df: 'g / x' },
  sqrt: { f: 'sqrt(x)', df: 'g * 0.5 / y' },
  abs: { f: 'abs(x)', df: 'g * sign(x)' },
  relu: { f: 'max_nan(x, 0.0)', df: 'select(0.0, g, x > 0.0)' },
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

function launchElementwise(
  shader: 'unary' | 'unary_backward',
  subs: Record<string, string>,
  inputs: Tensor[],
  out: Tensor,
  a: number,
  b: number,
): void {
  if (out.size === 0) return;
  engine().launch(
    { shader, subs, constants: { PER: ELEMENTS_PER_INVOCATION } },
    {
      params: shaderParams(shader, { n: out.size, a, b }),
      buffers: [...inputs.map((t) => t.buffer), out.buffer],
      workgroups: elementwiseGrid(out.size),
    },
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

/**
 * The gradient of an activation through its output y alone, for ops that apply it inside their own kernel and keep
 * no pre-activation tensor (conv2d's and convTranspose2d's `activation`): tanh's backward reads only y anyway, and a
 * LeakyReLU with slope ≥ 0 has y > 0 exactly where its input is, so both run their op's own backward kernel and
 * expression, with y read where x was: the same bits as the separate op.
 */
export function activationBackwardFromOutput(
  y: Tensor,
  g: Tensor,
  act: { kind: 'leaky_relu'; slope: number } | { kind: 'tanh' },
): Tensor {
  if (act.kind === 'leaky_relu' && !(act.slope >= 0))
    throw new Error(`activationBackwardFromOutput: a LeakyReLU's slope must be ≥ 0, got ${act.slope}`);
  const dx = Tensor.empty(y.shape);
  const op = act.kind === 'tanh' ? 'tanh' : 'leakyRelu';
  launchElementwise(
    'unary_backward',
    { GRAD: UNARY_OPS[op].df },
    [y, y, g],
    dx,
    act.kind === 'tanh' ? 0 : act.slope,
    0,
  );
  return dx;
}

// ------------------------------------------------------------------ binary, with broadcasting

export const BINARY_OPS = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  maximum: 'max_nan(a, b)',
  minimum: 'min_nan(a, b)',
  gt: 'select(0.0, 1.0, a > b)',
  lt: 'select(0.0, 1.0, a < b)',
  ge: 'select(0.0, 1.0, a >= b)',
  le: 'select(0.0, 1.0, a <= b)',
  eq: 'select(0.0, 1.0, a == b)',
} as const;
export type BinaryOp = keyof typeof BINARY_OPS;

/** Launches the broadcast kernel without recording a graph. */
export function binaryRaw(a: Tensor, b: Tensor, op: BinaryOp): Tensor {
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
