/*
 * forward.c - the request path across an ensemble: a follower's clients
 * write through the leader, and their sessions live on the leader.
 *
 * Design
 *   Follower side.  A write, closeSession or sync of a client (or of a
 *   local session, the mount) is sent whole to the leader as REQUEST,
 *   with the client's identities; its queue entry waits in flight.  The
 *   leader's REPLY brings the reply frame back; it is held until this
 *   node has applied the zxid in its header (a reply never overtakes the
 *   transaction it answers: the client reads its own write here), then
 *   becomes the entry's reply, in the connection's order.  A new session
 *   is created here (ids carry this node's id, session.c) and announced
 *   with SESSION; the handshake completes when its createSession is
 *   applied (commit.c).  Every tick, TOUCH tells the leader which
 *   sessions this node heard from since the last one (and its local
 *   sessions, which do not ping): only the leader expires sessions.
 *
 *   Leader side.  Each session a follower forwards for has a socket-less
 *   conn here (is_local, remote_peer = the follower), found through the
 *   session: the request runs through the ordinary path (prep, commit)
 *   with the client's identities, and what the conn gathers as output is
 *   sent back as REPLY at the end of the loop iteration.
 *
 *   Losing the leader (the core looks again), a follower closes its
 *   clients' connections, as ZooKeeper does, and fails the local
 *   sessions' requests in flight with CONNECTIONLOSS; while it has no
 *   leader, new requests are refused the same way (the mount then waits
 *   a bounded time and answers EROFS).  The leader closes the conns of a
 *   follower that went down.
 *
 * Invariants
 *   1. A forwarded request's entry is answered exactly once: by its
 *      REPLY, or by the loss of the leader.
 *   2. Held replies are delivered in arrival order per connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_i.h"
#include "peer_net_i.h"
#include "zab_i.h"
#include "zabfs/err.h"
#include "zabfs/peer.h"

/* A reply frame waiting for this node to apply its zxid. */
struct held_reply {
	struct held_reply *next;
	int64_t session;
	int64_t zxid;
	size_t len;
	uint8_t frame[];
};

static int32_t load_i32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			 (uint32_t)p[2] << 8 | p[3]);
}

static int64_t load_i64(const uint8_t *p)
{
	return (int64_t)((uint64_t)(uint32_t)load_i32(p) << 32 |
			 (uint32_t)load_i32(p + 4));
}

int forward_send(struct server *srv, int32_t to, const struct peer_msg *m)
{
	struct jute_writer w;
	jute_writer_init(&w, 256);
	int rc = peer_msg_encode(&w, m);
	if (!rc && (!srv->peers || peer_net_send(srv->peers, to, w.buf, w.len)))
		rc = ZK_CONNECTIONLOSS;
	jute_writer_free(&w);
	return rc;
}

/* Answers q with err alone (a local session), or closes c (a client,
 * which reconnects elsewhere). */
static void refuse(struct conn *c, struct creq *q, int err)
{
	if (!c->is_local) {
		conn_close(c);
		return;
	}
	jute_writer_reset(&q->reply);
	size_t start = zk_reply_begin(&q->reply, q->xid, c->srv->last_applied,
				      zk_err_wire(err));
	zk_frame_end(&q->reply, start);
	conn_reply_done(c, q);
}

/* -- follower side -- */

bool forward_request(struct conn *c, const uint8_t *frame, size_t len,
		     struct creq *q)
{
	struct server *srv = c->srv;
	if (!srv->ensemble || srv->leading || c->remote_peer || !q ||
	    !conn_is_write_op(load_i32(frame + 4)) ||
	    load_i32(frame + 4) == ZK_OP_RECONFIG)
		return false;
	if (!srv->serving || !c->session) {
		refuse(c, q, ZK_CONNECTIONLOSS);
		return true;
	}
	struct jute_writer ids;
	jute_writer_init(&ids, 64);
	auth_ids_encode(&c->ids, &ids);
	struct peer_msg m = {.type = PEER_REQUEST};
	m.u.request = (struct peer_request){c->session->id,
					    zk_bytes_of(frame, len),
					    zk_bytes_of(ids.buf, ids.len)};
	int rc = forward_send(srv, (int32_t)zab_leader(srv->zab), &m);
	jute_writer_free(&ids);
	if (rc) {
		refuse(c, q, ZK_CONNECTIONLOSS);
	} else {
		q->state = CREQ_IN_FLIGHT;
		c->fwd_session = c->session->id;
	}
	return true;
}

