/**
 * The adversarial losses the trainer offers, each split into its discriminator and generator parts. Every one takes
 * D's raw outputs (C, shape [N, 1]: a logit for 'bce', a score for the others) on a real batch x_r, the detached
 * fakes x_f of D's step, and the fakes x_g = G(z) of G's step; E is the mean over the batch.
 *
 *   bce      the lesson's non-saturating loss (Goodfellow et al. 2014, §3), with σ the logistic function and t the
 *            real target (`realLabel`, 1 unless one-sided label smoothing is asked for):
 *              L_D = E[−t·log σ(C(x_r)) − (1 − t)·log(1 − σ(C(x_r)))] + E[−log(1 − σ(C(x_f)))]
 *              L_G = E[−log σ(C(x_g))]
 *   lsgan    least squares (Mao et al. 2017, arXiv 1611.04076, eq. 2 with a = 0 for fakes, b = t for reals, c = 1):
 *              L_D = ½·E[(C(x_r) − t)²] + ½·E[C(x_f)²]
 *              L_G = ½·E[(C(x_g) − 1)²]
 *   hinge    (Lim & Ye 2017, arXiv 1705.02894; Miyato et al. 2018, SNGAN):
 *              L_D = E[max(0, 1 − C(x_r))] + E[max(0, 1 + C(x_f))]
 *              L_G = −E[C(x_g)]
 *   rahinge  relativistic average hinge (Jolicoeur-Martineau 2018, arXiv 1807.00734, §4.2; MSG-GAN's loss): each
 *            batch is judged against the other batch's mean output,
 *              D̃(x_r) = C(x_r) − E[C(x_f)],  D̃(x_f) = C(x_f) − E[C(x_r)]
 *              L_D = E[max(0, 1 − D̃(x_r))] + E[max(0, 1 + D̃(x_f))]
 *              L_G = E[max(0, 1 + D̃(x_r))] + E[max(0, 1 − D̃(x_f))]   (x_f = x_g here)
 *            so G's loss needs D's outputs on the real batch too, and each term's gradient reaches the other
 *            batch through its mean (the cross-terms).
 *
 * Label smoothing (t < 1) is defined for bce and lsgan only. The losses are compositions of existing ops (a handful
 * of launches on N values, beside the hundreds of a network pass), so their gradients are the ops' own.
 */
import { Tensor, unary } from '../tensor/index.ts';
import { bceWithLogits } from '../tensor/losses.ts';
import { formatShape } from '../tensor/shape.ts';

export type GanLossKind = 'bce' | 'lsgan' | 'hinge' | 'rahinge';

export const GAN_LOSSES: readonly GanLossKind[] = ['bce', 'lsgan', 'hinge', 'rahinge'];

/** One line per loss, for option help. */
export const GAN_LOSS_HELP: Record<GanLossKind, string> = {
  bce: "non-saturating binary cross-entropy on D's logits (the lesson's)",
  lsgan: 'least squares: D regresses reals to 1 and fakes to 0, G pulls its fakes to 1',
  hinge: 'hinge: D penalised inside the margin ±1, G raises D on its fakes',
  rahinge: "relativistic average hinge (MSG-GAN's): each batch judged against the other's mean",
};

/** Whether a loss accepts a real target below 1 (one-sided label smoothing). */
export function lossTakesRealLabel(kind: GanLossKind): boolean {
  return kind === 'bce' || kind === 'lsgan';
}

/** Whether G's loss needs D's outputs on a real batch (the relativistic loss). */
export function generatorLossNeedsReal(kind: GanLossKind): boolean {
  return kind === 'rahinge';
}

function checkKind(kind: GanLossKind, op: string): void {
  if (!GAN_LOSSES.includes(kind))
    throw new Error(`${op}: loss must be one of ${GAN_LOSSES.join(', ')}, got ${JSON.stringify(kind)}`);
}

function checkOutputs(op: string, outs: Tensor[]): void {
  for (const t of outs)
    if (t.size === 0) throw new Error(`${op}: D's outputs ${formatShape(t.shape)} are empty (a batch of 0 images)`);
}

/** max(0, 1 − x) */
const hingeBelow = (x: Tensor) => unary(x, 'rsubScalar', 1).relu();
/** max(0, 1 + x) */
const hingeAbove = (x: Tensor) => x.add(1).relu();

/**
 * The relativistic pair: [D̃(x_r), D̃(x_f)] = [C_r − E[C_f], C_f − E[C_r]] (the means broadcast over the batch,
 * so their gradients are the cross-terms).
 */
