/**
 * Getting a GPUDevice, the same way in a browser and in Node.
 *
 * In a browser `navigator.gpu` is the WebGPU entry point. In Node there is no `navigator`, so we load Dawn's
 * Node bindings (the npm package `webgpu`) on demand. The module name is kept in a variable so that bundlers
 * (Vite) do not try to pull a native Node addon into a browser build.
 */

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software adapters (lavapipe, SwiftShader): they run on the CPU and favour other kernel shapes. */
  isCPU: boolean;
  /** Short name for file names and tables, e.g. "lavapipe", "swiftshader", "nvidia". */
  slug: string;
  /**
   * Lanes per subgroup where the device has the `subgroups` feature and the adapter reports one fixed size (8 on
   * lavapipe), which a kernel run on the device confirmed (probeSubgroupSize), else null: the kernels that share
   * loads across a subgroup (conv.ts) need to know it exactly.
   */
  subgroupSize: number | null;
}

export class NoAdapterError extends Error {
  constructor(detail: string) {
    super(
      `No WebGPU adapter found (${detail}). ` +
        'On a machine without a GPU run `bash scripts/setup.sh` (installs Mesa lavapipe >= 24 from bookworm-backports) ' +
        'and start programs through the npm scripts, which set VK_ICD_FILENAMES; in Chrome enable WebGPU ' +
        '(chrome://flags or --enable-unsafe-webgpu).',
    );
    this.name = 'NoAdapterError';
  }
}

/**
 * Dawn's Node bindings destroy their native instance when the JS `GPU` object is garbage-collected, even
 * while a device made from it is in use; the driver then crashes at a random later moment (seen as
 * "std::system_error: Invalid argument" or pthread assertions inside lavapipe). Every GPU object we hand
 * out is therefore pinned here for the life of the process.
 */
const pinned: unknown[] = [];

const NODE_WEBGPU_MODULE = 'webgpu';

/** Returns the WebGPU entry point of this environment: navigator.gpu, or Dawn's Node bindings. */
export async function getGPU(dawnOptions: string[] = []): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode =
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (!isNode) throw new NoAdapterError('navigator.gpu is missing: this browser has WebGPU disabled or unsupported');
  let mod: { create: (o: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = await import(/* @vite-ignore */ NODE_WEBGPU_MODULE);
  } catch (e) {
    throw new NoAdapterError(`could not load Dawn's Node bindings, the npm package "webgpu": ${(e as Error).message}`);
  }
  // Dawn's constants (GPUBufferUsage, GPUMapMode, ...) are globals in a browser; make them so in Node too.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  installDawnPolling();
  const gpu = mod.create(withExactTimestamps(dawnOptions));
  pinned.push(gpu);
  return gpu;
}

/**
 * Dawn's options with its timestamp rounding turned off: by default Dawn rounds every GPU timestamp down to a
 * multiple of 65,536 ns (a browser's guard against timing attacks), which reads a 20 µs kernel as 0 or 65.5 µs and
 * would make the profiler's per-kernel times and the autotuner's samples (autotune.ts) noise on a fast GPU.
 * A caller's own `disable-dawn-features=` list is extended, not replaced.
 */
export function withExactTimestamps(dawnOptions: readonly string[]): string[] {
  const key = 'disable-dawn-features=';
  const own = dawnOptions.findIndex((o) => o.startsWith(key));
  if (own < 0) return [...dawnOptions, `${key}timestamp_quantization`];
  const out = [...dawnOptions];
  if (!out[own]!.slice(key.length).split(',').includes('timestamp_quantization'))
    out[own] = `${out[own]},timestamp_quantization`.replace('=,', '=');
  return out;
}

/** `subgroups`: whether the device was made with the `subgroups` feature (see AdapterSummary.subgroupSize). */
export function summarizeAdapter(info: GPUAdapterInfo, subgroups = false): AdapterSummary {
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const device = info.device ?? '';
  const description = info.description ?? '';
  const all = `${vendor} ${architecture} ${device} ${description}`.toLowerCase();
  let slug = 'gpu';
  let isCPU = false;
  if (all.includes('llvmpipe') || all.includes('lavapipe')) {
    slug = 'lavapipe';
    isCPU = true;
  } else if (all.includes('swiftshader')) {
    slug = 'swiftshader';
    isCPU = true;
  } else if (all.includes('nvidia')) slug = 'nvidia';
  else if (all.includes('amd') || all.includes('radeon')) slug = 'amd';
  else if (all.includes('intel')) slug = 'intel';
  else if (all.includes('apple')) slug = 'apple';
  if (vendor === 'mesa' && architecture === '' && all.includes('cpu')) isCPU = true;
  const sizes = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const fixed = sizes.subgroupMinSize !== undefined && sizes.subgroupMinSize === sizes.subgroupMaxSize;
  const subgroupSize = subgroups && fixed ? sizes.subgroupMinSize! : null;
  return { vendor, architecture, device, description, isCPU, slug, subgroupSize };
}

