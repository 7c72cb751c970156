/**
 * Image helpers shared by the GAN (sample grids) and style transfer (loading and resizing photos).
 *
 * Two representations meet here:
 *  - RgbaImage: 8-bit RGBA, row-major, interleaved — what PNG/JPEG codecs and canvases use.
 *  - NCHW float tensors — what the engine computes on, with values in [-1, 1] (tanh generators) or [0, 1].
 * Browser-clean: typed arrays only.
 */

export interface RgbaImage {
  width: number;
  height: number;
  /** width * height * 4 bytes: R, G, B, A for each pixel, rows top to bottom. */
  rgba: Uint8ClampedArray;
}

export type ValueRange = readonly [lo: number, hi: number];

/** ITU-R BT.601 luma weights (the same ones PIL uses for mode "L"). */
export const LUMA_601 = { r: 0.299, g: 0.587, b: 0.114 } as const;

function checkRange(range: ValueRange, where: string): void {
  const [lo, hi] = range;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
    throw new Error(`${where}: range must be two finite numbers [lo, hi] with hi > lo, got [${lo}, ${hi}]`);
  }
}

function checkImage(image: RgbaImage, where: string): void {
  const { width, height, rgba } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${where}: image size must be positive integers, got ${width}x${height}`);
  }
  if (rgba.length !== width * height * 4) {
    throw new Error(`${where}: a ${width}x${height} RGBA image needs ${width * height * 4} bytes, got ${rgba.length}`);
  }
}

function checkTensor(data: Float32Array, n: number, c: number, h: number, w: number, where: string): void {
  for (const [name, value] of [
    ['n', n],
    ['c', c],
    ['h', h],
    ['w', w],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${where}: ${name} must be a positive integer, got ${value}`);
  }
  if (data.length !== n * c * h * w) {
    throw new Error(`${where}: shape [${n}, ${c}, ${h}, ${w}] needs ${n * c * h * w} values, got ${data.length}`);
  }
}

/** Maps a float in [lo, hi] to a byte, clamping outside values; rounds half up like torchvision's save_image.
 *  NaN becomes 0. */
function toByte(value: number, lo: number, scale: number): number {
  const v = Math.floor((value - lo) * scale + 0.5);
  return v > 255 ? 255 : v >= 0 ? v : 0;
}

export interface GridOptions {
  /** Images per row (torchvision's `nrow`). Default 8. */
  nrow?: number;
  /** Pixels of padding around and between tiles. Default 2. */
  padding?: number;
  /** Value range of the input: mapped to [0, 255], outside values clamped. `'minmax'` uses the batch's own
   *  min and max. Default [-1, 1]. */
  range?: ValueRange | 'minmax';
  /** Brightness of the padding, 0 (black, the default) to 1 (white). */
  padValue?: number;
}

/**
 * Tiles a batch of NCHW images into one RGBA picture, the way torchvision's make_grid does: `nrow` tiles per
 * row, `padding` pixels around every tile. One channel is shown as gray, three as RGB, four as RGBA.
 */
