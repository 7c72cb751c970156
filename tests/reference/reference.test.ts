/**
 * Checks of the float64 references in src/reference/ that no kernel test checks by finite differences: the
 * kernel explorer's unary table (function and derivative), its binary table, and gram's gradient. Each against
 * values computed by hand and against central differences of the reference's own forward. CPU only.
 */
import { describe, it, expect } from 'vitest';
import { UNARY, BINARY } from '../../src/reference/elementwise.ts';
import { gram, gramGrad } from '../../src/reference/gram.ts';

const central = (f: (x: number) => number, x: number, h = 1e-6) => (f(x + h) - f(x - h)) / (2 * h);

describe("UNARY (the explorer's unary functions and their derivatives)", () => {
  it('gives the hand-computed values', () => {
    expect(UNARY.relu.f(-2)).toBe(0);
    expect(UNARY.relu.f(3)).toBe(3);
    expect(UNARY.tanh.f(0)).toBe(0);
    expect(UNARY.tanh.f(1)).toBeCloseTo((Math.E - 1 / Math.E) / (Math.E + 1 / Math.E), 15);
    expect(UNARY.sigmoid.f(0)).toBe(0.5);
    expect(UNARY.sigmoid.f(Math.log(3))).toBeCloseTo(0.75, 15); // 1 / (1 + 1/3)
    expect(UNARY.exp.f(1)).toBe(Math.E);
    expect(UNARY.abs.f(-2.5)).toBe(2.5);
    expect(UNARY.square.f(-3)).toBe(9);
    expect(UNARY.relu.df(-1)).toBe(0);
    expect(UNARY.relu.df(2)).toBe(1);
    expect(UNARY.tanh.df(0)).toBe(1);
    expect(UNARY.sigmoid.df(0)).toBe(0.25);
    expect(UNARY.abs.df(-2)).toBe(-1);
    expect(UNARY.square.df(-3)).toBe(-6);
  });

  it('has derivatives that match central differences of the functions (away from kinks)', () => {
    for (const [name, { f, df }] of Object.entries(UNARY)) {
      for (const x of [-2.7, -0.8, -0.05, 0.3, 1.1, 2.9]) {
        expect(Math.abs(df(x) - central(f, x)), `${name}'(${x})`).toBeLessThan(1e-7 * Math.max(1, Math.abs(df(x))));
      }
    }
  });
});

describe("BINARY (the explorer's binary functions)", () => {
  it('gives the hand-computed values', () => {
    expect([BINARY.add(2, -5), BINARY.sub(2, -5), BINARY.mul(2, -5), BINARY.div(2, -5), BINARY.maximum(2, -5)]).toEqual(
      [-3, 7, -10, -0.4, 2],
    );
    expect(Object.keys(BINARY)).toEqual(['add', 'sub', 'mul', 'div', 'maximum']);
  });
});

describe('gramGrad (the gradient of gram)', () => {
  it('gives the hand-computed values', () => {
    // F = [[1, 2], [3, 4]] as [1, 2, 1, 2], no normalization.
    const f = Float64Array.of(1, 2, 3, 4);
    // L = G[0,0] = 1² + 2²: dL/dF = [[2·1, 2·2], [0, 0]].
    expect(Array.from(gramGrad(f, [1, 2, 1, 2], Float64Array.of(1, 0, 0, 0), 'none'))).toEqual([2, 4, 0, 0]);
    // L = G[0,1] = 1·3 + 2·4: dL/dF row 0 = row 1 of F, row 1 = row 0 of F.
    expect(Array.from(gramGrad(f, [1, 2, 1, 2], Float64Array.of(0, 1, 0, 0), 'none'))).toEqual([3, 4, 1, 2]);
    // 'hw' divides by H·W = 2, 'chw' by C·H·W = 4.
    expect(Array.from(gramGrad(f, [1, 2, 1, 2], Float64Array.of(0, 1, 0, 0), 'hw'))).toEqual([1.5, 2, 0.5, 1]);
    expect(Array.from(gramGrad(f, [1, 2, 1, 2], Float64Array.of(0, 1, 0, 0), 'chw'))).toEqual([0.75, 1, 0.25, 0.5]);
  });

  it('matches central differences of gram for L = Σ dG ⊙ G', () => {
    const shape = [2, 3, 2, 3];
    const n = 2 * 3 * 2 * 3;
    const f = Float64Array.from({ length: n }, (_, i) => Math.sin(1.3 * i + 0.2));
    const dG = Float64Array.from({ length: 2 * 3 * 3 }, (_, i) => Math.cos(0.7 * i - 0.4)); // not symmetric
    for (const normalize of ['hw', 'chw', 'none'] as const) {
      const loss = (x: Float64Array) => gram(x, shape, normalize).reduce((s, g, i) => s + g * dG[i], 0);
      const got = gramGrad(f, shape, dG, normalize);
      for (let i = 0; i < n; i++) {
        const at = (v: number) => {
          const x = Float64Array.from(f);
          x[i] = v;
          return loss(x);
        };
        expect(Math.abs(got[i] - central(at, f[i])), `${normalize}, element ${i}`).toBeLessThan(1e-8);
      }
    }
  });
});
