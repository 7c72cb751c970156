#!/usr/bin/env bash
# Runs on a lent GPU machine, from the repository root, after bench/device/pack.sh was run here and .devpkg and
# .gl were carried over. Stages, each time-boxed so that whatever finished comes back in $OUT:
#   1. unpack Node, Dawn, the Vulkan loader and the data; find the GPU through Dawn's Vulkan backend
#   2. the benchmark suite (ours beside tfjs-webgpu on that adapter)        → $OUT/bench-<adapter>.{md,json}
#   3. the lesson DCGAN on MNIST digits, then on Fashion-MNIST, for TRAIN_SECONDS each (Ctrl-C semantics:
#      the trainer saves its checkpoint, grid, loss curve and interpolation on SIGINT)
#   4. each checkpoint loaded into PyTorch (strict) and G/D compared with our outputs
# Environment: OUT (where results go), TRAIN_SECONDS [150], BENCH_ARGS [--quick --backends=webgpu],
#   BENCH_CONV [unset; e.g. "register tiled" to benchmark both conv kernel versions].
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device.log") 2>&1
TRAIN_SECONDS=${TRAIN_SECONDS:-150}

. bench/device/setup.sh

stamp "bench"
# BENCH_CONV="register tiled" runs the suite once per conv kernel version (--conv=V; tables bench-table-V.txt,
# results <adapter>-conv-V.{md,json}); unset, once with the engine's default kernels.
for v in ${BENCH_CONV:-default}; do
  conv=""; suffix=""
  if [ "$v" != default ]; then conv="--conv=$v"; suffix="-$v"; fi
  # shellcheck disable=SC2086
  timeout 200 node "$P/bench.mjs" ${BENCH_ARGS:---quick --backends=webgpu} $conv > "$OUT/bench-table$suffix.txt"
  echo "bench $v exit $?"; cat "$OUT/bench-table$suffix.txt"
done
cp "$P"/results/*.json "$P"/results/*.md "$OUT/" 2>/dev/null

train() { # name dataset extra-args...
  local name=$1 dataset=$2; shift 2
  stamp "train $name"
  timeout -s INT -k 30 "$TRAIN_SECONDS" node "$P/cli.mjs" train --model dcgan --dataset "$dataset" --batch 64 --real-label 0.9 \
    --checkpoint-every 1000000 --out "runs/$name" "$@" 2>&1 | tr '\r' '\n' | tail -n 30
  node "$P/cli.mjs" sample --checkpoint "runs/$name/checkpoint.safetensors" --out "runs/$name/grid.png" --tensors "runs/$name/grid.safetensors"
  stamp "pytorch check $name"
  python3 tools/pytorch/check_checkpoint.py "runs/$name/checkpoint.safetensors" --tensors "runs/$name/grid.safetensors"
  cp "runs/$name/checkpoint.safetensors" "$OUT/$name.safetensors"
}
train dcgan-mnist-gpu mnist --epochs 40
train dcgan-fashion-gpu fashion-mnist --epochs 12

stamp "pack"
tar -cf "$OUT/runs.tar" --exclude='checkpoint.safetensors' runs/dcgan-mnist-gpu runs/dcgan-fashion-gpu
ls -la "$OUT"
stamp "done"
