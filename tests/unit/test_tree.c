/*
 * test_tree.c - the tree's apply rules with hand-built transactions:
 * ZooKeeper's Stat rules for every txn type, errors that change nothing,
 * ephemerals and close-session, multi, containers and TTL nodes, the
 * change feed, ACL interning and the digest.
 */
#include "check.h"

#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/tree.h"
#include "zabfs/txn_codec.h"

static int64_t zxid;
static uint8_t acl_all[40], acl_read[40];
static struct zk_bytes ACL_ALL, ACL_READ;

struct seen {
	int n;
	enum tree_change type[64];
	char path[64][64];
};
static struct seen seen;

static void on_change(void *ctx, const struct tree_event *ev)
{
	struct seen *s = ctx;
	if (s->n < 64) {
		s->type[s->n] = ev->type;
		snprintf(s->path[s->n], 64, "%.*s", (int)ev->path.len,
			 (const char *)ev->path.p);
		s->n++;
	}
}
static const struct tree_listener lis = {on_change, &seen};

static struct zk_bytes B(const char *s)
{
	return s ? zk_bytes_of(s, strlen(s)) : (struct zk_bytes){NULL, -1};
}

static void init_acls(void)
{
	struct jute_writer w;
	jute_writer_init_fixed(&w, acl_all, 40);
	jute_put_int(&w, 1);
	jute_put_int(&w, ZK_PERM_ALL);
	jute_put_cstring(&w, "world");
	jute_put_cstring(&w, "anyone");
	ACL_ALL = zk_bytes_of(acl_all, w.len);
	jute_writer_init_fixed(&w, acl_read, 40);
	jute_put_int(&w, 1);
	jute_put_int(&w, ZK_PERM_READ);
	jute_put_cstring(&w, "world");
	jute_put_cstring(&w, "anyone");
	ACL_READ = zk_bytes_of(acl_read, w.len);
}

static bool view(struct tree *t, const char *path, struct tree_view *v)
{
	tree_read_lock();
	struct tree_node *n = tree_lookup(t, B(path));
	if (n)
		tree_node_read(n, v);
	tree_read_unlock();
	return n != NULL;
}

static struct txn hdr(int type, int64_t session)
{
	struct txn x;
	memset(&x, 0, sizeof(x));
	x.hdr.zxid = ++zxid;
	x.hdr.time = 5000 + zxid;
	x.hdr.type = type;
	x.hdr.session = session;
	return x;
}

static int32_t next_cversion(struct tree *t, const char *path)
{
	char parent[256];
	struct tree_view v;
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return 1;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	return view(t, parent, &v) ? v.stored_cversion + 1 : 1;
}

static int create(struct tree *t, const char *path, const char *data,
		  int64_t owner, struct zk_stat *st)
{
	struct txn x = hdr(TXN_CREATE, owner > 0 ? owner : 0);
	x.u.create.path = B(path);
	x.u.create.data = B(data);
	x.u.create.acl_raw = ACL_ALL;
	x.u.create.ephemeral_owner = owner;
	x.u.create.parent_cversion = next_cversion(t, path);
	return tree_apply(t, &x, false, &lis, st);
}

static int del(struct tree *t, const char *path, int type)
{
	struct txn x = hdr(type, 0);
	x.u.del.path = B(path);
	return tree_apply(t, &x, false, &lis, NULL);
}

static int set_data(struct tree *t, const char *path, const char *data,
		    int32_t version)
{
	struct txn x = hdr(TXN_SET_DATA, 0);
	x.u.set_data.path = B(path);
	x.u.set_data.data = B(data);
	x.u.set_data.version = version;
	return tree_apply(t, &x, false, &lis, NULL);
}

