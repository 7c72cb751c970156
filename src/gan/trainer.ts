/**
 * The adversarial trainer, shared by the CLI and the browser app.
 *
 * One call of `trainBatch(real)` is one discriminator step on that batch of real images and a fresh batch of
 * fakes; every `dStepsPerG`-th call is followed by a generator step. The loss (`loss`, ./losses.ts) is the
 * lesson's non-saturating BCE (G minimises −log D(G(z))) unless least squares, hinge or relativistic average hinge
 * is chosen. Options the lesson names for keeping the two players in balance:
 *   - separate learning rates for G and D (`lrG`, `lrD`);
 *   - skip the D step while D's last loss is below `dSkipBelow` (D is winning too easily);
 *   - k D steps per G step (`dStepsPerG`);
 *   - one-sided label smoothing: real targets `realLabel` (e.g. 0.9) instead of 1, fakes stay 0.
 * A schedule: with `lrDecayEnd` > 0 both learning rates fall linearly from their values at step `lrDecayStart` to
 * 0 at step `lrDecayEnd` (the schedule of Miyato et al. 2018, SNGAN), so the players settle instead of circling.
 * Progressive growing (model progan): the stage and fade α of each step follow from the images shown so far,
 * step·batchSize, and `growImages` (see `growthAt`), so a resumed run continues mid-fade exactly. MSG-GAN (msggan)
 * feeds every scale of G's output to D.
 * And one for the samples: `gEma` > 0 keeps an exponential moving average of G's weights (`Gema`, decay gEma
 * per G step) that sampling, grids and scores use instead of the last weights (see nn/ema.ts).
 *
 * Everything random is derived from (seed, step): the data order comes from (seed, epoch) in the caller and the
 * latent batches from (seed, step) here, so a run resumed from a checkpoint continues exactly as it would have.
 *
 * Reading losses back stalls the GPU, so `trainBatch` returns them as a small GPU tensor; the caller reads the
 * previous step's while the next one is being recorded (see `StepStats`).
 *
 * D's step scores the real batch and the fakes in one pass over both (`jointD`, for every kind but the growing
 * ones, whose minibatch stddev mixes samples): D's BatchNorm layers normalize each half by its own statistics
 * (withBatchGroups), so the outputs, the loss and the gradients are those of two passes, in about half the launches.
 */
import {
  TRAIN_NUMBER_OPTIONS,
  describeRange,
  inRange,
  type NumberRange,
  type TrainNumberField,
} from './train-options.ts';
import { Tensor, tidy, noGrad, concat, engine } from '../tensor/index.ts';
import { ganStepStats, type GanStepParts } from '../tensor/gan-ops.ts';
import { prepackConvWeights } from '../tensor/conv.ts';
import {
  GAN_LOSSES,
  discriminatorLoss,
  discriminatorLossJoint,
  jointTargets,
  generatorLoss,
  generatorLossNeedsReal,
  lossTakesRealLabel,
  type GanLossKind,
} from './losses.ts';
import {
  Adam,
  deriveSeed,
  saveCheckpoint,
  loadCheckpoint,
  readCheckpointMeta,
  checkpointModules,
  emaUpdate,
  copyModuleState,
  refreshBatchNormStats,
  withBatchGroups,
  type CheckpointMeta,
} from '../nn/index.ts';
import { CheckpointError, shortJson, isCount, nonFinite } from '../nn/checkpoint.ts';
import {
  buildGan,
  latentShape,
  ganSpec,
  isGrowing,
  growingTopChannels,
  largestFeatureMap,
  GAN_KINDS,
  GROWING_SIZES,
  type GanKind,
  type GanSpec,
} from './models.ts';
import { ProganGenerator, ProganDiscriminator, realsAt } from './progan.ts';
import { MsgGenerator, MsgDiscriminator } from './msggan.ts';
import { upsample2d } from '../tensor/index.ts';
import type { Module } from '../nn/index.ts';
import { formatShape } from '../tensor/shape.ts';

/** Latents whose batch statistics become the weight average's BatchNorm statistics. */
export const EMA_STATS_BATCH = 512;

export interface TrainOptions {
  batchSize: number;
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  /** D steps per G step (k). */
  dStepsPerG: number;
  /** Skip the D step while D's previous loss is below this (0 = never skip). */
  dSkipBelow: number;
  /** Target for real images in D's loss (1 = no smoothing, 0.9 = one-sided smoothing). */
  realLabel: number;
  /** Decay of the generator's weight average per G step (0 = no average; e.g. 0.999). */
  gEma: number;
  /** Linear learning-rate decay from step lrDecayStart (factor 1) to step lrDecayEnd (factor 0); lrDecayEnd 0 = none. */
  lrDecayStart: number;
  lrDecayEnd: number;
  seed: number;
  /**
   * The adversarial loss (./losses.ts): 'bce' (the lesson's non-saturating loss), 'lsgan', 'hinge' or 'rahinge'.
   * Absent means 'bce', so options written before the field existed (and checkpoints holding them) mean what they did.
   */
  loss?: GanLossKind;
  /**
   * progan: images shown in each phase of growing — stage 0 trains for growImages, then each later stage fades in
   * over growImages and trains at α = 1 for growImages more (the paper's 800k). Absent means the default.
   */
  growImages?: number;
}

