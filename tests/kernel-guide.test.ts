/**
 * The kernel guide in docs/kernels/ (scripts/kernel-guide.ts): its generated blocks and figures must be what the
 * committed results.json, shaders/ and src/ give, its links must lead somewhere, and the renderer's parts are
 * checked on small fixtures. No GPU: rendering only reads files (the measurement is scripts/kernel-guide-measure.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkGuide,
  drawFigure,
  explorerParam,
  extractBlock,
  FAMILIES,
  figureSpec,
  FIGURES,
  formulaLines,
  GUIDE_DIR,
  launchers,
  ordinal,
  readResults,
  relativeSpeed,
  renderAll,
  renderCase,
  replaceBlock,
  ShaderConstants,
  readShader,
  wrap,
  type CaseResult,
  type GuideResults,
  type TileSpec,
} from '../scripts/kernel-guide.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('the committed guide', () => {
  it('says what results.json, shaders/ and src/ give (`npm run kernel-guide` rewrites it)', () => {
    expect(checkGuide(ROOT)).toEqual([]);
  });

  it('has a page per family, each linked from the index, and every relative link of every page resolves', () => {
    const index = readFileSync(join(ROOT, GUIDE_DIR, 'README.md'), 'utf8');
    for (const f of FAMILIES) expect(index).toContain(`](${f.page})`);
    const pages = readdirSync(join(ROOT, GUIDE_DIR)).filter((p) => p.endsWith('.md'));
    expect(pages.length).toBe(FAMILIES.length + 1);
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(ROOT, GUIDE_DIR, page), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!;
        if (!target || /^[a-z]+:/.test(target)) continue;
        if (!existsSync(join(ROOT, GUIDE_DIR, target))) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('links the kernel explorer the way kernels-page.ts reads its URL, and only to kernels that exist', () => {
    const param = explorerParam(ROOT);
    const links = FAMILIES.flatMap((f) => [
      ...readFileSync(join(ROOT, GUIDE_DIR, f.page), 'utf8').matchAll(/kernels\.html\?(\w+)=(\w+)/g),
    ]);
    expect(links.length).toBeGreaterThan(10);
    for (const m of links) {
      expect(m[1]).toBe(param);
      expect(existsSync(join(ROOT, 'shaders', `${m[2]}.wgsl`))).toBe(true);
    }
  });

  it('says that no GPU figure exists and that ratios within one run are what to compare', () => {
    const index = readFileSync(join(ROOT, GUIDE_DIR, 'README.md'), 'utf8');
    expect(index).toContain('not yet measured on a GPU');
    expect(index).toMatch(/ratios between versions of one run/i);
  });

  it('has results with at least 3 interleaved samples per timed version, load averages and the ceiling', () => {
    const r = readResults(ROOT);
    expect(r.loadavg.start).toHaveLength(3);
    expect(r.loadavg.end).toHaveLength(3);
    expect(r.ceiling.startGflops).toBeGreaterThan(0);
    for (const c of r.cases) {
      expect(c.ceilingSamples.length).toBeGreaterThan(0);
      for (const v of c.versions) {
        if (v.status !== 'ok') continue;
        expect(v.timing!.samples.length).toBe(c.rounds);
        expect(c.rounds).toBeGreaterThanOrEqual(3);
        expect(v.launches!.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('shader text', () => {
  const wgsl = [
    '// demo.wgsl — a fixture.',
    '//',
    '// Computes:  y[i] = x[i] · 2,',
    '//   for i < n.',
    '// Work split: whatever.',
    '// Gradient: none.',
    'override WG_X: u32 = 8u;',
    'override PER: u32;',
    'const TILE = {{T}}u;',
    'const HALF = TILE / 2u;',
    'const MIX = (HALF + 2u) * 3u - 1u;',
    '@compute @workgroup_size(WG_X, HALF)',
    'fn main() {}',
    '@compute @workgroup_size(64)',
    'fn other(@builtin(local_invocation_index) li: u32) {}',
  ].join('\n');

  it('evaluates const and override declarations with the launch substitutions and constants', () => {
    const k = new ShaderConstants(wgsl, { T: '64' }, { PER: 4 });
    expect(k.get('TILE')).toBe(64);
    expect(k.get('HALF')).toBe(32);
    expect(k.get('MIX')).toBe(101);
    expect(k.get('PER')).toBe(4);
    expect(k.get('WG_X')).toBe(8);
    expect(k.workgroupSize()).toEqual({ size: [8, 32, 1], text: 'WG_X, HALF' });
    expect(k.workgroupSize('other').size).toEqual([64, 1, 1]);
    expect(new ShaderConstants(wgsl, { T: '16' }, { WG_X: 2 }).workgroupSize().size).toEqual([2, 8, 1]);
    expect(() => new ShaderConstants(wgsl).get('PER')).toThrow(/PER has no value/);
    expect(() => k.workgroupSize('missing')).toThrow(/no @workgroup_size before fn missing/);
  });

  it('takes the formula lines of a header up to the next section', () => {
    expect(formulaLines(wgsl)).toEqual(['Computes:  y[i] = x[i] · 2,', '  for i < n.']);
    expect(() => formulaLines('// x.wgsl — nothing\nfn main() {}')).toThrow(/no "Computes"/);
  });

  it('reads the real shaders: every figure of the guide has its shader, entry point and workgroup size', () => {
    for (const f of FIGURES) {
      const text = readShader(ROOT, f.shader); // with its includes (lib/batchnorm.wgsl holds BatchNorm's entries)
      expect(text).toMatch(new RegExp(`fn\\s+${f.entry ?? 'main'}\\s*\\(`));
    }
    // The matmul register tile is declared as ROWS × COLS; matmul_tiled's WG·PER is its TILE.
    const mm = new ShaderConstants(readShader(ROOT, 'matmul')); // (its body is lib/matmul_register.wgsl)
    expect(mm.get('ROWS') * mm.get('COLS')).toBeGreaterThan(1);
    // matmul_tiled's TILE and PER are launch substitutions (64/4 or 128/8); WG·PER is TILE either way.
    for (const [TILE, PER] of [
      ['64', '4'],
      ['128', '8'],
    ]) {
      const tiled = new ShaderConstants(readFileSync(join(ROOT, 'shaders', 'matmul_tiled.wgsl'), 'utf8'), {
        TILE,
        PER,
      });
      expect(tiled.get('WG') * tiled.get('PER')).toBe(tiled.get('TILE'));
      expect(tiled.get('LOADS') * tiled.get('WG') ** 2).toBe(tiled.get('TILE') * tiled.get('SLAB'));
    }
  });

  it('finds the module that launches a shader by its code', () => {
    expect(launchers(ROOT, 'matmul_naive').length).toBe(1);
    expect(launchers(ROOT, 'no_such_shader')).toEqual([]);
    // through a launch helper, and only there: not a comment that names it, not an option called 'gram'
    expect(launchers(ROOT, 'unary_backward')).toEqual(['src/tensor/elementwise.ts']);
    expect(launchers(ROOT, 'gram')).toEqual(['src/tensor/gram.ts']);
    // every shader has a module that launches it (the guide wrote "not found in src/" for unary_backward)
    const unlaunched = readdirSync(join(ROOT, 'shaders'))
      .filter((f) => f.endsWith('.wgsl'))
      .map((f) => f.replace(/\.wgsl$/, ''))
      .filter((name) => launchers(ROOT, name).length === 0);
    expect(unlaunched).toEqual([]);
  });
});

describe('figures', () => {
  const results = readResults(ROOT);

  it('refuses a recorded launch whose workgroups do not tile the output as the shader says', () => {
    const broken = JSON.parse(JSON.stringify(results)) as GuideResults;
    const c = broken.cases.find((x) => x.id === 'matmul-square')!;
    const launch = c.versions.find((v) => v.id === 'register')!.launches!.find((l) => l.shader === 'matmul')!;
    launch.workgroups += 1;
    const f = FIGURES.find((x) => x.name === '03-matmul-register')!;
    expect(() => figureSpec(ROOT, broken, f)).toThrow(/not a whole number/);
    expect(() => figureSpec(ROOT, results, f)).not.toThrow();
  });

  it('takes tile sizes from the shader and the recorded launch', () => {
    const f = FIGURES.find((x) => x.name === '03-matmul-tiled')!;
    const spec = figureSpec(ROOT, results, f);
    // The recorded launch predates the TILE/PER substitutions: it ran 64×64 tiles, 4×4 per invocation.
    const k = new ShaderConstants(readFileSync(join(ROOT, 'shaders', 'matmul_tiled.wgsl'), 'utf8'), {
      TILE: '64',
      PER: '4',
    });
    expect(spec.tile).toEqual({ rows: 64, cols: 64 });
    expect(spec.per).toEqual({ rows: k.get('PER'), cols: k.get('PER') });
    const c = results.cases.find((x) => x.id === 'matmul-square')!;
    expect(spec.grid.x).toBe(Math.ceil((c.shape.N as number) / k.get('TILE')));
  });

  it('draws the same SVG for the same spec, with the workgroup, the invocations and the caption', () => {
    const spec: TileSpec = {
      title: 'T <&>',
      outLabel: 'C [10 × 20]',
      rowName: 'm',
      colName: 'n',
      rows: 10,
      cols: 20,
      tile: { rows: 4, cols: 8 },
      grid: { y: 3, x: 3, z: 2, zLabel: 'chunks' },
      inv: { y: 2, x: 2 },
      per: { rows: 2, cols: 4 },
      layout: 'strided',
      notes: ['note one'],
    };
    const svg = drawFigure(spec);
    expect(drawFigure(spec)).toBe(svg);
    expect(svg).toContain('T &lt;&amp;&gt;');
    expect(svg).toContain('C [10 × 20]: 3 × 3 workgroups (rows × columns), × 2 in grid z:');
    expect(svg).toContain('>chunks</text>');
    expect(svg).toContain('dashed red: the grid past the edge');
    expect(svg).toContain('invocation 0 owns 2 × 4 elements: every 2nd row, every 2nd column');
    expect(svg).toContain('note one');
    expect(svg.startsWith('<svg')).toBe(true);
  });

  it('wraps and counts in words', () => {
    expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect([1, 2, 3, 4, 11, 12, 21, 32, 64].map(ordinal)).toEqual([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '21st',
      '32nd',
      '64th',
    ]);
  });
});

describe('tables', () => {
  const c: CaseResult = {
    id: 'x',
    family: 'matmul',
    title: 'a case',
    compare: true,
    shape: {},
    rounds: 3,
    ceilingSamples: [40, 60],
    versions: [
      {
        id: 'slow',
        label: 'v1',
        status: 'ok',
        flops: 1e9,
        timing: { median: 100, min: 90, max: 120, samples: [90, 100, 120], firstRunMs: 300, warmupMs: [110] },
        launches: [],
      },
      {
        id: 'fast',
        label: 'v2',
        status: 'ok',
        flops: 1e9,
        timing: { median: 25, min: 20, max: 40, samples: [20, 25, 40], firstRunMs: 50, warmupMs: [30] },
        launches: [],
        agreement: { maxAbsDiff: 1e-5, maxAbsRef: 3 },
      },
      { id: 'broken', label: 'v3', status: 'error', note: 'boom | bang', flops: 1e9, launches: [] },
    ],
  };

  it('gives the per-round range of a speed ratio from the samples of the same rounds', () => {
    expect(relativeSpeed(c.versions[0]!, c.versions[1]!)).toEqual({ ratio: 4, lo: 3, hi: 4.5 });
    expect(relativeSpeed(c.versions[0]!, c.versions[2]!)).toBeUndefined();
  });

  it('renders median, range, n, first run, GFLOP/s and % of the ceiling measured beside the case', () => {
    const text = renderCase(c, 'matmul');
    expect(text).toContain('FMA ceiling 40.0 GFLOP/s before the rounds, 60.0 after');
    expect(text).toContain(
      '| `fast` v2 | — | **25.0** | 20.0–40.0 | 3 | 50.0 | 40.0 | 80.0% | 4.00× (3.00–4.50) | 1.0e-5 (of 3.00) |',
    );
    expect(text).toContain('error: boom \\| bang');
    expect(renderCase(c, 'pooling')).not.toContain('% of ceiling');
  });
});

describe('markers', () => {
  const doc = 'a\n<!-- kernel-guide:x:begin — generated -->\nold\n<!-- kernel-guide:x:end -->\nb\n';
  it('extracts and replaces only the text between the markers', () => {
    expect(extractBlock(doc, 'x')).toBe('old');
    expect(replaceBlock(doc, 'x', 'new')).toBe(
      'a\n<!-- kernel-guide:x:begin — generated -->\nnew\n<!-- kernel-guide:x:end -->\nb\n',
    );
    expect(extractBlock(doc, 'y')).toBeUndefined();
    expect(() => replaceBlock(doc, 'y', 'z', 'P.md')).toThrow(/P\.md: no <!-- kernel-guide:y:begin/);
  });

  it('renders every block of every page', () => {
    const { blocks, figures } = renderAll(ROOT);
    expect(figures.length).toBe(FIGURES.length);
    for (const f of FAMILIES) {
      expect(blocks.some((b) => b.name === `${f.family}-results`)).toBe(true);
      expect(blocks.some((b) => b.name === `${f.family}-files`)).toBe(true);
    }
    // every quoted rule and every launcher is found in today's src/ (a changed line read "not found in src/")
    const missing = blocks.filter((b) => b.body.includes('not found in src/')).map((b) => b.name);
    expect(missing).toEqual([]);
  });
});
