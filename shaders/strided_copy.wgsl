// strided_copy.wgsl — copies between a contiguous tensor and a strided view of another buffer.
//
// Computes:  gather:  Y[i]                    = X[offset + Σ_d coord_d(i) · stride_d]   (· scale with SCALED)
//            scatter: Y[offset + Σ_d coord_d(i) · stride_d] = X[i]
//   where coord(i) are the coordinates of i in the (contiguous) shape given. With the right strides this one
//   kernel is permute/transpose (permuted strides), slice (offset + strides × step), expand (stride 0) and
//   concat (scatter each input into its slice of the output). A SCALED gather is expand-and-multiply in one
//   pass: the gradient of a mean (the upstream gradient broadcast, times 1/count).
// Work split: one invocation per element of the contiguous side, 256 per workgroup, 2-D grid for large n.
// Gradient: permute ↔ inverse permute, slice ↔ scatter into zeros, expand ↔ sum over expanded dims,
//   concat ↔ slices (all composed on the host in src/tensor/movement.ts).

struct Params {
  n: u32, rank: u32, offset: u32, scale: f32,
  shape: array<vec4<u32>, 2>,
  stride: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

override SCALED: bool = false;   // gather: multiply by u.scale (off: an exact copy, denormals included)

fn strided_offset(i: u32) -> u32 {
  var rest = i;
  var o = u.offset;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let size = u.shape[d / 4][d % 4];
    o += (rest % size) * u.stride[d / 4][d % 4];
    rest = rest / size;
  }
  return o;
}

@compute @workgroup_size(256)
fn gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  if (SCALED) { Y[i] = X[strided_offset(i)] * u.scale; } else { Y[i] = X[strided_offset(i)]; }
}

@compute @workgroup_size(256)
fn scatter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  Y[strided_offset(i)] = X[i];
}
