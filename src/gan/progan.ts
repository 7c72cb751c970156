/**
 * Progressive growing (ProGAN, Karras et al. 2018, arXiv 1710.10196): G and D that work at 4×4, then 8×8, … up to
 * the target size, one stage per resolution (stage s: 4·2^s pixels). When stage s begins its new blocks fade in
 * over α from 0 to 1, blended with the previous stage's output through a skip: in G the old toRGB image upsampled
 * (nearest) beside the new block's toRGB, in D the half-size image average-pooled into the old fromRGB beside the
 * new fromRGB and block (ops: src/tensor/gan-ops.ts `fade`). At α = 1 the skip is not computed.
 *
 * As in the paper: equalized learning rate on every layer (weights N(0, 1) scaled at run time by He's constant;
 * src/nn/conv.ts), pixelwise feature normalization after each of G's convolutions and on the latent, LeakyReLU(0.2),
 * linear toRGB (gain 1), and a minibatch standard-deviation channel before D's last block. D's output is one score
 * per image ([N, 1]).
 *
 *   G: z [N, zDim, 1, 1] → PN → blocks.0: ConvT 4×4 (zDim→C₀) LReLU PN, Conv 3×3 (C₀→C₀) LReLU PN → 4×4
 *      blocks.s (s ≥ 1): upsample ×2, Conv 3×3 (C_{s−1}→C_s) LReLU PN, Conv 3×3 (C_s→C_s) LReLU PN
 *      to_rgb.s: Conv 1×1 (C_s→channels)
 *   D: from_rgb.s: Conv 1×1 (channels→C_s) LReLU
 *      blocks.s (s ≥ 1): Conv 3×3 (C_s→C_s) LReLU, Conv 3×3 (C_s→C_{s−1}) LReLU, average pool 2×2
 *      blocks.0: minibatch stddev, Conv 3×3 (C₀+1→C₀) LReLU, Conv 4×4 valid (C₀→C₀) LReLU, Linear (C₀→1)
 * with C_s = width · 2^min(3, K−s), K the last stage: the paper's channel plan (its nf: feature maps inversely
 * proportional to the resolution, capped), each stage half the channels of the one below it, from `width` at the last
 * stage (next to the image) up to at most 8·width. The full-resolution stage, where a 3×3 conv costs the most, is the
 * narrowest. Parameter names are state_dict keys: `blocks.1.conv1.weight`, `to_rgb.0.bias`, `from_rgb.2.weight`.
 */
import { formatShape } from '../tensor/shape.ts';
import { Tensor, avgPool2d, upsample2d } from '../tensor/index.ts';
import { pixelNorm, fade, minibatchStddev } from '../tensor/gan-ops.ts';
import {
  Module,
  ModuleList,
  Conv2d,
  ConvTranspose2d,
  Linear,
  equalizedInit,
  refuseBatchGroups,
  type Conv2dLayerOptions,
} from '../nn/index.ts';

/** What a growing G and D are built from. */
export interface GrowingConfig {
  zDim: number;
  /** Image channels (1 gray, 3 RGB). */
  channels: number;
  /** Target side length: a power of 2, at least 4. */
  size: number;
  /** Channels of the last stage's blocks (next to the image); each stage below has twice its successor's, ≤ 8·width. */
  width: number;
  /** Samples per minibatch standard-deviation group (default 4; a smaller batch is one group). */
  mbstdGroup?: number;
}

const SLOPE = 0.2;
const EQ: Conv2dLayerOptions = { equalized: true };
const EQ_PAD: Conv2dLayerOptions = { equalized: true, padding: 1 };
const RGB: Conv2dLayerOptions = { equalized: { gain: 1 } };

/** The last stage K of a target size (4 → 0, 8 → 1, …, 64 → 4), checking the config. */
export function lastStage(c: GrowingConfig): number {
  const K = Math.log2(c.size / 4);
  if (!Number.isInteger(K) || K < 0)
    throw new Error(`growing GAN: size must be 4, 8, 16, 32, … (4·2^k), got ${c.size}`);
  for (const f of ['zDim', 'channels', 'width'] as const)
    if (!Number.isInteger(c[f]) || c[f] < 1)
      throw new Error(`growing GAN: ${f} must be a positive integer, got ${c[f]}`);
  return K;
}

/** Side length at a stage: 4·2^stage. */
export const resolutionAt = (stage: number): number => 4 * 2 ** stage;

