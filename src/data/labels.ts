/**
 * The labels file of a labelled image folder: `labels.json` beside the images, naming each image's class.
 *
 *   {
 *     "format": "wgpu-gan-labels/1",
 *     "name": "emoji-datasource-google@16.0.0 img/google/64 on #ffffff",   ← the data's identity
 *     "classes": ["Smileys & Emotion", "People & Body", …],                 ← class order = label index
 *     "images": { "1f600.png": "Smileys & Emotion", … },                    ← path (relative, '/') → class
 *     "source": { … }                                                       ← optional: how the folder was made
 *   }
 *
 * A classifier trained on the folder records `name`, so it is never used to score other data. The fetch script
 * (scripts/fetch-emoji.ts) writes one; anyone can write one for their own images. Browser-clean.
 */

export const LABELS_FILE = 'labels.json';
export const LABELS_FORMAT = 'wgpu-gan-labels/1';

export interface LabelsFile {
  format: typeof LABELS_FORMAT;
  name: string;
  classes: string[];
  images: Record<string, string>;
  source?: Record<string, unknown>;
}

/** Whether a path is relative, '/'-separated and stays inside its folder. */
function isInsidePath(path: string): boolean {
  return (
    path.length > 0 &&
    !path.startsWith('/') &&
    !path.includes('\\') &&
    !/^[a-zA-Z]:/.test(path) &&
    path.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

/** Parses and checks a labels file; errors name `source` and the field. */
export function parseLabels(text: string, source = LABELS_FILE): LabelsFile {
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text); // a byte-order mark some editors write
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${source}: expected a JSON object with "format", "name", "classes" and "images"`);
  const o = json as Record<string, unknown>;
  if (o.format !== LABELS_FORMAT)
    throw new Error(`${source}: field "format" is ${JSON.stringify(o.format)}, expected "${LABELS_FORMAT}"`);
  if (typeof o.name !== 'string' || o.name.trim() === '')
    throw new Error(`${source}: field "name" must be a non-empty string, got ${JSON.stringify(o.name)}`);
  if (!Array.isArray(o.classes) || o.classes.length < 2)
    throw new Error(`${source}: field "classes" must be an array of at least 2 class names`);
  const seen = new Set<string>();
  o.classes.forEach((c, i) => {
    if (typeof c !== 'string' || c === '')
      throw new Error(`${source}: classes[${i}] must be a non-empty string, got ${JSON.stringify(c)}`);
    if (seen.has(c)) throw new Error(`${source}: class ${JSON.stringify(c)} is listed twice in "classes"`);
    seen.add(c);
  });
  if (typeof o.images !== 'object' || o.images === null || Array.isArray(o.images))
    throw new Error(`${source}: field "images" must be an object mapping image paths to class names`);
  const images = o.images as Record<string, unknown>;
  const paths = Object.keys(images);
  if (paths.length === 0) throw new Error(`${source}: field "images" lists no images`);
  for (const path of paths) {
    if (!isInsidePath(path))
      throw new Error(`${source}: image path ${JSON.stringify(path)} must be relative to the folder ('/'-separated)`);
    const c = images[path];
    if (typeof c !== 'string' || !seen.has(c))
      throw new Error(`${source}: image ${path} has class ${JSON.stringify(c)}, which is not in "classes"`);
  }
  // a class without an image could never be drawn: the coverage of every generator would miss it
  const used = new Set(Object.values(images));
  const empty = (o.classes as string[]).find((c) => !used.has(c));
  if (empty !== undefined)
    throw new Error(
      `${source}: class ${JSON.stringify(empty)} has no images (every class in "classes" needs at least one)`,
    );
  if (o.source !== undefined && (typeof o.source !== 'object' || o.source === null || Array.isArray(o.source)))
    throw new Error(`${source}: field "source" must be an object when present`);
  return o as unknown as LabelsFile;
}

/** The labels file's text (classes in their order, images sorted by path), ending in a newline. */
export function formatLabels(labels: Omit<LabelsFile, 'format'>): string {
  const images: Record<string, string> = {};
  for (const path of Object.keys(labels.images).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
    images[path] = labels.images[path]!;
  const out: LabelsFile = {
    format: LABELS_FORMAT,
    name: labels.name,
    classes: labels.classes,
    images,
    ...(labels.source ? { source: labels.source } : {}),
  };
  return `${JSON.stringify(out, null, 1)}\n`;
}
