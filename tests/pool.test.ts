import { describe, it, expect } from 'vitest';
import { Tensor, tidy, memoryStats } from '../src/tensor/index.ts';
import { maxPool2d, avgPool2d, upsample2d } from '../src/tensor/pool.ts';
import { useEngine, checkOp, randomArray } from './helpers.ts';
import * as R from '../src/reference/pool.ts';

useEngine();

type Case = { shape: [number, number, number, number]; k: [number, number]; s: [number, number]; p: [number, number] };
const CASES: Case[] = [
  { shape: [2, 3, 8, 8], k: [2, 2], s: [2, 2], p: [0, 0] }, // the classic 2×2/2
  { shape: [1, 5, 9, 7], k: [3, 3], s: [2, 2], p: [0, 0] }, // overlapping windows, odd sizes, batch 1
  { shape: [2, 3, 7, 6], k: [3, 3], s: [2, 2], p: [1, 1] }, // overlapping + padding
  { shape: [1, 2, 5, 8], k: [2, 3], s: [1, 2], p: [1, 1] }, // rectangular kernel, stride 1
  { shape: [3, 1, 4, 4], k: [4, 4], s: [4, 4], p: [2, 0] }, // padding of half the kernel
  { shape: [2, 2, 4, 9], k: [2, 3], s: [2, 3], p: [0, 0] }, // rectangular windows that tile the input exactly
  { shape: [1, 2, 7, 6], k: [2, 2], s: [2, 2], p: [0, 0] }, // windows = stride, but the last row is left out
];
const name = (c: Case) => `${c.shape} k${c.k} s${c.s} p${c.p}`;

describe('maxPool2d', () => {
  for (const c of CASES) {
    it(`forward + gradient ${name(c)}`, async () => {
      await checkOp({
        shapes: [c.shape],
        gpu: ([x]) => maxPool2d(x, { kernelSize: c.k, stride: c.s, padding: c.p }),
        ref: ([x]) => R.maxPool2d(x, c.shape, c).y,
      });
    });
  }

  it('routes each output gradient to the first maximum, summing where overlapping windows share a winner', async () => {
    // One big value in the middle of a 5×5 plane: with k3 s2 all four windows pick it.
    const x = new Float32Array(25).fill(0);
    x[12] = 5;
    const xt = Tensor.fromArray(x, [1, 1, 5, 5]).requireGrad();
    const y = maxPool2d(xt, { kernelSize: 3, stride: 2 });
    expect(Array.from(await y.toArray())).toEqual([5, 5, 5, 5]);
    y.backward(Tensor.fromArray([1, 2, 3, 4], [1, 1, 2, 2]));
    const g = await xt.grad!.toArray();
    expect(g[12]).toBe(10);
    expect(g.reduce((a, b) => a + b, 0)).toBe(10);
    // Ties: a constant plane sends each window's gradient to its first (top-left) position only.
    const c = Tensor.ones([1, 1, 4, 4]).requireGrad();
    maxPool2d(c, { kernelSize: 2 }).sum().backward();
    expect(Array.from(await c.grad!.toArray())).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
  });

  it('lets NaN win its window, as torch does, and routes the gradient to it (the float64 reference too)', async () => {
    // 4×4 plane, 2×2 windows: a NaN in the first window after a larger value, one in the last before a larger one
    const x = Float32Array.from(randomArray(16, 3, -1, 1));
    x[1] = 5;
    x[4] = NaN; // window 0 holds 0, 1, 4, 5
    x[10] = NaN; // window 3 holds 10, 11, 14, 15
    x[15] = 7;
    const xt = Tensor.fromArray(x, [1, 1, 4, 4]).requireGrad();
    const y = maxPool2d(xt, { kernelSize: 2 });
    const got = await y.toArray();
    const ref = R.maxPool2d(Float64Array.from(x), [1, 1, 4, 4], { k: [2, 2], s: [2, 2], p: [0, 0] });
    expect(Number.isNaN(got[0]!) && Number.isNaN(got[3]!)).toBe(true);
    expect(Number.isNaN(ref.y[0]!) && Number.isNaN(ref.y[3]!)).toBe(true);
    expect([ref.idx[0], ref.idx[3]]).toEqual([4, 10]); // the NaNs' positions in their planes
    expect([got[1], got[2]]).toEqual([Math.fround(ref.y[1]!), Math.fround(ref.y[2]!)]);
    y.backward(Tensor.fromArray([1, 2, 3, 4], [1, 1, 2, 2]));
    const g = await xt.grad!.toArray();
    expect(g[4]).toBe(1);
    expect(g[10]).toBe(4);
    expect(g[1]).toBe(0);
    expect(g[15]).toBe(0);
  });

  it('treats padding as -inf (an all-negative input never yields 0)', async () => {
    const data = randomArray(2 * 3 * 3, 5, -3, -1);
    const y = await maxPool2d(Tensor.fromArray(Float32Array.from(data), [1, 2, 3, 3]), {
      kernelSize: 2,
      stride: 1,
      padding: 1,
    }).toArray();
    const ref = R.maxPool2d(data, [1, 2, 3, 3], { k: [2, 2], s: [1, 1], p: [1, 1] }).y;
    expect(y.every((v) => v < -0.99)).toBe(true);
    // max pooling picks one input: each output is that input's float32 value, exactly
    expect(Array.from(y)).toEqual(Array.from(ref, (v) => Math.fround(v)));
  });

  it('frees its index buffer when no graph is recorded', () => {
    const x = Tensor.rand([1, 2, 6, 6]);
    const before = memoryStats().liveTensors;
    const y = maxPool2d(x, { kernelSize: 2 });
    expect(memoryStats().liveTensors).toBe(before + 1);
    y.dispose();
    x.dispose();
  });

  it('rejects bad shapes and options with clear errors', () => {
    tidy(() => {
      expect(() => maxPool2d(Tensor.zeros([2, 3, 4]), { kernelSize: 2 })).toThrow(
        /maxPool2d: input must be 4-D \[N, C, H, W\], got shape \[2, 3, 4\]/,
      );
      expect(() => maxPool2d(Tensor.zeros([1, 1, 4, 4]), { kernelSize: 2, padding: 2 })).toThrow(
        /padding \[2, 2\] must be at most half of kernelSize \[2, 2\]/,
      );
      expect(() => avgPool2d(Tensor.zeros([1, 1, 2, 2]), { kernelSize: 3 })).toThrow(
        /avgPool2d: input \[1, 1, 2, 2\] is smaller than kernelSize \[3, 3\]/,
      );
      expect(() => maxPool2d(Tensor.zeros([1, 1, 4, 4]), { kernelSize: 0 })).toThrow(
        /kernelSize must be an integer ≥ 1/,
      );
    });
  });
});

