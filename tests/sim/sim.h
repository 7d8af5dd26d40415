/*
 * sim.h - a deterministic simulator of a zabfs ensemble: N Zab cores
 * (replica/zab_i.h) on a fake clock, a faulty network and a disk that
 * forgets what was not flushed, with the safety of the whole ensemble
 * checked after every step.  Test binaries (tests/sim/test_*.c) script
 * scenarios or random schedules with it.
 *
 * Design
 *   Everything happens in events on one queue ordered by (time, sequence):
 *   message deliveries, node ticks, disk flushes and epoch-file writes.  All
 *   randomness comes from one xorshift generator seeded by the test, so a
 *   seed replays a run exactly.  Nodes are numbered 0..n-1 (voters first,
 *   then observers); node i has server id i + 1.  A node starts down with
 *   an empty disk; sim_start() boots it from its disk.
 *
 *   The node's "state machine" is the list of the txns it applied, and
 *   the real session table (replica/session.c) those txns make; a SNAP
 *   carries both.  Txns are unique byte strings: plain ones made by
 *   sim_propose, createSession and closeSession ones made for clients.
 *
 *   Clients (sim_client_*) each own a session and are attached to a node;
 *   while alive a client pings its node every timeout / 3 (a touch there,
 *   if the node is up and serving).  Nodes run the production policy of
 *   session_i.h: a follower or observer reports the sessions it heard
 *   from to its leader every tick / 2 (TOUCH, through the simulated
 *   network), a new leader gives every session a full timeout, and the
 *   leader proposes closeSession for each session past its deadline.
 *
 * Invariants checked after every step (sim_check.c), a failure recorded
 * in sim->violation and every later call a no-op:
 *   1. At most one leader is established per epoch, and it holds every
 *      txn any node ever applied (its log starts with that history).
 *   2. Applied sequences agree: each node's applied list is a prefix of
 *      one global history, zxids strictly increasing.
 *   3. A txn is applied first only when a quorum of voters holds it
 *      durably; and every txn of the history stays durable on a quorum of
 *      voters forever after (nothing committed is lost, not by a crash, a
 *      TRUNC or a SNAP).
 *   4. A node never truncates below what it applied; a snapshot is always
 *      made at the sender's commit point.
 *   5. Each up node's session table holds, committed, exactly the
 *      sessions that the createSession and closeSession txns it applied
 *      leave, with their timeouts and passwords (also after a SNAP, whose
 *      table comes from the sender's).
 *   6. A leader never expires a session (its ticker closes the client's
 *      connection and proposes closeSession) within a full timeout of
 *      becoming leader, nor while the session's client is alive and
 *      pinged, within the last timeout, a node that since that ping has
 *      been up and serving this leader (or is it), on its side of any
 *      partition, on a network without loss, its TOUCHes not dropped: so
 *      the ping's TOUCH reached the leader (by tick / 2 and the longest
 *      delay) before the leader decided.
 * Liveness (sim_check_liveness, sim_check_expiry) is checked when a test
 * asks, after healing everything.
 */
#ifndef ZABFS_SIM_H
#define ZABFS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zabfs/peer.h"

#define SIM_MAX_NODES 8

struct sim;

/* Faults of the network, as chances in 1/1000 per message. */
struct sim_net_faults {
	uint32_t loss, dup, reorder;
	uint32_t delay_min_ms, delay_max_ms;
};

struct sim_config {
	size_t n_voters, n_observers;
	uint64_t seed;
	uint32_t tick_ms, init_limit, sync_limit;
	size_t diff_window;
	uint32_t max_counter; /* zab_config's; 0 for ZooKeeper's */
	struct sim_net_faults net;
	uint32_t disk_min_ms, disk_max_ms; /* log flush latency */
	uint32_t epoch_min_ms, epoch_max_ms; /* epoch-file write latency */
	bool trace; /* print every delivery, role change, commit, crash */
};

/* Defaults for n voters and m observers: tickTime 100 ms, initLimit 10,
 * syncLimit 5, a window of 32, 1..10 ms delays, 1..8 ms disk writes, no
 * faults; tracing when
 * $ZABFS_SIM_TRACE is set. */
struct sim_config sim_config_default(size_t voters, size_t observers,
				     uint64_t seed);

struct sim *sim_new(const struct sim_config *cfg);
void sim_free(struct sim *s);

