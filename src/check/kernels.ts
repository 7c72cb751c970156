/**
 * Every conv and matmul kernel version against the float64 references, on whatever adapter runs it: the check that
 * a GPU computes what lavapipe's test suite verified. (The tests run on lavapipe; the tuner on a GPU may pick any
 * version for any shape, and a benchmark compares no outputs.) Run by `npm run check-kernels` (bench/check-kernels.ts,
 * and first thing on a lent GPU machine: bench/device/run.sh) and by the kernel explorer's "Check every kernel" on the
 * page's own GPU. No Node: it runs in a browser too.
 *
 * For each layer (the lesson DCGAN's eight at batch 8, two VGG16 layers, two odd shapes) and each conv version
 * (CONV_VERSIONS, forced with setConvVersion): the output and the gradients of input, weight and bias against
 * src/reference/conv.ts; for each matmul shape and version (MATMUL_VERSIONS): the product against a float64 loop;
 * then the other kernels of a training step and a style iteration as the engine picks them (BatchNorm with its ReLU,
 * running statistics and gradients, pooling, the Gram matrix and its gradient, sums and maxima, Adam), each against its
 * reference in src/reference/. The error is src/reference/close.ts's, relative to the reference's own size (the
 * tests' measure); a version whose kernels did not run (read from the engine's launch hook) counts as failed too.
 * Prints a markdown table row by row (so a run cut short still shows what it checked). quick: two layers, one
 * product, two of the other kernels.
 */
import {
  initEngine,
  engine,
  Tensor,
  tidy,
  matmul,
  conv2d,
  convTranspose2d,
  batchNorm,
  maxPool2d,
  avgPool2d,
  shapeSize as size,
} from '../tensor/index.ts';
import { gram } from '../tensor/gram.ts';
import { sum, max } from '../tensor/reduction.ts';
import { Adam } from '../nn/optim.ts';
import * as refNorm from '../reference/norm.ts';
import * as refPool from '../reference/pool.ts';
import * as refGram from '../reference/gram.ts';
import * as refOptim from '../reference/optim.ts';
import { CONV_VERSIONS, setConvVersion, type ConvVersion, type ConvTranspose2dOptions } from '../tensor/conv.ts';
import { MATMUL_VERSIONS, setMatmulVersion, type MatmulVersion } from '../tensor/matmul.ts';
import {
  refConv2d,
  refConv2dGrads,
  refConvTranspose2d,
  refConvTranspose2dGrads,
  refOpts,
  type ConvShapes,
} from '../reference/conv.ts';
import { matmul as refMatmul, matmulGrads as refMatmulGrads } from '../reference/elementwise.ts';
import { relError as error } from '../reference/close.ts';
import { Rng } from '../data/dataset.ts';

/** The tolerance of the tests' layer checks (tests/conv-cases.ts), on both of closeError's measures. */
export const TOLERANCE = 1e-4;

type Shape4 = [number, number, number, number];
export interface LayerCheck {
  name: string;
  kind: 'conv' | 'convT';
  x: Shape4;
  /** conv: [Cout, Cin, kh, kw]; convT: [Cin, Cout, kh, kw] */
  w: Shape4;
  bias: boolean;
  opts: ConvTranspose2dOptions;
}
export interface ProductCheck {
  name: string;
  /** a: [batch, M, K] (or [M, K] when aBatch is false), b: [batch, K, N] */
  batch: number;
  M: number;
  K: number;
  N: number;
  aBatch: boolean;
}