export function makeGrid(
  images: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  options: GridOptions = {},
): RgbaImage {
  const where = 'makeGrid';
  checkTensor(images, n, c, h, w, where);
  if (c !== 1 && c !== 3 && c !== 4) throw new Error(`${where}: channels must be 1, 3 or 4, got ${c}`);
  const nrow = options.nrow ?? 8;
  const padding = options.padding ?? 2;
  const padValue = options.padValue ?? 0;
  if (!Number.isInteger(nrow) || nrow < 1) throw new Error(`${where}: nrow must be a positive integer, got ${nrow}`);
  if (!Number.isInteger(padding) || padding < 0)
    throw new Error(`${where}: padding must be a non-negative integer, got ${padding}`);
  if (!(padValue >= 0 && padValue <= 1)) throw new Error(`${where}: padValue must be in [0, 1], got ${padValue}`);

  let range: ValueRange;
  if (options.range === 'minmax') {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of images) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    range = hi > lo ? [lo, hi] : [lo - 0.5, lo + 0.5]; // constant (or all-NaN) batch: show mid gray
    if (!Number.isFinite(range[0])) range = [0, 1];
  } else {
    range = options.range ?? [-1, 1];
    checkRange(range, where);
  }
  const lo = range[0];
  const scale = 255 / (range[1] - range[0]);

  const columns = Math.min(nrow, n);
  const rows = Math.ceil(n / columns);
  const width = columns * (w + padding) + padding;
  const height = rows * (h + padding) + padding;
  const rgba = new Uint8ClampedArray(width * height * 4);
  const padByte = Math.round(padValue * 255);
  for (let i = 0; i < rgba.length; i += 4) {
    rgba[i] = rgba[i + 1] = rgba[i + 2] = padByte;
    rgba[i + 3] = 255;
  }

  const plane = h * w;
  for (let k = 0; k < n; k++) {
    const left = (k % columns) * (w + padding) + padding;
    const top = Math.floor(k / columns) * (h + padding) + padding;
    const base = k * c * plane;
    // Channel planes for R, G, B (all the same plane for gray) and A.
    const red = base;
    const green = c === 1 ? base : base + plane;
    const blue = c === 1 ? base : base + 2 * plane;
    for (let y = 0; y < h; y++) {
      let out = ((top + y) * width + left) * 4;
      for (let x = 0; x < w; x++, out += 4) {
        const p = y * w + x;
        rgba[out] = toByte(images[red + p]!, lo, scale);
        rgba[out + 1] = toByte(images[green + p]!, lo, scale);
        rgba[out + 2] = toByte(images[blue + p]!, lo, scale);
        if (c === 4) rgba[out + 3] = toByte(images[base + 3 * plane + p]!, lo, scale);
      }
    }
  }
  return { width, height, rgba };
}

export type Rgb = readonly [r: number, g: number, b: number];

/** The colour under a transparent image when it becomes a tensor (rgbaToNchw), as on a white page. */
export const WHITE: Rgb = [255, 255, 255];

/**
 * An RGBA image composited over an opaque background colour ("source over", in sRGB values as browsers and
 * image editors do it, with straight — not premultiplied — alpha as PNG stores it):
 * out = (c·a + bg·(255 − a)) / 255, rounded. The result is opaque.
 */
export function compositeOver(image: RgbaImage, background: Rgb): RgbaImage {
  const { width, height, rgba } = image;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height * 4; i += 4) {
    const a = rgba[i + 3]!;
    for (let c = 0; c < 3; c++) out[i + c] = over(rgba[i + c]!, a, background[c]!);
    out[i + 3] = 255;
  }
  return { width, height, rgba: out };
}

/** One channel of compositeOver: colour c at alpha a over the background's bg, rounded half up. */
function over(c: number, a: number, bg: number): number {
  return a === 255 ? c : Math.round((c * a + bg * (255 - a)) / 255);
}

export interface ToTensorOptions {
  /** 3 for RGB (default) or 1 for ITU-R 601 luma. */
  channels?: 1 | 3;
  /** Output value range; byte 0 maps to lo and 255 to hi. Default [-1, 1]. */
  range?: ValueRange;
  /** The colour a pixel that is not opaque is composited over (compositeOver); default white. */
  background?: Rgb;
}

/**
 * Converts RGBA images of one size into an NCHW float batch. A pixel that is not opaque is composited over the
 * background first (compositeOver), so a transparent pixel reads as the background whatever colour the file stores
 * under it — the same values from a PNG decoder that keeps that colour (the CLI's) and from a browser canvas, which
 * holds colour premultiplied by alpha: over white or black the two agree exactly, since the offset bg·(255 − a)/255
 * is then a whole number and the canvas's premultiplied value is round(c·a/255).
 */
