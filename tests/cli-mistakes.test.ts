/**
 * Ordinary mistakes on the command line, run through the dispatcher (src/cli/main.ts `main`) in-process: each must
 * exit 2 (1 for a genuine runtime failure) with exactly one line on stderr, no stack frame, and a message naming the
 * option or path. Most fail while parsing; a few need the small dense checkpoint written once in beforeAll.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import {
  mkdtempSync,
  mkdirSync,
  writeFileSync,
  readFileSync,
  readdirSync,
  rmSync,
  existsSync,
  copyFileSync,
  linkSync,
  symlinkSync,
  cpSync,
  statSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from './cli-run.ts';
import { TRAIN_OPTIONS } from '../src/cli/train.ts';
import { SAMPLE_OPTIONS } from '../src/cli/sample.ts';
import { EVAL_OPTIONS } from '../src/cli/eval.ts';
import { STYLE_OPTIONS } from '../src/cli/style.ts';
import { DEMO_OPTIONS } from '../src/cli/demo.ts';
import { reportError, setDebug, UsageError, type NumberSpec, type OptionSpec } from '../src/cli/args.ts';
import { writeFileAtomic, removeStaleTemps, truncateJsonl, lockFolder } from '../src/node/files.ts';
import { encodePng } from '../src/node/png.ts';
import { formatLabels } from '../src/data/labels.ts';
import { checkpointSpec, GanTrainer } from '../src/gan/trainer.ts';
import { editCheckpointMeta, editCheckpointMetaText, editCheckpointTensors } from './checkpoint-edit.ts';

let dir = '';
const README = resolve('README.md');

/** Runs `main(argv)` with console and the standard streams captured. */
const run = runCli;

/** A mistake: the command line, the exit code it must give and what its one line must say. */
type Case = [argv: () => string[], code: number, names: RegExp];

/** Values outside a numeric option's table entry: not a number, below, above, and a fraction for an integer. */
function badValues(s: NumberSpec): string[] {
  const below = s.type === 'integer' ? s.min - 1 : s.minExclusive ? s.min : s.min - 0.5;
  const above = s.type === 'integer' ? s.max + 1 : s.maxExclusive ? s.max : s.max * 2 + 1;
  return ['abc', String(below), String(above), ...(s.type === 'integer' ? [String(s.min + 0.5)] : [])];
}
const numeric = (t: readonly OptionSpec[]) =>
  t.filter((s): s is NumberSpec => s.type === 'integer' || s.type === 'float');

// A read-only folder does not stop root: there, /sys (read-only to everyone) stands in for it.
/** A dense GAN on 32 digits at batch 16: two steps an epoch, a few seconds a run. */
const TINY_RUN = ['train', '--model', 'dense', '--batch', '16', '--limit', '32'];

const readonlyOut = () => (process.getuid?.() === 0 ? '/sys/wgpu-gan-cli-test' : join(dir, 'readonly', 'run'));
const readonlyDir = () => (process.getuid?.() === 0 ? '/sys' : join(dir, 'readonly'));
const style = () => ['--content', 'gen:scene', '--style', 'gen:brush', '--out', join(dir, 'style.png')];
const ckpt = () => join(dir, 'run', 'checkpoint.safetensors');

