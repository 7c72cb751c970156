/**
 * Weight averaging for generators (torch.optim.swa_utils: AveragedModel with an exponential average, update_bn).
 *
 * A GAN's generator weights circle around a good solution rather than settle on it; the exponential moving
 * average of the weights along training, θ̄ ← d·θ̄ + (1 − d)·θ, sits nearer its centre and usually scores a
 * better Fréchet distance than the last weights (Yazıcı et al. 2019, "The unusual effectiveness of averaging in
 * GAN training"). The average is a second copy of the network that is never trained, only updated.
 *
 * BatchNorm's running statistics belong to the weights that produced them: averaged weights make different
 * activations, so their statistics are measured again (`refreshBatchNormStats`) before the average is used in
 * eval mode — torch's update_bn.
 */
import { Tensor, noGrad, engine } from '../tensor/index.ts';
import { shaderParams } from '../tensor/params.ts';
import { slotGroups, slotLayout, slotsFitting } from '../tensor/slots.ts';
import type { Module } from './module.ts';
import { BatchNorm1d, BatchNorm2d } from './batchnorm.ts';
import { formatShape } from '../tensor/shape.ts';

function pairs(what: string, target: [string, Tensor][], source: [string, Tensor][]): [Tensor, Tensor][] {
  if (target.length !== source.length)
    throw new Error(`${what}: the modules differ (${target.length} vs ${source.length} tensors)`);
  return target.map(([name, t], i) => {
    const [srcName, s] = source[i];
    if (name !== srcName || t.shape.join() !== s.shape.join()) {
      throw new Error(
        `${what}: the modules differ at ${name} ${formatShape(t.shape)} vs ${srcName} ${formatShape(s.shape)}`,
      );
    }
    return [t, s];
  });
}

/** Copies every parameter and buffer of `source` into `target` (two modules of the same architecture). */
export function copyModuleState(target: Module, source: Module): void {
  const all = (m: Module) => [...m.namedParameters(), ...m.namedBuffers()];
  for (const [t, s] of pairs('copyModuleState', all(target), all(source))) t.assign(s);
}

/** θ̄ ← decay·θ̄ + (1 − decay)·θ for every parameter of `average` and the same-named one of `current`. */
export function emaUpdate(average: Module, current: Module, decay: number): void {
  if (!(decay >= 0 && decay < 1)) throw new Error(`emaUpdate: decay must be in [0, 1), got ${decay}`);
  const todo = pairs('emaUpdate', average.namedParameters(), current.namedParameters()).filter(([a]) => a.size > 0);
  // In place, up to 4 parameters per launch (shaders/ema.wgsl, 2 buffers each), each product rounded as mul, mul,
  // add would.
  for (const group of slotGroups(todo, slotsFitting(2))) {
    const { n, start, workgroups } = slotLayout(group.map(([avg]) => avg.size));
    engine().launch(
      { shader: 'ema', entry: `slots${group.length}` },
      {
        params: shaderParams('ema', { decay, one_minus_decay: 1 - decay, n, start }),
        buffers: group.flatMap(([avg, cur]) => [avg.buffer, cur.buffer]),
        workgroups,
      },
    );
  }
}

/**
 * Replaces the running statistics of every BatchNorm layer in `net` by the statistics of one forward pass of
 * `input` in training mode (momentum 1: running_mean = batch mean, running_var = unbiased batch variance).
 * Leaves the parameters, the momenta and the train/eval mode as they were.
 */
export function refreshBatchNormStats(net: Module, forward: () => Tensor): void {
  const norms = net
    .namedModules()
    .map(([, m]) => m)
    .filter((m): m is BatchNorm1d | BatchNorm2d => m instanceof BatchNorm1d || m instanceof BatchNorm2d);
  const momenta = norms.map((m) => m.momentum);
  const wasTraining = net.training;
  try {
    for (const m of norms) m.momentum = 1;
    net.train();
    noGrad(() => forward().dispose());
  } finally {
    norms.forEach((m, i) => (m.momentum = momenta[i]));
    net.train(wasTraining);
  }
}
