/**
 * conv2d and convTranspose2d with PyTorch semantics (NCHW, groups = 1), forward and gradients.
 *
 * Everything is expressed through one "conv geometry": a conv2d from an input [N, Cin, H, W] to an output
 * [N, Cout, Ho, Wo] with weight [Cout, Cin, kh, kw]. convTranspose2d is the adjoint of such a conv: its input
 * plays the conv's output and its output the conv's input, and its weight [Cin_t, Cout_t, kh, kw] is already in
 * the conv layout [Cout, Cin, kh, kw] of that conv. Three kernels then cover all six passes:
 *
 *   gatherConv (conv2d_implicit_gemm.wgsl, TRANSPOSED=false): conv2d forward, convTranspose2d grad-input
 *   gatherConv (TRANSPOSED=true):                             conv2d grad-input, convTranspose2d forward
 *   weightGrad (conv2d_weight_grad.wgsl):                     grad-weight of both (operand roles swapped)
 *
 * On a CPU adapter the weight gradient of most layers runs instead as a gather (weightGradAsGather): the same sum
 * is a forward conv whose batch is the input's channels and whose input channels are the images. And a transposed
 * gather over a small source grid runs as a 1×1 conv and a col2im (transposedGatherViaCols).
 *
 * Bias gradients are a sum of dY over batch and pixels.
 *
 * Each kernel comes in two designs with the same inputs and outputs, each with a few tile sizes (CONV_VERSIONS),
 * beside the naive baseline ('naive': conv2d_naive.wgsl, conv2d_weight_grad_naive.wgsl, run only when forced):
 *   'register…' conv2d_implicit_gemm.wgsl, conv2d_weight_grad.wgsl — register tiles, no workgroup memory: what a
 *               CPU adapter (lavapipe) runs fastest, and correct everywhere.
 *   'tiled…'    conv2d_implicit_gemm_tiled.wgsl, conv2d_weight_grad_tiled.wgsl — 64-wide tiles staged through
 *               workgroup memory, 4×4 per invocation: the classic GPU design, as matmul_tiled.wgsl. '…-vec4':
 *               the same tiles read as vec4s, 4 consecutive output channels × 4 pixels per invocation (in the
 *               weight gradient 4 rows of dW × 4 im2col columns); 'tiled-128…': 128 channels a workgroup, 8 per invocation, where a pass has more than 64.
 * Each pass at each shape runs its measured winner where the tuner is on (./autotune.ts: by default on GPUs),
 * else the adapter's default: register tiles on CPU adapters, workgroup tiles on GPUs.
 */
import { engine, grid1d, type Kernel } from './engine.ts';
import { shaderParams, type ParamBlock } from './params.ts';
import { Tensor } from './tensor.ts';
import { record, type GradNode } from '../autograd/record.ts';
import { sum, add, reshape, matmul } from './ops.ts';
import { launchMatmul } from './matmul.ts';
import { activationBackwardFromOutput } from './elementwise.ts';
import { reduceRaw } from './reduce-kernel.ts';
import { formatShape } from './shape.ts';
import { chooseKernel, familySources, registerTunedKernels, tuningEnabled, type TuneProblem } from './autotune.ts';
import { slotGroups, slotLayout, slotsFitting } from './slots.ts';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: number | [number, number];
}

type Pair = [number, number];

function pair(
  v: number | [number, number] | undefined,
  fallback: number,
  op: string,
  field: string,
  min: number,
): Pair {
  const p: Pair = v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new Error(`${op}: ${field} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

interface Hyper {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  outputPadding: Pair;
}

function hyper(op: string, opts: ConvTranspose2dOptions, transposed: boolean): Hyper {
  const h: Hyper = {
    stride: pair(opts.stride, 1, op, 'stride', 1),
    padding: pair(opts.padding, 0, op, 'padding', 0),
    dilation: pair(opts.dilation, 1, op, 'dilation', 1),
    outputPadding: pair(transposed ? opts.outputPadding : undefined, 0, op, 'outputPadding', 0),
  };
  for (const d of [0, 1]) {
    // torch: output padding must be smaller than either stride or dilation.
    if (h.outputPadding[d] >= Math.max(h.stride[d], h.dilation[d])) {
      throw new Error(
        `${op}: outputPadding ${formatShape(h.outputPadding)} must be smaller than max(stride, dilation) = ${Math.max(h.stride[d], h.dilation[d])} in dimension ${d}`,
      );
    }
  }
  return h;
}

/** torch's conv2d output size: ⌊(in + 2p − d·(k−1) − 1) / s⌋ + 1 per spatial dimension. */
export function conv2dOutputSize(
  inSize: [number, number],
  kernel: [number, number],
  opts: Conv2dOptions = {},
): [number, number] {
  const h = hyper('conv2dOutputSize', opts, false);
  return [0, 1].map(
    (d) => Math.floor((inSize[d] + 2 * h.padding[d] - h.dilation[d] * (kernel[d] - 1) - 1) / h.stride[d]) + 1,
  ) as Pair;
}

/** torch's convTranspose2d output size: (in − 1)·s − 2p + d·(k−1) + outputPadding + 1. */
export function convTranspose2dOutputSize(
  inSize: [number, number],
  kernel: [number, number],
  opts: ConvTranspose2dOptions = {},
): [number, number] {
  const h = hyper('convTranspose2dOutputSize', opts, true);
  return [0, 1].map(
    (d) => (inSize[d] - 1) * h.stride[d] - 2 * h.padding[d] + h.dilation[d] * (kernel[d] - 1) + h.outputPadding[d] + 1,
  ) as Pair;
}

/** A conv2d problem: conv input [N, Cin, H, W] → conv output [N, Cout, Ho, Wo], weight [Cout, Cin, kh, kw]. */
export interface ConvGeometry {
  N: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  Ho: number;
  Wo: number;
  kh: number;
  kw: number;
  stride: Pair;
  padding: Pair;
  dilation: Pair;
}

function checkRank4(op: string, name: string, t: Tensor): void {
  if (t.rank !== 4) throw new Error(`${op}: ${name} must be 4-D, got shape ${formatShape(t.shape)}`);
}

function checkBias(op: string, bias: Tensor | null | undefined, channels: number): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) {
    throw new Error(
      `${op}: bias must have shape [${channels}] (one per output channel), got ${formatShape(bias.shape)}`,
    );
  }
}

// ------------------------------------------------------------------ kernel selection

/**
 * The conv kernels the tuner chooses between for a pass: register tiles with 16 (the default), 8 or 32 output
 * channels per invocation; register tiles of 16 whose loads of values shared by the whole workgroup (the weights in
 * the gather, P in the weight gradient) are split between the lanes of a subgroup ('register-sg', the *_sg.wgsl
 * kernels; where the device has no fixed subgroup size it runs the plain register kernels); and workgroup-memory
 * tiles with 64 (or, for narrow layers, 16) or always 16 channels per workgroup, or 128 where a pass has more than
 * 64, each also read as vec4s ('-vec4'); and the 64-channel tiles with the gather's reduction split into chunks
 * where the pass has too few tiles to fill a GPU ('tiled-splitk', see gatherChunks; the weight gradient always
 * splits, so there they are the plain tiles).
 */
const TUNED_CONV_VERSIONS = [
  'register',
  'register-sg',
  'register-tm8',
  'register-tm32',
  'tiled',
  'tiled-m16',
  'tiled-128',
  'tiled-vec4',
  'tiled-128-vec4',
  'tiled-splitk',
  'tiled-vec4-splitk',
] as const;
/**
 * Every version a pass can be forced to run: the tuned ones and 'naive' (v1: one output value per invocation,
 * conv2d_naive.wgsl and conv2d_weight_grad_naive.wgsl), the readable baseline, never chosen by itself.
 */
export const CONV_VERSIONS = ['naive', ...TUNED_CONV_VERSIONS] as const;
export type ConvVersion = (typeof CONV_VERSIONS)[number];

let forcedVersion: ConvVersion | null = null;

/** Forces the conv kernels every op uses (tests and benchmarks compare them); null = per shape. */
export function setConvVersion(v: ConvVersion | null): void {
  if (v !== null && !CONV_VERSIONS.includes(v))
    throw new Error(`setConvVersion: unknown version "${v}" (expected one of ${CONV_VERSIONS.join(', ')})`);
  forcedVersion = v;
}

/** The version forced with setConvVersion(), or null. */
export function forcedConvVersion(): ConvVersion | null {
  return forcedVersion;
}

/**
 * What a pass runs before (or without) tuning: on CPU adapters register tiles, with loads shared across subgroups
 * where the device has them (faster on lavapipe: docs/kernels/04-conv.md); workgroup tiles on GPUs.
 */
export function defaultConvVersion(): ConvVersion {
  if (!engine().adapter.isCPU) return 'tiled';
  return laneGroup() > 1 ? 'register-sg' : 'register';
}

/**
 * Lanes that split the shared loads of the 'register-sg' kernels: the device's fixed subgroup size, or 1 (plain
 * register kernels) where it has none or one larger than the 16-row tile. A power of two, so that it divides every
 * channel tile (channelTile gives powers of two) or exceeds it.
 */
function laneGroup(): number {
  const sg = engine().adapter.subgroupSize;
  return sg !== null && sg > 1 && sg <= 16 && (sg & (sg - 1)) === 0 ? sg : 1;
}

/** The forced version, else 'autotuned' when shapes are tuned on this adapter, else the default. */
export function convVersion(): ConvVersion | 'autotuned' {
  return forcedVersion ?? (tuningEnabled() ? 'autotuned' : defaultConvVersion());
}

// Every conv kernel's source (the col2im and packing kernels a version's launches use too) keys the tuned table.
registerTunedKernels(familySources('conv'));

/**
 * Whether a version uses workgroup tiles, its channel tile for a pass with `channels` output rows, whether the
 * tiles are read as vec4s, and how many subgroup lanes split the shared loads (1: none). 'tiled-128' takes 128
 * channels (8 per invocation) where a pass has more than 64, and the '-vec4' versions read the tiles as vec4s, in
 * the gather and the weight gradient alike.
 */
function convTile(
  v: ConvVersion,
  channels: number,
  pass: 'gather' | 'wgrad',
): { tiled: boolean; TM: number; vec4: boolean; SG: number; wide: boolean; split: boolean } {
  const vec4 = v.includes('vec4');
  const split = pass === 'gather' && v.endsWith('-splitk');
  const SG = v === 'register-sg' ? laneGroup() : 1;
  // The subgroup gather's wide tile and vec4 weights were measured on lavapipe only, with 8-lane subgroups: elsewhere
  // (a GPU, SwiftShader's 4-lane subgroups, where a lane's share of 32 weights would be 8 loads, or a lavapipe built
  // for 4-wide vectors) it keeps the plain tile.
  const wide = pass === 'gather' && SG === 8 && engine().adapter.slug === 'lavapipe';
  const registerTM = pass === 'wgrad' ? convTiles.wgradTM : wide ? convTiles.gatherSgTM : convTiles.gatherTM;
  const tile = (tiled: boolean, TM: number) => ({ tiled, TM, vec4, SG, wide: wide && !tiled, split: split && tiled });
  switch (v) {
    case 'tiled-128':
    case 'tiled-128-vec4':
      return tile(true, channels > 64 ? 128 : tiledChannelTile(channels));
    case 'tiled':
    case 'tiled-vec4':
    case 'tiled-splitk':
    case 'tiled-vec4-splitk':
      return tile(true, tiledChannelTile(channels));
    case 'tiled-m16':
      return tile(true, 16);
    case 'register-tm8':
      return tile(false, channelTile(8, channels));
    case 'register-tm32':
      return tile(false, channelTile(32, channels));
    default: // 'register', 'register-sg'
      return tile(false, channelTile(registerTM, channels));
  }
}

/**
 * The version a conv pass runs: forced, else its tuned winner, else the default (see ./autotune.ts). Versions
 * that would give the same kernel and tile for this many channels as an earlier one are not candidates; `chunks`
 * (a gather's) says into how many chunks a split version would cut this pass (1: it is the unsplit version).
 */
function pickConv(
  problem: string,
  channels: number,
  pass: 'gather' | 'wgrad',
  make: () => TuneProblem,
  chunks: (TM: number) => number = () => 1,
): ConvVersion {
  if (forcedVersion) return forcedVersion;
  const candidates = () => {
    const seen = new Set<string>();
    return TUNED_CONV_VERSIONS.filter((v) => {
      const t = convTile(v, channels, pass);
      const id = `${t.tiled} ${t.TM} ${t.vec4} ${t.SG} ${t.split ? chunks(t.TM) : 1}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  };
  return chooseKernel(problem, candidates, defaultConvVersion(), make) as ConvVersion;
}

