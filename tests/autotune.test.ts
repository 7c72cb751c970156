/**
 * Kernel choice by measurement per (adapter, op, shape) (src/tensor/autotune.ts): pickFastest's rule with a fake
 * clock; a new conv or matmul shape queued, timed at the next wait for the GPU and then run with its winner; the
 * table saved, read again and honoured; tables of another adapter or of changed kernels, damaged files and
 * unknown winners ignored; the modes; the Node file store and the environment variables (src/node/tune-store.ts).
 * Every candidate's correctness is tested against float64 in conv-tiled.test.ts and tensor-ops.test.ts.
 */
import { describe, it, expect, afterEach, beforeEach, vi } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHADERS } from '../src/shaders.gen.ts';
import { engine, Tensor, tidy } from '../src/tensor/index.ts';
import {
  chooseKernel,
  familySources,
  pickFastest,
  runsFor,
  pendingProblems,
  resetTuner,
  setTuneMode,
  setTuneReps,
  setTuneStore,
  tableKey,
  tuneLog,
  tuneProgress,
  setTuneReporter,
  type TuneEvent,
  tunedEntry,
  tuningEnabled,
  TUNE_FORMAT,
  TUNE_SAMPLE_MS,
  type TuneDocument,
  type TuneStore,
} from '../src/tensor/autotune.ts';
import { conv2d, setConvVersion, CONV_VERSIONS } from '../src/tensor/conv.ts';
import { matmul, setMatmulVersion } from '../src/tensor/matmul.ts';
import { withExactTimestamps } from '../src/tensor/gpu.ts';
import { configureKernelsFromEnv, defaultTuneFile, fileTuneStore } from '../src/node/tune-store.ts';
import { useEngine, randomArray, expectClose } from './helpers.ts';

useEngine();

/** A store in memory that records what was saved. */
function memoryStore(initial: unknown = null): TuneStore & { saved: TuneDocument[]; doc: unknown } {
  const s = {
    where: 'memory',
    doc: initial,
    saved: [] as TuneDocument[],
    load: () => s.doc,
    save: (d: TuneDocument) => {
      s.saved.push(JSON.parse(JSON.stringify(d)));
      s.doc = JSON.parse(JSON.stringify(d));
    },
  };
  return s;
}

/** The conv2d kernels (shader and channel tile) a forward pass of this layer launches. */
async function convKernels(x: number[], w: number[]): Promise<string[]> {
  const kernels: string[] = [];
  engine().onLaunch = (k) => {
    if (k.shader.startsWith('conv2d_')) kernels.push(`${k.shader} TM=${k.subs?.TM ?? k.subs?.TILE_M}`);
  };
  try {
    const y = tidy(() => conv2d(Tensor.zeros(x), Tensor.zeros(w), null, { padding: 1 }));
    engine().onLaunch = null;
    await y.toArray();
    y.dispose();
  } finally {
    engine().onLaunch = null;
  }
  return kernels;
}

/** Whether this device runs 'register-sg' as the *_sg kernels (a fixed subgroup size of 2–16 lanes). */
function sharesLoads(): boolean {
  const sg = engine().adapter.subgroupSize;
  return sg !== null && sg >= 2 && sg <= 16 && (sg & (sg - 1)) === 0;
}

const X = [2, 24, 9, 9];
const W = [40, 24, 3, 3];
const PROBLEM = 'conv.gather|2x24x9x9 to 40x9x9 k3x3 s1,1 p1,1 d1,1';

beforeEach(() => {
  resetTuner();
  setTuneReps(1);
});

afterEach(() => {
  setTuneMode('off');
  setTuneStore(null);
  setTuneReporter(null);
  setTuneReps(3);
  resetTuner();
  setConvVersion(null);
  setMatmulVersion(null);
});

/**
 * A clock for pickFastest that returns each version's next time in turn (the first is the untimed warm-up, the second
 * the run that sizes its samples) and records the calls (version, and the runs when more than one).
 */
function fakeTimes<V extends string>(times: Record<V, number[]>) {
  const calls: string[] = [];
  const next = {} as Record<V, number>;
  return {
    calls,
    timeRuns: async (v: V, runs: number) => {
      calls.push(runs === 1 ? v : `${v}×${runs}`);
      const i = next[v] ?? 0;
      next[v] = i + 1;
      return times[v][i]!;
    },
  };
}

/**
 * A GPU clock rounded down to multiples of `quantum` ms, as Dawn's and Chrome's timestamps are by default: a span of
 * `runs` runs reads as the difference of two rounded stamps; runs cost `cost[v]` ms each, and `gap` ms pass between
 * samples (so the stamps' phase against the rounding moves).
 */
function coarseClock<V extends string>(cost: Record<V, number>, quantum: number, start: number, gap: number) {
  let now = start;
  return async (v: V, runs: number) => {
    const t0 = now;
    now += runs * cost[v];
    const span = (Math.floor(now / quantum) - Math.floor(t0 / quantum)) * quantum;
    now += gap;
    return span / runs;
  };
}

