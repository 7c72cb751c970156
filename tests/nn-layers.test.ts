import { describe, it, expect } from 'vitest';
import { Tensor, tidy } from '../src/tensor/index.ts';
import { Module } from '../src/nn/module.ts';
import { Sequential, ReLU, LeakyReLU, Tanh, Sigmoid, Flatten } from '../src/nn/layers.ts';
import { Conv2d, ConvTranspose2d } from '../src/nn/conv.ts';
import { BatchNorm1d, BatchNorm2d } from '../src/nn/batchnorm.ts';
import { dcganInit } from '../src/nn/init.ts';
import { useEngine, randomArray, expectClose } from './helpers.ts';

useEngine();

type Dims = [number, number, number, number];

/** float64 conv2d: out[n,o,y,x] = b[o] + Σ_{c,i,j} in[n,c,y·s−p+i·d, x·s−p+j·d] · w[o,c,i,j]. */
function refConv2d(
  x: ArrayLike<number>,
  [N, C, H, W]: Dims,
  w: ArrayLike<number>,
  [O, , KH, KW]: Dims,
  b: ArrayLike<number> | null,
  s: number,
  p: number,
  d: number,
) {
  const Ho = Math.floor((H + 2 * p - d * (KH - 1) - 1) / s) + 1;
  const Wo = Math.floor((W + 2 * p - d * (KW - 1) - 1) / s) + 1;
  const out = new Float64Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let y = 0; y < Ho; y++)
        for (let xx = 0; xx < Wo; xx++) {
          let acc = b ? b[o] : 0;
          for (let c = 0; c < C; c++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const iy = y * s - p + i * d;
                const ix = xx * s - p + j * d;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += x[((n * C + c) * H + iy) * W + ix] * w[((o * C + c) * KH + i) * KW + j];
              }
          out[((n * O + o) * Ho + y) * Wo + xx] = acc;
        }
  return { out, shape: [N, O, Ho, Wo] };
}

/** float64 transposed conv (scatter form), weight [C_in, C_out, kh, kw]. */
function refConvT(
  x: ArrayLike<number>,
  [N, C, H, W]: Dims,
  w: ArrayLike<number>,
  [, O, KH, KW]: Dims,
  b: ArrayLike<number> | null,
  s: number,
  p: number,
  op: number,
) {
  const Ho = (H - 1) * s - 2 * p + (KH - 1) + op + 1;
  const Wo = (W - 1) * s - 2 * p + (KW - 1) + op + 1;
  const out = new Float64Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) for (let k = 0; k < Ho * Wo; k++) out[(n * O + o) * Ho * Wo + k] = b ? b[o] : 0;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++) {
          const v = x[((n * C + c) * H + y) * W + xx];
          for (let o = 0; o < O; o++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const oy = y * s - p + i;
                const ox = xx * s - p + j;
                if (oy < 0 || oy >= Ho || ox < 0 || ox >= Wo) continue;
                out[((n * O + o) * Ho + oy) * Wo + ox] += v * w[((c * O + o) * KH + i) * KW + j];
              }
        }
  return { out, shape: [N, O, Ho, Wo] };
}

/** float64 batch norm per channel (axis 1) with the statistics given or computed from the batch. */
function refBatchNorm(
  x: ArrayLike<number>,
  N: number,
  C: number,
  HW: number,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  eps: number,
  stats?: { mean: ArrayLike<number>; var: ArrayLike<number> },
) {
  const out = new Float64Array(x.length);
  const mean = new Float64Array(C);
  const biased = new Float64Array(C);
  const M = N * HW;
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < HW; k++) s += x[(n * C + c) * HW + k];
    mean[c] = s / M;
    let q = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < HW; k++) q += (x[(n * C + c) * HW + k] - mean[c]) ** 2;
    biased[c] = q / M;
  }
  for (let c = 0; c < C; c++) {
    const mu = stats ? stats.mean[c] : mean[c];
    const v = stats ? stats.var[c] : biased[c];
    for (let n = 0; n < N; n++)
      for (let k = 0; k < HW; k++) {
        const i = (n * C + c) * HW + k;
        out[i] = (gamma[c] * (x[i] - mu)) / Math.sqrt(v + eps) + beta[c];
      }
  }
  return { out, mean, unbiased: Array.from(biased, (v) => (v * M) / (M - 1)) };
}

