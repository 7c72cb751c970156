/**
 * What every page shares: the navigation bar, starting the engine with a clear message when WebGPU is missing,
 * a banner when the device is lost, canvas drawing of RgbaImages, file reading and downloads.
 */
import { initEngine, engine, type Engine } from '../../src/tensor/index.ts';
import type { RgbaImage } from '../../src/io/image.ts';
import {
  setTuneMode,
  tuneProgress,
  tuneStoreWhere,
  TUNE_MODES,
  type TuneDocument,
  type TuneMode,
  type TuneStore,
} from '../../src/tensor/autotune.ts';
import { CONV_VERSIONS, setConvVersion, type ConvVersion } from '../../src/tensor/conv.ts';
import { MATMUL_VERSIONS, setMatmulVersion, type MatmulVersion } from '../../src/tensor/matmul.ts';
import { describeRange, inRange, type NumberRange } from '../../src/io/number-range.ts';

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
  const kernelProblems = applyKernelParams(new URLSearchParams(location.search));
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
  $('adapter').textContent = describeAdapter() + kernelSettings;
  if (kernelProblems.length > 0) banner(kernelProblems.join(' '), 'error');
  return eng;
}

/** What the page's address set of the kernels (for the adapter line), e.g. " · conv kernels: tiled". */
let kernelSettings = '';

/**
 * The address's kernel settings, as the CLI's environment variables set them (WGPU_GAN_AUTOTUNE, _CONV, _MATMUL):
 * `?autotune=auto|on|off` (time the kernel versions per shape on this GPU: by default on GPUs, not on CPU adapters),
 * `?conv=VERSION` and `?matmul=VERSION` (one version everywhere, for comparing them). Returns a sentence for each
 * value it does not know, naming the parameter and what it takes; the page then runs with the engine's own choice.
 */
function applyKernelParams(params: URLSearchParams): string[] {
  const problems: string[] = [];
  const settings: string[] = [];
  const take = <T extends string>(name: string, allowed: readonly T[], set: (v: T) => void) => {
    const value = params.get(name);
    if (value === null) return;
    if (!(allowed as readonly string[]).includes(value)) {
      problems.push(`?${name}=${value} is not one of ${allowed.join(', ')}: the page runs with the engine's choice.`);
      return;
    }
    set(value as T);
    settings.push(`${name === 'autotune' ? 'tuning' : `${name} kernels`}: ${value}`);
  };
  take<TuneMode>('autotune', TUNE_MODES, setTuneMode);
  take<ConvVersion>('conv', CONV_VERSIONS, setConvVersion);
  take<MatmulVersion>('matmul', MATMUL_VERSIONS, setMatmulVersion);
  kernelSettings = settings.map((x) => ` · ${x}`).join('');
  return problems;
}

/**
 * " · timing kernel versions for this GPU: shape 3 of 24 (…)" while the kernel tuner (src/tensor/autotune.ts) times
 * candidates inside a read-back (seconds on a first run), else ''. Every long task's status line shows it.
 */
export function tuningNote(): string {
  const p = tuneProgress();
  if (!p) return '';
  const kept = tuneStoreWhere() ? ' (first time only: the winners are kept)' : '';
  return ` · timing kernel versions for this GPU: shape ${p.done + 1} of ${p.total}${kept}`;
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
        return true;
      } catch {
        return false; // quota exceeded or storage disabled: the next visit tunes again
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

/**
 * A JavaScript engine error (TypeError, RangeError, …) is a fault in the page or the engine, not a mistake in the
 * user's input: its text ("Cannot read properties of undefined") means nothing to a user.
 */
function isInternalError(e: unknown): e is Error {
  return (
    e instanceof TypeError ||
    e instanceof RangeError ||
    e instanceof ReferenceError ||
    e instanceof SyntaxError ||
    e instanceof EvalError
  );
}

/**
 * The text to show for an exception. The project's own errors (a field out of range, a file that is not what it
 * should be) are messages written for the user and are shown as they are, without logging them; a device loss
 * gets its instruction; an internal JavaScript error is shown as such and logged, with its stack, to the console.
 */
export function errorText(e: unknown): string {
  if (isInternalError(e)) {
    console.error(e);
    return `Something went wrong inside the page (${e.name}); the details are in the browser console. Reload the page to start again.`;
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.includes('GPU device lost')) return `${msg}. Reload the page to start again.`;
  return msg;
}

/** What a file's first bytes say it is ("a PNG image", "a text file", …), or null when they say nothing known. */
export function describeBytes(bytes: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  const ascii = (at: number, text: string) => [...text].every((ch, i) => bytes[at + i] === ch.charCodeAt(0));
  if (bytes.length === 0) return 'an empty file';
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'a PNG image';
  if (starts(0xff, 0xd8, 0xff)) return 'a JPEG image';
  if (ascii(0, 'GIF8')) return 'a GIF image';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'a WebP image';
  if (starts(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)) return 'an HDF5 file (Keras .h5)';
  if (starts(0x1f, 0x8b)) return 'a gzip file';
  if (ascii(0, 'PK\x03\x04')) return 'a ZIP archive (PyTorch .pt/.pth files are one)';
  if (ascii(0, '%PDF')) return 'a PDF document';
  if (bytes.length >= 9 && bytes[8] === 0x7b && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0)
    return 'a safetensors file';
  const head = bytes.subarray(0, 512);
  const printable = head.filter((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128).length;
  if (printable === head.length) return 'a text file';
  return null;
}

/**
 * Marks a control unable to act, with the reason as its tooltip (title), or able again with its own tooltip back.
 * `data-why` holds the reason too, for tests and for pages that show it as text.
 */
export function setDisabled(el: HTMLButtonElement | HTMLInputElement | HTMLSelectElement, reason: string | null): void {
  if (el.dataset.title === undefined) el.dataset.title = el.title;
  el.disabled = reason !== null;
  el.title = reason ?? el.dataset.title;
  if (reason === null) delete el.dataset.why;
  else el.dataset.why = reason;
}

/** "0.8 s", "42 s", "3 min 20 s", "1 h 5 min": rounded first, so 299.6 s is "5 min 0 s", never "4 min 60 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 9.95) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s - 60 * m} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A rate with two significant digits below 10 ("0.21", "3.4") and whole numbers above ("41"). */
export function formatRate(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return '–';
  return x < 10 ? x.toPrecision(2) : x.toFixed(0);
}

/**
 * The page's status line (an element with `data-state`): what the page is doing now. `start` shows a long task
 * with the seconds it has taken and the GPU kernels it has created so far (each new kernel is compiled once, which is
 * most of the first step's time on a software adapter), updated a few times a second while the page waits.
 */
export class StatusLine {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly el: HTMLElement) {}

  get state(): string {
    return this.el.dataset.state ?? '';
  }

  set(state: string, text: string): void {
    this.stopTimer();
    this.el.dataset.state = state;
    this.el.textContent = text;
  }

  /** A long task: `text(seconds, newKernels)` is shown now and re-rendered every 250 ms until the next set/start. */
  start(state: string, text: (seconds: number, newKernels: number) => string): void {
    this.stopTimer();
    const t0 = performance.now();
    const kernels0 = engine().stats().pipelines;
    const render = () => {
      this.el.textContent = text((performance.now() - t0) / 1000, engine().stats().pipelines - kernels0) + tuningNote();
    };
    this.el.dataset.state = state;
    render();
    this.render = render;
    this.timer = setInterval(render, 250);
  }

  /** Shows the long task's text again now (when what it shows has changed, e.g. a count of work done). */
  refresh(): void {
    this.render?.();
  }

  private render: (() => void) | null = null;

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.render = null;
  }
}

