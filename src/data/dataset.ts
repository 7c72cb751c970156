/**
 * In-memory image datasets and deterministic mini-batching for the GAN trainer.
 *
 * A dataset holds every image as one Float32Array in NCHW order, already scaled to [-1, 1] (the range a
 * tanh generator outputs), so a batch is a plain copy of rows and can go to the GPU as is.
 *
 * Shuffling is seeded: the order of epoch e depends only on (seed, e), so a run can be resumed at any epoch
 * and reproduced bit for bit, in Node and in the browser alike (no Math.random here).
 */

export interface Dataset {
  /** N*C*H*W pixels, NCHW order, scaled to [-1, 1]. */
  images: Float32Array;
  /** One class index per image, when the source has labels. */
  labels?: Int32Array;
  n: number;
  c: number;
  h: number;
  w: number;
  /** Human-readable origin, e.g. 'mnist-digits' or a folder path. */
  name: string;
  /**
   * An image folder's identity: a hash of its images' paths (relative to it) and byte sizes, in dataset order. A
   * resumed run compares it with its checkpoint's (`meta.data`), so another folder of as many images is refused.
   */
  fingerprint?: string;
}

export interface Batch {
  /** batch*C*H*W pixels, NCHW, in [-1, 1]. */
  images: Float32Array;
  /** Labels of the batch's images, if the dataset has labels. */
  labels?: Int32Array;
  /** Which dataset rows the batch holds, in batch order. */
  indices: Uint32Array;
}

/** Checks that the fields of a dataset agree with each other; throws naming the first that does not. */
export function validateDataset(ds: Dataset): void {
  for (const field of ['n', 'c', 'h', 'w'] as const) {
    if (!Number.isInteger(ds[field]) || ds[field] < 0) {
      throw new Error(`dataset '${ds.name}': ${field} must be a non-negative integer, got ${ds[field]}`);
    }
  }
  const expected = ds.n * ds.c * ds.h * ds.w;
  if (ds.images.length !== expected) {
    throw new Error(
      `dataset '${ds.name}': images holds ${ds.images.length} values, but n*c*h*w = ` +
        `${ds.n}*${ds.c}*${ds.h}*${ds.w} = ${expected}`,
    );
  }
  if (ds.labels && ds.labels.length !== ds.n) {
    throw new Error(`dataset '${ds.name}': ${ds.labels.length} labels for ${ds.n} images`);
  }
}

/** Values per image (C*H*W). */
export function imageSize(ds: Dataset): number {
  return ds.c * ds.h * ds.w;
}

/** The pixels of image `i` (a view, not a copy). */
export function imageAt(ds: Dataset, i: number): Float32Array {
  if (!Number.isInteger(i) || i < 0 || i >= ds.n) {
    throw new Error(`dataset '${ds.name}': image index ${i} out of range [0, ${ds.n})`);
  }
  const size = imageSize(ds);
  return ds.images.subarray(i * size, (i + 1) * size);
}

/**
 * Builds a dataset from 8-bit pixels (NCHW, 0..255), mapping 0 -> -1 and 255 -> 1 (v / 127.5 - 1).
 */
export function fromUint8(
  pixels: Uint8Array,
  shape: { n: number; c: number; h: number; w: number },
  opts: { labels?: Int32Array; name?: string } = {},
): Dataset {
  const images = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) images[i] = pixels[i]! / 127.5 - 1;
  const ds: Dataset = { images, n: shape.n, c: shape.c, h: shape.h, w: shape.w, name: opts.name ?? 'uint8 images' };
  if (opts.labels) ds.labels = opts.labels;
  validateDataset(ds);
  return ds;
}

