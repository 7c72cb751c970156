// matmul_split_sum.wgsl — the second pass of a split-K matrix product: adds the partial products.
//
// Computes:  C[b·cBatchStride + i] (+)= Σ_{s < splits} P[(b·splits + s)·M·N + i]   for i < M·N, b < batch,
//   where P holds the partial products op(A)·op(B) over k ∈ [s·kChunk, (s+1)·kChunk) written by matmul.wgsl
//   or matmul_tiled.wgsl (see "Split-K" there). ACCUMULATE adds into C, as the one-pass product would.
//   The partials are summed in order s = 0, 1, … so the result does not depend on scheduling.
// Work split: one invocation per element i of one output matrix, 256 per workgroup; grid (⌈M·N/256⌉, 1, batch).
//   The host splits only products whose C is small, so M·N/256 stays far below the 65535-workgroup limit.
// Gradient: none of its own; a split product's gradient is again matmul.wgsl (see its header).

struct Params { count: u32, splits: u32, cBatchStride: u32, _p: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;

override ACCUMULATE: bool = false;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = wg.x * 256u + li;
  if (i >= u.count) { return; }
  let b = wg.z;
  var sum = 0.0;
  for (var s = 0u; s < u.splits; s++) { sum += P[(b * u.splits + s) * u.count + i]; }
  let o = b * u.cBatchStride + i;
  if (ACCUMULATE) { C[o] = C[o] + sum; } else { C[o] = sum; }
}
