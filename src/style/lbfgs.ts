/**
 * L-BFGS on GPU tensors (Nocedal & Wright, "Numerical Optimization", algorithms 7.4 and 3.5/3.6).
 *
 * L-BFGS keeps the last m pairs s = x_{k+1} − x_k and y = g_{k+1} − g_k and applies an implicit inverse-Hessian
 * estimate to the gradient with the two-loop recursion. Everything that touches vectors runs on the GPU: the
 * recursion's coefficients α_i = ρ_i·s_iᵀq stay 0-d tensors that broadcast into the next update, so a
 * direction costs no readback. Only scalars the algorithm must branch on come back to the CPU: the loss, the
 * directional derivative gᵀd, and sᵀy, yᵀy for each new pair.
 *
 * Style transfer (jcjohnson/neural-style, the PyTorch tutorial) uses L-BFGS because its curvature estimate
 * reaches a given loss in far fewer evaluations than first-order methods.
 */
import { Tensor, tidy } from '../tensor/index.ts';

/** The loss at x and its gradient (a new tensor of x's shape that the optimizer takes ownership of). */
export interface Evaluation {
  loss: number;
  grad: Tensor;
}

export type Objective = (x: Tensor) => Promise<Evaluation>;

export interface LbfgsOptions {
  /** Number of (s, y) pairs kept (m). Default 10. */
  historySize?: number;
  /** Step length tried first (and used as-is without a line search). Default 1. */
  lr?: number;
  /** 'strong-wolfe' searches a step satisfying the strong Wolfe conditions; 'none' takes lr. Default 'strong-wolfe'. */
  lineSearch?: 'strong-wolfe' | 'none';
  /** Converged when max |g| falls below this. Default 1e-7. */
  toleranceGrad?: number;
  /** Converged when a step or the loss change is smaller than this. Default 1e-9. */
  toleranceChange?: number;
  /** Evaluation budget of one line search. Default 25. */
  maxLineSearchEvals?: number;
}

export interface LbfgsStepResult {
  /** Loss at the new point. */
  loss: number;
  /** Objective evaluations this step used (forward + backward each). */
  evaluations: number;
  /** True once a tolerance is met: further steps do nothing. */
  converged: boolean;
  /** Step length taken along the search direction. */
  stepLength: number;
}

/** One pair of the L-BFGS memory: step s = x₊ − x, gradient change y = ∇f₊ − ∇f, and rho = 1 / yᵀs. */
interface CurvaturePair {
  s: Tensor;
  y: Tensor;
  rho: number;
}

interface Point {
  t: number;
  f: number;
  /** Directional derivative gᵀd at x0 + t·d. */
  d: number;
  grad: Tensor | null;
}

const dot = (a: Tensor, b: Tensor) => tidy(() => a.mul(b).sum());

/** The value of a one-element tensor made for reading (a dot product, a norm), which is then freed. */
async function valueOf(t: Tensor): Promise<number> {
  try {
    return await t.item();
  } finally {
    t.dispose();
  }
}

/** Minimiser of the cubic interpolating (t1, f1, d1) and (t2, f2, d2), clamped to [lo, hi]; bisects when the cubic has none. */
function cubicMinimum(
  t1: number,
  f1: number,
  d1: number,
  t2: number,
  f2: number,
  d2: number,
  lo: number,
  hi: number,
): number {
  const a = d1 + d2 - (3 * (f1 - f2)) / (t1 - t2);
  const disc = a * a - d1 * d2;
  if (disc >= 0 && Number.isFinite(disc)) {
    const b = Math.sign(t2 - t1) * Math.sqrt(disc);
    const t = t2 - (t2 - t1) * ((d2 + b - a) / (d2 - d1 + 2 * b));
    if (Number.isFinite(t)) return Math.min(Math.max(t, lo), hi);
  }
  return (lo + hi) / 2;
}

export class LBFGS {
  readonly historySize: number;
  readonly lr: number;
  readonly lineSearch: 'strong-wolfe' | 'none';
  readonly toleranceGrad: number;
  readonly toleranceChange: number;
  readonly maxLineSearchEvals: number;
  private history: CurvaturePair[] = [];
  private gamma = 1;
  private loss: number | null = null;
  private grad: Tensor | null = null;
  private iterations = 0;
  private converged = false;

