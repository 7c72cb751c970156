/**
 * Turning pretrained VGG weights from the files people have into FeatureNets.
 *
 * Two sources, each with its own preprocessing (weights only work on inputs prepared the way they were trained):
 *  - Keras ImageNet "notop" files (vgg16/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, used by the lesson):
 *    kernels are HWIO [kh, kw, in, out] and are transposed here to our [out, in, kh, kw]; inputs are BGR on
 *    0–255 minus the caffe mean. The HDF5 reading itself lives in src/node/style-weights.ts; this file takes the
 *    arrays it found, so a browser page holding the same arrays can use it too.
 *  - safetensors with torchvision names (`features.<i>.weight` / `.bias`, already [out, in, kh, kw]): RGB on 0–1
 *    with ImageNet mean/std.
 * The architecture is recognised from the layers present (VGG19 has block3_conv4 / features.16), and a file for
 * the other network, or with a wrong shape, is rejected naming the layer.
 */
import { nonFinite } from '../nn/checkpoint.ts';
import type { DecodedSafetensors } from '../io/safetensors.ts';
import {
  FeatureNet,
  convLayers,
  KERAS_PREPROCESSING,
  TORCHVISION_PREPROCESSING,
  type Architecture,
  type ConvWeights,
  type PoolKind,
} from './nets.ts';
import { formatShape } from '../tensor/shape.ts';

/** An array read from a file, with its shape as stored there. */
export interface StoredArray {
  shape: number[];
  data: ArrayLike<number>;
}

/** Per Keras layer name, the kernel (HWIO) and bias found in an h5 file. */
export type KerasLayerArrays = Map<string, { kernel: StoredArray; bias: StoredArray }>;

function toFloat32(a: ArrayLike<number>): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

/** [kh, kw, in, out] (TensorFlow HWIO) → [out, in, kh, kw] (our / torch layout). */
export function hwioToOihw(data: ArrayLike<number>, shape: readonly number[]): Float32Array {
  if (shape.length !== 4) throw new Error(`hwioToOihw: expected a 4-D HWIO kernel, got shape ${formatShape(shape)}`);
  const [kh, kw, ci, co] = shape;
  if (data.length !== kh * kw * ci * co)
    throw new Error(`hwioToOihw: shape ${formatShape(shape)} needs ${kh * kw * ci * co} values, got ${data.length}`);
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        const src = ((y * kw + x) * ci + i) * co;
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = data[src + o];
      }
    }
  }
  return out;
}

/** Which VGG a set of layer names belongs to; throws when it is neither. */
function detectArchitecture(
  has: (layer: string) => boolean,
  what: string,
  example: (layer: string) => string,
): 'vgg16' | 'vgg19' {
  const vgg19 = convLayers('vgg19');
  const vgg16 = convLayers('vgg16');
  // block3_conv4 exists only in VGG19; VGG16's block3_conv3 is at a torchvision index VGG19 also uses.
  if (vgg19.every((l) => has(l.name))) return 'vgg19';
  if (vgg16.every((l) => has(l.name)) && !has('block3_conv4')) return 'vgg16';
  const missing16 = vgg16.filter((l) => !has(l.name)).map((l) => example(l.name));
  throw new Error(
    `${what} does not hold the convolutional layers of VGG16 or VGG19 (missing for VGG16: ${missing16.slice(0, 4).join(', ')}${missing16.length > 4 ? ', …' : ''})`,
  );
}

/**
 * Refuses a layer's values that are not finite as float32 (NaN, ±Inf, or a float64 beyond float32's range): the
 * network would turn every loss into NaN, and the message would blame the loss weights.
 */
function finiteWeights(values: Float32Array, what: string, name: string): Float32Array {
  const bad = nonFinite(values);
  if (bad)
    throw new Error(
      `${what}: ${name} holds ${bad.count} value${bad.count > 1 ? 's that are' : ' that is'} not finite as float32 (first: ${bad.first}) of ${values.length}`,
    );
  return values;
}

function checkRequested(arch: Architecture | undefined, found: 'vgg16' | 'vgg19', what: string): void {
  if (arch && arch !== found) {
    throw new Error(
      `${what} holds ${found.toUpperCase()} weights, but the ${arch} network was requested (use --net ${found}, or the matching file)`,
    );
  }
}

