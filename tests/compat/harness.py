"""Compatibility-suite harness: one ZooKeeper-protocol server node per test class.

Design
  The suites in this folder drive a server with clients nobody here wrote
  (kazoo, zkCli.sh, cli_mt, raw sockets).  They must pass against real Apache
  ZooKeeper 3.8 *and* against zabfs, so the harness can start either:

    ZABFS_COMPAT_SERVER=zookeeper  real ZooKeeper (Debian jar, QuorumPeerMain)
    (default)                      the zabfs binary: $ZABFS_BIN, else
                                   <repo>/build/zabfs, started as `zabfs zoo.cfg`
    ZK_CONNECT=host:port           no server is started; every test talks to an
                                   already running server and tests that must
                                   kill, restart or reconfigure it are skipped
                                   (the skip message says why).

  zoo.cfg also carries the keys ZooKeeper itself only takes as Java system
  properties (DigestAuthenticationProvider.superDigest, extendedTypesEnabled,
  znode.container.checkIntervalMs): zabfs reads them from zoo.cfg, and for
  ZooKeeper the harness passes them as -D properties as well.

  A Server owns one temporary directory holding zoo.cfg, data/ and server.log
  (stdout+stderr of the server process).  The same dataDir is kept across
  restart() and kill9()+start(), which is what the durability and session
  tests rely on.

Invariants
  1. Every wait is bounded: start waits at most START_TIMEOUT s for `ruok` to
     answer `imok`; stop sends SIGTERM, waits STOP_TIMEOUT s, then SIGKILL.
  2. Only the process this harness started is ever signalled, by its pid.
  3. The port is a free loopback port picked at construction and kept for the
     lifetime of the Server, so clients can reconnect after a restart.
  4. CompatTestCase prints the tail of server.log whenever a test fails or
     errors, so a failure report always shows what the server said.

Also here: small raw-protocol helpers (framing, ConnectRequest/Response,
request headers) shared by the suites that speak the wire protocol directly.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ZK_JAR_CP = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar"
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="  # password "test"
SUPER_AUTH = ("digest", "super:test")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0  # ASan builds on a loaded 2-core machine stop slowly
TICK_MS = 200
MAXBUFFER = 1048575  # jute.maxbuffer default (0xfffff)
CONTAINER_CHECK_MS = 200  # container/TTL reaper period (ZooKeeper default 60000)


def server_kind():
    """'external' (ZK_CONNECT), 'zookeeper' or 'zabfs'."""
    if os.environ.get("ZK_CONNECT"):
        return "external"
    if os.environ.get("ZABFS_COMPAT_SERVER", "") == "zookeeper":
        return "zookeeper"
    return "zabfs"


def zabfs_bin():
    return os.environ.get("ZABFS_BIN") or os.path.join(REPO, "build", "zabfs")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def four_letter(host, port, word, timeout=5.0):
    """Send a four-letter word, return the whole answer as str ('' on failure)."""
    data = b""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(word.encode() if isinstance(word, str) else word)
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        pass
    return data.decode("utf-8", "replace")


class Server:
    """One server node in its own temporary directory (see module docstring).

    Owns: the temporary directory (removed by cleanup() unless the env var
    ZABFS_COMPAT_KEEP is set) and the child process (stopped by stop/kill9).
    """

    def __init__(self, name="node", max_client_cnxns=60, extended_types=False,
                 whitelist="*", extra_cfg=()):
        self.kind = server_kind()
        self.proc = None
        self.dir = None
        if self.kind == "external":
            host, _, port = os.environ["ZK_CONNECT"].split(",")[0].rpartition(":")
            self.host, self.port = host or "127.0.0.1", int(port)
            return
        self.host = "127.0.0.1"
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="zabfs-compat-%s-" % name)
        self.data_dir = os.path.join(self.dir, "data")
        os.mkdir(self.data_dir)
        self.cfg_path = os.path.join(self.dir, "zoo.cfg")
        self.log_path = os.path.join(self.dir, "server.log")
        self.extended_types = extended_types
        lines = [
            "tickTime=%d" % TICK_MS,
            "initLimit=10",
            "syncLimit=5",
            "dataDir=%s" % self.data_dir,
            "clientPort=%d" % self.port,
            "clientPortAddress=127.0.0.1",
            "maxClientCnxns=%d" % max_client_cnxns,
            "4lw.commands.whitelist=%s" % whitelist,
            "admin.enableServer=false",
            "forceSync=yes",
            "DigestAuthenticationProvider.superDigest=%s" % SUPER_DIGEST,
            "znode.container.checkIntervalMs=%d" % CONTAINER_CHECK_MS,
        ]
        if extended_types:
            lines.append("extendedTypesEnabled=true")
        if self.kind == "zabfs":
            # small, so that snapshots, log rolls and purges happen during
            # the suites (the durability test restarts across them).  Not
            # for ZooKeeper 3.8.0: a kill -9 just after it creates a log file
            # leaves the file without its header, and it then refuses to
            # start (EOFException in FileHeader.deserialize), seen here.
            lines.extend(["snapCount=500", "autopurge.snapRetainCount=3",
                          "autopurge.purgeInterval=1"])
        lines.extend(extra_cfg)
        extra = os.environ.get("ZABFS_EXTRA_CFG")
        if extra and self.kind == "zabfs":
            lines.extend(extra.splitlines())
        with open(self.cfg_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    # -- addresses -----------------------------------------------------------

    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def controllable(self):
        return self.kind != "external"

    def require_control(self, test):
        """Skip `test` when the server is not ours to kill/restart/configure."""
        if not self.controllable:
            test.skipTest("ZK_CONNECT points at an external server: this test "
                          "must kill, restart or reconfigure the server")

    # -- lifecycle -----------------------------------------------------------

    def _command(self):
        if self.kind == "zookeeper":
            props = [
                "-Dzookeeper.DigestAuthenticationProvider.superDigest=" + SUPER_DIGEST,
                "-Dzookeeper.snapshot.trust.empty=true",
                "-Dznode.container.checkIntervalMs=%d" % CONTAINER_CHECK_MS,
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
            ]
            if self.extended_types:
                props.append("-Dzookeeper.extendedTypesEnabled=true")
            return (["java", "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC",
                     "-XX:TieredStopAtLevel=1"] + props +
                    ["-cp", ZK_JAR_CP,
                     "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                     self.cfg_path])
        return [zabfs_bin(), self.cfg_path]

    def start(self, timeout=START_TIMEOUT, wait=True):
        """Starts the process; waits until it serves sessions unless not
        wait (an ensemble member serves only once a quorum is up)."""
        if not self.controllable:
            self.wait_ready(timeout)
            return
        assert self.proc is None or self.proc.poll() is not None
        if self.kind == "zabfs" and not os.access(zabfs_bin(), os.X_OK):
            if os.environ.get("ZABFS_BIN"):  # asked for explicitly (ctest)
                raise RuntimeError("ZABFS_BIN=%s is not executable" % zabfs_bin())
            raise unittest.SkipTest("no zabfs binary at %s (set ZABFS_BIN, or "
                                    "ZABFS_COMPAT_SERVER=zookeeper)" % zabfs_bin())
        log = open(self.log_path, "ab")
        log.write(("=== start %s\n" % time.strftime("%H:%M:%S")).encode())
        log.flush()
        self.proc = subprocess.Popen(self._command(), cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError("server exited with %s during startup:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            answer = four_letter(self.host, self.port, "ruok", timeout=1.0)
            if (answer == "imok" or "whitelist" in answer) and self._session_ok():
                return
            time.sleep(0.05)
        raise RuntimeError("server not ready (ruok != imok) after %.0f s:\n%s"
                           % (timeout, self.log_tail()))

    def _session_ok(self):
        """A real session can be opened (ZooKeeper answers `imok` to ruok
        before it serves sessions); closes it again with closeSession."""
        try:
            c = RawClient(self.host, self.port, timeout=2.0)
        except OSError:
            return False
        try:
            r = c.handshake(timeout_ms=2000)
            if r is None or r["timeout"] <= 0:
                return False
            c.call(-11)
            return True
        except (OSError, AssertionError, struct.error):
            return False
        finally:
            c.close()

    def stop(self):
        """SIGTERM, wait STOP_TIMEOUT, then SIGKILL. Returns the exit status
        (the JVM exits with 143 on SIGTERM)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(STOP_TIMEOUT)

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)

    def restart(self, hard=False):
        """Stop (SIGTERM, or SIGKILL when hard) and start on the same dataDir."""
        self.kill9() if hard else self.stop()
        self.start()

    def cleanup(self):
        """Stops the server and removes its directory.  A zabfs that does
        not exit 0 on SIGTERM, or whose log holds a sanitizer report (the
        ASan/UBSan and TSan builds run these suites), fails the suite."""
        rc = self.stop()
        problem = None
        if self.kind == "zabfs" and self.dir:
            if rc not in (0, None):
                problem = "zabfs exited with status %s on SIGTERM" % rc
            try:
                with open(self.log_path, "rb") as f:
                    log = f.read().decode("utf-8", "replace")
            except OSError:
                log = ""
            for mark in ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                         "runtime error:"):
                if mark in log:
                    problem = "sanitizer report in the server log:\n" + self.log_tail(80)
                    break
        if self.dir and not os.environ.get("ZABFS_COMPAT_KEEP") and not problem:
            shutil.rmtree(self.dir, ignore_errors=True)
        if problem:
            raise AssertionError(problem + "\n(server directory kept: %s)" % self.dir)

    def log_tail(self, lines=40):
        if not self.dir:
            return "(external server: no log)"
        return file_tail(self.log_path, lines)

    def alive(self):
        if not self.controllable:
            return True
        return self.proc is not None and self.proc.poll() is None


