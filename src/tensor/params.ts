/**
 * Kernel parameter blocks by name. Each shader's `struct Params` (the uniform at @binding(0)) is read by
 * scripts/gen-shaders.mjs into `PARAM_LAYOUTS` (byte offsets under WGSL's uniform rules) and `ParamsOf`
 * (one property per field), so a launcher writes
 *
 *   params: shaderParams('pool_max', { count, H, W, OH, OW, kh, kw, sh, sw, ph, pw })
 *
 * and the order of the fields lives only in the WGSL file. A missing or misspelt field is a type error; at run
 * time every value is checked against its WGSL type (a u32 that is negative or fractional, a NaN) and the
 * engine refuses a block written for another shader than the one launched.
 */
import { PARAM_LAYOUTS, type ParamField, type ParamsOf, type ShaderWithParams } from '../shaders.gen.ts';

export type { ParamsOf, ShaderWithParams };

/** A uniform block written for one shader: `engine().launch` checks that it is launched with that shader. */
export interface ParamBlock {
  readonly shader: ShaderWithParams;
  readonly data: ArrayBuffer;
}

/** Writes one value at `offset`; on a value its WGSL type cannot hold, throws naming `shader`'s field (and index). */
function writeScalar(view: DataView, offset: number, f: ParamField, v: number, shader: string, index?: number): void {
  switch (f.scalar) {
    case 'u32':
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw notA(shader, f, index, v);
      view.setUint32(offset, v, true);
      return;
    case 'i32':
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw notA(shader, f, index, v);
      view.setInt32(offset, v, true);
      return;
    case 'f32':
      if (typeof v !== 'number' || Number.isNaN(v)) throw notA(shader, f, index, v);
      view.setFloat32(offset, v, true);
  }
}

/** The error of a value its field's type cannot hold (made only then: writeScalar runs for every launch's fields). */
function notA(shader: string, f: ParamField, index: number | undefined, v: number): Error {
  const at = index === undefined ? '' : `[${index}]`;
  return new Error(`${fieldName(shader, f)}${at}: ${v} is not ${f.scalar === 'u32' ? 'a' : 'an'} ${f.scalar}`);
}

/** How errors name a field: `shaderParams(pool_max).kh`. */
const fieldName = (shader: string, f: ParamField) => `shaderParams(${shader}).${f.name}`;

/** Each shader's named (non-padding) fields, found once: shaderParams runs for every launch. */
const NAMED = new Map<string, ParamField[]>();

/** The parameter block of `shader`, each value written at its field's offset; padding fields stay 0. */
export function shaderParams<S extends ShaderWithParams>(shader: S, values: ParamsOf[S]): ParamBlock {
  const layout = PARAM_LAYOUTS[shader];
  if (!layout) throw new Error(`shaderParams: shaders/${shader}.wgsl has no struct Params`);
  const view = new DataView(new ArrayBuffer(layout.size));
  const given = values as Record<string, number | readonly number[] | undefined>;
  let fields = NAMED.get(shader);
  if (!fields) NAMED.set(shader, (fields = layout.fields.filter((f) => !f.name.startsWith('_'))));
  for (const f of fields) {
    const v = given[f.name];
    if (v === undefined) throw new Error(`${fieldName(shader, f)} is missing`);
    if (f.count === 1) {
      if (typeof v !== 'number')
        throw new Error(`${fieldName(shader, f)}: expected a number, got ${JSON.stringify(v)}`);
      writeScalar(view, f.offset, f, v, shader);
    } else {
      if (typeof v === 'number')
        throw new Error(`${fieldName(shader, f)}: expected up to ${f.count} numbers, got one number`);
      if (v.length > f.count)
        throw new Error(`${fieldName(shader, f)}: ${v.length} values, the struct holds ${f.count}`);
      for (let i = 0; i < v.length; i++) writeScalar(view, f.offset + 4 * i, f, v[i]!, shader, i);
    }
  }
  let keys = 0;
  for (const _ in given) keys++;
  if (keys !== fields.length) {
    const extra = Object.keys(given).filter((k) => !fields.some((f) => f.name === k));
    throw new Error(`shaderParams(${shader}): no field ${extra.join(', ')} in shaders/${shader}.wgsl's struct Params`);
  }
  return { shader, data: view.buffer };
}
