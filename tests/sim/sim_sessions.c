/*
 * sim_sessions.c - sessions in the simulator (design in sim_i.h): the
 * session txns, each node's real table (replica/session.c) through boot,
 * apply, snapshot and crash, its ticker, TOUCH, and the clients.
 *
 * Design
 *   A session txn is a tag byte (enum sim_sess_kind), then jute: long
 *   serial (so that its bytes are unique), long id, and for a create int
 *   timeout_ms and 16 bytes of password.  Any other txn is plain.  Client
 *   k's session id is (its first node's id << 56) | (k + 1), its password
 *   made from the id.
 *
 *   What the production driver does around the table is done here the
 *   same way: a leader adopts the session before proposing its
 *   createSession (forward_on_session); the ticker is server.c's on_tick
 *   (forward_touch, then expiry on the leader, closing the connection and
 *   marking the session closing before proposing); a ROLE is
 *   zab_driver.c's role() (pending closes cancelled, touch_all on
 *   leading, connections closed when serving stops); a ping is conn.c's:
 *   a touch on an attached connection, or an attach (committed, not
 *   closing) and a touch.
 *   Tickers run once there is a client: before, every table is empty and
 *   a tick would do nothing.
 *
 * Invariants
 *   1. A node's table exists iff the node is up.
 *   2. A session's conn is sim_conn only while its client, alive, is
 *      attached to that node and reached it since the node last began
 *      serving, and the node did not expire the session.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim_i.h"
#include "zabfs/err.h"

static max_align_t conn_token;
struct conn *const sim_conn = (struct conn *)(void *)&conn_token;

/* --- session txns --- */

static void passwd_of(int64_t id, uint8_t passwd[16])
{
	for (unsigned i = 0; i < 16; i++)
		passwd[i] = (uint8_t)((uint64_t)id >> (8 * (i % 8))) ^
			    (uint8_t)(0xA5 + i);
}

static int propose_op(struct sim *s, int node, const struct sim_sess_op *op)
{
	struct jute_writer w;
	jute_writer_init(&w, 48);
	jute_put_byte(&w, (uint8_t)op->kind);
	jute_put_long(&w, (int64_t)++s->next_txn);
	jute_put_long(&w, op->sess.id);
	if (op->kind == SIM_SESS_CREATE) {
		jute_put_int(&w, op->sess.timeout_ms);
		jute_put_raw(&w, op->sess.passwd, sizeof(op->sess.passwd));
	}
	int64_t zxid;
	int rc = sim_propose_txn(s, node, w.buf, w.len, &zxid);
	jute_writer_free(&w);
	return rc;
}

bool sim_sess_decode(const struct sim_txn *t, struct sim_sess_op *op)
{
	if (t->len == 0 ||
	    (t->data[0] != SIM_SESS_CREATE && t->data[0] != SIM_SESS_CLOSE))
		return false;
	struct jute_reader r;
	jute_reader_init(&r, t->data + 1, t->len - 1);
	memset(op, 0, sizeof(*op));
	op->kind = (enum sim_sess_kind)t->data[0];
	jute_get_long(&r); /* the serial */
	op->sess.id = jute_get_long(&r);
	if (op->kind == SIM_SESS_CREATE) {
		op->sess.timeout_ms = jute_get_int(&r);
		const uint8_t *pw = jute_get_raw(&r, sizeof(op->sess.passwd));
		if (pw)
			memcpy(op->sess.passwd, pw, sizeof(op->sess.passwd));
	}
	return jute_reader_done(&r);
}

int sim_client_of(const struct sim *s, int64_t id)
{
	int k = (int)(id & 0xffff) - 1;
	return k >= 0 && (size_t)k < s->n_clients && s->clients[k].id == id
		       ? k
		       : -1;
}

uint32_t sim_ticker_ms(const struct sim *s)
{
	return s->cfg.tick_ms / 2 > 0 ? s->cfg.tick_ms / 2 : 1;
}

/* --- the table of a node --- */

/* The node's table, to be used: invariant 5 is checked after the step. */
static struct sessions *table(struct sim *s, int node)
{
	s->nodes[node].table_used = true;
	return &s->nodes[node].sessions;
}

static void schedule_ticker(struct sim *s, int node)
{
	struct sim_event ev = {.time = s->now + sim_ticker_ms(s),
			       .kind = SIM_EV_TICKER, .node = node,
			       .inc = s->nodes[node].inc};
	sim_push(s, &ev);
}

