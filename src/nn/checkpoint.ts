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

export const CHECKPOINT_FORMAT = 'wgpu-gan-checkpoint/1';

export interface CheckpointMeta {
  /** Model configuration (architecture name, sizes, ...). Compared on load when the loader passes one. */
  model?: unknown;
  step?: number;
  epoch?: number;
  [key: string]: unknown;
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
  const reads: Promise<void>[] = [];
  const addTensor = (key: string, t: Tensor, dtype: 'F32' | 'I64') => {
    reads.push(
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
    }
  }
  await Promise.all(reads);
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
}

function parseList(value: string | undefined, field: string): string[] {
  try {
    const list = JSON.parse(value ?? '[]');
    if (Array.isArray(list) && list.every((x) => typeof x === 'string')) return list;
  } catch {
    // reported below
  }
  throw new Error(`loadCheckpoint: metadata field "${field}" is not a JSON list of names: ${value}`);
}

/** Reads only the metadata (step, epoch, model config) of a checkpoint, from its header. */
export function readCheckpointMeta(bytes: Uint8Array): CheckpointMeta {
  return parseCheckpointMetadata(decodeSafetensorsMetadata(bytes)).meta;
}

/** Names of the modules a checkpoint holds (e.g. ["G", "D"]), from its header. */
export function checkpointModules(bytes: Uint8Array): string[] {
  return parseCheckpointMetadata(decodeSafetensorsMetadata(bytes)).modules;
}

function parseCheckpoint(bytes: Uint8Array) {
  const { tensors, metadata } = decodeSafetensors(bytes);
  return { tensors, ...parseCheckpointMetadata(metadata) };
}

function parseCheckpointMetadata(metadata: Record<string, string>) {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `loadCheckpoint: not a checkpoint of this project (metadata format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}")`,
    );
  }
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metadata.meta ?? '{}');
  } catch {
    throw new Error('loadCheckpoint: metadata field "meta" is not valid JSON');
  }
  return {
    meta,
    modules: parseList(metadata.modules, 'modules'),
    optimizers: parseList(metadata.optimizers, 'optimizers'),
  };
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
  const ckpt = parseCheckpoint(bytes);
  if (opts.model !== undefined && stableJson(opts.model) !== stableJson(ckpt.meta.model)) {
    throw new Error(
      `loadCheckpoint: checkpoint is for model ${stableJson(ckpt.meta.model)}, not ${stableJson(opts.model)}`,
    );
  }
  const absentModules = Object.keys(modules).filter((n) => !ckpt.modules.includes(n));
  if (absentModules.length)
    throw new Error(
      `loadCheckpoint: no module ${absentModules.join(', ')} in the checkpoint (it holds modules: ${ckpt.modules.join(', ') || 'none'})`,
    );
  const absentOpts = Object.keys(optimizers).filter((n) => !ckpt.optimizers.includes(n));
  if (absentOpts.length)
    throw new Error(
      `loadCheckpoint: no optimizer ${absentOpts.join(', ')} in the checkpoint (it holds optimizers: ${ckpt.optimizers.join(', ') || 'none'})`,
    );

  const moduleStates = Object.entries(modules).map(([name, m]) => {
    const state = under(ckpt.tensors, name) as Map<string, HostTensor>;
    try {
      m.checkStateDict(state, { strict: opts.strict });
    } catch (e) {
      throw new Error(`loadCheckpoint: module ${name}: ${(e as Error).message}`);
    }
    return [m, state] as const;
  });
  const optimizerStates = Object.entries(optimizers).map(([name, opt]) => {
    const state = under(ckpt.tensors, name) as Map<string, OptimizerStateInput>;
    try {
      opt.checkStateDict(state);
    } catch (e) {
      throw new Error(`loadCheckpoint: optimizer ${name}: ${(e as Error).message}`);
    }
    return [opt, state] as const;
  });
  // Everything checked: now write.
  for (const [m, state] of moduleStates) m.loadStateDict(state, { strict: opts.strict });
  for (const [opt, state] of optimizerStates) opt.loadStateDict(state);
  return ckpt.meta;
}
