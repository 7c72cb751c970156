import { describe, it, expect } from 'vitest';
import { Tensor, tidy, concat, engine } from '../src/tensor/index.ts';
import { batchNorm, bnSubgroups } from '../src/tensor/norm.ts';
import { useEngine, checkOp, randomArray, expectClose } from './helpers.ts';
import * as R from '../src/reference/norm.ts';
import { BatchNorm2d, MinibatchStdDev, withBatchGroups, batchGroups } from '../src/nn/index.ts';

useEngine();

const SHAPES: [number, ...number[]][] = [
  [2, 3, 4, 5], // odd C, small planes
  [1, 5, 7, 3], // batch 1, C not a multiple of 4
  [6, 7], // 2-D (BatchNorm1d)
  [3, 2, 9, 11], // M = 297 > the 64-wide reduction workgroup
  [2, 3, 5], // [N, C, L]
  [2, 3, 31, 37], // 6882 elements: several 2048-element workgroups, channels change inside an invocation's run
  [3, 2, 7, 7], // DCGAN's 7×7 planes: M = 147 > 64 with HW < 64, so the reductions' walk carries
  [70, 3], // HW = 1 with M = 70 > 64
];

const f32 = (a: Float64Array) => Float32Array.from(a);

describe('batchNorm forward + gradients', () => {
  for (const shape of SHAPES) {
    const C = shape[1];
    for (const training of [true, false]) {
      for (const affine of [true, false]) {
        it(`${shape} training=${training} affine=${affine}`, async () => {
          const rm = randomArray(C, 9, -0.5, 0.5);
          const rv = randomArray(C, 10, 0.5, 2);
          const xData = randomArray(
            shape.reduce((a, b) => a * b, 1),
            11,
            -2,
            3,
          );
          const gData = randomArray(C, 12, 0.5, 1.5);
          const bData = randomArray(C, 13, -1, 1);
          const runMean = Tensor.fromArray(f32(rm), [C]);
          const runVar = Tensor.fromArray(f32(rv), [C]);
          await checkOp({
            shapes: affine ? [shape, [C], [C]] : [shape],
            inputs: affine ? [xData, gData, bData] : [xData],
            gpu: ([x, g, b]) => batchNorm(x, g ?? null, b ?? null, runMean, runVar, { training }),
            ref: ([x, g, b]) => R.batchNorm(x, shape, g ?? null, b ?? null, rm, rv, training).y,
          });
          // checkOp ran the op exactly once: the running stats moved one step (training) or not at all (eval).
          const want = R.batchNorm(xData, shape, null, null, rm, rv, training);
          expectClose(await runMean.toArray(), want.runningMean, 1e-5);
          expectClose(await runVar.toArray(), want.runningVar, 1e-5);
          runMean.dispose();
          runVar.dispose();
        });
      }
    }
  }
});

describe('the float64 backward reference (src/reference/norm.ts batchNormBackward)', () => {
  it('equals central differences of the forward reference, relative to each gradient’s size, with and without γ', () => {
    const shape = [3, 4, 2, 5];
    const x = randomArray(120, 1, -2, 2);
    const dy = randomArray(120, 2);
    const zeros = new Float64Array(4);
    const ones = new Float64Array(4).fill(1);
    for (const affine of [true, false]) {
      const gamma = affine ? randomArray(4, 3, 0.5, 1.5) : null;
      const beta = affine ? randomArray(4, 4) : null;
      const loss = (xv: Float64Array, g: Float64Array | null, b: Float64Array | null) =>
        R.batchNorm(xv, shape, g, b, zeros, ones, true).y.reduce((s, v, i) => s + v * dy[i]!, 0);
      const h = 1e-6;
      const fd = (v: Float64Array, f: (w: Float64Array) => number) =>
        Float64Array.from(v, (_, i) => {
          const p = Float64Array.from(v);
          const m = Float64Array.from(v);
          p[i] += h;
          m[i] -= h;
          return (f(p) - f(m)) / (2 * h);
        });
      const got = R.batchNormBackward(x, shape, gamma, dy);
      expectClose(
        got.dx,
        fd(x, (w) => loss(w, gamma, beta)),
        1e-6,
        'dx',
      );
      if (gamma && beta) {
        expectClose(
          got.dgamma,
          fd(gamma, (w) => loss(x, w, beta)),
          1e-6,
          'dγ',
        );
        expectClose(
          got.dbeta,
          fd(beta, (w) => loss(x, gamma, w)),
          1e-6,
          'dβ',
        );
      }
    }
  });
});

