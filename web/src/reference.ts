/**
 * Plain float64 TypeScript versions of what the kernels compute, for the kernel explorer to compare against.
 * They are deliberately the textbook loops (slow, obvious), written from the formulas in the shader headers.
 * Arrays are flat, row-major; image tensors are NCHW.
 */

export type Shape4 = [number, number, number, number];

export interface ConvGeometry {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

/** y[n,m,oh,ow] = Σ_{c,i,j} w[m,c,i,j] · x[n,c, oh·s−p+i·d, ow·s−p+j·d] (zero outside the input). */
export function conv2dRef(x: ArrayLike<number>, xs: Shape4, w: ArrayLike<number>, ws: Shape4, g: ConvGeometry): { out: Float64Array; shape: Shape4 } {
  const [N, C, H, W] = xs;
  const [M, , kh, kw] = ws;
  const OH = Math.floor((H + 2 * g.padding[0] - g.dilation[0] * (kh - 1) - 1) / g.stride[0]) + 1;
  const OW = Math.floor((W + 2 * g.padding[1] - g.dilation[1] * (kw - 1) - 1) / g.stride[1]) + 1;
  const out = new Float64Array(N * M * OH * OW);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let s = 0;
    for (let c = 0; c < C; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const h = oh * g.stride[0] - g.padding[0] + i * g.dilation[0];
      const v = ow * g.stride[1] - g.padding[1] + j * g.dilation[1];
      if (h < 0 || h >= H || v < 0 || v >= W) continue;
      s += w[((m * C + c) * kh + i) * kw + j] * x[((n * C + c) * H + h) * W + v];
    }
    out[((n * M + m) * OH + oh) * OW + ow] = s;
  }
  return { out, shape: [N, M, OH, OW] };
}

/**
 * convTranspose2d: every input pixel scatters w[c,m,:,:]·x into the output at oh = h·s − p + i·d (torch
 * semantics, weight [Cin, Cout, kh, kw]), output size (H−1)·s − 2p + d·(k−1) + outputPadding + 1.
 */
export function convTranspose2dRef(x: ArrayLike<number>, xs: Shape4, w: ArrayLike<number>, ws: Shape4, g: ConvGeometry & { outputPadding: [number, number] }): { out: Float64Array; shape: Shape4 } {
  const [N, C, H, W] = xs;
  const [, M, kh, kw] = ws;
  const OH = (H - 1) * g.stride[0] - 2 * g.padding[0] + g.dilation[0] * (kh - 1) + g.outputPadding[0] + 1;
  const OW = (W - 1) * g.stride[1] - 2 * g.padding[1] + g.dilation[1] * (kw - 1) + g.outputPadding[1] + 1;
  const out = new Float64Array(N * M * OH * OW);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let v = 0; v < W; v++) {
    const xv = x[((n * C + c) * H + h) * W + v];
    for (let m = 0; m < M; m++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const oh = h * g.stride[0] - g.padding[0] + i * g.dilation[0];
      const ow = v * g.stride[1] - g.padding[1] + j * g.dilation[1];
      if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
      out[((n * M + m) * OH + oh) * OW + ow] += xv * w[((c * M + m) * kh + i) * kw + j];
    }
  }
  return { out, shape: [N, M, OH, OW] };
}

/** dW[m,c,i,j] = Σ_{n,oh,ow} dy[n,m,oh,ow] · x[n,c, oh·s−p+i·d, ow·s−p+j·d]: the weight gradient of conv2d. */
export function conv2dWeightGradRef(x: ArrayLike<number>, xs: Shape4, dy: ArrayLike<number>, ys: Shape4, k: [number, number], g: ConvGeometry): Float64Array {
  const [N, C, H, W] = xs;
  const [, M, OH, OW] = ys;
  const [kh, kw] = k;
  const dw = new Float64Array(M * C * kh * kw);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const gv = dy[((n * M + m) * OH + oh) * OW + ow];
    for (let c = 0; c < C; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const h = oh * g.stride[0] - g.padding[0] + i * g.dilation[0];
      const v = ow * g.stride[1] - g.padding[1] + j * g.dilation[1];
      if (h < 0 || h >= H || v < 0 || v >= W) continue;
      dw[((m * C + c) * kh + i) * kw + j] += gv * x[((n * C + c) * H + h) * W + v];
    }
  }
  return dw;
}

/** C = A·B with A [M, K], B [K, N]. */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
    c[i * N + j] = s;
  }
  return c;
}

export interface PoolGeometry {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
}

/** Output side of a pooling window sweep: ⌊(in + 2p − k) / s⌋ + 1. */
export function poolOut(size: number, k: number, s: number, p: number): number {
  return Math.floor((size + 2 * p - k) / s) + 1;
}

/**
 * Max or average over each window of each NCHW plane. Average divides by the window's full size, padding
 * included (torch's count_include_pad=True default), clipped where the window runs past the padded edge.
 */
export function pool2dRef(x: ArrayLike<number>, xs: Shape4, g: PoolGeometry, kind: 'max' | 'avg'): { out: Float64Array; shape: Shape4 } {
  const [N, C, H, W] = xs;
  const [kh, kw] = g.kernel;
  const OH = poolOut(H, kh, g.stride[0], g.padding[0]);
  const OW = poolOut(W, kw, g.stride[1], g.padding[1]);
  const out = new Float64Array(N * C * OH * OW);
  for (let p = 0; p < N * C; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    const h0 = oh * g.stride[0] - g.padding[0];
    const w0 = ow * g.stride[1] - g.padding[1];
    let best = -Infinity;
    let sum = 0;
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const h = h0 + i;
      const v = w0 + j;
      if (h < 0 || h >= H || v < 0 || v >= W) continue;
      const val = x[(p * H + h) * W + v];
      best = Math.max(best, val);
      sum += val;
    }
    const hEnd = Math.min(h0 + kh, H + g.padding[0]);
    const wEnd = Math.min(w0 + kw, W + g.padding[1]);
    out[(p * OH + oh) * OW + ow] = kind === 'max' ? best : sum / ((hEnd - h0) * (wEnd - w0));
  }
  return { out, shape: [N, C, OH, OW] };
}