  /** `x` is optimised in place (its values are overwritten by each step). */
  constructor(
    readonly x: Tensor,
    opts: LbfgsOptions = {},
  ) {
    this.historySize = opts.historySize ?? 10;
    this.lr = opts.lr ?? 1;
    this.lineSearch = opts.lineSearch ?? 'strong-wolfe';
    this.toleranceGrad = opts.toleranceGrad ?? 1e-7;
    this.toleranceChange = opts.toleranceChange ?? 1e-9;
    this.maxLineSearchEvals = opts.maxLineSearchEvals ?? 25;
    if (!Number.isInteger(this.historySize) || this.historySize < 1)
      throw new Error(`LBFGS: historySize must be a positive integer, got ${this.historySize}`);
    if (!(this.lr > 0)) throw new Error(`LBFGS: lr must be positive, got ${this.lr}`);
    if (this.lineSearch !== 'strong-wolfe' && this.lineSearch !== 'none')
      throw new Error(`LBFGS: lineSearch must be 'strong-wolfe' or 'none', got ${JSON.stringify(this.lineSearch)}`);
  }

  get isConverged(): boolean {
    return this.converged;
  }

  /** One L-BFGS iteration: a search direction and a step along it. */
  async step(f: Objective): Promise<LbfgsStepResult> {
    let evaluations = 0;
    if (this.loss === null || !this.grad) {
      const e = await f(this.x);
      evaluations++;
      this.loss = e.loss;
      this.grad = e.grad.keep();
      if (!Number.isFinite(e.loss)) throw new Error(`LBFGS: the objective returned ${e.loss} at the starting point`);
    }
    if (this.converged) return { loss: this.loss, evaluations, converged: true, stepLength: 0 };
    const gMax = await valueOf(tidy(() => this.grad!.abs().max()));
    if (gMax <= this.toleranceGrad) {
      this.converged = true;
      return { loss: this.loss, evaluations, converged: true, stepLength: 0 };
    }

    const direction = this.direction(this.grad);
    const gtd = await valueOf(dot(this.grad, direction));
    if (!(gtd < -this.toleranceChange)) {
      // Not a descent direction (curvature information went bad): start over from steepest descent.
      direction.dispose();
      if (!Number.isFinite(gtd)) throw new Error(`LBFGS: the gradient is not finite (gᵀd = ${gtd})`);
      if (gtd >= 0 && this.history.length > 0) {
        this.clearHistory();
        const r = await this.step(f);
        return { ...r, evaluations: r.evaluations + evaluations };
      }
      this.converged = true;
      return { loss: this.loss, evaluations, converged: true, stepLength: 0 };
    }

    // First iteration: scale the step so it moves about one unit in L1, as torch.optim.LBFGS does.
    let t0 = this.lr;
    if (this.iterations === 0) {
      const g1 = await valueOf(tidy(() => this.grad!.abs().sum()));
      t0 = Math.min(1, 1 / g1) * this.lr;
    }

    const x0 = this.x.clone().keep();
    const f0 = this.loss;
    this.lastSearchEvals = 0;
    let chosen: Point;
    try {
      chosen =
        this.lineSearch === 'none'
          ? await this.evaluateAt(f, x0, direction, t0)
          : await this.strongWolfe(f, x0, direction, f0, gtd, t0);
    } catch (err) {
      x0.dispose();
      direction.dispose();
      throw err;
    }
    evaluations += this.lastSearchEvals;
    // Leave x at the chosen point (the search may have evaluated elsewhere last).
    tidy(() => {
      this.x.assign(x0.add(direction.mul(chosen.t)));
    });

    const newGrad = chosen.grad!;
    const s = tidy(() => direction.mul(chosen.t)).keep();
    const y = tidy(() => newGrad.sub(this.grad!)).keep();
    const [ys, yy] = await Promise.all([dot(y, s), dot(y, y)].map(valueOf));
    if (ys > 1e-10) {
      this.history.push({ s, y, rho: 1 / ys });
      if (this.history.length > this.historySize) {
        const old = this.history.shift()!;
        old.s.dispose();
        old.y.dispose();
      }
      this.gamma = ys / yy;
    } else {
      s.dispose();
      y.dispose();
    }
    x0.dispose();
    const stepMax = (await valueOf(tidy(() => direction.abs().max()))) * chosen.t;
    direction.dispose();

    const lossChange = Math.abs(chosen.f - f0);
    this.grad.dispose();
    this.grad = newGrad;
    this.loss = chosen.f;
    this.iterations++;
    if (stepMax <= this.toleranceChange || lossChange <= this.toleranceChange) this.converged = true;
    return { loss: chosen.f, evaluations, converged: this.converged, stepLength: chosen.t };
  }

