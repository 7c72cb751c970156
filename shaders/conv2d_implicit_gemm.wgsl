// conv2d_implicit_gemm.wgsl — conv2d forward, and (TRANSPOSED) conv2d input-gradient = convTranspose2d forward.
//
// Computes, as a GEMM out[m, pixel] = Σ_k Wp[k, m] · src[k, pixel] without materialising im2col:
//   forward    (TRANSPOSED=false): y[n,m,oh,ow] = b[m] + Σ_{c,i,j} w[m,c,i,j] · x[n,c, oh·s−p+i·d, ow·s−p+j·d]
//   transposed (TRANSPOSED=true):  y[n,m,oh,ow] = b[m] + Σ_{c,i,j : s | (oh+p−i·d)} w[c,m,i,j] · x[n,c, (oh+p−i·d)/s, ...]
//     where w is the same [Cout, Cin, kh, kw] conv weight, read with its two channel axes swapped: here the output
//     channel m is the conv's input channel and the summed channel c its output channel (conv2d's dX: src = dY).
//   (the transposed sum is conv2d's dX with dY as src, and convTranspose2d's forward). Taps outside src read 0.
//   Wp is the weight packed by conv_pack_weight.wgsl as [tap][c][mPad] (mPad = outC rounded up to TM).
//   With LEAKY or TANH (lib/activation.wgsl) each output is written as activate(out): the conv and the activation
//   after it in one launch; the op's backward scales the gradient through the output (activationBackwardFromOutput).
// Zeros of the stride-dilated input are never touched: the output is split into sH·sW phases
//   (oh mod sH, ow mod sW); within a phase every pixel uses the same taps and src row = a + (ph+p−i·d)/s, so
//   each phase is a dense stride-1 gather with a subset of the taps. The forward conv is the one-phase case with
//   src row = a·s + (i·d − p). Grid z enumerates the phases.
// Work split: one invocation owns a register tile of TM output channels × TN pixels of one phase
//   (pixels strided by the workgroup size, so neighbouring invocations read neighbouring src addresses).
//   Per (tap) it computes the TN src offsets and in-bounds masks once, then the inner loop over the src channels
//   is pure loads + FMA: TM weight loads (the same address in the whole workgroup) and TN src loads feed
//   TM·TN FMAs. On lavapipe (invocations are SIMD lanes of one CPU thread) register tiles like this beat
//   workgroup-memory tiles, whose barriers are expensive. Scratch runs on lavapipe whose figures were not kept (leads,
//   not measurements) found 16×8 tiles faster than 8×8, 16×4 and 8×16, up to 10 pixels per invocation (TN chosen per
//   layer so the last tile is nearly full) faster than 8 on the DCGAN layers, and a cliff at TM·TN ≥ 224 (16×14 and
//   32×8 ran several times slower, not traced to its cause inside the driver), so the host keeps
//   TN ≤ 10 at TM = 16; the kernel guide (docs/kernels/04-conv.md) times every candidate the tuner chooses between (8, 16
//   and 32 channels, the subgroup form, the workgroup-tiled kernels) on DCGAN D2. Scalar weight
//   loads do as well as vec4 ones (so TM need not be a multiple of 4: 1-channel layers waste nothing).
//   Grid: (pixel tiles of 64·TN, ⌈outC/TM⌉, phases); the host splits
//   large grids into several launches (tileOffset, mBlockOffset) to keep every dispatch short.
// Also the weight gradient (on CPU adapters, most layers): dW[m, c, i, j] = Σ_{n,oh,ow} P[n,m,oh,ow] · G[n,c,…] is
//   this forward sum with G's channels c as the batch, the images n as the src channels, P's pixels (oh, ow) as
//   the taps (dilation = the conv's stride, stride = its dilation) and dW's kh × kw as the output pixels. Params'
//   strides let it read G and P where they lie and write dW in its layout, adding chunk by chunk of images
//   (ACCUMULATE); see weightGradAsGather in src/tensor/conv.ts.
// Gradient: the op's gradients are this kernel with TRANSPOSED flipped (w.r.t. src) and
//   conv2d_weight_grad.wgsl (w.r.t. the weight); see src/tensor/conv.ts.

// Every invocation loads the TM weights of a step itself (the same addresses across the workgroup); on an adapter
// with subgroups of a fixed size, conv2d_implicit_gemm_sg.wgsl loads each once per subgroup instead.
const SG = 1u;
fn shareWeight(v: f32, lane: u32) -> f32 { return v; }
// Never called: QUAD_WEIGHTS is for subgroups (the host leaves it off here).
fn weightQuad(i: u32) -> vec4<f32> { return vec4(0.0); }
fn shareQuad(v: vec4<f32>, lane: u32) -> vec4<f32> { return v; }

// #include "lib/conv_gather.wgsl" — Params, bindings, TRANSPOSED, TM, TN and gather()

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  gather(wg, lid, 0u);
}