/** Channels of the blocks of stage s for a last stage K: width · 2^min(3, K − s). */
export function stageChannels(width: number, K: number, s: number): number {
  return width * 2 ** Math.min(3, K - s);
}

/** The channel plan of a last stage K: the channels of stages 0…K (4×4 first). */
export function channelPlan(width: number, K: number): number[] {
  return Array.from({ length: K + 1 }, (_, s) => stageChannels(width, K, s));
}

/**
 * Applies `fns` in order; without a graph to keep them, intermediates are freed as soon as the next one exists
 * (as Sequential does), so a no-grad pass (sampling) holds only its output.
 */
export function pipe(x: Tensor, ...fns: ((t: Tensor) => Tensor)[]): Tensor {
  let y = x;
  for (const f of fns) {
    const next = f(y);
    if (y !== x && next !== y && !next.requiresGrad) y.dispose();
    y = next;
  }
  return y;
}

/** Frees `temps` when `out` records no graph (nothing will read them again). */
export function freeUnlessGraph(out: Tensor, ...temps: Tensor[]): Tensor {
  if (!out.requiresGrad) for (const t of temps) if (t !== out) t.dispose();
  return out;
}

/** The LeakyReLU after each conv, run inside the conv's kernel (Conv2d.forwardFused: the same bits, a launch fewer). */
const LRELU = { kind: 'leaky_relu', slope: SLOPE } as const;

/**
 * The group size D's minibatch standard deviation uses for a batch of n: the configured size when it divides n (the
 * paper's code requires that), else the largest size below it that does (a batch of 6 in groups of 4 → groups of 3),
 * so D scores any batch — a sample grid, an evaluation — while training batches that are multiples get the paper's.
 */
export function minibatchGroup(n: number, group: number): number {
  for (let g = Math.min(group, n); g > 1; g--) if (n % g === 0) return g;
  return 1;
}

/** One of G's blocks: stage 0 makes 4×4 maps from the latent, later ones double the size. */
export class GeneratorBlock extends Module {
  readonly conv1: Conv2d | ConvTranspose2d;
  readonly conv2: Conv2d;
  constructor(
    readonly first: boolean,
    inChannels: number,
    outChannels: number,
  ) {
    super();
    this.conv1 = this.registerModule(
      'conv1',
      first ? new ConvTranspose2d(inChannels, outChannels, 4, EQ) : new Conv2d(inChannels, outChannels, 3, EQ_PAD),
    );
    this.conv2 = this.registerModule('conv2', new Conv2d(outChannels, outChannels, 3, EQ_PAD));
  }
  forward(x: Tensor): Tensor {
    return pipe(
      x,
      ...(this.first ? [] : [(t: Tensor) => upsample2d(t, 2)]),
      (t) => this.conv1.forwardFused(t, LRELU), // (the first block's, on the 1×1 latent, runs it as a pass of its own)
      pixelNorm,
      (t) => this.conv2.forwardFused(t, LRELU),
      pixelNorm,
    );
  }
}

/**
 * One of D's blocks: stage s ≥ 1 halves the size (Conv in→mid, Conv mid→out, pool); stage 0 ends in the score
 * (minibatch stddev, Conv in+1→out, Conv 4×4 out→out, Linear out→1). `mid` defaults to `in` (ProGAN); MSG-GAN's blocks
 * take extra input channels from the image at their scale and set it to the block's own width.
 */
export class DiscriminatorBlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly linear: Linear | null;
  constructor(
    readonly last: boolean,
    inChannels: number,
    outChannels: number,
    readonly mbstdGroup = 4,
    midChannels = inChannels,
  ) {
    super();
    if (last) {
      this.conv1 = this.registerModule('conv1', new Conv2d(inChannels + 1, outChannels, 3, EQ_PAD));
      this.conv2 = this.registerModule('conv2', new Conv2d(outChannels, outChannels, 4, EQ));
      this.linear = this.registerModule('linear', new Linear(outChannels, 1, true, { equalized: { gain: 1 } }));
    } else {
      this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, midChannels, 3, EQ_PAD));
      this.conv2 = this.registerModule('conv2', new Conv2d(midChannels, outChannels, 3, EQ_PAD));
      this.linear = null;
    }
  }
  forward(x: Tensor): Tensor {
    if (this.last) refuseBatchGroups('the minibatch stddev of a ProGAN discriminator block');
    if (this.last)
      return pipe(
        x,
        (t) => minibatchStddev(t, minibatchGroup(t.shape[0]!, this.mbstdGroup)),
        (t) => this.conv1.forwardFused(t, LRELU),
        (t) => this.conv2.forwardFused(t, LRELU),
        (t) => t.flatten(),
        (t) => this.linear!.forward(t),
      );
    return pipe(
      x,
      (t) => this.conv1.forwardFused(t, LRELU),
      (t) => this.conv2.forwardFused(t, LRELU),
      (t) => avgPool2d(t, { kernelSize: 2 }),
    );
  }
}

