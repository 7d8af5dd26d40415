"""Persistent recursive watches through a raw client (kazoo 2.8 has no
addWatch).

Design
  A RawWatcher thread connects to one node (harness.RawClient for the
  socket and the handshake), sends addWatch(path, mode 1 = persistent
  recursive, opcode 106) and records every notification (xid -1) as
  (zxid of the reply header, WatcherEvent type, path).  One connection is
  one Stream: it starts at the zxid of the addWatch reply and ends when
  the connection does.  The watcher pings every PING_S; a connection that
  delivers nothing for STALL_S (the node was paused or cut off) is closed
  by the watcher, as a real client does.  Then it opens a new session and
  a new Stream, until the episode's stop event.

  Reading is buffered here (RawClient.recv_frame cannot tell a timeout
  from a closed connection).

Invariants
  1. Every blocking call is bounded: the socket has a timeout of POLL_S
     and the thread exits within POLL_S of the stop event.
  2. A Stream's events are in the order the connection delivered them.
"""

import socket
import struct
import threading
import time

import cluster
import harness

ADD_WATCH = 106
PING = 11
MODE_PERSISTENT_RECURSIVE = 1
PING_S = 0.5
POLL_S = 0.2
STALL_S = 2.0


class Stream:
    """The notifications of one connection of one watcher."""

    def __init__(self, watcher, node, session, start_zxid):
        self.watcher = watcher
        self.node = node
        self.session = session
        self.start_zxid = start_zxid
        self.events = []
        self.end = None

    def describe(self):
        return "%s on node %d session 0x%x from zxid 0x%x (%d events, %s)" % (
            self.watcher, self.node, self.session, self.start_zxid,
            len(self.events), self.end)


class RawWatcher(threading.Thread):
    def __init__(self, name, node, path, recorder, stop):
        super().__init__(name=name, daemon=True)
        self.node = node
        self.path = path
        self.recorder = recorder
        self.stop_event = stop
        self.error = None

    def run(self):
        try:
            while not self.stop_event.is_set():
                self._one_connection()
                self.stop_event.wait(0.2)
        except Exception as e:  # a bug here, not in zabfs
            self.error = "%s: %r" % (self.name, e)

    def _one_connection(self):
        try:
            c = harness.RawClient(self.node.host, self.node.port,
                                  timeout=2.0)
        except OSError:
            return
        try:
            r = c.handshake(timeout_ms=cluster.SESSION_TIMEOUT_MS)
            if r is None or r["timeout"] <= 0:
                return
            c.sock.settimeout(POLL_S)
            reader = _Frames(c.sock)
            c.request(ADD_WATCH, harness.jstr(self.path) +
                      struct.pack("!i", MODE_PERSISTENT_RECURSIVE), xid=1)
            stream = None
            early = []
            last_heard = last_ping = time.monotonic()
            while not self.stop_event.is_set():
                now = time.monotonic()
                if now - last_ping >= PING_S:
                    c.request(PING, xid=-2)
                    last_ping = now
                if now - last_heard > STALL_S:
                    if stream:
                        stream.end = "stalled"
                    return
                body = reader.next()
                if body is None:
                    if stream:
                        stream.end = "closed by server"
                    return
                if body is _Frames.NOTHING:
                    continue
                last_heard = time.monotonic()
                xid, zxid, err = struct.unpack_from("!iqi", body, 0)
                if xid == 1:
                    if err != 0:
                        return
                    stream = Stream(self.name, self.node.myid,
                                    r["session_id"], zxid)
                    stream.events.extend(early)
                    self.recorder.stream(stream)
                elif xid == -1:
                    etype, _state, plen = struct.unpack_from("!iii", body,
                                                             16)
                    path = body[28:28 + plen].decode()
                    event = (zxid, etype, path)
                    (stream.events if stream else early).append(event)
            if stream:
                stream.end = "episode over"
        finally:
            c.close()


class _Frames:
    """Length-prefixed frames from a socket with a timeout."""

    NOTHING = object()

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def next(self):
        """A frame body, NOTHING if none arrived within the timeout, None
        when the connection is closed."""
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack_from("!i", self.buf, 0)
                if n < 0 or n > 16 * 1024 * 1024:
                    return None
                if len(self.buf) >= 4 + n:
                    body = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return body
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return self.NOTHING
            except OSError:
                return None
            if not chunk:
                return None
            self.buf += chunk
