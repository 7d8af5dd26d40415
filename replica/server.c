/*
 * server.c - a node's life: recovery from disk, the event loop, periodic
 * work (session expiry, containers and TTL nodes, snapshots, purge), and a
 * clean stop.
 *
 * Design
 *   Start:  lock the data directory; load the newest valid snapshot (at
 *           zxid A, with the sessions as of A); open the log (which cuts a
 *           torn tail and refuses corruption in the middle); replay every
 *           record after A; start the Zab core, which elects the node and
 *           begins a new epoch, written to disk before any zxid of it is
 *           used (zab_driver.c); open the client port.
 *   Run:    the libuv loop; the log thread wakes it when records are
 *           durable (commit_durable).
 *   Stop:   SIGTERM or SIGINT: stop accepting, close connections, let the
 *           log write what it has, free everything.
 *
 *   Snapshots are taken after a random count in [snapCount/2+1, snapCount]
 *   of transactions (as ZooKeeper does, so that ensemble members do not
 *   snapshot together), on a libuv worker thread, while writes go on: the
 *   snapshot is named by A = the last applied zxid when it was queued, holds
 *   the sessions as of A, and a fuzzy tree at or after A; recovery replays
 *   from A + 1 (tree replay is idempotent).  After each snapshot, purge
 *   keeps the newest autopurge.snapRetainCount snapshots and the log
 *   segments they need.
 *
 * Invariants
 *   1. No zxid of epoch E is handed out before currentEpoch = E is durable.
 *   2. srv->last_applied <= the durable zxid <= srv->last_zxid.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server_i.h"
#include "snapshot_i.h"
#include "txnlog_i.h"
#include "zabfs/err.h"
#include "zabfs/logfmt.h"
#include "zabfs/server.h"
#include "zabfs/tree.h"
#include "zabfs/txn_codec.h"


uint64_t server_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t server_now_ms(void)
{
	return server_now_ns() / 1000000u;
}

int64_t server_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t next_snap_countdown(const struct server *srv)
{
	uint32_t n = (uint32_t)srv->cfg->snap_count;
	uint32_t half = n / 2;
	return half + 1 + (uint32_t)(rand() % (int)(n - half > 0 ? n - half : 1));
}

/* ------------------------------------------------------- snapshots, purge */

/* Work for a libuv worker thread: a snapshot (when sessions is set) and a
 * purge (when the config enables it).  Disk I/O stays off the loop. */
struct disk_job {
	uv_work_t work;
	struct server *srv;
	bool snapshot;
	struct jute_writer sessions;
	int64_t zxid;
	int rc;
};

/* Keeps the newest autopurge.snapRetainCount snapshots and the log
 * segments their recovery needs (worker thread). */
