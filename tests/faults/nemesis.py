"""Fault kinds, the seeded schedule of an episode, and their injection.

Design
  plan() turns (rng, kinds, ensemble shape, duration) into a schedule: a
  list of Faults, one after another, never two at once.  A Fault names
  its kind, when it starts (seconds into the workload), how long it is
  held, and its parameters, all drawn from the rng, so the same seed and
  episode give the same schedule.  Targets are node indexes, except the
  kinds that aim at "the leader", which is resolved when the fault is
  injected (and written into the fault's `done` note, printed with it).

  Kinds (`--faults` takes any subset; ALL is every one of them):
    kill-leader, kill-node, kill-minority, kill-all
        SIGKILL, then restart after the hold;
    pause-leader, pause-node
        SIGSTOP for longer than the longest session timeout, then SIGCONT;
    partition-halves   a random minority of voters (observers on random
                       sides) cut from the rest;
    partition-leader   the leader cut from every other node;
    partition-leader-slow
                       the same, and every other node behind a slow link,
                       so the election and synchronisation that follow
                       take long (what a new leader does before it is
                       synced becomes visible);
    partition-leader-inflight
                       every packet between nodes held 80..200 ms for a
                       while (followers log each txn a round trip before
                       they hear it committed), then the leader cut from
                       every other node and what the network held
                       dropped, so the others keep txns the leader
                       acknowledged that nobody told them are committed;
                       the delay stays, so their election and
                       synchronisation are slow;
    partition-bridge   nodes in a random line L | b | R: L and R cannot
                       talk, b talks to both;
    loss               every pair of nodes loses packets with probability
                       10..40 %;
    slow               a minority of voters behind a slow link (htb);
    delay              every pair of nodes: each packet held 5..50 ms
                       plus up to as much again of jitter (zabfs_netdelay
                       through NFQUEUE);
    reorder            the same with 0..3 ms of delay and 20..100 ms of
                       jitter, and some packets not held at all, so
                       packets overtake each other;
    disk-fsync, disk-short-write, disk-enospc
                       the shim fails the next fsyncs / writes of one
                       node (the node stops itself; healing restarts it);
    powerloss          stall one node's syncs, kill -9 it inside the
                       stall, then drop or tear what it had not synced,
                       restart;
    powerloss-all      the same for every node at once (a power cut of
                       the whole ensemble: what was synced must survive);
    bitflip            stop one node, flip one bit in its log or its
                       newest snapshot, restart (a node that refuses the
                       corrupt file is wiped and resynced by the
                       operator, here the runner);
    clock-jump         one node's CLOCK_REALTIME jumps by minutes to hours.
  The disk kinds (disk-*, powerloss, bitflip) only ever hit the episode's
  `disk_minority`, a minority of voters fixed by the plan, and after each
  of them the runner waits until the node has caught up again, so no
  majority ever lost data it had synced.

Invariants
  1. heal(fault) undoes everything inject(fault) did and is always called
     (the runner calls it in a finally); heal_all() is idempotent and
     undoes any fault of any kind.
  2. A fault that could not be injected raises; the runner reports it as
     an error of the runner, not as an anomaly of zabfs.
"""

import time

import cluster

PROCESS = ["kill-leader", "kill-node", "kill-minority", "kill-all",
           "pause-leader", "pause-node"]
NETWORK = ["partition-halves", "partition-leader", "partition-bridge",
           "partition-leader-slow", "partition-leader-inflight", "loss",
           "slow", "delay", "reorder"]
DISK = ["disk-fsync", "disk-short-write", "disk-enospc", "powerloss",
        "powerloss-all", "bitflip", "clock-jump"]
ALL = PROCESS + NETWORK + DISK
NEEDS_SHIM = set(DISK)
NEEDS_ROOT_NET = set(NETWORK)
NEEDS_NETDELAY = {"delay", "reorder", "partition-leader-inflight"}
# kinds that can leave a deposed leader answering: during them and for
# DEPOSED_MARGIN_S after their heal a synced read may legitimately be
# stale on the nodes deposed_nodes() names (checkers.check_sync_reads)
DEPOSED_LEADER_KINDS = {"pause-leader", "pause-node", "partition-halves",
                        "partition-leader", "partition-leader-slow",
                        "partition-leader-inflight", "partition-bridge",
                        "loss",
                        "slow", "delay", "reorder", "clock-jump"}
