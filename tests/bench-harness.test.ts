import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  convForwardFlops, convGradInputFlops, convGradWeightFlops, convOutputSize, gflops, matmulFlops, renderCell,
  inQuickSuite, renderRatio, renderTable, slugify, summarize, timeIt, writeResults, type ConvLayerShape, type ResultRow,
} from '../bench/harness.ts';
import { checkChain, discriminatorLayers, generatorLayers, vggLayers } from '../bench/shapes.ts';
import {
  isUnsupportedError, layerWorkload, loadTfjs, matmulWorkload, missingKernel, tfjsConvForward, tfjsConvGradInput,
  tfjsConvGradWeight, tfjsLayerShapes, type Tf,
} from '../bench/tfjs.ts';

const layer = (over: Partial<ConvLayerShape>): ConvLayerShape => ({
  name: 't', kind: 'conv', batch: 1, inChannels: 2, outChannels: 3, inH: 4, inW: 4,
  kernelH: 3, kernelW: 3, stride: 1, padding: 0, bias: false, ...over,
});

describe('FLOP counters', () => {
  it('matmul counts 2*M*N*K per batch entry', () => {
    expect(matmulFlops(2, 3, 4)).toBe(48);
    expect(matmulFlops(2, 3, 4, 5)).toBe(240);
  });

  it('conv: 2*N*Cout*Hout*Wout*Cin*kh*kw, plus one add per output for the bias', () => {
    // 4x4 input, 3x3 kernel, no padding: 2x2 output; 2*1*3*2*2*2*9 = 432 FLOPs of products.
    const l = layer({});
    expect(convOutputSize(l)).toEqual({ outH: 2, outW: 2 });
    expect(convForwardFlops(l)).toBe(432);
    expect(convGradInputFlops(l)).toBe(432);
    expect(convGradWeightFlops(l)).toBe(432);
    const withBias = layer({ bias: true });
    expect(convForwardFlops(withBias)).toBe(432 + 12);
    expect(convGradInputFlops(withBias)).toBe(432);
    expect(convGradWeightFlops(withBias)).toBe(432 + 12);
  });

  it('conv with stride and padding uses floor((H + 2p - k)/s) + 1', () => {
    const l = layer({ inH: 7, inW: 7, kernelH: 4, kernelW: 4, stride: 2, padding: 1 });
    expect(convOutputSize(l)).toEqual({ outH: 3, outW: 3 });
    expect(convForwardFlops(l)).toBe(2 * 1 * 3 * 3 * 3 * 2 * 16);
  });

  it('convT swaps roles: 2*N*Cin*H*W*Cout*kh*kw, equal to the grad-input of the matching conv', () => {
    const t = layer({ kind: 'convT', batch: 2, inChannels: 3, outChannels: 1, inH: 2, inW: 2, stride: 2, bias: true });
    expect(convOutputSize(t)).toEqual({ outH: 5, outW: 5 });
    expect(convForwardFlops(t)).toBe(2 * 2 * 3 * 2 * 2 * 1 * 9 + 2 * 1 * 5 * 5);
    expect(convGradInputFlops(t)).toBe(432);
    // The conv whose input gradient this convT computes: 1 -> 3 channels, 5x5 -> 2x2.
    const adjoint = layer({ batch: 2, inChannels: 1, outChannels: 3, inH: 5, inW: 5, stride: 2 });
    expect(convGradInputFlops(adjoint)).toBe(convForwardFlops({ ...t, bias: false }));
  });

  it('convT output size follows PyTorch, output_padding included', () => {
    const t = layer({ kind: 'convT', inH: 15, inW: 15, stride: 2, padding: 2, outputPadding: 1 });
    expect(convOutputSize(t)).toEqual({ outH: 28, outW: 28 });
    expect(() => convOutputSize(layer({ outputPadding: 1 }))).toThrow(/outputPadding is only meaningful for convT/);
  });

  it('gflops divides by milliseconds * 1e6 and rejects a zero duration', () => {
    expect(gflops(2e9, 1000)).toBe(2);
    expect(gflops(3e6, 1)).toBe(3);
    expect(() => gflops(1, 0)).toThrow(/duration must be > 0/);
  });
});

