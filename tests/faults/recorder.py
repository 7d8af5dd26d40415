"""What the workloads saw, recorded for the checkers.

Design
  One Recorder per episode, shared by every workload thread under one lock.
  It owns the register history (a linearizability.History: invoke / ok /
  fail / info events, whose indices are the real-time order) and, beside
  it, what the linearizability checker has no room for:

    synced_reads   {read op: (myid of the node its client is bound to or
                   None, monotonic time of its invocation)} for the reads
                   preceded by a sync of their key (the sync is part of
                   the op: invoked before it);
    fault_windows  (start, end, myids or None) monotonic times during
                   which a fault may have left a deposed leader answering
                   on those nodes (None: on any node);
    reg_meta[op]   for every completed register op: the client, its
                   session id, and (for ok ops) the Stat's version and
                   mzxid; a write or cas that completed ok has the version
                   the server gave it;
    appends        one record per create of a sequential znode: client,
                   data (unique), invoke and completion event indices,
                   status, and the created path when ok;
    ephemerals     ephemerals created ok: path, session id;
    watches        one-shot data watches set: key, the read's mzxid,
                   client, session, and the events that fired;
    streams        persistent-watch streams (rawwatch.Stream), one per
                   connection of a raw watcher.

  Counters of ok / fail / info per workload feed the summary.

Invariants
  1. Every field is written under `lock`; the checkers read it only after
     every workload thread has been joined.
  2. Each process has at most one register operation in flight (the
     History enforces it); a process whose operation ended info takes a
     new process id, as Jepsen does, since its old operation may still be
     in flight.
"""

import threading
import time

from linearizability import History


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.history = History()
        self.reg_meta = {}
        self.synced_reads = {}
        self.fault_windows = []
        self.appends = []
        self.ephemerals = []
        self.watches = []
        self.streams = []
        self.counts = {}
        self._events = 0

    def count(self, workload, status):
        with self.lock:
            key = (workload, status)
            self.counts[key] = self.counts.get(key, 0) + 1

    def event(self):
        """A fresh real-time index for the append records (their own
        order, apart from the register history's)."""
        with self.lock:
            self._events += 1
            return self._events

    # -- registers -----------------------------------------------------------

    def invoke(self, process, kind, arg, key):
        with self.lock:
            return self.history.invoke(process, kind, arg, key=key)

    def synced(self, op, node):
        with self.lock:
            self.synced_reads[op] = (node, time.monotonic())

    def fault_window(self, start, end, nodes):
        with self.lock:
            self.fault_windows.append((start, end, nodes))

    def complete(self, process, status, client, session, result=None,
                 stat=None):
        with self.lock:
            if status == "ok":
                op = self.history.ok(process, result)
            elif status == "fail":
                op = self.history.fail(process)
            else:
                op = self.history.info(process)
            self.reg_meta[op] = {
                "client": client, "session": session,
                "version": None if stat is None else stat.version,
                "mzxid": None if stat is None else stat.mzxid}
            key = ("register", status)
            self.counts[key] = self.counts.get(key, 0) + 1
            return op

    # -- appends, ephemerals, watches ----------------------------------------

    def append(self, record):
        with self.lock:
            self.appends.append(record)
            key = ("append", record["status"])
            self.counts[key] = self.counts.get(key, 0) + 1

    def ephemeral(self, path, session):
        with self.lock:
            self.ephemerals.append({"path": path, "session": session})

    def watch(self, record):
        with self.lock:
            self.watches.append(record)

    def stream(self, stream):
        with self.lock:
            self.streams.append(stream)
