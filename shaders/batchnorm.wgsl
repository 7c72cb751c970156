// batchnorm.wgsl — batch normalization over the channel axis of [N, C, ...] tensors (torch BatchNorm1d/2d).
//
// Notation: x has N·C·HW elements, channel c holds the M = N·HW values x[n, c, j]; S is a [3, C] stats buffer
//   holding mean μ_c, inverse std r_c = 1/√(σ²_c + eps) and variance σ²_c; x̂ = (x − μ_c)·r_c.
// Entries:
//   batch_stats     μ_c = Σx/M, σ²_c = Σ(x − μ_c)²/M (biased, two passes over the data for accuracy) → S.
//   running_update  in place: RM = (1−m)·RM + m·μ, RV = (1−m)·RV + m·σ²·M/(M−1) (unbiased, as torch).
//   running_stats   eval mode: S from the running statistics (μ = RM, r = 1/√(RV + eps)).
//   normalize       y = γ_c·x̂ + β_c (or y = x̂ without AFFINE).
//   backward_sums   Σdy and Σdy·x̂ per channel, which are also dβ and dγ.
//   backward_dx     training: dx = γ·r/M · (M·dy − Σdy − x̂·Σdy·x̂) (the batch statistics depend on x);
//                   eval:     dx = γ·r·dy.
// Work split: the per-channel reductions (batch_stats, backward_sums) run one 64-wide workgroup per channel;
//   each invocation strides over the channel's M values accumulating in registers, then one tree reduction in
//   workgroup memory. The elementwise passes (normalize, backward_dx) run PER elements per invocation (set by the
//   host) strided by the workgroup size of 256, as unary.wgsl, 2-D grid past 65535 workgroups; running_update/running_stats one invocation per channel.
// Gradient: backward_sums + backward_dx are the gradient of batch_stats + normalize.

struct Params {
  C: u32, HW: u32, M: u32, total: u32,
  eps: f32, momentum: f32, unbias: f32, invM: f32,
}
@group(0) @binding(0) var<uniform> u: Params;

// batch_stats: X → S
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Sout: array<f32>;
// running_update: S → RM, RV (in place)
@group(0) @binding(1) var<storage, read> Sin1: array<f32>;
@group(0) @binding(2) var<storage, read_write> RMio: array<f32>;
@group(0) @binding(3) var<storage, read_write> RVio: array<f32>;
// running_stats: RM, RV → S
@group(0) @binding(1) var<storage, read> RM: array<f32>;
@group(0) @binding(2) var<storage, read> RV: array<f32>;
@group(0) @binding(3) var<storage, read_write> Sfrom: array<f32>;
// normalize: X, S, γ, β → Y;  backward_sums: X, S, dY → dγ, dβ;  backward_dx: X, S, dY, γ, dγ, dβ → dX
@group(0) @binding(2) var<storage, read> S: array<f32>;
@group(0) @binding(3) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(4) var<storage, read> BETA: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read> DY: array<f32>;
@group(0) @binding(4) var<storage, read_write> DGAMMA: array<f32>;
@group(0) @binding(5) var<storage, read_write> DBETA: array<f32>;
@group(0) @binding(4) var<storage, read> GAMMA_BW: array<f32>;
@group(0) @binding(5) var<storage, read> DGAMMA_IN: array<f32>;
@group(0) @binding(6) var<storage, read> DBETA_IN: array<f32>;
@group(0) @binding(7) var<storage, read_write> DX: array<f32>;

override AFFINE: bool = true;
override TRAINING: bool = true;

/** Flat position of the i-th value (0 ≤ i < M) of channel c. */
fn channel_index(c: u32, i: u32) -> u32 {
  return (i / u.HW) * u.C * u.HW + c * u.HW + i % u.HW;
}

fn channel_of(i: u32) -> u32 { return (i / u.HW) % u.C; }

override PER: u32;

/** First element of an elementwise invocation; its others follow at steps of 256. */
fn first_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * 256u * PER + li; }

var<workgroup> partial: array<vec2<f32>, 64>;

/** Sums a pair of per-invocation partials across the 64-wide workgroup (called in uniform control flow). */
fn workgroup_sum(li: u32, v: vec2<f32>) -> vec2<f32> {
  partial[li] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();   // everyone has read partial[0] before it is reused
  return total;
}

@compute @workgroup_size(64)
fn batch_stats(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let c = wg.y * nwg.x + wg.x;   // uniform across the workgroup, so the barriers below stay uniform
  if (c >= u.C) { return; }
  var s = 0.0;
  for (var i = li; i < u.M; i += 64u) { s += X[channel_index(c, i)]; }
  let mean = workgroup_sum(li, vec2(s, 0.0)).x * u.invM;
  var q = 0.0;
  for (var i = li; i < u.M; i += 64u) {
    let d = X[channel_index(c, i)] - mean;
    q = fma(d, d, q);
  }
  let variance = workgroup_sum(li, vec2(q, 0.0)).x * u.invM;
  if (li == 0u) {
    Sout[c] = mean;
    Sout[u.C + c] = 1.0 / sqrt(variance + u.eps);
    Sout[2u * u.C + c] = variance;
  }
}

@compute @workgroup_size(64)
fn running_update(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= u.C) { return; }
  let m = u.momentum;
  RMio[c] = (1.0 - m) * RMio[c] + m * Sin1[c];
  RVio[c] = (1.0 - m) * RVio[c] + m * Sin1[2u * u.C + c] * u.unbias;
}

@compute @workgroup_size(64)
fn running_stats(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= u.C) { return; }
  Sfrom[c] = RM[c];
  Sfrom[u.C + c] = 1.0 / sqrt(RV[c] + u.eps);
  Sfrom[2u * u.C + c] = RV[c];
}

@compute @workgroup_size(256)
fn normalize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let first = first_id(wg, nwg, li);
  for (var k = 0u; k < PER; k++) {
    let i = first + k * 256u;
    if (i >= u.total) { return; }
    let c = channel_of(i);
    let xhat = (X[i] - S[c]) * S[u.C + c];
    if (AFFINE) { Y[i] = fma(GAMMA[c], xhat, BETA[c]); } else { Y[i] = xhat; }
  }
}

@compute @workgroup_size(64)
fn backward_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  let c = wg.y * nwg.x + wg.x;
  if (c >= u.C) { return; }
  let mean = S[c];
  let r = S[u.C + c];
  var acc = vec2(0.0, 0.0);   // (Σdy, Σdy·x̂)
  for (var i = li; i < u.M; i += 64u) {
    let k = channel_index(c, i);
    let dy = DY[k];
    acc += vec2(dy, dy * (X[k] - mean) * r);
  }
  let total = workgroup_sum(li, acc);
  if (li == 0u) {
    DBETA[c] = total.x;
    DGAMMA[c] = total.y;
  }
}

@compute @workgroup_size(256)
fn backward_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let first = first_id(wg, nwg, li);
  for (var k = 0u; k < PER; k++) {
    let i = first + k * 256u;
    if (i >= u.total) { return; }
    let c = channel_of(i);
    let r = S[u.C + c];
    var scale = r;
    if (AFFINE) { scale *= GAMMA_BW[c]; }
    var dy = DY[i];
    if (TRAINING) {
      let xhat = (X[i] - S[c]) * r;
      dy -= (DBETA_IN[c] + xhat * DGAMMA_IN[c]) * u.invM;
    }
    DX[i] = scale * dy;
  }
}
