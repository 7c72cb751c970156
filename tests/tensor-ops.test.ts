import { describe, it, expect } from 'vitest';
import {
  Tensor,
  tidy,
  memoryStats,
  manualSeed,
  noGrad,
  concat,
  matmul,
  linear,
  engine,
  unary,
} from '../src/tensor/index.ts';
import { ELEMENTS_PER_INVOCATION } from '../src/tensor/engine.ts';
import type { MatmulVersion } from '../src/tensor/matmul.ts';
import { useEngine, checkOp, randomArray, expectClose, size } from './helpers.ts';
import * as R from '../src/reference/elementwise.ts';

useEngine();

/**
 * float64 C[p] = op(A[p]) · op(B[p]) (+ C0[p] with `accumulate`) for row-major A [M, K] (transA: [K, M]) and B [K, N]
 * (transB: [N, K]); A or B with batch stride 0 is shared by every batch entry.
 */
function matmulRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  c0: ArrayLike<number>,
  m: { M: number; N: number; K: number; batch: number; aStride: number; bStride: number },
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): Float64Array {
  const { M, N, K, batch } = m;
  const ref = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let sum = accumulate ? c0[p * M * N + i * N + j]! : 0;
        for (let k = 0; k < K; k++) {
          const av = a[p * m.aStride + (transA ? k * M + i : i * K + k)]!;
          const bv = b[p * m.bStride + (transB ? j * K + k : k * N + j)]!;
          sum += av * bv;
        }
        ref[p * M * N + i * N + j] = sum;
      }
  return ref;
}

describe('creation', () => {
  it('zeros / ones / full / arange / fromArray read back exactly', async () => {
    expect(Array.from(await Tensor.zeros([3, 5]).toArray())).toEqual(new Array(15).fill(0));
    expect(Array.from(await Tensor.ones([7]).toArray())).toEqual(new Array(7).fill(1));
    expect(Array.from(await Tensor.full([2, 2], -2.5).toArray())).toEqual([-2.5, -2.5, -2.5, -2.5]);
    expect(Array.from(await Tensor.arange(2, 9, 3).toArray())).toEqual([2, 5, 8]);
    expect(Array.from(await Tensor.arange(4).toArray())).toEqual([0, 1, 2, 3]);
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(await t.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await Tensor.scalar(4.5).item()).toBe(4.5);
  });

  it('refuses, naming the shape, a tensor larger than the adapter binds in one storage buffer', () => {
    // the smaller of the two limits (the binding one on every adapter seen; a buffer may not exceed either)
    const { maxStorageBufferBindingSize: binding, maxBufferSize } = engine().device.limits;
    const limit = Math.min(binding, maxBufferSize);
    const name = binding <= maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    const cols = 1024;
    const rows = Math.floor(limit / 4 / cols) + 1; // one row past the limit
    const before = memoryStats().liveTensors;
    expect(() => Tensor.zeros([rows, cols])).toThrow(
      `tensor of shape [${rows}, ${cols}] needs ${rows * cols * 4} bytes, more than this adapter binds in one storage buffer (${name} ${limit} bytes)`,
    );
    expect(memoryStats().liveTensors).toBe(before);
  });

  it('seeded uniform and normal are deterministic and have the right moments', async () => {
    const n = 200_001; // not a multiple of the workgroup size
    const u = await Tensor.rand([n], { seed: 7, lo: -2, hi: 4 }).toArray();
    const u2 = await Tensor.rand([n], { seed: 7, lo: -2, hi: 4 }).toArray();
    const u3 = await Tensor.rand([n], { seed: 8, lo: -2, hi: 4 }).toArray();
    expect(u).toEqual(u2);
    expect(u).not.toEqual(u3);
    let mn = Infinity,
      mx = -Infinity,
      s = 0;
    for (const v of u) {
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
      s += v;
    }
    expect(mn).toBeGreaterThanOrEqual(-2);
    expect(mx).toBeLessThan(4);
    // ... and fills it: with n draws the chance that none falls in the outer 1% at one end is 0.99ⁿ ≈ e^-2000
    expect(mn).toBeLessThan(-2 + 0.01 * 6);
    expect(mx).toBeGreaterThan(4 - 0.01 * 6);
    expect(s / n).toBeCloseTo(1, 1.5); // mean of U(-2,4) = 1 ± 0.01
    // Variance of U(lo, hi) is (hi − lo)²/12 = 3. The sample variance's standard deviation is √((μ₄ − σ⁴)/n) with
    // μ₄ = (hi − lo)⁴/80 = 16.2 and σ⁴ = 9: √(7.2/200001) ≈ 0.006, so 0.03 is 5 standard deviations (a spread off
    // by 1% already misses it).
    const mean = s / n;
    let ss = 0;
    for (const v of u) ss += (v - mean) ** 2;
    expect(Math.abs(ss / n - 3)).toBeLessThan(0.03);
    const z = await Tensor.randn([n], { seed: 3, mean: 1, std: 0.5 }).toArray();
    let m = 0,
      v2 = 0;
    for (const v of z) m += v;
    m /= n;
    for (const v of z) v2 += (v - m) ** 2;
    expect(m).toBeCloseTo(1, 2);
    expect(Math.sqrt(v2 / n)).toBeCloseTo(0.5, 2);
    expect(z.every(Number.isFinite)).toBe(true);
    manualSeed(11);
    const a = await Tensor.randn([10]).toArray();
    manualSeed(11);
    const b = await Tensor.randn([10]).toArray();
    expect(a).toEqual(b);
  });

  it('rejects bad shapes and data lengths with clear errors', () => {
    expect(() => Tensor.fromArray([1, 2, 3], [2, 2])).toThrow(/3 values cannot have shape \[2, 2\]/);
    expect(() => Tensor.zeros([2, -1])).toThrow(/Invalid shape \[2, -1\]/);
    expect(() => Tensor.zeros([2.5])).toThrow(/non-negative integers/);
  });
});

