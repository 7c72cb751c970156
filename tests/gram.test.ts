import { describe, it, expect } from 'vitest';
import { Tensor, tidy } from '../src/tensor/index.ts';
import { gram } from '../src/tensor/gram.ts';
import { useEngine, checkOp, randomArray, expectClose } from './helpers.ts';
import * as R from '../src/reference/gram.ts';

useEngine();

const SHAPES: [number, number, number, number][] = [
  [1, 3, 4, 5], // batch 1, C not a multiple of 4
  [2, 5, 3, 7], // odd everything
  [3, 17, 2, 2], // C > 16: several matmul tiles
];

describe('gram', () => {
  for (const shape of SHAPES) {
    for (const normalize of ['hw', 'chw', 'none'] as const) {
      it(`forward + gradient ${shape} normalize=${normalize}`, async () => {
        await checkOp({
          shapes: [shape],
          gpu: ([f]) => gram(f, { normalize }),
          ref: ([f]) => R.gram(f, shape, normalize),
        });
      });
    }
  }

  it('is symmetric and defaults to dividing by H·W', async () => {
    const shape = [2, 6, 5, 5] as const;
    const data = randomArray(2 * 6 * 25, 4);
    const g = await tidy(() => gram(Tensor.fromArray(Float32Array.from(data), shape))).toArray();
    expectClose(g, R.gram(data, shape, 'hw'), 1e-5);
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 6; j++) {
          expect(Math.abs(g[(n * 6 + i) * 6 + j] - g[(n * 6 + j) * 6 + i])).toBeLessThan(1e-6);
        }
  });

  it('rejects features that are not 4-D and unknown normalisations', () => {
    tidy(() => {
      expect(() => gram(Tensor.zeros([3, 4, 4]))).toThrow(
        /gram: features must be 4-D \[N, C, H, W\], got shape \[3, 4, 4\]/,
      );
      expect(() => gram(Tensor.zeros([1, 3, 4, 4]), { normalize: 'c' as never })).toThrow(
        /normalize must be 'hw', 'chw' or 'none', got "c"/,
      );
    });
  });
});
