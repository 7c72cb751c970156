/**
 * The kernel guide in docs/kernels/: renders its generated parts from committed files, and (with --measure) makes
 * the measurement they are rendered from.
 *
 *   npm run kernel-guide                   rewrite the generated blocks of docs/kernels/*.md and the figures
 *                                          docs/kernels/figures/*.svg from docs/kernels/results.json and shaders/
 *   npm run kernel-guide -- --check        change nothing; exit 1, one line per block or figure, when one differs
 *                                          from what the committed files give (tests/kernel-guide.test.ts runs it)
 *   npm run kernel-guide -- --measure      time every version of every kernel family on this adapter
 *                                          (scripts/kernel-guide-measure.ts), write docs/kernels/results.json, render
 *                    [--only=CASE] [--out=FILE]   (for trying it out: some cases, another file; nothing is rendered)
 *
 * A generated block sits between two marker lines, as in scripts/render-results.ts:
 *
 *   <!-- kernel-guide:NAME:begin … -->
 *   …generated text…
 *   <!-- kernel-guide:NAME:end -->
 *
 * Sources of what is generated:
 *   docs/kernels/results.json   timings, the FMA ceiling, load averages, and the launches each version made
 *                               (shader, entry, substitutions, constants, workgroup grid)
 *   shaders/*.wgsl              the formulas (the "Computes" part of each header) and the tile constants:
 *                               @workgroup_size, `const`, `override` and {{…}} values, evaluated with the
 *                               substitutions and constants of the recorded launch
 *   src/, tests/, web/src/      the files listed on each page are found there by their text (the launcher is the
 *                               module whose code launches the shader; a reference is reference/<name>.ts), so a
 *                               moved file moves its link on the next render; kernels-page.ts for the URL parameter
 *
 * Rendering reads files only: no GPU (the measurement is in scripts/kernel-guide-measure.ts, loaded on demand).
 */
import { withIncludes } from './shader-includes.mjs';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markedBlocks } from './blocks.ts';
import { writeFileAtomic } from '../src/node/files.ts';

// ---------------------------------------------------------------------------------------------------------------
// The results file

export type Shape4 = [number, number, number, number];

export interface LaunchRecord {
  shader: string;
  entry: string;
  subs?: Record<string, string>;
  constants?: Record<string, number | boolean>;
  /** Launches of this kernel in one run. */
  launches: number;
  /** Workgroups of all those launches together. */
  workgroups: number;
  grids: { workgroups: number[]; count: number }[];
}

export interface VersionTiming {
  median: number;
  min: number;
  max: number;
  /** One per timed round, in round order. */
  samples: number[];
  firstRunMs: number;
  warmupMs: number[];
}

export interface VersionResult {
  id: string;
  label: string;
  status: 'ok' | 'skipped' | 'error';
  note?: string;
  flops: number;
  bytes?: number;
  shape?: Record<string, number | number[]>;
  switches?: Record<string, string | boolean>;
  timing?: VersionTiming;
  /** When not timed: the first run, if it finished. */
  firstRunMs?: number;
  launches?: LaunchRecord[];
  /** Largest |difference| from the first version's output, and the largest |value| of that output. */
  agreement?: { maxAbsDiff: number; maxAbsRef: number };
}

export interface CaseResult {
  id: string;
  family: string;
  title: string;
  compare: boolean;
  shape: Record<string, number | number[]>;
  rounds: number;
  /** FMA ceiling in GFLOP/s right before and right after the timed rounds. */
  ceilingSamples: number[];
  loadavg1AtEnd?: number;
  versions: VersionResult[];
}

export interface GuideResults {
  tool: string;
  adapter: { description: string; vendor: string; architecture: string; device: string; isCPU: boolean; slug: string };
  date: string;
  node: string;
  cpuCores: number;
  lavapipeThreads?: number;
  loadavg: { start: number[]; end: number[] };
  ceiling: { startGflops: number; endGflops: number };
  samplingRules: Record<string, number>;
  procedure: string;
  wallSeconds: number;
  cases: CaseResult[];
}

export const GUIDE_DIR = 'docs/kernels';
export const RESULTS_FILE = `${GUIDE_DIR}/results.json`;
export const FIGURE_DIR = `${GUIDE_DIR}/figures`;

export function readResults(root: string): GuideResults {
  const path = join(root, RESULTS_FILE);
  const r = JSON.parse(readFileSync(path, 'utf8')) as GuideResults;
  if (!r || !Array.isArray(r.cases) || typeof r.date !== 'string')
    throw new Error(`${RESULTS_FILE}: not a kernel-guide results file (no cases or date)`);
  return r;
}

function findCase(r: GuideResults, id: string): CaseResult {
  const c = r.cases.find((x) => x.id === id);
  if (!c) throw new Error(`${RESULTS_FILE}: no case "${id}" (run \`npm run kernel-guide -- --measure\`)`);
  return c;
}

function findVersion(c: CaseResult, id: string): VersionResult {
  const v = c.versions.find((x) => x.id === id);
  if (!v) throw new Error(`${RESULTS_FILE}: case "${c.id}" has no version "${id}"`);
  return v;
}

function findLaunch(v: VersionResult, shader: string, entry = 'main', where = ''): LaunchRecord {
  const l = (v.launches ?? []).find((x) => x.shader === shader && x.entry === entry);
  if (!l)
    throw new Error(
      `${RESULTS_FILE}: ${where}version "${v.id}" launched no ${shader}:${entry} (it launched ${(v.launches ?? []).map((x) => `${x.shader}:${x.entry}`).join(', ') || 'nothing'})`,
    );
  return l;
}

// ---------------------------------------------------------------------------------------------------------------
// Shaders: header, constants, workgroup size

/** A shader's source with its `// #include "lib/NAME.wgsl"` lines replaced by that code, as the engine runs it. */
export function readShader(root: string, name: string): string {
  const path = join(root, 'shaders', `${name}.wgsl`);
  if (!existsSync(path)) throw new Error(`shaders/${name}.wgsl does not exist`);
  return withIncludes(readFileSync(path, 'utf8'), join(root, 'shaders'), `${name}.wgsl`);
}

