// conv2d_weight_grad_tiled.wgsl — weight gradient of conv2d (and, with roles swapped, of convTranspose2d) as a
// split-K GEMM with workgroup-memory tiling (for real GPUs). Same inputs, outputs and Params as
// conv2d_weight_grad.wgsl (the register-tiled kernel for CPU adapters); only the work split differs.
//
// Computes:  dW[m, c, i, j] = Σ_{n, oh, ow} P[n, m, oh, ow] · G[n, c, oh·s−p+i·d, ow·s−p+j·d]
//   i.e. dW[M, C·kh·kw] = Σ over K = N·Hout·Wout pixels of P · im2col(G)ᵀ, without materialising im2col.
//   P at the conv output's resolution, G at the conv input's (oh, ow above run over P's pixels):
//   conv2d:          P = dY, G = X  → dW [Cout, Cin, kh, kw]
//   convTranspose2d: P = its input X, G = its output's gradient dY (the transposed conv's output is the plain conv's
//                    input) → dW [Cin, Cout, kh, kw], the layer's own weight layout
//   Out-of-range taps of G (padding) contribute nothing.
// Work split: the K pixels are cut into `chunks` ranges (grid z); each chunk writes its partial sums to
//   partial[chunk] and the host sums the chunks afterwards. Within a chunk a workgroup computes a TILE_M × 64 tile
//   of dW (TILE_M = 64 rows m, or 16 when P has few channels, or 128 with 8 rows per invocation, version tiled-128;
//   64 im2col columns col = c·kh·kw + i·kw + j). It walks its pixels in slabs of 16: every slab it copies
//   16 × TILE_M values of P and 16 × 64 values of im2col(G) (gathered on the fly, 0 for padding taps and pixels past
//   the chunk) into workgroup memory, synchronises, and each of its 16 × (TILE_M/PER_M) invocations accumulates a
//   PER_M × 4 block of dW (rows ty + i·TILE_M/PER_M, columns tx + 16j) from workgroup memory: 8 workgroup-memory
//   reads for 16 FMAs per pixel (12 for 32 with PER_M = 8). Consecutive invocations load consecutive pixels
//   (contiguous in P; stride s apart in G), and each invocation stages the same pixel of every slab, so it decodes
//   (n, oh, ow) once per slab. The 64 columns' (channel, tap) are decoded once per workgroup into a table in
//   workgroup memory.
//   VEC4 (versions tiled-vec4, tiled-128-vec4): the same slabs read as vec4s, and each invocation owns 4
//   consecutive rows (PER_M/4 such groups, TILE_M/PER_M·4 apart) × 4 consecutive columns: per pixel one vec4 of P
//   per group and one of im2col(G), 2 workgroup-memory reads for 16 FMAs (3 for 32 at TILE_M = 128) instead of
//   8 (12), as in conv2d_implicit_gemm_tiled.wgsl. The slabs are vec4 arrays in both modes; their layout in memory
//   is the same as a flat f32 array.
// Why this tiling: on a GPU barriers are cheap and workgroup memory cuts global traffic by the tile size; on a
//   CPU adapter (lavapipe) every barrier is a switch between invocations, so use conv2d_weight_grad.wgsl there.
// Grid: (⌈columns / 64⌉, ⌈M / TILE_M⌉, chunks), split by the host into several launches (chunkOffset,
//   mBlockOffset) like the register kernel.
// Gradient: not differentiated (second derivatives are not supported).