DEPOSED_MARGIN_S = 3.0
# a power cut lands inside a sync: the targets' syncs stall (STALL_MS,
# longer than any lead) for STALL_LEAD_S while the workload goes on, so
# whatever a node reported durable before its fdatasync returned is still
# un-synced when the power goes
STALL_MS = 5000
STALL_LEAD_S = (0.2, 0.6)
# partition-leader-inflight: the delay, and how long it runs before the cut
INFLIGHT_DELAY_MS = (80, 200)
INFLIGHT_LEAD_S = (0.3, 0.8)
PAUSE_S = (cluster.MAX_SESSION_TIMEOUT_S + 0.5,
           cluster.MAX_SESSION_TIMEOUT_S + 2.5)


class Fault:
    def __init__(self, kind, at, hold, params):
        self.kind = kind
        self.at = at
        self.hold = hold
        self.params = params
        self.done = ""

    def describe(self):
        params = " ".join("%s=%s" % kv for kv in sorted(self.params.items()))
        text = "t=%5.1fs %-17s hold %.1fs %s" % (self.at, self.kind,
                                                  self.hold, params)
        return text + ("  [%s]" % self.done if self.done else "")


def plan(rng, kinds, voters, total, duration):
    """(schedule, disk_minority) for one episode."""
    minority = (voters - 1) // 2
    disk_minority = sorted(rng.sample(range(voters), max(1, minority)))
    schedule = []
    t = rng.uniform(0.5, 1.5)
    while t < duration - 1.0:
        kind = rng.choice(kinds)
        hold, params = _params(rng, kind, voters, total, disk_minority)
        schedule.append(Fault(kind, round(t, 1), round(hold, 1), params))
        t += hold + rng.uniform(1.0, 2.5)
    return schedule, disk_minority


def _params(rng, kind, voters, total, disk_minority):
    minority = (voters - 1) // 2
    if kind.startswith("kill"):
        hold = rng.uniform(0.5, 3.0)
        if kind == "kill-node":
            return hold, {"nodes": [rng.randrange(total)]}
        if kind == "kill-minority":
            return hold, {"nodes": sorted(rng.sample(range(voters),
                                                     minority))}
        return hold, {}
    if kind.startswith("pause"):
        hold = rng.uniform(*PAUSE_S)
        if kind == "pause-node":
            return hold, {"nodes": [rng.randrange(total)]}
        return hold, {}
    hold = rng.uniform(2.0, 5.0)
    if kind == "partition-halves":
        side = rng.sample(range(voters), rng.randint(1, minority))
        side += [i for i in range(voters, total) if rng.random() < 0.5]
        return hold, {"nodes": sorted(side)}
    if kind == "partition-bridge":
        order = list(range(total))
        rng.shuffle(order)
        return hold, {"line": order}
    if kind == "loss":
        return hold, {"p": round(rng.uniform(0.1, 0.4), 2)}
    if kind == "partition-leader-slow":
        return hold, {"rate": rng.choice(["50kbit", "100kbit", "200kbit"])}
    if kind == "partition-leader-inflight":
        return hold, {"delay_ms": rng.randint(*INFLIGHT_DELAY_MS),
                      "lead": round(rng.uniform(*INFLIGHT_LEAD_S), 2),
                      "seed": rng.randrange(1 << 30)}
    if kind == "delay":
        delay = rng.randint(5, 50)
        return hold, {"delay_ms": delay, "jitter_ms": rng.randint(0, delay),
                      "reorder": 0.0, "seed": rng.randrange(1 << 30)}
    if kind == "reorder":
        return hold, {"delay_ms": rng.randint(0, 3),
                      "jitter_ms": rng.randint(20, 100),
                      "reorder": rng.choice([0.0, 0.1, 0.25]),
                      "seed": rng.randrange(1 << 30)}
    if kind == "slow":
        return hold, {"nodes": sorted(rng.sample(range(voters),
                                                 max(1, minority))),
                      "rate": rng.choice(["100kbit", "300kbit", "1mbit"])}
    if kind in ("disk-fsync", "disk-short-write", "disk-enospc"):
        return rng.uniform(1.0, 3.0), {
            "nodes": [rng.choice(disk_minority)],
            "count": rng.choice([1, 2, 5])}
    if kind == "powerloss":
        return rng.uniform(0.2, 1.0), {
            "nodes": [rng.choice(disk_minority)],
            "mode": rng.choice(["drop", "torn"]),
            "seed": rng.randrange(1 << 30),
            "stall": round(rng.uniform(*STALL_LEAD_S), 2)}
    if kind == "powerloss-all":
        return rng.uniform(0.2, 1.0), {
            "mode": rng.choice(["drop", "torn"]),
            "seed": rng.randrange(1 << 30),
            "stall": round(rng.uniform(*STALL_LEAD_S), 2)}
    if kind == "bitflip":
        return rng.uniform(0.2, 1.0), {
            "nodes": [rng.choice(disk_minority)],
            "what": rng.choice(["log", "snapshot"]),
            "seed": rng.randrange(1 << 30)}
    if kind == "clock-jump":
        jump = rng.choice([90, 600, 3600, 86400]) * rng.choice([-1, 1])
        return hold, {"nodes": [rng.randrange(total)], "seconds": jump}
    return hold, {}


