// batchnorm.wgsl — batch normalization over the channel axis of [N, C, ...] tensors (torch BatchNorm1d/2d).
//
// Notation: x has N·C·HW elements. The batch may be split into G equal groups of consecutive images (G = 1 unless
//   the caller asks: the GAN trainer runs D once on its real and its fake images, each normalized by its own
//   statistics, as two calls would be); group g, channel c holds the M = (N/G)·HW values x[n, c, j] of its images.
//   S is a [3, G·C] stats buffer holding per (g, c) at column g·C + c the mean μ, inverse std r = 1/√(σ² + eps)
//   and variance σ²; x̂ = (x − μ)·r with its group's statistics.
// Entries:
//   batch_stats     μ = Σx/M, σ² = Σ(x − μ)²/M (biased, two passes over the data for accuracy) → S;
//                   with UPDATE also, in place, RM = (1−m)·RM + m·μ, RV = (1−m)·RV + m·σ²·M/(M−1) (unbiased, as
//                   torch) and, with COUNT, num_batches_tracked += 1 — one launch for what torch does in three;
//                   with G groups the update runs once per group in order g = 0, 1, …, as G calls would.
//   running_stats   eval mode: S from the running statistics (μ = RM, r = 1/√(RV + eps)); G = 1.
//   normalize       y = act(γ_c·x̂ + β_c) (or act(x̂) without AFFINE).
//   backward_sums   G = 1: Σg and Σg·x̂ per channel, which are also dβ and dγ.
//   backward_group_sums  G > 1: the same sums over all groups (dβ, dγ) and, into GS, each group's: Σg at column
//                   g·C + c, Σg·x̂ at G·C + g·C + c.
//   backward_dx     training: dx = γ·r/M · (M·g − Σg − x̂·Σg·x̂) with its group's sums (read from dβ and dγ when
//                   G = 1, from GS otherwise: u.sumsOff is where the Σg·x̂ part starts, 0 or G·C);
//                   eval:     dx = γ·r·g.
//   where g = dy·act′(γ·x̂ + β) is the gradient before the activation.
// Activation (ACT, an override): 0 none (act = identity, g = dy), 1 ReLU, 2 LeakyReLU with slope u.slope. A
//   BatchNorm followed by its activation is one pass forward and none extra backward: the backward kernels
//   recompute the pre-activation γ·x̂ + β from x with the same fma as normalize, so its sign — which decides
//   act′ — is the forward's, bit for bit. act′(0) is 0 for ReLU and the slope for LeakyReLU, as torch.
// Work split: the per-channel reductions (batch_stats, backward_sums) run one 64-wide workgroup per channel, which
//   visits the groups in turn; for each, every invocation strides over the group's M values accumulating in
//   registers, then one tree reduction in workgroup memory. The elementwise passes (normalize, backward_dx) run PER
//   elements per invocation (set by the host) strided by the workgroup size of 256, as unary.wgsl, 2-D grid past
//   65535 workgroups; running_stats one invocation per channel. Neither kind divides per element: they step the
//   channel and position along (Pos), and the group by comparing with the next group's first element.
// Gradient: backward_sums (or backward_group_sums) + backward_dx are the gradient of batch_stats + normalize (and of
//   the activation).

struct Params {
  C: u32, HW: u32, M: u32, total: u32,
  eps: f32, momentum: f32, unbias: f32, invM: f32,
  slope: f32, groups: u32, groupTotal: u32, sumsOff: u32,   // groupTotal = (N/G)·C·HW elements per group
}
@group(0) @binding(0) var<uniform> u: Params;

// batch_stats: X → S
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Sout: array<f32>;
// batch_stats with UPDATE: RM, RV and the batch count, in place
@group(0) @binding(3) var<storage, read_write> RMio: array<f32>;
@group(0) @binding(4) var<storage, read_write> RVio: array<f32>;
@group(0) @binding(5) var<storage, read_write> COUNT_IO: array<f32>;
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
@group(0) @binding(6) var<storage, read> GAMMA_S: array<f32>;   // backward_sums: γ, β for the pre-activation
@group(0) @binding(7) var<storage, read> BETA_S: array<f32>;
@group(0) @binding(4) var<storage, read> GAMMA_BW: array<f32>;
@group(0) @binding(5) var<storage, read> DGAMMA_IN: array<f32>;
@group(0) @binding(6) var<storage, read> DBETA_IN: array<f32>;
@group(0) @binding(7) var<storage, read_write> DX: array<f32>;
@group(0) @binding(8) var<storage, read> BETA_BW: array<f32>;
// backward_group_sums: per-group sums. The engine counts a binding declared read_write in any entry as written by
// every entry of the shader (WRITTEN_BINDINGS), so backward_dx's β at binding 8 is marked written too: harmless,
// as nothing derives buffers from β (bindings are positional, so GS cannot take 9 while backward_dx uses 8).
@group(0) @binding(8) var<storage, read_write> GS: array<f32>;

