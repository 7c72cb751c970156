/**
 * Engine demo: fits y = sin(3x)·x on [-1, 1] with a 1-64-64-1 tanh MLP, entirely on the GPU, and prints the
 * loss falling. Plain gradient descent with momentum written out with tensor ops, so it only needs the engine.
 */
import { initEngine, Tensor, tidy, noGrad, memoryStats, engine } from '../tensor/index.ts';
import { isMainModule } from '../node/main-module.ts';
import { formatOptions, MAX_STEPS, parseOrHelp, runProgram, setDebug, type OptionSpec } from './args.ts';

/** `demo`'s options: the parser's checks and the help text both come from this table. */
export const DEMO_OPTIONS: readonly OptionSpec[] = [
  { name: 'steps', type: 'integer', min: 1, max: MAX_STEPS, default: 600, help: 'gradient steps' },
  { name: 'lr', type: 'float', min: 0, minExclusive: true, max: 10, default: 0.05, help: 'learning rate' },
  { name: 'momentum', type: 'float', min: 0, max: 1, maxExclusive: true, default: 0.9, help: 'momentum' },
  { name: 'every', type: 'integer', min: 1, max: MAX_STEPS, default: 100, help: 'print the loss every N steps' },
  { name: 'help', type: 'boolean', short: 'h', help: 'this text' },
];

const HELP = `Usage: demo [options]

Fits y = sin(3x)·x on [-1, 1] with a 1-64-64-1 tanh MLP on the GPU and prints the loss falling.

${formatOptions(DEMO_OPTIONS)}`;

export async function demoCommand(argv: string[]): Promise<number> {
  const o = parseOrHelp(argv, DEMO_OPTIONS, HELP);
  if (!o) return 0;
  const [steps, lr, momentum, every] = [o.num('steps'), o.num('lr'), o.num('momentum'), o.num('every')];

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

  const t0 = performance.now();
  let last = NaN;
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
    if (step % every === 0 || step === steps) {
      last = await loss.item();
      console.log(`step ${String(step).padStart(4)}  loss ${last.toFixed(6)}`);
    }
    loss.dispose();
  }
  const s = engine().stats();
  const m = memoryStats();
  console.log(
    `${steps} steps in ${((performance.now() - t0) / 1000).toFixed(2)} s; ${s.dispatches} kernel launches in ${s.submits} submits; ${m.liveTensors} live tensors`,
  );
  for (const t of [x, y, ...params, ...velocity]) t.dispose();
  // A learning rate too large for the fit makes the loss overflow: say so, and fail.
  if (!Number.isFinite(last)) {
    console.error(`demo: the loss became ${last} (lower --lr, now ${lr})`);
    return 1;
  }
  return 0;
}

if (isMainModule(import.meta.url)) {
  // `npm run demo -- --debug`, as `npm run cli -- demo --debug` (src/cli/main.ts) takes it
  const argv = process.argv.slice(2);
  setDebug(argv.includes('--debug'));
  process.exitCode = await runProgram('demo', () => demoCommand(argv.filter((a) => a !== '--debug')));
}
