// lib/conv_gather.wgsl — the body of the register-tiled conv gather, included by conv2d_implicit_gemm.wgsl (every
// invocation loads the step's TM weights itself) and conv2d_implicit_gemm_sg.wgsl (the lanes of a subgroup load
// them once between them and share them); scripts/gen-shaders.mjs inserts this text there. The including shader
// defines `const SG` (lanes that share the weight loads; 1 = none), `fn shareWeight(v: f32, lane: u32) -> f32` (that
// lane's v), `fn weightQuad(i: u32) -> vec4<f32>` (the weights' i-th vec4) and `fn shareQuad(v: vec4<f32>,
// lane: u32) -> vec4<f32>` (used only with QUAD_WEIGHTS), and its entry point calls gather(). What it computes and
// why it is split this way: see conv2d_implicit_gemm.wgsl.

// Where the tensors lie, in elements. The host's usual layout is NCHW src and out and the packed weight
// ([tap][c][mPad]: wTap = srcC·mPad, wChan = mPad, wM = 1); the weight gradient run as a gather and the transposed
// gather run as a 1×1 conv (weightGradAsGather, transposedGatherViaCols in src/tensor/conv.ts) read their tensors
// in place through other strides:
//   src[n, c, row, col]       at srcOffset + n·srcBatch + c·srcChan + row·srcW + col
//   weight of (tap, c, m)     at wOffset + tap·wTap + c·wChan + min(m, wMLast)·wM
//   out[n, m, row, col]       at n·outBatch + m·outChan + row·outW + col
// Rows m past wMLast read row wMLast (with QUAD_WEIGHTS: where they lie, see there); only rows m < outC are written.
struct Params {
  srcC: u32, srcH: u32, srcW: u32, batch: u32,
  outC: u32, outH: u32, outW: u32, wMLast: u32,
  kh: u32, kw: u32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  phasesH: u32, phasesW: u32, tileOffset: u32, hasBias: u32,
  mBlockOffset: u32, srcOffset: u32, srcBatch: u32, srcChan: u32,
  wOffset: u32, wTap: u32, wChan: u32, wM: u32,
  outBatch: u32, outChan: u32, _p0: u32, _p1: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override TRANSPOSED: bool = false;
override ACCUMULATE: bool = false;  // add the sums into what `out` holds
// The weights' rows lie side by side (wM = 1; wOffset, wTap, wChan multiples of 4) and TM = 4·SG: both channel loops
// then read each lane's 4 consecutive weights as one vec4 (weightQuad, from the including shader) and shares them by
// vec4 shuffles. Rows past wMLast are then read where they lie, not clamped: the next channel's weights, or past
// the buffer's end for the last channel, which WebGPU's bounds checks make a harmless read; their sums are never
// written.
override QUAD_WEIGHTS: bool = false;
// The activation applied to each output as it is written (LEAKY/SLOPE, TANH: the unary kernel's expressions, so the
// same bits as a separate pass): a conv and the activation after it in one launch (src/tensor/conv.ts).
// #include "lib/activation.wgsl" — activate()
const WG = 64u;
const TM = {{TM}}u;
const TN = {{TN}}u;
const GROUP = min(SG, TM);  // weights one load per lane covers
const PAIRED = SG > 1u;  // two src channels per step (see the channel loop)

/** The work of one invocation: `lane` is its index in its subgroup (0 when SG = 1). */
fn gather(wg: vec3<u32>, lid: u32, lane: u32) {
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
    srcBase[t] = u.srcOffset + n * u.srcBatch;
    outBase[t] = n * u.outBatch + (phH + a * u.phasesH) * u.outW + phW + b * u.phasesW;
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
      // src offsets of this tap for each pixel; out-of-bounds taps read src[0] and are masked to zero. Multiplied by
      // the mask, not selected: a select ran the lavapipe default's gathers slower in alternating runs
      // whose figures were not kept. The price: an Inf or NaN at src[0] makes the outside taps NaN where torch reads
      // 0 (the workgroup-tiled kernels select).
      var off: array<u32, TN>;
      var mask: array<f32, TN>;
      for (var t = 0u; t < TN; t++) {
        let r = pa[t] * rowScale + rowOff;
        let c = pb[t] * colScale + colOff;
        let ok = live[t] && r >= 0 && r < i32(u.srcH) && c >= 0 && c < i32(u.srcW);
        off[t] = select(0u, srcBase[t] + u32(r) * u.srcW + u32(c), ok);
        mask[t] = select(0.0, 1.0, ok);
      }
      var wIdx = u.wOffset + (i * u.kw + j) * u.wTap;
      var cOff = 0u;
      var c = 0u;
      // With subgroups (PAIRED): two src channels per step, each accumulator taking both products before it is
      // written back. The sums are the same, in the same order, as one channel per step; but lavapipe keeps the
      // TM·TN accumulators in memory and blends every write with the lane mask, so this halves those loads, stores
      // and blends. Three or four channels per step ran slower there, and so does the plain kernel paired: its
      // TM weight loads per channel double the live values, more than the registers hold.
      if (PAIRED) {
        for (; c + 2u <= u.srcC; c += 2u) {
          var xa: array<f32, TN>;
          var xb: array<f32, TN>;
          for (var t = 0u; t < TN; t++) {
            xa[t] = src[off[t] + cOff] * mask[t];
            xb[t] = src[off[t] + cOff + u.srcChan] * mask[t];
          }
          // The TM weights of this step are the same for the whole workgroup. With QUAD_WEIGHTS lane l of a
          // subgroup loads weights 4l … 4l + 3 of each channel as one vec4 (one lane-by-lane load where four scalar
          // ones cost four) and shareQuad hands lane l's four to every lane.
          if (QUAD_WEIGHTS) {
            let q = (wIdx + m0) / 4u + lane;
            let qa = weightQuad(q);
            let qb = weightQuad(q + u.wChan / 4u);
            for (var l = 0u; l < SG; l++) {
              let wa = shareQuad(qa, l);
              let wb = shareQuad(qb, l);
              for (var j = 0u; j < 4u; j++) {
                for (var t = 0u; t < TN; t++) {
                  acc[4u * l + j][t] = fma(wb[j], xb[t], fma(wa[j], xa[t], acc[4u * l + j][t]));
                }
              }
            }
            wIdx += 2u * u.wChan;
            cOff += 2u * u.srcChan;
            continue;
          }
          // Otherwise they are taken in groups of SG: lane l of a subgroup loads weight g + l of group g, and
          // shareWeight hands weight g + k to every lane (SG = 1: each lane loads every weight). Two short loops
          // rather than one of TM, so the compiler unrolls both.
          for (var g = 0u; g < TM; g += SG) {
            let wRow = min(m0 + min(g + lane, TM - 1u), u.wMLast) * u.wM;
            let wla = wp[wIdx + wRow];
            let wlb = wp[wIdx + u.wChan + wRow];
            for (var k = 0u; k < GROUP; k++) {
              let wa = shareWeight(wla, k);
              let wb = shareWeight(wlb, k);
              for (var t = 0u; t < TN; t++) { acc[g + k][t] = fma(wb, xb[t], fma(wa, xa[t], acc[g + k][t])); }
            }
          }
          wIdx += 2u * u.wChan;
          cOff += 2u * u.srcChan;
        }
      }
      // One channel per step: every channel of the plain kernel, the last of an odd count when PAIRED (and so
      // every step of a 1-channel layer: D1's forward, G4's input gradient; with vec4 weights as above).
      for (; c < u.srcC; c++) {
        var xa: array<f32, TN>;
        for (var t = 0u; t < TN; t++) { xa[t] = src[off[t] + cOff] * mask[t]; }
        if (QUAD_WEIGHTS) {
          let qa = weightQuad((wIdx + m0) / 4u + lane);
          for (var l = 0u; l < SG; l++) {
            let wa = shareQuad(qa, l);
            for (var j = 0u; j < 4u; j++) {
              for (var t = 0u; t < TN; t++) { acc[4u * l + j][t] = fma(wa[j], xa[t], acc[4u * l + j][t]); }
            }
          }
          wIdx += u.wChan;
          cOff += u.srcChan;
          continue;
        }
        for (var g = 0u; g < TM; g += SG) {
          let wla = wp[wIdx + min(m0 + min(g + lane, TM - 1u), u.wMLast) * u.wM];
          for (var k = 0u; k < GROUP; k++) {
            let wa = shareWeight(wla, k);
            for (var t = 0u; t < TN; t++) { acc[g + k][t] = fma(wa, xa[t], acc[g + k][t]); }
          }
        }
        wIdx += u.wChan;
        cOff += u.srcChan;
      }
    }
  }

  for (var mi = 0u; mi < TM; mi++) {
    let m = m0 + mi;
    if (m < u.outC) {
      var bv = 0.0;
      if (u.hasBias != 0u) { bv = bias[m]; }
      for (var t = 0u; t < TN; t++) {
        if (live[t]) {
          let k = outBase[t] + m * u.outChan;
          let v = acc[mi][t] + bv;
          if (ACCUMULATE) { out[k] = out[k] + v; } else { out[k] = activate(v); }
        }
      }
    }
  }
}
