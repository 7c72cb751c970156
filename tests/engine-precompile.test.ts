/**
 * Compiling a recording's pipelines ahead of it (Engine.captureKernels + Engine.precompile), as the GAN page does
 * before a first step to show "compiling kernels k / n": the capture runs nothing, the async-compiled pipelines are
 * the ones the real launches then use, and a kernel that does not compile is named.
 */
import { describe, expect, it } from 'vitest';
import { Tensor, matmul } from '../src/tensor/index.ts';
import { engine, type Kernel } from '../src/tensor/engine.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { ganSpec } from '../src/gan/models.ts';
import { useEngine } from './helpers.ts';

useEngine();

/** A small recording: a 3×5 by 5×2 product, then exp and tanh of it (shapes no other test here uses). */
function record(a: Tensor, b: Tensor): Tensor {
  const p = matmul(a, b);
  const e = p.exp();
  const out = e.tanh();
  p.dispose();
  e.dispose();
  return out;
}

describe('Engine.captureKernels and precompile', () => {
  const aData = Float32Array.from({ length: 15 }, (_, i) => (i - 7) / 10);
  const bData = Float32Array.from({ length: 10 }, (_, i) => (i % 3) / 4 - 0.2);
  /** float64 tanh(exp(A·B)) */
  const expected = () => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let k = 0; k < 5; k++) s += aData[i * 5 + k]! * bData[k * 2 + j]!;
        out.push(Math.tanh(Math.exp(s)));
      }
    return out;
  };

  it('captures the new kernels of a recording without creating or dispatching anything', () => {
    const a = Tensor.fromArray(aData, [3, 5]);
    const b = Tensor.fromArray(bData, [5, 2]);
    const before = engine().stats();
    let out: Tensor | null = null;
    const kernels = engine().captureKernels(() => {
      out = record(a, b);
    });
    const after = engine().stats();
    expect(after.pipelines).toBe(before.pipelines);
    expect(after.dispatches).toBe(before.dispatches);
    // the product, exp and tanh: three launches, three kernels (exp and tanh are one shader with two expressions)
    expect(kernels.length).toBe(3);
    expect(kernels.filter((k) => k.shader === 'unary').length).toBe(2);
    // a read-back inside a capture fails (its launches did not run), and captures do not nest
    let read: Promise<Float32Array> | null = null;
    engine().captureKernels(() => {
      read = out!.toArray();
      expect(() => engine().captureKernels(() => {})).toThrow('captureKernels: already capturing');
    });
    expect(read).not.toBeNull();
    for (const t of [a, b, out!]) t.dispose();
    return expect(read!).rejects.toThrow('read: a read-back inside captureKernels');
  });

  it('compiles them asynchronously with progress, and the real launches use those pipelines', async () => {
    const a = Tensor.fromArray(aData, [3, 5]);
    const b = Tensor.fromArray(bData, [5, 2]);
    const kernels = engine().captureKernels(() => record(a, b).dispose());
    expect(kernels.length).toBe(3);
    const progress: [number, number][] = [];
    const before = engine().stats().pipelines;
    await engine().precompile([...kernels, kernels[0]!], (done, total) => progress.push([done, total]));
    expect(progress).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(engine().stats().pipelines).toBe(before + 3);
    // Nothing left to compile: a second capture is empty, a second precompile does nothing.
    expect(engine().captureKernels(() => record(a, b).dispose())).toEqual([]);
    progress.length = 0;
    await engine().precompile(kernels, (done, total) => progress.push([done, total]));
    expect(progress).toEqual([[0, 0]]);
    // The real run takes every pipeline from the cache (none is created) and computes tanh(exp(A·B)).
    const dispatches = engine().stats().dispatches;
    const out = record(a, b);
    const values = await out.toArray();
    expect(engine().stats().pipelines).toBe(before + 3);
    expect(engine().stats().dispatches - dispatches).toBe(3);
    const want = expected();
    for (let i = 0; i < want.length; i++) expect(values[i]).toBeCloseTo(want[i]!, 5);
    for (const t of [a, b, out]) t.dispose();
  });

  it("a GAN step's kernels, captured on a scratch copy of the model, are all the real step needs", async () => {
    const spec = ganSpec('dense');
    const options = { batchSize: 4, seed: 9, gEma: 0.9 };
    const real = new Float32Array(4 * 28 * 28).fill(0.25);
    const scratch = new GanTrainer(spec, options);
    const kernels = engine().captureKernels(() => scratch.trainBatch(real).stats.dispose());
    scratch.dispose();
    expect(kernels.length).toBeGreaterThan(10);
    await engine().precompile(kernels);
    const trainer = new GanTrainer(spec, options);
    const before = engine().stats().pipelines;
    const s = await trainer.readStats(trainer.trainBatch(real));
    expect(engine().stats().pipelines).toBe(before);
    expect(Number.isFinite(s.lossD) && Number.isFinite(s.lossG)).toBe(true);
    trainer.dispose();
  });

  it('names a kernel whose pipeline does not compile', async () => {
    const bad: Kernel = { shader: 'unary', entry: 'no_such_entry', subs: { EXPR: 'x' } };
    await expect(engine().precompile([bad])).rejects.toThrow(
      /^precompile: the pipeline of unary:no_such_entry\(x\) did not compile: .*no_such_entry/,
    );
  });
});
