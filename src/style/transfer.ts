/**
 * Neural style transfer (Gatys, Ecker & Bethge 2015): optimise an image so that its deep features match a
 * content image's and its feature correlations (Gram matrices) match a style image's.
 *
 * `runStyleTransfer` is the one entry point the CLI and a browser page share. It does, per scale of a
 * coarse-to-fine pyramid: resize the inputs, compute the fixed targets (content features, blended style Grams)
 * once without a graph, then repeatedly evaluate  total = α·content + β·style + γ·TV  and its gradient with
 * respect to the image, stepping with Adam (the notebook's settings) or L-BFGS. The result of one scale is
 * upsampled to start the next. Options beyond the lesson: several style images with blend weights, style
 * scale, and colour preservation (transfer on luminance only, then the content's chroma put back).
 *
 * The image is optimised in pixel space: RGB in [0, 1]. Each network's preprocessing (Keras BGR/0–255/mean or
 * torchvision mean/std) is applied inside the graph, so weights and results are comparable across networks.
 */
import { Tensor, tidy, noGrad, concat, engine } from '../tensor/index.ts';
import { Adam } from '../nn/optim.ts';
import { bilinearResize, bilinearResizeNchw, rgbaToNchw, nchwToRgba, type RgbaImage } from '../io/image.ts';
import { FeatureNet } from './nets.ts';
import {
  contentLoss,
  styleLayerLoss,
  gramMatrix,
  totalVariationLoss,
  type GramNormalize,
  type TvKind,
} from './losses.ts';
import { LBFGS, type Objective } from './lbfgs.ts';
import { MAX_STYLE_SIZE } from './style-options.ts';

export type InitKind = 'noise' | 'content' | 'content+noise';
export type OptimizerKind = 'adam' | 'lbfgs';

export interface StyleImage {
  image: RgbaImage;
  /** Blend weight (weights are normalised to sum 1). Default 1. */
  weight?: number;
  /** Where it came from (a file name), for messages; default 'style image N'. */
  name?: string;
}

export interface StyleTransferOptions {
  content: RgbaImage;
  styles: StyleImage[];
  /** The feature network (e.g. randomFeatureNet() or one loaded from a weights file). */
  net: FeatureNet;
  /** Longest side of the result in pixels (the content's aspect ratio is kept). */
  size: number;
  /**
   * Coarse-to-fine: longest sides of the scales, ending with `size` (e.g. [128, 256]). Default [size].
   * Steps are split evenly unless `stepsPerScale` is given.
   */
  scales?: number[];
  /** Total optimiser iterations (over all scales). */
  steps: number;
  stepsPerScale?: number[];
  optimizer: OptimizerKind;
  /** Adam settings; default the lesson's TF2 notebook: lr 0.02, betas (0.99, 0.999), eps 0.1. */
  adam?: { lr?: number; betas?: [number, number]; eps?: number };
  /** L-BFGS settings; default history 10, strong-Wolfe line search. */
  lbfgs?: { historySize?: number; lineSearch?: 'strong-wolfe' | 'none'; lr?: number };
  contentLayers?: string[];
  styleLayers?: string[];
  /** Per style layer weight (same order as styleLayers). Default 1/number of layers each. */
  styleLayerWeights?: number[];
  contentWeight?: number;
  styleWeight?: number;
  tvWeight?: number;
  tvKind?: TvKind;
  /** β of the squared TV form Σ (dx² + dy²)^(β/2). Default 2.5 (the Keras example's exponent 1.25). */
  tvBeta?: number;
  gramNormalize?: GramNormalize;
  init?: InitKind;
  /** Share of noise in 'content+noise' init. Default 0.5. */
  noiseRatio?: number;
  seed?: number;
  /** Transfer on luminance only and keep the content's colours. */
  preserveColor?: boolean;
  /** Style images are resized to styleScale × the current scale's size. Default 1. */
  styleScale?: number;
  /** Call onSnapshot every this many iterations (0: never). */
  snapshotEvery?: number;
  /**
   * How the content and style images are shrunk to each scale's size: bilinearResize unless given. A caller's
   * function must give bilinearResize's pixels; the browser page runs it in a Worker, where it already holds the
   * decoded photos, so that shrinking a large one does not hold the page's thread for seconds.
   */
  resize?: ResizeImage;
}

