/*
 * zab_lead.c - the leader side of Zab: discovery, establishment and
 * broadcast (the sync stream itself is zab_sync.c).
 *
 * Design
 *   Discovery (LEAD_DISCOVER): FOLLOWERINFO/OBSERVERINFO make a learner
 *   ZAB_L_INFO (at any phase: a learner may join late).  An established
 *   leader steps down when a learner holds our epoch from another leader,
 *   or a later one: it could never join, and a new epoch lets it in.  Once a quorum of voters (the leader included) has sent
 *   its acceptedEpoch, the epoch is fixed at max + 1 and written as our
 *   acceptedEpoch; once written, each learner whose acceptedEpoch is
 *   below it gets LEADERINFO.  ACKEPOCH from a quorum of voters ends
 *   discovery, unless a voter is ahead of us by (currentEpoch, last zxid):
 *   then we step down, since we may lack what it has.
 *
 *   Sync (LEAD_SYNC): we stream each acked learner (zab_sync_learner) and,
 *   once our history is durable, write currentEpoch.  We count for
 *   NEWLEADER ourselves once that is written; a quorum of voters
 *   makes us established (LEAD_BCAST): our whole history is committed,
 *   and learners get UPTODATE.
 *
 *   Broadcast: a proposal is appended, sent to every streamed follower,
 *   and committed once the quorum-th highest of (our durable zxid, each
 *   active voter's cumulative ack) reaches it.  Commits go to followers as
 *   COMMIT and to observers as INFORM of each txn.  Every tick_ms/2 each
 *   learner gets a heartbeat (UPTODATE once it is active and we are
 *   established, PING before), its answers refresh it; without a quorum
 *   heard from within syncLimit we step down.
 *
 *   Time: discovery and sync must establish us within initLimit ticks of
 *   zab_lead_begin, or we look again.  Once established, a learner is
 *   dropped (ZAB_L_NONE: it gets nothing, its messages but a new
 *   FOLLOWERINFO are ignored) when silent for syncLimit ticks, or when
 *   not ACTIVE initLimit ticks after its latest FOLLOWERINFO (info_ms),
 *   as ZooKeeper's LearnerHandler gives up on a NEWLEADER ack it has not
 *   read within initLimit.  The learner's own clock (zab_follow.c) runs
 *   from before it sent that FOLLOWERINFO, so it gives up on us about
 *   then too, looks again and rejoins with a fresh one.  We never resend
 *   what a learner may have missed: its stream is sent once, as on TCP.
 *
 * Invariants
 *   1. Only voters in ZAB_L_ACTIVE (and the leader itself) count toward a
 *      commit, and only up to what they acked (cumulative, <= sent).
 *   2. A learner's stream is: sync, then in zxid order every proposal
 *      (followers) or committed txn (observers) after it; nothing is sent
 *      to a learner that is not SYNCING or ACTIVE but heartbeats.
 *   3. No proposal before establishment; the zxid counter never goes past
 *      max_counter (never reaches 0xffffffff).
 *   4. Once established, a learner not ACTIVE initLimit ticks after its
 *      latest FOLLOWERINFO or OBSERVERINFO is dropped at the next
 *      heartbeat; one that is not ACTIVE never counted toward a commit
 *      (1), so dropping it changes no commit and no quorum.
 */
#include "zab_state_i.h"
#include "zabfs/deliberate_bug.h"
#include "zabfs/err.h"

static uint64_t tick_half(const struct zab *z)
{
	return z->tick_ms / 2 ? z->tick_ms / 2 : 1;
}

static bool streamed(const struct zab_peer *p)
{
	return p->ls == ZAB_L_SYNCING || p->ls == ZAB_L_ACTIVE;
}

void zab_lead_begin(struct zab *z)
{
	z->phase = ZAB_P_LEAD_DISCOVER;
	z->leader = z->id;
	z->epoch = 0;
	z->deadline_ms = z->now + (uint64_t)z->init_limit * z->tick_ms;
	z->periodic_ms = z->now + tick_half(z);
	for (size_t i = 0; i < z->n_peers; i++)
		z->peers[i].ls = ZAB_L_NONE;
	if (ZABFS_BUG(SERVE_BEFORE_SYNC))
		zab_show_role(z, ZAB_LEADING);
	zab_lead_progress(z);
}

