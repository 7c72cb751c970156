/**
 * The latent walk (src/gan/latent-walk.ts): its latents against a float64 slerp written out below, its images in eval
 * mode against G at each point alone and against the CLI's interpolation strip, for the lesson DCGAN and the growing
 * kinds; the chain's pairs and the errors.
 */
import { describe, it, expect } from 'vitest';
import { Tensor } from '../src/tensor/index.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { ganSpec, latentShape, type GanSpec } from '../src/gan/models.ts';
import { interpolationStrip } from '../src/gan/visuals.ts';
import { deriveSeed } from '../src/nn/seed.ts';
import {
  WALK_FRAMES,
  walkPair,
  pairAfter,
  nextLeg,
  cliStrip,
  walkLatents,
  walkImages,
  walkStrip,
} from '../src/gan/latent-walk.ts';
import { useEngine, rng } from './helpers.ts';

useEngine();

/** slerp in float64, plain loops: sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, Ω the angle between a and b. */
function slerpRef(a: ArrayLike<number>, b: ArrayLike<number>, t: number): number[] {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const omega = Math.acos(dot / Math.sqrt(na * nb));
  const out: number[] = [];
  for (let i = 0; i < a.length; i++)
    out.push((Math.sin((1 - t) * omega) * a[i] + Math.sin(t * omega) * b[i]) / Math.sin(omega));
  return out;
}

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

/** Point k of a run's chain, drawn as the trainer draws it (the run's seed and `interp:k`). */
async function chainPoint(spec: GanSpec, seed: number, k: number): Promise<Float32Array> {
  const z = Tensor.randn(latentShape(spec, 1), { seed: deriveSeed(seed, `interp:${k}`) });
  const v = await z.toArray();
  z.dispose();
  return v;
}

/** Random images in [-1, 1] for a few training steps. */
function reals(n: number, spec: GanSpec, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * spec.channels * spec.size * spec.size }, () => 2 * r() - 1);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** G at one latent point alone (a batch of 1), as the sample grid draws it. */
async function generateAt(t: GanTrainer, z: Float32Array): Promise<Float32Array> {
  const zt = Tensor.fromArray(z, latentShape(t.spec, 1));
  const x = t.generate(zt);
  zt.dispose();
  const v = await x.toArray();
  x.dispose();
  return v;
}

async function buffersOf(t: GanTrainer): Promise<Float32Array[]> {
  return Promise.all(t.G.namedBuffers().map(([, b]) => b.toArray()));
}

