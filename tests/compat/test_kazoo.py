"""kazoo (python-zk, Debian's 2.8.0) against the server: every client operation.

Every assertion here was checked against Apache ZooKeeper 3.8.0 (Debian
package) with `ZABFS_COMPAT_SERVER=zookeeper`; the comments say which
ZooKeeper rule each test pins down (reference: shared/reference/zookeeper.md).
kazoo 2.8 has no API for container or TTL nodes, so those two requests are
serialised here and sent through kazoo's own connection (client._call).
"""

import collections
import socket
import struct
import threading
import time
import unittest

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (BadArgumentsError, BadVersionError,
                              ConnectionLoss, InvalidACLError, NoAuthError,
                              NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError, NotEmptyError, RolledBackError,
                              RuntimeInconsistency, UnimplementedError)
from kazoo.protocol.serialization import (Create, Delete, GetData,
                                          int_struct, long_struct, read_string,
                                          stat_struct, write_buffer,
                                          write_string)
from kazoo.protocol.states import EventType, ZnodeStat
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, make_digest_acl

import harness
from harness import CompatTestCase, close_quietly, wait_for

WORLD_ALL = OPEN_ACL_UNSAFE


def raw_call(client, request, timeout=10.0):
    """Send a request object (kazoo's serialisation protocol) and wait."""
    a = client.handler.async_result()
    client._call(request, a)
    return a.get(timeout=timeout)


def _ser_create(path, data, acl, flags):
    b = bytearray(write_string(path))
    b.extend(write_buffer(data))
    b.extend(int_struct.pack(len(acl)))
    for a in acl:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) +
                 write_string(a.id.id))
    b.extend(int_struct.pack(flags))
    return b


def _de_create2(buf, offset):
    path, offset = read_string(buf, offset)
    return path, ZnodeStat._make(stat_struct.unpack_from(buf, offset))


class CreateContainer(collections.namedtuple("CreateContainer", "path data acl")):
    type = 19

    def serialize(self):
        return _ser_create(self.path, self.data, self.acl, 4)

    @classmethod
    def deserialize(cls, buf, offset):
        return _de_create2(buf, offset)


class CreateTTL(collections.namedtuple("CreateTTL", "path data acl flags ttl")):
    type = 21

    def serialize(self):
        b = _ser_create(self.path, self.data, self.acl, self.flags)
        b.extend(long_struct.pack(self.ttl))
        return b

    @classmethod
    def deserialize(cls, buf, offset):
        return _de_create2(buf, offset)


