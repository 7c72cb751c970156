import { describe, it, expect } from 'vitest';
import { Tensor, tidy } from '../src/tensor/index.ts';
import {
  GAN_LOSSES,
  discriminatorLoss,
  discriminatorLossJoint,
  generatorLoss,
  jointTargets,
  lossTakesRealLabel,
  type GanLossKind,
} from '../src/gan/losses.ts';
import * as R from '../src/reference/gan-losses.ts';
import { useEngine, checkOp, randomArray } from './helpers.ts';

useEngine();

/** Distance of the nearest hinge kink from the values a loss applies max(0, ·) to (Infinity for smooth losses). */
function kinkDistance(kind: GanLossKind, r: Float64Array, f: Float64Array): number {
  const mean = (x: Float64Array) => x.reduce((a, b) => a + b, 0) / x.length;
  const d = (xs: Float64Array, shift: number, kink: number) => Math.min(...xs.map((v) => Math.abs(v - shift - kink)));
  if (kind === 'hinge') return Math.min(d(r, 0, 1), d(f, 0, -1));
  if (kind === 'rahinge') {
    const [mr, mf] = [mean(r), mean(f)];
    // D: 1 − (r − mf), 1 + (f − mr); G: 1 + (r − mf), 1 − (f − mr)
    return Math.min(d(r, mf, 1), d(f, mr, -1), d(r, mf, -1), d(f, mr, 1));
  }
  return Infinity;
}

/** Outputs in [−2.5, 2.5] (both sides of every hinge) with no value within 1e-3 of a kink. */
function outputs(kind: GanLossKind, n: number, seed: number): [Float64Array, Float64Array] {
  for (let s = seed; ; s += 17) {
    const r = randomArray(n, s, -2.5, 2.5);
    const f = randomArray(n, s + 1, -2.5, 2.5);
    if (kinkDistance(kind, r, f) > 1e-3) return [r, f];
  }
}

