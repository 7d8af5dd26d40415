#!/usr/bin/env bash
# run-mount-bench.sh - the mount against the ways a program or a shell user
# reads and watches a znode today (issue #3), in one run: zabfs with its
# tree mounted, Apache ZooKeeper 3.8 (one node, fsync on, started with
# ../shared/bench/zk-ensemble.sh) and tmpfs as the floor.
#
#   tests/bench/run-mount-bench.sh            full run (about a minute)
#   DUR=3 N=100 tests/bench/run-mount-bench.sh   a short one (~30 s)
#
# Measures:
#   1. reading a 64-byte znode one at a time: open/read/close in a C loop
#      (fsloop) on the mount and on tmpfs, against a synchronous zoo_get of
#      the C client (zkget) on ZooKeeper and, for reference, on zabfs;
#   2. the shell: `echo $i > f` and `cat f`, each timed with $EPOCHREALTIME,
#      N times on the mount and on tmpfs, N_JVM times with zkCli.sh (one
#      JVM per command) on ZooKeeper;
#   3. the delay from a kazoo set() to the IN_MODIFY event on the mount
#      (event-delay.py, N_EVENTS sets one at a time).
# Prints a markdown table with ratios and the issue's targets next to the
# values (open/read/close >= 3x the ops/s of zoo_get on ZooKeeper; event
# delay p99 < 5 ms); timings are reported, never asserted.  Keeps the raw
# lines in $OUT.
#
# Invariants:
#   1. Ports and directories differ from run-node-bench.sh's (client ports
#      44181 and 44281, quorum 44888, election 45888; $BENCH_DIR/mount-*),
#      so the two can run at once.
#   2. Every step is bounded by `timeout`; on exit, whatever the reason,
#      zabfs and ZooKeeper are stopped by pid, the mount is detached
#      (fusermount3 -uz) and the tmpfs files are removed.
#   3. Each read cell runs alone, one client, one request at a time, on
#      the same 64 bytes; each loop checks what it read (errors= counts
#      the misses), and the shell loops check that f holds the last value.
#   4. A cell whose tool fails shows as "failed" in the table and the run
#      goes on; only failing to build the tools or start the servers
#      aborts it.
# Runs as root (the mount is made with allow_other).
#
# Environment: DUR (measured s per cell of 1, 5), WARMUP (1), N (shell
# iterations on the mount and tmpfs, 200), N_JVM (zkCli.sh iterations, 5),
# N_EVENTS (300), BENCH_DIR (/var/tmp/zabfs-bench: zabfs's and ZooKeeper's
# data and the mount point), SHM_DIR (/dev/shm), ZABFS_BIN (build/zabfs),
# SHARED (../shared), ZKCLI (/usr/share/zookeeper/bin/zkCli.sh), PYTHON
# (/usr/bin/python3, the one with python3-kazoo), OUT (results file).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
shared=${SHARED:-$repo/../shared}
dur=${DUR:-5}
warmup=${WARMUP:-1}
n_shell=${N:-200}
n_jvm=${N_JVM:-5}
n_events=${N_EVENTS:-300}
dir=${BENCH_DIR:-/var/tmp/zabfs-bench}
shm=${SHM_DIR:-/dev/shm}/zabfs-mount-bench.$$
zabfs=${ZABFS_BIN:-$repo/build/zabfs}
zkcli=${ZKCLI:-/usr/share/zookeeper/bin/zkCli.sh}
python=${PYTHON:-/usr/bin/python3}
out=${OUT:-$dir/mount-bench-$(date +%Y%m%d-%H%M%S).txt}
zk_port=44181
zb_port=44281
tools=$dir/tools
mnt=$dir/mount-mnt
bench=$repo/tests/bench

[ -x "$zabfs" ] || { echo "build zabfs first (cmake --build build)" >&2; exit 1; }
[ -x "$zkcli" ] || { echo "no $zkcli (apt-get install zookeeper)" >&2; exit 1; }
command -v fusermount3 >/dev/null || { echo "no fusermount3 (apt-get install fuse3)" >&2; exit 1; }
"$python" -c 'import kazoo' 2>/dev/null ||
	{ echo "$python cannot import kazoo (apt-get install python3-kazoo)" >&2; exit 1; }
