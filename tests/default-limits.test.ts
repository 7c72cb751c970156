/**
 * The engine on WebGPU's default limits: 8 storage buffers per shader stage, 16 KiB of workgroup memory, 256
 * invocations per workgroup, 128 MiB per binding. Any conforming adapter offers them, and they are all some
 * browsers and weak GPUs grant; the engine asks for the adapter's larger limits where it has them
 * (src/tensor/gpu.ts), so on this machine's lavapipe (16 storage buffers, 32 KiB, 1024 invocations) the rest of the
 * suite never meets the defaults. Here the device is asked for none: every conv and matmul version (the
 * workgroup-tiled GPU kernels run 256 invocations; the 128 × 128 matmul tiles fill the 16 KiB), Adam's several
 * parameters per launch (as many as 8 storage buffers allow), and two training steps that must give the bits they
 * give with the adapter's limits. `WGPU_GAN_LIMITS=default npm run test:unit` runs the whole suite this way.
 */
import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initEngine, engine, Tensor, tidy } from '../src/tensor/index.ts';
import { getGPU } from '../src/tensor/gpu.ts';
import { setConvVersion, CONV_VERSIONS, type ConvVersion } from '../src/tensor/conv.ts';
import { matmul, setMatmulVersion, MATMUL_VERSIONS } from '../src/tensor/matmul.ts';
import { Adam, adamSlots } from '../src/nn/optim.ts';
import { decodeSafetensors } from '../src/io/safetensors.ts';
import * as R from '../src/reference/optim.ts';
import { matmul as refMatmul } from '../src/reference/elementwise.ts';
import { LESSON_LAYERS, checkLesson } from './conv-cases.ts';
import { randomArray, expectClose } from './helpers.ts';
import { runCli } from './cli-run.ts';

beforeAll(async () => {
  await initEngine({ autotune: 'off', limits: 'default' });
});
afterEach(() => {
  setConvVersion(null);
  setMatmulVersion(null);
});

it("the device has WebGPU's default limits, below what this adapter offers", async () => {
  const limits = (l: GPUSupportedLimits) => [
    l.maxStorageBuffersPerShaderStage,
    l.maxComputeWorkgroupStorageSize,
    l.maxComputeInvocationsPerWorkgroup,
  ];
  expect(limits(engine().device.limits)).toEqual([8, 16384, 256]);
  expect(engine().device.limits.maxStorageBufferBindingSize).toBe(134217728);
  expect(engine().maxTensorBytes).toBe(134217728);
  // Else this file would compare the defaults with themselves: the adapter must offer more of each (lavapipe: 16
  // storage buffers, 32 KiB, 1024 invocations), as the engine asks for by default.
  const adapter = await (await getGPU()).requestAdapter({ powerPreference: 'high-performance' });
  limits(adapter!.limits).forEach((offered, i) => expect(offered).toBeGreaterThan(limits(engine().device.limits)[i]!));
});

describe('every conv version on the default limits: forward, input and weight gradients against float64', () => {
  // The shader each version's gather launches (register-sg runs its _sg kernel only where the device's subgroups
  // qualify, else the plain one).
  const shaders = (v: ConvVersion): string[] =>
    v === 'naive'
      ? ['conv2d_naive']
      : v.startsWith('tiled')
        ? ['conv2d_implicit_gemm_tiled']
        : v === 'register-sg'
          ? ['conv2d_implicit_gemm_sg', 'conv2d_implicit_gemm']
          : ['conv2d_implicit_gemm'];
  const layers = ['DCGAN D2', 'DCGAN G2'].map((n) => LESSON_LAYERS.find((l) => l.name.startsWith(n))!);
  for (const v of CONV_VERSIONS)
    it(v, async () => {
      setConvVersion(v);
      const launched = new Set<string>();
      engine().onLaunch = (k) => void launched.add(k.shader);
      try {
        for (const l of layers) await checkLesson(l);
      } finally {
        engine().onLaunch = null;
      }
      expect(
        shaders(v).some((s) => launched.has(s)),
        [...launched].join(', '),
      ).toBe(true);
      // and no other version's gather
      const others = ['conv2d_naive', 'conv2d_implicit_gemm', 'conv2d_implicit_gemm_sg', 'conv2d_implicit_gemm_tiled'];
      expect(
        others.filter((s) => launched.has(s) && !shaders(v).includes(s)),
        v,
      ).toEqual([]);
    });
});

