/**
 * `initEngine`: the engine, then what depends on it being there. It sits above the ops because the autotuner
 * runs convolutions; the engine itself (./engine.ts) imports nothing above it.
 */
import { engine, hasEngine, startEngine, type Engine } from './engine.ts';
import { autotuneConv } from './autotune.ts';

/**
 * Creates (once) the global engine every tensor op uses. On a real GPU it then times the two conv kernel
 * versions and keeps the faster (./autotune.ts; `autotune: false` skips that); on a CPU adapter it times nothing.
 */
export async function initEngine(opts: { dawnOptions?: string[]; autotune?: boolean } = {}): Promise<Engine> {
  if (hasEngine()) return engine();
  const created = await startEngine(opts);
  if (!created.adapter.isCPU && opts.autotune !== false) await autotuneConv();
  return created;
}
