/*
 * prep.c - turns a write request into a transaction, or into the error
 * ZooKeeper would answer (PrepRequestProcessor's job).
 *
 * Design
 *   Every check runs against the tree as it will be once the in-flight
 *   transactions are applied (pending.c), so writes pipeline: a create of
 *   /a/b may follow a create of /a before either is durable.  Each op's
 *   checks, in ZooKeeper's order:
 *
 *   | op      | checks (first failure answers)                                |
 *   |---------|---------------------------------------------------------------|
 *   | create  | mode (BADARGUMENTS, UNIMPLEMENTED for TTL when off), path     |
 *   |         | absolute without NUL, ACL (INVALIDACL), parent = text before  |
 *   |         | the last '/' exists (NONODE), CREATE on parent (NOAUTH),      |
 *   |         | sequential name, final path (BADARGUMENTS), exists            |
 *   |         | (NODEEXISTS), parent ephemeral (NOCHILDRENFOREPHEMERALS)      |
 *   | delete  | path, built-in (BADARGUMENTS), exists (NONODE), DELETE on     |
 *   |         | parent (NOAUTH), version (BADVERSION), children (NOTEMPTY)    |
 *   | setData | path, exists, WRITE (NOAUTH), version (BADVERSION)            |
 *   | setACL  | path, exists, ADMIN (NOAUTH), version vs aversion, ACL        |
 *   | check   | path, exists, READ (NOAUTH), version                          |
 *
 *   A multi runs its ops in order under a pending savepoint; the first
 *   failure rolls every op back and answers the whole multi at once, with
 *   no transaction (no zxid is spent on a failed request).
 *
 *   The transaction is encoded straight into its proposal's buffer and
 *   handed to commit_propose, which appends it to the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_i.h"
#include "zabfs/err.h"
#include "zabfs/tree.h"
#include "zabfs/txn_codec.h"
#include "zabfs/zkpath.h"

#define PREP_MAX_PATH 4096

/* Who asks, and under which zxid the answer would be committed.  One per
 * server (srv->prep), reused by every request. */
struct prep_ctx {
	struct server *srv;
	const struct auth_ids *ids;
	int64_t session; /* 0 when the server itself asks */
	bool local;      /* a local session's request (replica.h) */
	int64_t zxid;
	int64_t time;
	struct jute_writer acl; /* fixed-up ACLs of the ops, back to back */
	char paths[2][PREP_MAX_PATH]; /* scratch for names being built */
};

/* A create, whichever request shape it came in. */
struct create_args {
	int32_t op; /* create, create2, createContainer, createTTL */
	struct zk_bytes path;
	struct zk_bytes data;
	struct zk_vec acl;
	int32_t flags;
	int64_t ttl;
};

