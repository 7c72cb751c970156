// batchnorm_sg.wgsl — batchnorm.wgsl with each per-channel reduction done by one subgroup.
//
// Computes: the same as batchnorm.wgsl (the same entries, Params and bindings); the host uses it for the
//   per-channel reductions (batch_stats, backward_sums, backward_group_sums) only.
// What differs: in batchnorm.wgsl a channel's 64 partial sums meet in a tree in workgroup memory, 8 barriers for
//   each sum. On lavapipe every barrier is a switch between the workgroup's invocations, so for the small channels
//   of the DCGAN nets (M = 144 values at batch 16 after 3×3 maps) the barriers, not the adds, set the time. Here a
//   subgroup of SG lanes takes a channel alone (64 / SG channels per workgroup): each lane strides over the
//   channel's values by SG and subgroupAdd sums the lanes, no barrier at all. Its sums are added in another order
//   than batchnorm.wgsl's, so the bits differ (both agree with the float64 reference, tests/norm.test.ts).
//   The host uses it where the device has subgroups of one probed size SG dividing 64 (src/tensor/gpu.ts
//   probeSubgroupSize), on lavapipe, where it was measured (src/tensor/norm.ts, bnSubgroups).
// Gradient: as batchnorm.wgsl.
enable subgroups;

const LANES = {{SG}}u;   // a channel's reductions take one subgroup

fn channel_sum(li: u32, v: vec2<f32>) -> vec2<f32> { return subgroupAdd(v); }

// #include "lib/batchnorm.wgsl" — Params, bindings, the activations and the entries
