/*
 * tree_apply.c - executes committed transactions on the tree (the writer
 * thread), with ZooKeeper's Stat rules, and reports each change.
 *
 * Design
 *   Each op first looks up and allocates everything it needs (new node,
 *   new versions, interned ACL, room in the retire batch); only then does
 *   it publish, with steps that cannot fail.  So a refused or out-of-memory
 *   single op changes nothing.  A multi is first checked as a whole against
 *   the tree plus an overlay of what its earlier ops did (struct overlay),
 *   then applied op by op.
 *
 *   Stat rules (reference/zookeeper.md §1.3):
 *     create   node: czxid = mzxid = pzxid = zxid, ctime = mtime = time,
 *              versions 0; parent: stored cversion := txn parent_cversion,
 *              pzxid := zxid, numChildren + 1.
 *     setData  version := txn version, mzxid := zxid, mtime := time.
 *     setACL   aversion := txn aversion, acl_mtime := time (mzxid, mtime
 *              untouched; acl_mtime is ours: the mount's ctime).
 *     delete   parent: pzxid := zxid, numChildren - 1 (cversion kept).
 *   Replay (after a fuzzy snapshot): a create of an existing node still
 *   sets the parent's cversion and pzxid; a delete of a missing node still
 *   sets the parent's pzxid; any other op that does not fit is skipped.
 *   In replay the parent's cversion and pzxid only move forward
 *   (parent_fields), so an op older than the snapshot's view of a parent
 *   cannot undo a newer one whose own replay has nothing to act on.
 *
 * Invariants
 *   1. The whole apply runs inside one read-side critical section; what it
 *      unlinks is retired in one batch flushed at the end, so listeners may
 *      look at a deleted node during their callback.
 *   2. Each event is emitted after the change it reports was published.
 *   3. t->last_zxid only grows; it is set after the txn is applied.
 */
#include <stdlib.h>
#include <string.h>

#include "tree_i.h"
#include "zabfs/err.h"
#include "zabfs/txn_codec.h"
#include "zabfs/zkpath.h"

/* Retire slots a delete needs: node, version, link, session, ACL, and the
 * parent's old version. */
#define DELETE_SLOTS 6

struct apply {
	struct tree *t;
	const struct txn_hdr *hdr;
	bool replay;
	const struct tree_listener *lis;
};

static void emit(const struct apply *a, enum tree_change type,
		 struct zk_bytes path, const struct tree_node *n)
{
	if (!a->lis || !a->lis->fn)
		return;
	struct tree_event ev = {type, a->hdr->zxid, path, n, n->parent};
	a->lis->fn(a->lis->ctx, &ev);
}

static void stat_of(const struct tree_node *n, struct zk_stat *st)
{
	struct tree_view v;
	if (!st)
		return;
	tree_node_read(n, &v);
	*st = v.stat;
}

static void digest_add(struct tree *t, uint64_t add, uint64_t sub)
{
	TREE_SET(t->digest, t->digest + add - sub);
}

/* Publishes nv as n's version and retires the old one (one slot). */
static void ver_replace(struct tree *t, struct tree_node *n,
			struct tree_ver *nv, uint64_t path_hash, bool data)
{
	struct tree_ver *old = n->ver;
	uint64_t sub = tree_node_digest_stat(path_hash, n, old);
	uint64_t add = tree_node_digest_stat(path_hash, n, nv);
	if (data) {
		sub += tree_node_digest_data(path_hash, old);
		add += tree_node_digest_data(path_hash, nv);
	}
	rcu_assign_pointer(n->ver, nv);
	digest_add(t, add, sub);
	tree_retire_push(t, old);
}

static bool valid_child_path(struct zk_bytes path)
{
	return path.len >= 2 && path.p && path.p[0] == '/' &&
	       path.p[path.len - 1] != '/';
}

static bool valid_data(struct zk_bytes d)
{
	return d.len == -1 || (d.len >= 0 && (d.len == 0 || d.p));
}

/* The parent's child fields after a child create (cversion >= 0) or
 * delete at zxid.  Normal mode assigns them.  Replay never moves them
 * back: the snapshot may hold newer values than the op being replayed
 * (ZooKeeper's replay compares cversions the same way), and both only
 * grow in the writer. */
