/**
 * The lesson's GANs, layer for layer, with torch module names so checkpoints load into the same PyTorch
 * classes (`G.main.0.weight`, ...).
 *
 * - dense:  the notebook's fully connected GAN on 28×28 images.
 *     G: z(100) → 256 → 512 → 1024 → 784, BatchNorm + LeakyReLU(0.2) between layers, tanh out.
 *     D: 784 → 512 → 256 → 1 with LeakyReLU(0.2); outputs a logit (the sigmoid lives in the loss).
 * - dcgan:  the notebook's convolutional GAN on 28×28 images.
 *     G: z as [N,100,1,1]; ConvT(100→256, k3 s2) 1→3, ConvT(256→128, k3 s2) 3→7, ConvT(128→64, k3 s2) 7→15,
 *        ConvT(64→1, k3 s2 p2 op1) 15→28; BatchNorm + ReLU between, tanh out.
 *     D: Conv(1→64, k4 s2 p1) 28→14, Conv(64→128) 14→7, Conv(128→256) 7→3 (k4 s2 p1), Conv(256→1, k3) 3→1;
 *        LeakyReLU(0.2), BatchNorm on the middle two; outputs a logit.
 * - dcgan32 / dcgan64: the DCGAN paper's architecture for your own 32 or 64 px images (grayscale or RGB).
 * - progan: progressive growing (./progan.ts) from 4×4 up to `size` (8 to 128 px), with a stage and fade α.
 *   Both growing kinds share ProGAN's channel plan: `width` channels at the last stage, twice as many at each stage
 *   below, at most 8·width; the spec records the plan itself as `stageWidths` (so a checkpoint says its layers' widths
 *   and one written under another plan is refused on load: see growingConfig).
 * - msggan: MSG-GAN (./msggan.ts): G emits every scale from 4×4 to `size`, D reads each at its block.
 * The growing kinds' nets are ./progan.ts's modules (state_dict keys `blocks.1.conv1.weight`, `to_rgb.0.bias`, …),
 * the others a `Net` wrapping one Sequential.
 */
import {
  Module,
  Sequential,
  Linear,
  Conv2d,
  ConvTranspose2d,
  BatchNorm1d,
  BatchNorm2d,
  LeakyReLU,
  ReLU,
  Tanh,
  Flatten,
  Unflatten,
  dcganInit,
} from '../nn/index.ts';
import { manualSeed, type Tensor } from '../tensor/index.ts';
import { buildProgan, channelPlan, stageChannels, type GrowingConfig } from './progan.ts';
import { buildMsggan } from './msggan.ts';

export type GanKind = 'dense' | 'dcgan' | 'dcgan32' | 'dcgan64' | 'progan' | 'msggan';

export interface GanSpec {
  kind: GanKind;
  /** Latent size. */
  zDim: number;
  /** Image channels (1 gray, 3 RGB) and side length. */
  channels: number;
  size: number;
  /** Base width of the dcgan32/64 nets (ngf = ndf) and of the growing nets (their last stage's channels). */
  width?: number;
  /** The growing nets' channels per stage, 4×4 first (./progan.ts channelPlan of width and size): a record of the plan. */
  stageWidths?: number[];
}

export const GAN_KINDS: GanKind[] = ['dense', 'dcgan', 'dcgan32', 'dcgan64', 'progan', 'msggan'];

/** The kinds whose nets grow over scales (./progan.ts, ./msggan.ts): any size in GROWING_SIZES. */
export const GROWING_KINDS: readonly GanKind[] = ['progan', 'msggan'];
export const GROWING_SIZES: readonly number[] = [8, 16, 32, 64, 128];

/** Samples per minibatch standard-deviation group in the growing nets' D (the paper's 4). */
export const MBSTD_GROUP = 4;

export const isGrowing = (kind: GanKind): boolean => GROWING_KINDS.includes(kind);

