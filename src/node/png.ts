/**
 * PNG writing and PNG/JPEG reading for Node, producing and taking the RgbaImage of src/io/image.ts.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import {
  checkDeclaredImageSize,
  DEFAULT_MAX_IMAGE_PIXELS,
  jpegDeclaredSize,
  imageOrientation,
  orientImage,
  pngDeclaredSize,
  type RgbaImage,
} from '../io/image.ts';
import { writeFileAtomic } from './files.ts';

/** Encodes an RGBA image as PNG bytes. */
export function encodePng(image: RgbaImage): Uint8Array {
  const { width, height, rgba } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`encodePng: image size must be positive integers, got ${width}x${height}`);
  }
  if (rgba.length !== width * height * 4) {
    throw new Error(`encodePng: a ${width}x${height} RGBA image needs ${width * height * 4} bytes, got ${rgba.length}`);
  }
  const png = new PNG({ width, height });
  png.data.set(rgba);
  return PNG.sync.write(png);
}

/** Writes an RGBA image to `path` as PNG, atomically (see writeFileAtomic). */
export function writePng(path: string, image: RgbaImage): void {
  let bytes: Uint8Array;
  try {
    bytes = encodePng(image);
  } catch (err) {
    throw new Error(`writePng ${path}: ${(err as Error).message}`, { cause: err });
  }
  writeFileAtomic(path, bytes);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** The environment variable that sets the pixel cap of readImage/decodeImage (see maxImagePixels). */
export const MAX_PIXELS_ENV = 'WGPU_GAN_MAX_PIXELS';

/**
 * The largest image (width × height, as declared in the PNG IHDR or JPEG SOF header) that readImage and
 * decodeImage accept: `WGPU_GAN_MAX_PIXELS` when set to a positive integer, else 100,000,000. The header is
 * checked before any pixel memory is allocated, so a tiny file declaring a huge image fails at once.
 */
export function maxImagePixels(): number {
  const raw = process.env[MAX_PIXELS_ENV];
  if (raw === undefined || raw === '') return DEFAULT_MAX_IMAGE_PIXELS;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${MAX_PIXELS_ENV}=${raw}: must be a positive integer (a pixel count, e.g. 100000000)`);
  }
  return value;
}

export interface DecodeImageOptions {
  /** Pixel cap (width × height) checked on the header before decoding; default maxImagePixels(). */
  maxPixels?: number;
}

/** Decodes PNG or JPEG bytes (recognised by their signature, not the file name); `name` is used in errors. The image
 *  is turned upright by its Exif orientation (imageOrientation), as browsers do.
 *  The declared size is checked against the pixel cap (options.maxPixels, else maxImagePixels()) first. */
export function decodeImage(bytes: Uint8Array, name = 'image', options: DecodeImageOptions = {}): RgbaImage {
  const isPng = startsWith(bytes, PNG_SIGNATURE);
  const isJpeg = startsWith(bytes, [0xff, 0xd8, 0xff]);
  if (!isPng && !isJpeg) {
    throw new Error(
      `readImage: ${name} is neither PNG nor JPEG (first bytes: ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ') || 'none, file is empty'})`,
    );
  }
  const maxPixels = options.maxPixels ?? maxImagePixels();
  const how = options.maxPixels === undefined ? ` (set ${MAX_PIXELS_ENV} to raise it)` : '';
  const declared = isPng ? pngDeclaredSize(bytes, name) : jpegDeclaredSize(bytes, name);
  checkDeclaredImageSize(declared.width, declared.height, name, isPng ? 'PNG' : 'JPEG', maxPixels, how);
  let image: RgbaImage;
  try {
    if (isPng) {
      const bad = pngDataProblem(bytes, declared.width, declared.height);
      if (bad) throw new Error(`readImage: ${name} is a corrupt PNG: ${bad}`);
      // Expand palettes, gray and 16-bit to 8-bit RGBA.
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      image = {
        width: png.width,
        height: png.height,
        rgba: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length),
      };
    } else {
      const decoded = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: maxPixels / 1e6,
        // RGBA output plus jpeg-js's per-component planes and tables; at least its usual 1 GB.
        maxMemoryUsageInMB: Math.max(1024, Math.ceil((maxPixels * 8) / 2 ** 20)),
      });
      image = {
        width: decoded.width,
        height: decoded.height,
        rgba: new Uint8ClampedArray(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length),
      };
    }
  } catch (err) {
    if ((err as Error).message?.startsWith('readImage:')) throw err;
    // A cut-off PNG makes pngjs report its stream's state ("read requests waiting on finished stream"): say where
    // the file ends instead. The decoders also fail with TypeError/RangeError on damaged data (reading past a
    // table they never built).
    const cut = isPng ? pngCutShort(bytes) : jpegCutShort(bytes);
    if (cut) throw new Error(`readImage: ${name} is a truncated ${isPng ? 'PNG' : 'JPEG'}: ${cut}`, { cause: err });
    const why =
      err instanceof TypeError || err instanceof RangeError
        ? `the decoder failed on damaged data (${err.name}: ${err.message})`
        : ((err as Error)?.message ?? String(err));
    throw new Error(`readImage: ${name} is a corrupt or unsupported ${isPng ? 'PNG' : 'JPEG'}: ${why}`, { cause: err });
  }
  const { width, height, rgba } = image;
  if (!(width >= 1 && height >= 1 && rgba.length === width * height * 4)) {
    throw new Error(
      `readImage: ${name} is a corrupt ${isPng ? 'PNG' : 'JPEG'}: decoded ${width}x${height} with ${rgba.length} bytes of RGBA`,
    );
  }
  // turned upright as its Exif orientation says, as browsers show it (and so as the web page reads it)
  return orientImage(image, imageOrientation(bytes));
}

