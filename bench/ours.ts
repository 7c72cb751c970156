/**
 * Our engine's side of the benchmark: the same workloads, ids and FLOP counts as bench/tfjs.ts, so rows pair up
 * in one table. Each step ends with `engine().sync()` (or a readback), so its time includes the GPU work.
 */
import { engine, initEngine, memoryStats, Tensor, matmul, tidy, noGrad } from '../src/tensor/index.ts';
import { Adam } from '../src/nn/index.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { ganSpec } from '../src/gan/models.ts';
import {
  FeatureNet,
  convLayers,
  KERAS_PREPROCESSING,
  styleTransferLoss,
  gramMatrix,
  type ConvWeights,
} from '../src/style/index.ts';
import { matmulFlops, convPassFlops, type ConvPass } from './harness.ts';
import { benchmarkLayers, dcganStepFlops, styleStepFlops, DCGAN_BATCH, CONTENT_LAYER, STYLE_LAYERS } from './shapes.ts';
import { passRunner } from './conv-layers.ts';
import type { PreparedStep } from './tfjs.ts';
import type { BenchSide } from './suite.ts';

export interface OurWorkload {
  id: string;
  flops: number;
  kind: 'matmul' | 'layer' | 'train';
  pass?: ConvPass;
  prepare: () => PreparedStep;
}

function matmulWorkload(n: number): OurWorkload {
  return {
    id: `matmul/${n}`,
    flops: matmulFlops(n, n, n),
    kind: 'matmul',
    prepare: () => {
      const a = Tensor.randn([n, n], { seed: 1 });
      const b = Tensor.randn([n, n], { seed: 2 });
      return {
        step: async () => {
          matmul(a, b).dispose();
          await engine().sync();
        },
        dispose: () => [a, b].forEach((t) => t.dispose()),
      };
    },
  };
}

function layerWorkload(l: ReturnType<typeof benchmarkLayers>[number], pass: ConvPass): OurWorkload {
  return {
    id: `layer/${l.name}/${pass}`,
    flops: convPassFlops(l, pass),
    kind: 'layer',
    pass,
    prepare: () => {
      const { run, free } = passRunner(l, pass);
      return {
        step: async () => {
          run().dispose();
          await engine().sync();
        },
        dispose: free,
      };
    },
  };
}

/** One full step of the lesson DCGAN at batch 256: D on real + fake, then G (Adam 2e-4, β1 0.5). */
function dcganWorkload(batch = DCGAN_BATCH): OurWorkload {
  return {
    id: 'train/dcgan-step',
    flops: dcganStepFlops(batch),
    kind: 'train',
    prepare: () => {
      const trainer = new GanTrainer(ganSpec('dcgan'), { batchSize: batch, lrG: 2e-4, lrD: 2e-4, beta1: 0.5, seed: 1 });
      const real = Tensor.rand([batch, 1, 28, 28], { seed: 3, lo: -1, hi: 1 }).keep();
      return {
        step: async () => {
          await trainer.readStats(trainer.trainBatch(real));
        },
        dispose: () => {
          trainer.dispose();
          real.dispose();
        },
      };
    },
  };
}

/** VGG16-shaped random weights (the FLOPs of the real net; the benchmark needs no download). */
function randomVgg16(): FeatureNet {
  const weights = new Map<string, ConvWeights>();
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
  for (const l of convLayers('vgg16')) {
    const std = Math.sqrt(2 / (9 * l.inChannels)) * Math.sqrt(12);
    weights.set(l.name, {
      weight: Float32Array.from({ length: l.outChannels * l.inChannels * 9 }, () => rnd() * std),
      bias: new Float32Array(l.outChannels),
    });
  }
  return new FeatureNet(
    { arch: 'vgg16', description: 'VGG16 shapes, random weights (benchmark)', preprocessing: KERAS_PREPROCESSING },
    weights,
    'max',
  );
}

