/**
 * Which files of a picked folder are its images, and in what order: one rule for the command line's folder
 * listing (src/node/datasets.ts) and the browser's folder picker (web/src/gan-page.ts), so that the same folder
 * gives the same images in the same order in both. No Node imports: the page uses this module.
 */

/** Compares by UTF-16 code units, not by locale, so that the order is the same on every machine and browser. */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A path with a part that starts with '.' (macOS's "._IMG.jpg" twins, ".DS_Store", files in hidden folders). A slash
 * and a backslash both separate parts, so a POSIX file name with a backslash before a dot counts as hidden, on the
 * command line as on the page.
 */
export const isHiddenPath = (path: string): boolean => path.split(/[\\/]/).some((part) => part.startsWith('.'));

/**
 * The image files among `files` (by extension, any letter case; hidden paths skipped), sorted by path, at most `cap`
 * of them: the first `cap` in that order. `found` counts them all, so a caller can say how many the cap left out.
 */
export function pickImageFiles<T>(
  files: Iterable<T>,
  pathOf: (f: T) => string,
  extensions: readonly string[],
  cap = Infinity,
): { used: T[]; found: number } {
  const isImage = (path: string) => extensions.some((ext) => path.toLowerCase().endsWith(ext));
  const all = [...files]
    .map((f) => ({ f, path: pathOf(f) }))
    .filter(({ path }) => isImage(path) && !isHiddenPath(path))
    .sort((a, b) => byCodeUnits(a.path, b.path));
  return { used: all.slice(0, cap).map(({ f }) => f), found: all.length };
}

/**
 * The text a folder's Dataset.fingerprint hashes (SHA-256, its first 16 hex digits): each image's path relative to
 * the folder ('/' between parts) and its size in bytes, a line each, in the order of pickImageFiles. The command line
 * (src/node/datasets.ts) and the page (web/src/gan-page.ts) hash the same text, so a checkpoint saved by one names
 * the images the other holds, and `train --resume` and the page's loading can tell other images apart.
 */
export function fingerprintText(images: readonly { path: string; size: number }[]): string {
  return images.map(({ path, size }) => `${path.split(/[\\/]/).join('/')}\t${size}\n`).join('');
}

/** Dataset.fingerprint from fingerprintText, with the Web Crypto digest a browser and Node both have. */
export async function folderFingerprint(images: readonly { path: string; size: number }[]): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(fingerprintText(images)));
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, 16);
}
