import { describe, expect, it } from 'vitest';
import {
  bilinearResize,
  bilinearResizeNchw,
  centerCropToSquare,
  checkDeclaredImageSize,
  compositeOver,
  declaredImageSize,
  grayscaleNchw,
  imageOrientation,
  makeGrid,
  nchwToRgba,
  orientImage,
  rgbaToNchw,
  toGrayscale,
  WHITE,
  type RgbaImage,
} from '../src/io/image.ts';
import { encodePng } from '../src/node/png.ts';
import jpeg from 'jpeg-js';
import { exifTiff, jpegExifSegment, jpegWith, pngChunk, pngWith, smallJpeg, smallPng } from './loader-fixtures.ts';

function pixel(image: RgbaImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 4;
  return [...image.rgba.subarray(i, i + 4)];
}

function imageFrom(width: number, height: number, pixels: number[][]): RgbaImage {
  return { width, height, rgba: new Uint8ClampedArray(pixels.flat()) };
}

describe('makeGrid', () => {
  it('tiles gray images with padding like torchvision', () => {
    // Three 1x2x2 images in [-1, 1]; 2 per row, padding 1 -> 2 columns x 2 rows of 3-pixel cells + 1.
    const images = new Float32Array([
      -1,
      1,
      0,
      1, // image 0
      0.5,
      -0.5,
      2,
      -3, // image 1 (2 and -3 are clamped)
      1,
      1,
      1,
      1, // image 2
    ]);
    const grid = makeGrid(images, 3, 1, 2, 2, { nrow: 2, padding: 1, padValue: 1 });
    expect(grid.width).toBe(7);
    expect(grid.height).toBe(7);
    expect(grid.rgba.length).toBe(7 * 7 * 4);
    expect(pixel(grid, 0, 0)).toEqual([255, 255, 255, 255]); // padding is white
    expect(pixel(grid, 1, 1)).toEqual([0, 0, 0, 255]); // -1 -> black, gray copied to R, G, B
    expect(pixel(grid, 2, 1)).toEqual([255, 255, 255, 255]);
    expect(pixel(grid, 1, 2)).toEqual([128, 128, 128, 255]); // 0 -> 127.5 rounds up
    expect(pixel(grid, 4, 1)).toEqual([191, 191, 191, 255]); // 0.5 -> 191.25
    expect(pixel(grid, 5, 1)).toEqual([64, 64, 64, 255]);
    expect(pixel(grid, 4, 2)).toEqual([255, 255, 255, 255]);
    expect(pixel(grid, 5, 2)).toEqual([0, 0, 0, 255]);
    expect(pixel(grid, 1, 4)).toEqual([255, 255, 255, 255]); // image 2 starts row 2
    // The empty fourth cell stays padding; with black padding it is black.
    const black = makeGrid(images, 3, 1, 2, 2, { nrow: 2, padding: 1 });
    expect(pixel(black, 4, 4)).toEqual([0, 0, 0, 255]);
    expect(pixel(black, 3, 3)).toEqual([0, 0, 0, 255]);
  });

  it('maps RGB channels, a custom range, and minmax', () => {
    // One 3x1x2 image in [0, 1]: pixel 0 = (1, 0, 0.2), pixel 1 = (0, 1, 1).
    const image = new Float32Array([1, 0, 0, 1, 0.2, 1]);
    const grid = makeGrid(image, 1, 3, 1, 2, { padding: 0, range: [0, 1] });
    expect([grid.width, grid.height]).toEqual([2, 1]);
    expect(pixel(grid, 0, 0)).toEqual([255, 0, 51, 255]);
    expect(pixel(grid, 1, 0)).toEqual([0, 255, 255, 255]);
    const stretched = makeGrid(new Float32Array([10, 20, 30, 40]), 1, 1, 2, 2, { padding: 0, range: 'minmax' });
    expect(pixel(stretched, 0, 0)[0]).toBe(0);
    expect(pixel(stretched, 1, 1)[0]).toBe(255);
    expect(pixel(stretched, 1, 0)[0]).toBe(85);
  });

  it('uses nrow = min(nrow, n) columns', () => {
    const grid = makeGrid(new Float32Array(3 * 4), 3, 1, 2, 2, { nrow: 8, padding: 2 });
    expect([grid.width, grid.height]).toEqual([3 * 4 + 2, 4 + 2]);
  });

  it('rejects bad input with the reason', () => {
    expect(() => makeGrid(new Float32Array(7), 2, 1, 2, 2)).toThrow(/shape \[2, 1, 2, 2\] needs 8 values, got 7/);
    expect(() => makeGrid(new Float32Array(8), 1, 2, 2, 2)).toThrow(/channels must be 1, 3 or 4, got 2/);
    expect(() => makeGrid(new Float32Array(4), 1, 1, 2, 2, { range: [1, 1] })).toThrow(/hi > lo/);
    expect(() => makeGrid(new Float32Array(4), 1, 1, 2, 2, { padValue: 2 })).toThrow(/padValue must be in \[0, 1\]/);
  });
});

