#!/usr/bin/env bash
# The project's test command (README: `npm test`): machine setup (idempotent), unit tests on Dawn with vitest,
# then the browser smoke test and the web app's end-to-end tests in headless Chromium. Ends with one "N passed, N failed" line.
# Programs that start Dawn run through scripts/run-quiet.mjs, which drops its two start-up warnings.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
. scripts/gpu-env.sh
node scripts/gen-shaders.mjs || exit 1
mkdir -p .tmp
node scripts/run-quiet.mjs npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@"
unit_rc=$?
node tests/browser/run-smoke.mjs
browser_rc=$?
rm -f .tmp/web-e2e.json; node scripts/run-quiet.mjs node tests/browser/app-e2e.mjs; web_rc=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest.json", "utf8"));
  const browserOk = process.argv[1] === "0";
  let web = { passed: 0, failed: 1 }; // the web e2e run crashed before writing its counts
  try { web = JSON.parse(require("fs").readFileSync(".tmp/web-e2e.json", "utf8")); } catch {}
  const passed = r.numPassedTests + (browserOk ? 1 : 0) + web.passed;
  const failed = r.numFailedTests + (browserOk ? 0 : 1) + web.failed;
  console.log(`${passed} passed, ${failed} failed`);
' "$browser_rc" 2>/dev/null || echo "0 passed, 1 failed"
[ $unit_rc -eq 0 ] && [ $browser_rc -eq 0 ] && [ $web_rc -eq 0 ]
