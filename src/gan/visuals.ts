/**
 * Pictures of a GAN run, shared by the CLI (written as PNG) and the browser app (drawn on a canvas):
 * the training images, the fixed-z sample grid, the latent interpolation strip and the loss curves.
 */
import type { Dataset } from '../data/dataset.ts';
import { makeGrid, type RgbaImage } from '../io/image.ts';
import { plotLines } from '../io/plot.ts';
import type { GanTrainer, StepStats } from './trainer.ts';

/**
 * The data's first `n` images (all of them when it has fewer), tiled as sampleGrid tiles the samples: what the
 * model is given — a folder's images cropped, resized and composited over white as training reads them — and so
 * what its samples should come to look like.
 */
export function realGrid(data: Dataset, n = 64, nrow = 8): RgbaImage {
  const count = Math.min(n, data.n);
  const plane = data.c * data.h * data.w;
  const images = data.images.subarray(0, count * plane);
  return makeGrid(images, count, data.c, data.h, data.w, { nrow, padding: 2, range: [-1, 1] });
}

/** G(z) in eval mode for the trainer's fixed latent batch, tiled `nrow` per row. */
export async function sampleGrid(
  trainer: GanTrainer,
  n = 64,
  nrow = 8,
  check: (values: Float32Array) => void = () => {},
): Promise<RgbaImage> {
  const z = trainer.fixedLatent(n);
  const images = trainer.generate(z);
  z.dispose();
  const data = await images.toArray();
  images.dispose();
  check(data);
  const { channels, size } = trainer.spec;
  return makeGrid(data, n, channels, size, size, { nrow, padding: 2, range: [-1, 1] });
}

/**
 * A row of `n` samples (the fixed z) per scale the generator draws, coarsest first, each scale upsampled to the
 * model's size: MSG-GAN's 4×4 … size×size outputs side by side (one row for the other kinds).
 */
export async function scaleGrid(
  trainer: GanTrainer,
  n = 8,
  check: (values: Float32Array) => void = () => {},
): Promise<RgbaImage> {
  const z = trainer.fixedLatent(n);
  const scales = trainer.generateScales(z);
  z.dispose();
  const { channels, size } = trainer.spec;
  const per = n * channels * size * size;
  const all = new Float32Array(scales.length * per);
  for (const [i, x] of scales.entries()) {
    all.set(await x.toArray(), i * per);
    x.dispose();
  }
  check(all);
  return makeGrid(all, scales.length * n, channels, size, size, { nrow: n, padding: 2, range: [-1, 1] });
}

/** One row of images along a spherical path between two latent points. */
export async function interpolationStrip(
  trainer: GanTrainer,
  steps = 10,
  rows = 4,
  check: (values: Float32Array) => void = () => {},
): Promise<RgbaImage> {
  const parts: Float32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const z = await trainer.interpolationLatents(steps, 2 * r + 1, 2 * r + 2);
    const images = trainer.generate(z);
    z.dispose();
    parts.push(await images.toArray());
    images.dispose();
  }
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  check(all);
  const { channels, size } = trainer.spec;
  return makeGrid(all, steps * rows, channels, size, size, { nrow: steps, padding: 2, range: [-1, 1] });
}

/** D and G loss per step, smoothed, as a chart. Skipped steps (NaN) leave gaps. */
export function lossChart(history: readonly StepStats[], opts: { width?: number; height?: number } = {}): RgbaImage {
  const x = history.map((h) => h.step);
  return plotLines(
    [
      { name: 'D loss', values: history.map((h) => h.lossD), x },
      { name: 'G loss', values: history.map((h) => h.lossG), x },
    ],
    {
      width: opts.width ?? 800,
      height: opts.height ?? 400,
      title: 'GAN losses',
      xLabel: 'step',
      smoothing: Math.max(1, Math.min(50, Math.floor(history.length / 20))),
    },
  );
}

/** One score along a run (a line of eval.jsonl, written by `train --eval-every`). */
export interface EvalPoint {
  step: number;
  fd: number;
  fdRealVsRealBaseline: number;
  coverage: number;
  /** How many classes the scoring classifier knows (coverage is out of these); absent in logs written before it was kept. */
  classes?: number;
  confidentRate: number;
  /** In runs with a weight average (`fd` is then the average's): the trained generator's Fréchet distance. */
  fdTrainedG?: number;
}

/**
 * Fréchet distance along the run beside its real-vs-real baseline (and, where the run averages G's weights, the
 * trained G's distance beside the average's; points scored before the average began leave a gap).
 */
export function fdChart(points: readonly EvalPoint[]): RgbaImage {
  const x = points.map((p) => p.step);
  const averaged = points.some((p) => p.fdTrainedG !== undefined);
  const series = [
    // the plot font is ASCII
    {
      name: averaged ? 'Frechet distance, G average' : 'Frechet distance',
      values: points.map((p) => (averaged && p.fdTrainedG === undefined ? NaN : p.fd)),
      x,
    },
    ...(averaged ? [{ name: 'Frechet distance, trained G', values: points.map((p) => p.fdTrainedG ?? p.fd), x }] : []),
    { name: 'real-vs-real', values: points.map((p) => p.fdRealVsRealBaseline), x },
  ];
  return plotLines(series, { width: 800, height: 400, title: 'Sample quality (classifier features)', xLabel: 'step' });
}
