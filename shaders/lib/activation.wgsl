// lib/activation.wgsl — the activations a kernel can apply to each value as it writes it, included by unary.wgsl
// (stable_tanh is its tanh) and by the conv kernels that end a conv with its activation (lib/conv_gather.wgsl,
// conv2d_implicit_gemm_tiled.wgsl, conv2d_naive.wgsl, conv_col2im.wgsl, conv_col2im_planes.wgsl,
// conv_split_sum.wgsl): one text, so a fused activation gives
// the bits of the separate unary pass. The including shader declares the overrides below only through this file.

/** tanh without overflow: exp of −2|x| never exceeds 1. */
fn stable_tanh(x: f32) -> f32 {
  let t = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - t) / (1.0 + t);
}

// Which activation activate() applies: LEAKY (select(SLOPE·v, v, v > 0), the unary leakyRelu), TANH, or none.
override LEAKY: bool = false;
override SLOPE: f32 = 0.0;
override TANH: bool = false;

fn activate(v: f32) -> f32 {
  if (LEAKY) { return select(SLOPE * v, v, v > 0.0); }
  if (TANH) { return stable_tanh(v); }
  return v;
}
