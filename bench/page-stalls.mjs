// How long the browser app's own thread is held while it reads large photos: the longest task (Chromium's
// PerformanceObserver 'longtask': tasks over 50 ms) and their sum, while
//   style: a picked 6000×4000 JPEG is decoded and shown, then while Start shrinks it (size 64, 1 step: the network's
//          work is small beside the photo's);
//   folder: the GAN page builds a model on a folder of 6 JPEGs of 3000×2000.
// Builds are compared in one run, interleaved (A B, then B A, …: neither always goes first), since this machine's
// speed drifts:
//   node bench/page-stalls.mjs [--rounds N] [LABEL=DIST ...]
// DIST: a built app (`npx vite build web --outDir DIST`); without any, this checkout is built and measured alone.
// Writes bench/results/page-stalls.{json,md}. Headless Chromium with SwiftShader's WebGPU (tests/browser/chromium.mjs).
import { build } from 'vite';
import jpeg from 'jpeg-js';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../tests/browser/chromium.mjs';
import { serveDir } from '../tests/browser/serve.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
let rounds = 2;
let builds = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--rounds' || a.startsWith('--rounds=')) {
    rounds = Number(a === '--rounds' ? argv[++i] : a.slice('--rounds='.length));
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: a whole number of rounds, got ${a}`);
  } else if (/^[^=]+=.+$/.test(a)) {
    const at = a.indexOf('=');
    builds.push({ label: a.slice(0, at), dist: a.slice(at + 1) });
  } else throw new Error(`${a}: expected --rounds N or LABEL=DIST (a built app's folder)`);
}
for (const b of builds)
  if (!existsSync(join(b.dist, 'style.html'))) throw new Error(`${b.dist}: no built app there (style.html)`);
if (builds.length === 0) {
  const dist = join(root, '.tmp', 'page-stalls-dist');
  await build({ configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'warn', build: { outDir: dist } });
  builds = [{ label: 'this checkout', dist }];
}

/** A photo-like JPEG (smooth colour fields with grain), so that it decodes as a camera's would. */
function photo(width, height, seed) {
  const data = Buffer.alloc(width * height * 4);
  let s = seed >>> 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const grain = (s >>> 24) / 16;
      const i = (y * width + x) * 4;
      data[i] = 128 + 100 * Math.sin((x + seed * 97) / 300) + grain;
      data[i + 1] = 128 + 100 * Math.cos(y / 250 + seed) + grain;
      data[i + 2] = 128 + 80 * Math.sin((x + y) / 500) + grain;
      data[i + 3] = 255;
    }
  return jpeg.encode({ data, width, height }, 90).data;
}

const work = mkdtempSync(join(tmpdir(), 'page-stalls-'));
const big = join(work, 'big.jpg');
writeFileSync(big, photo(6000, 4000, 1));
const folder = join(work, 'photos');
mkdirSync(folder);
for (let i = 0; i < 6; i++) writeFileSync(join(folder, `p${i}.jpg`), photo(3000, 2000, i + 2));

/** Starts recording long tasks on the page; `take()` returns { longest, total, count } since the last take. */
async function recorder(page) {
  await page.evaluate(() => {
    window.__tasks = [];
    new PerformanceObserver((list) => window.__tasks.push(...list.getEntries().map((e) => e.duration))).observe({
      type: 'longtask',
    });
  });
  return async () => {
    await page.waitForTimeout(300); // entries arrive after their task
    const tasks = await page.evaluate(() => window.__tasks.splice(0));
    return { longest: Math.max(0, ...tasks), total: tasks.reduce((a, b) => a + b, 0), count: tasks.length };
  };
}

async function measure(browser, url) {
  const style = await browser.newPage();
  style.setDefaultTimeout(600_000);
  await style.goto(`${url}/style.html`);
  await style.waitForSelector('body[data-ready="true"]');
  let take = await recorder(style);
  const t0 = Date.now();
  await style.selectOption('#content-pick', 'file');
  await style.setInputFiles('#content-file', big);
  await style.waitForFunction(() => document.querySelector('#content-canvas').width === 6000);
  const decodeSeconds = (Date.now() - t0) / 1000;
  const decode = { ...(await take()), seconds: decodeSeconds };
  await style.fill('#size', '64');
  await style.fill('#steps', '1');
  const t1 = Date.now();
  await style.click('#start');
  await style.waitForSelector('#preview[data-done="true"]');
  const startSeconds = (Date.now() - t1) / 1000;
  const start = { ...(await take()), seconds: startSeconds };
  await style.close();

  const gan = await browser.newPage();
  gan.setDefaultTimeout(600_000);
  await gan.goto(`${url}/gan.html`);
  await gan.waitForSelector('body[data-ready="true"]');
  take = await recorder(gan);
  await gan.selectOption('#dataset', 'folder');
  await gan.setInputFiles('#folder-files', folder);
  await gan.selectOption('#model', 'dcgan32');
  await gan.fill('#width', '8');
  await gan.fill('#batch', '2');
  const t2 = Date.now();
  await gan.click('#build');
  await gan.waitForFunction(() => (document.querySelector('#data-info').textContent ?? '').includes('6 images'));
  const folderSeconds = (Date.now() - t2) / 1000;
  const folderRead = { ...(await take()), seconds: folderSeconds };
  await gan.close();
  return { decode, start, folder: folderRead };
}

const browser = await launchChromium();
const servers = await Promise.all(builds.map((b) => serveDir(b.dist)));
const samples = builds.map(() => []);
try {
  for (let r = 0; r < rounds; r++) {
    const order = [...builds.keys()];
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const m = await measure(browser, servers[i].url);
      samples[i].push(m);
      console.error(`round ${r + 1} ${builds[i].label}: ${JSON.stringify(m)}`);
    }
  }
} finally {
  await browser.close();
  for (const s of servers) await s.close();
}

const ms = (x) => `${Math.round(x)}`;
const cell = (list, key) =>
  list.map((m) => `${ms(m[key].longest)} / ${ms(m[key].total)} (${m[key].seconds.toFixed(1)} s)`).join('; ');
const lines = [
  "# The app's thread while it reads large photos",
  '',
  `Written by \`node bench/page-stalls.mjs\` on ${new Date().toISOString()}; headless Chromium, SwiftShader WebGPU, ` +
    `${rounds} rounds, builds interleaved (the order reversed every other round). Each cell: the longest task over 50 ms / all such tasks' sum, in ms ` +
    '(and the wall time of the whole action), one entry per round.',
  '',
  '| build | style: pick a 6000×4000 JPEG | style: Start at 64 px, 1 step | GAN: a folder of 6 JPEGs 3000×2000 |',
  '|---|---|---|---|',
  ...builds.map(
    (b, i) =>
      `| ${b.label} | ${cell(samples[i], 'decode')} | ${cell(samples[i], 'start')} | ${cell(samples[i], 'folder')} |`,
  ),
  '',
];
const out = join(root, 'bench', 'results');
writeFileSync(join(out, 'page-stalls.md'), lines.join('\n'));
writeFileSync(
  join(out, 'page-stalls.json'),
  JSON.stringify(
    { date: new Date().toISOString(), rounds, builds: builds.map((b, i) => ({ ...b, samples: samples[i] })) },
    null,
    1,
  ),
);
console.log(lines.join('\n'));