struct Params {
  gC: u32, gH: u32, gW: u32, batch: u32,
  pC: u32, pH: u32, pW: u32, taps: u32,
  kw: u32, pixelsPerChunk: u32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  chunkOffset: u32, mBlockOffset: u32, chunks: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
override ACCUMULATE: bool = false;   // one chunk: add the sums into what `partial` holds (a gradient there)

const TILE_M = {{TILE_M}}u;   // rows m (channels of P) per workgroup (64, or 16 for narrow P, or 128)
const PER_M = {{PER_M}}u;     // rows per invocation: 4, or 8 with TILE_M = 128
const VEC4 = {{VEC4}};        // true: consecutive rows and columns per invocation, read as vec4s
const TILE_N = 64u;           // im2col columns per workgroup
const SLAB = 16u;             // pixels per workgroup-memory slab
const PER = 4u;               // columns per invocation
const WG_N = TILE_N / PER;    // invocations along columns: 16
const WG_M = TILE_M / PER_M;  // invocations along rows: 16, 4 or 16
const INVOCATIONS = WG_N * WG_M;

// rowSlab[q][m/4][m%4] = P[pixel q0+q, channel m0+m]; colSlab[q][c/4][c%4] = im2col(G)[pixel q0+q, column col0+c].
// Each slab row is one vec4 longer than its data: the 16 invocations that stage one row or column write the same
// m (or column) of 16 pixels, TILE_M (or 64) floats apart without the pad, which is one workgroup-memory bank on
// a GPU (32 banks of 4 bytes): a 16-way conflict on every store. With the pad they are TILE_M + 4 floats apart,
// 2-way. The reads (one row q at a time) are unchanged.
var<workgroup> rowSlab: array<array<vec4<f32>, TILE_M / 4u + 1u>, SLAB>;
var<workgroup> colSlab: array<array<vec4<f32>, TILE_N / 4u + 1u>, SLAB>;
// The decoded columns of the tile: G channel offset, tap row/column offsets, 0/1 for columns past the end.
var<workgroup> colChan: array<u32, TILE_N>;
var<workgroup> colRow: array<i32, TILE_N>;
var<workgroup> colCol: array<i32, TILE_N>;
var<workgroup> colLive: array<u32, TILE_N>;

// #include "lib/tile_slab.wgsl" — tileRow(), tileColumn() and multiplySlab()

@compute @workgroup_size(WG_N, WG_M)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) flat: u32) {
  let columns = u.gC * u.taps;
  let col0 = wg.x * TILE_N;
  let m0 = (wg.y + u.mBlockOffset) * TILE_M;
  let chunk = wg.z + u.chunkOffset;
  let gHW = u.gH * u.gW;
  let pHW = u.pH * u.pW;

  if (flat < TILE_N) {
    let col = min(col0 + flat, columns - 1u);
    let tap = col % u.taps;
    colChan[flat] = (col / u.taps) * gHW;
    colRow[flat] = i32(tap / u.kw) * u.dilH - u.padH;
    colCol[flat] = i32(tap % u.kw) * u.dilW - u.padW;
    colLive[flat] = select(0u, 1u, col0 + flat < columns);
  }
  workgroupBarrier();

  let q0 = chunk * u.pixelsPerChunk;
  let q1 = min(q0 + u.pixelsPerChunk, u.batch * pHW);
  let slabPixel = flat % SLAB;  // the pixel of each slab this invocation stages
  var acc: array<vec4<f32>, PER_M>;  // acc[i][j]: tile row tileRow(ty, i), tile column tileColumn(tx, j)
  for (var qs = q0; qs < q1; qs += SLAB) {
    let q = qs + slabPixel;
    let live = q < q1;
    let qq = min(q, q1 - 1u);
    let n = qq / pHW;
    let oh = i32((qq % pHW) / u.pW);
    let ow = i32((qq % pHW) % u.pW);
    // Stage 16 × TILE_M values of P (4 per invocation, 8 at TILE_M = 128; consecutive invocations on consecutive
    // pixels).
    let pPixel = n * u.pC * pHW + qq % pHW;
    for (var m = flat / SLAB; m < TILE_M; m += INVOCATIONS / SLAB) {
      let ch = min(m0 + m, u.pC - 1u);  // rows past M read a valid channel; their results are not written
      rowSlab[slabPixel][m / 4u][m % 4u] = select(0.0, P[pPixel + ch * pHW], live);
    }
    // Stage 16 × 64 values of im2col(G).
    let gImage = n * u.gC * gHW;
    for (var col = flat / SLAB; col < TILE_N; col += INVOCATIONS / SLAB) {
      let ih = oh * u.strideH + colRow[col];
      let iw = ow * u.strideW + colCol[col];
      let ok = live && colLive[col] != 0u && ih >= 0 && ih < i32(u.gH) && iw >= 0 && iw < i32(u.gW);
      let idx = gImage + colChan[col] + u32(ih) * u.gW + u32(iw);
      colSlab[slabPixel][col / 4u][col % 4u] = select(0.0, G[select(0u, idx, ok)], ok);
    }
    workgroupBarrier();
    multiplySlab(&acc, lid.x, lid.y);
    workgroupBarrier();
  }

  let base = chunk * u.pC * columns;
  for (var i = 0u; i < PER_M; i++) {
    let m = m0 + tileRow(lid.y, i);
    if (m >= u.pC) { break; }  // tileRow grows with i
    for (var j = 0u; j < PER; j++) {
      let col = col0 + tileColumn(lid.x, j);
      if (col < columns) {
        let k = base + m * columns + col;
        if (ACCUMULATE) { partial[k] = partial[k] + acc[i][j]; } else { partial[k] = acc[i][j]; }
      }
    }
  }
}
