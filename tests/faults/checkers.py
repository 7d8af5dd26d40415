"""The checkers of an episode: each takes what the workloads recorded and
the final state read from every node, and returns anomalies.

Design
  Each check_* returns a list of strings, one per anomaly (empty: none
  found).  What each one checks (README.md says why that is the guarantee
  zabfs gives):

  linearizable   the register writes and compare-and-sets of the whole
                 history, per key, with linearizability.py; reads are left
                 out (they are served by whichever node the client is on).
                 An "unknown" verdict (budget spent) is returned as a note,
                 not an anomaly.
  reads          sequential consistency of reads: (1) per key, one version
                 number never names two values (over every read, every ok
                 write / cas and the final state of every node); (2) per
                 client session, reads of a key never go back to an older
                 version; (3) per client session, with H the highest mzxid
                 the session has seen before a read (its own writes and
                 earlier reads), a read of key k returning mzxid m is stale
                 if some acknowledged write of k has a zxid in (m, H].
  sync-reads     a read preceded by sync (invoked before the sync) sees
                 every write and cas of its key acknowledged before it
                 was invoked: its version is at least theirs.  zabfs
                 promises this only where no deposed leader can still
                 answer (ZooKeeper does not promise it at all), so reads
                 invoked inside a fault window (a fault that can leave a
                 leader deposed but running, held, plus DEPOSED_MARGIN_S
                 after its heal) are skipped when the window covers the
                 node their client is bound to (or any node, for a
                 client bound to several).
  durability     every ok write / cas of version v: every node ends with
                 version >= v of that key (a lower version, or another
                 value for v, is a lost write); every ok append: its path
                 exists on every node with its data; no two ok appends got
                 the same path; a create acknowledged before another was
                 invoked has the smaller sequence number; no append child
                 holds data nobody appended, or data of one append twice.
  digests        the ensemble converged (all nodes applied the same last
                 zxid) and every node has the same zk_tree_digest.
  ephemerals     after every session ended and expired, no node has a
                 child of EPH_ROOT.
  watches        persistent recursive watches, per stream (one
                 connection): zxids strictly increase; every acknowledged
                 write under the watched path with a zxid in (start, last
                 event] was delivered, as NodeDataChanged of its path; two
                 streams that delivered the same zxid agree on its events.
                 One-shot data watches: a watch fires at most once; a watch
                 whose client kept its session to the end fires by the end
                 if an acknowledged write of its key has a zxid above the
                 read that set it; a watch never fires for a key that did
                 not change after the read.

Invariants
  1. A checker never raises on any history the workloads can record: a
     missing field (an op without a Stat) just does not constrain.
  2. Every anomaly message names the key / path / client / zxid it is
     about, so it can be found in the history dump.
"""

import bisect

import linearizability
import sessions
import workloads

NODE_DATA_CHANGED = 3
LIN_TIMEOUT_S = 120.0


def _register_ops(recorder):
    return [(op, recorder.reg_meta.get(op, {})) for op in
            recorder.history.ops]


def _acked_writes(recorder):
    """{key: sorted [(mzxid, version, value)]} of ok writes and cas."""
    writes = {}
    for op, meta in _register_ops(recorder):
        if op.kind != "read" and op.status == "ok" and \
                meta.get("mzxid") is not None:
            value = op.arg if op.kind == "write" else op.arg[1]
            writes.setdefault(op.key, []).append(
                (meta["mzxid"], meta["version"], value))
    for w in writes.values():
        w.sort()
    return writes


def check_linearizable(recorder):
    """(anomalies, notes)."""
    ops = [op for op in recorder.history.ops if op.kind != "read"]
    result = linearizability.check(ops, timeout=LIN_TIMEOUT_S)
    if result.verdict == linearizability.NOT_LINEARIZABLE:
        return ["writes and cas not linearizable:\n" + result.explain()], []
    if result.verdict == linearizability.UNKNOWN:
        return [], ["linearizability unknown (budget): %s" %
                    result.explain().splitlines()[0]]
    return [], []


