// minibatch_stddev.wgsl — the minibatch standard-deviation layer of ProGAN's discriminator (Karras et al. 2018,
// §3), forward and backward.
//
// Notation: x is [N, C, H, W]; F = C·H·W features per sample; the batch splits into groups of G samples, M = N/G
//   groups, and sample n belongs to group m = n mod M (its members are n = g·M + m, g < G — the grouping of the
//   paper's code, whose reshape puts the group index first). Per group m and feature f:
//     μ[m, f] = Σ_g x[gM + m, f] / G,  sd[m, f] = √(Σ_g (x[gM + m, f] − μ[m, f])² / G + eps)   (eps = 1e-8)
//     S[m] = Σ_f sd[m, f] / F                                                   (one scalar per group)
// Computes:  stats          S[m] as above
//            forward        Y[n, c, h, w] = X[n, c, h, w] for c < C, and Y[n, C, h, w] = S[n mod M]: [N, C + 1, H, W]
//            backward_sums  GS[m] = Σ_{g<G, h, w} dY[gM + m, C, h, w]   (the gradient reaching S[m])
//            backward_dx    dX[n, f] = dY[n, c, h, w] + GS[m] · (X[n, f] − μ[m, f]) / (G · F · sd[m, f])
//                           (d sd / d x = (x − μ)/(G·sd); the term through μ vanishes since Σ_g (x − μ) = 0)
// Work split: stats and backward_sums run one 64-wide workgroup per group; each invocation strides over the
//   group's features (stats: reading G values per feature; backward_sums: G·H·W values of dY's extra channel),
//   accumulating in registers, then one tree reduction in workgroup memory. forward and backward_dx run one
//   invocation per element of the tensor they write, 256 per workgroup, 2-D grid past 65535 workgroups;
//   backward_dx recomputes μ and sd of its feature from the G group members instead of storing them.
// Gradient: backward_sums + backward_dx are the gradient of stats + forward.

// N and C are the host's record of the shape; the grid and M, G, HW, F, count locate everything the kernel reads.
struct Params { N: u32, M: u32, G: u32, C: u32, HW: u32, F: u32, count: u32, eps: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> S: array<f32>;     // stats: X → S
@group(0) @binding(2) var<storage, read> SIN: array<f32>;         // forward: X, S → Y
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(1) var<storage, read> DYS: array<f32>;         // backward_sums: dY → GS
@group(0) @binding(2) var<storage, read_write> GS: array<f32>;
@group(0) @binding(2) var<storage, read> DY: array<f32>;          // backward_dx: X, dY, GS → dX
@group(0) @binding(3) var<storage, read> GSIN: array<f32>;
@group(0) @binding(4) var<storage, read_write> DX: array<f32>;

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * 256u + li; }

var<workgroup> partial: array<f32, 64>;

/** Sums one value per invocation across the 64-wide workgroup (called in uniform control flow). */
fn workgroup_sum(li: u32, v: f32) -> f32 {
  partial[li] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  return partial[0];
}

/** μ and sd of feature f over the members of group m. */
fn group_moments(m: u32, f: u32) -> vec2<f32> {
  var s = 0.0;
  for (var g = 0u; g < u.G; g++) { s += X[(g * u.M + m) * u.F + f]; }
  let mean = s / f32(u.G);
  var q = 0.0;
  for (var g = 0u; g < u.G; g++) {
    let d = X[(g * u.M + m) * u.F + f] - mean;
    q = fma(d, d, q);
  }
  return vec2(mean, sqrt(q / f32(u.G) + u.eps));
}

@compute @workgroup_size(64)
fn stats(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let m = wg.y * nwg.x + wg.x;   // uniform across the workgroup, so the barriers below stay uniform
  if (m >= u.M) { return; }
  var acc = 0.0;
  for (var f = li; f < u.F; f += 64u) { acc += group_moments(m, f).y; }
  let total = workgroup_sum(li, acc);
  if (li == 0u) { S[m] = total / f32(u.F); }
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let o = flat_id(wg, nwg, li);
  if (o >= u.count) { return; }
  let perSample = u.F + u.HW;   // (C + 1)·H·W
  let n = o / perSample;
  let r = o % perSample;
  if (r < u.F) { Y[o] = X[n * u.F + r]; } else { Y[o] = SIN[n % u.M]; }
}

@compute @workgroup_size(64)
fn backward_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  let m = wg.y * nwg.x + wg.x;
  if (m >= u.M) { return; }
  let perSample = u.F + u.HW;
  var acc = 0.0;
  for (var i = li; i < u.G * u.HW; i += 64u) {
    let n = (i / u.HW) * u.M + m;
    acc += DYS[n * perSample + u.F + i % u.HW];
  }
  let total = workgroup_sum(li, acc);
  if (li == 0u) { GS[m] = total; }
}

@compute @workgroup_size(256)
fn backward_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.count) { return; }
  let n = i / u.F;
  let f = i % u.F;
  let m = n % u.M;
  let ms = group_moments(m, f);
  let perSample = u.F + u.HW;
  DX[i] = DY[n * perSample + f] + GSIN[m] * (X[i] - ms.x) / (f32(u.G) * f32(u.F) * ms.y);
}
