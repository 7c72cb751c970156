// Browser smoke test: builds tests/browser/smoke.html with Vite (the same src/ modules the CLI uses) and runs a
// matmul + backward on WebGPU inside headless Chromium. Exits non-zero on failure. Prints a plain summary line.
import { build } from 'vite';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { launchChromium } from './chromium.mjs';
import { serveDir } from './serve.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', '..', '.tmp', 'smoke-dist');
await build({
  root: here,
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true, rollupOptions: { input: join(here, 'smoke.html') } },
});
const server = await serveDir(outDir);
const browser = await launchChromium();
let ok = false;
try {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.error('[page]', m.text());
  });
  await page.goto(`${server.url}/smoke.html`);
  await page.waitForFunction(() => window.__smoke !== undefined, null, { timeout: 120_000 });
  const result = await page.evaluate(() => window.__smoke);
  console.log('browser smoke:', JSON.stringify(result));
  ok = result.ok === true;
} finally {
  await browser.close();
  await server.close();
}
console.log(`browser: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`);
process.exit(ok ? 0 : 1);
