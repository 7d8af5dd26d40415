/*
 * sim_check.c - the simulator's oracle: the safety invariants of sim.h,
 * checked as the run goes, and the end-of-run liveness check (a fresh
 * txn applied everywhere and every node serving the leader).
 *
 * Design
 *   s->hist is the one history every applied sequence must be a prefix of:
 *   the first node to apply position k appends its txn.  Applying is the
 *   only way into hist, so checking each apply against hist (and, for a
 *   new position, against the durable disks of the voters) covers
 *   agreement and "only committed txns are applied".  Durability of the
 *   whole history is checked after every step through each voter's
 *   dur_match: how far its durable history (snapshot ++ log) agrees with
 *   hist, extended lazily and reset when a flush truncates or installs.
 *
 * Invariants: sim.h, 1 to 4 (5 and 6: sim_check_sessions.c).
 */
#include <stdlib.h>

#include "sim_i.h"

static size_t quorum(const struct sim *s)
{
	return s->cfg.n_voters / 2 + 1;
}

static size_t dur_match(struct sim *s, struct sim_node *nd)
{
	size_t len = sim_image_len(&nd->dur);
	while (nd->dur_match < s->hist.n && nd->dur_match < len &&
	       sim_txn_eq(sim_image_at(&nd->dur, nd->dur_match),
			  &s->hist.v[nd->dur_match]))
		nd->dur_match++;
	return nd->dur_match;
}

void sim_check_step(struct sim *s)
{
	if (!s->failed)
		sim_check_sessions(s);
	if (s->failed || s->hist.n == 0)
		return;
	size_t m[SIM_MAX_NODES], n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->nodes[i].voter)
			m[n++] = dur_match(s, &s->nodes[i]);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && m[j - 1] < m[j]; j--) {
			size_t t = m[j];
			m[j] = m[j - 1];
			m[j - 1] = t;
		}
	size_t held = m[quorum(s) - 1];
	if (held < s->hist.n)
		sim_fail(s, "committed txn 0x%llx (#%zu) is no longer durable "
			 "on a quorum of voters",
			 (unsigned long long)s->hist.v[held].zxid, held);
}

/* Voters whose durable history holds t at position k. */
static size_t holders(const struct sim *s, const struct sim_txn *t,
		      size_t k)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct sim_node *nd = &s->nodes[i];
		if (nd->voter && sim_image_len(&nd->dur) > k &&
		    sim_txn_eq(sim_image_at(&nd->dur, k), t))
			n++;
	}
	return n;
}

void sim_apply(struct sim *s, int node, int64_t zxid)
{
	struct sim_node *nd = &s->nodes[node];
	const struct sim_image *im = &nd->vol;
	size_t k = nd->applied.n, len = sim_image_len(im);
	while (!s->failed && k < len && sim_image_at(im, k)->zxid <= zxid) {
		const struct sim_txn *t = sim_image_at(im, k);
		if (k < s->hist.n && !sim_txn_eq(t, &s->hist.v[k])) {
			sim_fail(s, "node %d applies 0x%llx as #%zu, but the "
				 "history has 0x%llx there", node,
				 (unsigned long long)t->zxid, k,
				 (unsigned long long)s->hist.v[k].zxid);
			return;
		}
		bool first = k == s->hist.n;
		if (first) {
			size_t h = holders(s, t, k);
			if (h < quorum(s)) {
				sim_fail(s, "node %d applies 0x%llx, durable "
					 "on %zu voters only", node,
					 (unsigned long long)t->zxid, h);
				return;
			}
			sim_txns_push(&s->hist, t->zxid, t->data, t->len);
		}
		if (k && t->zxid <= nd->applied.v[k - 1].zxid) {
			sim_fail(s, "node %d applies 0x%llx after 0x%llx", node,
				 (unsigned long long)t->zxid,
				 (unsigned long long)nd->applied.v[k - 1].zxid);
			return;
		}
		sim_txns_push(&nd->applied, t->zxid, t->data, t->len);
		sim_sessions_apply(s, node, t, first);
		k++;
	}
	if (!s->failed && (k == 0 || nd->applied.v[k - 1].zxid != zxid))
		sim_fail(s, "node %d commits to 0x%llx, which its log lacks",
			 node, (unsigned long long)zxid);
}

