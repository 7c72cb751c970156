import { describe, it, expect } from 'vitest';
import { Tensor, tidy, engine, memoryStats } from '../src/tensor/index.ts';
import { pixelNorm, minibatchStddev, fade, ganStepStats } from '../src/tensor/gan-ops.ts';
import * as R from '../src/reference/gan-ops.ts';
import { useEngine, checkOp, randomArray, expectClose, size } from './helpers.ts';

useEngine();

describe('pixelNorm', () => {
  // Batch 1 and 1×1 pixels (with one channel y would be sign(x), whose gradient is only rounding), C not a
  // multiple of 4, many channels, [N, C] latents, more pixels than a workgroup.
  const shapes = [
    [1, 2, 1, 1],
    [2, 5, 3, 7],
    [3, 17],
    [1, 300, 1, 1],
    [2, 3, 70, 5],
    [4, 512, 2, 2],
  ];
  for (const shape of shapes) {
    it(`matches the float64 reference and finite differences, ${formatted(shape)}`, async () => {
      await checkOp({
        shapes: [shape],
        gpu: ([x]) => pixelNorm(x),
        ref: ([x]) => R.pixelNorm(x, shape),
      });
    });
  }

  it('equals its composition from existing ops (x / √(mean over dim 1 of x² + 1e-8)) and leaves each pixel with mean square 1', async () => {
    const shape = [3, 6, 4, 5];
    const x = Tensor.fromArray(Float32Array.from(randomArray(size(shape), 9, -3, 3)), shape);
    const [ours, composed] = await tidy(() => [
      pixelNorm(x).keep(),
      x.div(x.square().mean(1, true).add(1e-8).sqrt()).keep(),
    ]);
    const y = await ours.toArray();
    expectClose(y, await composed.toArray(), 1e-6);
    for (let n = 0; n < 3; n++)
      for (let p = 0; p < 20; p++) {
        let s = 0;
        for (let c = 0; c < 6; c++) s += y[(n * 6 + c) * 20 + p] ** 2;
        expect(s / 6).toBeCloseTo(1, 5);
      }
    for (const t of [x, ours, composed]) t.dispose();
  });

  it('refuses a vector and a non-positive eps', () => {
    tidy(() => {
      expect(() => pixelNorm(Tensor.zeros([5]))).toThrow(
        'pixelNorm: input must be [N, C, ...] (rank ≥ 2), got shape [5]',
      );
      expect(() => pixelNorm(Tensor.zeros([2, 5]), 0)).toThrow('pixelNorm: eps must be positive, got 0');
    });
  });
});

describe('minibatchStddev', () => {
  // [shape, group size]: one group, several groups (M > 1), group of 1 (zero deviation), one feature, more features
  // than the 64-wide workgroup, an odd spatial size, more output elements than a workgroup.
  const cases: [number[], number][] = [
    [[4, 3, 2, 5], 4],
    [[6, 5, 3, 3], 3],
    [[6, 5, 3, 3], 2],
    [[3, 2, 2, 2], 1],
    [[4, 1, 1, 1], 2],
    [[2, 130, 3, 1], 2],
    [[8, 7, 5, 3], 4],
  ];
  for (const [shape, group] of cases) {
    it(`matches the float64 reference and finite differences, ${formatted(shape)} in groups of ${group}`, async () => {
      await checkOp({
        shapes: [shape],
        gpu: ([x]) => minibatchStddev(x, group),
        ref: ([x]) => R.minibatchStddev(x, shape, group),
      });
    });
  }

  it('groups sample n with the samples n ± k·N/G, as the paper code does: a group of identical images has deviation ~0', async () => {
    // N = 4, G = 2 → M = 2 groups: {0, 2} and {1, 3}. Samples 0 and 2 are equal, 1 and 3 differ.
    const img = (v: number) => [v, v + 1, v - 2];
    const x = Tensor.fromArray([...img(1), ...img(5), ...img(1), ...img(-5)], [4, 3, 1, 1]);
    const y = await minibatchStddev(x, 2).toArray();
    const extra = [3, 7, 11, 15].map((i) => y[i]);
    expectClose([extra[0], extra[2]], [1e-4, 1e-4], 1e-3); // √(0 + 1e-8)
    expectClose([extra[1], extra[3]], [5, 5], 1e-6); // |5 − (−5)| / 2 for each feature
    expect(Array.from(y.slice(0, 3))).toEqual(img(1));
    x.dispose();
  });

  it('refuses a batch that is not a multiple of the group size, a bad group size and a non-4-D input', () => {
    tidy(() => {
      expect(() => minibatchStddev(Tensor.zeros([6, 2, 4, 4]), 4)).toThrow(
        'minibatchStddev: the batch of 6 (input [6, 2, 4, 4]) is not a positive multiple of the group size 4',
      );
      expect(() => minibatchStddev(Tensor.zeros([4, 2, 4, 4]), 0)).toThrow(
        'minibatchStddev: group size must be an integer ≥ 1, got 0',
      );
      expect(() => minibatchStddev(Tensor.zeros([4, 2, 4]), 2)).toThrow(
        'minibatchStddev: input must be 4-D [N, C, H, W], got shape [4, 2, 4]',
      );
    });
  });

  it('frees its statistics: memory is flat over repeated forward and backward passes', async () => {
    const x = Tensor.fromArray(Float32Array.from(randomArray(4 * 3 * 4 * 4, 3)), [4, 3, 4, 4]).requireGrad();
    const live: number[] = [];
    for (let i = 0; i < 3; i++) {
      tidy(() => minibatchStddev(x, 2).sum().backward());
      x.zeroGrad();
      await engine().sync();
      live.push(memoryStats().liveTensors);
    }
    expect(live[2]).toBe(live[0]);
    x.dispose();
  });
});

