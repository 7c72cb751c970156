/**
 * The layer shapes the lesson's models run, as plain data, so every adapter (ours, tfjs) benchmarks exactly the
 * same layers and FLOP counts are computed from one place.
 *
 * PyTorch conventions: channels-first sizes, conv weight [out,in,kh,kw], convT weight [in,out,kh,kw].
 * The tfjs adapter turns these into NHWC itself.
 */
import {
  convForwardFlops,
  convGradInputFlops,
  convGradWeightFlops,
  convOutputSize,
  type ConvLayerShape,
} from './harness.ts';

export type Activation = 'relu' | 'leakyRelu0.2' | 'tanh' | 'none';

/** A layer of a model: the conv itself, then optional BatchNorm, then the activation. */
export interface ModelLayer extends ConvLayerShape {
  batchNorm: boolean;
  activation: Activation;
}

export const DCGAN_BATCH = 256;
export const DCGAN_LATENT = 100;

/**
 * DCGAN generator: z as [N,100,1,1] -> [N,1,28,28].
 * Spatial sizes 1 -> 3 -> 7 -> 15 -> 28; BatchNorm + ReLU after G1..G3, tanh out. No layer has a bias,
 * as in src/gan/models.ts.
 */
export function generatorLayers(batch = DCGAN_BATCH): ModelLayer[] {
  const convT = (name: string, cin: number, cout: number, size: number, extra: Partial<ModelLayer>): ModelLayer => ({
    name,
    kind: 'convT',
    batch,
    inChannels: cin,
    outChannels: cout,
    inH: size,
    inW: size,
    kernelH: 3,
    kernelW: 3,
    stride: 2,
    padding: 0,
    outputPadding: 0,
    bias: false,
    batchNorm: true,
    activation: 'relu',
    ...extra,
  });
  return [
    convT('G1', DCGAN_LATENT, 256, 1, {}),
    convT('G2', 256, 128, 3, {}),
    convT('G3', 128, 64, 7, {}),
    convT('G4', 64, 1, 15, { padding: 2, outputPadding: 1, batchNorm: false, activation: 'tanh' }),
  ];
}

/**
 * DCGAN discriminator: [N,1,28,28] -> one logit per image (sigmoid + BCE in the loss).
 * Conv k4 s2 p1: 28 -> 14 -> 7 -> 3, then Conv k3 s1 p0: 3 -> 1. BatchNorm on the two middle layers (the
 * usual DCGAN choice: none on the layer that sees images, none on the logit layer). No biases, as in
 * src/gan/models.ts.
 */
export function discriminatorLayers(batch = DCGAN_BATCH): ModelLayer[] {
  const conv = (name: string, cin: number, cout: number, size: number, extra: Partial<ModelLayer>): ModelLayer => ({
    name,
    kind: 'conv',
    batch,
    inChannels: cin,
    outChannels: cout,
    inH: size,
    inW: size,
    kernelH: 4,
    kernelW: 4,
    stride: 2,
    padding: 1,
    bias: false,
    batchNorm: true,
    activation: 'leakyRelu0.2',
    ...extra,
  });
  return [
    conv('D1', 1, 64, 28, { batchNorm: false }),
    conv('D2', 64, 128, 14, {}),
    conv('D3', 128, 256, 7, {}),
    conv('D4', 256, 1, 3, { kernelH: 3, kernelW: 3, stride: 1, padding: 0, batchNorm: false, activation: 'none' }),
  ];
}

/** One VGG16 conv layer with its Keras name; ReLU after each, 2x2 max-pool after the last conv of a block. */
export interface VggLayer extends ModelLayer {
  kerasName: string;
  /** A 2x2/2 max-pool follows this layer before the next one. */
  poolAfter: boolean;
}