static void parent_fields(const struct apply *a, struct tree_ver *pv,
			  int32_t cversion)
{
	int64_t zxid = a->hdr->zxid;
	if (!a->replay) {
		if (cversion >= 0)
			pv->cversion = cversion;
		pv->pzxid = zxid;
		return;
	}
	if (cversion > pv->cversion)
		pv->cversion = cversion;
	if (zxid > pv->pzxid)
		pv->pzxid = zxid;
}

/* Replay of a create of an existing node or a delete of a missing one. */
static int parent_touch(struct apply *a, struct tree_node *parent,
			struct zk_bytes ppath, int32_t cversion)
{
	struct tree *t = a->t;
	if (tree_retire_reserve(t, 1))
		return ZK_NOMEM;
	struct tree_ver *pv = tree_ver_copy(parent->ver);
	if (!pv)
		return ZK_NOMEM;
	parent_fields(a, pv, cversion);
	ver_replace(t, parent, pv, tree_path_hash(ppath), false);
	return 0;
}

static int op_create(struct apply *a, uint16_t index,
		     const struct txn_create *c, struct zk_stat *st)
{
	struct tree *t = a->t;
	struct tree_acl *acl;
	if (!valid_child_path(c->path) || !valid_data(c->data) ||
	    c->shape < TXN_SHAPE_UNSET || c->shape > TXN_SHAPE_DIR)
		return a->replay ? 0 : ZK_BADARGUMENTS;
	struct zk_bytes ppath = zk_path_parent(c->path);
	struct zk_bytes name = zk_path_basename(c->path);
	struct tree_node *parent = tree_lookup(t, ppath);
	if (!parent)
		return a->replay ? 0 : ZK_NONODE;
	if (zk_owner_is_session(tree_node_owner(parent)))
		return a->replay ? 0 : ZK_NOCHILDRENFOREPHEMERALS;
	struct tree_node *old = tree_lookup_child(t, parent, name);
	if (old) {
		if (!a->replay)
			return ZK_NODEEXISTS;
		stat_of(old, st);
		return parent_touch(a, parent, ppath, c->parent_cversion);
	}
	/* Room to retire the parent's old version, or the ACL on failure. */
	if (tree_retire_reserve(t, 1))
		return ZK_NOMEM;
	int rc = acl_table_intern(&t->acls, c->acl_raw, &acl);
	if (rc)
		return a->replay && rc == ZK_CORRUPT ? 0 : rc;
	rc = ZK_NOMEM;
	struct tree_node *n = tree_node_alloc(name, c->ephemeral_owner);
	if (!n)
		goto err_unref;
	struct tree_ver *v = tree_ver_alloc(c->data.len);
	if (!v)
		goto err_free_node;
	struct tree_ver *pv = tree_ver_copy(parent->ver);
	if (!pv)
		goto err_free_ver;

	n->czxid = a->hdr->zxid;
	n->ctime = a->hdr->time;
	n->op_index = index;
	n->shape = (uint8_t)c->shape;
	v->mzxid = v->pzxid = a->hdr->zxid;
	v->mtime = a->hdr->time;
	v->acl_mtime = 0;
	v->acl = acl;
	v->version = v->cversion = v->aversion = v->num_children = 0;
	if (c->data.len > 0)
		memcpy(v->data, c->data.p, (size_t)c->data.len);
	n->ver = v;
	parent_fields(a, pv, c->parent_cversion);
	pv->num_children++;

	rc = tree_node_link(t, parent, n);
	if (rc)
		goto err_free_pver;
	uint64_t ph = tree_path_hash(c->path);
	digest_add(t, tree_node_digest_data(ph, v) +
			      tree_node_digest_stat(ph, n, v), 0);
	ver_replace(t, parent, pv, tree_path_hash(ppath), false);
	stat_of(n, st);
	emit(a, TREE_CREATED, c->path, n);
	emit(a, TREE_CHILDREN_CHANGED, ppath, parent);
	return 0;

err_free_pver:
	free(pv);
err_free_ver:
	free(v);
err_free_node:
	tree_node_dealloc(n);
err_unref:
	acl_table_unref(t, acl);
	return rc;
}