const G = { stride: 2 };
const D = { stride: 2, padding: 1 };
export const LAYERS: LayerCheck[] = [
  {
    name: 'DCGAN G1 convT 100→256 k3 s2, batch 8',
    kind: 'convT',
    x: [8, 100, 1, 1],
    w: [100, 256, 3, 3],
    bias: false,
    opts: G,
  },
  {
    name: 'DCGAN G2 convT 256→128 k3 s2, batch 8',
    kind: 'convT',
    x: [8, 256, 3, 3],
    w: [256, 128, 3, 3],
    bias: false,
    opts: G,
  },
  {
    name: 'DCGAN G3 convT 128→64 k3 s2, batch 8',
    kind: 'convT',
    x: [8, 128, 7, 7],
    w: [128, 64, 3, 3],
    bias: false,
    opts: G,
  },
  {
    name: 'DCGAN G4 convT 64→1 k3 s2 p2 op1, batch 8',
    kind: 'convT',
    x: [8, 64, 15, 15],
    w: [64, 1, 3, 3],
    bias: true,
    opts: { stride: 2, padding: 2, outputPadding: 1 },
  },
  {
    name: 'DCGAN D1 conv 1→64 k4 s2 p1, batch 8',
    kind: 'conv',
    x: [8, 1, 28, 28],
    w: [64, 1, 4, 4],
    bias: true,
    opts: D,
  },
  {
    name: 'DCGAN D2 conv 64→128 k4 s2 p1, batch 8',
    kind: 'conv',
    x: [8, 64, 14, 14],
    w: [128, 64, 4, 4],
    bias: false,
    opts: D,
  },
  {
    name: 'DCGAN D3 conv 128→256 k4 s2 p1, batch 8',
    kind: 'conv',
    x: [8, 128, 7, 7],
    w: [256, 128, 4, 4],
    bias: false,
    opts: D,
  },
  { name: 'DCGAN D4 conv 256→1 k3, batch 8', kind: 'conv', x: [8, 256, 3, 3], w: [1, 256, 3, 3], bias: true, opts: {} },
  {
    name: 'VGG16 block1_conv1 3→64 k3 p1 at 32×32',
    kind: 'conv',
    x: [1, 3, 32, 32],
    w: [64, 3, 3, 3],
    bias: true,
    opts: { padding: 1 },
  },
  {
    name: 'VGG16 block2_conv1 64→128 k3 p1 at 16×16, batch 2',
    kind: 'conv',
    x: [2, 64, 16, 16],
    w: [128, 64, 3, 3],
    bias: true,
    opts: { padding: 1 },
  },
  {
    name: 'odd conv 5→70 k5 s3 d2 p3 at 23×19',
    kind: 'conv',
    x: [3, 5, 23, 19],
    w: [70, 5, 5, 5],
    bias: true,
    opts: { stride: 3, padding: 3, dilation: 2 },
  },
  {
    name: 'odd convT 70→9 k4 s3 p1 op2 at 6×5',
    kind: 'convT',
    x: [3, 70, 6, 5],
    w: [70, 9, 4, 4],
    bias: true,
    opts: { stride: 3, padding: 1, outputPadding: 2 },
  },
];
export const PRODUCTS: ProductCheck[] = [
  { name: '300×130 · 130×200', batch: 1, M: 300, K: 130, N: 200, aBatch: true },
  { name: 'a long k: 64×8192 · 8192×64', batch: 1, M: 64, K: 8192, N: 64, aBatch: true },
  { name: 'batched, A shared: 3 × (70×50 · 50×90)', batch: 3, M: 70, K: 50, N: 90, aBatch: false },
];
const QUICK_LAYERS = ['DCGAN D2', 'DCGAN G4'];

function randoms(n: number, seed: number, scale = 1): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: n }, () => scale * (2 * r.float() - 1));
}

/** The shaders a run of `fn` launched, and each with its tile sizes (the text substituted into it: TM=8, TILE_M=128). */
async function launched(
  fn: () => Promise<number[]>,
): Promise<{ errors: number[]; shaders: Set<string>; kernels: string }> {
  const shaders = new Set<string>();
  const labels = new Set<string>();
  engine().onLaunch = (k) => {
    shaders.add(k.shader);
    const subs = Object.entries(k.subs ?? {}).map(([n, v]) => `${n}=${v}`);
    labels.add(subs.length ? `${k.shader} ${subs.join(' ')}` : k.shader);
  };
  try {
    return { errors: await fn(), shaders, kernels: [...labels].sort().join(', ') };
  } finally {
    engine().onLaunch = null;
  }
}

