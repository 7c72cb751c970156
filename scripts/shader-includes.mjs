// The one implementation of the shaders' `// #include` lines, shared by scripts/gen-shaders.mjs (which bundles the
// kernels the engine runs) and scripts/kernel-guide.ts (which draws and quotes them), so both see the same text.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * WGSL has no includes: a line `// #include "lib/NAME.wgsl"` (a comment, so the file alone still reads as WGSL) is
 * replaced by that file of `<shadersDir>/lib/`, which holds code several shaders share (not kernels of their own).
 * A library file may include others (lib/batchnorm.wgsl includes lib/pos_step.wgsl); `from` is the chain of files
 * being included, so a cycle is an error. `file` names the including shader in the errors.
 */
export function withIncludes(source, shadersDir, file, from = []) {
  return source.replace(/^\/\/ #include "(lib\/[\w-]+\.wgsl)"[^\n]*$/gm, (line, path) => {
    const full = join(shadersDir, path);
    if (!existsSync(full)) throw new Error(`shaders/${file}: ${line.trim()}: no shaders/${path}`);
    if (from.includes(path)) throw new Error(`shaders/${file}: ${[...from, path].join(' → ')} includes itself`);
    const text = withIncludes(readFileSync(full, 'utf8').trimEnd(), shadersDir, file, [...from, path]);
    return `// ---- included from shaders/${path}\n${text}\n// ---- end of shaders/${path}`;
  });
}