/* Removes n (no children) whose path is path. */
static int node_remove(struct apply *a, struct tree_node *n,
		       struct zk_bytes path, struct zk_stat *st)
{
	struct tree *t = a->t;
	struct tree_node *parent = n->parent;
	struct zk_bytes ppath = zk_path_parent(path);
	if (tree_retire_reserve(t, DELETE_SLOTS))
		return ZK_NOMEM;
	struct tree_ver *pv = tree_ver_copy(parent->ver);
	if (!pv)
		return ZK_NOMEM;
	parent_fields(a, pv, -1);
	pv->num_children--;
	stat_of(n, st);
	uint64_t ph = tree_path_hash(path);
	digest_add(t, 0, tree_node_digest_data(ph, n->ver) +
				 tree_node_digest_stat(ph, n, n->ver));
	tree_node_unlink(t, n);
	ver_replace(t, parent, pv, tree_path_hash(ppath), false);
	emit(a, TREE_DELETED, path, n);
	emit(a, TREE_CHILDREN_CHANGED, ppath, parent);
	return 0;
}

static int op_delete(struct apply *a, struct zk_bytes path, bool container,
		     struct zk_stat *st)
{
	struct tree *t = a->t;
	if (!valid_child_path(path))
		return a->replay ? 0 : ZK_BADARGUMENTS;
	struct tree_node *n = tree_lookup(t, path);
	if (!n) {
		if (!a->replay)
			return ZK_NONODE;
		struct zk_bytes ppath = zk_path_parent(path);
		struct tree_node *parent = tree_lookup(t, ppath);
		return parent ? parent_touch(a, parent, ppath, -1) : 0;
	}
	if (tree_node_builtin(n))
		return a->replay ? 0 : ZK_BADARGUMENTS;
	if (n->ver->num_children > 0) {
		stat_of(n, st);
		return container || a->replay ? 0 : ZK_NOTEMPTY;
	}
	return node_remove(a, n, path, st);
}

static int op_set_data(struct apply *a, const struct txn_set_data *s,
		       struct zk_stat *st)
{
	struct tree *t = a->t;
	if (!valid_data(s->data))
		return a->replay ? 0 : ZK_BADARGUMENTS;
	struct tree_node *n = tree_lookup(t, s->path);
	if (!n)
		return a->replay ? 0 : ZK_NONODE;
	if (tree_retire_reserve(t, 1))
		return ZK_NOMEM;
	struct tree_ver *old = n->ver;
	struct tree_ver *v = tree_ver_alloc(s->data.len);
	if (!v)
		return ZK_NOMEM;
	memcpy(v, old, sizeof(*v));
	v->data_len = s->data.len;
	if (s->data.len > 0)
		memcpy(v->data, s->data.p, (size_t)s->data.len);
	v->version = s->version;
	v->mzxid = a->hdr->zxid;
	v->mtime = a->hdr->time;
	uint64_t size = t->data_size;
	size -= old->data_len > 0 ? (uint64_t)old->data_len : 0;
	size += v->data_len > 0 ? (uint64_t)v->data_len : 0;
	TREE_SET(t->data_size, size);
	ver_replace(t, n, v, tree_path_hash(s->path), true);
	stat_of(n, st);
	emit(a, TREE_DATA_CHANGED, s->path, n);
	return 0;
}

static int op_set_acl(struct apply *a, const struct txn_set_acl *s,
		      struct zk_stat *st)
{
	struct tree *t = a->t;
	struct tree_acl *acl;
	struct tree_node *n = tree_lookup(t, s->path);
	if (!n)
		return a->replay ? 0 : ZK_NONODE;
	if (tree_retire_reserve(t, 2))
		return ZK_NOMEM;
	struct tree_ver *v = tree_ver_copy(n->ver);
	if (!v)
		return ZK_NOMEM;
	int rc = acl_table_intern(&t->acls, s->acl_raw, &acl);
	if (rc) {
		free(v);
		return a->replay && rc == ZK_CORRUPT ? 0 : rc;
	}
	struct tree_acl *old = v->acl;
	v->acl = acl;
	v->aversion = s->aversion;
	v->acl_mtime = a->hdr->time;
	ver_replace(t, n, v, tree_path_hash(s->path), false);
	acl_table_unref(t, old);
	stat_of(n, st);
	emit(a, TREE_ACL_CHANGED, s->path, n);
	return 0;
}

