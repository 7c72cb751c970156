// lib/batchnorm.wgsl — the entries of batchnorm.wgsl (per-channel reductions: one 64-invocation workgroup per
// channel, summed in workgroup memory) and batchnorm_sg.wgsl (a subgroup per channel, summed by subgroupAdd);
// scripts/gen-shaders.mjs inserts this text there. The including shader defines `const LANES` (invocations per
// channel in the reductions: 64, or the subgroup size) and `fn channel_sum(li: u32, v: vec2<f32>) -> vec2<f32>` (the
// sum of v over the LANES lanes of invocation li's channel, every lane getting it; called in uniform control flow).
// What the entries compute: see batchnorm.wgsl.

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
  if (ACT == 1u) { return max_nan(p, 0.0); }  // a NaN stays NaN, as in unary.wgsl's relu
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

// #include "lib/nan.wgsl" — max_nan() (the ReLU keeps a NaN)

// #include "lib/pos_step.wgsl" — Pos and pos_step(): here with n = HW, so with wrap = C a flat NCHW index's
// (channel, position), and with NO_WRAP a channel's i-th value's (image n, position) in x[n, c, j].

/** Flat position of channel c's value at image n = p.q, position p.j of the group starting at element `base`. */
fn channel_index(base: u32, c: u32, p: Pos) -> u32 { return base + (p.q * u.C + c) * u.HW + p.j; }

override PER: u32;

/**
 * Elements between one elementwise invocation's PER values: the workgroup size (as in unary.wgsl). An index that
 * moves by STRIDE = a·HW + b moves its channel by a (mod C) and its position by b, which is how the elementwise
 * passes carry (channel, position) along with pos_step instead of dividing per value; the reductions do the same
 * with their step LANES.
 */
const STRIDE = 256u;

/** First element of an elementwise invocation; its others follow at steps of STRIDE. */
fn first_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * STRIDE * PER + li; }

/**
 * The per-channel reductions' lanes: LANES consecutive invocations (from the including shader: 64, the whole
 * workgroup, or one subgroup) stride over one channel's values; a 64-invocation workgroup holds CHANNELS channels.
 * Invocation li works on channel w·CHANNELS + li / LANES of the workgroup w, as lane li % LANES. The last workgroup
 * may run past C: its extra lanes redo channel C − 1 (so that channel_sum stays in uniform control flow) and write
 * nothing.
 */
const CHANNELS = 64u / LANES;
struct Lane { c: u32, live: bool, lane: u32 }

fn reduction_lane(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> Lane {
  let c = (wg.y * nwg.x + wg.x) * CHANNELS + li / LANES;
  return Lane(min(c, u.C - 1u), c < u.C, li % LANES);
}

/** The first reduction channel of workgroup wg (uniform: a workgroup that starts past C returns at once). */
fn first_channel(wg: vec3<u32>, nwg: vec3<u32>) -> u32 { return (wg.y * nwg.x + wg.x) * CHANNELS; }

@compute @workgroup_size(64)
fn batch_stats(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  if (first_channel(wg, nwg) >= u.C) { return; }   // uniform across the workgroup, as channel_sum needs
  let l = reduction_lane(wg, nwg, li);
  let c = l.c;
  let a = LANES / u.HW;   // a lane's step LANES = a·HW + b: a images, b positions
  let b = LANES % u.HW;
  let SC = u.groups * u.C;
  for (var g = 0u; g < u.groups; g++) {
    let base = g * u.groupTotal;
    var s = 0.0;
    var p = Pos(l.lane / u.HW, l.lane % u.HW);
    for (var i = l.lane; i < u.M; i += LANES) {
      s += X[channel_index(base, c, p)];
      p = pos_step(p, a, b, u.HW, NO_WRAP);
    }
    let mean = channel_sum(li, vec2(s, 0.0)).x * u.invM;
    var q = 0.0;
    p = Pos(l.lane / u.HW, l.lane % u.HW);
    for (var i = l.lane; i < u.M; i += LANES) {
      let d = X[channel_index(base, c, p)] - mean;
      q = fma(d, d, q);
      p = pos_step(p, a, b, u.HW, NO_WRAP);
    }
    let variance = channel_sum(li, vec2(q, 0.0)).x * u.invM;
    if (l.lane == 0u && l.live) {
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
  let a = (STRIDE / u.HW) % u.C;   // STRIDE = a·HW + b (mod C·HW): the channel moves by a, the position by b
  let b = STRIDE % u.HW;
  let SC = u.groups * u.C;
  var p = Pos((first / u.HW) % u.C, first % u.HW);   // p.q: the element's channel
  var grp = group_of(first);
  for (var k = 0u; k < PER; k++) {
    let i = first + k * STRIDE;
    if (i >= u.total) { return; }
    let c = p.q;
    p = pos_step(p, a, b, u.HW, u.C);
    grp = group_step(grp, i);
    let sc = grp.col + c;
    let xhat = (X[i] - S[sc]) * S[SC + sc];
    if (AFFINE) { Y[i] = act(pre_activation(xhat, GAMMA[c], BETA[c])); } else { Y[i] = act(xhat); }
  }
}

/**
 * (Σg, Σg·x̂) over group g's values of channel l.c (called in uniform control flow: it ends in channel_sum).
 */
fn group_sums(l: Lane, g: u32, li: u32) -> vec2<f32> {
  let c = l.c;
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
  let a = LANES / u.HW;   // a lane's step LANES = a·HW + b: a images, b positions
  let b = LANES % u.HW;
  var p = Pos(l.lane / u.HW, l.lane % u.HW);
  for (var i = l.lane; i < u.M; i += LANES) {
    let k = channel_index(base, c, p);
    p = pos_step(p, a, b, u.HW, NO_WRAP);
    let xhat = (X[k] - mean) * r;
    let dg = act_grad(pre_activation(xhat, gamma, beta), DY[k]);
    acc += vec2(dg, dg * xhat);
  }
  return channel_sum(li, acc);
}

@compute @workgroup_size(64)
fn backward_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  if (first_channel(wg, nwg) >= u.C) { return; }
  let l = reduction_lane(wg, nwg, li);
  let total = group_sums(l, 0u, li);
  if (l.lane == 0u && l.live) {
    DBETA[l.c] = total.x;
    DGAMMA[l.c] = total.y;
  }
}

@compute @workgroup_size(64)
fn backward_group_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) li: u32) {
  if (first_channel(wg, nwg) >= u.C) { return; }
  let l = reduction_lane(wg, nwg, li);
  let c = l.c;
  let SC = u.groups * u.C;
  var total = vec2(0.0, 0.0);
  for (var g = 0u; g < u.groups; g++) {
    let s = group_sums(l, g, li);
    if (l.lane == 0u && l.live) {
      GS[g * u.C + c] = s.x;
      GS[SC + g * u.C + c] = s.y;
    }
    total += s;
  }
  if (l.lane == 0u && l.live) {
    DBETA[c] = total.x;
    DGAMMA[c] = total.y;
  }
}

@compute @workgroup_size(256)
fn backward_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let first = first_id(wg, nwg, li);
  let a = (STRIDE / u.HW) % u.C;   // STRIDE = a·HW + b (mod C·HW): the channel moves by a, the position by b
  let b = STRIDE % u.HW;
  let SC = u.groups * u.C;
  var p = Pos((first / u.HW) % u.C, first % u.HW);   // p.q: the element's channel
  var grp = group_of(first);
  for (var k = 0u; k < PER; k++) {
    let i = first + k * STRIDE;
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
