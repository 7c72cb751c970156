import { describe, expect, it } from 'vitest';
import { batchCount, batches, type Dataset } from '../src/data/dataset.ts';
import { DataCursor } from '../src/gan/data-cursor.ts';

/** n images of 1x2x2 whose four pixels all equal the image index. */
function numbered(n: number): Dataset {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i, i * 4, i * 4 + 4);
  return { images, n, c: 1, h: 2, w: 2, name: 'numbered' };
}

/**
 * The CLI's training loop (src/cli/gan.ts, `train`), reduced to its data order: from the resumed counters, each
 * epoch iterates batches(…, { seed, epoch, dropLast: true }), skips the batches the run used before the resume,
 * takes one per step, and completes the epoch when step − epoch·perEpoch reaches perEpoch. Returns the image
 * indices of each step's batch.
 */
function cliLoop(ds: Dataset, batchSize: number, seed: number, from: { step: number; epoch: number }, steps: number) {
  const perEpoch = batchCount(ds.n, batchSize, true);
  let { step, epoch } = from;
  const end = from.step + steps;
  const out: number[][] = [];
  epochs: while (step < end) {
    const skip = step - epoch * perEpoch;
    let i = 0;
    for (const batch of batches(ds, batchSize, { seed, epoch, dropLast: true })) {
      if (i++ < skip) continue;
      out.push(Array.from(batch.indices));
      step++;
      if (step >= end) break epochs;
    }
    if (step - epoch * perEpoch >= perEpoch) epoch++;
  }
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

  it('yields the batches of the CLI loop from the start, across epochs', () => {
    expect(cursorRun(ds, 4, seed, { step: 0, epoch: 0 }, 17).out).toEqual(
      cliLoop(ds, 4, seed, { step: 0, epoch: 0 }, 17),
    );
  });

  it('yields the batches of a resumed CLI run (same seed, epoch and skip), and those of the uninterrupted run', () => {
    const uninterrupted = cliLoop(ds, 4, seed, { step: 0, epoch: 0 }, 20);
    // Checkpoints as the CLI writes them (epoch advanced at the end of an epoch) and as the page may (not yet).
    for (const from of [
      { step: 3, epoch: 0 },
      { step: 5, epoch: 1 },
      { step: 5, epoch: 0 },
      { step: 7, epoch: 1 },
      { step: 10, epoch: 1 },
      { step: 14, epoch: 2 },
    ]) {
      const resumed = cursorRun(ds, 4, seed, from, 20 - from.step).out;
      expect(resumed).toEqual(cliLoop(ds, 4, seed, from, 20 - from.step));
      expect(resumed).toEqual(uninterrupted.slice(from.step));
    }
  });

  it('advances the epoch counter as the CLI does, and reports the position', () => {
    const cursor = new DataCursor(ds, 4, seed);
    expect(cursor.perEpoch).toBe(5);
    const c = { step: 5, epoch: 0 };
    expect(cursor.position(c)).toEqual({ epoch: 1, index: 0 });
    expect(c.epoch).toBe(0); // position only looks
    cursor.completeEpochs(c);
    expect(c.epoch).toBe(1);
    expect(cursorRun(ds, 4, seed, { step: 4, epoch: 0 }, 1).counters).toEqual({ step: 5, epoch: 0 });
    expect(cursorRun(ds, 4, seed, { step: 4, epoch: 0 }, 2).counters).toEqual({ step: 6, epoch: 1 });
  });

  it('passes over the batch of a step that took none (a G-only step), keeping later steps on the same batches', () => {
    const uninterrupted = cliLoop(ds, 4, seed, { step: 0, epoch: 0 }, 12);
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
});
