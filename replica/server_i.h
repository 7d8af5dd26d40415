/*
 * server_i.h - the state of one zabfs node's request path, shared by the
 * replica/ files that make it up.
 *
 * Design
 *   Everything here belongs to the loop thread (libuv) unless a field says
 *   otherwise.  A client request travels:
 *
 *     conn.c      frames in, handshake, four-letter words, per-connection
 *                 reply order (struct creq queue), frames out
 *     dispatch.c  decodes a request; reads are answered from the tree at
 *                 once (reads.c), writes go to prep
 *     prep.c      validates a write against the tree plus the changes still
 *                 in flight (pending.c), builds the transaction, assigns the
 *                 zxid, hands it to the log
 *     commit.c    when the log says a zxid is durable (and, for an ensemble,
 *                 a quorum acked it) applies the transactions in zxid order,
 *                 fires watches (watch.c), answers the waiting requests
 *     session.c   sessions: creation, touch, expiry
 *
 * Invariants
 *   1. Replies leave a connection in request order: a request's reply is
 *      sent only when every earlier request of the connection was answered
 *      (creq queue).  A read never runs while an earlier request of its
 *      connection is unanswered, so a client reads its own writes.
 *   2. Transactions are applied in zxid order, each exactly once, and only
 *      after they are durable.
 *   3. prep sees the tree as it will be once every in-flight transaction is
 *      applied (tree + pending changes).
 */
#ifndef ZABFS_SERVER_I_H
#define ZABFS_SERVER_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "hmap_i.h"
#include "zabfs/config.h"
#include "zabfs/jute.h"
#include "zabfs/replica.h"
#include "zabfs/tree.h"
#include "zabfs/txn.h"
#include "zabfs/zkproto.h"
#include "auth_i.h"
#include "pending_i.h"
#include "session_i.h"
#include "watch_i.h"

struct txnlog;
struct zab;
struct peer_net;
struct held_reply;
struct prep_ctx;
struct local_op;
struct server;
struct conn;

/* A request waiting for its turn, or for its transaction, or for the
 * requests before it (invariant 1). */
enum creq_state {
	CREQ_WAITING,   /* not run yet: an earlier request is unanswered */
	CREQ_IN_FLIGHT, /* its transaction is on its way through the log */
	CREQ_DONE,      /* reply (or close) ready, waiting for its turn */
};

struct creq {
	struct creq *next;
	enum creq_state state;
	int32_t xid;
	int32_t type;
	bool close_after; /* close the connection once this reply is out */
	uint64_t start_ns;
	uint8_t *frame; /* CREQ_WAITING: a copy of the request frame */
	size_t frame_len;
	struct jute_writer reply; /* CREQ_DONE: the framed reply */
};

enum conn_state {
	CONN_HANDSHAKE,    /* waiting for the ConnectRequest (or a 4lw) */
	CONN_WAIT_SESSION, /* createSession in flight; frames are held */
	CONN_ACTIVE,
	CONN_CLOSING,
};

struct conn {
	uv_tcp_t tcp; /* first: the handle's data is the conn; unused when
		       * local */
	bool is_local;             /* a local session's conn (local.c) */
	int32_t remote_peer;       /* forward.c: on the leader, the follower
				    * this session's requests come from (is_local
				    * too); 0 otherwise */
	int64_t fwd_session;       /* forward.c: the session of the requests
				    * forwarded (kept after it closes, for the
				    * closeSession's reply) */
	bool local_closed;         /* is_local and conn_close ran */
	struct zabfs_local *local; /* its session; NULL once detached */
	struct server *srv;
	struct conn *prev, *next; /* srv->conns */
	struct conn *dirty_next;  /* srv->dirty: has output to flush */
	bool dirty;
	enum conn_state state;
	uint64_t id; /* for logs and the cons 4lw */
	char peer[64];
	char peer_ip[48];

	/* Input: bytes received and not yet consumed. */
	uint8_t *in;
	size_t in_len, in_cap;
	bool in_input;  /* handle_input is running (no re-entry) */
	bool throttled; /* reading stopped until the queue drains */

	/* Output: `out` gathers frames; `sending` is handed to uv_write. */
	struct jute_writer out, sending;
	bool write_in_flight;
	uv_write_t write_req;

	struct creq *head, *tail; /* unanswered requests, oldest first */
	size_t n_queued;

