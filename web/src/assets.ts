/** Paths (relative to the site root) of the MNIST digits that web/vite.config.ts bundles as gzipped IDX files. */
export const DIGIT_ASSETS = {
  images: 'data/mnist-digits-images.idx.gz',
  labels: 'data/mnist-digits-labels.idx.gz',
} as const;
