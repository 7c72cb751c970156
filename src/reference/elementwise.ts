/** float64 references for the elementwise, broadcast, reduction and layout kernels. */
export type Shape = readonly number[];

export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function broadcast(a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const da = a[a.length - n + i] ?? 1,
      db = b[b.length - n + i] ?? 1;
    return da === 1 ? db : da;
  });
}

/** Value of `x` (shape `s`) at output coordinates `coord` under broadcasting. */
function at(x: Float64Array, s: Shape, coord: number[]): number {
  const off = coord.length - s.length;
  const st = strides(s);
  let i = 0;
  for (let d = 0; d < s.length; d++) i += (s[d] === 1 ? 0 : coord[d + off]) * st[d];
  return x[i];
}

export function coords(i: number, shape: Shape): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
}

export function binary(
  a: Float64Array,
  as: Shape,
  b: Float64Array,
  bs: Shape,
  f: (x: number, y: number) => number,
): Float64Array {
  const os = broadcast(as, bs);
  const n = os.reduce((p, q) => p * q, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = coords(i, os);
    out[i] = f(at(a, as, c), at(b, bs, c));
  }
  return out;
}

export function reduce(x: Float64Array, shape: Shape, axes: number[], f: 'sum' | 'mean' | 'max'): Float64Array {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = outShape.reduce((p, q) => p * q, 1);
  const acc = new Float64Array(n).fill(f === 'max' ? -Infinity : 0);
  const ost = strides(outShape);
  for (let i = 0; i < x.length; i++) {
    const c = coords(i, shape);
    let o = 0;
    c.forEach((v, d) => (o += (axes.includes(d) ? 0 : v) * ost[d]));
    acc[o] = f === 'max' ? Math.max(acc[o], x[i]) : acc[o] + x[i];
  }
  if (f === 'mean') {
    const cnt = axes.reduce((p, a) => p * shape[a], 1);
    for (let i = 0; i < n; i++) acc[i] /= cnt;
  }
  return acc;
}

export function permute(x: Float64Array, shape: Shape, dims: number[]): Float64Array {
  const os = dims.map((d) => shape[d]);
  const st = strides(shape);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = coords(i, os);
    let j = 0;
    c.forEach((v, k) => (j += v * st[dims[k]]));
    out[i] = x[j];
  }
  return out;
}

export function matmul(
  a: Float64Array,
  b: Float64Array,
  batch: number,
  M: number,
  K: number,
  N: number,
  aBatch = true,
  bBatch = true,
): Float64Array {
  const out = new Float64Array(batch * M * N);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++)
          s += a[(aBatch ? p * M * K : 0) + i * K + k] * b[(bBatch ? p * K * N : 0) + k * N + j];
        out[p * M * N + i * N + j] = s;
      }
  return out;
}

/**
 * The gradients of matmul from dC: dA[p] = dC[p]·B[p]ᵀ (summed over the batch when A is shared, aBatch false) and
 * dB[p] = A[p]ᵀ·dC[p]. Loops as the forward's, so the transposes are plain to see.
 */
export function matmulGrads(
  a: Float64Array,
  b: Float64Array,
  dc: Float64Array,
  batch: number,
  M: number,
  K: number,
  N: number,
  aBatch = true,
): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array((aBatch ? batch : 1) * M * K);
  const db = new Float64Array(batch * K * N);
  for (let p = 0; p < batch; p++) {
    const ao = aBatch ? p * M * K : 0;
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let j = 0; j < N; j++) s += dc[p * M * N + i * N + j] * b[p * K * N + k * N + j];
        da[ao + i * K + k] += s;
      }
    for (let k = 0; k < K; k++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let i = 0; i < M; i++) s += a[ao + i * K + k] * dc[p * M * N + i * N + j];
        db[p * K * N + k * N + j] = s;
      }
  }
  return { da, db };
}

/** The unary functions of the `unary` kernel that the kernel explorer offers, each with its derivative. */
export const UNARY: Record<string, { f: (x: number) => number; df: (x: number) => number }> = {
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0) },
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: {
    f: (x) => 1 / (1 + Math.exp(-x)),
    df: (x) => {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 - s);
    },
  },
  exp: { f: Math.exp, df: Math.exp },
  abs: { f: Math.abs, df: (x) => Math.sign(x) },
  square: { f: (x) => x * x, df: (x) => 2 * x },
};

/** The functions of the broadcasting `binary` kernel that the kernel explorer offers (use with `binary`). */
export const BINARY: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => Math.max(a, b),
};
