/** L-BFGS on GPU tensors: Rosenbrock and an ill-conditioned quadratic, with and without the line search. */
import { describe, it, expect } from 'vitest';
import { Tensor, tidy, memoryStats } from '../src/tensor/index.ts';
import { LBFGS, type Objective } from '../src/style/lbfgs.ts';
import { useEngine } from './helpers.ts';

useEngine();

/** Wraps a tensor expression as an objective: loss value and gradient via autograd. */
function objective(fn: (x: Tensor) => Tensor): Objective {
  return async (x) => {
    const leaf = x.detach().requireGrad();
    const loss = tidy(() => {
      const l = fn(leaf);
      l.backward();
      return l;
    });
    const value = await loss.item();
    loss.dispose();
    const grad = leaf.grad!;
    leaf.grad = null;
    leaf.dispose();
    return { loss: value, grad };
  };
}

/** Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at x = 1. */
const rosenbrock = objective((x) => {
  const n = x.shape[0];
  const head = x.slice([[0, n - 1]]);
  const tail = x.slice([[1, n]]);
  return tail.sub(head.square()).square().mul(100).add(head.rsub1()).sum();
});

declare module '../src/tensor/tensor.ts' {
  interface Tensor {
    rsub1(): Tensor;
  }
}
Tensor.prototype.rsub1 = function () {
  return this.neg().add(1).square();
};

/** Steps until converged; counts the steps that moved x. */
async function run(opt: LBFGS, f: Objective, maxIter: number) {
  let iterations = 0;
  let evaluations = 0;
  let loss = Infinity;
  while (iterations < maxIter && !opt.isConverged) {
    const r = await opt.step(f);
    if (r.stepLength > 0) iterations++;
    evaluations += r.evaluations;
    loss = r.loss;
  }
  return { iterations, evaluations, loss };
}

describe('LBFGS', () => {
  it('minimises the 2-D Rosenbrock function from (-1.2, 1) with the strong-Wolfe search', async () => {
    const x = Tensor.fromArray([-1.2, 1], [2]).keep();
    const opt = new LBFGS(x, {
      historySize: 10,
      lineSearch: 'strong-wolfe',
      toleranceChange: 1e-12,
      toleranceGrad: 1e-6,
    });
    const r = await run(opt, rosenbrock, 100);
    const v = await x.toArray();
    expect(Math.abs(v[0] - 1)).toBeLessThan(1e-3);
    expect(Math.abs(v[1] - 1)).toBeLessThan(2e-3);
    expect(r.loss).toBeLessThan(1e-6);
    expect(r.iterations).toBeLessThan(60);
    opt.dispose();
    x.dispose();
  });

  it('minimises a 6-D Rosenbrock function', async () => {
    const x = Tensor.fromArray([-1, 1.2, -0.5, 0.8, 0, 1.5], [6]).keep();
    const opt = new LBFGS(x, { historySize: 8, toleranceChange: 1e-12, toleranceGrad: 1e-6 });
    const r = await run(opt, rosenbrock, 200);
    const v = await x.toArray();
    for (const xi of v) expect(Math.abs(xi - 1)).toBeLessThan(5e-3);
    expect(r.loss).toBeLessThan(1e-5);
    opt.dispose();
    x.dispose();
  });

  it('minimises an ill-conditioned quadratic to tolerance, far faster than gradient descent would', async () => {
    // f(x) = ½ Σ a_i (x_i − b_i/a_i)², condition number 100: written so that f → 0 at the minimum, where float32
    // still resolves the small decreases the line search must see.
    const n = 32;
    const a = Float32Array.from({ length: n }, (_, i) => 10 ** ((2 * i) / (n - 1)));
    const b = Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    const A = Tensor.fromArray(a, [n]).keep();
    const B = Tensor.fromArray(b, [n]).keep();
    const quad = objective((x) => x.sub(B.div(A)).square().mul(A).sum().mul(0.5));
    const x = Tensor.zeros([n]).keep();
    // toleranceChange 0: stop on the gradient only (float32 loss changes vanish before x is at tolerance).
    const opt = new LBFGS(x, { historySize: 10, toleranceGrad: 1e-5, toleranceChange: 0 });
    const r = await run(opt, quad, 200);
    const v = await x.toArray();
    // Stopped by the gradient test: every |∂f/∂x_i| = a_i·|x_i − b_i/a_i| ≤ toleranceGrad as the GPU computed it in
    // float32 (b_i/a_i rounded there: up to a_i · ulp(b_i/a_i)/2 ≈ 100 · 3e-8 more in float64 here).
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, a[i] * Math.abs(v[i] - b[i] / a[i]));
    expect(worst).toBeLessThan(1e-5 + 1e-5);
    // Gradient descent needs ~condition number × ln(1/tol) ≈ 1000 steps; L-BFGS a few dozen.
    expect(r.iterations).toBeLessThan(80);
    opt.dispose();
    [x, A, B].forEach((t) => t.dispose());
  });

  it('without a line search, takes fixed steps and still converges on a well-conditioned quadratic', async () => {
    const n = 16;
    const target = Tensor.fromArray(
      Float32Array.from({ length: n }, (_, i) => i / n - 0.3),
      [n],
    ).keep();
    const f = objective((x) => x.sub(target).square().sum());
    const x = Tensor.zeros([n]).keep();
    const opt = new LBFGS(x, { lineSearch: 'none', lr: 1, toleranceGrad: 1e-6 });
    const r = await run(opt, f, 50);
    expect(r.loss).toBeLessThan(1e-8);
    // Each step without a search costs exactly one evaluation (plus the initial one).
    expect(r.evaluations).toBe(r.iterations + 1);
    opt.dispose();
    [x, target].forEach((t) => t.dispose());
  });

  it('leaves no tensor behind: every scalar it reads and every rejected point is freed', async () => {
    // The style page runs L-BFGS again and again in one tab: a leak of a few tensors per iteration adds up.
    for (const lineSearch of ['strong-wolfe', 'none'] as const) {
      const before = memoryStats().liveTensors;
      const x = Tensor.fromArray([-1.2, 1, 0.5], [3]).keep();
      const opt = new LBFGS(x, { historySize: 3, lineSearch, lr: lineSearch === 'none' ? 1e-3 : 1 });
      let steps = 0;
      for (; steps < 12 && !opt.isConverged; steps++) {
        await opt.step(rosenbrock);
        // x, the held gradient and the history's s and y pairs (3 at most) are all that may stay.
        expect(memoryStats().liveTensors - before, `${lineSearch}, step ${steps + 1}`).toBeLessThanOrEqual(2 + 2 * 3);
      }
      expect(steps, lineSearch).toBeGreaterThan(4);
      opt.dispose();
      x.dispose();
      expect(memoryStats().liveTensors, lineSearch).toBe(before);
    }
  });

  it('rejects bad options', () => {
    const x = Tensor.zeros([2]).keep();
    expect(() => new LBFGS(x, { historySize: 0 })).toThrow(/historySize/);
    expect(() => new LBFGS(x, { lr: -1 })).toThrow(/lr must be positive/);
    expect(() => new LBFGS(x, { lineSearch: 'armijo' as never })).toThrow(/lineSearch/);
    x.dispose();
  });
});
