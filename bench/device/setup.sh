# Sourced by bench/device/run.sh, resume.sh and gan64.sh on a lent GPU machine: unpacks what pack.sh built (Node, Dawn,
# the CLI and bench bundles, the Vulkan loader and libglvnd, Fashion-MNIST when carried) and finds the GPU
# through Dawn's Vulkan backend, exporting the VK_ICD_FILENAMES that worked. Exits 3 when no adapter is found.
# DEVICE_LOCAL=1: a rehearsal on this machine (run it in a clone): this machine's Node, Dawn and adapter, the
# bundles unpacked beside their .xz, nothing installed.
P=$PWD/.devpkg
stamp() { echo "=== $(date +%T) $*"; }
# `left CAP`: seconds a stage may take, CAP or what is left before the caller's deadline END (in $SECONDS), at least 1
left() { local cap=$1 rest=$((${END:?END, the deadline, is set by the calling script} - SECONDS)); echo $((rest < cap ? (rest > 1 ? rest : 1) : cap)); }
if [ "${DEVICE_LOCAL:-0}" = 1 ]; then
  stamp "local rehearsal"
  . scripts/gpu-env.sh
  for f in "$P"/*.mjs.xz; do xz -dkf "$f"; done
  echo "node $(node --version)"
  return 0
fi

stamp "unpack"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /opt/wgpu/bin
xz -dc "$P/node.xz" > /opt/wgpu/bin/node && chmod +x /opt/wgpu/bin/node
export PATH=/opt/wgpu/bin:$PATH
tar -C "$P" -xJf "$P/nm.tar.xz"
mkdir -p "$P/node_modules/webgpu/dist/linux-x64"
xz -dc "$P/dawn.node.xz" > "$P/node_modules/webgpu/dist/linux-x64/dawn.node"
for f in "$P"/*.mjs.xz; do xz -dkf "$f"; done
mkdir -p /usr/share/datasets/fashion-mnist
for f in "$P"/fashion/*.xz; do [ -f "$f" ] || continue; xz -dc "$f" > "/usr/share/datasets/fashion-mnist/$(basename "$f" .xz)"; done
export XDG_RUNTIME_DIR=/tmp/xdg && mkdir -p -m 700 $XDG_RUNTIME_DIR
echo "node $(node --version)"
nvidia-smi -L 2>/dev/null

stamp "adapter"
cat > "$P/probe.mjs" <<'JS'
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!a) { console.log('NO ADAPTER'); process.exit(3); }
console.log(JSON.stringify({ vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device, description: a.info.description,
  maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, timestamps: a.features.has('timestamp-query') }));
process.exit(0);
JS
# The vendor ICD under /usr/local/nvidia is the one that loads on these machines; the others are fallbacks.
export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib:${LD_LIBRARY_PATH:-}
found=
for icd in ${VK_ICD_FILENAMES:-} /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$icd" ] || continue
  echo "trying $icd: $(tr -d '\n ' < "$icd")"
  if VK_ICD_FILENAMES=$icd timeout 60 node "$P/probe.mjs"; then export VK_ICD_FILENAMES=$icd; found=1; break; fi
done
[ -n "$found" ] || { echo "no WebGPU adapter: ICDs:"; ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1; ldconfig -p | grep -i vulkan; ldd "$(ldconfig -p | grep -m1 libGLX_nvidia.so.0 | sed 's/.*=> //')" | grep -i "not found"; exit 3; }

