"""One episode: a fresh ensemble, workloads under a seeded fault schedule,
heal, recover, check, stop.

Design
  Episode(config, seed, index).run() does, in order:
    1. plan the schedule from random.Random("<seed>/<index>") (the same
       seed and index give the same schedule and the same workload
       choices);
    2. start the ensemble, wait for a leader, create the workload tree;
    3. start the workers (registers with one-shot watches, appends,
       ephemerals, persistent watchers) and a frozen client, and inject
       the faults one after another, each healed in a finally; after a
       disk fault, wait until every node has caught up again;
    4. heal everything, stop the workers, wait for a leader and for every
       node to apply the same last zxid (RECOVERY_S);
    5. read the final state of every node, close every session, kill the
       frozen client, check the histories; then wait for the sessions to
       expire, read the ephemerals and the digests of every node and check
       those;
    6. stop the nodes (SIGTERM: a non-zero exit or a sanitizer report in a
       log is an anomaly).
  When the ensemble does not recover (the anomaly "stuck"), the histories
  are still checked against whatever nodes answer, so the report says
  more than "stuck"; digests, watches and ephemerals need a recovered
  ensemble and are skipped.
  A watchdog kills every node at the episode deadline; everything after
  that is reported as the anomaly "stuck".  Anything the runner itself
  failed at (an exception here) is reported as "runner-error", which also
  fails the run.

Invariants
  1. Every node process, frozen client, firewall rule and shaper is gone
     when run() returns (heal_all and cluster cleanup in finally).
  2. An episode with an anomaly keeps its directory (logs, data, the
     history in history.txt) and says where it is.
"""

import os
import random
import threading
import time
import traceback

from kazoo.client import KazooClient

import checkers
import cluster
import harness
import nemesis
import rawwatch
import recorder
import sessions
import workloads

START_S = 30.0
RECOVERY_S = 45.0
CATCHUP_S = 30.0
EXPIRY_MARGIN_S = 2.0
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer",
                   "UndefinedBehaviorSanitizer", "runtime error:")


class Stuck(Exception):
    pass


