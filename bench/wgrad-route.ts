/**
 * The conv weight gradient two ways, on the same layers in one process: split-K (conv2d_weight_grad*.wgsl, each
 * chunk of pixels summed apart, then the chunks) and as a gather (conv2d_implicit_gemm*.wgsl with images and
 * channels trading roles; see weightGradAsGather in src/tensor/conv.ts). For each DCGAN layer and batch, the two
 * routes run in alternating rounds (split, gather, split, …), after one untimed run of each; each sample is one
 * pass between two `engine().sync()` calls. What wgradAsGather's rule picks is printed beside each row.
 *
 *   npx tsx bench/wgrad-route.ts [--batches 16,64,256] [--rounds 5]   writes bench/results/wgrad-route.{json,md}
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { initEngine, engine } from '../src/tensor/index.ts';
import { convVersion, setWgradRoute, type WgradRoute } from '../src/tensor/conv.ts';
import { kernelLabel } from '../src/tensor/engine.ts';
import { passRunner } from './conv-layers.ts';
import { generatorLayers, discriminatorLayers } from './shapes.ts';
import { summarize, convPassFlops, type SampleStats } from './harness.ts';
import { cliArg } from './profile.ts';
import { isMainModule } from '../src/node/main-module.ts';

interface RouteRow {
  layer: string;
  batch: number;
  gflop: number;
  /** What the rule (route 'auto') takes for this layer. */
  auto: 'split' | 'gather';
  split: SampleStats;
  gather: SampleStats;
  /** split / gather per round (> 1: the gather was faster in that round). */
  ratios: SampleStats;
}

/** The route the rule takes (route 'auto'): the kernels the pass launches say which. */
async function ruleRoute(run: () => { dispose(): void }): Promise<'split' | 'gather'> {
  const labels: string[] = [];
  engine().onLaunch = (k) => labels.push(kernelLabel(k));
  try {
    run().dispose();
  } finally {
    engine().onLaunch = null;
  }
  await engine().sync();
  return labels.some((l) => l.startsWith('conv2d_implicit_gemm')) ? 'gather' : 'split';
}

async function timeOnce(run: () => { dispose(): void }): Promise<number> {
  const t0 = performance.now();
  const y = run();
  await engine().sync();
  const ms = performance.now() - t0;
  y.dispose();
  return ms;
}

export async function main(): Promise<void> {
  const batches = cliArg('batches', '16,64,256').split(',').map(Number);
  const rounds = Number(cliArg('rounds', '5'));
  await initEngine({ autotune: false });
  const started = new Date().toISOString();
  const load = [loadavg()[0]];
  const rows: RouteRow[] = [];
  for (const batch of batches) {
    for (const l of [...generatorLayers(batch), ...discriminatorLayers(batch)]) {
      const { run, free } = passRunner(l, 'gradWeight');
      const times: Record<'split' | 'gather', number[]> = { split: [], gather: [] };
      const routes: Exclude<WgradRoute, 'auto'>[] = ['split', 'gather'];
      let auto: 'split' | 'gather';
      try {
        auto = await ruleRoute(run);
        for (let round = 0; round <= rounds; round++) {
          for (const route of routes) {
            setWgradRoute(route);
            const ms = await timeOnce(run);
            if (round > 0) times[route].push(ms);
          }
        }
      } finally {
        setWgradRoute('auto');
        free();
      }
      const row: RouteRow = {
        layer: l.name,
        batch,
        gflop: convPassFlops(l, 'gradWeight') / 1e9,
        auto,
        split: summarize(times.split),
        gather: summarize(times.gather),
        ratios: summarize(times.split.map((s, i) => s / times.gather[i]!)),
      };
      rows.push(row);
      console.log(
        `batch ${batch} ${l.name}: split ${row.split.median.toFixed(1)} ms, gather ${row.gather.median.toFixed(1)} ms, rule: ${row.auto}`,
      );
    }
  }
  load.push(loadavg()[0]);
  const result = {
    runner: 'bench/wgrad-route.ts',
    started,
    finished: new Date().toISOString(),
    adapter: engine().adapter.description,
    convVersion: convVersion(),
    rounds,
    loadAverage: load,
    rows,
  };
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'wgrad-route.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(dir, 'wgrad-route.md'), render(result));
  console.log(render(result));
}

function render(r: {
  started: string;
  finished: string;
  adapter: string;
  convVersion: string;
  rounds: number;
  loadAverage: number[];
  rows: RouteRow[];
}): string {
  const ms = (s: SampleStats) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  const lines = [
    '# The conv weight gradient: split-K or as a gather',
    '',
    `Written by bench/wgrad-route.ts, ${r.started} – ${r.finished}, on ${r.adapter} (conv kernels ${r.convVersion});`,
    `load average ${r.loadAverage.map((l) => l.toFixed(2)).join(' → ')}. Each layer's two routes ran in ${r.rounds}`,
    'alternating rounds after one untimed run each; ms per pass, median (min–max). Ratio: split time / gather time',
    'of each round, median (min–max): above 1 the gather was faster. "Rule": the route src/tensor/conv.ts takes.',
    '',
    '| batch | layer | GFLOP | split-K ms | gather ms | ratio | rule |',
    '|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (row) =>
        `| ${row.batch} | ${row.layer} | ${row.gflop.toFixed(3)} | ${ms(row.split)} | ${ms(row.gather)} | ${row.ratios.median.toFixed(2)} (${row.ratios.min.toFixed(2)}–${row.ratios.max.toFixed(2)}) | ${row.auto} |`,
    ),
    '',
  ];
  for (const batch of [...new Set(r.rows.map((row) => row.batch))]) {
    const of = r.rows.filter((row) => row.batch === batch);
    const total = (f: (row: RouteRow) => number) => of.reduce((a, row) => a + f(row), 0);
    const bySplit = total((row) => row.split.median);
    const byRule = total((row) => (row.auto === 'gather' ? row.gather.median : row.split.median));
    lines.push(
      `Batch ${batch}: the ${of.length} weight-gradient passes take ${bySplit.toFixed(1)} ms all split-K and ${byRule.toFixed(1)} ms by the rule (sums of the medians).`,
    );
  }
  return lines.join('\n') + '\n';
}

if (isMainModule(import.meta.url)) await main();
