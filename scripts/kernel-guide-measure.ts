/**
 * The measurement behind docs/kernels/ (`npm run kernel-guide -- --measure`; scripts/kernel-guide.ts then renders
 * the pages from what this writes). Needs a WebGPU adapter; the renderer and its test do not.
 *
 * Each case is one shape and the versions of one kernel family that can run it (naive / register-tiled /
 * workgroup-tiled matmul, split-K forced or not, register / tiled conv, …). The versions of a case are timed by
 * bench/harness.ts `interleave` with the project's `--quick` rules (`samplingRules(true, 'layer')`): every version
 * prepared, its first run timed and reported apart, the same warm-up run for each, then timed rounds A B C A B C …
 * (at least 3 samples each), so the machine's drift lands on every version alike. The FMA ceiling (bench/ceiling.ts)
 * is measured in full at the start and the end, and briefly right before and after each case's timed rounds.
 * The launches of each version's first run are recorded (`engine().onLaunch`: shader, entry, substitutions,
 * constants, workgroup grid) — they are what the figures are drawn from, and they show that forcing a version
 * really ran its kernel. Load averages (os.loadavg) are recorded at the start, after each case and at the end.
 */
import { availableParallelism, loadavg } from 'node:os';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  Tensor,
  engine,
  initEngine,
  noGrad,
  tidy,
  unary,
  add,
  sum,
  matmul,
  conv2d,
  convTranspose2d,
  conv2dInputGrad,
  conv2dWeightGrad,
  setConvVersion,
  maxPool2d,
  avgPool2d,
  batchNorm,
  gram,
} from '../src/tensor/index.ts';
import { setTransposedRoute, setWgradRoute } from '../src/tensor/conv.ts';
import * as norm from '../src/tensor/norm.ts';
import * as pool from '../src/tensor/pool.ts';
import * as reduceKernel from '../src/tensor/reduce-kernel.ts';
import { UNARY_OPS } from '../src/tensor/elementwise.ts';
import { grid1d } from '../src/tensor/engine.ts';
import { shaderParams } from '../src/tensor/params.ts';
import { interleave, samplingRules, type Contender } from '../bench/harness.ts';
import { createCeilingProbe, measureFmaCeiling } from '../bench/ceiling.ts';
import { lavapipeThreads } from '../bench/suite.ts';
import type { CaseResult, GuideResults, LaunchRecord, Shape4, VersionResult } from './kernel-guide.ts';

// ---------------------------------------------------------------------------------------------------------------
// The matmul switches. setMatmulVersion and splitK are not re-exported by src/tensor/index.ts (the public module),
// so they are taken from it when it has them, else from whichever module of src/ exports them (found by its text,
// so a renamed or split module is still found).

interface MatmulSwitches {
  setMatmulVersion: (v: string | null) => void;
  splitK: { minWorkgroups: () => number; minChunk: number };
  /** matmul_sg.wgsl on or off, in engines before the 'register-sg' version (2026-12-02). */
  matmulSubgroups?: { enabled: boolean };
  /** The engine's matmul versions: since 'register-sg' is one, 'register' alone never runs matmul_sg.wgsl. */
  MATMUL_VERSIONS?: readonly string[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : name.endsWith('.ts') ? [p] : [];
  });
}

async function matmulSwitches(root: string): Promise<MatmulSwitches> {
  const pub = (await import('../src/tensor/index.ts')) as Record<string, unknown>;
  if (typeof pub.setMatmulVersion === 'function' && pub.splitK) return pub as unknown as MatmulSwitches;
  const file = filesUnder(join(root, 'src')).find((f) =>
    /export function setMatmulVersion\b/.test(readFileSync(f, 'utf8')),
  );
  if (!file)
    throw new Error('kernel-guide: no module of src/ exports setMatmulVersion; the matmul versions cannot be forced');
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  if (typeof mod.setMatmulVersion !== 'function' || !mod.splitK)
    throw new Error(`kernel-guide: ${file} lacks setMatmulVersion or splitK`);
  return mod as unknown as MatmulSwitches;
}

// ---------------------------------------------------------------------------------------------------------------
// Cases

interface Switches {
  matmul?: 'naive' | 'register' | 'tiled' | 'tiled-vec4' | 'tiled-128' | 'tiled-128-vec4';
  /** The register matmul's subgroup form (matmul_sg.wgsl, where the engine takes it); unset: the engine's rule. */
  matmulSg?: boolean;
  /** Split-K by the GPU rule (≥ 128 workgroups, chunks ≥ splitK.minChunk) instead of the adapter's. */
  splitK?: boolean;
  conv?:
    | 'naive'
    | 'register'
    | 'register-sg'
    | 'register-tm8'
    | 'register-tm32'
    | 'tiled'
    | 'tiled-m16'
    | 'tiled-128'
    | 'tiled-vec4'
    | 'tiled-128-vec4';
  /** The conv weight gradient's route (setWgradRoute); unset: the shape rule's. */
  wgrad?: 'split' | 'gather';
  /** The transposed gather's route (setTransposedRoute); unset: the shape rule's. */
  transposed?: 'phases' | 'cols';
  /** BatchNorm's reductions a subgroup per channel (batchnorm_sg.wgsl, where the engine takes it); unset: the rule. */
  bnSg?: boolean;
  /** Average pooling's backward by windows where they tile the input (pool_avg:backward_blocks); unset: on. */
  avgBlocks?: boolean;
  /** The reduce kernel's entry point (reduceEntry.forced); unset: the host's rule. */
  reduce?: 'per_thread' | 'per_workgroup';
}

