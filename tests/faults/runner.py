#!/usr/bin/python3
"""The fault runner: seeded episodes of workloads under faults against a
real zabfs ensemble, checked, with a summary table (README.md is the
user's guide).

Design
  Episode E of a run with seed S is fully determined, as far as the
  runner's choices go, by (S, E, the ensemble shape): its schedule and its
  workers' choices come from random.Random("S/E").  Episode E uses
  --nodes[E mod len] voters and --observers[(E div len(nodes)) mod len]
  observers.  So `--seed S --start-episode E --episodes 1` (with the same
  --nodes, --observers, --faults and --duration) reruns exactly that
  episode's schedule.

  Root-only faults (partitions, loss and slow links: iptables and tc;
  delay and reordering: iptables and zabfs_netdelay), shim faults (disk
  and clock: libzabfs_faultshim.so and powerloss) are used when
  available (the built tools are looked for next to --bin, or in
  --shim-dir); with the default
  --faults all, unavailable kinds are left out and the run says so, while
  asking for one explicitly is an error.

  A failed episode prints its seed, episode, shape and schedule, the
  anomalies, the command that reruns it and the directory kept with its
  logs.  The run ends with the summary table and exits 1 if any episode
  had an anomaly (or the runner failed), 0 otherwise; --summary FILE also
  writes the summary as JSON.

Invariants
  1. Every episode is bounded by --deadline seconds (the watchdog kills
     the ensemble; the episode is then an anomaly "stuck").
  2. The firewall chain, the shaper and the netdelay process are removed
     when the run ends, on success, failure or interruption.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat"))
sys.path.insert(0, HERE)

import diskfaults  # noqa: E402
import episode  # noqa: E402
import nemesis  # noqa: E402
import netfaults  # noqa: E402


def int_list(text):
    return [int(v) for v in text.split(",")]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int_list, default=[3],
                   help="voters per episode, e.g. 3 or 3,5 (alternating)")
    p.add_argument("--observers", type=int_list, default=[0],
                   help="observers per episode, e.g. 0 or 0,1")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--start-episode", type=int, default=0)
    p.add_argument("--seed", default=str(int(time.time())))
    p.add_argument("--duration", type=float, default=12.0,
                   help="seconds of workload per episode")
    p.add_argument("--deadline", type=float, default=0,
                   help="seconds an episode may take in all (default:"
                   " duration * 3 + 150)")
    p.add_argument("--faults", default="all",
                   help="comma-separated kinds, or all; kinds: " +
                   ", ".join(nemesis.ALL))
    p.add_argument("--keys", type=int, default=4,
                   help="register keys")
    p.add_argument("--bin", default=os.path.join(HERE, "..", "..",
                                                 "build-run", "zabfs"))
    p.add_argument("--shim-dir", default=None,
                   help="build directory holding libzabfs_faultshim.so,"
                   " powerloss and zabfs_netdelay (default: the one of"
                   " --bin)")
    p.add_argument("--net", default="127.0.0",
                   help="first three octets of the node addresses")
    p.add_argument("--base", type=int, default=10,
                   help="node i gets address NET.(BASE+i)")
    p.add_argument("--max-minutes", type=float, default=0,
                   help="start no episode after this many minutes (0: no"
                   " limit); the run ends with its summary as usual")
    p.add_argument("--summary", default=None,
                   help="also write the summary as JSON here")
    p.add_argument("--stop-on-anomaly", action="store_true",
                   help="end the run after the first episode with one")
    p.add_argument("--keep", action="store_true",
                   help="keep every episode's directory")
    args = p.parse_args(argv)
    if args.deadline <= 0:
        args.deadline = args.duration * 3 + 150
    return args


class Config:
    """What every episode shares: binary, kinds, fault machinery."""

    def __init__(self, args):
        self.binary = os.path.abspath(args.bin)
        if not os.access(self.binary, os.X_OK):
            raise SystemExit("no zabfs binary at %s (--bin)" % self.binary)
        self.duration = args.duration
        self.deadline = args.deadline
        self.keys = args.keys
        self.net = args.net
        self.base = args.base
        self.keep = args.keep
        self.skipped = []
        wanted = nemesis.ALL if args.faults == "all" else \
            [k for k in args.faults.split(",") if k]
        unknown = [k for k in wanted if k not in nemesis.ALL]
        if unknown:
            raise SystemExit("unknown fault kinds: %s" % ", ".join(unknown))
        tools = args.shim_dir or os.path.dirname(self.binary)
        self.shim = diskfaults.Shim.found(tools)
        self.delayer = netfaults.Delayer.found(
            tools, netfaults.queue_for(args.net, args.base))
        no_net = netfaults.available() if os.geteuid() == 0 else "not root"
        self.kinds = []
        for k in wanted:
            why = None
            if k in nemesis.NEEDS_SHIM and self.shim is None:
                why = "no fault shim built (target zabfs_faultshim)"
            elif k in nemesis.NEEDS_ROOT_NET and no_net:
                why = no_net
            elif k in nemesis.NEEDS_NETDELAY and self.delayer is None:
                why = "no netdelay built (target zabfs_netdelay, needs" \
                    " libnetfilter-queue-dev)"
            if why and args.faults != "all":
                raise SystemExit("fault %s cannot run: %s" % (k, why))
            if why:
                self.skipped.append("%s (%s)" % (k, why))
            else:
                self.kinds.append(k)
        if not self.kinds:
            raise SystemExit("no fault kind can run here")
        suffix = "" if (args.net, args.base) == ("127.0.0", 10) else \
            "_%s_%d" % (args.net.replace(".", "_"), args.base)
        self.firewall = None if no_net else netfaults.Firewall(suffix)
        self.shaper = None if no_net else netfaults.Shaper()

    def close(self):
        if self.delayer is not None:
            self.delayer.stop(check=False)
        if self.shaper is not None:
            self.shaper.heal()
        if self.firewall is not None:
            self.firewall.close()


class Summary:
    def __init__(self):
        self.episodes = 0
        self.failed = []
        self.ops = {}
        self.faults = {}
        self.anomalies = {}
        self.notes = 0
        self.seconds = 0.0

    def add(self, ep, seconds):
        self.episodes += 1
        self.seconds += seconds
        for (workload, status), n in ep.counts.items():
            self.ops.setdefault(workload, {}).setdefault(status, 0)
            self.ops[workload][status] += n
        for kind, n in ep.fault_counts.items():
            self.faults[kind] = self.faults.get(kind, 0) + n
        for checker, found in ep.anomalies.items():
            self.anomalies[checker] = self.anomalies.get(checker, 0) + \
                len(found)
        self.notes += len(ep.notes)
        if ep.anomalies:
            self.failed.append(ep.index)

    def table(self, seed, skipped):
        lines = ["", "==== fault run summary (seed %s) ====" % seed,
                 "episodes      %d (%d with anomalies), %.0f s" % (
                     self.episodes, len(self.failed), self.seconds)]
        lines.append("operations    %-12s %8s %8s %8s" % ("", "ok", "fail",
                                                          "info"))
        for w in sorted(self.ops):
            c = self.ops[w]
            lines.append("              %-12s %8d %8d %8d" % (
                w, c.get("ok", 0), c.get("fail", 0), c.get("info", 0)) +
                ("  (+%d closed)" % c["closed"] if "closed" in c else ""))
        lines.append("faults        " + ", ".join(
            "%s %d" % kv for kv in sorted(self.faults.items())))
        if skipped:
            lines.append("not available " + "; ".join(skipped))
        lines.append("anomalies     " + (", ".join(
            "%s %d" % kv for kv in sorted(self.anomalies.items())) or
            "none"))
        if self.failed:
            lines.append("failed episodes: %s" % self.failed)
        return "\n".join(lines)

    def json(self, seed, skipped):
        return {"seed": seed, "episodes": self.episodes,
                "failed_episodes": self.failed, "operations": self.ops,
                "faults": self.faults, "anomalies": self.anomalies,
                "notes": self.notes, "seconds": round(self.seconds, 1),
                "not_available": skipped}


def rerun_command(args, index):
    return ("tests/faults/runner.py --seed %s --start-episode %d"
            " --episodes 1 --nodes %s --observers %s --duration %g"
            " --faults %s --bin %s" % (
                args.seed, index, ",".join(map(str, args.nodes)),
                ",".join(map(str, args.observers)), args.duration,
                args.faults, args.bin))


def report(ep, args):
    print("\n!!!! ANOMALY in %s" % ep.header())
    print("schedule:\n%s" % ep.schedule_text())
    for checker, found in sorted(ep.anomalies.items()):
        for m in found[:5]:
            text = m if len(m) < 4000 else m[:4000] + "\n  ...(cut)"
            print("[%s] %s" % (checker, text))
        if len(found) > 5:
            print("[%s] ... and %d more" % (checker, len(found) - 5))
    print("rerun: %s" % rerun_command(args, ep.index))
    print("kept: %s" % ep.dir, flush=True)


def main(argv):
    args = parse_args(argv)
    cfg = Config(args)
    summary = Summary()
    print("fault run: seed %s, episodes %d..%d, nodes %s, observers %s,"
          " %g s each; faults: %s" % (
              args.seed, args.start_episode,
              args.start_episode + args.episodes - 1, args.nodes,
              args.observers, args.duration, ", ".join(cfg.kinds)),
          flush=True)
    for s in cfg.skipped:
        print("not available: %s" % s)
    run_started = time.monotonic()
    try:
        for index in range(args.start_episode,
                           args.start_episode + args.episodes):
            if args.max_minutes and (time.monotonic() - run_started >
                                     args.max_minutes * 60):
                print("time budget of %g minutes spent: episodes from %d"
                      " not run" % (args.max_minutes, index), flush=True)
                break
            voters = args.nodes[index % len(args.nodes)]
            observers = args.observers[(index // len(args.nodes)) %
                                       len(args.observers)]
            ep = episode.Episode(cfg, args.seed, index, voters, observers)
            started = time.monotonic()
            ep.run()
            took = time.monotonic() - started
            summary.add(ep, took)
            ops = sum(n for (w, s), n in ep.counts.items()
                      if s in ("ok", "fail", "info"))
            print("episode %d: %d+%d nodes, %d faults, %d ops, %.0f s: %s%s"
                  % (index, voters, observers, len(ep.schedule), ops, took,
                     "ANOMALY" if ep.anomalies else "ok",
                     "" if not ep.notes else "  (" + "; ".join(
                         n.splitlines()[0] for n in ep.notes) + ")"),
                  flush=True)
            if ep.anomalies:
                report(ep, args)
                if args.stop_on_anomaly:
                    break
    finally:
        cfg.close()
    print(summary.table(args.seed, cfg.skipped))
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary.json(args.seed, cfg.skipped), f, indent=1)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
