import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  convForwardFlops,
  convGradInputFlops,
  convGradWeightFlops,
  convOutputSize,
  gflops,
  interleave,
  matmulFlops,
  mustBeTimed,
  ratioStats,
  renderCell,
  renderHeader,
  inQuickSuite,
  priorityOrder,
  renderRatio,
  renderTable,
  samplingRules,
  slugify,
  summarize,
  ThroughputModel,
  timeIt,
  writeResults,
  type Contender,
  type ConvLayerShape,
  type ResultRow,
  type SamplingRules,
} from '../bench/harness.ts';
import { expectClose, randomArray } from './helpers.ts';
import { checkChain, discriminatorLayers, generatorLayers, vggLayers } from '../bench/shapes.ts';
import { lavapipeThreads, runSuite, sideThreads, type BenchSide, type SuiteWorkload } from '../bench/suite.ts';
import {
  isUnsupportedError,
  layerWorkload,
  loadTfjs,
  matmulWorkload,
  missingKernel,
  tfjsConvForward,
  tfjsConvGradInput,
  tfjsConvGradWeight,
  tfjsLayerShapes,
  tfjsSide,
  type Tf,
} from '../bench/tfjs.ts';

const root = join(import.meta.dirname, '..');

const layer = (over: Partial<ConvLayerShape>): ConvLayerShape => ({
  name: 't',
  kind: 'conv',
  batch: 1,
  inChannels: 2,
  outChannels: 3,
  inH: 4,
  inW: 4,
  kernelH: 3,
  kernelW: 3,
  stride: 1,
  padding: 0,
  bias: false,
  ...over,
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
    expect(G.map((l) => [l.inChannels, l.outChannels])).toEqual([
      [100, 256],
      [256, 128],
      [128, 64],
      [64, 1],
    ]);
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
    const ids = [
      'matmul/1024',
      'layer/D2/gradWeight',
      'layer/VGG.block1_conv1@128/forward',
      'train/dcgan-step',
      'train/style-128',
      'train/style-256',
    ];
    const kept = (backend: string) => ids.filter((id) => inQuickSuite(backend, id));
    expect(kept('ours')).toEqual(ids.slice(0, 5));
    expect(kept('tfjs-webgpu')).toEqual(['matmul/1024', 'layer/D2/gradWeight', 'train/dcgan-step', 'train/style-128']);
    expect(kept('tfjs-wasm')).toEqual(kept('tfjs-webgpu'));
    expect(kept('tfjs-cpu')).toEqual(['matmul/1024']);
  });
});