/** Shrinks (or grows) an image to width × height: bilinearResize's result, at once or later. */
export type ResizeImage = (image: RgbaImage, width: number, height: number) => RgbaImage | Promise<RgbaImage>;

export interface LossValues {
  total: number;
  content: number;
  style: number;
  tv: number;
}

export interface IterationInfo {
  /** Iteration number over all scales, from 1. */
  iteration: number;
  totalIterations: number;
  /** Index into the scales and the size of this one. */
  scaleIndex: number;
  width: number;
  height: number;
  /** Weighted loss terms after this iteration (for L-BFGS: at the accepted point). */
  losses: LossValues;
  /** Objective evaluations so far (forward + backward passes). */
  evaluations: number;
  /** Seconds since the start. */
  seconds: number;
}

export interface StyleTransferCallbacks {
  onIteration?: (info: IterationInfo) => void | Promise<void>;
  onSnapshot?: (image: RgbaImage, info: IterationInfo) => void | Promise<void>;
  /** Also notified when a new scale starts. */
  onScale?: (scaleIndex: number, width: number, height: number) => void;
}

export interface StyleTransferResult {
  image: RgbaImage;
  history: IterationInfo[];
  /** The feature network used, in words (say it plainly in any output). */
  featureNet: string;
  seconds: number;
}

/** Defaults that work for the random network and for VGG on pixel-space images (see docs/style). */
export const STYLE_DEFAULTS = {
  contentLayers: ['block4_conv2'],
  styleLayers: ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1'],
  contentWeight: 1,
  styleWeight: 1e8,
  tvWeight: 0.01,
  tvKind: 'abs' as TvKind,
  tvBeta: 2.5,
  gramNormalize: 'chw' as GramNormalize,
  init: 'content' as InitKind,
  noiseRatio: 0.5,
  seed: 1,
  styleScale: 1,
  adam: { lr: 0.02, betas: [0.99, 0.999] as [number, number], eps: 0.1 },
  lbfgs: { historySize: 10, lineSearch: 'strong-wolfe' as 'strong-wolfe' | 'none', lr: 1 },
} as const;

/** Size of an image whose longest side is `longest`, keeping `w:h`. */
export function fitSize(w: number, h: number, longest: number): { width: number; height: number } {
  const s = longest / Math.max(w, h);
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

// ITU-R 601 YIQ: luminance Y plus two chroma channels; colour preservation keeps the content's I and Q.
const toY = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
const toI = (r: number, g: number, b: number) => 0.596 * r - 0.274 * g - 0.322 * b;
const toQ = (r: number, g: number, b: number) => 0.211 * r - 0.523 * g + 0.312 * b;

/** Luminance plane of an NCHW RGB image in [0, 1]. */
function luminance(rgb: Float32Array, plane: number): Float32Array {
  const y = new Float32Array(plane);
  for (let p = 0; p < plane; p++) y[p] = toY(rgb[p], rgb[plane + p], rgb[2 * plane + p]);
  return y;
}

/** Shifts and scales `y` to the mean and standard deviation of `ref` (luminance matching for colour preservation). */
function matchMeanStd(y: Float32Array, ref: Float32Array): Float32Array {
  const stats = (a: Float32Array) => {
    let m = 0;
    for (const v of a) m += v;
    m /= a.length;
    let s = 0;
    for (const v of a) s += (v - m) ** 2;
    return [m, Math.sqrt(s / a.length) || 1];
  };
  const [my, sy] = stats(y);
  const [mr, sr] = stats(ref);
  return y.map((v) => (v - my) * (sr / sy) + mr);
}

/** Recombines an optimised luminance plane with the content's chroma; returns RGB NCHW in [0, 1]. */
function withContentChroma(y: Float32Array, contentRgb: Float32Array, plane: number): Float32Array {
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    const [r, g, b] = [contentRgb[p], contentRgb[plane + p], contentRgb[2 * plane + p]];
    const i = toI(r, g, b);
    const q = toQ(r, g, b);
    out[p] = y[p] + 0.956 * i + 0.621 * q;
    out[plane + p] = y[p] - 0.272 * i - 0.647 * q;
    out[2 * plane + p] = y[p] - 1.106 * i + 1.703 * q;
  }
  return out;
}

