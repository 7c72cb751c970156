/**
 * float64 references for conv2d and convTranspose2d (PyTorch semantics, NCHW, groups = 1), plus their analytic
 * gradients written as the textbook formulas. Every function walks the same index set — (n, out channel, in
 * channel, output pixel, kernel tap) — and the gradients are the forward sum with the roles of the arrays swapped,
 * which is easy to audit. The gradients themselves are checked against finite differences in tests/conv.test.ts.
 * The activation a conv kernel can apply as it writes (lib/activation.wgsl) is not here: the tests compare a fused
 * conv against the unfused one.
 */

export interface ConvRefOpts {
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  outputPadding?: [number, number];
}

/** Shapes of one conv/convT problem; for convT, `x` is the convT input and `w` is [Cin, Cout, kh, kw]. */
export interface ConvShapes {
  x: [number, number, number, number];
  w: [number, number, number, number];
}

/** The op's options as its callers write them (a number or a pair each; conv2d's Conv2dOptions), for refOpts. */
export interface ConvOptionsLike {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  outputPadding?: number | [number, number];
}

/** The reference's options from the op's: every field a pair, defaults filled in (stride 1, padding 0, …). */
export function refOpts(o: ConvOptionsLike): ConvRefOpts {
  const p2 = (v: number | [number, number] | undefined, d: number): [number, number] =>
    v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;
  return {
    stride: p2(o.stride, 1),
    padding: p2(o.padding, 0),
    dilation: p2(o.dilation, 1),
    outputPadding: p2(o.outputPadding, 0),
  };
}

function geom(o: ConvRefOpts) {
  const [sh, sw] = o.stride ?? [1, 1];
  const [ph, pw] = o.padding ?? [0, 0];
  const [dh, dw] = o.dilation ?? [1, 1];
  const [oph, opw] = o.outputPadding ?? [0, 0];
  return { sh, sw, ph, pw, dh, dw, oph, opw };
}

export function refConv2dOutShape(s: ConvShapes, o: ConvRefOpts): [number, number, number, number] {
  const [N, , H, W] = s.x;
  const [Cout, , kh, kw] = s.w;
  const g = geom(o);
  const Ho = Math.floor((H + 2 * g.ph - g.dh * (kh - 1) - 1) / g.sh) + 1;
  const Wo = Math.floor((W + 2 * g.pw - g.dw * (kw - 1) - 1) / g.sw) + 1;
  return [N, Cout, Ho, Wo];
}

export function refConvT2dOutShape(s: ConvShapes, o: ConvRefOpts): [number, number, number, number] {
  const [N, , H, W] = s.x;
  const [, Cout, kh, kw] = s.w;
  const g = geom(o);
  const Ho = (H - 1) * g.sh - 2 * g.ph + g.dh * (kh - 1) + g.oph + 1;
  const Wo = (W - 1) * g.sw - 2 * g.pw + g.dw * (kw - 1) + g.opw + 1;
  return [N, Cout, Ho, Wo];
}

/**
 * Visits every (conv input element, conv output element, weight element) triple that a conv2d multiplies:
 * y[n,co,oh,ow] += x[n,ci,oh·s−p+i·d, ow·s−p+j·d] · w[co,ci,i,j]. Indices are flat offsets.
 * `xShape` is the conv input [N,Cin,H,W], `yShape` the conv output [N,Cout,Ho,Wo].
 */
function forEachTap(
  xShape: number[],
  yShape: number[],
  kh: number,
  kw: number,
  o: ConvRefOpts,
  visit: (xi: number, yi: number, wi: number) => void,
): void {
  const [N, Cin, H, W] = xShape;
  const [, Cout, Ho, Wo] = yShape;
  const g = geom(o);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Cout; co++)
      for (let ci = 0; ci < Cin; ci++)
        for (let oh = 0; oh < Ho; oh++)
          for (let i = 0; i < kh; i++) {
            const ih = oh * g.sh - g.ph + i * g.dh;
            if (ih < 0 || ih >= H) continue;
            for (let ow = 0; ow < Wo; ow++)
              for (let j = 0; j < kw; j++) {
                const iw = ow * g.sw - g.pw + j * g.dw;
                if (iw < 0 || iw >= W) continue;
                visit(
                  ((n * Cin + ci) * H + ih) * W + iw,
                  ((n * Cout + co) * Ho + oh) * Wo + ow,
                  ((co * Cin + ci) * kh + i) * kw + j,
                );
              }
          }
}

function addBias(y: Float64Array, yShape: number[], b: Float64Array | null): void {
  if (!b) return;
  const [N, C, H, W] = yShape;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) y[(n * C + c) * H * W + p] += b[c];
}

/** Sum of dy over batch and pixels, per channel: the bias gradient of both ops. */
export function refBiasGrad(dy: Float64Array, yShape: number[]): Float64Array {
  const [N, C, H, W] = yShape;
  const db = new Float64Array(C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) db[c] += dy[(n * C + c) * H * W + p];
  return db;
}

export function refConv2d(
  x: Float64Array,
  w: Float64Array,
  b: Float64Array | null,
  s: ConvShapes,
  o: ConvRefOpts = {},
): Float64Array {
  const yShape = refConv2dOutShape(s, o);
  const y = new Float64Array(yShape.reduce((a, c) => a * c, 1));
  forEachTap(s.x, yShape, s.w[2], s.w[3], o, (xi, yi, wi) => {
    y[yi] += x[xi] * w[wi];
  });
  addBias(y, yShape, b);
  return y;
}

/** dL/dx, dL/dw, dL/db of y = conv2d(x, w, b) given dy = dL/dy. */
export function refConv2dGrads(x: Float64Array, w: Float64Array, dy: Float64Array, s: ConvShapes, o: ConvRefOpts = {}) {
  const yShape = refConv2dOutShape(s, o);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  forEachTap(s.x, yShape, s.w[2], s.w[3], o, (xi, yi, wi) => {
    dx[xi] += dy[yi] * w[wi];
    dw[wi] += dy[yi] * x[xi];
  });
  return { dx, dw, db: refBiasGrad(dy, yShape) };
}

/**
 * convTranspose2d is the adjoint of conv2d: with the conv's input being the convT output and the conv's output
 * being the convT input, y[n,co,ih·s−p+i·d,...] += x[n,ci,ih,iw] · w[ci,co,i,j] (w is [Cin, Cout, kh, kw]).
 */
export function refConvTranspose2d(
  x: Float64Array,
  w: Float64Array,
  b: Float64Array | null,
  s: ConvShapes,
  o: ConvRefOpts = {},
): Float64Array {
  const yShape = refConvT2dOutShape(s, o);
  const y = new Float64Array(yShape.reduce((a, c) => a * c, 1));
  // In the conv view: conv input = y (Cout_t channels), conv output = x (Cin_t channels), conv weight = w.
  forEachTap(yShape, s.x, s.w[2], s.w[3], o, (yi, xi, wi) => {
    y[yi] += x[xi] * w[wi];
  });
  addBias(y, yShape, b);
  return y;
}

export function refConvTranspose2dGrads(
  x: Float64Array,
  w: Float64Array,
  dy: Float64Array,
  s: ConvShapes,
  o: ConvRefOpts = {},
) {
  const yShape = refConvT2dOutShape(s, o);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  forEachTap(yShape, s.x, s.w[2], s.w[3], o, (yi, xi, wi) => {
    dx[xi] += dy[yi] * w[wi];
    dw[wi] += dy[yi] * x[xi];
  });
  return { dx, dw, db: refBiasGrad(dy, yShape) };
}