export const DEFAULT_TRAIN_OPTIONS: Required<TrainOptions> = {
  batchSize: 128,
  lrG: 2e-4,
  lrD: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  dStepsPerG: 1,
  dSkipBelow: 0,
  realLabel: 1,
  gEma: 0,
  lrDecayStart: 0,
  lrDecayEnd: 0,
  seed: 1,
  loss: 'bce',
  growImages: 20_000,
};

/**
 * Losses of one step, still on the GPU: [lossD, lossG, mean D(x), mean D(G(z))] (NaN where a step was skipped). The
 * means are of σ(D's logit) for the 'bce' loss (D's probability that the image is real) and of D's raw output for the
 * other losses, whose D outputs are scores rather than logits.
 */
export interface GanStepResult {
  stats: Tensor;
  /**
   * The statistics on their way back: the copy is recorded right after the step and submitted with it, so the GPU
   * starts on this step while the caller records the next one. (Read after the next step was recorded, the copy
   * would come after that step too, and the wait would cover both: no overlap of host and GPU work.)
   */
  values?: Promise<Float32Array>;
  step: number;
  dSkipped: boolean;
  gStepped: boolean;
}

export interface StepStats {
  step: number;
  lossD: number;
  lossG: number;
  dReal: number;
  dFake: number;
  dSkipped: boolean;
  gStepped: boolean;
}

export function checkTrainOptions(o: TrainOptions): void {
  const bad = (field: string, why: string) => {
    throw new Error(`Invalid training option ${field}=${(o as unknown as Record<string, unknown>)[field]}: ${why}`);
  };
  // The ranges the CLI and the web page check too (./train-options.ts).
  for (const [field, range] of Object.entries(TRAIN_NUMBER_OPTIONS) as [TrainNumberField, NumberRange][]) {
    if (!inRange(range, o[field] ?? DEFAULT_TRAIN_OPTIONS[field]))
      bad(field, `must be ${describeRange(range)}${range.limit ? ` (${range.limit})` : ''}`);
  }
  if (!Number.isInteger(o.lrDecayStart) || o.lrDecayStart < 0) bad('lrDecayStart', 'must be an integer step ≥ 0');
  if (!Number.isInteger(o.lrDecayEnd) || (o.lrDecayEnd !== 0 && o.lrDecayEnd <= o.lrDecayStart))
    bad('lrDecayEnd', `must be 0 (no decay) or a step after lrDecayStart=${o.lrDecayStart}`);
  const loss = o.loss ?? 'bce';
  if (!GAN_LOSSES.includes(loss)) bad('loss', `must be one of ${GAN_LOSSES.join(', ')}`);
  if (o.realLabel !== 1 && !lossTakesRealLabel(loss))
    bad('realLabel', `label smoothing applies to loss bce or lsgan, not ${loss} (use 1)`);
}

/** The learning rates' factor at a step: 1 until lrDecayStart, then linearly down to 0 at lrDecayEnd (none: 1). */
export function learningRateFactor(o: Pick<TrainOptions, 'lrDecayStart' | 'lrDecayEnd'>, step: number): number {
  if (o.lrDecayEnd === 0 || step <= o.lrDecayStart) return 1;
  return Math.max(0, (o.lrDecayEnd - step) / (o.lrDecayEnd - o.lrDecayStart));
}

/**
 * Why more steps of a run at `step` would change nothing — its learning-rate decay has reached 0 — or null. `train
 * --resume` refuses such a run, the page loads it without training.
 */
export function decayEndedProblem(o: Pick<TrainOptions, 'lrDecayStart' | 'lrDecayEnd'>, step: number): string | null {
  if (learningRateFactor(o, step) !== 0) return null;
  return `the run's learning rates reached 0 at step ${o.lrDecayEnd} (lr decay ${o.lrDecayStart}:${o.lrDecayEnd}) and it is at step ${step}: more steps would change nothing`;
}

/** A step's result with its statistics' read-back started (see GanStepResult.values). */
function stepResult(stats: Tensor, step: number, dSkipped: boolean, gStepped: boolean): GanStepResult {
  const values = stats.toArray();
  values.catch(() => {}); // a failed read-back is reported by readStats, which awaits this same promise
  return { stats, values, step, dSkipped, gStepped };
}

/** The stage and fade of a progressive (progan) step; other kinds train at their full size (stage K, α 1). */
export interface Growth {
  stage: number;
  alpha: number;
}

/**
 * The stage and α of progressive growing after `images` images, with the last stage K and phases of L images:
 * stage 0 for the first L; then stage k (1 ≤ k ≤ K) from L + 2(k−1)L on, α rising linearly from 0 to 1 over its
 * first L images and staying 1 for the next L; after the last fade, stage K at α = 1 for good.
 */
export function growthAt(images: number, K: number, L: number): Growth {
  if (images < L || K === 0) return { stage: 0, alpha: 1 };
  const k = Math.floor((images - L) / (2 * L)) + 1;
  if (k > K) return { stage: K, alpha: 1 };
  return { stage: k, alpha: Math.min(1, (images - L - 2 * (k - 1) * L) / L) };
}

/**
 * Whether D's joint pass over n reals and n fakes fits the adapter: its feature maps of 2n images must fit one buffer
 * binding of `limit` bytes (a batch the CLI accepts is only checked for n). Otherwise D scores them in two passes.
 */
