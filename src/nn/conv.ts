/**
 * Convolution layers: Conv2d (weight [out, in, kh, kw]) and ConvTranspose2d (weight [in, out, kh, kw]),
 * with torch's default init: weight and bias ~ U(-1/√fan_in, 1/√fan_in), where torch takes fan_in from the
 * weight's dimension 1 times the kernel area (in·kh·kw for Conv2d, out·kh·kw for ConvTranspose2d).
 */
import { Tensor } from '../tensor/index.ts';
import { conv2d, convTranspose2d } from '../tensor/conv.ts';
import type { Size2 } from '../tensor/pool.ts';
import { Module } from './module.ts';
import { uniformInit } from './layers.ts';
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
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    opts: Conv2dLayerOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    checkCounts('Conv2d', inChannels, outChannels, this.kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    const [kh, kw] = this.kernelSize;
    const bound = 1 / Math.sqrt(inChannels * kh * kw);
    this.weight = this.registerParameter(
      'weight',
      uniformInit([outChannels, inChannels, kh, kw], bound, seedFor(opts.seed, 'weight')),
    );
    this.bias =
      (opts.bias ?? true)
        ? this.registerParameter('bias', uniformInit([outChannels], bound, seedFor(opts.seed, 'bias')))
        : null;
  }

  override describe(): string {
    return `Conv2d(${this.inChannels}, ${this.outChannels}, kernel=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}])`;
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias ?? undefined, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
    });
  }
}

export interface ConvTranspose2dLayerOptions extends Conv2dLayerOptions {
  outputPadding?: Size2;
}

export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    opts: ConvTranspose2dLayerOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    checkCounts('ConvTranspose2d', inChannels, outChannels, this.kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.outputPadding = pair(opts.outputPadding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    const [kh, kw] = this.kernelSize;
    const bound = 1 / Math.sqrt(outChannels * kh * kw);
    this.weight = this.registerParameter(
      'weight',
      uniformInit([inChannels, outChannels, kh, kw], bound, seedFor(opts.seed, 'weight')),
    );
    this.bias =
      (opts.bias ?? true)
        ? this.registerParameter('bias', uniformInit([outChannels], bound, seedFor(opts.seed, 'bias')))
        : null;
  }

  override describe(): string {
    return `ConvTranspose2d(${this.inChannels}, ${this.outChannels}, kernel=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}])`;
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias ?? undefined, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      dilation: this.dilation,
    });
  }
}
