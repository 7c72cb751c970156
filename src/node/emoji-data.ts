/**
 * The emoji colour dataset on disk: fetching the pinned `emoji-datasource-google` tarball with `npm pack` into a
 * cache, checking it against the registry's sha512, and unpacking its 64×64 PNGs into a labelled image folder
 * (src/data/labels.ts) composited on a plain background, optionally box-downsampled. scripts/fetch-emoji.ts is
 * the command; the tests call buildEmojiFolder on small tarballs they make.
 *
 * The folder is built beside its destination (`<out>.partial-<pid>`) and renamed into place only when complete,
 * so an interrupted run leaves the previous folder or none, never half of one; a run whose folder already
 * matches what is asked for does nothing (and needs no network).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  EMOJI_IMAGE_DIR,
  EMOJI_INTEGRITY,
  EMOJI_PACKAGE,
  EMOJI_VERSION,
  boxDownsample,
  emojiCategories,
  formatHexColour,
  type EmojiVariants,
} from '../data/emoji.ts';
import { compositeOver, type Rgb } from '../io/image.ts';
import { LABELS_FILE, formatLabels, parseLabels } from '../data/labels.ts';
import { readTar } from '../io/tar.ts';
import { ensureDir, processAlive, writeFileAtomic } from './files.ts';
import { decodeImage, encodePng } from './png.ts';

/** The source side length of the package's images. */
export const EMOJI_SOURCE_SIZE = 64;

export interface EmojiFolderOptions {
  /** Side length of the written images: 64 (as in the package) or 32 (2×2 box filter). */
  size: 64 | 32;
  background: Rgb;
  variants: EmojiVariants;
}

