/**
 * The workgroup-tiled conv kernels (conv2d_implicit_gemm_tiled.wgsl, conv2d_weight_grad_tiled.wgsl), forced with
 * setConvVersion('tiled'): the same float64-reference and finite-difference checks as the register kernels in
 * conv.test.ts, a few shapes aimed at the tiled kernels' edges, and agreement with the register kernels. Which
 * kernels actually ran is read from the engine's launch hook (engine().onLaunch), so a forced version that did not
 * reach the launches fails here; nothing assumes the adapter is a CPU one.
 */
import { describe, it, expect, beforeEach, afterEach, onTestFinished } from 'vitest';
import { Tensor, tidy, engine } from '../src/tensor/index.ts';
import {
  conv2d,
  convTranspose2d,
  convTiles,
  convVersion,
  defaultConvVersion,
  setConvVersion,
  CONV_VERSIONS,
  type ConvVersion,
  setWideTileRoute,
} from '../src/tensor/conv.ts';
import { useEngine, randomArray, expectClose, size } from './helpers.ts';
import {
  CONV_CASES,
  CONVT_CASES,
  LESSON_LAYERS,
  checkLayer,
  checkLesson,
  runCase,
  refOpts,
  type LayerCase,
} from './conv-cases.ts';
import { probeSubgroupSize } from '../src/tensor/gpu.ts';
import { refConv2d, refConv2dGrads, refConvTranspose2d, refConvTranspose2dGrads } from '../src/reference/conv.ts';

useEngine();

beforeEach(() => setConvVersion('tiled'));
afterEach(() => setConvVersion(null));

describe('tiled conv2d: forward vs float64 reference, gradients vs finite differences', () => {
  for (const c of CONV_CASES) it(c.name, () => runCase(c, false));
  it('k3 s1 p1 dilation 3 (taps reach past both edges)', () =>
    runCase({ name: '', x: [1, 2, 6, 5], w: [3, 2, 3, 3], bias: true, opts: { padding: 1, dilation: 3 } }, false));
});

describe('tiled convTranspose2d: forward vs float64 reference, gradients vs finite differences', () => {
  for (const c of CONVT_CASES) it(c.name, () => runCase(c, true));
  // Stride 3, dilation 2: a phase's taps are every third one (step s/gcd(s,d) = 3), starting at 0, 1 or 2.
  it('k5 s3 d2 p1 (taps of a phase every third)', () =>
    runCase(
      { name: '', x: [1, 2, 3, 3], w: [2, 3, 5, 5], bias: true, opts: { stride: 3, padding: 1, dilation: 2 } },
      true,
    ));
  // Stride 4, kernel 2: half the phases get no tap at all and hold only the bias.
  it('k2 s4 (phases without taps)', () =>
    runCase({ name: '', x: [2, 3, 2, 3], w: [3, 2, 2, 2], bias: true, opts: { stride: 4, outputPadding: 1 } }, true));
});

// Edges of the tiled kernels: channel blocks of 64 with a partial last one, several pixel tiles with a partial
// last one, reductions of several 16-step slabs with a partial last one, and a split-K weight gradient.
const TILED_LAYERS: LayerCase[] = [
  {
    name: 'conv 5→24 3x3 p1 at 20x20, batch 4 (split-K weight gradient, 2 channel tiles)',
    kind: 'conv',
    x: [4, 5, 20, 20],
    w: [24, 5, 3, 3],
    bias: true,
    opts: { padding: 1 },
    out: [4, 24, 20, 20],
  },
  {
    name: 'conv 7→70 k3 s2 at 9x11, batch 1 (partial channel block of 64)',
    kind: 'conv',
    x: [1, 7, 9, 11],
    w: [70, 7, 3, 3],
    bias: true,
    opts: { stride: 2 },
    out: [1, 70, 4, 5],
  },
  {
    name: 'convT 33→65 k4 s2 p1 at 5x6 (odd channels, 4 phases)',
    kind: 'convT',
    x: [1, 33, 5, 6],
    w: [33, 65, 4, 4],
    bias: true,
    opts: { stride: 2, padding: 1 },
    out: [1, 65, 10, 12],
  },
];