/** Nearest-neighbour upsampling: y[p, oh, ow] = x[p, ⌊oh/sh⌋, ⌊ow/sw⌋]. */
export function upsampleRef(x: ArrayLike<number>, xs: Shape4, sh: number, sw: number): { out: Float64Array; shape: Shape4 } {
  const [N, C, H, W] = xs;
  const OH = H * sh, OW = W * sw;
  const out = new Float64Array(N * C * OH * OW);
  for (let p = 0; p < N * C; p++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    out[(p * OH + oh) * OW + ow] = x[(p * H + Math.floor(oh / sh)) * W + Math.floor(ow / sw)];
  }
  return { out, shape: [N, C, OH, OW] };
}

/** The elementwise functions the explorer offers, with their derivatives. */
export const UNARY_REF: Record<string, { f: (x: number) => number; df: (x: number) => number }> = {
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0) },
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), df: (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); } },
  exp: { f: Math.exp, df: Math.exp },
  abs: { f: Math.abs, df: (x) => Math.sign(x) },
  square: { f: (x) => x * x, df: (x) => 2 * x },
};

/** The broadcasting binary functions the explorer offers. */
export const BINARY_REF: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => Math.max(a, b),
};

/** numpy broadcasting of a and b (shapes aligned on the right; size-1 dimensions stretch). */
export function broadcastRef(a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[], f: (a: number, b: number) => number): { out: Float64Array; shape: number[] } {
  const rank = Math.max(as.length, bs.length);
  const pa = [...Array(rank - as.length).fill(1), ...as];
  const pb = [...Array(rank - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => {
    if (d !== pb[i] && d !== 1 && pb[i] !== 1) throw new Error(`shapes [${as}] and [${bs}] do not broadcast (dimension ${i}: ${d} vs ${pb[i]})`);
    return Math.max(d, pb[i]);
  });
  const size = shape.reduce((s, d) => s * d, 1);
  const out = new Float64Array(size);
  const offset = (coord: number[], dims: number[]) => coord.reduce((o, c, i) => o * dims[i] + (dims[i] === 1 ? 0 : c), 0);
  const coord = new Array(rank).fill(0);
  for (let i = 0; i < size; i++) {
    let r = i;
    for (let d = rank - 1; d >= 0; d--) { coord[d] = r % shape[d]; r = Math.floor(r / shape[d]); }
    out[i] = f(a[offset(coord, pa)], b[offset(coord, pb)]);
  }
  return { out, shape };
}

/** Sum over one axis of a row-major array. */
export function sumAxisRef(x: ArrayLike<number>, shape: number[], axis: number): { out: Float64Array; shape: number[] } {
  const outer = shape.slice(0, axis).reduce((s, d) => s * d, 1);
  const len = shape[axis];
  const inner = shape.slice(axis + 1).reduce((s, d) => s * d, 1);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) for (let k = 0; k < len; k++) for (let i = 0; i < inner; i++) out[o * inner + i] += x[(o * len + k) * inner + i];
  return { out, shape: shape.filter((_, i) => i !== axis) };
}

/** Binary cross-entropy on logits, per element: max(x, 0) − x·t + log(1 + e^(−|x|)). */
export function bceRef(x: ArrayLike<number>, t: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>, (v, i) => Math.max(v, 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v))));
}

/** Swap of the last two axes of a [B, R, C] array. */
export function transposeRef(x: ArrayLike<number>, B: number, R: number, C: number): Float64Array {
  const out = new Float64Array(B * R * C);
  for (let b = 0; b < B; b++) for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[(b * C + c) * R + r] = x[(b * R + r) * C + c];
  return out;
}

/** Batch norm in training mode over [N, C, HW]: (x − mean_c) / √(var_c + eps), biased variance. */
export function batchNormRef(x: ArrayLike<number>, N: number, C: number, HW: number, eps: number): Float64Array {
  const out = new Float64Array(N * C * HW);
  for (let c = 0; c < C; c++) {
    let mean = 0;
    for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) mean += x[(n * C + c) * HW + j];
    mean /= N * HW;
    let v = 0;
    for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) v += (x[(n * C + c) * HW + j] - mean) ** 2;
    v /= N * HW;
    const r = 1 / Math.sqrt(v + eps);
    for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) out[(n * C + c) * HW + j] = (x[(n * C + c) * HW + j] - mean) * r;
  }
  return out;
}

/** Gram matrix of F [C, HW]: G = F·Fᵀ / norm. */
export function gramRef(f: ArrayLike<number>, C: number, HW: number, norm: number): Float64Array {
  const g = new Float64Array(C * C);
  for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) {
    let s = 0;
    for (let k = 0; k < HW; k++) s += f[i * HW + k] * f[j * HW + k];
    g[i * C + j] = s / norm;
  }
  return g;
}

/** Largest |a − b| (NaN if either has a NaN where the other does not, or lengths differ). */
export function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}

/** Largest |b| (scales the tolerance). */
export function maxAbs(b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]));
  return m;
}
