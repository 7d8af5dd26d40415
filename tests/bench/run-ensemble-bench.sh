#!/usr/bin/env bash
# run-ensemble-bench.sh - a 3-node zabfs ensemble vs a 3-node Apache
# ZooKeeper 3.8 ensemble (issue #4), both on this machine on loopback with
# fsync on and tickTime=2000, data on the same disk, measured in one run.
#
#   tests/bench/run-ensemble-bench.sh                full run (~10 minutes)
#   DUR=2 KILLS=3 tests/bench/run-ensemble-bench.sh  a short one
#
# Measures:
#   - throughput and latency (after an unmeasured warm-up pass on each
#     ensemble): create, set, get and 90/10 get/set at
#     1 session x depth 1 and 8 sessions x depth 32 (../shared/bench/zkload),
#     the two ensembles alternating per cell.  The connect string lists the
#     three nodes followers first, so the 1x1 session talks to a follower
#     on both and the 8 sessions spread 3/3/2 with the leader getting 2.
#   - failover: KILLS times per ensemble (alternating), the leader found
#     with `srvr` is killed with SIGKILL by failover-probe.py, which writes
#     one znode at a time through the two followers and reports the time
#     from the kill to the first write that succeeds after it; the killed
#     node is then restarted and every node must report Mode leader or
#     follower again before the next kill.
# Prints a markdown table (summarize-ensemble.py) with the ratios and the
# issue's targets next to them; keeps the raw lines in $OUT.  Timings are
# reported, never asserted.
#
# Invariants
#   1. Every process this script starts is stopped by its pid on exit
#      (EXIT trap, also on INT/TERM): zabfs nodes by the pids kept here,
#      ZooKeeper by zk-ensemble.sh's pid files, which a restart rewrites.
#   2. Every step is bounded: `timeout` around every tool, every wait has a
#      deadline; a failed step leaves a line in $OUT and the run goes on
#      where it can (a node that does not come back ends the failover runs
#      of its ensemble).
#   3. Ports: ZooKeeper clients 47181.., quorum 47888.., election 48888..;
#      zabfs clients 47281.., peers 27891.. (below Linux's ephemeral range,
#      so a restarted node's peer port is never held by an outgoing socket).
#
# Environment: DUR (measured s per cell, 10), WARMUP (1), KILLS (20),
# WARM_PASS (s of unmeasured create and mixed 8x32 load on each ensemble
# before the cells, so ZooKeeper's JIT is warm: 5),
# BENCH_DIR (/var/tmp/zabfs-bench: data in ens-zk/ and ens-zabfs/),
# ZABFS_BIN (build/zabfs), SHARED (../shared), OUT (results file).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
shared=${SHARED:-$repo/../shared}
dur=${DUR:-10}
warmup=${WARMUP:-1}
kills=${KILLS:-20}
warm_pass=${WARM_PASS:-5}
dir=${BENCH_DIR:-/var/tmp/zabfs-bench}
zabfs=${ZABFS_BIN:-$repo/build/zabfs}
out=${OUT:-$dir/ensemble-bench-$(date +%Y%m%d-%H%M%S).txt}
tools=$dir/ens-tools
zk_dir=$dir/ens-zk
zb_dir=$dir/ens-zabfs
nodes=3
zk_cport=47181
zb_cport=47281
zb_pport=27891
zb_eport=28891
ready_s=120     # bound on an ensemble (re)gaining a leader and serving
probe_s=60      # bound on one failover measurement

mkdir -p "$dir" "$tools"
: >"$out"
[ -x "$zabfs" ] || { echo "build zabfs first (cmake --build build)" >&2; exit 1; }
timeout 120 cc -O2 -std=c11 -o "$tools/zkload" "$shared/bench/zkload.c"

zk_env=(ZK_BENCH_DIR="$zk_dir" ZK_CLIENT_PORT_BASE=$zk_cport
	ZK_QUORUM_PORT_BASE=47888 ZK_ELECTION_PORT_BASE=48888 ZK_FORCESYNC=yes
	ZK_START_TIMEOUT=$ready_s)
declare -a zb_pids

port_of() { # ensemble node
	if [ "$1" = zookeeper ]; then echo $((zk_cport + $2 - 1)); else echo $((zb_cport + $2 - 1)); fi
}
pid_of() { # ensemble node
	if [ "$1" = zookeeper ]; then cat "$zk_dir/node$2/pid" 2>/dev/null || true; else echo "${zb_pids[$2]:-}"; fi
}
pids_of() { # ensemble -> comma separated
	local i p=""
	for i in $(seq $nodes); do p+="${p:+,}$(pid_of "$1" "$i")"; done
	echo "$p"
}