static void table_op(struct sim *s, int node, const struct sim_sess_op *op)
{
	struct sessions *ss = table(s, node);
	if (op->kind == SIM_SESS_CLOSE) {
		sessions_apply_close(ss, op->sess.id);
		return;
	}
	int rc = sessions_apply_create(ss, op->sess.id, op->sess.timeout_ms,
				       op->sess.passwd, s->now);
	if (rc)
		sim_fail(s, "node %d: sessions_apply_create: %s", node,
			 zk_strerror(rc));
}

void sim_sessions_boot(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	if (sessions_init(table(s, node), (int32_t)nd->id, 0))
		abort();
	struct sim_sess_op op;
	for (size_t i = 0; i < nd->applied.n; i++)
		if (sim_sess_decode(&nd->applied.v[i], &op))
			table_op(s, node, &op);
	sim_implied_reset(s, node);
	nd->gen++;
	if (s->n_clients)
		schedule_ticker(s, node);
}

void sim_sessions_crash(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	sessions_destroy(&nd->sessions);
	nd->gen++;
}

void sim_sessions_apply(struct sim *s, int node, const struct sim_txn *t,
			bool first)
{
	struct sim_sess_op op;
	if (!sim_sess_decode(t, &op))
		return;
	table_op(s, node, &op);
	sim_implied_apply(&s->nodes[node].implied, &op);
	int k = sim_client_of(s, op.sess.id);
	if (first && k >= 0 && op.kind == SIM_SESS_CLOSE) {
		sim_trace(s, "client %d: session 0x%llx expired", k,
			  (unsigned long long)op.sess.id);
		s->clients[k].closed = true;
	}
}

void sim_sessions_install(struct sim *s, int node, struct zk_bytes blob)
{
	struct sim_node *nd = &s->nodes[node];
	struct sessions *ss = table(s, node);
	sessions_destroy(ss);
	if (sessions_init(ss, (int32_t)nd->id, 0))
		abort();
	size_t len = blob.len > 0 ? (size_t)blob.len : 0;
	int rc = sessions_decode(ss, blob.p, len, s->now);
	if (rc)
		sim_fail(s, "node %d: the snapshot's sessions: %s", node,
			 zk_strerror(rc));
	sim_implied_reset(s, node);
	nd->gen++;
}

static void detach_all(struct sessions *ss)
{
	size_t bucket = 0;
	for (struct hmap_node *n = hmap_next(&ss->map, &bucket, NULL); n;
	     n = hmap_next(&ss->map, &bucket, n))
		HMAP_CONTAINER(n, struct session, node)->conn = NULL;
}

void sim_sessions_role(struct sim *s, int node, int old_role)
{
	struct sim_node *nd = &s->nodes[node];
	struct sessions *ss = table(s, node);
	nd->gen++;
	sessions_cancel_closes(ss);
	if (nd->role == ZAB_LEADING) {
		sessions_touch_all(ss, s->now);
		nd->lead_since = s->now;
	}
	if (old_role != ZAB_LOOKING && nd->role == ZAB_LOOKING)
		detach_all(ss);
}

/* --- the ticker and TOUCH --- */

struct expiry {
	struct sim *s;
	int node;
	struct jute_writer ids;
};

static void expire_one(void *arg, struct session *ss)
{
	struct expiry *e = arg;
	sim_check_expiring(e->s, e->node, ss);
	sim_trace(e->s, "node %d: expire session 0x%llx", e->node,
		  (unsigned long long)ss->id);
	ss->conn = NULL;
	ss->closing = true;
	jute_put_long(&e->ids, ss->id);
}

/* Proposing may crash the node (sim_crash_on_send), so the closes are
 * proposed after the walk of its table. */
static void expire(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	struct expiry e = {s, node, {0}};
	jute_writer_init(&e.ids, 0);
	sessions_expired(table(s, node), s->now, expire_one, &e);
	struct jute_reader r;
	jute_reader_init(&r, e.ids.buf, e.ids.len);
	while (jute_reader_left(&r) >= 8 && nd->up &&
	       nd->role == ZAB_LEADING) {
		struct sim_sess_op op = {.kind = SIM_SESS_CLOSE};
		op.sess.id = jute_get_long(&r);
		propose_op(s, node, &op);
	}
	jute_writer_free(&e.ids);
}

