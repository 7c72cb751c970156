import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { appendJsonl, ensureDir, writeFileAtomic } from '../src/node/files.ts';
import { decodeImage, encodePng, readImage, writePng } from '../src/node/png.ts';
import { formatDuration, ProgressBar } from '../src/node/progress.ts';
import { orientImage, type RgbaImage } from '../src/io/image.ts';
import { exifTiff, jpegExifSegment, jpegWith, pngChunk, pngWith, smallJpeg, smallPng } from './loader-fixtures.ts';

function pixelOf(image: RgbaImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 4;
  return [...image.rgba.subarray(i, i + 4)];
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'io-node-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('files', () => {
  it('writeFileAtomic writes and replaces, leaving no temp files', () => {
    const path = join(dir, 'atomic.bin');
    writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    writeFileAtomic(path, 'replaced');
    expect(readFileSync(path, 'utf8')).toBe('replaced');
    expect(readdirSync(dir).filter((f) => f.includes('atomic'))).toEqual(['atomic.bin']);
  });

  it('writeFileAtomic cleans up its temp file and names the target on failure', () => {
    const sub = join(dir, 'fail');
    mkdirSync(sub);
    const target = join(sub, 'occupied');
    mkdirSync(target); // a directory cannot be replaced by a file: the rename fails
    writeFileSync(join(target, 'keep.txt'), 'old');
    expect(() => writeFileAtomic(target, 'new')).toThrow(`writeFileAtomic: could not write ${target}`);
    expect(readdirSync(sub)).toEqual(['occupied']);
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('old');
    expect(() => writeFileAtomic(join(dir, 'missing-dir', 'x.bin'), 'x')).toThrow(/missing-dir/);
  });

  it('appendJsonl appends one line per record; ensureDir makes parents', () => {
    const nested = join(dir, 'a', 'b', 'c');
    ensureDir(nested);
    ensureDir(nested); // again: no error
    const log = join(nested, 'log.jsonl');
    appendJsonl(log, { step: 1, loss: 0.5 });
    appendJsonl(log, { step: 2, loss: NaN, note: 'x' });
    const lines = readFileSync(log, 'utf8').split('\n');
    expect(lines.length).toBe(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0]!)).toEqual({ step: 1, loss: 0.5 });
    expect(JSON.parse(lines[1]!)).toEqual({ step: 2, loss: null, note: 'x' });
    expect(() => appendJsonl(log, { big: 1n })).toThrow(`record for ${log} is not JSON-serialisable`);
    expect(() => appendJsonl(log, undefined)).toThrow(/not JSON-serialisable \(got undefined\)/);
  });
});

