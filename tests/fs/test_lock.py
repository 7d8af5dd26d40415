"""flock on the mount (filesystem.md section 5): ZooKeeper's lock recipe,
interoperable with kazoo's Lock/ReadLock/WriteLock on the same node.

Design
  Uses test_mount's MountTestCase (one node with its tree mounted per
  class, a directory per test).  Holders are real flock(1) processes
  that hold the lock while a child sleeps; the test watches who holds
  with flock -n from other processes and with kazoo.

Invariants
  Every wait is bounded (flock -w, subprocess timeouts, wait deadlines);
  every started process is killed in a finally block.
"""

import os
import signal
import subprocess
import time
import unittest

from kazoo.exceptions import LockTimeout
from kazoo.recipe.lock import Lock, ReadLock, WriteLock

from test_mount import MountTestCase


class FlockTest(MountTestCase):
    def holder(self, path, opts="-x"):
        """Starts `flock OPTS path sleep 60`, returns it once it holds."""
        p = subprocess.Popen(["flock", opts, path, "sleep", "60"],
                             cwd=self.dir, start_new_session=True)
        self.addCleanup(self.kill, p)
        self.wait(lambda: self.lock_text(path).startswith("held"),
                  "flock to hold %s" % path)
        return p

    def kill(self, p):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)

    def lock_text(self, path):
        _, out, _ = self.run_sh(
            "getfattr --only-values -n user.zk.lock %s" % path, check=False)
        return out

    def try_lock(self, path, opts="-x"):
        rc, _, _ = self.run_sh("flock -n %s %s true" % (opts, path),
                               check=False)
        return rc

    def test_exclusive_nonblocking_and_release_on_exit(self):
        self.run_sh("echo cfg > f")
        p = self.holder("f")
        self.assertEqual(self.try_lock("f"), 1)   # EWOULDBLOCK
        self.assertEqual(self.try_lock("f", "-s"), 1)
        self.kill(p)
        self.wait(lambda: self.try_lock("f") == 0, "the lock to be free")
        self.assertEqual(self.lock_text("f"), "")

    def test_shared_locks_coexist_and_exclude_exclusive(self):
        self.run_sh(": > f")
        self.holder("f", "-s")
        self.assertEqual(self.try_lock("f", "-s"), 0)
        self.assertEqual(self.try_lock("f", "-x"), 1)

    def test_contenders_are_hidden_and_file_stays_a_file(self):
        self.run_sh("echo v > f")
        self.holder("f")
        _, out, _ = self.run_sh("ls -A; stat -c %F f; cat f")
        self.assertEqual(out, "f\nregular file\nv\n")
        kids = self.zk.get_children(self.zpath + "/f")
        self.assertEqual(len(kids), 1)
        self.assertRegex(kids[0], r"^[0-9a-f]{32}__lock__\d{10}$")
        text = self.lock_text("f")
        self.assertRegex(text, r"^held exclusive \S+:\d+ [0-9a-f]{32}__lock__")

    def test_rm_of_locked_znode_is_ebusy(self):
        self.run_sh("echo v > f")
        self.holder("f")
        rc, _, err = self.run_sh("rm f", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("busy", err)
        self.assertIsNotNone(self.zk.exists(self.zpath + "/f"))

    def test_blocking_wait_is_fair_and_woken(self):
        self.run_sh(": > f")
        p = self.holder("f")
        # a second flock waits; it runs once the holder goes
        w = subprocess.Popen(["flock", "-x", "-w", "20", "f", "sh", "-c",
                              "echo got > got"], cwd=self.dir,
                             start_new_session=True)
        self.addCleanup(self.kill, w)
        self.wait(lambda: "waiting exclusive" in self.lock_text("f"),
                  "the waiter to queue")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "got")))
        self.kill(p)
        self.assertEqual(w.wait(20), 0)
        with open(os.path.join(self.dir, "got")) as f:
            self.assertEqual(f.read(), "got\n")

    def test_wait_timeout_interrupts(self):
        self.run_sh(": > f")
        self.holder("f")
        t0 = time.monotonic()
        rc, _, _ = self.run_sh("flock -x -w 1 f true", check=False)
        self.assertEqual(rc, 1)
        self.assertLess(time.monotonic() - t0, 15)
        # the interrupted waiter left no contender behind
        self.wait(lambda: len(self.zk.get_children(self.zpath + "/f")) == 1,
                  "the waiter's contender to go")

    def test_lock_kept_after_flock_process_exits(self):
        # exec 9>f; flock 9: the lock belongs to the open file, not to
        # the flock(1) process that took it
        self.run_sh(": > f")
        sh = subprocess.Popen(["bash", "-c",
                               "exec 9>f; flock -x 9; echo locked; "
                               "sleep 60"], cwd=self.dir,
                              stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
        self.addCleanup(self.kill, sh)
        self.addCleanup(sh.stdout.close)
        self.assertEqual(sh.stdout.readline(), "locked\n")
        self.assertEqual(self.try_lock("f"), 1)
        self.kill(sh)
        self.wait(lambda: self.try_lock("f") == 0, "release at close")

    def test_kazoo_lock_and_flock_exclude_each_other(self):
        self.run_sh(": > f")
        lock = Lock(self.zk, self.zpath + "/f", "kazoo")
        self.assertTrue(lock.acquire(timeout=10))
        try:
            self.assertEqual(self.try_lock("f"), 1)
            self.assertIn("kazoo", self.lock_text("f"))
        finally:
            lock.release()
        self.assertEqual(self.try_lock("f"), 0)
        self.holder("f")
        other = Lock(self.zk, self.zpath + "/f", "kazoo")
        self.assertFalse(other.acquire(blocking=False))
        with self.assertRaises(LockTimeout):
            other.acquire(timeout=1)

    def test_kazoo_read_write_locks(self):
        self.run_sh(": > f")
        self.holder("f", "-s")
        self.assertTrue(ReadLock(self.zk, self.zpath + "/f").acquire(
            timeout=10))
        with self.assertRaises(LockTimeout):
            WriteLock(self.zk, self.zpath + "/f").acquire(timeout=1)

    def test_flock_waiter_woken_by_kazoo_release(self):
        self.run_sh(": > f")
        lock = Lock(self.zk, self.zpath + "/f")
        self.assertTrue(lock.acquire(timeout=10))
        w = subprocess.Popen(["flock", "-x", "-w", "20", "f", "true"],
                             cwd=self.dir, start_new_session=True)
        self.addCleanup(self.kill, w)
        self.wait(lambda: "waiting" in self.lock_text("f"),
                  "the flock to queue")
        lock.release()
        self.assertEqual(w.wait(20), 0)

    def test_leader_election(self):
        # flock FILE CMD is leader election: the second runs after the
        # first leader dies
        self.run_sh(": > leader")
        script = "echo $$ >> leaders; sleep 60"
        a = subprocess.Popen(["flock", "leader", "sh", "-c", script],
                             cwd=self.dir, start_new_session=True)
        self.addCleanup(self.kill, a)
        self.wait(lambda: self.count_lines("leaders") == 1, "a leader")
        b = subprocess.Popen(["flock", "leader", "sh", "-c", script],
                             cwd=self.dir, start_new_session=True)
        self.addCleanup(self.kill, b)
        self.wait(lambda: "waiting" in self.lock_text("leader"),
                  "a follower")
        self.assertEqual(self.count_lines("leaders"), 1)
        self.kill(a)
        self.wait(lambda: self.count_lines("leaders") == 2, "a new leader")

    def count_lines(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return len(f.read().splitlines())
        except FileNotFoundError:
            return 0


if __name__ == "__main__":
    unittest.main()
