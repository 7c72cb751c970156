// conv_pack_weight.wgsl — reorders a conv weight into the layout the implicit-GEMM kernel streams.
//
// Computes:  Wp[tap][c][m] = w[c·strideC + m·strideM + tap]  for m < M, and 0 for M ≤ m < mPad,
//   where tap = i·kw + j. The source w is [Cout, Cin, kh, kw] (conv) or [Cin, Cout, kh, kw] (convT); the host
//   picks which weight dimension is the reduction channel c and which is the output channel m by the strides.
//   In the packed layout the TM output channels an invocation needs for one (tap, c) are adjacent, so
//   conv2d_implicit_gemm.wgsl reads them with one running index, and the zero padding lets it skip bounds checks on m.
// Work split: one invocation per packed row (tap, c), looping over its mPad channels m; 64 invocations per
//   workgroup, 2-D grid past 65535 workgroups. The row's (tap, c) costs one integer division per row rather than
//   per element: a CPU adapter emulates vector division lane by lane, and dividing per element made this pass
//   ~7% of a style-transfer step on lavapipe.
// Gradient: none needed (a permutation applied to a weight that is itself the differentiated input; the ops in
//   src/tensor/conv.ts differentiate w directly with conv2d_weight_grad.wgsl).

struct Params { rows: u32, C: u32, M: u32, mPad: u32,
                strideC: u32, strideM: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row = (wg.y * nwg.x + wg.x) * 64u + li;   // row = tap·C + c
  if (row >= u.rows) { return; }
  let tap = row / u.C;
  let c = row - tap * u.C;
  let src = c * u.strideC + tap;
  let dst = row * u.mPad;
  for (var m = 0u; m < u.M; m++) { packed[dst + m] = w[src + m * u.strideM]; }
  for (var m = u.M; m < u.mPad; m++) { packed[dst + m] = 0.0; }
}
