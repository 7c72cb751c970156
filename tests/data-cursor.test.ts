import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batches, type Dataset } from '../src/data/dataset.ts';
import { DataCursor } from '../src/gan/data-cursor.ts';
import { GanTrainer, checkpointSpec } from '../src/gan/trainer.ts';
import { datasetByName } from '../src/node/datasets.ts';
import { runCli } from './cli-run.ts';
import { editCheckpointMeta } from './checkpoint-edit.ts';
import { useEngine } from './helpers.ts';

useEngine();

/** n images of 1x2x2 whose four pixels all equal the image index. */
function numbered(n: number): Dataset {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i, i * 4, i * 4 + 4);
  return { images, n, c: 1, h: 2, w: 2, name: 'numbered' };
}

/**
 * The data order of an uninterrupted run, written out directly: epoch 0's batches(…, { seed, epoch: 0, dropLast })
 * in order, then epoch 1's, … — the image indices of each of the first `steps` steps.
 */
function uninterruptedOrder(ds: Dataset, batchSize: number, seed: number, steps: number): number[][] {
  const out: number[][] = [];
  for (let epoch = 0; out.length < steps; epoch++)
    for (const batch of batches(ds, batchSize, { seed, epoch, dropLast: true }))
      if (out.length < steps) out.push(Array.from(batch.indices));
  return out;
}

function cursorRun(ds: Dataset, batchSize: number, seed: number, from: { step: number; epoch: number }, steps: number) {
  const cursor = new DataCursor(ds, batchSize, seed);
  const c = { ...from };
  const out: number[][] = [];
  for (let k = 0; k < steps; k++) {
    const b = cursor.next(c);
    out.push(Array.from(b.indices));
    // the images are the rows the indices name
    for (let j = 0; j < b.indices.length; j++) expect(b.images[j * 4]).toBe(b.indices[j]);
    c.step++; // the trainer counts the step
  }
  return { out, counters: c };
}

describe('DataCursor', () => {
  const ds = numbered(23); // batch 4: 5 batches per epoch, 3 images dropped
  const seed = 7;

  it("yields each epoch's shuffled batches in order, across epochs", () => {
    const order = cursorRun(ds, 4, seed, { step: 0, epoch: 0 }, 17).out;
    expect(order).toEqual(uninterruptedOrder(ds, 4, seed, 17));
    // each epoch visits 20 distinct images of the 23, in an order that changes from epoch to epoch
    const epochs = [0, 1, 2].map((e) => order.slice(5 * e, 5 * e + 5).flat());
    for (const e of epochs) expect(new Set(e).size).toBe(20);
    expect(epochs[1]).not.toEqual(epochs[0]);
  });

  it('from the counters of a resumed run, yields the batches of the uninterrupted run', () => {
    const uninterrupted = uninterruptedOrder(ds, 4, seed, 20);
    // Checkpoints with the epoch advanced at the end of an epoch (as train and the page write them) and not yet
    // (a CLI run stopped right after a periodic checkpoint at an epoch's last batch).
    for (const from of [
      { step: 3, epoch: 0 },
      { step: 5, epoch: 1 },
      { step: 5, epoch: 0 },
      { step: 7, epoch: 1 },
      { step: 10, epoch: 1 },
      { step: 14, epoch: 2 },
    ]) {
      expect(cursorRun(ds, 4, seed, from, 20 - from.step).out).toEqual(uninterrupted.slice(from.step));
    }
  });

  it('advances the epoch counter when an epoch is used up, and reports the position', () => {
    const cursor = new DataCursor(ds, 4, seed);
    expect(cursor.perEpoch).toBe(5);
    const c = { step: 5, epoch: 0 };
    expect(cursor.position(c)).toEqual({ epoch: 1, index: 0 });
    expect(c.epoch).toBe(0); // position only looks
    cursor.completeEpochs(c);
    expect(c.epoch).toBe(1);
    expect(cursorRun(ds, 4, seed, { step: 4, epoch: 0 }, 1).counters).toEqual({ step: 5, epoch: 0 });
    expect(cursorRun(ds, 4, seed, { step: 4, epoch: 0 }, 2).counters).toEqual({ step: 6, epoch: 1 });
    // many epochs at once, and the largest step a checkpoint can hold (2^53 − 1: 5 batches an epoch) without a loop
    expect(cursor.position({ step: 23, epoch: 1 })).toEqual({ epoch: 4, index: 3 });
    const big = Number.MAX_SAFE_INTEGER;
    expect(cursor.position({ step: big, epoch: 0 })).toEqual({ epoch: Math.floor(big / 5), index: big % 5 });
  });

  it('passes over the batch of a step that took none (a G-only step), keeping later steps on the same batches', () => {
    const uninterrupted = uninterruptedOrder(ds, 4, seed, 12);
    const cursor = new DataCursor(ds, 4, seed);
    const c = { step: 0, epoch: 0 };
    const got: number[][] = [];
    for (let s = 0; s < 12; s++) {
      if (s === 2 || s === 5)
        got.push([]); // step G: no batch
      else got.push(Array.from(cursor.next(c).indices));
      c.step++;
    }
    expect(got).toEqual(uninterrupted.map((b, s) => (s === 2 || s === 5 ? [] : b)));
  });

  it('refuses counters that do not fit the data and batch size, and data smaller than a batch', () => {
    const cursor = new DataCursor(ds, 4, seed);
    expect(() => cursor.next({ step: 3, epoch: 1 })).toThrow(/step 3 is before epoch 1 of numbered at batch size 4/);
    expect(() => cursor.next({ step: -1, epoch: 0 })).toThrow(/non-negative integers/);
    expect(() => new DataCursor(numbered(3), 4, seed)).toThrow(/numbered has 3 images, fewer than one batch of 4/);
  });

  it("checkRun: a run's counters fit from the first step of its epoch to the end of it, and not past either end", () => {
    const cursor = new DataCursor(numbered(10), 4, seed); // 2 batches per epoch
    expect(cursor.perEpoch).toBe(2);
    for (const c of [
      { step: 0, epoch: 0 },
      { step: 2, epoch: 0 }, // saved at the end of epoch 0, before the next step moved the counter on
      { step: 2, epoch: 1 },
      { step: 4, epoch: 1 },
    ])
      expect(() => cursor.checkRun(c), JSON.stringify(c)).not.toThrow();
    // fewer images per epoch here than the run had: the step lies past its epoch's end
    expect(() => cursor.checkRun({ step: 5, epoch: 1 })).toThrow(
      'step 5 is past the end of epoch 1 of numbered at batch size 4 (2 batches per epoch: step 4); the run was trained on more images',
    );
    // more images per epoch here: the step lies before its epoch's start
    expect(() => cursor.checkRun({ step: 3, epoch: 2 })).toThrow(
      "step 3 is before epoch 2 of numbered at batch size 4 (2 batches per epoch): the run's counters do not fit this data and batch size",
    );
  });
});

