// reduce.wgsl — sum / max over any set of axes (keepdim is a reshape on the host).
//
// Computes:  Y[o] = scale · combine_{r} X[base(o) + off(r)], combine ∈ {+, max} substituted for {{COMBINE}}
//   starting from u.identity (0 for the sum, −Inf for max, as f32 bits). The host splits the input's axes into kept axes (giving o) and reduced axes
//   (giving r), merges neighbouring axes that are contiguous, and passes shape + stride for each group, so
//   base(o) and off(r) are mixed-radix decodes. mean = sum with scale = 1/count.
// Work split, two entry points chosen on the host:
//   per_thread:    one invocation per output, serial loop over r — when there are many outputs and short rows
//                  (e.g. sum over channels of a big batch).
//   per_workgroup: one 64-wide workgroup per output; each invocation strides over r, then a tree reduction in
//                  workgroup memory — when rows are long (e.g. the sum of a whole tensor for a loss).
// Gradient: sum → broadcast g back; mean → g / count: both one strided_copy.wgsl gather (expand, times the
//   mean's 1/count); max → g where x equals the max, shared equally among ties (like torch.amax), composed on the
//   host from binary.wgsl and this kernel (src/tensor/reduction.ts).

struct Params {
  outSize: u32, redSize: u32, keptRank: u32, redRank: u32,
  scale: f32, identity: u32, _p1: u32, _p2: u32,  // identity: the combine's start value, as f32 bits (−Inf for max)
  keptShape: array<vec4<u32>, 2>,
  keptStride: array<vec4<u32>, 2>,
  redShape: array<vec4<u32>, 2>,
  redStride: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

override ACCUMULATE: bool = false;   // Y[o] += the sum (scale 1): a gradient added into one already held

// #include "lib/nan.wgsl" — max_nan() (a max over values with a NaN is NaN, as torch.amax)

fn combine(a: f32, b: f32) -> f32 { return {{COMBINE}}; }

// #include "lib/pos_step.wgsl" — Pos and pos_step() (per_workgroup over two reduced groups)

fn kept_base(o: u32) -> u32 {
  var rest = o;
  var base = 0u;
  for (var d = i32(u.keptRank) - 1; d >= 0; d--) {
    let size = u.keptShape[d / 4][d % 4];
    base += (rest % size) * u.keptStride[d / 4][d % 4];
    rest = rest / size;
  }
  return base;
}

fn red_offset(r: u32) -> u32 {
  // The innermost reduced group is the common case (one contiguous run): no decode needed.
  if (u.redRank == 1u) { return r * u.redStride[0][0]; }
  var rest = r;
  var off = 0u;
  for (var d = i32(u.redRank) - 1; d >= 0; d--) {
    let size = u.redShape[d / 4][d % 4];
    off += (rest % size) * u.redStride[d / 4][d % 4];
    rest = rest / size;
  }
  return off;
}

@compute @workgroup_size(256)
fn per_thread(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let o = (wg.y * nwg.x + wg.x) * 256u + li;
  if (o >= u.outSize) { return; }
  let base = kept_base(o);
  var acc = bitcast<f32>(u.identity);
  for (var r = 0u; r < u.redSize; r++) { acc = combine(acc, X[base + red_offset(r)]); }
  if (ACCUMULATE) { Y[o] = Y[o] + acc; } else { Y[o] = acc * u.scale; }
}

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn per_workgroup(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  let o = wg.y * nwg.x + wg.x;     // uniform across the workgroup, so the early exit keeps barriers uniform
  if (o >= u.outSize) { return; }
  let base = kept_base(o);
  var acc = bitcast<f32>(u.identity);
  if (u.redRank == 2u) {
    // Two reduced groups (a bias gradient's sum over N and H·W): r's (outer, inner) position carried along (Pos),
    // so no element costs the integer divisions of red_offset. The same r in the same order as the loop below.
    let inner = u.redShape[0][1];
    let a = 64u / inner;
    let b = 64u % inner;
    var p = Pos(li / inner, li % inner);
    for (var r = li; r < u.redSize; r += 64u) {
      acc = combine(acc, X[base + p.q * u.redStride[0][0] + p.j * u.redStride[0][1]]);
      p = pos_step(p, a, b, inner, NO_WRAP);
    }
  } else {
    for (var r = li; r < u.redSize; r += 64u) { acc = combine(acc, X[base + red_offset(r)]); }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] = combine(partial[li], partial[li + s]); }
    workgroupBarrier();
  }
  if (li == 0u) {
    if (ACCUMULATE) { Y[o] = Y[o] + partial[0]; } else { Y[o] = partial[0] * u.scale; }
  }
}