/** The comment block a shader opens with, without the comment markers. */
export function shaderHeader(source: string): string[] {
  const lines: string[] = [];
  for (const line of source.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines;
}

const SECTION_END = /^(Work split|Gradient|Zeros|Phases|Why|Edges|Dispatch|Split-K|Fusing|Two entry|U is|Used for)\b/;

/**
 * The formula part of a header: from its first line that starts with "Computes" or "Notation" to the first blank
 * line or the next section ("Work split", "Gradient", …), continuation lines included.
 */
export function formulaLines(source: string): string[] {
  const header = shaderHeader(source);
  const start = header.findIndex((l) => /^(Computes|Notation)\b/.test(l));
  if (start < 0) throw new Error(`shader header has no "Computes" or "Notation" line: ${header[0] ?? '(empty)'}`);
  const out: string[] = [];
  for (let i = start; i < header.length; i++) {
    const l = header[i]!;
    if (l.trim() === '' || (i > start && SECTION_END.test(l))) break;
    out.push(l.replace(/\s+$/, ''));
  }
  return out;
}

/**
 * Values of the shader's `const` and `override` declarations (and the sizes in @workgroup_size), with `{{NAME}}`
 * replaced from `subs` and overrides taken from `constants` where the launch set them.
 */
export class ShaderConstants {
  readonly text: string;
  private readonly decls = new Map<string, string>();

  constructor(
    source: string,
    private readonly subs: Record<string, string> = {},
    private readonly constants: Record<string, number | boolean> = {},
  ) {
    this.text = source.replace(/\{\{(\w+)\}\}/g, (m, k: string) => (k in subs ? subs[k]! : m));
    for (const m of this.text.matchAll(/^\s*const\s+(\w+)\s*(?::\s*\w+\s*)?=\s*([^;]+);/gm))
      this.decls.set(m[1]!, m[2]!.trim());
    for (const m of this.text.matchAll(/^\s*override\s+(\w+)\s*:\s*\w+\s*(?:=\s*([^;]+))?;/gm)) {
      const v = constants[m[1]!];
      if (v !== undefined) this.decls.set(m[1]!, String(typeof v === 'boolean' ? (v ? 1 : 0) : v));
      else if (m[2] !== undefined) this.decls.set(m[1]!, m[2].trim());
    }
  }

  /** Evaluates an integer expression of literals (1, 64u), declared names, + − * / and parentheses. */
  value(expr: string, seen: string[] = []): number {
    const tokens = expr.match(/\d+[uif]?|\w+|[-+*/()]/g) ?? [];
    let pos = 0;
    const peek = () => tokens[pos];
    const atom = (): number => {
      const t = tokens[pos++];
      if (t === undefined) throw new Error(`unexpected end of "${expr}"`);
      if (t === '(') {
        const v = sumExpr();
        if (tokens[pos++] !== ')') throw new Error(`unbalanced parentheses in "${expr}"`);
        return v;
      }
      if (/^\d/.test(t)) return parseInt(t, 10);
      if (t === 'true') return 1;
      if (t === 'false') return 0;
      const decl = this.decls.get(t);
      if (decl === undefined)
        throw new Error(`${t} has no value (not a const, nor an override the launch set or that has a default)`);
      if (seen.includes(t)) throw new Error(`${t} is defined in terms of itself`);
      return this.value(decl, [...seen, t]);
    };
    const product = (): number => {
      let v = atom();
      while (peek() === '*' || peek() === '/') {
        const op = tokens[pos++];
        const w = atom();
        v = op === '*' ? v * w : Math.floor(v / w);
      }
      return v;
    };
    const sumExpr = (): number => {
      let v = product();
      while (peek() === '+' || peek() === '-') {
        const op = tokens[pos++];
        const w = product();
        v = op === '+' ? v + w : v - w;
      }
      return v;
    };
    const v = sumExpr();
    if (pos !== tokens.length) throw new Error(`cannot evaluate "${expr}"`);
    return v;
  }

  /** A declared name's value. */
  get(name: string): number {
    return this.value(name);
  }

  /** @workgroup_size of an entry point as [x, y, z], and the text of its arguments. */
  workgroupSize(entry = 'main'): { size: [number, number, number]; text: string } {
    const re = new RegExp(`@workgroup_size\\(([^)]*)\\)[\\s\\S]{0,40}?fn\\s+${entry}\\s*\\(`);
    const m = re.exec(this.text);
    if (!m) throw new Error(`no @workgroup_size before fn ${entry}`);
    const parts = m[1]!
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const v = parts.map((p) => this.value(p));
    return { size: [v[0] ?? 1, v[1] ?? 1, v[2] ?? 1], text: parts.join(', ') };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Figures: how invocations and workgroups cover the output

/**
 * One figure. The output is a rows × cols matrix (plus grid z); a workgroup covers tile.rows × tile.cols of it,
 * as inv.y × inv.x invocations that each own per.rows × per.cols elements: a contiguous block ('block') or every
 * inv.y-th row and inv.x-th column starting at their own ('strided').
 */
export interface TileSpec {
  title: string;
  outLabel: string;
  rowName: string;
  colName: string;
  rows: number;
  cols: number;
  tile: { rows: number; cols: number };
  grid: { y: number; x: number; z: number; zLabel?: string };
  inv: { y: number; x: number };
  per: { rows: number; cols: number };
  layout: 'block' | 'strided';
  /** Caption lines: where each number came from. */
  notes: string[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n1 = (x: number) => String(Math.round(x * 10) / 10);
const grouped = (n: number) => n.toLocaleString('en-US');

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Scales an extent of rows × cols into a box; independent axes (not to scale) when the aspect is extreme. */
function fit(rows: number, cols: number, box: Box): { sx: number; sy: number; w: number; h: number; toScale: boolean } {
  const s = Math.min(box.w / cols, box.h / rows);
  if (cols * s >= box.w / 6 && rows * s >= box.h / 6) return { sx: s, sy: s, w: cols * s, h: rows * s, toScale: true };
  // An extreme aspect: the long side fills its axis, the short one gets a third of the box.
  const sx = cols * s < box.w / 6 ? box.w / 3 / cols : s;
  const sy = rows * s < box.h / 6 ? box.h / 3 / rows : s;
  return { sx, sy, w: cols * sx, h: rows * sy, toScale: false };
}

/** Positions of boundary lines 1…count−1 (every `step`-th when there are more than `max`). */
function boundaries(count: number, max = 64): { at: number[]; step: number } {
  const step = Math.max(1, Math.ceil((count - 1) / max));
  const at: number[] = [];
  for (let k = step; k < count; k += step) at.push(k);
  return { at, step };
}

/** 1st, 2nd, 3rd, 4th, …, 11th, 21st, 32nd, 64th */
export function ordinal(n: number): string {
  const t = n % 100;
  const suffix = t >= 11 && t <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** Splits text into lines of at most `width` characters at spaces. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(' ')) {
    if (cur && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

export function drawFigure(spec: TileSpec): string {
  const W = 940;
  const { tile, grid, inv, per } = spec;
  const gridText = `${grouped(grid.y)} × ${grouped(grid.x)} workgroups (rows × columns)${grid.z > 1 ? `, × ${grouped(grid.z)} in grid z${grid.zLabel ? `: ${grid.zLabel}` : ''}` : ''}`;
  const titleA = wrap(`${spec.outLabel}: ${gridText}`, 62);
  const titleB = wrap(
    `one workgroup: ${grouped(tile.rows)} × ${grouped(tile.cols)} elements, ${grouped(inv.y)} × ${grouped(inv.x)} = ${grouped(inv.x * inv.y)} invocations`,
    62,
  );
  const top = 44 + 15 * Math.max(titleA.length, titleB.length) + 8;
  const boxH = 230;
  const a: Box = { x: 24, y: top, w: 400, h: boxH };
  const b: Box = { x: 500, y: top, w: 400, h: boxH };
  const notes = spec.notes.flatMap((n) => wrap(n, 150));
  const out: string[] = [];
  const text = (x: number, y: number, s: string, attrs = '') =>
    out.push(`<text x="${n1(x)}" y="${n1(y)}"${attrs}>${esc(s)}</text>`);
  const rect = (x: number, y: number, w: number, h: number, attrs: string) =>
    out.push(
      `<rect x="${n1(x)}" y="${n1(y)}" width="${n1(Math.max(w, 0.5))}" height="${n1(Math.max(h, 0.5))}" ${attrs}/>`,
    );
  const line = (x1: number, y1: number, x2: number, y2: number, attrs: string) =>
    out.push(`<line x1="${n1(x1)}" y1="${n1(y1)}" x2="${n1(x2)}" y2="${n1(y2)}" ${attrs}/>`);
  const body: string[] = out;

  // Panel A: the whole output and the workgroup grid over it.
  const coverR = grid.y * tile.rows;
  const coverC = grid.x * tile.cols;
  const extR = Math.max(spec.rows, coverR);
  const extC = Math.max(spec.cols, coverC);
  const fa = fit(extR, extC, a);
  titleA.forEach((l, i) => text(a.x, 44 + 15 * i, l, ' font-weight="bold"'));
  const zLayers = Math.min(grid.z, 4) - 1;
  for (let k = zLayers; k >= 1; k--)
    rect(a.x + 7 * k, a.y - 7 * k, fa.w, fa.h, 'fill="#f6f6f6" stroke="#999999" stroke-width="0.8"');
  rect(a.x, a.y, spec.cols * fa.sx, spec.rows * fa.sy, 'fill="#e9ecef" stroke="#333333" stroke-width="1"');
  if (coverC > spec.cols || coverR > spec.rows)
    rect(
      a.x,
      a.y,
      coverC * fa.sx,
      coverR * fa.sy,
      'fill="none" stroke="#d62828" stroke-width="1" stroke-dasharray="4 3"',
    );
  const vx = boundaries(grid.x);
  const hy = boundaries(grid.y);
  for (const k of vx.at)
    line(
      a.x + k * tile.cols * fa.sx,
      a.y,
      a.x + k * tile.cols * fa.sx,
      a.y + coverR * fa.sy,
      'stroke="#6c757d" stroke-width="0.5"',
    );
  for (const k of hy.at)
    line(
      a.x,
      a.y + k * tile.rows * fa.sy,
      a.x + coverC * fa.sx,
      a.y + k * tile.rows * fa.sy,
      'stroke="#6c757d" stroke-width="0.5"',
    );
  rect(
    a.x,
    a.y,
    Math.max(tile.cols * fa.sx, 3),
    Math.max(tile.rows * fa.sy, 3),
    'fill="#f4a261" stroke="#9c4a00" stroke-width="1"',
  );
  const legendA = [
    `rows: ${spec.rowName} (${grouped(spec.rows)})`,
    `columns: ${spec.colName} (${grouped(spec.cols)})`,
    'orange: workgroup 0',
    vx.step > 1 || hy.step > 1
      ? `grid lines: every ${hy.step === vx.step || vx.step === 1 || hy.step === 1 ? ordinal(Math.max(vx.step, hy.step)) : `${ordinal(hy.step)} row / ${ordinal(vx.step)} column`} workgroup boundary`
      : '',
    coverC > spec.cols || coverR > spec.rows ? 'dashed red: the grid past the edge (idle or clamped)' : '',
    fa.toScale ? '' : 'not to scale',
  ].filter(Boolean);
  const fbH = fit(
    spec.layout === 'strided' ? (per.rows > 16 ? 16 * inv.y : tile.rows) : tile.rows,
    spec.layout === 'strided' ? (per.cols > 16 ? 16 * inv.x : tile.cols) : tile.cols,
    b,
  ).h;
  let yl = top + Math.max(fa.h, fbH, 8) + 20;
  legendA.forEach((l, i) => text(a.x, yl + 15 * i, l, i < 2 ? '' : ' fill="#555555"'));

  // Panel B: one workgroup and its invocations.
  // A strided layout with many elements per invocation is shown in part: its first 16 periods along that axis.
  const shown =
    spec.layout === 'strided'
      ? { rows: per.rows > 16 ? 16 * inv.y : tile.rows, cols: per.cols > 16 ? 16 * inv.x : tile.cols }
      : { rows: tile.rows, cols: tile.cols };
  const fb = fit(shown.rows, shown.cols, b);
  titleB.forEach((l, i) => text(b.x, 44 + 15 * i, l, ' font-weight="bold"'));
  rect(b.x, b.y, fb.w, fb.h, 'fill="#fde2c8" stroke="#9c4a00" stroke-width="1"');
  const cell = (r: number, c: number, h: number, w: number, fill: string) =>
    rect(b.x + c * fb.sx, b.y + r * fb.sy, Math.max(w * fb.sx, 2), Math.max(h * fb.sy, 2), `fill="${fill}"`);
  if (spec.layout === 'block') {
    const bx = boundaries(inv.x);
    const by = boundaries(inv.y);
    for (const k of bx.at)
      line(
        b.x + k * per.cols * fb.sx,
        b.y,
        b.x + k * per.cols * fb.sx,
        b.y + fb.h,
        'stroke="#9c4a00" stroke-width="0.5"',
      );
    for (const k of by.at)
      line(
        b.x,
        b.y + k * per.rows * fb.sy,
        b.x + fb.w,
        b.y + k * per.rows * fb.sy,
        'stroke="#9c4a00" stroke-width="0.5"',
      );
    cell(0, 0, per.rows, per.cols, '#264653');
    if (inv.x > 1) cell(0, per.cols, per.rows, per.cols, '#2a9d8f');
    else if (inv.y > 1) cell(per.rows, 0, per.rows, per.cols, '#2a9d8f');
  } else {
    const [pr, pc] = [shown.rows / inv.y, shown.cols / inv.x];
    const bx = boundaries(pc);
    const by = boundaries(pr);
    for (const k of bx.at)
      line(b.x + k * inv.x * fb.sx, b.y, b.x + k * inv.x * fb.sx, b.y + fb.h, 'stroke="#9c4a00" stroke-width="0.5"');
    for (const k of by.at)
      line(b.x, b.y + k * inv.y * fb.sy, b.x + fb.w, b.y + k * inv.y * fb.sy, 'stroke="#9c4a00" stroke-width="0.5"');
    for (let i = 0; i < pr; i++) {
      for (let j = 0; j < pc; j++) {
        cell(i * inv.y, j * inv.x, 1, 1, '#264653');
        if (inv.x > 1) cell(i * inv.y, j * inv.x + 1, 1, 1, '#2a9d8f');
        else if (inv.y > 1) cell(i * inv.y + 1, j * inv.x, 1, 1, '#2a9d8f');
      }
    }
  }
  const owns =
    per.rows * per.cols === 1
      ? 'one element'
      : spec.layout === 'block'
        ? `a contiguous ${per.rows} × ${per.cols} block`
        : `${per.rows} × ${per.cols} elements: ${per.rows > 1 && inv.y > 1 ? `every ${ordinal(inv.y)} row, ` : ''}${per.cols > 1 ? `every ${ordinal(inv.x)} column` : 'one column'}`;
  const partly =
    shown.rows < tile.rows || shown.cols < tile.cols
      ? `shown: the first ${grouped(shown.rows)} × ${grouped(shown.cols)} of the workgroup's ${grouped(tile.rows)} × ${grouped(tile.cols)}`
      : '';
  const legendB = [
    `invocation 0 owns ${owns}`,
    'invocation 1, its neighbour',
    partly,
    fb.toScale ? '' : 'not to scale',
  ].filter(Boolean);
  legendB.forEach((l, i) => {
    if (i < 2)
      out.push(
        `<rect x="${n1(b.x)}" y="${n1(yl + 15 * i - 9)}" width="10" height="10" fill="${i === 0 ? '#264653' : '#2a9d8f'}"/>`,
      );
    text(b.x + (i < 2 ? 14 : 0), yl + 15 * i, l, i < 2 ? '' : ' fill="#555555"');
  });
  yl += 15 * Math.max(legendA.length, legendB.length) + 14;
  notes.forEach((note, i) => text(24, yl + i * 15, note, ' fill="#333333" font-size="11"'));
  const H = Math.ceil(yl + notes.length * 15 + 4);
  return (
    [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`,
      `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
      `<text x="24" y="22" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
      ...body,
      '</svg>',
    ].join('\n') + '\n'
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The figures, each from one recorded launch of one version

interface FigureDef {
  name: string;
  caseId: string;
  version: string;
  shader: string;
  entry?: string;
  /** What the figure shows, in one line. */
  title: string;
  build: (ctx: FigureContext) => TileSpec;
}

interface FigureContext {
  c: CaseResult;
  v: VersionResult;
  launch: LaunchRecord;
  k: ShaderConstants;
  wg: { size: [number, number, number]; text: string };
  title: string;
  shader: string;
  entry: string;
}

const num = (shape: Record<string, number | number[]>, key: string): number => {
  const v = shape[key];
  if (typeof v !== 'number') throw new Error(`${RESULTS_FILE}: shape has no number "${key}"`);
  return v;
};
const list = (shape: Record<string, number | number[]>, key: string): number[] => {
  const v = shape[key];
  if (!Array.isArray(v)) throw new Error(`${RESULTS_FILE}: shape has no list "${key}"`);
  return v;
};
const prod = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

function launchText(l: LaunchRecord): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(l.subs ?? {})) parts.push(`${k} = ${v}`);
  for (const [k, v] of Object.entries(l.constants ?? {})) if (v !== false) parts.push(`${k} = ${v}`);
  const grids = l.grids.map((g) => `[${g.workgroups.join(', ')}]${g.count > 1 ? ` ×${g.count}` : ''}`).join(', ');
  return `${parts.length ? parts.join(', ') + '; ' : ''}grid ${grids}${l.launches > 1 ? ` (${l.launches} launches, ${grouped(l.workgroups)} workgroups)` : ''}`;
}

/** Grid y·x from the tile, z from the recorded total; throws when the recorded launches do not tile the output so. */
function gridFrom(
  ctx: FigureContext,
  rows: number,
  cols: number,
  tile: { rows: number; cols: number },
): { y: number; x: number; z: number } {
  const y = Math.ceil(rows / tile.rows);
  const x = Math.ceil(cols / tile.cols);
  const z = ctx.launch.workgroups / (x * y);
  if (!Number.isInteger(z) || z < 1) {
    throw new Error(
      `figure ${ctx.shader}: ${ctx.launch.workgroups} recorded workgroups are not a whole number of ${y} × ${x} grids of ${tile.rows} × ${tile.cols} tiles over ${rows} × ${cols}`,
    );
  }
  return { y, x, z };
}

/**
 * A 1-D launch: n elements, PER per invocation strided by the workgroup size. Drawn as rows of wgSize elements in
 * memory order, so that a workgroup is PER consecutive rows and invocation t is column t of them.
 */
function flatSpec(ctx: FigureContext, n: number, what: string): TileSpec {
  const wgSize = ctx.wg.size[0] * ctx.wg.size[1] * ctx.wg.size[2];
  const hasPer = /override\s+PER\b|const\s+PER\b/.test(ctx.k.text);
  const PER = hasPer ? ctx.k.get('PER') : 1;
  const perGroup = wgSize * PER;
  const groups = Math.ceil(n / perGroup);
  const recorded = ctx.launch.workgroups;
  if (recorded < groups)
    throw new Error(
      `figure ${ctx.shader}: ${recorded} recorded workgroups cannot cover ${n} elements at ${perGroup} per workgroup`,
    );
  return {
    title: ctx.title,
    outLabel: `${what}, ${grouped(n)} elements in memory order, in rows of ${wgSize}`,
    rowName: `rows of ${wgSize} elements`,
    colName: 'element within the row',
    rows: Math.ceil(n / wgSize),
    cols: wgSize,
    tile: { rows: PER, cols: wgSize },
    grid: { y: groups, x: 1, z: 1 },
    inv: { y: 1, x: wgSize },
    per: { rows: PER, cols: 1 },
    layout: 'strided',
    notes: [
      `shaders/${ctx.shader}.wgsl, fn ${ctx.entry}: @workgroup_size(${ctx.wg.text}) = ${wgSize} invocations${
        hasPer
          ? `; PER = ${PER} elements each (override set by the launch), ` +
            `strided by the workgroup size: invocation t of workgroup w handles w·${perGroup} + t + ${wgSize}·k, k < ${PER}`
          : ', one element each'
      }.`,
      `Recorded launch (${RESULTS_FILE}, case ${ctx.c.id}, version ${ctx.v.id}): ${launchText(ctx.launch)}${recorded > groups ? ` — ${recorded - groups} workgroups past the end return at once` : ''}.`,
    ],
  };
}

/** Per-row reductions: the input viewed as [rows × length], reduced along each row. */
function rowsSpec(
  ctx: FigureContext,
  rows: number,
  length: number,
  mode: 'thread' | 'workgroup',
  what: string,
  rowName = 'outputs (rows)',
  colName = 'values combined into each',
): TileSpec {
  const wgSize = ctx.wg.size[0] * ctx.wg.size[1] * ctx.wg.size[2];
  const notesHead = `shaders/${ctx.shader}.wgsl, fn ${ctx.entry}: @workgroup_size(${ctx.wg.text}) = ${wgSize} invocations; `;
  const rec = `Recorded launch (${RESULTS_FILE}, case ${ctx.c.id}, version ${ctx.v.id}): ${launchText(ctx.launch)}.`;
  if (mode === 'thread') {
    const groups = Math.ceil(rows / wgSize);
    if (ctx.launch.workgroups < groups)
      throw new Error(
        `figure ${ctx.shader}: ${ctx.launch.workgroups} workgroups for ${rows} rows at ${wgSize} a workgroup`,
      );
    return {
      title: ctx.title,
      outLabel: what,
      rowName,
      colName,
      rows,
      cols: length,
      tile: { rows: wgSize, cols: length },
      grid: { y: groups, x: 1, z: 1 },
      inv: { y: wgSize, x: 1 },
      per: { rows: 1, cols: length },
      layout: 'block',
      notes: [notesHead + 'one invocation per output, a serial loop over its whole row.', rec],
    };
  }
  const per = Math.ceil(length / wgSize);
  if (ctx.launch.workgroups < rows)
    throw new Error(`figure ${ctx.shader}: ${ctx.launch.workgroups} workgroups for ${rows} rows at one a workgroup`);
  return {
    title: ctx.title,
    outLabel: what,
    rowName,
    colName,
    rows,
    cols: length,
    tile: { rows: 1, cols: wgSize * per },
    grid: { y: rows, x: 1, z: 1 },
    inv: { y: 1, x: wgSize },
    per: { rows: 1, cols: per },
    layout: 'strided',
    notes: [
      notesHead + `one workgroup per output; invocation t adds values t, t + ${wgSize}, … (${per} of them here),`,
      'then the workgroup adds its partial sums in a tree in workgroup memory.',
      rec,
    ],
  };
}

/** An output matrix covered by register or workgroup tiles (matmul, the conv gathers, the weight gradient). */
function gemmSpec(
  ctx: FigureContext,
  o: {
    rows: number;
    cols: number;
    rowName: string;
    colName: string;
    what: string;
    zLabel?: (z: number) => string;
    extraNote?: string;
  },
): TileSpec {
  const { k, wg, shader, launch } = ctx;
  let inv: { y: number; x: number };
  let per: { rows: number; cols: number };
  let layout: 'block' | 'strided';
  let source: string;
  switch (shader) {
    case 'matmul_naive':
      inv = { x: wg.size[0], y: wg.size[1] };
      per = { rows: 1, cols: 1 };
      layout = 'block';
      source = `@workgroup_size(${wg.text}); one element of C per invocation`;
      break;
    case 'matmul':
      inv = { x: wg.size[0], y: wg.size[1] };
      per = { rows: k.get('ROWS'), cols: k.get('COLS') };
      layout = 'block';
      source = `@workgroup_size(${wg.text}) with WG_X = ${inv.x}, WG_Y = ${inv.y} from the launch; ROWS = ${per.rows}, COLS = ${per.cols} per invocation`;
      break;
    case 'matmul_tiled':
    case 'conv2d_implicit_gemm_tiled':
    case 'conv2d_weight_grad_tiled': {
      inv = { x: wg.size[0], y: wg.size[1] };
      const P = k.get('PER');
      // the conv kernels' rows per invocation (PER_M: 8 at TILE_M = 128); their vec4 tiles own 4 consecutive rows
      // and columns, a layout this figure does not draw
      if (shader !== 'matmul_tiled' && k.get('VEC4') !== 0)
        throw new Error(`figure: ${shader} with VEC4 (consecutive rows and columns per invocation) is not drawn`);
      per = { rows: shader === 'matmul_tiled' ? P : k.get('PER_M'), cols: P };
      layout = 'strided';
      const tileNames = shader === 'matmul_tiled' ? 'TILE' : 'TILE_M × TILE_N';
      source = `@workgroup_size(${wg.text}) = ${inv.x} × ${inv.y}; PER = ${P}, SLAB = ${k.get('SLAB')}; ${tileNames} = ${shader === 'matmul_tiled' ? k.get('TILE') : `${k.get('TILE_M')} × ${k.get('TILE_N')}`}`;
      break;
    }
    case 'conv2d_implicit_gemm':
    case 'conv2d_weight_grad': {
      inv = { x: wg.size[0], y: 1 };
      const lane = shader === 'conv2d_implicit_gemm' ? 'TN' : 'TC';
      per = { rows: k.get('TM'), cols: k.get(lane) };
      layout = 'strided';
      source = `@workgroup_size(${wg.text}) = WG = ${k.get('WG')}; TM = ${per.rows}, ${lane} = ${per.cols} (substituted by the launcher)`;
      break;
    }
    default:
      throw new Error(`figure: no tiling known for shader ${shader}`);
  }
  const tile = { rows: inv.y * per.rows, cols: inv.x * per.cols };
  if (shader === 'matmul_tiled' && tile.rows !== k.get('TILE'))
    throw new Error(`matmul_tiled: WG·PER = ${tile.rows} but TILE = ${k.get('TILE')}`);
  const grid = gridFrom(ctx, o.rows, o.cols, tile);
  const reads = shader.endsWith('_tiled') ? 'workgroup-memory reads' : 'loads';
  return {
    title: ctx.title,
    outLabel: o.what,
    rowName: o.rowName,
    colName: o.colName,
    rows: o.rows,
    cols: o.cols,
    tile,
    grid: { ...grid, ...(o.zLabel ? { zLabel: o.zLabel(grid.z) } : {}) },
    inv,
    per,
    layout,
    notes: [
      `shaders/${shader}.wgsl: ${source}.`,
      `A workgroup covers ${tile.rows} × ${tile.cols}; per step of the reduction an invocation does ${per.rows} + ${per.cols} ${reads} and ${per.rows * per.cols} multiply-adds.`,
      ...(o.extraNote ? [o.extraNote] : []),
      `Recorded launch (${RESULTS_FILE}, case ${ctx.c.id}, version ${ctx.v.id}): ${launchText(launch)}.`,
    ],
  };
}

function matmulDims(ctx: FigureContext): {
  rows: number;
  cols: number;
  rowName: string;
  colName: string;
  what: string;
  zLabel?: (z: number) => string;
} {
  const M = num(ctx.c.shape, 'M');
  const N = num(ctx.c.shape, 'N');
  const K = num(ctx.c.shape, 'K');
  const batch = num(ctx.c.shape, 'batch');
  return {
    rows: M,
    cols: N,
    rowName: 'm',
    colName: 'n',
    what: `C [${M} × ${N}], k = ${K}`,
    zLabel: (z) => (z === batch ? 'batch' : `${z / batch} chunks of k${batch > 1 ? ' per matrix' : ''}`),
  };
}

/** The conv gathers: output channels × pixels of one phase (transposed: one stride phase per grid z). */
function gatherDims(ctx: FigureContext): {
  rows: number;
  cols: number;
  rowName: string;
  colName: string;
  what: string;
  zLabel?: (z: number) => string;
  extraNote?: string;
} {
  const s = ctx.c.shape;
  const transposed = ctx.launch.constants?.TRANSPOSED === true;
  const [N, stride] = [num(s, 'N'), num(s, 'stride')];
  const [outC, outH, outW] = transposed
    ? [num(s, 'Cin'), num(s, 'H'), num(s, 'W')]
    : [num(s, 'Cout'), num(s, 'Ho'), num(s, 'Wo')];
  const phases = transposed ? stride : 1;
  const pixels = N * Math.ceil(outH / phases) * Math.ceil(outW / phases);
  return {
    rows: outC,
    cols: pixels,
    rowName: 'output channels',
    colName: transposed ? 'pixels of one phase (n, a, b)' : 'output pixels (n, oh, ow)',
    what: transposed
      ? `dx [${N}, ${outC}, ${outH}, ${outW}] as channels × pixels per phase`
      : `y [${N}, ${outC}, ${outH}, ${outW}] as channels × pixels`,
    zLabel: (z) => (transposed ? `${z} phases (oh mod ${stride}, ow mod ${stride})` : `${z}`),
    extraNote: transposed
      ? `Transposed gather: the output splits into ${phases}×${phases} phases; within one, every pixel uses the same taps, so each phase is a dense gather (grid z).`
      : undefined,
  };
}

function weightGradDims(ctx: FigureContext): {
  rows: number;
  cols: number;
  rowName: string;
  colName: string;
  what: string;
  zLabel?: (z: number) => string;
  extraNote?: string;
} {
  const s = ctx.c.shape;
  const [N, Cin, Cout, kh, kw, Ho, Wo] = ['N', 'Cin', 'Cout', 'kh', 'kw', 'Ho', 'Wo'].map((key) => num(s, key));
  const K = N! * Ho! * Wo!;
  return {
    rows: Cout!,
    cols: Cin! * kh! * kw!,
    rowName: 'rows m (channels of dy)',
    colName: 'im2col columns c·kh·kw + i·kw + j',
    what: `dw [${Cout}, ${Cin}, ${kh}, ${kw}] as ${Cout} × ${Cin! * kh! * kw!}`,
    zLabel: (z) => `split-K: ${z} chunks of the ${grouped(K)} pixels`,
    extraNote: 'Each chunk (grid z) writes a partial dw; the host sums the chunks afterwards with the reduce kernel.',
  };
}

export const FIGURES: FigureDef[] = [
  {
    name: '01-elementwise',
    caseId: 'elementwise',
    version: 'relu',
    shader: 'unary',
    title: 'Elementwise: y = relu(x), one workgroup per 256·PER elements',
    build: (ctx) => flatSpec(ctx, num(ctx.c.shape, 'elements'), `y [${list(ctx.c.shape, 'x').join(', ')}]`),
  },
  {
    name: '02-reduce-per-thread',
    caseId: 'reduce-rows',
    version: '16384x256',
    shader: 'reduce',
    entry: 'per_thread',
    title: 'Reduction, per_thread: one invocation per output',
    build: (ctx) =>
      rowsSpec(
        ctx,
        num(ctx.v.shape!, 'rows'),
        num(ctx.v.shape!, 'cols'),
        'thread',
        `x [${num(ctx.v.shape!, 'rows')}, ${num(ctx.v.shape!, 'cols')}], summed along each row`,
      ),
  },
  {
    name: '02-reduce-per-workgroup',
    caseId: 'reduce-rows',
    version: '16383x256',
    shader: 'reduce',
    entry: 'per_workgroup',
    title: 'Reduction, per_workgroup: one workgroup per output',
    build: (ctx) =>
      rowsSpec(
        ctx,
        num(ctx.v.shape!, 'rows'),
        num(ctx.v.shape!, 'cols'),
        'workgroup',
        `x [${num(ctx.v.shape!, 'rows')}, ${num(ctx.v.shape!, 'cols')}], summed along each row`,
      ),
  },
  {
    name: '03-matmul-naive',
    caseId: 'matmul-square',
    version: 'naive',
    shader: 'matmul_naive',
    title: 'matmul v1 (naive): one element of C per invocation',
    build: (ctx) => gemmSpec(ctx, matmulDims(ctx)),
  },
  {
    name: '03-matmul-register',
    caseId: 'matmul-square',
    version: 'register',
    shader: 'matmul',
    title: 'matmul v2 (register tiles): a block of C per invocation, no workgroup memory',
    build: (ctx) => gemmSpec(ctx, matmulDims(ctx)),
  },
  {
    name: '03-matmul-tiled',
    caseId: 'matmul-square',
    version: 'tiled',
    shader: 'matmul_tiled',
    title: 'matmul v3 (workgroup tiles): slabs of A and B staged in workgroup memory',
    build: (ctx) => gemmSpec(ctx, matmulDims(ctx)),
  },
  {
    name: '03-matmul-split-k',
    caseId: 'matmul-splitk',
    version: 'register-splitk',
    shader: 'matmul',
    title: 'matmul split-K: a small C, k cut into chunks along grid z',
    build: (ctx) => gemmSpec(ctx, matmulDims(ctx)),
  },
  {
    name: '04-conv-forward-register',
    caseId: 'conv-forward',
    version: 'register',
    shader: 'conv2d_implicit_gemm',
    title: 'conv forward as implicit GEMM, register tiles',
    build: (ctx) => gemmSpec(ctx, gatherDims(ctx)),
  },
  {
    name: '04-conv-forward-tiled',
    caseId: 'conv-forward',
    version: 'tiled',
    shader: 'conv2d_implicit_gemm_tiled',
    title: 'conv forward as implicit GEMM, workgroup-memory tiles',
    build: (ctx) => gemmSpec(ctx, gatherDims(ctx)),
  },
  {
    name: '04-conv-input-grad-register',
    caseId: 'conv-input-grad',
    version: 'register',
    shader: 'conv2d_implicit_gemm',
    title: 'conv input gradient: the transposed gather, one grid z slice per stride phase',
    build: (ctx) => gemmSpec(ctx, gatherDims(ctx)),
  },
  {
    name: '04-conv-weight-grad-register',
    caseId: 'conv-weight-grad',
    version: 'register',
    shader: 'conv2d_weight_grad',
    title: 'conv weight gradient: split-K over the pixels, register tiles',
    build: (ctx) => gemmSpec(ctx, weightGradDims(ctx)),
  },
  {
    name: '04-conv-weight-grad-tiled',
    caseId: 'conv-weight-grad',
    version: 'tiled',
    shader: 'conv2d_weight_grad_tiled',
    title: 'conv weight gradient: split-K over the pixels, workgroup-memory tiles',
    build: (ctx) => gemmSpec(ctx, weightGradDims(ctx)),
  },
  {
    name: '05-pool-max-forward',
    caseId: 'pool',
    version: 'max-forward',
    shader: 'pool_max',
    entry: 'forward',
    title: 'Max pooling forward: one invocation per output element',
    build: (ctx) => flatSpec(ctx, prod(list(ctx.c.shape, 'out')), `y [${list(ctx.c.shape, 'out').join(', ')}]`),
  },
  {
    name: '05-pool-max-backward',
    caseId: 'pool',
    version: 'max-backward',
    shader: 'pool_max',
    entry: 'backward',
    title: 'Max pooling backward: one invocation per INPUT element (a gather, no atomics)',
    build: (ctx) => flatSpec(ctx, prod(list(ctx.c.shape, 'x')), `dx [${list(ctx.c.shape, 'x').join(', ')}]`),
  },
  {
    name: '06-batchnorm-stats',
    caseId: 'batchnorm',
    version: 'forward',
    shader: 'batchnorm',
    entry: 'batch_stats',
    title: 'BatchNorm batch_stats: one workgroup per channel',
    build: (ctx) =>
      rowsSpec(
        ctx,
        num(ctx.c.shape, 'C'),
        num(ctx.c.shape, 'M'),
        'workgroup',
        `x [${list(ctx.c.shape, 'x').join(', ')}] as C × (N·H·W)`,
        'channels c',
        'the M = N·H·W values of a channel',
      ),
  },
  {
    name: '06-batchnorm-normalize',
    caseId: 'batchnorm',
    version: 'forward',
    shader: 'batchnorm',
    entry: 'normalize',
    title: 'BatchNorm normalize: elementwise, PER elements per invocation',
    build: (ctx) => flatSpec(ctx, prod(list(ctx.c.shape, 'x')), `y [${list(ctx.c.shape, 'x').join(', ')}]`),
  },
  {
    name: '07-gram',
    caseId: 'gram-forward',
    version: 'register',
    shader: 'matmul',
    title: 'Gram G = F·Fᵀ: the whole C × C output is one workgroup',
    build: (ctx) => gemmSpec(ctx, gramDims(ctx)),
  },
  {
    name: '07-gram-split-k',
    caseId: 'gram-forward',
    version: 'register-splitk',
    shader: 'matmul',
    title: 'Gram with split-K: the HW reduction cut into chunks (grid z)',
    build: (ctx) => gemmSpec(ctx, gramDims(ctx)),
  },
];

function gramDims(ctx: FigureContext): {
  rows: number;
  cols: number;
  rowName: string;
  colName: string;
  what: string;
  zLabel?: (z: number) => string;
} {
  const C = num(ctx.c.shape, 'C');
  const HW = num(ctx.c.shape, 'HW');
  return {
    rows: C,
    cols: C,
    rowName: 'channels i',
    colName: 'channels j',
    what: `G [${C} × ${C}], k = H·W = ${grouped(HW)}`,
    zLabel: (z) => (z === 1 ? '' : `${z} chunks of H·W`),
  };
}

/**
 * Substitutions a shader gained after results.json was recorded: a recorded launch without them ran the values the
 * shader then had as constants (64×64 tiles with 4×4 per invocation, before the 'tiled-128' versions were added).
 */
const RECORDED_BEFORE_SUBS: Record<string, Record<string, string>> = {
  matmul_tiled: { TILE: '64', PER: '4' },
  conv2d_implicit_gemm_tiled: { PER_M: '4', VEC4: 'false' },
};

export function figureSpec(root: string, r: GuideResults, f: FigureDef): TileSpec {
  const c = findCase(r, f.caseId);
  const v = findVersion(c, f.version);
  const entry = f.entry ?? 'main';
  const launch = findLaunch(v, f.shader, entry, `case "${c.id}", `);
  const k = new ShaderConstants(
    readShader(root, f.shader),
    { ...RECORDED_BEFORE_SUBS[f.shader], ...launch.subs },
    launch.constants,
  );
  const ctx: FigureContext = { c, v, launch, k, wg: k.workgroupSize(entry), title: f.title, shader: f.shader, entry };
  try {
    return f.build(ctx);
  } catch (e) {
    throw new Error(`figure ${f.name}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pages

interface FamilyDef {
  page: string;
  family: string;
  shaders: string[];
  /** Reference modules by name (found as reference/<name>.ts), and what to look for in them. */
  references: string[];
  tests: string[];
  cases: string[];
  figures: string[];
  /** Lines of host code quoted on the page (the rules that pick a kernel or its sizes), found in src/ by pattern. */
  rules?: { what: string; pattern: RegExp }[];
}

export const FAMILIES: FamilyDef[] = [
  {
    page: '01-elementwise.md',
    family: 'elementwise',
    shaders: ['unary', 'unary_backward', 'binary'],
    references: ['elementwise'],
    tests: ['tests/tensor-ops.test.ts'],
    cases: ['elementwise'],
    figures: ['01-elementwise'],
    rules: [
      {
        what: 'elements per invocation (the PER override) for every elementwise launch',
        pattern: /ELEMENTS_PER_INVOCATION = \d+;/,
      },
    ],
  },
  {
    page: '02-reductions.md',
    family: 'reductions',
    shaders: ['reduce'],
    references: ['elementwise'],
    tests: ['tests/tensor-ops.test.ts'],
    cases: ['reduce-rows', 'reduce-length', 'reduce-few-long', 'reduce-many-short'],
    figures: ['02-reduce-per-thread', '02-reduce-per-workgroup'],
    rules: [
      {
        what: 'which entry point runs (per_workgroup when true, else per_thread)',
        pattern: /const perWorkgroup =[^;]+;/,
      },
    ],
  },
  {
    page: '03-matmul.md',
    family: 'matmul',
    shaders: ['matmul_naive', 'matmul', 'matmul_sg', 'matmul_tiled', 'matmul_tiled_vec4', 'matmul_split_sum'],
    references: ['elementwise'],
    tests: ['tests/tensor-ops.test.ts'],
    cases: ['matmul-square', 'matmul-splitk'],
    figures: ['03-matmul-naive', '03-matmul-register', '03-matmul-tiled', '03-matmul-split-k'],
    rules: [
      {
        what: 'the version a product runs before (or without) per-shape tuning',
        pattern: /return engine\(\)\.adapter\.isCPU \? 'register-sg' : 'tiled-splitk';/,
      },
      {
        what: 'the candidates timed per shape by the tuner (src/tensor/autotune.ts)',
        pattern: /const TUNED_VERSIONS = \[\s*'register',\s*'register-splitk'[^\]]*\]/,
      },
      {
        what: 'split-K: split until this many workgroups, the shortest chunk of k',
        pattern: /export const splitK = \{[^}]*\};/,
      },
    ],
  },
  {
    page: '04-conv.md',
    family: 'conv',
    shaders: [
      'conv2d_naive',
      'conv2d_weight_grad_naive',
      'conv2d_implicit_gemm',
      'conv2d_implicit_gemm_sg',
      'conv2d_implicit_gemm_tiled',
      'conv_pack_weight',
      'conv2d_weight_grad',
      'conv2d_weight_grad_sg',
      'conv2d_weight_grad_tiled',
      'conv_col2im',
      'conv_col2im_planes',
    ],
    references: ['conv'],
    tests: ['tests/conv.test.ts', 'tests/conv-tiled.test.ts', 'tests/conv-oracle.test.ts', 'tests/conv-cases.ts'],
    cases: ['conv-forward', 'conv-input-grad', 'conv-weight-grad', 'conv-point', 'conv-small-grid', 'conv-one-channel'],
    figures: [
      '04-conv-forward-register',
      '04-conv-forward-tiled',
      '04-conv-input-grad-register',
      '04-conv-weight-grad-register',
      '04-conv-weight-grad-tiled',
    ],
    rules: [
      {
        what: 'register tile sizes (largest; narrower when a layer has fewer channels or pixels) and the most FLOPs in one dispatch',
        pattern: /export const convTiles = \{[^}]*\};/,
      },
      { what: 'output channels per workgroup of the tiled kernels', pattern: /return channels <= \d+ \? \d+ : \d+;/ },
      {
        what: 'the versions timed per shape by the tuner (src/tensor/autotune.ts); `naive` besides them is only forced',
        pattern: /const TUNED_CONV_VERSIONS = \[[^\]]*\]/,
      },
      {
        what: 'the version a pass runs before (or without) tuning',
        pattern:
          /if \(!engine\(\)\.adapter\.isCPU\) return 'tiled';\s*return laneGroup\(\) > 1 \? 'register-sg' : 'register';/,
      },
      {
        what: 'lanes that split the shared loads of register-sg (the subgroup size; 1 runs the plain register kernels)',
        pattern: /return sg !== null && sg > 1 && sg <= 16 && \(sg & \(sg - 1\)\) === 0 \? sg : 1;/,
      },
      {
        what: 'convTranspose2d of a 1×1 input becomes one matrix product when',
        pattern: /if \(\s*H === 1 &&\s*W === 1[\s\S]*?\)\s*\{/,
      },
      {
        what: 'a transposed gather with one output channel becomes matmul + conv_col2im, or the 1×1 conv route, when',
        pattern: /if \(\s*transposed &&\s*outC === 1[^)]*\)/,
      },
      {
        what: 'the transposed gather runs as a 1×1 conv and conv_col2im_planes (with the subgroup kernels on a CPU adapter) when',
        pattern: /if \(geo\.Cin === 1\) return true;\s*const work = transposedWork\(geo\);\s*return [^;]*;/,
      },
    ],
  },
  {
    page: '05-pooling.md',
    family: 'pooling',
    shaders: ['pool_max', 'pool_avg'],
    references: ['pool'],
    tests: ['tests/pool.test.ts'],
    cases: ['pool'],
    figures: ['05-pool-max-forward', '05-pool-max-backward'],
  },
  {
    page: '06-batchnorm.md',
    family: 'batchnorm',
    shaders: ['batchnorm', 'batchnorm_sg'],
    references: ['norm'],
    tests: ['tests/norm.test.ts'],
    cases: ['batchnorm', 'batchnorm-small'],
    figures: ['06-batchnorm-stats', '06-batchnorm-normalize'],
    rules: [
      { what: 'elements per invocation of normalize and backward_dx', pattern: /ELEMENTS_PER_INVOCATION = \d+;/ },
    ],
  },
  {
    page: '07-gram.md',
    family: 'gram',
    shaders: ['gram', 'matmul', 'matmul_split_sum'],
    references: ['gram'],
    tests: ['tests/gram.test.ts'],
    cases: ['gram-forward', 'gram-backward'],
    figures: ['07-gram', '07-gram-split-k'],
    rules: [
      {
        what: 'the matmul version a product runs before (or without) per-shape tuning',
        pattern: /return engine\(\)\.adapter\.isCPU \? 'register-sg' : 'tiled-splitk';/,
      },
      {
        what: 'split-K: split until this many workgroups, the shortest chunk of k',
        pattern: /export const splitK = \{[^}]*\};/,
      },
    ],
  },
];

/** The quoted host-code lines of a page, each with the file it is in; a pattern no longer found says so. */
export function renderRules(root: string, f: FamilyDef): string {
  const page = `${GUIDE_DIR}/${f.page}`;
  const files = walk(join(root, 'src'))
    .filter((p) => p.endsWith('.ts') && !p.endsWith('shaders.gen.ts'))
    .sort();
  return (f.rules ?? [])
    .map((rule) => {
      for (const p of files) {
        const m = rule.pattern.exec(readFileSync(p, 'utf8'));
        if (m)
          return `- ${rule.what}: \`${m[0].replace(/\s+/g, ' ').replace(/\(\s/g, '(').replace(/\s\)/g, ')').trim()}\` (${link(page, relative(root, p).split('\\').join('/'))})`;
      }
      return `- ${rule.what}: not found in src/ (the code changed; read the launcher listed below)`;
    })
    .join('\n');
}

/** The families whose speed is bounded by arithmetic: % of the FMA ceiling is reported for them. */
const COMPUTE_BOUND = new Set(['matmul', 'conv', 'gram']);

function walk(dir: string, skip = new Set(['node_modules', '.git', 'dist', 'dist-web'])): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    if (skip.has(name)) return [];
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p, skip) : [p];
  });
}

/**
 * The modules of src/ whose code launches `shader`, relative to the root: a kernel object's `shader: 'name'`, or the
 * name as the first argument of a launch helper (`launchElementwise('name', …)`).
 */
export function launchers(root: string, shader: string): string[] {
  const re = new RegExp(`shader:\\s*'${shader}'|\\blaunch\\w*\\(\\s*'${shader}'\\s*,`);
  return walk(join(root, 'src'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('shaders.gen.ts') && re.test(readFileSync(f, 'utf8')))
    .map((f) => relative(root, f).split('\\').join('/'))
    .sort();
}

/** reference/<name>.ts wherever the project keeps its float64 references (src/, tests/ or web/src/). */
export function referenceFiles(root: string, name: string): string[] {
  return ['src', 'tests', 'web/src']
    .flatMap((d) => walk(join(root, d)))
    .map((f) => relative(root, f).split('\\').join('/'))
    .filter((f) => f.endsWith(`/reference/${name}.ts`))
    .sort();
}

/** How the kernel explorer takes its kernel from the URL: the query parameter kernels-page.ts reads. */
export function explorerParam(root: string): string {
  const file = walk(join(root, 'web', 'src')).find((f) => f.endsWith('kernels-page.ts'));
  if (!file) throw new Error('web/src/kernels-page.ts not found: the guide cannot link to the kernel explorer');
  const m = /new URLSearchParams\(location\.search\)\.get\('(\w+)'\)/.exec(readFileSync(file, 'utf8'));
  if (!m)
    throw new Error(
      `${relative(root, file)}: no URLSearchParams(location.search).get('…'): the explorer's URL parameter has changed`,
    );
  return m[1]!;
}

export const EXPLORER_URL = 'http://localhost:5173/kernels.html';

const fmtMs = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtRate = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cellEsc = (s: string) => s.replace(/\|/g, '\\|');

/** GFLOP/s of a version's median, or undefined. */
export function versionGflops(v: VersionResult): number | undefined {
  return v.timing && v.timing.median > 0 ? v.flops / (v.timing.median * 1e6) : undefined;
}

/** Median speed of `v` relative to `base` (base time / v time) and the range of the same ratio per round. */
export function relativeSpeed(
  base: VersionResult,
  v: VersionResult,
): { ratio: number; lo: number; hi: number } | undefined {
  if (!base.timing || !v.timing) return undefined;
  const n = Math.min(base.timing.samples.length, v.timing.samples.length);
  const per = Array.from({ length: n }, (_, i) => base.timing!.samples[i]! / v.timing!.samples[i]!);
  return { ratio: base.timing.median / v.timing.median, lo: Math.min(...per), hi: Math.max(...per) };
}

function kernelsText(v: VersionResult): string {
  return (
    (v.launches ?? [])
      .map((l) => {
        const name = l.shader + (l.entry !== 'main' ? `:${l.entry}` : '');
        const subs = Object.entries(l.subs ?? {})
          .filter(([k]) => !['EXPR', 'GRAD', 'COMBINE', 'IDENTITY'].includes(k))
          .map(([k, x]) => `${k}=${x}`);
        const consts = Object.entries(l.constants ?? {})
          .filter(([, x]) => x !== false)
          .map(([k, x]) => (x === true ? k : `${k}=${x}`));
        const params = [...subs, ...consts].join(' ');
        return `\`${name}\`${params ? ` ${params}` : ''} ×${l.launches} (${grouped(l.workgroups)} wg)`;
      })
      .join(', ') || '—'
  );
}

/** "30.7 GFLOP/s before the rounds, 22.3 after" */
export function ceilingText(samples: readonly number[]): string {
  if (samples.length === 0) return 'not measured';
  const [before, after] = samples.map((x) => x.toFixed(1));
  return samples.length > 1 ? `${before} GFLOP/s before the rounds, ${after} after` : `${before} GFLOP/s`;
}

/** The measured table of one case. */
export function renderCase(c: CaseResult, family: string): string {
  const ceiling = c.ceilingSamples.length ? mean(c.ceilingSamples) : undefined;
  const compute = COMPUTE_BOUND.has(family);
  const bytes = c.versions.some((v) => v.bytes !== undefined);
  const head = ['version', 'kernels launched in one run', 'median ms', 'min–max', 'n', 'first run ms', 'GFLOP/s'];
  if (compute) head.push('% of ceiling');
  if (bytes) head.push('GB/s');
  head.push(`speed vs \`${c.versions[0]!.id}\` (per round)`);
  if (c.compare) head.push(`max \\|Δ\\| vs \`${c.versions[0]!.id}\``);
  const lines = [
    `**${cellEsc(c.title)}** — ${c.rounds} interleaved rounds; FMA ceiling ${ceilingText(c.ceilingSamples)}.`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => ' --- ').join('|')}|`,
  ];
  const base = c.versions[0]!;
  for (const v of c.versions) {
    const t = v.timing;
    const g = versionGflops(v);
    const row = [`\`${cellEsc(v.id)}\` ${cellEsc(v.label)}`, cellEsc(kernelsText(v))];
    if (t)
      row.push(
        `**${fmtMs(t.median)}**`,
        `${fmtMs(t.min)}–${fmtMs(t.max)}`,
        String(t.samples.length),
        fmtMs(t.firstRunMs),
        g !== undefined ? fmtRate(g) : '—',
      );
    else
      row.push(
        `${v.status}${v.note ? `: ${cellEsc(v.note)}` : ''}`,
        '—',
        '0',
        v.firstRunMs !== undefined ? fmtMs(v.firstRunMs) : '—',
        '—',
      );
    if (compute) row.push(g !== undefined && ceiling ? `${((100 * g) / ceiling).toFixed(1)}%` : '—');
    if (bytes) row.push(t && v.bytes ? fmtRate(v.bytes / (t.median * 1e6)) : '—');
    const rel = v === base ? undefined : relativeSpeed(base, v);
    row.push(v === base ? '1' : rel ? `${rel.ratio.toFixed(2)}× (${rel.lo.toFixed(2)}–${rel.hi.toFixed(2)})` : '—');
    if (c.compare)
      row.push(
        v.agreement
          ? v === base
            ? '—'
            : `${v.agreement.maxAbsDiff.toExponential(1)} (of ${v.agreement.maxAbsRef.toPrecision(3)})`
          : '—',
      );
    lines.push(`| ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}

function link(from: string, target: string): string {
  return `[${target}](${relative(dirname(from), target).split('\\').join('/')})`;
}

export function renderFiles(root: string, f: FamilyDef, param: string): string {
  const page = `${GUIDE_DIR}/${f.page}`;
  const rows: string[] = ['| kernel | launched by | run it in the kernel explorer |', '| --- | --- | --- |'];
  for (const s of f.shaders) {
    readShader(root, s);
    const by = launchers(root, s);
    rows.push(
      `| ${link(page, `shaders/${s}.wgsl`)} | ${by.length ? by.map((p) => link(page, p)).join(', ') : 'not found in src/'} | [${s}](${EXPLORER_URL}?${param}=${s}) |`,
    );
  }
  const refs = f.references.flatMap((r) => {
    const found = referenceFiles(root, r);
    return found.length ? found.map((p) => link(page, p)) : [`reference/${r}.ts (not found)`];
  });
  const tests = f.tests.map((t) => (existsSync(join(root, t)) ? link(page, t) : `${t} (not found)`));
  return [
    ...rows,
    '',
    `Float64 reference: ${refs.join(', ')}. Tests: ${tests.join(', ')}.`,
    `The explorer links work while \`npm run web\` serves the app (Vite's default port 5173; another port if that one is taken).`,
  ].join('\n');
}