describe("train's data order on resume", () => {
  // 40 digits at batch 8: 5 steps per epoch. The runs stop at step 7, in the second epoch.
  const common = ['--model', 'dense', '--dataset', 'mnist', '--limit', '40', '--batch', '8', '--seed', '5'];
  const quick = ['--grid', '4', '--final-eval', 'false', '--epochs', '3'];

  /** Runs `train`; returns the real batches it handed the trainer (their pixels) and the steps' logged losses. */
  async function train(out: string, more: string[]) {
    const seen: Float32Array[] = [];
    const original = GanTrainer.prototype.trainBatch;
    const spy = vi.spyOn(GanTrainer.prototype, 'trainBatch').mockImplementation(function (this: GanTrainer, real) {
      seen.push((real as Float32Array).slice());
      return original.call(this, real);
    });
    try {
      const r = await runCli(['train', ...common, ...quick, '--out', out, ...more]);
      expect(r.code, r.err.join('\n')).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    return { seen, log };
  }

  let whole: Awaited<ReturnType<typeof train>>; // the uninterrupted 7 steps (first test)

  it('a run stopped at step 3 and resumed to step 7 trains on the batches and losses of an uninterrupted run', async () => {
    const ds = await datasetByName('mnist', { limit: 40 });
    const expected = uninterruptedOrder(ds, 8, 5, 7).map((idx) => {
      const px = new Float32Array(idx.length * 784);
      idx.forEach((i, j) => px.set(ds.images.subarray(i * 784, (i + 1) * 784), j * 784));
      return px;
    });
    whole = await train(mkdtempSync(join(tmpdir(), 'cursor-whole-')), ['--max-steps', '7']);
    expect(whole.seen).toEqual(expected);

    const out = mkdtempSync(join(tmpdir(), 'cursor-resumed-'));
    const first = await train(out, ['--max-steps', '3']);
    const rest = await train(out, ['--max-steps', '7', '--resume']);
    expect([...first.seen, ...rest.seen]).toEqual(expected);
    expect(rest.log).toEqual(whole.log); // the same steps 0–6, loss for loss (one adapter, one order of sums)
  });

  it('a checkpoint saved at the last batch of an epoch, its epoch not yet counted, resumes on the next epoch', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cursor-epoch-end-'));
    const first = await train(out, ['--max-steps', '5']);
    expect(readdirSync(join(out, 'samples')).sort()).toEqual(['epoch-001.png', 'final.png']);
    // As a run interrupted right after a periodic checkpoint at step 5 leaves it: step 5, epoch 0.
    editCheckpointMeta(join(out, 'checkpoint.safetensors'), (m) => (m.epoch = 0));
    const rest = await train(out, ['--max-steps', '7', '--resume']);
    expect([...first.seen, ...rest.seen]).toEqual(whole.seen);
    expect(rest.log).toEqual(whole.log);
    // the resumed run counted epoch 1 before its first step (and drew its grid again)
    expect(checkpointSpec(new Uint8Array(readFileSync(join(out, 'checkpoint.safetensors')))).meta).toMatchObject({
      step: 7,
      epoch: 1,
    });
  });

  it('refuses a checkpoint whose counters do not fit the data, naming the file, before writing anything', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cursor-misfit-'));
    await train(out, ['--max-steps', '3']);
    const ckpt = join(out, 'checkpoint.safetensors');
    editCheckpointMeta(ckpt, (m) => (m.epoch = 2)); // step 3 cannot be in epoch 2 at 5 steps per epoch
    const config = readFileSync(join(out, 'config.json'), 'utf8');
    const before = readFileSync(ckpt);
    const r = await runCli(['train', ...common, ...quick, '--out', out, '--max-steps', '7', '--resume']);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain(
      `--resume ${ckpt}: step 3 is before epoch 2 of mnist-digits[:40] at batch size 8 (5 batches per epoch): the run's counters do not fit this data and batch size (another --dataset or --limit?)`,
    );
    expect(readFileSync(ckpt).equals(before)).toBe(true);
    expect(readFileSync(join(out, 'config.json'), 'utf8')).toBe(config);
  });
});
