/*
 * reads.c - the requests a node answers from its own tree and its own
 * connection state, without a transaction: exists, getData, getChildren(2),
 * getACL, getAllChildrenNumber, getEphemerals, multiRead, watches
 * (addWatch, removeWatches, checkWatches, setWatches, setWatches2), auth,
 * whoAmI, ping and sync.
 *
 * Each runs under the tree's read lock and writes one whole reply frame.
 * Permission checks and watch registration follow ZooKeeper's
 * FinalRequestProcessor: READ for reads (READ or ADMIN for getACL, where
 * digest ids are masked without ADMIN), and exists registers its watch even
 * when the node is missing.
 */
#include <string.h>

#include "server_i.h"
#include "zabfs/err.h"
#include "zabfs/tree.h"
#include "zabfs/zkpath.h"

/* ZooKeeper's WatcherType in checkWatches / removeWatches. */
enum watcher_type {
	WATCHER_CHILDREN = 1,
	WATCHER_DATA = 2,
	WATCHER_ANY = 3,
	WATCHER_PERSISTENT = 4,
	WATCHER_PERSISTENT_RECURSIVE = 5,
};

/* Finds path for a read needing perm; 0 or the error to answer.  As in
 * ZooKeeper, reads do not validate paths: a malformed one is not found. */
static int lookup_for_read(struct conn *c, struct zk_bytes path, int32_t perm,
			   struct tree_node **node, struct tree_view *v)
{
	*node = tree_lookup(c->srv->tree, path);
	if (!*node)
		return ZK_NONODE;
	tree_node_read(*node, v);
	if (!auth_permits(&v->acl, &c->ids, perm))
		return ZK_NOAUTH;
	return 0;
}

static void put_children(struct jute_writer *w, const struct tree_node *n)
{
	struct zk_vec_builder b;
	zk_vec_begin(w, &b);
	for (struct tree_node *ch = tree_child_first(n); ch;
	     ch = tree_child_next(ch))
		zk_vec_put_string(w, &b, tree_node_name(ch));
	zk_vec_end(w, &b);
}

static int32_t count_descendants(const struct tree_node *n)
{
	int32_t count = 0;
	for (struct tree_node *ch = tree_child_first(n); ch;
	     ch = tree_child_next(ch))
		count += 1 + count_descendants(ch);
	return count;
}

struct eph_ctx {
	struct jute_writer *w;
	struct zk_vec_builder *b;
	struct zk_bytes prefix;
};

static int put_ephemeral(void *ctx, struct tree_node *n)
{
	struct eph_ctx *e = ctx;
	char path[4096];
	size_t len = tree_node_path(n, path, sizeof(path));
	if (len >= sizeof(path))
		return 0;
	if (e->prefix.len > 0 &&
	    (len < (size_t)e->prefix.len ||
	     memcmp(path, e->prefix.p, (size_t)e->prefix.len) != 0))
		return 0;
	zk_vec_put_string(e->w, e->b, zk_bytes_of(path, len));
	return 0;
}

/* setWatches: re-arm one list with ZooKeeper's missed-event rules. */
static void rearm(struct conn *c, struct zk_vec list, int64_t rel_zxid,
		  unsigned kind, bool exist_watch)
{
	struct zk_vec_iter it;
	struct zk_bytes path;
	zk_vec_iter_init(&it, list.raw);
	while (zk_vec_next_string(&it, &path) == 1) {
		struct tree_node *n = tree_lookup(c->srv->tree, path);
		struct tree_view v;
		int event = 0;
		if (n)
			tree_node_read(n, &v);
		if (kind == WATCH_PERSISTENT || kind == WATCH_RECURSIVE)
			event = 0;
		else if (exist_watch)
			event = n ? ZK_EVENT_CREATED : 0;
		else if (!n)
			event = ZK_EVENT_DELETED;
		else if (kind == WATCH_DATA && v.stat.mzxid > rel_zxid)
			event = ZK_EVENT_DATA_CHANGED;
		else if (kind == WATCH_CHILD && v.stat.pzxid > rel_zxid)
			event = ZK_EVENT_CHILDREN_CHANGED;
		if (!event) {
			watches_add(&c->srv->watches, path, c, kind);
			continue;
		}
		if (n && !auth_permits(&v.acl, &c->ids, ZK_PERM_READ))
			continue;
		struct jute_writer frame;
		jute_writer_init(&frame, 0);
		size_t start = zk_reply_begin(&frame, ZK_XID_NOTIFICATION,
					      c->srv->last_applied, 0);
		zk_put_watcher_event(&frame, event, ZK_STATE_SYNC_CONNECTED,
				     path);
		if (zk_frame_end(&frame, start) == 0)
			conn_send_frame(c, &frame);
		jute_writer_free(&frame);
	}
}

