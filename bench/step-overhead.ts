/**
 * Launches, submits and host (JavaScript + Dawn encoding) milliseconds per training step — what a step costs the
 * CPU besides the kernels, which on a fast GPU is much of the step. Three workloads: the lesson DCGAN at batch 16
 * with the GPU's conv dispatch rule (convTiles.lavapipeFlopsPerDispatch = 4e10) and conv routes (the weight
 * gradient split-K, the transposed gather by phases), so that lavapipe counts the launches a GPU makes; the same with `npm start`'s recipe (its weight
 * average, --g-ema 0.95, and label smoothing); and a style-transfer iteration (VGG16 to block4_conv2 at 64 px,
 * the benchmark's style workload).
 *
 *   npx tsx bench/step-overhead.ts [--steps 12]                 one measurement, printed as JSON
 *   npx tsx bench/step-overhead.ts --compare DIR [--rounds 3]   this checkout against another (e.g. a `git worktree`
 *       of an earlier commit), each measured in its own process, alternating DIR and this one for --rounds rounds;
 *       writes bench/results/step-overhead.{json,md}
 *
 * Host milliseconds are the synchronous part of each step (recording launches, writing uniforms, submitting) up to
 * its first wait for the GPU, as wall time and as the process's CPU time over it: the median over the steps of a
 * process, then the median over a tree's rounds. The machine's speed drifts and other work preempts the wall time,
 * so only rounds interleaved in one run compare.
 */
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { initEngine, engine } from '../src/tensor/index.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { convTiles } from '../src/tensor/conv.ts';
import { ganSpec } from '../src/gan/models.ts';
import { ourWorkloads } from './ours.ts';
import { cliArg } from './profile.ts';

interface Overhead {
  launches: number;
  /** Buffer copies per step (null where the engine measured did not count them: before 2026-12-01). */
  copies: number | null;
  submits: number;
  hostMs: number;
  /** The process's CPU milliseconds over the same part (the GPU is idle then: the step before was awaited). */
  hostCpuMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Runs `step` twice untimed, then `steps` times: launches and submits per step, median host ms. */
async function measure(step: () => Promise<unknown>, steps: number): Promise<Overhead> {
  for (let i = 0; i < 2; i++) await step();
  const e = engine();
  await e.sync();
  const before = e.stats();
  const host: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const done = step();
    host.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    await done;
  }
  const after = e.stats();
  return {
    launches: (after.dispatches - before.dispatches) / steps,
    copies: 'copies' in after ? (after.copies - before.copies) / steps : null,
    submits: (after.submits - before.submits) / steps,
    hostMs: median(host),
    hostCpuMs: median(cpu),
  };
}

type Workload = 'dcgan' | 'dcganEma' | 'style';
type Measured = Record<Workload, Overhead>;
const WORKLOADS: [Workload, string][] = [
  ['dcgan', 'lesson DCGAN step, batch 16'],
  ['dcganEma', "lesson DCGAN step, batch 16, npm start's recipe (G average)"],
  ['style', 'style iteration, 64 px'],
];

export async function stepOverhead(steps: number): Promise<Measured> {
  await initEngine();
  convTiles.lavapipeFlopsPerDispatch = convTiles.flopsPerDispatch = 4e10;
  // A GPU runs the weight gradient split-K and the transposed gather by phases; lavapipe would take other routes
  // for some layers (wgradAsGather, transposedViaCols in src/tensor/conv.ts). Looked up, not imported: --compare
  // runs this script in older checkouts too.
  const conv = (await import('../src/tensor/conv.ts')) as {
    setWgradRoute?: (r: 'split') => void;
    setTransposedRoute?: (r: 'phases') => void;
  };
  conv.setWgradRoute?.('split');
  conv.setTransposedRoute?.('phases');
  const spec = ganSpec('dcgan', {});
  const batch = 16;
  const real = new Float32Array(batch * spec.channels * spec.size * spec.size).map((_, i) => Math.sin(i));
  const gan = async (opts: object) => {
    const t = new GanTrainer(spec, { batchSize: batch, seed: 1, ...opts });
    const m = await measure(() => t.readStats(t.trainBatch(real)), steps);
    t.dispose();
    return m;
  };
  // The first workload of a process would also pay for compiling the trainer's JavaScript: a throwaway run first.
  await gan({});
  const dcgan = await gan({});
  const dcganEma = await gan({ lrG: 2e-3, lrD: 2e-3, realLabel: 0.9, gEma: 0.95 });
  const workload = ourWorkloads({ matmulSizes: [], styleSizes: [64] }).find((w) => w.id === 'train/style-64')!;
  const run = workload.prepare();
  const style = await measure(run.step, steps);
  run.dispose();
  return { dcgan, dcganEma, style };
}

const here = dirname(fileURLToPath(import.meta.url));

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
}

/**
 * One measurement of the checkout at `root`, in its own process: this version of the script, run there on that
 * checkout's engine (copied under a name of its own and removed after), so both trees are measured the same way.
 */