/**
 * The launch a forced conv version shows when it ran as itself (a kernels-column label: shader and tile sizes). The
 * engine may run another on a shape where the version does not apply (tiled-128 on ≤ 64 channels, register-sg
 * without a fixed subgroup size of ≤ 16 lanes): that row says so, and passes on its numbers.
 */
const CONV_OWN: Record<ConvVersion, RegExp> = {
  naive: /\bconv2d(_weight_grad)?_naive\b/,
  register: /\bconv2d_(implicit_gemm|weight_grad) TM=16\b/,
  'register-sg': /\bconv2d_(implicit_gemm|weight_grad)_sg\b/,
  'register-tm8': /\bconv2d_(implicit_gemm|weight_grad) TM=8\b/,
  'register-tm32': /\bconv2d_(implicit_gemm|weight_grad) TM=32\b/,
  tiled: /_tiled TILE_M=(64|16) PER_M=4 VEC4=false/,
  'tiled-m16': /_tiled TILE_M=16 PER_M=4 VEC4=false/,
  'tiled-128': /_tiled TILE_M=128 PER_M=8 VEC4=false/,
  'tiled-vec4': /_tiled TILE_M=(64|16) PER_M=4 VEC4=true/,
  'tiled-128-vec4': /_tiled TILE_M=128 PER_M=8 VEC4=true/,
  // (a pass with tiles enough runs unsplit: no conv_split_sum, 'as other kernels')
  'tiled-splitk': /^(?=.*\bconv_split_sum\b)(?=.*_tiled TILE_M=(64|16) PER_M=4 VEC4=false)/,
  'tiled-vec4-splitk': /^(?=.*\bconv_split_sum\b)(?=.*_tiled TILE_M=(64|16) PER_M=4 VEC4=true)/,
};
/** The same for the matmul versions (a -splitk version launches its base kernel, split where the product allows). */
function matmulOwn(v: MatmulVersion): RegExp {
  const base = v.replace(/-splitk$/, '');
  if (base === 'naive') return /\bmatmul_naive\b/;
  if (base === 'register') return /(^|, )matmul(,|$)/;
  if (base === 'register-sg') return /\bmatmul_sg\b/;
  const tile = base.startsWith('tiled-128') ? 128 : 64;
  return base.includes('vec4')
    ? new RegExp(`\\bmatmul_tiled_vec4 TILE=${tile}\\b`)
    : new RegExp(`\\bmatmul_tiled TILE=${tile}\\b`);
}
/** A row's result: failed, or passed as its own kernels or as others (named in the kernels column). */
function verdict(ok: boolean, ran: boolean, own: boolean): string {
  if (!ran) return '**FAILED: its kernels did not run**';
  if (!ok) return '**FAILED**';
  return own ? 'ok' : 'ok, as other kernels here';
}

/** The gather or product shaders a forced conv version must launch (register-sg runs the plain kernel where the device has no fixed subgroup size). */
function convShadersOf(v: ConvVersion): string[] {
  if (v === 'naive') return ['conv2d_naive', 'conv2d_weight_grad_naive'];
  if (v.startsWith('tiled')) return ['conv2d_implicit_gemm_tiled', 'conv2d_weight_grad_tiled'];
  return ['conv2d_implicit_gemm', 'conv2d_implicit_gemm_sg', 'conv2d_weight_grad', 'conv2d_weight_grad_sg'];
}

/**
 * One layer's forward and backward on the GPU from the reference's inputs: the output's shape and values and the
 * gradients of input, weight and bias (db null without bias). The tests (tests/conv-cases.ts) run their layers
 * through it too.
 */
