/*
 * zab_follow.c - the learner side of Zab (followers and observers):
 * discovery, sync and broadcast as seen from below.
 *
 * Design
 *   FOLLOW_INFO: FOLLOWERINFO/OBSERVERINFO(acceptedEpoch) goes to the
 *   leader, resent every tick_ms/2 until LEADERINFO(e) comes.  We accept e
 *   only if it is above every acceptedEpoch we wrote or asked to write, or
 *   equal to it and from the same leader (persisted with the epoch; a
 *   leader persists e before offering it, so (leader, e) names one
 *   leadership).  Anything else means the leader is behind: we look again.
 *   FOLLOW_EPOCH: once acceptedEpoch = e is written, ACKEPOCH(currentEpoch,
 *   last zxid).
 *   FOLLOW_SYNC: the first of DIFF/TRUNC/SNAP (the "marker") puts our log
 *   on the leader's history; then txns chained by prev_zxid, COMMIT, and
 *   NEWLEADER, which must name our last zxid.  Once that zxid is durable
 *   and a snapshot (if any) installed, we write currentEpoch = e; once
 *   that is written, we ACK NEWLEADER (ZOOKEEPER-3911, -4643, -4646:
 *   persist, then the epoch, then the ack).
 *   FOLLOW_BCAST: proposals are acked cumulatively as the log reports them
 *   durable; COMMIT, INFORM, PING and UPTODATE move the commit point;
 *   UPTODATE makes us serve.  A fresh LEADERINFO of the same leadership
 *   restarts the sync (the leader lost our stream), within the first
 *   one's deadline (so one that served already looks again at once).
 *
 *   Time: from FOLLOWERINFO (zab_follow_begin) to UPTODATE we have
 *   initLimit ticks (deadline_ms); then we look again.  Acking NEWLEADER
 *   does not stop that clock: only UPTODATE tells us the ack arrived, and
 *   a lost one would leave us acking and applying the leader's stream
 *   forever while it holds us SYNCING and never lets us serve.
 *   ZooKeeper's leader closes the stream of a learner whose NEWLEADER ack
 *   it has not read within initLimit; ours drops such a learner
 *   (zab_lead.c) but has no stream to close, so we keep our own clock.
 *   Once serving, syncLimit ticks without a word from the leader end it.
 *
 *   Any message that does not fit our log (a gap, a TRUNC below what we
 *   committed or to a zxid we do not hold, a snapshot behind us, a
 *   NEWLEADER that is not our last zxid) makes us abandon the leader.
 *
 * Invariants
 *   1. Before the marker nothing is committed, appended or acked.
 *   2. We never commit above our last appended zxid, never truncate below
 *      our commit point, never ack above what is durable.
 *   3. Not serving (no UPTODATE yet) lasts at most initLimit ticks from
 *      the start of the current sync (deadline_ms); serving lasts as long
 *      as the leader is heard from within syncLimit ticks.
 */
#include "zab_state_i.h"
#include "zabfs/deliberate_bug.h"

static uint64_t tick_half(const struct zab *z)
{
	return z->tick_ms / 2 ? z->tick_ms / 2 : 1;
}

static void send_info(struct zab *z)
{
	struct peer_msg m = {.type = z->observer ? PEER_OBSERVERINFO
						 : PEER_FOLLOWERINFO};
	m.u.info.accepted_epoch = z->accepted;
	m.u.info.accepted_leader =
		z->accepted == z->accepted_asked ? (int64_t)z->accepted_from : 0;
	m.u.info.protocol = PEER_PROTOCOL_VERSION;
	zab_send(z, z->leader, &m);
}

static void send_ackepoch(struct zab *z)
{
	struct peer_msg m = {.type = PEER_ACKEPOCH};
	m.u.ackepoch.epoch = z->epoch;
	m.u.ackepoch.current_epoch = z->current;
	m.u.ackepoch.zxid = zab_log_last(&z->log);
	zab_send(z, z->leader, &m);
	z->phase = ZAB_P_FOLLOW_SYNC;
}

static void reset_sync(struct zab *z)
{
	z->synced_marker = false;
	z->nl_pending = z->nl_acked = z->uptodate = false;
	z->nl_zxid = 0;
	z->leader_commit = 0;
	z->last_ack = 0;
}

