/**
 * Decoding picked image files with the browser's decoders, DOM-free so that it runs in a Worker as well as on the
 * page (web/src/image-worker.ts runs it off the page's thread; web/src/image-jobs.ts sends it the work).
 */
import {
  checkDeclaredImageSize,
  declaredImageSize,
  DEFAULT_MAX_IMAGE_PIXELS,
  type RgbaImage,
} from '../../src/io/image.ts';

/**
 * Decodes an image file (PNG, JPEG, WebP, ...) with the browser's decoders. The size its header declares is checked
 * against `maxPixels` (100 megapixels, as the CLI's readImage) before the browser decodes it, so a small file that
 * declares a huge image (a decompression bomb) is refused without allocating its pixels; a format whose header is
 * not read here is checked after decoding.
 */
export async function decodeImage(
  blob: Blob,
  name = 'image',
  maxPixels = DEFAULT_MAX_IMAGE_PIXELS,
): Promise<RgbaImage> {
  // The header checks are the CLI's (src/io/image.ts), whose messages open with its function's name: the page
  // shows the file and the reason only.
  const pageWords = <T>(check: () => T): T => {
    try {
      return check();
    } catch (e) {
      throw new Error((e as Error).message.replace(/^readImage: /, ''), { cause: e });
    }
  };
  // A JPEG's frame header can follow large metadata segments; 1 MiB covers them in practice.
  const head = new Uint8Array(await blob.slice(0, 1 << 20).arrayBuffer());
  const declared = pageWords(() => declaredImageSize(head, name));
  if (declared)
    pageWords(() => checkDeclaredImageSize(declared.width, declared.height, name, declared.format, maxPixels));
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch (e) {
    throw new Error(`${name}: not an image this browser can decode (${(e as Error).message})`);
  }
  if (bitmap.width * bitmap.height > maxPixels) {
    const [w, h] = [bitmap.width, bitmap.height];
    bitmap.close();
    pageWords(() => checkDeclaredImageSize(w, h, name, blob.type || 'image', maxPixels));
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { width: data.width, height: data.height, rgba: data.data };
}
