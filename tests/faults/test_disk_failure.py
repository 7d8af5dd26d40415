"""A node whose disk fails under a pipelined load stops cleanly (exit
status 2, no sanitizer report) and loses nothing it acknowledged.

Design
  One zabfs node runs under the fault shim (diskfaults.Shim) with
  fail_fsync armed for one fsync.  A raw client then sends PIPELINED
  creates in one write, so the loop is still preparing later requests
  when the log thread's fsync fails: those later appends fail at once,
  inside the request that proposed them (the path of a use-after-free
  the fault runner found under ASan: the stop freed that request).  The
  client reads replies until the node closes the connection; the node
  must exit 2, log no sanitizer report, and, restarted without the
  shim, hold every create it acknowledged.  $ZABFS_BIN is the binary
  (ctest runs this in every build), $ZABFS_SHIM_DIR the shim's folder.

Invariants
  1. Every wait is bounded; the server directory goes at the end.
"""

import os
import struct
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))

import diskfaults  # noqa: E402
import harness  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

PIPELINED = 400
CREATE = 1
EXIT_TIMEOUT = 30
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                   "runtime error:")


def create_body(path):
    """A create of path, empty, open ACL, persistent."""
    return (harness.jstr(path) + harness.jbuf(b"") + struct.pack("!i", 1) +
            struct.pack("!i", 31) + harness.jstr("world") +
            harness.jstr("anyone") + struct.pack("!i", 0))


class DiskFailureTest(unittest.TestCase):
    def setUp(self):
        self.shim = diskfaults.Shim.found(os.environ.get("ZABFS_SHIM_DIR", ""))
        if self.shim is None:
            self.skipTest("no fault shim built (target zabfs_faultshim)")
        self.server = harness.Server(name="diskfail")
        self.addCleanup(self.server.cleanup)
        self.shim.prepare(self.server)

    def start_under_shim(self):
        saved = dict(os.environ)
        os.environ.update(self.shim.env(self.server))
        try:
            self.server.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def test_failed_fsync_under_pipelined_writes(self):
        self.start_under_shim()
        raw = harness.RawClient(self.server.host, self.server.port)
        self.assertIsNotNone(raw.handshake(timeout_ms=10000))
        self.shim.arm(self.server, "fail_fsync", 1)
        paths = {xid: "/disk-%d" % xid for xid in range(1, PIPELINED + 1)}
        raw.send(b"".join(harness.frame(struct.pack("!ii", xid, CREATE) +
                                        create_body(path))
                          for xid, path in paths.items()))
        acked = []
        while True:
            r = raw.reply()
            if r is None:
                break  # the node closed the connection
            xid, _, err, _ = r
            if err == 0 and xid in paths:
                acked.append(paths[xid])
        raw.close()
        status = self.server.proc.wait(EXIT_TIMEOUT)
        log = self.server.log_tail(200)
        self.assertEqual(status, 2, log)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, log)
        self.assertEqual(self.shim.injected(self.server)["fail_fsync"], 1)
        self.shim.heal(self.server)
        self.server.start()  # without the shim
        zk = KazooClient(hosts=self.server.hostport)
        zk.start(timeout=30)
        try:
            missing = [p for p in acked if zk.exists(p) is None]
        finally:
            harness.close_quietly(zk)
        self.assertEqual(missing, [], "acknowledged creates lost")


if __name__ == "__main__":
    unittest.main()