describe('png / jpeg', () => {
  const image: RgbaImage = {
    width: 3,
    height: 2,
    rgba: new Uint8ClampedArray([
      255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 128, 10, 20, 30, 255, 200, 100, 50, 0, 255, 255, 255, 255,
    ]),
  };

  it('PNG round trip is exact', () => {
    const path = join(dir, 'round.png');
    writePng(path, image);
    const bytes = readFileSync(path);
    expect([...bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const back = readImage(path);
    expect([back.width, back.height]).toEqual([3, 2]);
    expect([...back.rgba]).toEqual([...image.rgba]);
  });

  it('reads JPEG as RGBA', () => {
    const width = 16,
      height = 16;
    const data = new Uint8Array(width * height * 4);
    for (let p = 0; p < width * height; p++) data.set([200, 60, 30, 255], p * 4);
    const path = join(dir, 'flat.jpg');
    writeFileSync(path, jpeg.encode({ width, height, data }, 95).data);
    const back = readImage(path);
    expect([back.width, back.height, back.rgba.length]).toEqual([16, 16, 16 * 16 * 4]);
    for (let p = 0; p < width * height; p++) {
      expect(Math.abs(back.rgba[p * 4]! - 200)).toBeLessThanOrEqual(3);
      expect(Math.abs(back.rgba[p * 4 + 1]! - 60)).toBeLessThanOrEqual(3);
      expect(Math.abs(back.rgba[p * 4 + 2]! - 30)).toBeLessThanOrEqual(3);
      expect(back.rgba[p * 4 + 3]).toBe(255);
    }
  });

  it('turns a JPEG and a PNG upright by their Exif orientation, as a browser shows them', () => {
    // a camera held sideways stores the picture on its side and says so: orientation 6 (turn 90° clockwise)
    const plainJpeg = smallJpeg(16, 8);
    const plainPng = smallPng(5, 3);
    for (const [what, plain, withExif] of [
      ['JPEG', plainJpeg, (o: number) => jpegWith(plainJpeg, jpegExifSegment(exifTiff(o)))],
      ['PNG', plainPng, (o: number) => pngWith(plainPng, [pngChunk('eXIf', exifTiff(o, true))])],
    ] as const) {
      const stored = decodeImage(plain, what);
      for (let o = 1; o <= 8; o++) {
        const shown = decodeImage(withExif(o), what);
        expect([shown.width, shown.height], `${what} orientation ${o}`).toEqual(
          o >= 5 ? [stored.height, stored.width] : [stored.width, stored.height],
        );
        expect(shown.rgba, `${what} orientation ${o}`).toEqual(orientImage(stored, o).rgba);
      }
      // turned clockwise, the stored picture's bottom-left pixel is shown top-left
      const turned = decodeImage(withExif(6), what);
      expect(pixelOf(turned, 0, 0)).toEqual(pixelOf(stored, 0, stored.height - 1));
    }
  });

  it('clear errors for missing, corrupt and unsupported files', () => {
    const missing = join(dir, 'nope.png');
    expect(() => readImage(missing)).toThrow(`readImage: cannot read ${missing}: no such file`);
    const corrupt = join(dir, 'corrupt.png');
    writeFileSync(corrupt, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]));
    expect(() => readImage(corrupt)).toThrow(`readImage: ${corrupt} is a corrupt or unsupported PNG`);
    // A whole PNG cut inside its IDAT chunk and just before its IEND: the message says where it ends.
    const rgba = Uint8ClampedArray.from({ length: 16 * 16 * 4 }, (_, i) => (i * 37) % 256);
    const whole = encodePng({ width: 16, height: 16, rgba });
    const idatAt = 8 + 12 + 13; // signature, IHDR chunk
    const idatEnd = idatAt + 12 + new DataView(whole.buffer, whole.byteOffset).getUint32(idatAt);
    expect(String.fromCharCode(...whole.subarray(idatAt + 4, idatAt + 8))).toBe('IDAT');
    expect(whole.length).toBe(idatEnd + 12); // then IEND, no data
    const cutPng = join(dir, 'cut.png');
    writeFileSync(cutPng, whole.subarray(0, idatAt + 20));
    expect(() => readImage(cutPng)).toThrow(
      `readImage: ${cutPng} is a truncated PNG: its IDAT chunk at byte ${idatAt} needs ${idatEnd - idatAt} bytes and only 20 are left`,
    );
    expect(() => decodeImage(whole.subarray(0, idatEnd + 4), 'x.png')).toThrow(
      `readImage: x.png is a truncated PNG: it ends after its IDAT chunk (byte ${idatEnd} of ${idatEnd + 4}) without an IEND chunk`,
    );
    expect(decodeImage(whole, 'x.png').rgba).toEqual(rgba);
    // A whole JPEG cut short: the end-of-image marker is missing (a damaged one that ends in it stays "corrupt").
    const jpg = new Uint8Array(jpeg.encode({ data: Buffer.from(rgba), width: 16, height: 16 }, 90).data);
    expect([...jpg.subarray(-2)]).toEqual([0xff, 0xd9]);
    expect(() => decodeImage(jpg.subarray(0, jpg.length - 40), 'c.jpg')).toThrow(
      `readImage: c.jpg is a truncated JPEG: it ends at byte ${jpg.length - 40} without the end-of-image marker (FF D9)`,
    );
    expect(decodeImage(jpg, 'c.jpg').width).toBe(16);
    const truncatedJpeg = join(dir, 'cut.jpg');
    writeFileSync(truncatedJpeg, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1]));
    expect(() => readImage(truncatedJpeg)).toThrow(`readImage: ${truncatedJpeg} is a corrupt or unsupported JPEG`);
    const gif = join(dir, 'anim.gif');
    writeFileSync(gif, 'GIF89a....');
    expect(() => readImage(gif)).toThrow(`readImage: ${gif} has an unsupported format (.gif)`);
    const text = join(dir, 'notes.png');
    writeFileSync(text, 'hello');
    expect(() => readImage(text)).toThrow(`readImage: ${text} is neither PNG nor JPEG (first bytes: 68 65 6c 6c)`);
    expect(() => readImage(dir)).toThrow(`readImage: cannot read ${dir}: it is a directory`);
    const bad = join(dir, 'bad.png');
    expect(() => writePng(bad, { width: 2, height: 2, rgba: new Uint8ClampedArray(3) })).toThrow(
      `writePng ${bad}: encodePng: a 2x2 RGBA image needs 16 bytes, got 3`,
    );
  });
});

