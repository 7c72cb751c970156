// loss_bce.wgsl — binary cross-entropy on logits (torch BCEWithLogitsLoss), elementwise or summed.
//
// Computes:  forward       l = w·(max(x, 0) − x·t + log(1 + e^(−|x|)))   (never exponentiates a positive number,
//                          so it is finite for any finite logit; log(1 + e) uses a series for tiny e, where
//                          1 + e would round to 1 in f32); w = u.scale, torch's `weight` as one number (1: none)
//            forward_sum   L[0] = u.outScale · Σ_i l_i (outScale 1/n for the mean, 1 for the sum): a small
//                          reduced loss (a GAN's D outputs) in one launch instead of forward + a reduction
//            grad_logits   dx = g · (σ(x) − t), with σ evaluated from e^(−|x|) so it cannot overflow
//            grad_targets  dt = −g · x
//   t is either a tensor of x's shape or, with TARGET_SCALAR, the uniform `scalarTarget` (1, 0, 0.9 for smoothing).
//   g is the incoming gradient per element times u.scale (= w) or, with GRAD_SCALAR, one value times u.scale: the
//   gradient of the loss's mean (u.scale = w/n) or sum (u.scale = w), so the reduction's backward is folded into this
//   one pass. So `scale` is w in the forward entries and the gradient's factor in the gradient entries.
// Work split: one invocation per element, 256 per workgroup, 2-D grid past 65535 workgroups; forward_sum one
//   workgroup of 256, each invocation summing every 256th element, then a tree in workgroup memory (the host uses
//   it up to 16384 elements, and forward plus the reduce kernel above).
// Gradient: grad_logits and grad_targets are the gradients of forward and of forward_sum (with GRAD_SCALAR).

struct Params { n: u32, _pad: u32, scalarTarget: f32, scale: f32, outScale: f32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> L: array<f32>;    // forward output
@group(0) @binding(3) var<storage, read> G: array<f32>;          // backward: incoming gradient
@group(0) @binding(4) var<storage, read_write> D: array<f32>;    // grad_logits: dx
// grad_targets needs no t, so its bindings are X, then:
@group(0) @binding(2) var<storage, read> Gt: array<f32>;         // incoming gradient
@group(0) @binding(3) var<storage, read_write> Dt: array<f32>;   // dt

override TARGET_SCALAR: bool = false;
override GRAD_SCALAR: bool = false;

fn target_at(i: u32) -> f32 {
  if (TARGET_SCALAR) { return u.scalarTarget; }
  return T[i];
}

/** The incoming gradient of element i (G: grad_logits' binding). */
fn grad_at(i: u32) -> f32 {
  if (GRAD_SCALAR) { return G[0] * u.scale; }
  return G[i] * u.scale;
}

/** The incoming gradient of element i (Gt: grad_targets' binding). */
fn grad_t_at(i: u32) -> f32 {
  if (GRAD_SCALAR) { return Gt[0] * u.scale; }
  return Gt[i] * u.scale;
}

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * 256u + li; }

/** log(1 + e) for 0 ≤ e ≤ 1. */
fn log1p_small(e: f32) -> f32 {
  if (e < 1e-4) { return e * (1.0 - 0.5 * e); }
  return log(1.0 + e);
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.n) { return; }
  let x = X[i];
  L[i] = u.scale * (max(x, 0.0) - x * target_at(i) + log1p_small(exp(-abs(x))));
}

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn forward_sum(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var i = li; i < u.n; i += 256u) {
    let x = X[i];
    s += u.scale * (max(x, 0.0) - x * target_at(i) + log1p_small(exp(-abs(x))));
  }
  partial[li] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (li < k) { partial[li] += partial[li + k]; }
    workgroupBarrier();
  }
  if (li == 0u) { L[0] = partial[0] * u.outScale; }
}

@compute @workgroup_size(256)
fn grad_logits(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.n) { return; }
  let x = X[i];
  let e = exp(-abs(x));
  let sigmoid = select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
  D[i] = grad_at(i) * (sigmoid - target_at(i));
}

@compute @workgroup_size(256)
fn grad_targets(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.n) { return; }
  Dt[i] = -grad_t_at(i) * X[i];
}