export function renderFormulas(root: string, f: FamilyDef): string {
  return f.shaders
    .map((s) => ['', `\`shaders/${s}.wgsl\`:`, '', '```text', ...formulaLines(readShader(root, s)), '```'].join('\n'))
    .join('\n')
    .replace(/^\n/, '');
}

function figureBlock(root: string, r: GuideResults, name: string): string {
  const f = FIGURES.find((x) => x.name === name);
  if (!f) throw new Error(`no figure ${name}`);
  const spec = figureSpec(root, r, f);
  return `![${f.title}](figures/${f.name}.svg)\n\n*${spec.notes.join(' ')}*`;
}

function familyResults(r: GuideResults, f: FamilyDef): string {
  return f.cases.map((id) => renderCase(findCase(r, id), f.family)).join('\n\n');
}

function loadText(xs: number[]): string {
  return xs.map((x) => x.toFixed(2)).join(' / ');
}

export function renderRun(r: GuideResults): string {
  const when = r.date.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
  return [
    `Measured on **${r.adapter.description || `${r.adapter.vendor} ${r.adapter.architecture}`}** (${r.adapter.isCPU ? 'a CPU adapter' : 'a GPU'}), ${when}, ` +
      `Node ${r.node}, ${r.cpuCores} cores${r.lavapipeThreads !== undefined ? `, lavapipe on ${r.lavapipeThreads} threads` : ''}; the whole run took ${r.wallSeconds} s ([results.json](results.json)).`,
    `Load average (1 / 5 / 15 min) at the start ${loadText(r.loadavg.start)}, at the end ${loadText(r.loadavg.end)}: ` +
      'the machine was shared with other work, which lavapipe competes with for the same cores.',
    `FMA ceiling (bench/ceiling.ts, in full): ${r.ceiling.startGflops.toFixed(1)} GFLOP/s at the start, ${r.ceiling.endGflops.toFixed(1)} at the end; ` +
      'each table gives the short measurements taken right before and after its timed rounds.',
    `Sampling: ${r.procedure}. Rules: ${r.samplingRules.warmup} warm-up run, at least ${r.samplingRules.samples} samples ` +
      `(up to ${r.samplingRules.maxSamples} while a version's samples add up to less than ${r.samplingRules.minTimeMs} ms and the rounds took less than ${r.samplingRules.budgetMs / 1000} s).`,
  ].join('\n');
}

