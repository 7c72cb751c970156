// lib/pos_step.wgsl — an index's quotient and remainder, carried along a loop instead of divided out, included by
// batchnorm.wgsl and reduce.wgsl (scripts/gen-shaders.mjs inserts this text there). On lavapipe an integer division
// is made lane by lane, so a kernel that locates every element it visits with i / n and i % n pays for it per value.

/**
 * (q, j) = (i / n, i % n) for an index i that a loop advances by a fixed stride = a·n + b: a step adds b to j (at
 * most one carry into q, as b < n) and a to q, so nothing is divided per value. q wraps modulo `wrap` (one
 * subtraction, as q, a < wrap), e.g. wrap = C makes q the channel of a flat NCHW index with n = H·W; NO_WRAP leaves
 * it unbounded.
 */
struct Pos { q: u32, j: u32 }
const NO_WRAP = 0xffffffffu;

fn pos_step(p: Pos, a: u32, b: u32, n: u32, wrap: u32) -> Pos {
  var q = p.q + a;
  var j = p.j + b;
  if (j >= n) {
    j -= n;
    q += 1u;
  }
  if (q >= wrap) { q -= wrap; }
  return Pos(q, j);
}
