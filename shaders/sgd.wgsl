// sgd.wgsl — one fused SGD step (torch.optim.SGD's formulation) for one parameter, in place.
//
// Computes, per element i:
//   d = grad[i] + weight_decay · p[i]
//   plain:     p[i] = p[i] − lr · d
//   momentum:  buf[i] = d                                           on the first step (no dampening, as torch)
//              buf[i] = momentum · buf[i] + (1 − dampening) · d     afterwards
//              d' = d + momentum · buf[i]  (nesterov)   or   d' = buf[i]
//              p[i] = p[i] − lr · d'
// Two entry points so that the plain update binds no momentum buffer (only `with_momentum` uses binding 3,
//   so the auto layout of `plain` does not have it).
// Work split: one invocation per 4 consecutive elements with vec4 loads and stores (as adam.wgsl, whose
//   header has the measurement), 256 invocations per workgroup, 2-D grid for large n (see fill.wgsl). The
//   last, partial vec4 is written lane by lane so that nothing past element n - 1 changes.
// Gradient: none (an optimizer update is not differentiated).

struct Params {
  n: u32, first_step: u32, nesterov: u32, _p0: u32,
  lr: f32, momentum: f32, one_minus_dampening: f32, weight_decay: f32,   // 1 − dampening formed in float64
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> momentum_buffer: array<vec4<f32>>;

fn group_index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn plain(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let j = group_index(wg, nwg, li);
  let first = 4u * j;
  if (first >= u.n) { return; }
  let p = param[j];
  let updated = p - u.lr * (grad[j] + u.weight_decay * p);
  if (first + 3u < u.n) { param[j] = updated; return; }
  for (var k = 0u; first + k < u.n; k++) { param[j][k] = updated[k]; }
}

@compute @workgroup_size(256)
fn with_momentum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  let j = group_index(wg, nwg, li);
  let first = 4u * j;
  if (first >= u.n) { return; }
  let p = param[j];
  let d = grad[j] + u.weight_decay * p;
  var buf = d;
  if (u.first_step == 0u) { buf = u.momentum * momentum_buffer[j] + u.one_minus_dampening * d; }
  var step = buf;
  if (u.nesterov != 0u) { step = d + u.momentum * buf; }
  let updated = p - u.lr * step;
  if (first + 3u < u.n) {
    param[j] = updated;
    momentum_buffer[j] = buf;
    return;
  }
  for (var k = 0u; first + k < u.n; k++) {
    param[j][k] = updated[k];
    momentum_buffer[j][k] = buf[k];
  }
}
