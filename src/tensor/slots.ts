/**
 * The layout of a launch over several tensors at once (shaders/adam.wgsl, shaders/ema.wgsl,
 * shaders/conv_pack_weight.wgsl): up to 4 "slots",
 * each a tensor (with its companions) bound at its own bindings, processed 4 elements per invocation and 256
 * invocations per workgroup. Slot k owns workgroups start[k] … start[k+1] − 1; an unused slot starts past every
 * workgroup (SLOT_UNUSED), so the shader's search for a workgroup's slot never reaches it.
 */
import { engine, grid1d } from './engine.ts';

export const MAX_SLOTS = 4;
export const SLOT_UNUSED = 0xffffffff;
/** Elements a workgroup covers: 256 invocations of a vec4. */
const PER_WORKGROUP = 1024;

export interface SlotLayout {
  /** Elements of each slot's tensor (0 for unused slots). */
  n: number[];
  start: number[];
  workgroups: [number, number, number];
}

/**
 * The uniforms and grid of one launch over tensors of `sizes` units (1 to MAX_SLOTS of them, each > 0), a workgroup
 * covering `perWorkgroup` of them: elements, 1024 (256 invocations of a vec4) in adam and ema; packed rows, 256, in
 * conv_pack_weight.
 */
export function slotLayout(sizes: readonly number[], perWorkgroup = PER_WORKGROUP): SlotLayout {
  if (sizes.length < 1 || sizes.length > MAX_SLOTS)
    throw new Error(`slotLayout: 1 to ${MAX_SLOTS} tensors per launch, got ${sizes.length}`);
  const n = [0, 0, 0, 0];
  const start = [0, SLOT_UNUSED, SLOT_UNUSED, SLOT_UNUSED];
  let total = 0;
  sizes.forEach((size, k) => {
    if (!(Number.isInteger(size) && size > 0)) throw new Error(`slotLayout: tensor ${k} has ${size} elements`);
    n[k] = size;
    start[k] = total;
    total += Math.ceil(size / perWorkgroup);
  });
  return { n, start, workgroups: grid1d(total * 256, 256) };
}

/** Slots per launch for a shader with `bindingsPerSlot` storage buffers per slot, within the device's limit. */
export function slotsFitting(bindingsPerSlot: number): number {
  const byLimit = Math.floor(engine().device.limits.maxStorageBuffersPerShaderStage / bindingsPerSlot);
  return Math.max(1, Math.min(MAX_SLOTS, byLimit));
}

/** Splits `items` into launches of at most `slots` each, in order. */
export function slotGroups<T>(items: readonly T[], slots: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += slots) groups.push(items.slice(i, i + slots));
  return groups;
}
