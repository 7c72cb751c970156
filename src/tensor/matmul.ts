/**
 * Matmul kernel selection. All variants share one interface (see shaders/matmul_naive.wgsl): C[b] =
 * op(A[b])·op(B[b]) with optional transposes, batch strides (0 = broadcast) and accumulation into C.
 *
 *   v1 matmul_naive.wgsl — one output per invocation: the readable baseline, kept as a cross-check.
 *   v2 matmul.wgsl       — an 8×16 register block per invocation, no workgroup memory: what a CPU adapter
 *                          (lavapipe, SwiftShader) runs fastest, and correct everywhere.
 *   v3 matmul_tiled.wgsl — 64×64 tiles staged through workgroup memory, 4×4 per invocation: the classic GPU
 *                          kernel (about 6× slower than v2 on lavapipe, where barriers are thread switches).
 * By default the engine picks v2 on CPU adapters and v3 on real GPUs. On GPUs, products with too few output
 * tiles for the machine and a long k are split along k (splitCount below) and summed by matmul_split_sum.wgsl.
 *
 * The differentiable ops on top, at the end: `matmul` (torch.matmul semantics, batch dimensions broadcast) and
 * `linear` (x·Wᵀ + b). Both backward passes are this same launcher with the transpose flags set.
 */
import { engine, type Kernel } from './engine.ts';
import { shaderParams, type ParamBlock } from './params.ts';
import { Tensor, shapeSize } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { broadcastShapes, formatShape } from './shape.ts';
import { reduceAndFree } from './reduce-kernel.ts';
import { add } from './elementwise.ts';
import { reshape, expandRaw } from './movement.ts';

export interface MatmulArgs {
  A: GPUBuffer;
  B: GPUBuffer;
  C: GPUBuffer;
  M: number;
  N: number;
  K: number;
  batch: number;
  aBatchStride: number;
  bBatchStride: number;
  cBatchStride: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
}

export type MatmulVersion = 'naive' | 'register' | 'tiled';

let forced: MatmulVersion | null = null;

/** Forces the matmul kernel every op uses (tests and the kernel explorer compare them); null = per adapter. */
export function setMatmulVersion(v: MatmulVersion | null): void {
  forced = v;
}

export function matmulVersion(): MatmulVersion {
  return forced ?? (engine().adapter.isCPU ? 'register' : 'tiled');
}

/**
 * Register kernel workgroup: WG_X × WG_Y invocations (16 to 64), each owning 8 rows × 16 columns of C. Narrow
 * outputs get a narrower workgroup and short ones a shorter one, so fewer invocations sit idle or redo rows
 * past N and M.
 */
function registerWorkgroup(M: number, N: number): [number, number] {
  const need = Math.ceil(N / 16);
  let wx = 1;
  while (wx < need && wx < 8) wx *= 2;
  let wy = 64 / wx;
  // Halve the rows while more than half of them would be past M (a 64×64 Gram product: 4 × 8 invocations, not
  // 4 × 16, which redid every row twice — 36 → 18 ms on lavapipe), down to 16 invocations: each workgroup shape is
  // one more pipeline to compile (~10 s on lavapipe), so the set stays small.
  while (wx * wy > 16 && 8 * wy >= 2 * M) wy /= 2;
  return [wx, wy];
}

/**
 * How many chunks to split k into (1 = no split). A product whose C is small but whose k is long — a Gram
 * matrix of a 64-channel, 128×128 feature map is 64×64 with k = 16384 — is one workgroup walking all of k,
 * which leaves a GPU's other SMs idle. Splitting k into chunks of at least `splitK.minChunk` until there are
 * `splitK.minWorkgroups()` workgroups, then summing the partials in a fixed order (matmul_split_sum.wgsl),
 * spreads it out.
 */
export function splitCount(
  workgroups: number,
  K: number,
  minWorkgroups = splitK.minWorkgroups(),
  minChunk = splitK.minChunk,
): number {
  if (workgroups >= minWorkgroups || K < 2 * minChunk) return 1;
  return Math.min(Math.ceil(minWorkgroups / workgroups), Math.floor(K / minChunk), 64);
}

/**
 * Split-K thresholds. GPUs: 128 workgroups (about one per SM of a large GPU; not yet timed on one). CPU
 * adapters: never — on lavapipe (2 cores) splitting the Gram products of style transfer measured no faster
 * (C = 64, k = 16384: 17.3 ms unsplit, 20.4 ms in 16 chunks), since a CPU is already busy with a few workgroups.
 */
export const splitK = {
  minWorkgroups: (): number => (engine().adapter.isCPU ? 1 : 128),
  minChunk: 256,
};

