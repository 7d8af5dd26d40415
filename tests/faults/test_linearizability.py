"""Tests of the linearizability checker (linearizability.py).

Design
  Four kinds of evidence that the checker is right and that it sees:
    - the 103 labelled Jepsen etcd histories (79 not linearizable, 24
      linearizable, verdicts as porcupine's tests expect) must all get their
      label, each within PER_FILE_TIMEOUT s; the directory is
      $ZABFS_JEPSEN_TESTDATA, else ../shared/testdata/jepsen-etcd next to
      the repository;
    - small hand-made histories whose verdict follows from the definition:
      stale reads, concurrent writes, cas races, indeterminate and failed
      operations, independent keys, a history too long for recursion;
    - random small histories (up to 7 operations on up to 2 keys) whose
      verdict is also computed by brute force: every order of the ok
      operations plus every subset of the info ones, kept if it respects
      real time and the register; the checker must agree on every one;
    - mutations: in every linearizable labelled history, completed reads
      are given a value they cannot have returned (a value nobody ever
      writes, or a value first written only after the read completed) and
      the checker must then answer not linearizable.
  The step budget and the deadline are tested on the labelled history that
  needs the most steps: one step less than it needs gives unknown.

Invariants
  1. Every check is bounded (timeout or step budget); an "unknown" verdict
     fails a test that expects a definite one.
  2. The labelled-history test prints the number of histories and the total
     time to stderr, so ctest -V shows how fast the checker is.
"""

import itertools
import os
import random
import shutil
import sys
import tempfile
import time
import unittest

from linearizability import (DEADLINE_POLL_MASK, History, LINEARIZABLE,
                             NOT_LINEARIZABLE, UNKNOWN, RegisterModel, check,
                             parse_jepsen_log)

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.environ.get(
    "ZABFS_JEPSEN_TESTDATA",
    os.path.join(HERE, "..", "..", "..", "shared", "testdata", "jepsen-etcd"))
PER_FILE_TIMEOUT = 30.0


def labelled_histories():
    """[(file name, expected verdict)] from the EXPECTED file."""
    with open(os.path.join(TESTDATA, "EXPECTED"), encoding="utf-8") as f:
        return [tuple(line.split()) for line in f if line.strip()]


def sequential(*ops, key=None):
    """History of operations run one after another by process 0.

    Each op is ("read", value), ("write", value), ("cas", (from, to)),
    optionally followed by a status "ok" (default), "fail" or "info"."""
    history = History()
    for op in ops:
        kind, value = op[0], op[1]
        status = op[2] if len(op) > 2 else "ok"
        history.invoke(0, kind, None if kind == "read" else value, key=key)
        if status == "ok":
            history.ok(0, value if kind == "read" else None)
        elif status == "fail":
            history.fail(0)
        else:
            history.info(0)
    return history


class CheckerCase(unittest.TestCase):
    def assertVerdict(self, history, verdict, **limits):
        limits.setdefault("timeout", 10.0)
        result = check(history, **limits)
        self.assertEqual(result.verdict, verdict, result.explain())
        return result


@unittest.skipUnless(os.path.isfile(os.path.join(TESTDATA, "EXPECTED")),
                     "labelled Jepsen histories not found in " + TESTDATA)
