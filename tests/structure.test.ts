/**
 * The import rules of src/ (scripts/check-structure.ts): no cycle, the engine's layers and src/'s folders import only
 * downwards, no Node module where the code runs in a browser too, and no module calls a Tensor method installed by a
 * module it does not import.
 */
import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkStructure, FOLDER_RANKS, LAYERS } from '../scripts/check-structure.ts';

describe('src/ structure', () => {
  it('has no import cycle, no upward import between engine layers or folders, no Node module in a browser folder, no unimported prototype patching', () => {
    expect(checkStructure()).toEqual([]);
  }, 60_000);

  it('keeps the engine at the bottom: engine.ts sits below tensor, record, ops and the walker', () => {
    expect(LAYERS['tensor/engine.ts']).toBeLessThan(LAYERS['tensor/tensor.ts']);
    expect(LAYERS['tensor/tensor.ts']).toBeLessThan(LAYERS['autograd/record.ts']);
    expect(LAYERS['autograd/record.ts']).toBeLessThan(LAYERS['tensor/ops.ts']);
    expect(LAYERS['tensor/ops.ts']).toBeLessThan(LAYERS['autograd/graph.ts']);
    expect(LAYERS['tensor/autotune.ts']).toBeLessThan(LAYERS['tensor/init.ts']);
  });

  it('finds an upward import between folders, a Node module and a Node-only global in a browser folder (a tree made here)', () => {
    const root = mkdtempSync(join(tmpdir(), 'structure-'));
    try {
      const file = (path: string, text: string) => {
        mkdirSync(join(root, 'src', path, '..'), { recursive: true });
        writeFileSync(join(root, 'src', path), text);
      };
      // Node's types for every folder, as the project's tsconfig gives them
      const typeRoots = [resolve('node_modules/@types')];
      writeFileSync(
        join(root, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { strict: true, noEmit: true, types: ['node'], typeRoots } }),
      );
      file('gan/model.ts', 'export const model = 1;\n');
      file('io/png.ts', "import { model } from '../gan/model.ts';\nexport const png = model;\n");
      file(
        'data/files.ts',
        "import { readFileSync } from 'node:fs';\nimport 'path';\nexport const read = readFileSync;\n",
      );
      file(
        'node/ok.ts',
        "import { readFileSync } from 'node:fs';\nimport { png } from '../io/png.ts';\nexport const ok = [readFileSync, png];\n",
      );
      // Node's globals: flagged where they resolve to @types/node, not a property or a local of that name
      file(
        'gan/env.ts',
        [
          'export const debug = process.env.DEBUG;',
          "export const bytes = Buffer.from('x');",
          'const local = { process: 1 };',
          'export const p = local.process;',
          'export function f(process: number): number { return process; }',
          'export const timer = setTimeout(() => {}, 1);',
          'export const shorthand = { __dirname };',
          '',
        ].join('\n'),
      );
      file('node/env.ts', 'export const home = process.env.HOME;\n');
      expect(checkStructure(root).sort()).toEqual([
        'data/files.ts imports node:fs: a Node module, in a folder that runs in a browser too',
        'data/files.ts imports path: a Node module, in a folder that runs in a browser too',
        'gan/env.ts:1 uses process, a global only Node has, in a folder that runs in a browser too',
        'gan/env.ts:2 uses Buffer, a global only Node has, in a folder that runs in a browser too',
        'gan/env.ts:7 uses __dirname, a global only Node has, in a folder that runs in a browser too',
        'io/png.ts (folder io, rank 0) imports gan/model.ts (folder gan, rank 3): not below it',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    expect(FOLDER_RANKS.cli).toBeGreaterThan(FOLDER_RANKS.node!);
  }, 60_000);
});
