// conv_col2im.wgsl — the second half of a transposed convolution with ONE output channel, done as GEMM + col2im.
//
// Computes:  out[n, 0, y, x] = b + Σ_{i<kh, j<kw} cols[n, r·srcW + c, i·kw + j]
//              over the taps with s | (y + p − i·d) and s | (x + p − j·d), where r = (y + p − i·d)/s and
//              c = (x + p − j·d)/s lie inside the srcH × srcW source grid (per axis: its own s, p, d).
//   cols[n, q, t] = Σ_ch w[ch, t] · src[n, ch, q] is the matrix product that src/tensor/conv.ts runs first
//   ([srcH·srcW, C] · [C, T] per image, T = kh·kw padded to tStride columns, on whichever matmul kernel the
//   engine picks for that shape). With one output channel, conv2d_implicit_gemm.wgsl's gather has only 1 weight per
//   source load — each loaded value feeds a single multiply-add — while the product feeds T; this pass then only adds
//   the taps with s | (y+p−i·d) per pixel: ≤ ⌈kh/s⌉·⌈kw/s⌉ of them with dilation 1 (in general they repeat every
//   s/gcd(s,d) taps).
//   Used for a one-output-channel transposed conv — the DCGAN generator's last layer (64→1, forward) and the
//   discriminator's first layer (1→64, the input gradient), of at most 64 taps (more run as the gather) — wherever
//   conv.ts's transposedViaCols declines the 1×1 conv and conv_col2im_planes.wgsl route: on GPUs, with the tiled
//   kernels or kernels that share no loads across a subgroup, or with dilation ≠ 1. On lavapipe's default kernels
//   those layers take that route instead.
//   With LEAKY or TANH (lib/activation.wgsl) each output is written as activate(out): the conv and the activation
//   after it in one launch; the op's backward scales the gradient through the output (activationBackwardFromOutput).
// Work split: one invocation per output pixel, 256 per workgroup, 2-D grid past 65535 workgroups.
// Gradient: this is the transposed gather itself (see conv2d_implicit_gemm.wgsl); its gradients are the
//   forward gather and conv2d_weight_grad.wgsl, as for the one-pass version.

struct Params {
  count: u32, outH: u32, outW: u32, srcH: u32,
  srcW: u32, kh: u32, kw: u32, tStride: u32,
  strideH: i32, strideW: i32, padH: i32, padW: i32,
  dilH: i32, dilW: i32, hasBias: u32, _p: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let o = (wg.y * nwg.x + wg.x) * 256u + li;
  if (o >= u.count) { return; }
  let plane = u.outH * u.outW;
  let n = o / plane;
  let y = i32((o % plane) / u.outW);
  let x = i32(o % u.outW);
  let colsBase = n * u.srcH * u.srcW * u.tStride;
  var sum = 0.0;
  if (u.hasBias != 0u) { sum = bias[0]; }
  for (var i = 0u; i < u.kh; i++) {
    let num = y + u.padH - i32(i) * u.dilH;
    if (num < 0 || num % u.strideH != 0) { continue; }
    let r = num / u.strideH;
    if (r >= i32(u.srcH)) { continue; }
    for (var j = 0u; j < u.kw; j++) {
      let numC = x + u.padW - i32(j) * u.dilW;
      if (numC < 0 || numC % u.strideW != 0) { continue; }
      let c = numC / u.strideW;
      if (c >= i32(u.srcW)) { continue; }
      sum += cols[colsBase + (u32(r) * u.srcW + u32(c)) * u.tStride + i * u.kw + j];
    }
  }
  out[o] = activate(sum);
}

// The activation applied to each output as it is written (the transposed conv and the activation after it in one
// launch, src/tensor/conv.ts).
// #include "lib/activation.wgsl" — activate()