const UNARY: [string, (t: Tensor) => Tensor, (x: number) => number, [number, number]?][] = [
  ['neg', (t) => t.neg(), (x) => -x],
  ['exp', (t) => t.exp(), Math.exp],
  ['log', (t) => t.log(), Math.log, [0.2, 3]],
  ['sqrt', (t) => t.sqrt(), Math.sqrt, [0.2, 3]],
  ['abs', (t) => t.abs(), Math.abs],
  ['relu', (t) => t.relu(), (x) => Math.max(x, 0)],
  ['leakyRelu(0.2)', (t) => t.leakyRelu(0.2), (x) => (x > 0 ? x : 0.2 * x)],
  ['sigmoid', (t) => t.sigmoid(), (x) => 1 / (1 + Math.exp(-x)), [-6, 6]],
  ['tanh', (t) => t.tanh(), Math.tanh, [-4, 4]],
  ['pow(3)', (t) => t.pow(3), (x) => x ** 3],
  ['pow(2.5)', (t) => t.pow(2.5), (x) => x ** 2.5, [0.1, 2]],
  ['pow(-1)', (t) => t.pow(-1), (x) => 1 / x, [0.5, 2]],
  ['square', (t) => t.square(), (x) => x * x],
  ['add scalar', (t) => t.add(1.5), (x) => x + 1.5],
  ['mul scalar', (t) => t.mul(-3), (x) => x * -3],
  ['clamp', (t) => t.clamp(-0.5, 0.25), (x) => Math.min(Math.max(x, -0.5), 0.25)],
];

describe('unary elementwise: forward vs float64 and gradient vs finite differences', () => {
  for (const [name, gpu, f, range] of UNARY) {
    it(name, async () => {
      for (const shape of [[1], [3, 5, 7], [2, 300]]) {
        const [lo, hi] = range ?? [-2, 2];
        let x = randomArray(size(shape), shape.length, lo, hi);
        // keep away from kinks where finite differences are meaningless
        if (/relu|abs|clamp/.test(name))
          x = x.map((v) =>
            Math.abs(v) < 0.01 || Math.abs(v + 0.5) < 0.01 || Math.abs(v - 0.25) < 0.01 ? v + 0.03 : v,
          );
        await checkOp({ shapes: [shape], inputs: [x], gpu: ([t]) => gpu(t), ref: ([a]) => a.map(f) });
      }
    });
  }
  it('stays finite at extreme inputs (sigmoid, tanh)', async () => {
    const x = Tensor.fromArray([-1000, -50, 0, 50, 1000]);
    expect(Array.from(await x.sigmoid().toArray())).toEqual([0, expect.closeTo(0, 6), 0.5, 1, 1]);
    expect(Array.from(await x.tanh().toArray())).toEqual([-1, -1, 0, 1, 1]);
  });
});

const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
  ['add', (a, b) => a.add(b), (x, y) => x + y],
  ['sub', (a, b) => a.sub(b), (x, y) => x - y],
  ['mul', (a, b) => a.mul(b), (x, y) => x * y],
  ['div', (a, b) => a.div(b), (x, y) => x / y],
  ['maximum', (a, b) => a.maximum(b), Math.max],
  ['minimum', (a, b) => a.minimum(b), Math.min],
];
const BROADCASTS: [number[], number[]][] = [
  [
    [4, 3],
    [4, 3],
  ],
  [[4, 3], [3]],
  [
    [2, 1, 5],
    [3, 1],
  ],
  [[1], [3, 7, 1]],
  [[], [2, 3]],
  [
    [5, 1, 1, 2],
    [1, 6, 3, 1],
  ],
];

describe('binary elementwise with broadcasting', () => {
  for (const [name, gpu, f] of BINARY) {
    it(name, async () => {
      for (const [as, bs] of BROADCASTS) {
        const inputs = [randomArray(size(as), 1), randomArray(size(bs), 2)];
        if (name === 'div') inputs[1] = inputs[1].map((v) => (v < 0 ? v - 0.5 : v + 0.5));
        await checkOp({
          shapes: [as, bs],
          inputs,
          gpu: ([a, b]) => gpu(a, b),
          ref: ([a, b]) => R.binary(a, as, b, bs, f),
        });
      }
    });
  }
  it('names the op and both shapes when shapes do not broadcast', () => {
    const a = Tensor.zeros([2, 3]);
    const b = Tensor.zeros([4, 3]);
    expect(() => a.add(b)).toThrow('add: shapes [2, 3] and [4, 3] cannot be broadcast together');
    expect(() => a.mul(Tensor.zeros([2]))).toThrow(/mul: shapes \[2, 3\] and \[2\]/);
  });
  it('comparisons give masks', async () => {
    const a = Tensor.fromArray([1, 2, 3]);
    expect(Array.from(await a.gt(2).toArray())).toEqual([0, 0, 1]);
    expect(Array.from(await a.eq(Tensor.fromArray([1, 0, 3])).toArray())).toEqual([1, 0, 1]);
  });
});

// The elementwise kernels run ELEMENTS_PER_INVOCATION elements per invocation, 256 invocations per workgroup:
// these sizes span several workgroups, end part-way through one, and (n = 6221) leave invocations with fewer.
describe('elementwise kernels over several workgroups', () => {
  const n = 256 * ELEMENTS_PER_INVOCATION * 3 + 77;
  it(`leakyRelu forward and gradient on ${n} elements`, async () => {
    const x = randomArray(n, 21, -2, 2).map((v) => (Math.abs(v) < 0.01 ? v + 0.03 : v));
    await checkOp({
      shapes: [[n]],
      inputs: [x],
      gpu: ([t]) => t.leakyRelu(0.2),
      ref: ([a]) => a.map((v) => (v > 0 ? v : 0.2 * v)),
    });
  });
  it(`mul with a broadcast row on 3×${n} elements: forward and both gradients`, async () => {
    // Checked against closed forms (z = a·b: dz/da = g·b, dz/db = Σ_rows g·a) — finite differences over this
    // many inputs would take seconds.
    const a = randomArray(3 * n, 22),
      b = randomArray(n, 23),
      g = randomArray(3 * n, 24);
    const at = Tensor.fromArray(Float32Array.from(a), [3, n]).requireGrad();
    const bt = Tensor.fromArray(Float32Array.from(b), [n]).requireGrad();
    const z = tidy(() => {
      const z = at.mul(bt);
      z.backward(Tensor.fromArray(Float32Array.from(g), [3, n]));
      return z;
    });
    expectClose(
      await z.toArray(),
      R.binary(a, [3, n], b, [n], (x, y) => x * y),
      1e-5,
    );
    expectClose(
      await at.grad!.toArray(),
      g.map((v, i) => v * b[i % n]),
      1e-5,
    );
    expectClose(
      await bt.grad!.toArray(),
      b.map((_, j) => g[j] * a[j] + g[n + j] * a[n + j] + g[2 * n + j] * a[2 * n + j]),
      1e-5,
    );
    [z, at, bt].forEach((t) => {
      t.zeroGrad();
      t.dispose();
    });
  });
});

