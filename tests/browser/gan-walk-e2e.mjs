// End-to-end checks of the GAN page's latent walk (web/src/gan-page.ts on src/gan/latent-walk.ts) in headless
// Chromium with WebGPU (SwiftShader), driven like a user:
//   - the lesson's dense GAN with a weight average: the walk is drawn when the model is built and again after "Refresh
//     samples every" steps; the frame count control redraws it with the same end points; New end points moves to the
//     chain's next pair; a checkpoint saved in the page gives, through the CLI's `sample --interpolate`, the page's two
//     strips pixel for pixel up to WALK_TOLERANCE levels (the CLI runs Dawn on lavapipe, the page SwiftShader); a frame
//     count out of range is named on the walk's line and leaves the strip; Animate plays the walk and walks on along
//     the chain (z3 → z4, then z4 → z5, …), drawing legs from G while training runs.
//   - progan at 8 px: the walk at its stage (4 px blocks at stage 0, 8 px detail once stage 1 fades in); msggan: its
//     largest scale; dcgan32 and the lesson DCGAN: their strips' sizes.
// `ganWalkChecks` runs inside app-e2e.mjs's browser and server; to run it alone:
// `. scripts/gpu-env.sh && WEB_E2E_ONLY='latent walk' node tests/browser/app-e2e.mjs`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { openPage, assert, cli, text, buildAndWait } from './e2e-kit.mjs';

/**
 * Largest difference, in 0-255 levels of a channel, allowed between a walk drawn in the page and the same walk drawn
 * by the CLI, or between the ends of two walks of the same points in batches of different sizes: the adapters (and
 * batch sizes) round G's float32 sums differently, and a value at a level's edge can round to the next level.
 */
const WALK_TOLERANCE = 2;

const walkData = (page) => page.$eval('#walk', (c) => ({ ...c.dataset, width: c.width, height: c.height }));
/** The strip's pixels as { width, height, rgba: number[] }. */
const walkPixels = (page) =>
  page.$eval('#walk', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    return { width: d.width, height: d.height, rgba: Array.from(d.data) };
  });
/** Waits until the walk's line is no longer computing and the strip shows `want` (a subset of its data attributes). */
async function walkShows(page, want) {
  await page.waitForFunction(
    (want) => {
      const c = document.querySelector('#walk');
      const note = document.querySelector('#walk-note').dataset.state;
      return note !== 'computing' && Object.entries(want).every(([k, v]) => c.dataset[k] === String(v));
    },
    want,
    { timeout: 240_000 },
  );
}
/** The GAN page, ready (./e2e-kit.mjs collects its console errors). */
async function openGanPage(browser, url) {
  const page = await openPage(browser, url);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}
async function stepAndWait(page, step) {
  await page.click('#step-both');
  await page.waitForFunction(
    (s) => document.querySelector('#step').textContent === String(s) && !document.querySelector('#step-both').disabled,
    step,
  );
}
/** Types a frame count and leaves the field, as a user does (the walk redraws on change). */
async function setFrames(page, n) {
  await page.fill('#walk-frames', String(n));
  await page.press('#walk-frames', 'Tab');
}
/**
 * Cell `i` (of `side` px, 2 px padding, makeGrid's layout) in row `row` of an RGBA picture, as a flat array.
 */