/** The size a style image is resized to at one scale: styleScale × the scale on its longest side. */
export function styleDims(image: RgbaImage, scale: number, styleScale = 1): { width: number; height: number } {
  return fitSize(image.width, image.height, Math.max(1, Math.round(scale * styleScale)));
}

/** A style-transfer option that cannot work (a size too small for the layers, a bad blend, …). */
export class StyleOptionsError extends Error {
  override name = 'StyleOptionsError';
}

/**
 * How the caller names the options that remedies point to (the CLI's flags, the page's fields); an option the
 * caller does not offer (null) is left out of them. Default: the option names of StyleTransferOptions.
 */
export interface OptionNames {
  size: string;
  styleScale: string | null;
  scales: string | null;
}

/**
 * Throws StyleOptionsError for options styleTransfer cannot run; the CLI and the web page check before any work.
 * `maxBindingBytes` is the most one GPU buffer binding may hold (default: engine().maxTensorBytes): every
 * feature map of the result and of each style image, at every scale, must fit in it.
 */
export function checkOptions(
  o: StyleTransferOptions,
  ctx: { names?: OptionNames; maxBindingBytes?: number } = {},
): void {
  const bad = (msg: string) => {
    throw new StyleOptionsError(`style transfer: ${msg}`);
  };
  const names = ctx.names ?? { size: 'size', styleScale: 'styleScale', scales: 'scales' };
  // The option that sets scale s: the size, or an entry of the scales before it.
  const scaleOption = (s: number) => (s === o.size ? names.size : `that entry of ${names.scales ?? 'the scales'}`);
  const either = (verb: string, s: number) =>
    `${verb} ${names.styleScale ? `${names.styleScale} or ${scaleOption(s)}` : scaleOption(s)}`;
  if (!o.content) bad('no content image given');
  if (!o.styles?.length) bad('no style image given');
  if (!Number.isInteger(o.size) || o.size < 1) bad(`size must be a positive integer, got ${o.size}`);
  if (!Number.isInteger(o.steps) || o.steps < 0) bad(`steps must be a non-negative integer, got ${o.steps}`);
  if (o.optimizer !== 'adam' && o.optimizer !== 'lbfgs')
    bad(`optimizer must be 'adam' or 'lbfgs', got ${JSON.stringify(o.optimizer)}`);
  const scales = o.scales ?? [o.size];
  if (!scales.length || scales.some((s) => !Number.isInteger(s) || s < 1))
    bad(`scales must be positive integers, got [${scales.join(', ')}]`);
  if (scales[scales.length - 1] !== o.size)
    bad(`the last scale (${scales[scales.length - 1]}) must equal size (${o.size})`);
  if (
    o.stepsPerScale &&
    (o.stepsPerScale.length !== scales.length || o.stepsPerScale.reduce((a, b) => a + b, 0) !== o.steps)
  ) {
    bad(`stepsPerScale [${o.stepsPerScale.join(', ')}] must have one entry per scale and sum to steps (${o.steps})`);
  }
  for (const [i, s] of o.styles.entries())
    if (!((s.weight ?? 1) >= 0)) bad(`style ${i + 1} has a negative or invalid blend weight ${s.weight}`);
  if (o.styles.reduce((a, s) => a + (s.weight ?? 1), 0) <= 0) bad('the style blend weights sum to zero');
  const styleLayers = o.styleLayers ?? [...STYLE_DEFAULTS.styleLayers];
  if (o.styleLayerWeights && o.styleLayerWeights.length !== styleLayers.length) {
    bad(`${o.styleLayerWeights.length} style layer weights for ${styleLayers.length} style layers`);
  }
  if (o.styleScale !== undefined && !(o.styleScale > 0)) bad(`styleScale must be positive, got ${o.styleScale}`);
  if (o.noiseRatio !== undefined && !(o.noiseRatio >= 0 && o.noiseRatio <= 1))
    bad(`noiseRatio must be in [0, 1], got ${o.noiseRatio}`);
  for (const k of ['contentWeight', 'styleWeight', 'tvWeight'] as const) {
    if (o[k] !== undefined && !(o[k]! >= 0)) bad(`${k} must be ≥ 0, got ${o[k]}`);
  }
  const init = o.init ?? STYLE_DEFAULTS.init;
  if (!['noise', 'content', 'content+noise'].includes(init))
    bad(`init must be noise, content or content+noise, got ${JSON.stringify(init)}`);
  if (o.tvBeta !== undefined && !(o.tvBeta > 0)) bad(`tvBeta must be positive, got ${o.tvBeta}`);
  const contentLayers = o.contentLayers ?? STYLE_DEFAULTS.contentLayers;
  if (!contentLayers.length) bad('no content layers given');
  if (!styleLayers.length) bad('no style layers given');
  // Every layer must exist and the smallest scale must be large enough for the deepest one.
  const layers = [...contentLayers, ...styleLayers];
  for (const l of layers) {
    try {
      o.net.layerSpec(l);
    } catch (e) {
      bad((e as Error).message);
    }
  }
  const min = o.net.minimumSize(layers);
  const side = (s: number) => {
    const d = fitSize(o.content.width, o.content.height, s);
    return Math.min(d.width, d.height);
  };
  const failing = [...new Set(scales)].filter((s) => side(s) < min);
  if (failing.length) {
    const { width, height } = o.content;
    // the smallest size that gives the short side min px, as fitSize rounds it (none up to the largest size: the
    // image is too narrow)
    let need = Math.max(...failing);
    while (need <= MAX_STYLE_SIZE && side(need) < min) need++;
    const named = failing.map((s) => `${scaleOption(s)} ${s} (a ${side(s)} px side)`).join(', ');
    const remedy =
      need > MAX_STYLE_SIZE
        ? `the content image is ${width}×${height}, too narrow for any size up to ${MAX_STYLE_SIZE} (crop it)`
        : `raise ${failing.length > 1 ? 'each' : 'it'} to at least ${need}`;
    bad(
      `${named}: too small for the layers used with the content image (${width}×${height}) (${o.net.arch} needs a side of at least ${min} px for ${layers.join(', ')}): ${remedy}`,
    );
  }
  // The result's feature maps at the largest scale must fit one GPU buffer binding.
  const limit = ctx.maxBindingBytes ?? engine().maxTensorBytes;
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const tooLarge = (d: { width: number; height: number }, ls: readonly string[]) => {
    const m = o.net.largestMap(d.width, d.height, ls);
    return 4 * m.values <= limit
      ? null
      : `${m.layer} maps of ${m.channels}×${m.height}×${m.width} values (${mib(4 * m.values)}), more than this adapter ` +
          `binds in one GPU buffer (${mib(limit)})`;
  };
  const largest = Math.max(...scales);
  const result = fitSize(o.content.width, o.content.height, largest);
  const resultProblem = tooLarge(result, layers);
  if (resultProblem) {
    // The largest longest side that fits, for this content's aspect ratio (fitting shrinks as the side does).
    let [lo, hi] = [1, largest];
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (tooLarge(fitSize(o.content.width, o.content.height, mid), layers)) hi = mid - 1;
      else lo = mid;
    }
    const made = `makes a ${result.width}x${result.height} result with ${resultProblem}`;
    bad(
      largest === o.size
        ? `${names.size} ${largest} ${made}; at most ${names.size} ${lo} fits`
        : `the scale ${largest} of ${names.scales ?? 'the scales'} ${made}; at most ${lo} fits`,
    );
  }
  // Each style image at each scale: large enough for the style layers, its maps small enough for the adapter.
  const styleMin = o.net.minimumSize(styleLayers);
  const styleScale = o.styleScale ?? STYLE_DEFAULTS.styleScale;
  for (const [i, st] of o.styles.entries()) {
    for (const s of scales) {
      const d = styleDims(st.image, s, styleScale);
      const what = `${st.name ?? `style image ${i + 1}`} (${st.image.width}x${st.image.height}) resized to ${d.width}x${d.height} (styleScale ${styleScale} × ${s} px)`;
      if (Math.min(d.width, d.height) < styleMin)
        bad(
          `${what} is too small for the style layers (${o.net.arch} needs at least ${styleMin} px for ${styleLayers.join(', ')}); ${either('raise', s)}`,
        );
      const problem = tooLarge(d, styleLayers);
      if (problem) bad(`${what} makes ${problem}; ${either('lower', s)}`);
    }
  }
}

