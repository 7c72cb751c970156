/**
 * The "ceiling" column: how many GFLOP/s an adapter reaches on pure arithmetic, with no memory traffic to speak
 * of. A kernel's GFLOP/s divided by this says how much of the machine it uses.
 *
 * Each invocation runs 8 independent vec4 FMA chains (8 x 4 lanes x 2 FLOPs = 64 FLOPs per loop trip), enough
 * independent work to hide FMA latency on GPUs and to keep lavapipe's SIMD units busy. The multiplier and addend
 * come from a uniform buffer so the compiler cannot fold the loop away, and the sum of the chains is stored so it
 * cannot drop it either. The trip count is calibrated so that one dispatch takes about `targetMs` (long
 * dispatches have crashed lavapipe; ~100 ms is safe and long enough to swamp submission overhead).
 */

const WORKGROUP_SIZE = 64;
const CHAINS = 8;
const FLOPS_PER_TRIP = CHAINS * 4 * 2;

const FMA_WGSL = /* wgsl */ `
struct Params {
  trips: u32,
  mul: f32,
  add: f32,
  _pad: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> sink: array<vec4<f32>>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = gid.x + gid.y * groups.x * ${WORKGROUP_SIZE}u;
  let seed = f32(index & 255u) * 1e-3;
  let m = vec4<f32>(params.mul);
  let c = vec4<f32>(params.add);
  // Eight chains with different starting points: no chain waits on another.
  var a0 = vec4<f32>(seed, seed + 0.1, seed + 0.2, seed + 0.3);
  var a1 = a0 + 1.0;
  var a2 = a0 + 2.0;
  var a3 = a0 + 3.0;
  var a4 = a0 + 4.0;
  var a5 = a0 + 5.0;
  var a6 = a0 + 6.0;
  var a7 = a0 + 7.0;
  for (var i = 0u; i < params.trips; i++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
  }
  sink[index] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}
`;

export interface CeilingOptions {
  /** Aimed duration of one dispatch in ms (default 100). */
  targetMs?: number;
  /** Timed dispatches after calibration; the median is reported (default 5). */
  repeats?: number;
  /**
   * Workgroups per dispatch to try; the fastest wins (default [256, 4096]: lavapipe prefers few large
   * workgroups' worth of invocations, big GPUs need 262144 invocations to fill).
   */
  workgroups?: number[];
}

export interface CeilingResult {
  gflops: number;
  /** Median duration of one dispatch. */
  msPerDispatch: number;
  flopsPerDispatch: number;
  trips: number;
  invocations: number;
  /** Workgroups per dispatch (the fastest of the candidates). */
  workgroups: number;
  /** The stored chain sums of invocation 0, for a sanity check that the loop really ran. */
  sample: number[];
}

/** Measures the FMA throughput of `device` in GFLOP/s (see the file comment): the best of the workgroup counts. */
export async function measureFmaCeiling(device: GPUDevice, opts: CeilingOptions = {}): Promise<CeilingResult> {
  const candidates = opts.workgroups ?? [256, 4096];
  if (candidates.length === 0) throw new Error('measureFmaCeiling: workgroups must list at least one count');
  let best: CeilingResult | undefined;
  for (const workgroups of candidates) {
    const kernel = await FmaKernel.create(device, workgroups);
    try {
      const trips = await kernel.calibrate(opts.targetMs ?? 100);
      const r = await kernel.measure(trips, opts.repeats ?? 5);
      if (!best || r.gflops > best.gflops) best = r;
    } finally {
      kernel.destroy();
    }
  }
  return best!;
}

/** A full measurement to start from, then short ones at the size it found: the ceiling beside each workload. */
export interface CeilingProbe {
  /** The full measurement (calibration and the choice of workgroup count). */
  readonly calibration: CeilingResult;
  /** One short measurement: `probeRepeats` dispatches of about `probeMs` each, the median. */
  measure(): Promise<CeilingResult>;
  destroy(): void;
}

/**
 * Calibrates once with measureFmaCeiling, then keeps the winning pipeline and buffers: each `measure()` is
 * `probeRepeats` (5) dispatches of about `probeMs` (40 ms), the median: about 0.2 s, no compilation or calibration.
 */
