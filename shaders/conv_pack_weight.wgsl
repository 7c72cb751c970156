// conv_pack_weight.wgsl — reorders a conv weight into the layout the implicit-GEMM kernel streams.
//
// Computes:  Wp[tap][c][m] = w[c·strideC + m·strideM + tap]  for m < M, and 0 for M ≤ m < mPad,
//   where tap = i·kw + j. The source w is [Cout, Cin, kh, kw] (conv) or [Cin, Cout, kh, kw] (convT); the host
//   picks which weight dimension is the reduction channel c and which is the output channel m by the strides.
//   In the packed layout the TM output channels an invocation needs for one (tap, c) are adjacent, so
//   conv2d_implicit_gemm.wgsl reads them with one running index, and the zero padding lets it skip bounds checks on m.
// Work split: one invocation per packed element, 256 per workgroup (a few thousand to a few million elements,
//   run once per op — negligible next to the GEMM).
// Gradient: none needed (a permutation applied to a weight that is itself the differentiated input; the ops in
//   src/tensor/conv.ts differentiate w directly with conv2d_weight_grad.wgsl).

struct Params { total: u32, C: u32, M: u32, mPad: u32,
                strideC: u32, strideM: u32, taps: u32, _p: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let idx = (wg.y * nwg.x + wg.x) * 256u + li;
  if (idx >= u.total) { return; }
  let m = idx % u.mPad;
  let c = (idx / u.mPad) % u.C;
  let tap = idx / (u.mPad * u.C);
  var v = 0.0;
  if (m < u.M) { v = w[c * u.strideC + m * u.strideM + tap]; }
  packed[idx] = v;
}