override AFFINE: bool = true;
override TRAINING: bool = true;
override UPDATE: bool = false;   // batch_stats: also update the running statistics
override COUNT: bool = false;    // batch_stats with UPDATE: also add 1 to num_batches_tracked
override ACT: u32 = 0u;   // 0 none, 1 ReLU, 2 LeakyReLU (slope u.slope)

/** The activation of a pre-activation value p. */
fn act(p: f32) -> f32 {
  if (ACT == 1u) { return max(p, 0.0); }
  if (ACT == 2u) { return select(u.slope * p, p, p > 0.0); }
  return p;
}

/** dy times the activation's derivative at p (torch: ReLU′(0) = 0, LeakyReLU′(0) = slope). */
fn act_grad(p: f32, dy: f32) -> f32 {
  if (ACT == 1u) { return select(0.0, dy, p > 0.0); }
  if (ACT == 2u) { return select(u.slope * dy, dy, p > 0.0); }
  return dy;
}

/** γ·x̂ + β (or x̂): the same expression in normalize and in both backward entries, so its sign agrees. */
fn pre_activation(xhat: f32, gamma: f32, beta: f32) -> f32 {
  if (AFFINE) { return fma(gamma, xhat, beta); }
  return xhat;
}

// #include "lib/pos_step.wgsl" — Pos and pos_step(): here with n = HW, so with wrap = C a flat NCHW index's
// (channel, position), and with NO_WRAP a channel's i-th value's (image n, position) in x[n, c, j].

/** Flat position of channel c's value at image n = p.q, position p.j of the group starting at element `base`. */
fn channel_index(base: u32, c: u32, p: Pos) -> u32 { return base + (p.q * u.C + c) * u.HW + p.j; }

override PER: u32;

/** First element of an elementwise invocation; its others follow at steps of 256 (as in unary.wgsl). */
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
  let a = 64u / u.HW;
  let b = 64u % u.HW;
  let SC = u.groups * u.C;
  for (var g = 0u; g < u.groups; g++) {
    let base = g * u.groupTotal;
    var s = 0.0;
    var p = Pos(li / u.HW, li % u.HW);
    for (var i = li; i < u.M; i += 64u) {
      s += X[channel_index(base, c, p)];
      p = pos_step(p, a, b, u.HW, NO_WRAP);
    }
    let mean = workgroup_sum(li, vec2(s, 0.0)).x * u.invM;
    var q = 0.0;
    p = Pos(li / u.HW, li % u.HW);
    for (var i = li; i < u.M; i += 64u) {
      let d = X[channel_index(base, c, p)] - mean;
      q = fma(d, d, q);
      p = pos_step(p, a, b, u.HW, NO_WRAP);
    }
    let variance = workgroup_sum(li, vec2(q, 0.0)).x * u.invM;
    if (li == 0u) {
      let sc = g * u.C + c;
      Sout[sc] = mean;
      Sout[SC + sc] = 1.0 / sqrt(variance + u.eps);
      Sout[2u * SC + sc] = variance;
      if (UPDATE) {
        let m = u.momentum;
        RMio[c] = (1.0 - m) * RMio[c] + m * mean;
        RVio[c] = (1.0 - m) * RVio[c] + m * variance * u.unbias;
        if (COUNT && c == 0u) { COUNT_IO[0] = COUNT_IO[0] + 1.0; }
      }
    }
  }
}

@compute @workgroup_size(64)
fn running_stats(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= u.C) { return; }
  Sfrom[c] = RM[c];
  Sfrom[u.C + c] = 1.0 / sqrt(RV[c] + u.eps);
  Sfrom[2u * u.C + c] = RV[c];
}

/**
 * The group of the elements an elementwise invocation visits, as the column g·C of its statistics: found once by
 * a division, then advanced when an element index reaches the next group's first element.
 */
struct Group { col: u32, end: u32 }

fn group_of(first: u32) -> Group {
  let g = first / u.groupTotal;
  return Group(g * u.C, (g + 1u) * u.groupTotal);
}