interface Prepared {
  /** Enqueues one run; returns the tensor to compare between versions (the caller disposes everything). */
  run: () => Tensor;
  dispose: () => void;
}

interface VersionDef {
  id: string;
  label: string;
  flops: number;
  /** Bytes a run must read and write at least (for memory-bound kernels). */
  bytes?: number;
  switches?: Switches;
  shape?: Record<string, number | number[]>;
  prepare: () => Prepared;
}

interface CaseDef {
  id: string;
  family: string;
  title: string;
  /** Versions computing the same thing (ratios and agreement are reported); false: distinct passes side by side. */
  compare: boolean;
  shape: Record<string, number | number[]>;
  versions: VersionDef[];
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
type Randn = (shape: number[], std?: number) => Tensor;
/** Random tensors with seeds 1, 2, 3, … — a new counter for each version, so all versions of a case get the same inputs. */
const seeded = (): Randn => {
  let seed = 1;
  return (shape, std = 1) => Tensor.randn(shape, { seed: seed++, std });
};

/** A forward op on fixed inputs. */
function forward(make: (randn: Randn) => Tensor[], op: (t: Tensor[]) => Tensor): () => Prepared {
  return () => {
    const inputs = make(seeded());
    return { run: () => noGrad(() => op(inputs)), dispose: () => inputs.forEach((t) => t.dispose()) };
  };
}

/**
 * The backward of one recorded op alone: the op runs once when prepared (every input requiring a gradient, as
 * parameters do), then each run calls its gradNode's backward with a fixed upstream gradient. Returns the gradient
 * of input `wrt`.
 */
function backwardOf(make: (randn: Randn) => Tensor[], op: (t: Tensor[]) => Tensor, wrt = 0): () => Prepared {
  return () => {
    const randn = seeded();
    const inputs = make(randn);
    inputs.forEach((t) => t.requireGrad());
    const y = op(inputs);
    const g = randn([...y.shape]);
    const node = y.gradNode;
    if (!node) throw new Error('kernel-guide: the op recorded no backward');
    return {
      run: () =>
        noGrad(() => {
          const grads = node.backward(
            g,
            node.inputs.map(() => null),
          );
          grads.forEach((t, i) => {
            if (i !== wrt) t?.dispose();
          });
          return grads[wrt]!;
        }),
      dispose: () => [y, g, ...inputs].forEach((t) => t.dispose()),
    };
  };
}

function conv2dOut(h: number, k: number, s: number, p: number): number {
  return Math.floor((h + 2 * p - k) / s) + 1;
}

export function cases(): CaseDef[] {
  const out: CaseDef[] = [];

  // 01 elementwise: one output shape, three index paths.
  {
    const x: Shape4 = [64, 64, 32, 32];
    const n = size(x);
    out.push({
      id: 'elementwise',
      family: 'elementwise',
      title: `elementwise ops on [${x.join(', ')}]`,
      compare: false,
      shape: { x, elements: n },
      versions: [
        {
          id: 'relu',
          label: 'unary relu(x)',
          flops: n,
          bytes: 8 * n,
          prepare: forward(
            (randn) => [randn(x)],
            ([a]) => unary(a!, 'relu'),
          ),
        },
        {
          // the same kernel with one element per invocation: a workgroup per 256 elements instead of per 2048
          id: 'relu-per1',
          label: 'unary relu(x) with PER = 1 (one element per invocation; the engine runs PER = 8)',
          flops: n,
          bytes: 8 * n,
          prepare: () => {
            const [a] = [seeded()(x)];
            return {
              run: () => {
                const y = Tensor.empty(x);
                engine().launch(
                  { shader: 'unary', subs: { EXPR: UNARY_OPS.relu.f }, constants: { PER: 1 } },
                  {
                    params: shaderParams('unary', { n, a: 0, b: 0 }),
                    buffers: [a!.buffer, y.buffer],
                    workgroups: grid1d(n, 256),
                  },
                );
                return y;
              },
              dispose: () => a!.dispose(),
            };
          },
        },
        {
          id: 'add-same',
          label: 'binary x + y, same shapes (SAME_SHAPE)',
          flops: n,
          bytes: 12 * n,
          prepare: forward(
            (randn) => [randn(x), randn(x)],
            ([a, b]) => add(a!, b!),
          ),
        },
        {
          id: 'add-bias',
          label: `binary x + b, b [1, ${x[1]}, 1, 1] broadcast`,
          flops: n,
          bytes: 8 * n + 4 * x[1],
          prepare: forward(
            (randn) => [randn(x), randn([1, x[1], 1, 1])],
            ([a, b]) => add(a!, b!),
          ),
        },
      ],
    });
  }

  // 02 reductions: the host's choice between per_thread and per_workgroup, one step either side of each threshold.
  for (const [id, rowsA, rowsB, colsA, colsB] of [
    ['reduce-rows', 16383, 16384, 256, 256],
    ['reduce-length', 4096, 4096, 127, 128],
  ] as const) {
    const v = (rows: number, cols: number): VersionDef => ({
      id: `${rows}x${cols}`,
      label: `sum over the last axis of [${rows}, ${cols}]`,
      flops: rows * cols,
      bytes: 4 * rows * cols + 4 * rows,
      shape: { rows, cols },
      prepare: forward(
        (randn) => [randn([rows, cols])],
        ([a]) => sum(a!, 1),
      ),
    });
    out.push({
      id,
      family: 'reductions',
      compare: false,
      shape: { rowsA, rowsB, colsA, colsB },
      title:
        id === 'reduce-rows'
          ? 'row sums either side of the output-count threshold'
          : 'row sums either side of the row-length threshold',
      versions: [v(rowsA, colsA), v(rowsB, colsB)],
    });
  }

  // The two entry points forced on the same shape: few long rows (a loss, a bias gradient), many short ones.
  for (const [id, rows, cols, title] of [
    ['reduce-few-long', 16, 65536, 'few long rows'],
    ['reduce-many-short', 65536, 16, 'many short rows'],
  ] as const) {
    out.push({
      id,
      family: 'reductions',
      compare: true,
      shape: { rows, cols },
      title: `${title}: sum over the last axis of [${rows}, ${cols}], each entry point forced`,
      versions: (['per_thread', 'per_workgroup'] as const).map((entry) => ({
        id: entry,
        label: entry === 'per_thread' ? 'one invocation per output' : 'one workgroup per output',
        flops: rows * cols,
        bytes: 4 * rows * cols + 4 * rows,
        switches: { reduce: entry },
        prepare: forward(
          (randn) => [randn([rows, cols])],
          ([a]) => sum(a!, 1),
        ),
      })),
    });
  }

  // 03 matmul: a square product (naive → register → tiled) and a small output with a long k (split-K).
  {
    const S = 768;
    const mk = (randn: Randn) => [randn([S, S]), randn([S, S])];
    const mm = ([a, b]: Tensor[]) => matmul(a!, b!);
    const ver = (id: NonNullable<Switches['matmul']>, label: string, matmulSg?: boolean): VersionDef => ({
      id: matmulSg ? 'register-sg' : id,
      label,
      flops: 2 * S ** 3,
      switches: { matmul: id, ...(matmulSg === undefined ? {} : { matmulSg }) },
      prepare: forward(mk, mm),
    });
    out.push({
      id: 'matmul-square',
      family: 'matmul',
      title: `C = A·B, ${S}×${S}×${S}`,
      compare: true,
      shape: { M: S, N: S, K: S, batch: 1 },
      versions: [
        ver('naive', 'v1 naive: one output per invocation'),
        ver('register', 'v2 register tiles', false),
        ver('register', 'v2 register tiles, A shared across a subgroup, B as vec4s (matmul_sg, lavapipe)', true),
        ver('tiled', 'v3 workgroup-memory tiles'),
        ver('tiled-vec4', 'v4 workgroup-memory tiles read as vec4s'),
        ver('tiled-128', 'v3 with 128 × 128 tiles, 8 × 8 per invocation'),
        ver('tiled-128-vec4', 'v4 with 128 × 128 tiles, 8 × 8 per invocation'),
      ],
    });
  }
  {
    const [M, N, K] = [64, 64, 16384];
    const mk = (randn: Randn) => [randn([M, K]), randn([K, N])];
    const mm = ([a, b]: Tensor[]) => matmul(a!, b!);
    const flops = 2 * M * N * K;
    out.push({
      id: 'matmul-splitk',
      family: 'matmul',
      title: `C = A·B with a small C and a long k: ${M}×${N}, k = ${K}`,
      compare: true,
      shape: { M, N, K, batch: 1 },
      versions: [
        { id: 'naive', label: 'v1 naive', flops, switches: { matmul: 'naive' }, prepare: forward(mk, mm) },
        {
          id: 'register',
          label: 'v2 register tiles, one pass',
          flops,
          switches: { matmul: 'register' },
          prepare: forward(mk, mm),
        },
        {
          id: 'register-splitk',
          label: 'v2 register tiles, split-K + matmul_split_sum',
          flops,
          switches: { matmul: 'register', splitK: true },
          prepare: forward(mk, mm),
        },
        {
          id: 'tiled',
          label: 'v3 workgroup tiles, one pass',
          flops,
          switches: { matmul: 'tiled' },
          prepare: forward(mk, mm),
        },
        {
          id: 'tiled-splitk',
          label: 'v3 workgroup tiles, split-K + matmul_split_sum',
          flops,
          switches: { matmul: 'tiled', splitK: true },
          prepare: forward(mk, mm),
        },
      ],
    });
  }

  // 04 conv: the DCGAN discriminator's second layer at batch 64, each pass in both versions; the two shape-picked paths.
  {
    const [N, Cin, H, W, Cout, k, s, p] = [64, 64, 14, 14, 128, 4, 2, 1];
    const Ho = conv2dOut(H, k, s, p);
    const Wo = conv2dOut(W, k, s, p);
    const xs: Shape4 = [N, Cin, H, W];
    const geom = { N, Cin, H, W, Cout, kh: k, kw: k, stride: s, padding: p, Ho, Wo };
    const flops = 2 * N * Cout * Ho * Wo * Cin * k * k;
    const opts = { stride: s, padding: p };
    const passes: [string, string, (randn: Randn) => Tensor[], (t: Tensor[]) => Tensor][] = [
      [
        'conv-forward',
        'forward y = conv2d(x, w)',
        (randn) => [randn(xs), randn([Cout, Cin, k, k], 0.05)],
        ([x, w]) => conv2d(x!, w!, null, opts),
      ],
      [
        'conv-input-grad',
        'input gradient dx = conv2dInputGrad(dy, w) (the transposed gather)',
        (randn) => [randn([N, Cout, Ho, Wo]), randn([Cout, Cin, k, k], 0.05)],
        ([dy, w]) => conv2dInputGrad(xs, w!, dy!, opts),
      ],
      [
        'conv-weight-grad',
        'weight gradient dw = conv2dWeightGrad(x, dy): split-K, and as a gather',
        (randn) => [randn(xs), randn([N, Cout, Ho, Wo])],
        ([x, dy]) => conv2dWeightGrad(x!, [k, k], dy!, opts),
      ],
    ];
    for (const [id, what, mk, op] of passes) {
      out.push({
        id,
        family: 'conv',
        compare: true,
        shape: geom,
        title: `DCGAN D2 (conv ${Cin}→${Cout}, ${H}×${W}→${Ho}×${Wo}, k${k} s${s} p${p}), batch ${N}: ${what}`,
        versions: [
          ...(
            [
              'naive',
              'register',
              'register-sg',
              'tiled',
              'register-tm8',
              'register-tm32',
              'tiled-m16',
              'tiled-128',
              'tiled-vec4',
              'tiled-128-vec4',
            ] as const
          ).map((v) => ({
            id: v,
            label: {
              naive: 'v1 naive: one output value per invocation',
              register: 'register tiles',
              'register-sg': 'register tiles, shared loads split across a subgroup',
              tiled: 'workgroup-memory tiles',
              'register-tm8': 'register tiles of 8 output channels (the default: 16)',
              'register-tm32': 'register tiles of 32 output channels',
              'tiled-m16': 'workgroup-memory tiles of 16 output channels (the default: 64)',
              'tiled-128': 'workgroup-memory tiles of 128 output channels where the pass has more than 64',
              'tiled-vec4': 'workgroup-memory tiles read as vec4s',
              'tiled-128-vec4': 'tiles of 128 channels read as vec4s',
            }[v],
            flops,
            // the weight gradient's versions all split-K; the gather route is a version of its own
            switches: id === 'conv-weight-grad' ? { conv: v, wgrad: 'split' as const } : { conv: v },
            prepare: forward(mk, op),
          })),
          ...(id === 'conv-weight-grad'
            ? [
                {
                  id: 'register-sg-gather',
                  label: 'as a gather: images and channels trade roles (register tiles, subgroup loads)',
                  flops,
                  switches: { conv: 'register-sg' as const, wgrad: 'gather' as const },
                  prepare: forward(mk, op),
                },
              ]
            : []),
        ],
      });
    }
  }
  {
    // G1: z [N,100,1,1] → [N,256,3,3], k3 s2 — as one matrix product, or (the same numbers) as the generic transposed gather.
    const [N, Cin, Cout, k, s] = [64, 100, 256, 3, 2];
    const mk = (randn: Randn) => [randn([N, Cin, 1, 1]), randn([Cin, Cout, k, k], 0.05)];
    const flops = 2 * N * Cin * Cout * k * k;
    const gather = (v: 'register' | 'tiled'): VersionDef => ({
      id: `gather-${v}`,
      label: `generic transposed gather (${v}), via conv2dInputGrad`,
      flops,
      switches: { conv: v },
      prepare: forward(mk, ([z, w]) => conv2dInputGrad([N, Cout, k, k], w!, z!, { stride: s })),
    });
    out.push({
      id: 'conv-point',
      family: 'conv',
      compare: true,
      shape: { N, Cin, Cout, kh: k, kw: k, stride: s, H: 1, W: 1, Ho: k, Wo: k },
      title: `DCGAN G1 (convTranspose ${Cin}→${Cout}, 1×1→${k}×${k}, k${k} s${s}), batch ${N}: forward`,
      versions: [
        {
          id: 'point-matmul',
          label: 'convTranspose2d: 1×1 input → one matrix product',
          flops,
          prepare: forward(mk, ([z, w]) => convTranspose2d(z!, w!, null, { stride: s })),
        },
        gather('register'),
        gather('tiled'),
      ],
    });
  }
  {
    // G2: a transposed gather over a 3×3 source grid, by stride phases or as a 1×1 conv and conv_col2im_planes.
    const [N, Cin, Cout, H, k, s] = [64, 256, 128, 3, 3, 2];
    const Ho = (H - 1) * s + k;
    const mk = (randn: Randn) => [randn([N, Cin, H, H]), randn([Cin, Cout, k, k], 0.05)];
    const flops = 2 * N * Cin * H * H * Cout * k * k;
    out.push({
      id: 'conv-small-grid',
      family: 'conv',
      compare: true,
      shape: { N, Cin, Cout, kh: k, kw: k, stride: s, H, W: H, Ho, Wo: Ho },
      title: `DCGAN G2 (convTranspose ${Cin}→${Cout}, ${H}×${H}→${Ho}×${Ho}, k${k} s${s}), batch ${N}: forward`,
      versions: (['phases', 'cols'] as const).map((route) => ({
        id: `register-sg-${route}`,
        label:
          route === 'phases'
            ? 'the transposed gather by stride phases (register tiles, subgroup loads)'
            : 'a 1×1 conv (the same gather, one tap), then conv_col2im_planes',
        flops,
        switches: { conv: 'register-sg' as const, transposed: route },
        prepare: forward(mk, ([x, w]) => convTranspose2d(x!, w!, null, { stride: s })),
      })),
    });
  }
  {
    // One output channel: G4 forward (64→1), as matmul + conv_col2im or as a 1×1 conv and conv_col2im_planes.
    const N = 64;
    const g4 = { Cin: 64, H: 15, W: 15, k: 3, s: 2, p: 2, op: 1 };
    const g4Out = (g4.H - 1) * g4.s - 2 * g4.p + g4.k + g4.op;
    const flops = 2 * N * g4.Cin * g4.H * g4.W * g4.k * g4.k;
    out.push({
      id: 'conv-one-channel',
      family: 'conv',
      compare: true,
      shape: { N, Cin: g4.Cin, Cout: 1, kh: g4.k, kw: g4.k, stride: g4.s, H: g4.H, W: g4.W, Ho: g4Out, Wo: g4Out },
      title: `DCGAN G4 (convTranspose ${g4.Cin}→1, ${g4.H}×${g4.W}→${g4Out}×${g4Out}, k${g4.k} s${g4.s} p${g4.p} op${g4.op}), batch ${N}: forward`,
      versions: (['phases', 'cols'] as const).map((route) => ({
        id: route === 'phases' ? 'matmul-col2im' : 'register-sg-cols',
        label:
          route === 'phases'
            ? 'a matrix product (each source pixel times every tap), then conv_col2im'
            : 'a 1×1 conv (the gather, one tap, weights shared by subgroups), then conv_col2im_planes',
        flops,
        switches: { conv: 'register-sg' as const, transposed: route },
        prepare: forward(
          (randn) => [randn([N, g4.Cin, g4.H, g4.W]), randn([g4.Cin, 1, g4.k, g4.k], 0.05)],
          ([x, w]) => convTranspose2d(x!, w!, null, { stride: g4.s, padding: g4.p, outputPadding: g4.op }),
        ),
      })),
    });
  }

  // 05 pooling: 2×2 windows, stride 2, on a 4-million-element input.
  {
    const x: Shape4 = [16, 64, 64, 64];
    const o: Shape4 = [16, 64, 32, 32];
    const [nIn, nOut] = [size(x), size(o)];
    const po = { kernelSize: 2, stride: 2 };
    out.push({
      id: 'pool',
      family: 'pooling',
      title: `2×2 pooling, stride 2, [${x.join(', ')}] → [${o.join(', ')}]`,
      compare: false,
      shape: { x, out: o, kernel: 2, stride: 2 },
      versions: [
        {
          id: 'max-forward',
          label: 'max forward (value + argmax)',
          flops: 3 * nOut,
          bytes: 4 * nIn + 8 * nOut,
          prepare: forward(
            (randn) => [randn(x)],
            ([a]) => maxPool2d(a!, po),
          ),
        },
        {
          id: 'max-backward',
          label: 'max backward (gather per input)',
          flops: nIn,
          bytes: 8 * nOut + 4 * nIn,
          prepare: backwardOf(
            (randn) => [randn(x)],
            ([a]) => maxPool2d(a!, po),
          ),
        },
        {
          id: 'avg-forward',
          label: 'avg forward',
          flops: 4 * nOut,
          bytes: 4 * nIn + 4 * nOut,
          prepare: forward(
            (randn) => [randn(x)],
            ([a]) => avgPool2d(a!, po),
          ),
        },
        {
          id: 'avg-backward',
          label: 'avg backward (the windows tile the input: one invocation per window, backward_blocks)',
          flops: nIn,
          bytes: 4 * nOut + 4 * nIn,
          prepare: backwardOf(
            (randn) => [randn(x)],
            ([a]) => avgPool2d(a!, po),
          ),
        },
        {
          id: 'avg-backward-gather',
          label: 'avg backward (gather per input, as for windows that overlap)',
          flops: nIn,
          bytes: 4 * nOut + 4 * nIn,
          switches: { avgBlocks: false },
          prepare: backwardOf(
            (randn) => [randn(x)],
            ([a]) => avgPool2d(a!, po),
          ),
        },
      ],
    });
  }

  // 06 batchnorm, training mode, with γ and β: a large map (M = 65,536 values per channel) and the DCGAN's small
  // ones (256 channels of 3×3 at batch 16: M = 144, where the reductions' barriers matter most).
  for (const [id, x] of [
    ['batchnorm', [64, 64, 32, 32]],
    ['batchnorm-small', [16, 256, 3, 3]],
  ] as [string, Shape4][]) {
    const n = size(x);
    const C = x[1];
    const mk = (randn: Randn) => [randn(x), randn([C]), randn([C])];
    const bn = ([a, g, b]: Tensor[]) => batchNorm(a!, g!, b!, null, null, { training: true, eps: 1e-5 });
    out.push({
      id,
      family: 'batchnorm',
      title: `batchNorm(x) in training mode, x [${x.join(', ')}]`,
      compare: false,
      shape: { x, C, M: n / C },
      versions: [
        // forward: batch_stats reads x twice (mean, then variance), normalize reads x and writes y.
        // backward: backward_sums reads x and dy; backward_dx reads x and dy and writes dx.
        // Each with the reductions a workgroup per channel (batchnorm.wgsl) and a subgroup per channel
        // (batchnorm_sg.wgsl where the engine takes it: lavapipe).
        ...[false, true].flatMap((bnSg): VersionDef[] => [
          {
            id: bnSg ? 'forward-sg' : 'forward',
            label: `forward: batch_stats + normalize${bnSg ? ', statistics a subgroup per channel (batchnorm_sg, lavapipe)' : ''}`,
            flops: 5 * n,
            bytes: 16 * n,
            switches: { bnSg },
            prepare: forward(mk, bn),
          },
          {
            id: bnSg ? 'backward-sg' : 'backward',
            label: `backward: backward_sums + backward_dx${bnSg ? ', sums a subgroup per channel (batchnorm_sg, lavapipe)' : ''}`,
            flops: 8 * n,
            bytes: 20 * n,
            switches: { bnSg },
            prepare: backwardOf(mk, bn),
          },
        ]),
      ],
    });
  }

  // 07 Gram matrices as style transfer takes them: 64 channels of a 128×128 map.
  {
    const f: Shape4 = [1, 64, 128, 128];
    const [C, HW] = [f[1], f[2] * f[3]];
    const flops = 2 * C * C * HW;
    const vers = (pass: 'forward' | 'backward'): VersionDef[] =>
      (
        [
          ['register', 'register tiles, one pass', { matmul: 'register' }],
          // the backward's products are 16,384 columns wide: matmul_sg applies there (lavapipe's default)
          ...(pass === 'backward'
            ? [
                [
                  'register-sg',
                  'register tiles, A shared across a subgroup (matmul_sg, lavapipe), one pass',
                  { matmul: 'register', matmulSg: true },
                ],
              ]
            : []),
          ['register-splitk', 'register tiles, split-K', { matmul: 'register', splitK: true }],
          ['tiled', 'workgroup tiles, one pass', { matmul: 'tiled' }],
          ['tiled-splitk', 'workgroup tiles, split-K', { matmul: 'tiled', splitK: true }],
        ] as [string, string, Switches][]
      ).map(([id, label, switches]) => ({
        id,
        label,
        flops,
        switches,
        prepare:
          pass === 'forward'
            ? forward(
                (randn) => [randn(f)],
                ([a]) => gram(a!),
              )
            : backwardOf(
                (randn) => [randn(f)],
                ([a]) => gram(a!),
              ),
      }));
    out.push({
      id: 'gram-forward',
      family: 'gram',
      title: `G = F·Fᵀ / HW for f [${f.join(', ')}]`,
      compare: true,
      shape: { f, C, HW },
      versions: vers('forward'),
    });
    out.push({
      id: 'gram-backward',
      family: 'gram',
      title: `df = (dG + dGᵀ)·F / HW for f [${f.join(', ')}]`,
      compare: true,
      shape: { f, C, HW },
      versions: vers('backward'),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The run

const log = (msg: string): void => void process.stderr.write(msg + '\n');
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** Groups launches by kernel (shader, entry, substitutions, constants), with each distinct grid and its count. */
function groupLaunches(
  raw: {
    kernel: {
      shader: string;
      entry?: string;
      subs?: Record<string, string>;
      constants?: Record<string, number | boolean>;
    };
    workgroups: [number, number, number];
  }[],
): LaunchRecord[] {
  const out = new Map<string, LaunchRecord>();
  for (const { kernel, workgroups } of raw) {
    const key = JSON.stringify([kernel.shader, kernel.entry ?? 'main', kernel.subs ?? {}, kernel.constants ?? {}]);
    let rec = out.get(key);
    if (!rec) {
      rec = { shader: kernel.shader, entry: kernel.entry ?? 'main', launches: 0, workgroups: 0, grids: [] };
      if (kernel.subs && Object.keys(kernel.subs).length) rec.subs = { ...kernel.subs };
      if (kernel.constants && Object.keys(kernel.constants).length) rec.constants = { ...kernel.constants };
      out.set(key, rec);
    }
    rec.launches++;
    rec.workgroups += workgroups[0] * workgroups[1] * workgroups[2];
    const g = rec.grids.find((x) => x.workgroups.every((v, i) => v === workgroups[i]));
    if (g) g.count++;
    else rec.grids.push({ workgroups: [...workgroups], count: 1 });
  }
  return [...out.values()];
}

export interface MeasureOptions {
  root: string;
  /** Only the cases whose id contains this. */
  only?: string;
}

export async function measure(opts: MeasureOptions): Promise<GuideResults> {
  const loadStart = loadavg().map((x) => round(x, 2));
  const started = performance.now();
  const eng = await initEngine();
  const mm = await matmulSwitches(opts.root);
  const splitDefaults = { ...mm.splitK };
  const adapter = eng.adapter;
  log(`kernel-guide: ${adapter.description || adapter.vendor}, load average ${loadStart.join(' ')}`);
  const probe = await createCeilingProbe(eng.device);
  log(`FMA ceiling ${probe.calibration.gflops.toFixed(1)} GFLOP/s`);
  const rules = samplingRules(true, 'layer');

  const apply = (s: Switches = {}): void => {
    setConvVersion(s.conv ?? null);
    setWgradRoute(s.wgrad ?? 'auto');
    setTransposedRoute(s.transposed ?? 'auto');
    // The split-K versions split by the GPU rule (≥ 128 workgroups, chunks ≥ splitK.minChunk) on every adapter.
    const matmul = s.matmulSg && mm.MATMUL_VERSIONS?.includes('register-sg') ? 'register-sg' : s.matmul;
    mm.setMatmulVersion(matmul && matmul !== 'naive' && s.splitK ? `${matmul}-splitk` : (matmul ?? null));
    Object.assign(mm.splitK, splitDefaults);
    if (mm.matmulSubgroups) mm.matmulSubgroups.enabled = s.matmulSg ?? true;
    // Looked up, not imported by name: engines before batchnorm_sg.wgsl have no switch.
    const bn = (norm as { bnSubgroups?: { enabled: boolean } }).bnSubgroups;
    if (bn) bn.enabled = s.bnSg ?? true;
    const blocks = (pool as { avgPoolBlocks?: { enabled: boolean } }).avgPoolBlocks;
    if (blocks) blocks.enabled = s.avgBlocks ?? true;
    const entry = (reduceKernel as { reduceEntry?: { forced: string | null } }).reduceEntry;
    if (entry) entry.forced = s.reduce ?? null;
  };

  let recording:
    { kernel: Parameters<NonNullable<typeof eng.onLaunch>>[0]; workgroups: [number, number, number] }[] | null = null;
  eng.onLaunch = (kernel, workgroups) => {
    if (recording) recording.push({ kernel: { ...kernel }, workgroups: [...workgroups] });
  };

  const results: CaseResult[] = [];
  for (const c of cases().filter((x) => !opts.only || x.id.includes(opts.only))) {
    const prepared: (Prepared | undefined)[] = [];
    const launches: LaunchRecord[][] = c.versions.map(() => []);
    const raw: Parameters<typeof groupLaunches>[0][] = c.versions.map(() => []);
    const contenders: Contender[] = c.versions.map((v, i) => ({
      name: v.id,
      activate: () => apply(v.switches),
      prepare: async () => {
        const p = v.prepare();
        prepared[i] = p;
        await eng.sync();
        recording = raw[i]!;
        return async () => {
          tidy(() => void p.run());
          await eng.sync();
        };
      },
      afterFirstRun: () => {
        recording = null;
        launches[i] = groupLaunches(raw[i]!);
      },
    }));
    const ceilings: number[] = [];
    const ceilingNow = async (): Promise<void> => void ceilings.push((await probe.measure()).gflops);
    log(`${c.id}: ${c.versions.map((v) => v.id).join(', ')}`);
    const res = await interleave(contenders, rules, { beforeSamples: ceilingNow, afterSamples: ceilingNow });
    recording = null;

    // Agreement between versions computing the same thing: one more run each, compared with the first version's.
    const agreement: ({ maxAbsDiff: number; maxAbsRef: number } | undefined)[] = [];
    if (c.compare) {
      let ref: Float32Array | undefined;
      for (let i = 0; i < c.versions.length; i++) {
        const p = prepared[i];
        if (!p || res.sides[i]!.status === 'error') continue;
        apply(c.versions[i]!.switches);
        const y = p.run();
        const got = await y.toArray();
        y.dispose();
        if (!ref) ref = got;
        let diff = 0;
        let mag = 0;
        for (let j = 0; j < ref.length; j++) {
          diff = Math.max(diff, Math.abs(got[j]! - ref[j]!));
          mag = Math.max(mag, Math.abs(ref[j]!));
        }
        agreement[i] = { maxAbsDiff: Number(diff.toPrecision(3)), maxAbsRef: Number(mag.toPrecision(3)) };
      }
    }
    apply();
    prepared.forEach((p) => p?.dispose());

    const versions: VersionResult[] = c.versions.map((v, i) => {
      const s = res.sides[i]!;
      const r: VersionResult = { id: v.id, label: v.label, status: s.status, flops: v.flops };
      if (v.bytes !== undefined) r.bytes = v.bytes;
      if (v.shape) r.shape = v.shape;
      if (v.switches) r.switches = { ...v.switches };
      if (s.note) r.note = s.note;
      if (s.timing) {
        const t = s.timing;
        r.timing = {
          median: round(t.median),
          min: round(t.min),
          max: round(t.max),
          samples: t.samples.map((x) => round(x)),
          firstRunMs: round(t.firstRunMs),
          warmupMs: (t.warmupMs ?? []).map((x) => round(x)),
        };
      } else if (s.firstRunMs !== undefined) r.firstRunMs = round(s.firstRunMs);
      r.launches = launches[i]!;
      if (agreement[i]) r.agreement = agreement[i];
      return r;
    });
    const caseResult: CaseResult = {
      id: c.id,
      family: c.family,
      title: c.title,
      compare: c.compare,
      shape: c.shape,
      rounds: res.rounds,
      ceilingSamples: ceilings.map((x) => round(x, 2)),
      loadavg1AtEnd: round(loadavg()[0]!, 2),
      versions,
    };
    results.push(caseResult);
    for (const v of versions) {
      log(
        `  ${v.id}: ${v.timing ? `${v.timing.median} ms (${v.timing.min}–${v.timing.max}, n=${v.timing.samples.length}), first ${v.timing.firstRunMs} ms` : `${v.status} ${v.note ?? ''}`}`,
      );
    }
    log(`  ceiling ${caseResult.ceilingSamples.join(' / ')} GFLOP/s, load ${caseResult.loadavg1AtEnd}`);
  }
  eng.onLaunch = null;
  probe.destroy();
  const end = await measureFmaCeiling(eng.device);
  const loadEnd = loadavg().map((x) => round(x, 2));
  const threads = adapter.isCPU ? lavapipeThreads() : undefined;
  return {
    tool: 'scripts/kernel-guide.ts --measure (scripts/kernel-guide-measure.ts)',
    adapter: {
      description: adapter.description,
      vendor: adapter.vendor,
      architecture: adapter.architecture,
      device: adapter.device,
      isCPU: adapter.isCPU,
      slug: adapter.slug,
    },
    date: new Date().toISOString(),
    node: process.version,
    cpuCores: availableParallelism(),
    ...(threads !== undefined ? { lavapipeThreads: threads } : {}),
    loadavg: { start: loadStart, end: loadEnd },
    ceiling: { startGflops: round(probe.calibration.gflops, 2), endGflops: round(end.gflops, 2) },
    samplingRules: { ...rules },
    procedure:
      'per case, every version prepared, its first run timed and reported apart, one warm-up run each in a round, then timed rounds ' +
      "alternating the versions in the listed order (bench/harness.ts interleave, samplingRules(true, 'layer')); switches (setConvVersion, setWgradRoute, setTransposedRoute, setMatmulVersion, " +
      'splitK) set before every run, untimed; a run ends when engine().sync() resolves; FMA ceiling (bench/ceiling.ts) in full at the start and the ' +
      "end and briefly right before and after each case's timed rounds",
    wallSeconds: Math.round((performance.now() - started) / 1000),
    cases: results,
  };
}