/** Stride, padding and dilation as the kernels' parameter fields (every conv kernel's Params has these six). */
function hyperParams(geo: ConvGeometry) {
  const [strideH, strideW] = geo.stride;
  const [padH, padW] = geo.padding;
  const [dilH, dilW] = geo.dilation;
  return { strideH, strideW, padH, padW, dilH, dilW };
}

/**
 * The sizes both col2im kernels take (conv_col2im, conv_col2im_planes): the transposed gather's output (the conv's
 * input, H × W), its source grid (the conv's output, Ho × Wo), the kernel and the hyperparameters.
 */
function col2imSizes(geo: ConvGeometry) {
  return { outH: geo.H, outW: geo.W, srcH: geo.Ho, srcW: geo.Wo, kh: geo.kh, kw: geo.kw, ...hyperParams(geo) };
}

/** A conv geometry as a tuning key. */
function geometryKey(geo: ConvGeometry): string {
  return (
    `${geo.N}x${geo.Cin}x${geo.H}x${geo.W} to ${geo.Cout}x${geo.Ho}x${geo.Wo} k${geo.kh}x${geo.kw}` +
    ` s${geo.stride} p${geo.padding} d${geo.dilation}`
  );
}

/** Output channels per workgroup of the tiled kernels: 64, or 16 when there are few (less waste past outC). */
function tiledChannelTile(channels: number): number {
  return channels <= 16 ? 16 : 64;
}

/**
 * The FLOPs of the conv passes (forward, input gradient, weight gradient; conv2d and convTranspose2d) launched since
 * `flops` was last set to 0: 2·N·Cout·Ho·Wo·Cin·kh·kw per pass of the conv geometry (for a convTranspose2d, of the
 * conv2d it is the transpose of), taps over padding included, as bench/harness.ts counts them. Bias terms and the
 * kernel tuner's trial runs are not counted. For profiles: a model's conv work per training step.
 */
export const convWork = { flops: 0 };

const passFlops = (g: ConvGeometry): number => 2 * g.N * g.Cout * g.Ho * g.Wo * g.Cin * g.kh * g.kw;

/** Tiled weight gradient: enough K-chunks that about this many workgroups share the work. */
const TILED_WGRAD_WORKGROUPS = 1024;

// ------------------------------------------------------------------ kernel launchers

/**
 * Register-tile sizes of the kernels (gather: TM = gatherTM output channels × up to gatherTN pixels per invocation;
 * its subgroup version on lavapipe up to gatherSgTM channels, and exactly gatherSgTN pixels at that width, reading
 * its weights as vec4s where it can unless quadWeights is off; weight gradient: wgradTM rows × up to wgradTC im2col
 * columns),
 * images per launch of the weight gradient as a gather (weightGradAsGather), 64-plane workgroups per launch of
 * conv_col2im_planes.wgsl, and the most FLOPs put in one dispatch on lavapipe, on another CPU adapter and on a GPU
 * (see launchRanges). Tile sizes tuned on lavapipe; exposed for benchmarks and tests.
 * The subgroup gather loads per channel step TN src values lane by lane and TM / SG weights (shared by shuffles) for
 * TM·TN FMAs: 32 × 4 costs 8 such loads per 128 FMAs where 16 × 10 costs 12 per 160, and ran faster on the DCGAN and
 * VGG layers (bench/results/conv-routes.md). Bigger tiles fall off a cliff on lavapipe (32 × 5 and 64 × 2 ran several
 * times slower: LLVM stops unrolling the step), and smaller TN with TM = 32 ran slower too (32 × 3 and 32 × 2 against
 * 32 × 4 on D2's passes at batch 16, where 32 × 4 fills only 77% of its pixel slots: a scratch run), so a pass whose
 * subgroup tile is 32 channels wide runs exactly gatherSgTN pixels per invocation, not laneTile's pick; and a pass
 * takes that wide tile only where wideTileWins's cost model says it costs less than the plain one.
 * wgradImages: null (wgradChunkImages picks by wgradChunkBytes) or a fixed count (tests).
 */
export const convTiles = {
  gatherTM: 16,
  gatherTN: 10,
  gatherSgTM: 32,
  gatherSgTN: 4,
  quadWeights: true,
  wgradTM: 16,
  wgradTC: 12,
  wgradImages: null as number | null,
  wgradChunkBytes: 3 * 2 ** 20,
  col2imPlaneGroups: 65535,
  lavapipeFlopsPerDispatch: 1e9,
  flopsPerDispatch: 2e8,
  gpuFlopsPerDispatch: 4e10,
};

/** Channel tile: the configured size, or the next power of two ≥ the channel count when that is smaller. */
function channelTile(tile: number, channels: number): number {
  let t = 1;
  while (t < channels && t < tile) t *= 2;
  return t;
}

/**
 * Items (pixels, or im2col columns) per invocation along a kernel's lane dimension, from 1 to `maxTile`.
 * Bigger tiles amortise the TM broadcast loads per step, but a grid of 64-invocation workgroups that overshoots
 * the item count wastes whole slots — and on lavapipe idle invocations of a workgroup cost as much as busy ones
 * (576 columns as 9 per invocation ran faster than as 8 per invocation, which leaves a second workgroup with 8 busy
 * invocations of 64: a scratch run on lavapipe whose figures were not kept). Picks the size with the least estimated cost per useful FMA:
 * (TM·T FMAs + 2 per lane load + 1 per broadcast load) / (TM·T · fraction of live slots).
 */
function laneTile(maxTile: number, TM: number, items: number): number {
  return laneTileCost(maxTile, TM, items, 64).tile;
}

/** laneTile's choice for `lanes` lanes, with its estimated cost per useful FMA. */
function laneTileCost(maxTile: number, TM: number, items: number, lanes: number): { tile: number; cost: number } {
  let best = 1;
  let bestCost = Infinity;
  for (let t = 1; t <= maxTile; t++) {
    const fill = items / (Math.ceil(items / (lanes * t)) * lanes * t);
    const cost = (TM * t + 2 * t + TM) / (TM * t * fill);
    if (cost < bestCost - 1e-9) {
      best = t;
      bestCost = cost;
    }
  }
  return { tile: best, cost: bestCost };
}

/**
 * What one lane-by-lane load costs on lavapipe, in multiply-adds of the subgroup gather's step: fitted to A/Bs of
 * its two tiles at batch 256 (first a scratch run; re-timed in bench/results/conv-routes.md, 2026-12-02 07:42 UTC,
 * medians of the per-round ratios): G3's weight gradient as a gather (576 pixels: 32 × 4 fills 75% of its slots;
 * 16 × 9 ran 1.23× faster), G2's (1152: 16 × 9 1.05×), D2's and D3's (1024 and 2048: 32 × 4 1.02× and 1.07×),
 * G3's forward (vec4 weights: 32 × 4 1.24×). 8 predicts each of these winners; the margins are small but for G3's.
 */