static int op_check(struct apply *a, const struct txn_check *c,
		    struct zk_stat *st)
{
	struct tree_node *n = tree_lookup(a->t, c->path);
	if (n)
		stat_of(n, st);
	else if (st)
		memset(st, 0, sizeof(*st));
	return 0;
}

static int close_session(struct apply *a)
{
	struct tree *t = a->t;
	struct tree_node *n;
	while ((n = tree_session_first(t, a->hdr->session))) {
		size_t len = tree_node_path(n, t->path_buf, t->path_cap);
		if (len >= t->path_cap) {
			char *b = realloc(t->path_buf, len + 1);
			if (!b)
				return ZK_NOMEM;
			t->path_buf = b;
			t->path_cap = len + 1;
			tree_node_path(n, t->path_buf, t->path_cap);
		}
		int rc = node_remove(a, n, zk_bytes_of(t->path_buf, len), NULL);
		if (rc)
			return rc;
	}
	return 0;
}

/* One op of a multi, or a single txn's op; index tells creates of one
 * zxid apart (tree_node_id). */
static int apply_op(struct apply *a, uint16_t index, const struct txn_op *op,
		    struct zk_stat *st)
{
	switch (op->type) {
	case TXN_CREATE:
		return op_create(a, index, &op->u.create, st);
	case TXN_DELETE:
		return op_delete(a, op->u.del.path, false, st);
	case TXN_SET_DATA:
		return op_set_data(a, &op->u.set_data, st);
	case TXN_CHECK:
		return op_check(a, &op->u.check, st);
	default:
		return a->replay ? 0 : ZK_BADARGUMENTS;
	}
}

/* -- checking a multi before applying it -- */

/* What the multi's earlier ops did to a path. */
struct overlay_entry {
	struct zk_bytes path;
	bool exists;
	bool ephemeral;
	bool builtin;
	int32_t children; /* current count */
};

struct overlay {
	struct overlay_entry *v;
	size_t n, cap;
};

static struct overlay_entry *overlay_get(struct tree *t, struct overlay *o,
					 struct zk_bytes path)
{
	for (size_t i = o->n; i-- > 0;)
		if (o->v[i].path.len == path.len &&
		    memcmp(o->v[i].path.p, path.p, (size_t)path.len) == 0)
			return &o->v[i];
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct overlay_entry *v = realloc(o->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		o->v = v;
		o->cap = cap;
	}
	struct overlay_entry *e = &o->v[o->n++];
	struct tree_node *n = tree_lookup(t, path);
	e->path = path;
	e->exists = n != NULL;
	e->ephemeral = n && zk_owner_is_session(tree_node_owner(n));
	e->builtin = n && tree_node_builtin(n);
	e->children = n ? n->ver->num_children : 0;
	return e;
}

