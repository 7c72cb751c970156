/**
 * The GAN page: builds a GanTrainer (src/gan/trainer.ts, the CLI's trainer) on a dataset held in memory and
 * trains it a few steps per animation frame.
 *
 * Readbacks stall the GPU, so the page reads only what it shows: the statistics of the last step of each frame
 * (the steps before it are recorded and run without waiting), and the fixed-z sample grid every few steps.
 * The number of steps per frame adapts so that a frame takes about FRAME_BUDGET_MS of GPU time; a pause takes
 * effect when the frame in flight ends (one step, when steps are slow).
 *
 * Each step's real batch comes from a DataCursor (src/gan/data-cursor.ts) on the trainer's step and epoch, as in
 * `train --resume`, and a saved checkpoint carries the chart's loss points: loading it continues the run exactly.
 *
 * The growing models (progan, msggan) show their stage and fade α in the stats row (#growth, with data-stage and
 * data-alpha): progan's follow the images shown (growthAt), so a frame's steps stay within one phase of growing, the
 * grid is drawn at the stage the nets are at, and a finished stage's grid is kept beside it; msggan draws a row of
 * samples per scale its G emits. Their loss, like every model's, is chosen when the model is built.
 *
 * The latent walk (src/gan/latent-walk.ts) is the CLI's `sample --interpolate` strip: G in eval mode along slerp between
 * two points of the run's seeded chain, redrawn with the view when a frame count or new end points are asked for, and
 * every "Refresh samples" steps while training. Animate plays it frame by frame and walks on along the chain, drawing
 * each next leg from the generator as it is then; walks drawn on their own (not asked for) take about a fifth of the
 * time at most, and those asked for while nothing runs are drawn between the page's other work, never during it.
 *
 * What the page is doing is always on its status line (#status, with data-state): loading data, building the
 * model, a step compiling its GPU kernels (with the time it has taken), training with its speed and the time to
 * the end of the epoch, pausing, paused. A control that cannot act is disabled with the reason as its tooltip.
 */
import {
  GanTrainer,
  checkpointSpec,
  EMA_STATS_BATCH,
  learningRateFactor,
  decayEndedProblem,
  type GanStepResult,
  type StepStats,
  type TrainOptions,
} from '../../src/gan/trainer.ts';
import {
  batchFitProblem,
  ganSpec,
  isGrowing,
  GAN_KINDS,
  GROWING_SIZES,
  type GanKind,
  type GanSpec,
} from '../../src/gan/models.ts';
import { realGrid, sampleGrid, scaleGrid, lossChart } from '../../src/gan/visuals.ts';
import {
  GAN_LOSSES,
  GAN_LOSS_HELP,
  generatorLossNeedsReal,
  lossTakesRealLabel,
  type GanLossKind,
} from '../../src/gan/losses.ts';
import { DataCursor, runDataProblem } from '../../src/gan/data-cursor.ts';
import {
  WALK_FRAMES,
  walkPair,
  pairAfter,
  nextLeg,
  cliStrip,
  walkImages,
  walkStrip,
  type WalkSegment,
} from '../../src/gan/latent-walk.ts';
import { decodeLossHistory, encodeLossHistory } from '../../src/gan/loss-history.ts';
import {
  MODEL_NUMBER_OPTIONS,
  TRAIN_NUMBER_OPTIONS,
  describeRange,
  trainOptionProblem,
  type TrainNumberField,
  type TrainNumberOption,
} from '../../src/gan/train-options.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { parseIdx, idxToDataset } from '../../src/data/idx.ts';
import { resizeDataset, withChannels } from '../../src/data/transforms.ts';
import { folderFingerprint, pickImageFiles } from '../../src/data/image-files.ts';
import { makeGrid, rgbaToNchw, type RgbaImage } from '../../src/io/image.ts';
import { decodeSquares } from './image-jobs.ts';
import { decodeSafetensorsMetadata } from '../../src/io/safetensors.ts';
import { CHECKPOINT_FORMAT } from '../../src/nn/checkpoint.ts';
import { engine } from '../../src/tensor/index.ts';
import { DIGIT_ASSETS } from './assets.ts';
import {
  $,
  navBar,
  startGpu,
  banner,
  drawImage,
  download,
  fileBytes,
  numberField,
  rangeField,
  describeRangeField,
  setBounds,
  nextFrame,
  errorText,
  describeBytes,
  setDisabled,
  formatDuration,
  formatRate,
  kernelsNote,
  StatusLine,
  lighterOnCPU,
} from './common.ts';

const FRAME_BUDGET_MS = 150;
/** Largest number of images read from a picked folder (they all live in memory). */
const MAX_FOLDER_IMAGES = 20_000;
/** The image files a picked folder's images are read from (the browser decodes more kinds than the CLI). */
const FOLDER_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp'];
/** The largest model size the page trains (a picked folder is read at its model's size, as `train` reads it). */
const FOLDER_SIZE = 64;
/** The growing models' sizes the page offers (ganSpec's, up to the size a folder is read at). */
const PAGE_SIZES = GROWING_SIZES.filter((s) => s <= FOLDER_SIZE);

/** A dataset in the form it was loaded in; converted to each model's size and channels on demand. */
let source: Dataset | null = null;
/** The Dataset choice `source` came from (the select's value then). */
let sourceChoice = 'digits';
/** `source` at the current model's size and channels. */
let data: Dataset | null = null;
let trainer: GanTrainer | null = null;
let history: StepStats[] = [];
/** The step the model in training was built, loaded or last saved at: steps past it exist only in this page. */
let keptStep = 0;
let keptHow = 'built';
/** The real batch of each step, from the trainer's step and epoch (as `train --resume` in the CLI). */
let cursor: DataCursor | null = null;
/**
 * Why the loaded checkpoint cannot train on here, or null: its step and epoch do not fit this data's batches per
 * epoch (it was trained on more or fewer images), or its learning-rate decay has reached 0 (as train --resume
 * refuses both). Its samples, walk and Save still work; a step refuses with this text.
 */
let cannotTrain: string | null = null;
/**
 * The data a loaded checkpoint that cannot train here names (its meta's dataset, images and data): Save writes them
 * back, as nothing here trained it, rather than the data the page holds.
 */
let loadedData: { dataset?: unknown; images?: unknown; data?: unknown } | null = null;
/** The play loop runs (until it has finished the frame in flight after a pause). */
let running = false;
/** Pause was asked for: the play loop stops when the frame in flight ends. */
let pausing = false;
/** The play loop while it runs (awaited before anything else touches the trainer). */
let loop: Promise<void> | null = null;
/** What a guarded action is doing (why the other controls wait), or null. */
let busy: string | null = null;
let stepsPerFrame = 1;
let lastGridStep = -1;
let sampleCounter = 0;
/** Images and seconds of recent steps that compiled no new kernels (decayed sums), for the speed and the ETA. */
let speed = { images: 0, seconds: 0 };
let status: StatusLine;

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : '–';
}

// ---------------------------------------------------------------------------------------------------------
// Controls and fields

function setButtons(): void {
  const noModel = trainer === null || data === null ? 'build a model first (New model)' : null;
  const waiting = busy ? `wait: ${busy}` : null;
  const playing = running ? (pausing ? 'pausing after the step in flight' : 'pause training first') : null;
  const play = $<HTMLButtonElement>('play');
  play.textContent = pausing ? '… Pausing' : running ? '❚❚ Pause' : '▶ Play';
  // a loaded checkpoint that cannot train on the data here says why on the buttons that would train it
  setDisabled(play, pausing ? 'pausing after the step in flight' : (waiting ?? noModel ?? cannotTrain));
  for (const id of ['step-d', 'step-g', 'step-both'])
    setDisabled($<HTMLButtonElement>(id), waiting ?? noModel ?? cannotTrain ?? playing);
  // Save and Sample pause the loop for themselves (and Save resumes it).
  setDisabled($<HTMLButtonElement>('save'), waiting ?? noModel);
  setDisabled($<HTMLButtonElement>('sample'), waiting ?? noModel);
  // The walk's controls only ask: a walk asked for while something runs is drawn when it ends.
  setDisabled($<HTMLButtonElement>('walk-new'), noModel);
  setDisabled($<HTMLInputElement>('walk-animate'), noModel);
  setDisabled($<HTMLButtonElement>('build'), waiting ?? playing);
  setDisabled($<HTMLInputElement>('load'), waiting);
  $('load-button').classList.toggle('disabled', busy !== null);
  $('load-button').title = $<HTMLInputElement>('load').title;
  const select = $<HTMLSelectElement>('sample-from');
  setDisabled(
    select,
    trainer === null
      ? 'build a model first (New model)'
      : trainer.Gema === null
        ? 'this model keeps no weight average of G: set "G weight average" above 0 and press New model'
        : waiting,
  );
}

/**
 * The form's training options. Each field's id is its CLI flag and its bounds and help come from the one
 * declaration both front ends read (src/gan/train-options.ts); the page adds only when a field applies.
 */
const MODEL_FIELDS = ['batchSize', 'seed', 'gEma', 'growImages'] as const satisfies readonly TrainNumberField[];
/** Options that may change while training runs: the trainer reads them at every step. */
const LIVE_FIELDS = [
  'lrG',
  'lrD',
  'dStepsPerG',
  'dSkipBelow',
  'realLabel',
] as const satisfies readonly TrainNumberField[];
type LiveOptions = Pick<TrainOptions, (typeof LIVE_FIELDS)[number]>;

const fieldInput = (field: TrainNumberField) => $<HTMLInputElement>(TRAIN_NUMBER_OPTIONS[field].flag);

/** A field's label as the page shows it (its error messages name the field so). */
function fieldLabel(field: TrainNumberField): string {
  return fieldInput(field).labels?.[0]?.firstChild?.textContent?.trim() || TRAIN_NUMBER_OPTIONS[field].flag;
}

/** A field's value, checked against its option's range; the error names the field by its label. */
function optionField(field: TrainNumberField): number {
  const el = fieldInput(field);
  const label = fieldLabel(field);
  const v = Number(el.value);
  if (el.value.trim() === '' || !Number.isFinite(v)) throw new Error(`${label}: "${el.value}" is not a number`);
  const problem = trainOptionProblem(field, v, label);
  if (problem) throw new Error(problem);
  return v;
}

