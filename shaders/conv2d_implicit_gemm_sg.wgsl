// conv2d_implicit_gemm_sg.wgsl — conv2d_implicit_gemm.wgsl with the weight loads shared by the lanes of a subgroup.
//
// Computes: the same as conv2d_implicit_gemm.wgsl (conv2d forward, or TRANSPOSED its input gradient =
//   convTranspose2d forward), with the same Params, bindings, TM × TN register tile and grid.
//   With LEAKY or TANH (lib/activation.wgsl) each output is written as activate(out): the conv and the activation
//   after it in one launch; the op's backward scales the gradient through the output (activationBackwardFromOutput).
// What differs: per step (tap, src channel) the TM weights are the same for every invocation of the workgroup.
//   In conv2d_implicit_gemm.wgsl each invocation loads all TM itself. On lavapipe an invocation is one SIMD lane
//   and a load is made lane by lane (about ten instructions per lane, bounds check included), so those TM loads
//   cost as much as the TN src loads and the TM·TN FMAs together. Here lane l of a subgroup of SG loads weights
//   l, l + SG, … (⌈TM/SG⌉ loads instead of TM) and subgroupShuffle hands each weight to all lanes: on lavapipe
//   (SG = 8) a shuffle by a constant lane is one register broadcast. The host uses this version only where the
//   device has the `subgroups` feature and one fixed subgroup size (src/tensor/conv.ts); SG is that size.
//   It also takes two src channels per step of its channel loop (PAIRED in lib/conv_gather.wgsl): the same sums in
//   the same order, with half the writes of the accumulators, which lavapipe keeps in memory.
//   Its tile can be wider and shorter than the plain kernel's (on lavapipe the host gives it TM = 32 channels × TN = 4
//   pixels, convTiles.gatherSgTM/gatherSgTN, where its cost model wideTileWins says so): a step then makes TN + TM / SG
//   loads lane by lane, 8 per 128 FMAs at 32 × 4 against 12 per 160 at 16 × 10 (elsewhere the plain tile). 32 × 5
//   and 64 × 2 ran several times slower in this kernel (its step no longer unrolled).
//   At TM = 4·SG on lavapipe, with weights whose rows lie side by side (packed, or the 1×1 conv route's read in
//   place when its row count is a multiple of 4), lane l loads weights 4l … 4l + 3 as one vec4 (QUAD_WEIGHTS): one
//   lane-by-lane load in place of four, since lavapipe pays per lane once for a vec4 as for a float.
// Gradient: as conv2d_implicit_gemm.wgsl.
enable subgroups;

const SG = {{SG}}u;
fn shareWeight(v: f32, lane: u32) -> f32 { return subgroupShuffle(v, lane); }
// The weight again (the host binds the same buffer), read 4 at a time with QUAD_WEIGHTS.
@group(0) @binding(5) var<storage, read> wq: array<vec4<f32>>;
fn weightQuad(i: u32) -> vec4<f32> { return wq[i]; }
fn shareQuad(v: vec4<f32>, lane: u32) -> vec4<f32> { return subgroupShuffle(v, lane); }

// #include "lib/conv_gather.wgsl" — Params, bindings, TRANSPOSED, TM, TN and gather()

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  gather(wg, lid, lane);
}
