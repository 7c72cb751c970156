/**
 * Layers that need no convolution or normalization kernels: Linear, activations, Dropout, shape layers and
 * Sequential. Constructors follow torch.nn's signatures and default initializations.
 */
import { Tensor, compare, noGrad, linear, type Shape } from '../tensor/index.ts';
import { Module } from './module.ts';
import { deriveSeed } from './seed.ts';
import { formatShape } from '../tensor/shape.ts';

/** Uniform U(-bound, bound), seeded when a seed is given (else from the global stream, see manualSeed). */
export function uniformInit(shape: Shape, bound: number, seed?: number): Tensor {
  return Tensor.rand(shape, { seed, lo: -bound, hi: bound });
}

const seedFor = (seed: number | undefined, label: string) => (seed === undefined ? undefined : deriveSeed(seed, label));

/**
 * y = x Wᵀ + b with W of shape [out, in] (torch layout). Init as torch: W and b ~ U(-1/√in, 1/√in)
 * (kaiming_uniform with a = √5 reduces to this bound for W). With `equalized` (ProGAN's equalized learning rate):
 * W ~ N(0, 1), b = 0, and W is multiplied by gain/√in at every forward (gain √2 by default; see ./conv.ts).
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** Whether the layer has an equalized learning rate (N(0, 1) weights scaled at run time). */
  readonly equalized: boolean;
  /** He's constant of an equalized layer (gain/√in) applied to W at every forward; 1 otherwise. */
  readonly weightScale: number;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    bias = true,
    opts: { seed?: number; equalized?: boolean | { gain: number } } = {},
  ) {
    super();
    if (!(Number.isInteger(inFeatures) && inFeatures > 0 && Number.isInteger(outFeatures) && outFeatures > 0)) {
      throw new Error(`Linear: in and out features must be positive integers, got (${inFeatures}, ${outFeatures})`);
    }
    const bound = 1 / Math.sqrt(inFeatures);
    this.weightScale = 1;
    this.equalized = !!opts.equalized;
    if (opts.equalized) {
      const gain = opts.equalized === true ? Math.SQRT2 : opts.equalized.gain;
      if (!(gain > 0 && Number.isFinite(gain)))
        throw new Error(`Linear: equalized gain must be a positive number, got ${gain}`);
      this.weightScale = gain / Math.sqrt(inFeatures);
      this.weight = this.registerParameter(
        'weight',
        Tensor.randn([outFeatures, inFeatures], { seed: seedFor(opts.seed, 'weight') }),
      );
      this.bias = bias ? this.registerParameter('bias', Tensor.zeros([outFeatures])) : null;
      return;
    }
    this.weight = this.registerParameter(
      'weight',
      uniformInit([outFeatures, inFeatures], bound, seedFor(opts.seed, 'weight')),
    );
    this.bias = bias
      ? this.registerParameter('bias', uniformInit([outFeatures], bound, seedFor(opts.seed, 'bias')))
      : null;
  }

  override describe(): string {
    return `Linear(${this.inFeatures}, ${this.outFeatures}${this.equalized ? `, equalized ×${this.weightScale.toPrecision(4)}` : ''})`;
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(
        `${this.describe()}: input of shape ${formatShape(x.shape)} must end in ${this.inFeatures} features`,
      );
    }
    if (this.weightScale === 1) return linear(x, this.weight, this.bias);
    const w = this.weight.mul(this.weightScale);
    const y = linear(x, w, this.bias);
    if (!y.requiresGrad) w.dispose(); // no graph holds the scaled copy
    return y;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  override describe(): string {
    return `LeakyReLU(${this.negativeSlope})`;
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** Passes its input through unchanged (a placeholder, as torch.nn.Identity). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x.reshape(x.shape);
  }
}

/**
 * Zeroes each element with probability p during training and scales survivors by 1/(1-p), so that the
 * expected activation matches eval mode, where it is the identity. Masks come from seeded GPU uniforms:
 * the k-th training forward of a Dropout built with seed s uses the seed derived from (s, k).
 */
export class Dropout extends Module {
  private calls = 0;
  private readonly seed: number;

  constructor(
    readonly p = 0.5,
    opts: { seed?: number } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability p must be in [0, 1], got ${p}`);
    this.seed = opts.seed ?? Math.floor(Math.random() * 2 ** 32);
  }

  override describe(): string {
    return `Dropout(p=${this.p})`;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x.reshape(x.shape);
    if (this.p === 1) return x.mul(0);
    const mask = noGrad(() => {
      const u = Tensor.rand(x.shape, { seed: deriveSeed(this.seed, this.calls++) });
      const keep = compare(u, this.p, 'ge');
      u.dispose();
      const scaled = keep.mul(1 / (1 - this.p));
      keep.dispose();
      return scaled;
    });
    const y = x.mul(mask);
    if (!y.requiresGrad) mask.dispose(); // otherwise the graph holds it until the enclosing tidy scope ends
    return y;
  }
}

/** Flattens dims startDim..endDim into one (torch default: all but the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    const s = this.startDim < 0 ? this.startDim + x.rank : this.startDim;
    const e = this.endDim < 0 ? this.endDim + x.rank : this.endDim;
    if (s < 0 || e >= x.rank || s > e)
      throw new Error(`Flatten(${this.startDim}, ${this.endDim}): invalid for input of shape ${formatShape(x.shape)}`);
    const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
    return x.reshape([...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
  }
}

/** Splits dimension `dim` into `sizes` (e.g. [N, 256] → [N, 16, 4, 4]). */
export class Unflatten extends Module {
  constructor(
    readonly dim: number,
    readonly sizes: readonly number[],
  ) {
    super();
  }
  override describe(): string {
    return `Unflatten(${this.dim}, [${this.sizes.join(', ')}])`;
  }
  forward(x: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + x.rank : this.dim;
    const n = this.sizes.reduce((a, b) => a * b, 1);
    if (d < 0 || d >= x.rank || x.shape[d] !== n) {
      throw new Error(`${this.describe()}: dimension ${this.dim} of input ${formatShape(x.shape)} must have size ${n}`);
    }
    return x.reshape([...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }
}

/** Reshapes to [N, ...shape] keeping the batch dimension. */
export class Reshape extends Module {
  constructor(readonly shape: readonly number[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.reshape([x.shape[0], ...this.shape]);
  }
}

/** Runs its children in order; they are named "0", "1", ... as in torch.nn.Sequential. */
export class Sequential extends Module {
  private readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }

  get length(): number {
    return this.layers.length;
  }

  at(i: number): Module {
    const m = this.layers[i < 0 ? i + this.layers.length : i];
    if (!m) throw new Error(`Sequential: no layer ${i} (it has ${this.layers.length})`);
    return m;
  }

  /**
   * Whether forward() lets a layer apply the next one's activation in its own kernels (BatchNorm → ReLU or
   * LeakyReLU, a conv → LeakyReLU or Tanh: Module.fusableActivation).
   */
  static fuseActivations = true;

  forward(x: Tensor): Tensor {
    let y = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i]!;
      const following = this.layers[i + 1];
      const act = Sequential.fuseActivations && following ? layer.fusableActivation(following) : null;
      const next = act ? layer.forwardFused(y, act) : layer.forward(y);
      if (act) i++; // the activation layer ran inside this one
      // Without a graph to keep it alive, an intermediate can be freed as soon as the next layer has run.
      if (y !== x && next !== y && !next.requiresGrad) y.dispose();
      y = next;
    }
    return y;
  }
}