export function rgbaToNchw(images: RgbaImage | readonly RgbaImage[], options: ToTensorOptions = {}): Float32Array {
  const list = Array.isArray(images) ? (images as readonly RgbaImage[]) : [images as RgbaImage];
  const channels = options.channels ?? 3;
  const range = options.range ?? [-1, 1];
  const where = 'rgbaToNchw';
  if (channels !== 1 && channels !== 3) throw new Error(`${where}: channels must be 1 or 3, got ${channels}`);
  checkRange(range, where);
  if (list.length === 0) throw new Error(`${where}: no images given`);
  const { width, height } = list[0]!;
  const plane = width * height;
  const out = new Float32Array(list.length * channels * plane);
  const lo = range[0];
  const step = (range[1] - range[0]) / 255;
  const [bgR, bgG, bgB] = options.background ?? WHITE;
  list.forEach((image, k) => {
    checkImage(image, `${where} (image ${k})`);
    if (image.width !== width || image.height !== height) {
      throw new Error(`${where}: image ${k} is ${image.width}x${image.height} but image 0 is ${width}x${height}`);
    }
    const base = k * channels * plane;
    const { rgba } = image;
    for (let p = 0; p < plane; p++) {
      const a = rgba[p * 4 + 3]!;
      const r = over(rgba[p * 4]!, a, bgR);
      const g = over(rgba[p * 4 + 1]!, a, bgG);
      const b = over(rgba[p * 4 + 2]!, a, bgB);
      if (channels === 1) {
        out[base + p] = lo + (LUMA_601.r * r + LUMA_601.g * g + LUMA_601.b * b) * step;
      } else {
        out[base + p] = lo + r * step;
        out[base + plane + p] = lo + g * step;
        out[base + 2 * plane + p] = lo + b * step;
      }
    }
  });
  return out;
}

/** Converts image `index` of an NCHW batch (1 or 3 channels, values in `range`) to an opaque RGBA image. */
export function nchwToRgba(
  data: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  options: { index?: number; range?: ValueRange } = {},
): RgbaImage {
  const index = options.index ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= n)
    throw new Error(`nchwToRgba: index ${index} is outside the batch of ${n}`);
  if (c !== 1 && c !== 3) throw new Error(`nchwToRgba: channels must be 1 or 3, got ${c}`);
  checkTensor(data, n, c, h, w, 'nchwToRgba');
  const one = data.subarray(index * c * h * w, (index + 1) * c * h * w);
  return makeGrid(one, 1, c, h, w, { nrow: 1, padding: 0, range: options.range ?? [-1, 1] });
}

/** Gray version of an RGBA image using ITU-R 601 luma; alpha is kept. */
export function toGrayscale(image: RgbaImage): RgbaImage {
  checkImage(image, 'toGrayscale');
  const { rgba } = image;
  const out = new Uint8ClampedArray(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const luma = LUMA_601.r * rgba[i]! + LUMA_601.g * rgba[i + 1]! + LUMA_601.b * rgba[i + 2]!;
    out[i] = out[i + 1] = out[i + 2] = Math.floor(luma + 0.5);
    out[i + 3] = rgba[i + 3]!;
  }
  return { width: image.width, height: image.height, rgba: out };
}

/** Collapses a 3-channel NCHW batch to 1 channel with ITU-R 601 luma (values keep their range). */
export function grayscaleNchw(data: Float32Array, n: number, h: number, w: number): Float32Array {
  checkTensor(data, n, 3, h, w, 'grayscaleNchw');
  const plane = h * w;
  const out = new Float32Array(n * plane);
  for (let k = 0; k < n; k++) {
    const base = k * 3 * plane;
    for (let p = 0; p < plane; p++) {
      out[k * plane + p] =
        LUMA_601.r * data[base + p]! + LUMA_601.g * data[base + plane + p]! + LUMA_601.b * data[base + 2 * plane + p]!;
    }
  }
  return out;
}

/** The largest centred square of an image (the extra column/row of an odd difference goes to the right/bottom). */
export function centerCropToSquare(image: RgbaImage): RgbaImage {
  checkImage(image, 'centerCropToSquare');
  const side = Math.min(image.width, image.height);
  const left = Math.floor((image.width - side) / 2);
  const top = Math.floor((image.height - side) / 2);
  const out = new Uint8ClampedArray(side * side * 4);
  for (let y = 0; y < side; y++) {
    const start = ((top + y) * image.width + left) * 4;
    out.set(image.rgba.subarray(start, start + side * 4), y * side * 4);
  }
  return { width: side, height: side, rgba: out };
}

/**
 * Per output position, the source indices and weights of a triangle (bilinear) filter, with pixel centres
 * at +0.5. When shrinking, the triangle is widened by the shrink factor so every source pixel contributes
 * (as PIL does); without that, a large downscale would just sample a sparse subset and alias badly.
 */