const LANE_LOAD_FMAS = 8;

/**
 * Whether the subgroup gather's wide tile (32 channels × 4 pixels, convTiles.gatherSgTM/TN) costs less than the
 * plain one (16 × laneTile's pick) for `channels` output channels over `pixels` pixels (the largest phase's).
 * Per channel step a lane makes TN src loads and TM / SG weight loads (a quarter of that with vec4 weights) for
 * TM·TN multiply-adds; the cost per useful multiply-add divides by the share of pixel slots and channel rows
 * that hold work. The wide tile loads less per multiply-add, but its 256-pixel workgroups can leave a quarter of
 * their slots idle (G3's weight gradient as a gather: 576 pixels), and without vec4 weights (the weight gradient as a
 * gather reads its weights a map apart) its edge is small.
 */
function wideTileWins(
  wide: { TM: number; TN: number },
  plain: { TM: number; TN: number },
  SG: number,
  quad: boolean,
  channels: number,
  pixels: number,
): boolean {
  const cost = ({ TM, TN }: { TM: number; TN: number }, weightLoads: number) => {
    const pixelFill = pixels / (Math.ceil(pixels / (64 * TN)) * 64 * TN);
    const rowFill = channels / (Math.ceil(channels / TM) * TM);
    return (TM * TN + LANE_LOAD_FMAS * (TN + weightLoads)) / (TM * TN * pixelFill * rowFill);
  };
  return cost(wide, wide.TM / SG / (quad ? 4 : 1)) <= cost(plain, plain.TM / SG);
}

/** Which tile the subgroup gather takes where the wide one applies: 'auto' (wideTileWins decides) or always one. */
export type WideTileRoute = 'auto' | 'wide' | 'plain';
let wideTileRoute: WideTileRoute = 'auto';

/** Forces the subgroup gather's tile where the wide one applies (benchmarks, tests); 'auto' restores the rule. */
export function setWideTileRoute(route: WideTileRoute): void {
  wideTileRoute = route;
}

/**
 * The register weight gradient's columns per invocation (TC) and lanes per column group (CL): a workgroup's 64
 * lanes are 64 / CL groups that sum different chunks of pixels over the same CL·TC columns. Layers with at least
 * 64 columns keep CL = 64 and laneTile's TC; narrower ones (16 columns in D1's, 9 in G4's) would leave most lanes
 * idle, so they take the CL of 8 … 64 (a multiple of SG, the device's subgroup size as laneGroup gives it, so that a
 * group is whole subgroups) and TC with the least laneTile cost, the largest CL on a tie.
 */
function wgradLanes(maxTile: number, TM: number, columns: number, SG: number): { TC: number; CL: number } {
  let best = { ...laneTileCost(maxTile, TM, columns, 64), CL: 64 };
  if (columns < 64) {
    for (const CL of [32, 16, 8]) {
      const c = laneTileCost(maxTile, TM, columns, CL);
      if (CL % SG === 0 && c.cost < best.cost - 1e-9) best = { ...c, CL };
    }
  }
  return { TC: best.tile, CL: best.CL };
}

/**
 * Splits a grid of a × b work units of `unitFlops` each into launches of at most so many FLOPs, so that no
 * dispatch runs long (a 2-second dispatch has crashed lavapipe, and a browser stops a GPU process whose work hangs),
 * and at most 65535 workgroups along each axis: yields [a0, aCount, b0, bCount]. Whole rows of b go together when
 * they fit, otherwise b is split too. The limits (convTiles):
 * - the register kernels on lavapipe, lavapipeFlopsPerDispatch = 1e9: tens of milliseconds at the speed they reach
 *   there on a 2-core machine, and far fewer launches per DCGAN step than at 2e8 (compare with
 *   bench/profile-dcgan.ts --dispatch-flops);
 * - the workgroup-tiled kernels on lavapipe (several times slower there), and any kernel on another CPU adapter
 *   (SwiftShader), flopsPerDispatch = 2e8;
 * - a GPU, gpuFlopsPerDispatch = 4e10, so that every DCGAN pass up to batch 256 is one dispatch: 0.9 ms at the FMA
 *   ceiling measured on an H200 (44 TFLOP/s, bench/results/nvidia.json), 64 ms at the best rate a conv pass of ours
 *   reached in that run (629 GFLOP/s); how long it takes on a small GPU has not been measured.
 */
function* launchRanges(
  a: number,
  b: number,
  unitFlops: number,
  tiled: boolean,
): Generator<[number, number, number, number]> {
  const { isCPU, slug } = engine().adapter;
  const limit = !isCPU
    ? convTiles.gpuFlopsPerDispatch
    : slug === 'lavapipe' && !tiled
      ? convTiles.lavapipeFlopsPerDispatch
      : convTiles.flopsPerDispatch;
  const perLaunch = Math.min(65535, Math.max(1, Math.floor(limit / unitFlops)));
  if (perLaunch >= b) {
    const aStep = Math.min(65535, Math.floor(perLaunch / b));
    for (let a0 = 0; a0 < a; a0 += aStep) yield [a0, Math.min(aStep, a - a0), 0, b];
  } else {
    for (let a0 = 0; a0 < a; a0++)
      for (let b0 = 0; b0 < b; b0 += perLaunch) yield [a0, 1, b0, Math.min(perLaunch, b - b0)];
  }
}

/**
 * The weight packed as [tap][c][mPad] (see conv_pack_weight.wgsl). `cIsDim0`: reduction channel is w's dim 0.
 * The packed copy is kept by the engine and reused until the weight is written again (Engine.derived): a weight
 * used by several passes between two optimizer steps (D on the real and the fake batch, G twice a step, a frozen
 * VGG every iteration) is packed once.
 */
function packWeight(w: Tensor, cIsDim0: boolean, mPad: number): GPUBuffer {
  const [d0, d1, kh, kw] = w.shape;
  const taps = kh * kw;
  const [C, M] = cIsDim0 ? [d0, d1] : [d1, d0];
  const [strideC, strideM] = cIsDim0 ? [d1 * taps, taps] : [taps, d1 * taps];
  return packRows(w, taps, C, M, mPad, strideC, strideM);
}

/** One packed layout of a weight (conv_pack_weight.wgsl's sizes), remembered so that it can be remade in a batch. */
interface PackRecipe {
  taps: number;
  C: number;
  M: number;
  mPad: number;
  strideC: number;
  strideM: number;
  key: string;
  bytes: number;
  /** A conv asked for this layout since the last prepackConvWeights of its weight. */
  used: boolean;
}

/** The layouts each weight has been packed in (kept as long as the weight tensor lives). */
const packRecipes = new WeakMap<Tensor, Map<string, PackRecipe>>();

/**
 * conv_pack_weight.wgsl: packed[(tap·C + c)·mPad + m] = w[c·strideC + m·strideM + tap] for m < M, 0 up to mPad,
 * for tap < taps and c < C. Made once per version of w's contents (Engine.derived): on first use after w changed,
 * or beforehand, batched, by prepackConvWeights.
 */
function packRows(
  w: Tensor,
  taps: number,
  C: number,
  M: number,
  mPad: number,
  strideC: number,
  strideM: number,
): GPUBuffer {
  const key = `conv_pack_weight ${taps} ${C} ${M} ${mPad} ${strideC} ${strideM}`;
  let recipes = packRecipes.get(w);
  if (!recipes) packRecipes.set(w, (recipes = new Map()));
  let recipe = recipes.get(key);
  if (!recipe)
    recipes.set(key, (recipe = { taps, C, M, mPad, strideC, strideM, key, bytes: 4 * taps * C * mPad, used: true }));
  recipe.used = true;
  const r = recipe;
  return engine().derived(w.buffer, key, r.bytes, (packed) => launchPacks([{ w, recipe: r, packed }]));
}

/** A weight, one of its layouts and the buffer to pack it into. */
interface PackItem {
  w: Tensor;
  recipe: PackRecipe;
  packed: GPUBuffer;
}

/** One launch of conv_pack_weight.wgsl over up to 4 (weight, layout, destination) slots. */
function launchPacks(items: PackItem[]): void {
  const field = (f: (r: PackRecipe) => number) => [0, 1, 2, 3].map((k) => (items[k] ? f(items[k].recipe) : 0));
  // one packed row per invocation, 256 per workgroup
  const {
    n: rows,
    start,
    workgroups,
  } = slotLayout(
    items.map(({ recipe: r }) => r.taps * r.C),
    256,
  );
  engine().launch(
    { shader: 'conv_pack_weight', entry: `slots${items.length}` },
    {
      params: shaderParams('conv_pack_weight', {
        rows,
        C: field((r) => r.C),
        M: field((r) => r.M),
        mPad: field((r) => r.mPad),
        strideC: field((r) => r.strideC),
        strideM: field((r) => r.strideM),
        start,
      }),
      buffers: items.flatMap(({ w, packed }) => [w.buffer, packed]),
      workgroups,
    },
  );
}

/**
 * Packs, now and up to 4 per launch, every layout of `weights` that a conv used since the last call and that is stale
 * (its weight was written since it was made): a training loop calls it right after an optimizer step, so the next
 * passes find their weights packed instead of packing them one launch each on first use. Layouts no conv asked for
 * since the last call are left to be packed when used.
 */