export function renderSummary(r: GuideResults): string {
  const lines = [
    '| page | case | version | median ms (min–max, n) | GFLOP/s | % of ceiling |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const f of FAMILIES) {
    for (const id of f.cases) {
      const c = findCase(r, id);
      const ceiling = c.ceilingSamples.length ? mean(c.ceilingSamples) : undefined;
      for (const v of c.versions) {
        const t = v.timing;
        const g = versionGflops(v);
        lines.push(
          `| [${f.page.replace(/\.md$/, '')}](${f.page}) | ${c.id} | ${cellEsc(v.id)} | ${t ? `${fmtMs(t.median)} (${fmtMs(t.min)}–${fmtMs(t.max)}, n=${t.samples.length})` : v.status} | ` +
            `${g !== undefined ? fmtRate(g) : '—'} | ${COMPUTE_BOUND.has(f.family) && g !== undefined && ceiling ? `${((100 * g) / ceiling).toFixed(1)}%` : '—'} |`,
        );
      }
    }
  }
  return lines.join('\n');
}

export interface Block {
  file: string;
  name: string;
  body: string;
}
export interface Figure {
  file: string;
  svg: string;
}

/** Every generated block and figure of the guide. */
export function renderAll(root: string): { blocks: Block[]; figures: Figure[] } {
  const r = readResults(root);
  const param = explorerParam(root);
  const blocks: Block[] = [
    { file: `${GUIDE_DIR}/README.md`, name: 'run', body: renderRun(r) },
    { file: `${GUIDE_DIR}/README.md`, name: 'summary', body: renderSummary(r) },
  ];
  for (const f of FAMILIES) {
    const file = `${GUIDE_DIR}/${f.page}`;
    blocks.push({ file, name: `${f.family}-formulas`, body: renderFormulas(root, f) });
    if (f.rules?.length) blocks.push({ file, name: `${f.family}-rules`, body: renderRules(root, f) });
    for (const fig of f.figures) blocks.push({ file, name: `figure-${fig}`, body: figureBlock(root, r, fig) });
    blocks.push({ file, name: `${f.family}-results`, body: familyResults(r, f) });
    blocks.push({ file, name: `${f.family}-files`, body: renderFiles(root, f, param) });
  }
  const figures = FIGURES.map((f) => ({
    file: `${FIGURE_DIR}/${f.name}.svg`,
    svg: drawFigure(figureSpec(root, r, f)),
  }));
  return { blocks, figures };
}

