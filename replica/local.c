/*
 * local.c - the in-process door of include/zabfs/replica.h: local sessions
 * whose requests go through the same conn/dispatch/prep/commit path as the
 * client port's.
 *
 * Design
 *   A frontend thread never touches the loop's state.  It puts a struct
 *   local_op (open, call or close) on srv->local_inbox under local_mu, wakes
 *   the loop (uv_async) and sleeps on its session's condition variable until
 *   the op is done.  On the loop, each local session is a struct conn with
 *   conn->local set and no socket: a call's frame is handed to
 *   conn_handle_frame as if it had been read, and what the conn layer would
 *   have written to the socket is handed back by local_deliver: each reply
 *   frame to the oldest call still waiting on that session (replies leave a
 *   conn in request order), notifications (xid -1) dropped.
 *
 *   Local sessions do not expire while the node runs (server.c skips them):
 *   they belong to processes on this node, and when the node dies the
 *   ensemble expires them as it would any session.
 *
 * Invariants
 *   1. op->done is set, under l->mu, exactly once; the thread waiting on it
 *      owns the op again after that.
 *   2. l->waiting lists, in request order, the calls handed to the conn and
 *      not answered yet (loop thread only).
 *   3. Once srv->local_stopped is set (under local_mu), no op enters the
 *      inbox and every op waiting anywhere is done with ZK_STOPPED.
 */
#include <stdlib.h>
#include <string.h>

#include "server_i.h"
#include "zabfs/err.h"

enum local_kind { LOCAL_OPEN, LOCAL_CALL };

struct local_op {
	struct local_op *next;      /* in the inbox */
	struct local_op *wait_next; /* in l->waiting */
	enum local_kind kind;
	struct zabfs_local *l;
	uint8_t *frame; /* LOCAL_CALL: RequestHeader + record, a copy */
	size_t len;
	int32_t timeout_ms;       /* LOCAL_OPEN */
	bool closes;              /* LOCAL_CALL of closeSession */
	struct jute_writer *reply; /* LOCAL_CALL: the caller's */
	const struct zabfs_caller *who; /* LOCAL_CALL; NULL: the world */
	int err;
	bool done;
};

struct zabfs_local {
	struct server *srv;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct conn *c;         /* loop thread only; NULL once closed */
	struct local_op *waiting, *waiting_tail; /* loop thread only */
	struct local_op *opening; /* loop thread only */
	int32_t xid;            /* loop thread only */
	int64_t session_id;     /* set when the open is done */
};