/* The first safety violation, or NULL. */
const char *sim_violation(const struct sim *s);
uint64_t sim_now(const struct sim *s);
size_t sim_size(const struct sim *s);
uint64_t sim_random(struct sim *s);

/* Runs events up to now + ms; stops early on a violation. */
void sim_run_for(struct sim *s, uint64_t ms);
/* Runs until pred holds (checked after every event) or ms pass. */
bool sim_run_until(struct sim *s, uint64_t ms,
		   bool (*pred)(struct sim *, void *), void *arg);

/* Node control. */
void sim_start(struct sim *s, int node);
/* Starts every node that is down at the same instant: all are up before
 * the first of them sends anything. */
void sim_start_all(struct sim *s);
void sim_crash(struct sim *s, int node);
bool sim_is_up(const struct sim *s, int node);
/* Before a node's first start: its disk holds these durable txns (zxids
 * increasing, bytes made up) and these epochs. */
void sim_preload(struct sim *s, int node, uint32_t accepted,
		 uint32_t current, const int64_t *zxids, size_t n);

/* Network control: nodes talk only within the same group. */
void sim_partition(struct sim *s, const int *group);
void sim_heal(struct sim *s);
void sim_set_faults(struct sim *s, const struct sim_net_faults *f);
/* Until cleared (type -1), drop every message `from` sends of this type
 * (SIM_DROP_ALL: of every type). */
#define SIM_DROP_ALL (-2)
void sim_drop_type(struct sim *s, int from, int type);
/* Delivers m from `from` to `to` now, as if sent (scripted anomalies). */
void sim_inject(struct sim *s, int from, int to, const struct peer_msg *m);
/* Crash `node` right after it sends a message of this type (-1: off). */
void sim_crash_on_send(struct sim *s, int node, int type);

/* The established leader with the highest epoch, or -1. */
int sim_leader(const struct sim *s);
/* That leader if every up node serves it (synced in its epoch), or -1. */
int sim_settled(const struct sim *s);
int sim_role(const struct sim *s, int node); /* enum zab_role */
uint32_t sim_epoch(const struct sim *s, int node);
/* Proposes a fresh txn on node; 0 and its zxid, or the core's error. */
int sim_propose(struct sim *s, int node, int64_t *zxid);
int64_t sim_applied_last(const struct sim *s, int node);
size_t sim_applied_count(const struct sim *s, int node);
int64_t sim_log_last(const struct sim *s, int node);
/* Whether node applied the txn with this zxid that some node applied. */
bool sim_has_applied(const struct sim *s, int node, int64_t zxid);
/* Messages of a type node received, and the most proposals the leader
 * ever had in flight (appended, not committed). */
uint64_t sim_received(const struct sim *s, int node, enum peer_type type);
uint64_t sim_max_inflight(const struct sim *s);
size_t sim_history_len(const struct sim *s);

/* Liveness: heals the network, starts every node, and needs, within ms,
 * an established leader that has committed a fresh txn on every node
 * while every other node serves it: FOLLOWING (OBSERVING for an
 * observer) in its epoch, i.e. it got UPTODATE.  A node that acks and
 * applies the leader's stream without serving clients (stuck in sync)
 * fails it.  False (and a violation) if not. */
bool sim_check_liveness(struct sim *s, uint64_t ms);

/* Clients and their sessions (sim_sessions.c).  A new client is attached
 * to node; its createSession (with this timeout) is proposed on the
 * established leader.  The client's number, or -1: no leader, it refused,
 * or SIM_MAX_CLIENTS are made. */
int sim_client_new(struct sim *s, int node, int32_t timeout_ms);
/* The client stops pinging; its connection closes. */
void sim_client_crash(struct sim *s, int client);
/* The client reattaches to node (as a ZooKeeper client that lost its
 * node's connection), which touches its session there if it can. */
void sim_client_move(struct sim *s, int client, int node);
size_t sim_clients(const struct sim *s);
/* Whether node's table holds the client's session, committed. */
bool sim_session_on(const struct sim *s, int node, int client);
/* Whether the client's closeSession was committed (it expired). */
bool sim_session_closed(const struct sim *s, int client);
/* Liveness of expiry: heals the network, starts every node, and needs
 * every crashed client's session gone from the tables of the leader and
 * of every node serving it within its timeout and a slack of a few ticks
 * from the moment a leader is established (within ms in all).  False
 * (and a violation) if not. */
bool sim_check_expiry(struct sim *s, uint64_t ms);

#endif
