// pool_avg.wgsl — 2-D average pooling over NCHW planes, forward and backward (torch.nn.AvgPool2d semantics).
//
// Computes:  forward   Y[p, oh, ow] = (Σ_{(h, w) in window ∩ input} X[p, h, w]) / D(oh, ow), where the window is
//                      rows oh·sh − ph … +kh−1 and columns ow·sw − pw … +kw−1 and the divisor D is, as in torch,
//                      the window clipped to the PADDED input when INCLUDE_PAD (count_include_pad=True), else
//                      the number of real input positions in it. Zero padding adds nothing to the sum.
//            backward  dX[p, h, w] = Σ_{(oh, ow) whose window covers (h, w)} dY[p, oh, ow] / D(oh, ow)
// Work split: forward, one invocation per output element; backward, one invocation per input element that
//   gathers from the outputs covering it (deterministic, no atomics, handles overlapping windows). Where the
//   windows tile the input exactly (kernel = stride, no padding, H = OH·kh, W = OW·kw: ProGAN's 2×2
//   downsampling), `backward_blocks` instead runs one invocation per output element that writes its window's
//   kh·kw gradients: each input has one writer, and the integer divisions that locate an element, made lane by
//   lane on lavapipe, are paid once per window instead of once per input.
//   256 invocations per workgroup, 2-D grid past 65535 workgroups (see fill.wgsl).
// Gradient: the `backward` entry below is the gradient of `forward`.

struct Params {
  count: u32, H: u32, W: u32, OH: u32,
  OW: u32, kh: u32, kw: u32, sh: u32,
  sw: u32, ph: u32, pw: u32, _pad: u32,
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;          // X (forward) or dY (backward)
@group(0) @binding(2) var<storage, read_write> B: array<f32>;    // Y (forward) or dX (backward)

override INCLUDE_PAD: bool = true;

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * 256u + li; }

/** 1 / D(oh, ow) for the window starting at (h0, w0) (see header). */
fn inv_divisor(h0: i32, w0: i32) -> f32 {
  let hp = min(h0 + i32(u.kh), i32(u.H + u.ph)) - h0;
  let wp = min(w0 + i32(u.kw), i32(u.W + u.pw)) - w0;
  if (INCLUDE_PAD) { return 1.0 / f32(hp * wp); }
  let hv = min(h0 + i32(u.kh), i32(u.H)) - max(h0, 0);
  let wv = min(w0 + i32(u.kw), i32(u.W)) - max(w0, 0);
  return 1.0 / f32(hv * wv);
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let o = flat_id(wg, nwg, li);
  if (o >= u.count) { return; }
  let planeOut = u.OH * u.OW;
  let p = o / planeOut;
  let r = o % planeOut;
  let h0 = i32((r / u.OW) * u.sh) - i32(u.ph);
  let w0 = i32((r % u.OW) * u.sw) - i32(u.pw);
  let base = p * u.H * u.W;
  let h1 = min(h0 + i32(u.kh), i32(u.H));
  let w1 = min(w0 + i32(u.kw), i32(u.W));
  var acc = 0.0;
  for (var h = max(h0, 0); h < h1; h++) {
    for (var w = max(w0, 0); w < w1; w++) { acc += A[base + u32(h) * u.W + u32(w)]; }
  }
  B[o] = acc * inv_divisor(h0, w0);
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.count) { return; }
  let planeIn = u.H * u.W;
  let p = i / planeIn;
  let at = i % planeIn;
  let h = i32(at / u.W);
  let w = i32(at % u.W);
  let hlo = h + i32(u.ph) - i32(u.kh) + 1;
  let wlo = w + i32(u.pw) - i32(u.kw) + 1;
  let oh0 = select(0, (hlo + i32(u.sh) - 1) / i32(u.sh), hlo > 0);
  let ow0 = select(0, (wlo + i32(u.sw) - 1) / i32(u.sw), wlo > 0);
  let oh1 = min((h + i32(u.ph)) / i32(u.sh), i32(u.OH) - 1);
  let ow1 = min((w + i32(u.pw)) / i32(u.sw), i32(u.OW) - 1);
  let base = p * u.OH * u.OW;
  var acc = 0.0;
  for (var oh = oh0; oh <= oh1; oh++) {
    for (var ow = ow0; ow <= ow1; ow++) {
      let o = base + u32(oh) * u.OW + u32(ow);
      acc += A[o] * inv_divisor(oh * i32(u.sh) - i32(u.ph), ow * i32(u.sw) - i32(u.pw));
    }
  }
  B[i] = acc;
}

@compute @workgroup_size(256)
fn backward_blocks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32) {
  let o = flat_id(wg, nwg, li);
  if (o >= u.count) { return; }   // count: elements of dY
  let planeOut = u.OH * u.OW;
  let p = o / planeOut;
  let r = o % planeOut;
  let oh = r / u.OW;
  let ow = r % u.OW;
  let g = A[o] * inv_divisor(i32(oh * u.sh), i32(ow * u.sw));
  var i = p * u.H * u.W + oh * u.kh * u.W + ow * u.kw;
  for (var a = 0u; a < u.kh; a++) {
    for (var b = 0u; b < u.kw; b++) { B[i + b] = g; }
    i += u.W;
  }
}
