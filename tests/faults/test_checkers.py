"""Tests of the episode checkers (checkers.py) on small recorded histories.

Design
  Each test builds what the workloads would have recorded (a
  recorder.Recorder filled through its own API, Stats as small
  namedtuples) and the final state of the nodes, once correct and once
  with one planted anomaly of the kind the checker is for; the checker
  must find nothing in the first and exactly that anomaly in the second.
  No server is needed.

Invariants
  1. Every checker is shown to pass a correct history and to fail a
     wrong one.
"""

import collections
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "compat"))

import checkers  # noqa: E402
import rawwatch  # noqa: E402
import recorder  # noqa: E402

Stat = collections.namedtuple("Stat", "version mzxid")
S1 = 0x101


def write(rec, proc, key, value, version, zxid, kind="write", expect=None):
    arg = value if kind == "write" else (expect, value)
    rec.invoke(proc, kind, arg, key)
    return rec.complete(proc, "ok", "c-" + proc, S1, None,
                        Stat(version, zxid))


def read(rec, proc, key, value, version, zxid):
    rec.invoke(proc, "read", None, key)
    return rec.complete(proc, "ok", "c-" + proc, S1, value,
                        Stat(version, zxid))


def final_state(regs, appends=None, eph=()):
    return {1: {"registers": regs, "appends": appends or {},
                "ephemerals": list(eph)},
            2: {"registers": regs, "appends": appends or {},
                "ephemerals": []}}


class LinearizableTest(unittest.TestCase):
    def test_two_cas_from_one_version(self):
        rec = recorder.Recorder()
        write(rec, "a", "k", "x", 1, 10)
        write(rec, "b", "k", "y", 2, 11, "cas", "x")
        self.assertEqual(checkers.check_linearizable(rec), ([], []))
        write(rec, "c", "k", "z", 3, 12, "cas", "x")
        found, _ = checkers.check_linearizable(rec)
        self.assertEqual(len(found), 1)
        self.assertIn("not linearizable", found[0])


class ReadsTest(unittest.TestCase):
    def test_consistent(self):
        rec = recorder.Recorder()
        write(rec, "a", "k", "x", 1, 10)
        read(rec, "a", "k", "x", 1, 10)
        read(rec, "b", "k", None, 0, 2)
        self.assertEqual(checkers.check_reads(rec, final_state(
            {"k": (1, "x")})), [])

    def test_two_values_for_one_version(self):
        rec = recorder.Recorder()
        write(rec, "a", "k", "x", 1, 10)
        read(rec, "b", "k", "y", 1, 9)
        found = checkers.check_reads(rec, final_state({"k": (1, "x")}))
        self.assertEqual(len(found), 1)
        self.assertIn("two values", found[0])

    def test_stale_read_after_own_write_of_another_key(self):
        rec = recorder.Recorder()
        write(rec, "b", "k", "x", 1, 10)
        write(rec, "a", "j", "w", 1, 12)
        read(rec, "a", "k", None, 0, 2)
        found = checkers.check_reads(rec, final_state(
            {"k": (1, "x"), "j": (1, "w")}))
        self.assertEqual(len(found), 1)
        self.assertIn("stale read", found[0])

    def test_version_goes_back(self):
        rec = recorder.Recorder()
        write(rec, "b", "k", "x", 1, 10)
        read(rec, "a", "k", "x", 1, 10)
        write(rec, "b", "k", "y", 2, 11)
        read(rec, "a", "k", "y", 2, 11)
        read(rec, "a", "k", "x", 1, 10)
        found = checkers.check_reads(rec, final_state({"k": (2, "y")}))
        self.assertTrue(any("after seeing version 2" in f for f in found),
                        found)


class SyncReadsTest(unittest.TestCase):
    def synced_read(self, rec, proc, key, value, version, zxid):
        op = rec.invoke(proc, "read", None, key)
        rec.synced(op, 2)
        return rec.complete(proc, "ok", "c-" + proc, S1, value,
                            Stat(version, zxid))

    def test_stale_after_sync(self):
        rec = recorder.Recorder()
        write(rec, "a", "k", "x", 1, 10)
        self.synced_read(rec, "b", "k", "x", 1, 10)
        read(rec, "c", "k", None, 0, 2)  # a plain read may be stale
        self.assertEqual(checkers.check_sync_reads(rec), [])
        self.synced_read(rec, "d", "k", None, 0, 2)
        found = checkers.check_sync_reads(rec)
        self.assertEqual(len(found), 1)
        self.assertIn("after sync at version 0", found[0])
        rec.fault_window(0, float("inf"), {1})  # another node: still seen
        self.assertEqual(len(checkers.check_sync_reads(rec)), 1)
        rec.fault_window(0, float("inf"), {2})  # its node was deposed
        self.assertEqual(checkers.check_sync_reads(rec), [])