describe('avgPool2d', () => {
  for (const c of CASES) {
    for (const countIncludePad of [true, false]) {
      if (!countIncludePad && c.p[0] === 0 && c.p[1] === 0) continue; // identical without padding
      it(`forward + gradient ${name(c)} countIncludePad=${countIncludePad}`, async () => {
        await checkOp({
          shapes: [c.shape],
          gpu: ([x]) => avgPool2d(x, { kernelSize: c.k, stride: c.s, padding: c.p, countIncludePad }),
          ref: ([x]) => R.avgPool2d(x, c.shape, c, countIncludePad),
        });
      });
    }
  }
});

describe('avgPool2d backward: by windows where they tile the input, else the gather', () => {
  it('gives the same bits both ways, and each way launches the entry point it says', async () => {
    const { avgPoolBlocks } = await import('../src/tensor/pool.ts');
    const { engine } = await import('../src/tensor/index.ts');
    const x = Float32Array.from(randomArray(2 * 3 * 8 * 6, 11));
    const dy = Float32Array.from(randomArray(2 * 3 * 4 * 3, 12));
    const run = async (blocks: boolean) => {
      avgPoolBlocks.enabled = blocks;
      const seen: string[] = [];
      engine().onLaunch = (k) => void (k.shader === 'pool_avg' && seen.push(k.entry ?? 'forward'));
      try {
        const xt = Tensor.fromArray(x, [2, 3, 8, 6]).requireGrad();
        avgPool2d(xt, { kernelSize: 2 }).backward(Tensor.fromArray(dy, [2, 3, 4, 3]));
        return { dx: await xt.grad!.toArray(), seen };
      } finally {
        engine().onLaunch = null;
        avgPoolBlocks.enabled = true;
      }
    };
    const blocks = await run(true);
    const gather = await run(false);
    expect(blocks.seen).toEqual(['forward', 'backward_blocks']);
    expect(gather.seen).toEqual(['forward', 'backward']);
    expect(Array.from(blocks.dx)).toEqual(Array.from(gather.dx));
    // and against float64: each input gets its window's dy / 4
    const dx = blocks.dx;
    for (let i = 0; i < dx.length; i++) {
      const [p, h, w] = [Math.floor(i / 48), Math.floor((i % 48) / 6), i % 6];
      expect(dx[i]).toBe(dy[p * 12 + Math.floor(h / 2) * 3 + Math.floor(w / 2)]! / 4); // a quarter is exact
    }
  });
});

describe('upsample2d', () => {
  for (const [shape, scale] of [
    [[2, 3, 4, 5], 2],
    [[1, 5, 3, 3], 3],
    [
      [1, 2, 2, 3],
      [2, 1],
    ],
  ] as const) {
    it(`forward + gradient ${shape} scale ${scale}`, async () => {
      const [sh, sw] = typeof scale === 'number' ? [scale, scale] : scale;
      await checkOp({
        shapes: [shape],
        gpu: ([x]) => upsample2d(x, scale),
        ref: ([x]) => R.upsample2d(x, shape, sh, sw),
      });
    });
  }

  it('rejects non-integer scales and non-4-D input', () => {
    tidy(() => {
      expect(() => upsample2d(Tensor.zeros([1, 1, 2, 2]), 1.5)).toThrow(/upsample2d: scale must be an integer ≥ 1/);
      expect(() => upsample2d(Tensor.zeros([4, 4]), 2)).toThrow(/upsample2d: input must be 4-D/);
    });
  });
});
