/**
 * Line charts drawn straight into an RGBA buffer — loss curves for the GAN and style transfer, without a
 * plotting library or a canvas. Axes get "nice" ticks (1, 2, 5 x 10^k) labelled with the built-in 5x7 font,
 * and a legend names each series.
 *
 * Non-finite points (NaN, ±Inf) are skipped: the line breaks there, and a point with no finite neighbour is
 * drawn as a dot, so a single-point series is still visible.
 */
import { drawText, GLYPH_HEIGHT, textWidth } from './font.ts';
import type { RgbaImage } from './image.ts';

export type Rgb = readonly [number, number, number];

export interface PlotSeries {
  name: string;
  values: ArrayLike<number>;
  /** x coordinate of each value; default 0, 1, 2, ... (e.g. the iteration). */
  x?: ArrayLike<number>;
  /** Line colour; default from a 10-colour palette in series order. */
  color?: Rgb;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Trailing moving-average window in points; above 1, the raw series is drawn faint behind the smoothed
   *  one. Default 1 (no smoothing). */
  smoothing?: number;
  /** Line thickness in pixels (default 2). */
  lineWidth?: number;
  /** Font cell size in pixels (default 2 for charts at least 480 wide, else 1). */
  fontScale?: number;
  /** Fixed y-axis range instead of fitting the data. */
  yRange?: readonly [number, number];
}

/** Distinguishable line colours (matplotlib's "tab10"). */
export const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [228, 228, 228];
const AXIS: Rgb = [90, 90, 90];

/** Trailing moving average over the last `window` points, ignoring non-finite ones; a non-finite point stays
 *  NaN so gaps remain gaps. */
export function movingAverage(values: ArrayLike<number>, window: number): Float64Array {
  if (!Number.isInteger(window) || window < 1)
    throw new Error(`movingAverage: window must be a positive integer, got ${window}`);
  const out = new Float64Array(values.length);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      sum += v;
      count++;
    }
    if (i >= window) {
      const old = values[i - window]!;
      if (Number.isFinite(old)) {
        sum -= old;
        count--;
      }
    }
    out[i] = Number.isFinite(v) && count > 0 ? sum / count : NaN;
  }
  return out;
}

/** Round tick positions covering [lo, hi], about `target` of them, at a step of 1, 2 or 5 x 10^k. */
export function niceTicks(lo: number, hi: number, target = 5, minStep = 0): { ticks: number[]; step: number } {
  const raw = (hi - lo) / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  let step = (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude;
  if (step < minStep) step = minStep;
  const ticks: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let k = first; k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return { ticks, step };
}

/**
 * The x range drawn for data spanning [lo, hi]. A range of one value (a chart of one point, or of points all at the
 * same x) is centred on it: ± ½ on an integer axis, so its only tick is that value (a chart of step 1 reads "1", not
 * 0–2); otherwise ± a tenth of the value (± 1 at 0), as the y axis does.
 */
export function xAxisRange(lo: number, hi: number, integer: boolean): [number, number] {
  if (hi > lo) return [lo, hi];
  const pad = integer ? 0.5 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return [lo - pad, hi + pad];
}

/** Short label for a tick at a given step: fixed point with just enough decimals, exponent form when huge or
 *  tiny (written like "1.5e-4", which the font can draw). */
export function formatTick(value: number, step: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) {
    const digits = Math.max(0, Math.min(4, Math.floor(Math.log10(magnitude)) - Math.floor(Math.log10(step))));
    const [mantissa, exponent] = value.toExponential(digits).split('e') as [string, string];
    const trimmed = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
    return `${trimmed}e${exponent.replace('+', '')}`;
  }
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return value.toFixed(decimals);
}

/** Drawing surface with a clip rectangle, so lines never spill over the axes. */
class Surface {
  clip = { left: 0, top: 0, right: 0, bottom: 0 };
  /** When set, every pixel drawn is flagged here (used to place the legend where it hides the least). */
  inked: Uint8Array | null = null;
  constructor(readonly image: RgbaImage) {
    this.clip = { left: 0, top: 0, right: image.width, bottom: image.height };
  }

