/**
 * Matmul kernel selection. All variants share one interface (see shaders/matmul_naive.wgsl): C[b] =
 * op(A[b])·op(B[b]) with optional transposes, batch strides (0 = broadcast) and accumulation into C.
 *
 *   v1 matmul_naive.wgsl — one output per invocation: the readable baseline, kept as a cross-check.
 *   v2 matmul.wgsl       — an 8×16 register block per invocation, no workgroup memory: what a CPU adapter
 *                          (lavapipe, SwiftShader) runs fastest, and correct everywhere. `register-sg`:
 *                          matmul_sg.wgsl, the same blocks with A's loads shared across a subgroup and B read as
 *                          vec4s, where a product's workgroup is one 8-lane subgroup wide on lavapipe (sharesRows);
 *                          elsewhere it runs matmul.wgsl, as `register` does always.
 *   v3 matmul_tiled.wgsl — 64×64 tiles staged through workgroup memory, 4×4 per invocation: the classic GPU
 *                          kernel (3.8× slower than v2's matmul.wgsl and 6.9× slower than register-sg on lavapipe,
 *                          where barriers are thread switches: the medians of docs/kernels/03-matmul.md at 768³,
 *                          the guide's run of 2026-12-02 13:13 UTC; its run of 12:18, committed at d08d987, gave 6.2×
 *                          and 10.9×: the machine drifts).
 *   v4 matmul_tiled_vec4.wgsl — v3 with vec4 slabs and vec4 accumulators: a quarter of v3's workgroup-memory
 *                          reads per multiply-add (`tiled-vec4`, `tiled-128-vec4`), for GPUs; the tuner keeps
 *                          whichever of v3 and v4 is faster per shape.
 * v2 and v3 also run with k split into chunks (`-splitk`): a product with too few output tiles to fill a GPU
 * and a long k is split along k (splitCount below) and the partials summed by matmul_split_sum.wgsl.
 * Each shape runs its measured winner where the tuner is on (./autotune.ts: by default on GPUs), else the
 * default: v2 unsplit on CPU adapters (`register-sg`), v3 with split-K on GPUs.
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
import { chooseKernel, familySources, registerTunedKernels, tuningEnabled } from './autotune.ts';
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

/**
 * The kernels the tuner times per shape: v2–v4, and each with k split into chunks (`-splitk`, see splitCount) where
 * the product has too few output tiles to fill a GPU.
 */
const TUNED_VERSIONS = [
  'register',
  'register-splitk',
  'register-sg',
  'register-sg-splitk',
  'tiled',
  'tiled-splitk',
  'tiled-128',
  'tiled-128-splitk',
  'tiled-vec4',
  'tiled-vec4-splitk',
  'tiled-128-vec4',
  'tiled-128-vec4-splitk',
] as const;
/** Every kernel a product can run: the tuned ones and 'naive' (v1), which is never chosen by itself. */
export const MATMUL_VERSIONS = ['naive', ...TUNED_VERSIONS] as const;
export type MatmulVersion = (typeof MATMUL_VERSIONS)[number];

let forced: MatmulVersion | null = null;

/** Forces the matmul kernel every op uses (tests and the kernel explorer compare them); null = per shape. */
export function setMatmulVersion(v: MatmulVersion | null): void {
  if (v !== null && !MATMUL_VERSIONS.includes(v))
    throw new Error(`setMatmulVersion: unknown version "${v}" (expected one of ${MATMUL_VERSIONS.join(', ')})`);
  forced = v;
}

/** The version forced with setMatmulVersion(), or null. */
export function forcedMatmulVersion(): MatmulVersion | null {
  return forced;
}

/**
 * What a product runs before (or without) tuning: v2 unsplit on CPU adapters, v3 with split-K on GPUs. With
 * tuning on, each shape then runs its measured winner (./autotune.ts).
 */
export function defaultMatmulVersion(): MatmulVersion {
  return engine().adapter.isCPU ? 'register-sg' : 'tiled-splitk';
}

/** The forced version, else 'autotuned' when shapes are tuned on this adapter, else the default. */
export function matmulVersion(): MatmulVersion | 'autotuned' {
  return forced ?? (tuningEnabled() ? 'autotuned' : defaultMatmulVersion());
}

