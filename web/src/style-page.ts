/**
 * The style-transfer page: runStyleTransfer (src/style/transfer.ts, the CLI's implementation) with the images
 * and settings chosen here. The library reads the image back only every `snapshotEvery` iterations; the page
 * shows that snapshot as the live preview. Stop works by throwing out of the per-iteration callback, so it takes
 * effect when the iteration in flight ends.
 *
 * The status line (#status, with data-state) says what runs: preparing (the feature network's kernels compile
 * before the first iteration), running with the measured speed and the time left, stopping, done. A run starts from
 * a clean slate: the previous run's numbers, preview and result go when Start is pressed.
 */
import {
  checkOptions,
  runStyleTransfer,
  type IterationInfo,
  type OptimizerKind,
  type InitKind,
} from '../../src/style/transfer.ts';
import { randomFeatureNet, type FeatureNet } from '../../src/style/nets.ts';
import { featureNetFromTorchvision } from '../../src/style/weights.ts';
import { geometricScene, brushTexture, stripeTexture } from '../../src/style/images.ts';
import { decodeSafetensors } from '../../src/io/safetensors.ts';
import { bilinearResize, type RgbaImage } from '../../src/io/image.ts';
import { ImageWorker } from './image-jobs.ts';
import { engine } from '../../src/tensor/index.ts';
import { STYLE_NUMBER_OPTIONS } from '../../src/style/style-options.ts';
import {
  $,
  navBar,
  startGpu,
  banner,
  drawImage,
  download,
  encodePng,
  fileBytes,
  numberField,
  rangeField,
  describeRangeField,
  errorText,
  canvasImage,
  describeBytes,
  setDisabled,
  formatDuration,
  formatRate,
  kernelsNote,
  StatusLine,
  lighterOnCPU,
  nextFrame,
} from './common.ts';

class Stopped extends Error {}

let net: FeatureNet | null = null;
let running = false;
let stopRequested = false;
/** A picked VGG weights file is being read: a run now would start with the network it is about to replace. */
let loadingWeights = false;
let result: RgbaImage | null = null;
/** Whether `result` was downloaded since it was made (closing the tab asks first when it was not). */
let resultDownloaded = true;
let status: StatusLine;

const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(4) : '–');

/**
 * Picked photos are decoded in a Worker, which keeps each one at full size to shrink it at Start (a 10000×10000
 * JPEG held the page's thread about 10 s to decode and 8 s to shrink); the page gets a copy to show.
 */
const images = new ImageWorker();
/** Each picked file decoded once (showing it and starting a run read the same decode); a failed one is not kept. */
const decoded = new WeakMap<File, Promise<RgbaImage>>();
/** The worker's key for each decoded image it keeps (what runStyleTransfer's resize asks it for). */
const keys = new WeakMap<RgbaImage, number>();
/** The file decoded last for each picker and its key: a new pick lets the worker drop the one it replaces. */
const lastPicked = new Map<'content' | 'style', { file: File; key: number | null }>();
function decodeOnce(file: File, which: 'content' | 'style'): Promise<RgbaImage> {
  let image = decoded.get(file);
  if (!image) {
    if (lastPicked.get(which)?.file !== file) letGo(which);
    const entry: { file: File; key: number | null } = { file, key: null };
    lastPicked.set(which, entry);
    image = images.decode(file, file.name, { keep: true }).then(({ image, key }) => {
      // a file picked over this one while it decoded: the worker need not keep this one (shrunk here if used)
      if (key !== null && lastPicked.get(which) !== entry) images.forget(key);
      else if (key !== null) keys.set(image, (entry.key = key));
      return image;
    });
    decoded.set(file, image);
    image.catch(() => decoded.delete(file));
  }
  return image;
}

/**
 * Lets the worker drop the photo last decoded for a picker (another file was picked, or a built-in image): a run
 * still using it shrinks it on the page instead.
 */
function letGo(which: 'content' | 'style'): void {
  const before = lastPicked.get(which);
  if (!before) return;
  lastPicked.delete(which);
  decoded.delete(before.file);
  if (before.key !== null) images.forget(before.key);
}

/** runStyleTransfer's resize: by the worker for a photo it keeps, else here (the built-in images are 256 px). */
async function resize(image: RgbaImage, width: number, height: number): Promise<RgbaImage> {
  const key = keys.get(image);
  return (key !== undefined ? await images.resize(key, width, height) : null) ?? bilinearResize(image, width, height);
}

/** The picked image, and how messages name it (the file, or the built-in image). */
async function pickImage(which: 'content' | 'style'): Promise<{ image: RgbaImage; name: string }> {
  const choice = $<HTMLSelectElement>(`${which}-pick`).value;
  if (choice === 'file') {
    const file = $<HTMLInputElement>(`${which}-file`).files?.[0];
    if (!file) throw new Error(`${which} image: choose a file, or pick a built-in image`);
    return { image: await decodeOnce(file, which), name: `${which} image ${file.name}` };
  }
  const make = choice === 'scene' ? geometricScene : choice === 'stripes' ? stripeTexture : brushTexture;
  return { image: make(256), name: `the built-in ${choice} image` };
}

