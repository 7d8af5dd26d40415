"""Attributes that write and who may do what on the mount (filesystem.md
sections 3 and 6): compare-and-set and conditional delete through
setfattr, the ACL as text in user.zk.acl, uid:/gid: entries matched
against real non-root processes (setpriv), mode bits from the ACL, and
root as super only when configured.

Design
  Uses test_mount's MountTestCase (one node with its tree mounted per
  class, a directory per test); kazoo on the same node checks what the
  client port sees.
"""

import os
import time
import unittest

from kazoo.exceptions import InvalidACLError
from kazoo.security import make_acl

from test_mount import MountTestCase

NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups "
OTHER = "setpriv --reuid=65533 --regid=65533 --clear-groups "


class XattrWriteTest(MountTestCase):
    def version(self, name):
        _, out, _ = self.run_sh(
            "getfattr --only-values -n user.zk.version " + name)
        return int(out)

    def test_compare_and_set(self):
        self.run_sh("echo 1 > c")
        v = self.version("c")
        self.run_sh("setfattr -n user.zk.set.%d -v 2 c" % v)
        self.assertEqual(self.zk.get(self.zpath + "/c")[0], b"2")
        rc, _, err = self.run_sh("setfattr -n user.zk.set.%d -v 3 c" % v,
                                 check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("Stale file handle", err)
        self.assertEqual(self.zk.get(self.zpath + "/c")[0], b"2")

    def test_conditional_delete(self):
        self.run_sh("echo x > f")
        rc, _, err = self.run_sh("setfattr -n user.zk.delete.7 f",
                                 check=False)
        self.assertIn("Stale file handle", err)
        self.assertIsNotNone(self.zk.exists(self.zpath + "/f"))
        self.run_sh("setfattr -n user.zk.delete.%d f" % self.version("f"))
        self.assertIsNone(self.zk.exists(self.zpath + "/f"))

    def test_directory_data_and_read_only_fields(self):
        self.run_sh("mkdir d && setfattr -n user.zk.data -v cfg d")
        self.assertEqual(self.zk.get(self.zpath + "/d")[0], b"cfg")
        rc, _, err = self.run_sh("setfattr -n user.zk.version -v 3 d",
                                 check=False)
        self.assertIn("Operation not permitted", err)

    def test_acl_text_round_trip_and_mode_bits(self):
        self.run_sh("echo x > f")
        self.run_sh("setfattr -n user.zk.acl -v 'world:anyone:ra' f")
        acl, stat = self.zk.get_acls(self.zpath + "/f")
        self.assertEqual([(a.perms, a.id.scheme, a.id.id) for a in acl],
                         [(17, "world", "anyone")])
        _, out, _ = self.run_sh("stat -c %A f; "
                                "getfattr --only-values -n user.zk.acl f")
        self.assertEqual(out, "-r--r--r--\nworld:anyone:ra\n")
        # root is not super by default: the ACL binds it too
        rc, _, err = self.run_sh("echo y > f", check=False)
        self.assertIn("Permission denied", err)
        self.assertEqual(self.zk.get(self.zpath + "/f")[0], b"x\n")
        # the ACL version guards setfattr user.zk.acl.<aversion>
        rc, _, err = self.run_sh(
            "setfattr -n user.zk.acl.0 -v 'world:anyone:r' f", check=False)
        self.assertIn("Stale file handle", err)

    def test_ctime_is_the_later_of_mtime_and_acl_change(self):
        self.run_sh("echo x > f")
        f = os.path.join(self.dir, "f")
        before = os.stat(f)
        self.assertEqual(before.st_ctime_ns, before.st_mtime_ns)
        _, stat = self.zk.get(self.zpath + "/f")
        self.assertEqual(before.st_mtime_ns, stat.mtime * 1000000)
        time.sleep(0.01)
        self.zk.set_acls(self.zpath + "/f",
                         [make_acl("world", "anyone", all=True)])
        self.wait(lambda: os.stat(f).st_ctime_ns > before.st_ctime_ns,
                  "ctime to move after setACL")
        after = os.stat(f)
        self.assertEqual(after.st_mtime_ns, before.st_mtime_ns)
        # a later data change moves both again, ctime = mtime
        time.sleep(0.01)
        self.run_sh("echo y > f")
        self.wait(lambda: os.stat(f).st_mtime_ns > after.st_ctime_ns,
                  "mtime to pass the ACL change")
        last = os.stat(f)
        self.assertEqual(last.st_ctime_ns, last.st_mtime_ns)

    def test_bad_acl_is_einval_and_changes_nothing(self):
        self.run_sh("echo x > f")
        for bad in ["nonsense", "world:anyone:rq", "martian:x:r",
                    "uid:abc:r", "digest:nohash:r"]:
            rc, _, err = self.run_sh(
                "setfattr -n user.zk.acl -v '%s' f" % bad, check=False)
            self.assertIn("Invalid argument", err, bad)
        acl, _ = self.zk.get_acls(self.zpath + "/f")
        self.assertEqual(acl[0].perms, 31)

    def test_uid_and_gid_entries(self):
        self.run_sh("echo x > f")
        self.run_sh("setfattr -n user.zk.acl -v "
                    "$'uid:65534:rwa\\ngid:4242:r\\nuid:0:cdrwa' f")
        _, out, _ = self.run_sh("stat -c '%A %u %g' f")
        self.assertEqual(out, "-rw-r----- 65534 4242\n")
        self.run_sh(NOBODY + "sh -c 'echo by-nobody > f'")
        _, out, _ = self.run_sh(NOBODY + "cat f")
        self.assertEqual(out, "by-nobody\n")
        rc, _, err = self.run_sh(OTHER + "cat f", check=False)
        self.assertIn("Permission denied", err)
        rc, _, err = self.run_sh(OTHER + "sh -c 'echo no > f'", check=False)
        self.assertIn("Permission denied", err)
        _, out, _ = self.run_sh(
            "setpriv --reuid=65533 --regid=65533 --groups=4242 cat f")
        self.assertEqual(out, "by-nobody\n")

    def test_non_root_denied_create_in_directory(self):
        self.run_sh("mkdir d && setfattr -n user.zk.acl -v "
                    "$'world:anyone:r\\nuid:0:cdrwa' d")
        rc, _, err = self.run_sh(NOBODY + "sh -c 'echo x > d/new'",
                                 check=False)
        self.assertIn("Permission denied", err)
        rc, _, err = self.run_sh(NOBODY + "mkdir d/sub", check=False)
        self.assertIn("Permission denied", err)
        self.assertEqual(self.zk.get_children(self.zpath + "/d"), [])
        self.run_sh("echo ok > d/new")  # uid:0 has c

    def test_client_port_rejects_uid_scheme(self):
        self.zk.create(self.zpath + "/k", b"")
        with self.assertRaises(InvalidACLError):
            self.zk.set_acls(self.zpath + "/k",
                             [make_acl("uid", "0", all=True)])


class RootSuperTest(MountTestCase):
    extra_cfg = ["mountRootSuper=true"]

    def test_root_is_super_when_configured(self):
        self.run_sh("echo x > f")
        self.run_sh("setfattr -n user.zk.acl -v 'world:anyone:r' f")
        self.run_sh("echo y > f")
        self.assertEqual(self.zk.get(self.zpath + "/f")[0], b"y\n")
        rc, _, err = self.run_sh(NOBODY + "sh -c 'echo z > f'", check=False)
        self.assertIn("Permission denied", err)


if __name__ == "__main__":
    unittest.main()
