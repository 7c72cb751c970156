// gan_stats.wgsl — a GAN training step's statistics in one launch, for the one read-back a step makes.
//
// Computes OUT = [lossD, lossG, E[s(REAL)], E[s(FAKE)]] from D's loss, G's loss and D's outputs on the real batch
//   and on the fakes, with s = σ (σ(x) = 1 / (1 + e^(−x)), the probability D gives "real", when D's outputs are
//   logits: SIGMOID) or the identity, and E the mean over an output's values: REAL[realStart + i] for i < nReal
//   and FAKE[fakeStart + i] for i < nFake (the two may be parts of one buffer, when D scored reals and fakes in
//   one pass). A part the step did not compute (no D step: HAS_D off; no G step: HAS_G off) is NaN, made at run
//   time from the bits u.nanBits (WGSL has no NaN literal, and filling OUT from the host would split the step's
//   commands into two submits).
// Work split: one workgroup of 64 invocations; each sums every 64th value of REAL and of FAKE, then a tree
//   reduction of the (real, fake) pairs in workgroup memory; invocation 0 writes OUT.
// Gradient: none (statistics for display and for the D-skip rule, read after the step).

struct Params { nReal: u32, nFake: u32, nanBits: u32, realStart: u32, fakeStart: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> LOSS_D: array<f32>;
@group(0) @binding(2) var<storage, read> LOSS_G: array<f32>;
@group(0) @binding(3) var<storage, read> REAL: array<f32>;
@group(0) @binding(4) var<storage, read> FAKE: array<f32>;
@group(0) @binding(5) var<storage, read_write> OUT: array<f32>;

override HAS_D: bool = true;
override HAS_G: bool = true;
override SIGMOID: bool = true;

fn score(x: f32) -> f32 {
  if (SIGMOID) { return 1.0 / (1.0 + exp(-x)); }
  return x;
}

var<workgroup> partial: array<vec2<f32>, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) li: u32) {
  var acc = vec2(0.0, 0.0);
  if (HAS_D) {
    for (var i = li; i < u.nReal; i += 64u) { acc.x += score(REAL[u.realStart + i]); }
    for (var i = li; i < u.nFake; i += 64u) { acc.y += score(FAKE[u.fakeStart + i]); }
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  if (li != 0u) { return; }
  let nan = bitcast<f32>(u.nanBits);
  var out = vec4(nan, nan, nan, nan);
  if (HAS_D) {
    out.x = LOSS_D[0];
    out.z = partial[0].x / f32(u.nReal);
    out.w = partial[0].y / f32(u.nFake);
  }
  if (HAS_G) { out.y = LOSS_G[0]; }
  OUT[0] = out.x;
  OUT[1] = out.y;
  OUT[2] = out.z;
  OUT[3] = out.w;
}