describe('tiled kernels: lesson layer shapes (batch 2) and tile edges, forward and gradients vs the reference', () => {
  for (const l of [...LESSON_LAYERS, ...TILED_LAYERS]) it(l.name, () => checkLesson(l));

  it('grids split into many launches (tileOffset, mBlockOffset, chunkOffset)', async () => {
    const defaults = { ...convTiles };
    convTiles.lavapipeFlopsPerDispatch = 3e4; // on lavapipe
    convTiles.flopsPerDispatch = 3e4; // on another CPU adapter
    convTiles.gpuFlopsPerDispatch = 3e4; // on a GPU
    try {
      await checkLayer('conv', [2, 21, 16, 16], [70, 21, 3, 3], true, { padding: 1 }, [2, 70, 16, 16]);
      await checkLayer('convT', [2, 18, 8, 8], [18, 13, 4, 4], true, { stride: 2, padding: 1 }, [2, 13, 16, 16]);
    } finally {
      Object.assign(convTiles, defaults);
    }
  });
});

describe('tiled-128 and the vec4 tiles at the tile edges, forward and gradients vs the reference', () => {
  // 70 and 65 output rows: one 128-row block with 58 (63) rows past the end in the tiled-128 versions; 130: two
  // blocks, the second holding 2 rows; 3: a 16-row tile (4 invocations along rows). Row counts that are not
  // multiples of 4 leave a partial vec4 group, which needs no handling of its own: rows past the end are read (as a
  // valid channel) and never written.
  const layers: LayerCase[] = [
    ...TILED_LAYERS,
    {
      name: 'conv 6→130 k3 p1 at 6x5, batch 2 (two 128-row blocks)',
      kind: 'conv',
      x: [2, 6, 6, 5],
      w: [130, 6, 3, 3],
      bias: true,
      opts: { padding: 1 },
      out: [2, 130, 6, 5],
    },
    {
      name: 'conv 5→3 k3 p1 at 7x6, batch 2 (16-row tiles)',
      kind: 'conv',
      x: [2, 5, 7, 6],
      w: [3, 5, 3, 3],
      bias: true,
      opts: { padding: 1 },
      out: [2, 3, 7, 6],
    },
  ];
  for (const v of ['tiled-128', 'tiled-vec4', 'tiled-128-vec4', 'tiled-splitk', 'tiled-vec4-splitk'] as const)
    for (const l of layers)
      it(`${v}: ${l.name}`, async () => {
        setConvVersion(v);
        const tiles = new Set<string>();
        engine().onLaunch = (k) => {
          if (k.shader.endsWith('_tiled'))
            tiles.add(`${k.shader} ${k.subs?.TILE_M}${k.subs?.VEC4 === 'true' ? ' VEC4' : ''}`);
        };
        onTestFinished(() => void (engine().onLaunch = null));
        await checkLesson(l);
        const vec = v.includes('vec4') ? ' VEC4' : '';
        const wide = v.startsWith('tiled-128') && l.w[0] > 64 ? 128 : l.w[0] <= 16 ? 16 : 64;
        expect(tiles).toContain(`conv2d_weight_grad_tiled ${wide}${vec}`);
      });

  it('tiled-128-vec4: grids split into many launches', async () => {
    setConvVersion('tiled-128-vec4');
    const defaults = { ...convTiles };
    convTiles.lavapipeFlopsPerDispatch = 3e4;
    convTiles.flopsPerDispatch = 3e4;
    convTiles.gpuFlopsPerDispatch = 3e4;
    try {
      await checkLayer('conv', [2, 21, 16, 16], [70, 21, 3, 3], true, { padding: 1 }, [2, 70, 16, 16]);
      await checkLayer('convT', [2, 18, 8, 8], [18, 130, 4, 4], true, { stride: 2, padding: 1 }, [2, 130, 16, 16]);
      // 130 rows of the weight gradient: its two 128-row blocks in separate launches (mBlockOffset)
      await checkLayer('conv', [2, 6, 9, 9], [130, 6, 3, 3], true, { padding: 1 }, [2, 130, 9, 9]);
    } finally {
      Object.assign(convTiles, defaults);
    }
  });
});

/** The version-specific conv kernels a layer's forward and backward launch: the gather (implicit GEMM) kernel both
 * ways round (forward and input gradient; TRANSPOSED tells which) and the weight-gradient kernel, with their channel
 * tile (TM of the register kernels, TILE_M of the tiled ones) for a layer whose passes have ≥ 32 output rows. */