/** The growing nets' default width: their last stage's channels (16 at 64 px: a 4×4 block of 128, as DCGAN-64's 8×8). */
export const GROWING_WIDTH = 16;

/**
 * A growing spec's config for ./progan.ts and ./msggan.ts. A spec whose `stageWidths` is not the channel plan its
 * width and size give (one of a checkpoint written under an earlier plan) is refused, naming the field.
 */
export function growingConfig(s: GanSpec): GrowingConfig {
  const width = s.width ?? GROWING_WIDTH;
  const want = channelPlan(width, Math.log2(s.size / 4));
  if (JSON.stringify(s.stageWidths) !== JSON.stringify(want))
    throw new Error(
      `model ${s.kind}: stageWidths ${JSON.stringify(s.stageWidths ?? null)} is not the channel plan of width ${width} at ${s.size} px, ${JSON.stringify(want)}`,
    );
  return { zDim: s.zDim, channels: s.channels, size: s.size, width, mbstdGroup: MBSTD_GROUP };
}

/** The spec of each architecture with its defaults filled in (channels may be overridden for dcgan32/64). */
export function ganSpec(
  kind: GanKind,
  opts: { channels?: number; zDim?: number; width?: number; size?: number } = {},
): GanSpec {
  if (
    opts.size !== undefined &&
    !GROWING_KINDS.includes(kind) &&
    opts.size !== ganSpec(kind, { ...opts, size: undefined }).size
  )
    throw new Error(
      `model ${kind}: its size is fixed at ${ganSpec(kind, { ...opts, size: undefined }).size} px, not ${opts.size}`,
    );
  switch (kind) {
    case 'dense':
    case 'dcgan':
      if (opts.channels !== undefined && opts.channels !== 1)
        throw new Error(`model ${kind}: the lesson model is for 1-channel 28×28 images, not ${opts.channels} channels`);
      return { kind, zDim: opts.zDim ?? 100, channels: 1, size: 28 };
    case 'dcgan32':
      return { kind, zDim: opts.zDim ?? 100, channels: opts.channels ?? 3, size: 32, width: opts.width ?? 64 };
    case 'dcgan64':
      return { kind, zDim: opts.zDim ?? 100, channels: opts.channels ?? 3, size: 64, width: opts.width ?? 64 };
    case 'progan':
    case 'msggan': {
      const size = opts.size ?? 32;
      if (!GROWING_SIZES.includes(size))
        throw new Error(`model ${kind}: size must be one of ${GROWING_SIZES.join(', ')} px, got ${size}`);
      const width = opts.width ?? GROWING_WIDTH;
      const stageWidths = channelPlan(width, Math.log2(size / 4));
      return { kind, zDim: opts.zDim ?? 128, channels: opts.channels ?? 3, size, width, stageWidths };
    }
    default:
      throw new Error(`Unknown model "${kind}" (expected one of ${GAN_KINDS.join(', ')})`);
  }
}

/** A named wrapper whose only child is `main`, like the PyTorch DCGAN tutorial's classes. */
export class Net extends Module {
  readonly main: Sequential;
  constructor(
    private readonly label: string,
    ...layers: Module[]
  ) {
    super();
    this.main = this.registerModule('main', new Sequential(...layers));
  }
  override describe(): string {
    return this.label;
  }
  forward(x: Tensor): Tensor {
    return this.main.forward(x);
  }
}

function denseGenerator(s: GanSpec): Net {
  const out = s.channels * s.size * s.size;
  return new Net(
    'DenseGenerator',
    new Linear(s.zDim, 256),
    new LeakyReLU(0.2),
    new Linear(256, 512),
    new BatchNorm1d(512),
    new LeakyReLU(0.2),
    new Linear(512, 1024),
    new BatchNorm1d(1024),
    new LeakyReLU(0.2),
    new Linear(1024, out),
    new Tanh(),
    new Unflatten(1, [s.channels, s.size, s.size]),
  );
}