int forward_session(struct server *srv, struct session *s)
{
	if (!srv->serving)
		return ZK_CONNECTIONLOSS;
	struct peer_msg m = {.type = PEER_SESSION};
	m.u.session = (struct peer_session){
		s->id, (uint32_t)s->timeout_ms,
		zk_bytes_of(s->passwd, sizeof(s->passwd))};
	return forward_send(srv, (int32_t)zab_leader(srv->zab), &m);
}

/* The reply frame (length prefix included) to its queue entry. */
static void deliver(struct server *srv, int64_t session, const uint8_t *frame,
		    size_t len)
{
	struct session *s = sessions_find(&srv->sessions, session);
	struct conn *c = s ? s->conn : NULL;
	/* a closeSession's reply: the session is gone, its conn is not */
	for (struct conn *k = srv->conns; !c && k; k = k->next)
		if (k->fwd_session == session && !k->remote_peer)
			c = k;
	if (!c || len < 12)
		return;
	int32_t xid = load_i32(frame + 4);
	for (struct creq *q = c->head; q; q = q->next) {
		if (q->state != CREQ_IN_FLIGHT || q->xid != xid)
			continue;
		jute_writer_reset(&q->reply);
		jute_put_raw(&q->reply, frame, len);
		if (q->type == ZK_OP_CLOSE_SESSION)
			q->close_after = true;
		conn_reply_done(c, q);
		return;
	}
}

void forward_on_reply(struct server *srv, const struct peer_reply *m)
{
	const uint8_t *p = m->frames.p;
	size_t left = m->frames.len > 0 ? (size_t)m->frames.len : 0;
	while (left >= 4) {
		size_t len = 4 + (size_t)(uint32_t)load_i32(p);
		if (len < 20 || len > left)
			break; /* not a reply frame: the rest is dropped */
		int64_t zxid = load_i64(p + 8);
		bool hold = zxid > srv->last_applied || srv->held_head;
		if (!hold) {
			deliver(srv, m->session, p, len);
		} else {
			struct held_reply *h = malloc(sizeof(*h) + len);
			if (h) {
				h->next = NULL;
				h->session = m->session;
				h->zxid = zxid;
				h->len = len;
				memcpy(h->frame, p, len);
				if (srv->held_tail)
					srv->held_tail->next = h;
				else
					srv->held_head = h;
				srv->held_tail = h;
			}
		}
		p += len;
		left -= len;
	}
}

void forward_release(struct server *srv)
{
	while (srv->held_head && srv->held_head->zxid <= srv->last_applied) {
		struct held_reply *h = srv->held_head;
		srv->held_head = h->next;
		if (!srv->held_head)
			srv->held_tail = NULL;
		deliver(srv, h->session, h->frame, h->len);
		free(h);
	}
}

void forward_touch(struct server *srv)
{
	if (!srv->ensemble || srv->leading || !srv->serving)
		return;
	struct jute_writer ids;
	jute_writer_init(&ids, 256);
	sessions_take_heard(&srv->sessions, &ids);
	if (ids.len) {
		struct peer_msg m = {.type = PEER_TOUCH};
		m.u.touch.ids = zk_bytes_of(ids.buf, ids.len);
		forward_send(srv, (int32_t)zab_leader(srv->zab), &m);
	}
	jute_writer_free(&ids);
}

