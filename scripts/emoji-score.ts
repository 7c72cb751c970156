/**
 * Measures the colour quality score of issue 20 on a labelled folder and records it in docs/gan/emoji/results.json,
 * then renders docs/gan/emoji/README.md from that file:
 *
 *   npx tsx scripts/fetch-emoji.ts --size 32                      (the data: data/emoji-32/)
 *   npx tsx src/cli/train-classifier.ts --dataset data/emoji-32   (the classifier: data/emoji-32/classifier-32.safetensors)
 *   npx tsx scripts/emoji-score.ts --dataset data/emoji-32        (this: measure, record, render)
 *   npx tsx scripts/emoji-score.ts --dataset DIR --classifier FILE (another classifier of the folder, e.g. --balance)
 *   npx tsx scripts/emoji-score.ts --render                       (only the README, from results.json)
 *
 * Per folder and size: the classifier's training record (epochs, seconds, held-out accuracy as stored), its accuracy
 * per category on the held-out split, the real-vs-real Fréchet distance exactly as `eval` computes it for 2000
 * samples (half A of the folder, seeded, against half B), the distance of half A blurred (4× box down, nearest up)
 * for scale, and the confident rate and coverage of the real images themselves (what a perfect generator scores).
 * Results of other folders/sizes already in the file are kept.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engine, initEngine } from '../src/tensor/index.ts';
import { permutation } from '../src/data/dataset.ts';
import { readClassifierInfo } from '../src/gan/classifier.ts';
import {
  classCoverage,
  confidentRate,
  classHistogram,
  featureStats,
  frechetDistanceOf,
  softmaxRows,
  topClasses,
} from '../src/gan/metrics.ts';
import { classifierPath, evaluateForDataset, loadClassifierFile, loadFolderSplit } from '../src/node/eval-models.ts';
import { GanTrainer } from '../src/gan/trainer.ts';
import { ganSpec } from '../src/gan/models.ts';
import { ensureDir, writeFileAtomic } from '../src/node/files.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs', 'gan', 'emoji');
const RESULTS = join(OUT, 'results.json');
/** Samples `eval` and `train --eval-every` score. */
const EVAL_SAMPLES = 2000;

interface ScoreResult {
  dataset: string;
  dataName: string;
  size: number;
  images: number;
  classes: string[];
  imagesPerClass: number[];
  classifier: {
    file: string;
    config: Record<string, unknown>;
    training: Record<string, unknown>;
    testImages: number;
    testAccuracy: number;
    testAccuracyPerClass: (number | null)[];
    testImagesPerClass: number[];
    majorityClassShare: number;
  };
  fd: { samples: number; reference: number; realVsReal: number; blurredVsReal: number };
  realImagesAsSamples: { threshold: number; confidentRate: number; coverage: number; histogram: number[] };
  /** An untrained DCGAN of the folder's size (seed 1), scored as `eval` scores a checkpoint: the other end of the scale. */
  untrainedGenerator?: { model: string; fd: number; coverage: number; confidentRate: number };
  adapter: string;
  loadavg: number[];
  cpuCores: number;
  date: string;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function readResults(): ScoreResult[] {
  return existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as ScoreResult[]) : [];
}

/** 4× box down then nearest up: the same images with their detail gone. */
function blur(images: Float32Array, n: number, c: number, s: number): Float32Array {
  const out = new Float32Array(images.length);
  const f = 4;
  for (let p = 0; p < n * c; p++) {
    const base = p * s * s;
    for (let by = 0; by < s; by += f)
      for (let bx = 0; bx < s; bx += f) {
        let sum = 0;
        for (let y = by; y < by + f; y++) for (let x = bx; x < bx + f; x++) sum += images[base + y * s + x]!;
        for (let y = by; y < by + f; y++) for (let x = bx; x < bx + f; x++) out[base + y * s + x] = sum / (f * f);
      }
  }
  return out;
}

