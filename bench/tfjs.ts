/**
 * The TensorFlow.js side of the benchmark: backends set up in Node, and the workloads written with tfjs ops.
 *
 * Backends: `webgpu` (tfjs-backend-webgpu on the same Dawn entry point our engine uses), `wasm` (XNNPACK; in Node
 * the single-threaded SIMD build, see wasmInfo) and `cpu` (plain JS on the main thread). tfjs is channels-last,
 * so every PyTorch-style shape from shapes.ts is turned into NHWC here; FLOP counts do not depend on the layout.
 *
 * Every workload step resolves only after the backend has finished its work: it reads back one element of the
 * result, which on webgpu submits the queued commands and waits for them.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { BenchSide } from './suite.ts';
import {
  convOutputSize,
  convPassFlops,
  matmulFlops,
  type ConvLayerShape,
  type ConvPass,
  type MemoryInfo,
} from './harness.ts';
import {
  CONTENT_LAYER,
  DCGAN_BATCH,
  DCGAN_LATENT,
  STYLE_LAYERS,
  dcganStepFlops,
  discriminatorLayers,
  generatorLayers,
  benchmarkLayers,
  styleStepFlops,
  vggLayers,
  type ModelLayer,
} from './shapes.ts';

export type Tf = typeof TF;
export type TfjsBackendName = 'webgpu' | 'wasm' | 'cpu';
export const TFJS_BACKENDS: readonly TfjsBackendName[] = ['webgpu', 'wasm', 'cpu'];

export interface TfjsContext {
  tf: Tf;
  /** Backends that initialised. */
  available: TfjsBackendName[];
  /** Why the others did not. */
  failed: Partial<Record<TfjsBackendName, string>>;
  /** Adapter description tfjs-webgpu got, when it initialised. */
  webgpuAdapter?: string;
  /** What tfjs-wasm really runs with, read from the initialised backend (see wasmInfo). */
  wasm?: WasmInfo;
}

/** tfjs-wasm's build and thread count, as the backend reports them after initialisation. */
export interface WasmInfo {
  /** XNNPACK's thread-pool size, from tfjs-backend-wasm's getThreadsCount(). */
  threads: number;
  /** The binary tfjs chose: tfjs-backend-wasm{,-simd,-threaded-simd}.wasm. */
  binary: string;
  simd: boolean;
  /** tfjs's WASM_HAS_MULTITHREAD_SUPPORT flag; false under Node, where tfjs never loads the threaded build. */
  multithread: boolean;
}

/**
 * Makes `navigator.gpu` exist in Node (tfjs-webgpu registers its backend at import time only if it does) and the
 * WebGPU constants (GPUBufferUsage, ...) global. Pass the engine's GPU object to share one Dawn instance.
 */
