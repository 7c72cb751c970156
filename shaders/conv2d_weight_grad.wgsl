// conv2d_weight_grad.wgsl — weight gradient of conv2d (and, with roles swapped, of convTranspose2d) as a split-K GEMM.
//
// Computes:  dW[m, c, i, j] = Σ_{n, oh, ow} P[n, m, oh, ow] · G[n, c, oh·s−p+i·d, ow·s−p+j·d]
//   i.e. dW[M, C·kh·kw] = Σ over K = N·Hout·Wout pixels of P · im2col(G)ᵀ, without materialising im2col.
//   P at the conv output's resolution, G at the conv input's (oh, ow above run over P's pixels):
//   conv2d:          P = dY, G = X  → dW [Cout, Cin, kh, kw]
//   convTranspose2d: P = its input X, G = its output's gradient dY (the transposed conv's output is the plain conv's
//                    input) → dW [Cin, Cout, kh, kw], the layer's own weight layout
//   Out-of-range taps of G (padding) contribute nothing.
// Work split: the K = N·Hout·Wout reduction is what is large (conv2d_weight_grad_naive.wgsl, one invocation per
//   weight, runs it serially), so it is cut into `chunks` ranges of pixels (grid z); each chunk writes its partial
//   sums to partial[chunk] and the host sums the chunks afterwards (a small reduction). Within a chunk an invocation owns
//   a register tile of TM rows m × TC im2col columns col = c·kh·kw + i·kw + j (columns strided by CL, the lanes of
//   a column group, so neighbouring invocations read neighbouring taps). The TM rows are the same for every lane of a
//   column group (the whole workgroup when CL = 64), so the P values of a pixel are one broadcast load each within it;
//   only the TC values of G are per-invocation loads.
//   Per pixel: TC loads + TM broadcasts feed TM·TC FMAs. A layer with fewer than 64 columns (D1's has 16, G4's 9)
//   would leave most of the 64 lanes idle, so the lanes form 64/CL groups of CL, each group summing its own chunk
//   over the same CL·TC columns (D1 and G4: CL = 8, TC = 2; CL = 64, one chunk per workgroup, for the others). Grid: (⌈columns / (CL·TC)⌉, ⌈M/TM⌉, ⌈chunks·CL/64⌉),
//   split into several launches (chunkOffset, mBlockOffset) when large, to keep every dispatch short.
// Gradient: not differentiated (second derivatives are not supported).

// Every invocation loads the TM values of P at a pixel itself (the same addresses across its column group); on an
// adapter with subgroups of a fixed size, conv2d_weight_grad_sg.wgsl loads each once per subgroup instead.
const SG = 1u;
fn shareP(v: f32, lane: u32) -> f32 { return v; }

// #include "lib/conv_wgrad.wgsl" — Params, bindings, ACCUMULATE, TM, TC and weightGrad()

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  weightGrad(wg, lid, 0u);
}