static void test_builtins(void)
{
	struct tree *t;
	struct tree_view v;
	CHECK_EQ_INT(tree_new(&t), 0);
	CHECK_EQ_INT(tree_node_count(t), 4);
	tree_read_lock();
	struct tree_node *root = tree_root(t);
	struct tree_node *c = tree_child_first(root);
	CHECK(c && tree_node_name(c).len == 9 &&
	      memcmp(tree_node_name(c).p, "zookeeper", 9) == 0);
	CHECK(c && tree_child_next(c) == NULL);
	tree_node_read(root, &v);
	CHECK_EQ_INT(v.id, TREE_ROOT_ID);
	CHECK_EQ_INT(v.stat.num_children, 1);
	tree_read_unlock();
	CHECK(view(t, "/zookeeper/config", &v));
	CHECK_EQ_INT(v.stat.czxid, 0);
	CHECK_EQ_INT(v.stat.pzxid, 0);
	CHECK_EQ_INT(v.stat.mtime, 0);
	CHECK_EQ_INT(v.acl.n, 1);
	CHECK_EQ_INT(v.acl.v[0].perms, ZK_PERM_READ);
	CHECK(v.acl.v[0].id.scheme.len == 5 &&
	      memcmp(v.acl.v[0].id.scheme.p, "world", 5) == 0);
	CHECK(view(t, "/zookeeper/quota", &v));
	CHECK_EQ_INT(v.acl.v[0].perms, ZK_PERM_ALL);
	CHECK_EQ_INT(v.id, 3);
	CHECK(view(t, "/zookeeper", &v));
	CHECK_EQ_INT(v.stat.num_children, 2);
	/* stored cversion 0, two children: ZooKeeper shows -2 too */
	CHECK_EQ_INT(v.stat.cversion, -2);
	CHECK_EQ_INT(del(t, "/zookeeper/config", TXN_DELETE), ZK_BADARGUMENTS);
	CHECK(!view(t, "/nope", &v));
	CHECK(!view(t, "zookeeper", &v));
	CHECK(!view(t, "/zookeeper/", &v));
	char buf[64];
	tree_read_lock();
	struct tree_node *q = tree_lookup(t, B("/zookeeper/quota"));
	CHECK_EQ_INT(tree_node_path(q, buf, sizeof(buf)), 16);
	CHECK(strcmp(buf, "/zookeeper/quota") == 0);
	CHECK_EQ_INT(tree_node_path(tree_root(t), buf, sizeof(buf)), 1);
	CHECK(strcmp(buf, "/") == 0);
	tree_read_unlock();
	tree_free(t);
}