describe('Conv2d / ConvTranspose2d layers', () => {
  it('Conv2d forward matches a float64 reference (stride, padding, dilation, bias on/off)', async () => {
    for (const [s, p, d, bias] of [
      [1, 0, 1, true],
      [2, 1, 1, false],
      [1, 2, 2, true],
    ] as const) {
      const conv = new Conv2d(3, 4, 3, { stride: s, padding: p, dilation: d, bias, seed: 7 });
      const xs: Dims = [2, 3, 7, 6];
      const xData = randomArray(2 * 3 * 7 * 6, 5);
      const x = Tensor.fromArray(Float32Array.from(xData), xs);
      const y = conv.forward(x);
      const ref = refConv2d(
        xData,
        xs,
        await conv.weight.toArray(),
        [4, 3, 3, 3],
        bias ? await conv.bias!.toArray() : null,
        s,
        p,
        d,
      );
      expect(y.shape).toEqual(ref.shape);
      expectClose(await y.toArray(), ref.out, 1e-5);
      expect(conv.stateDict().size).toBe(bias ? 2 : 1);
    }
  });

  it('ConvTranspose2d forward matches a float64 reference; weight is [in, out, kh, kw]', async () => {
    for (const [s, p, op, bias] of [
      [1, 0, 0, true],
      [2, 1, 0, false],
      [2, 1, 1, true],
    ] as const) {
      const convT = new ConvTranspose2d(3, 2, 4, { stride: s, padding: p, outputPadding: op, bias, seed: 9 });
      expect(convT.weight.shape).toEqual([3, 2, 4, 4]);
      const xs: Dims = [2, 3, 3, 4];
      const xData = randomArray(2 * 3 * 3 * 4, 6);
      const y = convT.forward(Tensor.fromArray(Float32Array.from(xData), xs));
      const ref = refConvT(
        xData,
        xs,
        await convT.weight.toArray(),
        [3, 2, 4, 4],
        bias ? await convT.bias!.toArray() : null,
        s,
        p,
        op,
      );
      expect(y.shape).toEqual(ref.shape);
      expectClose(await y.toArray(), ref.out, 1e-5);
    }
  });

  it('torch default init bounds: 1/sqrt(in·k·k) for Conv2d, 1/sqrt(out·k·k) for ConvTranspose2d', async () => {
    const conv = new Conv2d(8, 16, 3, { seed: 1 });
    const convT = new ConvTranspose2d(16, 2, 4, { seed: 1 });
    const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const cw = maxAbs(await conv.weight.toArray());
    expect(cw).toBeLessThanOrEqual(1 / Math.sqrt(72));
    expect(cw).toBeGreaterThan(0.95 / Math.sqrt(72));
    const tw = maxAbs(await convT.weight.toArray());
    expect(tw).toBeLessThanOrEqual(1 / Math.sqrt(32));
    expect(tw).toBeGreaterThan(0.95 / Math.sqrt(32));
    expect(maxAbs(await convT.bias!.toArray())).toBeLessThanOrEqual(1 / Math.sqrt(32));
    // The bias has the weight's bound: 1/√(8·3·3) for Conv2d(8, 256, 3), 1/√(256·2·2) = 1/32 for
    // ConvTranspose2d(4, 256, 2) (torch's fan_in of the [in, out, k, k] weight is out·k·k). 256 outputs each: all
    // inside 0.95·bound has chance 0.95²⁵⁶ ≈ 2e-6.
    const wideConv = new Conv2d(8, 256, 3, { seed: 2 });
    const wideConvT = new ConvTranspose2d(4, 256, 2, { seed: 2 });
    for (const [bias, bound] of [
      [await wideConv.bias!.toArray(), 1 / Math.sqrt(72)],
      [await wideConvT.bias!.toArray(), 1 / 32],
    ] as const) {
      expect(bias.length).toBe(256);
      expect(maxAbs(bias)).toBeLessThanOrEqual(bound);
      expect(maxAbs(bias)).toBeGreaterThan(0.95 * bound);
    }
    for (const m of [conv, convT, wideConv, wideConvT]) m.dispose();
  });

  it('rejects bad channel counts', () => {
    expect(() => new Conv2d(0, 4, 3)).toThrow(/Conv2d: channels and kernel size must be positive integers, got in=0/);
  });
});