class CompatTestCase(unittest.TestCase):
    """One Server per test class (started in setUpClass).

    Subclasses set SERVER_OPTS (kwargs for Server).  Each test gets a fresh
    root path self.root = /compat-<pid>-<class>-<test> so tests do not interfere.
    """

    SERVER_OPTS = {}
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(name=cls.__name__, **cls.SERVER_OPTS)
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.cleanup()

    def setUp(self):
        # the pid keeps repeated runs against one ZK_CONNECT server apart
        self.root = "/compat-%d-%s-%s" % (os.getpid(), type(self).__name__,
                                          self._testMethodName)

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self.server:
            sys.stderr.write("\n---- server log tail (%s, %s) ----\n%s\n----\n"
                             % (self.id(), self.server.kind, self.server.log_tail()))
        return out

    def kazoo(self, **kw):
        """A started KazooClient; stopped and closed at test end."""
        from kazoo.client import KazooClient
        kw.setdefault("timeout", 4.0)
        c = KazooClient(hosts=self.server.hostport, **kw)
        c.start(timeout=15)
        self.addCleanup(close_quietly, c)
        return c


def file_tail(path, lines, window=16384):
    """The last lines of a text file (read from its last window bytes)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - window))
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return "(no log: %s)" % e
    return "\n".join(text.splitlines()[-lines:])


def close_quietly(client):
    try:
        client.stop()
    except Exception:
        pass
    try:
        client.close()
    except Exception:
        pass


def wait_for(pred, timeout, step=0.02, what="condition"):
    """Poll pred() until it is true, and return that value; fail the test
    (AssertionError naming `what`) if timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %s s waiting for %s"
                                 % (timeout, what))
        time.sleep(step)