/**
 * How Dawn's Node bindings wait for the GPU. While a promise of theirs is pending (mapAsync, onSubmittedWorkDone,
 * createComputePipelineAsync) they process events in a native callback that they hand to `setImmediate` and that
 * queues itself again at once: a busy loop on the main thread for as long as the GPU works. On a CPU adapter the
 * "GPU" is a pool of CPU threads (lavapipe starts one per core), so that loop takes a core from the threads running
 * the kernels: on this project's 2-core machine a DCGAN step took 1.86× as long at batch 16 and 1.94× at batch 64
 * (bench/results/dawn-polling-lavapipe.md).
 * - 'spin': Dawn's own loop (best where the GPU is a separate chip and a spare core costs nothing);
 * - 'timer': within a wait, callbacks are run at once for the first 2 ms (short jobs finish at full speed) and
 *   then once a millisecond, through `setTimeout`;
 * - 'auto' (the default): 'timer' on CPU adapters, 'spin' on GPUs, decided when the device is acquired.
 * Only native callbacks are rescheduled (Dawn's are; a JavaScript function's source text is not "[native code]"),
 * so other users of setImmediate are unaffected. Nothing changes in a browser.
 */
export type DawnPolling = 'auto' | 'spin' | 'timer';
export const DAWN_POLLING_MODES: readonly DawnPolling[] = ['auto', 'spin', 'timer'];
let pollingMode: DawnPolling = 'auto';
/** Whether the last adapter acquired runs on the CPU (null before the first): what 'auto' follows. */
let lastAdapterIsCPU: boolean | null = null;
/** A gap between Dawn's callbacks longer than this starts a new wait. */
const NEW_WAIT_GAP_MS = 20;
const SPIN_FIRST_MS = 2;
const POLL_EVERY_MS = 1;
const dawnPolling = { installed: false, lastTick: -Infinity, waitStart: 0, deferred: 0 };

/** Sets how Dawn's Node bindings wait for the GPU (see DawnPolling). */
export function setDawnPolling(mode: DawnPolling): void {
  if (!DAWN_POLLING_MODES.includes(mode))
    throw new Error(`Dawn polling must be one of ${DAWN_POLLING_MODES.join(', ')}, got "${mode}"`);
  pollingMode = mode;
}

/** The mode in force now: 'auto' resolved against the last adapter acquired. */
function activePolling(): 'spin' | 'timer' {
  if (pollingMode !== 'auto') return pollingMode;
  return lastAdapterIsCPU ? 'timer' : 'spin';
}

/** The mode set, the one in force, and how many of Dawn's callbacks were deferred to a timer so far. */
export function dawnPollingState(): { mode: DawnPolling; active: 'spin' | 'timer'; deferred: number } {
  return { mode: pollingMode, active: activePolling(), deferred: dawnPolling.deferred };
}

/** Wraps globalThis.setImmediate (once, in Node) so that Dawn's native callbacks follow the polling mode. */
function installDawnPolling(): void {
  const g = globalThis as { setImmediate?: (fn: (...args: unknown[]) => void, ...args: unknown[]) => unknown };
  const original = g.setImmediate;
  if (dawnPolling.installed || typeof original !== 'function') return;
  dawnPolling.installed = true;
  const toSource = Function.prototype.toString;
  const wrapped = (fn: (...args: unknown[]) => void, ...args: unknown[]): unknown => {
    if (activePolling() === 'spin' || typeof fn !== 'function' || !toSource.call(fn).endsWith('{ [native code] }'))
      return original(fn, ...args);
    const now = performance.now();
    if (now - dawnPolling.lastTick > NEW_WAIT_GAP_MS) dawnPolling.waitStart = now;
    dawnPolling.lastTick = now;
    if (now - dawnPolling.waitStart < SPIN_FIRST_MS) return original(fn, ...args);
    dawnPolling.deferred++;
    return setTimeout(fn, POLL_EVERY_MS, ...args);
  };
  // Keep what Node hangs on setImmediate (util.promisify's custom form).
  Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(original));
  g.setImmediate = wrapped;
}

