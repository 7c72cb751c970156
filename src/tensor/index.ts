/** Public tensor API: import from here (it loads ops.ts and ../autograd/graph.ts, which install the op methods and `backward` on Tensor). */
export { Tensor, tidy, memoryStats, manualSeed, shapeSize, type Shape } from './tensor.ts';
export { record } from '../autograd/record.ts';
export * from './ops.ts';
export { engine, useDevice, destroyEngine, hasEngine, Engine, type Kernel, type EngineStats } from './engine.ts';
export { initEngine } from './init.ts';
export { acquireDevice, getGPU, NoAdapterError, type AdapterSummary } from './gpu.ts';
export { noGrad, isGradEnabled, backward, type GradNode } from '../autograd/graph.ts';
export * from './conv.ts';
export * from './pool.ts';
export * from './norm.ts';
export * from './gram.ts';
export * from './losses.ts';
export * from './gan-ops.ts';