class LabelledHistories(CheckerCase):
    def test_every_history_gets_its_label(self):
        labelled = labelled_histories()
        self.assertEqual(len(labelled), 103)
        counts = {LINEARIZABLE: 0, NOT_LINEARIZABLE: 0}
        slowest = (0.0, None)
        started = time.monotonic()
        for name, expected in labelled:
            with self.subTest(history=name):
                history = parse_jepsen_log(os.path.join(TESTDATA, name))
                result = self.assertVerdict(history, expected,
                                            timeout=PER_FILE_TIMEOUT)
                counts[expected] += 1
                slowest = max(slowest, (result.seconds, name))
                if expected == NOT_LINEARIZABLE:
                    self.assertIsNotNone(result.keys[0].blocked)
        total = time.monotonic() - started
        sys.stderr.write("\n%d histories checked (%d not linearizable, %d"
                         " linearizable) in %.2f s; slowest %s %.2f s\n" %
                         (sum(counts.values()), counts[NOT_LINEARIZABLE],
                          counts[LINEARIZABLE], total, slowest[1],
                          slowest[0]))
        self.assertEqual(counts, {LINEARIZABLE: 24, NOT_LINEARIZABLE: 79})

    def test_corrupted_reads_are_caught(self):
        mutated = {"never written": 0, "written later": 0}
        for name, expected in labelled_histories():
            if expected != LINEARIZABLE:
                continue
            history = parse_jepsen_log(os.path.join(TESTDATA, name))
            reads = [op for op in history.ops
                     if op.kind == "read" and op.status == "ok"]
            if not reads:
                continue
            never = 1 + max(self._written(history.ops, lambda op: True),
                            default=0)
            picks = dict.fromkeys((reads[0], reads[len(reads) // 2],
                                   reads[-1]))
            for read in picks:
                before = self._written(history.ops,
                                       lambda op: op.invoke < read.complete)
                future = self._written(history.ops, lambda op: True) - before
                values = [("never written", never)] + [
                    ("written later", v)
                    for v in sorted(future - {read.result})[:1]]
                for why, value in values:
                    with self.subTest(history=name, read=read.describe(),
                                      value=value):
                        original = read.result
                        read.result = value
                        try:
                            self.assertVerdict(history, NOT_LINEARIZABLE,
                                               timeout=PER_FILE_TIMEOUT)
                        finally:
                            read.result = original
                        mutated[why] += 1
        self.assertGreaterEqual(mutated["never written"], 60, mutated)
        self.assertGreaterEqual(mutated["written later"], 20, mutated)

    @staticmethod
    def _written(ops, include):
        """Values that ok or info writes and cas of `include` may store."""
        values = set()
        for op in ops:
            if op.status == "fail" or not include(op):
                continue
            if op.kind == "write":
                values.add(op.arg)
            elif op.kind == "cas":
                values.add(op.arg[1])
        return values

    def test_budget_exhausted_is_unknown(self):
        hardest = max(((check(h).steps, name, expected, h)
                       for name, expected in labelled_histories()
                       for h in [parse_jepsen_log(os.path.join(TESTDATA,
                                                               name))]),
                      key=lambda found: found[0])
        steps, name, expected, history = hardest
        self.assertGreater(steps, DEADLINE_POLL_MASK + 1, name)
        self.assertVerdict(history, expected, max_steps=steps)
        self.assertVerdict(history, UNKNOWN, max_steps=steps - 1)
        self.assertVerdict(history, UNKNOWN, timeout=0.0)


class HandMadeHistories(CheckerCase):
    def test_empty_history_is_linearizable(self):
        self.assertVerdict(History(), LINEARIZABLE)

    def test_read_after_completed_write_sees_it(self):
        self.assertVerdict(sequential(("write", 1), ("read", 1)),
                           LINEARIZABLE)

    def test_stale_read_after_completed_write_is_caught(self):
        history = sequential(("write", 1), ("write", 2), ("read", 1))
        result = self.assertVerdict(history, NOT_LINEARIZABLE)
        key = result.keys[0]
        self.assertIs(key.blocked, history.ops[2])
        self.assertEqual(key.prefix, history.ops[:2])
        self.assertEqual(key.state, 2)

    def test_initial_value_is_nil(self):
        self.assertVerdict(sequential(("read", None)), LINEARIZABLE)
        self.assertVerdict(sequential(("read", 0)), NOT_LINEARIZABLE)

    @staticmethod
    def two_writes_then_reads(first, second):
        """Writes of 1 and 2, concurrent, then two reads in sequence."""
        history = History()
        history.invoke(0, "write", 1)
        history.invoke(1, "write", 2)
        history.ok(1)
        history.ok(0)
        for value in (first, second):
            history.invoke(2, "read")
            history.ok(2, value)
        return history

    def test_concurrent_writes_in_either_order(self):
        for last in (1, 2):
            self.assertVerdict(self.two_writes_then_reads(last, last),
                               LINEARIZABLE)

    def test_order_of_concurrent_writes_is_fixed_once_seen(self):
        self.assertVerdict(self.two_writes_then_reads(1, 2), NOT_LINEARIZABLE)

    def test_read_concurrent_with_write_sees_old_or_new(self):
        for seen in (None, 1):
            history = History()
            history.invoke(0, "write", 1)
            history.invoke(1, "read")
            history.ok(1, seen)
            history.ok(0)
            self.assertVerdict(history, LINEARIZABLE)

    def test_cas_race_has_one_winner(self):
        def race(second):
            history = sequential(("write", 0))
            history.invoke(1, "cas", (0, 1))
            history.invoke(2, "cas", (0, 2))
            history.ok(1)
            getattr(history, second)(2)
            history.invoke(1, "read")
            history.ok(1, 1)
            return history
        self.assertVerdict(race("ok"), NOT_LINEARIZABLE)
        self.assertVerdict(race("fail"), LINEARIZABLE)
        self.assertVerdict(race("info"), LINEARIZABLE)

    def test_cas_needs_the_expected_value(self):
        self.assertVerdict(sequential(("write", 5), ("cas", (0, 1))),
                           NOT_LINEARIZABLE)
        self.assertVerdict(sequential(("write", 5), ("cas", (5, 1)),
                                      ("read", 1)), LINEARIZABLE)

    def test_indeterminate_write_may_have_happened(self):
        happened = sequential(("write", 1), ("write", 2, "info"),
                              ("read", 2))
        self.assertVerdict(happened, LINEARIZABLE)
        not_happened = sequential(("write", 1), ("write", 2, "info"),
                                  ("read", 1))
        self.assertVerdict(not_happened, LINEARIZABLE)
        late = sequential(("write", 1), ("write", 2, "info"), ("read", 1),
                          ("read", 2))
        self.assertVerdict(late, LINEARIZABLE)

    def test_indeterminate_write_happens_at_most_once_after_invoke(self):
        twice = sequential(("write", 1), ("write", 2, "info"), ("read", 2),
                           ("write", 1), ("read", 1), ("read", 2))
        self.assertVerdict(twice, NOT_LINEARIZABLE)
        back = sequential(("write", 1), ("write", 2, "info"), ("read", 2),
                          ("read", 1))
        self.assertVerdict(back, NOT_LINEARIZABLE)
        before_invoke = sequential(("read", 2), ("write", 2, "info"))
        self.assertVerdict(before_invoke, NOT_LINEARIZABLE)

    def test_indeterminate_write_can_explain_a_cas(self):
        self.assertVerdict(sequential(("write", 2), ("write", 1, "info"),
                                      ("cas", (1, 2)), ("read", 2)),
                           LINEARIZABLE)
        self.assertVerdict(sequential(("write", 2), ("write", 3, "info"),
                                      ("cas", (1, 2))), NOT_LINEARIZABLE)

    def test_indeterminate_cas_applies_only_on_match(self):
        self.assertVerdict(sequential(("write", 1), ("cas", (1, 3), "info"),
                                      ("read", 3)), LINEARIZABLE)
        self.assertVerdict(sequential(("write", 1), ("cas", (0, 3), "info"),
                                      ("read", 3)), NOT_LINEARIZABLE)

    def test_failed_operations_did_not_happen(self):
        self.assertVerdict(sequential(("write", 1), ("write", 2, "fail"),
                                      ("read", 1)), LINEARIZABLE)
        self.assertVerdict(sequential(("write", 1), ("write", 2, "fail"),
                                      ("read", 2)), NOT_LINEARIZABLE)
        self.assertVerdict(sequential(("write", 1), ("cas", (1, 3), "fail"),
                                      ("read", 1)), LINEARIZABLE)
        self.assertVerdict(sequential(("read", 7, "fail"), ("read", None)),
                           LINEARIZABLE)

    def test_keys_are_independent_registers(self):
        history = History()
        history.invoke(0, "write", 1, key="a")
        history.ok(0)
        history.invoke(1, "read", key="b")
        history.ok(1, None)
        history.invoke(1, "read", key="a")
        history.ok(1, 1)
        self.assertVerdict(history, LINEARIZABLE)
        history.invoke(2, "read", key="b")
        history.ok(2, 1)
        result = self.assertVerdict(history, NOT_LINEARIZABLE)
        verdicts = {k.key: k.verdict for k in result.keys}
        self.assertEqual(verdicts, {"a": LINEARIZABLE,
                                    "b": NOT_LINEARIZABLE})

    def test_long_history_needs_no_recursion(self):
        ops = []
        for value in range(3000):
            ops += [("write", value), ("read", value)]
        self.assertVerdict(sequential(*ops), LINEARIZABLE)
        ops[-1] = ("read", 0)
        self.assertVerdict(sequential(*ops), NOT_LINEARIZABLE)

    def test_process_cannot_overlap_itself(self):
        history = History()
        history.invoke(0, "read")
        with self.assertRaises(ValueError):
            history.invoke(0, "read")
        with self.assertRaises(ValueError):
            history.ok(1)


def brute_force(ops):
    """Verdict by trying every candidate linearization of every key."""
    model = RegisterModel()
    for key in {op.key for op in ops}:
        mine = [op for op in ops if op.key == key and op.status != "fail"]
        done = [op for op in mine if op.status == "ok"]
        maybe = [op for op in mine if op.status == "info"]
        if not any(_legal(model, order)
                   for size in range(len(maybe) + 1)
                   for chosen in itertools.combinations(maybe, size)
                   for order in itertools.permutations(done + list(chosen))):
            return NOT_LINEARIZABLE
    return LINEARIZABLE


def _legal(model, order):
    for later, op in enumerate(order):
        if any(o.status == "ok" and o.complete < op.invoke
               for o in order[later + 1:]):
            return False
    state = model.initial
    for op in order:
        accepted, state = model.step(state, op)
        if not accepted:
            return False
    return True


def random_history(rng, operations, keys):
    """A history of 3 clients against real registers, each operation taking
    effect (or not) at a random moment while in flight; half of the reads
    then report a random value (perhaps the one they saw) instead."""
    history = History()
    registers = {key: None for key in keys}
    in_flight = {}
    invoked = 0
    while invoked < operations or in_flight:
        process = rng.randrange(3)
        if process not in in_flight:
            if invoked == operations:
                continue
            kind = rng.choice(("read", "write", "cas"))
            arg = {"read": None, "write": rng.randint(1, 3),
                   "cas": (rng.choice((None, 1, 2)), rng.randint(1, 3))}[kind]
            op = history.invoke(process, kind, arg, key=rng.choice(keys))
            in_flight[process] = [op, False, None]
            invoked += 1
            continue
        flight = in_flight[process]
        op, applied, seen = flight
        if not applied and rng.random() < 0.5:
            current = registers[op.key]
            if op.kind == "write":
                registers[op.key] = op.arg
            elif op.kind == "cas" and current == op.arg[0]:
                registers[op.key] = op.arg[1]
            flight[1] = True
            flight[2] = (op.kind != "cas" or current == op.arg[0], current)
            continue
        del in_flight[process]
        if rng.random() < 0.2:
            history.info(process)
        elif not applied or not seen[0]:
            history.fail(process)
        elif op.kind == "read" and rng.random() < 0.5:
            history.ok(process, rng.choice((None, 1, 2, 3)))
        else:
            history.ok(process, seen[1])
    return history


class RandomHistories(CheckerCase):
    def test_checker_agrees_with_brute_force(self):
        rng = random.Random(5)
        verdicts = {LINEARIZABLE: 0, NOT_LINEARIZABLE: 0}
        for trial in range(3000):
            keys = ("a", "b") if trial % 3 == 0 else ("a",)
            history = random_history(rng, rng.randint(3, 7), keys)
            expected = brute_force(history.ops)
            with self.subTest(trial=trial):
                self.assertVerdict(history, expected)
            verdicts[expected] += 1
        self.assertGreater(min(verdicts.values()), 300, verdicts)


class JepsenParser(unittest.TestCase):
    def parse(self, text):
        path = os.path.join(self.tmp, "h.log")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return parse_jepsen_log(path)

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_events_become_operations(self):
        history = self.parse(
            "INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]\n"
            "INFO  jepsen.util - 1   :invoke :write  3\n"
            "INFO  jepsen.util - 0\t:fail\t:cas\t[1 2]\n"
            "INFO  jepsen.util - 2\t:invoke\t:read\tnil\n"
            "INFO  jepsen.util - 2\t:ok\t:read\tnil\n"
            "INFO  jepsen.util - 1\t:info\t:write\t:timed-out\n")
        cas, write, read = history.ops
        self.assertEqual((cas.kind, cas.arg, cas.status), ("cas", (1, 2),
                                                           "fail"))
        self.assertEqual((write.arg, write.status), (3, "info"))
        self.assertEqual((read.result, read.status), (None, "ok"))
        self.assertEqual((read.invoke, read.complete), (3, 4))

    def test_malformed_or_unmatched_lines_are_rejected(self):
        for text in ("garbage\n",
                     "INFO  jepsen.util - 0\t:ok\t:read\t1\n",
                     "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
                     "INFO  jepsen.util - 0\t:ok\t:write\t1\n",
                     "INFO  jepsen.util - 0\t:invoke\t:write\t1\n"
                     "INFO  jepsen.util - 0\t:ok\t:write\t2\n"):
            with self.subTest(text=text), self.assertRaises(ValueError):
                self.parse(text)


if __name__ == "__main__":
    unittest.main()
