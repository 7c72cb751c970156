// lib/tile_slab.wgsl — the multiply-add phase of the workgroup-tiled conv kernels, included by
// conv2d_implicit_gemm_tiled.wgsl (rows: output channels, columns: pixels) and conv2d_weight_grad_tiled.wgsl (rows:
// channels of P, columns: im2col columns); scripts/gen-shaders.mjs inserts this text there. The including shader
// defines SLAB, PER_M (rows per invocation), PER (columns per invocation, 4), WG_M and WG_N (invocations along rows
// and columns), VEC4, and the workgroup slabs rowSlab[SLAB][TILE_M/4] and colSlab[SLAB][TILE_N/4] of vec4s (a slab
// row may be longer, padded against bank conflicts), in which step k's row r is rowSlab[k][r/4][r%4] and its
// column c is colSlab[k][c/4][c%4].
//
// Which tile rows and columns an invocation (tx, ty) owns:
//   scalar reads (VEC4 false): rows ty + i·WG_M and columns tx + j·WG_N (neighbouring invocations, neighbouring
//     columns): per step PER_M + 4 workgroup-memory reads for 4·PER_M multiply-adds;
//   vec4 reads (VEC4 true): PER_M/4 groups of 4 consecutive rows, 4·WG_M rows apart, × 4 consecutive columns: per
//   step PER_M/4 + 1 vec4 reads for the same multiply-adds.

/** The tile row of accumulator row i of invocation row ty. */
fn tileRow(ty: u32, i: u32) -> u32 {
  if (VEC4) { return 4u * (ty + (i / 4u) * WG_M) + i % 4u; }
  return ty + i * WG_M;
}

/** The tile column of accumulator column j of invocation column tx. */
fn tileColumn(tx: u32, j: u32) -> u32 {
  if (VEC4) { return 4u * tx + j; }
  return tx + j * WG_N;
}

/** acc[i][j] += Σ over the slab's steps k of row tileRow(ty, i) × column tileColumn(tx, j). */
fn multiplySlab(acc: ptr<function, array<vec4<f32>, PER_M>>, tx: u32, ty: u32) {
  for (var k = 0u; k < SLAB; k++) {
    if (VEC4) {
      let cv = colSlab[k][tx];
      for (var g = 0u; g < PER_M / 4u; g++) {
        let rv = rowSlab[k][ty + g * WG_M];
        for (var r = 0u; r < 4u; r++) { (*acc)[4u * g + r] = fma(vec4<f32>(rv[r]), cv, (*acc)[4u * g + r]); }
      }
    } else {
      var cv: vec4<f32>;
      for (var j = 0u; j < PER; j++) { let c = tx + j * WG_N; cv[j] = colSlab[k][c / 4u][c % 4u]; }
      for (var i = 0u; i < PER_M; i++) {
        let m = ty + i * WG_M;
        (*acc)[i] = fma(vec4<f32>(rowSlab[k][m / 4u][m % 4u]), cv, (*acc)[i]);
      }
    }
  }
}
