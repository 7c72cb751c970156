/**
 * Optimizers: Adam and SGD with torch.optim's update rules, fused kernels (shaders/adam.wgsl, shaders/sgd.wgsl)
 * that rewrite the parameters and their optimizer state in place: Adam several parameters per launch, SGD one.
 *
 * State dicts are flat maps with torch's keys, so a checkpoint can hold them next to the model:
 *   state.<i>.exp_avg, state.<i>.exp_avg_sq, state.<i>.step   (Adam; i = index of the parameter)
 *   state.<i>.momentum_buffer                                  (SGD with momentum)
 *   param_groups.0.lr, param_groups.0.betas, ..., param_groups.0.params
 * Like torch, per-parameter state is created on a parameter's first update, and hyperparameters are taken
 * from the state dict on load. There is a single parameter group.
 */
import { Tensor, engine, type Shape } from '../tensor/index.ts';
import { grid1d } from '../tensor/engine.ts';
import { shaderParams } from '../tensor/params.ts';
import { slotGroups, slotLayout, slotsFitting } from '../tensor/slots.ts';
import { toFloat32, type HostTensor } from './module.ts';
import { formatShape } from '../tensor/shape.ts';

/** A state dict value: a GPU tensor (moment buffers) or plain numbers (step, hyperparameters). */
export type OptimizerStateValue = Tensor | number | number[] | boolean;
/** What loadStateDict accepts: the same, or tensors/numbers decoded to the CPU from a checkpoint. */
export type OptimizerStateInput = OptimizerStateValue | HostTensor;

type Hyper = Record<string, number | number[] | boolean>;

interface ParamState {
  tensors: Map<string, Tensor>;
  step: number;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

function isHostTensor(v: unknown): v is HostTensor {
  return (
    typeof v === 'object' && v !== null && !(v instanceof Tensor) && !Array.isArray(v) && 'data' in v && 'shape' in v
  );
}

/** Reads a number, a list of numbers or a boolean out of a state value of any form. */
function plainValue(key: string, v: OptimizerStateInput): number | number[] {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return Number(v);
  if (Array.isArray(v)) return v;
  if (isHostTensor(v)) {
    const values = Array.from(toFloat32Exact(v.data));
    return v.shape.length === 0 ? values[0] : values;
  }
  throw new Error(`optimizer loadStateDict: ${key} must be a number, not a GPU tensor`);
}

/** A hyperparameter that is one finite number ≥ 0 (not NaN, not a list of one). */
function finiteNonNegative(v: unknown): boolean {
  return typeof v === 'number' && v >= 0 && v < Infinity;
}

/** Host data as numbers, without rounding float64 hyperparameters through float32. */
function toFloat32Exact(data: HostTensor['data']): ArrayLike<number> {
  if (data instanceof Float64Array) return data;
  return toFloat32(data);
}

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  /**
   * Hyperparameters (param_groups.0 names) a loaded state dict must hold as they are here, not change: a program
   * whose optimizer has no option for one (the GAN trainer's Adam always runs with eps 1e-8 and no weight decay)
   * refuses a file that sets it otherwise, rather than training on with a value nothing shows.
   */
  pinned: readonly string[] = [];
  protected readonly state = new Map<number, ParamState>();

  constructor(
    params: Iterable<Tensor>,
    lr: number,
    readonly name: string,
  ) {
    this.params = [...params];
    if (this.params.length === 0) throw new Error(`${name}: got an empty parameter list`);
    if (new Set(this.params).size !== this.params.length)
      throw new Error(`${name}: a parameter appears more than once`);
    this.params.forEach((p, i) => {
      if (!p.requiresGrad)
        throw new Error(`${name}: parameter ${i}${p.name ? ` (${p.name})` : ''} does not require grad`);
    });
    if (!(lr >= 0)) throw new Error(`${name}: invalid learning rate ${lr}`);
    this.lr = lr;
  }

  /** Updates every parameter that has a gradient. */
  abstract step(): void;

  /** Hyperparameters as stored in param_groups.0 (lr included). */
  protected abstract hyperParams(): Hyper;
  protected abstract setHyperParams(h: Record<string, number | number[]>): void;
  /** Names of the per-parameter state tensors a parameter with state must have. */
  protected abstract stateTensorNames(): string[];
  /** Whether per-parameter state includes a step count. */
  protected abstract hasStepCount(): boolean;

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  protected gradOf(i: number): Tensor | null {
    const p = this.params[i];
    const g = p.grad;
    if (!g) return null;
    if (g.size !== p.size)
      throw new Error(
        `${this.name}.step: gradient of parameter ${i}${p.name ? ` (${p.name})` : ''} has shape ${formatShape(g.shape)}, parameter ${formatShape(p.shape)}`,
      );
    return g;
  }

