/*
 * sim_check_sessions.c - the oracle of sessions: invariants 5 and 6 of
 * sim.h, checked as the run goes, and the liveness of expiry.
 *
 * Design
 *   5.  Each node keeps, beside its real table, the list of sessions its
 *   applied txns imply (`implied`): made from the txns alone (a create
 *   adds, a close removes), rebuilt from the applied list when that is
 *   replaced (boot, snapshot).  After every step that used a node's table
 *   (sim_sessions.c marks each call into session.c; no other code changes
 *   a table), it must hold exactly those, committed, with the same
 *   timeouts and passwords, and count them (n_committed).
 *
 *   6.  A ping that reaches the established leader L is one made while
 *   the client's node is up and serving L (or is L), on L's side of any
 *   partition, with no loss on the network and no dropping of its
 *   TOUCHes.  The client remembers its last two such pings (the latest
 *   one's report may still be on its way); after every step they are
 *   forgotten if any of that stopped holding, or if L, the node or the
 *   network changed in between (their generations).  While it holds,
 *   for a ping at p, the node's ticker reports the session by p +
 *   tick / 2, the report arrives by then + the longest delay (links are
 *   FIFO, never slower), and from then on L's deadline for the session
 *   is at least p + timeout: expiring it before is a bug.  And a new
 *   leader touches every session, so expiring one within a full timeout
 *   of becoming leader is a bug, whatever its client does.
 *
 *   Liveness.  A crashed client no longer pings and its connection is
 *   gone, so nothing reports its session: once a leader L is established
 *   after healing, L's deadline for it is at most then (or a TOUCH still
 *   in flight) + the timeout; its ticker proposes the close by a tick
 *   later, and L and every node serving it apply it a few delays and
 *   disk writes after that.  (A node not serving gets it when it syncs,
 *   and invariant 5 checks its table then.)
 */
#include <stdlib.h>
#include <string.h>

#include "sim_i.h"

/* --- 5: tables equal what the applied txns imply --- */

static struct sim_sess *implied_find(struct sim_sess_list *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

void sim_implied_apply(struct sim_sess_list *l, const struct sim_sess_op *op)
{
	struct sim_sess *e = implied_find(l, op->sess.id);
	if (op->kind == SIM_SESS_CLOSE) {
		if (e)
			*e = l->v[--l->n];
		return;
	}
	if (!e) {
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 8;
			l->v = realloc(l->v, l->cap * sizeof(*l->v));
			if (!l->v)
				abort();
		}
		e = &l->v[l->n++];
	}
	*e = op->sess;
}

void sim_implied_reset(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	struct sim_sess_op op;
	nd->implied.n = 0;
	for (size_t i = 0; i < nd->applied.n; i++)
		if (sim_sess_decode(&nd->applied.v[i], &op))
			sim_implied_apply(&nd->implied, &op);
}