class Recorder:
    """Collects watch events; thread-safe; waits are bounded."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def __call__(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait(self, n=1, timeout=10.0):
        with self.cond:
            self.cond.wait_for(lambda: len(self.events) >= n, timeout)
            return list(self.events)


class KazooBasics(CompatTestCase):

    def setUp(self):
        super().setUp()
        self.zk = self.kazoo()
        self.zk.ensure_path(self.root)

    # -- create kinds --------------------------------------------------------

    def test_create_persistent_and_ephemeral(self):
        zk = self.zk
        p = zk.create(self.root + "/p", b"data")
        self.assertEqual(p, self.root + "/p")
        data, st = zk.get(p)
        self.assertEqual(data, b"data")
        self.assertEqual(st.ephemeralOwner, 0)
        e = zk.create(self.root + "/e", b"x", ephemeral=True)
        _, st = zk.get(e)
        self.assertEqual(st.ephemeralOwner, zk.client_id[0])
        # create returns only the path; include_data gives (path, Stat) (create2)
        path, st = zk.create(self.root + "/p2", b"abc", include_data=True)
        self.assertEqual(path, self.root + "/p2")
        self.assertEqual(st.dataLength, 3)
        self.assertEqual(st.version, 0)

    def test_create_sequential(self):
        zk = self.zk
        r = self.root
        self.assertEqual(zk.create(r + "/s-", sequence=True), r + "/s-0000000000")
        self.assertEqual(zk.create(r + "/s-", sequence=True), r + "/s-0000000001")
        # the counter is the parent's count of creates, shared with plain children
        zk.create(r + "/plain")
        self.assertEqual(zk.create(r + "/s-", sequence=True), r + "/s-0000000003")
        # deletes do not lower or raise the counter
        zk.delete(r + "/plain")
        self.assertEqual(zk.create(r + "/s-", sequence=True), r + "/s-0000000004")
        es = zk.create(r + "/es-", ephemeral=True, sequence=True)
        self.assertEqual(es, r + "/es-0000000005")
        self.assertEqual(zk.exists(es).ephemeralOwner, zk.client_id[0])
        # a name made only of the suffix: "/parent/" + sequence
        self.assertEqual(zk.create(r + "/", sequence=True), r + "/0000000006")
        self.assertEqual(sorted(zk.get_children(r)),
                         ["0000000006", "es-0000000005", "s-0000000000",
                          "s-0000000001", "s-0000000003", "s-0000000004"])

    def test_makepath_and_ensure_path(self):
        zk = self.zk
        with self.assertRaises(NoNodeError):
            zk.create(self.root + "/a/b/c", b"v")
        zk.create(self.root + "/a/b/c", b"v", makepath=True)
        self.assertEqual(zk.get(self.root + "/a/b/c")[0], b"v")
        self.assertEqual(zk.get(self.root + "/a/b")[0], b"")
        self.assertTrue(zk.ensure_path(self.root + "/x/y/z"))
        self.assertTrue(zk.ensure_path(self.root + "/x/y/z"))  # idempotent
        self.assertIsNotNone(zk.exists(self.root + "/x/y/z"))

    def test_container(self):
        """createContainer (op 19) answers Create2Response; ephemeralOwner shows 0."""
        zk = self.zk
        path, st = raw_call(zk, CreateContainer(self.root + "/c", b"cd", WORLD_ALL))
        self.assertEqual(path, self.root + "/c")
        self.assertEqual(st.ephemeralOwner, 0)
        self.assertEqual(st.dataLength, 2)
        self.assertEqual(zk.get(path)[1].ephemeralOwner, 0)
        with self.assertRaises(NodeExistsError):
            raw_call(zk, CreateContainer(self.root + "/c", b"", WORLD_ALL))
        zk.create(path + "/child")
        e = zk.create(path + "/eph", ephemeral=True)
        self.assertEqual(sorted(zk.get_children(path)), ["child", "eph"])
        # a container that never had a child is kept
        never, _ = raw_call(zk, CreateContainer(self.root + "/never", b"", WORLD_ALL))
        if not self.server.controllable:
            return  # the reaper period of an external server is unknown
        # once its last child goes, the container manager deletes it
        # (every znode.container.checkIntervalMs)
        rec = Recorder()
        zk.exists(path, watch=rec)
        zk.delete(path + "/child")
        zk.delete(e)
        ev = rec.wait(1, timeout=10)
        self.assertEqual([(x.type, x.path) for x in ev], [(EventType.DELETED, path)])
        self.assertIsNone(zk.exists(path))
        self.assertIsNotNone(zk.exists(never))

    def test_ttl_disabled_by_default(self):
        """Without extendedTypesEnabled, createTTL gives UNIMPLEMENTED (-6)
        and the connection stays usable."""
        self.server.require_control(self)
        with self.assertRaises(UnimplementedError):
            raw_call(self.zk, CreateTTL(self.root + "/t", b"", WORLD_ALL, 5, 1000))
        self.assertIsNone(self.zk.exists(self.root + "/t"))

    # -- get / set / exists / versions --------------------------------------

    def test_get_set_versions(self):
        zk = self.zk
        p = zk.create(self.root + "/v", b"0")
        st = zk.set(p, b"1", version=0)
        self.assertEqual(st.version, 1)
        with self.assertRaises(BadVersionError):
            zk.set(p, b"2", version=0)
        self.assertEqual(zk.get(p)[0], b"1")
        st = zk.set(p, b"2")  # -1 = any version
        self.assertEqual(st.version, 2)
        with self.assertRaises(BadVersionError):
            zk.delete(p, version=1)
        zk.delete(p, version=2)
        self.assertIsNone(zk.exists(p))
        with self.assertRaises(NoNodeError):
            zk.set(p, b"x")
        with self.assertRaises(NoNodeError):
            zk.get(p)
        with self.assertRaises(NoNodeError):
            zk.delete(p)

    def test_empty_and_binary_data(self):
        zk = self.zk
        p = zk.create(self.root + "/bin", bytes(range(256)))
        self.assertEqual(zk.get(p)[0], bytes(range(256)))
        zk.set(p, b"")
        data, st = zk.get(p)
        self.assertEqual((data, st.dataLength), (b"", 0))

    def test_exists_missing_is_none(self):
        self.assertIsNone(self.zk.exists(self.root + "/nope"))
        self.assertIsNone(self.zk.exists("/no/such/parent"))
        self.assertIsNotNone(self.zk.exists("/"))

    def test_children(self):
        zk = self.zk
        for n in ("b", "a", "c"):
            zk.create("%s/%s" % (self.root, n), n.encode())
        self.assertEqual(sorted(zk.get_children(self.root)), ["a", "b", "c"])
        kids, st = zk.get_children(self.root, include_data=True)
        self.assertEqual(sorted(kids), ["a", "b", "c"])
        self.assertEqual(st.numChildren, 3)
        self.assertEqual(zk.get_children(self.root + "/a"), [])
        with self.assertRaises(NoNodeError):
            zk.get_children(self.root + "/zz")

    def test_root_and_system_nodes(self):
        zk = self.zk
        self.assertIn("zookeeper", zk.get_children("/"))
        self.assertEqual(sorted(zk.get_children("/zookeeper")), ["config", "quota"])
        data, st = zk.get("/zookeeper/config")
        self.assertEqual((st.czxid, st.mzxid, st.version), (0, 0, 0))
        acl, _ = zk.get_acls("/zookeeper/config")
        self.assertEqual([(a.perms, a.id.scheme, a.id.id) for a in acl],
                         [(1, "world", "anyone")])
        with self.assertRaises(NoAuthError):
            zk.set("/zookeeper/config", b"x")
        # /zookeeper's stat is all zero except numChildren, so the client-side
        # cversion formula (2*creates - numChildren) shows -2
        st = zk.exists("/zookeeper")
        self.assertEqual((st.czxid, st.mzxid, st.pzxid if self.server.controllable else 0),
                         (0, 0, 0))
        if self.server.controllable:  # fresh server: nothing created below it yet
            self.assertEqual((st.numChildren, st.cversion), (2, -2))
        # deleting the system nodes is BADARGUMENTS ...
        for p in ("/zookeeper", "/zookeeper/config", "/zookeeper/quota"):
            with self.assertRaises(BadArgumentsError):
                zk.delete(p)
        # ... but creating below them is allowed (3.8.0)
        c = zk.create("/zookeeper/compat-%s" % self.root.rsplit("-", 1)[-1])
        st1 = zk.exists("/zookeeper")
        zk.delete(c)
        st2 = zk.exists("/zookeeper")
        self.assertEqual((st1.cversion, st2.cversion), (st.cversion + 1, st.cversion + 2))
        self.assertEqual((st1.numChildren, st2.numChildren), (st.numChildren + 1, st.numChildren))

    def test_delete_recursive(self):
        zk = self.zk
        zk.create(self.root + "/t/a/b", makepath=True)
        zk.create(self.root + "/t/c")
        with self.assertRaises(NotEmptyError):
            zk.delete(self.root + "/t")
        zk.delete(self.root + "/t", recursive=True)
        self.assertIsNone(zk.exists(self.root + "/t"))
        self.assertEqual(zk.get_children(self.root), [])

    # -- errors ------------------------------------------------------------

    def test_errors(self):
        zk = self.zk
        zk.create(self.root + "/n")
        with self.assertRaises(NodeExistsError):
            zk.create(self.root + "/n")
        with self.assertRaises(NoNodeError):
            zk.create(self.root + "/missing/child")
        e = zk.create(self.root + "/eph", ephemeral=True)
        with self.assertRaises(NoChildrenForEphemeralsError):
            zk.create(e + "/child")
        with self.assertRaises(NodeExistsError):
            zk.create("/zookeeper")
        with self.assertRaises(InvalidACLError):  # kazoo turns acl=[] into None
            raw_call(zk, Create(self.root + "/noacl", b"", [], 0))
        with self.assertRaises(InvalidACLError):
            zk.create(self.root + "/badscheme", acl=[ACL(31, Id("nosuch", "x"))])
        self.assertIsNone(zk.exists(self.root + "/noacl"))

    def test_bad_paths_bad_arguments(self):
        """Paths kazoo would normalise are sent raw: the server says BADARGUMENTS."""
        zk = self.zk
        bad = [self.root + "/", self.root + "/.", self.root + "/..",
               "noslash", self.root + "/x\x01y", self.root + "/\u007f",
               self.root + "/\U0001F600", self.root + "/\ue000"]
        for p in bad:
            with self.subTest(path=p):
                with self.assertRaises(BadArgumentsError):
                    raw_call(zk, Create(p, b"", WORLD_ALL, 0))
        # create looks the parent up (everything before the last "/") before
        # it validates the path: an empty component in the parent is NONODE
        for p in ("/a//b", self.root + "//b"):
            with self.subTest(path=p):
                with self.assertRaises(NoNodeError):
                    raw_call(zk, Create(p, b"", WORLD_ALL, 0))
        # reads do not validate at all: a malformed path is simply not found
        for p in ("a//b", self.root + "/", self.root + "//"):
            with self.subTest(path=p):
                with self.assertRaises(NoNodeError):
                    raw_call(zk, GetData(p, None))
        # deleting the root
        with self.assertRaises(BadArgumentsError):
            raw_call(zk, Delete("/", -1))
        # nothing was created and the session still works
        self.assertEqual(zk.get_children(self.root), [])
        # non-ASCII BMP characters are fine
        p = zk.create(self.root + "/caf\u00e9-\u4e2d")
        self.assertIn("caf\u00e9-\u4e2d", zk.get_children(self.root))
        zk.delete(p)

    # -- Stat rules (reference §1.3) ---------------------------------------

    def test_stat_rules(self):
        zk = self.zk
        p, st0 = zk.create(self.root + "/s", b"abc", include_data=True)
        self.assertEqual(st0.czxid, st0.mzxid)
        self.assertEqual(st0.czxid, st0.pzxid)
        self.assertEqual(st0.ctime, st0.mtime)
        self.assertAlmostEqual(st0.ctime / 1000.0, time.time(), delta=60)
        self.assertEqual((st0.version, st0.cversion, st0.aversion), (0, 0, 0))
        self.assertEqual((st0.dataLength, st0.numChildren, st0.ephemeralOwner),
                         (3, 0, 0))
        self.assertEqual(zk.exists(p), st0)
        # setData: mzxid/mtime/version/dataLength change; czxid/pzxid do not
        st1 = zk.set(p, b"abcdef")
        self.assertGreater(st1.mzxid, st0.mzxid)
        self.assertEqual(st1.czxid, st0.czxid)
        self.assertEqual(st1.pzxid, st0.pzxid)
        self.assertGreaterEqual(st1.mtime, st0.mtime)
        self.assertEqual(st1.ctime, st0.ctime)
        self.assertEqual((st1.version, st1.cversion, st1.aversion), (1, 0, 0))
        self.assertEqual(st1.dataLength, 6)
        # same bytes again still bump the version
        st2 = zk.set(p, b"abcdef")
        self.assertEqual(st2.version, 2)
        self.assertGreater(st2.mzxid, st1.mzxid)
        # child create: parent's cversion/numChildren/pzxid; not mzxid/version
        c, cst = zk.create(p + "/c1", include_data=True)
        st3 = zk.exists(p)
        self.assertEqual(st3.pzxid, cst.czxid)
        self.assertEqual((st3.cversion, st3.numChildren), (1, 1))
        self.assertEqual((st3.mzxid, st3.version), (st2.mzxid, 2))
        zk.create(p + "/c2")
        st4 = zk.exists(p)
        self.assertEqual((st4.cversion, st4.numChildren), (2, 2))
        # child delete: cversion counts deletes too; pzxid = the delete's zxid
        zk.delete(c)
        del_zxid = zk.last_zxid
        st5 = zk.exists(p)
        self.assertEqual((st5.cversion, st5.numChildren), (3, 1))
        self.assertEqual(st5.pzxid, del_zxid)
        self.assertGreater(st5.pzxid, st4.pzxid)
        self.assertEqual(st5.mzxid, st2.mzxid)
        # setACL: only aversion changes
        st6 = zk.set_acls(p, WORLD_ALL)
        self.assertEqual(st6.aversion, 1)
        self.assertEqual((st6.version, st6.cversion, st6.mzxid, st6.pzxid),
                         (st5.version, st5.cversion, st5.mzxid, st5.pzxid))
        self.assertEqual(zk.exists(p), st6)
        # setACL with a version checks aversion
        with self.assertRaises(BadVersionError):
            zk.set_acls(p, WORLD_ALL, version=0)
        self.assertEqual(zk.set_acls(p, WORLD_ALL, version=1).aversion, 2)
        # the child's own stat
        self.assertEqual(zk.exists(p + "/c2").numChildren, 0)

    def test_stat_ephemeral_close_updates_parent(self):
        """An ephemeral removed by session close bumps the parent's
        cversion and pzxid like an ordinary delete."""
        other = self.kazoo()
        e = other.create(self.root + "/eph", ephemeral=True)
        before = self.zk.exists(self.root)
        self.assertEqual(self.zk.exists(e).ephemeralOwner, other.client_id[0])
        other.stop()
        self.assertIsNone(self.zk.exists(e))
        after = self.zk.exists(self.root)
        self.assertEqual(after.cversion, before.cversion + 1)
        self.assertEqual(after.numChildren, before.numChildren - 1)
        self.assertGreater(after.pzxid, before.pzxid)

    def test_zxid_monotonic_and_reply_zxid(self):
        zk = self.zk
        zxids = []
        for i in range(5):
            _, st = zk.create("%s/z%d" % (self.root, i), include_data=True)
            zxids.append(st.czxid)
            self.assertEqual(zk.last_zxid, st.czxid)
        self.assertEqual(zxids, sorted(zxids))
        self.assertEqual(len(set(zxids)), 5)

    # -- watches ---------------------------------------------------------

    def test_data_watch_one_shot(self):
        zk = self.zk
        p = zk.create(self.root + "/w", b"0")
        rec = Recorder()
        zk.get(p, watch=rec)
        zk.set(p, b"1")
        zk.set(p, b"2")
        ev = rec.wait(1)
        time.sleep(0.3)
        self.assertEqual(len(rec.events), 1, rec.events)
        self.assertEqual(ev[0].type, EventType.CHANGED)
        self.assertEqual(ev[0].path, p)

    def test_exists_watch_on_missing_node(self):
        zk = self.zk
        p = self.root + "/later"
        rec = Recorder()
        self.assertIsNone(zk.exists(p, watch=rec))
        zk.create(p)
        ev = rec.wait(1)
        self.assertEqual([(e.type, e.path) for e in ev], [(EventType.CREATED, p)])
        rec2 = Recorder()
        zk.exists(p, watch=rec2)
        zk.delete(p)
        self.assertEqual([e.type for e in rec2.wait(1)], [EventType.DELETED])

    def test_child_watch_one_shot(self):
        zk = self.zk
        rec = Recorder()
        zk.get_children(self.root, watch=rec)
        zk.create(self.root + "/a")
        zk.create(self.root + "/b")
        ev = rec.wait(1)
        time.sleep(0.3)
        self.assertEqual([(e.type, e.path) for e in rec.events],
                         [(EventType.CHILD, self.root)])
        # setData on the parent does not fire a child watch
        rec2 = Recorder()
        zk.get_children(self.root, watch=rec2)
        zk.set(self.root, b"x")
        time.sleep(0.3)
        self.assertEqual(rec2.events, [])
        zk.delete(self.root + "/a")
        self.assertEqual([e.type for e in rec2.wait(1)], [EventType.CHILD])
        del ev

    def test_delete_fires_data_and_child_watches(self):
        zk = self.zk
        p = zk.create(self.root + "/d")
        data_rec, child_rec, parent_rec = Recorder(), Recorder(), Recorder()
        zk.get(p, watch=data_rec)
        zk.get_children(p, watch=child_rec)
        zk.get_children(self.root, watch=parent_rec)
        zk.delete(p)
        self.assertEqual([e.type for e in data_rec.wait(1)], [EventType.DELETED])
        self.assertEqual([e.type for e in child_rec.wait(1)], [EventType.DELETED])
        self.assertEqual([e.type for e in parent_rec.wait(1)], [EventType.CHILD])

    def test_watch_seen_by_other_session(self):
        other = self.kazoo()
        p = self.zk.create(self.root + "/o", b"0")
        rec = Recorder()
        other.get(p, watch=rec)
        self.zk.set(p, b"1")
        ev = rec.wait(1)
        self.assertEqual(ev[0].type, EventType.CHANGED)
        # ordering: the event arrives before the reply of a later read
        self.assertEqual(other.get(p)[0], b"1")

    def test_datawatch_childrenwatch_recipes(self):
        zk = self.zk
        p = self.root + "/r"
        seen_data, seen_kids = [], []
        got = threading.Event()

        @zk.DataWatch(p)
        def _dw(data, stat):
            seen_data.append(data)
            got.set()

        zk.create(p, b"v1")
        wait_for(lambda: b"v1" in seen_data, 10)
        zk.set(p, b"v2")
        wait_for(lambda: b"v2" in seen_data, 10)
        self.assertEqual(seen_data[0], None)
        self.assertEqual(seen_data[-1], b"v2")

        @zk.ChildrenWatch(p)
        def _cw(children):
            seen_kids.append(sorted(children))

        zk.create(p + "/k1")
        zk.create(p + "/k2")
        wait_for(lambda: seen_kids and seen_kids[-1] == ["k1", "k2"], 10)
        self.assertEqual(seen_kids[0], [])
        self.assertEqual(seen_kids[-1], ["k1", "k2"])

    # -- ACLs --------------------------------------------------------------

    def test_digest_acl(self):
        owner = self.kazoo()
        owner.add_auth("digest", "alice:secret")
        acl = make_digest_acl("alice", "secret", all=True)
        p = owner.create(self.root + "/acl", b"private", acl=[acl])
        self.assertEqual(owner.get(p)[0], b"private")
        stranger = self.zk
        with self.assertRaises(NoAuthError):
            stranger.get(p)
        with self.assertRaises(NoAuthError):
            stranger.set(p, b"x")
        with self.assertRaises(NoAuthError):
            stranger.create(p + "/child")
        with self.assertRaises(NoAuthError):
            stranger.get_children(p)
        with self.assertRaises(NoAuthError):
            stranger.get_acls(p)
        with self.assertRaises(NoAuthError):
            stranger.set_acls(p, WORLD_ALL)
        # exists needs READ since 3.8.4/3.9.2 (zabfs follows 3.9); 3.8.0,
        # the Debian package, still answered it without a check.
        if harness.server_kind() != "zabfs":
            self.assertIsNotNone(stranger.exists(p))
        else:
            with self.assertRaises(NoAuthError):
                stranger.exists(p)
        # the wrong password does not help (auth "succeeds", id just differs)
        wrong = self.kazoo(auth_data=[("digest", "alice:wrong")])
        with self.assertRaises(NoAuthError):
            wrong.get(p)
        # the superuser bypasses every check
        root = self.kazoo(auth_data=[harness.SUPER_AUTH])
        self.assertEqual(root.get(p)[0], b"private")
        root.set(p, b"by-super")
        self.assertEqual(owner.get(p)[0], b"by-super")
        acls, st = owner.get_acls(p)
        self.assertEqual([(a.perms, a.id.scheme, a.id.id) for a in acls],
                         [(31, "digest", acl.id.id)])
        self.assertEqual(st.aversion, 0)
        # the parent's DELETE permission governs deleting the child
        stranger.delete(p)
        self.assertIsNone(owner.exists(p))

    def test_acl_per_permission(self):
        owner = self.kazoo(auth_data=[("digest", "bob:pw")])
        bob_all = make_digest_acl("bob", "pw", all=True)
        read_only = [bob_all, ACL(1, Id("world", "anyone"))]
        p = owner.create(self.root + "/ro", b"r", acl=read_only)
        zk = self.zk
        self.assertEqual(zk.get(p)[0], b"r")
        self.assertEqual(zk.get_children(p), [])
        with self.assertRaises(NoAuthError):
            zk.set(p, b"w")
        with self.assertRaises(NoAuthError):
            zk.create(p + "/c")
        # getACL needs READ or ADMIN: READ suffices, but without ADMIN the
        # digest hash is masked to "user:x"
        acls, _ = zk.get_acls(p)
        self.assertEqual(sorted((a.perms, a.id.scheme, a.id.id) for a in acls),
                         [(1, "world", "anyone"), (31, "digest", "bob:x")])
        acls, _ = owner.get_acls(p)
        self.assertEqual(sorted((a.perms, a.id.scheme, a.id.id) for a in acls),
                         [(1, "world", "anyone"), (31, "digest", bob_all.id.id)])
        # "auth" scheme expands to the caller's authenticated ids
        q = owner.create(self.root + "/authacl", acl=[ACL(31, Id("auth", ""))])
        acls, _ = owner.get_acls(q)
        self.assertEqual([(a.perms, a.id.scheme, a.id.id) for a in acls],
                         [(31, "digest", bob_all.id.id)])
        # ... and is invalid for a session with no authenticated id
        with self.assertRaises(InvalidACLError):
            zk.create(self.root + "/authacl2", acl=[ACL(31, Id("auth", ""))])
        # create-only permission for the world
        c = owner.create(self.root + "/cr", acl=[bob_all, ACL(4, Id("world", "anyone"))])
        zk.create(c + "/kid")
        with self.assertRaises(NoAuthError):
            zk.delete(c + "/kid")
        with self.assertRaises(NoAuthError):
            zk.get(c)
        owner.delete(c, recursive=True)

    def test_set_acls(self):
        zk = self.zk
        p = zk.create(self.root + "/sa", b"v")
        st = zk.set_acls(p, [ACL(1 | 16, Id("world", "anyone"))])
        self.assertEqual(st.aversion, 1)
        with self.assertRaises(NoAuthError):
            zk.set(p, b"w")
        with self.assertRaises(InvalidACLError):
            zk.set_acls(p, [])
        zk.set_acls(p, WORLD_ALL)
        zk.set(p, b"w")
        acls, st = zk.get_acls(p)
        self.assertEqual(st.aversion, 2)
        self.assertEqual(list(acls), list(WORLD_ALL))

    # -- transactions ----------------------------------------------------

    def test_transaction_commit(self):
        zk = self.zk
        zk.create(self.root + "/x", b"0")
        t = zk.transaction()
        t.create(self.root + "/t1", b"a")
        t.create(self.root + "/seq-", b"b", sequence=True)
        t.set_data(self.root + "/x", b"1")
        t.check(self.root + "/x", 1)
        t.delete(self.root + "/t1")
        res = t.commit()
        self.assertEqual(res[0], self.root + "/t1")
        self.assertEqual(res[1], self.root + "/seq-0000000002")
        self.assertEqual(res[2].version, 1)
        self.assertEqual(res[3], True)
        self.assertEqual(res[4], True)
        self.assertEqual(zk.get(self.root + "/x")[0], b"1")
        self.assertIsNone(zk.exists(self.root + "/t1"))
        # the whole multi is one txn with one zxid
        st = zk.exists(self.root + "/seq-0000000002")
        self.assertEqual(st.czxid, zk.exists(self.root + "/x").mzxid)

    def test_transaction_all_or_nothing(self):
        zk = self.zk
        zk.create(self.root + "/x", b"0")
        before = zk.exists(self.root)
        t = zk.transaction()
        t.create(self.root + "/new", b"a")
        t.set_data(self.root + "/x", b"1")
        t.check(self.root + "/x", 7)  # fails: version is 0 (1 inside the txn)
        t.create(self.root + "/new2")
        res = t.commit()
        self.assertEqual([type(r) for r in res],
                         [RolledBackError, RolledBackError, BadVersionError,
                          RuntimeInconsistency])
        self.assertIsNone(zk.exists(self.root + "/new"))
        self.assertEqual(zk.get(self.root + "/x")[0], b"0")
        self.assertEqual(zk.exists(self.root + "/x").version, 0)
        after = zk.exists(self.root)
        self.assertEqual(after, before)
        # a failing create in the middle
        t = zk.transaction()
        t.create(self.root + "/a1")
        t.create(self.root + "/x")
        res = t.commit()
        self.assertEqual([type(r) for r in res], [RolledBackError, NodeExistsError])
        self.assertIsNone(zk.exists(self.root + "/a1"))

    # -- misc ops -------------------------------------------------------

    def test_sync_and_server_info(self):
        zk = self.zk
        self.assertEqual(zk.sync(self.root), self.root)
        self.assertEqual(zk.command(b"ruok"), "imok")
        srvr = zk.command(b"srvr")
        self.assertIn("Mode: standalone", srvr)
        self.assertRegex(srvr, r"Zxid: 0x[0-9a-f]+")
        self.assertRegex(srvr, r"Zookeeper version: ")
        self.assertRegex(srvr, r"Node count: \d+")
        v = zk.server_version()  # parsed from `envi`: zookeeper.version=3.x.y-...
        self.assertGreaterEqual(len(v), 3)
        self.assertEqual(v[0], 3)
        self.assertGreaterEqual(v[1], 5)

    def test_large_data(self):
        """jute.maxbuffer = 1,048,575 bounds the whole request frame: a
        setData whose frame is exactly that size works, one byte more and
        the server closes the connection (kazoo: ConnectionLoss) and
        nothing is written."""
        zk = self.zk
        p = zk.create(self.root + "/big", b"small")
        # frame = header 8 + path (4+len) + data (4+n) + version 4
        n = harness.MAXBUFFER - 8 - (4 + len(p.encode())) - 4 - 4
        blob = bytes((i * 7) & 0xFF for i in range(n))
        st = zk.set(p, blob)
        self.assertEqual(st.dataLength, n)
        data, st = zk.get(p)
        self.assertEqual((len(data), data == blob), (n, True))
        with self.assertRaises(ConnectionLoss):
            zk.set(p, blob + b"!")
        zk.set(self.root, b"")  # waits for the reconnect (same session)
        self.assertEqual(zk.get(p)[1].dataLength, n)
        # a create with data over the limit fails the same way
        with self.assertRaises(ConnectionLoss):
            zk.create(self.root + "/big2", b"y" * (harness.MAXBUFFER + 10))
        self.assertIsNone(zk.exists(self.root + "/big2"))

    def test_many_children(self):
        zk = self.zk
        p = zk.create(self.root + "/many")
        names = ["child-%05d" % i for i in range(2000)]
        asyncs = [zk.create_async(p + "/" + n, b"x") for n in names]
        for a in asyncs:
            a.get(timeout=30)
        self.assertEqual(sorted(zk.get_children(p)), names)
        self.assertEqual(zk.exists(p).numChildren, 2000)
        self.assertEqual(zk.exists(p).cversion, 2000)


class KazooSessions(CompatTestCase):
    """Ephemerals vs session close, expiry and reconnect."""

    def setUp(self):
        super().setUp()
        self.zk = self.kazoo()
        self.zk.ensure_path(self.root)

    def test_ephemeral_removed_on_close(self):
        other = self.kazoo()
        e = other.create(self.root + "/e", ephemeral=True)
        rec = Recorder()
        self.zk.exists(e, watch=rec)
        other.stop()
        self.assertEqual([x.type for x in rec.wait(1)], [EventType.DELETED])
        self.assertIsNone(self.zk.exists(e))

    def test_session_expiry_by_session_takeover(self):
        """A second client attaching to the same session then closing it
        ends the session: the first client sees LOST, ephemerals go."""
        victim = self.kazoo()
        states = []
        victim.add_listener(states.append)
        e = victim.create(self.root + "/e", ephemeral=True)
        sid, pw = victim.client_id
        thief = KazooClient(hosts=self.server.hostport, client_id=(sid, pw), timeout=4.0)
        try:
            thief.start(timeout=15)
            self.assertEqual(thief.client_id[0], sid)
            # the thief sees the victim's ephemeral as its own
            self.assertEqual(thief.exists(e).ephemeralOwner, sid)
            thief.stop()
        finally:
            close_quietly(thief)
        self.assertTrue(wait_for(lambda: self.zk.exists(e) is None, 10))
        self.assertTrue(wait_for(lambda: KazooState.LOST in states, 15), states)

    def test_session_expiry_by_timeout(self):
        """A session whose client goes silent expires after its negotiated
        timeout (clamped to [2, 20] x tickTime) and its ephemerals go."""
        if self.server.controllable:  # tickTime is ours: check the clamping
            for asked, want in ((100, 2 * harness.TICK_MS), (60000, 20 * harness.TICK_MS)):
                raw = harness.RawClient(self.server.host, self.server.port)
                self.addCleanup(raw.close)
                r = raw.handshake(timeout_ms=asked)
                self.assertEqual(r["timeout"], want)
                raw.call(-11)
                raw.close()
        raw = harness.RawClient(self.server.host, self.server.port)
        self.addCleanup(raw.close)
        r = raw.handshake(timeout_ms=800)
        tmo = r["timeout"] / 1000.0
        if self.server.controllable:
            self.assertEqual(r["timeout"], 800)
        e = self.root + "/e"
        acl = struct.pack("!i", 1) + struct.pack("!i", 31) + harness.jstr("world") + harness.jstr("anyone")
        rep = raw.call(1, harness.jstr(e) + harness.jbuf(b"") + acl + struct.pack("!i", 1))
        self.assertEqual(rep[2], 0)
        self.assertEqual(self.zk.exists(e).ephemeralOwner, r["session_id"])
        t0 = time.monotonic()
        rec = Recorder()
        self.zk.exists(e, watch=rec)
        ev = rec.wait(1, timeout=2 * tmo + 10)
        took = time.monotonic() - t0
        self.assertEqual([x.type for x in ev], [EventType.DELETED])
        self.assertLess(took, 2 * tmo + 5)
        self.assertGreater(took, tmo / 2)
        # the server closes the expired session's connection
        self.assertTrue(raw.closed_by_peer(5))
        # and refuses to resume it: ConnectResponse timeOut=0, session 0
        again = harness.RawClient(self.server.host, self.server.port)
        self.addCleanup(again.close)
        r2 = again.handshake(session_id=r["session_id"], passwd=r["passwd"])
        self.assertEqual((r2["timeout"], r2["session_id"], r2["passwd"]),
                         (0, 0, b"\0" * 16))
        self.assertTrue(again.closed_by_peer(5))

    def test_reconnect_same_session_keeps_ephemerals(self):
        zk = self.kazoo()
        states = []
        zk.add_listener(states.append)
        e = zk.create(self.root + "/e", ephemeral=True)
        sid = zk.client_id[0]
        zk._connection._socket.shutdown(socket.SHUT_RDWR)
        self.assertTrue(wait_for(lambda: KazooState.SUSPENDED in states, 10), states)
        self.assertTrue(wait_for(lambda: zk.connected and states[-1] == KazooState.CONNECTED, 15))
        self.assertEqual(zk.client_id[0], sid)
        self.assertEqual(zk.exists(e).ephemeralOwner, sid)
        self.assertNotIn(KazooState.LOST, states)


class KazooRestart(CompatTestCase):
    """A session across a restart of the server.  Its own server: a session
    timeout longer than a loaded JVM takes to restart (ZooKeeper keeps the
    session only if the client is back within it)."""

    SERVER_OPTS = {"extra_cfg": ("maxSessionTimeout=30000",)}

    def setUp(self):
        super().setUp()
        self.zk = self.kazoo()
        self.zk.ensure_path(self.root)

    def test_server_restart_keeps_session(self):
        """kill -9 and restart on the same dataDir: the session survives
        (its expiry clock restarts) and so do its ephemerals."""
        self.server.require_control(self)
        zk = self.kazoo(timeout=20.0)
        e = zk.create(self.root + "/e", b"keep", ephemeral=True)
        p = zk.create(self.root + "/p", b"persist")
        sid = zk.client_id[0]
        self.server.kill9()
        self.server.start()
        self.assertTrue(wait_for(lambda: zk.connected, 15))
        self.assertEqual(zk.get(e)[0], b"keep")
        self.assertEqual(zk.get(p)[0], b"persist")
        self.assertEqual(zk.client_id[0], sid)
        self.assertEqual(zk.exists(e).ephemeralOwner, sid)
        # clean close after the restart still removes the ephemeral
        zk.stop()
        self.assertTrue(wait_for(lambda: self.zk.connected, 15))
        self.assertIsNone(self.zk.exists(e))

class KazooTTL(CompatTestCase):
    """TTL nodes (createTTL, op 21) with extendedTypesEnabled=true; the
    TTL reaper runs with the container manager every checkIntervalMs."""

    SERVER_OPTS = dict(extended_types=True)

    def test_ttl_node(self):
        zk = self.kazoo()
        zk.ensure_path(self.root)
        try:
            path, st = raw_call(zk, CreateTTL(self.root + "/t", b"ttl", WORLD_ALL, 5, 500))
        except UnimplementedError:
            if self.server.controllable:
                raise
            self.skipTest("external server without extendedTypesEnabled")
        self.assertEqual(path, self.root + "/t")
        self.assertEqual(st.ephemeralOwner, 0)
        self.assertEqual(zk.get(path)[0], b"ttl")
        # sequential TTL node
        path2, _ = raw_call(zk, CreateTTL(self.root + "/s-", b"", WORLD_ALL, 6, 500))
        self.assertEqual(path2, self.root + "/s-0000000001")
        # bad TTLs and a TTL with a non-TTL mode
        for flags, ttl in ((5, 0), (5, -1), (5, 1 << 40), (0, 1000), (1, 1000)):
            with self.subTest(flags=flags, ttl=ttl):
                with self.assertRaises(BadArgumentsError):
                    raw_call(zk, CreateTTL(self.root + "/bad", b"", WORLD_ALL, flags, ttl))
        self.assertIsNone(zk.exists(self.root + "/bad"))
        if not self.server.controllable:
            return  # the reaper period of an external server is unknown
        # a TTL node with a child stays; without children it is deleted
        # once mtime + ttl has passed (checked every checkIntervalMs)
        kept, _ = raw_call(zk, CreateTTL(self.root + "/kept", b"", WORLD_ALL, 5, 300))
        zk.create(kept + "/child")
        t0 = time.monotonic()
        self.assertTrue(wait_for(lambda: zk.exists(path) is None, 10, step=0.05))
        self.assertTrue(wait_for(lambda: zk.exists(path2) is None, 10, step=0.05))
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIsNotNone(zk.exists(kept))
        zk.delete(kept + "/child")
        self.assertTrue(wait_for(lambda: zk.exists(kept) is None, 10, step=0.05))


class KazooRecipes(CompatTestCase):

    def setUp(self):
        super().setUp()
        self.a = self.kazoo()
        self.b = self.kazoo()
        self.a.ensure_path(self.root)

    def test_lock(self):
        la = self.a.Lock(self.root + "/lock", "a")
        lb = self.b.Lock(self.root + "/lock", "b")
        self.assertTrue(la.acquire(timeout=10))
        self.assertFalse(lb.acquire(blocking=False))
        self.assertEqual(la.contenders(), ["a"])
        got = threading.Event()
        t = threading.Thread(target=lambda: lb.acquire(timeout=20) and got.set())
        t.start()
        time.sleep(0.2)
        self.assertFalse(got.is_set())
        la.release()
        t.join(20)
        self.assertTrue(got.is_set())
        lb.release()

    def test_election(self):
        led = []
        ea = self.a.Election(self.root + "/elect", "a")
        t = threading.Thread(target=ea.run, args=(lambda: led.append("a"),))
        t.start()
        t.join(15)
        self.assertEqual(led, ["a"])
        eb = self.b.Election(self.root + "/elect", "b")
        t = threading.Thread(target=eb.run, args=(lambda: led.append("b"),))
        t.start()
        t.join(15)
        self.assertEqual(led, ["a", "b"])

    def test_counter(self):
        ca = self.a.Counter(self.root + "/cnt")
        cb = self.b.Counter(self.root + "/cnt")
        for _ in range(5):
            ca += 1
            cb += 2
        self.assertEqual(ca.value, 15)
        self.assertEqual(cb.value, 15)

    def test_queue(self):
        qa = self.a.Queue(self.root + "/q")
        qb = self.b.Queue(self.root + "/q")
        for i in range(5):
            qa.put(b"item%d" % i)
        self.assertEqual(len(qb), 5)
        self.assertEqual([qb.get() for _ in range(5)],
                         [b"item%d" % i for i in range(5)])
        self.assertIsNone(qb.get())


if __name__ == "__main__":
    unittest.main()
