"""A zabfs ensemble for the fault runner: every node on its own loopback
address, so packet filters can cut any pair of nodes.

Design
  Node i (1-based) listens for clients and peers on 127.0.0.(10+i) by
  default (Cluster's `net` and `base` choose another range); its ports are
  picked free on that address.  zabfs dials its peers from its own
  server.N address, so `-s A -d B` matches exactly the traffic from A to B.
  Voters come first, observers after them (server.N=...:observer).

  A Node owns a directory under the cluster's directory: zoo.cfg, data/
  (myid, snapshots, epochs and the transaction log: one directory, so a
  disk fault or a bit flip has one place to aim at) and server.log
  (stdout and stderr of every run, appended).  The directory outlives
  kill -9 and restarts; `wipe` empties data/ but keeps
  myid (the operator's answer to a node that refuses corrupt data).  With
  a disk-fault shim (diskfaults.Shim) the node runs under LD_PRELOAD with
  its control file and journal in the node directory.

  Status comes from the four-letter words: `srvr` (Mode, Zxid = last
  applied) and `mntr` (zk_tree_digest), from harness.four_letter.

Invariants
  1. Only processes this module started are signalled, by pid; a paused
     node is sent SIGCONT before any stop or kill.
  2. Every wait is bounded by the timeout its caller passes.
  3. stop_all leaves no process running.
"""

import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness

TICK_MS = 200
SESSION_TIMEOUT_MS = 3000  # clients ask for this; max is 20 ticks = 4 s
MAX_SESSION_TIMEOUT_S = 20 * TICK_MS / 1000.0
SECRET = "faults-secret"


def free_port(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _allow_core():
    """In the child: a crash leaves a core file in the node directory
    (with core_pattern "core"), for the report."""
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                              resource.RLIM_INFINITY))


