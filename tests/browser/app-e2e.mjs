// End-to-end tests of the browser app (web/) in headless Chromium with WebGPU (SwiftShader): builds it with Vite,
// serves the static files, and drives each page like a user. Workloads are tiny (SwiftShader runs on the CPU).
//   - GAN page: trains a few steps on the bundled digits (D only, G only, both, play/pause); the loss chart and
//     the sample grid change; a checkpoint saved in the page is read by the CLI's `sample`, and a checkpoint
//     written by the CLI's `train` loads in the page.
//   - GAN page, exact resume: save at step 5, load, step: the losses of continuing without the reload; the chart
//     keeps its points; a CLI checkpoint continued in the page matches the uninterrupted CLI run, and the page's
//     checkpoint continued by `train --resume` matches the page's uninterrupted steps (its chart keeps all points).
//   - GAN page, growing models at 8 px: progan's stage and α follow the images shown (a fade within 5 steps of 4
//     images), its grid is drawn at the stage's size and a finished stage's grid kept, and its 4 steps match the CLI's;
//     msggan with the rahinge loss steps G on a real batch and draws a row per scale; save → load continues both
//     exactly, with kind, size, width, loss and stage/α restored (from the CLI's checkpoint too).
//   - GAN page, latent walk (./gan-walk-e2e.mjs): drawn in eval mode, the same strips as the CLI's
//     `sample --interpolate` of the page's checkpoint, the frame count and New end points, Animate while training.
//   - GAN page states: building/drawing/compiling/stepping/training/pausing/paused on #status (the first step's
//     kernels compiled ahead, counted k / n, the step then compiling none), Play disabled with its reason during a
//     build, Pause acting after the step in flight, New model clearing the old model's numbers, fields that apply
//     on New model saying so (and the checkpoint recording what the model uses).
//   - Files that are not a checkpoint / VGG weights are named, and a checkpoint whose loss history is damaged; kernel
//     explorer fields and ?kernel= checked; no console errors for any of these messages.
//   - Style page: a picked photo is decoded in a Worker, shown with its own pixels and shrunk there at Start; a few
//     iterations at 32 px; the preview changes between snapshots; a new run starts clean and a run stopped before its
//     first preview has no result.
//   - Kernel explorer: lists every shaders/*.wgsl; conv2d runs with max error below tolerance; its check of every
//     kernel version (quick) passes and frees what it made.
//   - The address's ?autotune, ?conv and ?matmul set the kernels (shown on the adapter line); a wrong value is named.
//   - With WebGPU off, a page shows the clear message.
// Prints "web e2e: N passed, M failed", writes the counts to .tmp/web-e2e.json, exits non-zero on a failure.
// WEB_SCREENSHOTS=1 also writes docs/screenshots/*.png; WEB_E2E_ONLY=text runs only the checks naming it.
import { build } from 'vite';
import { chromium } from 'playwright-core';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  mkdtempSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { launchChromium, CHROMIUM } from './chromium.mjs';
import { serveDir } from './serve.mjs';
import { openPage, assert, cli, text, buildAndWait } from './e2e-kit.mjs';
import { ganWalkChecks } from './gan-walk-e2e.mjs';
import { withIncludes } from '../../scripts/shader-includes.mjs';

const { PNG } = pngjs;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(root, '.tmp', 'web-e2e-dist');
const work = mkdtempSync(join(tmpdir(), 'web-e2e-'));
const screenshots = process.env.WEB_SCREENSHOTS === '1' ? join(root, 'docs', 'screenshots') : null;
if (screenshots) mkdirSync(screenshots, { recursive: true });

const results = [];
// WEB_E2E_ONLY=text runs only the checks whose name contains it (while working on one page); the others are counted
// as left out, and the summary says so.
const only = process.env.WEB_E2E_ONLY ?? '';
const leftOut = [];
async function check(name, fn) {
  if (!name.includes(only)) {
    leftOut.push(name);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`  ✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false, error: String(e?.stack ?? e) });
    console.log(`  ✗ ${name}: ${e?.message ?? e}`);
  }
}
/**
 * The largest difference between two runs' losses, step by step, relative to the root mean square of that loss over
 * the reference run (D and G each their own scale): `a` and `b` are lists of { d, g }.
 */
function lossGap(a, b) {
  let worst = 0;
  for (const k of ['d', 'g']) {
    const scale = Math.sqrt(b.reduce((s, p) => s + p[k] * p[k], 0) / b.length);
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i][k] - b[i][k]) / scale);
  }
  return worst;
}
/** The JSON of a safetensors file's metadata field "meta". */
function metaOf(bytes) {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')).__metadata__.meta);
}
/** A safetensors file's bytes with `edit` applied to the JSON of its metadata field "meta" (tensors unchanged). */
function editSafetensorsMeta(bytes, edit) {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const meta = JSON.parse(header.__metadata__.meta);
  edit(meta);
  header.__metadata__.meta = JSON.stringify(meta);
  const raw = Buffer.from(JSON.stringify(header));
  const json = Buffer.concat([raw, Buffer.alloc((8 - (raw.length % 8)) % 8, ' ')]); // 8-byte aligned, as written
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, bytes.subarray(8 + headerLength)]);
}
/**
 * Writes `bytes` as `name` in the test's folder and picks it as the GAN page's checkpoint; returns the banner once it
 * speaks of that file (a refusal, or "Loaded …").
 */
async function loadCheckpointFile(page, name, bytes) {
  const path = join(work, name);
  writeFileSync(path, bytes);
  await page.evaluate(() => (document.querySelector('#banner').hidden = true));
  await page.setInputFiles('#load', path);
  await page.waitForFunction((n) => {
    const b = document.querySelector('#banner');
    return !b.hidden && b.textContent.includes(n);
  }, name);
  return text(page, 'banner');
}
/** A copy of a safetensors file's bytes with every float32 value of the tensors whose key passes `pick` set to `value`. */
function fillSafetensors(bytes, pick, value) {
  const out = Buffer.from(bytes);
  const headerLength = Number(out.readBigUInt64LE(0));
  const header = JSON.parse(out.subarray(8, 8 + headerLength).toString('utf8'));
  for (const [key, t] of Object.entries(header)) {
    if (key === '__metadata__' || !pick(key)) continue;
    for (let o = t.data_offsets[0]; o < t.data_offsets[1]; o += 4) out.writeFloatLE(value, 8 + headerLength + o);
  }
  return out;
}
const canvasData = (page, id) => page.$eval(`#${id}`, (c) => c.toDataURL());
/** A canvas's pixels as { width, height, rgba: number[] }. */
const canvasPixels = (page, id) =>
  page.$eval(`#${id}`, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    return { width: d.width, height: d.height, rgba: Array.from(d.data) };
  });
/** A width × height RGBA picture from `colour(x, y)` → [r, g, b, a]. */
function picture(width, height, colour) {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgba.set(colour(x, y), (y * width + x) * 4);
  return { width, height, data: rgba };
}
/** A JPEG whose Exif data says how it was turned (orientation 6: shown turned 90° clockwise), as a phone writes it. */
function jpegTurned(image, orientation) {
  const tiff = Buffer.alloc(26);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8); // one entry: orientation, a SHORT
  tiff.writeUInt16BE(0x0112, 10);
  tiff.writeUInt16BE(3, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255]), body]);
  const bytes = Buffer.from(jpeg.encode(image, 95).data);
  return Buffer.concat([bytes.subarray(0, 2), app1, bytes.subarray(2)]);
}
/** Clicks a step button and waits until the step counter reads `step` and the buttons are free again. */
async function stepAndWait(page, id, step) {
  await page.click(`#${id}`);
  await page.waitForFunction(
    (s) => document.querySelector('#step').textContent === String(s) && !document.querySelector('#step-both').disabled,
    step,
  );
}
/**
 * The stage and α of progressive growing after `images` images, with last stage K and L images per phase, as
 * DEVELOPERS.md states the schedule: stage 0 for the first L; stage k (1 ≤ k ≤ K) from L + 2(k−1)L on, α rising
 * from 0 to 1 over its first L images and holding at 1 for the next L; stage K at α 1 after the last fade.
 */
function growthOracle(images, K, L) {
  if (images < L || K === 0) return { stage: 0, alpha: 1 };
  const k = Math.floor((images - L) / (2 * L)) + 1;
  if (k > K) return { stage: K, alpha: 1 };
  return { stage: k, alpha: Math.min(1, (images - L - 2 * (k - 1) * L) / L) };
}
/** The growing models' stage display: its text and the values on its data attributes. */
const growthShown = (page) =>
  page.$eval('#growth', (e) => ({
    text: e.textContent,
    stage: Number(e.dataset.stage),
    alpha: Number(e.dataset.alpha),
    hidden: e.closest('#growth-row').hidden,
  }));
/** The last step's losses at full precision. */
const lossValues = async (page) => ({
  d: Number(await page.$eval('#loss-d', (e) => e.dataset.value ?? NaN)),
  g: Number(await page.$eval('#loss-g', (e) => e.dataset.value ?? NaN)),
});
/** The model fields of the form (a loaded checkpoint's model shows in them). */
const modelForm = (page) =>
  page.evaluate(() => {
    const v = (id) => document.querySelector(id).value;
    const shown = (id) => !document.querySelector(id).hidden;
    return {
      model: v('#model'),
      size: v('#size'),
      width: v('#width'),
      loss: v('#loss'),
      grow: shown('#grow-images-row') ? v('#grow-images') : null,
    };
  });
/**
 * A sample grid's cells (`side` px, 2 px padding, as makeGrid lays them out), row by row: the number of distinct
 * colours in the row's cells, and whether every cell is made of constant 2×2 blocks (an image drawn at half the
 * size and upsampled, as a 4 px scale or stage is shown at 8 px).
 */
