/**
 * Neural style transfer on the engine, as one import for a program that uses it (bench/ours.ts does); the CLI and the
 * style page import the modules they need directly.
 */
export { runStyleTransfer, styleTransferLoss, fitSize, STYLE_DEFAULTS } from './transfer.ts';
export type {
  StyleTransferOptions,
  StyleTransferCallbacks,
  StyleTransferResult,
  IterationInfo,
  LossValues,
  LossSpec,
  LossTerms,
  InitKind,
  OptimizerKind,
  StyleImage,
} from './transfer.ts';
export {
  FeatureNet,
  randomFeatureNet,
  randomWeights,
  architectureSpec,
  convLayers,
  resolveLayerName,
  KERAS_PREPROCESSING,
  TORCHVISION_PREPROCESSING,
} from './nets.ts';
export type { Architecture, PoolKind, Preprocessing, FeatureNetSource, ConvWeights, ConvLayerSpec } from './nets.ts';
export {
  featureNetFromKeras,
  featureNetFromTorchvision,
  hwioToOihw,
  type KerasLayerArrays,
  type StoredArray,
} from './weights.ts';
export {
  contentLoss,
  styleLayerLoss,
  gramMatrix,
  totalVariationLoss,
  type TvKind,
  type GramNormalize,
} from './losses.ts';
export { LBFGS, type LbfgsOptions, type Objective, type Evaluation, type LbfgsStepResult } from './lbfgs.ts';
export { geometricScene, brushTexture, stripeTexture } from './images.ts';
