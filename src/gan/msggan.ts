/**
 * MSG-GAN (Karnewar & Wang 2020, arXiv 1903.06048): multi-scale gradients. G emits an RGB image at every scale
 * (4×4, 8×8, … the target size), and D takes each scale in at its matching block, so gradients reach every scale of
 * G from the first step: all resolutions train together, with no stages and no fade.
 *
 * The blocks are ProGAN's (./progan.ts: equalized learning rate, pixel norm in G, minibatch stddev in D, its channel
 * plan C_s). G's block s is followed by its own toRGB (a 1×1 conv), whose output is scale s. D reads the largest image
 * with from_rgb (1×1 conv to C_K, LReLU) and, at every smaller scale s, joins the image x_s to the features coming
 * down with the paper's combine function:
 *   'lin'    φ_lin: [features ; r_s(x_s)], r_s a 1×1 conv (`rgb_to_features.s`) — the default. As in the authors'
 *            code, the image and the features each bring half of block s's C_s input channels: the block above
 *            ends in C_s/2 channels (its second conv, C_{s+1} → C_s/2) and r_s gives C_s/2, so joining the scales
 *            does not widen D (its full-size block costs half of ProGAN's, whose second conv doubles the channels);
 *   'simple' φ_simple: [features ; x_s], the image itself: the block above ends in C_s channels, block s takes
 *            C_s + image channels.
 * D's block s then maps its input to C_s, and on as in ProGAN. The real images' scales are average pools of the full
 * image (`imagePyramid`).
 */
import { type Tensor, avgPool2d, concat } from '../tensor/index.ts';
import { pixelNorm } from '../tensor/gan-ops.ts';
import { formatShape } from '../tensor/shape.ts';
import { Module, ModuleList, Conv2d, equalizedInit } from '../nn/index.ts';
import {
  DiscriminatorBlock,
  GeneratorBlock,
  freeUnlessGraph,
  generatorLayers,
  lastStage,
  pipe,
  resolutionAt,
  stageChannels,
  type GrowingConfig,
} from './progan.ts';

export type MsgCombine = 'lin' | 'simple';
export const MSG_COMBINES: readonly MsgCombine[] = ['lin', 'simple'];

export interface MsgConfig extends GrowingConfig {
  /** The combine function (default 'lin'). */
  combine?: MsgCombine;
}

/** [x_0, …, x_K]: x_K = x (side 4·2^K), each smaller one the 2×2 average pool of the next. */
export function imagePyramid(x: Tensor, K: number): Tensor[] {
  const r = resolutionAt(K);
  if (x.rank !== 4 || x.shape[2] !== r || x.shape[3] !== r)
    throw new Error(`imagePyramid: images of shape ${formatShape(x.shape)} must be [N, C, ${r}, ${r}]`);
  const out = [x];
  for (let s = K - 1; s >= 0; s--) out.unshift(avgPool2d(out[0]!, { kernelSize: 2 }));
  return out;
}

export class MsgGenerator extends Module {
  readonly lastStage: number;
  readonly blocks: ModuleList<GeneratorBlock>;
  readonly toRgb: ModuleList<Conv2d>;
  constructor(readonly config: MsgConfig) {
    super();
    this.lastStage = lastStage(config);
    const { blocks, toRgb } = generatorLayers(config, this.lastStage);
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.toRgb = this.registerModule('to_rgb', new ModuleList(toRgb));
  }
  override describe(): string {
    return `MsgGenerator(${this.config.size}px)`;
  }
  /** Images at every scale, [x_0 (4×4), …, x_K (size×size)], from latents [N, zDim, 1, 1]. */
  forwardScales(z: Tensor): Tensor[] {
    if (z.rank !== 4 || z.shape[1] !== this.config.zDim || z.shape[2] !== 1 || z.shape[3] !== 1)
      throw new Error(
        `${this.describe()}: latent of shape ${formatShape(z.shape)} must be [N, ${this.config.zDim}, 1, 1]`,
      );
    const out: Tensor[] = [];
    let h = pixelNorm(z);
    for (let s = 0; s <= this.lastStage; s++) {
      const next = this.blocks.at(s).forward(h);
      freeUnlessGraph(next, h);
      h = next;
      out.push(this.toRgb.at(s).forward(h));
    }
    freeUnlessGraph(out[out.length - 1]!, h);
    return out;
  }
  /** The largest scale only (samples, grids). */
  forward(z: Tensor): Tensor {
    const scales = this.forwardScales(z);
    const top = scales.pop()!;
    freeUnlessGraph(top, ...scales);
    return top;
  }
}

