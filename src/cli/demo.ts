/**
 * Engine demo: fits y = sin(3x)·x on [-1, 1] with a 1-64-64-1 tanh MLP, entirely on the GPU, and prints the
 * loss falling. Plain gradient descent with momentum written out with tensor ops, so it only needs the engine.
 */
import { initEngine, Tensor, tidy, noGrad, memoryStats, engine } from '../tensor/index.ts';

const engineReady = await initEngine();
console.log(
  `adapter: ${engineReady.adapter.description || engineReady.adapter.architecture || engineReady.adapter.vendor} (${engineReady.adapter.slug})`,
);

const N = 256;
const xs = Float32Array.from({ length: N }, (_, i) => -1 + (2 * i) / (N - 1));
const x = Tensor.fromArray(xs, [N, 1]).keep();
const y = Tensor.fromArray(
  xs.map((v) => Math.sin(3 * v) * v),
  [N, 1],
).keep();

const layer = (fanIn: number, fanOut: number, seed: number) => ({
  w: Tensor.randn([fanIn, fanOut], { seed, std: 1 / Math.sqrt(fanIn) })
    .requireGrad()
    .keep(),
  b: Tensor.zeros([fanOut]).requireGrad().keep(),
});
const layers = [layer(1, 64, 1), layer(64, 64, 2), layer(64, 1, 3)];
const params = layers.flatMap((l) => [l.w, l.b]);
const velocity = params.map((p) => Tensor.zeros(p.shape).keep());

const lr = 0.05,
  momentum = 0.9,
  steps = 600;
const t0 = performance.now();
for (let step = 0; step <= steps; step++) {
  const loss = tidy(() => {
    let h = x;
    layers.forEach((l, i) => {
      h = h.matmul(l.w).add(l.b);
      if (i < layers.length - 1) h = h.tanh();
    });
    const l = h.sub(y).square().mean();
    l.backward();
    noGrad(() =>
      params.forEach((p, i) => {
        velocity[i].assign(velocity[i].mul(momentum).add(p.grad!));
        p.assign(p.sub(velocity[i].mul(lr)));
        p.zeroGrad();
      }),
    );
    return l;
  });
  if (step % 100 === 0) console.log(`step ${String(step).padStart(4)}  loss ${(await loss.item()).toFixed(6)}`);
  loss.dispose();
}
const s = engine().stats();
const m = memoryStats();
console.log(
  `${steps} steps in ${((performance.now() - t0) / 1000).toFixed(2)} s; ${s.dispatches} kernel launches in ${s.submits} submits; ${m.liveTensors} live tensors`,
);