export function prepackConvWeights(weights: Iterable<Tensor>): void {
  const e = engine();
  const stale: PackItem[] = [];
  for (const w of weights) {
    for (const recipe of packRecipes.get(w)?.values() ?? []) {
      if (!recipe.used) continue;
      recipe.used = false;
      if (e.derivedFresh(w.buffer, recipe.key, recipe.bytes)) continue;
      // derived() hands over the stale layout's buffer at once; the launches below fill it before any other launch
      // is recorded (this function records nothing else), so no pass reads it unfilled.
      e.derived(w.buffer, recipe.key, recipe.bytes, (packed) => stale.push({ w, recipe, packed }));
    }
  }
  for (const group of slotGroups(stale, slotsFitting(2))) launchPacks(group);
}

/**
 * Runs conv2d_implicit_gemm.wgsl (or its _tiled version). Not transposed: src = conv input, out = conv output (channel Cout).
 * Transposed: src = conv output (dY, or convT's input), out = conv input shape. `w` is conv layout [Cout, Cin, kh, kw].
 */
function gatherConv(
  geo: ConvGeometry,
  src: Tensor,
  w: Tensor,
  bias: Tensor | null,
  transposed: boolean,
  activation?: ConvActivation,
): Tensor {
  const [srcC, srcH, srcW] = transposed ? [geo.Cout, geo.Ho, geo.Wo] : [geo.Cin, geo.H, geo.W];
  const [outC, outH, outW] = transposed ? [geo.Cin, geo.H, geo.W] : [geo.Cout, geo.Ho, geo.Wo];
  convWork.flops += passFlops(geo);
  if (forcedVersion === 'naive') return naiveGather(geo, src, w, bias, transposed, activation);
  if (transposed && outC === 1 && geo.kh * geo.kw <= 64) {
    // One output channel: never a gather by phases (one channel per lane tile); as a 1×1 conv and col2im where the
    // rule says so, else as a matrix product and col2im.
    const version = forcedVersion ?? defaultConvVersion();
    return transposedViaCols(geo, version)
      ? transposedGatherViaCols(geo, src, w, bias, version, activation)
      : singleChannelTransposed(geo, src, w, bias, activation);
  }
  if (geo.N * outC * outH * outW === 0) return Tensor.empty([geo.N, outC, outH, outW]);
  const problem = `conv.gather${transposed ? '.T' : ''}|${geometryKey(geo)}`;
  const version = pickConv(
    problem,
    outC,
    'gather',
    () => {
      const s = Tensor.zeros([geo.N, srcC, srcH, srcW]);
      const wz = Tensor.zeros(w.shape);
      return {
        run: (v) => gatherConvWith(geo, s, wz, null, transposed, v as ConvVersion).dispose(),
        dispose: () => [s, wz].forEach((t) => t.dispose()),
      };
    },
    (TM) => gatherChunks(geo, transposed, TM),
  );
  return gatherConvWith(geo, src, w, bias, transposed, version, undefined, activation);
}

/**
 * Where the register gather finds its tensors, in element strides (the Params of shaders/lib/conv_gather.wgsl),
 * where they are not the usual NCHW src and out and packed weight: `src` strides; `weight`, read in place from w's
 * own buffer (not packed); `out` strides, written into `into` (added to what it holds with `accumulate`). Used by
 * weightGradAsGather and transposedGatherViaCols.
 */
interface GatherLayout {
  src?: { offset: number; batch: number; chan: number };
  weight?: { offset: number; tap: number; chan: number; m: number; last: number };
  out?: { batch: number; chan: number };
  into?: Tensor;
  accumulate?: boolean;
}

/** gatherConv with a given kernel version; `layout` (register kernels only): see GatherLayout; `activation`: applied
 * to each output as it is written. */
function gatherConvWith(
  geo: ConvGeometry,
  src: Tensor,
  w: Tensor,
  bias: Tensor | null,
  transposed: boolean,
  version: ConvVersion,
  layout?: GatherLayout,
  activation?: ConvActivation,
): Tensor {
  if (transposed && !layout && transposedViaCols(geo, version))
    return transposedGatherViaCols(geo, src, w, bias, version, activation);
  const [srcC, srcH, srcW] = transposed ? [geo.Cout, geo.Ho, geo.Wo] : [geo.Cin, geo.H, geo.W];
  const [outC, outH, outW] = transposed ? [geo.Cin, geo.H, geo.W] : [geo.Cout, geo.Ho, geo.Wo];
  const out = layout?.into ?? Tensor.empty([geo.N, outC, outH, outW]);
  const [phasesH, phasesW] = transposed ? geo.stride : [1, 1];
  const maxPixels = geo.N * Math.ceil(outH / phasesH) * Math.ceil(outW / phasesW);
  // A workgroup covers TM channels × 64·TN pixels: register kernel, TM × TN per invocation of 64;
  // tiled kernel, TM × 64 staged through workgroup memory.
  const tile = convTile(version, outC, 'gather');
  const { tiled, vec4, SG, wide } = tile;
  const chunks = tile.split ? gatherChunks(geo, transposed, tile.TM) : 1;
  // The subgroup kernel reads its weights 4 at a time where each lane's share of a step is 4 consecutive ones
  // (TM = 4·SG, rows adjacent) at a multiple of 4: the packed weight, or a weight read in place rows-first (on
  // lavapipe, where it was measured; unless convTiles.quadWeights is off).
  const w4 = layout?.weight;
  const rowsAdjacent = !w4 || (w4.m === 1 && [w4.offset, w4.tap, w4.chan].every((x) => x % 4 === 0));
  const quadAt = (TM: number) => convTiles.quadWeights && wide && TM === 4 * SG && rowsAdjacent;
  let TM = tile.TM;
  let TN = tiled ? 1 : laneTile(convTiles.gatherTN, TM, maxPixels);
  if (wide && TM === convTiles.gatherSgTM && TM > convTiles.gatherTM) {
    // The wide tile (exactly gatherSgTN pixels, see convTiles), unless the plain one costs less here (wideTileWins).
    const plainTM = channelTile(convTiles.gatherTM, outC);
    const plain = { TM: plainTM, TN: laneTile(convTiles.gatherTN, plainTM, maxPixels) };
    const wideTile = { TM, TN: convTiles.gatherSgTN };
    const takeWide =
      wideTileRoute === 'auto'
        ? wideTileWins(wideTile, plain, SG, quadAt(TM), outC, maxPixels)
        : wideTileRoute === 'wide';
    ({ TM, TN } = takeWide ? wideTile : plain);
  }
  if (layout && tiled) throw new Error(`gatherConvWith: a strided layout needs a register kernel, not ${version}`);
  const constants: Record<string, boolean | number> = { TRANSPOSED: transposed };
  if (layout?.accumulate) constants.ACCUMULATE = true;
  if (activation) {
    if (layout) throw new Error('gatherConvWith: a strided layout (a partial sum) takes no activation');
    // (a split gather's chunks are summed, biased and activated by conv_split_sum)
    if (chunks === 1) Object.assign(constants, activationConstants(activation));
  }
  if (chunks > 1) constants.SPLIT = true;
  const kernel: Kernel & {
    shader: 'conv2d_implicit_gemm' | 'conv2d_implicit_gemm_sg' | 'conv2d_implicit_gemm_tiled';
  } = tiled
    ? {
        shader: 'conv2d_implicit_gemm_tiled',
        subs: { TILE_M: String(TM), PER_M: TM === 128 ? '8' : '4', VEC4: String(vec4) },
        constants,
      }
    : SG > 1
      ? { shader: 'conv2d_implicit_gemm_sg', subs: { TM: String(TM), TN: String(TN), SG: String(SG) }, constants }
      : { shader: 'conv2d_implicit_gemm', subs: { TM: String(TM), TN: String(TN) }, constants };
  const mPad = Math.ceil(outC / TM) * TM;
  // A split gather writes each chunk's sums to `sums` (chunks × the output) for conv_split_sum to add.
  const sums = chunks > 1 ? Tensor.empty([chunks * geo.N * outC * outH * outW]) : out;
  const slabsPerChunk = tiled ? Math.ceil(Math.ceil(maxPhaseSteps(geo, transposed) / 16) / chunks) : 0;
  // Forward: src channel c = weight dim 1 (Cin), out channel m = dim 0. Transposed: the other way round.
  const weights = layout?.weight ? w.buffer : packWeight(w, transposed, mPad);
  // The register kernels' strides: NCHW src and out and the packed weight, unless `layout` says otherwise.
  const s = layout?.src ?? { offset: 0, batch: srcC * srcH * srcW, chan: srcH * srcW };
  const wt = layout?.weight ?? { offset: 0, tap: srcC * mPad, chan: mPad, m: 1, last: mPad - 1 };
  const o = layout?.out ?? { batch: outC * outH * outW, chan: outH * outW };
  if (quadAt(TM)) constants.QUAD_WEIGHTS = true;
  const tiles = Math.ceil(maxPixels / (64 * TN));
  const unitFlops = 2 * 64 * TN * TM * srcC * geo.kh * geo.kw;
  for (const [t0, nt, m0, nm] of launchRanges(tiles, mPad / TM, unitFlops, tiled)) {
    const common = {
      srcC,
      srcH,
      srcW,
      batch: geo.N,
      outC,
      outH,
      outW,
      kh: geo.kh,
      kw: geo.kw,
      ...hyperParams(geo),
      phasesH,
      phasesW,
      tileOffset: t0,
      hasBias: bias ? 1 : 0,
      mBlockOffset: m0,
    };
    const params =
      kernel.shader === 'conv2d_implicit_gemm_tiled'
        ? shaderParams(kernel.shader, { ...common, mPad, chunks, slabsPerChunk })
        : shaderParams(kernel.shader, {
            ...common,
            srcOffset: s.offset,
            srcBatch: s.batch,
            srcChan: s.chan,
            wOffset: wt.offset,
            wTap: wt.tap,
            wChan: wt.chan,
            wM: wt.m,
            wMLast: wt.last,
            outBatch: o.batch,
            outChan: o.chan,
          });
    engine().launch(kernel, {
      params,
      // (the subgroup kernel binds the weight a second time, as vec4s)
      buffers: [src.buffer, weights, bias?.buffer ?? weights, sums.buffer, ...(SG > 1 ? [weights] : [])],
      workgroups: [nt, nm, phasesH * phasesW * chunks],
    });
  }
  if (chunks > 1) {
    // (split only under SPLIT_TARGET_WORKGROUPS tiles of at most 128 × 64 outputs: far fewer than 65535 × 256)
    const count = geo.N * outC * outH * outW;
    engine().launch(
      { shader: 'conv_split_sum', constants: activationConstants(activation) },
      {
        params: shaderParams('conv_split_sum', {
          count,
          chunks,
          chanSize: outH * outW,
          channels: outC,
          hasBias: bias ? 1 : 0,
        }),
        buffers: [sums.buffer, bias?.buffer ?? sums.buffer, out.buffer],
        workgroups: [Math.ceil(count / 256), 1, 1],
      },
    );
    sums.dispose();
  }
  return out;
}

