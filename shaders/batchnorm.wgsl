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
//   registers, then one tree reduction in workgroup memory (channel_sum below). batchnorm_sg.wgsl runs the same
//   entries with a subgroup per channel instead, no workgroup memory (lavapipe). The elementwise passes (normalize,
//   backward_dx) run PER elements per invocation (set by the host) strided by the workgroup size of 256, as
//   unary.wgsl, 2-D grid past 65535 workgroups; running_stats one invocation per channel. Neither kind divides per
//   element: they step the channel and position along (Pos), and the group by comparing with the next group's
//   first element. The entries themselves are in lib/batchnorm.wgsl, shared with batchnorm_sg.wgsl.
// Gradient: backward_sums (or backward_group_sums) + backward_dx are the gradient of batch_stats + normalize (and of
//   the activation).

const LANES = 64u;   // a channel's reductions take the whole workgroup
var<workgroup> partial: array<vec2<f32>, 64>;

/** Sums a pair of per-invocation partials across the 64-wide workgroup (called in uniform control flow). */
fn channel_sum(li: u32, v: vec2<f32>) -> vec2<f32> {
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

// #include "lib/batchnorm.wgsl" — Params, bindings, the activations and the entries
