"""The filesystem suite: a real zabfs node with its tree mounted, driven with
the ordinary tools (cat, echo, ls, stat, mkdir, rm, mv, cp, diff,
getfattr/setfattr, inotifywait) and with kazoo on the same node's client
port for the cross-interface cases.  Contract: design/filesystem.md.

Design
  One node per test class (tests/compat/harness.py starts it; the config
  adds mountPoint=<tmp>/mnt).  Each test works under its own directory
  /t-<test name> so tests do not interfere.  Shell snippets run with
  bash -c, cwd = the mount, under a timeout.

Invariants
  1. Every wait is bounded (subprocess timeouts, wait_for deadlines,
     inotifywait -t).
  2. The mount is detached (fusermount3 -uz) in tearDownClass even when a
     test or the server failed.
"""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "compat"))
import harness  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402

CMD_TIMEOUT = 30


def sh(script, cwd, timeout=CMD_TIMEOUT, check=True):
    """Runs a bash snippet; returns (rc, stdout, stderr)."""
    p = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True,
                       text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%r failed (%d): %s%s" % (script, p.returncode,
                                                       p.stdout, p.stderr))
    return p.returncode, p.stdout, p.stderr


def detach(mnt):
    subprocess.run(["fusermount3", "-uz", mnt], capture_output=True,
                   timeout=CMD_TIMEOUT)


class MountTestCase(unittest.TestCase):
    server = None
    zk = None
    extra_cfg = []

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="zabfs-fs-")
        cls.mnt = os.path.join(cls.tmp, "mnt")
        cls.server = harness.Server(name=cls.__name__,
                                    extra_cfg=["mountPoint=%s" % cls.mnt]
                                    + cls.extra_cfg)
        try:
            cls.server.start()
            harness.wait_for(lambda: os.path.ismount(cls.mnt), 10,
                             what="the mount")
            cls.zk = KazooClient(hosts=cls.server.hostport, timeout=10)
            cls.zk.start(timeout=10)
        except BaseException:
            cls.cleanup_class()
            raise

    @classmethod
    def cleanup_class(cls):
        try:
            if cls.zk is not None:
                harness.close_quietly(cls.zk)
                cls.zk = None
            if cls.server is not None:
                cls.server.cleanup()
        finally:
            detach(cls.mnt)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup_class()

    def setUp(self):
        self.name = "t-" + self._testMethodName
        self.zpath = "/" + self.name
        self.dir = os.path.join(self.mnt, self.name)
        os.mkdir(self.dir)

    def run_sh(self, script, **kw):
        return sh(script, self.dir, **kw)

    def wait(self, pred, what, timeout=10):
        harness.wait_for(pred, timeout, what=what)