describe('BatchNorm layers', () => {
  it('BatchNorm2d training forward normalizes with batch statistics and updates running stats (momentum 0.1, unbiased var)', async () => {
    const [N, C, H, W] = [3, 2, 2, 3];
    const bn = new BatchNorm2d(C);
    bn.weight.assign(Float32Array.of(1.5, -0.5));
    bn.bias.assign(Float32Array.of(0.25, 2));
    const xData = randomArray(N * C * H * W, 12, -2, 3);
    const y = bn.forward(Tensor.fromArray(Float32Array.from(xData), [N, C, H, W]));
    const ref = refBatchNorm(xData, N, C, H * W, [1.5, -0.5], [0.25, 2], 1e-5);
    expectClose(await y.toArray(), ref.out, 1e-5);
    expectClose(
      await bn.runningMean.toArray(),
      Array.from(ref.mean, (m) => 0.1 * m),
      1e-6,
    );
    expectClose(
      await bn.runningVar.toArray(),
      ref.unbiased.map((v) => 0.9 + 0.1 * v),
      1e-6,
    );
    expect(await bn.numBatchesTracked.item()).toBe(1);
    bn.forward(Tensor.fromArray(Float32Array.from(xData), [N, C, H, W]));
    expect(await bn.numBatchesTracked.item()).toBe(2);
  });

  it('eval() switches BatchNorm to the running statistics and stops updating them', async () => {
    const bn = new BatchNorm1d(3);
    bn.runningMean.assign(Float32Array.of(0.5, -1, 2));
    bn.runningVar.assign(Float32Array.of(4, 0.25, 1));
    bn.eval();
    const xData = randomArray(4 * 3, 3);
    const y = bn.forward(Tensor.fromArray(Float32Array.from(xData), [4, 3]));
    const ref = refBatchNorm(xData, 4, 3, 1, [1, 1, 1], [0, 0, 0], 1e-5, { mean: [0.5, -1, 2], var: [4, 0.25, 1] });
    expectClose(await y.toArray(), ref.out, 1e-5);
    expect(Array.from(await bn.runningMean.toArray())).toEqual([0.5, -1, 2]);
    expect(await bn.numBatchesTracked.item()).toBe(0);
    // Back in training mode the batch statistics are used: the per-channel mean of the output is β = 0.
    bn.train();
    const yt = await bn.forward(Tensor.fromArray(Float32Array.from(xData), [4, 3])).toArray();
    for (let c = 0; c < 3; c++) expect(Math.abs(yt[c] + yt[3 + c] + yt[6 + c] + yt[9 + c])).toBeLessThan(1e-5);
  });

  it('state dict keys follow torch, num_batches_tracked is a scalar int64 buffer', () => {
    const bn = new BatchNorm2d(4);
    expect(bn.stateEntries().map((e) => [e.key, e.kind, e.dtype, [...e.tensor.shape]])).toEqual([
      ['weight', 'parameter', 'F32', [4]],
      ['bias', 'parameter', 'F32', [4]],
      ['running_mean', 'buffer', 'F32', [4]],
      ['running_var', 'buffer', 'F32', [4]],
      ['num_batches_tracked', 'buffer', 'I64', []],
    ]);
    expect(bn.parameters().length).toBe(2);
  });

  it('rejects inputs of the wrong rank or channel count', () => {
    expect(() => new BatchNorm2d(3).forward(Tensor.zeros([2, 3]))).toThrow(
      /BatchNorm2d\(3\): expected a 4-D \[N, C, H, W\] input, got \[2, 3\]/,
    );
    expect(() => new BatchNorm1d(3).forward(Tensor.zeros([2, 4]))).toThrow(
      /BatchNorm1d\(3\): input of shape \[2, 4\] has 4 channels in dimension 1, expected 3/,
    );
  });
});