const gridCells = (page, id, side) =>
  page.$eval(
    `#${id}`,
    (c, side) => {
      const { data, width, height } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      const px = (x, y) => {
        const i = (y * width + x) * 4;
        return `${data[i]},${data[i + 1]},${data[i + 2]}`;
      };
      const cell = side + 2;
      const cols = Math.floor((width - 2) / cell);
      const rows = [];
      for (let r = 0; r < Math.floor((height - 2) / cell); r++) {
        const values = new Set();
        let blocky = true;
        for (let col = 0; col < cols; col++) {
          const x0 = 2 + col * cell;
          const y0 = 2 + r * cell;
          for (let y = 0; y < side; y++)
            for (let x = 0; x < side; x++) {
              const v = px(x0 + x, y0 + y);
              values.add(v);
              if (v !== px(x0 + (x & ~1), y0 + (y & ~1))) blocky = false;
            }
        }
        rows.push({ values: values.size, blocky });
      }
      return { width, height, rows };
    },
    side,
  );
const shot = async (page, name) => {
  if (screenshots) await page.screenshot({ path: join(screenshots, name), fullPage: true });
};

await build({
  configFile: join(root, 'web', 'vite.config.ts'),
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true },
});
const server = await serveDir(outDir);
const browser = await launchChromium();
try {
  await check('GAN page trains on the bundled digits; chart and grid change; D-only and G-only steps', async () => {
    const page = await openPage(browser, `${server.url}/gan.html`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForSelector('body[data-ready="true"]');
    // The fields' HTML bounds are the CLI's ranges (an exclusive bound has none: HTML's are inclusive).
    const bounds = await page.evaluate(() =>
      ['real-label', 'g-ema', 'lr-g', 'batch'].map((id) => {
        const el = document.querySelector(`#${id}`);
        return `${id} [${el.getAttribute('min')}, ${el.getAttribute('max')}]`;
      }),
    );
    assert(
      bounds.join('; ') === 'real-label [null, 1]; g-ema [0, null]; lr-g [null, null]; batch [2, 512]',
      `the fields' bounds: ${bounds.join('; ')}`,
    );
    // Rebuild with a small batch (the default, 64, is slow on SwiftShader).
    await page.fill('#batch', '16');
    await page.fill('#grid-every', '2');
    await page.fill('#g-ema', '0.9'); // keep G's weight average, drawn by default
    await buildAndWait(page);
    assert((await text(page, 'data-info')).includes('10000 images'), `data info: ${await text(page, 'data-info')}`);
    const chart0 = await canvasData(page, 'chart');
    const grid0 = await canvasData(page, 'grid');

    await page.click('#step-d');
    await page.waitForFunction(
      () => document.querySelector('#step').textContent === '1' && !document.querySelector('#step-g').disabled,
    );
    assert(
      Number.isFinite(Number(await text(page, 'loss-d'))) && (await text(page, 'loss-g')) === '–',
      `after Step D: D ${await text(page, 'loss-d')}, G ${await text(page, 'loss-g')}`,
    );
    await page.click('#step-g');
    await page.waitForFunction(
      () => document.querySelector('#step').textContent === '2' && !document.querySelector('#step-both').disabled,
    );
    assert(
      Number.isFinite(Number(await text(page, 'loss-g'))) && (await text(page, 'loss-d')) === '–',
      `after Step G: D ${await text(page, 'loss-d')}, G ${await text(page, 'loss-g')}`,
    );
    await page.click('#step-both');
    await page.waitForFunction(
      () => document.querySelector('#step').textContent === '3' && !document.querySelector('#play').disabled,
    );
    assert(
      Number.isFinite(Number(await text(page, 'loss-d'))) && Number.isFinite(Number(await text(page, 'loss-g'))),
      'after Step both: both losses finite',
    );

    await page.click('#play');
    await page.waitForFunction(() => Number(document.querySelector('#step').textContent) >= 6);
    await page.click('#play'); // pause
    await page.waitForFunction(
      () => document.querySelector('#play').textContent.includes('Play') && !document.querySelector('#step-d').disabled,
    );
    const steps = Number(await text(page, 'step'));
    const points = Number(await page.$eval('#chart', (c) => c.dataset.points));
    assert(points >= 4, `the chart has ${points} points after ${steps} steps`);
    assert((await canvasData(page, 'chart')) !== chart0, 'the loss chart did not change');
    assert(Number(await page.$eval('#grid', (c) => c.dataset.step)) >= 2, 'the sample grid was not refreshed');
    assert((await canvasData(page, 'grid')) !== grid0, 'the sample grid did not change');
    assert(Number(await text(page, 'rate')) > 0, `images/s shows ${await text(page, 'rate')}`);
    assert(
      (await text(page, 'grid-title')).includes('weight average'),
      `grid title: ${await text(page, 'grid-title')}`,
    );
    await shot(page, 'gan.png');
    // From the same z, the trained G draws different images than its weight average does.
    const averaged = await canvasData(page, 'grid');
    assert(
      !(await page.$eval('#sample-from', (s) => s.disabled)),
      'the sample source cannot be chosen with a weight average',
    );
    await page.selectOption('#sample-from', 'raw');
    await page.waitForFunction(
      () =>
        document.querySelector('#grid-title').textContent.includes('trained G') &&
        !document.querySelector('#save').disabled,
    );
    assert((await canvasData(page, 'grid')) !== averaged, 'the trained G drew the same grid as the weight average');

    // "Refresh samples every" set wrong: said at once; a step still runs (the grid waits until the field is right).
    await page.fill('#grid-every', '0');
    await page.$eval('#grid-every', (e) => e.dispatchEvent(new Event('change')));
    const every = await text(page, 'banner');
    assert(
      every.includes('must be ≥ 1, got 0 (the samples are not redrawn until it is fixed)'),
      `grid-every 0 says: ${every}`,
    );
    const before = Number(await text(page, 'step'));
    const gridStep = await page.$eval('#grid', (c) => c.dataset.step);
    await page.click('#step-both');
    await page.waitForFunction(
      (n) => Number(document.querySelector('#step').textContent) === n && !document.querySelector('#save').disabled,
      before + 1,
    );
    assert(
      (await page.$eval('#status', (e) => e.dataset.state)) !== 'error' &&
        (await page.$eval('#grid', (c) => c.dataset.step)) === gridStep,
      `a step with grid-every 0: status ${await text(page, 'status')}, grid of step ${await page.$eval('#grid', (c) => c.dataset.step)}`,
    );
    await page.fill('#grid-every', '2');
    await page.$eval('#grid-every', (e) => e.dispatchEvent(new Event('change')));
    assert(await page.$eval('#banner', (e) => e.hidden), 'the grid-every message stays after the field is right');

    // Save in the page → the CLI samples from it.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const saved = join(work, 'from-web.safetensors');
    await download.saveAs(saved);
    const png = join(work, 'from-web.png');
    cli(['sample', '--checkpoint', saved, '--out', png, '--generator', 'ema']); // fails unless G_ema was saved
    assert(existsSync(png) && statSync(png).size > 1000, 'the CLI wrote no sample grid from the page checkpoint');
    console.log(`    page checkpoint (${statSync(saved).size} bytes, step ${steps}) → CLI sample ${png}`);

    // The CLI trains → the page loads its checkpoint and samples from it.
    const run = join(work, 'cli-run');
    cli(['train', '--model', 'dense', '--max-steps', '3', '--batch', '16', '--out', run]);
    await page.setInputFiles('#load', join(run, 'checkpoint.safetensors'));
    await page.waitForFunction(() => document.querySelector('#banner').textContent.startsWith('Loaded'));
    assert(
      (await text(page, 'step')) === '3',
      `after loading the CLI checkpoint the page shows step ${await text(page, 'step')}`,
    );
    assert(
      (await page.$eval('#grid', (c) => c.dataset.step)) === '3',
      'no sample grid drawn from the loaded checkpoint',
    );
    assert(
      await page.$eval('#sample-from', (s) => s.disabled),
      'a checkpoint without a weight average still offers one',
    );
    assert(
      (await page.inputValue('#g-ema')) === '0',
      `g-ema shows ${await page.inputValue('#g-ema')} for a run without an average`,
    );
    const beforeSample = await canvasData(page, 'grid');
    await page.click('#sample');
    await page.waitForFunction(() => document.querySelector('#grid-title').textContent.includes('new random z'));
    assert((await canvasData(page, 'grid')) !== beforeSample, 'Sample new z drew the same grid');
    // The page continues the CLI's run on the CLI's batches (the bundled digits are the CLI's mnist, in the same
    // order): its step 4 is the uninterrupted CLI run's step 4, up to the two adapters' rounding (Dawn in Node and
    // Chromium's SwiftShader do not add in the same order).
    await stepAndWait(page, 'step-both', 4);
    const inPage = {
      d: Number(await page.$eval('#loss-d', (e) => e.dataset.value)),
      g: Number(await page.$eval('#loss-g', (e) => e.dataset.value)),
    };
    const whole = join(work, 'cli-run-4');
    cli(['train', '--model', 'dense', '--max-steps', '4', '--batch', '16', '--out', whole]);
    const last = JSON.parse(readFileSync(join(whole, 'log.jsonl'), 'utf8').trim().split('\n').at(-1));
    const diff = lossGap([inPage], [{ d: last.lossD, g: last.lossG }]);
    console.log(
      `    CLI checkpoint at step 3 → page step 4: D ${inPage.d} G ${inPage.g}; CLI uninterrupted step 4: D ${last.lossD} G ${last.lossG} (largest difference ${diff.toExponential(1)} of the loss)`,
    );
    assert(
      last.step === 3 && diff < 1e-4,
      `the page's step 4 after the CLI's 3 is off the CLI's own step 4 by ${diff}`,
    );
    await page.close();
  });

  await check('GAN page: save at step N, load, step gives the losses of continuing without the reload', async () => {
    const page = await openPage(browser, `${server.url}/gan.html`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForSelector('body[data-ready="true"]');
    await page.fill('#batch', '16');
    await page.fill('#seed', '3');
    await page.fill('#grid-every', '100');
    await buildAndWait(page);
    // Five steps, one of them G only (its step's batch is passed over, as a resumed run passes over it too).
    for (const [id, step] of [
      ['step-both', 1],
      ['step-both', 2],
      ['step-g', 3],
      ['step-both', 4],
      ['step-both', 5],
    ]) {
      await stepAndWait(page, id, step);
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const saved = join(work, 'resume.safetensors');
    await download.saveAs(saved);
    await page.waitForFunction(() => !document.querySelector('#save').disabled);
    const pointsAtSave = Number(await page.$eval('#chart', (c) => c.dataset.points));
    const losses = async () => ({
      d: await page.$eval('#loss-d', (e) => e.dataset.value),
      g: await page.$eval('#loss-g', (e) => e.dataset.value),
    });
    const continued = [];
    for (const step of [6, 7]) {
      await stepAndWait(page, 'step-both', step);
      continued.push(await losses());
    }
    // Steps 6 and 7 are saved nowhere: loading asks first; Cancel keeps the model as it is.
    page.dialogAnswer = false;
    await page.setInputFiles('#load', saved);
    await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Kept the model'));
    assert(
      page.dialogs.length === 1 &&
        page.dialogs[0] ===
          'Loading resume.safetensors replaces the model in training: its 2 steps since it was saved (step 5) are saved nowhere. Press Cancel and then Save checkpoint to keep them.',
      `the question before loading over unsaved steps: ${page.dialogs.join(' | ')}`,
    );
    assert(
      (await text(page, 'step')) === '7',
      `after a cancelled load the page shows step ${await text(page, 'step')}`,
    );
    page.dialogAnswer = true;
    await page.setInputFiles('#load', saved);
    await page.waitForFunction(() => document.querySelector('#banner').textContent.startsWith('Loaded'));
    assert(page.dialogs.length === 2, `${page.dialogs.length} questions for two loads over unsaved steps`);
    assert((await text(page, 'step')) === '5', `after loading, the page shows step ${await text(page, 'step')}`);
    const pointsAfterLoad = Number(await page.$eval('#chart', (c) => c.dataset.points));
    assert(
      pointsAfterLoad === pointsAtSave,
      `the chart has ${pointsAfterLoad} points after loading, ${pointsAtSave} when saved`,
    );
    const resumed = [];
    for (const step of [6, 7]) {
      await stepAndWait(page, 'step-both', step);
      resumed.push(await losses());
    }
    console.log(
      `    continued D/G ${continued.map((l) => `${l.d}/${l.g}`).join(', ')}; after reload ${resumed.map((l) => `${l.d}/${l.g}`).join(', ')}`,
    );
    assert(
      JSON.stringify(resumed) === JSON.stringify(continued),
      `after save/load the losses differ: ${JSON.stringify(resumed)} vs ${JSON.stringify(continued)} without the reload`,
    );

    // The CLI continues the page's checkpoint: `train --resume` on it (the CLI's mnist is the page's bundled digits,
    // in the same order) takes steps 6 and 7 with the losses the page took without the reload, up to the two
    // adapters' rounding (Dawn in Node and Chromium's SwiftShader do not add in the same order).
    const run = join(work, 'page-run');
    mkdirSync(run);
    copyFileSync(saved, join(run, 'checkpoint.safetensors'));
    cli([
      'train',
      '--model',
      'dense',
      '--resume',
      '--out',
      run,
      '--max-steps',
      '7',
      '--grid',
      '4',
      '--final-eval',
      'false',
    ]);
    const log = readFileSync(join(run, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert(
      JSON.stringify(log.map((l) => l.step)) === '[5,6]',
      `the CLI resumed the page's step 5 with steps ${log.map((l) => l.step)}`,
    );
    const diff = lossGap(
      log.map((l) => ({ d: l.lossD, g: l.lossG })),
      continued.map((p) => ({ d: Number(p.d), g: Number(p.g) })),
    );
    console.log(
      `    page checkpoint at step 5 → CLI steps 6, 7: D/G ${log.map((l) => `${l.lossD}/${l.lossG}`).join(', ')} (largest difference from the page's ${diff.toExponential(1)} of the loss's RMS)`,
    );
    assert(diff < 1e-4, `the CLI's steps 6 and 7 after the page's 5 are off the page's own by ${diff}`);
    // The CLI's checkpoint carries the page's points and its own: loaded in the page, the chart has all 7.
    await page.setInputFiles('#load', join(run, 'checkpoint.safetensors'));
    await page.waitForFunction(() => document.querySelector('#banner').textContent.includes('checkpoint.safetensors'));
    assert(
      (await text(page, 'step')) === '7',
      `after loading the CLI's checkpoint the page shows step ${await text(page, 'step')}`,
    );
    const pointsFromCli = Number(await page.$eval('#chart', (c) => c.dataset.points));
    assert(
      pointsFromCli === pointsAtSave + 2,
      `the chart has ${pointsFromCli} points after loading the CLI's checkpoint, ${pointsAtSave} + 2 expected`,
    );
    await page.close();
  });

  await check(
    'GAN page, progan at 8 px: stage and α follow the images shown, each stage drawn at its size, the finished stage kept; save → load continues mid-fade; a CLI progan run loads and matches',
    async () => {
      const page = await openPage(browser, `${server.url}/gan.html`);
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.waitForSelector('body[data-ready="true"]');
      await page.selectOption('#model', 'progan');
      assert(
        !(await page.$eval('#size-row', (e) => e.hidden)) && !(await page.$eval('#grow-images-row', (e) => e.hidden)),
        'progan does not offer its size and growth fields',
      );
      assert(
        JSON.stringify(await page.$$eval('#size option', (os) => os.map((o) => o.value))) === '["8","16","32","64"]',
        `sizes offered: ${await page.$$eval('#size option', (os) => os.map((o) => o.value))}`,
      );
      assert(
        JSON.stringify(await page.$$eval('#loss option', (os) => os.map((o) => o.value))) ===
          '["bce","lsgan","hinge","rahinge"]',
        'the losses offered',
      );
      // a batch whose last stage's maps would not fit the adapter's largest GPU buffer: refused before any work,
      // naming the field (it failed at the first step, or hours in when progan reached that stage)
      const models = () => page.evaluate(() => Number(document.body.dataset.models ?? 0));
      const builtBefore = await models();
      await page.selectOption('#size', '64');
      await page.fill('#width', '512');
      await page.fill('#batch', '512');
      await page.click('#build');
      await page.waitForSelector('#banner.error:not([hidden])');
      const tooBig = await text(page, 'banner');
      assert(
        tooBig.startsWith(
          'Batch size 512: progan at 64×64 and Width 512 makes feature maps of 512×2097152 values (4096 MiB)',
        ) && /at most \d+ images fit in one batch \(or use a smaller Width\)/.test(tooBig),
        `a batch too large for the GPU: ${tooBig}`,
      );
      assert((await models()) === builtBefore, 'a model was built with a batch too large for the GPU');
      await page.selectOption('#size', '8');
      await page.fill('#width', '8');
      await page.fill('#grow-images', '8'); // stage 0 for 8 images (2 steps), the 8 px stage fades in over the next 2
      await page.selectOption('#loss', 'hinge');
      await page.fill('#batch', '4');
      await page.fill('#grid-every', '1');
      await buildAndWait(page);
      assert(
        (await text(page, 'data-info')).startsWith('progan 8 px on mnist-digits: 10000 images 3×8×8'),
        `data info: ${await text(page, 'data-info')}`,
      );
      const K = 1;
      const L = 8;
      const batch = 4;
      // Each step: the display shows the stage and α of the last step's images (growthOracle), and the grid is drawn
      // at that stage: upsampled from 4 px (2×2 blocks) at stage 0 and at the fade's first step (α 0), not after.
      const seen = [];
      const perStep = [];
      const expectGrowth = async (steps) => {
        const want = growthOracle(Math.max(0, steps - 1) * batch, K, L);
        const shown = await growthShown(page);
        const text = `stage ${want.stage}/${K} · ${4 << want.stage} px · α ${want.alpha.toFixed(2)}`;
        assert(
          shown.stage === want.stage && Math.abs(shown.alpha - want.alpha) < 1e-12 && shown.text === text,
          `after ${steps} steps the page shows ${JSON.stringify(shown)}, growthAt says ${JSON.stringify(want)}`,
        );
        const grid = await gridCells(page, 'grid', 8);
        const coarse = want.stage === 0 || want.alpha === 0;
        assert(
          grid.rows.length > 0 && grid.rows.every((r) => r.values > 1 && r.blocky === coarse),
          `after ${steps} steps (stage ${want.stage}, α ${want.alpha}) the grid's rows are ${JSON.stringify(grid.rows)}`,
        );
        seen.push(shown.text);
      };
      await expectGrowth(0);
      for (const step of [1, 2, 3, 4]) {
        await stepAndWait(page, 'step-both', step);
        await expectGrowth(step);
        const losses = await lossValues(page);
        assert(
          Number.isFinite(losses.d) && Number.isFinite(losses.g),
          `step ${step}: losses ${JSON.stringify(losses)}`,
        );
        perStep.push(losses);
        if (step === 2) {
          // Stage 0's last step: its samples are kept, at 4 px, while stage 1 fades in.
          const kept = await page.$eval('#stage-grid', (c) => ({ hidden: c.hidden, ...c.dataset }));
          assert(!kept.hidden && kept.stage === '0' && kept.step === '2', `stage grid: ${JSON.stringify(kept)}`);
          const cells = await gridCells(page, 'stage-grid', 8);
          assert(
            cells.rows.length > 0 && cells.rows.every((r) => r.blocky && r.values > 1),
            `stage 0's grid: ${JSON.stringify(cells.rows)}`,
          );
        }
      }
      console.log(`    progan 8 px, ${L} images per phase, batch ${batch}: ${seen.join(' → ')}`);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      assert(download.suggestedFilename() === 'progan-8px-step4.safetensors', `saved ${download.suggestedFilename()}`);
      const saved = join(work, 'progan.safetensors');
      await download.saveAs(saved);
      await page.waitForFunction(() => !document.querySelector('#save').disabled);
      await stepAndWait(page, 'step-both', 5);
      await expectGrowth(5);
      const continued = await lossValues(page);
      // A fresh model of another kind, then the checkpoint: kind, size, width, loss and growth come back with it.
      await page.selectOption('#model', 'dense');
      await page.selectOption('#loss', 'bce');
      await buildAndWait(page);
      assert(await page.$eval('#growth-row', (e) => e.hidden), 'the dense model shows a stage');
      await page.setInputFiles('#load', saved);
      await page.waitForFunction(() => document.querySelector('#banner').textContent.startsWith('Loaded'));
      const form = await modelForm(page);
      assert(
        JSON.stringify(form) === JSON.stringify({ model: 'progan', size: '8', width: '8', loss: 'hinge', grow: '8' }),
        `after loading, the form shows ${JSON.stringify(form)}`,
      );
      assert((await text(page, 'step')) === '4', `after loading the page shows step ${await text(page, 'step')}`);
      await expectGrowth(4);
      await stepAndWait(page, 'step-both', 5);
      await expectGrowth(5);
      const resumed = await lossValues(page);
      assert(
        JSON.stringify(resumed) === JSON.stringify(continued),
        `step 5 after save/load: ${JSON.stringify(resumed)}; without the reload ${JSON.stringify(continued)}`,
      );

      // The CLI trains the same model on the same digits with the same seed: its checkpoint loads with its stage and
      // α, and its 4 steps are the page's, up to the two adapters' rounding.
      const run = join(work, 'cli-progan');
      cli([
        ...['train', '--model', 'progan', '--size', '8', '--width', '8', '--grow-images', '8', '--loss', 'hinge'],
        ...['--batch', '4', '--max-steps', '4', '--grid', '4', '--final-eval', 'false', '--out', run],
      ]);
      const log = readFileSync(join(run, 'log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const diff = lossGap(
        log.map((l) => ({ d: l.lossD, g: l.lossG })),
        perStep,
      );
      console.log(
        `    CLI progan steps 1-4: D/G ${log.map((l) => `${l.lossD.toFixed(5)}/${l.lossG.toFixed(5)}`).join(', ')} (largest difference from the page's ${diff.toExponential(1)} of the loss's RMS)`,
      );
      // Four steps of pixel norm and minibatch deviations on two adapters (lavapipe in Node, SwiftShader in Chromium)
      // drift further apart than the dense GAN's steps do: 6.9e-4 of a loss's RMS was seen on this machine (the
      // dense GAN's 7.8e-7).
      assert(
        log.length === 4 && diff < 2e-3,
        `the CLI's 4 progan steps are off the page's by ${diff} of the loss's RMS`,
      );
      await page.setInputFiles('#load', join(run, 'checkpoint.safetensors'));
      await page.waitForFunction(() =>
        document.querySelector('#banner').textContent.includes('checkpoint.safetensors'),
      );
      assert((await text(page, 'step')) === '4', `the CLI checkpoint loads at step ${await text(page, 'step')}`);
      assert(
        JSON.stringify(await modelForm(page)) ===
          JSON.stringify({ model: 'progan', size: '8', width: '8', loss: 'hinge', grow: '8' }),
        `after loading the CLI's checkpoint the form shows ${JSON.stringify(await modelForm(page))}`,
      );
      await expectGrowth(4);
      // A 128 px checkpoint (the CLI trains up to 128) is refused by name: the page holds its data at the model's size.
      const big = join(work, 'progan-128.safetensors');
      writeFileSync(
        big,
        editSafetensorsMeta(readFileSync(join(run, 'checkpoint.safetensors')), (m) => {
          m.model.size = 128;
          m.model.stageWidths = [64, 64, 64, 32, 16, 8]; // the channel plan of width 8 at 128 px (src/gan/models.ts)
        }),
      );
      await page.setInputFiles('#load', big);
      await page.waitForSelector('#banner.error:not([hidden])');
      const refused = await text(page, 'banner');
      assert(
        refused.startsWith(
          'progan-128.safetensors is a progan 128 px model; this page trains and draws models up to 64 px',
        ),
        `a 128 px checkpoint says: ${refused}`,
      );
      assert((await text(page, 'step')) === '4', 'the model in training was lost');
      // Playing: frames of steps stop where a phase of growing ends, so stage 0's grid is the one of its last step.
      await buildAndWait(page);
      await page.click('#play');
      await page.waitForFunction(() => Number(document.querySelector('#step').textContent) >= 8);
      await page.click('#play');
      await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'paused');
      const played = Number(await text(page, 'step'));
      await expectGrowth(played);
      const kept = await page.$eval('#stage-grid', (c) => ({ ...c.dataset }));
      assert(
        kept.stage === '0' && kept.step === '2',
        `after playing to step ${played}: stage grid ${JSON.stringify(kept)}`,
      );
      const playedLosses = await lossValues(page);
      assert(
        Number.isFinite(playedLosses.d) && Number.isFinite(playedLosses.g),
        `losses after playing: ${JSON.stringify(playedLosses)}`,
      );
      await shot(page, 'gan-progan.png');
      assert(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
      await page.close();
    },
  );

  await check(
    'GAN page, msggan at 8 px with the rahinge loss: "all scales", Step G on a real batch, a row per scale; save → load continues exactly',
    async () => {
      const page = await openPage(browser, `${server.url}/gan.html`);
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.waitForSelector('body[data-ready="true"]');
      await page.selectOption('#model', 'msggan');
      assert(await page.$eval('#grow-images-row', (e) => e.hidden), 'msggan offers a growth phase');
      await page.selectOption('#size', '8');
      await page.fill('#width', '8');
      await page.selectOption('#loss', 'rahinge');
      await page.fill('#batch', '4');
      await page.fill('#grid-every', '1');
      await buildAndWait(page);
      const expectScales = async (steps) => {
        const shown = await growthShown(page);
        assert(
          shown.text === 'all scales · 4–8 px' && shown.stage === 1 && shown.alpha === 1,
          `after ${steps} steps the page shows ${JSON.stringify(shown)}`,
        );
        // One row per scale, coarsest first: the 4 px row is its images upsampled (2×2 blocks), the 8 px row is not.
        const scales = await gridCells(page, 'scales', 8);
        assert(
          scales.rows.length === 2 &&
            scales.rows[0].blocky &&
            !scales.rows[1].blocky &&
            scales.rows.every((r) => r.values > 1),
          `after ${steps} steps the scales are ${JSON.stringify(scales)}`,
        );
        assert(
          (await page.$eval('#scales', (c) => c.dataset.step)) === String(steps),
          'the scales were not drawn at this step',
        );
        const grid = await gridCells(page, 'grid', 8);
        assert(
          grid.rows.length > 0 && grid.rows.every((r) => !r.blocky && r.values > 1),
          `the grid (8 px samples): ${JSON.stringify(grid.rows)}`,
        );
      };
      await expectScales(0);
      // rahinge's G loss judges the fakes against D on a real batch: Step G takes its step's batch.
      await stepAndWait(page, 'step-g', 1);
      const g = await lossValues(page);
      assert(
        Number.isFinite(g.g) && (await text(page, 'loss-d')) === '–',
        `after Step G: D ${await text(page, 'loss-d')}, G ${g.g}`,
      );
      await expectScales(1);
      await stepAndWait(page, 'step-d', 2);
      await stepAndWait(page, 'step-both', 3);
      const both = await lossValues(page);
      assert(Number.isFinite(both.d) && Number.isFinite(both.g), `after Step both: ${JSON.stringify(both)}`);
      await expectScales(3);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      const saved = join(work, 'msggan.safetensors');
      await download.saveAs(saved);
      await page.waitForFunction(() => !document.querySelector('#save').disabled);
      const continued = [];
      for (const [id, step] of [
        ['step-g', 4],
        ['step-both', 5],
      ]) {
        await stepAndWait(page, id, step);
        continued.push(await lossValues(page));
      }
      await page.setInputFiles('#load', saved);
      await page.waitForFunction(() => document.querySelector('#banner').textContent.startsWith('Loaded'));
      const form = await modelForm(page);
      assert(
        JSON.stringify(form) ===
          JSON.stringify({ model: 'msggan', size: '8', width: '8', loss: 'rahinge', grow: null }),
        `after loading, the form shows ${JSON.stringify(form)}`,
      );
      assert((await text(page, 'step')) === '3', `after loading the page shows step ${await text(page, 'step')}`);
      await expectScales(3);
      const resumed = [];
      for (const [id, step] of [
        ['step-g', 4],
        ['step-both', 5],
      ]) {
        await stepAndWait(page, id, step);
        resumed.push(await lossValues(page));
      }
      console.log(
        `    msggan rahinge steps 4 (G on its real batch), 5: ${continued.map((l) => `${l.d}/${l.g}`).join(', ')}; after reload ${resumed.map((l) => `${l.d}/${l.g}`).join(', ')}`,
      );
      assert(
        JSON.stringify(resumed) === JSON.stringify(continued),
        `after save/load the losses differ: ${JSON.stringify(resumed)} vs ${JSON.stringify(continued)}`,
      );
      await shot(page, 'gan-msggan.png');
      assert(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
      await page.close();
    },
  );

  await check(
    'GAN page shows what it is doing; Pause acts after the step in flight; New model clears the old one; fields that apply on New model say so',
    async () => {
      const page = await openPage(browser, `${server.url}/gan.html`);
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.waitForSelector('body[data-ready="true"]');
      // Records the page's state at every change of its status line.
      await page.evaluate(() => {
        const q = (sel) => document.querySelector(sel);
        window.statusLog = [];
        const record = () =>
          window.statusLog.push({
            state: q('#status').dataset.state,
            text: q('#status').textContent,
            play: q('#play').textContent,
            playDisabled: q('#play').disabled,
            playWhy: q('#play').title,
            stepWhy: q('#step-both').title,
            step: q('#step').textContent,
            lossD: q('#loss-d').textContent,
            rate: q('#rate').textContent,
            gridStep: q('#grid').dataset.step ?? null,
          });
        new MutationObserver(record).observe(q('#status'), { attributes: true, childList: true, characterData: true });
      });
      const log = () => page.evaluate(() => window.statusLog.splice(0));
      await page.fill('#batch', '16');
      await page.fill('#grid-every', '3');
      await buildAndWait(page);
      let states = await log();
      const building = states.find((s) => s.state === 'building');
      assert(building, `no "building" state: ${states.map((s) => s.state).join(' → ')}`);
      assert(
        building.playDisabled && building.playWhy.includes('wait') && building.stepWhy.includes('wait'),
        `during the build Play is ${building.playDisabled ? 'disabled' : 'enabled'}, saying "${building.playWhy}"`,
      );
      assert(
        states.some((s) => s.state === 'drawing'),
        'no "drawing" state while the first samples are drawn',
      );
      assert(states.at(-1).state === 'ready', `the build ends in state ${states.at(-1).state}`);
      console.log(
        `    build: ${states
          .map((s) => s.state)
          .filter((x, i, a) => x !== a[i - 1])
          .join(' → ')}; ${states.at(-1).text}`,
      );

      await stepAndWait(page, 'step-both', 1);
      states = await log();
      assert(
        states.some((s) => s.state === 'stepping' && s.text.startsWith('step 1 (D and G)')),
        'no "step 1" state',
      );
      // The first step's kernels compile ahead, counted from 0 up to all of them (engine.precompile's progress).
      const counts = states
        .filter((x) => x.state === 'compiling')
        .map((x) => /^step 1 \(D and G\): compiling GPU kernels (\d+) \/ (\d+)/.exec(x.text))
        .filter(Boolean)
        .map((m) => [Number(m[1]), Number(m[2])]);
      const stepKernels = counts.at(-1)?.[1];
      assert(
        counts.length > 1 && counts[0][0] === 0 && counts.at(-1)[0] === stepKernels && stepKernels > 0,
        `step 1: compiling states ${JSON.stringify(counts)}`,
      );
      // The step itself then compiles nothing: the kernels compiled ahead are the ones it launches.
      const stepping = states.filter((s) => s.state === 'stepping').map((s) => s.text);
      assert(
        stepping.length > 0 && stepping.every((t) => !t.includes('new GPU kernel')),
        `step 1 still compiled kernels after compiling ahead: ${stepping.at(-1)}`,
      );
      console.log(
        `    compiled ahead of step 1: ${stepKernels} kernels (progress seen: ${counts.map((c) => c[0]).join(', ')})`,
      );
      console.log(`    ${await text(page, 'status')}`);
      await page.click('#play');
      await page.waitForFunction(() => Number(document.querySelector('#step').textContent) >= 6);
      // Pause: the label changes at once, the loop stops after the steps in flight (the status names the last one).
      const atPause = await page.evaluate(() => {
        document.querySelector('#play').click();
        return {
          label: document.querySelector('#play').textContent,
          status: document.querySelector('#status').textContent,
        };
      });
      assert(atPause.label.includes('Pausing'), `right after the click Pause reads "${atPause.label}"`);
      const lastStep = Number(/pausing after step (\d+)/.exec(atPause.status)?.[1]);
      await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'paused');
      assert(
        Number(await text(page, 'step')) === lastStep,
        `paused at step ${await text(page, 'step')}; the pause was asked when step ${lastStep} was in flight`,
      );
      assert((await text(page, 'play')).includes('Play'), `after pausing the button reads ${await text(page, 'play')}`);
      assert(Number(await text(page, 'rate')) > 0, `images/s shows ${await text(page, 'rate')}`);
      states = await log();
      const training = states.filter((s) => s.state === 'training').map((s) => s.text);
      assert(
        training.some((t) => /training: step \d+ · epoch 1, batch \d+ of 625/.test(t)),
        `training states: ${training.slice(-3).join(' | ')}`,
      );
      console.log(`    while playing: "${training.at(-1)}"; paused at step ${lastStep}`);
      assert(
        (await page.$eval('#step-both', (b) => b.title)) === 'one D step, then a G step',
        'Step both lost its own tooltip',
      );
      assert(
        await page.$eval('#sample-from', (s) => s.disabled && s.title.includes('no weight average')),
        `"Draw samples from" says: ${await page.$eval('#sample-from', (s) => s.title)}`,
      );

      // Fields that build the model, changed while paused: the page says they apply on New model, and a checkpoint
      // records what the model uses.
      await page.fill('#batch', '32');
      await page.fill('#seed', '7');
      const pending = await text(page, 'model-pending');
      assert(
        !(await page.$eval('#model-pending', (e) => e.hidden)) &&
          pending.includes('batch size 16') &&
          pending.includes('seed 1'),
        `pending note: "${pending}"`,
      );
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      const saved = join(work, 'pending.safetensors');
      await download.saveAs(saved);
      const bytes = readFileSync(saved);
      const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
      const options = JSON.parse(header.__metadata__.meta).options;
      assert(
        options.batchSize === 16 && options.seed === 1,
        `the checkpoint says batch ${options.batchSize}, seed ${options.seed}`,
      );

      // A live field out of its range (the bounds the CLI has too) is named in the page; the model keeps its value.
      await page.fill('#real-label', '1.5');
      await page.$eval('#real-label', (e) => e.dispatchEvent(new Event('change')));
      const live = await text(page, 'banner');
      assert(
        live.startsWith('Real label (1 = no smoothing): expected a number in (0, 1], got 1.5'),
        `real label 1.5 says: ${live}`,
      );
      await page.fill('#real-label', '1');
      await page.$eval('#real-label', (e) => e.dispatchEvent(new Event('change')));
      assert(await page.$eval('#banner', (e) => e.hidden), 'the message stays after the field is right again');
      // One step past the save: New model asks first, and Cancel keeps the model and its step.
      const savedAt = Number(await text(page, 'step'));
      await stepAndWait(page, 'step-both', savedAt + 1);
      page.dialogAnswer = false;
      await page.click('#build');
      await page.waitForFunction(
        () => document.querySelector('#status').textContent === 'Kept the model in training (New model was cancelled).',
      );
      assert(
        page.dialogs.length === 1 &&
          page.dialogs[0].startsWith(
            `New model replaces the model in training: its 1 step since it was saved (step ${savedAt}) is saved nowhere.`,
          ),
        `the question before New model: ${page.dialogs.join(' | ')}`,
      );
      assert(Number(await text(page, 'step')) === savedAt + 1, 'a cancelled New model changed the step');
      page.dialogAnswer = true;
      // New model: the old model's numbers, samples and speed go at once.
      await buildAndWait(page);
      assert(page.dialogs.length === 2, `${page.dialogs.length} questions for two New models over an unsaved step`);
      states = await log();
      const rebuilding = states.find((s) => s.state === 'building');
      assert(
        rebuilding &&
          rebuilding.lossD === '–' &&
          rebuilding.rate === '–' &&
          rebuilding.step === '0' &&
          rebuilding.gridStep === null,
        `while the new model builds the page shows ${JSON.stringify(rebuilding)}`,
      );
      assert(await page.$eval('#model-pending', (e) => e.hidden), 'the pending note stays after New model');
      assert(
        (await text(page, 'data-info')).includes('312 steps per epoch'),
        `data info: ${await text(page, 'data-info')}`,
      );
      assert(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
      await page.close();
    },
  );

  await ganWalkChecks({ browser, url: server.url, check, work });

  await check('files that are not what was asked for are named, in the page, without console errors', async () => {
    const png = join(work, 'picture.png');
    writeFileSync(
      png,
      Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
        'base64',
      ),
    );
    const notes = join(work, 'notes.txt');
    writeFileSync(notes, 'these are my notes, not a checkpoint\n');
    const page = await openPage(browser, `${server.url}/gan.html`);
    await page.waitForSelector('body[data-ready="true"]');
    for (const [file, kind] of [
      [png, 'a PNG image'],
      [notes, 'a text file'],
    ]) {
      await page.setInputFiles('#load', file);
      await page.waitForSelector('#banner.error:not([hidden])');
      const message = await text(page, 'banner');
      const name = file.split('/').at(-1);
      assert(
        message.startsWith(`${name} is not a checkpoint of this app (it is ${kind};`),
        `picking ${name} as a checkpoint says: ${message}`,
      );
      console.log(`    ${message}`);
      await page.evaluate(() => (document.querySelector('#banner').hidden = true));
    }
    // A picture given as Fashion-MNIST's IDX file is named as what it is, not by its first bytes.
    await page.selectOption('#dataset', 'fashion');
    await page.setInputFiles('#fashion-files', png);
    await page.click('#build');
    await page.waitForSelector('#banner.error:not([hidden])');
    const idx = await text(page, 'banner');
    assert(
      idx.includes('picture.png is a PNG image, not an MNIST-format IDX file: pick train-images-idx3-ubyte.gz'),
      `a PNG as the IDX file says: ${idx}`,
    );
    console.log(`    ${idx}`);
    await page.evaluate(() => (document.querySelector('#banner').hidden = true));
    await page.selectOption('#dataset', 'digits');
    // A checkpoint of train whose loss history was damaged (a column one value short) is refused, naming the file
    // and the field, before anything changes.
    const run = join(work, 'damaged-run');
    cli([
      'train',
      '--model',
      'dense',
      '--max-steps',
      '1',
      '--batch',
      '16',
      '--grid',
      '4',
      '--final-eval',
      'false',
      '--out',
      run,
    ]);
    const ckpt = () => readFileSync(join(run, 'checkpoint.safetensors'));
    const history = await loadCheckpointFile(
      page,
      'damaged.safetensors',
      editSafetensorsMeta(ckpt(), (m) => m.lossHistory.lossG.pop()),
    );
    assert(
      history.includes('checkpoint damaged.safetensors: meta.lossHistory.lossG has 0 values, but .step has 1'),
      `a damaged loss history says: ${history}`,
    );
    console.log(`    ${history}`);
    assert(
      (await text(page, 'step')) === '0' && (await page.$eval('#grid', (g) => g.dataset.step)) === '0',
      'the model in training was lost',
    );
    // Finite but overflowing BatchNorm statistics pass the file's checks and draw NaN: refused after a test draw.
    const drawn = await loadCheckpointFile(
      page,
      'overflowing.safetensors',
      fillSafetensors(ckpt(), (k) => k.startsWith('G.') && k.endsWith('.running_mean'), -3e38),
    );
    assert(
      /checkpoint overflowing\.safetensors: its generator draws \d+ non-finite values \(first: NaN\)/.test(drawn),
      `overflowing statistics say: ${drawn}`,
    );
    console.log(`    ${drawn}`);
    assert((await text(page, 'step')) === '0', 'the model in training was replaced by the overflowing one');
    // A checkpoint whose step and epoch do not fit the data here (step 1 in epoch 3: trained on fewer images than
    // the page's 10,000 digits) loads for its samples, says why it cannot train here, and a step refuses, as
    // train --resume does; it used to load silently and fail at its first step.
    const loadedNote = await loadCheckpointFile(
      page,
      'misfit.safetensors',
      editSafetensorsMeta(ckpt(), (m) => (m.epoch = 3)),
    );
    assert(
      loadedNote.includes(
        'But misfit.safetensors cannot train on the mnist-digits here: step 1 is before epoch 3 of mnist-digits at batch size 16 (625 batches per epoch)',
      ),
      `a checkpoint whose counters do not fit says on loading: ${loadedNote}`,
    );
    // Play and the Step buttons are disabled with that reason as their tooltip.
    const stepRefused = await page.$eval('#step-both', (b) => (b.disabled ? b.title : 'enabled'));
    assert(
      stepRefused.includes('misfit.safetensors cannot train on the mnist-digits here') &&
        (await page.$eval('#play', (b) => b.disabled && b.title.includes('misfit.safetensors cannot train'))),
      `the Step button of the misfit checkpoint: ${stepRefused}`,
    );
    console.log(`    ${stepRefused}`);
    // A run whose learning-rate decay has reached 0 would train at rate 0 (the page has no field for the decay).
    const decayNote = await loadCheckpointFile(
      page,
      'decayed.safetensors',
      editSafetensorsMeta(ckpt(), (m) => {
        m.options.lrDecayStart = 0;
        m.options.lrDecayEnd = 1;
      }),
    );
    assert(
      decayNote.includes(
        "But decayed.safetensors: the run's learning rates reached 0 at step 1 (lr decay 0:1) and it is at step 1: more steps would change nothing",
      ),
      `a checkpoint whose learning rates reached 0 says on loading: ${decayNote}`,
    );
    assert(
      await page.$eval(
        '#step-both',
        (b) => b.disabled && b.title.includes("decayed.safetensors: the run's learning rates reached 0"),
      ),
      `the Step button of the decayed checkpoint: ${await page.$eval('#step-both', (b) => b.title)}`,
    );
    // A folder of images with a file that is no image, macOS's hidden "._" twin and a hidden folder: the model is
    // built on the two images, and the page says which file it skipped (one bad file stopped the whole load).
    const faces = join(work, 'faces');
    mkdirSync(join(faces, '.thumbs'), { recursive: true });
    copyFileSync(png, join(faces, 'a.png'));
    copyFileSync(png, join(faces, 'b.png'));
    writeFileSync(join(faces, 'broken.png'), 'not a png at all');
    // a transparent PNG with colour stored under its clear pixels (a canvas reads that colour as 0), and a phone
    // photo stored on its side (left dark, right light) whose Exif says to turn it: the page must read both as the
    // CLI does (compared below through the training images each shows)
    const clear = new PNG({ width: 32, height: 32 });
    clear.data.set(picture(32, 32, (x, y) => [(x * 8) & 255, 200, (y * 8) & 255, [0, 90, 180, 255][(x + y) % 4]]).data);
    writeFileSync(join(faces, 'c-clear.png'), PNG.sync.write(clear));
    const sideways = picture(48, 32, (x, y) => (x < 24 ? [40, 60 + y, 90, 255] : [230, 200, 120 + y, 255]));
    writeFileSync(join(faces, 'd-turned.jpg'), jpegTurned(sideways, 6));
    writeFileSync(join(faces, '._a.png'), 'AppleDouble resource fork');
    writeFileSync(join(faces, '.thumbs', 'c.png'), 'hidden');
    await page.selectOption('#dataset', 'folder');
    await page.setInputFiles('#folder-files', faces);
    await page.selectOption('#model', 'dcgan32');
    await page.fill('#width', '8');
    await page.fill('#batch', '2');
    // the folder's files are decoded in Workers (web/src/image-jobs.ts), which end when it is read: both images
    // were decoded there (the page counts the replies that came from a worker)
    await buildAndWait(page);
    const offThread = await page.evaluate(() => document.body.dataset.folderOffThread);
    assert(offThread === '4 of 5', `images of the folder decoded in Workers: ${offThread}`);
    const folderInfo = await text(page, 'data-info');
    assert(
      folderInfo.startsWith('dcgan32 on faces: 4 images 3×32×32') &&
        folderInfo.includes(
          '(skipped 1 file it could not read: faces/broken.png: not an image this browser can decode',
        ),
      `a folder with a broken file: ${folderInfo}`,
    );
    console.log(`    ${folderInfo}`);
    // Saved, the checkpoint says which images it trained on as train does (how many, and the SHA-256 of each used
    // file's path in the folder and size, a line each), so that train --resume on the folder checks them: with the
    // unreadable file gone (the CLI refuses a folder with one) the CLI takes the page's run on.
    const [folderSave] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
    const fromFolder = join(work, 'faces-web.safetensors');
    await folderSave.saveAs(fromFolder);
    const folderMeta = metaOf(readFileSync(fromFolder));
    const lines = ['a.png', 'b.png', 'c-clear.png', 'd-turned.jpg']
      .map((f) => `${f}\t${statSync(join(faces, f)).size}\n`)
      .join('');
    const print = createHash('sha256').update(lines).digest('hex').slice(0, 16);
    assert(
      folderMeta.images === 4 && folderMeta.data === print,
      `the page's folder checkpoint says images ${folderMeta.images}, data ${folderMeta.data} (${print} expected)`,
    );
    rmSync(join(faces, 'broken.png'));
    const facesRun = join(work, 'faces-run');
    mkdirSync(facesRun);
    copyFileSync(fromFolder, join(facesRun, 'checkpoint.safetensors'));
    const took = cli([
      ...['train', '--model', 'dcgan32', '--dataset', faces, '--resume', '--out', facesRun],
      ...['--max-steps', '1', '--final-eval', 'false'],
    ]);
    assert(took.includes('resuming at step 0'), `train --resume of the page's folder run says: ${took}`);
    // The page's training images are the CLI's (its real.png: 4 images in a row either way): the PNGs to the byte,
    // the transparent one too; the JPEG turned the same way, within its two decoders' rounding (turned the other
    // way, or not at all, some of its pixels differ by over 100 levels)
    const sameImages = async (runDir, side) => {
      const shown = await canvasPixels(page, 'real');
      const written = PNG.sync.read(readFileSync(join(runDir, 'real.png')));
      const cell = side + 2;
      assert(
        shown.width === written.width && shown.height === written.height && shown.width === 4 * cell + 2,
        `the page's training images ${shown.width}×${shown.height}, the CLI's real.png ${written.width}×${written.height}`,
      );
      const tileDiff = (k) => {
        let most = 0;
        for (let y = 2; y < cell; y++)
          for (let x = 2 + cell * k; x < cell * (k + 1); x++)
            for (let c = 0; c < 3; c++) {
              const i = (y * shown.width + x) * 4 + c;
              most = Math.max(most, Math.abs(shown.rgba[i] - written.data[i]));
            }
        return most;
      };
      const diffs = [0, 1, 2, 3].map(tileDiff);
      assert(
        diffs[0] === 0 && diffs[1] === 0 && diffs[2] === 0 && diffs[3] <= 6,
        `the page's training images at ${side} px against the CLI's, the largest difference per image: ${diffs.join(', ')}`,
      );
      console.log(
        `    training images at ${side} px, page against CLI, the largest difference per image: ${diffs.join(', ')}`,
      );
    };
    await sameImages(facesRun, 32);
    // A dcgan64 checkpoint of the same folder, loaded while the page holds it at 32 px: the page reads the folder
    // again at 64 px (in its workers), not the 32 px pixels grown, and trains on what train did
    const run64 = join(work, 'faces-64');
    cli([
      ...['train', '--model', 'dcgan64', '--width', '8', '--batch', '2', '--dataset', faces, '--out', run64],
      ...['--max-steps', '1', '--final-eval', 'false'],
    ]);
    await page.evaluate(() => delete document.body.dataset.folderOffThread);
    const note64 = await loadCheckpointFile(
      page,
      'faces-64.safetensors',
      readFileSync(join(run64, 'checkpoint.safetensors')),
    );
    assert(!note64.includes('cannot train'), `the dcgan64 checkpoint of the folder loads trainable: ${note64}`);
    const reread = await page.evaluate(() => document.body.dataset.folderOffThread);
    const info64 = await text(page, 'data-info');
    assert(
      reread === '4 of 5' && info64.startsWith('dcgan64 on faces: 4 images 3×64×64'),
      `the folder read again for the dcgan64 checkpoint: ${reread}; ${info64}`,
    );
    await sameImages(run64, 64);
    assert(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
    await page.close();

    const style = await openPage(browser, `${server.url}/style.html`);
    await style.waitForSelector('body[data-ready="true"]');
    // the status line's states while the file is read (a MutationObserver sees each one)
    await style.evaluate(() => {
      const el = document.querySelector('#status');
      window.__states = [];
      new MutationObserver(() => window.__states.push(`${el.dataset.state}: ${el.textContent}`)).observe(el, {
        attributes: true,
        childList: true,
        characterData: true,
      });
    });
    await style.setInputFiles('#weights', png);
    await style.waitForSelector('#banner.error:not([hidden])');
    const weights = await text(style, 'banner');
    assert(
      weights.startsWith('picture.png is not VGG weights this page can read (it is a PNG image'),
      `VGG weights: ${weights}`,
    );
    console.log(`    ${weights}`);
    const states = await style.evaluate(() => window.__states);
    assert(
      states.some((x) => x.startsWith('loading: reading VGG weights from picture.png')) &&
        states.at(-1) === 'ready: Ready: press Start.',
      `the status line while reading the weights: ${states.join(' | ')}`,
    );
    assert(!(await style.$eval('#start', (b) => b.disabled)), 'Start stayed disabled after the weights failed');
    assert(style.errors.length === 0, `console errors: ${style.errors.join(' | ')}`);
    await style.close();

    const kernels = await openPage(browser, `${server.url}/kernels.html?kernel=does_not_exist`);
    await kernels.waitForSelector('body[data-ready="true"]');
    const unknown = await text(kernels, 'banner');
    assert(
      unknown.includes('does_not_exist') &&
        unknown.includes('conv2d_implicit_gemm') &&
        unknown.includes('matmul_tiled'),
      `?kernel=does_not_exist says: ${unknown}`,
    );
    await kernels.click('.kernel-list button[data-kernel="conv2d_implicit_gemm"]');
    for (const [field, value, expect] of [
      ['#f-stride', '0', 'stride'],
      ['#f-N', '-2', 'batch N'],
    ]) {
      await kernels.click('.kernel-list button[data-kernel="conv2d_implicit_gemm"]'); // fresh fields
      await kernels.fill(field, value);
      await kernels.click('#run');
      await kernels.waitForSelector('#result .bad');
      const message = await text(kernels, 'result');
      assert(
        message.startsWith(`${expect}:`) && !/typed array|undefined/i.test(message),
        `${field} = ${value} says: ${message}`,
      );
      console.log(`    ${field} = ${value}: ${message}`);
    }
    // Inputs within the element caps whose float64 reference would hold this thread for minutes are refused first.
    await kernels.click('.kernel-list button[data-kernel="conv2d_implicit_gemm"]');
    for (const [field, value] of [
      ['#f-N', '1'],
      ['#f-C', '64'],
      ['#f-H', '176'],
      ['#f-W', '176'],
      ['#f-M', '32'],
      ['#f-k', '31'],
      ['#f-stride', '1'],
      ['#f-padding', '0'],
    ])
      await kernels.fill(field, value);
    await kernels.click('#run');
    await kernels.waitForSelector('#result .bad');
    const heavy = await text(kernels, 'result');
    assert(
      heavy.startsWith('these settings take 4.2e+10 multiply-adds in the float64 reference'),
      `a conv of 4e10 multiply-adds says: ${heavy}`,
    );
    console.log(`    ${heavy}`);
    assert(kernels.errors.length === 0, `console errors: ${kernels.errors.join(' | ')}`);
    await kernels.close();
  });

  await check(
    'style page decodes a picked photo in a Worker, shows its pixels, and shrinks it there at Start',
    async () => {
      const page = await openPage(browser, `${server.url}/style.html`);
      await page.waitForSelector('body[data-ready="true"]');
      // a 90×60 picture whose pixels all differ (opaque, so the canvas gives them back exactly)
      const picture = new PNG({ width: 90, height: 60 });
      for (let i = 0; i < 90 * 60; i++) picture.data.set([(i * 7) & 255, (i * 13) & 255, (i >> 4) & 255, 255], i * 4);
      const photo = join(work, 'photo.png');
      writeFileSync(photo, PNG.sync.write(picture));
      await page.selectOption('#content-pick', 'file');
      await page.setInputFiles('#content-file', photo);
      await page.waitForFunction(() => document.querySelector('#content-canvas').width === 90);
      const shown = await page.$eval('#content-canvas', (c) =>
        Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data),
      );
      assert(
        shown.length === picture.data.length && shown.every((v, i) => v === picture.data[i]),
        `the content canvas shows other pixels than photo.png's (${shown.length} values)`,
      );
      await page.fill('#size', '32');
      await page.fill('#steps', '2');
      await page.click('#start');
      await page.waitForSelector('#preview[data-done="true"]');
      const workers = page.workers();
      const jobs = await Promise.all(workers.map((w) => w.evaluate(() => self.jobs)));
      assert(
        jobs.length === 1 && jobs[0].decode === 1 && jobs[0].resize === 1,
        `the photo's decode and its shrinking at Start ran in a worker: ${JSON.stringify(jobs)}`,
      );
      const title = await text(page, 'preview-title');
      assert(title.startsWith('Result: 2 iterations'), `after the run: ${title}`);
      assert(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
      await page.close();
    },
  );

  await check('style page runs a few iterations at 32 px and the preview changes', async () => {
    const page = await openPage(browser, `${server.url}/style.html`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForSelector('body[data-ready="true"]');
    await page.fill('#size', '32');
    await page.fill('#steps', '4');
    await page.fill('#preview-every', '1');
    await page.click('#start');
    await page.waitForSelector('#preview[data-done="true"]');
    const snapshots = Number(await page.$eval('#preview', (c) => c.dataset.snapshots));
    const changes = Number(await page.$eval('#preview', (c) => c.dataset.changes));
    assert(snapshots === 4, `expected 4 previews, got ${snapshots}`);
    assert(changes >= 2, `the preview changed ${changes} times over ${snapshots} snapshots`);
    assert(
      Number.isFinite(Number(await text(page, 'loss-total'))),
      `total loss shows ${await text(page, 'loss-total')}`,
    );
    assert(!(await page.$eval('#download', (b) => b.disabled)), 'Download stays disabled after the run');
    await shot(page, 'style.png');
    // Reloading with a result not downloaded asks first (dismissed here, so the page stays as it is).
    page.dialogAnswer = false;
    const asked = page.dialogs.length;
    await page.evaluate(() => setTimeout(() => location.reload(), 0));
    for (let i = 0; i < 100 && page.dialogs.length === asked; i++) await new Promise((r) => setTimeout(r, 100));
    assert(page.dialogs.length === asked + 1, 'reloading over a result not downloaded did not ask first');
    page.dialogAnswer = true;
    assert((await page.$eval('#preview', (c) => c.dataset.done)) === 'true', 'the page reloaded anyway');
    // A new run starts from a clean slate; stopped before its first preview, it has no result to download.
    await page.fill('#steps', '200');
    await page.fill('#preview-every', '1000');
    const atStart = await page.evaluate(() => {
      document.querySelector('#start').click();
      const q = (s) => document.querySelector(s);
      return {
        iteration: q('#iteration').textContent,
        download: q('#download').disabled,
        state: q('#status').dataset.state,
      };
    });
    assert(
      atStart.iteration === '0 / 200' && atStart.download && atStart.state === 'preparing',
      `right after Start: ${JSON.stringify(atStart)}`,
    );
    await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'running');
    const stopLabel = await page.evaluate(() => {
      document.querySelector('#stop').click();
      return document.querySelector('#stop').textContent;
    });
    assert(stopLabel === 'Stopping…', `right after Stop the button reads ${stopLabel}`);
    await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'stopped');
    const download = await page.$eval('#download', (b) => ({ disabled: b.disabled, why: b.title }));
    assert(download.disabled && download.why.includes('no result'), `after stopping: ${JSON.stringify(download)}`);
    console.log(`    ${await text(page, 'status')}`);
    // A file that is not an image, picked as content, is named at once (not at Start).
    const notes = join(work, 'not-an-image.txt');
    writeFileSync(notes, 'plain text\n');
    await page.selectOption('#content-pick', 'file');
    await page.setInputFiles('#content-file', notes);
    await page.waitForSelector('#banner.error:not([hidden])');
    const picked = await text(page, 'banner');
    assert(
      picked.includes('not-an-image.txt: not an image this browser can decode'),
      `picking a text file says: ${picked}`,
    );
    await page.selectOption('#content-pick', 'scene');
    // A 45-byte PNG whose header declares 20000×20000 (a decompression bomb) is refused before the browser
    // decodes it, with the file and the limit named.
    const bomb = join(work, 'bomb.png');
    const ihdr = Buffer.alloc(25);
    ihdr.writeUInt32BE(13, 0);
    ihdr.write('IHDR', 4);
    ihdr.writeUInt32BE(20000, 8);
    ihdr.writeUInt32BE(20000, 12);
    ihdr.set([8, 6, 0, 0, 0], 16);
    writeFileSync(
      bomb,
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr, Buffer.alloc(12)]),
    );
    await page.selectOption('#content-pick', 'file');
    await page.setInputFiles('#content-file', bomb);
    await page.fill('#steps', '4');
    await page.click('#start');
    await page.waitForSelector('#banner.error');
    const message = await text(page, 'banner');
    assert(
      message.includes('bomb.png: PNG header declares 20000x20000 (400 megapixels), over the 100 megapixels limit'),
      `the bomb's banner says: ${message}`,
    );
    await page.close();
  });

  await check(
    'kernel explorer lists every kernel, runs conv2d within tolerance, and every default experiment',
    async () => {
      const page = await openPage(browser, `${server.url}/kernels.html?kernel=conv2d_implicit_gemm`);
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.waitForSelector('body[data-ready="true"]');
      const listed = await page.$$eval('.kernel-list button', (bs) => bs.map((b) => b.dataset.kernel).sort());
      const files = readdirSync(join(root, 'shaders'))
        .filter((f) => f.endsWith('.wgsl'))
        .map((f) => f.slice(0, -5))
        .sort();
      assert(
        JSON.stringify(listed) === JSON.stringify(files),
        `listed ${listed.join(', ')}; shaders/ has ${files.join(', ')}`,
      );
      // The source as it runs: the file, with the body it includes from shaders/lib/ in place of the include line.
      const source = await text(page, 'kernel-source');
      const file = readFileSync(join(root, 'shaders', 'conv2d_implicit_gemm.wgsl'), 'utf8');
      // (the body includes lib/activation.wgsl in turn: expanded as scripts/gen-shaders.mjs expands it)
      const body = withIncludes(
        readFileSync(join(root, 'shaders', 'lib', 'conv_gather.wgsl'), 'utf8').trimEnd(),
        join(root, 'shaders'),
        'conv2d_implicit_gemm.wgsl',
        ['lib/conv_gather.wgsl'],
      );
      assert(body.includes('fn activate('), 'lib/conv_gather.wgsl no longer includes lib/activation.wgsl');
      const [before, after] = file.split(/^\/\/ #include "lib\/conv_gather\.wgsl".*$/m);
      assert(
        after !== undefined && source.startsWith(before) && source.includes(body) && source.endsWith(after),
        'the shown source is not shaders/conv2d_implicit_gemm.wgsl with lib/conv_gather.wgsl in place',
      );
      assert((await text(page, 'kernel-header')).includes('conv2d forward'), 'the header comment is not shown');
      await page.fill('#f-stride', '2');
      await page.fill('#f-padding', '1');
      await page.click('#run');
      await page.waitForSelector('#result[data-ok]');
      const ok = await page.$eval('#result', (r) => r.dataset.ok);
      const maxError = Number(await page.$eval('#result', (r) => r.dataset.maxError));
      assert(ok === 'true' && maxError < 1e-4, `conv2d max error ${maxError} (ok=${ok})`);
      assert(Number(await text(page, 'gpu-ms')) > 0, 'no time shown');
      console.log(`    conv2d max |error| ${maxError.toExponential(2)}, ${await text(page, 'gpu-ms')} ms`);
      await shot(page, 'kernels.png');
      // Each version of a kernel family runs its own file: the split-K sum, forced on this CPU adapter.
      await page.click('.kernel-list button[data-kernel="matmul_split_sum"]');
      assert((await text(page, 'kernel-header')).includes('split-K'), 'matmul_split_sum header not shown');
      await page.click('#run');
      await page.waitForSelector('#result[data-ok]');
      const splitError = Number(await page.$eval('#result', (r) => r.dataset.maxError));
      assert(
        (await page.$eval('#result', (r) => r.dataset.ok)) === 'true' && splitError < 1e-4,
        `split-K matmul max error ${splitError}`,
      );
      console.log(`    split-K matmul max |error| ${splitError.toExponential(2)}`);
      // The backward passes the pooling and BatchNorm pages describe, against float64 (differences of the reference
      // forward): each runs its backward entry point. (Gram's experiment is its backward by default.)
      for (const [kernel, entry] of [
        ['pool_max', 'pool_max:backward'],
        ['pool_avg', 'pool_avg:backward'],
        ['batchnorm', 'backward_dx'],
      ]) {
        await page.click(`.kernel-list button[data-kernel="${kernel}"]`);
        await page.selectOption('#f-pass', 'backward');
        await page.click('#run');
        await page.waitForSelector('#result[data-ok]');
        const r = await page.$eval('#result', (el) => ({
          ok: el.dataset.ok,
          err: el.dataset.maxError,
          launches: el.querySelector('#launches')?.textContent ?? '',
        }));
        assert(r.ok === 'true', `${kernel} backward max error ${r.err}`);
        assert(r.launches.includes(entry), `${kernel} backward launched ${r.launches}, not ${entry}`);
        console.log(`    ${kernel} backward max |error| ${Number(r.err).toExponential(2)} (${r.launches})`);
      }
      // Every kernel's default experiment agrees with its float64 reference (src/reference/, as the unit tests use).
      const failed = [];
      const elsewhere = []; // kernels whose default experiment ran other kernels on this adapter (the page says so)
      const leaked = []; // kernels whose run left tensors alive (each Run of the page would add them up)
      // the count after one run of the first kernel: every later run, that kernel's again first, must leave it so
      await page.click(`.kernel-list button[data-kernel="${files[0]}"]`);
      await page.click('#run');
      await page.waitForSelector('#result[data-ok]');
      let live = Number(await page.$eval('#result', (el) => el.dataset.liveTensors));
      for (const kernel of files) {
        await page.click(`.kernel-list button[data-kernel="${kernel}"]`);
        await page.click('#run');
        await page.waitForSelector('#result[data-ok]');
        const r = await page.$eval('#result', (el) => ({
          ok: el.dataset.ok,
          err: el.dataset.maxError,
          ran: el.dataset.ranKernel,
          live: Number(el.dataset.liveTensors),
          launches: el.querySelector('#launches')?.textContent ?? '',
        }));
        if (r.ok !== 'true') failed.push(`${kernel} (max error ${r.err})`);
        if (r.ran !== 'true') elsewhere.push(`${kernel} (ran ${r.launches})`);
        if (r.live !== live) leaked.push(`${kernel} (${live} → ${r.live} tensors)`);
        live = r.live;
      }
      assert(failed.length === 0, `default experiments off their reference: ${failed.join(', ')}`);
      assert(leaked.length === 0, `runs that left tensors alive: ${leaked.join(', ')}`);
      console.log(`    all ${files.length} kernels' default experiments within tolerance`);
      // Only the kernels that need something of the adapter may run something else: matmul_sg and batchnorm_sg run on
      // lavapipe only (measured there only), the conv _sg kernels where subgroups have one fixed size of ≤ 16 lanes.
      const adapterBound = /^(matmul_sg|batchnorm_sg|conv2d_implicit_gemm_sg|conv2d_weight_grad_sg) /;
      assert(
        elsewhere.every((e) => adapterBound.test(e)),
        `default experiments that did not run their own kernel: ${elsewhere.join('; ')}`,
      );
      console.log(
        `    every other default experiment ran its own kernel; elsewhere: ${elsewhere.join('; ') || 'none'}`,
      );
      await page.close();
    },
  );

  await check(
    "kernel explorer's check of every kernel version on the page's GPU (quick), as the device run does",
    async () => {
      const page = await openPage(browser, `${server.url}/kernels.html`);
      await page.waitForSelector('body[data-ready="true"]');
      await page.check('#check-quick');
      await page.click('#check-all');
      await page.waitForSelector('#check-result[data-failed]', { timeout: 180_000 });
      const r = await page.$eval('#check-result', (el) => ({
        failed: el.dataset.failed,
        rows: Number(el.dataset.rows),
        bad: el.querySelectorAll('tr.bad').length,
        before: Number(el.dataset.liveBefore),
        after: Number(el.dataset.liveTensors),
        text: el.textContent ?? '',
      }));
      // two DCGAN layers × every conv version, one product × every matmul version, two other kernels
      assert(
        r.failed === '0' && r.bad === 0 && r.rows >= 30,
        `check: ${r.failed} failed, ${r.bad} bad rows of ${r.rows}`,
      );
      assert(r.text.includes('every version agrees with float64'), 'no closing line');
      assert(r.text.includes('conv2d_implicit_gemm_tiled TILE_M=128'), 'the tiled-128 row does not name its kernel');
      assert(r.after === r.before, `the check left tensors alive: ${r.before} → ${r.after}`);
      assert(!(await page.$eval('#run', (b) => b.disabled)), 'Run is still disabled after the check');
      console.log(`    ${r.rows} rows, all within 1e-4 of float64`);
      // the progress line counted every row; the quick check again, stopped after its first row
      const done = await text(page, 'check-progress');
      assert(new RegExp(`^${r.rows} of ${r.rows} rows in `).test(done), `after the check the progress reads: ${done}`);
      await page.click('#check-all');
      await page.waitForSelector('#check-result tr:nth-child(2)');
      await page.click('#check-stop');
      await page.waitForSelector('#check-result[data-failed]', { timeout: 180_000 });
      const stopped = await page.$eval('#check-result', (el) => ({
        rows: Number(el.dataset.rows),
        text: el.textContent ?? '',
      }));
      const progress = await text(page, 'check-progress');
      assert(
        stopped.rows < r.rows &&
          stopped.text.includes('stopped before the end') &&
          progress.startsWith(`${stopped.rows} of ${r.rows} rows in `),
        `stopped: ${stopped.rows} rows; ${progress}`,
      );
      assert(await page.$eval('#check-stop', (b) => b.hidden), 'the Stop button is still shown');
      console.log(`    stopped after ${stopped.rows} rows: ${progress}`);
      await page.close();
    },
  );
  await check("the address sets the kernels as the CLI's variables do; a value it does not know is named", async () => {
    const page = await openPage(browser, `${server.url}/gan.html?autotune=off&conv=register&matmul=turbo`);
    await page.waitForSelector('body[data-ready="true"]');
    const adapter = await text(page, 'adapter');
    assert(adapter.endsWith(' · tuning: off · conv kernels: register'), `the adapter line: ${adapter}`);
    const said = await text(page, 'banner');
    assert(
      said.startsWith('?matmul=turbo is not one of naive, register, ') &&
        said.endsWith(": the page runs with the engine's choice."),
      `the banner: ${said}`,
    );
    await page.close();
    const style = await openPage(browser, `${server.url}/style.html?autotune=on`);
    await style.waitForSelector('body[data-ready="true"]');
    const line = await text(style, 'adapter');
    assert(line.endsWith(', software (runs on the CPU) · tuning: on'), `the style page's adapter line: ${line}`);
    assert(await style.$eval('#banner', (b) => b.hidden), `a banner: ${await text(style, 'banner')}`);
    assert(
      page.errors.length === 0 && style.errors.length === 0,
      `console errors: ${[...page.errors, ...style.errors]}`,
    );
    await style.close();
  });
} finally {
  await browser.close();
}

await check('with WebGPU disabled the page says so clearly', async () => {
  // Chromium's switch that turns WebGPU off, on top of the flags launchChromium uses without WebGPU.
  const plain = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-dev-shm-usage',
      '--disable-features=WebGPU,Vulkan',
    ],
  });
  try {
    const page = await openPage(plain, `${server.url}/gan.html`);
    await page.setViewportSize({ width: 1280, height: 600 });
    await page.waitForSelector('body[data-gpu="missing"]');
    const message = await text(page, 'banner');
    assert(/WebGPU is not available|no GPU adapter/.test(message), `banner: ${message}`);
    assert(await page.$eval('main', (m) => m.hidden), 'the training controls are still shown');
    await shot(page, 'no-webgpu.png');
    await page.close();
    // A browser without the WebGPU API at all (navigator.gpu missing) gets its own message.
    const bare = await plain.newPage();
    await bare.addInitScript(() => {
      delete Navigator.prototype.gpu;
    });
    await bare.goto(`${server.url}/style.html`);
    await bare.waitForSelector('body[data-gpu="missing"]');
    const missing = await text(bare, 'banner');
    assert(
      missing.includes('navigator.gpu is missing') && missing.includes('--enable-unsafe-webgpu'),
      `banner without navigator.gpu: ${missing}`,
    );
    await bare.close();
  } finally {
    await plain.close();
  }
});
await server.close();

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
mkdirSync(join(root, '.tmp'), { recursive: true });
writeFileSync(join(root, '.tmp', 'web-e2e.json'), JSON.stringify({ passed, failed, leftOut, results }, null, 2));
if (leftOut.length) console.log(`web e2e: ${leftOut.length} checks left out by WEB_E2E_ONLY=${JSON.stringify(only)}`);
console.log(`web e2e: ${passed} passed, ${failed} failed${leftOut.length ? `, ${leftOut.length} left out` : ''}`);
process.exit(failed ? 1 : 0);