/** Maps [-1, 1] pixels back to 0..255 (rounded, clamped): for previews and PNG export. */
export function toUint8(images: Float32Array): Uint8Array {
  const out = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) {
    out[i] = Math.min(255, Math.max(0, Math.round((images[i]! + 1) * 127.5)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness

/**
 * mulberry32: a tiny generator with 32 bits of state (period 2^32). Its quality is ample for shuffling
 * datasets; it is not meant for cryptography. Returns uniform uint32 values.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  };
}

/** A seeded random source: uint32, floats in [0, 1), and unbiased integers in [0, n). */
export class Rng {
  private readonly nextUint32: () => number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    this.nextUint32 = mulberry32(seed);
  }

  uint32(): number {
    return this.nextUint32();
  }

  /** Uniform in [0, 1), with 32 random bits. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), n <= 2^32, without modulo bias (rejects the incomplete top range). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296)
      throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let r = this.nextUint32();
    while (r >= limit) r = this.nextUint32();
    return r % n;
  }
}

/**
 * Combines a seed and a stream number (e.g. the epoch) into one 32-bit seed, so that neighbouring epochs get
 * unrelated generator states. Uses the murmur3 32-bit finaliser as the mixer.
 */
export function mixSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((stream >>> 0) + 0x7f4a7c15, 0x85ebca77)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fisher–Yates shuffle in place: every permutation equally likely given a uniform Rng. */
export function shuffleInPlace<T extends { length: number; [i: number]: any }>(items: T, rng: Rng): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** A random permutation of 0..n-1 determined by `seed`. */
export function permutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return shuffleInPlace(order, new Rng(seed));
}

/** The visiting order of epoch `epoch`: a permutation that depends only on (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  if (!Number.isInteger(epoch) || epoch < 0)
    throw new Error(`epochOrder: epoch must be a non-negative integer, got ${epoch}`);
  return permutation(n, mixSeed(seed, epoch));
}

// ---------------------------------------------------------------------------------------------------------
// Batching, subsets, splits

export interface BatchOptions {
  /** Base seed of the shuffle (default 0). */
  seed?: number;
  /** Which epoch's order to use (default 0); each epoch gets its own permutation. */
  epoch?: number;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Visit images in stored order instead of shuffling (default true = shuffle). */
  shuffle?: boolean;
}

/** Number of batches one epoch yields with these settings. */
export function batchCount(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/**
 * Yields one epoch of mini-batches. The order is the permutation epochOrder(n, seed, epoch), so calling
 * this again with the same (seed, epoch) gives the same batches.
 */
export function* batches(ds: Dataset, batchSize: number, opts: BatchOptions = {}): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
  }
  validateDataset(ds);
  const { seed = 0, epoch = 0, dropLast = false, shuffle = true } = opts;
  let order: Uint32Array;
  if (shuffle) {
    order = epochOrder(ds.n, seed, epoch);
  } else {
    order = new Uint32Array(ds.n);
    for (let i = 0; i < ds.n; i++) order[i] = i;
  }
  const size = imageSize(ds);
  const count = batchCount(ds.n, batchSize, dropLast);
  for (let b = 0; b < count; b++) {
    const indices = order.slice(b * batchSize, Math.min((b + 1) * batchSize, ds.n));
    const images = new Float32Array(indices.length * size);
    for (let k = 0; k < indices.length; k++) {
      const row = indices[k]!;
      images.set(ds.images.subarray(row * size, (row + 1) * size), k * size);
    }
    const batch: Batch = { images, indices };
    if (ds.labels) {
      const labels = new Int32Array(indices.length);
      for (let k = 0; k < indices.length; k++) labels[k] = ds.labels[indices[k]!]!;
      batch.labels = labels;
    }
    yield batch;
  }
}

/** A new dataset with the given rows, in the given order (pixels are copied). */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = `${ds.name}[subset]`): Dataset {
  const size = imageSize(ds);
  const images = new Float32Array(indices.length * size);
  const labels = ds.labels ? new Int32Array(indices.length) : undefined;
  for (let k = 0; k < indices.length; k++) {
    const row = indices[k]!;
    if (!Number.isInteger(row) || row < 0 || row >= ds.n) {
      throw new Error(`subset of '${ds.name}': index ${row} (position ${k}) out of range [0, ${ds.n})`);
    }
    images.set(ds.images.subarray(row * size, (row + 1) * size), k * size);
    if (labels) labels[k] = ds.labels![row]!;
  }
  const out: Dataset = { images, n: indices.length, c: ds.c, h: ds.h, w: ds.w, name };
  if (labels) out.labels = labels;
  return out;
}

/** The first `count` images (or all, if the dataset is smaller). */
export function take(ds: Dataset, count: number): Dataset {
  if (!Number.isInteger(count) || count < 0)
    throw new Error(`take: count must be a non-negative integer, got ${count}`);
  const n = Math.min(count, ds.n);
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return subset(ds, rows, n === ds.n ? ds.name : `${ds.name}[:${n}]`);
}

/**
 * Splits into two disjoint datasets that together hold every image once. `second` is the size of the second
 * part: a fraction in (0, 1) or an image count. With `seed`, images are assigned at random (deterministically);
 * without, the second part is the tail of the dataset.
 */
export function split(ds: Dataset, second: number, opts: { seed?: number } = {}): [Dataset, Dataset] {
  let secondCount: number;
  if (second > 0 && second < 1) secondCount = Math.round(ds.n * second);
  else if (Number.isInteger(second) && second >= 0 && second <= ds.n) secondCount = second;
  else
    throw new Error(
      `split of '${ds.name}': second part must be a fraction in (0, 1) or a count in [0, ${ds.n}], got ${second}`,
    );
  let order: Uint32Array;
  if (opts.seed !== undefined) {
    order = permutation(ds.n, opts.seed);
  } else {
    order = new Uint32Array(ds.n);
    for (let i = 0; i < ds.n; i++) order[i] = i;
  }
  const cut = ds.n - secondCount;
  return [
    subset(ds, order.subarray(0, cut), `${ds.name}[split 0]`),
    subset(ds, order.subarray(cut), `${ds.name}[split 1]`),
  ];
}
