/**
 * ProGAN and MSG-GAN models (src/gan/progan.ts, src/gan/msggan.ts): shapes at every stage and fade, the fade's ends
 * against the old and new paths, state_dict names, and forward values and gradients of tiny nets against a float64
 * composition of the src/reference functions (gradients by central finite differences of it).
 */
import { describe, it, expect } from 'vitest';
import { Tensor, tidy, noGrad, memoryStats, avgPool2d, upsample2d, concat, type Shape } from '../src/tensor/index.ts';
import { equalizedInit, PixelNorm, MinibatchStdDev, ModuleList, type Module } from '../src/nn/index.ts';
import {
  ProganGenerator,
  ProganDiscriminator,
  buildProgan,
  realsAt,
  minibatchGroup,
  type GrowingConfig,
} from '../src/gan/progan.ts';
import { MsgGenerator, MsgDiscriminator, buildMsggan, imagePyramid, type MsgCombine } from '../src/gan/msggan.ts';
import { refConv2d, refConvTranspose2d } from '../src/reference/conv.ts';
import { avgPool2d as refAvgPool, upsample2d as refUpsample } from '../src/reference/pool.ts';
import * as R from '../src/reference/gan-ops.ts';
import { useEngine, randomArray, expectClose, size } from './helpers.ts';

useEngine();

// ------------------------------------------------------------------ a float64 model of the nets

/** A float64 tensor. */
interface T64 {
  d: Float64Array;
  s: number[];
}
type Params = Map<string, Float64Array>;
type Shapes = Map<string, Shape>;

const lrelu = (t: T64): T64 => ({ d: t.d.map((v) => (v > 0 ? v : 0.2 * v)), s: t.s });
const pn = (t: T64): T64 => ({ d: R.pixelNorm(t.d, t.s), s: t.s });
const up = (t: T64): T64 => ({ d: refUpsample(t.d, t.s, 2, 2), s: [t.s[0]!, t.s[1]!, t.s[2]! * 2, t.s[3]! * 2] });
const pool = (t: T64): T64 => ({
  d: refAvgPool(t.d, t.s, { k: [2, 2], s: [2, 2], p: [0, 0] }),
  s: [t.s[0]!, t.s[1]!, t.s[2]! / 2, t.s[3]! / 2],
});
const blend = (a: T64, b: T64, alpha: number): T64 => ({ d: R.fade(a.d, b.d, alpha), s: a.s });
function catChannels(a: T64, b: T64): T64 {
  const [N, Ca, H, W] = a.s as [number, number, number, number];
  const Cb = b.s[1]!;
  const d = new Float64Array(N * (Ca + Cb) * H * W);
  for (let n = 0; n < N; n++) {
    d.set(a.d.subarray(n * Ca * H * W, (n + 1) * Ca * H * W), n * (Ca + Cb) * H * W);
    d.set(b.d.subarray(n * Cb * H * W, (n + 1) * Cb * H * W), (n * (Ca + Cb) + Ca) * H * W);
  }
  return { d, s: [N, Ca + Cb, H, W] };
}

