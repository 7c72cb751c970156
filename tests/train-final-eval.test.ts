/**
 * `train` scores its generator at its end (`--final-eval`, on by default where a classifier fits): one printed line
 * with class coverage, confident rate, Fréchet distance and the real-vs-real baseline, the same numbers in the run's
 * eval.json, and the same scores `eval` gives on the checkpoint the run wrote. Runs through the dispatcher
 * (`main(argv)`), as a user's command line does.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli-run.ts';
import { encodePng } from '../src/node/png.ts';

let dir = '';

/** Runs `main(argv)` with console and the standard streams captured. */
const run = runCli;

/** The final score line: `Score at step S (N samples of WHAT, as `eval`): C/K classes, P% confident, Fréchet distance F (real-vs-real B, ratio R×) → PATH`. */
const SCORE =
  /^Score at step (\d+) \((\d+) samples of (the G weight average|G), as `eval`\): (\d+)\/(\d+) classes, ([\d.]+)% confident, Fréchet distance ([\d.]+) \(real-vs-real ([\d.]+), ratio ([\d.]+)×\) → (.+)$/;

const tiny = (out: string, ...more: string[]) => [
  'train',
  '--model',
  'dense',
  '--dataset',
  'mnist',
  '--batch',
  '16',
  '--limit',
  '64',
  '--max-steps',
  '2',
  '--grid',
  '4',
  '--out',
  out,
  ...more,
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'train-final-eval-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('train --final-eval', () => {
  it('prints one score line at the end that agrees with eval.json and with `eval` on the checkpoint', async () => {
    const out = join(dir, 'mnist');
    const r = await run(tiny(out, '--g-ema', '0.9'));
    expect(r.code, r.err.join('')).toBe(0);
    const lines = r.out.join('\n').split('\n');
    const scores = lines.filter((l) => l.startsWith('Score'));
    expect(scores, lines.join('\n')).toHaveLength(1);
    const m = SCORE.exec(scores[0]);
    expect(m, scores[0]).not.toBeNull();
    const [, step, n, what, covered, classes, confident, fd, baseline, ratio, path] = m!;
    expect(path).toBe(join(out, 'eval.json'));
    const e = JSON.parse(readFileSync(path, 'utf8'));
    expect(Number(step)).toBe(2);
    expect(e.step).toBe(2);
    expect(e.samples).toBe(Number(n));
    expect(Number(n)).toBe(2000);
    expect(what).toBe('the G weight average');
    expect(e.generator).toBe('G_ema');
    expect(e.model).toBe('dense');
    expect(e.dataset).toBe('mnist');
    expect(e.checkpoint).toBe(join(out, 'checkpoint.safetensors'));
    expect(Number(covered)).toBe(e.coverage.count);
    expect(Number(classes)).toBe(e.classHistogram.length);
    expect(Number(classes)).toBe(10);
    expect(confident).toBe((100 * e.confidentRate).toFixed(1));
    expect(fd).toBe(e.fd.toFixed(2));
    expect(baseline).toBe(e.fdRealVsRealBaseline.toFixed(2));
    expect(ratio).toBe((e.fd / e.fdRealVsRealBaseline).toFixed(2));
    expect(e.fd).toBeGreaterThan(e.fdRealVsRealBaseline); // two steps of training are far from real digits

    // `eval` on the checkpoint the run wrote scores the same samples: the same numbers
    const ev = await run(['eval', '--checkpoint', join(out, 'checkpoint.safetensors')]);
    expect(ev.code, ev.err.join('')).toBe(0);
    const again = JSON.parse(readFileSync(path, 'utf8'));
    expect(again.fd).toBe(e.fd);
    expect(again.fdRealVsRealBaseline).toBe(e.fdRealVsRealBaseline);
    expect(again.coverage).toEqual(e.coverage);
    expect(again.confidentRate).toBe(e.confidentRate);
    expect(again.classHistogram).toEqual(e.classHistogram);
    expect(again.generator).toBe(e.generator);
  }, 120_000);

  it('--final-eval false: no score line and no eval.json', async () => {
    const out = join(dir, 'off');
    const r = await run(tiny(out, '--final-eval', 'false'));
    expect(r.code, r.err.join('')).toBe(0);
    expect(r.out.join('\n')).not.toMatch(/^Score/m);
    expect(existsSync(join(out, 'eval.json'))).toBe(false);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(true);
  }, 120_000);

  it('is skipped for data without a classifier (a folder of images)', async () => {
    const folder = join(dir, 'images');
    mkdirSync(folder);
    for (let i = 0; i < 4; i++) {
      const rgba = new Uint8ClampedArray(28 * 28 * 4).map((_, k) => (k % 4 === 3 ? 255 : (k * (i + 3)) % 256));
      writeFileSync(join(folder, `${i}.png`), encodePng({ width: 28, height: 28, rgba }));
    }
    const out = join(dir, 'folder-run');
    const r = await run([
      'train',
      '--model',
      'dense',
      '--dataset',
      folder,
      '--batch',
      '2',
      '--max-steps',
      '1',
      '--grid',
      '4',
      '--out',
      out,
    ]);
    expect(r.code, r.err.join('')).toBe(0);
    expect(r.out.join('\n')).toMatch(/^Done: step 1/m);
    expect(r.out.join('\n')).not.toMatch(/^Score/m);
    expect(existsSync(join(out, 'eval.json'))).toBe(false);
  }, 120_000);
});
