/**
 * The colour dataset of issue 20 without the network: tar reading, compositing, box downsampling, the package's
 * categories, the labels file, and scripts/fetch-emoji.ts's unpacking into a labelled folder — all on small
 * tarballs and folders the tests make. Then the labelled-folder loader (src/node/datasets.ts) on good and hostile
 * folders, and that `train`'s folder loader reads the same pixels.
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readTar } from '../src/io/tar.ts';
import { compositeOver } from '../src/io/image.ts';
import { boxDownsample, emojiCategories, parseHexColour, formatHexColour, EMOJI_IMAGE_DIR } from '../src/data/emoji.ts';
import { formatLabels, parseLabels, LABELS_FORMAT } from '../src/data/labels.ts';
import {
  buildEmojiFolder,
  emojiDataName,
  readCheckedTarball,
  sha512Integrity,
  type EmojiFolderOptions,
} from '../src/node/emoji-data.ts';
import { encodePng, readImage } from '../src/node/png.ts';
import { datasetByName, loadLabelledFolder } from '../src/node/datasets.ts';
import type { RgbaImage } from '../src/io/image.ts';
import { fetchEmoji } from '../scripts/fetch-emoji.ts';
import { makeTar, makeTgz, type TarFile } from './tar-writer.ts';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'emoji-data-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A 64×64 RGBA test image: colour from position and `seed`, alpha 3·(x + y) up to 255 (0 at the top-left corner). */
function pattern(seed: number, size = 64): RgbaImage {
  const rgba = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      rgba[i] = (x * 4 + seed * 30) % 256;
      rgba[i + 1] = (y * 4 + seed * 70) % 256;
      rgba[i + 2] = (128 + seed * 50) % 256;
      rgba[i + 3] = Math.min(255, (x + y) * 3);
    }
  }
  return { width: size, height: size, rgba };
}

const WHITE = [255, 255, 255] as const;

const EMOJI_JSON = [
  { image: '1f600.png', category: 'Smileys & Emotion', has_img_google: true },
  {
    image: '1f44b.png',
    category: 'People & Body',
    has_img_google: true,
    skin_variations: { '1F3FB': { image: '1f44b-1f3fb.png', has_img_google: true } },
  },
  { image: '1f1eb-1f1f7.png', category: 'Flags', has_img_google: true },
  { image: '1f9ff.png', category: 'Objects', has_img_google: false },
];
const CATEGORIES_JSON = { 'Smileys & Emotion': ['a'], 'People & Body': ['b'], Objects: [], Flags: ['c'] };
const IMAGES = ['1f600.png', '1f44b.png', '1f44b-1f3fb.png', '1f1eb-1f1f7.png'];

/** A fake emoji-datasource-google tarball: the listed images, one unlisted PNG and one of another size folder. */
function fakePackage(overrides: { drop?: string; extra?: TarFile[]; emoji?: unknown; name?: string } = {}): TarFile[] {
  const files: TarFile[] = [
    { name: 'package/package.json', data: JSON.stringify({ name: overrides.name ?? 'emoji-datasource-google' }) },
    { name: 'package/categories.json', data: JSON.stringify(CATEGORIES_JSON) },
    { name: 'package/emoji.json', data: JSON.stringify(overrides.emoji ?? EMOJI_JSON) },
    ...IMAGES.filter((n) => n !== overrides.drop).map((n, k) => ({
      name: `${EMOJI_IMAGE_DIR}${n}`,
      data: encodePng(pattern(k)),
      pax: k === 1,
    })),
    { name: `${EMOJI_IMAGE_DIR}ffff.png`, data: encodePng(pattern(9)) },
    { name: 'package/img/google/32/1f600.png', data: encodePng(pattern(3, 32)) },
    ...(overrides.extra ?? []),
  ];
  return files;
}

const OPTS64: EmojiFolderOptions = { size: 64, background: WHITE, variants: 'all' };

