/**
 * `style`: neural style transfer from the command line, and `style weights`: where to get pretrained VGG files.
 *
 *   style --content photo.jpg --style painting.png --out out.png --size 256 --steps 60 --optimizer lbfgs
 *   style --content gen:scene --style gen:brush --out out.png          (generated demo images)
 *   style weights [--download keras-vgg16 --dir weights/]
 *
 * All the work happens in src/style (runStyleTransfer); this file parses flags, reads and writes files and
 * draws the progress bar. Inputs are validated and loaded before anything runs, and the result is written
 * atomically at the end, so a bad input writes nothing.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, basename } from 'node:path';
import { initEngine } from '../tensor/index.ts';
import type { RgbaImage } from '../io/image.ts';
import { plotLines } from '../io/plot.ts';
import { readImage, writePng } from '../node/png.ts';
import { writeFileAtomic, ensureDir } from '../node/files.ts';
import { ProgressBar, formatFieldValue } from '../node/progress.ts';
import { loadFeatureNetFile, weightSourcesHelp, findWeightSource, downloadWeights } from '../node/style-weights.ts';
import { randomFeatureNet, type Architecture, type FeatureNet, type PoolKind } from '../style/nets.ts';
import {
  checkOptions,
  runStyleTransfer,
  StyleOptionsError,
  STYLE_DEFAULTS,
  type StyleTransferOptions,
  type IterationInfo,
  type OptimizerKind,
  type InitKind,
} from '../style/transfer.ts';
import type { TvKind, GramNormalize } from '../style/losses.ts';
import { geometricScene, brushTexture, stripeTexture } from '../style/images.ts';
import { isMainModule } from '../node/main-module.ts';
import {
  UsageError,
  InputError,
  sameFile,
  checkWritableFolder,
  checkNumber,
  formatOptions,
  reportError,
  MAX_SEED,
  type NumberSpec,
  type OptionSpec,
  type Options,
  parseOptions,
  parseOrHelp,
  runProgram,
} from './args.ts';
import { STYLE_NUMBER_OPTIONS } from '../style/style-options.ts';
import type { NumberRange } from '../io/number-range.ts';

/** The size bounds (also of each --scales entry), from the one declaration shared with the web page. */
const { flag: _sizeFlag, ...sizeBounds } = STYLE_NUMBER_OPTIONS.size;

/** A numeric option's kind and bounds from src/style/style-options.ts (the web page reads the same). */
function shared(field: keyof typeof STYLE_NUMBER_OPTIONS): NumberRange & { name: string } {
  const { flag, ...range } = STYLE_NUMBER_OPTIONS[field];
  return { name: flag, ...range };
}

/** `style compare` runs both optimizers for their own step counts at --size and writes only to --out-dir. */
const RUN_ONLY = new Set(['out', 'snapshot-every', 'log', 'plot', 'steps', 'optimizer', 'scales']);
const COMPARE_ONLY = new Set(['out-dir', 'adam-steps', 'lbfgs-steps']);

/** Iterations when --steps is not given: L-BFGS's line search evaluates several times an iteration. */
const DEFAULT_STEPS: Record<OptimizerKind, number> = { lbfgs: 40, adam: 300 };

