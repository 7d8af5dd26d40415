"""zkCli.sh (the Java client's shell, Debian ZooKeeper 3.8.0) against the server.

Each zkCli.sh run is a JVM start (~0.5 s), so most commands run in a few
sessions fed through stdin (zkCli reads commands line by line when stdin is
not a terminal).  To cut such a transcript into per-command pieces, marker
znodes holding "@@MARK<n>@@" are read between commands (`get /marker/n`).
Results are also checked through kazoo, so a wrong print alone is not the only
signal.  Output formats asserted here are zkCli's own (e.g. "Created /x",
"Node does not exist: /x", "key = value" stat lines, "[a, b]" listings).
"""

import base64
import hashlib
import os
import re
import subprocess
import time
import unittest

import harness
from harness import CompatTestCase, wait_for

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
NOISE = re.compile(r"^(SLF4J:|Connecting to |Welcome to ZooKeeper|JLine support|"
                   r"WATCHER::|WatchedEvent state:SyncConnected type:None path:null|"
                   r"WatchedEvent state:Closed type:None path:null|\s*$)")


def digest(user, password):
    h = hashlib.sha1(("%s:%s" % (user, password)).encode()).digest()
    return "%s:%s" % (user, base64.b64encode(h).decode())


def parse_stat(text):
    """'key = value' lines -> dict (ints for the numeric fields)."""
    out = {}
    for m in re.finditer(r"(?m)^(\w+) = (.*)$", text):
        k, v = m.group(1), m.group(2).strip()
        if v.startswith("0x"):
            out[k] = int(v, 16)
        elif re.fullmatch(r"-?\d+", v):
            out[k] = int(v)
        else:
            out[k] = v
    return out


