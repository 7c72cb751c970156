// gram.wgsl — the one non-matmul step of the Gram-matrix gradient.
//
// Computes:  S[b, i, j] = (dG[b, i, j] + dG[b, j, i]) · scale, for b < batch, i, j < C.
//   G = F·Fᵀ·scale (scale = 1/norm) gives dF = (dG + dGᵀ)·F·scale; the host multiplies S by F with the
//   batched matmul (src/tensor/gram.ts). Symmetrizing first halves the matmul work versus two products.
// Work split: one invocation per element of S, 256 per workgroup, 2-D grid past 65535 workgroups.
// Gradient: this kernel is itself part of gram's backward (it is not differentiated).

struct Params { count: u32, C: u32, scale: f32, _pad: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> dG: array<f32>;
@group(0) @binding(2) var<storage, read_write> S: array<f32>;

@compute @workgroup_size(256)
fn symmetrize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let k = (wg.y * nwg.x + wg.x) * 256u + li;
  if (k >= u.count) { return; }
  let cc = u.C * u.C;
  let b0 = (k / cc) * cc;
  let i = (k % cc) / u.C;
  let j = k % u.C;
  S[k] = (dG[k] + dG[b0 + j * u.C + i]) * u.scale;
}
