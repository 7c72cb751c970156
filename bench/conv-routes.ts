/**
 * Two shape rules of src/tensor/conv.ts, each timed both ways on the same layers in one process:
 * - the conv weight gradient split-K (conv2d_weight_grad*.wgsl, chunks of pixels summed apart, then the chunks) or
 *   as a gather (conv2d_implicit_gemm*.wgsl with images and channels trading roles: weightGradAsGather), on every
 *   DCGAN layer;
 * - the transposed gather (convTranspose2d's forward, conv2d's input gradient) by stride phases or as a 1×1 conv
 *   and conv_col2im_planes.wgsl (transposedGatherViaCols), on the DCGAN layers where it is a gather (G2, G3
 *   forward; D2, D3 input gradient: the others run as a matrix product).
 * For each layer and batch the two routes run in alternating rounds, after one untimed run of each; each sample is
 * one pass between two `engine().sync()` calls. The route the rule takes is printed beside each row.
 *
 *   npx tsx bench/conv-routes.ts [--batches 16,64,256] [--rounds 5]   writes bench/results/conv-routes.{json,md}
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { initEngine, engine } from '../src/tensor/index.ts';
import { convVersion, setWgradRoute, setTransposedRoute } from '../src/tensor/conv.ts';
import { kernelLabel } from '../src/tensor/engine.ts';
import { passRunner } from './conv-layers.ts';
import { generatorLayers, discriminatorLayers, type ModelLayer } from './shapes.ts';
import { summarize, convPassFlops, type ConvPass, type SampleStats } from './harness.ts';
import { cliArg } from './profile.ts';
import { isMainModule } from '../src/node/main-module.ts';

/** One shape rule: its two routes, how to force one, and the passes it decides. */
interface Decision {
  id: 'wgrad' | 'transposed';
  title: string;
  routes: [string, string];
  force: (route: string | null) => void;
  /** A label of a kernel that only the second route launches. */
  marker: string;
  passes: (batch: number) => [ModelLayer, ConvPass][];
}

const DECISIONS: Decision[] = [
  {
    id: 'wgrad',
    title: 'The conv weight gradient: split-K or as a gather',
    routes: ['split', 'gather'],
    force: (r) => setWgradRoute((r ?? 'auto') as 'auto' | 'split' | 'gather'),
    marker: 'conv2d_implicit_gemm',
    passes: (batch) => [...generatorLayers(batch), ...discriminatorLayers(batch)].map((l) => [l, 'gradWeight']),
  },
  {
    id: 'transposed',
    title: 'The transposed gather: by stride phases or as a 1×1 conv and col2im',
    routes: ['phases', 'cols'],
    force: (r) => setTransposedRoute((r ?? 'auto') as 'auto' | 'phases' | 'cols'),
    marker: 'conv_col2im_planes',
    passes: (batch) => [
      ...generatorLayers(batch)
        .filter((l) => l.name === 'G2' || l.name === 'G3')
        .map((l): [ModelLayer, ConvPass] => [l, 'forward']),
      ...discriminatorLayers(batch)
        .filter((l) => l.name === 'D2' || l.name === 'D3')
        .map((l): [ModelLayer, ConvPass] => [l, 'gradInput']),
    ],
  },
];

interface RouteRow {
  decision: Decision['id'];
  layer: string;
  pass: ConvPass;
  batch: number;
  gflop: number;
  /** The route the rule takes for this pass. */
  rule: string;
  /** Times of the first and the second route. */
  first: SampleStats;
  second: SampleStats;
  /** first / second per round (> 1: the second route was faster in that round). */
  ratios: SampleStats;
}

/** The route the rule takes: whether the pass launches the second route's kernel. */
async function ruleRoute(d: Decision, run: () => { dispose(): void }): Promise<string> {
  const labels: string[] = [];
  engine().onLaunch = (k) => labels.push(kernelLabel(k));
  try {
    run().dispose();
  } finally {
    engine().onLaunch = null;
  }
  await engine().sync();
  return labels.some((l) => l.startsWith(d.marker)) ? d.routes[1] : d.routes[0];
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
  for (const d of DECISIONS) {
    for (const batch of batches) {
      for (const [l, pass] of d.passes(batch)) {
        const { run, free } = passRunner(l, pass);
        const times: number[][] = [[], []];
        let rule: string;
        try {
          rule = await ruleRoute(d, run);
          for (let round = 0; round <= rounds; round++) {
            for (const k of [0, 1]) {
              d.force(d.routes[k]!);
              const ms = await timeOnce(run);
              if (round > 0) times[k]!.push(ms);
            }
          }
        } finally {
          d.force(null);
          free();
        }
        const [a, b] = times as [number[], number[]];
        const row: RouteRow = {
          decision: d.id,
          layer: l.name,
          pass,
          batch,
          gflop: convPassFlops(l, pass) / 1e9,
          rule,
          first: summarize(a),
          second: summarize(b),
          ratios: summarize(a.map((t, i) => t / b[i]!)),
        };
        rows.push(row);
        console.log(
          `${d.id} batch ${batch} ${l.name} ${pass}: ${d.routes[0]} ${row.first.median.toFixed(1)} ms, ${d.routes[1]} ${row.second.median.toFixed(1)} ms, rule: ${rule}`,
        );
      }
    }
  }
  load.push(loadavg()[0]);
  const result = {
    runner: 'bench/conv-routes.ts',
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
  writeFileSync(join(dir, 'conv-routes.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(dir, 'conv-routes.md'), render(result));
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
    '# Two shape rules of the conv passes, each timed both ways',
    '',
    `Written by bench/conv-routes.ts, ${r.started} – ${r.finished}, on ${r.adapter} (conv kernels ${r.convVersion});`,
    `load average ${r.loadAverage.map((l) => l.toFixed(2)).join(' → ')}. Each pass's two routes ran in ${r.rounds}`,
    "alternating rounds after one untimed run each; ms per pass, median (min–max). Ratio: the first route's time",
    "over the second's, per round, median (min–max): above 1 the second was faster. Rule: the route",
    'src/tensor/conv.ts takes.',
  ];
  for (const d of DECISIONS) {
    const of = r.rows.filter((row) => row.decision === d.id);
    if (of.length === 0) continue;
    lines.push(
      '',
      `## ${d.title}`,
      '',
      `| batch | layer | pass | GFLOP | ${d.routes[0]} ms | ${d.routes[1]} ms | ratio | rule |`,
      '|---|---|---|---|---|---|---|---|',
      ...of.map(
        (row) =>
          `| ${row.batch} | ${row.layer} | ${row.pass} | ${row.gflop.toFixed(3)} | ${ms(row.first)} | ${ms(row.second)} | ${row.ratios.median.toFixed(2)} (${row.ratios.min.toFixed(2)}–${row.ratios.max.toFixed(2)}) | ${row.rule} |`,
      ),
      '',
    );
    for (const batch of [...new Set(of.map((row) => row.batch))]) {
      const at = of.filter((row) => row.batch === batch);
      const total = (f: (row: RouteRow) => number) => at.reduce((a, row) => a + f(row), 0);
      const byFirst = total((row) => row.first.median);
      const byRule = total((row) => (row.rule === d.routes[1] ? row.second : row.first).median);
      lines.push(
        `Batch ${batch}: these ${at.length} passes take ${byFirst.toFixed(1)} ms all ${d.routes[0]} and ${byRule.toFixed(1)} ms by the rule (sums of the medians).`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

if (isMainModule(import.meta.url)) await main();
