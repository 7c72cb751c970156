/**
 * Tensor: an f32 array on the GPU with a shape, plus what autograd needs.
 *
 * Storage is a pooled GPUBuffer shared by reference count between a tensor and its reshaped views; every
 * other op writes a new contiguous tensor. Memory is managed explicitly: `dispose()`, or `tidy(fn)` which
 * disposes every tensor created inside `fn` except the ones it returns (like tfjs). Gradients handed to
 * leaves and tensors passed to `keep()` outlive scopes.
 */
import { engine, grid1d } from './engine.ts';
import { shaderParams } from './params.ts';
import { formatShape } from './shape.ts';

export type Shape = readonly number[];

/** What an op's output remembers for backward (attached by `record`, src/autograd/record.ts). */
export interface GradNode {
  /** Name of the op, for error messages and debugging. */
  op: string;
  inputs: Tensor[];
  /**
   * Gradient of the loss w.r.t. each input (null: that input needs none), given the output's gradient. `into[i]`,
   * when the walker offers one, is a gradient it already holds for input i and owns alone: an op may add its own
   * gradient into it in place and return it (a weight used twice then costs no separate add); others ignore it.
   */
  backward: (grad: Tensor, into: readonly (Tensor | null)[]) => (Tensor | null)[];
}

class Storage {
  refs = 1;
  constructor(
    public buffer: GPUBuffer,
    public size: number,
  ) {}
  release(): void {
    if (--this.refs === 0) engine().free(this.buffer);
  }
}

let liveTensors = 0;
let nextId = 1;
/** Which device limit engine().maxTensorBytes comes from, for messages. */
function limitName(): string {
  const l = engine().device.limits;
  return l.maxStorageBufferBindingSize <= l.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
}

