/**
 * The GAN page: builds a GanTrainer (src/gan/trainer.ts, the CLI's trainer) on a dataset held in memory and
 * trains it a few steps per animation frame.
 *
 * Readbacks stall the GPU, so the page reads only what it shows: the statistics of the last step of each frame
 * (the steps before it are recorded and run without waiting), and the fixed-z sample grid every few steps.
 * The number of steps per frame adapts so that a frame takes about FRAME_BUDGET_MS of GPU time.
 */
import {
  GanTrainer,
  checkpointSpec,
  type GanStepResult,
  type StepStats,
  type TrainOptions,
} from '../../src/gan/trainer.ts';
import { ganSpec, type GanKind, type GanSpec } from '../../src/gan/models.ts';
import { sampleGrid, lossChart } from '../../src/gan/visuals.ts';
import { DataCursor } from '../../src/gan/data-cursor.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { parseIdx, idxToDataset } from '../../src/data/idx.ts';
import { resizeDataset, withChannels } from '../../src/data/transforms.ts';
import { makeGrid, centerCropToSquare, bilinearResize, rgbaToNchw } from '../../src/io/image.ts';
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
  nextFrame,
  decodeImage,
  errorText,
} from './common.ts';

const FRAME_BUDGET_MS = 150;
/** Largest number of images read from a picked folder (they all live in memory). */
const MAX_FOLDER_IMAGES = 20_000;

/** A dataset in the form it was loaded in; converted to each model's size and channels on demand. */
let source: Dataset | null = null;
/** `source` at the current model's size and channels. */
let data: Dataset | null = null;
let trainer: GanTrainer | null = null;
let history: StepStats[] = [];
/** The real batch of each step, from the trainer's step and epoch (as `train --resume` in the CLI). */
let cursor: DataCursor | null = null;
let running = false;
/** The play loop while it runs (awaited before anything else touches the trainer). */
let loop: Promise<void> | null = null;
let busy = false;
let stepsPerFrame = 1;
let lastGridStep = -1;
let sampleCounter = 0;

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : '–';
}

function setButtons(): void {
  const ready = trainer !== null && data !== null;
  for (const id of ['play', 'step-d', 'step-g', 'step-both'])
    $<HTMLButtonElement>(id).disabled = !ready || ((busy || running) && id !== 'play');
  $<HTMLButtonElement>('save').disabled = trainer === null || busy;
  $<HTMLButtonElement>('sample').disabled = trainer === null || busy;
  $<HTMLButtonElement>('build').disabled = running || busy;
  $('play').textContent = running ? '❚❚ Pause' : '▶ Play';
}

/** The training options the form asks for (checked; the error names the field). */
function formOptions(): Partial<TrainOptions> {
  return {
    batchSize: numberField('batch', { int: true, min: 2 }),
    seed: numberField('seed', { int: true, min: 0 }),
    gEma: numberField('g-ema', { min: 0, max: 0.9999 }),
    ...liveOptions(),
  };
}

/** Options that may change while training runs. */
function liveOptions(): Pick<TrainOptions, 'lrG' | 'lrD' | 'dStepsPerG' | 'dSkipBelow' | 'realLabel'> {
  return {
    lrG: numberField('lr-g', { min: 1e-8 }),
    lrD: numberField('lr-d', { min: 1e-8 }),
    dStepsPerG: numberField('k', { int: true, min: 1 }),
    dSkipBelow: numberField('d-skip', { min: 0 }),
    realLabel: numberField('real-label', { min: 0.01, max: 1 }),
  };
}

/** Copies the form's live options into the running trainer (the trainer reads opts, rates included, at every step). */
function applyLiveOptions(): void {
  if (!trainer) return;
  Object.assign(trainer.opts, liveOptions());
  trainer.sampleFrom = $<HTMLSelectElement>('sample-from').value as 'ema' | 'raw';
}

function showOptions(o: TrainOptions): void {
  const set = (id: string, v: number) => {
    $<HTMLInputElement>(id).value = String(v);
  };
  set('batch', o.batchSize);
  set('seed', o.seed);
  set('lr-g', o.lrG);
  set('lr-d', o.lrD);
  set('k', o.dStepsPerG);
  set('d-skip', o.dSkipBelow);
  set('real-label', o.realLabel);
  set('g-ema', o.gEma);
}

