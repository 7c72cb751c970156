import { describe, it, expect } from 'vitest';
import { mkdtempSync, existsSync, readFileSync, readdirSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, memoryStats, noGrad, engine } from '../src/tensor/index.ts';
import {
  GanTrainer,
  checkpointSpec,
  checkSavedOptions,
  checkGanSpec,
  growthAt,
  slerp,
  EMA_STATS_BATCH,
} from '../src/gan/trainer.ts';
import type { MsgGenerator } from '../src/gan/msggan.ts';
import { GAN_LOSSES } from '../src/gan/losses.ts';
import { scaleGrid } from '../src/gan/visuals.ts';
import * as R from '../src/reference/gan-losses.ts';
import { ganSpec, buildGan, latentShape } from '../src/gan/models.ts';
import { trainCommand } from '../src/cli/train.ts';
import { sampleCommand } from '../src/cli/sample.ts';
import { UsageError } from '../src/cli/args.ts';
import { evalCommand } from '../src/cli/eval.ts';
import { useEngine, rng, expectClose, closeError, relError, readJsonl } from './helpers.ts';
import { decodeSafetensors } from '../src/io/safetensors.ts';
import { readImage, writePng } from '../src/node/png.ts';
import { loadMnistDigits } from '../src/node/datasets.ts';
import { copyModuleState, batchGroups } from '../src/nn/index.ts';

useEngine();

/** Number of positions where two arrays differ (toEqual on large typed arrays is slow to diff). */
function mismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

function fakeDigits(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * 784 }, (_, i) => (i % 28 > 10 && i % 28 < 18 ? 0.8 : -0.9) + 0.1 * r());
}

/** n colour images of side `side` in [−1, 1]: a gradient and a blob, with noise. */
function colourImages(n: number, side: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * 3 * side * side }, (_, i) => {
    const x = i % side;
    const y = Math.floor(i / side) % side;
    const c = Math.floor(i / (side * side)) % 3;
    return Math.tanh((x - side / 2) * (c - 1) * 0.3 + (y > side / 2 ? 0.5 : -0.5)) * 0.9 + 0.1 * (r() - 0.5);
  });
}

/** Relative tolerance for a loss recomputed in float64 from the float32 logits the trainer used. */
const REL_TOL = 1e-5;

function expectRelClose(got: number, want: number, what: string): void {
  const rel = Math.abs(got - want) / Math.abs(want);
  if (!(rel <= REL_TOL))
    throw new Error(
      `${what}: trainer reported ${got}, float64 reference ${want} (relative error ${rel.toExponential(2)} > ${REL_TOL})`,
    );
}

/** Mean over the batch of BCE-with-logits in float64: max(x, 0) − x·y + log(1 + e^(−|x|)). */
function bce64(logits: ArrayLike<number>, y: number): number {
  let s = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    s += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  }
  return s / logits.length;
}

function meanSigmoid64(logits: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += 1 / (1 + Math.exp(-logits[i]));
  return s / logits.length;
}

/** Keeps a copy of every output of the trainer's D.forward, in call order; `take(n)` reads back the first n. */
function spyLogits(t: GanTrainer) {
  const D = t.D;
  const original = D.forward;
  const copies: Tensor[] = [];
  D.forward = (x: Tensor) => {
    const y = original.call(D, x);
    // D's step scores reals and fakes in one grouped pass (GanTrainer.jointD): one copy per group, in order.
    const groups = batchGroups();
    const rows = y.shape[0]! / groups;
    for (let g = 0; g < groups; g++) copies.push(noGrad(() => y.narrow(0, g * rows, rows)).keep());
    return y;
  };
  return {
    async take(n: number): Promise<Float32Array[]> {
      expect(copies.length).toBeGreaterThanOrEqual(n);
      const taken = copies.splice(0, n);
      const values = await Promise.all(taken.map((c) => c.toArray()));
      taken.forEach((c) => c.dispose());
      return values;
    },
    restore(): void {
      D.forward = original;
      copies.forEach((c) => c.dispose());
    },
  };
}

describe('lesson models', () => {
  it('have the lesson shapes: DCGAN G goes 1→3→7→15→28, D ends in one logit', async () => {
    const { G, D } = buildGan(ganSpec('dcgan'), 1);
    const z = Tensor.randn(latentShape(ganSpec('dcgan'), 2), { seed: 1 });
    G.eval();
    const x = G.forward(z);
    expect(x.shape).toEqual([2, 1, 28, 28]);
    const v = await x.toArray();
    expect(v.every((p) => p >= -1 && p <= 1)).toBe(true); // tanh output
    D.eval();
    expect(D.forward(x).shape).toEqual([2, 1]);
    const dense = buildGan(ganSpec('dense'), 1);
    dense.G.eval();
    expect(dense.G.forward(Tensor.randn([3, 100], { seed: 2 })).shape).toEqual([3, 1, 28, 28]);
    const d64 = buildGan(ganSpec('dcgan64', { channels: 3, width: 8 }), 1);
    d64.G.eval();
    const img = d64.G.forward(Tensor.randn([2, 100, 1, 1], { seed: 3 }));
    expect(img.shape).toEqual([2, 3, 64, 64]);
    d64.D.eval();
    expect(d64.D.forward(img).shape).toEqual([2, 1]);
  });

  it('use torch state_dict names and shapes (the PyTorch DCGAN module layout)', () => {
    const { G, D } = buildGan(ganSpec('dcgan'), 1);
    const shapes = (m: typeof G) => [...m.stateDict()].map(([k, t]) => `${k}:${t.shape.join('x')}`);
    // What torch prints for the same nn.Sequential under `self.main` (bias=False convs, BatchNorm2d with buffers).
    expect(shapes(G)).toEqual([
      'main.0.weight:100x256x3x3',
      'main.1.weight:256',
      'main.1.bias:256',
      'main.1.running_mean:256',
      'main.1.running_var:256',
      'main.1.num_batches_tracked:',
      'main.3.weight:256x128x3x3',
      'main.4.weight:128',
      'main.4.bias:128',
      'main.4.running_mean:128',
      'main.4.running_var:128',
      'main.4.num_batches_tracked:',
      'main.6.weight:128x64x3x3',
      'main.7.weight:64',
      'main.7.bias:64',
      'main.7.running_mean:64',
      'main.7.running_var:64',
      'main.7.num_batches_tracked:',
      'main.9.weight:64x1x3x3',
    ]);
    expect(shapes(D)).toEqual([
      'main.0.weight:64x1x4x4',
      'main.2.weight:128x64x4x4',
      'main.3.weight:128',
      'main.3.bias:128',
      'main.3.running_mean:128',
      'main.3.running_var:128',
      'main.3.num_batches_tracked:',
      'main.5.weight:256x128x4x4',
      'main.6.weight:256',
      'main.6.bias:256',
      'main.6.running_mean:256',
      'main.6.running_var:256',
      'main.6.num_batches_tracked:',
      'main.8.weight:1x256x3x3',
    ]);
  });

  it('rejects unknown models and channel counts the lesson models do not take', () => {
    expect(() => ganSpec('dcgan', { channels: 3 })).toThrow(
      'model dcgan: the lesson model is for 1-channel 28×28 images, not 3 channels',
    );
    expect(() => ganSpec('nope' as never)).toThrow(/Unknown model "nope"/);
  });
});