describe('batchNorm with a fused activation (one pass forward, act′ folded into the backward kernels)', () => {
  const acts = [{ kind: 'relu' }, { kind: 'leaky_relu', slope: 0.2 }] as const;
  for (const shape of [SHAPES[0]!, SHAPES[2]!, SHAPES[5]!]) {
    const C = shape[1];
    for (const training of [true, false])
      for (const affine of [true, false])
        for (const activation of acts) {
          it(`${shape} training=${training} affine=${affine} ${activation.kind}`, async () => {
            const rm = randomArray(C, 9, -0.5, 0.5);
            const rv = randomArray(C, 10, 0.5, 2);
            const n = shape.reduce((a, b) => a * b, 1);
            const slope = activation.kind === 'leaky_relu' ? activation.slope : 0;
            const act = (y: Float64Array) => y.map((v) => (v > 0 ? v : slope * v));
            const runMean = Tensor.fromArray(f32(rm), [C]);
            const runVar = Tensor.fromArray(f32(rv), [C]);
            await checkOp({
              shapes: affine ? [shape, [C], [C]] : [shape],
              // β around 0 puts about half of the pre-activations on each side of the kink
              inputs: affine
                ? [randomArray(n, 11, -2, 3), randomArray(C, 12, 0.5, 1.5), randomArray(C, 13, -1, 1)]
                : [randomArray(n, 11, -2, 3)],
              gpu: ([x, g, b]) => batchNorm(x, g ?? null, b ?? null, runMean, runVar, { training, activation }),
              ref: ([x, g, b]) => act(R.batchNorm(x, shape, g ?? null, b ?? null, rm, rv, training).y),
            });
            runMean.dispose();
            runVar.dispose();
          });
        }
  }

  it('names a non-finite LeakyReLU slope', () => {
    const x = Tensor.randn([2, 3]);
    expect(() =>
      batchNorm(x, null, null, null, null, { training: true, activation: { kind: 'leaky_relu', slope: NaN } }),
    ).toThrow('batchNorm: the LeakyReLU slope must be finite, got NaN');
    x.dispose();
  });
});

