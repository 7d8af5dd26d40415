"""zabfs_netdelay (netdelay.c) with the runner's own machinery
(netfaults.Firewall and Delayer) on flows between two loopback
addresses: packets are delayed, reordered by jitter, skipped by
--reorder, accepted at once beyond --limit, dropped on SIGUSR1
(drop_held), and healing leaves no rule and no process, with every held
packet delivered.

Design
  Sockets of this process on SRC and DST (127.0.0.201, .202), whose
  traffic nothing else on the machine names; a firewall chain of its own
  (Firewall(SUFFIX)) and a queue number of its own (QUEUE).  Only lower
  bounds on time are asserted (a loaded machine only makes things
  slower); waits are bounded by generous timeouts.  $ZABFS_NETDELAY
  names the binary (ctest sets it), else it is looked for in ../../build.
  Needs root and iptables; skipped, saying why, otherwise.

Invariants
  1. Every test heals in tearDown: the chain is removed, the process
     stopped.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

import netfaults

SRC, DST = "127.0.0.201", "127.0.0.202"
SUFFIX = "_TEST_NETDELAY"
QUEUE = 65123
RECV_TIMEOUT = 20.0
HERE = os.path.dirname(os.path.abspath(__file__))


def binary():
    path = os.environ.get("ZABFS_NETDELAY")
    if path:
        return path
    d = netfaults.Delayer.found(os.path.join(HERE, "..", "..", "build"), 0)
    return d.binary if d else ""


def counts(line):
    """{'packets': n, 'delayed': n, ...} from netdelay's last line."""
    out = {}
    for part in line.split(":")[-1].split(","):
        words = part.split()
        if words and words[0].isdigit():
            out[" ".join(words[1:])] = int(words[0])
        elif len(words) == 3 and words[2].isdigit():  # "most held N"
            out["most held"] = int(words[2])
    return out


class NetdelayTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (iptables, NFQUEUE)")
        if shutil.which("iptables") is None:
            self.skipTest("no iptables (apt-get install iptables)")
        path = binary()
        if not path or not os.access(path, os.X_OK):
            self.skipTest("no zabfs_netdelay built (%r; needs"
                          " libnetfilter-queue-dev)" % path)
        self.firewall = netfaults.Firewall(SUFFIX)
        self.delayer = netfaults.Delayer(path, QUEUE)
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        try:
            self.delayer.stop(check=False)
        finally:
            self.firewall.close()

    def delay(self, delay_ms, jitter_ms=0, reorder=0.0, both=True):
        self.delayer.start(delay_ms, jitter_ms, reorder, seed=7)
        self.firewall.delay(SRC, DST, QUEUE)
        if both:
            self.firewall.delay(DST, SRC, QUEUE)

    def udp_pair(self):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socks += [a, b]
        a.bind((SRC, 0))
        b.bind((DST, 0))
        b.settimeout(RECV_TIMEOUT)
        return a, b

    def test_tcp_round_trip_grows_by_the_delay(self):
        delay_ms = 60
        server = socket.socket()
        self.socks.append(server)
        server.bind((DST, 0))
        server.listen(1)

        def echo():
            c, _ = server.accept()
            with c:
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while True:
                    data = c.recv(100)
                    if not data:
                        return
                    c.sendall(data)
        t = threading.Thread(target=echo, daemon=True)
        t.start()
        self.delay(delay_ms)
        c = socket.socket()
        self.socks.append(c)
        c.settimeout(RECV_TIMEOUT)
        c.bind((SRC, 0))
        c.connect(server.getsockname())
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rtts = []
        for i in range(8):
            started = time.monotonic()
            c.sendall(b"ping%d" % i)
            self.assertEqual(c.recv(100), b"ping%d" % i)
            rtts.append((time.monotonic() - started) * 1000)
        c.close()
        t.join(RECV_TIMEOUT)
        print("round trips with %d ms each way: %s ms" % (
            delay_ms, [round(r, 1) for r in rtts]), file=sys.stderr)
        # each direction is held at least delay_ms
        self.assertGreaterEqual(min(rtts), 2 * delay_ms)

    def test_jitter_reorders_datagrams(self):
        self.delay(1, jitter_ms=80, both=False)
        a, b = self.udp_pair()
        n = 100
        for i in range(n):
            a.sendto(b"%d" % i, b.getsockname())
            time.sleep(0.002)
        got = [int(b.recvfrom(100)[0]) for _ in range(n)]
        self.assertEqual(sorted(got), list(range(n)))
        inversions = sum(1 for x, y in zip(got, got[1:]) if y < x)
        print("%d of %d datagrams arrived after a later one" % (
            inversions, n), file=sys.stderr)
        self.assertGreater(inversions, 0)

    def test_reorder_skips_the_delay_for_some_packets(self):
        self.delay(10, reorder=0.5, both=False)
        a, b = self.udp_pair()
        for i in range(50):
            a.sendto(b"%d" % i, b.getsockname())
        for _ in range(50):
            b.recvfrom(100)
        self.delayer.stop()
        c = counts(self.delayer.last)
        self.assertEqual(c["packets"], 50, self.delayer.last)
        self.assertEqual(c["delayed"] + c["reordered"], 50)
        self.assertGreater(c["reordered"], 0)
        self.assertGreater(c["delayed"], 0)

    def test_heal_removes_the_rules_and_delivers_what_was_held(self):
        self.delay(60000, both=False)  # a minute: only healing frees them
        a, b = self.udp_pair()
        for i in range(20):
            a.sendto(b"%d" % i, b.getsockname())
        self.assertEqual(len(self.firewall.rules()), 1)
        proc = self.delayer.proc
        deadline = time.monotonic() + RECV_TIMEOUT
        while _queue_held(QUEUE) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the kernel queued all 20 to it
        self.firewall.heal()
        self.delayer.stop()
        self.assertEqual(self.firewall.rules(), [])
        self.assertIsNotNone(proc.poll(), "netdelay still running")
        self.assertEqual(proc.returncode, 0)
        self.assertFalse(self.delayer.alive())
        got = sorted(int(b.recvfrom(100)[0]) for _ in range(20))
        self.assertEqual(got, list(range(20)))
        c = counts(self.delayer.last)
        self.assertEqual(c["delayed"], 20, self.delayer.last)
        # undelayed afterwards: the queue is gone, no rule names it
        a.sendto(b"after", b.getsockname())
        self.assertEqual(b.recvfrom(100)[0], b"after")

    def test_drop_held_loses_what_was_held_and_delays_the_rest(self):
        self.delay(60000, both=False)  # held until dropped or healed
        a, b = self.udp_pair()
        for i in range(10):
            a.sendto(b"%d" % i, b.getsockname())
        deadline = time.monotonic() + RECV_TIMEOUT
        while _queue_held(QUEUE) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.delayer.drop_held()
        while _queue_held(QUEUE) > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(_queue_held(QUEUE), 0)
        a.sendto(b"later", b.getsockname())  # held, as before the drop
        while _queue_held(QUEUE) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(_queue_held(QUEUE), 1)
        self.firewall.heal()
        self.delayer.stop()
        # the ten dropped never come; the later one comes at the heal
        self.assertEqual(b.recvfrom(100)[0], b"later")
        b.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            b.recvfrom(100)
        c = counts(self.delayer.last)
        self.assertEqual((c["delayed"], c["dropped"]), (11, 10),
                         self.delayer.last)

    def test_beyond_the_limit_packets_pass_at_once(self):
        proc = subprocess.Popen(
            [self.delayer.binary, "--queue", str(QUEUE), "--delay", "60000",
             "--limit", "5"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(proc.stdout.readline().strip(),
                             "ready queue %d" % QUEUE)
            self.firewall.delay(SRC, DST, QUEUE)
            a, b = self.udp_pair()
            for i in range(20):
                a.sendto(b"%d" % i, b.getsockname())
            # the 15 beyond the limit arrive without waiting the minute
            got = sorted(int(b.recvfrom(100)[0]) for _ in range(15))
            self.assertEqual(got, list(range(5, 20)))
        finally:
            self.firewall.heal()
            proc.terminate()
            _, err = proc.communicate(timeout=RECV_TIMEOUT)
        self.assertEqual(proc.returncode, 0, err)
        c = counts(err.strip().splitlines()[-1])
        self.assertEqual((c["delayed"], c["over the limit"]), (5, 15))
        got = sorted(int(b.recvfrom(100)[0]) for _ in range(5))
        self.assertEqual(got, list(range(5)))

    def test_bad_arguments_and_a_busy_queue(self):
        bad = subprocess.run([self.delayer.binary, "--delay", "5"],
                             stderr=subprocess.PIPE, timeout=RECV_TIMEOUT)
        self.assertEqual(bad.returncode, 2)
        self.delayer.start(5, 0)
        other = netfaults.Delayer(self.delayer.binary, QUEUE)
        with self.assertRaises(RuntimeError):
            other.start(5, 0)
        self.assertFalse(other.alive())
        self.assertTrue(self.delayer.alive())


def _queue_held(queue):
    """Packets waiting for a verdict in `queue`
    (/proc/net/netfilter/nfnetlink_queue), -1 if it is not listed."""
    try:
        with open("/proc/net/netfilter/nfnetlink_queue") as f:
            for line in f:
                cols = line.split()
                if cols and int(cols[0]) == queue:
                    return int(cols[2])
    except OSError:
        pass
    return -1


if __name__ == "__main__":
    sys.exit(unittest.main())