/** Stack of tidy scopes; each holds the tensors created while it is the innermost. */
const scopes: Set<Tensor>[] = [];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: Shape, what = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`Invalid ${what} ${formatShape(shape)}: dimensions must be non-negative integers`);
  }
  if (shape.length > 8) throw new Error(`Invalid ${what} ${formatShape(shape)}: at most 8 dimensions are supported`);
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly size: number;
  private storage: Storage | null;
  requiresGrad = false;
  /** Set on leaves by backward(); an intermediate keeps its gradient only after retainGrad(). */
  grad: Tensor | null = null;
  gradNode: GradNode | null = null;
  retainsGrad = false;
  /** Optional name (parameters carry their state_dict key). */
  name?: string;

  constructor(shape: Shape, storage: Storage) {
    checkShape(shape);
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.storage = storage;
    liveTensors++;
    scopes[scopes.length - 1]?.add(this);
  }

  // ---------------------------------------------------------------- creation

  /** A tensor with undefined contents (every kernel writes all of its output). */
  static empty(shape: Shape): Tensor {
    checkShape(shape);
    const size = shapeSize(shape);
    // Every tensor is bound whole as a kernel's storage buffer: refuse here, naming the shape, what no kernel could bind.
    const limit = engine().maxTensorBytes;
    if (size * 4 > limit)
      throw new Error(
        `tensor of shape ${formatShape(shape)} needs ${size * 4} bytes, more than this adapter binds in one storage ` +
          `buffer (${limitName()} ${limit} bytes)`,
      );
    return new Tensor(shape, new Storage(engine().alloc(size * 4), size));
  }

  static fromArray(data: ArrayLike<number>, shape?: Shape): Tensor {
    const s = shape ?? [data.length];
    checkShape(s);
    if (shapeSize(s) !== data.length)
      throw new Error(
        `fromArray: ${data.length} values cannot have shape ${formatShape(s)} (${shapeSize(s)} elements)`,
      );
    const t = Tensor.empty(s);
    if (data.length) engine().write(t.buffer, data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  static scalar(v: number): Tensor {
    return Tensor.fromArray([v], []);
  }

  static full(shape: Shape, value: number): Tensor {
    const t = Tensor.empty(shape);
    launchFill(t, 'fill', value, 0);
    return t;
  }

  static zeros(shape: Shape): Tensor {
    return Tensor.full(shape, 0);
  }

  static ones(shape: Shape): Tensor {
    return Tensor.full(shape, 1);
  }

  static fullLike(t: Tensor, value: number): Tensor {
    return Tensor.full(t.shape, value);
  }

  static arange(start: number, end?: number, step = 1): Tensor {
    if (end === undefined) [start, end] = [0, start];
    if (step === 0) throw new Error('arange: step must not be 0');
    const n = Math.max(0, Math.ceil((end - start) / step));
    const t = Tensor.empty([n]);
    launchFill(t, 'arange', start, step);
    return t;
  }

  /** Uniform in [lo, hi), generated on the GPU from a seed (see shaders/random.wgsl). */
  static rand(shape: Shape, opts: { seed?: number; lo?: number; hi?: number } = {}): Tensor {
    const t = Tensor.empty(shape);
    launchRandom(t, 'uniform_', opts.seed ?? nextSeed(), opts.lo ?? 0, opts.hi ?? 1);
    return t;
  }

  /** Normal with the given mean and standard deviation, generated on the GPU from a seed. */
  static randn(shape: Shape, opts: { seed?: number; mean?: number; std?: number } = {}): Tensor {
    const t = Tensor.empty(shape);
    launchRandom(t, 'normal', opts.seed ?? nextSeed(), opts.mean ?? 0, opts.std ?? 1);
    return t;
  }

  // ---------------------------------------------------------------- data

  get buffer(): GPUBuffer {
    if (!this.storage)
      throw new Error(
        `Tensor #${this.id} of shape ${formatShape(this.shape)}${this.name ? ` (${this.name})` : ''} was disposed and cannot be used`,
      );
    return this.storage.buffer;
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Copies the values back to the CPU. */
  async toArray(): Promise<Float32Array> {
    return engine().read(this.buffer, 0, this.size * 4);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor has shape ${formatShape(this.shape)}, not one element`);
    return (await this.toArray())[0];
  }

  /** Overwrites the contents in place (same size), e.g. to load weights or a data batch. */
  assign(data: Float32Array | Tensor): this {
    if (data instanceof Tensor) {
      if (data.size !== this.size)
        throw new Error(`assign: source has ${data.size} elements, target ${formatShape(this.shape)} has ${this.size}`);
      engine().copy(data.buffer, 0, this.buffer, 0, this.size * 4);
    } else {
      if (data.length !== this.size)
        throw new Error(
          `assign: ${data.length} values for a tensor of shape ${formatShape(this.shape)} (${this.size} elements)`,
        );
      engine().write(this.buffer, data);
    }
    return this;
  }

  /** Whether another tensor (a reshaped view) shares this one's storage. */
  get sharesStorage(): boolean {
    return (this.storage?.refs ?? 1) > 1;
  }

  /** A new tensor of another shape sharing this one's storage (no copy). */
  reshapeView(shape: Shape): Tensor {
    const s = this.storage;
    if (!s) return void this.buffer as never;
    s.refs++;
    return new Tensor(shape, s);
  }

  // ---------------------------------------------------------------- memory

  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.gradNode = null;
    liveTensors--;
    for (const s of scopes) s.delete(this);
  }

  /** Removes the tensor from every tidy scope: it lives until disposed explicitly. */
  keep(): this {
    for (const s of scopes) s.delete(this);
    return this;
  }

  // ---------------------------------------------------------------- autograd

  /** Marks a leaf as needing a gradient; returns this. */
  requireGrad(on = true): this {
    if (on && this.gradNode)
      throw new Error('requireGrad(): only leaf tensors can be marked; use retainGrad() on intermediates');
    this.requiresGrad = on;
    return this;
  }

  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  /** The same storage, cut off from the graph. */
  detach(): Tensor {
    return this.reshapeView(this.shape);
  }

  toString(): string {
    return `Tensor#${this.id}${formatShape(this.shape)}${this.requiresGrad ? ' requiresGrad' : ''}`;
  }
}

// ------------------------------------------------------------------ scopes

type Keepable = Tensor | Keepable[] | { [k: string]: Keepable } | number | string | boolean | null | undefined | void;

function collect(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) value.forEach((v) => collect(v, out));
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out);
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors in its result (a tensor, an
 * array or a plain object of them), which move to the enclosing scope.
 */
export function tidy<T extends Keepable>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise)
    throw new Error('tidy(): the function must be synchronous (await readbacks outside tidy)');
  const kept = new Set<Tensor>();
  collect(result, kept);
  for (const t of scope) if (!kept.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of kept) if (!t.isDisposed && scope.has(t)) parent.add(t);
  return result;
}

export function memoryStats(): { liveTensors: number; inUseBytes: number; inUseBuffers: number; pooledBytes: number } {
  const s = engine().stats();
  return { liveTensors, inUseBytes: s.inUseBytes, inUseBuffers: s.inUseBuffers, pooledBytes: s.pooledBytes };
}

// ------------------------------------------------------------------ seeds

let seedCounter = 0x2545f491;
/** Sets the seed from which random tensors without an explicit seed draw theirs. */
export function manualSeed(seed: number): void {
  seedCounter = seed >>> 0;
}
function nextSeed(): number {
  // splitmix32 step: successive seeds are decorrelated.
  seedCounter = (seedCounter + 0x9e3779b9) >>> 0;
  let z = seedCounter;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

// ------------------------------------------------------------------ creation kernels

function launchFill(t: Tensor, entry: 'fill' | 'arange', a: number, b: number): void {
  if (t.size === 0) return;
  engine().launch(
    { shader: 'fill', entry },
    { params: shaderParams('fill', { n: t.size, a, b }), buffers: [t.buffer], workgroups: grid1d(t.size, 256) },
  );
}

function launchRandom(t: Tensor, entry: 'uniform_' | 'normal', seed: number, a: number, b: number): void {
  if (t.size === 0) return;
  engine().launch(
    { shader: 'random', entry },
    { params: shaderParams('random', { n: t.size, seed, a, b }), buffers: [t.buffer], workgroups: grid1d(t.size, 256) },
  );
}
