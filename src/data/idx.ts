/**
 * Parser for the IDX format, the container MNIST and Fashion-MNIST are distributed in.
 *
 * Layout of a file (every multi-byte number is big-endian):
 *   [2 bytes]        0x00 0x00
 *   [1 byte]         element type code: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
 *   [1 byte]         ndim, the number of dimensions
 *   [4 bytes x ndim] each dimension as an unsigned 32-bit integer (first dimension = item count)
 *   [rest]           the elements in row-major order
 *
 * The files are usually shipped gzipped; gzip input (magic bytes 1f 8b) is inflated with the standard
 * `DecompressionStream('gzip')` that both Node >= 18 and browsers provide, which is why parsing is async.
 * Only Uint8Array/DataView are used, so this runs unchanged in a browser.
 */
import { fromUint8, type Dataset } from './dataset.ts';

export type IdxElementType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxElementType;
  /** Dimensions as stored in the header, e.g. [10000, 28, 28] for MNIST test images. */
  shape: number[];
  /** The elements, row-major, converted to the machine's byte order. */
  data: IdxData;
}

/** The type byte (third byte of the header) of each element type, with its size in bytes. */
const TYPE_BY_CODE: ReadonlyMap<number, { type: IdxElementType; bytes: number }> = new Map([
  [0x08, { type: 'u8', bytes: 1 }],
  [0x09, { type: 'i8', bytes: 1 }],
  [0x0b, { type: 'i16', bytes: 2 }],
  [0x0c, { type: 'i32', bytes: 4 }],
  [0x0d, { type: 'f32', bytes: 4 }],
  [0x0e, { type: 'f64', bytes: 8 }],
]);