describe('--deadline-s order', () => {
  it('measures the training steps first (style largest first), then the largest matmul, the DCGAN and VGG layers', () => {
    const ids = [
      'matmul/256',
      'matmul/4096',
      'layer/G1/forward',
      'layer/VGG.block1_conv1@128/forward',
      'layer/D2/gradWeight',
      'train/dcgan-step',
      'train/style-128',
      'train/style-256',
    ];
    expect(priorityOrder(ids.map((id) => ({ id }))).map((w) => w.id)).toEqual([
      'train/dcgan-step',
      'train/style-256',
      'train/style-128',
      'matmul/4096',
      'layer/G1/forward',
      'layer/D2/gradWeight',
      'layer/VGG.block1_conv1@128/forward',
      'matmul/256',
    ]);
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

  it('timeIt never keeps the first run as a sample, however slow it is', async () => {
    // A clock the runs move: the first takes 30 ms, each later one 2 ms.
    let calls = 0;
    let clock = 0;
    const t = await timeIt(
      async () => {
        clock += calls++ === 0 ? 30 : 2;
      },
      { warmup: 0, repeats: 2, budgetMs: 1, now: () => clock },
    );
    // The budget is spent by the first run, so one timed run follows it (timeIt's minimum), apart from it.
    expect(calls).toBe(2);
    expect(t.firstRunMs).toBe(30);
    expect(t.samples).toEqual([2]);
    expect(t.firstRunReused).toBeUndefined();
  });

  it('timeIt rejects nonsense counts', async () => {
    await expect(timeIt(async () => {}, { repeats: 0 })).rejects.toThrow(/repeats must be an integer >= 1/);
    await expect(timeIt(async () => {}, { warmup: -1 })).rejects.toThrow(/warmup must be an integer >= 0/);
  });
});

/**
 * Fake sides for the interleaving scheduler: each call of a side's step advances a fake clock by the next of its
 * durations and is logged ("A0" = A's first call), as are activations, preparations and the ceiling hooks.
 */
function fakeRun(
  durations: Record<string, number[]>,
  opts: { throwAt?: Record<string, number>; estimateMs?: Record<string, number> } = {},
) {
  const clock = { t: 0 };
  const log: string[] = [];
  const contenders: Contender[] = Object.entries(durations).map(([name, ms]) => {
    let k = 0;
    return {
      name,
      estimateMs: opts.estimateMs?.[name],
      activate: () => void log.push(`activate ${name}`),
      prepare: () => {
        log.push(`prepare ${name}`);
        return async () => {
          if (opts.throwAt?.[name] === k) throw new Error(`${name} broke on call ${k}`);
          log.push(`${name}${k}`);
          clock.t += ms[Math.min(k, ms.length - 1)]!;
          k++;
        };
      },
      afterFirstRun: () => void log.push(`after first ${name}`),
    };
  });
  const hooks = {
    now: () => clock.t,
    beforeSamples: () => void log.push('ceiling before'),
    afterSamples: () => void log.push('ceiling after'),
  };
  /** The log without activations: the order the steps ran in. */
  const steps = () => log.filter((e) => !e.startsWith('activate '));
  return { contenders, hooks, log, steps };
}

const rules = (over: Partial<SamplingRules> = {}): SamplingRules => ({
  warmup: 1,
  samples: 3,
  minTimeMs: 0,
  maxSamples: 3,
  budgetMs: Infinity,
  maxRunMs: 1000,
  maxFirstRunMs: 10_000,
  ...over,
});

describe('interleaved sampling', () => {
  it('prepares and runs each side once, then warms up and samples in alternating rounds A B A B', async () => {
    const f = fakeRun({ A: [100, 11, 12, 13, 14], B: [500, 21, 22, 23, 24] });
    const r = await interleave(f.contenders, rules(), f.hooks);
    expect(f.steps()).toEqual([
      'prepare A',
      'A0',
      'after first A',
      'prepare B',
      'B0',
      'after first B', // first runs, side by side
      'A1',
      'B1', // warm-up round
      'ceiling before',
      'A2',
      'B2',
      'A3',
      'B3',
      'A4',
      'B4',
      'ceiling after',
    ]);
    expect(r.rounds).toBe(3);
    const [a, b] = r.sides;
    expect(a).toMatchObject({ name: 'A', status: 'ok', firstRunMs: 100, warmupMs: [11] });
    expect(a!.timing).toEqual({ median: 13, min: 12, max: 14, samples: [12, 13, 14], firstRunMs: 100, warmupMs: [11] });
    expect(b!.timing).toMatchObject({ median: 23, min: 22, max: 24, samples: [22, 23, 24], firstRunMs: 500 });
  });

  it('activates a side before every one of its calls, outside the timed window', async () => {
    const f = fakeRun({ A: [5], B: [7] });
    await interleave(f.contenders, rules({ warmup: 0, samples: 2, maxSamples: 2 }), f.hooks);
    expect(f.log).toEqual([
      'activate A',
      'prepare A',
      'A0',
      'after first A',
      'activate B',
      'prepare B',
      'B0',
      'after first B',
      'ceiling before',
      'activate A',
      'A1',
      'activate B',
      'B1',
      'activate A',
      'A2',
      'activate B',
      'B2',
      'ceiling after',
    ]);
  });

  it('reports every run with its phase and duration', async () => {
    const f = fakeRun({ A: [100, 11, 12], B: [500, 21, 22] });
    const runs: string[] = [];
    await interleave(f.contenders, rules({ samples: 1, maxSamples: 1 }), {
      ...f.hooks,
      onRun: (side, phase, ms) => void runs.push(`${side} ${phase} ${ms}`),
    });
    expect(runs).toEqual(['A first 100', 'B first 500', 'A warmup 11', 'B warmup 21', 'A sample 12', 'B sample 22']);
  });

  it('warms every side up the same number of times, in rounds', async () => {
    const f = fakeRun({ A: [1], B: [1], C: [1] });
    const r = await interleave(f.contenders, rules({ warmup: 2 }), f.hooks);
    expect(f.steps().slice(9, 15)).toEqual(['A1', 'B1', 'C1', 'A2', 'B2', 'C2']);
    expect(r.sides.map((s) => s.warmupMs.length)).toEqual([2, 2, 2]);
    expect(r.sides.map((s) => s.timing!.samples.length)).toEqual([3, 3, 3]);
  });

  it('skips a side whose warm run is too slow for the rounds, and samples the others without it', async () => {
    const f = fakeRun({ A: [100, 10], B: [500, 2000] });
    const r = await interleave(f.contenders, rules(), f.hooks);
    expect(r.sides[1]).toMatchObject({
      status: 'skipped',
      note: 'slow: 2.0 s a warm run',
      firstRunMs: 500,
      warmupMs: [2000],
    });
    expect(r.sides[1]!.timing).toBeUndefined();
    expect(f.steps().slice(-5)).toEqual(['ceiling before', 'A2', 'A3', 'A4', 'ceiling after']);
    expect(r.sides[0]!.timing!.samples).toEqual([10, 10, 10]);
  });

  it('skips a side at once when its first run is over the limit, and one whose estimate is, without running it', async () => {
    const f = fakeRun({ A: [10], B: [20_000, 10], C: [10] }, { estimateMs: { C: 5000 } });
    const r = await interleave(f.contenders, rules(), f.hooks);
    expect(r.sides[1]).toMatchObject({ status: 'skipped', note: 'slow: first run 20.0 s', warmupMs: [] });
    expect(r.sides[2]).toMatchObject({ status: 'skipped', note: 'slow: estimated 5.0 s a run' });
    expect(f.steps()).not.toContain('prepare C');
    expect(f.steps().filter((e) => e.startsWith('B'))).toEqual(['B0']);
    expect(r.sides[0]!.timing!.samples).toHaveLength(3);
  });

  it('never skips a neverSkip side: the headline rows are timed 3 times however slow the machine is', async () => {
    const f = fakeRun({ A: [200_000, 90_000], B: [100, 10] });
    f.contenders[0]!.neverSkip = true;
    f.contenders[0]!.estimateMs = 1e9;
    const r = await interleave(f.contenders, rules(), f.hooks);
    expect(r.sides[0]).toMatchObject({ status: 'ok', firstRunMs: 200_000 });
    expect(r.sides[0]!.timing!.samples).toEqual([90_000, 90_000, 90_000]);
    expect(r.sides[1]!.timing!.samples).toEqual([10, 10, 10]);
    expect(mustBeTimed('ours', 'train/dcgan-step')).toBe(true);
    expect(mustBeTimed('tfjs-webgpu', 'train/style-128')).toBe(true);
    expect(mustBeTimed('tfjs-wasm', 'train/style-128')).toBe(false);
    expect(mustBeTimed('tfjs-webgpu', 'layer/D2/gradWeight')).toBe(false);
  });

  it('does not sample, nor measure the ceiling, when every side was skipped', async () => {
    const f = fakeRun({ A: [20_000] });
    const r = await interleave(f.contenders, rules(), f.hooks);
    expect(r.rounds).toBe(0);
    expect(f.steps()).toEqual(['prepare A', 'A0', 'after first A']);
  });

  it('a side that throws is marked as an error and the others keep their rounds', async () => {
    const f = fakeRun({ A: [10], B: [10] }, { throwAt: { B: 2 } });
    const r = await interleave(f.contenders, rules(), f.hooks);
    expect(r.sides[1]).toMatchObject({ status: 'error', note: 'B broke on call 2' });
    expect(r.sides[0]!.timing!.samples).toHaveLength(3);
    expect(f.steps().slice(-5)).toEqual(['ceiling before', 'A2', 'A3', 'A4', 'ceiling after']);
  });

  it('adds rounds until every side has minTimeMs of samples, within maxSamples and budgetMs', async () => {
    // A's samples add up to 100 ms after 10 rounds of 10 ms; B is already past it.
    let f = fakeRun({ A: [10], B: [40] });
    let r = await interleave(f.contenders, rules({ minTimeMs: 100, maxSamples: 50 }), f.hooks);
    expect(r.rounds).toBe(10);
    expect(r.sides.map((s) => s.timing!.samples.length)).toEqual([10, 10]);
    f = fakeRun({ A: [10], B: [40] });
    r = await interleave(f.contenders, rules({ minTimeMs: 100, maxSamples: 6 }), f.hooks);
    expect(r.rounds).toBe(6);
    // The budget stops extra rounds (3 rounds take 150 ms > 120) but never cuts below `samples`.
    f = fakeRun({ A: [10], B: [40] });
    r = await interleave(f.contenders, rules({ minTimeMs: 100, maxSamples: 50, budgetMs: 120 }), f.hooks);
    expect(r.rounds).toBe(3);
    f = fakeRun({ A: [10], B: [40] });
    r = await interleave(f.contenders, rules({ samples: 4, budgetMs: 1 }), f.hooks);
    expect(r.rounds).toBe(4);
  });

  it('rejects nonsense counts', async () => {
    await expect(interleave([], rules({ samples: 0 }))).rejects.toThrow(/samples must be an integer >= 1/);
    await expect(interleave([], rules({ warmup: -1 }))).rejects.toThrow(/warmup must be an integer >= 0/);
  });

  it('--quick rules: one warm-up run and at least 3 samples for every kind; the training steps fit 60 s a run', () => {
    for (const kind of ['matmul', 'layer', 'train'] as const) {
      expect(samplingRules(true, kind)).toMatchObject({ warmup: 1, samples: 3 });
      expect(samplingRules(false, kind).samples).toBeGreaterThanOrEqual(5);
    }
    expect(samplingRules(true, 'layer').maxRunMs).toBe(10_000);
    expect(samplingRules(true, 'train').maxRunMs).toBe(60_000);
    // The headline rows run on ours and tfjs-webgpu in --quick.
    for (const id of ['train/dcgan-step', 'train/style-128']) {
      expect(inQuickSuite('ours', id) && inQuickSuite('tfjs-webgpu', id)).toBe(true);
    }
  });

  it('the throughput model predicts a layer from the same pass, then from matmuls; a training step from the layers', () => {
    const m = new ThroughputModel();
    const layer = { kind: 'layer' as const, pass: 'gradWeight' as const, flops: 4e9 };
    expect(m.estimate('tfjs-cpu', layer)).toBeUndefined();
    m.record('tfjs-cpu', { kind: 'matmul', flops: 1e9 }, 1000); // 1 GFLOP/s
    expect(m.estimate('tfjs-cpu', layer)).toBe(4000);
    m.record('tfjs-cpu', { kind: 'layer', pass: 'gradWeight', flops: 1e9 }, 10_000); // 0.1 GFLOP/s
    expect(m.estimate('tfjs-cpu', layer)).toBe(40_000);
    expect(m.estimate('tfjs-cpu', { kind: 'layer', pass: 'forward', flops: 1e9 })).toBe(1000);
    expect(m.estimate('tfjs-cpu', { kind: 'train', flops: 1e9 })).toBe(10_000);
    expect(m.estimate('tfjs-cpu', { kind: 'matmul', flops: 1e9 })).toBeUndefined();
    expect(m.estimate('ours', layer)).toBeUndefined();
  });
});

describe('the interleaved runner (suite.ts)', () => {
  const fixed = (): SamplingRules => rules({ warmup: 1, samples: 3, maxSamples: 3 });
  const workloads: SuiteWorkload[] = [
    { id: 'matmul/8', kind: 'matmul', flops: 1e6 },
    { id: 'layer/D2/gradWeight', kind: 'layer', pass: 'gradWeight', flops: 2e6 },
  ];
  /** A side whose steps take ~1 ms and log "<backend> <call>"; `fail` makes its steps throw that message. */
  const fakeSide = (backend: string, log: string[], over: Partial<BenchSide> = {}, fail?: string): BenchSide => ({
    backend,
    activate: () => void log.push(`activate ${backend}`),
    prepare: (w) => {
      log.push(`prepare ${backend} ${w.id}`);
      return {
        step: async () => {
          if (fail) throw new Error(fail);
          await new Promise((r) => setTimeout(r, 1));
          log.push(`step ${backend}`);
        },
        dispose: () => void log.push(`dispose ${backend} ${w.id}`),
        report: () => ({ memory: { numBytes: 42 }, note: `${backend} note` }),
      };
    },
    ...over,
  });

  it('interleaves the sides of each workload, then reports rows with ceilings, ratios and marks', async () => {
    const log: string[] = [];
    let ceilingCalls = 0;
    const rows = await runSuite(
      workloads,
      [
        fakeSide('ours', log),
        fakeSide('tfjs-wasm', log, {
          check: (w) =>
            w.pass === 'gradWeight' ? { status: 'unsupported', note: 'no Conv2DBackpropFilter kernel' } : undefined,
        }),
        fakeSide('tfjs-cpu', log),
      ],
      {
        quick: true,
        rules: fixed,
        ceiling: async () => (++ceilingCalls % 2 === 1 ? 10 : 20),
        beforeWorkload: () => void log.push('begin'),
        afterWorkload: () => void log.push('end'),
      },
    );
    // matmul/8: three sides in rounds; the layer: ours alone (wasm unsupported, cpu not in --quick).
    const matmulSteps = log.slice(0, log.indexOf('end')).filter((e) => e.startsWith('step '));
    expect(matmulSteps).toEqual(
      Array.from({ length: 5 }, () => ['step ours', 'step tfjs-wasm', 'step tfjs-cpu']).flat(),
    );
    expect(log.filter((e) => e.startsWith('dispose '))).toEqual([
      'dispose ours matmul/8',
      'dispose tfjs-wasm matmul/8',
      'dispose tfjs-cpu matmul/8',
      'dispose ours layer/D2/gradWeight',
    ]);
    expect(log.filter((e) => e === 'begin' || e === 'end')).toEqual(['begin', 'end', 'begin', 'end']);
    expect(ceilingCalls).toBe(4);

    const get = (w: string, b: string) => rows.find((r) => r.workload === w && r.backend === b)!;
    expect(rows).toHaveLength(6);
    const ours = get('matmul/8', 'ours');
    expect(ours).toMatchObject({
      status: 'ok',
      note: 'ours note',
      memory: { numBytes: 42 },
      ceilingGflops: 15,
      ceilingSamples: [10, 20],
    });
    expect(ours.interleaved).toEqual({ with: ['tfjs-wasm', 'tfjs-cpu'], rounds: 3, warmupRuns: 1 });
    expect(ours.timing!.samples).toHaveLength(3);
    expect(ours.timing!.warmupMs).toHaveLength(1);
    expect(ours.percentOfCeiling).toBeCloseTo((100 * gflops(1e6, ours.timing!.median)) / 15, 6);
    const cpu = get('matmul/8', 'tfjs-cpu');
    expect(cpu.vsOurs!.backend).toBe('ours');
    expect(cpu.vsOurs!.ratio).toBeCloseTo(cpu.timing!.median / ours.timing!.median, 9);
    expect(cpu.vsOurs!.perRound.min).toBeLessThanOrEqual(cpu.vsOurs!.perRound.max);
    expect(ours.vsOurs).toBeUndefined();
    expect(get('layer/D2/gradWeight', 'tfjs-wasm')).toMatchObject({
      status: 'unsupported',
      note: 'no Conv2DBackpropFilter kernel',
    });
    expect(get('layer/D2/gradWeight', 'tfjs-cpu')).toMatchObject({ status: 'skipped', note: 'not in --quick' });
    expect(get('layer/D2/gradWeight', 'ours').interleaved).toEqual({ with: [], rounds: 3, warmupRuns: 1 });
  });

  it('starts no workload past the deadline (every row skipped, nothing prepared); before it, all run', async () => {
    const log: string[] = [];
    const rows = await runSuite(workloads, [fakeSide('ours', log)], {
      quick: false,
      rules: fixed,
      // already past: no workload starts
      deadline: performance.now(),
      beforeWorkload: () => void log.push('begin'),
    });
    expect(rows.map((r) => [r.workload, r.status])).toEqual([
      ['matmul/8', 'skipped'],
      ['layer/D2/gradWeight', 'skipped'],
    ]);
    expect(rows.every((r) => r.note === 'past --deadline-s')).toBe(true);
    expect(log).toEqual([]);
    const soFar: string[][] = [];
    const later = await runSuite(workloads, [fakeSide('ours', log)], {
      quick: false,
      rules: fixed,
      deadline: performance.now() + 60_000,
      onRows: (rows) => void soFar.push(rows.map((r) => r.workload)),
    });
    expect(later.map((r) => r.status)).toEqual(['ok', 'ok']);
    // after each workload, every row so far (what bench/run.ts writes when a SIGTERM stops it)
    expect(soFar).toEqual([['matmul/8'], ['matmul/8', 'layer/D2/gradWeight']]);
  });

  it('reports unavailable sides on every row, classifies errors, and disposes what a failing side prepared', async () => {
    const log: string[] = [];
    const rows = await runSuite(
      workloads.slice(0, 1),
      [
        fakeSide('ours', log),
        fakeSide('tfjs-webgpu', log, { unavailable: 'backend unavailable' }),
        fakeSide(
          'tfjs-wasm',
          log,
          { classify: (e) => (isUnsupportedError(e) ? 'unsupported' : 'error') },
          "Kernel 'X' not registered for backend 'wasm'",
        ),
        fakeSide('tfjs-cpu', log, {}, 'Out of memory'),
      ],
      { quick: false, rules: fixed },
    );
    expect(rows.map((r) => [r.backend, r.status, r.note])).toEqual([
      ['ours', 'ok', 'ours note'],
      ['tfjs-webgpu', 'skipped', 'backend unavailable'],
      ['tfjs-wasm', 'unsupported', "Kernel 'X' not registered for backend 'wasm'"],
      ['tfjs-cpu', 'error', 'Out of memory'],
    ]);
    expect(log).not.toContain('prepare tfjs-webgpu matmul/8');
    expect(log.filter((e) => e.startsWith('dispose '))).toEqual([
      'dispose ours matmul/8',
      'dispose tfjs-wasm matmul/8',
      'dispose tfjs-cpu matmul/8',
    ]);
  });

  it('thread counts per column: lavapipe for ours and tfjs-webgpu, what tfjs-wasm reports, 1 for tfjs-cpu', () => {
    expect(sideThreads(['ours', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'], { lavapipe: 2, wasm: 1 })).toEqual({
      ours: 2,
      'tfjs-webgpu': 2,
      'tfjs-wasm': 1,
      'tfjs-cpu': 1,
    });
    expect(sideThreads(['ours', 'tfjs-wasm'], {})).toEqual({});
    // vitest's worker has no lavapipe device of its own.
    expect(lavapipeThreads()).toBeUndefined();
  });
});

describe('table rendering', () => {
  const timing = (...ms: number[]) => ({ ...summarize(ms), firstRunMs: ms[0]! * 3 });
  const rows: ResultRow[] = [
    { workload: 'matmul/1024', backend: 'ours', status: 'ok', flops: 2e9, timing: timing(100, 90, 120) },
    { workload: 'matmul/1024', backend: 'tfjs-webgpu', status: 'ok', flops: 2e9, timing: timing(400, 380, 410) },
    { workload: 'layer/D2/gradWeight', backend: 'ours', status: 'ok', flops: 1e9, timing: timing(50) },
    { workload: 'layer/D2/gradWeight', backend: 'tfjs-wasm', status: 'unsupported' },
    { workload: 'train/style-256', backend: 'tfjs-webgpu', status: 'skipped', note: 'slow: 12.0 s a warm run' },
  ];

  it('cells show the median, the min–max range and count of the timed runs, and GFLOP/s of the median', () => {
    expect(renderCell(rows[0])).toBe('100 ms (90.0–120, n=3; 20.0 GF/s)');
    expect(
      renderCell({ workload: 'w', backend: 'b', status: 'ok', flops: 3.7492e9, timing: timing(412, 398, 431) }),
    ).toBe('412 ms (398–431, n=3; 9.10 GF/s)');
    expect(renderCell({ ...rows[2]!, timing: timing(5, 4, 6, 5) })).toBe('5.00 ms (4.00–6.00, n=4; 200.0 GF/s)');
    expect(renderCell(rows[2])).toBe('50.0 ms (n=1; 20.0 GF/s)');
    expect(renderCell({ workload: 'w', backend: 'b', status: 'ok', timing: timing(5, 4, 6) })).toBe(
      '5.00 ms (4.00–6.00, n=3)',
    );
  });

  it('cells say unsupported, skipped with the reason, error, a dash when not run, and "1 run" for old single-run rows', () => {
    expect(renderCell(rows[3])).toBe('unsupported');
    expect(renderCell(rows[4])).toBe('skipped (slow: 12.0 s a warm run)');
    expect(renderCell({ workload: 'w', backend: 'b', status: 'error', note: 'boom' })).toBe('error');
    expect(renderCell(undefined)).toBe('—');
    const once = { ...rows[1]!, timing: { ...timing(400), firstRunReused: true } };
    expect(renderCell(once)).toBe('400 ms (5.00 GF/s, 1 run)');
  });

  it('ratio is the other backend median over ours; unsupported beats not-run', () => {
    expect(renderRatio(rows[0], rows[1])).toBe('4.00×');
    expect(renderRatio(rows[2], rows[3])).toBe('unsupported');
    expect(renderRatio(rows[0], undefined)).toBe('—');
    expect(renderRatio(undefined, rows[1])).toBe('—');
    expect(renderRatio(rows[0], rows[4])).toBe('—');
  });

  it('ratioStats pairs the samples of the same round, only for rows timed in the same rounds', () => {
    const ours: ResultRow = { ...rows[0]!, timing: timing(100, 50, 200) };
    const other: ResultRow = {
      ...rows[1]!,
      timing: timing(300, 200, 400),
      interleaved: { with: ['ours'], rounds: 3, warmupRuns: 1 },
    };
    // Medians 100 and 300: ratio 3; per round 3, 4 and 2.
    expect(ratioStats(ours, other)).toEqual({ backend: 'ours', ratio: 3, perRound: { median: 3, min: 2, max: 4 } });
    expect(ratioStats(ours, { ...other, interleaved: undefined })).toBeUndefined();
    expect(ratioStats(ours, { ...other, timing: timing(300, 200) })).toBeUndefined();
    expect(ratioStats(ours, rows[3])).toBeUndefined();
  });

  it('headers carry the thread count a backend computes with', () => {
    const threads = { ours: 2, 'tfjs-wasm': 1 };
    expect(renderHeader('tfjs-wasm', threads)).toBe('tfjs-wasm (1 thread)');
    expect(renderHeader('ours', threads)).toBe('ours (2 threads)');
    expect(renderHeader('tfjs-webgpu', threads)).toBe('tfjs-webgpu');
    expect(renderHeader('tfjs-webgpu')).toBe('tfjs-webgpu');
  });

  it('renders one line per workload with ratio and ceiling columns', () => {
    const md = renderTable(rows, {
      backends: ['ours', 'tfjs-webgpu', 'tfjs-wasm'],
      ours: 'ours',
      ceilingGflops: 24,
      threads: { 'tfjs-wasm': 1 },
    });
    const lines = md.trim().split('\n');
    expect(lines[0]).toBe(
      '| workload | GFLOP | ours | tfjs-webgpu | tfjs-wasm (1 thread) | ours/tfjs-webgpu | ours/tfjs-wasm | ceiling GF/s |',
    );
    expect(lines[1]).toBe('|---|---|---|---|---|---|---|---|');
    expect(lines[2]).toBe(
      '| matmul/1024 | 2.000 | 100 ms (90.0–120, n=3; 20.0 GF/s) | 400 ms (380–410, n=3; 5.00 GF/s) | — | 4.00× | — | 24.0 |',
    );
    expect(lines[3]).toBe(
      '| layer/D2/gradWeight | 1.000 | 50.0 ms (n=1; 20.0 GF/s) | — | unsupported | — | unsupported | 24.0 |',
    );
    expect(lines[4]).toBe('| train/style-256 | — | — | skipped (slow: 12.0 s a warm run) | — | — | — | 24.0 |');
    expect(lines).toHaveLength(5);
  });

  it("the ceiling column shows each workload's own ceiling (mean, then before–after) when the rows carry one", () => {
    const withCeilings: ResultRow[] = [
      { ...rows[0]!, ceilingGflops: 20, ceilingSamples: [22, 18] },
      { ...rows[1]!, ceilingGflops: 20, ceilingSamples: [22, 18] },
      { ...rows[2]!, ceilingGflops: 41.5, ceilingSamples: [41.5] },
      rows[4]!,
    ];
    const lines = renderTable(withCeilings, { backends: ['ours', 'tfjs-webgpu'], ours: 'ours' })
      .trim()
      .split('\n');
    expect(lines[0]!.endsWith('| ceiling GF/s |')).toBe(true);
    expect(lines[2]!.endsWith('| 4.00× | 20.0 (18.0–22.0) |')).toBe(true);
    expect(lines[3]!.endsWith('| 41.5 |')).toBe(true);
    expect(lines[4]!.endsWith('| — | — |')).toBe(true);
    // With a run-wide number too, a workload without its own ceiling falls back to it.
    const fallback = renderTable(withCeilings, { backends: ['ours', 'tfjs-webgpu'], ours: 'ours', ceilingGflops: 30 })
      .trim()
      .split('\n');
    expect(fallback[4]!.endsWith('| — | 30.0 |')).toBe(true);
    expect(fallback[2]!.endsWith('| 20.0 (18.0–22.0) |')).toBe(true);
  });

  it('without an "ours" backend there are no ratio columns, and no ceiling column without a ceiling', () => {
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
    const rows: ResultRow[] = [
      {
        workload: 'matmul/8',
        backend: 'tfjs-cpu',
        status: 'ok',
        flops: 1024,
        timing: { ...summarize([1]), firstRunMs: 2 },
      },
    ];
    const out = writeResults('Test Adapter 1', rows, { quick: true }, dir);
    expect(out.json).toBe(join(dir, 'test-adapter-1.json'));
    const parsed = JSON.parse(readFileSync(out.json, 'utf8'));
    expect(parsed.adapter).toBe('Test Adapter 1');
    expect(parsed.quick).toBe(true);
    expect(parsed.rows[0].timing.median).toBe(1);
    const md = readFileSync(out.md, 'utf8');
    expect(md).toContain('| matmul/8 | 0.000 | 1.00 ms (n=1; 0.00 GF/s) |');
    expect(existsSync(out.md)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['test-adapter-1.json', 'test-adapter-1.md']);
  });
});

/**
 * PyTorch-semantics reference in NHWC with tfjs filter layouts, in float64: conv reads, convT scatters (no kernel
 * flip).
 */
function referenceForward(l: ConvLayerShape, x: Float32Array, w: Float32Array): Float64Array {
  const { outH, outW } = convOutputSize(l);
  const { batch: N, inH: H, inW: W, inChannels: Ci, outChannels: Co, kernelH: K, stride: s, padding: p } = l;
  const y = new Float64Array(N * outH * outW * Co);
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
                  y[((n * outH + i) * outW + j) * Co + co] +=
                    x[((n * H + a) * W + b) * Ci + ci]! * w[((kh * K + kw) * Ci + ci) * Co + co]!;
                } else {
                  if (a < 0 || b < 0 || a >= outH || b >= outW) continue;
                  y[((n * outH + a) * outW + b) * Co + co] +=
                    x[((n * H + i) * W + j) * Ci + ci]! * w[((kh * K + kw) * Co + co) * Ci + ci]!;
                }
              }
          }
  return y;
}