zk_start() {
	timeout $((ready_s + 30)) env "${zk_env[@]}" bash "$shared/bench/zk-ensemble.sh" start $nodes >/dev/null
}
zk_stop() {
	[ -f "$zk_dir/nodes" ] || return 0
	timeout 60 env "${zk_env[@]}" bash "$shared/bench/zk-ensemble.sh" stop >/dev/null 2>&1 || true
}
# Starts node i's JVM again on its data, the way zk-ensemble.sh starts it
# (which wipes the data on "start"), with the JVM's pid in its pid file.
zk_restart() { # node
	local node=$zk_dir/node$1
	rm -f "$node/pid"
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$node/pid" \
		java -Xms256m -Xmx1g \
		-Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
		-Dorg.slf4j.simpleLogger.showDateTime=true \
		-Dzookeeper.snapshot.trust.empty=true \
		-cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
		org.apache.zookeeper.server.quorum.QuorumPeerMain "$node/zoo.cfg" \
		</dev/null >>"$node/server.log" 2>&1 &
	disown $!
	local t0=$SECONDS
	until [ -s "$node/pid" ] && kill -0 "$(cat "$node/pid")" 2>/dev/null; do
		((SECONDS - t0 < 10)) || return 1
		sleep 0.05
	done
}

zb_configure() {
	local i j secret
	secret=$(head -c 24 /dev/urandom | base64)
	for i in $(seq $nodes); do
		mkdir -p "$zb_dir/n$i/data"
		echo "$i" >"$zb_dir/n$i/data/myid"
		{
			echo "tickTime=2000"
			echo "initLimit=10"
			echo "syncLimit=5"
			echo "dataDir=$zb_dir/n$i/data"
			echo "clientPort=$((zb_cport + i - 1))"
			echo "clientPortAddress=127.0.0.1"
			echo "maxClientCnxns=0"
			echo "4lw.commands.whitelist=*"
			echo "forceSync=yes"
			echo "autopurge.purgeInterval=0"
			echo "peerSecret=$secret"
			for j in $(seq $nodes); do
				echo "server.$j=127.0.0.1:$((zb_pport + j - 1)):$((zb_eport + j - 1))"
			done
		} >"$zb_dir/n$i/zoo.cfg"
	done
}
zb_start_node() { # node
	"$zabfs" "$zb_dir/n$1/zoo.cfg" </dev/null >>"$zb_dir/n$1/zabfs.log" 2>&1 &
	zb_pids[$1]=$!
	disown $! # bash still reaps it, without a "Killed" job notice
}
zb_stop() {
	local i p
	for i in "${!zb_pids[@]}"; do kill -TERM "${zb_pids[$i]}" 2>/dev/null || true; done
	for i in "${!zb_pids[@]}"; do
		p=${zb_pids[$i]}
		gone "$p" 10 || { kill -KILL "$p" 2>/dev/null || true; gone "$p" 10 || true; }
		unset "zb_pids[$i]"
	done
}

cleanup() { zb_stop; zk_stop; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until pid has exited (a zombie counts as exited).
gone() { # pid timeout_s
	local t0=$SECONDS st
	while ((SECONDS - t0 < $2)); do
		st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)
		[ -z "$st" ] || [ "$st" = Z ] && return 0
		sleep 0.05
	done
	return 1
}
four() { # port word
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf %s "$2" >&3 && cat <&3' \
		_ "$1" "$2" 2>/dev/null || true
}
mode() { # ensemble node
	four "$(port_of "$1" "$2")" srvr | sed -n 's/^Mode: //p'
}
modes() { # ensemble -> "node1=follower node2=leader ..."
	local i s=""
	for i in $(seq $nodes); do s+="${s:+ }node$i=$(mode "$1" "$i")"; done
	echo "$s"
}
# Waits until every node is alive and reports leader or follower, exactly
# one of them leader; prints that leader's node number.
wait_ready() { # ensemble timeout_s
	local t0=$SECONDS i m p leaders leader serving
	while ((SECONDS - t0 < $2)); do
		leaders=0 serving=0 leader=
		for i in $(seq $nodes); do
			p=$(pid_of "$1" "$i")
			[ -n "$p" ] && kill -0 "$p" 2>/dev/null || continue
			m=$(mode "$1" "$i")
			case "$m" in
			leader) leaders=$((leaders + 1)) serving=$((serving + 1)) leader=$i ;;
			follower) serving=$((serving + 1)) ;;
			esac
		done
		if [ $serving -eq $nodes ] && [ $leaders -eq 1 ]; then
			echo "$leader"
			return 0
		fi
		sleep 0.1
	done
	echo "$1: not every node serving with one leader within $2 s ($(modes "$1"))" | tee -a "$out" >&2
	return 1
}
# The client connect string: followers first, then the leader.
hosts_of() { # ensemble leader [followers_only]
	local i s=""
	for i in $(seq $nodes); do
		[ "$i" = "$2" ] || s+="${s:+,}127.0.0.1:$(port_of "$1" "$i")"
	done
	[ -n "${3:-}" ] || s+=",127.0.0.1:$(port_of "$1" "$2")"
	echo "$s"
}