void forward_leader_lost(struct server *srv)
{
	for (struct conn *c = srv->conns, *next; c; c = next) {
		next = c->next;
		if (!c->is_local) {
			conn_close(c);
			continue;
		}
		for (struct creq *q = c->head, *qn; q; q = qn) {
			qn = q->next;
			if (q->state == CREQ_IN_FLIGHT && !c->remote_peer)
				refuse(c, q, ZK_OPERATIONTIMEOUT);
		}
		if (c->remote_peer)
			conn_close(c);
	}
	while (srv->held_head) {
		struct held_reply *h = srv->held_head;
		srv->held_head = h->next;
		free(h);
	}
	srv->held_tail = NULL;
}

/* -- leader side -- */

/* The socket-less conn of a follower's session, made on first use. */
static struct conn *remote_conn(struct server *srv, int32_t from,
				struct session *s)
{
	if (s->conn && s->conn->remote_peer == from)
		return s->conn;
	if (s->conn) { /* the client moved: its old connection goes */
		struct conn *old = s->conn;
		old->session = NULL;
		s->conn = NULL;
		conn_close(old);
	}
	struct conn *c = conn_new(srv);
	if (!c)
		return NULL;
	c->is_local = true;
	c->remote_peer = from;
	c->fwd_session = s->id;
	c->state = CONN_ACTIVE;
	snprintf(c->peer, sizeof(c->peer), "peer %d", (int)from);
	snprintf(c->peer_ip, sizeof(c->peer_ip), "peer");
	if (auth_ids_init(&c->ids, NULL) != 0) {
		conn_free(c);
		return NULL;
	}
	conn_link(c);
	c->session = s;
	s->conn = c;
	return c;
}

static void reply_expired(struct server *srv, int32_t to, int64_t session,
			  const struct zk_bytes frame)
{
	if (frame.len < 8)
		return;
	struct jute_writer w;
	jute_writer_init(&w, 32);
	size_t start = zk_reply_begin(&w, load_i32(frame.p), srv->last_applied,
				      ZK_SESSIONEXPIRED);
	zk_frame_end(&w, start);
	struct peer_msg m = {.type = PEER_REPLY};
	m.u.reply = (struct peer_reply){session, zk_bytes_of(w.buf, w.len)};
	forward_send(srv, to, &m);
	jute_writer_free(&w);
}

void forward_on_request(struct server *srv, int32_t from,
			const struct peer_request *m)
{
	struct session *s = sessions_find(&srv->sessions, m->session);
	if (!srv->leading || !s || !s->committed || m->frame.len < 8) {
		reply_expired(srv, from, m->session, m->frame);
		return;
	}
	struct conn *c = remote_conn(srv, from, s);
	if (!c || auth_ids_decode(&c->ids, m->ids) != 0) {
		reply_expired(srv, from, m->session, m->frame);
		return;
	}
	session_touch(s, server_now_ms());
	conn_handle_frame(c, m->frame.p, (size_t)m->frame.len);
}

void forward_on_session(struct server *srv, int32_t from,
			const struct peer_session *m)
{
	(void)from;
	if (!srv->leading || m->passwd.len != ZK_PASSWD_LEN ||
	    sessions_find(&srv->sessions, m->session))
		return;
	struct session *s = sessions_adopt(&srv->sessions, m->session,
					   (int32_t)m->timeout_ms,
					   m->passwd.p, server_now_ms());
	if (s && prep_create_session(srv, NULL, s) != 0)
		sessions_apply_close(&srv->sessions, s->id);
}

void forward_on_touch(struct server *srv, const struct peer_touch *m)
{
	sessions_touch_ids(&srv->sessions, m->ids, server_now_ms());
}

void forward_deliver(struct conn *c)
{
	struct server *srv = c->srv;
	if (c->out.len) { /* a closeSession's reply comes after the close */
		struct peer_msg m = {.type = PEER_REPLY};
		m.u.reply = (struct peer_reply){
			c->fwd_session, zk_bytes_of(c->out.buf, c->out.len)};
		forward_send(srv, c->remote_peer, &m);
	}
	jute_writer_reset(&c->out);
}

void forward_peer_down(struct server *srv, int32_t id)
{
	for (struct conn *c = srv->conns, *next; c; c = next) {
		next = c->next;
		if (c->remote_peer == id)
			conn_close(c);
	}
}