// Every matmul kernel's source (includes expanded) is part of the tuned table's key: editing any starts a fresh table.
registerTunedKernels(familySources('matmul'));

function registerWorkgroup(M: number, N: number): [number, number] {
  const need = Math.ceil(N / 16);
  let wx = 1;
  while (wx < need && wx < 8) wx *= 2;
  let wy = 64 / wx;
  // Halve the rows while more than half of them would be past M (a 64×64 Gram product: 4 × 8 invocations, not
  // 4 × 16, which redid every row twice: about twice as fast on lavapipe in a scratch run whose figures were not
  // kept), down to 16 invocations: each workgroup shape is one more pipeline to compile, so the set stays small.
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
 * Split-K thresholds of the `-splitk` versions: 128 workgroups (about one per SM of a large GPU). Whether
 * splitting pays is measured per shape by the tuner where it runs (GPUs). CPU adapters default to the unsplit
 * kernel, chosen after a scratch A/B on lavapipe found the Gram product of style transfer (C = 64, k = 16384) no
 * faster split; the kernel guide's committed run (docs/kernels/07-gram.md, forward table) measured it faster split
 * 64 ways. The default has not been re-decided since: a Gram product is a small part of a style iteration.
 */
export const splitK = { minWorkgroups: (): number => 128, minChunk: 256 };

type TiledShader = 'matmul' | 'matmul_sg' | 'matmul_tiled' | 'matmul_tiled_vec4';

/**
 * Whether the `register-sg` versions share A's values across subgroups (matmul_sg.wgsl; `register` is matmul.wgsl
 * everywhere, for A/Bs). Only on lavapipe, where it was measured (the kernel guide times both: 03-matmul), and only
 * where a subgroup is exactly one row of the workgroup and one lane per row of the 8-row block: the probed subgroup
 * size (runs of consecutive invocations, src/tensor/gpu.ts probeSubgroupSize) and WG_X both 8.
 */
function sharesRows(WG_X: number): boolean {
  const { slug, subgroupSize } = engine().adapter;
  // The kernel's lanes 0 … 7 each load one of the block's 8 rows (ROWS in lib/matmul_register.wgsl).
  return slug === 'lavapipe' && subgroupSize === 8 && WG_X === 8;
}

/** Whether every step's row of op(B) is 4-aligned in B (matmul_sg.wgsl reads it as 4 vec4s then: B_QUAD). */
function quadB(m: MatmulArgs): boolean {
  return !m.transB && m.N % 4 === 0 && m.bBatchStride % 4 === 0;
}

/** The kernel and grid of a v2, v3 or v4 launch. */
function matmulGrid(m: MatmulArgs, version: MatmulVersion): [Kernel & { shader: TiledShader }, number, number] {
  const flags = { TRANS_A: m.transA, TRANS_B: m.transB, ACCUMULATE: m.accumulate };
  if (version.startsWith('tiled')) {
    // 64×64 tiles, 4×4 per invocation; or 128×128 tiles, 8×8 per invocation ('tiled-128'); scalar or vec4 slabs.
    const tile = version.startsWith('tiled-128') ? 128 : 64;
    const kernel: Kernel & { shader: TiledShader } = version.includes('vec4')
      ? { shader: 'matmul_tiled_vec4', subs: { TILE: String(tile) }, constants: flags }
      : { shader: 'matmul_tiled', subs: { TILE: String(tile), PER: String(tile / 16) }, constants: flags };
    return [kernel, Math.ceil(m.N / tile), Math.ceil(m.M / tile)];
  }
  const [WG_X, WG_Y] = registerWorkgroup(m.M, m.N);
  const kernel: Kernel & { shader: TiledShader } =
    version.startsWith('register-sg') && sharesRows(WG_X)
      ? { shader: 'matmul_sg', constants: { ...flags, WG_X, WG_Y, ...(quadB(m) ? { B_QUAD: true } : {}) } }
      : { shader: 'matmul', constants: { ...flags, WG_X, WG_Y } };
  return [kernel, Math.ceil(m.N / (16 * WG_X)), Math.ceil(m.M / (8 * WG_Y))];
}

/** The buffers a v2, v3 or v4 launch binds: A, B, C (matmul_sg.wgsl binds B a second time, as vec4s). */
function matmulBuffers(kernel: Kernel, A: GPUBuffer, B: GPUBuffer, C: GPUBuffer): GPUBuffer[] {
  return kernel.shader === 'matmul_sg' ? [A, B, C, B] : [A, B, C];
}

/** The number of k chunks `version` runs this product in (1 for the unsplit versions). */
function splitsOf(m: MatmulArgs, version: MatmulVersion): number {
  if (!version.endsWith('-splitk')) return 1;
  const [, gx, gy] = matmulGrid(m, version);
  const splits = splitCount(gx * gy * m.batch, m.K);
  return m.batch * splits > 65535 ? 1 : Math.ceil(m.K / Math.ceil(m.K / splits));
}

/** The candidates for this product, without versions that would run the same launches as an earlier one. */
function matmulCandidates(m: MatmulArgs): MatmulVersion[] {
  const out: MatmulVersion[] = [];
  const sg = sharesRows(registerWorkgroup(m.M, m.N)[0]);
  for (const v of TUNED_VERSIONS)
    if ((!v.endsWith('-splitk') || splitsOf(m, v) > 1) && (sg || !v.startsWith('register-sg'))) out.push(v);
  return out;
}

/** The version this product runs: forced, else its tuned winner, else the default (see ./autotune.ts). */
function pickMatmul(m: MatmulArgs): MatmulVersion {
  if (forced) return forced;
  // (A '-splitk' default on a product too short to split runs the unsplit launch: splitsOf gives 1.)
  const key = `matmul|${m.M}x${m.N}x${m.K} batch ${m.batch} strides ${m.aBatchStride === 0 ? 0 : 1}${m.bBatchStride === 0 ? 0 : 1} trans ${+m.transA}${+m.transB} acc ${+m.accumulate}`;
  return chooseKernel(
    key,
    () => matmulCandidates(m),
    defaultMatmulVersion(),
    () => {
      const e = engine();
      const A = e.alloc(4 * Math.max(1, (m.aBatchStride === 0 ? 1 : m.batch) * m.M * m.K));
      const B = e.alloc(4 * Math.max(1, (m.bBatchStride === 0 ? 1 : m.batch) * m.K * m.N));
      const C = e.alloc(4 * Math.max(1, m.batch * m.M * m.N));
      return {
        run: (v) => launchMatmulWith({ ...m, A, B, C }, v as MatmulVersion),
        dispose: () => [A, B, C].forEach((b) => e.free(b)),
      };
    },
  ) as MatmulVersion;
}

export function launchMatmul(m: MatmulArgs): void {
  if (m.M === 0 || m.N === 0 || m.batch === 0) return;
  if (m.batch > 65535)
    throw new Error(`matmul: batch of ${m.batch} matrices exceeds the 65535 workgroups a dispatch allows in z`);
  launchMatmulWith(m, pickMatmul(m));
}

/** Records the product with the given version. */
function launchMatmulWith(m: MatmulArgs, version: MatmulVersion): void {
  if (version === 'naive') {
    engine().launch(
      { shader: 'matmul_naive', constants: { TRANS_A: m.transA, TRANS_B: m.transB, ACCUMULATE: m.accumulate } },
      {
        params: naiveParams(m),
        buffers: [m.A, m.B, m.C],
        workgroups: [Math.ceil(m.N / 16), Math.ceil(m.M / 16), m.batch],
      },
    );
    return;
  }
  const [kernel, gx, gy] = matmulGrid(m, version);
  const splits = splitsOf(m, version);
  if (splits === 1) {
    engine().launch(kernel, {
      params: matmulParams(kernel.shader, m, 1, m.K),
      buffers: matmulBuffers(kernel, m.A, m.B, m.C),
      workgroups: [gx, gy, m.batch],
    });
    return;
  }
  const kChunk = Math.ceil(m.K / splits);
  // Pass 1: partial products into a scratch buffer [batch·splits, M, N]; pass 2: their sum into C.
  const e = engine();
  const partials = e.alloc(m.batch * splits * m.M * m.N * 4);
  const partialKernel = { ...kernel, constants: { ...kernel.constants, ACCUMULATE: false } };
  e.launch(partialKernel, {
    params: matmulParams(kernel.shader, m, splits, kChunk),
    buffers: matmulBuffers(kernel, m.A, m.B, partials),
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

function matmulParams(shader: TiledShader, m: MatmulArgs, splits: number, kChunk: number): ParamBlock {
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
