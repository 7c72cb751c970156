/**
 * Buffers derived from a tensor's contents (Engine.derived), as the conv's packed weights: made once, reused while
 * the source is unchanged, remade after any write the engine records (a launch binding the source where its shader
 * writes, Tensor.assign by copy or upload), freed with the source, and never trusted after captureKernels.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor/index.ts';
import { engine, kernelLabel, type Kernel } from '../src/tensor/engine.ts';
import { conv2d, convTranspose2d, prepackConvWeights } from '../src/tensor/conv.ts';
import { Adam } from '../src/nn/optim.ts';
import { SHADERS, WRITTEN_BINDINGS } from '../src/shaders.gen.ts';
import { refConv2d, refConvTranspose2d, type ConvRefOpts, type ConvShapes } from '../src/reference/conv.ts';
import { useEngine, randomArray, expectClose } from './helpers.ts';

useEngine();

const X_SHAPE: [number, number, number, number] = [2, 3, 7, 6];
const W_SHAPE: [number, number, number, number] = [5, 3, 3, 3];
const shapes: ConvShapes = { x: X_SHAPE, w: W_SHAPE };
const opts = { stride: 1, padding: 1 };
const refOpts: ConvRefOpts = { stride: [1, 1], padding: [1, 1] };

/** Runs f, returning what it returns and the labels of the launches it recorded. */
function launchesOf<T>(f: () => T): { value: T; labels: string[] } {
  const labels: string[] = [];
  const e = engine();
  const before = e.onLaunch;
  e.onLaunch = (k: Kernel) => labels.push(kernelLabel(k));
  try {
    return { value: f(), labels };
  } finally {
    e.onLaunch = before;
  }
}

const packs = (labels: string[]) => labels.filter((l) => l.startsWith('conv_pack_weight')).length;

async function convChecked(x: Tensor, w: Tensor, xData: Float64Array, wData: Float64Array): Promise<string[]> {
  const { value: y, labels } = launchesOf(() => conv2d(x, w, null, opts));
  expectClose(await y.toArray(), refConv2d(xData, wData, null, shapes, refOpts), 1e-5, 'conv output');
  y.dispose();
  return labels;
}