describe('the tuned table is keyed by every kernel of the family', () => {
  it('familySources gives the source of every shaders/matmul*.wgsl and conv*.wgsl, includes expanded', () => {
    for (const prefix of ['matmul', 'conv']) {
      const files = readdirSync(join(import.meta.dirname, '..', 'shaders'))
        .filter((f) => f.startsWith(prefix) && f.endsWith('.wgsl'))
        .sort()
        .map((f) => f.replace(/\.wgsl$/, ''));
      expect(files.length).toBeGreaterThan(3);
      expect(familySources(prefix)).toEqual(files.map((f) => SHADERS[f]));
    }
    // v4 (tiled-vec4) was left out of the matmul key once: editing it kept the old winners
    expect(familySources('matmul')).toContain(SHADERS.matmul_tiled_vec4);
    // the register conv kernels' shared body (lib/conv_gather.wgsl) is in their sources
    expect(familySources('conv').filter((src) => src.includes('fn gather(wg: vec3<u32>')).length).toBe(2);
    // and the tiled ones' (lib/tile_slab.wgsl)
    expect(familySources('conv').filter((src) => src.includes('fn multiplySlab(')).length).toBe(2);
  });
});

describe('pickFastest', () => {
  it('warms each version up once, sizes its samples, then times them in alternating rounds and picks the lowest median', async () => {
    // a: warm-up 1000, one run 9, then 9, 30, 10 → median 10. b: warm-up 1, one run 1, then 12, 11, 1 → median 11.
    // By mean b would win (8 vs 16.3), by the warm-up or the single run too; the median picks a.
    // (no version cut after its one run here, where a's is 9 times b's: see the test of the cut below)
    const t = fakeTimes({ a: [1000, 9, 9, 30, 10], b: [1, 1, 12, 11, 1] });
    const r = await pickFastest(['a', 'b'] as const, t.timeRuns, { reps: 3, prune: Infinity });
    expect(r.best).toBe('a');
    expect(r.ms).toEqual({ a: 10, b: 11 });
    expect(r.runs).toEqual({ a: 1, b: 1 }); // no shortest sample asked for: one run a sample
    expect(t.calls).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('times a version whose run is shorter than the shortest sample several runs at a time', async () => {
    // One run: a 0.3 ms → 8 runs fill 2 ms (2^⌈log2 6.7⌉); b 5 ms → 1; c read 0 (under the clock's step) → the most.
    const t = fakeTimes({ a: [9, 0.3, 0.31, 0.29], b: [9, 5, 5.1, 4.9], c: [9, 0, 0.05, 0.05, 0.04] });
    const r = await pickFastest(['a', 'b', 'c'] as const, t.timeRuns, { reps: 2, minSampleMs: 2, maxRuns: 32 });
    expect(r.runs).toEqual({ a: 8, b: 1, c: 32 });
    // b's one run, 5 ms, is over 4 times c's (over a sample of 32 runs, c's one run having read 0) and long enough to
    // believe, and a second run agrees: cut, the quicker run its time
    expect(t.calls).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'c×32', 'b', 'a×8', 'c×32', 'a×8', 'c×32']);
    expect(r.cut).toEqual(['b']);
    expect(r.ms).toEqual({ a: 0.31, b: 5, c: 0.05 });
    expect(r.best).toBe('c');
  });

  it('cuts before the rounds a version whose one run took over 4 times the quickest, if long enough to believe', async () => {
    // warm-up, one run, then (fast, the quickest, ran 1 ms: under the 2 ms sample) one sample of 2 runs of fast, the
    // reference; then the rounds. near 3.9 ms: under 4×, timed; slow 4.1 ms: cut; broken fails its warm-up: out at
    // Infinity, never run again.
    const t = fakeTimes({
      fast: [9, 1, 1, 1, 1, 1],
      near: [9, 3.9, 3.8, 3.8, 3.8],
      slow: [9, 4.1, 4.1, 4.1, 4.1],
      broken: [Infinity],
    });
    const r = await pickFastest(['slow', 'near', 'broken', 'fast'] as const, t.timeRuns, { reps: 3, minSampleMs: 2 });
    expect(r.cut).toEqual(['slow']);
    expect(t.calls).toEqual([
      ...['slow', 'near', 'broken', 'fast'], // warm-ups
      ...['slow', 'near', 'fast'], // one run each
      'fast×2', // the quickest over a whole sample
      'slow', // a second run, which agrees: cut
      ...['near', 'fast×2', 'near', 'fast×2', 'near', 'fast×2'],
    ]);
    expect(r.ms).toEqual({ slow: 4.1, near: 3.8, broken: Infinity, fast: 1 });
    expect(r.best).toBe('fast');
    // One stalled run does not cut the winner (its second run is timed too), and a cut version does not win even
    // where the rounds run slower than its runs did.
    const stall = fakeTimes({ win: [9, 9, 2, 2, 2, 2], other: [9, 2.2, 2.2, 2.2, 2.2] });
    const s1 = await pickFastest(['other', 'win'] as const, stall.timeRuns, { reps: 3, minSampleMs: 2 });
    expect([s1.best, s1.cut]).toEqual(['win', []]);
    const slowRounds = fakeTimes({ a: [9, 2, 10, 10, 10], b: [9, 9, 9] });
    const s2 = await pickFastest(['a', 'b'] as const, slowRounds.timeRuns, { reps: 3, minSampleMs: 2 });
    expect([s2.best, s2.cut, s2.ms]).toEqual(['a', ['b'], { a: 10, b: 9 }]);
    // a run that reads NaN or Infinity after the warm-up is out, at Infinity, and not a reference
    const nan = fakeTimes({ a: [1, NaN], b: [1, 1, 1, 1, 1, 1], c: [1, 50, 50] });
    const s3 = await pickFastest(['a', 'b', 'c'] as const, nan.timeRuns, { reps: 3, minSampleMs: 2 });
    expect([s3.best, s3.cut, s3.ms]).toEqual(['b', ['c'], { a: Infinity, b: 1, c: 50 }]);
    // The reference is the quickest one's whole sample: a first run read short (0.1 ms on a coarse clock) does not
    // cut a version at 4.1 ms when a sample of it gives 3 ms.
    const u = fakeTimes({ coarse: [9, 0.1, 3, 3, 3, 3], slow: [9, 4.1, 4.1, 4.1, 4.1] });
    const v = await pickFastest(['slow', 'coarse'] as const, u.timeRuns, { reps: 3, minSampleMs: 2, maxRuns: 32 });
    expect(v.cut).toEqual([]);
    expect(v.ms).toEqual({ slow: 4.1, coarse: 3 });
    // prune: Infinity times every version that ran, and takes no reference sample
    const w = fakeTimes({ fast: [9, 1, 1, 1, 1], slow: [9, 4.1, 4.1, 4.1, 4.1] });
    const all = await pickFastest(['slow', 'fast'] as const, w.timeRuns, { reps: 3, minSampleMs: 2, prune: Infinity });
    expect(all.cut).toEqual([]);
    expect(w.calls).toEqual(['slow', 'fast', 'slow', 'fast', 'slow', 'fast×2', 'slow', 'fast×2', 'slow', 'fast×2']);
  });

  it('tells kernels of a few microseconds apart on a clock rounded to 65.5 µs, whatever its phase', async () => {
    // 12 µs against 30 µs, the slower listed first (a tie would keep it): one run at a time both read 0 or 65.5 µs.
    const q = 0.065536;
    for (let k = 0; k < 8; k++) {
      const clock = coarseClock({ slow: 0.03, fast: 0.012 }, q, (k * q) / 8, 0.0173);
      const one = await pickFastest(['slow', 'fast'] as const, clock, { reps: 3 });
      expect([0, q]).toContain(one.ms.fast); // what the clock gives one run: the pick is chance
      const r = await pickFastest(['slow', 'fast'] as const, clock, { reps: 3, minSampleMs: 2 });
      expect(r.best, `phase ${k}/8`).toBe('fast');
      for (const v of ['slow', 'fast'] as const) {
        expect(r.runs[v]).toBeGreaterThanOrEqual(32);
        expect(Math.abs(r.ms[v] - { slow: 0.03, fast: 0.012 }[v])).toBeLessThanOrEqual(q / r.runs[v]);
      }
    }
  });

  it('keeps the earlier version on a tie', async () => {
    const t = fakeTimes({ x: [5, 7, 7], y: [5, 7, 7] });
    expect((await pickFastest(['x', 'y'] as const, t.timeRuns, { reps: 1 })).best).toBe('x');
    const u = fakeTimes({ x: [5, 7, 7], y: [5, 7, 7] });
    expect((await pickFastest(['y', 'x'] as const, u.timeRuns, { reps: 1 })).best).toBe('y');
  });

  it('throws when given nothing to compare', async () => {
    await expect(pickFastest([], async () => 0)).rejects.toThrow('pickFastest: no versions to compare');
  });

  it('runsFor: a power of two that fills the sample, 1 for a long or failed run, the most for a run read as 0', () => {
    expect(runsFor(0.3, 2, 64)).toBe(8);
    expect(runsFor(0.25, 2, 64)).toBe(8);
    expect(runsFor(0.24, 2, 64)).toBe(16);
    expect(runsFor(0.001, 2, 64)).toBe(64);
    expect(runsFor(0, 2, 64)).toBe(64);
    expect(runsFor(2, 2, 64)).toBe(1);
    expect(runsFor(Infinity, 2, 64)).toBe(1);
    expect(runsFor(NaN, 2, 64)).toBe(1);
    expect(runsFor(0.3, 0, 64)).toBe(1);
  });
});

