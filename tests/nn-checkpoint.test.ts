import { describe, it, expect } from 'vitest';
import { Tensor, tidy } from '../src/tensor/index.ts';
import { Module } from '../src/nn/module.ts';
import { Sequential, Linear, LeakyReLU, Flatten, Sigmoid, ReLU, Tanh } from '../src/nn/layers.ts';
import { Conv2d, ConvTranspose2d } from '../src/nn/conv.ts';
import { BatchNorm2d } from '../src/nn/batchnorm.ts';
import { dcganInit } from '../src/nn/init.ts';
import { Adam, SGD } from '../src/nn/optim.ts';
import { saveCheckpoint, loadCheckpoint, readCheckpointMeta } from '../src/nn/checkpoint.ts';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.ts';
import { useEngine } from './helpers.ts';

useEngine();

class G extends Module {
  readonly main: Sequential;
  constructor(nz = 4, ngf = 4) {
    super();
    this.main = this.registerModule(
      'main',
      new Sequential(
        new ConvTranspose2d(nz, ngf * 2, 4, { stride: 1, padding: 0, bias: false }),
        new BatchNorm2d(ngf * 2),
        new ReLU(),
        new ConvTranspose2d(ngf * 2, 1, 4, { stride: 2, padding: 1, bias: false }),
        new Tanh(),
      ),
    );
  }
  forward(z: Tensor): Tensor {
    return this.main.forward(z);
  }
}

const makeD = () =>
  new Sequential(
    new Conv2d(1, 4, 4, { stride: 2, padding: 1, bias: false }),
    new BatchNorm2d(4),
    new LeakyReLU(0.2),
    new Flatten(),
    new Linear(4 * 4 * 4, 1),
    new Sigmoid(),
  );

const MODEL = { arch: 'dcgan-test', nz: 4, ngf: 4, image: 8 };

/** A small GAN-like setup: G, D and one Adam each, trained for `steps` steps from seed `seed`. */
function setup(seed: number) {
  const g = new G();
  const d = makeD();
  dcganInit(g, seed);
  dcganInit(d, seed + 1);
  const optG = new Adam(g.parameters(), { lr: 2e-3, betas: [0.5, 0.999] });
  const optD = new Adam(d.parameters(), { lr: 1e-3, betas: [0.5, 0.999], weightDecay: 1e-4 });
  return { g, d, optG, optD };
}

/** One update of both networks with a fixed noise batch (losses simplified: mean of D(G(z)) and its negation). */
function trainStep(s: ReturnType<typeof setup>, seed: number): void {
  tidy(() => {
    const z = Tensor.randn([3, 4, 1, 1], { seed });
    s.optD.zeroGrad();
    s.d.forward(s.g.forward(z)).mean().backward();
    s.optD.step();
    s.optG.zeroGrad();
    s.g.zeroGrad();
    s.d.forward(s.g.forward(z)).neg().mean().backward();
    s.optG.step();
  });
}

async function snapshot(m: Module): Promise<Float32Array[]> {
  return Promise.all(m.stateEntries().map((e) => e.tensor.toArray()));
}

