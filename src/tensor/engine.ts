/**
 * The engine: one GPUDevice plus the machinery every kernel launch goes through.
 *
 * - Pipeline cache: a compute pipeline per (shader, template substitutions, override constants, entry point).
 *   `captureKernels` lists the new pipelines some recording would create, and `precompile` compiles them with
 *   createComputePipelineAsync, reporting each one done (a page shows "compiling kernels k / n" from it).
 * - Buffer pool: storage buffers recycled by size class, so a training loop allocates nothing after its
 *   first step.
 * - Batched recording: launches are recorded into one command encoder and one compute pass, and submitted
 *   together when results are read back (or every `maxDispatchesPerSubmit` launches) — never one submit per op.
 * - Uniforms: each launch's small parameter block is staged on the CPU into 256-byte slots of a few reusable
 *   uniform buffers, uploaded with one writeBuffer per chunk right before the submit.
 */
import { SHADERS, WRITTEN_BINDINGS } from '../shaders.gen.ts';
import type { ParamBlock } from './params.ts';
import { acquireDevice, type AdapterSummary, type DeviceLimits } from './gpu.ts';
import { BufferPool } from './buffer-pool.ts';

export interface Kernel {
  /** File name in shaders/ without `.wgsl`. */
  shader: string;
  /** Entry point (default `main`). */
  entry?: string;
  /** Text substituted for `{{NAME}}` placeholders in the shader source. */
  subs?: Record<string, string>;
  /** WGSL `override` constants. */
  constants?: Record<string, number | boolean>;
}

export interface Launch {
  /** Parameter block bound at @binding(0) as a uniform, written by name for this shader (`shaderParams`). */
  params: ParamBlock;
  /** Storage buffers for @binding(1), @binding(2), ... in order. */
  buffers: GPUBuffer[];
  workgroups: [number, number, number];
}

const UNIFORM_SLOT = 256;
const UNIFORM_CHUNK = 64 * 1024;
const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */
const READBACK_USAGE = 0x01 /* MAP_READ */ | 0x08; /* COPY_DST */

export interface EngineStats {
  pipelines: number;
  dispatches: number;
  /** Buffer-to-buffer copies recorded (each also ends the compute pass it interrupts). */
  copies: number;
  submits: number;
  /** Launches whose bind group came from the cache (see Engine.bindGroup). */
  bindGroupHits: number;
  /** Bytes in buffers currently owned by tensors. */
  inUseBytes: number;
  inUseBuffers: number;
  /** Buffers derived from tensors' contents that the engine keeps (see Engine.derived), and how many uses found one fresh. */
  derivedBytes: number;
  derivedBuffers: number;
  derivedHits: number;
  /** Bytes in buffers waiting in the pool for reuse. */
  pooledBytes: number;
}

export class Engine {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /**
   * The most bytes one tensor may hold: every tensor is bound whole as a kernel's storage buffer, so it must fit the
   * largest binding and the largest buffer (a multiple of 4). The size checks before work (a batch's feature maps, a
   * style image's) and the buffer pool's cap all use this one figure.
   */
  readonly maxTensorBytes: number;
  /** The most workgroups a dispatch takes in each dimension (read once: a limit read is a native call). */
  readonly maxWorkgroupsPerDimension: number;
  /** Launches recorded before an automatic submit; readbacks always submit. */
  maxDispatchesPerSubmit = 512;

  private pipelines = new Map<string, GPUComputePipeline>();
  private storage: BufferPool;
  private readback: BufferPool;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private uniformChunks: { buffer: GPUBuffer; shadow: Uint8Array<ArrayBuffer> }[] = [];
  private uniformUsed = 0; // bytes used across chunks in the current recording
  private lostMessage: string | null = null;
  private firstError: string | null = null;
  private counters = { dispatches: 0, copies: 0, submits: 0, bindGroupHits: 0, derivedHits: 0 };
  private profiler: Profiler | null = null;
  /**
   * Runs before the engine waits for the GPU (read, sync): the autotuner (./autotune.ts) sets it while it has
   * problems queued, and times them there. It clears itself before running.
   */
  beforeWait: (() => Promise<unknown>) | null = null;
  /** Optional per-kernel hook (e.g. a profiler counting launches by name). */
  onLaunch: ((kernel: Kernel, workgroups: [number, number, number]) => void) | null = null;

