"""Network faults on the loopback interface: partitions and random packet
loss with iptables, slow links with tc htb, all limited to the nodes'
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

Invariants
  1. Every rule is in the dedicated chain or under the dedicated root
     qdisc; heal() removes all of them, close() removes the chain too.
  2. A failing iptables/tc command raises (with its stderr): a fault that
     was not injected is never counted as injected.
"""

import shutil
import subprocess

CHAIN = "ZABFS_FAULTS"


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

    def cut(self, a, b):
        """Drop everything from address a to address b."""
        if (a, b) in self.cuts:
            return
        _run(["iptables", "-A", self.chain, "-s", a, "-d", b, "-j", "DROP"])
        self.cuts.add((a, b))

    def cut_both(self, a, b):
        self.cut(a, b)
        self.cut(b, a)

    def lose(self, a, b, probability):
        """Drop each packet from a to b with `probability`."""
        _run(["iptables", "-A", self.chain, "-s", a, "-d", b, "-m",
              "statistic", "--mode", "random", "--probability",
              "%.3f" % probability, "-j", "DROP"])

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
