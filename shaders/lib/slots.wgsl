// lib/slots.wgsl — included by shaders that update several tensors per launch (adam.wgsl, ema.wgsl,
// conv_pack_weight.wgsl) with `// #include "lib/slots.wgsl"`; scripts/gen-shaders.mjs inserts this text there. The
// including shader's Params has `start: vec4<u32>` (slot k's first workgroup; an unused slot starts past every
// workgroup), and it defines `update0` … `update3(j)`, the work of slot k on its j-th unit: a group of 4 consecutive
// elements in adam and ema (whose Params also hold each slot's element count `n`, for `lanes`), a packed row in
// conv_pack_weight. Entry point `slotsK` serves slots 0 … K−1: WGSL cannot pick a binding by a run-time index,
// and an entry point needs only the bindings its code reaches, so a launch of K tensors binds K slots. 256
// invocations per workgroup; src/tensor/slots.ts lays out a launch.

/** The slot an invocation's workgroup serves and the index j of its unit there (see update0 … update3 above). */
struct Work { slot: u32, j: u32 }

fn work_of(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> Work {
  let w = wg.y * nwg.x + wg.x;
  var k = 0u;
  while (k < 3u && w >= u.start[k + 1u]) { k++; }
  return Work(k, (w - u.start[k]) * 256u + li);
}

/** How many of the 4 elements of group j lie inside a parameter of n elements (0 past its end). */
fn lanes(j: u32, n: u32) -> u32 { return min(4u, max(4u * j, n) - 4u * j); }

@compute @workgroup_size(256)
fn slots1(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  update0(work_of(wg, nwg, li).j);
}

@compute @workgroup_size(256)
fn slots2(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let w = work_of(wg, nwg, li);
  if (w.slot == 0u) { update0(w.j); } else { update1(w.j); }
}

@compute @workgroup_size(256)
fn slots3(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let w = work_of(wg, nwg, li);
  if (w.slot == 0u) { update0(w.j); } else if (w.slot == 1u) { update1(w.j); } else { update2(w.j); }
}

@compute @workgroup_size(256)
fn slots4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let w = work_of(wg, nwg, li);
  switch (w.slot) {
    case 0u: { update0(w.j); }
    case 1u: { update1(w.j); }
    case 2u: { update2(w.j); }
    default: { update3(w.j); }
  }
}
