#!/usr/bin/env bash
# Sets up and runs one zabfs node in the foreground on this machine:
# installs the build dependencies, builds build/zabfs, writes a zoo.cfg under
# ${ZABFS_HOME:-/var/tmp/zabfs} (data there too) and runs it on
# 127.0.0.1:${ZABFS_PORT:-2181}.  Ctrl-C (SIGINT) or SIGTERM stops it.
#   packaging/run-local.sh
#   ZABFS_PORT=12181 ZABFS_HOME=/tmp/zz packaging/run-local.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${JOBS:-2}" --target zabfs
home=${ZABFS_HOME:-/var/tmp/zabfs}
mkdir -p "$home"
cfg=$home/zoo.cfg
if [ ! -f "$cfg" ]; then
	sed -e "s|@HOME@|$home|g" -e "s|@PORT@|${ZABFS_PORT:-2181}|g" \
		packaging/zoo.cfg.in >"$cfg"
	echo "wrote $cfg"
fi
echo "zabfs: $cfg (stop with Ctrl-C)"
exec build/zabfs "$cfg"