/** Channels per pixel of each PNG colour type (gray, RGB, palette index, gray + alpha, RGBA). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7's seven passes: first column and row, column and row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/**
 * What is wrong with a PNG's compressed image data, or null when it inflates to the bytes its header declares
 * (or the chunk list itself is damaged: the decoder and pngCutShort report that). Checked before pngjs decodes, because pngjs 7 pads image data that stops early with uninitialised memory (a cut stream gave a
 * different picture on every read) and inflates an interlaced image's data with no bound (a 5 MB file took 4 GB).
 * Here the data is inflated with a cap of the size the header declares: rows of 1 filter byte plus
 * ⌈width · bits per pixel / 8⌉ bytes, for each of Adam7's passes when interlaced. Less is refused, naming how much
 * there is, and so is more. A second inflate of the data: a large image costs its raw size in memory once more while
 * it is read.
 */
function pngDataProblem(bytes: Uint8Array, width: number, height: number): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const depth = bytes[24]!;
  const channels = PNG_CHANNELS[bytes[25]!];
  if (!channels || ![1, 2, 4, 8, 16].includes(depth)) return null; // the decoder names what it cannot read
  const rowBytes = (w: number) => (w > 0 ? 1 + Math.ceil((w * channels * depth) / 8) : 0);
  const passes = bytes[28] === 1 ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let expected = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) expected += h * rowBytes(w);
  }
  const parts: Uint8Array[] = [];
  let at = PNG_SIGNATURE.length;
  for (;;) {
    if (at + 8 > bytes.length) return null;
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (length > 0x7fffffff || at + 12 + length > bytes.length) return null;
    if (type === 'IDAT') parts.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') break;
    at += 12 + length;
  }
  if (parts.length === 0) return 'it has no image data (no IDAT chunk)';
  const stream = Buffer.concat(parts);
  let data: Buffer;
  try {
    // As decoders read it: the raw deflate data after zlib's 2-byte header, whatever is there at its end (no check
    // of the adler32 trailer, which pngjs and libpng do not require either), capped at the declared size.
    data = inflateRawSync(stream.subarray(2), {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      maxOutputLength: Math.max(expected, 1),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // More than declared: pngjs refuses a plain image's extra data in words about its stream, and inflates an
    // interlaced one's whole, with no bound (a few MB of zeros inflate to gigabytes): refused here, in these words.
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
      return `its image data inflates to more than the ${expected} bytes its ${width}x${height} header declares`;
    return `its image data does not inflate (zlib: ${e.message})`;
  }
  if (data.length < expected) {
    const whole = Math.floor(data.length / rowBytes(width));
    const rows = passes.length === 1 ? ` (${whole} whole row${whole === 1 ? '' : 's'} of ${height})` : '';
    return `its image data stops after ${data.length} of ${expected} bytes its ${width}x${height} header declares${rows}`;
  }
  return null;
}

/** Where a PNG's chunk list stops short, or null when every chunk is whole and an IEND ends them. A chunk is a
 *  4-byte length, a 4-byte type, the data and a 4-byte CRC. */
function pngCutShort(bytes: Uint8Array): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = PNG_SIGNATURE.length;
  let last = 'the signature';
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    if (length > 0x7fffffff) return null; // a length PNG forbids: a damaged file, not a short one
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (end > bytes.length) {
      return `its ${type} chunk at byte ${at} needs ${end - at} bytes and only ${bytes.length - at} are left`;
    }
    if (type === 'IEND') return null;
    last = `its ${type} chunk`;
    at = end;
  }
  return `it ends after ${last} (byte ${at} of ${bytes.length}) without an IEND chunk`;
}

/**
 * A JPEG that failed to decode and holds no end-of-image marker (FF D9) anywhere was cut short; else null (data after
 * the marker, or a thumbnail's marker inside: some other damage). Scan data never holds FF D9 (FF is stuffed as FF 00).
 */
function jpegCutShort(bytes: Uint8Array): string | null {
  for (let i = 2; i + 1 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return null;
  return `it ends at byte ${bytes.length} without the end-of-image marker (FF D9)`;
}

/** Reads a PNG or JPEG file into 8-bit RGBA (pixel cap: see maxImagePixels and DecodeImageOptions). */
export function readImage(path: string, options: DecodeImageOptions = {}): RgbaImage {
  let bytes: Uint8Array;
  try {
    // A device (/dev/zero reads for ever) or a pipe (waits for a writer) is no image: refused before reading.
    const st = statSync(path);
    if (!st.isFile() && !st.isDirectory())
      throw new Error(`readImage: cannot read ${path}: it is not a regular file (a device, pipe or socket)`);
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as Error).message.startsWith('readImage:')) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new Error(`readImage: cannot read ${path}: ${why}`, { cause: err });
  }
  const ext = extname(path).toLowerCase();
  if (
    ext &&
    !['.png', '.jpg', '.jpeg'].includes(ext) &&
    !startsWith(bytes, PNG_SIGNATURE) &&
    !startsWith(bytes, [0xff, 0xd8, 0xff])
  ) {
    throw new Error(`readImage: ${path} has an unsupported format (${ext}); only PNG and JPEG are read`);
  }
  return decodeImage(bytes, path, options);
}