// ---------------------------------------------------------------------------------------------------------------
// Markers, check and write

export const { extractBlock, replaceBlock, writeBlocks } = markedBlocks('kernel-guide');

/** What differs between the committed pages and figures and what the committed files give, one line each. */
export function checkGuide(root: string, out = renderAll(root)): string[] {
  const problems: string[] = [];
  for (const b of out.blocks) {
    const path = join(root, b.file);
    const current = existsSync(path) ? extractBlock(readFileSync(path, 'utf8'), b.name) : undefined;
    if (current === undefined)
      problems.push(`${b.file}: block "${b.name}" has no <!-- kernel-guide:${b.name}:begin/end --> markers`);
    else if (current !== b.body)
      problems.push(
        `${b.file}: block "${b.name}" differs from what ${RESULTS_FILE} and shaders/ give; run \`npm run kernel-guide\``,
      );
  }
  for (const f of out.figures) {
    const path = join(root, f.file);
    if (!existsSync(path)) problems.push(`${f.file}: missing; run \`npm run kernel-guide\``);
    else if (readFileSync(path, 'utf8') !== f.svg)
      problems.push(`${f.file}: differs from what ${RESULTS_FILE} and shaders/ give; run \`npm run kernel-guide\``);
  }
  const made = new Set(out.figures.map((f) => f.file));
  for (const p of walk(join(root, FIGURE_DIR))) {
    const rel = relative(root, p).split('\\').join('/');
    if (!made.has(rel)) problems.push(`${rel}: not drawn by scripts/kernel-guide.ts (a figure no page uses any more?)`);
  }
  return problems;
}