describe('readTar', () => {
  it('reads names (ustar, pax long names), types and data of the archives it is given', () => {
    const long = `package/${'deep/'.repeat(30)}file.txt`;
    const entries = readTar(
      makeTar([
        { name: 'package/a.txt', data: 'hello' },
        { name: long, data: 'x'.repeat(1000), pax: true },
        { name: 'package/empty', data: '' },
      ]),
    );
    expect(entries.map((e) => e.name)).toEqual(['package/a.txt', long, 'package/empty']);
    expect(entries.map((e) => e.type)).toEqual(['0', '0', '0']);
    expect(new TextDecoder().decode(entries[0]!.data)).toBe('hello');
    expect(entries[1]!.data.length).toBe(1000);
    expect(entries[2]!.data.length).toBe(0);
  });

  it('reads an archive written by the system tar (GNU or bsdtar) with a long path', () => {
    const src = join(dir, 'systar');
    const deep = join(src, 'package', 'x'.repeat(60), 'y'.repeat(60));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'z.bin'), new Uint8Array([1, 2, 3, 250]));
    writeFileSync(join(src, 'package', 'short.txt'), 'short');
    const bytes = new Uint8Array(execFileSync('tar', ['-cf', '-', '-C', src, 'package']));
    const files = readTar(bytes).filter((e) => e.type === '0');
    const byName = new Map(files.map((e) => [e.name, e.data]));
    expect([...byName.get(`package/${'x'.repeat(60)}/${'y'.repeat(60)}/z.bin`)!]).toEqual([1, 2, 3, 250]);
    expect(new TextDecoder().decode(byName.get('package/short.txt'))).toBe('short');
  });

  it('reads pax lengths in bytes: a UTF-8 long name from the system tar (was: "corrupt pax header")', () => {
    const src = join(dir, 'systar-utf8');
    const name = `${'é'.repeat(70)}-ü.txt`; // 143 bytes in UTF-8, 75 characters: a pax path record
    mkdirSync(join(src, 'package'), { recursive: true });
    writeFileSync(join(src, 'package', name), 'accents');
    const bytes = new Uint8Array(execFileSync('tar', ['--format=pax', '-cf', '-', '-C', src, 'package']));
    const file = readTar(bytes).find((e) => e.type === '0')!;
    expect(file.name).toBe(`package/${name}`);
    expect(new TextDecoder().decode(file.data)).toBe('accents');
  });

  it('refuses a pax record whose length runs past its header or misses its newline (was: read)', () => {
    // an archive whose one pax header holds `record`, then a file
    const withRecord = (record: string) => {
      const tar = makeTar([{ name: 'package/long-name.txt', data: 'x', pax: true }]);
      const body = new TextEncoder().encode(record);
      tar.fill(0, 512, 1024).set(body, 512);
      tar.set(new TextEncoder().encode(`${body.length.toString(8).padStart(11, '0')}\0`), 124);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : tar[i]!;
      tar.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
      return tar;
    };
    expect(readTar(withRecord('14 path=a.txt\n'))[0]!.name).toBe('a.txt');
    expect(() => readTar(withRecord('999 path=a.txt\n'), 'p.tar')).toThrow(
      /^p\.tar: corrupt pax header \(the record at byte 0 has length "999"\)$/,
    );
    expect(() => readTar(withRecord('13 path=a.txt\n'), 'p.tar')).toThrow(/corrupt pax header .*length "13"/);
    expect(() => readTar(withRecord('3 path=a.txt\n'), 'p.tar')).toThrow(/corrupt pax header .*length "3"/);
  });

  it('names the damage: a bad checksum, a truncated archive, a garbage size field', () => {
    const good = makeTar([{ name: 'package/a.txt', data: 'hello'.repeat(200) }]);
    const flipped = good.slice();
    flipped[3] ^= 1; // a byte of the name: the header sum no longer matches
    expect(() => readTar(flipped, 'x.tgz')).toThrow(/x\.tgz: corrupt tar header at byte 0 .*checksum mismatch/);
    expect(() => readTar(good.subarray(0, 512 + 100), 'x.tgz')).toThrow(
      /x\.tgz: truncated tar archive: package\/a\.txt needs 1000 bytes, 100 left/,
    );
    expect(() => readTar(good.subarray(0, 1536), 'x.tgz')).toThrow(/x\.tgz: truncated tar archive \(no end marker/);
    const badSize = good.slice();
    badSize.set(new TextEncoder().encode('zz'), 124);
    let sum = 0; // re-sign the header so that only the size field is wrong
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : badSize[i]!;
    badSize.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
    expect(() => readTar(badSize, 'x.tgz')).toThrow(/x\.tgz: corrupt tar header \(size field/);
  });
});

