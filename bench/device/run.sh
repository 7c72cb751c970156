#!/usr/bin/env bash
# Runs on a lent GPU machine, from the repository root, after bench/device/pack.sh was run here and .devpkg and
# .gl were carried over. One call under one deadline (DEADLINE_S, default 560 s: a command may run 600 s); stages,
# each time-boxed within it, so that whatever finished comes back in $OUT:
#   1. unpack Node, Dawn, the Vulkan loader and the data; find the GPU through Dawn's Vulkan backend (~1 min)
#   1b. every conv and matmul kernel version against float64 on this GPU (bench/check-kernels.ts; under half a
#      minute on lavapipe), so that no timing below is of a kernel that computes something else → $OUT/check-kernels.md
#   2. the whole benchmark suite beside tfjs-webgpu (VGG@128 layers, the 256 px style step and 4096³ included),
#      kernels tuned per shape (the tuner's choices printed and saved in the results JSON), with --deadline-s so
#      that it ends in time: the training steps and the largest matmul first, then the layers; what the deadline
#      leaves out is reported skipped                                        → $OUT/bench-table.txt, <adapter>.{md,json}
#   3. the per-kernel profiles of a batch-256 DCGAN step and a 256 px style iteration: launches, submits, host
#      and GPU milliseconds per step                                         → $OUT/profile-{dcgan,style}.md
#   4. the lesson DCGAN on MNIST at batch 256 for TRAIN_SECONDS (images/s in its last lines; Ctrl-C semantics:
#      the trainer saves its checkpoint, grid and loss curve on SIGINT), then the checkpoint loaded into PyTorch
#      (strict) and G/D compared with our outputs                            → $OUT/train.log, runs.tar
# The bench gets what the later stages leave: DEADLINE_S minus set-up and the kernel check, 2 × PROFILE_SECONDS, TRAIN_SECONDS and 105 s
# (training's 30 s grace, sampling, the PyTorch check, packing); its --deadline-s, counted from the process's start,
# stops starting workloads 45 s before that.
# Environment: OUT (where results go), DEADLINE_S [560], TRAIN_SECONDS [120], PROFILE_SECONDS [60 each],
#   BENCH_ARGS [--backends=webgpu], BENCH_CONV [unset; e.g. "register tiled": one suite per forced conv version
#   instead, each given an equal share], DEVICE_LOCAL=1 (a rehearsal on this machine, in a clone: see setup.sh).
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device.log") 2>&1
END=$((SECONDS + ${DEADLINE_S:-560}))
TRAIN_SECONDS=${TRAIN_SECONDS:-120}
PROFILE_SECONDS=${PROFILE_SECONDS:-60}
export WGPU_GAN_AUTOTUNE_FILE="$OUT/autotune.json"

. bench/device/setup.sh

stamp "check"
timeout "$(left 90)" node "$P/check-kernels.mjs" > "$OUT/check-kernels.md"; echo "check-kernels exit $?"
grep -E 'FAILED|agrees with float64|other kernels than' "$OUT/check-kernels.md"

stamp "bench"
# BENCH_CONV="register tiled" runs the suite once per forced conv kernel version (--conv=V; tables
# bench-table-V.txt, results <adapter>-conv-V.{md,json}); unset, once with the kernels tuned per shape.
versions=${BENCH_CONV:-default}
share=$(( ($(left 100000) - 2 * PROFILE_SECONDS - TRAIN_SECONDS - 105) / $(echo $versions | wc -w) ))
rm -rf "$P/results"   # only this run's results go back (a rehearsal here leaves its own in .devpkg/results)
for v in $versions; do
  conv=""; suffix=""
  if [ "$v" != default ]; then conv="--conv=$v"; suffix="-$v"; fi
  # the process's whole life within t; its deadline (counted from its start) leaves 45 s for the workload in flight,
  # the closing ceiling measurement and the writing, or half of t when t is short (killed anyway, its SIGTERM writes
  # the workloads measured so far)
  t=$(left $(( share > 30 ? share : 30 )))
  d=$(( t > 90 ? t - 45 : t / 2 ))
  echo "bench $v: $t s, workloads started until $d s"
  # shellcheck disable=SC2086
  timeout "$t" node "$P/bench.mjs" ${BENCH_ARGS:---backends=webgpu} --deadline-s=$d $conv > "$OUT/bench-table$suffix.txt"
  echo "bench $v exit $?"; cat "$OUT/bench-table$suffix.txt"
done
cp "$P"/results/*.json "$P"/results/*.md "$OUT/" 2>/dev/null || echo "no bench results written"

stamp "profiles"
timeout "$(left "$PROFILE_SECONDS")" node "$P/profile-dcgan.mjs" --batch 256 --steps 3 > "$OUT/profile-dcgan.md"; echo "profile-dcgan exit $?"
timeout "$(left "$PROFILE_SECONDS")" node "$P/profile-style.mjs" --size 256 --steps 3 > "$OUT/profile-style.md"; echo "profile-style exit $?"
head -n 3 "$OUT"/profile-*.md

stamp "train"
name=dcgan-mnist-b256
timeout -s INT -k 30 "$(left "$TRAIN_SECONDS")" node "$P/cli.mjs" train --model dcgan --dataset mnist --batch 256 --epochs 1000 \
  --real-label 0.9 --checkpoint-every 1000000 --overwrite --out "runs/$name" 2>&1 | tr '\r' '\n' > "$OUT/train.log"
tail -n 12 "$OUT/train.log"
timeout "$(left 30)" node "$P/cli.mjs" sample --checkpoint "runs/$name/checkpoint.safetensors" --out "runs/$name/grid.png" \
  --tensors "runs/$name/grid.safetensors"
stamp "pytorch check"
timeout "$(left 45)" python3 tools/pytorch/check_checkpoint.py "runs/$name/checkpoint.safetensors" --tensors "runs/$name/grid.safetensors"

stamp "pack"
tar -cf "$OUT/runs.tar" --exclude='checkpoint.safetensors' "runs/$name"
ls -la "$OUT"
stamp "done"