  /** Two-loop recursion: d = −H·g with H the L-BFGS inverse-Hessian estimate (γ·I before any pairs). */
  private direction(g: Tensor): Tensor {
    return tidy(() => {
      let q = g.neg();
      const alphas: Tensor[] = [];
      for (let i = this.history.length - 1; i >= 0; i--) {
        const { s, y, rho } = this.history[i];
        const alpha = s.mul(q).sum().mul(rho);
        alphas[i] = alpha;
        q = q.sub(y.mul(alpha));
      }
      let r = this.history.length ? q.mul(this.gamma) : q;
      for (let i = 0; i < this.history.length; i++) {
        const { s, y, rho } = this.history[i];
        const beta = y.mul(r).sum().mul(rho);
        r = r.add(s.mul(alphas[i].sub(beta)));
      }
      return r;
    }).keep();
  }

  private lastSearchEvals = 0;

  /** Sets x = x0 + t·d and evaluates the objective there. */
  private async evaluateAt(f: Objective, x0: Tensor, d: Tensor, t: number): Promise<Point> {
    tidy(() => {
      this.x.assign(x0.add(d.mul(t)));
    });
    this.lastSearchEvals++;
    const e = await f(this.x);
    e.grad.keep();
    return { t, f: e.loss, d: await valueOf(dot(e.grad, d)), grad: e.grad };
  }

  /**
   * Line search for a step t with f(t) ≤ f(0) + c1·t·f'(0) and |f'(t)| ≤ c2·|f'(0)| (strong Wolfe, c1 = 1e-4,
   * c2 = 0.9): bracket by expanding, then zoom with safeguarded cubic interpolation.
   */
  private async strongWolfe(f: Objective, x0: Tensor, d: Tensor, f0: number, d0: number, t1: number): Promise<Point> {
    const c1 = 1e-4;
    const c2 = 0.9;
    const evaluated: Point[] = [];
    const evalAt = async (t: number) => {
      const p = await this.evaluateAt(f, x0, d, t);
      evaluated.push(p);
      return p;
    };
    // Every evaluated point holds a gradient; only the returned one survives.
    const finish = (chosen: Point) => {
      for (const p of evaluated) if (p !== chosen) p.grad?.dispose();
      return chosen;
    };
    const armijo = (p: Point) => Number.isFinite(p.f) && p.f <= f0 + c1 * p.t * d0;
    const curvature = (p: Point) => Math.abs(p.d) <= -c2 * d0;

    let prev: Point = { t: 0, f: f0, d: d0, grad: null };
    let t = t1;
    let lo: Point;
    let hi: Point;
    // Bracketing phase.
    for (;;) {
      const cur = await evalAt(t);
      if (!armijo(cur) || (evaluated.length > 1 && cur.f >= prev.f)) {
        lo = prev;
        hi = cur;
        break;
      }
      if (curvature(cur)) return finish(cur);
      if (cur.d >= 0) {
        lo = cur;
        hi = prev;
        break;
      }
      if (evaluated.length >= this.maxLineSearchEvals) return finish(cur);
      // Expand: extrapolate between 1.01·t and 10·t.
      const next = cubicMinimum(prev.t, prev.f, prev.d, cur.t, cur.f, cur.d, t + 0.01 * (t - prev.t), t * 10);
      prev = cur;
      t = next;
    }
    // Zoom phase: lo satisfies sufficient decrease and the interval (lo, hi) contains a Wolfe point.
    for (;;) {
      if (evaluated.length >= this.maxLineSearchEvals || Math.abs(hi.t - lo.t) * Math.abs(d0) < 1e-12) {
        if (lo.grad) return finish(lo);
        // lo is still the start (t = 0): take the best evaluated point if it decreased the loss, else stay.
        const best = evaluated.reduce((a, b) => (b.f < a.f ? b : a));
        if (best.f < f0) return finish(best);
        finish({ t: 0, f: f0, d: d0, grad: null });
        return this.evaluateAt(f, x0, d, 0);
      }
      const a = Math.min(lo.t, hi.t);
      const b = Math.max(lo.t, hi.t);
      const margin = 0.1 * (b - a);
      const cur = await evalAt(cubicMinimum(lo.t, lo.f, lo.d, hi.t, hi.f, hi.d, a + margin, b - margin));
      if (!armijo(cur) || cur.f >= lo.f) {
        hi = cur;
      } else {
        if (curvature(cur)) return finish(cur);
        if (cur.d * (hi.t - lo.t) >= 0) hi = lo;
        lo = cur;
      }
    }
  }

  private clearHistory(): void {
    for (const p of this.history) {
      p.s.dispose();
      p.y.dispose();
    }
    this.history = [];
    this.gamma = 1;
    this.iterations = 0;
  }

  /** Frees the history and cached gradient (x is not touched). */
  dispose(): void {
    this.clearHistory();
    this.grad?.dispose();
    this.grad = null;
  }
}