# ---------------------------------------------------------------------------
# Raw wire protocol (jute, big-endian)
# ---------------------------------------------------------------------------

def jstr(s):
    if s is None:
        return struct.pack("!i", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!i", len(b)) + b


jbuf = jstr


def frame(body):
    return struct.pack("!i", len(body)) + body


def connect_body(timeout_ms=4000, session_id=0, passwd=b"\0" * 16,
                 last_zxid=0, read_only=True):
    """ConnectRequest body; read_only=None gives the old 44-byte form."""
    b = struct.pack("!iqiq", 0, last_zxid, timeout_ms, session_id) + jbuf(passwd)
    if read_only is not None:
        b += struct.pack("!?", read_only)
    return b


def parse_connect_response(body):
    """-> dict(proto, timeout, session_id, passwd, read_only or None)."""
    proto, timeout, sid, plen = struct.unpack_from("!iiqi", body, 0)
    passwd = body[20:20 + plen] if plen >= 0 else None
    rest = body[20 + max(plen, 0):]
    return dict(proto=proto, timeout=timeout, session_id=sid, passwd=passwd,
                read_only=(rest[0] != 0) if rest else None, length=len(body))


class RawClient:
    """A bare socket speaking ZooKeeper framing; every read is bounded."""

    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.xid = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        """n bytes, or None on EOF/reset/timeout before n bytes arrived."""
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except (socket.timeout, ConnectionResetError, OSError):
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def recv_frame(self):
        hdr = self.recv_exact(4)
        if hdr is None:
            return None
        (n,) = struct.unpack("!i", hdr)
        if n < 0 or n > 16 * 1024 * 1024:
            raise AssertionError("server sent a bad frame length %d" % n)
        return self.recv_exact(n)

    def closed_by_peer(self, timeout=5.0):
        """True if the server closes the connection (EOF/RST) within timeout,
        discarding anything it sends before that."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except socket.timeout:
            return False
        except (ConnectionResetError, OSError):
            return True
        return False

    def handshake(self, **kw):
        self.send(frame(connect_body(**kw)))
        body = self.recv_frame()
        if body is None:
            return None
        return parse_connect_response(body)

    def request(self, op, body=b"", xid=None):
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send(frame(struct.pack("!ii", xid, op) + body))
        return xid

    def reply(self):
        """-> (xid, zxid, err, body) or None if the connection closed."""
        body = self.recv_frame()
        if body is None:
            return None
        xid, zxid, err = struct.unpack_from("!iqi", body, 0)
        return xid, zxid, err, body[16:]

    def call(self, op, body=b""):
        """Send one request, return its reply, skipping watch events (xid -1)."""
        xid = self.request(op, body)
        while True:
            r = self.reply()
            if r is None or r[0] != -1:
                return r
