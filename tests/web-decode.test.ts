/**
 * The GAN page reads a picked folder's images in Workers through squareAt (src/io/image.ts); the CLI's
 * loadImageFolder calls it too. Given the same decoded pixels both give the same training values: checked here on
 * PNGs the test writes, one of them already square at the size with transparent pixels, which squareAt keeps as it
 * is. The decoders themselves differ in one way: the browser's canvas holds colour premultiplied by alpha, so a
 * transparent pixel's colour reads 0 and a half-transparent one's is rounded; rgbaToNchw composites such pixels over
 * white, and bilinearResize premultiplies as the canvas does, so the canvas's values and the file's give the same
 * training values (checked here, resized or not). Both turn an image by its Exif orientation (tests/io-node.test.ts), and a
 * JPEG's pixels differ by the decoders' rounding.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rgbaToNchw, squareAt, type RgbaImage } from '../src/io/image.ts';
import { writePng } from '../src/node/png.ts';
import { loadImageFolder } from '../src/node/datasets.ts';

/** A width × height image whose pixels all differ (a seeded hash), alpha given per pixel. */
function picture(width: number, height: number, alpha: (x: number, y: number) => number): RgbaImage {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const h = Math.imul((x * 73856093) ^ (y * 19349663), 2654435761) >>> 0;
      rgba.set([h & 255, (h >>> 8) & 255, (h >>> 16) & 255, alpha(x, y)], i);
    }
  return { width, height, rgba };
}

describe("squareAt: a folder's images on the page as the CLI reads them", () => {
  it('gives loadImageFolder’s values for a wide, a tall, a small and an already square partly transparent image', () => {
    const dir = mkdtempSync(join(tmpdir(), 'web-decode-'));
    try {
      const size = 16;
      const images = [
        picture(40, 24, () => 255), // wide: cropped, shrunk
        picture(21, 50, (x) => (x * 12) % 256), // tall, alpha varying: cropped, shrunk
        picture(9, 9, () => 255), // small: grown
        picture(16, 16, (x, y) => ((x + y) % 2 ? 128 : 0)), // square at the size, partly transparent: kept as it is
      ];
      images.forEach((im, i) => writePng(join(dir, `${i}.png`), im));
      const cli = loadImageFolder(dir, { size });
      const plane = 3 * size * size;
      let largest = 0;
      images.forEach((im, i) => {
        const page = rgbaToNchw(squareAt(im, size), { range: [-1, 1] });
        const theirs = cli.images.subarray(i * plane, (i + 1) * plane);
        expect(Array.from(page)).toEqual(Array.from(theirs));
        largest = Math.max(largest, ...page.map((v) => Math.abs(v)));
      });
      expect(largest).toBeGreaterThan(0.9); // real pictures, not blank ones
      // the square one is its own pixels (a resize at the same size zeroes the colour where alpha is 0)
      expect(squareAt(images[3], size).rgba).toEqual(images[3].rgba);
      // as a canvas gives them (colour premultiplied by alpha and divided again: 0 where alpha is 0), the same values:
      // the partly transparent ones too, shrunk (image 1) or kept (image 3)
      images.forEach((im, i) => {
        const { rgba } = im;
        const canvas = rgba.map((v, j) => {
          const a = rgba[j - (j % 4) + 3]!;
          return j % 4 === 3 ? v : a === 0 ? 0 : Math.round((Math.round((v * a) / 255) * 255) / a);
        });
        if (i === 1 || i === 3) expect(canvas).not.toEqual(rgba);
        const fromCanvas = rgbaToNchw(squareAt({ ...im, rgba: canvas }, size), { range: [-1, 1] });
        expect(Array.from(fromCanvas), `image ${i}`).toEqual(
          Array.from(cli.images.subarray(i * plane, (i + 1) * plane)),
        );
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
