/**
 * Reader and writer for the safetensors format (https://github.com/huggingface/safetensors).
 *
 * Layout of a file:
 *   [8 bytes]  N, the header length, unsigned 64-bit little-endian
 *   [N bytes]  a UTF-8 JSON object: { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] },
 *              ..., "__metadata__": { "<key>": "<string value>" } }   (padded with spaces)
 *   [rest]     the byte buffer: every tensor's elements, row-major, little-endian; offsets are relative to
 *              its start. The buffer must be covered exactly, with no holes and no overlaps.
 *
 * Only Uint8Array/DataView/TextEncoder are used, so this runs unchanged in a browser.
 */
import { bfloat16BitsToFloat, floatToBfloat16Bits, floatToHalfBits, halfBitsToFloat } from './half.ts';

export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

export type TensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

/** A tensor handed to the encoder. For F16/BF16, `data` is a Float32Array (rounded to nearest even) or a
 *  Uint16Array of raw 16-bit patterns. Every other dtype needs its own typed array (BOOL: Uint8Array of 0/1). */
export interface TensorToEncode {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: TensorData;
}

/** A decoded tensor. F16 and BF16 come back widened to Float32Array; `bytes` keeps the stored bytes. */
export interface DecodedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
  /** The tensor's raw little-endian bytes as stored in the file (a view into the input, not a copy). */
  bytes: Uint8Array;
}

export interface DecodedSafetensors {
  tensors: Map<string, DecodedTensor>;
  metadata: Record<string, string>;
}

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** Which typed array holds each dtype's elements in memory when encoding (F16/BF16 also take Float32Array). */
const ENCODE_ARRAY: Record<SafetensorsDtype, new (length: number) => TensorData> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** The spec's reference reader refuses headers above 100 MB; so do we, rather than allocate absurd strings. */
const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, value);
}

function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

function isLittleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** The tensor's elements as little-endian bytes in the dtype the file will declare. */
function tensorBytes(name: string, tensor: TensorToEncode): Uint8Array {
  const { dtype, data } = tensor;
  const count = elementCount(tensor.shape);
  if (data.length !== count) {
    throw new Error(
      `safetensors encode: tensor "${name}" has shape [${tensor.shape.join(', ')}] (${count} elements) ` +
        `but its data holds ${data.length} elements`,
    );
  }
  if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Float32Array) {
    const toBits = dtype === 'F16' ? floatToHalfBits : floatToBfloat16Bits;
    const out = new Uint8Array(count * 2);
    const view = new DataView(out.buffer);
    for (let i = 0; i < count; i++) view.setUint16(i * 2, toBits(data[i]!), true);
    return out;
  }
  const expected = ENCODE_ARRAY[dtype];
  if (!(data instanceof expected)) {
    const also = dtype === 'F16' || dtype === 'BF16' ? ' (or Float32Array)' : '';
    throw new Error(
      `safetensors encode: tensor "${name}" has dtype ${dtype}, which needs a ${expected.name}${also}, ` +
        `but got a ${data.constructor.name}`,
    );
  }
  if (dtype === 'BOOL') {
    for (let i = 0; i < count; i++) {
      if (data[i]! > 1) throw new Error(`safetensors encode: BOOL tensor "${name}" has value ${data[i]} at index ${i}`);
    }
  }
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (isLittleEndianHost()) return raw;
  // Big-endian host (rare): swap each element's bytes.
  const size = DTYPE_SIZE[dtype];
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += size) for (let b = 0; b < size; b++) out[i + b] = raw[i + size - 1 - b]!;
  return out;
}

/**
 * Serialises tensors (and optional string metadata) into one safetensors file.
 *
 * Tensors are laid out by element size, largest first, then by name. Since the header is padded to a
 * multiple of 8 bytes, this puts every tensor at an offset that is a multiple of its element size, so a
 * reader can view the bytes as a typed array without copying — and it leaves no holes, which the spec forbids.
 * (With one element size throughout, the order is simply sorted by name.)
 */
