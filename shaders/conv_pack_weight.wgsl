// conv_pack_weight.wgsl — reorders conv weights into the layout the implicit-GEMM kernel streams, up to 4 weights
// (slots) per launch.
//
// Computes, for each slot k of the launch (a weight w_k and its packed copy Wp_k, with slot k's sizes u.rows[k] …):
//   Wp[tap][c][m] = w[c·strideC + m·strideM + tap]  for m < M, and 0 for M ≤ m < mPad,
//   where tap = i·kw + j. The source w is [Cout, Cin, kh, kw] (conv) or [Cin, Cout, kh, kw] (convT); the host
//   picks which weight dimension is the reduction channel c and which is the output channel m by the strides.
//   In the packed layout the TM output channels an invocation needs for one (tap, c) are adjacent, so
//   conv2d_implicit_gemm.wgsl reads them with one running index; a partial last channel tile multiplies the zero
//   padding (its clamp of the row index to wMLast = mPad − 1 never bites here: it serves weights read in place).
// Slots: a weight is packed when a conv first needs it after the weight changed (one slot), or, right after an
//   optimizer step, together with the other layouts the step invalidated (src/tensor/conv.ts, prepackConvWeights),
//   up to 4 per launch instead of one launch each. Slot k's weight and packed copy are bindings 2k+1 and 2k+2;
//   WGSL cannot pick a binding by a run-time index, so each slot has its own function, and entry point `slotsK`
//   serves slots 0 … K−1.
// Work split: one invocation per packed row (tap, c), looping over its mPad channels m; 256 invocations per
//   workgroup; slot k owns workgroups start[k] … start[k+1] − 1 of a 2-D grid past 65535 workgroups (the slot
//   search and entry points of lib/slots.wgsl, shared with adam.wgsl and ema.wgsl; its `update` of a group of
//   elements is a row here). The row's (tap, c) costs one integer division per row rather than per element: a
//   CPU adapter emulates vector division lane by lane, and dividing per element made this pass ~7% of a
//   style-transfer step on lavapipe (a profile whose figures were not kept).
// Gradient: none needed (a permutation applied to a weight that is itself the differentiated input; the ops in
//   src/tensor/conv.ts differentiate w directly with conv2d_weight_grad.wgsl).

struct Params {
  rows: vec4<u32>,     // slot k's packed rows, taps·C
  C: vec4<u32>,
  M: vec4<u32>,
  mPad: vec4<u32>,
  strideC: vec4<u32>,
  strideM: vec4<u32>,
  start: vec4<u32>,    // slot k's first workgroup; slots past the launch's last start past every workgroup
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> w0: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed0: array<f32>;
@group(0) @binding(3) var<storage, read> w1: array<f32>;
@group(0) @binding(4) var<storage, read_write> packed1: array<f32>;
@group(0) @binding(5) var<storage, read> w2: array<f32>;
@group(0) @binding(6) var<storage, read_write> packed2: array<f32>;
@group(0) @binding(7) var<storage, read> w3: array<f32>;
@group(0) @binding(8) var<storage, read_write> packed3: array<f32>;

/** Where row `row` of slot k reads its first value and writes its first value; false past the slot's rows. */
struct Row { ok: bool, src: u32, dst: u32 }

fn row_of(k: u32, row: u32) -> Row {
  if (row >= u.rows[k]) { return Row(false, 0u, 0u); }
  let tap = row / u.C[k];
  let c = row - tap * u.C[k];
  return Row(true, c * u.strideC[k] + tap, row * u.mPad[k]);
}

fn update0(row: u32) {
  let r = row_of(0u, row);
  if (!r.ok) { return; }
  for (var m = 0u; m < u.M[0]; m++) { packed0[r.dst + m] = w0[r.src + m * u.strideM[0]]; }
  for (var m = u.M[0]; m < u.mPad[0]; m++) { packed0[r.dst + m] = 0.0; }
}

fn update1(row: u32) {
  let r = row_of(1u, row);
  if (!r.ok) { return; }
  for (var m = 0u; m < u.M[1]; m++) { packed1[r.dst + m] = w1[r.src + m * u.strideM[1]]; }
  for (var m = u.M[1]; m < u.mPad[1]; m++) { packed1[r.dst + m] = 0.0; }
}

fn update2(row: u32) {
  let r = row_of(2u, row);
  if (!r.ok) { return; }
  for (var m = 0u; m < u.M[2]; m++) { packed2[r.dst + m] = w2[r.src + m * u.strideM[2]]; }
  for (var m = u.M[2]; m < u.mPad[2]; m++) { packed2[r.dst + m] = 0.0; }
}

fn update3(row: u32) {
  let r = row_of(3u, row);
  if (!r.ok) { return; }
  for (var m = 0u; m < u.M[3]; m++) { packed3[r.dst + m] = w3[r.src + m * u.strideM[3]]; }
  for (var m = u.M[3]; m < u.mPad[3]; m++) { packed3[r.dst + m] = 0.0; }
}

// #include "lib/slots.wgsl" — entry points slots1 … slots4: each invocation packs row j of its workgroup's slot
