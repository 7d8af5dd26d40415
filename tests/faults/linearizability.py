"""Linearizability checker for read / write / compare-and-set registers.

Design
  A history is a list of Operations recorded by clients: each has a process,
  a key, a kind (read, write, cas), an argument, the event index of its
  invocation and a completion status:

    ok    it happened, between its invocation and its completion; a read's
          result must be explained by the model;
    fail  it did not happen: the checker drops it;
    info  indeterminate (a timeout): it may have taken effect at any moment
          after its invocation, or never.  It has no completion the checker
          must respect and no result to match, so it stays pending forever.
          An operation invoked but never completed in the history counts as
          info too.

  Event indices are the real-time order: operation a precedes b iff a
  completed (ok) before b was invoked.  A history is linearizable iff some
  total order of its ok operations, plus any subset of its info operations,
  respects that precedence and is a legal sequential run of the model.

  Keys are independent registers, so the history is split by key and every
  key is checked on its own (linearizability is compositional); the verdict
  is not-linearizable if any key is, unknown if any key ran out of budget,
  linearizable otherwise.

  The search per key is Wing & Gong's depth-first search with Lowe's
  just-in-time linearization and memoization, with porcupine's data layout:
    - the calls and returns of the key's ok operations form one doubly
      linked list in event order; the info operations (a call, no return)
      form a second list, ordered by invocation;
    - a configuration is (ok operations linearized, info operations
      linearized, model state), the two sets as integer bitsets.  Its
      candidates are the ok calls before the first return R of its ok list,
      then the info calls invoked before R; one whose model step is accepted
      is linearized: it is "lifted" (its call and return unlinked,
      dancing-links style), pushed on an explicit stack with the state before
      it, and the walk restarts at the head of the ok list;
    - when the candidates are exhausted (R reached and no info candidate
      left) the search backtracks: it pops the last lifted operation,
      relinks it (the unlinked nodes kept their neighbours; relinking is in
      reverse order of unlinking) and walks on after it;
    - success when every ok operation is linearized (the info operations
      left over never happened, which is the same as happening after
      everything else); failure when backtracking finds an empty stack.
  No Python recursion is used, so history length is bounded by memory only.

  Pruning.  Configuration D dominates C when they linearized the same ok
  operations, reached the same state, and D linearized a subset of C's info
  operations: every continuation of C is one of D (a pending info operation
  may stay unused; both have the same returns left, so the same
  real-time constraints).  Two rules prune a candidate configuration C:
    - memo: some configuration already pushed dominates C.  This is Lowe's
      cache (same bitsets and state) widened to info subsets; per (ok set,
      state) only the minimal info sets are kept;
    - absorb: C = X + i + o where i, on top of the stack, is an info
      operation and o, applied to X directly, is accepted and reaches the
      same state (e.g. an unobserved info write overwritten by a write):
      C is dominated by X + o, a candidate of X in its own right.
  Both keep the search complete.  Suppose it failed although some
  configuration it met has a successful continuation; pick one, C, whose
  shortest one is the shortest, of length d.  If C was pushed, it was
  backtracked, so its child along that continuation (a candidate, accepted,
  shortest continuation d - 1) was met and failed: contradiction.  If C was
  pruned, its dominator was met and has a continuation of length <= d; a
  chain of dominators ends at a pushed one (memo dominators are pushed;
  absorb dominators linearized one info operation fewer), which is then a
  configuration like C that was pushed: the first case again.  Candidates
  are tried ok-first so that configurations with fewer info operations
  linearized are met first and dominate the rest.

  The register model: nil (None) initially; a read must return the current
  value; a write sets it; cas (from, to) that completed ok needs current ==
  from and sets to; an info cas sets to if current == from and otherwise
  leaves the value alone; an info read constrains nothing and changes
  nothing, so it is dropped before the search.

  The parser reads the Jepsen log format of the etcd histories
  (`INFO jepsen.util - <process> :<invoke|ok|fail|info> :<read|write|cas>
  <value>`, whitespace tabs or spaces); those histories have one register,
  key None.

Invariants
  1. The checker only states a verdict it reached: when the step budget or
     the deadline runs out it answers unknown, never a guess.
  2. A step is one visit of one list entry; the budget counts steps over all
     keys of one check() call, and the deadline is polled every 1024 steps.
  3. After every lift/unlift the two lists hold exactly the entries of the
     operations not on the stack, in event order; the two bitsets are the
     operations on the stack and `state` is the model run over them in
     stack order.
  4. A not-linearizable answer carries an explanation: the longest sequence
     of operations the search managed to linearize, the state after it, and
     the first operation found that could not be placed after it.
"""

