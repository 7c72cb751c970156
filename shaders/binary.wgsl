// binary.wgsl — elementwise z = a ⊙ b with numpy/torch broadcasting.
//
// Computes:  Z[i] = op(A[offA(i)], B[offB(i)]), op substituted for {{EXPR}} (a + b, a * b, max_nan(a, b), ...).
//   Broadcasting: the host gives the output shape and, for A and B, a stride per output dimension that is 0
//   where that input has size 1 (or lacks the dimension). offX(i) = Σ_d coord_d(i) · strideX_d.
//   When both inputs already have the output's shape (SAME_SHAPE), the index math is skipped entirely.
// Work split: each invocation handles PER output elements (set by the host) strided by the workgroup size of 256,
//   2-D grid for large n — as unary.wgsl.
// Gradient: composed on the host from this same kernel plus a sum-reduction over the broadcast dimensions
//   (src/tensor/elementwise.ts, with sumTo from src/tensor/reduce-kernel.ts): d(a+b)/da = g, d(a·b)/da = g·b,
//   d(a/b)/db = -g·a/b², ...

struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,     // output shape, up to 8 dims
  strideA: array<vec4<u32>, 2>,
  strideB: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Z: array<f32>;

override SAME_SHAPE: bool = false;

// #include "lib/nan.wgsl" — max_nan(), min_nan() (maximum and minimum keep a NaN)

fn op(a: f32, b: f32) -> f32 { return {{EXPR}}; }

override PER: u32;

fn one(i: u32) {
  if (SAME_SHAPE) { Z[i] = op(A[i], B[i]); return; }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(u.rank) - 1; d >= 0; d--) {
    let size = u.shape[d / 4][d % 4];
    let c = rest % size;
    rest = rest / size;
    ia += c * u.strideA[d / 4][d % 4];
    ib += c * u.strideB[d / 4][d % 4];
  }
  Z[i] = op(A[ia], B[ib]);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let first = (wg.y * nwg.x + wg.x) * 256u * PER + li;
  for (var k = 0u; k < PER; k++) {
    let i = first + k * 256u;
    if (i < u.n) { one(i); }
  }
}
