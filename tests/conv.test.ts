import { describe, it, expect } from 'vitest';
import { Tensor, tidy, engine } from '../src/tensor/index.ts';
import { kernelLabel } from '../src/tensor/engine.ts';
import {
  conv2d,
  convTranspose2d,
  conv2dWeightGrad,
  conv2dOutputSize,
  convTranspose2dOutputSize,
  convTiles,
  convWork,
  setConvVersion,
  setWgradRoute,
  setTransposedRoute,
  setWideTileRoute,
  transposedWork,
  defaultConvVersion,
  type ConvGeometry,
} from '../src/tensor/conv.ts';
import { convForwardFlops, convGradInputFlops, convGradWeightFlops, type ConvLayerShape } from '../bench/harness.ts';
import { useEngine, randomArray, expectClose, size } from './helpers.ts';
import {
  refConv2d,
  refConvTranspose2d,
  refConv2dGrads,
  refConvTranspose2dGrads,
  refConv2dOutShape,
  refConvT2dOutShape,
  type ConvRefOpts,
  type ConvShapes,
} from '../src/reference/conv.ts';
import { CONV_CASES, CONVT_CASES, LESSON_LAYERS, checkLayer, checkLesson, runCase, type Shape4 } from './conv-cases.ts';

useEngine();

describe('conv2d: forward vs float64 reference, gradients vs finite differences', () => {
  for (const c of CONV_CASES) it(c.name, () => runCase(c, false));
});

describe('convTranspose2d: forward vs float64 reference, gradients vs finite differences', () => {
  for (const c of CONVT_CASES) it(c.name, () => runCase(c, true));
});

describe('reference analytic gradients match finite differences', () => {
  // The big-shape tests below compare against these formulas, so they are checked here first.
  const fdCheck = (
    f: (x: Float64Array, w: Float64Array) => Float64Array,
    x: Float64Array,
    w: Float64Array,
    dy: Float64Array,
    dx: Float64Array,
    dw: Float64Array,
  ) => {
    const eps = 1e-6;
    const loss = () => f(x, w).reduce((a, v, i) => a + v * dy[i], 0);
    for (const [arr, grad] of [
      [x, dx],
      [w, dw],
    ] as const) {
      const num = new Float64Array(arr.length);
      for (let i = 0; i < arr.length; i++) {
        const o = arr[i];
        arr[i] = o + eps;
        const lp = loss();
        arr[i] = o - eps;
        const lm = loss();
        arr[i] = o;
        num[i] = (lp - lm) / (2 * eps);
      }
      expectClose(grad, num, 1e-6);
    }
  };
  it('conv2d', () => {
    const s: ConvShapes = { x: [2, 3, 7, 6], w: [4, 3, 3, 2] };
    const o: ConvRefOpts = { stride: [2, 1], padding: [1, 2], dilation: [1, 2] };
    const x = randomArray(size(s.x), 1),
      w = randomArray(size(s.w), 2),
      dy = randomArray(size(refConv2dOutShape(s, o)), 3);
    const g = refConv2dGrads(x, w, dy, s, o);
    fdCheck((a, b) => refConv2d(a, b, null, s, o), x, w, dy, g.dx, g.dw);
  });
  it('convTranspose2d', () => {
    const s: ConvShapes = { x: [2, 3, 4, 3], w: [3, 2, 3, 4] };
    const o: ConvRefOpts = { stride: [2, 3], padding: [1, 0], dilation: [1, 1], outputPadding: [1, 2] };
    const x = randomArray(size(s.x), 4),
      w = randomArray(size(s.w), 5),
      dy = randomArray(size(refConvT2dOutShape(s, o)), 6);
    const g = refConvTranspose2dGrads(x, w, dy, s, o);
    fdCheck((a, b) => refConvTranspose2d(a, b, null, s, o), x, w, dy, g.dx, g.dw);
  });
});

describe('lesson layer shapes (batch 2): forward and gradients vs the reference', () => {
  for (const l of LESSON_LAYERS) it(l.name, () => checkLesson(l));
});

