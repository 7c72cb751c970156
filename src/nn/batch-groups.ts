/**
 * Batch groups: a forward pass over a batch made of G equal runs of consecutive samples that layers with batch
 * statistics treat as G separate batches. The GAN trainer passes its real images and its fakes through D together
 * this way (one pass of twice the batch instead of two), and D's BatchNorm layers normalize each half by its own
 * statistics, exactly as two calls would. Per-sample layers need not know; a layer that mixes samples and cannot
 * keep the groups apart refuses to run inside the scope rather than mixing them.
 */

let current = 1;

/** Runs `f` with the batch split into `groups` groups for the layers in it (the scope nests and is restored). */
export function withBatchGroups<T>(groups: number, f: () => T): T {
  if (!Number.isInteger(groups) || groups < 1)
    throw new Error(`withBatchGroups: groups must be an integer ≥ 1, got ${groups}`);
  const before = current;
  current = groups;
  try {
    return f();
  } finally {
    current = before;
  }
}

/** The number of batch groups of the forward pass being recorded (1 outside withBatchGroups). */
export function batchGroups(): number {
  return current;
}

/** For a layer that mixes samples across the batch and cannot keep groups apart: throws inside a grouped pass. */
export function refuseBatchGroups(layer: string): void {
  if (current !== 1)
    throw new Error(`${layer}: mixes samples across the batch, so it cannot run in a pass of ${current} batch groups`);
}
