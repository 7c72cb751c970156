import { describe, expect, it } from 'vitest';
import { decodeSafetensors, decodeSafetensorsMetadata, encodeSafetensors } from '../src/io/safetensors.ts';
import { bfloat16BitsToFloat, floatToBfloat16Bits, floatToHalfBits, halfBitsToFloat } from '../src/io/half.ts';

/** Builds a file by hand: 8-byte length, the header text (padded with spaces to 8), then the data bytes. */
function buildFile(header: unknown, data: number[] | Uint8Array, headerOverride?: string): Uint8Array {
  let text = headerOverride ?? JSON.stringify(header);
  while (text.length % 8 !== 0) text += ' ';
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(file: Uint8Array): { length: number; json: Record<string, any>; text: string } {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(file.subarray(8, 8 + length));
  return { length, json: JSON.parse(text), text };
}

describe('float16 / bfloat16 conversions', () => {
  it('match known bit patterns', () => {
    const halfCases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [0.5, 0x3800],
      [0, 0x0000],
      [-0, 0x8000],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [70000, 0x7c00], // overflow -> Inf
      [1 + 2 ** -11, 0x3c00], // tie rounds to even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie rounds to even (up)
      [2 ** -25, 0x0000], // exactly half the smallest subnormal: ties to even 0
      [1.5 * 2 ** -25, 0x0001],
      [0.1, 0x2e66],
    ];
    for (const [value, bits] of halfCases) {
      expect(floatToHalfBits(value), `f16 bits of ${value}`).toBe(bits);
    }
    for (const [value, bits] of halfCases.filter(
      ([v]) =>
        v !== 70000 &&
        v !== 1 + 2 ** -11 &&
        v !== 1 + 3 * 2 ** -11 &&
        v !== 2 ** -25 &&
        v !== 1.5 * 2 ** -25 &&
        v !== 0.1,
    )) {
      expect(Object.is(halfBitsToFloat(bits), value), `f16 value of 0x${bits.toString(16)}`).toBe(true);
    }
    expect(halfBitsToFloat(0x2e66)).toBeCloseTo(0.0999755859375, 12);
    expect(Number.isNaN(halfBitsToFloat(0x7e00))).toBe(true);
    expect(floatToHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalfBits(NaN) & 0x3ff).not.toBe(0);

    expect(floatToBfloat16Bits(1)).toBe(0x3f80);
    expect(floatToBfloat16Bits(-2)).toBe(0xc000);
    expect(floatToBfloat16Bits(3.140625)).toBe(0x4049);
    expect(bfloat16BitsToFloat(0x4049)).toBe(3.140625);
    expect(floatToBfloat16Bits(Math.fround(1 + 2 ** -8))).toBe(0x3f80); // tie to even
    expect(floatToBfloat16Bits(Math.fround(1 + 3 * 2 ** -8))).toBe(0x3f82);
    expect(Number.isNaN(bfloat16BitsToFloat(floatToBfloat16Bits(NaN)))).toBe(true);
  });

  it('every float16 pattern survives half -> float -> half', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const isSignalingNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0 && (bits & 0x200) === 0;
      // A JS number cannot hold a signaling NaN: the engine quiets it (sets the top mantissa bit).
      const expected = isSignalingNaN ? bits | 0x200 : bits;
      expect(floatToHalfBits(halfBitsToFloat(bits))).toBe(expected);
    }
  });
});

