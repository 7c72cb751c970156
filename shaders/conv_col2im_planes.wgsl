// conv_col2im_planes.wgsl — the second half of a transposed convolution done as GEMM + col2im, any channel count.
//
// Computes:  out[n, c, y, x] = b[c] + Σ_{i<kh, j<kw} cols[n, c·kh·kw + i·kw + j, r, q]
//              over the taps with s | (y + p − i) and s | (x + p − j), where r = (y + p − i)/s and
//              q = (x + p − j)/s lie inside the srcH × srcW source grid (per axis: its own s and p; dilation 1).
//   cols[n, c·kh·kw + tap, r, q] = Σ_ch w[ch, c, tap] · src[n, ch, r, q] is a 1×1 conv that src/tensor/conv.ts runs
//   first (conv2d_implicit_gemm*.wgsl, reading w in place through its strides). The transposed gather computes the
//   same sums phase by phase, but where the source grid is small most pixels of a phase lie at its border, and a
//   tap that falls outside the source still costs its multiply-adds there; the 1×1 conv computes each product that
//   lands anywhere once, and this pass adds the ≤ ⌈kh/s⌉·⌈kw/s⌉ that land on each pixel.
//   With LEAKY or TANH (lib/activation.wgsl) each output is written as activate(out): the conv and the activation
//   after it in one launch; the op's backward scales the gradient through the output (activationBackwardFromOutput).
// Work split: an invocation owns one (image, channel) plane and one output row y: 64 planes per workgroup (grid
//   x), one row per grid y (split by the host into launches of convTiles.col2imPlaneGroups groups, planeOffset).
//   The row's taps depend on y alone and a column's on x mod s alone, so they are stepped through from a first
//   tap worked out once per row and once per column phase, the same for every lane: no division per pixel and no
//   table of taps (lavapipe divides lane by lane, and reads a private array lane by lane). Then, phase by phase,
//   the columns x = phase, phase + s, … each add their ≤ ⌈kh/s⌉·⌈kw/s⌉ columns of cols. Dilation 1 only.
// Gradient: this is the transposed gather itself (see conv2d_implicit_gemm.wgsl); its gradients are the
//   forward gather and the weight gradient, as for the one-pass version.

struct Params {
  planes: u32, channels: u32, outH: u32, outW: u32,
  srcH: u32, srcW: u32, kh: u32, kw: u32,
  strideH: i32, strideW: i32, padH: i32, padW: i32,
  dilH: i32, dilW: i32, hasBias: u32, planeOffset: u32,  // dilH, dilW: 1 (the host's hyperparameters, unused)
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let plane = (wg.x + u.planeOffset) * 64u + lid;
  if (plane >= u.planes) { return; }
  let srcHW = u.srcH * u.srcW;
  let colsBase = plane * u.kh * u.kw * srcHW;
  let outBase = plane * u.outH * u.outW + wg.y * u.outW;
  var b = 0.0;
  if (u.hasBias != 0u) { b = bias[plane % u.channels]; }

  // The row taps that land on row y are i ≡ y + p (mod s), from i0 up in steps of s, each one source row above the
  // last: r = (y + p − i)/s. (The host takes this path only with dilation 1.)
  let ry = i32(wg.y) + u.padH;
  let i0 = ry % u.strideH;
  let r0 = (ry - i0) / u.strideH;
  for (var phase = 0u; phase < u.outW && phase < u32(u.strideW); phase++) {
    // The same for the columns of this phase: taps j ≡ phase + p (mod s); column x = phase + k·s reads source
    // column q0 + k for tap j0, one less for each later tap.
    let cx = i32(phase) + u.padW;
    let j0 = cx % u.strideW;
    let q0 = (cx - j0) / u.strideW;
    var k = 0i;
    for (var x = phase; x < u.outW; x += u32(u.strideW)) {
      var sum = b;
      var r = r0;
      for (var i = u32(i0); i < u.kh; i += u32(u.strideH)) {
        if (r >= 0 && r < i32(u.srcH)) {
          var q = q0 + k;
          for (var j = u32(j0); j < u.kw; j += u32(u.strideW)) {
            if (q >= 0 && q < i32(u.srcW)) {
              sum += cols[colsBase + (i * u.kw + j) * srcHW + u32(r) * u.srcW + u32(q)];
            }
            q -= 1;
          }
        }
        r -= 1;
      }
      out[outBase + x] = activate(sum);
      k++;
    }
  }
}

// The activation applied to each output as it is written (the transposed conv and the activation after it in one
// launch, src/tensor/conv.ts).
// #include "lib/activation.wgsl" — activate()