const EXPECTED_KERNELS: Record<Exclude<ConvVersion, 'register-sg'>, string[]> = {
  // v1: one output value per invocation, no tile (the forward and transposed gathers are two entry points)
  naive: ['conv2d_naive:forward', 'conv2d_naive:input_grad', 'conv2d_weight_grad_naive'],
  register: [
    'conv2d_implicit_gemm TM=16 TRANSPOSED=false',
    'conv2d_implicit_gemm TM=16 TRANSPOSED=true',
    'conv2d_weight_grad TM=16',
  ],
  'register-tm8': [
    'conv2d_implicit_gemm TM=8 TRANSPOSED=false',
    'conv2d_implicit_gemm TM=8 TRANSPOSED=true',
    'conv2d_weight_grad TM=8',
  ],
  'register-tm32': [
    'conv2d_implicit_gemm TM=32 TRANSPOSED=false',
    'conv2d_implicit_gemm TM=32 TRANSPOSED=true',
    'conv2d_weight_grad TM=32',
  ],
  tiled: [
    'conv2d_implicit_gemm_tiled TM=64 TRANSPOSED=false',
    'conv2d_implicit_gemm_tiled TM=64 TRANSPOSED=true',
    'conv2d_weight_grad_tiled TM=64',
  ],
  'tiled-m16': [
    'conv2d_implicit_gemm_tiled TM=16 TRANSPOSED=false',
    'conv2d_implicit_gemm_tiled TM=16 TRANSPOSED=true',
    'conv2d_weight_grad_tiled TM=16',
  ],
  // 128 channels per workgroup where a pass has more than 64 output rows (see expectedKernels)
  'tiled-128': [
    'conv2d_implicit_gemm_tiled TM=64 TRANSPOSED=false',
    'conv2d_implicit_gemm_tiled TM=64 TRANSPOSED=true',
    'conv2d_weight_grad_tiled TM=64',
  ],
  // every pass reads its tiles as vec4s
  'tiled-vec4': [
    'conv2d_implicit_gemm_tiled TM=64 VEC4 TRANSPOSED=false',
    'conv2d_implicit_gemm_tiled TM=64 VEC4 TRANSPOSED=true',
    'conv2d_weight_grad_tiled TM=64 VEC4',
  ],
  'tiled-128-vec4': [
    'conv2d_implicit_gemm_tiled TM=64 VEC4 TRANSPOSED=false',
    'conv2d_implicit_gemm_tiled TM=64 VEC4 TRANSPOSED=true',
    'conv2d_weight_grad_tiled TM=64 VEC4',
  ],
  // the gathers' reduction split into chunks (every gather of the layers below has a few tiles and a long reduction;
  // see gatherChunks), then summed by conv_split_sum; the weight gradient always splits, as in 'tiled'
  'tiled-splitk': [
    'conv2d_implicit_gemm_tiled TM=64 SPLIT TRANSPOSED=false',
    'conv2d_implicit_gemm_tiled TM=64 SPLIT TRANSPOSED=true',
    'conv2d_weight_grad_tiled TM=64',
  ],
  'tiled-vec4-splitk': [
    'conv2d_implicit_gemm_tiled TM=64 VEC4 SPLIT TRANSPOSED=false',
    'conv2d_implicit_gemm_tiled TM=64 VEC4 SPLIT TRANSPOSED=true',
    'conv2d_weight_grad_tiled TM=64 VEC4',
  ],
};

/**
 * EXPECTED_KERNELS for a layer: with 'tiled-128(-vec4)', a pass with more than 64 output rows has TM=128 (the gathers'
 * output channels; the weight gradient's rows are w[0] for a conv and a transposed conv alike).
 */
function expectedKernels(v: ConvVersion, l: LayerCase): string[] {
  if (v === 'register-sg') return sgKernels();
  if (v !== 'tiled-128' && v !== 'tiled-128-vec4') return [...EXPECTED_KERNELS[v]].sort();
  const vec = v === 'tiled-128-vec4' ? ' VEC4' : '';
  // The conv's forward gathers into w[0] channels (not transposed) and its input gradient into w[1] (transposed);
  // a transposed conv the other way round.
  const [forwardC, inputGradC] = l.kind === 'conv' ? [l.w[0], l.w[1]] : [l.w[1], l.w[0]];
  const forwardT = l.kind !== 'conv';
  const tm = (C: number) => (C > 64 ? 128 : 64);
  const gather = (C: number, t: boolean) => `conv2d_implicit_gemm_tiled TM=${tm(C)}${vec} TRANSPOSED=${t}`;
  const wgrad = `conv2d_weight_grad_tiled TM=${tm(l.w[0])}${vec}`;
  return [gather(forwardC, forwardT), gather(inputGradC, !forwardT), wgrad].sort();
}