def check_reads(recorder, final):
    anomalies = []
    versions = {}

    def saw(key, version, value, what):
        if version is None:
            return
        known = versions.setdefault((key, version), (value, what))
        if known[0] != value:
            anomalies.append(
                "key %s version %d has two values: %r (%s) and %r (%s)" %
                (key, version, known[0], known[1], value, what))

    for op, meta in _register_ops(recorder):
        if op.status != "ok":
            continue
        if op.kind == "read":
            saw(op.key, meta.get("version"), op.result,
                "read by %s" % meta.get("client"))
        else:
            value = op.arg if op.kind == "write" else op.arg[1]
            saw(op.key, meta.get("version"), value,
                "%s by %s" % (op.kind, meta.get("client")))
    for myid, state in sorted(final.items()):
        for key, (version, value) in sorted(state["registers"].items()):
            saw(key, version, value, "final state of node %d" % myid)

    acked = _acked_writes(recorder)
    acked_zxids = {k: [w[0] for w in ws] for k, ws in acked.items()}
    per_session = {}
    for op, meta in sorted(_register_ops(recorder),
                           key=lambda p: p[0].invoke):
        if op.status != "ok" or meta.get("mzxid") is None:
            continue
        s = per_session.setdefault((meta["client"], meta["session"]),
                                   {"high": 0, "seen": {}})
        if op.kind == "read":
            last = s["seen"].get(op.key)
            if last is not None and meta["version"] < last:
                anomalies.append(
                    "%s (session 0x%x) read key %s at version %d after"
                    " seeing version %d" % (meta["client"], meta["session"],
                                            op.key, meta["version"], last))
            zs = acked_zxids.get(op.key, [])
            i = bisect.bisect_right(zs, meta["mzxid"])
            if i < len(zs) and zs[i] <= s["high"]:
                anomalies.append(
                    "%s (session 0x%x) stale read of key %s: mzxid 0x%x,"
                    " but it had seen zxid 0x%x and the write at 0x%x"
                    " is between" % (meta["client"], meta["session"],
                                     op.key, meta["mzxid"], s["high"],
                                     zs[i]))
        s["high"] = max(s["high"], meta["mzxid"])
        s["seen"][op.key] = max(s["seen"].get(op.key, -1), meta["version"])
    return anomalies


def check_sync_reads(recorder):
    anomalies = []
    acked = []  # (completion event, key, version, value)
    for op, meta in _register_ops(recorder):
        if op.kind != "read" and op.status == "ok" and \
                meta.get("version") is not None:
            value = op.arg if op.kind == "write" else op.arg[1]
            acked.append((op.complete, op.key, meta["version"], value))
    for op, (node, when) in sorted(recorder.synced_reads.items(),
                                   key=lambda item: item[0].invoke):
        meta = recorder.reg_meta.get(op, {})
        if op.status != "ok" or meta.get("version") is None:
            continue
        if any(start <= when <= end and
               (nodes is None or node is None or node in nodes)
               for start, end, nodes in recorder.fault_windows):
            continue
        before = [a for a in acked if a[1] == op.key and a[0] < op.invoke]
        if not before:
            continue
        top = max(before, key=lambda a: a[2])
        if meta["version"] < top[2]:
            anomalies.append(
                "%s read key %s after sync at version %d (%r, session"
                " 0x%x, node %s), but version %d (%r) was acknowledged"
                " before the sync was invoked" % (
                    meta["client"], op.key, meta["version"], op.result,
                    meta["session"] or 0, node or "any", top[2], top[3]))
    return anomalies


def check_durability(recorder, final):
    anomalies = []
    acked = _acked_writes(recorder)
    for myid, state in sorted(final.items()):
        regs = state["registers"]
        for key, writes in sorted(acked.items()):
            top = max(w[1] for w in writes)
            have = regs.get(key, (None, None))[0]
            if have is None or have < top:
                lost = [w for w in writes if have is None or w[1] > have]
                anomalies.append(
                    "node %d: key %s ends at version %s, below %d acked"
                    " writes, e.g. version %d value %r (zxid 0x%x)" %
                    (myid, key, have, len(lost), lost[0][1], lost[0][2],
                     lost[0][0]))

    oks = [a for a in recorder.appends if a["status"] == "ok"]
    attempted = {a["data"] for a in recorder.appends}
    by_path = {}
    for a in oks:
        if a["path"] in by_path:
            anomalies.append("two appends acknowledged with path %s: %s"
                             " and %s" % (a["path"], by_path[a["path"]],
                                          a["data"]))
        by_path[a["path"]] = a["data"]
    for myid, state in sorted(final.items()):
        children = state["appends"]
        missing = [p for p in sorted(by_path)
                   if children.get(p.rsplit("/", 1)[1]) != by_path[p]]
        if missing:
            p = missing[0]
            anomalies.append(
                "node %d: %d acknowledged appends missing or changed, e.g."
                " %s (%r, node has %r)" % (
                    myid, len(missing), p, by_path[p],
                    children.get(p.rsplit("/", 1)[1])))
        seen = {}
        for name, data in sorted(children.items()):
            if data not in attempted:
                anomalies.append("node %d: append child %s holds %r, which"
                                 " nobody appended" % (myid, name, data))
            elif data in seen:
                anomalies.append("node %d: append %r applied twice: %s and"
                                 " %s" % (myid, data, seen[data], name))
            seen[data] = name
    ordered = sorted(oks, key=lambda a: a["complete"])
    invokes = sorted(oks, key=lambda a: a["invoke"])
    best = None  # highest sequence among appends completed so far
    j = 0
    for b in invokes:
        while j < len(ordered) and ordered[j]["complete"] < b["invoke"]:
            seq = _seq(ordered[j]["path"])
            if best is None or seq > best[0]:
                best = (seq, ordered[j])
            j += 1
        if best is not None and _seq(b["path"]) <= best[0]:
            anomalies.append(
                "append %s got %s although %s (%s) was acknowledged before"
                " it was invoked" % (b["data"], b["path"], best[1]["data"],
                                     best[1]["path"]))
    return anomalies