  /** The state of parameter i, created (zeros) on first use. */
  protected stateOf(i: number): ParamState {
    let s = this.state.get(i);
    if (!s) {
      const shape: Shape = this.params[i].shape;
      s = { tensors: new Map(this.stateTensorNames().map((n) => [n, Tensor.zeros(shape).keep()])), step: 0 };
      this.state.set(i, s);
    }
    return s;
  }

  /** Flat torch-style state dict. Tensors are the optimizer's own (not copies). */
  stateDict(): Map<string, OptimizerStateValue> {
    const out = new Map<string, OptimizerStateValue>();
    for (const i of [...this.state.keys()].sort((a, b) => a - b)) {
      const s = this.state.get(i)!;
      if (this.hasStepCount()) out.set(`state.${i}.step`, s.step);
      for (const [n, t] of s.tensors) out.set(`state.${i}.${n}`, t);
    }
    for (const [k, v] of Object.entries(this.hyperParams())) out.set(`param_groups.0.${k}`, v);
    out.set(
      'param_groups.0.params',
      this.params.map((_, i) => i),
    );
    return out;
  }

  /** Loads a state dict (hyperparameters included). Everything is checked before anything is changed. */
  loadStateDict(dict: Map<string, OptimizerStateInput>): void {
    const perParam = this.checkStateDict(dict);
    const hyper: Record<string, number | number[]> = {};
    for (const k of Object.keys(this.hyperParams()))
      hyper[k] = plainValue(`param_groups.0.${k}`, dict.get(`param_groups.0.${k}`)!);
    this.setHyperParams(hyper);
    // Build the new state before freeing the old, which may be the very tensors being loaded.
    const old = [...this.state.values()];
    this.state.clear();
    const tensorNames = this.stateTensorNames();
    for (const [i, fields] of perParam) {
      const s = this.stateOf(i);
      if (this.hasStepCount()) s.step = plainValue(`state.${i}.step`, fields.get('step')!) as number;
      for (const n of tensorNames) {
        const v = fields.get(n)!;
        const t = s.tensors.get(n)!;
        if (v instanceof Tensor) t.assign(v);
        else t.assign(toFloat32((v as HostTensor).data));
      }
    }
    for (const s of old) for (const t of s.tensors.values()) t.dispose();
  }

  /** The validation half of loadStateDict: throws on any problem; returns the state grouped by parameter. */
  checkStateDict(dict: Map<string, OptimizerStateInput>): Map<number, Map<string, OptimizerStateInput>> {
    const problems: string[] = [];
    const hyperKeys = Object.keys(this.hyperParams());
    const tensorNames = this.stateTensorNames();
    const perParam = new Map<number, Map<string, OptimizerStateInput>>();
    const unexpected: string[] = [];
    for (const [key, value] of dict) {
      const m = /^state\.(\d+)\.(\w+)$/.exec(key);
      if (m) {
        const i = Number(m[1]);
        const field = m[2];
        if (field !== 'step' || !this.hasStepCount()) {
          if (!tensorNames.includes(field)) {
            unexpected.push(key);
            continue;
          }
        }
        if (i >= this.params.length) {
          problems.push(`${key} refers to parameter ${i}, but the optimizer has ${this.params.length} parameters`);
          continue;
        }
        if (!perParam.has(i)) perParam.set(i, new Map());
        perParam.get(i)!.set(field, value);
      } else if (
        key.startsWith('param_groups.0.') &&
        [...hyperKeys, 'params'].includes(key.slice('param_groups.0.'.length))
      ) {
        continue;
      } else unexpected.push(key);
    }
    if (unexpected.length) problems.push(`unexpected key(s): ${unexpected.join(', ')}`);
    const missing = [...hyperKeys, 'params'].map((k) => `param_groups.0.${k}`).filter((k) => !dict.has(k));
    if (missing.length) problems.push(`missing key(s): ${missing.join(', ')}`);
    const groupParams = dict.get('param_groups.0.params');
    if (groupParams !== undefined) {
      const list = plainValue('param_groups.0.params', groupParams);
      const count = Array.isArray(list) ? list.length : 1;
      if (count !== this.params.length)
        problems.push(`the state dict is for ${count} parameters, this optimizer has ${this.params.length}`);
    }
    for (const [i, fields] of perParam) {
      const needed = [...tensorNames, ...(this.hasStepCount() ? ['step'] : [])];
      const absent = needed.filter((f) => !fields.has(f));
      if (absent.length) problems.push(`state.${i} lacks ${absent.join(', ')}`);
      const step = fields.get('step');
      if (this.hasStepCount() && step !== undefined && !(step instanceof Tensor)) {
        const n = plainValue(`state.${i}.step`, step);
        if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
          problems.push(
            `state.${i}.step must be a non-negative integer (at most 2^53 - 1), got ${Array.isArray(n) ? `[${n}]` : n}`,
          );
      } else if (step instanceof Tensor) problems.push(`state.${i}.step must be a number, not a GPU tensor`);
      for (const n of tensorNames) {
        const v = fields.get(n);
        if (v === undefined) continue;
        const shape = v instanceof Tensor || isHostTensor(v) ? v.shape : null;
        if (!shape) problems.push(`state.${i}.${n} must be a tensor`);
        else if (!sameShape(shape, this.params[i].shape)) {
          const pn = this.params[i].name ? ` (${this.params[i].name})` : '';
          problems.push(
            `shape mismatch for state.${i}.${n}: the state dict has ${formatShape(shape)}, parameter ${i}${pn} has ${formatShape(this.params[i].shape)}`,
          );
        }
      }
    }
    if (!missing.length) problems.push(...this.hyperProblems(dict));
    if (problems.length) throw new Error(`${this.name}.loadStateDict: ${problems.join('; ')}`);
    return perParam;
  }