describe('latent walk', () => {
  it('walks the chain in pairs that are the CLI strips, and continues a leg from where it ends', () => {
    expect(walkPair(0)).toEqual({ from: 1, to: 2 });
    expect(walkPair(3)).toEqual({ from: 7, to: 8 });
    expect(pairAfter({ from: 1, to: 2 })).toEqual({ from: 3, to: 4 });
    expect(pairAfter({ from: 2, to: 3 })).toEqual({ from: 5, to: 6 }); // both points fresh
    expect(nextLeg({ from: 3, to: 4 })).toEqual({ from: 4, to: 5 });
    expect(cliStrip({ from: 1, to: 2 })).toBe(1);
    expect(cliStrip({ from: 7, to: 8 })).toBe(4);
    expect(cliStrip({ from: 4, to: 5 })).toBeNull();
    expect(() => walkPair(-1)).toThrow("latent walk: a pair's index must be an integer ≥ 0, got -1");
    expect(WALK_FRAMES).toMatchObject({ type: 'integer', min: 2, max: 32 });
  });

  it('its latents are slerp between the two chain points (float64 reference): exact ends, reference norms', async () => {
    const spec = ganSpec('dcgan');
    const t = new GanTrainer(spec, { seed: 5, batchSize: 4 });
    const frames = 7;
    const [a, b] = [await chainPoint(spec, 5, 3), await chainPoint(spec, 5, 4)];
    const z = await walkLatents(t, { from: 3, to: 4 }, frames);
    expect(z.shape).toEqual([frames, spec.zDim, 1, 1]);
    const v = await z.toArray();
    z.dispose();
    const frame = (i: number) => v.subarray(i * a.length, (i + 1) * a.length);
    // the ends are the points themselves, to the bit
    expect(Array.from(frame(0))).toEqual(Array.from(a));
    expect(Array.from(frame(frames - 1))).toEqual(Array.from(b));
    for (let i = 0; i < frames; i++) {
      const ref = slerpRef(a, b, i / (frames - 1));
      expect(maxAbsDiff(frame(i), ref) / norm(ref)).toBeLessThan(1e-6);
      expect(Math.abs(norm(frame(i)) - norm(ref)) / norm(ref)).toBeLessThan(1e-6);
    }
    // Gaussian points in 100 dimensions are nearly orthogonal: the path bows out where a straight line would sag to
    // about 1/√2 of the norms in the middle.
    const mid = norm(frame(3));
    const chord = norm(Array.from(a, (x, i) => (x + b[i]) / 2));
    expect(mid).toBeGreaterThan(1.25 * chord);
    expect(mid / Math.sqrt((norm(a) ** 2 + norm(b) ** 2) / 2)).toBeGreaterThan(0.95);
    t.dispose();
  });

  it('draws in eval mode: each frame is G at its point alone, the running statistics unchanged, the CLI strip', async () => {
    const spec = ganSpec('dcgan');
    const t = new GanTrainer(spec, { seed: 5, batchSize: 8 });
    for (let i = 0; i < 2; i++) t.trainBatch(reals(8, spec, i)).stats.dispose(); // running statistics away from 0/1
    const before = await buffersOf(t);
    expect(before.length).toBeGreaterThan(0);
    const frames = 5;
    const seg = walkPair(1); // points 3 → 4: the CLI's second strip
    const images = await walkImages(t, seg, frames);
    const per = spec.channels * spec.size * spec.size;
    expect(images.length).toBe(frames * per);
    const after = await buffersOf(t);
    for (let i = 0; i < before.length; i++) expect(maxAbsDiff(after[i], before[i])).toBe(0);
    // Eval mode: a frame does not depend on the rest of its batch (BatchNorm in training mode would use the batch's
    // statistics): the end frames are G at each point drawn alone.
    const [a, b] = [await chainPoint(spec, 5, 3), await chainPoint(spec, 5, 4)];
    expect(maxAbsDiff(images.subarray(0, per), await generateAt(t, a))).toBeLessThan(1e-5);
    expect(maxAbsDiff(images.subarray((frames - 1) * per), await generateAt(t, b))).toBeLessThan(1e-5);
    // The frames between differ from the ends and from each other (G is not constant along the path).
    expect(maxAbsDiff(images.subarray(0, per), images.subarray(2 * per, 3 * per))).toBeGreaterThan(1e-3);
    // Deterministic: drawn again, the same values to the bit.
    expect(maxAbsDiff(await walkImages(t, seg, frames), images)).toBe(0);
    // The strip is row 2 of the CLI's `sample --interpolate --steps 5 --rows 2` (same layout, same pixels up to a
    // level where a batch of 10 rounds differently from a batch of 5).
    const strip = walkStrip(images, frames, spec.channels, spec.size);
    const cli = await interpolationStrip(t, frames, 2);
    const cell = spec.size + 2;
    expect([strip.width, strip.height]).toEqual([cli.width, cell + 2]);
    const rowOfCli = cli.rgba.subarray(cell * cli.width * 4, (2 * cell + 2) * cli.width * 4);
    expect(maxAbsDiff(strip.rgba, rowOfCli)).toBeLessThanOrEqual(1);
    t.dispose();
  });

  it('the same seed draws the same walk, another seed another; it draws from the weight average when G keeps one', async () => {
    const spec = ganSpec('dcgan');
    const walk = async (seed: number, gEma = 0) => {
      const t = new GanTrainer(spec, { seed, batchSize: 4, gEma });
      t.trainBatch(reals(4, spec, 9)).stats.dispose();
      const raw = await walkImages(t, walkPair(0), 3);
      let ema: Float32Array | null = null;
      expect(t.Gema !== null).toBe(gEma > 0);
      if (t.Gema) {
        ema = await walkImages(t, walkPair(0), 3); // sampleFrom 'ema' by default
        t.sampleFrom = 'raw';
        expect(maxAbsDiff(await walkImages(t, walkPair(0), 3), ema)).toBeGreaterThan(1e-4);
      }
      t.dispose();
      return ema ?? raw;
    };
    const a = await walk(11);
    expect(maxAbsDiff(await walk(11), a)).toBe(0);
    expect(maxAbsDiff(await walk(12), a)).toBeGreaterThan(1e-3);
    await walk(11, 0.9);
  });

  it('draws progan at its stage and fade, upsampled to full size, and msggan at its largest scale', async () => {
    const frames = 4;
    const progan = ganSpec('progan', { size: 8, width: 8 });
    const p = new GanTrainer(progan, { seed: 2, batchSize: 4, growImages: 8 });
    for (let i = 0; i < 4; i++) p.trainBatch(reals(4, progan, i)).stats.dispose();
    expect(p.growth.stage).toBe(1);
    expect(p.growth.alpha).toBeGreaterThan(0);
    expect(p.growth.alpha).toBeLessThan(1);
    const per = progan.channels * 8 * 8;
    const pImages = await walkImages(p, walkPair(0), frames);
    expect(pImages.length).toBe(frames * per);
    const a = await chainPoint(progan, 2, 1);
    expect(maxAbsDiff(pImages.subarray(0, per), await generateAt(p, a))).toBeLessThan(1e-5);
    p.dispose();

    const msggan = ganSpec('msggan', { size: 8, width: 8 });
    const m = new GanTrainer(msggan, { seed: 2, batchSize: 4 });
    m.trainBatch(reals(4, msggan, 0)).stats.dispose();
    const mImages = await walkImages(m, walkPair(0), frames);
    const z = await walkLatents(m, walkPair(0), frames);
    const scales = m.generateScales(z);
    z.dispose();
    expect(scales.length).toBe(2); // 4 px and 8 px
    const largest = await scales[1]!.toArray();
    for (const s of scales) s.dispose();
    expect(maxAbsDiff(mImages, largest)).toBe(0);
    m.dispose();
  });

  it('refuses a frame count outside the CLI bounds and a walk that goes nowhere', async () => {
    const t = new GanTrainer(ganSpec('dense'), { seed: 1, batchSize: 4 });
    expect(() => walkLatents(t, walkPair(0), 1)).toThrow('latent walk: frames must be an integer in [2, 32], got 1');
    expect(() => walkLatents(t, walkPair(0), 2.5)).toThrow('an integer in [2, 32], got 2.5');
    expect(() => walkLatents(t, walkPair(0), 33)).toThrow('got 33');
    expect(() => walkLatents(t, { from: 0, to: 2 }, 4)).toThrow(
      'latent walk: point from must be an integer in [1, 2147483648], got 0',
    );
    expect(() => walkLatents(t, { from: 3, to: 3 }, 4)).toThrow('latent walk: from and to are the same point (3)');
    t.dispose();
  });
});
