/**
 * Loss functions with torch semantics. Each returns a scalar for reduction 'mean' (default) or 'sum', and
 * the elementwise losses for 'none'. Gradients come from autograd: the BCE elementwise term is one fused
 * kernel (shaders/loss_bce.wgsl); the others are short compositions of existing ops.
 */
import { engine, grid1d } from './engine.ts';
import { shaderParams } from './params.ts';
import { Tensor } from './tensor.ts';
import { record, noGrad } from '../autograd/record.ts';
import { add, mean, slice, sub, sum, unary } from './ops.ts';
import { formatShape } from './shape.ts';

export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(r: Reduction, op: string): void {
  if (r !== 'mean' && r !== 'sum' && r !== 'none')
    throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
}

function checkSameShape(a: Tensor, b: Tensor, op: string, names: [string, string]): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(
      `${op}: ${names[0]} ${formatShape(a.shape)} and ${names[1]} ${formatShape(b.shape)} must have the same shape`,
    );
  }
}

/**
 * Applies the reduction. Intermediates of a composition are freed at once when no graph holds them;
 * when autograd records they belong to the graph and the enclosing tidy scope frees them.
 */
function reduceLoss(elementwise: Tensor, reduction: Reduction, intermediates: Tensor[] = []): Tensor {
  let out = elementwise;
  if (reduction === 'mean') out = mean(elementwise);
  else if (reduction === 'sum') out = sum(elementwise);
  if (!out.requiresGrad) for (const t of [...intermediates, ...(out === elementwise ? [] : [elementwise])]) t.dispose();
  return out;
}

const abs = (x: Tensor) => unary(x, 'abs');
const square = (x: Tensor) => unary(x, 'square');

/** Up to this many elements, a reduced bceWithLogits sums its losses in its forward launch (loss_bce forward_sum). */
export const BCE_SUM_IN_ONE = 16384;

/**
 * Binary cross-entropy on logits, computed stably as max(x, 0) − x·t + log(1 + e^(−|x|)).
 * `targets` is a tensor of the logits' shape or one number for all (1 / 0, or 0.9 for one-sided label
 * smoothing). d/dx = σ(x) − t; a targets tensor that requires grad gets d/dt = −x. `weight` scales every element's
 * loss before the reduction (torch's `weight`, here one number; default 1).
 */
export function bceWithLogits(
  logits: Tensor,
  targets: Tensor | number,
  opts: { reduction?: Reduction; weight?: number } = {},
): Tensor {
  const reduction = opts.reduction ?? 'mean';
  checkReduction(reduction, 'bceWithLogits');
  const weight = opts.weight ?? 1;
  if (!Number.isFinite(weight)) throw new Error(`bceWithLogits: weight must be a finite number, got ${weight}`);
  const scalar = typeof targets === 'number';
  if (scalar) {
    if (!Number.isFinite(targets)) throw new Error(`bceWithLogits: target must be a finite number, got ${targets}`);
  } else checkSameShape(logits, targets, 'bceWithLogits', ['logits', 'targets']);
  const n = logits.size;
  // A scalar target leaves the T binding unused by the kernel; the logits fill it (read-only aliasing is fine).
  const tBuf = scalar ? logits.buffer : targets.buffer;
  const inputs = scalar ? [logits] : [logits, targets];
  const gradScale = reduction === 'mean' ? Math.fround(weight / n) : weight;
  if (reduction !== 'none' && n > 0 && n <= BCE_SUM_IN_ONE) {
    // A small reduced loss: the elementwise losses summed in the same launch.
    const out = Tensor.empty([]);
    engine().launch(
      { shader: 'loss_bce', entry: 'forward_sum', constants: { TARGET_SCALAR: scalar } },
      {
        params: shaderParams('loss_bce', {
          n,
          scalarTarget: scalar ? targets : 0,
          scale: weight,
          outScale: reduction === 'mean' ? 1 / n : 1,
        }),
        buffers: [logits.buffer, tBuf, out.buffer],
        workgroups: [1, 1, 1],
      },
    );
    return record(out, 'bceWithLogits', inputs, (g) => bceBackward(g, gradScale, true));
  }
  const elementwise = Tensor.empty(logits.shape);
  if (n > 0)
    engine().launch(
      { shader: 'loss_bce', entry: 'forward', constants: { TARGET_SCALAR: scalar } },
      {
        params: shaderParams('loss_bce', { n, scalarTarget: scalar ? targets : 0, scale: weight, outScale: 1 }),
        buffers: [logits.buffer, tBuf, elementwise.buffer],
        workgroups: grid1d(n, 256),
      },
    );
  /** The gradients given the loss's gradient g, per element (times gradScale) or one value (times gradScale). */
  function bceBackward(g: Tensor, gradScale: number, scalarGrad: boolean): (Tensor | null)[] {
    const kernel = { shader: 'loss_bce', constants: { TARGET_SCALAR: scalar, GRAD_SCALAR: scalarGrad } };
    const params = shaderParams('loss_bce', { n, scalarTarget: scalar ? targets : 0, scale: gradScale, outScale: 1 });
    const grad = (entry: 'grad_logits' | 'grad_targets') => {
      const d = Tensor.empty(logits.shape);
      const buffers =
        entry === 'grad_logits' ? [logits.buffer, tBuf, g.buffer, d.buffer] : [logits.buffer, g.buffer, d.buffer];
      if (n > 0) engine().launch({ ...kernel, entry }, { params, buffers, workgroups: grid1d(n, 256) });
      return d;
    };
    return [
      logits.requiresGrad ? grad('grad_logits') : null,
      !scalar && (targets as Tensor).requiresGrad ? grad('grad_targets') : null,
    ];
  }
  if (reduction === 'none') return record(elementwise, 'bceWithLogits', inputs, (g) => bceBackward(g, weight, false));
  // Reduced: one node whose backward is one pass per input (the reduction's broadcast folded into the kernel),
  // computing the same float32 values as the mean's backward followed by the elementwise one.
  const out = noGrad(() => (reduction === 'mean' ? mean(elementwise) : sum(elementwise)));
  elementwise.dispose();
  return record(out, 'bceWithLogits', inputs, (g) => bceBackward(g, gradScale, true));
}