describe('conversions', () => {
  const image = imageFrom(2, 1, [
    [255, 0, 0, 255],
    [0, 128, 255, 255],
  ]);

  it('RGBA -> NCHW in [-1, 1] and [0, 1]', () => {
    const signed = rgbaToNchw(image);
    expect(signed.length).toBe(6);
    expect([...signed]).toEqual([1, -1, -1, expect.closeTo(128 / 127.5 - 1, 6), -1, 1]);
    const unit = rgbaToNchw([image, image], { range: [0, 1] });
    expect(unit.length).toBe(12);
    expect(unit[7]).toBeCloseTo(0, 7); // image 1, R of pixel 1
    expect(unit[9]).toBeCloseTo(128 / 255, 6);
    const gray = rgbaToNchw(image, { channels: 1, range: [0, 255] });
    expect(gray[0]).toBeCloseTo(0.299 * 255, 4);
    expect(gray[1]).toBeCloseTo(0.587 * 128 + 0.114 * 255, 4);
  });

  it('a pixel that is not opaque is composited over the background (white unless given) first', () => {
    // colour stored under alpha 0, 1, 128, 254 and 255: the float64 "source over" of each, rounded to a byte
    const alphas = [0, 1, 128, 254, 255];
    const stored = [200, 13, 77];
    const translucent = imageFrom(
      5,
      1,
      alphas.map((a) => [...stored, a]),
    );
    for (const [background, given] of [
      [[255, 255, 255], undefined],
      [
        [0, 0, 0],
        [0, 0, 0],
      ],
      [
        [30, 140, 250],
        [30, 140, 250],
      ],
    ] as const) {
      const unit = rgbaToNchw(translucent, { range: [0, 255], ...(given ? { background: given } : {}) });
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < 5; p++) {
          const a = alphas[p]!;
          const want = Math.floor((stored[c]! * a + background[c]! * (255 - a)) / 255 + 0.5);
          expect(unit[c * 5 + p], `channel ${c}, alpha ${a}, over ${background}`).toBeCloseTo(want, 4);
        }
      // gray is the luma of the composited colour
      const gray = rgbaToNchw(translucent, { channels: 1, range: [0, 255], ...(given ? { background: given } : {}) });
      for (let p = 0; p < 5; p++) {
        const [r, g, b] = [0, 1, 2].map((c) => unit[c * 5 + p]!);
        expect(gray[p]).toBeCloseTo(0.299 * r! + 0.587 * g! + 0.114 * b!, 3);
      }
    }
    // the same as compositing first, then converting the opaque image
    expect(rgbaToNchw(translucent, { background: [30, 140, 250] })).toEqual(
      rgbaToNchw(compositeOver(translucent, [30, 140, 250])),
    );
    // what a browser canvas gives for these pixels (colour premultiplied, then divided again) reads the same over
    // white and black: its premultiplied value is round(c·a/255), and the offset is a whole number
    const canvasLike = imageFrom(
      5,
      1,
      alphas.map((a) => [
        ...stored.map((c) => (a === 0 ? 0 : Math.min(255, Math.round((Math.round((c * a) / 255) * 255) / a)))),
        a,
      ]),
    );
    for (const background of [WHITE, [0, 0, 0] as const])
      expect(rgbaToNchw(canvasLike, { background })).toEqual(rgbaToNchw(translucent, { background }));
  });

  it('NCHW -> RGBA inverts RGBA -> NCHW exactly', () => {
    const bytes: number[][] = [];
    for (let i = 0; i < 12; i++) bytes.push([i * 21, 255 - i * 20, (i * 77) % 256, 255]);
    const original = imageFrom(4, 3, bytes);
    for (const range of [
      [-1, 1],
      [0, 1],
    ] as const) {
      const tensor = rgbaToNchw([original, original], { range });
      const back = nchwToRgba(tensor, 2, 3, 3, 4, { index: 1, range });
      expect(back.width).toBe(4);
      expect(back.height).toBe(3);
      expect([...back.rgba]).toEqual([...original.rgba]);
    }
    expect(() => nchwToRgba(new Float32Array(12), 1, 3, 2, 2, { index: 1 })).toThrow(
      /index 1 is outside the batch of 1/,
    );
  });

  it('grayscale uses ITU-R 601 luma', () => {
    const colours = imageFrom(4, 1, [
      [255, 0, 0, 255],
      [0, 255, 0, 255],
      [0, 0, 255, 200],
      [10, 10, 10, 255],
    ]);
    const gray = toGrayscale(colours);
    expect(pixel(gray, 0, 0)).toEqual([76, 76, 76, 255]);
    expect(pixel(gray, 1, 0)).toEqual([150, 150, 150, 255]);
    expect(pixel(gray, 2, 0)).toEqual([29, 29, 29, 200]);
    expect(pixel(gray, 3, 0)).toEqual([10, 10, 10, 255]);
    const planes = grayscaleNchw(new Float32Array([1, 0, 0, 1, 0, 0]), 1, 1, 2);
    expect(planes[0]).toBeCloseTo(0.299, 6);
    expect(planes[1]).toBeCloseTo(0.587, 6);
  });

  it('reports mismatched buffers', () => {
    expect(() => toGrayscale({ width: 2, height: 2, rgba: new Uint8ClampedArray(15) })).toThrow(
      /2x2 RGBA image needs 16 bytes, got 15/,
    );
    expect(() => rgbaToNchw([image, imageFrom(1, 1, [[0, 0, 0, 0]])])).toThrow(/image 1 is 1x1 but image 0 is 2x1/);
  });
});

