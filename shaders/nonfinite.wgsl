// nonfinite.wgsl — counts the non-finite values (NaN, +Inf, −Inf) of many float32 tensors in one launch.
//
// Computes:  count[first + t] = #{ i : start[t] ≤ i < start[t + 1], x[i] is NaN or ±Inf }, for t < tensors,
//            where the tensors lie one after another in x. A value is non-finite when its 8 exponent bits are
//            all ones: (bits & 0x7f800000) == 0x7f800000 (WGSL has no isnan/isinf). Denormals, ±0 and the
//            largest finite float (0x7f7fffff) count as finite.
// Work split: one workgroup of 256 invocations per tensor (grid x = tensors ≤ 65535; the host splits longer
//   lists into several launches). The invocations stride over the tensor's elements, add their counts to one
//   workgroup atomic, and invocation 0 writes it after a barrier. The values are bound as array<u32>: no float
//   operation touches them, so nothing can flush a denormal or change a NaN.
// Gradient: none (a check of the training state, not an op).

struct Params { first: u32, tensors: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> start: array<u32>;
@group(0) @binding(3) var<storage, read_write> count: array<u32>;

var<workgroup> bad: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = min(wg.x, u.tensors - 1u);
  if (li == 0u) { atomicStore(&bad, 0u); }
  workgroupBarrier();
  var n = 0u;
  let end = start[t + 1u];
  for (var i = start[t] + li; i < end; i += 256u) {
    if ((x[i] & 0x7f800000u) == 0x7f800000u) { n += 1u; }
  }
  if (n > 0u) { atomicAdd(&bad, n); }
  workgroupBarrier();
  if (li == 0u && wg.x < u.tensors) { count[u.first + t] = atomicLoad(&bad); }
}
