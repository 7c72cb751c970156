/**
 * The page's end of web/src/image-worker.ts: decoding and shrinking picked images off the page's thread, so that the
 * page keeps drawing, counting and answering its buttons while a large photo or a folder of them is read. Where no
 * Worker can be started (or one fails), the same functions run on the page: slower to the eye, the same pixels.
 */
import { squareAt, type RgbaImage } from '../../src/io/image.ts';
import { decodeImage } from './decode.ts';
import type { ImageJob, ImageReply } from './image-worker.ts';

/** A job as sent, less its id (Omit taken of each kind of job). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Job = WithoutId<ImageJob>;

export interface DecodeOptions {
  /** The cap on the declared pixel count (decodeImage's, 100 megapixels, unless given). */
  maxPixels?: number;
  /** Crop to the centred square and resize to square × square (a folder's images: squareAt). */
  square?: number;
  /** Keep the decoded image in the worker for `resize` (the style page's photos). */
  keep?: boolean;
}

/** The replies made on the page's thread (no worker), for `offThread`. */
const onPage = new WeakSet<ImageReply>();

/** One worker (started at its first job) and the jobs sent to it, answered in any order by id. */
export class ImageWorker {
  /** undefined until the first job; null where none could start (or it failed): jobs then run on the page. */
  private worker: Worker | null | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { job: Job; done: (reply: ImageReply) => void }>();

  private started(): Worker | null {
    if (this.worker !== undefined) return this.worker;
    try {
      this.worker = new Worker(new URL('./image-worker.ts', import.meta.url), { type: 'module' });
    } catch {
      return (this.worker = null); // no workers here (or none from this origin): every job runs on the page
    }
    this.worker.onmessage = ({ data }: MessageEvent<ImageReply>) => {
      const entry = this.pending.get(data.id);
      this.pending.delete(data.id);
      entry?.done(data);
    };
    // A worker that could not load its script (or died) says so once; what it was given runs on the page instead.
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.worker?.terminate();
      this.worker = null;
      const left = [...this.pending.entries()];
      this.pending.clear();
      for (const [id, { job, done }] of left) void this.runHere(id, job).then(done);
    };
    return this.worker;
  }

  /**
   * The file decoded (and squared, with `square`), with the key it is kept under in the worker (`keep`; null when
   * not kept, or when it ran on the page). Rejects with the decoder's message, which names the file.
   */
  async decode(
    blob: Blob,
    name: string,
    options: DecodeOptions = {},
  ): Promise<{ image: RgbaImage; key: number | null; offThread: boolean }> {
    const id = this.nextId++;
    const reply = await this.send(id, { op: 'decode', blob, name, ...options });
    if ('error' in reply) throw new Error(reply.error);
    const offThread = !onPage.has(reply);
    return { image: reply.image!, key: options.keep && offThread ? id : null, offThread }; // a job run here keeps nothing
  }

  /** The image kept under `key` at width × height (bilinearResize's pixels), or null if the worker does not hold it. */
  async resize(key: number, width: number, height: number): Promise<RgbaImage | null> {
    const reply = await this.send(this.nextId++, { op: 'resize', key, width, height });
    if ('error' in reply) throw new Error(reply.error);
    return reply.image;
  }

  /** Lets the worker drop the image kept under `key`. */
  forget(key: number): void {
    this.worker?.postMessage({ id: this.nextId++, op: 'forget', key } satisfies ImageJob);
  }

  /** Ends the worker (a later job starts another). */
  terminate(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }

  private send(id: number, job: Job): Promise<ImageReply> {
    const worker = this.started();
    if (!worker) return this.runHere(id, job);
    return new Promise((done) => {
      this.pending.set(id, { job, done });
      worker.postMessage({ ...job, id } as ImageJob);
    });
  }

  /** A job done on the page's thread (no worker): nothing is kept, so a resize answers null. */
  private async runHere(id: number, job: Job): Promise<ImageReply> {
    if (job.op !== 'decode') return { id, image: null };
    let reply: ImageReply;
    try {
      const image = await decodeImage(job.blob, job.name, job.maxPixels);
      reply = { id, image: job.square === undefined ? image : squareAt(image, job.square) };
    } catch (e) {
      reply = { id, error: (e as Error).message };
    }
    onPage.add(reply);
    return reply;
  }
}

/**
 * Decodes files, each cropped and resized to size × size, on up to `workers` workers at once (one file each in
 * flight, so that no more than `workers` full-size photos are held at a time). `onEach(i, square)` gets each file's
 * image, or the error that refused it, as it ends (in any order: it keeps what it needs, nothing is held here).
 * Returns how many files were decoded off the page's thread. The workers end with it.
 */
export async function decodeSquares(
  files: { blob: Blob; name: string }[],
  size: number,
  workers: number,
  onEach: (i: number, square: RgbaImage | Error) => void,
): Promise<number> {
  const pool = Array.from({ length: Math.max(1, Math.min(workers, files.length)) }, () => new ImageWorker());
  let next = 0;
  let offThread = 0;
  try {
    await Promise.all(
      pool.map(async (worker) => {
        for (let i = next++; i < files.length; i = next++) {
          let square: RgbaImage | Error;
          try {
            const decoded = await worker.decode(files[i].blob, files[i].name, { square: size });
            square = decoded.image;
            if (decoded.offThread) offThread++;
          } catch (e) {
            square = e as Error;
          }
          onEach(i, square);
        }
      }),
    );
  } finally {
    for (const worker of pool) worker.terminate();
  }
  return offThread;
}
