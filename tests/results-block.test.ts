/**
 * The generated figure blocks of README.md and docs/ (scripts/render-results.ts): the committed text must be what
 * the committed result files give, and the renderer's pure parts are checked on small fixtures made here.
 * No GPU: the renderer only reads files.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkBlocks,
  convSummary,
  countWord,
  cpusFromMeta,
  dcganConvWorkloads,
  distinctRuns,
  extractBlock,
  flags,
  formatRange,
  lossText,
  median,
  medianMs,
  percent,
  ratio,
  renderAll,
  renderNpmStart,
  renderSummary,
  replaceBlock,
  Repo,
  spanText,
  speedup,
  styleCompare,
  styleNet,
  threadsFromMeta,
  timeText,
  utcParts,
  versus,
  type BenchRow,
  type BenchRun,
  type GanConfig,
  type StyleIteration,
} from '../scripts/render-results.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('the committed blocks', () => {
  it('README.md and docs/ say what the committed result files give (`npm run results` rewrites them)', () => {
    const blocks = renderAll(ROOT);
    expect(blocks.length).toBeGreaterThan(0);
    expect(checkBlocks(ROOT, blocks)).toEqual([]);
  });
});

describe('pure helpers', () => {
  it('median of odd, even and unsorted lists; an empty list is an error', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(/empty/);
  });

  it('formatRange writes a shared unit once and collapses equal ends', () => {
    expect(formatRange([4.771, 3.15, 3.7], ratio)).toBe('3.15–4.77×');
    expect(formatRange([0.192, 0.2271], percent)).toBe('19.2–22.7%');
    expect(formatRange([6.18, 11.34], (x) => x.toFixed(1))).toBe('6.2–11.3');
    expect(formatRange([1.001, 1.004], ratio)).toBe('1.00×');
    expect(() => formatRange([], ratio)).toThrow(/empty/);
  });

  it('spanText says how many runs a value spans when some runs lack it', () => {
    expect(spanText([1.5, 2.5, 2], ratio)).toBe('1.50–2.50×');
    expect(spanText([1.5, undefined, 2], ratio)).toBe('1.50–2.00× (in two of the three runs)');
    expect(spanText([undefined], ratio)).toBe('not measured');
  });

  it('versus words a ratio by which side was faster, and says so when the runs disagree', () => {
    expect(versus([1.7, 1.75], 'X')).toBe('1.70–1.75× faster than X');
    expect(versus([0.5, 0.25], 'X')).toBe('2.00–4.00× slower than X');
    expect(versus([0.5, 2], 'X')).toBe("0.50–2.00× X's speed");
    expect(versus([undefined], 'X')).toBe('not measured against X');
  });

  it('formats counts, dates, losses and training flags', () => {
    expect(countWord(3)).toBe('three');
    expect(countWord(12)).toBe('12');
    expect(utcParts('2026-01-02T03:04:05.000Z')).toEqual({ day: '2026-01-02', time: '03:04' });
    expect(() => utcParts('yesterday')).toThrow(/not a date/);
    expect(lossText(31891.49)).toBe('3.189e4');
    expect(lossText(8259.3)).toBe('8259');
    const config = (o: Partial<GanConfig['options']>): GanConfig => ({
      model: { kind: 'dcgan' },
      dataset: 'x',
      images: 1,
      options: { batchSize: 64, lrG: 2e-4, lrD: 2e-4, realLabel: 0.9, seed: 1, ...o },
    });
    expect(flags(config({}))).toBe('the defaults');
    expect(flags(config({ gEma: 0.999, lrG: 6e-5, lrDecayStart: 10, lrDecayEnd: 20 }))).toBe(
      '`--g-ema 0.999 --lr-g 0.00006 --lr-decay 10:20`',
    );
  });

  it('styleNet reads the feature net off a command line', () => {
    expect(styleNet('tsx src/cli/main.ts style compare --content a.png --size 128')).toBe('the random-filter net');
    expect(styleNet('style --weights vgg16.h5 --content a.png')).toBe('VGG with the weights vgg16.h5');
    expect(styleNet('style --net vgg19 --content a.png')).toBe('vgg19');
  });
});

// A benchmark run made here: ours takes `ms` per workload, tfjs-webgpu `ms × factor`.
function fixtureRun(
  date: string,
  factors: Record<string, number>,
  extra: Partial<BenchRun> = {},
  rowExtra: Partial<BenchRow> = {},
): BenchRun {
  const rows: BenchRow[] = [];
  for (const [workload, factor] of Object.entries(factors)) {
    rows.push({
      workload,
      backend: 'ours',
      status: 'ok',
      flops: 1e9,
      timing: { median: 100, samples: [100, 100, 100] },
      ...rowExtra,
    });
    rows.push({
      workload,
      backend: 'tfjs-webgpu',
      status: 'ok',
      flops: 1e9,
      timing: { median: 100 * factor, samples: [100 * factor] },
    });
  }
  return { adapter: 'llvmpipe (test)', date, ceilingGflops: 50, rows, ...extra };
}

describe('benchmark runs', () => {
  it('speedup is the other backend time over ours; rows that did not run give undefined', () => {
    const run = fixtureRun('2026-01-01T00:00:00Z', { 'matmul/1024': 2.5 });
    run.rows.push({ workload: 'train/dcgan-step', backend: 'ours', status: 'skipped', flops: 1 });
    expect(speedup(run, 'matmul/1024', 'tfjs-webgpu')).toBeCloseTo(2.5, 12);
    expect(medianMs(run, 'train/dcgan-step', 'ours')).toBeUndefined();
    expect(speedup(run, 'train/dcgan-step', 'tfjs-webgpu')).toBeUndefined();
    expect(speedup(run, 'matmul/1024', 'tfjs-wasm')).toBeUndefined();
  });

  it('timeText gives the median with min–max and n, in s from 1000 ms, and says when a row did not run', () => {
    const run: BenchRun = {
      adapter: 'llvmpipe',
      date: '2026-01-01T00:00:00Z',
      ceilingGflops: 50,
      rows: [
        {
          workload: 'w',
          backend: 'ours',
          status: 'ok',
          flops: 1,
          timing: { median: 7144.05, min: 7010.1, max: 7360.8, samples: [7360.8, 7010.1, 7144.05] },
        },
        {
          workload: 'w',
          backend: 'tfjs-webgpu',
          status: 'ok',
          flops: 1,
          timing: { median: 176.4, min: 164.2, max: 204, samples: [164.2, 176.4, 204] },
        },
        { workload: 'w', backend: 'tfjs-wasm', status: 'ok', flops: 1, timing: { median: 43479, samples: [43479] } },
        { workload: 'w', backend: 'tfjs-cpu', status: 'skipped', flops: 1 },
      ],
    };
    expect(timeText(run, 'w', 'ours')).toBe('7.14 s (7.01–7.36, n=3)');
    expect(timeText(run, 'w', 'tfjs-webgpu')).toBe('176 ms (164–204, n=3)');
    expect(timeText(run, 'w', 'tfjs-wasm')).toBe('43.5 s (one run)');
    expect(timeText(run, 'w', 'tfjs-cpu')).toBe('not measured');
  });

  it('convSummary counts the DCGAN passes ≥ 3× and slower, takes their median and the aggregate share of the ceiling', () => {
    const workloads = dcganConvWorkloads();
    expect(workloads).toHaveLength(24);
    // 12 passes at 4×, 10 at 2×, 2 at 0.5×: median 3×, 12 ≥ 3×, 2 slower
    const factors = Object.fromEntries(workloads.map((w, i) => [w, i < 12 ? 4 : i < 22 ? 2 : 0.5]));
    const s = convSummary(fixtureRun('2026-01-01T00:00:00Z', factors))!;
    expect(s.compared).toBe(24);
    expect(s.atLeast3).toBe(12);
    expect(s.slower).toBe(2);
    expect(s.median).toBe(3);
    expect(s.worst.ratio).toBe(0.5);
    expect(s.gflops).toBeCloseTo(10, 12); // 1 GFLOP in 100 ms each
    expect(s.fractionOfCeiling).toBeCloseTo(10 / 50, 12);
    // a ceiling measured beside each row wins over the run's
    const perRow = convSummary(fixtureRun('2026-01-01T00:00:00Z', factors, {}, { ceilingGflops: 40 }))!;
    expect(perRow.fractionOfCeiling).toBeCloseTo(10 / 40, 12);
    expect(convSummary(fixtureRun('2026-01-01T00:00:00Z', { 'matmul/256': 1 }))).toBeUndefined();
  });

  it('distinctRuns keeps the first file of each date and sorts by date', () => {
    const a = { file: 'current.json', run: fixtureRun('2026-01-02T00:00:00Z', {}) };
    const aCopy = { file: 'history/copy.json', run: fixtureRun('2026-01-02T00:00:00Z', {}) };
    const b = { file: 'older.json', run: fixtureRun('2026-01-01T00:00:00Z', {}) };
    expect(distinctRuns([a, aCopy, b]).map((r) => r.file)).toEqual(['older.json', 'current.json']);
  });

  it('reads thread and core counts from the meta when a run records them', () => {
    const base = fixtureRun('2026-01-01T00:00:00Z', {});
    expect(threadsFromMeta(base)).toEqual({});
    expect(cpusFromMeta(base)).toBeUndefined();
    const rich = { ...base, threads: { ours: 2, 'tfjs-webgpu': 2, 'tfjs-wasm': 1 }, cpuCores: 2 };
    expect(threadsFromMeta(rich)).toEqual({
      wasm: { key: 'threads["tfjs-wasm"]', threads: 1 },
      lavapipe: { key: 'threads.ours', threads: 2 },
    });
    expect(cpusFromMeta(rich)).toEqual({ key: 'cpuCores', cpus: 2 });
    expect(threadsFromMeta({ ...base, wasm: { threads: 4, binary: 'simd' } }).wasm).toEqual({
      key: 'wasm.threads',
      threads: 4,
    });
    expect(threadsFromMeta({ ...base, tfjsWasmThreads: 1 }).wasm).toEqual({ key: 'tfjsWasmThreads', threads: 1 });
  });
});

describe('style compare', () => {
  it('finds where each optimizer first reaches the higher of the two final losses', () => {
    const it = (optimizer: string, iteration: number, evaluations: number, total: number): StyleIteration => ({
      optimizer,
      iteration,
      evaluations,
      seconds: evaluations,
      losses: { total },
    });
    const c = styleCompare([
      it('lbfgs', 1, 5, 900),
      it('lbfgs', 2, 7, 300),
      it('lbfgs', 3, 8, 100),
      it('adam', 1, 1, 800),
      it('adam', 2, 2, 400),
    ]);
    expect(c.target).toBe(400);
    expect([c.better, c.worse]).toEqual(['lbfgs', 'adam']);
    expect(c.byOptimizer.lbfgs.reach.iteration).toBe(2);
    expect(c.byOptimizer.lbfgs.reach.evaluations).toBe(7);
    expect(c.byOptimizer.adam.reach.iteration).toBe(2);
    expect(c.byOptimizer.lbfgs.last.iteration).toBe(3);
    expect(() => styleCompare([it('adam', 1, 1, 1)])).toThrow(/two optimizers/);
  });
});

describe('markers', () => {
  const doc = 'intro\n<!-- results:x:begin — generated -->\nold\nlines\n<!-- results:x:end -->\noutro\n';

  it('extractBlock and replaceBlock touch only the text between the markers', () => {
    expect(extractBlock(doc, 'x')).toBe('old\nlines');
    const next = replaceBlock(doc, 'x', 'new');
    expect(next).toBe('intro\n<!-- results:x:begin — generated -->\nnew\n<!-- results:x:end -->\noutro\n');
    expect(extractBlock(next, 'x')).toBe('new');
    expect(extractBlock(doc, 'y')).toBeUndefined();
    expect(() => replaceBlock(doc, 'y', 'z', 'DOC.md')).toThrow(/DOC\.md: no <!-- results:y:begin/);
  });

  it('checkBlocks names the file and the block that differ', () => {
    const dir = mkdtempSync(join(tmpdir(), 'results-check-'));
    try {
      writeFileSync(join(dir, 'A.md'), doc);
      expect(checkBlocks(dir, [{ file: 'A.md', name: 'x', body: 'old\nlines' }])).toEqual([]);
      expect(checkBlocks(dir, [{ file: 'A.md', name: 'x', body: 'other' }])).toEqual([
        expect.stringMatching(/^A\.md: block "x" differs/),
      ]);
      expect(checkBlocks(dir, [{ file: 'A.md', name: 'y', body: '' }])).toEqual([
        expect.stringMatching(/^A\.md: block "y" has no/),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the latest benchmark run, rendered from its own fields', () => {
  // A copy of the committed result files, with lavapipe.json's date, thread counts and per-row ceilings changed.
  const dir = mkdtempSync(join(tmpdir(), 'results-repo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const copyJson = (rel: string) =>
    cpSync(join(ROOT, rel), join(dir, rel), {
      recursive: true,
      filter: (src) => !/\.(png|md)$/.test(src) || src.endsWith('docs/style/README.md'),
    });

  it('uses the thread counts, per-row ceilings and date it finds', () => {
    for (const rel of [
      'bench/results',
      'docs/gan',
      'docs/style/compare.jsonl',
      'docs/style/README.md',
      'package-lock.json',
    ])
      copyJson(rel);
    const path = join(dir, 'bench/results/lavapipe.json');
    const run = JSON.parse(readFileSync(path, 'utf8')) as BenchRun;
    const newer = {
      ...run,
      date: '2099-01-01T00:00:00.000Z',
      ceilingGflopsAtEnd: 30,
      threads: { ours: 2, 'tfjs-webgpu': 2, 'tfjs-wasm': 1 },
      cpuCores: 2,
      procedure: 'interleaved',
      rows: run.rows.map((r) => ({
        ...r,
        ceilingGflops: 40,
        percentOfCeiling: 1,
        timing: r.timing && { ...r.timing, rounds: 3 },
      })),
    };
    writeFileSync(path, JSON.stringify(newer));
    const text = renderSummary(new Repo(dir));
    expect(text).toContain('tfjs-wasm ran on one thread (`threads["tfjs-wasm"]`');
    expect(text).toContain('ran on 2 threads (`threads.ours`) on a machine with 2 cores (`cpuCores`)');
    expect(text).toContain('of the FMA ceiling measured beside each pass');
    expect(text).toContain('the latest run ([2099-01-01 00:00 UTC](bench/results/lavapipe.json)');
    expect(text).toContain('of the FMA ceiling measured beside it (40.0 GFLOP/s)');
  });
});

describe("the README's npm start sentence", () => {
  const run = (o: Partial<Record<string, unknown>>) => ({
    seed: 1,
    commit: 'aaaaaaa0',
    startScript: 'S',
    date: '2026-01-01T00:00:00.000Z',
    wallSeconds: 150,
    exitCode: 0,
    step: 600,
    coverage: 10,
    confidentRate: 0.5,
    fd: 50,
    fdRealVsRealBaseline: 7.29,
    grid: 'grid-seed1.png',
    ...o,
  });
  const render = (runs: object[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'results-npm-start-'));
    try {
      cpSync(join(ROOT, 'docs/gan/npm-start'), join(dir, 'docs/gan/npm-start'), { recursive: true });
      writeFileSync(join(dir, 'docs/gan/npm-start/results.json'), JSON.stringify({ runs }));
      return renderNpmStart(new Repo(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("gives the newest commit's scores per seed, the earlier commits' as a range, and a grid no later run overwrote", () => {
    const text = render([
      run({ fd: 60, date: '2026-01-01T00:00:00.000Z' }),
      run({ seed: 2, fd: 70, coverage: 9, grid: 'grid-seed2.png', date: '2026-01-01T00:05:00.000Z' }),
      run({ commit: 'bbbbbbb0', fd: 50.5, date: '2026-01-02T00:00:00.000Z' }),
      run({ commit: 'bbbbbbb0', seed: 2, fd: 55, grid: 'grid-seed2.png', date: '2026-01-02T00:05:00.000Z' }),
      // a later failed run of seed 1 that still wrote its grid: seed 1's file is no longer the newest commit's
      run({ commit: 'bbbbbbb0', exitCode: 1, date: '2026-01-02T00:10:00.000Z' }),
    ]);
    expect(text).toContain(
      'the generators of the 2 at bbbbbbb drew 10/10 classes at a Fréchet distance of 50.50 (seed 1), ' +
        '10/10 classes at a Fréchet distance of 55.00 (seed 2); the 2 on earlier commits drew 9–10/10 classes at ' +
        'Fréchet distances of 60.00–70.00',
    );
    expect(text).toContain('The digits of seed 2 at step 600:');
    expect(text).toContain('(docs/gan/npm-start/grid-seed2.png)');
    expect(text).not.toContain('grid-seed1.png');
  });
});