/** Mean squared error: (a − b)² elementwise, then the reduction. */
export function mseLoss(a: Tensor, b: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  checkReduction(reduction, 'mseLoss');
  checkSameShape(a, b, 'mseLoss', ['input', 'target']);
  const diff = sub(a, b);
  return reduceLoss(square(diff), reduction, [diff]);
}

/** Mean absolute error: |a − b| elementwise (gradient sign(a − b), 0 at ties like torch), then the reduction. */
export function l1Loss(a: Tensor, b: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = opts.reduction ?? 'mean';
  checkReduction(reduction, 'l1Loss');
  checkSameShape(a, b, 'l1Loss', ['input', 'target']);
  const diff = sub(a, b);
  return reduceLoss(abs(diff), reduction, [diff]);
}

export interface TotalVariationOptions {
  kind?: 'abs' | 'squared';
  /** Exponent of the 'squared' kind (neural-style's β, default 2). */
  beta?: number;
  /** Over the batch of per-image totals: 'sum' (default), 'mean', or 'none' for the [N] totals. */
  reduction?: Reduction;
}

/**
 * Total variation of images x [N, C, H, W], per image n:
 *
 *   kind 'abs' (tf.image.total_variation):
 *     TV_n = Σ_{c, h<H−1, w} |x[n,c,h+1,w] − x[n,c,h,w]|  +  Σ_{c, h, w<W−1} |x[n,c,h,w+1] − x[n,c,h,w]|
 *   kind 'squared' (jcjohnson/neural-style; beta = 2.5 is the Keras style-transfer example's (a + b)^1.25):
 *     TV_n = Σ_{c, h<H−1, w<W−1} ( (x[n,c,h,w+1] − x[n,c,h,w])² + (x[n,c,h+1,w] − x[n,c,h,w])² )^(β/2)
 *
 * then reduced over the batch ('sum': Σ_n TV_n, 'mean': that / N, 'none': the [N] vector). For β < 2 the
 * gradient is infinite where both differences vanish, so keep β ≥ 2 (as both references do).
 */
export function totalVariation(x: Tensor, opts: TotalVariationOptions = {}): Tensor {
  const kind = opts.kind ?? 'abs';
  const beta = opts.beta ?? 2;
  const reduction = opts.reduction ?? 'sum';
  checkReduction(reduction, 'totalVariation');
  if (x.rank !== 4)
    throw new Error(`totalVariation: images must be 4-D [N, C, H, W], got shape ${formatShape(x.shape)}`);
  if (kind !== 'abs' && kind !== 'squared')
    throw new Error(`totalVariation: kind must be 'abs' or 'squared', got ${JSON.stringify(kind)}`);
  if (!(beta > 0)) throw new Error(`totalVariation: beta must be positive, got ${beta}`);
  const [, , H, W] = x.shape;
  const temps: Tensor[] = [];
  const keep = (t: Tensor) => (temps.push(t), t);
  let perImage: Tensor;
  if (kind === 'abs') {
    const down = keep(sub(keep(slice(x, [null, null, [1, H], null])), keep(slice(x, [null, null, [0, H - 1], null]))));
    const right = keep(sub(keep(slice(x, [null, null, null, [1, W]])), keep(slice(x, [null, null, null, [0, W - 1]]))));
    perImage = add(keep(sum(keep(abs(down)), [1, 2, 3])), keep(sum(keep(abs(right)), [1, 2, 3])));
  } else {
    const corner = keep(slice(x, [null, null, [0, H - 1], [0, W - 1]]));
    const down = keep(sub(keep(slice(x, [null, null, [1, H], [0, W - 1]])), corner));
    const right = keep(sub(keep(slice(x, [null, null, [0, H - 1], [1, W]])), corner));
    const squares = keep(add(keep(square(down)), keep(square(right))));
    // β = 2 is the plain sum of squares: skip the pow pass.
    const powered = beta === 2 ? squares : keep(unary(squares, 'pow', beta / 2));
    perImage = sum(powered, [1, 2, 3]);
  }
  return reduceLoss(perImage, reduction, temps);
}