describe('checkpoints', () => {
  it('round trip is bit exact: same outputs, same buffers, same next Adam step', async () => {
    const a = setup(1);
    trainStep(a, 10);
    trainStep(a, 11);
    const bytes = await saveCheckpoint(
      { G: a.g, D: a.d },
      { optG: a.optG, optD: a.optD },
      { model: MODEL, step: 2, epoch: 0 },
    );

    const decoded = decodeSafetensors(bytes);
    const keys = [...decoded.tensors.keys()];
    for (const k of [
      'G.main.0.weight',
      'G.main.1.running_mean',
      'G.main.1.num_batches_tracked',
      'D.4.bias',
      'optG.state.0.exp_avg',
      'optG.state.0.exp_avg_sq',
      'optG.state.0.step',
      'optD.param_groups.0.lr',
      'optD.param_groups.0.betas',
    ]) {
      expect(keys).toContain(k);
    }
    const nbt = decoded.tensors.get('G.main.1.num_batches_tracked')!;
    expect(nbt.dtype).toBe('I64');
    expect(nbt.shape).toEqual([]);
    expect(Array.from(nbt.data as BigInt64Array)).toEqual([4n]); // G ran forward twice per step
    expect(Array.from(decoded.tensors.get('optD.param_groups.0.betas')!.data as Float64Array)).toEqual([0.5, 0.999]);
    expect(readCheckpointMeta(bytes)).toEqual({ epoch: 0, model: MODEL, step: 2 });

    const b = setup(99); // different init and hyperparameters get overwritten
    b.optD.lr = 0.5;
    const meta = loadCheckpoint(bytes, { G: b.g, D: b.d }, { optG: b.optG, optD: b.optD }, { model: { ...MODEL } });
    expect(meta.step).toBe(2);
    expect(b.optD.lr).toBe(1e-3);
    expect(b.optD.weightDecay).toBe(1e-4);
    for (const [ma, mb] of [
      [a.g, b.g],
      [a.d, b.d],
    ] as const)
      expect(await snapshot(mb)).toEqual(await snapshot(ma));

    // Identical outputs in eval mode (running stats) and training mode.
    const z = Tensor.randn([2, 4, 1, 1], { seed: 5 });
    for (const s of [a, b]) s.g.eval();
    expect(await b.g.forward(z).toArray()).toEqual(await a.g.forward(z).toArray());
    for (const s of [a, b]) s.g.train();

    // And an identical next training step (Adam moments and step counts restored).
    trainStep(a, 12);
    trainStep(b, 12);
    for (const [ma, mb] of [
      [a.g, b.g],
      [a.d, b.d],
    ] as const)
      expect(await snapshot(mb)).toEqual(await snapshot(ma));
    expect(b.optG.stateDict().get('state.0.step')).toBe(3);
  });

  it('an SGD optimizer with momentum round-trips too', async () => {
    const net = new Linear(3, 2, true, { seed: 4 });
    const opt = new SGD(net.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
    const step = (m: Linear, o: SGD) =>
      tidy(() => {
        o.zeroGrad();
        m.forward(Tensor.fromArray([1, 2, 3, -1, 0, 2], [2, 3]))
          .square()
          .sum()
          .backward();
        o.step();
      });
    step(net, opt);
    const bytes = await saveCheckpoint({ net }, { opt }, { model: 'linear' });
    const net2 = new Linear(3, 2, true, { seed: 5 });
    const opt2 = new SGD(net2.parameters(), { lr: 1 });
    loadCheckpoint(bytes, { net: net2 }, { opt: opt2 });
    expect(opt2.nesterov).toBe(true);
    step(net, opt);
    step(net2, opt2);
    expect(await net2.weight.toArray()).toEqual(await net.weight.toArray());
    expect(await net2.bias!.toArray()).toEqual(await net.bias!.toArray());
  });

  it('loading checks the model config, names, keys and shapes, and changes nothing on error', async () => {
    const a = setup(1);
    const bytes = await saveCheckpoint({ G: a.g, D: a.d }, { optG: a.optG }, { model: MODEL, step: 0 });
    const b = setup(2);
    const before = await snapshot(b.g);

    expect(() => loadCheckpoint(bytes, { G: b.g }, {}, { model: { ...MODEL, ngf: 8 } })).toThrow(
      /checkpoint is for model \{"arch":"dcgan-test","image":8,"ngf":4,"nz":4\}, not \{"arch":"dcgan-test","image":8,"ngf":8,"nz":4\}/,
    );
    expect(() => loadCheckpoint(bytes, { Gen: b.g })).toThrow(
      /no module Gen in the checkpoint \(it holds modules: G, D\)/,
    );
    expect(() => loadCheckpoint(bytes, { G: b.g }, { optD: b.optD })).toThrow(
      /no optimizer optD in the checkpoint \(it holds optimizers: optG\)/,
    );
    // D's weights loaded into a G: every key is wrong.
    expect(() => loadCheckpoint(bytes, { D: b.g })).toThrow(
      /module D: loadStateDict\(G\): missing key\(s\): main\.0\.weight, .*; unexpected key\(s\): .*\b4\.weight\b/,
    );
    // A bigger generator: same keys, other shapes.
    const wide = new G(4, 8);
    expect(() => loadCheckpoint(bytes, { G: wide })).toThrow(
      /shape mismatch for main\.0\.weight: the state dict has \[4, 8, 4, 4\], the model has \[4, 16, 4, 4\]/,
    );
    // The optimizer is for other parameters: checked before the module is written.
    const optWrong = new Adam(b.d.parameters());
    expect(() => loadCheckpoint(bytes, { G: b.g }, { optG: optWrong })).toThrow(
      /optimizer optG: Adam\.loadStateDict: the state dict is for 4 parameters, this optimizer has 5/,
    );
    expect(await snapshot(b.g)).toEqual(before);

    // Only the generator, for sampling: other saved modules are simply not requested.
    loadCheckpoint(bytes, { G: b.g });
    expect(await snapshot(b.g)).toEqual(await snapshot(a.g));

    const foreign = encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
    expect(() => loadCheckpoint(foreign, { G: b.g })).toThrow(
      /not a checkpoint of this project \(metadata format is undefined/,
    );
    await expect(saveCheckpoint({ 'a.b': b.g })).rejects.toThrow(
      /module name "a\.b" must be non-empty and contain no dots/,
    );
  });
});