/** The scalar loss terms of one evaluation (each already weighted), plus their sum, which is differentiated. */
export interface LossTerms {
  total: Tensor;
  content: Tensor;
  style: Tensor;
  tv: Tensor;
}

/** Everything the loss needs besides the image: network, layers, fixed targets and term weights. */
export interface LossSpec {
  net: FeatureNet;
  contentLayers: string[];
  styleLayers: string[];
  styleLayerWeights: number[];
  /** Content features per content layer. */
  contentTargets: Tensor[];
  /** Target Gram matrix per style layer (already blended over style images). */
  styleTargets: Tensor[];
  contentWeight: number;
  styleWeight: number;
  tvWeight: number;
  tvKind: TvKind;
  tvBeta: number;
  gramNormalize: GramNormalize;
}

/**
 * The sum of scalar terms, left to right (0 for none: an upload, which a step otherwise avoids since it submits what
 * is recorded before it).
 */
function sumOf(terms: Tensor[]): Tensor {
  if (terms.length === 0) return Tensor.scalar(0);
  return terms.slice(1).reduce((acc, t) => acc.add(t), terms[0]);
}

/**
 * total = α·Σ_l ½Σ(F_l − P_l)²  +  β·Σ_l w_l Σ(G_l − A_l)²  +  γ·TV(x)  for an image x [1, C, H, W] in [0, 1];
 * C = 1 (luminance, colour preservation) is replicated to 3 channels before the network.
 */