export function jointPassFits(spec: GanSpec, n: number, limit: number): boolean {
  return 4 * largestFeatureMap(spec, 2 * n) <= limit;
}

export class GanTrainer {
  readonly spec: GanSpec;
  readonly opts: TrainOptions;
  readonly G: Module;
  readonly D: Module;
  readonly optG: Adam;
  readonly optD: Adam;
  /** The generator's weight average (options.gEma > 0), else null. */
  readonly Gema: Module | null;
  /** Which generator `generate` (grids, samples, scores) uses: the average when there is one, or the trained one. */
  sampleFrom: 'ema' | 'raw';
  /** The checkpoint module `generate` draws from: G_ema (the weight average) or G. */
  get sampledModule(): 'G' | 'G_ema' {
    return this.Gema && this.sampleFrom === 'ema' ? 'G_ema' : 'G';
  }
  /** Gema's BatchNorm statistics predate its last update: measure them again before it is used. */
  private emaStatsStale = true;
  /** Number of trainBatch calls so far (D steps attempted). */
  step = 0;
  /** Epochs completed (kept by the caller, saved in checkpoints). */
  epoch = 0;
  /** D's loss as last read back; drives the skip rule. */
  lastLossD = Infinity;
  /**
   * D's step scores the real batch and the fakes in one pass of twice the batch, its BatchNorm in two groups (see the
   * file's header): on for the kinds whose D mixes samples only in BatchNorm (all but progan and msggan; a new layer
   * that mixes samples must refuse batch groups, refuseBatchGroups, or turn this off for its kind), where the 2n
   * images' feature maps fit a buffer (jointPassFits). Turned off, D scores them in two passes; the results are the
   * same up to float rounding.
   */
  jointD: boolean;
  /** bce's targets for the joint pass (realLabel for the reals, 0 for the fakes), kept between steps. */
  private dTargets: { n: number; label: number; t: Tensor } | null = null;

  constructor(spec: GanSpec, opts: Partial<TrainOptions> = {}) {
    this.spec = spec;
    this.opts = { ...DEFAULT_TRAIN_OPTIONS, ...opts };
    checkTrainOptions(this.opts);
    const { G, D } = buildGan(spec, this.opts.seed);
    this.G = G;
    this.D = D;
    this.Gema = null;
    if (this.opts.gEma > 0) {
      const twin = buildGan(spec, this.opts.seed); // same architecture; only its G is kept
      twin.D.dispose();
      this.Gema = twin.G;
      copyModuleState(this.Gema, G);
      this.Gema.eval();
    }
    this.sampleFrom = this.Gema ? 'ema' : 'raw';
    this.jointD = !isGrowing(spec.kind);
    this.optG = new Adam(G.parameters(), { lr: this.opts.lrG, betas: [this.opts.beta1, this.opts.beta2] });
    this.optD = new Adam(D.parameters(), { lr: this.opts.lrD, betas: [this.opts.beta1, this.opts.beta2] });
    // No option sets these: a checkpoint that does (another program's) is refused, not trained on as it says.
    for (const opt of [this.optG, this.optD]) opt.pinned = ['eps', 'weight_decay'];
  }

  /** A latent batch from the seed of a given stream and index (deterministic). */
  latent(n: number, stream: string, index: number): Tensor {
    return Tensor.randn(latentShape(this.spec, n), { seed: deriveSeed(this.opts.seed, `${stream}:${index}`) });
  }

  private setRequiresGrad(m: Module, on: boolean): void {
    for (const p of m.parameters()) p.requiresGrad = on;
  }

  /**
   * One D step on `real` ([N, C, H, W] in [-1, 1], as a tensor or flat data) and, every dStepsPerG calls, one G
   * step. Returns the step's statistics as a GPU tensor.
   */
  trainBatch(real: Tensor | Float32Array): GanStepResult {
    const n = this.batchCount(real);
    const { channels: c, size } = this.spec;
    const step = this.beginStep();
    const dSkipped = this.opts.dSkipBelow > 0 && this.lastLossD < this.opts.dSkipBelow;
    const gStepped = (step + 1) % this.opts.dStepsPerG === 0;
    const stats = tidy(() => {
      const x = real instanceof Tensor ? real : Tensor.fromArray(real, [n, c, size, size]);
      this.G.train();
      this.D.train();
      const dParts = dSkipped ? NO_D_STEP : this.discriminatorUpdate(x, n, step);
      const lossG = gStepped ? this.generatorUpdate(n, step, x) : null;
      return this.packStats(dParts, lossG);
    });
    this.freeGradients();
    return stepResult(stats, step, dSkipped, gStepped);
  }

  /**
   * One D step only (the browser's "step D" button): like trainBatch without the G step and without the skip
   * rule, since the user asked for exactly this step. Counts as a step (new latents next time).
   */
  trainDiscriminatorStep(real: Tensor | Float32Array): GanStepResult {
    const n = this.batchCount(real);
    const { channels: c, size } = this.spec;
    const step = this.beginStep();
    const stats = tidy(() => {
      const x = real instanceof Tensor ? real : Tensor.fromArray(real, [n, c, size, size]);
      this.G.train();
      this.D.train();
      return this.packStats(this.discriminatorUpdate(x, n, step), null);
    });
    this.freeGradients();
    return stepResult(stats, step, false, false);
  }

