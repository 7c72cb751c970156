/**
 * The colour dataset of issue 20: the 64×64 Google emoji of the npm package `emoji-datasource-google` (MIT),
 * composited on a plain background, labelled with the package's categories. This file holds the pure steps
 * (no files, no network): reading the package's `emoji.json`, compositing, box-filter downsampling. The Node
 * side (src/node/emoji-data.ts) fetches and unpacks; scripts/fetch-emoji.ts is the command.
 * Browser-clean.
 */
import type { Rgb, RgbaImage } from '../io/image.ts';

/** The package and the version the fetch script pins (3,786 PNGs under img/google/64/). */
export const EMOJI_PACKAGE = 'emoji-datasource-google';
export const EMOJI_VERSION = '16.0.0';
/** The registry's sha512 of that version's tarball (`npm view emoji-datasource-google@16.0.0 dist.integrity`). */
export const EMOJI_INTEGRITY =
  'sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==';
/** Where the 64×64 images sit inside the tarball. */
export const EMOJI_IMAGE_DIR = 'package/img/google/64/';

/** 'ffffff' or '#ffffff' → [255, 255, 255]; errors name the option. */
export function parseHexColour(text: string, what = '--background'): Rgb {
  const m = /^#?([0-9a-fA-F]{6})$/.exec(text);
  if (!m) throw new Error(`${what}: expected a colour as six hex digits (e.g. ffffff), got "${text}"`);
  const v = parseInt(m[1]!, 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

export function formatHexColour([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/** Which images of an emoji to keep: every skin-tone variation ('all', 3,786) or the default tone only ('base'). */
export type EmojiVariants = 'all' | 'base';

export interface EmojiCategories {
  /** Category names in the package's order (categories.json's keys), only those with images. */
  classes: string[];
  /** Image file name (e.g. '1f600.png') → category. */
  byImage: Map<string, string>;
}

interface EmojiRecord {
  image?: unknown;
  category?: unknown;
  has_img_google?: unknown;
  skin_variations?: unknown;
}

/**
 * Each image's category from the package's `emoji.json` (an array of records with `image`, `category`,
 * `has_img_google`, and `skin_variations` whose images take their parent's category), ordered as the keys of
 * `categories.json` (categories it does not name follow, sorted). Errors name `source` and the record.
 */
export function emojiCategories(
  emojiJson: unknown,
  categoriesJson: unknown,
  variants: EmojiVariants = 'all',
  source = 'emoji.json',
): EmojiCategories {
  if (!Array.isArray(emojiJson)) throw new Error(`${source}: expected an array of emoji records`);
  const byImage = new Map<string, string>();
  const add = (image: unknown, category: string, where: string) => {
    if (typeof image !== 'string' || !/^[0-9a-z-]+\.png$/.test(image))
      throw new Error(`${source}: ${where} has image ${JSON.stringify(image)}, expected a name like 1f600.png`);
    const before = byImage.get(image);
    if (before !== undefined && before !== category)
      throw new Error(`${source}: image ${image} is listed under both ${before} and ${category}`);
    byImage.set(image, category);
  };
  emojiJson.forEach((value, i) => {
    const record = value as EmojiRecord;
    if (typeof record !== 'object' || record === null) throw new Error(`${source}: record ${i} is not an object`);
    const category = record.category;
    if (typeof category !== 'string' || category === '')
      throw new Error(`${source}: record ${i} has no "category" string (got ${JSON.stringify(category)})`);
    if (record.has_img_google === true) add(record.image, category, `record ${i}`);
    if (variants === 'all' && record.skin_variations !== undefined) {
      if (typeof record.skin_variations !== 'object' || record.skin_variations === null)
        throw new Error(`${source}: record ${i} has a "skin_variations" that is not an object`);
      for (const [tone, variation] of Object.entries(record.skin_variations as Record<string, EmojiRecord>)) {
        if (variation?.has_img_google === true) add(variation.image, category, `record ${i} skin variation ${tone}`);
      }
    }
  });
  const present = new Set(byImage.values());
  const ordered =
    typeof categoriesJson === 'object' && categoriesJson !== null && !Array.isArray(categoriesJson)
      ? Object.keys(categoriesJson)
      : [];
  const classes = ordered.filter((c) => present.has(c));
  classes.push(...[...present].filter((c) => !classes.includes(c)).sort());
  return { classes, byImage };
}

/**
 * Shrinks an opaque image by a whole factor: each output pixel is the mean of a factor×factor block (a box
 * filter), rounded. The size must be a multiple of the factor.
 */
export function boxDownsample(image: RgbaImage, factor: number): RgbaImage {
  const { width, height, rgba } = image;
  if (!(Number.isInteger(factor) && factor >= 1) || width % factor !== 0 || height % factor !== 0)
    throw new Error(`boxDownsample: ${width}×${height} cannot be shrunk by a whole factor ${factor}`);
  const w = width / factor;
  const h = height / factor;
  const out = new Uint8ClampedArray(w * h * 4);
  const area = factor * factor;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++)
          for (let dx = 0; dx < factor; dx++) sum += rgba[((y * factor + dy) * width + x * factor + dx) * 4 + c]!;
        out[(y * w + x) * 4 + c] = Math.round(sum / area);
      }
    }
  }
  return { width: w, height: h, rgba: out };
}
