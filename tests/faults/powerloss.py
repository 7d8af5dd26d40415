#!/usr/bin/env python3
"""powerloss - what a power cut does to a killed node's files, from the
fault shim's journal (faultshim.c); and bit flips in its log or snapshots.

    powerloss JOURNAL DATADIR --seed N --mode drop|torn|keep
    powerloss --flip DATADIR --seed N --what log|snapshot

Design
  The journal holds, per data file, a WRITE record before each change
  (the old bytes of the range and the old size) and a SYNC record after
  each successful fsync.  Records after a file's last SYNC are what the
  disk may not hold.  drop reverts all of them, newest first; torn keeps a
  seeded number of them (the oldest, in order) and, of the first one it
  reverts, keeps a seeded prefix of the new bytes (a torn write); keep
  reverts nothing (what kill -9 alone does).  Then the journal is emptied.
  A RENAME record moves a file's pending writes to its new name.  Only
  files under DATADIR are touched; a trailing partial record is ignored.

  --flip picks, with the seed, one log segment (log.*) or snapshot
  (snapshot.*) in DATADIR and flips one bit in its written part (up to the
  last non-zero byte: log segments are preallocated with zeros).

Invariants
  1. The same journal, files and seed give the same result.
  2. One line on stdout says what was done; exit 1 on bad arguments.
"""

import argparse
import os
import random
import struct
import sys

MAGIC = 0x5A464A52
WRITE, SYNC, RENAME = 1, 2, 3
HEAD = struct.Struct("=IIIIQQ")


def read_journal(path):
    """[(kind, path, offset, old bytes, old size)], in order."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out, at = [], 0
    while at + HEAD.size <= len(data):
        magic, kind, plen, olen, off, size = HEAD.unpack_from(data, at)
        end = at + HEAD.size + plen + olen
        if magic != MAGIC or end > len(data):
            break
        p = data[at + HEAD.size:at + HEAD.size + plen].decode(
            "utf-8", "surrogateescape")
        out.append((kind, p, off, data[at + HEAD.size + plen:end], size))
        at = end
    return out


def unsynced(records, datadir):
    """{path: [WRITE records after its last SYNC]} under datadir."""
    pending = {}
    root = os.path.realpath(datadir) + os.sep
    for kind, p, off, old, size in records:
        if not p.startswith(root):
            continue
        if kind == RENAME:
            new = old.decode("utf-8", "surrogateescape")
            pending[new] = pending.pop(p, [])
        elif kind == SYNC:
            pending[p] = []
        elif kind == WRITE:
            pending.setdefault(p, []).append((off, old, size))
    return {p: w for p, w in pending.items() if w}


def revert(path, writes, keep_from=0):
    """Undoes writes (newest first); the oldest one undone keeps its first
    keep_from new bytes."""
    if not os.path.exists(path):
        return 0
    with open(path, "r+b") as f:
        for i, (off, old, size) in enumerate(reversed(writes)):
            last = i == len(writes) - 1
            skip = min(keep_from, len(old)) if last else 0
            if len(old) > skip:
                f.seek(off + skip)
                f.write(old[skip:])
            f.seek(0, os.SEEK_END)
            floor = max(size, off + skip) if skip else size
            if f.tell() > floor:
                f.truncate(floor)
    return len(writes)


def power_loss(args):
    rng = random.Random("%s/%s" % (args.seed, args.mode))
    pending = unsynced(read_journal(args.journal), args.datadir)
    done = []
    for path in sorted(pending):
        writes = pending[path]
        if args.mode == "keep":
            continue
        if args.mode == "drop":
            n = revert(path, writes)
            done.append("%s: %d dropped" % (os.path.basename(path), n))
            continue
        kept = rng.randrange(len(writes) + 1)
        lost = writes[kept:]
        if not lost:
            continue
        tear = rng.randrange(len(lost[0][1]) + 1) if lost[0][1] else 0
        n = revert(path, lost, keep_from=tear)
        done.append("%s: %d kept, %d lost (first torn after %d bytes)"
                    % (os.path.basename(path), kept, n, tear))
    open(args.journal, "wb").close()
    print("powerloss %s: %s" % (args.mode, "; ".join(done) or
                                "nothing un-synced"))


def flip(args):
    rng = random.Random("%s/flip/%s" % (args.seed, args.what))
    prefix = "log." if args.what == "log" else "snapshot."
    names = sorted(n for n in os.listdir(args.flip)
                   if n.startswith(prefix) and not n.endswith(".tmp"))
    candidates = []
    for n in names:
        with open(os.path.join(args.flip, n), "rb") as f:
            data = f.read()
        last = len(data.rstrip(b"\0"))
        if last:
            candidates.append((n, last))
    if not candidates:
        print("flip: no %s file with data in %s" % (args.what, args.flip))
        return
    name, last = candidates[rng.randrange(len(candidates))]
    off, bit = rng.randrange(last), rng.randrange(8)
    with open(os.path.join(args.flip, name), "r+b") as f:
        f.seek(off)
        b = f.read(1)[0] ^ (1 << bit)
        f.seek(off)
        f.write(bytes([b]))
    print("flip: %s byte %d bit %d" % (name, off, bit))


def main():
    ap = argparse.ArgumentParser(prog="powerloss")
    ap.add_argument("journal", nargs="?")
    ap.add_argument("datadir", nargs="?")
    ap.add_argument("--seed", required=True)
    ap.add_argument("--mode", choices=("drop", "torn", "keep"))
    ap.add_argument("--flip", metavar="DATADIR")
    ap.add_argument("--what", choices=("log", "snapshot"), default="log")
    args = ap.parse_args()
    if args.flip:
        flip(args)
    elif args.journal and args.datadir and args.mode:
        power_loss(args)
    else:
        ap.error("JOURNAL DATADIR --mode, or --flip DATADIR")


if __name__ == "__main__":
    sys.exit(main())
