// matmul.wgsl — version 2 of batched matmul: an 8×16 register block per invocation, no workgroup memory
//   (the kernel CPU adapters run fastest; src/tensor/matmul.ts picks it there, as matmul_sg.wgsl where that applies).
//
// Computes, for every b < batch:
//   C[b] = op(A[b]) · op(B[b])            (ACCUMULATE = false)
//   C[b] = C[b] + op(A[b]) · op(B[b])     (ACCUMULATE = true, e.g. gradient accumulation)
// with op(A) of shape [M,K] and op(B) of shape [K,N]; C[b] is always [M,N] row-major.
//   TRANS_A = false: A[b] is stored [M,K];  TRANS_A = true: A[b] is stored [K,M] (op = transpose).
//   TRANS_B = false: B[b] is stored [K,N];  TRANS_B = true: B[b] is stored [N,K].
// Matrix b starts at element b * aBatchStride (bBatchStride, cBatchStride); a stride of 0 broadcasts
// one matrix over the whole batch.
//
// Work split: every invocation owns an 8-row x 16-column block of C, kept in 32 vec4 registers
// (acc{r}_{q} holds columns 4q..4q+3 of row r). A workgroup of WG_X x WG_Y invocations covers
// (8*WG_Y) rows x (16*WG_X) columns; workgroup_id.z is the batch index. Per step of k an invocation
// reads 8 values of op(A) and 16 of op(B) and does 128 multiply-adds.
//   The block is written out register by register in block() (shaders/lib/matmul_register.wgsl), by hand: no
// script generates it, so another block size means rewriting the accumulators, loads, FMAs and stores. It was
// written out because lavapipe ran an arrays-and-loops version slower when this kernel was written; re-timed on
// 2026-11-30 (the same block as array<array<vec4<f32>, 4>, 8> with constant-bound loops, 512³ and 1024³, alternating
// runs) the two forms ran about as fast as each other. Both were scratch A/Bs whose figures were not kept: leads, not
// measurements. To read the block as loops, read the Computes line and v3's inner loop.
//   Why this tiling: on CPU adapters (lavapipe/llvmpipe, SwiftShader) each invocation is one SIMD lane
// and a workgroup barrier is a costly thread switch, so shared-memory tiling loses; what pays is a big
// per-invocation register block (scratch runs on lavapipe at 512³ to 1024³, figures not kept: 8x16 beat 8x8,
// 4x32, 16x8, 8x32 and 4x16). Loads are scalar on purpose: the buffers are array<f32>, so any M, N, K, stride and
// transposition works with no alignment rules, and all four TRANS combinations cost the same (only the
// index arithmetic changes). On real GPUs this kernel is correct but matmul_tiled.wgsl is the better pick.
//   Edges: a block that would stick out past row M or column N is shifted back inside (so every read stays
// in bounds and the inner loop has no branches), and store4 writes only the part this invocation owns.
// Outputs smaller than one block (M < 8 or N < 16) take smallBlock(), a plain dot product per element.
//   Split-K: when C is too small to give every core a workgroup (a Gram matrix: M = N = 64, K = 16384),
// the host splits k into `splits` chunks of kChunk; workgroup_id.z = b·splits + s then covers
// k in [s·kChunk, (s+1)·kChunk) of batch entry b and writes its partial product to P[z] = C + z·M·N
// (a scratch buffer bound as C, ACCUMULATE off); matmul_split_sum.wgsl adds the partials into C.
//   Dispatch: workgroups = (ceil(N / (16*WG_X)), ceil(M / (8*WG_Y)), batch · splits).
//
// Gradient: for C = A·B, dA = dC·Bᵀ and dB = Aᵀ·dC. Both are this same kernel: dA uses
// (A := dC, B := B, TRANS_B = true) and dB uses (A := A, TRANS_A = true, B := dC); the ACCUMULATE flag
// lets a weight gradient be summed into an existing buffer without a separate add pass.

// Each invocation loads its own 8 + 16 values per step of k.
fn laneA(ak: u32, step: u32, lane: u32) -> f32 { return 0.0; }
fn rowA(aL: f32, ak: u32, step: u32, r: u32) -> f32 { return A[ak + r * step]; }
fn columnsB(bk: u32, step: u32, q: u32) -> vec4<f32> { return columnsBScalar(bk, step, q); }

// #include "lib/matmul_register.wgsl" — Params, bindings, TRANS_A, TRANS_B, ACCUMULATE, WG_X, WG_Y and block()

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  block(wid, lid, 0u);
}
