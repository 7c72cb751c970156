// pool_max.wgsl — 2-D max pooling over NCHW planes, forward and backward (torch.nn.MaxPool2d semantics).
//
// Computes:  forward   Y[p, oh, ow] = max over the window rows h = oh·sh − ph + i (i < kh), columns
//                      w = ow·sw − pw + j (j < kw) of X[p, h, w], where p = n·C + c indexes a plane and
//                      positions outside the input are −inf (they never win). It also writes I[p, oh, ow] = h·W + w
//                      of the winner (the first one in row-major window order on ties, NaN wins like torch).
//            backward  dX[p, h, w] = Σ_{(oh, ow) whose window covers (h, w) and I[p, oh, ow] = h·W + w} dY[p, oh, ow]
// Work split: forward, one invocation per output element; backward, one invocation per INPUT element that
//   gathers from the (at most ⌈kh/sh⌉·⌈kw/sw⌉) outputs whose windows cover it. Overlapping windows (k3 s2)
//   can pick the same input twice; the gather adds both without atomics, so results are deterministic.
//   256 invocations per workgroup, 2-D grid past 65535 workgroups (see fill.wgsl).
// Gradient: the `backward` entry below is the gradient of `forward`.

struct Params {
  count: u32, H: u32, W: u32, OH: u32,
  OW: u32, kh: u32, kw: u32, sh: u32,
  sw: u32, ph: u32, pw: u32, _pad: u32,
}
@group(0) @binding(0) var<uniform> u: Params;

// forward bindings
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> I: array<u32>;

// backward bindings
@group(0) @binding(1) var<storage, read> dY: array<f32>;
@group(0) @binding(2) var<storage, read> Iread: array<u32>;
@group(0) @binding(3) var<storage, read_write> dX: array<f32>;

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * 256u + li; }

// #include "lib/nan.wgsl" — is_nan()

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
  // Start from the first in-bounds position (every window has one since padding ≤ kernel/2), so padded
  // positions behave as −inf and the index is valid even if every value is −inf.
  var bestAt = u32(max(h0, 0)) * u.W + u32(max(w0, 0));
  var best = X[base + bestAt];
  let h1 = min(h0 + i32(u.kh), i32(u.H));
  let w1 = min(w0 + i32(u.kw), i32(u.W));
  for (var h = max(h0, 0); h < h1; h++) {
    for (var w = max(w0, 0); w < w1; w++) {
      let at = u32(h) * u.W + u32(w);
      let v = X[base + at];
      if (v > best || (is_nan(v) && !is_nan(best))) { best = v; bestAt = at; }
    }
  }
  Y[o] = best;
  I[o] = bestAt;
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
  // Outputs covering row h: oh·sh − ph ≤ h ≤ oh·sh − ph + kh − 1.
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
      if (Iread[o] == at) { acc += dY[o]; }
    }
  }
  dX[i] = acc;
}
