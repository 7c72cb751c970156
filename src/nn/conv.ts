/**
 * Convolution layers: Conv2d (weight [out, in, kh, kw]) and ConvTranspose2d (weight [in, out, kh, kw]),
 * with torch's default init: weight and bias ~ U(-1/√fan_in, 1/√fan_in), where torch takes fan_in from the
 * weight's dimension 1 times the kernel area (in·kh·kw for Conv2d, out·kh·kw for ConvTranspose2d).
 *
 * With `equalized` (ProGAN's equalized learning rate, Karras et al. 2018 §4.1) the stored weight is drawn from
 * N(0, 1), the bias starts at 0, and every forward multiplies the weight by He's constant gain/√fan_in (gain √2 by
 * default), so each layer's updates are in the same units whatever its size. fan_in is in·kh·kw for both layers —
 * the weights one output channel sums over per input channel, as the paper's code counts it (for the generator's
 * first layer, a 4×4 transposed conv of a 1×1 latent, that is the paper's dense layer with gain √2/4).
 */
import { Tensor } from '../tensor/index.ts';
import { conv2d, convTranspose2d, fusableSlope, type ConvActivation } from '../tensor/conv.ts';
import type { Size2 } from '../tensor/pool.ts';
import { Module, type FusedActivation } from './module.ts';
import { uniformInit, LeakyReLU, Tanh } from './layers.ts';
import { deriveSeed } from './seed.ts';

export type { Size2 };

const pair = (v: Size2): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
const seedFor = (seed: number | undefined, label: string) => (seed === undefined ? undefined : deriveSeed(seed, label));

function checkCounts(layer: string, inC: number, outC: number, k: [number, number]): void {
  const ok = [inC, outC, ...k].every((v) => Number.isInteger(v) && v > 0);
  if (!ok)
    throw new Error(
      `${layer}: channels and kernel size must be positive integers, got in=${inC}, out=${outC}, kernel=[${k}]`,
    );
}

export interface Conv2dLayerOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  bias?: boolean;
  seed?: number;
  /** Equalized learning rate: true (gain √2) or the gain (1 for a linear output such as toRGB). */
  equalized?: boolean | { gain: number };
}

/** The run-time weight scale of an equalized layer (1 for a plain one), checked. */
export function equalizedScale(layer: string, equalized: Conv2dLayerOptions['equalized'], fanIn: number): number {
  if (!equalized) return 1;
  const gain = equalized === true ? Math.SQRT2 : equalized.gain;
  if (!(gain > 0 && Number.isFinite(gain)))
    throw new Error(`${layer}: equalized gain must be a positive number, got ${gain}`);
  return gain / Math.sqrt(fanIn);
}

/** The layer's weight as used: the stored one, or (equalized) a scaled copy, freed with the graph or at once. */
export function scaledWeight(weight: Tensor, scale: number): Tensor {
  return scale === 1 ? weight : weight.mul(scale);
}

/** Frees an equalized layer's scaled weight when no graph holds it (the output records no backward). */
export function releaseScaled(w: Tensor, weight: Tensor, out: Tensor): Tensor {
  if (w !== weight && !out.requiresGrad) w.dispose();
  return out;
}

/**
 * Initial weight and bias (null when the layer has none): torch's U(−bound, bound), drawn in torch's order (weight,
 * then bias), or N(0, 1) and zeros for an equalized layer.
 */
function initParams(shape: number[], outChannels: number, bound: number, opts: Conv2dLayerOptions) {
  const withBias = opts.bias ?? true;
  if (opts.equalized)
    return {
      weight: Tensor.randn(shape, { seed: seedFor(opts.seed, 'weight') }),
      bias: withBias ? Tensor.zeros([outChannels]) : null,
    };
  const weight = uniformInit(shape, bound, seedFor(opts.seed, 'weight'));
  return { weight, bias: withBias ? uniformInit([outChannels], bound, seedFor(opts.seed, 'bias')) : null };
}

