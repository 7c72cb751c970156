/**
 * `train-classifier` on a careless command line or hostile files: one line naming the option or file, exit 2 for
 * the user's mistake (1 for a run that diverged), before any training where the mistake is knowable then, and no
 * classifier file written. Each case was an engine crash, an exit-1 "failed" line, or a classifier written from no
 * training at all before these checks.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trainClassifierCommand } from '../src/cli/train-classifier.ts';
import { reportError } from '../src/cli/args.ts';
import { encodePng } from '../src/node/png.ts';
import { formatLabels } from '../src/data/labels.ts';
import { decodeSafetensors, encodeSafetensors, type TensorToEncode } from '../src/io/safetensors.ts';
import { useEngine } from './helpers.ts';

useEngine();

let dir = '';
const folder = () => join(dir, 'labelled');
const small = ['--conv1', '4', '--conv2', '4', '--hidden', '8'];

/** A labelled folder of `n` 16×16 images in two classes. */
function labelledFolder(path: string, n: number): void {
  mkdirSync(path, { recursive: true });
  const images: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const rgba = new Uint8ClampedArray(16 * 16 * 4).map((_, j) =>
      j % 4 === 3 ? 255 : (i * 37 + j * (i % 2 ? 5 : 11)) % 256,
    );
    const name = `im${String(i).padStart(3, '0')}.png`;
    writeFileSync(join(path, name), encodePng({ width: 16, height: 16, rgba }));
    images[name] = i % 2 ? 'odd' : 'even';
  }
  writeFileSync(join(path, 'labels.json'), formatLabels({ name: `test ${path}`, classes: ['even', 'odd'], images }));
}

/** The command as its script runs it: the exit code and what it printed on stderr. */
async function run(argv: string[]): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const spies = [
    vi.spyOn(console, 'error').mockImplementation((...m) => void err.push(m.map(String).join(' '))),
    vi.spyOn(console, 'log').mockImplementation(() => {}),
  ];
  try {
    let code: number;
    try {
      code = await trainClassifierCommand(argv);
    } catch (e) {
      code = reportError('train-classifier', e);
    }
    return { code, err };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'train-classifier-mistakes-'));
  labelledFolder(folder(), 40); // 34 to train, 6 to test
  labelledFolder(join(dir, 'three'), 3); // none left for the test split
  mkdirSync(join(dir, 'outdir'));
  mkdirSync(join(dir, 'readonly'), { mode: 0o555 });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('train-classifier: mistakes are one line, exit 2, and write nothing', () => {
  const readonly = () => join(dir, 'readonly');
  const cases: [what: string, argv: () => string[], names: RegExp][] = [
    ['a size past 128', () => ['--size', '256'], /^train-classifier: --size: expected an integer in \[4, 128\]/],
    ['batch 0', () => ['--batch', '0'], /^train-classifier: --batch: expected an integer in \[1, 4096\], got "0"/],
    ['conv1 0', () => ['--conv1', '0'], /^train-classifier: --conv1: expected an integer in \[1, 4096\], got "0"/],
    ['epochs 0', () => ['--epochs', '0'], /^train-classifier: --epochs: expected an integer in \[1, 10000\]/],
    ['hidden 1e8', () => ['--hidden', '100000000'], /^train-classifier: --hidden: expected an integer in \[1, 4096\]/],
    ['lr 1e30', () => ['--lr', '1e30'], /^train-classifier: --lr: expected a number in \(0, 100\], got "1e30"/],
    [
      'a batch larger than the training images',
      () => ['--batch', '64'],
      /^train-classifier: --batch 64: more than the 34 training images of .* \(an epoch would have no step\); use --batch 34 or less$/,
    ],
    [
      'a shift as large as the image',
      () => ['--batch', '8', '--shift', '16'],
      /^train-classifier: --shift 16: must be less than the image size 16$/,
    ],
    [
      'a weight no GPU buffer holds',
      () => ['--batch', '8', '--size', '128', '--conv2', '4096', '--hidden', '4096'],
      /^train-classifier: --size 128 --conv1 4 --conv2 4096 --hidden 4096: the classifier's largest weight would hold 17179869184 values, more than one GPU buffer binding/,
    ],
    [
      'a missing --init',
      () => ['--batch', '8', '--init', join(dir, 'none.safetensors')],
      /^train-classifier: --init .*none\.safetensors: no such file; expected a classifier \.safetensors file$/,
    ],
    [
      'an --init that is not a classifier',
      () => ['--batch', '8', '--init', resolve('README.md')],
      /^train-classifier: --init .*README\.md: loadClassifier\(.*README\.md\): not a readable safetensors file/,
    ],
    [
      '--out a folder',
      () => ['--batch', '8', '--out', join(dir, 'outdir')],
      /^train-classifier: --out .*outdir: is a folder; expected a file name to write$/,
    ],
    [
      '--out in a folder that cannot be written (was: refused after training)',
      () => ['--batch', '8', '--out', join(process.getuid?.() === 0 ? '/sys' : readonly(), 'new', 'c.safetensors')],
      /^train-classifier: --out .*c\.safetensors: the folder .* cannot be written/,
    ],
  ];
  for (const [what, argv, names] of cases) {
    it(
      what,
      async () => {
        const out = join(dir, `${what.replace(/\W+/g, '-')}.safetensors`);
        const args = ['--dataset', folder(), '--epochs', '1', ...small, '--out', out, ...argv()];
        const r = await run(args);
        const shown = `${args.join(' ')}\n→ exit ${r.code}\n${r.err.join('\n')}`;
        expect(r.code, shown).toBe(2);
        expect(r.err, shown).toHaveLength(1);
        expect(r.err[0], shown).toMatch(names);
        expect(existsSync(out), shown).toBe(false);
        expect(existsSync(join(folder(), 'classifier-16.safetensors'))).toBe(false);
      },
      60_000,
    );
  }

  it('a folder too small for a test split (was: "test accuracy 0.00%" on no images, and a file)', async () => {
    const out = join(dir, 'three.safetensors');
    const r = await run(['--dataset', join(dir, 'three'), '--epochs', '1', '--batch', '1', ...small, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^train-classifier: --dataset .*three: its 3 images leave none for the test split/);
    expect(existsSync(out)).toBe(false);
  });

  it('a run that diverges exits 1 with one line naming the weight, and writes no classifier', async () => {
    // a classifier of this folder whose weights sit at float16's largest value: one step of --lr 100 overflows it
    const first = join(dir, 'first.safetensors');
    expect((await run(['--dataset', folder(), '--epochs', '1', '--batch', '8', ...small, '--out', first])).code).toBe(
      0,
    );
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(first)));
    const t: Record<string, TensorToEncode> = {};
    for (const [k, v] of tensors)
      t[k] = { dtype: 'F32', shape: v.shape, data: new Float32Array(v.data.length).fill(65504) };
    const edge = join(dir, 'edge.safetensors');
    writeFileSync(edge, encodeSafetensors(t, metadata));
    const out = join(dir, 'diverged.safetensors');
    const r = await run([
      '--dataset',
      folder(),
      '--epochs',
      '1',
      '--batch',
      '8',
      '--lr',
      '100',
      '--init',
      edge,
      '--out',
      out,
    ]);
    expect(r.code, r.err.join('\n')).toBe(1);
    expect(r.err.at(-1)).toMatch(
      /^train-classifier: training diverged: [\w.]+ holds ([-\d.e+]+|NaN), which float16 stores as (Infinity|NaN); not writing .*diverged\.safetensors \(try a lower --lr than 100\)$/,
    );
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});