static void test_create_set_delete(void)
{
	struct tree *t;
	struct tree_view v, p;
	struct zk_stat st;
	CHECK_EQ_INT(tree_new(&t), 0);
	seen.n = 0;
	CHECK_EQ_INT(create(t, "/a", "hello", 0, &st), 0);
	int64_t cz = zxid;
	CHECK_EQ_INT(st.czxid, cz);
	CHECK(view(t, "/a", &v));
	CHECK_EQ_INT(v.stat.czxid, cz);
	CHECK_EQ_INT(v.stat.mzxid, cz);
	CHECK_EQ_INT(v.stat.pzxid, cz);
	CHECK_EQ_INT(v.stat.ctime, 5000 + cz);
	CHECK_EQ_INT(v.stat.mtime, 5000 + cz);
	CHECK_EQ_INT(v.stat.version, 0);
	CHECK_EQ_INT(v.stat.data_length, 5);
	CHECK(v.data.len == 5 && memcmp(v.data.p, "hello", 5) == 0);
	CHECK(v.id >= 65536);
	CHECK(view(t, "/", &p));
	CHECK_EQ_INT(p.stat.pzxid, cz);
	CHECK_EQ_INT(p.stat.num_children, 2);
	CHECK_EQ_INT(p.stored_cversion, 1);
	CHECK_EQ_INT(p.stat.cversion, 0); /* 1*2 - 2 */
	CHECK_EQ_INT(seen.n, 2);
	CHECK_EQ_INT(seen.type[0], TREE_CREATED);
	CHECK(strcmp(seen.path[0], "/a") == 0);
	CHECK_EQ_INT(seen.type[1], TREE_CHILDREN_CHANGED);
	CHECK(strcmp(seen.path[1], "/") == 0);

	/* sequential-style creates bump the stored cversion */
	CHECK_EQ_INT(create(t, "/a/s0000000000", NULL, 0, NULL), 0);
	CHECK_EQ_INT(create(t, "/a/s0000000001", "", 0, NULL), 0);
	CHECK(view(t, "/a", &p));
	CHECK_EQ_INT(p.stored_cversion, 2);
	CHECK_EQ_INT(p.stat.cversion, 2);
	CHECK_EQ_INT(p.stat.num_children, 2);
	CHECK_EQ_INT(p.stat.mzxid, cz); /* child changes leave mzxid */
	CHECK(view(t, "/a/s0000000000", &v));
	CHECK_EQ_INT(v.data.len, -1);
	CHECK_EQ_INT(v.stat.data_length, 0);
	CHECK(view(t, "/a/s0000000001", &v));
	CHECK_EQ_INT(v.data.len, 0);

	/* setData */
	seen.n = 0;
	CHECK_EQ_INT(set_data(t, "/a", "bye", 1), 0);
	CHECK(view(t, "/a", &v));
	CHECK_EQ_INT(v.stat.version, 1);
	CHECK_EQ_INT(v.stat.mzxid, zxid);
	CHECK_EQ_INT(v.stat.mtime, 5000 + zxid);
	CHECK_EQ_INT(v.stat.ctime, 5000 + cz);
	CHECK_EQ_INT(v.stat.pzxid, zxid - 1);
	CHECK_EQ_INT(v.stat.data_length, 3);
	CHECK_EQ_INT(seen.n, 1);
	CHECK_EQ_INT(seen.type[0], TREE_DATA_CHANGED);
	CHECK_EQ_INT(set_data(t, "/a", NULL, 2), 0);
	CHECK(view(t, "/a", &v));
	CHECK_EQ_INT(v.data.len, -1);
	CHECK_EQ_INT(v.stat.data_length, 0);

	/* setACL: aversion only, shared interned record */
	int64_t mz = v.stat.mzxid;
	struct txn x = hdr(TXN_SET_ACL, 0);
	x.u.set_acl.path = B("/a");
	x.u.set_acl.acl_raw = ACL_READ;
	x.u.set_acl.aversion = 1;
	seen.n = 0;
	CHECK_EQ_INT(tree_apply(t, &x, false, &lis, &st), 0);
	CHECK_EQ_INT(st.aversion, 1);
	CHECK(view(t, "/a", &v));
	CHECK_EQ_INT(v.stat.aversion, 1);
	CHECK_EQ_INT(v.stat.mzxid, mz);
	CHECK_EQ_INT(v.acl.v[0].perms, ZK_PERM_READ);
	CHECK_EQ_INT(seen.type[0], TREE_ACL_CHANGED);
	struct tree_view cfg;
	CHECK(view(t, "/zookeeper/config", &cfg));
	CHECK(cfg.acl_raw.p == v.acl_raw.p); /* interned: one record */

	/* delete: pzxid, numChildren; stored cversion kept */
	seen.n = 0;
	CHECK_EQ_INT(del(t, "/a/s0000000000", TXN_DELETE), 0);
	CHECK(view(t, "/a", &p));
	CHECK_EQ_INT(p.stat.pzxid, zxid);
	CHECK_EQ_INT(p.stat.num_children, 1);
	CHECK_EQ_INT(p.stored_cversion, 2);
	CHECK_EQ_INT(p.stat.cversion, 3); /* 2 creates + 1 delete */
	CHECK_EQ_INT(seen.n, 2);
	CHECK_EQ_INT(seen.type[0], TREE_DELETED);
	CHECK(strcmp(seen.path[1], "/a") == 0);

	/* errors change nothing */
	uint64_t d = tree_digest(t);
	int64_t last = tree_last_zxid(t);
	CHECK_EQ_INT(del(t, "/a", TXN_DELETE), ZK_NOTEMPTY);
	CHECK_EQ_INT(del(t, "/zz", TXN_DELETE), ZK_NONODE);
	CHECK_EQ_INT(create(t, "/a", "x", 0, NULL), ZK_NODEEXISTS);
	CHECK_EQ_INT(create(t, "/q/r", "x", 0, NULL), ZK_NONODE);
	CHECK_EQ_INT(set_data(t, "/q", "x", 1), ZK_NONODE);
	CHECK_EQ_INT(del(t, "/", TXN_DELETE), ZK_BADARGUMENTS);
	CHECK_EQ_INT(create(t, "bad", "x", 0, NULL), ZK_BADARGUMENTS);
	x = hdr(TXN_SET_ACL, 0);
	x.u.set_acl.path = B("/a");
	x.u.set_acl.acl_raw = B("\0\0\0\1garbage");
	CHECK_EQ_INT(tree_apply(t, &x, false, NULL, NULL), ZK_CORRUPT);
	x = hdr(TXN_SET_DATA, 0);
	x.hdr.zxid = last; /* not above the last applied */
	x.u.set_data.path = B("/a");
	CHECK_EQ_INT(tree_apply(t, &x, false, NULL, NULL), ZK_BADARGUMENTS);
	CHECK_EQ_INT(tree_apply(t, &x, true, NULL, NULL), 0);
	CHECK(tree_digest(t) == d);
	CHECK_EQ_INT(tree_last_zxid(t), last);
	CHECK_EQ_INT(tree_node_count(t), 6);
	CHECK_EQ_INT(tree_data_size(t), 0);
	tree_free(t);
}