static void touch_leader(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	struct jute_writer ids;
	jute_writer_init(&ids, 0);
	sessions_take_heard(table(s, node), &ids);
	if (ids.len) {
		struct peer_msg m = {.type = PEER_TOUCH};
		m.u.touch.ids = zk_bytes_of(ids.buf, ids.len);
		sim_net_send(s, node, zab_leader(nd->core), &m);
	}
	jute_writer_free(&ids);
}

void sim_sessions_tick(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	schedule_ticker(s, node);
	if (nd->role == ZAB_LEADING)
		expire(s, node);
	else if (nd->role != ZAB_LOOKING)
		touch_leader(s, node);
}

void sim_sessions_touch(struct sim *s, int node, const struct peer_touch *m)
{
	sim_trace(s, "node %d: TOUCH of %d sessions", node,
		  (int)(m->ids.len / 8));
	sessions_touch_ids(table(s, node), m->ids, s->now);
}

/* --- clients --- */

static void schedule_ping(struct sim *s, int client)
{
	const struct sim_client *c = &s->clients[client];
	struct sim_event ev = {.time = s->now + (uint64_t)c->timeout_ms / 3,
			       .kind = SIM_EV_PING, .client = client};
	sim_push(s, &ev);
}

/* A packet of the client on its node: conn.c's handshake or frame. */
static void reach_node(struct sim *s, int client)
{
	struct sim_client *c = &s->clients[client];
	struct sim_node *nd = &s->nodes[c->node];
	if (!nd->up || nd->role == ZAB_LOOKING)
		return;
	struct session *ss = sessions_find(table(s, c->node), c->id);
	if (!ss || (ss->conn != sim_conn && (!ss->committed || ss->closing)))
		return;
	ss->conn = sim_conn;
	session_touch(ss, s->now);
	sim_check_ping(s, client);
}

static void detach(struct sim *s, int client)
{
	struct sim_client *c = &s->clients[client];
	struct sim_node *nd = &s->nodes[c->node];
	struct session *ss = nd->up ? sessions_find(table(s, c->node), c->id)
				    : NULL;
	if (ss && ss->conn == sim_conn)
		ss->conn = NULL;
	c->ping_ok = false;
}

int sim_client_new(struct sim *s, int node, int32_t timeout_ms)
{
	int l = sim_leader(s);
	if (l < 0 || s->failed || s->n_clients == SIM_MAX_CLIENTS)
		return -1;
	int k = (int)s->n_clients;
	struct sim_sess_op op = {SIM_SESS_CREATE,
				 {(int64_t)(s->nodes[node].id << 56 |
					    (uint64_t)(k + 1)),
				  timeout_ms, {0}}};
	passwd_of(op.sess.id, op.sess.passwd);
	struct sessions *ls = table(s, l);
	sessions_adopt(ls, op.sess.id, timeout_ms, op.sess.passwd, s->now);
	if (propose_op(s, l, &op)) {
		if (s->nodes[l].up)
			sessions_apply_close(ls, op.sess.id);
		return -1;
	}
	s->clients[k] = (struct sim_client){.id = op.sess.id,
					    .timeout_ms = timeout_ms,
					    .node = node, .alive = true};
	if (s->n_clients++ == 0)
		for (size_t i = 0; i < s->n; i++)
			if (s->nodes[i].up)
				schedule_ticker(s, (int)i);
	sim_trace(s, "client %d: session 0x%llx on node %d, timeout %d", k,
		  (unsigned long long)op.sess.id, node, timeout_ms);
	schedule_ping(s, k);
	return k;
}

void sim_client_ping(struct sim *s, int client)
{
	const struct sim_client *c = &s->clients[client];
	if (!c->alive || c->closed)
		return;
	schedule_ping(s, client);
	reach_node(s, client);
}

void sim_client_crash(struct sim *s, int client)
{
	sim_trace(s, "client %d: crash", client);
	detach(s, client);
	s->clients[client].alive = false;
}

void sim_client_move(struct sim *s, int client, int node)
{
	sim_trace(s, "client %d: moves to node %d", client, node);
	detach(s, client);
	s->clients[client].node = node;
	if (s->clients[client].alive)
		reach_node(s, client);
}

size_t sim_clients(const struct sim *s)
{
	return s->n_clients;
}

bool sim_session_on(const struct sim *s, int node, int client)
{
	const struct sim_node *nd = &s->nodes[node];
	const struct session *ss =
		nd->up ? sessions_find(&nd->sessions, s->clients[client].id)
		       : NULL;
	return ss && ss->committed;
}

bool sim_session_closed(const struct sim *s, int client)
{
	return s->clients[client].closed;
}