/** Whether this device runs 'register-sg' as the *_sg kernels: a fixed subgroup size, a power of two of 2–16 lanes. */
function sharesLoads(): boolean {
  const sg = engine().adapter.subgroupSize;
  return sg !== null && sg >= 2 && sg <= 16 && (sg & (sg - 1)) === 0;
}

/**
 * 'register-sg': the *_sg kernels with the device's subgroup size (8 on lavapipe), else the plain register ones. The
 * subgroup gather's channel tile is 32 on lavapipe with 8-lane subgroups (convTiles.gatherSgTM, the wide tile forced where
 * these tests use sgKernels), 16 elsewhere; its weight gradient's 16.
 */
function sgKernels(): string[] {
  const sg = engine().adapter.subgroupSize;
  if (!sharesLoads()) return [...EXPECTED_KERNELS.register].sort();
  const gatherTM = engine().adapter.slug === 'lavapipe' && sg === 8 ? 32 : 16;
  return [
    `conv2d_implicit_gemm_sg TM=${gatherTM} SG=${sg} TRANSPOSED=false`,
    `conv2d_implicit_gemm_sg TM=${gatherTM} SG=${sg} TRANSPOSED=true`,
    `conv2d_weight_grad_sg TM=16 SG=${sg}`,
  ].sort();
}

/** Output and gradients of one layer under the given kernel version, and the conv2d_* kernels it launched. */
async function runVersion(
  version: ConvVersion,
  l: LayerCase,
  seed: number,
): Promise<{ values: Float32Array[]; kernels: string[]; lanes: string[] }> {
  setConvVersion(version);
  const outC = l.kind === 'conv' ? l.w[0] : l.w[1];
  const X = Tensor.fromArray(Float32Array.from(randomArray(size(l.x), seed)), l.x).requireGrad();
  const W = Tensor.fromArray(Float32Array.from(randomArray(size(l.w), seed + 1, -0.2, 0.2)), l.w).requireGrad();
  const B = Tensor.fromArray(Float32Array.from(randomArray(outC, seed + 2)), [outC]).requireGrad();
  const kernels = new Set<string>();
  const lanes = new Set<string>(); // lane groups and columns per lane of the register weight-gradient launches
  engine().onLaunch = (k) => {
    if (!k.shader.startsWith('conv2d_')) return;
    if (k.subs?.CL) lanes.add(`CL=${k.subs.CL} TC=${k.subs.TC}`);
    const t = k.constants?.TRANSPOSED;
    const TM = k.subs?.TM ?? k.subs?.TILE_M;
    const parts = [k.shader + (k.entry ? `:${k.entry}` : '')];
    if (TM) parts.push(`TM=${TM}${k.subs?.SG ? ` SG=${k.subs.SG}` : ''}` + (k.subs?.VEC4 === 'true' ? ' VEC4' : ''));
    if (k.constants?.SPLIT) parts.push('SPLIT');
    if (t !== undefined) parts.push(`TRANSPOSED=${t}`);
    kernels.add(parts.join(' '));
  };
  let Y: Tensor;
  try {
    Y = tidy(() => {
      const y = l.kind === 'conv' ? conv2d(X, W, B, l.opts) : convTranspose2d(X, W, B, l.opts);
      y.backward(Tensor.fromArray(Float32Array.from(randomArray(size(y.shape), seed + 3)), y.shape));
      return y;
    });
  } finally {
    engine().onLaunch = null;
  }
  const values = [await Y.toArray(), await X.grad!.toArray(), await W.grad!.toArray(), await B.grad!.toArray()];
  for (const t of [X, W, B, Y]) {
    t.zeroGrad();
    t.dispose();
  }
  return { values, kernels: [...kernels].sort(), lanes: [...lanes] };
}

/** The float64 reference of runVersion's output and gradients (same seeded inputs). */
function referenceOf(l: LayerCase, seed: number): Float64Array[] {
  const outC = l.kind === 'conv' ? l.w[0] : l.w[1];
  const x = randomArray(size(l.x), seed),
    w = randomArray(size(l.w), seed + 1, -0.2, 0.2),
    b = randomArray(outC, seed + 2);
  const dy = randomArray(size(l.out), seed + 3);
  const s = { x: l.x, w: l.w },
    o = refOpts(l.opts);
  const y = l.kind === 'conv' ? refConv2d(x, w, b, s, o) : refConvTranspose2d(x, w, b, s, o);
  const g = l.kind === 'conv' ? refConv2dGrads(x, w, dy, s, o) : refConvTranspose2dGrads(x, w, dy, s, o);
  return [y, g.dx, g.dw, g.db];
}

