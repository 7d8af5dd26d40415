/*
 * zab_i.h - the Zab consensus core: a pure state machine.  Events go in
 * (a tick, a peer message, "the log is durable up to z", "the epoch file is
 * written", "the snapshot is installed", a proposal); actions come out, in
 * a queue the caller drains and executes in order.  The core never reads a
 * clock, a socket or a file, has no threads and no global state: the libuv
 * driver and the simulator (tests/sim/) drive the same code.
 *
 * Design
 *   Roles and phases (ZooKeeper's Zab 1.0, zookeeper.md §3):
 *
 *     LOOKING ──FLE decides──► LEADING: discovery → sync → broadcast
 *        ▲                 └─► FOLLOWING / OBSERVING: discovery → sync →
 *        │                                            broadcast
 *        └── a timeout, a lost quorum, a protocol anomaly, zxid rollover
 *
 *   - Election (zab_elect.c): Fast Leader Election by (currentEpoch, last
 *     logged zxid, server id) with rounds; observers never vote and never
 *     win, and join a leader that a quorum of voters reports.
 *   - Discovery: FOLLOWERINFO(acceptedEpoch) from a quorum fixes the new
 *     epoch e = max + 1; the leader persists acceptedEpoch = e, sends
 *     LEADERINFO(e); learners persist it and answer ACKEPOCH(currentEpoch,
 *     last zxid).  A learner accepts an epoch equal to its acceptedEpoch
 *     only from the leader it accepted it from (persisted with it): a
 *     leader persists e before offering it, so (leader, e) names one
 *     leadership, and no learner acks one epoch to two leaders (an
 *     established leader steps down for a learner that therefore cannot
 *     join).  A quorum of ACKEPOCH ends discovery; a voter ahead of the
 *     leader makes it step down.
 *   - Sync (zab_sync.c): per learner DIFF, TRUNC (+ the missing tail) or
 *     SNAP, then NEWLEADER(e, last zxid of the stream).  Once that zxid is
 *     durable and the snapshot (if any) installed, a learner writes
 *     currentEpoch = e (never before: ZOOKEEPER-4643), and once that is
 *     written it acks NEWLEADER.  A quorum of those acks (the leader counts
 *     itself under the same conditions) establishes the leader, which
 *     commits its whole history and sends UPTODATE.  Discovery and sync
 *     are bounded by initLimit ticks: a leader not established by then,
 *     or a learner without UPTODATE by then (counted from its
 *     FOLLOWERINFO), looks again; an established leader drops a learner
 *     not synced within initLimit of its FOLLOWERINFO.
 *   - Broadcast: PROPOSAL → durable → cumulative ACK → quorum → COMMIT,
 *     pipelined; observers get INFORM for each committed txn.  ZXID =
 *     epoch << 32 | counter; the counter never reaches 0xffffffff: the
 *     leader steps down instead, forcing a new epoch.
 *
 *   Time: the core knows only what the last zab_tick() said.  Call it at
 *   zab_wakeup_ms() at the latest (earlier is harmless).
 *
 *   Messages are assumed to travel like TCP (in order, without duplicates,
 *   a lost message breaks the stream), which is what the driver provides;
 *   but safety does not depend on it: every quorum packet carries its
 *   leadership's epoch, a transaction carries the zxid before it, and any
 *   message that does not fit is dropped or makes the node abandon its
 *   leader and look again.  Nor does progress: but for votes and
 *   FOLLOWERINFO nothing is resent, yet every wait is bounded (initLimit
 *   in discovery and sync, syncLimit of silence in broadcast), so a lost
 *   message costs a new round, never a node stuck for good.
 *
 * Ownership
 *   Views in an action (a message's bytes, a txn) point into the core or
 *   into the message being received; they stay valid until the next call
 *   of an event function (zab_tick, zab_receive, ...).  Drain the queue
 *   with zab_next_action() after every event, before the next one.
 *   zab_receive() copies what it keeps.
 *
 * Invariants (checked by the simulator after every step)
 *   1. At most one leader is established per epoch.
 *   2. The core emits ZAB_COMMIT only for zxids a quorum of voters holds
 *      durably, in increasing order; the caller applies the log in order.
 *   3. A learner acknowledges (NEWLEADER or a proposal) only what its log
 *      reported durable; epochs are acted upon only once written.
 *   4. A node never truncates below what it committed.
 */
#ifndef ZABFS_ZAB_I_H
#define ZABFS_ZAB_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zabfs/peer.h"
#include "zabfs/types.h"

#define ZAB_MAX_SERVERS 32

struct zab;

struct zab_config {
	uint64_t id; /* this server's id (myid) */
	const uint64_t *voters; /* the voting members, this one included
				 * unless it is an observer */
	size_t n_voters;
	const uint64_t *observers;
	size_t n_observers;
	uint32_t tick_ms;    /* tickTime */
	uint32_t init_limit; /* ticks to discover and sync */
	uint32_t sync_limit; /* ticks a follower may stay silent */
	uint32_t finalize_wait_ms; /* FLE: wait for a better vote (200) */
	uint32_t notify_max_ms;    /* FLE: resend backoff ceiling */
	size_t diff_window; /* committed txns kept in memory to serve DIFF */
	/* The last zxid counter a leader hands out before it steps down to
	 * force a new epoch; 0 means 0xfffffffe, ZooKeeper's (a test lowers
	 * it to reach the rollover). */
	uint32_t max_counter;
};