static void finish(struct local_op *op, int err)
{
	struct zabfs_local *l = op->l;
	pthread_mutex_lock(&l->mu);
	op->err = err;
	op->done = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Puts op in the inbox and waits until it is done. */
static int submit(struct zabfs_local *l, struct local_op *op)
{
	struct server *srv = l->srv;
	op->l = l;
	pthread_mutex_lock(&srv->local_mu);
	if (srv->local_stopped) {
		pthread_mutex_unlock(&srv->local_mu);
		return ZK_STOPPED;
	}
	if (srv->local_inbox_tail)
		srv->local_inbox_tail->next = op;
	else
		srv->local_inbox = op;
	srv->local_inbox_tail = op;
	pthread_mutex_unlock(&srv->local_mu);
	uv_async_send(&srv->local_wakeup);
	pthread_mutex_lock(&l->mu);
	while (!op->done)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
	return op->err;
}

/* -------------------------------------------------------- loop thread */

static void run_open(struct server *srv, struct local_op *op)
{
	struct zabfs_local *l = op->l;
	const struct zabfs_config *cfg = srv->cfg;
	struct conn *c = conn_new(srv);
	if (!c) {
		finish(op, ZK_NOMEM);
		return;
	}
	c->is_local = true;
	c->local = l;
	snprintf(c->peer, sizeof(c->peer), "local");
	snprintf(c->peer_ip, sizeof(c->peer_ip), "local");
	int32_t timeout = conn_session_timeout(cfg, op->timeout_ms);
	struct session *s = NULL;
	if (auth_ids_init(&c->ids, NULL) != 0 ||
	    !(s = sessions_create(&srv->sessions, timeout, server_now_ms()))) {
		conn_free(c);
		finish(op, ZK_NOMEM);
		return;
	}
	conn_link(c);
	c->session = s;
	s->conn = c;
	s->local = true;
	c->state = CONN_WAIT_SESSION;
	l->c = c;
	l->opening = op;
	int err = prep_create_session(srv, c, s);
	if (err) {
		l->opening = NULL;
		conn_close(c);
		finish(op, err);
	}
}

static void run_call(struct server *srv, struct local_op *op)
{
	struct zabfs_local *l = op->l;
	if (!l->c || op->len < 8) {
		finish(op, l->c ? ZK_MALFORMED : ZK_SESSIONEXPIRED);
		return;
	}
	int32_t xid = ++l->xid;
	if (xid <= 0)
		xid = l->xid = 1;
	op->frame[0] = (uint8_t)((uint32_t)xid >> 24);
	op->frame[1] = (uint8_t)((uint32_t)xid >> 16);
	op->frame[2] = (uint8_t)((uint32_t)xid >> 8);
	op->frame[3] = (uint8_t)xid;
	const struct zabfs_caller *who = op->who;
	static const struct zabfs_caller nobody = {UINT32_MAX, UINT32_MAX, 0,
						   0, {0}};
	if (!who)
		who = &nobody;
	if (auth_ids_set_caller(&l->c->ids, who->uid, who->gid, who->groups,
				who->n_groups,
				who->uid == 0 && srv->cfg->mount_root_super) !=
	    0) {
		finish(op, ZK_NOMEM);
		return;
	}
	if (l->waiting_tail)
		l->waiting_tail->wait_next = op;
	else
		l->waiting = op;
	l->waiting_tail = op;
	conn_handle_frame(l->c, op->frame, op->len);
}

static void on_local_wakeup(uv_async_t *a)
{
	struct server *srv = a->data;
	pthread_mutex_lock(&srv->local_mu);
	struct local_op *op = srv->local_inbox;
	srv->local_inbox = srv->local_inbox_tail = NULL;
	pthread_mutex_unlock(&srv->local_mu);
	while (op) {
		struct local_op *next = op->next;
		op->next = NULL;
		if (op->kind == LOCAL_OPEN)
			run_open(srv, op);
		else
			run_call(srv, op);
		op = next;
	}
}

static int32_t load_i32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			 (uint32_t)p[2] << 8 | p[3]);
}

void local_deliver(struct conn *c)
{
	struct zabfs_local *l = c->local;
	size_t pos = 0;
	while (c->out.len - pos >= 4) {
		size_t len = (size_t)load_i32(c->out.buf + pos);
		const uint8_t *body = c->out.buf + pos + 4;
		pos += 4 + len;
		if (!l || pos > c->out.len)
			break;
		if (l->opening) {
			/* The ConnectResponse of the session's handshake. */
			struct local_op *op = l->opening;
			l->opening = NULL;
			l->session_id = c->session ? c->session->id : 0;
			finish(op, c->session ? 0 : ZK_SESSIONEXPIRED);
			continue;
		}
		if (len < 4 || load_i32(body) == ZK_XID_NOTIFICATION)
			continue;
		struct local_op *op = l->waiting;
		if (!op)
			continue;
		l->waiting = op->wait_next;
		if (!l->waiting)
			l->waiting_tail = NULL;
		jute_writer_reset(op->reply);
		jute_put_raw(op->reply, body, len);
		if (op->closes) {
			/* Its caller frees l as soon as it is told: detach
			 * first; the conn closes after this flush. */
			l->c = NULL;
			c->local = NULL;
			l = NULL;
		}
		finish(op, jute_writer_ok(op->reply) ? 0 : ZK_NOMEM);
	}
}

