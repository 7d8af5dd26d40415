#!/usr/bin/python3
"""event-delay.py - how long after a ZooKeeper client changes a znode a
program watching the file on the mount hears of it: the delay from a kazoo
set() to the IN_MODIFY inotify event on that file.

    event-delay.py HOST:PORT MOUNT ZPATH [N [WARMUP]]

Connects kazoo (python3-kazoo) to HOST:PORT, makes ZPATH a znode of 64
bytes, waits until MOUNT+ZPATH shows as a regular file, watches it with
inotify (IN_MODIFY, through ctypes: inotify_init1, inotify_add_watch, read
on the descriptor after select), then does WARMUP (default 10) unmeasured
and N (default 300) measured sets, one at a time, and prints one line:

    event_delay path=P n=N events=E missed=M stale=S extra=X p50_ms=..
    p90_ms=.. p99_ms=.. max_ms=.. set_p50_ms=.. set_p99_ms=.. hosts=H

Design
    Each set is sent with set_async() and the event is awaited at once with
    select(), so the event's time is taken when it arrives, even before the
    set's reply.  The delay is from the call of set_async() to the return
    of select(): it includes the commit (fsync) of the set, as a watcher
    sees it.  set_*_ms is the set's own round trip (from the call to the
    reply, stamped by a kazoo completion callback), to tell the two apart.

Invariants
    1. One set at a time: the next set starts only after the previous one
       was answered and its event was read (or given up on), and events
       left over are drained and counted in extra, so an event is never
       credited to the wrong set.
    2. Each set writes a value no earlier set wrote; on the event the file
       is read, and an event after which the file does not hold that value
       counts in stale (the mount promises the change is visible at the
       event).  Delays are those of the E events, stale ones included.
    3. Bounded: an event not seen within 2 s counts in missed; the run
       stops after 120 s whatever happens.  Exit 0 when every measured set
       gave a fresh event.
"""
import ctypes
import math
import os
import select
import struct
import sys
import threading
import time

from kazoo.client import KazooClient

IN_MODIFY = 0x00000002
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
EVENT_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then name
EVENT_TIMEOUT_S = 2.0
RUN_TIMEOUT_S = 120.0
FILE_TIMEOUT_S = 5.0

libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.inotify_init1.argtypes = [ctypes.c_int]
libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]


def inotify_watch(path, mask):
    fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, "inotify_init1: " + os.strerror(err))
    if libc.inotify_add_watch(fd, path.encode(), mask) < 0:
        err = ctypes.get_errno()
        raise OSError(err, "inotify_add_watch %s: %s" % (path, os.strerror(err)))
    return fd


def read_masks(fd):
    """The masks of the events queued on fd (none if the queue is empty)."""
    try:
        buf = os.read(fd, 65536)
    except BlockingIOError:
        return []
    masks, off = [], 0
    while off + EVENT_HEADER.size <= len(buf):
        _, mask, _, name_len = EVENT_HEADER.unpack_from(buf, off)
        masks.append(mask)
        off += EVENT_HEADER.size + name_len
    return masks


def wait_modify(fd, deadline):
    """The time an IN_MODIFY arrived on fd, or None at the deadline."""
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        stamp = time.perf_counter()
        if ready and any(m & IN_MODIFY for m in read_masks(fd)):
            return stamp


def wait_regular_file(path, timeout):
    give_up = time.monotonic() + timeout
    while not os.path.isfile(path):
        if time.monotonic() > give_up:
            raise SystemExit("event-delay: %s did not appear as a file" % path)
        time.sleep(0.01)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def main():
    if len(sys.argv) < 4:
        raise SystemExit("usage: event-delay.py HOST:PORT MOUNT ZPATH [N [WARMUP]]")
    hosts, mount, zpath = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    warmup = int(sys.argv[5]) if len(sys.argv) > 5 else 10
    fpath = mount.rstrip("/") + zpath
    run_deadline = time.perf_counter() + RUN_TIMEOUT_S

    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=10)
    value = b"0" * 64
    if zk.exists(zpath):
        zk.set(zpath, value)
    else:
        zk.create(zpath, value, makepath=True)
    wait_regular_file(fpath, FILE_TIMEOUT_S)
    fd = inotify_watch(fpath, IN_MODIFY)

    delays, set_rtts = [], []
    missed = stale = extra = 0
    for i in range(1, warmup + n + 1):
        if time.perf_counter() > run_deadline:
            print("event-delay: run time limit reached", file=sys.stderr)
            break
        measured = i > warmup
        value = b"%064d" % i
        replied = threading.Event()
        reply_at = []

        def on_reply(_result, stamps=reply_at, done=replied):
            stamps.append(time.perf_counter())
            done.set()

        t0 = time.perf_counter()
        result = zk.set_async(zpath, value)
        result.rawlink(on_reply)
        event_at = wait_modify(fd, t0 + EVENT_TIMEOUT_S)
        content = read_file(fpath) if event_at is not None else None
        result.get(timeout=EVENT_TIMEOUT_S)
        replied.wait(EVENT_TIMEOUT_S)
        extra_now = sum(1 for m in read_masks(fd) if m & IN_MODIFY)
        if not measured:
            continue
        extra += extra_now
        if reply_at:
            set_rtts.append(reply_at[0] - t0)
        if event_at is None:
            missed += 1
            continue
        delays.append(event_at - t0)
        if content != value:
            stale += 1
    os.close(fd)
    zk.stop()
    zk.close()

    delays.sort()
    set_rtts.sort()
    ms = lambda v: "%.3f" % (v * 1e3)
    print("event_delay path=%s n=%d events=%d missed=%d stale=%d extra=%d "
          "p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s set_p50_ms=%s set_p99_ms=%s "
          "hosts=%s" % (zpath, n, len(delays), missed, stale, extra,
                        ms(percentile(delays, 0.5)), ms(percentile(delays, 0.9)),
                        ms(percentile(delays, 0.99)),
                        ms(delays[-1] if delays else 0.0),
                        ms(percentile(set_rtts, 0.5)),
                        ms(percentile(set_rtts, 0.99)), hosts))
    sys.exit(0 if len(delays) == n and not stale else 1)


if __name__ == "__main__":
    main()
