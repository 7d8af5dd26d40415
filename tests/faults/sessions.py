"""Sessions and ephemerals: clients that create ephemeral znodes, some
closing their sessions, some frozen (SIGSTOP) until their sessions
expire.

Design
  EphemeralWorker (a workloads.Worker) creates ephemerals
  EPH_ROOT/<worker>-<n> and now and then closes its session and opens a
  new one; each ephemeral created ok is recorded with its session id.

  FrozenClient is a separate python process (FROZEN_SCRIPT) with one
  kazoo session that creates FROZEN_EPHEMERALS ephemerals, prints
  "ready" and sleeps; the workload sends it SIGSTOP at a seeded moment of
  the episode, so its session stops pinging while its TCP connection stays
  open, and SIGKILL at the end.  Either way its session must expire.

  After every session has ended (workers closed, frozen processes killed)
  and the longest session timeout has passed, no node may hold a child of
  EPH_ROOT: checkers.check_ephemerals reads every node on its own.

Invariants
  1. A frozen process is always killed (kill(), also on errors); only its
     pid is signalled.
  2. Waiting for "ready" is bounded by READY_TIMEOUT; a client that is not
     ready in time is killed and counted as not started (not an anomaly:
     the cluster may have been unavailable).
"""

import os
import select
import signal
import subprocess

import harness
import workloads

EPH_ROOT = "/eph"
FROZEN_EPHEMERALS = 3
READY_TIMEOUT = 15.0
CLOSE_SHARE = 0.05

FROZEN_SCRIPT = r"""
import sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
hosts, name, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    float(sys.argv[4])
z = KazooClient(hosts=hosts, timeout=timeout,
                connection_retry=KazooRetry(max_tries=-1, delay=0.1,
                                            max_delay=1.0))
z.start(timeout=10)
for i in range(count):
    z.create("%s/%s-%d" % ("/eph", name, i), b"", ephemeral=True)
print("ready %d" % z.client_id[0], flush=True)
time.sleep(3600)
"""


class EphemeralWorker(workloads.Worker):
    def __init__(self, index, hosts, rng, recorder, stop):
        super().__init__("eph%d" % index, hosts, rng, recorder, stop)
        self.made = 0

    def one_op(self):
        if self.rng.random() < CLOSE_SHARE:
            harness.close_quietly(self.client)
            self.client = None
            self.recorder.count("session", "closed")
            self._connect()
            return
        self.made += 1
        path = "%s/%s-%d" % (EPH_ROOT, self.name, self.made)
        session = workloads.session_of(self.client)
        try:
            self.client.create_async(path, b"", ephemeral=True).get(
                timeout=workloads.OP_TIMEOUT)
        except Exception:
            self.recorder.count("ephemeral", "info")
            return
        self.recorder.count("ephemeral", "ok")
        self.recorder.ephemeral(path, session)
        self.stop_event.wait(0.1)


class FrozenClient:
    """A client process to be frozen (module header)."""

    def __init__(self, name, hosts, timeout_s):
        self.name = name
        self.session = None
        self.frozen = False
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-c", FROZEN_SCRIPT, hosts, name,
             str(FROZEN_EPHEMERALS), str(timeout_s)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, start_new_session=True)

    def wait_ready(self):
        """True once it created its ephemerals; kills it if not in time."""
        ready, _, _ = select.select([self.proc.stdout], [], [],
                                    READY_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("ready "):
            self.kill()
            return False
        self.session = int(line.split()[1])
        return True

    def freeze(self):
        if self.proc.poll() is None and not self.frozen:
            os.kill(self.proc.pid, signal.SIGSTOP)
            self.frozen = True

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