static int count_cb(void *ctx, struct tree_node *n)
{
	(void)n;
	(*(int *)ctx)++;
	return 0;
}

static void test_ephemerals(void)
{
	struct tree *t;
	struct tree_view v;
	CHECK_EQ_INT(tree_new(&t), 0);
	CHECK_EQ_INT(create(t, "/a", NULL, 0, NULL), 0);
	CHECK_EQ_INT(create(t, "/b", NULL, 0, NULL), 0);
	CHECK_EQ_INT(create(t, "/a/e1", "x", 7, NULL), 0);
	CHECK_EQ_INT(create(t, "/a/e2", "x", 7, NULL), 0);
	CHECK_EQ_INT(create(t, "/b/e3", "x", 7, NULL), 0);
	CHECK_EQ_INT(create(t, "/b/f", "x", 8, NULL), 0);
	CHECK_EQ_INT(create(t, "/a/e1/child", "x", 0, NULL),
		     ZK_NOCHILDRENFOREPHEMERALS);
	CHECK_EQ_INT(tree_ephemeral_count(t), 4);
	CHECK(view(t, "/a/e1", &v));
	CHECK_EQ_INT(v.stat.ephemeral_owner, 7);
	int n = 0;
	tree_read_lock();
	tree_ephemerals_foreach(t, 7, count_cb, &n);
	tree_read_unlock();
	CHECK_EQ_INT(n, 3);
	seen.n = 0;
	struct txn x = hdr(TXN_CLOSE_SESSION, 7);
	CHECK_EQ_INT(tree_apply(t, &x, false, &lis, NULL), 0);
	CHECK_EQ_INT(seen.n, 6);
	CHECK(!view(t, "/a/e1", &v) && !view(t, "/a/e2", &v) &&
	      !view(t, "/b/e3", &v));
	CHECK(view(t, "/b/f", &v));
	CHECK(view(t, "/a", &v));
	CHECK_EQ_INT(v.stat.pzxid, x.hdr.zxid);
	CHECK_EQ_INT(v.stat.num_children, 0);
	CHECK_EQ_INT(v.stat.cversion, 4);
	CHECK(view(t, "/b", &v));
	CHECK_EQ_INT(v.stat.pzxid, x.hdr.zxid);
	CHECK_EQ_INT(tree_ephemeral_count(t), 1);
	n = 0;
	tree_read_lock();
	tree_ephemerals_foreach(t, 7, count_cb, &n);
	tree_read_unlock();
	CHECK_EQ_INT(n, 0);
	x = hdr(TXN_CREATE_SESSION, 9);
	CHECK_EQ_INT(tree_apply(t, &x, false, &lis, NULL), 0);
	CHECK_EQ_INT(tree_last_zxid(t), x.hdr.zxid);
	tree_free(t);
}

static void test_containers_ttl(void)
{
	struct tree *t;
	struct tree_view v;
	CHECK_EQ_INT(tree_new(&t), 0);
	CHECK_EQ_INT(create(t, "/c", NULL, ZK_OWNER_CONTAINER, NULL), 0);
	CHECK_EQ_INT(create(t, "/ttl", NULL, ZK_OWNER_TTL_MASK | 5000, NULL),
		     0);
	CHECK_EQ_INT(create(t, "/c/x", NULL, 0, NULL), 0);
	CHECK(view(t, "/c", &v));
	CHECK_EQ_INT(v.stat.ephemeral_owner, 0);
	CHECK(v.owner == ZK_OWNER_CONTAINER);
	CHECK(view(t, "/ttl", &v));
	CHECK_EQ_INT(v.stat.ephemeral_owner, 0);
	CHECK_EQ_INT(zk_owner_ttl(v.owner), 5000);
	int n = 0;
	tree_read_lock();
	tree_special_foreach(t, count_cb, &n);
	tree_read_unlock();
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(tree_ephemeral_count(t), 0);
	CHECK_EQ_INT(del(t, "/c", TXN_DELETE_CONTAINER), 0); /* not empty */
	CHECK(view(t, "/c", &v));
	CHECK_EQ_INT(del(t, "/c/x", TXN_DELETE), 0);
	CHECK_EQ_INT(del(t, "/c", TXN_DELETE_CONTAINER), 0);
	CHECK(!view(t, "/c", &v));
	CHECK_EQ_INT(del(t, "/ttl", TXN_DELETE), 0);
	n = 0;
	tree_read_lock();
	tree_special_foreach(t, count_cb, &n);
	tree_read_unlock();
	CHECK_EQ_INT(n, 0);
	tree_free(t);
}