static void purge(struct server *srv)
{
	int64_t *zxids = NULL;
	size_t n = 0;
	size_t keep = (size_t)srv->cfg->snap_retain_count;
	if (snapshot_list(srv->cfg->data_dir, &zxids, &n) != 0 || n <= keep) {
		free(zxids);
		return;
	}
	for (size_t i = keep; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/snapshot.%016llx",
			 srv->cfg->data_dir, (unsigned long long)zxids[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			fprintf(stderr, "zabfs: purge: cannot remove %s: %s\n",
				path, strerror(errno));
	}
	/* Recovery from the oldest kept snapshot replays after its zxid. */
	txnlog_purge_before(srv->log, zxids[keep - 1] + 1);
	free(zxids);
}

static void disk_work(uv_work_t *w)
{
	struct disk_job *job = w->data;
	struct server *srv = job->srv;
	if (job->snapshot)
		job->rc = snapshot_write(srv->tree, srv->cfg->data_dir,
					 zk_bytes_of(job->sessions.buf,
						     job->sessions.len),
					 job->zxid);
	if (!job->rc && srv->cfg->purge_interval_h > 0)
		purge(srv);
}

static void disk_done(uv_work_t *w, int status)
{
	struct disk_job *job = w->data;
	struct server *srv = job->srv;
	srv->disk_job_running = false;
	if (job->snapshot && (status || job->rc))
		fprintf(stderr, "zabfs: snapshot at 0x%llx failed: %s\n",
			(unsigned long long)job->zxid,
			zk_strerror(job->rc ? job->rc : ZK_IO));
	jute_writer_free(&job->sessions);
	free(job);
}

/* Queues a snapshot of the state as of now (and a purge after it), or a
 * purge alone. */
static void start_disk_job(struct server *srv, bool snapshot)
{
	if (srv->disk_job_running)
		return;
	struct disk_job *job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->srv = srv;
	job->snapshot = snapshot;
	job->zxid = srv->last_applied;
	jute_writer_init(&job->sessions, 0);
	if (snapshot) {
		sessions_encode(&srv->sessions, &job->sessions);
		if (!jute_writer_ok(&job->sessions) ||
		    txnlog_roll(srv->log) != 0) {
			jute_writer_free(&job->sessions);
			free(job);
			return;
		}
	}
	job->work.data = job;
	srv->disk_job_running = true;
	if (uv_queue_work(srv->loop, &job->work, disk_work, disk_done)) {
		srv->disk_job_running = false;
		jute_writer_free(&job->sessions);
		free(job);
	}
}

void server_after_apply(struct server *srv)
{
	if (srv->snap_countdown > 0)
		srv->snap_countdown--;
	if (srv->snap_countdown == 0 && !srv->disk_job_running) {
		srv->snap_countdown = next_snap_countdown(srv);
		start_disk_job(srv, true);
	}
}

/* --------------------------------------------------------- loop callbacks */

static void on_durable(void *arg, int64_t zxid, int status)
{
	struct server *srv = arg;
	if (status)
		atomic_store(&srv->storage_failed, 1);
	else
		atomic_store(&srv->durable_zxid, zxid);
	uv_async_send(&srv->durable_wakeup);
}


static void on_durable_wakeup(uv_async_t *a)
{
	struct server *srv = a->data;
	if (srv->stopping)
		return; /* the driver is stopped or stopping */
	if (atomic_load(&srv->storage_failed)) {
		char msg[256];
		txnlog_errmsg(srv->log, msg, sizeof(msg));
		fprintf(stderr,
			"zabfs: the transaction log failed (%s); stopping so "
			"that a restart recovers from disk\n",
			msg);
		server_stop(srv, 2);
		return;
	}
	zdriver_durable(srv, atomic_load(&srv->durable_zxid));
}

static void on_check(uv_check_t *h)
{
	struct server *srv = h->data;
	if (srv->stop_soon)
		server_stop(srv, srv->stop_soon - 1);
	conn_flush_all(srv);
}

/* Closes an expired session's connection and proposes its closeSession. */
static void expire_session(void *arg, struct session *s)
{
	struct server *srv = arg;
	if (s->conn) {
		struct conn *c = s->conn;
		c->session = NULL;
		s->conn = NULL;
		conn_close(c);
	}
	prep_close_session(srv, s, NULL, NULL);
}

static void on_tick(uv_timer_t *t)
{
	struct server *srv = t->data;
	uint64_t now = server_now_ms();
	if (srv->cfg->purge_interval_h > 0 &&
	    now - srv->last_purge_ms >=
		    (uint64_t)srv->cfg->purge_interval_h * 3600000u) {
		srv->last_purge_ms = now;
		start_disk_job(srv, false);
	}
	forward_touch(srv);
	if (!srv->leading)
		return; /* sessions, containers and TTLs are the leader's */
	sessions_expired(&srv->sessions, now, expire_session, srv);
	if (now - srv->last_container_check_ms >=
	    (uint64_t)srv->cfg->container_check_ms) {
		srv->last_container_check_ms = now;
		prep_containers_and_ttl(srv, server_wall_ms());
	}
}

/* Closes every handle but arg. */
static void close_walk(uv_handle_t *h, void *arg)
{
	if (h != arg && !uv_is_closing(h))
		uv_close(h, NULL);
}

void server_stop(struct server *srv, int exit_code)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	srv->exit_code = exit_code;
	local_stop(srv);
	while (srv->conns)
		conn_close(srv->conns);
	uv_close((uv_handle_t *)&srv->listener, NULL);
	uv_timer_stop(&srv->ticker);
	uv_stop(srv->loop);
}

void server_stop_soon(struct server *srv, int exit_code)
{
	if (!srv->stop_soon)
		srv->stop_soon = exit_code + 1;
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct server *srv = s->data;
	fprintf(stderr, "zabfs: signal %d, stopping\n", signum);
	server_stop(srv, 0);
}

/* -------------------------------------------------------------- recovery */

static int lock_data_dir(struct server *srv)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/zabfs.lock", srv->cfg->data_dir);
	srv->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (srv->lock_fd < 0 || flock(srv->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr,
			"zabfs: cannot lock %s (%s): is another zabfs using "
			"dataDir %s?\n",
			path, strerror(errno), srv->cfg->data_dir);
		return ZK_IO;
	}
	return 0;
}

static int make_dirs(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return ZK_IO;
		*p = '/';
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return ZK_IO;
	return 0;
}

