/**
 * `isMainModule(import.meta.url)`: true when this source file is the script Node was started with
 * (`tsx bench/conv-layers.ts`), so a module can be both a library and a command.
 *
 * Only a `.ts` source counts: in an esbuild bundle (bench/device/pack.sh) every module shares the bundle's
 * URL, and each would otherwise take itself for the entry point and run its own main.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function isMainModule(metaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  const self = fileURLToPath(metaUrl);
  return self.endsWith('.ts') && resolve(entry) === self;
}