describe('crop and resize', () => {
  it('centre-crops to the largest square', () => {
    const pixels: number[][] = [];
    for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) pixels.push([x, y, 0, 255]);
    const square = centerCropToSquare(imageFrom(5, 3, pixels));
    expect([square.width, square.height]).toEqual([3, 3]);
    expect(pixel(square, 0, 0)).toEqual([1, 0, 0, 255]);
    expect(pixel(square, 2, 2)).toEqual([3, 2, 0, 255]);
    const tall = centerCropToSquare(
      imageFrom(1, 4, [
        [0, 0, 0, 255],
        [1, 0, 0, 255],
        [2, 0, 0, 255],
        [3, 0, 0, 255],
      ]),
    );
    expect([tall.width, tall.height]).toEqual([1, 1]);
    expect(pixel(tall, 0, 0)[0]).toBe(1);
  });

  it('upscales like align_corners=false bilinear', () => {
    const wide = bilinearResize(
      imageFrom(2, 1, [
        [0, 0, 0, 255],
        [255, 100, 0, 255],
      ]),
      4,
      1,
    );
    // Output centres map to source x = -0.25, 0.25, 0.75, 1.25 (clamped at the edges).
    expect(pixel(wide, 0, 0)).toEqual([0, 0, 0, 255]);
    expect(pixel(wide, 1, 0)).toEqual([64, 25, 0, 255]);
    expect(pixel(wide, 2, 0)).toEqual([191, 75, 0, 255]);
    expect(pixel(wide, 3, 0)).toEqual([255, 100, 0, 255]);
  });

  it('averages every source pixel when shrinking', () => {
    const row = imageFrom(4, 1, [
      [0, 0, 0, 255],
      [100, 0, 0, 255],
      [200, 0, 0, 255],
      [255, 0, 0, 255],
    ]);
    const half = bilinearResize(row, 2, 1);
    // Triangle of radius 2 source pixels around x = 1: weights 0.75, 0.75, 0.25 for pixels 0, 1, 2.
    expect(pixel(half, 0, 0)[0]).toBe(Math.round((0.75 * 100 + 0.25 * 200) / 1.75));
    expect(pixel(half, 1, 0)[0]).toBe(Math.round((0.25 * 100 + 0.75 * 200 + 0.75 * 255) / 1.75));
    // A checkerboard shrunk 4x becomes flat gray rather than aliasing to black or white.
    const board: number[][] = [];
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++) board.push((x + y) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255]);
    const small = bilinearResize(imageFrom(16, 16, board), 4, 4);
    for (let i = 0; i < 16; i++) expect(Math.abs(small.rgba[i * 4]! - 127.5)).toBeLessThan(12);
  });

  it('keeps transparent pixels from bleeding colour', () => {
    const image = imageFrom(2, 1, [
      [255, 0, 0, 255],
      [0, 0, 255, 0],
    ]);
    const resized = bilinearResize(image, 4, 1);
    expect(pixel(resized, 1, 0)).toEqual([255, 0, 0, 191]);
    expect(pixel(resized, 2, 0)).toEqual([255, 0, 0, 64]);
  });

  it('resizes NCHW planes, identity at the same size', () => {
    const data = new Float32Array([1, 2, 3, 4, -1, -2, -3, -4]);
    expect(bilinearResizeNchw(data, 1, 2, 2, 2, 2, 2)).toEqual(data);
    const up = bilinearResizeNchw(data, 2, 1, 2, 2, 4, 4);
    expect(up.length).toBe(32);
    expect(up[0]).toBeCloseTo(1, 6);
    expect(up[5]).toBeCloseTo(1 + 0.25 * 1 + 0.25 * 2, 6); // source (0.25, 0.25)
    expect(up[16 + 15]).toBeCloseTo(-4, 6);
    expect(() => bilinearResizeNchw(data, 1, 2, 2, 2, 0, 2)).toThrow(/target size must be positive integers/);
  });
});

