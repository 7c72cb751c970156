// upsample.wgsl — nearest-neighbour upsampling by integer factors (Keras UpSampling2D, torch nn.Upsample
// mode='nearest'), forward and backward, NCHW.
//
// Computes:  forward   Y[p, oh, ow] = X[p, ⌊oh/sh⌋, ⌊ow/sw⌋] with OH = H·sh, OW = W·sw, p = n·C + c
//            backward  dX[p, h, w] = Σ_{i<sh, j<sw} dY[p, h·sh + i, w·sw + j]   (each sh×sw block summed)
// Work split: one invocation per element of X (forward: it writes its sh×sw block of Y; backward: it sums that
//   block of dY into its dX), 256 per workgroup, 2-D grid past 65535 workgroups. Each output value has one writer,
//   so no atomics are needed. Per input, not per output, because finding an element's position takes integer
//   divisions, which lavapipe makes lane by lane: the forward went from 6 per output to 3 per input.
// Gradient: `backward` is the gradient of `forward`.

struct Params { count: u32, H: u32, W: u32, sh: u32, sw: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;          // X (forward) or dY (backward)
@group(0) @binding(2) var<storage, read_write> B: array<f32>;    // Y (forward) or dX (backward)

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 { return (wg.y * nwg.x + wg.x) * 256u + li; }

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.count) { return; }   // count: elements of X
  let planeIn = u.H * u.W;
  let p = i / planeIn;
  let h = (i % planeIn) / u.W;
  let w = i % u.W;
  let OW = u.W * u.sw;
  let v = A[i];
  var o = p * planeIn * u.sh * u.sw + h * u.sh * OW + w * u.sw;
  for (var a = 0u; a < u.sh; a++) {
    for (var b = 0u; b < u.sw; b++) { B[o + b] = v; }
    o += OW;
  }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let i = flat_id(wg, nwg, li);
  if (i >= u.count) { return; }
  let planeIn = u.H * u.W;
  let p = i / planeIn;
  let h = (i % planeIn) / u.W;
  let w = i % u.W;
  let OW = u.W * u.sw;
  var o = p * planeIn * u.sh * u.sw + h * u.sh * OW + w * u.sw;
  var acc = 0.0;
  for (var a = 0u; a < u.sh; a++) {
    for (var b = 0u; b < u.sw; b++) { acc += A[o + b]; }
    o += OW;
  }
  B[i] = acc;
}
