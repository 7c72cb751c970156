// adam.wgsl — one fused Adam step (Kingma & Ba, with torch.optim.Adam's exact formulation) for up to 4 parameters
// in one launch.
//
// Computes, for each parameter k of the launch and each of its elements i, in place:
//   g    = grad[i] + weight_decay · p[i]                 (L2 penalty folded into the gradient, as torch Adam)
//   m[i] = β1 · m[i] + (1 − β1) · g                      (first moment, "exp_avg")
//   v[i] = β2 · v[i] + (1 − β2) · g²                     (second moment, "exp_avg_sq")
//   p[i] = p[i] − step_size_k · m[i] / (√v[i] / bc2_sqrt_k + ε)
// with the bias corrections of parameter k's step t (1-based) computed on the host in float64 and passed as uniforms:
//   step_size = lr / (1 − β1^t),   bc2_sqrt = √(1 − β2^t).
// 1 − β1 and 1 − β2 are also computed in float64 and passed in (as torch does): forming 1 − β2 in float32
//   from β2 = 0.999 rounded to float32 would be off by 1.3e-5 relative.
// Fusing the whole update into one kernel reads p, grad, m, v once and writes p, m, v once: 7 memory passes
// instead of the ~20 an unfused sequence of elementwise ops would need.
// Slots: a parameter and its gradient and moments are slot k's four bindings 4k+1 … 4k+4. WGSL cannot pick a
//   binding by a run-time index, so each slot has its own update function, and entry point `slotsK` serves slots
//   0 … K−1 (an entry point needs only the bindings its code reaches). The host takes the most slots the device's
//   storage-buffer limit allows (16 buffers: 4 slots; WebGPU's default of 8: 2), so a DCGAN's 10 parameters take
//   3 launches instead of 10.
// Work split: one invocation per 4 consecutive elements (vec4 loads and stores: on lavapipe one element per
//   invocation is dominated by per-invocation overhead: slower in a scratch A/B whose figures were not kept), 256 invocations
//   per workgroup; slot k owns workgroups start[k] … start[k+1] − 1 of a 2-D grid (see fill.wgsl) for large
//   parameters. The last, partial vec4 of a parameter is updated lane by lane so that nothing past its element
//   n − 1 is written. Elements are independent: no shared memory, no barrier.
// Gradient: none (an optimizer update is not differentiated).

struct Params {
  beta1: f32, beta2: f32, one_minus_beta1: f32, one_minus_beta2: f32,
  eps: f32, weight_decay: f32, _p0: u32, _p1: u32,
  n: vec4<u32>,            // elements of slot k's parameter
  start: vec4<u32>,        // slot k's first workgroup; slots past the launch's last start past every workgroup
  step_size: vec4<f32>,
  bc2_sqrt: vec4<f32>,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> param0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> grad0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> exp_avg0: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> exp_avg_sq0: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> param1: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> grad1: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> exp_avg1: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> exp_avg_sq1: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> param2: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> grad2: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read_write> exp_avg2: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> exp_avg_sq2: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read_write> param3: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read> grad3: array<vec4<f32>>;
@group(0) @binding(15) var<storage, read_write> exp_avg3: array<vec4<f32>>;
@group(0) @binding(16) var<storage, read_write> exp_avg_sq3: array<vec4<f32>>;

struct Updated { p: vec4<f32>, m: vec4<f32>, v: vec4<f32> }

/** The update of 4 elements of slot k's parameter. */
fn adam(p: vec4<f32>, grad_in: vec4<f32>, m_in: vec4<f32>, v_in: vec4<f32>, k: u32) -> Updated {
  let g = grad_in + u.weight_decay * p;
  let m = u.beta1 * m_in + u.one_minus_beta1 * g;
  let v = u.beta2 * v_in + u.one_minus_beta2 * g * g;
  return Updated(p - u.step_size[k] * m / (sqrt(v) / u.bc2_sqrt[k] + u.eps), m, v);
}

fn update0(j: u32) {
  let n = lanes(j, u.n[0]);
  if (n == 0u) { return; }
  let r = adam(param0[j], grad0[j], exp_avg0[j], exp_avg_sq0[j], 0u);
  if (n == 4u) { param0[j] = r.p; exp_avg0[j] = r.m; exp_avg_sq0[j] = r.v; return; }
  for (var c = 0u; c < n; c++) { param0[j][c] = r.p[c]; exp_avg0[j][c] = r.m[c]; exp_avg_sq0[j][c] = r.v[c]; }
}

fn update1(j: u32) {
  let n = lanes(j, u.n[1]);
  if (n == 0u) { return; }
  let r = adam(param1[j], grad1[j], exp_avg1[j], exp_avg_sq1[j], 1u);
  if (n == 4u) { param1[j] = r.p; exp_avg1[j] = r.m; exp_avg_sq1[j] = r.v; return; }
  for (var c = 0u; c < n; c++) { param1[j][c] = r.p[c]; exp_avg1[j][c] = r.m[c]; exp_avg_sq1[j][c] = r.v[c]; }
}

fn update2(j: u32) {
  let n = lanes(j, u.n[2]);
  if (n == 0u) { return; }
  let r = adam(param2[j], grad2[j], exp_avg2[j], exp_avg_sq2[j], 2u);
  if (n == 4u) { param2[j] = r.p; exp_avg2[j] = r.m; exp_avg_sq2[j] = r.v; return; }
  for (var c = 0u; c < n; c++) { param2[j][c] = r.p[c]; exp_avg2[j][c] = r.m[c]; exp_avg_sq2[j][c] = r.v[c]; }
}

fn update3(j: u32) {
  let n = lanes(j, u.n[3]);
  if (n == 0u) { return; }
  let r = adam(param3[j], grad3[j], exp_avg3[j], exp_avg_sq3[j], 3u);
  if (n == 4u) { param3[j] = r.p; exp_avg3[j] = r.m; exp_avg_sq3[j] = r.v; return; }
  for (var c = 0u; c < n; c++) { param3[j][c] = r.p[c]; exp_avg3[j][c] = r.m[c]; exp_avg_sq3[j][c] = r.v[c]; }
}

// #include "lib/slots.wgsl" — the entry points slots1 … slots4 over update0 … update3, and lanes()
