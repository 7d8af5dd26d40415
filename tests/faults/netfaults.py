"""Network faults on the loopback interface: partitions and random packet
loss with iptables, slow links with tc htb, delay, jitter and reordering
with iptables NFQUEUE and zabfs_netdelay, all limited to the nodes'
addresses.

Design
  Partitions.  One dedicated chain (CHAIN, or CHAIN plus a suffix for a
  runner on another address range) is created and hooked into INPUT for
  `-i lo`; a cut of the ordered pair (A, B) is the rule
  `-s A -d B -j DROP` in that chain, so cutting both directions of a pair
  takes two rules.  Healing flushes the chain; close() unhooks and
  deletes it.  Clients connect from 127.0.0.1, which no rule names, so
  only traffic between nodes is cut.

  Loss is a rule in the same chain, `-s A -d B -m statistic --mode random
  --probability P -j DROP`; TCP retransmits what is lost, so the peers
  see delay, jitter and segments arriving out of order.

  Slow links.  This kernel has no netem (nor prio): only htb, pfifo and
  the u32 classifier.  So delay is made by rate: the root qdisc of lo
  becomes htb with a default class far above what loopback carries here,
  and a slow class (a few hundred kbit/s, a short FIFO that drops on
  overflow) that one u32 filter per chosen node address feeds; packets
  to those nodes queue, which is delay that grows with load.  Healing
  deletes the root qdisc, which takes classes and filters with it.

  Delay.  No netem either, so a Delayer runs zabfs_netdelay (netdelay.c,
  built when libnetfilter_queue is there) on one NFQUEUE queue number,
  waits for its "ready" line, and a rule in the same chain per ordered
  pair, `-s A -d B -j NFQUEUE --queue-num Q --queue-bypass`, hands it the
  packets from A to B on their way in (the INPUT hook sees loopback
  traffic, and a packet released there goes on to its socket).  Each
  packet is held for delay + uniform[0, jitter] ms, or with probability
  `reorder` not at all; packets closer together than the jitter are
  reordered.  --queue-bypass lets packets through undelayed while no
  process is bound, so a dead delayer never cuts a link.  Healing flushes
  the chain, then stops the process with SIGTERM (it accepts every packet
  it holds, then exits).  drop_held() (SIGUSR1) drops what it holds
  instead: packets a node sent that never arrive, as when a cable is
  pulled with data on it.  Each address range has its own queue number
  (queue_for), so two runners do not share one.

Invariants
  1. Every rule is in the dedicated chain or under the dedicated root
     qdisc; heal() removes all of them, close() removes the chain too.
  2. A failing iptables/tc command raises (with its stderr): a fault that
     was not injected is never counted as injected.
  3. Delayer.stop() leaves no netdelay process, whatever happened (SIGKILL
     after STOP_TIMEOUT); it raises afterwards if the process had failed.
"""

import os
import select
import shutil
import signal
import subprocess
import time

CHAIN = "ZABFS_FAULTS"
NETDELAY = "zabfs_netdelay"
QUEUE_BASE = 23040  # 0x5A00
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def _run(argv, check=True):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv),
                                                   p.returncode,
                                                   p.stderr.strip()))
    return p


def available():
    """None if iptables and tc are there, else what is missing."""
    missing = [t for t in ("iptables", "tc") if shutil.which(t) is None]
    return None if not missing else "missing " + ", ".join(missing) + \
        " (apt-get install iptables iproute2)"


class Firewall:
    """The partition chain (see the module header)."""

    def __init__(self, suffix=""):
        self.chain = CHAIN + suffix
        self.cuts = set()
        _run(["iptables", "-N", self.chain], check=False)
        _run(["iptables", "-F", self.chain])
        hooked = _run(["iptables", "-C", "INPUT", "-i", "lo", "-j",
                       self.chain], check=False).returncode == 0
        if not hooked:
            _run(["iptables", "-I", "INPUT", "-i", "lo", "-j", self.chain])

    def cut(self, a, b, first=False):
        """Drop everything from address a to address b; `first` puts the
        rule ahead of every rule already there (a delay rule, say, which
        would otherwise still take the pair's packets)."""
        if (a, b) in self.cuts:
            return
        where = ["-I", self.chain, "1"] if first else ["-A", self.chain]
        _run(["iptables"] + where + ["-s", a, "-d", b, "-j", "DROP"])
        self.cuts.add((a, b))

    def cut_both(self, a, b, first=False):
        self.cut(a, b, first)
        self.cut(b, a, first)

    def lose(self, a, b, probability):
        """Drop each packet from a to b with `probability`."""
        _run(["iptables", "-A", self.chain, "-s", a, "-d", b, "-m",
              "statistic", "--mode", "random", "--probability",
              "%.3f" % probability, "-j", "DROP"])

    def delay(self, a, b, queue):
        """Hand every packet from a to b to NFQUEUE `queue` (a Delayer)."""
        _run(["iptables", "-A", self.chain, "-s", a, "-d", b, "-j",
              "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"])

    def rules(self):
        """The rules in the chain, as iptables -S prints them."""
        shown = _run(["iptables", "-S", self.chain]).stdout.splitlines()
        return [r for r in shown if r.startswith("-A ")]

    def heal(self):
        _run(["iptables", "-F", self.chain])
        self.cuts.clear()

    def close(self):
        self.heal()
        while _run(["iptables", "-D", "INPUT", "-i", "lo", "-j", self.chain],
                   check=False).returncode == 0:
            pass
        _run(["iptables", "-X", self.chain], check=False)


