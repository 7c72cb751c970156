/**
 * Feature networks for style transfer: the convolutional part of VGG16 / VGG19, and a seeded random-filter
 * network used when no pretrained weights are available.
 *
 * A network is a list of stages: 3×3 convolutions (padding 1, each followed by ReLU) and 2×2 pools. Layers carry
 * Keras names (`block1_conv1` … `block5_conv3`, the names in the lesson's notebook) and the neural-style aliases
 * (`relu1_1` …). Like Keras, where a conv layer has its ReLU built in, a layer's activation is taken after the
 * ReLU. `forward` stops after the deepest requested layer, so asking for block4 never computes block5.
 *
 * Browser-clean: weights arrive as Float32Arrays (see weights.ts) or are generated here.
 */
import { Tensor, concat } from '../tensor/index.ts';
import { conv2d } from '../tensor/conv.ts';
import { maxPool2d, avgPool2d } from '../tensor/pool.ts';
import { formatShape } from '../tensor/shape.ts';
import { Rng } from '../data/dataset.ts';

export type Architecture = 'vgg16' | 'vgg19' | 'random';
export type PoolKind = 'max' | 'avg';

/** One 3×3 conv + ReLU layer of a feature network. */
export interface ConvLayerSpec {
  kind: 'conv';
  /** Keras name, e.g. block3_conv2. */
  name: string;
  /** neural-style alias, e.g. relu3_2. */
  alias: string;
  inChannels: number;
  outChannels: number;
  /** Index of the conv in torchvision's `vgg*.features` Sequential (its weight is `features.<i>.weight`). */
  torchIndex: number;
  /** How many 2× poolings come before this layer (its feature map is the input size / 2^poolsBefore). */
  poolsBefore: number;
}

export interface PoolSpec {
  kind: 'pool';
  name: string;
}

export type StageSpec = ConvLayerSpec | PoolSpec;

/** Convs per block and channels per block; 'M' pools between blocks. */
const VGG_BLOCKS: Record<'vgg16' | 'vgg19', { convs: number[]; channels: number[] }> = {
  vgg16: { convs: [2, 2, 3, 3, 3], channels: [64, 128, 256, 512, 512] },
  vgg19: { convs: [2, 2, 4, 4, 4], channels: [64, 128, 256, 512, 512] },
};

/**
 * The random network: VGG's layout cut to four blocks (so that the lesson's layers block1..4_conv1 and
 * block4_conv2 all exist) with narrower layers, which keeps a 256 px iteration affordable on a CPU adapter.
 */
const RANDOM_BLOCKS = { convs: [1, 1, 1, 2], channels: [32, 64, 128, 128] };

function buildSpec(convs: number[], channels: number[]): StageSpec[] {
  const stages: StageSpec[] = [];
  let inChannels = 3;
  let torchIndex = 0;
  convs.forEach((count, b) => {
    if (b > 0) {
      stages.push({ kind: 'pool', name: `block${b}_pool` });
      torchIndex += 1;
    }
    for (let k = 0; k < count; k++) {
      stages.push({
        kind: 'conv',
        name: `block${b + 1}_conv${k + 1}`,
        alias: `relu${b + 1}_${k + 1}`,
        inChannels,
        outChannels: channels[b],
        torchIndex,
        poolsBefore: b,
      });
      inChannels = channels[b];
      torchIndex += 2; // conv, then ReLU
    }
  });
  return stages;
}

/** The stages of an architecture, in order. */
export function architectureSpec(arch: Architecture): StageSpec[] {
  if (arch === 'random') return buildSpec(RANDOM_BLOCKS.convs, RANDOM_BLOCKS.channels);
  const b = VGG_BLOCKS[arch];
  if (!b) throw new Error(`Unknown feature network "${arch}" (expected vgg16, vgg19 or random)`);
  return buildSpec(b.convs, b.channels);
}

export function convLayers(arch: Architecture): ConvLayerSpec[] {
  return architectureSpec(arch).filter((s): s is ConvLayerSpec => s.kind === 'conv');
}

/** Resolves a Keras name or an alias to the Keras name; throws listing valid names otherwise. */
export function resolveLayerName(arch: Architecture, name: string): string {
  const layers = convLayers(arch);
  const hit = layers.find((l) => l.name === name || l.alias === name);
  if (!hit) {
    throw new Error(
      `Layer "${name}" does not exist in the ${arch} feature network; valid layers: ${layers.map((l) => l.name).join(', ')} (or relu<block>_<n> aliases)`,
    );
  }
  return hit.name;
}

/** Weights of one conv layer in our layout: weight [out, in, 3, 3], bias [out]. */
export interface ConvWeights {
  weight: Float32Array;
  bias: Float32Array;
}

