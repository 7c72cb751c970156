// sgd.wgsl — one fused SGD step (torch.optim.SGD's formulation) for one parameter, in place.
//
// Computes, per element i:
//   d = grad[i] + weight_decay · p[i]
//   plain:     p[i] = p[i] − lr · d
//   momentum:  buf[i] = d                                           on the first step (no dampening, as torch)
//              buf[i] = momentum · buf[i] + (1 − dampening) · d     afterwards
//              d' = d + momentum · buf[i]  (nesterov)   or   d' = buf[i]
//              p[i] = p[i] − lr · d'
// Two entry points so that the plain update binds no momentum buffer.
// Work split: one invocation per element, 256 per workgroup, 2-D grid for large n (see fill.wgsl).
// Gradient: none (an optimizer update is not differentiated).

struct Params {
  n: u32, first_step: u32, nesterov: u32, _p0: u32,
  lr: f32, momentum: f32, dampening: f32, weight_decay: f32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;

@compute @workgroup_size(256)
fn plain(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  let p = param[i];
  param[i] = p - u.lr * (grad[i] + u.weight_decay * p);
}

// Only `with_momentum` uses this binding, so the auto layout of `plain` has no binding 3.
@group(0) @binding(3) var<storage, read_write> momentum_buffer: array<f32>;

@compute @workgroup_size(256)
fn with_momentum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  let p = param[i];
  let d = grad[i] + u.weight_decay * p;
  var buf = d;
  if (u.first_step == 0u) { buf = u.momentum * momentum_buffer[i] + (1.0 - u.dampening) * d; }
  momentum_buffer[i] = buf;
  var step = buf;
  if (u.nesterov != 0u) { step = d + u.momentum * buf; }
  param[i] = p - u.lr * step;
}