/** The stage and fade shared by growing nets: stage 0…K, α in [0, 1] (1 at stage 0, which has nothing to fade). */
export abstract class Growing extends Module {
  readonly lastStage: number;
  private stageValue = 0;
  private alphaValue = 1;
  constructor(readonly config: GrowingConfig) {
    super();
    this.lastStage = lastStage(config);
  }
  get stage(): number {
    return this.stageValue;
  }
  get alpha(): number {
    return this.alphaValue;
  }
  /** Current side length: 4·2^stage. */
  get resolution(): number {
    return resolutionAt(this.stageValue);
  }
  /** Sets the stage and fade, checked. */
  setGrowth(stage: number, alpha: number): void {
    checkGrowth(this.lastStage, stage, alpha, this.describe());
    this.stageValue = stage;
    this.alphaValue = alpha;
  }
}

/** Throws unless stage is an integer in [0, K] and α in [0, 1] (exactly 1 at stage 0). */
export function checkGrowth(K: number, stage: number, alpha: number, who: string): void {
  if (!Number.isInteger(stage) || stage < 0 || stage > K)
    throw new Error(`${who}: stage must be an integer in [0, ${K}], got ${stage}`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`${who}: alpha must be a number in [0, 1], got ${alpha}`);
  if (stage === 0 && alpha !== 1)
    throw new Error(`${who}: stage 0 has nothing to fade in: alpha must be 1, got ${alpha}`);
}

/** The generator blocks and toRGB layers of stages 0…K (shared by ProGAN and MSG-GAN). */
export function generatorLayers(c: GrowingConfig, K: number): { blocks: GeneratorBlock[]; toRgb: Conv2d[] } {
  const blocks: GeneratorBlock[] = [];
  const toRgb: Conv2d[] = [];
  for (let s = 0; s <= K; s++) {
    const ch = stageChannels(c.width, K, s);
    blocks.push(new GeneratorBlock(s === 0, s === 0 ? c.zDim : stageChannels(c.width, K, s - 1), ch));
    toRgb.push(new Conv2d(ch, c.channels, 1, RGB));
  }
  return { blocks, toRgb };
}

export class ProganGenerator extends Growing {
  readonly blocks: ModuleList<GeneratorBlock>;
  readonly toRgb: ModuleList<Conv2d>;
  constructor(config: GrowingConfig) {
    super(config);
    const { blocks, toRgb } = generatorLayers(config, this.lastStage);
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.toRgb = this.registerModule('to_rgb', new ModuleList(toRgb));
  }
  override describe(): string {
    return `ProganGenerator(${this.config.size}px, stage ${this.stage}, alpha ${this.alpha})`;
  }
  /** Feature maps after blocks 0…s, from the latent [N, zDim, 1, 1]. */
  features(z: Tensor, s: number): Tensor {
    if (z.rank !== 4 || z.shape[1] !== this.config.zDim || z.shape[2] !== 1 || z.shape[3] !== 1)
      throw new Error(
        `${this.describe()}: latent of shape ${formatShape(z.shape)} must be [N, ${this.config.zDim}, 1, 1]`,
      );
    return pipe(z, pixelNorm, ...Array.from({ length: s + 1 }, (_, i) => (t: Tensor) => this.blocks.at(i).forward(t)));
  }
  /** Images at the current stage, [N, channels, 4·2^stage, 4·2^stage]. */
  forward(z: Tensor): Tensor {
    const s = this.stage;
    if (s === 0) return pipe(this.features(z, 0), (t) => this.toRgb.at(0).forward(t));
    const h = this.features(z, s - 1);
    const hNew = this.blocks.at(s).forward(h);
    const rgbNew = this.toRgb.at(s).forward(hNew);
    freeUnlessGraph(rgbNew, hNew);
    if (this.alpha === 1) return freeUnlessGraph(rgbNew, h);
    const rgbOld = this.toRgb.at(s - 1).forward(h);
    const up = upsample2d(rgbOld, 2);
    const out = fade(up, rgbNew, this.alpha);
    return freeUnlessGraph(out, h, rgbOld, up, rgbNew);
  }
}

