import { describe, it, expect } from 'vitest';
import { Tensor, tidy, memoryStats, engine } from '../src/tensor/index.ts';
import { bceWithLogits, mseLoss, l1Loss, totalVariation, BCE_SUM_IN_ONE } from '../src/tensor/losses.ts';
import { useEngine, checkOp, randomArray, expectClose } from './helpers.ts';
import * as R from '../src/reference/losses.ts';

useEngine();

const REDUCTIONS = ['mean', 'sum', 'none'] as const;
const SHAPES: number[][] = [[7], [3, 5], [2, 3, 4, 5]];

/** Logits from −100 to 100, including the extremes and values near 0. */
function extremeLogits(n: number, seed: number): Float64Array {
  const x = randomArray(n, seed, -6, 6);
  const fixed = [-100, 100, -30, 30, 0, -1e-3, 88, -88];
  fixed.forEach((v, i) => {
    if (i < n) x[(i * 7) % n] = v;
  });
  return x;
}

describe('bceWithLogits', () => {
  for (const shape of SHAPES) {
    for (const reduction of REDUCTIONS) {
      const n = shape.reduce((a, b) => a * b, 1);
      it(`tensor targets ${shape} ${reduction} (forward, d/dlogits, d/dtargets)`, async () => {
        await checkOp({
          shapes: [shape, shape],
          inputs: [extremeLogits(n, 1), randomArray(n, 2, 0, 1)],
          gpu: ([x, t]) => bceWithLogits(x, t, { reduction }),
          ref: ([x, t]) => R.bceWithLogits(x, t, reduction),
          eps: 1e-5,
        });
      });
      for (const target of [1, 0, 0.9]) {
        it(`scalar target ${target} ${shape} ${reduction}`, async () => {
          await checkOp({
            shapes: [shape],
            inputs: [extremeLogits(n, 3)],
            gpu: ([x]) => bceWithLogits(x, target, { reduction }),
            ref: ([x]) => R.bceWithLogits(x, target, reduction),
            eps: 1e-5,
          });
        });
      }
    }
  }

  for (const reduction of REDUCTIONS)
    it(`weight 0.125 scales every element's loss (${reduction}; tensor targets: forward, d/dlogits, d/dtargets)`, async () => {
      const shape = [6, 1];
      const scaled = (v: Float64Array) => v.map((x) => 0.125 * x);
      await checkOp({
        shapes: [shape, shape],
        inputs: [extremeLogits(6, 4), randomArray(6, 5, 0, 1)],
        gpu: ([x, t]) => bceWithLogits(x, t, { reduction, weight: 0.125 }),
        ref: ([x, t]) => scaled(R.bceWithLogits(x, t, reduction)),
        eps: 1e-5,
      });
      await checkOp({
        shapes: [shape],
        inputs: [extremeLogits(6, 6)],
        gpu: ([x]) => bceWithLogits(x, 0.9, { reduction, weight: 0.125 }),
        ref: ([x]) => scaled(R.bceWithLogits(x, 0.9, reduction)),
        eps: 1e-5,
      });
    });

  it(`a reduced loss of up to ${BCE_SUM_IN_ONE} elements is one launch; a larger one forward + reduction: same values, gradients`, async () => {
    // 300 elements (the workgroup's first 44 lanes each summing two) and 16401 (past the limit: the two-launch path)
    for (const n of [300, BCE_SUM_IN_ONE + 17])
      for (const reduction of ['mean', 'sum'] as const) {
        const x = Tensor.fromArray(Float32Array.from(extremeLogits(n, 60)), [n]);
        const before = engine().stats().dispatches;
        const l = bceWithLogits(x, 0.9, { reduction, weight: 0.5 });
        expect(engine().stats().dispatches - before, `${n} ${reduction}`).toBe(n <= BCE_SUM_IN_ONE ? 1 : 2);
        const want = R.bceWithLogits(extremeLogits(n, 60), 0.9, reduction)[0]! * 0.5;
        expect(Math.abs((await l.item()) - want) / Math.abs(want)).toBeLessThan(1e-5);
        for (const t of [x, l]) t.dispose();
      }
    // tensor targets on both paths, gradients by finite differences (the large one checks d/dlogits only: 16401
    // finite differences of a float64 reference are cheap, of both inputs twice that)
    for (const n of [300, BCE_SUM_IN_ONE + 17])
      await checkOp({
        shapes: [[n], [n]],
        inputs: [extremeLogits(n, 61), randomArray(n, 62, 0, 1)],
        gpu: ([x, t]) => bceWithLogits(x, t, { reduction: 'mean' }),
        ref: ([x, t]) => R.bceWithLogits(x, t, 'mean'),
        eps: 1e-5,
        wrt: n > BCE_SUM_IN_ONE ? [0] : [0, 1],
      });
  });

  it('is finite and exact at ±100 (no overflow in exp, no cancellation)', async () => {
    const x = Tensor.fromArray([-100, 100, -100, 100], [4]).requireGrad();
    const t = Tensor.fromArray([1, 1, 0, 0], [4]);
    const l = bceWithLogits(x, t, { reduction: 'none' });
    // Exact up to e^−100 ≈ 4e−44 (a denormal, which some GPUs flush to 0).
    expectClose(await l.toArray(), [100, 0, 0, 100], 1e-7);
    l.sum().backward();
    expectClose(await x.grad!.toArray(), [-1, 0, 0, 1], 1e-7);
  });

  it('keeps precision for tiny losses (log1p branch)', async () => {
    // x = 12, t = 1: loss = log(1 + e^−12) ≈ 6.144e−6; a plain log(1 + e) in f32 would give 0 or 5.96e−6.
    const l = await bceWithLogits(Tensor.fromArray([12], [1]), 1, { reduction: 'sum' }).item();
    expect(Math.abs(l - Math.log1p(Math.exp(-12))) / Math.log1p(Math.exp(-12))).toBeLessThan(1e-4);
  });

  it('rejects mismatched shapes, bad targets and unknown reductions', () => {
    tidy(() => {
      expect(() => bceWithLogits(Tensor.zeros([4, 1]), Tensor.zeros([4]))).toThrow(
        /bceWithLogits: logits \[4, 1\] and targets \[4\] must have the same shape/,
      );
      expect(() => bceWithLogits(Tensor.zeros([4]), NaN)).toThrow(/target must be a finite number/);
      expect(() => bceWithLogits(Tensor.zeros([4]), 1, { weight: Infinity })).toThrow(
        'bceWithLogits: weight must be a finite number, got Infinity',
      );
      expect(() => bceWithLogits(Tensor.zeros([4]), 1, { reduction: 'avg' as never })).toThrow(
        /reduction must be 'mean', 'sum' or 'none', got "avg"/,
      );
    });
  });
});

