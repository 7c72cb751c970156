/**
 * Small files for the loader tests (tests/loader-errors.test.ts, tests/fuzz-loaders.test.ts), all made here:
 * PNG chunks written by hand (with their CRC), a JPEG from jpeg-js, a tiny Keras-style .h5 from h5wasm.
 */
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { encodePng } from '../src/node/png.ts';
import { loadH5wasm } from '../src/node/style-weights.ts';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC over type and data. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG's IHDR chunk: size, bit depth, colour type, interlacing (compression and filter method 0). */
function ihdrChunk(width: number, height: number, depth: number, colorType: number, interlace = false): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, interlace ? 1 : 0], 8);
  return pngChunk('IHDR', ihdr);
}

/** A PNG's chunks joined after its signature, ended by an IEND chunk. */
function pngFile(chunks: Uint8Array[]): Uint8Array {
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    ...chunks,
    pngChunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A valid-header PNG declaring width × height (8-bit RGBA) with one tiny IDAT: a decompression bomb's header. */
export function pngDeclaring(width: number, height: number): Uint8Array {
  return pngFile([ihdrChunk(width, height, 8, 6), pngChunk('IDAT', new Uint8Array(deflateSync(new Uint8Array(64))))]);
}

/**
 * Adam7's seven passes as the PNG specification gives them (first column and row, column and row step), written out
 * here apart from src/node/png.ts's copy so that the tests' PNGs do not take the reader's word for it.
 */
const ADAM7_PASSES = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];
const PLAIN_PASS = [[0, 0, 1, 1]];

/**
 * A PNG written by hand, scanline by scanline (filter 0), in any grey or colour type without a palette, bit depth
 * and interlacing: `sample(x, y, channel)` gives each sample (< 2^depth). Its raw image data (filter bytes and packed
 * samples, Adam7's seven passes in turn when interlaced) can be cut to its first `keep` bytes or grown by `extra`
 * zero bytes before it is compressed: a complete zlib stream holding less or more than the header declares.
 */
export function handPng(o: {
  width: number;
  height: number;
  colorType: 0 | 2 | 4 | 6;
  depth: 1 | 2 | 4 | 8 | 16;
  interlace?: boolean;
  sample: (x: number, y: number, c: number) => number;
  keep?: number;
  extra?: number;
  /** Edits the zlib stream before it goes into the IDAT chunk (a cut stream, a wrong checksum). */
  zlib?: (stream: Uint8Array) => Uint8Array;
  /** The stream split over this many IDAT chunks (as libpng and PIL write a large image: 8–64 KiB each). Default 1. */
  idats?: number;
}): Uint8Array {
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[o.colorType];
  const passes = o.interlace ? ADAM7_PASSES : PLAIN_PASS;
  const raw: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const xs: number[] = [];
    for (let x = x0!; x < o.width; x += dx!) xs.push(x);
    if (xs.length === 0) continue;
    for (let y = y0!; y < o.height; y += dy!) {
      raw.push(0); // filter: none
      let bits = 0;
      let acc = 0;
      for (const x of xs)
        for (let c = 0; c < channels; c++) {
          const v = o.sample(x, y, c);
          if (o.depth === 16) raw.push(v >> 8, v & 0xff);
          else if (o.depth === 8) raw.push(v);
          else {
            acc = (acc << o.depth) | v;
            bits += o.depth;
            if (bits === 8) {
              raw.push(acc);
              acc = 0;
              bits = 0;
            }
          }
        }
      if (bits > 0) raw.push(acc << (8 - bits));
    }
  }
  let data = Uint8Array.from(raw);
  if (o.keep !== undefined) data = data.subarray(0, o.keep);
  if (o.extra) {
    const grown = new Uint8Array(data.length + o.extra);
    grown.set(data);
    data = grown;
  }
  const stream = (o.zlib ?? ((z) => z))(new Uint8Array(deflateSync(data)));
  const parts = o.idats ?? 1;
  const step = Math.ceil(stream.length / parts);
  const idats = Array.from({ length: parts }, (_, i) => pngChunk('IDAT', stream.subarray(i * step, (i + 1) * step)));
  return pngFile([ihdrChunk(o.width, o.height, o.depth, o.colorType, o.interlace), ...idats]);
}

/** The raw image data bytes (filter bytes included) a PNG of this size and pixel format holds. */
export function pngRawBytes(width: number, height: number, bitsPerPixel: number, interlace: boolean): number {
  const passes = interlace ? ADAM7_PASSES : PLAIN_PASS;
  let n = 0;
  for (const [x0, y0, dx, dy] of passes) {
    let w = 0;
    for (let x = x0!; x < width; x += dx!) w++;
    let h = 0;
    for (let y = y0!; y < height; y += dy!) h++;
    if (w > 0) n += h * (1 + Math.ceil((w * bitsPerPixel) / 8));
  }
  return n;
}