static int load_snapshot(struct server *srv, int64_t *from)
{
	struct snapshot_loaded snap;
	int rc = snapshot_find_latest(srv->cfg->data_dir, &snap);
	if (rc == ZK_NONODE) {
		*from = 0;
		return tree_new(&srv->tree);
	}
	if (rc) {
		fprintf(stderr, "zabfs: cannot read snapshots in %s: %s\n",
			srv->cfg->data_dir, zk_strerror(rc));
		return rc;
	}
	srv->tree = snap.tree;
	*from = snap.zxid;
	rc = snap.sessions ? sessions_decode(&srv->sessions, snap.sessions,
					     snap.sessions_len, server_now_ms())
			   : 0;
	free(snap.sessions);
	if (rc)
		fprintf(stderr, "zabfs: the sessions of snapshot 0x%llx are "
				"corrupt\n",
			(unsigned long long)snap.zxid);
	return rc;
}

static int replay_log(struct server *srv, int64_t from)
{
	struct txnlog_iter *it;
	int rc = txnlog_iter_open(srv->log, from, &it);
	if (rc)
		return rc;
	int64_t zxid;
	struct zk_bytes payload;
	uint64_t n = 0;
	struct zk_stat *stats = NULL;
	size_t n_stats = 0;
	while ((rc = txnlog_iter_next(it, &zxid, &payload)) == 0) {
		struct txn t;
		size_t need = 1;
		if (txn_decode(payload.p, (size_t)payload.len, &t) == 0 &&
		    t.hdr.type == TXN_MULTI)
			need = (size_t)t.u.multi.count;
		if (need > n_stats) {
			free(stats);
			n_stats = need > 64 ? need : 64;
			stats = calloc(n_stats, sizeof(*stats));
			if (!stats) {
				rc = ZK_NOMEM;
				break;
			}
		}
		/* An error here is one the running node met too (apply is
		 * deterministic and refused the transaction whole then as
		 * now): say so and go on, as it did. */
		int err = commit_apply_one(srv, payload.p, (size_t)payload.len,
					   true, stats, n_stats, &t);
		if (err == ZK_NOMEM) {
			rc = err;
			break;
		}
		if (err)
			fprintf(stderr, "zabfs: replaying zxid 0x%llx: %s\n",
				(unsigned long long)zxid, zk_strerror(err));
		n++;
	}
	if (rc == LOGFMT_END)
		rc = 0;
	else if (rc == ZK_NOMEM)
		fprintf(stderr, "zabfs: out of memory replaying the log\n");
	else if (rc < 0)
		fprintf(stderr, "zabfs: reading the log: %s\n",
			txnlog_iter_errmsg(it));
	free(stats);
	txnlog_iter_close(it);
	if (rc >= 0 && n)
		fprintf(stderr, "zabfs: replayed %llu transactions\n",
			(unsigned long long)n);
	return rc < 0 ? rc : 0;
}

static int recover(struct server *srv)
{
	const struct zabfs_config *cfg = srv->cfg;
	char err[512] = "";
	int64_t from = 0;
	int rc = load_snapshot(srv, &from);
	if (rc)
		return rc;
	srv->snap_zxid = from;
	struct txnlog_options opts = {
		.segment_size = (uint64_t)cfg->prealloc_bytes,
		.no_sync = !cfg->force_sync,
		.durable_cb = on_durable,
		.cb_arg = srv,
	};
	rc = txnlog_open(cfg->data_log_dir, &opts, &srv->log, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "zabfs: cannot open the transaction log in %s: %s\n",
			cfg->data_log_dir, err[0] ? err : zk_strerror(rc));
		return rc;
	}
	srv->last_applied = tree_last_zxid(srv->tree);
	if (srv->last_applied < from)
		srv->last_applied = from;
	rc = replay_log(srv, from);
	if (rc)
		return rc;
	int64_t last = txnlog_last_zxid(srv->log);
	if (last > srv->last_applied)
		srv->last_applied = last;
	atomic_store(&srv->durable_zxid, srv->last_applied);
	rc = zdriver_boot(srv);
	if (rc)
		return rc;
	uint32_t epoch = (uint32_t)ZXID_EPOCH(srv->last_zxid);
	fprintf(stderr,
		"zabfs: recovered to zxid 0x%llx (%llu znodes, %llu sessions); "
		"epoch %u\n",
		(unsigned long long)srv->last_applied,
		(unsigned long long)tree_node_count(srv->tree),
		(unsigned long long)srv->sessions.n_committed, epoch);
	return 0;
}

/* ---------------------------------------------------------------- public */