describe('compositing and box filter', () => {
  it('composites straight alpha over the background: hand-computed pixels', () => {
    const image: RgbaImage = {
      width: 3,
      height: 1,
      rgba: new Uint8ClampedArray([200, 100, 0, 128, 10, 20, 30, 0, 10, 20, 30, 255]),
    };
    const out = compositeOver(image, WHITE);
    // (200·128 + 255·127)/255 = 227.39, (100·128 + 255·127)/255 = 177.20, (0 + 255·127)/255 = 127
    expect([...out.rgba]).toEqual([227, 177, 127, 255, 255, 255, 255, 255, 10, 20, 30, 255]);
    const onBlack = compositeOver(image, [0, 0, 0]);
    // 200·128/255 = 100.39, 100·128/255 = 50.20
    expect([...onBlack.rgba.subarray(0, 8)]).toEqual([100, 50, 0, 255, 0, 0, 0, 255]);
  });

  it('box-downsamples by the mean of each block, rounded', () => {
    const px = (r: number) => [r, 255 - r, 7, 255];
    const image: RgbaImage = {
      width: 4,
      height: 2,
      rgba: new Uint8ClampedArray([...px(0), ...px(1), ...px(10), ...px(20), ...px(2), ...px(3), ...px(30), ...px(41)]),
    };
    const out = boxDownsample(image, 2);
    // (0+1+2+3)/4 = 1.5 → 2; (10+20+30+41)/4 = 25.25 → 25; 255 − those means: 253.5 → 254, 229.75 → 230
    expect([...out.rgba]).toEqual([2, 254, 7, 255, 25, 230, 7, 255]);
    expect(() => boxDownsample(image, 3)).toThrow(/4×2 cannot be shrunk by a whole factor 3/);
  });

  it('parses background colours and names a bad one', () => {
    expect(parseHexColour('#ff8000')).toEqual([255, 128, 0]);
    expect(formatHexColour([0, 16, 255])).toBe('#0010ff');
    expect(() => parseHexColour('white')).toThrow(/--background: expected a colour as six hex digits.*"white"/);
  });
});

describe("the package's categories", () => {
  it('labels every Google image, skin variations with their parent, in categories.json order', () => {
    const all = emojiCategories(EMOJI_JSON, CATEGORIES_JSON, 'all');
    expect(all.classes).toEqual(['Smileys & Emotion', 'People & Body', 'Flags']); // Objects has no Google image
    expect(Object.fromEntries(all.byImage)).toEqual({
      '1f600.png': 'Smileys & Emotion',
      '1f44b.png': 'People & Body',
      '1f44b-1f3fb.png': 'People & Body',
      '1f1eb-1f1f7.png': 'Flags',
    });
    const base = emojiCategories(EMOJI_JSON, CATEGORIES_JSON, 'base');
    expect([...base.byImage.keys()]).toEqual(['1f600.png', '1f44b.png', '1f1eb-1f1f7.png']);
    // without categories.json the classes are sorted
    expect(emojiCategories(EMOJI_JSON, undefined).classes).toEqual(['Flags', 'People & Body', 'Smileys & Emotion']);
  });

  it('names the bad record', () => {
    expect(() => emojiCategories({}, undefined)).toThrow(/emoji\.json: expected an array/);
    expect(() => emojiCategories([{ image: 'a.png', has_img_google: true }], undefined)).toThrow(
      /record 0 has no "category"/,
    );
    expect(() => emojiCategories([{ image: '../x.png', category: 'A', has_img_google: true }], undefined)).toThrow(
      /record 0 has image "\.\.\/x\.png"/,
    );
  });
});