/**
 * What Conv2d and ConvTranspose2d share: their hyperparameters, their weight and bias (torch's init, or an equalized
 * learning rate's), their description, and the activation after them: a LeakyReLU (see fusableSlope) or Tanh that
 * follows in a Sequential runs inside the op's own last kernel (one launch fewer); `convolve` is the layer's op with
 * or without it.
 */
abstract class ConvLayer extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  /** Whether the layer has an equalized learning rate (N(0, 1) weights scaled at run time). */
  readonly equalized: boolean;
  /** He's constant of an equalized layer (gain/√fan_in) applied to the weight at every forward; 1 otherwise. */
  readonly weightScale: number;

  /**
   * `name` for messages; the weight is [outChannels, inChannels, kh, kw] for a conv and [inChannels, outChannels, kh,
   * kw] for a transposed one (`transposed`), whose torch init takes its fan from the weight's second axis too.
   */
  protected constructor(
    private readonly name: 'Conv2d' | 'ConvTranspose2d',
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    opts: Conv2dLayerOptions,
    transposed: boolean,
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    checkCounts(name, inChannels, outChannels, this.kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    const [kh, kw] = this.kernelSize;
    const [first, second] = transposed ? [inChannels, outChannels] : [outChannels, inChannels];
    const bound = 1 / Math.sqrt(second * kh * kw);
    this.equalized = !!opts.equalized;
    this.weightScale = equalizedScale(name, opts.equalized, inChannels * kh * kw);
    const init = initParams([first, second, kh, kw], outChannels, bound, opts);
    this.weight = this.registerParameter('weight', init.weight);
    this.bias = init.bias ? this.registerParameter('bias', init.bias) : null;
  }

  override describe(): string {
    return `${this.name}(${this.inChannels}, ${this.outChannels}, kernel=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}]${this.equalized ? `, equalized ×${this.weightScale.toPrecision(4)}` : ''})`;
  }

  protected abstract convolve(x: Tensor, activation?: ConvActivation): Tensor;

  forward(x: Tensor): Tensor {
    return this.convolve(x);
  }

  override fusableActivation(next: Module): FusedActivation | null {
    if (next instanceof LeakyReLU && fusableSlope(next.negativeSlope))
      return { kind: 'leaky_relu', slope: next.negativeSlope };
    if (next instanceof Tanh) return { kind: 'tanh' };
    return null;
  }

  override forwardFused(x: Tensor, activation: FusedActivation): Tensor {
    if (activation.kind === 'relu') return super.forwardFused(x, activation);
    return this.convolve(x, activation);
  }
}

export class Conv2d extends ConvLayer {
  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: Conv2dLayerOptions = {}) {
    super('Conv2d', inChannels, outChannels, kernelSize, opts, false);
  }

  protected convolve(x: Tensor, activation?: ConvActivation): Tensor {
    const w = scaledWeight(this.weight, this.weightScale);
    const y = conv2d(x, w, this.bias ?? undefined, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      activation,
    });
    return releaseScaled(w, this.weight, y);
  }
}

export interface ConvTranspose2dLayerOptions extends Conv2dLayerOptions {
  outputPadding?: Size2;
}

export class ConvTranspose2d extends ConvLayer {
  readonly outputPadding: [number, number];

  constructor(inChannels: number, outChannels: number, kernelSize: Size2, opts: ConvTranspose2dLayerOptions = {}) {
    super('ConvTranspose2d', inChannels, outChannels, kernelSize, opts, true);
    this.outputPadding = pair(opts.outputPadding ?? 0);
  }

  protected convolve(x: Tensor, activation?: ConvActivation): Tensor {
    const w = scaledWeight(this.weight, this.weightScale);
    const y = convTranspose2d(x, w, this.bias ?? undefined, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      dilation: this.dilation,
      activation,
    });
    return releaseScaled(w, this.weight, y);
  }
}
