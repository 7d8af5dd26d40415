#!/usr/bin/env bash
# The test command: installs what the tests need, builds zabfs from scratch
# (plain, ASan+UBSan, TSan, one build per deliberate bug, and the fuzz
# targets with clang), and runs the suites.
#   packaging/test.sh            everything CI runs (about 40 minutes)
#   packaging/test.sh quick      plain build + every ctest suite only
#   packaging/test.sh faults     plain build, then the fault runner's smoke
#                                run under ASan and the deliberate bugs
#                                (tests/faults/README.md)
# The fault runner's long run (an hour) is its own command:
# tests/faults/README.md, "The long run".
# Build trees go to build/ (plain), build-asan/, build-tsan/,
# build-bug-<name>/, build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
jobs=${JOBS:-2}

bash packaging/install-deps.sh

# Each stage either passes or stops the script (set -e); the last line
# counts the stages.
stages=0
stage_done() { stages=$((stages + 1)); }

configure_and_build() { # dir, extra cmake args...
	local dir=$1
	shift
	rm -rf "$dir"
	cmake -S . -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
}

echo "== plain build and all suites"
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir build --output-on-failure -j1
stage_done

asan_build() { # the ASan+UBSan build, with the faultrun smoke test
	configure_and_build build-asan -DZABFS_SANITIZE=address \
		-DCMAKE_BUILD_TYPE=Debug -DZABFS_FAULTRUN=ON
}
asan_ctest() { # ctest arguments
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir build-asan --output-on-failure -j1 "$@"
}

fault_stages() {
	echo "== the fault runner's smoke run under ASan (ctest label faultrun, about 10 minutes)"
	asan_ctest -L faultrun
	stage_done
	echo "== deliberate bugs: the fault runner or the simulator catches each (tests/faults/README.md)"
	for bug in ack_before_fsync short_quorum skip_trunc serve_before_sync; do
		rm -rf "build-bug-$bug"
		cmake -S . -B "build-bug-$bug" -DCMAKE_BUILD_TYPE=Debug \
			-DZABFS_DELIBERATE_BUG=$bug >/dev/null
		cmake --build "build-bug-$bug" -j"$jobs" --target zabfs \
			zabfs_faultshim zabfs_netdelay test_sim_random >/dev/null
	done
	(cd tests/faults && ZABFS_BIN=$PWD/../../build/zabfs ZABFS_BUGS_COMPARE=0 \
		/usr/bin/python3 -m unittest -v test_deliberate_bugs)
	stage_done
}

if [ "$mode" = faults ]; then
	asan_build
	fault_stages
	echo "stages: $stages passed, 0 failed"
	exit 0
fi

if [ "$mode" = quick ]; then
	echo "stages: $stages passed, 0 failed"
	exit 0
fi

echo "== the compat suites against Apache ZooKeeper 3.8 (they test ZooKeeper's behaviour)"
bash tests/compat/run-against-zookeeper.sh
stage_done

echo "== ASan + UBSan build: every suite"
asan_build
asan_ctest -LE faultrun
stage_done
fault_stages

echo "== TSan build: unit and compat suites (but the RCU-reader tests, see tests/tsan.supp)"
configure_and_build build-tsan -DZABFS_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug
# suppress_equal_addresses=0: TSan's default drops a report on an address
# it has reported before, suppressed reports included, and looks the
# address up in a list that grows with every report: the suppressed RCU
# frees of a large tree made a node's exit take over a minute, and could
# hide a real race on an address an RCU free had touched.
TSAN_OPTIONS="halt_on_error=1 suppress_equal_addresses=0 suppressions=$PWD/tests/tsan.supp" \
	ctest --test-dir build-tsan --output-on-failure -j1 -LE rcu
stage_done

echo "== fuzz smoke (libFuzzer, ${FUZZ_SECONDS:-20} s per target)"
CC=clang configure_and_build build-fuzz -DZABFS_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
bash tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-20}"
stage_done
echo "stages: $stages passed, 0 failed"
