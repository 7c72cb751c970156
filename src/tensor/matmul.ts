/**
 * Matmul kernel selection. All variants share one interface (see shaders/matmul_naive.wgsl): C[b] =
 * op(A[b])·op(B[b]) with optional transposes, batch strides (0 = broadcast) and accumulation into C.
 *
 *   v1 matmul_naive.wgsl — one output per invocation: the readable baseline, kept as a cross-check.
 *   v2 matmul.wgsl       — an 8×16 register block per invocation, no workgroup memory: what a CPU adapter
 *                          (lavapipe, SwiftShader) runs fastest, and correct everywhere.
 *   v3 matmul_tiled.wgsl — 64×64 tiles staged through workgroup memory, 4×4 per invocation: the classic GPU
 *                          kernel (about 6× slower than v2 on lavapipe, where barriers are thread switches).
 * By default the engine picks v2 on CPU adapters and v3 on real GPUs.
 */
import { engine, Params } from './engine.ts';

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
 * Register kernel workgroup: WG_X × WG_Y = 64 invocations, each owning 8 rows × 16 columns of C. Narrow
 * outputs get a narrower workgroup so fewer invocations sit idle past N.
 */
function registerWorkgroup(N: number): [number, number] {
  const need = Math.ceil(N / 16);
  let wx = 1;
  while (wx < need && wx < 8) wx *= 2;
  return [wx, 64 / wx];
}

export function launchMatmul(m: MatmulArgs): void {
  if (m.M === 0 || m.N === 0 || m.batch === 0) return;
  if (m.batch > 65535) throw new Error(`matmul: batch of ${m.batch} matrices exceeds the 65535 workgroups a dispatch allows in z`);
  const params = new Params()
    .u32(m.M).u32(m.N).u32(m.K).u32(m.batch)
    .u32(m.aBatchStride).u32(m.bBatchStride).u32(m.cBatchStride).u32(0)
    .done();
  const flags = { TRANS_A: m.transA, TRANS_B: m.transB, ACCUMULATE: m.accumulate };
  const version = matmulVersion();
  if (version === 'naive') {
    engine().launch(
      { shader: 'matmul_naive', constants: flags },
      { params, buffers: [m.A, m.B, m.C], workgroups: [Math.ceil(m.N / 16), Math.ceil(m.M / 16), m.batch] },
    );
    return;
  }
  if (version === 'tiled') {
    engine().launch(
      { shader: 'matmul_tiled', constants: flags },
      { params, buffers: [m.A, m.B, m.C], workgroups: [Math.ceil(m.N / 64), Math.ceil(m.M / 64), m.batch] },
    );
    return;
  }
  const [WG_X, WG_Y] = registerWorkgroup(m.N);
  engine().launch(
    { shader: 'matmul', constants: { ...flags, WG_X, WG_Y } },
    { params, buffers: [m.A, m.B, m.C], workgroups: [Math.ceil(m.N / (16 * WG_X)), Math.ceil(m.M / (8 * WG_Y)), m.batch] },
  );
}