/* One logged transaction. */
struct zab_txn {
	int64_t zxid;
	struct zk_bytes data;
};

/* What the disk says at start. */
struct zab_boot {
	uint32_t accepted_epoch;
	/* The leader acceptedEpoch was accepted from (written with it, see
	 * ZAB_WRITE_EPOCH); 0 if unknown. */
	uint64_t accepted_from;
	uint32_t current_epoch;
	/* The zxid of the snapshot the log continues (0 for none): the
	 * entry just before recent[0]. */
	int64_t base_zxid;
	/* The highest zxid known committed (applied): base <= committed <=
	 * the last logged zxid. */
	int64_t committed;
	/* The log after base_zxid, ascending, all durable; at least every
	 * entry above committed (the core copies them). */
	const struct zab_txn *recent;
	size_t n_recent;
};

enum zab_role {
	ZAB_LOOKING,   /* electing, or discovering/syncing: not serving */
	ZAB_FOLLOWING, /* synced with an established leader */
	ZAB_LEADING,   /* established leader: zab_propose works */
	ZAB_OBSERVING,
};

enum zab_epoch_file {
	ZAB_ACCEPTED_EPOCH,
	ZAB_CURRENT_EPOCH,
};

enum zab_action_type {
	ZAB_SEND,         /* send msg to peer */
	ZAB_SEND_SNAP,    /* send peer SNAP{epoch, zxid, your snapshot as
			   * of zxid}; zxid is what was last committed */
	ZAB_APPEND,       /* append txn to the log; report zab_log_durable */
	ZAB_TRUNCATE,     /* drop every log entry after zxid */
	ZAB_INSTALL_SNAP, /* replace state and log by snapshot (data, as of
			   * zxid); report zab_snapshot_installed */
	ZAB_WRITE_EPOCH,  /* write file := epoch durably (acceptedEpoch with
			   * the leader it came from, in `leader`); report
			   * zab_epoch_written */
	ZAB_COMMIT,       /* apply the log up to zxid, in order */
	ZAB_ROLE,         /* the role changed: role, leader, epoch */
};

struct zab_action {
	enum zab_action_type type;
	uint64_t peer;         /* SEND, SEND_SNAP */
	struct peer_msg msg;   /* SEND */
	struct zab_txn txn;    /* APPEND; INSTALL_SNAP (zxid, data) */
	int64_t zxid;          /* SEND_SNAP, TRUNCATE, COMMIT */
	uint32_t epoch;        /* SEND_SNAP, WRITE_EPOCH, ROLE */
	enum zab_epoch_file file; /* WRITE_EPOCH */
	enum zab_role role;    /* ROLE */
	uint64_t leader;       /* ROLE: the leader's id, 0 when looking;
				* WRITE_EPOCH of acceptedEpoch: its leader */
};

/* A new core, LOOKING.  ZK_BADARGUMENTS for a config or boot state that
 * does not hold together (ids, limits, zxid order); ZK_NOMEM. */
int zab_new(const struct zab_config *cfg, const struct zab_boot *boot,
	    uint64_t now_ms, struct zab **out);
void zab_free(struct zab *z);

/* Events. */
void zab_tick(struct zab *z, uint64_t now_ms);
/* A message from peer `from`; messages from non-members are ignored. */
void zab_receive(struct zab *z, uint64_t from, const struct peer_msg *m);
/* The stream to peer id closed (the driver's transport says so).  A
 * learner whose leader it was looks for a leader at once, as ZooKeeper's
 * does when its socket to the leader fails, instead of waiting syncLimit
 * ticks of silence.  An election in progress stops waiting for a better
 * vote from a peer that is down (zab_elect.c).  Safe whenever it is
 * called: looking is, and an election's decision is never a safety
 * matter in Zab. */
void zab_peer_down(struct zab *z, uint64_t id);
/* Every log entry up to zxid is durable (monotonic within the log's
 * current content: the caller never reports an entry it truncated). */
void zab_log_durable(struct zab *z, int64_t zxid);
void zab_epoch_written(struct zab *z, enum zab_epoch_file file,
		       uint32_t epoch);
void zab_snapshot_installed(struct zab *z, int64_t zxid);
/* On the established leader: log and broadcast txn; *zxid gets its zxid.
 * ZK_NOTLEADER anywhere else (and when the zxid counter is exhausted: the
 * leader then steps down), ZK_TOOBIG, ZK_NOMEM. */
int zab_propose(struct zab *z, const void *txn, size_t len, int64_t *zxid);

/* The next action, in order; false when the queue is empty. */
bool zab_next_action(struct zab *z, struct zab_action *a);
/* The latest time the core wants its next zab_tick(). */
uint64_t zab_wakeup_ms(const struct zab *z);

/* Queries, for logs, four-letter words and tests. */
enum zab_role zab_role(const struct zab *z);
uint64_t zab_leader(const struct zab *z);
uint32_t zab_epoch(const struct zab *z); /* the epoch being served */
int64_t zab_last_zxid(const struct zab *z);
int64_t zab_committed(const struct zab *z);
/* Why the core last went LOOKING ("lost the quorum", ...), for logs. */
const char *zab_reason(const struct zab *z);

#endif