describe('batchNorm in groups (the GAN trainer runs D once on its real and fake images)', () => {
  // [shape, groups]: small planes, one image per group, a 2-D input, M > 64 per group with group boundaries inside an
  // invocation's run of elements (which steps by 256), two workgroups of 2048 elements, and DCGAN's 7×7 planes.
  const CASES: [[number, ...number[]], number][] = [
    [[4, 3, 4, 5], 2],
    [[2, 5, 7, 3], 2],
    [[12, 7], 3],
    [[4, 2, 9, 11], 2],
    [[4, 3, 15, 13], 2],
    [[4, 3, 7, 7], 2],
    [[32, 3, 2, 2], 16], // groups of 12 elements: an invocation's next element (256 on) is many groups further
  ];
  for (const [shape, groups] of CASES) {
    const C = shape[1];
    const n = shape.reduce((a, b) => a * b, 1);
    for (const training of [true, false])
      for (const activation of [undefined, { kind: 'leaky_relu', slope: 0.2 } as const]) {
        it(`${shape} in ${groups} groups, training=${training}${activation ? ' leaky_relu' : ''}: float64 reference, gradients, running statistics`, async () => {
          const rm = randomArray(C, 9, -0.5, 0.5);
          const rv = randomArray(C, 10, 0.5, 2);
          const slope = activation?.slope ?? 1;
          const act = (y: Float64Array) => y.map((v) => (v > 0 ? v : slope * v));
          const runMean = Tensor.fromArray(f32(rm), [C]);
          const runVar = Tensor.fromArray(f32(rv), [C]);
          const count = Tensor.zeros([1]);
          // Groups with different offsets and spreads, so that statistics over the whole batch would be wrong.
          const xData = randomArray(n, 11, -2, 3).map((v, i) => (i < n / groups ? v : 2.5 * v + 1));
          await checkOp({
            shapes: [shape, [C], [C]],
            inputs: [xData, randomArray(C, 12, 0.5, 1.5), randomArray(C, 13, -1, 1)],
            gpu: ([x, g, b]) =>
              batchNorm(x, g, b, runMean, runVar, { training, activation, groups, numBatchesTracked: count }),
            ref: ([x, g, b]) => act(R.batchNormGroups(x, shape, groups, g, b, rm, rv, training).y),
          });
          const want = R.batchNormGroups(xData, shape, groups, null, null, rm, rv, training);
          expectClose(await runMean.toArray(), want.runningMean, 1e-5);
          expectClose(await runVar.toArray(), want.runningVar, 1e-5);
          expect(Array.from(await count.toArray())).toEqual([training ? groups : 0]);
          for (const t of [runMean, runVar, count]) t.dispose();
        });
      }
  }

  it('in groups with ReLU and no affine parameters, without running statistics (batch statistics in eval too)', async () => {
    const shape = [6, 3, 5, 4];
    const n = 6 * 3 * 20;
    const xData = randomArray(n, 41, -2, 2).map((v, i) => (i < n / 3 ? v : i < (2 * n) / 3 ? 2 * v + 1 : v - 3));
    for (const training of [true, false])
      await checkOp({
        shapes: [shape],
        inputs: [xData],
        gpu: ([x]) => batchNorm(x, null, null, null, null, { training, activation: { kind: 'relu' }, groups: 3 }),
        ref: ([x]) =>
          R.batchNormGroups(x, shape, 3, null, null, new Float64Array(3), new Float64Array(3), true).y.map((v) =>
            Math.max(v, 0),
          ),
      });
    // eval with running statistics normalizes every group alike: the group count need not divide the batch
    const x = Tensor.fromArray(f32(xData), shape);
    const [rm, rv] = [Tensor.zeros([3]), Tensor.ones([3])];
    const y = batchNorm(x, null, null, rm, rv, { training: false, groups: 4 });
    expectClose(
      await y.toArray(),
      R.batchNorm(xData, shape, null, null, new Float64Array(3), new Float64Array(3).fill(1), false).y,
      1e-5,
    );
    for (const t of [x, rm, rv, y]) t.dispose();
  });

  it('in groups, gradients of γ and β alone (the input needs none)', async () => {
    const shape = [4, 2, 3, 3];
    await checkOp({
      shapes: [shape, [2], [2]],
      inputs: [
        randomArray(72, 43, -1, 2).map((v, i) => (i < 36 ? v : 3 * v)),
        randomArray(2, 44, 0.5, 1.5),
        randomArray(2, 45),
      ],
      gpu: ([x, g, b]) => batchNorm(x, g, b, null, null, { training: true, groups: 2 }),
      ref: ([x, g, b]) => R.batchNormGroups(x, shape, 2, g, b, new Float64Array(2), new Float64Array(2), true).y,
      wrt: [1, 2],
    });
  });

  it('gives the bits of one call per group: outputs, running statistics and gradients', async () => {
    const shape = [4, 3, 7, 7];
    const C = 3;
    const xData = f32(randomArray(4 * 3 * 49, 21, -2, 3));
    const dyData = f32(randomArray(4 * 3 * 49, 22));
    const gData = f32(randomArray(C, 23, 0.5, 1.5));
    const bData = f32(randomArray(C, 24, -1, 1));
    const activation = { kind: 'leaky_relu', slope: 0.2 } as const;
    const run = async (grouped: boolean) => {
      const rm = Tensor.fromArray(f32(randomArray(C, 9, -0.5, 0.5)), [C]);
      const rv = Tensor.fromArray(f32(randomArray(C, 10, 0.5, 2)), [C]);
      const g = Tensor.fromArray(gData, [C]).requireGrad();
      const b = Tensor.fromArray(bData, [C]).requireGrad();
      const x = Tensor.fromArray(xData, shape).requireGrad();
      const y = tidy(() => {
        const opts = { training: true, activation };
        const y = grouped
          ? batchNorm(x, g, b, rm, rv, { ...opts, groups: 2 })
          : concat([0, 2].map((s) => batchNorm(x.narrow(0, s, 2), g, b, rm, rv, opts)));
        y.mul(Tensor.fromArray(dyData, shape)).sum().backward();
        return y;
      });
      const out = [y, rm, rv, x.grad!, g.grad!, b.grad!];
      const values = await Promise.all(out.map((t) => t.toArray()));
      for (const t of [y, rm, rv, x, g, b]) t.dispose();
      return values;
    };
    const [separate, grouped] = [await run(false), await run(true)];
    grouped.forEach((v, i) => expect(Array.from(v), `output ${i}`).toEqual(Array.from(separate[i])));
  });

  it('names a group count that does not divide the batch, and groups too small to train', () => {
    const x = Tensor.randn([4, 3]);
    expect(() => batchNorm(x, null, null, null, null, { training: true, groups: 3 })).toThrow(
      'batchNorm: groups must be a positive integer that divides the batch, got 3 for input [4, 3]',
    );
    expect(() => batchNorm(x, null, null, null, null, { training: true, groups: 4 })).toThrow(
      'batchNorm: training needs more than 1 value per channel in each of the 4 groups, got input [4, 3]',
    );
    x.dispose();
  });
});

