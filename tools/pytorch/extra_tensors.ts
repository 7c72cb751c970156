/**
 * The tensors of a growing GAN's checkpoint that `sample --tensors` does not write (yet), for
 * tools/pytorch/check_checkpoint.py to compare with PyTorch beyond the final image and D's score:
 *
 *   npx tsx tools/pytorch/extra_tensors.ts CHECKPOINT OUT.safetensors [N]
 *
 * Writes z, images and logits as `sample --tensors` does (the run's fixed latent of N samples, default 64; G in
 * eval mode at the checkpoint's stage and α, from the weight average when there is one; D as `discriminate`
 * scores images), and:
 *   progan: stage_images = G(z) at the stage's own size (4·2^stage, not upsampled) and logits_fake = D(stage_images),
 *           D scoring G's output as the training step scores fakes (no second fade);
 *   msggan: scales.0 … scales.K−1 = G's toRGB images at 4×4 … size/2 (images is scale K) and logits_scales =
 *           D.forwardScales of G's own scales, as the training step scores fakes.
 * A stopgap in this folder: tsconfig.json does not include tools/, so type-check it with
 *   npx tsc --noEmit --strict --allowImportingTsExtensions --module esnext --moduleResolution bundler \
 *     --target es2022 --lib es2022,dom --types @webgpu/types,node --skipLibCheck tools/pytorch/extra_tensors.ts
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { initEngine, noGrad, type Tensor } from '../../src/tensor/index.ts';
import { GanTrainer, checkpointSpec } from '../../src/gan/trainer.ts';
import { ProganDiscriminator, ProganGenerator } from '../../src/gan/progan.ts';
import { MsgDiscriminator, MsgGenerator } from '../../src/gan/msggan.ts';
import { encodeSafetensors, type TensorToEncode } from '../../src/io/safetensors.ts';

async function main(): Promise<number> {
  const [ckpt, out, nArg] = process.argv.slice(2);
  if (!ckpt || !out) {
    console.error('usage: npx tsx tools/pytorch/extra_tensors.ts CHECKPOINT OUT.safetensors [N]');
    return 2;
  }
  const n = nArg === undefined ? 64 : Number(nArg);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`N must be a positive integer, got ${nArg}`);
    return 2;
  }
  const bytes = new Uint8Array(readFileSync(ckpt));
  const { spec, options } = checkpointSpec(bytes, ckpt);
  if (spec.kind !== 'progan' && spec.kind !== 'msggan') {
    console.error(`${ckpt}: a ${spec.kind} run; this writes the extra tensors of progan and msggan only`);
    return 2;
  }
  await initEngine();
  const trainer = new GanTrainer(spec, options);
  trainer.loadCheckpoint(bytes, ckpt);
  const G = trainer.sampledModule === 'G_ema' ? trainer.Gema! : trainer.G;
  const entries: Record<string, Tensor> = {};
  entries.z = trainer.fixedLatent(n);
  entries.images = trainer.generate(entries.z);
  entries.logits = trainer.discriminate(entries.images);
  noGrad(() => {
    G.eval();
    trainer.D.eval();
    if (G instanceof ProganGenerator && trainer.D instanceof ProganDiscriminator) {
      entries.stage_images = G.forward(entries.z!);
      entries.logits_fake = trainer.D.forward(entries.stage_images);
    } else if (G instanceof MsgGenerator && trainer.D instanceof MsgDiscriminator) {
      const scales = G.forwardScales(entries.z!);
      scales.slice(0, -1).forEach((s, i) => (entries[`scales.${i}`] = s));
      entries.logits_scales = trainer.D.forwardScales(scales);
      scales[scales.length - 1]!.dispose();
    }
  });
  const encoded: Record<string, TensorToEncode> = {};
  for (const [name, t] of Object.entries(entries))
    encoded[name] = { dtype: 'F32', shape: [...t.shape], data: await t.toArray() };
  const tmp = `${out}.tmp`;
  writeFileSync(tmp, encodeSafetensors(encoded, { checkpoint: ckpt, step: String(trainer.step) }));
  renameSync(tmp, out);
  console.log(
    `Wrote ${out}: ${Object.entries(encoded)
      .map(([k, v]) => `${k} ${v.shape.join('×')}`)
      .join(', ')} (${spec.kind} at step ${trainer.step}, ${trainer.sampledModule})`,
  );
  return 0;
}

main().then((rc) => process.exit(rc));
