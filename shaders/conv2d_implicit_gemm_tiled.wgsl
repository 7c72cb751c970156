// conv2d_implicit_gemm_tiled.wgsl — conv2d forward and (TRANSPOSED) conv2d input-gradient = convTranspose2d
// forward, with workgroup-memory tiling (for real GPUs). The same tensors and sums as conv2d_implicit_gemm.wgsl (the
// register-tiled kernel for CPU adapters), split differently; its Params take the packed weight's row length mPad
// where the register kernel's take strides, so it always reads src as NCHW and writes out whole (no ACCUMULATE).
//
// Computes, as a GEMM out[m, pixel] = Σ_k Wp[k, m] · src[k, pixel] without materialising im2col:
//   forward    (TRANSPOSED=false): y[n,m,oh,ow] = b[m] + Σ_{c,i,j} w[m,c,i,j] · x[n,c, oh·s−p+i·d, ow·s−p+j·d]
//   transposed (TRANSPOSED=true):  y[n,m,oh,ow] = b[m] + Σ_{c,i,j : s | (oh+p−i·d)} w[c,m,i,j] · x[n,c, (oh+p−i·d)/s, ...]
//     where w is the same [Cout, Cin, kh, kw] conv weight, read with its two channel axes swapped: here the output
//     channel m is the conv's input channel and the summed channel c its output channel (conv2d's dX: src = dY).
//   Taps outside src read 0. Wp is the weight packed by conv_pack_weight.wgsl as [tap][c][mPad]
//   (mPad = outC rounded up to TILE_M).
//   With LEAKY or TANH (lib/activation.wgsl) each output is written as activate(out): the conv and the activation
//   after it in one launch; the op's backward scales the gradient through the output (activationBackwardFromOutput).
// Phases: as in the register kernel, the output is split into sH·sW phases (oh mod sH, ow mod sW) for the
//   transposed case (grid z), so the zeros of the stride-dilated input are never read. Within a phase only the
//   taps i with s | (ph+p−i·d) contribute; they repeat every s/gcd(s,d) taps, so the phase's reduction runs over
//   K = (taps of the phase) × srcC steps k = (tap, c) and nothing else. The forward conv is one phase, all taps.
// Work split: a workgroup computes a TILE_M × 64 tile of out (TILE_M = 64 output channels, or 16 for narrow
//   layers, so a 1-channel output wastes 16×, not 64×; or 128 with 8 channels per invocation, version tiled-128)
//   for 64 pixels of one phase. It walks K in slabs of 16
//   steps: every slab it copies 16 × TILE_M packed weights and 16 × 64 src values (im2col gathered on the fly,
//   0 for padding taps and pixels past the end) into workgroup memory, synchronises, and each of its
//   16 × (TILE_M/PER_M) invocations accumulates a PER_M × 4 block of out (channels ty + i·TILE_M/PER_M, pixels
//   tx + 16j) from workgroup memory: 8 workgroup-memory reads for 16 FMAs per step (12 for 32 with PER_M = 8),
//   while each global value is read once per workgroup instead of once per output. Loads are coalesced: consecutive invocations read consecutive m of
//   a Wp row, and consecutive pixels of the phase grid (neighbouring src columns) of a src row.
//   VEC4 (versions tiled-vec4, tiled-128-vec4): the same slabs read as vec4s, and each invocation owns 4
//   consecutive channels (PER_M/4 such groups, TILE_M/PER_M·4 apart) × 4 consecutive pixels: per step one vec4 of
//   weights per group and one of src, 2 workgroup-memory reads for 16 FMAs (3 for 32 at TILE_M = 128) instead of
//   8 (12). The slabs are vec4 arrays in both modes; their layout in memory is the same as a flat f32 array.
//   Which (tap, channel) a step k is costs integer divisions, so the 16 steps of a slab are decoded once, by 16
//   invocations, into a small table in workgroup memory (the next slab's while the current one is multiplied).
// Why this tiling: on a GPU barriers are cheap and workgroup memory cuts global traffic by the tile size; on a
//   CPU adapter (lavapipe) every barrier is a switch between invocations, so use conv2d_implicit_gemm.wgsl there.
// Split-K (SPLIT, versions tiled-splitk and tiled-vec4-splitk): where a pass has too few tiles to keep a GPU busy
//   (the deep VGG layers of a style image, D3 and D4 of the DCGAN: a few dozen workgroups, each walking hundreds of
//   slabs in turn), each phase's K steps are cut into `chunks` runs of `slabsPerChunk` slabs (grid z = phases ×
//   chunks); chunk c writes its sums, without bias or activation, to out[c · N·outC·outH·outW + the output's index],
//   a scratch tensor, and conv_split_sum.wgsl adds the chunks in order, the bias and the activation. A chunk past a
//   phase's K writes zeros.
// Grid: (pixel tiles of 64, ⌈outC/TILE_M⌉, phases × chunks), split by the host into several launches (tileOffset,
//   mBlockOffset) like the register kernel.
// Gradient: the op's gradients are this kernel with TRANSPOSED flipped (w.r.t. src) and
//   conv2d_weight_grad_tiled.wgsl (w.r.t. the weight); see src/tensor/conv.ts.

