/**
 * GPU buffers reused by size class: a tensor's storage (and a read-back staging buffer) is taken from the pool
 * and given back on dispose, so a training step allocates nothing once the pool is warm.
 */

/** Rounds a byte size up to its pool size class: multiples of 256 B, then steps of 2^k·{1, 1.25, 1.5, 1.75}. */
export function sizeClass(bytes: number): number {
  if (bytes <= 4096) return Math.max(256, Math.ceil(bytes / 256) * 256);
  const k = Math.floor(Math.log2(bytes));
  const base = 2 ** k;
  for (const f of [1, 1.25, 1.5, 1.75, 2]) if (base * f >= bytes) return base * f;
  return base * 2;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  pooledBytes = 0;
  inUseBytes = 0;
  inUseBuffers = 0;

  /**
   * `maxSize`: the most bytes a buffer of this pool may have (a multiple of 4). A size class above it is capped to
   * it, so that a tensor that fits the device's largest storage binding gets a buffer that can still be bound whole
   * (the binding limit is often not a power of two: 2³¹ − 4, 2³² − 4).
   */
  constructor(
    private device: GPUDevice,
    private usage: number,
    private maxSize = Infinity,
  ) {}

  acquire(bytes: number): GPUBuffer {
    let size = sizeClass(bytes);
    if (size > this.maxSize && bytes <= this.maxSize) size = this.maxSize;
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) this.pooledBytes -= size;
    else buf = this.device.createBuffer({ size, usage: this.usage });
    this.inUseBytes += size;
    this.inUseBuffers++;
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.pooledBytes += size;
    this.inUseBytes -= size;
    this.inUseBuffers--;
  }

  /** Frees every pooled (unused) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