/** Workgroups a split gather aims for: 4 per multiprocessor of a 132-SM GPU (WebGPU does not say how many a GPU has). */
const SPLIT_TARGET_WORKGROUPS = 512;
/** The fewest slabs of 16 reduction steps a chunk of a split gather walks. */
const SPLIT_MIN_SLABS = 4;

/**
 * Into how many chunks 'tiled-splitk' cuts each phase's reduction for a gather with `TM` output channels per
 * workgroup: enough that the pass launches about SPLIT_TARGET_WORKGROUPS workgroups, none walking fewer than
 * SPLIT_MIN_SLABS slabs (of the phase with the most steps), at most 64, and the partial sums within the largest
 * tensor. 1: the pass has tiles enough, or too short a reduction, and runs unsplit.
 */
export function gatherChunks(geo: ConvGeometry, transposed: boolean, TM: number): number {
  const srcC = transposed ? geo.Cout : geo.Cin;
  const [outC, outH, outW] = transposed ? [geo.Cin, geo.H, geo.W] : [geo.Cout, geo.Ho, geo.Wo];
  const [phasesH, phasesW] = transposed ? geo.stride : [1, 1];
  const pixels = geo.N * Math.ceil(outH / phasesH) * Math.ceil(outW / phasesW);
  const workgroups = Math.ceil(pixels / 64) * Math.ceil(outC / TM) * phasesH * phasesW;
  const slabs = Math.ceil(maxPhaseSteps(geo, transposed) / 16);
  const bytes = 4 * geo.N * outC * outH * outW;
  const byMemory = Math.floor(engine().maxTensorBytes / Math.max(bytes, 1));
  const chunks = Math.min(Math.ceil(SPLIT_TARGET_WORKGROUPS / workgroups), Math.floor(slabs / SPLIT_MIN_SLABS), 64);
  return Math.max(1, Math.min(chunks, byMemory));
}

/**
 * The most reduction steps (tap, source channel) one phase of a gather has: every tap for the forward conv; for
 * the transposed one, per axis the most taps that reach one phase (those i with s | (ph + p − i·d)).
 */
function maxPhaseSteps(geo: ConvGeometry, transposed: boolean): number {
  if (!transposed) return geo.Cin * geo.kh * geo.kw;
  let steps = geo.Cout;
  for (const d of [0, 1]) {
    const [k, s, p, dil] = [d === 0 ? geo.kh : geo.kw, geo.stride[d], geo.padding[d], geo.dilation[d]];
    let most = 0;
    for (let ph = 0; ph < s; ph++) most = Math.max(most, phaseTapCount(ph, k, s, p, dil));
    steps *= most;
  }
  return steps;
}

/** How the transposed gather is computed: 'auto' (transposedViaCols decides), or always one way (tests, benchmarks). */
export type TransposedRoute = 'auto' | 'phases' | 'cols';
let transposedRoute: TransposedRoute = 'auto';

/**
 * Forces the transposed gather's route ('phases': the gather by stride phases, or with one output channel the matrix
 * product of singleChannelTransposed; 'cols': transposedGatherViaCols).
 */
export function setTransposedRoute(route: TransposedRoute): void {
  transposedRoute = route;
}

/** Taps i < k of one axis of a transposed gather that reach output phase `ph`: those with s | (ph + p − i·d). */
function phaseTapCount(ph: number, k: number, s: number, p: number, dil: number): number {
  let taps = 0;
  for (let i = 0; i < k; i++) if ((((ph + p - i * dil) % s) + s) % s === 0) taps++;
  return taps;
}

/**
 * Multiply-adds per (image, source channel, output channel) of the transposed gather, which runs every tap of a
 * phase on every pixel of it (taps that fall outside the source grid included), and of its 1×1 conv form, which
 * runs every tap on every source pixel: per axis, Σ over phases of pixels × taps, against source pixels × taps.
 */
export function transposedWork(geo: ConvGeometry): { phases: number; cols: number } {
  let phases = 1;
  let cols = 1;
  for (const d of [0, 1]) {
    const [outLen, srcLen, k] = d === 0 ? [geo.H, geo.Ho, geo.kh] : [geo.W, geo.Wo, geo.kw];
    const [s, p, dil] = [geo.stride[d], geo.padding[d], geo.dilation[d]];
    let axis = 0;
    for (let ph = 0; ph < Math.min(s, outLen); ph++)
      axis += Math.ceil((outLen - ph) / s) * phaseTapCount(ph, k, s, p, dil);
    phases *= axis;
    cols *= srcLen * k;
  }
  return { phases, cols };
}

/**
 * Whether a transposed gather runs as a 1×1 conv and conv_col2im_planes.wgsl (transposedGatherViaCols) rather
 * than by phases. Only with register kernels and dilation 1 (conv_col2im_planes.wgsl's). By itself ('auto'),
 * only where it was measured to pay or tie (bench/results/conv-routes.md), with the subgroup kernels on a CPU
 * adapter:
 * - with one output channel (the conv's Cin = 1: the DCGAN's G4 forward and D1 input gradient), at any batch, in
 *   place of the matrix product of singleChannelTransposed: the 1×1 conv shares its tap weights across a subgroup,
 *   where the matrix product loads them lane by lane;
 * - for batches of at least 128, when the phases would run at least 1.3× the multiply-adds of the 1×1 conv (a small
 *   source grid, whose border pixels run taps that fall outside it: G2's forward, 1.49×; D3's input gradient,
 *   1.36×), but not from a 1×1 source (D4's input gradient: there the 1×1 conv ran slower). In the committed run
 *   (2026-12-02 07:42 UTC) at batch 256 the 1×1 conv ran G2's forward 1.30× faster and tied on D3's input gradient
 *   (1.01×); at 64 the two routes split (G2's forward 1.13× faster as a 1×1 conv, D3's input gradient 1.09× faster
 *   by phases, so the rule keeps the phases there); at 16 the phases won both (1.27×).
 */
function transposedViaCols(geo: ConvGeometry, version: ConvVersion): boolean {
  const { tiled, SG } = convTile(version, 1, 'gather');
  if (tiled || geo.dilation[0] !== 1 || geo.dilation[1] !== 1) return false;
  if (transposedRoute !== 'auto') return transposedRoute === 'cols';
  if (!engine().adapter.isCPU || SG === 1) return false;
  if (geo.Cin === 1) return true;
  const work = transposedWork(geo);
  return geo.N >= 128 && geo.Ho * geo.Wo > 1 && work.phases >= 1.3 * work.cols;
}

/**
 * The transposed gather (conv2d's input gradient, convTranspose2d's forward) as a 1×1 conv and a col2im:
 * cols[n, c·taps + tap, r, q] = Σ_ch w[ch, c, tap] · src[n, ch, r, q] by the forward gather (one tap, w read in place
 * through GatherLayout), then conv_col2im_planes.wgsl adds the columns that land on each output pixel. `w` is conv
 * layout [Cout, Cin, kh, kw]: src has the conv's Cout channels, the output its Cin.
 */
function transposedGatherViaCols(
  geo: ConvGeometry,
  src: Tensor,
  w: Tensor,
  bias: Tensor | null,
  version: ConvVersion,
  activation?: ConvActivation,
): Tensor {
  const [srcC, outC] = [geo.Cout, geo.Cin];
  const taps = geo.kh * geo.kw;
  const srcHW = geo.Ho * geo.Wo;
  const cols = Tensor.empty([geo.N, outC * taps, geo.Ho, geo.Wo]);
  const pointwise: ConvGeometry = {
    N: geo.N,
    Cin: srcC,
    H: geo.Ho,
    W: geo.Wo,
    Cout: outC * taps,
    Ho: geo.Ho,
    Wo: geo.Wo,
    kh: 1,
    kw: 1,
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
  };
  // src and cols are NCHW; the weight of (c = ch, m = c·taps + tap) is w[ch, c, tap], one tap
  gatherConvWith(pointwise, src, w, null, false, version, {
    weight: { offset: 0, tap: 0, chan: outC * taps, m: 1, last: outC * taps - 1 },
    into: cols,
  });
  const out = Tensor.empty([geo.N, outC, geo.H, geo.W]);
  const planes = geo.N * outC;
  const groups = Math.ceil(planes / 64);
  for (let g0 = 0; g0 < groups; g0 += convTiles.col2imPlaneGroups) {
    engine().launch(
      { shader: 'conv_col2im_planes', constants: activationConstants(activation) },
      {
        params: shaderParams('conv_col2im_planes', {
          planes,
          channels: outC,
          ...col2imSizes(geo),
          hasBias: bias ? 1 : 0,
          planeOffset: g0,
        }),
        buffers: [cols.buffer, (bias ?? cols).buffer, out.buffer],
        workgroups: [Math.min(convTiles.col2imPlaneGroups, groups - g0), geo.H, 1],
      },
    );
  }
  cols.dispose();
  return out;
}

