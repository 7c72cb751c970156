/**
 * Batch normalization layers (torch.nn.BatchNorm1d / BatchNorm2d): affine γ (weight, init 1) and β (bias,
 * init 0), running statistics as buffers (running_mean 0, running_var 1, num_batches_tracked 0). In training
 * mode the batch statistics normalize and the running ones are updated with `momentum`; in eval mode the
 * running statistics normalize. num_batches_tracked is a float tensor here but saved as int64, as torch does.
 */
import { Tensor } from '../tensor/index.ts';
import { batchNorm, type BatchNormActivation } from '../tensor/norm.ts';
import { Module, type FusedActivation } from './module.ts';
import { LeakyReLU, ReLU } from './layers.ts';
import { formatShape } from '../tensor/shape.ts';
import { batchGroups } from './batch-groups.ts';

abstract class BatchNormBase extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  /** Weight of the batch statistics in the running ones (torch's `momentum`, changeable as in torch). */
  momentum: number;

  constructor(
    readonly numFeatures: number,
    readonly opts: { momentum?: number; eps?: number } = {},
  ) {
    super();
    if (!(Number.isInteger(numFeatures) && numFeatures > 0))
      throw new Error(`${this.constructor.name}: number of features must be a positive integer, got ${numFeatures}`);
    this.weight = this.registerParameter('weight', Tensor.ones([numFeatures]));
    this.bias = this.registerParameter('bias', Tensor.zeros([numFeatures]));
    this.runningMean = this.registerBuffer('running_mean', Tensor.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', Tensor.ones([numFeatures]));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', Tensor.zeros([]), 'I64');
    this.momentum = opts.momentum ?? 0.1;
    if (!(this.momentum >= 0 && this.momentum <= 1))
      throw new Error(`${this.constructor.name}: momentum must be in [0, 1], got ${this.momentum}`);
  }

  get eps(): number {
    return this.opts.eps ?? 1e-5;
  }

  override describe(): string {
    return `${this.constructor.name}(${this.numFeatures})`;
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(
        `${this.describe()}: input of shape ${formatShape(x.shape)} has ${x.shape[1]} channels in dimension 1, expected ${this.numFeatures}`,
      );
    }
    return this.forwardFused(x);
  }

  /**
   * The forward pass, optionally with the activation that follows in the same kernels (Sequential fuses a
   * BatchNorm followed by ReLU or LeakyReLU this way). In training the running statistics and
   * num_batches_tracked are updated by the statistics kernel itself. Inside withBatchGroups each group of the
   * batch is normalized by its own statistics, as separate calls would.
   */
  override forwardFused(x: Tensor, activation?: FusedActivation): Tensor {
    if (activation?.kind === 'tanh') return super.forwardFused(x, activation); // (fusableActivation never offers it)
    return batchNorm(x, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
      activation,
      numBatchesTracked: this.numBatchesTracked,
      groups: batchGroups(),
    });
  }

  /** The activation of `next` if this layer can compute it in its own kernels (ReLU, LeakyReLU), else null. */
  override fusableActivation(next: Module): BatchNormActivation | null {
    if (next instanceof ReLU) return { kind: 'relu' };
    if (next instanceof LeakyReLU) return { kind: 'leaky_relu', slope: next.negativeSlope };
    return null;
  }
}

/** Normalizes [N, C] or [N, C, L] inputs per channel C. */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.rank !== 2 && x.rank !== 3)
      throw new Error(`${this.describe()}: expected a 2-D [N, C] or 3-D [N, C, L] input, got ${formatShape(x.shape)}`);
  }
}

/** Normalizes [N, C, H, W] inputs per channel C. */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.rank !== 4)
      throw new Error(`${this.describe()}: expected a 4-D [N, C, H, W] input, got ${formatShape(x.shape)}`);
  }
}
