// conv2d_weight_grad_naive.wgsl — version 1 of the conv weight gradient: one weight per invocation, a straight
//   loop over every image and output pixel (the teaching baseline; the engine runs it only when forced: 'naive').
//
// Computes, for the conv geometry x [N,Cin,H,W] → y [N,Cout,Ho,Wo] with weight [Cout,Cin,kh,kw]:
//   dW[m,c,i,j] = Σ_{n,oh,ow} P[n,m,oh,ow] · G[n,c, oh·s−p+i·d, ow·s−p+j·d]   (+ dW when ACCUMULATE)
//   P at the output's resolution (conv2d: dy; convTranspose2d: its input x), G at the input's (conv2d: x;
//   convTranspose2d: dy); taps that fall on padding read 0.
// Work split: invocation g of the launch (workgroups of 256 along x, offset by the launch's first workgroup) owns
//   weight g in row-major order and walks all N·Ho·Wo terms of its sum alone: few invocations (a DCGAN layer has
//   thousands of weights against millions of terms), each with a long serial loop. conv2d_weight_grad.wgsl cuts that
//   sum into chunks (split-K) and gives each invocation a register tile; conv2d_weight_grad_tiled.wgsl stages it
//   through workgroup memory.
// Gradient: none (a gradient is not differentiated again here).

struct Params {
  N: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, Ho: u32, Wo: u32, kh: u32,
  kw: u32, strideH: i32, strideW: i32, padH: i32,
  padW: i32, dilH: i32, dilW: i32, count: u32,
  groupOffset: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> dW: array<f32>;

override ACCUMULATE: bool = false;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = (wg.x + u.groupOffset) * 256u + lid;
  if (o >= u.count) { return; }
  let j = o % u.kw;
  let i = (o / u.kw) % u.kh;
  let c = (o / (u.kw * u.kh)) % u.Cin;
  let m = o / (u.kw * u.kh * u.Cin);
  var acc = 0.0;
  for (var n = 0u; n < u.N; n++) {
    for (var oh = 0u; oh < u.Ho; oh++) {
      let h = i32(oh) * u.strideH - u.padH + i32(i) * u.dilH;
      if (h < 0 || h >= i32(u.H)) { continue; }
      for (var ow = 0u; ow < u.Wo; ow++) {
        let w = i32(ow) * u.strideW - u.padW + i32(j) * u.dilW;
        if (w < 0 || w >= i32(u.W)) { continue; }
        let pv = P[((n * u.Cout + m) * u.Ho + oh) * u.Wo + ow];
        let gv = G[((n * u.Cin + c) * u.H + u32(h)) * u.W + u32(w)];
        acc = fma(pv, gv, acc);
      }
    }
  }
  if (ACCUMULATE) { acc += dW[o]; }
  dW[o] = acc;
}
