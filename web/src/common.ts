/**
 * What every page shares: the navigation bar, starting the engine with a clear message when WebGPU is missing,
 * a banner when the device is lost, canvas drawing of RgbaImages, file reading and downloads.
 */
import { initEngine, engine, type Engine } from '../../src/tensor/index.ts';
import {
  checkDeclaredImageSize,
  declaredImageSize,
  DEFAULT_MAX_IMAGE_PIXELS,
  type RgbaImage,
} from '../../src/io/image.ts';
import type { TuneDocument, TuneStore } from '../../src/tensor/autotune.ts';

const PAGES = [
  ['index.html', 'Home'],
  ['gan.html', 'GAN'],
  ['style.html', 'Style transfer'],
  ['kernels.html', 'Kernel explorer'],
] as const;

/** Element by id, typed; throws naming the id if the page lacks it (a page/script mismatch). */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page has no element #${id}`);
  return el as T;
}

/** Creates an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** Puts the navigation bar at the top of the page, marking the current page. */
export function navBar(current: string): void {
  const nav = h('nav');
  nav.append(h('strong', {}, 'wgpu-gan'));
  for (const [href, label] of PAGES) {
    const a = h('a', { href }, label);
    if (href === current) a.className = 'current';
    nav.append(a);
  }
  document.body.prepend(nav);
}

/** Shows a message in the page's status banner (kind: info, error). */
export function banner(text: string, kind: 'info' | 'error' = 'info'): void {
  const el = $('banner');
  el.textContent = text;
  el.className = `banner ${kind}`;
  el.hidden = false;
}

/** Why WebGPU is unavailable here, in words a user can act on; null when navigator.gpu exists. */
export function webgpuMissingReason(): string | null {
  if ('gpu' in navigator && navigator.gpu) return null;
  return (
    'WebGPU is not available in this browser (navigator.gpu is missing). ' +
    'Use a current Chrome or Edge (113 or later) on a machine with a supported GPU, served over https or localhost. ' +
    'On Linux, start Chrome with --enable-unsafe-webgpu --enable-features=Vulkan, or turn on chrome://flags/#enable-unsafe-webgpu.'
  );
}

/**
 * Starts the engine (one GPUDevice for the page). On failure shows the reason in the banner, sets
 * document.body.dataset.gpu = 'missing' (the e2e test reads it) and returns null.
 * A later device loss also turns into a banner; the engine itself then throws "GPU device lost" on every launch.
 */
export async function startGpu(): Promise<Engine | null> {
  const missing = webgpuMissingReason();
  if (missing) return gpuUnavailable(missing);
  let eng: Engine;
  try {
    eng = await initEngine({ tuneStore: localStorageTuneStore() });
  } catch (e) {
    const msg = (e as Error).message;
    return gpuUnavailable(
      msg.includes('No WebGPU adapter')
        ? 'WebGPU is present but no GPU adapter was found (requestAdapter() returned null): the GPU may be blocklisted ' +
            'or disabled. Check chrome://gpu, update the graphics driver, or enable chrome://flags/#enable-unsafe-webgpu.'
        : `Could not start WebGPU: ${msg}`,
    );
  }
  eng.device.lost.then((info) => {
    if (info.reason === 'destroyed') return;
    document.body.dataset.gpu = 'lost';
    banner(
      `The GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}). ` +
        'Training state on the GPU is gone; save often, and reload the page to start again.',
      'error',
    );
  });
  document.body.dataset.gpu = 'ready';
  $('adapter').textContent = describeAdapter();
  return eng;
}

/** The kernel tuner's table (src/tensor/autotune.ts) in this site's localStorage, or null where there is none. */
function localStorageTuneStore(): TuneStore | null {
  const KEY = 'wgpu-gan-autotune';
  let storage: Storage;
  try {
    storage = window.localStorage;
  } catch {
    return null; // storage disabled (privacy settings, sandboxed frame)
  }
  return {
    where: `localStorage["${KEY}"]`,
    load: () => JSON.parse(storage.getItem(KEY) ?? 'null'),
    save: (doc: TuneDocument) => {
      try {
        storage.setItem(KEY, JSON.stringify(doc));
      } catch {
        // Quota exceeded or storage disabled: the next visit tunes again.
      }
    },
  };
}

