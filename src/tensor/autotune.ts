/**
 * Kernel choice by measurement, on the adapter at hand.
 *
 * The conv kernels come in two versions (src/tensor/conv.ts): register tiles without workgroup memory, measured
 * fastest on CPU adapters (lavapipe, SwiftShader), and workgroup-memory tiles, the classic GPU design. Which one
 * wins on a given GPU is a matter of its caches, its barrier cost and its driver, so on a real GPU the engine
 * times both once, when it is created (initEngine), on a layer of the lesson's discriminator, and keeps the
 * faster as the default. On a CPU adapter nothing is timed: the register kernels stay.
 */
import { engine } from './engine.ts';
import { Tensor, tidy } from './tensor.ts';
import {
  conv2d,
  conv2dInputGrad,
  conv2dWeightGrad,
  forcedConvVersion,
  setConvVersion,
  setMeasuredConvVersion,
  type ConvVersion,
} from './conv.ts';

export interface Fastest<V extends string> {
  best: V;
  /** Median milliseconds per version. */
  ms: Record<V, number>;
}

/**
 * Times each version `reps` times after one untimed warm-up run (pipeline compilation) and returns the one with
 * the lowest median; a tie keeps the earlier version.
 */
export async function pickFastest<V extends string>(
  versions: readonly V[],
  timeOnce: (v: V) => Promise<number>,
  reps = 3,
): Promise<Fastest<V>> {
  if (versions.length === 0) throw new Error('pickFastest: no versions to compare');
  const ms = {} as Record<V, number>;
  for (const v of versions) {
    await timeOnce(v);
    const samples: number[] = [];
    for (let i = 0; i < reps; i++) samples.push(await timeOnce(v));
    samples.sort((a, b) => a - b);
    ms[v] = samples[Math.floor(samples.length / 2)]!;
  }
  let best = versions[0]!;
  for (const v of versions) if (ms[v] < ms[best]) best = v;
  return { best, ms };
}

/**
 * Times the conv kernel versions on the lesson discriminator's second layer at batch 64 (x [64,64,14,14],
 * w [128,64,4,4], stride 2, padding 1: forward, input gradient and weight gradient) and makes the faster one the
 * default. Returns the timings, or null on a CPU adapter, where it times nothing unless `force` is set.
 * A version forced with setConvVersion() stays forced.
 */
export async function autotuneConv(
  opts: { force?: boolean; reps?: number } = {},
): Promise<Fastest<ConvVersion> | null> {
  if (engine().adapter.isCPU && !opts.force) return null;
  const conv = { stride: 2, padding: 1 };
  const x = Tensor.randn([64, 64, 14, 14], { seed: 1 });
  const w = Tensor.randn([128, 64, 4, 4], { seed: 2 });
  const dy = Tensor.randn([64, 128, 7, 7], { seed: 3 });
  const forced = forcedConvVersion();
  try {
    await engine().sync();
    const result = await pickFastest<ConvVersion>(
      ['register', 'tiled'],
      async (v) => {
        setConvVersion(v);
        const t0 = performance.now();
        tidy(() => {
          conv2d(x, w, null, conv);
          conv2dInputGrad([64, 64, 14, 14], w, dy, conv);
          conv2dWeightGrad(x, [4, 4], dy, conv);
        });
        await engine().sync();
        return performance.now() - t0;
      },
      opts.reps ?? 3,
    );
    setMeasuredConvVersion(result.best);
    return result;
  } finally {
    setConvVersion(forced);
    for (const t of [x, w, dy]) t.dispose();
  }
}