/**
 * The transposed gather with one output channel (conv input = 1 channel: the DCGAN generator's 64→1 output layer,
 * and the input gradient of the discriminator's 1→64 first layer), as a matrix product and conv_col2im.wgsl:
 * cols[n] = src[n]ᵀ · w[C, kh·kw] (each source value feeds kh·kw multiply-adds instead of one), then each output
 * pixel adds the ≤ ⌈kh/s⌉·⌈kw/s⌉ columns that land on it. `w` is conv layout [Cout = C, 1, kh, kw].
 */
function singleChannelTransposed(
  geo: ConvGeometry,
  src: Tensor,
  w: Tensor,
  bias: Tensor | null,
  activation?: ConvActivation,
): Tensor {
  const out = Tensor.empty([geo.N, 1, geo.H, geo.W]);
  if (out.size === 0) return out;
  const C = geo.Cout;
  const srcHW = geo.Ho * geo.Wo;
  const taps = geo.kh * geo.kw;
  // The matmul kernel wants at least 16 output columns (narrower ones take its slow path): pad the taps with zeros.
  const tStride = Math.max(16, taps);
  // As packed rows of one "tap": wt[c][t] = w[c·taps + t] for t < taps, zeros up to tStride.
  const wt = tStride === taps ? w.buffer : packRows(w, 1, C, taps, tStride, taps, 1);
  const cols = Tensor.empty([geo.N, srcHW, tStride]);
  launchMatmul({
    A: src.buffer,
    B: wt,
    C: cols.buffer,
    M: srcHW,
    N: tStride,
    K: C,
    batch: geo.N,
    aBatchStride: C * srcHW,
    bBatchStride: 0,
    cBatchStride: srcHW * tStride,
    transA: true,
    transB: false,
    accumulate: false,
  });
  engine().launch(
    { shader: 'conv_col2im', constants: activationConstants(activation) },
    {
      params: shaderParams('conv_col2im', {
        count: out.size,
        tStride,
        ...col2imSizes(geo),
        hasBias: bias ? 1 : 0,
      }),
      buffers: [cols.buffer, (bias ?? cols).buffer, out.buffer],
      workgroups: grid1d(out.size, 256),
    },
  );
  cols.dispose();
  return out;
}

/**
 * Runs conv2d_weight_grad.wgsl (or its _tiled version): dW[m, c, i, j] = Σ P[n,m,oh,ow] · G[n,c, oh·s−p+i·d, ow·s−p+j·d], P at the conv
 * output resolution (Ho, Wo), G at the conv input resolution (H, W). Returns [pC, gC, kh, kw].
 */
function weightGrad(geo: ConvGeometry, P: Tensor, G: Tensor, into: Tensor | null = null): Tensor {
  const [pC, gC] = [P.shape[1], G.shape[1]];
  convWork.flops += passFlops(geo);
  if (pC * gC * geo.kh * geo.kw === 0) return into ?? Tensor.empty([pC, gC, geo.kh, geo.kw]);
  if (geo.N * geo.Ho * geo.Wo === 0) return into ?? Tensor.zeros([pC, gC, geo.kh, geo.kw]); // an empty sum
  if (forcedVersion === 'naive') return naiveWeightGrad(geo, P, G, into);
  const version = pickConv(`conv.wgrad|${geometryKey(geo)}`, pC, 'wgrad', () => {
    const p = Tensor.zeros(P.shape);
    const g = Tensor.zeros(G.shape);
    return {
      run: (v) => weightGradWith(geo, p, g, v as ConvVersion).dispose(),
      dispose: () => [p, g].forEach((t) => t.dispose()),
    };
  });
  return weightGradWith(geo, P, G, version, into);
}

/** How the weight gradient is computed: 'auto' (wgradAsGather decides), or always one way (tests, benchmarks). */
export type WgradRoute = 'auto' | 'split' | 'gather';
let wgradRoute: WgradRoute = 'auto';

/** Forces the weight gradient's route ('split': weightGradSplit, 'gather': weightGradAsGather where it can run). */
export function setWgradRoute(route: WgradRoute): void {
  wgradRoute = route;
}

/**
 * Whether the weight gradient runs as a gather (weightGradAsGather) rather than split-K (weightGradSplit): only with
 * register kernels. By itself ('auto'), only where it was measured to pay (bench/results/conv-routes.md): the
 * subgroup kernels on a CPU adapter (lavapipe), for layers with at least 256 im2col columns (G's channels × taps:
 * the gather's output pixels), 8 rows (P's channels: the gather's output channels) and 8 images, and P maps of at
 * most 16 × 16 pixels (the gather's taps; the DCGAN's are ≤ 15 × 15, and the work of one workgroup grows with
 * them). The 1-channel layers (D1: 16 columns, G4: 9) ran slower as a gather, and D4 (1 row) no faster.
 */
function wgradAsGather(geo: ConvGeometry, pC: number, gC: number, version: ConvVersion): boolean {
  const { tiled, SG } = convTile(version, 1, 'wgrad');
  if (tiled) return false;
  if (wgradRoute !== 'auto') return wgradRoute === 'gather';
  return (
    engine().adapter.isCPU && SG > 1 && gC * geo.kh * geo.kw >= 256 && pC >= 8 && geo.N >= 8 && geo.Ho * geo.Wo <= 256
  );
}

/**
 * The weight gradient as the gather of a forward conv, with the roles of images and channels swapped:
 *   dW[m, c, i, j] = Σ_{n, oh, ow} P[n, m, oh, ow] · G[n, c, oh·s − p + i·d, ow·s − p + j·d]
 * is a conv whose batch is G's channels c, whose input channels are the images n, whose kernel taps are P's pixels
 * (oh, ow) with dilation s, and whose output, kh × kw pixels per (c, m), is dW: stride and dilation trade places.
 * The gather reads G and P where they lie and writes dW in its own layout (GatherLayout), so nothing is copied or
 * packed. The images go in chunks (wgradChunkImages), each launch adding its sum into dW (ACCUMULATE), so
 * that one launch reads a few images' data at a time, in a fixed order. With `into`, the first chunk adds into it
 * too and `into` is returned: into + dW when one chunk covers the batch, rounded once as a separate add would; with
 * several, ((into + dW₁) + dW₂) + …, each add rounded.
 */
const weightGradAsGather: WeightGradRoute = (geo, P, G, version, into = null) => {
  const [pC, gC] = [P.shape[1], G.shape[1]];
  const taps = geo.kh * geo.kw;
  const gHW = geo.H * geo.W;
  const pHW = geo.Ho * geo.Wo;
  const out = into ?? Tensor.empty([pC, gC, geo.kh, geo.kw]);
  const chunk = wgradChunkImages(geo.N, 4 * (gC * gHW + pC * pHW));
  for (let n0 = 0; n0 < geo.N; n0 += chunk) {
    const images = Math.min(chunk, geo.N - n0);
    const swapped: ConvGeometry = {
      N: gC,
      Cin: images,
      H: geo.H,
      W: geo.W,
      Cout: pC,
      Ho: geo.kh,
      Wo: geo.kw,
      kh: geo.Ho,
      kw: geo.Wo,
      stride: geo.dilation,
      padding: geo.padding,
      dilation: geo.stride,
    };
    gatherConvWith(swapped, G, P, null, false, version, {
      src: { offset: n0 * gC * gHW, batch: gHW, chan: gC * gHW }, // batch b = G's channel c, channel = image n
      weight: { offset: n0 * pC * pHW, tap: 1, chan: pC * pHW, m: pHW, last: pC - 1 }, // P[n, m, tap]
      out: { batch: taps, chan: gC * taps }, // dW[m, c, i, j]
      into: out,
      accumulate: n0 > 0 || into !== null,
    });
  }
  return out;
};

/**
 * Images per launch of weightGradAsGather: convTiles.wgradImages if set; else the whole batch where its G and P data
 * (`bytesPerImage` an image) fit in convTiles.wgradChunkBytes; else the largest power of two below the batch that
 * fits, at least 1. Why a byte budget and not a fixed count: a fixed 32 images ran G1's weight gradient at batch 256
 * (9.6 KB an image) in 8 launches of 16 multiply-adds per tap and lane, where one launch of all 256 ran faster in a
 * scratch A/B on lavapipe (its figures were not kept); the larger layers' images ran best in smaller chunks there.
 * `bench/conv-routes.ts` times the routes a pass takes; the chunk size itself has no committed measurement.
 */
function wgradChunkImages(batch: number, bytesPerImage: number): number {
  if (convTiles.wgradImages !== null) return Math.max(1, Math.floor(convTiles.wgradImages));
  if (batch * bytesPerImage <= convTiles.wgradChunkBytes) return batch;
  let images = 1;
  while (images * 2 < batch && images * 2 * bytesPerImage <= convTiles.wgradChunkBytes) images *= 2;
  return images;
}

/** A way to compute weightGrad with a given kernel version: [pC, gC, kh, kw], or added into `into`. */
type WeightGradRoute = (geo: ConvGeometry, P: Tensor, G: Tensor, version: ConvVersion, into?: Tensor | null) => Tensor;