static unsigned watch_kinds_of(int32_t type)
{
	switch (type) {
	case WATCHER_CHILDREN:
		return WATCH_CHILD;
	case WATCHER_DATA:
		return WATCH_DATA;
	case WATCHER_ANY:
		return WATCH_CHILD | WATCH_DATA | WATCH_PERSISTENT |
		       WATCH_RECURSIVE;
	case WATCHER_PERSISTENT:
		return WATCH_PERSISTENT;
	case WATCHER_PERSISTENT_RECURSIVE:
		return WATCH_RECURSIVE;
	default:
		return 0;
	}
}

/* One getData / getChildren op of a multiRead. */
static void multi_read_op(struct conn *c, const struct zk_multi_op *op,
			  struct jute_writer *w)
{
	struct tree_node *n;
	struct tree_view v;
	int err = lookup_for_read(c, op->u.path_watch.path, ZK_PERM_READ, &n,
				  &v);
	if (err) {
		zk_put_multi_error(w, err);
		return;
	}
	zk_put_multi_header(w, op->type, false, 0);
	if (op->type == ZK_OP_GET_DATA)
		zk_put_get_data_response(w, v.data, &v.stat);
	else
		put_children(w, n);
}

/* The body of a read request that succeeded; its error otherwise. */
static int read_body(struct conn *c, const struct zk_request *req,
		     struct jute_writer *w)
{
	struct server *srv = c->srv;
	struct tree_node *n;
	struct tree_view v;
	int err;
	switch (req->type) {
	case ZK_OP_EXISTS: {
		struct zk_bytes path = req->u.path_watch.path;
		n = tree_lookup(srv->tree, path);
		if (n) {
			tree_node_read(n, &v);
			if (!auth_permits(&v.acl, &c->ids, ZK_PERM_READ))
				return ZK_NOAUTH;
		}
		if (req->u.path_watch.watch && path.len > 0)
			watches_add(&srv->watches, path, c, WATCH_DATA);
		if (!n)
			return ZK_NONODE;
		zk_put_stat(w, &v.stat);
		return 0;
	}
	case ZK_OP_GET_DATA:
	case ZK_OP_GET_CHILDREN:
	case ZK_OP_GET_CHILDREN2:
		err = lookup_for_read(c, req->u.path_watch.path, ZK_PERM_READ,
				      &n, &v);
		if (err)
			return err;
		if (req->u.path_watch.watch)
			watches_add(&srv->watches, req->u.path_watch.path, c,
				    req->type == ZK_OP_GET_DATA ? WATCH_DATA
								: WATCH_CHILD);
		if (req->type == ZK_OP_GET_DATA) {
			zk_put_get_data_response(w, v.data, &v.stat);
			return 0;
		}
		put_children(w, n);
		if (req->type == ZK_OP_GET_CHILDREN2)
			zk_put_stat(w, &v.stat);
		return 0;
	case ZK_OP_GET_ACL: {
		err = lookup_for_read(c, req->u.path.path,
				      ZK_PERM_READ | ZK_PERM_ADMIN, &n, &v);
		if (err)
			return err;
		bool admin = auth_permits(&v.acl, &c->ids, ZK_PERM_ADMIN);
		err = auth_acl_write_masked(v.acl_raw, admin, w);
		if (err)
			return err;
		zk_put_stat(w, &v.stat);
		return 0;
	}
	case ZK_OP_GET_ALL_CHILDREN_NUMBER:
		err = lookup_for_read(c, req->u.path.path, ZK_PERM_READ, &n,
				      &v);
		if (err)
			return err;
		jute_put_int(w, count_descendants(n));
		return 0;
	case ZK_OP_GET_EPHEMERALS: {
		struct zk_vec_builder b;
		struct eph_ctx e = {w, &b, req->u.path.path};
		if (e.prefix.len == 1 && e.prefix.p[0] == '/')
			e.prefix.len = 0;
		zk_vec_begin(w, &b);
		if (c->session)
			tree_ephemerals_foreach(srv->tree, c->session->id,
						put_ephemeral, &e);
		zk_vec_end(w, &b);
		return 0;
	}
	case ZK_OP_MULTI_READ: {
		struct zk_multi_iter it;
		struct zk_multi_op op;
		zk_multi_iter_init(&it, req->u.multi.ops);
		while (zk_multi_next(&it, &op) == 1)
			multi_read_op(c, &op, w);
		zk_put_multi_end(w);
		return 0;
	}
	case ZK_OP_CHECK:
		/* Outside a multi (ZooKeeper 3.8 answers it like this too). */
		err = lookup_for_read(c, req->u.path_version.path, ZK_PERM_READ,
				      &n, &v);
		if (err)
			return err;
		return req->u.path_version.version == -1 ||
				       req->u.path_version.version == v.stat.version
			       ? 0
			       : ZK_BADVERSION;
	case ZK_OP_SYNC:
		jute_put_buffer(w, req->u.path.path);
		return 0;
	case ZK_OP_ADD_WATCH: {
		int32_t mode = req->u.path_type.type;
		if ((mode != 0 && mode != 1) || req->u.path_type.path.len <= 0)
			return ZK_BADARGUMENTS;
		err = watches_add(&srv->watches, req->u.path_type.path, c,
				  mode == 0 ? WATCH_PERSISTENT : WATCH_RECURSIVE);
		if (err)
			return err;
		jute_put_int(w, 0);
		return 0;
	}
	case ZK_OP_CHECK_WATCHES:
	case ZK_OP_REMOVE_WATCHES: {
		unsigned kinds = watch_kinds_of(req->u.path_type.type);
		if (!kinds)
			return ZK_BADARGUMENTS;
		if (!watches_has(&srv->watches, req->u.path_type.path, c, kinds))
			return ZK_NOWATCHER;
		if (req->type == ZK_OP_REMOVE_WATCHES)
			watches_remove(&srv->watches, req->u.path_type.path, c,
				       kinds);
		return 0;
	}
	case ZK_OP_SET_WATCHES:
	case ZK_OP_SET_WATCHES2: {
		const struct zk_set_watches2_request *sw = &req->u.set_watches2;
		int64_t rel = sw->relative_zxid;
		rearm(c, sw->data_watches, rel, WATCH_DATA, false);
		rearm(c, sw->exist_watches, rel, WATCH_DATA, true);
		rearm(c, sw->child_watches, rel, WATCH_CHILD, false);
		if (req->type == ZK_OP_SET_WATCHES2) {
			rearm(c, sw->persistent_watches, rel, WATCH_PERSISTENT,
			      false);
			rearm(c, sw->persistent_recursive_watches, rel,
			      WATCH_RECURSIVE, false);
		}
		return 0;
	}
	case ZK_OP_WHO_AM_I:
		auth_whoami_write(&c->ids, w);
		return 0;
	case ZK_OP_PING:
		return 0;
	default:
		return ZK_UNIMPLEMENTED;
	}
}

void reads_run(struct conn *c, const struct zk_request *req,
	       struct jute_writer *reply)
{
	/* Built aside: a read may queue watch events on the connection
	 * (setWatches), which must not land inside its reply frame. */
	struct jute_writer *w = &c->srv->scratch;
	jute_writer_reset(w);
	tree_read_lock();
	size_t start = zk_reply_begin(w, req->xid, c->srv->last_applied, 0);
	int err = read_body(c, req, w);
	tree_read_unlock();
	if (!err)
		err = zk_frame_end(w, start) ? ZK_MARSHALLINGERROR : 0;
	if (err) {
		/* The header alone, as ZooKeeper's clients expect. */
		jute_writer_reset(w);
		start = zk_reply_begin(w, req->xid, c->srv->last_applied,
				       zk_err_wire(err));
		zk_frame_end(w, start);
	}
	jute_put_raw(reply, w->buf, w->len);
}
