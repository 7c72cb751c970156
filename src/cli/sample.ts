/**
 * `sample`: a grid of generated images (or latent interpolation strips, or msggan's scales) from a checkpoint written
 * by train, and optionally the grid's raw tensors for the PyTorch check (tools/pytorch/check_checkpoint.py).
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { initEngine, type Tensor } from '../tensor/index.ts';
import { GanTrainer } from '../gan/trainer.ts';
import { sampleGrid, scaleGrid, interpolationStrip } from '../gan/visuals.ts';
import { WALK_FRAMES } from '../gan/latent-walk.ts';
import { writeFileAtomic } from '../node/files.ts';
import { writePng } from '../node/png.ts';
import { encodeSafetensors, type TensorToEncode } from '../io/safetensors.ts';
import {
  UsageError,
  parseOrHelp,
  formatOptions,
  readInputFile,
  checkOutputFile,
  sameFile,
  MAX_SEED,
  type OptionSpec,
} from './args.ts';
import {
  MAX_GRID,
  readCheckpointSpec,
  checkBatchesFit,
  loadTrainerCheckpoint,
  chooseGenerator,
  checkDrawnFinite,
  probeGenerator,
} from './gan-checkpoint.ts';

const { help: _walkHelp, ...walkFramesOption } = WALK_FRAMES;

/** `sample`'s options. */
export const SAMPLE_OPTIONS: readonly OptionSpec[] = [
  { name: 'checkpoint', type: 'string', arg: 'FILE', help: 'checkpoint.safetensors of a run (required)' },
  { name: 'out', type: 'string', arg: 'FILE', help: 'PNG to write (required)' },
  {
    name: 'n',
    type: 'integer',
    min: 1,
    max: MAX_GRID,
    default: 64,
    help: 'images in the grid',
    limit: 'a 16×16 grid, drawn in one GPU batch',
  },
  { name: 'interpolate', type: 'boolean', help: 'write interpolation strips instead of a grid' },
  {
    name: 'scales',
    type: 'boolean',
    help: 'msggan: one row of samples per scale its G draws (4×4 up to full size) instead of a grid; --n per row, at most 16',
  },
  { name: 'steps', ...walkFramesOption, help: 'images per interpolation strip' },
  {
    name: 'rows',
    type: 'integer',
    min: 1,
    max: 8,
    default: 4,
    help: 'interpolation strips',
    limit: 'rows × steps images are drawn in one GPU batch',
  },
  {
    name: 'seed',
    type: 'integer',
    min: 0,
    max: MAX_SEED,
    help: "latent seed (default: the run's seed, i.e. the same fixed z as its sample grids)",
  },
  {
    name: 'generator',
    type: 'string',
    choices: ['ema', 'raw'],
    help: 'from a run trained with --g-ema: the weight average (default) or the last trained weights',
  },
  {
    name: 'tensors',
    type: 'string',
    arg: 'FILE',
    help: "also write the grid's raw tensors as safetensors: z, images = G(z) and logits = D(images) scored as real images are, both nets in eval mode; progan adds stage_images (G(z) at its stage's size) and logits_fake, msggan scales.0… (its smaller scales) and logits_scales: what a training step gives D, and D's logits of it (tools/pytorch/check_checkpoint.py compares them all with PyTorch)",
  },
  { name: 'help', type: 'boolean', short: 'h', help: 'this text' },
];

const SAMPLE_HELP = `Usage: sample --checkpoint FILE --out FILE.png [options]

Writes a grid of generated images (or latent interpolations) from a checkpoint written by train.

${formatOptions(SAMPLE_OPTIONS)}`;

