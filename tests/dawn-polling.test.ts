// How Dawn's Node bindings wait for the GPU (src/tensor/gpu.ts, DawnPolling): their native callbacks re-queue
// themselves through setImmediate; in 'timer' mode those go through a 1 ms timer after the first 2 ms of a wait.
import { afterEach, describe, expect, it } from 'vitest';
import { engine, Tensor } from '../src/tensor/index.ts';
import { dawnPollingState, setDawnPolling } from '../src/tensor/gpu.ts';
import { matmul } from '../src/tensor/matmul.ts';
import * as R from '../src/reference/elementwise.ts';
import { expectClose, randomArray, useEngine } from './helpers.ts';

useEngine();
afterEach(() => setDawnPolling('auto'));

/**
 * Runs a callback that re-queues itself through setImmediate (as Dawn's does while a promise is pending) for
 * `ms` milliseconds; returns how many times it ran. `native` makes it a bound function, whose source reads
 * "[native code]" like Dawn's.
 */
function requeueFor(ms: number, native: boolean): Promise<number> {
  return new Promise((done) => {
    const end = performance.now() + ms;
    let runs = 0;
    const tick = () => {
      runs++;
      if (performance.now() >= end) done(runs);
      else setImmediate(callback);
    };
    const callback = native ? tick.bind(null) : tick;
    setImmediate(callback);
  });
}

describe('Dawn polling', () => {
  it("'auto' spins on GPUs and polls by timer on CPU adapters", () => {
    setDawnPolling('auto');
    expect(dawnPollingState().active).toBe(engine().adapter.isCPU ? 'timer' : 'spin');
    setDawnPolling('spin');
    expect(dawnPollingState()).toMatchObject({ mode: 'spin', active: 'spin' });
    expect(() => setDawnPolling('busy' as 'spin')).toThrow('Dawn polling must be one of auto, spin, timer, got "busy"');
  });

  it("'timer' runs a native callback about once a millisecond after the first 2 ms; JavaScript callbacks and 'spin' are left alone", async () => {
    setDawnPolling('timer');
    const deferred0 = dawnPollingState().deferred;
    const timed = await requeueFor(300, true);
    const deferred = dawnPollingState().deferred - deferred0;
    const plain = await requeueFor(300, false);
    setDawnPolling('spin');
    const spun = await requeueFor(300, true);
    // ~300 timer runs (fewer on a loaded machine) plus the immediate ones of the first 2 ms
    expect(deferred).toBeGreaterThan(30);
    expect(deferred).toBeLessThanOrEqual(300);
    // a self-requeuing immediate runs tens of thousands of times in 300 ms, native or not, unless timed
    expect(plain).toBeGreaterThan(10 * timed);
    expect(spun).toBeGreaterThan(10 * timed);
    expect(dawnPollingState().deferred - deferred0).toBe(deferred);
  });

  it('a read-back waits correctly in either mode, and spinning defers nothing', async () => {
    const [m, k, n] = [96, 130, 70];
    const a = randomArray(m * k, 1);
    const b = randomArray(k * n, 2);
    const ref = R.matmul(a, b, 1, m, k, n);
    for (const mode of ['timer', 'spin'] as const) {
      setDawnPolling(mode);
      const before = dawnPollingState().deferred;
      const c = matmul(Tensor.fromArray(a, [m, k]), Tensor.fromArray(b, [k, n]));
      const got = await c.toArray();
      expectClose(got, ref, 1e-5);
      if (mode === 'spin') expect(dawnPollingState().deferred).toBe(before);
    }
  });
});