describe('labels.json', () => {
  const good = { name: 'test set', classes: ['a', 'b'], images: { 'x.png': 'a', 'sub/y.png': 'b' } };

  it('round-trips, images sorted by path', () => {
    const text = formatLabels(good);
    const parsed = parseLabels(text);
    expect(parsed.format).toBe(LABELS_FORMAT);
    expect(Object.keys(parsed.images)).toEqual(['sub/y.png', 'x.png']);
    expect(parsed.classes).toEqual(['a', 'b']);
  });

  it('names the file and the field that is wrong', () => {
    const bad = (o: unknown) => () => parseLabels(JSON.stringify(o), 'L.json');
    expect(() => parseLabels('{', 'L.json')).toThrow(/^L\.json: not valid JSON/);
    expect(bad([1])).toThrow(/L\.json: expected a JSON object/);
    expect(bad({ ...good, format: 'x' })).toThrow(/L\.json: field "format" is "x"/);
    expect(bad({ format: LABELS_FORMAT, ...good, name: '' })).toThrow(/field "name" must be a non-empty string/);
    expect(bad({ format: LABELS_FORMAT, ...good, classes: ['a'] })).toThrow(/"classes" must be an array of at least 2/);
    expect(bad({ format: LABELS_FORMAT, ...good, classes: ['a', 'a'] })).toThrow(/class "a" is listed twice/);
    expect(bad({ format: LABELS_FORMAT, ...good, images: { 'x.png': 'c' } })).toThrow(
      /image x\.png has class "c", which is not in "classes"/,
    );
    expect(bad({ format: LABELS_FORMAT, ...good, images: { '../x.png': 'a' } })).toThrow(
      /image path "\.\.\/x\.png" must be relative/,
    );
    expect(bad({ format: LABELS_FORMAT, ...good, images: {} })).toThrow(/"images" lists no images/);
  });

  it('refuses a class without images (was: accepted, a class no sample could cover) and reads a byte-order mark', () => {
    const bad = (o: unknown) => () => parseLabels(JSON.stringify(o), 'L.json');
    expect(bad({ format: LABELS_FORMAT, ...good, classes: ['a', 'b', 'c'] })).toThrow(
      /^L\.json: class "c" has no images \(every class in "classes" needs at least one\)$/,
    );
    expect(bad({ format: LABELS_FORMAT, ...good, images: { 'x.png': 'a', 'sub/y.png': 'a' } })).toThrow(
      /^L\.json: class "b" has no images/,
    );
    expect(parseLabels(`\ufeff${formatLabels(good)}`, 'L.json').classes).toEqual(['a', 'b']);
  });
});