  /**
   * One G step only on a fresh latent batch of `n` (the browser's "step G" button). Counts as a step. The 'rahinge'
   * loss judges G's fakes against D's outputs on real images, so it needs a real batch (`real`, of any size ≥ 2);
   * the other losses ignore one.
   */
  trainGeneratorStep(n: number, real?: Tensor | Float32Array): GanStepResult {
    if (!Number.isInteger(n) || n < 2)
      throw new Error(`trainGeneratorStep: batch size must be an integer ≥ 2, got ${n}`);
    const needsReal = generatorLossNeedsReal(this.loss);
    if (needsReal && real === undefined)
      throw new Error(`trainGeneratorStep: the ${this.loss} loss needs a batch of real images for G's step`);
    const m = needsReal ? this.batchCount(real!) : 0;
    const step = this.beginStep();
    const stats = tidy(() => {
      const { channels: c, size } = this.spec;
      const x = !needsReal ? null : real instanceof Tensor ? real : Tensor.fromArray(real!, [m, c, size, size]);
      this.G.train();
      this.D.train();
      return this.packStats(NO_D_STEP, this.generatorUpdate(n, step, x));
    });
    this.freeGradients();
    return stepResult(stats, step, true, true);
  }

  /** Counts a step and sets both optimizers' rates for it from the options (read at every step, so they may change). */
  private beginStep(): number {
    const step = this.step++;
    this.applyLearningRates(step);
    this.applyGrowth(this.growthOf(step));
    return step;
  }

  /** The stage and α of a step (progan: from the images shown before it; other kinds: the full size). */
  growthOf(step: number): Growth {
    const K = Math.log2(this.spec.size / 4);
    if (this.spec.kind !== 'progan') return { stage: Number.isInteger(K) ? K : 0, alpha: 1 };
    const o = { ...DEFAULT_TRAIN_OPTIONS, ...this.opts };
    return growthAt(step * o.batchSize, K, o.growImages);
  }

  /** The stage and α the nets are at: the last step's (what samples, scores and checkpoints show). */
  get growth(): Growth {
    return this.growthOf(Math.max(0, this.step - 1));
  }

  private applyGrowth(g: Growth): void {
    for (const m of [this.G, this.D, this.Gema])
      if (m instanceof ProganGenerator || m instanceof ProganDiscriminator) m.setGrowth(g.stage, g.alpha);
  }

  /** G's fakes for D: one image batch, or (msggan) every scale. */
  private fakes(z: Tensor): Tensor | Tensor[] {
    return this.G instanceof MsgGenerator ? this.G.forwardScales(z) : this.G.forward(z);
  }

  /** D's outputs on fakes from `fakes`. */
  private scoreFakes(f: Tensor | Tensor[]): Tensor {
    if (Array.isArray(f)) return (this.D as MsgDiscriminator).forwardScales(f);
    return this.D.forward(f);
  }

  /** D's outputs on full-size real images (progan: pooled to the stage and faded as G's output is; msggan: its pyramid). */
  private scoreReals(x: Tensor): Tensor {
    if (this.D instanceof ProganDiscriminator) return this.D.forward(realsAt(x, this.D.stage, this.D.alpha));
    return this.D.forward(x);
  }

  private applyLearningRates(step: number): void {
    const f = learningRateFactor(this.opts, step);
    this.optG.lr = this.opts.lrG * f;
    this.optD.lr = this.opts.lrD * f;
  }

  /** Number of images in a real batch, checking its shape against the model. */
  private batchCount(real: Tensor | Float32Array): number {
    const { channels: c, size } = this.spec;
    const n = real instanceof Tensor ? real.shape[0] : real.length / (c * size * size);
    if (!Number.isInteger(n) || n < 2)
      throw new Error(
        `trainBatch: a batch of ${real instanceof Tensor ? `shape [${real.shape}]` : `${real.length} values`} is not N×${c}×${size}×${size} images with N ≥ 2`,
      );
    if (real instanceof Tensor && real.shape.join() !== [n, c, size, size].join()) {
      throw new Error(
        `trainBatch: real images have shape ${formatShape(real.shape)}, the model needs [N, ${c}, ${size}, ${size}]`,
      );
    }
    return n;
  }

  /** The adversarial loss in use (options written before `loss` existed mean 'bce'). */
  get loss(): GanLossKind {
    return this.opts.loss ?? 'bce';
  }

  /**
   * D step: minimise D's part of the loss (for 'bce': maximise log D(x) + log(1 − D(G(z)))), fakes detached from G.
   * Returns the loss and D's outputs on the real batch and on the fakes, for the step's statistics.
   */
  private discriminatorUpdate(x: Tensor, n: number, step: number): DStepParts {
    if (this.jointD && jointPassFits(this.spec, n, engine().maxTensorBytes))
      return this.discriminatorUpdateJoint(x, n, step);
    const fake = noGrad(() => this.fakes(this.latent(n, 'd', step)));
    this.optD.zeroGrad();
    const dReal = this.scoreReals(x);
    const dFake = this.scoreFakes(fake);
    const lossD = discriminatorLoss(this.loss, dReal, dFake, this.opts.realLabel);
    lossD.backward();
    this.optD.step();
    prepackConvWeights(this.D.parameters());
    return { lossD, dReal, dFake };
  }