/** `style`'s options (and `style compare`'s two step counts): the parser's checks and the help come from here. */
export const STYLE_OPTIONS: readonly OptionSpec[] = [
  { section: 'Inputs and network', name: 'content', type: 'string', arg: 'FILE', help: 'content image' },
  { name: 'style', type: 'string', arg: 'FILE', multiple: true, help: 'style image; repeat for several' },
  {
    name: 'blend',
    type: 'string',
    arg: 'W1,W2,...',
    help: 'blend weights of the style images, each in [0, 1e6] (default equal)',
  },
  {
    name: 'style-scale',
    type: 'float',
    arg: 'S',
    min: 0,
    minExclusive: true,
    max: 4,
    default: STYLE_DEFAULTS.styleScale,
    help: "style images are resized to S × the output size (default 1; VGG's maps of them must fit the adapter's largest GPU buffer binding)",
  },
  {
    name: 'weights',
    type: 'string',
    arg: 'FILE',
    help: 'pretrained VGG: Keras notop .h5 or torchvision-named .safetensors (see: style weights)',
  },
  {
    name: 'net',
    type: 'string',
    choices: ['vgg16', 'vgg19', 'random'],
    help: 'network to expect (default: from --weights, else random)',
  },
  {
    name: 'pool',
    type: 'string',
    choices: ['max', 'avg'],
    help: 'pooling (default: max for VGG, avg for the random network)',
  },
  {
    name: 'seed',
    type: 'integer',
    min: 0,
    max: MAX_SEED,
    default: STYLE_DEFAULTS.seed,
    help: 'seed of the random network and of noise init',
  },
  {
    section: '\nSize and optimisation',
    ...shared('size'),
    default: 256,
    help: 'longest side of the result in px',
  },
  {
    name: 'scales',
    type: 'string',
    arg: 'A,B,...',
    help: `coarse-to-fine sizes ending with --size, e.g. 128,256, each as --size (default: just --size)`,
  },
  {
    ...shared('steps'),
    help: `iterations in total over all scales (default ${DEFAULT_STEPS.lbfgs} for lbfgs, ${DEFAULT_STEPS.adam} for adam)`,
  },
  { name: 'optimizer', type: 'string', choices: ['lbfgs', 'adam'], default: 'lbfgs', help: '' },
  {
    name: 'lr',
    type: 'float',
    min: 0,
    minExclusive: true,
    max: 100,
    default: STYLE_DEFAULTS.adam.lr,
    help: 'Adam learning rate (betas 0.99/0.999, eps 0.1: the lesson notebook)',
  },
  {
    name: 'history',
    type: 'integer',
    arg: 'M',
    min: 1,
    max: 100,
    default: STYLE_DEFAULTS.lbfgs.historySize,
    help: 'L-BFGS history size',
  },
  {
    name: 'line-search',
    type: 'string',
    choices: ['strong-wolfe', 'none'],
    default: STYLE_DEFAULTS.lbfgs.lineSearch,
    help: 'L-BFGS step rule',
  },
  {
    name: 'init',
    type: 'string',
    choices: ['content', 'noise', 'content+noise'],
    default: STYLE_DEFAULTS.init,
    help: 'starting image',
  },
  {
    name: 'noise-ratio',
    type: 'float',
    arg: 'R',
    min: 0,
    max: 1,
    default: STYLE_DEFAULTS.noiseRatio,
    help: 'share of noise for content+noise',
  },
  {
    section: '\nLoss',
    ...shared('contentWeight'),
    arg: 'A',
    default: STYLE_DEFAULTS.contentWeight,
    help: '',
  },
  { ...shared('styleWeight'), arg: 'B', default: STYLE_DEFAULTS.styleWeight, help: '' },
  { ...shared('tvWeight'), arg: 'C', default: STYLE_DEFAULTS.tvWeight, help: '' },
  {
    name: 'tv',
    type: 'string',
    choices: ['abs', 'squared'],
    default: STYLE_DEFAULTS.tvKind,
    help: 'total variation form; squared uses (dx² + dy²)^(beta/2)',
  },
  {
    name: 'tv-beta',
    type: 'float',
    arg: 'X',
    min: 0,
    minExclusive: true,
    max: 10,
    default: STYLE_DEFAULTS.tvBeta,
    help: "beta of the squared form (2.5 is the Keras example's power 1.25)",
  },
  {
    name: 'gram',
    type: 'string',
    choices: ['hw', 'chw', 'none'],
    default: STYLE_DEFAULTS.gramNormalize,
    help: 'Gram normalisation',
  },
  { name: 'content-layers', type: 'string', arg: 'L,...', default: STYLE_DEFAULTS.contentLayers.join(','), help: '' },
  { name: 'style-layers', type: 'string', arg: 'L,...', default: STYLE_DEFAULTS.styleLayers.join(','), help: '' },
  {
    name: 'style-layer-weights',
    type: 'string',
    arg: 'W,...',
    help: 'per style layer, each in [0, 1e6] (default equal, summing to 1)',
  },
  { name: 'preserve-color', type: 'boolean', help: "transfer on luminance only and keep the content's colours" },
  { section: '\nOutput', name: 'out', type: 'string', arg: 'FILE.png', help: 'result' },
  {
    name: 'snapshot-every',
    type: 'integer',
    min: 0,
    max: 100_000,
    default: 0,
    help: 'also write OUT-<iteration>.png every N iterations (0 = never)',
  },
  {
    name: 'log',
    type: 'string',
    arg: 'FILE.jsonl',
    help: 'one JSON line per iteration (losses, evaluations, seconds)',
  },
  { name: 'plot', type: 'string', arg: 'FILE.png', help: 'loss curve (log10 of each term) at the end' },
  {
    section: '\nstyle compare',
    name: 'out-dir',
    type: 'string',
    arg: 'DIR',
    help: `folder for compare-*.png, compare.md, compare.jsonl; compare takes the options above but ${[...RUN_ONLY].map((n) => `--${n}`).join(', ')}`,
  },
  { name: 'adam-steps', type: 'integer', min: 1, max: 100_000, default: 200, help: 'Adam iterations' },
  { name: 'lbfgs-steps', type: 'integer', min: 1, max: 100_000, default: 30, help: 'L-BFGS iterations' },
  { name: 'help', type: 'boolean', short: 'h', help: 'this text' },
];