/** The PyTorch DCGAN tutorial's generator, scaled down: nz → ngf·4 → ngf·2 → nc, images 16×16. */
class Generator extends Module {
  readonly main: Sequential;
  constructor(nz: number, ngf: number, nc: number) {
    super();
    this.main = this.registerModule(
      'main',
      new Sequential(
        new ConvTranspose2d(nz, ngf * 4, 4, { stride: 1, padding: 0, bias: false }),
        new BatchNorm2d(ngf * 4),
        new ReLU(),
        new ConvTranspose2d(ngf * 4, ngf * 2, 4, { stride: 2, padding: 1, bias: false }),
        new BatchNorm2d(ngf * 2),
        new ReLU(),
        new ConvTranspose2d(ngf * 2, nc, 4, { stride: 2, padding: 1, bias: false }),
        new Tanh(),
      ),
    );
  }
  forward(x: Tensor): Tensor {
    return this.main.forward(x);
  }
}

describe('DCGAN-style networks', () => {
  it('generator state dict has exactly the keys torch gives the tutorial architecture', () => {
    const g = new Generator(8, 4, 3);
    const keys = [...g.stateDict()].map(([k, t]) => `${k} [${t.shape}]`);
    const bn = (i: number, c: number) => [
      `main.${i}.weight [${c}]`,
      `main.${i}.bias [${c}]`,
      `main.${i}.running_mean [${c}]`,
      `main.${i}.running_var [${c}]`,
      `main.${i}.num_batches_tracked []`,
    ];
    expect(keys).toEqual([
      'main.0.weight [8,16,4,4]',
      ...bn(1, 16),
      'main.3.weight [16,8,4,4]',
      ...bn(4, 8),
      'main.6.weight [8,3,4,4]',
    ]);
    expect(g.parameters().map((p) => p.name)).toEqual([
      'main.0.weight',
      'main.1.weight',
      'main.1.bias',
      'main.3.weight',
      'main.4.weight',
      'main.4.bias',
      'main.6.weight',
    ]);
    const out = tidy(() => [...g.forward(Tensor.randn([2, 8, 1, 1], { seed: 1 })).shape]);
    expect(out).toEqual([2, 3, 16, 16]);
  });

  it('discriminator-style stack with LeakyReLU, Flatten and Sigmoid runs and backpropagates into every parameter', () => {
    const d = new Sequential(
      new Conv2d(3, 4, 4, { stride: 2, padding: 1, bias: false }),
      new LeakyReLU(0.2),
      new Conv2d(4, 8, 4, { stride: 2, padding: 1, bias: false }),
      new BatchNorm2d(8),
      new LeakyReLU(0.2),
      new Conv2d(8, 1, 4, { stride: 1, padding: 0, bias: false }),
      new Flatten(),
      new Sigmoid(),
    );
    tidy(() => {
      const y = d.forward(Tensor.randn([2, 3, 16, 16], { seed: 2 }));
      expect(y.shape).toEqual([2, 1]);
      y.mean().backward();
    });
    expect(d.parameters().every((p) => p.grad !== null)).toBe(true);
    expect(d.namedParameters().map(([k]) => k)).toEqual(['0.weight', '2.weight', '3.weight', '3.bias', '5.weight']);
  });

  it('dcganInit: conv weights N(0, 0.02), BN weight N(1, 0.02), BN bias 0; seeded and order independent', async () => {
    const g = new Generator(16, 16, 3);
    dcganInit(g, 123);
    const stats = async (t: Tensor) => {
      const a = await t.toArray();
      const m = a.reduce((s, v) => s + v, 0) / a.length;
      const sd = Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
      return { m, sd, a };
    };
    const w0 = await stats(g.main.at(0).stateDict().get('weight')!); // 16·64·16 = 16384 values
    expect(Math.abs(w0.m)).toBeLessThan(0.001);
    expect(w0.sd).toBeGreaterThan(0.019);
    expect(w0.sd).toBeLessThan(0.021);
    const bn = g.main.at(1) as BatchNorm2d;
    const gamma = await stats(bn.weight);
    expect(Math.abs(gamma.m - 1)).toBeLessThan(0.02);
    expect(gamma.a.every((v) => Math.abs(v - 1) < 0.1)).toBe(true);
    expect(Array.from(await bn.bias.toArray()).every((v) => v === 0)).toBe(true);
    // Same seed → same values; different layers → different streams.
    const g2 = new Generator(16, 16, 3);
    dcganInit(g2, 123);
    expect(await g2.main.at(0).stateDict().get('weight')!.toArray()).toEqual(w0.a);
    const w3 = await g.main.at(3).stateDict().get('weight')!.toArray();
    expect(Array.from(w3.slice(0, 8))).not.toEqual(Array.from(w0.a.slice(0, 8)));
    dcganInit(g2, 124);
    expect(await g2.main.at(0).stateDict().get('weight')!.toArray()).not.toEqual(w0.a);
  });
});

