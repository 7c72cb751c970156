/**
 * Four shape rules of src/tensor/conv.ts, each timed both ways on the same layers in one process:
 * - the conv weight gradient split-K (conv2d_weight_grad*.wgsl, chunks of pixels summed apart, then the chunks) or
 *   as a gather (conv2d_implicit_gemm*.wgsl with images and channels trading roles: weightGradAsGather), on every
 *   DCGAN layer;
 * - the transposed gather (convTranspose2d's forward, conv2d's input gradient) by stride phases (with one output
 *   channel: as a matrix product and conv_col2im.wgsl) or as a 1×1 conv and conv_col2im_planes.wgsl
 *   (transposedGatherViaCols), on the DCGAN layers where it is a gather (G2, G3, G4 forward; every D layer's input
 *   gradient: G1's forward, of a 1×1 input, is a matrix product);
 * - the subgroup gather's register tile (conv2d_implicit_gemm_sg.wgsl) where the wide one applies (lavapipe with
 *   8-lane subgroups, more than 16 output channels): 'plain', 16 output channels × up to 10 pixels per invocation (laneTile's pick), or 'wide',
 *   32 × 4 (convTiles.gatherSgTM, gatherSgTN; with vec4 weights where the next rule takes them, as the engine runs
 *   it); the rule, wideTileWins, is a cost model of loads and idle slots; on every DCGAN pass and on the forward and input
 *   gradient of VGG16's layers at 128 px (style transfer, batch 1), the passes that run the gather;
 * - the subgroup gather's weights, where its tile is 32 channels: loaded a float at a time, or 4 at a time as vec4s
 *   (convTiles.quadWeights), on the DCGAN forward and input-gradient passes and the VGG ones (the weight gradient as a
 *   gather reads its "weights", P, in place with channels a whole map apart: no vec4s there).
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
import { convTiles, convVersion, setWgradRoute, setTransposedRoute, setWideTileRoute } from '../src/tensor/conv.ts';
import type { Kernel } from '../src/tensor/engine.ts';
import { passRunner } from './conv-layers.ts';
import { generatorLayers, discriminatorLayers, vggLayers, type ModelLayer } from './shapes.ts';
import { summarize, convPassFlops, type ConvPass, type SampleStats } from './harness.ts';
import { cliArg } from './profile.ts';
import { isMainModule } from '../src/node/main-module.ts';

/** One shape rule: its two routes, how to force one, and the passes it decides. */
interface Decision {
  id: 'wgrad' | 'transposed' | 'tile' | 'quad';
  title: string;
  routes: [string, string];
  force: (route: string | null) => void;
  /** Whether a launched kernel is one that only the second route launches. */
  marker: (k: Kernel) => boolean;
  passes: (batch: number) => [ModelLayer, ConvPass][];
  /** Passes timed once, at their own batch, whatever --batches says. */
  fixedPasses?: [ModelLayer, ConvPass][];
}

/** The given passes of every DCGAN layer at `batch`. */
const dcganPasses = (batch: number, passes: readonly ConvPass[]): [ModelLayer, ConvPass][] =>
  [...generatorLayers(batch), ...discriminatorLayers(batch)].flatMap((l) =>
    passes.map((p): [ModelLayer, ConvPass] => [l, p]),
  );

/** The forward and input-gradient passes of VGG16's layers at 128 px (style transfer, batch 1). */
const vggPasses: [ModelLayer, ConvPass][] = vggLayers(128).flatMap((l) =>
  (['forward', 'gradInput'] as const).map((p): [ModelLayer, ConvPass] => [l, p]),
);

const DECISIONS: Decision[] = [
  {
    id: 'wgrad',
    title: 'The conv weight gradient: split-K or as a gather',
    routes: ['split', 'gather'],
    force: (r) => setWgradRoute((r ?? 'auto') as 'auto' | 'split' | 'gather'),
    marker: (k) => k.shader.startsWith('conv2d_implicit_gemm'),
    passes: (batch) => dcganPasses(batch, ['gradWeight']),
  },
  {
    id: 'transposed',
    title: 'The transposed gather: by stride phases (one output channel: a matrix product) or as a 1×1 conv and col2im',
    routes: ['phases', 'cols'],
    force: (r) => setTransposedRoute((r ?? 'auto') as 'auto' | 'phases' | 'cols'),
    marker: (k) => k.shader === 'conv_col2im_planes',
    passes: (batch) => [
      ...generatorLayers(batch)
        .filter((l) => l.name !== 'G1')
        .map((l): [ModelLayer, ConvPass] => [l, 'forward']),
      ...discriminatorLayers(batch).map((l): [ModelLayer, ConvPass] => [l, 'gradInput']),
    ],
  },
  {
    id: 'tile',
    title:
      "The subgroup gather's register tile: 16 output channels × up to 10 pixels (laneTile's pick) or 32 × 4 per invocation (with its vec4 weights where they apply: the rule below); the rule is wideTileWins's cost model",
    routes: ['plain', 'wide'],
    force: (r) => setWideTileRoute((r ?? 'auto') as 'auto' | 'wide' | 'plain'),
    marker: (k) => k.shader === 'conv2d_implicit_gemm_sg' && k.subs?.TM === String(convTiles.gatherSgTM),
    passes: (batch) => dcganPasses(batch, ['forward', 'gradInput', 'gradWeight']),
    fixedPasses: vggPasses,
  },
  {
    id: 'quad',
    title: "The subgroup gather's weights (32-channel tiles): one float or one vec4 per lane-by-lane load",
    routes: ['float', 'vec4'],
    force: (r) => {
      convTiles.quadWeights = r !== 'float';
      // both ways on the 32-channel tile (by itself the tile rule may take the plain one without vec4 weights)
      setWideTileRoute(r === null ? 'auto' : 'wide');
    },
    marker: (k) => k.constants?.QUAD_WEIGHTS === true,
    passes: (batch) => dcganPasses(batch, ['forward', 'gradInput']),
    fixedPasses: vggPasses,
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

/** The route the rule takes: whether the pass, run as the engine runs it, launches a kernel of the second route. */
async function ruleRoute(d: Decision, run: () => { dispose(): void }): Promise<string> {
  let second = false;
  engine().onLaunch = (k) => (second ||= d.marker(k));
  try {
    run().dispose();
  } finally {
    engine().onLaunch = null;
  }
  await engine().sync();
  return second ? d.routes[1] : d.routes[0];
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
    for (const [l, pass] of [...batches.flatMap((batch) => d.passes(batch)), ...(d.fixedPasses ?? [])]) {
      const batch = l.batch;
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
    '# Four shape rules of the conv passes, each timed both ways',
    '',
    `Written by bench/conv-routes.ts, ${r.started} – ${r.finished}, on ${r.adapter} (conv kernels ${r.convVersion});`,
    `load average ${r.loadAverage.map((l) => l.toFixed(2)).join(' → ')}. Each pass's two routes ran in ${r.rounds}`,
    "alternating rounds after one untimed run each; ms per pass, median (min–max). Ratio: the first route's time",
    "over the second's, per round, median (min–max): above 1 the second was faster. Rule: the route",
    'src/tensor/conv.ts takes, read from the kernels the pass launches.',
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
