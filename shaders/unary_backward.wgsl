// unary_backward.wgsl — gradient of an elementwise function: dx = g · f'(x).
//
// Computes:  dX[i] = {{GRAD}}, an expression in x = X[i], y = Y[i] (the forward output, which several
//   derivatives reuse: exp' = y, sigmoid' = y(1-y), tanh' = 1-y²), g = G[i] (the upstream gradient), and the
//   forward's scalars a, b. The expression comes from the op table in src/tensor/elementwise.ts.
// Work split: each invocation handles PER elements (set by the host) strided by the workgroup size of 256,
//   2-D grid for large n — as unary.wgsl.
// Gradient of this kernel: not needed (no double backward).

struct Params { n: u32, _pad: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Y: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<f32>;

fn powf(x: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (x > 0.0) { return pow(x, p); }
  if (x == 0.0) { return select(0.0, 1.0 / x, p < 0.0); }   // runtime 1/0 = +inf
  if (floor(p) != p) { return sqrt(x); }                       // x < 0 here: NaN
  let m = pow(-x, p);
  return select(m, -m, (i32(p) & 1) == 1);
}

fn df(x: f32, y: f32, g: f32, a: f32, b: f32) -> f32 { return {{GRAD}}; }

override PER: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let first = (wg.y * nwg.x + wg.x) * 256u * PER + li;
  for (var k = 0u; k < PER; k++) {
    let i = first + k * 256u;
    if (i < u.n) { DX[i] = df(X[i], Y[i], G[i], u.a, u.b); }
  }
}
