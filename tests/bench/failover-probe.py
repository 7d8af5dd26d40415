#!/usr/bin/env python3
"""failover-probe.py - how long an ensemble cannot take a write when its
leader dies: writes one small znode at a time through followers, kills the
leader with SIGKILL between two writes, and measures the time from the
kill to the first write that succeeds after it.

    failover-probe.py -h HOST:PORT[,HOST:PORT..] -K LEADER_PID
                      [-p PATH] [-T SESSION_MS] [-t LIMIT_S]

HOST:PORT should list followers only (the leader is the one killed).
Prints one line on stdout:

    failover ms=M gap_ms=G failed=F reconnects=R new_sessions=S
    writes_before=W hosts=H

ms is from the kill(2) to the reply of the first successful write sent
after it; gap_ms from the last success before the kill to that reply (the
hole a client sees); failed counts writes sent after the kill that were
lost (connection closed, no reply in time, error reply; a connect loop
that reached the time limit counts as one); reconnects the handshakes
that succeeded after the kill; new_sessions how many of them had to
start a new session because the old one was refused as expired.  On a
timeout, ms=timeout.  Exit 0 on a measurement, 1 when no write succeeded
before the kill (nothing was killed then), 2 on a timeout after the kill.

Design
    Speaks the ZooKeeper client protocol itself over a blocking socket
    (4-byte big-endian frames, jute records: ConnectRequest, setData,
    create), like a client library would: it reconnects to the next host
    round-robin with the session it had (its id, password and the last
    zxid seen), and starts a new session only when that one is expired.
    The probe writes setData(PATH, 8 bytes, version -1), so the tree does
    not grow; PATH is created first if missing.  The kill is done here,
    between a reply and the next request, so the kill and the timestamps
    share one monotonic clock and no write in flight at the kill is ever
    credited to the new leader.

Invariants
    1. One request in flight at a time; a write counts as a success only
       when its own reply (matching xid) carries err 0.
    2. Only writes sent after the kill can end the measurement.
    3. Bounded: connecting waits at most 2 s per host, a reply at most
       2/3 of the session timeout (what the Java client allows before it
       gives up on a connection), failed rounds over all hosts are spaced
       by RETRY_S, and the whole run stops after LIMIT_S (default 60).
       These retry delays overstate a failover by at most RETRY_S plus
       one connect round trip.
"""
import getopt
import os
import signal
import socket
import struct
import sys
import time

RETRY_S = 0.005         # pause after a round in which no host took a write
CONNECT_S = 2.0         # TCP connect + handshake bound per attempt
WARM_WRITES = 20        # successes needed before the kill ...
WARM_S = 0.2            # ... spread over at least this long
OP_CREATE, OP_SETDATA = 1, 5
ZNODEEXISTS = -110
PERMS_ALL = 31


class Lost(Exception):
    """The connection is unusable (closed, timed out, bad frame)."""


class Expired(Exception):
    """The server refused the session: it is gone."""


def buf(b):
    return struct.pack(">i", len(b)) + b


class Client:
    def __init__(self, hosts, session_ms):
        self.hosts = hosts
        self.next_host = 0
        self.session_ms = session_ms
        self.read_s = session_ms * 2 / 3 / 1000.0
        self.sid, self.passwd, self.zxid = 0, b"\0" * 16, 0
        self.sock = None
        self.xid = 0
        self.new_sessions = 0
        self.handshakes = 0

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            try:
                chunk = self.sock.recv(n - len(out))
            except (OSError, socket.timeout) as e:
                raise Lost(str(e))
            if not chunk:
                raise Lost("closed by the server")
            out += chunk
        return out

    def recv_frame(self):
        (n,) = struct.unpack(">i", self.recv_exact(4))
        if n < 0 or n > 1 << 20:
            raise Lost("bad frame length %d" % n)
        return self.recv_exact(n)

    def send_frame(self, body):
        try:
            self.sock.sendall(struct.pack(">i", len(body)) + body)
        except OSError as e:
            raise Lost(str(e))

    def connect_once(self):
        """One attempt on the next host; raises Lost or Expired."""
        host, port = self.hosts[self.next_host]
        self.next_host = (self.next_host + 1) % len(self.hosts)
        self.close()
        try:
            self.sock = socket.create_connection((host, port), CONNECT_S)
        except OSError as e:
            raise Lost(str(e))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(CONNECT_S)
        self.send_frame(struct.pack(">iqiq", 0, self.zxid, self.session_ms,
                                    self.sid) + buf(self.passwd) + b"\0")
        body = self.recv_frame()
        _, timeout, sid = struct.unpack_from(">iiq", body)
        if timeout <= 0:
            self.close()
            raise Expired()
        (plen,) = struct.unpack_from(">i", body, 16)
        self.sid, self.passwd = sid, body[20:20 + plen]
        self.sock.settimeout(self.read_s)
        self.handshakes += 1

    def connect(self, deadline):
        """Connects (trying hosts in turn) until deadline; returns the
        number of attempts, or raises Lost at the deadline."""
        attempts = 0
        while True:
            attempts += 1
            try:
                self.connect_once()
                return attempts
            except Expired:
                self.sid, self.passwd = 0, b"\0" * 16
                self.new_sessions += 1
            except Lost:
                self.close()
            if time.monotonic() >= deadline:
                raise Lost("no host took a connection")
            if attempts % len(self.hosts) == 0:
                time.sleep(RETRY_S)

    def call(self, op, payload):
        """Sends one request and returns its error code; raises Lost."""
        self.xid += 1
        self.send_frame(struct.pack(">ii", self.xid, op) + payload)
        while True:
            body = self.recv_frame()
            xid, zxid, err = struct.unpack_from(">iqi", body)
            if xid in (-1, -2):      # a watch event or a ping's reply
                continue
            if xid != self.xid:
                raise Lost("reply xid %d for request %d" % (xid, self.xid))
            if zxid > 0:
                self.zxid = max(self.zxid, zxid)
            return err


