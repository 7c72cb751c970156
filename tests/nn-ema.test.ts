import { describe, it, expect } from 'vitest';
import { Tensor, engine } from '../src/tensor/index.ts';
import { Linear, Sequential, BatchNorm1d, emaUpdate, copyModuleState, refreshBatchNormStats } from '../src/nn/index.ts';
import { useEngine, expectClose, randomArray } from './helpers.ts';

useEngine();

const values = async (m: { namedParameters(): [string, Tensor][]; namedBuffers(): [string, Tensor][] }) =>
  Promise.all([...m.namedParameters(), ...m.namedBuffers()].map(async ([k, t]) => [k, await t.toArray()] as const));

describe('weight averaging (nn/ema.ts)', () => {
  it('emaUpdate gives decay·average + (1 − decay)·current for every parameter', async () => {
    const avg = new Linear(5, 3, true, { seed: 1 });
    const cur = new Linear(5, 3, true, { seed: 2 });
    const [a0, c0] = [await values(avg), await values(cur)];
    emaUpdate(avg, cur, 0.9);
    const a1 = await values(avg);
    for (let i = 0; i < a0.length; i++) {
      expect(a1[i][0]).toBe(a0[i][0]);
      expectClose(
        a1[i][1],
        a0[i][1].map((v, j) => 0.9 * v + 0.1 * c0[i][1][j]),
        1e-6,
      );
    }
    expect(() => emaUpdate(avg, cur, 1)).toThrow('emaUpdate: decay must be in [0, 1), got 1');
    expect(() => emaUpdate(avg, new Linear(3, 5), 0.5)).toThrow(
      'emaUpdate: the modules differ at weight [3, 5] vs weight [5, 3]',
    );
    expect(() => emaUpdate(avg, new Linear(5, 3, false), 0.5)).toThrow(
      'emaUpdate: the modules differ (2 vs 1 tensors)',
    );
  });

  it('emaUpdate takes 4 parameters a launch and rounds as mul, mul, add do (bit for bit on lavapipe)', async () => {
    // 6 parameters: several workgroups with a partial last vec4 (3001 + 1), one element, 3 elements, exactly 1024
    const net = () =>
      new Sequential(new Linear(1000, 3, true), new Linear(3, 1, false), new Linear(1024, 1, false), new Linear(1, 1));
    const avg = net();
    const cur = net();
    const sizes = avg.namedParameters().map(([, t]) => t.size);
    expect(sizes).toEqual([3000, 3, 3, 1024, 1, 1]);
    for (const [k, [, t]] of [...avg.namedParameters(), ...cur.namedParameters()].entries())
      t.assign(Float32Array.from(randomArray(t.size, 40 + k, -3, 3)));
    const decay = 0.95;
    const composed = avg
      .namedParameters()
      .map(([, a], k) => a.mul(decay).add(cur.namedParameters()[k][1].mul(1 - decay)));
    const launches: string[] = [];
    engine().onLaunch = (kernel) => launches.push(`${kernel.shader}:${kernel.entry}`);
    try {
      emaUpdate(avg, cur, decay);
    } finally {
      engine().onLaunch = null;
    }
    expect(launches).toEqual(['ema:slots4', 'ema:slots2']);
    // The same bits on lavapipe. Where a compiler contracts the sum into an fma, an element may differ by the
    // roundings the fma skips or moves: at most one unit in the last place (ulp) of each product (the inputs lie in
    // [−3, 3]) and of the result, element by element.
    const exact = engine().adapter.slug === 'lavapipe';
    const ulp = (v: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -126))) - 23);
    const products = ulp(3 * decay) + ulp(3 * (1 - decay));
    for (const [k, [name, a]] of avg.namedParameters().entries()) {
      const [got, want] = [await a.toArray(), await composed[k].toArray()];
      if (exact) expect(Array.from(got), name).toEqual(Array.from(want));
      else {
        const bad = want.findIndex((w, i) => !(Math.abs(got[i] - w) <= products + ulp(w)));
        expect(bad, `${name}[${bad}]: ${got[bad]} against ${want[bad]}`).toBe(-1);
      }
    }
    composed.forEach((t) => t.dispose());
  });

  it('copyModuleState copies parameters and buffers', async () => {
    const make = (seed: number) => new Sequential(new Linear(4, 6, true, { seed }), new BatchNorm1d(6));
    const [src, dst] = [make(3), make(4)];
    src.train();
    src.forward(Tensor.fromArray(Float32Array.from(randomArray(8 * 4, 5)), [8, 4])).dispose(); // moves src's running stats
    copyModuleState(dst, src);
    expect(await values(dst)).toEqual(await values(src));
  });

  it("refreshBatchNormStats sets the running statistics to one batch's mean and unbiased variance", async () => {
    const net = new Sequential(new Linear(4, 3, true, { seed: 7 }), new BatchNorm1d(3));
    const bn = net
      .namedModules()
      .map(([, m]) => m)
      .find((m) => m instanceof BatchNorm1d) as BatchNorm1d;
    const lin = net
      .namedModules()
      .map(([, m]) => m)
      .find((m) => m instanceof Linear) as Linear;
    const n = 10;
    const x = Tensor.fromArray(Float32Array.from(randomArray(n * 4, 8, -2, 2)), [n, 4]);
    const h = await lin.forward(x).toArray(); // [n, 3], the BatchNorm's input
    const mean = [0, 1, 2].map((c) => Array.from({ length: n }, (_, i) => h[i * 3 + c]).reduce((s, v) => s + v, 0) / n);
    const unbiased = [0, 1, 2].map(
      (c) => Array.from({ length: n }, (_, i) => (h[i * 3 + c] - mean[c]) ** 2).reduce((s, v) => s + v, 0) / (n - 1),
    );
    const params0 = await Promise.all(net.parameters().map((p) => p.toArray()));
    net.eval();
    refreshBatchNormStats(net, () => net.forward(x));
    expectClose(await bn.runningMean.toArray(), mean, 1e-5);
    expectClose(await bn.runningVar.toArray(), unbiased, 1e-5);
    expect(bn.momentum).toBe(0.1);
    expect(net.training).toBe(false);
    expect(bn.training).toBe(false);
    expect(await Promise.all(net.parameters().map((p) => p.toArray()))).toEqual(params0);
    expect(() => new BatchNorm1d(3, { momentum: 2 })).toThrow('BatchNorm1d: momentum must be in [0, 1], got 2');
  });
});
