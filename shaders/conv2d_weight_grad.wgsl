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
//   a register tile of TM rows m × TC im2col columns col = c·kh·kw + i·kw + j (columns strided by the workgroup
//   size, so neighbouring invocations read neighbouring taps). The TM rows are the same for the whole workgroup,
//   so the P values of a pixel are one broadcast load each; only the TC values of G are per-invocation loads.
//   Per pixel: TC loads + TM broadcasts feed TM·TC FMAs. Grid: (⌈columns / (64·TC)⌉, ⌈M/TM⌉, chunks), split
//   into several launches (chunkOffset, mBlockOffset) when large, to keep every dispatch short.
// Gradient: not differentiated (second derivatives are not supported).

struct Params {
  gC: u32, gH: u32, gW: u32, batch: u32,
  pC: u32, pH: u32, pW: u32, taps: u32,
  kw: u32, pixelsPerChunk: u32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  chunkOffset: u32, mBlockOffset: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
override ACCUMULATE: bool = false;   // one chunk: add the sums into what `partial` holds (a gradient there)

const WG = 64u;
const TM = {{TM}}u;
const TC = {{TC}}u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let columns = u.gC * u.taps;
  let colBase = wg.x * WG * TC + lid;
  if (colBase >= columns) { return; }
  let m0 = (wg.y + u.mBlockOffset) * TM;
  let chunk = wg.z + u.chunkOffset;
  let gHW = u.gH * u.gW;
  let pHW = u.pH * u.pW;

  // Per column: its channel's offset in G and the tap's row/column shift; dead columns are masked.
  var gCh: array<u32, TC>;
  var rowOff: array<i32, TC>;
  var colOff: array<i32, TC>;
  var liveCol: array<bool, TC>;
  for (var t = 0u; t < TC; t++) {
    let col = colBase + t * WG;
    liveCol[t] = col < columns;
    let cc = min(col, columns - 1u);
    let tap = cc % u.taps;
    gCh[t] = (cc / u.taps) * gHW;
    rowOff[t] = i32(tap / u.kw) * u.dilH - u.padH;
    colOff[t] = i32(tap % u.kw) * u.dilW - u.padW;
  }
  // P channel offsets (uniform), clamped so rows past M read valid memory; their results are not written.
  var pCh: array<u32, TM>;
  for (var m = 0u; m < TM; m++) { pCh[m] = min(m0 + m, u.pC - 1u) * pHW; }

  var acc: array<array<f32, TC>, TM>;
  let total = u.batch * pHW;
  let q1 = min((chunk + 1u) * u.pixelsPerChunk, total);
  var q = chunk * u.pixelsPerChunk;
  // Walk the chunk one output row (n, oh) at a time.
  while (q < q1) {
    let n = q / pHW;
    let rem = q % pHW;
    let oh = rem / u.pW;
    let ow0 = rem % u.pW;
    let owEnd = min(u.pW, ow0 + (q1 - q));
    q += owEnd - ow0;
    let pRow = n * u.pC * pHW + oh * u.pW;
    let gImage = n * u.gC * gHW;
    var rowBase: array<i32, TC>;
    var rowOk: array<bool, TC>;
    for (var t = 0u; t < TC; t++) {
      let ih = i32(oh) * u.strideH + rowOff[t];
      rowOk[t] = liveCol[t] && ih >= 0 && ih < i32(u.gH);
      rowBase[t] = i32(gImage + gCh[t]) + ih * i32(u.gW);
    }
    for (var ow = ow0; ow < owEnd; ow++) {
      var gv: array<f32, TC>;
      for (var t = 0u; t < TC; t++) {
        let iw = i32(ow) * u.strideW + colOff[t];
        let ok = rowOk[t] && iw >= 0 && iw < i32(u.gW);
        gv[t] = select(0.0, G[select(0u, u32(rowBase[t] + iw), ok)], ok);
      }
      let pOff = pRow + ow;
      for (var m = 0u; m < TM; m++) {
        let pv = P[pOff + pCh[m]];  // same address in the whole workgroup: a broadcast load
        for (var t = 0u; t < TC; t++) { acc[m][t] = fma(pv, gv[t], acc[m][t]); }
      }
    }
  }

  let base = chunk * u.pC * columns;
  for (var m = 0u; m < TM; m++) {
    for (var t = 0u; t < TC; t++) {
      if (m0 + m < u.pC && liveCol[t]) {
        let k = base + (m0 + m) * columns + colBase + t * WG;
        if (ACCUMULATE) { partial[k] = partial[k] + acc[m][t]; } else { partial[k] = acc[m][t]; }
      }
    }
  }
}
