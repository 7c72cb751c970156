/**
 * Which real batch a GAN run trains on next, as a function of the trainer's counters only — so a run resumed from a
 * checkpoint (in the CLI or in the browser) sees exactly the batches the uninterrupted run would have seen.
 *
 * Epoch e visits `batches(ds, batchSize, { seed, epoch: e, dropLast: true })` in order, `perEpoch` batches; step s
 * of epoch e uses batch number s − e·perEpoch of that epoch (the CLI's `train --resume` skips that many). An epoch
 * is complete when s − e·perEpoch reaches perEpoch; the epoch counter then advances (`completeEpochs`). A step that
 * takes no real batch (the browser's "Step G", except under rahinge, where it takes its step's batch) still counts,
 * so the batch it would have used is passed over: the batch of every step depends on (seed, epoch, step) alone.
 *
 * The cursor keeps the epoch's batch generator open between calls, so consecutive steps cost one batch copy each;
 * any other position (a loaded checkpoint, a skipped batch) restarts the epoch's generator and skips to it.
 */
import { batches, batchCount, type Batch, type Dataset } from '../data/dataset.ts';

/** The counters of a run the cursor reads (and whose epoch it advances): a GanTrainer has both. */
export interface RunCounters {
  /** Steps taken so far (the next step is number `step`). */
  step: number;
  /** Epochs completed. */
  epoch: number;
}

export class DataCursor {
  /** Batches per epoch (the last, incomplete batch is dropped). */
  readonly perEpoch: number;
  private open: { epoch: number; next: number; batches: Generator<Batch> } | null = null;

  constructor(
    readonly data: Dataset,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`DataCursor: batch size must be a positive integer, got ${batchSize}`);
    this.perEpoch = batchCount(data.n, batchSize, true);
    if (this.perEpoch === 0)
      throw new Error(`dataset ${data.name} has ${data.n} images, fewer than one batch of ${batchSize}`);
  }

  /** Advances `c.epoch` past every epoch whose batches the steps so far have used up (as the CLI does after one). */
  completeEpochs(c: RunCounters): void {
    this.check(c);
    // The epochs the steps have used up, at once: a checkpoint's step may be any safe integer (a loop over epochs
    // ran for months at 2^53).
    c.epoch = Math.max(c.epoch, Math.floor(c.step / this.perEpoch));
  }

  /** Where the next step's batch is: its epoch and its number within that epoch (after `completeEpochs`). */
  position(c: RunCounters): { epoch: number; index: number } {
    const probe = { step: c.step, epoch: c.epoch };
    this.completeEpochs(probe);
    return { epoch: probe.epoch, index: probe.step - probe.epoch * this.perEpoch };
  }

  /** The real batch of step `c.step`; advances `c.epoch` first when the previous epoch is complete. */
  next(c: RunCounters): Batch {
    this.completeEpochs(c);
    const index = c.step - c.epoch * this.perEpoch;
    if (!this.open || this.open.epoch !== c.epoch || this.open.next > index) {
      this.open = {
        epoch: c.epoch,
        next: 0,
        batches: batches(this.data, this.batchSize, { seed: this.seed, epoch: c.epoch, dropLast: true }),
      };
    }
    const open = this.open;
    for (;;) {
      const b = open.batches.next();
      if (b.done) throw new Error(`DataCursor: epoch ${c.epoch} ended before batch ${index}`); // not reached
      if (open.next++ === index) return b.value;
    }
  }

  /**
   * Checks that a run's counters (a checkpoint's step and epoch) fit this data and batch size in both directions,
   * as resuming it needs; throws an Error saying which way they miss. A run saved in epoch E stepped at least
   * E epochs of batches (else this data has more images than the run's: check's message) and at most E + 1 (else
   * fewer: resuming would skip whole epochs without a step and leave counters that fit no data).
   */
  checkRun(c: RunCounters): void {
    this.check(c);
    const end = (c.epoch + 1) * this.perEpoch;
    if (c.step > end)
      throw new Error(
        `step ${c.step} is past the end of epoch ${c.epoch} of ${this.data.name} at batch size ${this.batchSize} ` +
          `(${this.perEpoch} batches per epoch: step ${end}); the run was trained on more images`,
      );
  }

  private check(c: RunCounters): void {
    if (!Number.isSafeInteger(c.step) || !Number.isSafeInteger(c.epoch) || c.step < 0 || c.epoch < 0)
      throw new Error(`DataCursor: step and epoch must be non-negative integers, got step ${c.step}, epoch ${c.epoch}`);
    if (c.step < c.epoch * this.perEpoch)
      throw new Error(
        `step ${c.step} is before epoch ${c.epoch} of ${this.data.name} at batch size ${this.batchSize} ` +
          `(${this.perEpoch} batches per epoch): the run's counters do not fit this data and batch size`,
      );
  }
}

/** What a checkpoint records of the data its run trained on (train and the page write both; older ones neither). */
export interface RunData {
  /** How many images. */
  images?: number;
  /** An image folder's Dataset.fingerprint (fingerprintText in src/data/image-files.ts). */
  data?: string;
}

/**
 * Why a run that recorded `saved` cannot go on with `ds`, or null when it can: another number of images ('count'),
 * or, for a run on an image folder, other files (names or sizes) or data that is no folder ('folder'). `train
 * --resume` and the page's loading both ask; each adds its own remedy.
 */
export function runDataProblem(saved: RunData, ds: Dataset): { why: string; differs: 'count' | 'folder' } | null {
  if (saved.images !== undefined && saved.images !== ds.n)
    return { why: `the run trained on ${saved.images} images and ${ds.name} gives ${ds.n}`, differs: 'count' };
  if (saved.data === undefined || saved.data === ds.fingerprint) return null;
  return {
    why:
      ds.fingerprint === undefined
        ? `the run trained on an image folder and ${ds.name} is none`
        : `the run trained on other images than ${ds.name} holds now (the images' names or sizes differ; files added, removed, renamed or replaced)`,
    differs: 'folder',
  };
}
