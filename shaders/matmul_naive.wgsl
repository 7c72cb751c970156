// matmul_naive.wgsl — version 1 of batched matmul: one output element per invocation (the teaching baseline).
//
// Computes:  C[b] = op(A[b]) · op(B[b]) (+ C[b] when ACCUMULATE), C[b] is M×N row-major; op(A) = Aᵀ when
//   TRANS_A (A[b] stored K×M), op(B) = Bᵀ when TRANS_B (B[b] stored N×K). Batch strides of 0 broadcast.
// Work split: invocation (x, y) computes C[b][y][x] with a straight loop over k; 16×16 invocations per
//   workgroup, grid (⌈N/16⌉, ⌈M/16⌉, batch). Every operand element is re-read from memory M or N times,
//   which is why matmul.wgsl (register tiles) and matmul_tiled.wgsl (workgroup-memory tiles) exist.
// Gradient: dA = dC · Bᵀ and dB = Aᵀ · dC — this same kernel with the TRANS flags.

// batch: the grid's z runs the batch, so the kernel does not read it (the host keeps it for its own checks).
struct Params { M: u32, N: u32, K: u32, batch: u32,
                aBatchStride: u32, bBatchStride: u32, cBatchStride: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  let row = gid.y;
  let b = gid.z;
  if (row >= u.M || col >= u.N) { return; }
  let a0 = b * u.aBatchStride;
  let b0 = b * u.bBatchStride;
  var acc = 0.0;
  for (var k = 0u; k < u.K; k++) {
    var av: f32;
    var bv: f32;
    if (TRANS_A) { av = A[a0 + k * u.M + row]; } else { av = A[a0 + row * u.K + k]; }
    if (TRANS_B) { bv = B[b0 + col * u.K + k]; } else { bv = B[b0 + k * u.N + col]; }
    acc = fma(av, bv, acc);
  }
  let ci = b * u.cBatchStride + row * u.N + col;
  if (ACCUMULATE) { C[ci] = C[ci] + acc; } else { C[ci] = acc; }
}
