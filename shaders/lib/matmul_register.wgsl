// lib/matmul_register.wgsl — the body of matmul version 2 (an 8 × 16 register block per invocation), included by
// matmul.wgsl (every invocation loads its own A and B values) and matmul_sg.wgsl (the A values shared by the lanes
// of a subgroup, B read as vec4s); scripts/gen-shaders.mjs inserts this text there. The including shader defines
// `fn laneA(ak: u32, step: u32, lane: u32) -> f32` (what this lane loads of the step's A column, if anything),
// `fn rowA(aL: f32, ak: u32, step: u32, r: u32) -> f32` (row r of it) and `fn columnsB(bk: u32, step: u32, q: u32)
// -> vec4<f32>` (columns 4q … 4q + 3 of the step's B row; columnsBScalar below reads them a float at a time), and its
// entry point calls block(). What it computes and why: see matmul.wgsl.

// batch: the grid's z runs the batch, so the kernel does not read it (the host keeps it for its own checks).
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

/** Columns 4q … 4q + 3 of op(B)'s row at bk (columns `step` apart), one float at a time. */
fn columnsBScalar(bk: u32, step: u32, q: u32) -> vec4<f32> {
  let c = 4u * q;
  return vec4<f32>(B[bk + c * step], B[bk + (c + 1u) * step], B[bk + (c + 2u) * step], B[bk + (c + 3u) * step]);
}

/** The work of one invocation: `lane` is its index in its subgroup (0 in matmul.wgsl, which shares nothing). */
fn block(wid: vec3<u32>, lid: vec3<u32>, lane: u32) {
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
    // Row r of this step's A column and columns 4q … 4q + 3 of its B row, through the including shader's rowA and
    // columnsB (matmul_sg.wgsl shares the A values across a subgroup and reads B as vec4s).
    let aL = laneA(ak, aStepRow, lane);
    let a_0 = vec4<f32>(rowA(aL, ak, aStepRow, 0u));
    let a_1 = vec4<f32>(rowA(aL, ak, aStepRow, 1u));
    let a_2 = vec4<f32>(rowA(aL, ak, aStepRow, 2u));
    let a_3 = vec4<f32>(rowA(aL, ak, aStepRow, 3u));
    let a_4 = vec4<f32>(rowA(aL, ak, aStepRow, 4u));
    let a_5 = vec4<f32>(rowA(aL, ak, aStepRow, 5u));
    let a_6 = vec4<f32>(rowA(aL, ak, aStepRow, 6u));
    let a_7 = vec4<f32>(rowA(aL, ak, aStepRow, 7u));
    let b_0 = columnsB(bk, bStepCol, 0u);
    let b_1 = columnsB(bk, bStepCol, 1u);
    let b_2 = columnsB(bk, bStepCol, 2u);
    let b_3 = columnsB(bk, bStepCol, 3u);
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