describe('batchNorm reductions: a workgroup per channel (batchnorm.wgsl) or a subgroup per channel (batchnorm_sg.wgsl)', () => {
  // The reductions' kernel where bnSubgroups is on (lavapipe with subgroups of a size dividing 64); batchnorm.wgsl,
  // the GPUs' kernel, where it is off. Channel counts that leave the last workgroup of batchnorm_sg part-filled
  // (13, 17), fewer values per channel than lanes (M = 3, and 3 per group), 7×7 planes, groups.
  const sgHere = () => {
    const { slug, subgroupSize } = engine().adapter;
    return slug === 'lavapipe' && subgroupSize !== null && 64 % subgroupSize === 0;
  };
  // One channel (a workgroup of batchnorm_sg where 7 of 8 subgroups redo channel 0 and must not write, nor count);
  // 2×2 planes (a lane's step by 8 values crosses images).
  const CASES: [[number, ...number[]], number][] = [
    [[4, 13, 3, 3], 2],
    [[2, 17, 5, 5], 1],
    [[3, 9], 1],
    [[6, 5], 2],
    [[6, 11, 7, 7], 2],
    [[4, 1, 3, 3], 2],
    [[10, 3, 2, 2], 1],
  ];
  for (const enabled of [false, true])
    for (const [shape, groups] of CASES) {
      const C = shape[1];
      const n = shape.reduce((a, b) => a * b, 1);
      it(`${enabled ? 'subgroups allowed' : 'subgroups off'}: ${shape} in ${groups} group(s), leaky_relu: float64 reference, gradients, running statistics`, async () => {
        const rm = randomArray(C, 9, -0.5, 0.5);
        const rv = randomArray(C, 10, 0.5, 2);
        const act = (y: Float64Array) => y.map((v) => (v > 0 ? v : 0.2 * v));
        const runMean = Tensor.fromArray(f32(rm), [C]);
        const runVar = Tensor.fromArray(f32(rv), [C]);
        const count = Tensor.zeros([1]);
        const activation = { kind: 'leaky_relu', slope: 0.2 } as const;
        const xData = randomArray(n, 11, -2, 3).map((v, i) => (i < n / groups ? v : 2.5 * v + 1));
        const seen = new Set<string>();
        bnSubgroups.enabled = enabled;
        engine().onLaunch = (k) => void (k.shader.startsWith('batchnorm') && seen.add(`${k.shader} ${k.entry}`));
        try {
          await checkOp({
            shapes: [shape, [C], [C]],
            inputs: [xData, randomArray(C, 12, 0.5, 1.5), randomArray(C, 13, -1, 1)],
            gpu: ([x, g, b]) =>
              batchNorm(x, g, b, runMean, runVar, { training: true, activation, groups, numBatchesTracked: count }),
            ref: ([x, g, b]) => act(R.batchNormGroups(x, shape, groups, g, b, rm, rv, true).y),
          });
        } finally {
          bnSubgroups.enabled = true;
          engine().onLaunch = null;
        }
        const want = R.batchNormGroups(xData, shape, groups, null, null, rm, rv, true);
        expectClose(await runMean.toArray(), want.runningMean, 1e-5);
        expectClose(await runVar.toArray(), want.runningVar, 1e-5);
        // checkOp ran the op once (its finite differences run the float64 reference): one count per group
        expect(Array.from(await count.toArray())).toEqual([groups]);
        const reductions = enabled && sgHere() ? 'batchnorm_sg' : 'batchnorm';
        const sums = groups > 1 ? 'backward_group_sums' : 'backward_sums';
        expect([...seen].sort()).toEqual(
          [`${reductions} batch_stats`, `${reductions} ${sums}`, 'batchnorm normalize', 'batchnorm backward_dx'].sort(),
        );
        for (const t of [runMean, runVar, count]) t.dispose();
      });
    }
});

