/**
 * Training checkpoints: several modules and optimizers in one safetensors file.
 *
 * Keys are the state dict keys prefixed by the name each module or optimizer is saved under:
 *   G.main.0.weight, D.main.1.running_mean, optG.state.0.exp_avg, optG.param_groups.0.lr, ...
 * Float32 tensors are stored as F32 (bit exact), num_batches_tracked as I64 (as torch stores it), and
 * optimizer numbers (step, lr, betas, ...) as F64 scalars/vectors so they round-trip exactly.
 * The safetensors metadata holds a format tag, the saved names, and the caller's `meta` as JSON (step,
 * epoch, model config). Loading checks the model config and every key before changing anything.
 * Writing the bytes to disk atomically is the caller's job (src/node/files.ts writeFileAtomic in Node).
 */
import { Tensor } from '../tensor/index.ts';
import {
  encodeSafetensors,
  decodeSafetensors,
  decodeSafetensorsMetadata,
  type TensorToEncode,
  type DecodedTensor,
} from '../io/safetensors.ts';
import type { Module, HostTensor } from './module.ts';
import type { Optimizer, OptimizerStateInput } from './optim.ts';
import { firstNonFinite } from '../tensor/finite.ts';

export const CHECKPOINT_FORMAT = 'wgpu-gan-checkpoint/1';

export interface CheckpointMeta {
  /** Model configuration (architecture name, sizes, ...). Compared on load when the loader passes one. */
  model?: unknown;
  step?: number;
  epoch?: number;
  [key: string]: unknown;
}

/**
 * A checkpoint that cannot be trusted (bad metadata, wrong dtype, non-finite values), or a training state that
 * must not be saved (non-finite values). The message is one line naming the file and the field or tensor; the
 * stack is left out of what is printed, since it says nothing about the file.
 */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
    this.stack = message;
  }
}

/** The training state holds NaN/±Inf: saving it would overwrite the last good checkpoint with a poisoned one. */
export class NonFiniteStateError extends CheckpointError {
  constructor(
    message: string,
    readonly tensor: string,
  ) {
    super(message);
    this.name = 'NonFiniteStateError';
  }
}

function checkName(name: string, what: string): void {
  if (!name || name.includes('.'))
    throw new Error(`saveCheckpoint: ${what} name "${name}" must be non-empty and contain no dots`);
}

/** JSON with object keys sorted, so configs compare equal regardless of key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/** Reads the modules' and optimizers' state back from the GPU and encodes one safetensors file. */
export async function saveCheckpoint(
  modules: Record<string, Module>,
  optimizers: Record<string, Optimizer> = {},
  meta: CheckpointMeta = {},
): Promise<Uint8Array> {
  const tensors: Record<string, TensorToEncode> = {};
  const floats: [string, Tensor][] = [];
  const reads: (() => Promise<void>)[] = [];
  const addTensor = (key: string, t: Tensor, dtype: 'F32' | 'I64') => {
    if (dtype === 'F32') floats.push([key, t]);
    reads.push(() =>
      t.toArray().then((data) => {
        tensors[key] =
          dtype === 'I64'
            ? { dtype, shape: t.shape, data: BigInt64Array.from(data, (v) => BigInt(Math.round(v))) }
            : { dtype, shape: t.shape, data };
      }),
    );
  };
  for (const [name, module] of Object.entries(modules)) {
    checkName(name, 'module');
    for (const e of module.stateEntries()) addTensor(`${name}.${e.key}`, e.tensor, e.dtype);
  }
  for (const [name, opt] of Object.entries(optimizers)) {
    checkName(name, 'optimizer');
    if (name in modules) throw new Error(`saveCheckpoint: "${name}" names both a module and an optimizer`);
    for (const [key, v] of opt.stateDict()) {
      const full = `${name}.${key}`;
      if (v instanceof Tensor) addTensor(full, v, 'F32');
      else if (typeof v === 'boolean') tensors[full] = { dtype: 'BOOL', shape: [], data: Uint8Array.of(v ? 1 : 0) };
      else if (typeof v === 'number') tensors[full] = { dtype: 'F64', shape: [], data: Float64Array.of(v) };
      else tensors[full] = { dtype: 'F64', shape: [v.length], data: Float64Array.from(v) };
      const bad = [v].flat().find((x) => typeof x === 'number' && !Number.isFinite(x));
      if (bad !== undefined)
        throw new NonFiniteStateError(`saveCheckpoint: ${full} is ${bad}; not writing a checkpoint`, full);
    }
  }
  // One launch and one read-back for all float tensors, before anything else is read back.
  const bad = await firstNonFinite(floats);
  if (bad) {
    throw new NonFiniteStateError(
      `saveCheckpoint: ${bad.name} holds ${bad.count} non-finite value${bad.count > 1 ? 's' : ''} (NaN/Inf) of ${bad.size}: the training state has diverged; not writing a checkpoint`,
      bad.name,
    );
  }
  await Promise.all(reads.map((r) => r()));
  return encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    modules: JSON.stringify(Object.keys(modules)),
    optimizers: JSON.stringify(Object.keys(optimizers)),
    meta: stableJson(meta),
  });
}

