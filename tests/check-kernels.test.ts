/**
 * src/check/kernels.ts (run by `npm run check-kernels`, by the device run before it times anything, and by the kernel
 * explorer's button): every conv and matmul version against float64 on the adapter it runs on, here on its short
 * list: every version gets its row and passes, a row names the kernels that ran (with their tile sizes), nothing is
 * left allocated, and a tolerance nothing meets fails every row.
 */
import { it, expect } from 'vitest';
import { checkKernels, checkRowCount } from '../src/check/kernels.ts';
import { CONV_VERSIONS } from '../src/tensor/conv.ts';
import { MATMUL_VERSIONS } from '../src/tensor/matmul.ts';
import { useEngine } from './helpers.ts';
import { memoryStats } from '../src/tensor/index.ts';

useEngine();

it('checks every conv version on two DCGAN layers, every matmul version and two other kernels, all within 1e-4 here', async () => {
  const lines: string[] = [];
  const live = memoryStats().liveTensors;
  expect(await checkKernels({ quick: true, print: (l) => lines.push(l) })).toBe(0);
  expect(memoryStats().liveTensors).toBe(live); // every tensor it made is freed (the page runs it too)
  const rows = lines.filter((l) => l.startsWith('| DCGAN') || l.startsWith('| 300×130'));
  expect(rows).toHaveLength(2 * CONV_VERSIONS.length + MATMUL_VERSIONS.length);
  for (const v of CONV_VERSIONS)
    for (const layer of ['DCGAN D2', 'DCGAN G4'])
      expect(
        rows.filter((r) => r.startsWith(`| ${layer}`) && r.includes(` | ${v} | `)),
        `${layer} ${v}`,
      ).toHaveLength(1);
  for (const v of MATMUL_VERSIONS)
    expect(rows.filter((r) => r.includes(` | ${v} | `) && r.startsWith('| 300×130'))).toHaveLength(1);
  // D2 (64→128 channels) runs every version as itself; G4 (one output channel) has no pass of more than 64
  // channels, so tiled-128 runs the 64-channel tiles there, and its row says so
  expect(rows.filter((r) => r.startsWith('| DCGAN D2')).every((r) => r.endsWith('| ok |'))).toBe(true);
  for (const v of ['tiled-128', 'tiled-128-vec4'])
    expect(rows.find((r) => r.startsWith('| DCGAN G4') && r.includes(` | ${v} | `))).toMatch(
      /TILE_M=64 .*\| ok, as other kernels here \|$/,
    );
  expect(rows.every((r) => /\| ok(, as other kernels here)? \|$/.test(r))).toBe(true);
  // and two of the other kernels, as the engine picks them
  const others = lines.filter((l) => l.startsWith('| batchNorm + ReLU') || l.startsWith('| max and average pooling'));
  expect(others).toHaveLength(2);
  expect(others.every((r) => r.endsWith('| ok |'))).toBe(true);
  // the kernels a forced version ran, with the tile sizes substituted into them
  const d2 = (v: string) => rows.find((r) => r.startsWith('| DCGAN D2') && r.includes(` | ${v} | `))!;
  expect(d2('tiled-128')).toContain('conv2d_implicit_gemm_tiled TILE_M=128 PER_M=8 VEC4=false');
  expect(d2('tiled-128-vec4')).toContain('conv2d_implicit_gemm_tiled TILE_M=128 PER_M=8 VEC4=true');
  expect(d2('naive')).toContain('conv2d_naive');
  expect(lines.at(-2)).toMatch(/^\d+ row\(s\) passed on other kernels than their version's/);
  expect(lines.at(-1)).toBe('every version agrees with float64');
}, 120_000);

it('fails every row a tolerance of 0 cannot pass, and says how many', async () => {
  const lines: string[] = [];
  const failed = await checkKernels({ quick: true, tolerance: 0, print: (l) => lines.push(l) });
  expect(failed).toBe(2 * CONV_VERSIONS.length + MATMUL_VERSIONS.length + 2);
  expect(lines.filter((l) => l.endsWith('| **FAILED** |'))).toHaveLength(failed);
  expect(lines.at(-1)).toBe(`${failed} check(s) FAILED`);
}, 120_000);

it('checkRowCount says how many result rows it prints; stop ends it between rows, saying so', async () => {
  const lines: string[] = [];
  const isRow = (l: string) => /\| (ok|ok, as other kernels here|\*\*FAILED[^|]*\*\*) \|$/.test(l);
  expect(await checkKernels({ quick: true, print: (l) => lines.push(l) })).toBe(0);
  expect(lines.filter(isRow)).toHaveLength(checkRowCount(true));
  expect(checkRowCount(false)).toBeGreaterThan(checkRowCount(true));
  const stopped: string[] = [];
  const failed = await checkKernels({
    quick: true,
    print: (l) => stopped.push(l),
    stop: () => stopped.filter(isRow).length >= 3,
  });
  expect(failed).toBe(0);
  expect(stopped.filter(isRow)).toHaveLength(3);
  expect(stopped.slice(-2)).toEqual([
    'stopped before the end: the rows not shown were not checked',
    'every row checked agrees with float64',
  ]);
}, 300_000);
