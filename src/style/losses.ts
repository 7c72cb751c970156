/**
 * The three loss terms of neural style transfer (Gatys et al. 2015, as in the lesson's notebook), built from
 * differentiable tensor ops so autograd gives their gradient with respect to the image.
 *
 *   content  Lc = ½ Σ (F − P)²                         F, P: activations of the image and the content image
 *   style    Ls = Σ_l w_l Σ (G_l − A_l)²                G, A: Gram matrices of the image and the style image(s)
 *   TV, abs       Σ |x[i+1,j] − x[i,j]| + |x[i,j+1] − x[i,j]|
 *   TV, squared   Σ ((x[i,j] − x[i+1,j])² + (x[i,j] − x[i,j+1])²)^β   (β = 1.25 in the Keras example)
 */
import { Tensor } from '../tensor/index.ts';
import { gram, type GramNormalize } from '../tensor/gram.ts';

export type { GramNormalize };

/** ½ Σ (F − P)² — the content loss of Gatys et al. */
export function contentLoss(features: Tensor, target: Tensor): Tensor {
  if (features.shape.join() !== target.shape.join()) {
    throw new Error(`contentLoss: features [${features.shape.join(', ')}] and target [${target.shape.join(', ')}] differ in shape`);
  }
  return features.sub(target).square().sum().mul(0.5);
}

/** Gram matrix [N, C, C] of features [N, C, H, W]. */
export function gramMatrix(features: Tensor, normalize: GramNormalize): Tensor {
  return gram(features, { normalize });
}

/** Σ (G − A)² for one layer; `targetGram` is the (possibly blended) Gram of the style image(s). */
export function styleLayerLoss(features: Tensor, targetGram: Tensor, normalize: GramNormalize): Tensor {
  const g = gramMatrix(features, normalize);
  if (g.shape.join() !== targetGram.shape.join()) {
    throw new Error(`styleLayerLoss: Gram [${g.shape.join(', ')}] and target Gram [${targetGram.shape.join(', ')}] differ in shape`);
  }
  return g.sub(targetGram).square().sum();
}

export type TvKind = 'abs' | 'squared';

/** Total variation of an image batch [N, C, H, W] (see the file comment for the two forms). */
export function totalVariation(x: Tensor, kind: TvKind = 'abs', beta = 1.25): Tensor {
  if (x.rank !== 4) throw new Error(`totalVariation: expected [N, C, H, W], got [${x.shape.join(', ')}]`);
  const [, , H, W] = x.shape;
  if (H < 2 || W < 2) throw new Error(`totalVariation: image ${W}x${H} needs at least 2x2 pixels`);
  if (kind === 'abs') {
    const dy = x.slice([null, null, [1, H]]).sub(x.slice([null, null, [0, H - 1]]));
    const dx = x.slice([null, null, null, [1, W]]).sub(x.slice([null, null, null, [0, W - 1]]));
    return dy.abs().sum().add(dx.abs().sum());
  }
  if (kind !== 'squared') throw new Error(`totalVariation: kind must be 'abs' or 'squared', got ${JSON.stringify(kind)}`);
  // Keras example form: both differences taken at the same top-left (H−1)×(W−1) pixels.
  const corner = x.slice([null, null, [0, H - 1], [0, W - 1]]);
  const a = corner.sub(x.slice([null, null, [1, H], [0, W - 1]])).square();
  const b = corner.sub(x.slice([null, null, [0, H - 1], [1, W]])).square();
  return a.add(b).pow(beta).sum();
}