static bool is_builtin(struct zk_bytes path)
{
	static const char *const names[] = {"/", "/zookeeper", "/zookeeper/quota",
					    "/zookeeper/config"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((size_t)path.len == strlen(names[i]) &&
		    memcmp(path.p, names[i], (size_t)path.len) == 0)
			return true;
	return false;
}

/* Appends the final form of a request's ACL to x->acl. */
static int fixup_acl(struct prep_ctx *x, struct zk_vec acl)
{
	int err = auth_acl_fixup_raw(acl.raw, x->ids, &x->acl);
	return err == ZK_MALFORMED ? ZK_INVALIDACL : err;
}

static bool permits(struct prep_ctx *x, struct zk_bytes acl_raw, int32_t perm)
{
	return auth_permits_raw(acl_raw, x->ids, perm);
}

static int check_version(int32_t expected, int32_t actual)
{
	return expected == -1 || expected == actual ? 0 : ZK_BADVERSION;
}

static int prep_create(struct prep_ctx *x, const struct create_args *a,
		       struct txn_op *op)
{
	struct server *srv = x->srv;
	int32_t mode = a->flags;
	int32_t shape = TXN_SHAPE_UNSET;
	if (x->local) { /* the mount says what it makes (replica.h) */
		shape = (mode & ZABFS_CREATE_SHAPE_MASK) >> ZABFS_CREATE_SHAPE_SHIFT;
		mode &= ~ZABFS_CREATE_SHAPE_MASK;
		if (shape > TXN_SHAPE_DIR)
			return ZK_BADARGUMENTS;
	}
	bool ttl_mode = mode == ZK_MODE_PERSISTENT_WITH_TTL ||
			mode == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
	bool sequential = mode == ZK_MODE_PERSISTENT_SEQUENTIAL ||
			  mode == ZK_MODE_EPHEMERAL_SEQUENTIAL ||
			  mode == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
	bool ephemeral = mode == ZK_MODE_EPHEMERAL ||
			 mode == ZK_MODE_EPHEMERAL_SEQUENTIAL;
	if (mode < 0 || mode > ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL)
		return ZK_BADARGUMENTS;
	if (ttl_mode || a->op == ZK_OP_CREATE_TTL) {
		if (!srv->cfg->extended_types)
			return ZK_UNIMPLEMENTED;
		if (!ttl_mode || a->op != ZK_OP_CREATE_TTL || a->ttl <= 0 ||
		    a->ttl > ZK_TTL_MAX)
			return ZK_BADARGUMENTS;
	}
	if ((mode == ZK_MODE_CONTAINER) != (a->op == ZK_OP_CREATE_CONTAINER))
		return ZK_BADARGUMENTS;
	if (ephemeral && !x->session)
		return ZK_SESSIONEXPIRED;

	struct zk_bytes path = a->path;
	if (path.len <= 0 || path.p[0] != '/' ||
	    memchr(path.p, 0, (size_t)path.len) ||
	    (size_t)path.len >= PREP_MAX_PATH - ZK_SEQ_SUFFIX_SIZE)
		return ZK_BADARGUMENTS;
	size_t acl_start = x->acl.len;
	int err = fixup_acl(x, a->acl);
	if (err)
		return err;

	/* As ZooKeeper: the parent is everything before the last '/', looked
	 * up before the path is validated ("/a//b" is NONODE, "/p/" with a
	 * sequence number is a child of "/p"). */
	int32_t slash = path.len - 1;
	while (slash > 0 && path.p[slash] != '/')
		slash--;
	struct zk_bytes parent_path = zk_bytes_of(path.p, slash > 0 ? (size_t)slash : 1);
	struct node_state parent;
	pending_get(&srv->pending, srv->tree, parent_path, &parent);
	if (!parent.exists)
		return ZK_NONODE;
	if (!permits(x, parent.acl_raw, ZK_PERM_CREATE))
		return ZK_NOAUTH;

	char *name = x->paths[0];
	size_t len = (size_t)path.len;
	memcpy(name, path.p, len);
	if (sequential)
		len += zk_path_seq_suffix(name + len, parent.cversion);
	struct zk_bytes final_path = zk_bytes_of(name, len);
	if (zk_path_validate(final_path) != 0)
		return ZK_BADARGUMENTS;
	struct node_state node;
	pending_get(&srv->pending, srv->tree, final_path, &node);
	if (node.exists)
		return ZK_NODEEXISTS;
	if (zk_owner_is_session(parent.owner))
		return ZK_NOCHILDRENFOREPHEMERALS;

	int64_t owner = 0;
	if (ephemeral)
		owner = x->session;
	else if (mode == ZK_MODE_CONTAINER)
		owner = ZK_OWNER_CONTAINER;
	else if (ttl_mode)
		owner = ZK_OWNER_TTL_MASK | a->ttl;

	struct zk_bytes acl_raw = zk_bytes_of(x->acl.buf + acl_start,
					      x->acl.len - acl_start);
	int32_t parent_cversion = parent.cversion + 1;
	parent.cversion = parent_cversion;
	parent.num_children++;
	struct node_state fresh = {
		.exists = true,
		.shape = shape,
		.data_len = a->data.len > 0 ? a->data.len : 0,
		.owner = owner,
		.acl_raw = acl_raw,
	};
	if (pending_put(&srv->pending, parent_path, &parent, x->zxid) ||
	    pending_put(&srv->pending, final_path, &fresh, x->zxid))
		return ZK_NOMEM;

	op->type = TXN_CREATE;
	op->u.create = (struct txn_create){
		.path = final_path,
		.data = a->data,
		.acl_raw = acl_raw,
		.ephemeral_owner = owner,
		.parent_cversion = parent_cversion,
		.shape = shape,
	};
	return 0;
}

static int prep_delete(struct prep_ctx *x, struct zk_bytes path,
		       int32_t version, struct txn_op *op)
{
	struct server *srv = x->srv;
	if (path.len <= 0 || zk_path_validate(path) != 0 || is_builtin(path))
		return ZK_BADARGUMENTS;
	struct node_state node, parent;
	struct zk_bytes parent_path = zk_path_parent(path);
	pending_get(&srv->pending, srv->tree, parent_path, &parent);
	pending_get(&srv->pending, srv->tree, path, &node);
	if (!node.exists || !parent.exists)
		return ZK_NONODE;
	if (!permits(x, parent.acl_raw, ZK_PERM_DELETE))
		return ZK_NOAUTH;
	int err = check_version(version, node.version);
	if (err)
		return err;
	if (node.num_children > 0)
		return ZK_NOTEMPTY;
	parent.num_children--;
	node.exists = false;
	node.acl_raw.len = 0;
	if (pending_put(&srv->pending, parent_path, &parent, x->zxid) ||
	    pending_put(&srv->pending, path, &node, x->zxid))
		return ZK_NOMEM;
	op->type = TXN_DELETE;
	op->u.del.path = path;
	return 0;
}

/* The checks setData, check and setACL share, in ZooKeeper's order: a
 * valid path, the node exists, perm on it, the expected version (of the
 * data; for setACL, of the ACL: aversion).  0 and *node, or the error. */
static int existing_node(struct prep_ctx *x, struct zk_bytes path,
			 int32_t perm, int32_t version, bool acl_version,
			 struct node_state *node)
{
	struct server *srv = x->srv;
	if (path.len <= 0 || zk_path_validate(path) != 0)
		return ZK_BADARGUMENTS;
	pending_get(&srv->pending, srv->tree, path, node);
	if (!node->exists)
		return ZK_NONODE;
	if (!permits(x, node->acl_raw, perm))
		return ZK_NOAUTH;
	return check_version(version,
			     acl_version ? node->aversion : node->version);
}

static int prep_set_data(struct prep_ctx *x, struct zk_bytes path,
			 struct zk_bytes data, int32_t version,
			 struct txn_op *op)
{
	struct node_state node;
	int err = existing_node(x, path, ZK_PERM_WRITE, version, false, &node);
	if (err)
		return err;
	node.version++;
	node.data_len = data.len > 0 ? data.len : 0;
	if (pending_put(&x->srv->pending, path, &node, x->zxid))
		return ZK_NOMEM;
	op->type = TXN_SET_DATA;
	op->u.set_data = (struct txn_set_data){path, data, node.version};
	return 0;
}

static int prep_check(struct prep_ctx *x, struct zk_bytes path,
		      int32_t version, struct txn_op *op)
{
	struct node_state node;
	int err = existing_node(x, path, ZK_PERM_READ, version, false, &node);
	if (err)
		return err;
	op->type = TXN_CHECK;
	op->u.check = (struct txn_check){path, version};
	return 0;
}

static int prep_set_acl(struct prep_ctx *x, const struct zk_set_acl_request *r,
			struct txn *t)
{
	struct node_state node;
	int err = existing_node(x, r->path, ZK_PERM_ADMIN, r->version, true,
				&node);
	if (err)
		return err;
	size_t start = x->acl.len;
	err = fixup_acl(x, r->acl);
	if (err)
		return err;
	node.aversion++;
	node.acl_raw = zk_bytes_of(x->acl.buf + start, x->acl.len - start);
	if (pending_put(&x->srv->pending, r->path, &node, x->zxid))
		return ZK_NOMEM;
	t->hdr.type = TXN_SET_ACL;
	t->u.set_acl = (struct txn_set_acl){r->path, node.acl_raw, node.aversion};
	return 0;
}

/* The create arguments of a create-shaped request body. */
static void create_args_of(int32_t type, const union zk_request_body *u,
			   struct create_args *a)
{
	memset(a, 0, sizeof(*a));
	a->op = type;
	if (type == ZK_OP_CREATE_TTL) {
		a->path = u->create_ttl.path;
		a->data = u->create_ttl.data;
		a->acl = u->create_ttl.acl;
		a->flags = u->create_ttl.flags;
		a->ttl = u->create_ttl.ttl;
	} else {
		a->path = u->create.path;
		a->data = u->create.data;
		a->acl = u->create.acl;
		a->flags = u->create.flags;
	}
}

/* One op of a multi (or a single write), as a txn op. */
static int prep_op(struct prep_ctx *x, int32_t type,
		   const union zk_request_body *u, struct txn_op *op)
{
	struct create_args a;
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
		create_args_of(type, u, &a);
		return prep_create(x, &a, op);
	case ZK_OP_DELETE:
		return prep_delete(x, u->path_version.path,
				   u->path_version.version, op);
	case ZK_OP_SET_DATA:
		return prep_set_data(x, u->set_data.path, u->set_data.data,
				     u->set_data.version, op);
	case ZK_OP_CHECK:
		return prep_check(x, u->path_version.path,
				  u->path_version.version, op);
	default:
		return ZK_UNIMPLEMENTED;
	}
}