/** A real w × h RGBA PNG with a pattern. */
export function smallPng(w = 8, h = 6): Uint8Array {
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37) & 0xff;
  return encodePng({ width: w, height: h, rgba });
}

/** A real w × h JPEG from jpeg-js. */
export function smallJpeg(w = 16, h = 8): Uint8Array {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 53) & 0xff;
  return new Uint8Array(jpeg.encode({ data, width: w, height: h }, 80).data);
}

/** Offset of the first SOF0 marker's height field (width follows at +2) in a baseline JPEG. */
export function jpegSofSizeOffset(bytes: Uint8Array): number {
  for (let i = 2; i + 8 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xc0) return i + 5;
  throw new Error('no SOF0 marker');
}

/** A JPEG whose frame header declares width × height (the rest stays a small image's). */
export function jpegDeclaring(width: number, height: number): Uint8Array {
  const bytes = smallJpeg();
  const at = jpegSofSizeOffset(bytes);
  new DataView(bytes.buffer, bytes.byteOffset).setUint16(at, height);
  new DataView(bytes.buffer, bytes.byteOffset).setUint16(at + 2, width);
  return bytes;
}

/** Writes a tiny Keras-layout weights file (block1_conv1 with a 3×3×3×2 kernel and 2 biases) with h5wasm. */
export async function writeTinyKerasH5(path: string): Promise<void> {
  const h5 = await loadH5wasm();
  const f = new h5.File(path, 'w');
  const g = f.create_group('block1_conv1');
  g.create_attribute('weight_names', ['block1_conv1/kernel:0', 'block1_conv1/bias:0']);
  const inner = g.create_group('block1_conv1');
  const kernel = Float32Array.from({ length: 54 }, (_, i) => i / 10);
  inner.create_dataset({ name: 'kernel:0', data: kernel, shape: [3, 3, 3, 2], dtype: '<f' });
  inner.create_dataset({ name: 'bias:0', data: Float32Array.from([0.5, -0.5]), shape: [2], dtype: '<f' });
  f.close();
}

/** Offset of the global heap collection ("GCOL", which holds weight_names) in a file from writeTinyKerasH5. */
export function globalHeapOffset(bytes: Uint8Array): number {
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (bytes[i] === 0x47 && bytes[i + 1] === 0x43 && bytes[i + 2] === 0x4f && bytes[i + 3] === 0x4c) return i;
  }
  throw new Error('no GCOL in the file');
}

/**
 * Exif data as a camera writes it (a TIFF header in either byte order, one image directory) with an orientation
 * entry; `entry` overrides the entry's type and count fields (a damaged one).
 */
export function exifTiff(orientation: number, little = false, entry = { type: 3, count: 1 }): Uint8Array {
  const out = new Uint8Array(8 + 2 + 12 + 4);
  const view = new DataView(out.buffer);
  out.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
  view.setUint16(2, 42, little);
  view.setUint32(4, 8, little); // the first directory follows the header
  view.setUint16(8, 1, little); // one entry
  view.setUint16(10, 0x0112, little);
  view.setUint16(12, entry.type, little);
  view.setUint32(14, entry.count, little);
  view.setUint16(18, orientation, little);
  return out; // the next directory's offset stays 0: none
}

/** A JPEG's APP1 segment holding Exif data. */
export function jpegExifSegment(tiff: Uint8Array): Uint8Array {
  const body = Uint8Array.from([...'Exif\0\0'].map((c) => c.charCodeAt(0)).concat([...tiff]));
  return Uint8Array.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);
}

/** `jpeg` with segments inserted right after its start marker (before jpeg-js's own APP0). */
export function jpegWith(jpegBytes: Uint8Array, ...segments: Uint8Array[]): Uint8Array {
  return Uint8Array.from([...jpegBytes.subarray(0, 2), ...segments.flatMap((s) => [...s]), ...jpegBytes.subarray(2)]);
}

/** `png` with chunks inserted after its IHDR (before the image data), or before IEND with `late`. */
export function pngWith(pngBytes: Uint8Array, chunks: Uint8Array[], late = false): Uint8Array {
  const at = late ? pngBytes.length - 12 : 8 + 25; // IEND is the last 12 bytes; IHDR is 25 after the signature
  return Uint8Array.from([...pngBytes.subarray(0, at), ...chunks.flatMap((c) => [...c]), ...pngBytes.subarray(at)]);
}