export function launchMatmul(m: MatmulArgs): void {
  if (m.M === 0 || m.N === 0 || m.batch === 0) return;
  if (m.batch > 65535)
    throw new Error(`matmul: batch of ${m.batch} matrices exceeds the 65535 workgroups a dispatch allows in z`);
  const flags = { TRANS_A: m.transA, TRANS_B: m.transB, ACCUMULATE: m.accumulate };
  const version = matmulVersion();
  if (version === 'naive') {
    engine().launch(
      { shader: 'matmul_naive', constants: flags },
      {
        params: naiveParams(m),
        buffers: [m.A, m.B, m.C],
        workgroups: [Math.ceil(m.N / 16), Math.ceil(m.M / 16), m.batch],
      },
    );
    return;
  }
  const [WG_X, WG_Y] = registerWorkgroup(m.M, m.N);
  const [kernel, gx, gy]: [Kernel & { shader: 'matmul' | 'matmul_tiled' }, number, number] =
    version === 'tiled'
      ? [{ shader: 'matmul_tiled', constants: flags }, Math.ceil(m.N / 64), Math.ceil(m.M / 64)]
      : [
          { shader: 'matmul', constants: { ...flags, WG_X, WG_Y } },
          Math.ceil(m.N / (16 * WG_X)),
          Math.ceil(m.M / (8 * WG_Y)),
        ];
  let splits = splitCount(gx * gy * m.batch, m.K);
  const kChunk = Math.ceil(m.K / splits);
  splits = Math.ceil(m.K / kChunk);
  if (splits === 1 || m.batch * splits > 65535) {
    engine().launch(kernel, {
      params: matmulParams(kernel.shader, m, 1, m.K),
      buffers: [m.A, m.B, m.C],
      workgroups: [gx, gy, m.batch],
    });
    return;
  }
  // Pass 1: partial products into a scratch buffer [batch·splits, M, N]; pass 2: their sum into C.
  const e = engine();
  const partials = e.alloc(m.batch * splits * m.M * m.N * 4);
  const partialKernel = { ...kernel, constants: { ...kernel.constants, ACCUMULATE: false } };
  e.launch(partialKernel, {
    params: matmulParams(kernel.shader, m, splits, kChunk),
    buffers: [m.A, m.B, partials],
    workgroups: [gx, gy, m.batch * splits],
  });
  e.launch(
    { shader: 'matmul_split_sum', constants: { ACCUMULATE: m.accumulate } },
    {
      params: shaderParams('matmul_split_sum', { count: m.M * m.N, splits, cBatchStride: m.cBatchStride }),
      buffers: [partials, m.C],
      workgroups: [Math.ceil((m.M * m.N) / 256), 1, m.batch],
    },
  );
  e.free(partials);
}

function naiveParams(m: MatmulArgs): ParamBlock {
  const { M, N, K, batch, aBatchStride, bBatchStride, cBatchStride } = m;
  return shaderParams('matmul_naive', { M, N, K, batch, aBatchStride, bBatchStride, cBatchStride });
}

function matmulParams(shader: 'matmul' | 'matmul_tiled', m: MatmulArgs, splits: number, kChunk: number): ParamBlock {
  const { M, N, K, batch, aBatchStride, bBatchStride, cBatchStride } = m;
  return shaderParams(shader, { M, N, K, batch, aBatchStride, bBatchStride, cBatchStride, splits, kChunk });
}

// ------------------------------------------------------------------ the ops: matmul, linear

/**
 * Batched matrix product with torch.matmul semantics: 1-D operands are promoted (and the added dim removed
 * after), batch dimensions broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0)
    throw new Error(
      `matmul: both operands need at least one dimension, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const [M, K] = a2.shape.slice(-2);
  const [K2, N] = b2.shape.slice(-2);
  if (K !== K2)
    throw new Error(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are not aligned (inner dimensions ${K} and ${K2})`,
    );
  const batchShape = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul');
  const out = matmulForward(a2, b2, batchShape, M, N, K);
  let result = out;
  if (a.rank === 1 || b.rank === 1) {
    const shape = [...batchShape, ...(a.rank === 1 ? [] : [M]), ...(b.rank === 1 ? [] : [N])];
    result = reshape(out, shape);
    if (!out.requiresGrad) out.dispose();
  }
  // The promoted views are graph nodes when autograd records (their tidy scope frees them); else free now.
  if (!out.requiresGrad) {
    if (a2 !== a) a2.dispose();
    if (b2 !== b) b2.dispose();
  }
  return result;
}

/** Makes an operand's batch either full or broadcast (stride 0); partial broadcasts are expanded. */
function batchOperand(x: Tensor, batchShape: number[]): { t: Tensor; stride: number; owned: boolean } {
  const batch = shapeSize(batchShape);
  const xb = shapeSize(x.shape.slice(0, -2));
  const mat = x.shape[x.rank - 2] * x.shape[x.rank - 1];
  if (xb === batch) return { t: x, stride: mat, owned: false };
  if (xb === 1) return { t: x, stride: 0, owned: false };
  return { t: expandRaw(x, [...batchShape, ...x.shape.slice(-2)]), stride: mat, owned: true };
}

