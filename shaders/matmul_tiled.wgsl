// matmul_tiled.wgsl — version 3 of batched matmul: workgroup-memory tiling (for real GPUs).
//
// Computes, for every b in 0..batch:
//   C[b] = op(A[b]) · op(B[b])            (ACCUMULATE = false)
//   C[b] = C[b] + op(A[b]) · op(B[b])     (ACCUMULATE = true, e.g. gradient accumulation)
// with op(A) of shape [M,K] and op(B) of shape [K,N]; C[b] is always [M,N] row-major.
//   TRANS_A = false: A[b] is stored [M,K];  TRANS_A = true: A[b] is stored [K,M].
//   TRANS_B = false: B[b] is stored [K,N];  TRANS_B = true: B[b] is stored [N,K].
// Matrix b starts at element b * aBatchStride (bBatchStride, cBatchStride); stride 0 broadcasts.
//
// Gradient: for C = A·B, dA = dC·Bᵀ (A := dC, TRANS_B = true) and dB = Aᵀ·dC (TRANS_A = true,
// B := dC): the same kernel with the TRANS flags, plus ACCUMULATE to sum into an existing gradient.
//
// Work split: a workgroup of 16 x 16 invocations computes a TILE x TILE tile of C (TILE = 64 or 128, a host
// choice); workgroup_id.z is the batch index. The k axis is walked in slabs of 16: the workgroup copies a
// TILEx16 slab of op(A) and a 16xTILE slab of op(B) into workgroup memory (LOADS = 4 or 8 elements of each per
// invocation, zero-filled past the matrix edges, so any M, N, K works), synchronizes, and then every invocation
// accumulates a PER x PER block of C from workgroup memory (PER = TILE / 16: 2·PER reads for PER² multiply-adds
// per k — 8 for 16 at TILE 64, 16 for 64 at TILE 128, where each value read feeds twice as many FMAs but each
// invocation holds 64 accumulators). The block is strided (rows ty + 16i, columns tx + 16j) so neighbouring
// invocations touch neighbouring addresses, both in workgroup memory and in the final store.
//
// Why this tiling: on a GPU the slab loads are shared by 256 invocations and each global element is
// read 64 times less often than in a naive kernel, while barriers are cheap. On CPU adapters
// (lavapipe) every barrier is a costly switch between invocations, so use matmul.wgsl there.
//
// Split-K: as in matmul.wgsl, workgroup_id.z = b·splits + s covers k in [s·kChunk, (s+1)·kChunk) and
// writes a partial product to C + z·M·N (a scratch buffer) when splits > 1; matmul_split_sum.wgsl sums them.
//
// Dispatch: workgroups = (ceil(N / TILE), ceil(M / TILE), batch · splits).

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

const TILE = {{TILE}}u;  // rows and columns of C per workgroup: 64, or 128
const PER = {{PER}}u;    // rows (and columns) of C per invocation: 4 (for TILE 64), or 8 (for TILE 128)
const SLAB = 16u;        // k values per workgroup-memory slab
const WG = TILE / PER;   // invocations per side of the workgroup: 16
const LOADS = TILE * SLAB / (WG * WG);  // slab elements each invocation copies, per matrix: 4 or 8

// aSlab[k][m]: op(A)[tileRow + m, k0 + k]; bSlab[k][n]: op(B)[k0 + k, tileCol + n].
// With 64-wide tiles each slab row is one float longer than its data: an operand whose k is contiguous is staged
// by 16 invocations writing one column of 16 rows, TILE floats apart without the pad, one bank of a GPU's
// workgroup memory (32 banks of 4 bytes): a 16-way conflict on every such store; 65 apart, 2-way. The 128-wide
// tiles keep their rows (the pad would take the two slabs past WebGPU's default 16 KiB of workgroup memory).
const PAD = select(1u, 0u, TILE == 128u);
var<workgroup> aSlab: array<array<f32, TILE + PAD>, SLAB>;
var<workgroup> bSlab: array<array<f32, TILE + PAD>, SLAB>;

/** op(A)[m, k] of batch entry `base`, or 0 outside the matrix or past this workgroup's k range. */
fn loadA(base: u32, m: u32, k: u32, kEnd: u32) -> f32 {
  if (m >= u.M || k >= kEnd) { return 0.0; }
  return A[base + select(m * u.K + k, k * u.M + m, TRANS_A)];
}

/** op(B)[k, n] of batch entry `base`, or 0 outside the matrix or past this workgroup's k range. */
fn loadB(base: u32, k: u32, n: u32, kEnd: u32) -> f32 {
  if (k >= kEnd || n >= u.N) { return 0.0; }
  return B[base + select(k * u.N + n, n * u.K + k, TRANS_B)];
}

@compute @workgroup_size(WG, WG, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) flat: u32) {
  let tileRow = wid.y * TILE;
  let tileCol = wid.x * TILE;
  let batchIndex = wid.z / u.splits;
  let kBegin = (wid.z % u.splits) * u.kChunk;
  let kEnd = min(u.K, kBegin + u.kChunk);
  let aBase = batchIndex * u.aBatchStride;
  let bBase = batchIndex * u.bBatchStride;
  let cBase = select(batchIndex * u.cBatchStride, wid.z * u.M * u.N, u.splits > 1u);

  var acc: array<array<f32, PER>, PER>;
  for (var k0 = kBegin; k0 < kEnd; k0 += SLAB) {
    // Copy the slabs: TILE * 16 elements each, LOADS per invocation. Consecutive invocations take
    // consecutive elements along whichever axis is contiguous in memory, so global reads coalesce.
    for (var i = 0u; i < LOADS; i++) {
      let e = flat + i * WG * WG;   // 0 .. TILE * SLAB - 1
      if (TRANS_A) {                // A stored [K,M]: m is contiguous
        aSlab[e / TILE][e % TILE] = loadA(aBase, tileRow + e % TILE, k0 + e / TILE, kEnd);
      } else {                      // A stored [M,K]: k is contiguous
        aSlab[e % SLAB][e / SLAB] = loadA(aBase, tileRow + e / SLAB, k0 + e % SLAB, kEnd);
      }
      if (TRANS_B) {                // B stored [N,K]: k is contiguous
        bSlab[e % SLAB][e / SLAB] = loadB(bBase, k0 + e % SLAB, tileCol + e / SLAB, kEnd);
      } else {                      // B stored [K,N]: n is contiguous
        bSlab[e / TILE][e % TILE] = loadB(bBase, k0 + e / TILE, tileCol + e % TILE, kEnd);
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < SLAB; k++) {
      var a: array<f32, PER>;
      var b: array<f32, PER>;
      for (var i = 0u; i < PER; i++) {
        a[i] = aSlab[k][lid.y + i * WG];
        b[i] = bSlab[k][lid.x + i * WG];
      }
      for (var i = 0u; i < PER; i++) {
        for (var j = 0u; j < PER; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < PER; i++) {
    let m = tileRow + lid.y + i * WG;
    if (m >= u.M) { break; }
    for (var j = 0u; j < PER; j++) {
      let n = tileCol + lid.x + j * WG;
      if (n < u.N) {
        let o = cBase + m * u.N + n;
        if (ACCUMULATE) { C[o] = C[o] + acc[i][j]; } else { C[o] = acc[i][j]; }
      }
    }
  }
}