int prep_init(struct server *srv)
{
	srv->prep = calloc(1, sizeof(*srv->prep));
	if (!srv->prep)
		return ZK_NOMEM;
	jute_writer_init(&srv->prep->acl, 256);
	return 0;
}

void prep_destroy(struct server *srv)
{
	if (srv->prep)
		jute_writer_free(&srv->prep->acl);
	free(srv->prep);
	srv->prep = NULL;
}

static struct prep_ctx *ctx_init(struct server *srv,
				 const struct auth_ids *ids, int64_t session)
{
	struct prep_ctx *x = srv->prep;
	x->srv = srv;
	x->ids = ids;
	x->session = session;
	x->local = false;
	x->zxid = srv->last_zxid + 1;
	x->time = server_wall_ms();
	jute_writer_reset(&x->acl);
	return x;
}

static struct txn_hdr ctx_hdr(const struct prep_ctx *x, int32_t cxid,
			      int32_t type)
{
	return (struct txn_hdr){x->session, cxid, x->zxid, x->time, type};
}

/* Encodes a single-op transaction into a new proposal and proposes it. */
static int propose(struct server *srv, struct proposal *p, const struct txn *t)
{
	p->zxid = t->hdr.zxid;
	int err = txn_encode(&p->txn, t);
	if (!err && !jute_writer_ok(&p->txn))
		err = ZK_NOMEM;
	if (!err)
		err = commit_propose(srv, p);
	if (err)
		proposal_free(p);
	return err;
}

