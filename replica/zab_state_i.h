/*
 * zab_state_i.h - the inside of struct zab, shared by the zab*.c files
 * (the API is zab_i.h).  Nothing here is thread-safe: a core belongs to
 * the one thread that drives it.
 *
 * Design
 *   One struct zab per node.  `phase` is the fine-grained state; the role
 *   the caller sees (zab_role) is derived from it and announced with a
 *   ZAB_ROLE action whenever it changes.  Per-peer state (the last vote it
 *   sent, and, on a leader, its learner state) lives in peers[], one slot
 *   per other member.
 *
 *   Phase transitions (function that makes each):
 *     any            -> LOOKING         zab_look (timeout, anomaly, ...)
 *     LOOKING        -> LEAD_DISCOVER   zab_lead_begin      (FLE decided)
 *     LOOKING        -> FOLLOW_INFO     zab_follow_begin    (FLE decided)
 *     LEAD_DISCOVER  -> LEAD_SYNC       quorum of ACKEPOCH  (zab_lead.c)
 *     LEAD_SYNC      -> LEAD_BCAST      quorum of NEWLEADER acks
 *     FOLLOW_INFO    -> FOLLOW_EPOCH    LEADERINFO, acceptedEpoch to write
 *     FOLLOW_EPOCH   -> FOLLOW_SYNC     acceptedEpoch written, ACKEPOCH sent
 *     FOLLOW_SYNC    -> FOLLOW_BCAST    NEWLEADER acked; the role
 *                                       FOLLOWING/OBSERVING is shown
 *                                       only on UPTODATE
 *     LEAD_DISCOVER, LEAD_SYNC -> LOOKING   not established by deadline_ms
 *     FOLLOW_* (not UPTODATE)  -> LOOKING   no UPTODATE by deadline_ms
 *
 * Invariants
 *   1. accepted >= current; both only grow, and only when the caller says
 *      the file was written.  accepted_from is the leader of the latest
 *      acceptedEpoch asked for.
 *   2. log.base <= committed <= log last; durable <= log last;
 *      every entry above committed is in the log window.
 *   3. A follower's log is a prefix of its leader's log once synced_marker
 *      is set (DIFF/TRUNC/SNAP seen), and stays one: it only grows by the
 *      entry whose prev_zxid is its last.
 *   4. On a leader, a learner's `sent` is the last zxid of the stream it
 *      was sent; acked <= sent.
 */
#ifndef ZABFS_ZAB_STATE_I_H
#define ZABFS_ZAB_STATE_I_H

#include "zab_i.h"

enum zab_phase {
	ZAB_P_LOOKING,
	ZAB_P_LEAD_DISCOVER,
	ZAB_P_LEAD_SYNC,
	ZAB_P_LEAD_BCAST,
	ZAB_P_FOLLOW_INFO,
	ZAB_P_FOLLOW_EPOCH,
	ZAB_P_FOLLOW_SYNC,
	ZAB_P_FOLLOW_BCAST,
};

/* A learner as its leader sees it. */
enum zab_learner_state {
	ZAB_L_NONE,          /* not connected (or dropped) */
	ZAB_L_INFO,          /* sent FOLLOWERINFO; no LEADERINFO yet */
	ZAB_L_WAIT_ACKEPOCH, /* sent LEADERINFO */
	ZAB_L_ACKED,         /* ACKEPOCH received; sync waits for quorum */
	ZAB_L_SYNCING,       /* sync stream and NEWLEADER sent */
	ZAB_L_ACTIVE,        /* NEWLEADER acked */
};

struct zab_entry {
	int64_t zxid;
	uint8_t *data;
	size_t len;
};

/* The in-memory tail of the log (zab_log.c). */
struct zab_log {
	int64_t base; /* the zxid before the first entry */
	struct zab_entry *e;
	size_t head, n, cap; /* entries are e[head .. head + n) */
};

struct zab_peer {
	uint64_t id;
	bool voter;
	bool down; /* its stream closed, and nothing heard from it since */
	/* Election: the last notification it sent. */
	bool has_note;
	struct peer_vote note;
	/* Leader side. */
	enum zab_learner_state ls;
	uint32_t accepted_epoch; /* FOLLOWERINFO */
	uint32_t current_epoch;  /* ACKEPOCH */
	int64_t last_zxid;       /* ACKEPOCH */
	int64_t sent;            /* invariant 4 */
	int64_t nl_zxid;         /* the NEWLEADER we sent it: acking that
				  * NEWLEADER acks the stream up to here */
	int64_t acked;
	uint64_t heard_ms;
	uint64_t info_ms; /* its latest FOLLOWERINFO: ACTIVE by info_ms +
			   * initLimit, or dropped (zab_lead.c) */
};

struct zab_queue {
	struct zab_action *a;
	size_t head, n, cap;
};