/** ", 31 new GPU kernels to compile" while a task creates kernels; '' when it creates none. */
export function kernelsNote(newKernels: number): string {
  return newKernels > 0 ? `, ${newKernels} new GPU kernel${newKernels > 1 ? 's' : ''} to compile` : '';
}

/** Draws an RgbaImage on a canvas at its own size (CSS scales it up pixelated where small). */
export function drawImage(canvas: HTMLCanvasElement, image: RgbaImage): void {
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = canvas.getContext('2d')!;
  // ImageData takes the pixels as they are where they fill a plain buffer of their own (a photo: 100 MB not copied)
  const { rgba } = image;
  const own = rgba.buffer instanceof ArrayBuffer && rgba.byteOffset === 0 && rgba.byteLength === rgba.buffer.byteLength;
  const data = own ? (rgba as Uint8ClampedArray<ArrayBuffer>) : new Uint8ClampedArray(rgba);
  ctx.putImageData(new ImageData(data, image.width, image.height), 0, 0);
}

/** The pixels of a canvas as an RgbaImage. */
export function canvasImage(canvas: HTMLCanvasElement): RgbaImage {
  const ctx = canvas.getContext('2d')!;
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

/**
 * A field's value checked against an option's range shared with the CLI (src/io/number-range.ts); the error names
 * the field by its label, in the CLI's words. Also puts the bounds on the input (min, max, step, tooltip).
 */
export function rangeField(id: string, range: NumberRange): number {
  const el = $<HTMLInputElement>(id);
  const label = el.labels?.[0]?.firstChild?.textContent?.trim() || id;
  const v = el.value.trim() === '' ? NaN : Number(el.value);
  if (!inRange(range, v))
    throw new Error(
      `${label}: expected ${describeRange(range)}${range.limit ? ` (${range.limit})` : ''}, got "${el.value}"`,
    );
  return v;
}

/** Puts a shared option's bounds on its input (min, max, step and a tooltip with the CLI flag). */
export function describeRangeField(id: string, range: NumberRange, flag = id): void {
  const el = $<HTMLInputElement>(id);
  setBounds(el, range);
  el.title = `${describeRange(range)}${range.limit ? ` (${range.limit})` : ''} (CLI: --${flag})`;
}

/**
 * A number field's min/max/step attributes from the shared range (the CLI's): an inclusive bound as the attribute, an
 * exclusive or open one as none (HTML's bounds are inclusive), so what the page's HTML said before cannot linger.
 */
export function setBounds(el: HTMLInputElement, range: NumberRange): void {
  if (range.minExclusive) el.removeAttribute('min');
  else el.min = String(range.min);
  if (range.maxExclusive || range.max >= 1e9) el.removeAttribute('max');
  else el.max = String(range.max);
  if (range.type === 'integer') el.step = '1';
}

/**
 * Lets the browser paint (and handle clicks) between chunks of work: resolves after the next frame is painted (a
 * requestAnimationFrame callback runs before the paint, so the task after it), so a status set just before a long
 * task on this thread is on screen while the task runs.
 */
export function nextFrame(): Promise<void> {
  return new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
}

/**
 * On a software adapter (the GPU is the CPU), lighter starting values for the given fields (id → value) and a note
 * that says why; on a GPU nothing changes.
 */
export function lighterOnCPU(values: Record<string, string>, note: string): void {
  if (!engine().adapter.isCPU) return;
  for (const [id, value] of Object.entries(values)) $<HTMLInputElement>(id).value = value;
  const el = $('adapter-note');
  el.hidden = false;
  el.textContent = note;
}