export async function runLayer(
  l: LayerCheck,
  ref: LayerReference,
): Promise<{ shape: number[]; y: Float32Array; dx: Float32Array; dw: Float32Array; db: Float32Array | null }> {
  const { x, w, b, dy } = ref.inputs;
  const X = Tensor.fromArray(Float32Array.from(x), l.x).requireGrad();
  const W = Tensor.fromArray(Float32Array.from(w), l.w).requireGrad();
  const outC = l.kind === 'conv' ? l.w[0] : l.w[1];
  const B = b ? Tensor.fromArray(Float32Array.from(b), [outC]).requireGrad() : null;
  try {
    const Y = tidy(() => {
      const y = l.kind === 'conv' ? conv2d(X, W, B, l.opts) : convTranspose2d(X, W, B, l.opts);
      y.backward(Tensor.fromArray(Float32Array.from(dy), y.shape));
      return y;
    });
    const shape = [...Y.shape];
    return {
      shape,
      y: await take(Y),
      dx: await X.grad!.toArray(),
      dw: await W.grad!.toArray(),
      db: B ? await B.grad!.toArray() : null,
    };
  } finally {
    for (const t of [X, W, B]) {
      t?.zeroGrad();
      t?.dispose();
    }
  }
}

/** One layer under one version: [output, dx, dw, db] errors (db NaN without bias). */
async function checkLayer(l: LayerCheck, ref: LayerReference): Promise<number[]> {
  const got = await runLayer(l, ref);
  return [error(got.y, ref.y), error(got.dx, ref.dx), error(got.dw, ref.dw), got.db ? error(got.db, ref.db) : NaN];
}

export interface LayerReference {
  inputs: { x: Float64Array; w: Float64Array; b: Float64Array | null; dy: Float64Array };
  y: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
}

/** A layer's random inputs (x, w and b, dy; seeds seed … seed + 3) and its float64 output and gradients. */
export function layerReference(l: LayerCheck, seed: number): LayerReference {
  const s: ConvShapes = { x: l.x, w: l.w };
  const o = refOpts(l.opts);
  const outC = l.kind === 'conv' ? l.w[0] : l.w[1];
  const x = randoms(size(l.x), seed);
  const w = randoms(size(l.w), seed + 1, 0.2);
  const b = l.bias ? randoms(outC, seed + 2) : null;
  const y = l.kind === 'conv' ? refConv2d(x, w, b, s, o) : refConvTranspose2d(x, w, b, s, o);
  const dy = randoms(y.length, seed + 3);
  const g = l.kind === 'conv' ? refConv2dGrads(x, w, dy, s, o) : refConvTranspose2dGrads(x, w, dy, s, o);
  return { inputs: { x, w, b, dy }, y, dx: g.dx, dw: g.dw, db: g.db };
}

const fmt = (e: number) => (Number.isNaN(e) ? '—' : e.toExponential(1));

/** The layers, products and other kernels a check runs (quick: two layers, one product, two others). */
function checkPlan(quick: boolean) {
  return {
    layers: quick ? LAYERS.filter((l) => QUICK_LAYERS.some((q) => l.name.startsWith(q))) : LAYERS,
    products: quick ? PRODUCTS.slice(0, 1) : PRODUCTS,
    others: quick ? OTHERS.slice(0, 2) : OTHERS,
  };
}

/** A transposed conv of a 1×1 input is one matrix product whichever conv version is forced: checked once. */
const viaProduct = (l: LayerCheck) => l.kind === 'convT' && l.x[2] === 1 && l.x[3] === 1;

/** How many result rows checkKernels prints (for a page's progress). */
export function checkRowCount(quick = false): number {
  const { layers, products, others } = checkPlan(quick);
  const layerRows = layers.reduce((n, l) => n + (viaProduct(l) ? 1 : CONV_VERSIONS.length), 0);
  return layerRows + products.length * MATMUL_VERSIONS.length + others.length;
}

