/**
 * pickImageFiles (src/data/image-files.ts): the browser's folder picker and the CLI's folder listing choose the same
 * images in the same order; the page's cap keeps the first images by path and says how many there were.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pickImageFiles, isHiddenPath, folderFingerprint, fingerprintText } from '../src/data/image-files.ts';
import { IMAGE_EXTENSIONS, listImageFiles, loadImageFolder } from '../src/node/datasets.ts';
import { encodePng } from '../src/node/png.ts';

const PAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp'];
const path = (f: { path: string }) => f.path;

describe('pickImageFiles', () => {
  it('keeps image files by extension in any case, skips hidden paths, and sorts by UTF-16 code units', () => {
    const names = [
      'set/b.png',
      'set/a.JPG',
      'set/B.png', // upper case sorts before lower case, whatever the locale
      'set/é.png', // after every ASCII name
      'set/z.webp',
      'set/notes.txt',
      'set/._a.JPG', // macOS's resource-fork twin
      'set/.DS_Store',
      'set/.cache/c.png', // a file in a hidden folder
      'set/sub/a.png',
      'set/a.png.bak',
    ];
    const files = names.map((p) => ({ path: p }));
    const { used, found } = pickImageFiles(files, path, PAGE_EXTENSIONS);
    expect(used.map(path)).toEqual(['set/B.png', 'set/a.JPG', 'set/b.png', 'set/sub/a.png', 'set/z.webp', 'set/é.png']);
    expect(found).toBe(6);
    // the CLI's extensions leave out the kinds only a browser decodes
    expect(pickImageFiles(files, path, IMAGE_EXTENSIONS).used.map(path)).not.toContain('set/z.webp');
    expect(isHiddenPath('a/.b/c.png')).toBe(true);
    expect(isHiddenPath('a\\._c.png')).toBe(true);
    expect(isHiddenPath('a/b.c/d.png')).toBe(false);
  });

  it('caps at the first images by path, whatever order the files came in, and counts them all', () => {
    // 20,001 files in a scrambled order (the browser's FileList order is its own): the page's cap of 20,000
    const n = 20_001;
    const names = Array.from({ length: n }, (_, i) => `big/img-${String((i * 7919) % n).padStart(5, '0')}.png`);
    const { used, found } = pickImageFiles(
      names.map((p) => ({ path: p })),
      path,
      PAGE_EXTENSIONS,
      20_000,
    );
    expect(found).toBe(n);
    expect(used).toHaveLength(20_000);
    expect(used[0].path).toBe('big/img-00000.png');
    expect(used[19_999].path).toBe('big/img-19999.png'); // img-20000 is the one left out
    for (let i = 1; i < used.length; i++) expect(used[i - 1].path < used[i].path).toBe(true);
  });

  it('gives the order of the CLI’s listImageFiles for the same folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-files-'));
    try {
      for (const p of ['b.png', 'B.jpeg', 'sub/a.png', 'a-b.png', 'a_b.png', 'ab.png', '.hidden.png', 'x.txt']) {
        mkdirSync(join(dir, p, '..'), { recursive: true });
        writeFileSync(join(dir, p), 'not decoded here');
      }
      const listed = listImageFiles(dir).map((f) => relative(dir, f));
      const picked = pickImageFiles(listed.reverse(), (p) => p, IMAGE_EXTENSIONS).used;
      expect(picked).toEqual(['B.jpeg', 'a-b.png', 'a_b.png', 'ab.png', 'b.png', 'sub/a.png']);
      expect(listImageFiles(dir).map((f) => relative(dir, f))).toEqual(picked);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an image or folder whose name is not UTF-8, naming its bytes (was: "no such file" for a file that is there)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-files-'));
    try {
      writeFileSync(join(dir, 'ok.png'), 'not decoded here');
      const latin1 = (name: string) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name, 'latin1')]);
      // a text file so named is no image: skipped, as any non-image is
      writeFileSync(latin1('caf\u00e9.txt'), 'notes');
      expect(listImageFiles(dir).map((f) => relative(dir, f))).toEqual(['ok.png']);
      writeFileSync(latin1('caf\u00e9.png'), 'not decoded here');
      expect(() => listImageFiles(dir)).toThrow(
        `${dir}/caf\\xe9.png: its name is not UTF-8, so this program cannot open it by name; rename it`,
      );
      rmSync(latin1('caf\u00e9.png'));
      mkdirSync(latin1('d\u00e9j\u00e0'));
      expect(() => listImageFiles(dir)).toThrow(`${dir}/d\\xe9j\\xe0: its name is not UTF-8`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the page's fingerprint of a folder (Web Crypto, from the picked files) is the CLI's, and sees a changed size", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'image-print-'));
    try {
      const png = (side: number) =>
        encodePng({ width: side, height: side, rgba: new Uint8ClampedArray(4 * side * side).fill(200) });
      mkdirSync(join(dir, 'sub'));
      writeFileSync(join(dir, 'b.png'), png(3));
      writeFileSync(join(dir, 'sub', 'a.png'), png(2));
      const cli = loadImageFolder(dir, { size: 4 }).fingerprint;
      // what the page has: each picked file's path inside the folder and its size, in pickImageFiles' order
      const picked = (files: string[]) => files.map((f) => ({ path: f, size: statSync(join(dir, f)).size }));
      expect(cli).toMatch(/^[0-9a-f]{16}$/);
      expect(await folderFingerprint(picked(['b.png', 'sub/a.png']))).toBe(cli);
      writeFileSync(join(dir, 'b.png'), png(5)); // replaced by an image of another size
      expect(loadImageFolder(dir, { size: 4 }).fingerprint).not.toBe(cli);
      expect(await folderFingerprint(picked(['b.png', 'sub/a.png']))).toBe(
        loadImageFolder(dir, { size: 4 }).fingerprint,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the fingerprint format checkpoints already carry: path (/ between parts), tab, size, newline; SHA-256', async () => {
    // The expected digest is `printf 'sub/a.png\t3\nb.png\t10\n' | sha256sum` (coreutils), its first 16 hex digits:
    // a change of the text would make every recorded meta.data refuse its own folder.
    const images = [
      { path: 'sub\\a.png', size: 3 },
      { path: 'b.png', size: 10 },
    ];
    expect(fingerprintText(images)).toBe('sub/a.png\t3\nb.png\t10\n');
    expect(await folderFingerprint(images)).toBe('1a992813f0f7aa84');
  });
});