describe('every register-tile size gives the same result', () => {
  // The host picks tile sizes per layer; force each size so every variant of the kernels is exercised.
  // 2·16·16 = 512 output pixels fill whole tiles of every size, so the largest requested size is the one used.
  const defaults = { ...convTiles };
  // The same gather tile for the plain and the subgroup kernel (whichever the device runs).
  const tile = (TM: number, TN: number, TC: number) => ({
    gatherTM: TM,
    gatherTN: TN,
    gatherSgTM: TM,
    gatherSgTN: TN,
    wgradTM: TM,
    wgradTC: TC,
  });
  const tiny = { lavapipeFlopsPerDispatch: 3e4, flopsPerDispatch: 3e4, gpuFlopsPerDispatch: 3e4 };
  const variants = [
    tile(16, 8, 8),
    tile(4, 2, 2),
    tile(1, 1, 1),
    tile(8, 4, 4),
    tile(32, 4, 12),
    { ...tile(32, 4, 12), quadWeights: false }, // the subgroup kernel's weights one float at a time
    // Tiny dispatch budget: every grid is split into many launches along both of its split dimensions (with the
    // 32-channel tile too: vec4 weights from an m-block offset).
    { ...tile(4, 8, 8), ...tiny },
    { ...tile(32, 4, 8), ...tiny },
  ];
  // Each size with the weight gradient split-K and as a gather (whose grid the tiny budget splits too).
  for (const v of variants)
    for (const route of ['split', 'gather'] as const) {
      it(`${JSON.stringify(v)}, weight gradient ${route}`, async () => {
        Object.assign(convTiles, v);
        setWgradRoute(route);
        try {
          await checkLayer('conv', [2, 21, 16, 16], [19, 21, 3, 3], true, { padding: 1 }, [2, 19, 16, 16]);
          await checkLayer('convT', [2, 18, 8, 8], [18, 13, 4, 4], true, { stride: 2, padding: 1 }, [2, 13, 16, 16]);
          // 16 weight-gradient columns: split-K, the lanes form groups over several chunks of pixels (split into
          // launches along the chunk groups under the tiny budget).
          await checkLayer('conv', [4, 1, 28, 28], [16, 1, 4, 4], true, { stride: 2, padding: 1 }, [4, 16, 14, 14]);
          // 40 output channels: two channel tiles even at 32 (one launch each under the tiny budget: mBlockOffset 1)
          await checkLayer('conv', [2, 8, 6, 6], [40, 8, 3, 3], true, { padding: 1 }, [2, 40, 6, 6]);
        } finally {
          Object.assign(convTiles, defaults);
          setWgradRoute('auto');
        }
      });
    }
});

/**
 * Runs a check with a route forced (and a conv version, when given), then restores both; returns the labels of the
 * kernels it launched, " ACCUMULATE" after those that add into their output.
 */
type Forced = (check: () => unknown, version?: 'register' | null) => Promise<string[]>;
function forcing(force: () => void, restore: () => void): Forced {
  return async (check, version = null) => {
    const labels: string[] = [];
    force();
    setConvVersion(version);
    engine().onLaunch = (k) => labels.push(kernelLabel(k) + (k.constants?.ACCUMULATE ? ' ACCUMULATE' : ''));
    try {
      await check();
    } finally {
      engine().onLaunch = null;
      restore();
      setConvVersion(null);
    }
    return labels;
  };
}

/**
 * Every small case with finite differences (strides, paddings, dilations, non-square, 1-channel layers), and the
 * lesson's layers against float64, each with the plain register kernel (each lane loads its weights: it takes the
 * forced routes on any adapter) and the device's default (on lavapipe the subgroup one; a tiled default takes
 * neither route), all under `forced`.
 */
function everyCase(forced: Forced): void {
  for (const version of ['register', null] as const) {
    const kernels = `${version ?? 'default'} kernels`;
    for (const c of CONV_CASES) it(`conv2d ${c.name}, ${kernels}`, () => forced(() => runCase(c, false), version));
    for (const c of CONVT_CASES)
      it(`convTranspose2d ${c.name}, ${kernels}`, () => forced(() => runCase(c, true), version));
    for (const l of LESSON_LAYERS) it(`${l.name}, ${kernels}`, () => forced(() => checkLesson(l), version));
  }
}