/** Runs the checks; `print` gets each line of the table as it is made. Returns the number of failed rows. */
export async function checkKernels(
  opts: {
    quick?: boolean;
    print?: (line: string) => void;
    tolerance?: number;
    /** Asked before each row: true ends the check there (a page's Stop); the rows not run are neither passed nor failed. */
    stop?: () => boolean;
  } = {},
): Promise<number> {
  const print = opts.print ?? ((line: string) => console.log(line));
  const stop = opts.stop ?? (() => false);
  let stopped = false;
  const tolerance = opts.tolerance ?? TOLERANCE;
  // the engine as it is (the page's, or a new one): forced versions bypass the tuner, and the tune mode stays the caller's
  await initEngine();
  const a = engine().adapter;
  print(`# Kernel versions against float64 on ${a.description || a.vendor}`);
  print('');
  print(
    `Error: the larger of the norm-wise error and the worst element in units of the reference's RMS (src/reference/close.ts); a row fails above ${tolerance} or when the version's kernels did not run.`,
  );
  print('');
  print(
    '| problem | version | output | input gradient | weight gradient | bias gradient | kernels launched | result |',
  );
  print('|---|---|---|---|---|---|---|---|');
  let failed = 0;
  let others = 0; // rows that passed on another version's kernels (the engine's rule for that shape)
  const { layers, products, others: otherKernels } = checkPlan(opts.quick ?? false);
  try {
    for (const [i, l] of layers.entries()) {
      if ((stopped ||= stop())) break;
      const ref = layerReference(l, 100 * (i + 1));
      const product = viaProduct(l);
      for (const v of product ? (['register'] as const) : CONV_VERSIONS) {
        if ((stopped ||= stop())) break;
        setConvVersion(v);
        const { errors, shaders, kernels } = await launched(() => checkLayer(l, ref));
        const ran = product
          ? [...shaders].some((s) => s.startsWith('matmul'))
          : convShadersOf(v).some((s) => s.startsWith('conv') && shaders.has(s));
        const ok = ran && errors.every((e) => Number.isNaN(e) || e <= tolerance);
        if (!ok) failed++;
        const own = product || CONV_OWN[v].test(kernels);
        if (ok && !own) others++;
        print(
          `| ${l.name} | ${product ? 'any (a matrix product)' : v} | ${errors.map(fmt).join(' | ')} | ${kernels} | ${verdict(ok, ran, own)} |`,
        );
      }
    }
  } finally {
    setConvVersion(null);
  }
  if (!stopped) {
    print('');
    print('| product | version | C = A·B | dA = dC·Bᵀ | dB = Aᵀ·dC | kernels launched | result |');
    print('|---|---|---|---|---|---|---|');
  }
  try {
    for (const [i, p] of products.entries()) {
      if ((stopped ||= stop())) break;
      const av = randoms((p.aBatch ? p.batch : 1) * p.M * p.K, 7000 + 10 * i);
      const bv = randoms(p.batch * p.K * p.N, 7001 + 10 * i);
      const want = refMatmul(av, bv, p.batch, p.M, p.K, p.N, p.aBatch, true);
      // the backward's products read an operand transposed (TRANS_A, TRANS_B) and, for the shared A, sum the batch
      const dc = randoms(p.batch * p.M * p.N, 7002 + 10 * i);
      const { da: wantDA, db: wantDB } = refMatmulGrads(av, bv, dc, p.batch, p.M, p.K, p.N, p.aBatch);
      for (const v of MATMUL_VERSIONS) {
        if ((stopped ||= stop())) break;
        setMatmulVersion(v as MatmulVersion);
        const { errors, shaders, kernels } = await launched(async () => {
          const A = Tensor.fromArray(Float32Array.from(av), p.aBatch ? [p.batch, p.M, p.K] : [p.M, p.K]).requireGrad();
          const B = Tensor.fromArray(Float32Array.from(bv), [p.batch, p.K, p.N]).requireGrad();
          try {
            const C = tidy(() => {
              const c = matmul(A, B);
              c.backward(Tensor.fromArray(Float32Array.from(dc), c.shape));
              return c;
            });
            return [
              error(await take(C), want),
              error(await A.grad!.toArray(), wantDA),
              error(await B.grad!.toArray(), wantDB),
            ];
          } finally {
            for (const t of [A, B]) {
              t.zeroGrad();
              t.dispose();
            }
          }
        });
        const ran = [...shaders].some((s) => s.startsWith('matmul'));
        const ok = ran && errors.every((e) => e <= tolerance);
        if (!ok) failed++;
        const own = matmulOwn(v as MatmulVersion).test(kernels);
        if (ok && !own) others++;
        print(`| ${p.name} | ${v} | ${errors.map(fmt).join(' | ')} | ${kernels} | ${verdict(ok, ran, own)} |`);
      }
    }
  } finally {
    setMatmulVersion(null);
  }
  if (!stopped) {
    print('');
    print('| other kernel | what | error | kernels launched | result |');
    print('|---|---|---|---|---|');
  }
  for (const o of otherKernels) {
    if ((stopped ||= stop())) break;
    const { errors, kernels } = await launched(o.run);
    const ok = errors.every((e) => e <= tolerance);
    if (!ok) failed++;
    print(`| ${o.name} | ${o.what} | ${fmt(Math.max(...errors))} | ${kernels} | ${ok ? 'ok' : '**FAILED**'} |`);
  }
  print('');
  if (others) print(`${others} row(s) passed on other kernels than their version's (the engine's rule for the shape)`);
  if (stopped) print('stopped before the end: the rows not shown were not checked');
  print(
    failed
      ? `${failed} check(s) FAILED`
      : stopped
        ? 'every row checked agrees with float64'
        : 'every version agrees with float64',
  );
  return failed;
}

