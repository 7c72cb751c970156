// What the web e2e checks share (app-e2e.mjs, gan-walk-e2e.mjs): opening a page, asserting, running the CLI.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs the CLI the way a user would; throws with its output when it fails. */
export function cli(args) {
  const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`CLI ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A new page of the app at `url`, collecting every console error and uncaught error in `page.errors` (for checks
 * that expect none) and echoing them to the test log.
 */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  page.setDefaultTimeout(180_000);
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    page.errors.push(m.text());
    console.error('    [page]', m.text());
  });
  page.on('pageerror', (e) => {
    page.errors.push(e.message);
    console.error('    [page error]', e.message);
  });
  // confirm() questions (the GAN page asks before replacing a model with unsaved steps): recorded in page.dialogs
  // and answered with page.dialogAnswer (OK unless a check sets it false)
  page.dialogs = [];
  page.dialogAnswer = true;
  page.on('dialog', (d) => {
    page.dialogs.push(d.message());
    (page.dialogAnswer ? d.accept() : d.dismiss()).catch(() => {});
  });
  await page.goto(url);
  return page;
}

/** The text of the element with id `id`. */
export const text = (page, id) => page.$eval(`#${id}`, (e) => e.textContent);

/** Clicks New model and waits until the new model is built and its first samples drawn. */
export async function buildAndWait(page) {
  const before = await page.evaluate(() => Number(document.body.dataset.models ?? 0));
  await page.click('#build');
  await page.waitForFunction(
    (n) => Number(document.body.dataset.models ?? 0) > n && !document.querySelector('#build').disabled,
    before,
  );
}