describe('the weight gradient as a gather (images and channels trade roles)', () => {
  const asGather = forcing(
    () => setWgradRoute('gather'),
    () => setWgradRoute('auto'),
  );
  everyCase(asGather);
  it('images in several chunks, each launch adding into the gradient: matches float64', async () => {
    const images = convTiles.wgradImages;
    convTiles.wgradImages = 3; // 8 images: chunks of 3, 3 and 2
    try {
      const labels = await asGather(async () => {
        await checkLayer('conv', [8, 6, 9, 9], [10, 6, 4, 4], true, { stride: 2, padding: 1 }, [8, 10, 4, 4]);
        await checkLayer('convT', [8, 5, 3, 3], [5, 7, 3, 3], false, { stride: 2 }, [8, 7, 7, 7]);
      }, 'register');
      // per layer, the chunks after the first add in
      expect(labels.filter((l) => l === 'conv2d_implicit_gemm ACCUMULATE').length).toBe(4);
    } finally {
      convTiles.wgradImages = images;
    }
  });
  it('images per launch: the whole batch where its G and P data fit in wgradChunkBytes, else the largest power of two that does', async () => {
    // conv 6 → 10 channels, 9 × 9 → 4 × 4 at batch 8: G (the input) 6·81 floats an image, P (dY) 10·16: 2584 bytes
    const perImage = 4 * (6 * 81 + 10 * 16);
    const bytes = convTiles.wgradChunkBytes;
    try {
      for (const [budget, launches] of [
        [8 * perImage, 1],
        [8 * perImage - 1, 2], // 4 images a launch
        [3 * perImage, 4], // 2
        [perImage - 1, 8], // at least one image
      ]) {
        convTiles.wgradChunkBytes = budget!;
        const labels = await asGather(
          () => checkLayer('conv', [8, 6, 9, 9], [10, 6, 4, 4], true, { stride: 2, padding: 1 }, [8, 10, 4, 4]),
          'register',
        );
        // the chunks after the first add in
        expect(labels.filter((l) => l === 'conv2d_implicit_gemm ACCUMULATE').length, `${budget} bytes`).toBe(
          launches! - 1,
        );
      }
    } finally {
      convTiles.wgradChunkBytes = bytes;
    }
  });
  it('is taken by the subgroup kernels on a CPU adapter for ≥ 256 im2col columns, 8 rows, 8 images, ≤ 16 × 16 maps, else split-K', async () => {
    const wgradKernels = async (x: Shape4, w: Shape4, opts: { stride: number; padding: number }) => {
      const labels: string[] = [];
      tidy(() => {
        const W = Tensor.fromArray(Float32Array.from(randomArray(size(w), 1)), w).requireGrad();
        const y = conv2d(Tensor.fromArray(Float32Array.from(randomArray(size(x), 2)), x), W, null, opts);
        engine().onLaunch = (k) => labels.push(kernelLabel(k));
        try {
          y.sum().backward();
        } finally {
          engine().onLaunch = null;
        }
        W.zeroGrad();
        return [];
      });
      return new Set(labels.filter((l) => l.startsWith('conv2d_')).map((l) => l.split(/[:(]/)[0]));
    };
    const D = { stride: 2, padding: 1 };
    // where the rule does not apply (a GPU, or a CPU adapter without subgroups: register kernels) all is split-K
    const applies = engine().adapter.isCPU && defaultConvVersion() === 'register-sg';
    const gather = applies ? 'conv2d_implicit_gemm' : 'conv2d_weight_grad';
    const isGather = (kernels: Set<string>) => [...kernels].some((k) => k.startsWith(gather));
    // DCGAN D2 at batch 8: 64 channels × 16 taps = 1024 columns
    expect(isGather(await wgradKernels([8, 64, 14, 14], [128, 64, 4, 4], D))).toBe(true);
    // split-K: the same at batch 4; D1 (1 channel × 16 taps), D4 (one output channel: 1 row) and a layer with
    // 20 × 20 output maps (more taps than the rule's 16 × 16) at batch 8
    const splitK = [expect.stringMatching(/^conv2d_weight_grad/)];
    expect([...(await wgradKernels([4, 64, 14, 14], [128, 64, 4, 4], D))]).toEqual(splitK);
    expect([...(await wgradKernels([8, 1, 28, 28], [64, 1, 4, 4], D))]).toEqual(splitK);
    expect([...(await wgradKernels([8, 256, 3, 3], [1, 256, 3, 3], { stride: 1, padding: 0 }))]).toEqual(splitK);
    expect([...(await wgradKernels([8, 16, 40, 40], [16, 16, 4, 4], D))]).toEqual(splitK);
  });
});

describe("the subgroup gather's tile: 32 channels × 4 pixels where it costs less than 16 × laneTile's pick", () => {
  /** A tensor of this shape, uniform values. */
  const x = (s: Shape4) => Tensor.fromArray(Float32Array.from(randomArray(size(s), 1)), s);
  /** The tiles (TM × TN, " vec4" with vec4 weights) of the subgroup gather launches of `run`. */
  const tilesOf = (run: () => Tensor): string[] => {
    const tiles = new Set<string>();
    tidy(() => {
      engine().onLaunch = (k) => {
        if (k.shader === 'conv2d_implicit_gemm_sg')
          tiles.add(`${k.subs!.TM}x${k.subs!.TN}${k.constants?.QUAD_WEIGHTS ? ' vec4' : ''}`);
      };
      try {
        run();
      } finally {
        engine().onLaunch = null;
      }
      return [];
    });
    return [...tiles];
  };
  // G3's weight gradient as a gather at batch 16: 64 channels × 9 taps = 576 pixels, which 256-pixel workgroups
  // fill to 75%; D2's: 1024 pixels, whole workgroups; G3's forward: 128 → 64 channels with vec4 weights; a conv
  // with 40 output channels: two 32-row tiles would waste 24 rows, three 16-row ones 8.
  const g3Wgrad = () => conv2dWeightGrad(x([16, 64, 15, 15]), [3, 3], x([16, 128, 7, 7]), { stride: 2 });
  const d2Wgrad = () => conv2dWeightGrad(x([16, 64, 14, 14]), [4, 4], x([16, 128, 7, 7]), { stride: 2, padding: 1 });
  const g3Forward = () => convTranspose2d(x([16, 128, 7, 7]), x([128, 64, 3, 3]), null, { stride: 2 });
  const forty = () => conv2d(x([2, 24, 9, 9]), x([40, 24, 3, 3]), null, { padding: 1 });
  /** Where the wide tile and its vec4 weights apply: lavapipe's subgroup kernels with 8-lane subgroups. */
  const wideApplies = () =>
    engine().adapter.slug === 'lavapipe' &&
    engine().adapter.subgroupSize === 8 &&
    defaultConvVersion() === 'register-sg';
  it('by the cost model on lavapipe (wideTileWins), forced either way by setWideTileRoute; never elsewhere', () => {
    if (!wideApplies()) {
      // Elsewhere the subgroup gather keeps the plain tile: forced where the device has the subgroup kernels
      // (subgroups of 2–16 lanes, a power of two), which then must run, the weight gradients as gathers (a GPU
      // would take split-K); without them no subgroup gather runs.
      const sg = engine().adapter.subgroupSize;
      const hasSg = sg !== null && sg > 1 && sg <= 16 && (sg & (sg - 1)) === 0;
      if (hasSg) {
        setConvVersion('register-sg');
        setWgradRoute('gather');
      }
      try {
        for (const run of [g3Wgrad, d2Wgrad, g3Forward, forty]) {
          const tiles = tilesOf(run);
          if (!hasSg) expect(tiles).toEqual([]);
          else {
            expect(tiles.length).toBeGreaterThan(0);
            for (const t of tiles) expect(t).toMatch(/^(16|8|4|2|1)x\d+$/);
          }
        }
      } finally {
        setConvVersion(null);
        setWgradRoute('auto');
      }
      return;
    }
    expect(tilesOf(g3Wgrad)).toEqual(['16x9']);
    expect(tilesOf(d2Wgrad)).toEqual(['32x4']);
    expect(tilesOf(g3Forward)).toEqual(['32x4 vec4']);
    expect(tilesOf(forty)).toEqual(['16x3']);
    try {
      setWideTileRoute('wide');
      expect(tilesOf(g3Wgrad)).toEqual(['32x4']);
      expect(tilesOf(forty)).toEqual(['32x4 vec4']);
      setWideTileRoute('plain');
      expect(tilesOf(g3Forward)).toEqual(['16x8']); // 1024 pixels a phase
    } finally {
      setWideTileRoute('auto');
    }
  });
  it('its vec4 weights give the same bits as floats: packed, read in place (the 1×1-conv route), odd and single channels', async () => {
    // 3 src channels: a paired step and a single one; 1 channel: single steps only; the transposed gather as a 1×1
    // conv of 5 channels reads its weight in place, 8 output channels × 9 taps = 72 rows side by side.
    // Each also against float64, so that the kernel the two runs share is checked on any adapter.
    const v = (s: Shape4) => Float64Array.from(Float32Array.from(randomArray(size(s), 1)));
    const runs: [string, () => Tensor, () => Float64Array][] = [
      [
        '3 channels',
        () => conv2d(x([2, 3, 9, 9]), x([36, 3, 3, 3]), null, { padding: 1 }),
        () =>
          refConv2d(
            v([2, 3, 9, 9]),
            v([36, 3, 3, 3]),
            null,
            { x: [2, 3, 9, 9], w: [36, 3, 3, 3] },
            { padding: [1, 1] },
          ),
      ],
      [
        '1 channel',
        () => conv2d(x([2, 1, 12, 12]), x([32, 1, 4, 4]), null, { stride: 2, padding: 1 }),
        () =>
          refConv2d(
            v([2, 1, 12, 12]),
            v([32, 1, 4, 4]),
            null,
            { x: [2, 1, 12, 12], w: [32, 1, 4, 4] },
            { stride: [2, 2], padding: [1, 1] },
          ),
      ],
      [
        'in place',
        () => convTranspose2d(x([2, 5, 4, 4]), x([5, 8, 3, 3]), null, { stride: 2 }),
        () =>
          refConvTranspose2d(
            v([2, 5, 4, 4]),
            v([5, 8, 3, 3]),
            null,
            { x: [2, 5, 4, 4], w: [5, 8, 3, 3] },
            { stride: [2, 2] },
          ),
      ],
    ];
    setWideTileRoute('wide');
    setTransposedRoute('cols');
    try {
      for (const [name, run, ref] of runs) {
        const outs: number[][] = [];
        for (const quad of [false, true]) {
          convTiles.quadWeights = quad;
          const quads: boolean[] = [];
          engine().onLaunch = (k) => void quads.push(k.constants?.QUAD_WEIGHTS === true);
          try {
            const y = tidy(run);
            outs.push(Array.from(await y.toArray()));
            y.dispose();
          } finally {
            engine().onLaunch = null;
          }
          expect(quads.includes(true), `${name}, vec4 weights ${quad}`).toBe(quad && wideApplies());
        }
        expect(outs[1], name).toEqual(outs[0]);
        expectClose(Float32Array.from(outs[0]!), ref(), 1e-5, name);
      }
    } finally {
      convTiles.quadWeights = true;
      setWideTileRoute('auto');
      setTransposedRoute('auto');
    }
  });
});

describe('an empty batch', () => {
  for (const route of ['split', 'gather'] as const)
    it(`gives a zero weight gradient of the weight's shape (${route})`, async () => {
      setWgradRoute(route);
      try {
        const dw = conv2dWeightGrad(Tensor.zeros([0, 3, 5, 5]), [3, 3], Tensor.zeros([0, 4, 5, 5]), { padding: 1 });
        expect(dw.shape).toEqual([4, 3, 3, 3]);
        expect(Array.from(await dw.toArray())).toEqual(new Array(4 * 3 * 9).fill(0));
        dw.dispose();
      } finally {
        setWgradRoute('auto');
      }
    });
});

describe('the transposed gather as a 1×1 conv and col2im', () => {
  // conv2d's input gradient and convTranspose2d's forward go this way (unless another path takes them: a 1×1
  // input, one output channel; dilation keeps the phases)
  const asCols = forcing(
    () => setTransposedRoute('cols'),
    () => setTransposedRoute('auto'),
  );
  everyCase(asCols);
  it('planes in several launches, with a bias: matches float64', async () => {
    const groups = convTiles.col2imPlaneGroups;
    convTiles.col2imPlaneGroups = 2; // 3 × 70 planes = 4 groups of 64: launches of 2 groups
    try {
      const labels = await asCols(
        () =>
          checkLayer(
            'convT',
            [3, 9, 3, 4],
            [9, 70, 3, 3],
            true,
            { stride: 2, padding: 1, outputPadding: 1 },
            [3, 70, 6, 8],
          ),
        'register',
      );
      expect(labels.filter((l) => l === 'conv_col2im_planes').length).toBe(2);
    } finally {
      convTiles.col2imPlaneGroups = groups;
    }
  });
  it('counts the multiply-adds of both forms per axis', () => {
    const geo = (H: number, Ho: number, k: number, s: number, p: number): ConvGeometry => ({
      N: 1,
      Cin: 1,
      H,
      W: H,
      Cout: 1,
      Ho,
      Wo: Ho,
      kh: k,
      kw: k,
      stride: [s, s],
      padding: [p, p],
      dilation: [1, 1],
    });
    // G2 forward (convT 3→7, k3 s2): rows 0,2,4,6 take taps 0 and 2, rows 1,3,5 tap 1 → 4·2 + 3·1 = 11 per axis;
    // the 1×1 form: 3 source pixels × 3 taps = 9
    expect(transposedWork(geo(7, 3, 3, 2, 0))).toEqual({ phases: 121, cols: 81 });
    // D3 input gradient (conv 7→3, k4 s2 p1): 4·2 + 3·2 = 14 per axis against 3·4 = 12
    expect(transposedWork(geo(7, 3, 4, 2, 1))).toEqual({ phases: 196, cols: 144 });
    // D2 input gradient (conv 14→7, k4 s2 p1): 7·2 + 7·2 = 28 against 7·4 = 28
    expect(transposedWork(geo(14, 7, 4, 2, 1))).toEqual({ phases: 784, cols: 784 });
  });
  it('is taken by the subgroup kernels on a CPU adapter from batch 128 when the phases run ≥ 1.3× its multiply-adds (not from a 1×1 source), and for one output channel', async () => {
    const inputGradKernels = async (x: Shape4, w: Shape4, padding = 1) => {
      const labels: string[] = [];
      tidy(() => {
        const X = Tensor.fromArray(Float32Array.from(randomArray(size(x), 2)), x).requireGrad();
        const W = Tensor.fromArray(Float32Array.from(randomArray(size(w), 1)), w);
        const y = conv2d(X, W, null, { stride: 2, padding });
        engine().onLaunch = (k) => labels.push(kernelLabel(k));
        try {
          y.sum().backward();
        } finally {
          engine().onLaunch = null;
        }
        X.zeroGrad();
        return [];
      });
      return labels.some((l) => l.startsWith('conv_col2im_planes'));
    };
    const applies = engine().adapter.isCPU && defaultConvVersion() === 'register-sg';
    // G2's geometry (k3 s2 p0, 7→3: 121 against 81 multiply-adds, 1.49×) and D3's (k4 s2 p1, 7→3: 196 against 144,
    // 1.36×): as a 1×1 conv where the rule applies, at batch 128, not at 64; D2's (14→7: 784 against 784) not, nor a
    // 1×1 source like D4's (here k3 s2, 3→1: 25 against 9)
    expect(await inputGradKernels([128, 4, 7, 7], [8, 4, 3, 3], 0)).toBe(applies);
    expect(await inputGradKernels([128, 4, 7, 7], [8, 4, 4, 4])).toBe(applies);
    expect(await inputGradKernels([64, 4, 7, 7], [8, 4, 3, 3], 0)).toBe(false);
    expect(await inputGradKernels([64, 4, 7, 7], [8, 4, 4, 4])).toBe(false);
    expect(await inputGradKernels([128, 4, 14, 14], [8, 4, 4, 4])).toBe(false);
    expect(await inputGradKernels([128, 4, 3, 3], [8, 4, 3, 3], 0)).toBe(false);
    // one output channel (D1's input gradient, 28→14 k4 s2 p1): at any batch, in place of the matrix product
    expect(await inputGradKernels([2, 1, 28, 28], [8, 1, 4, 4])).toBe(applies);
  });
});

describe('output sizes and errors', () => {
  it('output sizes follow torch', () => {
    expect(conv2dOutputSize([28, 28], [4, 4], { stride: 2, padding: 1 })).toEqual([14, 14]);
    expect(conv2dOutputSize([7, 7], [4, 4], { stride: 2, padding: 1 })).toEqual([3, 3]);
    expect(conv2dOutputSize([10, 9], [3, 2], { stride: [2, 3], dilation: [2, 1] })).toEqual([3, 3]);
    expect(convTranspose2dOutputSize([1, 1], [3, 3], { stride: 2 })).toEqual([3, 3]);
    expect(convTranspose2dOutputSize([3, 3], [3, 3], { stride: 2 })).toEqual([7, 7]);
    expect(convTranspose2dOutputSize([7, 7], [3, 3], { stride: 2 })).toEqual([15, 15]);
    expect(convTranspose2dOutputSize([15, 15], [3, 3], { stride: 2, padding: 2, outputPadding: 1 })).toEqual([28, 28]);
  });

  it('rejects bad shapes and options with messages naming them', () => {
    const x = Tensor.zeros([1, 3, 5, 5]);
    expect(() => conv2d(x, Tensor.zeros([4, 2, 3, 3]))).toThrow(
      /conv2d: input \[1, 3, 5, 5\] has 3 channels but weight \[4, 2, 3, 3\] expects 2/,
    );
    expect(() => conv2d(x, Tensor.zeros([4, 3, 7, 3]))).toThrow(
      /conv2d: kernel 7x3 .*larger than the padded input 5x5/,
    );
    expect(() => conv2d(x, Tensor.zeros([4, 3, 3, 3]), Tensor.zeros([3]))).toThrow(
      /bias must have shape \[4\].*got \[3\]/,
    );
    expect(() => conv2d(Tensor.zeros([3, 5, 5]), Tensor.zeros([4, 3, 3, 3]))).toThrow(
      /conv2d: input x \[N,Cin,H,W\] must be 4-D, got shape \[3, 5, 5\]/,
    );
    expect(() => conv2d(x, Tensor.zeros([4, 3, 3, 3]), null, { stride: 0 })).toThrow(
      /conv2d: stride must be an integer ≥ 1/,
    );
    expect(() => convTranspose2d(x, Tensor.zeros([3, 2, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(
      /convTranspose2d: outputPadding \[2, 2\] must be smaller than max\(stride, dilation\) = 2/,
    );
    expect(() => convTranspose2d(x, Tensor.zeros([2, 3, 3, 3]))).toThrow(
      /convTranspose2d: input \[1, 3, 5, 5\] has 3 channels but weight \[2, 3, 3, 3\] expects 2/,
    );
    expect(() => convTranspose2d(Tensor.zeros([1, 3, 1, 1]), Tensor.zeros([3, 2, 1, 1]), null, { padding: 1 })).toThrow(
      /convTranspose2d: output size -1x-1 is empty/,
    );
  });
});

describe('convWork: the FLOPs of the conv passes launched', () => {
  // The same count as the benchmarks' FLOP model (bench/harness.ts), per pass, for a conv and a transposed conv.
  const layers: ConvLayerShape[] = [
    {
      name: 'conv',
      kind: 'conv',
      batch: 3,
      inChannels: 5,
      outChannels: 7,
      inH: 9,
      inW: 8,
      kernelH: 4,
      kernelW: 4,
      stride: 2,
      padding: 1,
      bias: false,
    },
    {
      name: 'convT',
      kind: 'convT',
      batch: 2,
      inChannels: 6,
      outChannels: 4,
      inH: 3,
      inW: 3,
      kernelH: 3,
      kernelW: 3,
      stride: 2,
      padding: 0,
      bias: false,
    },
  ];
  for (const l of layers) {
    it(`forward, input gradient and weight gradient of a ${l.kind} count as bench/harness.ts counts them`, () => {
      const x = Tensor.randn([l.batch, l.inChannels, l.inH, l.inW], { seed: 1 }).requireGrad();
      const wShape =
        l.kind === 'conv'
          ? [l.outChannels, l.inChannels, l.kernelH, l.kernelW]
          : [l.inChannels, l.outChannels, l.kernelH, l.kernelW];
      const w = Tensor.randn(wShape, { seed: 2 }).requireGrad();
      const opts = { stride: l.stride, padding: l.padding };
      convWork.flops = 0;
      const y = l.kind === 'conv' ? conv2d(x, w, null, opts) : convTranspose2d(x, w, null, opts);
      expect(convWork.flops).toBe(convForwardFlops(l));
      y.sum().backward();
      expect(convWork.flops).toBe(convForwardFlops(l) + convGradInputFlops(l) + convGradWeightFlops(l));
      for (const t of [x, w, y]) {
        t.zeroGrad();
        t.dispose();
      }
    });
  }
});

describe('a weight used twice: the second weight gradient is added into the first in place', () => {
  // Split-K: small batches sum in one chunk (the kernel adds in); large ones in several (the reduction adds in).
  // As a gather (register kernels only): the gather adds into it (ACCUMULATE).
  const cases = [
    { name: 'conv, one chunk', transposed: false, x: [1, 3, 5, 5], w: [4, 3, 3, 3], stride: 1, padding: 1 },
    { name: 'conv, split chunks', transposed: false, x: [8, 16, 14, 14], w: [32, 16, 4, 4], stride: 2, padding: 1 },
    { name: 'convT, split chunks', transposed: true, x: [8, 16, 7, 7], w: [16, 8, 4, 4], stride: 2, padding: 1 },
  ];
  // images: images per launch of the gather route; past one launch each adds into the gradient in turn, so the
  // bits are not a separate add's (((into + dW₁) + dW₂) against into + (dW₁ + dW₂)), but the sum is float64's
  const runs = [
    { version: 'register', route: 'split', kernel: 'conv2d_weight_grad', images: 0 },
    { version: 'register', route: 'gather', kernel: 'conv2d_implicit_gemm', images: 0 },
    { version: 'register', route: 'gather', kernel: 'conv2d_implicit_gemm', images: 3 },
    { version: 'tiled', route: 'split', kernel: 'conv2d_weight_grad', images: 0 },
  ] as const;
  for (const { version, route, kernel, images } of runs)
    for (const c of cases) {
      const launches = images ? Math.ceil(c.x[0]! / images) : 1; // per weight gradient
      const bits = launches === 1 ? 'the same bits as a separate add' : `${launches} launches each`;
      it(`${c.name}, ${version} kernels, ${route}${images ? `, ${images} images a launch` : ''}: ${bits}, no add launched, matching float64`, async () => {
        const defaultImages = convTiles.wgradImages;
        if (images) convTiles.wgradImages = images;
        setConvVersion(version);
        setWgradRoute(route);
        try {
          const xs = [1, 2].map((s) => Float32Array.from(randomArray(size(c.x), s)));
          // the loss weights each branch's output by fixed random values r_k, so that dL/dy_k = r_k
          const rOf = (k: number, n: number) => Float32Array.from(randomArray(n, 3 + k));
          const wData = Float32Array.from(randomArray(size(c.w), 5));
          const op = (x: Tensor, w: Tensor) =>
            c.transposed
              ? convTranspose2d(x, w, null, { stride: c.stride, padding: c.padding })
              : conv2d(x, w, null, { stride: c.stride, padding: c.padding });
          /** loss = Σ op(x1, w)·r1 + Σ op(x2, w)·r2, backward together (`together`) or branch by branch (leaf adds). */
          const gradOfW = async (together: boolean) => {
            const w = Tensor.fromArray(wData, c.w).requireGrad();
            const labels: string[] = [];
            tidy(() => {
              const branch = (k: number) => {
                const y = op(Tensor.fromArray(xs[k], c.x), w);
                const rk = Tensor.fromArray(rOf(k, y.size), y.shape);
                return y.mul(rk).sum();
              };
              if (together) {
                const loss = branch(0).add(branch(1));
                engine().onLaunch = (k) => labels.push(kernelLabel(k));
                try {
                  loss.backward();
                } finally {
                  engine().onLaunch = null;
                }
              } else {
                branch(0).backward();
                branch(1).backward();
              }
              return [];
            });
            const g = await w.grad!.toArray();
            w.zeroGrad();
            w.dispose();
            return { g, labels };
          };
          const together = await gradOfW(true);
          const apart = await gradOfW(false);
          if (launches === 1) expect(Array.from(together.g)).toEqual(Array.from(apart.g));
          // two weight gradients, and no add of them: the second went into the first
          expect(together.labels.filter((l) => l.startsWith(kernel)).length).toBe(2 * launches);
          expect(together.labels.filter((l) => l === 'binary(a + b)')).toEqual([]);
          // float64: dW = Σ_k dW(x_k, r_k)
          const ref = new Float64Array(size(c.w));
          for (const k of [0, 1]) {
            const xk = Float64Array.from(xs[k]);
            const yShape = c.transposed
              ? refConvT2dOutShape(
                  { x: c.x as never, w: c.w as never },
                  { stride: [c.stride, c.stride], padding: [c.padding, c.padding] },
                )
              : refConv2dOutShape(
                  { x: c.x as never, w: c.w as never },
                  { stride: [c.stride, c.stride], padding: [c.padding, c.padding] },
                );
            const dy = Float64Array.from(rOf(k, size(yShape)));
            const grads = c.transposed
              ? refConvTranspose2dGrads(
                  xk,
                  Float64Array.from(wData),
                  dy,
                  { x: c.x as never, w: c.w as never },
                  { stride: [c.stride, c.stride], padding: [c.padding, c.padding] },
                )
              : refConv2dGrads(
                  xk,
                  Float64Array.from(wData),
                  dy,
                  { x: c.x as never, w: c.w as never },
                  { stride: [c.stride, c.stride], padding: [c.padding, c.padding] },
                );
            grads.dw.forEach((v, i) => (ref[i] += v));
          }
          expectClose(together.g, ref, 1e-5, 'dW');
        } finally {
          setConvVersion(null);
          setWgradRoute('auto');
          convTiles.wgradImages = defaultImages;
        }
      });
    }
});
