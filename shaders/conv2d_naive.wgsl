// conv2d_naive.wgsl — version 1 of conv2d's forward and input-gradient passes: one output value per invocation, a
//   straight loop over its sum (the teaching baseline, as matmul_naive.wgsl is for matmul; the engine runs it only
//   when forced: version 'naive'). The weight gradient's: conv2d_weight_grad_naive.wgsl.
//
// Computes, for the conv geometry x [N,Cin,H,W] → y [N,Cout,Ho,Wo] with weight w [Cout,Cin,kh,kw] (stride s,
//   padding p, dilation d per axis), one pass per entry point:
//   forward      y[n,m,oh,ow]  = b[m] + Σ_{c,i,j} w[m,c,i,j] · x[n,c, oh·s−p+i·d, ow·s−p+j·d]
//   input_grad   dx[n,c,h,w]   = b[c] + Σ_{m,i,j} w[m,c,i,j] · dy[n,m, (h+p−i·d)/s, (w+p−j·d)/s]
//                over the taps whose (h+p−i·d) and (w+p−j·d) divide by s and land inside dy: the transposed conv,
//                which is also convTranspose2d's forward (its weight [Cin_T, Cout_T, kh, kw] is this w; b its bias;
//                conv2d's dx runs it with no bias)
//   Taps that fall on padding read 0. With LEAKY or TANH (lib/activation.wgsl) each value is written as activate(it):
//   the conv and the activation after it in one launch, as in the faster kernels.
// Work split: invocation g of the launch (workgroups of 256 along x, offset by the launch's first workgroup) owns
//   output value g in row-major order and loops over the whole sum: Cin·kh·kw terms in forward, Cout·kh·kw in
//   input_grad. Nothing is shared between invocations, so every input value and weight is re-read by each output
//   it feeds (and input_grad tests every tap of a strided conv, of which about 1 in s² reach it): what the register
//   and workgroup-tiled kernels (conv2d_implicit_gemm*.wgsl) are built to avoid.
// Gradient: forward's gradients are input_grad (w.r.t. x) and conv2d_weight_grad_naive.wgsl (w.r.t. w); see
//   src/tensor/conv.ts.

struct Params {
  N: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, Ho: u32, Wo: u32, kh: u32,
  kw: u32, strideH: i32, strideW: i32, padH: i32,
  padW: i32, dilH: i32, dilW: i32, hasBias: u32,
  count: u32, groupOffset: u32, _p0: u32, _p1: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
// forward: x, w, bias, y; input_grad: dy, w, bias, dx
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

/** The output value this invocation owns, or count (none) past the end. */
fn outputIndex(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.x + u.groupOffset) * 256u + lid;
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = outputIndex(wg, lid);
  if (o >= u.count) { return; }
  let ow = o % u.Wo;
  let oh = (o / u.Wo) % u.Ho;
  let m = (o / (u.Wo * u.Ho)) % u.Cout;
  let n = o / (u.Wo * u.Ho * u.Cout);
  var acc = 0.0;
  for (var c = 0u; c < u.Cin; c++) {
    for (var i = 0u; i < u.kh; i++) {
      let h = i32(oh) * u.strideH - u.padH + i32(i) * u.dilH;
      if (h < 0 || h >= i32(u.H)) { continue; }
      for (var j = 0u; j < u.kw; j++) {
        let w = i32(ow) * u.strideW - u.padW + i32(j) * u.dilW;
        if (w < 0 || w >= i32(u.W)) { continue; }
        let xv = a[((n * u.Cin + c) * u.H + u32(h)) * u.W + u32(w)];
        let wv = b[((m * u.Cin + c) * u.kh + i) * u.kw + j];
        acc = fma(wv, xv, acc);
      }
    }
  }
  if (u.hasBias != 0u) { acc += bias[m]; }
  out[o] = activate(acc);
}

/** The source index q with q·s = t, or −1 when s does not divide t or q falls outside [0, size). */
fn sourceOf(t: i32, s: i32, size: u32) -> i32 {
  if (t < 0 || t % s != 0) { return -1; }
  let q = t / s;
  return select(-1, q, q < i32(size));
}

@compute @workgroup_size(256)
fn input_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = outputIndex(wg, lid);
  if (o >= u.count) { return; }
  let x = o % u.W;
  let y = (o / u.W) % u.H;
  let c = (o / (u.W * u.H)) % u.Cin;
  let n = o / (u.W * u.H * u.Cin);
  var acc = 0.0;
  for (var m = 0u; m < u.Cout; m++) {
    for (var i = 0u; i < u.kh; i++) {
      let oh = sourceOf(i32(y) + u.padH - i32(i) * u.dilH, u.strideH, u.Ho);
      if (oh < 0) { continue; }
      for (var j = 0u; j < u.kw; j++) {
        let ow = sourceOf(i32(x) + u.padW - i32(j) * u.dilW, u.strideW, u.Wo);
        if (ow < 0) { continue; }
        let gv = a[((n * u.Cout + m) * u.Ho + u32(oh)) * u.Wo + u32(ow)];
        let wv = b[((m * u.Cin + c) * u.kh + i) * u.kw + j];
        acc = fma(wv, gv, acc);
      }
    }
  }
  if (u.hasBias != 0u) { acc += bias[c]; }
  out[o] = activate(acc);
}

// #include "lib/activation.wgsl" — activate()