class ReadTest(MountTestCase):
    def test_kazoo_write_seen_by_cat_ls_stat(self):
        self.zk.create(self.zpath + "/cfg", b"v1")
        _, out, _ = self.run_sh("cat cfg; ls")
        self.assertEqual(out, "v1cfg\n")
        self.zk.set(self.zpath + "/cfg", b"version two")
        _, out, _ = self.run_sh("cat cfg; stat -c '%s %F %h' cfg")
        self.assertEqual(out, "version two11 regular file 1\n")
        st = os.stat(os.path.join(self.dir, "cfg"))
        zst = self.zk.exists(self.zpath + "/cfg")
        self.assertEqual(int(st.st_mtime * 1000), zst.mtime)

    def test_shape_file_until_children(self):
        self.zk.create(self.zpath + "/n", b"data")
        path = os.path.join(self.dir, "n")
        ino_file = os.stat(path).st_ino
        fd = os.open(path, os.O_RDONLY)
        try:
            self.zk.create(self.zpath + "/n/child", b"")
            self.wait(lambda: os.path.isdir(path), "n to become a directory")
            self.assertNotEqual(os.stat(path).st_ino, ino_file)
            with self.assertRaises(OSError) as e:
                os.pread(fd, 100, 0)
            self.assertEqual(e.exception.errno, 116)  # ESTALE
        finally:
            os.close(fd)
        _, out, _ = self.run_sh("ls -A n; cat n/.data")
        self.assertEqual(out, ".data\nchild\ndata")

    def test_data_listed_only_when_not_empty(self):
        os.mkdir(os.path.join(self.dir, "d"))
        _, out, _ = self.run_sh("ls -A d; cat d/.data 2>/dev/null | wc -c")
        self.assertEqual(out, "0\n")
        self.run_sh("echo hello > d/.data")
        self.assertEqual(self.zk.get(self.zpath + "/d")[0], b"hello\n")
        _, out, _ = self.run_sh("ls -A d; stat -c %F d")
        self.assertEqual(out, ".data\ndirectory\n")
        self.run_sh("rm d/.data")
        self.assertEqual(self.zk.get(self.zpath + "/d")[0], b"")
        self.assertTrue(os.path.isdir(os.path.join(self.dir, "d")))

    def test_zookeeper_read_only(self):
        rc, out, _ = sh("ls /proc/self >/dev/null; ls zookeeper; "
                        "stat -c %A zookeeper/config", self.mnt)
        self.assertEqual(out, "config\nquota\n-r--r--r--\n")
        rc, _, err = sh("echo x > zookeeper/config", self.mnt, check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("Permission denied", err)

    def test_stable_inode_numbers_and_nlink(self):
        self.run_sh("mkdir -p a/b a/c && echo x > a/f")
        st1 = os.stat(os.path.join(self.dir, "a"))
        self.assertEqual(st1.st_nlink, 4)  # ., .., b, c
        self.assertEqual(os.stat(os.path.join(self.dir, "a/f")).st_nlink, 1)
        self.assertEqual(os.stat(os.path.join(self.dir, "a")).st_ino,
                         st1.st_ino)

    def test_xattrs(self):
        self.run_sh("echo -n abc > f")
        _, out, _ = self.run_sh("getfattr --absolute-names -d -m - f")
        stat = self.zk.exists(self.zpath + "/f")
        self.assertIn('user.zk.dataLength="3"', out)
        self.assertIn('user.zk.version="%d"' % stat.version, out)
        self.assertIn('user.zk.czxid="0x%x"' % stat.czxid, out)
        self.assertIn('user.zk.type="persistent"', out)
        self.assertIn('user.zk.acl="world:anyone:cdrwa', out)
        _, out, _ = self.run_sh(
            "getfattr --only-values -n user.zk.numChildren .")
        self.assertEqual(out, "1")
        rc, _, err = self.run_sh("getfattr -n user.zk.nope f", check=False)
        self.assertNotEqual(rc, 0)


class WriteTest(MountTestCase):
    def test_echo_creates_and_replaces(self):
        self.run_sh("echo one > f")
        data, st = self.zk.get(self.zpath + "/f")
        self.assertEqual(data, b"one\n")
        self.run_sh("echo two > f")
        data, st2 = self.zk.get(self.zpath + "/f")
        self.assertEqual(data, b"two\n")
        self.assertEqual(st2.version, st.version + 1)  # one setData
        self.run_sh(": > f")
        self.wait(lambda: self.zk.get(self.zpath + "/f")[0] == b"",
                  "the truncation to commit")
        self.run_sh("echo a >> f; echo b >> f")
        self.assertEqual(self.zk.get(self.zpath + "/f")[0], b"a\nb\n")
        self.run_sh("truncate -s 1 f")
        self.assertEqual(self.zk.get(self.zpath + "/f")[0], b"a")

    def test_new_file_appears_with_its_data(self):
        # the create carries the data: no client ever sees it empty
        path = os.path.join(self.dir, "new")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            os.write(fd, b"value")
            self.assertIsNone(self.zk.exists(self.zpath + "/new"))
        finally:
            os.close(fd)
        data, st = self.zk.get(self.zpath + "/new")
        self.assertEqual((data, st.version), (b"value", 0))
        # touch makes an empty one; flock(1) creates what it locks
        self.run_sh("touch empty && flock lockme true && echo a >> log")
        self.assertEqual(self.zk.get(self.zpath + "/empty")[0], b"")
        self.assertIsNotNone(self.zk.exists(self.zpath + "/lockme"))
        self.assertEqual(self.zk.get(self.zpath + "/log")[0], b"a\n")
        # errors come at open, where the shell sees them
        self.zk.create(self.zpath + "/eph", b"", ephemeral=True)
        rc, _, err = self.run_sh("echo x > eph/child", check=False)
        self.assertIn("Not a directory", err)
        rc, _, err = self.run_sh("echo x > $'bad\\002'", check=False)
        self.assertIn("Invalid argument", err)

    def test_mount_write_fires_kazoo_watch(self):
        self.run_sh("echo 1 > w")
        fired = threading.Event()
        self.zk.get(self.zpath + "/w", watch=lambda ev: fired.set())
        self.run_sh("echo 2 > w")
        self.assertTrue(fired.wait(10))

    def test_mkdir_p_rmdir_rm_r(self):
        self.run_sh("mkdir -p a/b/c && echo x > a/b/f")
        self.assertEqual(sorted(self.zk.get_children(self.zpath + "/a/b")),
                         ["c", "f"])
        rc, _, err = self.run_sh("rmdir a/b", check=False)
        self.assertIn("not empty", err)
        self.run_sh("rmdir a/b/c && rm a/b/f && rmdir a/b")
        self.run_sh("mkdir -p x/y/z && echo d > x/y/z/.data && rm -r x")
        self.assertIsNone(self.zk.exists(self.zpath + "/x"))
        self.assertIsNone(self.zk.exists(self.zpath + "/a/b"))

    def test_empty_dir_stays_a_dir(self):
        self.run_sh("mkdir e")
        self.assertTrue(os.path.isdir(os.path.join(self.dir, "e")))
        self.run_sh("touch e/f && rm e/f")
        self.assertTrue(os.path.isdir(os.path.join(self.dir, "e")))

    def test_rename(self):
        self.run_sh("echo data > a && mv a b")
        self.assertIsNone(self.zk.exists(self.zpath + "/a"))
        self.assertEqual(self.zk.get(self.zpath + "/b")[0], b"data\n")
        self.run_sh("echo other > c && mv c b")
        self.assertEqual(self.zk.get(self.zpath + "/b")[0], b"other\n")
        # a subtree: EXDEV, mv copies and deletes
        self.run_sh("mkdir -p t/u && echo 1 > t/u/f && mv t t2")
        self.assertEqual(self.zk.get(self.zpath + "/t2/u/f")[0], b"1\n")
        self.assertIsNone(self.zk.exists(self.zpath + "/t"))

    def test_cp_r_diff_roundtrip(self):
        self.run_sh("mkdir -p src/a && echo top > src/.data && "
                    "echo f > src/a/f && cp -r src copy && diff -r src copy")
        self.assertEqual(self.zk.get(self.zpath + "/copy")[0], b"top\n")

    def test_fsync(self):
        self.run_sh("echo s > f && sync f")


class EphSeqTest(MountTestCase):
    def test_ephemeral_lives_with_its_process(self):
        p = subprocess.Popen(["bash", "-c", "echo addr > web.eph; exec sleep 30"],
                             cwd=self.dir)
        try:
            # The znode exists from open(O_CREAT); its data arrives with
            # the close (doc/mount.md): wait for the data.
            self.wait(lambda: self.zk.exists(self.zpath + "/web") and
                      self.zk.get(self.zpath + "/web")[0] == b"addr\n",
                      "web with its data")
            st = self.zk.exists(self.zpath + "/web")
            self.assertNotEqual(st.ephemeralOwner, 0)
        finally:
            p.kill()
            p.wait(CMD_TIMEOUT)
        self.wait(lambda: self.zk.exists(self.zpath + "/web") is None,
                  "web to vanish with its process")

    def test_sequential_names(self):
        self.run_sh("mkdir q && for i in 1 2 3; do echo $i > q/job-.seq; done")
        names = sorted(self.zk.get_children(self.zpath + "/q"))
        self.assertEqual(names, ["job-0000000000", "job-0000000001",
                                 "job-0000000002"])
        _, out, _ = self.run_sh(
            "exec 3> q/job-.seq; getfattr --only-values -n user.zk.name "
            "/proc/self/fd/3")
        self.assertEqual(out, "job-0000000003")
        self.run_sh("mkdir q/d.seq")
        self.assertIn("d0000000004", self.zk.get_children(self.zpath + "/q"))

    def test_mkdir_eph_is_einval_and_literal_wins(self):
        rc, _, err = self.run_sh("mkdir x.eph", check=False)
        self.assertIn("Invalid argument", err)
        self.zk.create(self.zpath + "/lit.seq", b"L")
        self.run_sh("echo v > lit.seq")
        self.assertEqual(self.zk.get(self.zpath + "/lit.seq")[0], b"v\n")


class ErrorTest(MountTestCase):
    def test_forbidden_and_long_names(self):
        rc, _, err = self.run_sh("echo x > $'bad\\001name'", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("Invalid argument", err)
        rc, _, err = self.run_sh("mkdir $(printf 'a%.0s' $(seq 300))",
                                 check=False)
        self.assertIn("File name too long", err)
        self.assertEqual(self.zk.get_children(self.zpath), [])

    def test_efbig(self):
        self.run_sh("echo small > big")
        rc, _, err = self.run_sh(
            "head -c %d /dev/zero > big" % (harness.MAXBUFFER + 1),
            check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("too large", err)
        self.assertEqual(self.zk.get(self.zpath + "/big")[0], b"small\n")
        self.run_sh("head -c %d /dev/zero > big" % harness.MAXBUFFER)
        self.assertEqual(self.zk.exists(self.zpath + "/big").dataLength,
                         harness.MAXBUFFER)

    def test_deleted_meanwhile(self):
        self.run_sh("echo v > f")
        path = os.path.join(self.dir, "f")
        fd = os.open(path, os.O_WRONLY)
        os.write(fd, b"new")
        self.zk.delete(self.zpath + "/f")
        with self.assertRaises(OSError) as e:
            os.close(fd)
        self.assertEqual(e.exception.errno, 2)  # ENOENT
        self.assertIsNone(self.zk.exists(self.zpath + "/f"))
        rc, _, err = self.run_sh("rmdir nothere", check=False)
        self.assertIn("No such file", err)

    def test_errors_change_nothing(self):
        self.run_sh("mkdir d && echo x > d/f")
        before = self.zk.exists(self.zpath + "/d")
        rc, _, _ = self.run_sh("rmdir d", check=False)
        self.assertNotEqual(rc, 0)
        rc, _, _ = self.run_sh("set -o noclobber; echo y > d/f", check=False)
        self.assertNotEqual(rc, 0)
        self.assertEqual(self.zk.get(self.zpath + "/d/f")[0], b"x\n")
        self.assertEqual(self.zk.exists(self.zpath + "/d").cversion,
                         before.cversion)


class RaceTest(MountTestCase):
    def test_eight_exclusive_creates_one_wins(self):
        procs = [subprocess.Popen(
            ["bash", "-c", "set -o noclobber; echo %d > lock" % i],
            cwd=self.dir, stderr=subprocess.PIPE, text=True) for i in range(8)]
        results = [(p.wait(CMD_TIMEOUT), p.stderr.read()) for p in procs]
        winners = [r for r in results if r[0] == 0]
        self.assertEqual(len(winners), 1, results)
        for rc, err in results:
            if rc:
                self.assertIn("cannot overwrite existing file", err)

    def test_four_appenders_lose_nothing(self):
        self.run_sh(": > log")
        script = "for i in $(seq 50); do echo $1-$i >> log; done"
        procs = [subprocess.Popen(["bash", "-c", script, "x", str(n)],
                                  cwd=self.dir) for n in range(4)]
        for p in procs:
            self.assertEqual(p.wait(CMD_TIMEOUT), 0)
        lines = self.zk.get(self.zpath + "/log")[0].decode().split()
        self.assertEqual(len(lines), 200)
        self.assertEqual(sorted(lines), sorted("%d-%d" % (n, i)
                                               for n in range(4)
                                               for i in range(1, 51)))


class InotifyTest(MountTestCase):
    def watch(self, path, seconds=8):
        """inotifywait -m on path for at most `seconds`; returns the Popen
        once the watch is set up."""
        p = subprocess.Popen(
            ["inotifywait", "-m", "-t", str(seconds), "--format", "%e %f",
             path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stderr.readline()  # "Setting up watches." then "...established."
        while line and "established" not in line:
            line = p.stderr.readline()
        return p

    def events(self, p, until, timeout=10):
        """Reads event lines until `until` is among them (bounded)."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            got.append(line.strip())
            if until in got:
                break
        p.terminate()
        p.wait(CMD_TIMEOUT)
        return got

    def test_kazoo_changes_make_inotify_events(self):
        p = self.watch(self.dir)
        self.zk.create(self.zpath + "/n", b"1")
        self.zk.set(self.zpath + "/n", b"22")
        self.zk.create(self.zpath + "/sub", b"")
        self.zk.delete(self.zpath + "/n")
        got = self.events(p, "DELETE n")
        # a create with data shows as `echo 1 > n` would: CREATE, then
        # the write's MODIFY and CLOSE_WRITE
        self.assertEqual([g for g in got if not g.startswith(("OPEN", "CLOSE_NOWRITE", "ACCESS"))],
                         ["CREATE n", "MODIFY n", "CLOSE_WRITE,CLOSE n",
                          "MODIFY n", "CLOSE_WRITE,CLOSE n",
                          "CREATE sub", "DELETE n"])

    def test_event_after_change_is_visible(self):
        self.run_sh("echo old > cfg")
        p = subprocess.Popen(
            ["bash", "-c",
             "inotifywait -q -t 8 -e close_write cfg >/dev/null && cat cfg"],
            cwd=self.dir, stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)  # the watch is set up
        self.zk.set(self.zpath + "/cfg", b"new")
        out, _ = p.communicate(timeout=CMD_TIMEOUT)
        self.assertEqual(out, "new")

    def test_mount_changes_not_doubled(self):
        p = self.watch(self.dir)
        self.run_sh("echo 1 > f; rm f")
        got = self.events(p, "DELETE f")
        self.assertEqual(got.count("CREATE f"), 1, got)
        self.assertEqual(got.count("DELETE f"), 1, got)

    def test_acl_change_and_mv(self):
        from kazoo.security import make_acl
        self.run_sh("echo 1 > f")
        p = self.watch(self.dir)
        self.zk.set_acls(self.zpath + "/f", [make_acl("world", "anyone",
                                                      read=True)])
        self.run_sh("mv f g")
        got = self.events(p, "MOVED_TO g")
        self.assertIn("ATTRIB f", got)
        self.assertIn("MOVED_FROM f", got)
        _, out, _ = self.run_sh("stat -c %A g")
        self.assertEqual(out, "-r--r--r--\n")

    def test_directory_data_change(self):
        self.run_sh("mkdir d")
        p = self.watch(os.path.join(self.dir, "d"))
        self.zk.set(self.zpath + "/d", b"dirdata")
        got = self.events(p, "CLOSE_WRITE,CLOSE .data")
        self.assertIn("MODIFY .data", got)


class LifecycleTest(MountTestCase):
    def test_restart_after_kill_replaces_stale_mount(self):
        self.run_sh("echo keep > f")
        self.server.kill9()
        rc, _, err = sh("stat %s" % self.mnt, "/", check=False)
        self.assertIn("not connected", err)
        self.server.start()
        self.wait(lambda: os.path.ismount(self.mnt), "the mount")
        self.assertEqual(sh("cat %s/f" % self.dir, "/")[1], "keep\n")
        type(self).zk.stop()
        type(self).zk.start(timeout=10)

    def test_stop_unmounts(self):
        self.server.stop()
        self.assertFalse(os.path.ismount(self.mnt))
        self.server.start()
        self.wait(lambda: os.path.ismount(self.mnt), "the mount")
        type(self).zk.stop()
        type(self).zk.start(timeout=10)


if __name__ == "__main__":
    unittest.main()