  /**
   * What is wrong with the hyperparameters a state dict holds (betas out of range, a negative eps, amsgrad): found
   * by setting them and then putting this optimizer's own fields back as they were (assigned, not set through the
   * checks again), so a bad file is refused before anything changes.
   */
  private hyperProblems(dict: Map<string, OptimizerStateInput>): string[] {
    const saved = { ...this };
    try {
      const hyper: Record<string, number | number[]> = {};
      const own = this.hyperParams();
      for (const k of Object.keys(own)) hyper[k] = plainValue(`param_groups.0.${k}`, dict.get(`param_groups.0.${k}`)!);
      this.setHyperParams(hyper); // values out of range are named first
      // (a value stored as float32 reads back rounded: 1e-8 as 9.99999993922529e-9 is the same setting)
      const same = (a: unknown, b: unknown) =>
        JSON.stringify(a) === JSON.stringify(b) ||
        (typeof a === 'number' && typeof b === 'number' && Math.fround(a) === Math.fround(b));
      return this.pinned
        .filter((k) => !same(hyper[k], own[k]))
        .map(
          (k) =>
            `param_groups.0.${k} is ${JSON.stringify(hyper[k])}; this ${this.name} runs with ${JSON.stringify(own[k])}, which a state dict does not change`,
        );
    } catch (e) {
      return [(e as Error).message.replace(/^(optimizer loadStateDict|\w+(\.loadStateDict)?): /, '')];
    } finally {
      Object.assign(this, saved);
    }
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of s.tensors.values()) t.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    this.disposeState();
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** L2 penalty added to the gradient (torch.optim.Adam's weight_decay, not AdamW's decoupled decay). */
  weightDecay?: number;
}

/**
 * Parameters per Adam launch: adam.wgsl has 4 slots of 4 storage buffers each, and the device may bind fewer
 * (WebGPU's default limit of 8 storage buffers per stage: 2 slots).
 */
export function adamSlots(): number {
  return Math.min(Adam.maxSlots, slotsFitting(4));
}