void local_conn_closed(struct conn *c)
{
	struct zabfs_local *l = c->local;
	if (!l)
		return;
	/* A close reply gathered but not yet flushed still goes out. */
	if (c->out.len)
		local_deliver(c);
	int err = c->srv->stopping ? ZK_STOPPED : ZK_SESSIONEXPIRED;
	l = c->local; /* local_deliver may have detached it */
	if (!l)
		return;
	l->c = NULL;
	c->local = NULL;
	while (l->waiting) {
		struct local_op *op = l->waiting;
		l->waiting = op->wait_next;
		finish(op, err);
	}
	l->waiting_tail = NULL;
	if (l->opening) {
		struct local_op *op = l->opening;
		l->opening = NULL;
		finish(op, err);
	}
}

void local_stop(struct server *srv)
{
	pthread_mutex_lock(&srv->local_mu);
	srv->local_stopped = true;
	struct local_op *op = srv->local_inbox;
	srv->local_inbox = srv->local_inbox_tail = NULL;
	pthread_mutex_unlock(&srv->local_mu);
	for (; op; op = op->next)
		finish(op, ZK_STOPPED);
}

int local_init(struct server *srv)
{
	if (pthread_mutex_init(&srv->local_mu, NULL))
		return ZK_NOMEM;
	uv_async_init(srv->loop, &srv->local_wakeup, on_local_wakeup);
	srv->local_wakeup.data = srv;
	return 0;
}

/* ------------------------------------------------- frontend threads */

struct tree *zabfs_replica_tree(struct zabfs_replica *r)
{
	return ((struct server *)(void *)r)->tree;
}

const struct zabfs_config *zabfs_replica_config(struct zabfs_replica *r)
{
	return ((struct server *)(void *)r)->cfg;
}

void zabfs_replica_set_feed(struct zabfs_replica *r,
			    const struct tree_listener *feed)
{
	((struct server *)(void *)r)->feed = *feed;
}

int zabfs_local_open(struct zabfs_replica *r, int32_t timeout_ms,
		     struct zabfs_local **out)
{
	struct zabfs_local *l = calloc(1, sizeof(*l));
	if (!l)
		return ZK_NOMEM;
	l->srv = (struct server *)(void *)r;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	struct local_op op = {.kind = LOCAL_OPEN, .timeout_ms = timeout_ms};
	int err = submit(l, &op);
	if (err) {
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mu);
		free(l);
		return err;
	}
	*out = l;
	return 0;
}

bool zabfs_replica_serving(struct zabfs_replica *r)
{
	struct server *srv = (struct server *)(void *)r;
	return __atomic_load_n(&srv->serving, __ATOMIC_ACQUIRE);
}

int64_t zabfs_local_session_id(const struct zabfs_local *l)
{
	return l->session_id;
}

int zabfs_local_call(struct zabfs_local *l, const struct zabfs_caller *who,
		     const uint8_t *req, size_t len, struct jute_writer *reply)
{
	struct local_op op = {.kind = LOCAL_CALL, .len = len, .reply = reply,
			      .who = who};
	op.closes = len >= 8 && req[4] == 0xff && req[5] == 0xff &&
		    req[6] == 0xff && req[7] == 0xf5; /* closeSession, -11 */
	op.frame = malloc(len ? len : 1);
	if (!op.frame)
		return ZK_NOMEM;
	memcpy(op.frame, req, len);
	int err = submit(l, &op);
	free(op.frame);
	return err;
}

void zabfs_local_close(struct zabfs_local *l)
{
	static const uint8_t close_req[8] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xf5};
	struct jute_writer reply;
	jute_writer_init(&reply, 0);
	zabfs_local_call(l, NULL, close_req, sizeof(close_req), &reply);
	jute_writer_free(&reply);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
