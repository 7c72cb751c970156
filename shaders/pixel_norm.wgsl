// pixel_norm.wgsl — pixelwise feature normalization (ProGAN, Karras et al. 2018, §4.2), forward and backward.
//
// Notation: x is [N, C, P] (P = H·W for images, 1 for a batch of vectors [N, C]); at each sample n and position p,
//   r[n, p] = 1 / √(Σ_c x[n, c, p]² / C + eps)   (eps = 1e-8 in the paper).
// Computes:  forward   Y[n, c, p] = X[n, c, p] · r[n, p]
//            backward  dX[n, c, p] = r·dY[n, c, p] − X[n, c, p] · r³ · Σ_c' dY[n, c', p]·X[n, c', p] / C
//                      (the derivative of r through every channel of its own pixel; r is recomputed, not stored)
// Work split: one invocation per (n, p) pixel, 256 per workgroup, 2-D grid past 65535 workgroups. It walks the C
//   channels of its pixel twice (a sum, then the writes); neighbouring invocations read neighbouring positions p
//   of the same channel, so each pass over a channel reads one contiguous run of the tensor.
// Gradient: `backward` is the gradient of `forward`.

struct Params { count: u32, C: u32, P: u32, eps: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;     // forward: Y
@group(0) @binding(2) var<storage, read> DY: array<f32>;          // backward: dY, then
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;    // dX

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * 256u + li; }

/** Flat index of channel 0 at pixel i = n·P + p; channel c is at base + c·P. */
fn base_of(i: u32) -> u32 { return (i / u.P) * u.C * u.P + i % u.P; }

/** r = 1/√(mean of squares over the channels + eps) at the pixel whose channel 0 is at `base`. */
fn inv_rms(base: u32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < u.C; c++) {
    let v = X[base + c * u.P];
    s = fma(v, v, s);
  }
  return 1.0 / sqrt(s / f32(u.C) + u.eps);
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.count) { return; }
  let base = base_of(i);
  let r = inv_rms(base);
  for (var c = 0u; c < u.C; c++) { Y[base + c * u.P] = X[base + c * u.P] * r; }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.count) { return; }
  let base = base_of(i);
  let r = inv_rms(base);
  var gx = 0.0;
  for (var c = 0u; c < u.C; c++) { gx = fma(DY[base + c * u.P], X[base + c * u.P], gx); }
  let k = r * r * r * gx / f32(u.C);
  for (var c = 0u; c < u.C; c++) {
    let j = base + c * u.P;
    DX[j] = r * DY[j] - X[j] * k;
  }
}