describe('reductions', () => {
  const cases: [number[], number[] | undefined, boolean][] = [
    [[7], undefined, false],
    [[3, 4, 5], [1], false],
    [[3, 4, 5], [0, 2], true],
    [[2, 3, 1, 5], [3], true],
    [[300, 3], [0], false], // long rows → per-workgroup path
    [[5, 700], [1], false],
    [[2, 3, 4, 5], [0, 2], false], // non-adjacent reduced axes
    [[6, 1], [1], false],
    // Two reduced groups with long rows (a bias gradient): per-workgroup path, its stepped positions with a
    // stride past one row (H·W = 90 > 64) and with several rows per step (H·W = 25).
    [[3, 4, 10, 9], [0, 2, 3], false],
    [[40, 3, 5, 5], [0, 2, 3], true],
  ];
  for (const [shape, axes, keepdim] of cases) {
    it(`sum / mean / max over ${axes ? `[${axes}]` : 'all'} of [${shape}] keepdim=${keepdim}`, async () => {
      const all = axes ?? shape.map((_, i) => i);
      for (const f of ['sum', 'mean', 'max'] as const) {
        await checkOp({
          shapes: [shape],
          gpu: ([t]) => t[f](axes, keepdim),
          ref: ([x]) => R.reduce(x, shape, all, f),
        });
      }
    });
  }
  it('max shares the gradient equally among ties', async () => {
    const x = Tensor.fromArray([1, 3, 3, 2], [4]).requireGrad();
    x.max().backward();
    expect(Array.from(await x.grad!.toArray())).toEqual([0, 0.5, 0.5, 0]);
  });
  it("a mean's backward is one scaled broadcast: dx = g · (1/count) in float32, one launch", async () => {
    const x = Tensor.fromArray(new Float32Array(3 * 7 * 2), [3, 7, 2]).requireGrad();
    const y = x.mean(1); // [3, 2], count 7
    const g = Tensor.fromArray([0.3, -1.7, 2.9, 1e-30, 5, -0.1], [3, 2]);
    const launches: string[] = [];
    engine().onLaunch = (k) => launches.push(`${k.shader}:${k.entry}`);
    try {
      y.backward(g);
    } finally {
      engine().onLaunch = null;
    }
    // the seed gradient is cloned by a buffer copy (no launch), then the mean's backward: one scaled gather
    expect(launches).toEqual(['strided_copy:gather']);
    const dx = await x.grad!.toArray();
    const gv = await g.toArray();
    for (let n = 0; n < 3; n++)
      for (let c = 0; c < 7; c++)
        for (let w = 0; w < 2; w++)
          expect(dx[(n * 7 + c) * 2 + w]).toBe(Math.fround(gv[n * 2 + w] * Math.fround(1 / 7)));
    for (const t of [x, y, g]) t.dispose();
  });
  it('rejects a bad axis', () => {
    expect(() => Tensor.zeros([2, 3]).sum(2)).toThrow('sum: axis 2 is out of range for a tensor of rank 2');
  });
  it('either entry point, forced, sums and maxes against float64 and launches the one asked for', async () => {
    const { reduceEntry } = await import('../src/tensor/reduce-kernel.ts');
    try {
      for (const entry of ['per_thread', 'per_workgroup'] as const) {
        reduceEntry.forced = entry;
        for (const [shape, axes] of [
          [[5, 700], [1]],
          [[300, 3], [0]],
          [
            [3, 4, 10, 9],
            [0, 2, 3],
          ],
        ] as [number[], number[]][]) {
          const seen: string[] = [];
          engine().onLaunch = (k) => void (k.shader === 'reduce' && seen.push(k.entry!));
          try {
            for (const f of ['sum', 'max'] as const)
              await checkOp({ shapes: [shape], gpu: ([t]) => t[f](axes), ref: ([x]) => R.reduce(x, shape, axes, f) });
          } finally {
            engine().onLaunch = null;
          }
          expect(new Set(seen), `${entry} [${shape}]`).toEqual(new Set([entry]));
        }
      }
    } finally {
      reduceEntry.forced = null;
    }
  });
});