/** The nets' layers from their parameters: the He constant gain/√(in·kh·kw) is computed here from the shapes. */
function layers(P: Params, S: Shapes) {
  const scaledW = (name: string, fan: number, gain: number) =>
    P.get(`${name}.weight`)!.map((v) => (v * gain) / Math.sqrt(fan));
  const conv = (name: string, x: T64, pad: number, gain = Math.SQRT2): T64 => {
    const ws = S.get(`${name}.weight`)! as [number, number, number, number];
    const o = { padding: [pad, pad] as [number, number] };
    const s = { x: x.s as [number, number, number, number], w: ws };
    const d = refConv2d(x.d, scaledW(name, ws[1] * ws[2] * ws[3], gain), P.get(`${name}.bias`)!, s, o);
    const H = x.s[2]! + 2 * pad - ws[2] + 1;
    return { d, s: [x.s[0]!, ws[0], H, x.s[3]! + 2 * pad - ws[3] + 1] };
  };
  const convT = (name: string, x: T64): T64 => {
    const ws = S.get(`${name}.weight`)! as [number, number, number, number];
    const s = { x: x.s as [number, number, number, number], w: ws };
    const d = refConvTranspose2d(x.d, scaledW(name, ws[0] * ws[2] * ws[3], Math.SQRT2), P.get(`${name}.bias`)!, s);
    return { d, s: [x.s[0]!, ws[1], x.s[2]! + ws[2] - 1, x.s[3]! + ws[3] - 1] };
  };
  const linear = (name: string, x: T64): T64 => {
    const [out, inF] = S.get(`${name}.weight`)! as [number, number];
    const w = scaledW(name, inF, 1);
    const b = P.get(`${name}.bias`)!;
    const N = x.s[0]!;
    const d = new Float64Array(N * out);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < out; o++) {
        let acc = b[o]!;
        for (let i = 0; i < inF; i++) acc += x.d[n * inF + i]! * w[o * inF + i]!;
        d[n * out + o] = acc;
      }
    return { d, s: [N, out] };
  };
  const gblock = (i: number, h: T64): T64 => {
    const pre = i === 0 ? convT(`blocks.0.conv1`, h) : conv(`blocks.${i}.conv1`, up(h), 1);
    return pn(lrelu(conv(`blocks.${i}.conv2`, pn(lrelu(pre)), 1)));
  };
  const dblock = (i: number, h: T64, group: number): T64 => {
    if (i > 0) return pool(lrelu(conv(`blocks.${i}.conv2`, lrelu(conv(`blocks.${i}.conv1`, h, 1)), 1)));
    const s = [h.s[0]!, h.s[1]! + 1, h.s[2]!, h.s[3]!];
    const m = { d: R.minibatchStddev(h.d, h.s, Math.min(group, h.s[0]!)), s };
    const f = lrelu(conv('blocks.0.conv2', lrelu(conv('blocks.0.conv1', m, 1)), 0));
    return linear('blocks.0.linear', { d: f.d, s: [f.s[0]!, f.d.length / f.s[0]!] });
  };
  const rgb = (i: number, h: T64) => conv(`to_rgb.${i}`, h, 0, 1);
  const fromRgb = (name: string, x: T64) => lrelu(conv(name, x, 0));
  return { conv, gblock, dblock, rgb, fromRgb };
}

function refProganG(P: Params, S: Shapes, z: T64, stage: number, alpha: number): T64 {
  const L = layers(P, S);
  let h = L.gblock(0, pn(z));
  if (stage === 0) return L.rgb(0, h);
  for (let i = 1; i < stage; i++) h = L.gblock(i, h);
  const fresh = L.rgb(stage, L.gblock(stage, h));
  return alpha === 1 ? fresh : blend(up(L.rgb(stage - 1, h)), fresh, alpha);
}

function refProganD(P: Params, S: Shapes, x: T64, stage: number, alpha: number, group: number): T64 {
  const L = layers(P, S);
  let h: T64;
  if (stage === 0) h = L.fromRgb('from_rgb.0', x);
  else {
    const fresh = L.dblock(stage, L.fromRgb(`from_rgb.${stage}`, x), group);
    h = alpha === 1 ? fresh : blend(L.fromRgb(`from_rgb.${stage - 1}`, pool(x)), fresh, alpha);
  }
  for (let i = stage === 0 ? 0 : stage - 1; i >= 0; i--) h = L.dblock(i, h, group);
  return h;
}

function refMsgG(P: Params, S: Shapes, z: T64, K: number): T64[] {
  const L = layers(P, S);
  let h = pn(z);
  const out: T64[] = [];
  for (let s = 0; s <= K; s++) {
    h = L.gblock(s, h);
    out.push(L.rgb(s, h));
  }
  return out;
}

function refMsgD(P: Params, S: Shapes, xs: T64[], K: number, combine: MsgCombine, group: number): T64 {
  const L = layers(P, S);
  let h = L.fromRgb('from_rgb', xs[K]!);
  for (let s = K; s >= 0; s--) {
    if (s < K) h = catChannels(h, combine === 'lin' ? L.conv(`rgb_to_features.${s}`, xs[s]!, 0) : xs[s]!);
    h = L.dblock(s, h, group);
  }
  return h;
}

