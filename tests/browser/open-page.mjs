// A new page of the app at `url`, collecting every console error and uncaught error in `page.errors` (for checks
// that expect none) and echoing them to the test log. Shared by the web e2e checks.
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
  await page.goto(url);
  return page;
}