async function measure(dataset: string, size?: number, classifierFile?: string): Promise<ScoreResult> {
  await initEngine();
  const { folder, test } = loadFolderSplit(dataset, size);
  const all = folder.dataset;
  const s = all.h;
  const file = classifierFile ?? classifierPath(dataset, s);
  const info = readClassifierInfo(new Uint8Array(readFileSync(file)), file);
  const classifier = loadClassifierFile(dataset, file, { imageSize: s });
  const k = folder.classes.length;
  const d = classifier.config.hidden;
  const pixels = all.c * s * s;

  const heldOut = await classifier.run(test.images, test.n);
  const predicted = topClasses(heldOut.logits, k).classes;
  const right = new Array<number>(k).fill(0);
  const total = new Array<number>(k).fill(0);
  test.labels!.forEach((label, i) => {
    total[label]!++;
    if (predicted[i] === label) right[label]!++;
  });

  // as evaluateSamples: halves of permutation(n, 0); m = min(samples, |A|) images of A against all of B
  const real = await classifier.run(all.images, all.n);
  const order = permutation(all.n, 0);
  const halfA = order.subarray(0, Math.floor(all.n / 2));
  const halfB = order.subarray(Math.floor(all.n / 2));
  const m = Math.min(EVAL_SAMPLES, halfA.length);
  const rows = (source: Float32Array, indices: ArrayLike<number>, width: number) => {
    const out = new Float32Array(indices.length * width);
    for (let i = 0; i < indices.length; i++)
      out.set(source.subarray(indices[i]! * width, (indices[i]! + 1) * width), i * width);
    return out;
  };
  const reference = featureStats(rows(real.features, halfB, d), halfB.length, d);
  const realVsReal = frechetDistanceOf(featureStats(rows(real.features, halfA.subarray(0, m), d), m, d), reference);
  const blurred = blur(rows(all.images, halfA.subarray(0, m), pixels), m, all.c, s);
  const blurredFeatures = (await classifier.run(blurred, m)).features;
  const blurredVsReal = frechetDistanceOf(featureStats(blurredFeatures, m, d), reference);

  const probs = softmaxRows(real.logits, k);
  const threshold = 0.9;
  classifier.dispose();
  let untrainedGenerator: ScoreResult['untrainedGenerator'];
  if (s === 32 || s === 64) {
    const model = s === 32 ? 'dcgan32' : 'dcgan64';
    const trainer = new GanTrainer(ganSpec(model), { batchSize: 16, seed: 1 });
    const samples = await trainer.sampleValues(EVAL_SAMPLES, 12345);
    trainer.dispose();
    const e = await evaluateForDataset(dataset, samples, { classifier: file, imageSize: s });
    untrainedGenerator = { model, fd: e.fd, coverage: e.coverage.count, confidentRate: e.confidentRate };
  }
  const perClass = folder.classes.map((_, c) => all.labels.filter((l) => l === c).length);
  return {
    dataset,
    dataName: folder.name,
    size: s,
    images: all.n,
    classes: folder.classes,
    imagesPerClass: perClass,
    classifier: {
      file,
      config: { ...info.config },
      training: info.training ?? {},
      testImages: test.n,
      testAccuracy: info.testAccuracy ?? NaN,
      testAccuracyPerClass: right.map((r, c) => (total[c] ? r / total[c]! : null)),
      testImagesPerClass: total,
      majorityClassShare: Math.max(...total) / test.n,
    },
    fd: { samples: m, reference: halfB.length, realVsReal, blurredVsReal },
    realImagesAsSamples: {
      threshold,
      confidentRate: confidentRate(probs, k, threshold),
      coverage: classCoverage(probs, k, { threshold }).count,
      histogram: classHistogram(probs, k),
    },
    ...(untrainedGenerator ? { untrainedGenerator } : {}),
    adapter: `${engine().adapter.description || engine().adapter.device} (${engine().adapter.slug})`,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    cpuCores: cpus().length,
    date: new Date().toISOString(),
  };
}

const meanOf = (xs: (number | null)[]) => {
  const present = xs.filter((x): x is number => x !== null);
  return present.reduce((a, b) => a + b, 0) / present.length;
};
const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

