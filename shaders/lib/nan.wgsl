// lib/nan.wgsl — max and min that keep a NaN, as torch's relu, maximum, minimum, amax and max-pooling do. WGSL
// leaves max(a, b) and min(a, b) with a NaN operand to the implementation (one GPU returns the other operand, so a
// NaN would leave a ReLU as 0 and vanish from the loss), and lets a compiler assume floats are never NaN, so
// `v != v` may be folded to false: a NaN is told by its bits. Included by unary.wgsl (relu), binary.wgsl (maximum,
// minimum), reduce.wgsl (max), pool_max.wgsl and lib/batchnorm.wgsl (its ReLU).

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

/** max(a, b), or the NaN if either is one (a's when both are). */
fn max_nan(a: f32, b: f32) -> f32 {
  return select(select(max(a, b), b, is_nan(b)), a, is_nan(a));
}

/** min(a, b), or the NaN if either is one (a's when both are). */
fn min_nan(a: f32, b: f32) -> f32 {
  return select(select(min(a, b), b, is_nan(b)), a, is_nan(a));
}
