// conv2d_implicit_gemm.wgsl — conv2d forward, and (TRANSPOSED) conv2d input-gradient = convTranspose2d forward.
//
// Computes, as a GEMM out[m, pixel] = Σ_k Wp[k, m] · src[k, pixel] without materialising im2col:
//   forward    (TRANSPOSED=false): y[n,m,oh,ow] = b[m] + Σ_{c,i,j} w[m,c,i,j] · x[n,c, oh·s−p+i·d, ow·s−p+j·d]
//   transposed (TRANSPOSED=true):  y[n,m,oh,ow] = b[m] + Σ_{c,i,j : s | (oh+p−i·d)} w'[c,m,i,j] · x[n,c, (oh+p−i·d)/s, ...]
//   (the transposed sum is conv2d's dX with dY as src, and convTranspose2d's forward). Taps outside src read 0.
//   Wp is the weight packed by conv_pack_weight.wgsl as [tap][c][mPad] (mPad = outC rounded up to TM).
// Zeros of the stride-dilated input are never touched: the output is split into sH·sW phases
//   (oh mod sH, ow mod sW); within a phase every pixel uses the same taps and src row = a + (ph+p−i·d)/s, so
//   each phase is a dense stride-1 gather with a subset of the taps. The forward conv is the one-phase case with
//   src row = a·s + (i·d − p). Grid z enumerates the phases.
// Work split: one invocation owns a register tile of TM output channels × TN pixels of one phase
//   (pixels strided by the workgroup size, so neighbouring invocations read neighbouring src addresses).
//   Per (tap) it computes the TN src offsets and in-bounds masks once, then the inner loop over the src channels
//   is pure loads + FMA: TM weight loads (the same address in the whole workgroup) and TN src loads feed
//   TM·TN FMAs. On lavapipe (invocations are SIMD lanes of one CPU thread) register tiles like this beat
//   workgroup-memory tiles, whose barriers are expensive; measured there, 16×8 tiles beat 8×8, 16×4 and 8×16,
//   and up to 10 pixels per invocation (TN chosen per layer so the last tile is nearly full) cut the DCGAN
//   layers' gather time by about a fifth against 8; but at TM·TN ≥ 224 (16×14, 32×8) the kernel runs 3–5×
//   slower (a cliff, not traced to its cause inside the driver), so the host keeps TN ≤ 10 at TM = 16. Scalar weight
//   loads do as well as vec4 ones (so TM need not be a multiple of 4: 1-channel layers waste nothing).
//   Grid: (pixel tiles of 64·TN, ⌈outC/TM⌉, phases); the host splits
//   large grids into several launches (tileOffset, mBlockOffset) to keep every dispatch short.
// Gradient: the op's gradients are this kernel with TRANSPOSED flipped (w.r.t. src) and
//   conv2d_weight_grad.wgsl (w.r.t. the weight); see src/tensor/conv.ts.

struct Params {
  srcC: u32, srcH: u32, srcW: u32, batch: u32,
  outC: u32, outH: u32, outW: u32, mPad: u32,
  kh: u32, kw: u32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  phasesH: u32, phasesW: u32, tileOffset: u32, hasBias: u32,
  mBlockOffset: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override TRANSPOSED: bool = false;
const WG = 64u;
const TM = {{TM}}u;
const TN = {{TN}}u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let phH = wg.z / u.phasesW;
  let phW = wg.z % u.phasesW;
  // Size of this phase's pixel grid: rows a with phH + a·P < outH.
  let rows = (u.outH + u.phasesH - 1u - phH) / u.phasesH;
  let cols = (u.outW + u.phasesW - 1u - phW) / u.phasesW;
  let perImage = rows * cols;
  let pixels = u.batch * perImage;
  let tileStart = (wg.x + u.tileOffset) * WG * TN;
  if (tileStart >= pixels) { return; }
  let mBlock = wg.y + u.mBlockOffset;
  let m0 = mBlock * TM;

  // Per pixel: (image, row a, col b) in the phase grid, validity, and the base offsets of src and out.
  var pa: array<i32, TN>;
  var pb: array<i32, TN>;
  var srcBase: array<u32, TN>;
  var outBase: array<u32, TN>;
  var live: array<bool, TN>;
  let srcHW = u.srcH * u.srcW;
  let outHW = u.outH * u.outW;
  for (var t = 0u; t < TN; t++) {
    let q = tileStart + t * WG + lid;
    live[t] = q < pixels;
    let qq = min(q, pixels - 1u);
    let n = qq / perImage;
    let r = qq % perImage;
    let a = r / cols;
    let b = r % cols;
    pa[t] = i32(a);
    pb[t] = i32(b);
    srcBase[t] = n * u.srcC * srcHW;
    outBase[t] = n * u.outC * outHW + (phH + a * u.phasesH) * u.outW + phW + b * u.phasesW;
  }

  var acc: array<array<f32, TN>, TM>;
  let rowScale = select(u.strideH, 1, TRANSPOSED);
  let colScale = select(u.strideW, 1, TRANSPOSED);
  for (var i = 0u; i < u.kh; i++) {
    var rowOff: i32;
    if (TRANSPOSED) {
      let num = i32(phH) + u.padH - i32(i) * u.dilH;
      if (num % u.strideH != 0) { continue; }
      rowOff = num / u.strideH;
    } else {
      rowOff = i32(i) * u.dilH - u.padH;
    }
    for (var j = 0u; j < u.kw; j++) {
      var colOff: i32;
      if (TRANSPOSED) {
        let num = i32(phW) + u.padW - i32(j) * u.dilW;
        if (num % u.strideW != 0) { continue; }
        colOff = num / u.strideW;
      } else {
        colOff = i32(j) * u.dilW - u.padW;
      }
      // src offsets of this tap for each pixel; out-of-bounds taps read src[0] and are masked to zero.
      var off: array<u32, TN>;
      var mask: array<f32, TN>;
      for (var t = 0u; t < TN; t++) {
        let r = pa[t] * rowScale + rowOff;
        let c = pb[t] * colScale + colOff;
        let ok = live[t] && r >= 0 && r < i32(u.srcH) && c >= 0 && c < i32(u.srcW);
        off[t] = select(0u, srcBase[t] + u32(r) * u.srcW + u32(c), ok);
        mask[t] = select(0.0, 1.0, ok);
      }
      var wIdx = (i * u.kw + j) * u.srcC * u.mPad + m0;
      var cOff = 0u;
      for (var c = 0u; c < u.srcC; c++) {
        var xv: array<f32, TN>;
        for (var t = 0u; t < TN; t++) { xv[t] = src[off[t] + cOff] * mask[t]; }
        for (var m = 0u; m < TM; m++) {
          let w = wp[wIdx + m];  // same address in every invocation of the workgroup: a broadcast load
          for (var t = 0u; t < TN; t++) { acc[m][t] = fma(w, xv[t], acc[m][t]); }
        }
        wIdx += u.mPad;
        cOff += srcHW;
      }
    }
  }

  for (var mi = 0u; mi < TM; mi++) {
    let m = m0 + mi;
    if (m < u.outC) {
      var bv = 0.0;
      if (u.hasBias != 0u) { bv = bias[m]; }
      for (var t = 0u; t < TN; t++) {
        if (live[t]) { out[outBase[t] + m * outHW] = acc[mi][t] + bv; }
      }
    }
  }
}