describe('batchNorm running statistics', () => {
  it('match torch after one and two training steps, and eval then uses them', async () => {
    const shape = [4, 6, 5, 3];
    const C = 6;
    let rm: Float64Array = new Float64Array(C);
    let rv: Float64Array = new Float64Array(C).fill(1);
    const runMean = Tensor.zeros([C]);
    const runVar = Tensor.ones([C]);
    const gamma = Tensor.fromArray(f32(randomArray(C, 3, 0.5, 2)), [C]);
    const beta = Tensor.fromArray(f32(randomArray(C, 4)), [C]);
    for (const [step, momentum] of [
      [1, 0.1],
      [2, 0.3],
    ] as const) {
      const x = randomArray(4 * 6 * 5 * 3, 20 + step, -1 + step, 2 * step);
      const y = tidy(() =>
        batchNorm(Tensor.fromArray(f32(x), shape), gamma, beta, runMean, runVar, { training: true, momentum }),
      );
      const ref = R.batchNorm(x, shape, randomArray(C, 3, 0.5, 2), randomArray(C, 4), rm, rv, true, momentum);
      expectClose(await y.toArray(), ref.y, 1e-4);
      expectClose(await runMean.toArray(), ref.runningMean, 1e-5);
      expectClose(await runVar.toArray(), ref.runningVar, 1e-5);
      rm = ref.runningMean;
      rv = ref.runningVar;
      y.dispose();
    }
    // Unbiased variance really is used: the running variance differs from the biased one's update.
    const x = randomArray(4 * 6 * 5 * 3, 30, -3, 3);
    const yEval = tidy(() =>
      batchNorm(Tensor.fromArray(f32(x), shape), gamma, beta, runMean, runVar, { training: false }),
    );
    const refEval = R.batchNorm(x, shape, randomArray(C, 3, 0.5, 2), randomArray(C, 4), rm, rv, false);
    expectClose(await yEval.toArray(), refEval.y, 1e-4);
    expectClose(await runMean.toArray(), rm, 1e-5); // eval leaves them alone
    expectClose(await runVar.toArray(), rv, 1e-5);
  });

  it('without running statistics uses batch statistics in both modes', async () => {
    const x = randomArray(3 * 4, 5, -2, 2);
    const ref = R.batchNorm(x, [3, 4], null, null, new Float64Array(4), new Float64Array(4), true).y;
    for (const training of [true, false]) {
      const y = tidy(() => batchNorm(Tensor.fromArray(f32(x), [3, 4]), null, null, null, null, { training }));
      expectClose(await y.toArray(), ref, 1e-4);
      y.dispose();
    }
  });

  it('computes accurate statistics for data with a large offset', async () => {
    // Two-pass variance: values 1000 ± 0.01 keep their spread (a one-pass E[x²] − E[x]² would lose it in f32).
    const x = randomArray(2 * 3 * 8 * 8, 7, 999.99, 1000.01);
    const y = tidy(() =>
      batchNorm(Tensor.fromArray(f32(x), [2, 3, 8, 8]), null, null, null, null, { training: true, eps: 0 }),
    );
    const ref = R.batchNorm(
      Float64Array.from(f32(x)),
      [2, 3, 8, 8],
      null,
      null,
      new Float64Array(3),
      new Float64Array(3),
      true,
      0.1,
      0,
    ).y;
    // The mean itself is a float32 near 1000: its rounding (up to ulp(1000)/2 = 3.1e-5, and a little more from the
    // sum) shifts every output by about 5e-3 of the spread (standard deviation 5.8e-3); lavapipe showed 9.8e-3. A
    // one-pass variance would be off by more than 1.
    expectClose(await y.toArray(), ref, 2e-2);
  });

  // Large inputs (one past 2^22 values) whose H·W and C are not powers of two: every element finds its channel.
  for (const shape of [
    [5, 7, 131, 137],
    [1, 3, 1401, 1000],
  ] as [number, number, number, number][]) {
    it(`training forward and eval input gradient on ${shape} (${shape.reduce((a, b) => a * b)} values)`, async () => {
      const n = shape.reduce((a, b) => a * b);
      const C = shape[1];
      const HW = shape[2] * shape[3];
      const xData = randomArray(n, 31, -2, 3);
      const g = randomArray(C, 32, 0.5, 1.5);
      const b = randomArray(C, 33, -1, 1);
      const gamma = Tensor.fromArray(f32(g), [C]);
      const beta = Tensor.fromArray(f32(b), [C]);
      const x = Tensor.fromArray(f32(xData), shape).requireGrad();
      // Training mode: batch statistics (the per-channel reductions) and normalize.
      const yTrain = tidy(() => batchNorm(x, gamma, beta, null, null, { training: true }));
      const ref = R.batchNorm(
        Float64Array.from(f32(xData)),
        shape,
        g,
        b,
        new Float64Array(C),
        new Float64Array(C).fill(1),
        true,
      ).y;
      expectClose(await yTrain.toArray(), ref, 1e-4);
      // Eval mode with running mean 0 and variance 1: dx = γ/√(1 + eps) · dy.
      const rm = Tensor.zeros([C]),
        rv = Tensor.ones([C]);
      tidy(() => batchNorm(x, gamma, beta, rm, rv, { training: false }).backward(Tensor.ones(shape)));
      const r = 1 / Math.sqrt(1 + 1e-5);
      expectClose(
        await x.grad!.toArray(),
        xData.map((_, i) => g[Math.floor(i / HW) % C] * r),
        1e-5,
      );
      x.zeroGrad();
      for (const t of [x, yTrain, gamma, beta, rm, rv]) t.dispose();
    });
  }
});

