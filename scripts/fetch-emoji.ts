/**
 * Fetches the colour dataset of issue 20: the 64×64 Google emoji of the npm package emoji-datasource-google
 * (pinned version, MIT), through npm, into a labelled image folder for `train --dataset DIR` and the emoji
 * classifier (`train-classifier --dataset DIR`, `eval`).
 *
 *   npx tsx scripts/fetch-emoji.ts                       → data/emoji-64/ (3,786 images on white, labels.json)
 *   npx tsx scripts/fetch-emoji.ts --size 32             → data/emoji-32/ (2×2 box filter of the 64 px images)
 *   npx tsx scripts/fetch-emoji.ts --background 000000 --variants base --out data/emoji-base-black
 *
 * The tarball is fetched once with `npm pack` into ~/.cache/wgpu-gan/npm/ (or --cache DIR) and checked against the
 * registry's sha512; --tarball FILE uses a tarball fetched elsewhere (checked the same way). A re-run whose folder
 * is already complete does nothing. Errors are one line; exit 1 for a failed fetch or a bad tarball, 2 for a
 * mistake in the options.
 */
import { parseArgs } from 'node:util';
import {
  EMOJI_PACKAGE,
  EMOJI_VERSION,
  parseHexColour,
  formatHexColour,
  type EmojiVariants,
} from '../src/data/emoji.ts';
import {
  buildEmojiFolder,
  checkReplaceable,
  defaultCacheDir,
  emojiFolderUpToDate,
  emojiSource,
  fetchEmojiTarball,
  readCheckedTarball,
  type EmojiFolderOptions,
} from '../src/node/emoji-data.ts';
import { isMainModule } from '../src/node/main-module.ts';
import { existsSync, statSync } from 'node:fs';

const HELP = `Usage: fetch-emoji [options]

Fetches ${EMOJI_PACKAGE}@${EMOJI_VERSION} through npm and writes its 64×64 images, composited on a plain
background, into a labelled folder (labels.json: each image's category from the package's emoji.json).

  --out DIR          folder to write [data/emoji-<size>]
  --size N           64 (as in the package) or 32 (2×2 box filter) [64]
  --background HEX   colour under the transparent pixels, six hex digits [ffffff]
  --variants WHICH   all (3,786 images, every skin tone) or base (the default tone only) [all]
  --cache DIR        where the fetched tarball is kept [${defaultCacheDir()}]
  --tarball FILE     use this tarball instead of fetching (it must be the pinned version)
  --force            rebuild the folder even when it is up to date
  -h, --help         this text`;

class UsageError extends Error {}

export function fetchEmoji(argv: string[]): number {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        size: { type: 'string' },
        background: { type: 'string' },
        variants: { type: 'string' },
        cache: { type: 'string' },
        tarball: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    console.error(`fetch-emoji: ${(err as Error).message} (see --help)`);
    return 2;
  }
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  try {
    const size = Number(v.size ?? 64);
    if (size !== 64 && size !== 32) throw new UsageError(`--size: expected 64 or 32, got "${v.size}"`);
    const variants = (v.variants ?? 'all') as EmojiVariants;
    if (variants !== 'all' && variants !== 'base')
      throw new UsageError(`--variants: expected all or base, got "${v.variants}"`);
    let background;
    try {
      background = parseHexColour(v.background ?? 'ffffff');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const opts: EmojiFolderOptions = { size, background, variants };
    const out = v.out ?? `data/emoji-${size}`;
    const say = (r: { images: number; counts: Record<string, number>; unlisted: number }, verb: string) =>
      console.log(
        `${out}: ${verb} ${r.images} images ${size}×${size} on ${formatHexColour(background)} in ${Object.keys(r.counts).length} categories ` +
          `(${Object.entries(r.counts)
            .map(([c, n]) => `${c} ${n}`)
            .join(', ')})` +
          (r.unlisted ? `; ${r.unlisted} images of other skin tones left out` : ''),
      );
    if (!v.force) {
      const done = emojiFolderUpToDate(out, emojiSource(opts));
      if (done) {
        say(done, 'up to date,');
        return 0;
      }
    }
    // the paths the user named, before a 74 MB fetch: a tarball that is not a file, an --out or --cache that
    // cannot be a folder
    if (v.tarball !== undefined && !existsSync(v.tarball))
      throw new UsageError(
        `--tarball ${v.tarball}: no such file; expected the .tgz of ${EMOJI_PACKAGE}@${EMOJI_VERSION}`,
      );
    if (v.tarball !== undefined && statSync(v.tarball).isDirectory())
      throw new UsageError(
        `--tarball ${v.tarball}: is a folder; expected the .tgz of ${EMOJI_PACKAGE}@${EMOJI_VERSION}`,
      );
    try {
      checkReplaceable(out);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (v.tarball === undefined && v.cache !== undefined && existsSync(v.cache) && !statSync(v.cache).isDirectory())
      throw new UsageError(`--cache ${v.cache}: is a file; expected a folder for the fetched tarball`);
    const { path, bytes } = v.tarball
      ? { path: v.tarball, bytes: readCheckedTarball(v.tarball) }
      : fetchEmojiTarball(v.cache ?? defaultCacheDir(), (line) => console.error(line));
    const report = buildEmojiFolder(bytes, out, opts, { source: path, force: v.force ?? false });
    say(report, 'wrote');
    return 0;
  } catch (err) {
    console.error(`fetch-emoji: ${(err as Error).message}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (isMainModule(import.meta.url)) process.exitCode = fetchEmoji(process.argv.slice(2));
