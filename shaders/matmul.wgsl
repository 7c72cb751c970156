// matmul.wgsl — version 2 of batched matmul: an 8×16 register block per invocation, no workgroup memory
//   (the kernel CPU adapters run fastest; src/tensor/matmul.ts picks it there).
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
//   The block is written out register by register in main() below, by hand: no script generates it, so
// another block size means rewriting the accumulators, loads, FMAs and stores. It was written out because
// lavapipe ran an arrays-and-loops version about 2x slower when this kernel was written; re-timed on
// 2026-11-30 (the same block as array<array<vec4<f32>, 4>, 8> with constant-bound loops, 512³ and 1024³,
// alternating runs) the two forms were within 0.9–1.2x of each other.
//   Why this tiling: on CPU adapters (lavapipe/llvmpipe, SwiftShader) each invocation is one SIMD lane
// and a workgroup barrier is a costly thread switch, so shared-memory tiling loses; what pays is a big
// per-invocation register block (measured on lavapipe at 512³ to 1024³: 8x16 beat 8x8, 4x32, 16x8,
// 8x32 and 4x16). Loads are scalar on purpose: the buffers are array<f32>, so any M, N, K, stride and
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

struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  aBatchStride: u32, bBatchStride: u32, cBatchStride: u32, splits: u32,
  kChunk: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
override WG_X: u32 = 8u;   // invocations along N, each owning 16 columns
override WG_Y: u32 = 8u;   // invocations along M, each owning 8 rows

const ROWS = 8u;
const COLS = 16u;

/** Writes one finished vec4 of row m (columns n..n+3) if this invocation owns it: rows below
 *  rowOwn and columns left of colOwn belong to the neighbour whose block this one overlaps. */
fn store4(cBase: u32, m: u32, n: u32, rowOwn: u32, colOwn: u32, v: vec4<f32>) {
  let N = u.N;
  if (m < rowOwn || m >= u.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (n + j >= colOwn && n + j < N) {
      let o = cBase + m * N + n + j;
      if (ACCUMULATE) { C[o] = C[o] + v[j]; } else { C[o] = v[j]; }
    }
  }
}

/** Fallback for outputs smaller than one block (M < ROWS or N < COLS): a plain dot product per
 *  element of this invocation's block. Such matrices are tiny, so speed does not matter here. */