export async function sampleCommand(argv: string[]): Promise<number> {
  const o = parseOrHelp(argv, SAMPLE_OPTIONS, SAMPLE_HELP);
  if (!o) return 0;
  const path = o.str('checkpoint');
  const outPng = o.str('out');
  if (!path) throw new UsageError('--checkpoint FILE is required (see --help)');
  if (!outPng) throw new UsageError('--out FILE.png is required (see --help)');
  if (o.given('tensors') && o.bool('interpolate'))
    throw new UsageError("--tensors writes the grid's tensors; it does not combine with --interpolate");
  if (o.bool('scales') && (o.bool('interpolate') || o.given('tensors')))
    throw new UsageError('--scales writes its own picture; it does not combine with --interpolate or --tensors');
  checkOutputFile(outPng, '--out');
  const tensorsPath = o.str('tensors');
  if (tensorsPath) checkOutputFile(tensorsPath, '--tensors');
  // an output written over the checkpoint (or over the other output) would lose it
  for (const [flag, out] of [
    ['--out', outPng],
    ['--tensors', tensorsPath],
  ] as const)
    if (out !== undefined && sameFile(out, path))
      throw new UsageError(`${flag} ${out}: is the --checkpoint file; writing there would replace the checkpoint`);
  if (tensorsPath !== undefined && sameFile(tensorsPath, outPng))
    throw new UsageError(`--tensors ${tensorsPath}: is the --out file too; give the two outputs different names`);
  // the grid is a PNG: another name (a .jpg, another run's checkpoint.safetensors) would get PNG bytes
  if (!outPng.toLowerCase().endsWith('.png'))
    throw new UsageError(`--out ${outPng}: the grid is written as a PNG; give a file name ending in .png`);
  const bytes = readInputFile(path, '--checkpoint', 'a checkpoint.safetensors written by train');
  const { spec, options } = readCheckpointSpec(bytes, path, '--checkpoint');
  if (o.bool('scales') && spec.kind !== 'msggan')
    throw new UsageError(`--scales: ${path} is a ${spec.kind} run, whose G draws one scale; --scales is for msggan`);
  const choice = o.str('generator');
  await initEngine();
  checkBatchesFit(spec, [
    o.bool('interpolate')
      ? [`--rows ${o.num('rows')} × --steps ${o.num('steps')}`, o.num('rows') * o.num('steps')]
      : [`--n ${o.num('n')}`, o.bool('scales') ? Math.min(o.num('n'), 16) : o.num('n')],
  ]);
  const seed = o.optNum('seed') ?? options.seed;
  const trainer = new GanTrainer(spec, { ...options, seed });
  loadTrainerCheckpoint(trainer, bytes, path);
  chooseGenerator(trainer, choice);
  await probeGenerator(trainer, path, o.num('n'));
  const v = { interpolate: o.bool('interpolate'), out: outPng, tensors: tensorsPath };
  // every value drawn, not only the probe's: a weight that overflows for some latents leaves black tiles otherwise
  const finite = (values: Float32Array) =>
    checkDrawnFinite(values, path, `generator ${trainer.sampledModule}'s output`);
  const image = v.interpolate
    ? await interpolationStrip(trainer, o.num('steps'), o.num('rows'), finite)
    : o.bool('scales')
      ? await scaleGrid(trainer, Math.min(o.num('n'), 16), finite)
      : await sampleGrid(trainer, o.num('n'), undefined, finite);
  // Everything is drawn and checked before the first file is written: no PNG without its tensors.
  const tensors = v.tensors ? await sampleTensors(trainer, o.num('n')) : null;
  if (tensors)
    for (const [name, t] of Object.entries(tensors))
      checkDrawnFinite(t.data as Float32Array, path, `the ${name} tensor`);
  mkdirSync(resolve(v.out, '..'), { recursive: true });
  writePng(v.out, image);
  console.log(
    `Wrote ${v.out} (${image.width}×${image.height}) from ${spec.kind} at step ${trainer.step}${trainer.Gema ? ` (generator ${trainer.sampledModule})` : ''}`,
  );
  if (v.tensors && tensors) {
    mkdirSync(resolve(v.tensors, '..'), { recursive: true });
    writeFileAtomic(v.tensors, encodeSafetensors(tensors, { checkpoint: path, step: String(trainer.step) }));
    console.log(
      `Wrote ${v.tensors} (z ${tensors.z!.shape.join('×')}, images ${tensors.images!.shape.join('×')}, logits ${tensors.logits!.shape.join('×')})`,
    );
  }
  trainer.dispose();
  return 0;
}

/** The fixed-z grid's latents, G(z) and D(G(z)), both nets in eval mode, as float32 safetensors entries. */
async function sampleTensors(trainer: GanTrainer, n: number): Promise<Record<string, TensorToEncode>> {
  const z = trainer.fixedLatent(n);
  const images = trainer.generate(z);
  const logits = trainer.discriminate(images);
  const entry = async (t: Tensor): Promise<TensorToEncode> => ({
    dtype: 'F32',
    shape: [...t.shape],
    data: await t.toArray(),
  });
  const out: Record<string, TensorToEncode> = {
    z: await entry(z),
    images: await entry(images),
    logits: await entry(logits),
  };
  const kind = trainer.spec.kind;
  if (kind === 'progan' || kind === 'msggan') {
    // what a training step gives D, and D's logits of it (tools/pytorch/check_checkpoint.py compares both)
    const { fakes, logits: fakeLogits } = trainer.fakesAndScores(z);
    if (kind === 'progan') out.stage_images = await entry(fakes[0]!);
    else for (let i = 0; i < fakes.length - 1; i++) out[`scales.${i}`] = await entry(fakes[i]!);
    out[kind === 'progan' ? 'logits_fake' : 'logits_scales'] = await entry(fakeLogits);
    for (const t of [...fakes, fakeLogits]) t.dispose();
  }
  for (const t of [z, images, logits]) t.dispose();
  return out;
}