  /** The D step with one pass of D over [x; G(z)], BatchNorm in two groups: reals, then fakes, as two passes would. */
  private discriminatorUpdateJoint(x: Tensor, n: number, step: number): DStepParts {
    const targets = this.loss === 'bce' ? this.jointTargetsFor(n) : null; // uploaded before the step's launches
    const both = noGrad(() => concat([x, this.G.forward(this.latent(n, 'd', step))]));
    this.optD.zeroGrad();
    const out = withBatchGroups(2, () => this.D.forward(both));
    const lossD = discriminatorLossJoint(this.loss, out, n, this.opts.realLabel, targets);
    lossD.backward();
    this.optD.step();
    prepackConvWeights(this.D.parameters());
    const half = out.size / 2;
    return { lossD, dReal: { of: out, start: 0, count: half }, dFake: { of: out, start: half, count: half } };
  }

  private jointTargetsFor(n: number): Tensor {
    const label = this.opts.realLabel;
    if (this.dTargets && (this.dTargets.n !== n || this.dTargets.label !== label)) {
      this.dTargets.t.dispose();
      this.dTargets = null;
    }
    this.dTargets ??= { n, label, t: jointTargets(n, label).keep() };
    return this.dTargets.t;
  }

  /**
   * [lossD, lossG, mean D(x), mean D(G(z))] in one launch (see GanStepResult for what the means are of: σ of the
   * logits for 'bce', the raw outputs otherwise); NaN for a part the step skipped.
   */
  private packStats(d: DStepParts, lossG: Tensor | null): Tensor {
    return noGrad(() => ganStepStats({ ...d, lossG }, this.loss === 'bce'));
  }

  /**
   * G step: minimise G's part of the loss (for 'bce' the non-saturating −log D(G(z))); D's weights are not updated
   * (no grads computed for them). The 'rahinge' loss also runs D on the real batch `x` (after the fakes; in training
   * mode, as in D's step). Returns [lossG].
   */
  private generatorUpdate(n: number, step: number, x: Tensor | null): Tensor {
    this.setRequiresGrad(this.D, false);
    try {
      this.optG.zeroGrad();
      const out = this.scoreFakes(this.fakes(this.latent(n, 'g', step)));
      const dReal = generatorLossNeedsReal(this.loss) ? noGrad(() => this.scoreReals(x!)) : null;
      const lossG = generatorLoss(this.loss, out, dReal);
      lossG.backward();
      this.optG.step();
      prepackConvWeights(this.G.parameters());
      if (this.Gema) {
        emaUpdate(this.Gema, this.G, this.opts.gEma);
        this.emaStatsStale = true;
      }
      return lossG.reshape([1]);
    } finally {
      this.setRequiresGrad(this.D, true);
    }
  }

  /** Parameter gradients are not needed after the updates: free them now rather than at the next step. */
  private freeGradients(): void {
    this.optD.zeroGrad();
    this.optG.zeroGrad();
  }

  /** True when a step's losses are not finite where they were computed (training has diverged). */
  static diverged(s: StepStats): boolean {
    return (!s.dSkipped && !Number.isFinite(s.lossD)) || (s.gStepped && !Number.isFinite(s.lossG));
  }

  /** Reads a step's statistics back (awaiting GPU work) and updates the skip rule. Disposes `r.stats`. */
  async readStats(r: GanStepResult): Promise<StepStats> {
    const [lossD, lossG, dReal, dFake] = await (r.values ?? r.stats.toArray());
    r.stats.dispose();
    if (!r.dSkipped) this.lastLossD = lossD;
    return { step: r.step, lossD, lossG, dReal, dFake, dSkipped: r.dSkipped, gStepped: r.gStepped };
  }

  /**
   * `n` generated images as flat values (eval mode), from latents drawn in chunks of 250 with seeds derived from
   * `seed` — the samples `eval` scores, so a score taken during training equals `eval` on that step's checkpoint.
   */
  async sampleValues(n: number, seed: number, from: 'ema' | 'raw' = this.sampleFrom): Promise<Float32Array> {
    const { channels, size } = this.spec;
    const out = new Float32Array(n * channels * size * size);
    for (let i = 0; i < n; i += 250) {
      const m = Math.min(250, n - i);
      const z = Tensor.randn(latentShape(this.spec, m), { seed: deriveSeed(seed, i) });
      const x = this.generate(z, from);
      z.dispose();
      out.set(await x.toArray(), i * channels * size * size);
      x.dispose();
    }
    return out;
  }

  /**
   * The non-finite values among the first `n` (at most 16) fixed-latent samples, or null when all are finite:
   * weights or BatchNorm statistics that are finite but overflow (a running mean of −3e38 passes a checkpoint's
   * checks) draw NaN, which a grid shows as noise and a score rates. `eval`, `sample` and the GAN page check a
   * loaded checkpoint with it.
   */
  async nonFiniteSamples(n = 16): Promise<{ count: number; first: number; of: number } | null> {
    const z = this.fixedLatent(Math.max(1, Math.min(16, n)));
    const x = this.generate(z);
    const values = await x.toArray();
    for (const t of [z, x]) t.dispose();
    const bad = nonFinite(values);
    return bad && { ...bad, of: values.length };
  }

  /**
   * Generator output for `z` in eval mode (running BatchNorm statistics), as [N, C, H, W] in [-1, 1]; from the
   * weight average when there is one and `from` (default `sampleFrom`) is 'ema'.
   */
  generate(z: Tensor, from: 'ema' | 'raw' = this.sampleFrom): Tensor {
    return this.drawWith(from, (G) => this.fullSize(G.forward(z)));
  }

