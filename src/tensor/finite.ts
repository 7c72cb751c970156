/**
 * The finiteness check of a training state: how many NaN/±Inf values each of many tensors holds, in one launch
 * per (up to) 65535 tensors or 64 MiB of values and one read-back for all of them (shaders/nonfinite.wgsl).
 * The tensors are copied one after another into one packed buffer first (buffer copies, not launches).
 */
import { engine } from './engine.ts';
import { shaderParams } from './params.ts';
import type { Tensor } from './tensor.ts';

const MAX_TENSORS_PER_LAUNCH = 65535;
const MAX_PACK_BYTES = 64 * 1024 * 1024;

/** Number of non-finite values (NaN, +Inf, −Inf) in each tensor, in order. Empty tensors count 0. */
export async function nonFiniteCounts(tensors: readonly Tensor[]): Promise<number[]> {
  const e = engine();
  const counts = new Array<number>(tensors.length).fill(0);
  // Groups of consecutive non-empty tensors that fit one launch.
  const groups: number[][] = [];
  let group: number[] = [];
  let bytes = 0;
  tensors.forEach((t, i) => {
    if (t.size === 0) return;
    if (group.length && (group.length === MAX_TENSORS_PER_LAUNCH || bytes + t.size * 4 > MAX_PACK_BYTES)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(i);
    bytes += t.size * 4;
  });
  if (group.length) groups.push(group);
  if (!groups.length) return counts;

  const countBuf = e.alloc(Math.max(4, tensors.length * 4));
  const temps: GPUBuffer[] = [countBuf];
  try {
    for (const g of groups) {
      const start = new Uint32Array(g.length + 1);
      g.forEach((ti, j) => (start[j + 1] = start[j] + tensors[ti].size));
      const packed = e.alloc(start[g.length] * 4);
      const starts = e.alloc(start.byteLength);
      temps.push(packed, starts);
      e.write(starts, new Float32Array(start.buffer));
      g.forEach((ti, j) => e.copy(tensors[ti].buffer, 0, packed, start[j] * 4, tensors[ti].size * 4));
      // The counts are written at the tensors' own indices: `first` is the group's first, the rest follow it.
      // (Tensors skipped as empty inside a group are not in it, so the indices are the group's, mapped below.)
      const first = g[0];
      e.launch(
        { shader: 'nonfinite' },
        {
          params: shaderParams('nonfinite', { first, tensors: g.length }),
          buffers: [packed, starts, countBuf],
          workgroups: [g.length, 1, 1],
        },
      );
    }
    const bits = new Uint32Array((await e.read(countBuf, 0, Math.max(4, tensors.length * 4))).buffer);
    for (const g of groups) g.forEach((ti, j) => (counts[ti] = bits[g[0] + j]));
    return counts;
  } finally {
    for (const b of temps) e.free(b);
  }
}

/**
 * The first of `named` tensors holding a non-finite value, with its count, or null when all are finite. One
 * read-back for all of them.
 */
export async function firstNonFinite(
  named: readonly (readonly [string, Tensor])[],
): Promise<{ name: string; count: number; size: number } | null> {
  const counts = await nonFiniteCounts(named.map(([, t]) => t));
  const i = counts.findIndex((c) => c > 0);
  return i < 0 ? null : { name: named[i][0], count: counts[i], size: named[i][1].size };
}