fn smallBlock(row0: u32, col0: u32, aBase: u32, bBase: u32, cBase: u32, kBegin: u32, kEnd: u32) {
  let M = u.M;
  let N = u.N;
  let K = u.K;
  for (var m = row0; m < min(row0 + ROWS, M); m++) {
    for (var n = col0; n < min(col0 + COLS, N); n++) {
      var sum = 0.0;
      for (var k = kBegin; k < kEnd; k++) {
        let a = A[aBase + select(m * K + k, k * M + m, TRANS_A)];
        let b = B[bBase + select(k * N + n, n * K + k, TRANS_B)];
        sum = fma(a, b, sum);
      }
      let o = cBase + m * N + n;
      if (ACCUMULATE) { C[o] = C[o] + sum; } else { C[o] = sum; }
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = u.M;
  let N = u.N;
  let K = u.K;
  let row0 = (wid.y * WG_Y + lid.y) * ROWS;
  let col0 = (wid.x * WG_X + lid.x) * COLS;
  // Batch entry and k range of this workgroup (splits = 1: all of k, C itself).
  let batchIndex = wid.z / u.splits;
  let kBegin = (wid.z % u.splits) * u.kChunk;
  let kEnd = min(K, kBegin + u.kChunk);
  let aBase = batchIndex * u.aBatchStride;
  let bBase = batchIndex * u.bBatchStride;
  let cBase = select(batchIndex * u.cBatchStride, wid.z * M * N, u.splits > 1u);
  if (M < ROWS || N < COLS) {
    smallBlock(row0, col0, aBase, bBase, cBase, kBegin, kEnd);
    return;
  }
  // A block that would stick out past the bottom/right edge is shifted back inside (rowS <= row0,
  // colS <= col0), so every read is in bounds and the k loop has no branches or clamps; store4 then
  // writes only the part this invocation owns (m >= row0, n >= col0).
  let rowS = min(row0, M - ROWS);
  let colS = min(col0, N - COLS);

  // Element (rowS + r, k) of op(A) is A[aIdx + r * aStepRow + k * aStepK];
  // element (k, colS + c) of op(B) is B[bIdx + c * bStepCol + k * bStepK].
  let aStepK = select(1u, M, TRANS_A);
  let bStepK = select(N, 1u, TRANS_B);
  let aStepRow = select(K, 1u, TRANS_A);
  let bStepCol = select(1u, K, TRANS_B);
  let aIdx = aBase + rowS * aStepRow;
  let bIdx = bBase + colS * bStepCol;

  // acc_r_q holds columns 4q..4q+3 of row r of this invocation's block.
  var acc0_0 = vec4<f32>(0.0); var acc0_1 = vec4<f32>(0.0); var acc0_2 = vec4<f32>(0.0); var acc0_3 = vec4<f32>(0.0);
  var acc1_0 = vec4<f32>(0.0); var acc1_1 = vec4<f32>(0.0); var acc1_2 = vec4<f32>(0.0); var acc1_3 = vec4<f32>(0.0);
  var acc2_0 = vec4<f32>(0.0); var acc2_1 = vec4<f32>(0.0); var acc2_2 = vec4<f32>(0.0); var acc2_3 = vec4<f32>(0.0);
  var acc3_0 = vec4<f32>(0.0); var acc3_1 = vec4<f32>(0.0); var acc3_2 = vec4<f32>(0.0); var acc3_3 = vec4<f32>(0.0);
  var acc4_0 = vec4<f32>(0.0); var acc4_1 = vec4<f32>(0.0); var acc4_2 = vec4<f32>(0.0); var acc4_3 = vec4<f32>(0.0);
  var acc5_0 = vec4<f32>(0.0); var acc5_1 = vec4<f32>(0.0); var acc5_2 = vec4<f32>(0.0); var acc5_3 = vec4<f32>(0.0);
  var acc6_0 = vec4<f32>(0.0); var acc6_1 = vec4<f32>(0.0); var acc6_2 = vec4<f32>(0.0); var acc6_3 = vec4<f32>(0.0);
  var acc7_0 = vec4<f32>(0.0); var acc7_1 = vec4<f32>(0.0); var acc7_2 = vec4<f32>(0.0); var acc7_3 = vec4<f32>(0.0);
  for (var k = kBegin; k < kEnd; k++) {
    let ak = aIdx + k * aStepK;
    let bk = bIdx + k * bStepK;
    let a_0 = vec4<f32>(A[ak + 0u * aStepRow]);
    let a_1 = vec4<f32>(A[ak + 1u * aStepRow]);
    let a_2 = vec4<f32>(A[ak + 2u * aStepRow]);
    let a_3 = vec4<f32>(A[ak + 3u * aStepRow]);
    let a_4 = vec4<f32>(A[ak + 4u * aStepRow]);
    let a_5 = vec4<f32>(A[ak + 5u * aStepRow]);
    let a_6 = vec4<f32>(A[ak + 6u * aStepRow]);
    let a_7 = vec4<f32>(A[ak + 7u * aStepRow]);
    let b_0 = vec4<f32>(B[bk + 0u * bStepCol], B[bk + 1u * bStepCol], B[bk + 2u * bStepCol], B[bk + 3u * bStepCol]);
    let b_1 = vec4<f32>(B[bk + 4u * bStepCol], B[bk + 5u * bStepCol], B[bk + 6u * bStepCol], B[bk + 7u * bStepCol]);
    let b_2 = vec4<f32>(B[bk + 8u * bStepCol], B[bk + 9u * bStepCol], B[bk + 10u * bStepCol], B[bk + 11u * bStepCol]);
    let b_3 = vec4<f32>(B[bk + 12u * bStepCol], B[bk + 13u * bStepCol], B[bk + 14u * bStepCol], B[bk + 15u * bStepCol]);
    acc0_0 = fma(a_0, b_0, acc0_0); acc0_1 = fma(a_0, b_1, acc0_1); acc0_2 = fma(a_0, b_2, acc0_2); acc0_3 = fma(a_0, b_3, acc0_3);
    acc1_0 = fma(a_1, b_0, acc1_0); acc1_1 = fma(a_1, b_1, acc1_1); acc1_2 = fma(a_1, b_2, acc1_2); acc1_3 = fma(a_1, b_3, acc1_3);
    acc2_0 = fma(a_2, b_0, acc2_0); acc2_1 = fma(a_2, b_1, acc2_1); acc2_2 = fma(a_2, b_2, acc2_2); acc2_3 = fma(a_2, b_3, acc2_3);
    acc3_0 = fma(a_3, b_0, acc3_0); acc3_1 = fma(a_3, b_1, acc3_1); acc3_2 = fma(a_3, b_2, acc3_2); acc3_3 = fma(a_3, b_3, acc3_3);
    acc4_0 = fma(a_4, b_0, acc4_0); acc4_1 = fma(a_4, b_1, acc4_1); acc4_2 = fma(a_4, b_2, acc4_2); acc4_3 = fma(a_4, b_3, acc4_3);
    acc5_0 = fma(a_5, b_0, acc5_0); acc5_1 = fma(a_5, b_1, acc5_1); acc5_2 = fma(a_5, b_2, acc5_2); acc5_3 = fma(a_5, b_3, acc5_3);
    acc6_0 = fma(a_6, b_0, acc6_0); acc6_1 = fma(a_6, b_1, acc6_1); acc6_2 = fma(a_6, b_2, acc6_2); acc6_3 = fma(a_6, b_3, acc6_3);
    acc7_0 = fma(a_7, b_0, acc7_0); acc7_1 = fma(a_7, b_1, acc7_1); acc7_2 = fma(a_7, b_2, acc7_2); acc7_3 = fma(a_7, b_3, acc7_3);
  }

  store4(cBase, rowS + 0u, colS + 0u, row0, col0, acc0_0); store4(cBase, rowS + 0u, colS + 4u, row0, col0, acc0_1); store4(cBase, rowS + 0u, colS + 8u, row0, col0, acc0_2); store4(cBase, rowS + 0u, colS + 12u, row0, col0, acc0_3);
  store4(cBase, rowS + 1u, colS + 0u, row0, col0, acc1_0); store4(cBase, rowS + 1u, colS + 4u, row0, col0, acc1_1); store4(cBase, rowS + 1u, colS + 8u, row0, col0, acc1_2); store4(cBase, rowS + 1u, colS + 12u, row0, col0, acc1_3);
  store4(cBase, rowS + 2u, colS + 0u, row0, col0, acc2_0); store4(cBase, rowS + 2u, colS + 4u, row0, col0, acc2_1); store4(cBase, rowS + 2u, colS + 8u, row0, col0, acc2_2); store4(cBase, rowS + 2u, colS + 12u, row0, col0, acc2_3);
  store4(cBase, rowS + 3u, colS + 0u, row0, col0, acc3_0); store4(cBase, rowS + 3u, colS + 4u, row0, col0, acc3_1); store4(cBase, rowS + 3u, colS + 8u, row0, col0, acc3_2); store4(cBase, rowS + 3u, colS + 12u, row0, col0, acc3_3);
  store4(cBase, rowS + 4u, colS + 0u, row0, col0, acc4_0); store4(cBase, rowS + 4u, colS + 4u, row0, col0, acc4_1); store4(cBase, rowS + 4u, colS + 8u, row0, col0, acc4_2); store4(cBase, rowS + 4u, colS + 12u, row0, col0, acc4_3);
  store4(cBase, rowS + 5u, colS + 0u, row0, col0, acc5_0); store4(cBase, rowS + 5u, colS + 4u, row0, col0, acc5_1); store4(cBase, rowS + 5u, colS + 8u, row0, col0, acc5_2); store4(cBase, rowS + 5u, colS + 12u, row0, col0, acc5_3);
  store4(cBase, rowS + 6u, colS + 0u, row0, col0, acc6_0); store4(cBase, rowS + 6u, colS + 4u, row0, col0, acc6_1); store4(cBase, rowS + 6u, colS + 8u, row0, col0, acc6_2); store4(cBase, rowS + 6u, colS + 12u, row0, col0, acc6_3);
  store4(cBase, rowS + 7u, colS + 0u, row0, col0, acc7_0); store4(cBase, rowS + 7u, colS + 4u, row0, col0, acc7_1); store4(cBase, rowS + 7u, colS + 8u, row0, col0, acc7_2); store4(cBase, rowS + 7u, colS + 12u, row0, col0, acc7_3);
}
