"""A zabfs ensemble of real processes on loopback (issue #4): three and
five nodes with peerSecret, kazoo clients spread over them, the leader
killed with SIGKILL under writes, a minority stopped with SIGSTOP, a node
caught up by DIFF or SNAP, a client moving between nodes with its session,
equal tree digests at the end, and the tree mounted on every node: a
write or an `.eph` seen through every mount, the `.eph` of a node killed
with SIGKILL gone everywhere after the session timeout, and `flock` on
one node's mount excluding (and queueing) `flock` on the others.

Design
  Ensemble builds N harness.Server nodes that share the server.N lines
  (ports picked free on loopback) and each have a myid file; they are
  started together and each is waited for until it serves a session (a
  member serves only once it follows or leads).  Who leads is read with
  the `srvr` four-letter word.  Every client retries connection loss
  itself, bounded by the test's deadlines.

Invariants
  1. Every wait is bounded; every process is stopped (SIGCONT first) in
     tearDownClass, and a node that did not exit 0 on SIGTERM, or logged
     a sanitizer report, fails the class (harness.Server.cleanup).
  2. A write counts as acknowledged only when kazoo returned it; every
     acknowledged write must be present on every node in the end.
"""

import os
import re
import signal
import struct
import subprocess
import time
import unittest

import harness
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry

N = 3
SECRET = "ensemble-secret"
GET_DATA, SET_WATCHES, DATA_CHANGED = 4, 101, 3
DEADLINE = 60
# the mount's sessions ask for maxSessionTimeout (fs_session_timeout),
# 20 ticks by default
MOUNT_SESSION_S = 20 * harness.TICK_MS / 1000.0


class Ensemble:
    def __init__(self, name, n=N, mount=False, observers=0, extra=()):
        ports = [(harness.free_port(), harness.free_port())
                 for _ in range(n + observers)]
        lines = ["server.%d=127.0.0.1:%d:%d%s"
                 % (i + 1, p, e, ":observer" if i >= n else "")
                 for i, (p, e) in enumerate(ports)]
        n += observers
        lines.append("peerSecret=" + SECRET)
        lines.extend(extra)
        self.nodes = []
        for i in range(n):
            extra = list(lines)
            if mount:
                extra.append("mountPoint=%s" % self.mnt_path(name, i))
            s = harness.Server(name="%s-%d" % (name, i + 1), extra_cfg=extra)
            with open(os.path.join(s.data_dir, "myid"), "w") as f:
                f.write("%d\n" % (i + 1))
            self.nodes.append(s)

    @staticmethod
    def mnt_path(name, i):
        return "/tmp/zabfs-ens-%s-%d-%d" % (name, os.getpid(), i + 1)

    def start(self):
        for s in self.nodes:
            s.start(wait=False)
        for s in self.nodes:
            s.wait_ready()

    def mode(self, i):
        s = self.nodes[i]
        answer = harness.four_letter(s.host, s.port, "srvr", timeout=1.0)
        for line in answer.splitlines():
            if line.startswith("Mode: "):
                return line[6:]
        return None

    def leader(self):
        for i in range(len(self.nodes)):
            if self.nodes[i].alive() and self.mode(i) == "leader":
                return i
        return None

    def hosts(self, indexes):
        return ",".join(self.nodes[i].hostport for i in indexes)

    def cleanup(self):
        problems = []
        for s in self.nodes:
            if s.proc is not None and s.proc.poll() is None:
                os.kill(s.proc.pid, signal.SIGCONT)
            try:
                s.cleanup()
            except AssertionError as e:
                problems.append(str(e))
        if problems:
            raise AssertionError("\n".join(problems))


def client(hosts):
    c = KazooClient(hosts=hosts, timeout=10,
                    connection_retry=KazooRetry(max_tries=-1, delay=0.05,
                                                max_delay=0.5))
    c.start(timeout=DEADLINE)
    return c