describe('Sequential fuses BatchNorm with the activation after it', () => {
  it('gives the unfused outputs, gradients, running statistics and batch counts, in fewer launches', async () => {
    const { engine } = await import('../src/tensor/index.ts');
    const { ganSpec, buildGan } = await import('../src/gan/models.ts');
    const spec = ganSpec('dcgan');
    const run = async (fuse: boolean) => {
      Sequential.fuseActivations = fuse;
      try {
        const { G, D } = buildGan(spec, 7);
        const z = Tensor.fromArray(Float32Array.from(randomArray(3 * 100, 9)), [3, 100, 1, 1]);
        const before = engine().stats().dispatches;
        const logits = tidy(() => {
          const out = D.forward(G.forward(z));
          out.sum().backward();
          return out;
        });
        const launches = engine().stats().dispatches - before;
        const values: Float32Array[] = [await logits.toArray()];
        for (const net of [G, D]) {
          for (const p of net.parameters()) values.push(await p.grad!.toArray());
          for (const [, b] of net.namedBuffers()) values.push(await b.toArray());
        }
        logits.dispose();
        z.dispose();
        G.dispose();
        D.dispose();
        return { values, launches };
      } finally {
        Sequential.fuseActivations = true;
      }
    };
    const fused = await run(true);
    const plain = await run(false);
    expect(fused.values.length).toBe(plain.values.length);
    fused.values.forEach((v, i) => expectClose(v, plain.values[i]!, 1e-5, `tensor ${i}`));
    // G: 3 BatchNorm+ReLU pairs, D: 2 BatchNorm+LeakyReLU pairs — one activation launch fewer each way per pair;
    // D's first Conv2d+LeakyReLU and G's last ConvTranspose2d+Tanh — one fewer forward each (their backward still
    // scales the gradient in a pass of its own).
    expect(plain.launches - fused.launches).toBe(2 * 5 + 2);
  });
});