function matmulForward(a: Tensor, b: Tensor, batchShape: number[], M: number, N: number, K: number): Tensor {
  const batch = shapeSize(batchShape);
  const out = Tensor.empty([...batchShape, M, N]);
  const A = batchOperand(a, batchShape);
  const B = batchOperand(b, batchShape);
  launchMatmul({
    A: A.t.buffer,
    B: B.t.buffer,
    C: out.buffer,
    M,
    N,
    K,
    batch,
    aBatchStride: A.stride,
    bBatchStride: B.stride,
    cBatchStride: M * N,
    transA: false,
    transB: false,
    accumulate: false,
  });
  if (A.owned) A.t.dispose();
  if (B.owned) B.t.dispose();
  return record(out, 'matmul', [a, b], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = g · Bᵀ  (batch-full), then summed over broadcast batch dims
      const full = Tensor.empty([...batchShape, M, K]);
      const Bx = batchOperand(b, batchShape);
      launchMatmul({
        A: g.buffer,
        B: Bx.t.buffer,
        C: full.buffer,
        M,
        N: K,
        K: N,
        batch,
        aBatchStride: M * N,
        bBatchStride: Bx.stride,
        cBatchStride: M * K,
        transA: false,
        transB: true,
        accumulate: false,
      });
      if (Bx.owned) Bx.t.dispose();
      ga = reduceAndFree(full, a.shape);
    }
    if (b.requiresGrad) {
      // dB = Aᵀ · g
      const full = Tensor.empty([...batchShape, K, N]);
      const Ax = batchOperand(a, batchShape);
      launchMatmul({
        A: Ax.t.buffer,
        B: g.buffer,
        C: full.buffer,
        M: K,
        N,
        K: M,
        batch,
        aBatchStride: Ax.stride,
        bBatchStride: M * N,
        cBatchStride: K * N,
        transA: true,
        transB: false,
        accumulate: false,
      });
      if (Ax.owned) Ax.t.dispose();
      gb = reduceAndFree(full, b.shape);
    }
    return [ga, gb];
  });
}

/**
 * y = x·Wᵀ (+ b) for x [..., in] and W [out, in] (torch's Linear layout), without materialising Wᵀ: the
 * matmul kernel reads W transposed. Backward: dx = g·W, dW = gᵀ·x (reads g transposed), db = Σ g.
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  if (w.rank !== 2) throw new Error(`linear: weight must be [out, in], got ${formatShape(w.shape)}`);
  const [outF, inF] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF)
    throw new Error(
      `linear: input ${formatShape(x.shape)} must end in ${inF} features to match weight ${formatShape(w.shape)}`,
    );
  if (b && (b.rank !== 1 || b.shape[0] !== outF))
    throw new Error(`linear: bias ${formatShape(b.shape)} must be [${outF}] for weight ${formatShape(w.shape)}`);
  const M = x.size / inF;
  const outShape = [...x.shape.slice(0, -1), outF];
  const y = Tensor.empty(outShape);
  launchMatmul({
    A: x.buffer,
    B: w.buffer,
    C: y.buffer,
    M,
    N: outF,
    K: inF,
    batch: 1,
    aBatchStride: 0,
    bBatchStride: 0,
    cBatchStride: 0,
    transA: false,
    transB: true,
    accumulate: false,
  });
  const xy = record(y, 'linear', [x, w], (g) => {
    let gx: Tensor | null = null;
    let gw: Tensor | null = null;
    if (x.requiresGrad) {
      gx = Tensor.empty(x.shape);
      launchMatmul({
        A: g.buffer,
        B: w.buffer,
        C: gx.buffer,
        M,
        N: inF,
        K: outF,
        batch: 1,
        aBatchStride: 0,
        bBatchStride: 0,
        cBatchStride: 0,
        transA: false,
        transB: false,
        accumulate: false,
      });
    }
    if (w.requiresGrad) {
      gw = Tensor.empty(w.shape);
      launchMatmul({
        A: g.buffer,
        B: x.buffer,
        C: gw.buffer,
        M: outF,
        N: inF,
        K: M,
        batch: 1,
        aBatchStride: 0,
        bBatchStride: 0,
        cBatchStride: 0,
        transA: true,
        transB: false,
        accumulate: false,
      });
    }
    return [gx, gw];
  });
  if (!b) return xy;
  const out = add(xy, b);
  if (!out.requiresGrad) xy.dispose();
  return out;
}