/* Writes the answer of a failed multi: ops before the failure OK, the
 * failure its code, ops after it RUNTIMEINCONSISTENCY (all as errors). */
static void reply_failed_multi(struct server *srv, int32_t xid, int32_t n_ops,
			       int32_t failed_at, int err,
			       struct jute_writer *reply)
{
	size_t start = zk_reply_begin(reply, xid, srv->last_applied, 0);
	for (int32_t i = 0; i < n_ops; i++)
		zk_put_multi_error(reply, i < failed_at	  ? 0
					  : i == failed_at ? zk_err_wire(err)
							   : ZK_RUNTIMEINCONSISTENCY);
	zk_put_multi_end(reply);
	zk_frame_end(reply, start);
}

static int prep_multi(struct prep_ctx *x, struct conn *c,
		      const struct zk_request *req, struct creq *q,
		      struct jute_writer *reply, bool *answered)
{
	struct server *srv = x->srv;
	struct zk_multi_iter it;
	struct zk_multi_op mop;
	int32_t n = 0;
	zk_multi_iter_init(&it, req->u.multi.ops);
	while (zk_multi_next(&it, &mop) == 1)
		n++;
	if (n == 0) {
		size_t start = zk_reply_begin(reply, req->xid, srv->last_applied, 0);
		zk_put_multi_end(reply);
		zk_frame_end(reply, start);
		*answered = true;
		return 0;
	}
	struct proposal *p = proposal_new();
	if (!p)
		return ZK_NOMEM;
	p->op_types = malloc((size_t)n);
	if (!p->op_types) {
		proposal_free(p);
		return ZK_NOMEM;
	}
	p->n_ops = n;
	struct txn_hdr hdr = ctx_hdr(x, req->xid, TXN_MULTI);
	struct txn_multi_builder b;
	int err = txn_encode_multi_begin(&p->txn, &hdr, &b);
	pending_savepoint(&srv->pending);
	int32_t i = 0;
	zk_multi_iter_init(&it, req->u.multi.ops);
	while (!err && zk_multi_next(&it, &mop) == 1) {
		struct txn_op op;
		p->op_types[i] = (int8_t)mop.type;
		err = prep_op(x, mop.type, &mop.u, &op);
		if (!err)
			err = txn_encode_multi_op(&p->txn, &b, &op);
		if (!err)
			i++;
	}
	if (!err)
		err = txn_encode_multi_end(&p->txn, &b);
	if (err) {
		pending_rollback(&srv->pending);
		proposal_free(p);
		if (err == ZK_NOMEM)
			return err;
		reply_failed_multi(srv, req->xid, n, i, err, reply);
		*answered = true;
		return 0;
	}
	pending_commit_savepoint(&srv->pending);
	p->zxid = x->zxid;
	p->conn = c;
	p->creq = q;
	p->req_type = req->type;
	return commit_propose(srv, p);
}