describe('Sequential fuses a conv with the LeakyReLU or Tanh after it', () => {
  // Each case: the layers, the input shape, and a transposed route to force ('cols': a 1×1 conv and col2im; 'phases':
  // the gather by phases, or with one output channel a matrix product and col2im), so every kernel that ends a conv
  // applies the activation once.
  const cases = [
    [
      'Conv2d(3→70, k4 s2 p1) + LeakyReLU(0.2)',
      () => new Conv2d(3, 70, 4, { stride: 2, padding: 1, seed: 5 }),
      () => new LeakyReLU(0.2),
      [2, 3, 11, 9],
      'auto',
    ],
    [
      'Conv2d(3→20, k3 p1) + Tanh',
      () => new Conv2d(3, 20, 3, { padding: 1, seed: 6 }),
      () => new Tanh(),
      [2, 3, 7, 6],
      'auto',
    ],
    [
      'ConvTranspose2d(8→3, k4 s2 p1) + Tanh, by phases',
      () => new ConvTranspose2d(8, 3, 4, { stride: 2, padding: 1, seed: 7 }),
      () => new Tanh(),
      [2, 8, 5, 4],
      'phases',
    ],
    [
      'ConvTranspose2d(8→3, k4 s2 p1) + Tanh, as 1×1 conv and col2im',
      () => new ConvTranspose2d(8, 3, 4, { stride: 2, padding: 1, seed: 7 }),
      () => new Tanh(),
      [2, 8, 5, 4],
      'cols',
    ],
    [
      'ConvTranspose2d(16→1, k4 s2 p1) + Tanh (one channel: matrix product and col2im)',
      () => new ConvTranspose2d(16, 1, 4, { stride: 2, padding: 1, seed: 8 }),
      () => new Tanh(),
      [3, 16, 7, 7],
      'phases',
    ],
    [
      'ConvTranspose2d(16→1, k4 s2 p1) + LeakyReLU(0.2), one channel as 1×1 conv and col2im',
      () => new ConvTranspose2d(16, 1, 4, { stride: 2, padding: 1, seed: 8 }),
      () => new LeakyReLU(0.2),
      [3, 16, 7, 7],
      'cols',
    ],
    // One tile and a reduction of 9 (8) slabs: the split-K versions cut it in two, and conv_split_sum activates.
    [
      'Conv2d(16→40, k3 p1) + LeakyReLU(0.2), split-K',
      () => new Conv2d(16, 40, 3, { padding: 1, seed: 9 }),
      () => new LeakyReLU(0.2),
      [1, 16, 6, 6],
      'auto',
    ],
    [
      'ConvTranspose2d(32→5, k4 s2 p1) + Tanh, split-K',
      () => new ConvTranspose2d(32, 5, 4, { stride: 2, padding: 1, seed: 10 }),
      () => new Tanh(),
      [1, 32, 3, 3],
      'phases',
    ],
  ] as const;
  for (const [name, conv, activation, xShape, route] of cases)
    it(`${name}: the unfused outputs and gradients bit for bit with every conv version, in one launch fewer`, async () => {
      const { engine } = await import('../src/tensor/index.ts');
      const { setConvVersion, setTransposedRoute, CONV_VERSIONS } = await import('../src/tensor/conv.ts');
      const run = async (fuse: boolean, version: (typeof CONV_VERSIONS)[number]) => {
        Sequential.fuseActivations = fuse;
        setConvVersion(version);
        setTransposedRoute(route === 'auto' ? 'auto' : route);
        const shaders = new Set<string>();
        engine().onLaunch = (k) => void shaders.add(k.shader);
        try {
          const net = new Sequential(conv(), activation());
          const x = Tensor.fromArray(
            Float32Array.from(
              randomArray(
                xShape.reduce((a: number, b: number) => a * b, 1),
                3,
              ),
            ),
            [...xShape],
          );
          x.requireGrad();
          const before = engine().stats().dispatches;
          const y = tidy(() => {
            const out = net.forward(x);
            out.backward(Tensor.fromArray(Float32Array.from(randomArray(out.size, 4)), out.shape));
            return out;
          });
          const forwardAndBack = engine().stats().dispatches - before;
          const values = [await y.toArray(), await x.grad!.toArray()];
          for (const p of net.parameters()) values.push(await p.grad!.toArray());
          // both sides of the activation are exercised
          expect(values[0]!.some((v) => v < 0) && values[0]!.some((v) => v > 0)).toBe(true);
          y.dispose();
          x.dispose();
          net.dispose();
          return { values, forwardAndBack, shaders };
        } finally {
          engine().onLaunch = null;
          Sequential.fuseActivations = true;
          setConvVersion(null);
          setTransposedRoute('auto');
        }
      };
      for (const version of CONV_VERSIONS) {
        const fused = await run(true, version);
        const plain = await run(false, version);
        fused.values.forEach((v, i) =>
          expect(Array.from(v), `${version}, tensor ${i}`).toEqual(Array.from(plain.values[i]!)),
        );
        // every version's kernel applies the activation, the naive one's too
        expect(plain.forwardAndBack - fused.forwardAndBack, version).toBe(1);
        if (name.endsWith('split-K'))
          expect(fused.shaders.has('conv_split_sum'), version).toBe(version.endsWith('-splitk'));
        // the route asked for ran (the register kernels take the 1×1 conv route; the tiled ones have none)
        const oneChannel = name.includes('one channel');
        const col2im =
          version === 'naive'
            ? null
            : route === 'cols' && version.startsWith('register')
              ? 'conv_col2im_planes'
              : oneChannel
                ? 'conv_col2im'
                : null;
        if (col2im) expect([...fused.shaders], version).toContain(col2im);
        if (route === 'phases' && !oneChannel && version !== 'naive')
          expect(
            [...fused.shaders].filter((k) => k.startsWith('conv_col2im')),
            version,
          ).toEqual([]);
      }
    }, 120_000);

  it('a no-grad pass holds only its output, also where the activation is a pass of its own (a 1×1 input), and with the naive kernels', async () => {
    const { engine, noGrad } = await import('../src/tensor/index.ts');
    const { setConvVersion } = await import('../src/tensor/conv.ts');
    const nets: [string, () => Sequential, number[]][] = [
      [
        'ConvTranspose2d on a 1×1 latent + Tanh',
        () => new Sequential(new ConvTranspose2d(8, 4, 4, { seed: 1 }), new Tanh()),
        [2, 8, 1, 1],
      ],
      [
        'Conv2d + LeakyReLU',
        () => new Sequential(new Conv2d(3, 5, 3, { padding: 1, seed: 2 }), new LeakyReLU(0.2)),
        [2, 3, 6, 6],
      ],
    ];
    for (const version of [null, 'naive'] as const)
      for (const [name, make, shape] of nets) {
        setConvVersion(version);
        try {
          const net = make();
          const x = Tensor.fromArray(
            Float32Array.from(
              randomArray(
                shape.reduce((a, b) => a * b, 1),
                5,
              ),
            ),
            shape,
          );
          const before = engine().stats().inUseBuffers;
          const y = noGrad(() => net.forward(x));
          expect(engine().stats().inUseBuffers - before, `${name}, ${version ?? 'default'}`).toBe(1); // y alone
          y.dispose();
          x.dispose();
          net.dispose();
        } finally {
          setConvVersion(null);
        }
      }
  });

  it('a LeakyReLU of slope 0 (or −0) stays a pass of its own: a driver may fold 0·v to +0 where the op gives −0', () => {
    const conv = new Conv2d(3, 5, 3, { seed: 3 });
    expect(conv.fusableActivation(new LeakyReLU(0))).toBeNull();
    expect(conv.fusableActivation(new LeakyReLU(-0))).toBeNull();
    expect(conv.fusableActivation(new LeakyReLU(1e39))).toBeNull(); // not finite in float32
    expect(conv.fusableActivation(new LeakyReLU(0.2))).toEqual({ kind: 'leaky_relu', slope: 0.2 });
    expect(conv.fusableActivation(new Tanh())).toEqual({ kind: 'tanh' });
    conv.dispose();
  });
});
