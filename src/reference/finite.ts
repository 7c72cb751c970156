/**
 * Reference for the finiteness check (shaders/nonfinite.wgsl): per tensor, how many of its values are NaN, +Inf
 * or −Inf. Values are JS numbers (float64; a float32 read back converts exactly, so denormals and the largest
 * finite float32 stay finite).
 */
export function nonFiniteCounts(tensors: readonly ArrayLike<number>[]): number[] {
  return tensors.map((x) => {
    let n = 0;
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) n++;
    return n;
  });
}
