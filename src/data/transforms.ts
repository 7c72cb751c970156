/**
 * Whole-dataset transforms, so every source (28x28 gray MNIST, a folder of photos) can be brought to the
 * resolution and channel count a model expects, e.g. MNIST at 64x64 for the classic DCGAN layout.
 */
import { bilinearResizeNchw, grayscaleNchw } from '../io/image.ts';
import { validateDataset, type Dataset } from './dataset.ts';

/** Resizes every image to size x size (bilinear, antialiased when shrinking). Returns `ds` if already that size. */
export function resizeDataset(ds: Dataset, size: number): Dataset {
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`resizeDataset '${ds.name}': size must be a positive integer, got ${size}`);
  validateDataset(ds);
  if (ds.h === size && ds.w === size) return ds;
  if (ds.n === 0) return { ...ds, images: new Float32Array(0), h: size, w: size };
  const images = bilinearResizeNchw(ds.images, ds.n, ds.c, ds.h, ds.w, size, size);
  return { ...ds, images, h: size, w: size };
}

/** Converts to 1 channel (ITU-R 601 luma) or 3 channels (gray copied to R, G and B). */
export function withChannels(ds: Dataset, channels: 1 | 3): Dataset {
  validateDataset(ds);
  if (ds.c === channels) return ds;
  const plane = ds.h * ds.w;
  if (ds.c === 1 && channels === 3) {
    const images = new Float32Array(ds.n * 3 * plane);
    for (let k = 0; k < ds.n; k++) {
      const gray = ds.images.subarray(k * plane, (k + 1) * plane);
      for (let ch = 0; ch < 3; ch++) images.set(gray, (k * 3 + ch) * plane);
    }
    return { ...ds, images, c: 3 };
  }
  if (ds.c === 3 && channels === 1) {
    const images = ds.n === 0 ? new Float32Array(0) : grayscaleNchw(ds.images, ds.n, ds.h, ds.w);
    return { ...ds, images, c: 1 };
  }
  throw new Error(`withChannels '${ds.name}': cannot convert ${ds.c} channels to ${channels}`);
}
