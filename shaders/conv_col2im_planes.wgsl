// conv_col2im_planes.wgsl — the second half of a transposed convolution done as GEMM + col2im, any channel count.
//
// Computes:  out[n, c, y, x] = b[c] + Σ_{i<kh, j<kw} cols[n, c·kh·kw + i·kw + j, r, q]
//              over the taps with s | (y + p − i·d) and s | (x + p − j·d), where r = (y + p − i·d)/s and
//              q = (x + p − j·d)/s lie inside the srcH × srcW source grid (per axis: its own s, p, d).
//   cols[n, c·kh·kw + tap, r, q] = Σ_ch w[ch, c, tap] · src[n, ch, r, q] is a 1×1 conv that src/tensor/conv.ts runs
//   first (conv2d_implicit_gemm*.wgsl, reading w in place through its strides). The transposed gather computes the
//   same sums phase by phase, but where the source grid is small most pixels of a phase lie at its border, and a
//   tap that falls outside the source still costs its multiply-adds there; the 1×1 conv computes each product that
//   lands anywhere once, and this pass adds the ≤ ⌈kh/s⌉·⌈kw/s⌉ that land on each pixel.
// Work split: an invocation owns one (image, channel) plane and one output row y: 64 planes per workgroup (grid
//   x), one row per grid y (split by the host past 65535 planes-groups with planeOffset). The row's taps depend
//   on y alone and a column's on x mod s alone, so they are worked out once per row and once per column phase,
//   the same for every lane: no division per pixel, which lavapipe makes lane by lane. Then, phase by phase, the
//   columns x = phase, phase + s, … each add their ≤ ⌈kh/s⌉·⌈kw/s⌉ columns of cols.
// Gradient: this is the transposed gather itself (see conv2d_implicit_gemm.wgsl); its gradients are the
//   forward gather and the weight gradient, as for the one-pass version.

struct Params {
  planes: u32, channels: u32, outH: u32, outW: u32,
  srcH: u32, srcW: u32, kh: u32, kw: u32,
  strideH: i32, strideW: i32, padH: i32, padW: i32,
  dilH: i32, dilW: i32, hasBias: u32, planeOffset: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const MAX_TAPS = 16u;  // taps per axis that can land on one row or column (the host checks ⌈k/s⌉ ≤ this)

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let plane = (wg.x + u.planeOffset) * 64u + lid;
  if (plane >= u.planes) { return; }
  let y = i32(wg.y);
  let srcHW = u.srcH * u.srcW;
  let taps = u.kh * u.kw;
  let colsBase = plane * taps * srcHW;
  let outBase = plane * u.outH * u.outW + wg.y * u.outW;
  var b = 0.0;
  if (u.hasBias != 0u) { b = bias[plane % u.channels]; }

  // The row taps that land on row y: tap i, and the offset of its source row in a cols plane.
  var rowTap: array<u32, MAX_TAPS>;
  var rowOff: array<u32, MAX_TAPS>;
  var rows = 0u;
  for (var i = 0u; i < u.kh; i++) {
    let num = y + u.padH - i32(i) * u.dilH;
    if (num < 0 || num % u.strideH != 0) { continue; }
    let r = num / u.strideH;
    if (r >= i32(u.srcH)) { continue; }
    rowTap[rows] = i * u.kw;
    rowOff[rows] = u32(r) * u.srcW;
    rows++;
  }

  for (var phase = 0u; phase < u.outW && phase < u32(u.strideW); phase++) {
    // The column taps of this phase: tap j and the source column of x = phase (q0; x = phase + k·s reads q0 + k).
    var colTap: array<u32, MAX_TAPS>;
    var colQ0: array<i32, MAX_TAPS>;
    var nCols = 0u;
    for (var j = 0u; j < u.kw; j++) {
      let num = i32(phase) + u.padW - i32(j) * u.dilW;
      if (num % u.strideW != 0) { continue; }
      colTap[nCols] = j;
      colQ0[nCols] = num / u.strideW;
      nCols++;
    }
    var k = 0i;
    for (var x = phase; x < u.outW; x += u32(u.strideW)) {
      var sum = b;
      for (var a = 0u; a < rows; a++) {
        for (var t = 0u; t < nCols; t++) {
          let q = colQ0[t] + k;
          if (q >= 0 && q < i32(u.srcW)) {
            sum += cols[colsBase + (rowTap[a] + colTap[t]) * srcHW + rowOff[a] + u32(q)];
          }
        }
      }
      out[outBase + x] = sum;
      k++;
    }
  }
}