class Episode:
    def __init__(self, cfg, seed, index, voters, observers):
        self.cfg = cfg
        self.seed = seed
        self.index = index
        self.voters = voters
        self.observers = observers
        self.rng = random.Random("%s/%d" % (seed, index))
        self.schedule, self.disk_minority = nemesis.plan(
            self.rng, cfg.kinds, voters, voters + observers, cfg.duration)
        self.anomalies = {}
        self.notes = []
        self.counts = {}
        self.fault_counts = {}
        self.dir = None
        self.timed_out = False

    def anomaly(self, checker, messages):
        for m in messages:
            self.anomalies.setdefault(checker, []).append(m)

    def header(self):
        return "seed %s episode %d: %d voters + %d observers, %.0f s" % (
            self.seed, self.index, self.voters, self.observers,
            self.cfg.duration)

    def schedule_text(self):
        lines = ["  disk faults only on voters %s" %
                 [i + 1 for i in self.disk_minority]]
        lines += ["  " + f.describe() for f in self.schedule]
        return "\n".join(lines)

    def _check_time(self):
        if self.timed_out:
            raise Stuck()

    # -- run -----------------------------------------------------------------

    def run(self):
        clu = cluster.Cluster(self.cfg.binary, self.voters, self.observers,
                              shim=self.cfg.shim, net=self.cfg.net,
                              base=self.cfg.base)
        self.dir = clu.dir
        nem = nemesis.Nemesis(clu, self.cfg.firewall, self.cfg.shaper,
                              self.cfg.shim, self.cfg.delayer)
        rec = recorder.Recorder()
        stop = threading.Event()
        workers, frozen = [], []
        watchdog = threading.Timer(self.cfg.deadline, self._expire,
                                   (clu, stop))
        watchdog.daemon = True
        watchdog.start()
        try:
            self._run(clu, nem, rec, stop, workers, frozen)
        except Stuck:
            self.anomaly("stuck", ["the episode passed its deadline of"
                                   " %.0f s" % self.cfg.deadline])
        except Exception:
            self.anomaly("runner-error", [traceback.format_exc()])
        finally:
            watchdog.cancel()
            stop.set()
            for f in frozen:
                f.kill()
            for w in workers:
                if isinstance(w, workloads.Worker):
                    w.close()
            try:
                nem.heal_all(restart=False)
            except Exception:
                self.anomaly("runner-error", [traceback.format_exc()])
            self.fault_counts = dict(nem.counts)
            self.notes.extend(nem.notes)
            self.counts = dict(rec.counts)
            keep = bool(self.anomalies) or self.cfg.keep
            if keep:
                self._dump_history(rec)
            clu.cleanup(keep=keep)
        return self

    def _expire(self, clu, stop):
        self.timed_out = True
        stop.set()
        clu.kill_all()

    def _run(self, clu, nem, rec, stop, workers, frozen):
        clu.start_all()
        if not clu.wait_serving(START_S):
            self.anomaly("stuck", ["no leader %.0f s after start" % START_S])
            return
        keys = ["k%d" % i for i in range(self.cfg.keys)]
        workloads.setup_tree(clu.connect_string(), keys,
                             time.monotonic() + START_S)
        self._start_workers(clu, rec, stop, workers, frozen, keys)
        freeze_at = self.rng.uniform(0.2, 0.6) * self.cfg.duration
        t0 = time.monotonic()
        for fault in self.schedule:
            self._sleep_until(t0 + fault.at, frozen, freeze_at, t0)
            started = time.monotonic()
            try:
                nem.inject(fault)
                self._sleep_until(time.monotonic() + fault.hold, frozen,
                                  freeze_at, t0)
            finally:
                nem.heal(fault)
                if fault.kind in nemesis.DEPOSED_LEADER_KINDS:
                    rec.fault_window(started, time.monotonic() +
                                     nemesis.DEPOSED_MARGIN_S,
                                     nem.deposed_nodes(fault))
            if fault.kind in nemesis.NEEDS_SHIM:
                nem.settle_refusals(self.disk_minority)
                self._catch_up(clu)
        self._sleep_until(t0 + self.cfg.duration, frozen, freeze_at, t0)
        nem.heal_all()
        stop.set()
        for w in workers:
            w.join(workloads.OP_TIMEOUT + 5)
            if w.is_alive():
                raise RuntimeError("worker %s did not stop" % w.name)
            if w.error:
                raise RuntimeError(w.error)
        nem.settle_refusals(self.disk_minority)
        self._check_time()
        serving = clu.wait_serving(RECOVERY_S)
        if not serving:
            self.anomaly("stuck", ["no leader with every node serving %.0f s"
                                   " after healing" % RECOVERY_S])
        converged, state = clu.wait_converged(RECOVERY_S if serving
                                              else 3.0)
        if serving and not converged:
            self.anomaly("stuck", ["nodes did not converge %.0f s after"
                                   " healing: %s" % (RECOVERY_S, state)])
        self._check_time()
        losses = self._settle_clients(workers) if serving else {}
        final = {}
        for n in clu.nodes:
            try:
                final[n.myid] = read_final(n, 20.0 if serving else 3.0)
            except Exception:
                self.notes.append("could not read the final state of n%d" %
                                  n.myid)
        for w in workers:
            if isinstance(w, workloads.Worker):
                w.close()
        for f in frozen:
            f.kill()
        lin, notes = checkers.check_linearizable(rec)
        self.anomaly("linearizable", lin)
        self.notes.extend(notes)
        self.anomaly("sync-reads", checkers.check_sync_reads(rec))
        if final:
            self.anomaly("reads", checkers.check_reads(rec, final))
            self.anomaly("durability", checkers.check_durability(rec,
                                                                 final))
        self.anomaly("crash", nem.crashes)
        if serving and converged:
            self.anomaly("watches", checkers.check_watches(rec, final,
                                                           losses))
            time.sleep(cluster.MAX_SESSION_TIMEOUT_S + EXPIRY_MARGIN_S)
            self._check_time()
            converged, state = clu.wait_converged(RECOVERY_S)
            for n in clu.nodes:
                final[n.myid]["ephemerals"] = read_children(
                    n, sessions.EPH_ROOT)
            self._check_time()
            self.anomaly("digests", checkers.check_digests(converged, state))
            self.anomaly("ephemerals", checkers.check_ephemerals(final))
        self._stop_nodes(clu)

    def _start_workers(self, clu, rec, stop, workers, frozen, keys):
        def rng(name):
            return workloads.worker_rng(self.seed, self.index, name)
        all_hosts = clu.connect_string()
        i = 0
        for n in clu.nodes:
            for hosts in (n.hostport, all_hosts):
                workers.append(workloads.RegisterWorker(
                    i, hosts, rng("reg%d" % i), rec, stop, keys,
                    n.myid if hosts == n.hostport else None))
                i += 1
        for i in range(2):
            workers.append(workloads.AppendWorker(
                i, all_hosts, rng("app%d" % i), rec, stop))
        for i in range(2):
            n = clu.nodes[i % len(clu.nodes)]
            workers.append(sessions.EphemeralWorker(
                i, n.hostport if i == 0 else all_hosts, rng("eph%d" % i),
                rec, stop))
        watched = self.rng.sample(clu.nodes, 2)
        for i, n in enumerate(watched):
            workers.append(rawwatch.RawWatcher(
                "watch%d" % i, n, workloads.REG_ROOT, rec, stop))
        with_client(clu.connect_string(),
                    lambda c: c.ensure_path(sessions.EPH_ROOT))
        f = sessions.FrozenClient(
            "frozen0", self.rng.choice(clu.nodes).hostport,
            cluster.SESSION_TIMEOUT_MS / 1000.0)
        frozen.append(f)
        if not f.wait_ready():
            self.notes.append("the frozen client did not start")
        for w in workers:
            w.start()

    def _sleep_until(self, when, frozen, freeze_at, t0):
        while True:
            self._check_time()
            now = time.monotonic()
            if now - t0 >= freeze_at:
                for f in frozen:
                    f.freeze()
            if now >= when:
                return
            time.sleep(min(0.1, when - now))

    def _catch_up(self, clu):
        """After a disk fault: wait until every node applied the same last
        zxid, so no second node loses data while the first is behind."""
        if not clu.wait_serving(CATCHUP_S) or \
                not clu.wait_caught_up(CATCHUP_S):
            self.notes.append("nodes had not caught up %.0f s after a disk"
                              " fault" % CATCHUP_S)

    def _settle_clients(self, workers):
        """Waits (bounded) until every worker's client is connected, then a
        little for notifications in flight; returns {worker: (session
        losses, session id)} for the one-shot watch check."""
        deadline = time.monotonic() + 15.0
        for w in workers:
            c = getattr(w, "client", None)  # watchers have none
            while c is not None and not c.connected and \
                    time.monotonic() < deadline:
                time.sleep(0.1)
        time.sleep(1.0)
        return {w.name: (w.losses, workloads.session_of(w.client)
                         if w.client is not None else None)
                for w in workers if isinstance(w, workloads.Worker)}

    def _stop_nodes(self, clu):
        statuses = clu.stop_all()
        for n in clu.nodes:
            if statuses[n.myid] not in (0, None):
                self.anomaly("exit", ["n%d exited with status %s on SIGTERM:"
                                      "\n%s" % (n.myid, statuses[n.myid],
                                                n.log_tail(15))])
            text = n.log_text()
            for mark in SANITIZER_MARKS:
                if mark in text:
                    at = text.index(mark)
                    self.anomaly("sanitizer", ["n%d: %s" % (
                        n.myid, text[max(0, at - 200):at + 1500])])
                    break

    def _dump_history(self, rec):
        path = os.path.join(self.dir, "history.txt")
        with open(path, "w") as f:
            f.write(self.header() + "\n" + self.schedule_text() + "\n\n")
            for op in rec.history.ops:
                meta = rec.reg_meta.get(op, {})
                f.write("%s  version=%s mzxid=%s session=%s\n" % (
                    op.describe(), meta.get("version"),
                    _hex(meta.get("mzxid")), _hex(meta.get("session"))))
            for a in rec.appends:
                f.write("append %r\n" % (a,))
            for s in rec.streams:
                f.write("stream %s: %s\n" % (s.describe(), [
                    (hex(z), t, p) for z, t, p in s.events]))


def _hex(v):
    return None if v is None else "0x%x" % v


def with_client(hosts, fn, timeout=20.0):
    """fn(started kazoo client), retried until it succeeds or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        c = KazooClient(hosts=hosts, timeout=cluster.SESSION_TIMEOUT_MS /
                        1000.0)
        try:
            c.start(timeout=5)
            return fn(c)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        finally:
            harness.close_quietly(c)


def read_children(node, path):
    return with_client(node.hostport,
                       lambda c: sorted(c.get_children(path)))


def read_final(node, timeout):
    """{registers: {key: (version, value)}, appends: {name: data}} as this
    node alone has them."""
    def read(c):
        regs = {}
        for key in c.get_children(workloads.REG_ROOT):
            data, stat = c.get("%s/%s" % (workloads.REG_ROOT, key))
            regs[key] = (stat.version, workloads.decode(data))
        names = c.get_children(workloads.APPEND_ROOT)
        pending = [(name, c.get_async("%s/%s" % (workloads.APPEND_ROOT,
                                                 name))) for name in names]
        appends = {name: workloads.decode(r.get(timeout=10)[0])
                   for name, r in pending}
        return {"registers": regs, "appends": appends}
    return with_client(node.hostport, read, timeout)
