#!/usr/bin/env bash
# Continues a GAN run folder carried to a lent GPU machine (runs/NAME with its checkpoint.safetensors) in
# segments that end at the given total step counts, copying the checkpoint after each segment to
# $OUT/NAME-stepN.safetensors, so each can be scored back here with `npm run cli -- eval`.
#   RUN=runs/dcgan-mnist-h200 DATASET=mnist STEPS="3000 4000 5000" bash bench/device/resume.sh
# Carry .devpkg/{node,dawn.node,cli.mjs,nm.tar}.xz, .gl and the run folder (see pack.sh).
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device.log") 2>&1
: "${RUN:?RUN=runs/NAME is required}" "${STEPS:?STEPS=\"N1 N2 ...\" is required}"
DATASET=${DATASET:-mnist}

. bench/device/setup.sh

name=$(basename "$RUN")
for target in $STEPS; do
  stamp "resume $RUN to step $target"
  timeout -s INT -k 20 "${SEGMENT_SECONDS:-150}" node "$P/cli.mjs" train --dataset "$DATASET" --resume --out "$RUN" \
    --max-steps "$target" --epochs 100000 --checkpoint-every 1000000 2>&1 | tr '\r' '\n' | tail -n 4
  cp "$RUN/checkpoint.safetensors" "$OUT/$name-step$target.safetensors"
done
tar -cf "$OUT/$name.tar" --exclude='checkpoint.safetensors' "$RUN"
ls -la "$OUT"
stamp "done"
