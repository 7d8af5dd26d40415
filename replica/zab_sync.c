/*
 * zab_sync.c - the leader's sync stream for one learner whose ACKEPOCH
 * (its last logged zxid f) is in: DIFF, TRUNC or SNAP, the missing txns,
 * the commit point, NEWLEADER.
 *
 * Design
 *   Zab's logs are prefix-consistent: two logs holding the same zxid agree
 *   on everything up to it.  So with our log L (its tail in memory above
 *   `base`, everything at or below base committed):
 *
 *     f is base or an entry of L   DIFF(f): f is where the learner stands
 *     f > last(L)                  TRUNC(last): it holds extra, uncommitted
 *                                  txns above our history
 *     base < f, f not in L         TRUNC(t), t the entry of L below f: it
 *                                  holds txns of a history we do not have
 *     f < base                     SNAP at our commit point
 *
 *   then PROPOSAL for every entry after that point (a follower gets our
 *   whole history; an observer only what is committed, or what it already
 *   had), COMMIT(commit point), NEWLEADER(last zxid of the stream).  The
 *   learner checks each step against its own log (zab_follow.c) and
 *   abandons us rather than truncate committed txns or accept a gap.
 *
 * Invariants
 *   1. After the stream the learner's log is a prefix of ours ending at
 *      p->sent (the NEWLEADER zxid).
 *   2. A SNAP is always at our commit point, which is >= base, so every
 *      entry after it is still in memory.
 */
#include "zab_state_i.h"

void zab_sync_learner(struct zab *z, struct zab_peer *p)
{
	const struct zab_log *l = &z->log;
	int64_t f = p->last_zxid, last = zab_log_last(l), point;
	if (zab_log_has(l, f)) {
		point = f;
		zab_send_zxid(z, p->id, PEER_DIFF, point);
	} else if (f > last) {
		point = last;
		zab_send_zxid(z, p->id, PEER_TRUNC, point);
	} else if (f > l->base) {
		point = zab_log_prev(l, zab_log_after(l, f));
		zab_send_zxid(z, p->id, PEER_TRUNC, point);
	} else {
		point = z->committed;
		struct zab_action a = {.type = ZAB_SEND_SNAP, .peer = p->id,
				       .epoch = z->epoch, .zxid = point};
		zab_emit(z, &a);
	}
	int64_t limit = last;
	if (!p->voter)
		limit = point > z->committed ? point : z->committed;
	for (size_t i = zab_log_after(l, point); i < zab_log_count(l); i++) {
		const struct zab_entry *e = zab_log_at(l, i);
		if (e->zxid > limit)
			break;
		struct peer_msg m = {.type = PEER_PROPOSAL};
		m.u.txn = (struct peer_txn){z->epoch, e->zxid,
					    zab_log_prev(l, i),
					    zk_bytes_of(e->data, e->len)};
		zab_send(z, p->id, &m);
	}
	zab_send_zxid(z, p->id, PEER_COMMIT,
		      z->committed < limit ? z->committed : limit);
	zab_send_zxid(z, p->id, PEER_NEWLEADER, limit);
	p->sent = p->nl_zxid = limit;
	p->acked = 0;
	p->ls = ZAB_L_SYNCING;
}
