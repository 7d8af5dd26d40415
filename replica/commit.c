/*
 * commit.c - from proposal to reply: hands each transaction to the Zab
 * core (zab_driver.c), which logs it, and once the core says it is
 * committed (with a quorum of one: durable) applies it to the tree, fires
 * the watches, and answers the client that asked.
 *
 * Design
 *   Proposals wait on srv->inflight in zxid order.  The log thread reports
 *   the highest durable zxid into srv->durable_zxid (an atomic store) and
 *   wakes the loop (uv_async); the core hears it and commits, and
 *   commit_through() applies, in order, every proposal up to the commit.
 *   Group commit falls out of this: everything appended while one
 *   fdatasync runs is made durable by the next one, and applied in one
 *   pass.
 *
 * Invariants
 *   1. srv->inflight is sorted by zxid with no gaps within an epoch, and
 *      every zxid in it is above srv->last_applied.
 *   2. A proposal is applied only when the core committed its zxid (so it
 *      is durable on a quorum).
 *   3. A storage failure is sticky: the node stops (the log refuses every
 *      later append) and is restarted to recover from disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_i.h"
#include "zabfs/err.h"
#include "zabfs/tree.h"
#include "zabfs/txn_codec.h"

struct proposal *proposal_new(void)
{
	struct proposal *p = calloc(1, sizeof(*p));
	if (p)
		jute_writer_init(&p->txn, 128);
	return p;
}

void proposal_free(struct proposal *p)
{
	if (!p)
		return;
	jute_writer_free(&p->txn);
	free(p->op_types);
	free(p);
}

int commit_propose(struct server *srv, struct proposal *p)
{
	if (p->zxid != srv->last_zxid + 1)
		return ZK_RUNTIMEINCONSISTENCY;
	int err = zdriver_propose(srv, p);
	if (err)
		return err;
	srv->last_zxid = p->zxid;
	if (srv->inflight_tail)
		srv->inflight_tail->next = p;
	else
		srv->inflight_head = p;
	srv->inflight_tail = p;
	srv->stats.outstanding++;
	if (p->creq)
		p->creq->state = CREQ_IN_FLIGHT;
	return 0;
}

/* The change feed: every tree event goes to the frontend's feed, and
 * becomes the client port's watch events. */
static void on_tree_event(void *ctx, const struct tree_event *ev)
{
	struct server *srv = ctx;
	if (srv->feed.fn)
		srv->feed.fn(srv->feed.ctx, ev);
	struct watch_event we = {.zxid = ev->zxid, .path = ev->path};
	switch (ev->type) {
	case TREE_CREATED:
		we.type = ZK_EVENT_CREATED;
		break;
	case TREE_DELETED:
		we.type = ZK_EVENT_DELETED;
		break;
	case TREE_DATA_CHANGED:
		we.type = ZK_EVENT_DATA_CHANGED;
		break;
	case TREE_CHILDREN_CHANGED:
		we.type = ZK_EVENT_CHILDREN_CHANGED;
		break;
	default:
		return;
	}
	struct tree_view v;
	tree_node_read(ev->node, &v);
	we.acl = &v.acl;
	watches_trigger(&srv->watches, &we);
}

/* The reply body of one successful write op (request opcode type). */
static void put_write_result(struct jute_writer *w, int32_t type,
			     const struct txn_op *op, const struct zk_stat *st)
{
	switch (type) {
	case ZK_OP_CREATE:
		jute_put_buffer(w, op->u.create.path);
		break;
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
		zk_put_create2_response(w, op->u.create.path, st);
		break;
	case ZK_OP_SET_DATA:
	case ZK_OP_SET_ACL:
		zk_put_stat(w, st);
		break;
	default: /* delete, check: no body */
		break;
	}
}

static void put_multi_result(struct jute_writer *w, const struct proposal *p,
			     const struct txn *t, const struct zk_stat *stats)
{
	struct txn_multi_iter it;
	struct txn_op op;
	txn_multi_iter_init(&it, &t->u.multi);
	for (int32_t i = 0; i < p->n_ops && txn_multi_next(&it, &op) == 1; i++) {
		int32_t type = p->op_types[i];
		int32_t shown = type;
		if (type == ZK_OP_CREATE_CONTAINER || type == ZK_OP_CREATE_TTL)
			shown = ZK_OP_CREATE2;
		zk_put_multi_header(w, shown, false, 0);
		put_write_result(w, type, &op, &stats[i]);
	}
	zk_put_multi_end(w);
}