/** The sample source follows the trainer: a choice only when it keeps a weight average. */
function showSampleSource(t: GanTrainer): void {
  const select = $<HTMLSelectElement>('sample-from');
  select.disabled = t.Gema === null;
  select.value = t.Gema ? t.sampleFrom : 'raw';
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
    Array.from(files).map(async (f) => ({ name: f.name, idx: await parseIdx(await fileBytes(f), f.name) })),
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

/** Every image in a picked folder, center-cropped to a square and resized to 64×64 RGB (the largest model size). */
async function loadFolder(files: FileList): Promise<Dataset> {
  const list = Array.from(files)
    .filter((f) => /\.(png|jpe?g|webp|gif|bmp)$/i.test(f.name))
    .slice(0, MAX_FOLDER_IMAGES);
  if (list.length < 2)
    throw new Error(`image folder: found ${list.length} image files (png, jpg, webp, gif, bmp); need at least 2`);
  const size = 64;
  const images = new Float32Array(list.length * 3 * size * size);
  for (let i = 0; i < list.length; i++) {
    const img = await decodeImage(list[i], list[i].webkitRelativePath || list[i].name);
    images.set(rgbaToNchw(bilinearResize(centerCropToSquare(img), size, size)), i * 3 * size * size);
    if (i % 50 === 0) $('data-info').textContent = `decoding images: ${i + 1} / ${list.length}`;
  }
  const folder = list[0].webkitRelativePath.split('/')[0] || 'folder';
  return { images, n: list.length, c: 3, h: size, w: size, name: folder };
}

async function loadSource(): Promise<Dataset> {
  switch ($<HTMLSelectElement>('dataset').value) {
    case 'fashion':
      return loadIdxFiles($<HTMLInputElement>('fashion-files').files!);
    case 'folder':
      return loadFolder($<HTMLInputElement>('folder-files').files!);
    default:
      return loadDigits();
  }
}

/** The spec for a model kind on the loaded data: the paper DCGANs keep the data's channels, the lesson models are gray. */
function specFor(kind: GanKind, ds: Dataset): GanSpec {
  return ganSpec(kind, kind === 'dcgan32' || kind === 'dcgan64' ? { channels: ds.c } : {});
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

function replaceTrainer(next: GanTrainer): void {
  trainer?.dispose();
  trainer = next;
  showSampleSource(next);
  history = [];
  cursor = null;
  lastGridStep = -1;
  stepsPerFrame = 1;
}

async function buildModel(): Promise<void> {
  source = await loadSource();
  const spec = specFor($<HTMLSelectElement>('model').value as GanKind, source);
  data = fitData(source, spec);
  const opts = formOptions();
  if (data.n < opts.batchSize!)
    throw new Error(`dataset ${data.name} has ${data.n} images, fewer than one batch of ${opts.batchSize}`);
  replaceTrainer(new GanTrainer(spec, opts));
  newCursor();
  describeData();
  await refreshView(true);
}

function describeData(): void {
  if (!data || !trainer) return;
  $('data-info').textContent =
    `${trainer.spec.kind} on ${data.name}: ${data.n} images ${data.c}×${data.h}×${data.w}, ${cursor!.perEpoch} steps per epoch`;
}

// ---------------------------------------------------------------------------------------------------------
// The loss history in a checkpoint

/** Most loss points a checkpoint carries (the latest ones): about 2 MB of metadata. */
const MAX_SAVED_POINTS = 50_000;

/** The chart's points as columns for a checkpoint's metadata (meta.lossHistory); NaN (a skipped half) becomes null. */
function encodeHistory(points: readonly StepStats[]): Record<string, (number | null)[]> {
  const kept = points.slice(-MAX_SAVED_POINTS);
  const col = (f: (s: StepStats) => number) => kept.map((s) => (Number.isFinite(f(s)) ? f(s) : null));
  return {
    step: kept.map((s) => s.step),
    lossD: col((s) => s.lossD),
    lossG: col((s) => s.lossG),
    dReal: col((s) => s.dReal),
    dFake: col((s) => s.dFake),
  };
}

/**
 * The loss points a checkpoint carries (meta.lossHistory, written by this page), those before its step; [] when it
 * has none (a CLI checkpoint: the CLI keeps them in log.jsonl) or they do not read as points.
 */
function decodeHistory(value: unknown, beforeStep: number): StepStats[] {
  if (typeof value !== 'object' || value === null) return [];
  const v = value as Record<string, unknown>;
  const steps = v.step;
  if (!Array.isArray(steps) || steps.length > MAX_SAVED_POINTS) return [];
  const cols = ['lossD', 'lossG', 'dReal', 'dFake'].map((k) => v[k]);
  if (!cols.every((c) => Array.isArray(c) && c.length === steps.length)) return [];
  const [lossD, lossG, dReal, dFake] = (cols as unknown[][]).map((c) =>
    c.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : NaN)),
  );
  const out: StepStats[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (!Number.isSafeInteger(step) || step < 0 || step >= beforeStep || (i > 0 && step <= steps[i - 1])) return [];
    out.push({
      step,
      lossD: lossD[i],
      lossG: lossG[i],
      dReal: dReal[i],
      dFake: dFake[i],
      dSkipped: Number.isNaN(lossD[i]),
      gStepped: !Number.isNaN(lossG[i]),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Training and the view

type StepKind = 'both' | 'd' | 'g';

/** Records one step of the given kind (nothing is read back). */
function recordStep(kind: StepKind): GanStepResult {
  const t = trainer!;
  // A G-only step takes no real batch; it still counts as a step, so the cursor passes over that step's batch.
  const r =
    kind === 'g'
      ? t.trainGeneratorStep(t.opts.batchSize)
      : kind === 'd'
        ? t.trainDiscriminatorStep(cursor!.next(t).images)
        : t.trainBatch(cursor!.next(t).images);
  cursor!.completeEpochs(t); // the epoch counter as the CLI keeps it (and saves it)
  return r;
}

/** Runs `count` steps, reading back only the last one's statistics. Returns them. */
async function runSteps(kind: StepKind, count: number): Promise<StepStats> {
  let last: GanStepResult | null = null;
  for (let i = 0; i < count; i++) {
    if (last) last.stats.dispose();
    last = recordStep(kind);
  }
  const s = await trainer!.readStats(last!);
  history.push(s);
  return s;
}

function showStats(s: StepStats | undefined): void {
  const t = trainer!;
  $('step').textContent = String(t.step);
  $('epoch').textContent = String(t.epoch);
  if (!s) return;
  $('loss-d').textContent = fmt(s.lossD);
  $('loss-g').textContent = fmt(s.lossG);
  // Full precision for the e2e test's exact-resume check.
  $('loss-d').dataset.value = String(s.lossD);
  $('loss-g').dataset.value = String(s.lossG);
  $('d-real').textContent = fmt(s.dReal);
  $('d-fake').textContent = fmt(s.dFake);
}

/** Which generator drew a grid, for its title (only a run with a weight average has a choice). */
function generatorLabel(t: GanTrainer): string {
  return t.Gema ? `, ${t.sampledModule === 'G_ema' ? 'weight average' : 'trained G'}` : '';
}

/** Redraws the loss chart, and the sample grid when it is due (or `forceGrid`). */
async function refreshView(forceGrid = false): Promise<void> {
  const t = trainer!;
  showStats(history[history.length - 1]);
  const chart = $<HTMLCanvasElement>('chart');
  drawImage(chart, lossChart(history, { width: 640, height: 320 }));
  chart.dataset.points = String(history.length);
  const every = numberField('grid-every', { int: true, min: 1 });
  if (forceGrid || lastGridStep < 0 || t.step - lastGridStep >= every) {
    const grid = $<HTMLCanvasElement>('grid');
    drawImage(grid, await sampleGrid(t, 64, 8));
    lastGridStep = t.step;
    grid.dataset.step = String(t.step);
    $('grid-title').textContent = `Samples from a fixed z (step ${t.step}${generatorLabel(t)})`;
  }
}

async function playLoop(): Promise<void> {
  while (running) {
    const t0 = performance.now();
    try {
      applyLiveOptions();
      const s = await runSteps('both', stepsPerFrame);
      const ms = performance.now() - t0;
      $('rate').textContent = ((stepsPerFrame * trainer!.opts.batchSize) / (ms / 1000)).toFixed(0);
      if (GanTrainer.diverged(s)) {
        running = false;
        banner(
          `Training diverged at step ${s.step} (D loss ${s.lossD}, G loss ${s.lossG}). Lower the learning rates and start a new model, or load a checkpoint.`,
          'error',
        );
      }
      // Aim at FRAME_BUDGET_MS per frame, changing the step count by at most 2× at a time.
      stepsPerFrame = Math.max(
        1,
        Math.min(64, Math.round(stepsPerFrame * Math.min(2, Math.max(0.5, FRAME_BUDGET_MS / ms)))),
      );
      await refreshView();
    } catch (e) {
      running = false;
      banner(errorText(e), 'error');
    }
    setButtons();
    await nextFrame();
  }
}

/** Runs an action with the buttons locked, showing any error in the banner. */
async function guarded(action: () => Promise<void>): Promise<void> {
  if (busy) return;
  busy = true;
  setButtons();
  $('banner').hidden = true;
  try {
    await action();
  } catch (e) {
    banner(errorText(e), 'error');
    console.error(e);
  } finally {
    busy = false;
    setButtons();
  }
}

async function singleStep(kind: StepKind): Promise<void> {
  await guarded(async () => {
    applyLiveOptions();
    const t0 = performance.now();
    await runSteps(kind, 1);
    $('rate').textContent = (trainer!.opts.batchSize / ((performance.now() - t0) / 1000)).toFixed(0);
    await refreshView();
  });
}

/** Stops the play loop and waits until its last frame has finished. */
async function stopPlay(): Promise<void> {
  running = false;
  await loop;
  setButtons();
}

async function saveCheckpoint(): Promise<void> {
  const wasRunning = running;
  await stopPlay();
  await guarded(async () => {
    const bytes = await trainer!.saveCheckpoint({
      dataset: data?.name ?? null,
      savedBy: 'web',
      lossHistory: encodeHistory(history),
    });
    download(bytes, `${trainer!.spec.kind}-step${trainer!.step}.safetensors`);
  });
  if (wasRunning) togglePlay();
}

async function loadCheckpoint(file: File): Promise<void> {
  await stopPlay();
  await guarded(async () => {
    const bytes = await fileBytes(file);
    // Both name the file in their errors (the metadata is checked before any model is built).
    const { spec, options, meta } = checkpointSpec(bytes, file.name);
    const next = new GanTrainer(spec, options);
    try {
      next.loadCheckpoint(bytes, file.name);
    } catch (e) {
      next.dispose();
      throw e;
    }
    replaceTrainer(next);
    // The chart continues from the losses the checkpoint carries (a page checkpoint carries them; a CLI run keeps
    // them in its log.jsonl, so its chart here starts at the loaded step).
    history = decodeHistory(meta.lossHistory, next.step);
    $<HTMLSelectElement>('model').value = spec.kind;
    showOptions(next.opts);
    // Keep training possible: fit the loaded data (bundled digits if none yet) to the checkpoint's model.
    source ??= await loadDigits();
    data = fitData(source, spec);
    newCursor();
    describeData();
    await refreshView(true);
    const trainedOn = typeof meta.dataset === 'string' && meta.dataset !== data.name ? meta.dataset : null;
    banner(
      `Loaded ${file.name}: ${spec.kind}, step ${next.step}, epoch ${next.epoch}; ` +
        (trainedOn ? `it was trained on ${trainedOn}, training here continues on ${data.name}; ` : '') +
        (history.length
          ? `its ${history.length} loss points are on the chart.`
          : `it carries no loss history, so the chart starts at step ${next.step}.`),
      'info',
    );
  });
}

/** A grid of G(z) for fresh random z (the fixed-z grid stays as it is). */
async function sampleNew(): Promise<void> {
  await stopPlay();
  await guarded(async () => {
    const t = trainer!;
    const z = t.latent(64, 'web-sample', ++sampleCounter);
    const images = t.generate(z);
    z.dispose();
    const pixels = await images.toArray();
    images.dispose();
    const { channels, size } = t.spec;
    drawImage(
      $<HTMLCanvasElement>('grid'),
      makeGrid(pixels, 64, channels, size, size, { nrow: 8, padding: 2, range: [-1, 1] }),
    );
    $('grid-title').textContent = `Samples from new random z (#${sampleCounter}${generatorLabel(t)})`;
  });
}

function togglePlay(): void {
  if (!trainer || busy) return;
  if (running) {
    void stopPlay();
    return;
  }
  running = true;
  setButtons();
  loop = playLoop().finally(() => {
    loop = null;
  });
}

async function main(): Promise<void> {
  navBar('gan.html');
  const eng = await startGpu();
  if (!eng) return;
  // Shows the file pickers that belong to the chosen dataset.
  const showPickers = () => {
    const v = $<HTMLSelectElement>('dataset').value;
    $('fashion-row').hidden = v !== 'fashion';
    $('folder-row').hidden = v !== 'folder';
  };
  $('dataset').addEventListener('change', showPickers);
  showPickers();
  $('build').addEventListener('click', async () => {
    await stopPlay();
    await guarded(buildModel);
  });
  $('play').addEventListener('click', togglePlay);
  $('step-d').addEventListener('click', () => singleStep('d'));
  $('step-g').addEventListener('click', () => singleStep('g'));
  $('step-both').addEventListener('click', () => singleStep('both'));
  $('save').addEventListener('click', saveCheckpoint);
  $('sample').addEventListener('click', sampleNew);
  $('sample-from').addEventListener('change', () => {
    if (!trainer || running) return; // a running loop picks the choice up at its next frame
    void guarded(async () => {
      applyLiveOptions();
      await refreshView(true);
    });
  });
  $<HTMLInputElement>('load').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file)
      loadCheckpoint(file).then(() => {
        input.value = '';
      });
  });
  await guarded(buildModel);
  document.body.dataset.ready = 'true';
}

main().catch((e) => banner(errorText(e), 'error'));
