import { describe, it, expect } from 'vitest';
import { Tensor } from '../src/tensor/index.ts';
import { engine } from '../src/tensor/engine.ts';
import { nonFiniteCounts, firstNonFinite } from '../src/tensor/finite.ts';
import * as R from '../src/reference/finite.ts';
import { useEngine, rng } from './helpers.ts';

useEngine();

/** Float32 values from raw bits (the edge cases no arithmetic produces reliably). */
const bits = (...u: number[]) => new Float32Array(Uint32Array.from(u).buffer);

describe('nonfinite kernel (finiteness check of many tensors)', () => {
  it('counts NaN, +Inf and −Inf; denormals, ±0 and the largest finite float are finite', async () => {
    const cases: Float32Array[] = [
      bits(0x7fc00000), // quiet NaN
      bits(0x7f800001, 0xffffffff), // signalling NaN, negative NaN with all payload bits
      Float32Array.of(Infinity, 1, 2),
      Float32Array.of(3, -Infinity),
      bits(0x00000001, 0x807fffff, 0x00800000), // smallest denormal, largest negative denormal, smallest normal
      bits(0x7f7fffff, 0xff7fffff, 0x00000000, 0x80000000), // ±largest finite, ±0
      Float32Array.of(NaN, Infinity, -Infinity, 0, NaN),
    ];
    const ts = cases.map((c) => Tensor.fromArray(c));
    const got = await nonFiniteCounts(ts);
    expect(got).toEqual(R.nonFiniteCounts(cases));
    expect(got).toEqual([1, 2, 1, 1, 0, 0, 4]);
    ts.forEach((t) => t.dispose());
  });

  it('agrees with the reference on many tensors of odd sizes, a value at the last element of each', async () => {
    const r = rng(7);
    const sizes = [1, 255, 256, 257, 1000, 3, 70_001, 5, 0, 2];
    const data = sizes.map((n, i) => {
      const a = Float32Array.from({ length: n }, () => r() * 2 - 1);
      if (n && i % 2 === 0) a[n - 1] = i % 4 === 0 ? NaN : -Infinity; // the stride's tail
      if (n > 300 && i % 3 === 0) for (let k = 0; k < n; k += 97) a[k] = Infinity;
      return a;
    });
    const ts = data.map((d, i) => (sizes[i] ? Tensor.fromArray(d) : Tensor.empty([0])));
    expect(await nonFiniteCounts(ts)).toEqual(R.nonFiniteCounts(data));
    ts.forEach((t) => t.dispose());
  });

  it('is one launch and one read-back for all tensors, and names the first non-finite one', async () => {
    const ts = Array.from({ length: 40 }, (_, i) => Tensor.fromArray(new Float32Array(100 + i).fill(i)));
    ts[29].dispose();
    ts[29] = Tensor.fromArray(Float32Array.of(1, NaN, 2));
    ts[33].dispose();
    ts[33] = Tensor.fromArray(Float32Array.of(Infinity));
    await engine().sync();
    const before = engine().stats();
    const bad = await firstNonFinite(ts.map((t, i) => [`t${i}`, t] as const));
    const after = engine().stats();
    expect(bad).toEqual({ name: 't29', count: 1, size: 3 });
    expect(after.dispatches - before.dispatches).toBe(1);
    // the starts table's write submits the (empty) encoder at most once, the read-back once
    expect(after.submits - before.submits).toBeLessThanOrEqual(2);
    expect(await firstNonFinite(ts.slice(0, 29).map((t, i) => [`t${i}`, t] as const))).toBeNull();
    expect(await nonFiniteCounts([])).toEqual([]);
    ts.forEach((t) => t.dispose());
  });
});
