#!/usr/bin/env bash
# Install the real programs the tests start (they are not Python packages): Mosquitto for the MQTT
# tests. Each is installed from Debian's packages only when missing, so a warm machine pays nothing.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] || need+=(mosquitto)

if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "make test needs these Debian packages: ${need[*]} (run: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "installing test programs: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
