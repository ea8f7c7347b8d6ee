#!/usr/bin/env bash
# Install the pinned Node-RED (nodered/package.json + package-lock.json) into nodered/.runtime/ for the
# Node-RED tests and for running the flows, only when it is missing or the lock changed. Needs Node.js
# >= 18 and npm (Debian: apt-get install nodejs npm); installs nothing globally.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/nodered
runtime=$src/.runtime

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Node-RED tests need Node.js >= 18 and npm (apt-get install -y nodejs npm); they will be skipped" >&2
  exit 0
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 18)); then
  echo "Node.js $(node --version) is too old for Node-RED 4 (needs >= 18); the Node-RED tests will be skipped" >&2
  exit 0
fi
if [[ -f $runtime/node_modules/node-red/red.js ]] && cmp -s "$src/package-lock.json" "$runtime/package-lock.json"; then
  exit 0
fi
echo "installing Node-RED $(node -p "require('$src/package.json').dependencies['node-red']") into nodered/.runtime"
mkdir -p "$runtime"
cp "$src/package.json" "$src/package-lock.json" "$runtime/"
(cd "$runtime" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts)
