/**
 * Gram matrices of feature maps, the style representation of neural style transfer.
 */
import { engine, grid1d } from './engine.ts';
import { shaderParams } from './params.ts';
import { Tensor } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { launchMatmul } from './matmul.ts';
import { unary } from './ops.ts';
import { formatShape } from './shape.ts';

/**
 * What the Gram matrix is divided by: 'hw' = H·W (the lesson's TF2 notebook, an average over positions),
 * 'chw' = C·H·W (jcjohnson/neural-style), 'none' = the raw inner products.
 */
export type GramNormalize = 'hw' | 'chw' | 'none';

/**
 * G[n] = F[n]·F[n]ᵀ / norm for f of shape [N, C, H, W], with F[n] = f[n] viewed as [C, H·W]; result [N, C, C].
 * Both products (forward, and backward dF = (dG + dGᵀ)·F / norm) use the batched matmul directly, with the
 * transpose folded into its indexing rather than materialised.
 */
export function gram(f: Tensor, opts: { normalize?: GramNormalize } = {}): Tensor {
  const normalize = opts.normalize ?? 'hw';
  if (f.rank !== 4) throw new Error(`gram: features must be 4-D [N, C, H, W], got shape ${formatShape(f.shape)}`);
  const [N, C, H, W] = f.shape;
  const HW = H * W;
  const norm = { hw: HW, chw: C * HW, none: 1 }[normalize];
  if (norm === undefined)
    throw new Error(`gram: normalize must be 'hw', 'chw' or 'none', got ${JSON.stringify(normalize)}`);
  if (norm === 0) throw new Error(`gram: features ${formatShape(f.shape)} have no spatial positions to normalize by`);

  const products = Tensor.empty([N, C, C]);
  launchMatmul({
    A: f.buffer,
    B: f.buffer,
    C: products.buffer,
    M: C,
    N: C,
    K: HW,
    batch: N,
    aBatchStride: C * HW,
    bBatchStride: C * HW,
    cBatchStride: C * C,
    transA: false,
    transB: true,
    accumulate: false,
  });
  let out = products;
  if (norm !== 1) {
    // f32 matmul + one scaling pass (cheap next to the C²·HW product); `products` records no graph.
    out = unary(products, 'mulScalar', 1 / norm);
    products.dispose();
  }
  return record(out, 'gram', [f], (dG) => {
    const sym = Tensor.empty([N, C, C]);
    engine().launch(
      { shader: 'gram', entry: 'symmetrize' },
      {
        params: shaderParams('gram', { count: sym.size, C, scale: 1 / norm }),
        buffers: [dG.buffer, sym.buffer],
        workgroups: grid1d(sym.size, 256),
      },
    );
    const df = Tensor.empty(f.shape);
    launchMatmul({
      A: sym.buffer,
      B: f.buffer,
      C: df.buffer,
      M: C,
      N: HW,
      K: C,
      batch: N,
      aBatchStride: C * C,
      bBatchStride: C * HW,
      cBatchStride: C * HW,
      transA: false,
      transB: false,
      accumulate: false,
    });
    sym.dispose();
    return [df];
  });
}
