"""The fault shim (faultshim.c) and powerloss.py on a probe process: each
control field injects its fault and counts it, syncs stall while told
to, the clock jumps, and the journal lets powerloss revert exactly the
writes that were not synced.

Design
  The probe is /usr/bin/python3 run with LD_PRELOAD=the shim and a
  script that does file operations under a temporary data directory and
  prints what they returned.  The control file is written as the runner
  writes it (diskfaults.Shim).  $ZABFS_SHIM_DIR is the build directory of
  this folder (ctest sets it).

Invariants
  1. Every probe is bounded by PROBE_TIMEOUT; every file is in a
     temporary directory removed at the end.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import types
import unittest

import diskfaults

PROBE_TIMEOUT = 30
SHIM_DIR = os.environ.get("ZABFS_SHIM_DIR", "")


class ShimTest(unittest.TestCase):
    def setUp(self):
        self.shim = diskfaults.Shim.found(SHIM_DIR)
        if self.shim is None:
            self.skipTest("no shim built in %r" % SHIM_DIR)
        self.dir = tempfile.mkdtemp(prefix="zabfs-shim-test-")
        self.node = types.SimpleNamespace(
            dir=self.dir, data_dir=os.path.join(self.dir, "data"))
        os.mkdir(self.node.data_dir)
        self.shim.prepare(self.node)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def probe(self, script):
        """Runs script under the shim; returns what it printed (JSON)."""
        env = dict(os.environ)
        env.update(self.shim.env(self.node))
        env["DATA"] = self.node.data_dir
        p = subprocess.run(["/usr/bin/python3", "-c",
                            "import json, os, sys, time\n"
                            "D = os.environ['DATA']\n" + script],
                           env=env, stdout=subprocess.PIPE, text=True,
                           timeout=PROBE_TIMEOUT, check=True)
        return json.loads(p.stdout)

    def data(self, name):
        with open(os.path.join(self.node.data_dir, name), "rb") as f:
            return f.read()

    def test_clock_jump(self):
        self.shim.set_clock(self.node, 86400 * 10**9)
        out = self.probe("print(json.dumps(time.time()))")
        self.assertAlmostEqual(out - time.time(), 86400, delta=30)
        self.shim.set_clock(self.node, 0)
        out = self.probe("print(json.dumps(time.time()))")
        self.assertAlmostEqual(out, time.time(), delta=30)

    def test_faults_are_injected_once_each_and_counted(self):
        for field in diskfaults.FIELDS:
            self.shim.arm(self.node, field, 1)
        out = self.probe(
            "r = {}\n"
            "fd = os.open(D + '/f', os.O_RDWR | os.O_CREAT, 0o644)\n"
            "def tryit(k, fn):\n"
            "    try:\n"
            "        r[k] = fn()\n"
            "    except OSError as e:\n"
            "        r[k] = e.errno\n"
            "tryit('w1', lambda: os.write(fd, b'abcdefgh'))\n"
            "tryit('w2', lambda: os.write(fd, b'abcdefgh'))\n"
            "tryit('w3', lambda: os.write(fd, b'abcdefgh'))\n"
            "tryit('s1', lambda: os.fsync(fd))\n"
            "tryit('s2', lambda: os.fsync(fd))\n"
            "tryit('r1', lambda: len(os.pread(fd, 4, 0)))\n"
            "tryit('r2', lambda: len(os.pread(fd, 4, 0)))\n"
            "other = os.open('/dev/null', os.O_WRONLY)\n"
            "tryit('outside', lambda: os.write(other, b'xy'))\n"
            "print(json.dumps(r))\n")
        self.assertEqual(out["w1"], errno.ENOSPC)
        self.assertEqual(out["w2"], 4)  # half of 8
        self.assertEqual(out["w3"], 8)
        self.assertEqual(out["s1"], errno.EIO)
        self.assertIsNone(out["s2"])
        self.assertEqual(out["r1"], errno.EIO)
        self.assertEqual(out["r2"], 4)
        self.assertEqual(out["outside"], 2)
        self.assertEqual(self.shim.injected(self.node),
                         {k: 1 for k in diskfaults.FIELDS})
        self.assertEqual(self.data("f"), b"abcdabcdefgh")

    def test_sync_stall_holds_every_sync_until_cleared(self):
        self.shim.stall_syncs(self.node, 300)
        out = self.probe(
            "fd = os.open(D + '/f', os.O_RDWR | os.O_CREAT, 0o644)\n"
            "os.write(fd, b'x')\n"
            "t = time.monotonic()\n"
            "os.fsync(fd)\n"
            "os.fdatasync(fd)\n"
            "other = os.open('/tmp', os.O_RDONLY)\n"
            "os.fsync(other)\n"
            "print(json.dumps(time.monotonic() - t))\n")
        self.assertGreaterEqual(out, 0.6)  # two stalled syncs of 300 ms
        self.assertEqual(self.shim.stalled(self.node), 2)  # not /tmp's
        self.shim.heal(self.node)
        self.probe("fd = os.open(D + '/f', os.O_RDWR)\n"
                   "os.fsync(fd)\n"
                   "print(json.dumps(0))\n")
        self.assertEqual(self.shim.stalled(self.node), 2)

    WRITES = ("fd = os.open(D + '/f', os.O_RDWR | os.O_CREAT, 0o644)\n"
              "os.pwrite(fd, b'AAAA', 0)\n"
              "os.fsync(fd)\n"
              "os.pwrite(fd, b'BBBB', 0)\n"
              "os.pwrite(fd, b'CC', 4)\n"
              "print(json.dumps(0))\n")

    def power_loss(self, mode, seed=1):
        return self.shim.power_loss(self.node, mode, seed)

    def test_drop_reverts_exactly_the_unsynced_writes(self):
        self.probe(self.WRITES)
        self.assertEqual(self.data("f"), b"BBBBCC")
        line = self.power_loss("drop")
        self.assertIn("2 dropped", line)
        self.assertEqual(self.data("f"), b"AAAA")
        # the journal is emptied: a second power cut changes nothing
        self.assertIn("nothing un-synced", self.power_loss("drop"))
        self.assertEqual(self.data("f"), b"AAAA")

    def test_keep_and_torn(self):
        self.probe(self.WRITES)
        self.power_loss("keep")
        self.assertEqual(self.data("f"), b"BBBBCC")
        self.probe("fd = os.open(D + '/f', os.O_RDWR)\n"
                   "os.fsync(fd)\n"
                   "os.pwrite(fd, b'DDDD', 0)\n"
                   "os.pwrite(fd, b'EE', 6)\n"
                   "print(json.dumps(0))\n")
        self.power_loss("torn", seed=3)
        # a prefix of the un-synced writes survives, the first lost one
        # torn: every outcome is the synced state plus such a prefix
        valid = {b"BBBBCC"} | {b"DDDD"[:k] + b"BBBBCC"[k:] for k in range(5)}
        valid |= {b"DDDDCC" + b"EE"[:k] for k in range(3)}
        self.assertIn(self.data("f"), valid)

    def test_flip_changes_one_bit_in_the_written_part(self):
        path = os.path.join(self.node.data_dir, "log.0000000000000001")
        with open(path, "wb") as f:
            f.write(b"\x01" * 100 + b"\0" * 1000)
        before = self.data("log.0000000000000001")
        self.shim.flip(self.node, "log", 5)
        after = self.data("log.0000000000000001")
        diff = [i for i in range(len(before)) if before[i] != after[i]]
        self.assertEqual(len(diff), 1)
        self.assertLess(diff[0], 100)
        self.assertEqual(bin(before[diff[0]] ^ after[diff[0]]).count("1"), 1)


if __name__ == "__main__":
    sys.exit(unittest.main())