int zabfs_server_run(const struct zabfs_config *cfg,
		     const struct zabfs_frontend *frontend)
{
	struct server *srv = calloc(1, sizeof(*srv));
	int rc = ZK_NOMEM;
	if (!srv)
		return 1;
	srv->cfg = cfg;
	srv->lock_fd = -1;
	srv->start_ms = server_now_ms();
	srand((unsigned)(server_now_ns() ^ (uint64_t)getpid()));
	srv->snap_countdown = next_snap_countdown(srv);
	jute_writer_init(&srv->scratch, 4096);
	if (make_dirs(cfg->data_dir) || make_dirs(cfg->data_log_dir)) {
		fprintf(stderr, "zabfs: cannot create %s or %s: %s\n",
			cfg->data_dir, cfg->data_log_dir, strerror(errno));
		rc = ZK_IO;
		goto free_srv;
	}
	rc = lock_data_dir(srv);
	if (rc)
		goto free_srv;
	rc = sessions_init(&srv->sessions, cfg->myid, server_wall_ms());
	if (!rc)
		rc = watches_init(&srv->watches);
	if (!rc)
		rc = pending_init(&srv->pending);
	if (!rc)
		rc = prep_init(srv);
	if (rc)
		goto free_tables;
	rc = recover(srv);
	if (rc)
		goto close_log;

	srv->loop = uv_default_loop();
	uv_async_init(srv->loop, &srv->durable_wakeup, on_durable_wakeup);
	srv->durable_wakeup.data = srv;
	uv_check_init(srv->loop, &srv->flusher);
	srv->flusher.data = srv;
	uv_check_start(&srv->flusher, on_check);
	uv_timer_init(srv->loop, &srv->ticker);
	srv->ticker.data = srv;
	uint64_t tick = (uint64_t)(cfg->tick_ms / 2 > 0 ? cfg->tick_ms / 2 : 1);
	uv_timer_start(&srv->ticker, on_tick, tick, tick);
	uv_signal_init(srv->loop, &srv->sig_term);
	srv->sig_term.data = srv;
	uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
	uv_signal_init(srv->loop, &srv->sig_int);
	srv->sig_int.data = srv;
	uv_signal_start(&srv->sig_int, on_signal, SIGINT);
	uv_tcp_init(srv->loop, &srv->listener);
	srv->listener.data = srv;
	rc = local_init(srv);
	if (!rc && frontend) {
		rc = frontend->start((struct zabfs_replica *)(void *)srv,
				     &srv->frontend_state);
		if (!rc)
			srv->frontend = frontend;
	}
	if (!rc)
		rc = zdriver_arm(srv);
	if (!rc && cfg->client_port)
		rc = conn_listen(srv);
	if (rc) {
		srv->exit_code = 1;
	} else {
		if (cfg->client_port)
			fprintf(stderr, "zabfs: serving on %s:%u (myid %d)\n",
				cfg->client_addr, cfg->client_port, cfg->myid);
		uv_run(srv->loop, UV_RUN_DEFAULT);
	}
	/* Every local call is answered (ZK_STOPPED) by now: the frontend's
	 * threads can be joined.  Then close every handle. */
	server_stop(srv, srv->exit_code);
	zdriver_stop(srv);
	if (srv->frontend)
		srv->frontend->stop(srv->frontend_state);
	conn_flush_all(srv);
	/* The log thread signals durable_wakeup until txnlog_close has joined
	 * it, and a disk job still running uses the log: close the other
	 * handles (which waits for the disk job), then the log, then that
	 * handle. */
	uv_walk(srv->loop, close_walk, &srv->durable_wakeup);
	uv_unref((uv_handle_t *)&srv->durable_wakeup);
	uv_run(srv->loop, UV_RUN_DEFAULT);
	txnlog_close(srv->log);
	srv->log = NULL;
	uv_close((uv_handle_t *)&srv->durable_wakeup, NULL);
	uv_run(srv->loop, UV_RUN_DEFAULT);
	uv_loop_close(srv->loop);
	pthread_mutex_destroy(&srv->local_mu);
	rc = srv->exit_code;
close_log:
	if (srv->log)
		txnlog_close(srv->log);
	while (srv->inflight_head) {
		struct proposal *p = srv->inflight_head;
		srv->inflight_head = p->next;
		proposal_free(p);
	}
	if (srv->tree)
		tree_free(srv->tree);
	zdriver_free(srv);
free_tables:
	prep_destroy(srv);
	pending_destroy(&srv->pending);
	watches_destroy(&srv->watches);
	sessions_destroy(&srv->sessions);
free_srv:
	if (srv->lock_fd >= 0)
		close(srv->lock_fd);
	jute_writer_free(&srv->scratch);
	free(srv);
	return rc == 0 ? 0 : (rc > 0 ? rc : 1);
}