describe('lesson shapes', () => {
  it('generator goes 1 -> 3 -> 7 -> 15 -> 28 and its layers chain', () => {
    const G = generatorLayers();
    expect(G.map((l) => convOutputSize(l).outH)).toEqual([3, 7, 15, 28]);
    expect(G.map((l) => [l.inChannels, l.outChannels])).toEqual([[100, 256], [256, 128], [128, 64], [64, 1]]);
    expect(() => checkChain(G)).not.toThrow();
    // G2 forward by hand: 2*256*256*3*3*128*9.
    expect(convForwardFlops(G[1]!)).toBe(1358954496);
  });

  it('discriminator goes 28 -> 14 -> 7 -> 3 -> 1 and its layers chain', () => {
    const D = discriminatorLayers();
    expect(D.map((l) => convOutputSize(l).outH)).toEqual([14, 7, 3, 1]);
    expect(() => checkChain(D)).not.toThrow();
    // D2 forward by hand: 2*256*128*7*7*64*16.
    expect(convForwardFlops(D[1]!)).toBe(3288334336);
  });

  it('VGG16 conv1_1..conv4_2 at 128 px: channels and the sizes between pools', () => {
    const V = vggLayers(128);
    expect(V.map((l) => l.outChannels)).toEqual([64, 64, 128, 128, 256, 256, 256, 512, 512]);
    expect(V.map((l) => l.inH)).toEqual([128, 128, 64, 64, 32, 32, 32, 16, 16]);
    expect(() => checkChain(V)).not.toThrow();
    // block1_conv1 forward with bias: 2*1*64*128*128*3*9 + 64*128*128.
    expect(convForwardFlops(V[0]!)).toBe(57671680);
    expect(() => vggLayers(100)).toThrow(/multiple of 8/);
  });

  it('checkChain names the layer whose input does not match', () => {
    const G = generatorLayers();
    const broken = [G[0]!, { ...G[1]!, inChannels: 7 }];
    expect(() => checkChain(broken)).toThrow(/layer G2: expects \[7,3,3\] but G1 gives \[256,3,3\]/);
  });
});

describe('--quick suite', () => {
  it('keeps every backend on the matmuls, drops the 256 px style step, and leaves tfjs-cpu only the matmuls', () => {
    const ids = ['matmul/1024', 'layer/D2/gradWeight', 'layer/VGG.block1_conv1@128/forward', 'train/dcgan-step', 'train/style-128', 'train/style-256'];
    const kept = (backend: string) => ids.filter((id) => inQuickSuite(backend, id));
    expect(kept('ours')).toEqual(ids.slice(0, 5));
    expect(kept('tfjs-webgpu')).toEqual(['matmul/1024', 'layer/D2/gradWeight', 'train/dcgan-step', 'train/style-128']);
    expect(kept('tfjs-wasm')).toEqual(kept('tfjs-webgpu'));
    expect(kept('tfjs-cpu')).toEqual(['matmul/1024']);
  });
});

describe('timing statistics', () => {
  it('median of odd and even counts, min and max', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, samples: [5, 1, 3] });
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
    expect(() => summarize([])).toThrow(/no samples/);
    expect(() => summarize([1, Number.NaN])).toThrow(/not a finite number/);
  });

  it('timeIt runs first + warmup + repeats times and keeps the first run out of the samples', async () => {
    let calls = 0;
    const t = await timeIt(async () => void calls++, { warmup: 2, repeats: 3 });
    expect(calls).toBe(6);
    expect(t.samples).toHaveLength(3);
    expect(t.firstRunReused).toBeUndefined();
    expect(t.min).toBeLessThanOrEqual(t.median);
    expect(t.median).toBeLessThanOrEqual(t.max);
  });

  it('timeIt stops after the first run when it is slower than singleRunAboveMs', async () => {
    let calls = 0;
    const t = await timeIt(async () => void calls++, { warmup: 2, repeats: 3, singleRunAboveMs: -1 });
    expect(calls).toBe(1);
    expect(t.samples).toEqual([t.firstRunMs]);
    expect(t.firstRunReused).toBe(true);
  });

  it('timeIt rejects nonsense counts', async () => {
    await expect(timeIt(async () => {}, { repeats: 0 })).rejects.toThrow(/repeats must be an integer >= 1/);
    await expect(timeIt(async () => {}, { warmup: -1 })).rejects.toThrow(/warmup must be an integer >= 0/);
  });
});