export function styleTransferLoss(x: Tensor, spec: LossSpec): LossTerms {
  const [, c, h, w] = x.shape;
  const img = c === 3 ? x : x.expand([1, 3, h, w]);
  const f = spec.net.forward(img, [...new Set([...spec.contentLayers, ...spec.styleLayers])]);
  const content = sumOf(spec.contentLayers.map((l, i) => contentLoss(f.get(l)!, spec.contentTargets[i])));
  const style = sumOf(
    spec.styleLayers.map((l, i) =>
      styleLayerLoss(f.get(l)!, spec.styleTargets[i], spec.gramNormalize).mul(spec.styleLayerWeights[i]),
    ),
  );
  const tv = totalVariationLoss(x, spec.tvKind, spec.tvBeta);
  const wc = content.mul(spec.contentWeight);
  const ws = style.mul(spec.styleWeight);
  const wt = tv.mul(spec.tvWeight);
  return { total: wc.add(ws).add(wt), content: wc, style: ws, tv: wt };
}

/**
 * Runs style transfer. Throws before computing anything when an option, image or layer is invalid, so a caller
 * that writes files only after it returns writes nothing on bad input.
 */
export async function runStyleTransfer(
  options: StyleTransferOptions,
  callbacks: StyleTransferCallbacks = {},
): Promise<StyleTransferResult> {
  checkOptions(options);
  const o = options;
  const spec = settings(o);
  const start = performance.now();
  const history: IterationInfo[] = [];
  const counts = { iteration: 0, evaluations: 0 };
  let previous: { data: Float32Array; width: number; height: number } | null = null; // the last scale's image, NCHW
  let final: { rgb: Float32Array; width: number; height: number } | null = null;

  for (let si = 0; si < spec.scales.length; si++) {
    const { width, height } = fitSize(o.content.width, o.content.height, spec.scales[si]);
    const plane = width * height;
    callbacks.onScale?.(si, width, height);
    const contentRgb = rgbaToNchw(await resized(o, o.content, width, height), { range: [0, 1] });
    const contentLuma = o.preserveColor ? luminance(contentRgb, plane) : null;
    const { contentTargets, styleTargets } = fixedTargets(
      o,
      spec,
      contentLuma ?? contentRgb,
      width,
      height,
      await stylesAtScale(o, spec.scales[si]),
    );
    const start0 = previous
      ? bilinearResizeNchw(previous.data, 1, spec.channels, previous.height, previous.width, height, width)
      : await initialImage(o, spec, contentLuma ?? contentRgb, plane);
    const image = Tensor.fromArray(start0, [1, spec.channels, height, width]).keep();
    const evaluate = evaluator({ ...spec.loss, contentTargets, styleTargets }, () => counts.evaluations++);

    /** After each iteration: the history, the caller's callback and, every snapshotEvery iterations, a preview. */
    const report = async (losses: LossValues) => {
      counts.iteration++;
      const info: IterationInfo = {
        iteration: counts.iteration,
        totalIterations: o.steps,
        scaleIndex: si,
        width,
        height,
        losses,
        evaluations: counts.evaluations,
        seconds: (performance.now() - start) / 1000,
      };
      history.push(info);
      await callbacks.onIteration?.(info);
      if (callbacks.onSnapshot && o.snapshotEvery && counts.iteration % o.snapshotEvery === 0) {
        const data = await image.toArray();
        const rgb = contentLuma ? withContentChroma(data, contentRgb, plane) : data;
        await callbacks.onSnapshot(nchwToRgba(rgb, 1, 3, height, width, { range: [0, 1] }), info);
      }
    };

    try {
      const optimize = o.optimizer === 'adam' ? optimizeWithAdam : optimizeWithLbfgs;
      await optimize(o, image, spec.stepsPerScale[si], evaluate, report);
      const data = await readAndDispose(noGrad(() => image.clamp(0, 1)));
      previous = { data, width, height };
      final = { rgb: contentLuma ? withContentChroma(data, contentRgb, plane) : data, width, height };
    } finally {
      image.dispose();
      contentTargets.forEach((t) => t.dispose());
      styleTargets.forEach((t) => t.dispose());
    }
  }

  return {
    image: nchwToRgba(final!.rgb, 1, 3, final!.height, final!.width, { range: [0, 1] }),
    history,
    featureNet: o.net.source.description,
    seconds: (performance.now() - start) / 1000,
  };
}

