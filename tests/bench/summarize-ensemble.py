#!/usr/bin/env python3
"""Turns the raw lines of run-ensemble-bench.sh into markdown tables of a
3-node zabfs ensemble vs a 3-node ZooKeeper ensemble: zkload throughput
and latency per cell, and the failover time (SIGKILL of the leader to the
next successful write through a follower).  The targets of issue #4 are
printed next to the ratios ("met" or "not met"); nothing here fails on a
timing.

Design
    Lines are key=value words.  Load lines carry cell=OP/CONNSxDEPTH (put
    there by the script, so a cell whose tool printed nothing still has a
    line and shows as "failed").  Failover lines carry
    "failover": ms is a number, "timeout" (counted as longer than any
    sample, so a timeout makes the percentiles it reaches "timeout"), or
    "none" (no write before the kill: not a sample, counted as skipped).

Invariants
    1. Percentiles are nearest-rank over the samples (the ceil(q*n)-th
       smallest), so with fewer than 100 samples p99 is the maximum; the
       table says so.
    2. A ratio or verdict is printed only when both sides have a number.
"""
import math
import re
import sys

THROUGHPUT_TARGET = 2.0    # zabfs ops/s over ZooKeeper's, at least
FAILOVER_P99_TARGET = 0.5  # zabfs failover p99 over ZooKeeper's, at most
TARGETS = ("zookeeper", "zabfs")


def fields(line):
    return dict(re.findall(r"(\w+)=([^\s]+)", line))


def verdict(ok):
    return "met" if ok else "not met"


def percentile(samples, q):
    """Nearest rank; samples sorted, inf for a timeout."""
    return samples[max(0, math.ceil(q * len(samples)) - 1)]


def fmt_ms(v):
    return "timeout" if math.isinf(v) else f"{v:,.0f}"


def load_table(load):
    print("### Throughput and latency (zkload, 64-byte values, sessions "
          "spread over the 3 nodes, followers first)\n")
    print("| op | sessions x depth | ZooKeeper ops/s | zabfs ops/s | "
          f"ratio zabfs/ZK | target (>= {THROUGHPUT_TARGET:g}x) | "
          "ZooKeeper p50/p99 us | zabfs p50/p99 us |")
    print("|---|---|---:|---:|---:|---|---:|---:|")
    for (op, shape), by in load.items():
        cells = []
        for t in TARGETS:
            f = by.get(t)
            cells.append(f if f and "ops_per_s" in f else None)
        zk, zb = cells
        ops = [f"{float(f['ops_per_s']):,.0f}" if f else "failed"
               for f in cells]
        lat = [f"{f['p50_us']}/{f['p99_us']}" if f else "-" for f in cells]
        if zk and zb and float(zk["ops_per_s"]) > 0:
            r = float(zb["ops_per_s"]) / float(zk["ops_per_s"])
            ratio, v = f"{r:.2f}x", verdict(r >= THROUGHPUT_TARGET)
        else:
            ratio, v = "-", "-"
        print(f"| {op} | {shape} | {ops[0]} | {ops[1]} | {ratio} | {v} | "
              f"{lat[0]} | {lat[1]} |")


def failover_table(fo, skipped, rejoin, stopped):
    print("\n### Failover: SIGKILL of the leader -> next successful write "
          "through a follower (ms)\n")
    stats = {}
    for t in TARGETS:
        s = sorted(fo.get(t, []))
        if s:
            stats[t] = (len(s), percentile(s, 0.5), percentile(s, 0.99),
                        s[-1])
    print("| ensemble | samples | p50 ms | p99 ms | max ms | skipped | "
          "rejoin of the killed node p50 s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in TARGETS:
        rj = sorted(rejoin.get(t, []))
        rj_s = f"{percentile(rj, 0.5):.2f}" if rj else "-"
        if t in stats:
            n, p50, p99, mx = stats[t]
            print(f"| {t} | {n} | {fmt_ms(p50)} | {fmt_ms(p99)} | "
                  f"{fmt_ms(mx)} | {skipped.get(t, 0)} | {rj_s} |")
        else:
            print(f"| {t} | 0 | - | - | - | {skipped.get(t, 0)} | {rj_s} |")
    if "zookeeper" in stats and "zabfs" in stats:
        zk_p99, zb_p99 = stats["zookeeper"][2], stats["zabfs"][2]
        if math.isinf(zk_p99) or math.isinf(zb_p99) or zk_p99 <= 0:
            ratio, v = "-", ("not met" if math.isinf(zb_p99) else "-")
        else:
            r = zb_p99 / zk_p99
            ratio, v = f"{r:.2f}", verdict(r <= FAILOVER_P99_TARGET)
        print(f"\nFailover p99 zabfs/ZooKeeper: {ratio} (target <= "
              f"{FAILOVER_P99_TARGET:g}): {v}.")
    if any(stats[t][0] < 100 for t in stats):
        print("With fewer than 100 samples, p99 (nearest rank) is the "
              "largest sample.")
    for t, at in stopped.items():
        print(f"{t}: failover runs stopped at kill {at} (the ensemble did "
              "not serve again; see the raw lines).")


def main(path):
    load, fo, skipped, rejoin, stopped = {}, {}, {}, {}, {}
    for line in open(path):
        f = fields(line)
        t = f.get("target")
        if t not in TARGETS:
            continue
        if "cell" in f:
            op, shape = f["cell"].split("/")
            load.setdefault((op, shape), {})[t] = f
        elif "failover" in line.split() and "ms" in f:
            if f["ms"] == "none":
                skipped[t] = skipped.get(t, 0) + 1
            elif f["ms"] == "timeout":
                fo.setdefault(t, []).append(math.inf)
            else:
                fo.setdefault(t, []).append(float(f["ms"]))
        elif "rejoin_s" in f:
            rejoin.setdefault(t, []).append(float(f["rejoin_s"]))
        elif "failover_stopped_at" in f:
            stopped[t] = f["failover_stopped_at"]
        elif "kill" in f:
            skipped[t] = skipped.get(t, 0) + 1   # the probe printed nothing
    load_table(load)
    failover_table(fo, skipped, rejoin, stopped)


if __name__ == "__main__":
    main(sys.argv[1])
