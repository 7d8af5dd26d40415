"""Raw-socket tests of bad and odd input on the client port.

Each test sends something no well-behaved client sends and asserts the exact
answer ZooKeeper 3.8.0 gives (checked with ZABFS_COMPAT_SERVER=zookeeper),
then that the server still serves another (kazoo) client and that nothing in
the tree changed.  Notation in comments: reply = ReplyHeader{xid, zxid, err}.

Facts pinned here (3.8.0):
  * Any frame length < 0 or > jute.maxbuffer (1,048,575), before or after the
    handshake: the connection is closed, nothing is sent.
  * A first frame too short to be a ConnectRequest (e.g. a request sent before
    the handshake): closed, nothing sent.  A frame of 0 bytes: closed.
  * After the handshake, an unknown opcode (999) or opcode 0: reply
    {xid, -1, UNIMPLEMENTED(-6)} -- note zxid -1 -- then close.
  * createSession (-10) from a client: {xid, zxid, MARSHALLINGERROR(-5)},
    connection stays open.  deleteContainer (20): BADARGUMENTS(-8), stays open.
    reconfig (16) on a standalone server: RECONFIGDISABLED(-123), stays open.
  * A request body that does not decode (truncated, null path, string length
    past the end): MARSHALLINGERROR(-5), connection stays open.  A frame
    shorter than a RequestHeader: closed without a reply.
  * Standalone check (13): if it fails, the failing error (NONODE,
    BADVERSION) and the connection stays open; if it succeeds, 3.8.0 sends
    no reply at all (a bug: the xid is skipped) and goes on serving.
  * ConnectRequest of 44 bytes (no readOnly byte): 36-byte response without
    the readOnly byte; 45 bytes: 37-byte response.  Trailing extra bytes are
    ignored; protocolVersion is not checked; a null password means "new".
  * Reconnect with an unknown session, a wrong or short password: response
    {proto 0, timeOut 0, sessionId 0, passwd = 16 zero bytes, readOnly 0},
    then close.  lastZxidSeen ahead of the server: closed, nothing sent.
  * Four-letter words: `ruok` -> `imok` then close; a word not in the
    whitelist -> "<word> is not executed because it is not in the
    whitelist.\\n"; 4 garbage bytes -> closed silently (read as a length);
    a four-letter word after the handshake is a length too -> closed.
  * auth (xid -4) with an unknown scheme: {-4, 0, AUTHFAILED(-115)} then
    close.  ping: {-2, lastZxid, 0}.  closeSession: {xid, zxid, 0} then close.
"""

import struct
import time
import unittest

import harness
from harness import (CompatTestCase, RawClient, connect_body, frame, jbuf,
                     jstr, parse_connect_response, MAXBUFFER)

UNIMPLEMENTED, MARSHALLING, BADARGS = -6, -5, -8
NONODE, BADVERSION, AUTHFAILED, RECONFIGDISABLED = -101, -103, -115, -123


def hdr(xid, op):
    return struct.pack("!ii", xid, op)