import re
import time

LINEARIZABLE = "linearizable"
NOT_LINEARIZABLE = "not-linearizable"
UNKNOWN = "unknown"

DEFAULT_MAX_STEPS = 20_000_000
DEADLINE_POLL_MASK = 1023


class Operation:
    """One client operation; the module header says what status means."""

    __slots__ = ("process", "key", "kind", "arg", "invoke", "status",
                 "result", "complete", "source")

    def __init__(self, process, key, kind, arg, invoke, source=None):
        self.process = process
        self.key = key
        self.kind = kind
        self.arg = arg
        self.invoke = invoke
        self.status = "info"
        self.result = None
        self.complete = None
        self.source = source

    def describe(self):
        if self.kind == "cas":
            what = "cas [%s %s]" % (_show(self.arg[0]), _show(self.arg[1]))
        elif self.kind == "write":
            what = "write %s" % _show(self.arg)
        else:
            what = "read"
        if self.status == "ok" and self.kind == "read":
            what += " -> %s" % _show(self.result)
        where = "events %s..%s" % (self.invoke,
                                   "?" if self.complete is None
                                   else self.complete)
        if self.source:
            where += " (%s)" % self.source
        key = "" if self.key is None else " key %r" % (self.key,)
        return "process %s%s %s %s, %s" % (self.process, key, what,
                                           self.status, where)


def _show(value):
    return "nil" if value is None else str(value)


class History:
    """Operations built from a stream of invoke / completion events.

    Every event gets the next event index; a process has at most one
    operation in flight, and one never completed stays info.  Events may
    carry a `source` (e.g. file:line) that explanations quote.  Values must
    be hashable (they end up in the checker's memo)."""

    def __init__(self):
        self.ops = []
        self._pending = {}
        self._next_event = 0

    def _event(self):
        index = self._next_event
        self._next_event += 1
        return index

    def invoke(self, process, kind, arg=None, key=None, source=None):
        if kind not in ("read", "write", "cas"):
            raise ValueError("unknown operation kind %r" % (kind,))
        if kind == "cas":
            arg = tuple(arg)
            if len(arg) != 2:
                raise ValueError("cas takes [from to], got %r" % (arg,))
        if process in self._pending:
            raise ValueError("process %r invokes while %s is in flight" %
                             (process, self._pending[process].describe()))
        op = Operation(process, key, kind, arg, self._event(), source)
        self.ops.append(op)
        self._pending[process] = op
        return op

    def in_flight(self, process):
        """The operation `process` has in flight, or None."""
        return self._pending.get(process)

    def _complete(self, process, status, source):
        op = self._pending.pop(process, None)
        if op is None:
            raise ValueError("process %r completes with nothing in flight%s" %
                             (process, " (%s)" % source if source else ""))
        op.status = status
        op.complete = self._event()
        if source and op.source:
            op.source = "%s, %s" % (op.source, source)
        return op

    def ok(self, process, result=None, source=None):
        """The operation happened; `result` is a read's value."""
        op = self._complete(process, "ok", source)
        if op.kind == "read":
            op.result = result
        return op

    def fail(self, process, source=None):
        """The operation did not happen."""
        return self._complete(process, "fail", source)

    def info(self, process, source=None):
        """Unknown whether (and when after its invocation) it happened."""
        return self._complete(process, "info", source)


class RegisterModel:
    """Register per key: nil initially, read / write / compare-and-set."""

    initial = None

    def step(self, state, op):
        """(accepted, next state) for `op` applied to `state`."""
        if op.kind == "read":
            return op.status != "ok" or op.result == state, state
        if op.kind == "write":
            return True, op.arg
        expected, new = op.arg
        if state == expected:
            return True, new
        return op.status != "ok", state

    def constrains(self, op):
        """False for operations that can be dropped before the search."""
        if op.status == "fail":
            return False
        return not (op.status == "info" and op.kind == "read")


class KeyResult:
    """Verdict for one key and, when not linearizable, why."""

    def __init__(self, key, verdict, operations, steps, prefix=(),
                 state=None, blocked=None):
        self.key = key
        self.verdict = verdict
        self.operations = operations
        self.steps = steps
        self.prefix = list(prefix)
        self.state = state
        self.blocked = blocked

    def explain(self):
        head = "key %r: %s (%d operations, %d steps)" % (
            self.key, self.verdict, self.operations, self.steps)
        if self.verdict != NOT_LINEARIZABLE:
            return head
        lines = [head,
                 "  longest linearizable prefix found: %d operations,"
                 " ending in state %s" % (len(self.prefix), _show(self.state))]
        lines += ["    %s" % op.describe() for op in self.prefix]
        lines.append("  could not be placed after it: %s" %
                     self.blocked.describe())
        return "\n".join(lines)


