/**
 * `npm start` as a new user meets it, several times with different seeds (issue 17): each run clones the repository
 * afresh (a committed state: nobody's uncommitted edits), runs `npm start -- --seed N` there — set-up (scripts/setup.sh:
 * system packages checked, `npm ci`), shader bundling, training and the final score — and records what it took and
 * what it scored into docs/gan/npm-start/results.json, with each run's grid as docs/gan/npm-start/grid-seedN.png.
 *
 *   npx tsx scripts/npm-start-runs.ts [--seeds 1,2,3] [--repo PATH]
 *
 * Per run: the seed, the commit, the wall time of `npm start` (the clone itself not counted), when its phases began
 * (first line of the training, "Done", the score line), the score line as printed and the numbers of the eval.json it
 * wrote, the machine's load average before and after, and the date. Results of earlier invocations are kept.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/node/files.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs', 'gan', 'npm-start');
const RESULTS = join(OUT, 'results.json');

interface StartRun {
  seed: number;
  commit: string;
  /** the `start` line of package.json at that commit */
  startScript: string;
  date: string;
  /** `npm start` from its launch to its exit, set-up included (the clone excluded) */
  wallSeconds: number;
  /** seconds after launch at which the set-up ended (the first line of `train`), training ended ("Done:") and the score was printed */
  trainStartedAt: number | null;
  trainDoneAt: number | null;
  scoredAt: number | null;
  /** what the set-up printed (its "[setup] …" lines and the adapter) */
  setupLines: string[];
  exitCode: number;
  doneLine: string | null;
  scoreLine: string | null;
  step: number | null;
  coverage: number | null;
  confidentRate: number | null;
  fd: number | null;
  fdRealVsRealBaseline: number | null;
  generator: string | null;
  loadavgBefore: number[];
  loadavgAfter: number[];
  cpuCores: number;
  grid: string | null;
}

const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Runs `npm start -- --seed N` in `dir`, timing the lines that mark its phases. */
function npmStart(
  dir: string,
  seed: number,
  logFile: string,
): Promise<{ code: number; seconds: number; lines: { t: number; text: string }[] }> {
  return new Promise((done, fail) => {
    const env = { ...process.env };
    delete env.VK_ICD_FILENAMES; // as in a new shell: the start script picks the driver itself
    const t0 = performance.now();
    const child = spawn('npm', ['start', '--', '--seed', String(seed)], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: { t: number; text: string }[] = [];
    let raw = '';
    let partial = '';
    const take = (d: Buffer) => {
      const s = String(d);
      raw += s;
      partial += s;
      const parts = partial.split(/\r|\n/);
      partial = parts.pop()!;
      const t = (performance.now() - t0) / 1000;
      for (const text of parts) if (text.trim()) lines.push({ t, text });
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', fail);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (partial.trim()) lines.push({ t: seconds, text: partial });
      writeFileSync(logFile, raw);
      done({ code: code ?? 1, seconds, lines });
    });
  });
}

async function main(): Promise<void> {
  const seeds = (flag('seeds') ?? '1,2,3').split(',').map(Number);
  const repo = resolve(flag('repo') ?? ROOT);
  mkdirSync(OUT, { recursive: true });
  const results: { about: string; runs: StartRun[] } = existsSync(RESULTS)
    ? JSON.parse(readFileSync(RESULTS, 'utf8'))
    : {
        about:
          'npm start on a fresh clone, written by scripts/npm-start-runs.ts: wall time including set-up, and the score train printed at its end (its eval.json).',
        runs: [],
      };
  const logs = join(ROOT, 'runs', 'npm-start');
  mkdirSync(logs, { recursive: true });
  for (const seed of seeds) {
    const dir = mkdtempSync(join(tmpdir(), `npm-start-seed${seed}-`));
    execFileSync('git', ['clone', '--quiet', repo, dir]);
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    const startScript = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts.start as string;
    console.log(`seed ${seed}: npm start in a fresh clone of ${commit.slice(0, 10)} (${dir})`);
    const loadavgBefore = load();
    const date = new Date().toISOString();
    const r = await npmStart(dir, seed, join(logs, `seed${seed}.log`));
    const loadavgAfter = load();
    const at = (re: RegExp) => r.lines.find((l) => re.test(l.text)) ?? null;
    const first = at(/^dcgan on /);
    const doneL = at(/^Done: /);
    const score = at(/^Score at step /);
    const run = join(dir, 'runs', 'dcgan-mnist');
    const evalPath = join(run, 'eval.json');
    const e = existsSync(evalPath) ? JSON.parse(readFileSync(evalPath, 'utf8')) : null;
    let grid: string | null = null;
    if (existsSync(join(run, 'samples', 'final.png'))) {
      grid = `grid-seed${seed}.png`;
      copyFileSync(join(run, 'samples', 'final.png'), join(OUT, grid));
    }
    const rec: StartRun = {
      seed,
      commit,
      startScript,
      date,
      wallSeconds: Math.round(r.seconds * 10) / 10,
      trainStartedAt: first && Math.round(first.t * 10) / 10,
      trainDoneAt: doneL && Math.round(doneL.t * 10) / 10,
      scoredAt: score && Math.round(score.t * 10) / 10,
      setupLines: r.lines.filter((l) => /^\[setup\]|adapter/i.test(l.text)).map((l) => l.text),
      exitCode: r.code,
      doneLine: doneL?.text ?? null,
      scoreLine: score?.text.replace(dir, '<clone>') ?? null,
      step: e?.step ?? null,
      coverage: e?.coverage?.count ?? null,
      confidentRate: e?.confidentRate ?? null,
      fd: e?.fd ?? null,
      fdRealVsRealBaseline: e?.fdRealVsRealBaseline ?? null,
      generator: e?.generator ?? null,
      loadavgBefore,
      loadavgAfter,
      cpuCores: cpus().length,
      grid,
    };
    results.runs.push(rec);
    writeFileAtomic(RESULTS, JSON.stringify(results, null, 2) + '\n');
    console.log(
      `  exit ${r.code}, ${r.seconds.toFixed(0)} s (training from ${rec.trainStartedAt} s); ${rec.scoreLine ?? 'no score line'}`,
    );
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