class WireTests(CompatTestCase):

    def setUp(self):
        super().setUp()
        self.zk = self.kazoo()
        self.zk.ensure_path(self.root)
        self.zk.set(self.root, b"before")
        self.before = self.zk.exists(self.root)

    def tearDown(self):
        # the server still serves a well-behaved client, and nothing changed
        if self.server.controllable:
            self.assertTrue(self.server.alive(), "server process died")
        data, st = self.zk.get(self.root)
        self.assertEqual(data, b"before")
        self.assertEqual(st, self.before)
        self.assertEqual(self.zk.get_children(self.root), [])
        other = self.kazoo()
        self.assertEqual(other.get(self.root)[0], b"before")

    def raw(self):
        c = RawClient(self.server.host, self.server.port, timeout=5.0)
        self.addCleanup(c.close)
        return c

    def session(self):
        c = self.raw()
        r = c.handshake()
        self.assertIsNotNone(r)
        self.assertGreater(r["timeout"], 0)
        return c

    def assert_closed_silently(self, c):
        c.sock.settimeout(5.0)
        try:
            data = c.sock.recv(65536)
        except (ConnectionResetError, OSError):
            data = b""
        self.assertEqual(data, b"", "expected close with nothing sent")

    # -- framing -----------------------------------------------------------

    def test_truncated_frame_then_close(self):
        c = self.raw()
        c.send(struct.pack("!i", 45) + b"\0" * 10)
        c.close()
        c = self.session()
        c.send(frame(hdr(1, 5) + jstr(self.root) + jbuf(b"x") + struct.pack("!i", -1))[:20])
        c.close()
        time.sleep(0.2)

    def test_length_over_maxbuffer(self):
        c = self.raw()
        c.send(struct.pack("!i", MAXBUFFER + 1))
        self.assert_closed_silently(c)
        c = self.session()
        c.send(struct.pack("!i", MAXBUFFER + 1) + hdr(1, 4))
        self.assert_closed_silently(c)

    def test_length_equal_maxbuffer_is_accepted(self):
        """A frame of exactly jute.maxbuffer bytes is read (setData of
        MAXBUFFER-8-4-len(path)-4-4 bytes of data succeeds)."""
        c = self.session()
        p = self.root + "-m"  # not below root: tearDown compares root's stat
        self.assertEqual(c.call(1, jstr(p) + jbuf(b"") + struct.pack("!i", 1) +
                                struct.pack("!i", 31) + jstr("world") + jstr("anyone") +
                                struct.pack("!i", 0))[2], 0)
        n = MAXBUFFER - 8 - (4 + len(p)) - 4 - 4
        body = hdr(2, 5) + jstr(p) + jbuf(b"z" * n) + struct.pack("!i", -1)
        self.assertEqual(len(body), MAXBUFFER)
        c.send(frame(body))
        r = c.reply()
        self.assertEqual(r[:3:2], (2, 0))
        self.assertEqual(struct.unpack_from("!i", r[3], 8 * 4 + 3 * 4 + 8)[0], n)  # dataLength
        self.assertEqual(c.call(2, jstr(p) + struct.pack("!i", -1))[2], 0)  # delete

    def test_negative_length(self):
        c = self.raw()
        c.send(struct.pack("!i", -5))
        self.assert_closed_silently(c)
        c = self.session()
        c.send(struct.pack("!i", -1))
        self.assert_closed_silently(c)

    def test_empty_and_short_frames(self):
        c = self.raw()
        c.send(frame(b""))
        self.assert_closed_silently(c)
        c = self.session()
        c.send(frame(b""))
        self.assert_closed_silently(c)
        c = self.session()
        c.send(frame(b"\0\0\0\1"))  # shorter than a RequestHeader
        self.assert_closed_silently(c)

    def test_garbage_bytes(self):
        c = self.raw()
        c.send(b"\x00\x00\x00\x10" + b"\xde\xad\xbe\xef" * 4)  # too short a ConnectRequest
        self.assert_closed_silently(c)
        c = self.raw()
        c.send(b"abcd")  # not a four-letter word: a length of 0x61626364
        self.assert_closed_silently(c)
        # 45 bytes of 0xff parse as a ConnectRequest for session -1: refused
        c = self.raw()
        c.send(struct.pack("!i", 45) + b"\xff" * 45)
        r = parse_connect_response(c.recv_frame())
        self.assertEqual((r["timeout"], r["session_id"], r["passwd"], r["read_only"]),
                         (0, 0, b"\0" * 16, False))
        self.assertTrue(c.closed_by_peer())

    def test_request_before_handshake(self):
        c = self.raw()
        c.send(frame(hdr(1, 4) + jstr("/") + b"\0"))  # getData as first frame
        self.assert_closed_silently(c)

    # -- opcodes -----------------------------------------------------------

    def test_unknown_opcode(self):
        for op in (999, 0):
            with self.subTest(op=op):
                c = self.session()
                c.request(op, b"", xid=1)
                self.assertEqual(c.reply(), (1, -1, UNIMPLEMENTED, b""))
                self.assertTrue(c.closed_by_peer())

    def test_internal_opcodes_from_client(self):
        c = self.session()
        for op, body, err in ((-10, b"", MARSHALLING),           # createSession
                              (20, jstr(self.root), BADARGS),     # deleteContainer
                              (16, jstr("") + jstr("") + jstr("") + struct.pack("!q", -1),
                               RECONFIGDISABLED)):                # reconfig, standalone
            with self.subTest(op=op):
                r = c.call(op, body)
                self.assertIsNotNone(r, "connection closed")
                self.assertEqual((r[0], r[2], r[3]), (c.xid, err, b""))
        # still usable
        r = c.call(3, jstr(self.root) + b"\0")
        self.assertEqual(r[2], 0)

    def test_undecodable_bodies(self):
        c = self.session()
        for name, body in (("truncated", jstr("/")),
                           ("null path", jstr(None) + b"\0"),
                           ("string past end", struct.pack("!i", 1000) + b"/ab\0")):
            with self.subTest(name=name):
                r = c.call(4, body)
                self.assertIsNotNone(r, "connection closed")
                self.assertEqual((r[0], r[2], r[3]), (c.xid, MARSHALLING, b""))
        self.assertEqual(c.call(3, jstr(self.root) + b"\0")[2], 0)

    def test_standalone_check(self):
        c = self.session()
        r = c.call(13, jstr(self.root + "/nonexist") + struct.pack("!i", 5))
        self.assertEqual((r[2], r[3]), (NONODE, b""))
        r = c.call(13, jstr(self.root) + struct.pack("!i", 7))
        self.assertEqual((r[2], r[3]), (BADVERSION, b""))
        # a passing check: 3.8.0 sends no reply at all for it; a reply with
        # err 0 is accepted too.  The next request is answered either way.
        c.request(13, jstr(self.root) + struct.pack("!i", self.before.version), xid=100)
        c.request(3, jstr(self.root) + b"\0", xid=101)
        r = c.reply()
        if r is not None and r[0] == 100:
            self.assertEqual(r[2], 0)
            r = c.reply()
        self.assertIsNotNone(r, "connection closed")
        self.assertEqual((r[0], r[2]), (101, 0))

    def test_multi_wire_format(self):
        c = self.session()
        end = struct.pack("!i?i", -1, True, -1)
        # a check inside a multi: result header {13, false, 0} and no body
        r = c.call(14, struct.pack("!i?i", 13, False, -1) + jstr(self.root) +
                   struct.pack("!i", self.before.version) + end)
        self.assertEqual(r[2], 0)
        self.assertEqual(r[3], struct.pack("!i?i", 13, False, 0) + end)
        # failing: every op becomes {-1, false, err} + ErrorResponse{err}
        r = c.call(14, struct.pack("!i?i", 13, False, -1) + jstr(self.root) +
                   struct.pack("!i", 99) + end)
        self.assertEqual(r[2], 0)
        self.assertEqual(r[3], struct.pack("!i?ii", -1, False, BADVERSION, BADVERSION) + end)
        # empty multi: just the end marker
        r = c.call(14, end)
        self.assertEqual((r[2], r[3]), (0, end))
        # an unknown op type inside: MARSHALLINGERROR for the whole request
        r = c.call(14, struct.pack("!i?i", 999, False, -1) + jstr("/") + end)
        self.assertEqual((r[2], r[3]), (MARSHALLING, b""))
        self.assertEqual(c.call(3, jstr(self.root) + b"\0")[2], 0)

    def test_setdata_over_limit(self):
        c = self.session()
        try:
            c.request(5, jstr(self.root) + jbuf(b"x" * MAXBUFFER) + struct.pack("!i", -1))
        except (BrokenPipeError, ConnectionResetError):
            return  # closed on the length alone, before the body was sent
        self.assert_closed_silently(c)

    def test_special_xids(self):
        c = self.session()
        c.request(11, b"", xid=-2)
        xid, zxid, err, body = c.reply()
        self.assertEqual((xid, err, body), (-2, 0, b""))
        self.assertGreaterEqual(zxid, self.before.mzxid)  # last processed zxid
        # auth with a scheme the server does not know: AUTHFAILED, close
        c.request(100, struct.pack("!i", 0) + jstr("nosuch") + jbuf(b"x"), xid=-4)
        self.assertEqual(c.reply(), (-4, 0, AUTHFAILED, b""))
        self.assertTrue(c.closed_by_peer())
        # digest accepts any credential text (no colon needed)
        c = self.session()
        c.request(100, struct.pack("!i", 0) + jstr("digest") + jbuf(b"nocolon"), xid=-4)
        self.assertEqual(c.reply(), (-4, 0, 0, b""))

    def test_close_session(self):
        c = self.session()
        c.request(-11, b"", xid=7)
        xid, zxid, err, body = c.reply()
        self.assertEqual((xid, err, body), (7, 0, b""))
        self.assertGreater(zxid, 0)
        self.assertTrue(c.closed_by_peer())

    # -- handshake ---------------------------------------------------------

    def test_connect_request_sizes(self):
        c = self.raw()
        c.send(frame(connect_body(read_only=None)))  # 44 bytes: pre-3.4 client
        r = parse_connect_response(c.recv_frame())
        self.assertEqual((r["length"], r["read_only"], len(r["passwd"])), (36, None, 16))
        self.assertGreater(r["timeout"], 0)
        self.assertNotEqual(r["session_id"], 0)
        for ro in (False, True):
            c = self.raw()
            c.send(frame(connect_body(read_only=ro)))
            r = parse_connect_response(c.recv_frame())
            self.assertEqual((r["length"], r["read_only"], r["proto"]), (37, False, 0))
        # extra trailing bytes, protocolVersion 1, null password: all accepted
        for body in (connect_body() + b"extra",
                     struct.pack("!iqiq", 1, 0, 4000, 0) + jbuf(b"\0" * 16) + b"\0",
                     connect_body(passwd=None)):
            c = self.raw()
            c.send(frame(body))
            r = parse_connect_response(c.recv_frame())
            self.assertEqual((r["length"], r["timeout"]), (37, 4000))
        # a password length past the end of the frame: closed
        c = self.raw()
        c.send(frame(struct.pack("!iqiq", 0, 0, 4000, 0) + struct.pack("!i", 100) + b"x" * 16))
        self.assert_closed_silently(c)

    def test_reconnect_refused(self):
        good = self.session()
        r = None
        # find our own session id/password by handshaking again
        c = self.raw()
        r = c.handshake()
        sid, pw = r["session_id"], r["passwd"]
        for name, kw in (("wrong password", dict(session_id=sid, passwd=b"\1" * 16)),
                         ("short password", dict(session_id=sid, passwd=b"\1" * 8)),
                         ("unknown session", dict(session_id=0x7777, passwd=b"\1" * 16))):
            with self.subTest(name=name):
                x = self.raw()
                x.send(frame(connect_body(**kw)))
                body = x.recv_frame()
                self.assertIsNotNone(body)
                self.assertEqual(body, struct.pack("!iiqi", 0, 0, 0, 16) + b"\0" * 16 + b"\0")
                self.assertTrue(x.closed_by_peer())
        # the right password resumes the session (the old connection is closed)
        x = self.raw()
        r2 = x.handshake(session_id=sid, passwd=pw)
        self.assertEqual((r2["session_id"], r2["passwd"]), (sid, pw))
        self.assertTrue(c.closed_by_peer())
        self.assertEqual(x.call(3, jstr(self.root) + b"\0")[2], 0)
        self.assertEqual(good.call(3, jstr(self.root) + b"\0")[2], 0)

    def test_last_zxid_ahead_refused(self):
        c = self.raw()
        c.send(frame(connect_body(last_zxid=1 << 40)))
        self.assert_closed_silently(c)
        # a lastZxidSeen equal to the server's is fine
        c = self.raw()
        r = c.handshake(last_zxid=self.zk.last_zxid)
        self.assertGreater(r["timeout"], 0)

    # -- four-letter words -------------------------------------------------

    def test_four_letter_words(self):
        self.assertEqual(harness.four_letter(self.server.host, self.server.port, "ruok"), "imok")
        srvr = harness.four_letter(self.server.host, self.server.port, "srvr")
        self.assertIn("Mode: standalone", srvr)
        mntr = harness.four_letter(self.server.host, self.server.port, "mntr")
        self.assertRegex(mntr, r"(?m)^zk_version\t")
        self.assertRegex(mntr, r"(?m)^zk_znode_count\t\d+$")
        self.assertRegex(mntr, r"(?m)^zk_server_state\tstandalone$")
        self.assertEqual(harness.four_letter(self.server.host, self.server.port, "isro"), "rw")
        c = self.session()
        c.send(b"ruok")  # after the handshake it is just a huge length
        self.assert_closed_silently(c)


