/**
 * A NaN goes through relu, maximum, minimum, max (amax), max-pooling and BatchNorm's fused ReLU as it does in torch:
 * it stays NaN. WGSL leaves max(a, b) and min(a, b) with a NaN operand to the implementation (shaders/lib/nan.wgsl),
 * so on a GPU that returns the other operand a NaN in G would leave its ReLU as 0 and vanish from the loss.
 */
import { describe, it, expect } from 'vitest';
import { Tensor, batchNorm, maxPool2d } from '../src/tensor/index.ts';
import { useEngine } from './helpers.ts';

useEngine();

const read = async (t: Tensor) => Array.from(await t.toArray());

describe('NaN is kept as torch keeps it', () => {
  it('relu: NaN stays NaN, its gradient is 0 there (torch: g · (x > 0)); ±0, ±Inf as torch', async () => {
    const x = Tensor.fromArray([NaN, -1, 0, -0, 2, Infinity, -Infinity]).requireGrad();
    const y = x.relu();
    expect(await read(y)).toEqual([NaN, 0, 0, 0, 2, Infinity, 0]);
    y.backward(Tensor.fromArray([1, 1, 1, 1, 1, 1, 1]));
    expect(await read(x.grad!)).toEqual([0, 0, 0, 0, 1, 1, 0]);
  });

  it('maximum and minimum: NaN on either side gives NaN', async () => {
    const a = Tensor.fromArray([NaN, 1, NaN, 3, -2]);
    const b = Tensor.fromArray([1, NaN, NaN, 2, -5]);
    expect(await read(a.maximum(b))).toEqual([NaN, NaN, NaN, 3, -2]);
    expect(await read(a.minimum(b))).toEqual([NaN, NaN, NaN, 2, -5]);
    expect(await read(b.maximum(a))).toEqual([NaN, NaN, NaN, 3, -2]);
  });

  it('max over an axis: a row holding a NaN gives NaN, the others their max; all −Inf gives −Inf', async () => {
    // 3 rows of 300 (more than one workgroup's worth per row): the NaN first, in the middle, and none
    const v = new Float32Array(900).map((_, i) => Math.sin(i));
    v[300] = NaN;
    v[150] = NaN;
    const x = Tensor.fromArray(v, [3, 300]);
    const want = [NaN, NaN, Math.max(...v.slice(600))];
    expect(await read(x.max(1))).toEqual(want);
    expect(await read(x.max())).toEqual([NaN]);
    // and a row of −Inf has max −Inf (the reduction starts from −Inf, not the most negative float)
    const inf = Tensor.fromArray([-Infinity, -Infinity, 1, -Infinity], [2, 2]);
    expect(await read(inf.max(1))).toEqual([-Infinity, 1]);
  });

  it('max-pooling: a window holding a NaN gives NaN', async () => {
    const x = Tensor.fromArray([1, NaN, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);
    expect(await read(maxPool2d(x, { kernelSize: 2 }))).toEqual([NaN, 8, 14, 16]);
  });

  it("BatchNorm's fused ReLU: a channel whose statistics are NaN stays NaN, the other is normalised", async () => {
    // channel 0 holds a NaN (its mean and variance are NaN); channel 1 is [−1, 1] per image pair
    const x = Tensor.fromArray([NaN, -1, 2, 1], [2, 2]);
    const y = batchNorm(x, null, null, null, null, { training: true, activation: { kind: 'relu' } });
    const out = await read(y);
    expect(out[0]).toBeNaN();
    expect(out[2]).toBeNaN();
    // channel 1: x̂ = ±1/√(1 + 1e-5), then ReLU
    expect(out[1]).toBe(0);
    expect(out[3]).toBeCloseTo(1 / Math.sqrt(1 + 1e-5), 6);
  });
});
