/**
 * Procedurally generated content and style images, so tests and the README demo need no image files taken from
 * elsewhere. Both are deterministic functions of their size (and seed).
 *  - geometricScene: a simple landscape — sky gradient, sun, two mountain ridges, a house with a roof, a lake.
 *  - brushTexture: many short curved, coloured strokes at similar angles over a tinted canvas, a stand-in for a
 *    painting's brushwork.
 *  - stripeTexture: wavy diagonal bands in a small palette.
 */
import type { RgbaImage } from '../io/image.ts';
import { Rng } from '../data/dataset.ts';

type Rgb = [number, number, number];

function canvas(width: number, height: number, fill: (x: number, y: number) => Rgb): RgbaImage {
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = fill(x, y);
      const i = (y * width + x) * 4;
      rgba[i] = r;
      rgba[i + 1] = g;
      rgba[i + 2] = b;
      rgba[i + 3] = 255;
    }
  }
  return { width, height, rgba };
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
];

/** A landscape of flat shapes with clear edges: what content loss should preserve. */
export function geometricScene(size: number): RgbaImage {
  const s = size;
  return canvas(s, s, (px, py) => {
    const x = px / s;
    const y = py / s;
    // Sky, light at the horizon.
    let c: Rgb = mix([70, 120, 200], [230, 200, 170], Math.min(1, y / 0.55));
    // Sun.
    if ((x - 0.75) ** 2 + (y - 0.2) ** 2 < 0.09 ** 2) c = [250, 210, 80];
    // Far ridge and near ridge.
    const far = 0.42 + 0.08 * Math.sin(x * 9) + 0.04 * Math.sin(x * 23 + 1);
    if (y > far) c = mix([90, 100, 140], [70, 80, 110], (y - far) * 4);
    const near = 0.55 + 0.06 * Math.sin(x * 5 + 2);
    if (y > near) c = mix([60, 130, 60], [40, 90, 40], Math.min(1, (y - near) * 3));
    // Lake in the lower left.
    if ((x - 0.25) ** 2 / 0.04 + (y - 0.82) ** 2 / 0.008 < 1)
      c = mix([60, 110, 190], [140, 180, 230], Math.abs(Math.sin(y * 120)) * 0.4);
    // House: walls, door, window, roof.
    if (x > 0.55 && x < 0.8 && y > 0.6 && y < 0.82) {
      c = [200, 170, 130];
      if (x > 0.64 && x < 0.7 && y > 0.7) c = [110, 70, 40];
      if (x > 0.73 && x < 0.77 && y > 0.65 && y < 0.7) c = [150, 200, 240];
    }
    if (y <= 0.6 && y > 0.6 - (0.135 - Math.abs(x - 0.675)) * 0.9 && Math.abs(x - 0.675) < 0.135) c = [170, 50, 40];
    return c;
  });
}

/** Brush-stroke texture: the kind of local colour/orientation statistics style loss should pick up. */
export function brushTexture(size: number, seed = 7): RgbaImage {
  const rng = new Rng(seed);
  const next = () => rng.float();
  const palette: Rgb[] = [
    [30, 60, 140],
    [240, 200, 60],
    [220, 90, 40],
    [20, 120, 130],
    [245, 240, 220],
    [60, 30, 80],
  ];
  const buf = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) buf.set([40, 50, 90], i * 3);
  const strokes = Math.round((size * size) / 40);
  for (let k = 0; k < strokes; k++) {
    const color = palette[Math.floor(next() * palette.length)];
    let x = next() * size;
    let y = next() * size;
    // Strokes mostly lean one way, with a swirl that depends on position.
    let angle = 0.6 + (next() - 0.5) * 0.8 + Math.sin((y / size) * 6) * 0.5;
    const length = size * (0.04 + next() * 0.08);
    const width = Math.max(1, size * (0.006 + next() * 0.01));
    const curve = (next() - 0.5) * 0.15;
    for (let t = 0; t < length; t += 0.5) {
      x += Math.cos(angle) * 0.5;
      y += Math.sin(angle) * 0.5;
      angle += (curve * 0.5) / width;
      const shade = 0.8 + 0.2 * Math.sin(t * 0.7);
      for (let dy = -width; dy <= width; dy++) {
        for (let dx = -width; dx <= width; dx++) {
          if (dx * dx + dy * dy > width * width) continue;
          const px = Math.floor(x + dx);
          const py = Math.floor(y + dy);
          if (px < 0 || py < 0 || px >= size || py >= size) continue;
          const i = (py * size + px) * 3;
          for (let c = 0; c < 3; c++) buf[i + c] = buf[i + c] * 0.3 + color[c] * shade * 0.7;
        }
      }
    }
  }
  return canvas(size, size, (x, y) => {
    const i = (y * size + x) * 3;
    return [buf[i], buf[i + 1], buf[i + 2]];
  });
}

/** Wavy diagonal stripes in four colours. */
export function stripeTexture(size: number): RgbaImage {
  const palette: Rgb[] = [
    [20, 20, 30],
    [230, 180, 40],
    [200, 40, 60],
    [240, 240, 230],
  ];
  return canvas(size, size, (x, y) => {
    const u = (x + y + 6 * Math.sin((y / size) * 20)) / (size / 12);
    return palette[((Math.floor(u) % 4) + 4) % 4];
  });
}
