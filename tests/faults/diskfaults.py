"""Disk faults and clock jumps through the LD_PRELOAD shim
(libzabfs_faultshim.so) and the `powerloss` tool, both built from
faultshim.c in this folder.

Design
  Each node gets a control file of CTL_SIZE zero bytes (created before the
  node first starts) and a journal path, both in its directory; the node
  runs with LD_PRELOAD=<shim>, ZABFS_FAULT_CTL, ZABFS_FAULT_DIR (its data
  directory) and ZABFS_FAULT_JOURNAL.  The runner writes the control file
  through a shared mmap, native-endian:

     off  type  field
       0  u32   magic MAGIC (the shim ignores the file until it is set)
       4  u32   version 1
       8  i64   realtime offset in ns (CLOCK_REALTIME, gettimeofday, time)
      16  u32   fail_fsync   fsync/fdatasync of a data-dir file fail (EIO)
      20  u32   short_write  writes write half and return short
      24  u32   fail_write   writes fail with ENOSPC
      28  u32   eio_read     reads fail with EIO
   32..56  u64  counters of the faults injected, in the order above
      64  u32   sync_delay_ms: every fsync/fdatasync of a data-dir file
                sleeps this long first (a stalled disk), until set to 0
      72  u64   how many syncs were stalled

  The four u32 fields from 16 are countdowns: each faulted call
  decrements one.
  After kill -9, `powerloss JOURNAL DATADIR --seed N --mode drop|torn|keep`
  reverts the writes that were not synced; `powerloss --flip DATADIR --seed
  N --what log|snapshot` flips one bit of a stopped node's files.

Invariants
  1. The magic is written last, after the version, so the shim never sees
     a half-initialised file.
  2. heal() zeroes every countdown, the sync stall and the clock offset;
     a Shim never leaves a node with a fault armed.
"""

import mmap
import os
import struct
import subprocess

MAGIC = 0x5A464C54
CTL_SIZE = 4096
FIELDS = {"fail_fsync": 16, "short_write": 20, "fail_write": 24,
          "eio_read": 28}
COUNTERS = {"fail_fsync": 32, "short_write": 40, "fail_write": 48,
            "eio_read": 56}
OFFSET_NS = 8
SYNC_DELAY_MS = 64
STALLED = 72
TOOL_TIMEOUT = 60


class Shim:
    def __init__(self, library, powerloss):
        self.library = os.path.abspath(library)
        self.powerloss_tool = os.path.abspath(powerloss)

    @staticmethod
    def found(build_dir):
        """A Shim for the files built in build_dir, or None."""
        for sub in ("tests/faults", ""):
            lib = os.path.join(build_dir, sub, "libzabfs_faultshim.so")
            tool = os.path.join(build_dir, sub, "powerloss")
            if os.path.exists(lib) and os.access(tool, os.X_OK):
                return Shim(lib, tool)
        return None

    @staticmethod
    def ctl_path(node):
        return os.path.join(node.dir, "fault.ctl")

    @staticmethod
    def journal_path(node):
        return os.path.join(node.dir, "fault.journal")

    def prepare(self, node):
        with open(self.ctl_path(node), "wb") as f:
            f.write(b"\0" * CTL_SIZE)
        with open(self.ctl_path(node), "r+b") as f:
            m = mmap.mmap(f.fileno(), CTL_SIZE)
            struct.pack_into("=I", m, 4, 1)
            struct.pack_into("=I", m, 0, MAGIC)
            m.close()

    def env(self, node):
        asan = os.environ.get("ASAN_OPTIONS", "")
        if "verify_asan_link_order" not in asan:
            # the shim comes before libasan in the link order: harmless
            asan = (asan + ":" if asan else "") + "verify_asan_link_order=0"
        # the shim keeps each data file's path for the process's life
        # (faultshim.c, invariant 3): not a leak of zabfs's
        asan += ":detect_leaks=0"
        return {"LD_PRELOAD": self.library, "ASAN_OPTIONS": asan,
                "ZABFS_FAULT_CTL": self.ctl_path(node),
                "ZABFS_FAULT_DIR": node.data_dir,
                "ZABFS_FAULT_JOURNAL": self.journal_path(node)}

    def _poke(self, node, fmt, offset, value):
        """Writes one field of the node's control file."""
        with open(self.ctl_path(node), "r+b") as f:
            with mmap.mmap(f.fileno(), CTL_SIZE) as m:
                struct.pack_into(fmt, m, offset, value)

    def _peek(self, node, fmt, offset):
        """Reads one field of the node's control file."""
        with open(self.ctl_path(node), "r+b") as f:
            with mmap.mmap(f.fileno(), CTL_SIZE) as m:
                return struct.unpack_from(fmt, m, offset)[0]

    def arm(self, node, field, count):
        self._poke(node, "=I", FIELDS[field], count)

    def set_clock(self, node, offset_ns):
        self._poke(node, "=q", OFFSET_NS, offset_ns)

    def stall_syncs(self, node, ms):
        """Every sync of the node's data files sleeps ms first (0: off)."""
        self._poke(node, "=I", SYNC_DELAY_MS, ms)

    def stalled(self, node):
        """How many syncs the node's shim has stalled."""
        return self._peek(node, "=Q", STALLED)

    def injected(self, node):
        """{field: faults injected so far} from the shim's counters."""
        return {k: self._peek(node, "=Q", off) for k, off in COUNTERS.items()}

    def heal(self, node):
        for field in FIELDS:
            self.arm(node, field, 0)
        self.stall_syncs(node, 0)
        self.set_clock(node, 0)

    def _tool(self, argv):
        p = subprocess.run([self.powerloss_tool] + argv,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=TOOL_TIMEOUT)
        if p.returncode != 0:
            raise RuntimeError("powerloss %s failed (%d): %s" % (
                " ".join(argv), p.returncode, p.stdout.strip()))
        return p.stdout.strip()

    def power_loss(self, node, mode, seed):
        """After kill -9: revert the un-synced writes (mode drop|torn|keep)."""
        return self._tool([self.journal_path(node), node.data_dir,
                           "--seed", str(seed), "--mode", mode])

    def flip(self, node, what, seed):
        """Flip one bit in the node's log or snapshot files (node stopped)."""
        return self._tool(["--flip", node.data_dir, "--seed", str(seed),
                           "--what", what])
