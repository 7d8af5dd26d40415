/*
 * zab_elect.c - Fast Leader Election (ZooKeeper's FastLeaderElection,
 * zookeeper.md §3.3) inside the Zab core.
 *
 * Design
 *   A voter starts a round (logical clock + 1) voting for itself with
 *   (currentEpoch, last logged zxid, id) and sends the vote to every voter.
 *   Votes are totally ordered by that triple.  On a vote of its round it
 *   adopts the better one and resends; on a vote of a later round it jumps
 *   to that round, votes for the better of that vote and its own, and
 *   resends; a vote of an earlier round is answered with ours.  Once a
 *   quorum of voters (itself included) shares its vote it waits
 *   finalize_ms for a better vote, then decides: lead if the vote is for
 *   itself, else follow.  It decides at once when every voter agrees, or
 *   when every voter whose stream is not down agrees and they are a
 *   quorum: no better vote can come from a peer that cannot send one, so
 *   after a leader's crash the survivors need not wait finalize_ms.  (Any
 *   quorum's agreement is safe: Zab's discovery, not the election, keeps
 *   committed txns.)  A
 *   voter that already decided for the same vote in the same round still
 *   counts (its notification says following or leading).
 *
 *   A node that is following or leading answers each LOOKING vote with its
 *   own, so a node that joins late (or an observer, which never votes)
 *   follows L as soon as a quorum of voters says it follows or leads L and
 *   L itself says it leads ("out of election").
 *
 *   Unanswered votes are resent with a backoff from finalize_ms doubling
 *   to notify_max_ms.
 *
 * Invariants
 *   1. Only voters are voted for; an observer's vote is never counted.
 *   2. `vote` is never worse than this node's own vote of the round.
 *   3. A decision needs a quorum of voters holding the same vote in this
 *      round (or, out of election, a quorum following one leader).
 */
#include "zab_state_i.h"

static struct peer_vote own_vote(const struct zab *z)
{
	struct peer_vote v = {0};
	if (!z->observer) {
		v.leader = (int64_t)z->id;
		v.zxid = zab_log_last(&z->log);
		v.peer_epoch = z->current;
	}
	return v;
}

/* a is better than b (FLE's totalOrderPredicate). */
static bool better(const struct peer_vote *a, const struct peer_vote *b)
{
	if (a->peer_epoch != b->peer_epoch)
		return a->peer_epoch > b->peer_epoch;
	if (a->zxid != b->zxid)
		return a->zxid > b->zxid;
	return a->leader > b->leader;
}

static bool same_vote(const struct peer_vote *a, const struct peer_vote *b)
{
	return a->leader == b->leader && a->zxid == b->zxid &&
	       a->peer_epoch == b->peer_epoch;
}

static bool is_voter(struct zab *z, int64_t id)
{
	if (id <= 0)
		return false;
	if ((uint64_t)id == z->id)
		return !z->observer;
	struct zab_peer *p = zab_peer(z, (uint64_t)id);
	return p && p->voter;
}

/* Our notification: the vote, the round, and what we are doing. */
static struct peer_vote note(const struct zab *z)
{
	struct peer_vote n = z->vote;
	n.round = (int64_t)z->round;
	if (z->phase == ZAB_P_LOOKING)
		n.state = PEER_LOOKING;
	else if (z->phase <= ZAB_P_LEAD_BCAST)
		n.state = PEER_LEADING;
	else
		n.state = z->observer ? PEER_OBSERVING : PEER_FOLLOWING;
	return n;
}

static void send_note(struct zab *z, uint64_t to)
{
	struct peer_msg m = {.type = PEER_VOTE};
	m.u.vote = note(z);
	zab_send(z, to, &m);
}

static void broadcast(struct zab *z)
{
	for (size_t i = 0; i < z->n_peers; i++)
		if (z->peers[i].voter)
			send_note(z, z->peers[i].id);
}

static void decide(struct zab *z)
{
	z->decide_ms = 0;
	if (z->vote.leader == (int64_t)z->id)
		zab_lead_begin(z);
	else
		zab_follow_begin(z, (uint64_t)z->vote.leader);
}

/* Voters of this round that share our vote, ourselves included; one
 * that already decided for it (following or leading) still counts, or
 * the last of a quorum to decide would wait for it forever. */
