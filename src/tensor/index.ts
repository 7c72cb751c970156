/** Public tensor API: import from here (it installs the op methods on Tensor). */
export { Tensor, tidy, memoryStats, manualSeed, record, shapeSize, type Shape } from './tensor.ts';
export * from './ops.ts';
export { initEngine, engine, useDevice, destroyEngine, hasEngine, Engine, type Kernel, type EngineStats } from './engine.ts';
export { acquireDevice, getGPU, NoAdapterError, type AdapterSummary } from './gpu.ts';
export { noGrad, isGradEnabled, backward } from '../autograd/graph.ts';
export * from './conv.ts';
export * from './pool.ts';
export * from './norm.ts';
export * from './gram.ts';
export * from './losses.ts';