function cell(img, side, i, row = 0) {
  const out = [];
  const x0 = 2 + i * (side + 2);
  const y0 = 2 + row * (side + 2);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const p = ((y0 + y) * img.width + x0 + x) * 4;
      out.push(img.rgba[p], img.rgba[p + 1], img.rgba[p + 2], img.rgba[p + 3]);
    }
  return out;
}
function maxDiff(a, b) {
  assert(a.length === b.length, `comparing ${a.length} values with ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
/** Row `row` of a makeGrid picture of `cols` cells (with its padding above and below) as a picture of its own. */
function gridRow(img, side, row) {
  const h = side + 4;
  const start = row * (side + 2) * img.width * 4;
  return { width: img.width, height: h, rgba: Array.from(img.rgba.subarray(start, start + h * img.width * 4)) };
}
/** Per cell of a strip: its number of distinct colours and whether it is made of constant 2×2 blocks. */
function cellsOf(img, side, frames) {
  return Array.from({ length: frames }, (_, i) => {
    const v = cell(img, side, i);
    const colours = new Set();
    let blocky = true;
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const p = (y * side + x) * 4;
        const q = ((y & ~1) * side + (x & ~1)) * 4;
        colours.add(`${v[p]},${v[p + 1]},${v[p + 2]}`);
        if (v[p] !== v[q] || v[p + 1] !== v[q + 1] || v[p + 2] !== v[q + 2]) blocky = false;
      }
    return { colours: colours.size, blocky };
  });
}

/**
 * The walk's checks, on the app served at `url` in `browser`; `check(name, fn)` runs and records one (app-e2e.mjs's);
 * `work` is a scratch folder.
 */
export async function ganWalkChecks({ browser, url, check, work }) {
  await check(
    'GAN page, latent walk: drawn at build and after steps in eval mode; the frame count keeps its end points; New end points; the same strips as the CLI sample --interpolate of the saved checkpoint; Animate walks on while training',
    async () => {
      const page = await openGanPage(browser, `${url}/gan.html`);
      await page.selectOption('#model', 'dense'); // the lesson's dense GAN: BatchNorm in G, fast on SwiftShader
      await page.fill('#batch', '16');
      await page.fill('#seed', '4');
      await page.fill('#grid-every', '2');
      await page.fill('#g-ema', '0.9'); // drawn from G's weight average, its BatchNorm statistics measured for it
      await buildAndWait(page);
      // On a software adapter (SwiftShader here) the page says so and starts with walks of 6 frames; on a GPU with
      // gan.html's 10, which the rest of this check sets to 6.
      const software = await page.isVisible('#adapter-note');
      const frames0 = Number(await page.inputValue('#walk-frames'));
      assert(frames0 === (software ? 6 : 10), `the walk starts with ${frames0} frames (software adapter: ${software})`);
      if (!software) await setFrames(page, 6);
      await walkShows(page, { from: 1, to: 2, frames: 6, step: 0, module: 'G_ema' });
      let w = await walkData(page);
      assert(w.width === 6 * 30 + 2 && w.height === 32, `the strip is ${w.width}×${w.height}`);
      assert(
        (await text(page, 'walk-note')).includes('sample --interpolate --steps 6 --rows 1'),
        `the walk's line: ${await text(page, 'walk-note')}`,
      );
      const atBuild = await walkPixels(page);

      // After "Refresh samples every" (2) steps the walk is drawn again, from the trained weights.
      await stepAndWait(page, 1);
      await stepAndWait(page, 2);
      await walkShows(page, { from: 1, to: 2, frames: 6, step: 2 });
      const six = await walkPixels(page);
      assert(maxDiff(six.rgba, atBuild.rgba) > 0, 'the walk at step 2 is the walk at step 0');
      const cells6 = cellsOf(six, 28, 6);
      assert(
        cells6.every((c) => c.colours > 8),
        `the walk's frames are flat: ${JSON.stringify(cells6)}`,
      );
      assert(maxDiff(cell(six, 28, 0), cell(six, 28, 5)) > 16, 'the walk starts and ends at the same image');

      // Four frames: the same two points, at both ends of a shorter strip.
      await setFrames(page, 4);
      await walkShows(page, { from: 1, to: 2, frames: 4, step: 2 });
      const four = await walkPixels(page);
      assert(four.width === 4 * 30 + 2, `4 frames: the strip is ${four.width} px wide`);
      const ends = [maxDiff(cell(four, 28, 0), cell(six, 28, 0)), maxDiff(cell(four, 28, 3), cell(six, 28, 5))];
      assert(
        Math.max(...ends) <= WALK_TOLERANCE,
        `4 and 6 frames end at different images: ${ends} levels apart (tolerance ${WALK_TOLERANCE})`,
      );
      // The second frame sits a third of the way along with 4 frames, a fifth with 6: more apart than rounding.
      const second = maxDiff(cell(four, 28, 1), cell(six, 28, 1));
      assert(second > 16, `the 4-frame walk's second frame is the 6-frame walk's (${second} levels apart)`);

      // New end points: the chain's next pair, z3 → z4.
      await page.click('#walk-new');
      await walkShows(page, { from: 3, to: 4, frames: 4, step: 2 });
      const next = await walkPixels(page);
      assert(maxDiff(next.rgba, four.rgba) > 16, 'New end points drew the same walk');

      // The CLI draws the page's walks from a checkpoint saved at this step: strips 1 and 2 of sample --interpolate.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
      const saved = join(work, 'walk.safetensors');
      await download.saveAs(saved);
      await page.waitForFunction(() => !document.querySelector('#save').disabled);
      const png = join(work, 'walk.png');
      cli(['sample', '--checkpoint', saved, '--interpolate', '--steps', '4', '--rows', '2', '--out', png]);
      const decoded = PNG.sync.read(readFileSync(png));
      const fromCli = { width: decoded.width, height: decoded.height, rgba: decoded.data };
      assert(fromCli.width === four.width, `the CLI's strips are ${fromCli.width} px wide, the page's ${four.width}`);
      const vsCli = [
        maxDiff(gridRow(fromCli, 28, 0).rgba, four.rgba),
        maxDiff(gridRow(fromCli, 28, 1).rgba, next.rgba),
      ];
      console.log(
        `    page walks z1 → z2 and z3 → z4 (4 frames, step 2, weight average) vs the CLI's strips 1 and 2: at most ${vsCli} levels apart`,
      );
      assert(
        Math.max(...vsCli) <= WALK_TOLERANCE,
        `the page's walks are ${vsCli} levels off the CLI's sample --interpolate (tolerance ${WALK_TOLERANCE})`,
      );

      // A frame count out of range is named on the walk's line; the strip stays.
      const drawn = (await walkData(page)).drawn;
      await setFrames(page, 40);
      await page.waitForFunction(() => document.querySelector('#walk-note').dataset.state === 'error');
      const refused = await text(page, 'walk-note');
      assert(
        refused.startsWith('Frames: expected an integer in [2, 32], got "40"'),
        `the walk's line for 40 frames: ${refused}`,
      );
      assert((await walkData(page)).drawn === drawn, 'a refused frame count redrew the walk');
      await setFrames(page, 3);
      await walkShows(page, { from: 3, to: 4, frames: 3 });

      // Animate: the strip's frames play, and the walk goes on along the chain from z4, also while training runs.
      await page.check('#walk-animate');
      await page.waitForFunction(() => !document.querySelector('#walk-frame').hidden);
      await walkShows(page, { from: 4, to: 5, frames: 3 });
      const seenFrames = new Set();
      for (let i = 0; i < 12 && seenFrames.size < 2; i++) {
        seenFrames.add(await page.$eval('#walk-frame', (c) => c.dataset.frame));
        await page.waitForTimeout(150);
      }
      assert(seenFrames.size >= 2, `the animation stays on frame ${[...seenFrames]}`);
      const stepBefore = Number(await text(page, 'step'));
      await page.click('#play');
      await page.waitForFunction(
        (s) =>
          Number(document.querySelector('#walk').dataset.step) > s &&
          Number(document.querySelector('#step').textContent) >= s + 3,
        stepBefore,
        { timeout: 300_000 },
      );
      await page.click('#play'); // pause
      await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'paused');
      const animated = await walkData(page);
      console.log(
        `    animated: leg z${animated.from} → z${animated.to} drawn at step ${animated.step} while training ran from step ${stepBefore} to ${await text(page, 'step')}`,
      );
      assert(
        Number(animated.from) >= 5 && Number(animated.to) === Number(animated.from) + 1,
        'the walk did not walk on',
      );
      await page.uncheck('#walk-animate');
      await page.waitForFunction(() => document.querySelector('#walk-frame').hidden);
      assert(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
      await page.close();
    },
  );

  await check(
    'GAN page, latent walk of progan (at its stage and fade), msggan (its largest scale), dcgan32 and the lesson DCGAN',
    async () => {
      const page = await openGanPage(browser, `${url}/gan.html`);
      await page.selectOption('#model', 'progan');
      await page.selectOption('#size', '8');
      await page.fill('#width', '8');
      await page.fill('#grow-images', '8'); // stage 0 for 2 steps of 4, then the 8 px stage fades in
      await page.fill('#batch', '4');
      await page.fill('#grid-every', '1');
      await buildAndWait(page);
      await walkShows(page, { from: 1, to: 2, frames: 6, step: 0, size: 8 });
      let cells = cellsOf(await walkPixels(page), 8, 6);
      assert(
        cells.every((c) => c.blocky && c.colours > 1),
        `progan at stage 0: the walk's frames are not 4 px images shown at 8 px: ${JSON.stringify(cells)}`,
      );
      for (const step of [1, 2, 3, 4]) await stepAndWait(page, step);
      await walkShows(page, { step: 4 }); // stage 1, α 0.5 (12 images shown)
      cells = cellsOf(await walkPixels(page), 8, 6);
      assert(
        cells.every((c) => !c.blocky),
        `progan fading in 8 px: the walk's frames are still 4 px: ${JSON.stringify(cells)}`,
      );
      assert((await text(page, 'walk-note')).includes('stage 1 · 8 px, α 0.50'), await text(page, 'walk-note'));

      await page.selectOption('#model', 'msggan');
      await buildAndWait(page);
      await walkShows(page, { from: 1, to: 2, step: 0, size: 8 });
      cells = cellsOf(await walkPixels(page), 8, 6);
      assert(
        cells.every((c) => !c.blocky && c.colours > 4),
        `msggan: the walk is not its 8 px scale: ${JSON.stringify(cells)}`,
      );

      // The DCGANs' strips (their G at step 0 draws a nearly flat gray in eval mode, as the CLI's sample does: their
      // BatchNorm layers' running statistics are still 0 and 1, far larger than the batches' own).
      for (const [model, side] of [
        ['dcgan32', 32],
        ['dcgan', 28],
      ]) {
        await page.selectOption('#model', model);
        if (model === 'dcgan32') await page.fill('#width', '8');
        await buildAndWait(page);
        await walkShows(page, { from: 1, to: 2, step: 0, size: side });
        const w = await walkData(page);
        const want = [6 * (side + 2) + 2, side + 4];
        assert(
          w.width === want[0] && w.height === want[1],
          `${model}: the strip is ${w.width}×${w.height}, not ${want.join('×')}`,
        );
      }
      assert(page.errors.length === 0, `console errors: ${page.errors.join(' | ')}`);
      await page.close();
    },
  );
}
