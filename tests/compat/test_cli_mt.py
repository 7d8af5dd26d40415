"""cli_mt (the ZooKeeper C client's shell, libzookeeper-mt 3.8.0) against the server.

cli_mt has batch mode (`-c "cmd"`: connect, run one command, exit) and reads
commands from stdin otherwise.  Its commands: create/create2 [+e|s|c|t=ttl]
(the data is always "new"), delete, set, get, ls, ls2, sync, exists, wexists,
addauth.  It has no multi command, so multi is covered by kazoo and raw tests.
Batch mode never exits after exists/wexists (a cli_mt quirk), so those run
in stdin mode.  Results are printed as "<path>: rc = N" / "[<path>]: rc = N"
with N the C client's error code (0, -101 NONODE, -110 NODEEXISTS, ...).
Zxids in its Stat print are hex without "0x" (czxid=1a).
The C client also checks that the ConnectResponse is exactly 37 bytes with a
16-byte password (reference §2.3), so simply connecting is a test.
"""

import os
import re
import subprocess
import time
import unittest

from harness import CompatTestCase, wait_for

CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"


def rc_of(out):
    m = re.search(r"\]?: rc = (-?\d+)", out)
    return int(m.group(1)) if m else None


@unittest.skipUnless(os.access(CLI_MT, os.X_OK), "cli_mt not installed")
class CliMtTests(CompatTestCase):

    def setUp(self):
        super().setUp()
        self.zk = self.kazoo()
        self.zk.ensure_path(self.root)

    def cli(self, cmd, timeout=20):
        p = subprocess.run([CLI_MT, "-h", self.server.hostport, "-c", cmd],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, text=True)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("Got a new session id: 0x", p.stdout)
        return p.stdout

    def cli_stdin(self, commands, settle=1.0, timeout=20):
        """Commands through stdin; quit only after `settle` seconds so the
        asynchronous ones complete."""
        p = subprocess.Popen([CLI_MT, "-h", self.server.hostport],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            p.stdin.write("\n".join(commands) + "\n")
            p.stdin.flush()
            time.sleep(settle)
            out, _ = p.communicate("quit\n", timeout=timeout)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        return out

    def test_create_get_set_delete(self):
        r = self.root
        out = self.cli("create %s/a" % r)
        self.assertEqual(rc_of(out), 0)
        self.assertIn("\tname = %s/a" % r, out)
        self.assertEqual(self.zk.get(r + "/a")[0], b"new")
        self.assertEqual(rc_of(self.cli("create %s/a" % r)), -110)
        self.assertEqual(rc_of(self.cli("create %s/x/y" % r)), -101)
        out = self.cli("get %s/a" % r)
        self.assertEqual(rc_of(out), 0)
        self.assertIn(" value_len = 3\nnew\n", out)
        czxid = self.zk.exists(r + "/a").czxid
        self.assertIn("\tczxid=%x\n" % czxid, out)
        out = self.cli("set %s/a hello" % r)
        self.assertEqual(rc_of(out), 0)
        self.assertIn("\tversion=1\taversion=0", out)
        data, st = self.zk.get(r + "/a")
        self.assertEqual((data, st.version), (b"hello", 1))
        self.assertIn("\tmzxid=%x\n" % st.mzxid, out)
        self.assertIn(" value_len = 5\nhello\n", self.cli("get %s/a" % r))
        self.assertEqual(rc_of(self.cli("get %s/nope" % r)), -101)
        self.assertEqual(rc_of(self.cli("delete %s/a" % r)), 0)
        self.assertIsNone(self.zk.exists(r + "/a"))
        self.assertEqual(rc_of(self.cli("delete %s/a" % r)), -101)

    def test_create_flags(self):
        r = self.root
        self.zk.create(r + "/plain")
        out = self.cli("create +s %s/s-" % r)
        self.assertIn("\tname = %s/s-0000000001" % r, out)
        out = self.cli("create +e %s/e" % r)
        self.assertEqual(rc_of(out), 0)
        # the ephemeral went with cli_mt's session when it exited
        self.assertTrue(wait_for(lambda: self.zk.exists(r + "/e") is None, 10))
        out = self.cli("create +c %s/c" % r)
        self.assertEqual(rc_of(out), 0)
        self.assertEqual(self.zk.exists(r + "/c").ephemeralOwner, 0)
        out = self.cli("create2 %s/b" % r)
        self.assertEqual(rc_of(out), 0)
        st = self.zk.exists(r + "/b")
        self.assertIn("\tczxid=%x\n" % st.czxid, out)
        self.assertIn("\tversion=0\taversion=0", out)
        if self.server.controllable:  # TTL needs extendedTypesEnabled
            self.assertEqual(rc_of(self.cli("create +t=5000 %s/t" % r)), -6)

    def test_ls_sync(self):
        r = self.root
        for n in ("b", "a", "c"):
            self.zk.create("%s/%s" % (r, n))
        out = self.cli("ls %s" % r)
        self.assertEqual(rc_of(out), 0)
        self.assertEqual(sorted(re.findall(r"(?m)^\t(\w+)$", out)), ["a", "b", "c"])
        out = self.cli("ls2 %s" % r)
        self.assertEqual(sorted(re.findall(r"(?m)^\t(\w+)$", out)), ["a", "b", "c"])
        self.assertIn("\tczxid=%x\n" % self.zk.exists(r).czxid, out)
        out = self.cli("sync %s" % r)
        self.assertEqual(rc_of(out), 0)
        self.assertIn("\tname = %s" % r, out)

    def test_exists_and_auth(self):
        r = self.root
        self.zk.create(r + "/here", b"v")
        out = self.cli_stdin(["exists %s/here" % r, "exists %s/nope" % r,
                              "wexists %s/here" % r, "addauth digest u:p",
                              "set %s/here v2" % r])
        self.assertNotIn("Error -101 for %s/here" % r, out)
        self.assertIn("Error -101 for %s/nope" % r, out)
        self.assertIn("%s/here: rc = 0" % r, out)
        self.assertEqual(self.zk.get(r + "/here")[0], b"v2")


@unittest.skipUnless(os.access(CLI_MT, os.X_OK), "cli_mt not installed")
class CliMtTTLTests(CompatTestCase):
    SERVER_OPTS = dict(extended_types=True)

    def test_ttl_create(self):
        self.server.require_control(self)
        zk = self.kazoo()
        zk.ensure_path(self.root)
        p = subprocess.run([CLI_MT, "-h", self.server.hostport, "-c",
                            "create +t=60000 %s/t" % self.root],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20, text=True)
        self.assertEqual(rc_of(p.stdout), 0, p.stdout)
        self.assertEqual(zk.exists(self.root + "/t").ephemeralOwner, 0)


if __name__ == "__main__":
    unittest.main()