function render(results: ScoreResult[]): string {
  const lines = [
    '# The colour quality score: emoji categories',
    '',
    "Issue 20's colour dataset and its score, as `eval` and `train --eval-every` compute it for a generator trained on",
    'a labelled folder. Rendered by `npx tsx scripts/emoji-score.ts --render` from [results.json](results.json); every',
    'figure below was measured by `scripts/emoji-score.ts` (see its header for the commands).',
    '',
    '**The data.** `npx tsx scripts/fetch-emoji.ts` fetches `emoji-datasource-google@16.0.0` (MIT) with `npm pack`,',
    "checks the registry's sha512, and writes the 3,786 images of `img/google/64/` composited over white (straight",
    'alpha, "source over" in sRGB values) into `data/emoji-64/`, with `labels.json` naming each image\'s category from',
    "the package's `emoji.json` (skin-tone variations take their emoji's category); `--size 32` box-filters 2×2 into",
    '`data/emoji-32/`. `train --dataset data/emoji-32 --size 32` trains on the folder; nothing of it is committed.',
    '',
    '**The classifier.** `npx tsx src/cli/train-classifier.ts --dataset DIR` trains a small CNN (conv 3×3 → pool,',
    'twice; a 128-feature layer; the categories) on a stratified, seeded 85% of the folder and writes',
    '`DIR/classifier-<size>.safetensors`, which `eval` finds. Its 128 penultimate features are the space of the',
    'Fréchet distance; its category probabilities give coverage and the confident rate (p ≥ 0.9).',
    '',
    '**The reference.** A folder is scored against all its images (a GAN trains on all of them): 2,000 samples of',
    "the generator against half B of the folder (seeded), beside the folder's half A against the same half B",
    '(the real-vs-real baseline: what a generator indistinguishable from the data would score with as many samples).',
    '',
  ];
  for (const r of results) {
    const c = r.classifier;
    const t = c.training as {
      epochs?: number;
      seconds?: number;
      batch?: number;
      lr?: number;
      trainImages?: number;
      balance?: number;
    };
    const cfg = c.config as { conv1?: number; conv2?: number; hidden?: number };
    lines.push(
      `## ${r.dataset} at ${r.size}×${r.size}, classifier ${r.classifier.file.replace(`${ROOT}/`, '')}`,
      '',
      `${r.images} images in ${r.classes.length} categories (${r.dataName}).`,
      '',
      `- **Classifier:** conv ${cfg.conv1}/${cfg.conv2}, ${cfg.hidden} features; ${t.epochs} epochs of batch ${t.batch} at lr ${t.lr} on ${t.trainImages} images` +
        (t.balance ? `, class weights (N / (K·n_c))^${t.balance} (\`--balance ${t.balance}\`)` : ', unweighted loss') +
        `, took ${t.seconds} s on ${r.adapter} (${r.cpuCores} cores shared with other work; the score below was measured at load average ${r.loadavg.join(' / ')}).`,
      `- **Held-out accuracy:** ${pct(c.testAccuracy)} on ${c.testImages} images (float16 weights); always answering the largest category would score ${pct(c.majorityClassShare)}; the mean of the per-category accuracies is ${pct(meanOf(c.testAccuracyPerClass))}.`,
      `- **Real-vs-real Fréchet distance:** ${r.fd.realVsReal.toFixed(2)} (${r.fd.samples} vs ${r.fd.reference} images) — the floor a generator's distance is read against.`,
      `- **The same half A blurred** (4× box down, nearest up): ${r.fd.blurredVsReal.toFixed(2)} — the score sees lost detail.`,
      ...(r.untrainedGenerator
        ? [
            `- **An untrained ${r.untrainedGenerator.model}** (seed 1, 2,000 samples as \`eval\` draws them): Fréchet distance ${r.untrainedGenerator.fd.toFixed(2)}, ${r.untrainedGenerator.coverage}/${r.classes.length} categories, ${pct(r.untrainedGenerator.confidentRate)} confident — where training starts.`,
          ]
        : []),
      `- **Real images scored as samples:** ${pct(r.realImagesAsSamples.confidentRate)} confident at p ≥ ${r.realImagesAsSamples.threshold}, ${r.realImagesAsSamples.coverage}/${r.classes.length} categories covered — the ceiling of those two figures.`,
      '',
      '| category | images | held out | held-out accuracy | real images assigned |',
      '|---|---:|---:|---:|---:|',
      ...r.classes.map(
        (name, i) =>
          `| ${name} | ${r.imagesPerClass[i]} | ${c.testImagesPerClass[i]} | ${pct(c.testAccuracyPerClass[i]!)} | ${r.realImagesAsSamples.histogram[i]} |`,
      ),
      '',
      `Measured ${r.date.slice(0, 10)}.`,
      '',
    );
  }
  const first = results[0];
  if (first) {
    const largest = first.imagesPerClass.indexOf(Math.max(...first.imagesPerClass));
    const smallest = first.imagesPerClass.indexOf(Math.min(...first.imagesPerClass));
    lines.push(
      `**Reading it.** ${first.classes[largest]} holds ${pct(first.imagesPerClass[largest]! / first.images)} of the images (most of`,
      `them skin-tone variations), so the categories are unbalanced, and ${first.classes[smallest]} (${first.imagesPerClass[smallest]} images) is too small`,
      'to learn; `fetch-emoji --variants base` keeps one tone per emoji. `train-classifier --balance 0.5` weighs the',
      "loss against the imbalance (compare the two classifiers' tables where both are listed). Coverage counts",
      'categories with at least one confident sample, so its ceiling is what the real images reach, not all categories.',
      '',
    );
  }
  return lines.join('\n');
}

ensureDir(OUT);
if (process.argv.includes('--render')) {
  writeFileAtomic(join(OUT, 'README.md'), render(readResults()));
} else {
  const dataset = flag('dataset');
  if (!dataset) {
    console.error('emoji-score: --dataset DIR is required (a labelled folder with its classifier)');
    process.exit(2);
  }
  const size = flag('size');
  let r: ScoreResult;
  try {
    r = await measure(dataset, size === undefined ? undefined : Number(size), flag('classifier'));
  } catch (e) {
    console.error(`emoji-score: ${(e as Error).message}`);
    process.exit(1);
  }
  const results = readResults().filter(
    (x) => !(x.dataset === r.dataset && x.size === r.size && x.classifier.file === r.classifier.file),
  );
  results.push(r);
  writeFileAtomic(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  writeFileAtomic(join(OUT, 'README.md'), render(results));
  console.log(
    `${dataset} at ${r.size}: held-out accuracy ${pct(r.classifier.testAccuracy)}, real-vs-real FD ${r.fd.realVsReal.toFixed(2)}, blurred ${r.fd.blurredVsReal.toFixed(2)}, real confident ${pct(r.realImagesAsSamples.confidentRate)} → ${RESULTS}`,
  );
}
