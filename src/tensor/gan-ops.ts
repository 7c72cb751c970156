/**
 * The ops of progressive growing (ProGAN, Karras et al. 2018, arXiv 1710.10196) and MSG-GAN:
 *   - pixelNorm: pixelwise feature normalization, x / √(mean over channels of x² + 1e-8) (shaders/pixel_norm.wgsl);
 *   - minibatchStddev: the minibatch standard-deviation layer, one extra channel holding the mean over features of
 *     the standard deviation across each group of samples (shaders/minibatch_stddev.wgsl);
 *   - fade: the fade-in blend (1 − α)·a + α·b with α a run-time value (shaders/fade.wgsl).
 * Each is one kernel forward and one or two backward, where a composition of existing ops would take 5–10 launches
 * and as many intermediate tensors.
 * And the trainer's per-step statistics, ganStepStats (shaders/gan_stats.wgsl): one launch where sigmoids, means
 * and concatenations took 12.
 */
import { engine, grid1d } from './engine.ts';
import { shaderParams } from './params.ts';
import { Tensor } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { formatShape } from './shape.ts';

/** ProGAN's ε, inside both square roots. */
export const PIXEL_NORM_EPS = 1e-8;
export const MINIBATCH_STDDEV_EPS = 1e-8;

/**
 * Pixelwise feature normalization of x [N, C, ...] (rank ≥ 2: [N, C] latents or [N, C, H, W] feature maps):
 * y[n, c, p] = x[n, c, p] / √(Σ_c' x[n, c', p]² / C + eps), over the channels at each sample and position.
 */
export function pixelNorm(x: Tensor, eps = PIXEL_NORM_EPS): Tensor {
  if (x.rank < 2) throw new Error(`pixelNorm: input must be [N, C, ...] (rank ≥ 2), got shape ${formatShape(x.shape)}`);
  if (!(eps > 0)) throw new Error(`pixelNorm: eps must be positive, got ${eps}`);
  const [N, C] = x.shape as [number, number];
  const P = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const count = N * P;
  const params = shaderParams('pixel_norm', { count, C, P, eps });
  const out = Tensor.empty(x.shape);
  if (out.size > 0)
    engine().launch(
      { shader: 'pixel_norm', entry: 'forward' },
      { params, buffers: [x.buffer, out.buffer], workgroups: grid1d(count, 256) },
    );
  return record(out, 'pixelNorm', [x], (dy) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0)
      engine().launch(
        { shader: 'pixel_norm', entry: 'backward' },
        { params, buffers: [x.buffer, dy.buffer, dx.buffer], workgroups: grid1d(count, 256) },
      );
    return [dx];
  });
}

/**
 * The minibatch standard-deviation layer of x [N, C, H, W] with groups of `groupSize` samples (sample n is in group
 * n mod N/groupSize, as in the paper's code): the standard deviation of each feature over its group (population,
 * + 1e-8 inside the root), averaged over the C·H·W features to one value per group, appended to every sample of
 * the group as channel C → [N, C + 1, H, W]. N must be a multiple of groupSize.
 */