// ------------------------------------------------------------------ helpers

async function paramsOf(m: Module): Promise<{ P: Params; S: Shapes; names: string[] }> {
  const P: Params = new Map();
  const S: Shapes = new Map();
  for (const [k, t] of m.namedParameters()) {
    P.set(k, Float64Array.from(await t.toArray()));
    S.set(k, t.shape);
  }
  return { P, S, names: [...P.keys()] };
}

const t64 = (s: number[], seed: number, lo = -1, hi = 1): T64 => ({ d: randomArray(size(s), seed, lo, hi), s });
const gpu = (t: T64) => Tensor.fromArray(Float32Array.from(t.d), t.s);

/**
 * Forward of a module against its float64 model, then the gradients of L = Σ out·r with respect to every parameter
 * (and the `inputs` that are leaves) against central finite differences of the model.
 */
async function checkNet(
  m: Module,
  inputs: T64[],
  run: (xs: Tensor[]) => Tensor,
  ref: (P: Params, S: Shapes, xs: T64[]) => T64,
  opts: { inputGrads?: boolean; tol?: number } = {},
): Promise<void> {
  const { P, S, names } = await paramsOf(m);
  const refOut = ref(P, S, inputs);
  const r = randomArray(refOut.d.length, 77);
  const leaves = inputs.map((x) => gpu(x).requireGrad(!!opts.inputGrads));
  m.zeroGrad();
  const out = tidy(() => {
    const y = run(leaves);
    y.mul(Tensor.fromArray(Float32Array.from(r), y.shape))
      .sum()
      .backward();
    return y;
  });
  expect(out.shape).toEqual(refOut.s);
  expectClose(await out.toArray(), refOut.d, 1e-5, 'forward');
  const loss = () => ref(P, S, inputs).d.reduce((acc, v, i) => acc + v * r[i]!, 0);
  const numeric = (v: Float64Array) =>
    v.map((orig, j) => {
      v[j] = orig + 1e-6;
      const lp = loss();
      v[j] = orig - 1e-6;
      const lm = loss();
      v[j] = orig;
      return (lp - lm) / 2e-6;
    });
  const named = new Map(m.namedParameters());
  for (const k of names) {
    const g = named.get(k)!.grad;
    const want = numeric(P.get(k)!);
    // A layer of a later stage is not used yet: no gradient, and the loss does not depend on it.
    if (!g)
      expect(
        want.every((v) => v === 0),
        `${k} has no gradient but the loss depends on it`,
      ).toBe(true);
    else expectClose(await g.toArray(), want, opts.tol ?? 1e-4, `gradient of ${k}`);
  }
  if (opts.inputGrads)
    for (let i = 0; i < leaves.length; i++)
      expectClose(await leaves[i]!.grad!.toArray(), numeric(inputs[i]!.d), opts.tol ?? 1e-4, `gradient of input ${i}`);
  out.dispose();
  m.zeroGrad();
  for (const l of leaves) {
    l.zeroGrad();
    l.dispose();
  }
}

const same = async (a: Tensor, b: Tensor) => {
  expect(a.shape).toEqual(b.shape);
  expect(await a.toArray()).toEqual(await b.toArray());
};

// ------------------------------------------------------------------ ProGAN

const CFG: GrowingConfig = { zDim: 8, channels: 3, size: 16, width: 4, mbstdGroup: 2 };