/** The results as JSON, two-space indented, with lists of numbers kept on one line. */
export function resultsJson(r: GuideResults): string {
  return (
    JSON.stringify(r, null, 2).replace(
      /\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g,
      (_, xs: string) => `[${xs.split(/,\s*/).join(', ')}]`,
    ) + '\n'
  );
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, text);
}

export function writeGuide(root: string): string[] {
  const { blocks, figures } = renderAll(root);
  const changed = writeBlocks(root, blocks);
  for (const f of figures) {
    const path = join(root, f.file);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== f.svg) {
      writeAtomic(path, f.svg);
      changed.push(f.file);
    }
  }
  return changed;
}

async function main(argv: string[]): Promise<number> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const known = /^--(check|measure|only=.+|out=.+)$/;
  const unknown = argv.filter((a) => !known.test(a));
  if (unknown.length) {
    console.error(
      `kernel-guide: unknown argument ${unknown.join(' ')} (usage: kernel-guide.ts [--check | --measure [--only=CASE] [--out=FILE]])`,
    );
    return 2;
  }
  if (argv.includes('--measure')) {
    const only = argv.find((a) => a.startsWith('--only='))?.slice(7);
    const outArg = argv.find((a) => a.startsWith('--out='))?.slice(6);
    const { measure } = await import('./kernel-guide-measure.ts');
    const results = await measure({ root, only });
    const path = outArg ? resolve(outArg) : join(root, RESULTS_FILE);
    writeAtomic(path, resultsJson(results));
    console.log(
      `kernel-guide: wrote ${relative(root, path)} (${results.wallSeconds} s, load average ${results.loadavg.start[0]} → ${results.loadavg.end[0]})`,
    );
    if (only || outArg) return 0;
  }
  if (argv.includes('--check')) {
    const problems = checkGuide(root);
    for (const p of problems) console.error(p);
    if (!problems.length) console.log('kernel-guide: every block and figure is up to date');
    return problems.length ? 1 : 0;
  }
  const changed = writeGuide(root);
  console.log(
    changed.length ? `kernel-guide: rewrote ${changed.join(', ')}` : 'kernel-guide: everything already up to date',
  );
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error((e as Error)?.stack ?? String(e));
      process.exit(1);
    },
  );
}