describe('fade', () => {
  for (const shape of [[1], [2, 3, 5, 7], [1000]]) {
    for (const alpha of [0, 0.3, 1]) {
      it(`(1 − α)·a + α·b and both gradients, α = ${alpha}, ${formatted(shape)}`, async () => {
        await checkOp({
          shapes: [shape, shape],
          gpu: ([a, b]) => fade(a, b, alpha),
          ref: ([a, b]) => R.fade(a, b, alpha),
        });
      });
    }
  }

  it('gives a at α = 0 and b at α = 1 bit for bit, and a new α compiles no new pipeline', async () => {
    const a = Tensor.fromArray(Float32Array.from(randomArray(777, 1, -5, 5)), [7, 111]);
    const b = Tensor.fromArray(Float32Array.from(randomArray(777, 2, -5, 5)), [7, 111]);
    const at = async (alpha: number) => {
      const y = fade(a, b, alpha);
      const v = await y.toArray();
      y.dispose();
      return v;
    };
    expect(await at(0)).toEqual(await a.toArray());
    const pipelines = engine().stats().pipelines;
    expect(await at(1)).toEqual(await b.toArray());
    for (const alpha of [0.1, 0.25, 0.9]) await at(alpha);
    expect(engine().stats().pipelines).toBe(pipelines);
    a.dispose();
    b.dispose();
  });

  it('refuses tensors of different shapes and α outside [0, 1]', () => {
    tidy(() => {
      expect(() => fade(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]), 0.5)).toThrow(
        'fade: a [2, 3] and b [3, 2] must have the same shape',
      );
      expect(() => fade(Tensor.zeros([2]), Tensor.zeros([2]), 1.5)).toThrow(
        'fade: alpha must be a number in [0, 1], got 1.5',
      );
      expect(() => fade(Tensor.zeros([2]), Tensor.zeros([2]), NaN)).toThrow(
        /alpha must be a number in \[0, 1\], got NaN/,
      );
    });
  });
});

function formatted(shape: number[]): string {
  return `[${shape.join(', ')}]`;
}