export class ProganDiscriminator extends Growing {
  readonly fromRgb: ModuleList<Conv2d>;
  readonly blocks: ModuleList<DiscriminatorBlock>;
  constructor(config: GrowingConfig) {
    super(config);
    const K = this.lastStage;
    const fromRgb: Conv2d[] = [];
    const blocks: DiscriminatorBlock[] = [];
    for (let s = 0; s <= K; s++) {
      const ch = stageChannels(config.width, K, s);
      fromRgb.push(new Conv2d(config.channels, ch, 1, EQ));
      blocks.push(
        new DiscriminatorBlock(s === 0, ch, s === 0 ? ch : stageChannels(config.width, K, s - 1), config.mbstdGroup),
      );
    }
    this.fromRgb = this.registerModule('from_rgb', new ModuleList(fromRgb));
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
  }
  override describe(): string {
    return `ProganDiscriminator(${this.config.size}px, stage ${this.stage}, alpha ${this.alpha})`;
  }
  /** Scores [N, 1] of images at the current stage's resolution. */
  forward(x: Tensor): Tensor {
    const s = this.stage;
    const r = this.resolution;
    if (x.rank !== 4 || x.shape[1] !== this.config.channels || x.shape[2] !== r || x.shape[3] !== r)
      throw new Error(
        `${this.describe()}: images of shape ${formatShape(x.shape)} must be [N, ${this.config.channels}, ${r}, ${r}] at this stage`,
      );
    const fromRgb = (t: Tensor, i: number) => this.fromRgb.at(i).forwardFused(t, LRELU);
    let h: Tensor;
    if (s === 0) h = fromRgb(x, 0);
    else {
      const hIn = fromRgb(x, s);
      const hNew = this.blocks.at(s).forward(hIn);
      freeUnlessGraph(hNew, hIn);
      if (this.alpha === 1) h = hNew;
      else {
        const down = avgPool2d(x, { kernelSize: 2 });
        const hOld = fromRgb(down, s - 1);
        h = freeUnlessGraph(fade(hOld, hNew, this.alpha), down, hOld, hNew);
      }
    }
    // The blocks below the stage's own, down to the 4×4 one (at stage 0 only that one).
    const rest = s === 0 ? [0] : Array.from({ length: s }, (_, i) => s - 1 - i);
    return pipe(h, ...rest.map((i) => (t: Tensor) => this.blocks.at(i).forward(t)), (t) => freeUnlessGraph(t, h));
  }
}

/**
 * Real images [N, C, size, size] as D sees them at a stage: average-pooled to 4·2^stage, and during a fade blended
 * like G's output, (1 − α)·upsample(pool₂(x)) + α·x (the paper's code fades the reals too), so real and fake images
 * always have the same structure.
 */
export function realsAt(x: Tensor, stage: number, alpha: number): Tensor {
  if (x.rank !== 4 || x.shape[2] !== x.shape[3])
    throw new Error(`realsAt: images must be square [N, C, H, H], got shape ${formatShape(x.shape)}`);
  const size = x.shape[2]!;
  const K = Math.log2(size / 4);
  if (!Number.isInteger(K) || K < 0) throw new Error(`realsAt: images of side ${size} are not 4·2^k pixels`);
  checkGrowth(K, stage, alpha, 'realsAt');
  const r = resolutionAt(stage);
  const at = size === r ? x : avgPool2d(x, { kernelSize: size / r });
  if (alpha === 1) return at;
  const low = avgPool2d(at, { kernelSize: 2 });
  const up = upsample2d(low, 2);
  const out = fade(up, at, alpha);
  return freeUnlessGraph(out, low, up, ...(at === x ? [] : [at]));
}

/** ProGAN's G and D for a config, with N(0, 1) weights and zero biases from `seed` (keyed by state_dict name). */
export function buildProgan(config: GrowingConfig, seed: number): { G: ProganGenerator; D: ProganDiscriminator } {
  const G = new ProganGenerator(config);
  const D = new ProganDiscriminator(config);
  equalizedInit(G, seed * 2 + 1);
  equalizedInit(D, seed * 2 + 2);
  return { G, D };
}