export function encodeSafetensors(
  tensors: Record<string, TensorToEncode>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === METADATA_KEY)
      throw new Error(`safetensors encode: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    const tensor = tensors[name]!;
    if (!isDtype(tensor.dtype))
      throw new Error(`safetensors encode: tensor "${name}" has unknown dtype ${JSON.stringify(tensor.dtype)}`);
    if (!Array.isArray(tensor.shape) || !tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`safetensors encode: tensor "${name}" has an invalid shape ${JSON.stringify(tensor.shape)}`);
    }
  }
  names.sort((a, b) => {
    const bySize = DTYPE_SIZE[tensors[b]!.dtype] - DTYPE_SIZE[tensors[a]!.dtype];
    return bySize !== 0 ? bySize : a < b ? -1 : a > b ? 1 : 0;
  });

  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string')
        throw new Error(`safetensors encode: metadata "${key}" must be a string, got ${typeof value}`);
    }
    header[METADATA_KEY] = { ...metadata };
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const bytes = tensorBytes(name, tensors[name]!);
    header[name] = {
      dtype: tensors[name]!.dtype,
      shape: [...tensors[name]!.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength); // pad with spaces, as the spec allows
  let position = 8 + headerLength;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

/** Reads little-endian elements into a fresh, aligned typed array of the dtype's natural kind. */
function decodeElements(dtype: SafetensorsDtype, bytes: Uint8Array, count: number): TensorData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F16':
    case 'BF16': {
      const toFloat = dtype === 'F16' ? halfBitsToFloat : bfloat16BitsToFloat;
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = toFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'BOOL':
    case 'U8':
      return bytes.slice();
    case 'I8':
      return new Int8Array(bytes.slice().buffer);
    default:
      break;
  }
  const copy = bytes.slice(); // aligned at 0 in its own buffer
  if (!isLittleEndianHost()) {
    const size = DTYPE_SIZE[dtype];
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  const buffer = copy.buffer;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer);
    case 'F32':
      return new Float32Array(buffer);
    case 'I64':
      return new BigInt64Array(buffer);
    case 'U64':
      return new BigUint64Array(buffer);
    case 'I32':
      return new Int32Array(buffer);
    case 'U32':
      return new Uint32Array(buffer);
    case 'I16':
      return new Int16Array(buffer);
    case 'U16':
      return new Uint16Array(buffer);
  }
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Checks one tensor entry of the JSON header and returns it typed; throws naming the tensor and field. */
function parseEntry(name: string, raw: unknown, dataLength: number, file: string): HeaderEntry {
  const where = `${file}: tensor "${name}"`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${where}: header entry is not an object`);
  const entry = raw as Record<string, unknown>;
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!(field in entry)) throw new Error(`${where}: header entry lacks "${field}"`);
  }
  if (!isDtype(entry.dtype)) throw new Error(`${where}: unknown dtype ${JSON.stringify(entry.dtype)}`);
  const shape = entry.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${where}: "shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const offsets = entry.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new Error(
      `${where}: "data_offsets" must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new Error(`${where}: "data_offsets" [${begin}, ${end}] ends before it begins`);
  if (end > dataLength) {
    throw new Error(`${where}: "data_offsets" [${begin}, ${end}] reach past the end of the data (${dataLength} bytes)`);
  }
  const dtype = entry.dtype;
  const expectedBytes = elementCount(shape) * DTYPE_SIZE[dtype];
  if (end - begin !== expectedBytes) {
    throw new Error(
      `${where}: shape [${shape.join(', ')}] with dtype ${dtype} needs ${expectedBytes} bytes, ` +
        `but "data_offsets" [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/** The 8-byte length and the JSON header of a safetensors file, checked. */
function readHeader(
  input: Uint8Array,
  file: string,
): { bytes: Uint8Array; headerLength: number; header: Record<string, unknown> } {
  // A plain Uint8Array view: subclasses such as Node's Buffer make slice() return a view, not a copy.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 8) {
    throw new Error(`${file}: file is truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredLength = view.getBigUint64(0, true);
  if (declaredLength > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(`${file}: header length ${declaredLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = Number(declaredLength);
  if (8 + headerLength > bytes.length) {
    throw new Error(
      `${file}: header length ${headerLength} reaches beyond the end of the file ` +
        `(${bytes.length} bytes, so at most ${bytes.length - 8} are available); the file may be truncated`,
    );
  }

  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new Error(`${file}: header is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (err) {
    throw new Error(`${file}: header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error(`${file}: header JSON must be an object mapping tensor names to entries`);
  }
  return { bytes, headerLength, header: header as Record<string, unknown> };
}

/** How errors start: "safetensors FILE" when the caller names the file, else "safetensors". */
function errorPrefix(name: string | undefined): string {
  return name === undefined || name === '' ? 'safetensors' : `safetensors ${name}`;
}

/** The `__metadata__` strings of a safetensors file, read from its header alone (no tensor data is touched).
 *  `name` (the file's path or name) starts every error message. */
export function decodeSafetensorsMetadata(input: Uint8Array, name?: string): Record<string, string> {
  const file = errorPrefix(name);
  const { header } = readHeader(input, file);
  return parseMetadata(header[METADATA_KEY], file);
}

function parseMetadata(raw: unknown, file: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (raw === undefined || raw === null) return metadata;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${file}: "${METADATA_KEY}" must be an object of strings`);
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== 'string') {
      throw new Error(`${file}: "${METADATA_KEY}" value for "${key}" must be a string, got ${JSON.stringify(value)}`);
    }
    metadata[key] = value;
  }
  return metadata;
}

/** Parses a safetensors file. Every structural problem is reported with the tensor or field it concerns, after
 *  "safetensors NAME:" when `name` (the file's path or name) is given, else "safetensors:". */
export function decodeSafetensors(input: Uint8Array, name?: string): DecodedSafetensors {
  const file = errorPrefix(name);
  const { bytes, headerLength, header } = readHeader(input, file);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata = parseMetadata(header[METADATA_KEY], file);
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name !== METADATA_KEY) entries.push(parseEntry(name, raw, dataLength, file));
  }

  // The tensors must tile the byte buffer exactly: sorted by start, each begins where the previous ended.
  const byStart = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of byStart) {
    if (entry.begin < covered) {
      throw new Error(
        `${file}: tensor "${entry.name}" bytes [${entry.begin}, ${entry.end}] overlap tensor ` +
          `"${previous!.name}" bytes [${previous!.begin}, ${previous!.end}]`,
      );
    }
    if (entry.begin > covered) {
      throw new Error(
        `${file}: bytes [${covered}, ${entry.begin}] before tensor "${entry.name}" belong to no tensor ` +
          '(the spec forbids holes in the data)',
      );
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered !== dataLength) {
    throw new Error(
      `${file}: data is ${dataLength} bytes but the tensors cover only ${covered}; ` +
        'trailing bytes belong to no tensor',
    );
  }

  const tensors = new Map<string, DecodedTensor>();
  for (const entry of entries) {
    const raw = bytes.subarray(dataStart + entry.begin, dataStart + entry.end);
    tensors.set(entry.name, {
      dtype: entry.dtype,
      shape: entry.shape,
      data: decodeElements(entry.dtype, raw, elementCount(entry.shape)),
      bytes: raw,
    });
  }
  return { tensors, metadata };
}
