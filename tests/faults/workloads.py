"""Client workloads of an episode: registers, appends, one-shot watches.

Design
  Each worker is a thread with its own kazoo client, bound to one node or
  to all of them (its connect string), running until the episode's stop
  event; a seeded random.Random per worker picks its operations, so the
  sequence of choices is reproducible (the interleaving is not).

  Registers.  Keys REG_ROOT/k0..kN-1 exist before the workers start, with
  empty data (the model's nil) at version 0.  Operations:
    read   get(key) -> value, Stat; sometimes with a one-shot data watch,
           sometimes after sync(key) (a "synced read");
    write  set(key, unique value) -> Stat;
    cas    set(key, unique value, version=v), where v and its value x are
           the worker's latest knowledge of the key; recorded as cas
           [x, new].  Values are unique per write, so "version is v" and
           "value is x" are the same condition.
  Outcomes as Jepsen records them: a read that raised is fail (it changed
  nothing); a write or cas that raised BadVersion is fail; anything else
  that raised or timed out (OP_TIMEOUT) is info, and the process then
  takes a new id.

  Appends.  create(APPEND_ROOT/e-, unique data, sequence=True): ok records
  the path the server chose; info when it raised.

  kazoo retries nothing here (no command_retry): every operation is sent
  once; the connection itself is retried by kazoo forever.

Invariants
  1. Every blocking call is bounded: operations by OP_TIMEOUT, connecting
     by CONNECT_TIMEOUT, and the worker stops at the stop event.
  2. A worker records exactly one completion for every invocation.
"""

import logging
import random
import threading
import time

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import BadVersionError
from kazoo.retry import KazooRetry

import cluster
import harness

REG_ROOT = "/reg"
APPEND_ROOT = "/app"
OP_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
WATCH_SHARE = 0.1

logging.getLogger("kazoo").setLevel(logging.CRITICAL)


def new_client(hosts):
    return KazooClient(
        hosts=hosts, timeout=cluster.SESSION_TIMEOUT_MS / 1000.0,
        connection_retry=KazooRetry(max_tries=-1, delay=0.1, max_delay=1.0),
        randomize_hosts=True)


def session_of(client):
    cid = client.client_id
    return None if cid is None else cid[0]


class Worker(threading.Thread):
    """A thread with one kazoo client; subclasses define one_op()."""

    def __init__(self, name, hosts, rng, recorder, stop):
        super().__init__(name=name, daemon=True)
        self.hosts = hosts
        self.rng = rng
        self.recorder = recorder
        self.stop_event = stop
        self.client = None
        self.losses = 0  # times the session was lost (LOST state)
        self.error = None

    def _listener(self, state):
        if state == KazooState.LOST:
            self.losses += 1

    def _connect(self):
        while not self.stop_event.is_set():
            c = new_client(self.hosts)
            c.add_listener(self._listener)
            try:
                c.start(timeout=CONNECT_TIMEOUT)
                self.client = c
                return True
            except Exception:
                harness.close_quietly(c)
                self.stop_event.wait(0.2)
        return False

    def run(self):
        try:
            if not self._connect():
                return
            while not self.stop_event.is_set():
                self.one_op()
                self.stop_event.wait(self.rng.uniform(0.005, 0.03))
        except Exception as e:  # a bug in the worker, not in zabfs
            self.error = "%s: %r" % (self.name, e)

    def close(self):
        if self.client is not None:
            harness.close_quietly(self.client)


def decode(data):
    return None if not data else data.decode()