export function minibatchStddev(x: Tensor, groupSize: number, eps = MINIBATCH_STDDEV_EPS): Tensor {
  if (x.rank !== 4)
    throw new Error(`minibatchStddev: input must be 4-D [N, C, H, W], got shape ${formatShape(x.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new Error(`minibatchStddev: group size must be an integer ≥ 1, got ${groupSize}`);
  if (N % groupSize !== 0 || N === 0)
    throw new Error(
      `minibatchStddev: the batch of ${N} (input ${formatShape(x.shape)}) is not a positive multiple of the group size ${groupSize}`,
    );
  if (!(eps > 0)) throw new Error(`minibatchStddev: eps must be positive, got ${eps}`);
  const M = N / groupSize;
  const HW = H * W;
  const F = C * HW;
  const params = (count: number) => shaderParams('minibatch_stddev', { N, M, G: groupSize, C, HW, F, count, eps });
  const e = engine();
  const out = Tensor.empty([N, C + 1, H, W]);
  const stats = Tensor.empty([M]);
  if (HW > 0) {
    e.launch(
      { shader: 'minibatch_stddev', entry: 'stats' },
      { params: params(0), buffers: [x.buffer, stats.buffer], workgroups: grid1d(M, 1) },
    );
    e.launch(
      { shader: 'minibatch_stddev', entry: 'forward' },
      { params: params(out.size), buffers: [x.buffer, stats.buffer, out.buffer], workgroups: grid1d(out.size, 256) },
    );
  }
  stats.dispose(); // the backward recomputes the moments from x; only the forward reads S
  return record(out, 'minibatchStddev', [x], (dy) => {
    const sums = Tensor.empty([M]);
    const dx = Tensor.empty(x.shape);
    if (HW > 0) {
      e.launch(
        { shader: 'minibatch_stddev', entry: 'backward_sums' },
        { params: params(0), buffers: [dy.buffer, sums.buffer], workgroups: grid1d(M, 1) },
      );
      e.launch(
        { shader: 'minibatch_stddev', entry: 'backward_dx' },
        {
          params: params(dx.size),
          buffers: [x.buffer, dy.buffer, sums.buffer, dx.buffer],
          workgroups: grid1d(dx.size, 256),
        },
      );
    }
    sums.dispose();
    return [dx];
  });
}

/**
 * The fade-in blend (1 − α)·a + α·b of two tensors of one shape, α in [0, 1] passed to the kernel as a uniform (a
 * new α needs no new pipeline). α = 0 gives a and α = 1 gives b exactly. Gradients (1 − α)·g and α·g.
 */
export function fade(a: Tensor, b: Tensor, alpha: number): Tensor {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i]))
    throw new Error(`fade: a ${formatShape(a.shape)} and b ${formatShape(b.shape)} must have the same shape`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`fade: alpha must be a number in [0, 1], got ${alpha}`);
  const n = a.size;
  const params = shaderParams('fade', { n, alpha });
  const out = Tensor.empty(a.shape);
  if (n > 0)
    engine().launch(
      { shader: 'fade', entry: 'forward' },
      { params, buffers: [a.buffer, b.buffer, out.buffer], workgroups: grid1d(n, 256) },
    );
  return record(out, 'fade', [a, b], (dy) => {
    const da = Tensor.empty(a.shape);
    const db = Tensor.empty(b.shape);
    if (n > 0)
      engine().launch(
        { shader: 'fade', entry: 'backward' },
        { params, buffers: [dy.buffer, da.buffer, db.buffer], workgroups: grid1d(n, 256) },
      );
    return [a.requiresGrad ? da : (da.dispose(), null), b.requiresGrad ? db : (db.dispose(), null)];
  });
}

/** Values [start, start + count) of a tensor's flat data: D's outputs on one part of a batch it scored in one pass. */
export interface TensorPart {
  of: Tensor;
  start: number;
  count: number;
}

/** What a GAN step computed, for ganStepStats: D's loss and outputs (absent without a D step), G's loss. */
export interface GanStepParts {
  lossD: Tensor | null;
  /** D's outputs on the real batch and on the fakes (any shapes, or parts of one tensor; means over their values). */
  dReal: Tensor | TensorPart | null;
  dFake: Tensor | TensorPart | null;
  lossG: Tensor | null;
}

/** A whole tensor as a part, and a part's bounds checked. */
function asPart(t: Tensor | TensorPart, name: string): TensorPart {
  if (t instanceof Tensor) return { of: t, start: 0, count: t.size };
  if (!(Number.isInteger(t.start) && Number.isInteger(t.count) && t.start >= 0 && t.start + t.count <= t.of.size))
    throw new Error(
      `ganStepStats: ${name} [${t.start}, ${t.start + t.count}) is not inside ${formatShape(t.of.shape)}`,
    );
  return t;
}

/**
 * A step's statistics as one [4] tensor [lossD, lossG, E[s(dReal)], E[s(dFake)]], s = σ when `sigmoid` (D's outputs
 * are logits) else the identity; NaN where the step computed no such part. No gradient. One launch.
 */
export function ganStepStats(parts: GanStepParts, sigmoid: boolean): Tensor {
  const { lossD, dReal, dFake, lossG } = parts;
  const hasD = lossD !== null && dReal !== null && dFake !== null;
  if (!hasD && (lossD || dReal || dFake))
    throw new Error('ganStepStats: lossD, dReal and dFake come together (all three or none)');
  for (const [name, t] of [
    ['lossD', lossD],
    ['lossG', lossG],
  ] as const)
    if (t && t.size !== 1)
      throw new Error(`ganStepStats: ${name} must hold one value, got shape ${formatShape(t.shape)}`);
  const real = dReal && asPart(dReal, 'dReal');
  const fake = dFake && asPart(dFake, 'dFake');
  for (const [name, p] of [
    ['dReal', real],
    ['dFake', fake],
  ] as const)
    if (p && p.count === 0)
      throw new Error(
        p.of.size === 0
          ? `ganStepStats: ${name} ${formatShape(p.of.shape)} is empty`
          : `ganStepStats: ${name} [${p.start}, ${p.start}) of ${formatShape(p.of.shape)} is empty`,
      );
  const present = [lossD, lossG, real?.of ?? null, fake?.of ?? null].find((t) => t !== null);
  if (!present) return Tensor.fromArray(new Float32Array(4).fill(NaN));
  const out = Tensor.empty([4]);
  const bind = (t: Tensor | null) => (t ?? present).buffer; // an absent part's binding is not read
  engine().launch(
    { shader: 'gan_stats', constants: { HAS_D: hasD, HAS_G: lossG !== null, SIGMOID: sigmoid } },
    {
      params: shaderParams('gan_stats', {
        nReal: real?.count ?? 0,
        nFake: fake?.count ?? 0,
        nanBits: 0x7fc00000,
        realStart: real?.start ?? 0,
        fakeStart: fake?.start ?? 0,
      }),
      buffers: [bind(lossD), bind(lossG), bind(real?.of ?? null), bind(fake?.of ?? null), out.buffer],
      workgroups: [1, 1, 1],
    },
  );
  return out;
}