/** The status line as it was before a picked image began decoding (put back when it is decoded). */
let beforeDecoding: { state: string; text: string } | null = null;

/** Calls of showInputs so far (the newest one's images are the ones shown). */
let showCalls = 0;

/**
 * Shows the chosen content and style images next to the result. A picked file that is not an image says so at
 * once, naming the file (its canvas is cleared); no file chosen yet keeps the old picture.
 */
async function showInputs(): Promise<void> {
  const call = ++showCalls;
  $('banner').hidden = true;
  for (const which of ['content', 'style'] as const) {
    const fromFile = $<HTMLSelectElement>(`${which}-pick`).value === 'file';
    $(`${which}-file-row`).hidden = !fromFile;
    if (!fromFile) letGo(which);
    const canvas = $<HTMLCanvasElement>(`${which}-canvas`);
    if (fromFile && !$<HTMLInputElement>(`${which}-file`).files?.length) continue;
    let picked: { image: RgbaImage } | { error: unknown };
    // A picked file not decoded yet: a large photo takes seconds (a 10000×10000 JPEG about 10 s, in the worker where
    // there is one, else on this thread), so the status line says what is being decoded, painted before the decoding
    // starts, and is put back after.
    // (the line as it was before any decoding is kept once; it goes back only if the line still says this call is
    // decoding: a run or a weights load that ended meanwhile has said something newer)
    const file = fromFile ? $<HTMLInputElement>(`${which}-file`).files![0]! : null;
    let decoding: string | null = null;
    if (file && !decoded.has(file)) {
      if (status.state !== 'decoding') beforeDecoding = { state: status.state, text: $('status').textContent ?? '' };
      const mb = (file.size / 2 ** 20).toFixed(1);
      decoding = `decoding the ${which} image ${file.name} (${mb} MB)…`;
      status.start('decoding', (sec) => `${decoding} ${formatDuration(sec)}`);
      await nextFrame();
    }
    try {
      picked = { image: (await pickImage(which)).image };
    } catch (error) {
      picked = { error };
    } finally {
      const still = decoding !== null && status.state === 'decoding' && $('status').textContent!.startsWith(decoding);
      if (still && beforeDecoding) status.set(beforeDecoding.state, beforeDecoding.text);
      if (still) beforeDecoding = null;
    }
    // a later pick (a newer call) shows its own images: a slow decode of an earlier one must not land over them
    if (call !== showCalls) return;
    if ('error' in picked) {
      canvas.getContext('2d')!.clearRect(0, 0, canvas.width, canvas.height);
      banner(`${which} image: ${errorText(picked.error)}`, 'error');
    } else drawImage(canvas, picked.image);
  }
}

/** Seconds and iteration of the first iteration of this run (the time before it is preparation, not speed). */
let firstIteration: { seconds: number; iteration: number } | null = null;

function showInfo(info: IterationInfo): void {
  $('iteration').textContent = `${info.iteration} / ${info.totalIterations}`;
  $('loss-total').textContent = fmt(info.losses.total);
  $('loss-content').textContent = fmt(info.losses.content);
  $('loss-style').textContent = fmt(info.losses.style);
  $('loss-tv').textContent = fmt(info.losses.tv);
  firstIteration ??= { seconds: info.seconds, iteration: info.iteration };
  const done = info.iteration - firstIteration.iteration;
  const rate = done > 0 ? done / (info.seconds - firstIteration.seconds) : NaN;
  $('speed').textContent = formatRate(rate);
  if (Number.isFinite(rate)) rememberSpeed(rate);
  if (stopRequested) return;
  status.set(
    'running',
    `iteration ${info.iteration} of ${info.totalIterations}` +
      (Number.isFinite(rate)
        ? ` · about ${formatDuration((info.totalIterations - info.iteration) / rate)} left`
        : ` · first iteration after ${formatDuration(info.seconds)} of preparation`),
  );
}

function setButtons(): void {
  setDisabled(
    $<HTMLButtonElement>('start'),
    running ? 'a run is going on: Stop it first' : loadingWeights ? 'the VGG weights are being read' : null,
  );
  setDisabled($<HTMLButtonElement>('stop'), !running ? 'nothing is running' : stopRequested ? 'stopping…' : null);
  $('stop').textContent = stopRequested && running ? 'Stopping…' : 'Stop';
  setDisabled(
    $<HTMLButtonElement>('download'),
    running ? 'wait until the run ends' : result === null ? 'no result yet: Start a run' : null,
  );
  setDisabled(
    $<HTMLInputElement>('weights'),
    running ? 'wait until the run ends' : loadingWeights ? 'the VGG weights are being read' : null,
  );
}