function relativistic(real: Tensor, fake: Tensor): [Tensor, Tensor] {
  return [real.sub(fake.mean()), fake.sub(real.mean())];
}

/**
 * D's loss (a scalar) from its outputs on real images and on fakes, for one of GAN_LOSSES; `realLabel` is t above.
 * Intermediates belong to the enclosing tidy scope (the trainer's step).
 */
export function discriminatorLoss(kind: GanLossKind, real: Tensor, fake: Tensor, realLabel = 1): Tensor {
  checkKind(kind, 'discriminatorLoss');
  checkOutputs('discriminatorLoss', [real, fake]);
  if (realLabel !== 1 && !lossTakesRealLabel(kind))
    throw new Error(`discriminatorLoss: a real label of ${realLabel} (label smoothing) applies to bce and lsgan only`);
  switch (kind) {
    case 'bce':
      return bceWithLogits(real, realLabel).add(bceWithLogits(fake, 0));
    case 'lsgan':
      return real.sub(realLabel).square().mean().add(fake.square().mean()).mul(0.5);
    case 'hinge':
      return hingeBelow(real).mean().add(hingeAbove(fake).mean());
    case 'rahinge': {
      const [r, f] = relativistic(real, fake);
      return hingeBelow(r).mean().add(hingeAbove(f).mean());
    }
  }
}

/**
 * The targets discriminatorLossJoint's bce needs for a joint batch of `n` reals then `n` fakes: `realLabel` for each
 * real output, 0 for each fake, shaped as D's outputs [2n, 1]. An upload, so a caller makes them once (the trainer
 * keeps them between steps): uploaded in the middle of a step they would split its launches into two submits.
 */
export function jointTargets(n: number, realLabel = 1): Tensor {
  if (!Number.isInteger(n) || n < 1) throw new Error(`jointTargets: n must be a positive integer, got ${n}`);
  return Tensor.fromArray(new Float32Array(2 * n).fill(realLabel, 0, n), [2 * n, 1]);
}

/**
 * D's loss when it scored its real batch and the fakes in one pass: `out` holds its outputs on `nReal` reals and then
 * on the fakes, along the batch (the trainer runs D on [x_r; x_f] with its BatchNorm in two groups, withBatchGroups).
 * The value of discriminatorLoss(kind, real part, fake part, realLabel). For bce on equal halves it is one
 * reduction, L_D = Σ_i bce(C_i, t_i) / n with `targets` from jointTargets (t_i = realLabel for a real output, 0 for a
 * fake; the targets carry the label then, and must have been made with the same one); otherwise (and without
 * targets) the two parts are cut out and passed to discriminatorLoss.
 */
export function discriminatorLossJoint(
  kind: GanLossKind,
  out: Tensor,
  nReal: number,
  realLabel = 1,
  targets: Tensor | null = null,
): Tensor {
  checkKind(kind, 'discriminatorLossJoint');
  const n = out.shape[0] ?? 0;
  if (!Number.isInteger(nReal) || nReal < 1 || nReal >= n)
    throw new Error(
      `discriminatorLossJoint: ${nReal} reals do not leave fakes in D's outputs ${formatShape(out.shape)}`,
    );
  if (kind === 'bce' && targets && 2 * nReal === n) {
    if (targets.shape.join() !== out.shape.join())
      throw new Error(
        `discriminatorLossJoint: targets ${formatShape(targets.shape)} do not match D's outputs ${formatShape(out.shape)}`,
      );
    return bceWithLogits(out, targets, { reduction: 'sum', weight: 1 / (out.size / 2) });
  }
  return discriminatorLoss(kind, out.narrow(0, 0, nReal), out.narrow(0, nReal, n - nReal), realLabel);
}

/**
 * G's loss (a scalar) from D's outputs on G's fakes; `real` (D's outputs on a real batch, no gradient needed) is
 * required by the relativistic loss and ignored by the others.
 */
export function generatorLoss(kind: GanLossKind, fake: Tensor, real: Tensor | null = null): Tensor {
  checkKind(kind, 'generatorLoss');
  checkOutputs('generatorLoss', [fake]);
  switch (kind) {
    case 'bce':
      return bceWithLogits(fake, 1);
    case 'lsgan':
      return fake.sub(1).square().mean().mul(0.5);
    case 'hinge':
      return fake.mean().neg();
    case 'rahinge': {
      if (!real) throw new Error("generatorLoss: the rahinge loss needs D's outputs on a real batch");
      checkOutputs('generatorLoss', [real]);
      const [r, f] = relativistic(real, fake);
      return hingeAbove(r).mean().add(hingeBelow(f).mean());
    }
  }
}
