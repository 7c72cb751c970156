#!/usr/bin/env bash
# Issue 20's 64×64 study on a lent GPU machine: progan and msggan against dcgan64 on the colour emoji, the same
# images and time budget, as scripts/growing-study.ts runs it at 32 px here. One call of about
# 2 + 3 × BUDGET_S/60 minutes (plus scoring), stages time-boxed so that whatever finished comes back in $OUT:
#   1. unpack Node, Dawn, the Vulkan loader (setup.sh) and data/emoji-64 (scripts/emoji-raw.ts)
#   2. the 64 px emoji classifier (train-classifier's defaults for a folder above 32 px), then its score as
#      scripts/emoji-score.ts records it (held-out accuracy, real-vs-real Fréchet distance)   → docs/gan/emoji
#   3. the growing study's speed phase at 64 px on this GPU (interleaved rounds, batch BATCH)
#   4. its quality phase at 64 px: each model trained by `train` for the steps its measured speed fits in BUDGET_S
#      seconds, scored twice along the run                                                      → docs/gan/growing
# Back in $OUT (at most 8 files): gan64.log, classifier-64.safetensors, emoji-results.json, growing-results.json,
# study.tar.xz (the docs' new grids, the run logs and their eval.jsonl). Here: the device's results files are the packed
# commit's plus what it measured; copy them over docs/gan/{emoji,growing}/results.json (or add their new entries where
# the files here gained others since), unpack study.tar.xz, and render (`npx tsx scripts/emoji-score.ts --render`,
# `npx tsx scripts/growing-study.ts render`).
# Pack first with `EMOJI=1 bash bench/device/pack.sh`; carry .devpkg/node.xz .devpkg/dawn.node.xz .devpkg/cli.mjs.xz
# .devpkg/nm.tar.xz .devpkg/emoji .gl (the fashion data and the bench bundles stay here: the tree's 64 MiB).
# Environment: OUT, BUDGET_S [60], BATCH [16], SPEED_ROUNDS [3], CLASSIFIER_SECONDS [180], MODELS [dcgan64,progan,msggan],
#   DEADLINE_S [540], DEVICE_LOCAL=1 (a rehearsal on this machine: setup.sh unpacks nothing, the local Node and Dawn;
#   run it in a clone: it writes data/emoji-64, runs/ and the docs' results files where it runs).
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gan64.log") 2>&1
# one deadline for all the stages (a command runs at most 600 s): each stage's limit ends there at the latest, and the
# files come back from whatever finished
END=$((SECONDS + ${DEADLINE_S:-540}))
BUDGET_S=${BUDGET_S:-60}
BATCH=${BATCH:-16}
SPEED_ROUNDS=${SPEED_ROUNDS:-3}
MODELS=${MODELS:-dcgan64,progan,msggan}

. bench/device/setup.sh
E=$P/emoji
for f in "$E"/*.mjs.xz; do xz -dc "$f" > "$P/$(basename "$f" .xz)"; done
ENGINE_COMMIT=$(cat "$E/COMMIT")
export ENGINE_COMMIT
echo "engine $ENGINE_COMMIT, budget ${BUDGET_S} s, batch $BATCH, models $MODELS"

stamp "data"
xz -dkf "$E/data/pixels.raw.xz"
node "$P/emoji-raw.mjs" unpack "$E/data" data/emoji-64 || exit 4

stamp "classifier"
timeout "$(left "${CLASSIFIER_SECONDS:-180}")" node "$P/train-classifier.mjs" --dataset data/emoji-64 ${CLASSIFIER_ARGS:-}
echo "train-classifier exit $?"
cp data/emoji-64/classifier-64.safetensors "$OUT/" || exit 5
stamp "score"
timeout "$(left 120)" node "$P/emoji-score.mjs" --dataset data/emoji-64; echo "emoji-score exit $?"
cp docs/gan/emoji/results.json "$OUT/emoji-results.json"

stamp "speed"
# the quality phase plans from the latest speed measurement at 64 px: without this GPU's, it would take another's
timeout "$(left 150)" node "$P/growing-study.mjs" speed --sizes 64 --rounds "$SPEED_ROUNDS" --batch "$BATCH" || { echo "speed failed"; exit 6; }
stamp "quality"
STUDY_TRAIN_CLI=$P/cli.mjs timeout "$(left $((4 * BUDGET_S + 240)))" node "$P/growing-study.mjs" quality --size 64 \
  --budget-s "$BUDGET_S" --nice 0 --models "$MODELS"
echo "quality exit $?"
cp docs/gan/growing/results.json "$OUT/growing-results.json"

stamp "pack"
# only what the docs use (a run's samples/ holds a grid per epoch: many MB at 64 px), xz'd; one file may be 16 MiB
tar -cJf "$OUT/study.tar.xz" docs/gan/growing/*-64px-* runs/growing/*-64px-seed*.log runs/growing/*-64px-seed*/eval.jsonl \
  runs/growing/*-64px-seed*/log.jsonl runs/growing/*-64px-seed*/samples/final.png runs/growing/*-64px-seed*/samples/scales.png \
  runs/growing/*-64px-seed*/samples/stage-*.png 2>/dev/null
du -h "$OUT/study.tar.xz"
ls -la "$OUT"
stamp "done"
