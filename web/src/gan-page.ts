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
import { batches, batchCount, type Dataset } from '../../src/data/dataset.ts';
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
let epochBatches: Generator<{ images: Float32Array }> | null = null;
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

/** The next real batch, starting a new epoch (new shuffle) when one runs out. */
function nextBatch(): Float32Array {
  const t = trainer!;
  for (let attempt = 0; attempt < 2; attempt++) {
    epochBatches ??= batches(data!, t.opts.batchSize, { seed: t.opts.seed, epoch: t.epoch, dropLast: true });
    const b = epochBatches.next();
    if (!b.done) return b.value.images;
    t.epoch++;
    epochBatches = null;
  }
  throw new Error(`dataset ${data!.name} has ${data!.n} images, fewer than one batch of ${t.opts.batchSize}`);
}

// ---------------------------------------------------------------------------------------------------------
// Model

function replaceTrainer(next: GanTrainer): void {
  trainer?.dispose();
  trainer = next;
  showSampleSource(next);
  history = [];
  epochBatches = null;
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
  describeData();
  await refreshView(true);
}

function describeData(): void {
  if (!data || !trainer) return;
  const perEpoch = batchCount(data.n, trainer.opts.batchSize, true);
  $('data-info').textContent =
    `${trainer.spec.kind} on ${data.name}: ${data.n} images ${data.c}×${data.h}×${data.w}, ${perEpoch} steps per epoch`;
}

// ---------------------------------------------------------------------------------------------------------
// Training and the view

type StepKind = 'both' | 'd' | 'g';

/** Records one step of the given kind (nothing is read back). */
function recordStep(kind: StepKind): GanStepResult {
  const t = trainer!;
  if (kind === 'g') return t.trainGeneratorStep(t.opts.batchSize);
  const real = nextBatch();
  return kind === 'd' ? t.trainDiscriminatorStep(real) : t.trainBatch(real);
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
    const bytes = await trainer!.saveCheckpoint({ dataset: data?.name ?? null, savedBy: 'web' });
    download(bytes, `${trainer!.spec.kind}-step${trainer!.step}.safetensors`);
  });
  if (wasRunning) togglePlay();
}

async function loadCheckpoint(file: File): Promise<void> {
  await stopPlay();
  await guarded(async () => {
    const bytes = await fileBytes(file);
    // Both name the file in their errors (the metadata is checked before any model is built).
    const { spec, options } = checkpointSpec(bytes, file.name);
    const next = new GanTrainer(spec, options);
    try {
      next.loadCheckpoint(bytes, file.name);
    } catch (e) {
      next.dispose();
      throw e;
    }
    replaceTrainer(next);
    $<HTMLSelectElement>('model').value = spec.kind;
    showOptions(next.opts);
    // Keep training possible: fit the loaded data (bundled digits if none yet) to the checkpoint's model.
    source ??= await loadDigits();
    data = fitData(source, spec);
    describeData();
    await refreshView(true);
    banner(`Loaded ${file.name}: ${spec.kind}, step ${next.step}, epoch ${next.epoch}.`, 'info');
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
