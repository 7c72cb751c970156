/** Public nn API: modules, layers, inits, optimizers and checkpoints. */
export {
  Module,
  toFloat32,
  type HostTensor,
  type StateValue,
  type StateEntry,
  type LoadResult,
  type BufferDtype,
} from './module.ts';
export {
  Linear,
  ReLU,
  LeakyReLU,
  Tanh,
  Sigmoid,
  Identity,
  Dropout,
  Flatten,
  Unflatten,
  Reshape,
  Sequential,
  uniformInit,
} from './layers.ts';
export {
  Conv2d,
  ConvTranspose2d,
  type Conv2dLayerOptions,
  type ConvTranspose2dLayerOptions,
  type Size2,
} from './conv.ts';
export { BatchNorm1d, BatchNorm2d } from './batchnorm.ts';
export { withBatchGroups, batchGroups, refuseBatchGroups } from './batch-groups.ts';
export { dcganInit, equalizedInit } from './init.ts';
export {
  Optimizer,
  Adam,
  SGD,
  type AdamOptions,
  type SGDOptions,
  type OptimizerStateValue,
  type OptimizerStateInput,
} from './optim.ts';
export {
  saveCheckpoint,
  loadCheckpoint,
  readCheckpointMeta,
  checkpointModules,
  CHECKPOINT_FORMAT,
  type CheckpointMeta,
  type LoadCheckpointOptions,
} from './checkpoint.ts';
export { emaUpdate, copyModuleState, refreshBatchNormStats } from './ema.ts';
export { deriveSeed } from './seed.ts';
export { PixelNorm, MinibatchStdDev, ModuleList } from './progressive.ts';
