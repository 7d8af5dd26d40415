#!/usr/bin/env bash
# run-node-bench.sh - zabfs vs Apache ZooKeeper 3.8, both one node with fsync
# on, data on the same disk, driven in one run by the same load generator
# (../shared/bench/zkload, which speaks the wire protocol itself).
#
#   tests/bench/run-node-bench.sh            full run (~15 minutes)
#   DUR=3 FILL=100000 tests/bench/run-node-bench.sh   a short one
#
# Measures: create, set, get and 90/10 get/set at 1 session x depth 1 and
# 8 sessions x depth 32 (zkload, alternating the two servers per cell);
# write+fdatasync latency of the disk (fsynclat); RSS after FILL znodes of
# 64 bytes (zkfill); restart time with that tree (SIGTERM, start, until the
# node serves the whole tree).  Prints a markdown table with ratios and
# keeps the raw lines in $OUT.
#
# Environment: DUR (measured s per cell, 10), WARMUP (1), FILL (1000000),
# BENCH_DIR (/var/tmp/zabfs-bench: the disk measured), ZABFS_BIN
# (build/zabfs), SHARED (../shared), OUT (results file).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
shared=${SHARED:-$repo/../shared}
dur=${DUR:-10}
warmup=${WARMUP:-1}
fill=${FILL:-1000000}
dir=${BENCH_DIR:-/var/tmp/zabfs-bench}
zabfs=${ZABFS_BIN:-$repo/build/zabfs}
out=${OUT:-$dir/node-bench-$(date +%Y%m%d-%H%M%S).txt}
zk_port=42181
zb_port=42281
tools=$dir/tools

mkdir -p "$dir" "$tools"
: >"$out"
[ -x "$zabfs" ] || { echo "build zabfs first (cmake --build build)" >&2; exit 1; }
cc -O2 -std=c11 -o "$tools/zkload" "$shared/bench/zkload.c"
cc -O2 -o "$tools/fsynclat" "$shared/bench/fsynclat.c"
cc -O2 -std=c11 -D_GNU_SOURCE -I "$repo/include" -o "$tools/zkfill" \
	"$repo/tests/bench/zkfill.c" "$repo/proto/jute.c" "$repo/proto/err.c" \
	"$repo/proto/zkrequest.c" "$repo/proto/zkresponse.c"

zk_env=(ZK_BENCH_DIR="$dir/zk" ZK_CLIENT_PORT_BASE=$zk_port
	ZK_QUORUM_PORT_BASE=42888 ZK_ELECTION_PORT_BASE=43888 ZK_FORCESYNC=yes)
zb_pid=

zk_start() { env "${zk_env[@]}" bash "$shared/bench/zk-ensemble.sh" start 1 >/dev/null; }
zk_stop() { env "${zk_env[@]}" bash "$shared/bench/zk-ensemble.sh" stop >/dev/null 2>&1 || true; }
zk_pid() { cat "$dir/zk/node1/pid"; }
# Starts the JVM again on the data zk-ensemble.sh made (its "start" would
# wipe it), the way zk-ensemble.sh starts it, with the PID in its pid file.
zk_restart() {
	local node=$dir/zk/node1
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$node/pid" \
		java -Xms256m -Xmx1g -Dzookeeper.snapshot.trust.empty=true \
		-cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
		org.apache.zookeeper.server.quorum.QuorumPeerMain "$node/zoo.cfg" \
		</dev/null >>"$node/server.log" 2>&1 &
}

zb_start() {
	mkdir -p "$dir/zabfs"
	cat >"$dir/zabfs/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/zabfs/data
clientPort=$zb_port
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
maxClientCnxns=0
EOF
	"$zabfs" "$dir/zabfs/zoo.cfg" 2>>"$dir/zabfs/server.log" &
	zb_pid=$!
	wait_serving $zb_port 0 60
}
zb_stop() {
	[ -n "$zb_pid" ] || return 0
	kill -TERM "$zb_pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$zb_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$zb_pid" 2>/dev/null || true
	wait "$zb_pid" 2>/dev/null || true
	zb_pid=
}
cleanup() { zb_stop; zk_stop; }
trap cleanup EXIT

four() { # port word
	exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
	printf '%s' "$2" >&3
	timeout 5 cat <&3 || true
	exec 3<&- 3>&-
}

# Waits until the server on port serves at least `nodes` znodes.
wait_serving() { # port nodes timeout_s
	local t0=$SECONDS n
	while ((SECONDS - t0 < $3)); do
		n=$(four "$1" srvr 2>/dev/null | sed -n 's/^Node count: //p' || true)
		if [ -n "$n" ] && [ "$n" -ge "$2" ]; then return 0; fi
		sleep 0.05
	done
	echo "server on port $1 did not serve $2 nodes within $3 s" >&2
	return 1
}

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }

load() { # tag port pid op conns depth
	local op=$4 extra=()
	[ "$op" = mixed ] && extra=(-r 90)
	local line
	line=$(timeout $((dur + warmup + 60)) "$tools/zkload" -h "127.0.0.1:$2" -o "$op" \
		"${extra[@]}" -c "$5" -d "$6" -s 64 -k 1000 -t "$dur" -w "$warmup" \
		-P "$3" 2>/dev/null) || true
	echo "target=$1 $line" | tee -a "$out" >&2
}

echo "# $(date -u +%FT%TZ) $(uname -r) nproc=$(nproc) DUR=$dur FILL=$fill" >>"$out"
rm -rf "$dir/zk" "$dir/zabfs"
zk_start
zb_start
for op in create set get mixed; do
	for shape in "1 1" "8 32"; do
		set -- $shape
		load zookeeper $zk_port "$(zk_pid)" "$op" "$1" "$2"
		load zabfs $zb_port "$zb_pid" "$op" "$1" "$2"
	done
done
"$tools/fsynclat" -d "$dir" -m prealloc -b 64 | tee -a "$out" >&2

# Memory and restart with FILL znodes, on fresh servers.
zb_stop
zk_stop
rm -rf "$dir/zk" "$dir/zabfs"
zk_start
zb_start
for target in zookeeper zabfs; do
	if [ $target = zookeeper ]; then port=$zk_port; pid=$(zk_pid); else port=$zb_port; pid=$zb_pid; fi
	base=$(rss_kb "$pid")
	"$tools/zkfill" 127.0.0.1 "$port" "$fill" 64 | sed "s/^/target=$target /" | tee -a "$out" >&2
	sleep 2
	echo "target=$target rss_kb_before=$base rss_kb_after=$(rss_kb "$pid") znodes=$fill" |
		tee -a "$out" >&2
done
t0=$(date +%s.%N)
zk_stop
zk_restart
wait_serving $zk_port "$fill" 600
t1=$(date +%s.%N)
echo "target=zookeeper restart_s=$(echo "$t1 - $t0" | bc -l)" | tee -a "$out" >&2
t0=$(date +%s.%N)
zb_stop
zb_start
wait_serving $zb_port "$fill" 600
t1=$(date +%s.%N)
echo "target=zabfs restart_s=$(echo "$t1 - $t0" | bc -l)" | tee -a "$out" >&2

python3 "$repo/tests/bench/summarize-node.py" "$out"
echo "raw results: $out" >&2
