/**
 * Batch normalization over the channel axis (axis 1) of [N, C] or [N, C, H, W] tensors (also [N, C, L]),
 * with torch.nn.BatchNorm semantics. Kernels: shaders/batchnorm.wgsl.
 */
import { engine, grid1d, elementwiseGrid, ELEMENTS_PER_INVOCATION } from './engine.ts';
import { shaderParams } from './params.ts';
import { Tensor } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { formatShape } from './shape.ts';

export interface BatchNormOptions {
  /** Training mode normalises with the batch statistics and updates the running ones; eval uses the running ones. */
  training: boolean;
  /** Weight of the new batch statistic in the running average (torch momentum, default 0.1). */
  momentum?: number;
  eps?: number;
  /**
   * An activation applied in the same pass (the BatchNorm → ReLU / LeakyReLU pairs of the DCGAN nets): the output
   * is act(γ·x̂ + β), and the backward kernels fold act′ in, so the pair costs no extra launch either way.
   */
  activation?: BatchNormActivation;
  /** torch's num_batches_tracked (a one-element float tensor): training with running statistics adds 1 to it. */
  numBatchesTracked?: Tensor | null;
  /**
   * Batch statistics per group of N/groups consecutive images (default 1: the whole batch): the same values as
   * `groups` calls on the groups in turn — each normalized by its own mean and variance, the running statistics
   * updated once per group in order, num_batches_tracked counting each — in the launches of one call. Eval mode with
   * running statistics (the same statistics for every group) ignores it. The GAN trainer passes its real and fake
   * images through D this way.
   */
  groups?: number;
}

/** The activations batchNorm can fuse: ReLU, or LeakyReLU with its negative slope. */
export type BatchNormActivation = { kind: 'relu' } | { kind: 'leaky_relu'; slope: number };

const ACT_CODE = { none: 0, relu: 1, leaky_relu: 2 } as const;

/**
 * Whether the per-channel reductions (batch statistics, the backward sums) run one subgroup per channel
 * (batchnorm_sg.wgsl) instead of one workgroup per channel (batchnorm.wgsl); `enabled` off: batchnorm.wgsl
 * everywhere, for tests and A/Bs. Only on lavapipe, where it was measured (its barriers are what the workgroup
 * reduction pays for), and only with subgroups of one probed size that divides 64 (src/tensor/gpu.ts
 * probeSubgroupSize: runs of consecutive invocations).
 */
export const bnSubgroups = { enabled: true };

/** The shader and channels per workgroup of the per-channel reductions (see bnSubgroups). */
function reductionKernel(): { shader: 'batchnorm' | 'batchnorm_sg'; subs?: { SG: string }; channels: number } {
  const { slug, subgroupSize: SG } = engine().adapter;
  if (bnSubgroups.enabled && slug === 'lavapipe' && SG !== null && 64 % SG === 0)
    return { shader: 'batchnorm_sg', subs: { SG: String(SG) }, channels: 64 / SG };
  return { shader: 'batchnorm', channels: 1 };
}

/**
 * y = γ·(x − μ)/√(σ² + eps) + β per channel (then opts.activation, if given, in the same pass).
 *
 * Training: μ, σ² are the batch mean and biased variance over N·H·W values per channel, and the running
 * statistics are updated IN PLACE as running = (1 − momentum)·running + momentum·stat, using the UNBIASED
 * variance for runningVar (exactly as torch). Eval: μ, σ² are runningMean, runningVar.
 * gamma/beta may be null (affine=false); runningMean/runningVar may be null (track_running_stats=false), in
 * which case the batch statistics are used in both modes, as torch does. The running statistics are
 * buffers, never differentiated.
 */
