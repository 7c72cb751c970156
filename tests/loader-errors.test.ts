/**
 * Issue 18: a PNG declaring 20000×20000 in 700 bytes, damaged Keras .h5 files, and safetensors errors that
 * name their file. Every file is written here.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx } from '../src/data/idx.ts';
import { decodeSafetensors, decodeSafetensorsMetadata, encodeSafetensors } from '../src/io/safetensors.ts';
import { checkLabelledFolder, datasetByName, loadImageFolder, loadLabelledFolder } from '../src/node/datasets.ts';
import { formatLabels } from '../src/data/labels.ts';
import { decodeImage, maxImagePixels, readImage } from '../src/node/png.ts';
import { loadFeatureNetFile, readKerasH5 } from '../src/node/style-weights.ts';
import { loadInputImage } from '../src/cli/style.ts';
import {
  globalHeapOffset,
  handPng,
  jpegDeclaring,
  pngDeclaring,
  pngRawBytes,
  smallPng,
  writeTinyKerasH5,
} from './loader-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'loader-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CAP = 'over the 100 megapixels limit (set WGPU_GAN_MAX_PIXELS to raise it)';

describe('pixel cap (PNG and JPEG), checked on the declared size before decoding', () => {
  const bomb = join(dir, 'bomb.png');
  writeFileSync(bomb, pngDeclaring(20000, 20000));
  const jpegBomb = join(dir, 'bomb.jpg');
  writeFileSync(jpegBomb, jpegDeclaring(60000, 50000));

  it('refuses a 20000×20000 PNG header at once, naming the file and the size', () => {
    expect(readFileSync(bomb).length).toBeLessThan(1000);
    const before = process.memoryUsage().rss;
    const start = performance.now();
    expect(() => readImage(bomb)).toThrow(
      `readImage: ${bomb}: PNG header declares 20000x20000 (400 megapixels), ${CAP}`,
    );
    expect(performance.now() - start).toBeLessThan(1000);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  it('refuses a JPEG the same way (one cap for both)', () => {
    expect(() => readImage(jpegBomb)).toThrow(
      `readImage: ${jpegBomb}: JPEG header declares 60000x50000 (3000 megapixels), ${CAP}`,
    );
  });

  it('takes the cap from WGPU_GAN_MAX_PIXELS or the maxPixels option', () => {
    const small = join(dir, 'small.png');
    writeFileSync(small, smallPng(8, 6));
    expect(readImage(small).width).toBe(8);
    expect(() => readImage(small, { maxPixels: 47 })).toThrow(
      `readImage: ${small}: PNG header declares 8x6 (0 megapixels), over the 0 megapixels limit`,
    );
    process.env.WGPU_GAN_MAX_PIXELS = '40';
    try {
      expect(maxImagePixels()).toBe(40);
      expect(() => readImage(small)).toThrow(/declares 8x6 .*set WGPU_GAN_MAX_PIXELS to raise it/);
      expect(readImage(small, { maxPixels: 48 }).height).toBe(6);
      process.env.WGPU_GAN_MAX_PIXELS = 'lots';
      expect(() => readImage(small)).toThrow('WGPU_GAN_MAX_PIXELS=lots: must be a positive integer');
    } finally {
      delete process.env.WGPU_GAN_MAX_PIXELS;
    }
    expect(() => decodeImage(pngDeclaring(0, 5), 'zero.png')).toThrow(
      'readImage: zero.png is a corrupt or unsupported PNG: its header declares 0x5',
    );
  });

  it('applies to style --content / --style', () => {
    expect(() => loadInputImage(bomb, '--content')).toThrow(
      `--content: readImage: ${bomb}: PNG header declares 20000x20000 (400 megapixels), ${CAP}`,
    );
    expect(() => loadInputImage(jpegBomb, '--style')).toThrow(`--style: readImage: ${jpegBomb}: JPEG header declares`);
  });

  it('applies to a training image folder', async () => {
    const folder = join(dir, 'train');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.png'), smallPng());
    writeFileSync(join(folder, 'b.png'), pngDeclaring(20000, 20000));
    const message = `readImage: ${join(folder, 'b.png')}: PNG header declares 20000x20000 (400 megapixels), ${CAP}`;
    expect(() => loadImageFolder(folder, { size: 8 })).toThrow(message);
    await expect(datasetByName(folder, { size: 8 })).rejects.toThrow(message);
  });
});

describe("a PNG's image data is checked against its header before decoding", () => {
  // pngjs 7 fills image data that stops early with uninitialised memory (a different picture on every read) and
  // inflates an interlaced image's data with no bound; src/node/png.ts inflates it first, capped at the declared size.
  const rgba = (x: number, y: number, c: number) => (x * 31 + y * 17 + c * 59) & 0xff;
  const cases = [
    { name: 'RGBA 8-bit, 13×7', width: 13, height: 7, colorType: 6, depth: 8, bpp: 32 },
    { name: 'RGBA 8-bit, 13×7, interlaced', width: 13, height: 7, colorType: 6, depth: 8, bpp: 32, interlace: true },
    { name: 'grey 1-bit, 11×9, interlaced', width: 11, height: 9, colorType: 0, depth: 1, bpp: 1, interlace: true },
    { name: 'grey 4-bit, 3×2, interlaced', width: 3, height: 2, colorType: 0, depth: 4, bpp: 4, interlace: true },
    {
      name: 'grey+alpha 16-bit, 5×1, interlaced',
      width: 5,
      height: 1,
      colorType: 4,
      depth: 16,
      bpp: 32,
      interlace: true,
    },
    { name: 'RGB 8-bit, 1×9, interlaced', width: 1, height: 9, colorType: 2, depth: 8, bpp: 24, interlace: true },
  ] as const;

  it('reads whole images of every kind and size alike, interlaced or not, with the pixels written', () => {
    for (const c of cases) {
      const max = 2 ** c.depth - 1;
      const sample = (x: number, y: number, ch: number) => rgba(x, y, ch) % (max + 1);
      const image = decodeImage(handPng({ ...c, sample }), c.name);
      expect([image.width, image.height], c.name).toEqual([c.width, c.height]);
      const [x, y] = [Math.min(2, c.width - 1), Math.min(1, c.height - 1)];
      if (c.colorType === 6) expect(image.rgba[4 * (c.width * y + x) + 1], c.name).toBe(sample(x, y, 1));
      if (c.colorType === 0) expect(image.rgba[4 * (c.width * y + x)], c.name).toBe((sample(x, y, 0) * 255) / max);
    }
  });

  it('reads image data split over several IDAT chunks (as most encoders write large images) as one stream', () => {
    for (const c of [cases[0], cases[1], cases[2]]) {
      const max = 2 ** c.depth - 1;
      const sample = (x: number, y: number, ch: number) => rgba(x, y, ch) % (max + 1);
      const one = decodeImage(handPng({ ...c, sample }), c.name);
      for (const idats of [2, 3]) {
        const png = handPng({ ...c, sample, idats });
        expect(countChunks(png, 'IDAT'), c.name).toBe(idats);
        expect(Array.from(decodeImage(png, c.name).rgba), `${c.name} in ${idats} IDATs`).toEqual(Array.from(one.rgba));
      }
    }
    // a split stream that stops early is named as a whole one is
    const cut = handPng({ width: 32, height: 32, colorType: 6, depth: 8, sample: rgba, keep: 10 * 129 + 5, idats: 3 });
    expect(() => decodeImage(cut, 'cut.png')).toThrow(
      `readImage: cut.png is a corrupt PNG: its image data stops after ${10 * 129 + 5} of ${32 * 129} bytes its 32x32 header declares (10 whole rows of 32)`,
    );
  });

  it('refuses data one byte short of the declared size (the decoder would fill it from uninitialised memory)', () => {
    const declared = pngRawBytes(13, 7, 32, false);
    const png = handPng({ ...cases[0], sample: rgba, keep: declared - 1 });
    expect(() => decodeImage(png, 'short.png')).toThrow(
      `readImage: short.png is a corrupt PNG: its image data stops after ${declared - 1} of ${declared} bytes its 13x7 header declares (6 whole rows of 7)`,
    );
  });

  it('refuses data that stops early, naming the bytes and rows it holds — the same words on every read', () => {
    const png = handPng({ width: 32, height: 32, colorType: 6, depth: 8, sample: rgba, keep: 10 * 129 + 5 });
    const messages = new Set<string>();
    for (let i = 0; i < 5; i++) messages.add(String(throwsOf(() => decodeImage(png, 'short.png'))));
    expect([...messages]).toEqual([
      `Error: readImage: short.png is a corrupt PNG: its image data stops after ${10 * 129 + 5} of ${32 * 129} bytes its 32x32 header declares (10 whole rows of 32)`,
    ]);
    const interlaced = handPng({ ...cases[1], sample: rgba, keep: 100 });
    const all = pngRawBytes(13, 7, 32, true);
    expect(() => decodeImage(interlaced, 'i.png')).toThrow(
      `readImage: i.png is a corrupt PNG: its image data stops after 100 of ${all} bytes its 13x7 header declares`,
    );
  });

  it('refuses data that inflates past the declared size at once, interlaced too (a compression bomb)', () => {
    // 4 MiB of zeros behind a 64×64 header (16 KiB of RGBA) compress to about 4 KiB; 4 extra bytes are refused alike
    // (pngjs refused them too, in words about its stream)
    for (const [interlace, extra] of [
      [false, 2 ** 22],
      [true, 2 ** 22],
      [false, 4],
    ] as const) {
      const bomb = handPng({ width: 64, height: 64, colorType: 6, depth: 8, interlace, sample: () => 0, extra });
      const declared = pngRawBytes(64, 64, 32, interlace);
      expect(() => decodeImage(bomb, 'bomb.png')).toThrow(
        `readImage: bomb.png is a corrupt PNG: its image data inflates to more than the ${declared} bytes its 64x64 header declares`,
      );
    }
  });

  it('refuses a PNG without image data, and a stream that stops inside; reads one without its checksum or with a wrong one', () => {
    const whole = handPng({ width: 4, height: 4, colorType: 6, depth: 8, sample: rgba });
    const ihdrEnd = 8 + 12 + 13;
    const noData = Uint8Array.from([...whole.subarray(0, ihdrEnd), ...whole.subarray(whole.length - 12)]);
    expect(() => decodeImage(noData, 'empty.png')).toThrow(
      'readImage: empty.png is a corrupt PNG: it has no image data (no IDAT chunk)',
    );
    const shape = { width: 16, height: 16, colorType: 6, depth: 8, sample: rgba } as const;
    const cut = handPng({ ...shape, zlib: (z) => z.slice(0, -20) });
    expect(() => decodeImage(cut, 'cut.png')).toThrow(
      /^readImage: cut\.png is a corrupt PNG: its image data stops after \d+ of 1040 bytes its 16x16 header declares \(\d+ whole rows? of 16\)$/,
    );
    // the adler32 trailer (the stream's last 4 bytes) is not needed to read the rows, nor checked: decoders accept both
    const want = decodeImage(handPng(shape), 'whole.png').rgba;
    const noTrailer = decodeImage(handPng({ ...shape, zlib: (z) => z.slice(0, -4) }), 'no-trailer.png');
    const wrongSum = decodeImage(
      handPng({ ...shape, zlib: (z) => z.map((b, i) => (i >= z.length - 4 ? b ^ 0xff : b)) }),
      'sum.png',
    );
    for (const got of [noTrailer, wrongSum]) expect(Array.from(got.rgba)).toEqual(Array.from(want));
  });
});

function throwsOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return 'no error';
}

describe('damaged Keras .h5 files', () => {
  const good = join(dir, 'tiny.h5');
  const variant = (name: string, edit: (b: Uint8Array) => Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, edit(Uint8Array.from(readFileSync(good))));
    return path;
  };

  it('reads the valid file', async () => {
    await writeTinyKerasH5(good);
    const layers = await readKerasH5(good);
    expect(layers.get('block1_conv1')!.kernel.shape).toEqual([3, 3, 3, 2]);
    expect(Array.from(layers.get('block1_conv1')!.bias.data)).toEqual([0.5, -0.5]);
  });

  it('says "not an HDF5 file" for a truncated file, a wrong signature and a superblock HDF5 cannot open', async () => {
    const size = readFileSync(good).length;
    const cut = variant('cut.h5', (b) => b.subarray(0, 1000));
    await expect(readKerasH5(cut)).rejects.toThrow(
      `Keras weights ${cut}: not an HDF5 file (truncated: its superblock says the file ends at byte ${size}, but it has 1000 bytes)`,
    );
    const stub = variant('stub.h5', (b) => b.subarray(0, 10));
    await expect(readKerasH5(stub)).rejects.toThrow(`Keras weights ${stub}: not an HDF5 file (truncated: 10 bytes`);
    const text = variant('text.h5', () => new TextEncoder().encode('not hdf5 at all'));
    await expect(readKerasH5(text)).rejects.toThrow(
      `Keras weights ${text}: not an HDF5 file (no HDF5 signature at byte 0; first bytes: 6e 6f 74 20 68 64 66 35)`,
    );
    // Byte 10 is the root group's symbol-table version: HDF5's open fails (h5wasm returns file id -1).
    const badRoot = variant('badroot.h5', (b) => ((b[10] = 0xff), b));
    await expect(readKerasH5(badRoot)).rejects.toThrow(
      new RegExp(`^Keras weights ${badRoot}: not an HDF5 file \\(HDF5: `),
    );
  });

  it('turns an abort inside HDF5 into an Error, and reads the next file normally', async () => {
    const aborts = variant('abort.h5', (b) => ((b[globalHeapOffset(b)] = 0xff), b));
    await expect(readKerasH5(aborts)).rejects.toThrow(
      `Keras weights ${aborts}: corrupt HDF5 file (the HDF5 library aborted: HDF5: bad global heap collection signature`,
    );
    expect((await readKerasH5(good)).size).toBe(1);
  });

  it('stops HDF5 when it loops on a damaged file', async () => {
    const loops = variant('loop.h5', (b) => ((b[globalHeapOffset(b) + 0x18] = 0xff), b));
    const start = performance.now();
    await expect(readKerasH5(loops, { timeoutMs: 1500 })).rejects.toThrow(
      `Keras weights ${loops}: corrupt HDF5 file? HDF5 was still reading it after 1.5 s and was stopped`,
    );
    expect(performance.now() - start).toBeLessThan(5000);
    expect((await readKerasH5(good)).size).toBe(1);
  });

  it('prints nothing to the terminal (no HDF5-DIAG) while reading damaged files', () => {
    const script = join(dir, 'quiet.mts');
    const files = ['cut.h5', 'badroot.h5', 'abort.h5'].map((f) => join(dir, f));
    writeFileSync(
      script,
      `import { readKerasH5 } from ${JSON.stringify(join(process.cwd(), 'src/node/style-weights.ts'))};\n` +
        `for (const f of ${JSON.stringify(files)}) { try { await readKerasH5(f); } catch (e) { console.log(e.message); } }\n`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim().split('\n')).toHaveLength(3);
    expect(run.stdout).not.toMatch(/HDF5-DIAG|Aborted\(/);
  });

  it('loadFeatureNetFile names the file for damaged .h5 and safetensors', async () => {
    await expect(loadFeatureNetFile(join(dir, 'cut.h5'))).rejects.toThrow(
      `Keras weights ${join(dir, 'cut.h5')}: not an HDF5 file`,
    );
    const st = join(dir, 'bad.safetensors');
    writeFileSync(
      st,
      encodeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Float32Array(2) } }).subarray(0, 20),
    );
    // The file is named once, at the start.
    await expect(loadFeatureNetFile(st)).rejects.toThrow(
      `weights file ${st} is neither HDF5 (Keras .h5) nor valid safetensors: header length`,
    );
  });
});

describe('safetensors errors name the file', () => {
  const good = encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } }, { k: 'v' });
  const cases: [string, Uint8Array, string][] = [
    ['too short', good.subarray(0, 5), 'file is truncated: 5 bytes'],
    ['header length', good.subarray(0, 30), 'header length'],
    [
      'JSON',
      (() => {
        const b = good.slice();
        b[8] = 0x41;
        return b;
      })(),
      'header is not valid JSON',
    ],
    ['offsets', good.subarray(0, good.length - 4), 'reach past the end of the data'],
    [
      'dtype',
      new TextEncoder().encode(new TextDecoder().decode(good).replace('"F32"', '"Q32"')),
      'unknown dtype "Q32"',
    ],
  ];
  for (const [what, bytes, message] of cases) {
    it(`${what}: "safetensors NAME: …" with a name, "safetensors: …" without`, () => {
      expect(() => decodeSafetensors(bytes, 'model.safetensors')).toThrow(`safetensors model.safetensors: `);
      expect(() => decodeSafetensors(bytes, 'model.safetensors')).toThrow(message);
      expect(() => decodeSafetensors(bytes)).toThrow(/^safetensors: /);
    });
  }
  it('decodeSafetensorsMetadata too', () => {
    expect(() => decodeSafetensorsMetadata(good.subarray(0, 30), 'ckpt.safetensors')).toThrow(
      /^safetensors ckpt\.safetensors: header length \d+ reaches beyond the end of the file/,
    );
    expect(decodeSafetensorsMetadata(good, 'ckpt.safetensors')).toEqual({ k: 'v' });
  });
});

describe('gzip bombs in IDX files', () => {
  it('stops inflating past maxBytes, naming the file', async () => {
    const header = encodeIdx('u8', [1, 4096, 4096], new Uint8Array(4096 * 4096)); // 16 MiB of zeros
    const gz = new Uint8Array(gzipSync(header));
    expect(gz.length).toBeLessThan(100_000);
    await expect(parseIdx(gz, 'bomb-images-idx3-ubyte.gz', { maxBytes: 1 << 20 })).rejects.toThrow(
      `bomb-images-idx3-ubyte.gz: gzip data inflates to more than 1048576 bytes (a ${gz.length}-byte .gz file)`,
    );
    expect((await parseIdx(gz, 'ok.gz')).shape).toEqual([1, 4096, 4096]);
  });
});

describe("checkLabelledFolder: the labelled-folder loader's errors from the headers alone", () => {
  /** A labelled folder of four 8×8 PNGs in two classes, changed by `edit`. */
  function folder(name: string, edit: (d: string, images: Record<string, string>) => void): string {
    const d = join(dir, 'labelled', name);
    mkdirSync(d, { recursive: true });
    const images: Record<string, string> = {};
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(d, `im${i}.png`), smallPng(8, 8));
      images[`im${i}.png`] = i % 2 ? 'odd' : 'even';
    }
    edit(d, images);
    writeFileSync(join(d, 'labels.json'), formatLabels({ name: name, classes: ['even', 'odd'], images }));
    return d;
  }

  it('says what loadLabelledFolder says, for each hostile folder, without decoding', () => {
    const cases: [string, (d: string, images: Record<string, string>) => void, RegExp][] = [
      ['missing', (_, im) => (im['gone.png'] = 'odd'), /labels\.json: lists gone\.png, but .*gone\.png does not exist/],
      ['unlisted', (d) => writeFileSync(join(d, 'extra.png'), smallPng(8, 8)), /extra\.png: image not listed in/],
      ['mixed', (d) => writeFileSync(join(d, 'im3.png'), smallPng(16, 16)), /im3\.png is 16×16, but .*im0\.png is 8×8/],
      ['oblong', (d) => writeFileSync(join(d, 'im0.png'), smallPng(8, 6)), /im0\.png is 8×6: .* must be square/],
      ['corrupt', (d) => writeFileSync(join(d, 'im2.png'), 'not a png'), /im2\.png/],
    ];
    for (const [name, edit, msg] of cases) {
      const d = folder(name, edit);
      expect(() => checkLabelledFolder(d), name).toThrow(msg);
      expect(() => loadLabelledFolder(d), name).toThrow(msg);
    }
    const good = folder('good', () => {});
    expect(checkLabelledFolder(good).storedSize).toBe(8);
    expect(loadLabelledFolder(good).storedSize).toBe(8);
  });
});

/** How many chunks of `type` a PNG file holds. */
function countChunks(png: Uint8Array, type: string): number {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let n = 0;
  for (let at = 8; at + 8 <= png.length; at += 12 + view.getUint32(at))
    if (String.fromCharCode(...png.subarray(at + 4, at + 8)) === type) n++;
  return n;
}