/** Reads a tensor and disposes it. */
async function take(t: Tensor): Promise<Float32Array> {
  try {
    return await t.toArray();
  } finally {
    t.dispose();
  }
}

/**
 * The other kernels of a training step and a style iteration, each as the engine picks it here, against its float64
 * reference: errors of each output (the row shows the largest).
 */
const OTHERS: { name: string; what: string; run: () => Promise<number[]> }[] = [
  {
    name: 'batchNorm + ReLU, training',
    what: 'x [16, 64, 12, 12] with γ, β: output, running statistics, gradients of x, γ and β',
    run: async () => {
      const shape = [16, 64, 12, 12];
      const [x, g, b] = [randoms(size(shape), 1, 3), randoms(64, 2), randoms(64, 3)];
      const [rm, rv] = [randoms(64, 4), randoms(64, 5).map((v) => 1 + Math.abs(v))];
      const dOut = randoms(size(shape), 6);
      const want = refNorm.batchNorm(x, shape, g, b, rm, rv, true);
      // the ReLU's derivative folded into dy: 0 where the pre-activation is ≤ 0 (torch: ReLU′(0) = 0)
      const wantGrad = refNorm.batchNormBackward(
        x,
        shape,
        g,
        dOut.map((d, i) => (want.y[i]! > 0 ? d : 0)),
      );
      const T = (v: Float64Array, s: number[]) => Tensor.fromArray(Float32Array.from(v), s);
      const [X, G, B, RM, RV] = [T(x, shape), T(g, [64]), T(b, [64]), T(rm, [64]), T(rv, [64])];
      for (const t of [X, G, B]) t.requireGrad();
      try {
        const Y = tidy(() => {
          const y = batchNorm(X, G, B, RM, RV, { training: true, activation: { kind: 'relu' } });
          y.backward(T(dOut, shape));
          return y;
        });
        return [
          error(
            await take(Y),
            want.y.map((v) => Math.max(v, 0)),
          ),
          error(await RM.toArray(), want.runningMean),
          error(await RV.toArray(), want.runningVar),
          error(await X.grad!.toArray(), wantGrad.dx),
          error(await G.grad!.toArray(), wantGrad.dgamma),
          error(await B.grad!.toArray(), wantGrad.dbeta),
        ];
      } finally {
        for (const t of [X, G, B, RM, RV]) {
          t.zeroGrad();
          t.dispose();
        }
      }
    },
  },
  {
    name: 'max and average pooling',
    what: '[4, 32, 17, 17]: max 2×2 s2, average 3×3 s2 p1',
    run: async () => {
      const shape = [4, 32, 17, 17];
      const x = randoms(size(shape), 11);
      const X = Tensor.fromArray(Float32Array.from(x), shape);
      try {
        const mx = await take(maxPool2d(X, { kernelSize: 2 }));
        const av = await take(avgPool2d(X, { kernelSize: 3, stride: 2, padding: 1 }));
        return [
          error(mx, refPool.maxPool2d(x, shape, { k: [2, 2], s: [2, 2], p: [0, 0] }).y),
          error(av, refPool.avgPool2d(x, shape, { k: [3, 3], s: [2, 2], p: [1, 1] })),
        ];
      } finally {
        X.dispose();
      }
    },
  },
  {
    name: 'Gram matrix',
    what: 'f [2, 64, 24, 24], normalised by C·H·W: forward and gradient',
    run: async () => {
      const shape = [2, 64, 24, 24];
      const f = randoms(size(shape), 21);
      const dG = randoms(2 * 64 * 64, 22);
      const F = Tensor.fromArray(Float32Array.from(f), shape).requireGrad();
      try {
        const G = tidy(() => {
          const g = gram(F, { normalize: 'chw' });
          g.backward(Tensor.fromArray(Float32Array.from(dG), g.shape));
          return g;
        });
        return [
          error(await take(G), refGram.gram(f, shape, 'chw')),
          error(await F.grad!.toArray(), refGram.gramGrad(f, shape, dG, 'chw')),
        ];
      } finally {
        F.zeroGrad();
        F.dispose();
      }
    },
  },
  {
    name: 'sum and max over an axis',
    what: '[37, 5000] over its rows, [5000, 37] over its columns',
    run: async () => {
      const x = randoms(37 * 5000, 31);
      const X = Tensor.fromArray(Float32Array.from(x), [37, 5000]);
      const Y = Tensor.fromArray(Float32Array.from(x), [5000, 37]);
      const rows = (n: number, m: number, f: (a: number, b: number) => number, init: number) =>
        Float64Array.from({ length: n }, (_, i) => x.subarray(i * m, (i + 1) * m).reduce(f, init));
      const cols = Float64Array.from({ length: 37 }, (_, j) => {
        let s = 0;
        for (let i = 0; i < 5000; i++) s += x[i * 37 + j]!;
        return s;
      });
      try {
        return [
          error(
            await take(sum(X, 1)),
            rows(37, 5000, (a, b) => a + b, 0),
          ),
          error(
            await take(max(X, 1)),
            rows(37, 5000, (a, b) => Math.max(a, b), -Infinity),
          ),
          error(await take(sum(Y, 0)), cols),
        ];
      } finally {
        X.dispose();
        Y.dispose();
      }
    },
  },
  {
    name: 'Adam',
    what: 'two steps of three parameters (100,000, 4,097 and 3 values)',
    run: async () => {
      const sizes = [100_000, 4097, 3];
      const init = sizes.map((n, k) => randoms(n, 41 + k));
      const refs = init.map((v) => refOptim.adamState(v));
      const hp = { lr: 0.01, betas: [0.9, 0.999] as const, eps: 1e-8 };
      const params = init.map((v) => Tensor.fromArray(Float32Array.from(v), [v.length]).requireGrad());
      const opt = new Adam(params, { lr: hp.lr, betas: [...hp.betas], eps: hp.eps });
      try {
        for (let step = 0; step < 2; step++) {
          const grads = sizes.map((n, k) => randoms(n, 50 + 10 * step + k));
          params.forEach((p, k) => (p.grad = Tensor.fromArray(Float32Array.from(grads[k]!), p.shape).keep()));
          opt.step();
          opt.zeroGrad();
          refs.forEach((r, k) => refOptim.adamStep(r, grads[k]!, hp));
        }
        return await Promise.all(params.map(async (p, k) => error(await p.toArray(), refs[k]!.p)));
      } finally {
        opt.dispose();
        for (const p of params) p.dispose();
      }
    },
  },
];