/* The committed txns after p->sent up to zxid, as INFORMs. */
static void inform(struct zab *z, struct zab_peer *p, int64_t zxid)
{
	const struct zab_log *l = &z->log;
	for (size_t i = zab_log_after(l, p->sent); i < zab_log_count(l); i++) {
		const struct zab_entry *e = zab_log_at(l, i);
		if (e->zxid > zxid)
			break;
		struct peer_msg m = {.type = PEER_INFORM};
		m.u.txn = (struct peer_txn){z->epoch, e->zxid,
					    zab_log_prev(l, i),
					    zk_bytes_of(e->data, e->len)};
		zab_send(z, p->id, &m);
		p->sent = e->zxid;
	}
}

static void commit(struct zab *z, int64_t zxid)
{
	if (zxid <= z->committed)
		return;
	zab_commit_to(z, zxid);
	for (size_t i = 0; i < z->n_peers; i++) {
		struct zab_peer *p = &z->peers[i];
		if (!streamed(p))
			continue;
		if (p->voter)
			zab_send_zxid(z, p->id, PEER_COMMIT, zxid);
		else
			inform(z, p, zxid);
	}
}

static size_t count_voters(const struct zab *z, enum zab_learner_state min)
{
	size_t n = 0;
	for (size_t i = 0; i < z->n_peers; i++)
		if (z->peers[i].voter && z->peers[i].ls >= min)
			n++;
	return n;
}

static void offer_epoch(struct zab *z, struct zab_peer *p)
{
	/* One that accepted this epoch may have it from us (it restarted);
	 * it knows, and declines if not. */
	if (p->ls != ZAB_L_INFO || p->accepted_epoch > z->epoch)
		return;
	struct peer_msg m = {.type = PEER_LEADERINFO};
	m.u.leaderinfo.epoch = z->epoch;
	m.u.leaderinfo.protocol = PEER_PROTOCOL_VERSION;
	zab_send(z, p->id, &m);
	p->ls = ZAB_L_WAIT_ACKEPOCH;
}

static void fix_epoch(struct zab *z)
{
	uint32_t max = z->accepted;
	if (ZXID_EPOCH(zab_log_last(&z->log)) > max)
		max = ZXID_EPOCH(zab_log_last(&z->log));
	for (size_t i = 0; i < z->n_peers; i++) {
		const struct zab_peer *p = &z->peers[i];
		if (p->voter && p->ls >= ZAB_L_INFO && p->accepted_epoch > max)
			max = p->accepted_epoch;
	}
	if (max == UINT32_MAX) {
		zab_look(z, "epochs exhausted");
		return;
	}
	z->epoch = max + 1;
	z->accepted_from = z->id;
	zab_write_epoch(z, ZAB_ACCEPTED_EPOCH, z->epoch);
}

static void enter_sync(struct zab *z)
{
	z->phase = ZAB_P_LEAD_SYNC;
	z->history_last = zab_log_last(&z->log);
	for (size_t i = 0; i < z->n_peers; i++)
		if (z->peers[i].ls == ZAB_L_ACKED)
			zab_sync_learner(z, &z->peers[i]);
}

static void establish(struct zab *z)
{
	z->phase = ZAB_P_LEAD_BCAST;
	if (ZABFS_BUG(SERVE_BEFORE_SYNC))
		z->role_shown = ZAB_LOOKING; /* shown early: again, with the epoch */
	zab_show_role(z, ZAB_LEADING);
	commit(z, z->history_last);
	for (size_t i = 0; i < z->n_peers; i++)
		if (z->peers[i].ls == ZAB_L_ACTIVE)
			zab_send_zxid(z, z->peers[i].id, PEER_UPTODATE,
				      z->committed);
}