/** The model menu's words for each kind (a new kind in GAN_KINDS does not compile without one). */
const KIND_LABELS: Record<GanKind, string> = {
  dense: 'lesson dense GAN (28×28)',
  dcgan: 'lesson DCGAN (28×28)',
  dcgan32: 'DCGAN paper, 32×32',
  dcgan64: 'DCGAN paper, 64×64',
  progan: 'progressive GAN (ProGAN)',
  msggan: 'MSG-GAN (multi-scale)',
};

/** The choices of model, size and loss (from their declarations in src/gan), and the fields of the chosen model. */
function fillModelChoices(): void {
  const model = $<HTMLSelectElement>('model');
  for (const kind of GAN_KINDS) model.append(new Option(KIND_LABELS[kind], kind));
  const size = $<HTMLSelectElement>('size');
  for (const px of PAGE_SIZES) size.append(new Option(`${px}×${px}`, String(px), false, px === ganSpec('progan').size));
  size.closest('label')!.title =
    `progan and msggan: the image size they grow to, from 4×4 (CLI: --size; ${FOLDER_SIZE} px at most here, the size a picked folder is read at)`;
  const loss = $<HTMLSelectElement>('loss');
  for (const kind of GAN_LOSSES) {
    const o = new Option(kind, kind, false, kind === 'bce');
    o.title = GAN_LOSS_HELP[kind];
    loss.append(o);
  }
  loss.closest('label')!.title =
    `the adversarial loss, for every model; it applies on New model (a run keeps its loss): ${GAN_LOSSES.map((k) => `${k}: ${GAN_LOSS_HELP[k]}`).join('; ')} (CLI: --loss)`;
  showModelRows();
}

/** Puts each option's bounds and help on its field (min/max/step attributes, tooltip). */
function describeFields(): void {
  for (const field of [...MODEL_FIELDS, ...LIVE_FIELDS]) {
    const o: TrainNumberOption = TRAIN_NUMBER_OPTIONS[field];
    const el = fieldInput(field);
    setBounds(el, o);
    const label = el.closest('label')!;
    const when = (MODEL_FIELDS as readonly string[]).includes(field)
      ? 'applies on New model'
      : 'applies at the next step';
    label.title = `${o.help}: ${describeRange(o)}${o.limit ? ` (${o.limit})` : ''}; ${when} (CLI: --${o.flag})`;
  }
  const width = MODEL_NUMBER_OPTIONS.width;
  describeRangeField('width', width);
  $('width').closest('label')!.title = `${width.help}: ${describeRange(width)}; applies on New model (CLI: --width)`;
}

/** The training options the form asks for (checked; the error names the field). */
function formOptions(): Partial<TrainOptions> {
  const out: Partial<TrainOptions> = {};
  // the growth field is shown, and read, only for progan (a value left from a progan run must not block another)
  const progan = $<HTMLSelectElement>('model').value === 'progan';
  for (const field of MODEL_FIELDS) if (field !== 'growImages' || progan) out[field] = optionField(field);
  const loss = formLoss();
  return { ...out, loss, ...liveOptions(loss) };
}

/** The loss the form asks for (it applies on New model: a run's loss is fixed when it starts). */
function formLoss(): GanLossKind {
  return $<HTMLSelectElement>('loss').value as GanLossKind;
}

/** Options that may change while training runs, checked for a run with the loss `loss`. */
function liveOptions(loss: GanLossKind): LiveOptions {
  const out = {} as LiveOptions;
  for (const field of LIVE_FIELDS) out[field] = optionField(field);
  if (out.realLabel !== 1 && !lossTakesRealLabel(loss))
    throw new Error(
      `${fieldLabel('realLabel')}: label smoothing applies to the bce or lsgan loss, not ${loss} (set it to 1), got ${out.realLabel}`,
    );
  return out;
}

/** Copies the form's live options into the running trainer (the trainer reads opts, rates included, at every step). */
function applyLiveOptions(): void {
  if (!trainer) return;
  Object.assign(trainer.opts, liveOptions(trainer.loss));
  if (trainer.Gema) trainer.sampleFrom = $<HTMLSelectElement>('sample-from').value as 'ema' | 'raw';
}

function showOptions(o: TrainOptions): void {
  for (const field of [...MODEL_FIELDS, ...LIVE_FIELDS]) fieldInput(field).value = String(o[field]);
  $<HTMLSelectElement>('loss').value = o.loss ?? 'bce';
}

// The model's own fields: the growing kinds' image size, the width of the kinds that have one.

/** Whether a kind's nets take a width (dcgan32/64 and the growing kinds). */
const hasWidth = (kind: GanKind): boolean => ganSpec(kind).width !== undefined;

/** The kind the model fields were last shown for (its default width is replaced by the next kind's). */
let shownKind: GanKind | null = null;

/** Shows the fields that belong to the chosen kind: size (growing), width (where it has one), growth (progan). */
function showModelRows(): void {
  const kind = $<HTMLSelectElement>('model').value as GanKind;
  $('size-row').hidden = !isGrowing(kind);
  $('width-row').hidden = !hasWidth(kind);
  $('grow-images-row').hidden = kind !== 'progan';
  // A width still at the previous kind's default becomes this kind's default.
  const width = $<HTMLInputElement>('width');
  if (hasWidth(kind) && (shownKind === null || width.value === String(ganSpec(shownKind).width ?? '')))
    width.value = String(ganSpec(kind).width);
  shownKind = kind;
}

/** The model the form asks for, before any data is loaded: kind, size and width (checked, naming the field). */
function formModel(): { kind: GanKind; size?: number; width?: number } {
  const kind = $<HTMLSelectElement>('model').value as GanKind;
  return {
    kind,
    ...(isGrowing(kind) ? { size: Number($<HTMLSelectElement>('size').value) } : {}),
    ...(hasWidth(kind) ? { width: rangeField('width', MODEL_NUMBER_OPTIONS.width) } : {}),
  };
}

/** Shows a model's kind, size and width in the form (a loaded checkpoint's). */
function showModel(spec: GanSpec): void {
  $<HTMLSelectElement>('model').value = spec.kind;
  if (isGrowing(spec.kind)) $<HTMLSelectElement>('size').value = String(spec.size);
  shownKind = spec.kind;
  if (spec.width !== undefined) $<HTMLInputElement>('width').value = String(spec.width);
  showModelRows();
}

/** "progan 16 px": a model's kind, with its size where the kind has a choice of sizes. */
function modelName(spec: GanSpec): string {
  return isGrowing(spec.kind) ? `${spec.kind} ${spec.size} px` : spec.kind;
}

/** The sample source follows the trainer: a choice only when it keeps a weight average. */
function showSampleSource(t: GanTrainer): void {
  $<HTMLSelectElement>('sample-from').value = t.Gema ? t.sampleFrom : 'raw';
}

/**
 * Model, batch size, seed and G weight average build the model: they apply on New model. When the fields differ
 * from what the model in training uses, the page says so under the button (a checkpoint records what it uses).
 */
function showPendingModelFields(): void {
  const el = $('model-pending');
  const t = trainer;
  const diffs: string[] = [];
  if (t) {
    const field = (id: string) => {
      const v = $<HTMLInputElement>(id).value;
      return v.trim() === '' ? NaN : Number(v);
    };
    const kind = $<HTMLSelectElement>('model').value as GanKind;
    if (kind !== t.spec.kind) diffs.push(`model ${t.spec.kind}`);
    else {
      if (isGrowing(kind) && Number($<HTMLSelectElement>('size').value) !== t.spec.size)
        diffs.push(`size ${t.spec.size} px`);
      if (hasWidth(kind) && field('width') !== t.spec.width) diffs.push(`width ${t.spec.width}`);
      if (kind === 'progan' && field('grow-images') !== t.opts.growImages)
        diffs.push(`${t.opts.growImages} images per growth phase`);
    }
    if (formLoss() !== t.loss) diffs.push(`loss ${t.loss}`);
    if ($<HTMLSelectElement>('dataset').value !== sourceChoice && data) diffs.push(`the data ${data.name}`);
    if (field('batch') !== t.opts.batchSize) diffs.push(`batch size ${t.opts.batchSize}`);
    if (field('seed') !== t.opts.seed) diffs.push(`seed ${t.opts.seed}`);
    if (field('g-ema') !== t.opts.gEma)
      diffs.push(t.opts.gEma === 0 ? 'no G weight average' : `G weight average ${t.opts.gEma}`);
  }
  el.hidden = diffs.length === 0;
  el.dataset.pending = String(diffs.length);
  el.textContent = `These fields apply on New model; the model in training uses ${diffs.join(', ')}.`;
}

/** The banner shows a live field's error (hidden again once the fields read well). */
let liveFieldError = false;
/** The banner shows the "Refresh samples every" field's error. */
let gridEveryError = false;

/** "Refresh samples every" changed, or an action cleared the banner: its error is shown while the field is wrong. */
function checkGridEvery(): void {
  try {
    numberField('grid-every', { int: true, min: 1 });
    if (gridEveryError) $('banner').hidden = true;
    gridEveryError = false;
  } catch (e) {
    banner(`${errorText(e)} (the samples are not redrawn until it is fixed)`, 'error');
    gridEveryError = true;
  }
}

/**
 * Clears the banner for a new action (Play, or one of the buttons), but not the error of a field that is still
 * wrong: a wrong "Refresh samples every" would otherwise leave the grid silently undrawn once training runs.
 */
function clearBanner(): void {
  $('banner').hidden = true;
  liveFieldError = false;
  gridEveryError = false;
  checkGridEvery();
}