describe('GAN losses against float64 references', () => {
  for (const kind of GAN_LOSSES) {
    for (const n of [1, 7, 13]) {
      it(`${kind}: D's loss and its gradients on real and fake outputs, batch ${n}`, async () => {
        const [r, f] = outputs(kind, n, 10 + n);
        await checkOp({
          shapes: [
            [n, 1],
            [n, 1],
          ],
          inputs: [r, f],
          gpu: ([a, b]) => discriminatorLoss(kind, a, b),
          ref: ([a, b]) => Float64Array.of(R.discriminatorLoss(kind, a, b)),
          eps: 1e-5,
        });
      });
      it(`${kind}: G's loss and its gradients (the real outputs' too, for the relativistic cross-terms), batch ${n}`, async () => {
        const [r, f] = outputs(kind, n, 30 + n);
        await checkOp({
          shapes: [
            [n, 1],
            [n, 1],
          ],
          inputs: [f, r],
          gpu: ([a, b]) => generatorLoss(kind, a, b),
          ref: ([a, b]) => Float64Array.of(R.generatorLoss(kind, a, b)),
          eps: 1e-5,
          // Only rahinge's G loss depends on the real outputs: the others' gradient there is null.
          wrt: kind === 'rahinge' ? [0, 1] : [0],
        });
      });
    }
  }

  for (const kind of ['bce', 'lsgan'] as const) {
    it(`${kind}: a real label of 0.9 is the reals' target in D's loss only`, async () => {
      const [r, f] = outputs(kind, 9, 5);
      await checkOp({
        shapes: [
          [9, 1],
          [9, 1],
        ],
        inputs: [r, f],
        gpu: ([a, b]) => discriminatorLoss(kind, a, b, 0.9),
        ref: ([a, b]) => Float64Array.of(R.discriminatorLoss(kind, a, b, 0.9)),
        eps: 1e-5,
      });
      // The smoothed and unsmoothed losses differ, so the check above would catch a dropped label.
      expect(Math.abs(R.discriminatorLoss(kind, r, f, 0.9) - R.discriminatorLoss(kind, r, f, 1))).toBeGreaterThan(1e-3);
    });
  }

  for (const kind of GAN_LOSSES)
    for (const [n, label] of [
      [1, 1],
      [7, lossTakesRealLabel(kind) ? 0.9 : 1],
    ] as const)
      it(`${kind}: D's loss on one joint [reals; fakes] output, batch ${n}, real label ${label}, and its gradient`, async () => {
        const [r, f] = outputs(kind, n, 50 + n);
        const targets = jointTargets(n, label);
        await checkOp({
          shapes: [[2 * n, 1]],
          inputs: [Float64Array.from([...r, ...f])],
          gpu: ([both]) => discriminatorLossJoint(kind, both, n, label, kind === 'bce' ? targets : null),
          ref: ([both]) => Float64Array.of(R.discriminatorLoss(kind, both.slice(0, n), both.slice(n), label)),
          eps: 1e-5,
        });
        targets.dispose();
      });

  it('jointTargets are the real label then 0; the joint loss refuses a split without fakes and targets of another shape', async () => {
    const t = jointTargets(2, 0.9);
    expect(t.shape).toEqual([4, 1]);
    expect(Array.from(await t.toArray())).toEqual([0.9, 0.9, 0, 0].map(Math.fround));
    t.dispose();
    tidy(() => {
      const out = Tensor.zeros([6, 1]);
      expect(() => discriminatorLossJoint('bce', out, 6)).toThrow(
        "discriminatorLossJoint: 6 reals do not leave fakes in D's outputs [6, 1]",
      );
      expect(() => discriminatorLossJoint('bce', out, 3, 1, jointTargets(2))).toThrow(
        "discriminatorLossJoint: targets [4, 1] do not match D's outputs [6, 1]",
      );
    });
  });

  it('the references match the formulas at hand-computed points', () => {
    const r = [2, 0],
      f = [-0.5, 1];
    // hinge D: mean(max(0, 1 − [2, 0])) + mean(max(0, 1 + [−0.5, 1])) = 0.5 + 1.25
    expect(R.discriminatorLoss('hinge', r, f)).toBeCloseTo(1.75, 12);
    expect(R.generatorLoss('hinge', f)).toBeCloseTo(-0.25, 12);
    // lsgan D: ½·mean([1, 1]) + ½·mean([0.25, 1]) = 0.5 + 0.3125; G: ½·mean([2.25, 0]) = 0.5625
    expect(R.discriminatorLoss('lsgan', r, f)).toBeCloseTo(0.8125, 12);
    expect(R.generatorLoss('lsgan', f)).toBeCloseTo(0.5625, 12);
    // rahinge: E[r] = 1, E[f] = 0.25; D̃r = [1.75, −0.25], D̃f = [−1.5, 0]
    // D: mean(max(0, 1 − D̃r)) + mean(max(0, 1 + D̃f)) = mean([0, 1.25]) + mean([0, 1]) = 0.625 + 0.5
    expect(R.discriminatorLoss('rahinge', r, f)).toBeCloseTo(1.125, 12);
    // G: mean(max(0, 1 + D̃r)) + mean(max(0, 1 − D̃f)) = mean([2.75, 0.75]) + mean([2.5, 1]) = 1.75 + 1.75
    expect(R.generatorLoss('rahinge', f, r)).toBeCloseTo(3.5, 12);
    expect(R.discriminatorLoss('bce', [0], [0])).toBeCloseTo(2 * Math.log(2), 12);
  });

  it('rahinge: a real output whose own hinge is inactive still gets a gradient through the fakes’ mean', async () => {
    // E[C(x_r)] = 1.75, E[C(x_f)] = 1: D̃r = [2, −0.5], D̃f = [−1.25, −0.25]. The first real's own term
    // max(0, 1 − 2) is inactive, but E[C(x_r)] appears in every D̃f, and the second fake's term is active.
    const real = Tensor.fromArray([3, 0.5], [2, 1]).requireGrad();
    const fake = Tensor.fromArray([0.5, 1.5], [2, 1]).requireGrad();
    tidy(() => discriminatorLoss('rahinge', real, fake).backward());
    // d/dr_i = −½·[D̃r_i < 1] − ½·½·Σ_j [D̃f_j > −1] = −½·[D̃r_i < 1] − ¼
    // d/df_j = ½·[D̃f_j > −1] + ½·½·Σ_i [D̃r_i < 1] = ½·[D̃f_j > −1] + ¼
    expect(Array.from(await real.grad!.toArray())).toEqual([-0.25, -0.75]);
    expect(Array.from(await fake.grad!.toArray())).toEqual([0.25, 0.75]);
    for (const t of [real, fake]) {
      t.zeroGrad();
      t.dispose();
    }
  });

  it('refuses unknown losses, label smoothing where it has no meaning, empty batches and a missing real batch', () => {
    tidy(() => {
      const x = Tensor.zeros([4, 1]);
      expect(() => discriminatorLoss('wgan' as never, x, x)).toThrow(
        'discriminatorLoss: loss must be one of bce, lsgan, hinge, rahinge, got "wgan"',
      );
      expect(() => generatorLoss('nope' as never, x)).toThrow(/generatorLoss: loss must be one of/);
      expect(() => discriminatorLoss('hinge', x, x, 0.9)).toThrow(
        'discriminatorLoss: a real label of 0.9 (label smoothing) applies to bce and lsgan only',
      );
      expect(() => generatorLoss('rahinge', x)).toThrow(
        "generatorLoss: the rahinge loss needs D's outputs on a real batch",
      );
      expect(() => discriminatorLoss('lsgan', Tensor.zeros([0, 1]), x)).toThrow(
        "discriminatorLoss: D's outputs [0, 1] are empty (a batch of 0 images)",
      );
    });
  });
});
