/**
 * Pieces the measurement studies share (scripts/growing-study.ts; scripts/recipe-study.ts holds its own copies of
 * the first few): the engine's commit, the load average, command-line flags, a median, a `train` process run to a
 * log file, a run folder's eval.jsonl, and the speed phase's method — every candidate's training step timed in ONE
 * process, interleaved over several rounds, each round in a rotated order, as `train` runs a step (record it, then
 * read back the previous step's losses). lavapipe's speed drifts within minutes (bench/README.md: its FMA ceiling
 * spanned 29.5–48.6 GFLOP/s around one workload) and the machine is shared, so drift hits all candidates of a round
 * alike and the median of the rounds is what a study uses.
 */
import { execFileSync, spawn } from 'node:child_process';
import { isMainModule } from '../src/node/main-module.ts';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/node/files.ts';
import type { EvalPoint } from '../src/gan/visuals.ts';
import type { Dataset } from '../src/data/dataset.ts';
import type { GanTrainer } from '../src/gan/trainer.ts';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The commit of the engine measured: a study may run from a snapshot of a commit while others edit the tree. */
export function engineCommit(root: string): string {
  if (process.env.ENGINE_COMMIT) return process.env.ENGINE_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The 1-, 5- and 15-minute load averages, to two decimals. */
export const load = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);

/** The value after `--name` in argv, if any. */
export function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * Runs `train` (src/cli/main.ts) with `args` in a separate process; its stdout and stderr go to `logFile`. With
 * STUDY_TRAIN_CLI set (a bundled CLI, as on a lent GPU machine without tsx: bench/device/gan64.sh), this Node runs it.
 */
export function runTrain(root: string, args: string[], logFile: string, nice = 0): Promise<number> {
  return new Promise((done, fail) => {
    const cli = process.env.STUDY_TRAIN_CLI;
    const cmd = cli
      ? [process.execPath, cli, 'train', ...args]
      : ['npx', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'train', ...args];
    const child =
      nice > 0
        ? spawn('nice', ['-n', String(nice), ...cmd], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(cmd[0], cmd.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: string[] = [];
    child.stdout.on('data', (d) => chunks.push(String(d)));
    child.stderr.on('data', (d) => chunks.push(String(d)));
    child.on('error', fail);
    child.on('close', (code) => {
      writeFileAtomic(logFile, chunks.join(''));
      done(code ?? 1);
    });
  });
}

/** What a study keeps of one `train` process. */
export interface TrainRecord {
  args: string[];
  date: string;
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** the whole `train` process, scoring included (only for the record: the machine is shared) */
  wallSeconds: number;
  exitCode: number;
  engine: string;
  /** its eval.jsonl (`--eval-every`) */
  evals: EvalPoint[];
}

/** Runs `train` with `args` writing the run folder `out` (its output to `out`.log), timed, with its scores. */
export async function timedTrain(root: string, args: string[], out: string, nice = 0): Promise<TrainRecord> {
  const loadavgBefore = load();
  const date = new Date().toISOString();
  // The commit whose code the run loads, read as it starts (a commit made during a long run is not its engine).
  const engine = engineCommit(root);
  const t0 = performance.now();
  const exitCode = await runTrain(root, args, `${out}.log`, nice);
  const wallSeconds = Math.round((performance.now() - t0) / 100) / 10;
  return {
    args,
    date,
    loadavgBefore,
    loadavgAfter: load(),
    wallSeconds,
    exitCode,
    engine,
    evals: readEvalPoints(out),
  };
}

/** The scores a `train --eval-every` run wrote (its eval.jsonl), or none. */
export function readEvalPoints(runDir: string): EvalPoint[] {
  const path = join(runDir, 'eval.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EvalPoint);
}

/**
 * A function that trains `steps` steps of a trainer on real batches of `ds` as `train` runs them: record a step, then
 * read back the previous one's losses (the last one's at the end). The batches follow the epochs' seeded order.
 */
export async function stepper(trainer: GanTrainer, ds: Dataset, seed = 1): Promise<(steps: number) => Promise<void>> {
  const { batches } = await import('../src/data/dataset.ts');
  const batch = trainer.opts.batchSize;
  let epoch = 0;
  let it = batches(ds, batch, { seed, epoch, dropLast: true });
  const next = () => {
    let b = it.next();
    if (b.done) {
      it = batches(ds, batch, { seed, epoch: ++epoch, dropLast: true });
      b = it.next();
    }
    return b.value!.images;
  };
  return async (steps: number) => {
    let pending: ReturnType<GanTrainer['trainBatch']> | null = null;
    for (let i = 0; i < steps; i++) {
      const res = trainer.trainBatch(next());
      if (pending) await trainer.readStats(pending);
      pending = res;
    }
    if (pending) await trainer.readStats(pending);
  };
}

/** A candidate of an interleaved speed measurement: its name, batch size and how to run n steps. */
export interface TimedCandidate {
  key: string;
  batch: number;
  run: (steps: number) => Promise<void>;
}

/** The CPU time this process has used (user + system, all its threads: lavapipe's workers too), in seconds. */
export const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Images/s of each candidate: a warm-up of 2 steps each (pipelines compiled, buffers pooled), then `rounds` rounds,
 * each candidate timed on about `imagesPerSample` images per round, the order rotated each round. Returns the
 * samples per candidate key, in round order; when `cpu` is given, it receives each sample's images per second of
 * the process's CPU time too (lavapipe runs in the process's threads, so on a machine shared with other work its CPU
 * time per image moves far less than the wall time).
 */
export async function interleavedRounds(
  candidates: TimedCandidate[],
  rounds: number,
  imagesPerSample: number,
  log: (line: string) => void = console.log,
  cpu?: Record<string, number[]>,
): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = Object.fromEntries(candidates.map((c) => [c.key, []]));
  if (cpu) for (const c of candidates) cpu[c.key] = [];
  for (const c of candidates) await c.run(2);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < candidates.length; k++) {
      const c = candidates[(k + round) % candidates.length];
      const steps = Math.max(1, Math.round(imagesPerSample / c.batch));
      const c0 = cpuSeconds();
      const t0 = performance.now();
      await c.run(steps);
      const ips = (steps * c.batch) / ((performance.now() - t0) / 1000);
      const cps = (steps * c.batch) / (cpuSeconds() - c0);
      samples[c.key].push(ips);
      cpu?.[c.key].push(cps);
      log(
        `  round ${round + 1} ${c.key}: ${ips.toFixed(1)} images/s${cpu ? `, ${cps.toFixed(2)} images per CPU second` : ''}`,
      );
    }
  }
  return samples;
}

/**
 * Runs a study's main with the command-line arguments when the file `moduleUrl` (its import.meta.url) is the
 * program, and exits: 0 when it resolves, 1 with the error printed when it throws.
 */
export function runAsMain(moduleUrl: string, main: (argv: string[]) => Promise<void>): void {
  if (!isMainModule(moduleUrl)) return; // (never inside a bundle, whose entry calls main itself)
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
