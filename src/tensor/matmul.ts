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
 */
import { engine, type Kernel } from './engine.ts';
import { shaderParams, type ParamBlock } from './params.ts';

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
export function splitCount(workgroups: number, K: number, minWorkgroups = splitK.minWorkgroups(), minChunk = splitK.minChunk): number {
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
  if (m.batch > 65535) throw new Error(`matmul: batch of ${m.batch} matrices exceeds the 65535 workgroups a dispatch allows in z`);
  const flags = { TRANS_A: m.transA, TRANS_B: m.transB, ACCUMULATE: m.accumulate };
  const version = matmulVersion();
  if (version === 'naive') {
    engine().launch(
      { shader: 'matmul_naive', constants: flags },
      { params: naiveParams(m), buffers: [m.A, m.B, m.C], workgroups: [Math.ceil(m.N / 16), Math.ceil(m.M / 16), m.batch] },
    );
    return;
  }
  const [WG_X, WG_Y] = registerWorkgroup(m.M, m.N);
  const [kernel, gx, gy]: [Kernel & { shader: 'matmul' | 'matmul_tiled' }, number, number] = version === 'tiled'
    ? [{ shader: 'matmul_tiled', constants: flags }, Math.ceil(m.N / 64), Math.ceil(m.M / 64)]
    : [{ shader: 'matmul', constants: { ...flags, WG_X, WG_Y } }, Math.ceil(m.N / (16 * WG_X)), Math.ceil(m.M / (8 * WG_Y))];
  let splits = splitCount(gx * gy * m.batch, m.K);
  const kChunk = Math.ceil(m.K / splits);
  splits = Math.ceil(m.K / kChunk);
  if (splits === 1 || m.batch * splits > 65535) {
    engine().launch(kernel, { params: matmulParams(kernel.shader, m, 1, m.K), buffers: [m.A, m.B, m.C], workgroups: [gx, gy, m.batch] });
    return;
  }
  // Pass 1: partial products into a scratch buffer [batch·splits, M, N]; pass 2: their sum into C.
  const e = engine();
  const partials = e.alloc(m.batch * splits * m.M * m.N * 4);
  const partialKernel = { ...kernel, constants: { ...kernel.constants, ACCUMULATE: false } };
  e.launch(partialKernel, { params: matmulParams(kernel.shader, m, splits, kChunk), buffers: [m.A, m.B, partials], workgroups: [gx, gy, m.batch * splits] });
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
