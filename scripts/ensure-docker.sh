#!/usr/bin/env bash
# The sandbox's tests run real Docker daemons (Debian's docker.io), whose images are built offline
# from the host's static busybox (busybox-static), rootless (rootlesskit, uidmap, slirp4netns).
set -euo pipefail
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
installed docker.io || missing+=(docker.io)
installed busybox-static || missing+=(busybox-static)
# Each run's daemon is rootless, as its project's own user.
installed rootlesskit || missing+=(rootlesskit)
installed uidmap || missing+=(uidmap)
installed slirp4netns || missing+=(slirp4netns)
# Replicating a golden to another host reads xattrs (getfattr) and may compress (zstd).
installed attr || missing+=(attr)
installed zstd || missing+=(zstd)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing ${missing[*]}: the Docker tests are skipped; install with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "Installing Debian's ${missing[*]} for the sandbox's Docker tests..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