/** The options with their defaults filled in, and the parts of the loss that stay the same at every scale. */
export function settings(o: StyleTransferOptions) {
  const styleLayers = o.styleLayers ?? [...STYLE_DEFAULTS.styleLayers];
  const scales = o.scales ?? [o.size];
  const loss: Omit<LossSpec, 'contentTargets' | 'styleTargets'> = {
    net: o.net,
    contentLayers: o.contentLayers ?? [...STYLE_DEFAULTS.contentLayers],
    styleLayers,
    styleLayerWeights: o.styleLayerWeights ?? styleLayers.map(() => 1 / styleLayers.length),
    contentWeight: o.contentWeight ?? STYLE_DEFAULTS.contentWeight,
    styleWeight: o.styleWeight ?? STYLE_DEFAULTS.styleWeight,
    tvWeight: o.tvWeight ?? STYLE_DEFAULTS.tvWeight,
    tvKind: o.tvKind ?? STYLE_DEFAULTS.tvKind,
    tvBeta: o.tvBeta ?? STYLE_DEFAULTS.tvBeta,
    gramNormalize: o.gramNormalize ?? STYLE_DEFAULTS.gramNormalize,
  };
  return {
    loss,
    scales,
    // Steps split evenly over the scales, the first ones taking the remainder.
    stepsPerScale:
      o.stepsPerScale ??
      scales.map((_, i) => Math.floor(o.steps / scales.length) + (i < o.steps % scales.length ? 1 : 0)),
    /** 1 with preserveColor (the transfer runs on luminance), else 3. */
    channels: o.preserveColor ? 1 : 3,
  };
}
type Settings = ReturnType<typeof settings>;

