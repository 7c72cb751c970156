/**
 * Spatial pooling and nearest upsampling on NCHW tensors (torch.nn.MaxPool2d / AvgPool2d / Upsample semantics).
 *
 * Every backward gives each input pixel one writer, so overlapping windows are handled without atomics and results
 * are bit-for-bit reproducible: a gather (one invocation per input pixel sums the output gradients that came from
 * it), or, for average pooling whose windows tile the input exactly, one invocation per window writing its pixels
 * (`backward_blocks`; `avgPoolBlocks.enabled` off: always the gather, for tests and the kernel guide).
 */
import { engine, grid1d } from './engine.ts';
import { shaderParams, type ParamBlock } from './params.ts';
import { Tensor } from './tensor.ts';
import { record } from '../autograd/record.ts';
import { formatShape } from './shape.ts';

/** A size given once for both spatial dimensions or as [height, width]. */
export type Size2 = number | readonly [number, number];

export interface PoolOptions {
  kernelSize: Size2;
  /** Defaults to kernelSize (non-overlapping windows). */
  stride?: Size2;
  /** Implicit padding on each side; at most half the kernel, as in torch. */
  padding?: Size2;
}

export interface AvgPoolOptions extends PoolOptions {
  /** Whether zero padding counts in the divisor (torch count_include_pad, default true). */
  countIncludePad?: boolean;
}

function pair(v: Size2, op: string, field: string, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || p.some((d) => !Number.isInteger(d) || d < min)) {
    throw new Error(`${op}: ${field} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

function require4d(x: Tensor, op: string): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`${op}: input must be 4-D [N, C, H, W], got shape ${formatShape(x.shape)}`);
  return x.shape as unknown as [number, number, number, number];
}

interface PoolGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
}

function poolGeometry(x: Tensor, o: PoolOptions, op: string): PoolGeometry {
  const [N, C, H, W] = require4d(x, op);
  const k = pair(o.kernelSize, op, 'kernelSize', 1);
  const s = pair(o.stride ?? k, op, 'stride', 1);
  const p = pair(o.padding ?? 0, op, 'padding', 0);
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) {
    throw new Error(`${op}: padding ${formatShape(p)} must be at most half of kernelSize ${formatShape(k)}`);
  }
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1;
  const OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  if (OH < 1 || OW < 1) {
    throw new Error(
      `${op}: input ${formatShape(x.shape)} is smaller than kernelSize ${formatShape(k)} with padding ${formatShape(p)}`,
    );
  }
  return { N, C, H, W, OH, OW, k, s, p };
}

function poolParams(shader: 'pool_max' | 'pool_avg', geo: PoolGeometry, count: number): ParamBlock {
  const { H, W, OH, OW, k, s, p } = geo;
  return shaderParams(shader, { count, H, W, OH, OW, kh: k[0], kw: k[1], sh: s[0], sw: s[1], ph: p[0], pw: p[1] });
}

/**
 * Max pooling. Padding counts as −inf. The forward pass also records, per output, the flat position h·W + w
 * of the winning input (first in window order on ties, like torch); backward routes the gradient there.
 */
export function maxPool2d(x: Tensor, opts: PoolOptions): Tensor {
  const geo = poolGeometry(x, opts, 'maxPool2d');
  const outShape = [geo.N, geo.C, geo.OH, geo.OW];
  const out = Tensor.empty(outShape);
  // Argmax positions as u32 bit patterns in an f32 tensor (the kernel binds it as array<u32>).
  const argmax = Tensor.empty(outShape);
  if (out.size > 0) {
    engine().launch(
      { shader: 'pool_max', entry: 'forward' },
      {
        params: poolParams('pool_max', geo, out.size),
        buffers: [x.buffer, out.buffer, argmax.buffer],
        workgroups: grid1d(out.size, 256),
      },
    );
  }
  const recorded = record(out, 'maxPool2d', [x], (dy) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0) {
      engine().launch(
        { shader: 'pool_max', entry: 'backward' },
        {
          params: poolParams('pool_max', geo, dx.size),
          buffers: [dy.buffer, argmax.buffer, dx.buffer],
          workgroups: grid1d(dx.size, 256),
        },
      );
    }
    return [dx];
  });
  // Without a graph nobody needs the indices; with one they live as long as the enclosing tidy scope.
  if (!recorded.gradNode) argmax.dispose();
  return recorded;
}

/** Whether average pooling whose windows tile the input takes `backward_blocks` (off: the per-input gather). */
export const avgPoolBlocks = { enabled: true };

/** Average pooling; zero padding, divisor per torch count_include_pad (default true). */
export function avgPool2d(x: Tensor, opts: AvgPoolOptions): Tensor {
  const geo = poolGeometry(x, opts, 'avgPool2d');
  const kernel = { shader: 'pool_avg', constants: { INCLUDE_PAD: opts.countIncludePad ?? true } };
  const out = Tensor.empty([geo.N, geo.C, geo.OH, geo.OW]);
  if (out.size > 0) {
    engine().launch(
      { ...kernel, entry: 'forward' },
      {
        params: poolParams('pool_avg', geo, out.size),
        buffers: [x.buffer, out.buffer],
        workgroups: grid1d(out.size, 256),
      },
    );
  }
  // Windows that tile the input exactly (ProGAN's 2×2 downsampling): one invocation per window writes its gradients.
  const { H, W, OH, OW, k, s, p } = geo;
  const tiles =
    avgPoolBlocks.enabled &&
    k[0] === s[0] &&
    k[1] === s[1] &&
    p[0] === 0 &&
    p[1] === 0 &&
    OH * k[0] === H &&
    OW * k[1] === W;
  return record(out, 'avgPool2d', [x], (dy) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0) {
      const count = tiles ? dy.size : dx.size;
      engine().launch(
        { ...kernel, entry: tiles ? 'backward_blocks' : 'backward' },
        {
          params: poolParams('pool_avg', geo, count),
          buffers: [dy.buffer, dx.buffer],
          workgroups: grid1d(count, 256),
        },
      );
    }
    return [dx];
  });
}

/** Nearest-neighbour upsampling by integer factors: each pixel becomes a scale×scale block. */
export function upsample2d(x: Tensor, scale: Size2): Tensor {
  const [N, C, H, W] = require4d(x, 'upsample2d');
  const [sh, sw] = pair(scale, 'upsample2d', 'scale', 1);
  const params = (count: number) => shaderParams('upsample', { count, H, W, sh, sw });
  const out = Tensor.empty([N, C, H * sh, W * sw]);
  if (out.size > 0) {
    engine().launch(
      { shader: 'upsample', entry: 'forward' },
      { params: params(x.size), buffers: [x.buffer, out.buffer], workgroups: grid1d(x.size, 256) },
    );
  }
  return record(out, 'upsample2d', [x], (dy) => {
    const dx = Tensor.empty(x.shape);
    if (dx.size > 0) {
      engine().launch(
        { shader: 'upsample', entry: 'backward' },
        { params: params(dx.size), buffers: [dy.buffer, dx.buffer], workgroups: grid1d(dx.size, 256) },
      );
    }
    return [dx];
  });
}