  /**
   * Generator output for `z` at every scale it draws, coarsest first, each upsampled (nearest) to the model's size:
   * an msggan's 4×4 … size×size images (its G emits all of them), or the one image of the other kinds (as
   * `generate`). Eval mode; from the weight average as `generate` chooses.
   */
  generateScales(z: Tensor, from: 'ema' | 'raw' = this.sampleFrom): Tensor[] {
    return this.drawWith(from, (G) =>
      G instanceof MsgGenerator ? G.forwardScales(z).map((x) => this.fullSize(x)) : [this.fullSize(G.forward(z))],
    );
  }

  /**
   * Runs `draw` on the generator samples come from, without gradients, at the current stage: the weight average
   * (its BatchNorm statistics measured for it) when there is one and `from` is 'ema', else G in eval mode.
   */
  private drawWith<T>(from: 'ema' | 'raw', draw: (G: Module) => T): T {
    this.applyGrowth(this.growth);
    if (this.Gema && from === 'ema') {
      this.refreshEmaStats();
      const Gema = this.Gema;
      return noGrad(() => draw(Gema));
    }
    return noGrad(() => {
      this.G.eval();
      try {
        return draw(this.G);
      } finally {
        this.G.train();
      }
    });
  }

  /** A progan stage's images upsampled (nearest) to the model's size, so grids and scores see one size. */
  private fullSize(images: Tensor): Tensor {
    const side = images.shape[2]!;
    if (side === this.spec.size) return images;
    const out = upsample2d(images, this.spec.size / side);
    images.dispose();
    return out;
  }

  /**
   * Measures the weight average's BatchNorm statistics on a fixed batch of EMA_STATS_BATCH latents (only when it
   * changed since the last time): the trained G's running statistics do not fit the averaged weights.
   */
  private refreshEmaStats(): void {
    const Gema = this.Gema;
    if (!Gema || !this.emaStatsStale) return;
    if (Gema.namedBuffers().length === 0) return void (this.emaStatsStale = false); // no BatchNorm (the growing nets)
    tidy(() => refreshBatchNormStats(Gema, () => Gema.forward(this.latent(EMA_STATS_BATCH, 'ema-stats', 0))));
    Gema.eval();
    this.emaStatsStale = false;
  }

  /** Discriminator outputs for full-size images `x` in eval mode (running BatchNorm statistics), as [N, 1]. */
  discriminate(x: Tensor): Tensor {
    this.applyGrowth(this.growth);
    return noGrad(() => {
      this.D.eval();
      try {
        return tidy(() => this.scoreReals(x));
      } finally {
        this.D.train();
      }
    });
  }

  /**
   * G's fakes for `z` as a training step hands them to D (progan: the image at its stage's own size; msggan: every
   * scale, coarsest first; the other kinds: the image), and D's logits of them as that step scores fakes — not as
   * `discriminate` scores full-size images. Eval mode, no gradients, the generator samples come from.
   * `sample --tensors` writes them for tools/pytorch/check_checkpoint.py.
   */
  fakesAndScores(z: Tensor, from: 'ema' | 'raw' = this.sampleFrom): { fakes: Tensor[]; logits: Tensor } {
    const fakes = this.drawWith(from, (G) => (G instanceof MsgGenerator ? G.forwardScales(z) : [G.forward(z)]));
    const logits = noGrad(() => {
      this.D.eval();
      try {
        return this.scoreFakes(this.D instanceof MsgDiscriminator ? fakes : fakes[0]!);
      } finally {
        this.D.train();
      }
    });
    return { fakes, logits };
  }

  /** A fixed latent batch for sample grids: the same images at every epoch and after a resume. */
  fixedLatent(n: number): Tensor {
    return this.latent(n, 'fixed', 0);
  }

  /** Spherical interpolation between two seeded latent vectors in `steps` steps → [steps, ...latent]. */
  async interpolationLatents(steps: number, seedA = 1, seedB = 2): Promise<Tensor> {
    const shape = latentShape(this.spec, 1);
    const a = Tensor.randn(shape, { seed: deriveSeed(this.opts.seed, `interp:${seedA}`) });
    const b = Tensor.randn(shape, { seed: deriveSeed(this.opts.seed, `interp:${seedB}`) });
    const [va, vb] = [await a.toArray(), await b.toArray()];
    a.dispose();
    b.dispose();
    const out = new Float32Array(steps * va.length);
    for (let i = 0; i < steps; i++) out.set(slerp(va, vb, steps === 1 ? 0 : i / (steps - 1)), i * va.length);
    return Tensor.fromArray(out, latentShape(this.spec, steps));
  }

  checkpointMeta(extra: Record<string, unknown> = {}): CheckpointMeta {
    return {
      model: this.spec,
      step: this.step,
      epoch: this.epoch,
      lastLossD: Number.isFinite(this.lastLossD) ? this.lastLossD : null,
      options: this.opts,
      ...(this.spec.kind === 'progan' ? { growth: this.growth } : {}),
      ...extra,
    };
  }