/* The highest zxid a quorum of voters holds durably (invariant 1). */
static int64_t quorum_durable(const struct zab *z)
{
	int64_t v[ZAB_MAX_SERVERS];
	size_t n = 0;
	v[n++] = z->durable;
	for (size_t i = 0; i < z->n_peers; i++)
		if (z->peers[i].voter && z->peers[i].ls == ZAB_L_ACTIVE)
			v[n++] = z->peers[i].acked;
	if (n < z->quorum)
		return 0;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] < v[j]; j--) {
			int64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[z->quorum - (ZABFS_BUG(SHORT_QUORUM) && z->quorum > 1 ? 2 : 1)];
}

static void discover_progress(struct zab *z)
{
	if (!z->epoch && zab_quorum(z, 1 + count_voters(z, ZAB_L_INFO)))
		fix_epoch(z);
	if (z->phase != ZAB_P_LEAD_DISCOVER || !z->epoch ||
	    z->accepted < z->epoch)
		return;
	for (size_t i = 0; i < z->n_peers; i++)
		offer_epoch(z, &z->peers[i]);
	if (zab_quorum(z, 1 + count_voters(z, ZAB_L_ACKED)))
		enter_sync(z);
}

/* Each phase may end at once, so the next one gets its turn too. */
void zab_lead_progress(struct zab *z)
{
	if (z->phase == ZAB_P_LEAD_DISCOVER)
		discover_progress(z);
	if (z->phase == ZAB_P_LEAD_SYNC) {
		/* As a learner does: the history durable, then the epoch. */
		bool durable = !z->snap_pending && z->durable >= z->history_last;
		if (durable)
			zab_write_epoch(z, ZAB_CURRENT_EPOCH, z->epoch);
		bool self = durable && z->current == z->epoch;
		if (zab_quorum(z, self + count_voters(z, ZAB_L_ACTIVE)))
			establish(z);
	}
	if (z->phase == ZAB_P_LEAD_BCAST) {
		int64_t c = quorum_durable(z);
		if (c > z->committed)
			commit(z, c);
	}
}

/* A voter whose (currentEpoch, last zxid) beats ours. */
static bool ahead(const struct zab *z, const struct zab_peer *p)
{
	if (p->current_epoch != z->current)
		return p->current_epoch > z->current;
	return p->last_zxid > zab_log_last(&z->log);
}

static void on_info(struct zab *z, struct zab_peer *p,
		    const struct peer_msg *m)
{
	if ((m->type == PEER_FOLLOWERINFO) != p->voter)
		return;
	p->ls = ZAB_L_INFO;
	p->info_ms = z->now;
	p->accepted_epoch = m->u.info.accepted_epoch;
	p->sent = p->acked = 0;
	bool mine = m->u.info.accepted_leader == (int64_t)z->id;
	if (z->phase == ZAB_P_LEAD_BCAST &&
	    (p->accepted_epoch > z->epoch ||
	     (p->accepted_epoch == z->epoch && !mine))) {
		/* It may not ack this epoch (it has it, or a later one, from
		 * another leader): only a new epoch lets it back in. */
		zab_look(z, "a learner cannot join this epoch");
		return;
	}
	if (z->phase == ZAB_P_LEAD_DISCOVER)
		zab_lead_progress(z);
	else
		offer_epoch(z, p);
}

static void on_ackepoch(struct zab *z, struct zab_peer *p,
			const struct peer_ackepoch *a)
{
	if (p->ls != ZAB_L_WAIT_ACKEPOCH || a->epoch != z->epoch)
		return;
	p->current_epoch = a->current_epoch;
	p->last_zxid = a->zxid;
	p->ls = ZAB_L_ACKED;
	if (z->phase == ZAB_P_LEAD_DISCOVER) {
		if (p->voter && ahead(z, p))
			zab_look(z, "a follower is ahead");
		else
			zab_lead_progress(z);
	} else {
		zab_sync_learner(z, p);
	}
}