describe('ProGAN', () => {
  it('G and D have the right shapes at every stage and fade, and the state_dict names of the layout', async () => {
    const { G, D } = buildProgan(CFG, 1);
    const z = Tensor.randn([4, 8, 1, 1], { seed: 1 });
    for (let stage = 0; stage <= 2; stage++) {
      for (const alpha of stage === 0 ? [1] : [0, 0.5, 1]) {
        G.setGrowth(stage, alpha);
        D.setGrowth(stage, alpha);
        const r = 4 * 2 ** stage;
        expect([G.stage, G.alpha, G.resolution]).toEqual([stage, alpha, r]);
        const y = G.forward(z);
        expect(y.shape).toEqual([4, 3, r, r]);
        const score = D.forward(y);
        expect(score.shape).toEqual([4, 1]);
        expect((await score.toArray()).every(Number.isFinite)).toBe(true);
        y.dispose();
        score.dispose();
      }
    }
    const keys = (m: Module) => [...m.stateDict()].map(([k, t]) => `${k}:${t.shape.join('x')}`);
    // Widths for 16 px (last stage 2), width 4: C₀ = 16, C₁ = 8, C₂ = 4.
    expect(keys(G)).toEqual([
      'blocks.0.conv1.weight:8x16x4x4',
      'blocks.0.conv1.bias:16',
      'blocks.0.conv2.weight:16x16x3x3',
      'blocks.0.conv2.bias:16',
      'blocks.1.conv1.weight:8x16x3x3',
      'blocks.1.conv1.bias:8',
      'blocks.1.conv2.weight:8x8x3x3',
      'blocks.1.conv2.bias:8',
      'blocks.2.conv1.weight:4x8x3x3',
      'blocks.2.conv1.bias:4',
      'blocks.2.conv2.weight:4x4x3x3',
      'blocks.2.conv2.bias:4',
      'to_rgb.0.weight:3x16x1x1',
      'to_rgb.0.bias:3',
      'to_rgb.1.weight:3x8x1x1',
      'to_rgb.1.bias:3',
      'to_rgb.2.weight:3x4x1x1',
      'to_rgb.2.bias:3',
    ]);
    expect(keys(D)).toEqual([
      'from_rgb.0.weight:16x3x1x1',
      'from_rgb.0.bias:16',
      'from_rgb.1.weight:8x3x1x1',
      'from_rgb.1.bias:8',
      'from_rgb.2.weight:4x3x1x1',
      'from_rgb.2.bias:4',
      'blocks.0.conv1.weight:16x17x3x3',
      'blocks.0.conv1.bias:16',
      'blocks.0.conv2.weight:16x16x4x4',
      'blocks.0.conv2.bias:16',
      'blocks.0.linear.weight:1x16',
      'blocks.0.linear.bias:1',
      'blocks.1.conv1.weight:8x8x3x3',
      'blocks.1.conv1.bias:8',
      'blocks.1.conv2.weight:16x8x3x3',
      'blocks.1.conv2.bias:16',
      'blocks.2.conv1.weight:4x4x3x3',
      'blocks.2.conv1.bias:4',
      'blocks.2.conv2.weight:8x4x3x3',
      'blocks.2.conv2.bias:8',
    ]);
    z.dispose();
    G.dispose();
    D.dispose();
  });

  it('α = 0 is the previous stage (upsampled in G, on pooled images in D) and α = 1 the new path, exactly', async () => {
    const { G, D } = buildProgan(CFG, 2);
    const z = Tensor.randn([4, 8, 1, 1], { seed: 3 });
    const x16 = Tensor.randn([4, 3, 16, 16], { seed: 4 });
    for (const stage of [1, 2]) {
      const r = 4 * 2 ** stage;
      const x = r === 16 ? x16 : avgPool2d(x16, { kernelSize: 16 / r });
      const temps: Tensor[] = [];
      const keep = (t: Tensor) => (temps.push(t), t);
      G.setGrowth(stage - 1, 1);
      D.setGrowth(stage - 1, 1);
      const prevG = keep(G.forward(z));
      const prevD = keep(D.forward(keep(avgPool2d(x, { kernelSize: 2 }))));
      G.setGrowth(stage, 0);
      D.setGrowth(stage, 0);
      await same(keep(G.forward(z)), keep(upsample2d(prevG, 2)));
      await same(keep(D.forward(x)), prevD);
      // α = 1: the new block and its toRGB / fromRGB, composed here from the nets' own layers
      G.setGrowth(stage, 1);
      D.setGrowth(stage, 1);
      const newG = keep(G.toRgb.at(stage).forward(keep(G.blocks.at(stage).forward(keep(G.features(z, stage - 1))))));
      await same(keep(G.forward(z)), newG);
      let h = keep(D.blocks.at(stage).forward(keep(keep(D.fromRgb.at(stage).forward(x)).leakyRelu(0.2))));
      for (let i = stage - 1; i >= 0; i--) h = keep(D.blocks.at(i).forward(h));
      await same(keep(D.forward(x)), h);
      // in between, G's output is the blend of the two ends
      G.setGrowth(stage, 0);
      const a = await keep(G.forward(z)).toArray();
      G.setGrowth(stage, 1);
      const b = await keep(G.forward(z)).toArray();
      G.setGrowth(stage, 0.3);
      expectClose(await keep(G.forward(z)).toArray(), R.fade(Float64Array.from(a), Float64Array.from(b), 0.3), 1e-6);
      for (const t of temps) t.dispose();
      if (x !== x16) x.dispose();
    }
    for (const t of [z, x16, G, D]) t.dispose();
  });

  it('forward and every gradient of a tiny G, mid-fade, match a float64 model (finite differences)', async () => {
    const G = new ProganGenerator({ zDim: 3, channels: 2, size: 8, width: 2 });
    equalizedInit(G, 5);
    for (const [stage, alpha] of [
      [0, 1],
      [1, 0.4],
    ] as const) {
      G.setGrowth(stage, alpha);
      await checkNet(
        G,
        [t64([2, 3, 1, 1], 6)],
        ([z]) => G.forward(z!),
        (P, S, [z]) => refProganG(P, S, z!, stage, alpha),
      );
    }
    G.dispose();
  });

  it('forward and every gradient (images included) of a tiny D, mid-fade, match a float64 model', async () => {
    const D = new ProganDiscriminator({ zDim: 3, channels: 2, size: 8, width: 2, mbstdGroup: 2 });
    equalizedInit(D, 7);
    for (const [stage, alpha] of [
      [0, 1],
      [1, 0.4],
      [1, 1],
    ] as const) {
      D.setGrowth(stage, alpha);
      const r = 4 * 2 ** stage;
      await checkNet(
        D,
        [t64([4, 2, r, r], 8)],
        ([x]) => D.forward(x!),
        (P, S, [x]) => refProganD(P, S, x!, stage, alpha, 2),
        { inputGrads: true },
      );
    }
    D.dispose();
  });

  it('D scores a batch that is not a multiple of its group size with the largest group that divides it', async () => {
    expect([8, 6, 5, 3, 2, 1].map((n) => minibatchGroup(n, 4))).toEqual([4, 3, 1, 3, 2, 1]);
    // D with groups of 2 on a batch of 3 = groups of 1 (n = 3 has no divisor 2): the same as D built with group 1
    const D = new ProganDiscriminator({ zDim: 3, channels: 2, size: 8, width: 2, mbstdGroup: 2 });
    equalizedInit(D, 3);
    const D1 = new ProganDiscriminator({ zDim: 3, channels: 2, size: 8, width: 2, mbstdGroup: 1 });
    D1.loadStateDict(D.stateDict());
    const x = Tensor.randn([3, 2, 4, 4], { seed: 8 });
    await same(D.forward(x), D1.forward(x));
    for (const t of [x, D, D1]) t.dispose();
  });

  it('realsAt pools the reals to the stage and fades them like G’s output', async () => {
    const x = t64([2, 3, 16, 16], 9);
    const xt = gpu(x);
    const cases: [number, number, T64][] = [
      [2, 1, x],
      [1, 1, pool(x)],
      [1, 0.25, blend(up(pool(pool(x))), pool(x), 0.25)],
      [0, 1, pool(pool(x))],
      [2, 0.5, blend(up(pool(x)), x, 0.5)],
    ];
    for (const [stage, alpha, want] of cases) {
      const got = realsAt(xt, stage, alpha);
      expect(got.shape).toEqual(want.s);
      expectClose(await got.toArray(), want.d, 1e-6);
      if (got !== xt) got.dispose();
    }
    expect(() => realsAt(xt, 3, 1)).toThrow('realsAt: stage must be an integer in [0, 2], got 3');
    expect(() => realsAt(Tensor.zeros([1, 1, 12, 12]), 0, 1)).toThrow(
      'realsAt: images of side 12 are not 4·2^k pixels',
    );
    expect(() => realsAt(xt, 1.5, 1)).toThrow('realsAt: stage must be an integer in [0, 2], got 1.5');
    xt.dispose();
  });

  it('refuses bad sizes, stages and fades, and images of the wrong size for the stage', () => {
    expect(() => new ProganGenerator({ ...CFG, size: 24 })).toThrow(
      'growing GAN: size must be 4, 8, 16, 32, … (4·2^k), got 24',
    );
    expect(() => new ProganGenerator({ ...CFG, width: 0 })).toThrow(
      'growing GAN: width must be a positive integer, got 0',
    );
    const { G, D } = buildProgan(CFG, 1);
    expect(() => G.setGrowth(3, 1)).toThrow(
      'ProganGenerator(16px, stage 0, alpha 1): stage must be an integer in [0, 2], got 3',
    );
    expect(() => G.setGrowth(1, 1.2)).toThrow(/alpha must be a number in \[0, 1\], got 1.2/);
    expect(() => G.setGrowth(0, 0.5)).toThrow(/stage 0 has nothing to fade in: alpha must be 1, got 0.5/);
    D.setGrowth(1, 0.5);
    tidy(() => {
      expect(() => D.forward(Tensor.zeros([2, 3, 16, 16]))).toThrow(
        'ProganDiscriminator(16px, stage 1, alpha 0.5): images of shape [2, 3, 16, 16] must be [N, 3, 8, 8] at this stage',
      );
      expect(() => G.forward(Tensor.zeros([2, 8]))).toThrow(/latent of shape \[2, 8\] must be \[N, 8, 1, 1\]/);
    });
    G.dispose();
    D.dispose();
  });
});