const cases: Case[] = [
  // --- the cases of issue 18 ---
  [() => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g.png'), '--n', '1000000000'], 2, /--n: .*\[1, 256\]/],
  [() => ['train', '--grid', '200000', '--out', join(dir, 'r')], 2, /--grid: .*\[1, 256\]/],
  [() => ['eval', '--checkpoint', ckpt(), '--n', '1e9'], 2, /--n: .*60,000|--n: .*60000/],
  [() => ['style', ...style(), '--size', '100000'], 2, /--size: .*\[8, 4096\]/],
  [() => ['eval', '--checkpoint', ckpt(), '--seed', 'abc'], 2, /--seed: .*"abc"/],
  [
    () => [
      'style',
      'compare',
      '--content',
      'gen:scene',
      '--style',
      'gen:brush',
      '--out-dir',
      join(dir, 'cmp'),
      '--adam-steps',
      'abc',
    ],
    2,
    /--adam-steps: .*"abc"/,
  ],
  [() => ['train', '--out', README], 2, /--out .*README\.md: is a file/],
  [() => ['train', '--dataset', join(dir, 'empty'), '--out', join(dir, 'r-empty')], 2, /--dataset .*empty.*no images/],
  [() => ['train', '--lr-g', '0'], 2, /--lr-g: .*\(0, .*"0"/],
  [() => ['train', '--beta1', '1'], 2, /--beta1: .*\[0, 1\)/],
  [() => ['train', '--real-label', '2'], 2, /--real-label: .*\(0, 1\]/],
  [() => ['train', '--g-ema', '1'], 2, /--g-ema: .*\[0, 1\)/],
  [() => ['train', '--model', 'dcgan', '--size', '64'], 2, /--model dcgan: its size is fixed at 28 px, not 64/],
  [
    () => ['train', '--model', 'progan', '--size', '12'],
    2,
    /--model progan: size must be one of 8, 16, 32, 64, 128 px/,
  ],
  [() => ['train', '--model', 'msggan', '--width', '4'], 2, /--width: /],
  [() => ['train', '--model', 'dense', '--width', '16'], 2, /--width: model dense has a fixed width/],
  [
    () => ['train', '--model', 'progan', '--size', '128', '--width', '512', '--dataset', '/no/such/folder'],
    2,
    // width 512 at 128 px: 4096 channels at 4×4, so D's last conv is 4096 × 4096 × 4 × 4 = 268,435,456 values; the
    // widest that fits 2^25 is 1448 channels (1448² · 16 ≤ 2^25 < 1449² · 16), width 1448 / 8 = 181
    /--width 512: progan at 128×128 would have a weight of 268435456 values, more than the 33554432 .*; at most --width 181 at this size/,
  ],
  [
    () => ['train', '--model', 'dcgan64', '--width', '512', '--dataset', '/no/such/folder'],
    2,
    /--width 512: dcgan64 at 64×64 would have a weight of 134217728 values, .*; at most --width 256 at this size/,
  ],
  [
    () => [
      'train',
      '--model',
      'dcgan',
      '--grow-images',
      '100',
      '--dataset',
      '/no/such/folder',
      '--out',
      join(dir, 'gi'),
    ],
    2,
    /--grow-images: only progan grows; model dcgan trains at its full size from its first step/,
  ],
  [
    () => ['train', '--loss', 'wasserstein'],
    2,
    /--loss: expected one of bce, lsgan, hinge, rahinge, got "wasserstein"/,
  ],
  [
    () => ['train', '--loss', 'hinge', '--real-label', '0.9'],
    2,
    /--real-label 0\.9: label smoothing applies to --loss bce or lsgan, not hinge/,
  ],
  [
    () => ['sample', '--checkpoint', join(dir, 'ckptdir'), '--out', join(dir, 'g.png')],
    2,
    /--checkpoint .*ckptdir: is a folder/,
  ],
  [() => ['eval', '--checkpoint', join(dir, 'ckptdir')], 2, /--checkpoint .*ckptdir: is a folder/],
  [
    () => ['sample', '--checkpoint', join(dir, 'nope.safetensors'), '--out', join(dir, 'g.png')],
    2,
    /nope\.safetensors: no such file/,
  ],
  [
    () => ['train', '--out', readonlyOut()],
    2,
    /(readonly|wgpu-gan-cli-test).*(permission denied|not permitted|read-only)/,
  ],
  // --- train: other mistakes ---
  [() => ['train', '--model', 'vae'], 2, /--model: .*"vae"/],
  [() => ['train', '--bogus', '1'], 2, /--bogus/],
  [() => ['train', '--batch'], 2, /--batch/],
  [() => ['train', 'extra'], 2, /extra/],
  [() => ['train', '--lr-decay', '9:3'], 2, /--lr-decay/],
  [() => ['train', '--lr-decay', 'soon'], 2, /--lr-decay/],
  [() => ['train', '--lr-decay', '1:99999999999'], 2, /--lr-decay/],
  [() => ['train', '--channels', '2'], 2, /--channels/],
  [() => ['train', '--batch', '64', '--batch', '32'], 2, /--batch given 2 times/],
  [() => ['train', '--out', join(dir, 'afile', 'run')], 2, /afile/],
  [() => ['train', '--dataset', '/no/such/folder', '--out', join(dir, 'r2')], 2, /--dataset: "\/no\/such\/folder"/],
  [() => ['train', '--dataset', README, '--out', join(dir, 'r3')], 2, /--dataset .*README\.md: is a file/],
  [() => ['train', '--dataset', join(dir, 'txt'), '--out', join(dir, 'r4')], 2, /--dataset .*txt.*no images/],
  [() => ['train', '--resume', '--out', join(dir, 'empty')], 2, /--resume: no checkpoint/],
  [() => ['train', '--resume', '--out', join(dir, 'dirckpt')], 2, /--resume .*checkpoint\.safetensors: is a folder/],
  [() => ['train', '--resume', '--out', join(dir, 'garbage')], 2, /--resume .*not a checkpoint/],
  [() => ['train', '--resume', '--model', 'dcgan', '--out', join(dir, 'run')], 2, /--resume: .*dense run, not dcgan/],
  [
    () => [
      'sample',
      '--checkpoint',
      join(dir, 'run', 'checkpoint.safetensors'),
      '--scales',
      '--out',
      join(dir, 's.png'),
    ],
    2,
    /--scales: .*checkpoint\.safetensors is a dense run, whose G draws one scale; --scales is for msggan/,
  ],
  [
    () => [
      'sample',
      '--checkpoint',
      join(dir, 'run', 'checkpoint.safetensors'),
      '--scales',
      '--interpolate',
      '--out',
      join(dir, 's.png'),
    ],
    2,
    /--scales writes its own picture; it does not combine with --interpolate or --tensors/,
  ],
  [
    () => ['train', '--resume', '--model', 'dense', '--loss', 'hinge', '--out', join(dir, 'run')],
    2,
    /--resume: .*checkpoint\.safetensors trains with --loss bce; a run cannot change its loss/,
  ],
  [() => ['train', '--model', 'dcgan32', '--eval-every', '5', '--out', join(dir, 'r5')], 2, /--eval-every/],
  [
    () => ['train', '--model', 'dcgan32', '--dataset', join(dir, 'txt'), '--eval-every', '5', '--out', join(dir, 'r6')],
    2,
    /--eval-every: scoring needs a classifier for the data and the model: no classifier for .*txt.*labels\.json/,
  ],
  [() => ['train', '--batch', '100', '--limit', '50', '--out', join(dir, 'r6')], 2, /--dataset .*fewer than one batch/],
  [() => ['train', '--final-eval', 'maybe'], 2, /--final-eval: expected true or false, got "maybe"/],
  [() => ['train', '--final-eval', 'true', '--final-eval', 'false'], 2, /--final-eval given 2 times/],
  [
    () => ['train', '--model', 'dcgan32', '--final-eval', 'true', '--out', join(dir, 'r7')],
    2,
    /--final-eval true: scoring needs a classifier/,
  ],
  // a new run over an existing one, a resume that would drop the weight average
  [
    () => [...TINY_RUN, '--max-steps', '1', '--out', join(dir, 'run')],
    2,
    /--out .*run holds a run \(its checkpoint\.safetensors\): --resume continues it, --overwrite starts a new one/,
  ],
  [() => ['train', '--resume', '--overwrite', '--out', join(dir, 'run')], 2, /--resume and --overwrite/],
  [
    () => ['train', '--resume', '--model', 'dcgan32', '--channels', '1', '--out', join(dir, 'rgb-run')],
    2,
    /--resume: .*checkpoint\.safetensors was trained with --channels 3; a run cannot change it/,
  ],
  [
    () => ['train', '--resume', '--model', 'dense', '--beta1', '0.1', '--out', join(dir, 'run')],
    2,
    /--resume: .*checkpoint\.safetensors was trained with --beta1 0\.5; a run cannot change it/,
  ],
  [
    () => ['train', '--resume', '--model', 'dense', '--batch', '8', '--out', join(dir, 'run')],
    2,
    /--resume: .*was trained with --batch 16; a run cannot change it/,
  ],
  [
    () => ['train', '--resume', '--model', 'dense', '--dataset', 'fashion-mnist', '--out', join(dir, 'run')],
    2,
    /--resume: .*trains on --dataset mnist; a run cannot change its data/,
  ],
  [
    () => [
      'train',
      '--resume',
      '--model',
      'dense',
      '--limit',
      '16',
      '--max-steps',
      '5',
      '--out',
      join(dir, 'run3-uncounted'),
    ],
    2,
    /--resume .*step 3 is past the end of epoch 1 of .* \(1 batches per epoch: step 2\); the run was trained on more images/,
  ],
  // more images, or fewer, when the checkpoint counts them
  ...['16', '48'].map((limit): Case => [
    () => ['train', '--resume', '--model', 'dense', '--limit', limit, '--max-steps', '5', '--out', join(dir, 'run3')],
    2,
    new RegExp(
      `--resume .*run3.checkpoint\\.safetensors: the run trained on 32 images and mnist-digits\\[:${limit}\\] gives ${limit}; a run cannot change its data`,
    ),
  ]),
  // a resume with nothing left to train (it wrote the checkpoint again and said "Done", exit 0)
  [
    () => ['train', '--resume', '--model', 'dense', '--limit', '32', '--max-steps', '3', '--out', join(dir, 'run3')],
    2,
    /--resume .*run3.checkpoint\.safetensors: the run has trained 3 steps, and this one ends at step 3 \(--max-steps 3\): nothing to train; give a larger --epochs or --max-steps/,
  ],
  [
    () => ['train', '--resume', '--model', 'dense', '--limit', '32', '--epochs', '1', '--out', join(dir, 'run3')],
    2,
    /the run has trained 3 steps, and this one ends at step 2 \(--epochs 1 of 2 steps\): nothing to train/,
  ],
  [
    () => ['train', '--resume', '--model', 'dense', '--g-ema', '0', '--out', join(dir, 'ema-run')],
    2,
    /keeps a weight average of G \(--g-ema 0\.9\); --g-ema 0 would drop it/,
  ],
  // special files: never read (a pipe would wait for ever, /dev/zero never ends) nor replaced
  [
    () => ['sample', '--checkpoint', join(dir, 'fifo.png'), '--out', join(dir, 'g.png')],
    2,
    /--checkpoint .*fifo\.png: is not a regular file/,
  ],
  [
    () => ['style', '--content', join(dir, 'fifo.png'), '--style', 'gen:brush', '--out', join(dir, 's.png')],
    2,
    /--content: .*fifo\.png: it is not a regular file/,
  ],
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'fifo.png')],
    2,
    /will not replace .*fifo\.png: it exists and is not a regular file/,
  ],
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'pipelink.png')],
    2,
    /will not replace .*pipelink\.png: it exists and is not a regular file/,
  ],
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'run', 'other.safetensors')],
    2,
    /--out .*other\.safetensors: the grid is written as a PNG/,
  ],
  [
    () => ['train', '--model', 'dcgan32', '--dataset', join(dir, 'txt'), '--out', join(dir, 'txt', 'run')],
    2,
    /--out .*txt.run: lies inside --dataset .*txt; the run's grids and charts would join its images/,
  ],
  // the same folder through a link, either way round
  [
    () => ['train', '--model', 'dcgan32', '--dataset', join(dir, 'txt'), '--out', join(dir, 'txtlink', 'a', 'run')],
    2,
    /--out .*txtlink.a.run: lies inside --dataset .*txt;/,
  ],
  [
    () => ['train', '--model', 'dcgan32', '--dataset', join(dir, 'txtlink'), '--out', join(dir, 'txt')],
    2,
    /--out .*txt: lies inside --dataset .*txtlink;/,
  ],
  // the folder train makes, where a file has its name or a link points nowhere (was: "already exists",
  // "no such file or folder")
  [
    () => [...TINY_RUN, '--max-steps', '1', '--out', join(dir, 'samplesfile')],
    2,
    /cannot create folder .*samplesfile.samples: a file of that name is there, not a folder \(EEXIST\)/,
  ],
  [
    () => [...TINY_RUN, '--max-steps', '1', '--out', join(dir, 'danglink')],
    2,
    /cannot create folder .*danglink.samples: .*danglink is a link to .*nowhere, which does not exist \(ENOENT\)/,
  ],
  // --- sample ---
  [() => ['sample'], 2, /--checkpoint FILE is required/],
  [() => ['sample', '--checkpoint', ckpt()], 2, /--out FILE\.png is required/],
  [
    () => ['sample', '--checkpoint', join(dir, 'garbage', 'checkpoint.safetensors'), '--out', join(dir, 'g.png')],
    2,
    /--checkpoint .*not a checkpoint/,
  ],
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g.png'), '--generator', 'best'],
    2,
    /--generator: .*"best"/,
  ],
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g.png'), '--generator', 'ema'],
    2,
    /--generator ema: .*no weight average/,
  ],
  [
    () => [
      'sample',
      '--checkpoint',
      ckpt(),
      '--out',
      join(dir, 'g.png'),
      '--interpolate',
      '--tensors',
      join(dir, 't.st'),
    ],
    2,
    /--tensors/,
  ],
  [() => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'empty')], 2, /--out .*empty: is a folder/],
  [() => ['sample', '--checkpoint', ckpt(), '--out', join(README, 'g.png')], 2, /--out .*README\.md is a file/],
  [() => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g.png'), '--what'], 2, /--what/],
  // a generator that draws NaN from its statistics: refused before any file is written
  [
    () => [
      'sample',
      '--checkpoint',
      join(dir, 'rmbig', 'checkpoint.safetensors'),
      '--out',
      join(dir, 'rmbig', 'g.png'),
    ],
    2,
    /--checkpoint .*rmbig.checkpoint\.safetensors: generator G's output holds \d+ non-finite values \(first: NaN\)/,
  ],
  // a generator that overflows for a few latents of a 64-image grid but none of the 16 the probe draws (it wrote a
  // grid with black tiles, exit 0)
  [
    () => [
      'sample',
      '--checkpoint',
      join(dir, 'nansome', 'checkpoint.safetensors'),
      '--n',
      '64',
      '--out',
      join(dir, 'nansome', 'g.png'),
    ],
    2,
    /--checkpoint .*nansome.checkpoint\.safetensors: generator G's output holds \d+ non-finite values? \(first: -?(NaN|Infinity)\) of 50176/,
  ],
  // an output folder that cannot be written: refused before drawing (the PNG was written, then --tensors failed)
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g2.png'), '--tensors', join(readonlyDir(), 't.st')],
    2,
    /--tensors .*t\.st: the folder .* cannot be written/,
  ],
  // empty values (an unset shell variable), numbers in other notations, a rate that float32 rounds to 0
  [() => [...TINY_RUN, '--out', ''], 2, /^train: --out: empty value; give a value$/],
  [() => [...TINY_RUN, '--out', '-run'], 2, /^train: --out: a value that starts with "-" is given as --out=VALUE$/],
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g3.png'), '--tensors', ' '],
    2,
    /--tensors: empty value/,
  ],
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g3.png'), '--n', '0x4'],
    2,
    /--n: expected .*got "0x4"/,
  ],
  [
    () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g3.png'), '--n', ' 4 '],
    2,
    /--n: expected .*got " 4 "/,
  ],
  [
    () => [...TINY_RUN, '--lr-g', '1e-320', '--out', join(dir, 'lr0')],
    2,
    /--lr-g: 1e-320 is below float32's smallest normal value/,
  ],
  [
    () => [...TINY_RUN, '--lr-d', '1e-40', '--out', join(dir, 'lr0')],
    2,
    /--lr-d: 1e-40 is below float32's smallest normal/,
  ],
  [() => ['style', ...style(), '--log', ''], 2, /^style: --log: empty value; give a value$/],
  [
    () => [...TINY_RUN, '--resume', '--max-steps', '3', '--out', join(dir, 'deep')],
    2,
    /checkpoint\.safetensors: metadata images is a deeply nested list, not a count of images/,
  ],
  // a final output that is a folder: refused before training (it stopped the run after its checkpoint)
  [
    () => [...TINY_RUN, '--max-steps', '1', '--out', join(dir, 'interpdir')],
    2,
    /--out .*interpolation\.png: is a folder/,
  ],
  // --- eval ---
  [
    () => ['eval', '--checkpoint', join(dir, 'rmbig', 'checkpoint.safetensors'), '--n', '20'],
    2,
    /--checkpoint .*rmbig.checkpoint\.safetensors: generator G's 20 samples hold/,
  ],
  [() => ['eval'], 2, /--checkpoint FILE is required/],
  [() => ['eval', '--checkpoint', join(dir, 'nope.safetensors')], 2, /nope\.safetensors: no such file/],
  [() => ['eval', '--checkpoint', README], 2, /--checkpoint .*README\.md: not a checkpoint/],
  [() => ['eval', '--checkpoint', ckpt(), '--dataset', 'cifar'], 2, /--dataset: .*"cifar"/],
  [
    () => ['eval', '--checkpoint', join(dir, 'dscifar', 'checkpoint.safetensors')],
    2,
    /^eval: --checkpoint .*dscifar.checkpoint\.safetensors \(trained on it\): no classifier for dataset "cifar"/,
  ],
  [
    () => ['eval', '--checkpoint', join(dir, 'dslist', 'checkpoint.safetensors')],
    2,
    /^eval: --checkpoint .*dslist.checkpoint\.safetensors: metadata dataset is \["mnist"\], not a dataset name; pass --dataset$/,
  ],
  [
    () => ['eval', '--checkpoint', ckpt(), '--classifier', join(dir, 'nope.safetensors')],
    2,
    /--classifier .*no such file/,
  ],
  [
    () => ['eval', '--checkpoint', ckpt(), '--classifier', join(dir, 'garbage', 'checkpoint.safetensors')],
    2,
    /^eval: --classifier .*garbage.checkpoint\.safetensors: .*not a readable safetensors file/,
  ],
  [
    () => ['eval', '--checkpoint', ckpt(), '--classifier', resolve('models/fashion-mnist-classifier.safetensors')],
    2,
    /--classifier .*trained on 'fashion-mnist', not 'mnist'/,
  ],
  [() => ['eval', '--checkpoint', ckpt(), '--generator', 'best'], 2, /--generator/],
  // --- style ---
  [() => ['style', ...style(), '--optimizer', 'sgd'], 2, /^style: --optimizer: expected lbfgs or adam, got "sgd"$/],
  [
    () => ['style', '--content', join(dir, 'content.png'), '--style', 'gen:brush', '--out', join(dir, 'content.png')],
    2,
    /--out .*content\.png: is the --content file; the run would overwrite its own input/,
  ],
  [
    () => [
      'style',
      '--content',
      'gen:scene',
      '--style',
      join(dir, 'content.png'),
      '--out',
      join(dir, 's.png'),
      '--log',
      join(dir, 'content.png'),
    ],
    2,
    /--log .*content\.png: is the --style file/,
  ],
  [
    () => ['style', ...style(), '--log', join(dir, 'p.png'), '--plot', join(dir, 'p.png')],
    2,
    /--log and --plot both name .*p\.png/,
  ],
  [() => ['style', ...style(), '--log', join(dir, 'empty')], 2, /--log .*empty: is a folder/],
  // a snapshot would overwrite the content image, or is a folder; compare's results would overwrite its input
  [
    () =>
      ['style', '--content', join(dir, 'snap', 'r-0002.png'), '--style', 'gen:brush', '--steps', '3'].concat([
        '--snapshot-every',
        '1',
        '--out',
        join(dir, 'snap', 'r.png'),
      ]),
    2,
    /--snapshot-every 1 \(snapshot 2\) .*r-0002\.png: is the --content file; the run would overwrite its own input/,
  ],
  [
    () => [
      'style',
      ...style().slice(0, 4),
      '--steps',
      '4',
      '--snapshot-every',
      '3',
      '--out',
      join(dir, 'snap', 'f.png'),
    ],
    2,
    /--snapshot-every 3: snapshot .*f-0003\.png is a folder/,
  ],
  [
    () =>
      ['style', 'compare', '--content', join(dir, 'cmp', 'compare-adam.png'), '--style', 'gen:brush'].concat([
        '--out-dir',
        join(dir, 'cmp'),
      ]),
    2,
    /--out-dir \(compare-adam\.png\) .*compare-adam\.png: is the --content file/,
  ],
  [
    () => ['style', '--content', 'gen:scene', '--style', 'gen:brush', '--out', join(readonlyDir(), 's.png')],
    2,
    /--out .*s\.png: the folder .* cannot be written/,
  ],
  [
    () => ['train', '--model', 'dense', '--batch', '16', '--limit', '32', '--out', join(dir, 'dirckpt')],
    2,
    /--out .*dirckpt.checkpoint\.safetensors: is a folder/,
  ],
  [() => ['eval', '--checkpoint', join(dir, 'evaldir', 'checkpoint.safetensors')], 2, /eval\.json: is a folder/],
  [() => ['style', ...style(), '--content-layers', 'bogus'], 2, /bogus/],
  [() => ['style', ...style(), '--style-layers', 'bogus'], 2, /bogus/],
  [
    () => ['style', ...style(), '--preserve-color=no'],
    2,
    /^style: Option '--preserve-color' does not take an argument$/,
  ],
  [() => ['style', ...style(), '--stpes', '3'], 2, /^style: Unknown option '--stpes'$/],
  // compare runs both optimizers for their own step counts and writes only to --out-dir: the run's options are refused
  ...[
    '--steps 3',
    '--optimizer adam',
    '--scales 64',
    '--out x.png',
    '--log x.jsonl',
    '--plot x.png',
    '--snapshot-every 2',
  ].map((given): Case => [
    () => ['style', 'compare', ...style().slice(0, 4), '--out-dir', join(dir, 'cmp'), ...given.split(' ')],
    2,
    /^--(steps|optimizer) /.test(given)
      ? new RegExp(
          `^style: ${given.split(' ')[0]}: compare runs L-BFGS for --lbfgs-steps and Adam for --adam-steps iterations; give those instead$`,
        )
      : new RegExp(`^style: Unknown option '${given.split(' ')[0]}'$`),
  ]),
  // and the plain run refuses compare's
  [() => ['style', ...style(), '--adam-steps', '5'], 2, /^style: Unknown option '--adam-steps'$/],
  [
    () => ['style', '--content', 'gen:scene', '--style', 'gen:brush', '--out', join(dir, 'x.jpg')],
    2,
    /--out .*x\.jpg: output must be a \.png/,
  ],
  [
    () => ['style', '--content', join(dir, 'nope.png'), '--style', 'gen:brush', '--out', join(dir, 's.png')],
    2,
    /--content: .*nope\.png/,
  ],
  [
    () => ['style', '--content', join(dir, 'empty'), '--style', 'gen:brush', '--out', join(dir, 's.png')],
    2,
    /--content .*empty: is a folder/,
  ],
  [
    () => ['style', '--content', README, '--style', 'gen:brush', '--out', join(dir, 's.png')],
    2,
    /--content: .*README\.md/,
  ],
  [
    () => ['style', '--content', 'gen:nothing', '--style', 'gen:brush', '--out', join(dir, 's.png')],
    2,
    /--content: unknown generated image/,
  ],
  [() => ['style', ...style(), '--scales', '64,100000'], 2, /--scales: .*"100000"/],
  [() => ['style', ...style(), '--blend', 'a'], 2, /--blend: .*"a"/],
  [() => ['style', ...style(), '--blend', '1,2'], 2, /--blend has 2 weights for 1 style/],
  [() => ['style', ...style(), '--net', 'vgg16'], 2, /--net vgg16 needs --weights/],
  // a file that is not weights, and a size the network's layers cannot use: the user's mistakes, exit 2
  [() => ['style', ...style(), '--weights', README], 2, /--weights: weights file .*README\.md is neither HDF5/],
  [
    () => ['style', ...style(), '--size', '8'],
    2,
    /--size 8 \(a \d+ px side\): too small for the layers used with the content image \(\d+×\d+\) .*: raise it to at least \d+$/,
  ],
  [() => ['style', ...style(), '--scales', ','], 2, /^style: --scales: no values in ","; give a comma-separated list$/],
  [
    () => ['style', ...style(), '--size', '64', '--style-scale', '0.01'],
    2,
    /--style gen:brush \(512x512\) resized to 1x1 .*too small for the style/,
  ],
  // maps larger than the adapter binds: the result's where 2 GiB is too much, else the 16384 px style image's (32 GiB)
  [
    () => ['style', ...style(), '--size', '4096', '--style-scale', '4'],
    2,
    /--size 4096 makes a 4096x4096 result with block1_conv1 maps .*; at most --size \d+ fits|resized to 16384x16384 .* makes block1_conv1 maps .*; lower --style-scale or --size/,
  ],
  [() => ['style', ...style(), '--size', '64', '--size', '128'], 2, /--size given 2 times/],
  [() => ['style', '--style', 'gen:brush', '--out', join(dir, 's.png')], 2, /--content is required/],
  [() => ['style', '--content', 'gen:scene', '--out', join(dir, 's.png')], 2, /--style is required/],
  [() => ['style', '--content', 'gen:scene', '--style', 'gen:brush'], 2, /--out is required/],
  [() => ['style', ...style(), '--plot', join(dir, 'no', 'dir', 'p.png')], 2, /--plot .*does not exist/],
  [() => ['style', ...style(), '--log', join(dir, 'no', 'dir', 'l.jsonl')], 2, /--log .*does not exist/],
  [() => ['style', 'compare', '--content', 'gen:scene', '--style', 'gen:brush'], 2, /--out-dir/],
  [
    () => ['style', 'compare', '--content', 'gen:scene', '--style', 'gen:brush', '--out-dir', README],
    2,
    /--out-dir .*README\.md: is a file/,
  ],
  [
    () => [
      'style',
      'compare',
      '--content',
      'gen:scene',
      '--style',
      'gen:brush',
      '--out-dir',
      join(dir, 'cmp'),
      '--lbfgs-steps',
      '0',
    ],
    2,
    /--lbfgs-steps/,
  ],
  [() => ['style', 'weights', '--bogus', 'x'], 2, /^style: Unknown option '--bogus'$/],
  [() => ['style', 'weights', '--download', 'vgg99'], 2, /--download: .*vgg99/],
  [() => ['style', '--size'], 2, /^style: Option '--size <value>' argument missing$/],
  [() => ['demo', '--stesp', '10'], 2, /--stesp/],
  [() => ['demo', 'fast'], 2, /Unexpected argument 'fast'/],
  // --- the dispatcher ---
  [() => ['nope'], 2, /Unknown command "nope"/],
  [() => ['trian', '--epochs', '1'], 2, /Unknown command "trian"/],
];

