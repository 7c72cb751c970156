import { describe, it, expect } from 'vitest';
import { Tensor, tidy } from '../src/tensor/index.ts';
import { Conv2d, ConvTranspose2d, Linear, Module, equalizedInit } from '../src/nn/index.ts';
import { refConv2d, refConvTranspose2d, type ConvShapes } from '../src/reference/conv.ts';
import { matmul } from '../src/reference/elementwise.ts';
import { equalizedScale } from '../src/reference/gan-ops.ts';
import { useEngine, randomArray, expectClose, size } from './helpers.ts';

useEngine();

interface LayerCase {
  layer: Module & { weight: Tensor; bias: Tensor | null; weightScale: number };
  xShape: number[];
  /** float64 forward of the layer with stored weight w and bias b. */
  ref: (x: Float64Array, w: Float64Array, b: Float64Array) => Float64Array;
}

/**
 * The layer's forward against the float64 reference, and its gradients with respect to the input, the stored
 * weight and the bias against central finite differences of the reference (L = Σ y·r for a random r).
 */
async function checkLayer(c: LayerCase): Promise<void> {
  const { layer } = c;
  const x = randomArray(size(c.xShape), 1);
  const w = randomArray(layer.weight.size, 2); // the stored (unscaled) values
  const b = randomArray(layer.bias!.size, 3);
  layer.weight.assign(Float32Array.from(w));
  layer.bias!.assign(Float32Array.from(b));
  const refY = c.ref(x, w, b);
  const r = randomArray(refY.length, 4);
  const xt = Tensor.fromArray(Float32Array.from(x), c.xShape).requireGrad();
  const y = tidy(() => {
    const out = layer.forward(xt);
    out
      .mul(Tensor.fromArray(Float32Array.from(r), out.shape))
      .sum()
      .backward();
    return out;
  });
  expectClose(await y.toArray(), refY, 1e-5, 'forward');
  const loss = (xs: Float64Array, ws: Float64Array, bs: Float64Array) =>
    c.ref(xs, ws, bs).reduce((s, v, i) => s + v * r[i], 0);
  const numeric = (k: 0 | 1 | 2) => {
    const args = [x, w, b];
    const v = args[k];
    return v.map((orig, j) => {
      v[j] = orig + 1e-6;
      const lp = loss(x, w, b);
      v[j] = orig - 1e-6;
      const lm = loss(x, w, b);
      v[j] = orig;
      return (lp - lm) / 2e-6;
    });
  };
  expectClose(await xt.grad!.toArray(), numeric(0), 3e-5, 'gradient of the input');
  expectClose(await layer.weight.grad!.toArray(), numeric(1), 3e-5, 'gradient of the stored weight');
  expectClose(await layer.bias!.grad!.toArray(), numeric(2), 3e-5, 'gradient of the bias');
  y.dispose();
  xt.zeroGrad();
  xt.dispose();
  layer.zeroGrad();
}

const scaled = (w: Float64Array, s: number) => w.map((v) => v * s);

