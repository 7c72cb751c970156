// conv_split_sum.wgsl — the second pass of a split-K conv gather (conv2d_implicit_gemm_tiled.wgsl with SPLIT):
// adds the chunks' partial sums in order, then the bias and the activation.
//
// Computes:  out[i] = activate(Σ_{c < chunks} P[c·count + i] + b[(i / chanSize) % channels])   for i < count,
//   count = N·C·H·W of the NCHW output, chanSize = H·W, channels = C; no bias term when hasBias is 0.
//   The chunks are summed in order c = 0, 1, … so the result does not depend on scheduling; with one chunk it is
//   the unsplit kernel's value bit for bit (the same sum, then the same bias add and activation).
// Work split: one invocation per output value, 256 per workgroup; grid ⌈count/256⌉. A gather is split only when it
//   has fewer than 512 workgroups of at most 128 × 64 outputs, so count < 4.2 million: at most 16,384 workgroups.
// Gradient: none of its own; the op's backward is that of the unsplit conv (see src/tensor/conv.ts).

struct Params { count: u32, chunks: u32, chanSize: u32, channels: u32, hasBias: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// #include "lib/activation.wgsl" — activate()

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = wg.x * 256u + li;
  if (i >= u.count) { return; }
  var sum = 0.0;
  for (var c = 0u; c < u.chunks; c++) { sum += P[c * u.count + i]; }
  if (u.hasBias != 0u) { sum += bias[(i / u.chanSize) % u.channels]; }
  out[i] = activate(sum);
}