struct zab {
	/* Configuration. */
	uint64_t id;
	bool observer;
	size_t n_voters, quorum;
	struct zab_peer peers[ZAB_MAX_SERVERS];
	size_t n_peers;
	uint32_t tick_ms, init_limit, sync_limit;
	uint32_t finalize_ms, notify_max_ms;
	size_t window;
	uint32_t max_counter;

	uint64_t now;
	const char *reason; /* why we last went LOOKING */
	bool failed; /* out of memory: the node looks and stays quiet */

	/* What the disk holds (invariants 1, 2). */
	uint32_t accepted, current;
	uint32_t accepted_asked, current_asked; /* writes requested */
	struct zab_log log;
	int64_t durable;
	int64_t committed;
	bool snap_pending; /* INSTALL_SNAP of snap_zxid issued, not yet
			    * installed: nothing counts as durable */
	int64_t snap_zxid;

	/* Role and leadership. */
	enum zab_phase phase;
	enum zab_role role_shown;
	uint64_t leader;
	uint32_t epoch; /* the leadership's epoch, 0 until known */
	uint64_t deadline_ms; /* discovery+sync must end by then: a leader
			       * established, a learner UPTODATE */
	uint64_t periodic_ms; /* next heartbeat / resend */

	/* Election (zab_elect.c). */
	uint64_t round;
	struct peer_vote vote; /* our proposal: leader, zxid, peer_epoch */
	uint64_t decide_ms;    /* 0, or when to decide for `vote` */
	uint32_t notify_ms;    /* resend interval (backoff) */

	/* Follower side (zab_follow.c). */
	uint64_t accepted_from; /* the leader of accepted_asked */
	bool synced_marker;     /* invariant 3 */
	bool nl_pending, nl_acked, uptodate;
	int64_t nl_zxid;
	int64_t leader_commit; /* the leader's commit point, as heard */
	int64_t last_ack;
	uint64_t heard_ms;

	/* Leader side (zab_lead.c). */
	int64_t history_last; /* the leader's last zxid when it synced */

	struct zab_queue q;
};

/* zab.c: actions and shared helpers. */
void zab_emit(struct zab *z, const struct zab_action *a);
void zab_send(struct zab *z, uint64_t to, const struct peer_msg *m);
void zab_send_zxid(struct zab *z, uint64_t to, enum peer_type type,
		   int64_t zxid);
void zab_write_epoch(struct zab *z, enum zab_epoch_file file,
		     uint32_t epoch);
void zab_commit_to(struct zab *z, int64_t zxid);
void zab_show_role(struct zab *z, enum zab_role role);
/* Back to LOOKING (a new election round); `why` is for debugging. */
void zab_look(struct zab *z, const char *why);
struct zab_peer *zab_peer(struct zab *z, uint64_t id);
bool zab_quorum(const struct zab *z, size_t votes);

/* zab_log.c */
void zab_log_init(struct zab_log *l, int64_t base);
void zab_log_free(struct zab_log *l);
int64_t zab_log_last(const struct zab_log *l);
size_t zab_log_count(const struct zab_log *l);
const struct zab_entry *zab_log_at(const struct zab_log *l, size_t i);
/* The zxid before entry i (log.base for i == 0). */
int64_t zab_log_prev(const struct zab_log *l, size_t i);
/* Index of the first entry above zxid (count if none). */
size_t zab_log_after(const struct zab_log *l, int64_t zxid);
/* zxid is the base or an entry. */
bool zab_log_has(const struct zab_log *l, int64_t zxid);
int zab_log_append(struct zab_log *l, int64_t zxid, const void *p,
		   size_t len);
void zab_log_truncate(struct zab_log *l, int64_t zxid);
void zab_log_reset(struct zab_log *l, int64_t base);
/* Drop the oldest entries at or below committed beyond `keep` of them. */
void zab_log_trim(struct zab_log *l, int64_t committed, size_t keep);

/* zab_elect.c */
void zab_elect_begin(struct zab *z);
void zab_elect_vote(struct zab *z, struct zab_peer *p,
		    const struct peer_vote *n);
void zab_elect_tick(struct zab *z);
void zab_elect_peer_down(struct zab *z);

/* zab_lead.c */
void zab_lead_begin(struct zab *z);
void zab_lead_receive(struct zab *z, struct zab_peer *p,
		      const struct peer_msg *m);
void zab_lead_progress(struct zab *z);
void zab_lead_tick(struct zab *z);
int zab_lead_propose(struct zab *z, const void *txn, size_t len,
		     int64_t *zxid);

/* zab_sync.c: the sync stream for a learner whose ACKEPOCH is in. */
void zab_sync_learner(struct zab *z, struct zab_peer *p);

/* zab_follow.c (followers and observers) */
void zab_follow_begin(struct zab *z, uint64_t leader);
void zab_follow_receive(struct zab *z, const struct peer_msg *m);
void zab_follow_progress(struct zab *z);
void zab_follow_tick(struct zab *z);

#endif