class CheckResult:
    """Verdict for a whole history: the per-key results, in key order."""

    def __init__(self, verdict, keys, steps, seconds):
        self.verdict = verdict
        self.keys = keys
        self.steps = steps
        self.seconds = seconds

    def explain(self):
        lines = ["%s (%d steps, %.3f s)" % (self.verdict, self.steps,
                                            self.seconds)]
        lines += [k.explain() for k in self.keys]
        return "\n".join(lines)


def check(history, model=None, max_steps=DEFAULT_MAX_STEPS, timeout=None):
    """Check a History (or a list of Operations); returns a CheckResult."""
    model = model or RegisterModel()
    ops = history.ops if isinstance(history, History) else list(history)
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    by_key = {}
    for op in ops:
        if model.constrains(op):
            by_key.setdefault(op.key, []).append(op)
    results = []
    steps = 0
    for key in sorted(by_key, key=repr):
        search = _KeySearch(key, by_key[key], model)
        result = search.run(max_steps - steps, deadline)
        steps += result.steps
        results.append(result)
    verdicts = {r.verdict for r in results}
    if NOT_LINEARIZABLE in verdicts:
        verdict = NOT_LINEARIZABLE
    elif UNKNOWN in verdicts:
        verdict = UNKNOWN
    else:
        verdict = LINEARIZABLE
    return CheckResult(verdict, results, steps, time.monotonic() - started)


class _KeySearch:
    """The search for one key (see the module header)."""

    def __init__(self, key, ops, model):
        self.key = key
        self.model = model
        self.ok_ops = sorted((op for op in ops if op.status == "ok"),
                             key=lambda op: op.invoke)
        self.info_ops = sorted((op for op in ops if op.status != "ok"),
                               key=lambda op: op.invoke)
        events = []
        for index, op in enumerate(self.ok_ops):
            if op.complete is None or op.complete <= op.invoke:
                raise ValueError("ok operation must complete after its"
                                 " invocation: " + op.describe())
            events.append((op.invoke, index, True))
            events.append((op.complete, index, False))
        events.sort()
        self.entry_time = [when for when, _, _ in events]
        self.entry_op = [index for _, index, _ in events]
        self.entry_is_call = [is_call for _, _, is_call in events]
        self.entry_match = [-1] * len(events)
        call_of = {}
        for entry, (_, index, is_call) in enumerate(events):
            if is_call:
                call_of[index] = entry
            else:
                self.entry_match[call_of[index]] = entry

    @staticmethod
    def _linked(n):
        """next / prev arrays of a list 0..n-1 after a sentinel n; -1 ends."""
        nxt = list(range(1, n + 1)) + [0 if n else -1]
        prv = [n] + list(range(0, n))
        if n:
            nxt[n - 1] = -1
        return nxt, prv

    def run(self, budget, deadline):
        step = self.model.step
        ok_ops, info_ops = self.ok_ops, self.info_ops
        entry_time, entry_op = self.entry_time, self.entry_op
        entry_is_call, entry_match = self.entry_is_call, self.entry_match
        info_invoke = [op.invoke for op in info_ops]
        ok_head, info_head = len(entry_op), len(info_ops)
        nxt, prv = self._linked(ok_head)
        info_nxt, info_prv = self._linked(info_head)

        remaining = len(ok_ops)
        state = self.model.initial
        ok_bits = info_bits = 0
        stack = []
        seen = {}
        steps = 0
        best = (-1, (), None, None)
        in_ok_list = True
        entry = nxt[ok_head]
        limit = -1
        while remaining:
            steps += 1
            if steps > budget or (deadline is not None and
                                  not steps & DEADLINE_POLL_MASK and
                                  time.monotonic() > deadline):
                return KeyResult(self.key, UNKNOWN, len(ok_ops) +
                                 len(info_ops), steps - 1)
            if in_ok_list:
                if entry_is_call[entry]:
                    op = ok_ops[entry_op[entry]]
                    accepted, new_state = step(state, op)
                    if accepted and not _absorbs(step, stack, op,
                                                 new_state) and _novel(
                            seen, ok_bits | (1 << entry_op[entry]),
                            info_bits, new_state):
                        stack.append((True, entry, state, limit))
                        state = new_state
                        ok_bits |= 1 << entry_op[entry]
                        for lifted in (entry, entry_match[entry]):
                            before, after = prv[lifted], nxt[lifted]
                            nxt[before] = after
                            if after >= 0:
                                prv[after] = before
                        remaining -= 1
                        entry = nxt[ok_head]
                        continue
                    entry = nxt[entry]
                    continue
                limit = entry
                in_ok_list = False
                entry = info_nxt[info_head]
                continue
            if entry >= 0 and info_invoke[entry] < entry_time[limit]:
                op = info_ops[entry]
                accepted, new_state = step(state, op)
                if accepted and not _absorbs(step, stack, op,
                                             new_state) and _novel(
                        seen, ok_bits, info_bits | (1 << entry), new_state):
                    stack.append((False, entry, state, limit))
                    state = new_state
                    info_bits |= 1 << entry
                    before, after = info_prv[entry], info_nxt[entry]
                    info_nxt[before] = after
                    if after >= 0:
                        info_prv[after] = before
                    in_ok_list = True
                    entry = nxt[ok_head]
                    continue
                entry = info_nxt[entry]
                continue
            if len(stack) > best[0]:
                best = (len(stack), tuple(
                    ok_ops[entry_op[e]] if is_ok else info_ops[e]
                    for is_ok, e, _, _ in stack),
                    state, ok_ops[entry_op[limit]])
            if not stack:
                break
            in_ok_list, entry, state, limit = stack.pop()
            if in_ok_list:
                ok_bits &= ~(1 << entry_op[entry])
                for lifted in (entry_match[entry], entry):
                    before, after = prv[lifted], nxt[lifted]
                    nxt[before] = lifted
                    if after >= 0:
                        prv[after] = lifted
                remaining += 1
                entry = nxt[entry]
            else:
                info_bits &= ~(1 << entry)
                before, after = info_prv[entry], info_nxt[entry]
                info_nxt[before] = entry
                if after >= 0:
                    info_prv[after] = entry
                entry = info_nxt[entry]
        operations = len(ok_ops) + len(info_ops)
        if not remaining:
            return KeyResult(self.key, LINEARIZABLE, operations, steps)
        _, prefix, best_state, blocked = best
        return KeyResult(self.key, NOT_LINEARIZABLE, operations, steps,
                         prefix, best_state, blocked)