describe('layout: reshape, permute, transpose, expand, slice, concat', () => {
  it('reshape shares storage and infers -1', async () => {
    const x = Tensor.arange(12);
    const y = x.reshape([3, -1]);
    expect(y.shape).toEqual([3, 4]);
    expect(Array.from(await y.toArray())).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(() => x.reshape([5, 3])).toThrow('reshape: cannot reshape [12] (12 elements) into [5, 3] (15 elements)');
  });
  it('permute', async () => {
    const shape = [2, 3, 5, 3];
    for (const dims of [
      [1, 0, 2, 3],
      [3, 2, 1, 0],
      [0, 2, 3, 1],
    ]) {
      await checkOp({ shapes: [shape], gpu: ([t]) => t.permute(dims), ref: ([x]) => R.permute(x, shape, dims) });
    }
    await checkOp({ shapes: [[4, 7]], gpu: ([t]) => t.transpose(), ref: ([x]) => R.permute(x, [4, 7], [1, 0]) });
  });
  it('expand', async () => {
    await checkOp({
      shapes: [[3, 1]],
      gpu: ([t]) => t.expand([2, 3, 4]),
      ref: ([x]) => R.binary(x, [3, 1], new Float64Array(24), [2, 3, 4], (a) => a),
    });
    // a size that is neither 1 nor the target's: the broadcast check names the dimension
    expect(() => Tensor.zeros([3]).expand([2, 4])).toThrow(
      new Error('expand: shapes [3] and [2, 4] cannot be broadcast together (dimension 1: 3 vs 4)'),
    );
    // shapes that broadcast together, but to [2, 3] or [2, 4], not to the requested shape
    expect(() => Tensor.zeros([2, 3]).expand([3])).toThrow(new Error('expand: [2, 3] cannot be expanded to [3]'));
    expect(() => Tensor.zeros([1, 4]).expand([2, 1])).toThrow(new Error('expand: [1, 4] cannot be expanded to [2, 1]'));
  });
  it('slice with steps and negative indices, and narrow', async () => {
    const shape = [5, 6, 4];
    const ref = (x: Float64Array) => {
      const out: number[] = [];
      for (let i = 1; i < 5; i += 2)
        for (let j = 2; j < 5; j++) for (let k = 0; k < 4; k++) out.push(x[i * 24 + j * 4 + k]);
      return Float64Array.from(out);
    };
    await checkOp({
      shapes: [shape],
      gpu: ([t]) =>
        t.slice([
          [1, 5, 2],
          [-4, -1],
        ]),
      ref: ([x]) => ref(x),
    });
    await checkOp({
      shapes: [[3, 8]],
      gpu: ([t]) => t.narrow(1, 2, 3),
      ref: ([x]) => Float64Array.from([0, 1, 2].flatMap((i) => [2, 3, 4].map((j) => x[i * 8 + j]))),
    });
  });
  it('concat along any axis', async () => {
    const as = [2, 3, 4],
      bs = [2, 1, 4],
      cs = [2, 2, 4];
    await checkOp({
      shapes: [as, bs, cs],
      gpu: (ts) => concat(ts, 1),
      ref: ([a, b, c]) => {
        const out: number[] = [];
        for (let i = 0; i < 2; i++) {
          out.push(...a.slice(i * 12, i * 12 + 12), ...b.slice(i * 4, i * 4 + 4), ...c.slice(i * 8, i * 8 + 8));
        }
        return Float64Array.from(out);
      },
    });
    expect(() => concat([Tensor.zeros([2, 3]), Tensor.zeros([3, 3])], 1)).toThrow(
      'concat: shapes [2, 3] and [3, 3] differ outside axis 1',
    );
  });
  it('concat and narrow along the leading axis (or after unit axes) copy contiguous runs: values, gradients, no launch', async () => {
    // [2, 3, 4] ++ [1, 3, 4] ++ [3, 3, 4] along axis 0 is the three flat arrays one after another.
    await checkOp({
      shapes: [
        [2, 3, 4],
        [1, 3, 4],
        [3, 3, 4],
      ],
      gpu: (ts) => concat(ts, 0),
      ref: ([a, b, c]) => Float64Array.from([...a, ...b, ...c]),
    });
    // after a unit axis: [1, 2, 5] ++ [1, 3, 5] along axis 1
    await checkOp({
      shapes: [
        [1, 2, 5],
        [1, 3, 5],
      ],
      gpu: (ts) => concat(ts, 1),
      ref: ([a, b]) => Float64Array.from([...a, ...b]),
    });
    await checkOp({
      shapes: [[5, 2, 3]],
      gpu: ([t]) => t.narrow(0, 1, 3),
      ref: ([x]) => x.slice(6, 24),
    });
    await checkOp({
      shapes: [[1, 6, 2]],
      gpu: ([t]) => t.narrow(1, 4, 2),
      ref: ([x]) => x.slice(8, 12),
    });
    const a = Tensor.randn([2, 3]);
    const b = Tensor.randn([4, 3]);
    const before = engine().stats().dispatches;
    const joined = concat([a, b]);
    const part = joined.narrow(0, 1, 4);
    expect(engine().stats().dispatches).toBe(before);
    expect(Array.from(await part.toArray())).toEqual([
      ...(await a.toArray()).slice(3),
      ...(await b.toArray()).slice(0, 9),
    ]);
    for (const t of [a, b, joined, part]) t.dispose();
  });
});

