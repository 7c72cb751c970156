// unary.wgsl — elementwise y = f(x; a, b) for one function f chosen on the host.
//
// Computes:  y[i] = f(x[i], a, b), where f is an expression substituted for {{EXPR}} from the op table in
//   src/tensor/elementwise.ts (relu: max(x, 0), a NaN kept; sigmoid: 1/(1+e^-x); pow: x^a; ...). a and b are per-call scalars.
//   One pipeline per op; the expression is inlined, so no branch per element.
// Work split: each invocation handles PER elements (set by the host, 8) strided by the workgroup size of 256, so
//   neighbouring invocations touch neighbouring addresses; 2-D grid for large n. Fewer, fuller workgroups matter on
//   CPU adapters, where each workgroup costs about a microsecond to schedule (the kernel guide times relu with PER = 1
//   beside PER = 8: docs/kernels/01-elementwise.md).
// Gradient: unary_backward.wgsl, dx[i] = g[i] · f'(x[i]), written in terms of x, y = f(x) and g.

struct Params { n: u32, _pad: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

// x^p for any sign of x: integer exponents of negative bases work as in torch; others give NaN.
fn powf(x: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (x > 0.0) { return pow(x, p); }
  if (x == 0.0) { return select(0.0, 1.0 / x, p < 0.0); }   // runtime 1/0 = +inf
  if (floor(p) != p) { return sqrt(x); }                       // x < 0 here: NaN
  let m = pow(-x, p);
  return select(m, -m, (i32(p) & 1) == 1);
}

// #include "lib/activation.wgsl" — stable_tanh()
// #include "lib/nan.wgsl" — max_nan() (relu keeps a NaN)

fn f(x: f32, a: f32, b: f32) -> f32 { return {{EXPR}}; }

override PER: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let first = (wg.y * nwg.x + wg.x) * 256u * PER + li;
  for (var k = 0u; k < PER; k++) {
    let i = first + k * 256u;
    if (i < u.n) { Y[i] = f(X[i], u.a, u.b); }
  }
}
