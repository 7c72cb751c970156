/**
 * Weight initializations applied to a whole module tree.
 */
import { Tensor } from '../tensor/index.ts';
import type { Module } from './module.ts';
import { Conv2d, ConvTranspose2d } from './conv.ts';
import { BatchNorm1d, BatchNorm2d } from './batchnorm.ts';
import { Linear } from './layers.ts';
import { deriveSeed } from './seed.ts';

/** Overwrites `t` with N(mean, std) drawn from `seed`. */
function fillNormal(t: Tensor, mean: number, std: number, seed: number): void {
  const r = Tensor.randn(t.shape, { seed, mean, std });
  t.assign(r);
  r.dispose();
}

/**
 * The DCGAN paper's init (as in the PyTorch DCGAN tutorial): conv and transposed-conv weights ~ N(0, 0.02),
 * BatchNorm γ ~ N(1, 0.02) and β = 0. Each tensor's values come from a seed derived from `seed` and its
 * state_dict key, so the result does not depend on construction order. Other parameters are left as they are.
 */
export function dcganInit(module: Module, seed: number): void {
  for (const [modulePath, m] of module.namedModules()) {
    const key = (n: string) => (modulePath ? `${modulePath}.${n}` : n);
    if (m instanceof Conv2d || m instanceof ConvTranspose2d) {
      fillNormal(m.weight, 0, 0.02, deriveSeed(seed, key('weight')));
      if (m.bias) m.bias.assign(new Float32Array(m.bias.size));
    } else if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
      fillNormal(m.weight, 1, 0.02, deriveSeed(seed, key('weight')));
      m.bias.assign(new Float32Array(m.bias.size));
    }
  }
}

/**
 * The equalized learning rate's init (ProGAN): every equalized Conv2d, ConvTranspose2d and Linear gets weights
 * ~ N(0, 1) and zero biases (the He scale is applied at run time, see ./conv.ts), each tensor from a seed derived
 * from `seed` and its state_dict key, as dcganInit. Other layers are left as they are.
 */
export function equalizedInit(module: Module, seed: number): void {
  for (const [modulePath, m] of module.namedModules()) {
    const key = (n: string) => (modulePath ? `${modulePath}.${n}` : n);
    if ((m instanceof Conv2d || m instanceof ConvTranspose2d || m instanceof Linear) && m.equalized) {
      fillNormal(m.weight, 0, 1, deriveSeed(seed, key('weight')));
      if (m.bias) m.bias.assign(new Float32Array(m.bias.size));
    }
  }
}