fn group_step(grp: Group, i: u32) -> Group {
  var r = grp;
  while (i >= r.end) {
    r.end += u.groupTotal;
    r.col += u.C;
  }
  return r;
}

@compute @workgroup_size(256)
fn normalize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let first = first_id(wg, nwg, li);
  let a = (256u / u.HW) % u.C;
  let b = 256u % u.HW;
  let SC = u.groups * u.C;
  var p = Pos((first / u.HW) % u.C, first % u.HW);   // p.q: the element's channel
  var grp = group_of(first);
  for (var k = 0u; k < PER; k++) {
    let i = first + k * 256u;
    if (i >= u.total) { return; }
    let c = p.q;
    p = pos_step(p, a, b, u.HW, u.C);
    grp = group_step(grp, i);
    let sc = grp.col + c;
    let xhat = (X[i] - S[sc]) * S[SC + sc];
    if (AFFINE) { Y[i] = act(pre_activation(xhat, GAMMA[c], BETA[c])); } else { Y[i] = act(xhat); }
  }
}

/** (Σg, Σg·x̂) over group g's values of channel c (called in uniform control flow: it ends in a workgroup sum). */
fn group_sums(c: u32, g: u32, li: u32) -> vec2<f32> {
  let sc = g * u.C + c;
  let SC = u.groups * u.C;
  let mean = S[sc];
  let r = S[SC + sc];
  var gamma = 1.0;
  var beta = 0.0;
  if (AFFINE && ACT != 0u) {
    gamma = GAMMA_S[c];
    beta = BETA_S[c];
  }
  let base = g * u.groupTotal;
  var acc = vec2(0.0, 0.0);   // (Σg, Σg·x̂)
  let a = 64u / u.HW;
  let b = 64u % u.HW;
  var p = Pos(li / u.HW, li % u.HW);
  for (var i = li; i < u.M; i += 64u) {
    let k = channel_index(base, c, p);
    p = pos_step(p, a, b, u.HW, NO_WRAP);
    let xhat = (X[k] - mean) * r;
    let dg = act_grad(pre_activation(xhat, gamma, beta), DY[k]);
    acc += vec2(dg, dg * xhat);
  }
  return workgroup_sum(li, acc);
}

@compute @workgroup_size(64)
fn backward_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  let c = wg.y * nwg.x + wg.x;
  if (c >= u.C) { return; }
  let total = group_sums(c, 0u, li);
  if (li == 0u) {
    DBETA[c] = total.x;
    DGAMMA[c] = total.y;
  }
}

@compute @workgroup_size(64)
fn backward_group_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) li: u32) {
  let c = wg.y * nwg.x + wg.x;
  if (c >= u.C) { return; }
  let SC = u.groups * u.C;
  var total = vec2(0.0, 0.0);
  for (var g = 0u; g < u.groups; g++) {
    let s = group_sums(c, g, li);
    if (li == 0u) {
      GS[g * u.C + c] = s.x;
      GS[SC + g * u.C + c] = s.y;
    }
    total += s;
  }
  if (li == 0u) {
    DBETA[c] = total.x;
    DGAMMA[c] = total.y;
  }
}

@compute @workgroup_size(256)
fn backward_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let first = first_id(wg, nwg, li);
  let a = (256u / u.HW) % u.C;
  let b = 256u % u.HW;
  let SC = u.groups * u.C;
  var p = Pos((first / u.HW) % u.C, first % u.HW);   // p.q: the element's channel
  var grp = group_of(first);
  for (var k = 0u; k < PER; k++) {
    let i = first + k * 256u;
    if (i >= u.total) { return; }
    let c = p.q;
    p = pos_step(p, a, b, u.HW, u.C);
    grp = group_step(grp, i);
    let sc = grp.col + c;
    let r = S[SC + sc];
    var scale = r;
    if (AFFINE) { scale *= GAMMA_BW[c]; }
    let xhat = (X[i] - S[sc]) * r;
    var g = DY[i];
    if (ACT != 0u) {
      var beta = 0.0;
      if (AFFINE) { beta = BETA_BW[c]; }
      g = act_grad(pre_activation(xhat, GAMMA_BW[c], beta), g);
    }
    if (TRAINING) {
      g -= (DBETA_IN[sc] + xhat * DGAMMA_IN[u.sumsOff + sc]) * u.invM;
    }
    DX[i] = scale * g;
  }
}