  /** Blends `color` over pixel (x, y) with opacity `alpha` (0..1). */
  plot(x: number, y: number, color: Rgb, alpha = 1): void {
    const { clip } = this;
    if (x < clip.left || x >= clip.right || y < clip.top || y >= clip.bottom) return;
    if (this.inked) this.inked[y * this.image.width + x] = 1;
    const i = (y * this.image.width + x) * 4;
    const rgba = this.image.rgba;
    rgba[i] = rgba[i]! + (color[0] - rgba[i]!) * alpha;
    rgba[i + 1] = rgba[i + 1]! + (color[1] - rgba[i + 1]!) * alpha;
    rgba[i + 2] = rgba[i + 2]! + (color[2] - rgba[i + 2]!) * alpha;
    rgba[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
    for (let py = y; py < y + h; py++) for (let px = x; px < x + w; px++) this.plot(px, py, color, alpha);
  }

  /** Square brush of side `thickness` centred on (x, y); `stamped` avoids blending a faint line twice. */
  private brush(x: number, y: number, thickness: number, color: Rgb, alpha: number, stamped: Set<number>): void {
    const offset = Math.floor((thickness - 1) / 2);
    for (let dy = 0; dy < thickness; dy++) {
      for (let dx = 0; dx < thickness; dx++) {
        const px = x - offset + dx;
        const py = y - offset + dy;
        const key = py * this.image.width + px;
        if (alpha < 1) {
          if (stamped.has(key)) continue;
          stamped.add(key);
        }
        this.plot(px, py, color, alpha);
      }
    }
  }

  /** Bresenham line between integer points. */
  line(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: Rgb,
    thickness = 1,
    alpha = 1,
    stamped = new Set<number>(),
  ): void {
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    let x = x0;
    let y = y0;
    for (;;) {
      this.brush(x, y, thickness, color, alpha, stamped);
      if (x === x1 && y === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
      }
    }
  }
}

/** Draws line charts of one or more series into a fresh RGBA image. */
export function plotLines(series: readonly PlotSeries[], options: PlotOptions = {}): RgbaImage {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const smoothing = options.smoothing ?? 1;
  const lineWidth = options.lineWidth ?? 2;
  const scale = options.fontScale ?? (width >= 480 ? 2 : 1);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 64 || height < 48) {
    throw new Error(`plotLines: size must be integers of at least 64x48, got ${width}x${height}`);
  }
  if (!Number.isInteger(smoothing) || smoothing < 1)
    throw new Error(`plotLines: smoothing must be a positive integer window, got ${smoothing}`);
  series.forEach((s, k) => {
    if (s.x && s.x.length !== s.values.length) {
      throw new Error(
        `plotLines: series "${s.name}" (${k}) has ${s.values.length} values but ${s.x.length} x coordinates`,
      );
    }
  });

  const rgba = new Uint8ClampedArray(width * height * 4);
  const image: RgbaImage = { width, height, rgba };
  const surface = new Surface(image);
  surface.fillRect(0, 0, width, height, BACKGROUND);

  const xOf = (s: PlotSeries, i: number) => (s.x ? s.x[i]! : i);