describe('ganStepStats', () => {
  // D's outputs as the trainer has them ([N, 1]), a batch past one workgroup's 64 lanes, a fake batch of another
  // size (msggan's or a G-only step's), large logits whose σ saturates.
  const cases: { real: number; fake: number; scale: number }[] = [
    { real: 2, fake: 2, scale: 3 },
    { real: 16, fake: 16, scale: 3 },
    { real: 257, fake: 100, scale: 3 },
    { real: 64, fake: 65, scale: 60 },
  ];
  for (const { real, fake, scale } of cases) {
    for (const sigmoid of [true, false]) {
      it(`[lossD, lossG, E s(D(x)), E s(D(G(z)))] for ${real} reals, ${fake} fakes, |logit| ≤ ${scale}, ${sigmoid ? 'σ' : 'identity'}`, async () => {
        const r = randomArray(real, 11, -scale, scale);
        const f = randomArray(fake, 12, -scale, scale);
        const t = (a: Float64Array, shape: number[]) => Tensor.fromArray(Float32Array.from(a), shape);
        const [lossD, lossG] = [0.6931, 2.5];
        const got = tidy(() =>
          ganStepStats(
            {
              lossD: Tensor.fromArray([lossD]),
              lossG: Tensor.fromArray([lossG]),
              dReal: t(r, [real, 1]),
              dFake: t(f, [fake, 1]),
            },
            sigmoid,
          ),
        );
        const values = await got.toArray();
        got.dispose();
        // the inputs as the kernel saw them (float32)
        const want = R.ganStepStats(
          Math.fround(lossD),
          lossG,
          Float64Array.from(Float32Array.from(r)),
          Float64Array.from(Float32Array.from(f)),
          sigmoid,
        );
        expect(values[0]).toBe(want[0]);
        expect(values[1]).toBe(want[1]);
        expectClose(values.slice(2), want.slice(2), 1e-6, 'means');
      });
    }
  }

  it('reads reals and fakes as parts of one tensor (D scored both in one pass), and refuses a part outside it', async () => {
    // 40 reals then 24 fakes in one [64, 1] tensor, with values that differ between the parts
    const all = Float32Array.from(randomArray(64, 13, -4, 4)).map((v, i) => (i < 40 ? v : v - 3));
    const both = Tensor.fromArray(all, [64, 1]);
    const lossD = Tensor.fromArray([0.5]);
    const got = ganStepStats(
      { lossD, lossG: null, dReal: { of: both, start: 0, count: 40 }, dFake: { of: both, start: 40, count: 24 } },
      true,
    );
    const want = R.ganStepStats(0.5, NaN, Float64Array.from(all.slice(0, 40)), Float64Array.from(all.slice(40)), true);
    const values = await got.toArray();
    expectClose(values.slice(2), want.slice(2), 1e-6, 'means');
    expect(values[0]).toBe(0.5);
    expect(() =>
      ganStepStats({ lossD, lossG: null, dReal: both, dFake: { of: both, start: 40, count: 25 } }, true),
    ).toThrow('ganStepStats: dFake [40, 65) is not inside [64, 1]');
    for (const t of [both, lossD, got]) t.dispose();
  });

  it('leaves NaN where the step computed no such part, and launches once without a submit (none when nothing was computed)', async () => {
    const launches = () => engine().stats().dispatches;
    const r = Tensor.fromArray([0, 2, -2, 4], [4, 1]);
    const f = Tensor.fromArray([-1, 1], [2, 1]);
    const l = Tensor.fromArray([1.5]);
    const before = launches();
    const submits = engine().stats().submits;
    const onlyG = ganStepStats({ lossD: null, dReal: null, dFake: null, lossG: l }, true);
    const onlyD = ganStepStats({ lossD: l, dReal: r, dFake: f, lossG: null }, false);
    // NaN is made by the kernel: no upload, so the step's launches stay in one submit
    expect(engine().stats().submits).toBe(submits);
    const none = ganStepStats({ lossD: null, dReal: null, dFake: null, lossG: null }, true);
    expect(launches() - before).toBe(2);
    expect(Array.from(await onlyG.toArray())).toEqual([NaN, 1.5, NaN, NaN]);
    expect(Array.from(await onlyD.toArray())).toEqual([1.5, NaN, 1, 0]);
    expect(Array.from(await none.toArray())).toEqual([NaN, NaN, NaN, NaN]);
    for (const t of [r, f, l, onlyG, onlyD, none]) t.dispose();
  });

  it('refuses a D step given in part and a loss of more than one value', () => {
    tidy(() => {
      const one = Tensor.fromArray([1]);
      const two = Tensor.fromArray([1, 2]);
      expect(() => ganStepStats({ lossD: one, dReal: two, dFake: null, lossG: null }, true)).toThrow(
        'ganStepStats: lossD, dReal and dFake come together (all three or none)',
      );
      expect(() => ganStepStats({ lossD: null, dReal: null, dFake: null, lossG: two }, true)).toThrow(
        'ganStepStats: lossG must hold one value, got shape [2]',
      );
    });
  });
});