describe('trainer', () => {
  it('a tiny GAN trains a few steps: losses change and stay finite, memory stays flat', async () => {
    const t = new GanTrainer(ganSpec('dense'), { batchSize: 16, seed: 5 });
    const real = fakeDigits(16, 1);
    const stats = [];
    let live = 0;
    for (let i = 0; i < 5; i++) {
      stats.push(await t.readStats(t.trainBatch(real)));
      if (i === 1) live = memoryStats().liveTensors;
    }
    expect(memoryStats().liveTensors).toBe(live);
    for (const s of stats) {
      for (const v of [s.lossD, s.lossG, s.dReal, s.dFake]) expect(Number.isFinite(v)).toBe(true);
      expect(s.dReal).toBeGreaterThan(0);
      expect(s.dReal).toBeLessThan(1);
    }
    expect(stats[4].lossD).not.toBeCloseTo(stats[0].lossD, 3);
    // D learns to tell this fixed real batch from fakes
    expect(stats[4].dReal).toBeGreaterThan(stats[0].dReal);
    t.dispose();
  });

  it('k D steps per G step and D skipping', async () => {
    const t = new GanTrainer(ganSpec('dense'), { batchSize: 8, dStepsPerG: 2, dSkipBelow: 100, seed: 2 });
    const real = fakeDigits(8, 2);
    const s0 = await t.readStats(t.trainBatch(real));
    const s1 = await t.readStats(t.trainBatch(real));
    expect(s0.gStepped).toBe(false);
    expect(Number.isNaN(s0.lossG)).toBe(true);
    expect(s1.gStepped).toBe(true);
    expect(s0.dSkipped).toBe(false); // no loss known yet
    expect(s1.dSkipped).toBe(true); // D's loss (< 100) was below the threshold
    expect(Number.isNaN(s1.lossD)).toBe(true);
    expect(GanTrainer.diverged(s1)).toBe(false);
    expect(GanTrainer.diverged({ ...s1, lossG: Infinity })).toBe(true);
    t.dispose();
  });

  it('reported D and G losses equal a float64 BCE-with-logits of the logits D produced (targets 1 / 0, and 1 for G)', async () => {
    const t = new GanTrainer(ganSpec('dense'), { batchSize: 8, seed: 6 });
    const spy = spyLogits(t);
    try {
      for (let i = 0; i < 3; i++) {
        const s = await t.readStats(t.trainBatch(fakeDigits(8, 20 + i)));
        // D's step calls D on the real batch, then on the (detached) fakes; G's step calls it on fresh fakes.
        const [real, fake, gen] = await spy.take(3);
        for (const l of [real, fake, gen]) expect(l.length).toBe(8);
        expectRelClose(s.lossD, bce64(real, 1) + bce64(fake, 0), 'lossD');
        expectRelClose(s.lossG, bce64(gen, 1), 'lossG');
        expectRelClose(s.dReal, meanSigmoid64(real), 'mean D(x)');
        expectRelClose(s.dFake, meanSigmoid64(fake), 'mean D(G(z))');
      }
    } finally {
      spy.restore();
      t.dispose();
    }
  });

  it("one-sided label smoothing: realLabel 0.9 is D's target for real images only (fakes stay 0, G's target stays 1)", async () => {
    const t = new GanTrainer(ganSpec('dense'), { batchSize: 8, realLabel: 0.9, seed: 7 });
    const spy = spyLogits(t);
    try {
      // A few steps first, so D's logits move away from 0 and the targets make a visible difference.
      for (let i = 0; i < 4; i++) await t.readStats(t.trainBatch(fakeDigits(8, 30 + i)));
      await spy.take(12);
      const checkStep = async (s: { lossD: number; lossG: number }) => {
        const [real, fake, gen] = await spy.take(3);
        expectRelClose(s.lossD, bce64(real, 0.9) + bce64(fake, 0), 'lossD with real target 0.9');
        expectRelClose(s.lossG, bce64(gen, 1), 'lossG with target 1');
        // The losses the trainer would report if the option were ignored, also smoothed the fakes' target
        // (1 − 0.9), or smoothed G's target: each lies far outside the tolerance, so each mistake fails above.
        for (const wrong of [bce64(real, 1) + bce64(fake, 0), bce64(real, 0.9) + bce64(fake, 0.1)]) {
          expect(Math.abs(wrong - s.lossD) / Math.abs(s.lossD)).toBeGreaterThan(100 * REL_TOL);
        }
        expect(Math.abs(bce64(gen, 0.9) - s.lossG) / Math.abs(s.lossG)).toBeGreaterThan(100 * REL_TOL);
      };
      await checkStep(await t.readStats(t.trainBatch(fakeDigits(8, 40))));
      // The single D step (the web page's button) uses the same target.
      const sd = await t.readStats(t.trainDiscriminatorStep(fakeDigits(8, 41)));
      const [real, fake] = await spy.take(2);
      expectRelClose(sd.lossD, bce64(real, 0.9) + bce64(fake, 0), 'lossD of trainDiscriminatorStep');
      expect(Math.abs(bce64(real, 1) + bce64(fake, 0) - sd.lossD) / sd.lossD).toBeGreaterThan(100 * REL_TOL);
    } finally {
      spy.restore();
      t.dispose();
    }
    expect(() => new GanTrainer(ganSpec('dense'), { realLabel: 1.5 })).toThrow(
      'Invalid training option realLabel=1.5: must be a number in (0, 1]',
    );
  });

  for (const loss of GAN_LOSSES) {
    it(`loss ${loss}: a few steps train, and the reported losses and means are that loss's float64 values of D's outputs`, async () => {
      const t = new GanTrainer(ganSpec('dense'), { batchSize: 8, seed: 12, loss });
      const spy = spyLogits(t);
      const mean = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / x.length;
      try {
        const losses = [];
        for (let i = 0; i < 4; i++) {
          const s = await t.readStats(t.trainBatch(fakeDigits(8, 50 + i)));
          // D's step: D(real), D(fake); G's step: D(G(z)), and for rahinge D(real) once more (D's weights unchanged).
          const [real, fake, gen, realForG] = await spy.take(loss === 'rahinge' ? 4 : 3);
          for (const v of [s.lossD, s.lossG, s.dReal, s.dFake]) expect(Number.isFinite(v)).toBe(true);
          expectRelClose(s.lossD, R.discriminatorLoss(loss, real, fake), `${loss} lossD`);
          expectRelClose(s.lossG, R.generatorLoss(loss, gen, realForG), `${loss} lossG`);
          if (loss === 'rahinge') expect(mismatches(realForG, real)).toBeGreaterThan(0); // D moved in between
          const score = loss === 'bce' ? meanSigmoid64 : mean;
          expectRelClose(s.dReal, score(real), `${loss} mean D(x)`);
          expectRelClose(s.dFake, score(fake), `${loss} mean D(G(z))`);
          // Each loss's value differs from every other loss's on the same outputs, so a mixed-up loss fails above.
          for (const other of GAN_LOSSES.filter((o) => o !== loss))
            expect(Math.abs(R.discriminatorLoss(other, real, fake) - s.lossD)).toBeGreaterThan(
              1e-3 * Math.abs(s.lossD),
            );
          losses.push(s.lossD);
        }
        expect(new Set(losses).size).toBe(4); // D's loss moves as it trains
        expect(t.checkpointMeta().options).toMatchObject({ loss });
        const { options } = checkpointSpec(await t.saveCheckpoint());
        expect(options.loss).toBe(loss); // a resumed run keeps its loss
      } finally {
        spy.restore();
        t.dispose();
      }
    });
  }

  it('loss options: smoothing only where it is defined, rahinge G steps need reals, saved values checked', async () => {
    expect(() => new GanTrainer(ganSpec('dense'), { loss: 'hinge', realLabel: 0.9 })).toThrow(
      'Invalid training option realLabel=0.9: label smoothing applies to loss bce or lsgan, not hinge (use 1)',
    );
    expect(() => new GanTrainer(ganSpec('dense'), { loss: 'wgan' as never })).toThrow(
      'Invalid training option loss=wgan: must be one of bce, lsgan, hinge, rahinge',
    );
    const t = new GanTrainer(ganSpec('dense'), { batchSize: 4, seed: 3, loss: 'rahinge' });
    expect(() => t.trainGeneratorStep(4)).toThrow(
      "trainGeneratorStep: the rahinge loss needs a batch of real images for G's step",
    );
    const g0 = await Promise.all(t.G.parameters().map((p) => p.toArray()));
    const sg = await t.readStats(t.trainGeneratorStep(4, fakeDigits(6, 1)));
    expect(Number.isFinite(sg.lossG) && Number.isNaN(sg.lossD)).toBe(true);
    const g1 = await Promise.all(t.G.parameters().map((p) => p.toArray()));
    expect(g1.some((p, i) => mismatches(p, g0[i]) > 0)).toBe(true);
    t.dispose();
    const meta = (options: unknown) => checkSavedOptions(options, 'run.safetensors');
    expect(meta({ loss: 'lsgan', realLabel: 0.9 })).toEqual({ loss: 'lsgan', realLabel: 0.9 });
    expect(() => meta({ loss: 'hinge ' })).toThrow(
      'checkpoint run.safetensors: meta.options.loss must be one of bce, lsgan, hinge, rahinge, got "hinge "',
    );
    expect(() => meta({ loss: 3 })).toThrow(/meta\.options\.loss must be one of bce, lsgan, hinge, rahinge, got 3/);
    expect(() => meta({ loss: 'rahinge', realLabel: 0.9 })).toThrow(
      'checkpoint run.safetensors: meta.options: Invalid training option realLabel=0.9: label smoothing applies to loss bce or lsgan, not rahinge (use 1)',
    );
  });

  it('progressive growing: stage 0 for growImages images, then each stage fades in over growImages and holds for as many', () => {
    const L = 100;
    const at = (images: number) => growthAt(images, 2, L);
    expect([0, 99, 100, 150, 199, 200, 299, 300, 350, 400, 499, 500, 10_000].map(at)).toEqual([
      { stage: 0, alpha: 1 },
      { stage: 0, alpha: 1 },
      { stage: 1, alpha: 0 },
      { stage: 1, alpha: 0.5 },
      { stage: 1, alpha: 0.99 },
      { stage: 1, alpha: 1 },
      { stage: 1, alpha: 1 },
      { stage: 2, alpha: 0 },
      { stage: 2, alpha: 0.5 },
      { stage: 2, alpha: 1 },
      { stage: 2, alpha: 1 },
      { stage: 2, alpha: 1 },
      { stage: 2, alpha: 1 },
    ]);
    expect(growthAt(5000, 0, L)).toEqual({ stage: 0, alpha: 1 });
  });

  it('progan trains through a fade (finite losses, full-size samples) and a run resumed mid-fade continues exactly', async () => {
    const spec = ganSpec('progan', { size: 8, width: 4, zDim: 8 });
    const opts = { batchSize: 4, seed: 3, growImages: 8, loss: 'hinge' as const };
    const real = [0, 1, 2, 3, 4].map((i) => colourImages(4, 8, 10 + i));
    const straight = new GanTrainer(spec, opts);
    const seen = [];
    for (const r of real) {
      const s = await straight.readStats(straight.trainBatch(r));
      for (const v of [s.lossD, s.lossG, s.dReal, s.dFake]) expect(Number.isFinite(v)).toBe(true);
      seen.push(straight.growth);
    }
    // images before each step 0, 4, 8, 12, 16 → stage 0, 0, then stage 1 fading in over 8 images
    expect(seen).toEqual([
      { stage: 0, alpha: 1 },
      { stage: 0, alpha: 1 },
      { stage: 1, alpha: 0 },
      { stage: 1, alpha: 0.5 },
      { stage: 1, alpha: 1 },
    ]);
    const z = straight.fixedLatent(3);
    expect(straight.generate(z).shape).toEqual([3, 3, 8, 8]);

    const first = new GanTrainer(spec, opts);
    for (const r of real.slice(0, 4)) await first.readStats(first.trainBatch(r));
    const bytes = await first.saveCheckpoint();
    first.dispose();
    const saved = checkpointSpec(bytes);
    expect(saved.spec).toEqual(spec);
    expect(saved.meta.growth).toEqual({ stage: 1, alpha: 0.5 });
    const resumed = new GanTrainer(saved.spec, saved.options);
    resumed.loadCheckpoint(bytes);
    expect(resumed.growth).toEqual({ stage: 1, alpha: 0.5 });
    await resumed.readStats(resumed.trainBatch(real[4]!));
    expect(Buffer.from(await resumed.saveCheckpoint()).equals(Buffer.from(await straight.saveCheckpoint()))).toBe(true);
    z.dispose();
    straight.dispose();
    resumed.dispose();
  });

  it("msggan trains with rahinge: every scale's toRGB gets a gradient, samples are full size, D scores any batch", async () => {
    const t = new GanTrainer(ganSpec('msggan', { size: 16, width: 4, zDim: 8 }), {
      batchSize: 4,
      seed: 5,
      loss: 'rahinge',
      gEma: 0.9,
    });
    const G = t.G as MsgGenerator;
    const before = await Promise.all(G.parameters().map((p) => p.toArray()));
    for (let i = 0; i < 2; i++) {
      const s = await t.readStats(t.trainBatch(colourImages(4, 16, 20 + i)));
      for (const v of [s.lossD, s.lossG]) expect(Number.isFinite(v)).toBe(true);
    }
    const after = await Promise.all(G.parameters().map((p) => p.toArray()));
    const names = G.namedParameters().map(([k]) => k);
    const moved = names.filter((_, i) => mismatches(before[i]!, after[i]!) > 0);
    expect(moved).toEqual(names); // all scales (to_rgb.0 … to_rgb.2) and blocks were trained
    const x = t.generate(t.fixedLatent(6));
    expect(x.shape).toEqual([6, 3, 16, 16]);
    expect(t.discriminate(x).shape).toEqual([6, 1]); // 6 is not a multiple of the stddev group of 4
    x.dispose();
    const back = new GanTrainer(t.spec, checkpointSpec(await t.saveCheckpoint()).options);
    back.loadCheckpoint(await t.saveCheckpoint());
    expect(back.step).toBe(2);
    back.dispose();
    t.dispose();
  });

  it("generateScales: msggan's every scale, nearest-upsampled, the last equal to generate's; one scale for the others", async () => {
    const t = new GanTrainer(ganSpec('msggan', { size: 16, width: 4, zDim: 8 }), { batchSize: 4, seed: 9 });
    const z = t.fixedLatent(3);
    const scales = t.generateScales(z, 'raw');
    expect(scales.map((x) => x.shape)).toEqual([
      [3, 3, 16, 16],
      [3, 3, 16, 16],
      [3, 3, 16, 16],
    ]);
    const native = noGrad(() => (t.G as MsgGenerator).forwardScales(z));
    expect(native.map((x) => x.shape[2])).toEqual([4, 8, 16]);
    for (let s = 0; s < 3; s++) {
      const [up, small] = [await scales[s]!.toArray(), await native[s]!.toArray()];
      const side = native[s]!.shape[2]!;
      const f = 16 / side;
      // nearest: pixel (y, x) of the full-size image is pixel (⌊y/f⌋, ⌊x/f⌋) of the scale
      const expected = up.map((_, i) => {
        const [n, c, y, x] = [Math.floor(i / 768), Math.floor(i / 256) % 3, Math.floor(i / 16) % 16, i % 16];
        return small[((n * 3 + c) * side + Math.floor(y / f)) * side + Math.floor(x / f)]!;
      });
      expect(mismatches(up, expected)).toBe(0);
    }
    const top = t.generate(z, 'raw');
    expect(mismatches(await top.toArray(), await scales[2]!.toArray())).toBe(0);
    for (const x of [...scales, ...native, top, z]) x.dispose();
    const grid = await scaleGrid(t, 5);
    expect([grid.width, grid.height]).toEqual([5 * 18 + 2, 3 * 18 + 2]); // 5 samples × 3 scales, padding 2
    t.dispose();
    const d = new GanTrainer(ganSpec('dense'), { batchSize: 4, seed: 9 });
    const dz = d.fixedLatent(2);
    const one = d.generateScales(dz);
    expect(one.map((x) => x.shape)).toEqual([[2, 1, 28, 28]]);
    for (const x of [...one, dz]) x.dispose();
    d.dispose();
  });

  it('growing specs: sizes checked when built and when read from a checkpoint', async () => {
    expect(() => ganSpec('progan', { size: 24 })).toThrow(
      'model progan: size must be one of 8, 16, 32, 64, 128 px, got 24',
    );
    expect(() => ganSpec('dcgan32', { size: 64 })).toThrow('model dcgan32: its size is fixed at 32 px, not 64');
    expect(ganSpec('msggan')).toEqual({
      kind: 'msggan',
      zDim: 128,
      channels: 3,
      size: 32,
      width: 16,
      stageWidths: [128, 64, 32, 16],
    });
    expect(checkGanSpec({ kind: 'progan', zDim: 8, channels: 1, size: 16, width: 4, stageWidths: [16, 8, 4] })).toEqual(
      ganSpec('progan', { zDim: 8, channels: 1, size: 16, width: 4 }),
    );
    // a checkpoint of the earlier channel plan (no stageWidths) or of another one: refused, naming the field
    expect(() => checkGanSpec({ kind: 'progan', zDim: 8, channels: 1, size: 16, width: 4 }, 'a.safetensors')).toThrow(
      'checkpoint a.safetensors: meta.model.stageWidths must be [16,8,4], the channel plan of width 4 at 16 px (a checkpoint without it was written under the earlier plan and cannot be loaded), got null',
    );
    expect(() =>
      checkGanSpec(
        { kind: 'msggan', zDim: 8, channels: 1, size: 16, width: 4, stageWidths: [8, 4, 4] },
        'a.safetensors',
      ),
    ).toThrow('meta.model.stageWidths must be [16,8,4], the channel plan of width 4 at 16 px');
    expect(() => checkGanSpec({ kind: 'progan', zDim: 8, channels: 3, size: 12, width: 4 }, 'a.safetensors')).toThrow(
      'checkpoint a.safetensors: meta.model.size must be one of 8, 16, 32, 64, 128 for progan, got 12',
    );
    expect(() =>
      checkGanSpec({ kind: 'msggan', zDim: 8, channels: 3, size: 128, width: 512 }, 'a.safetensors'),
    ).toThrow(/meta\.model\.width gives a weight of \d+ values/);
  });

  it('single D-only and G-only steps update only their own network', async () => {
    const t = new GanTrainer(ganSpec('dense'), { batchSize: 8, seed: 4 });
    const snapshot = async (m: typeof t.G) => Promise.all(m.parameters().map((p) => p.toArray()));
    const changed = (a: Float32Array[], b: Float32Array[]) => a.some((x, i) => x.some((v, j) => v !== b[i][j]));
    const [g0, d0] = [await snapshot(t.G), await snapshot(t.D)];
    const sd = await t.readStats(t.trainDiscriminatorStep(fakeDigits(8, 7)));
    const [g1, d1] = [await snapshot(t.G), await snapshot(t.D)];
    expect(changed(d0, d1)).toBe(true);
    expect(changed(g0, g1)).toBe(false);
    expect(Number.isFinite(sd.lossD) && Number.isNaN(sd.lossG)).toBe(true);
    const sg = await t.readStats(t.trainGeneratorStep(8));
    const [g2, d2] = [await snapshot(t.G), await snapshot(t.D)];
    expect(changed(g1, g2)).toBe(true);
    expect(changed(d1, d2)).toBe(false);
    expect(Number.isNaN(sg.lossD) && Number.isFinite(sg.lossG)).toBe(true);
    expect(t.step).toBe(2);
    expect(() => t.trainGeneratorStep(1)).toThrow('trainGeneratorStep: batch size must be an integer ≥ 2, got 1');
    t.dispose();
  });

  for (const [model, loss, realLabel] of [
    ['dcgan', 'bce', 0.9],
    ['dcgan32', 'lsgan', 1],
  ] as const)
    it(`${model}, ${loss}: D's joint pass over reals and fakes trains as two passes would, in fewer launches`, async () => {
      // dcgan32's D has BatchNorm after conv layers of 8×8 and 4×4 planes: grouped statistics on small planes.
      const spec = ganSpec(model, model === 'dcgan32' ? { width: 8 } : {});
      const n = 4;
      const data = (seed: number) => (model === 'dcgan' ? fakeDigits(n, seed) : colourImages(n, spec.size, seed));
      const run = async (joint: boolean) => {
        const t = new GanTrainer(spec, { batchSize: n, seed: 9, loss, realLabel });
        t.jointD = joint;
        const stats = [];
        let launches = 0;
        for (let i = 0; i < 3; i++) {
          const before = engine().stats().dispatches;
          const r = t.trainBatch(data(60 + i));
          launches = engine().stats().dispatches - before;
          stats.push(await t.readStats(r));
        }
        const state = new Map<string, Float32Array>();
        for (const m of [t.G, t.D])
          for (const [k, v] of m.stateDict()) state.set(`${m === t.G ? 'G' : 'D'}.${k}`, await v.toArray());
        t.dispose();
        return { stats, state, launches };
      };
      const [two, one] = [await run(false), await run(true)];
      one.stats.forEach((s, i) => {
        for (const k of ['lossD', 'lossG', 'dReal', 'dFake'] as const)
          expectRelClose(s[k], two.stats[i][k], `step ${i} ${k}`);
      });
      expect([...one.state.keys()]).toEqual([...two.state.keys()]);
      // Every parameter and buffer (running statistics and batch counts of D's BatchNorm included), relative to its
      // size: the passes sum the weight gradients in another order, and where a gradient is near 0 Adam's step turns
      // that rounding into a visible difference of one element, so the check is norm-wise.
      for (const [k, v] of one.state) {
        const e = closeError(v, two.state.get(k)!);
        if (!(e.norm <= 1e-5)) throw new Error(`${k}: norm-wise relative error ${e.norm.toExponential(2)} > 1e-5`);
      }
      // 3 steps, each with D on reals and fakes (one joint pass counting both) and on G's fakes
      const counts = [...one.state].filter(([k]) => k.startsWith('D.') && k.endsWith('num_batches_tracked'));
      expect(counts.length).toBeGreaterThan(0);
      for (const [, c] of counts) expect(Array.from(c)).toEqual([9]);
      expect(one.launches).toBeLessThan(two.launches - 10);
    });

  it('checkpoint round trip is bit-exact and a resumed run continues exactly', async () => {
    const real = [fakeDigits(8, 3), fakeDigits(8, 4), fakeDigits(8, 5), fakeDigits(8, 6)];
    const straight = new GanTrainer(ganSpec('dcgan'), { batchSize: 8, seed: 9 });
    for (const r of real) await straight.readStats(straight.trainBatch(r));

    const first = new GanTrainer(ganSpec('dcgan'), { batchSize: 8, seed: 9 });
    for (const r of real.slice(0, 2)) await first.readStats(first.trainBatch(r));
    const bytes = await first.saveCheckpoint();
    const again = await first.saveCheckpoint();
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    first.dispose();

    const { spec, options } = checkpointSpec(bytes);
    const resumed = new GanTrainer(spec, options);
    resumed.loadCheckpoint(bytes);
    expect(resumed.step).toBe(2);
    expect(Buffer.from(await resumed.saveCheckpoint()).equals(Buffer.from(bytes))).toBe(true);
    for (const r of real.slice(2)) await resumed.readStats(resumed.trainBatch(r));
    const a = await straight.saveCheckpoint();
    const b = await resumed.saveCheckpoint();
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    straight.dispose();
    resumed.dispose();
  });

  it("--g-ema: G's weight average follows each G step, has its own BatchNorm statistics, and is what generate draws", async () => {
    const decay = 0.8;
    const t = new GanTrainer(ganSpec('dcgan'), { batchSize: 8, seed: 11, gEma: decay, dStepsPerG: 2 });
    const avg = t.Gema!;
    const params = async (m: typeof t.G) => Promise.all(m.parameters().map((p) => p.toArray()));
    expect(await params(avg)).toEqual(await params(t.G)); // starts as G
    await t.readStats(t.trainBatch(fakeDigits(8, 1))); // D only: the average does not move
    expect(await params(avg)).toEqual(await params(t.G));
    const g0 = await params(t.G);
    await t.readStats(t.trainBatch(fakeDigits(8, 2))); // G steps
    const [g1, a1] = [await params(t.G), await params(avg)];
    expect(g1.some((p, i) => p.some((v, j) => v !== g0[i][j]))).toBe(true);
    a1.forEach((p, i) =>
      expectClose(
        p,
        g0[i].map((v, j) => decay * v + (1 - decay) * g1[i][j]),
        1e-6,
      ),
    );

    // generate() draws from the average in eval mode, its BatchNorm statistics measured on a fixed latent batch:
    // on that batch, eval mode equals training mode up to the unbiased variance's n/(n − 1) (n = 512 latents × the
    // map's pixels; 5.1e-4 of the output's RMS on lavapipe after the layers compound it). Raw G's output differs from
    // the average's by 5.0 of its RMS there: the two bands are apart by far more than either tolerance.
    const zStats = t.latent(EMA_STATS_BATCH, 'ema-stats', 0);
    const fromAverage = await t.generate(zStats).toArray();
    const copy = buildGan(ganSpec('dcgan'), 1).G; // a train-mode pass would move the average's own statistics
    copyModuleState(copy, avg);
    copy.train();
    const trainMode = await copy.forward(zStats).toArray();
    copy.dispose();
    expectClose(fromAverage, trainMode, 1e-3);
    t.sampleFrom = 'raw';
    t.G.eval();
    const fromG = await t.G.forward(zStats).toArray();
    t.G.train();
    expect(mismatches(await t.generate(zStats).toArray(), fromG)).toBe(0);
    expect(relError(fromG, fromAverage)).toBeGreaterThan(0.1);
    t.sampleFrom = 'ema';

    // checkpoints hold the average as G_ema and restore it; a run without one starts it from G on resume
    const bytes = await t.saveCheckpoint();
    expect([...decodeSafetensors(bytes).tensors.keys()].filter((k) => k.startsWith('G_ema.')).sort()).toEqual(
      [...avg.stateDict().keys()].map((k) => `G_ema.${k}`).sort(),
    );
    const back = new GanTrainer(ganSpec('dcgan'), checkpointSpec(bytes).options);
    back.loadCheckpoint(bytes);
    expect(await params(back.Gema!)).toEqual(a1);
    expect(mismatches(await back.generate(zStats).toArray(), fromAverage)).toBe(0);
    const plain = new GanTrainer(ganSpec('dcgan'), { batchSize: 8, seed: 11 });
    await plain.readStats(plain.trainBatch(fakeDigits(8, 3)));
    const late = new GanTrainer(ganSpec('dcgan'), { batchSize: 8, seed: 11, gEma: 0.99 });
    late.loadCheckpoint(await plain.saveCheckpoint());
    expect(await params(late.Gema!)).toEqual(await params(plain.G));
    for (const x of [t, back, plain, late]) x.dispose();
    zStats.dispose();
    expect(() => new GanTrainer(ganSpec('dcgan'), { gEma: 1 })).toThrow(
      'Invalid training option gEma=1: must be a number in [0, 1)',
    );
  });

  it('--lr-decay: both learning rates fall linearly to 0 between two steps', async () => {
    const t = new GanTrainer(ganSpec('dense'), {
      batchSize: 8,
      seed: 3,
      lrG: 4e-4,
      lrD: 2e-4,
      lrDecayStart: 1,
      lrDecayEnd: 5,
    });
    const rates = [];
    for (let i = 0; i < 6; i++) {
      await t.readStats(t.trainBatch(fakeDigits(8, i)));
      rates.push([t.optG.lr, t.optD.lr]);
    }
    // step s uses factor (5 − s)/4 from step 1 on
    expect(rates.map(([g]) => g / 4e-4)).toEqual([1, 1, 0.75, 0.5, 0.25, 0]);
    expect(rates.map(([, d]) => d / 2e-4)).toEqual([1, 1, 0.75, 0.5, 0.25, 0]);
    const g = await Promise.all(t.G.parameters().map((p) => p.toArray()));
    await t.readStats(t.trainBatch(fakeDigits(8, 9))); // lr 0: Adam moves nothing
    expect(await Promise.all(t.G.parameters().map((p) => p.toArray()))).toEqual(g);
    // a second, gentler cycle: resume with new base rates and a new schedule; the options, not the saved optimizers, set the rates
    const bytes = await t.saveCheckpoint();
    t.dispose();
    const again = new GanTrainer(ganSpec('dense'), {
      batchSize: 8,
      seed: 3,
      lrG: 1e-4,
      lrD: 5e-5,
      lrDecayStart: 7,
      lrDecayEnd: 11,
    });
    again.loadCheckpoint(bytes);
    expect([again.step, again.optG.lr, again.optD.lr]).toEqual([7, 1e-4, 5e-5]);
    const next = [];
    for (let i = 0; i < 2; i++) {
      await again.readStats(again.trainBatch(fakeDigits(8, 20 + i)));
      next.push([again.optG.lr / 1e-4, again.optD.lr / 5e-5]);
    }
    expect(next).toEqual([
      [1, 1],
      [0.75, 0.75],
    ]);
    again.dispose();
    expect(() => new GanTrainer(ganSpec('dense'), { lrDecayStart: 5, lrDecayEnd: 5 })).toThrow(
      'Invalid training option lrDecayEnd=5: must be 0 (no decay) or a step after lrDecayStart=5',
    );
  });

  it('refuses a checkpoint of another model and a batch of the wrong shape', async () => {
    const dense = new GanTrainer(ganSpec('dense'), { batchSize: 4 });
    const bytes = await dense.saveCheckpoint();
    const dcgan = new GanTrainer(ganSpec('dcgan'), { batchSize: 4 });
    expect(() => dcgan.loadCheckpoint(bytes)).toThrow(
      /checkpoint is for model .*"kind":"dense".*, not .*"kind":"dcgan"/,
    );
    expect(() => dcgan.trainBatch(new Float32Array(100))).toThrow(/not N×1×28×28 images/);
    expect(() => dcgan.trainBatch(Tensor.zeros([4, 3, 28, 28]))).toThrow(
      'trainBatch: real images have shape [4, 3, 28, 28], the model needs [N, 1, 28, 28]',
    );
    dense.dispose();
    dcgan.dispose();
  });

  it('slerp keeps the ends and the norm of equal-norm vectors', () => {
    const a = [3, 0, 0],
      b = [0, 3, 0];
    expect(Array.from(slerp(a, b, 0))).toEqual([3, 0, 0]);
    const m = slerp(a, b, 0.5);
    expect(Math.hypot(...m)).toBeCloseTo(3, 5);
    expect(m[0]).toBeCloseTo(m[1], 6);
  });
});

