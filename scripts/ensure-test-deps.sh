#!/usr/bin/env bash
# Install the real programs the tests start (they are not Python packages): Mosquitto (and its
# mosquitto_passwd, with openssl for the TLS tests) for the MQTT tests, Chromium for the dashboard's
# browser tests. Each comes from Debian's packages only when missing, so a warm machine pays nothing.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 ]]; }
have mosquitto || need+=(mosquitto)
have mosquitto_passwd || need+=(mosquitto)
have openssl || need+=(openssl)
[[ -x /usr/bin/chromium ]] || need+=(chromium)
# fonts so screenshots show text
[[ -d /usr/share/fonts/truetype/dejavu ]] || need+=(fonts-dejavu-core)

if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "make test needs these Debian packages: ${need[*]} (run: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "installing test programs: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $(printf "%s\n" "${need[@]}" | sort -u) >/dev/null
fi
# Node-RED for tests/nodered (a pinned local copy in nodered/.runtime; skipped with a note when Node.js is absent)
bash "$(dirname "$0")/ensure-nodered.sh"
