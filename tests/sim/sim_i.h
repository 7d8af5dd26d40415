/*
 * sim_i.h - the inside of the simulator (sim.h), shared by its files:
 *   sim.c        the event queue, the clock, nodes, executing actions
 *   sim_disk.c   txn lists and each node's durable/volatile disk images
 *   sim_net.c    sending and delivering messages, faults, partitions
 *   sim_sessions.c  clients, each node's session table, its ticker
 *   sim_check.c  the safety invariants of sim.h and the liveness check
 *   sim_check_sessions.c  the invariants of sessions and their liveness
 *
 * Design of the disk
 *   A node's disk is two images of (snapshot txns, log txns, epochs):
 *   `dur`, what survives a crash, and `vol`, what the node sees.  Log
 *   appends, truncations and snapshot installs change vol at once and are
 *   queued as ops; a flush (one scheduled at a time, after a random
 *   latency) replays the queued ops onto dur, then tells the core "durable
 *   up to vol's last zxid" and "snapshot installed".  Epoch writes are
 *   separate files: each completes on its own after a latency.  A crash
 *   drops the queue and sets vol := dur.
 *
 * Design of sessions
 *   Each up node has a real session table (replica/session.c), changed
 *   only as production changes it: createSession and closeSession txns
 *   as it applies them, the table of a SNAP as it installs one (replacing
 *   its own), touches of its clients' pings and of TOUCH messages, and
 *   its ticker (every tick / 2, as server.c's): a follower or observer
 *   sends its leader a TOUCH, a leader expires sessions.  A crash drops
 *   the table; a start rebuilds it from the txns the node applied (as
 *   recovery replays a snapshot and the log).  A client's connection is
 *   the session's conn set to sim_conn (never dereferenced).
 */
#ifndef ZABFS_SIM_I_H
#define ZABFS_SIM_I_H

#include "session_i.h"
#include "sim.h"
#include "zab_i.h"
#include "zabfs/jute.h"

#define SIM_MAX_CLIENTS 16

struct sim_txn {
	int64_t zxid;
	uint8_t *data;
	size_t len;
};

struct sim_txns {
	struct sim_txn *v;
	size_t n, cap;
};

struct sim_image {
	struct sim_txns snap; /* the snapshot: committed txns up to snap_zxid */
	int64_t snap_zxid;
	struct sim_txns log;  /* the log after snap_zxid */
	uint32_t accepted, current;
	uint64_t accepted_from;
};

/* A session as its createSession txn gives it. */
struct sim_sess {
	int64_t id;
	int32_t timeout_ms;
	uint8_t passwd[16];
};

struct sim_sess_list {
	struct sim_sess *v;
	size_t n, cap;
};

/* A session txn, decoded (sim_sessions.c); a close gives only sess.id. */
enum sim_sess_kind { SIM_SESS_CREATE = 'C', SIM_SESS_CLOSE = 'X' };
struct sim_sess_op {
	enum sim_sess_kind kind;
	struct sim_sess sess;
};

/* A client: one session, attached to one node. */
struct sim_client {
	int64_t id;
	int32_t timeout_ms;
	int node;
	bool alive;  /* pinging; false once crashed */
	bool closed; /* its closeSession was committed */
	/* Invariant 6 (sim_check_sessions.c): the last two pings made while
	 * it reached the established leader (ping_at[1] 0 if the one before
	 * did not), and that it still does: the same leader, generations of
	 * both nodes and of the network. */
	bool ping_ok;
	uint64_t ping_at[2];
	int ping_leader;
	uint64_t ping_gen[2], ping_net_gen;
};

enum sim_op_kind { SIM_OP_APPEND, SIM_OP_TRUNCATE, SIM_OP_INSTALL };

struct sim_op {
	enum sim_op_kind kind;
	int64_t zxid;
	struct sim_txns txns; /* APPEND: one txn; INSTALL: the snapshot */
};

struct sim_node {
	uint64_t id;
	bool voter, up;
	uint32_t inc; /* incarnation: bumped by every crash and start */
	struct zab *core;
	struct sim_image dur, vol;
	struct sim_op *ops;
	size_t n_ops, cap_ops;
	bool flush_scheduled;
	struct sim_txns applied;
	uint64_t tick_at;
	uint64_t epoch_at[2]; /* last completion of each epoch file */
	int role;
	uint64_t leader;
	uint32_t epoch;
	size_t dur_match; /* dur's history agrees with s->hist this far */
	uint64_t received[PEER_VOTE + 1];
	int drop_type, crash_on_send;
	struct sessions sessions;     /* while up */
	struct sim_sess_list implied; /* what its applied txns create */
	bool table_used;     /* sessions used since invariant 5 was checked */
	uint64_t gen;        /* bumped by every boot, crash, role, snapshot */
	uint64_t lead_since; /* when it last became leader */
};

enum sim_ev_kind {
	SIM_EV_DELIVER, SIM_EV_TICK, SIM_EV_FLUSH, SIM_EV_EPOCH,
	SIM_EV_TICKER, /* the node's session ticker */
	SIM_EV_PING    /* a client's ping */
};

struct sim_event {
	uint64_t time, seq;
	enum sim_ev_kind kind;
	int node;
	uint32_t inc;
	int from;          /* DELIVER */
	uint8_t *bytes;    /* DELIVER: the encoded message, owned */
	size_t len;
	enum zab_epoch_file file; /* EPOCH */
	uint32_t epoch;
	uint64_t leader;
	int client;        /* PING */
};