export class MsgDiscriminator extends Module {
  readonly lastStage: number;
  readonly combine: MsgCombine;
  readonly fromRgb: Conv2d;
  readonly rgbToFeatures: ModuleList<Conv2d> | null;
  readonly blocks: ModuleList<DiscriminatorBlock>;
  constructor(readonly config: MsgConfig) {
    super();
    const K = (this.lastStage = lastStage(config));
    this.combine = config.combine ?? 'lin';
    if (!MSG_COMBINES.includes(this.combine))
      throw new Error(
        `MSG-GAN: combine must be one of ${MSG_COMBINES.join(', ')}, got ${JSON.stringify(config.combine)}`,
      );
    const lin = this.combine === 'lin';
    const C = (s: number) => stageChannels(config.width, K, s);
    // channels the features bring down into block s (s < K), and what the image at scale s adds to them
    const fromAbove = (s: number) => (lin ? C(s) / 2 : C(s));
    const fromImage = (s: number) => (lin ? C(s) / 2 : config.channels);
    this.fromRgb = this.registerModule('from_rgb', new Conv2d(config.channels, C(K), 1, { equalized: true }));
    this.rgbToFeatures =
      lin && K > 0
        ? this.registerModule(
            'rgb_to_features',
            new ModuleList(
              Array.from({ length: K }, (_, s) => new Conv2d(config.channels, fromImage(s), 1, { equalized: true })),
            ),
          )
        : null;
    const blocks: DiscriminatorBlock[] = [];
    for (let s = 0; s <= K; s++) {
      const input = s === K ? C(K) : fromAbove(s) + fromImage(s);
      blocks.push(new DiscriminatorBlock(s === 0, input, s === 0 ? C(0) : fromAbove(s - 1), config.mbstdGroup, C(s)));
    }
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
  }
  override describe(): string {
    return `MsgDiscriminator(${this.config.size}px, combine ${this.combine})`;
  }
  /** Scores [N, 1] of images given at every scale, [x_0 (4×4), …, x_K (size×size)]. */
  forwardScales(xs: Tensor[]): Tensor {
    const K = this.lastStage;
    if (xs.length !== K + 1)
      throw new Error(
        `${this.describe()}: expected ${K + 1} scales (4×4 to ${resolutionAt(K)}×${resolutionAt(K)}), got ${xs.length}`,
      );
    xs.forEach((x, s) => {
      const r = resolutionAt(s);
      if (x.rank !== 4 || x.shape[1] !== this.config.channels || x.shape[2] !== r || x.shape[3] !== r)
        throw new Error(
          `${this.describe()}: scale ${s} has shape ${formatShape(x.shape)}, expected [N, ${this.config.channels}, ${r}, ${r}]`,
        );
    });
    let h = this.fromRgb.forwardFused(xs[K]!, { kind: 'leaky_relu', slope: 0.2 }); // the activation in the conv's kernel
    for (let s = K; s >= 0; s--) {
      if (s < K) {
        const img = xs[s]!;
        const feat = this.rgbToFeatures ? this.rgbToFeatures.at(s).forward(img) : img;
        const joined = concat([h, feat], 1);
        freeUnlessGraph(joined, h, ...(feat === img ? [] : [feat]));
        h = joined;
      }
      const next = this.blocks.at(s).forward(h);
      freeUnlessGraph(next, h);
      h = next;
    }
    return h;
  }
  /** Scores of full-size images: their scales are its average pools (imagePyramid). */
  forward(x: Tensor): Tensor {
    const xs = imagePyramid(x, this.lastStage);
    const out = this.forwardScales(xs);
    return freeUnlessGraph(out, ...xs.slice(0, -1));
  }
}

/** MSG-GAN's G and D for a config, with N(0, 1) weights and zero biases from `seed` (keyed by state_dict name). */
export function buildMsggan(config: MsgConfig, seed: number): { G: MsgGenerator; D: MsgDiscriminator } {
  const G = new MsgGenerator(config);
  const D = new MsgDiscriminator(config);
  equalizedInit(G, seed * 2 + 1);
  equalizedInit(D, seed * 2 + 2);
  return { G, D };
}
