// matmul_tiled_vec4.wgsl — matmul_tiled.wgsl with its inner loop on vec4s (for real GPUs).
//
// Computes, for every b in 0..batch (the interface of matmul_tiled.wgsl: same Params, flags and split-K):
//   C[b] = op(A[b]) · op(B[b])            (ACCUMULATE = false)
//   C[b] = C[b] + op(A[b]) · op(B[b])     (ACCUMULATE = true)
// with op(A) [M,K], op(B) [K,N] (TRANS_A: A stored [K,M]; TRANS_B: B stored [N,K]), C[b] row-major [M,N];
// matrix b starts at b · aBatchStride (bBatchStride, cBatchStride), stride 0 broadcasts.
//
// Work split: as in matmul_tiled.wgsl, a workgroup of 16 × 16 invocations computes a TILE × TILE tile of C
// (TILE = 64 or 128), walking k in slabs of 16 copied into workgroup memory (LOADS elements of each operand per
// invocation, zero-filled past the edges). What changes is the slab layout and the inner loop: the slabs hold
// vec4s along m (A) and along n (B), and each invocation owns GROUPS × GROUPS blocks of 4 × 4 outputs (GROUPS =
// TILE / 64: one block at TILE 64, 2 × 2 at TILE 128, the blocks 64 apart). Per k it reads one vec4 of A and one
// of B per block row/column — 2·GROUPS workgroup-memory reads (4 at TILE 128) for 16·GROUPS² multiply-adds (64),
// where matmul_tiled makes 2·PER scalar reads (16) for the same 64: on GPUs whose workgroup-memory bandwidth
// bounds the tiled kernel, four times fewer read instructions. The accumulators are vec4 rows: acc[r] += a[r] · b.
// Neighbouring invocations read neighbouring vec4s (x along n), so the reads of B do not conflict, and the reads
// of A are the same address across a row of 16 invocations (a broadcast).
// Split-K: workgroup_id.z = b·splits + s covers k in [s·kChunk, (s+1)·kChunk); with splits > 1 each writes its
// partial product to C + z·M·N and matmul_split_sum.wgsl adds them up.
// Dispatch: workgroups = (ceil(N / TILE), ceil(M / TILE), batch · splits).
// Gradient: for C = A·B, dA = dC·Bᵀ and dB = Aᵀ·dC: this kernel with the TRANS flags (and ACCUMULATE), as
//   matmul_tiled.wgsl; see src/tensor/matmul.ts.

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

const TILE = {{TILE}}u;         // rows and columns of C per workgroup: 64 or 128
const GROUPS = TILE / 64u;      // 4×4 blocks per invocation along each axis: 1 or 2
const SLAB = 16u;               // k values per workgroup-memory slab
const WG = 16u;                 // invocations per side of the workgroup
const VECS = TILE / 4u;         // vec4s across a slab row
const LOADS = TILE * SLAB / (WG * WG);  // slab elements each invocation copies, per operand: 4 or 8

// aSlab[k][q][c] = op(A)[tileRow + 4q + c, k0 + k]; bSlab[k][q][c] = op(B)[k0 + k, tileCol + 4q + c].
// With 64-wide tiles each slab row is one vec4 longer than its data, against the bank conflicts of staging an
// operand whose k is contiguous (16 invocations writing one column of 16 rows: 16-way without the pad, 2-way with
// it; see matmul_tiled.wgsl). The 128-wide tiles keep their rows: padded, the slabs would pass 16 KiB.
const PAD = select(1u, 0u, TILE == 128u);
var<workgroup> aSlab: array<array<vec4<f32>, VECS + PAD>, SLAB>;
var<workgroup> bSlab: array<array<vec4<f32>, VECS + PAD>, SLAB>;

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

@compute @workgroup_size(16, 16, 1)
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

  // acc[gi][gj][r]: row 64·gi + 4·lid.y + r, columns 64·gj + 4·lid.x + 0..3 of the tile.
  var acc: array<array<array<vec4<f32>, 4>, GROUPS>, GROUPS>;
  for (var k0 = kBegin; k0 < kEnd; k0 += SLAB) {
    // Copy the slabs, consecutive invocations taking consecutive elements along the axis contiguous in memory.
    for (var i = 0u; i < LOADS; i++) {
      let e = flat + i * WG * WG;   // 0 .. TILE * SLAB - 1
      if (TRANS_A) {                // A stored [K,M]: m is contiguous
        let m = e % TILE;
        aSlab[e / TILE][m / 4u][m % 4u] = loadA(aBase, tileRow + m, k0 + e / TILE, kEnd);
      } else {                      // A stored [M,K]: k is contiguous
        let m = e / SLAB;
        aSlab[e % SLAB][m / 4u][m % 4u] = loadA(aBase, tileRow + m, k0 + e % SLAB, kEnd);
      }
      if (TRANS_B) {                // B stored [N,K]: k is contiguous
        let n = e / SLAB;
        bSlab[e % SLAB][n / 4u][n % 4u] = loadB(bBase, k0 + e % SLAB, tileCol + n, kEnd);
      } else {                      // B stored [K,N]: n is contiguous
        let n = e % TILE;
        bSlab[e / TILE][n / 4u][n % 4u] = loadB(bBase, k0 + e / TILE, tileCol + n, kEnd);
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < SLAB; k++) {
      // this step's GROUPS vec4s of B, read once for every block row below
      var bk: array<vec4<f32>, GROUPS>;
      for (var gj = 0u; gj < GROUPS; gj++) { bk[gj] = bSlab[k][16u * gj + lid.x]; }
      for (var gi = 0u; gi < GROUPS; gi++) {
        let a = aSlab[k][16u * gi + lid.y];
        for (var gj = 0u; gj < GROUPS; gj++) {
          let b = bk[gj];
          acc[gi][gj][0] = fma(vec4<f32>(a.x), b, acc[gi][gj][0]);
          acc[gi][gj][1] = fma(vec4<f32>(a.y), b, acc[gi][gj][1]);
          acc[gi][gj][2] = fma(vec4<f32>(a.z), b, acc[gi][gj][2]);
          acc[gi][gj][3] = fma(vec4<f32>(a.w), b, acc[gi][gj][3]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var gi = 0u; gi < GROUPS; gi++) {
    for (var r = 0u; r < 4u; r++) {
      let m = tileRow + 64u * gi + 4u * lid.y + r;
      if (m >= u.M) { break; }
      for (var gj = 0u; gj < GROUPS; gj++) {
        for (var c = 0u; c < 4u; c++) {
          let n = tileCol + 64u * gj + 4u * lid.x + c;
          if (n < u.N) {
            let o = cBase + m * u.N + n;
            let v = acc[gi][gj][r][c];
            if (ACCUMULATE) { C[o] = C[o] + v; } else { C[o] = v; }
          }
        }
      }
    }
  }
}
