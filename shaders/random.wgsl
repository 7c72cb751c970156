// random.wgsl — seeded uniform and normal random numbers generated on the GPU.
//
// Computes:  uniform: y[i] = lo + (hi - lo) * U(seed, i),         U in [0, 1)
//            normal:  y[i] = mean + std * sqrt(-2 ln U1) cos(2π U2)  (Box–Muller)
// U is counter-based: a PCG hash of (element index, seed), so the result depends only on (seed, i) — the same
//   numbers on every adapter and for any dispatch shape, and no RNG state to carry between kernels.
// Work split: one invocation per element, 256 per workgroup, 2-D grid for large n (see fill.wgsl).
// Gradient: none (random tensors are leaves).

struct Params { n: u32, seed: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

// PCG-RXS-M-XS 32-bit hash (O'Neill's permuted congruential generator output function).
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// 24 random bits mapped to [0, 1).
fn unit(i: u32, stream: u32) -> f32 {
  let h = pcg(pcg(i ^ (stream * 0x9E3779B9u)) ^ u.seed);
  return f32(h >> 8u) * (1.0 / 16777216.0);
}

@compute @workgroup_size(256)
fn uniform_(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  y[i] = u.a + (u.b - u.a) * unit(i, 0u);
}

@compute @workgroup_size(256)
fn normal(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * 256u + li;
  if (i >= u.n) { return; }
  let u1 = 1.0 - unit(i, 1u);          // (0, 1]: log stays finite
  let u2 = unit(i, 2u);
  y[i] = u.a + u.b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