describe('progress bar', () => {
  function harness(isTTY: boolean, extra: Partial<ConstructorParameters<typeof ProgressBar>[0]> = {}) {
    let clock = 0;
    const out: string[] = [];
    const bar = new ProgressBar({
      label: 'train',
      total: 1000,
      isTTY,
      write: (t) => out.push(t),
      now: () => clock,
      columns: 200,
      ...extra,
    });
    return {
      bar,
      out,
      advance: (ms: number) => {
        clock += ms;
      },
    };
  }

  it('renders label, percent, count, elapsed, rate, ETA and fields', () => {
    const { bar, advance } = harness(true);
    advance(5000);
    bar.update(250, { D: 0.6931, G: 1.2 });
    const line = bar.render();
    expect(line).toContain('train');
    expect(line).toContain(' 25% [######..................] 250/1000');
    expect(line).toContain('5.0s');
    expect(line).toContain('50.0 it/s');
    expect(line).toContain('ETA 15.0s');
    expect(line.endsWith('  D 0.693 G 1.20')).toBe(true);
    bar.update(300, 'lr 2e-4');
    expect(bar.render().endsWith('  lr 2e-4')).toBe(true);
  });

  it('rate follows the recent window, not the warm-up', () => {
    const { bar, advance } = harness(false);
    advance(30_000); // slow first step (e.g. shader compilation)
    bar.update(1);
    for (let i = 2; i <= 201; i++) {
      advance(100);
      bar.update(i);
    }
    expect(bar.rate()).toBeCloseTo(10, 1); // 10 items/s over the last 10 s
    expect(bar.render()).toContain('ETA 1m20s'); // 799 left at 10/s
  });

  it('a resumed bar starts at its initial count and leaves it out of the rate', () => {
    const { bar, advance } = harness(false, { initial: 600 });
    expect(bar.render()).toContain(' 60% [##############..........] 600/1000');
    advance(2000);
    bar.update(610);
    expect(bar.rate()).toBeCloseTo(5, 6); // 10 new items in 2 s, not 610
    expect(bar.render()).toContain('ETA 1m18s'); // 390 left at 5/s
  });

  it('note() prints its own line above the bar (then redraws the bar on a TTY)', () => {
    const tty = harness(true);
    tty.advance(1000);
    tty.bar.update(100);
    tty.out.length = 0;
    tty.bar.note('step 100: Fréchet distance 12.30');
    expect(tty.out[0]).toBe('\r\x1b[Kstep 100: Fréchet distance 12.30\n');
    expect(tty.out[1]).toMatch(/^\rtrain .* 100\/1000 .*\x1b\[K$/);
    const plain = harness(false);
    plain.bar.note('hello');
    expect(plain.out).toEqual(['hello\n']);
  });

  it('on a TTY redraws in place at most every 100 ms', () => {
    const { bar, out, advance } = harness(true);
    for (let i = 1; i <= 1000; i++) {
      advance(1); // 1 ms per item: 1000 updates in one second
      bar.update(i);
    }
    bar.finish();
    const redraws = out.filter((t) => t.startsWith('\r'));
    expect(redraws.length).toBeGreaterThanOrEqual(10);
    expect(redraws.length).toBeLessThanOrEqual(13);
    expect(redraws.every((t) => t.endsWith('\x1b[K') && !t.includes('\n'))).toBe(true);
    expect(out[out.length - 1]).toBe('\n');
    expect(redraws[redraws.length - 1]).toContain('100% [########################] 1000/1000');
  });

  it('off a TTY prints a plain line every N percent, and once at the end', () => {
    const { bar, out, advance } = harness(false, { logEveryPercent: 25 });
    for (let i = 1; i <= 1000; i++) {
      advance(10);
      bar.update(i);
    }
    bar.finish({ loss: 0.125 });
    expect(out.length).toBe(4);
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(out[0]).toContain(' 25% ');
    expect(out[1]).toContain(' 50% ');
    expect(out[2]).toContain(' 75% ');
    expect(out[3]).toContain('100% ');
    expect(out[3]).toContain('loss 0.125');
    bar.update(5);
    bar.finish();
    expect(out.length).toBe(4); // finished bars stay quiet
  });

  it('validates and formats', () => {
    expect(() => new ProgressBar({ label: 'x', total: 0, write: () => {} })).toThrow(
      /ProgressBar "x": total must be positive, got 0/,
    );
    expect(formatDuration(12.34)).toBe('12.3s');
    expect(formatDuration(245)).toBe('4m05s');
    expect(formatDuration(7380)).toBe('2h03m');
    expect(formatDuration(59.96)).toBe('1m00s'); // not "60.0s"
    expect(formatDuration(3599.6)).toBe('1h00m'); // not "59m60s"
  });
});