describe('bceWithLogits reduced: one backward pass', () => {
  for (const reduction of ['mean', 'sum'] as const)
    for (const target of [0.9, 'tensor'] as const)
      it(`${reduction}, target ${target}: each input's gradient in one launch, the same bits as the mean's broadcast then the elementwise gradient`, async () => {
        const n = 300; // more than one workgroup
        const xData = Float32Array.from(extremeLogits(n, 7));
        const tData = Float32Array.from(randomArray(n, 8, 0, 1));
        const grads = async (fused: boolean) => {
          const x = Tensor.fromArray(xData, [n, 1]).requireGrad();
          const t = target === 'tensor' ? Tensor.fromArray(tData, [n, 1]).requireGrad() : target;
          tidy(() => {
            const loss = fused
              ? bceWithLogits(x, t, { reduction })
              : bceWithLogits(x, t, { reduction: 'none' })[reduction]();
            loss.mul(3).backward(); // an upstream gradient other than 1
            return [];
          });
          const out = [await x.grad!.toArray(), typeof t === 'number' ? null : await t.grad!.toArray()];
          for (const v of [x, t]) if (typeof v !== 'number') (v.zeroGrad(), v.dispose());
          return out;
        };
        const fused = await grads(true);
        const composed = await grads(false);
        expect(Array.from(fused[0]!)).toEqual(Array.from(composed[0]!));
        if (target === 'tensor') expect(Array.from(fused[1]!)).toEqual(Array.from(composed[1]!));
        // the backward of loss: mul's, then one bce pass per input that needs a gradient
        const x = Tensor.fromArray(xData, [n, 1]).requireGrad();
        const t = target === 'tensor' ? Tensor.fromArray(tData, [n, 1]).requireGrad() : target;
        const loss = bceWithLogits(x, t, { reduction });
        const labels: string[] = [];
        engine().onLaunch = (k) => labels.push(`${k.shader}:${k.entry ?? 'main'}`);
        try {
          loss.backward();
        } finally {
          engine().onLaunch = null;
        }
        const wanted = ['loss_bce:grad_logits', ...(target === 'tensor' ? ['loss_bce:grad_targets'] : [])];
        expect(labels.filter((l) => l !== 'fill:fill').sort()).toEqual(wanted.sort());
        loss.dispose();
        for (const v of [x, t]) if (typeof v !== 'number') (v.zeroGrad(), v.dispose());
      });
});