def _absorbs(step, stack, op, new_state):
    """True if `op`, linearized right after an info operation on top of the
    stack, ends in the same state as it would have without it: the info
    operation was of no use there, and the configuration without it is
    reached from the configuration below the stack top."""
    if not stack or stack[-1][0]:
        return False
    accepted, state_without = step(stack[-1][2], op)
    return accepted and state_without == new_state


def _novel(seen, ok_bits, info_bits, state):
    """Record the configuration and return True, unless a configuration
    already recorded dominates it: same ok operations, same state, a subset
    of its info operations.  Only the minimal info sets are kept."""
    key = (ok_bits, state)
    recorded = seen.get(key)
    if recorded is None:
        seen[key] = [info_bits]
        return True
    for other in recorded:
        if not other & ~info_bits:
            return False
    recorded[:] = [other for other in recorded if info_bits & ~other]
    recorded.append(info_bits)
    return True


_JEPSEN_LINE = re.compile(
    r"^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+"
    r":(read|write|cas)\s+(nil|-?\d+|\[-?\d+\s+-?\d+\]|:[\w-]+)\s*$")


def _jepsen_value(text):
    if text == "nil" or text.startswith(":"):
        return None
    if text.startswith("["):
        return tuple(int(v) for v in text[1:-1].split())
    return int(text)


def parse_jepsen_log(path):
    """History of a Jepsen etcd log (one register, key None).

    Raises ValueError on a line it does not understand, on a completion that
    does not match the operation in flight, and on an ok write/cas whose
    echoed value differs from its invocation."""
    history = History()
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            source = "%s:%d" % (path.rsplit("/", 1)[-1], number)
            found = _JEPSEN_LINE.match(line)
            if not found:
                raise ValueError("%s: not a Jepsen event: %r" % (source, line))
            process, event, kind, text = found.groups()
            process = int(process)
            value = _jepsen_value(text)
            if event == "invoke":
                history.invoke(process, kind,
                               None if kind == "read" else value,
                               source=source)
                continue
            op = history.in_flight(process)
            if op is None or op.kind != kind:
                raise ValueError("%s: %s %s does not match the operation in"
                                 " flight" % (source, event, kind))
            if event == "ok":
                if kind != "read" and value != op.arg:
                    raise ValueError("%s: ok %s echoes %r, invoked with %r" %
                                     (source, kind, value, op.arg))
                history.ok(process, value, source=source)
            elif event == "fail":
                history.fail(process, source=source)
            else:
                history.info(process, source=source)
    return history
