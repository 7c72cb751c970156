/**
 * The kernels a GPU runs, composed into the GAN's losses and gradients, against the CPU adapters' kernels (both forced,
 * on any adapter): the workgroup-tiled conv and matmul kernels (matmul with split-K), BatchNorm's
 * workgroup-per-channel reductions, average pooling's gather.
 * The kernel tests check each op; this checks that a whole D and G loss, forward and backward, comes out as the CPU
 * adapter's routes give it, so a lent GPU's first run does not find a route that only ever ran in isolation.
 */
import { describe, it, expect } from 'vitest';
import { Tensor, tidy, engine } from '../src/tensor/index.ts';
import { kernelLabel } from '../src/tensor/engine.ts';
import { setConvVersion } from '../src/tensor/conv.ts';
import { setMatmulVersion } from '../src/tensor/matmul.ts';
import { bnSubgroups } from '../src/tensor/norm.ts';
import { avgPoolBlocks } from '../src/tensor/pool.ts';
import { bceWithLogits } from '../src/tensor/losses.ts';
import { buildGan, ganSpec, latentShape, type GanSpec } from '../src/gan/models.ts';
import { Growing } from '../src/gan/progan.ts';
import { useEngine, randomArray } from './helpers.ts';

useEngine();

/** The D loss (BCE on reals and fakes) and the G loss, both backward; every parameter's gradient, by name. */
async function lossesAndGrads(
  spec: GanSpec,
  gpu: boolean,
): Promise<{ losses: number[]; grads: Map<string, Float32Array>; launched: Set<string> }> {
  const launched = new Set<string>();
  engine().onLaunch = (k) => void launched.add(kernelLabel(k));
  // both forced, so that on a GPU adapter too the two runs take different kernels
  setConvVersion(gpu ? 'tiled' : 'register');
  setMatmulVersion(gpu ? 'tiled-splitk' : 'register');
  bnSubgroups.enabled = !gpu;
  avgPoolBlocks.enabled = !gpu;
  try {
    const { G, D } = buildGan(spec, 7);
    // a growing net at its last stage, mid-fade: the fade blend and the average-pooled skip run too
    for (const m of [G, D]) if (m instanceof Growing) m.setGrowth(m.lastStage, 0.5);
    const n = 8;
    const real = Tensor.fromArray(Float32Array.from(randomArray(n * spec.channels * spec.size * spec.size, 3)), [
      n,
      spec.channels,
      spec.size,
      spec.size,
    ]);
    const z = Tensor.randn(latentShape(spec, n), { seed: 11 });
    const [lossD, lossG] = tidy(() => {
      const fake = G.forward(z);
      const dLoss = bceWithLogits(D.forward(real), 1).add(bceWithLogits(D.forward(fake), 0));
      const gLoss = bceWithLogits(D.forward(fake), 1);
      dLoss.add(gLoss).backward();
      return [dLoss, gLoss];
    });
    const losses = [await lossD!.item(), await lossG!.item()];
    const grads = new Map<string, Float32Array>();
    for (const [prefix, m] of [
      ['G', G],
      ['D', D],
    ] as const)
      // (a growing net's earlier stages' toRGB/fromRGB take no part at its last stage: no gradient, on both routes)
      for (const [name, p] of m.namedParameters()) if (p.grad) grads.set(`${prefix}.${name}`, await p.grad.toArray());
    for (const t of [lossD!, lossG!, real, z]) t.dispose();
    G.dispose();
    D.dispose();
    return { losses, grads, launched };
  } finally {
    engine().onLaunch = null;
    setConvVersion(null);
    setMatmulVersion(null);
    bnSubgroups.enabled = true;
    avgPoolBlocks.enabled = true;
  }
}

const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / Math.max(1, a.length));

describe("the GPU's routes give the CPU adapter's losses and gradients", () => {
  const specs: [string, GanSpec][] = [
    ['the lesson dense GAN (matmuls, split along k for its 1024→784 layer)', ganSpec('dense')],
    ['the lesson DCGAN', ganSpec('dcgan')],
    ['dcgan32 (colour, width 16)', ganSpec('dcgan32', { width: 16, channels: 3 })],
    [
      'progan at 16 px, last stage mid-fade (average pooling, pixel norm, minibatch stddev, the fade)',
      ganSpec('progan', { size: 16, width: 8 }),
    ],
  ];
  for (const [what, spec] of specs) {
    it(
      what,
      async () => {
        const cpu = await lossesAndGrads(spec, false);
        const gpu = await lossesAndGrads(spec, true);
        // each ran its own kernels
        const has = (set: Set<string>, prefix: string) => [...set].some((l) => l.startsWith(prefix));
        const own =
          spec.kind === 'dense'
            ? ['matmul_tiled', 'matmul_split_sum']
            : ['conv2d_implicit_gemm_tiled', 'conv2d_weight_grad_tiled'];
        for (const k of own) {
          expect(has(gpu.launched, k), `GPU routes ran ${k}`).toBe(true);
          expect(has(cpu.launched, k), `CPU routes ran no ${k}`).toBe(false);
        }
        if (spec.kind !== 'progan') expect(has(gpu.launched, 'batchnorm:batch_stats'), 'batchnorm.wgsl').toBe(true);
        if (spec.kind === 'progan') {
          expect(has(gpu.launched, 'pool_avg:backward'), 'the gather').toBe(true);
          expect(has(gpu.launched, 'pool_avg:backward_blocks'), 'no blocks').toBe(false);
        }
        cpu.losses.forEach((l, i) =>
          expect(Math.abs(gpu.losses[i]! - l), `loss ${i}`).toBeLessThanOrEqual(1e-5 * Math.abs(l)),
        );
        expect([...gpu.grads.keys()]).toEqual([...cpu.grads.keys()]);
        // Each gradient within float32 rounding of the CPU routes', relative to its own size: root-mean-square
        // difference ≤ 1e-4 and largest ≤ 1e-3 of its root mean square (the largest seen on lavapipe: 2.1e-5 and
        // 2.0e-4, in the dense G's first layers, whose gradients come through BatchNorm's cancelling sums). A bias
        // that feeds a BatchNorm has a gradient of exactly 0 in exact arithmetic (BatchNorm subtracts the mean): both
        // routes must give it as rounding noise, far below its layer's weight gradient.
        for (const [name, c] of cpu.grads) {
          const g = gpu.grads.get(name)!;
          const scale = rms(c);
          const zeroByMath = spec.kind === 'dense' && /^G\.main\.(2|5)\.bias$/.test(name);
          if (zeroByMath) {
            const weight = rms(cpu.grads.get(name.replace('bias', 'weight'))!);
            expect(Math.max(scale, rms(g)), name).toBeLessThan(1e-3 * weight);
            continue;
          }
          expect(scale, `${name} is not all zero`).toBeGreaterThan(0);
          let worst = 0;
          let squares = 0;
          for (let i = 0; i < c.length; i++) {
            worst = Math.max(worst, Math.abs(g[i]! - c[i]!));
            squares += (g[i]! - c[i]!) ** 2;
          }
          expect(Math.sqrt(squares / c.length) / scale, name).toBeLessThan(1e-4);
          expect(worst / scale, name).toBeLessThan(1e-3);
        }
      },
      120_000,
    );
  }
});
