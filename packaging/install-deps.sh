#!/usr/bin/env bash
# Installs every Debian package zabfs needs to build, run and test.
# Idempotent: packages already present are skipped, and the package lists are
# refreshed only when something is missing.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
            libuv1-dev liburcu-dev libfuse3-dev fuse3)
test_pkgs=(python3 python3-kazoo zookeeper zookeeper-bin libzookeeper-mt-dev
           inotify-tools attr util-linux procps iproute2 iptables
           default-jre-headless libnetfilter-queue-dev)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -q
$sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