describe('Engine.derived: packed conv weights', () => {
  it('packs a weight once for repeated uses and again after each write to it', async () => {
    const xData = randomArray(2 * 3 * 7 * 6, 1);
    let wData = randomArray(5 * 3 * 3 * 3, 2);
    const x = Tensor.fromArray(Float32Array.from(xData), X_SHAPE);
    const w = Tensor.fromArray(Float32Array.from(wData), W_SHAPE);
    const hits0 = engine().stats().derivedHits;
    expect(packs(await convChecked(x, w, xData, wData))).toBe(1);
    expect(packs(await convChecked(x, w, xData, wData))).toBe(0);
    expect(packs(await convChecked(x, w, xData, wData))).toBe(0);
    expect(engine().stats().derivedHits - hits0).toBe(2);

    // an upload (engine.write)
    wData = randomArray(wData.length, 3);
    w.assign(Float32Array.from(wData));
    expect(packs(await convChecked(x, w, xData, wData))).toBe(1);

    // a buffer copy (engine.copy)
    wData = randomArray(wData.length, 4);
    const src = Tensor.fromArray(Float32Array.from(wData), W_SHAPE);
    w.assign(src);
    expect(packs(await convChecked(x, w, xData, wData))).toBe(1);
    expect(packs(await convChecked(x, w, xData, wData))).toBe(0);

    // a launch that writes it in place: an Adam step (adam.wgsl's binding 1 is read_write)
    w.requiresGrad = true;
    const opt = new Adam([w], { lr: 0.1 });
    w.grad = Tensor.fromArray(new Float32Array(w.size).fill(1), W_SHAPE);
    opt.step();
    const stepped = Float64Array.from(await w.toArray());
    // Adam's first step with a gradient of ones moves every weight by lr (to float32 rounding)
    expectClose(
      stepped,
      Array.from(wData, (v) => v - 0.1),
      1e-5,
      'weights after the Adam step',
    );
    expect(packs(await convChecked(x, w, xData, stepped))).toBe(1);
    opt.dispose();
    for (const t of [x, w, src]) t.dispose();
  });

  it('keeps one packed copy per layout: the forward and the transposed gather of one weight', async () => {
    // convTranspose2d gathers with the weight's other channel as the reduction: a second layout of the same buffer
    const wData = randomArray(3 * 5 * 4 * 4, 5);
    const w = Tensor.fromArray(Float32Array.from(wData), [3, 5, 4, 4]);
    const xData = randomArray(2 * 3 * 4 * 5, 6);
    const x = Tensor.fromArray(Float32Array.from(xData), [2, 3, 4, 5]);
    const tOpts = { stride: 2, padding: 1 };
    const tRef: ConvRefOpts = { stride: [2, 2], padding: [1, 1] };
    const derived0 = engine().stats().derivedBuffers;
    for (let i = 0; i < 2; i++) {
      const { value: y, labels } = launchesOf(() => convTranspose2d(x, w, null, tOpts));
      expect(packs(labels)).toBe(i === 0 ? 1 : 0);
      const expected = refConvTranspose2d(xData, wData, null, { x: [2, 3, 4, 5], w: [3, 5, 4, 4] }, tRef);
      expectClose(await y.toArray(), expected, 1e-5, 'convTranspose2d output');
      y.dispose();
    }
    expect(engine().stats().derivedBuffers - derived0).toBe(1);
    x.dispose();
    w.dispose();
  });

  it('frees the packed copies with the weight, outside the tensors’ bytes in use', async () => {
    const before = engine().stats();
    const w = Tensor.fromArray(Float32Array.from(randomArray(5 * 3 * 3 * 3, 7)), W_SHAPE);
    const x = Tensor.fromArray(Float32Array.from(randomArray(2 * 3 * 7 * 6, 8)), X_SHAPE);
    conv2d(x, w, null, opts).dispose();
    const during = engine().stats();
    expect(during.derivedBuffers - before.derivedBuffers).toBe(1);
    // bytes in use count the two tensors only
    expect(during.inUseBuffers - before.inUseBuffers).toBe(2);
    w.dispose();
    x.dispose();
    const after = engine().stats();
    expect(after.derivedBuffers).toBe(before.derivedBuffers);
    expect(after.derivedBytes).toBe(before.derivedBytes);
    expect(after.inUseBuffers).toBe(before.inUseBuffers);
  });

  it('prepackConvWeights remakes the stale layouts convs used, up to 4 per launch, and the convs then find them', async () => {
    // 5 weights of different sizes, each used forward and in the other layout (the transposed gather, as a conv's
    // input gradient uses it): 10 layouts, written by one optimizer-like upload each
    const ws = [3, 5, 2, 4, 6].map((cout, i) => ({
      data: randomArray(cout * 3 * 3 * 3, 20 + i),
      w: Tensor.fromArray(Float32Array.from(randomArray(cout * 3 * 3 * 3, 20 + i)), [cout, 3, 3, 3]),
    }));
    const xData = randomArray(2 * 3 * 7 * 6, 30);
    const x = Tensor.fromArray(Float32Array.from(xData), X_SHAPE);
    /** Both layouts of w used: conv2d, then convTranspose2d of its output; both outputs checked against float64. */
    const bothChecked = async (xt: Tensor, xs: Float64Array, w: Tensor, ws: Float64Array, what: string) => {
      const wShape = w.shape as [number, number, number, number];
      const xShape = xt.shape as [number, number, number, number];
      const { value, labels } = launchesOf(() => {
        const y = conv2d(xt, w, null, opts);
        return [y, convTranspose2d(y, w, null, opts)] as const;
      });
      const [y, z] = value;
      const yData = Float64Array.from(await y.toArray());
      expectClose(yData, refConv2d(xs, ws, null, { x: xShape, w: wShape }, refOpts), 1e-5, `${what}: conv2d`);
      const yShape = y.shape as [number, number, number, number];
      const zRef = refConvTranspose2d(yData, ws, null, { x: yShape, w: wShape }, refOpts);
      expectClose(await z.toArray(), zRef, 1e-5, `${what}: convTranspose2d`);
      y.dispose();
      z.dispose();
      return packs(labels);
    };
    for (const { w, data } of ws) await bothChecked(x, xData, w, data, 'first use');
    for (const entry of ws) {
      entry.data = randomArray(entry.data.length, 40 + entry.data.length);
      entry.w.assign(Float32Array.from(entry.data));
    }
    const { labels } = launchesOf(() => prepackConvWeights(ws.map((e) => e.w)));
    // 10 layouts in 4-slot launches: 4 + 4 + 2
    expect(labels).toEqual(['conv_pack_weight:slots4', 'conv_pack_weight:slots4', 'conv_pack_weight:slots2']);
    for (const { w, data } of ws) expect(await bothChecked(x, xData, w, data, 'prepacked')).toBe(0); // all fresh
    // A layout of more rows than a workgroup packs (taps·C = 9·40 = 360 > 256) in slot 0, so that the slots after it
    // start past its two workgroups: its other layout in slot 1, a second weight's two layouts in slots 2 and 3.
    const bigX = randomArray(1 * 40 * 5 * 5, 50);
    let bigW = randomArray(4 * 40 * 3 * 3, 51);
    const xb = Tensor.fromArray(Float32Array.from(bigX), [1, 40, 5, 5]);
    const wb = Tensor.fromArray(Float32Array.from(bigW), [4, 40, 3, 3]);
    await bothChecked(xb, bigX, wb, bigW, 'first use of the 360-row weight');
    bigW = randomArray(bigW.length, 52);
    wb.assign(Float32Array.from(bigW));
    const second = ws[1]!;
    second.data = randomArray(second.data.length, 53);
    second.w.assign(Float32Array.from(second.data));
    expect(launchesOf(() => prepackConvWeights([wb, second.w])).labels).toEqual(['conv_pack_weight:slots4']);
    expect(await bothChecked(xb, bigX, wb, bigW, 'prepacked 360-row weight')).toBe(0);
    expect(await bothChecked(x, xData, second.w, second.data, 'prepacked beside it')).toBe(0);
    xb.dispose();
    wb.dispose();
    // nothing stale now (and no hit counted for it), and a layout no conv used since the last call is not packed
    const hits = engine().stats().derivedHits;
    expect(launchesOf(() => prepackConvWeights(ws.map((e) => e.w))).labels).toEqual([]);
    expect(engine().stats().derivedHits).toBe(hits);
    ws[0]!.w.assign(Float32Array.from(ws[0]!.data));
    expect(launchesOf(() => prepackConvWeights([ws[0]!.w])).labels).toEqual([]);
    for (const { w } of ws) w.dispose();
    x.dispose();
  });

  it('remakes a copy first packed inside captureKernels (whose launches do not run)', async () => {
    const xData = randomArray(2 * 3 * 7 * 6, 9);
    const wData = randomArray(5 * 3 * 3 * 3, 10);
    const x = Tensor.fromArray(Float32Array.from(xData), X_SHAPE);
    const w = Tensor.fromArray(Float32Array.from(wData), W_SHAPE);
    engine().captureKernels(() => conv2d(x, w, null, opts).dispose());
    expect(packs(await convChecked(x, w, xData, wData))).toBe(1);
    expect(packs(await convChecked(x, w, xData, wData))).toBe(0);
    x.dispose();
    w.dispose();
  });
});

