/**
 * `initEngine`: the engine, then the settings that depend on it being there. It sits above the ops so that it can
 * set up the per-shape kernel tuner (./autotune.ts) they consult; the engine itself (./engine.ts) imports nothing
 * above it.
 */
import { engine, hasEngine, startEngine, type Engine } from './engine.ts';
import { setTuneMode, setTuneStore, type TuneMode, type TuneStore } from './autotune.ts';
import type { DeviceLimits } from './gpu.ts';

/**
 * Creates (once) the global engine every tensor op uses. `autotune` sets the tuner's mode ('auto' by default:
 * conv and matmul kernels are timed per shape on GPUs, not on CPU adapters; false = 'off'), `tuneStore` where
 * its table is kept between runs (a JSON file in Node: src/node/tune-store.ts; localStorage in a browser),
 * `limits` which limits the device is asked for (gpu.ts's DeviceLimits: the adapter's, by default, or WebGPU's
 * defaults).
 */
export async function initEngine(
  opts: {
    dawnOptions?: string[];
    autotune?: false | TuneMode;
    tuneStore?: TuneStore | null;
    limits?: DeviceLimits;
  } = {},
): Promise<Engine> {
  if (opts.autotune !== undefined) setTuneMode(opts.autotune === false ? 'off' : opts.autotune);
  if (opts.tuneStore !== undefined) setTuneStore(opts.tuneStore);
  if (hasEngine()) return engine();
  return startEngine(opts);
}