/** Adam (torch.optim.Adam semantics, amsgrad off). */
export class Adam extends Optimizer {
  /** Most parameters per launch (1–4; fewer when the device binds fewer storage buffers): tests vary it. */
  static maxSlots = 4;
  betas: [number, number];
  eps: number;
  weightDecay: number;

  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super(params, opts.lr ?? 1e-3, 'Adam');
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.validate();
  }

  private validate(): void {
    const [b1, b2] = this.betas;
    if (!finiteNonNegative(this.lr)) throw new Error(`Adam: invalid lr ${this.lr}`);
    if (!(typeof b1 === 'number' && b1 >= 0 && b1 < 1) || !(typeof b2 === 'number' && b2 >= 0 && b2 < 1))
      throw new Error(`Adam: betas must be in [0, 1), got [${this.betas}]`);
    if (!finiteNonNegative(this.eps)) throw new Error(`Adam: invalid eps ${this.eps}`);
    if (!finiteNonNegative(this.weightDecay)) throw new Error(`Adam: invalid weightDecay ${this.weightDecay}`);
  }

  /**
   * Updates every parameter with a gradient: up to `adamSlots()` parameters per launch (shaders/adam.wgsl), each
   * with its own step count's bias corrections.
   */
  step(): void {
    const [beta1, beta2] = this.betas;
    const todo: { p: Tensor; grad: Tensor; s: ParamState }[] = [];
    this.params.forEach((p, i) => {
      const grad = this.gradOf(i);
      if (!grad || p.size === 0) return;
      const s = this.stateOf(i);
      s.step++;
      todo.push({ p, grad, s });
    });
    for (const group of slotGroups(todo, adamSlots())) {
      const { n, start, workgroups } = slotLayout(group.map(({ p }) => p.size));
      // Bias corrections (and 1 − β) in float64 on the host; the kernel gets the derived factors.
      const stepSize = [0, 0, 0, 0];
      const bc2Sqrt = [1, 1, 1, 1];
      group.forEach(({ s }, k) => {
        stepSize[k] = this.lr / (1 - beta1 ** s.step);
        bc2Sqrt[k] = Math.sqrt(1 - beta2 ** s.step);
      });
      engine().launch(
        { shader: 'adam', entry: `slots${group.length}` },
        {
          params: shaderParams('adam', {
            beta1,
            beta2,
            one_minus_beta1: 1 - beta1,
            one_minus_beta2: 1 - beta2,
            eps: this.eps,
            weight_decay: this.weightDecay,
            n,
            start,
            step_size: stepSize,
            bc2_sqrt: bc2Sqrt,
          }),
          buffers: group.flatMap(({ p, grad, s }) => [
            p.buffer,
            grad.buffer,
            s.tensors.get('exp_avg')!.buffer,
            s.tensors.get('exp_avg_sq')!.buffer,
          ]),
          workgroups,
        },
      );
    }
  }

  protected hyperParams(): Hyper {
    return { lr: this.lr, betas: [...this.betas], eps: this.eps, weight_decay: this.weightDecay, amsgrad: false };
  }

  protected setHyperParams(h: Record<string, number | number[]>): void {
    const betas = h.betas;
    if (!Array.isArray(betas) || betas.length !== 2)
      throw new Error(`Adam.loadStateDict: param_groups.0.betas must hold 2 numbers, got ${JSON.stringify(betas)}`);
    if (h.amsgrad)
      throw new Error('Adam.loadStateDict: the state dict uses amsgrad, which this Adam does not implement');
    this.lr = h.lr as number;
    this.betas = [betas[0], betas[1]];
    this.eps = h.eps as number;
    this.weightDecay = h.weight_decay as number;
    this.validate();
  }

  protected stateTensorNames(): string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected hasStepCount(): boolean {
    return true;
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** Stochastic gradient descent with optional (Nesterov) momentum, torch.optim.SGD semantics. */
export class SGD extends Optimizer {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;

  constructor(params: Iterable<Tensor>, opts: SGDOptions) {
    super(params, opts.lr, 'SGD');
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    this.validate();
  }

  private validate(): void {
    if (!finiteNonNegative(this.lr)) throw new Error(`SGD: invalid lr ${this.lr}`);
    if (!finiteNonNegative(this.momentum)) throw new Error(`SGD: invalid momentum ${this.momentum}`);
    if (typeof this.dampening !== 'number' || !Number.isFinite(this.dampening))
      throw new Error(`SGD: invalid dampening ${this.dampening}`);
    if (!finiteNonNegative(this.weightDecay)) throw new Error(`SGD: invalid weightDecay ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new Error('SGD: nesterov momentum needs momentum > 0 and dampening = 0');
  }

  step(): void {
    this.params.forEach((p, i) => {
      const grad = this.gradOf(i);
      if (!grad || p.size === 0) return;
      const useMomentum = this.momentum !== 0;
      const firstStep = useMomentum && !this.state.has(i);
      const buffers = [p.buffer, grad.buffer];
      if (useMomentum) buffers.push(this.stateOf(i).tensors.get('momentum_buffer')!.buffer);
      engine().launch(
        { shader: 'sgd', entry: useMomentum ? 'with_momentum' : 'plain' },
        {
          params: shaderParams('sgd', {
            n: p.size,
            first_step: firstStep ? 1 : 0,
            nesterov: this.nesterov ? 1 : 0,
            lr: this.lr,
            momentum: this.momentum,
            one_minus_dampening: 1 - this.dampening,
            weight_decay: this.weightDecay,
          }),
          buffers,
          workgroups: grid1d(Math.ceil(p.size / 4), 256), // 4 elements per invocation
        },
      );
    });
  }

  protected hyperParams(): Hyper {
    return {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weight_decay: this.weightDecay,
      nesterov: this.nesterov,
    };
  }

  protected setHyperParams(h: Record<string, number | number[]>): void {
    this.lr = h.lr as number;
    this.momentum = h.momentum as number;
    this.dampening = h.dampening as number;
    this.weightDecay = h.weight_decay as number;
    this.nesterov = Boolean(h.nesterov);
    this.validate();
  }

  /** Only allocated when momentum is on (step() never asks for state otherwise). */
  protected stateTensorNames(): string[] {
    return ['momentum_buffer'];
  }

  protected hasStepCount(): boolean {
    return false;
  }
}