def strings(items):
    """A jute vector of ustrings."""
    return struct.pack("!i", len(items)) + b"".join(harness.jstr(x)
                                                    for x in items)


def retrying(fn, *args, deadline=DEADLINE, **kw):
    """fn(*args) until it does not lose its connection (bounded)."""
    end = time.monotonic() + deadline
    while True:
        try:
            return fn(*args, **kw)
        except ConnectionLoss:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


class EnsembleCase(unittest.TestCase):
    """One ensemble per class, made by ensemble_args (Ensemble's), and the
    kazoo clients of each test."""
    ensemble_args = {}

    @classmethod
    def setUpClass(cls):
        if harness.server_kind() != "zabfs":
            raise unittest.SkipTest("an ensemble of zabfs nodes")
        cls.ens = Ensemble(cls.__name__, **cls.ensemble_args)
        try:
            cls.ens.start()
        except BaseException:
            cls.ens.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.ens.cleanup()

    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            harness.close_quietly(c)

    def client(self, indexes):
        """A kazoo client of the nodes at indexes, closed after the test."""
        c = client(self.ens.hosts(indexes))
        self.clients.append(c)
        return c


class EnsembleTest(EnsembleCase):
    def test_1_one_leader_and_writes_anywhere(self):
        modes = sorted(self.ens.mode(i) for i in range(N))
        self.assertEqual(modes, ["follower", "follower", "leader"])
        cs = [self.client([i]) for i in range(N)]
        follower = [i for i in range(N) if i != self.ens.leader()][0]
        cs[follower].create("/w", b"from a follower")
        for c in cs:
            c.sync("/w")
            self.assertEqual(c.get("/w")[0], b"from a follower")
        # a watch set on one node fires for a write through another
        fired = []
        cs[0].get("/w", watch=lambda ev: fired.append(ev.type))
        cs[2].set("/w", b"two")
        harness.wait_for(lambda: fired == ["CHANGED"], 10, what="the watch")
        # sequential names are unique across the ensemble
        names = [cs[i % N].create("/q-", b"", sequence=True)
                 for i in range(30)]
        self.assertEqual(len(set(names)), 30)

    def test_2_ephemeral_vanishes_everywhere_on_close(self):
        a = self.client([1])
        others = [self.client([0]), self.client([2])]
        a.create("/eph", b"", ephemeral=True)
        for c in others:
            c.sync("/eph")
            self.assertIsNotNone(c.exists("/eph"))
        a.stop()
        a.close()
        for c in others:
            harness.wait_for(lambda c=c: c.exists("/eph") is None, 10,
                             what="the ephemeral to vanish")

    def test_2b_frozen_client_expires_on_its_follower(self):
        # a client that stops pinging (SIGSTOP) keeps its TCP connection
        # open; the leader must still expire its session
        follower = [i for i in range(N) if i != self.ens.leader()][0]
        script = ("import sys, time\n"
                  "from kazoo.client import KazooClient\n"
                  "z = KazooClient(hosts=sys.argv[1], timeout=4)\n"
                  "z.start(timeout=20)\n"
                  "z.create('/frozen', b'', ephemeral=True)\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(120)\n")
        p = subprocess.Popen(["/usr/bin/python3", "-c", script,
                              self.ens.hosts([follower])],
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline(), "ready\n")
            p.send_signal(signal.SIGSTOP)
            c = self.client([self.ens.leader()])
            harness.wait_for(lambda: c.exists("/frozen") is None, 30,
                             what="the frozen client's session to expire")
        finally:
            p.kill()
            p.wait(10)
            p.stdout.close()

    def test_3_leader_killed_under_writes(self):
        old = self.ens.leader()
        rest = [i for i in range(N) if i != old]
        c = self.client(rest)
        retrying(c.ensure_path, "/k")
        acked = []

        def write(i):
            try:
                retrying(c.create, "/k/n%04d" % i, b"x")
            except NodeExistsError:
                pass  # the first try went through before a loss
            acked.append(i)

        for i in range(100):
            write(i)
        self.ens.nodes[old].kill9()
        t0 = time.monotonic()
        for i in range(100, 200):
            write(i)
        failover = time.monotonic() - t0
        harness.wait_for(lambda: self.ens.leader() in rest, 10,
                         what="a new leader")
        kids = set(retrying(c.get_children, "/k"))
        self.assertEqual([i for i in acked if "n%04d" % i not in kids], [])
        # the killed node comes back and catches up
        self.ens.nodes[old].start()
        back = self.client([old])
        back.sync("/k")
        self.assertEqual(set(back.get_children("/k")), kids)
        print("failover (kill -9 of the leader to the next write): %.2f s"
              % failover)

    def test_4_minority_cannot_commit(self):
        leader = self.ens.leader()
        alone = [i for i in range(N) if i != leader][0]
        c = self.client([alone])
        c.create("/m", b"before")
        stopped = [i for i in range(N) if i != alone]
        for i in stopped:
            os.kill(self.ens.nodes[i].proc.pid, signal.SIGSTOP)
        try:
            with self.assertRaises(Exception):
                c.set("/m", b"alone", )
            self.assertEqual(c.get("/m")[0] if c.connected else b"before",
                             b"before")
        finally:
            for i in stopped:
                os.kill(self.ens.nodes[i].proc.pid, signal.SIGCONT)
        c2 = self.client(list(range(N)))
        retrying(c2.set, "/m", b"majority")
        self.assertEqual(retrying(c2.get, "/m")[0], b"majority")