describe('batchNorm errors', () => {
  it('names the mismatching shapes', () => {
    tidy(() => {
      const x = Tensor.zeros([2, 3, 4, 4]);
      expect(() => batchNorm(x, Tensor.ones([4]), Tensor.zeros([4]), null, null, { training: true })).toThrow(
        /batchNorm: gamma has shape \[4\] but input \[2, 3, 4, 4\] has C=3 channels \(expected \[3\]\)/,
      );
      expect(() => batchNorm(x, null, null, Tensor.zeros([3]), Tensor.ones([2]), { training: true })).toThrow(
        /runningVar has shape \[2\] but input \[2, 3, 4, 4\] has C=3/,
      );
      expect(() => batchNorm(Tensor.zeros([5]), null, null, null, null, { training: true })).toThrow(
        /input must be \[N, C\] or \[N, C, H, W\], got shape \[5\]/,
      );
      expect(() => batchNorm(Tensor.zeros([1, 3]), null, null, null, null, { training: true })).toThrow(
        /more than 1 value per channel/,
      );
      expect(() => batchNorm(x, Tensor.ones([3]), null, null, null, { training: true })).toThrow(
        /gamma and beta must both be given/,
      );
    });
  });
});

describe('withBatchGroups (the scope D runs in for its joint pass)', () => {
  it('BatchNorm2d inside it normalizes each group by its own statistics; a layer that mixes samples refuses', async () => {
    const bn = new BatchNorm2d(3);
    const x = Tensor.fromArray(
      f32(randomArray(4 * 3 * 5 * 5, 31, -2, 2).map((v, i) => (i < 150 ? v : 3 * v + 2))),
      [4, 3, 5, 5],
    );
    const grouped = withBatchGroups(2, () => bn.forward(x));
    expect(batchGroups()).toBe(1); // restored
    const want = R.batchNormGroups(
      Float64Array.from(await x.toArray()),
      [4, 3, 5, 5],
      2,
      null,
      null,
      new Float64Array(3),
      new Float64Array(3).fill(1),
      true,
    );
    expectClose(await grouped.toArray(), want.y, 1e-5);
    expectClose(await bn.runningMean.toArray(), want.runningMean, 1e-5);
    expectClose(await bn.runningVar.toArray(), want.runningVar, 1e-5);
    expect(Array.from(await bn.numBatchesTracked.toArray())).toEqual([2]); // one per group, as two calls count
    expect(() => withBatchGroups(2, () => new MinibatchStdDev().forward(x))).toThrow(
      'MinibatchStdDev(group=4): mixes samples across the batch, so it cannot run in a pass of 2 batch groups',
    );
    expect(batchGroups()).toBe(1); // restored after the throw too
    expect(() => withBatchGroups(0, () => 1)).toThrow('withBatchGroups: groups must be an integer ≥ 1, got 0');
    for (const t of [x, grouped]) t.dispose();
    bn.dispose();
  });
});
