/**
 * Weight loaders for style transfer: Keras notop .h5 files (written here with h5wasm in Keras' layouts) and
 * torchvision-named safetensors, checked value by value in the right layer and layout; wrong files rejected;
 * and the checked downloader against a local HTTP server.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { Tensor } from '../src/tensor/index.ts';
import { encodeSafetensors, type TensorToEncode } from '../src/io/safetensors.ts';
import { convLayers } from '../src/style/nets.ts';
import { hwioToOihw } from '../src/style/weights.ts';
import {
  loadH5wasm,
  readKerasH5,
  loadFeatureNetFile,
  downloadWeights,
  findWeightSource,
  type WeightSource,
} from '../src/node/style-weights.ts';
import { useEngine } from './helpers.ts';

useEngine();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'style-weights-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A distinct value for every kernel element, from its HWIO position, so a wrong transpose shows. */
const kernelValue = (layer: number, y: number, x: number, i: number, o: number) =>
  layer * 0.001 + y * 0.1 + x * 0.01 + i * 1e-4 + o * 1e-5;

function hwioKernel(layer: number, ci: number, co: number): Float32Array {
  const k = new Float32Array(9 * ci * co);
  // Only the first two layers get patterned values (cheap); deeper kernels stay zero.
  if (layer > 1) return k;
  for (let y = 0; y < 3; y++)
    for (let x = 0; x < 3; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          k[((y * 3 + x) * ci + i) * co + o] = kernelValue(layer, y, x, i, o);
        }
  return k;
}

/** Writes a Keras-style notop file for `arch`; `legacy` uses the 2016 dataset names without nested groups. */
async function writeKerasFile(
  path: string,
  arch: 'vgg16' | 'vgg19',
  opts: { legacy?: boolean; override?: (layer: string, kernel: Float32Array) => void } = {},
) {
  const h5 = await loadH5wasm();
  const f = new h5.File(path, 'w');
  const layers = convLayers(arch);
  f.create_attribute('layer_names', ['input_1', ...layers.map((l) => l.name)]);
  f.create_attribute('keras_version', '2.2.4');
  f.create_attribute('backend', 'tensorflow');
  layers.forEach((l, idx) => {
    const g = f.create_group(l.name);
    const kernel = hwioKernel(idx, l.inChannels, l.outChannels);
    opts.override?.(l.name, kernel);
    const bias = Float32Array.from({ length: l.outChannels }, (_, o) => idx + o / 1000);
    if (opts.legacy) {
      g.create_dataset({
        name: `${l.name}_W_1:0`,
        data: kernel,
        shape: [3, 3, l.inChannels, l.outChannels],
        dtype: '<f',
      });
      g.create_dataset({ name: `${l.name}_b_1:0`, data: bias, shape: [l.outChannels], dtype: '<f' });
    } else {
      g.create_attribute('weight_names', [`${l.name}/kernel:0`, `${l.name}/bias:0`]);
      const inner = g.create_group(l.name);
      inner.create_dataset({ name: 'kernel:0', data: kernel, shape: [3, 3, l.inChannels, l.outChannels], dtype: '<f' });
      inner.create_dataset({ name: 'bias:0', data: bias, shape: [l.outChannels], dtype: '<f' });
    }
  });
  f.close();
}

describe('HWIO → OIHW', () => {
  it('moves every element to [out, in, kh, kw]', () => {
    const [kh, kw, ci, co] = [2, 3, 4, 5];
    const src = Float32Array.from({ length: kh * kw * ci * co }, (_, i) => i);
    const out = hwioToOihw(src, [kh, kw, ci, co]);
    for (let o = 0; o < co; o++)
      for (let i = 0; i < ci; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            expect(out[((o * ci + i) * kh + y) * kw + x]).toBe(src[((y * kw + x) * ci + i) * co + o]);
          }
    expect(() => hwioToOihw(src, [2, 3, 4])).toThrow(/4-D HWIO/);
  });
});

