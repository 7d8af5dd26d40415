"""kill -9 under write load: every acknowledged write survives a restart.

Each round: WRITERS kazoo clients (one thread each) pipeline asynchronous
writes (persistent creates with known names, sequential creates, setData of
an increasing counter) with up to WINDOW requests in flight per client, and
record every write the server acknowledged.  At a random moment (seeded; the
seed is printed, and ZABFS_COMPAT_SEED=<n> replays it) the server gets
SIGKILL, is restarted on the same dataDir, and a fresh client checks:

  * every acknowledged create exists (by name; sequential ones by the path
    the server returned);
  * each writer's counter node holds a value >= the last acknowledged set,
    and <= the last set issued;
  * every sequential name the server returned is unique and the counter
    never went backwards for acknowledged creates.

Rounds are bounded in count (ROUNDS) and each phase in time.
"""

import os
import random
import sys
import threading
import time
import unittest

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, ConnectionClosedError, SessionExpiredError

from harness import CompatTestCase, close_quietly, wait_for

ROUNDS = 5
WRITERS = 4
WINDOW = 16
LOAD_MIN_S, LOAD_MAX_S = 0.3, 1.5
EXPECTED_ERRORS = (ConnectionLoss, ConnectionClosedError, SessionExpiredError)


class Writer(threading.Thread):
    """One client, one thread: issues writes until stopped; the completion
    callbacks (kazoo's callback thread) record what was acknowledged."""

    def __init__(self, client, base, rng_seed):
        super().__init__(daemon=True)
        self.zk = client
        self.base = base
        self.rng = random.Random(rng_seed)
        self.stop_flag = threading.Event()
        self.window = threading.Semaphore(WINDOW)
        self.lock = threading.Lock()
        self.inflight = 0
        self.acked_names = []       # persistent creates acknowledged
        self.acked_seq = []         # paths returned by sequential creates
        self.last_acked_set = -1    # highest counter value acknowledged
        self.last_issued_set = -1
        self.unexpected = []
        self.n = 0

    def run(self):
        while not self.stop_flag.is_set():
            if not self.window.acquire(timeout=0.05):
                continue
            self.n += 1
            kind = self.rng.randrange(3)
            try:
                if kind == 0:
                    name = "n%06d" % self.n
                    a = self.zk.create_async("%s/%s" % (self.base, name), b"%d" % self.n)
                    self._track(a, lambda v, name=name: self.acked_names.append(name))
                elif kind == 1:
                    a = self.zk.create_async(self.base + "/s-", b"", sequence=True)
                    self._track(a, self.acked_seq.append)
                else:
                    val = self.n
                    self.last_issued_set = val
                    a = self.zk.set_async(self.base + "/val", b"%d" % val)

                    def on_set(_stat, val=val):
                        self.last_acked_set = max(self.last_acked_set, val)
                    self._track(a, on_set)
            except Exception as e:  # kazoo refuses to queue (closed client)
                self.window.release()
                if not isinstance(e, EXPECTED_ERRORS):
                    self.unexpected.append(repr(e))

    def _track(self, a, on_ok):
        with self.lock:
            self.inflight += 1

        def done(result):
            try:
                if result.successful():
                    with self.lock:
                        on_ok(result.value)
                elif not isinstance(result.exception, EXPECTED_ERRORS):
                    self.unexpected.append(repr(result.exception))
            finally:
                with self.lock:
                    self.inflight -= 1
                self.window.release()
        a.rawlink(done)


class DurabilityTest(CompatTestCase):

    def test_kill9_under_load(self):
        self.server.require_control(self)
        seed = int(os.environ.get("ZABFS_COMPAT_SEED") or random.randrange(1 << 31))
        sys.stderr.write("\n[durability] seed=%d (ZABFS_COMPAT_SEED=%d replays it)\n"
                         % (seed, seed))
        rng = random.Random(seed)
        total_acked = 0
        for rnd in range(ROUNDS):
            setup = self.kazoo()
            bases = ["%s/r%d/w%d" % (self.root, rnd, w) for w in range(WRITERS)]
            for b in bases:
                setup.create(b + "/val", b"-1", makepath=True)
            close_quietly(setup)

            clients, writers = [], []
            for w, b in enumerate(bases):
                c = KazooClient(hosts=self.server.hostport, timeout=4.0)
                c.start(timeout=15)
                self.addCleanup(close_quietly, c)
                clients.append(c)
                writers.append(Writer(c, b, rng.randrange(1 << 30)))
            for wr in writers:
                wr.start()
            load_s = rng.uniform(LOAD_MIN_S, LOAD_MAX_S)
            time.sleep(load_s)
            self.server.kill9()
            for wr in writers:
                wr.stop_flag.set()
            for wr in writers:
                wr.join(10)
                self.assertFalse(wr.is_alive(), "writer thread stuck")
            self.server.start()
            # every request issued before the kill resolves (ack or error)
            self.assertTrue(wait_for(lambda: all(wr.inflight == 0 for wr in writers), 20),
                            [wr.inflight for wr in writers])

            check = self.kazoo()
            for wr, b in zip(writers, bases):
                self.assertEqual(wr.unexpected, [], "round %d: unexpected errors" % rnd)
                with wr.lock:
                    names = list(wr.acked_names)
                    seqs = list(wr.acked_seq)
                    last_acked, last_issued = wr.last_acked_set, wr.last_issued_set
                kids = set(check.get_children(b))
                missing = [n for n in names if n not in kids]
                self.assertEqual(missing, [], "round %d seed %d: acknowledged creates lost"
                                 % (rnd, seed))
                seq_names = [s.rsplit("/", 1)[1] for s in seqs]
                missing = [n for n in seq_names if n not in kids]
                self.assertEqual(missing, [], "round %d seed %d: acknowledged sequential "
                                 "creates lost" % (rnd, seed))
                self.assertEqual(len(set(seq_names)), len(seq_names))
                self.assertEqual(seq_names, sorted(seq_names),
                                 "sequence numbers went backwards")
                val = int(check.get(b + "/val")[0])
                self.assertGreaterEqual(val, last_acked,
                                        "round %d seed %d: acknowledged set lost" % (rnd, seed))
                self.assertLessEqual(val, max(last_issued, -1))
                total_acked += len(names) + len(seqs) + (last_acked >= 0)
            close_quietly(check)
            for c in clients:
                close_quietly(c)
            sys.stderr.write("[durability] round %d: load %.2fs, acked so far %d\n"
                             % (rnd, load_s, total_acked))
        self.assertGreater(total_acked, 0, "no write was ever acknowledged")


if __name__ == "__main__":
    unittest.main()
