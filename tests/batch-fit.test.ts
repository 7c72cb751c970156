/**
 * Batches whose feature maps cannot fit one GPU buffer binding are refused before anything runs, naming the option
 * (was: WebGPU's "Binding size … is larger than the maximum storage buffer binding size" — for progan, when its last
 * stage arrives). `largestFeatureMap` is checked against the buffers a training step and a sample really take.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engine } from '../src/tensor/engine.ts';
import { BufferPool, sizeClass } from '../src/tensor/buffer-pool.ts';
import { GanTrainer, jointPassFits } from '../src/gan/trainer.ts';
import { ganSpec } from '../src/gan/models.ts';
import { largestFeatureMap } from '../src/gan/models.ts';
import { checkBatchesFit } from '../src/cli/gan-checkpoint.ts';
import { runCli } from './cli-run.ts';
import { useEngine } from './helpers.ts';

useEngine();

/** The byte sizes of every storage buffer taken while `f` runs. */
async function buffersTaken(f: () => Promise<void>): Promise<Set<number>> {
  const seen = new Set<number>();
  const acquire = BufferPool.prototype.acquire;
  BufferPool.prototype.acquire = function (this: BufferPool, bytes: number) {
    seen.add(sizeClass(bytes));
    return acquire.call(this, bytes);
  };
  try {
    await f();
  } finally {
    BufferPool.prototype.acquire = acquire;
  }
  return seen;
}

describe('largestFeatureMap', () => {
  it('is a buffer a training step and a sample grid of the growing nets and the DCGAN-paper nets really take', async () => {
    const n = 32;
    const specs = [
      ganSpec('progan', { size: 16, width: 8 }),
      ganSpec('msggan', { size: 16, width: 8 }),
      ganSpec('dcgan32', { width: 16 }), // width·(size/2)² = 4096 > channels·size² = 3072
      ganSpec('dcgan32', { width: 8 }), // the image: 3072 > 2048
    ];
    for (const spec of specs) {
      const values = largestFeatureMap(spec, n);
      expect(values, spec.kind).toBe(n * largestFeatureMap(spec, 1));
      const tr = new GanTrainer(spec, { batchSize: n, growImages: 1, loss: 'rahinge' });
      tr.step = 100; // progan at its last stage
      const { channels: c, size } = spec;
      const train = await buffersTaken(async () => {
        await tr.readStats(tr.trainBatch(new Float32Array(n * c * size * size)));
      });
      const sample = await buffersTaken(async () => {
        const x = tr.generate(tr.fixedLatent(n));
        await x.toArray();
        x.dispose();
      });
      tr.dispose();
      expect(train.has(sizeClass(4 * values)), `${spec.kind} train`).toBe(true);
      expect(sample.has(sizeClass(4 * values)), `${spec.kind} sample`).toBe(true);
    }
  }, 120_000);
});

describe('BufferPool', () => {
  it('never rounds a buffer up past the largest binding: a tensor that fits the limit gets a buffer that binds', () => {
    const made: number[] = [];
    const device = {
      createBuffer: ({ size }: { size: number }) => (made.push(size), { size, destroy() {} }),
    } as unknown as GPUDevice;
    // a limit like 2³¹ − 4, scaled down: 7·2¹⁰ − 4 bytes; 6,000 bytes round up to the class 6,144 (1.5·2¹²) below it,
    // 7,000 to 7,168 (1.75·2¹²) above it: capped to the limit
    const limit = 7 * 1024 - 4;
    const pool = new BufferPool(device, 0, limit);
    expect(pool.acquire(6000).size).toBe(6144);
    const capped = pool.acquire(7000);
    expect(capped.size).toBe(limit);
    pool.release(capped);
    expect(pool.acquire(limit).size).toBe(limit); // and reused from the pool
    expect(made).toEqual([6144, limit]);
    // without a limit, the size class as before
    expect(new BufferPool(device, 0).acquire(7000).size).toBe(sizeClass(7000));
    expect(sizeClass(7000)).toBe(7168);
  });

  it("the engine's storage pool is capped at this device's binding limit", () => {
    const l = engine().device.limits;
    const cap = 4 * Math.floor(Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize) / 4);
    expect((engine() as unknown as { storage: { maxSize: number } }).storage.maxSize).toBe(cap);
    // the one figure every size check uses
    expect(engine().maxTensorBytes).toBe(cap);
  });
});

describe('jointPassFits', () => {
  it("lets D score reals and fakes in one pass only where 2n images' feature maps fit one binding", () => {
    const spec = ganSpec('dcgan64', { width: 64 }); // 64·32·32 values, 256 KiB, per image
    const limit = 128 * 2 ** 20;
    expect(jointPassFits(spec, 256, limit)).toBe(true); // 512 images: 128 MiB exactly
    expect(jointPassFits(spec, 257, limit)).toBe(false); // two passes of 257 (each fits; the CLI checks n alone)
    expect(4 * largestFeatureMap(spec, 257)).toBeLessThanOrEqual(limit);
    expect(jointPassFits(ganSpec('dcgan', {}), 512, limit)).toBe(true); // the lesson model's maps are small
  });
});

describe('checkBatchesFit', () => {
  it('refuses the first batch past the binding limit, naming it and how many fit', () => {
    const l = engine().device.limits;
    const limit = Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
    const spec = ganSpec('progan', { size: 128, width: 16 });
    const fit = Math.floor(limit / (4 * 16 * 128 * 128));
    expect(() => checkBatchesFit(spec, [['--n fit', fit]])).not.toThrow();
    expect(() =>
      checkBatchesFit(spec, [
        ['--n fit', fit],
        ['--grid more', fit + 1],
      ]),
    ).toThrow(
      new RegExp(
        `^--grid more: progan at 128×128 and --width 16 makes feature maps of ${fit + 1}×262144 values \\(\\d+ MiB\\), ` +
          `more than this adapter's largest GPU buffer binding \\(\\d+ MiB\\); at most ${fit} images fit in one batch \\(or use a smaller --width\\)$`,
      ),
    );
    // the lesson's 28×28 models are far below any limit
    expect(() => checkBatchesFit(ganSpec('dcgan'), [['--batch 512', 512]])).not.toThrow();
  });

  it('sample --n past the limit exits 2 with one line and writes nothing (was: a WebGPU validation error, exit 1)', async () => {
    const limit = engine().device.limits.maxStorageBufferBindingSize;
    const spec = ganSpec('progan', { size: 128, width: 16 });
    const fit = Math.floor(limit / (4 * 16 * 128 * 128));
    const dir = mkdtempSync(join(tmpdir(), 'batch-fit-'));
    const ckpt = join(dir, 'checkpoint.safetensors');
    const tr = new GanTrainer(spec, { batchSize: 16, growImages: 1 });
    tr.step = 100; // the last stage
    writeFileSync(ckpt, await tr.saveCheckpoint());
    tr.dispose();
    const n = Math.min(256, fit + 1); // 129 on lavapipe's 128 MiB; an adapter where 256 fit draws them
    const r = await runCli(['sample', '--checkpoint', ckpt, '--out', join(dir, 'g.png'), '--n', String(n)]);
    if (n > fit) {
      expect(r.code, r.err.join('')).toBe(2);
      expect(r.err.join('').trim()).toMatch(
        new RegExp(`^sample: --n ${n}: progan at 128×128 .* at most ${fit} images fit`),
      );
      expect(existsSync(join(dir, 'g.png'))).toBe(false);
    } else {
      expect(r.code, r.err.join('')).toBe(0);
      expect(existsSync(join(dir, 'g.png'))).toBe(true);
    }
  }, 120_000);
});