static int overlay_op(struct tree *t, struct overlay *o,
		      const struct txn_op *op)
{
	struct overlay_entry *e, *p;
	switch (op->type) {
	case TXN_CREATE:
		if (!valid_child_path(op->u.create.path) ||
		    !valid_data(op->u.create.data))
			return ZK_BADARGUMENTS;
		p = overlay_get(t, o, zk_path_parent(op->u.create.path));
		if (!p)
			return ZK_NOMEM;
		if (!p->exists)
			return ZK_NONODE;
		if (p->ephemeral)
			return ZK_NOCHILDRENFOREPHEMERALS;
		p->children++;
		e = overlay_get(t, o, op->u.create.path);
		if (!e)
			return ZK_NOMEM;
		if (e->exists)
			return ZK_NODEEXISTS;
		e->exists = true;
		e->ephemeral =
			zk_owner_is_session(op->u.create.ephemeral_owner);
		e->builtin = false;
		e->children = 0;
		return 0;
	case TXN_DELETE:
		if (!valid_child_path(op->u.del.path))
			return ZK_BADARGUMENTS;
		e = overlay_get(t, o, op->u.del.path);
		if (!e)
			return ZK_NOMEM;
		if (!e->exists)
			return ZK_NONODE;
		if (e->builtin)
			return ZK_BADARGUMENTS;
		if (e->children > 0)
			return ZK_NOTEMPTY;
		e->exists = false;
		p = overlay_get(t, o, zk_path_parent(op->u.del.path));
		if (!p)
			return ZK_NOMEM;
		p->children--;
		return 0;
	case TXN_SET_DATA:
		if (!valid_data(op->u.set_data.data))
			return ZK_BADARGUMENTS;
		e = overlay_get(t, o, op->u.set_data.path);
		if (!e)
			return ZK_NOMEM;
		return e->exists ? 0 : ZK_NONODE;
	case TXN_CHECK:
		return 0;
	default:
		return ZK_BADARGUMENTS;
	}
}

static int multi_check(struct tree *t, const struct txn_multi *m)
{
	struct txn_multi_iter it;
	struct txn_op op;
	struct overlay o = {NULL, 0, 0};
	int rc, got, n = 0;
	txn_multi_iter_init(&it, m);
	while ((got = txn_multi_next(&it, &op)) == 1) {
		n++;
		rc = overlay_op(t, &o, &op);
		if (rc)
			goto out;
	}
	rc = got < 0 || n != m->count ? ZK_CORRUPT : 0;
out:
	free(o.v);
	return rc;
}

static int multi_apply(struct apply *a, const struct txn_multi *m,
		       struct zk_stat *op_stats)
{
	struct txn_multi_iter it;
	struct txn_op op;
	int rc, got;
	if (m->count < 0)
		return a->replay ? 0 : ZK_CORRUPT;
	if (!a->replay) {
		rc = multi_check(a->t, m);
		if (rc)
			return rc;
	}
	txn_multi_iter_init(&it, m);
	for (int32_t i = 0; (got = txn_multi_next(&it, &op)) == 1; i++) {
		rc = apply_op(a, (uint16_t)i, &op,
			      op_stats && i < m->count ? &op_stats[i] : NULL);
		if (rc)
			return rc;
	}
	return got < 0 && !a->replay ? ZK_CORRUPT : 0;
}

int tree_apply(struct tree *t, const struct txn *txn, bool replay,
	       const struct tree_listener *listener, struct zk_stat *op_stats)
{
	struct apply a = {t, &txn->hdr, replay, listener};
	struct txn_op op;
	int rc;
	if (txn->hdr.zxid <= t->last_zxid)
		return replay ? 0 : ZK_BADARGUMENTS;
	urcu_bp_read_lock();
	switch (txn->hdr.type) {
	case TXN_CREATE_SESSION:
		rc = 0;
		break;
	case TXN_CLOSE_SESSION:
		rc = close_session(&a);
		break;
	case TXN_CREATE:
		op.type = TXN_CREATE;
		op.u.create = txn->u.create;
		rc = apply_op(&a, 0, &op, op_stats);
		break;
	case TXN_DELETE:
		rc = op_delete(&a, txn->u.del.path, false, op_stats);
		break;
	case TXN_DELETE_CONTAINER:
		rc = op_delete(&a, txn->u.del.path, true, op_stats);
		break;
	case TXN_SET_DATA:
		rc = op_set_data(&a, &txn->u.set_data, op_stats);
		break;
	case TXN_SET_ACL:
		rc = op_set_acl(&a, &txn->u.set_acl, op_stats);
		break;
	case TXN_MULTI:
		rc = multi_apply(&a, &txn->u.multi, op_stats);
		break;
	default:
		rc = replay ? 0 : ZK_BADARGUMENTS;
		break;
	}
	if (rc == 0) {
		/* Release: pairs with the acquire in tree_last_zxid. */
		__atomic_store_n(&t->last_zxid, txn->hdr.zxid, __ATOMIC_RELEASE);
	}
	urcu_bp_read_unlock();
	tree_retire_flush(t);
	return rc;
}