def _seq(path):
    return int(path[-10:])


def check_digests(converged, state):
    anomalies = []
    if not converged:
        anomalies.append("nodes did not converge to one last zxid: %s" %
                         _show_state(state))
    digests = {d for _, d in state.values()}
    if None in digests or len(digests) != 1:
        anomalies.append("tree digests differ: %s" % _show_state(state))
    return anomalies


def _show_state(state):
    return ", ".join("node %d zxid %s digest %s" % (
        m, "?" if z is None else "0x%x" % z, d)
        for m, (z, d) in sorted(state.items()))


def check_ephemerals(final):
    anomalies = []
    for myid, state in sorted(final.items()):
        left = state["ephemerals"]
        if left:
            anomalies.append(
                "node %d still has %d ephemerals of ended sessions under"
                " %s, e.g. %s" % (myid, len(left), sessions.EPH_ROOT,
                                  ", ".join(sorted(left)[:3])))
    return anomalies


def check_watches(recorder, final, worker_losses):
    anomalies = []
    acked = _acked_writes(recorder)
    by_zxid = {}
    for key, writes in acked.items():
        for zxid, _, _ in writes:
            by_zxid[zxid] = "%s/%s" % (workloads.REG_ROOT, key)
    delivered = {}
    for st in recorder.streams:
        last = st.start_zxid
        for zxid, etype, path in st.events:
            if zxid <= last:
                anomalies.append("%s: event zxid 0x%x (%d %s) after 0x%x" %
                                 (st.describe(), zxid, etype, path, last))
            last = max(last, zxid)
            if zxid in by_zxid and (etype, path) != (NODE_DATA_CHANGED,
                                                     by_zxid[zxid]):
                anomalies.append("%s: zxid 0x%x delivered as %d %s, but it"
                                 " is the write of %s" % (
                                     st.describe(), zxid, etype, path,
                                     by_zxid[zxid]))
            other = delivered.setdefault(zxid, (etype, path, st))
            if other[:2] != (etype, path):
                anomalies.append("zxid 0x%x delivered as %d %s by %s and as"
                                 " %d %s by %s" % (zxid, etype, path,
                                                   st.describe(), other[0],
                                                   other[1],
                                                   other[2].describe()))
        if not st.events:
            continue
        got = {z for z, _, _ in st.events}
        top = st.events[-1][0]
        gaps = sorted(z for z in by_zxid if st.start_zxid < z <= top and
                      z not in got)
        if gaps:
            anomalies.append(
                "%s: %d acknowledged writes between its start and its last"
                " event were not delivered, e.g. zxid 0x%x (%s)" % (
                    st.describe(), len(gaps), gaps[0], by_zxid[gaps[0]]))

    any_node = next(iter(final.values()))["registers"] if final else {}
    for w in recorder.watches:
        # kazoo calls a data watcher with a NONE event when the session
        # ends: not a firing, but the end of the watch
        ended = any(t == "NONE" for t, _ in w["events"])
        events = [e for e in w["events"] if e[0] != "NONE"]
        where = "one-shot watch of %s by %s (session 0x%x, set at mzxid" \
            " 0x%x)" % (w["key"], w["client"], w["session"] or 0,
                        w["mzxid"])
        if len(events) > 1:
            anomalies.append("%s fired %d times: %s" % (where, len(events),
                                                        events))
        changed = [z for z, _, _ in acked.get(w["key"], []) if
                   z > w["mzxid"]]
        kept = not ended and \
            worker_losses.get(w["client"]) == (w["losses"], w["session"])
        if changed and kept and not events:
            anomalies.append("%s never fired, though the write at zxid 0x%x"
                             " changed it" % (where, changed[0]))
        final_version = any_node.get(w["key"], (None, None))[0]
        if events and final_version == w["version"]:
            anomalies.append("%s fired %s but the key never changed" %
                             (where, events))
    return anomalies
