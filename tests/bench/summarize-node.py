#!/usr/bin/env python3
"""Turns the raw lines of run-node-bench.sh into a markdown table of zabfs
vs ZooKeeper with ratios (zabfs / ZooKeeper for throughput and memory,
the other way round where lower is better is stated in the header)."""
import re
import sys


def fields(line):
    return dict(re.findall(r"(\w+)=([^\s]+)", line))


def main(path):
    load, rss, restart, fill, fsync = {}, {}, {}, {}, None
    for line in open(path):
        f = fields(line)
        t = f.get("target")
        if line.startswith("fsynclat"):
            fsync = f
        elif "zkload" in line and t:
            key = (f["op"], f["conns"] + "x" + f["depth"])
            load.setdefault(key, {})[t] = f
        elif "rss_kb_after" in f:
            rss[t] = int(f["rss_kb_after"])
        elif "restart_s" in f:
            restart[t] = float(f["restart_s"])
        elif line.startswith("target=") and "zkfill" in line:
            fill[t] = f
    print("| op | sessions x depth | ZooKeeper ops/s | zabfs ops/s | ratio | "
          "ZooKeeper p50/p99 us | zabfs p50/p99 us | p99 ratio (zabfs/ZK) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (op, shape), by in sorted(load.items()):
        zk, zb = by.get("zookeeper"), by.get("zabfs")
        if not zk or not zb:
            continue
        ops_zk, ops_zb = float(zk["ops_per_s"]), float(zb["ops_per_s"])
        print(f"| {op} | {shape} | {ops_zk:,.0f} | {ops_zb:,.0f} | "
              f"{ops_zb / ops_zk:.2f}x | {zk['p50_us']}/{zk['p99_us']} | "
              f"{zb['p50_us']}/{zb['p99_us']} | "
              f"{float(zb['p99_us']) / float(zk['p99_us']):.2f} |")
    if fsync:
        print(f"\nDisk write+fdatasync (fsynclat, prealloc, 64 B): "
              f"p50 {fsync.get('p50_us')} us, p99 {fsync.get('p99_us')} us.")
        zb = load.get(("set", "1x1"), {}).get("zabfs")
        if zb:
            print(f"zabfs set at 1x1: p50 {zb['p50_us']} us = "
                  f"{float(zb['p50_us']) / float(fsync['p50_us']):.2f}x the "
                  f"fsync p50.")
    if rss.get("zookeeper") and rss.get("zabfs"):
        print(f"\nRSS after the fill: ZooKeeper {rss['zookeeper'] / 1024:,.0f} MiB, "
              f"zabfs {rss['zabfs'] / 1024:,.0f} MiB "
              f"(zabfs/ZooKeeper = {rss['zabfs'] / rss['zookeeper']:.2f}).")
    if restart.get("zookeeper") and restart.get("zabfs"):
        print(f"Restart until the whole tree is served: ZooKeeper "
              f"{restart['zookeeper']:.2f} s, zabfs {restart['zabfs']:.2f} s "
              f"(zabfs/ZooKeeper = {restart['zabfs'] / restart['zookeeper']:.2f}).")


if __name__ == "__main__":
    main(sys.argv[1])