const HELP = `Usage: style --content FILE --style FILE [--style FILE ...] --out OUT.png [options]
       style weights [--download ID] [--dir DIR]
       style compare --content FILE --style FILE --out-dir DIR [options]   (Adam vs L-BFGS on the same inputs)

Images are PNG or JPEG; gen:scene, gen:brush and gen:stripes are generated test images.
Output is PNG, written atomically when the run finishes.

${formatOptions(STYLE_OPTIONS, 26)}

Mistakes in the options or files print one line and exit 2; --debug prints the stack of an internal error.`;

const RUN_TABLE = STYLE_OPTIONS.filter((o) => !COMPARE_ONLY.has(o.name));
const COMPARE_TABLE = STYLE_OPTIONS.filter((o) => !RUN_ONLY.has(o.name));

/** `style weights`'s options (its help is the list of weight sources). */
export const WEIGHTS_OPTIONS: readonly OptionSpec[] = [
  { name: 'download', type: 'string', arg: 'ID', help: 'a source from the list to download' },
  { name: 'dir', type: 'string', arg: 'DIR', default: 'weights', help: 'folder to download into' },
  { name: 'help', type: 'boolean', short: 'h', help: 'the list of sources' },
];

/** A comma-separated option as a list; undefined when neither given nor defaulted. */
function list(o: Options, name: string): string[] | undefined {
  const s = o.str(name);
  if (s === undefined) return undefined;
  const l = s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  // `--scales ,` or `--content-layers ,`: an empty list, refused later as "no content layers given"
  if (!l.length) throw new UsageError(`--${name}: no values in "${s}"; give a comma-separated list`);
  return l;
}

/** A comma-separated list of numbers, each checked against `each` (named after this option). */
function numList(o: Options, name: string, each: Omit<NumberSpec, 'name' | 'help'>): number[] | undefined {
  const l = list(o, name);
  if (!l) return undefined;
  if (l.length > 16) throw new UsageError(`--${name}: at most 16 values, got ${l.length}`);
  return l.map((x) => checkNumber({ ...each, name, help: '' }, x));
}

