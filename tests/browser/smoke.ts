// Runs in Chromium: the same engine modules the CLI uses, through navigator.gpu.
import { initEngine, Tensor, matmul, engine } from '../../src/tensor/index.ts';

async function run() {
  const out = document.getElementById('out')!;
  try {
    await initEngine();
    const M = 37,
      K = 29,
      N = 41; // odd sizes: exercises bounds checks
    const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37));
    const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.11));
    const x = Tensor.fromArray(a, [M, K]).requireGrad();
    const y = Tensor.fromArray(b, [K, N]);
    const c = matmul(x, y);
    c.sum().backward();
    const got = await c.toArray();
    const grad = await x.grad!.toArray();
    let err = 0;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
        err = Math.max(err, Math.abs(s - got[i * N + j]));
      }
    // d(sum(x·y))/dx[i][k] = Σ_j y[k][j]
    let gerr = 0;
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let j = 0; j < N; j++) s += b[k * N + j];
        gerr = Math.max(gerr, Math.abs(s - grad[i * K + k]));
      }
    const result = { ok: err < 1e-4 && gerr < 1e-4, maxError: err, gradMaxError: gerr, adapter: engine().adapter };
    (window as unknown as { __smoke: unknown }).__smoke = result;
    out.textContent = JSON.stringify(result, null, 2);
  } catch (e) {
    (window as unknown as { __smoke: unknown }).__smoke = { ok: false, error: String((e as Error).stack ?? e) };
    out.textContent = String(e);
  }
}
run();