void sim_check_applied(struct sim *s, int node)
{
	const struct sim_txns *a = &s->nodes[node].applied;
	for (size_t i = 0; i < a->n && !s->failed; i++)
		if (i >= s->hist.n || !sim_txn_eq(&a->v[i], &s->hist.v[i]))
			sim_fail(s, "node %d's state has 0x%llx as #%zu, "
				 "not the history's", node,
				 (unsigned long long)a->v[i].zxid, i);
}

void sim_check_leading(struct sim *s, int node)
{
	const struct sim_node *nd = &s->nodes[node];
	for (size_t i = 0; i < s->n_leaders; i++)
		if (s->leaders[i].epoch == nd->epoch &&
		    s->leaders[i].id != nd->id) {
			sim_fail(s, "epoch %u has two leaders: %llu and %llu",
				 nd->epoch,
				 (unsigned long long)s->leaders[i].id,
				 (unsigned long long)nd->id);
			return;
		}
	struct sim_epoch_leader *l =
		realloc(s->leaders, (s->n_leaders + 1) * sizeof(*l));
	if (!l)
		abort();
	s->leaders = l;
	s->leaders[s->n_leaders++] = (struct sim_epoch_leader){nd->epoch,
							       nd->id};
	size_t len = sim_image_len(&nd->vol);
	for (size_t k = 0; k < s->hist.n; k++)
		if (k >= len || !sim_txn_eq(sim_image_at(&nd->vol, k),
					    &s->hist.v[k])) {
			sim_fail(s, "leader %d of epoch %u lacks committed "
				 "0x%llx", node, nd->epoch,
				 (unsigned long long)s->hist.v[k].zxid);
			return;
		}
}

static bool everywhere(const struct sim *s, int64_t zxid)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->nodes[i].up || !sim_has_applied(s, (int)i, zxid))
			return false;
	return true;
}

/* Node i serves the established leader l: it is l, or it got UPTODATE
 * from l in l's epoch (FOLLOWING, OBSERVING for an observer), which
 * acking and applying l's stream alone does not show. */
static bool serves(const struct sim *s, size_t i, int l)
{
	const struct sim_node *nd = &s->nodes[i], *ld = &s->nodes[l];
	if ((int)i == l)
		return true;
	int role = nd->voter ? ZAB_FOLLOWING : ZAB_OBSERVING;
	return nd->up && nd->role == role && nd->leader == ld->id &&
	       nd->epoch == ld->epoch;
}

/* A node that does not serve l, or -1. */
static int not_serving(const struct sim *s, int l)
{
	for (size_t i = 0; i < s->n; i++)
		if (!serves(s, i, l))
			return (int)i;
	return -1;
}

void sim_calm(struct sim *s)
{
	struct sim_net_faults calm = {.delay_min_ms = s->cfg.net.delay_min_ms,
				      .delay_max_ms = s->cfg.net.delay_max_ms};
	sim_heal(s);
	sim_set_faults(s, &calm);
	for (size_t i = 0; i < s->n; i++)
		s->nodes[i].drop_type = s->nodes[i].crash_on_send = -1;
	sim_start_all(s);
}

bool sim_check_liveness(struct sim *s, uint64_t ms)
{
	sim_calm(s);
	uint64_t end = s->now + ms, asked_at = 0;
	int64_t want = 0;
	int asked = -1;
	int lagging = -1; /* the last node seen applying want, not serving */
	while (!s->failed && s->now < end) {
		int l = sim_leader(s);
		if (l >= 0 && want && everywhere(s, want)) {
			lagging = not_serving(s, l);
			if (lagging < 0)
				return true;
		}
		bool stale = l != asked || s->now - asked_at > 3000;
		int64_t zxid;
		if (l >= 0 && (!want || stale) && !sim_propose(s, l, &zxid)) {
			want = zxid;
			asked = l;
			asked_at = s->now;
		}
		sim_run_for(s, 20);
	}
	if (lagging >= 0)
		sim_fail(s, "liveness: node %d applies the leader's txns but "
			 "does not serve it (role %d) %llu ms after healing",
			 lagging, s->nodes[lagging].role,
			 (unsigned long long)ms);
	else
		sim_fail(s, "liveness: no fresh txn committed on every node "
			 "within %llu ms after healing",
			 (unsigned long long)ms);
	return false;
}