/* Answers the request behind an applied proposal. */
static void answer(struct server *srv, struct proposal *p, const struct txn *t,
		   int err, const struct zk_stat *stats)
{
	struct conn *c = p->conn;
	if (p->req_type == ZK_OP_CREATE_SESSION) {
		conn_session_ready(c, err);
		return;
	}
	struct creq *q = p->creq;
	if (!q)
		return;
	struct jute_writer *w = &q->reply;
	size_t start = zk_reply_begin(w, q->xid, srv->last_applied,
				      zk_err_wire(err));
	if (!err) {
		if (p->req_type == ZK_OP_MULTI) {
			put_multi_result(w, p, t, stats);
		} else {
			struct txn_op op = {.type = t->hdr.type};
			memcpy(&op.u, &t->u, sizeof(op.u));
			put_write_result(w, p->req_type, &op, &stats[0]);
		}
	}
	zk_frame_end(w, start);
	if (p->req_type == ZK_OP_CLOSE_SESSION)
		q->close_after = true;
	conn_reply_done(c, q);
}

/* Session bookkeeping of an applied session transaction. */
static void apply_session(struct server *srv, const struct txn *t)
{
	if (t->hdr.type == TXN_CREATE_SESSION) {
		sessions_apply_create(&srv->sessions, t->hdr.session,
				      t->u.create_session.timeout_ms,
				      t->u.create_session.passwd,
				      server_now_ms());
		/* A session this node forwarded: its handshake completes now
		 * (the leader's own complete when answered). */
		struct session *s = sessions_find(&srv->sessions, t->hdr.session);
		if (s && s->conn && !s->conn->remote_peer && !srv->leading)
			conn_session_ready(s->conn, 0);
	} else if (t->hdr.type == TXN_CLOSE_SESSION) {
		struct conn *c = sessions_apply_close(&srv->sessions,
						      t->hdr.session);
		if (!c)
			return;
		c->session = NULL;
		/* The connection of an expired session is closed now; one
		 * that asked for the close is closed after its reply. */
		for (struct creq *q = c->head; q; q = q->next)
			if (q->type == ZK_OP_CLOSE_SESSION)
				return;
		conn_close(c);
	}
}

int commit_apply_one(struct server *srv, const uint8_t *buf, size_t len,
		     bool replay, struct zk_stat *stats, size_t n_stats,
		     struct txn *t)
{
	int err = txn_decode(buf, len, t);
	if (err)
		return err;
	if (t->hdr.type == TXN_MULTI && (size_t)t->u.multi.count > n_stats)
		return ZK_CORRUPT;
	struct tree_listener l = {on_tree_event, srv};
	err = tree_apply(srv->tree, t, replay, replay ? NULL : &l, stats);
	if (t->hdr.type == TXN_CREATE_SESSION || t->hdr.type == TXN_CLOSE_SESSION)
		apply_session(srv, t);
	srv->last_applied = t->hdr.zxid;
	return err;
}

void commit_through(struct server *srv, int64_t durable)
{
	struct zk_stat one;
	struct zk_stat *stats = &one;
	size_t n_stats = 1;
	while (srv->inflight_head && srv->inflight_head->zxid <= durable) {
		struct proposal *p = srv->inflight_head;
		srv->inflight_head = p->next;
		if (!srv->inflight_head)
			srv->inflight_tail = NULL;
		srv->stats.outstanding--;
		if (p->n_ops > 1) {
			stats = calloc((size_t)p->n_ops, sizeof(*stats));
			n_stats = stats ? (size_t)p->n_ops : 0;
		}
		struct txn t;
		int err = stats ? commit_apply_one(srv, p->txn.buf, p->txn.len,
						   false, stats, n_stats, &t)
				: ZK_NOMEM;
		if (err)
			fprintf(stderr,
				"zabfs: applying zxid 0x%llx failed: %s\n",
				(unsigned long long)p->zxid, zk_strerror(err));
		pending_release(&srv->pending, p->zxid);
		if (p->conn)
			answer(srv, p, &t, err, stats);
		if (stats != &one)
			free(stats);
		stats = &one;
		n_stats = 1;
		proposal_free(p);
		server_after_apply(srv);
	}
	forward_release(srv);
}