void sim_implied_free(struct sim_sess_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static size_t count_committed(const struct sessions *ss)
{
	size_t n = 0, bucket = 0;
	for (struct hmap_node *h = hmap_next(&ss->map, &bucket, NULL); h;
	     h = hmap_next(&ss->map, &bucket, h))
		n += HMAP_CONTAINER(h, struct session, node)->committed;
	return n;
}

static void check_table(struct sim *s, int node)
{
	const struct sim_node *nd = &s->nodes[node];
	const struct sim_sess_list *l = &nd->implied;
	size_t n = count_committed(&nd->sessions);
	if (n != l->n || nd->sessions.n_committed != l->n) {
		sim_fail(s, "node %d's session table has %zu committed "
			 "sessions (counted %llu), its applied txns leave %zu",
			 node, n, (unsigned long long)nd->sessions.n_committed,
			 l->n);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct sim_sess *e = &l->v[i];
		const struct session *ss = sessions_find(&nd->sessions, e->id);
		if (!ss || !ss->committed) {
			sim_fail(s, "node %d's session table lacks session "
				 "0x%llx, which its applied txns create", node,
				 (unsigned long long)e->id);
			return;
		}
		if (ss->timeout_ms != e->timeout_ms ||
		    memcmp(ss->passwd, e->passwd, sizeof(e->passwd)) != 0) {
			sim_fail(s, "node %d's session 0x%llx has timeout %d "
				 "ms (or a password) its createSession does "
				 "not give (%d ms)", node,
				 (unsigned long long)e->id, ss->timeout_ms,
				 e->timeout_ms);
			return;
		}
	}
}

/* --- 6: no expiry of a session whose pings reach the leader --- */

/* The established leader l (or -1) if a ping of the client on its node
 * reaches it now, else -1. */
static int reached_leader(const struct sim *s, const struct sim_client *c,
			  int l)
{
	if (l < 0 || !c->alive || c->closed)
		return -1;
	const struct sim_node *nd = &s->nodes[c->node], *ld = &s->nodes[l];
	bool learner = nd->role == ZAB_FOLLOWING ||
		       nd->role == ZAB_OBSERVING;
	bool serving = c->node == l || (learner && nd->leader == ld->id &&
					nd->epoch == ld->epoch);
	if (!nd->up || !serving || s->group[c->node] != s->group[l] ||
	    s->cfg.net.loss || nd->drop_type == SIM_DROP_ALL ||
	    nd->drop_type == PEER_TOUCH)
		return -1;
	const struct session *ss = sessions_find(&nd->sessions, c->id);
	return ss && ss->committed && ss->conn == sim_conn ? l : -1;
}

static bool still_reaching(const struct sim *s, const struct sim_client *c,
			   int leader)
{
	int l = reached_leader(s, c, leader);
	return c->ping_ok && l == c->ping_leader &&
	       s->nodes[l].gen == c->ping_gen[0] &&
	       s->nodes[c->node].gen == c->ping_gen[1] &&
	       s->net_gen == c->ping_net_gen;
}

void sim_check_ping(struct sim *s, int client)
{
	struct sim_client *c = &s->clients[client];
	int l = reached_leader(s, c, sim_leader(s));
	bool chain = still_reaching(s, c, l);
	c->ping_ok = l >= 0;
	if (l < 0)
		return;
	c->ping_at[1] = chain ? c->ping_at[0] : 0;
	c->ping_at[0] = s->now;
	c->ping_leader = l;
	c->ping_gen[0] = s->nodes[l].gen;
	c->ping_gen[1] = s->nodes[c->node].gen;
	c->ping_net_gen = s->net_gen;
}

void sim_check_expiring(struct sim *s, int node, const struct session *ss)
{
	const struct sim_node *nd = &s->nodes[node];
	uint64_t timeout = (uint64_t)ss->timeout_ms;
	if (s->now <= nd->lead_since + timeout) {
		sim_fail(s, "leader %d expires session 0x%llx %llu ms after "
			 "it began to lead, within a full timeout (%llu ms)",
			 node, (unsigned long long)ss->id,
			 (unsigned long long)(s->now - nd->lead_since),
			 (unsigned long long)timeout);
		return;
	}
	int k = sim_client_of(s, ss->id);
	if (k < 0)
		return;
	const struct sim_client *c = &s->clients[k];
	if (!still_reaching(s, c, sim_leader(s)) || c->ping_leader != node)
		return;
	uint64_t report = sim_ticker_ms(s) + s->cfg.net.delay_max_ms;
	for (int i = 0; i < 2; i++) {
		uint64_t p = c->ping_at[i];
		if (!p || p + report >= s->now || s->now > p + timeout)
			continue;
		sim_fail(s, "leader %d expires session 0x%llx of client %d, "
			 "alive, which pinged node %d %llu ms ago (timeout "
			 "%llu ms), serving this leader since", node,
			 (unsigned long long)ss->id, k, c->node,
			 (unsigned long long)(s->now - p),
			 (unsigned long long)timeout);
		return;
	}
}

void sim_check_sessions(struct sim *s)
{
	if (s->n_clients == 0) /* every table is empty */
		return;
	for (size_t i = 0; i < s->n && !s->failed; i++) {
		struct sim_node *nd = &s->nodes[i];
		if (nd->up && nd->table_used)
			check_table(s, (int)i);
		nd->table_used = false;
	}
	int l = sim_leader(s);
	for (size_t k = 0; k < s->n_clients; k++) {
		struct sim_client *c = &s->clients[k];
		if (c->ping_ok && !still_reaching(s, c, l))
			c->ping_ok = false;
	}
}

/* --- liveness: crashed clients' sessions expire everywhere --- */

/* A crashed client whose session leader l or a node serving it still
 * holds, or -1. */
static int lingering(const struct sim *s, int l, int *node)
{
	for (size_t k = 0; k < s->n_clients; k++) {
		if (s->clients[k].alive)
			continue;
		for (size_t i = 0; i < s->n; i++) {
			const struct sim_node *nd = &s->nodes[i];
			bool serving = (int)i == l ||
				       (nd->role != ZAB_LOOKING &&
					nd->epoch == s->nodes[l].epoch);
			if (serving && sim_session_on(s, (int)i, (int)k)) {
				*node = (int)i;
				return (int)k;
			}
		}
	}
	return -1;
}

bool sim_check_expiry(struct sim *s, uint64_t ms)
{
	sim_calm(s);
	const struct sim_config *cfg = &s->cfg;
	uint64_t slack = 2 * (uint64_t)cfg->tick_ms +
			 4 * (uint64_t)cfg->net.delay_max_ms +
			 2 * (uint64_t)cfg->disk_max_ms;
	uint64_t end = s->now + ms, since = 0;
	int leader = -1;
	uint32_t epoch = 0;
	while (!s->failed && s->now < end) {
		int l = sim_leader(s), node = -1;
		if (l < 0 || l != leader || s->nodes[l].epoch != epoch)
			since = s->now;
		leader = l;
		epoch = l >= 0 ? s->nodes[l].epoch : 0;
		int k = l >= 0 ? lingering(s, l, &node) : -1;
		if (l >= 0 && k < 0)
			return true;
		uint64_t timeout =
			k >= 0 ? (uint64_t)s->clients[k].timeout_ms : 0;
		if (k >= 0 && s->now > since + timeout + slack) {
			sim_fail(s, "liveness: session 0x%llx of crashed "
				 "client %d is still on node %d %llu ms after "
				 "leader %d was established (timeout %d ms)",
				 (unsigned long long)s->clients[k].id, k, node,
				 (unsigned long long)(s->now - since), l,
				 s->clients[k].timeout_ms);
			return false;
		}
		sim_run_for(s, 10);
	}
	sim_fail(s, "liveness: no leader was established for a session "
		 "timeout within %llu ms after healing",
		 (unsigned long long)ms);
	return false;
}