describe('each forced version runs its own kernels and tiles; every version agrees with float64 and with the register kernels (forward, dX, dW, db)', () => {
  // Every pass of these layers has ≥ 32 output rows (channels of y, of dX and of dW), so each version's tile shows.
  const layers: LayerCase[] = [
    LESSON_LAYERS.find((l) => l.name.startsWith('DCGAN D2'))!,
    {
      name: 'convT 40→33 k4 s2 p1 at 5x6 (odd channels, two channel tiles of 32)',
      kind: 'convT',
      x: [2, 40, 5, 6],
      w: [40, 33, 4, 4],
      bias: true,
      opts: { stride: 2, padding: 1 },
      out: [2, 33, 10, 12],
    },
    {
      name: 'conv 35→37 k3 s2 p1 d2 at 13x10, batch 3',
      kind: 'conv',
      x: [3, 35, 13, 10],
      w: [37, 35, 3, 3],
      bias: true,
      opts: { stride: 2, padding: 1, dilation: 2 },
      out: [3, 37, 6, 4],
    },
  ];
  layers.forEach((l, i) => {
    it(l.name, async () => {
      const seed = 100 + 10 * i;
      const ref = referenceOf(l, seed);
      const register = await runVersion('register', l, seed);
      // register-sg with its 32-channel tile wherever it applies (on lavapipe), whatever the cost model would pick
      // for these small layers (tests/conv.test.ts tests that choice)
      setWideTileRoute('wide');
      onTestFinished(() => setWideTileRoute('auto'));
      for (const v of CONV_VERSIONS) {
        const r = v === 'register' ? register : await runVersion(v, l, seed);
        expect(r.kernels, v).toEqual(expectedKernels(v, l));
        expect(r.values[0]!.length).toBe(size(l.out));
        r.values.forEach((t, k) => {
          expect(t.some((x) => x !== 0)).toBe(true);
          expectClose(t, ref[k]!, 1e-5, `${v}, output ${k}`);
          expectClose(t, register.values[k]!, 1e-5, `${v} vs register, output ${k}`);
        });
      }
    });
  });
});

describe('register-sg: the loads split across a subgroup change nothing but the loads', () => {
  // The same sums in the same order as the register kernels, so the same bits (forward, dX, dW, db). The second
  // layer has fewer rows than a lavapipe subgroup has lanes in two passes (3 output channels: TM = 4 < 8).
  const layers: LayerCase[] = [
    LESSON_LAYERS.find((l) => l.name.startsWith('DCGAN D2'))!,
    {
      name: 'conv 5→3 k3 p1 at 7x6, batch 2',
      kind: 'conv',
      x: [2, 5, 7, 6],
      w: [3, 5, 3, 3],
      bias: true,
      opts: { padding: 1 },
      out: [2, 3, 7, 6],
    },
  ];
  layers.forEach((l, i) =>
    it(`${l.name}: the same bits as register, from the kernels of this device`, async () => {
      const register = await runVersion('register', l, 300 + i);
      const shared = await runVersion('register-sg', l, 300 + i);
      expect(
        shared.kernels.every((k) => k.includes('_sg ')),
        shared.kernels.join(', '),
      ).toBe(sharesLoads());
      shared.values.forEach((v, k) => expect(Array.from(v), `output ${k}`).toEqual(Array.from(register.values[k]!)));
    }),
  );
});

