/**
 * Matmul kernel selection. All variants share one interface (see shaders/matmul_naive.wgsl): C[b] =
 * op(A[b])·op(B[b]) with optional transposes, batch strides (0 = broadcast) and accumulation into C.
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

export function launchMatmul(m: MatmulArgs): void {
  if (m.M === 0 || m.N === 0 || m.batch === 0) return;
  const params = new Params()
    .u32(m.M).u32(m.N).u32(m.K).u32(m.batch)
    .u32(m.aBatchStride).u32(m.bBatchStride).u32(m.cBatchStride).u32(0)
    .done();
  const constants = { TRANS_A: m.transA, TRANS_B: m.transB, ACCUMULATE: m.accumulate };
  engine().launch(
    { shader: 'matmul_naive', constants },
    { params, buffers: [m.A, m.B, m.C], workgroups: [Math.ceil(m.N / 16), Math.ceil(m.M / 16), m.batch] },
  );
}
