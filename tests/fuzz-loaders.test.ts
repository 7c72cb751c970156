/**
 * Fuzzing every loader with deterministic mutations of a small valid file: bit flips, truncation, inserted
 * bytes and header fields overwritten with extreme values. FUZZ_CASES cases per kind (default 200; e.g.
 * FUZZ_CASES=5000 for a longer run), FUZZ_SEED to move the sequence. Each case must either load or throw a plain
 * Error that names the file (or the loader, for in-memory calls) — no TypeError/RangeError/RuntimeError — within
 * a time limit, and nothing it returns may be larger than the pixel cap (images) or a small multiple of the
 * input (IDX, safetensors) allows.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx } from '../src/data/idx.ts';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.ts';
import { loadImageFolder } from '../src/node/datasets.ts';
import { decodeImage } from '../src/node/png.ts';
import { readKerasH5 } from '../src/node/style-weights.ts';
import { rng } from './helpers.ts';
import {
  crc32,
  globalHeapOffset,
  jpegSofSizeOffset,
  smallJpeg,
  smallPng,
  writeTinyKerasH5,
} from './loader-fixtures.ts';

const CASES = Number(process.env.FUZZ_CASES ?? 200);
const SEED = Number(process.env.FUZZ_SEED ?? 18);
/** Per-case wall-clock limit (ms). The .h5 reader is stopped by its own timeout, set below this. */
const CASE_LIMIT_MS = 4000;
const H5_TIMEOUT_MS = 1500;
/** Pixel cap for the fuzzed images: a field overwrite that declares more must be refused before decoding. */
const MAX_PIXELS = 1 << 16;