load() { # ensemble op conns depth
	local extra=() line rc=0
	[ "$2" = mixed ] && extra=(-r 90)
	line=$(timeout $((dur + warmup + 60)) "$tools/zkload" -h "${hosts[$1]}" -o "$2" \
		"${extra[@]}" -c "$3" -d "$4" -s 64 -k 1000 -t "$dur" -w "$warmup" \
		-P "$(pids_of "$1")" 2>>"$out.stderr") || rc=$?
	echo "target=$1 cell=$2/$3x$4 rc=$rc $line" | tee -a "$out" >&2
}

# One failover sample; returns 1 when the ensemble did not come back.
failover() { # ensemble kill_number
	local e=$1 leader pid line rc=0 node_port
	leader=$(wait_ready "$e" $ready_s) || return 1
	pid=$(pid_of "$e" "$leader")
	line=$(timeout $((2 * probe_s + 30)) python3 "$repo/tests/bench/failover-probe.py" \
		-h "$(hosts_of "$e" "$leader" followers)" -K "$pid" -t $probe_s \
		2>>"$out.stderr") || rc=$?
	echo "target=$e kill=$2 leader=node$leader rc=$rc $line" | tee -a "$out" >&2
	# The probe killed it unless it failed before that (no sample then).
	kill -KILL "$pid" 2>/dev/null || true
	gone "$pid" 30 || { echo "$e: pid $pid outlived SIGKILL" | tee -a "$out" >&2; return 1; }
	node_port=$(port_of "$e" "$leader")
	if [ "$e" = zabfs ]; then
		zb_start_node "$leader"
	else
		zk_restart "$leader" || { echo "$e: node$leader did not start again" | tee -a "$out" >&2; return 1; }
	fi
	local t1; t1=$(date +%s.%N)
	wait_ready "$e" $ready_s >/dev/null || return 1
	echo "target=$e rejoin=$2 node=node$leader port=$node_port rejoin_s=$(echo "$(date +%s.%N) - $t1" | bc -l)" >>"$out"
}

echo "# $(date -u +%FT%TZ) $(uname -r) nproc=$(nproc) DUR=$dur KILLS=$kills zabfs=$(git -C "$repo" rev-parse --short HEAD)" >>"$out"
rm -rf "$zk_dir" "$zb_dir"
zk_start
zb_configure
for i in $(seq $nodes); do zb_start_node "$i"; done
declare -A hosts
for e in zookeeper zabfs; do
	leader=$(wait_ready $e $ready_s)
	hosts[$e]=$(hosts_of $e "$leader")
	echo "# $e $(modes $e) hosts=${hosts[$e]} pids=$(pids_of $e)" | tee -a "$out" >&2
done

# Unmeasured: the JVMs compile their hot paths (zabfs gets the same pass).
for e in zookeeper zabfs; do
	for op in create mixed; do
		line=$(timeout $((warm_pass + 60)) "$tools/zkload" -h "${hosts[$e]}" -o "$op" \
			-c 8 -d 32 -s 64 -k 1000 -t "$warm_pass" -w 0 2>>"$out.stderr") || true
		echo "# warm-up pass target=$e $line" >>"$out"
	done
done

for op in create set get mixed; do
	for shape in "1 1" "8 32"; do
		set -- $shape
		load zookeeper "$op" "$1" "$2"
		load zabfs "$op" "$1" "$2"
	done
done

alive=(zookeeper zabfs)
for k in $(seq "$kills"); do
	for e in "${alive[@]}"; do
		if ! failover "$e" "$k"; then
			echo "target=$e failover_stopped_at=$k $(modes "$e")" | tee -a "$out" >&2
			alive=("${alive[@]/$e/}")
		fi
	done
	alive=($(printf '%s\n' "${alive[@]}" | grep . || true))
	[ ${#alive[@]} -gt 0 ] || break
done

python3 "$repo/tests/bench/summarize-ensemble.py" "$out"
echo "raw results: $out (stderr of the tools: $out.stderr; logs: $zk_dir/node*/server.log, $zb_dir/n*/zabfs.log)" >&2
