#!/usr/bin/env bash
# Installs the system libraries the package links (libpci, libnuma) when they are missing.
# Idempotent and quiet when everything is already there. Needs root or sudo on Debian/Ubuntu.
set -euo pipefail

missing=()
for pkg in libpci-dev libnuma-dev valgrind; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
fi
echo "setup: installing ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