static void on_ack(struct zab *z, struct zab_peer *p, int64_t zxid)
{
	bool newleader = zxid == ZXID_MAKE(z->epoch, 0);
	if (p->ls == ZAB_L_SYNCING && newleader) {
		p->ls = ZAB_L_ACTIVE;
		p->acked = p->nl_zxid;
		if (z->phase == ZAB_P_LEAD_BCAST)
			zab_send_zxid(z, p->id, PEER_UPTODATE, z->committed);
	} else if (p->ls == ZAB_L_ACTIVE && !newleader && zxid > p->acked &&
		   zxid <= p->sent) {
		p->acked = zxid;
	} else {
		return;
	}
	zab_lead_progress(z);
}

void zab_lead_receive(struct zab *z, struct zab_peer *p,
		      const struct peer_msg *m)
{
	if (m->type == PEER_FOLLOWERINFO || m->type == PEER_OBSERVERINFO) {
		p->heard_ms = z->now;
		on_info(z, p, m);
		return;
	}
	if (p->ls == ZAB_L_NONE)
		return;
	switch (m->type) {
	case PEER_ACKEPOCH:
		p->heard_ms = z->now;
		on_ackepoch(z, p, &m->u.ackepoch);
		break;
	case PEER_ACK:
	case PEER_PING:
		if (m->u.zxid.epoch != z->epoch)
			return;
		p->heard_ms = z->now;
		on_ack(z, p, m->u.zxid.zxid);
		break;
	default:
		break;
	}
}

static void heartbeat(struct zab *z)
{
	for (size_t i = 0; i < z->n_peers; i++) {
		struct zab_peer *p = &z->peers[i];
		if (p->ls < ZAB_L_WAIT_ACKEPOCH)
			continue;
		bool up = z->phase == ZAB_P_LEAD_BCAST && p->ls == ZAB_L_ACTIVE;
		zab_send_zxid(z, p->id, up ? PEER_UPTODATE : PEER_PING,
			      z->committed);
	}
}

void zab_lead_tick(struct zab *z)
{
	if (z->phase != ZAB_P_LEAD_BCAST && z->now >= z->deadline_ms) {
		zab_look(z, "not established within initLimit");
		return;
	}
	if (z->now < z->periodic_ms)
		return;
	z->periodic_ms = z->now + tick_half(z);
	if (z->phase == ZAB_P_LEAD_BCAST) {
		uint64_t limit = (uint64_t)z->sync_limit * z->tick_ms;
		uint64_t init = (uint64_t)z->init_limit * z->tick_ms;
		for (size_t i = 0; i < z->n_peers; i++) {
			struct zab_peer *p = &z->peers[i];
			bool silent = z->now - p->heard_ms > limit;
			bool late = p->ls != ZAB_L_ACTIVE &&
				    z->now - p->info_ms > init;
			if (p->ls != ZAB_L_NONE && (silent || late))
				p->ls = ZAB_L_NONE;
		}
		if (!zab_quorum(z, 1 + count_voters(z, ZAB_L_ACTIVE))) {
			zab_look(z, "lost the quorum");
			return;
		}
	}
	heartbeat(z);
}

int zab_lead_propose(struct zab *z, const void *txn, size_t len,
		     int64_t *zxid)
{
	int64_t last = zab_log_last(&z->log);
	int64_t next = ZXID_EPOCH(last) == z->epoch ? last + 1
						    : ZXID_MAKE(z->epoch, 1);
	if (ZXID_COUNTER(next) > z->max_counter) {
		zab_look(z, "zxid counter exhausted");
		return ZK_NOTLEADER;
	}
	int rc = zab_log_append(&z->log, next, txn, len);
	if (rc)
		return rc;
	const struct zab_entry *e =
		zab_log_at(&z->log, zab_log_count(&z->log) - 1);
	struct zab_action a = {.type = ZAB_APPEND};
	a.txn = (struct zab_txn){next, zk_bytes_of(e->data, e->len)};
	zab_emit(z, &a);
	struct peer_msg m = {.type = PEER_PROPOSAL};
	m.u.txn = (struct peer_txn){z->epoch, next, last, a.txn.data};
	for (size_t i = 0; i < z->n_peers; i++) {
		struct zab_peer *p = &z->peers[i];
		if (p->voter && streamed(p)) {
			zab_send(z, p->id, &m);
			p->sent = next;
		}
	}
	*zxid = next;
	return 0;
}
