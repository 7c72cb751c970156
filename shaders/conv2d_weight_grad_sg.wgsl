// conv2d_weight_grad_sg.wgsl — conv2d_weight_grad.wgsl with the loads of P shared by the lanes of a subgroup.
//
// Computes: the same as conv2d_weight_grad.wgsl (the weight gradient of conv2d or convTranspose2d as a split-K
//   GEMM over pixels, partial sums per chunk), with the same Params, bindings, TM × TC register tile and grid.
// What differs: at each pixel the TM values of P are the same for every invocation of the workgroup. In
//   conv2d_weight_grad.wgsl each invocation loads all TM itself, lane by lane on lavapipe; here lane l of a
//   subgroup of SG loads rows l, l + SG, … (⌈TM/SG⌉ loads instead of TM) and subgroupShuffle hands each value to
//   all lanes (see conv2d_implicit_gemm_sg.wgsl for why this pays on lavapipe). The host uses this version only
//   where the device has the `subgroups` feature and one fixed subgroup size (src/tensor/conv.ts); SG is that size.
// Gradient: not differentiated (second derivatives are not supported).
enable subgroups;
// Each group of CL lanes sums its own chunk of pixels, so the pixel loop's bounds differ between lane groups, and
// WGSL's uniformity analysis, which knows workgroups but not subgroups, rejects the shuffle inside it. The host
// makes CL a multiple of SG, so every lane of a subgroup runs the same iterations (see CL in lib/conv_wgrad.wgsl).
diagnostic(off, subgroup_uniformity);

const SG = {{SG}}u;
fn shareP(v: f32, lane: u32) -> f32 { return subgroupShuffle(v, lane); }

// #include "lib/conv_wgrad.wgsl" — Params, bindings, ACCUMULATE, TM, TC and weightGrad()

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  weightGrad(wg, lid, lane);
}
