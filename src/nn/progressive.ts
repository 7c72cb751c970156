/**
 * Layers of the growing GANs (ProGAN, MSG-GAN): pixelwise feature normalization, the minibatch standard-deviation
 * layer, and a list container for per-scale blocks. The ops are src/tensor/gan-ops.ts's kernels.
 */
import type { Tensor } from '../tensor/index.ts';
import { pixelNorm, minibatchStddev } from '../tensor/gan-ops.ts';
import { Module } from './module.ts';
import { refuseBatchGroups } from './batch-groups.ts';

/** x / √(mean over channels of x² + 1e-8) at every sample and position (ProGAN §4.2). No parameters. */
export class PixelNorm extends Module {
  forward(x: Tensor): Tensor {
    return pixelNorm(x);
  }
}

/**
 * Appends one channel: the standard deviation of each feature over a group of `groupSize` samples, averaged to one
 * value per group (ProGAN §3). A batch smaller than the group size forms one group; a larger one must be a multiple
 * of it (the op's error names both).
 */
export class MinibatchStdDev extends Module {
  constructor(readonly groupSize = 4) {
    super();
    if (!Number.isInteger(groupSize) || groupSize < 1)
      throw new Error(`MinibatchStdDev: group size must be an integer ≥ 1, got ${groupSize}`);
  }
  override describe(): string {
    return `MinibatchStdDev(group=${this.groupSize})`;
  }
  forward(x: Tensor): Tensor {
    refuseBatchGroups(this.describe());
    return minibatchStddev(x, Math.min(this.groupSize, x.shape[0] ?? 1));
  }
}

/** Holds modules under the names "0", "1", … (as torch.nn.ModuleList): a container, not a layer. */
export class ModuleList<M extends Module> extends Module {
  private readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.registerModule(String(i), m));
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList: no module ${i} (it has ${this.items.length})`);
    return m;
  }
  forward(_x: Tensor): Tensor {
    throw new Error('ModuleList is a container: call its modules');
  }
}