/** Σ a·b in float64, and Σ |a·b|: the scale a rounding error of the sum is relative to. */
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const absDot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! * b[i]!);
  return s;
};

describe('tfjs adapter on the cpu backend', () => {
  let tf: Tf;
  beforeAll(async () => {
    const ctx = await loadTfjs({ backends: ['cpu'] });
    expect(ctx.available).toEqual(['cpu']);
    tf = ctx.tf;
  });

  const cases: ConvLayerShape[] = [
    layer({
      name: 'conv-k4s2p1',
      batch: 2,
      inChannels: 3,
      outChannels: 4,
      inH: 7,
      inW: 7,
      kernelH: 4,
      kernelW: 4,
      stride: 2,
      padding: 1,
    }),
    layer({
      name: 'convT-k3s2p2op1',
      kind: 'convT',
      batch: 2,
      inChannels: 3,
      outChannels: 2,
      inH: 5,
      inW: 5,
      stride: 2,
      padding: 2,
      outputPadding: 1,
    }),
    layer({ name: 'convT-k3s2', kind: 'convT', batch: 2, inChannels: 3, outChannels: 2, inH: 3, inW: 3, stride: 2 }),
  ];
  for (const l of cases) {
    it(`${l.name}: forward matches PyTorch semantics; grad-input and grad-weight are its adjoints`, async () => {
      const shapes = tfjsLayerShapes(l);
      type Shape4 = [number, number, number, number];
      const seeded = (shape: Shape4, seed: number) => {
        const values = Float32Array.from(randomArray(shape[0] * shape[1] * shape[2] * shape[3], seed));
        return tf.tensor(values, shape) as Parameters<typeof tfjsConvForward>[2];
      };
      const x = seeded(shapes.input, 1);
      const w = seeded(shapes.filter, 2) as Parameters<typeof tfjsConvForward>[3];
      const dy = seeded(shapes.output, 3);
      const y = tfjsConvForward(tf, l, x, w);
      expect(y.shape).toEqual(shapes.output);
      const [xd, wd, dyd] = [await x.data(), await w.data(), await dy.data()] as Float32Array[];
      const ref = referenceForward(l, xd!, wd!);
      expectClose((await y.data()) as Float32Array, ref, 1e-5);
      // <dy, A x> = <A^T dy, x> for the input, and the same with the weight as the variable: each side within
      // float32 rounding of the sum's magnitude Σ|dy·Ax|.
      const [lhs, scale] = [dot(dyd!, ref), absDot(dyd!, ref)];
      const dx = (await tfjsConvGradInput(tf, l, dy, w).data()) as Float32Array;
      expect(Math.abs(dot(dx, xd!) - lhs)).toBeLessThanOrEqual(1e-5 * scale);
      const dw = (await tfjsConvGradWeight(tf, l, x, dy, false).dFilter.data()) as Float32Array;
      expect(Math.abs(dot(dw, wd!) - lhs)).toBeLessThanOrEqual(1e-5 * scale);
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
    for (const w of [
      matmulWorkload(16),
      layerWorkload(cases[1]!, 'gradWeight'),
      layerWorkload({ ...cases[0]!, bias: true }, 'forward'),
    ]) {
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

describe('tfjs-wasm beside tfjs-cpu, switched per run', () => {
  let tf: Tf;
  let ctx: Awaited<ReturnType<typeof loadTfjs>>;
  beforeAll(async () => {
    ctx = await loadTfjs({ backends: ['wasm', 'cpu'] });
    tf = ctx.tf;
  });

  it('tfjs-wasm reports the threads it really has: 1 in Node, the single-threaded SIMD build', () => {
    expect(ctx.available).toEqual(['wasm', 'cpu']);
    expect(ctx.wasm).toEqual({ threads: 1, binary: 'tfjs-backend-wasm-simd.wasm', simd: true, multithread: false });
  });

  it('alternates the backends run by run and never moves a prepared tensor between them', async () => {
    const setBackend = vi.spyOn(tf.engine(), 'setBackend'); // calls through
    const moveData = vi.spyOn(tf.engine(), 'moveData');
    const before = tf.memory().numTensors;
    const workloads = [matmulWorkload(32)];
    try {
      const rows = await runSuite(workloads, [tfjsSide(ctx, 'wasm', workloads), tfjsSide(ctx, 'cpu', workloads)], {
        quick: false,
        rules: () => rules({ warmup: 1, samples: 3, maxSamples: 3 }),
      });
      expect(rows.map((r) => [r.backend, r.status, r.timing?.samples.length])).toEqual([
        ['tfjs-wasm', 'ok', 3],
        ['tfjs-cpu', 'ok', 3],
      ]);
      // first runs, one warm-up round, three timed rounds, then disposal: wasm, cpu, wasm, cpu, …
      expect(setBackend.mock.calls.map((c) => c[0])).toEqual(Array.from({ length: 6 }, () => ['wasm', 'cpu']).flat());
      expect(moveData).not.toHaveBeenCalled();
      expect(rows[0]!.memory!.numBytes).toBe(2 * 32 * 32 * 4); // a and b, prepared on wasm
    } finally {
      setBackend.mockRestore();
      moveData.mockRestore();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('bench/run.ts stopped by a timeout', () => {
  // GNU timeout sends its signal to the command and then to the command's process group, so the benchmark gets
  // SIGTERM twice. The first must write what was measured; the second must not end the process half way through.
  // (Sent back to back, as below, both arrive before any JavaScript runs and a once-only listener survived them
  // too: only a second signal after the writing began ended it, which the first test makes happen for certain.)
  it('onSigterm: a second SIGTERM during the writing (here sent by the writing itself) waits for it; exit 143', () => {
    const script = [
      "import { onSigterm } from './bench/stop-signal.ts';",
      "import { writeSync } from 'node:fs';",
      "onSigterm(() => { process.kill(process.pid, 'SIGTERM'); writeSync(1, 'written\\n'); });",
      "process.kill(process.pid, 'SIGTERM');",
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect([r.status, r.signal, r.stdout, r.stderr]).toEqual([143, null, 'written\n', '']);
  });

  it('writes the table of what it measured, and the workloads it never reached, on SIGTERM, and exits 143', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--no-tfjs', '--no-write', '--no-ceiling', '--only=matmul'],
      { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    const ended = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    await new Promise<void>((measured) =>
      child.stderr.on('data', (d) => {
        err += d;
        if (err.includes('ours matmul/256:')) measured();
      }),
    );
    process.kill(child.pid!, 'SIGTERM'); // as timeout does: the command, then its process group
    process.kill(-child.pid!, 'SIGTERM');
    expect(await ended, err).toBe(143);
    expect(out).toContain('stopped early (SIGTERM)');
    expect(out).toMatch(/\| matmul\/256 \| 0\.034 \| \d/);
    expect(out).toContain('not reached: stopped by SIGTERM');
  }, 120_000);
});