def path_bytes(path):
    return buf(path.encode())


def create_payload(path):
    acl = struct.pack(">ii", 1, PERMS_ALL) + buf(b"world") + buf(b"anyone")
    return path_bytes(path) + buf(b"") + acl + struct.pack(">i", 0)


def set_payload(path, n):
    return path_bytes(path) + buf(struct.pack(">q", n)) + struct.pack(">i", -1)


def write(cl, path, n, deadline):
    """One setData; True on success.  Reconnects first if needed."""
    try:
        if cl.sock is None:
            cl.connect(deadline)
        return cl.call(OP_SETDATA, set_payload(path, n)) == 0
    except Lost:
        cl.close()
        return False


def main(argv):
    opts, rest = getopt.getopt(argv, "h:K:p:T:t:")
    o = dict(opts)
    if rest or "-h" not in o or "-K" not in o:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 64
    hosts = []
    for hp in o["-h"].split(","):
        h, p = hp.rsplit(":", 1)
        hosts.append((h, int(p)))
    pid = int(o["-K"])
    path = o.get("-p", "/bench-failover")
    limit = float(o.get("-t", "60"))
    cl = Client(hosts, int(o.get("-T", "10000")))
    start = time.monotonic()
    deadline = start + limit

    # Before the kill: a session, the znode, and a run of good writes.
    n, ok_run, run_t0, last_ok = 0, 0, None, None
    while ok_run < WARM_WRITES or time.monotonic() - run_t0 < WARM_S:
        if time.monotonic() >= deadline:
            print("failover ms=none writes_before=%d hosts=%s"
                  % (n, o["-h"]))
            return 1
        try:
            if cl.sock is None:
                cl.connect(deadline)
                err = cl.call(OP_CREATE, create_payload(path))
                if err not in (0, ZNODEEXISTS):
                    raise Lost("create %s: error %d" % (path, err))
        except Lost:
            cl.close()
            time.sleep(RETRY_S)
            continue
        n += 1
        if write(cl, path, n, deadline):
            ok_run += 1
            last_ok = time.monotonic()
            run_t0 = run_t0 or last_ok
        else:
            ok_run, run_t0 = 0, None
            time.sleep(RETRY_S)
    writes_before = n

    os.kill(pid, signal.SIGKILL)
    t_kill = time.monotonic()
    deadline = t_kill + limit
    failed = 0
    sessions_before, handshakes_before = cl.new_sessions, cl.handshakes
    while time.monotonic() < deadline:
        n += 1
        if write(cl, path, n, deadline):
            t_ok = time.monotonic()
            print("failover ms=%.1f gap_ms=%.1f failed=%d reconnects=%d "
                  "new_sessions=%d writes_before=%d hosts=%s"
                  % ((t_ok - t_kill) * 1e3, (t_ok - last_ok) * 1e3, failed,
                     cl.handshakes - handshakes_before,
                     cl.new_sessions - sessions_before,
                     writes_before, o["-h"]))
            return 0
        failed += 1
        time.sleep(RETRY_S)
    print("failover ms=timeout limit_s=%g failed=%d reconnects=%d "
          "new_sessions=%d writes_before=%d hosts=%s"
          % (limit, failed, cl.handshakes - handshakes_before,
             cl.new_sessions - sessions_before,
             writes_before, o["-h"]))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
