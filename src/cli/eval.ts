/**
 * `eval`: scores a GAN checkpoint with the dataset's classifier (models/<dataset>-classifier.safetensors):
 * class coverage (mode collapse shows as missing classes), the confident-sample rate, and the Fréchet
 * distance in the classifier's feature space against the test set beside its real-vs-real baseline.
 * Prints them and writes eval.json into the run folder.
 */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { initEngine } from '../tensor/index.ts';
import { GanTrainer, checkpointSpec } from '../gan/trainer.ts';
import { formatEvaluation } from '../gan/metrics.ts';
import { evaluateForDataset, writeEvaluation, classNames, CLASSIFIER_DATASETS } from '../node/eval-models.ts';
import { UsageError, chooseGenerator } from './gan.ts';

const HELP = `Usage: eval --checkpoint FILE [options]

Generates samples from a checkpoint and scores them with the dataset's classifier.

  --checkpoint FILE   checkpoint.safetensors of a run (eval.json is written beside it)
  --dataset NAME      mnist | fashion-mnist (default: the dataset the run was trained on)
  --n N               samples to generate [2000]
  --seed N            latent seed [12345]
  --classifier FILE   another classifier file (default models/<dataset>-classifier.safetensors)
  --generator ema|raw from a run trained with --g-ema: the weight average (default) or the last trained weights
  -h, --help          this text`;

export async function evalCommand(argv: string[]): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        checkpoint: { type: 'string' },
        dataset: { type: 'string' },
        n: { type: 'string' },
        seed: { type: 'string' },
        classifier: { type: 'string' },
        generator: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const path = v.checkpoint as string | undefined;
  if (!path) throw new UsageError('eval: --checkpoint FILE is required (see --help)');
  if (!existsSync(path)) throw new UsageError(`eval: no checkpoint file at ${path}`);
  const n = Number(v.n ?? 2000);
  if (!Number.isInteger(n) || n < 2) throw new UsageError(`--n: expected an integer ≥ 2, got "${v.n}"`);
  const seed = Number(v.seed ?? 12345);
  const bytes = new Uint8Array(readFileSync(path));
  const { spec, options, meta } = checkpointSpec(bytes);
  const dataset = (v.dataset as string | undefined) ?? (meta.dataset as string | undefined);
  if (!dataset || !(CLASSIFIER_DATASETS as readonly string[]).includes(dataset)) {
    throw new UsageError(
      `eval: no classifier for dataset "${dataset ?? '(unknown)'}": pass --dataset ${CLASSIFIER_DATASETS.join(' or ')}`,
    );
  }
  if (spec.channels !== 1 || spec.size !== 28)
    throw new UsageError(
      `eval: the ${dataset} classifier scores 1×28×28 images; this ${spec.kind} makes ${spec.channels}×${spec.size}×${spec.size}`,
    );

  await initEngine();
  const trainer = new GanTrainer(spec, options);
  trainer.loadCheckpoint(bytes);
  chooseGenerator(trainer, v.generator as string | undefined);
  const generator = trainer.sampledModule;
  // Eval-mode BatchNorm: each sample is independent of its batch.
  const samples = await trainer.sampleValues(n, seed);
  trainer.dispose();
  const evaluation = await evaluateForDataset(
    dataset,
    samples,
    v.classifier ? { classifier: v.classifier as string } : {},
  );
  console.log(`${spec.kind} at step ${meta.step} (${path}), generator ${generator}, ${n} samples, dataset ${dataset}`);
  console.log(formatEvaluation(evaluation, classNames(dataset)));
  const out = writeEvaluation(dirname(path), evaluation, {
    checkpoint: path,
    step: meta.step,
    model: spec.kind,
    dataset,
    generator,
  });
  console.log(`Wrote ${out}`);
  return 0;
}