describe('layers', () => {
  it('PixelNorm and MinibatchStdDev modules run their ops; ModuleList names its modules 0, 1, … and is not a layer', async () => {
    const x = Tensor.randn([4, 3, 2, 2], { seed: 1 });
    const xs = Float64Array.from(await x.toArray());
    expectClose(await new PixelNorm().forward(x).toArray(), R.pixelNorm(xs, [4, 3, 2, 2]), 1e-5);
    expectClose(await new MinibatchStdDev(2).forward(x).toArray(), R.minibatchStddev(xs, [4, 3, 2, 2], 2), 1e-5);
    // a batch below the group size is one group
    expectClose(await new MinibatchStdDev(8).forward(x).toArray(), R.minibatchStddev(xs, [4, 3, 2, 2], 4), 1e-5);
    expect(() => new MinibatchStdDev(0)).toThrow('MinibatchStdDev: group size must be an integer ≥ 1, got 0');
    const list = new ModuleList([new PixelNorm(), new MinibatchStdDev()]);
    expect(list.namedChildren().map(([k]) => k)).toEqual(['0', '1']);
    expect(list.at(1)).toBeInstanceOf(MinibatchStdDev);
    expect(() => list.at(2)).toThrow('ModuleList: no module 2 (it has 2)');
    expect(() => list.forward(x)).toThrow('ModuleList is a container: call its modules');
    x.dispose();
  });
});

