/**
 * Matmul kernel selection. All variants share one interface (see shaders/matmul_naive.wgsl): C[b] =
 * op(A[b])·op(B[b]) with optional transposes, batch strides (0 = broadcast) and accumulation into C.
 *
 *   v1 matmul_naive.wgsl — one output per invocation: the readable baseline, kept as a cross-check.
 *   v2 matmul.wgsl       — an 8×16 register block per invocation, no workgroup memory: what a CPU adapter
 *                          (lavapipe, SwiftShader) runs fastest, and correct everywhere.
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

export type MatmulVersion = 'naive' | 'register';

let version: MatmulVersion = 'register';

/** Chooses the matmul kernel every op uses (tests and the kernel explorer compare them). */
export function setMatmulVersion(v: MatmulVersion): void {
  version = v;
}

export function matmulVersion(): MatmulVersion {
  return version;
}

/** Register kernel workgroup: WG_X × WG_Y invocations, each owning 8 rows × 16 columns of C. */
const WG_X = 8;
const WG_Y = 8;

export function launchMatmul(m: MatmulArgs): void {
  if (m.M === 0 || m.N === 0 || m.batch === 0) return;
  if (m.batch > 65535) throw new Error(`matmul: batch of ${m.batch} matrices exceeds the 65535 workgroups a dispatch allows in z`);
  const params = new Params()
    .u32(m.M).u32(m.N).u32(m.K).u32(m.batch)
    .u32(m.aBatchStride).u32(m.bBatchStride).u32(m.cBatchStride).u32(0)
    .done();
  const flags = { TRANS_A: m.transA, TRANS_B: m.transB, ACCUMULATE: m.accumulate };
  if (version === 'naive') {
    engine().launch(
      { shader: 'matmul_naive', constants: flags },
      { params, buffers: [m.A, m.B, m.C], workgroups: [Math.ceil(m.N / 16), Math.ceil(m.M / 16), m.batch] },
    );
    return;
  }
  engine().launch(
    { shader: 'matmul', constants: { ...flags, WG_X, WG_Y } },
    { params, buffers: [m.A, m.B, m.C], workgroups: [Math.ceil(m.N / (16 * WG_X)), Math.ceil(m.M / (8 * WG_Y)), m.batch] },
  );
}
