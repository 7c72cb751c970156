/**
 * Kernel choice by measurement (src/tensor/autotune.ts): pickFastest's rule with a fake clock, and autotuneConv on
 * this adapter — nothing timed on a CPU adapter unless forced, a forced run times both versions and leaves a
 * version forced by the caller in place.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { engine } from '../src/tensor/index.ts';
import { autotuneConv, pickFastest } from '../src/tensor/autotune.ts';
import { convVersion, setConvVersion, setMeasuredConvVersion } from '../src/tensor/conv.ts';
import { useEngine } from './helpers.ts';

useEngine();

afterEach(() => {
  setConvVersion(null);
  setMeasuredConvVersion(null);
});

/** A fake timer: each version returns its listed times in turn (the first call is the untimed warm-up). */
function fakeTimes<V extends string>(times: Record<V, number[]>) {
  const calls: V[] = [];
  const next = {} as Record<V, number>;
  return {
    calls,
    timeOnce: async (v: V) => {
      calls.push(v);
      const i = next[v] ?? 0;
      next[v] = i + 1;
      return times[v][i]!;
    },
  };
}

describe('pickFastest', () => {
  it('picks the version with the lowest median, ignoring the warm-up run and outliers', async () => {
    // a: warm-up 1000, then 9, 30, 10 → median 10. b: warm-up 1, then 12, 11, 1 → median 11.
    // By mean b would win (8 vs 16.3), by the warm-up too; the median picks a.
    const t = fakeTimes({ a: [1000, 9, 30, 10], b: [1, 12, 11, 1] });
    const r = await pickFastest(['a', 'b'] as const, t.timeOnce, 3);
    expect(r.best).toBe('a');
    expect(r.ms).toEqual({ a: 10, b: 11 });
    expect(t.calls).toEqual(['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b']);
  });

  it('keeps the earlier version on a tie', async () => {
    const t = fakeTimes({ x: [5, 7], y: [5, 7] });
    expect((await pickFastest(['x', 'y'] as const, t.timeOnce, 1)).best).toBe('x');
    const u = fakeTimes({ x: [5, 7], y: [5, 7] });
    expect((await pickFastest(['y', 'x'] as const, u.timeOnce, 1)).best).toBe('y');
  });

  it('throws when given nothing to compare', async () => {
    await expect(pickFastest([], async () => 0)).rejects.toThrow('pickFastest: no versions to compare');
  });
});

describe('autotuneConv on this adapter', () => {
  it('times nothing on a CPU adapter (the register kernels stay); on a GPU times both and keeps the faster', async () => {
    // The rule, whichever adapter runs the suite (lavapipe on CI, a real GPU on a lent machine).
    const before = engine().stats().dispatches;
    const r = await autotuneConv();
    if (engine().adapter.isCPU) {
      expect(r).toBeNull();
      expect(engine().stats().dispatches).toBe(before);
      expect(convVersion()).toBe('register');
    } else {
      expect(r).not.toBeNull();
      expect(engine().stats().dispatches).toBeGreaterThan(before);
      expect(Object.keys(r!.ms).sort()).toEqual(['register', 'tiled']);
      expect(r!.best).toBe(r!.ms.register <= r!.ms.tiled ? 'register' : 'tiled');
      expect(convVersion()).toBe(r!.best);
    }
  });

  it('forced, times both versions, records the faster and keeps a caller-forced version', async () => {
    setConvVersion('tiled');
    const r = await autotuneConv({ force: true, reps: 1 });
    expect(r).not.toBeNull();
    expect(Object.keys(r!.ms).sort()).toEqual(['register', 'tiled']);
    for (const ms of Object.values(r!.ms)) expect(ms).toBeGreaterThan(0);
    expect(r!.best).toBe(r!.ms.register <= r!.ms.tiled ? 'register' : 'tiled');
    expect(convVersion()).toBe('tiled'); // still forced by this test
    setConvVersion(null);
    expect(convVersion()).toBe(r!.best); // the measured default shows once nothing is forced
  }, 120_000);
});