class Nemesis:
    """Injects and heals Faults on one cluster."""

    def __init__(self, clu, firewall, shaper, shim, delayer=None):
        self.cluster = clu
        self.firewall = firewall
        self.shaper = shaper
        self.shim = shim
        self.delayer = delayer
        self.counts = {}
        self.notes = []  # what healing had to do (wipes), for the report
        self.crashes = []  # nodes that exited on their own, with logs
        self.disk_hit = set()  # indexes of nodes given a disk fault

    def _nodes(self, fault):
        return [self.cluster.nodes[i] for i in fault.params.get("nodes", [])]

    def _leader(self, fault):
        leader = self.cluster.leader()
        fault.done = "leader n%d" % leader.myid if leader else "no leader"
        return [leader] if leader else []

    def inject(self, fault):
        kind = fault.kind
        nodes = self.cluster.nodes
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "kill-leader":
            fault.targets = self._leader(fault)
        elif kind == "kill-all":
            fault.targets = list(nodes)
        else:
            fault.targets = self._nodes(fault)
        if kind in NEEDS_SHIM:
            self.disk_hit.update(n.index for n in fault.targets)
        if kind.startswith("kill"):
            for n in fault.targets:
                n.kill9()
        elif kind == "pause-leader":
            fault.targets = self._leader(fault)
            for n in fault.targets:
                n.pause()
        elif kind == "pause-node":
            for n in fault.targets:
                n.pause()
        elif kind == "partition-halves":
            side = set(fault.params["nodes"])
            for a in range(len(nodes)):
                for b in range(a + 1, len(nodes)):
                    if (a in side) != (b in side):
                        self.firewall.cut_both(nodes[a].host, nodes[b].host)
        elif kind == "partition-leader":
            fault.targets = self._leader(fault)
            for leader in fault.targets:
                for n in nodes:
                    if n is not leader:
                        self.firewall.cut_both(leader.host, n.host)
        elif kind == "partition-leader-slow":
            fault.targets = self._leader(fault)
            for leader in fault.targets:
                for n in nodes:
                    if n is not leader:
                        self.firewall.cut_both(leader.host, n.host)
            self.shaper.slow([n.host for n in nodes
                              if n not in fault.targets],
                             fault.params["rate"], 50)
        elif kind == "partition-bridge":
            line = fault.params["line"]
            k = (len(line) - 1) // 2
            for a in line[:k]:
                for b in line[k + 1:]:
                    self.firewall.cut_both(nodes[a].host, nodes[b].host)
        elif kind == "loss":
            for a in nodes:
                for b in nodes:
                    if a is not b:
                        self.firewall.lose(a.host, b.host, fault.params["p"])
        elif kind == "slow":
            self.shaper.slow([n.host for n in fault.targets],
                             fault.params["rate"], 20)
        elif kind == "partition-leader-inflight":
            self._delay_all(fault.params["delay_ms"], 0, 0.0,
                            fault.params["seed"])
            time.sleep(fault.params["lead"])
            fault.targets = self._leader(fault)
            for leader in fault.targets:
                for n in nodes:
                    if n is not leader:
                        self.firewall.cut_both(leader.host, n.host,
                                               first=True)
            self.delayer.drop_held()
        elif kind in NEEDS_NETDELAY:
            p = fault.params
            self._delay_all(p["delay_ms"], p["jitter_ms"], p["reorder"],
                            p["seed"])
        elif kind in ("disk-fsync", "disk-short-write", "disk-enospc"):
            field = {"disk-fsync": "fail_fsync",
                     "disk-short-write": "short_write",
                     "disk-enospc": "fail_write"}[kind]
            for n in fault.targets:
                self.shim.arm(n, field, fault.params["count"])
        elif kind in ("powerloss", "powerloss-all"):
            if kind == "powerloss-all":
                fault.targets = list(nodes)
            for n in fault.targets:
                self.shim.stall_syncs(n, STALL_MS)
            time.sleep(fault.params["stall"])
            stalled = sum(self.shim.stalled(n) for n in fault.targets)
            self.cluster.kill_all(fault.targets)
            fault.done = "cut inside %d stalled syncs" % stalled
            for n in fault.targets:
                self.shim.power_loss(n, fault.params["mode"],
                                     fault.params["seed"] + n.myid)
        elif kind == "bitflip":
            for n in fault.targets:
                n.kill9()
                fault.done = self.shim.flip(n, fault.params["what"],
                                            fault.params["seed"])[:120]
        elif kind == "clock-jump":
            for n in fault.targets:
                self.shim.set_clock(n, fault.params["seconds"] * 10 ** 9)
        else:
            raise ValueError("unknown fault kind %r" % kind)

    def _delay_all(self, delay_ms, jitter_ms, reorder, seed):
        """Every packet from one node to another through netdelay."""
        self.delayer.start(delay_ms, jitter_ms, reorder, seed)
        for a in self.cluster.nodes:
            for b in self.cluster.nodes:
                if a is not b:
                    self.firewall.delay(a.host, b.host, self.delayer.queue)

    def deposed_nodes(self, fault):
        """myids on which a deposed leader (or a follower still loyal to
        one) may answer during `fault`: None means any node."""
        if fault.kind in ("pause-leader", "pause-node", "partition-leader",
                          "partition-leader-slow",
                          "partition-leader-inflight"):
            return {n.myid for n in fault.targets}
        if fault.kind == "partition-halves":
            return {i + 1 for i in fault.params["nodes"]}
        return None

    def heal(self, fault):
        kind = fault.kind
        targets = getattr(fault, "targets", [])
        if kind.startswith("pause"):
            for n in targets:
                n.resume()
        elif kind in NETWORK:
            try:
                self.firewall.heal()
                self.shaper.heal()
            finally:
                if self.delayer is not None:
                    self.delayer.stop()
                    if kind in NEEDS_NETDELAY:
                        fault.done = ((fault.done + "; ") if fault.done
                                      else "") + self.delayer.last.replace(
                            "netdelay: ", "")
        elif kind in NEEDS_SHIM:
            for n in targets:
                if kind.startswith("disk-"):
                    hit = {k: v for k, v in self.shim.injected(n).items()
                           if v}
                    fault.done = "n%d: injected %s" % (n.myid, hit or "none")
                self.shim.heal(n)
        self.restart_dead()

    def heal_all(self, restart=True):
        """Undoes every fault; restarts dead nodes unless not restart (the
        episode is over)."""
        if self.delayer is not None:
            self.delayer.stop()
        for n in self.cluster.nodes:
            n.resume()
            if self.shim is not None:
                self.shim.heal(n)
        if self.firewall is not None:
            self.firewall.heal()
        if self.shaper is not None:
            self.shaper.heal()
        if restart:
            self.restart_dead()

    def restart_dead(self):
        """Starts every node that is not running.  A node we killed, or
        one that stopped itself (exit 2) after a disk fault it was given,
        is expected; any other exit is recorded in `crashes`."""
        for n in self.cluster.nodes:
            if n.alive():
                continue
            rc = n.proc.returncode if n.proc is not None else None
            expected = rc in (None, -9) or (
                rc == 2 and n.index in self.disk_hit)
            if not expected:
                self.crashes.append("n%d exited with status %s:\n%s" %
                                    (n.myid, rc, n.log_tail(15)))
            n.start()

    def settle_refusals(self, disk_minority, wait_s=1.5):
        """Nodes that exited again right after a restart.  A node of the
        disk minority whose log says it refused corrupt files is wiped and
        restarted (noted); every other exit is recorded in `crashes`."""
        time.sleep(wait_s)
        for n in self.cluster.nodes:
            if n.alive():
                continue
            tail = n.log_tail(12)
            if n.index in disk_minority and (
                    "corrupt" in tail.lower() or "bad record" in tail):
                self.notes.append("n%d refused corrupt files; wiped" %
                                  n.myid)
                self.counts["wiped"] = self.counts.get("wiped", 0) + 1
                n.wipe()
                n.start()
            else:
                self.crashes.append("n%d exited with status %s after a"
                                    " restart:\n%s" % (
                                        n.myid, n.proc.returncode, tail))
                n.start()