static size_t agreeing(const struct zab *z)
{
	size_t n = 1;
	for (size_t i = 0; i < z->n_peers; i++) {
		const struct zab_peer *p = &z->peers[i];
		if (p->voter && p->has_note &&
		    p->note.round == (int64_t)z->round &&
		    same_vote(&p->note, &z->vote))
			n++;
	}
	return n;
}

/* Voters that may still send a vote: those not down, and ourselves. */
static size_t reachable(const struct zab *z)
{
	size_t n = 1;
	for (size_t i = 0; i < z->n_peers; i++)
		if (z->peers[i].voter && !z->peers[i].down)
			n++;
	return n;
}

static void check_round(struct zab *z)
{
	if (z->observer)
		return;
	size_t n = agreeing(z);
	bool all = n == z->n_voters || n >= reachable(z);
	if (zab_quorum(z, n) && (all || z->finalize_ms == 0)) {
		decide(z);
	} else if (zab_quorum(z, n)) {
		if (!z->decide_ms)
			z->decide_ms = z->now + z->finalize_ms;
	} else {
		z->decide_ms = 0;
	}
}

/* Out of election: a quorum of voters follows (or is) leader L, and L
 * says it leads. */
static void check_established(struct zab *z, int64_t leader)
{
	if (!is_voter(z, leader) || (uint64_t)leader == z->id)
		return;
	struct zab_peer *l = zab_peer(z, (uint64_t)leader);
	if (!l->has_note || l->note.state != PEER_LEADING ||
	    l->note.leader != leader)
		return;
	size_t n = 0;
	for (size_t i = 0; i < z->n_peers; i++) {
		const struct zab_peer *p = &z->peers[i];
		if (p->voter && p->has_note && p->note.leader == leader &&
		    (p->note.state == PEER_FOLLOWING || p == l))
			n++;
	}
	if (!zab_quorum(z, n))
		return;
	if (l->note.round > (int64_t)z->round)
		z->round = (uint64_t)l->note.round;
	z->vote = l->note;
	decide(z);
}

void zab_elect_begin(struct zab *z)
{
	z->round++;
	z->vote = own_vote(z);
	z->decide_ms = 0;
	for (size_t i = 0; i < z->n_peers; i++)
		z->peers[i].has_note = false;
	z->notify_ms = z->finalize_ms ? z->finalize_ms : z->tick_ms;
	z->periodic_ms = z->now + z->notify_ms;
	broadcast(z);
	check_round(z);
}

static void adopt(struct zab *z, const struct peer_vote *n)
{
	z->vote.leader = n->leader;
	z->vote.zxid = n->zxid;
	z->vote.peer_epoch = n->peer_epoch;
	z->decide_ms = 0;
	broadcast(z);
}

void zab_elect_vote(struct zab *z, struct zab_peer *p,
		    const struct peer_vote *n)
{
	if (!p->voter) {
		/* An observer looking for the leader. */
		if (z->phase != ZAB_P_LOOKING && !z->observer)
			send_note(z, p->id);
		return;
	}
	if (!is_voter(z, n->leader) || n->state == PEER_OBSERVING)
		return;
	p->has_note = true;
	p->note = *n;
	if (z->phase != ZAB_P_LOOKING) {
		if (n->state == PEER_LOOKING)
			send_note(z, p->id);
		return;
	}
	if (n->state != PEER_LOOKING) {
		check_established(z, n->leader);
		if (z->phase == ZAB_P_LOOKING)
			check_round(z);
		return;
	}
	if (z->observer)
		return;
	if (n->round > (int64_t)z->round) {
		struct peer_vote own = own_vote(z);
		z->round = (uint64_t)n->round;
		adopt(z, better(n, &own) ? n : &own);
	} else if (n->round < (int64_t)z->round) {
		send_note(z, p->id);
		return;
	} else if (better(n, &z->vote)) {
		adopt(z, n);
	}
	check_round(z);
}

void zab_elect_peer_down(struct zab *z)
{
	check_round(z);
}

void zab_elect_tick(struct zab *z)
{
	if (z->decide_ms && z->now >= z->decide_ms) {
		z->decide_ms = 0;
		if (zab_quorum(z, agreeing(z))) {
			decide(z);
			return;
		}
	}
	if (z->now >= z->periodic_ms) {
		broadcast(z);
		z->notify_ms = z->notify_ms * 2 < z->notify_max_ms
				       ? z->notify_ms * 2
				       : z->notify_max_ms;
		z->periodic_ms = z->now + z->notify_ms;
	}
}