/** One style-transfer iteration at `size` px: VGG16 to block4_conv2, content + Gram style + TV, Adam step on the image. */
function styleWorkload(size: number): OurWorkload {
  return {
    id: `train/style-${size}`,
    flops: styleStepFlops(size),
    kind: 'train',
    prepare: () => {
      const net = randomVgg16();
      const content = Tensor.rand([1, 3, size, size], { seed: 4 }).keep();
      const style = Tensor.rand([1, 3, size, size], { seed: 5 }).keep();
      const [contentTargets, styleTargets] = noGrad(() =>
        tidy(() => {
          const fc = net.forward(content, [CONTENT_LAYER]);
          const fs = net.forward(style, [...STYLE_LAYERS]);
          return [[fc.get(CONTENT_LAYER)!], STYLE_LAYERS.map((l) => gramMatrix(fs.get(l)!, 'hw'))];
        }),
      );
      [...contentTargets, ...styleTargets].forEach((t) => t.keep());
      const image = content.clone().requireGrad().keep();
      const opt = new Adam([image], { lr: 0.02 });
      const spec = {
        net,
        contentLayers: [CONTENT_LAYER],
        styleLayers: [...STYLE_LAYERS],
        styleLayerWeights: STYLE_LAYERS.map(() => 1),
        contentTargets,
        styleTargets,
        contentWeight: 1,
        styleWeight: 100,
        tvWeight: 1e-6,
        tvKind: 'squared' as const,
        tvBeta: 2,
        gramNormalize: 'hw' as const,
      };
      return {
        step: async () => {
          const loss = tidy(() => {
            const l = styleTransferLoss(image, spec).total;
            l.backward();
            opt.step();
            return l;
          });
          image.zeroGrad();
          await loss.item();
          loss.dispose();
        },
        dispose: () => {
          opt.dispose();
          [content, style, image, ...contentTargets, ...styleTargets].forEach((t) => t.dispose());
          net.dispose();
        },
      };
    },
  };
}

/** Every workload of ours in the same order as tfjsWorkloads(). */
export function ourWorkloads(opts: { matmulSizes?: number[]; styleSizes?: number[] } = {}): OurWorkload[] {
  const passes: ConvPass[] = ['forward', 'gradInput', 'gradWeight'];
  return [
    ...(opts.matmulSizes ?? [256, 512, 1024]).map(matmulWorkload),
    ...benchmarkLayers().flatMap((l) => passes.map((p) => layerWorkload(l, p))),
    dcganWorkload(),
    ...(opts.styleSizes ?? [128, 256]).map(styleWorkload),
  ];
}

/**
 * Our engine as a column of the interleaved runner (suite.ts). The row's note counts the engine's launches and
 * submits per step over all of its runs; memory is the engine's allocator after the timed rounds.
 */
export function ourSide(workloads: readonly OurWorkload[]): BenchSide {
  const byId = new Map(workloads.map((w) => [w.id, w]));
  return {
    backend: 'ours',
    check: (w) =>
      byId.has(w.id) ? undefined : { status: 'skipped', note: 'no version of this workload for our engine' },
    prepare: (w) => {
      const p = byId.get(w.id)!.prepare();
      let runs = 0;
      let dispatches = 0;
      let submits = 0;
      return {
        step: async () => {
          const before = engine().stats();
          await p.step();
          const after = engine().stats();
          runs++;
          dispatches += after.dispatches - before.dispatches;
          submits += after.submits - before.submits;
        },
        dispose: p.dispose,
        report: () => {
          const m = memoryStats();
          return {
            memory: {
              numBytes: m.inUseBytes,
              numBytesInGPU: m.inUseBytes,
              numBytesInGPUAllocated: m.inUseBytes + m.pooledBytes,
            },
            note: `${Math.round(dispatches / runs)} launches, ${Math.max(1, Math.round(submits / runs))} submits per step`,
          };
        },
      };
    },
  };
}

export { initEngine };
