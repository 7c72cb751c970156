/**
 * The three loss terms of neural style transfer (Gatys et al. 2015, as in the lesson's notebook), built from
 * differentiable tensor ops so autograd gives their gradient with respect to the image.
 *
 *   content  Lc = ½ Σ (F − P)²                         F, P: activations of the image and the content image
 *   style    Ls = Σ_l w_l Σ (G_l − A_l)²                G, A: Gram matrices of the image and the style image(s)
 *   TV, abs       Σ |x[i+1,j] − x[i,j]| + |x[i,j+1] − x[i,j]|
 *   TV, squared   Σ ((x[i,j] − x[i+1,j])² + (x[i,j] − x[i,j+1])²)^(β/2)   (β = 2.5: the Keras example's ^1.25)
 */
import { Tensor } from '../tensor/index.ts';
import { gram, type GramNormalize } from '../tensor/gram.ts';
import { totalVariation } from '../tensor/losses.ts';
import { formatShape } from '../tensor/shape.ts';

export type { GramNormalize };

/** ½ Σ (F − P)² — the content loss of Gatys et al. */
export function contentLoss(features: Tensor, target: Tensor): Tensor {
  if (features.shape.join() !== target.shape.join()) {
    throw new Error(
      `contentLoss: features ${formatShape(features.shape)} and target ${formatShape(target.shape)} differ in shape`,
    );
  }
  return features.sub(target).square().sum().mul(0.5);
}

/** Gram matrix [N, C, C] of features [N, C, H, W]. */
export function gramMatrix(features: Tensor, normalize: GramNormalize): Tensor {
  return gram(features, { normalize });
}

/** Σ (G − A)² for one layer; `targetGram` is the (possibly blended) Gram of the style image(s). */
export function styleLayerLoss(features: Tensor, targetGram: Tensor, normalize: GramNormalize): Tensor {
  const G = gramMatrix(features, normalize);
  if (G.shape.join() !== targetGram.shape.join()) {
    throw new Error(
      `styleLayerLoss: Gram ${formatShape(G.shape)} and target Gram ${formatShape(targetGram.shape)} differ in shape`,
    );
  }
  return G.sub(targetGram).square().sum();
}

export type TvKind = 'abs' | 'squared';

/**
 * Total variation of an image batch [N, C, H, W], summed over the batch (src/tensor/losses.ts): 'abs', or
 * 'squared' = Σ ((dx² + dy²)^(β/2)); β = 2.5 is the Keras example's (a + b)^1.25.
 */
export function totalVariationLoss(x: Tensor, kind: TvKind = 'abs', beta = 2.5): Tensor {
  return totalVariation(x, { kind, beta, reduction: 'sum' });
}