/** Builds a FeatureNet from the arrays of a Keras notop h5 file. */
export function featureNetFromKeras(
  layers: KerasLayerArrays,
  opts: { arch?: Architecture; pool?: PoolKind; fileName?: string } = {},
): FeatureNet {
  const what = `Keras weights file ${opts.fileName ?? ''}`.trim();
  const arch = detectArchitecture(
    (n) => layers.has(n),
    what,
    (n) => n,
  );
  checkRequested(opts.arch, arch, what);
  const weights = new Map<string, ConvWeights>();
  for (const l of convLayers(arch)) {
    const { kernel, bias } = layers.get(l.name)!;
    const want = [3, 3, l.inChannels, l.outChannels];
    if (formatShape(kernel.shape) !== formatShape(want)) {
      throw new Error(
        `${what}: layer ${l.name} kernel has shape ${formatShape(kernel.shape)}, ${arch} needs ${formatShape(want)} (HWIO)`,
      );
    }
    if (formatShape(bias.shape) !== formatShape([l.outChannels])) {
      throw new Error(
        `${what}: layer ${l.name} bias has shape ${formatShape(bias.shape)}, ${arch} needs [${l.outChannels}]`,
      );
    }
    weights.set(l.name, {
      weight: finiteWeights(hwioToOihw(kernel.data, kernel.shape), what, `layer ${l.name} kernel`),
      bias: finiteWeights(toFloat32(bias.data), what, `layer ${l.name} bias`),
    });
  }
  return new FeatureNet(
    {
      arch,
      description: `${arch} ImageNet weights from ${opts.fileName ?? 'a Keras h5 file'}`,
      preprocessing: KERAS_PREPROCESSING,
    },
    weights,
    opts.pool ?? 'max',
  );
}

/** Builds a FeatureNet from a safetensors file with torchvision's `features.<i>.weight/bias` names. */
export function featureNetFromTorchvision(
  file: DecodedSafetensors,
  opts: { arch?: Architecture; pool?: PoolKind; fileName?: string } = {},
): FeatureNet {
  const what = `safetensors file ${opts.fileName ?? ''}`.trim();
  // Accept a bare `features.` state dict or a whole model's (`features.` prefix) — both name convs the same.
  const key = (arch: 'vgg16' | 'vgg19', layer: string, part: 'weight' | 'bias') => {
    const l = convLayers(arch).find((c) => c.name === layer)!;
    return `features.${l.torchIndex}.${part}`;
  };
  // Detect by the torchvision indices: VGG19 has a conv at features.34, VGG16's last is features.28.
  const has19 = convLayers('vgg19').every((l) => file.tensors.has(`features.${l.torchIndex}.weight`));
  const has16 = convLayers('vgg16').every((l) => file.tensors.has(`features.${l.torchIndex}.weight`));
  let arch: 'vgg16' | 'vgg19';
  if (has19) arch = 'vgg19';
  else if (has16) arch = 'vgg16';
  else {
    const missing = convLayers('vgg16')
      .map((l) => `features.${l.torchIndex}.weight`)
      .filter((k) => !file.tensors.has(k));
    const names = [...file.tensors.keys()].slice(0, 3).join(', ');
    throw new Error(
      `${what} does not hold torchvision VGG16/VGG19 features (missing ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}; the file has ${file.tensors.size} tensors${names ? `, e.g. ${names}` : ''})`,
    );
  }
  checkRequested(opts.arch, arch, what);
  const weights = new Map<string, ConvWeights>();
  for (const l of convLayers(arch)) {
    const wName = key(arch, l.name, 'weight');
    const bName = key(arch, l.name, 'bias');
    const w = file.tensors.get(wName)!;
    const b = file.tensors.get(bName);
    if (!b) throw new Error(`${what}: ${bName} (bias of ${l.name}) is missing`);
    const want = [l.outChannels, l.inChannels, 3, 3];
    if (formatShape(w.shape) !== formatShape(want))
      throw new Error(
        `${what}: ${wName} (${l.name}) has shape ${formatShape(w.shape)}, ${arch} needs ${formatShape(want)}`,
      );
    if (formatShape(b.shape) !== formatShape([l.outChannels]))
      throw new Error(
        `${what}: ${bName} (${l.name}) has shape ${formatShape(b.shape)}, ${arch} needs [${l.outChannels}]`,
      );
    for (const [n, t] of [
      [wName, w],
      [bName, b],
    ] as const) {
      if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype))
        throw new Error(`${what}: ${n} has dtype ${t.dtype}; expected floating point`);
    }
    weights.set(l.name, {
      weight: finiteWeights(toFloat32(w.data as ArrayLike<number>), what, `${wName} (${l.name})`),
      bias: finiteWeights(toFloat32(b.data as ArrayLike<number>), what, `${bName} (${l.name})`),
    });
  }
  return new FeatureNet(
    {
      arch,
      description: `${arch} ImageNet weights from ${opts.fileName ?? 'a torchvision safetensors file'}`,
      preprocessing: TORCHVISION_PREPROCESSING,
    },
    weights,
    opts.pool ?? 'max',
  );
}