describe('buildEmojiFolder (the fetch script on a fake tarball)', () => {
  it('writes each listed image composited on the background, and labels.json with its category', () => {
    const out = join(dir, 'e64');
    const r = buildEmojiFolder(makeTgz(fakePackage()), out, OPTS64, { source: 'fake.tgz' });
    expect(r).toMatchObject({ images: 4, unlisted: 1, upToDate: false });
    expect(r.counts).toEqual({ 'Smileys & Emotion': 1, 'People & Body': 2, Flags: 1 });
    expect(readdirSync(out).sort()).toEqual([...IMAGES, 'labels.json'].sort());
    const labels = parseLabels(readFileSync(join(out, 'labels.json'), 'utf8'));
    expect(labels.name).toBe(emojiDataName(OPTS64));
    expect(labels.classes).toEqual(['Smileys & Emotion', 'People & Body', 'Flags']);
    expect(labels.images['1f44b-1f3fb.png']).toBe('People & Body');
    expect(labels.source).toMatchObject({ background: '#ffffff', size: 64, variants: 'all', resize: 'none' });
    // 1f600.png is pattern(0): at (x=10, y=20) RGBA (40, 80, 128, 90) → over white (179.12, 193.24, 210.18)
    const img = readImage(join(out, '1f600.png'));
    const at = (x: number, y: number) => [...img.rgba.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 4)];
    expect(at(10, 20)).toEqual([179, 193, 210, 255]);
    expect(at(0, 0)).toEqual([255, 255, 255, 255]); // alpha 0: the background
    expect(at(63, 63)).toEqual([252, 252, 128, 255]); // alpha 255: the colour (252, 252, 128)
    // every pixel: the float64 "over" of the source
    const src = pattern(0).rgba;
    for (let i = 0; i < 64 * 64 * 4; i += 4)
      for (let c = 0; c < 3; c++)
        expect(img.rgba[i + c]).toBe(Math.round((src[i + c]! * src[i + 3]! + 255 * (255 - src[i + 3]!)) / 255));
  });

  it('box-filters to 32×32 on another background and keeps the base skin tone only when asked', () => {
    const out = join(dir, 'e32');
    const opts: EmojiFolderOptions = { size: 32, background: [0, 0, 0], variants: 'base' };
    const r = buildEmojiFolder(makeTgz(fakePackage()), out, opts);
    expect(r).toMatchObject({ images: 3, unlisted: 2 });
    const img = readImage(join(out, '1f600.png'));
    expect([img.width, img.height]).toEqual([32, 32]);
    const big = compositeOver(pattern(0), [0, 0, 0]).rgba;
    const mean = (c: number, x: number, y: number) =>
      Math.round(
        [0, 1]
          .flatMap((dy) => [0, 1].map((dx) => big[((2 * y + dy) * 64 + 2 * x + dx) * 4 + c]!))
          .reduce((a, b) => a + b) / 4,
      );
    for (const [x, y] of [
      [0, 0],
      [5, 9],
      [31, 31],
    ])
      for (let c = 0; c < 3; c++) expect(img.rgba[(y! * 32 + x!) * 4 + c]).toBe(mean(c, x!, y!));
    expect(parseLabels(readFileSync(join(out, 'labels.json'), 'utf8')).source).toMatchObject({
      size: 32,
      background: '#000000',
      resize: 'box 2×2',
    });
  });

  it('does nothing on a re-run of the same folder; rebuilds for other options; keeps its own extra files only then', () => {
    const out = join(dir, 'again');
    const tgz = makeTgz(fakePackage());
    buildEmojiFolder(tgz, out, OPTS64);
    writeFileSync(join(out, 'classifier-64.safetensors'), 'weights');
    const before = statSync(join(out, 'labels.json')).mtimeMs;
    // the same options: up to date, even from bytes that are not a tarball (they are never read)
    const again = buildEmojiFolder(new Uint8Array([1, 2, 3]), out, OPTS64);
    expect(again).toMatchObject({ upToDate: true, images: 4 });
    expect(statSync(join(out, 'labels.json')).mtimeMs).toBe(before);
    expect(existsSync(join(out, 'classifier-64.safetensors'))).toBe(true);
    // another background: a new folder replaces the old one whole (the old classifier described other images)
    buildEmojiFolder(tgz, out, { ...OPTS64, background: [0, 0, 0] });
    expect(existsSync(join(out, 'classifier-64.safetensors'))).toBe(false);
    expect(readImage(join(out, '1f600.png')).rgba.subarray(0, 4)).toEqual(new Uint8ClampedArray([0, 0, 0, 255]));
    expect(readdirSync(dir).filter((n) => n.startsWith('again.'))).toEqual([]); // no .partial/.old left
  });

  it('the script: an up-to-date folder needs no network; a wrong tarball and bad options are one line', () => {
    const out = join(dir, 'script');
    buildEmojiFolder(makeTgz(fakePackage()), out, OPTS64);
    const lines: string[] = [];
    const spies = [
      vi.spyOn(console, 'log').mockImplementation((m) => void lines.push(String(m))),
      vi.spyOn(console, 'error').mockImplementation((m) => void lines.push(String(m))),
    ];
    try {
      expect(fetchEmoji(['--out', out])).toBe(0);
      expect(lines).toEqual([
        `${out}: up to date, 4 images 64×64 on #ffffff in 3 categories (Smileys & Emotion 1, People & Body 2, Flags 1); 1 images of other skin tones left out`,
      ]);
      lines.length = 0;
      const fake = join(dir, 'fake.tgz');
      writeFileSync(fake, makeTgz(fakePackage()));
      expect(fetchEmoji(['--out', join(dir, 'script2'), '--tarball', fake])).toBe(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^fetch-emoji: .*fake\.tgz: corrupt or different tarball: its sha512 is sha512-/);
      expect(existsSync(join(dir, 'script2'))).toBe(false);
      lines.length = 0;
      expect(fetchEmoji(['--size', '48'])).toBe(2);
      expect(fetchEmoji(['--background', 'blue'])).toBe(2);
      expect(fetchEmoji(['--variants', 'some'])).toBe(2);
      expect(fetchEmoji(['--bogus'])).toBe(2);
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatch(/--size: expected 64 or 32, got "48"/);
      expect(lines[1]).toMatch(/--background: expected a colour/);
      expect(lines[2]).toMatch(/--variants: expected all or base, got "some"/);
      expect(lines[3]).toMatch(/bogus/);
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });

  it('the script: the paths it is given are checked before any fetch, exit 2 naming the option', () => {
    const lines: string[] = [];
    const spies = [
      vi.spyOn(console, 'log').mockImplementation((m) => void lines.push(String(m))),
      vi.spyOn(console, 'error').mockImplementation((m) => void lines.push(String(m))),
    ];
    const fake = join(dir, 'paths-fake.tgz');
    writeFileSync(fake, makeTgz(fakePackage()));
    const aFile = join(dir, 'paths-a-file');
    writeFileSync(aFile, 'not a folder');
    const cases: [string[], RegExp][] = [
      [
        ['--tarball', dir, '--out', join(dir, 'paths-out')],
        /^fetch-emoji: --tarball .*: is a folder; expected the \.tgz of emoji-datasource-google@/,
      ],
      [
        ['--tarball', join(dir, 'none.tgz'), '--out', join(dir, 'paths-out')],
        /^fetch-emoji: --tarball .*none\.tgz: no such file; expected the \.tgz/,
      ],
      [['--tarball', fake, '--out', aFile], /^fetch-emoji: --out .*paths-a-file: is a file, not a folder$/],
      [
        ['--tarball', fake, '--out', join(aFile, 'x')],
        /^fetch-emoji: --out .*paths-a-file\/x: .*paths-a-file is a file/,
      ],
      [
        ['--cache', aFile, '--out', join(dir, 'paths-out')],
        /^fetch-emoji: --cache .*paths-a-file: is a file; expected a folder/,
      ],
    ];
    try {
      for (const [argv, msg] of cases) {
        lines.length = 0;
        expect(fetchEmoji(argv), argv.join(' ')).toBe(2);
        expect(lines, argv.join(' ')).toHaveLength(1);
        expect(lines[0]).toMatch(msg);
      }
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(existsSync(join(dir, 'paths-out'))).toBe(false);
    expect(readFileSync(aFile, 'utf8')).toBe('not a folder');
  });

  it('checks a tarball against its sha512', () => {
    const file = join(dir, 'sum.tgz');
    writeFileSync(file, 'abc');
    expect(sha512Integrity(new TextEncoder().encode('abc'))).toBe(
      'sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==',
    );
    expect([...readCheckedTarball(file, sha512Integrity(new TextEncoder().encode('abc')))]).toEqual([97, 98, 99]);
    expect(() => readCheckedTarball(file)).toThrow(/sum\.tgz: corrupt or different tarball/);
    expect(() => readCheckedTarball(join(dir, 'none.tgz'))).toThrow(/tarball not found: .*none\.tgz/);
  });

  it('names what is wrong with a bad tarball and leaves no folder behind', () => {
    const out = join(dir, 'bad');
    const fails = (tgz: Uint8Array, pattern: RegExp) => {
      expect(() => buildEmojiFolder(tgz, out, OPTS64, { source: 'p.tgz' })).toThrow(pattern);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((n) => n.startsWith('bad.'))).toEqual([]);
    };
    const good = makeTgz(fakePackage());
    fails(good.subarray(0, good.length - 40), /p\.tgz: corrupt tarball: not a readable gzip file/);
    fails(new TextEncoder().encode('<html>proxy error</html>'), /p\.tgz: corrupt tarball/);
    fails(new Uint8Array(gzipSync(makeTar(fakePackage()).subarray(0, 3000))), /p\.tgz: truncated tar archive/);
    fails(
      makeTgz(fakePackage({ drop: '1f44b-1f3fb.png' })),
      /lists 1f44b-1f3fb\.png with a Google image, but .* missing/,
    );
    fails(makeTgz(fakePackage({ name: 'left-pad' })), /package\.json names "left-pad", not emoji-datasource-google/);
    fails(makeTgz(fakePackage({ emoji: { not: 'an array' } })), /p\.tgz: package\/emoji\.json: expected an array/);
    const broken = fakePackage();
    broken[4] = { name: `${EMOJI_IMAGE_DIR}1f44b.png`, data: 'not a png' };
    fails(makeTgz(broken), /p\.tgz: package\/img\/google\/64\/1f44b\.png is neither PNG nor JPEG/);
    const small = fakePackage();
    small[3] = { name: `${EMOJI_IMAGE_DIR}1f600.png`, data: encodePng(pattern(0, 32)) };
    fails(makeTgz(small), /1f600\.png is 32×32, expected 64×64/);
  });

  it('refuses to replace a folder it did not write', () => {
    const out = join(dir, 'mine');
    mkdirSync(out);
    writeFileSync(join(out, 'holiday.jpg'), 'x');
    expect(() => buildEmojiFolder(makeTgz(fakePackage()), out, OPTS64)).toThrow(
      /--out .*mine: the folder exists and was not written by this script/,
    );
    expect(readdirSync(out)).toEqual(['holiday.jpg']);
  });
});