  // Data bounds over finite points (x and y both finite).
  let xMin = Infinity,
    xMax = -Infinity,
    yMin = Infinity,
    yMax = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.values.length; i++) {
      const x = xOf(s, i);
      const y = s.values[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      xMin = Math.min(xMin, x);
      xMax = Math.max(xMax, x);
      yMin = Math.min(yMin, y);
      yMax = Math.max(yMax, y);
    }
  }
  const hasData = xMin <= xMax;
  if (!hasData) {
    xMin = 0;
    xMax = 1;
    yMin = 0;
    yMax = 1;
  }
  if (options.yRange) [yMin, yMax] = options.yRange;
  if (!(yMax > yMin)) {
    const pad = yMin === 0 ? 1 : Math.abs(yMin) * 0.1; // one value: centre it
    yMin -= pad;
    yMax += pad;
  } else if (!options.yRange) {
    const pad = (yMax - yMin) * 0.05;
    yMin -= pad;
    yMax += pad;
  }
  const integerX = series.every(
    (s) => !s.x || Array.prototype.every.call(s.x, (v: number) => Number.isInteger(v) || !Number.isFinite(v)),
  );
  [xMin, xMax] = xAxisRange(xMin, xMax, integerX);

  // Layout: room for the title and labels, y tick labels on the left, x tick labels below.
  const cell = GLYPH_HEIGHT * scale;
  const yTicks = niceTicks(yMin, yMax, Math.max(2, Math.round(height / 80)));
  const xTicks = niceTicks(xMin, xMax, Math.max(2, Math.round(width / 110)), integerX ? 1 : 0);
  const yLabels = yTicks.ticks.map((t) => formatTick(t, yTicks.step));
  const yLabelWidth = Math.max(0, ...yLabels.map((l) => textWidth(l, scale)));
  const gap = 3 * scale;
  const plotLeft = gap * 2 + yLabelWidth + 4;
  const plotTop = options.title || options.yLabel ? cell + gap * 3 : gap * 3;
  const plotRight = width - gap * 4;
  const plotBottom = height - (cell + gap * 3) - (options.xLabel ? cell + gap : 0);
  if (plotRight - plotLeft < 16 || plotBottom - plotTop < 16) {
    throw new Error(`plotLines: ${width}x${height} leaves no room for the plot area at font scale ${scale}`);
  }
  // A few pixels of inset keep points at the ends of the x range clear of the axis and the border.
  const inset = lineWidth + 2;
  const toPx = (x: number) =>
    Math.round(plotLeft + inset + ((x - xMin) / (xMax - xMin)) * (plotRight - 1 - plotLeft - 2 * inset));
  const toPy = (y: number) => Math.round(plotBottom - 1 - ((y - yMin) / (yMax - yMin)) * (plotBottom - 1 - plotTop));

  // Grid lines and tick labels.
  yTicks.ticks.forEach((t, k) => {
    const py = toPy(t);
    surface.line(plotLeft, py, plotRight - 1, py, GRID);
    surface.line(plotLeft - 4, py, plotLeft - 1, py, AXIS);
    drawText(image, yLabels[k]!, plotLeft - 5 - textWidth(yLabels[k]!, scale), py - Math.floor(cell / 2), INK, scale);
  });
  for (const t of xTicks.ticks) {
    const px = toPx(t);
    surface.line(px, plotTop, px, plotBottom - 1, GRID);
    surface.line(px, plotBottom, px, plotBottom + 3, AXIS);
    const label = formatTick(t, xTicks.step);
    const left = Math.min(width - textWidth(label, scale), Math.max(0, px - textWidth(label, scale) / 2));
    drawText(image, label, left, plotBottom + 5, INK, scale);
  }
  surface.line(plotLeft, plotTop, plotLeft, plotBottom, AXIS);
  surface.line(plotLeft, plotBottom, plotRight - 1, plotBottom, AXIS);

  if (options.title) drawText(image, options.title, (width - textWidth(options.title, scale)) / 2, gap, INK, scale);
  if (options.yLabel) drawText(image, options.yLabel, gap, gap, INK, scale);
  if (options.xLabel) {
    drawText(
      image,
      options.xLabel,
      (plotLeft + plotRight - textWidth(options.xLabel, scale)) / 2,
      height - cell - gap,
      INK,
      scale,
    );
  }

  // The series, clipped to the plot area.
  surface.clip = { left: plotLeft + 1, top: plotTop, right: plotRight, bottom: plotBottom };
  const inked = new Uint8Array(width * height);
  surface.inked = inked;
  const drawSeries = (s: PlotSeries, values: ArrayLike<number>, color: Rgb, thickness: number, alpha: number) => {
    const stamped = new Set<number>();
    const finiteAt = (i: number) =>
      i >= 0 && i < values.length && Number.isFinite(values[i]!) && Number.isFinite(xOf(s, i));
    for (let i = 0; i < values.length; i++) {
      if (!finiteAt(i)) continue;
      const px = toPx(xOf(s, i));
      const py = toPy(values[i]!);
      if (finiteAt(i + 1)) {
        surface.line(px, py, toPx(xOf(s, i + 1)), toPy(values[i + 1]!), color, thickness, alpha, stamped);
      } else if (!finiteAt(i - 1)) {
        surface.fillRect(px - thickness, py - thickness, thickness * 2 + 1, thickness * 2 + 1, color, alpha); // lone point
      }
    }
  };
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    if (smoothing > 1) {
      drawSeries(s, s.values, color, 1, 0.3);
      drawSeries(s, movingAverage(s.values, smoothing), color, lineWidth, 1);
    } else {
      drawSeries(s, s.values, color, lineWidth, 1);
    }
  });
  surface.clip = { left: 0, top: 0, right: width, bottom: height };
  surface.inked = null;

  // Legend: a swatch and the name of each series, in whichever corner of the plot area covers the fewest
  // drawn data pixels (top-right on ties).
  if (series.length > 0) {
    const swatch = 6 * scale;
    const rowHeight = cell + gap;
    const names = series.map((s) => s.name);
    const boxWidth = gap * 3 + swatch + Math.max(...names.map((n) => textWidth(n, scale)));
    const boxHeight = names.length * rowHeight + gap;
    const corners = [
      [plotRight - boxWidth - gap, plotTop + gap],
      [plotLeft + gap + 1, plotTop + gap],
      [plotRight - boxWidth - gap, plotBottom - boxHeight - gap],
      [plotLeft + gap + 1, plotBottom - boxHeight - gap],
    ] as const;
    const covered = ([left, top]: readonly [number, number]) => {
      let count = 0;
      for (let y = Math.max(0, top); y < Math.min(height, top + boxHeight); y++) {
        for (let x = Math.max(0, left); x < Math.min(width, left + boxWidth); x++) count += inked[y * width + x]!;
      }
      return count;
    };
    let best = corners[0];
    let bestCovered = covered(best);
    for (const corner of corners.slice(1)) {
      const c = covered(corner);
      if (c < bestCovered) [best, bestCovered] = [corner, c];
    }
    const [boxLeft, boxTop] = best;
    surface.fillRect(boxLeft, boxTop, boxWidth, boxHeight, BACKGROUND);
    surface.line(boxLeft, boxTop, boxLeft + boxWidth - 1, boxTop, GRID);
    surface.line(boxLeft, boxTop + boxHeight - 1, boxLeft + boxWidth - 1, boxTop + boxHeight - 1, GRID);
    surface.line(boxLeft, boxTop, boxLeft, boxTop + boxHeight - 1, GRID);
    surface.line(boxLeft + boxWidth - 1, boxTop, boxLeft + boxWidth - 1, boxTop + boxHeight - 1, GRID);
    series.forEach((s, k) => {
      const color = s.color ?? PALETTE[k % PALETTE.length]!;
      const top = boxTop + gap + k * rowHeight;
      surface.fillRect(boxLeft + gap, top + Math.floor(cell / 2) - lineWidth, swatch, lineWidth * 2, color);
      drawText(image, s.name, boxLeft + gap * 2 + swatch, top, INK, scale);
    });
  }
  return image;
}
