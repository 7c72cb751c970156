// conv2d_weight_grad.wgsl — weight gradient of conv2d (and, with roles swapped, of convTranspose2d) as a split-K GEMM.
//
// Computes:  dW[m, c, i, j] = Σ_{n, oh, ow} P[n, m, oh, ow] · G[n, c, oh·s−p+i·d, ow·s−p+j·d]
//   i.e. dW[M, C·kh·kw] = Σ over K = N·Hout·Wout pixels of P · im2col(G)ᵀ, without materialising im2col.
//   conv2d:          P = dY [N,Cout,Ho,Wo], G = X  [N,Cin,H,W]    → dW [Cout, Cin, kh, kw]
//   convTranspose2d: P = X  [N,Cin,H,W],    G = dY [N,Cout,Ho,Wo] → dW [Cin, Cout, kh, kw]
//   Out-of-range taps of G (padding) contribute nothing.
// Work split: the K = N·Hout·Wout reduction is what is large (the naive one-thread-per-weight loop is serial in
//   it), so it is cut into `chunks` ranges of pixels (grid z); each chunk writes its partial sums to
//   partial[chunk] and the host sums the chunks afterwards (a small reduction). Within a chunk an invocation owns
//   a register tile of TM output channels × TC = 4·TC4 input channels at one tap (grid y = tap, so every
//   invocation of a workgroup makes the same in-bounds decision per pixel: no divergence). Per pixel it loads TM
//   values of P and TC of G and does TM·TC FMAs. Grid: (⌈tiles/64⌉, kh·kw, chunks).
// Gradient: not differentiated (second derivatives are not supported).

struct Params {
  gC: u32, gH: u32, gW: u32, batch: u32,
  pC: u32, pH: u32, pW: u32, taps: u32,
  kw: u32, pixelsPerChunk: u32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  cBlocks: u32, mBlocks: u32, chunkOffset: u32, _p1: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

const TM = {{TM}}u;
const TC4 = {{TC4}}u;
const TC = TC4 * 4u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let tile = wg.x * 64u + lid;
  if (tile >= u.cBlocks * u.mBlocks) { return; }
  let c0 = (tile % u.cBlocks) * TC;
  let m0 = (tile / u.cBlocks) * TM;
  let tap = wg.y;
  let i = i32(tap / u.kw);
  let j = i32(tap % u.kw);
  let rowOff = i * u.dilH - u.padH;
  let colOff = j * u.dilW - u.padW;
  let gHW = u.gH * u.gW;
  let pHW = u.pH * u.pW;

  // Channel offsets, clamped so edge tiles read valid memory (their results are not written).
  var gCh: array<u32, TC>;
  var pCh: array<u32, TM>;
  for (var t = 0u; t < TC; t++) { gCh[t] = min(c0 + t, u.gC - 1u) * gHW; }
  for (var m = 0u; m < TM; m++) { pCh[m] = min(m0 + m, u.pC - 1u) * pHW; }

  let chunk = wg.z + u.chunkOffset;
  var acc: array<array<vec4<f32>, TC4>, TM>;
  let total = u.batch * pHW;
  let q1 = min((chunk + 1u) * u.pixelsPerChunk, total);
  var q = chunk * u.pixelsPerChunk;
  // Walk the chunk one output row (n, oh) at a time; the row's in-bounds test is shared by its pixels.
  while (q < q1) {
    let n = q / pHW;
    let rem = q % pHW;
    let oh = rem / u.pW;
    let ow0 = rem % u.pW;
    let owEnd = min(u.pW, ow0 + (q1 - q));
    q += owEnd - ow0;
    let ih = i32(oh) * u.strideH + rowOff;
    if (ih < 0 || ih >= i32(u.gH)) { continue; }
    let gRow = n * u.gC * gHW + u32(ih) * u.gW;
    let pRow = n * u.pC * pHW + oh * u.pW;
    for (var ow = ow0; ow < owEnd; ow++) {
      let iw = i32(ow) * u.strideW + colOff;
      if (iw < 0 || iw >= i32(u.gW)) { continue; }
      let gOff = gRow + u32(iw);
      let pOff = pRow + ow;
      var gv: array<vec4<f32>, TC4>;
      for (var g = 0u; g < TC4; g++) {
        gv[g] = vec4<f32>(G[gOff + gCh[4u * g]], G[gOff + gCh[4u * g + 1u]],
                          G[gOff + gCh[4u * g + 2u]], G[gOff + gCh[4u * g + 3u]]);
      }
      for (var m = 0u; m < TM; m++) {
        let pv = vec4<f32>(P[pOff + pCh[m]]);
        for (var g = 0u; g < TC4; g++) { acc[m][g] = fma(pv, gv[g], acc[m][g]); }
      }
    }
  }

  let base = chunk * u.pC * u.gC * u.taps;
  for (var m = 0u; m < TM; m++) {
    for (var g = 0u; g < TC4; g++) {
      let v = acc[m][g];
      let row = base + ((m0 + m) * u.gC + c0 + 4u * g) * u.taps + tap;
      let mOk = m0 + m < u.pC;
      if (mOk && c0 + 4u * g < u.gC) { partial[row] = v.x; }
      if (mOk && c0 + 4u * g + 1u < u.gC) { partial[row + u.taps] = v.y; }
      if (mOk && c0 + 4u * g + 2u < u.gC) { partial[row + 2u * u.taps] = v.z; }
      if (mOk && c0 + 4u * g + 3u < u.gC) { partial[row + 3u * u.taps] = v.w; }
    }
  }
}