describe("the engine's GPU clock (Engine.timeGpu), which the tuner times with", () => {
  it('spans all the launches between its two timestamps, and is not rounded to 65.5 µs in Node', async () => {
    const e = engine();
    expect(e.device.features.has('timestamp-query')).toBe(true); // lavapipe offers it; the tests rely on it here
    const a = Tensor.fromArray(randomArray(128 * 128, 1), [128, 128]);
    const b = Tensor.fromArray(randomArray(128 * 128, 2), [128, 128]);
    const outs: Tensor[] = [];
    const spans = { one: [] as number[], many: [] as number[] };
    try {
      await e.sync();
      for (let r = 0; r < 3; r++) {
        for (const [key, n] of [
          ['one', 1],
          ['many', 16],
        ] as const) {
          await e.sync();
          const ms = await e.timeGpu(() => {
            for (let i = 0; i < n; i++) outs.push(matmul(a, b));
          });
          spans[key].push(ms!);
        }
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1]!;
      expect(median(spans.one)).toBeGreaterThan(0);
      // in milliseconds: within the wall-clock time around a span (which holds it, and its submit and read-back)
      await e.sync();
      const t0 = performance.now();
      const span = (await e.timeGpu(() => outs.push(matmul(a, b), matmul(a, b))))!;
      const wall = performance.now() - t0;
      expect(span).toBeLessThanOrEqual(wall);
      expect(span).toBeGreaterThan(wall / 100);
      // 16 products against one: the quickest span of 16 (a span stretched by other work on the machine is never
      // shorter) over 3 times the middle one of 1; a span of only the first or last launch would be about 1 time.
      expect(Math.min(...spans.many)).toBeGreaterThan(3 * median(spans.one));
      // Dawn's default rounds every stamp to a multiple of 65,536 ns, so each span would be a multiple of it too.
      const rounded = [...spans.one, ...spans.many].filter((ms) => Math.round(ms * 1e6) % 65536 === 0);
      expect(rounded.length).toBeLessThan(6);
      // What was timed ran: the last product is a's times b.
      expectClose(await outs.at(-1)!.toArray(), await matmul(a, b).toArray(), 1e-6);
      // No GPU clock while a profile is recorded (its launches each get their own timestamps).
      e.startProfiling();
      expect(await e.timeGpu(() => matmul(a, b).dispose())).toBeNull();
      await e.stopProfiling();
    } finally {
      for (const t of [a, b, ...outs]) t.dispose();
    }
  });

  it("withExactTimestamps adds Dawn's toggle, or extends a caller's own list of disabled features", () => {
    expect(withExactTimestamps([])).toEqual(['disable-dawn-features=timestamp_quantization']);
    expect(withExactTimestamps(['enable-dawn-features=a'])).toEqual([
      'enable-dawn-features=a',
      'disable-dawn-features=timestamp_quantization',
    ]);
    expect(withExactTimestamps(['disable-dawn-features=lazy_clear_resource_on_first_use'])).toEqual([
      'disable-dawn-features=lazy_clear_resource_on_first_use,timestamp_quantization',
    ]);
    expect(withExactTimestamps(['disable-dawn-features=timestamp_quantization'])).toEqual([
      'disable-dawn-features=timestamp_quantization',
    ]);
    expect(withExactTimestamps(['disable-dawn-features='])).toEqual(['disable-dawn-features=timestamp_quantization']);
  });
});

