import { describe, expect, it } from 'vitest';
import {
  batchCount,
  batches,
  epochOrder,
  fromUint8,
  imageAt,
  mixSeed,
  mulberry32,
  permutation,
  Rng,
  shuffleInPlace,
  split,
  subset,
  take,
  toUint8,
  validateDataset,
  type Dataset,
} from '../src/data/dataset.ts';
import { mnistDigitsFromClassArrays } from '../src/data/mnist-digits.ts';
import { resizeDataset, withChannels } from '../src/data/transforms.ts';

/** n images of 1x2x2 whose four pixels all equal the image index (scaled), labels = index % 3. */
function numbered(n: number): Dataset {
  const images = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) images.fill(i, i * 4, i * 4 + 4);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { images, labels, n, c: 1, h: 2, w: 2, name: 'numbered' };
}

function isPermutation(order: ArrayLike<number>, n: number): boolean {
  if (order.length !== n) return false;
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = order[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= n || seen[v]) return false;
    seen[v] = 1;
  }
  return true;
}

describe('seeded randomness', () => {
  it('mulberry32 matches the usual one-line formulation of the algorithm', () => {
    // The widely published form, written independently here, returning floats.
    const reference = (seed: number) => () => {
      seed |= 0;
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (const seed of [0, 1, 42, 0xdeadbeef]) {
      const ours = mulberry32(seed);
      const theirs = reference(seed);
      for (let i = 0; i < 100; i++) expect(ours() / 4294967296).toBe(theirs());
    }
  });

  it('Rng.int is in range and roughly uniform (chi-square over 7 bins)', () => {
    const rng = new Rng(123);
    const counts = new Array(7).fill(0);
    const draws = 70000;
    let outOfRange = 0;
    for (let i = 0; i < draws; i++) {
      const v = rng.int(7);
      if (!(v >= 0 && v < 7 && Number.isInteger(v))) outOfRange++;
      else counts[v]++;
    }
    expect(outOfRange).toBe(0);
    const expected = draws / 7;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(22.46); // 6 degrees of freedom, p = 0.001
    expect(() => rng.int(0)).toThrow('Rng.int: n must be an integer in [1, 2^32], got 0');
  });

  it('Rng.float is in [0, 1) with mean near 1/2', () => {
    const rng = new Rng(7);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 20000; i++) {
      const f = rng.float();
      min = Math.min(min, f);
      max = Math.max(max, f);
      sum += f;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01); // sd of the mean is 0.002
  });

  it('mixSeed separates neighbouring streams', () => {
    const seeds = new Set<number>();
    for (let epoch = 0; epoch < 1000; epoch++) seeds.add(mixSeed(5, epoch));
    expect(seeds.size).toBe(1000);
    expect(mixSeed(5, 0)).not.toBe(mixSeed(6, 0));
    // mixSeed(5, 3) by hand, arithmetic mod 2³²: 5·0x9e3779b1 = 0x17156075; (3 + 0x7f4a7c15)·0x85ebca77 =
    // 0x7f4a7c18·0x85ebca77 = 0x53929f28; xor: 0x4487ff5d; ^= >>>16: 0x4487bbda; ·0x85ebca6b: 0x7213881e;
    // ^= >>>13: 0x72101882; ·0xc2b2ae35: 0x1c616eea; ^= >>>16: 0x1c61728b = 476148363.
    expect(mixSeed(5, 3)).toBe(0x1c61728b);
  });

  it('Fisher–Yates gives each of the 6 orders of 3 items equally often', () => {
    const rng = new Rng(99);
    const counts = new Map<string, number>();
    const trials = 60000;
    for (let t = 0; t < trials; t++) {
      const key = shuffleInPlace(['a', 'b', 'c'], rng).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    // Each count ~ Binomial(60000, 1/6): mean 10000, sd 91; allow 5 sd.
    for (const count of counts.values()) expect(Math.abs(count - 10000)).toBeLessThan(460);
  });
});

describe('permutations and epochs', () => {
  it('permutation is a permutation, deterministic per seed, different across seeds', () => {
    const a = permutation(1000, 1);
    expect(isPermutation(a, 1000)).toBe(true);
    expect(Array.from(permutation(1000, 1))).toEqual(Array.from(a));
    expect(Array.from(permutation(1000, 2))).not.toEqual(Array.from(a));
    expect(Array.from(permutation(0, 1))).toEqual([]);
    expect(Array.from(permutation(1, 1))).toEqual([0]);
  });

  it('epochOrder is deterministic per (seed, epoch) and differs across epochs', () => {
    const orders = [0, 1, 2, 3].map((epoch) => Array.from(epochOrder(500, 11, epoch)));
    for (const order of orders) expect(isPermutation(order, 500)).toBe(true);
    expect(Array.from(epochOrder(500, 11, 2))).toEqual(orders[2]);
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) expect(orders[i]).not.toEqual(orders[j]);
    // A real shuffle: few items stay in place (expected 1 for a random permutation).
    expect(orders[0]!.filter((v, i) => v === i).length).toBeLessThan(10);
    expect(() => epochOrder(5, 1, -1)).toThrow('epochOrder: epoch must be a non-negative integer, got -1');
  });
});