class DurabilityTest(unittest.TestCase):
    def append(self, rec, data, path, invoke, complete):
        rec.append({"client": "app0", "data": data, "invoke": invoke,
                    "complete": complete, "status": "ok", "path": path})

    def test_lost_write(self):
        rec = recorder.Recorder()
        write(rec, "a", "k", "x", 1, 10)
        write(rec, "a", "k", "y", 2, 11)
        self.assertEqual(checkers.check_durability(
            rec, final_state({"k": (2, "y")})), [])
        found = checkers.check_durability(rec, final_state({"k": (1, "x")}))
        self.assertEqual(len(found), 2)  # on both nodes

    def test_appends(self):
        rec = recorder.Recorder()
        self.append(rec, "a0-1", "/app/e-0000000001", 1, 2)
        self.append(rec, "a0-2", "/app/e-0000000002", 3, 4)
        good = {"e-0000000001": "a0-1", "e-0000000002": "a0-2"}
        self.assertEqual(checkers.check_durability(
            rec, final_state({}, good)), [])
        lost = {"e-0000000002": "a0-2"}
        found = checkers.check_durability(rec, final_state({}, lost))
        self.assertTrue(found and "missing" in found[0], found)
        twice = dict(good, **{"e-0000000003": "a0-2"})
        found = checkers.check_durability(rec, final_state({}, twice))
        self.assertTrue(any("applied twice" in f for f in found), found)

    def test_append_order(self):
        rec = recorder.Recorder()
        self.append(rec, "a0-1", "/app/e-0000000005", 1, 2)
        self.append(rec, "a0-2", "/app/e-0000000004", 3, 4)
        final = {"e-0000000005": "a0-1", "e-0000000004": "a0-2"}
        found = checkers.check_durability(rec, final_state({}, final))
        self.assertEqual(len(found), 1)
        self.assertIn("acknowledged before", found[0])


class DigestsAndEphemeralsTest(unittest.TestCase):
    def test_digests(self):
        same = {1: (5, "0xa"), 2: (5, "0xa")}
        self.assertEqual(checkers.check_digests(True, same), [])
        differ = {1: (5, "0xa"), 2: (5, "0xb")}
        self.assertEqual(len(checkers.check_digests(True, differ)), 1)
        self.assertEqual(len(checkers.check_digests(False, same)), 1)

    def test_ephemerals(self):
        self.assertEqual(checkers.check_ephemerals(final_state({})), [])
        found = checkers.check_ephemerals(final_state({}, eph=["e-1"]))
        self.assertEqual(len(found), 1)
        self.assertIn("node 1", found[0])


class WatchesTest(unittest.TestCase):
    def stream(self, rec, events, start=5):
        s = rawwatch.Stream("watch0", 1, 0x99, start)
        s.events = events
        rec.stream(s)

    def test_persistent_stream(self):
        rec = recorder.Recorder()
        write(rec, "a", "k", "x", 1, 10)
        write(rec, "a", "k", "y", 2, 11)
        write(rec, "a", "j", "z", 1, 12)
        final = final_state({"k": (2, "y"), "j": (1, "z")})
        self.stream(rec, [(10, 3, "/reg/k"), (11, 3, "/reg/k"),
                          (12, 3, "/reg/j")])
        self.assertEqual(checkers.check_watches(rec, final, {}), [])
        self.stream(rec, [(10, 3, "/reg/k"), (12, 3, "/reg/j")])
        found = checkers.check_watches(rec, final, {})
        self.assertEqual(len(found), 1)
        self.assertIn("not delivered", found[0])

    def test_stream_order_and_agreement(self):
        rec = recorder.Recorder()
        write(rec, "a", "k", "x", 1, 10)
        final = final_state({"k": (1, "x")})
        self.stream(rec, [(10, 3, "/reg/k"), (10, 3, "/reg/k")])
        found = checkers.check_watches(rec, final, {})
        self.assertTrue(any("after" in f for f in found), found)
        rec = recorder.Recorder()
        write(rec, "a", "k", "x", 1, 10)
        self.stream(rec, [(10, 3, "/reg/j")])
        found = checkers.check_watches(rec, final, {})
        self.assertTrue(any("is the write of /reg/k" in f for f in found),
                        found)

    def test_one_shot(self):
        rec = recorder.Recorder()
        read(rec, "a", "k", None, 0, 2)
        write(rec, "b", "k", "x", 1, 10)
        final = final_state({"k": (1, "x")})
        w = {"key": "k", "client": "c-a", "session": S1, "losses": 0,
             "events": [], "mzxid": 2, "version": 0}
        rec.watch(w)
        kept = {"c-a": (0, S1)}
        found = checkers.check_watches(rec, final, kept)
        self.assertEqual(len(found), 1)
        self.assertIn("never fired", found[0])
        self.assertEqual(checkers.check_watches(rec, final,
                                                {"c-a": (1, S1)}), [])
        w["events"].append(("CHANGED", "/reg/k"))
        self.assertEqual(checkers.check_watches(rec, final, kept), [])
        w["events"].append(("CHANGED", "/reg/k"))
        found = checkers.check_watches(rec, final, kept)
        self.assertTrue(found and "fired 2 times" in found[0], found)


if __name__ == "__main__":
    unittest.main()