struct sim_epoch_leader {
	uint32_t epoch;
	uint64_t id;
};

struct sim {
	struct sim_config cfg;
	uint64_t rng, now, seq;
	struct sim_node nodes[SIM_MAX_NODES];
	size_t n;
	uint64_t voter_ids[SIM_MAX_NODES], observer_ids[SIM_MAX_NODES];
	struct sim_event *heap;
	size_t n_ev, cap_ev;
	int group[SIM_MAX_NODES];
	uint64_t link_last[SIM_MAX_NODES][SIM_MAX_NODES];
	struct sim_txns hist; /* every txn applied anywhere, in order */
	struct sim_epoch_leader *leaders;
	size_t n_leaders;
	uint64_t next_txn, max_inflight;
	struct sim_client clients[SIM_MAX_CLIENTS];
	size_t n_clients;
	uint64_t net_gen; /* bumped by every change of partitions or faults */
	bool failed;
	char violation[512];
};

/* sim.c */
void sim_fail(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A line of the trace, when cfg.trace is set. */
void sim_trace(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sim_push(struct sim *s, const struct sim_event *ev);
/* Executes every action the node's core queued. */
void sim_drain(struct sim *s, int node);
uint64_t sim_between(struct sim *s, uint64_t lo, uint64_t hi);
/* Proposes these bytes as a txn on node; 0 and its zxid, or an error. */
int sim_propose_txn(struct sim *s, int node, const void *p, size_t len,
		    int64_t *zxid);

/* sim_disk.c */
void sim_txns_push(struct sim_txns *l, int64_t zxid, const void *p,
		   size_t len);
void sim_txns_copy(struct sim_txns *dst, const struct sim_txns *src);
void sim_txns_truncate(struct sim_txns *l, int64_t zxid);
void sim_txns_clear(struct sim_txns *l);
bool sim_txn_eq(const struct sim_txn *a, const struct sim_txn *b);
size_t sim_image_len(const struct sim_image *im);
const struct sim_txn *sim_image_at(const struct sim_image *im, size_t k);
void sim_image_free(struct sim_image *im);
void sim_disk_append(struct sim *s, int node, int64_t zxid,
		     struct zk_bytes data);
void sim_disk_truncate(struct sim *s, int node, int64_t zxid);
void sim_disk_install(struct sim *s, int node, int64_t zxid,
		      const struct sim_txns *snap);
/* What a flush made durable, for sim.c to tell the core. */
struct sim_flushed {
	bool installed, has_log;
	int64_t snap_zxid, durable;
};
struct sim_flushed sim_disk_flush(struct sim *s, int node);
void sim_disk_crash(struct sim_node *nd);
void sim_disk_free(struct sim_node *nd);
/* The snapshot encoding: count, then (zxid, bytes) per txn, then the
 * session table (sessions_encode) as a buffer. */
void sim_snap_encode(struct jute_writer *w, const struct sim_txns *t,
		     struct zk_bytes sessions);
bool sim_snap_decode(struct zk_bytes b, struct sim_txns *out,
		     struct zk_bytes *sessions);

/* sim_net.c */
void sim_net_send(struct sim *s, int from, uint64_t to,
		  const struct peer_msg *m);
void sim_net_deliver(struct sim *s, struct sim_event *ev);

/* sim_sessions.c */
extern struct conn *const sim_conn;
/* The session txn t is, or false for a plain one. */
bool sim_sess_decode(const struct sim_txn *t, struct sim_sess_op *op);
/* The client of a session id, or -1. */
int sim_client_of(const struct sim *s, int64_t id);
uint32_t sim_ticker_ms(const struct sim *s);
void sim_sessions_boot(struct sim *s, int node);
void sim_sessions_crash(struct sim *s, int node);
/* The node applied t; first: it is the first to (t is committed). */
void sim_sessions_apply(struct sim *s, int node, const struct sim_txn *t,
			bool first);
/* The node installed a snapshot with this session table (blob). */
void sim_sessions_install(struct sim *s, int node, struct zk_bytes blob);
void sim_sessions_role(struct sim *s, int node, int old_role);
void sim_sessions_tick(struct sim *s, int node);
void sim_sessions_touch(struct sim *s, int node, const struct peer_touch *m);
void sim_client_ping(struct sim *s, int client);

/* sim_check.c */
void sim_check_step(struct sim *s);
void sim_check_leading(struct sim *s, int node);
/* Applies node's log up to zxid, checking invariants 2 and 3. */
void sim_apply(struct sim *s, int node, int64_t zxid);
/* The history of node's applied txns changed (snapshot, restart). */
void sim_check_applied(struct sim *s, int node);
/* Heals the network, calms its faults and starts every node. */
void sim_calm(struct sim *s);

/* sim_check_sessions.c */
/* The sessions node's applied txns imply: rebuilt from them; one more. */
void sim_implied_reset(struct sim *s, int node);
void sim_implied_apply(struct sim_sess_list *l, const struct sim_sess_op *op);
void sim_implied_free(struct sim_sess_list *l);
/* Invariants 5 and 6 after a step. */
void sim_check_sessions(struct sim *s);
/* The client just pinged. */
void sim_check_ping(struct sim *s, int client);
/* Leader node is about to expire ss (invariant 6). */
void sim_check_expiring(struct sim *s, int node, const struct session *ss);

#endif