describe('labelled folders', () => {
  let folder = '';
  beforeAll(() => {
    folder = join(dir, 'labelled');
    buildEmojiFolder(makeTgz(fakePackage()), folder, OPTS64);
  });

  it('load with labels in path order; the same pixels as train --dataset at any size', async () => {
    const l = loadLabelledFolder(folder);
    expect(l.files).toEqual(['1f1eb-1f1f7.png', '1f44b-1f3fb.png', '1f44b.png', '1f600.png']);
    expect([...l.dataset.labels]).toEqual([2, 1, 1, 0]);
    expect(l.classes).toEqual(['Smileys & Emotion', 'People & Body', 'Flags']);
    expect([l.dataset.n, l.dataset.c, l.dataset.h, l.storedSize]).toEqual([4, 3, 64, 64]);
    // pixel (10, 20) of 1f600.png, red: 179 → 179/127.5 − 1
    expect(l.dataset.images[3 * 3 * 64 * 64 + 20 * 64 + 10]).toBeCloseTo(179 / 127.5 - 1, 6);
    for (const size of [64, 32]) {
      const asTrain = await datasetByName(folder, { size });
      const labelled = loadLabelledFolder(folder, { size });
      expect(asTrain.n).toBe(4);
      expect(labelled.dataset.images).toEqual(asTrain.images);
    }
  });

  /** A copy of the folder with `edit` applied. */
  function variant(name: string, edit: (d: string) => void): string {
    const d = join(dir, name);
    rmSync(d, { recursive: true, force: true });
    execFileSync('cp', ['-r', folder, d]);
    edit(d);
    return d;
  }

  it('hostile folders: one message naming the file', () => {
    const labels = (d: string) => join(d, 'labels.json');
    const cases: [string, (d: string) => void, RegExp][] = [
      [
        'nolabels',
        (d) => rmSync(labels(d)),
        /nolabels\/labels\.json not found: a labelled folder needs a labels\.json/,
      ],
      ['badjson', (d) => writeFileSync(labels(d), '{"format": '), /badjson\/labels\.json: not valid JSON/],
      [
        'badfield',
        (d) =>
          writeFileSync(labels(d), JSON.stringify({ format: LABELS_FORMAT, name: 'x', classes: 'ab', images: {} })),
        /badfield\/labels\.json: field "classes" must be an array/,
      ],
      [
        'unlisted',
        (d) => writeFileSync(join(d, 'extra.png'), encodePng(pattern(1))),
        /unlisted\/extra\.png: image not listed in .*unlisted\/labels\.json/,
      ],
      [
        'missing',
        (d) => rmSync(join(d, '1f600.png')),
        /missing\/labels\.json: lists 1f600\.png, but .*missing\/1f600\.png does not exist/,
      ],
      [
        'notimage',
        (d) => writeFileSync(join(d, '1f44b.png'), 'GIF89a not really'),
        /notimage\/1f44b\.png is neither PNG nor JPEG/,
      ],
      [
        'mixed',
        (d) => writeFileSync(join(d, '1f600.png'), encodePng(pattern(1, 32))),
        /mixed\/1f600\.png is 32×32, but .*mixed\/1f1eb-1f1f7\.png is 64×64: a labelled folder's images must all be one size/,
      ],
      [
        'listedtext',
        (d) => {
          writeFileSync(join(d, 'notes.txt'), 'hello');
          const l = JSON.parse(readFileSync(labels(d), 'utf8'));
          l.images['notes.txt'] = 'Flags';
          writeFileSync(labels(d), JSON.stringify(l));
        },
        /listedtext\/notes\.txt has an unsupported format \(\.txt\)/,
      ],
    ];
    for (const [name, edit, pattern] of cases) {
      const d = variant(name, edit);
      expect(() => loadLabelledFolder(d), name).toThrow(pattern);
    }
    // files that are not images and not listed (a README, the classifier) are fine
    const ok = variant('withreadme', (d) => writeFileSync(join(d, 'README.txt'), 'about'));
    expect(loadLabelledFolder(ok).dataset.n).toBe(4);
    expect(() => loadLabelledFolder(join(dir, 'nowhere'))).toThrow(/labelled folder not found: .*nowhere/);
  });
});