describe('memory', () => {
  it('a no-grad pass (sampling, scoring) of each net mid-fade holds only its output', async () => {
    const { G, D } = buildProgan(CFG, 1);
    const msg = buildMsggan(CFG, 1);
    const z = Tensor.randn([4, 8, 1, 1], { seed: 1 });
    const x = Tensor.randn([4, 3, 8, 8], { seed: 2 });
    const x16 = Tensor.randn([4, 3, 16, 16], { seed: 3 });
    G.setGrowth(1, 0.5);
    D.setGrowth(1, 0.5);
    const passes: (() => Tensor)[] = [
      () => G.forward(z),
      () => D.forward(x),
      () => msg.G.forward(z),
      () => msg.D.forward(x16),
      () => realsAt(x16, 1, 0.5),
    ];
    for (const pass of passes) {
      const before = memoryStats().liveTensors;
      const out = noGrad(pass);
      expect(memoryStats().liveTensors).toBe(before + 1);
      out.dispose();
    }
    for (const t of [z, x, x16, G, D, msg.G, msg.D]) t.dispose();
  });
});

// ------------------------------------------------------------------ MSG-GAN

describe('MSG-GAN', () => {
  it('G emits every scale, each equal to ProGAN’s G at that stage with the same weights', async () => {
    const { G } = buildMsggan(CFG, 3);
    const pro = new ProganGenerator(CFG);
    pro.loadStateDict(G.stateDict());
    const z = Tensor.randn([3, 8, 1, 1], { seed: 5 });
    const scales = G.forwardScales(z);
    expect(scales.map((t) => t.shape)).toEqual([
      [3, 3, 4, 4],
      [3, 3, 8, 8],
      [3, 3, 16, 16],
    ]);
    for (let s = 0; s <= 2; s++) {
      pro.setGrowth(s, 1);
      await same(scales[s]!, pro.forward(z));
    }
    await same(G.forward(z), scales[2]!);
    for (const t of [...scales, z, G, pro]) t.dispose();
  });

  for (const combine of ['lin', 'simple'] as const) {
    it(`D (${combine} combine): shapes, names, and forward and every gradient of a tiny one against a float64 model`, async () => {
      const D = new MsgDiscriminator({ zDim: 3, channels: 2, size: 8, width: 2, mbstdGroup: 2, combine });
      equalizedInit(D, 11);
      const names = [...D.stateDict().keys()];
      expect(names.filter((k) => k.startsWith('rgb_to_features')).length).toBe(combine === 'lin' ? 2 : 0);
      // C₀ = 4, C₁ = 2 (8 px, width 2); block 0 takes, + 1 stddev channel: lin, C₀/2 from block 1 and C₀/2 from the
      // 4×4 image's features; simple, C₀ from block 1 and the image's 2 channels
      expect(D.blocks.at(1).conv2.weight.shape).toEqual(combine === 'lin' ? [2, 2, 3, 3] : [4, 2, 3, 3]);
      expect(D.blocks.at(0).conv1.weight.shape).toEqual(
        combine === 'lin' ? [4, 2 + 2 + 1, 3, 3] : [4, 4 + 2 + 1, 3, 3],
      );
      await checkNet(
        D,
        [t64([4, 2, 4, 4], 12), t64([4, 2, 8, 8], 13)],
        (xs) => D.forwardScales(xs),
        (P, S, xs) => refMsgD(P, S, xs, 1, combine, 2),
        { inputGrads: true },
      );
      D.dispose();
    });
  }

  it('G: forward and every gradient of a tiny one (all scales) against a float64 model', async () => {
    const G = new MsgGenerator({ zDim: 3, channels: 2, size: 8, width: 2 });
    equalizedInit(G, 13);
    const flat = (ts: T64[]): T64 => ({
      d: Float64Array.from(ts.flatMap((t) => [...t.d])),
      s: [ts.reduce((n, t) => n + t.d.length, 0)],
    });
    await checkNet(
      G,
      [t64([2, 3, 1, 1], 14)],
      ([z]) => concat(G.forwardScales(z!).map((t) => t.reshape([-1]))),
      (P, S, [z]) => flat(refMsgG(P, S, z!, 1)),
    );
    G.dispose();
  });

  it('D of full images reads the average-pool pyramid; bad inputs are refused', async () => {
    const { D } = buildMsggan({ ...CFG, combine: 'simple' }, 4);
    const x = Tensor.randn([4, 3, 16, 16], { seed: 6 });
    const pyr = imagePyramid(x, 2);
    expect(pyr.map((t) => t.shape[2])).toEqual([4, 8, 16]);
    await same(D.forward(x), D.forwardScales(pyr));
    tidy(() => {
      expect(() => D.forwardScales(pyr.slice(1))).toThrow(
        'MsgDiscriminator(16px, combine simple): expected 3 scales (4×4 to 16×16), got 2',
      );
      expect(() => D.forwardScales([pyr[0]!, pyr[0]!, pyr[2]!])).toThrow(
        'MsgDiscriminator(16px, combine simple): scale 1 has shape [4, 3, 4, 4], expected [N, 3, 8, 8]',
      );
      expect(() => new MsgDiscriminator({ ...CFG, combine: 'sum' as never })).toThrow(
        'MSG-GAN: combine must be one of lin, simple, got "sum"',
      );
    });
    for (const t of [x, ...pyr.slice(0, 2), D]) t.dispose();
  });
});