/** An image [1, c, h, w] as the network's input: a luminance plane is repeated into three channels. */
function toNetInput(data: Float32Array, w: number, h: number, c: number): Tensor {
  const t = Tensor.fromArray(data, [1, c, h, w]);
  if (c === 3) return t;
  const e = t.expand([1, 3, h, w]);
  t.dispose();
  return e;
}

/** The style images shrunk to their size at a scale (styleDims), in the order of `o.styles`, by `o.resize`. */
export async function stylesAtScale(o: StyleTransferOptions, scale: number): Promise<RgbaImage[]> {
  const out: RgbaImage[] = [];
  for (const s of o.styles) {
    const dims = styleDims(s.image, scale, o.styleScale); // checkOptions has checked it against the layers
    out.push(await resized(o, s.image, dims.width, dims.height));
  }
  return out;
}

/** `image` at width × height by `o.resize` (bilinearResize unless given), its size checked. */
async function resized(o: StyleTransferOptions, image: RgbaImage, width: number, height: number): Promise<RgbaImage> {
  const out = await (o.resize ?? bilinearResize)(image, width, height);
  if (out.width !== width || out.height !== height || out.rgba.length !== width * height * 4)
    throw new Error(
      `runStyleTransfer: resize gave a ${out.width}×${out.height} image (${out.rgba.length} bytes) for ${width}×${height}`,
    );
  return out;
}

/**
 * The fixed targets of one scale, computed once without a graph and kept: the content image's features at the
 * content layers, and the style images' Gram matrices at the style layers, blended by their weights. `styles` are
 * `o.styles`' images at this scale's size (stylesAtScale).
 */
export function fixedTargets(
  o: StyleTransferOptions,
  spec: Settings,
  content: Float32Array,
  width: number,
  height: number,
  styles: RgbaImage[],
): { contentTargets: Tensor[]; styleTargets: Tensor[] } {
  const { net, contentLayers, styleLayers, gramNormalize } = spec.loss;
  const contentTargets = noGrad(() =>
    tidy(() => {
      const f = net.forward(toNetInput(content, width, height, spec.channels), contentLayers);
      return contentLayers.map((l) => f.get(l)!);
    }),
  ).map((t) => t.keep());
  const blendTotal = o.styles.reduce((a, s) => a + (s.weight ?? 1), 0);
  const contentLuma = o.preserveColor ? content : null;
  const styleTargets = noGrad(() =>
    tidy(() => {
      let blended: Tensor[] | null = null;
      for (const [i, s] of o.styles.entries()) {
        const image = styles[i]!;
        let data = rgbaToNchw(image, { range: [0, 1] });
        if (contentLuma) data = matchMeanStd(luminance(data, image.width * image.height), contentLuma);
        const f = net.forward(toNetInput(data, image.width, image.height, spec.channels), styleLayers);
        const share = (s.weight ?? 1) / blendTotal;
        const grams = styleLayers.map((l) => gramMatrix(f.get(l)!, gramNormalize).mul(share));
        blended = blended ? blended.map((g, i) => g.add(grams[i])) : grams;
      }
      return blended!;
    }),
  ).map((t) => t.keep());
  return { contentTargets, styleTargets };
}

/** The first scale's starting image: the content, uniform noise, or a mix of the two (`noiseRatio`). */
async function initialImage(o: StyleTransferOptions, spec: Settings, base: Float32Array, plane: number) {
  const init = o.init ?? STYLE_DEFAULTS.init;
  if (init === 'content') return base;
  const seed = o.seed ?? STYLE_DEFAULTS.seed;
  const noise = await readAndDispose(Tensor.rand([spec.channels * plane], { seed, lo: 0, hi: 1 }));
  const r = init === 'noise' ? 1 : (o.noiseRatio ?? STYLE_DEFAULTS.noiseRatio);
  return base.map((v, i) => (1 - r) * v + r * noise[i]);
}

type Evaluate = (x: Tensor) => Promise<{ losses: LossValues; grad: Tensor }>;