	struct session *session;
	struct auth_ids ids;
	uint64_t n_watches; /* registrations of this conn in srv->watches */
	uint64_t watch_seq; /* the last firing that notified this conn */
	bool old_client; /* ConnectRequest without the readOnly byte */
	int64_t last_zxid_sent;
	uint64_t packets_in, packets_out;
	uint64_t connected_ms;
	uint64_t last_latency_ns, min_latency_ns, max_latency_ns;
	uint64_t sum_latency_ns, n_latency;
};

/* A transaction between prep and apply. */
struct proposal {
	struct proposal *next;
	int64_t zxid;
	struct jute_writer txn; /* the encoded transaction */
	struct conn *conn;      /* who waits for the reply; NULL if nobody */
	struct creq *creq;      /* its request on conn, or NULL */
	int32_t req_type;       /* the request's opcode (create vs create2) */
	int8_t *op_types;       /* multi: each op's request opcode */
	int32_t n_ops;
};

struct server_stats {
	uint64_t packets_received, packets_sent;
	uint64_t min_latency_ns, max_latency_ns, sum_latency_ns, n_latency;
	uint64_t outstanding;
};

struct server {
	uv_loop_t *loop;
	const struct zabfs_config *cfg;
	struct tree *tree;
	struct txnlog *log;
	uint64_t start_ms;

	uv_tcp_t listener;
	uv_check_t flusher; /* flushes dirty connections once per iteration */
	uv_timer_t ticker;  /* session expiry, containers, TTL */
	uv_async_t durable_wakeup; /* the log thread says "durable" */
	uv_signal_t sig_term, sig_int;

	struct conn *conns; /* every open connection */
	struct conn *graveyard; /* closed local conns, freed after flushing */
	struct conn *dirty; /* connections with output to flush */
	size_t n_conns;
	uint64_t next_conn_id;

	struct sessions sessions;
	struct watches watches;
	struct pending pending;
	struct prep_ctx *prep;

	/* The Zab core (zab_driver.c): it leads, so proposals go through. */
	struct zab *zab;
	uv_timer_t zab_timer;
	bool zab_timer_on;
	bool leading;
	bool serving;  /* leading, or following a leader: clients served */
	bool ensemble; /* more voters than this node */
	bool zab_failed; /* an epoch write or append failed: stopping */
	struct peer_net *peers;
	struct held_reply *held_head, *held_tail; /* forward.c */

	int64_t snap_zxid; /* the snapshot recovery started from */

	/* zxids: the epoch of this term and the last zxid handed out. */
	int64_t last_zxid;
	int64_t last_applied;
	/* Written by the log thread, read by the loop. */
	_Atomic int64_t durable_zxid;
	_Atomic int storage_failed;
	struct proposal *inflight_head, *inflight_tail;
	uint32_t snap_countdown; /* transactions until the next snapshot */
	bool disk_job_running; /* a snapshot or purge on a worker thread */
	bool stopping;
	int exit_code;
	int stop_soon; /* an exit code + 1 for server_stop_soon, or 0 */
	int lock_fd; /* flock on dataDir/zabfs.lock while running */
	uint64_t last_container_check_ms, last_purge_ms;

	struct server_stats stats;
	struct jute_writer scratch; /* one reply being built (loop only) */

	/* local.c: calls from frontend threads (mutex-protected inbox). */
	uv_async_t local_wakeup;
	pthread_mutex_t local_mu;
	struct local_op *local_inbox, *local_inbox_tail;
	bool local_stopped; /* under local_mu */
	struct tree_listener feed; /* the frontend's change feed */
	const struct zabfs_frontend *frontend;
	void *frontend_state;
};

/* conn.c.  conn_listen binds srv->listener (initialised by the caller). */
int conn_listen(struct server *srv);
void conn_send_frame(struct conn *c, const struct jute_writer *frame);
/* A reply was appended to c->out directly; close once it is written if
 * close_after. */
void conn_output_added(struct conn *c, bool close_after);
void conn_close(struct conn *c);
void conn_reply_done(struct conn *c, struct creq *q);
void conn_pump(struct conn *c);
void conn_flush_all(struct server *srv);
struct creq *conn_creq_new(struct conn *c, int32_t xid, int32_t type);
void conn_session_ready(struct conn *c, int err);

/* A new conn (CONN_HANDSHAKE, no socket yet), and its entry in
 * srv->conns; a requested session timeout clamped to the config's range. */
struct conn *conn_new(struct server *srv);
void conn_link(struct conn *c);
int32_t conn_session_timeout(const struct zabfs_config *cfg, int32_t asked);

/* Requests that change state (and sync, and reconfig): they always get a
 * queue entry, and a follower sends them to its leader. */