async function provideNavigatorGpu(gpu?: GPU): Promise<void> {
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  if (g.navigator?.gpu) return;
  const webgpu = (await import('webgpu')) as unknown as {
    create: (o: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  for (const [k, v] of Object.entries(webgpu.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const entry = gpu ?? webgpu.create([]);
  if (g.navigator) {
    // Node >= 21 has a navigator object without `gpu`.
    Object.defineProperty(g.navigator, 'gpu', { value: entry, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: entry }, configurable: true, writable: true });
  }
}

/** Loads tfjs with the cpu, wasm and webgpu backends and initialises each one (failures are recorded, not fatal). */
export async function loadTfjs(opts: { gpu?: GPU; backends?: readonly TfjsBackendName[] } = {}): Promise<TfjsContext> {
  const wanted = opts.backends ?? TFJS_BACKENDS;
  if (wanted.includes('webgpu')) await provideNavigatorGpu(opts.gpu);
  // The union package registers the gradients that tf.variableGrads needs (tfjs-core alone does not).
  const tfMod = (await import('@tensorflow/tfjs')) as Tf & { default?: Tf };
  const tf: Tf = tfMod.default ?? tfMod;
  // The backends are CommonJS and attach to the same tfjs-core instance through require().
  await import('@tensorflow/tfjs-backend-webgpu');
  let wasmApi: WasmApi | undefined;
  if (wanted.includes('wasm')) {
    const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as Partial<WasmApi> & { default?: WasmApi };
    wasmApi = wasm.setWasmPaths && wasm.getThreadsCount ? (wasm as WasmApi) : wasm.default!;
    const require = createRequire(import.meta.url);
    const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasmApi.setWasmPaths(join(wasmDir, '/'));
  }
  // Without this, tfjs-cpu prints an advert for tfjs-node on first use.
  tf.env().set('IS_TEST', true);

  const ctx: TfjsContext = { tf, available: [], failed: {} };
  for (const name of wanted) {
    try {
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      ctx.available.push(name);
      if (name === 'webgpu') {
        const info = (
          tf.backend() as unknown as { adapterInfo?: { description?: string; device?: string; vendor?: string } }
        ).adapterInfo;
        ctx.webgpuAdapter = info ? [info.vendor, info.description || info.device].filter(Boolean).join(' ') : undefined;
      }
      if (name === 'wasm' && wasmApi) ctx.wasm = await wasmInfo(tf, wasmApi);
    } catch (e) {
      ctx.failed[name] = (e as Error).message;
    }
  }
  return ctx;
}

interface WasmApi {
  setWasmPaths: (p: string) => void;
  getThreadsCount: () => number;
}

/**
 * Asks the initialised tfjs-wasm backend what it runs with. In Node tfjs turns WASM_HAS_MULTITHREAD_SUPPORT off
 * (tfjs issue 3830), so it loads the single-threaded SIMD build and XNNPACK reports 1 thread, whatever the core count.
 */
async function wasmInfo(tf: Tf, api: WasmApi): Promise<WasmInfo> {
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const multithread = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  const binary = `tfjs-backend-wasm${simd && multithread ? '-threaded-simd' : simd ? '-simd' : ''}.wasm`;
  return { threads: api.getThreadsCount(), binary, simd, multithread };
}

// ---------------------------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------------------------

export interface PreparedStep {
  /** One step of the workload; resolves after the backend has finished it. */
  step: () => Promise<void>;
  /** Frees the workload's tensors and variables. */
  dispose: () => void;
}

export interface TfjsWorkload {
  /** Row key shared with the other adapters, e.g. "layer/G2/forward". */
  id: string;
  flops: number;
  kind: 'matmul' | 'layer' | 'train';
  /** For layer workloads: which pass (rates differ a lot between passes on some backends). */
  pass?: ConvPass;
  /** tfjs kernels the step cannot run without; a backend lacking one reports "unsupported" without running. */
  requiredKernels?: string[];
  /** Allocates inputs/weights on the current backend. */
  prepare: (tf: Tf) => PreparedStep;
}

/** Waits for `t` by reading back one element of it (cheap, and on webgpu it flushes and waits for the queue). */
async function settle(tf: Tf, t: TF.Tensor): Promise<void> {
  const one = tf.tidy(() => t.reshape([-1]).slice(0, 1));
  await one.data();
  one.dispose();
}

/** Bytes held by tfjs now, with the GPU numbers when the backend reports them. */
export function tfjsMemory(tf: Tf): MemoryInfo {
  const m = tf.memory() as TF.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
  const info: MemoryInfo = { numBytes: m.numBytes };
  if (m.numBytesInGPU !== undefined) info.numBytesInGPU = m.numBytesInGPU;
  if (m.numBytesAllocatedInGPU !== undefined) info.numBytesInGPUAllocated = m.numBytesAllocatedInGPU;
  return info;
}

export function matmulWorkload(size: number): TfjsWorkload {
  return {
    id: `matmul/${size}`,
    flops: matmulFlops(size, size, size),
    kind: 'matmul',
    prepare: (tf) => {
      const a = tf.randomNormal([size, size]);
      const b = tf.randomNormal([size, size]);
      return {
        step: async () => {
          const c = tf.matMul(a, b);
          await settle(tf, c);
          c.dispose();
        },
        dispose: () => tf.dispose([a, b]),
      };
    },
  };
}

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * tfjs padding for a layer. For conv it is the symmetric PyTorch padding. For convT it is the padding of the
 * forward conv whose input-gradient the convT is: `p` on top/left and `p - output_padding` on bottom/right
 * (PyTorch's output_padding adds rows at the bottom/right of the convT output).
 */
export function tfjsPad(l: ConvLayerShape): Pad4 {
  const p = l.padding;
  const q = l.kind === 'convT' ? p - (l.outputPadding ?? 0) : p;
  if (q < 0) throw new Error(`layer ${l.name}: outputPadding ${l.outputPadding} > padding ${p} has no tfjs equivalent`);
  return [
    [0, 0],
    [p, q],
    [p, q],
    [0, 0],
  ];
}

/** NHWC shapes of a layer in tfjs terms: the "conv view" (for convT the conv whose input-gradient it is). */
export function tfjsLayerShapes(l: ConvLayerShape): {
  input: [number, number, number, number];
  output: [number, number, number, number];
  /** tfjs filter [kh,kw,in,out] for conv; [kh,kw,out,in] for convT (tfjs conv2dTranspose's layout). */
  filter: [number, number, number, number];
} {
  const { outH, outW } = convOutputSize(l);
  const input: [number, number, number, number] = [l.batch, l.inH, l.inW, l.inChannels];
  const output: [number, number, number, number] = [l.batch, outH, outW, l.outChannels];
  const filter: [number, number, number, number] =
    l.kind === 'conv'
      ? [l.kernelH, l.kernelW, l.inChannels, l.outChannels]
      : [l.kernelH, l.kernelW, l.outChannels, l.inChannels];
  return { input, output, filter };
}

/**
 * conv2d / conv2dTranspose with an optional bias ([Cout]) in NHWC, PyTorch padding. `fused` uses tfjs's fused
 * conv+bias kernel, the fastest forward; training code passes false because the fused op's gradient always
 * computes the filter gradient too (wasted work, and a kernel tfjs-wasm lacks) even when only dx is needed.
 */
export function tfjsConvForward(
  tf: Tf,
  l: ConvLayerShape,
  x: TF.Tensor4D,
  filter: TF.Tensor4D,
  bias?: TF.Tensor1D,
  fused = true,
): TF.Tensor4D {
  const pad = tfjsPad(l);
  if (l.kind === 'conv') {
    if (bias && fused) return tf.fused.conv2d({ x, filter, strides: l.stride, pad, bias });
    const y = tf.conv2d(x, filter, l.stride, pad);
    return bias ? tf.add(y, bias) : y;
  }
  const { output } = tfjsLayerShapes(l);
  const y = tf.conv2dTranspose(x, filter, output, l.stride, pad);
  return bias ? tf.add(y, bias) : y;
}

/** Gradient of the layer's loss with respect to its input, given dy (shaped like the layer output). */
export function tfjsConvGradInput(tf: Tf, l: ConvLayerShape, dy: TF.Tensor4D, filter: TF.Tensor4D): TF.Tensor4D {
  const pad = tfjsPad(l);
  if (l.kind === 'conv') return tf.conv2dTranspose(dy, filter, tfjsLayerShapes(l).input, l.stride, pad);
  return tf.conv2d(dy, filter, l.stride, pad);
}

/** Gradient with respect to the filter (tfjs layout) and, when `withBias`, the bias; x is the layer input. */
export function tfjsConvGradWeight(
  tf: Tf,
  l: ConvLayerShape,
  x: TF.Tensor4D,
  dy: TF.Tensor4D,
  withBias: boolean,
): { dFilter: TF.Tensor4D; dBias?: TF.Tensor1D } {
  const pad = tfjsPad(l);
  const { filter } = tfjsLayerShapes(l);
  // For convT the conv view swaps roles: the convT output gradient is the conv "input", the convT input the conv "dy".
  const [convX, convDy] = l.kind === 'conv' ? [x, dy] : [dy, x];
  const dFilter = tf.engine().runKernel('Conv2DBackpropFilter', { x: convX, dy: convDy }, {
    strides: [l.stride, l.stride],
    pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape: filter,
  } as unknown as TF.NamedAttrMap) as TF.Tensor4D;
  return withBias ? { dFilter, dBias: tf.sum(dy, [0, 1, 2]) as TF.Tensor1D } : { dFilter };
}

/** One pass of one layer as a benchmark workload, on random data. */
export function layerWorkload(l: ConvLayerShape, pass: ConvPass): TfjsWorkload {
  return {
    id: `layer/${l.name}/${pass}`,
    flops: convPassFlops(l, pass),
    kind: 'layer',
    pass,
    requiredKernels: pass === 'gradWeight' ? ['Conv2DBackpropFilter'] : [],
    prepare: (tf) => {
      const shapes = tfjsLayerShapes(l);
      const x = tf.randomNormal(shapes.input) as TF.Tensor4D;
      const dy = tf.randomNormal(shapes.output) as TF.Tensor4D;
      const filter = tf.randomNormal(shapes.filter, 0, 0.05) as TF.Tensor4D;
      const bias = l.bias ? (tf.randomNormal([l.outChannels], 0, 0.05) as TF.Tensor1D) : undefined;
      const run = (): TF.Tensor[] => {
        switch (pass) {
          case 'forward':
            return [tfjsConvForward(tf, l, x, filter, bias)];
          case 'gradInput':
            return [tfjsConvGradInput(tf, l, dy, filter)];
          case 'gradWeight': {
            const g = tfjsConvGradWeight(tf, l, x, dy, l.bias);
            return g.dBias ? [g.dFilter, g.dBias] : [g.dFilter];
          }
        }
      };
      return {
        step: async () => {
          const outs = tf.tidy(run);
          await settle(tf, outs[outs.length - 1]!);
          tf.dispose(outs);
        },
        dispose: () => tf.dispose([x, dy, filter, ...(bias ? [bias] : [])]),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// DCGAN training step
// ---------------------------------------------------------------------------------------------------------------

interface TfjsLayerParams {
  layer: ModelLayer;
  filter: TF.Variable;
  bias?: TF.Variable;
  gamma?: TF.Variable;
  beta?: TF.Variable;
  runningMean?: TF.Variable;
  runningVar?: TF.Variable;
}

function makeParams(tf: Tf, layers: ModelLayer[], prefix: string): TfjsLayerParams[] {
  return layers.map((layer) => {
    const { filter } = tfjsLayerShapes(layer);
    const c = layer.outChannels;
    const name = `${prefix}.${layer.name}`;
    /** A variable from an initial value; the value's own handle is freed (the variable keeps the data). */
    const v = (init: TF.Tensor, trainable: boolean, suffix: string): TF.Variable => {
      // tfjs names variables in one registry for all backends; the backend in the name keeps sides prepared side by side apart.
      const variable = tf.variable(init, trainable, `${tf.getBackend()}.${name}.${suffix}`);
      init.dispose();
      return variable;
    };
    const p: TfjsLayerParams = { layer, filter: v(tf.randomNormal(filter, 0, 0.02), true, 'w') };
    if (layer.bias) p.bias = v(tf.zeros([c]), true, 'b');
    if (layer.batchNorm) {
      p.gamma = v(tf.ones([c]), true, 'gamma');
      p.beta = v(tf.zeros([c]), true, 'beta');
      p.runningMean = v(tf.zeros([c]), false, 'rmean');
      p.runningVar = v(tf.ones([c]), false, 'rvar');
    }
    return p;
  });
}

const trainable = (ps: TfjsLayerParams[]): TF.Variable[] =>
  ps.flatMap((p) => [p.filter, p.bias, p.gamma, p.beta].filter((v): v is TF.Variable => v !== undefined));

/** Runs a conv/convT stack in training mode: conv, BatchNorm on batch statistics (updating running stats), activation. */
function runStack(tf: Tf, params: TfjsLayerParams[], input: TF.Tensor4D): TF.Tensor4D {
  let h = input;
  for (const p of params) {
    h = tfjsConvForward(tf, p.layer, h, p.filter as unknown as TF.Tensor4D, p.bias as TF.Tensor1D | undefined, false);
    if (p.layer.batchNorm) {
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      const n = h.size / p.layer.outChannels;
      p.runningMean!.assign(tf.add(tf.mul(p.runningMean!, 0.9), tf.mul(mean, 0.1)));
      p.runningVar!.assign(tf.add(tf.mul(p.runningVar!, 0.9), tf.mul(variance, (0.1 * n) / (n - 1))));
      h = tf.batchNorm(h, mean, variance, p.beta!, p.gamma!, 1e-5) as TF.Tensor4D;
    }
    switch (p.layer.activation) {
      case 'relu':
        h = tf.relu(h);
        break;
      case 'leakyRelu0.2':
        h = tf.leakyRelu(h, 0.2);
        break;
      case 'tanh':
        h = tf.tanh(h);
        break;
      case 'none':
        break;
    }
  }
  return h;
}

/**
 * One DCGAN step, PyTorch-style: D on real (label 1) and detached fake (label 0), Adam on D; then G through D
 * (label 1), Adam on G. Losses are sigmoid-BCE on logits. tfjs cannot reuse the fake batch's tape, so G's forward
 * runs twice (once detached for D, once inside G's gradient); the FLOP count does not include that extra pass.
 */
export function dcganWorkload(batch = DCGAN_BATCH): TfjsWorkload {
  return {
    id: 'train/dcgan-step',
    flops: dcganStepFlops(batch),
    kind: 'train',
    requiredKernels: ['Conv2DBackpropFilter'],
    prepare: (tf) => {
      const G = makeParams(tf, generatorLayers(batch), 'G');
      const D = makeParams(tf, discriminatorLayers(batch), 'D');
      const real = tf.randomUniform([batch, 28, 28, 1], -1, 1) as TF.Tensor4D;
      const ones = tf.ones([batch, 1]);
      const zeros = tf.zeros([batch, 1]);
      const optD = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
      const optG = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
      const logits = (images: TF.Tensor4D): TF.Tensor => runStack(tf, D, images).reshape([batch, 1]);
      const bce = (labels: TF.Tensor, l: TF.Tensor): TF.Scalar => tf.losses.sigmoidCrossEntropy(labels, l) as TF.Scalar;
      return {
        step: async () => {
          const z = tf.randomNormal([batch, 1, 1, DCGAN_LATENT]) as TF.Tensor4D;
          const made: TF.Tensor[] = [z];
          try {
            const fake = tf.tidy(() => runStack(tf, G, z));
            made.push(fake);
            made.push(
              optD.minimize(
                () => tf.add(bce(ones, logits(real)), bce(zeros, logits(fake))) as TF.Scalar,
                true,
                trainable(D),
              )!,
            );
            const lossG = optG.minimize(() => bce(ones, logits(runStack(tf, G, z))), true, trainable(G))!;
            made.push(lossG);
            await lossG.data();
          } finally {
            tf.dispose(made);
          }
        },
        dispose: () => {
          optD.dispose();
          optG.dispose();
          for (const p of [...G, ...D])
            tf.dispose(
              [p.filter, p.bias, p.gamma, p.beta, p.runningMean, p.runningVar].filter((v): v is TF.Variable => !!v),
            );
          tf.dispose([real, ones, zeros]);
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Style transfer iteration
// ---------------------------------------------------------------------------------------------------------------

/**
 * One iteration of Gatys-style transfer at `size` px: VGG16 (random weights, Keras shapes, ReLU, 2x2 max-pools)
 * up to block4_conv2; content loss (MSE) on block4_conv2, Gram-matrix style loss on block1..4_conv1, squared
 * total variation, and an Adam step on the image. Targets are computed once in prepare(), as the real loop does.
 */
export function styleWorkload(size: number): TfjsWorkload {
  return {
    id: `train/style-${size}`,
    flops: styleStepFlops(size),
    kind: 'train',
    prepare: (tf) => {
      const layers = vggLayers(size);
      const weights = layers.map((l) => ({
        layer: l,
        filter: tf.randomNormal(tfjsLayerShapes(l).filter, 0, Math.sqrt(2 / (9 * l.inChannels))) as TF.Tensor4D,
        bias: tf.randomNormal([l.outChannels], 0, 0.01) as TF.Tensor1D,
      }));
      const features = (image: TF.Tensor4D): Map<string, TF.Tensor4D> => {
        const out = new Map<string, TF.Tensor4D>();
        let h = image;
        for (const { layer, filter, bias } of weights) {
          // Unfused on purpose: the fused op's gradient would also compute filter gradients nobody needs.
          h = tf.relu(tf.add(tf.conv2d(h, filter, 1, 'same'), bias)) as TF.Tensor4D;
          out.set(layer.kerasName, h);
          if (layer.poolAfter) h = tf.maxPool(h, 2, 2, 'valid');
        }
        return out;
      };
      const gram = (f: TF.Tensor4D): TF.Tensor2D => {
        const [, hh, ww, c] = f.shape;
        const flat = f.reshape([hh * ww, c]);
        return tf.div(tf.matMul(flat, flat, true, false), hh * ww) as TF.Tensor2D;
      };
      const contentImage = tf.randomUniform([1, size, size, 3]) as TF.Tensor4D;
      const styleImage = tf.randomUniform([1, size, size, 3]) as TF.Tensor4D;
      const contentTarget = tf.tidy(() => features(contentImage).get(CONTENT_LAYER)!);
      const styleTargets = tf.tidy(() => {
        const f = features(styleImage);
        return STYLE_LAYERS.map((name) => gram(f.get(name)!));
      });
      const image = tf.variable(contentImage, true, `${tf.getBackend()}.style.image.${size}`);
      const opt = tf.train.adam(0.02, 0.9, 0.999, 1e-8);
      const loss = (): TF.Scalar => {
        const f = features(image as unknown as TF.Tensor4D);
        const content = tf.losses.meanSquaredError(contentTarget, f.get(CONTENT_LAYER)!);
        const style = tf.addN(
          STYLE_LAYERS.map((name, i) => tf.losses.meanSquaredError(styleTargets[i]!, gram(f.get(name)!))),
        );
        const dh = tf.sub(
          tf.slice(image, [0, 1, 0, 0], [1, size - 1, size, 3]),
          tf.slice(image, [0, 0, 0, 0], [1, size - 1, size, 3]),
        );
        const dw = tf.sub(
          tf.slice(image, [0, 0, 1, 0], [1, size, size - 1, 3]),
          tf.slice(image, [0, 0, 0, 0], [1, size, size - 1, 3]),
        );
        const tv = tf.add(tf.sum(tf.square(dh)), tf.sum(tf.square(dw)));
        return tf.addN([tf.mul(content, 1), tf.mul(style, 1e2), tf.mul(tv, 1e-6)]) as TF.Scalar;
      };
      return {
        step: async () => {
          const cost = opt.minimize(loss, true, [image]);
          await cost!.data();
          cost!.dispose();
        },
        dispose: () => {
          opt.dispose();
          image.dispose();
          tf.dispose([
            contentImage,
            styleImage,
            contentTarget,
            ...styleTargets,
            ...weights.flatMap((w) => [w.filter, w.bias]),
          ]);
        },
      };
    },
  };
}

/** Every tfjs workload in run order: matmuls, then per-layer passes, then the two training loops. */
export function tfjsWorkloads(opts: { matmulSizes?: number[]; styleSizes?: number[] } = {}): TfjsWorkload[] {
  const passes: ConvPass[] = ['forward', 'gradInput', 'gradWeight'];
  const layers = benchmarkLayers();
  return [
    ...(opts.matmulSizes ?? [256, 512, 1024]).map(matmulWorkload),
    ...layers.flatMap((l) => passes.map((p) => layerWorkload(l, p))),
    dcganWorkload(),
    ...(opts.styleSizes ?? [128, 256]).map(styleWorkload),
  ];
}

/** True for errors that mean "this backend has no kernel for that op". */
export function isUnsupportedError(e: unknown): boolean {
  return /not registered|not yet implemented|not supported|not implemented/i.test((e as Error)?.message ?? String(e));
}

/** The first of `w.requiredKernels` that `backend` (default: the current tfjs backend) has no kernel for, if any. */
export function missingKernel(tf: Tf, w: TfjsWorkload, backend: string = tf.getBackend()): string | undefined {
  return (w.requiredKernels ?? []).find((k) => tf.getKernel(k, backend) === undefined);
}

/**
 * One tfjs backend as a column of the interleaved runner (suite.ts). `activate` is tf.setBackend(name): switching
 * between initialised backends only swaps tfjs's current backend object, and every tensor stays on the backend it
 * was made on, so the workload's tensors (prepared once, with the backend active) stay put across samples.
 * Memory: bytes tfjs gained from just before `prepare` to just after the first run (the other sides are idle then).
 */
export function tfjsSide(ctx: TfjsContext, name: TfjsBackendName, workloads: readonly TfjsWorkload[]): BenchSide {
  const { tf } = ctx;
  const byId = new Map(workloads.map((w) => [w.id, w]));
  return {
    backend: `tfjs-${name}`,
    unavailable: ctx.available.includes(name) ? undefined : 'backend unavailable',
    activate: async () => {
      if (tf.getBackend() !== name) await tf.setBackend(name);
    },
    check: (w) => {
      const tw = byId.get(w.id);
      if (!tw) return { status: 'skipped', note: 'no tfjs version of this workload' };
      const missing = missingKernel(tf, tw, name);
      return missing ? { status: 'unsupported', note: `no ${missing} kernel` } : undefined;
    },
    prepare: (w) => {
      const before = tf.memory().numBytes;
      const p = byId.get(w.id)!.prepare(tf);
      let memory: MemoryInfo | undefined;
      return {
        ...p,
        afterFirstRun: () => void (memory = { ...tfjsMemory(tf), numBytes: tf.memory().numBytes - before }),
        report: () => ({ memory }),
      };
    },
    classify: (e) => (isUnsupportedError(e) ? 'unsupported' : 'error'),
  };
}