export async function createCeilingProbe(
  device: GPUDevice,
  opts: CeilingOptions & { probeMs?: number; probeRepeats?: number } = {},
): Promise<CeilingProbe> {
  const calibration = await measureFmaCeiling(device, opts);
  const kernel = await FmaKernel.create(device, calibration.workgroups);
  const probeMs = opts.probeMs ?? 40;
  const trips = Math.max(1, Math.round((calibration.trips * probeMs) / Math.max(calibration.msPerDispatch, 1e-3)));
  return {
    calibration,
    measure: () => kernel.measure(trips, opts.probeRepeats ?? 5),
    destroy: () => kernel.destroy(),
  };
}

/** The FMA pipeline at one workgroup count, with its buffers. */
class FmaKernel {
  private constructor(
    private readonly device: GPUDevice,
    private readonly pipeline: GPUComputePipeline,
    private readonly bindGroup: GPUBindGroup,
    private readonly buffers: { params: GPUBuffer; sink: GPUBuffer; readback: GPUBuffer },
    readonly workgroups: number,
    readonly groups: [number, number],
    readonly invocations: number,
  ) {}

  static async create(device: GPUDevice, workgroups: number): Promise<FmaKernel> {
    if (!Number.isInteger(workgroups) || workgroups < 1)
      throw new Error(`measureFmaCeiling: bad workgroup count ${workgroups}`);
    const maxX = device.limits.maxComputeWorkgroupsPerDimension;
    const groupsX = Math.min(workgroups, maxX);
    const groupsY = Math.ceil(workgroups / groupsX);
    const invocations = groupsX * groupsY * WORKGROUP_SIZE;
    const module = device.createShaderModule({ code: FMA_WGSL, label: 'fma-ceiling' });
    const pipeline = await device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: 'fma-ceiling',
    });
    const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    const sink = device.createBuffer({
      size: invocations * 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const readback = device.createBuffer({ size: 16 * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: sink } },
      ],
    });
    return new FmaKernel(
      device,
      pipeline,
      bindGroup,
      { params, sink, readback },
      workgroups,
      [groupsX, groupsY],
      invocations,
    );
  }

  /** One dispatch of `trips` loop trips, timed from submit to completion. */
  async run(trips: number): Promise<number> {
    const { device } = this;
    const p = new ArrayBuffer(16);
    new Uint32Array(p, 0, 1)[0] = trips;
    new Float32Array(p, 4, 2).set([0.999, 1e-3]);
    device.queue.writeBuffer(this.buffers.params, 0, p);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(this.groups[0], this.groups[1]);
    pass.end();
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  }

  /** Grows the trip count until a dispatch is long enough to measure, then scales it to `targetMs`. */
  async calibrate(targetMs: number): Promise<number> {
    let trips = 4;
    await this.run(trips); // pipeline warm-up
    let ms = await this.run(trips);
    while (ms < targetMs / 8 && trips < 1 << 24) {
      trips *= 4;
      ms = await this.run(trips);
    }
    // Two proportional corrections: the first estimate is skewed by fixed per-dispatch overhead.
    for (let round = 0; round < 2; round++) {
      trips = Math.max(1, Math.min(1 << 26, Math.round((trips * targetMs) / Math.max(ms, 1e-3))));
      ms = await this.run(trips);
    }
    return trips;
  }

  /** `repeats` timed dispatches of `trips` trips; the median gives the GFLOP/s. */
  async measure(trips: number, repeats: number): Promise<CeilingResult> {
    const samples: number[] = [];
    for (let i = 0; i < repeats; i++) samples.push(await this.run(trips));
    samples.sort((a, b) => a - b);
    const msPerDispatch = samples[samples.length >> 1]!;
    const flopsPerDispatch = this.invocations * trips * FLOPS_PER_TRIP;

    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(this.buffers.sink, 0, this.buffers.readback, 0, 16);
    this.device.queue.submit([enc.finish()]);
    await this.buffers.readback.mapAsync(GPUMapMode.READ);
    const sample = Array.from(new Float32Array(this.buffers.readback.getMappedRange().slice(0, 16)));
    this.buffers.readback.unmap();
    return {
      gflops: flopsPerDispatch / (msPerDispatch * 1e6),
      msPerDispatch,
      flopsPerDispatch,
      trips,
      invocations: this.invocations,
      workgroups: this.workgroups,
      sample,
    };
  }

  destroy(): void {
    this.buffers.params.destroy();
    this.buffers.sink.destroy();
    this.buffers.readback.destroy();
  }
}