it('every matmul version on the default limits against float64', async () => {
  const [M, K, N] = [129, 70, 65];
  const a = randomArray(M * K, 1);
  const b = randomArray(K * N, 2);
  const ref = refMatmul(a, b, 1, M, K, N);
  for (const v of MATMUL_VERSIONS) {
    setMatmulVersion(v);
    const A = Tensor.fromArray(Float32Array.from(a), [M, K]);
    const B = Tensor.fromArray(Float32Array.from(b), [K, N]);
    const C = tidy(() => matmul(A, B));
    expectClose(await C.toArray(), ref, 1e-5, v);
    for (const t of [A, B, C]) t.dispose();
  }
});

it('Adam packs as many parameters per launch as 8 storage buffers allow, with the float64 reference’s result', async () => {
  expect(adamSlots()).toBe(2); // four bindings per parameter, and the uniforms are not storage buffers
  const shapes = [[3, 4], [5], [2, 2, 2], [7], [1]];
  const initial = shapes.map((s, k) =>
    Float32Array.from(
      randomArray(
        s.reduce((x, y) => x * y),
        k,
      ),
    ),
  );
  const params = initial.map((v, k) => Tensor.fromArray(v, shapes[k]!).requireGrad());
  const refs = initial.map((v) => R.adamState(v));
  const hp = { lr: 0.01, betas: [0.9, 0.999] as const, eps: 1e-8 };
  const opt = new Adam(params, { lr: hp.lr, betas: [...hp.betas], eps: hp.eps });
  let launches = 0;
  for (let step = 0; step < 2; step++) {
    const grads = params.map((p, k) => randomArray(p.size, 100 + 10 * step + k));
    params.forEach((p, k) => (p.grad = Tensor.fromArray(Float32Array.from(grads[k]), p.shape).keep()));
    engine().onLaunch = (k) => void (k.shader === 'adam' && launches++);
    try {
      opt.step();
    } finally {
      engine().onLaunch = null;
    }
    refs.forEach((r, k) => R.adamStep(r, grads[k], hp));
  }
  expect(launches).toBe(2 * 3); // 5 parameters in launches of 2, each step
  for (let k = 0; k < params.length; k++) expectClose(await params[k].toArray(), refs[k].p, 2e-6, `parameter ${k}`);
  opt.dispose();
  for (const p of params) p.dispose();
});

it('two DCGAN training steps give the same weights, bit for bit, on the default limits as on the adapter’s', async () => {
  const root = resolve(import.meta.dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'limits-'));
  const args = (out: string) => [
    'train',
    ...['--model', 'dcgan', '--dataset', 'mnist', '--limit', '64', '--batch', '16', '--max-steps', '2'],
    ...['--grid', '2', '--final-eval', 'false', '--out', out],
  ];
  // this process's engine has the default limits (the CLI reuses it); a child process gets the adapter's
  const here = await runCli(args(join(dir, 'default')));
  expect(here.code, here.err.join('\n')).toBe(0);
  const env = { ...process.env, WGPU_GAN_LIMITS: 'adapter', WGPU_GAN_AUTOTUNE: 'off' };
  const child = spawnSync(
    join(root, 'node_modules', '.bin', 'tsx'),
    [join(root, 'src', 'cli', 'main.ts'), ...args(join(dir, 'adapter'))],
    { env, encoding: 'utf8', timeout: 240_000 },
  );
  expect(child.status, child.stderr).toBe(0);
  const tensors = (run: string) => decodeSafetensors(readFileSync(join(dir, run, 'checkpoint.safetensors'))).tensors;
  const [onDefault, onAdapter] = [tensors('default'), tensors('adapter')];
  expect([...onDefault.keys()].sort()).toEqual([...onAdapter.keys()].sort());
  expect(onDefault.size).toBeGreaterThan(20);
  for (const [key, t] of onDefault)
    expect(Buffer.from(t.bytes).equals(Buffer.from(onAdapter.get(key)!.bytes)), key).toBe(true);
}, 300_000);
