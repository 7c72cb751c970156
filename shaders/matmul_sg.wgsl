// matmul_sg.wgsl — matmul.wgsl with the A values shared by the lanes of a subgroup and B read as vec4s.
//
// Computes: the same as matmul.wgsl (C[b] = op(A[b]) · op(B[b]), or C[b] + that with ACCUMULATE), with the same
//   Params, bindings, 8 × 16 register block, workgroup and grid.
// What differs: per step of k, the 8 invocations along a workgroup row (WG_X = 8) need the same 8 values of A: the
//   rows of their shared block row. In matmul.wgsl each loads all 8 itself; on lavapipe an invocation is one SIMD
//   lane and a load is made lane by lane (about fifteen instructions per lane), so loads, not multiply-adds, set the
//   pace. Here lane l of the subgroup loads row l only and subgroupShuffle hands row r to every lane (on lavapipe a
//   shuffle by a constant lane is a register broadcast). And where op(B)'s row is contiguous and 4-aligned (B not
//   transposed; N, the batch stride and so every block's first column multiples of 4: B_QUAD), its 16 values are 4
//   vec4 loads (lavapipe pays per lane once for a vec4 as for a float), read through a second, vec4 binding of the
//   same buffer. So a step makes 1 + 4 loads per lane where matmul.wgsl makes 8 + 16 (1 + 16 without B_QUAD); the
//   kernel guide times both (docs/kernels/03-matmul.md). Same sums in the same order: the same bits as matmul.wgsl.
//   The host uses it only where the subgroups are exactly the workgroup rows, one lane per row of the 8-row block:
//   subgroups of 8 (checked by probeSubgroupSize in src/tensor/gpu.ts: runs of consecutive invocations) and WG_X = 8,
//   on lavapipe (where it was measured); the small-matrix path (M < 8 or N < 16) shares nothing.
// Gradient: as matmul.wgsl.
enable subgroups;

@group(0) @binding(4) var<storage, read> B4: array<vec4<f32>>;
override B_QUAD: bool = false;

fn laneA(ak: u32, step: u32, lane: u32) -> f32 { return A[ak + lane * step]; }
fn rowA(aL: f32, ak: u32, step: u32, r: u32) -> f32 { return subgroupShuffle(aL, r); }
fn columnsB(bk: u32, step: u32, q: u32) -> vec4<f32> {
  if (B_QUAD) { return B4[bk / 4u + q]; }
  return columnsBScalar(bk, step, q);
}

// #include "lib/matmul_register.wgsl" — Params, bindings, TRANS_A, TRANS_B, ACCUMULATE, WG_X, WG_Y and block()

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  block(wid, lid, lane);
}