function filterTaps(
  inSize: number,
  outSize: number,
): { start: Int32Array; count: Int32Array; weights: Float32Array; maxTaps: number } {
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1);
  const support = stretch; // triangle of radius 1 in output pixels = `stretch` source pixels
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const first = Math.max(0, Math.floor(centre - support));
    const last = Math.min(inSize, Math.ceil(centre + support));
    let total = 0;
    let taps = 0;
    for (let i = first; i < last; i++) {
      const weight = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / stretch));
      weights[o * maxTaps + taps++] = weight;
      total += weight;
    }
    for (let t = 0; t < taps; t++) weights[o * maxTaps + t] /= total;
    start[o] = first;
    count[o] = taps;
  }
  return { start, count, weights, maxTaps };
}

/** Separable resize of interleaved `channels`-per-pixel data: rows first, then columns. */
function resizeInterleaved(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  const horizontal = filterTaps(width, outWidth);
  const vertical = filterTaps(height, outHeight);
  const temp = new Float32Array(height * outWidth * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const first = horizontal.start[x]!;
      const taps = horizontal.count[x]!;
      for (let ch = 0; ch < channels; ch++) {
        let sum = 0;
        for (let t = 0; t < taps; t++)
          sum += horizontal.weights[x * horizontal.maxTaps + t]! * src[(y * width + first + t) * channels + ch]!;
        temp[(y * outWidth + x) * channels + ch] = sum;
      }
    }
  }
  const out = new Float32Array(outHeight * outWidth * channels);
  for (let y = 0; y < outHeight; y++) {
    const first = vertical.start[y]!;
    const taps = vertical.count[y]!;
    for (let x = 0; x < outWidth; x++) {
      for (let ch = 0; ch < channels; ch++) {
        let sum = 0;
        for (let t = 0; t < taps; t++)
          sum += vertical.weights[y * vertical.maxTaps + t]! * temp[((first + t) * outWidth + x) * channels + ch]!;
        out[(y * outWidth + x) * channels + ch] = sum;
      }
    }
  }
  return out;
}