describe('train / sample commands', () => {
  const quiet = async <T>(fn: () => Promise<T>): Promise<T> => {
    const [log, err, write] = [console.log, console.error, process.stderr.write];
    console.log = () => {};
    console.error = () => {};
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      return await fn();
    } finally {
      console.log = log;
      console.error = err;
      process.stderr.write = write;
    }
  };

  it('writes a run folder, resumes it, and samples from its checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gan-run-'));
    const args = [
      '--model',
      'dense',
      '--dataset',
      'mnist',
      '--limit',
      '64',
      '--batch',
      '16',
      '--epochs',
      '2',
      '--max-steps',
      '3',
      '--out',
      out,
      '--grid',
      '4',
    ];
    expect(await quiet(() => trainCommand(args))).toBe(0);
    for (const f of [
      'config.json',
      'log.jsonl',
      'loss.png',
      'interpolation.png',
      'checkpoint.safetensors',
      'samples/final.png',
    ]) {
      expect(existsSync(join(out, f))).toBe(true);
    }
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    // real.png: the data's first --grid images as the model gets them, a row of 4 tiles of 28 px with 2 px padding
    const real = readImage(join(out, 'real.png'));
    expect([real.width, real.height]).toEqual([4 * 30 + 2, 32]);
    const digits = loadMnistDigits({ limit: 4 });
    for (let k = 0; k < 4; k++)
      for (const [x, y] of [
        [14, 14],
        [10, 20],
        [3, 3],
      ]) {
        const want = Math.floor((digits.images[k * 784 + y * 28 + x]! + 1) * 127.5 + 0.5);
        expect(real.rgba[((2 + y) * real.width + 2 + 30 * k + x) * 4], `image ${k} at (${x}, ${y})`).toBe(want);
      }
    // resume to the end of epoch 2 (4 steps per epoch with 64 images and batch 16)
    expect(await quiet(() => trainCommand([...args.filter((a) => a !== '3' && a !== '--max-steps'), '--resume']))).toBe(
      0,
    );
    const lines = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(readdirSync(join(out, 'samples')).sort()).toEqual(['epoch-001.png', 'epoch-002.png', 'final.png']);
    expect(checkpointSpec(new Uint8Array(readFileSync(join(out, 'checkpoint.safetensors')))).meta.step).toBe(8);
    const png = join(out, 'grid.png');
    expect(
      await quiet(() => sampleCommand(['--checkpoint', join(out, 'checkpoint.safetensors'), '--out', png, '--n', '9'])),
    ).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');

    // --tensors: the grid's z, G(z) and D(G(z)) in eval mode, for checking the checkpoint in PyTorch
    const tensorsPath = join(out, 'grid.safetensors');
    const ckpt = new Uint8Array(readFileSync(join(out, 'checkpoint.safetensors')));
    expect(
      await quiet(() =>
        sampleCommand([
          '--checkpoint',
          join(out, 'checkpoint.safetensors'),
          '--out',
          png,
          '--n',
          '9',
          '--tensors',
          tensorsPath,
        ]),
      ),
    ).toBe(0);
    const file = decodeSafetensors(new Uint8Array(readFileSync(tensorsPath))).tensors;
    const saved = { z: file.get('z'), images: file.get('images'), logits: file.get('logits') };
    expect([saved.z!.shape, saved.images!.shape, saved.logits!.shape]).toEqual([
      [9, 100],
      [9, 1, 28, 28],
      [9, 1],
    ]);
    const { spec, options } = checkpointSpec(ckpt);
    const t = new GanTrainer(spec, options);
    t.loadCheckpoint(ckpt);
    const z = Tensor.fromArray(saved.z!.data as Float32Array, [9, 100]);
    const images = t.generate(z);
    const ours = await images.toArray();
    const fromFile = saved.images!.data as Float32Array;
    expect(Math.max(...ours.map((v, i) => Math.abs(v - fromFile[i]!)))).toBeLessThan(1e-6);
    const logits = await t.discriminate(images).toArray();
    expect(Math.max(...logits.map((v, i) => Math.abs(v - (saved.logits!.data as Float32Array)[i]!)))).toBeLessThan(
      1e-5,
    );
    await expect(
      sampleCommand([
        '--checkpoint',
        join(out, 'checkpoint.safetensors'),
        '--out',
        png,
        '--interpolate',
        '--tensors',
        tensorsPath,
      ]),
    ).rejects.toThrow(/--tensors.*--interpolate/);
  });

  it('--eval-every scores the run while it trains, exactly as eval scores that checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gan-eval-'));
    const args = [
      '--model',
      'dense',
      '--dataset',
      'mnist',
      '--limit',
      '64',
      '--batch',
      '16',
      '--epochs',
      '1',
      '--max-steps',
      '2',
      '--eval-every',
      '2',
      '--out',
      out,
    ];
    expect(await quiet(() => trainCommand(args))).toBe(0);
    const points = readJsonl(join(out, 'eval.jsonl'));
    expect(points).toHaveLength(1);
    expect(points[0].step).toBe(2);
    expect(Number.isFinite(points[0].fd) && points[0].fd > points[0].fdRealVsRealBaseline).toBe(true);
    expect(readFileSync(join(out, 'fd.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(await quiet(() => evalCommand(['--checkpoint', join(out, 'checkpoint.safetensors')]))).toBe(0);
    const evaluation = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
    expect(evaluation.step).toBe(2);
    expect(evaluation.fd).toBe(points[0].fd);
    expect(evaluation.coverage.count).toBe(points[0].coverage);
    const folder = mkdtempSync(join(tmpdir(), 'gan-eval-folder-'));
    await expect(
      trainCommand(['--model', 'dcgan32', '--dataset', folder, '--eval-every', '5', '--out', `${folder}-run`]),
    ).rejects.toThrow(
      `--eval-every: scoring needs a classifier for the data and the model: no classifier for "${folder}": scoring needs mnist, fashion-mnist or a folder with a labels.json`,
    );
    expect(existsSync(`${folder}-run`)).toBe(false);
  });

  it('progan on a folder of colour images: a grid per finished stage, --resume continues, msggan writes its scales', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'gan-progan-'));
    const images = colourImages(12, 8, 3); // 3 steps an epoch at batch 4
    for (let i = 0; i < 12; i++) {
      const rgba = new Uint8ClampedArray(8 * 8 * 4);
      for (let p = 0; p < 64; p++) {
        for (let c = 0; c < 3; c++) rgba[4 * p + c] = Math.round((images[(i * 3 + c) * 64 + p]! + 1) * 127.5);
        rgba[4 * p + 3] = 255;
      }
      writePng(join(folder, `img-${i}.png`), { width: 8, height: 8, rgba });
    }
    const out = `${folder}-run`; // beside the images: a run inside the folder it trains on is refused
    // 8 px = stage 1; with 4 images per phase at batch 4: step 0 trains stage 0, step 1 fades stage 1 in
    const args = ['--model', 'progan', '--dataset', folder, '--size', '8', '--width', '8', '--batch', '4'];
    const grow = ['--grow-images', '4', '--out', out];
    expect(await quiet(() => trainCommand([...args, ...grow, '--max-steps', '2']))).toBe(0);
    expect(readdirSync(join(out, 'samples')).sort()).toEqual(['final.png', 'stage-0-4px.png']);
    expect(await quiet(() => trainCommand([...args, ...grow, '--max-steps', '3', '--resume']))).toBe(0);
    const steps = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(steps.map((l) => JSON.parse(l).step)).toEqual([0, 1, 2]);
    // as many images, but not the ones it trained on (one renamed): the resume is refused, the run left as it was
    const ckptBytes = readFileSync(join(out, 'checkpoint.safetensors'));
    expect(typeof checkpointSpec(new Uint8Array(ckptBytes)).meta.data).toBe('string');
    renameSync(join(folder, 'img-0.png'), join(folder, 'zz-0.png'));
    await expect(quiet(() => trainCommand([...args, ...grow, '--max-steps', '4', '--resume']))).rejects.toThrow(
      `the run trained on other images than ${folder} holds now (the images' names or sizes differ; files added, removed, renamed or replaced)`,
    );
    expect(readFileSync(join(out, 'checkpoint.safetensors')).equals(ckptBytes)).toBe(true);
    renameSync(join(folder, 'zz-0.png'), join(folder, 'img-0.png'));
    // as many images of a built-in set: refused too, the run having trained on a folder (it passed: no fingerprint)
    const digits = ['--model', 'progan', '--dataset', 'mnist', '--limit', '12', '--size', '8', '--width', '8'];
    await expect(
      quiet(() => trainCommand([...digits, '--batch', '4', ...grow, '--max-steps', '4', '--resume'])),
    ).rejects.toThrow(/the run trained on an image folder and mnist\S* is none; a run cannot change its data/);
    expect(readFileSync(join(out, 'checkpoint.safetensors')).equals(ckptBytes)).toBe(true);
    const msg = `${folder}-msg`;
    expect(
      await quiet(() =>
        trainCommand([
          '--model',
          'msggan',
          '--dataset',
          folder,
          '--size',
          '8',
          '--width',
          '8',
          '--batch',
          '4',
          '--max-steps',
          '1',
          '--out',
          msg,
        ]),
      ),
    ).toBe(0);
    expect(readdirSync(join(msg, 'samples')).sort()).toEqual(['final.png', 'scales.png']);

    // sample --tensors adds what a training step gives D and D's logits of it (for tools/pytorch/check_checkpoint.py)
    const tensorsOf = async (run: string) => {
      const path = join(run, 'grid.safetensors');
      const ckptPath = join(run, 'checkpoint.safetensors');
      const argv = ['--checkpoint', ckptPath, '--out', join(run, 'grid.png'), '--n', '8', '--tensors', path];
      expect(await quiet(() => sampleCommand(argv))).toBe(0);
      const ckpt = new Uint8Array(readFileSync(ckptPath));
      const { spec, options } = checkpointSpec(ckpt);
      const t = new GanTrainer(spec, options);
      t.loadCheckpoint(ckpt);
      const file = decodeSafetensors(new Uint8Array(readFileSync(path))).tensors;
      const get = (name: string) => {
        const e = file.get(name)!;
        return Tensor.fromArray(e.data as Float32Array, e.shape);
      };
      return { t, file, get };
    };
    const fade = `${folder}-fade`; // 8 images a phase: step 3 shows 12, half-way through stage 1's fade
    const fadeArgs = ['--grow-images', '8', '--max-steps', '4', '--out', fade];
    expect(await quiet(() => trainCommand([...args, ...fadeArgs]))).toBe(0);
    const pg = await tensorsOf(fade);
    expect(pg.t.growth.stage).toBe(1);
    expect(pg.t.growth.alpha).toBeGreaterThan(0);
    expect(pg.t.growth.alpha).toBeLessThan(1);
    expect([...pg.file.keys()].sort()).toEqual(['images', 'logits', 'logits_fake', 'stage_images', 'z']);
    const stageImages = pg.get('stage_images');
    expect(stageImages.shape).toEqual([8, 3, 8, 8]);
    expectClose(await stageImages.toArray(), await pg.t.generate(pg.get('z')).toArray(), 1e-6, 'stage_images');
    const dFake = noGrad(() => {
      pg.t.D.eval();
      return pg.t.D.forward(stageImages); // as the step scores fakes: no second fade of G's already faded output
    });
    expectClose(pg.file.get('logits_fake')!.data as Float32Array, await dFake.toArray(), 1e-5, 'logits_fake');
    pg.t.dispose();
    const mg = await tensorsOf(msg);
    expect([...mg.file.keys()].sort()).toEqual(['images', 'logits', 'logits_scales', 'scales.0', 'z']);
    expect(mg.file.get('scales.0')!.shape).toEqual([8, 3, 4, 4]);
    const G = mg.t.Gema ?? mg.t.G;
    const ownScales = noGrad(() => {
      G.eval();
      return (G as MsgGenerator).forwardScales(mg.get('z'));
    });
    expectClose(mg.file.get('scales.0')!.data as Float32Array, await ownScales[0]!.toArray(), 1e-6, 'scales.0');
    const dScales = noGrad(() => {
      mg.t.D.eval();
      return (mg.t.D as unknown as { forwardScales(x: Tensor[]): Tensor }).forwardScales(ownScales);
    });
    expectClose(mg.file.get('logits_scales')!.data as Float32Array, await dScales.toArray(), 1e-5, 'logits_scales');
    mg.t.dispose();
  });

  it('--g-ema: eval.jsonl scores the average and the trained G; eval and sample pick either with --generator', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gan-ema-'));
    const args = [
      '--model',
      'dense',
      '--dataset',
      'mnist',
      '--limit',
      '64',
      '--batch',
      '16',
      '--epochs',
      '1',
      '--max-steps',
      '2',
      '--eval-every',
      '2',
      '--g-ema',
      '0.5',
      '--out',
      out,
    ];
    expect(await quiet(() => trainCommand(args))).toBe(0);
    const [point] = readJsonl(join(out, 'eval.jsonl'));
    expect(Number.isFinite(point.fdTrainedG)).toBe(true);
    expect(point.fdTrainedG).not.toBe(point.fd);
    const ckpt = join(out, 'checkpoint.safetensors');
    for (const [generator, fd] of [
      ['ema', point.fd],
      ['raw', point.fdTrainedG],
    ]) {
      expect(await quiet(() => evalCommand(['--checkpoint', ckpt, '--generator', generator]))).toBe(0);
      const evaluation = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
      expect([evaluation.generator, evaluation.fd]).toEqual([generator === 'ema' ? 'G_ema' : 'G', fd]);
    }
    await expect(evalCommand(['--checkpoint', ckpt, '--generator', 'best'])).rejects.toThrow(
      '--generator: expected ema or raw, got "best"',
    );
    await expect(trainCommand([...args.slice(0, -4), '--g-ema', '1', '--out', join(out, 'x')])).rejects.toThrow(
      '--g-ema: expected a number in [0, 1), got "1"',
    );
    const plainRun = mkdtempSync(join(tmpdir(), 'gan-plain-'));
    expect(
      await quiet(() =>
        trainCommand([
          '--model',
          'dense',
          '--dataset',
          'mnist',
          '--limit',
          '32',
          '--batch',
          '16',
          '--max-steps',
          '1',
          '--out',
          plainRun,
        ]),
      ),
    ).toBe(0);
    await expect(
      sampleCommand([
        '--checkpoint',
        join(plainRun, 'checkpoint.safetensors'),
        '--out',
        join(plainRun, 'g.png'),
        '--generator',
        'ema',
      ]),
    ).rejects.toThrow('--generator ema: this checkpoint has no weight average (the run was trained without --g-ema)');
    expect(existsSync(join(plainRun, 'g.png'))).toBe(false);
    // a resumed run may start averaging and decaying; its other options come from the checkpoint (another --batch
    // is refused: tests/cli-mistakes.test.ts)
    expect(
      await quiet(() =>
        trainCommand([
          '--model',
          'dense',
          '--dataset',
          'mnist',
          '--limit',
          '32',
          '--max-steps',
          '2',
          '--out',
          plainRun,
          '--resume',
          '--g-ema',
          '0.9',
          '--lr-decay',
          '1:4',
          '--lr-g',
          '1e-4',
        ]),
      ),
    ).toBe(0);
    const config = JSON.parse(readFileSync(join(plainRun, 'config.json'), 'utf8')).options;
    expect([config.batchSize, config.gEma, config.lrDecayStart, config.lrDecayEnd, config.lrG, config.lrD]).toEqual([
      16, 0.9, 1, 4, 1e-4, 2e-4,
    ]);
    expect(
      [...decodeSafetensors(readFileSync(join(plainRun, 'checkpoint.safetensors'))).tensors.keys()].some((k) =>
        k.startsWith('G_ema.'),
      ),
    ).toBe(true);
    // past the end of its decay a run would train with learning rate 0: resuming it asks for a new schedule
    const resumeArgs = ['--model', 'dense', '--dataset', 'mnist', '--limit', '32', '--out', plainRun, '--resume'];
    expect(await quiet(() => trainCommand([...resumeArgs, '--max-steps', '4']))).toBe(0);
    const ckptBytes = readFileSync(join(plainRun, 'checkpoint.safetensors'));
    await expect(trainCommand([...resumeArgs, '--max-steps', '6'])).rejects.toThrow(
      "--resume: the run's learning rates reached 0 at step 4 (lr decay 1:4) and it is at step 4: more steps would change nothing; give a new --lr-decay 4:END (and --lr-g/--lr-d) to train on",
    );
    expect(readFileSync(join(plainRun, 'checkpoint.safetensors')).equals(ckptBytes)).toBe(true);
    expect(await quiet(() => trainCommand([...resumeArgs, '--max-steps', '5', '--lr-decay', '4:6']))).toBe(0);
    expect(JSON.parse(readFileSync(join(plainRun, 'config.json'), 'utf8')).options.lrDecayEnd).toBe(6);
    await expect(trainCommand([...args.slice(0, -2), '--lr-decay', '9:3', '--out', join(out, 'y')])).rejects.toThrow(
      '--lr-decay: expected START:END, two steps with START < END (e.g. 5000:8000), got "9:3"',
    );
  });

  it('a diverging run stops on the non-finite loss and keeps the last good checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gan-nan-'));
    const code = await quiet(() =>
      trainCommand([
        '--model',
        'dense',
        '--dataset',
        'mnist',
        '--limit',
        '64',
        '--batch',
        '16',
        '--epochs',
        '50',
        '--lr-g',
        '1e30',
        '--checkpoint-every',
        '1',
        '--out',
        out,
      ]),
    );
    expect(code).toBe(1);
    const bytes = new Uint8Array(readFileSync(join(out, 'checkpoint.safetensors')));
    const { spec, options, meta } = checkpointSpec(bytes); // intact and loadable
    const t = new GanTrainer(spec, options);
    t.loadCheckpoint(bytes);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l, (_, v) => v));
    const bad = log.findIndex((s) => s.lossD === null || s.lossG === null);
    expect(bad).toBeGreaterThan(0);
    expect(meta.step).toBe(bad); // the checkpoint holds the state before the diverged step
    t.dispose();
  });

  it('bad inputs give clear errors and write nothing', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'gan-bad-')), 'run');
    await expect(trainCommand(['--dataset', '/no/such/folder', '--out', out])).rejects.toThrow(
      '--dataset: "/no/such/folder" is neither mnist, fashion-mnist nor an existing folder',
    );
    await expect(trainCommand(['--model', 'vae', '--out', out])).rejects.toThrow(UsageError);
    await expect(trainCommand(['--batch', 'x', '--out', out])).rejects.toThrow(
      '--batch: expected an integer in [2, 512]',
    );
    await expect(trainCommand(['--out', out, '--resume'])).rejects.toThrow(
      `--resume: no checkpoint at ${join(out, 'checkpoint.safetensors')}`,
    );
    expect(existsSync(out)).toBe(false);
    const notCkpt = join(tmpdir(), `not-a-checkpoint-${process.pid}.safetensors`);
    writeFileSync(notCkpt, 'garbage');
    await expect(sampleCommand(['--checkpoint', notCkpt, '--out', join(out, 'x.png')])).rejects.toThrow(
      /safetensors|header/i,
    );
    expect(existsSync(join(out, 'x.png'))).toBe(false);
  });
});