describe('equalized learning rate', () => {
  it('Conv2d: weight scaled by √2/√(in·kh·kw) at run time; gradients through the scale (odd shapes, stride, padding)', async () => {
    const layer = new Conv2d(3, 5, [3, 2], { stride: 2, padding: 1, equalized: true, seed: 1 });
    expect(layer.weightScale).toBe(equalizedScale(3 * 3 * 2));
    const s: ConvShapes = { x: [2, 3, 7, 5], w: [5, 3, 3, 2] };
    const o = { stride: [2, 2] as [number, number], padding: [1, 1] as [number, number] };
    await checkLayer({
      layer,
      xShape: s.x,
      ref: (x, w, b) => refConv2d(x, scaled(w, layer.weightScale), b, s, o),
    });
    layer.dispose();
  });

  it('ConvTranspose2d: fan-in in·kh·kw, a 4×4 layer on a 1×1 input as the paper’s first layer, and a stride-2 one', async () => {
    const first = new ConvTranspose2d(6, 4, 4, { equalized: true, seed: 2 });
    expect(first.weightScale).toBeCloseTo(Math.SQRT2 / 4 / Math.sqrt(6), 15);
    const s1: ConvShapes = { x: [3, 6, 1, 1], w: [6, 4, 4, 4] };
    await checkLayer({
      layer: first,
      xShape: s1.x,
      ref: (x, w, b) => refConvTranspose2d(x, scaled(w, first.weightScale), b, s1),
    });
    const up = new ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1, equalized: { gain: 1 }, seed: 3 });
    expect(up.weightScale).toBe(equalizedScale(3 * 9, 1));
    const s2: ConvShapes = { x: [1, 3, 5, 4], w: [3, 2, 3, 3] };
    await checkLayer({
      layer: up,
      xShape: s2.x,
      ref: (x, w, b) => refConvTranspose2d(x, scaled(w, up.weightScale), b, s2, { stride: [2, 2], padding: [1, 1] }),
    });
    first.dispose();
    up.dispose();
  });

  it('Linear: W scaled by gain/√in', async () => {
    const layer = new Linear(7, 3, true, { equalized: { gain: 0.5 }, seed: 4 });
    expect(layer.weightScale).toBe(0.5 / Math.sqrt(7));
    await checkLayer({
      layer,
      xShape: [5, 7],
      // y = x (s·W)ᵀ + b
      ref: (x, w, b) => {
        const wt = new Float64Array(21);
        for (let o = 0; o < 3; o++) for (let i = 0; i < 7; i++) wt[i * 3 + o] = w[o * 7 + i] * layer.weightScale;
        return matmul(x, wt, 1, 5, 7, 3).map((v, j) => v + b[j % 3]);
      },
    });
    layer.dispose();
  });

  it('starts from N(0, 1) weights and zero biases; equalizedInit redraws them by state_dict key; plain layers are untouched', async () => {
    const conv = new Conv2d(16, 32, 3, { equalized: true, seed: 5 });
    const w = await conv.weight.toArray();
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.05); // 4608 draws: sd of the mean ≈ 0.015
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
    expect(Array.from(await conv.bias!.toArray()).every((v) => v === 0)).toBe(true);
    const plain = new Linear(4, 4, true, { seed: 6 });
    const before = await plain.weight.toArray();
    conv.bias!.assign(new Float32Array(32).fill(1));
    equalizedInit(conv, 9);
    equalizedInit(plain, 9);
    expect(Array.from(await conv.bias!.toArray()).every((v) => v === 0)).toBe(true);
    const again = await conv.weight.toArray();
    expect(again).not.toEqual(w);
    equalizedInit(conv, 9);
    expect(await conv.weight.toArray()).toEqual(again);
    expect(await plain.weight.toArray()).toEqual(before);
    expect([plain.weightScale, plain.equalized]).toEqual([1, false]);
    conv.dispose();
    plain.dispose();
  });

  it('keeps the state_dict names of the plain layers and refuses a bad gain', () => {
    // in·kh·kw = 2: He's constant √2/√2 is 1, and the layer is still equalized (init, description)
    const conv = new Conv2d(2, 3, 1, { equalized: true });
    expect([conv.equalized, conv.weightScale]).toEqual([true, 1]);
    expect([...conv.stateDict().keys()]).toEqual(['weight', 'bias']);
    expect(conv.describe()).toBe(
      `Conv2d(2, 3, kernel=[1,1], stride=[1,1], padding=[0,0], equalized ×${(1).toPrecision(4)})`,
    );
    conv.dispose();
    expect(() => new Conv2d(2, 3, 1, { equalized: { gain: 0 } })).toThrow(
      'Conv2d: equalized gain must be a positive number, got 0',
    );
    expect(() => new Linear(2, 3, true, { equalized: { gain: NaN } })).toThrow(
      'Linear: equalized gain must be a positive number, got NaN',
    );
  });
});
