#!/usr/bin/env bash
# Runs on a lent GPU machine, from the repository root, after bench/device/pack.sh was run here and .devpkg and
# .gl were carried over. One call of at most ~9 minutes; stages, each time-boxed, so that whatever finished comes
# back in $OUT:
#   1. unpack Node, Dawn, the Vulkan loader and the data; find the GPU through Dawn's Vulkan backend (~1 min)
#   2. the benchmark suite beside tfjs-webgpu, kernels tuned per shape (the tuner's choices are printed and saved
#      in the results JSON)                                                  → $OUT/bench-table.txt, <adapter>.{md,json}
#   3. the per-kernel profiles of a batch-256 DCGAN step and a 256 px style iteration: launches, submits, host
#      and GPU milliseconds per step                                         → $OUT/profile-{dcgan,style}.md
#   4. the lesson DCGAN on MNIST at batch 256 for TRAIN_SECONDS (images/s in its last lines; Ctrl-C semantics:
#      the trainer saves its checkpoint, grid and loss curve on SIGINT), then the checkpoint loaded into PyTorch
#      (strict) and G/D compared with our outputs                            → $OUT/train.log, runs.tar
# Environment: OUT (where results go), TRAIN_SECONDS [120], BENCH_ARGS [--quick --backends=webgpu],
#   BENCH_SECONDS [240], BENCH_CONV [unset; e.g. "register tiled": one suite per forced conv version instead],
#   PROFILE_SECONDS [90 each], DEVICE_LOCAL=1 (a rehearsal on this machine, in a clone: see setup.sh).
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device.log") 2>&1
TRAIN_SECONDS=${TRAIN_SECONDS:-120}
export WGPU_GAN_AUTOTUNE_FILE="$OUT/autotune.json"

. bench/device/setup.sh

stamp "bench"
# BENCH_CONV="register tiled" runs the suite once per forced conv kernel version (--conv=V; tables
# bench-table-V.txt, results <adapter>-conv-V.{md,json}); unset, once with the kernels tuned per shape.
for v in ${BENCH_CONV:-default}; do
  conv=""; suffix=""
  if [ "$v" != default ]; then conv="--conv=$v"; suffix="-$v"; fi
  # shellcheck disable=SC2086
  timeout "${BENCH_SECONDS:-240}" node "$P/bench.mjs" ${BENCH_ARGS:---quick --backends=webgpu} $conv > "$OUT/bench-table$suffix.txt"
  echo "bench $v exit $?"; cat "$OUT/bench-table$suffix.txt"
done
cp "$P"/results/*.json "$P"/results/*.md "$OUT/" 2>/dev/null

stamp "profiles"
timeout "${PROFILE_SECONDS:-90}" node "$P/profile-dcgan.mjs" --batch 256 --steps 3 > "$OUT/profile-dcgan.md"; echo "profile-dcgan exit $?"
timeout "${PROFILE_SECONDS:-90}" node "$P/profile-style.mjs" --size 256 --steps 3 > "$OUT/profile-style.md"; echo "profile-style exit $?"
head -n 3 "$OUT"/profile-*.md

stamp "train"
name=dcgan-mnist-b256
timeout -s INT -k 30 "$TRAIN_SECONDS" node "$P/cli.mjs" train --model dcgan --dataset mnist --batch 256 --epochs 1000 \
  --real-label 0.9 --checkpoint-every 1000000 --overwrite --out "runs/$name" 2>&1 | tr '\r' '\n' > "$OUT/train.log"
tail -n 12 "$OUT/train.log"
node "$P/cli.mjs" sample --checkpoint "runs/$name/checkpoint.safetensors" --out "runs/$name/grid.png" \
  --tensors "runs/$name/grid.safetensors"
stamp "pytorch check"
timeout 60 python3 tools/pytorch/check_checkpoint.py "runs/$name/checkpoint.safetensors" --tensors "runs/$name/grid.safetensors"

stamp "pack"
tar -cf "$OUT/runs.tar" --exclude='checkpoint.safetensors' "runs/$name"
ls -la "$OUT"
stamp "done"