function measureTree(root: string, steps: number): Measured {
  const own = resolve(root) === resolve(here, '..');
  const script = own ? join(here, 'step-overhead.ts') : join(root, 'bench', '.step-overhead-compare.ts');
  if (!own) copyFileSync(join(here, 'step-overhead.ts'), script);
  try {
    const out = execFileSync('npx', ['tsx', script, '--steps', String(steps)], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } finally {
    if (!own) rmSync(script, { force: true });
  }
}

async function compare(other: string, rounds: number, steps: number): Promise<void> {
  const trees = [
    { name: 'before', root: resolve(other) },
    { name: 'after', root: resolve(here, '..') },
  ];
  const runs: Record<string, Measured[]> = { before: [], after: [] };
  const load: number[] = [loadavg()[0]];
  const started = new Date().toISOString();
  for (let r = 0; r < rounds; r++)
    for (const tree of trees) {
      runs[tree.name].push(measureTree(tree.root, steps));
      console.log(`round ${r + 1} ${tree.name}: ${JSON.stringify(runs[tree.name].at(-1))}`);
      load.push(loadavg()[0]);
    }
  const summary = (name: string, w: Workload) => ({
    launches: runs[name][0][w].launches,
    copies: runs[name][0][w].copies ?? null,
    submits: runs[name][0][w].submits,
    hostMs: median(runs[name].map((x) => x[w].hostMs)),
    hostMsRange: [Math.min(...runs[name].map((x) => x[w].hostMs)), Math.max(...runs[name].map((x) => x[w].hostMs))],
    hostCpuMs: median(runs[name].map((x) => x[w].hostCpuMs)),
    hostCpuMsRange: [
      Math.min(...runs[name].map((x) => x[w].hostCpuMs)),
      Math.max(...runs[name].map((x) => x[w].hostCpuMs)),
    ],
  });
  const result = {
    started,
    finished: new Date().toISOString(),
    adapter: 'lavapipe',
    loadAverage: [Math.min(...load), Math.max(...load)],
    rounds,
    stepsPerRound: steps,
    trees: Object.fromEntries(
      trees.map((t) => [
        t.name,
        {
          commit: git(t.root, 'rev-parse', '--short', 'HEAD'),
          dirty: git(t.root, 'status', '--porcelain', '--untracked-files=no') !== '',
          ...(Object.fromEntries(WORKLOADS.map(([w]) => [w, summary(t.name, w)])) as Record<Workload, Summary>),
        },
      ]),
    ),
    runs,
  };
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'step-overhead.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(dir, 'step-overhead.md'), render(result));
  console.log(render(result));
}

function render(r: {
  started: string;
  finished: string;
  loadAverage: number[];
  rounds: number;
  stepsPerRound: number;
  trees: Record<string, { commit: string; dirty: boolean } & Record<Workload, Summary>>;
}): string {
  const rows: string[] = [];
  for (const [w, label] of WORKLOADS)
    for (const [name, t] of Object.entries(r.trees)) {
      const s = t[w];
      rows.push(
        `| ${label} | ${name} (${t.commit}${t.dirty ? ', uncommitted changes' : ''}) | ${s.launches} | ` +
          `${s.copies ?? 'not counted'} | ${s.submits} | ` +
          `${s.hostMs.toFixed(2)} (${s.hostMsRange.map((x) => x.toFixed(2)).join('–')}) | ` +
          `${s.hostCpuMs.toFixed(2)} (${s.hostCpuMsRange.map((x) => x.toFixed(2)).join('–')}) |`,
      );
    }
  return [
    '# Launches and host time per step',
    '',
    `Written by \`npx tsx bench/step-overhead.ts --compare DIR\` (${r.started} – ${r.finished}, lavapipe, load average ` +
      `${r.loadAverage.map((x) => x.toFixed(2)).join('–')}). Each checkout measured in its own process, alternating, ` +
      `${r.rounds} rounds of ${r.stepsPerRound} steps; host ms: the median step of a process, then the median (and ` +
      "range) over the rounds, as wall time and as the process's CPU time (less sensitive to other work on the " +
      'machine). The DCGAN counts launches with the GPU dispatch rule (4e10 FLOPs per conv dispatch). Each process ' +
      'first trains a throwaway DCGAN, so that no measured workload pays for compiling the JavaScript. Buffer ' +
      'copies are recorded into the same command encoder as launches, each ending the compute pass it interrupts; ' +
      'engines before 2026-12-01 did not count them.',
    '',
    '| workload | checkout | launches / step | buffer copies / step | submits / step | host ms / step (wall) | host ms / step (CPU) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

type Summary = {
  launches: number;
  copies: number | null;
  submits: number;
  hostMs: number;
  hostMsRange: number[];
  hostCpuMs: number;
  hostCpuMsRange: number[];
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const other = cliArg('compare', '');
  const steps = Number(cliArg('steps', '12'));
  if (other) await compare(other, Number(cliArg('rounds', '3')), steps);
  else console.log(JSON.stringify(await stepOverhead(steps)));
  process.exit(0);
}