class SnapTest(EnsembleCase):
    """A node further behind than the leader keeps in memory (a small
    commitLogCount) gets the leader's snapshot, restarts itself to load
    it, and then serves the same tree."""

    ensemble_args = {"extra": ["commitLogCount=20"]}

    def test_far_behind_node_gets_a_snapshot(self):
        lag = [i for i in range(N) if i != self.ens.leader()][0]
        up = [i for i in range(N) if i != lag]
        self.assertEqual(self.ens.nodes[lag].stop(), 0)
        c = client(self.ens.hosts(up))
        try:
            c.create("/s", b"")
            for i in range(200):
                c.create("/s/n%03d" % i, b"%d" % i)
            c.create("/s/eph", b"", ephemeral=True)
            self.ens.nodes[lag].start()
            self.assertIn("installed the leader's snapshot",
                          self.ens.nodes[lag].log_tail(400))
            back = client(self.ens.hosts([lag]))
            try:
                back.sync("/s")
                self.assertEqual(sorted(back.get_children("/s")),
                                 sorted(c.get_children("/s")))
                self.assertEqual(back.get("/s/n123")[0], b"123")
                # sessions came with the snapshot
                self.assertEqual(
                    back.exists("/s/eph").ephemeralOwner,
                    c.client_id[0])
                back.create("/s/after", b"")
                c.sync("/s/after")
                self.assertIsNotNone(c.exists("/s/after"))
            finally:
                harness.close_quietly(back)
        finally:
            harness.close_quietly(c)


class ObserverTest(EnsembleCase):
    """Three voters and an observer: the observer serves reads and
    forwards writes, and a quorum never counts it."""

    ensemble_args = {"n": 3, "observers": 1}

    def test_observer_reads_and_forwards(self):
        self.assertEqual(self.ens.mode(3), "observer")
        obs = client(self.ens.hosts([3]))
        voter = client(self.ens.hosts([0]))
        try:
            obs.create("/o", b"via the observer")
            voter.sync("/o")
            self.assertEqual(voter.get("/o")[0], b"via the observer")
            voter.set("/o", b"via a voter")
            obs.sync("/o")
            self.assertEqual(obs.get("/o")[0], b"via a voter")
            # two voters stopped: the observer and one voter are no quorum
            leader = self.ens.leader()
            others = [i for i in range(3) if i != leader][:1] + [leader]
            for i in others:
                os.kill(self.ens.nodes[i].proc.pid, signal.SIGSTOP)
            try:
                harness.wait_for(lambda: self.ens.mode(3) == "looking", 30,
                                 what="the observer to lose its leader")
            finally:
                for i in others:
                    os.kill(self.ens.nodes[i].proc.pid, signal.SIGCONT)
            harness.wait_for(lambda: self.ens.mode(3) == "observer", 30,
                             what="the observer to follow again")
        finally:
            harness.close_quietly(obs)
            harness.close_quietly(voter)


