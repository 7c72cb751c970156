# Sourced by scripts: picks a Vulkan driver for Dawn when the machine has no GPU.
# A machine with a real GPU (an ICD other than lavapipe/SwiftShader) is left alone.
# WGPU_ADAPTER=swiftshader forces the SwiftShader fallback.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" 2>/dev/null && chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  lvp=/usr/share/vulkan/icd.d/lvp_icd.json
  swr=/usr/lib/chromium/vk_swiftshader_icd.json
  # Mesa installs ICDs for intel/radeon/virtio too; only a vendor driver (NVIDIA) counts as a real GPU here.
  other=$(ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json 2>/dev/null | head -1 || true)
  if [ "${WGPU_ADAPTER:-}" = "swiftshader" ] && [ -f "$swr" ]; then export VK_ICD_FILENAMES="$swr"
  elif [ -n "$other" ]; then :   # a real GPU driver is installed: let the loader find it
  elif [ -f "$lvp" ]; then export VK_ICD_FILENAMES="$lvp"
  elif [ -f "$swr" ]; then export VK_ICD_FILENAMES="$swr"
  fi
fi