/** A live field changed: the trainer takes it at once (or the banner names the field that is wrong). */
function liveFieldChanged(): void {
  if (!trainer) return;
  try {
    applyLiveOptions();
    if (liveFieldError) $('banner').hidden = true;
    liveFieldError = false;
  } catch (e) {
    banner(`${errorText(e)} (training stops at its next step until the field is fixed)`, 'error');
    liveFieldError = true;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Data

async function loadDigits(): Promise<Dataset> {
  const get = async (path: string) => {
    const res = await fetch(path);
    if (!res.ok) throw new Error(`bundled digits: ${path} answered HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const [images, labels] = await Promise.all([get(DIGIT_ASSETS.images), get(DIGIT_ASSETS.labels)]);
  return idxToDataset(await parseIdx(images, DIGIT_ASSETS.images), await parseIdx(labels, DIGIT_ASSETS.labels), {
    imagesSource: DIGIT_ASSETS.images,
    name: 'mnist-digits',
  });
}

/** Fashion-MNIST (or any MNIST-format) IDX files: the images file is the 3-D one, labels (optional) the 1-D one. */
async function loadIdxFiles(files: FileList): Promise<Dataset> {
  if (files.length === 0)
    throw new Error('Fashion-MNIST: pick train-images-idx3-ubyte.gz (and optionally train-labels-idx1-ubyte.gz)');
  const parsed = await Promise.all(
    Array.from(files).map(async (f) => {
      const bytes = await fileBytes(f);
      try {
        return { name: f.name, idx: await parseIdx(bytes, f.name) };
      } catch (e) {
        // A file of another kind is named as such, not by the bytes the IDX parser found where its header should be.
        const kind = describeBytes(bytes);
        if (kind && kind !== 'a gzip file')
          throw new Error(
            `${f.name} is ${kind}, not an MNIST-format IDX file: pick train-images-idx3-ubyte.gz (and optionally train-labels-idx1-ubyte.gz)`,
            { cause: e },
          );
        throw e;
      }
    }),
  );
  const images = parsed.filter((p) => p.idx.shape.length === 3);
  const labels = parsed.filter((p) => p.idx.shape.length === 1);
  if (images.length !== 1) {
    throw new Error(
      `Fashion-MNIST: expected one image file ([N, 28, 28]) among ${parsed.map((p) => `${p.name} [${p.idx.shape.join(', ')}]`).join(', ')}`,
    );
  }
  return idxToDataset(images[0].idx, labels[0]?.idx, {
    imagesSource: images[0].name,
    ...(labels[0] ? { labelsSource: labels[0].name } : {}),
    name: 'fashion-mnist',
  });
}

/** What the last folder load left out (files it could not read, images past the cap), shown beside the data. */
let folderNote = '';
/** The last folder decoded, kept while the picker holds the same files and the model keeps its size (a New model
 *  of that size does not decode it again). */
let folderCache: { files: FileList; data: Dataset; note: string } | null = null;

/** A picked file's path inside the picked folder (webkitRelativePath starts with the folder's own name). */
function relativeInFolder(f: File): string {
  return f.webkitRelativePath ? f.webkitRelativePath.split('/').slice(1).join('/') : f.name;
}

/**
 * Every image in a picked folder, center-cropped to a square and resized to size × size RGB straight from the file,
 * as `train --dataset` reads it at its model's size (read at one size and resized again, the page trained on other,
 * blurrier pixels than the CLI), decoded in Workers (a phone photo takes the better part of a second) while the page
 * counts them.
 */
async function loadFolder(files: FileList, size: number): Promise<Dataset> {
  if (folderCache?.files === files && folderCache.data.h === size) {
    folderNote = folderCache.note;
    return folderCache.data;
  }
  // sorted by path and capped as the CLI lists a folder, so a later pick of the same folder gives the same images
  const { used: list, found } = pickImageFiles(
    Array.from(files),
    // the path below the picked folder (its own name comes first and may start with '.', as the CLI's --dataset may)
    relativeInFolder,
    FOLDER_EXTENSIONS,
    MAX_FOLDER_IMAGES,
  );
  if (list.length < 2)
    throw new Error(`image folder: found ${list.length} image files (png, jpg, webp, gif, bmp); need at least 2`);
  folderCache = null; // (another size's pixels go before these are read)
  const per = 3 * size * size;
  let images: Float32Array;
  try {
    images = new Float32Array(list.length * per);
  } catch {
    throw new Error(
      `image folder: ${list.length} images at ${size}×${size} need ${((list.length * per * 4) / 2 ** 20).toFixed(0)} MiB, more than this browser tab was given; pick a folder of fewer images`,
    );
  }
  const skipped: string[] = [];
  const used: { path: string; size: number }[] = []; // the decoded files, for the folder's fingerprint
  let n = 0;
  let decodedCount = 0;
  let shown = -Infinity;
  const names = list.map((f) => f.webkitRelativePath || f.name);
  // the count at most 4 times a second (a folder of phone photos decodes at about 1 image a second a worker)
  const count = () => {
    decodedCount++;
    if (performance.now() - shown >= 250 || decodedCount === list.length) {
      $('data-info').textContent = `decoding images: ${decodedCount} / ${list.length}`;
      shown = performance.now();
    }
  };
  const workers = Math.min(4, Math.max(1, (navigator.hardwareConcurrency || 2) - 1));
  // each image goes to its file's slot as it ends (they end in any order), then the slots close up in file order
  const refused = new Array<string | undefined>(list.length);
  const offThread = await decodeSquares(
    list.map((blob, i) => ({ blob, name: names[i] })),
    size,
    workers,
    (i, square) => {
      if (square instanceof Error) {
        const why = errorText(square);
        refused[i] = why.includes(names[i]) ? why : `${names[i]}: ${why}`; // the decoder's messages name the file
      } else images.set(rgbaToNchw(square), i * per);
      count();
    },
  );
  for (let i = 0; i < list.length; i++) {
    if (refused[i] !== undefined) continue;
    if (n !== i) images.copyWithin(n * per, i * per, (i + 1) * per);
    used.push({ path: relativeInFolder(list[i]), size: list[i].size });
    n++;
  }
  skipped.push(...refused.filter((x) => x !== undefined));
  // how many of the files were decoded in Workers (the e2e test reads it)
  document.body.dataset.folderOffThread = `${offThread} of ${list.length}`;
  const few = (xs: string[]) => xs.slice(0, 3).join('; ') + (xs.length > 3 ? `; and ${xs.length - 3} more` : '');
  if (n < 2) {
    describeData(); // the data line says again what the model in training (if any) trains on
    throw new Error(`image folder: ${n} of ${list.length} image files could be read; need at least 2: ${few(skipped)}`);
  }
  const notes = [
    ...(skipped.length
      ? [`skipped ${skipped.length} file${skipped.length > 1 ? 's' : ''} it could not read: ${few(skipped)}`]
      : []),
    ...(found > list.length ? [`used the first ${list.length} of ${found} images by path (the page's cap)`] : []),
  ];
  folderNote = notes.join('; ');
  const folder = list[0].webkitRelativePath.split('/')[0] || 'folder';
  const data: Dataset = {
    images: images.subarray(0, n * per),
    n,
    c: 3,
    h: size,
    w: size,
    name: folder,
    // as `train` prints a folder (names and sizes): saved in checkpoints, checked by train --resume and on loading
    fingerprint: await folderFingerprint(used),
  };
  folderCache = { files, data, note: folderNote };
  return data;
}

/** The data chosen under Data; a folder is read at `size`, the model's. */
async function loadSource(size: number): Promise<Dataset> {
  const choice = $<HTMLSelectElement>('dataset').value;
  if (choice !== 'folder') folderCache = null; // its pixels (up to about 1 GB) are not kept once another source is used
  switch (choice) {
    case 'fashion':
      return loadIdxFiles($<HTMLInputElement>('fashion-files').files!);
    case 'folder':
      return loadFolder($<HTMLInputElement>('folder-files').files!, size);
    default:
      return loadDigits();
  }
}

/**
 * The spec for a model on the loaded data: the paper DCGANs keep the data's channels, the lesson models are gray, and
 * the growing models are colour models (gray data is copied to R, G and B, as `train` does with mnist).
 */
function specFor(model: ReturnType<typeof formModel>, ds: Dataset): GanSpec {
  const { kind, size, width } = model;
  if (isGrowing(kind)) return ganSpec(kind, { size, width });
  return ganSpec(kind, kind === 'dcgan32' || kind === 'dcgan64' ? { channels: ds.c, width } : {});
}

function fitData(ds: Dataset, spec: GanSpec): Dataset {
  return withChannels(resizeDataset(ds, spec.size), spec.channels as 1 | 3);
}

/** The cursor over `data` for the current trainer's batch size and seed. */
function newCursor(): void {
  cursor = new DataCursor(data!, trainer!.opts.batchSize, trainer!.opts.seed);
}

// ---------------------------------------------------------------------------------------------------------
// Model

/** Forgets the model in training: its numbers, samples, chart and speed go with it. */
function dropTrainer(gridNote: string): void {
  trainer?.dispose();
  trainer = null;
  cursor = null;
  cannotTrain = null;
  loadedData = null;
  history = [];
  lastGridStep = -1;
  stepsPerFrame = 1;
  speed = { images: 0, seconds: 0 };
  for (const id of ['loss-d', 'loss-g', 'd-real', 'd-fake', 'rate']) {
    $(id).textContent = '–';
    delete $(id).dataset.value;
  }
  $('step').textContent = '0';
  $('epoch').textContent = '0';
  showGrowth(null);
  const grid = $<HTMLCanvasElement>('grid');
  grid.getContext('2d')!.clearRect(0, 0, grid.width, grid.height);
  delete grid.dataset.step;
  $('grid-title').textContent = gridNote;
  for (const id of ['scales', 'stage-grid']) {
    const c = $<HTMLCanvasElement>(id);
    c.hidden = $(`${id}-title`).hidden = true;
    delete c.dataset.step;
    delete c.dataset.stage;
  }
  drawChart();
  dropWalk();
  setButtons();
}

function adoptTrainer(next: GanTrainer): void {
  trainer = next;
  compiledAhead = new Set();
  showSampleSource(next);
  showPendingModelFields();
}

async function buildModel(): Promise<void> {
  // a wrong field stops here, naming it, before anything changes
  const model = formModel();
  const opts = formOptions();
  const choice = $<HTMLSelectElement>('dataset').value;
  // the batches must fit the GPU: checked before the data is read (a folder's images are colour, the others gray)
  const planned = specFor(model, { c: choice === 'folder' ? 3 : 1 } as Dataset);
  checkBatchesFit(planned, opts);
  status.start('loading-data', (sec) => `loading the data… ${formatDuration(sec)}`);
  const loaded = await loadSource(planned.size);
  const spec = specFor(model, loaded); // the data's channels are those checkBatchesFit was given above
  const fitted = fitData(loaded, spec);
  if (fitted.n < opts.batchSize!) {
    describeData(); // (the line showed the folder being read) the model kept trains on what it did
    throw new Error(`dataset ${fitted.name} has ${fitted.n} images, fewer than one batch of ${opts.batchSize}`);
  }
  source = loaded;
  sourceChoice = choice;
  data = fitted;
  dropTrainer('Samples: building the model…');
  const t0 = performance.now();
  status.start(
    'building',
    (sec, k) =>
      `building the model (${modelName(spec)}, batch ${opts.batchSize})… ${formatDuration(sec)}${kernelsNote(k)}`,
  );
  await nextFrame(); // paint the state before the synchronous part
  adoptTrainer(new GanTrainer(spec, opts));
  [keptStep, keptHow] = [0, 'built'];
  newCursor();
  describeData();
  status.start('drawing', (sec, k) => `drawing the first samples… ${formatDuration(sec)}${kernelsNote(k)}`);
  await refreshView(true);
  countModel();
  status.set(
    'ready',
    `Model ready (${modelName(spec)}, ${opts.loss} loss, built in ${formatDuration((performance.now() - t0) / 1000)}): press ▶ Play or a Step button.`,
  );
}

/** Counts the models built or loaded and shown (the e2e tests wait for the count to change). */
function countModel(): void {
  document.body.dataset.models = String(Number(document.body.dataset.models ?? 0) + 1);
}

/** Says what the model trains on: the data line, and the data's first images as the model gets them (realGrid). */
function describeData(): void {
  if (!data || !trainer || !cursor) return;
  $('data-info').textContent =
    `${modelName(trainer.spec)} on ${data.name}: ${data.n} images ${data.c}×${data.h}×${data.w}, ${cursor.perEpoch} steps per epoch` +
    (sourceChoice === 'folder' && folderNote ? ` (${folderNote})` : '');
  const n = Math.min(gridCount(), data.n);
  drawImage($<HTMLCanvasElement>('real'), realGrid(data, n, Math.sqrt(gridCount()))); // tiled as the samples are
  $('real-title').textContent = `Training images (the first ${n} of ${data.name}, as the model gets them)`;
}

// ---------------------------------------------------------------------------------------------------------
// Training and the view

type StepKind = 'both' | 'd' | 'g';

/** The kinds of work of the current model whose GPU kernels compileAhead has made (each is captured once). */
let compiledAhead = new Set<string>();

/** Status states that say why training stopped: kept until the next action (a grid drawn after them does not hide them). */
const STOPPED_STATES = ['error', 'diverged'];

/**
 * Before the first `work` of its kind on this model (a kind of step, the sample grid), compiles the GPU kernels it
 * will need, with their count on the status line ("compiling GPU kernels 12 / 31"): `work` is recorded on a scratch
 * copy of the model with its launches captured (engine().captureKernels: nothing is created or run, the copy's
 * weights are never computed), then their pipelines compile asynchronously (engine().precompile) and the real work
 * finds them made. Returns the number compiled. `keepStopped`: a status saying why training stopped (an error, a
 * divergence) stays, and the compile runs without a count (a grid or walk drawn after it; a step replaces it).
 */
async function compileAhead(
  kind: string,
  label: string,
  work: (scratch: GanTrainer) => void,
  keepStopped = false,
): Promise<number> {
  const t = trainer!;
  if (compiledAhead.has(kind)) return 0;
  // (a progan's kernels change with its stage and fade: `kind` names the phase, see phaseOf)
  const kernels = engine().captureKernels(() => {
    const scratch = new GanTrainer(t.spec, t.opts);
    scratch.sampleFrom = t.sampleFrom;
    scratch.step = t.step; // where the run is (a growing model's kernels follow its stage)
    try {
      work(scratch);
    } finally {
      scratch.dispose();
    }
  });
  compiledAhead.add(kind);
  if (kernels.length === 0) return 0;
  let done = 0;
  const quiet = keepStopped && STOPPED_STATES.includes(status.state);
  if (!quiet)
    status.start(
      'compiling',
      (sec) => `${label}: compiling GPU kernels ${done} / ${kernels.length}… ${formatDuration(sec)}`,
    );
  await engine().precompile(kernels, (d) => {
    done = d;
    if (!quiet) status.refresh();
  });
  return kernels.length;
}

/** Records, on a scratch model, what a step of `kind` records (for compileAhead): a G step comes every dStepsPerG. */
function scratchSteps(kind: StepKind): (scratch: GanTrainer) => void {
  return (s) => {
    const { channels, size } = s.spec;
    const real = new Float32Array(s.opts.batchSize * channels * size * size);
    const steps = kind === 'both' ? s.opts.dStepsPerG : 1;
    for (let i = 0; i < steps; i++) {
      const r =
        kind === 'g'
          ? s.trainGeneratorStep(s.opts.batchSize, real) // (a loss that does not judge reals leaves it unused)
          : kind === 'd'
            ? s.trainDiscriminatorStep(real)
            : s.trainBatch(real);
      r.stats.dispose();
    }
  };
}

/** Records one step of the given kind (nothing is read back). */
function recordStep(kind: StepKind): GanStepResult {
  const t = trainer!;
  // A G-only step takes its step's real batch when its loss judges G's fakes against D on reals (rahinge); with the
  // other losses it takes none, and still counts as a step, so the cursor passes over that step's batch.
  const r =
    kind === 'g'
      ? t.trainGeneratorStep(t.opts.batchSize, generatorLossNeedsReal(t.loss) ? cursor!.next(t).images : undefined)
      : kind === 'd'
        ? t.trainDiscriminatorStep(cursor!.next(t).images)
        : t.trainBatch(cursor!.next(t).images);
  cursor!.completeEpochs(t); // the epoch counter as the CLI keeps it (and saves it)
  return r;
}

/** Runs `count` steps, reading back only the last one's statistics. Returns them. */
async function runSteps(kind: StepKind, count: number): Promise<StepStats> {
  if (cannotTrain) throw new Error(cannotTrain);
  let last: GanStepResult | null = null;
  for (let i = 0; i < count; i++) {
    if (last) last.stats.dispose();
    last = recordStep(kind);
  }
  const s = await trainer!.readStats(last!);
  history.push(s);
  return s;
}

/** Seconds the first step of this model took on this adapter last time (with its kernels' compiling), if known. */
function firstStepKey(): string {
  const t = trainer!;
  const model = `${t.spec.kind}${isGrowing(t.spec.kind) ? `-${t.spec.size}` : ''}${t.spec.width ? `-w${t.spec.width}` : ''}`;
  return `wgpu-gan-first-step:${engine().adapter.slug}:${model}:${t.opts.batchSize}`;
}
function rememberedFirstStep(): number | null {
  try {
    const v = Number(localStorage.getItem(firstStepKey()));
    return v > 0 ? v : null;
  } catch {
    return null;
  }
}
function rememberFirstStep(seconds: number): void {
  try {
    localStorage.setItem(firstStepKey(), String(seconds));
  } catch {
    // storage off: no estimate next time
  }
}

/**
 * "step 1… 14 s (the first step of this model took 48 s last time)" for a model's first step (`first`: its kernels
 * were just compiled ahead); a step that still compiles kernels says how many, and that later steps reuse them.
 */
function stepText(label: string, seconds: number, newKernels: number, first: boolean): string {
  const last = first ? rememberedFirstStep() : null;
  const notes = [
    last ? `the first step of this model took ${formatDuration(last)} last time` : '',
    newKernels > 0 ? 'later steps reuse the kernels' : '',
  ].filter(Boolean);
  return `${label}… ${formatDuration(seconds)}${kernelsNote(newKernels)}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** Counts a measured stretch of steps into the speed (stretches that compiled kernels are not typical). */
function measure(images: number, seconds: number, compiled: boolean): void {
  if (!compiled && seconds > 0) {
    speed = { images: speed.images * 0.7 + images, seconds: speed.seconds * 0.7 + seconds };
  }
  const rate = speed.seconds > 0 ? speed.images / speed.seconds : NaN;
  $('rate').textContent = formatRate(rate);
  $('rate').dataset.value = String(rate);
}

/** Images per second of recent steps, NaN before one was measured. */
function imagesPerSecond(): number {
  return speed.seconds > 0 ? speed.images / speed.seconds : NaN;
}

/** "training: step 54 · epoch 1, batch 54 of 156 · epoch ends in about 2 min". */
function trainingText(): string {
  const t = trainer!;
  const pos = cursor!.position(t);
  const stepsPerSecond = imagesPerSecond() / t.opts.batchSize;
  const left = cursor!.perEpoch - pos.index;
  return (
    `training: step ${t.step} · epoch ${pos.epoch + 1}, batch ${pos.index} of ${cursor!.perEpoch}` +
    (Number.isFinite(stepsPerSecond)
      ? ` · epoch ${pos.epoch + 1} ends in about ${formatDuration(left / stepsPerSecond)}`
      : '')
  );
}

function showStats(s: StepStats | undefined): void {
  const t = trainer!;
  $('step').textContent = String(t.step);
  $('epoch').textContent = String(t.epoch);
  showGrowth(t);
  if (!s) return;
  $('loss-d').textContent = fmt(s.lossD);
  $('loss-g').textContent = fmt(s.lossG);
  // Full precision for the e2e test's exact-resume check.
  $('loss-d').dataset.value = String(s.lossD);
  $('loss-g').dataset.value = String(s.lossG);
  $('d-real').textContent = fmt(s.dReal);
  $('d-fake').textContent = fmt(s.dFake);
}

/**
 * The growing models' stage and fade in the stats row, as the nets are after the last step (`GanTrainer.growth`:
 * progan's follows the images shown, see growthAt; msggan trains every scale at once). The values ride on data-stage,
 * data-alpha and data-side; other kinds hide the row.
 */
function showGrowth(t: GanTrainer | null): void {
  const row = $('growth-row');
  const el = $('growth');
  if (!t || !isGrowing(t.spec.kind)) {
    row.hidden = true;
    for (const k of ['stage', 'alpha', 'side']) delete el.dataset[k];
    return;
  }
  const K = Math.log2(t.spec.size / 4);
  const g = t.growth;
  const side = 4 << g.stage;
  row.hidden = false;
  el.dataset.stage = String(g.stage);
  el.dataset.alpha = String(g.alpha);
  el.dataset.side = String(side);
  if (t.spec.kind === 'msggan') {
    el.textContent = `all scales · 4–${t.spec.size} px`;
    row.title = `MSG-GAN: G draws every scale from 4×4 to ${t.spec.size}×${t.spec.size} and D judges them all, at every step`;
  } else {
    el.textContent = `stage ${g.stage}/${K} · ${side} px · α ${g.alpha.toFixed(2)}`;
    row.title =
      `progressive growing: stage ${g.stage} of 0…${K} (${side}×${side})` +
      (g.alpha < 1 ? `, fading in over the ${side / 2} px output at α ${g.alpha.toFixed(3)}` : '') +
      `; stage 0 trains on ${t.opts.growImages} images, each later stage fades in over as many and trains on as many more`;
  }
}

/**
 * The phase of growing a step is in (progan: its stage, and whether it fades in; other kinds: none): the nets'
 * kernels are the same within a phase, so the kernels compiled ahead are per phase, and a frame of steps stays in one.
 */
function phaseOf(t: GanTrainer, step: number): string {
  if (t.spec.kind !== 'progan') return '';
  const g = t.growthOf(step);
  return ` at stage ${g.stage}${g.alpha < 1 ? ' fading in' : ''}`;
}

/** Which generator drew a grid, for its title (only a run with a weight average has a choice). */
function generatorLabel(t: GanTrainer): string {
  return t.Gema ? `, ${t.sampledModule === 'G_ema' ? 'weight average' : 'trained G'}` : '';
}

/** The loss chart; x is the number of steps done when a loss was measured (as the step counter shows it). */
function drawChart(): void {
  const chart = $<HTMLCanvasElement>('chart');
  drawImage(
    chart,
    lossChart(
      history.map((s) => ({ ...s, step: s.step + 1 })),
      { width: 640, height: 320 },
    ),
  );
  chart.dataset.points = String(history.length);
  $('chart-note').textContent =
    history.length === 0
      ? 'No losses yet: the chart draws a point per readback (every step, or every frame while playing).'
      : history[0].step > 0
        ? `From step ${history[0].step + 1}: the earlier losses are not in the checkpoint this run was loaded from.`
        : '';
}

/**
 * Throws, naming the field (or the checkpoint), when a batch the page would draw with this model does not fit the
 * adapter's largest GPU buffer: the training batch (D's joint pass runs two only where they fit), the sample grid,
 * and the weight average's BatchNorm statistics. Checked before anything changes, as the CLI checks (checkBatchesFit).
 */
function checkBatchesFit(spec: GanSpec, opts: Partial<TrainOptions>, from = ''): void {
  const batch = opts.batchSize ?? 0;
  const problem = batchFitProblem(
    spec,
    [
      [`Batch size ${batch}${from}`, batch],
      [`the sample grid (${gridCount()} images)`, gridCount()],
      ...((opts.gEma ?? 0) > 0 && !isGrowing(spec.kind)
        ? ([[`G's weight average (its BatchNorm statistics on ${EMA_STATS_BATCH} samples)`, EMA_STATS_BATCH]] as const)
        : []),
    ],
    engine().maxTensorBytes,
    'Width',
  );
  if (problem) throw new Error(problem);
}

/** Images in a sample grid: 64 (8×8), or 16 (4×4) on a software adapter, where 64 cost about as much as a step. */
function gridCount(): number {
  return engine().adapter.isCPU ? 16 : 64;
}

/**
 * Redraws the loss chart, and the sample grid when it is due (or `forceGrid`). While playing, a grid that is due
 * is left for the next frame when a pause was asked for (a pause then waits for the step only).
 */
async function refreshView(forceGrid = false): Promise<void> {
  const t = trainer!;
  showStats(history[history.length - 1]);
  drawChart();
  await keepFinishedStage();
  // a wrong "Refresh samples every" (said when it changes) holds the grid; it never fails the step that just ran
  const due = lastGridStep < 0 || t.step - lastGridStep >= gridEvery();
  if (forceGrid || (due && !pausing)) {
    const grid = $<HTMLCanvasElement>('grid');
    await drawFixedGrid(grid);
    lastGridStep = t.step;
    grid.dataset.step = String(t.step);
    $('grid-title').textContent = `Samples from a fixed z (step ${t.step}${growthLabel(t)}${generatorLabel(t)})`;
    if (t.spec.kind === 'msggan') await drawScales();
  }
  if (forceGrid) walkWanted = true;
  if (forceGrid || !pausing) await pumpWalk(true);
}

/** ", stage 1 · 8 px, α 0.50" for a progan grid's title (the others: nothing). */
function growthLabel(t: GanTrainer): string {
  if (t.spec.kind !== 'progan') return '';
  const g = t.growth;
  return `, stage ${g.stage} · ${4 << g.stage} px${g.alpha < 1 ? `, α ${g.alpha.toFixed(2)}` : ''}`;
}

/** Draws the grid of the fixed z on `canvas` (compiling its kernels ahead the first time in a phase of growing). */
async function drawFixedGrid(canvas: HTMLCanvasElement): Promise<void> {
  const t = trainer!;
  const n = gridCount();
  const phase = phaseOf(t, Math.max(0, t.step - 1));
  const compiled = await compileAhead(
    `grid of ${t.sampledModule}${phase}`,
    `drawing samples at step ${t.step}`,
    (s) => {
      const z = s.fixedLatent(n);
      s.generate(z).dispose();
      z.dispose();
    },
    true,
  );
  // (not while a pause is asked for: the loop ends after this frame; an error or a divergence stays said)
  if (((running && !pausing) || compiled > 0) && !STOPPED_STATES.includes(status.state))
    status.start('drawing', (sec, k) => `drawing samples at step ${t.step}… ${formatDuration(sec)}${kernelsNote(k)}`);
  drawImage(canvas, await sampleGrid(t, n, Math.sqrt(n)));
}

/** MSG-GAN: a row of the fixed z's samples per scale G draws (4×4 up to full size, upsampled to it), coarsest first. */
async function drawScales(): Promise<void> {
  const t = trainer!;
  const perRow = Math.sqrt(gridCount());
  await compileAhead(
    `scales of ${t.sampledModule}`,
    `drawing every scale at step ${t.step}`,
    (s) => {
      const z = s.fixedLatent(perRow);
      for (const x of s.generateScales(z)) x.dispose();
      z.dispose();
    },
    true,
  );
  const canvas = $<HTMLCanvasElement>('scales');
  drawImage(canvas, await scaleGrid(t, perRow));
  canvas.dataset.step = String(t.step);
  canvas.hidden = false;
  const title = $('scales-title');
  title.hidden = false;
  title.textContent = `Every scale G draws, 4×4 to ${t.spec.size}×${t.spec.size}, a row each (the first ${perRow} of the fixed z, step ${t.step}${generatorLabel(t)})`;
}

/**
 * progan: when the last step was its stage's last (the next one starts the next stage's fade), the samples of that
 * stage as it ended, kept on their own canvas while the next stage trains (as `train` writes samples/stage-K-Npx.png).
 */
async function keepFinishedStage(): Promise<void> {
  const t = trainer!;
  if (t.spec.kind !== 'progan' || t.step === 0) return;
  const done = t.growth;
  const canvas = $<HTMLCanvasElement>('stage-grid');
  if (t.growthOf(t.step).stage <= done.stage || canvas.dataset.step === String(t.step)) return;
  await drawFixedGrid(canvas);
  const side = 4 << done.stage;
  canvas.dataset.step = String(t.step);
  canvas.dataset.stage = String(done.stage);
  canvas.hidden = false;
  const title = $('stage-grid-title');
  title.hidden = false;
  title.textContent = `Stage ${done.stage} (${side}×${side}) as it ended, at step ${t.step}${generatorLabel(t)}`;
}

/** One frame of the play loop: a few steps (one while steps are slow), the statistics, the view. */
async function playFrame(): Promise<void> {
  const t = trainer!;
  applyLiveOptions();
  // A frame's steps stay in one phase of growing (progan), so its kernels are compiled ahead and a finished stage's
  // samples are drawn when it ends.
  const phase = phaseOf(t, t.step);
  let count = 1;
  while (count < stepsPerFrame && phaseOf(t, t.step + count) === phase) count++;
  const first = t.step + 1;
  const label = count > 1 ? `steps ${first}–${first + count - 1}` : `step ${first}`;
  const kernels0 = engine().stats().pipelines;
  const t0 = performance.now();
  const firstRun = (await compileAhead(`both${phase}`, `training: ${label}`, scratchSteps('both'))) > 0;
  // Pause pressed meanwhile (during a first compile): the line keeps saying so while this frame's steps finish.
  if (pausing) status.set('pausing', `pausing after ${label}…`);
  else
    status.start('training', (sec, k) =>
      k > 0 || firstRun || sec > 2 ? stepText(`training: ${label}`, sec, k, firstRun) : trainingText(),
    );
  const s = await runSteps('both', count);
  const ms = performance.now() - t0;
  const compiled = engine().stats().pipelines > kernels0;
  if (compiled && first === 1) rememberFirstStep(ms / 1000);
  measure(count * t.opts.batchSize, ms / 1000, compiled);
  if (GanTrainer.diverged(s)) {
    pausing = true;
    const msg = `Training diverged at step ${s.step + 1} (D loss ${s.lossD}, G loss ${s.lossG}).`;
    banner(`${msg} Lower the learning rates and start a new model, or load a checkpoint.`, 'error');
    status.set('diverged', msg);
  }
  // Aim at FRAME_BUDGET_MS per frame, changing the step count by at most 2× at a time (not on a frame that compiled
  // kernels: its time says nothing about the next ones).
  if (!compiled && count === stepsPerFrame)
    stepsPerFrame = Math.max(
      1,
      Math.min(64, Math.round(stepsPerFrame * Math.min(2, Math.max(0.5, FRAME_BUDGET_MS / ms)))),
    );
  await refreshView();
}

async function playLoop(): Promise<void> {
  while (running && !pausing) {
    try {
      await playFrame();
    } catch (e) {
      pausing = true;
      banner(errorText(e), 'error');
      status.set('error', 'Training stopped: see the message above.');
    }
    setButtons();
    await nextFrame();
  }
}

/** Asks the play loop to stop after the frame in flight; the Play button says so at once. */
function requestPause(): void {
  if (!running || pausing) return;
  pausing = true;
  status.set('pausing', `pausing after step ${trainer!.step}…`);
  setButtons();
}

function togglePlay(): void {
  if (running) return requestPause();
  if (!trainer || busy) return;
  running = true;
  pausing = false;
  clearBanner();
  setButtons();
  const walkInFlight = walkJob;
  loop = (async () => {
    await walkInFlight; // the walk drawn while nothing ran ends before the first step
    await playLoop();
  })().finally(() => {
    running = false;
    pausing = false;
    loop = null;
    // whatever the last frame was doing (a step, a grid being drawn, kernels compiled) is over; an error or a
    // divergence stays said
    if (trainer && !STOPPED_STATES.includes(status.state))
      status.set('paused', `paused at step ${trainer.step}: press ▶ Play to go on.`);
    setButtons();
    scheduleWalk();
  });
}

/** Stops the play loop and waits until the frame in flight has finished. */
async function stopPlay(): Promise<void> {
  requestPause();
  await loop;
}

/**
 * Runs an action with the controls locked (`what` is the reason they show), its error in the banner; true when it
 * ran to its end (false: it failed, or another action held the controls).
 */
async function guarded(what: string, action: () => Promise<void>): Promise<boolean> {
  if (busy) return false;
  busy = what;
  setButtons();
  clearBanner();
  try {
    // a walk drawn between actions ends first (it never fails: it reports on its own line); the wait is shown
    if (walkComputing) {
      const walk = walkComputing.replace(/^computing /, '').replace(/…$/, '');
      status.start('waiting', (sec) => `waiting for ${walk} to be drawn (then: ${what})… ${formatDuration(sec)}`);
    }
    await walkJob;
    await action();
    return true;
  } catch (e) {
    banner(errorText(e), 'error');
    status.set('error', `Failed while ${what}: see the message above.`);
    return false;
  } finally {
    busy = null;
    setButtons();
    scheduleWalk();
  }
}

const STEP_LABELS: Record<StepKind, string> = { both: 'D and G', d: 'D only', g: 'G only' };

async function singleStep(kind: StepKind): Promise<void> {
  if (!trainer) return;
  await guarded(`step ${trainer.step + 1} is running`, async () => {
    const t = trainer!;
    applyLiveOptions();
    const n = t.step + 1;
    const label = `step ${n} (${STEP_LABELS[kind]})`;
    const kernels0 = engine().stats().pipelines;
    const t0 = performance.now();
    const firstRun = (await compileAhead(`${kind}${phaseOf(t, t.step)}`, label, scratchSteps(kind))) > 0;
    status.start('stepping', (sec, k) => stepText(label, sec, k, firstRun));
    const s = await runSteps(kind, 1);
    const sec = (performance.now() - t0) / 1000;
    if (GanTrainer.diverged(s))
      banner(
        `Training diverged at step ${s.step + 1} (D loss ${s.lossD}, G loss ${s.lossG}). Lower the learning rates and start a new model, or load a checkpoint.`,
        'error',
      );
    const compiled = engine().stats().pipelines - kernels0;
    if (compiled > 0 && n === 1) rememberFirstStep(sec);
    measure(t.opts.batchSize, sec, compiled > 0);
    await refreshView();
    status.set(
      'ready',
      `${label[0].toUpperCase()}${label.slice(1)} took ${formatDuration(sec)}` +
        (compiled > 0 ? ` (it compiled ${compiled} new GPU kernels; later steps reuse them).` : '.'),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// The latent walk

/** Frames per second of the animated walk. */
const WALK_FPS = 8;
/** Walks drawn on their own (not asked for) wait so that they take at most about 1 / WALK_SHARE of the time. */
const WALK_SHARE = 5;

/** A walk as drawn: its two points, frames, the step and generator it was drawn from, the strip and each frame. */
interface DrawnWalk {
  seg: WalkSegment;
  frames: number;
  step: number;
  module: 'G' | 'G_ema';
  /** ", stage 1 · 8 px, α 0.50" for progan */
  growth: string;
  strip: RgbaImage;
  images: RgbaImage[];
}

/** The two points the next walk asked for goes between (New end points moves them on; Animate walks them on). */
let walkSeg: WalkSegment = walkPair(0);
/** The walk on the strip (while animating: the leg that plays). */
let walkShown: DrawnWalk | null = null;
/** Animating: the next leg, drawn while the one on the strip plays. */
let walkQueued: DrawnWalk | null = null;
/** Animating: the frame of walkShown on #walk-frame. */
let walkFrame = 0;
let walkTimer: ReturnType<typeof setInterval> | null = null;
/** A walk was asked for (new end points, frames, a new model, a redrawn view): the next one, not held back. */
let walkWanted = true;
/** Counts the walks asked for: a walk computed for an earlier request is dropped. */
let walkRequest = 0;
/** The walk being drawn while nothing else runs; actions and the play loop wait for it. */
let walkJob: Promise<void> | null = null;
/** Walks drawn on their own wait until then (performance.now()), (WALK_SHARE − 1)× the last walk's time after it. */
let walkNextAt = 0;
let walkWake: ReturnType<typeof setTimeout> | null = null;
/** What the walk's line says while a walk is computed, or null. */
let walkComputing: string | null = null;
/** The walk's line shows this error until the next walk is drawn. */
let walkError: string | null = null;

const walkAnimating = () => $<HTMLInputElement>('walk-animate').checked;

/** "z3 → z4". */
const segName = (s: WalkSegment) => `z${s.from} → z${s.to}`;

/** The walk's line under its controls (data-state: idle, computing, ready, animating, error). */
function showWalkNote(): void {
  const el = $('walk-note');
  const s = walkShown;
  let state: string;
  let text: string;
  if (walkError) [state, text] = ['error', walkError];
  else if (walkComputing) [state, text] = ['computing', walkComputing];
  else if (!s) [state, text] = ['idle', trainer ? 'No walk drawn yet.' : 'Build a model first (New model).'];
  else if (walkAnimating())
    [state, text] = [
      'animating',
      `Walking on along the chain: ${segName(s.seg)} (drawn at step ${s.step}${s.growth}), frame ${walkFrame + 1} / ${s.frames}` +
        (walkQueued ? '; the next leg is drawn.' : walkFrame === s.frames - 1 ? '; waiting for the next leg…' : '.'),
    ];
  else {
    const strip = cliStrip(s.seg);
    [state, text] = [
      'ready',
      `G in eval mode along slerp from z${s.seg.from} to z${s.seg.to} (latent points of seed ${trainer!.opts.seed}) in ${s.frames} frames, at step ${s.step}${s.growth}${
        trainer!.Gema ? `, ${s.module === 'G_ema' ? 'weight average' : 'trained G'}` : ''
      }` +
        (strip
          ? `; the CLI's sample --interpolate --steps ${s.frames} --rows ${strip}${s.module === 'G' && trainer!.Gema ? ' --generator raw' : ''} draws it as its last strip from a checkpoint saved at this step.`
          : '.'),
    ];
  }
  el.dataset.state = state;
  el.textContent = text;
}

/** Forgets the walk with the model it was drawn from; the next model's walk starts at the chain's first pair. */
function dropWalk(): void {
  walkSeg = walkPair(0);
  walkShown = walkQueued = null;
  walkFrame = 0;
  walkWanted = true;
  walkRequest++;
  walkNextAt = 0;
  walkComputing = walkError = null;
  for (const id of ['walk', 'walk-frame']) {
    const c = $<HTMLCanvasElement>(id);
    c.getContext('2d')!.clearRect(0, 0, c.width, c.height);
    for (const k of Object.keys(c.dataset)) delete c.dataset[k];
  }
  showWalkNote();
}

/** The steps between sample grids, which a walk not animated is redrawn after too (Infinity while the field is wrong). */
function gridEvery(): number {
  try {
    return numberField('grid-every', { int: true, min: 1 });
  } catch {
    return Infinity;
  }
}

/**
 * When the next walk is due: 0 now, a wait in ms, or null (none). Asked for: now. On its own (held to its share of the
 * time): animating, when the next leg is not drawn yet; otherwise when the strip is "Refresh samples" steps old or
 * from the other generator.
 */
function walkDue(): number | null {
  const t = trainer;
  const s = walkShown;
  if (!t || !data) return null;
  if (walkWanted) return 0;
  if (!s || walkError) return null; // (a wrong frame count waits for the next one asked for)
  if (s.module !== t.sampledModule) return 0;
  const own = walkAnimating() ? walkQueued === null : t.step - s.step >= gridEvery();
  return own ? Math.max(0, walkNextAt - performance.now()) : null;
}

/**
 * Draws the walk when it is due (walkDue): asked for, the walk from walkSeg onto the strip; animating, the next leg
 * along the chain, queued for the player. `ahead`: compile its kernels ahead, with their count on the status line, as
 * the grid does (from the view's refresh, inside an action or the play loop; a walk drawn between them does not touch
 * the status line and compiles what it needs as it goes).
 */
async function pumpWalk(ahead: boolean): Promise<void> {
  if (walkDue() !== 0) return;
  const t = trainer!;
  const request = walkRequest;
  const asked = walkWanted || !walkShown || walkShown.module !== t.sampledModule;
  walkWanted = false;
  let frames: number;
  try {
    frames = rangeField('walk-frames', WALK_FRAMES);
  } catch (e) {
    walkError = `${errorText(e)}; the walk keeps its previous frames.`;
    showWalkNote();
    return;
  }
  const seg = asked ? walkSeg : walkAnimating() ? nextLeg(walkShown!.seg) : walkShown!.seg;
  walkError = null;
  walkComputing = `computing the walk ${segName(seg)} (${frames} frames) at step ${t.step}${growthLabel(t)}…`;
  showWalkNote();
  try {
    if (ahead)
      await compileAhead(
        `walk of ${t.sampledModule}${phaseOf(t, Math.max(0, t.step - 1))} × ${frames}`,
        `drawing the latent walk at step ${t.step}`,
        (s) => {
          const z = s.fixedLatent(frames); // the kernels of G on a batch of `frames` latents
          s.generate(z).dispose();
          z.dispose();
        },
        true,
      );
    const t0 = performance.now();
    const values = await walkImages(t, seg, frames);
    walkNextAt = performance.now() + (WALK_SHARE - 1) * (performance.now() - t0);
    if (request !== walkRequest || trainer !== t) return; // something else was asked for meanwhile
    const { channels, size } = t.spec;
    const per = channels * size * size;
    const drawn: DrawnWalk = {
      seg,
      frames,
      step: t.step,
      module: t.sampledModule,
      growth: growthLabel(t),
      strip: walkStrip(values, frames, channels, size),
      images: Array.from({ length: frames }, (_, i) =>
        makeGrid(values.subarray(i * per, (i + 1) * per), 1, channels, size, size, { padding: 0, range: [-1, 1] }),
      ),
    };
    if (!asked && walkAnimating()) walkQueued = drawn;
    else showWalk(drawn, 0);
  } finally {
    walkComputing = null;
    showWalkNote();
  }
}

/** Puts a walk on the strip (and its frame `frame` on the animation's canvas). */
function showWalk(w: DrawnWalk, frame: number): void {
  walkShown = w;
  walkSeg = w.seg;
  const strip = $<HTMLCanvasElement>('walk');
  drawImage(strip, w.strip);
  const size = trainer!.spec.size;
  strip.style.width = `${w.strip.width * Math.max(1, Math.round(56 / size))}px`;
  Object.assign(strip.dataset, {
    from: String(w.seg.from),
    to: String(w.seg.to),
    frames: String(w.frames),
    step: String(w.step),
    module: w.module,
    size: String(size),
  });
  strip.dataset.drawn = String(Number(strip.dataset.drawn ?? 0) + 1);
  walkFrame = frame;
  drawWalkFrame();
  showWalkNote();
}

/** The animation's canvas: frame walkFrame of the walk on the strip, large (shown while animating). */
function drawWalkFrame(): void {
  const c = $<HTMLCanvasElement>('walk-frame');
  const w = walkShown;
  c.hidden = !walkAnimating() || !w;
  if (!w) return;
  drawImage(c, w.images[walkFrame]!);
  c.style.width = `${w.images[walkFrame]!.width * Math.max(1, Math.round(160 / trainer!.spec.size))}px`;
  c.dataset.frame = String(walkFrame);
  c.dataset.leg = `${w.seg.from}-${w.seg.to}`;
}

/** One tick of the animation: the next frame; at a leg's end the next leg (it starts where this one ends), or a wait. */
function walkTick(): void {
  const w = walkShown;
  if (!w) return;
  if (walkFrame < w.frames - 1) walkFrame++;
  else if (walkQueued) {
    const next = walkQueued;
    walkQueued = null;
    showWalk(next, next.seg.from === w.seg.to ? 1 : 0); // its first frame is the point this leg ended at
    scheduleWalk();
    return;
  } else return showWalkNote(); // hold the last frame until the next leg is drawn
  drawWalkFrame();
  showWalkNote();
}

/**
 * Draws a due walk while nothing else runs (no action, no training: the play loop draws its own), or sets a timer for
 * when it will be due. Called whenever that may have changed.
 */
function scheduleWalk(): void {
  if (walkWake !== null) clearTimeout(walkWake);
  walkWake = null;
  if (running || busy || walkJob) return; // the play loop, the action or the walk in flight comes back here
  const wait = walkDue();
  if (wait === null) return;
  if (wait > 0) {
    walkWake = setTimeout(scheduleWalk, wait + 1);
    return;
  }
  walkJob = pumpWalk(false)
    .catch((e) => {
      // (a GPU failure: the walk stops animating and says so; the page's own controls report theirs)
      $<HTMLInputElement>('walk-animate').checked = false;
      animateChanged();
      walkError = `The walk failed: ${errorText(e)}`;
      showWalkNote();
    })
    .finally(() => {
      walkJob = null;
      scheduleWalk();
    });
}

/** Animate on: the strip's leg plays and the next is drawn; off: the strip stays at the leg it showed. */
function animateChanged(): void {
  if (walkTimer !== null) clearInterval(walkTimer);
  walkTimer = null;
  walkQueued = null;
  walkRequest++; // a leg in flight is for the animation that ended
  if (walkAnimating()) {
    walkFrame = 0;
    walkTimer = setInterval(walkTick, 1000 / WALK_FPS);
  }
  drawWalkFrame();
  showWalkNote();
  scheduleWalk();
}

/** Asks for a walk from walkSeg (drawn at the next chance: now while nothing runs, after the frame in flight while training). */
function askWalk(): void {
  walkWanted = true;
  walkQueued = null;
  walkRequest++;
  walkError = null;
  showWalkNote();
  scheduleWalk();
}

function setUpWalk(): void {
  describeRangeField('walk-frames', WALK_FRAMES, 'steps');
  const frames = $<HTMLInputElement>('walk-frames');
  frames.closest('label')!.title = `${WALK_FRAMES.help}: ${frames.title}`;
  frames.addEventListener('change', askWalk);
  $('walk-new').title =
    "walk between the chain's next two points (the CLI's next strip of sample --interpolate), from the run's seed";
  $('walk-new').addEventListener('click', () => {
    walkSeg = pairAfter(walkShown?.seg ?? walkSeg);
    askWalk();
  });
  $('walk-animate').closest('label')!.title =
    `play the walk at ${WALK_FPS} frames a second and walk on along the chain, each leg drawn from G as it is then`;
  $('walk-animate').addEventListener('change', animateChanged);
  showWalkNote();
}

// ---------------------------------------------------------------------------------------------------------
// Checkpoints and samples

/** Steps of the model in training that no saved checkpoint holds. */
function unsavedSteps(): number {
  return trainer ? trainer.step - keptStep : 0;
}

/** Whether `what` may replace the model in training: asked only when it holds steps not saved. */
function mayDiscard(what: string): boolean {
  const n = unsavedSteps();
  if (n <= 0) return true;
  return confirm(
    `${what} replaces the model in training: its ${n} step${n > 1 ? 's' : ''} since it was ${keptHow} (step ${keptStep}) ${n > 1 ? 'are' : 'is'} saved nowhere. ` +
      'Press Cancel and then Save checkpoint to keep them.',
  );
}

async function saveCheckpoint(): Promise<void> {
  const wasRunning = running;
  await stopPlay();
  const saved = await guarded('a checkpoint is being saved', async () => {
    const t = trainer!;
    status.start(
      'saving',
      (sec) => `saving a checkpoint at step ${t.step} (reading the weights back)… ${formatDuration(sec)}`,
    );
    const bytes = await t.saveCheckpoint({
      // what train --resume checks a run's data by: how many images, and a folder's names and sizes (those the
      // loaded checkpoint named, when it could not train here)
      ...(loadedData ?? {
        dataset: data?.name ?? null,
        ...(data ? { images: data.n } : {}),
        ...(data?.fingerprint ? { data: data.fingerprint } : {}),
      }),
      savedBy: 'web',
      lossHistory: encodeLossHistory(history),
    });
    const name = `${t.spec.kind}${isGrowing(t.spec.kind) ? `-${t.spec.size}px` : ''}-step${t.step}.safetensors`;
    download(bytes, name);
    [keptStep, keptHow] = [t.step, 'saved'];
    status.set('ready', `Saved ${name} (${(bytes.length / 1e6).toFixed(1)} MB, step ${t.step}).`);
  });
  // Training resumes only after a save that worked: a failed one keeps its message on screen (Play would hide it).
  if (saved && wasRunning && trainer) togglePlay();
}

/**
 * The model and options of a checkpoint file. A file that is not a checkpoint at all (an image, a text, weights of
 * another program) is named and said to be none; a checkpoint of this app with damaged metadata gets the loader's
 * message, which names the file and the field.
 */
function readCheckpoint(bytes: Uint8Array, name: string): ReturnType<typeof checkpointSpec> {
  try {
    return checkpointSpec(bytes, name);
  } catch (e) {
    let metadata: Record<string, string> | null;
    try {
      metadata = decodeSafetensorsMetadata(bytes, name);
    } catch {
      metadata = null;
    }
    const what = "a checkpoint is the .safetensors file this page's Save checkpoint, or the CLI's train, writes";
    if (metadata === null) {
      const kind = describeBytes(bytes);
      const it = kind && kind !== 'a safetensors file' ? `it is ${kind}` : 'it is not a readable safetensors file';
      throw new Error(`${name} is not a checkpoint of this app (${it}; ${what})`);
    }
    if (metadata.format !== CHECKPOINT_FORMAT)
      throw new Error(
        `${name} is not a checkpoint of this app (it is a safetensors file without this app's checkpoint metadata, such as weights saved by another program; ${what})`,
      );
    throw e;
  }
}

/**
 * Whether a checkpoint's dataset (the page's name for it, or the CLI's --dataset) is the data loaded here: the
 * CLI's mnist is the page's bundled digits (the same 10,000 images in the same order), a folder goes by its name.
 */
function sameData(saved: string, here: string): boolean {
  if (saved === here || (saved === 'mnist' && here === 'mnist-digits')) return true;
  return (
    saved
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .at(-1) === here
  );
}

/**
 * A checkpoint's model, options, metadata and loss history, checked before any model is built (every error names
 * the file): a checkpoint of this app, of a size this page holds, with its loss history and a batch that fits.
 */
function loadableCheckpoint(bytes: Uint8Array, name: string) {
  const { spec, options, meta } = readCheckpoint(bytes, name);
  if (spec.size > FOLDER_SIZE)
    throw new Error(
      `${name} is a ${modelName(spec)} model; this page trains and draws models up to ${FOLDER_SIZE} px (its data is held in memory at the model's size): use the CLI (train --resume, sample --checkpoint)`,
    );
  const saved = decodeLossHistory(meta.lossHistory, Number(meta.step ?? 0), name);
  checkBatchesFit(spec, options, ` (the batch size of ${name})`);
  return { spec, options, meta, saved };
}

/** Loads a checkpoint's bytes that loadableCheckpoint passed (`checked`, what it returned) in place of the model. */
async function loadCheckpoint(
  file: File,
  bytes: Uint8Array,
  checked: ReturnType<typeof loadableCheckpoint>,
): Promise<void> {
  await stopPlay();
  await guarded(`${file.name} is being loaded`, async () => {
    const { spec, options, meta, saved } = checked;
    status.start(
      'building',
      (sec, k) => `building the model of ${file.name} (${modelName(spec)})… ${formatDuration(sec)}${kernelsNote(k)}`,
    );
    await nextFrame();
    const next = new GanTrainer(spec, options);
    let unfit: string | null = null;
    try {
      next.loadCheckpoint(bytes, file.name);
      const bad = await next.nonFiniteSamples();
      if (bad)
        throw new Error(
          `checkpoint ${file.name}: its generator draws ${bad.count} non-finite values (first: ${bad.first}) of ${bad.of} in a test draw: its weights or BatchNorm statistics overflow; nothing was loaded`,
        );
      // Keep training possible: fit the loaded data (bundled digits if none yet) to the checkpoint's model; a folder
      // is read again at the model's size if it was read at another
      const loaded =
        source && sourceChoice === 'folder' && folderCache && source.h !== spec.size
          ? await loadFolder(folderCache.files, spec.size)
          : (source ?? (await loadDigits()));
      const fitted = fitData(loaded, spec);
      let probe: DataCursor;
      try {
        probe = new DataCursor(fitted, next.opts.batchSize, next.opts.seed); // throws when the data is smaller than a batch
      } catch (e) {
        throw new Error(
          `${file.name}: its batch size ${next.opts.batchSize} does not fit the data here: ${errorText(e)}`,
        );
      }
      // What train --resume checks (the same functions): the run's data record (how many images, a folder's names
      // and sizes), a step and epoch that fit this data's batches per epoch, and a learning-rate decay not yet at 0.
      const saved = {
        images: typeof meta.images === 'number' ? meta.images : undefined,
        data: typeof meta.data === 'string' ? meta.data : undefined,
      };
      try {
        const problem = runDataProblem(saved, fitted);
        if (problem) throw new Error(problem.why);
        probe.checkRun(next);
      } catch (e) {
        const from =
          typeof meta.dataset === 'string' && !sameData(meta.dataset, fitted.name) ? ` (${meta.dataset})` : '';
        unfit =
          `${file.name} cannot train on the ${fitted.name} here: ${errorText(e)}. Its samples, walk and Save work; ` +
          `to train it on, choose the images it was trained on${from} under Data, press New model, then load ${file.name} again`;
      }
      const decayEnded = decayEndedProblem(next.opts, next.step);
      if (decayEnded) unfit ??= `${file.name}: ${decayEnded} (the CLI's train --resume takes a new --lr-decay)`;
      dropTrainer(`Samples: drawing from ${file.name}…`);
      if (source === null) {
        sourceChoice = 'digits';
        $<HTMLSelectElement>('dataset').value = 'digits';
        $('dataset').dispatchEvent(new Event('change')); // its file pickers
      }
      source = loaded;
      data = fitted;
    } catch (e) {
      next.dispose();
      throw e;
    }
    showModel(spec);
    showOptions(next.opts);
    adoptTrainer(next);
    cannotTrain = unfit;
    if (unfit) loadedData = { dataset: meta.dataset, images: meta.images, data: meta.data };
    [keptStep, keptHow] = [next.step, `loaded from ${file.name}`];
    // The chart continues from the losses the checkpoint carries (the page and train both write them; a checkpoint
    // of an older train has none, so its chart here starts at the loaded step).
    history = saved;
    newCursor();
    describeData();
    status.start('drawing', (sec, k) => `drawing samples from ${file.name}… ${formatDuration(sec)}${kernelsNote(k)}`);
    await refreshView(true);
    showStats(history[history.length - 1]);
    const trainedOn = typeof meta.dataset === 'string' && !sameData(meta.dataset, data!.name) ? meta.dataset : null;
    banner(
      `Loaded ${file.name}: ${modelName(spec)}, ${next.loss} loss, step ${next.step}${growthLabel(next)}, epoch ${next.epoch}; ` +
        (trainedOn && !cannotTrain
          ? `it was trained on ${trainedOn}, training here continues on ${data!.name}; `
          : '') +
        (history.length
          ? `its ${history.length} loss points are on the chart.`
          : `it carries no loss history, so the chart starts at step ${next.step}.`) +
        (cannotTrain ? ` But ${cannotTrain}.` : decayNote(next)),
      'info',
    );
    countModel();
    status.set(
      'ready',
      cannotTrain
        ? `Loaded ${file.name} at step ${next.step}: its samples are shown (training it needs its own data: see above).`
        : `Loaded ${file.name} at step ${next.step}: press ▶ Play or a Step button to continue it.`,
    );
  });
}

/** What a loaded run's learning-rate decay does from here on (the page has no field for it), or ''. */
function decayNote(t: GanTrainer): string {
  const { lrDecayStart: from, lrDecayEnd: to } = t.opts;
  if (to === 0) return '';
  const factor = learningRateFactor(t.opts, t.step);
  return (
    ` Its learning rates decay linearly to 0 from step ${from} to ${to}` +
    (factor < 1
      ? `: at step ${t.step} they are ${factor.toPrecision(3)} × the rates shown.`
      : ' (the rates shown until then).')
  );
}

/** A grid of G(z) for fresh random z (the fixed-z grid stays as it is). */
async function sampleNew(): Promise<void> {
  await stopPlay();
  await guarded('samples are being drawn', async () => {
    const t = trainer!;
    const n = gridCount();
    status.start('drawing', (sec, k) => `drawing ${n} samples from new z… ${formatDuration(sec)}${kernelsNote(k)}`);
    const z = t.latent(n, 'web-sample', ++sampleCounter);
    const images = t.generate(z);
    z.dispose();
    const pixels = await images.toArray();
    images.dispose();
    const { channels, size } = t.spec;
    drawImage(
      $<HTMLCanvasElement>('grid'),
      makeGrid(pixels, n, channels, size, size, { nrow: Math.sqrt(n), padding: 2, range: [-1, 1] }),
    );
    $('grid-title').textContent = `Samples from new random z (#${sampleCounter}${generatorLabel(t)})`;
    status.set('ready', `Drew samples from new random z (#${sampleCounter}).`);
  });
}

// ---------------------------------------------------------------------------------------------------------
// The page

/** On a software adapter (the GPU emulated on the CPU) the page starts with lighter settings, and says so. */
function lightenForSoftwareAdapter(): void {
  lighterOnCPU(
    { batch: '16', 'grid-every': '5', 'walk-frames': '6' },
    'This adapter runs on the CPU (software), so the page starts with a batch of 16, grids of 16 samples every ' +
      '5 steps and latent walks of 6 frames; a step of the paper DCGANs can take a minute here.',
  );
}

async function main(): Promise<void> {
  navBar('gan.html');
  status = new StatusLine($('status'));
  fillModelChoices(); // (the menu is there while the GPU starts)
  const eng = await startGpu();
  if (!eng) return;
  lightenForSoftwareAdapter();
  // Shows the file pickers that belong to the chosen dataset.
  const showPickers = () => {
    const v = $<HTMLSelectElement>('dataset').value;
    $('fashion-row').hidden = v !== 'fashion';
    $('folder-row').hidden = v !== 'folder';
  };
  $('dataset').addEventListener('change', () => {
    showPickers();
    showPendingModelFields();
  });
  showPickers();
  describeFields();
  $('model').addEventListener('input', () => {
    showModelRows();
    showPendingModelFields();
  });
  for (const id of ['size', 'width', 'loss']) $(id).addEventListener('input', showPendingModelFields);
  for (const field of MODEL_FIELDS) fieldInput(field).addEventListener('input', showPendingModelFields);
  for (const field of LIVE_FIELDS) fieldInput(field).addEventListener('change', liveFieldChanged);
  $('grid-every').addEventListener('change', checkGridEvery);
  $('build').addEventListener('click', async () => {
    // asked before anything stops: Cancel leaves the model training as it was
    if (!mayDiscard('New model')) {
      if (!running) status.set('ready', 'Kept the model in training (New model was cancelled).');
      return;
    }
    await stopPlay();
    await guarded('the model is being built', buildModel);
  });
  $('play').addEventListener('click', togglePlay);
  $('step-d').addEventListener('click', () => singleStep('d'));
  $('step-g').addEventListener('click', () => singleStep('g'));
  $('step-both').addEventListener('click', () => singleStep('both'));
  $('save').addEventListener('click', saveCheckpoint);
  $('sample').addEventListener('click', sampleNew);
  setUpWalk();
  $('sample-from').addEventListener('change', () => {
    if (!trainer || running) return; // a running loop picks the choice up at its next frame
    void guarded('samples are being drawn', async () => {
      applyLiveOptions();
      const from = trainer!.sampledModule === 'G_ema' ? 'the weight average' : 'the trained G';
      status.start('drawing', (sec, k) => `drawing samples from ${from}… ${formatDuration(sec)}${kernelsNote(k)}`);
      await refreshView(true);
      status.set(
        'ready',
        `Samples drawn from the ${trainer!.sampledModule === 'G_ema' ? 'weight average' : 'trained G'}.`,
      );
    });
  });
  $<HTMLInputElement>('load').addEventListener('change', async (ev) => {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    // A file this page cannot load (no checkpoint of this app, too large a model, a damaged history, a batch that
    // does not fit) is refused first, the training left as it runs: asking to discard its unsaved steps, and pausing
    // it, for a file that then cannot load would leave it paused for nothing.
    let bytes: Uint8Array;
    let checked: ReturnType<typeof loadableCheckpoint>;
    try {
      bytes = await fileBytes(file);
      checked = loadableCheckpoint(bytes, file.name);
    } catch (e) {
      input.value = '';
      banner(errorText(e), 'error');
      return;
    }
    if (!mayDiscard(`Loading ${file.name}`)) {
      input.value = '';
      if (!running) status.set('ready', `Kept the model in training (loading ${file.name} was cancelled).`);
    } else
      loadCheckpoint(file, bytes, checked).then(() => {
        input.value = '';
      });
  });
  // closing or reloading the tab with steps saved nowhere: the browser asks first
  addEventListener('beforeunload', (ev) => {
    if (unsavedSteps() > 0) ev.preventDefault();
  });
  setButtons();
  await guarded('the model is being built', buildModel);
  document.body.dataset.ready = 'true';
}

main().catch((e) => banner(errorText(e), 'error'));
