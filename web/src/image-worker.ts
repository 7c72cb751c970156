/**
 * A Worker that decodes picked image files and shrinks them, so that a large photo does not hold the page's thread
 * (a 10000×10000 JPEG took about 10 s to decode and 8 s to shrink there). web/src/image-jobs.ts is its other end.
 *
 * Jobs (each answered once, by its id, with an image or the error's message):
 * - decode: the file decoded (decodeImage: its declared size checked first), then, with `square`, cropped and resized
 *   as a folder's images are (squareAt). With `keep`, the worker keeps the decoded image under the job's id for
 *   later resizes and moves a copy of it to the page; otherwise the image's pixels themselves move to the page.
 * - resize: a kept image at width × height (bilinearResize, as runStyleTransfer does it); null if not kept.
 * - forget: drops a kept image (no answer).
 */
import { bilinearResize, squareAt, type RgbaImage } from '../../src/io/image.ts';
import { decodeImage } from './decode.ts';

export type ImageJob =
  | { id: number; op: 'decode'; blob: Blob; name: string; maxPixels?: number; square?: number; keep?: boolean }
  | { id: number; op: 'resize'; key: number; width: number; height: number }
  | { id: number; op: 'forget'; key: number };

export type ImageReply = { id: number; image: RgbaImage | null } | { id: number; error: string };

/** The worker's global scope, as far as it is used here (the DOM typings this project builds with lack it). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<ImageJob>) => void) | null;
  postMessage(message: ImageReply, transfer?: Transferable[]): void;
  /** The jobs this worker has done, by kind (the e2e test reads it to see where the work was done). */
  jobs: Record<'decode' | 'resize', number>;
};
scope.jobs = { decode: 0, resize: 0 };

const kept = new Map<number, RgbaImage>();

async function run(job: ImageJob): Promise<{ image: RgbaImage | null; move: boolean }> {
  switch (job.op) {
    case 'decode': {
      let image = await decodeImage(job.blob, job.name, job.maxPixels);
      if (job.square !== undefined) image = squareAt(image, job.square);
      if (!job.keep) return { image, move: true };
      // kept here; the page gets a copy made here and moved, so that its thread does not copy it again
      kept.set(job.id, image);
      return { image: { ...image, rgba: image.rgba.slice() }, move: true };
    }
    case 'resize': {
      const image = kept.get(job.key);
      return { image: image ? bilinearResize(image, job.width, job.height) : null, move: true };
    }
    case 'forget':
      kept.delete(job.key);
      return { image: null, move: false };
  }
}

scope.onmessage = async ({ data: job }) => {
  try {
    const { image, move } = await run(job);
    if (job.op === 'forget') return;
    scope.jobs[job.op]++;
    scope.postMessage({ id: job.id, image }, move && image ? [image.rgba.buffer] : []);
  } catch (e) {
    if (job.op === 'decode') kept.delete(job.id); // a copy that could not be sent: the page never gets its key
    scope.postMessage({ id: job.id, error: (e as Error).message ?? String(e) });
  }
};
