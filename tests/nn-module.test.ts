import { describe, it, expect } from 'vitest';
import { Tensor, tidy, memoryStats, manualSeed } from '../src/tensor/index.ts';
import { Module } from '../src/nn/module.ts';
import { Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout, Flatten, Unflatten, Sequential } from '../src/nn/layers.ts';
import { useEngine, randomArray, expectClose } from './helpers.ts';

useEngine();

/** float64 reference of y = x Wᵀ + b for x [n, in], W [out, in]. */
function refLinear(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | null,
  n: number,
  inF: number,
  outF: number,
): Float64Array {
  const y = new Float64Array(n * outF);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < inF; k++) s += x[i * inF + k] * w[o * inF + k];
      y[i * outF + o] = s;
    }
  }
  return y;
}

/** A module with a buffer stored as int64, to exercise buffers without BatchNorm. */
class Counter extends Module {
  readonly scale: Tensor;
  readonly count: Tensor;
  constructor() {
    super();
    this.scale = this.registerParameter('scale', Tensor.fromArray([2, 3, 4], [3]));
    this.count = this.registerBuffer('count', Tensor.zeros([]), 'I64');
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.scale);
  }
}

describe('Linear', () => {
  it('forward matches a float64 reference, with and without bias, for 2-D and 3-D inputs', async () => {
    manualSeed(5);
    for (const bias of [true, false]) {
      const layer = new Linear(7, 5, bias);
      const xData = randomArray(3 * 4 * 7, 9);
      const x = Tensor.fromArray(Float32Array.from(xData), [3, 4, 7]);
      const y = layer.forward(x);
      expect(y.shape).toEqual([3, 4, 5]);
      const w = await layer.weight.toArray();
      const b = bias ? await layer.bias!.toArray() : null;
      expectClose(await y.toArray(), refLinear(xData, w, b, 12, 7, 5), 1e-5);
      layer.dispose();
    }
  });

  it('gradients of weight and bias match the analytic ones', async () => {
    const layer = new Linear(3, 2, true, { seed: 1 });
    const xData = randomArray(4 * 3, 2);
    const x = Tensor.fromArray(Float32Array.from(xData), [4, 3]);
    tidy(() => layer.forward(x).sum().backward());
    // d(sum y)/dW[o,k] = Σ_i x[i,k]; d/db[o] = n
    const colSums = [0, 1, 2].map((k) => [0, 1, 2, 3].reduce((s, i) => s + xData[i * 3 + k], 0));
    expectClose(await layer.weight.grad!.toArray(), [...colSums, ...colSums], 1e-5);
    expect(Array.from(await layer.bias!.grad!.toArray())).toEqual([4, 4]);
    layer.zeroGrad();
    expect(layer.weight.grad).toBeNull();
  });

  it('torch default init: weight and bias in U(-1/sqrt(in), 1/sqrt(in)), seeded', async () => {
    const a = new Linear(64, 32, true, { seed: 3 });
    const b = new Linear(64, 32, true, { seed: 3 });
    const c = new Linear(64, 32, true, { seed: 4 });
    const wa = await a.weight.toArray();
    expect(await b.weight.toArray()).toEqual(wa);
    expect(await c.weight.toArray()).not.toEqual(wa);
    expect(await a.bias!.toArray()).not.toEqual(wa.slice(0, 32)); // weight and bias use different seeds
    const bound = 1 / 8;
    const maxAbs = wa.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbs).toBeLessThanOrEqual(bound);
    expect(maxAbs).toBeGreaterThan(0.95 * bound); // 2048 uniforms reach close to the bound
    const mean = wa.reduce((s, v) => s + v, 0) / wa.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    // The bias has the same bound 1/√in_features: 256 uniforms all inside 0.95·bound has chance 0.95²⁵⁶ ≈ 2e-6.
    const wide = new Linear(16, 256, true, { seed: 5 });
    const biasMax = (await wide.bias!.toArray()).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(biasMax).toBeLessThanOrEqual(1 / 4);
    expect(biasMax).toBeGreaterThan(0.95 / 4);
    for (const m of [a, b, c, wide]) m.dispose();
  });

  it('rejects an input with the wrong feature count', () => {
    const layer = new Linear(4, 2);
    expect(() => layer.forward(Tensor.zeros([3, 5]))).toThrow(
      /Linear\(4, 2\): input of shape \[3, 5\] must end in 4 features/,
    );
  });
});