  /**
   * Encodes G, D, both optimizers and the counters as one safetensors checkpoint, and the weight average as
   * module G_ema (its BatchNorm statistics measured first, so it loads into torch ready for eval mode).
   */
  async saveCheckpoint(extra: Record<string, unknown> = {}): Promise<Uint8Array> {
    this.refreshEmaStats();
    const modules: Record<string, Module> = { G: this.G, D: this.D };
    if (this.Gema) modules.G_ema = this.Gema;
    return saveCheckpoint(modules, { optG: this.optG, optD: this.optD }, this.checkpointMeta(extra));
  }

  /**
   * Restores everything saveCheckpoint wrote; the checkpoint must be of the same model. A checkpoint without a
   * weight average (a run that starts averaging on resume) starts the average from the loaded G.
   */
  loadCheckpoint(bytes: Uint8Array, file?: string): CheckpointMeta {
    const modules: Record<string, Module> = { G: this.G, D: this.D };
    const averaged = this.Gema !== null && checkpointModules(bytes, file).includes('G_ema');
    if (averaged) modules.G_ema = this.Gema!;
    // Checks metadata, keys, shapes, dtypes and that every value is finite before anything is written.
    const meta = loadCheckpoint(bytes, modules, { optG: this.optG, optD: this.optD }, { model: this.spec, file });
    if (this.Gema && !averaged) copyModuleState(this.Gema, this.G);
    this.emaStatsStale = !averaged;
    this.step = meta.step ?? 0;
    this.epoch = meta.epoch ?? 0;
    this.lastLossD = typeof meta.lastLossD === 'number' ? meta.lastLossD : Infinity;
    // The options, not the saved optimizers, set the rates (a resume may have changed lrG/lrD or the schedule) and
    // the betas (a file whose optimizers disagree with its own options would otherwise train on with the former
    // while config.json reports the latter).
    this.applyLearningRates(this.step);
    for (const opt of [this.optG, this.optD]) opt.betas = [this.opts.beta1, this.opts.beta2];
    this.applyGrowth(this.growth);
    return meta;
  }