// Every numeric option of every command: a non-number, a value below and one above its bounds (and a fraction).
for (const s of numeric(TRAIN_OPTIONS))
  for (const v of badValues(s)) cases.push([() => ['train', `--${s.name}`, v], 2, new RegExp(`--${s.name}: expected`)]);
for (const s of numeric(SAMPLE_OPTIONS))
  for (const v of badValues(s))
    cases.push([
      () => ['sample', '--checkpoint', ckpt(), '--out', join(dir, 'g.png'), `--${s.name}`, v],
      2,
      new RegExp(`--${s.name}: expected`),
    ]);
for (const s of numeric(EVAL_OPTIONS))
  for (const v of badValues(s))
    cases.push([() => ['eval', '--checkpoint', ckpt(), `--${s.name}`, v], 2, new RegExp(`--${s.name}: expected`)]);
for (const s of numeric(STYLE_OPTIONS))
  for (const v of badValues(s)) {
    const head = s.name.endsWith('-steps')
      ? ['style', 'compare', '--content', 'gen:scene', '--style', 'gen:brush', '--out-dir', join(dir, 'cmp')]
      : ['style', ...style()];
    cases.push([() => [...head, `--${s.name}`, v], 2, new RegExp(`--${s.name}: expected`)]);
  }
for (const s of numeric(DEMO_OPTIONS))
  for (const v of badValues(s)) cases.push([() => ['demo', `--${s.name}`, v], 2, new RegExp(`--${s.name}: expected`)]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-mistakes-'));
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'ckptdir'));
  mkdirSync(join(dir, 'txt'));
  writeFileSync(join(dir, 'txt', 'notes.txt'), 'not an image\n');
  writeFileSync(join(dir, 'afile'), 'a file where a folder is expected\n');
  mkdirSync(join(dir, 'dirckpt', 'checkpoint.safetensors'), { recursive: true });
  mkdirSync(join(dir, 'garbage'));
  writeFileSync(join(dir, 'garbage', 'checkpoint.safetensors'), 'garbage');
  mkdirSync(join(dir, 'readonly'), { mode: 0o555 });
  // one small checkpoint (dense model, one step) for the cases that need a real one
  const r = await run([...TINY_RUN, '--max-steps', '1', '--out', join(dir, 'run')]);
  expect(r.code, r.err.join('\n')).toBe(0);
  // three steps of 2 a epoch (it ends in epoch 1), for a resume on fewer images
  const r3 = await run([...TINY_RUN, '--max-steps', '3', '--out', join(dir, 'run3')]);
  expect(r3.code, r3.err.join('\n')).toBe(0);
  expect(checkpointSpec(new Uint8Array(readFileSync(join(dir, 'run3', 'checkpoint.safetensors')))).meta.images).toBe(
    32,
  );
  // as the web page saves it, without the image count: the step and epoch alone must show the data is smaller
  cpSync(join(dir, 'run3'), join(dir, 'run3-uncounted'), { recursive: true });
  editCheckpointMeta(join(dir, 'run3-uncounted', 'checkpoint.safetensors'), (m) => delete m.images);
  // a colour run (dcgan32's 3 channels, the digits in RGB; narrow, so one step is quick)
  const rgb = await run(
    ['train', '--model', 'dcgan32', '--width', '8', '--batch', '16', '--limit', '32'].concat([
      '--max-steps',
      '1',
      '--final-eval',
      'false',
      '--out',
      join(dir, 'rgb-run'),
    ]),
  );
  expect(rgb.code, rgb.err.join('\n')).toBe(0);
  // the same with a weight average of G
  const e = await run([...TINY_RUN, '--max-steps', '1', '--g-ema', '0.9', '--out', join(dir, 'ema-run')]);
  expect(e.code, e.err.join('\n')).toBe(0);
  // an image and a named pipe (and a link to it) where inputs and outputs are expected
  writeFileSync(
    join(dir, 'content.png'),
    encodePng({ width: 8, height: 8, rgba: new Uint8ClampedArray(256).fill(200) }),
  );
  // a content image named as a snapshot of --out snap/r.png would be (the 2nd), and as compare's result
  mkdirSync(join(dir, 'snap'));
  copyFileSync(join(dir, 'content.png'), join(dir, 'snap', 'r-0002.png'));
  mkdirSync(join(dir, 'snap', 'f-0003.png'));
  mkdirSync(join(dir, 'cmp'));
  copyFileSync(join(dir, 'content.png'), join(dir, 'cmp', 'compare-adam.png'));

  expect(spawnSync('mkfifo', [join(dir, 'fifo.png')]).status).toBe(0);
  symlinkSync(join(dir, 'txt'), join(dir, 'txtlink'));
  // a run folder whose samples/ is a file, and a run folder that is a link to nothing
  mkdirSync(join(dir, 'samplesfile'));
  writeFileSync(join(dir, 'samplesfile', 'samples'), 'mine\n');
  symlinkSync(join(dir, 'nowhere'), join(dir, 'danglink'));
  symlinkSync(join(dir, 'fifo.png'), join(dir, 'pipelink.png')); // a link to a pipe (as /dev/stdout is to a device)
  // finite but overflowing BatchNorm statistics: the loader takes them, the generator draws NaN from them
  mkdirSync(join(dir, 'rmbig'));
  copyFileSync(ckpt(), join(dir, 'rmbig', 'checkpoint.safetensors'));
  editCheckpointTensors(join(dir, 'rmbig', 'checkpoint.safetensors'), (t) => {
    const key = Object.keys(t).find((k) => k.startsWith('G.') && k.endsWith('.running_mean'))!;
    (t[key]!.data as Float32Array).fill(-3e38);
  });
  // one weight of G's first layer so large that the latent entry it multiplies overflows for the grid's later
  // latents only: the input whose largest |z| among latents 16–63 most exceeds its largest among the first 16
  {
    const { spec, options } = checkpointSpec(new Uint8Array(readFileSync(ckpt())));
    const trainer = new GanTrainer(spec, options);
    const zt = trainer.fixedLatent(64);
    const z = await zt.toArray();
    zt.dispose();
    trainer.dispose();
    const d = z.length / 64;
    const most = (from: number, to: number, i: number) => {
      let m = 0;
      for (let s = from; s < to; s++) m = Math.max(m, Math.abs(z[s * d + i]!));
      return m;
    };
    let pick = { i: 0, gap: -Infinity, at: 1 };
    for (let i = 0; i < d; i++) {
      const [first, later] = [most(0, 16, i), most(16, 64, i)];
      if (later - first > pick.gap) pick = { i, gap: later - first, at: (first + later) / 2 };
    }
    expect(pick.gap).toBeGreaterThan(0.1);
    mkdirSync(join(dir, 'nansome'));
    copyFileSync(ckpt(), join(dir, 'nansome', 'checkpoint.safetensors'));
    editCheckpointTensors(join(dir, 'nansome', 'checkpoint.safetensors'), (t) => {
      const first = Object.keys(t).find((k) => k.startsWith('G.') && k.endsWith('.weight') && t[k]!.shape[1] === d)!;
      (t[first]!.data as Float32Array)[pick.i] = 3.4e38 / pick.at;
    });
  }
  // meta.images nested 100,000 lists deep (a JSON.stringify of it overflowed the stack: exit 1)
  mkdirSync(join(dir, 'deep'));
  copyFileSync(ckpt(), join(dir, 'deep', 'checkpoint.safetensors'));
  editCheckpointMetaText(join(dir, 'deep', 'checkpoint.safetensors'), (text) =>
    text.replace(/"images":\d+/, `"images":${'['.repeat(100_000)}${']'.repeat(100_000)}`),
  );
  mkdirSync(join(dir, 'interpdir', 'interpolation.png'), { recursive: true });
  // checkpoints that record a dataset with no classifier, and a dataset that is not a name
  for (const [name, value] of [
    ['dscifar', 'cifar'],
    ['dslist', ['mnist']],
  ] as const) {
    mkdirSync(join(dir, name));
    copyFileSync(ckpt(), join(dir, name, 'checkpoint.safetensors'));
    editCheckpointMeta(join(dir, name, 'checkpoint.safetensors'), (meta) => (meta.dataset = value));
  }
  // a run folder whose eval.json is a folder
  mkdirSync(join(dir, 'evaldir', 'eval.json'), { recursive: true });
  copyFileSync(ckpt(), join(dir, 'evaldir', 'checkpoint.safetensors'));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('command-line mistakes: one line, exit 2, no stack', () => {
  it('has at least 100 scripted mistakes', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  it.each(cases.map((c, i) => [i, c] as const))(
    'case %i',
    async (_, [argv, code, names]) => {
      const args = argv();
      const r = await run(args);
      const text = r.err.join('').trimEnd();
      const shown = `${args.join(' ')}\n→ exit ${r.code}\n${text}`;
      expect(r.code, shown).toBe(code);
      expect(text.split('\n'), shown).toHaveLength(1);
      expect(text, shown).not.toMatch(/\n\s+at /);
      expect(text, shown).not.toMatch(/^\s*at /m);
      expect(text, shown).not.toMatch(/^(\w+): \1:/); // no doubled "sample: sample:"
      expect(text, shown).toMatch(names);
    },
    30_000,
  );

  it('a refused new run, a refused resume and refused outputs leave every file as it was', async () => {
    const { statSync, lstatSync } = await import('node:fs');
    const files = ['run/checkpoint.safetensors', 'run/log.jsonl', 'ema-run/checkpoint.safetensors', 'content.png'];
    const before = files.map((f) => readFileSync(join(dir, f)));
    const train = [...TINY_RUN, '--max-steps', '1'];
    expect((await run([...train, '--out', join(dir, 'run')])).code).toBe(2);
    expect((await run([...train, '--resume', '--g-ema', '0', '--out', join(dir, 'ema-run')])).code).toBe(2);
    const content = join(dir, 'content.png');
    expect((await run(['style', '--content', content, '--style', 'gen:brush', '--out', content])).code).toBe(2);
    expect((await run(['sample', '--checkpoint', ckpt(), '--out', join(dir, 'pipelink.png')])).code).toBe(2);
    expect((await run(['sample', '--checkpoint', ckpt(), '--out', join(dir, 'fifo.png')])).code).toBe(2);
    files.forEach((f, i) => expect(readFileSync(join(dir, f)).equals(before[i]!), f).toBe(true));
    expect(statSync(join(dir, 'fifo.png')).isFIFO()).toBe(true);
    expect(lstatSync(join(dir, 'pipelink.png')).isSymbolicLink()).toBe(true);
    // the refused sample and eval cases above (NaN draws, an unwritable --tensors folder) wrote nothing
    for (const f of ['rmbig/g.png', 'rmbig/eval.json', 'g2.png', 'nansome/g.png'])
      expect(existsSync(join(dir, f)), f).toBe(false);
  }, 120_000);

  it('a resume over a log with lines out of step order (two runs at once) drops them, and its checkpoint resumes', async () => {
    const out = join(dir, 'twice');
    expect((await run([...TINY_RUN, '--max-steps', '3', '--out', out])).code).toBe(0);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(log.map((l) => JSON.parse(l).step)).toEqual([0, 1, 2]);
    // two runs' lines interleaved, a step twice in a row, a step given as text, a line that is not a step's losses
    // and one with a step but not all of a step's losses
    const edited = [
      '{"step":0,"lossD":1}',
      log[0],
      log[1],
      log[1],
      log[0],
      log[2],
      log[1],
      log[2].replace(/"step":2/, '"step":"2"'),
      '{"note":1}',
    ];
    writeFileSync(join(out, 'log.jsonl'), edited.join('\n') + '\n');
    const r = await run([...TINY_RUN, '--resume', '--max-steps', '5', '--out', out]);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.join('\n')).toMatch(
      /--resume: dropped 6 lines of .*log\.jsonl that were out of step order or not a step's losses/,
    );
    const history = (ckpt: string) =>
      checkpointSpec(new Uint8Array(readFileSync(ckpt))).meta.lossHistory as { step: number[]; lossD: number[] };
    expect(history(join(out, 'checkpoint.safetensors')).step).toEqual([0, 1, 2, 3, 4]);
    // step 0's losses are the run's own, not the partial line's
    expect(history(join(out, 'checkpoint.safetensors')).lossD.slice(0, 3)).toEqual(
      log.map((l) => Math.fround(JSON.parse(l).lossD)),
    );
    expect(
      readFileSync(join(out, 'log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).step),
    ).toEqual([0, 1, 2, 3, 4]);
    const again = await run([...TINY_RUN, '--resume', '--max-steps', '6', '--out', out]);
    expect(again.code, again.err.join('\n')).toBe(0);
    expect(history(join(out, 'checkpoint.safetensors')).step).toEqual([0, 1, 2, 3, 4, 5]);
  }, 120_000);

  it("a run folder is locked while train writes to it: a live process's lock refuses, a dead one's is taken over", async () => {
    const { spawn } = await import('node:child_process');
    const out = join(dir, 'locked');
    mkdirSync(out);
    const holder = spawn('sleep', ['60']);
    try {
      writeFileSync(join(out, '.train.lock'), `${holder.pid} ${hostname()}\n`);
      const r = await run([...TINY_RUN, '--max-steps', '1', '--out', out]);
      expect(r.code).toBe(2);
      expect(r.err.join('').trim()).toBe(
        `train: --out ${out}: another train (process ${holder.pid}) is writing to this folder; wait for it to end, or give another --out (if no train is running there, remove ${join(out, '.train.lock')})`,
      );
      expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
    } finally {
      holder.kill();
    }
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(out, '.train.lock'), `${dead} ${hostname()}\n`);
    const r = await run([...TINY_RUN, '--max-steps', '1', '--out', out]);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(true);
    expect(existsSync(join(out, '.train.lock'))).toBe(false); // released at the end of the run
  }, 120_000);

  it("lockFolder: of processes starting at once on a folder whose lock is stale, exactly one takes it; another host's lock is held", () => {
    const d = mkdtempSync(join(tmpdir(), 'lock-'));
    try {
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      const script = join(d, 'take.mts');
      writeFileSync(
        script,
        `import { lockFolder } from ${JSON.stringify(resolve('src/node/files.ts'))};\n` +
          // every process waits for the same moment (given as its argument), then asks at once
          `const at = Number(process.argv[2]); while (Date.now() < at) {}\n` +
          `const r = lockFolder(${JSON.stringify(d)});\n` +
          `console.log('heldBy' in r ? 'held' : 'took');\n` +
          `await new Promise((f) => setTimeout(f, 1500));\n`,
      );
      for (let trial = 0; trial < 3; trial++) {
        writeFileSync(join(d, '.train.lock'), `${dead} ${hostname()}\n`);
        // each process pauses up to 6 ms between its steps, where another may act (WGPU_GAN_FAULT=lock-pause): the
        // lock taken over by renaming the stale one away let 2 or 3 of 6 processes take it in every such trial
        const runs = spawnSync(
          'bash',
          ['-c', `for i in 1 2 3 4; do npx tsx ${script} ${Date.now() + 6000} & done; wait`],
          {
            encoding: 'utf8',
            timeout: 60_000,
            env: { ...process.env, WGPU_GAN_FAULT: trial === 0 ? '' : 'lock-pause:6' },
          },
        );
        const said = runs.stdout.trim().split('\n').sort();
        expect(said, runs.stderr).toEqual(['held', 'held', 'held', 'took']);
        expect(existsSync(join(d, '.train.lock'))).toBe(false); // released at exit
      }
      writeFileSync(join(d, '.train.lock'), `${dead} another-host.example\n`);
      expect(lockFolder(d)).toEqual({
        heldBy: { pid: dead, host: 'another-host.example' },
        path: join(d, '.train.lock'),
      });
      expect(readdirSync(d).sort()).toEqual(['.train.lock', 'take.mts']); // no temporary file left
      // a takeover token left by a process killed while it held it: named, with the stale lock, after ~100 tries
      writeFileSync(join(d, '.train.lock'), `${dead} ${hostname()}\n`);
      const st = statSync(join(d, '.train.lock'), { bigint: true });
      const token = join(d, `.train.lock.takeover-${st.ino}-${st.ctimeNs}`);
      writeFileSync(token, `${dead} ${hostname()}\n`);
      expect(() => lockFolder(d)).toThrow(
        `cannot lock ${d}: its stale .train.lock is being taken over by another process, or was by one that was killed (if no train is starting there, remove ${token} and ${join(d, '.train.lock')})`,
      );
      rmSync(token);
      // a lock naming this very process (a killed train's pid given to the next one, in a container) is stale
      writeFileSync(join(d, '.train.lock'), `${process.pid} ${hostname()}\n`);
      const mine = lockFolder(d);
      expect('release' in mine).toBe(true);
      // released, a lock another process has written meanwhile stays (release removes only its own)
      writeFileSync(join(d, '.train.lock'), `${dead} another-host.example\n`);
      if ('release' in mine) mine.release();
      expect(readFileSync(join(d, '.train.lock'), 'utf8')).toBe(`${dead} another-host.example\n`);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);

  it('internal errors: one line with a hint, and the stack only with --debug', () => {
    const err: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((m) => void err.push(String(m)));
    try {
      expect(reportError('train', new Error('boom'))).toBe(1);
      expect(err[0]).toMatch(/^train failed: boom \(run again with --debug for the stack trace\)$/);
      expect(err[0]).not.toMatch(/\n/);
      setDebug(true);
      expect(reportError('train', new Error('boom'))).toBe(1);
      expect(err[1]).toMatch(/\n\s+at /);
      expect(reportError('train', new UsageError('--x: bad'))).toBe(2);
      expect(err[2]).toMatch(/^train: --x: bad/);
    } finally {
      setDebug(false);
      spy.mockRestore();
    }
  });
});

describe('stale temporary files and logs', () => {
  it('writeFileAtomic removes the temps of dead processes for the same target, and only those', () => {
    const d = mkdtempSync(join(tmpdir(), 'stale-'));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const target = join(d, 'checkpoint.safetensors');
    const stale = `.checkpoint.safetensors.${dead}.0123456789ab.tmp`;
    const live = `.checkpoint.safetensors.${process.ppid}.0123456789ab.tmp`;
    const own = `.checkpoint.safetensors.${process.pid}.0123456789ab.tmp`;
    const other = `.config.json.${dead}.0123456789ab.tmp`;
    const odd = `.checkpoint.safetensors.${dead}.nothex.tmp`;
    for (const f of [stale, live, own, other, odd]) writeFileSync(join(d, f), 'x');
    writeFileAtomic(target, 'new');
    expect(readFileSync(target, 'utf8')).toBe('new');
    expect(readdirSync(d).sort()).toEqual([live, own, other, odd, 'checkpoint.safetensors'].sort());
    expect(removeStaleTemps(join(d, 'config.json'))).toEqual([other]);
    rmSync(d, { recursive: true, force: true });
  });

  it('truncateJsonl keeps the lines before a step and drops torn ones, rewriting only when something goes', () => {
    const d = mkdtempSync(join(tmpdir(), 'jsonl-'));
    const p = join(d, 'log.jsonl');
    expect(truncateJsonl(p, () => true)).toEqual([]);
    expect(existsSync(p)).toBe(false);
    writeFileSync(p, ['{"step":0,"x":null}', '{"step":1}', '{"step":2}', '{"step":1}', '{"st'].join('\n'));
    const kept = truncateJsonl<{ step: number; x?: number }>(p, (r) => r.step < 1);
    expect(kept).toHaveLength(1);
    expect(kept[0].x).toBeNaN();
    expect(readFileSync(p, 'utf8')).toBe('{"step":0,"x":null}\n');
    rmSync(d, { recursive: true, force: true });
  });

  it('train --loss lsgan keeps its loss in the checkpoint: --resume continues with it and refuses another', async () => {
    const out = join(dir, 'lsgan');
    const first = await run(['train', '--model', 'dense', '--loss', 'lsgan', '--out', out, '--max-steps', '2']);
    expect(first.code, first.err.join('')).toBe(0);
    const other = await run([
      'train',
      '--model',
      'dense',
      '--resume',
      '--loss',
      'bce',
      '--out',
      out,
      '--max-steps',
      '3',
    ]);
    expect(other.code).toBe(2);
    expect(other.err.join('')).toMatch(/trains with --loss lsgan; a run cannot change its loss/);
    const resumed = await run(['train', '--model', 'dense', '--resume', '--out', out, '--max-steps', '3']);
    expect(resumed.code, resumed.err.join('')).toBe(0);
    const steps = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(steps.map((l) => JSON.parse(l).step)).toEqual([0, 1, 2]);
  }, 120_000);

  it('train --resume cuts log.jsonl and eval.jsonl back to the checkpoint, so no step appears twice', async () => {
    const out = join(dir, 'run');
    const log = join(out, 'log.jsonl');
    const steps = () =>
      readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).step as number);
    const before = steps();
    // what a run killed after its checkpoint (or stopped on a NaN) leaves: the steps it trained after it (whole
    // lines, the first at the checkpoint's own step), and a torn line
    const lines = readFileSync(log, 'utf8');
    const lastLine = lines.trim().split('\n').at(-1)!;
    const at = (step: number) => lastLine.replace(/"step":\d+/, `"step":${step}`) + '\n';
    writeFileSync(log, lines + at(before.at(-1)! + 1) + at(before.at(-1)! + 2) + '{"step":3,"lo');
    writeFileSync(join(out, 'eval.jsonl'), '{"step":1,"fd":3}\n{"step":7,"fd":2}\n');
    const r = await run(['train', '--model', 'dense', '--resume', '--out', out, '--max-steps', '2', '--limit', '32']);
    expect(r.code, r.err.join('')).toBe(0);
    const after = steps();
    expect(after).toEqual([...before, before.at(-1)! + 1]);
    expect(new Set(after).size).toBe(after.length);
    expect(readFileSync(join(out, 'eval.jsonl'), 'utf8')).toBe('{"step":1,"fd":3}\n');
  }, 120_000);
});

describe('outputs never replace the checkpoint they are drawn from', () => {
  it('sample refuses --out or --tensors naming the checkpoint (or a link to it) and --tensors naming --out', async () => {
    const d = mkdtempSync(join(dir, 'clobber-'));
    const ck = join(d, 'checkpoint.safetensors');
    copyFileSync(ckpt(), ck);
    linkSync(ck, join(d, 'link.png'));
    const before = readFileSync(ck);
    const tries: [string[], RegExp][] = [
      [
        ['--out', ck],
        /--out .*checkpoint\.safetensors: is the --checkpoint file; writing there would replace the checkpoint/,
      ],
      [['--out', join(d, 'link.png')], /--out .*link\.png: is the --checkpoint file/],
      [['--out', join(d, 'g.png'), '--tensors', ck], /--tensors .*checkpoint\.safetensors: is the --checkpoint file/],
      [['--out', join(d, 'g.png'), '--tensors', join(d, 'g.png')], /--tensors .*g\.png: is the --out file too/],
    ];
    for (const [extra, msg] of tries) {
      const r = await run(['sample', '--checkpoint', ck, '--n', '4', ...extra]);
      expect(r.code, r.err.join('')).toBe(2);
      expect(r.err.join('').trim()).toMatch(msg);
      expect(readFileSync(ck).equals(before)).toBe(true);
    }
    expect(existsSync(join(d, 'g.png'))).toBe(false);
  }, 60_000);

  it('eval refuses a checkpoint named eval.json (its scores would be written over it)', async () => {
    const d = mkdtempSync(join(dir, 'evaljson-'));
    const ck = join(d, 'eval.json');
    copyFileSync(ckpt(), ck);
    const before = readFileSync(ck);
    const r = await run(['eval', '--checkpoint', ck, '--n', '10']);
    expect(r.code, r.err.join('')).toBe(2);
    expect(r.err.join('').trim()).toMatch(/--checkpoint .*eval\.json: eval writes its scores to eval\.json beside/);
    expect(readFileSync(ck).equals(before)).toBe(true);
  }, 60_000);
});

describe('train --resume takes the run-defining options from the checkpoint', () => {
  it('resumes a run of batch 16 on 32 images without --batch (was: "fewer than one batch of 128")', async () => {
    const out = join(dir, 'resume-batch');
    const common = ['train', '--model', 'dense', '--limit', '32', '--final-eval', 'false', '--out', out];
    expect((await run([...common, '--batch', '16', '--max-steps', '1'])).code).toBe(0);
    const r = await run([...common, '--max-steps', '2', '--resume']);
    expect(r.code, r.err.join('')).toBe(0);
    const steps = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(steps.map((l) => JSON.parse(l).step)).toEqual([0, 1]);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).options.batchSize).toBe(16);
  }, 120_000);

  it('refuses to resume a progan run with another --grow-images (its stage and α follow from it)', async () => {
    const out = join(dir, 'resume-grow');
    const common = ['train', '--model', 'progan', '--size', '8', '--width', '8', '--limit', '32', '--batch', '16'];
    const first = await run([...common, '--grow-images', '16', '--max-steps', '1', '--grid', '4', '--out', out]);
    expect(first.code, first.err.join('')).toBe(0);
    const ck = join(out, 'checkpoint.safetensors');
    const before = readFileSync(ck);
    const other = await run([...common, '--grow-images', '32', '--max-steps', '2', '--out', out, '--resume']);
    expect(other.code).toBe(2);
    expect(other.err.join('').trim()).toMatch(
      /^train: --resume: .*checkpoint\.safetensors grows with --grow-images 16; a run cannot change it/,
    );
    expect(readFileSync(ck).equals(before)).toBe(true);
    const same = await run([
      ...common,
      '--grow-images',
      '16',
      '--max-steps',
      '2',
      '--grid',
      '4',
      '--out',
      out,
      '--resume',
    ]);
    expect(same.code, same.err.join('')).toBe(0);
  }, 120_000);
});

