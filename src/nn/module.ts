/**
 * Module: the building block of networks, after torch.nn.Module.
 *
 * A module owns three kinds of named things, registered explicitly in its constructor:
 *   - parameters: leaf tensors with requiresGrad that an optimizer updates (weight, bias, ...);
 *   - buffers: state that is saved and loaded but not trained (BatchNorm's running_mean, ...);
 *   - child modules.
 * `stateDict()` walks them in torch's order — a module's own parameters, then its own buffers, then each
 * child under its name — joining names with dots, so the keys are exactly the ones PyTorch would produce
 * for the same architecture (`main.0.weight`, `main.1.running_mean`, ...). Every parameter's `name` is kept
 * equal to its key relative to the outermost module it has been registered into.
 *
 * Parameters and buffers are created with `.keep()`: tidy scopes around a training step never free them.
 */
import { Tensor, shapeSize, type Shape } from '../tensor/index.ts';
import type { TensorData } from '../io/safetensors.ts';
import { formatShape } from '../tensor/shape.ts';
import type { BatchNormActivation } from '../tensor/norm.ts';

/** An activation a module can apply inside its own kernels: BatchNorm's (ReLU, LeakyReLU), a conv's (LeakyReLU, tanh). */
export type FusedActivation = BatchNormActivation | { kind: 'tanh' };

/** How a buffer is stored in checkpoints (torch keeps num_batches_tracked as int64). */
export type BufferDtype = 'F32' | 'I64';

/** A tensor on the CPU, as decoded from a checkpoint. */
export interface HostTensor {
  shape: readonly number[];
  data: TensorData | ArrayLike<number>;
}

export type StateValue = Tensor | HostTensor;

export interface StateEntry {
  key: string;
  tensor: Tensor;
  kind: 'parameter' | 'buffer';
  dtype: BufferDtype;
}

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Converts host data of any numeric typed array (BigInt64Array included) to float32. */
export function toFloat32(data: HostTensor['data']): Float32Array {
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number((data as ArrayLike<number | bigint>)[i]);
  return out;
}

export abstract class Module {
  /** Training mode (the default) or evaluation mode; changes BatchNorm and Dropout. */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, { tensor: Tensor; dtype: BufferDtype }>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /**
   * The activation of `next` (the module after this one in a Sequential) if this module can apply it inside its
   * own kernels, else null. BatchNorm does so for ReLU and LeakyReLU (one pass forward, none extra backward), the
   * convs for LeakyReLU and Tanh (one pass forward).
   */
  fusableActivation(_next: Module): FusedActivation | null {
    return null;
  }

  /** forward() followed by an activation this module said it can fuse (see fusableActivation). */
  forwardFused(_x: Tensor, activation: FusedActivation): Tensor {
    throw new Error(`${this.describe()} cannot fuse the activation ${activation.kind}`);
  }

  /** Short description for error messages, e.g. `Linear(4, 3)`. */
  describe(): string {
    return this.constructor.name;
  }

  // ---------------------------------------------------------------- registration

  /** Registers `tensor` as the parameter `name` (marks it requiresGrad and keeps it out of tidy scopes). */
  protected registerParameter(name: string, tensor: Tensor): Tensor {
    this.checkFreeName(name);
    tensor.requireGrad().keep();
    tensor.name = name;
    this.params.set(name, tensor);
    return tensor;
  }

  protected registerBuffer(name: string, tensor: Tensor, dtype: BufferDtype = 'F32'): Tensor {
    this.checkFreeName(name);
    tensor.keep();
    tensor.name = name;
    this.buffers.set(name, { tensor, dtype });
    return tensor;
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkFreeName(name);
    this.children.set(name, module);
    // Re-prefix the child's tensor names; registering this module into a parent later prefixes again.
    for (const e of module.stateEntries(name)) e.tensor.name = e.key;
    return module;
  }

  private checkFreeName(name: string): void {
    if (!name || name.includes('.'))
      throw new Error(`${this.describe()}: invalid attribute name "${name}" (must be non-empty, without dots)`);
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new Error(`${this.describe()}: "${name}" is already registered`);
    }
  }

  // ---------------------------------------------------------------- traversal

  /** Direct children in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** This module and every descendant, depth first, with their dotted paths ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Parameters and buffers in torch state_dict order: own parameters, own buffers, then children. */
  stateEntries(prefix = ''): StateEntry[] {
    const key = (n: string) => (prefix ? `${prefix}.${n}` : n);
    const out: StateEntry[] = [];
    for (const [n, t] of this.params) out.push({ key: key(n), tensor: t, kind: 'parameter', dtype: 'F32' });
    for (const [n, b] of this.buffers) out.push({ key: key(n), tensor: b.tensor, kind: 'buffer', dtype: b.dtype });
    for (const [n, child] of this.children) out.push(...child.stateEntries(key(n)));
    return out;
  }

  namedParameters(): [string, Tensor][] {
    return this.stateEntries()
      .filter((e) => e.kind === 'parameter')
      .map((e) => [e.key, e.tensor]);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    return this.stateEntries()
      .filter((e) => e.kind === 'buffer')
      .map((e) => [e.key, e.tensor]);
  }

  /** Every parameter and buffer by its torch key. The tensors are the module's own (not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.stateEntries().map((e) => [e.key, e.tensor]));
  }

  /**
   * Copies values into this module's parameters and buffers. Everything is checked before anything is
   * written, and all problems are reported together. With `strict` (the default) missing and unexpected keys
   * are errors; shape mismatches always are.
   */
  loadStateDict(state: Map<string, StateValue>, opts: { strict?: boolean } = {}): LoadResult {
    const result = this.checkStateDict(state, opts);
    for (const e of this.stateEntries()) {
      const v = state.get(e.key);
      if (v === undefined) continue;
      if (v instanceof Tensor) {
        if (v.buffer !== e.tensor.buffer) e.tensor.assign(v); // loading a module's own state: nothing to copy
      } else e.tensor.assign(toFloat32(v.data));
    }
    return result;
  }

  /** The validation half of loadStateDict: throws on any problem, writes nothing. */
  checkStateDict(state: Map<string, StateValue>, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const entries = this.stateEntries();
    const own = new Set(entries.map((e) => e.key));
    const missingKeys = entries.filter((e) => !state.has(e.key)).map((e) => e.key);
    const unexpectedKeys = [...state.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing key(s): ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected key(s): ${unexpectedKeys.join(', ')}`);
    for (const e of entries) {
      const v = state.get(e.key);
      if (v === undefined) continue;
      const shape = v.shape;
      const sameShape = shape.length === e.tensor.shape.length && shape.every((d, i) => d === e.tensor.shape[i]);
      if (!sameShape)
        problems.push(
          `shape mismatch for ${e.key}: the state dict has ${formatShape(shape)}, the model has ${formatShape(e.tensor.shape)}`,
        );
      else if (!(v instanceof Tensor) && v.data.length !== shapeSize(shape as Shape)) {
        problems.push(
          `${e.key}: shape ${formatShape(shape)} needs ${shapeSize(shape as Shape)} values, got ${v.data.length}`,
        );
      }
    }
    if (problems.length) throw new Error(`loadStateDict(${this.describe()}): ${problems.join('; ')}`);
    return { missingKeys, unexpectedKeys };
  }

  // ---------------------------------------------------------------- modes and memory

  /** Sets training mode on this module and all descendants. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient (torch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Frees parameters, their gradients and buffers. */
  dispose(): void {
    for (const e of this.stateEntries()) {
      e.tensor.zeroGrad();
      e.tensor.dispose();
    }
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}