/** Reads an image file, or generates one for gen:scene / gen:brush / gen:stripes. */
export function loadInputImage(spec: string, what: string): RgbaImage {
  if (spec.startsWith('gen:')) {
    const kind = spec.slice(4);
    if (kind === 'scene') return geometricScene(512);
    if (kind === 'brush') return brushTexture(512);
    if (kind === 'stripes') return stripeTexture(512);
    throw new UsageError(`${what}: unknown generated image "${spec}" (gen:scene, gen:brush, gen:stripes)`);
  }
  if (existsSync(spec) && statSync(spec).isDirectory())
    throw new InputError(`${what} ${spec}: is a folder; expected a PNG or JPEG file`);
  try {
    return readImage(spec);
  } catch (err) {
    // the user's file is missing or not an image: their input, one line, exit 2
    throw new InputError(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

function checkOutputPath(path: string, flag: string, png = true): void {
  if (png && extname(path).toLowerCase() !== '.png')
    throw new UsageError(`${flag} ${path}: output must be a .png file`);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`${flag} ${path}: directory ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory())
    throw new InputError(`${flag} ${path}: is a folder; expected a file name to write`);
  // a folder that cannot be written fails now, not after the whole transfer
  checkWritableFolder(dir, flag, path);
}

/**
 * No output may overwrite an input image or another output: `style --out content.png` would replace the photo
 * being stylized, `--log` naming the `--plot` file would leave only one of them.
 */
function checkNoClobber(inputs: [string, string][], outputs: [string, string][]): void {
  for (const [i, [flag, path]] of outputs.entries()) {
    for (const [inFlag, inPath] of inputs)
      if (sameFile(path, inPath))
        throw new UsageError(`${flag} ${path}: is the ${inFlag} file; the run would overwrite its own input`);
    for (const [otherFlag, other] of outputs.slice(i + 1))
      if (sameFile(path, other))
        throw new UsageError(`${flag} and ${otherFlag} both name ${path}; give each its own file`);
  }
}

interface Prepared {
  options: StyleTransferOptions;
  net: FeatureNet;
}

/**
 * Checks and loads everything a run needs; throws before any computation or file write. `compare` runs both
 * optimizers itself and writes only `moreOutputs` (its table has no --out, --steps, --optimizer, ...).
 */
async function prepare(
  o: Options,
  mode: 'run' | 'compare',
  moreOutputs: [string, string][] = [],
): Promise<Prepared & { out?: string; snapshotEvery: number; log?: string; plot?: string }> {
  const run = mode === 'run';
  const contentSpec = o.str('content');
  const styleSpecs = o.all('style');
  const out = run ? o.str('out') : undefined;
  if (!contentSpec) throw new UsageError('--content is required (see --help)');
  if (!styleSpecs.length) throw new UsageError('--style is required (see --help)');
  if (run && !out) throw new UsageError('--out is required (see --help)');
  if (out) checkOutputPath(out, '--out');
  const log = run ? o.str('log') : undefined;
  const plot = run ? o.str('plot') : undefined;
  if (plot) checkOutputPath(plot, '--plot');
  if (log) checkOutputPath(log, '--log', false);
  const optimizer = run ? (o.str('optimizer') as OptimizerKind) : 'lbfgs';
  const steps = run ? (o.optNum('steps') ?? DEFAULT_STEPS[optimizer]) : 0;
  const blend = numList(o, 'blend', { type: 'float', min: 0, max: 1e6 });
  if (blend && blend.length !== styleSpecs.length)
    throw new UsageError(`--blend has ${blend.length} weights for ${styleSpecs.length} style images`);
  const netName = o.str('net') as Architecture | undefined;
  const pool = o.str('pool') as PoolKind | undefined;
  const weights = o.str('weights');
  const seed = o.num('seed');
  if (netName && netName !== 'random' && !weights) {
    throw new UsageError(
      `--net ${netName} needs --weights FILE (pretrained weights are not bundled; run "style weights" to see where to get them)`,
    );
  }
  const snapshotEvery = run ? o.num('snapshot-every') : 0;
  const named = (pairs: [string, string | undefined][]) => pairs.filter((p): p is [string, string] => !!p[1]);
  checkNoClobber(
    named([
      ['--content', contentSpec],
      ...styleSpecs.map((s): [string, string] => ['--style', s]),
      ['--weights', weights],
    ]).filter(([, p]) => !p.startsWith('gen:')),
    named([
      ['--out', out],
      ['--log', log],
      ['--plot', plot],
    ]).concat(moreOutputs, out ? existingSnapshots(out, steps, snapshotEvery) : []),
  );

  const options: Omit<StyleTransferOptions, 'net' | 'content' | 'styles'> = {
    size: o.num('size'),
    scales: run ? numList(o, 'scales', sizeBounds) : undefined,
    steps,
    optimizer,
    adam: { lr: o.num('lr') },
    lbfgs: { historySize: o.num('history'), lineSearch: o.str('line-search') as 'strong-wolfe' | 'none' },
    contentLayers: list(o, 'content-layers'),
    styleLayers: list(o, 'style-layers'),
    styleLayerWeights: numList(o, 'style-layer-weights', { type: 'float', min: 0, max: 1e6 }),
    contentWeight: o.num('content-weight'),
    styleWeight: o.num('style-weight'),
    tvWeight: o.num('tv-weight'),
    tvKind: o.str('tv') as TvKind,
    tvBeta: o.num('tv-beta'),
    gramNormalize: o.str('gram') as GramNormalize,
    init: o.str('init') as InitKind,
    noiseRatio: o.num('noise-ratio'),
    seed,
    preserveColor: o.bool('preserve-color'),
    styleScale: o.num('style-scale'),
    snapshotEvery,
  };

  // Read inputs before touching the GPU, so a missing file fails fast.
  const content = loadInputImage(contentSpec, '--content');
  const styles = styleSpecs.map((s, i) => ({
    image: loadInputImage(s, `--style ${s}`),
    weight: blend?.[i] ?? 1,
    name: `--style ${s}`,
  }));
  await initEngine();
  let net: FeatureNet;
  try {
    net = weights ? await loadFeatureNetFile(weights, { arch: netName, pool }) : randomFeatureNet(seed, pool ?? 'avg');
  } catch (e) {
    // A weights file that is not one (wrong format, missing layers, wrong shapes) is the user's file: exit 2.
    throw new InputError(`--weights: ${(e as Error).message}`, { cause: e });
  }
  const full = { ...options, content, styles, net };
  try {
    checkOptions(full, { names: { size: '--size', styleScale: '--style-scale', scales: '--scales' } });
  } catch (e) {
    if (e instanceof StyleOptionsError) throw new UsageError(e.message);
    throw e;
  }
  return { options: full, net, out, snapshotEvery, log, plot };
}

function lossFields(info: IterationInfo): Record<string, string | number> {
  const l = info.losses;
  return {
    loss: formatFieldValue(l.total),
    content: formatFieldValue(l.content),
    style: formatFieldValue(l.style),
    tv: formatFieldValue(l.tv),
    evals: info.evaluations,
  };
}

/** log10 loss curves of a run's history (total and each term). */
export function lossChart(history: IterationInfo[], title: string): RgbaImage {
  const x = history.map((h) => h.iteration);
  const series = (['total', 'content', 'style', 'tv'] as const).map((k) => ({
    name: k,
    x,
    values: history.map((h) => Math.log10(Math.max(h.losses[k], 1e-12))),
  }));
  return plotLines(series, { title, xLabel: 'iteration', yLabel: 'log10 loss', width: 640, height: 400 });
}

function snapshotPath(out: string, iteration: number): string {
  return join(dirname(out), `${basename(out, extname(out))}-${String(iteration).padStart(4, '0')}.png`);
}

/**
 * The snapshots a run of `steps` iterations will write beside `out` (every `every`-th) that exist already, named as
 * outputs for checkNoClobber: an existing file there is replaced, but not an input image, and not a folder.
 */
function existingSnapshots(out: string, steps: number, every: number): [string, string][] {
  if (every <= 0) return [];
  const dir = dirname(out);
  const stem = basename(out, extname(out));
  const found: [string, string][] = [];
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const m = /^(.*)-(\d{4,})\.png$/.exec(name);
    const iteration = m && m[1] === stem ? Number(m[2]) : 0;
    if (iteration < every || iteration > steps || iteration % every !== 0) continue;
    const path = snapshotPath(out, iteration);
    if (basename(path) !== name) continue; // e.g. 00012 where the run writes 0012
    if (statSync(path).isDirectory())
      throw new InputError(`--snapshot-every ${every}: snapshot ${path} is a folder; expected a file name to write`);
    found.push([`--snapshot-every ${every} (snapshot ${iteration})`, path]);
  }
  return found;
}

async function runCommand(argv: string[]): Promise<number> {
  const o = parseOrHelp(argv, RUN_TABLE, HELP);
  if (!o) return 0;
  const p = await prepare(o, 'run');
  const out = p.out!;
  console.log(`feature network: ${p.net.source.description}`);
  console.log(`preprocessing: ${p.net.source.preprocessing.name}; pooling: ${p.net.pool}`);
  console.log(
    `optimizer: ${p.options.optimizer}, ${p.options.steps} iterations, scales ${(p.options.scales ?? [p.options.size]).join(' → ')} px`,
  );
  const bar = new ProgressBar({ label: 'style', total: Math.max(1, p.options.steps) });
  const logLines: string[] = [];
  try {
    const result = await runStyleTransfer(p.options, {
      onIteration: (info) => {
        bar.update(info.iteration, lossFields(info));
        if (p.log) logLines.push(JSON.stringify({ ...info, losses: info.losses }));
      },
      onSnapshot: (image, info) => writePng(snapshotPath(out, info.iteration), image),
    });
    bar.finish(result.history.length ? lossFields(result.history[result.history.length - 1]) : undefined);
    writePng(out, result.image);
    if (p.log) writeFileAtomic(p.log, logLines.join('\n') + '\n');
    if (p.plot) writePng(p.plot, lossChart(result.history, `loss, ${p.options.optimizer}`));
    const per = result.history.length ? result.seconds / result.history.length : 0;
    console.log(
      `wrote ${out} (${result.image.width}x${result.image.height}) in ${result.seconds.toFixed(1)} s, ${per.toFixed(2)} s/iteration, ${result.history.at(-1)?.evaluations ?? 0} evaluations; feature network: ${result.featureNet}`,
    );
    return 0;
  } finally {
    p.net.dispose();
  }
}

/** Runs Adam and L-BFGS on the same inputs; reports iterations/evaluations/time each needs to reach the same loss. */
async function compareCommand(argv: string[]): Promise<number> {
  // the run's step count and optimizer, which compare sets itself: say what to give instead
  for (const own of ['steps', 'optimizer'])
    if (argv.some((a) => a === `--${own}` || a.startsWith(`--${own}=`)))
      throw new UsageError(
        `--${own}: compare runs L-BFGS for --lbfgs-steps and Adam for --adam-steps iterations; give those instead`,
      );
  const o = parseOrHelp(argv, COMPARE_TABLE, HELP);
  if (!o) return 0;
  const outDir = o.str('out-dir');
  if (!outDir) throw new UsageError('compare needs --out-dir DIR');
  const adamSteps = o.num('adam-steps');
  const lbfgsSteps = o.num('lbfgs-steps');
  if (existsSync(outDir) && !statSync(outDir).isDirectory())
    throw new InputError(`--out-dir ${outDir}: is a file; expected a folder`);
  const written = ['compare-lbfgs.png', 'compare-adam.png', 'compare.md', 'compare.jsonl', 'compare-loss.png'];
  const p = await prepare(
    o,
    'compare',
    written.map((name): [string, string] => [`--out-dir (${name})`, join(outDir, name)]),
  );
  ensureDir(outDir);
  console.log(`feature network: ${p.net.source.description}`);
  const runs: Record<string, IterationInfo[]> = {};
  try {
    for (const [optimizer, steps] of [
      ['lbfgs', lbfgsSteps],
      ['adam', adamSteps],
    ] as const) {
      const bar = new ProgressBar({ label: optimizer, total: steps });
      const r = await runStyleTransfer(
        { ...p.options, optimizer, steps, stepsPerScale: undefined, scales: undefined },
        { onIteration: (i) => bar.update(i.iteration, lossFields(i)) },
      );
      bar.finish();
      runs[optimizer] = r.history;
      writePng(join(outDir, `compare-${optimizer}.png`), r.image);
    }
  } finally {
    p.net.dispose();
  }
  const target = Math.max(runs.lbfgs.at(-1)!.losses.total, runs.adam.at(-1)!.losses.total);
  const reach = (h: IterationInfo[]) => h.find((i) => i.losses.total <= target);
  const lines = [
    '| optimizer | iterations | evaluations | seconds | s/evaluation over the whole run | final loss |',
    '|---|---|---|---|---|---|',
  ];
  for (const [name, h] of Object.entries(runs)) {
    const r = reach(h)!;
    const last = h.at(-1)!;
    lines.push(
      `| ${name} | ${r.iteration} | ${r.evaluations} | ${r.seconds.toFixed(1)} | ${(last.seconds / last.evaluations).toFixed(2)} | ${last.losses.total.toPrecision(4)} |`,
    );
  }
  const table = `Iterations, evaluations and seconds until each first reached loss ${target.toPrecision(4)} (the higher of the two final losses):\n\n${lines.join('\n')}\n`;
  console.log(table);
  writeFileAtomic(join(outDir, 'compare.md'), table);
  writeFileAtomic(
    join(outDir, 'compare.jsonl'),
    Object.entries(runs)
      .flatMap(([o, h]) => h.map((i) => JSON.stringify({ optimizer: o, ...i })))
      .join('\n') + '\n',
  );
  const series = Object.entries(runs).map(([name, h]) => ({
    name,
    x: h.map((i) => i.evaluations),
    values: h.map((i) => Math.log10(i.losses.total)),
  }));
  writePng(
    join(outDir, 'compare-loss.png'),
    plotLines(series, {
      title: 'Adam vs L-BFGS: total loss',
      xLabel: 'objective evaluations (forward+backward)',
      yLabel: 'log10 loss',
    }),
  );
  return 0;
}

async function weightsCommand(argv: string[]): Promise<number> {
  const o = parseOptions(argv, WEIGHTS_OPTIONS);
  const id = o.str('download');
  const dir = o.str('dir')!;
  if (o.bool('help') || !id) {
    console.log(weightSourcesHelp());
    return 0;
  }
  let source: ReturnType<typeof findWeightSource>;
  try {
    source = findWeightSource(id);
  } catch (e) {
    throw new UsageError(`--download: ${(e as Error).message}`);
  }
  const bar = new ProgressBar({ label: source.id, total: source.size ?? Infinity, unit: 'B' });
  const path = await downloadWeights(source, dir, { onProgress: (n) => bar.update(n) });
  bar.finish();
  console.log(`wrote ${path} (size and MD5 verified)`);
  return 0;
}

/** Entry point used by src/cli/main.ts: returns the exit code (2 for usage errors, 1 for failures). */
export async function styleCommand(argv: string[]): Promise<number> {
  try {
    if (argv[0] === 'weights') return await weightsCommand(argv.slice(1));
    if (argv[0] === 'compare') return await compareCommand(argv.slice(1));
    return await runCommand(argv);
  } catch (err) {
    return reportError('style', err);
  }
}

// Run directly: tsx src/cli/style.ts ...
if (isMainModule(import.meta.url)) {
  process.exitCode = await runProgram('style', () => styleCommand(process.argv.slice(2)));
}