/** VGG16 block1_conv1 ... block4_conv2 (the layers style transfer runs), batch 1, square `size` px RGB input. */
export function vggLayers(size = 128, batch = 1): VggLayer[] {
  const plan: Array<[kerasName: string, cin: number, cout: number, poolAfter: boolean]> = [
    ['block1_conv1', 3, 64, false],
    ['block1_conv2', 64, 64, true],
    ['block2_conv1', 64, 128, false],
    ['block2_conv2', 128, 128, true],
    ['block3_conv1', 128, 256, false],
    ['block3_conv2', 256, 256, false],
    ['block3_conv3', 256, 256, true],
    ['block4_conv1', 256, 512, false],
    ['block4_conv2', 512, 512, false],
  ];
  if (!Number.isInteger(size) || size < 8 || size % 8 !== 0) {
    throw new Error(`vggLayers: image size must be a multiple of 8 (three 2x2 pools), got ${size}`);
  }
  let s = size;
  return plan.map(([kerasName, cin, cout, poolAfter]) => {
    const layer: VggLayer = {
      name: `VGG.${kerasName}@${size}`,
      kerasName,
      kind: 'conv',
      batch,
      inChannels: cin,
      outChannels: cout,
      inH: s,
      inW: s,
      kernelH: 3,
      kernelW: 3,
      stride: 1,
      padding: 1,
      bias: true,
      batchNorm: false,
      activation: 'relu',
      poolAfter,
    };
    if (poolAfter) s /= 2;
    return layer;
  });
}

/** Style-transfer layer roles (Gatys et al. as in the Keras example): content on block4_conv2, style on blockN_conv1. */
export const CONTENT_LAYER = 'block4_conv2';
export const STYLE_LAYERS = ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1'] as const;

/** Every per-layer benchmark shape: generator, discriminator, VGG at 128 px. */
export function benchmarkLayers(): ModelLayer[] {
  return [...generatorLayers(), ...discriminatorLayers(), ...vggLayers(128)];
}

/** Checks that a layer chain is consistent (each layer's input is the previous output, after pools). */
export function checkChain(layers: readonly (ModelLayer & { poolAfter?: boolean })[]): void {
  for (let i = 1; i < layers.length; i++) {
    const prev = layers[i - 1]!;
    const cur = layers[i]!;
    let { outH, outW } = convOutputSize(prev);
    if (prev.poolAfter) {
      outH = Math.floor(outH / 2);
      outW = Math.floor(outW / 2);
    }
    if (prev.outChannels !== cur.inChannels || outH !== cur.inH || outW !== cur.inW) {
      throw new Error(
        `layer ${cur.name}: expects [${cur.inChannels},${cur.inH},${cur.inW}] but ${prev.name} gives [${prev.outChannels},${outH},${outW}]`,
      );
    }
  }
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * Useful conv FLOPs of one DCGAN training step, as PyTorch's loop does it: D step on real and detached fake,
 * then G step through D. BatchNorm, activations, the loss and Adam are not counted (they are memory-bound).
 * - D step: G forward; D forward x2; D grad-weight x2; D grad-input x2 for every layer but the first
 *   (no gradient is needed for images).
 * - G step: D forward on the same fake; D grad-input (all layers, down to the image); G grad-input for every
 *   layer but the first (z needs none); G grad-weight.
 */
export function dcganStepFlops(batch = DCGAN_BATCH): number {
  const G = generatorLayers(batch);
  const D = discriminatorLayers(batch);
  const fwdG = sum(G.map(convForwardFlops));
  const fwdD = sum(D.map(convForwardFlops));
  const dwD = sum(D.map(convGradWeightFlops));
  const dwG = sum(G.map(convGradWeightFlops));
  const dxD = sum(D.map(convGradInputFlops));
  const dxDNoFirst = sum(D.slice(1).map(convGradInputFlops));
  const dxGNoFirst = sum(G.slice(1).map(convGradInputFlops));
  return fwdG + 2 * fwdD + 2 * dwD + 2 * dxDNoFirst + fwdD + dxD + dxGNoFirst + dwG;
}

/**
 * Useful conv FLOPs of one style-transfer iteration at `size` px: VGG forward to block4_conv2 and the gradient
 * back to the image (grad-input of every layer; weights are constants, so no grad-weight). Gram matrices, TV
 * and Adam are left out.
 */
export function styleStepFlops(size: number): number {
  const V = vggLayers(size);
  return sum(V.map(convForwardFlops)) + sum(V.map(convGradInputFlops));
}
