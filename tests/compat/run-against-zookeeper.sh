#!/usr/bin/env bash
# run-against-zookeeper.sh - run the whole compatibility suite against real
# Apache ZooKeeper 3.8 (Debian package), started per test class by harness.py.
# This is how the suites are checked to test ZooKeeper's behaviour, not a guess.
#
#   tests/compat/run-against-zookeeper.sh            all suites
#   tests/compat/run-against-zookeeper.sh test_wire  some suites (module names)
#
# Needs: java, /usr/share/java/zookeeper.jar, /usr/bin/python3 with kazoo.
# ZABFS_COMPAT_SEED=<n> replays the durability test's kill schedule.
set -euo pipefail
cd "$(dirname "$0")"
[ -r /usr/share/java/zookeeper.jar ] || { echo "no /usr/share/java/zookeeper.jar" >&2; exit 1; }
if [ $# -eq 0 ]; then
    set -- test_kazoo test_zkcli test_cli_mt test_wire test_durability
fi
export ZABFS_COMPAT_SERVER=zookeeper PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m unittest -v "$@"
