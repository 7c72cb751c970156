// ema.wgsl — the exponential moving average of a model's weights, for up to 4 parameters in one launch.
//
// Computes, for each parameter k of the launch and each of its elements i, in place:
//   avg[i] = decay · avg[i] + (1 − decay) · cur[i]
//   written as two float32 products and their sum, as three separate kernels (mul, mul, add) compute it. A compiler
//   may contract the sum into a fused multiply-add and differ from those kernels in the last bit; lavapipe does not
//   (tests/nn-ema.test.ts compares both). 1 − decay is computed in float64 on the host.
// Slots: as in adam.wgsl, a parameter pair is slot k's two bindings 2k+1 (the average, rewritten) and 2k+2 (the
//   trained weight); entry point `slotsK` serves slots 0 … K−1. 4 slots need 8 storage buffers, WebGPU's default
//   limit, so any device takes 4 parameters per launch.
// Work split: one invocation per 4 consecutive elements (vec4), 256 invocations per workgroup; slot k owns workgroups
//   start[k] … start[k+1] − 1 of a 2-D grid for large parameters. The last, partial vec4 of a parameter is written
//   lane by lane. Elements are independent: no shared memory, no barrier.
// Gradient: none (a weight average is not differentiated).

struct Params {
  decay: f32, one_minus_decay: f32, _p0: u32, _p1: u32,
  n: vec4<u32>,            // elements of slot k's parameter
  start: vec4<u32>,        // slot k's first workgroup; slots past the launch's last start past every workgroup
}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> avg0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> cur0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> avg1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> cur1: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> avg2: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> cur2: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> avg3: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> cur3: array<vec4<f32>>;

/** decay·a + (1 − decay)·c, each product rounded to float32 first. */
fn blend(a: vec4<f32>, c: vec4<f32>) -> vec4<f32> {
  let kept = u.decay * a;
  let added = u.one_minus_decay * c;
  return kept + added;
}

fn update0(j: u32) {
  let n = lanes(j, u.n[0]);
  if (n == 0u) { return; }
  let r = blend(avg0[j], cur0[j]);
  if (n == 4u) { avg0[j] = r; return; }
  for (var c = 0u; c < n; c++) { avg0[j][c] = r[c]; }
}

fn update1(j: u32) {
  let n = lanes(j, u.n[1]);
  if (n == 0u) { return; }
  let r = blend(avg1[j], cur1[j]);
  if (n == 4u) { avg1[j] = r; return; }
  for (var c = 0u; c < n; c++) { avg1[j][c] = r[c]; }
}

fn update2(j: u32) {
  let n = lanes(j, u.n[2]);
  if (n == 0u) { return; }
  let r = blend(avg2[j], cur2[j]);
  if (n == 4u) { avg2[j] = r; return; }
  for (var c = 0u; c < n; c++) { avg2[j][c] = r[c]; }
}

fn update3(j: u32) {
  let n = lanes(j, u.n[3]);
  if (n == 0u) { return; }
  let r = blend(avg3[j], cur3[j]);
  if (n == 4u) { avg3[j] = r; return; }
  for (var c = 0u; c < n; c++) { avg3[j][c] = r[c]; }
}

// #include "lib/slots.wgsl" — the entry points slots1 … slots4 over update0 … update3, and lanes()
