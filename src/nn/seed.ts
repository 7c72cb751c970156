/**
 * Deriving many independent seeds from one: each parameter's initial values come from a seed computed from
 * (base seed, a label such as its state_dict key), so an init is reproducible and does not depend on the
 * order in which tensors happen to be created.
 */

/** 32-bit finalizer (murmur3 fmix32): spreads every input bit over the output. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seed for `label` under `seed`. Labels may be strings (keys) or small integers (counters). */
export function deriveSeed(seed: number, label: string | number): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  const text = String(label);
  for (let i = 0; i < text.length; i++) h = fmix32((h ^ text.charCodeAt(i)) + 0x7feb352d);
  return fmix32(h + text.length);
}