@unittest.skipUnless(os.access(ZKCLI, os.X_OK), "zkCli.sh not installed")
class ZkCliTests(CompatTestCase):

    def setUp(self):
        super().setUp()
        self.zk = self.kazoo()
        self.zk.ensure_path(self.root)
        self.markers = 0

    def zkcli(self, *args, stdin=None, timeout=60):
        """Run zkCli.sh once; -> (returncode, output without JVM noise)."""
        cmd = [ZKCLI, "-server", self.server.hostport] + list(args)
        p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, text=True)
        lines = [ln for ln in p.stdout.splitlines() if not NOISE.match(ln)]
        return p.returncode, "\n".join(lines)

    def session(self, commands):
        """Run commands in one zkCli session; -> list of per-command outputs."""
        script = []
        for i, c in enumerate(commands):
            m = "%s-marker%d" % (self.root, i)
            self.zk.create(m, ("@@MARK%d@@" % i).encode())
            script += [c, "get " + m]
        script.append("quit")
        rc, out = self.zkcli(stdin="\n".join(script) + "\n")
        self.assertEqual(rc, 0, out)
        parts = re.split(r"(?m)^@@MARK\d+@@$\n?", out)
        for i in range(len(commands)):
            self.zk.delete("%s-marker%d" % (self.root, i))
        self.assertEqual(len(parts), len(commands) + 1, out)
        return [p.strip("\n") for p in parts[:-1]]

    def test_single_commands(self):
        r = self.root
        rc, out = self.zkcli("create", r + "/a", "hello")
        self.assertEqual((rc, out), (0, "Created %s/a" % r))
        rc, out = self.zkcli("get", "-s", r + "/a")
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines()[0], "hello")
        st = parse_stat(out)
        kst = self.zk.exists(r + "/a")
        self.assertEqual(st["cZxid"], kst.czxid)
        self.assertEqual(st["mZxid"], kst.mzxid)
        self.assertEqual(st["pZxid"], kst.pzxid)
        self.assertEqual(st["dataLength"], 5)
        self.assertEqual((st["dataVersion"], st["cversion"], st["aclVersion"]), (0, 0, 0))
        self.assertEqual((st["ephemeralOwner"], st["numChildren"]), (0, 0))
        # errors: message and exit status 1
        rc, out = self.zkcli("get", r + "/missing")
        self.assertEqual((rc, out), (1, "Node does not exist: %s/missing" % r))
        rc, out = self.zkcli("create", r + "/a", "again")
        self.assertEqual(out, "Node already exists: %s/a" % r)
        self.assertEqual(self.zk.get(r + "/a")[0], b"hello")

    def test_session_commands(self):
        r = self.root
        outs = self.session([
            "create %s/p pdata" % r,              # 0
            "create -e %s/e edata" % r,           # 1
            "create -s %s/s- sdata" % r,          # 2
            "create -s -e %s/es- x" % r,          # 3
            "create -c %s/c" % r,                 # 4
            "ls %s" % r,                          # 5
            "ls -s %s" % r,                       # 6
            "set %s/p newdata" % r,               # 7
            "get %s/p" % r,                       # 8
            "stat %s/p" % r,                      # 9
            "set -v 0 %s/p stale" % r,            # 10
            "create %s/p/q/deep x" % r,           # 11
            "create %s/p/q x" % r,                # 12
            "create %s/p/q/deep x" % r,           # 13
            "delete %s/p" % r,                    # 14
            "delete %s/s-0000000002" % r,         # 15
            "deleteall %s/p" % r,                 # 16
            "ls %s" % r,                          # 17
            "create %s/e/child x" % r,            # 18
            "get /zookeeper/config",              # 19
        ])
        self.assertEqual(outs[0], "Created %s/p" % r)
        self.assertEqual(outs[1], "Created %s/e" % r)
        self.assertEqual(outs[2], "Created %s/s-0000000002" % r)
        self.assertEqual(outs[3], "Created %s/es-0000000003" % r)
        self.assertEqual(outs[4], "Created %s/c" % r)
        self.assertEqual(outs[5], "[c, e, es-0000000003, p, s-0000000002]")
        lines = outs[6].splitlines()
        self.assertEqual(lines[0], "[c, e, es-0000000003, p, s-0000000002]")
        st = parse_stat(outs[6])
        self.assertEqual((st["numChildren"], st["cversion"]), (5, 5))
        self.assertEqual(outs[7], "")
        self.assertEqual(outs[8], "newdata")
        st = parse_stat(outs[9])
        self.assertEqual((st["dataVersion"], st["dataLength"]), (1, 7))
        self.assertEqual(outs[10], "version No is not valid : %s/p" % r)
        self.assertEqual(outs[11], "Node does not exist: %s/p/q/deep" % r)
        self.assertEqual(outs[12], "Created %s/p/q" % r)
        self.assertEqual(outs[13], "Created %s/p/q/deep" % r)
        self.assertEqual(outs[14], "Node not empty: %s/p" % r)
        self.assertEqual(outs[15], "")
        self.assertEqual(outs[16], "")
        self.assertEqual(outs[17], "[c, e, es-0000000003]")
        self.assertEqual(outs[18], "Ephemerals cannot have children: %s/e/child" % r)
        self.assertRegex(outs[19], r"^(|[^\n]*)$")  # data (maybe empty), no error
        # the session's ephemerals went with it
        self.assertEqual(sorted(self.zk.get_children(r)), ["c"])

    def test_acl_commands(self):
        r = self.root
        d = digest("u", "p")
        self.zk.create(r + "/open", b"o")
        outs = self.session([
            "addauth digest u:p",                          # 0
            "create %s/b bdata digest:%s:cdrwa" % (r, d),  # 1
            "getAcl %s/b" % r,                             # 2
            "get %s/b" % r,                                # 3
            "setAcl %s/open world:anyone:r" % r,           # 4
            "getAcl %s/open" % r,                          # 5
            "set %s/open x" % r,                           # 6
            "setAcl -v 7 %s/open world:anyone:cdrwa" % r,  # 7
            "create %s/auth adata auth::crdwa" % r,        # 8
            "getAcl %s/auth" % r,                          # 9
        ])
        self.assertEqual(outs[0], "")
        self.assertEqual(outs[1], "Created %s/b" % r)
        self.assertEqual(outs[2], "'digest,'%s\n: cdrwa" % d)
        self.assertEqual(outs[3], "bdata")
        self.assertEqual(outs[4], "")
        self.assertEqual(outs[5], "'world,'anyone\n: r")
        self.assertEqual(outs[6], "Insufficient permission : %s/open" % r)
        # the ADMIN check comes before the aversion check
        self.assertEqual(outs[7], "Insufficient permission : %s/open" % r)
        self.assertEqual(outs[8], "Created %s/auth" % r)
        self.assertEqual(outs[9], "'digest,'%s\n: cdrwa" % d)
        # another session without the credential
        rc, out = self.zkcli("get", r + "/b")
        self.assertEqual(out, "Insufficient permission : %s/b" % r)
        self.assertEqual(rc, 1)
        # the superuser can read it (addauth in a piped session)
        rc, out = self.zkcli(stdin="addauth digest super:test\nget %s/b\nquit\n" % r)
        self.assertEqual(out.strip(), "bdata")
        acls, _ = self.zk.get_acls(r + "/open")
        self.assertEqual([(a.perms, a.id.scheme, a.id.id) for a in acls], [(1, "world", "anyone")])

    def test_add_watch(self):
        """addWatch (3.6+) persistent-recursive: events for the node and
        descendants, more than once, never NodeChildrenChanged."""
        r = self.root
        w = r + "/w"
        self.zk.create(w)
        # the zkCli session writes, too, so its own events arrive in order
        rc, out = self.zkcli(stdin="\n".join([
            "addWatch -m PERSISTENT_RECURSIVE %s" % w,
            "create %s/x 1" % w,
            "set %s/x 2" % w,
            "create %s/x/y 3" % w,
            "delete %s/x/y" % w,
            "sync %s" % w,
            "ls %s" % w,
            "quit"]) + "\n")
        self.assertEqual(rc, 0, out)
        events = re.findall(r"WatchedEvent state:SyncConnected type:(\w+) path:(\S+)", out)
        self.assertEqual(events, [("NodeCreated", w + "/x"),
                                  ("NodeDataChanged", w + "/x"),
                                  ("NodeCreated", w + "/x/y"),
                                  ("NodeDeleted", w + "/x/y")], out)


if __name__ == "__main__":
    unittest.main()