describe('WRITTEN_BINDINGS (scripts/gen-shaders.mjs)', () => {
  it('lists, for every shader, each binding where a read_write storage variable is declared', () => {
    expect(Object.keys(WRITTEN_BINDINGS).sort()).toEqual(Object.keys(SHADERS).sort());
    for (const [name, code] of Object.entries(SHADERS)) {
      const decls = code.replace(/\/\/[^\n]*/g, '').match(/@binding\(\d+\)\s*var<storage,\s*read_write>/g) ?? [];
      const bindings = new Set(decls.map((d) => Number(/\((\d+)\)/.exec(d)![1])));
      expect([...WRITTEN_BINDINGS[name]], name).toEqual([...bindings].sort((a, b) => a - b));
      // every storage variable is declared read or read_write on one line with its binding, or the list misses it
      const storage = code.replace(/\/\/[^\n]*/g, '').match(/var<storage/g) ?? [];
      const declared = code.replace(/\/\/[^\n]*/g, '').match(/@binding\(\d+\)\s*var<storage,\s*(read|read_write)>/g);
      expect(declared?.length ?? 0, name).toBe(storage.length);
    }
    // adam.wgsl's 4 slots: parameter, gradient (read), and the two moments
    expect(WRITTEN_BINDINGS.adam).toEqual([1, 3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16]);
    // conv_pack_weight.wgsl's 4 slots: the packed copies
    expect(WRITTEN_BINDINGS.conv_pack_weight).toEqual([2, 4, 6, 8]);
  });
});
