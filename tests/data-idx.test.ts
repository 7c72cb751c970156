import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIdx, idxToDataset, isGzip, parseIdx, parseIdxUncompressed } from '../src/data/idx.ts';

/** Writes an IDX file by hand (independently of encodeIdx): header, then big-endian elements via `put`. */
function handMadeIdx(
  typeCode: number,
  shape: number[],
  bytesPerElement: number,
  put: (view: DataView, offset: number, index: number) => void,
): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * bytesPerElement);
  const view = new DataView(out.buffer);
  out[2] = typeCode;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) put(view, header + i * bytesPerElement, i);
  return out;
}

/** Two 2x3 "images" with pixel values 0, 10, ..., 110 (u8), like a tiny MNIST images file. */
const imageBytes = handMadeIdx(0x08, [2, 2, 3], 1, (v, at, i) => v.setUint8(at, i * 10));
const labelBytes = handMadeIdx(0x08, [2], 1, (v, at, i) => v.setUint8(at, [7, 3][i]!));

describe('parseIdx', () => {
  it('reads a raw u8 images file: shape and values', async () => {
    const parsed = await parseIdx(imageBytes, 'images.idx');
    expect(parsed.type).toBe('u8');
    expect(parsed.shape).toEqual([2, 2, 3]);
    expect(parsed.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(parsed.data)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
  });

  it('detects gzip by its magic bytes and decompresses it', async () => {
    const gz = new Uint8Array(gzipSync(imageBytes));
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(imageBytes)).toBe(false);
    const parsed = await parseIdx(gz, 'images.idx.gz');
    expect(parsed.shape).toEqual([2, 2, 3]);
    expect(Array.from(parsed.data)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
  });

  it('reads every element type big-endian', async () => {
    const i8 = await parseIdx(handMadeIdx(0x09, [3], 1, (v, at, i) => v.setInt8(at, [-128, -1, 127][i]!)));
    expect(i8.type).toBe('i8');
    expect(Array.from(i8.data)).toEqual([-128, -1, 127]);

    const i16 = await parseIdx(handMadeIdx(0x0b, [3], 2, (v, at, i) => v.setInt16(at, [-300, 258, 32767][i]!, false)));
    expect(i16.type).toBe('i16');
    expect(i16.data).toBeInstanceOf(Int16Array);
    expect(Array.from(i16.data)).toEqual([-300, 258, 32767]);

    const i32 = await parseIdx(
      handMadeIdx(0x0c, [1, 2], 4, (v, at, i) => v.setInt32(at, [-70000, 16909060][i]!, false)),
    );
    expect(i32.type).toBe('i32');
    expect(i32.shape).toEqual([1, 2]);
    expect(Array.from(i32.data)).toEqual([-70000, 16909060]);

    const f32 = await parseIdx(handMadeIdx(0x0d, [2], 4, (v, at, i) => v.setFloat32(at, [1.5, -0.25][i]!, false)));
    expect(f32.type).toBe('f32');
    expect(Array.from(f32.data)).toEqual([1.5, -0.25]);

    const f64 = await parseIdx(handMadeIdx(0x0e, [2], 8, (v, at, i) => v.setFloat64(at, [Math.PI, -1e300][i]!, false)));
    expect(f64.type).toBe('f64');
    expect(Array.from(f64.data)).toEqual([Math.PI, -1e300]);
  });

  it('reads input that is a view into a larger buffer (non-zero byteOffset)', async () => {
    const padded = new Uint8Array(imageBytes.length + 7);
    padded.set(imageBytes, 7);
    const parsed = await parseIdx(padded.subarray(7), 'view');
    expect(Array.from(parsed.data).slice(0, 3)).toEqual([0, 10, 20]);
  });

  it('encodeIdx writes what a hand-made file holds', () => {
    expect(
      Array.from(
        encodeIdx(
          'u8',
          [2, 2, 3],
          Array.from({ length: 12 }, (_, i) => i * 10),
        ),
      ),
    ).toEqual(Array.from(imageBytes));
    const i16 = encodeIdx('i16', [3], [-300, 258, 32767]);
    expect(Array.from(parseIdxUncompressed(i16).data)).toEqual([-300, 258, 32767]);
    expect(() => encodeIdx('u8', [2, 2], [1, 2, 3])).toThrow('shape [2, 2] holds 4 elements, but 3 values were given');
  });
});

describe('parseIdx errors', () => {
  it('wrong magic', async () => {
    const bad = imageBytes.slice();
    bad[0] = 0x50;
    bad[1] = 0x4b;
    await expect(parseIdx(bad, 'notes.zip')).rejects.toThrow(
      'notes.zip: not an IDX file: the magic number must start with 00 00, got 50 4b 08 03',
    );
  });

  it('too short for a header', async () => {
    await expect(parseIdx(new Uint8Array([0, 0]), 'tiny')).rejects.toThrow(
      'tiny: too short for an IDX header (expected at least 4 bytes, got 2)',
    );
  });

  it('unsupported type code', async () => {
    const bad = imageBytes.slice();
    bad[2] = 0x0a;
    await expect(parseIdx(bad, 'odd.idx')).rejects.toThrow('odd.idx: unsupported IDX element type code 0x0a');
  });

  it('truncated header', async () => {
    await expect(parseIdx(imageBytes.subarray(0, 10), 'cut.idx')).rejects.toThrow(
      'cut.idx: truncated IDX header: 3 dimensions need 16 header bytes, got 10',
    );
  });

  it('truncated data names expected and actual byte counts', async () => {
    await expect(parseIdx(imageBytes.subarray(0, imageBytes.length - 5), 'cut.idx')).rejects.toThrow(
      'cut.idx: truncated IDX data: shape [2, 2, 3] of u8 needs 12 bytes after the header, got 7',
    );
    const f32 = handMadeIdx(0x0d, [4], 4, (v, at) => v.setFloat32(at, 1, false));
    await expect(parseIdx(f32.subarray(0, f32.length - 1), 'f.idx')).rejects.toThrow(
      'f.idx: truncated IDX data: shape [4] of f32 needs 16 bytes after the header, got 15',
    );
  });

  it('trailing bytes', async () => {
    const long = new Uint8Array(imageBytes.length + 3);
    long.set(imageBytes);
    await expect(parseIdx(long, 'long.idx')).rejects.toThrow('long.idx: IDX file has 3 unexpected trailing bytes');
  });

  it('truncated gzip stream', async () => {
    const gz = new Uint8Array(gzipSync(imageBytes));
    await expect(parseIdx(gz.subarray(0, gz.length - 12), 'half.gz')).rejects.toThrow(
      'half.gz: gzip decompression failed',
    );
  });
});

describe('idxToDataset', () => {
  it('scales u8 pixels to [-1, 1] and attaches labels', async () => {
    const ds = idxToDataset(await parseIdx(imageBytes), await parseIdx(labelBytes), {
      imagesSource: 'img',
      labelsSource: 'lbl',
      name: 'tiny',
    });
    expect([ds.n, ds.c, ds.h, ds.w, ds.name]).toEqual([2, 1, 2, 3, 'tiny']);
    expect(Array.from(ds.labels!)).toEqual([7, 3]);
    expect(ds.images[0]).toBe(-1);
    expect(ds.images[11]).toBeCloseTo(110 / 127.5 - 1, 6);
  });

  it('label/image count mismatch names both files', async () => {
    const threeLabels = handMadeIdx(0x08, [3], 1, (v, at) => v.setUint8(at, 1));
    expect(() =>
      idxToDataset(parseIdxUncompressed(imageBytes), parseIdxUncompressed(threeLabels), {
        imagesSource: 'a-images.gz',
        labelsSource: 'a-labels.gz',
      }),
    ).toThrow('label/image count mismatch: a-labels.gz has 3 labels, but a-images.gz has 2 images');
  });

  it('rejects images that are not [N, H, W] u8', () => {
    const flat = handMadeIdx(0x08, [12], 1, () => {});
    expect(() => idxToDataset(parseIdxUncompressed(flat), undefined, { imagesSource: 'flat.idx' })).toThrow(
      'flat.idx: image IDX files must have 3 dimensions [N, H, W], got [12]',
    );
    const floats = handMadeIdx(0x0d, [1, 1, 1], 4, () => {});
    expect(() => idxToDataset(parseIdxUncompressed(floats), undefined, { imagesSource: 'f.idx' })).toThrow(
      'f.idx: image pixels must be u8 (type code 0x08), got f32',
    );
  });
});