describe('the tuner on this adapter', () => {
  it('queues a new conv shape, times every candidate at the next read-back, saves the table and runs the winner', async () => {
    const store = memoryStore();
    setTuneStore(store);
    setTuneMode('on');
    const before = await convKernels(X, W);
    // Untuned, the adapter's default ran, and the problem waits in the queue until the first read-back.
    // (the subgroup gather's 16-channel tile: its 32-channel one, on lavapipe, would waste 24 of 64 rows here)
    const registerSg = sharesLoads() ? 'conv2d_implicit_gemm_sg TM=16' : 'conv2d_implicit_gemm TM=16';
    expect(before).toEqual([engine().adapter.isCPU ? registerSg : 'conv2d_implicit_gemm_tiled TM=64']);
    expect(tuneLog().map((l) => l.problem)).toContain(PROBLEM);
    expect(pendingProblems()).toEqual([]);
    const entry = tunedEntry(PROBLEM)!;
    // 40 output channels: every version but tiled-128 and tiled-128-vec4 (the same 64-channel tiles as tiled and
    // tiled-vec4 here) gives a different kernel or tile, and register-sg does where the device shares loads in
    // subgroups (elsewhere it is the register kernel again); 'naive' is never a candidate.
    const same = ['naive', 'tiled-128', 'tiled-128-vec4', ...(sharesLoads() ? [] : ['register-sg'])];
    expect(Object.keys(entry.ms).sort()).toEqual(CONV_VERSIONS.filter((v) => !same.includes(v)).sort());
    for (const ms of Object.values(entry.ms)) expect(ms).toBeGreaterThan(0);
    expect(entry.ms[entry.best]).toBe(Math.min(...Object.values(entry.ms)));
    // a candidate cut before the rounds ran at least a whole sample's time in its one run, and is not the winner
    for (const c of entry.cut ?? []) {
      expect(Object.keys(entry.ms)).toContain(c);
      expect(entry.ms[c]).toBeGreaterThanOrEqual(TUNE_SAMPLE_MS);
      expect(c).not.toBe(entry.best);
    }
    // Saved under this adapter's key, with the winner.
    expect(store.saved.length).toBe(1);
    const table = store.saved[0]!.tables[tableKey()]!;
    expect(store.saved[0]!.format).toBe(TUNE_FORMAT);
    expect(table.entries[PROBLEM]).toEqual(entry);
    // From now on the winner runs, and nothing is timed again.
    const expected = {
      register: 'conv2d_implicit_gemm TM=16',
      'register-sg': registerSg,
      'register-tm8': 'conv2d_implicit_gemm TM=8',
      'register-tm32': 'conv2d_implicit_gemm TM=32',
      tiled: 'conv2d_implicit_gemm_tiled TM=64',
      'tiled-m16': 'conv2d_implicit_gemm_tiled TM=16',
      'tiled-vec4': 'conv2d_implicit_gemm_tiled TM=64',
    }[entry.best];
    const logged = tuneLog().length;
    expect(await convKernels(X, W)).toEqual([expected]);
    expect(tuneLog().length).toBe(logged);
    expect(store.saved.length).toBe(1);
  }, 180_000);

  it('honours a stored table: the stored winner runs at once, with nothing timed', async () => {
    setTuneMode('on');
    const doc: TuneDocument = {
      format: TUNE_FORMAT,
      tables: {
        [tableKey()]: {
          adapter: 'this one',
          updated: '2026-11-30T00:00:00Z',
          entries: { [PROBLEM]: { best: 'tiled-m16', ms: { register: 9, 'tiled-m16': 1 }, cut: ['register'] } },
        },
      },
    };
    setTuneStore(memoryStore(doc));
    const dispatches = engine().stats().dispatches;
    expect(await convKernels(X, W)).toEqual(['conv2d_implicit_gemm_tiled TM=16']);
    expect(tuneLog()).toEqual([]);
    // The conv's own launches only: zero-fills of x and w, the weight packing and the conv (no tuning runs).
    expect(engine().stats().dispatches - dispatches).toBe(4);
  }, 120_000);

  it("asks a problem's candidates once: later launches of a shape with a stored winner pay for no candidate list", () => {
    setTuneMode('on');
    const problem = 'test.op|a shape';
    const doc: TuneDocument = {
      format: TUNE_FORMAT,
      tables: {
        [tableKey()]: { adapter: 'this one', updated: '', entries: { [problem]: { best: 'b', ms: { b: 1 } } } },
      },
    };
    setTuneStore(memoryStore(doc));
    let asked = 0;
    const candidates = () => (asked++, ['a', 'b']);
    const make = () => ({ run: () => {}, dispose: () => {} });
    for (let i = 0; i < 5; i++) expect(chooseKernel(problem, candidates, 'a', make)).toBe('b');
    expect(asked).toBe(1);
    // a store read again (another table) asks again
    setTuneStore(memoryStore(doc));
    expect(chooseKernel(problem, candidates, 'a', make)).toBe('b');
    expect(asked).toBe(2);
    expect(pendingProblems()).toEqual([]);
  });

  it('ignores a table of another adapter or of changed kernels, a damaged store and a winner that is not a candidate', async () => {
    setTuneMode('on');
    const entry = { best: 'tiled-m16', ms: { 'tiled-m16': 1 } };
    const other = (key: string): TuneDocument => ({
      format: TUNE_FORMAT,
      tables: { [key]: { adapter: 'x', updated: '', entries: { [PROBLEM]: entry } } },
    });
    const keyWithOtherKernels = tableKey().replace(/kernels [0-9a-f]+$/, 'kernels 00000000');
    const cases: [string, unknown, () => unknown][] = [
      ['another adapter', other(`other|gpu|0|Some GPU|${tableKey().split('|').pop()}`), () => null],
      ['changed kernels', other(keyWithOtherKernels), () => null],
      ['another format', { ...other(tableKey()), format: 'something/2' }, () => null],
      [
        'an unknown winner',
        { format: TUNE_FORMAT, tables: { [tableKey()]: { entries: { [PROBLEM]: { best: 'turbo', ms: {} } } } } },
        () => null,
      ],
      [
        'a cut list that is no list',
        { format: TUNE_FORMAT, tables: { [tableKey()]: { entries: { [PROBLEM]: { ...entry, cut: 'register' } } } } },
        () => null,
      ],
      [
        'a damaged file',
        null,
        () => {
          throw new SyntaxError('Unexpected token');
        },
      ],
    ];
    for (const [what, doc, load] of cases) {
      resetTuner();
      const store = memoryStore(doc);
      if (what === 'a damaged file') store.load = load;
      setTuneStore(store);
      setTuneMode('off'); // nothing timed: only the lookup is checked
      setTuneMode('on');
      expect(tunedEntry(PROBLEM)?.best, what).not.toBe('tiled-m16');
    }
  });

  it("'off' looks nothing up and queues nothing; 'auto' tunes on GPUs only", async () => {
    setTuneStore(memoryStore());
    setTuneMode('off');
    expect(tuningEnabled()).toBe(false);
    await convKernels(X, W);
    expect(tuneLog()).toEqual([]);
    setTuneMode('auto');
    expect(tuningEnabled()).toBe(!engine().adapter.isCPU);
    const y = tidy(() => conv2d(Tensor.zeros(X), Tensor.zeros(W), null, { padding: 1 }));
    expect(pendingProblems()).toEqual(engine().adapter.isCPU ? [] : [PROBLEM]);
    setTuneMode('off'); // drops the queue
    expect(pendingProblems()).toEqual([]);
    await y.toArray();
    y.dispose();
    expect(tuneLog()).toEqual([]);
  });

  it('a candidate that fails is skipped (the read-back that tunes still works); all failing keeps the default', async () => {
    setTuneMode('on');
    setTuneStore(memoryStore());
    const problem = (name: string, failing: string[]) =>
      chooseKernel(
        `test|${name}`,
        () => ['a', 'b', 'c'],
        'a',
        () => ({
          run: (c) => {
            if (failing.includes(c)) throw new Error(`candidate ${c} cannot run here`);
          },
          dispose: () => {},
        }),
      );
    expect(problem('some-fail', ['a', 'c'])).toBe('a'); // the default, until tuned
    expect(problem('all-fail', ['a', 'b', 'c'])).toBe('a');
    const t = Tensor.zeros([4]);
    expect(Array.from(await t.toArray())).toEqual([0, 0, 0, 0]); // tuning ran inside this read-back, which worked
    t.dispose();
    expect(tunedEntry('test|some-fail')).toEqual({ best: 'b', ms: { b: expect.any(Number) } });
    expect(tunedEntry('test|all-fail')).toBeUndefined();
    expect(problem('some-fail', ['a', 'c'])).toBe('b');
    expect(problem('all-fail', ['a', 'b', 'c'])).toBe('a');
    expect(pendingProblems()).toEqual([]); // the untunable problem is not queued again
  });

  it('gives milliseconds per run, whatever number of runs a sample took', async () => {
    // 'one' launches one product, 'four' the same product 4 times: 'one' is timed more runs a sample (its run is
    // shorter), and per run it takes about a quarter of 'four' (a sample's whole span would read about the same)
    setTuneMode('on');
    setTuneReps(3);
    setTuneStore(memoryStore());
    const a = Tensor.fromArray(randomArray(128 * 128, 3), [128, 128]);
    const outs: Tensor[] = [];
    try {
      chooseKernel(
        'test|per run',
        () => ['four', 'one'],
        'four',
        () => ({
          run: (c) => {
            for (let i = 0; i < (c === 'one' ? 1 : 4); i++) outs.push(matmul(a, a));
          },
          dispose: () => {},
        }),
      );
      const t = Tensor.zeros([2]);
      await t.toArray();
      t.dispose();
      const entry = tunedEntry('test|per run')!;
      expect(entry.best).toBe('one');
      const ratio = entry.ms.four! / entry.ms.one!;
      expect(ratio, JSON.stringify(entry)).toBeGreaterThan(2);
      expect(ratio, JSON.stringify(entry)).toBeLessThan(8);
    } finally {
      for (const t of [a, ...outs]) t.dispose();
    }
  });

  it('times the default first (a tie keeps it), wherever the op lists it', async () => {
    setTuneMode('on');
    setTuneStore(memoryStore());
    const order: string[] = [];
    chooseKernel(
      'test|order',
      () => ['a', 'b', 'fallback'],
      'fallback',
      () => ({
        run: (c) => void order.push(c),
        dispose: () => {},
      }),
    );
    const t = Tensor.zeros([2]);
    await t.toArray();
    t.dispose();
    expect(order.slice(0, 3)).toEqual(['fallback', 'a', 'b']); // the warm-ups
  });

  it('tuneProgress says which problem of how many is being timed while the tuner runs, and null otherwise; the reporter hears start and end', async () => {
    setTuneMode('on');
    setTuneStore(memoryStore());
    const seen: string[] = [];
    const queue = (name: string) =>
      chooseKernel(
        `test|progress ${name}`,
        () => ['a', 'b'],
        'a',
        () => ({
          run: () => {
            const p = tuneProgress();
            const line = p && `${p.done} of ${p.total}: ${p.problem}`;
            if (line && !seen.includes(line)) seen.push(line);
          },
          dispose: () => {},
        }),
      );
    for (const name of ['x', 'y', 'z']) queue(name);
    expect(tuneProgress()).toBeNull();
    const told: TuneEvent[] = [];
    setTuneReporter((e) => told.push(e));
    const t = Tensor.zeros([2]);
    try {
      await t.toArray(); // the read-back that tunes
    } finally {
      setTuneReporter(null);
    }
    t.dispose();
    expect(seen).toEqual(['0 of 3: test|progress x', '1 of 3: test|progress y', '2 of 3: test|progress z']);
    expect(tuneProgress()).toBeNull();
    // the reporter hears the start and the end, and where the winners went
    expect(told).toEqual([
      { phase: 'start', problems: 3, store: 'memory' },
      { phase: 'end', tuned: 3, seconds: expect.any(Number), where: 'memory' },
    ]);
  });

  it('a forced version wins over the table and over tuning', async () => {
    setTuneMode('on');
    setTuneStore(memoryStore());
    setConvVersion('register-tm8');
    expect(await convKernels(X, W)).toEqual(['conv2d_implicit_gemm TM=8']);
    expect(tuneLog()).toEqual([]);
  });

  it('tunes a matmul with a long k between split-K and unsplit kernels; the result is the same either way', async () => {
    setTuneMode('on');
    setTuneStore(memoryStore());
    const a = Float32Array.from(randomArray(16 * 2048, 1));
    const b = Float32Array.from(randomArray(2048 * 24, 2));
    const A = Tensor.fromArray(a, [16, 2048]);
    const B = Tensor.fromArray(b, [2048, 24]);
    const first = matmul(A, B);
    const firstValues = await first.toArray();
    const [tuned] = tuneLog();
    expect(tuned!.problem).toBe('matmul|16x24x2048 batch 1 strides 11 trans 00 acc 0');
    expect(Object.keys(tuned!.entry.ms).sort()).toEqual([
      'register',
      'register-splitk',
      'tiled',
      'tiled-128',
      'tiled-128-splitk',
      'tiled-128-vec4',
      'tiled-128-vec4-splitk',
      'tiled-splitk',
      'tiled-vec4',
      'tiled-vec4-splitk',
    ]);
    const second = matmul(A, B);
    const ref = new Float64Array(16 * 24);
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < 24; j++) {
        let s = 0;
        for (let k = 0; k < 2048; k++) s += a[i * 2048 + k]! * b[k * 24 + j]!;
        ref[i * 24 + j] = s;
      }
    expectClose(firstValues, ref, 1e-5, 'default kernel');
    expectClose(await second.toArray(), ref, 1e-5, `tuned kernel ${tuned!.entry.best}`);
    for (const t of [A, B, first, second]) t.dispose();
  }, 120_000);
});