class RegisterWorker(Worker):
    def __init__(self, index, hosts, rng, recorder, stop, keys, node=None):
        super().__init__("reg%d" % index, hosts, rng, recorder, stop)
        self.index = index
        self.node = node  # myid of the one node in hosts, or None
        self.keys = keys
        self.generation = 0
        self.written = 0
        self.known = {}  # key -> (version, value) last seen by this worker

    def process(self):
        return "r%d.%d" % (self.index, self.generation)

    def one_op(self):
        key = self.rng.choice(self.keys)
        path = "%s/%s" % (REG_ROOT, key)
        roll = self.rng.random()
        if roll < 0.15:
            self._read(key, path, synced=True)
        elif roll < 0.4 or key not in self.known:
            self._read(key, path)
        elif roll < 0.7:
            self._write(key, path, None)
        else:
            self._write(key, path, self.known[key])

    def _read(self, key, path, synced=False):
        watch = not synced and self.rng.random() < WATCH_SHARE
        process = self.process()
        op = self.recorder.invoke(process, "read", None, key)
        session = session_of(self.client)
        if synced:
            self.recorder.synced(op, self.node)
            try:
                self.client.sync_async(path).get(timeout=OP_TIMEOUT)
            except Exception:
                self.recorder.complete(process, "fail", self.name, session)
                return
        record = None
        if watch:
            record = {"key": key, "client": self.name, "session": session,
                      "losses": self.losses, "events": [], "mzxid": None}
            fn = lambda event, r=record: r["events"].append(
                (event.type, event.path))
        try:
            data, stat = self.client.get_async(
                path, fn if watch else None).get(timeout=OP_TIMEOUT)
        except Exception:
            self.recorder.complete(process, "fail", self.name, session)
            return
        value = decode(data)
        self.known[key] = (stat.version, value)
        self.recorder.complete(process, "ok", self.name, session, value,
                               stat)
        if record is not None:
            record["mzxid"] = stat.mzxid
            record["version"] = stat.version
            self.recorder.watch(record)

    def _write(self, key, path, expect):
        self.written += 1
        value = "c%d-%d" % (self.index, self.written)
        process = self.process()
        session = session_of(self.client)
        if expect is None:
            self.recorder.invoke(process, "write", value, key)
            version = -1
        else:
            self.recorder.invoke(process, "cas", (expect[1], value), key)
            version = expect[0]
        try:
            stat = self.client.set_async(path, value.encode(),
                                         version).get(timeout=OP_TIMEOUT)
        except BadVersionError:
            self.known.pop(key, None)
            self.recorder.complete(process, "fail", self.name, session)
            return
        except Exception:
            self.known.pop(key, None)
            self.generation += 1
            self.recorder.complete(process, "info", self.name, session)
            return
        self.known[key] = (stat.version, value)
        self.recorder.complete(process, "ok", self.name, session, None, stat)


class AppendWorker(Worker):
    def __init__(self, index, hosts, rng, recorder, stop):
        super().__init__("app%d" % index, hosts, rng, recorder, stop)
        self.index = index
        self.made = 0

    def one_op(self):
        self.made += 1
        data = "a%d-%d" % (self.index, self.made)
        record = {"client": self.name, "data": data,
                  "invoke": self.recorder.event(), "path": None}
        try:
            path = self.client.create_async(
                APPEND_ROOT + "/e-", data.encode(),
                sequence=True).get(timeout=OP_TIMEOUT)
            record["status"] = "ok"
            record["path"] = path
        except Exception:
            record["status"] = "info"
        record["complete"] = self.recorder.event()
        self.recorder.append(record)


def setup_tree(hosts, keys, deadline):
    """Creates REG_ROOT with its keys and APPEND_ROOT, retrying until
    `deadline` (monotonic); raises if it cannot."""
    last = None
    while time.monotonic() < deadline:
        c = new_client(hosts)
        try:
            c.start(timeout=CONNECT_TIMEOUT)
            c.ensure_path(APPEND_ROOT)
            c.ensure_path(REG_ROOT)
            for k in keys:
                if c.exists("%s/%s" % (REG_ROOT, k)) is None:
                    c.create("%s/%s" % (REG_ROOT, k), b"")
            return
        except Exception as e:
            last = e
            time.sleep(0.3)
        finally:
            harness.close_quietly(c)
    raise RuntimeError("could not create the workload tree: %r" % (last,))


def worker_rng(seed, episode, name):
    return random.Random("%s/%s/%s" % (seed, episode, name))