describe("layout: squeeze, unsqueeze, flatten, clone, and reshape's gradient", () => {
  // These ops only relabel the shape (clone copies): the float64 reference is the identity on the flat data, and
  // the gradient check (against finite differences of that identity) checks that the backward hands the upstream
  // gradient back in the input's shape and element order.
  const identity = ([x]: Float64Array[]) => x.slice();
  /** checkOp of a shape-only op, also asserting the output shape. */
  const checkShapeOp = (inShape: number[], op: (t: Tensor) => Tensor, outShape: number[]) =>
    checkOp({
      shapes: [inShape],
      gpu: ([t]) => {
        const y = op(t);
        expect(y.shape).toEqual(outShape);
        return y;
      },
      ref: identity,
    });

  it('squeeze: all size-1 dims, one dim (negative too), a dim that is not size 1 (no-op); values and gradient', async () => {
    await checkShapeOp([1, 3, 1, 2], (t) => t.squeeze(), [3, 2]);
    await checkShapeOp([1, 3, 1, 2], (t) => t.squeeze(2), [1, 3, 2]);
    await checkShapeOp([1, 3, 1, 2], (t) => t.squeeze(-2), [1, 3, 2]);
    await checkShapeOp([1, 3, 1, 2], (t) => t.squeeze(-4), [3, 1, 2]);
    await checkShapeOp([1, 3, 1, 2], (t) => t.squeeze(1), [1, 3, 1, 2]); // size 3: unchanged, as torch
    await checkShapeOp([1, 1], (t) => t.squeeze(), []); // all size-1 → a scalar
    await checkShapeOp([4, 5], (t) => t.squeeze(), [4, 5]);
  });

  it("squeeze rejects an axis outside the tensor's rank, naming it", () => {
    const x = Tensor.zeros([1, 3, 1]);
    expect(() => x.squeeze(3)).toThrow('squeeze: axis 3 is out of range for a tensor of rank 3');
    expect(() => x.squeeze(-4)).toThrow('squeeze: axis -4 is out of range for a tensor of rank 3');
    expect(() => x.squeeze(0.5)).toThrow('squeeze: axis 0.5 is out of range for a tensor of rank 3');
  });

  it('unsqueeze at the front, middle, end and with negative axes (-1 = a new last dim); values and gradient', async () => {
    await checkShapeOp([2, 3], (t) => t.unsqueeze(0), [1, 2, 3]);
    await checkShapeOp([2, 3], (t) => t.unsqueeze(1), [2, 1, 3]);
    await checkShapeOp([2, 3], (t) => t.unsqueeze(2), [2, 3, 1]);
    await checkShapeOp([2, 3], (t) => t.unsqueeze(-1), [2, 3, 1]);
    await checkShapeOp([2, 3], (t) => t.unsqueeze(-2), [2, 1, 3]);
    await checkShapeOp([2, 3], (t) => t.unsqueeze(-3), [1, 2, 3]);
    await checkShapeOp([1, 4, 1], (t) => t.unsqueeze(3), [1, 4, 1, 1]);
    await checkShapeOp([5], (t) => t.unsqueeze(0).unsqueeze(-1).squeeze(), [5]); // round trip
  });

  it('unsqueeze rejects an axis past rank + 1 either way, naming it', () => {
    const x = Tensor.zeros([2, 3]);
    expect(() => x.unsqueeze(3)).toThrow('unsqueeze: axis 3 is out of range for rank 2');
    expect(() => x.unsqueeze(-4)).toThrow('unsqueeze: axis -4 is out of range for rank 2');
  });

  it('flatten from dim 1 (default), 0, a negative dim and the last dim, with size-1 dims; values and gradient', async () => {
    await checkShapeOp([2, 3, 4], (t) => t.flatten(), [2, 12]);
    await checkShapeOp([2, 3, 4], (t) => t.flatten(0), [24]);
    await checkShapeOp([2, 3, 4], (t) => t.flatten(-2), [2, 12]);
    await checkShapeOp([2, 3, 4], (t) => t.flatten(2), [2, 3, 4]);
    await checkShapeOp([2, 1, 3, 1], (t) => t.flatten(), [2, 3]);
    await checkShapeOp([1, 1, 5], (t) => t.flatten(), [1, 5]);
  });

  it('reshape: gradient directly (with -1), of a view of a view, and after a transpose (a copy in a new order)', async () => {
    await checkShapeOp([2, 3, 4], (t) => t.reshape([4, -1]), [4, 6]);
    await checkShapeOp([6, 4], (t) => t.reshape([2, 12]).reshape([3, 2, 4]), [3, 2, 4]);
    await checkShapeOp([5, 1, 2], (t) => t.reshape([10]), [10]);
    // transpose then reshape: the output follows the transposed order; the gradient goes back through both.
    await checkOp({
      shapes: [[3, 4]],
      gpu: ([t]) => t.transpose().reshape([2, 6]),
      ref: ([x]) => R.permute(x, [3, 4], [1, 0]),
    });
    // The same input reshaped twice and used in both orders: both gradients are summed into the input.
    await checkOp({
      shapes: [[3, 4]],
      gpu: ([t]) => concat([t.reshape([12]), t.transpose().reshape([-1])]),
      ref: ([x]) => Float64Array.from([...x, ...R.permute(x, [3, 4], [1, 0])]),
    });
    expect(() => Tensor.zeros([2, 3]).reshape([4, -1])).toThrow('reshape: cannot reshape [2, 3] into [4, -1]');
  });

  it('clone: same values and shape in fresh storage; its gradient is the identity', async () => {
    await checkShapeOp([3, 1, 5], (t) => t.clone(), [3, 1, 5]);
    await checkShapeOp([2, 6], (t) => t.reshape([3, 4]).clone(), [3, 4]);
    const x = Tensor.fromArray([1, 2, 3, 4], [2, 2]);
    const c = x.clone();
    const v = x.reshape([4]); // a view shares x's storage; the clone does not
    x.assign(Tensor.fromArray([9, 8, 7, 6], [2, 2]));
    expect(Array.from(await c.toArray())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await v.toArray())).toEqual([9, 8, 7, 6]);
    expect(c.shape).toEqual([2, 2]);
    const e = Tensor.zeros([0, 3]).clone();
    expect(e.shape).toEqual([0, 3]);
    expect((await e.toArray()).length).toBe(0);
  });
});

describe("rdivScalar (a / x; reachable as unary(x, 'rdivScalar', a))", () => {
  it('forward and gradient (−a/x²) against float64, inputs of both signs kept away from 0', async () => {
    for (const [shape, a] of [
      [[7], 2.5],
      [[3, 5, 7], -3],
      [[2, 300], 1],
    ] as [number[], number][]) {
      // |x| in [0.5, 2.5]: away from the pole, where finite differences of a/x stay accurate
      const x = randomArray(size(shape), 31 + shape.length, -2, 2).map((v) => Math.sign(v || 1) * (0.5 + Math.abs(v)));
      await checkOp({
        shapes: [shape],
        inputs: [x],
        gpu: ([t]) => unary(t, 'rdivScalar', a),
        ref: ([v]) => v.map((u) => a / u),
      });
    }
  });
});

describe('matmul', () => {
  it('its float64 gradient reference (matmulGrads) equals central differences of the reference product, A shared or not', () => {
    const [batch, M, K, N] = [2, 3, 4, 5];
    for (const aBatch of [true, false]) {
      const a = randomArray((aBatch ? batch : 1) * M * K, 1);
      const b = randomArray(batch * K * N, 2);
      const dc = randomArray(batch * M * N, 3);
      const loss = (av: Float64Array, bv: Float64Array) =>
        R.matmul(av, bv, batch, M, K, N, aBatch, true).reduce((s, v, i) => s + v * dc[i]!, 0);
      const fd = (v: Float64Array, f: (w: Float64Array) => number) =>
        Float64Array.from(v, (_, i) => {
          const [p, m] = [Float64Array.from(v), Float64Array.from(v)];
          p[i] += 1e-6;
          m[i] -= 1e-6;
          return (f(p) - f(m)) / 2e-6;
        });
      const g = R.matmulGrads(a, b, dc, batch, M, K, N, aBatch);
      expectClose(
        g.da,
        fd(a, (w) => loss(w, b)),
        1e-7,
        `dA, aBatch ${aBatch}`,
      );
      expectClose(
        g.db,
        fd(b, (w) => loss(a, w)),
        1e-7,
        `dB, aBatch ${aBatch}`,
      );
    }
  });

  const cases: [number[], number[]][] = [
    [
      [1, 1],
      [1, 1],
    ],
    [
      [3, 5],
      [5, 7],
    ],
    [
      [17, 33],
      [33, 9],
    ],
    [
      [65, 20],
      [20, 70],
    ],
    [
      [4, 3, 5],
      [4, 5, 2],
    ], // batched
    [
      [2, 3, 5],
      [5, 4],
    ], // broadcast B
    [
      [3, 5],
      [6, 5, 2],
    ], // broadcast A
    [
      [2, 1, 3, 4],
      [5, 4, 2],
    ], // partial broadcast of both batches
    [[5], [5, 3]], // 1-D promote
    [[3, 5], [5]],
  ];
  for (const [as, bs] of cases) {
    it(`[${as}] @ [${bs}]`, async () => {
      const a2 = as.length === 1 ? [1, ...as] : as;
      const b2 = bs.length === 1 ? [...bs, 1] : bs;
      const [M, K] = a2.slice(-2),
        N = b2[b2.length - 1];
      const batchShape = R.broadcast(a2.slice(0, -2), b2.slice(0, -2));
      const batch = size(batchShape);
      await checkOp({
        shapes: [as, bs],
        gpu: ([a, b]) => matmul(a, b),
        ref: ([a, b]) => {
          // expand both to the full batch, then multiply
          const ea = R.binary(a, a2, new Float64Array(batch * M * K), [...batchShape, M, K], (x) => x);
          const eb = R.binary(b, b2, new Float64Array(batch * K * N), [...batchShape, K, N], (x) => x);
          return R.matmul(ea, eb, batch, M, K, N);
        },
      });
    });
  }
  it('errors name both shapes', () => {
    expect(() => matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]))).toThrow(
      'matmul: shapes [2, 3] and [4, 5] are not aligned (inner dimensions 3 and 4)',
    );
  });
});