class Shaper:
    """A slow link to chosen addresses with htb (module header)."""

    def __init__(self):
        self.active = False

    def slow(self, addresses, rate, queue):
        """Packets to `addresses` leave at most at `rate` (tc units, e.g.
        '200kbit') through a FIFO of `queue` packets (overflow drops)."""
        self.heal()
        _run(["tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:",
              "htb", "default", "1", "r2q", "1000"])
        self.active = True
        _run(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid",
              "1:1", "htb", "rate", "100gbit", "quantum", "200000"])
        _run(["tc", "class", "add", "dev", "lo", "parent", "1:", "classid",
              "1:2", "htb", "rate", rate, "quantum", "1514"])
        _run(["tc", "qdisc", "add", "dev", "lo", "parent", "1:2", "handle",
              "20:", "pfifo", "limit", str(queue)])
        for addr in addresses:
            _run(["tc", "filter", "add", "dev", "lo", "parent", "1:",
                  "protocol", "ip", "prio", "1", "u32", "match", "ip",
                  "dst", addr + "/32", "flowid", "1:2"])

    def heal(self):
        shown = _run(["tc", "qdisc", "show", "dev", "lo"]).stdout
        if "qdisc htb 1: root" in shown:
            _run(["tc", "qdisc", "del", "dev", "lo", "root"])
        self.active = False


def queue_for(net, base):
    """The NFQUEUE queue number of the address range NET.(BASE+i)."""
    octets = [int(o) for o in net.split(".")]
    return QUEUE_BASE + (octets[1] * 65536 + octets[2] * 256 + base) % 32768


class Delayer:
    """One zabfs_netdelay process on one queue (module header)."""

    def __init__(self, binary, queue):
        self.binary = os.path.abspath(binary)
        self.queue = queue
        self.proc = None
        self.last = ""  # the counts line of the last process that ended

    @staticmethod
    def found(build_dir, queue):
        """A Delayer for the netdelay built in build_dir, or None."""
        for sub in ("tests/faults", ""):
            path = os.path.join(build_dir, sub, NETDELAY)
            if os.access(path, os.X_OK):
                return Delayer(path, queue)
        return None

    def start(self, delay_ms, jitter_ms, reorder=0.0, seed=1):
        """Starts netdelay; returns once its queue is bound.  Add the
        rules (Firewall.delay) after this."""
        self.stop()
        self.proc = subprocess.Popen(
            [self.binary, "--queue", str(self.queue), "--delay",
             "%g" % delay_ms, "--jitter", "%g" % jitter_ms, "--reorder",
             "%g" % reorder, "--seed", str(seed)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + READY_TIMEOUT
        line = ""
        while not line.endswith("\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [],
                                        max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            c = os.read(self.proc.stdout.fileno(), 1).decode()
            if not c:
                break
            line += c
        if not line.startswith("ready queue"):
            self.stop(check=False)
            raise RuntimeError("%s did not bind queue %d: %s" % (
                NETDELAY, self.queue, self.last or "no ready line"))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def drop_held(self):
        """Every packet held now is dropped, not delivered (SIGUSR1);
        later ones are delayed as before."""
        if not self.alive():
            raise RuntimeError("%s is not running" % NETDELAY)
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self, check=True):
        """SIGTERM (netdelay accepts what it holds, then exits), SIGKILL
        after STOP_TIMEOUT; raises when check and it had not exited 0."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        self.last = err.strip().splitlines()[-1] if err.strip() else ""
        if check and proc.returncode != 0:
            raise RuntimeError("%s exited with status %s: %s" % (
                NETDELAY, proc.returncode, err.strip()))