/** The loss terms at an image x (a plain tensor) and d total / dx, in one backward pass and one read-back. */
function evaluator(lossSpec: LossSpec, onEvaluation: () => void): Evaluate {
  return async (x) => {
    const leaf = x.detach().requireGrad();
    const packed = tidy(() => {
      const t = styleTransferLoss(leaf, lossSpec);
      t.total.backward();
      return concat(
        [t.total, t.content, t.style, t.tv].map((s) => s.reshape([1])),
        0,
      );
    });
    const v = await packed.toArray();
    packed.dispose();
    onEvaluation();
    const grad = leaf.grad!;
    leaf.grad = null;
    leaf.dispose();
    return { losses: { total: v[0], content: v[1], style: v[2], tv: v[3] }, grad };
  };
}

/** The message of a loss that overflowed: the weights that scale it are what to lower (and Adam's `lr`). */
function lossBlewUp(total: number, iteration: number, lr?: number): string {
  const how = lr === undefined ? 'L-BFGS' : `Adam at lr ${lr}`;
  return `style transfer: the loss became ${total} at iteration ${iteration} (${how}): lower the style, content or total-variation weight${lr === undefined ? '' : ', or the learning rate'}`;
}

/** `steps` Adam steps on the image, each projected back into [0, 1] (the notebook's clip_0_1). */
async function optimizeWithAdam(
  o: StyleTransferOptions,
  image: Tensor,
  steps: number,
  evaluate: Evaluate,
  report: (losses: LossValues) => Promise<void>,
): Promise<void> {
  const a = { ...STYLE_DEFAULTS.adam, ...o.adam };
  image.requireGrad();
  const adam = new Adam([image], { lr: a.lr, betas: [...a.betas] as [number, number], eps: a.eps });
  try {
    for (let k = 0; k < steps; k++) {
      const { losses, grad } = await evaluate(image);
      if (!Number.isFinite(losses.total)) {
        grad.dispose();
        throw new Error(lossBlewUp(losses.total, k + 1, a.lr));
      }
      image.grad = grad;
      adam.step();
      adam.zeroGrad();
      noGrad(() =>
        tidy(() => {
          image.assign(image.clamp(0, 1));
        }),
      );
      await report(losses);
    }
  } finally {
    adam.dispose();
    image.requireGrad(false);
  }
}

/** Up to `steps` L-BFGS iterations on the image (each may evaluate several times in its line search). */
async function optimizeWithLbfgs(
  o: StyleTransferOptions,
  image: Tensor,
  steps: number,
  evaluate: Evaluate,
  report: (losses: LossValues) => Promise<void>,
): Promise<void> {
  const opt = new LBFGS(image, {
    ...STYLE_DEFAULTS.lbfgs,
    ...o.lbfgs,
    toleranceChange: 0,
    toleranceGrad: 0,
  });
  // The line search may end on a point it evaluated earlier: remember each evaluation's terms.
  let seen: LossValues[] = [];
  let last: LossValues | null = null;
  // Only the starting point must be finite: a trial point of the line search that overflows is backed off from
  // (strongWolfe treats it as too far); an accepted step's loss is checked below.
  let started = false;
  const objective: Objective = async (x) => {
    const { losses, grad } = await evaluate(x);
    if (!started && !Number.isFinite(losses.total)) {
      grad.dispose();
      throw new Error(lossBlewUp(losses.total, 1));
    }
    started = true;
    seen.push(losses);
    return { loss: losses.total, grad };
  };
  try {
    for (let k = 0; k < steps; k++) {
      const r = await opt.step(objective);
      if (!Number.isFinite(r.loss)) throw new Error(lossBlewUp(r.loss, k + 1));
      last = seen.find((l) => l.total === r.loss) ?? last ?? { total: r.loss, content: NaN, style: NaN, tv: NaN };
      seen = [last];
      await report(last);
      if (r.converged) break;
    }
  } finally {
    opt.dispose();
  }
}

/** Reads a tensor's values back and disposes it. */
async function readAndDispose(t: Tensor): Promise<Float32Array> {
  try {
    return await t.toArray();
  } finally {
    t.dispose();
  }
}
