/**
 * Differentiable reductions: sum, mean and max over any set of axes, with torch's keepdim. The kernel launch is
 * in ./reduce-kernel.ts; the backward passes broadcast the gradient back with the strided copy (expandRaw) and
 * the elementwise kernels.
 */
import { Tensor } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { formatShape, keptShape, normAxes } from './shape.ts';
import { reduceRaw } from './reduce-kernel.ts';
import { binaryRaw } from './elementwise.ts';
import { expandRaw } from './movement.ts';

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes(axes, x.rank, 'sum');
  return reduceWithGrad(x, ax, keepdim, 'sum', 1);
}

export function mean(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes(axes, x.rank, 'mean');
  const count = ax.reduce((n, a) => n * x.shape[a], 1);
  if (count === 0) throw new Error(`mean: reducing over an empty dimension of shape ${formatShape(x.shape)}`);
  return reduceWithGrad(x, ax, keepdim, 'sum', 1 / count);
}

function reduceWithGrad(x: Tensor, ax: number[], keepdim: boolean, op: 'sum', scale: number): Tensor {
  const r = reduceRaw(x, ax, op, scale);
  const out = keepdim ? r.reshapeView(keptShape(x.shape, ax)) : r;
  if (keepdim) r.dispose();
  return record(out, op, [x], (g) => {
    // The upstream gradient broadcast back over the reduced axes, times the mean's 1/count: one pass.
    const gk = g.reshapeView(keptShape(x.shape, ax));
    const full = expandRaw(gk, x.shape, scale);
    gk.dispose();
    return [full];
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