const dir = mkdtempSync(join(tmpdir(), 'fuzz-loaders-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A header field: where it is and how many bytes, and its byte order. */
interface Field {
  at: number;
  size: number;
  bigEndian?: boolean;
}

const EXTREMES = [0, 1, 0xff, 0x7f, 0x80, 'max', 'half', 'min'] as const;

function overwrite(bytes: Uint8Array, field: Field, r: () => number): void {
  const pick = EXTREMES[Math.floor(r() * EXTREMES.length)]!;
  for (let i = 0; i < field.size && field.at + i < bytes.length; i++) {
    const significance = field.bigEndian ? field.size - 1 - i : i; // 0 = least significant byte
    const top = significance === field.size - 1;
    let v: number;
    if (pick === 'max') v = 0xff;
    else if (pick === 'half') v = top ? 0x7f : 0xff;
    else if (pick === 'min') v = top ? 0x80 : 0;
    else v = significance === 0 ? pick : 0;
    bytes[field.at + i] = v;
  }
}

export type Mutation = 'flip' | 'truncate' | 'insert' | 'field' | 'mixed';
const MUTATIONS: Mutation[] = ['flip', 'truncate', 'insert', 'field', 'mixed'];

/** Case `k` of a kind: a mutation of `base` chosen and applied deterministically. */
function mutate(base: Uint8Array, fields: Field[], k: number, salt: number): { bytes: Uint8Array; how: string } {
  const r = rng(SEED * 1_000_003 + salt * 7919 + k);
  const kind = MUTATIONS[k % MUTATIONS.length]!;
  let bytes = Uint8Array.from(base);
  const steps = kind === 'mixed' ? 2 + Math.floor(r() * 3) : 1;
  const how: string[] = [];
  for (let s = 0; s < steps; s++) {
    const op = kind === 'mixed' ? MUTATIONS[Math.floor(r() * 4)]! : kind;
    if (op === 'flip') {
      const n = 1 + Math.floor(r() * 8);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(r() * bytes.length);
        bytes[at] ^= 1 << Math.floor(r() * 8);
      }
      how.push(`flip×${n}`);
    } else if (op === 'truncate') {
      const at = Math.floor(r() * bytes.length);
      bytes = bytes.slice(0, at);
      how.push(`truncate@${at}`);
    } else if (op === 'insert') {
      const at = Math.floor(r() * (bytes.length + 1));
      const n = 1 + Math.floor(r() * 16);
      const extra = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
      const out = new Uint8Array(bytes.length + n);
      out.set(bytes.subarray(0, at));
      out.set(extra, at);
      out.set(bytes.subarray(at), at + n);
      bytes = out;
      how.push(`insert ${n}@${at}`);
    } else {
      const field = fields[Math.floor(r() * fields.length)]!;
      overwrite(bytes, field, r);
      how.push(`field@${field.at}`);
    }
  }
  return { bytes, how: how.join(' ') };
}

interface Tally {
  loaded: number;
  errors: number;
  slowest: number;
  messages: Map<string, number>;
}

/** Runs one case and checks the rules; returns nothing, records into `tally`. */
async function runCase(
  tally: Tally,
  name: string,
  how: string,
  load: () => unknown,
  checkResult: (result: unknown) => void,
): Promise<void> {
  const start = performance.now();
  let result: unknown;
  let error: unknown;
  try {
    result = await load();
  } catch (err) {
    error = err;
  }
  const ms = performance.now() - start;
  tally.slowest = Math.max(tally.slowest, ms);
  const context = `${name} (${how})`;
  expect(ms, `${context} took ${ms.toFixed(0)} ms`).toBeLessThan(CASE_LIMIT_MS);
  if (error === undefined) {
    tally.loaded++;
    checkResult(result);
    return;
  }
  tally.errors++;
  expect(error, `${context} threw a non-Error: ${String(error)}`).toBeInstanceOf(Error);
  const err = error as Error;
  expect(err.constructor, `${context} threw a ${err.constructor.name}: ${err.message}`).toBe(Error);
  expect(err.message, `${context}: the message does not name the file`).toContain(name);
  // Message shapes, with file names and numbers blanked, to report what the fuzzer hit.
  const shape = err.message.split(name).join('FILE').replace(/\d+/g, 'N').slice(0, 110);
  tally.messages.set(shape, (tally.messages.get(shape) ?? 0) + 1);
}

const tallies = new Map<string, Tally>();
function tallyFor(kind: string): Tally {
  const t = { loaded: 0, errors: 0, slowest: 0, messages: new Map<string, number>() };
  tallies.set(kind, t);
  return t;
}

afterAll(() => {
  // The mutations reach each loader's error paths: a mutator that changed nothing would pass every case as "loaded".
  for (const [kind, t] of tallies) expect(t.errors, `${kind}: no mutated file was refused`).toBeGreaterThan(0);
  if (!process.env.FUZZ_REPORT) return;
  for (const [kind, t] of tallies) {
    console.log(
      `${kind}: ${t.loaded + t.errors} cases, ${t.loaded} loaded, ${t.errors} errors, slowest ${t.slowest.toFixed(0)} ms`,
    );
    for (const [m, n] of [...t.messages].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${n}× ${m}`);
  }
});

function checkImage(result: unknown): void {
  const image = result as { width: number; height: number; rgba: Uint8ClampedArray };
  expect(image.width * image.height).toBeLessThanOrEqual(MAX_PIXELS);
  expect(image.rgba.length).toBe(image.width * image.height * 4);
}

const png = smallPng(8, 6);
const PNG_FIELDS: Field[] = [
  { at: 8, size: 4, bigEndian: true }, // IHDR length
  { at: 16, size: 4, bigEndian: true }, // width
  { at: 20, size: 4, bigEndian: true }, // height
  { at: 24, size: 1 }, // bit depth
  { at: 25, size: 1 }, // colour type
  { at: 26, size: 1 }, // compression
  { at: 28, size: 1 }, // interlace
  { at: 33, size: 4, bigEndian: true }, // the next chunk's length
];
/** Recomputes the IHDR chunk's CRC (when it is still 13 bytes long), so that an overwritten width or height
 *  reaches the decoder as a valid header — a decompression bomb — instead of failing the CRC check. */
function fixPngCrc(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 33 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(8) === 13) {
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(29, crc32(bytes.subarray(12, 29)));
  }
  return bytes;
}

const jpg = smallJpeg(16, 8);
const sof = jpegSofSizeOffset(jpg);
const JPEG_FIELDS: Field[] = [
  { at: sof, size: 2, bigEndian: true }, // height
  { at: sof + 2, size: 2, bigEndian: true }, // width
  { at: sof - 3, size: 2, bigEndian: true }, // SOF length
  { at: sof + 4, size: 1 }, // component count
  { at: 4, size: 2, bigEndian: true }, // APP0 length
];

describe(`loader fuzz (${CASES} cases per kind, seed ${SEED})`, () => {
  it('PNG', async () => {
    const t = tallyFor('PNG');
    for (let k = 0; k < CASES; k++) {
      const { bytes: raw, how } = mutate(png, PNG_FIELDS, k, 1);
      const bytes = k % 2 === 0 ? fixPngCrc(raw) : raw;
      await runCase(t, 'fuzz.png', how, () => decodeImage(bytes, 'fuzz.png', { maxPixels: MAX_PIXELS }), checkImage);
    }
  });

  it('JPEG', async () => {
    const t = tallyFor('JPEG');
    for (let k = 0; k < CASES; k++) {
      const { bytes, how } = mutate(jpg, JPEG_FIELDS, k, 2);
      await runCase(t, 'fuzz.jpg', how, () => decodeImage(bytes, 'fuzz.jpg', { maxPixels: MAX_PIXELS }), checkImage);
    }
  });

  it('IDX (raw and gzipped)', async () => {
    const t = tallyFor('IDX');
    const raw = encodeIdx(
      'u8',
      [3, 4, 5],
      Uint8Array.from({ length: 60 }, (_, i) => i),
    );
    const f32 = encodeIdx('f32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const gz = new Uint8Array(gzipSync(raw));
    const fields: Field[] = [
      { at: 2, size: 1 },
      { at: 3, size: 1 },
      { at: 4, size: 4, bigEndian: true },
      { at: 8, size: 4, bigEndian: true },
      { at: 12, size: 4, bigEndian: true },
    ];
    for (let k = 0; k < CASES; k++) {
      const base = [raw, f32, gz][k % 3]!;
      const { bytes, how } = mutate(
        base,
        base === gz
          ? [
              { at: 4, size: 4 },
              { at: 9, size: 1 },
            ]
          : fields,
        k,
        3,
      );
      await runCase(
        t,
        'fuzz.idx',
        how,
        () => parseIdx(bytes, 'fuzz.idx'),
        (result) => {
          const { data } = result as { data: ArrayLike<number> & { byteLength: number } };
          expect(data.byteLength).toBeLessThanOrEqual(Math.max(raw.length, f32.length) * 2);
        },
      );
    }
  });

  it('safetensors', async () => {
    const t = tallyFor('safetensors');
    const base = encodeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        b: { dtype: 'F16', shape: [4], data: Float32Array.from([1, -2, 0.5, 65504]) },
        c: { dtype: 'I64', shape: [2], data: BigInt64Array.from([1n, -1n]) },
        d: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
      },
      { format: 'pt' },
    );
    // Header fields: the 8-byte length, and every number in the JSON (shapes and offsets).
    const fields: Field[] = [{ at: 0, size: 8 }];
    const text = new TextDecoder().decode(
      base.subarray(8, 8 + Number(new DataView(base.buffer).getBigUint64(0, true))),
    );
    for (const m of text.matchAll(/\d+/g)) fields.push({ at: 8 + m.index!, size: m[0].length, bigEndian: true });
    const JSON_EXTREMES = ['1e308', '-1', '18446744073709551616', '9007199254740993', '0.5', '"x"', 'null'];
    for (let k = 0; k < CASES; k++) {
      let { bytes, how } = mutate(base, fields, k, 4);
      if (k % 4 === 3) {
        // Replace one JSON number by an extreme literal (keeps the header length right).
        const r = rng(SEED + k);
        const header = new TextDecoder().decode(base.subarray(8, 8 + text.length));
        const numbers = [...header.matchAll(/\d+/g)];
        const m = numbers[Math.floor(r() * numbers.length)]!;
        const literal = JSON_EXTREMES[Math.floor(r() * JSON_EXTREMES.length)]!;
        const json = new TextEncoder().encode(
          header.slice(0, m.index!) + literal + header.slice(m.index! + m[0].length),
        );
        const out = new Uint8Array(8 + json.length + base.length - 8 - text.length);
        new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
        out.set(json, 8);
        out.set(base.subarray(8 + text.length), 8 + json.length);
        bytes = out;
        how = `json ${m[0]}→${literal}`;
      }
      await runCase(
        t,
        'fuzz.safetensors',
        how,
        () => decodeSafetensors(bytes, 'fuzz.safetensors'),
        (result) => {
          let total = 0;
          for (const tensor of (result as { tensors: Map<string, { data: { byteLength: number } }> }).tensors.values())
            total += tensor.data.byteLength;
          expect(total).toBeLessThanOrEqual(bytes.length * 2);
        },
      );
    }
  });

  it('Keras .h5', async () => {
    const t = tallyFor('h5');
    const good = join(dir, 'good.h5');
    await writeTinyKerasH5(good);
    const base = Uint8Array.from(readFileSync(good));
    const gcol = globalHeapOffset(base);
    const fields: Field[] = [
      { at: 8, size: 1 }, // superblock version
      { at: 10, size: 1 }, // root symbol table version
      { at: 13, size: 1 }, // size of offsets
      { at: 14, size: 1 }, // size of lengths
      { at: 24, size: 8 }, // base address
      { at: 40, size: 8 }, // end-of-file address
      { at: 56, size: 8 }, // root object header address
      { at: gcol, size: 4 }, // global heap signature
      { at: gcol + 8, size: 8 }, // collection size
      { at: gcol + 0x18, size: 8 }, // first object's size
    ];
    for (let k = 0; k < CASES; k++) {
      const { bytes, how } = mutate(base, fields, k, 5);
      const path = join(dir, `fuzz-${k}.h5`);
      writeFileSync(path, bytes);
      await runCase(
        t,
        path,
        how,
        () => readKerasH5(path, { timeoutMs: H5_TIMEOUT_MS }),
        () => undefined,
      );
      rmSync(path);
    }
    expect((await readKerasH5(good)).size).toBe(1); // the reader still works after all that
  }, 120_000);

  it('image folder', async () => {
    const t = tallyFor('image folder');
    const folder = join(dir, 'folder');
    for (let k = 0; k < CASES; k++) {
      const isPng = k % 2 === 0;
      const { bytes: raw, how } = mutate(isPng ? png : jpg, isPng ? PNG_FIELDS : JPEG_FIELDS, k, 6);
      const bytes = isPng && k % 4 === 0 ? fixPngCrc(raw) : raw;
      rmSync(folder, { recursive: true, force: true });
      mkdirSync(join(folder, 'sub'), { recursive: true });
      writeFileSync(join(folder, 'a-good.png'), png);
      const path = join(folder, 'sub', isPng ? 'x.png' : 'x.jpg');
      writeFileSync(path, bytes);
      process.env.WGPU_GAN_MAX_PIXELS = String(MAX_PIXELS);
      try {
        await runCase(
          t,
          path,
          how,
          () => loadImageFolder(folder, { size: 8 }),
          (result) => expect((result as { n: number }).n).toBe(2),
        );
      } finally {
        delete process.env.WGPU_GAN_MAX_PIXELS;
      }
    }
  }, 120_000);
});