describe('declaredImageSize: the size in an image header, read without decoding', () => {
  const le16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
  const le24 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff];
  const le32 = (v: number) => [...le16(v & 0xffff), ...le16(v >>> 16)];
  const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
  const bytes = (...parts: number[][]) => Uint8Array.from(parts.flat());

  it('PNG and JPEG as the encoders write them', () => {
    const image = { width: 7, height: 3, rgba: new Uint8ClampedArray(7 * 3 * 4).fill(200) };
    expect(declaredImageSize(encodePng(image))).toEqual({ width: 7, height: 3, format: 'PNG' });
    const jpg = jpeg.encode({ width: 5, height: 9, data: Buffer.alloc(5 * 9 * 4, 128) }, 80).data;
    expect(declaredImageSize(new Uint8Array(jpg))).toEqual({ width: 5, height: 9, format: 'JPEG' });
  });

  it('GIF, BMP (top-down rows give a negative height) and the three WebP headers', () => {
    expect(declaredImageSize(bytes(ascii('GIF89a'), le16(20000), le16(300)))).toEqual({
      width: 20000,
      height: 300,
      format: 'GIF',
    });
    const bmp = bytes(ascii('BM'), new Array(16).fill(0), le32(640), le32(-480 >>> 0), [0, 0]);
    expect(declaredImageSize(bmp)).toEqual({ width: 640, height: 480, format: 'BMP' });
    const riff = (chunk: string, body: number[]) =>
      bytes(ascii('RIFF'), le32(4 + 8 + body.length), ascii('WEBP'), ascii(chunk), le32(body.length), body);
    // VP8X: flags, 3 reserved bytes, then width − 1 and height − 1 in 24 bits each.
    expect(declaredImageSize(riff('VP8X', [0, 0, 0, 0, ...le24(16383), ...le24(99)]))).toEqual({
      width: 16384,
      height: 100,
      format: 'WebP',
    });
    // VP8L: signature 0x2f, then width − 1 and height − 1 in 14 bits each.
    expect(declaredImageSize(riff('VP8L', [0x2f, ...le32(((50 - 1) | ((70 - 1) << 14)) >>> 0), 0]))).toEqual({
      width: 50,
      height: 70,
      format: 'WebP',
    });
    // VP8 (lossy): a 3-byte frame tag, the start code 9d 01 2a, then 14-bit width and height.
    expect(declaredImageSize(riff('VP8 ', [0, 0, 0, 0x9d, 0x01, 0x2a, ...le16(321), ...le16(123), 0, 0]))).toEqual({
      width: 321,
      height: 123,
      format: 'WebP',
    });
  });

  it('null for other formats, text and truncated or damaged headers', () => {
    for (const b of [
      bytes(ascii('hello, world')),
      bytes([]),
      bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), // PNG signature, nothing after it
      bytes([0xff, 0xd8, 0xff, 0xd9]), // JPEG without a frame header
      bytes(ascii('GIF89a'), [1]),
    ])
      expect(declaredImageSize(b)).toBeNull();
  });

  it('a declared size over the cap is refused with the file, the format and both sizes named', () => {
    const bomb = bytes(ascii('GIF89a'), le16(20000), le16(20000));
    const d = declaredImageSize(bomb, 'bomb.gif')!;
    expect(() => checkDeclaredImageSize(d.width, d.height, 'bomb.gif', d.format)).toThrow(
      'readImage: bomb.gif: GIF header declares 20000x20000 (400 megapixels), over the 100 megapixels limit',
    );
  });
});