static void multi_op(struct jute_writer *w, struct txn_multi_builder *b,
		     int type, const char *path, const char *data,
		     int32_t n)
{
	struct txn_op op;
	memset(&op, 0, sizeof(op));
	op.type = type;
	switch (type) {
	case TXN_CREATE:
		op.u.create.path = B(path);
		op.u.create.data = B(data);
		op.u.create.acl_raw = ACL_ALL;
		op.u.create.parent_cversion = n;
		break;
	case TXN_DELETE:
		op.u.del.path = B(path);
		break;
	case TXN_SET_DATA:
		op.u.set_data.path = B(path);
		op.u.set_data.data = B(data);
		op.u.set_data.version = n;
		break;
	default:
		op.u.check.path = B(path);
		op.u.check.version = n;
	}
	CHECK_EQ_INT(txn_encode_multi_op(w, b, &op), 0);
}

static void test_multi(void)
{
	struct tree *t;
	struct tree_view v, v2;
	struct jute_writer w;
	struct txn_multi_builder b;
	struct txn x;
	struct zk_stat st[5];
	CHECK_EQ_INT(tree_new(&t), 0);
	CHECK_EQ_INT(create(t, "/old", "o", 0, NULL), 0);
	jute_writer_init(&w, 256);

	x = hdr(TXN_MULTI, 0);
	txn_encode_multi_begin(&w, &x.hdr, &b);
	multi_op(&w, &b, TXN_CREATE, "/m", "1", 1);
	multi_op(&w, &b, TXN_CREATE, "/m/x", "2", 1);
	multi_op(&w, &b, TXN_SET_DATA, "/m/x", "three", 1);
	multi_op(&w, &b, TXN_CHECK, "/m", NULL, 0);
	multi_op(&w, &b, TXN_DELETE, "/old", NULL, 0);
	CHECK_EQ_INT(txn_encode_multi_end(&w, &b), 0);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &x), 0);
	seen.n = 0;
	CHECK_EQ_INT(tree_apply(t, &x, false, &lis, st), 0);
	CHECK_EQ_INT(st[0].czxid, x.hdr.zxid);
	CHECK_EQ_INT(st[1].version, 0);
	CHECK_EQ_INT(st[2].version, 1);
	CHECK_EQ_INT(st[2].data_length, 5);
	CHECK_EQ_INT(st[3].num_children, 1);
	CHECK_EQ_INT(seen.n, 7);
	CHECK(view(t, "/m", &v) && view(t, "/m/x", &v2));
	CHECK_EQ_INT(v.stat.czxid, x.hdr.zxid);
	CHECK_EQ_INT(v2.stat.czxid, x.hdr.zxid);
	CHECK(v.id != v2.id); /* one zxid, two ids */
	CHECK_EQ_INT(v2.stat.mzxid, x.hdr.zxid);
	CHECK(!view(t, "/old", &v));

	/* a failing multi changes nothing */
	uint64_t d = tree_digest(t);
	uint64_t count = tree_node_count(t);
	jute_writer_reset(&w);
	x = hdr(TXN_MULTI, 0);
	txn_encode_multi_begin(&w, &x.hdr, &b);
	multi_op(&w, &b, TXN_CREATE, "/n", "1", 2);
	multi_op(&w, &b, TXN_DELETE, "/m/x", NULL, 0);
	multi_op(&w, &b, TXN_DELETE, "/m", NULL, 0);
	multi_op(&w, &b, TXN_DELETE, "/m", NULL, 0); /* gone already */
	CHECK_EQ_INT(txn_encode_multi_end(&w, &b), 0);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &x), 0);
	CHECK_EQ_INT(tree_apply(t, &x, false, &lis, NULL), ZK_NONODE);
	jute_writer_reset(&w);
	x = hdr(TXN_MULTI, 0);
	txn_encode_multi_begin(&w, &x.hdr, &b);
	multi_op(&w, &b, TXN_CREATE, "/n", "1", 2);
	multi_op(&w, &b, TXN_DELETE, "/m", NULL, 0); /* has a child */
	CHECK_EQ_INT(txn_encode_multi_end(&w, &b), 0);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &x), 0);
	CHECK_EQ_INT(tree_apply(t, &x, false, &lis, NULL), ZK_NOTEMPTY);
	CHECK(tree_digest(t) == d);
	CHECK_EQ_INT(tree_node_count(t), count);
	CHECK(!view(t, "/n", &v));

	/* delete then re-create in one multi */
	jute_writer_reset(&w);
	x = hdr(TXN_MULTI, 0);
	txn_encode_multi_begin(&w, &x.hdr, &b);
	multi_op(&w, &b, TXN_DELETE, "/m/x", NULL, 0);
	multi_op(&w, &b, TXN_CREATE, "/m/x", "again", 2);
	CHECK_EQ_INT(txn_encode_multi_end(&w, &b), 0);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &x), 0);
	CHECK_EQ_INT(tree_apply(t, &x, false, &lis, NULL), 0);
	CHECK(view(t, "/m/x", &v));
	CHECK_EQ_INT(v.stat.version, 0);
	CHECK(view(t, "/m", &v));
	CHECK_EQ_INT(v.stat.cversion, 2 * 2 - 1);
	jute_writer_free(&w);
	tree_free(t);
}

