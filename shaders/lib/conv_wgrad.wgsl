// lib/conv_wgrad.wgsl — the body of the register-tiled conv weight gradient, included by conv2d_weight_grad.wgsl
// (every invocation loads the TM values of P at a pixel itself) and conv2d_weight_grad_sg.wgsl (the lanes of a
// subgroup load them once between them and share them); scripts/gen-shaders.mjs inserts this text there. The
// including shader defines `const SG` (lanes that share the P loads; 1 = none) and
// `fn shareP(v: f32, lane: u32) -> f32` (that lane's v), and its entry point calls weightGrad(). What it computes
// and why it is split this way: see conv2d_weight_grad.wgsl.

struct Params {
  gC: u32, gH: u32, gW: u32, batch: u32,
  pC: u32, pH: u32, pW: u32, taps: u32,
  kw: u32, pixelsPerChunk: u32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  chunkOffset: u32, mBlockOffset: u32, chunks: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
override ACCUMULATE: bool = false;   // one chunk: add the sums into what `partial` holds (a gradient there)

const WG = 64u;
const TM = {{TM}}u;
const TC = {{TC}}u;
// Lanes per column group: the workgroup's 64 lanes are WG / CL groups of CL lanes, each group summing its own chunk
// of pixels over the same CL·TC columns. CL = 64 (one chunk per workgroup) unless a layer has fewer than 64
// columns, whose lanes would otherwise idle (D1's weight gradient has 16 columns, G4's 9). A multiple of SG, so that all lanes
// of a subgroup sum the same pixels (subgroups are runs of consecutive lanes: gpu.ts's probe checks it).
const CL = {{CL}}u;
const PGROUPS = (TM + SG - 1u) / SG;  // P values each invocation loads per pixel
const GROUP = min(SG, TM);  // rows one load per lane covers

/** The work of one invocation: `lane` is its index in its subgroup (0 when SG = 1). */
fn weightGrad(wg: vec3<u32>, lid: u32, lane: u32) {
  let columns = u.gC * u.taps;
  let colBase = wg.x * CL * TC + lid % CL;
  // A whole workgroup past the columns stops here; single invocations past them are masked (liveCol), so that
  // every lane of a subgroup reaches shareP.
  if (wg.x * CL * TC >= columns) { return; }
  let m0 = (wg.y + u.mBlockOffset) * TM;
  let chunk = (wg.z + u.chunkOffset) * (WG / CL) + lid / CL;
  let gHW = u.gH * u.gW;
  let pHW = u.pH * u.pW;

  // Per column: its channel's offset in G and the tap's row/column shift; dead columns are masked.
  var gCh: array<u32, TC>;
  var rowOff: array<i32, TC>;
  var colOff: array<i32, TC>;
  var liveCol: array<bool, TC>;
  for (var t = 0u; t < TC; t++) {
    let col = colBase + t * CL;
    liveCol[t] = col < columns;
    let cc = min(col, columns - 1u);
    let tap = cc % u.taps;
    gCh[t] = (cc / u.taps) * gHW;
    rowOff[t] = i32(tap / u.kw) * u.dilH - u.padH;
    colOff[t] = i32(tap % u.kw) * u.dilW - u.padW;
  }
  // P channel offsets of the rows this lane loads (row g·SG + lane of each group g of SG rows; all TM when SG = 1),
  // clamped so rows past M read valid memory; their results are not written.
  var pCh: array<u32, PGROUPS>;
  for (var g = 0u; g < PGROUPS; g++) { pCh[g] = min(m0 + min(g * SG + lane, TM - 1u), u.pC - 1u) * pHW; }

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
      // The TM values of P at this pixel are the same for the whole workgroup. They are taken in groups of SG:
      // lane l of a subgroup loads row g·SG + l of group g, and shareP hands row g·SG + k to every lane (SG = 1:
      // each lane loads every row). Two short loops rather than one of TM, so the compiler unrolls both.
      let pOff = pRow + ow;
      for (var g = 0u; g < PGROUPS; g++) {
        let pl = P[pOff + pCh[g]];
        for (var k = 0u; k < GROUP; k++) {
          let m = g * SG + k;
          let pv = shareP(pl, k);
          for (var t = 0u; t < TC; t++) { acc[m][t] = fma(pv, gv[t], acc[m][t]); }
        }
      }
    }
  }

  let base = chunk * u.pC * columns;
  for (var m = 0u; m < TM; m++) {
    for (var t = 0u; t < TC; t++) {
      if (m0 + m < u.pC && liveCol[t] && chunk < u.chunks) {
        let k = base + (m0 + m) * columns + colBase + t * CL;
        if (ACCUMULATE) { partial[k] = partial[k] + acc[m][t]; } else { partial[k] = acc[m][t]; }
      }
    }
  }
}