describe('Exif orientation: an image turned upright as browsers show it', () => {
  // 3 × 2 pixels, each a different value, so that every pixel's place can be checked
  const stored = imageFrom(
    3,
    2,
    Array.from({ length: 6 }, (_, i) => [i * 40, 255 - i * 40, i, 200 + i]),
  );
  // where the stored pixel (x, y) of a w × h image is shown, for each orientation: the standard's words (mirror
  // left-right, turn 180°, mirror top-bottom, transpose, turn 90° clockwise, transverse, turn 90° anticlockwise)
  // written as the place each stored pixel goes to — the opposite direction from orientImage's lookup
  const goesTo: Record<number, (x: number, y: number, w: number, h: number) => [number, number]> = {
    1: (x, y) => [x, y],
    2: (x, y, w) => [w - 1 - x, y],
    3: (x, y, w, h) => [w - 1 - x, h - 1 - y],
    4: (x, y, _w, h) => [x, h - 1 - y],
    5: (x, y) => [y, x],
    6: (x, y, _w, h) => [h - 1 - y, x],
    7: (x, y, w, h) => [h - 1 - y, w - 1 - x],
    8: (x, y, w) => [y, w - 1 - x],
  };

  it('orientImage puts every pixel where its orientation says, 5–8 swapping width and height', () => {
    for (let o = 1; o <= 8; o++) {
      const shown = orientImage(stored, o);
      expect([shown.width, shown.height], `orientation ${o}`).toEqual(o >= 5 ? [2, 3] : [3, 2]);
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 3; x++) {
          const [sx, sy] = goesTo[o]!(x, y, 3, 2);
          expect(pixel(shown, sx, sy), `orientation ${o}, stored pixel (${x}, ${y})`).toEqual(pixel(stored, x, y));
        }
    }
    // turned clockwise, the left column becomes the top row
    const turned = orientImage(
      imageFrom(2, 1, [
        [1, 1, 1, 255],
        [2, 2, 2, 255],
      ]),
      6,
    );
    expect([turned.width, turned.height, turned.rgba[0], turned.rgba[4]]).toEqual([1, 2, 1, 2]);
    // 1, and values that are no orientation, leave the image as it is
    for (const o of [1, 0, 9, 2.5, NaN]) expect(orientImage(stored, o)).toBe(stored);
  });

  it('imageOrientation reads a JPEG’s Exif segment and a PNG’s eXIf chunk, in either byte order', () => {
    for (let o = 1; o <= 8; o++)
      for (const little of [false, true]) {
        expect(imageOrientation(jpegWith(smallJpeg(), jpegExifSegment(exifTiff(o, little)))), `JPEG ${o}`).toBe(o);
        expect(imageOrientation(pngWith(smallPng(), [pngChunk('eXIf', exifTiff(o, little))])), `PNG ${o}`).toBe(o);
      }
    // after another segment (a JFIF header), and the first of two (as Chromium takes it)
    const jfif = Uint8Array.from([0xff, 0xe0, 0, 4, 0, 0]);
    expect(imageOrientation(jpegWith(smallJpeg(), jfif, jpegExifSegment(exifTiff(6))))).toBe(6);
    expect(imageOrientation(jpegWith(smallJpeg(), jpegExifSegment(exifTiff(6)), jpegExifSegment(exifTiff(3))))).toBe(6);
    expect(imageOrientation(pngWith(smallPng(), [pngChunk('eXIf', exifTiff(8)), pngChunk('eXIf', exifTiff(3))]))).toBe(
      8,
    );
  });

  it('imageOrientation is 1 where no orientation can be read, without an error', () => {
    const tiff = exifTiff(6);
    const cases: [string, Uint8Array][] = [
      ['a JPEG without Exif', smallJpeg()],
      ['a PNG without eXIf', smallPng()],
      ['an eXIf chunk after the image data (Chromium ignores it)', pngWith(smallPng(), [pngChunk('eXIf', tiff)], true)],
      ['orientation 9', jpegWith(smallJpeg(), jpegExifSegment(exifTiff(9)))],
      ['orientation 0', jpegWith(smallJpeg(), jpegExifSegment(exifTiff(0)))],
      ['the entry as a LONG', jpegWith(smallJpeg(), jpegExifSegment(exifTiff(6, false, { type: 4, count: 1 })))],
      ['the entry with 2 values', jpegWith(smallJpeg(), jpegExifSegment(exifTiff(6, false, { type: 3, count: 2 })))],
      ['a TIFF header cut after 6 bytes', jpegWith(smallJpeg(), jpegExifSegment(tiff.subarray(0, 6)))],
      ['the directory cut inside its entry', jpegWith(smallJpeg(), jpegExifSegment(tiff.subarray(0, 16)))],
      [
        'a byte order that is neither',
        jpegWith(smallJpeg(), jpegExifSegment(Uint8Array.from([0x41, 0x41, ...tiff.subarray(2)]))),
      ],
      [
        'a directory offset past the end',
        jpegWith(
          smallJpeg(),
          jpegExifSegment(Uint8Array.from([...tiff.subarray(0, 4), 0, 0, 9, 0, ...tiff.subarray(8)])),
        ),
      ],
      [
        'a segment longer than the file',
        Uint8Array.from([
          0xff,
          0xd8,
          0xff,
          0xe1,
          0xff,
          0xff,
          ...'Exif\0\0'.split('').map((c) => c.charCodeAt(0)),
          ...tiff,
        ]),
      ],
      ['neither PNG nor JPEG', Uint8Array.from(tiff)],
      ['nothing', new Uint8Array(0)],
    ];
    for (const [what, bytes] of cases) expect(imageOrientation(bytes), what).toBe(1);
  });
});