class Node:
    """One zabfs process slot (see the module header)."""

    def __init__(self, cluster, index, observer):
        self.cluster = cluster
        self.index = index  # 0-based; myid is index + 1
        self.myid = index + 1
        self.observer = observer
        self.host = "%s.%d" % (cluster.net, cluster.base + self.myid)
        self.port = free_port(self.host)
        self.peer_port = free_port(self.host)
        self.election_port = free_port(self.host)
        self.dir = os.path.join(cluster.dir, "n%d" % self.myid)
        self.data_dir = os.path.join(self.dir, "data")
        self.cfg_path = os.path.join(self.dir, "zoo.cfg")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.paused = False
        self.starts = 0
        os.makedirs(self.data_dir)
        self._write_myid()

    def _write_myid(self):
        with open(os.path.join(self.data_dir, "myid"), "w") as f:
            f.write("%d\n" % self.myid)

    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)

    def server_line(self):
        return "server.%d=%s:%d:%d%s" % (
            self.myid, self.host, self.peer_port, self.election_port,
            ":observer" if self.observer else "")

    def write_config(self, server_lines):
        lines = [
            "tickTime=%d" % TICK_MS,
            "initLimit=10",
            "syncLimit=5",
            "dataDir=%s" % self.data_dir,
            "clientPort=%d" % self.port,
            "clientPortAddress=%s" % self.host,
            "maxClientCnxns=0",
            "4lw.commands.whitelist=*",
            "admin.enableServer=false",
            "forceSync=yes",
            "snapCount=200",
            "autopurge.snapRetainCount=3",
            "autopurge.purgeInterval=1",
            "preAllocSize=1024",
            "peerSecret=" + SECRET,
        ] + server_lines
        with open(self.cfg_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    # -- lifecycle -----------------------------------------------------------

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        assert not self.alive()
        env = dict(os.environ)
        env["LIBC_FATAL_STDERR_"] = "1"  # glibc's abort messages to the log
        shim = self.cluster.shim
        if shim is not None:
            env.update(shim.env(self))
        with open(self.log_path, "ab") as log:
            log.write(("=== start %d at %s\n" % (
                self.starts, time.strftime("%H:%M:%S"))).encode())
            log.flush()
            self.proc = subprocess.Popen(
                [self.cluster.binary, self.cfg_path], cwd=self.dir,
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, env=env,
                preexec_fn=_allow_core)
        self.starts += 1
        self.paused = False

    def pause(self):
        if self.alive() and not self.paused:
            os.kill(self.proc.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.alive() and self.paused:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def kill9(self):
        if self.alive():
            self.resume()
            self.proc.kill()
            self.proc.wait(30)
        self.paused = False

    def stop(self, timeout=30.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self.proc is None:
            return None
        if self.alive():
            self.resume()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode

    def wipe(self):
        """Empty data/ (keeping myid): a node that lost its disk."""
        shutil.rmtree(self.data_dir)
        os.makedirs(self.data_dir)
        self._write_myid()

    # -- status --------------------------------------------------------------

    def srvr(self):
        """{'Mode': ..., 'Zxid': int} or {} when it does not answer."""
        answer = harness.four_letter(self.host, self.port, "srvr",
                                     timeout=1.0)
        info = {}
        for line in answer.splitlines():
            key, sep, value = line.partition(": ")
            if not sep:
                continue
            if key == "Zxid":
                info[key] = int(value, 16)
            elif key == "Mode":
                info[key] = value.strip()
        return info

    def digest(self):
        answer = harness.four_letter(self.host, self.port, "mntr",
                                     timeout=1.0)
        for line in answer.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "zk_tree_digest":
                return parts[1]
        return None

    def log_tail(self, lines=30):
        return harness.file_tail(self.log_path, lines)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class Cluster:
    """Voters then observers, in one temporary directory."""

    def __init__(self, binary, voters, observers=0, net="127.0.0", base=10,
                 shim=None, workdir=None):
        self.binary = binary
        self.voters = voters
        self.shim = shim
        self.net = net
        self.base = base
        self.dir = workdir or tempfile.mkdtemp(
            prefix="zabfs-faults-")
        self.nodes = [Node(self, i, i >= voters)
                      for i in range(voters + observers)]
        lines = [n.server_line() for n in self.nodes]
        for n in self.nodes:
            n.write_config(lines)
            if shim is not None:
                shim.prepare(n)

    @property
    def voter_nodes(self):
        return [n for n in self.nodes if not n.observer]

    def start_all(self):
        for n in self.nodes:
            if not n.alive():
                n.start()

    def stop_all(self):
        """Stops every node; returns {myid: exit status}."""
        return {n.myid: n.stop() for n in self.nodes}

    def kill_all(self, nodes=None):
        """SIGKILL to every node at once (a power cut: none of them gets
        to finish an fsync the others began), then waits for each."""
        nodes = self.nodes if nodes is None else nodes
        for n in nodes:
            if n.alive():
                n.resume()
                n.proc.kill()
        for n in nodes:
            n.kill9()

    def connect_string(self, nodes=None):
        return ",".join(n.hostport for n in (nodes or self.nodes))

    def leader(self):
        for n in self.voter_nodes:
            if n.alive() and not n.paused and \
                    n.srvr().get("Mode") == "leader":
                return n
        return None

    def wait_serving(self, timeout):
        """True once one leader and every other live node a follower or
        observer (all nodes alive and answering)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            modes = [n.srvr().get("Mode") if n.alive() else None
                     for n in self.nodes]
            want = ["observer" if n.observer else None for n in self.nodes]
            voter_modes = [m for m, n in zip(modes, self.nodes)
                           if not n.observer]
            if voter_modes.count("leader") == 1 and \
                    all(m in ("leader", "follower") for m in voter_modes) and \
                    all(m == w for m, w, n in zip(modes, want, self.nodes)
                        if n.observer):
                return True
            time.sleep(0.1)
        return False

    def wait_converged(self, timeout):
        """(ok, {myid: (zxid, digest)}): ok once every node answers with
        the same last-applied zxid twice in a row 0.3 s apart, and the
        digests read at that zxid."""
        deadline = time.monotonic() + timeout
        last = None
        state = {}
        while time.monotonic() < deadline:
            zxids = {n.myid: n.srvr().get("Zxid") for n in self.nodes}
            if None not in zxids.values() and len(set(zxids.values())) == 1:
                if last == zxids:
                    state = {n.myid: (zxids[n.myid], n.digest())
                             for n in self.nodes}
                    again = {n.myid: n.srvr().get("Zxid")
                             for n in self.nodes}
                    if again == zxids:
                        return True, state
                last = zxids
            else:
                last = None
            time.sleep(0.3)
        state = {n.myid: (n.srvr().get("Zxid"), n.digest())
                 for n in self.nodes}
        return False, state

    def wait_caught_up(self, timeout):
        """True once every node has applied the highest zxid any node had
        applied when the wait began (writes may go on meanwhile)."""
        deadline = time.monotonic() + timeout
        target = None
        while time.monotonic() < deadline:
            zxids = [n.srvr().get("Zxid") for n in self.nodes]
            if None not in zxids:
                if target is None:
                    target = max(zxids)
                if min(zxids) >= target:
                    return True
            time.sleep(0.1)
        return False

    def cleanup(self, keep=False):
        self.kill_all()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