describe('batches', () => {
  it('covers every item exactly once, with matching pixels and labels', () => {
    const ds = numbered(23);
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const batch of batches(ds, 5, { seed: 3, epoch: 0 })) {
      sizes.push(batch.indices.length);
      expect(batch.images.length).toBe(batch.indices.length * 4);
      batch.indices.forEach((row, k) => {
        // Every pixel of image `row` equals `row`.
        expect(Array.from(batch.images.subarray(k * 4, k * 4 + 4))).toEqual([row, row, row, row]);
        expect(batch.labels![k]).toBe(row % 3);
        seen.push(row);
      });
    }
    expect(sizes).toEqual([5, 5, 5, 5, 3]);
    expect(batchCount(23, 5)).toBe(5);
    expect(isPermutation(seen, 23)).toBe(true);
    expect(seen).toEqual(Array.from(epochOrder(23, 3, 0)));
  });

  it('dropLast skips the short final batch', () => {
    const all = [...batches(numbered(23), 5, { seed: 3, dropLast: true })];
    expect(all.map((b) => b.indices.length)).toEqual([5, 5, 5, 5]);
    expect(batchCount(23, 5, true)).toBe(4);
    expect([...batches(numbered(4), 5, { dropLast: true })]).toHaveLength(0);
  });

  it('is reproducible for the same (seed, epoch) and reshuffled for the next epoch', () => {
    const ds = numbered(40);
    const order = (seed: number, epoch: number) =>
      [...batches(ds, 8, { seed, epoch })].flatMap((b) => Array.from(b.indices));
    expect(order(1, 0)).toEqual(order(1, 0));
    expect(order(1, 1)).toEqual(order(1, 1));
    expect(order(1, 1)).not.toEqual(order(1, 0));
    expect(order(2, 0)).not.toEqual(order(1, 0));
  });

  it('shuffle: false keeps the stored order; no labels gives no labels', () => {
    const ds = numbered(7);
    delete ds.labels;
    const got = [...batches(ds, 3, { shuffle: false })];
    expect(got.map((b) => Array.from(b.indices))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(got[0]!.labels).toBeUndefined();
  });

  it('rejects a bad batch size and an inconsistent dataset', () => {
    expect(() => [...batches(numbered(3), 0)]).toThrow('batches: batchSize must be a positive integer, got 0');
    const broken = { ...numbered(3), n: 4 };
    expect(() => [...batches(broken, 2)]).toThrow(
      "dataset 'numbered': images holds 12 values, but n*c*h*w = 4*1*2*2 = 16",
    );
  });
});