/** Forgets the previous run: its numbers, its preview and its result. */
function clearRun(totalIterations: number): void {
  result = null;
  firstIteration = null;
  $('iteration').textContent = `0 / ${totalIterations}`;
  for (const id of ['loss-total', 'loss-content', 'loss-style', 'loss-tv', 'speed']) $(id).textContent = '–';
  const preview = $<HTMLCanvasElement>('preview');
  preview.getContext('2d')!.clearRect(0, 0, preview.width, preview.height);
  for (const k of ['snapshots', 'changes', 'done']) delete preview.dataset[k];
  $('preview-title').textContent = 'Result';
}

async function start(): Promise<void> {
  if (running || loadingWeights) return;
  $('banner').hidden = true;
  let steps: number;
  let settings: Omit<Parameters<typeof runStyleTransfer>[0], 'content' | 'styles' | 'net'>;
  try {
    // The same ranges as the CLI's `style` (src/style/style-options.ts).
    const o = STYLE_NUMBER_OPTIONS;
    steps = rangeField('steps', o.steps);
    settings = {
      size: rangeField('size', o.size),
      steps,
      optimizer: $<HTMLSelectElement>('optimizer').value as OptimizerKind,
      contentWeight: rangeField('content-weight', o.contentWeight),
      styleWeight: rangeField('style-weight', o.styleWeight),
      tvWeight: rangeField('tv-weight', o.tvWeight),
      init: $<HTMLSelectElement>('init').value as InitKind,
      snapshotEvery: numberField('preview-every', { int: true, min: 1 }),
    };
  } catch (e) {
    banner(errorText(e), 'error');
    return;
  }
  running = true;
  stopRequested = false;
  clearRun(steps);
  setButtons();
  status.start('preparing', (sec, k) => `preparing: reading the images… ${formatDuration(sec)}${kernelsNote(k)}`);
  const preview = $<HTMLCanvasElement>('preview');
  let snapshots = 0;
  let changes = 0;
  let previous: Uint8ClampedArray | null = null;
  try {
    const content = (await pickImage('content')).image;
    const style = await pickImage('style');
    net ??= randomFeatureNet();
    const options = { content, styles: [style], net, resize, ...settings };
    // The page's own field names in the remedies (it has no style scale); runStyleTransfer checks again.
    checkOptions(options, { names: { size: 'Size', styleScale: null, scales: null } });
    status.start(
      'preparing',
      (sec, k) =>
        `preparing: the feature network's targets and first iteration… ${formatDuration(sec)}${kernelsNote(k)}` +
        (k > 0 ? ' (each new kernel compiles once)' : ''),
    );
    const out = await runStyleTransfer(options, {
      onIteration: async (info) => {
        showInfo(info);
        // Give the page a moment to paint and to notice a click on Stop.
        await new Promise((r) => setTimeout(r, 0));
        if (stopRequested) throw new Stopped();
      },
      onSnapshot: (image, info) => {
        drawImage(preview, image);
        result = image;
        // How many previews differed from the one before (the e2e test checks the preview really moves).
        if (previous && (previous.length !== image.rgba.length || previous.some((v, i) => v !== image.rgba[i])))
          changes++;
        previous = image.rgba;
        preview.dataset.snapshots = String(++snapshots);
        preview.dataset.changes = String(changes);
        $('preview-title').textContent = `Result after ${info.iteration} iterations (${image.width}×${image.height})`;
      },
    });
    result = out.image;
    drawImage(preview, out.image);
    preview.dataset.done = 'true';
    $('preview-title').textContent =
      `Result: ${out.history.length} iterations in ${out.seconds.toFixed(1)} s with the ${out.featureNet}`;
    status.set('done', `Done: ${out.history.length} iterations in ${formatDuration(out.seconds)}.`);
  } catch (e) {
    if (e instanceof Stopped) {
      // Only a preview drawn in this run is a result of it.
      if (snapshots > 0) {
        $('preview-title').textContent += ' — stopped';
        result = canvasImage(preview);
      }
      status.set(
        'stopped',
        `Stopped at iteration ${$('iteration').textContent}${snapshots > 0 ? '' : ', before the first preview (no result)'}.`,
      );
    } else {
      // The last preview stays downloadable, said to be what it is: the run failed after it.
      if (snapshots > 0) $('preview-title').textContent += ' — the run failed after this preview';
      banner(errorText(e), 'error');
      status.set('error', 'The run stopped: see the message above.');
    }
  } finally {
    running = false;
    stopRequested = false;
    resultDownloaded = result === null;
    setButtons();
  }
}