describe('state dict', () => {
  const build = () =>
    new Sequential(
      new Linear(4, 8),
      new ReLU(),
      new Linear(8, 6, false),
      new Sequential(new Linear(6, 3), new Tanh()),
      new Counter(),
    );

  it('keys, order and shapes follow torch naming: parameters, then buffers, then children', () => {
    const net = build();
    const keys = [...net.stateDict()].map(([k, t]) => [k, [...t.shape]]);
    // By hand from torch's rules: Sequential children are "0", "1", ...; parameter-free layers add no keys.
    expect(keys).toEqual([
      ['0.weight', [8, 4]],
      ['0.bias', [8]],
      ['2.weight', [6, 8]],
      ['3.0.weight', [3, 6]],
      ['3.0.bias', [3]],
      ['4.scale', [3]],
      ['4.count', []],
    ]);
    expect(net.namedParameters().map(([k]) => k)).toEqual([
      '0.weight',
      '0.bias',
      '2.weight',
      '3.0.weight',
      '3.0.bias',
      '4.scale',
    ]);
    expect(net.namedBuffers().map(([k]) => k)).toEqual(['4.count']);
    expect(net.parameters().map((p) => p.name)).toEqual([
      '0.weight',
      '0.bias',
      '2.weight',
      '3.0.weight',
      '3.0.bias',
      '4.scale',
    ]);
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(net.numParameters()).toBe(32 + 8 + 48 + 18 + 3 + 3);
    net.dispose();
  });

  it('parameters and buffers survive tidy scopes; intermediates do not', async () => {
    let net: Sequential | null = null;
    let out: Tensor | null = null;
    tidy(() => {
      net = build();
      out = net.forward(Tensor.zeros([1, 4]));
    });
    expect(out!.isDisposed).toBe(true);
    expect(net!.stateEntries().every((e) => !e.tensor.isDisposed)).toBe(true);
    expect((await net!.parameters()[0].toArray()).length).toBe(32);
    net!.dispose();
    expect(net!.stateEntries().every((e) => e.tensor.isDisposed)).toBe(true);
  });

  it('loadStateDict copies values from another module', async () => {
    manualSeed(1);
    const a = build();
    manualSeed(2);
    const b = build();
    const x = Tensor.fromArray(Float32Array.from(randomArray(8, 4)), [2, 4]);
    const ya = await a.forward(x).toArray();
    expect(await b.forward(x).toArray()).not.toEqual(ya);
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(await b.forward(x).toArray()).toEqual(ya);
    // The state dict holds the module's own tensors, not copies.
    expect(a.stateDict().get('0.weight')).toBe(a.parameters()[0]);
  });

  it('loadStateDict accepts host tensors (as decoded from a file), int64 included', async () => {
    const c = new Counter();
    c.loadStateDict(
      new Map([
        ['scale', { shape: [3], data: Float32Array.of(5, -1, 0.5) }],
        ['count', { shape: [], data: BigInt64Array.of(7n) }],
      ]),
    );
    expect(Array.from(await c.scale.toArray())).toEqual([5, -1, 0.5]);
    expect(await c.count.item()).toBe(7);
  });

  it('loadStateDict reports missing, unexpected and mis-shaped keys, and writes nothing on error', async () => {
    const net = build();
    const before = await net.parameters()[0].toArray();
    const state = new Map<string, Tensor>(net.stateDict());
    state.delete('3.0.bias');
    state.set('5.weight', Tensor.zeros([1]));
    state.set('0.weight', Tensor.zeros([4, 8]));
    let message = '';
    try {
      net.loadStateDict(state);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/missing key\(s\): 3\.0\.bias/);
    expect(message).toMatch(/unexpected key\(s\): 5\.weight/);
    expect(message).toMatch(/shape mismatch for 0\.weight: the state dict has \[4, 8\], the model has \[8, 4\]/);
    expect(await net.parameters()[0].toArray()).toEqual(before);

    // Non-strict: missing/unexpected keys are tolerated and reported; shape mismatches still fail.
    state.set('0.weight', Tensor.ones([8, 4]));
    const res = net.loadStateDict(state, { strict: false });
    expect(res).toEqual({ missingKeys: ['3.0.bias'], unexpectedKeys: ['5.weight'] });
    expect(Array.from(await net.parameters()[0].toArray())).toEqual(new Array(32).fill(1));
    state.set('2.weight', Tensor.ones([6, 9]));
    expect(() => net.loadStateDict(state, { strict: false })).toThrow(
      /shape mismatch for 2\.weight: the state dict has \[6, 9\], the model has \[6, 8\]/,
    );
    expect(() => net.loadStateDict(new Map([['4.scale', { shape: [3], data: [1] }]]), { strict: false })).toThrow(
      /4\.scale: shape \[3\] needs 3 values, got 1/,
    );
  });

  it('rejects duplicate and dotted names', () => {
    class Bad extends Module {
      constructor(name: string, twice: boolean) {
        super();
        this.registerParameter(name, Tensor.zeros([1]));
        if (twice) this.registerBuffer(name, Tensor.zeros([1]));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Bad('a.b', false)).toThrow(/invalid attribute name "a\.b"/);
    expect(() => new Bad('w', true)).toThrow(/"w" is already registered/);
  });
});

describe('activations and shape layers', () => {
  it('compute the expected values and shapes', async () => {
    const x = Tensor.fromArray([-2, -0.5, 0, 1.5, 3, -1], [1, 2, 3]);
    expect(Array.from(await new ReLU().forward(x).toArray())).toEqual([0, 0, 0, 1.5, 3, 0]);
    expectClose(await new LeakyReLU(0.2).forward(x).toArray(), [-0.4, -0.1, 0, 1.5, 3, -0.2], 1e-7);
    expectClose(await new Tanh().forward(x).toArray(), [-2, -0.5, 0, 1.5, 3, -1].map(Math.tanh), 1e-6);
    expectClose(
      await new Sigmoid().forward(x).toArray(),
      [-2, -0.5, 0, 1.5, 3, -1].map((v) => 1 / (1 + Math.exp(-v))),
      1e-6,
    );
    expect(new Flatten().forward(Tensor.zeros([2, 3, 4, 5])).shape).toEqual([2, 60]);
    expect(new Flatten(0, 1).forward(Tensor.zeros([2, 3, 4])).shape).toEqual([6, 4]);
    expect(new Unflatten(1, [4, 2, 2]).forward(Tensor.zeros([3, 16])).shape).toEqual([3, 4, 2, 2]);
    expect(() => new Unflatten(1, [4, 4]).forward(Tensor.zeros([3, 15]))).toThrow(
      /dimension 1 of input \[3, 15\] must have size 16/,
    );
  });

  it('Sequential chains layers and frees intermediates when no graph is recorded', async () => {
    const net = new Sequential(
      new Linear(5, 7, true, { seed: 1 }),
      new ReLU(),
      new Linear(7, 2, true, { seed: 2 }),
      new Sigmoid(),
    );
    expect(net.length).toBe(4);
    expect(net.at(-1)).toBeInstanceOf(Sigmoid);
    const xData = randomArray(15, 3);
    const x = Tensor.fromArray(Float32Array.from(xData), [3, 5]);
    const w1 = await (net.at(0) as Linear).weight.toArray();
    const b1 = await (net.at(0) as Linear).bias!.toArray();
    const w2 = await (net.at(2) as Linear).weight.toArray();
    const b2 = await (net.at(2) as Linear).bias!.toArray();
    const h = refLinear(Float32Array.from(xData), w1, b1, 3, 5, 7).map((v) => Math.max(v, 0));
    const ref = refLinear(h, w2, b2, 3, 7, 2).map((v) => 1 / (1 + Math.exp(-v)));
    for (const p of net.parameters()) p.requireGrad(false);
    const live = memoryStats().liveTensors;
    const y = net.forward(x);
    expect(memoryStats().liveTensors).toBe(live + 1); // only the output survives
    expectClose(await y.toArray(), ref, 1e-5);
  });
});

describe('train / eval', () => {
  it('Dropout zeroes about p of the elements and rescales the rest in training, and is the identity in eval', async () => {
    const drop = new Dropout(0.25, { seed: 10 });
    const n = 20000;
    const x = Tensor.ones([n]);
    const y = await drop.forward(x).toArray();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros / n).toBeGreaterThan(0.23);
    expect(zeros / n).toBeLessThan(0.27);
    expect(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    // Successive calls draw new masks; the same seed reproduces the sequence.
    const y2 = await drop.forward(x).toArray();
    expect(y2).not.toEqual(y);
    const again = new Dropout(0.25, { seed: 10 });
    expect(await again.forward(x).toArray()).toEqual(y);
    drop.eval();
    expect(drop.training).toBe(false);
    expect(Array.from(await drop.forward(x).toArray()).every((v) => v === 1)).toBe(true);
    expect(() => new Dropout(1.5)).toThrow(/p must be in \[0, 1\], got 1.5/);
  });

  it('Dropout gradient is the mask', async () => {
    const drop = new Dropout(0.5, { seed: 3 });
    const x = Tensor.ones([1000]).requireGrad();
    const y = drop.forward(x);
    y.sum().backward();
    expect(await x.grad!.toArray()).toEqual(await y.toArray());
  });

  it('train() and eval() reach every descendant', () => {
    const net = new Sequential(new Linear(2, 2), new Sequential(new Dropout(0.5), new ReLU()));
    net.eval();
    expect(net.namedModules().map(([, m]) => m.training)).toEqual([false, false, false, false, false]);
    expect(net.namedModules().map(([k]) => k)).toEqual(['', '0', '1', '1.0', '1.1']);
    net.train();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
  });
});