function denseDiscriminator(s: GanSpec): Net {
  return new Net(
    'DenseDiscriminator',
    new Flatten(),
    new Linear(s.channels * s.size * s.size, 512),
    new LeakyReLU(0.2),
    new Linear(512, 256),
    new LeakyReLU(0.2),
    new Linear(256, 1),
  );
}

function lessonDcganGenerator(s: GanSpec): Net {
  return new Net(
    'DCGANGenerator',
    new ConvTranspose2d(s.zDim, 256, 3, { stride: 2, bias: false }),
    new BatchNorm2d(256),
    new ReLU(),
    new ConvTranspose2d(256, 128, 3, { stride: 2, bias: false }),
    new BatchNorm2d(128),
    new ReLU(),
    new ConvTranspose2d(128, 64, 3, { stride: 2, bias: false }),
    new BatchNorm2d(64),
    new ReLU(),
    new ConvTranspose2d(64, s.channels, 3, { stride: 2, padding: 2, outputPadding: 1, bias: false }),
    new Tanh(),
  );
}

function lessonDcganDiscriminator(s: GanSpec): Net {
  return new Net(
    'DCGANDiscriminator',
    new Conv2d(s.channels, 64, 4, { stride: 2, padding: 1, bias: false }),
    new LeakyReLU(0.2),
    new Conv2d(64, 128, 4, { stride: 2, padding: 1, bias: false }),
    new BatchNorm2d(128),
    new LeakyReLU(0.2),
    new Conv2d(128, 256, 4, { stride: 2, padding: 1, bias: false }),
    new BatchNorm2d(256),
    new LeakyReLU(0.2),
    new Conv2d(256, 1, 3, { stride: 1, padding: 0, bias: false }),
    new Flatten(),
  );
}

/** DCGAN paper generator: 1 → 4 (k4 s1 p0), then ×2 per layer (k4 s2 p1) up to `size`. */
function paperGenerator(s: GanSpec): Net {
  const w = s.width ?? 64;
  const ups = Math.log2(s.size / 4); // 3 for 32 px, 4 for 64 px
  const layers: Module[] = [];
  let ch = w * 2 ** (ups - 1);
  layers.push(
    new ConvTranspose2d(s.zDim, ch, 4, { stride: 1, padding: 0, bias: false }),
    new BatchNorm2d(ch),
    new ReLU(),
  );
  for (let i = 1; i < ups; i++) {
    layers.push(
      new ConvTranspose2d(ch, ch / 2, 4, { stride: 2, padding: 1, bias: false }),
      new BatchNorm2d(ch / 2),
      new ReLU(),
    );
    ch /= 2;
  }
  layers.push(new ConvTranspose2d(ch, s.channels, 4, { stride: 2, padding: 1, bias: false }), new Tanh());
  return new Net(`DCGANGenerator${s.size}`, ...layers);
}

/** DCGAN paper discriminator: ÷2 per layer (k4 s2 p1) down to 4, then k4 s1 p0 to one logit. */
function paperDiscriminator(s: GanSpec): Net {
  const w = s.width ?? 64;
  const downs = Math.log2(s.size / 4);
  const layers: Module[] = [new Conv2d(s.channels, w, 4, { stride: 2, padding: 1, bias: false }), new LeakyReLU(0.2)];
  let ch = w;
  for (let i = 1; i < downs; i++) {
    layers.push(
      new Conv2d(ch, ch * 2, 4, { stride: 2, padding: 1, bias: false }),
      new BatchNorm2d(ch * 2),
      new LeakyReLU(0.2),
    );
    ch *= 2;
  }
  layers.push(new Conv2d(ch, 1, 4, { stride: 1, padding: 0, bias: false }), new Flatten());
  return new Net(`DCGANDiscriminator${s.size}`, ...layers);
}

export interface GanPair {
  spec: GanSpec;
  G: Module;
  D: Module;
}