bool prep_write(struct conn *c, const struct zk_request *req, struct creq *q,
		struct jute_writer *reply)
{
	struct server *srv = c->srv;
	struct prep_ctx *x;
	int err;
	bool answered = false;
	struct session *s = c->session;
	if (!s || s->closing) {
		err = ZK_SESSIONEXPIRED;
		goto answer;
	}
	x = ctx_init(srv, &c->ids, s->id);
	x->local = c->is_local && (!c->remote_peer || c->ids.local);
	tree_read_lock();
	if (req->type == ZK_OP_MULTI) {
		err = prep_multi(x, c, req, q, reply, &answered);
	} else {
		struct txn t;
		struct txn_op op;
		memset(&t, 0, sizeof(t));
		if (req->type == ZK_OP_SET_ACL) {
			err = prep_set_acl(x, &req->u.set_acl, &t);
		} else {
			err = prep_op(x, req->type, &req->u, &op);
			if (!err) {
				t.hdr.type = op.type;
				memcpy(&t.u, &op.u, sizeof(op.u));
			}
		}
		if (!err) {
			t.hdr = ctx_hdr(x, req->xid, t.hdr.type);
			struct proposal *p = proposal_new();
			if (!p) {
				err = ZK_NOMEM;
			} else {
				p->conn = c;
				p->creq = q;
				p->req_type = req->type;
				err = propose(srv, p, &t);
			}
		}
	}
	tree_read_unlock();
	if (!err && !answered)
		return true;
answer:
	if (!answered) {
		size_t start = zk_reply_begin(reply, req->xid, srv->last_applied,
					      zk_err_wire(err));
		zk_frame_end(reply, start);
	}
	return false;
}

int prep_create_session(struct server *srv, struct conn *c, struct session *s)
{
	if (srv->ensemble && !srv->leading)
		return forward_session(srv, s); /* c waits for the apply */
	struct prep_ctx *x = ctx_init(srv, NULL, s->id);
	struct txn t = {.hdr = ctx_hdr(x, 0, TXN_CREATE_SESSION)};
	t.u.create_session.timeout_ms = s->timeout_ms;
	memcpy(t.u.create_session.passwd, s->passwd, sizeof(s->passwd));
	struct proposal *p = proposal_new();
	if (!p)
		return ZK_NOMEM;
	p->conn = c;
	p->req_type = ZK_OP_CREATE_SESSION;
	return propose(srv, p, &t);
}

struct close_ctx {
	struct prep_ctx *x;
	int err;
};