bool conn_is_write_op(int32_t type);
/* One request frame (RequestHeader + record) of an established conn. */
void conn_handle_frame(struct conn *c, const uint8_t *frame, size_t len);
void conn_free(struct conn *c);

/* local.c: the in-process door of replica.h. */
int local_init(struct server *srv);
/* The replies gathered in a local conn's output go to their callers. */
void local_deliver(struct conn *c);
void local_conn_closed(struct conn *c);
/* Fails every waiting local call with ZK_STOPPED (server stopping). */
void local_stop(struct server *srv);

/* dispatch.c: one decoded request of an established connection. */
void dispatch_request(struct conn *c, const uint8_t *frame, size_t len,
		      struct creq *q);

/* reads.c */
void reads_run(struct conn *c, const struct zk_request *req,
	       struct jute_writer *reply);

/* prep.c.  prep_write: true when a proposal is in flight (the reply comes
 * at commit), else the whole reply frame was appended to reply. */
int prep_init(struct server *srv);
void prep_destroy(struct server *srv);
bool prep_write(struct conn *c, const struct zk_request *req, struct creq *q,
		struct jute_writer *reply);
int prep_create_session(struct server *srv, struct conn *c,
			struct session *s);
int prep_close_session(struct server *srv, struct session *s,
		       struct conn *c, struct creq *q);
void prep_containers_and_ttl(struct server *srv, int64_t now_ms);

/* commit.c.  commit_through applies the proposals up to zxid (the core
 * said they are committed). */
int commit_propose(struct server *srv, struct proposal *p);
void commit_through(struct server *srv, int64_t zxid);
/* Decodes and applies one transaction (also used by recovery, with
 * replay); stats receives the per-op stats (n_stats of room). */
int commit_apply_one(struct server *srv, const uint8_t *buf, size_t len,
		     bool replay, struct zk_stat *stats, size_t n_stats,
		     struct txn *t);

/* zab_driver.c: the Zab core.  zdriver_boot after recovery, before the
 * loop runs (returns once the node leads); zdriver_arm once the loop
 * exists; zdriver_propose appends p through the core (ZK_CONNECTIONLOSS
 * when it does not lead); zdriver_durable when the log reports zxid. */
int zdriver_boot(struct server *srv);
int zdriver_arm(struct server *srv);
void zdriver_stop(struct server *srv);
int zdriver_propose(struct server *srv, const struct proposal *p);
void zdriver_durable(struct server *srv, int64_t zxid);
void zdriver_free(struct server *srv);

/* forward.c: the request path across the ensemble. */
struct peer_msg;
struct peer_request;
struct peer_session;
struct peer_reply;
struct peer_touch;
int forward_send(struct server *srv, int32_t to, const struct peer_msg *m);
/* true when the request went to the leader (or was refused): a follower's
 * write, closeSession or sync with a queue entry. */
bool forward_request(struct conn *c, const uint8_t *frame, size_t len,
		     struct creq *q);
int forward_session(struct server *srv, struct session *s);
void forward_on_reply(struct server *srv, const struct peer_reply *m);
void forward_release(struct server *srv);
void forward_touch(struct server *srv);
void forward_leader_lost(struct server *srv);
void forward_on_request(struct server *srv, int32_t from,
			const struct peer_request *m);
void forward_on_session(struct server *srv, int32_t from,
			const struct peer_session *m);
void forward_on_touch(struct server *srv, const struct peer_touch *m);
void forward_deliver(struct conn *c);
void forward_peer_down(struct server *srv, int32_t id);

/* server.c: after every applied transaction (snapshots, purge); a stop
 * with an exit code (the loop ends): server_stop closes every connection
 * at once, so it is only for callers that hold none (a signal, a timer,
 * the log's wakeup, a peer's TRUNC or SNAP); server_stop_soon stops at the end of this loop
 * iteration, for callers deep in a request (the Zab driver's fatal: a
 * failed append under a propose must not free the request it came from). */
void server_after_apply(struct server *srv);
void server_stop(struct server *srv, int exit_code);
void server_stop_soon(struct server *srv, int exit_code);
struct proposal *proposal_new(void);
void proposal_free(struct proposal *p);

/* Framing helpers shared by reads, prep and commit. */
void reply_begin(struct jute_writer *w, int32_t xid, int64_t zxid, int err);
void reply_end(struct jute_writer *w);

uint64_t server_now_ms(void);
uint64_t server_now_ns(void);
int64_t server_wall_ms(void);

#endif
