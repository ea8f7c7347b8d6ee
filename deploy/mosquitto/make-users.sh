#!/usr/bin/env bash
# Create the password file for the four roles of the ACL (sensor, service, controller, operator).
# Passwords come from the environment (PG_SENSOR_PASSWORD, ...) or are generated and printed once.
# Usage: ./make-users.sh [passwd-file]     (default: ./passwd)
set -euo pipefail
file="${1:-passwd}"
: > "$file"
chmod 600 "$file"
for role in sensor service controller operator; do
    var="PG_$(echo "$role" | tr a-z A-Z)_PASSWORD"
    password="${!var:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')}"
    mosquitto_passwd -b "$file" "$role" "$password"
    [ -n "${!var:-}" ] || echo "$role: $password"
done
echo "wrote $file (hashed); give each client its own user in the broker URL: mqtts://sensor:PASSWORD@host:8883" >&2