  constructor(device: GPUDevice, adapter: AdapterSummary) {
    this.device = device;
    this.adapter = adapter;
    const { maxStorageBufferBindingSize: binding, maxBufferSize } = device.limits;
    this.maxTensorBytes = 4 * Math.floor(Math.min(binding, maxBufferSize) / 4);
    this.maxWorkgroupsPerDimension = device.limits.maxComputeWorkgroupsPerDimension;
    this.storage = new BufferPool(device, STORAGE_USAGE, this.maxTensorBytes);
    this.readback = new BufferPool(device, READBACK_USAGE, 4 * Math.floor(maxBufferSize / 4));
    device.lost.then((info) => {
      if (info.reason === 'destroyed' && this.destroyed) return;
      this.lostMessage = `GPU device lost (${info.reason}): ${info.message}`;
      console.error(this.lostMessage);
    });
    device.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      if (!this.firstError) this.firstError = msg;
      console.error(`WebGPU error: ${msg}`);
    });
  }

  private destroyed = false;

  static async create(opts: { dawnOptions?: string[]; limits?: DeviceLimits } = {}): Promise<Engine> {
    const { device, adapter } = await acquireDevice(opts);
    return new Engine(device, adapter);
  }

  private checkAlive(): void {
    if (this.destroyed) throw new Error('The engine was destroyed; call initEngine() again');
    if (this.lostMessage) throw new Error(this.lostMessage);
  }

  /** Throws the first WebGPU validation error seen since the last check (they are reported asynchronously). */
  private checkErrors(): void {
    if (this.firstError) {
      const msg = this.firstError;
      this.firstError = null;
      throw new Error(`WebGPU reported an error: ${msg}`);
    }
  }

  pipeline(kernel: Kernel): GPUComputePipeline {
    const key = pipelineKey(kernel);
    let p = this.pipelines.get(key);
    if (p) return p;
    p = this.device.createComputePipeline(this.pipelineDescriptor(kernel));
    this.pipelines.set(key, p);
    return p;
  }

  /** The descriptor of a kernel's pipeline: its shader with the substitutions made, entry point and constants. */
  private pipelineDescriptor(kernel: Kernel): GPUComputePipelineDescriptor {
    const entry = kernel.entry ?? 'main';
    let code = SHADERS[kernel.shader];
    if (code === undefined) throw new Error(`Unknown shader "${kernel.shader}" (no shaders/${kernel.shader}.wgsl)`);
    for (const [name, text] of Object.entries(kernel.subs ?? {})) code = code.split(`{{${name}}}`).join(text);
    const missing = code.match(/\{\{(\w+)\}\}/);
    if (missing) throw new Error(`Shader "${kernel.shader}" needs a substitution for {{${missing[1]}}}`);
    const module = this.device.createShaderModule({ code, label: kernel.shader });
    // WGSL bool overrides are passed as numbers (0/1); Dawn's Node bindings reject JS booleans.
    const constants = kernel.constants
      ? Object.fromEntries(
          Object.entries(kernel.constants).map(([k, v]) => [k, typeof v === 'boolean' ? Number(v) : v]),
        )
      : undefined;
    return { layout: 'auto', label: `${kernel.shader}:${entry}`, compute: { module, entryPoint: entry, constants } };
  }

  /** Kernels of the launches recorded inside `captureKernels`, by pipeline key; null when not capturing. */
  private captured: Map<string, Kernel> | null = null;

  /**
   * Runs `record` (synchronous) with launches captured instead of recorded: no pipeline is created and nothing is
   * dispatched, and a read-back inside it fails. Returns the kernels of its launches whose pipelines are not made yet
   * (once each), for `precompile`. The buffers `record` allocates and writes are real, but what its launches would
   * have computed is not there: run it on scratch tensors (a copy of a model), never on state to keep.
   */
  captureKernels(record: () => void): Kernel[] {
    if (this.captured) throw new Error('captureKernels: already capturing');
    this.captured = new Map();
    try {
      record();
      return [...this.captured.values()];
    } finally {
      this.captured = null;
    }
  }

  /**
   * Compiles the pipelines of `kernels` not made yet with createComputePipelineAsync, all at once, and adds them to
   * the cache that launches take their pipelines from; `onProgress(done, total)` is called at the start and as each
   * one finishes. Rejects, naming the kernel, when one does not compile.
   */
  async precompile(kernels: readonly Kernel[], onProgress?: (done: number, total: number) => void): Promise<void> {
    this.checkAlive();
    const todo = new Map<string, Kernel>();
    for (const k of kernels) if (!this.pipelines.has(pipelineKey(k))) todo.set(pipelineKey(k), k);
    let done = 0;
    onProgress?.(0, todo.size);
    await Promise.all(
      [...todo].map(async ([key, kernel]) => {
        let p: GPUComputePipeline;
        try {
          p = await this.device.createComputePipelineAsync(this.pipelineDescriptor(kernel));
        } catch (e) {
          const why = (e as Error).message;
          throw new Error(`precompile: the pipeline of ${kernelLabel(kernel)} did not compile: ${why}`, { cause: e });
        }
        if (!this.pipelines.has(key)) this.pipelines.set(key, p); // a launch in the meantime may have made it
        onProgress?.(++done, todo.size);
      }),
    );
  }

  /**
   * The bind group of a launch: the uniform slot at binding 0, the storage buffers from binding 1. A training step
   * records the same launches in the same order every time — same pipelines, same uniform offsets (the uniform
   * chunks restart at each submit), same pooled buffers — so bind groups are cached by exactly those and made once
   * (creating one costs more host time than the rest of a launch). The cache is emptied when pooled buffers are
   * destroyed (trimPool) and when it grows past `bindGroupCacheSize` entries.
   */
  private bindGroup(pipeline: GPUComputePipeline, slot: GPUBufferBinding, buffers: GPUBuffer[]): GPUBindGroup {
    let key = `${this.objectId(pipeline)} ${this.objectId(slot.buffer)} ${slot.offset} ${slot.size}`;
    for (const b of buffers) key += ` ${this.objectId(b)}`;
    let group = this.bindGroups.get(key);
    if (group) {
      this.counters.bindGroupHits++;
      return group;
    }
    let layout = this.layouts.get(pipeline);
    if (!layout) {
      layout = pipeline.getBindGroupLayout(0);
      this.layouts.set(pipeline, layout);
    }
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: slot }];
    buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    group = this.device.createBindGroup({ layout, entries });
    if (this.bindGroups.size >= this.bindGroupCacheSize) this.bindGroups.clear();
    this.bindGroups.set(key, group);
    return group;
  }

  /** Most bind groups kept for reuse (see bindGroup). */
  bindGroupCacheSize = 8192;
  private bindGroups = new Map<string, GPUBindGroup>();
  private layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  private ids = new WeakMap<object, number>();
  private nextId = 1;

  private objectId(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  /** Allocates a storage buffer of at least `bytes` from the pool. Contents are undefined. */
  alloc(bytes: number): GPUBuffer {
    this.checkAlive();
    return this.storage.acquire(Math.max(4, bytes));
  }

  free(buf: GPUBuffer): void {
    if (this.destroyed) return;
    this.markWritten(buf); // whoever gets it from the pool next will write it
    const derived = this.derivedOf.get(buf);
    if (derived) {
      this.derivedOf.delete(buf);
      for (const d of derived.values()) this.releaseDerived(d);
    }
    this.storage.release(buf);
  }

  // ------------------------------------------------------------ derived buffers

  /** Ticks once per write the engine records; `lastWrite` holds each buffer's tick of its latest write. */
  private writeClock = 0;
  private lastWrite = new WeakMap<GPUBuffer, number>();
  /** Derived buffers by source buffer, then by key (see `derived`). */
  private derivedOf = new Map<GPUBuffer, Map<string, { buffer: GPUBuffer; bytes: number; madeAt: number }>>();

  private derivedBytes = 0;
  private derivedBuffers = 0;

  private releaseDerived(d: { buffer: GPUBuffer }): void {
    this.derivedBuffers--;
    this.derivedBytes -= d.buffer.size;
    this.storage.release(d.buffer);
  }

  private markWritten(buf: GPUBuffer): void {
    this.lastWrite.set(buf, ++this.writeClock);
  }

  /** Whether `derived(source, key, bytes, …)` would find its buffer fresh (without counting a hit). */
  derivedFresh(source: GPUBuffer, key: string, bytes: number): boolean {
    const d = this.derivedOf.get(source)?.get(key);
    return d !== undefined && d.bytes === bytes && d.madeAt > (this.lastWrite.get(source) ?? 0);
  }

  /**
   * A buffer computed from the contents of `source` by `make` (which records the launches that write `out`), kept
   * and handed out again while nothing has written to `source` since it was made — e.g. a conv weight packed for
   * the gather kernel, packed once per optimizer step instead of once per use. The engine sees every write: a
   * launch writes the buffers it binds where the shader declares a read_write variable (WRITTEN_BINDINGS), and
   * `write`, `copy` and `free` write their target. A stale buffer is remade in place (launches recorded earlier
   * still read the old contents: the GPU runs them in order). `key` names what is derived (its layout and
   * shape); the engine owns the buffer, which lives until `source` is freed. Not kept while capturing kernels.
   */
  derived(source: GPUBuffer, key: string, bytes: number, make: (out: GPUBuffer) => void): GPUBuffer {
    this.checkAlive();
    let byKey = this.derivedOf.get(source);
    if (!byKey) this.derivedOf.set(source, (byKey = new Map()));
    let d = byKey.get(key);
    if (d && d.bytes !== bytes) {
      this.releaseDerived(d);
      byKey.delete(key);
      d = undefined;
    }
    if (!d) {
      d = { buffer: this.storage.acquire(Math.max(4, bytes)), bytes, madeAt: -1 };
      this.derivedBuffers++;
      this.derivedBytes += d.buffer.size;
      byKey.set(key, d);
    }
    if (d.madeAt > (this.lastWrite.get(source) ?? 0)) {
      this.counters.derivedHits++;
      return d.buffer;
    }
    make(d.buffer);
    // A captured launch does not run, so what it "made" must be made again by the first real use.
    d.madeAt = this.captured ? -1 : ++this.writeClock;
    return d.buffer;
  }

  /** Records one kernel launch. Nothing runs until the next submit. */
  launch(kernel: Kernel, l: Launch): void {
    this.checkAlive();
    const [x, y, z] = l.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    if (l.params.shader !== kernel.shader) {
      throw new Error(
        `launch: parameters written for shaders/${l.params.shader}.wgsl given to shaders/${kernel.shader}.wgsl`,
      );
    }
    // Dawn would reject the dispatch only when the commands are submitted, as an uncaptured validation error
    const most = this.maxWorkgroupsPerDimension;
    if (x > most || y > most || z > most)
      throw new Error(
        `launch: shaders/${kernel.shader}.wgsl on a grid of ${x}×${y}×${z} workgroups; a dispatch takes at most ${most} in each dimension (the caller splits larger grids)`,
      );
    if (this.captured) {
      const key = pipelineKey(kernel);
      if (!this.pipelines.has(key)) this.captured.set(key, kernel);
      return;
    }
    for (const b of WRITTEN_BINDINGS[kernel.shader]) if (b <= l.buffers.length) this.markWritten(l.buffers[b - 1]);
    const pipeline = this.pipeline(kernel);
    const slot = this.uniformSlot(l.params.data);
    const bindGroup = this.bindGroup(pipeline, slot, l.buffers);
    if (this.profiler) {
      this.profiledDispatch(kernel, pipeline, bindGroup, x, y, z);
    } else {
      const pass = this.computePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
    }
    this.pending++;
    this.counters.dispatches++;
    this.onLaunch?.(kernel, l.workgroups);
    if (this.pending >= this.maxDispatchesPerSubmit) this.submit();
  }

  /** In profiling mode every launch gets its own pass with GPU timestamps at its start and end. */
  private profiledDispatch(
    kernel: Kernel,
    pipeline: GPUComputePipeline,
    bindGroup: GPUBindGroup,
    x: number,
    y: number,
    z: number,
  ): void {
    const p = this.profiler!;
    if (p.labels.length === p.capacity) this.submit();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    const i = p.labels.length;
    const pass = this.encoder.beginComputePass({
      timestampWrites: { querySet: p.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    p.labels.push(kernelLabel(kernel));
  }

  /**
   * Starts timing every kernel launch on the GPU (timestamp queries; needs the adapter's 'timestamp-query'
   * feature). Each launch then runs in its own compute pass, so profiled runs are a little slower.
   */
  startProfiling(capacity = 2048): void {
    if (!this.device.features.has('timestamp-query'))
      throw new Error(
        `Profiling needs the 'timestamp-query' feature, which adapter ${this.adapter.slug} does not offer`,
      );
    this.submit();
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    const resolve = this.device.createBuffer({
      size: 16 * capacity,
      usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */,
    });
    this.profiler = { querySet, resolve, capacity, labels: [], reads: [], totals: new Map() };
  }

  /** Whether startProfiling() is in effect. */
  get profiling(): boolean {
    return this.profiler !== null;
  }

  /** Stops profiling; returns per-kernel GPU time (sorted, largest first) since startProfiling(). */
  async stopProfiling(): Promise<KernelTime[]> {
    const p = this.profiler;
    if (!p) throw new Error('stopProfiling(): profiling was not started');
    this.submit();
    this.profiler = null;
    await Promise.all(p.reads);
    p.querySet.destroy();
    p.resolve.destroy();
    return [...p.totals].map(([kernel, t]) => ({ kernel, ms: t.ms, launches: t.launches })).sort((a, b) => b.ms - a.ms);
  }

  /** The two timestamps of timeGpu, and the buffer they are resolved into (made on first use). */
  private span: { querySet: GPUQuerySet; resolve: GPUBuffer } | null = null;

  /**
   * GPU milliseconds from before to after what `record` launches: one timestamp written before it and one after,
   * each as the end of an empty compute pass (the end of a pass waits for the work recorded before it), in the
   * same submission. Null where the adapter has no timestamp queries or a profile is being recorded (use the wall
   * clock there). One pair of timestamps however many launches `record` makes: where the clock is coarse (Chrome
   * rounds GPU timestamps to 100 µs; Dawn in Node to 65.5 µs unless told not to, see gpu.ts) a caller times enough
   * runs at once that the rounding is small beside the span. Work recorded before the call is submitted first;
   * wait for it (sync) first for a clean span.
   */
  async timeGpu(record: () => void): Promise<number | null> {
    this.checkAlive();
    if (!this.device.features.has('timestamp-query') || this.profiler || this.captured) return null;
    this.submit();
    if (!this.span) {
      this.span = {
        querySet: this.device.createQuerySet({ type: 'timestamp', count: 2 }),
        resolve: this.device.createBuffer({ size: 16, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */ }),
      };
    }
    const { querySet, resolve } = this.span;
    const stamp = (index: number): GPUCommandEncoder => {
      if (!this.encoder) this.encoder = this.device.createCommandEncoder();
      if (this.pass) {
        this.pass.end();
        this.pass = null;
      }
      this.encoder.beginComputePass({ timestampWrites: { querySet, endOfPassWriteIndex: index } }).end();
      return this.encoder;
    };
    stamp(0);
    record();
    const encoder = stamp(1);
    const staging = this.device.createBuffer({ size: 16, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */ });
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, staging, 0, 16);
    this.submit();
    try {
      await staging.mapAsync(0x01 /* GPUMapMode.READ */);
      const [start, end] = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return end! > start! ? Number(end! - start!) / 1e6 : 0;
    } finally {
      staging.destroy();
      this.checkAlive();
      this.checkErrors();
    }
  }

  /** Resolves the timestamps recorded so far into a readback that is accumulated when it lands. */
  private collectProfile(): void {
    const p = this.profiler;
    if (!p || p.labels.length === 0 || !this.encoder) return;
    const n = p.labels.length;
    const labels = p.labels;
    p.labels = [];
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder.resolveQuerySet(p.querySet, 0, 2 * n, p.resolve, 0);
    const staging = this.device.createBuffer({ size: 16 * n, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */ });
    this.encoder.copyBufferToBuffer(p.resolve, 0, staging, 0, 16 * n);
    p.reads.push(
      (async () => {
        await this.device.queue.onSubmittedWorkDone();
        await staging.mapAsync(0x01);
        const ts = new BigUint64Array(staging.getMappedRange().slice(0));
        staging.unmap();
        staging.destroy();
        labels.forEach((label, i) => {
          const ms = Number(ts[2 * i + 1] - ts[2 * i]) / 1e6;
          const t = p.totals.get(label) ?? { ms: 0, launches: 0 };
          t.ms += ms > 0 ? ms : 0;
          t.launches++;
          p.totals.set(label, t);
        });
      })(),
    );
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  private uniformSlot(params: ArrayBuffer): GPUBufferBinding {
    const bytes = Math.ceil(Math.max(params.byteLength, 16) / UNIFORM_SLOT) * UNIFORM_SLOT;
    if (bytes > UNIFORM_CHUNK) throw new Error(`Kernel parameter block of ${params.byteLength} bytes is too large`);
    let chunkIndex = Math.floor(this.uniformUsed / UNIFORM_CHUNK);
    let offset = this.uniformUsed % UNIFORM_CHUNK;
    if (offset + bytes > UNIFORM_CHUNK) {
      chunkIndex++;
      offset = 0;
    }
    while (this.uniformChunks.length <= chunkIndex) {
      this.uniformChunks.push({
        buffer: this.device.createBuffer({ size: UNIFORM_CHUNK, usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */ }),
        shadow: new Uint8Array(UNIFORM_CHUNK),
      });
    }
    const chunk = this.uniformChunks[chunkIndex];
    chunk.shadow.set(new Uint8Array(params), offset);
    this.uniformUsed = chunkIndex * UNIFORM_CHUNK + offset + bytes;
    return { buffer: chunk.buffer, offset, size: Math.max(params.byteLength, 16) };
  }

  /** Submits everything recorded so far. */
  submit(): void {
    if (!this.encoder) return;
    this.collectProfile();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.flushUniforms();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.counters.submits++;
  }

  private flushUniforms(): void {
    const used = this.uniformUsed;
    for (let c = 0; c * UNIFORM_CHUNK < used; c++) {
      const n = Math.min(UNIFORM_CHUNK, used - c * UNIFORM_CHUNK);
      const chunk = this.uniformChunks[c];
      this.device.queue.writeBuffer(chunk.buffer, 0, chunk.shadow, 0, n);
    }
    this.uniformUsed = 0;
  }

  /** Uploads data into a buffer, after everything already recorded (so pooled buffers are never overwritten early). */
  write(buffer: GPUBuffer, data: Float32Array, byteOffset = 0): void {
    this.checkAlive();
    this.submit();
    this.markWritten(buffer);
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }

  /** Records a buffer-to-buffer copy (ends the current compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkAlive();
    if (bytes === 0) return;
    this.markWritten(dst);
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.counters.copies++;
  }

  /** Reads `bytes` bytes of a buffer back to the CPU. Submits pending work first. */
  async read(buffer: GPUBuffer, byteOffset: number, bytes: number): Promise<Float32Array> {
    this.checkAlive();
    if (this.captured) throw new Error('read: a read-back inside captureKernels (its launches do not run)');
    if (this.beforeWait) await this.beforeWait();
    if (bytes === 0) return new Float32Array(0);
    const staging = this.readback.acquire(bytes);
    this.copy(buffer, byteOffset, staging, 0, bytes);
    this.submit();
    try {
      await staging.mapAsync(0x01 /* GPUMapMode.READ */, 0, staging.size);
      const out = new Float32Array(staging.getMappedRange(0, staging.size).slice(0, bytes));
      staging.unmap();
      return out;
    } catch (e) {
      this.checkAlive();
      this.checkErrors();
      throw e;
    } finally {
      this.readback.release(staging);
      this.checkErrors();
    }
  }

  /** Waits until the GPU has finished all submitted work (used by benchmarks). */
  async sync(): Promise<void> {
    if (this.beforeWait) await this.beforeWait();
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.checkAlive();
    this.checkErrors();
  }

  stats(): EngineStats {
    return {
      pipelines: this.pipelines.size,
      dispatches: this.counters.dispatches,
      copies: this.counters.copies,
      submits: this.counters.submits,
      bindGroupHits: this.counters.bindGroupHits,
      inUseBytes: this.storage.inUseBytes - this.derivedBytes,
      inUseBuffers: this.storage.inUseBuffers - this.derivedBuffers,
      derivedBytes: this.derivedBytes,
      derivedBuffers: this.derivedBuffers,
      derivedHits: this.counters.derivedHits,
      pooledBytes: this.storage.pooledBytes,
    };
  }

  /** Releases pooled buffers back to the driver. */
  trimPool(): void {
    this.bindGroups.clear(); // they may hold buffers about to be destroyed
    this.storage.trim();
    this.readback.trim();
  }

  destroy(): void {
    this.destroyed = true;
    this.device.destroy();
  }
}

interface Profiler {
  querySet: GPUQuerySet;
  resolve: GPUBuffer;
  capacity: number;
  labels: string[];
  reads: Promise<void>[];
  totals: Map<string, { ms: number; launches: number }>;
}

export interface KernelTime {
  kernel: string;
  ms: number;
  launches: number;
}

/**
 * The pipeline cache's key of a kernel: shader, entry, substitutions and constants, joined by control characters that
 * WGSL text cannot contain (so no two kernels share a key). Built on every launch: plain concatenation, no JSON.
 */
function pipelineKey(k: Kernel): string {
  let key = k.shader + '\u0001' + (k.entry ?? 'main');
  if (k.subs) for (const name in k.subs) key += '\u0002' + name + '\u0003' + k.subs[name];
  if (k.constants) for (const name in k.constants) key += '\u0004' + name + '\u0003' + String(k.constants[name]);
  return key;
}

/** A readable name for a launch: shader, entry point, and the op expression of templated shaders. */
export function kernelLabel(k: Kernel): string {
  let label = k.shader + (k.entry && k.entry !== 'main' ? `:${k.entry}` : '');
  const expr = k.subs && (k.subs.EXPR ?? k.subs.GRAD ?? k.subs.COMBINE);
  if (expr) label += `(${expr.length > 24 ? expr.slice(0, 24) + '…' : expr})`;
  return label;
}

/** Workgroup grid for `n` items with `perGroup` items per workgroup, spilling into y past 65535 groups. */
export function grid1d(n: number, perGroup: number): [number, number, number] {
  const groups = Math.ceil(n / perGroup);
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}

/**
 * Elements per invocation of the elementwise kernels (unary, unary_backward, binary, batchnorm's normalize and
 * backward_dx; their WGSL `override PER`), strided by the workgroup size of 256. On a CPU adapter each workgroup
 * costs about a microsecond to schedule: the kernel guide times relu forward with 8 per invocation against 1
 * (docs/kernels/01-elementwise.md, relu-per1).
 */
export const ELEMENTS_PER_INVOCATION = 8;

/** The grid of an elementwise kernel over n elements (256 invocations × ELEMENTS_PER_INVOCATION per workgroup). */
export function elementwiseGrid(n: number): [number, number, number] {
  return grid1d(n, 256 * ELEMENTS_PER_INVOCATION);
}

let current: Engine | null = null;

/**
 * Creates (once) the global engine every tensor op uses and returns it. `initEngine` (./init.ts, one layer up)
 * calls this and then lets the autotuner time the conv kernels on a real GPU.
 */
export async function startEngine(opts: { dawnOptions?: string[]; limits?: DeviceLimits } = {}): Promise<Engine> {
  current ??= await Engine.create(opts);
  return current;
}

/**
 * Uses an existing device (e.g. one a browser app already holds). `adapter.subgroupSize` is taken as given: make it
 * null, or check it with gpu.ts's probeSubgroupSize, since the conv kernels that share loads rely on it.
 */
export function useDevice(device: GPUDevice, adapter: AdapterSummary): Engine {
  current = new Engine(device, adapter);
  return current;
}

export function engine(): Engine {
  if (!current) throw new Error('No GPU engine: call `await initEngine()` before using tensors');
  return current;
}

export function hasEngine(): boolean {
  return current !== null;
}

export function destroyEngine(): void {
  current?.destroy();
  current = null;
}