describe('Keras .h5 loader', () => {
  it('reads a Keras-2 layout (weight_names, layer/layer/kernel:0) into the right layers, transposed', async () => {
    const path = join(dir, 'vgg16_notop.h5');
    await writeKerasFile(path, 'vgg16');
    const net = await loadFeatureNetFile(path);
    expect(net.arch).toBe('vgg16');
    expect(net.source.preprocessing.bgr).toBe(true);
    expect(net.source.preprocessing.mean).toEqual([103.939, 116.779, 123.68]);
    const w = await net.layerWeights('block1_conv2').weight.toArray(); // layer index 1, [64, 64, 3, 3]
    expect(net.layerWeights('block1_conv2').weight.shape).toEqual([64, 64, 3, 3]);
    for (const [o, i, y, x] of [
      [0, 0, 0, 0],
      [5, 7, 2, 1],
      [63, 62, 1, 2],
    ]) {
      expect(w[((o * 64 + i) * 3 + y) * 3 + x]).toBeCloseTo(kernelValue(1, y, x, i, o), 6);
    }
    const b = await net.layerWeights('relu5_3').bias.toArray(); // alias of block5_conv3, layer index 12
    expect(b[0]).toBeCloseTo(12, 5);
    expect(b[511]).toBeCloseTo(12.511, 4);
    net.dispose();
  });

  it('applies the Keras preprocessing (BGR, 0-255, caffe mean) before block1_conv1', async () => {
    const path = join(dir, 'vgg16_pick.h5');
    // block1_conv1: output 0 = centre tap of input channel 2 (R in BGR order), output 1 = −(channel 0, B).
    await writeKerasFile(path, 'vgg16', {
      override: (layer, k) => {
        if (layer !== 'block1_conv1') return;
        k.fill(0);
        const at = (y: number, x: number, i: number, o: number) => ((y * 3 + x) * 3 + i) * 64 + o;
        k[at(1, 1, 2, 0)] = 1;
        k[at(1, 1, 0, 1)] = -1;
      },
    });
    const net = await loadFeatureNetFile(path, { arch: 'vgg16' });
    // A pure red 4x4 image: R = 1, G = B = 0 in pixel space.
    const img = new Float32Array(3 * 16);
    img.fill(1, 0, 16);
    const x = Tensor.fromArray(img, [1, 3, 4, 4]);
    const f = net.forward(x, ['block1_conv1']).get('block1_conv1')!;
    const v = await f.toArray();
    // bias of layer 0 is o/1000; R: 255 − 123.68; B: −(0 − 103.939)
    expect(v[5]).toBeCloseTo(255 - 123.68, 3);
    expect(v[16 + 5]).toBeCloseTo(103.939 + 0.001, 3);
    f.dispose();
    x.dispose();
    net.dispose();
  });

  it('reads the 2016 layout (block1_conv1_W_1:0 without weight_names)', async () => {
    const path = join(dir, 'legacy.h5');
    await writeKerasFile(path, 'vgg16', { legacy: true });
    const layers = await readKerasH5(path);
    expect(layers.size).toBe(13);
    const l = layers.get('block1_conv2')!;
    expect(l.kernel.shape).toEqual([3, 3, 64, 64]);
    expect(l.kernel.data[((1 * 3 + 2) * 64 + 3) * 64 + 4]).toBeCloseTo(kernelValue(1, 1, 2, 3, 4), 6);
    expect(Array.from(l.bias.data).slice(0, 2)).toEqual([1, Math.fround(1.001)]);
  });

  it('rejects a file for the other network, a missing layer, a wrong shape and a non-HDF5 file, naming the problem', async () => {
    const path = join(dir, 'vgg16_again.h5');
    await writeKerasFile(path, 'vgg16');
    await expect(loadFeatureNetFile(path, { arch: 'vgg19' })).rejects.toThrow(
      /holds VGG16 weights, but the vgg19 network was requested/,
    );

    const h5 = await loadH5wasm();
    const partial = join(dir, 'partial.h5');
    const f = new h5.File(partial, 'w');
    const g = f.create_group('block1_conv1').create_group('block1_conv1');
    g.create_dataset({ name: 'kernel:0', data: new Float32Array(3 * 3 * 3 * 64), shape: [3, 3, 3, 64], dtype: '<f' });
    g.create_dataset({ name: 'bias:0', data: new Float32Array(64), shape: [64], dtype: '<f' });
    f.close();
    await expect(loadFeatureNetFile(partial)).rejects.toThrow(
      /does not hold the convolutional layers of VGG16 or VGG19 \(missing for VGG16: block1_conv2/,
    );

    const bad = join(dir, 'badshape.h5');
    await writeKerasFile(bad, 'vgg16', { legacy: true });
    const fa = new h5.File(bad, 'a');
    const grp = fa.get('block2_conv1') as InstanceType<typeof h5.Group>;
    grp.create_dataset({ name: 'extra_kernel', data: new Float32Array(27), shape: [3, 3, 3, 1], dtype: '<f' });
    fa.close();
    await expect(loadFeatureNetFile(bad)).rejects.toThrow(
      /layer block2_conv1: expected one 4-D kernel and one 1-D bias/,
    );

    const junk = join(dir, 'junk.h5');
    writeFileSync(junk, 'not weights at all');
    await expect(loadFeatureNetFile(junk)).rejects.toThrow(/neither HDF5 \(Keras \.h5\) nor valid safetensors/);
    await expect(loadFeatureNetFile(join(dir, 'missing.h5'))).rejects.toThrow(/missing\.h5: no such file/);
  });
});

describe('torchvision safetensors loader', () => {
  function vgg16Tensors(): Record<string, TensorToEncode> {
    const t: Record<string, TensorToEncode> = {};
    convLayers('vgg16').forEach((l, idx) => {
      const w = new Float32Array(l.outChannels * l.inChannels * 9);
      if (idx === 0) w.forEach((_, i) => (w[i] = i / 1000));
      t[`features.${l.torchIndex}.weight`] = { dtype: 'F32', shape: [l.outChannels, l.inChannels, 3, 3], data: w };
      t[`features.${l.torchIndex}.bias`] = {
        dtype: 'F32',
        shape: [l.outChannels],
        data: Float32Array.from({ length: l.outChannels }, (_, o) => l.torchIndex + o / 1000),
      };
    });
    return t;
  }

  it('reads features.<i>.weight/bias into the matching Keras-named layers without transposing', async () => {
    const path = join(dir, 'vgg16.safetensors');
    writeFileSync(path, encodeSafetensors(vgg16Tensors()));
    const net = await loadFeatureNetFile(path);
    expect(net.arch).toBe('vgg16');
    expect(net.source.preprocessing.bgr).toBe(false);
    expect(net.source.preprocessing.std).toEqual([0.229, 0.224, 0.225]);
    const w = await net.layerWeights('block1_conv1').weight.toArray();
    expect(w[0]).toBe(0);
    expect(w[1727]).toBeCloseTo(1.727, 6);
    // features.28 is the last VGG16 conv, block5_conv3; features.17 is block4_conv1.
    expect((await net.layerWeights('block5_conv3').bias.toArray())[3]).toBeCloseTo(28.003, 4);
    expect((await net.layerWeights('block4_conv1').bias.toArray())[0]).toBeCloseTo(17, 5);
    net.dispose();
  });

  it('rejects weights that are not finite as float32, naming the tensor (was: a NaN loss blamed on the loss weights)', async () => {
    const nan = vgg16Tensors();
    (nan['features.5.weight']!.data as Float32Array)[7] = NaN;
    const big = vgg16Tensors();
    const b = big['features.0.bias']!;
    big['features.0.bias'] = {
      dtype: 'F64',
      shape: b.shape,
      data: Float64Array.from(b.data as Float32Array, (v, i) => (i === 2 ? 1e300 : v)),
    };
    for (const [name, t, expected] of [
      [
        'nan.safetensors',
        nan,
        /nan\.safetensors: features\.5\.weight \(block2_conv1\) holds 1 value that is not finite as float32 \(first: NaN\) of 73728/,
      ],
      [
        'big.safetensors',
        big,
        /big\.safetensors: features\.0\.bias \(block1_conv1\) holds 1 value that is not finite as float32 \(first: Infinity\) of 64/,
      ],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, encodeSafetensors(t));
      await expect(loadFeatureNetFile(path)).rejects.toThrow(expected);
    }
  });

  it('rejects a file from another model and a shape mismatch', async () => {
    const other = join(dir, 'generator.safetensors');
    writeFileSync(
      other,
      encodeSafetensors({
        'main.0.weight': { dtype: 'F32', shape: [100, 64, 4, 4], data: new Float32Array(100 * 64 * 16) },
      }),
    );
    await expect(loadFeatureNetFile(other)).rejects.toThrow(
      /does not hold torchvision VGG16\/VGG19 features \(missing features\.0\.weight.*e\.g\. main\.0\.weight/,
    );

    const t = vgg16Tensors();
    t['features.10.weight'] = { dtype: 'F32', shape: [256, 128, 1, 9], data: new Float32Array(256 * 128 * 9) };
    const bad = join(dir, 'badshape.safetensors');
    writeFileSync(bad, encodeSafetensors(t));
    await expect(loadFeatureNetFile(bad)).rejects.toThrow(
      /features\.10\.weight \(block3_conv1\) has shape \[256, 128, 1, 9\], vgg16 needs \[256, 128, 3, 3\]/,
    );
    await expect(loadFeatureNetFile(join(dir, 'vgg16.safetensors'), { arch: 'vgg19' })).rejects.toThrow(
      /holds VGG16 weights, but the vgg19 network/,
    );
  });
});

describe('weights download', () => {
  let server: Server;
  let base: string;
  const payload = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31 + 7) & 0xff);
  const md5 = createHash('md5').update(payload).digest('hex');

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/weights.h5') {
        res.writeHead(200, { 'content-length': payload.length });
        res.end(payload);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const source = (over: Partial<WeightSource>): WeightSource => ({
    id: 'test',
    arch: 'vgg16',
    fileName: 'w.h5',
    url: `${base}/weights.h5`,
    size: payload.length,
    md5,
    note: 'test',
    ...over,
  });

  it('writes the file when size and MD5 match', async () => {
    const out = join(dir, 'dl-ok');
    let last = 0;
    const path = await downloadWeights(source({}), out, { onProgress: (n) => (last = n) });
    expect(path).toBe(join(out, 'w.h5'));
    expect(new Uint8Array(readFileSync(path))).toEqual(payload);
    expect(last).toBe(payload.length);
  });

  it('writes nothing on a checksum mismatch, a size mismatch or an HTTP error', async () => {
    const out = join(dir, 'dl-bad');
    await expect(downloadWeights(source({ md5: '0'.repeat(32) }), out)).rejects.toThrow(
      /MD5 is [0-9a-f]{32}, expected 0{32}; nothing was written/,
    );
    await expect(downloadWeights(source({ size: 99_999 }), out)).rejects.toThrow(/more than the expected 99999 bytes/);
    await expect(downloadWeights(source({ size: 100_001 }), out)).rejects.toThrow(/got 100000 bytes, expected 100001/);
    await expect(downloadWeights(source({ url: `${base}/nope` }), out)).rejects.toThrow(/HTTP 404/);
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(out, 'w.h5'))).toBe(false);
  });

  it('knows the Keras files by id', () => {
    expect(findWeightSource('keras-vgg19').fileName).toBe('vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5');
    expect(() => findWeightSource('resnet')).toThrow(/Unknown weights "resnet"; available: keras-vgg16, keras-vgg19/);
  });
});
