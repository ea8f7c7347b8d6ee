#!/usr/bin/env bash
# A private CA and a server certificate for the TLS listener (for a plant without its own PKI).
# Usage: ./make-certs.sh HOSTNAME [out-dir]    (default out-dir: ./certs)
# Clients trust the CA with:  pumpguard serve --broker mqtts://service:PW@HOSTNAME:8883 --ca certs/ca.crt
set -euo pipefail
host="${1:?give the broker host name clients will use}"
out="${2:-certs}"
mkdir -p "$out"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pumpguard-ca" \
    -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$host" -keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
printf "subjectAltName=DNS:%s,IP:127.0.0.1\n" "$host" > "$out/san.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -days 825 -extfile "$out/san.ext" -out "$out/server.crt" 2>/dev/null
rm -f "$out/server.csr" "$out/san.ext"
chmod 600 "$out"/*.key
echo "wrote $out/ca.crt (give to clients), $out/server.crt and $out/server.key (broker only)" >&2
