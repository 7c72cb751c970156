/**
 * Node side of the style-transfer weights: reading Keras `.h5` files with h5wasm, reading safetensors files,
 * and the `style weights` command's list of sources and checked downloads.
 *
 * Keras notop files (written by Keras' legacy HDF5 weight saving) look like this:
 *   /                         attrs: layer_names = [b'input_1', b'block1_conv1', …], backend, keras_version
 *   /block1_conv1             attrs: weight_names = [b'block1_conv1/kernel:0', b'block1_conv1/bias:0']
 *   /block1_conv1/block1_conv1/kernel:0   float32 [3, 3, 3, 64]   (HWIO)
 *   /block1_conv1/block1_conv1/bias:0     float32 [64]
 * The original 2016 release names its datasets `block1_conv1_W_1:0` / `block1_conv1_b_1:0` directly under the
 * layer group, and a full `model.save()` file nests everything under /model_weights. So the reader follows
 * `weight_names` when present and otherwise takes the one 4-D (kernel) and one 1-D (bias) dataset below the
 * layer's group, which covers all three.
 */
import { createHash } from 'node:crypto';
import fs, {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { decodeSafetensors } from '../io/safetensors.ts';
import { convLayers, type Architecture, type FeatureNet, type PoolKind } from '../style/nets.ts';
import {
  featureNetFromKeras,
  featureNetFromTorchvision,
  type KerasLayerArrays,
  type StoredArray,
} from '../style/weights.ts';
import { ensureDir } from './files.ts';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

type H5Module = typeof import('h5wasm');
let h5: H5Module | null = null;

/** h5wasm's Node build (reads the host file system directly); loaded once, on first use. */
export async function loadH5wasm(): Promise<H5Module> {
  if (!h5) {
    const mod = (await import('h5wasm/node')) as unknown as { default: H5Module };
    h5 = mod.default;
    await h5.ready;
  }
  return h5;
}

/** Reads little-endian unsigned `size` bytes at `at` as a number (exact up to 2^53; larger ones become +Infinity). */
function readAddress(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  let allOnes = true;
  for (let i = size - 1; i >= 0; i--) {
    value = value * 256 + bytes[at + i]!;
    if (bytes[at + i] !== 0xff) allOnes = false;
  }
  return allOnes || !Number.isSafeInteger(value) ? Infinity : value;
}

/**
 * Checks what can be checked of an HDF5 file before HDF5 sees it: the signature at byte 0 and the superblock
 * (version, address sizes, and the end-of-file address against the real size, which catches truncation).
 * Throws "FILE: not an HDF5 file (…)". HDF5 itself reports these cases as a failed open with pages of
 * diagnostics, and some damaged superblocks make it call abort().
 */
export function checkHdf5Superblock(path: string, where = `Keras weights ${path}`): void {
  const fail = (why: string): never => {
    throw new Error(`${where}: not an HDF5 file (${why})`);
  };
  let size: number;
  const head = new Uint8Array(96);
  let got = 0;
  try {
    size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      got = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${where}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  const bytes = head.subarray(0, got);
  if (!startsWith(bytes, HDF5_SIGNATURE)) {
    const first = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    fail(`no HDF5 signature at byte 0; first bytes: ${first || 'none, the file is empty'}`);
  }
  if (got < 12) fail(`truncated: ${size} bytes, too short for an HDF5 superblock`);
  const version = bytes[8]!;
  let offsetSize: number;
  let eofAt: number;
  let baseAt: number;
  if (version === 0 || version === 1) {
    offsetSize = bytes[13]!;
    baseAt = version === 0 ? 24 : 28;
    eofAt = baseAt + 2 * offsetSize;
  } else if (version === 2 || version === 3) {
    offsetSize = bytes[9]!;
    baseAt = 12;
    eofAt = baseAt + 2 * offsetSize;
  } else {
    return fail(`unknown superblock version ${version}`);
  }
  if (offsetSize !== 2 && offsetSize !== 4 && offsetSize !== 8) {
    fail(`superblock declares ${offsetSize}-byte addresses (HDF5 uses 2, 4 or 8)`);
  }
  if (got < eofAt + offsetSize) fail(`truncated: ${size} bytes, too short for its version-${version} superblock`);
  const base = readAddress(bytes, baseAt, offsetSize);
  const eof = readAddress(bytes, eofAt, offsetSize);
  if (base !== 0) fail(`superblock declares base address ${base === Infinity ? 'undefined' : base}, expected 0`);
  if (eof > size) {
    fail(
      `truncated: its superblock says the file ends at byte ${eof === Infinity ? 'undefined' : eof}, but it has ${size} bytes`,
    );
  }
}

/** The innermost reason in HDF5's collected diagnostics (its last detail and "minor:" lines), for one-line messages. */
function hdf5Reason(diagnostics: string): string {
  const minors = [...diagnostics.matchAll(/minor: ([^\n]+)/g)].map((m) => m[1]!.trim());
  const details = [...diagnostics.matchAll(/#\d+: [^\n]* in [^\n]*\): ([^\n]+)/g)].map((m) => m[1]!.trim());
  const parts = [details.at(-1), minors.at(-1)].filter((p): p is string => !!p);
  return parts.length ? `HDF5: ${parts.join('; ')}` : '';
}

/** How long readKerasH5 lets HDF5 read one file before it stops the reader: `WGPU_GAN_H5_TIMEOUT_MS`, else 120 s
 *  (the 80 MB VGG19 file takes a few seconds). */
export const H5_TIMEOUT_ENV = 'WGPU_GAN_H5_TIMEOUT_MS';

function defaultH5TimeoutMs(): number {
  const raw = process.env[H5_TIMEOUT_ENV];
  const value = raw ? Number(raw) : 120_000;
  if (!(value > 0)) throw new Error(`${H5_TIMEOUT_ENV}=${raw}: must be a positive number of milliseconds`);
  return value;
}

interface WorkerReply {
  id?: number;
  ready?: boolean;
  layers?: [string, { kernel: StoredArray; bias: StoredArray }][];
  error?: { kind: 'layout' | 'notopen' | 'abort' | 'other'; message: string; diagnostics: string };
}

interface PendingRead {
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
}

/** The one HDF5 reader thread (see h5-reader-worker.mjs); started on first use, replaced after it is stopped. */
let reader: { worker: Worker; pending: Map<number, PendingRead> } | null = null;
let nextRequest = 1;

function h5Reader(): { worker: Worker; pending: Map<number, PendingRead> } {
  if (reader) return reader;
  // The worker keeps HDF5's output to itself (it replaces fs.writeSync for fd 2, process.stderr and console.error).
  const worker = new Worker(new URL('./h5-reader-worker.mjs', import.meta.url));
  worker.unref();
  const state = { worker, pending: new Map<number, PendingRead>() };
  const failAll = (why: string) => {
    if (reader === state) reader = null;
    for (const p of state.pending.values()) p.reject(new Error(why));
    state.pending.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    if (reply.id === undefined) return;
    const p = state.pending.get(reply.id);
    if (!p) return;
    state.pending.delete(reply.id);
    if (state.pending.size === 0) worker.unref();
    p.resolve(reply);
  });
  worker.on('error', (err: Error) => failAll(`the HDF5 reader thread failed: ${err.message}`));
  worker.on('exit', (code) => failAll(`the HDF5 reader thread exited (code ${code})`));
  reader = state;
  return state;
}

/** Reads the conv layers' kernels and biases of a Keras VGG weights file (see the file comment for layouts).
 *  A damaged file is an Error naming it: "…: not an HDF5 file (…)" or "…: corrupt HDF5 file (…)". The superblock
 *  is checked here first; HDF5 then reads the file in a worker thread (h5-reader-worker.mjs), which keeps its
 *  diagnostics off the terminal, turns an abort inside the WASM module into an Error, and is stopped after
 *  `timeoutMs` (default WGPU_GAN_H5_TIMEOUT_MS or 120 s) if HDF5 loops on a damaged file. */
export async function readKerasH5(path: string, opts: { timeoutMs?: number } = {}): Promise<KerasLayerArrays> {
  const where = `Keras weights ${path}`;
  checkHdf5Superblock(path, where);
  const timeoutMs = opts.timeoutMs ?? defaultH5TimeoutMs();
  const names = [...new Set([...convLayers('vgg16'), ...convLayers('vgg19')].map((l) => l.name))];
  const state = h5Reader();
  const id = nextRequest++;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reply = await new Promise<WorkerReply>((resolve, reject) => {
    state.pending.set(id, { resolve, reject });
    state.worker.ref();
    timer = setTimeout(() => {
      state.pending.delete(id);
      if (reader === state) reader = null;
      void state.worker.terminate();
      reject(
        new Error(
          `${where}: corrupt HDF5 file? HDF5 was still reading it after ${timeoutMs / 1000} s and was stopped ` +
            `(a damaged file can make it loop; set ${H5_TIMEOUT_ENV} to wait longer)`,
        ),
      );
    }, timeoutMs);
    state.worker.postMessage({ id, path, names, where });
  })
    .catch((err: Error) => {
      throw err.message.startsWith(where) ? err : new Error(`${where}: ${err.message}`, { cause: err });
    })
    .finally(() => clearTimeout(timer));
  if (reply.error) {
    const { kind, message, diagnostics } = reply.error;
    const reason = hdf5Reason(diagnostics);
    if (kind === 'layout') throw new Error(reason ? `${message} (corrupt HDF5 file? ${reason})` : message);
    if (kind === 'notopen') throw new Error(`${where}: not an HDF5 file (${reason || message})`);
    const prefix = kind === 'abort' ? 'the HDF5 library aborted: ' : '';
    throw new Error(`${where}: corrupt HDF5 file (${prefix}${reason || message})`);
  }
  return new Map(reply.layers ?? []);
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * Loads a FeatureNet from a weights file: HDF5 (recognised by its signature) is read as a Keras file,
 * anything else must be safetensors with torchvision names.
 */
export async function loadFeatureNetFile(
  path: string,
  opts: { arch?: Architecture; pool?: PoolKind } = {},
): Promise<FeatureNet> {
  if (opts.arch === 'random') throw new Error(`--net random takes no weights file (got ${path})`);
  let head: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new Error('it is not a regular file');
    head = readFileSync(path).subarray(0, 16);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`weights file ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, {
      cause: err,
    });
  }
  const fileName = basename(path);
  if (startsWith(head, HDF5_SIGNATURE)) {
    return featureNetFromKeras(await readKerasH5(path), { ...opts, fileName });
  }
  let decoded;
  try {
    // A plain Uint8Array view: Node's Buffer.slice() shares memory, and the decoder relies on slice() copying.
    const buf = readFileSync(path);
    decoded = decodeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
  } catch (err) {
    // The decoder's message starts "safetensors <path>: "; the file is named once, here.
    const why = (err as Error).message.replace(`safetensors ${path}: `, '');
    throw new Error(`weights file ${path} is neither HDF5 (Keras .h5) nor valid safetensors: ${why}`, { cause: err });
  }
  return featureNetFromTorchvision(decoded, { ...opts, fileName });
}

// ------------------------------------------------------------------ where to get weights, and downloads

export interface WeightSource {
  /** Short id used on the command line. */
  id: string;
  arch: 'vgg16' | 'vgg19';
  fileName: string;
  url: string;
  /** Exact size in bytes, when known. */
  size?: number;
  /** Hex digest the file must have. */
  md5?: string;
  sha256?: string;
  note: string;
}

/**
 * The files the lesson uses. URLs, sizes and MD5 digests are the ones keras.applications downloads and checks
 * (its `file_hash` values); the sizes are those of the published files.
 */
export const WEIGHT_SOURCES: readonly WeightSource[] = [
  {
    id: 'keras-vgg16',
    arch: 'vgg16',
    fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    size: 58889256,
    md5: '6d6bbae143d832006294945121d1f1fc',
    note: "Keras ImageNet VGG16, convolutional part (the lesson notebook's network)",
  },
  {
    id: 'keras-vgg19',
    arch: 'vgg19',
    fileName: 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
    size: 80134624,
    md5: '253f8cb515780f3b799900260a226db6',
    note: "Keras ImageNet VGG19, convolutional part (Gatys et al. / neural-style's network)",
  },
];

/** Text for `style weights`: where the files come from and how to make a torchvision safetensors file. */
export function weightSourcesHelp(): string {
  const lines = [
    'Pretrained feature networks for `style --weights FILE` (without --weights a random-filter network is used):',
    '',
  ];
  for (const s of WEIGHT_SOURCES) {
    lines.push(`  ${s.id.padEnd(12)} ${s.note}`);
    lines.push(`  ${''.padEnd(12)} ${s.url}`);
    lines.push(`  ${''.padEnd(12)} ${s.size ? `${s.size} bytes, ` : ''}${s.md5 ? `md5 ${s.md5}` : ''}`);
  }
  lines.push(
    '',
    'Download one (size and checksum are verified; the file appears only when both match):',
    '  style weights --download keras-vgg16 [--dir weights/]',
    '',
    'torchvision weights as safetensors (names features.<i>.weight / .bias), made where PyTorch is installed:',
    "  python -c \"import torchvision, safetensors.torch as st; m = torchvision.models.vgg19(weights='IMAGENET1K_V1');",
    "    st.save_file({k: v for k, v in m.state_dict().items() if k.startswith('features.')}, 'vgg19-features.safetensors')\"",
  );
  return lines.join('\n');
}

export interface DownloadOptions {
  /** Called with (bytes so far, total or NaN) as data arrives. */
  onProgress?: (received: number, total: number) => void;
  /** Injected fetch (tests); default the global one. */
  fetch?: typeof fetch;
}

/**
 * Downloads `source.url` into `dir/source.fileName`. Bytes stream into a temporary file in the same directory
 * while their MD5/SHA-256 is computed; the file is renamed into place only when size and digest match, so a
 * failed or tampered download never leaves a file that looks complete. Returns the final path.
 */
export async function downloadWeights(source: WeightSource, dir: string, opts: DownloadOptions = {}): Promise<string> {
  ensureDir(dir);
  const dest = join(dir, source.fileName);
  const temp = join(dirname(dest), `.${source.fileName}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(source.url);
  } catch (err) {
    throw new Error(`download ${source.url}: ${(err as Error).message} (is there internet access here?)`, {
      cause: err,
    });
  }
  if (!res.ok || !res.body) throw new Error(`download ${source.url}: HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length') ?? NaN);
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let received = 0;
  const fd = openSync(temp, 'wx', 0o644);
  let open = true;
  try {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      md5.update(value);
      sha256.update(value);
      let off = 0;
      while (off < value.length) off += writeSync(fd, value, off, value.length - off);
      received += value.length;
      if (source.size !== undefined && received > source.size)
        throw new Error(`more than the expected ${source.size} bytes arrived`);
      opts.onProgress?.(received, total);
    }
    fsyncSync(fd);
    closeSync(fd);
    open = false;
    if (source.size !== undefined && received !== source.size)
      throw new Error(`got ${received} bytes, expected ${source.size}`);
    const gotMd5 = md5.digest('hex');
    const gotSha = sha256.digest('hex');
    if (source.md5 && gotMd5 !== source.md5.toLowerCase()) throw new Error(`MD5 is ${gotMd5}, expected ${source.md5}`);
    if (source.sha256 && gotSha !== source.sha256.toLowerCase())
      throw new Error(`SHA-256 is ${gotSha}, expected ${source.sha256}`);
    renameSync(temp, dest);
    return dest;
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(temp, { force: true });
    throw new Error(`download ${source.url}: ${(err as Error).message}; nothing was written to ${dest}`, {
      cause: err,
    });
  }
}

/** Finds a source by id or file name. */
export function findWeightSource(id: string): WeightSource {
  const s = WEIGHT_SOURCES.find((w) => w.id === id || w.fileName === id || w.arch === id);
  if (!s) throw new Error(`Unknown weights "${id}"; available: ${WEIGHT_SOURCES.map((w) => w.id).join(', ')}`);
  return s;
}
