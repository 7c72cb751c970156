/**
 * Carries an opaque image folder (data/emoji-64 of scripts/fetch-emoji.ts) to a lent GPU machine in a third of its
 * size: the PNGs' RGB pixels in one raw file (xz then packs flat colour far better than PNG's deflate), their names
 * and the folder's labels.json beside it, and a SHA-256 of the pixels. `unpack` writes the same PNGs back (the same
 * names, the same pixels; PNG is lossless) and refuses pixels whose hash differs.
 *
 *   npx tsx scripts/emoji-raw.ts pack data/emoji-64 .devpkg/emoji        (bench/device/pack.sh, EMOJI=1)
 *   node .devpkg/emoji-raw.mjs unpack .devpkg/emoji data/emoji-64        (bench/device/gan64.sh, bundled)
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImage, writePng } from '../src/node/png.ts';
import { LABELS_FILE } from '../src/data/labels.ts';
import { isMainModule } from '../src/node/main-module.ts';

interface Manifest {
  width: number;
  height: number;
  names: string[];
  sha256: string;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function packFolder(dir: string, to: string): Manifest {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort();
  if (!names.length) throw new Error(`${dir}: no PNG images`);
  const first = readImage(join(dir, names[0]!));
  const { width, height } = first;
  const raw = new Uint8Array(names.length * width * height * 3);
  names.forEach((name, i) => {
    const img = readImage(join(dir, name));
    if (img.width !== width || img.height !== height)
      throw new Error(`${join(dir, name)}: ${img.width}x${img.height}, the folder's first image is ${width}x${height}`);
    for (let p = 0; p < width * height; p++) {
      if (img.rgba[p * 4 + 3] !== 255) throw new Error(`${join(dir, name)}: pixel ${p} is not opaque`);
      for (let c = 0; c < 3; c++) raw[(i * width * height + p) * 3 + c] = img.rgba[p * 4 + c]!;
    }
  });
  mkdirSync(to, { recursive: true });
  writeFileSync(join(to, 'pixels.raw'), raw);
  const manifest: Manifest = { width, height, names, sha256: sha256(raw) };
  writeFileSync(join(to, 'manifest.json'), JSON.stringify(manifest) + '\n');
  if (existsSync(join(dir, LABELS_FILE))) copyFileSync(join(dir, LABELS_FILE), join(to, LABELS_FILE));
  return manifest;
}

export function unpackFolder(from: string, dir: string): Manifest {
  const manifest = JSON.parse(readFileSync(join(from, 'manifest.json'), 'utf8')) as Manifest;
  const { width, height, names } = manifest;
  const raw = new Uint8Array(readFileSync(join(from, 'pixels.raw')));
  if (raw.length !== names.length * width * height * 3 || sha256(raw) !== manifest.sha256)
    throw new Error(`${join(from, 'pixels.raw')}: not the pixels the manifest describes (size or SHA-256 differs)`);
  mkdirSync(dir, { recursive: true });
  names.forEach((name, i) => {
    const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
    for (let p = 0; p < width * height; p++)
      for (let c = 0; c < 3; c++) rgba[p * 4 + c] = raw[(i * width * height + p) * 3 + c]!;
    writePng(join(dir, name), { width, height, rgba });
  });
  if (existsSync(join(from, LABELS_FILE))) copyFileSync(join(from, LABELS_FILE), join(dir, LABELS_FILE));
  return manifest;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, a, b] = argv;
  if ((cmd !== 'pack' && cmd !== 'unpack') || !a || !b) {
    console.error('usage: emoji-raw.ts pack DIR TO | unpack FROM DIR');
    return 2;
  }
  const m = cmd === 'pack' ? packFolder(a, b) : unpackFolder(a, b);
  console.log(`${cmd}: ${m.names.length} images of ${m.width}x${m.height}, pixels sha256 ${m.sha256.slice(0, 16)}…`);
  return 0;
}

if (isMainModule(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