describe('mseLoss and l1Loss', () => {
  for (const shape of SHAPES) {
    for (const reduction of REDUCTIONS) {
      it(`mse ${shape} ${reduction}`, async () => {
        await checkOp({
          shapes: [shape, shape],
          gpu: ([a, b]) => mseLoss(a, b, { reduction }),
          ref: ([a, b]) => R.mse(a, b, reduction),
        });
      });
      it(`l1 ${shape} ${reduction}`, async () => {
        await checkOp({
          shapes: [shape, shape],
          gpu: ([a, b]) => l1Loss(a, b, { reduction }),
          ref: ([a, b]) => R.l1(a, b, reduction),
        });
      });
    }
  }

  it('rejects mismatched shapes', () => {
    tidy(() => {
      expect(() => mseLoss(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]))).toThrow(
        /mseLoss: input \[2, 3\] and target \[3, 2\] must have the same shape/,
      );
      expect(() => l1Loss(Tensor.zeros([2]), Tensor.zeros([2, 1]))).toThrow(/l1Loss: input \[2\] and target \[2, 1\]/);
    });
  });

  it('frees its intermediates when no graph is recorded', () => {
    const a = Tensor.rand([10]);
    const b = Tensor.rand([10]);
    const before = memoryStats().liveTensors;
    const l = mseLoss(a, b);
    const t = totalVariation(Tensor.rand([1, 2, 5, 5]), { kind: 'squared', beta: 2.5 });
    expect(memoryStats().liveTensors).toBe(before + 3); // the two losses and the random image
    [a, b, l, t].forEach((x) => x.dispose());
  });
});

describe('totalVariation', () => {
  const TV_SHAPES: [number, number, number, number][] = [
    [1, 3, 5, 4],
    [2, 2, 3, 7],
    [2, 1, 1, 4],
  ];
  for (const shape of TV_SHAPES) {
    for (const [kind, beta] of [
      ['abs', 2],
      ['squared', 2],
      ['squared', 2.5],
    ] as const) {
      for (const reduction of REDUCTIONS) {
        it(`${kind} beta=${beta} ${shape} ${reduction}`, async () => {
          await checkOp({
            shapes: [shape],
            gpu: ([x]) => totalVariation(x, { kind, beta, reduction }),
            ref: ([x]) => R.totalVariation(x, shape, kind, beta, reduction),
          });
        });
      }
    }
  }

  it('matches hand-computed values', async () => {
    // 1×1×2×2 image [[0, 1], [3, 7]]: abs = |3−0| + |7−1| + |1−0| + |7−3| = 14; squared = (1² + 3²) = 10;
    // beta 2.5: 10^1.25.
    const x = Tensor.fromArray([0, 1, 3, 7], [1, 1, 2, 2]);
    expect(await totalVariation(x).item()).toBe(14);
    expect(await totalVariation(x, { kind: 'squared' }).item()).toBe(10);
    expectClose([await totalVariation(x, { kind: 'squared', beta: 2.5 }).item()], [10 ** 1.25], 1e-6);
  });

  it('rejects bad input', () => {
    tidy(() => {
      expect(() => totalVariation(Tensor.zeros([3, 4, 4]))).toThrow(
        /totalVariation: images must be 4-D \[N, C, H, W\], got shape \[3, 4, 4\]/,
      );
      expect(() => totalVariation(Tensor.zeros([1, 1, 4, 4]), { kind: 'l2' as never })).toThrow(
        /kind must be 'abs' or 'squared'/,
      );
      expect(() => totalVariation(Tensor.zeros([1, 1, 4, 4]), { beta: 0 })).toThrow(/beta must be positive/);
    });
  });
});