/** What a folder was made from: written into labels.json's "source"; equal records mean an up-to-date folder. */
export function emojiSource(opts: EmojiFolderOptions, integrity = EMOJI_INTEGRITY): Record<string, unknown> {
  return {
    package: EMOJI_PACKAGE,
    version: EMOJI_VERSION,
    integrity,
    images: EMOJI_IMAGE_DIR.replace(/^package\//, '').replace(/\/$/, ''),
    variants: opts.variants,
    background: formatHexColour(opts.background),
    size: opts.size,
    resize:
      opts.size === EMOJI_SOURCE_SIZE
        ? 'none'
        : `box ${EMOJI_SOURCE_SIZE / opts.size}×${EMOJI_SOURCE_SIZE / opts.size}`,
  };
}

/** The data's identity in labels.json (and in a classifier trained on it). */
export function emojiDataName(opts: EmojiFolderOptions): string {
  const variants = opts.variants === 'all' ? 'all skin tones' : 'default skin tone only';
  return `${EMOJI_PACKAGE}@${EMOJI_VERSION} img/google/64 (${variants}) on ${formatHexColour(opts.background)} at ${opts.size}×${opts.size}`;
}

/** sha512 of bytes in npm's integrity notation. */
export function sha512Integrity(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/** Reads a tarball file and checks it against the pinned sha512 (a damaged or different file fails here). */
export function readCheckedTarball(path: string, integrity = EMOJI_INTEGRITY): Uint8Array {
  if (!existsSync(path)) throw new Error(`tarball not found: ${path}`);
  if (statSync(path).isDirectory()) throw new Error(`${path}: is a folder; expected the .tgz of ${EMOJI_PACKAGE}`);
  const bytes = new Uint8Array(readFileSync(path));
  const got = sha512Integrity(bytes);
  if (got !== integrity)
    throw new Error(
      `${path}: corrupt or different tarball: its sha512 is ${got.slice(0, 27)}…, ${EMOJI_PACKAGE}@${EMOJI_VERSION} has ${integrity.slice(0, 27)}…`,
    );
  return bytes;
}

/** The default cache folder of fetched tarballs. */
export function defaultCacheDir(): string {
  return join(homedir(), '.cache', 'wgpu-gan', 'npm');
}

/**
 * The pinned tarball from the cache, or fetched into it with `npm pack` (the registry through npm, with npm's own
 * integrity check) and then checked against the pinned sha512. Returns its path and bytes.
 */
export function fetchEmojiTarball(
  cacheDir = defaultCacheDir(),
  log: (line: string) => void = () => {},
): { path: string; bytes: Uint8Array } {
  const file = join(cacheDir, `${EMOJI_PACKAGE}-${EMOJI_VERSION}.tgz`);
  if (existsSync(file)) {
    try {
      return { path: file, bytes: readCheckedTarball(file) };
    } catch (err) {
      log(`${(err as Error).message}; fetching it again`);
      rmSync(file, { force: true });
    }
  }
  ensureDir(cacheDir);
  const temp = mkdtempSync(join(tmpdir(), 'wgpu-gan-npm-pack-'));
  try {
    log(`fetching ${EMOJI_PACKAGE}@${EMOJI_VERSION} with npm pack (about 74 MB) into ${cacheDir}`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const run = spawnSync(
      npm,
      ['pack', `${EMOJI_PACKAGE}@${EMOJI_VERSION}`, '--pack-destination', temp, '--loglevel', 'error'],
      {
        cwd: temp,
        encoding: 'utf8',
        timeout: 15 * 60 * 1000,
      },
    );
    const packed = join(temp, `${EMOJI_PACKAGE}-${EMOJI_VERSION}.tgz`);
    if (run.error || run.status !== 0 || !existsSync(packed)) {
      // npm's reason: the first line of its error that is not a code, a stack frame or the log notice
      const reason = `${run.stderr ?? ''}`
        .split('\n')
        .map((l) => l.replace(/^npm (error|ERR!)\s*/, '').trim())
        .find((l) => l && !/^(code|syscall|errno|at) |^[{}]|^A complete log|^Log files/.test(l));
      const why = run.error?.message ?? reason?.slice(0, 200) ?? `npm exited with status ${run.status}`;
      throw new Error(
        `could not fetch ${EMOJI_PACKAGE}@${EMOJI_VERSION} with npm pack (${why}); is the npm registry reachable? ` +
          `(or download the tarball elsewhere and pass --tarball FILE)`,
      );
    }
    const bytes = readCheckedTarball(packed);
    writeFileAtomic(file, bytes);
    return { path: file, bytes };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

export interface EmojiBuildReport {
  out: string;
  images: number;
  /** Images per class, in class order. */
  counts: Record<string, number>;
  /** PNGs under img/google/64/ that emoji.json does not list for the chosen variants (left out). */
  unlisted: number;
  /** Whether the folder was already up to date (nothing written). */
  upToDate: boolean;
}

/** Whether `out` holds a complete folder made from `source` (its labels.json says so and every image exists). */
export function emojiFolderUpToDate(out: string, source: Record<string, unknown>): EmojiBuildReport | undefined {
  const labelsPath = join(out, LABELS_FILE);
  if (!existsSync(labelsPath)) return undefined;
  try {
    const labels = parseLabels(readFileSync(labelsPath, 'utf8'), labelsPath);
    const { unlisted, ...made } = labels.source ?? {};
    if (JSON.stringify(made) !== JSON.stringify(source)) return undefined;
    const paths = Object.keys(labels.images);
    if (!paths.every((p) => existsSync(join(out, p)))) return undefined;
    const counts: Record<string, number> = Object.fromEntries(labels.classes.map((c) => [c, 0]));
    for (const c of Object.values(labels.images)) counts[c]!++;
    return { out, images: paths.length, counts, unlisted: Number(unlisted ?? 0), upToDate: true };
  } catch {
    return undefined;
  }
}

/**
 * Refuses an --out this code cannot write: a file, a folder under a file, or a folder it did not write (no
 * labels.json naming the package). The fetch script runs it before fetching anything.
 */
export function checkReplaceable(out: string): void {
  for (let dir = dirname(resolve(out)); !existsSync(out); dir = dirname(dir)) {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new Error(`--out ${out}: ${dir} is a file, not a folder`);
      return;
    }
    if (dir === dirname(dir)) return;
  }
  if (!statSync(out).isDirectory()) throw new Error(`--out ${out}: is a file, not a folder`);
  const labelsPath = join(out, LABELS_FILE);
  let ours = false;
  try {
    ours = parseLabels(readFileSync(labelsPath, 'utf8'), labelsPath).source?.package === EMOJI_PACKAGE;
  } catch {
    ours = false;
  }
  if (!ours && readdirSync(out).length > 0)
    throw new Error(
      `--out ${out}: the folder exists and was not written by this script (no ${LABELS_FILE} from ${EMOJI_PACKAGE}); choose another --out or remove it`,
    );
}

/** Removes `<out>.partial-<pid>` / `<out>.old-<pid>` folders left by runs that were killed. */
function removeStaleBuilds(out: string): void {
  const dir = dirname(out);
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const m = new RegExp(`^${basename(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(partial|old)-(\\d+)$`).exec(
      entry,
    );
    if (m && Number(m[2]) !== process.pid && !processAlive(Number(m[2])))
      rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * Unpacks a tarball of the package (bytes of the .tgz) into the labelled folder `out`: each listed 64×64 PNG of
 * img/google/64/ composited on the background (and box-downsampled for size 32), written under its package file
 * name, and labels.json with each image's category. Replaces an earlier folder of this script atomically; does
 * nothing when `out` is already up to date with the same source (unless `force`).
 */
export function buildEmojiFolder(
  tgz: Uint8Array,
  out: string,
  opts: EmojiFolderOptions,
  info: { source?: string; integrity?: string; force?: boolean } = {},
): EmojiBuildReport {
  const where = info.source ?? 'tarball';
  const source = emojiSource(opts, info.integrity);
  if (!info.force) {
    const done = emojiFolderUpToDate(out, source);
    if (done) return done;
  }
  checkReplaceable(out);
  if (opts.size !== 64 && opts.size !== 32) throw new Error(`--size: expected 64 or 32, got ${opts.size}`);

  let tar: Uint8Array;
  try {
    tar = gunzipSync(tgz);
  } catch (err) {
    throw new Error(`${where}: corrupt tarball: not a readable gzip file (${(err as Error).message})`);
  }
  const entries = readTar(tar, where);
  const files = new Map(entries.filter((e) => e.type === '0' || e.type === '7').map((e) => [e.name, e.data]));
  const json = (name: string): unknown => {
    const data = files.get(`package/${name}`);
    if (!data) throw new Error(`${where}: package/${name} is missing; not a tarball of ${EMOJI_PACKAGE}`);
    try {
      return JSON.parse(new TextDecoder().decode(data));
    } catch (err) {
      throw new Error(`${where}: package/${name} is not valid JSON (${(err as Error).message})`);
    }
  };
  const pkg = json('package.json') as { name?: unknown };
  if (pkg?.name !== EMOJI_PACKAGE)
    throw new Error(`${where}: package/package.json names ${JSON.stringify(pkg?.name)}, not ${EMOJI_PACKAGE}`);
  const { classes, byImage } = emojiCategories(
    json('emoji.json'),
    files.has('package/categories.json') ? json('categories.json') : undefined,
    opts.variants,
    `${where}: package/emoji.json`,
  );
  const pngs = [...files.keys()].filter((n) => n.startsWith(EMOJI_IMAGE_DIR) && n.endsWith('.png'));
  const unlisted = pngs.filter((n) => !byImage.has(n.slice(EMOJI_IMAGE_DIR.length))).length;
  for (const image of byImage.keys())
    if (!files.has(EMOJI_IMAGE_DIR + image))
      throw new Error(
        `${where}: emoji.json lists ${image} with a Google image, but ${EMOJI_IMAGE_DIR}${image} is missing`,
      );

  removeStaleBuilds(out);
  ensureDir(dirname(resolve(out)));
  const partial = `${out}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  try {
    const images: Record<string, string> = {};
    const counts: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
    for (const [image, category] of [...byImage].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const name = `${where}: ${EMOJI_IMAGE_DIR}${image}`;
      const decoded = decodeImage(files.get(EMOJI_IMAGE_DIR + image)!, name);
      if (decoded.width !== EMOJI_SOURCE_SIZE || decoded.height !== EMOJI_SOURCE_SIZE)
        throw new Error(`${name} is ${decoded.width}×${decoded.height}, expected 64×64`);
      let pixels = compositeOver(decoded, opts.background);
      if (opts.size !== EMOJI_SOURCE_SIZE) pixels = boxDownsample(pixels, EMOJI_SOURCE_SIZE / opts.size);
      writeFileSync(join(partial, image), encodePng(pixels));
      images[image] = category;
      counts[category]!++;
    }
    const labels = formatLabels({
      name: emojiDataName(opts),
      classes,
      images,
      source: { ...source, unlisted },
    });
    writeFileSync(join(partial, LABELS_FILE), labels);
    const old = `${out}.old-${process.pid}`;
    if (existsSync(out)) renameSync(out, old);
    renameSync(partial, out);
    rmSync(old, { recursive: true, force: true });
    return { out, images: Object.keys(images).length, counts, unlisted, upToDate: false };
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
}
