// Shared by browser tests: launches Debian's Chromium (never a downloaded browser) with WebGPU on, headless,
// with the flags that keep it off the network.
import { chromium } from 'playwright-core';
import { existsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchChromium({ webgpu = true } = {}) {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}: run bash scripts/setup.sh (installs Debian's chromium)`);
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    '--disable-dev-shm-usage',
  ];
  if (webgpu) args.push('--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader');
  const userDataDir = mkdtempSync(join(tmpdir(), 'chromium-'));
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args });
}
