/**
 * How much Dawn's busy wait costs on this adapter: DCGAN training steps and the FMA ceiling timed with Dawn's
 * own spinning wait ('spin') and with the engine's timer polling ('timer', see DawnPolling in src/tensor/gpu.ts),
 * the two modes alternating in one process (the order flips every round), so both see the same machine.
 * Writes bench/results/dawn-polling-<adapter>.{json,md}.
 * Usage: npx tsx bench/dawn-polling.ts [--rounds 5] [--batches 16,64] [--steps 2]
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { initEngine, engine } from '../src/tensor/index.ts';
import { setDawnPolling, type DawnPolling } from '../src/tensor/gpu.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { ganSpec } from '../src/gan/models.ts';
import { writeFileAtomic } from '../src/node/files.ts';
import { isMainModule } from '../src/node/main-module.ts';
import { createCeilingProbe } from './ceiling.ts';
import { summarize, type SampleStats } from './harness.ts';
import { cliArg } from './profile.ts';

const MODES: DawnPolling[] = ['spin', 'timer'];

interface Series {
  /** Wall milliseconds per step (or the ceiling in GFLOP/s), one per round. */
  values: number[];
  /** Process CPU milliseconds per step (every thread: JavaScript and the adapter's), one per round. */
  cpuMs?: number[];
}

export interface PollingResults {
  date: string;
  adapter: string;
  commit: string;
  rounds: number;
  stepsPerSample: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** workload → mode → samples */
  workloads: Record<string, Record<string, Series>>;
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const fmt = (s: SampleStats, digits: number) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)}, n=${s.samples.length})`;

export function renderPolling(r: PollingResults): string {
  const lines = [
    `# Dawn's wait on ${r.adapter}: spinning against timer polling`,
    '',
    `Written ${r.date} by \`bench/dawn-polling.ts\` (commit ${r.commit}). Each round times every workload once in each`,
    `mode, the modes' order flipping every round, in one process; ${r.stepsPerSample} steps a sample. Load average before`,
    `${r.loadavgBefore.map((x) => x.toFixed(2)).join(' ')}, after ${r.loadavgAfter.map((x) => x.toFixed(2)).join(' ')}.`,
    "'spin' is Dawn's own wait (a native callback re-queued with setImmediate: the main thread busy until the GPU",
    "is done); 'timer' runs those callbacks once a millisecond after the first 2 ms of a wait (src/tensor/gpu.ts).",
    '',
    '| workload | spin: median (min–max, n) | timer: median (min–max, n) | spin / timer | process CPU ms per step, spin → timer |',
    '|---|---|---|---|---|',
  ];
  for (const [name, modes] of Object.entries(r.workloads)) {
    const [s, t] = [summarize(modes.spin.values), summarize(modes.timer.values)];
    const ceiling = name.startsWith('FMA');
    const ratio = ceiling ? t.median / s.median : s.median / t.median;
    const cpu =
      modes.spin.cpuMs && modes.timer.cpuMs
        ? `${summarize(modes.spin.cpuMs).median.toFixed(0)} → ${summarize(modes.timer.cpuMs).median.toFixed(0)}`
        : '—';
    lines.push(
      `| ${name} | ${fmt(s, ceiling ? 1 : 0)} | ${fmt(t, ceiling ? 1 : 0)} | ${ratio.toFixed(2)}×${ceiling ? ' (timer / spin)' : ''} | ${cpu} |`,
    );
  }
  lines.push(
    '',
    'Times are ms per DCGAN training step (the lesson DCGAN, 28×28 MNIST-shaped data); the FMA row is GFLOP/s.',
  );
  return lines.join('\n') + '\n';
}

export async function main(): Promise<void> {
  const rounds = Number(cliArg('rounds', '5'));
  const steps = Number(cliArg('steps', '2'));
  const batches = cliArg('batches', '16,64').split(',').map(Number);
  await initEngine({ autotune: 'off' });
  const e = engine();
  const probe = await createCeilingProbe(e.device);
  const spec = ganSpec('dcgan');
  const trainers = batches.map((batch) => {
    const t = new GanTrainer(spec, { batchSize: batch, seed: 1 });
    const real = new Float32Array(batch * spec.size * spec.size).map((_, i) => Math.sin(i));
    return { name: `DCGAN step, batch ${batch}`, step: async () => void (await t.readStats(t.trainBatch(real))) };
  });
  for (const t of trainers) for (let i = 0; i < 2; i++) await t.step(); // compile and warm up
  const workloads: PollingResults['workloads'] = {};
  const series = (name: string, mode: string): Series =>
    ((workloads[name] ??= {})[mode] ??= { values: [], ...(name.startsWith('FMA') ? {} : { cpuMs: [] }) });
  const loadavgBefore = loadavg();
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
      setDawnPolling(mode);
      series('FMA ceiling (GFLOP/s)', mode).values.push((await probe.measure()).gflops);
      for (const t of trainers) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < steps; i++) await t.step();
        const cpu = process.cpuUsage(c0);
        const s = series(t.name, mode);
        s.values.push((performance.now() - t0) / steps);
        s.cpuMs!.push((cpu.user + cpu.system) / 1000 / steps);
      }
    }
    console.log(`round ${round + 1}/${rounds} done`);
  }
  setDawnPolling('auto');
  probe.destroy();
  const r: PollingResults = {
    date: new Date().toISOString(),
    adapter: e.adapter.slug,
    commit: commit(),
    rounds,
    stepsPerSample: steps,
    loadavgBefore,
    loadavgAfter: loadavg(),
    workloads,
  };
  const base = join('bench', 'results', `dawn-polling-${r.adapter}`);
  writeFileAtomic(`${base}.json`, JSON.stringify(r, null, 2) + '\n');
  writeFileAtomic(`${base}.md`, renderPolling(r));
  console.log(renderPolling(r));
}

if (isMainModule(import.meta.url)) {
  await main();
  process.exit(0);
}