function requestStop(): void {
  if (!running || stopRequested) return;
  stopRequested = true;
  status.set('stopping', `stopping after iteration ${$('iteration').textContent.split(' ')[0]}…`);
  setButtons();
}

/** VGG weights from a picked file; a file that is not such weights is named and said to be none. */
async function loadWeights(file: File): Promise<void> {
  if (running || loadingWeights) return; // the picker is disabled then; a run keeps the network it started with
  $('banner').hidden = true;
  loadingWeights = true;
  setButtons();
  status.start('loading', (sec) => `reading VGG weights from ${file.name}… ${formatDuration(sec)}`);
  try {
    const bytes = await fileBytes(file);
    const kind = describeBytes(bytes);
    const why = 'the page reads VGG16/19 weights as .safetensors with torchvision names';
    if (kind === 'an HDF5 file (Keras .h5)')
      throw new Error(`${file.name} is Keras .h5 weights, which the CLI reads (\`style --weights FILE\`); ${why}`);
    if (kind !== 'a safetensors file')
      throw new Error(
        `${file.name} is not VGG weights this page can read (${kind ? `it is ${kind}` : 'it is not a safetensors file'}; ${why})`,
      );
    const next = featureNetFromTorchvision(decodeSafetensors(bytes, file.name), { fileName: file.name });
    net?.dispose();
    net = next;
    $('net-info').textContent = `Using ${next.source.description}.`;
    status.set('ready', `Ready: ${next.source.description}; press Start.`);
  } catch (e) {
    banner(`${errorText(e)} — still using the ${net ? net.source.description : 'random-filter network'}.`, 'error');
    status.set('ready', 'Ready: press Start.');
  } finally {
    loadingWeights = false;
    setButtons();
    showEstimate();
  }
}

function speedKey(): string {
  // per network too: VGG's iterations are far slower than the random-filter network's
  return `wgpu-gan-style-speed:${engine().adapter.slug}:${net?.arch ?? 'random'}:${$<HTMLInputElement>('size').value}:${$<HTMLSelectElement>('optimizer').value}`;
}
function rememberSpeed(rate: number): void {
  try {
    localStorage.setItem(speedKey(), String(rate));
  } catch {
    // storage off: no estimate next time
  }
}

/** Before a run: how long the settings will take, from the speed last measured at this size on this adapter. */
function showEstimate(): void {
  if (running) return;
  let rate = NaN;
  try {
    rate = Number(localStorage.getItem(speedKey()));
  } catch {
    // no storage
  }
  const steps = Number($<HTMLInputElement>('steps').value);
  $('estimate').textContent =
    rate > 0 && steps > 0
      ? `At the ${formatRate(rate)} iterations/s measured last time at this size, ${steps} iterations take about ${formatDuration(steps / rate)} (plus the preparation).`
      : engine().adapter.isCPU
        ? 'The estimate appears after a few iterations.'
        : '';
}

/** On a software adapter (the GPU emulated on the CPU) the page starts with a smaller, shorter run, and says so. */
function lightenForSoftwareAdapter(): void {
  lighterOnCPU(
    { size: '64', steps: '30', 'preview-every': '3' },
    'This adapter runs on the CPU (software), so the page starts with 64 px and 30 iterations (128 px and 100 ' +
      'iterations take several minutes here).',
  );
}

async function main(): Promise<void> {
  navBar('style.html');
  for (const o of Object.values(STYLE_NUMBER_OPTIONS)) describeRangeField(o.flag, o);
  status = new StatusLine($('status'));
  const eng = await startGpu();
  if (!eng) return;
  lightenForSoftwareAdapter();
  for (const id of ['content-pick', 'style-pick', 'content-file', 'style-file'])
    $(id).addEventListener('change', showInputs);
  for (const id of ['size', 'steps', 'optimizer']) $(id).addEventListener('input', showEstimate);
  $('start').addEventListener('click', start);
  $('stop').addEventListener('click', requestStop);
  $('download').addEventListener('click', async () => {
    if (!result) return;
    try {
      download(await encodePng(result), 'style-transfer.png');
      resultDownloaded = true;
    } catch (e) {
      banner(`The result could not be encoded as a PNG: ${errorText(e)}`, 'error');
    }
  });
  // closing or reloading the tab during a run, or with a result not downloaded: the browser asks first
  addEventListener('beforeunload', (ev) => {
    if (running || !resultDownloaded) ev.preventDefault();
  });
  $<HTMLInputElement>('weights').addEventListener('change', (ev) => {
    const input = ev.target as HTMLInputElement;
    const f = input.files?.[0];
    if (f)
      loadWeights(f).then(() => {
        input.value = ''; // the same file may be picked again
      });
  });
  await showInputs();
  setButtons();
  showEstimate();
  status.set('ready', 'Ready: press Start.');
  document.body.dataset.ready = 'true';
}

main().catch((e) => banner(errorText(e), 'error'));