/**
 * Builds G and D for a spec, initialised as DCGAN (conv weights N(0, 0.02), BN γ N(1, 0.02), β 0) from `seed`; the
 * growing kinds with equalized learning rate (weights N(0, 1), biases 0).
 */
export function buildGan(spec: GanSpec, seed: number): GanPair {
  let G: Module, D: Module;
  manualSeed(seed); // layers that keep torch's default init (Linear) draw from the global stream
  switch (spec.kind) {
    case 'progan':
      return { spec, ...buildProgan(growingConfig(spec), seed) };
    case 'msggan':
      return { spec, ...buildMsggan(growingConfig(spec), seed) };
    case 'dense':
      G = denseGenerator(spec);
      D = denseDiscriminator(spec);
      break;
    case 'dcgan':
      G = lessonDcganGenerator(spec);
      D = lessonDcganDiscriminator(spec);
      break;
    case 'dcgan32':
    case 'dcgan64':
      G = paperGenerator(spec);
      D = paperDiscriminator(spec);
      break;
    default:
      throw new Error(`Unknown model "${(spec as GanSpec).kind}"`);
  }
  dcganInit(G, seed * 2 + 1);
  dcganInit(D, seed * 2 + 2);
  return { spec, G, D };
}

/** Channels of the growing nets' widest (4×4) blocks, for the checkpoint bounds. */
export function growingTopChannels(s: GanSpec): number {
  const K = Math.log2(s.size / 4);
  return stageChannels(s.width ?? GROWING_WIDTH, K, 0);
}

/**
 * Values in one feature map of a batch of `n` images (a tensor the nets make in one GPU buffer): the growing nets'
 * last stage, width channels at full size, in G and D; the DCGAN paper nets' layers next to the image, width
 * channels at half size or the image itself. (The lesson's 28×28 models stay far below any limit: 0.) The CLI
 * refuses a batch whose maps would not fit the adapter's largest buffer binding; the trainer runs D's joint pass
 * (2n images) only where they fit.
 */
export function largestFeatureMap(spec: GanSpec, n: number): number {
  const { kind, size, channels, width = 0 } = spec;
  if (isGrowing(kind)) return n * width * size * size;
  if (kind === 'dcgan32' || kind === 'dcgan64') return n * Math.max(width * (size / 2) ** 2, channels * size * size);
  return 0;
}

/**
 * Why the first of `uses` (what draws a batch, and how many images) would not fit an adapter whose largest storage
 * buffer binding is `limit` bytes, or null when all fit. `widthName` is how the caller names the width option
 * (`--width` on the command line, 'Width' on the GAN page). A batch that does not fit fails WebGPU's launch,
 * possibly hours into a run when progan reaches its last stage: the CLI and the page check before any work.
 */
export function batchFitProblem(
  spec: GanSpec,
  uses: readonly (readonly [what: string, n: number])[],
  limit: number,
  widthName: string,
): string | null {
  const perImage = largestFeatureMap(spec, 1);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  for (const [what, n] of uses) {
    const bytes = 4 * largestFeatureMap(spec, n);
    if (bytes <= limit) continue;
    const fit = Math.floor(limit / (4 * perImage));
    return (
      `${what}: ${spec.kind} at ${spec.size}×${spec.size}${spec.width ? ` and ${widthName} ${spec.width}` : ''} makes feature maps of ` +
      `${n}×${perImage} values (${mib(bytes)}), more than this adapter's largest GPU buffer binding (${mib(limit)}); ` +
      `at most ${fit} images fit in one batch${isGrowing(spec.kind) || spec.width ? ` (or use a smaller ${widthName})` : ''}`
    );
  }
  return null;
}

/** Shape of a latent batch: dense models take [N, z], convolutional ones [N, z, 1, 1]. */
export function latentShape(spec: GanSpec, n: number): number[] {
  return spec.kind === 'dense' ? [n, spec.zDim] : [n, spec.zDim, 1, 1];
}
