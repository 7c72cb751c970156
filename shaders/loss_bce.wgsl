// loss_bce.wgsl — elementwise binary cross-entropy on logits (torch BCEWithLogitsLoss, reduction 'none').
//
// Computes:  forward       l = w·(max(x, 0) − x·t + log(1 + e^(−|x|)))   (never exponentiates a positive number,
//                          so it is finite for any finite logit; log(1 + e) uses a series for tiny e, where
//                          1 + e would round to 1 in f32); w = u.gScale, torch's `weight` as one number (1: none)
//            grad_logits   dx = g · (σ(x) − t), with σ evaluated from e^(−|x|) so it cannot overflow
//            grad_targets  dt = −g · x
//   t is either a tensor of x's shape or, with TARGET_SCALAR, the uniform `scalarTarget` (1, 0, 0.9 for smoothing).
//   g is the incoming gradient per element times w (gScale = w) or, with GRAD_SCALAR, one value times gScale: the
//   gradient of the loss's mean (gScale = w/n) or sum (w), so the reduction's backward is folded into this one pass.
// Work split: one invocation per element, 256 per workgroup, 2-D grid past 65535 workgroups.
// Gradient: grad_logits and grad_targets are the gradients of forward; the mean/sum reduction is done on
//   the host with the reduce kernel.

struct Params { n: u32, _pad: u32, scalarTarget: f32, gScale: f32 }
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
  if (GRAD_SCALAR) { return G[0] * u.gScale; }
  return G[i] * u.gScale;
}

/** The incoming gradient of element i (Gt: grad_targets' binding). */
fn grad_t_at(i: u32) -> f32 {
  if (GRAD_SCALAR) { return Gt[0] * u.gScale; }
  return Gt[i] * u.gScale;
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
  L[i] = u.gScale * (max(x, 0.0) - x * target_at(i) + log1p_small(exp(-abs(x))));
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