export function batchNorm(
  x: Tensor,
  gamma: Tensor | null,
  beta: Tensor | null,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions,
): Tensor {
  if (x.rank < 2) throw new Error(`batchNorm: input must be [N, C] or [N, C, H, W], got shape ${formatShape(x.shape)}`);
  const [N, C] = x.shape;
  const HW = x.shape.slice(2).reduce((a, b) => a * b, 1);
  for (const [field, t] of [
    ['gamma', gamma],
    ['beta', beta],
    ['runningMean', runningMean],
    ['runningVar', runningVar],
  ] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) {
      throw new Error(
        `batchNorm: ${field} has shape ${formatShape(t.shape)} but input ${formatShape(x.shape)} has C=${C} channels (expected [${C}])`,
      );
    }
  }
  if ((gamma === null) !== (beta === null))
    throw new Error('batchNorm: gamma and beta must both be given or both be null');
  if ((runningMean === null) !== (runningVar === null))
    throw new Error('batchNorm: runningMean and runningVar must both be given or both be null');
  for (const [field, t] of [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
  ] as const) {
    if (t?.requiresGrad)
      throw new Error(`batchNorm: ${field} is a running-statistics buffer and must not require grad`);
  }
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  const useBatchStats = opts.training || runningMean === null;
  // Groups matter only for batch statistics; M counts one group's values per channel.
  const groupsAsked = opts.groups ?? 1;
  if (!Number.isInteger(groupsAsked) || groupsAsked < 1 || (useBatchStats && N % groupsAsked !== 0))
    throw new Error(
      `batchNorm: groups must be a positive integer that divides the batch, got ${groupsAsked} for input ${formatShape(x.shape)}`,
    );
  const groups = useBatchStats ? groupsAsked : 1;
  const M = (N / groups) * HW;
  if (useBatchStats && M <= 1) {
    throw new Error(
      `batchNorm: training needs more than 1 value per channel${groups > 1 ? ` in each of the ${groups} groups` : ''}, got input ${formatShape(x.shape)}`,
    );
  }
  const affine = gamma !== null;
  const activation = opts.activation;
  const slope = activation?.kind === 'leaky_relu' ? activation.slope : 0;
  if (!Number.isFinite(slope)) throw new Error(`batchNorm: the LeakyReLU slope must be finite, got ${slope}`);
  const ACT = ACT_CODE[activation?.kind ?? 'none'];

  const values = {
    C,
    HW,
    M,
    total: x.size,
    eps,
    momentum,
    unbias: M > 1 ? M / (M - 1) : 1,
    invM: 1 / M,
    slope,
    groups,
    groupTotal: Math.max(1, x.size / groups),
    sumsOff: groups > 1 ? groups * C : 0,
  };
  const params = shaderParams('batchnorm', values);
  // The per-channel reductions' kernel: the same Params, written for it.
  const red = reductionKernel();
  const redParams = red.shader === 'batchnorm' ? params : shaderParams(red.shader, values);
  const redGrid = grid1d(C, red.channels);
  const e = engine();
  // [3, groups·C]: mean, 1/√(var + eps), var per group and channel — the forward's statistics, kept for backward.
  const stats = Tensor.empty([3, groups * C]);
  const count = opts.numBatchesTracked ?? null;
  if (count && (count.size !== 1 || count.requiresGrad))
    throw new Error(`batchNorm: numBatchesTracked must be a one-element buffer, got shape ${formatShape(count.shape)}`);
  if (useBatchStats) {
    // One launch: the batch statistics and, in training with running statistics, their update and the count.
    const update = opts.training && runningMean !== null && runningVar !== null;
    // Bindings 3–5 the kernel does not write (no update, or no count) are bound to 4-byte scratch buffers: two
    // writable bindings of one buffer in one dispatch are not allowed.
    const scratch: GPUBuffer[] = [];
    const orScratch = (t: Tensor | null, used: boolean): GPUBuffer => {
      if (used && t) return t.buffer;
      scratch.push(e.alloc(4));
      return scratch[scratch.length - 1]!;
    };
    e.launch(
      {
        shader: red.shader,
        subs: red.subs,
        entry: 'batch_stats',
        constants: { UPDATE: update, COUNT: update && count !== null },
      },
      {
        params: redParams,
        buffers: [
          x.buffer,
          stats.buffer,
          orScratch(runningMean, update),
          orScratch(runningVar, update),
          orScratch(count, update),
        ],
        workgroups: redGrid,
      },
    );
    for (const b of scratch) e.free(b);
  } else {
    e.launch(
      { shader: 'batchnorm', entry: 'running_stats' },
      { params, buffers: [runningMean!.buffer, runningVar!.buffer, stats.buffer], workgroups: grid1d(C, 64) },
    );
  }

  const out = Tensor.empty(x.shape);
  // Without affine parameters the kernel ignores those bindings; any read-only buffer fills them.
  const gammaBuf = gamma?.buffer ?? stats.buffer;
  const betaBuf = beta?.buffer ?? stats.buffer;
  e.launch(
    { shader: 'batchnorm', entry: 'normalize', constants: { AFFINE: affine, ACT, PER: ELEMENTS_PER_INVOCATION } },
    { params, buffers: [x.buffer, stats.buffer, gammaBuf, betaBuf, out.buffer], workgroups: elementwiseGrid(x.size) },
  );

  const inputs = affine ? [x, gamma!, beta!] : [x];
  const recorded = record(out, activation ? `batchNorm+${activation.kind}` : 'batchNorm', inputs, (dy) => {
    const needParams = affine && (gamma!.requiresGrad || beta!.requiresGrad);
    // The training-mode dx needs Σdy and Σdy·x̂ too; they are dβ and dγ.
    const needSums = needParams || (x.requiresGrad && useBatchStats);
    let dgamma: Tensor | null = null;
    let dbeta: Tensor | null = null;
    // With groups, the sums are taken per group (backward_group_sums), which dx needs: [2, groups·C] into gs.
    const gs = needSums && groups > 1 ? Tensor.empty([2, groups * C]) : null;
    if (needSums) {
      dgamma = Tensor.empty([C]);
      dbeta = Tensor.empty([C]);
      const buffers = [x.buffer, stats.buffer, dy.buffer, dgamma.buffer, dbeta.buffer, gammaBuf, betaBuf];
      e.launch(
        {
          shader: red.shader,
          subs: red.subs,
          entry: gs ? 'backward_group_sums' : 'backward_sums',
          constants: { AFFINE: affine, ACT },
        },
        { params: redParams, buffers: gs ? [...buffers, gs.buffer] : buffers, workgroups: redGrid },
      );
    }
    let dx: Tensor | null = null;
    if (x.requiresGrad) {
      dx = Tensor.empty(x.shape);
      e.launch(
        {
          shader: 'batchnorm',
          entry: 'backward_dx',
          constants: { AFFINE: affine, TRAINING: useBatchStats, ACT, PER: ELEMENTS_PER_INVOCATION },
        },
        {
          params,
          buffers: [
            x.buffer,
            stats.buffer,
            dy.buffer,
            gammaBuf,
            gs?.buffer ?? dgamma?.buffer ?? stats.buffer,
            gs?.buffer ?? dbeta?.buffer ?? stats.buffer,
            dx.buffer,
            betaBuf,
          ],
          workgroups: elementwiseGrid(x.size),
        },
      );
    }
    gs?.dispose();
    if (!affine) {
      dgamma?.dispose();
      dbeta?.dispose();
      return [dx];
    }
    if (!gamma!.requiresGrad) {
      dgamma?.dispose();
      dgamma = null;
    }
    if (!beta!.requiresGrad) {
      dbeta?.dispose();
      dbeta = null;
    }
    return [dx, dgamma, dbeta];
  });
  if (!recorded.gradNode) stats.dispose();
  return recorded;
}