mkdir -p "$dir" "$tools" "$shm"
: >"$out"
cc -O2 -std=c11 -D_GNU_SOURCE -o "$tools/fsloop" "$bench/fsloop.c" "$bench/lathist.c" -lm
cc -O2 -std=c11 -D_GNU_SOURCE -pthread -o "$tools/zkget" "$bench/zkget.c" \
	"$bench/lathist.c" -lzookeeper_mt -lm

zk_env=(ZK_BENCH_DIR="$dir/mount-zk" ZK_CLIENT_PORT_BASE="$zk_port"
	ZK_QUORUM_PORT_BASE=44888 ZK_ELECTION_PORT_BASE=45888 ZK_FORCESYNC=yes)
zb_pid=

zk_start() { env "${zk_env[@]}" bash "$shared/bench/zk-ensemble.sh" start 1 >/dev/null; }
zk_stop() { env "${zk_env[@]}" bash "$shared/bench/zk-ensemble.sh" stop >/dev/null 2>&1 || true; }

unmount() { if mountpoint -q "$mnt" 2>/dev/null; then fusermount3 -uz "$mnt" || true; fi; }

zb_start() {
	mkdir -p "$dir/mount-zabfs"
	cat >"$dir/mount-zabfs/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/mount-zabfs/data
clientPort=$zb_port
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
maxClientCnxns=0
mountPoint=$mnt
EOF
	"$zabfs" "$dir/mount-zabfs/zoo.cfg" 2>>"$dir/mount-zabfs/server.log" &
	zb_pid=$!
	local t0=$SECONDS
	until [ "$(findmnt -n -o FSTYPE --mountpoint "$mnt" 2>/dev/null)" = fuse.zabfs ]; do
		if ((SECONDS - t0 >= 60)) || ! kill -0 "$zb_pid" 2>/dev/null; then
			tail -5 "$dir/mount-zabfs/server.log" >&2
			echo "zabfs did not mount $mnt within 60 s" >&2
			return 1
		fi
		sleep 0.05
	done
}
zb_stop() {
	[ -n "$zb_pid" ] || return 0
	kill -TERM "$zb_pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$zb_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$zb_pid" 2>/dev/null || true
	wait "$zb_pid" 2>/dev/null || true
	zb_pid=
}
cleanup() { zb_stop; unmount; zk_stop; rm -rf "$shm"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs one C loop (fsloop or zkget) and keeps its line, "failed" if none.
cell() { # target tool args...
	local target=$1 line
	shift
	line=$(timeout -k 5 $((${dur%.*} + ${warmup%.*} + 60)) "$@") || true
	[ -n "$line" ] || line="$(basename "$1") failed"
	echo "target=$target $line" | tee -a "$out" >&2
}

# Prints "shell target=T op=O n=N median_ms p90_ms mean_ms" from
# microsecond samples.
report() { # target op samples_us...
	local target=$1 op=$2
	shift 2
	printf '%s\n' "$@" | sort -n | awk -v t="$target" -v op="$op" '
		{ v[NR] = $1; sum += $1 }
		END { if (!NR) { printf "shell target=%s op=%s failed\n", t, op; exit }
		      p = int(NR * 0.9 + 0.999); if (p < 1) p = 1
		      printf "shell target=%s op=%s n=%d median_ms=%.3f p90_ms=%.3f mean_ms=%.3f\n",
		             t, op, NR, v[int((NR + 1) / 2)] / 1e3, v[p] / 1e3, sum / NR / 1e3 }'
}

# `echo $i > f` then `cat f`, each timed alone ($EPOCHREALTIME is seconds
# with six decimals: without the point, microseconds); f holds the last i
# after.
echo_cat() { # target file count
	local target=$1 f=$2 count=$3 i s m e
	local -a wr=() rd=()
	for ((i = 0; i < count; i++)); do
		s=$EPOCHREALTIME
		echo $i >"$f"
		m=$EPOCHREALTIME
		cat "$f" >/dev/null
		e=$EPOCHREALTIME
		s=${s/[.,]/} m=${m/[.,]/} e=${e/[.,]/}
		wr+=($((10#$m - 10#$s))) rd+=($((10#$e - 10#$m)))
	done
	if [ "$(cat "$f")" != $((count - 1)) ]; then
		echo "shell target=$target $f does not hold $((count - 1)) after the loop" >&2
		return 1
	fi
	report "$target" echo "${wr[@]}"
	report "$target" cat "${rd[@]}"
}

# The same with zkCli.sh, one JVM per command, against ZooKeeper.
zkcli_echo_cat() { # count
	local count=$1 i s m e zk=127.0.0.1:$zk_port
	local -a wr=() rd=()
	"$zkcli" -server "$zk" create /echo-cat >/dev/null 2>&1 </dev/null || true
	for ((i = 0; i < count; i++)); do
		s=$EPOCHREALTIME
		"$zkcli" -server "$zk" set /echo-cat $i >/dev/null 2>&1 </dev/null
		m=$EPOCHREALTIME
		"$zkcli" -server "$zk" get /echo-cat >/dev/null 2>&1 </dev/null
		e=$EPOCHREALTIME
		s=${s/[.,]/} m=${m/[.,]/} e=${e/[.,]/}
		wr+=($((10#$m - 10#$s))) rd+=($((10#$e - 10#$m)))
	done
	if ! "$zkcli" -server "$zk" get /echo-cat 2>/dev/null </dev/null | grep -qx $((count - 1)); then
		echo "shell target=zkCli /echo-cat does not hold $((count - 1)) after the loop" >&2
		return 1
	fi
	report zkcli echo "${wr[@]}"
	report zkcli cat "${rd[@]}"
}
export -f report echo_cat zkcli_echo_cat
export zkcli zk_port

shell_cell() { # timeout_s function args...
	local limit=$1
	shift
	timeout -k 5 "$limit" bash -c '"$@"' _ "$@" | tee -a "$out" >&2 || true
}

echo "# $(date -u +%FT%TZ) $(uname -r) nproc=$(nproc) DUR=$dur WARMUP=$warmup" \
	"N=$n_shell N_JVM=$n_jvm N_EVENTS=$n_events" >>"$out"
unmount
rm -rf "$dir/mount-zk" "$dir/mount-zabfs"
zk_start
zb_start

# 1. Reading a 64-byte znode (zkget makes it, on zabfs before fsloop reads
#    it through the mount).
printf 'x%.0s' $(seq 64) >"$shm/read64"
cell zookeeper "$tools/zkget" "127.0.0.1:$zk_port" /read64 "$dur" "$warmup"
cell zabfs "$tools/zkget" "127.0.0.1:$zb_port" /read64 "$dur" "$warmup"
cell mount "$tools/fsloop" "$mnt/read64" "$dur" "$warmup"
cell tmpfs "$tools/fsloop" "$shm/read64" "$dur" "$warmup"

# 2. The shell.
shell_cell $((n_shell / 2 + 60)) echo_cat mount "$mnt/echo-cat" "$n_shell"
shell_cell $((n_shell / 2 + 60)) echo_cat tmpfs "$shm/echo-cat" "$n_shell"
shell_cell $((n_jvm * 30 + 60)) zkcli_echo_cat "$n_jvm"

# 3. The event delay.
line=$(timeout -k 5 180 "$python" "$bench/event-delay.py" "127.0.0.1:$zb_port" "$mnt" \
	/bench-events "$n_events") || true
[ -n "$line" ] || line="event-delay.py failed"
echo "target=zabfs $line" | tee -a "$out" >&2

"$python" "$bench/summarize-mount.py" "$out"
echo "raw results: $out" >&2
