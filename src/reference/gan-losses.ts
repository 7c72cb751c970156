/**
 * float64 references for the adversarial losses of src/gan/losses.ts (the formulas are written there), from D's
 * raw outputs on real images `r`, on fakes `f`, with real target `t`.
 */
export type GanLossKind = 'bce' | 'lsgan' | 'hinge' | 'rahinge';

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/** Mean of f(x_i) over the batch. */
function meanOf(x: ArrayLike<number>, f: (v: number) => number): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += f(x[i]);
  return s / x.length;
}

/** −t·log σ(x) − (1 − t)·log(1 − σ(x)), written stably as max(x, 0) − x·t + log(1 + e^(−|x|)). */
function bce(x: number, t: number): number {
  return Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
}

const relu = (v: number) => Math.max(0, v);

export function discriminatorLoss(kind: GanLossKind, r: ArrayLike<number>, f: ArrayLike<number>, t = 1): number {
  switch (kind) {
    case 'bce':
      return meanOf(r, (v) => bce(v, t)) + meanOf(f, (v) => bce(v, 0));
    case 'lsgan':
      return 0.5 * meanOf(r, (v) => (v - t) ** 2) + 0.5 * meanOf(f, (v) => v * v);
    case 'hinge':
      return meanOf(r, (v) => relu(1 - v)) + meanOf(f, (v) => relu(1 + v));
    case 'rahinge': {
      const mr = mean(r);
      const mf = mean(f);
      return meanOf(r, (v) => relu(1 - (v - mf))) + meanOf(f, (v) => relu(1 + (v - mr)));
    }
  }
}

export function generatorLoss(kind: GanLossKind, f: ArrayLike<number>, r: ArrayLike<number> = []): number {
  switch (kind) {
    case 'bce':
      return meanOf(f, (v) => bce(v, 1));
    case 'lsgan':
      return 0.5 * meanOf(f, (v) => (v - 1) ** 2);
    case 'hinge':
      return -mean(f);
    case 'rahinge': {
      const mr = mean(r);
      const mf = mean(f);
      return meanOf(r, (v) => relu(1 + (v - mf))) + meanOf(f, (v) => relu(1 - (v - mr)));
    }
  }
}
