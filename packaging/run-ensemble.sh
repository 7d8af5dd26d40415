#!/usr/bin/env bash
# Sets up and runs a local ensemble of N zabfs nodes (default 3) on
# loopback, each with its tree mounted: node I serves clients on
# 127.0.0.1:218I and mounts /zkI; its data is under
# ${ZABFS_HOME:-/var/tmp/zabfs-ensemble}/nI.  Peer ports are 2888+I (below
# Linux's ephemeral port range, so a node's port is never taken by a
# connection dialing it while it is down).  Ctrl-C (SIGINT) or SIGTERM
# stops every node (and unmounts).
#   packaging/run-ensemble.sh          three nodes
#   packaging/run-ensemble.sh 5        five nodes
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
if [ "$n" -lt 1 ] || [ "$n" -gt 9 ]; then
	echo "usage: packaging/run-ensemble.sh [N, 1..9]" >&2
	exit 2
fi
bash packaging/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${JOBS:-2}" --target zabfs
home=${ZABFS_HOME:-/var/tmp/zabfs-ensemble}
secret_file=$home/peer-secret
mkdir -p "$home"
[ -f "$secret_file" ] || head -c 24 /dev/urandom | base64 >"$secret_file"
servers=""
for i in $(seq 1 "$n"); do
	servers+="server.$i=127.0.0.1:$((2888 + i)):$((3888 + i))"$'\n'
done
pids=()
stop() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait
}
trap stop INT TERM
for i in $(seq 1 "$n"); do
	dir=$home/n$i
	mkdir -p "$dir/data"
	echo "$i" >"$dir/data/myid"
	cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$((2180 + i))
clientPortAddress=127.0.0.1
mountPoint=/zk$i
peerSecret=$(cat "$secret_file")
4lw.commands.whitelist=*
$servers
CFG
	build/zabfs "$dir/zoo.cfg" >>"$dir/zabfs.log" 2>&1 &
	pids+=($!)
	echo "node $i: 127.0.0.1:$((2180 + i)), mounted at /zk$i, log $dir/zabfs.log"
done
echo "ensemble of $n running (stop with Ctrl-C)"
wait