class SlowReaderTests(CompatTestCase):
    """A client that pipelines requests for a large znode and reads only
    later: the server writes what the socket takes, keeps the rest, and
    every reply arrives whole and in order."""

    def test_pipelined_large_replies_to_a_slow_reader(self):
        zk = self.kazoo()
        value = bytes(range(256)) * 3900  # 998,400 bytes
        zk.create(self.root, value)
        c = RawClient(self.server.host, self.server.port, timeout=10.0)
        self.addCleanup(c.close)
        self.assertIsNotNone(c.handshake())
        missing = jstr(self.root + "/none") + b"\0"
        sent = []
        for _ in range(24):  # 24 MB of replies, far more than the socket holds
            sent.append((c.request(4, jstr(self.root) + b"\0"), 0))
            sent.append((c.request(3, missing), NONODE))
        time.sleep(0.5)  # the server's output piles up unread
        for i, (xid, err) in enumerate(sent):
            r = c.reply()
            self.assertIsNotNone(r, "connection closed before reply %d" % i)
            self.assertEqual((r[0], r[2]), (xid, err))
            if err == 0:
                (n,) = struct.unpack_from("!i", r[3], 0)
                self.assertEqual(r[3][4:4 + n], value)
        zk.delete(self.root)


class WhitelistTests(CompatTestCase):
    SERVER_OPTS = dict(whitelist="srvr")

    def setUp(self):
        super().setUp()
        self.server.require_control(self)

    def test_not_whitelisted(self):
        h, p = self.server.host, self.server.port
        self.assertEqual(harness.four_letter(h, p, "ruok"),
                         "ruok is not executed because it is not in the whitelist.\n")
        self.assertEqual(harness.four_letter(h, p, "mntr"),
                         "mntr is not executed because it is not in the whitelist.\n")
        self.assertIn("Mode: standalone", harness.four_letter(h, p, "srvr"))
        zk = self.kazoo()
        self.assertIsNotNone(zk.exists("/"))


class MaxClientCnxnsTests(CompatTestCase):
    SERVER_OPTS = dict(max_client_cnxns=3)

    def setUp(self):
        super().setUp()
        self.server.require_control(self)

    def test_per_ip_limit(self):
        """The 4th connection from one IP is closed without an answer."""
        conns = [self.raw_session() for _ in range(3)]
        # ZooKeeper accepts the TCP connection and closes it at once, so the
        # connect itself may already fail (EPIPE/ECONNRESET)
        try:
            extra = RawClient(self.server.host, self.server.port, timeout=5.0)
            self.addCleanup(extra.close)
            extra.send(frame(connect_body()))
            extra.sock.settimeout(5.0)
            data = extra.sock.recv(100)
        except OSError:
            data = b""
        self.assertEqual(data, b"")
        conns[0].call(-11)
        conns[0].close()
        time.sleep(0.3)
        again = self.raw_session()
        self.assertIsNotNone(again)

    def raw_session(self):
        c = RawClient(self.server.host, self.server.port, timeout=5.0)
        self.addCleanup(c.close)
        r = c.handshake()
        self.assertIsNotNone(r)
        self.assertGreater(r["timeout"], 0)
        return c


if __name__ == "__main__":
    unittest.main()