  dispose(): void {
    this.dTargets?.t.dispose();
    this.dTargets = null;
    this.Gema?.dispose();
    this.G.dispose();
    this.D.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}

/** What a D step leaves for the statistics (all null: no D step). */
type DStepParts = Pick<GanStepParts, 'lossD' | 'dReal' | 'dFake'>;
const NO_D_STEP: DStepParts = { lossD: null, dReal: null, dFake: null };

const at = (file: string | undefined) => (file ? `checkpoint ${file}:` : 'checkpoint:');

/** Bounds of a checkpoint's model description: beyond them a checkpoint is refused before any buffer is made. */
export const SPEC_LIMITS = { zDim: 4096, width: 512, weightValues: 2 ** 25 } as const;

/** Values in the largest weight of a spec's nets (models.ts's layer sizes), computed without building them. */
export function largestWeight(s: GanSpec): number {
  if (s.kind === 'dense') return Math.max(s.zDim * 256, 1024 * 784);
  if (s.kind === 'dcgan') return Math.max(s.zDim * 256 * 9, 256 * 128 * 9, 128 * 256 * 16);
  if (isGrowing(s.kind)) {
    // G's first layer zDim×c×4×4; D's last block: a 3×3 conv from c + 1 channels (the minibatch stddev's) to c, then
    // c×c×4×4 (MSG-GAN's default combine, φ_lin, keeps each block's input at its own channel count)
    const c = growingTopChannels(s);
    return Math.max(s.zDim * c * 16, c * c * 16, (c + 1) * c * 9);
  }
  const top = (s.width ?? 64) * 2 ** (Math.log2(s.size / 4) - 1); // channels of G's first / D's last feature map
  return Math.max(s.zDim * top * 16, top * (top / 2) * 16);
}

/**
 * The model description of a checkpoint's metadata, checked field by field (kind, zDim, channels, size, width)
 * against what `ganSpec` builds for that kind, before a model is allocated from it.
 */
export function checkGanSpec(value: unknown, file?: string): GanSpec {
  const bad = (field: string, why: string, v: unknown): never => {
    throw new CheckpointError(`${at(file)} meta.model.${field} ${why}, got ${shortJson(v)}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CheckpointError(
      `${at(file)} meta.model must be the GAN's model description (an object), got ${shortJson(value)} (was it written by the GAN trainer?)`,
    );
  const m = value as Record<string, unknown>;
  if (!GAN_KINDS.includes(m.kind as GanKind)) bad('kind', `must be one of ${GAN_KINDS.join(', ')}`, m.kind);
  const kind = m.kind as GanKind;
  const intIn = (field: string, lo: number, hi: number) => {
    const v = m[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
      bad(field, `must be an integer in [${lo}, ${hi}]`, v);
    return v as number;
  };
  const zDim = intIn('zDim', 1, SPEC_LIMITS.zDim);
  const growing = isGrowing(kind);
  const hasWidth = kind === 'dcgan32' || kind === 'dcgan64' || growing;
  const channels = hasWidth ? intIn('channels', 1, 3) : intIn('channels', 1, 1);
  if (channels === 2) bad('channels', 'must be 1 or 3', channels);
  const width = hasWidth ? intIn('width', 1, SPEC_LIMITS.width) : undefined;
  if (!hasWidth && m.width !== undefined) bad('width', `must be absent for ${kind}`, m.width);
  if (growing && !GROWING_SIZES.includes(m.size as number))
    bad('size', `must be one of ${GROWING_SIZES.join(', ')} for ${kind}`, m.size);
  const spec = ganSpec(kind, { zDim, channels, width, ...(growing ? { size: m.size as number } : {}) });
  if (m.size !== spec.size) bad('size', `must be ${spec.size} for ${kind}`, m.size);
  const largest = largestWeight(spec);
  if (largest > SPEC_LIMITS.weightValues)
    bad(
      hasWidth ? 'width' : 'zDim',
      `gives a weight of ${largest} values (zDim ${zDim}${hasWidth ? `, width ${width}` : ''}), more than the ${SPEC_LIMITS.weightValues} one buffer may hold`,
      hasWidth ? width : zDim,
    );
  if (growing && JSON.stringify(m.stageWidths) !== JSON.stringify(spec.stageWidths))
    bad(
      'stageWidths',
      `must be ${JSON.stringify(spec.stageWidths)}, the channel plan of width ${width} at ${spec.size} px (a checkpoint without it was written under the earlier plan and cannot be loaded)`,
      m.stageWidths ?? null,
    );
  const extra = Object.keys(m).filter((k) => !(k in spec));
  if (extra.length) bad(extra[0], `is not a field of a ${kind} model description`, m[extra[0]]);
  return spec;
}

/** The training options saved in a checkpoint: known fields only, each a finite number, valid together. */
export function checkSavedOptions(value: unknown, file?: string): Partial<TrainOptions> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CheckpointError(`${at(file)} meta.options must be an object, got ${shortJson(value)}`);
  const o = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (!(k in DEFAULT_TRAIN_OPTIONS))
      throw new CheckpointError(`${at(file)} meta.options.${k} is not a training option`);
    if (k === 'loss') {
      if (!GAN_LOSSES.includes(v as GanLossKind))
        throw new CheckpointError(
          `${at(file)} meta.options.loss must be one of ${GAN_LOSSES.join(', ')}, got ${shortJson(v)}`,
        );
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new CheckpointError(`${at(file)} meta.options.${k} must be a finite number, got ${shortJson(v)}`);
  }
  if (o.seed !== undefined && !isCount(o.seed))
    throw new CheckpointError(`${at(file)} meta.options.seed must be a non-negative integer, got ${shortJson(o.seed)}`);
  try {
    checkTrainOptions({ ...DEFAULT_TRAIN_OPTIONS, ...(o as Partial<TrainOptions>) });
  } catch (e) {
    throw new CheckpointError(`${at(file)} meta.options: ${(e as Error).message}`);
  }
  return o as Partial<TrainOptions>;
}

/**
 * Reads the model spec and options stored in a checkpoint (to rebuild the trainer before loading it), all of
 * the metadata checked first: a model out of bounds, a step that is not a count, an unknown option are refused
 * with the file and the field named, before anything is allocated.
 */
export function checkpointSpec(
  bytes: Uint8Array,
  file?: string,
): {
  spec: GanSpec;
  options: Partial<TrainOptions>;
  meta: CheckpointMeta;
} {
  const meta = readCheckpointMeta(bytes, file);
  const spec = checkGanSpec(meta.model, file);
  // A few kilobytes claiming a large model would have it allocated before its tensors are looked at: the file
  // must hold at least the model's largest weight (float32, the only dtype weights are loaded from).
  const largest = largestWeight(spec);
  if (largest * 4 > bytes.length)
    throw new CheckpointError(
      `${at(file)} meta.model describes a ${spec.kind}${spec.width ? ` of width ${spec.width}` : ''} model whose largest weight alone is ${largest} float32 values (${largest * 4} bytes), more than the file's ${bytes.length} bytes: the file is not that model's checkpoint`,
    );
  const options = checkSavedOptions(meta.options, file);
  if (spec.kind === 'progan') checkSavedGrowth(meta, spec, options, file);
  return { spec, options, meta };
}

/**
 * A progan checkpoint's meta.growth: the stage and α its step, batch size and growImages give (the nets are set from
 * those on load; tools/pytorch/check_checkpoint.py runs them at the recorded ones), so a record that is missing,
 * malformed or of another schedule means the file was not written as it claims.
 */
function checkSavedGrowth(meta: CheckpointMeta, spec: GanSpec, options: Partial<TrainOptions>, file?: string): void {
  const o = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  const step = meta.step ?? 0;
  const want = growthAt(Math.max(0, step - 1) * o.batchSize, Math.log2(spec.size / 4), o.growImages);
  const g = meta.growth;
  const fields = typeof g === 'object' && g !== null && !Array.isArray(g) ? (g as Record<string, unknown>) : null;
  if (!fields || Object.keys(fields).length !== 2 || fields.stage !== want.stage || fields.alpha !== want.alpha)
    throw new CheckpointError(
      `${at(file)} meta.growth must be the stage and α of its step (${shortJson(want)} at step ${step}, batch ${o.batchSize}, growImages ${o.growImages}), got ${shortJson(g)}`,
    );
}

/**
 * slerp(a, b; t) = sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b, Ω the angle between a and b: it keeps the norm of
 * Gaussian latents (a straight line through the origin region would shrink it). Linear when a ∥ b.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb)));
  const omega = Math.acos(cos);
  const so = Math.sin(omega);
  const [wa, wb] = so < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / so, Math.sin(t * omega) / so];
  return Float32Array.from(a, (v, i) => wa * v + wb * b[i]);
}