static void test_replay_rules(void)
{
	struct tree *a, *b;
	struct tree_view v;
	CHECK_EQ_INT(tree_new(&a), 0);
	CHECK_EQ_INT(tree_new(&b), 0);
	CHECK(tree_digest(a) == tree_digest(b));
	int64_t z0 = zxid;
	CHECK_EQ_INT(create(a, "/p", "d", 0, NULL), 0);
	CHECK_EQ_INT(create(a, "/p/c", "d", 0, NULL), 0);
	CHECK(tree_digest(a) != tree_digest(b));
	/* replay of the same creates on b after a "fuzzy" copy of /p/c */
	zxid = z0;
	CHECK_EQ_INT(create(b, "/p", "d", 0, NULL), 0);
	CHECK_EQ_INT(create(b, "/p/c", "d", 0, NULL), 0);
	CHECK(tree_digest(a) == tree_digest(b));
	/* replaying the create again: skipped, parent cversion/pzxid set */
	struct txn x = hdr(TXN_CREATE, 0);
	x.u.create.path = B("/p/c");
	x.u.create.data = B("zzz");
	x.u.create.acl_raw = ACL_ALL;
	x.u.create.parent_cversion = 7;
	CHECK_EQ_INT(tree_apply(b, &x, true, NULL, NULL), 0);
	CHECK(view(b, "/p", &v));
	CHECK_EQ_INT(v.stored_cversion, 7);
	CHECK_EQ_INT(v.stat.pzxid, x.hdr.zxid);
	CHECK(view(b, "/p/c", &v));
	CHECK(v.data.len == 1);
	/* a delete of a missing node in replay: parent pzxid set */
	x = hdr(TXN_DELETE, 0);
	x.u.del.path = B("/p/zz");
	CHECK_EQ_INT(tree_apply(b, &x, true, NULL, NULL), 0);
	CHECK(view(b, "/p", &v));
	CHECK_EQ_INT(v.stat.pzxid, x.hdr.zxid);
	CHECK_EQ_INT(tree_apply(b, &x, false, NULL, NULL), ZK_BADARGUMENTS);
	tree_free(a);
	tree_free(b);
}

int main(void)
{
	init_acls();
	RUN_TEST(test_builtins);
	RUN_TEST(test_create_set_delete);
	RUN_TEST(test_ephemerals);
	RUN_TEST(test_containers_ttl);
	RUN_TEST(test_multi);
	RUN_TEST(test_replay_rules);
	return check_report();
}