describe('table rendering', () => {
  const timing = (ms: number) => ({ ...summarize([ms]), firstRunMs: ms * 3 });
  const rows: ResultRow[] = [
    { workload: 'matmul/1024', backend: 'ours', status: 'ok', flops: 2e9, timing: timing(100) },
    { workload: 'matmul/1024', backend: 'tfjs-webgpu', status: 'ok', flops: 2e9, timing: timing(400) },
    { workload: 'layer/D2/gradWeight', backend: 'ours', status: 'ok', flops: 1e9, timing: timing(50) },
    { workload: 'layer/D2/gradWeight', backend: 'tfjs-wasm', status: 'unsupported' },
    { workload: 'train/style-256', backend: 'tfjs-webgpu', status: 'skipped', note: 'slow' },
  ];

  it('cells show time and GFLOP/s, unsupported, skipped with the reason, and a dash when not run', () => {
    expect(renderCell(rows[0])).toBe('100 ms (20.0 GF/s)');
    expect(renderCell({ ...rows[2]!, timing: timing(5) })).toBe('5.00 ms (200.0 GF/s)');
    expect(renderCell(rows[3])).toBe('unsupported');
    expect(renderCell(rows[4])).toBe('skipped (slow)');
    expect(renderCell(undefined)).toBe('—');
    const once = { ...rows[1]!, timing: { ...timing(400), firstRunReused: true } };
    expect(renderCell(once)).toBe('400 ms (5.00 GF/s, 1 run)');
  });

  it('ratio is the other backend time over ours; unsupported beats not-run', () => {
    expect(renderRatio(rows[0], rows[1])).toBe('4.00×');
    expect(renderRatio(rows[2], rows[3])).toBe('unsupported');
    expect(renderRatio(rows[0], undefined)).toBe('—');
    expect(renderRatio(undefined, rows[1])).toBe('—');
    expect(renderRatio(rows[0], rows[4])).toBe('—');
  });

  it('renders one line per workload with ratio and ceiling columns', () => {
    const md = renderTable(rows, { backends: ['ours', 'tfjs-webgpu', 'tfjs-wasm'], ours: 'ours', ceilingGflops: 24 });
    const lines = md.trim().split('\n');
    expect(lines[0]).toBe('| workload | GFLOP | ours | tfjs-webgpu | tfjs-wasm | ours/tfjs-webgpu | ours/tfjs-wasm | ceiling GF/s |');
    expect(lines[1]).toBe('|---|---|---|---|---|---|---|---|');
    expect(lines[2]).toBe('| matmul/1024 | 2.000 | 100 ms (20.0 GF/s) | 400 ms (5.00 GF/s) | — | 4.00× | — | 24.0 |');
    expect(lines[3]).toBe('| layer/D2/gradWeight | 1.000 | 50.0 ms (20.0 GF/s) | — | unsupported | — | unsupported | 24.0 |');
    expect(lines[4]).toBe('| train/style-256 | — | — | skipped (slow) | — | — | — | 24.0 |');
    expect(lines).toHaveLength(5);
  });

  it('without an "ours" backend there are no ratio columns', () => {
    const md = renderTable(rows.filter((r) => r.backend !== 'ours'));
    expect(md.split('\n')[0]).toBe('| workload | GFLOP | tfjs-webgpu | tfjs-wasm |');
  });
});

describe('writeResults', () => {
  let dir = '';
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'bench-results-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('slugify makes file-name-safe adapter names', () => {
    expect(slugify('llvmpipe (LLVM 15.0.6, 256 bits)')).toBe('llvmpipe-llvm-15-0-6-256-bits');
    expect(() => slugify('***')).toThrow(/no letters or digits/);
  });

  it('writes <slug>.json and <slug>.md and leaves no temporary files', () => {
    const rows: ResultRow[] = [{ workload: 'matmul/8', backend: 'tfjs-cpu', status: 'ok', flops: 1024, timing: { ...summarize([1]), firstRunMs: 2 } }];
    const out = writeResults('Test Adapter 1', rows, { quick: true }, dir);
    expect(out.json).toBe(join(dir, 'test-adapter-1.json'));
    const parsed = JSON.parse(readFileSync(out.json, 'utf8'));
    expect(parsed.adapter).toBe('Test Adapter 1');
    expect(parsed.quick).toBe(true);
    expect(parsed.rows[0].timing.median).toBe(1);
    const md = readFileSync(out.md, 'utf8');
    expect(md).toContain('| matmul/8 | 0.000 | 1.00 ms (0.00 GF/s) |');
    expect(existsSync(out.md)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['test-adapter-1.json', 'test-adapter-1.md']);
  });
});

/** PyTorch-semantics reference in NHWC with tfjs filter layouts: conv reads, convT scatters (no kernel flip). */
function referenceForward(l: ConvLayerShape, x: Float32Array, w: Float32Array): Float32Array {
  const { outH, outW } = convOutputSize(l);
  const { batch: N, inH: H, inW: W, inChannels: Ci, outChannels: Co, kernelH: K, stride: s, padding: p } = l;
  const y = new Float32Array(N * outH * outW * Co);
  const [loopH, loopW] = l.kind === 'conv' ? [outH, outW] : [H, W];
  for (let n = 0; n < N; n++)
    for (let i = 0; i < loopH; i++)
      for (let j = 0; j < loopW; j++)
        for (let kh = 0; kh < K; kh++)
          for (let kw = 0; kw < K; kw++) {
            const a = i * s - p + kh;
            const b = j * s - p + kw;
            for (let ci = 0; ci < Ci; ci++)
              for (let co = 0; co < Co; co++) {
                if (l.kind === 'conv') {
                  if (a < 0 || b < 0 || a >= H || b >= W) continue;
                  y[((n * outH + i) * outW + j) * Co + co] += x[((n * H + a) * W + b) * Ci + ci]! * w[((kh * K + kw) * Ci + ci) * Co + co]!;
                } else {
                  if (a < 0 || b < 0 || a >= outH || b >= outW) continue;
                  y[((n * outH + a) * outW + b) * Co + co] += x[((n * H + i) * W + j) * Ci + ci]! * w[((kh * K + kw) * Co + co) * Ci + ci]!;
                }
              }
          }
  return y;
}

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0);