describe('register weight gradient: layers with fewer than 64 columns split the lanes into groups over the pixels', () => {
  // D1 (1 channel × 16 taps) and G4 (1 × 9) would leave most of a workgroup's 64 lanes idle; their lanes form groups
  // that sum different chunks of pixels: 8 lanes × 2 columns where subgroups have at most 8 lanes, whole subgroups of
  // 16 × 1 column where they have 16. D2 (64 × 16 columns) keeps one group of 64. Both versions cut the same chunks.
  const narrow = () => ((engine().adapter.subgroupSize ?? 1) > 8 && sharesLoads() ? 'CL=16 TC=1' : 'CL=8 TC=2');
  const cases: [string, () => (lanes: string) => boolean][] = [
    ['DCGAN D1', () => (g) => g === narrow()],
    ['DCGAN G4', () => (g) => g === narrow()],
    ['DCGAN D2', () => (g) => g.startsWith('CL=64 ')],
  ];
  for (const version of ['register', 'register-sg'] as const)
    cases.forEach(([prefix, expected], i) => {
      const l = LESSON_LAYERS.find((c) => c.name.startsWith(prefix))!;
      it(`${version}, ${l.name}: lane groups as expected, values as float64`, async () => {
        const r = await runVersion(version, l, 500 + i);
        expect(r.lanes.length, r.kernels.join(', ')).toBe(1);
        expect(expected()(r.lanes[0]!), r.lanes[0]).toBe(true);
        const ref = referenceOf(l, 500 + i);
        r.values.forEach((t, k) => expectClose(t, ref[k]!, 1e-5, `output ${k}`));
      });
    });
});

describe('probeSubgroupSize: the subgroup size the _sg kernels rely on, checked on the device', () => {
  it('confirms the size this device runs and refuses any other', async () => {
    const { device, adapter } = engine();
    const size = adapter.subgroupSize;
    if (size === null) {
      // Without the feature no pipeline that uses subgroups exists, so nothing is confirmed. With it, the adapter
      // reported no fixed size or the probe refused the one it reported: either way no kernel may share loads across
      // subgroups, so register-sg runs the plain kernels.
      if (!device.features.has('subgroups')) expect(await probeSubgroupSize(device, 8)).toBeNull();
      const small: LayerCase = {
        name: 'conv 5→3',
        kind: 'conv',
        x: [2, 5, 7, 6],
        w: [3, 5, 3, 3],
        bias: true,
        opts: { padding: 1 },
        out: [2, 3, 7, 6],
      };
      const { kernels } = await runVersion('register-sg', small, 7);
      expect(kernels.length).toBeGreaterThan(0);
      expect(
        kernels.filter((k) => k.includes('_sg')),
        kernels.join(', '),
      ).toEqual([]);
      return;
    }
    expect(await probeSubgroupSize(device, size)).toBe(size);
    expect(await probeSubgroupSize(device, size * 2)).toBeNull();
    if (size > 1) expect(await probeSubgroupSize(device, size / 2)).toBeNull();
  });
});

describe('conv version selection', () => {
  it('untuned, the default runs: register tiles on a CPU adapter (loads shared in subgroups where it has them), workgroup tiles on a GPU; forcing overrides it', async () => {
    setConvVersion(null);
    expect(defaultConvVersion()).toBe(engine().adapter.isCPU ? (sharesLoads() ? 'register-sg' : 'register') : 'tiled');
    const l = LESSON_LAYERS.find((c) => c.name.startsWith('DCGAN D2'))!;
    const shaders = async (): Promise<string[]> => {
      const kernels = new Set<string>();
      engine().onLaunch = (k) => {
        if (k.shader.startsWith('conv2d_')) kernels.add(k.shader);
      };
      try {
        const y = tidy(() => conv2d(Tensor.zeros(l.x), Tensor.zeros(l.w), null, l.opts));
        await y.toArray();
        y.dispose();
      } finally {
        engine().onLaunch = null;
      }
      return [...kernels];
    };
    const { setTuneMode } = await import('../src/tensor/autotune.ts');
    setTuneMode('off');
    try {
      expect(convVersion()).toBe(defaultConvVersion());
      expect(await shaders()).toEqual([
        { tiled: 'conv2d_implicit_gemm_tiled', 'register-sg': 'conv2d_implicit_gemm_sg' }[
          defaultConvVersion() as string
        ] ?? 'conv2d_implicit_gemm',
      ]);
      setConvVersion('tiled-m16');
      expect(convVersion()).toBe('tiled-m16');
      expect(await shaders()).toEqual(['conv2d_implicit_gemm_tiled']);
      setConvVersion('register-tm8');
      expect(await shaders()).toEqual(['conv2d_implicit_gemm']);
      expect(() => setConvVersion('fast' as ConvVersion)).toThrow(
        'setConvVersion: unknown version "fast" (expected one of naive, register, register-sg, register-tm8, register-tm32, tiled, tiled-m16, tiled-128, tiled-vec4, tiled-128-vec4, tiled-splitk, tiled-vec4-splitk)',
      );
    } finally {
      setConvVersion(null);
      setTuneMode('auto');
    }
  });
});