function checkSize(width: number, height: number, where: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${where}: target size must be positive integers, got ${width}x${height}`);
  }
}

/**
 * Resizes an RGBA image with bilinear interpolation (pixel centres aligned, i.e. align_corners=false;
 * antialiased when shrinking). Colour is averaged with alpha as weight, so transparent pixels don't bleed
 * their (meaningless) colour into neighbours. The colour premultiplied by alpha is rounded to a byte, as a browser
 * canvas holds it: a canvas's decode of a file (whose colour it has divided by alpha again) then resizes to the very
 * values the file's own pixels do.
 */
export function bilinearResize(image: RgbaImage, width: number, height: number): RgbaImage {
  checkImage(image, 'bilinearResize');
  checkSize(width, height, 'bilinearResize');
  const { rgba } = image;
  const premultiplied = new Float32Array(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    premultiplied[i] = Math.round((rgba[i]! * a) / 255);
    premultiplied[i + 1] = Math.round((rgba[i + 1]! * a) / 255);
    premultiplied[i + 2] = Math.round((rgba[i + 2]! * a) / 255);
    premultiplied[i + 3] = a;
  }
  const resized = resizeInterleaved(premultiplied, image.width, image.height, 4, width, height);
  const out = new Uint8ClampedArray(resized.length);
  for (let i = 0; i < resized.length; i += 4) {
    const alpha = resized[i + 3]!;
    const unpremultiply = alpha > 0 ? 255 / alpha : 0;
    out[i] = Math.floor(resized[i]! * unpremultiply + 0.5);
    out[i + 1] = Math.floor(resized[i + 1]! * unpremultiply + 0.5);
    out[i + 2] = Math.floor(resized[i + 2]! * unpremultiply + 0.5);
    out[i + 3] = Math.floor(alpha + 0.5);
  }
  return { width, height, rgba: out };
}

/**
 * An image at size × size, as a folder's images are read for training (the CLI's loadImageFolder and the browser
 * page alike): its largest centred square (`crop` 'center'; 'resize' stretches the whole image), resized with
 * bilinearResize — unless it is already size × size, kept as it is (a resize would zero the colour of its fully
 * transparent pixels).
 */
export function squareAt(image: RgbaImage, size: number, crop: 'center' | 'resize' = 'center'): RgbaImage {
  const square = crop === 'center' ? centerCropToSquare(image) : image;
  return square.width === size && square.height === size ? square : bilinearResize(square, size, size);
}

/** Bilinear resize of every channel plane of an NCHW float batch (same filter as bilinearResize). */
export function bilinearResizeNchw(
  data: Float32Array,
  n: number,
  c: number,
  h: number,
  w: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  checkTensor(data, n, c, h, w, 'bilinearResizeNchw');
  checkSize(outWidth, outHeight, 'bilinearResizeNchw');
  const out = new Float32Array(n * c * outHeight * outWidth);
  for (let plane = 0; plane < n * c; plane++) {
    const resized = resizeInterleaved(data.subarray(plane * h * w, (plane + 1) * h * w), w, h, 1, outWidth, outHeight);
    out.set(resized, plane * outHeight * outWidth);
  }
  return out;
}

/** The default cap on an image's declared pixel count (width × height) before it is decoded: 100 megapixels,
 *  the limit jpeg-js has always applied to JPEG. A 718-byte PNG can declare 20000×20000 (1.6 GB of RGBA); the
 *  cap turns such a file into an error before anything is allocated. */
export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;

/** Throws when a decoder's declared size is unusable or above `maxPixels`; `name` (the file) is in the message. */
export function checkDeclaredImageSize(
  width: number,
  height: number,
  name: string,
  format: string,
  maxPixels: number = DEFAULT_MAX_IMAGE_PIXELS,
  how = '',
): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`readImage: ${name} is a corrupt or unsupported ${format}: its header declares ${width}x${height}`);
  }
  if (width * height > maxPixels) {
    const mp = (n: number) => `${+(n / 1e6).toFixed(1)} megapixels`;
    throw new Error(
      `readImage: ${name}: ${format} header declares ${width}x${height} (${mp(width * height)}), ` +
        `over the ${mp(maxPixels)} limit${how}`,
    );
  }
}

/** Width and height from a PNG's first chunk, which must be IHDR. */
export function pngDeclaredSize(bytes: Uint8Array, name: string): { width: number; height: number } {
  if (bytes.length < 8 + 8 + 13) {
    throw new Error(
      `readImage: ${name} is a corrupt or unsupported PNG: truncated (${bytes.length} bytes, too short for the IHDR header)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (type !== 'IHDR' || view.getUint32(8) !== 13) {
    throw new Error(
      `readImage: ${name} is a corrupt or unsupported PNG: it does not start with a 13-byte IHDR chunk (found ${JSON.stringify(type)})`,
    );
  }
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Width and height from a JPEG's first SOF marker, walking the marker segments without decoding anything. */
export function jpegDeclaredSize(bytes: Uint8Array, name: string): { width: number; height: number } {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) break;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or scan data before any frame header
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (at + 9 > bytes.length) break;
      const height = (bytes[at + 5]! << 8) | bytes[at + 6]!;
      const width = (bytes[at + 7]! << 8) | bytes[at + 8]!;
      return { width, height };
    }
    if (length < 2) break;
    at += 2 + length;
  }
  throw new Error(
    `readImage: ${name} is a corrupt or unsupported JPEG: no readable frame header (SOF marker) gives its size`,
  );
}

/**
 * The size an image file declares in its header, read without decoding: PNG (IHDR), JPEG (first SOF marker), GIF
 * (logical screen), BMP (info header) and WebP (VP8, VP8L or VP8X chunk); null for another or an unreadable format.
 * Used to refuse a decompression bomb (a small file declaring a huge image) before a decoder allocates its pixels.
 */