void zab_follow_begin(struct zab *z, uint64_t leader)
{
	z->phase = ZAB_P_FOLLOW_INFO;
	z->leader = leader;
	z->epoch = 0;
	z->deadline_ms = z->now + (uint64_t)z->init_limit * z->tick_ms;
	z->heard_ms = z->now;
	z->periodic_ms = z->now + tick_half(z);
	reset_sync(z);
	send_info(z);
}

static void on_leaderinfo(struct zab *z, uint32_t e)
{
	if (z->phase == ZAB_P_FOLLOW_INFO) {
		if (e > z->accepted_asked) {
			z->accepted_from = z->leader;
			zab_write_epoch(z, ZAB_ACCEPTED_EPOCH, e);
		}
		if (e == z->accepted_asked && z->accepted_from == z->leader) {
			z->epoch = e;
			z->phase = ZAB_P_FOLLOW_EPOCH;
			zab_follow_progress(z);
		} else {
			zab_look(z, "the leader's epoch is not new");
		}
	} else if (z->phase >= ZAB_P_FOLLOW_SYNC && e == z->epoch) {
		reset_sync(z);
		zab_show_role(z, ZAB_LOOKING);
		send_ackepoch(z);
	}
}

static void advance_commit(struct zab *z)
{
	if (!z->synced_marker)
		return;
	int64_t last = zab_log_last(&z->log);
	zab_commit_to(z, z->leader_commit < last ? z->leader_commit : last);
}

static void heard_commit(struct zab *z, int64_t zxid)
{
	if (zxid > z->leader_commit)
		z->leader_commit = zxid;
	advance_commit(z);
}

static void on_trunc(struct zab *z, int64_t zxid)
{
	if (zxid < z->committed || !zab_log_has(&z->log, zxid)) {
		zab_look(z, "TRUNC does not fit our log");
		return;
	}
	if (ZABFS_BUG(SKIP_TRUNC)) {
		z->synced_marker = true;
		return;
	}
	zab_log_truncate(&z->log, zxid);
	if (z->durable > zxid)
		z->durable = zxid;
	struct zab_action a = {.type = ZAB_TRUNCATE, .zxid = zxid};
	zab_emit(z, &a);
	z->synced_marker = true;
}

static void on_snap(struct zab *z, const struct peer_snap *s)
{
	if (s->zxid < z->committed) {
		zab_look(z, "snapshot behind our commit point");
		return;
	}
	struct zab_action a = {.type = ZAB_INSTALL_SNAP};
	a.txn = (struct zab_txn){s->zxid, s->data};
	zab_emit(z, &a);
	zab_log_reset(&z->log, s->zxid);
	z->committed = s->zxid;
	z->durable = s->zxid;
	z->snap_pending = true;
	z->snap_zxid = s->zxid;
	z->synced_marker = true;
}

static void on_txn(struct zab *z, const struct peer_msg *m)
{
	const struct peer_txn *t = &m->u.txn;
	int64_t last = zab_log_last(&z->log);
	if (!z->synced_marker || t->zxid <= last)
		return;
	if (t->prev_zxid != last) {
		zab_look(z, "a gap before a proposal");
		return;
	}
	if (zab_log_append(&z->log, t->zxid, t->data.p, (size_t)t->data.len)) {
		z->failed = true;
		zab_look(z, "out of memory");
		return;
	}
	const struct zab_entry *e =
		zab_log_at(&z->log, zab_log_count(&z->log) - 1);
	struct zab_action a = {.type = ZAB_APPEND};
	a.txn = (struct zab_txn){e->zxid, zk_bytes_of(e->data, e->len)};
	zab_emit(z, &a);
	if (m->type == PEER_INFORM)
		heard_commit(z, t->zxid);
	else
		advance_commit(z);
}

static void on_newleader(struct zab *z, int64_t zxid)
{
	if (!z->synced_marker || z->nl_pending)
		return;
	if (zxid != zab_log_last(&z->log)) {
		zab_look(z, "NEWLEADER does not match our log");
		return;
	}
	z->nl_pending = true;
	z->nl_zxid = zxid;
	zab_follow_progress(z);
}