/** weightGrad with a given kernel version, by the route wgradAsGather picks. */
const weightGradWith: WeightGradRoute = (geo, P, G, version, into = null) => {
  const route = wgradAsGather(geo, P.shape[1], G.shape[1], version) ? weightGradAsGather : weightGradSplit;
  return route(geo, P, G, version, into);
};

/**
 * weightGrad as a split-K GEMM over pixels (conv2d_weight_grad*.wgsl). With `into` (a gradient already held for
 * the same weight: one used twice, as D's on the real and the fake batch), the result is added into it in place —
 * by the kernel itself (ACCUMULATE) when one chunk covers the sum, else by the reduction of the chunks — and `into`
 * is returned: the same into + dW, rounded once, that a separate add would give.
 */
const weightGradSplit: WeightGradRoute = (geo, P, G, version, into = null) => {
  const pC = P.shape[1];
  const gC = G.shape[1];
  const taps = geo.kh * geo.kw;
  const columns = gC * taps;
  // A workgroup covers TM rows × CL·TC columns for 64 / CL chunks of pixels: register kernel, TM × TC per
  // invocation of 64; tiled kernel, TM × 64 staged through workgroup memory (CL = 64, one chunk).
  const { tiled, TM, SG, vec4 } = convTile(version, pC, 'wgrad');
  // The device's subgroup size, not SG: the plain kernel cuts the same chunks as the _sg one, so both give the same bits.
  const { TC, CL } = tiled ? { TC: 1, CL: 64 } : wgradLanes(convTiles.wgradTC, TM, columns, laneGroup());
  const chunksPerGroup = 64 / CL;
  const mBlocks = Math.ceil(pC / TM);
  const colGroups = Math.ceil(columns / (CL * TC));
  const K = geo.N * geo.Ho * geo.Wo;
  // Enough chunks that a few thousand invocations (register) or about a thousand workgroups (tiled) share the
  // work, but each keeps ≥ 64 pixels (tiled: 256) to sum over.
  const chunks = tiled
    ? Math.max(1, Math.min(Math.ceil(TILED_WGRAD_WORKGROUPS / (mBlocks * colGroups)), Math.floor(K / 256)))
    : Math.max(1, Math.min(Math.ceil(4096 / (mBlocks * Math.ceil(columns / TC))), Math.floor(K / 64)));
  const pixelsPerChunk = Math.ceil(K / chunks);
  const usedChunks = Math.ceil(K / pixelsPerChunk);
  const chunkGroups = Math.ceil(usedChunks / chunksPerGroup);
  const shape = [pC, gC, geo.kh, geo.kw];
  // One chunk with `into`: the kernel adds its sums into it; several: chunk sums first, added in by the reduction.
  const direct = usedChunks === 1 && into !== null;
  const constants = direct ? { ACCUMULATE: true } : undefined;
  const kernel: Kernel & { shader: 'conv2d_weight_grad' | 'conv2d_weight_grad_sg' | 'conv2d_weight_grad_tiled' } = tiled
    ? {
        shader: 'conv2d_weight_grad_tiled',
        subs: { TILE_M: String(TM), PER_M: TM === 128 ? '8' : '4', VEC4: String(vec4) },
        constants,
      }
    : SG > 1
      ? {
          shader: 'conv2d_weight_grad_sg',
          subs: { TM: String(TM), TC: String(TC), CL: String(CL), SG: String(SG) },
          constants,
        }
      : { shader: 'conv2d_weight_grad', subs: { TM: String(TM), TC: String(TC), CL: String(CL) }, constants };
  const partial = direct ? into : Tensor.empty(usedChunks > 1 ? [usedChunks, ...shape] : shape);
  if (partial.size === 0) return partial;
  const unitFlops = 2 * pixelsPerChunk * chunksPerGroup * TM * columns;
  for (const [z0, nz, m0, nm] of launchRanges(chunkGroups, mBlocks, unitFlops, tiled)) {
    const params = shaderParams(kernel.shader, {
      gC,
      gH: geo.H,
      gW: geo.W,
      batch: geo.N,
      pC,
      pH: geo.Ho,
      pW: geo.Wo,
      taps,
      kw: geo.kw,
      pixelsPerChunk,
      ...hyperParams(geo),
      chunkOffset: z0,
      mBlockOffset: m0,
      chunks: usedChunks,
    });
    engine().launch(kernel, { params, buffers: [P.buffer, G.buffer, partial.buffer], workgroups: [colGroups, nm, nz] });
  }
  if (usedChunks === 1) return partial;
  const total = into ? reduceRaw(partial, [0], 'sum', 1, into) : sum(partial, 0);
  partial.dispose();
  return total;
};

// ------------------------------------------------------------------ v1: one output value per invocation

/** The conv geometry as the naive kernels' Params fields (conv2d_naive.wgsl, conv2d_weight_grad_naive.wgsl). */
function naiveSizes(geo: ConvGeometry) {
  const { N, Cin, H, W, Cout, Ho, Wo, kh, kw } = geo;
  return { N, Cin, H, W, Cout, Ho, Wo, kh, kw, ...hyperParams(geo) };
}

/**
 * Launches a naive kernel over `count` output values, 256 per workgroup, in dispatches of at most the adapter's
 * FLOPs per dispatch (each value's sum is `terms` multiply-adds); `params` gives a dispatch's, from its first group.
 */
function launchNaive(
  kernel: Kernel,
  count: number,
  terms: number,
  params: (groupOffset: number) => ParamBlock,
  buffers: GPUBuffer[],
): void {
  for (const [g0, ng] of launchRanges(Math.ceil(count / 256), 1, 2 * 256 * terms, true))
    engine().launch(kernel, { params: params(g0), buffers, workgroups: [ng, 1, 1] });
}

/** gatherConv by conv2d_naive.wgsl: forward, or the transposed gather (input gradient, convTranspose2d forward). */
function naiveGather(
  geo: ConvGeometry,
  src: Tensor,
  w: Tensor,
  bias: Tensor | null,
  transposed: boolean,
  activation?: ConvActivation,
): Tensor {
  const out = Tensor.empty(transposed ? [geo.N, geo.Cin, geo.H, geo.W] : [geo.N, geo.Cout, geo.Ho, geo.Wo]);
  if (out.size === 0) return out;
  const terms = (transposed ? geo.Cout : geo.Cin) * geo.kh * geo.kw;
  launchNaive(
    {
      shader: 'conv2d_naive',
      entry: transposed ? 'input_grad' : 'forward',
      constants: activationConstants(activation),
    },
    out.size,
    terms,
    (groupOffset) =>
      shaderParams('conv2d_naive', { ...naiveSizes(geo), hasBias: bias ? 1 : 0, count: out.size, groupOffset }),
    [src.buffer, w.buffer, (bias ?? w).buffer, out.buffer],
  );
  return out;
}

/** weightGrad by conv2d_weight_grad_naive.wgsl; with `into`, added into it by the kernel (ACCUMULATE). */
function naiveWeightGrad(geo: ConvGeometry, P: Tensor, G: Tensor, into: Tensor | null): Tensor {
  const out = into ?? Tensor.empty([geo.Cout, geo.Cin, geo.kh, geo.kw]);
  launchNaive(
    { shader: 'conv2d_weight_grad_naive', constants: into ? { ACCUMULATE: true } : undefined },
    out.size,
    geo.N * geo.Ho * geo.Wo,
    (groupOffset) => shaderParams('conv2d_weight_grad_naive', { ...naiveSizes(geo), count: out.size, groupOffset }),
    [P.buffer, G.buffer, out.buffer],
  );
  return out;
}

function biasGrad(dy: Tensor): Tensor {
  return sum(dy, [0, 2, 3]);
}

// ------------------------------------------------------------------ ops

/** An activation conv2d and convTranspose2d apply to their output in the same launch: LeakyReLU (slope > 0) or tanh. */
export type ConvActivation = { kind: 'leaky_relu'; slope: number } | { kind: 'tanh' };

/**
 * Whether a LeakyReLU's slope can be applied in a conv's kernel: positive (at 0 a driver may fold SLOPE·v, a
 * pipeline constant, to +0 where the separate op's run-time product gives −0 or NaN) and finite in float32 (a
 * pipeline constant must be).
 */
export function fusableSlope(slope: number): boolean {
  return slope > 0 && Number.isFinite(Math.fround(slope));
}

/** The kernels' override constants for an activation (lib/activation.wgsl). */
function activationConstants(act: ConvActivation | undefined): Record<string, boolean | number> {
  if (!act) return {};
  return act.kind === 'tanh' ? { TANH: true } : { LEAKY: true, SLOPE: act.slope };
}

function checkActivation(op: string, act: ConvActivation | undefined): void {
  if (act && !(act.kind === 'tanh' || (act.kind === 'leaky_relu' && fusableSlope(act.slope))))
    throw new Error(
      `${op}: activation must be tanh or a LeakyReLU with a slope > 0 that is finite in float32, got ${JSON.stringify(act)}`,
    );
}

/**
 * The separate pass of an activation (the one route without an epilogue: a transposed conv of a 1×1 input, a matrix
 * product and a bias add); `y` is freed when no graph keeps it.
 */
function applyActivation(y: Tensor, act: ConvActivation): Tensor {
  const out = act.kind === 'tanh' ? y.tanh() : y.leakyRelu(act.slope);
  if (!out.requiresGrad) y.dispose();
  return out;
}