describe('train --eval-every on a labelled folder reads what the scores need before training', () => {
  /** A labelled folder of 16 colour 8×8 images whose classifier file is `classifier`; `gone` lists a missing image. */
  function folder(name: string, classifier: string, gone = false): string {
    const d = join(dir, name);
    mkdirSync(d);
    const images: Record<string, string> = {};
    for (let i = 0; i < 16; i++) {
      const rgba = new Uint8ClampedArray(8 * 8 * 4).map((_, j) => (j % 4 === 3 ? 255 : (i * 29 + j * 7) % 256));
      writeFileSync(join(d, `im${i}.png`), encodePng({ width: 8, height: 8, rgba }));
      images[`im${i}.png`] = i % 2 ? 'odd' : 'even';
    }
    if (gone) images['gone.png'] = 'odd';
    writeFileSync(join(d, 'labels.json'), formatLabels({ name, classes: ['even', 'odd'], images }));
    writeFileSync(join(d, 'classifier-8.safetensors'), classifier);
    return d;
  }
  const train = (data: string, out: string, more: string[] = []) =>
    run(
      ['train', '--model', 'progan', '--size', '8', '--width', '8', '--dataset', data, '--batch', '8'].concat([
        '--max-steps',
        '2',
        '--grid',
        '4',
        '--out',
        out,
        ...more,
      ]),
    );

  it('a classifier file that is not one: exit 2 naming it, no run folder (was: exit 1 at the first score)', async () => {
    const data = folder('garbage-classifier', 'garbage');
    for (const [more, flag] of [
      [['--eval-every', '1'], '--eval-every'],
      [[], '--final-eval \\(on by default; false skips it\\)'],
    ] as const) {
      const out = join(dir, `eval-garbage-${more.length}`);
      const r = await train(data, out, [...more]);
      expect(r.code, r.err.join('')).toBe(2);
      expect(r.err.join('').trim()).toMatch(
        new RegExp(
          `^train: ${flag}: loadClassifier\\(.*classifier-8\\.safetensors\\): not a readable safetensors file`,
        ),
      );
      expect(existsSync(out)).toBe(false);
    }
    // the user's way out: no scores, no classifier read
    const out = join(dir, 'eval-garbage-off');
    expect((await train(data, out, ['--final-eval', 'false'])).code).toBe(0);
  }, 120_000);

  it('labels.json listing an image that is not there: exit 2 naming it before training', async () => {
    const data = folder('gone-image', 'garbage', true);
    const out = join(dir, 'eval-gone');
    const r = await train(data, out, ['--eval-every', '1']);
    expect(r.code, r.err.join('')).toBe(2);
    expect(r.err.join('').trim()).toMatch(
      /^train: --eval-every: .*labels\.json: lists gone\.png, but .*gone\.png does not exist$/,
    );
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('an image damaged past --limit (its header whole): exit 2 naming it before training (was: exit 1 at the first score)', async () => {
    const data = folder('damaged-late', 'garbage');
    const bytes = readFileSync(join(data, 'im15.png'));
    writeFileSync(join(data, 'im15.png'), bytes.subarray(0, bytes.length - 20));
    const out = join(dir, 'eval-damaged');
    const r = await train(data, out, ['--limit', '8', '--eval-every', '1']);
    expect(r.code, r.err.join('')).toBe(2);
    expect(r.err.join('').trim()).toMatch(/^train: --eval-every: readImage: .*im15\.png is a truncated PNG: /);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});

describe('demo takes its options', () => {
  it('prints the loss every --every steps and at the last, falling', async () => {
    const r = await run(['demo', '--steps', '50', '--every', '20']);
    expect(r.code, r.err.join('')).toBe(0);
    const lines = r.out.filter((l) => l.startsWith('step'));
    expect(lines.map((l) => Number(l.split(/\s+/)[1]))).toEqual([0, 20, 40, 50]);
    const loss = lines.map((l) => Number(l.split(/\s+/)[3]));
    expect(loss.every(Number.isFinite)).toBe(true);
    expect(loss[3]!).toBeLessThan(loss[0]! / 4);
    expect(r.out.at(-1)).toMatch(/^50 steps in /);
  }, 60_000);

  it('a learning rate that blows the loss up: one line naming --lr, exit 1', async () => {
    const r = await run(['demo', '--lr', '10', '--steps', '100', '--every', '100']);
    expect(r.code).toBe(1);
    expect(r.err.join('').trim()).toBe('demo: the loss became NaN (lower --lr, now 10)');
  }, 60_000);
});

describe('train --overwrite', () => {
  it("removes the earlier run's grids, charts and scores, and nothing else, before the new run writes", async () => {
    const out = join(dir, 'overwritten');
    const first = await run([...TINY_RUN, '--epochs', '2', '--eval-every', '2', '--out', out]);
    expect(first.code, first.err.join('')).toBe(0);
    const earlier = ['eval.json', 'eval.jsonl', 'fd.png', 'interpolation.png', 'loss.png'];
    for (const f of [...earlier, 'samples/epoch-001.png', 'samples/epoch-002.png', 'samples/final.png'])
      expect(existsSync(join(out, f)), f).toBe(true);
    // the user's own files in the folder, one named like a grid but a folder
    writeFileSync(join(out, 'notes.txt'), 'mine\n');
    writeFileSync(join(out, 'samples', 'favourite.png'), 'mine\n');
    mkdirSync(join(out, 'samples', 'epoch-900.png'));

    const second = await run([...TINY_RUN, '--max-steps', '1', '--final-eval', 'false', '--overwrite', '--out', out]);
    expect(second.code, second.err.join('')).toBe(0);
    expect(second.out).toContain(
      "--overwrite: removed the earlier run's checkpoint.safetensors, eval.json, eval.jsonl, fd.png, interpolation.png, loss.png, 3 grids in samples/",
    );
    // one step, no epoch ended, no scores: only the new run's own files are back
    expect(readdirSync(out).sort()).toEqual(
      [
        'checkpoint.safetensors',
        'config.json',
        'interpolation.png',
        'log.jsonl',
        'loss.png',
        'notes.txt',
        'real.png',
        'samples',
      ].sort(),
    );
    expect(readdirSync(join(out, 'samples')).sort()).toEqual(['epoch-900.png', 'favourite.png', 'final.png']);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(checkpointSpec(new Uint8Array(readFileSync(join(out, 'checkpoint.safetensors')))).meta.step).toBe(1);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  }, 120_000);
});

describe('eval --classifier', () => {
  it('scores with the file given, loaded once before the samples, as with the same file by default', async () => {
    const d = mkdtempSync(join(dir, 'evalclf-'));
    const ck = join(d, 'checkpoint.safetensors');
    copyFileSync(ckpt(), ck);
    const byDefault = await run(['eval', '--checkpoint', ck, '--n', '200']);
    expect(byDefault.code, byDefault.err.join('')).toBe(0);
    const given = await run([
      'eval',
      '--checkpoint',
      ck,
      '--n',
      '200',
      '--classifier',
      resolve('models/mnist-classifier.safetensors'),
    ]);
    expect(given.code, given.err.join('')).toBe(0);
    // the score lines (all but the last, which names the file written) are the same
    expect(given.out.slice(0, -1)).toEqual(byDefault.out.slice(0, -1));
    expect(given.out.join('\n')).toMatch(/Fréchet distance:\s+\d/);
  }, 120_000);
});