/* Marks one ephemeral of a closing session deleted in the overlay. */
static void close_one(void *arg, struct zk_bytes path)
{
	struct close_ctx *cc = arg;
	struct server *srv = cc->x->srv;
	struct node_state node, parent;
	struct zk_bytes parent_path = zk_path_parent(path);
	pending_get(&srv->pending, srv->tree, path, &node);
	if (!node.exists || node.owner != cc->x->session)
		return;
	pending_get(&srv->pending, srv->tree, parent_path, &parent);
	parent.num_children--;
	node.exists = false;
	if (pending_put(&srv->pending, parent_path, &parent, cc->x->zxid) ||
	    pending_put(&srv->pending, path, &node, cc->x->zxid))
		cc->err = ZK_NOMEM;
}

static int close_tree_ephemeral(void *arg, struct tree_node *n)
{
	struct close_ctx *cc = arg;
	char *buf = cc->x->paths[1];
	size_t len = tree_node_path(n, buf, PREP_MAX_PATH);
	if (len < PREP_MAX_PATH)
		close_one(cc, zk_bytes_of(buf, len));
	return 0;
}

int prep_close_session(struct server *srv, struct session *s, struct conn *c,
		       struct creq *q)
{
	struct prep_ctx *x = ctx_init(srv, NULL, s->id);
	struct close_ctx cc = {x, 0};
	s->closing = true;
	tree_read_lock();
	tree_ephemerals_foreach(srv->tree, s->id, close_tree_ephemeral, &cc);
	tree_read_unlock();
	pending_for_each_owned(&srv->pending, s->id, close_one, &cc);
	if (cc.err)
		return cc.err;
	struct txn t = {.hdr = ctx_hdr(x, q ? q->xid : 0, TXN_CLOSE_SESSION)};
	struct proposal *p = proposal_new();
	if (!p)
		return ZK_NOMEM;
	p->conn = c;
	p->creq = q;
	p->req_type = ZK_OP_CLOSE_SESSION;
	return propose(srv, p, &t);
}

struct expiry_ctx {
	struct server *srv;
	int64_t now_ms;
	char (*paths)[PREP_MAX_PATH];
	size_t n, cap;
};

/* Collects the containers and TTL nodes that are due for deletion. */
static int collect_expired(void *arg, struct tree_node *n)
{
	struct expiry_ctx *e = arg;
	struct tree_view v;
	tree_node_read(n, &v);
	if (v.stat.num_children > 0)
		return 0;
	bool due = zk_owner_is_container(v.owner)
			   ? v.stored_cversion > 0
			   : e->now_ms - v.stat.mtime > zk_owner_ttl(v.owner);
	if (!due || e->n == e->cap)
		return 0;
	size_t len = tree_node_path(n, e->paths[e->n], PREP_MAX_PATH);
	if (len < PREP_MAX_PATH)
		e->n++;
	return 0;
}

void prep_containers_and_ttl(struct server *srv, int64_t now_ms)
{
	static char paths[64][PREP_MAX_PATH];
	struct expiry_ctx e = {srv, now_ms, paths, 0, 64};
	tree_read_lock();
	tree_special_foreach(srv->tree, collect_expired, &e);
	tree_read_unlock();
	for (size_t i = 0; i < e.n; i++) {
		struct zk_bytes path = zk_bytes_of(paths[i], strlen(paths[i]));
		struct node_state node;
		struct prep_ctx *x = ctx_init(srv, NULL, 0);
		tree_read_lock();
		pending_get(&srv->pending, srv->tree, path, &node);
		bool still_due = node.exists && node.num_children == 0 &&
				 !pending_has(&srv->pending, path);
		tree_read_unlock();
		if (!still_due)
			continue;
		struct node_state parent;
		struct zk_bytes parent_path = zk_path_parent(path);
		tree_read_lock();
		pending_get(&srv->pending, srv->tree, parent_path, &parent);
		tree_read_unlock();
		parent.num_children--;
		node.exists = false;
		if (pending_put(&srv->pending, parent_path, &parent, x->zxid) ||
		    pending_put(&srv->pending, path, &node, x->zxid))
			return;
		struct txn t = {.hdr = ctx_hdr(x, 0, TXN_DELETE_CONTAINER)};
		t.u.del.path = path;
		struct proposal *p = proposal_new();
		if (!p || propose(srv, p, &t) != 0)
			return;
	}
}