describe('autograd', () => {
  it('accumulates the gradient of a tensor used several times', async () => {
    const x = Tensor.fromArray([1, 2, 3]).requireGrad();
    // y = x*x + 3x + x  → dy/dx = 2x + 4
    x.mul(x).add(x.mul(3)).add(x).sum().backward();
    expect(Array.from(await x.grad!.toArray())).toEqual([6, 8, 10]);
    // a second backward adds to .grad
    x.sum().backward();
    expect(Array.from(await x.grad!.toArray())).toEqual([7, 9, 11]);
  });
  it('backward with an explicit upstream gradient; detach and noGrad stop the graph', async () => {
    const x = Tensor.fromArray([1, 2], [2]).requireGrad();
    const y = x.mul(x);
    y.backward(Tensor.fromArray([10, 100], [2]));
    expect(Array.from(await x.grad!.toArray())).toEqual([20, 400]);
    expect(x.detach().requiresGrad).toBe(false);
    expect(noGrad(() => x.mul(2)).requiresGrad).toBe(false);
    expect(() => x.mul(x).backward()).toThrow(/gradient must be given for a non-scalar tensor of shape \[2\]/);
    expect(() => Tensor.ones([1]).backward()).toThrow(/does not require grad/);
  });
  it('handles a deep chain without recursion', async () => {
    const x = Tensor.fromArray([0.5]).requireGrad();
    let y = x;
    for (let i = 0; i < 3000; i++) y = y.mul(1.0001);
    y.sum().backward();
    expect(await x.grad!.item()).toBeCloseTo(1.0001 ** 3000, 3);
  });
  it('an f32 finite-difference check on the GPU itself (tanh·sigmoid composite)', async () => {
    const data = Float32Array.from(randomArray(8, 9));
    const f = (v: Float32Array) =>
      noGrad(() => {
        const t = Tensor.fromArray(v);
        return t.tanh().mul(t.sigmoid()).sum();
      });
    const x = Tensor.fromArray(data).requireGrad();
    x.tanh().mul(x.sigmoid()).sum().backward();
    const g = await x.grad!.toArray();
    const eps = 1e-2;
    const num: number[] = [];
    for (let i = 0; i < data.length; i++) {
      const p = data.slice();
      p[i] += eps;
      const m = data.slice();
      m[i] -= eps;
      num.push(((await f(p).item()) - (await f(m).item())) / (2 * eps));
    }
    // Relative to the gradient's own size: truncation (eps²·f'''/6 ≈ 2e-5) plus float32 rounding of a sum near 2
    // over 2·eps (≈ 1e-5) against a gradient whose RMS is about 0.3; 5.3e-5 of it on lavapipe.
    expectClose(g, num, 5e-4);
  });
});

describe('memory', () => {
  it('1,000 small training steps leave live tensors and pooled bytes flat', async () => {
    const w = Tensor.randn([16, 8], { seed: 1 }).requireGrad().keep();
    const x = Tensor.randn([32, 16], { seed: 2 }).keep();
    const target = Tensor.randn([32, 8], { seed: 3 }).keep();
    const step = () =>
      tidy(() => {
        const loss = x.matmul(w).tanh().sub(target).square().mean();
        loss.backward();
        noGrad(() => {
          const updated = w.sub(w.grad!.mul(0.1));
          w.assign(updated);
        });
        w.zeroGrad();
        return loss;
      });
    const first = step();
    const firstLoss = await first.item();
    first.dispose();
    const before = memoryStats();
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      const l = step();
      if (i === 999) last = await l.item();
      l.dispose();
    }
    const after = memoryStats();
    expect(after.liveTensors).toBe(before.liveTensors);
    expect(after.inUseBytes).toBe(before.inUseBytes);
    expect(after.pooledBytes).toBe(before.pooledBytes);
    expect(last).toBeLessThan(firstLoss * 0.9);
    // batched submission: far fewer submits than launches
    const s = engine().stats();
    expect(s.submits).toBeLessThan(s.dispatches / 10);
  });
  it('a repeated step reuses its bind groups (same launches, same results); trimPool empties the cache', async () => {
    const x = Tensor.randn([8, 24], { seed: 4 }).keep();
    const w = Tensor.randn([24, 5], { seed: 5 }).requireGrad().keep();
    const step = async (): Promise<{ values: Float32Array; launches: number; hits: number }> => {
      await engine().sync(); // each step starts a fresh submission, as a training step does after its read-back
      const before = engine().stats();
      const loss = tidy(() => {
        const l = x.matmul(w).tanh().square().mean();
        l.backward();
        return l;
      });
      const values = new Float32Array([...(await loss.toArray()), ...(await w.grad!.toArray())]);
      w.zeroGrad();
      loss.dispose();
      const after = engine().stats();
      return {
        values,
        launches: after.dispatches - before.dispatches,
        hits: after.bindGroupHits - before.bindGroupHits,
      };
    };
    engine().trimPool();
    const first = await step();
    const runs = [first];
    for (let i = 0; i < 4; i++) runs.push(await step());
    // Pooled buffers come back in a different order for a step or two; then most launches find their bind group
    // (measured: 0, 0, 4, 8, 8 of 10 — the loss and the fresh gradient change buffers from step to step).
    const last = runs[4]!;
    expect(first.hits).toBe(0);
    expect(last.launches).toBe(first.launches);
    expect(last.launches).toBeGreaterThan(4);
    expect(last.hits).toBeGreaterThanOrEqual(last.launches / 2);
    for (const r of runs) expect(r.values).toEqual(first.values);
    engine().trimPool();
    const third = await step();
    expect(third.hits).toBe(0); // nothing cached after trimPool: every bind group made afresh
    expect(third.values).toEqual(first.values);
    for (const t of [x, w]) t.dispose();
  });
  it('using a disposed tensor is an error that names it', () => {
    const t = Tensor.zeros([2, 2]);
    t.dispose();
    expect(() => t.add(1)).toThrow(/Tensor #\d+ of shape \[2, 2\] was disposed/);
  });
});