/** The type code written in the header for each element type (the inverse of TYPE_BY_CODE). */
export const IDX_TYPE_CODE: Readonly<Record<IdxElementType, number>> = {
  u8: 0x08,
  i8: 0x09,
  i16: 0x0b,
  i32: 0x0c,
  f32: 0x0d,
  f64: 0x0e,
};

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The most bytes gunzip inflates by default (1 GiB; Fashion-MNIST's training images are 47 MB): a small .gz
 *  can expand a thousandfold, so the output is counted as it arrives and refused past this. */
export const MAX_GUNZIP_BYTES = 2 ** 30;

/** Inflates a gzip stream with the platform's DecompressionStream. `source` names the input in errors; output
 *  beyond `maxBytes` (default MAX_GUNZIP_BYTES) is an error, raised before more is inflated. */
export async function gunzip(
  bytes: Uint8Array,
  source = 'gzip data',
  maxBytes = MAX_GUNZIP_BYTES,
): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') {
    throw new Error(
      `${source}: is gzip-compressed, but this runtime has no DecompressionStream (needs Node >= 18 or a current browser)`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    // Copy into a fresh ArrayBuffer-backed array: Blob wants plain ArrayBuffer views.
    const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream('gzip'));
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        break;
      }
      chunks.push(value);
    }
  } catch (err) {
    throw new Error(`${source}: gzip decompression failed (corrupt or truncated .gz file): ${(err as Error).message}`);
  }
  if (total > maxBytes) {
    throw new Error(`${source}: gzip data inflates to more than ${maxBytes} bytes (a ${bytes.length}-byte .gz file)`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Parses IDX bytes, gzipped or not. `source` (usually the file name) is put in every error message; `maxBytes`
 * caps the inflated size of gzip input (default MAX_GUNZIP_BYTES).
 */
export async function parseIdx(
  bytes: Uint8Array,
  source = 'IDX data',
  opts: { maxBytes?: number } = {},
): Promise<IdxArray> {
  const raw = isGzip(bytes) ? await gunzip(bytes, source, opts.maxBytes) : bytes;
  return parseIdxUncompressed(raw, source);
}

/** Parses uncompressed IDX bytes (synchronous; see parseIdx for gzip input). */
export function parseIdxUncompressed(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  if (bytes.length < 4) {
    throw new Error(`${source}: too short for an IDX header (expected at least 4 bytes, got ${bytes.length})`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${source}: not an IDX file: the magic number must start with 00 00, got ${magic}`);
  }
  const typeCode = bytes[2]!;
  const elementType = TYPE_BY_CODE.get(typeCode);
  if (!elementType) {
    throw new Error(
      `${source}: unsupported IDX element type code 0x${typeCode.toString(16).padStart(2, '0')} ` +
        '(supported: 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)',
    );
  }
  const ndim = bytes[3]!;
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new Error(
      `${source}: truncated IDX header: ${ndim} dimensions need ${headerBytes} header bytes, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataBytes = count * elementType.bytes;
  const available = bytes.length - headerBytes;
  if (available < dataBytes) {
    throw new Error(
      `${source}: truncated IDX data: shape [${shape.join(', ')}] of ${elementType.type} needs ` +
        `${dataBytes} bytes after the header, got ${available}`,
    );
  }
  if (available > dataBytes) {
    throw new Error(
      `${source}: IDX file has ${available - dataBytes} unexpected trailing bytes after ` +
        `shape [${shape.join(', ')}] of ${elementType.type} (expected ${dataBytes} data bytes, got ${available})`,
    );
  }
  return { type: elementType.type, shape, data: readElements(view, headerBytes, count, elementType.type) };
}

/** Copies `count` big-endian elements starting at `offset` into a typed array of the native byte order. */
function readElements(view: DataView, offset: number, count: number, type: IdxElementType): IdxData {
  switch (type) {
    case 'u8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'i8':
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'i16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'i32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'f32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'f64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Serialises an array to uncompressed IDX bytes (used to write test fixtures and small exports). */
export function encodeIdx(type: IdxElementType, shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new Error(
      `encodeIdx: shape [${shape.join(', ')}] holds ${count} elements, but ${values.length} values were given`,
    );
  }
  const size = { u8: 1, i8: 1, i16: 2, i32: 4, f32: 4, f64: 8 }[type];
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * size);
  const view = new DataView(out.buffer);
  out[2] = IDX_TYPE_CODE[type];
  out[3] = shape.length;
  shape.forEach((dim, d) => view.setUint32(4 + 4 * d, dim, false));
  for (let i = 0; i < count; i++) {
    const at = header + i * size;
    const v = values[i]!;
    switch (type) {
      case 'u8':
        view.setUint8(at, v);
        break;
      case 'i8':
        view.setInt8(at, v);
        break;
      case 'i16':
        view.setInt16(at, v, false);
        break;
      case 'i32':
        view.setInt32(at, v, false);
        break;
      case 'f32':
        view.setFloat32(at, v, false);
        break;
      case 'f64':
        view.setFloat64(at, v, false);
        break;
    }
  }
  return out;
}

/**
 * Turns a parsed IDX image array ([N, H, W] of u8, as in MNIST) and an optional label array ([N] of an
 * integer type) into a Dataset with C = 1 and pixels scaled to [-1, 1].
 * `imagesSource`/`labelsSource` name the two files in errors.
 */
export function idxToDataset(
  images: IdxArray,
  labels: IdxArray | undefined,
  names: { imagesSource: string; labelsSource?: string; name?: string },
): Dataset {
  const { imagesSource, labelsSource = 'labels' } = names;
  if (images.shape.length !== 3) {
    throw new Error(
      `${imagesSource}: image IDX files must have 3 dimensions [N, H, W], got [${images.shape.join(', ')}]`,
    );
  }
  if (images.type !== 'u8') {
    throw new Error(`${imagesSource}: image pixels must be u8 (type code 0x08), got ${images.type}`);
  }
  const [n, h, w] = images.shape as [number, number, number];
  let labelArray: Int32Array | undefined;
  if (labels) {
    if (labels.shape.length !== 1) {
      throw new Error(`${labelsSource}: label IDX files must have 1 dimension [N], got [${labels.shape.join(', ')}]`);
    }
    if (labels.type === 'f32' || labels.type === 'f64') {
      throw new Error(`${labelsSource}: labels must be an integer type, got ${labels.type}`);
    }
    if (labels.shape[0] !== n) {
      throw new Error(
        `label/image count mismatch: ${labelsSource} has ${labels.shape[0]} labels, ` +
          `but ${imagesSource} has ${n} images`,
      );
    }
    labelArray = Int32Array.from(labels.data as ArrayLike<number>);
  }
  return fromUint8(
    images.data as Uint8Array,
    { n, c: 1, h, w },
    {
      name: names.name ?? imagesSource,
      ...(labelArray ? { labels: labelArray } : {}),
    },
  );
}
