"""Proof that the checkers see: each deliberate bug (the test-only build
switch -DZABFS_DELIBERATE_BUG=<name>, include/zabfs/deliberate_bug.h) is
caught, by runner.py within its budget (and the normal binary passes the
very same run), by the Zab simulator, or by both.

Design
  BUGS gives, per bug, the fault mix, ensemble size, episodes, seconds per
  episode and seed chosen to reach the bug with the runner:
    short_quorum       the leader commits on one vote short of a quorum:
                       an isolated leader acknowledges writes the majority
                       never sees (partitions);
    skip_trunc         a learner keeps what TRUNC told it to drop: an
                       isolated leader's unacknowledged txns come back
                       when it restarts (partition the leader, then
                       restart nodes);
    ack_before_fsync   the log acknowledges before fdatasync: a power cut
                       of the whole ensemble in the middle of its syncs
                       (the fault shim stalls every node's syncs, kill -9
                       every node inside the stall, drop what was not
                       synced);
    serve_before_sync  a new leader serves from its election on, before a
                       quorum synced with it: it answers a sync before it
                       applied the commits of the last epoch it holds
                       (partition-leader-inflight leaves the new leader
                       holding txns the old one acknowledged, and makes
                       its synchronisation slow).
  Each runner test runs the runner with the bug's binary
  (--stop-on-anomaly) and passes only if the run reports at least one
  anomaly found by a checker (not an error of the runner itself); then the
  normal binary must pass the same run with no anomaly (skipped with
  ZABFS_BUGS_COMPARE=0, as CI does for time: its faultrun smoke runs the
  normal binary under every fault kind).

  SIM_BUGS are the bugs of the Zab core; each must make the simulator's
  random schedules (test_sim_random of the bug's build, SIM_RUNS of them)
  fail a safety check.

  Binaries: $ZABFS_BUG_BIN_<NAME> (upper case), else
  $ZABFS_BUG_BUILD_ROOT/build-bug-<name>/zabfs (default: the repository
  root), and tests/sim/test_sim_random beside it; the normal one is
  $ZABFS_BIN, else build-run/zabfs.  A missing binary, or a missing fault
  shim or netdelay next to a binary for a run that needs one, skips that
  test and says why (tests/faults/README.md has the commands).

Invariants
  1. Each runner invocation is bounded by the runner's own deadline per
     episode and by RUN_TIMEOUT here; each simulator run by SIM_TIMEOUT.
  2. A bug counts as caught only through an anomaly of a checker, never
     through "runner-error", or through a failed safety check of the
     simulator, never a crash of it.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

import diskfaults  # noqa: E402
import nemesis  # noqa: E402
import netfaults  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RUN_TIMEOUT = 1800

BUGS = {
    "short_quorum": dict(faults="partition-leader,partition-halves",
                         nodes="3", episodes=3, duration=10, seed="bug1"),
    "skip_trunc": dict(faults="partition-leader,kill-all,kill-node",
                       nodes="3", episodes=6, duration=12, seed="bug2"),
    "ack_before_fsync": dict(faults="powerloss-all", nodes="3", episodes=4,
                             duration=10, seed="bug4"),
    "serve_before_sync": dict(faults="partition-leader-inflight", nodes="3",
                              episodes=8, duration=16, seed="sbs3"),
}
SIM_BUGS = ("short_quorum", "skip_trunc", "serve_before_sync")
SIM_RUNS = 2000
SIM_TIMEOUT = 300


def bug_binary(name):
    explicit = os.environ.get("ZABFS_BUG_BIN_" + name.upper())
    if explicit:
        return explicit
    root = os.environ.get("ZABFS_BUG_BUILD_ROOT", REPO)
    return os.path.join(root, "build-bug-" + name, "zabfs")


def normal_binary():
    return os.environ.get("ZABFS_BIN") or os.path.join(REPO, "build-run",
                                                       "zabfs")


def run(binary, plan):
    """(exit status, summary dict, output) of one runner invocation."""
    with tempfile.NamedTemporaryFile(suffix=".json") as summary:
        argv = [sys.executable, os.path.join(HERE, "runner.py"),
                "--bin", binary, "--faults", plan["faults"],
                "--nodes", plan["nodes"], "--episodes",
                str(plan["episodes"]), "--duration", str(plan["duration"]),
                "--seed", plan["seed"], "--summary", summary.name,
                "--stop-on-anomaly"]
        p = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           timeout=RUN_TIMEOUT)
        with open(summary.name) as f:
            text = f.read()
        return p.returncode, json.loads(text) if text else {}, p.stdout


class DeliberateBugsTest(unittest.TestCase):
    def check_bug(self, name):
        binary = bug_binary(name)
        if not os.access(binary, os.X_OK):
            self.skipTest("no %s build at %s (cmake -DZABFS_DELIBERATE_BUG="
                          "%s, see README.md)" % (name, binary, name))
        if not os.access(normal_binary(), os.X_OK):
            self.skipTest("no normal build at %s" % normal_binary())
        plan = BUGS[name]
        kinds = plan["faults"].split(",")
        needs_shim = any(k in nemesis.NEEDS_SHIM for k in kinds)
        needs_delay = any(k in nemesis.NEEDS_NETDELAY for k in kinds)
        for b in (binary, normal_binary()):
            if needs_shim and not diskfaults.Shim.found(os.path.dirname(b)):
                self.skipTest("the %s run needs the fault shim (target"
                              " zabfs_faultshim) built next to %s" % (name, b))
            if needs_delay and not netfaults.Delayer.found(
                    os.path.dirname(b), 0):
                self.skipTest("the %s run needs zabfs_netdelay built next"
                              " to %s" % (name, b))
        status, summary, out = run(binary, plan)
        sys.stderr.write("\n%s: %s\n" % (name, out.strip().splitlines()[-1]
                                         if out.strip() else "no output"))
        found = {k: v for k, v in summary.get("anomalies", {}).items()
                 if k != "runner-error"}
        self.assertEqual(status, 1, out[-3000:])
        self.assertTrue(found, "the bug %s was not caught:\n%s" %
                        (name, out[-3000:]))
        if os.environ.get("ZABFS_BUGS_COMPARE", "1") == "0":
            return
        status, summary, out = run(normal_binary(), plan)
        self.assertEqual(summary.get("anomalies"), {}, out[-3000:])
        self.assertEqual(status, 0, out[-3000:])

    def check_sim(self, name):
        sim = os.path.join(os.path.dirname(bug_binary(name)), "tests", "sim",
                           "test_sim_random")
        if not os.access(sim, os.X_OK):
            self.skipTest("no simulator in the %s build at %s (target"
                          " test_sim_random)" % (name, sim))
        p = subprocess.run([sim, "--seed", "1", "--runs", str(SIM_RUNS)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=SIM_TIMEOUT)
        last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        sys.stderr.write("\n%s in the simulator: %s\n" % (name, last))
        self.assertEqual(p.returncode, 1, p.stdout[-3000:])
        self.assertRegex(p.stdout, r"(?m)^FAIL seed \d+ .*: t=\d+ ms: ",
                         "no safety check failed:\n" + p.stdout[-3000:])

    def test_short_quorum(self):
        self.check_bug("short_quorum")

    def test_skip_trunc(self):
        self.check_bug("skip_trunc")

    def test_ack_before_fsync(self):
        self.check_bug("ack_before_fsync")

    def test_serve_before_sync(self):
        self.check_bug("serve_before_sync")

    def test_short_quorum_in_the_simulator(self):
        self.check_sim("short_quorum")

    def test_skip_trunc_in_the_simulator(self):
        self.check_sim("skip_trunc")

    def test_serve_before_sync_in_the_simulator(self):
        self.check_sim("serve_before_sync")


if __name__ == "__main__":
    unittest.main()