describe('the table in a file, and the environment (src/node/tune-store.ts)', () => {
  it('saves, reloads and honours a table; a damaged file is tuned again and overwritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tune-'));
    const file = join(dir, 'sub', 'autotune.json');
    setTuneMode('on');
    setTuneStore(fileTuneStore(file));
    await convKernels(X, W);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as TuneDocument;
    const best = saved.tables[tableKey()]!.entries[PROBLEM]!.best;
    // A fresh process (here: a fresh in-memory table) reads the file and runs the stored winner untimed.
    resetTuner();
    setTuneStore(fileTuneStore(file));
    expect(tunedEntry(PROBLEM)?.best).toBe(best);
    await convKernels(X, W);
    expect(tuneLog()).toEqual([]);
    // Damaged: counts as empty, is tuned again and the file is rewritten whole.
    writeFileSync(file, '{"format": "wgpu-gan-autotune/1", "tables": {');
    resetTuner();
    setTuneStore(fileTuneStore(file));
    expect(tunedEntry(PROBLEM)).toBeUndefined();
    await convKernels(X, W);
    expect(tuneLog().map((l) => l.problem)).toEqual([PROBLEM]);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).tables[tableKey()].entries)).toEqual([PROBLEM]);
  }, 240_000);

  it('WGPU_GAN_AUTOTUNE, _FILE, _CONV, _MATMUL, _DAWN_POLL and _LIMITS set the mode, the file, forced versions, polling and limits', () => {
    expect(configureKernelsFromEnv({ XDG_CACHE_HOME: '/c' })).toEqual({
      mode: 'auto',
      file: '/c/wgpu-gan/autotune.json',
      conv: null,
      matmul: null,
      poll: 'auto',
      limits: 'adapter',
    });
    expect(defaultTuneFile({ XDG_CACHE_HOME: '/c' })).toBe('/c/wgpu-gan/autotune.json');
    expect(
      configureKernelsFromEnv({
        WGPU_GAN_AUTOTUNE: 'on',
        WGPU_GAN_AUTOTUNE_FILE: 'none',
        WGPU_GAN_CONV: 'tiled-m16',
        WGPU_GAN_MATMUL: 'register-splitk',
        WGPU_GAN_DAWN_POLL: 'spin',
        WGPU_GAN_LIMITS: 'default',
      }),
    ).toEqual({
      mode: 'on',
      file: null,
      conv: 'tiled-m16',
      matmul: 'register-splitk',
      poll: 'spin',
      limits: 'default',
    });
    expect(() => configureKernelsFromEnv({ WGPU_GAN_DAWN_POLL: 'sleep' })).toThrow(
      'WGPU_GAN_DAWN_POLL="sleep" is not one of auto, spin, timer',
    );
    expect(() => configureKernelsFromEnv({ WGPU_GAN_LIMITS: 'max' })).toThrow(
      'WGPU_GAN_LIMITS="max" is not one of adapter, default',
    );
    configureKernelsFromEnv({});
    expect(() => configureKernelsFromEnv({ WGPU_GAN_AUTOTUNE: 'yes' })).toThrow(
      'WGPU_GAN_AUTOTUNE="yes" is not one of auto, on, off',
    );
    expect(() => configureKernelsFromEnv({ WGPU_GAN_CONV: 'fast' })).toThrow(
      'WGPU_GAN_CONV="fast" is not one of naive, register, register-sg, register-tm8, register-tm32, tiled, tiled-m16, tiled-128, tiled-vec4, tiled-128-vec4, tiled-splitk, tiled-vec4-splitk',
    );
    expect(() => configureKernelsFromEnv({ WGPU_GAN_MATMUL: 'x' })).toThrow(
      'WGPU_GAN_MATMUL="x" is not one of naive, register, register-splitk, register-sg, register-sg-splitk, tiled, tiled-splitk, tiled-128, tiled-128-splitk, tiled-vec4, tiled-vec4-splitk, tiled-128-vec4, tiled-128-vec4-splitk',
    );
  });

  it('a command line says on stderr when it starts timing kernels and when it ended, and where the winners went', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tune-')), 'autotune.json');
    configureKernelsFromEnv({ WGPU_GAN_AUTOTUNE: 'on', WGPU_GAN_AUTOTUNE_FILE: file });
    chooseKernel(
      'test|said',
      () => ['a', 'b'],
      'a',
      () => ({ run: () => {}, dispose: () => {} }),
    );
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((m) => (lines.push(String(m)), true));
    const t = Tensor.zeros([2]);
    try {
      await t.toArray();
    } finally {
      spy.mockRestore();
      t.dispose();
    }
    expect(lines[0]).toBe('timing kernel versions on this adapter for 1 shape (once: the winners are kept)…\n');
    expect(lines[1]).toMatch(/^timed kernel versions for 1 shape in \d+\.\d s; the winners are kept in (.+)\n$/);
    expect(lines[1]).toContain(file);
    expect(lines).toHaveLength(2);
    // kept nowhere (WGPU_GAN_AUTOTUNE_FILE=none), or in a file that cannot be written: nothing said to be kept
    const blocker = join(mkdtempSync(join(tmpdir(), 'tune-')), 'a-file');
    writeFileSync(blocker, '');
    for (const [where, expected] of [
      ['none', ''],
      [
        join(blocker, 'autotune.json'),
        `autotune: could not save the kernel table to ${join(blocker, 'autotune.json')}`,
      ],
    ] as const) {
      resetTuner();
      configureKernelsFromEnv({ WGPU_GAN_AUTOTUNE: 'on', WGPU_GAN_AUTOTUNE_FILE: where });
      chooseKernel(
        `test|said ${where}`,
        () => ['a', 'b'],
        'a',
        () => ({ run: () => {}, dispose: () => {} }),
      );
      const said: string[] = [];
      const spy2 = vi.spyOn(process.stderr, 'write').mockImplementation((m) => (said.push(String(m)), true));
      const err = vi.spyOn(console, 'error').mockImplementation((m) => void said.push(String(m)));
      const u = Tensor.zeros([2]);
      try {
        await u.toArray();
      } finally {
        spy2.mockRestore();
        err.mockRestore();
        u.dispose();
      }
      expect(said[0], where).toBe(
        'timing kernel versions on this adapter for 1 shape' +
          (where === 'none' ? '' : ' (once: the winners are kept)') +
          '…\n',
      );
      expect(said.at(-1), where).toMatch(/^timed kernel versions for 1 shape in \d+\.\d s\n$/);
      if (expected)
        expect(
          said.some((l) => l.startsWith(expected)),
          said.join('|'),
        ).toBe(true);
    }
  });

  it('every command-line entry point applies the variables: an unknown value is one line and exit 2', () => {
    const root = join(import.meta.dirname, '..');
    // main.ts dispatches train, sample, eval, style and demo; these three also run on their own (npm run demo, …)
    for (const entry of ['main.ts', 'demo.ts', 'style.ts', 'train-classifier.ts']) {
      const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'src', 'cli', entry), '--help'], {
        env: { ...process.env, WGPU_GAN_LIMITS: 'max' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, `${entry}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n'), entry).toEqual([
        expect.stringContaining('WGPU_GAN_LIMITS="max" is not one of adapter, default'),
      ]);
    }
  }, 120_000);
});
