// fade.wgsl — the fade-in blend of progressive growing: the old path a and the new block's path b mixed by α.
//
// Computes:  forward   Y[i] = (1 − α)·A[i] + α·B[i], for i < n, α = u.alpha (a uniform: a new α is a new parameter
//                      block, never a new pipeline). Written as two products, so α = 0 gives A and α = 1 gives B
//                      exactly (for finite inputs).
//            backward  dA[i] = (1 − α)·dY[i],  dB[i] = α·dY[i]   (both in one launch)
// Work split: one invocation per element, 256 per workgroup, 2-D grid past 65535 workgroups.
// Gradient: `backward` is the gradient of `forward` with respect to A and B (α is not differentiated).

struct Params { n: u32, alpha: f32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;           // forward: A, B → Y
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;          // backward: dY → dA, dB
@group(0) @binding(2) var<storage, read_write> DA: array<f32>;
@group(0) @binding(3) var<storage, read_write> DB: array<f32>;

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * 256u + li; }

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.n) { return; }
  Y[i] = (1.0 - u.alpha) * A[i] + u.alpha * B[i];
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.n) { return; }
  let g = DY[i];
  DA[i] = (1.0 - u.alpha) * g;
  DB[i] = u.alpha * g;
}
