import { describe, expect, it } from 'vitest';
import { formatTick, movingAverage, niceTicks, plotLines, xAxisRange, type Rgb } from '../src/io/plot.ts';
import { drawText, textWidth } from '../src/io/font.ts';
import type { RgbaImage } from '../src/io/image.ts';

const RED: Rgb = [220, 0, 0];
const GREEN: Rgb = [0, 170, 0];
const BLUE: Rgb = [0, 0, 230];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [228, 228, 228];
const AXIS: Rgb = [90, 90, 90];

function isColor(image: RgbaImage, x: number, y: number, c: Rgb): boolean {
  const i = (y * image.width + x) * 4;
  return image.rgba[i] === c[0] && image.rgba[i + 1] === c[1] && image.rgba[i + 2] === c[2];
}

/** Pixels of exactly colour `c`, as [x, y] pairs. */
function pixelsOf(image: RgbaImage, c: Rgb): [number, number][] {
  const found: [number, number][] = [];
  for (let y = 0; y < image.height; y++)
    for (let x = 0; x < image.width; x++) if (isColor(image, x, y, c)) found.push([x, y]);
  return found;
}

/** Rows where colour `c` fills at least `minRun` pixels (a long horizontal line, not a legend swatch). */
function lineRows(image: RgbaImage, c: Rgb, minRun: number): number[] {
  const rows: number[] = [];
  for (let y = 0; y < image.height; y++) {
    let count = 0;
    for (let x = 0; x < image.width; x++) if (isColor(image, x, y, c)) count++;
    if (count >= minRun) rows.push(y);
  }
  return rows;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('plot helpers', () => {
  it('moving average skips non-finite values and keeps their gaps', () => {
    const smoothed = movingAverage([1, 2, 3, NaN, 5, Infinity, 7], 3);
    expect(smoothed[0]).toBe(1);
    expect(smoothed[1]).toBe(1.5);
    expect(smoothed[2]).toBe(2);
    expect(Number.isNaN(smoothed[3])).toBe(true);
    expect(smoothed[4]).toBe(4); // window {3, NaN, 5}
    expect(Number.isNaN(smoothed[5])).toBe(true);
    expect(smoothed[6]).toBe(6); // window {5, Inf, 7}
    expect(() => movingAverage([1], 0)).toThrow(/window must be a positive integer/);
  });

  it('nice ticks and labels', () => {
    expect(niceTicks(0, 10, 5)).toEqual({ ticks: [0, 2, 4, 6, 8, 10], step: 2 });
    expect(niceTicks(0.33, 1.71, 5).ticks).toEqual([0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6]);
    expect(niceTicks(0, 3, 10, 1).ticks).toEqual([0, 1, 2, 3]); // integer x axis
    expect(formatTick(0.5, 0.5)).toBe('0.5');
    expect(formatTick(1, 0.25)).toBe('1.0');
    expect(formatTick(300, 100)).toBe('300');
    expect(formatTick(1.5e-4, 5e-5)).toBe('1.5e-4');
    expect(formatTick(2e6, 1e6)).toBe('2e6');
    expect(formatTick(0, 0.1)).toBe('0');
  });

  it('draws glyphs from the 5x7 font', () => {
    const image: RgbaImage = { width: 12, height: 8, rgba: new Uint8ClampedArray(12 * 8 * 4) };
    drawText(image, '1-', 0, 0, [255, 255, 255]);
    const ink = (x: number, y: number) => image.rgba[(y * 12 + x) * 4] === 255;
    // '1': centre column for rows 0..6, with a three-wide foot on the last row.
    for (let y = 0; y < 7; y++) expect(ink(2, y)).toBe(true);
    expect([ink(1, 6), ink(3, 6), ink(0, 6), ink(4, 6)]).toEqual([true, true, false, false]);
    // '-' (starting at x = 6): three pixels on row 3 only.
    expect([7, 8, 9].map((x) => ink(x, 3))).toEqual([true, true, true]);
    expect(ink(7, 2) || ink(6, 3) || ink(10, 3)).toBe(false);
    expect(textWidth('ab', 2)).toBe(22);
  });
});

describe('plotLines', () => {
  it('puts flat series on evenly spaced rows, across the plot width', () => {
    const n = 50;
    const flat = (v: number) => new Array(n).fill(v);
    const image = plotLines(
      [
        { name: 'two', values: flat(2), color: RED },
        { name: 'four', values: flat(4), color: GREEN },
        { name: 'six', values: flat(6), color: BLUE },
      ],
      { width: 400, height: 300, yRange: [0, 10], lineWidth: 2 },
    );
    expect([image.width, image.height, image.rgba.length]).toEqual([400, 300, 400 * 300 * 4]);
    const rows = [RED, GREEN, BLUE].map((c) => lineRows(image, c, 250));
    for (const r of rows) expect(r.length).toBe(2); // a 2-pixel-thick line
    const [red, green, blue] = rows.map(mean) as [number, number, number];
    expect(red).toBeGreaterThan(green); // larger values are higher up (smaller row)
    expect(green).toBeGreaterThan(blue);
    expect(Math.abs(red - green - (green - blue))).toBeLessThanOrEqual(1);
    // yRange [0, 10] spans the plot area: its ticks (step 2) put grid lines at 10 (the top row of the plot area)
    // and 0 (the row above the x axis); those at 2, 4 and 6 lie under the series.
    const grid = lineRows(image, GRID, 250);
    const [top, bottom] = [Math.min(...grid), Math.max(...grid)];
    const [xAxis] = lineRows(image, AXIS, 250);
    const axisColumn = [...Array(image.width).keys()].find((x) => isColor(image, x, xAxis!, AXIS))!;
    const yAxisTop = [...Array(image.height).keys()].find((y) => isColor(image, axisColumn, y, AXIS));
    expect([top, bottom]).toEqual([yAxisTop, xAxis! - 1]);
    const perUnit = (bottom - top) / 10;
    expect(perUnit).toBeGreaterThan(20);
    expect(Math.abs((red - blue) / 4 - perUnit)).toBeLessThanOrEqual(1);
    // the value-2 line sits 8 units below the value-10 grid line (within a pixel: rounding and the line's thickness)
    expect(Math.abs(red - (top + 8 * perUnit))).toBeLessThanOrEqual(1);
  });

  it('draws a rising line that rises, and moves the legend out of its way', () => {
    const values = Array.from({ length: 20 }, (_, i) => i);
    const image = plotLines([{ name: 'rise', values, color: RED }], { width: 320, height: 240, lineWidth: 1 });
    const pixels = pixelsOf(image, RED).filter(([x]) => x > image.width / 2); // right half: no legend there
    expect(pixels.length).toBeGreaterThan(50);
    // Row decreases (goes up) as x increases: compare average row of the left and right quarter of the half.
    const sorted = [...pixels].sort((a, b) => a[0] - b[0]);
    const quarter = Math.floor(sorted.length / 4);
    expect(mean(sorted.slice(0, quarter).map((p) => p[1]))).toBeGreaterThan(
      mean(sorted.slice(-quarter).map((p) => p[1])) + 20,
    );
    // The legend (its swatch) sits in the top-left, where the line is not.
    const swatch = pixelsOf(image, RED).filter(([x, y]) => x < image.width / 3 && y < image.height / 3);
    expect(swatch.length).toBeGreaterThan(0);
  });

  it('renders legend text', () => {
    const values = [3, 1, 2];
    const named = plotLines([{ name: 'D loss', values, color: RED }], { width: 300, height: 200, fontScale: 1 });
    const unnamed = plotLines([{ name: '      ', values, color: RED }], { width: 300, height: 200, fontScale: 1 });
    let differing = 0;
    let inkDiffs = 0;
    for (let p = 0; p < named.width * named.height; p++) {
      const same = [0, 1, 2].every((ch) => named.rgba[p * 4 + ch] === unnamed.rgba[p * 4 + ch]);
      if (same) continue;
      differing++;
      if (isColor(named, p % named.width, Math.floor(p / named.width), INK)) inkDiffs++;
    }
    // Ink cells in the glyphs of "D loss": D 16, space 0, l 10, o 12, s 12, s 12 = 62.
    expect(inkDiffs).toBe(62);
    expect(differing).toBe(62);
  });

  it('skips NaN and Inf: breaks the line and ignores them for the axis range', () => {
    const values = [0, 1, 2, NaN, Infinity, 5, 6, -Infinity, 8];
    const image = plotLines([{ name: 's', values, color: BLUE }], { width: 400, height: 300, lineWidth: 1 });
    const pixels = pixelsOf(image, BLUE);
    const plotPixels = pixels.filter(([x, y]) => !(x > 250 && y < 80) && !(x < 150 && y < 80)); // drop the legend corners
    const ys = plotPixels.map((p) => p[1]);
    // Finite values 0..8 fill most of the height: Inf did not blow up the y range.
    expect(Math.max(...ys) - Math.min(...ys)).toBeGreaterThan(150);
    // Columns between x = 2 and x = 5 (where the NaN/Inf are) hold no line pixels: find the widest empty run.
    const columns = new Set(plotPixels.map((p) => p[0]));
    const xs = [...columns].sort((a, b) => a - b);
    let widestGap = 0;
    for (let i = 1; i < xs.length; i++) widestGap = Math.max(widestGap, xs[i]! - xs[i - 1]!);
    const span = xs[xs.length - 1]! - xs[0]!;
    expect(widestGap).toBeGreaterThan(span * (3 / 8) * 0.9); // the 2 -> 5 step is 3/8 of the x range
    // The pixels are all valid RGBA: no NaN turned into garbage, alpha everywhere opaque.
    for (let p = 3; p < image.rgba.length; p += 4)
      if (image.rgba[p] !== 255) throw new Error(`alpha ${image.rgba[p]} at ${p}`);
  });

  it('draws a single point as a dot', () => {
    const image = plotLines([{ name: 'one', values: [5], color: GREEN }], {
      width: 300,
      height: 200,
      lineWidth: 2,
      fontScale: 2,
    });
    const pixels = pixelsOf(image, GREEN);
    // A 5x5 dot (2 * lineWidth + 1) plus the legend swatch (6 * scale wide, 2 * lineWidth tall).
    expect(pixels.length).toBe(25 + 12 * 4);
    const dot = pixels.filter(([x, y]) => Math.abs(x - image.width / 2) < 40 && Math.abs(y - image.height / 2) < 40);
    expect(dot.length).toBe(25);
  });

  it('centres the x axis of a one-point chart on its step, with that step as its only tick', () => {
    expect(xAxisRange(7, 7, true)).toEqual([6.5, 7.5]);
    expect(niceTicks(6.5, 7.5, 6, 1).ticks).toEqual([7]);
    expect(xAxisRange(0, 0, true)).toEqual([-0.5, 0.5]); // the default x of one value: tick 0, no −1
    expect(xAxisRange(2.5, 2.5, false)).toEqual([2.25, 2.75]);
    expect(xAxisRange(0, 0, false)).toEqual([-1, 1]);
    expect(xAxisRange(3, 9, true)).toEqual([3, 9]); // a real range is left alone

    // Vertical grid lines: columns where the grid colour runs down most of the plot's height.
    const gridColumns = (image: RgbaImage) => {
      const cols: number[] = [];
      for (let x = 0; x < image.width; x++) {
        let count = 0;
        for (let y = 0; y < image.height; y++) if (isColor(image, x, y, GRID)) count++;
        if (count > image.height / 2) cols.push(x);
      }
      return cols;
    };
    const one = plotLines([{ name: 'D', values: [1.3], x: [7], color: GREEN }], { width: 400, height: 300 });
    const dot = pixelsOf(one, GREEN).filter(([, y]) => y > 60); // the dot, not the legend swatch (top corner)
    expect(dot.length).toBe(25);
    const dotX = mean(dot.map((p) => p[0]));
    expect(gridColumns(one)).toEqual([dotX]); // one tick, at the point
    // The same point at x = 7 beside a point at x = 9: ticks 7, 8, 9 (the axis was 6–8 for the point alone).
    const two = plotLines([{ name: 'D', values: [1.3, 1.4], x: [7, 9], color: GREEN }], { width: 400, height: 300 });
    expect(gridColumns(two).length).toBe(3);
  });

  it('smoothing draws a faint raw series behind a solid average', () => {
    const values = Array.from({ length: 100 }, (_, i) => (i % 2 ? 1 : 0));
    const image = plotLines([{ name: 'noisy', values, color: RED }], {
      width: 400,
      height: 300,
      smoothing: 10,
      yRange: [-1, 2],
    });
    // The average of alternating 0/1 is 0.5: a solid red line on one row band, across the plot.
    const rows = lineRows(image, RED, 250);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.length).toBeLessThanOrEqual(3);
    // The raw zig-zag is blended at 30%: pinkish pixels (red channel high, others about 255 * 0.7).
    let faint = 0;
    for (let p = 0; p < image.rgba.length; p += 4) {
      if (image.rgba[p]! > 230 && Math.abs(image.rgba[p + 1]! - 178) <= 2 && Math.abs(image.rgba[p + 2]! - 178) <= 2)
        faint++;
    }
    expect(faint).toBeGreaterThan(1000);
  });

  it('rejects bad options', () => {
    expect(() => plotLines([{ name: 'a', values: [1, 2], x: [0] }])).toThrow(
      /series "a" \(0\) has 2 values but 1 x coordinates/,
    );
    expect(() => plotLines([], { width: 10 })).toThrow(/at least 64x48/);
    expect(() => plotLines([], { smoothing: 0.5 })).toThrow(/smoothing must be a positive integer/);
  });
});