describe('tfjs adapter on the cpu backend', () => {
  let tf: Tf;
  beforeAll(async () => {
    const ctx = await loadTfjs({ backends: ['cpu'] });
    expect(ctx.available).toEqual(['cpu']);
    tf = ctx.tf;
  });

  const cases: ConvLayerShape[] = [
    layer({ name: 'conv-k4s2p1', batch: 2, inChannels: 3, outChannels: 4, inH: 7, inW: 7, kernelH: 4, kernelW: 4, stride: 2, padding: 1 }),
    layer({ name: 'convT-k3s2p2op1', kind: 'convT', batch: 2, inChannels: 3, outChannels: 2, inH: 5, inW: 5, stride: 2, padding: 2, outputPadding: 1 }),
    layer({ name: 'convT-k3s2', kind: 'convT', batch: 2, inChannels: 3, outChannels: 2, inH: 3, inW: 3, stride: 2 }),
  ];
  for (const l of cases) {
    it(`${l.name}: forward matches PyTorch semantics; grad-input and grad-weight are its adjoints`, async () => {
      const shapes = tfjsLayerShapes(l);
      const x = tf.randomNormal(shapes.input) as Parameters<typeof tfjsConvForward>[2];
      const w = tf.randomNormal(shapes.filter) as Parameters<typeof tfjsConvForward>[3];
      const dy = tf.randomNormal(shapes.output) as Parameters<typeof tfjsConvForward>[2];
      const y = tfjsConvForward(tf, l, x, w);
      expect(y.shape).toEqual(shapes.output);
      const [xd, wd, dyd] = [await x.data(), await w.data(), await dy.data()] as Float32Array[];
      const ref = referenceForward(l, xd!, wd!);
      const yd = (await y.data()) as Float32Array;
      ref.forEach((v, i) => expect(yd[i]).toBeCloseTo(v, 4));
      // <dy, A x> = <A^T dy, x> for the input, and the same with the weight as the variable.
      const dx = (await tfjsConvGradInput(tf, l, dy, w).data()) as Float32Array;
      expect(dot(dx, xd!)).toBeCloseTo(dot(dyd!, ref), 3);
      const dw = (await tfjsConvGradWeight(tf, l, x, dy, false).dFilter.data()) as Float32Array;
      expect(dot(dw, wd!)).toBeCloseTo(dot(dyd!, ref), 3);
    });
  }

  it('the bias gradient is dy summed over N, H, W', async () => {
    const l = cases[0]!;
    const shapes = tfjsLayerShapes(l);
    const dy = tf.ones(shapes.output) as Parameters<typeof tfjsConvForward>[2];
    const g = tfjsConvGradWeight(tf, l, tf.ones(shapes.input) as Parameters<typeof tfjsConvForward>[2], dy, true);
    expect(Array.from(await g.dBias!.data())).toEqual([18, 18, 18, 18]); // 2 images x 3 x 3 outputs
  });

  it('workload steps run, and dispose frees every tensor they made', async () => {
    const before = tf.memory().numTensors;
    for (const w of [matmulWorkload(16), layerWorkload(cases[1]!, 'gradWeight'), layerWorkload({ ...cases[0]!, bias: true }, 'forward')]) {
      const p = w.prepare(tf);
      await p.step();
      await p.step();
      p.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('missingKernel names a required kernel the backend lacks', () => {
    const gradWeight = layerWorkload(cases[0]!, 'gradWeight');
    expect(gradWeight.requiredKernels).toEqual(['Conv2DBackpropFilter']);
    expect(missingKernel(tf, gradWeight)).toBeUndefined();
    expect(missingKernel(tf, { ...gradWeight, requiredKernels: ['Conv2D', 'NoSuchKernel'] })).toBe('NoSuchKernel');
  });

  it('recognises tfjs "kernel not registered" errors as unsupported', () => {
    expect(isUnsupportedError(new Error("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"))).toBe(true);
    expect(isUnsupportedError(new Error('Out of memory'))).toBe(false);
  });
});