/**
 * Which limits a device is asked for. 'adapter' (the default): the adapter's largest buffer, workgroup and
 * storage-buffer limits. 'default': none raised, so the device has WebGPU's default limits (8 storage buffers per
 * stage, 16 KiB of workgroup memory, 256 invocations per workgroup, 128 MiB per binding, 256 MiB per buffer) — what
 * any conforming adapter offers, and all some browsers and weak GPUs grant. The engine runs on either
 * (tests/default-limits.test.ts); 'default' lets a machine with a larger adapter check that.
 */
export type DeviceLimits = 'adapter' | 'default';
export const DEVICE_LIMITS: readonly DeviceLimits[] = ['adapter', 'default'];
let deviceLimits: DeviceLimits = 'adapter';

/** Sets which limits the next device is asked for (see DeviceLimits); env WGPU_GAN_LIMITS in the programs. */
export function setDeviceLimits(limits: DeviceLimits): void {
  if (!DEVICE_LIMITS.includes(limits))
    throw new Error(`device limits must be one of ${DEVICE_LIMITS.join(', ')}, got "${limits}"`);
  deviceLimits = limits;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: AdapterSummary;
}

/**
 * Requests an adapter and a device with the adapter's largest buffer limits (conv activations of big
 * images exceed the 128 MiB default binding size on some adapters), or with WebGPU's default limits
 * (`limits: 'default'`, else what setDeviceLimits set).
 */
export async function acquireDevice(
  opts: { powerPreference?: GPUPowerPreference; dawnOptions?: string[]; limits?: DeviceLimits } = {},
): Promise<AcquiredDevice> {
  const gpu = await getGPU(opts.dawnOptions);
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new NoAdapterError('requestAdapter() returned null');
  const limits = adapter.limits;
  // Timestamp queries let the engine's profiler time each kernel on the GPU; subgroups let conv kernels share loads
  // between lanes (conv.ts). Each only asked for where offered.
  const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const raised = {
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
  };
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: (opts.limits ?? deviceLimits) === 'default' ? {} : raised,
  });
  pinned.push(adapter);
  const summary = summarizeAdapter(adapter.info, device.features.has('subgroups'));
  if (summary.subgroupSize !== null) {
    const reported = summary.subgroupSize;
    summary.subgroupSize = await probeSubgroupSize(device, reported);
    if (summary.subgroupSize === null)
      console.warn(
        `wgpu-gan: the adapter reports subgroups of ${reported} lanes, which a test kernel did not confirm; ` +
          'the conv kernels that share loads across subgroups are not used',
      );
  }
  lastAdapterIsCPU = summary.isCPU;
  return { device, adapter: summary };
}

/**
 * Checks on the device what the adapter reports and what the `_sg` conv kernels assume: that every invocation of a
 * 64-invocation workgroup runs in a subgroup of exactly `size` lanes, and that the subgroups are runs of consecutive
 * invocations (lane = local index mod size; the weight gradient gives each run of lanes its own pixels). Each
 * invocation writes its `subgroup_size` and `subgroup_invocation_id` builtins. The kernels shuffle values from lanes
 * 0 … size − 1 of their subgroup, so another layout would give wrong sums rather than an error. Returns `size` when
 * all 64 agree, else null (the plain kernels run then).
 */
export async function probeSubgroupSize(device: GPUDevice, size: number): Promise<number | null> {
  const code = `enable subgroups;
@group(0) @binding(0) var<storage, read_write> seen: array<u32, 128>;
@compute @workgroup_size(64)
fn main(
  @builtin(local_invocation_index) i: u32,
  @builtin(subgroup_size) n: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  seen[2u * i] = n;
  seen[2u * i + 1u] = lane;
}`;
  const bytes = 128 * 4;
  const out = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  // A device without the feature rejects the module: catch that here rather than as the next op's error.
  device.pushErrorScope('validation');
  try {
    const pipeline = await device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
    });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: out } }],
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, read, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const seen = new Uint32Array(read.getMappedRange().slice(0));
    read.unmap();
    for (let i = 0; i < 64; i++) if (seen[2 * i] !== size || seen[2 * i + 1] !== i % size) return null;
    return size;
  } catch {
    return null; // no pipeline with subgroups after all: the plain kernels need none
  } finally {
    await device.popErrorScope();
    out.destroy();
    read.destroy();
  }
}