export function declaredImageSize(
  bytes: Uint8Array,
  name = 'image',
): { width: number; height: number; format: string } | null {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  const ascii = (at: number, n: number) => String.fromCharCode(...bytes.subarray(at, at + n));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
      return { ...pngDeclaredSize(bytes, name), format: 'PNG' };
    if (starts([0xff, 0xd8, 0xff])) return { ...jpegDeclaredSize(bytes, name), format: 'JPEG' };
    if (bytes.length >= 10 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a'))
      return { width: view.getUint16(6, true), height: view.getUint16(8, true), format: 'GIF' };
    if (bytes.length >= 26 && ascii(0, 2) === 'BM')
      return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)), format: 'BMP' };
    if (bytes.length >= 20 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
      const chunk = ascii(12, 4);
      if (chunk === 'VP8 ')
        return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff, format: 'WebP' };
      if (chunk === 'VP8L') {
        const b = view.getUint32(21, true);
        return { width: (b & 0x3fff) + 1, height: ((b >>> 14) & 0x3fff) + 1, format: 'WebP' };
      }
      if (chunk === 'VP8X' && bytes.length >= 30) {
        const w = bytes[24]! | (bytes[25]! << 8) | (bytes[26]! << 16);
        const h = bytes[27]! | (bytes[28]! << 8) | (bytes[29]! << 16);
        return { width: w + 1, height: h + 1, format: 'WebP' };
      }
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * The orientation an image file's Exif data records (tag 0x0112 of its first image directory: 1 as stored, 2
 * mirrored, 3 turned 180°, 4 flipped, 5 transposed, 6 turned 90° clockwise, 7 transversed, 8 turned 90°
 * anticlockwise) — how a camera held sideways says which way is up. Read where Chromium reads it: a JPEG's first
 * APP1 "Exif" segment, a PNG's first eXIf chunk before its image data. 1 for another format, when the file records
 * none, for a value outside 1–8, or for Exif data that cannot be read (damaged metadata is not an error: the pixels
 * are still there, as they are to a browser).
 */
export function imageOrientation(bytes: Uint8Array): number {
  if ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b)) return pngOrientation(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpegOrientation(bytes);
  return 1;
}

function pngOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 8 <= bytes.length;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === 'IDAT' || type === 'IEND' || at + 12 + length > bytes.length) break;
    if (type === 'eXIf') return exifOrientation(bytes.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  return 1;
}

function jpegOrientation(bytes: Uint8Array): number {
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // the end, or the image data: Exif comes before them
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2 || at + 2 + length > bytes.length) break;
    const body = bytes.subarray(at + 4, at + 2 + length);
    if (marker === 0xe1 && body.length >= 6 && String.fromCharCode(...body.subarray(0, 6)) === 'Exif\0\0')
      return exifOrientation(body.subarray(6));
    at += 2 + length;
  }
  return 1;
}

/** The orientation tag of a TIFF structure's first directory (Exif's layout), 1 where it is absent or unreadable. */
function exifOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 1;
  const order = String.fromCharCode(tiff[0]!, tiff[1]!);
  if (order !== 'II' && order !== 'MM') return 1;
  const little = order === 'II';
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, little) !== 42) return 1;
  const dir = view.getUint32(4, little);
  if (dir + 2 > tiff.length) return 1;
  const entries = view.getUint16(dir, little);
  for (let i = 0; i < entries; i++) {
    const entry = dir + 2 + 12 * i;
    if (entry + 12 > tiff.length) return 1;
    // tag 0x0112, type SHORT, one value, held in the entry itself
    if (view.getUint16(entry, little) !== 0x0112) continue;
    if (view.getUint16(entry + 2, little) !== 3 || view.getUint32(entry + 4, little) !== 1) return 1;
    const value = view.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/**
 * The image as it is meant to be seen, given its Exif orientation (imageOrientation): mirrored and turned as a
 * browser shows it. Orientations 5–8 swap width and height. 1 (or any other value) returns the image itself.
 */
export function orientImage(image: RgbaImage, orientation: number): RgbaImage {
  if (!(orientation >= 2 && orientation <= 8) || !Number.isInteger(orientation)) return image;
  const { width: w, height: h, rgba } = image;
  const swap = orientation >= 5;
  const [width, height] = swap ? [h, w] : [w, h];
  // the stored pixel (sx, sy) shown at (x, y)
  const from: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * w + (w - 1 - x),
    3: (x: number, y: number) => (h - 1 - y) * w + (w - 1 - x),
    4: (x: number, y: number) => (h - 1 - y) * w + x,
    5: (x: number, y: number) => x * w + y,
    6: (x: number, y: number) => (h - 1 - x) * w + y,
    7: (x: number, y: number) => (h - 1 - x) * w + (w - 1 - y),
    8: (x: number, y: number) => x * w + (w - 1 - y),
  }[orientation as 2 | 3 | 4 | 5 | 6 | 7 | 8];
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const s = from(x, y) * 4;
      const d = (y * width + x) * 4;
      out[d] = rgba[s]!;
      out[d + 1] = rgba[s + 1]!;
      out[d + 2] = rgba[s + 2]!;
      out[d + 3] = rgba[s + 3]!;
    }
  return { width, height, rgba: out };
}
