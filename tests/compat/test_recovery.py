"""Recovery of a real zabfs node from damaged files on disk (zabfs only: the
files are zabfs's own formats).

- A torn tail (the last record cut short, as a crash mid-write leaves it):
  the node starts, keeps every earlier transaction, and takes new writes.
- Corruption in the middle of the log (a bit flipped in a record followed by
  valid records): the node refuses to start, naming the file and offset,
  and changes nothing on disk.
- A damaged newest snapshot: the node falls back to an older one plus the
  log and loses nothing.
"""
import glob
import os
import struct
import subprocess
import unittest

import harness

LOG_HEADER_SIZE = 20  # include/zabfs/logfmt.h: LOGFMT_HEADER_SIZE


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


@unittest.skipUnless(harness.server_kind() == "zabfs",
                     "zabfs's own file formats (ZooKeeper's differ)")
class RecoveryTests(harness.CompatTestCase):
    SERVER_OPTS = {"extra_cfg": ("snapCount=200",)}

    def write_nodes(self, prefix, n, keep=False):
        """Creates n nodes; with keep, the session stays open (so that the
        last record in the log is the last create), and is returned."""
        zk = self.kazoo()
        zk.ensure_path(self.root)
        for i in range(n):
            zk.create("%s/%s%d" % (self.root, prefix, i), b"v%d" % i)
        if keep:
            return zk
        zk.stop()
        return None

    def count(self, prefix):
        zk = self.kazoo()
        kids = [k for k in zk.get_children(self.root) if k.startswith(prefix)]
        zk.stop()
        return len(kids)

    def segments(self):
        return sorted(glob.glob(os.path.join(self.server.data_dir, "log.*")))

    def records(self, path):
        """(offset, length) of each record of a segment (after its header,
        LOG_HEADER_SIZE bytes; a record is u32 length, u32 crc, i64 zxid,
        payload)."""
        data = read_file(path)
        out, pos = [], LOG_HEADER_SIZE
        while pos + 16 <= len(data):
            (n,) = struct.unpack_from("!I", data, pos)
            if n == 0:
                break
            out.append((pos, 16 + n))
            pos += 16 + n
        return out

    def test_torn_tail_is_cut(self):
        zk = self.write_nodes("a", 50, keep=True)
        self.server.kill9()
        zk.stop()
        last = self.segments()[-1]
        recs = self.records(last)
        off, length = recs[-1]
        with open(last, "r+b") as f:  # the last record, half written
            f.seek(off + length // 2)
            f.write(b"\0" * (length - length // 2))
        self.server.start()
        self.assertEqual(self.count("a"), 49)
        self.write_nodes("b", 5)
        self.server.restart()
        self.assertEqual((self.count("a"), self.count("b")), (49, 5))

    def test_corruption_in_the_middle_refuses_to_start(self):
        self.write_nodes("c", 30)
        self.server.kill9()
        last = self.segments()[-1]
        recs = self.records(last)
        self.assertGreater(len(recs), 3)
        off, length = recs[len(recs) // 2]
        with open(last, "r+b") as f:
            f.seek(off + length - 1)
            byte = f.read(1)
            f.seek(off + length - 1)
            f.write(bytes([byte[0] ^ 0x40]))
        before = read_file(last)
        proc = subprocess.run([harness.zabfs_bin(), self.server.cfg_path],
                              capture_output=True, timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        err = proc.stderr.decode()
        self.assertIn(os.path.basename(last), err)
        self.assertIn("offset", err)
        self.assertEqual(read_file(last), before)  # nothing changed
        # Undo the flip: the node starts with everything.
        with open(last, "r+b") as f:
            f.seek(off + length - 1)
            f.write(byte)
        self.server.start()
        self.assertEqual(self.count("c"), 30)

    def test_damaged_snapshot_falls_back(self):
        self.write_nodes("d", 600)  # several snapshots at snapCount=200
        self.server.stop()
        snaps = sorted(glob.glob(os.path.join(self.server.data_dir, "snapshot.*")))
        self.assertGreaterEqual(len(snaps), 2)
        with open(snaps[-1], "r+b") as f:
            f.seek(os.path.getsize(snaps[-1]) // 2)
            f.write(b"\xff" * 16)
        self.server.start()
        self.assertEqual(self.count("d"), 600)


if __name__ == "__main__":
    unittest.main()
