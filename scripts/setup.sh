#!/usr/bin/env bash
# One-time, idempotent machine setup for a fresh Debian (bookworm) machine.
#  - Mesa lavapipe >= 24 from bookworm-backports: a software Vulkan driver Dawn accepts (no GPU needed).
#  - Debian chromium: headless browser tests, and SwiftShader as a fallback Vulkan driver.
#  - npm ci: the project's Node dependencies.
# Runs as root (or with sudo available). Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node.js 20.19+, 22.12+ or 24+ (package.json's engines: where vite and vitest both run; playwright-core needs 20).
# Debian bookworm's own nodejs is 18.
node_ok() { node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a >= 24 ? 0 : 1)'; }
if ! command -v node >/dev/null || ! node_ok; then
  echo "[setup] this project needs Node.js 20.19+, 22.12+ or 24+ with npm; found $(node --version 2>/dev/null || echo 'no node'). Install Node 20 or 22 (nodejs.org, or NodeSource's Debian packages), then run this again." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
lvp_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^([0-9]+).*/\1/'; }

need_apt=0
if ! have_pkg mesa-vulkan-drivers || [ "$(lvp_version)" -lt 24 ] 2>/dev/null; then need_apt=1; fi
if ! have_pkg chromium; then need_apt=1; fi
if ! have_pkg dataset-fashion-mnist; then need_apt=1; fi

if [ "$need_apt" = 1 ] && command -v apt-get >/dev/null; then
  if [ -f /etc/debian_version ] && grep -q '^12' /etc/debian_version \
     && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "[setup] adding the bookworm-backports apt source (for Mesa >= 24)"
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
  echo "[setup] apt-get update"
  $SUDO apt-get update -qq
  if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "[setup] installing Mesa lavapipe from bookworm-backports"
    $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  else
    $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
  echo "[setup] installing chromium (browser tests; SwiftShader fallback) and dataset-fashion-mnist"
  $SUDO apt-get install -y -qq chromium dataset-fashion-mnist >/dev/null
else
  echo "[setup] system packages already present (mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null), chromium, dataset-fashion-mnist)"
fi

if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "[setup] npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  else
    echo "[setup] node_modules up to date"
  fi
fi

if [ -f scripts/adapter-info.mjs ] && [ -d node_modules/webgpu ]; then
  . scripts/gpu-env.sh
  node scripts/adapter-info.mjs || { echo "[setup] no WebGPU adapter found (see README: Adapter setup)"; exit 1; }
fi