export interface LoadCheckpointOptions {
  /** Expected model config; loading fails when the checkpoint's `meta.model` differs. */
  model?: unknown;
  /** Missing/unexpected module keys are errors unless false (shape mismatches always are). */
  strict?: boolean;
  /** Name of the file the bytes come from, for error messages. */
  file?: string;
}

/** The prefix of every loader error: the function and the file. */
const where = (file: string | undefined) => (file ? `loadCheckpoint: ${file}:` : 'loadCheckpoint:');

function parseList(value: string | undefined, field: string, file: string | undefined): string[] {
  try {
    const list = JSON.parse(value ?? '[]');
    if (Array.isArray(list) && list.every((x) => typeof x === 'string' && x !== '' && !x.includes('.'))) return list;
  } catch {
    // reported below
  }
  throw new CheckpointError(
    `${where(file)} metadata field "${field}" is not a JSON list of names: ${JSON.stringify(value)?.slice(0, 200)}`,
  );
}

/** A JSON value of a metadata field for an error message, cut short. */
export function shortJson(v: unknown): string {
  let s: string;
  try {
    // a number JSON cannot write (1e400 reads as Infinity) would show as null
    s = typeof v === 'number' && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    // nested too deep for the stack (a hostile file's [[[[…]]]]), or not JSON at all
    s = Array.isArray(v) ? 'a deeply nested list' : typeof v === 'object' ? 'a deeply nested object' : `a ${typeof v}`;
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** A counter (step, epoch): a non-negative safe integer. */
export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Wraps the safetensors decoder's errors with the file name (the decoder knows only the bytes); errors that
 * already name the file pass through.
 */
function decodeWith<T>(file: string | undefined, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const msg = (e as Error).message;
    throw new CheckpointError(file && msg.includes(file) ? msg : `${where(file)} ${msg}`);
  }
}

/** Reads only the metadata (step, epoch, model config) of a checkpoint, from its header, checked as on load. */
export function readCheckpointMeta(bytes: Uint8Array, file?: string): CheckpointMeta {
  return parseCheckpointMetadata(
    decodeWith(file, () => decodeSafetensorsMetadata(bytes)),
    file,
  ).meta;
}

/** Names of the modules a checkpoint holds (e.g. ["G", "D"]), from its header. */
export function checkpointModules(bytes: Uint8Array, file?: string): string[] {
  return parseCheckpointMetadata(
    decodeWith(file, () => decodeSafetensorsMetadata(bytes)),
    file,
  ).modules;
}

function parseCheckpoint(bytes: Uint8Array, file: string | undefined) {
  const { tensors, metadata } = decodeWith(file, () => decodeSafetensors(bytes));
  return { tensors, ...parseCheckpointMetadata(metadata, file) };
}

/**
 * The checkpoint's own metadata, checked before anything is trusted: the format tag, the lists of names, and
 * `meta` a JSON object whose step and epoch (when present) are non-negative safe integers and whose lastLossD is
 * a number or null. Every error is one line naming the file and the field.
 */
function parseCheckpointMetadata(metadata: Record<string, string>, file: string | undefined) {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${where(file)} not a checkpoint of this project (metadata format is ${shortJson(metadata.format)}, expected "${CHECKPOINT_FORMAT}")`,
    );
  }
  let meta: unknown;
  try {
    meta = JSON.parse(metadata.meta ?? '{}');
  } catch {
    throw new CheckpointError(`${where(file)} metadata field "meta" is not valid JSON`);
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta))
    throw new CheckpointError(`${where(file)} metadata field "meta" must be a JSON object, got ${shortJson(meta)}`);
  const m = meta as CheckpointMeta;
  for (const field of ['step', 'epoch'] as const) {
    if (m[field] !== undefined && !isCount(m[field]))
      throw new CheckpointError(
        `${where(file)} meta.${field} must be a non-negative integer (at most 2^53 - 1), got ${shortJson(m[field])}`,
      );
  }
  if (m.lastLossD !== undefined && m.lastLossD !== null && typeof m.lastLossD !== 'number')
    throw new CheckpointError(`${where(file)} meta.lastLossD must be a number or null, got ${shortJson(m.lastLossD)}`);
  const modules = parseList(metadata.modules, 'modules', file);
  const optimizers = parseList(metadata.optimizers, 'optimizers', file);
  const both = modules.filter((n) => optimizers.includes(n));
  if (both.length)
    throw new CheckpointError(`${where(file)} metadata names ${both.join(', ')} both a module and an optimizer`);
  return { meta: m, modules, optimizers };
}

/** "NaN", "Infinity" or "-Infinity": the first non-finite value of a tensor's data, and how many there are. */
export function nonFinite(data: ArrayLike<number | bigint>): { count: number; first: number } | null {
  let count = 0;
  let first = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v === 'number' && !Number.isFinite(v)) {
      if (count++ === 0) first = v;
    }
  }
  return count ? { count, first } : null;
}

const INT_DTYPES = new Set(['I8', 'I16', 'I32', 'I64', 'U8', 'U16', 'U32', 'U64']);
/** Tensors that hold variances: a module's BatchNorm running_var, an optimizer's exp_avg_sq (and max_exp_avg_sq). */
const NON_NEGATIVE = /(^|\.)(running_var|exp_avg_sq|max_exp_avg_sq)$/;

/**
 * The values of the tensors about to be loaded: float state stored as F32 (a float tensor stored as I32/U32 would
 * load its bit patterns as integers), integer buffers (num_batches_tracked) as integers, optimizer numbers as
 * F64/F32 (or BOOL/integers), and every float value finite. Throws on the first problem, naming file and tensor.
 */
function checkValues(
  tensors: Map<string, DecodedTensor>,
  modules: Record<string, Module>,
  optimizers: Record<string, Optimizer>,
  file: string | undefined,
): void {
  const check = (key: string, ok: boolean, expected: string) => {
    const t = tensors.get(key);
    if (!t) return;
    if (!ok) throw new CheckpointError(`${where(file)} tensor ${key} has dtype ${t.dtype}, expected ${expected}`);
    const bad = nonFinite(t.data as ArrayLike<number | bigint>);
    if (bad)
      throw new CheckpointError(
        `${where(file)} tensor ${key} holds ${bad.count} non-finite value${bad.count > 1 ? 's' : ''} (first: ${bad.first}) of ${t.data.length}; refusing a diverged checkpoint`,
      );
    // Variances (BatchNorm's running one, Adam's second moments) are never negative: a negative one would turn
    // every sample drawn from the checkpoint into NaN, and a resumed run would save it again.
    if (NON_NEGATIVE.test(key)) {
      const data = t.data as ArrayLike<number>;
      let count = 0;
      let first = 0;
      for (let i = 0; i < data.length; i++) if (data[i]! < 0 && count++ === 0) first = data[i]!;
      if (count)
        throw new CheckpointError(
          `${where(file)} tensor ${key} holds ${count} negative value${count > 1 ? 's' : ''} (first: ${first}) of ${data.length}; a variance cannot be negative, refusing the checkpoint`,
        );
    }
  };
  for (const [name, m] of Object.entries(modules)) {
    for (const e of m.stateEntries()) {
      const key = `${name}.${e.key}`;
      const t = tensors.get(key);
      if (t)
        check(
          key,
          e.dtype === 'F32' ? t.dtype === 'F32' : INT_DTYPES.has(t.dtype),
          e.dtype === 'F32' ? 'F32' : 'an integer dtype (I64)',
        );
    }
  }
  for (const name of Object.keys(optimizers)) {
    for (const [k, t] of under(tensors, name)) {
      const key = `${name}.${k}`;
      const isState = /^state\.\d+\.(?!step$)\w+$/.test(k);
      if (isState) check(key, t.dtype === 'F32', 'F32');
      else check(key, t.dtype === 'F64' || t.dtype === 'F32' || t.dtype === 'BOOL' || INT_DTYPES.has(t.dtype), 'F64');
    }
  }
}

/** Entries of `tensors` under `prefix.`, with the prefix removed. */
function under(tensors: Map<string, DecodedTensor>, prefix: string): Map<string, DecodedTensor> {
  const out = new Map<string, DecodedTensor>();
  for (const [k, v] of tensors) if (k.startsWith(`${prefix}.`)) out.set(k.slice(prefix.length + 1), v);
  return out;
}

/**
 * Loads a checkpoint into the given modules and optimizers (a subset of what was saved is fine, e.g. only
 * the generator for sampling). Checks the model config (when `opts.model` is given) and every key and shape
 * of every requested module and optimizer before writing anything. Returns the saved `meta`.
 */
export function loadCheckpoint(
  bytes: Uint8Array,
  modules: Record<string, Module>,
  optimizers: Record<string, Optimizer> = {},
  opts: LoadCheckpointOptions = {},
): CheckpointMeta {
  const file = opts.file;
  const ckpt = parseCheckpoint(bytes, file);
  if (opts.model !== undefined && stableJson(opts.model) !== stableJson(ckpt.meta.model)) {
    throw new CheckpointError(
      `${where(file)} checkpoint is for model ${stableJson(ckpt.meta.model)}, not ${stableJson(opts.model)}`,
    );
  }
  const absentModules = Object.keys(modules).filter((n) => !ckpt.modules.includes(n));
  if (absentModules.length)
    throw new CheckpointError(
      `${where(file)} no module ${absentModules.join(', ')} in the checkpoint (it holds modules: ${ckpt.modules.join(', ') || 'none'})`,
    );
  const absentOpts = Object.keys(optimizers).filter((n) => !ckpt.optimizers.includes(n));
  if (absentOpts.length)
    throw new CheckpointError(
      `${where(file)} no optimizer ${absentOpts.join(', ')} in the checkpoint (it holds optimizers: ${ckpt.optimizers.join(', ') || 'none'})`,
    );

  const moduleStates = Object.entries(modules).map(([name, m]) => {
    const state = under(ckpt.tensors, name) as Map<string, HostTensor>;
    try {
      m.checkStateDict(state, { strict: opts.strict });
    } catch (e) {
      throw new CheckpointError(`${where(file)} module ${name}: ${(e as Error).message}`);
    }
    return [m, state] as const;
  });
  // Non-finite and wrongly typed values first: an optimizer's own checks would see a NaN rate only as invalid.
  checkValues(ckpt.tensors, modules, optimizers, file);
  const optimizerStates = Object.entries(optimizers).map(([name, opt]) => {
    const state = under(ckpt.tensors, name) as Map<string, OptimizerStateInput>;
    try {
      opt.checkStateDict(state);
    } catch (e) {
      throw new CheckpointError(`${where(file)} optimizer ${name}: ${(e as Error).message}`);
    }
    return [opt, state] as const;
  });
  // Everything checked: now write.
  for (const [m, state] of moduleStates) m.loadStateDict(state, { strict: opts.strict });
  for (const [opt, state] of optimizerStates) opt.loadStateDict(state);
  return ckpt.meta;
}
