// fill.wgsl — constant fill and arange.
//
// Computes:  fill:   y[i] = value
//            arange: y[i] = start + i * step
// Work split: one invocation per element, 256 invocations per workgroup. Large tensors use a 2-D grid of
//   workgroups (x ≤ 65535), flattened back to i = (wg.y * num_wg.x + wg.x) * 256 + local.
// Gradient: none (these create leaves).

struct Params { n: u32, _pad: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  y[i] = u.a;
}

@compute @workgroup_size(256)
fn arange(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  y[i] = u.a + f32(i) * u.b;
}
