/**
 * The style-transfer page: runStyleTransfer (src/style/transfer.ts, the CLI's implementation) with the images
 * and settings chosen here. The library reads the image back only every `snapshotEvery` iterations; the page
 * shows that snapshot as the live preview. Stop works by throwing out of the per-iteration callback.
 */
import { runStyleTransfer, type IterationInfo, type OptimizerKind, type InitKind } from '../../src/style/transfer.ts';
import { randomFeatureNet, type FeatureNet } from '../../src/style/nets.ts';
import { featureNetFromTorchvision } from '../../src/style/weights.ts';
import { geometricScene, brushTexture, stripeTexture } from '../../src/style/images.ts';
import { decodeSafetensors } from '../../src/io/safetensors.ts';
import type { RgbaImage } from '../../src/io/image.ts';
import {
  $,
  navBar,
  startGpu,
  banner,
  drawImage,
  decodeImage,
  download,
  encodePng,
  fileBytes,
  numberField,
  errorText,
  canvasImage,
} from './common.ts';

class Stopped extends Error {}

let net: FeatureNet | null = null;
let running = false;
let stopRequested = false;
let result: RgbaImage | null = null;

const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(4) : '–');

async function pickImage(which: 'content' | 'style'): Promise<RgbaImage> {
  const choice = $<HTMLSelectElement>(`${which}-pick`).value;
  if (choice === 'file') {
    const file = $<HTMLInputElement>(`${which}-file`).files?.[0];
    if (!file) throw new Error(`${which} image: choose a file, or pick a built-in image`);
    return decodeImage(file, file.name);
  }
  if (choice === 'scene') return geometricScene(256);
  if (choice === 'stripes') return stripeTexture(256);
  return brushTexture(256);
}

/** Shows the chosen content and style images next to the result. */
async function showInputs(): Promise<void> {
  for (const which of ['content', 'style'] as const) {
    $(`${which}-file-row`).hidden = $<HTMLSelectElement>(`${which}-pick`).value !== 'file';
    try {
      drawImage($<HTMLCanvasElement>(`${which}-canvas`), await pickImage(which));
    } catch {
      // No file chosen yet: keep the old picture until one is.
    }
  }
}

function showInfo(info: IterationInfo): void {
  $('iteration').textContent = `${info.iteration} / ${info.totalIterations}`;
  $('loss-total').textContent = fmt(info.losses.total);
  $('loss-content').textContent = fmt(info.losses.content);
  $('loss-style').textContent = fmt(info.losses.style);
  $('loss-tv').textContent = fmt(info.losses.tv);
  $('speed').textContent = (info.iteration / info.seconds).toFixed(1);
}

function setButtons(): void {
  $<HTMLButtonElement>('start').disabled = running;
  $<HTMLButtonElement>('stop').disabled = !running;
  $<HTMLButtonElement>('download').disabled = running || result === null;
}

async function start(): Promise<void> {
  if (running) return;
  $('banner').hidden = true;
  running = true;
  stopRequested = false;
  setButtons();
  const preview = $<HTMLCanvasElement>('preview');
  let snapshots = 0;
  let changes = 0;
  let previous: Uint8ClampedArray | null = null;
  try {
    const content = await pickImage('content');
    const style = await pickImage('style');
    net ??= randomFeatureNet();
    const out = await runStyleTransfer(
      {
        content,
        styles: [{ image: style }],
        net,
        size: numberField('size', { int: true, min: 16, max: 1024 }),
        steps: numberField('steps', { int: true, min: 1 }),
        optimizer: $<HTMLSelectElement>('optimizer').value as OptimizerKind,
        contentWeight: numberField('content-weight', { min: 0 }),
        styleWeight: numberField('style-weight', { min: 0 }),
        tvWeight: numberField('tv-weight', { min: 0 }),
        init: $<HTMLSelectElement>('init').value as InitKind,
        snapshotEvery: numberField('preview-every', { int: true, min: 1 }),
      },
      {
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
      },
    );
    result = out.image;
    drawImage(preview, out.image);
    preview.dataset.done = 'true';
    $('preview-title').textContent =
      `Result: ${out.history.length} iterations in ${out.seconds.toFixed(1)} s with the ${out.featureNet}`;
  } catch (e) {
    if (e instanceof Stopped) {
      $('preview-title').textContent += ' — stopped';
      if (preview.width > 0) result = canvasImage(preview);
    } else {
      banner(errorText(e), 'error');
      console.error(e);
    }
  } finally {
    running = false;
    setButtons();
  }
}

async function loadWeights(file: File): Promise<void> {
  try {
    if (!file.name.endsWith('.safetensors')) {
      throw new Error(
        `${file.name}: this page reads VGG weights as .safetensors with torchvision names; use the CLI for Keras .h5 files`,
      );
    }
    const next = featureNetFromTorchvision(decodeSafetensors(await fileBytes(file)), { fileName: file.name });
    net?.dispose();
    net = next;
    $('net-info').textContent = `Using ${next.source.description}.`;
  } catch (e) {
    banner(`${errorText(e)} — still using the ${net ? net.source.description : 'random-filter network'}.`, 'error');
  }
}

async function main(): Promise<void> {
  navBar('style.html');
  const eng = await startGpu();
  if (!eng) return;
  for (const id of ['content-pick', 'style-pick', 'content-file', 'style-file'])
    $(id).addEventListener('change', showInputs);
  $('start').addEventListener('click', start);
  $('stop').addEventListener('click', () => {
    stopRequested = true;
  });
  $('download').addEventListener('click', async () => {
    if (result) download(await encodePng(result), 'style-transfer.png');
  });
  $<HTMLInputElement>('weights').addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) loadWeights(f);
  });
  await showInputs();
  setButtons();
  document.body.dataset.ready = 'true';
}

main().catch((e) => banner(errorText(e), 'error'));