describe('safetensors', () => {
  it('decodes a hand-built file to known values', () => {
    // a: F32 [2] = [1, -2.5]; b: F16 [3] = [1, -2, 65504]; c: BF16 [1] = [1]; d: I64 [1] = [-1]; e: U8 [2,1] = [7, 255]
    const data = [
      0x00,
      0x00,
      0x80,
      0x3f,
      0x00,
      0x00,
      0x20,
      0xc0, // a (0..8)
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff, // d (8..16)
      0x00,
      0x3c,
      0x00,
      0xc0,
      0xff,
      0x7b, // b (16..22)
      0x80,
      0x3f, // c (22..24)
      0x07,
      0xff, // e (24..26)
    ];
    const file = buildFile(
      {
        __metadata__: { format: 'pt', note: 'hand made' },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        d: { dtype: 'I64', shape: [1], data_offsets: [8, 16] },
        b: { dtype: 'F16', shape: [3], data_offsets: [16, 22] },
        c: { dtype: 'BF16', shape: [1], data_offsets: [22, 24] },
        e: { dtype: 'U8', shape: [2, 1], data_offsets: [24, 26] },
      },
      data,
    );
    const { tensors, metadata } = decodeSafetensors(file);
    expect(metadata).toEqual({ format: 'pt', note: 'hand made' });
    expect([...tensors.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(tensors.get('a')!.data).toEqual(new Float32Array([1, -2.5]));
    expect(tensors.get('b')!.data).toEqual(new Float32Array([1, -2, 65504]));
    expect(tensors.get('b')!.bytes).toEqual(new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]));
    expect(tensors.get('c')!.data).toEqual(new Float32Array([1]));
    expect(tensors.get('d')!.data).toEqual(new BigInt64Array([-1n]));
    expect(tensors.get('e')!.data).toEqual(new Uint8Array([7, 255]));
    expect(tensors.get('e')!.shape).toEqual([2, 1]);
    expect(tensors.get('e')!.dtype).toBe('U8');
  });

  it('reads the metadata from the header alone', () => {
    const file = encodeSafetensors(
      { w: { dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) } },
      { step: '7' },
    );
    const truncated = file.subarray(0, file.length - 4); // the data is cut short, the header is whole
    expect(decodeSafetensorsMetadata(truncated)).toEqual({ step: '7' });
    expect(() => decodeSafetensors(truncated)).toThrow(/reach past the end of the data/);
    expect(() => decodeSafetensorsMetadata(file.subarray(0, 5))).toThrow(
      'safetensors: file is truncated: 5 bytes, too short for the 8-byte header length',
    );
  });

  it('decodes data that starts at an odd offset inside a larger buffer', () => {
    const inner = buildFile({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, [0x00, 0x00, 0x40, 0x40]);
    const outer = new Uint8Array(inner.length + 3);
    outer.set(inner, 3);
    const { tensors } = decodeSafetensors(outer.subarray(3));
    expect(tensors.get('x')!.data).toEqual(new Float32Array([3]));
  });

  it('round-trips bit-exactly, including NaN, -0, and every dtype', () => {
    const f32 = new Float32Array([
      0,
      -0,
      1.5,
      NaN,
      Infinity,
      -Infinity,
      1e-45,
      3.4028234663852886e38,
      -7.25,
      0.1,
      2,
      3,
    ]);
    const halfBits = new Uint16Array([0x0000, 0x8000, 0x0001, 0x3c00, 0x7bff, 0x7c00, 0x7e01, 0xfc00]);
    const tensors = {
      'conv.weight': { dtype: 'F32' as const, shape: [2, 3, 2], data: f32 },
      'b.f64': { dtype: 'F64' as const, shape: [3], data: new Float64Array([Math.PI, -0, 1e300]) },
      'half.bits': { dtype: 'F16' as const, shape: [8], data: halfBits },
      'half.floats': { dtype: 'F16' as const, shape: [2, 2], data: new Float32Array([1, -2, 0.333251953125, 65504]) },
      bf16: { dtype: 'BF16' as const, shape: [3], data: new Float32Array([1, -3.140625, 0]) },
      steps: { dtype: 'I64' as const, shape: [2], data: new BigInt64Array([-(2n ** 62n), 12345678901234n]) },
      u64: { dtype: 'U64' as const, shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
      i32: { dtype: 'I32' as const, shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
      u32: { dtype: 'U32' as const, shape: [1], data: new Uint32Array([4294967295]) },
      i16: { dtype: 'I16' as const, shape: [2], data: new Int16Array([-32768, 32767]) },
      u16: { dtype: 'U16' as const, shape: [1], data: new Uint16Array([65535]) },
      i8: { dtype: 'I8' as const, shape: [2], data: new Int8Array([-128, 127]) },
      u8: { dtype: 'U8' as const, shape: [1, 3], data: new Uint8Array([0, 128, 255]) },
      mask: { dtype: 'BOOL' as const, shape: [3], data: new Uint8Array([1, 0, 1]) },
      empty: { dtype: 'F32' as const, shape: [0, 4], data: new Float32Array(0) },
      scalar: { dtype: 'F32' as const, shape: [], data: new Float32Array([42]) },
    };
    const file = encodeSafetensors(tensors, { epoch: '3', arch: 'dcgan' });
    const { length, text, json } = headerOf(file);
    expect(length % 8).toBe(0);
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(json.__metadata__).toEqual({ epoch: '3', arch: 'dcgan' });
    // Each tensor begins at a multiple of its element size in the file.
    const sizes: Record<string, number> = {
      F64: 8,
      F32: 4,
      F16: 2,
      BF16: 2,
      I64: 8,
      U64: 8,
      I32: 4,
      U32: 4,
      I16: 2,
      U16: 2,
      I8: 1,
      U8: 1,
      BOOL: 1,
    };
    for (const [name, entry] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      expect((8 + length + entry.data_offsets[0]) % sizes[entry.dtype]!, name).toBe(0);
    }

    const decoded = decodeSafetensors(file);
    expect(decoded.metadata).toEqual({ epoch: '3', arch: 'dcgan' });
    expect(decoded.tensors.size).toBe(Object.keys(tensors).length);
    const bitsOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (const [name, t] of Object.entries(tensors)) {
      const got = decoded.tensors.get(name)!;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      if (t.dtype === 'F16' || t.dtype === 'BF16') continue;
      expect(bitsOf(got.data), name).toEqual(bitsOf(t.data));
    }
    expect(decoded.tensors.get('half.bits')!.bytes).toEqual(bitsOf(halfBits));
    expect(decoded.tensors.get('half.floats')!.data).toEqual(new Float32Array([1, -2, 0.333251953125, 65504]));
    expect(decoded.tensors.get('bf16')!.data).toEqual(new Float32Array([1, -3.140625, 0]));

    // Re-encoding the decoded tensors reproduces the file byte for byte.
    const again: Record<string, any> = {};
    for (const [name, t] of decoded.tensors) {
      again[name] = {
        dtype: t.dtype,
        shape: t.shape,
        data: t.dtype === 'F16' || t.dtype === 'BF16' ? new Uint16Array(t.bytes.slice().buffer) : t.data,
      };
    }
    expect(encodeSafetensors(again, decoded.metadata)).toEqual(file);
  });

  it('writes tensors of one element size in sorted-name order with contiguous offsets', () => {
    const file = encodeSafetensors({
      zeta: { dtype: 'F32', shape: [1], data: new Float32Array([3]) },
      alpha: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
      mid: { dtype: 'I32', shape: [1], data: new Int32Array([9]) },
    });
    const { json, length } = headerOf(file);
    expect(json.alpha.data_offsets).toEqual([0, 8]);
    expect(json.mid.data_offsets).toEqual([8, 12]);
    expect(json.zeta.data_offsets).toEqual([12, 16]);
    expect(json.__metadata__).toBeUndefined();
    expect(file.length).toBe(8 + length + 16);
    expect(new Float32Array(file.slice(8 + length, 8 + length + 8).buffer)).toEqual(new Float32Array([1, 2]));
  });

  describe('errors', () => {
    const good = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const eightBytes = new Array(8).fill(0);

    it('truncated file', () => {
      expect(() => decodeSafetensors(new Uint8Array(5))).toThrow(/truncated: 5 bytes/);
    });
    it('header length beyond the file', () => {
      const file = buildFile(good, eightBytes);
      new DataView(file.buffer).setBigUint64(0, BigInt(file.length), true);
      expect(() => decodeSafetensors(file)).toThrow(/header length \d+ reaches beyond the end of the file/);
      new DataView(file.buffer).setBigUint64(0, 2n ** 60n, true);
      expect(() => decodeSafetensors(file)).toThrow(/exceeds the 100000000-byte limit/);
    });
    it('bad JSON', () => {
      expect(() => decodeSafetensors(buildFile(null, eightBytes, '{"w": {"dtype": "F32",'))).toThrow(
        /header is not valid JSON/,
      );
      expect(() => decodeSafetensors(buildFile([1, 2], []))).toThrow(/must be an object/);
    });
    it('data truncated after the header: offsets outside the data', () => {
      const file = buildFile(good, eightBytes);
      expect(() => decodeSafetensors(file.subarray(0, file.length - 3))).toThrow(
        /tensor "w": "data_offsets" \[0, 8\] reach past the end of the data \(5 bytes\)/,
      );
    });
    it('overlapping offsets', () => {
      const file = buildFile(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        eightBytes,
      );
      expect(() => decodeSafetensors(file)).toThrow(/tensor "b" bytes \[4, 8\] overlap tensor "a" bytes \[0, 8\]/);
    });
    it('holes in the data', () => {
      const file = buildFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eightBytes);
      expect(() => decodeSafetensors(file)).toThrow(/bytes \[0, 4\] before tensor "a" belong to no tensor/);
      const trailing = buildFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, eightBytes);
      expect(() => decodeSafetensors(trailing)).toThrow(/data is 8 bytes but the tensors cover only 4/);
    });
    it('shape / byte-count mismatch', () => {
      const file = buildFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eightBytes);
      expect(() => decodeSafetensors(file)).toThrow(
        /tensor "w": shape \[3\] with dtype F32 needs 12 bytes, but "data_offsets" \[0, 8\] span 8/,
      );
    });
    it('unknown dtype', () => {
      const file = buildFile({ w: { dtype: 'F8_E9', shape: [8], data_offsets: [0, 8] } }, eightBytes);
      expect(() => decodeSafetensors(file)).toThrow(/tensor "w": unknown dtype "F8_E9"/);
    });
    it('malformed fields', () => {
      const cases: [unknown, RegExp][] = [
        [{ w: { dtype: 'F32', shape: [2] } }, /tensor "w": header entry lacks "data_offsets"/],
        [
          { w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } },
          /tensor "w": "shape" must be an array of non-negative integers/,
        ],
        [{ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, /tensor "w": "data_offsets" must be \[begin, end\]/],
        [
          { w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } },
          /tensor "w": "data_offsets" \[8, 0\] ends before it begins/,
        ],
        [{ w: 5 }, /tensor "w": header entry is not an object/],
        [{ ...good, __metadata__: { epoch: 3 } }, /"__metadata__" value for "epoch" must be a string/],
      ];
      for (const [header, message] of cases) {
        expect(() => decodeSafetensors(buildFile(header, eightBytes))).toThrow(message);
      }
    });
    it('encoder rejects mismatched data', () => {
      expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(
        /tensor "w" has shape \[2, 2\] \(4 elements\) but its data holds 3 elements/,
      );
      expect(() => encodeSafetensors({ w: { dtype: 'I64', shape: [2], data: new Int32Array(2) } })).toThrow(
        /tensor "w" has dtype I64, which needs a BigInt64Array, but got a Int32Array/,
      );
      expect(() => encodeSafetensors({ w: { dtype: 'Q4' as any, shape: [2], data: new Int32Array(2) } })).toThrow(
        /tensor "w" has unknown dtype "Q4"/,
      );
      expect(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(
        /reserved/,
      );
    });
  });
});

describe('decodeSafetensors on a Node Buffer', () => {
  it('decodes tensors of the right length when the bytes come from readFileSync (Buffer.slice is a view)', async () => {
    const { encodeSafetensors, decodeSafetensors } = await import('../src/io/safetensors.ts');
    const bytes = encodeSafetensors({
      a: { dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) },
      b: { dtype: 'F32', shape: [2], data: Float32Array.of(4, 5) },
    });
    const { tensors } = decodeSafetensors(Buffer.from(bytes));
    expect(Array.from(tensors.get('a')!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(tensors.get('b')!.data as Float32Array)).toEqual([4, 5]);
  });
});