describe('linear (x·Wᵀ + b without a transpose copy)', () => {
  for (const [xs, out] of [
    [[5, 7], 3],
    [[2, 3, 4], 6],
    [[1, 1], 1],
  ] as [number[], number][]) {
    it(`x [${xs}] with W [${out}, ${xs[xs.length - 1]}]`, async () => {
      const inF = xs[xs.length - 1];
      const M = size(xs) / inF;
      await checkOp({
        shapes: [xs, [out, inF], [out]],
        gpu: ([x, w, b]) => linear(x, w, b),
        ref: ([x, w, b]) => {
          const y = new Float64Array(M * out);
          for (let i = 0; i < M; i++)
            for (let o = 0; o < out; o++) {
              let s = b[o];
              for (let k = 0; k < inF; k++) s += x[i * inF + k] * w[o * inF + k];
              y[i * out + o] = s;
            }
          return y;
        },
      });
    });
  }
  it('names shapes on mismatch', () => {
    expect(() => linear(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]))).toThrow(
      'linear: input [2, 3] must end in 5 features to match weight [4, 5]',
    );
  });
});

describe('matmul kernels agree (v1 naive, v2 register-tiled, v3 workgroup-tiled and v4 with vec4 slabs, at 64 and 128), all transpose and accumulate variants', () => {
  it('odd shapes, transposes, broadcast batch and accumulation', async () => {
    const { launchMatmul, setMatmulVersion } = await import('../src/tensor/matmul.ts');
    for (const [M, N, K, batch] of [
      [1, 1, 1, 1],
      [7, 17, 5, 2],
      [33, 20, 19, 3],
      [129, 65, 70, 1],
      [8, 16, 3, 1],
    ]) {
      // every transpose combination, and accumulation once (each variant is a pipeline to compile: ~10 s on lavapipe)
      const variants: [boolean, boolean, boolean][] = [
        [false, false, false],
        [true, false, false],
        [false, true, false],
        [true, true, false],
        [false, false, true],
      ];
      for (const [transA, transB, accumulate] of variants) {
        const a = randomArray(batch * M * K, M + N);
        const b = randomArray(K * N, K); // broadcast over the batch (stride 0)
        const c0 = randomArray(batch * M * N, 3);
        const A = Tensor.fromArray(Float32Array.from(a)),
          B = Tensor.fromArray(Float32Array.from(b));
        const results: Float32Array[] = [];
        for (const v of ['naive', 'register', 'tiled', 'tiled-128', 'tiled-vec4', 'tiled-128-vec4'] as const) {
          setMatmulVersion(v);
          const C = Tensor.fromArray(Float32Array.from(c0));
          launchMatmul({
            A: A.buffer,
            B: B.buffer,
            C: C.buffer,
            M,
            N,
            K,
            batch,
            aBatchStride: M * K,
            bBatchStride: 0,
            cBatchStride: M * N,
            transA,
            transB,
            accumulate,
          });
          results.push(await C.toArray());
        }
        setMatmulVersion(null);
        // float64 reference with the same storage conventions
        const ref = new Float64Array(batch * M * N);
        for (let p = 0; p < batch; p++)
          for (let i = 0; i < M; i++)
            for (let j = 0; j < N; j++) {
              let s = accumulate ? c0[p * M * N + i * N + j] : 0;
              for (let k = 0; k < K; k++) {
                const av = transA ? a[p * M * K + k * M + i] : a[p * M * K + i * K + k];
                const bv = transB ? b[j * K + k] : b[k * N + j];
                s += av * bv;
              }
              ref[p * M * N + i * N + j] = s;
            }
        for (const r of results) expectClose(r, ref);
      }
    }
  }, 300_000);

  it('matmul_sg (A shared across a subgroup, B as vec4s where aligned): the same bits as matmul.wgsl', async () => {
    const { launchMatmul, setMatmulVersion, splitK, defaultMatmulVersion } = await import('../src/tensor/matmul.ts');
    // N > 112: workgroups 8 invocations wide, one subgroup a row on lavapipe. 132 columns: B rows 4-aligned (vec4
    // B), the last block shifted back to column 116; 130: not aligned (B a float at a time); M = 70: the last block
    // row shifted back to 62. B broadcast or per batch entry; transposes; accumulation; split-K.
    const saved = { ...splitK };
    splitK.minWorkgroups = () => 64;
    splitK.minChunk = 16;
    const expectSg = engine().adapter.slug === 'lavapipe' && engine().adapter.subgroupSize === 8;
    try {
      for (const [M, N, K, batch, bStride, transA, transB, accumulate, version, quad] of [
        [70, 132, 33, 2, 0, false, false, false, 'register', true],
        [70, 132, 33, 2, 1, false, false, true, 'register', true],
        [64, 130, 20, 1, 1, false, false, false, 'register', false],
        [70, 132, 33, 2, 1, true, false, false, 'register', true],
        [70, 132, 33, 2, 1, false, true, false, 'register', false],
        [16, 128, 200, 1, 1, true, false, true, 'register-splitk', true],
      ] as [
        number,
        number,
        number,
        number,
        number,
        boolean,
        boolean,
        boolean,
        'register' | 'register-splitk',
        boolean,
      ][]) {
        const a = Float32Array.from(randomArray(batch * M * K, M));
        const b = Float32Array.from(randomArray((bStride ? batch : 1) * K * N, N));
        const A = Tensor.fromArray(a);
        const B = Tensor.fromArray(b);
        const c0 = Float32Array.from(randomArray(batch * M * N, 7));
        const outs: Float32Array[] = [];
        const kernels: string[][] = [];
        const product = { M, N, K, batch, transA, transB, accumulate, aBatchStride: M * K, cBatchStride: M * N };
        // 'register' is matmul.wgsl always; 'register-sg' is matmul_sg.wgsl where it applies (the same split)
        for (const v of [version, version.replace('register', 'register-sg') as MatmulVersion]) {
          setMatmulVersion(v);
          const C = Tensor.fromArray(c0);
          const seen: string[] = [];
          engine().onLaunch = (k) => void seen.push(k.shader + (k.constants?.B_QUAD ? ' B_QUAD' : ''));
          try {
            launchMatmul({ A: A.buffer, B: B.buffer, C: C.buffer, ...product, bBatchStride: bStride ? K * N : 0 });
          } finally {
            engine().onLaunch = null;
          }
          outs.push(await C.toArray());
          kernels.push(seen.filter((l) => l.startsWith('matmul')));
          C.dispose();
        }
        const label = `${M}x${N}x${K} batch ${batch} trans ${+transA}${+transB} acc ${+accumulate} ${version}`;
        expect(kernels[0], label).toContain('matmul');
        expect(kernels[0], label).not.toContain('matmul_sg');
        expect(kernels[1], label).toContain(expectSg ? `matmul_sg${quad ? ' B_QUAD' : ''}` : 'matmul');
        expect(Array.from(outs[1]!), label).toEqual(Array.from(outs[0]!));
        // and the kernel both share (matmul.wgsl wherever matmul_sg.wgsl is not taken) against float64
        const dims = { M, N, K, batch, aStride: M * K, bStride: bStride ? K * N : 0 };
        expectClose(outs[0]!, matmulRef(a, b, c0, dims, transA, transB, accumulate), 1e-5, label);
        A.dispose();
        B.dispose();
      }
      // unforced, a CPU adapter runs 'register-sg': matmul_sg.wgsl where it applies (GPUs tune, so only the default)
      setMatmulVersion(null);
      const seen: string[] = [];
      engine().onLaunch = (k) => void seen.push(k.shader);
      const [A, B, C] = [70 * 33, 33 * 132, 70 * 132].map((n) => Tensor.fromArray(new Float32Array(n)));
      try {
        launchMatmul({
          A: A!.buffer,
          B: B!.buffer,
          C: C!.buffer,
          M: 70,
          N: 132,
          K: 33,
          batch: 1,
          transA: false,
          transB: false,
          accumulate: false,
          aBatchStride: 0,
          bBatchStride: 0,
          cBatchStride: 0,
        });
      } finally {
        engine().onLaunch = null;
        [A, B, C].forEach((t) => t!.dispose());
      }
      if (engine().adapter.isCPU) expect(seen).toEqual([expectSg ? 'matmul_sg' : 'matmul']);
      expect(defaultMatmulVersion()).toBe(engine().adapter.isCPU ? 'register-sg' : 'tiled-splitk');
    } finally {
      setMatmulVersion(null);
      Object.assign(splitK, saved);
    }
  }, 300_000);

  it('split-K (register-splitk, tiled-splitk: partial products over k chunks, then their sum) matches float64', async () => {
    const { launchMatmul, setMatmulVersion, splitK } = await import('../src/tensor/matmul.ts');
    const saved = { ...splitK };
    // Smaller thresholds than the default 128 workgroups / chunks of 256, so small products split: chunks of ≥ 64
    // until 64 workgroups.
    splitK.minWorkgroups = () => 64;
    splitK.minChunk = 64;
    try {
      // k = 1000 in chunks of 63 → 16 chunks, the last one shorter; batch 2 with A broadcast; M·N below one block.
      for (const [M, N, K, batch, transA, transB, accumulate] of [
        [9, 20, 1000, 2, false, true, false],
        [40, 70, 531, 1, true, false, true],
        [3, 5, 700, 3, false, false, true],
      ] as [number, number, number, number, boolean, boolean, boolean][]) {
        const a = randomArray(M * K, K),
          b = randomArray(batch * K * N, N),
          c0 = randomArray(batch * M * N, 5);
        const A = Tensor.fromArray(Float32Array.from(a)),
          B = Tensor.fromArray(Float32Array.from(b));
        const ref = matmulRef(a, b, c0, { M, N, K, batch, aStride: 0, bStride: K * N }, transA, transB, accumulate);
        for (const v of ['register-splitk', 'tiled-splitk', 'tiled-128-splitk', 'tiled-128-vec4-splitk'] as const) {
          setMatmulVersion(v);
          const C = Tensor.fromArray(Float32Array.from(c0));
          const before = engine().stats().dispatches;
          launchMatmul({
            A: A.buffer,
            B: B.buffer,
            C: C.buffer,
            M,
            N,
            K,
            batch,
            aBatchStride: 0,
            bBatchStride: K * N,
            cBatchStride: M * N,
            transA,
            transB,
            accumulate,
          });
          expect(engine().stats().dispatches - before).toBe(2); // the partial products, then their sum
          expectClose(await C.toArray(), ref);
          C.dispose();
        }
        A.dispose();
        B.dispose();
      }
    } finally {
      Object.assign(splitK, saved);
      setMatmulVersion(null);
    }
  }, 300_000);

  it('splitCount: splits only short-of-workgroups products with a long k, in chunks of at least minChunk', async () => {
    const { splitCount } = await import('../src/tensor/matmul.ts');
    expect(splitCount(1, 16384, 128, 256)).toBe(64); // capped at 64 chunks
    expect(splitCount(4, 16384, 16, 256)).toBe(4); // 4 × 4 = 16 workgroups
    expect(splitCount(3, 16384, 16, 256)).toBe(6); // rounds up to reach 16
    expect(splitCount(1, 1024, 16, 256)).toBe(4); // limited by k / minChunk
    expect(splitCount(16, 16384, 16, 256)).toBe(1); // enough workgroups already
    expect(splitCount(1, 511, 16, 256)).toBe(1); // k shorter than two chunks
  });
});