function gpuUnavailable(message: string): null {
  document.body.dataset.gpu = 'missing';
  banner(message, 'error');
  for (const el of Array.from(document.querySelectorAll<HTMLElement>('.needs-gpu'))) el.hidden = true;
  return null;
}

/** "nvidia (ampere)" or "swiftshader, software (CPU)": shown in the header so timings can be read in context. */
export function describeAdapter(): string {
  const a = engine().adapter;
  const detail = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ');
  return `Adapter: ${a.slug}${detail ? ` (${detail})` : ''}${a.isCPU ? ', software (runs on the CPU)' : ''}`;
}

/** Error text of an exception, turning a device loss into a plain instruction. */
export function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.includes('GPU device lost')) return `${msg}. Reload the page to start again.`;
  return msg;
}

/** Draws an RgbaImage on a canvas at its own size (CSS scales it up pixelated where small). */
export function drawImage(canvas: HTMLCanvasElement, image: RgbaImage): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(image.rgba), image.width, image.height), 0, 0);
}

/** The pixels of a canvas as an RgbaImage. */
export function canvasImage(canvas: HTMLCanvasElement): RgbaImage {
  const ctx = canvas.getContext('2d')!;
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { width: data.width, height: data.height, rgba: data.data };
}

/**
 * Decodes an image file (PNG, JPEG, WebP, ...) with the browser's decoders. The size its header declares is checked
 * against `maxPixels` (100 megapixels, as the CLI's readImage) before the browser decodes it, so a small file that
 * declares a huge image (a decompression bomb) is refused without allocating its pixels; a format whose header is
 * not read here is checked after decoding.
 */
export async function decodeImage(
  blob: Blob,
  name = 'image',
  maxPixels = DEFAULT_MAX_IMAGE_PIXELS,
): Promise<RgbaImage> {
  // A JPEG's frame header can follow large metadata segments; 1 MiB covers them in practice.
  const declared = declaredImageSize(new Uint8Array(await blob.slice(0, 1 << 20).arrayBuffer()), name);
  if (declared) checkDeclaredImageSize(declared.width, declared.height, name, declared.format, maxPixels);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch (e) {
    throw new Error(`${name}: not an image this browser can decode (${(e as Error).message})`);
  }
  if (bitmap.width * bitmap.height > maxPixels) {
    const [w, h] = [bitmap.width, bitmap.height];
    bitmap.close();
    checkDeclaredImageSize(w, h, name, blob.type || 'image', maxPixels);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { width: data.width, height: data.height, rgba: data.data };
}

/** Encodes an RgbaImage as PNG bytes. */
export async function encodePng(image: RgbaImage): Promise<Blob> {
  const canvas = new OffscreenCanvas(image.width, image.height);
  canvas
    .getContext('2d')!
    .putImageData(new ImageData(new Uint8ClampedArray(image.rgba), image.width, image.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

/** Offers bytes as a file download. */
export function download(data: Blob | Uint8Array, fileName: string): void {
  const blob = data instanceof Blob ? data : new Blob([data.slice()], { type: 'application/octet-stream' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export async function fileBytes(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

/** Number from an <input>, checked; throws naming the field. */
export function numberField(id: string, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const el = $<HTMLInputElement>(id);
  const v = Number(el.value);
  const label = el.labels?.[0]?.textContent?.trim() || id;
  if (el.value.trim() === '' || !Number.isFinite(v)) throw new Error(`${label}: "${el.value}" is not a number`);
  if (opts.int && !Number.isInteger(v)) throw new Error(`${label}: must be a whole number, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new Error(`${label}: must be ≥ ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new Error(`${label}: must be ≤ ${opts.max}, got ${v}`);
  return v;
}

/** Lets the browser paint (and handle clicks) between chunks of GPU work. */
export function nextFrame(): Promise<void> {
  return new Promise((r) => requestAnimationFrame(() => r()));
}