static void answer_heartbeat(struct zab *z, int64_t commit)
{
	heard_commit(z, commit);
	zab_send_zxid(z, z->leader, PEER_PING, z->last_ack);
}

static uint32_t epoch_of(const struct peer_msg *m)
{
	switch (m->type) {
	case PEER_PROPOSAL:
	case PEER_INFORM:
		return m->u.txn.epoch;
	case PEER_SNAP:
		return m->u.snap.epoch;
	default:
		return m->u.zxid.epoch;
	}
}

void zab_follow_receive(struct zab *z, const struct peer_msg *m)
{
	if (m->type == PEER_LEADERINFO) {
		z->heard_ms = z->now;
		on_leaderinfo(z, m->u.leaderinfo.epoch);
		return;
	}
	if (z->phase < ZAB_P_FOLLOW_SYNC || m->type == PEER_FOLLOWERINFO ||
	    m->type == PEER_OBSERVERINFO || m->type == PEER_ACKEPOCH ||
	    m->type == PEER_ACK || epoch_of(m) != z->epoch)
		return;
	z->heard_ms = z->now;
	bool first = !z->synced_marker;
	switch (m->type) {
	case PEER_DIFF:
		if (!first)
			return;
		if (m->u.zxid.zxid != zab_log_last(&z->log))
			zab_look(z, "DIFF does not start at our last zxid");
		else
			z->synced_marker = true;
		return;
	case PEER_TRUNC:
		if (first)
			on_trunc(z, m->u.zxid.zxid);
		return;
	case PEER_SNAP:
		if (first)
			on_snap(z, &m->u.snap);
		return;
	case PEER_PROPOSAL:
	case PEER_INFORM:
		on_txn(z, m);
		return;
	case PEER_COMMIT:
		heard_commit(z, m->u.zxid.zxid);
		return;
	case PEER_NEWLEADER:
		on_newleader(z, m->u.zxid.zxid);
		return;
	case PEER_UPTODATE:
		if (z->nl_acked && !z->uptodate) {
			z->uptodate = true;
			zab_show_role(z, z->observer ? ZAB_OBSERVING
						     : ZAB_FOLLOWING);
		}
		answer_heartbeat(z, m->u.zxid.zxid);
		return;
	case PEER_PING:
		answer_heartbeat(z, m->u.zxid.zxid);
		return;
	default:
		return;
	}
}

void zab_follow_progress(struct zab *z)
{
	if (z->phase == ZAB_P_FOLLOW_EPOCH && z->accepted >= z->epoch)
		send_ackepoch(z);
	bool synced = z->nl_pending && !z->snap_pending &&
		      z->durable >= z->nl_zxid;
	/* The epoch only once the history is durable (ZOOKEEPER-4643): a
	 * crash in between must not leave a newer epoch on a shorter log,
	 * whose vote would then win and truncate committed txns. */
	if (synced)
		zab_write_epoch(z, ZAB_CURRENT_EPOCH, z->epoch);
	if (synced && !z->nl_acked && z->current == z->epoch) {
		zab_send_zxid(z, z->leader, PEER_ACK, ZXID_MAKE(z->epoch, 0));
		z->nl_acked = true;
		z->last_ack = z->nl_zxid;
		z->phase = ZAB_P_FOLLOW_BCAST;
	}
	if (z->nl_acked && !z->observer && !z->snap_pending &&
	    z->durable > z->last_ack) {
		z->last_ack = z->durable;
		zab_send_zxid(z, z->leader, PEER_ACK, z->durable);
	}
}

void zab_follow_tick(struct zab *z)
{
	uint64_t silent = (uint64_t)z->sync_limit * z->tick_ms;
	/* Until UPTODATE, not only until we ack NEWLEADER (invariant 3). */
	if (!z->uptodate && z->now >= z->deadline_ms) {
		zab_look(z, "not synced within initLimit");
		return;
	}
	if (z->phase == ZAB_P_FOLLOW_BCAST && z->now - z->heard_ms > silent) {
		zab_look(z, "the leader is silent");
		return;
	}
	if (z->now < z->periodic_ms)
		return;
	z->periodic_ms = z->now + tick_half(z);
	if (z->phase == ZAB_P_FOLLOW_INFO)
		send_info(z);
}