/** How images must be transformed before they enter a network (each weight source has its own). */
export interface Preprocessing {
  /** Short description for logs. */
  name: string;
  /** Input scale: pixel values in [0, 1] are multiplied by this first (255 for Keras/caffe weights). */
  scale: number;
  /** Reverse RGB to BGR (caffe-trained weights, which the Keras files are). */
  bgr: boolean;
  /** Per-channel mean subtracted after scaling, in the network's channel order. */
  mean: [number, number, number];
  /** Per-channel standard deviation divided by after subtracting the mean. */
  std: [number, number, number];
}

/** Keras `preprocess_input` for VGG ("caffe" mode): BGR, 0–255, ImageNet mean subtracted, no scaling. */
export const KERAS_PREPROCESSING: Preprocessing = {
  name: 'keras-caffe (BGR, 0-255, mean [103.939, 116.779, 123.68])',
  scale: 255,
  bgr: true,
  mean: [103.939, 116.779, 123.68],
  std: [1, 1, 1],
};

/** torchvision's ImageNet normalisation: RGB on 0–1. */
export const TORCHVISION_PREPROCESSING: Preprocessing = {
  name: 'torchvision (RGB, 0-1, mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225])',
  scale: 1,
  bgr: false,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/** Where a network's weights came from, as shown to the user. */
export interface FeatureNetSource {
  arch: Architecture;
  /** e.g. "random filters, seed 1" or "keras h5 vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5". */
  description: string;
  preprocessing: Preprocessing;
}

/**
 * A feature network on the GPU. Its weights are constants (no gradient): only the image is optimised, so
 * conv backward computes input gradients only.
 */
export class FeatureNet {
  readonly stages: StageSpec[];
  private readonly weights = new Map<string, { weight: Tensor; bias: Tensor }>();
  private readonly mean: Tensor;
  private readonly invStd: Tensor;

  constructor(
    readonly source: FeatureNetSource,
    layerWeights: Map<string, ConvWeights>,
    readonly pool: PoolKind = 'max',
  ) {
    this.stages = architectureSpec(source.arch);
    for (const s of this.stages) {
      if (s.kind !== 'conv') continue;
      const w = layerWeights.get(s.name);
      if (!w) throw new Error(`FeatureNet ${source.arch}: no weights for layer ${s.name}`);
      const expectW = s.outChannels * s.inChannels * 9;
      if (w.weight.length !== expectW || w.bias.length !== s.outChannels) {
        throw new Error(
          `FeatureNet ${source.arch}: layer ${s.name} needs weight [${s.outChannels}, ${s.inChannels}, 3, 3] (${expectW} values) and bias [${s.outChannels}], got ${w.weight.length} and ${w.bias.length} values`,
        );
      }
      this.weights.set(s.name, {
        weight: Tensor.fromArray(w.weight, [s.outChannels, s.inChannels, 3, 3]).keep(),
        bias: Tensor.fromArray(w.bias, [s.outChannels]).keep(),
      });
    }
    const p = source.preprocessing;
    // Folded into one multiply-add: x' = (x·scale − mean)/std = x·(scale/std) − mean/std.
    this.mean = Tensor.fromArray(
      p.mean.map((m, c) => m / p.std[c]),
      [1, 3, 1, 1],
    ).keep();
    this.invStd = Tensor.fromArray(
      p.std.map((s) => p.scale / s),
      [1, 3, 1, 1],
    ).keep();
  }

  get arch(): Architecture {
    return this.source.arch;
  }

  /** Maps a [N, 3, H, W] image with values in [0, 1] (RGB) into the network's input space, differentiably. */
  preprocess(image: Tensor): Tensor {
    let x = image;
    if (this.source.preprocessing.bgr) {
      x = concat([x.narrow(1, 2, 1), x.narrow(1, 1, 1), x.narrow(1, 0, 1)], 1);
    }
    return x.mul(this.invStd).sub(this.mean);
  }

  /** The smallest image side for which every layer up to `layers` has at least a 2×2 feature map. */
  minimumSize(layers: readonly string[]): number {
    const pools = Math.max(0, ...layers.map((n) => this.layerSpec(n).poolsBefore));
    return 2 * 2 ** pools;
  }

  /**
   * The largest feature map that `forward(image, layers)` makes for a width × height image (the conv stages up to
   * the deepest of `layers`; each 2× pooling floors the sides): its layer and shape. Every tensor is bound whole to
   * a kernel, so this map is what must fit the adapter's largest storage binding.
   */
  largestMap(
    width: number,
    height: number,
    layers: readonly string[],
  ): { layer: string; channels: number; width: number; height: number; values: number } {
    const deepest = new Set(layers.map((n) => resolveLayerName(this.arch, n)));
    let best = { layer: '', channels: 0, width: 0, height: 0, values: 0 };
    let [w, h] = [width, height];
    for (const s of this.stages) {
      if (deepest.size === 0) break;
      if (s.kind === 'pool') {
        [w, h] = [Math.floor(w / 2), Math.floor(h / 2)];
        continue;
      }
      const values = s.outChannels * w * h;
      if (values > best.values) best = { layer: s.name, channels: s.outChannels, width: w, height: h, values };
      deepest.delete(s.name);
    }
    return best;
  }

  /** The GPU weight [out, in, 3, 3] and bias [out] of a conv layer (the network's own tensors). */
  layerWeights(name: string): { weight: Tensor; bias: Tensor } {
    return this.weights.get(resolveLayerName(this.arch, name))!;
  }

  layerSpec(name: string): ConvLayerSpec {
    const resolved = resolveLayerName(this.arch, name);
    return this.stages.find((s): s is ConvLayerSpec => s.kind === 'conv' && s.name === resolved)!;
  }

  /**
   * Runs `image` ([N, 3, H, W], RGB in [0, 1]) through the network and returns the post-ReLU activations of
   * the requested layers (by Keras name or alias; the map is keyed by the names as given).
   */
  forward(image: Tensor, layers: readonly string[]): Map<string, Tensor> {
    if (image.rank !== 4 || image.shape[1] !== 3) {
      throw new Error(`FeatureNet.forward: expected an image [N, 3, H, W], got ${formatShape(image.shape)}`);
    }
    const wanted = new Map<string, string[]>();
    for (const n of layers) {
      const r = resolveLayerName(this.arch, n);
      wanted.set(r, [...(wanted.get(r) ?? []), n]);
    }
    const minSide = this.minimumSize(layers);
    const [, , H, W] = image.shape;
    if (Math.min(H, W) < minSide) {
      const deepest = layers.reduce((a, b) => (this.layerSpec(b).poolsBefore > this.layerSpec(a).poolsBefore ? b : a));
      throw new Error(
        `Image size ${W}x${H} is too small for layer ${deepest} of the ${this.arch} network: it needs at least ${minSide}x${minSide} px (the image is halved ${this.layerSpec(deepest).poolsBefore} times before that layer)`,
      );
    }
    const out = new Map<string, Tensor>();
    let x = this.preprocess(image);
    for (const s of this.stages) {
      if (out.size === layers.length) break;
      if (s.kind === 'pool') {
        x = this.pool === 'max' ? maxPool2d(x, { kernelSize: 2 }) : avgPool2d(x, { kernelSize: 2 });
        continue;
      }
      const w = this.weights.get(s.name)!;
      x = conv2d(x, w.weight, w.bias, { stride: 1, padding: 1, dilation: 1 }).relu();
      for (const asked of wanted.get(s.name) ?? []) out.set(asked, x);
    }
    return out;
  }

  dispose(): void {
    for (const w of this.weights.values()) {
      w.weight.dispose();
      w.bias.dispose();
    }
    this.mean.dispose();
    this.invStd.dispose();
  }
}

// ------------------------------------------------------------------ random filters

/**
 * Seeded random filters for the `random` architecture. Each filter is drawn from a normal distribution, made
 * zero-mean (so it responds to structure, not to overall brightness) and scaled to norm √2, which keeps the
 * activation variance roughly constant through conv+ReLU layers (the He argument). Biases are zero.
 * Random shallow networks already give usable texture statistics (Ustyuzhaninov et al., ICLR 2017).
 */
export function randomWeights(seed: number): Map<string, ConvWeights> {
  const rng = new Rng(seed);
  const next = () => rng.float();
  const gauss = () => {
    const u = Math.max(next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  const out = new Map<string, ConvWeights>();
  for (const l of convLayers('random')) {
    const fan = l.inChannels * 9;
    const weight = new Float32Array(l.outChannels * fan);
    for (let o = 0; o < l.outChannels; o++) {
      const f = new Float64Array(fan);
      let mean = 0;
      for (let i = 0; i < fan; i++) mean += f[i] = gauss();
      mean /= fan;
      let norm = 0;
      for (let i = 0; i < fan; i++) norm += (f[i] -= mean) ** 2;
      const scale = Math.SQRT2 / Math.sqrt(norm);
      for (let i = 0; i < fan; i++) weight[o * fan + i] = f[i] * scale;
    }
    out.set(l.name, { weight, bias: new Float32Array(l.outChannels) });
  }
  return out;
}

/** The default feature network: random filters, no download needed. */
export function randomFeatureNet(seed = 1, pool: PoolKind = 'avg'): FeatureNet {
  return new FeatureNet(
    {
      arch: 'random',
      description: `random-filter network (no pretrained weights), seed ${seed}`,
      preprocessing: TORCHVISION_PREPROCESSING,
    },
    randomWeights(seed),
    pool,
  );
}