describe('construction, subsets, splits', () => {
  it('fromUint8 maps 0..255 to [-1, 1]', () => {
    const ds = fromUint8(
      new Uint8Array([0, 51, 255, 128]),
      { n: 1, c: 1, h: 2, w: 2 },
      { name: 'four', labels: new Int32Array([5]) },
    );
    expect(ds.images[0]).toBe(-1);
    expect(ds.images[1]).toBeCloseTo(-0.6, 6);
    expect(ds.images[2]).toBe(1);
    expect(ds.images[3]).toBeCloseTo(0.5 / 127.5, 6);
    expect(Array.from(toUint8(ds.images))).toEqual([0, 51, 255, 128]);
    expect(() => fromUint8(new Uint8Array(5), { n: 1, c: 1, h: 2, w: 2 })).toThrow(
      "dataset 'uint8 images': images holds 5 values, but n*c*h*w = 1*1*2*2 = 4",
    );
    expect(() => fromUint8(new Uint8Array(4), { n: 1, c: 1, h: 2, w: 2 }, { labels: new Int32Array(2) })).toThrow(
      "dataset 'uint8 images': 2 labels for 1 images",
    );
  });

  it('imageAt views one image', () => {
    const ds = numbered(3);
    expect(Array.from(imageAt(ds, 2))).toEqual([2, 2, 2, 2]);
    expect(() => imageAt(ds, 3)).toThrow("dataset 'numbered': image index 3 out of range [0, 3)");
  });

  it('subset copies the chosen rows in order', () => {
    const sub = subset(numbered(10), [9, 0, 4]);
    expect(sub.n).toBe(3);
    expect(Array.from(sub.images)).toEqual([9, 9, 9, 9, 0, 0, 0, 0, 4, 4, 4, 4]);
    expect(Array.from(sub.labels!)).toEqual([0, 0, 1]);
    expect(() => subset(numbered(10), [1, 10])).toThrow(
      "subset of 'numbered': index 10 (position 1) out of range [0, 10)",
    );
    expect(take(numbered(10), 4).n).toBe(4);
    expect(take(numbered(10), 40).n).toBe(10);
  });

  it('split is disjoint and complete; seeded split is deterministic', () => {
    const ds = numbered(50);
    const ids = (d: Dataset) => Array.from({ length: d.n }, (_, i) => imageAt(d, i)[0]!);
    const [head, tail] = split(ds, 0.2);
    expect([head.n, tail.n]).toEqual([40, 10]);
    expect(ids(tail)).toEqual([40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);

    const [a, b] = split(ds, 15, { seed: 4 });
    expect([a.n, b.n]).toEqual([35, 15]);
    expect(isPermutation([...ids(a), ...ids(b)], 50)).toBe(true);
    expect(ids(b)).not.toEqual(ids(tail).slice(0, 15));
    const [, again] = split(ds, 15, { seed: 4 });
    expect(ids(again)).toEqual(ids(b));
    expect(() => split(ds, 51)).toThrow(
      "split of 'numbered': second part must be a fraction in (0, 1) or a count in [0, 50], got 51",
    );
  });

  it('validateDataset names a bad field', () => {
    expect(() => validateDataset({ ...numbered(2), h: 1.5 })).toThrow(
      "dataset 'numbered': h must be a non-negative integer, got 1.5",
    );
  });
});

describe('transforms', () => {
  it('resizeDataset: constant images stay constant; a 2x2 checkerboard shrinks to its mean', () => {
    const flat = fromUint8(new Uint8Array(2 * 9).fill(200), { n: 2, c: 1, h: 3, w: 3 });
    const big = resizeDataset(flat, 7);
    expect([big.n, big.c, big.h, big.w]).toEqual([2, 1, 7, 7]);
    for (const v of big.images) expect(v).toBeCloseTo(200 / 127.5 - 1, 5);
    const checker = { images: new Float32Array([1, -1, -1, 1]), n: 1, c: 1, h: 2, w: 2, name: 'checker' };
    expect(resizeDataset(checker, 1).images[0]).toBeCloseTo(0, 6);
    expect(resizeDataset(checker, 2)).toBe(checker);
  });

  it('withChannels copies gray to RGB and back with 601 luma', () => {
    const gray = numbered(2);
    const rgb = withChannels(gray, 3);
    expect(rgb.c).toBe(3);
    expect(Array.from(rgb.images.subarray(12, 24))).toEqual(new Array(12).fill(1));
    const back = withChannels(rgb, 1);
    expect(back.c).toBe(1);
    for (let i = 0; i < back.images.length; i++) expect(back.images[i]).toBeCloseTo(gray.images[i]!, 5);
    const colour = { images: new Float32Array([1, -1, -1]), n: 1, c: 3, h: 1, w: 1, name: 'red' };
    expect(withChannels(colour, 1).images[0]).toBeCloseTo(0.299 - 0.587 - 0.114, 6);
  });
});

describe('mnistDigitsFromClassArrays', () => {
  it('snaps 3-decimal intensities back to bytes and labels by class', () => {
    // Class d holds d+1 images; every pixel of class d is round(d*25/255, 3 decimals).
    const perClass = Array.from({ length: 10 }, (_, d) =>
      new Array(784 * (d + 1)).fill(Math.round(((d * 25) / 255) * 1000) / 1000),
    );
    const ds = mnistDigitsFromClassArrays(perClass);
    expect([ds.n, ds.c, ds.h, ds.w]).toEqual([55, 1, 28, 28]);
    expect(Array.from(ds.labels!.subarray(0, 6))).toEqual([0, 1, 1, 2, 2, 2]);
    // Image 54 is the last digit 9: byte 225 exactly.
    expect(Array.from(toUint8(imageAt(ds, 54))).every((b) => b === 225)).toBe(true);
    expect(() => mnistDigitsFromClassArrays(perClass.slice(0, 9))).toThrow(
      'mnist digits: expected 10 class arrays (digits 0-9), got 9',
    );
    const bad = perClass.map((a) => a.slice());
    bad[3]![5] = 1.5;
    expect(() => mnistDigitsFromClassArrays(bad)).toThrow('mnist digits: class 3, value #5 is 1.5, outside [0, 1]');
    const ragged = perClass.map((a) => a.slice());
    ragged[2]!.pop();
    expect(() => mnistDigitsFromClassArrays(ragged)).toThrow(
      'mnist digits: class 2 has 2351 values, not a multiple of 28*28 = 784',
    );
  });
});