def mntr(ens, i):
    """The node's mntr answer as a dict."""
    s = ens.nodes[i]
    answer = harness.four_letter(s.host, s.port, "mntr", timeout=2.0)
    return dict(line.split("\t", 1) for line in answer.splitlines()
                if "\t" in line)


class FiveNodeTest(EnsembleCase):
    """Five voters, kazoo clients spread over all of them: kill -9 of the
    leader under writes, a node brought back by DIFF, two stopped nodes
    (a minority) and three (a majority), and a client that moves between
    nodes with its session.  Every node ends with the same tree digest."""

    ensemble_args = {"n": 5}

    def assert_same_digest(self):
        """Once a write has reached every node, all digests agree."""
        c = self.client(range(5))
        marker = retrying(c.create, "/digest-", b"", sequence=True)
        for i in range(5):
            one = self.client([i])
            retrying(one.sync, marker)
            self.assertIsNotNone(retrying(one.exists, marker))
        harness.wait_for(
            lambda: len({(m.get("zk_last_zxid"), m.get("zk_tree_digest"))
                         for m in (mntr(self.ens, i) for i in range(5))})
            == 1, 20, what="equal digests and zxids on all five nodes")

    def test_1_leader_killed_under_writes_from_every_node(self):
        old = self.ens.leader()
        cs = {i: self.client([i]) for i in range(5)}
        retrying(cs[0].ensure_path, "/k5")
        acked = []
        for i in range(200):
            if i == 60:
                self.ens.nodes[old].kill9()
                del cs[old]  # its requests would wait for it forever
            c = list(cs.values())[i % len(cs)]
            try:
                retrying(c.create, "/k5/n%05d" % i, b"x")
            except NodeExistsError:
                pass  # the first try went through before a loss
            acked.append(i)
        harness.wait_for(lambda: self.ens.leader() not in (None, old), 20,
                         what="a new leader")
        c = self.client([j for j in range(5) if j != old])
        kids = set(retrying(c.get_children, "/k5"))
        self.assertEqual([j for j in acked if "n%05d" % j not in kids], [])
        self.ens.nodes[old].start()
        self.assert_same_digest()

    def test_2_node_behind_catches_up_by_diff(self):
        lag = [i for i in range(5) if i != self.ens.leader()][0]
        self.assertEqual(self.ens.nodes[lag].stop(), 0)
        c = self.client([i for i in range(5) if i != lag])
        retrying(c.ensure_path, "/d5")
        for i in range(300):
            c.create("/d5/n%03d" % i, b"%d" % i)
        self.ens.nodes[lag].start()
        back = self.client([lag])
        back.sync("/d5")
        self.assertEqual(len(back.get_children("/d5")), 300)
        self.assertEqual(back.get("/d5/n299")[0], b"299")
        self.assertNotIn("installed the leader's snapshot",
                         self.ens.nodes[lag].log_tail(400))
        self.assert_same_digest()

    def test_3_two_stopped_commit_three_stopped_do_not(self):
        leader = self.ens.leader()
        followers = [i for i in range(5) if i != leader]
        c = self.client([leader])
        retrying(c.ensure_path, "/m5")
        two = followers[:2]
        for i in two:
            os.kill(self.ens.nodes[i].proc.pid, signal.SIGSTOP)
        try:
            c.set("/m5", b"three of five")
            self.assertEqual(c.get("/m5")[0], b"three of five")
            zxid_before = mntr(self.ens, leader).get("zk_last_zxid")
            third = followers[2]
            os.kill(self.ens.nodes[third].proc.pid, signal.SIGSTOP)
            try:
                with self.assertRaises(Exception):
                    c.set("/m5", b"two of five")
                # not committed: the leader's own tree still has the old
                # value (the write is indeterminate, not refused: it may
                # still commit once the majority is back)
                self.assertEqual(mntr(self.ens, leader).get("zk_last_zxid"),
                                 zxid_before)
            finally:
                os.kill(self.ens.nodes[third].proc.pid, signal.SIGCONT)
        finally:
            for i in two:
                os.kill(self.ens.nodes[i].proc.pid, signal.SIGCONT)
        c2 = self.client(range(5))
        retrying(c2.set, "/m5", b"healed")
        self.assertEqual(retrying(c2.get, "/m5")[0], b"healed")
        self.assert_same_digest()

    def test_4_client_moves_between_nodes_with_its_session(self):
        follower = [i for i in range(5) if i != self.ens.leader()][0]
        other = [i for i in range(5)
                 if i not in (follower, self.ens.leader())][0]
        writer = self.client([other])
        retrying(writer.ensure_path, "/mv")
        # kazoo, connected to `follower` first: session and ephemeral move
        moving = KazooClient(hosts=self.ens.hosts([follower, other]),
                             randomize_hosts=False, timeout=10,
                             connection_retry=KazooRetry(max_tries=-1,
                                                         delay=0.05,
                                                         max_delay=0.5))
        moving.start(timeout=DEADLINE)
        self.clients.append(moving)
        session = moving.client_id[0]
        moving.create("/mv/eph", b"", ephemeral=True)
        # a raw client's watch moves too, by setWatches (kazoo 2.8 drops
        # its watches when it loses a connection, so it cannot show that)
        f, o = self.ens.nodes[follower], self.ens.nodes[other]
        raw = harness.RawClient(f.host, f.port)
        hs = raw.handshake(timeout_ms=10000)
        xid, seen, err, _ = raw.call(GET_DATA, harness.jstr("/mv") + b"\x01")
        self.assertEqual(err, 0)
        raw.close()
        node = self.ens.nodes[follower]
        self.assertEqual(node.stop(), 0)
        try:
            raw = harness.RawClient(o.host, o.port)
            moved = raw.handshake(timeout_ms=10000, last_zxid=seen,
                                  session_id=hs["session_id"],
                                  passwd=hs["passwd"])
            self.assertEqual(moved["session_id"], hs["session_id"])
            self.assertEqual(raw.call(SET_WATCHES, struct.pack("!q", seen) +
                                      strings(["/mv"]) + strings([]) +
                                      strings([]))[2], 0)
            writer.set("/mv", b"after the move")
            xid, _, _, body = raw.reply()
            self.assertEqual(xid, -1)  # a watch event
            kind, _ = struct.unpack_from("!ii", body, 0)
            self.assertEqual((kind, body[12:]), (DATA_CHANGED, b"/mv"))
            raw.close()
            self.assertEqual(moving.client_id[0], session)
            self.assertEqual(
                retrying(moving.exists, "/mv/eph").ephemeralOwner, session)
            self.assertEqual(retrying(moving.get, "/mv")[0],
                             b"after the move")
        finally:
            node.start()


class MountEnsembleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if harness.server_kind() != "zabfs":
            raise unittest.SkipTest("an ensemble of zabfs nodes")
        cls.ens = Ensemble("mount", mount=True)
        try:
            cls.ens.start()
            for i in range(N):
                harness.wait_for(
                    lambda i=i: os.path.ismount(Ensemble.mnt_path("mount", i)),
                    10, what="the mount")
        except BaseException:
            cls.cleanup_class()
            raise

    @classmethod
    def cleanup_class(cls):
        try:
            cls.ens.cleanup()
        finally:
            for i in range(N):
                subprocess.run(["fusermount3", "-uz",
                                Ensemble.mnt_path("mount", i)],
                               capture_output=True, timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.cleanup_class()

    def test_write_on_one_mount_seen_on_the_others(self):
        m = [Ensemble.mnt_path("mount", i) for i in range(N)]
        watcher = subprocess.Popen(
            ["inotifywait", "-m", "-q", "-t", "20", "-e", "close_write",
             "--format", "%f", m[2]], stdout=subprocess.PIPE, text=True)
        seen = []
        try:
            time.sleep(0.3)  # inotifywait sets its watch
            with open(os.path.join(m[0], "cfg"), "w") as f:
                f.write("v1\n")
            for line in watcher.stdout:  # ends at inotifywait's -t 20
                seen.append(line.strip())
                if line.strip() == "cfg":
                    break
        finally:
            watcher.kill()
            watcher.wait(10)
        self.assertIn("cfg", seen)
        for i in (1, 2):
            with open(os.path.join(m[i], "cfg")) as f:
                self.assertEqual(f.read(), "v1\n")

    def test_no_quorum_is_erofs_and_reads_go_on(self):
        m = [Ensemble.mnt_path("mount", i) for i in range(N)]
        with open(os.path.join(m[0], "q"), "w") as f:
            f.write("before\n")
        pids = [self.ens.nodes[i].proc.pid for i in (1, 2)]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            # node 1 notices it lost its quorum, then writes wait and fail
            harness.wait_for(lambda: self.ens.mode(0) == "looking", 30,
                             what="node 1 to lose its leader or followers")
            p = subprocess.run(["bash", "-c", "echo after > %s/q" % m[0]],
                               capture_output=True, text=True, timeout=60)
            self.assertIn("Read-only file system", p.stderr)
            with open(os.path.join(m[0], "q")) as f:
                self.assertEqual(f.read(), "before\n")
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        harness.wait_for(lambda: self.ens.mode(0) in ("leader", "follower"),
                         30, what="a quorum again")
        with open(os.path.join(m[0], "q"), "w") as f:
            f.write("after\n")
        with open(os.path.join(m[0], "q")) as f:
            self.assertEqual(f.read(), "after\n")

    def test_ephemeral_of_a_process_vanishes_on_every_node(self):
        m = [Ensemble.mnt_path("mount", i) for i in range(N)]
        p = subprocess.Popen(["bash", "-c",
                              "echo up > %s/svc.eph; exec sleep 60" % m[1]])
        try:
            harness.wait_for(lambda: os.path.exists(os.path.join(m[0], "svc")),
                             10, what="the ephemeral on node 1")
        finally:
            p.kill()
            p.wait(10)
        for i in (0, 2):
            harness.wait_for(
                lambda i=i: not os.path.exists(os.path.join(m[i], "svc")),
                10, what="the ephemeral to vanish")

    def kill_node_of_an_ephemeral(self, a):
        """An `.eph` made through node a's mount by a process that goes on
        running: when node a is killed (SIGKILL) it vanishes on the other
        mounts once its session expires.  Node a comes back (start())."""
        m = [Ensemble.mnt_path("mount", i) for i in range(N)]
        others = [i for i in range(N) if i != a]
        node = self.ens.nodes[a]
        name = "svc-%d" % (a + 1)
        p = subprocess.Popen(["bash", "-c", "echo up > %s/%s.eph; "
                              "exec sleep 120" % (m[a], name)],
                             start_new_session=True)
        try:
            for i in others:
                self.assertTrue(harness.wait_for(
                    lambda i=i: os.path.exists(os.path.join(m[i], name)),
                    10, what="the ephemeral on node %d" % (i + 1)))
            # node a keeps the session alive past its timeout
            time.sleep(MOUNT_SESSION_S + 1)
            for i in others:
                self.assertTrue(os.path.exists(os.path.join(m[i], name)))
            killed = time.monotonic()
            node.kill9()
            present = [os.path.exists(os.path.join(m[i], name))
                       for i in others]
            # (the session timeout after the kill, unless this test was
            # descheduled for that long)
            if time.monotonic() - killed < MOUNT_SESSION_S / 2:
                self.assertEqual(present, [True] * len(others))
            for i in others:
                self.assertTrue(harness.wait_for(
                    lambda i=i: not os.path.exists(os.path.join(m[i], name)),
                    MOUNT_SESSION_S + 20, what="the ephemeral to expire"))
            expired = time.monotonic() - killed
            self.assertIsNone(p.poll())  # its process still runs
        finally:
            p.kill()
            p.wait(10)
            if not node.alive():
                # the killed node's mount is stale (ENOTCONN)
                subprocess.run(["fusermount3", "-uz", m[a]],
                               capture_output=True, timeout=30)
                node.start()
                self.assertTrue(harness.wait_for(
                    lambda: os.path.ismount(m[a]), 10, what="the mount"))
        self.assertTrue(harness.wait_for(
            lambda: not os.path.exists(os.path.join(m[a], name)), 10,
            what="the restarted node to catch up"))
        return expired

    def test_ephemeral_of_a_killed_follower_expires_everywhere(self):
        a = [i for i in range(N) if i != self.ens.leader()][0]
        print("gone %.2f s after the kill (session timeout %.1f s)"
              % (self.kill_node_of_an_ephemeral(a), MOUNT_SESSION_S))

    def test_ephemeral_of_a_killed_leader_expires_everywhere(self):
        # the new leader gives every session a full timeout again
        a = self.ens.leader()
        self.assertIsNotNone(a)
        print("gone %.2f s after the kill (session timeout %.1f s)"
              % (self.kill_node_of_an_ephemeral(a), MOUNT_SESSION_S))

    def test_flock_excludes_across_nodes(self):
        # flock -x through node 1's mount: node 2's flock -n fails, node
        # 3's flock -w waits in the queue and gets the lock at the release
        m = [Ensemble.mnt_path("mount", i) for i in range(N)]
        lk = [os.path.join(m[i], "lk") for i in range(N)]
        with open(lk[0], "w") as f:
            f.write("")

        def lock_text(i):
            return subprocess.run(
                ["getfattr", "--only-values", "-n", "user.zk.lock", lk[i]],
                capture_output=True, text=True, timeout=30).stdout

        def shown(i, state, p):
            """node i's mount shows p's flock as held or waiting."""
            return re.search(r"^%s exclusive \S+:%d " % (state, p.pid),
                             lock_text(i), re.M) is not None

        def try_lock(i):
            return subprocess.run(["flock", "-x", "-n", lk[i], "true"],
                                  timeout=30).returncode

        holder = subprocess.Popen(["flock", "-x", lk[0], "sleep", "120"],
                                  start_new_session=True)
        waiter = None
        try:
            self.assertTrue(harness.wait_for(
                lambda: shown(1, "held", holder), 10,
                what="node 1's flock to hold, seen on node 2"))
            self.assertEqual(try_lock(1), 1)   # EWOULDBLOCK
            waiter = subprocess.Popen(["flock", "-x", "-w", "30", lk[2],
                                       "true"], start_new_session=True)
            self.assertTrue(harness.wait_for(
                lambda: shown(0, "waiting", waiter), 10,
                what="node 3's flock to queue, seen on node 1"))
            self.assertIsNone(waiter.poll())
            self.assertEqual(try_lock(1), 1)
            os.killpg(holder.pid, signal.SIGKILL)   # its close releases
            holder.wait(10)
            self.assertEqual(waiter.wait(30), 0)   # got it, ran, released
            self.assertTrue(harness.wait_for(lambda: try_lock(1) == 0, 10,
                                             what="the lock to be free"))
            self.assertTrue(harness.wait_for(lambda: lock_text(2) == "", 10,
                                             what="no contender left"))
        finally:
            for p in (holder, waiter):
                if p is not None and p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(10)


if __name__ == "__main__":
    unittest.main()