/**
 * 2-D convolution (cross-correlation, as torch.nn.functional.conv2d): x [N,Cin,H,W], w [Cout,Cin,kh,kw],
 * optional bias [Cout] → [N, Cout, Ho, Wo]. With `activation`, followed by that activation inside the conv's own
 * kernel (one launch fewer, the same values and gradients as conv2d then the activation op: the backward reads only
 * the output, see activationBackwardFromOutput).
 */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias?: Tensor | null,
  opts: Conv2dOptions & { activation?: ConvActivation } = {},
): Tensor {
  const op = 'conv2d';
  const act = opts.activation;
  checkActivation(op, act);
  checkRank4(op, 'input x [N,Cin,H,W]', x);
  checkRank4(op, 'weight w [Cout,Cin,kh,kw]', w);
  const h = hyper(op, opts, false);
  const [N, Cin, H, W] = x.shape;
  const [Cout, wCin, kh, kw] = w.shape;
  if (wCin !== Cin)
    throw new Error(
      `${op}: input ${formatShape(x.shape)} has ${Cin} channels but weight ${formatShape(w.shape)} expects ${wCin} (weight is [Cout, Cin, kh, kw])`,
    );
  checkBias(op, bias, Cout);
  for (const d of [0, 1]) {
    const span = h.dilation[d] * ([kh, kw][d] - 1) + 1;
    const padded = [H, W][d] + 2 * h.padding[d];
    if (span > padded) {
      throw new Error(
        `${op}: kernel ${kh}x${kw} (dilation ${formatShape(h.dilation)}, extent ${span}) is larger than the padded input ${H + 2 * h.padding[0]}x${W + 2 * h.padding[1]} (input ${formatShape(x.shape)}, padding ${formatShape(h.padding)})`,
      );
    }
  }
  const [Ho, Wo] = conv2dOutputSize([H, W], [kh, kw], opts);
  const geo: ConvGeometry = {
    N,
    Cin,
    H,
    W,
    Cout,
    Ho,
    Wo,
    kh,
    kw,
    stride: h.stride,
    padding: h.padding,
    dilation: h.dilation,
  };
  const b = bias ?? null;
  const out = gatherConv(geo, x, w, b, false, act);
  return recordConv(out, op, act, b ? [x, w, b] : [x, w], (dy, into) => [
    x.requiresGrad ? gatherConv(geo, dy, w, null, true) : null,
    w.requiresGrad ? weightGrad(geo, dy, x, into[1] ?? null) : null,
    ...(b ? [b.requiresGrad ? biasGrad(dy) : null] : []),
  ]);
}

/**
 * Records a conv op whose kernel applied `act` (if any) to `out`: the backward first takes the gradient back through
 * the activation (activationBackwardFromOutput), then `grads` gives the conv's own gradients from it.
 */
function recordConv(
  out: Tensor,
  op: string,
  act: ConvActivation | undefined,
  inputs: Tensor[],
  grads: GradNode['backward'],
): Tensor {
  if (!act) return record(out, op, inputs, grads);
  return record(out, `${op}+${act.kind}`, inputs, (g, into) => {
    const dy = activationBackwardFromOutput(out, g, act);
    const result = grads(dy, into);
    dy.dispose();
    return result;
  });
}

/**
 * Transposed 2-D convolution (torch.nn.functional.conv_transpose2d): x [N,Cin,H,W], w [Cin,Cout,kh,kw],
 * optional bias [Cout] → [N, Cout, (H−1)·s − 2p + d·(k−1) + outputPadding + 1, ...]. With `activation`, followed by
 * it inside the op's last kernel (as conv2d's); a 1×1 input (a matrix product and a bias add) runs it as a pass of
 * its own.
 */
export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  bias?: Tensor | null,
  opts: ConvTranspose2dOptions & { activation?: ConvActivation } = {},
): Tensor {
  const op = 'convTranspose2d';
  const act = opts.activation;
  checkActivation(op, act);
  checkRank4(op, 'input x [N,Cin,H,W]', x);
  checkRank4(op, 'weight w [Cin,Cout,kh,kw]', w);
  const h = hyper(op, opts, true);
  const [N, Cin, H, W] = x.shape;
  const [wCin, Cout, kh, kw] = w.shape;
  if (wCin !== Cin)
    throw new Error(
      `${op}: input ${formatShape(x.shape)} has ${Cin} channels but weight ${formatShape(w.shape)} expects ${wCin} (weight is [Cin, Cout, kh, kw])`,
    );
  checkBias(op, bias, Cout);
  const [Ho, Wo] = convTranspose2dOutputSize([H, W], [kh, kw], opts);
  if (Ho < 1 || Wo < 1)
    throw new Error(
      `${op}: output size ${Ho}x${Wo} is empty for input ${formatShape(x.shape)}, kernel ${kh}x${kw}, padding ${formatShape(h.padding)}, stride ${formatShape(h.stride)}`,
    );
  if (
    H === 1 &&
    W === 1 &&
    [...h.padding, ...h.outputPadding].every((p) => p === 0) &&
    h.dilation.every((d) => d === 1)
  ) {
    // a matrix product and a bias add: the activation is a pass of its own
    const y = convTransposeFromPoint(x, w, bias ?? null);
    return act ? applyActivation(y, act) : y;
  }
  // The conv whose adjoint this is: conv input = our output, conv output = our input, conv weight = w.
  const geo: ConvGeometry = {
    N,
    Cin: Cout,
    H: Ho,
    W: Wo,
    Cout: Cin,
    Ho: H,
    Wo: W,
    kh,
    kw,
    stride: h.stride,
    padding: h.padding,
    dilation: h.dilation,
  };
  const b = bias ?? null;
  const out = gatherConv(geo, x, w, b, true, act);
  return recordConv(out, op, act, b ? [x, w, b] : [x, w], (dy, into) => [
    x.requiresGrad ? gatherConv(geo, dy, w, null, false) : null,
    w.requiresGrad ? weightGrad(geo, x, dy, into[1] ?? null) : null,
    ...(b ? [b.requiresGrad ? biasGrad(dy) : null] : []),
  ]);
}

/**
 * convTranspose2d of a 1×1 input without padding, output padding or dilation — the DCGAN generator's first layer,
 * z [N, 100, 1, 1] → [N, 256, 3, 3]. Every output pixel (i, j) then takes exactly tap (i, j) of the one input
 * pixel, so the op is a matrix product: y[N, Cout·kh·kw] = x[N, Cin] · w[Cin, Cout·kh·kw] (w's own layout), run
 * by the matmul op, whose backward (dx = dy · wᵀ, dw = xᵀ · dy) reads the transposes in place.
 */
function convTransposeFromPoint(x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  const [N, Cin] = x.shape;
  const [, Cout, kh, kw] = w.shape;
  const x2 = reshape(x, [N, Cin]);
  const w2 = reshape(w, [Cin, Cout * kh * kw]);
  const product = matmul(x2, w2);
  const y = reshape(product, [N, Cout, kh, kw]);
  const b = bias ? reshape(bias, [Cout, 1, 1]) : null;
  const out = b ? add(y, b) : y;
  // The views and the product are graph nodes when autograd records (their tidy scope frees them); else free now.
  if (!out.requiresGrad) for (const t of [x2, w2, product, b, out === y ? null : y]) t?.dispose();
  return out;
}

// ------------------------------------------------------------------ single passes (torch.nn.grad style)

function geometryOf(
  op: string,
  xShape: readonly number[],
  yShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dOptions,
): ConvGeometry {
  const h = hyper(op, opts, false);
  const [N, Cin, H, W] = xShape;
  const [, Cout, Ho, Wo] = yShape;
  if (wShape[0] !== Cout || wShape[1] !== Cin)
    throw new Error(
      `${op}: weight ${formatShape(wShape)} does not map input ${formatShape(xShape)} to output ${formatShape(yShape)}`,
    );
  return {
    N,
    Cin,
    H,
    W,
    Cout,
    Ho,
    Wo,
    kh: wShape[2],
    kw: wShape[3],
    stride: h.stride,
    padding: h.padding,
    dilation: h.dilation,
  };
}

/**
 * The input gradient of conv2d alone (torch.nn.grad.conv2d_input): dX [N,Cin,H,W] from dY and w [Cout,Cin,kh,kw].
 * Not recorded by autograd; used by benchmarks and for second-order tricks.
 */
export function conv2dInputGrad(
  inputShape: [number, number, number, number],
  w: Tensor,
  dy: Tensor,
  opts: Conv2dOptions = {},
): Tensor {
  return gatherConv(geometryOf('conv2dInputGrad', inputShape, dy.shape, w.shape, opts), dy, w, null, true);
}

/** The weight gradient of conv2d alone (torch.nn.grad.conv2d_weight): dW [Cout,Cin,kh,kw] from x and dY. */
export function conv2dWeightGrad(x: Tensor, kernel: [number, number], dy: Tensor, opts: Conv2dOptions = {}): Tensor {
  const geo = geometryOf('conv2dWeightGrad', x.shape, dy.shape, [dy.shape[1], x.shape[1], ...kernel], opts);
  return weightGrad(geo, dy, x);
}

/** The input gradient of convTranspose2d alone: dX [N,Cin,H,W] = conv2d(dY, w) without bias. */
export function convTranspose2dInputGrad(
  inputShape: [number, number, number, number],
  w: Tensor,
  dy: Tensor,
  opts: Conv2dOptions = {},
): Tensor {
  return gatherConv(geometryOf('convTranspose2dInputGrad', dy.shape, inputShape, w.shape, opts), dy, w, null, false);
}

/** The weight gradient of convTranspose2d alone: dW [Cin,Cout,kh,kw] from its input x and dY. */
export function convTranspose2dWeightGrad(
  x: Tensor,
  kernel: [number, number],
  dy: Tensor,
  opts: Conv2dOptions = {},
): Tensor {
  const geo = geometryOf('convTranspose2dWeightGrad', dy.shape, x.shape, [x.shape[1], dy.shape[1], ...kernel], opts);
  return weightGrad(geo, x, dy);
}