struct Params {
  srcC: u32, srcH: u32, srcW: u32, batch: u32,
  outC: u32, outH: u32, outW: u32, mPad: u32,
  kh: u32, kw: u32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  phasesH: u32, phasesW: u32, tileOffset: u32, hasBias: u32,
  mBlockOffset: u32, chunks: u32, slabsPerChunk: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override TRANSPOSED: bool = false;
override SPLIT: bool = false;   // write chunk sums for conv_split_sum.wgsl (see Split-K above)
// The activation applied to each output as it is written (as in lib/conv_gather.wgsl): a conv and its activation in
// one launch.
// #include "lib/activation.wgsl" — activate()
const TILE_M = {{TILE_M}}u;   // output channels per workgroup (64, or 16 for narrow layers, or 128)
const PER_M = {{PER_M}}u;     // channels per invocation: 4, or 8 with TILE_M = 128
const VEC4 = {{VEC4}};        // true: consecutive channels and pixels per invocation, read as vec4s
const TILE_N = 64u;           // pixels per workgroup
const SLAB = 16u;             // reduction steps per workgroup-memory slab
const PER = 4u;               // pixels per invocation
const WG_N = TILE_N / PER;    // invocations along pixels: 16
const WG_M = TILE_M / PER_M;  // invocations along channels: 16, 4 or 16
const INVOCATIONS = WG_N * WG_M;

var<workgroup> rowSlab: array<array<vec4<f32>, TILE_M / 4u>, SLAB>;  // rowSlab[k][m/4][m%4] = Wp[step k0+k][m0+m]
var<workgroup> colSlab: array<array<vec4<f32>, TILE_N / 4u>, SLAB>;  // colSlab[k][p/4][p%4] = src of step k0+k, pixel p
// The decoded steps of a slab: src channel offset, tap row/column offsets, Wp row start, and 0/1 for steps ≥ K.
var<workgroup> stepChan: array<u32, SLAB>;
var<workgroup> stepRow: array<i32, SLAB>;
var<workgroup> stepCol: array<i32, SLAB>;
var<workgroup> stepW: array<u32, SLAB>;
var<workgroup> stepLive: array<u32, SLAB>;

/** The taps first, first + step, ... (count of them) of one dimension that reach phase `ph`. */
struct PhaseTaps { first: u32, step: u32, count: u32 }

fn phaseTaps(ph: u32, pad: i32, dil: i32, stride: i32, k: u32) -> PhaseTaps {
  if (!TRANSPOSED) { return PhaseTaps(0u, 1u, k); }
  // s | (ph + p − i·d) holds for i ≡ first (mod step), step = s / gcd(s, d) ≤ s: scan one period.
  var step = 1u;
  while ((i32(step) * dil) % stride != 0) { step++; }
  for (var i = 0u; i < step; i++) {
    if ((i32(ph) + pad - i32(i) * dil) % stride == 0) {
      return PhaseTaps(i, step, select(0u, (k - i + step - 1u) / step, i < k));
    }
  }
  return PhaseTaps(0u, 1u, 0u);
}

/** Row (or column) of src read by tap i, relative to the pixel's a·rowScale. */
fn tapOffset(i: u32, ph: u32, pad: i32, dil: i32, stride: i32) -> i32 {
  if (TRANSPOSED) { return (i32(ph) + pad - i32(i) * dil) / stride; }  // exact: the tap reaches this phase
  return i32(i) * dil - pad;
}

/** Decodes step k = (tap t of the phase, channel c) into slot `slot` of the step table. */
fn decodeStep(slot: u32, k: u32, K: u32, th: PhaseTaps, tw: PhaseTaps, phH: u32, phW: u32) {
  let kk = min(k, max(K, 1u) - 1u);  // (a chunk with no steps decodes step 0 and never reads it)
  let c = kk % u.srcC;
  let t = kk / u.srcC;
  let i = th.first + (t / tw.count) * th.step;
  let j = tw.first + (t % tw.count) * tw.step;
  stepChan[slot] = c * u.srcH * u.srcW;
  stepRow[slot] = tapOffset(i, phH, u.padH, u.dilH, u.strideH);
  stepCol[slot] = tapOffset(j, phW, u.padW, u.dilW, u.strideW);
  stepW[slot] = ((i * u.kw + j) * u.srcC + c) * u.mPad;
  stepLive[slot] = select(0u, 1u, k < K);
}

// #include "lib/tile_slab.wgsl" — tileRow(), tileColumn() and multiplySlab()

@compute @workgroup_size(WG_N, WG_M)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) flat: u32) {
  let phases = u.phasesH * u.phasesW;
  let chunk = wg.z / phases;
  let phH = (wg.z % phases) / u.phasesW;
  let phW = (wg.z % phases) % u.phasesW;
  // Size of this phase's pixel grid: rows a with phH + a·P < outH.
  let rows = (u.outH + u.phasesH - 1u - phH) / u.phasesH;
  let cols = (u.outW + u.phasesW - 1u - phW) / u.phasesW;
  let perImage = rows * cols;
  let pixels = u.batch * perImage;
  let tile0 = (wg.x + u.tileOffset) * TILE_N;
  if (tile0 >= pixels) { return; }
  let m0 = (wg.y + u.mBlockOffset) * TILE_M;
  let th = phaseTaps(phH, u.padH, u.dilH, u.strideH, u.kh);
  let tw = phaseTaps(phW, u.padW, u.dilW, u.strideW, u.kw);
  let K = th.count * tw.count * u.srcC;
  // This chunk's steps [kStart, kEnd) of the phase's K (all of them, unsplit).
  let kStart = min(K, chunk * u.slabsPerChunk * SLAB);
  let kEnd = min(K, kStart + u.slabsPerChunk * SLAB);

  // The tile pixel this invocation gathers src values for (the same one in every slab).
  let p = flat % TILE_N;
  let q = tile0 + p;
  let live = q < pixels;
  let qq = min(q, pixels - 1u);
  let a = (qq % perImage) / cols;
  let b = (qq % perImage) % cols;
  let srcImage = (qq / perImage) * u.srcC * u.srcH * u.srcW;
  let srcRow = i32(a) * select(u.strideH, 1, TRANSPOSED);
  let srcCol = i32(b) * select(u.strideW, 1, TRANSPOSED);

  var acc: array<vec4<f32>, PER_M>;  // acc[i][j]: tile channel tileRow(ty, i), tile pixel tileColumn(tx, j)
  if (flat < SLAB) { decodeStep(flat, kStart + flat, kEnd, th, tw, phH, phW); }
  workgroupBarrier();
  for (var k0 = kStart; k0 < kEnd; k0 += SLAB) {
    // Stage 16 × TILE_M weights (4 per invocation, 8 at TILE_M = 128; consecutive invocations on consecutive m).
    for (var e = flat; e < SLAB * TILE_M; e += INVOCATIONS) {
      let k = e / TILE_M;
      let m = e % TILE_M;
      rowSlab[k][m / 4u][m % 4u] = select(0.0, wp[stepW[k] + m0 + m], stepLive[k] != 0u);
    }
    // Stage 16 × 64 src values: the im2col entries of this slab's steps for the tile's pixels.
    for (var k = flat / TILE_N; k < SLAB; k += INVOCATIONS / TILE_N) {
      let r = srcRow + stepRow[k];
      let c = srcCol + stepCol[k];
      let ok = live && stepLive[k] != 0u && r >= 0 && r < i32(u.srcH) && c >= 0 && c < i32(u.srcW);
      let idx = srcImage + stepChan[k] + u32(r) * u.srcW + u32(c);
      colSlab[k][p / 4u][p % 4u] = select(0.0, src[select(0u, idx, ok)], ok);
    }
    workgroupBarrier();
    // Nobody reads the step table again before the barrier below: decode the next slab's steps now.
    if (flat < SLAB) { decodeStep(flat, k0 + SLAB + flat, kEnd, th, tw, phH, phW); }
    multiplySlab(&acc, lid.x, lid.y);
    workgroupBarrier();
  }

  let outHW = u.outH * u.outW;
  let chunkBase = chunk * u.batch * u.outC * outHW;
  for (var j = 0u; j < PER; j++) {
    let qo = tile0 + tileColumn(lid.x, j);
    if (qo >= pixels) { break; }
    let r = qo % perImage;
    let outBase = (qo / perImage) * u.outC * outHW + (phH + (r / cols) * u.phasesH) * u.outW + phW + (r % cols) * u.phasesW;
    for (var i = 0u; i < PER_M; i++) {
      let m = m0 + tileRow(lid.y, i);
      if (m < u.outC && SPLIT) {
        out[chunkBase + outBase + m * outHW] = acc[i][j];
      } else if (m < u.outC) {
        var bv = 0.0;
        if (u.hasBias != 0u) { bv = bias[m]; }
        let v = acc[i][j] + bv;
        out[outBase + m * outHW] = activate(v);
      }
    }
  }
}
