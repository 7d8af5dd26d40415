/*
 * zab_driver.c - the Zab core (zab_i.h) driven by the node: events from
 * the loop go in, the core's actions are carried out on the disk and in
 * the request path.
 *
 * Design
 *   A node is an ensemble of its voters (the server.N lines; none: the
 *   node alone, a quorum of one).  The same path serves both:
 *
 *     prep -> commit_propose -> zab_propose --APPEND--> txnlog_append
 *     log thread durable -> zab_log_durable --COMMIT(z)--> commit_through
 *     WRITE_EPOCH -> epoch_write (synchronously) -> zab_epoch_written
 *     peer frame -> zab_receive --SEND--> peer_net_send (peer_net_i.h)
 *
 *   On a learner, APPEND carries the leader's transactions: they are
 *   logged and queued as proposals nobody here waits for, and applied at
 *   COMMIT like the leader's.  Frames of the request path between nodes
 *   (REQUEST, SESSION, REPLY, TOUCH) go to forward.c.
 *
 *   Boot (zdriver_boot, before the loop runs): the core starts from the
 *   epoch files and the recovered state.  Alone, everything in the log
 *   was durable on the only voter, so it is committed, and the boot runs
 *   the core with a real clock until it leads, before any client is
 *   served.  In an ensemble the log after the snapshot may hold
 *   proposals the ensemble never committed: the core gets them as its
 *   recent history with the snapshot as the commit point, and the node
 *   serves once it follows or leads.  If the leader then truncates below
 *   what recovery applied, the node truncates its log and exits with
 *   code 3 so that a restart (main.c) rebuilds the tree from disk.  A
 *   learner too far behind for DIFF gets SNAP: the leader writes a
 *   snapshot of what it applied (on the loop) and sends the file; the
 *   learner stores it as its newest snapshot, drops the log after it and
 *   restarts the same way, then syncs by DIFF.
 *
 *   Draining: the views in an action stay valid only until the next
 *   event call, so events that actions cause (an epoch written) are
 *   collected while the queue drains and delivered after it is empty.
 *
 * Invariants
 *   1. Nothing is proposed unless the core leads (srv->leading); the zxid
 *      prep assigned is the one the core gives (else the node stops).
 *   2. A failed epoch write or log append stops the node (exit 2), as a
 *      failed fsync does: it recovers from disk when restarted.
 *   3. srv->serving is true exactly while the core leads or follows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server_i.h"
#include "epoch_i.h"
#include "snapshot_i.h"
#include "peer_net_i.h"
#include "txnlog_i.h"
#include "zab_i.h"
#include "zabfs/err.h"
#include "zabfs/logfmt.h"
#include "zabfs/peer.h"
#include "zabfs/snapfmt.h"

#define BOOT_TIMEOUT_MS 10000

/* Events caused by actions, delivered once the queue is empty. */
struct deferred {
	int n;
	enum zab_epoch_file file[4];
	uint32_t epoch[4];
};

/* A failed append or epoch write: the node stops at the end of this loop
 * iteration (it may be deep in the request that proposed; nothing more is
 * carried out meanwhile: zab_failed stops drain). */
static void fatal(struct server *srv, const char *what, int err)
{
	fprintf(stderr, "zabfs: %s failed (%s); stopping so that a restart "
			"recovers from disk\n",
		what, zk_strerror(err));
	srv->zab_failed = true;
	if (srv->loop)
		server_stop_soon(srv, 2);
}

static void send_msg(struct server *srv, int32_t to, const struct peer_msg *m)
{
	forward_send(srv, to, m); /* a lost frame: the core resends */
}

/* A transaction the leader sent this learner: it waits, with nobody to
 * answer, to be applied at COMMIT (the leader's own are queued by
 * commit_propose before they are appended). */
static void learned(struct server *srv, const struct zab_txn *t)
{
	if (srv->leading || t->zxid <= srv->last_applied ||
	    (srv->inflight_tail && srv->inflight_tail->zxid >= t->zxid))
		return;
	struct proposal *p = proposal_new();
	if (!p) {
		fatal(srv, "queueing a transaction", ZK_NOMEM);
		return;
	}
	p->zxid = t->zxid;
	jute_put_raw(&p->txn, t->data.p, (size_t)t->data.len);
	if (srv->inflight_tail)
		srv->inflight_tail->next = p;
	else
		srv->inflight_head = p;
	srv->inflight_tail = p;
	srv->last_zxid = t->zxid;
}

static void role(struct server *srv, const struct zab_action *a)
{
	bool was_serving = srv->serving;
	srv->leading = a->role == ZAB_LEADING;
	/* a close prepped in the last epoch commits in the sync or never: a
	 * leader paused past its sessions' timeouts that prepped closes for
	 * all of them must not keep them closing, unexpirable, forever */
	sessions_cancel_closes(&srv->sessions);
	__atomic_store_n(&srv->serving, a->role != ZAB_LOOKING,
			 __ATOMIC_RELEASE);
	if (srv->leading) {
		srv->last_zxid = ZXID_MAKE(a->epoch, 0);
		/* every session gets a full timeout from its new leader */
		sessions_touch_all(&srv->sessions, server_now_ms());
	}
	if (srv->ensemble)
		fprintf(stderr, "zabfs: %s (epoch %u, leader %llu)\n",
			a->role == ZAB_LEADING	   ? "leading"
			: a->role == ZAB_FOLLOWING ? "following"
			: a->role == ZAB_OBSERVING ? "observing"
						   : "looking",
			a->epoch, (unsigned long long)a->leader);
	if (was_serving && !srv->serving)
		forward_leader_lost(srv);
}

/* Drops every logged transaction after zxid.  Below what recovery
 * applied, the tree must be rebuilt: exit 3 (restart). */
static void truncate_after(struct server *srv, int64_t zxid)
{
	while (srv->inflight_tail && srv->inflight_tail->zxid > zxid) {
		struct proposal *p = srv->inflight_head, *prev = NULL;
		while (p->next) {
			prev = p;
			p = p->next;
		}
		if (prev)
			prev->next = NULL;
		else
			srv->inflight_head = NULL;
		srv->inflight_tail = prev;
		proposal_free(p);
	}
	int err = txnlog_truncate_after(srv->log, zxid);
	if (err) {
		fatal(srv, "truncating the log", err);
		return;
	}
	srv->last_zxid = zxid;
	if (zxid < srv->last_applied) {
		fprintf(stderr, "zabfs: the leader truncated the log to 0x%llx, "
				"below what this node applied (0x%llx): "
				"restarting to rebuild the tree from disk\n",
			(unsigned long long)zxid,
			(unsigned long long)srv->last_applied);
		srv->zab_failed = true;
		if (srv->loop)
			server_stop(srv, 3);
	}
}

/* The file of snapshot.<zxid> in dataDir, read whole (malloc'd). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return ZK_IO;
	int rc = ZK_IO;
	*out = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n > 0 && (uint64_t)n <= PEER_MAX_DATA &&
		    fseek(f, 0, SEEK_SET) == 0 && (*out = malloc((size_t)n)) &&
		    fread(*out, 1, (size_t)n, f) == (size_t)n) {
			*len = (size_t)n;
			rc = 0;
		}
	}
	fclose(f);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* SNAP to a learner too far behind for DIFF: a snapshot of the tree as
 * applied now (the commit point; written on the loop, so not fuzzy),
 * which is also kept as this node's own. */
static void send_snapshot(struct server *srv, int32_t peer, uint32_t epoch,
			  int64_t zxid)
{
	if (zxid != srv->last_applied) {
		fprintf(stderr, "zabfs: no snapshot for peer %d: 0x%llx is not "
				"what this node applied\n",
			(int)peer, (unsigned long long)zxid);
		return;
	}
	struct jute_writer blob;
	jute_writer_init(&blob, 256);
	sessions_encode(&srv->sessions, &blob);
	char name[64], path[4200];
	int rc = jute_writer_ok(&blob)
			 ? snapshot_write(srv->tree, srv->cfg->data_dir,
					  zk_bytes_of(blob.buf, blob.len), zxid)
			 : ZK_NOMEM;
	jute_writer_free(&blob);
	uint8_t *data = NULL;
	size_t len = 0;
	if (!rc && !(rc = snapfmt_name(name, sizeof(name), zxid))) {
		snprintf(path, sizeof(path), "%s/%s", srv->cfg->data_dir, name);
		rc = read_file(path, &data, &len);
	}
	if (rc) {
		fprintf(stderr, "zabfs: no snapshot for peer %d: %s\n",
			(int)peer, zk_strerror(rc));
		return;
	}
	struct peer_msg m = {.type = PEER_SNAP};
	m.u.snap = (struct peer_snap){epoch, zxid, zk_bytes_of(data, len)};
	send_msg(srv, peer, &m);
	free(data);
	fprintf(stderr, "zabfs: sent peer %d a snapshot at 0x%llx (%zu bytes)\n",
		(int)peer, (unsigned long long)zxid, len);
}

/* The leader's snapshot replaces this node's state: it is stored as the
 * newest snapshot (newer ones, of a history the ensemble dropped, go),
 * the log after it goes, and the node restarts to load it (exit 3); it
 * then syncs by DIFF. */
static void install_snapshot(struct server *srv, int64_t zxid,
			     struct zk_bytes data)
{
	const char *dir = srv->cfg->data_dir;
	char name[64], path[4200], tmp[4210];
	int64_t *zxids = NULL;
	size_t n = 0;
	int rc = snapfmt_name(name, sizeof(name), zxid);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		rc = file_write_atomic(dir, tmp, path, data.p,
				       data.len > 0 ? (size_t)data.len : 0);
	}
	if (!rc)
		rc = snapshot_list(dir, &zxids, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		if (zxids[i] <= zxid || snapfmt_name(name, sizeof(name),
						     zxids[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		unlink(path);
	}
	free(zxids);
	if (!rc && txnlog_last_zxid(srv->log) > zxid)
		rc = txnlog_truncate_after(srv->log, zxid);
	if (rc) {
		fatal(srv, "installing the leader's snapshot", rc);
		return;
	}
	fprintf(stderr, "zabfs: installed the leader's snapshot at 0x%llx: "
			"restarting to load it\n",
		(unsigned long long)zxid);
	srv->zab_failed = true;
	if (srv->loop)
		server_stop(srv, 3);
}

static void act(struct server *srv, const struct zab_action *a,
		struct deferred *d)
{
	const char *dir = srv->cfg->data_dir;
	int err;
	switch (a->type) {
	case ZAB_WRITE_EPOCH:
		err = epoch_write(dir,
				  a->file == ZAB_ACCEPTED_EPOCH ? "acceptedEpoch"
								: "currentEpoch",
				  a->epoch, a->leader);
		if (err) {
			fatal(srv, "writing an epoch file", err);
		} else if (d->n < 4) {
			d->file[d->n] = a->file;
			d->epoch[d->n++] = a->epoch;
		}
		break;
	case ZAB_APPEND:
		err = txnlog_append(srv->log, a->txn.zxid, a->txn.data.p,
				    (size_t)a->txn.data.len);
		if (err)
			fatal(srv, "appending to the log", err);
		else
			learned(srv, &a->txn);
		break;
	case ZAB_COMMIT:
		commit_through(srv, a->zxid);
		break;
	case ZAB_ROLE:
		role(srv, a);
		break;
	case ZAB_SEND:
		send_msg(srv, (int32_t)a->peer, &a->msg);
		break;
	case ZAB_TRUNCATE:
		truncate_after(srv, a->zxid);
		break;
	case ZAB_SEND_SNAP:
		send_snapshot(srv, (int32_t)a->peer, a->epoch, a->zxid);
		break;
	case ZAB_INSTALL_SNAP:
		install_snapshot(srv, a->txn.zxid, a->txn.data);
		break;
	}
}

/* Carries out every queued action, then the events they caused. */
static void drain(struct server *srv)
{
	struct zab_action a;
	for (;;) {
		struct deferred d = {0};
		while (!srv->zab_failed && zab_next_action(srv->zab, &a))
			act(srv, &a, &d);
		if (d.n == 0 || srv->zab_failed)
			return;
		for (int i = 0; i < d.n; i++)
			zab_epoch_written(srv->zab, d.file[i], d.epoch[i]);
	}
}

/* The log after the snapshot, as the core's recent history (copies the
 * caller frees with free_recent). */
static int read_recent(struct server *srv, struct zab_txn **out, size_t *n)
{
	struct txnlog_iter *it;
	*out = NULL;
	*n = 0;
	int rc = txnlog_iter_open(srv->log, srv->snap_zxid, &it);
	if (rc)
		return rc;
	size_t cap = 0;
	int64_t zxid;
	struct zk_bytes payload;
	while ((rc = txnlog_iter_next(it, &zxid, &payload)) == 0) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			struct zab_txn *v = realloc(*out, cap * sizeof(**out));
			if (!v) {
				rc = ZK_NOMEM;
				break;
			}
			*out = v;
		}
		uint8_t *copy = malloc(payload.len > 0 ? (size_t)payload.len : 1);
		if (!copy) {
			rc = ZK_NOMEM;
			break;
		}
		memcpy(copy, payload.p, (size_t)payload.len);
		(*out)[(*n)++] = (struct zab_txn){
			zxid, zk_bytes_of(copy, (size_t)payload.len)};
	}
	txnlog_iter_close(it);
	return rc == LOGFMT_END ? 0 : rc;
}

static void free_recent(struct zab_txn *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((void *)v[i].data.p);
	free(v);
}

int zdriver_boot(struct server *srv)
{
	const struct zabfs_config *cfg = srv->cfg;
	struct epochs e;
	int rc = epoch_read(cfg->data_dir, &e);
	if (rc)
		return rc;
	/* A log from a later epoch than the files say (files lost): never
	 * hand out its zxids again. */
	uint32_t logged = ZXID_EPOCH(srv->last_applied);
	if (e.current < logged)
		e.current = logged;
	if (e.accepted < e.current)
		e.accepted = e.current;
	uint64_t me = (uint64_t)cfg->myid;
	uint64_t voters[ZAB_MAX_SERVERS], observers[ZAB_MAX_SERVERS];
	size_t nv = 0, no = 0;
	for (size_t i = 0; i < cfg->n_servers && i < ZAB_MAX_SERVERS; i++) {
		if (cfg->servers[i].observer)
			observers[no++] = (uint64_t)cfg->servers[i].id;
		else
			voters[nv++] = (uint64_t)cfg->servers[i].id;
	}
	srv->ensemble = nv + no > 1;
	if (!srv->ensemble) {
		voters[0] = me;
		nv = 1;
		no = 0;
	}
	struct zab_config zc = {
		.id = me,
		.voters = voters,
		.n_voters = nv,
		.observers = observers,
		.n_observers = no,
		.tick_ms = (uint32_t)cfg->tick_ms,
		.init_limit = (uint32_t)cfg->init_limit,
		.sync_limit = (uint32_t)cfg->sync_limit,
		/* alone, no better vote can come */
		.finalize_wait_ms = srv->ensemble ? 200 : 0,
		.notify_max_ms = 2000,
		.diff_window = srv->ensemble ? (size_t)cfg->commit_log_count : 0,
	};
	struct zab_boot boot = {
		.accepted_epoch = e.accepted,
		.accepted_from = e.accepted_from,
		.current_epoch = e.current,
		.base_zxid = srv->last_applied,
		.committed = srv->last_applied,
	};
	struct zab_txn *recent = NULL;
	size_t n_recent = 0;
	if (srv->ensemble) {
		rc = read_recent(srv, &recent, &n_recent);
		if (rc) {
			free_recent(recent, n_recent);
			return rc;
		}
		boot.base_zxid = boot.committed = srv->snap_zxid;
		boot.recent = recent;
		boot.n_recent = n_recent;
		srv->last_zxid = srv->last_applied;
	}
	uint64_t start = server_now_ms();
	rc = zab_new(&zc, &boot, start, &srv->zab);
	free_recent(recent, n_recent);
	if (rc || srv->ensemble)
		return rc; /* an ensemble elects once the peers are up */
	while (!srv->leading && !srv->zab_failed) {
		uint64_t now = server_now_ms();
		if (now - start > BOOT_TIMEOUT_MS) {
			fprintf(stderr, "zabfs: no leadership after %d ms\n",
				BOOT_TIMEOUT_MS);
			return ZK_OPERATIONTIMEOUT;
		}
		zab_tick(srv->zab, now);
		drain(srv);
		uint64_t wake = zab_wakeup_ms(srv->zab);
		if (!srv->leading && wake > now) {
			uint64_t ms = wake - now < 10 ? wake - now : 10;
			struct timespec ts = {0, (long)ms * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	return srv->zab_failed ? ZK_IO : 0;
}

/* -- the peers -- */

static void on_peer_up(void *ctx, int32_t id)
{
	(void)ctx;
	(void)id;
}

static void on_peer_down(void *ctx, int32_t id)
{
	struct server *srv = ctx;
	forward_peer_down(srv, id);
	zab_peer_down(srv->zab, (uint64_t)id);
	drain(srv);
	zdriver_arm(srv);
}

static void on_peer_frame(void *ctx, int32_t id, const uint8_t *p,
			  size_t len)
{
	struct server *srv = ctx;
	struct peer_msg m;
	if (peer_msg_decode(p, len, &m) != 0) {
		fprintf(stderr, "zabfs: peer %d sent a malformed message\n",
			(int)id);
		return;
	}
	switch (m.type) {
	case PEER_REQUEST:
		forward_on_request(srv, id, &m.u.request);
		return;
	case PEER_SESSION:
		forward_on_session(srv, id, &m.u.session);
		return;
	case PEER_REPLY:
		forward_on_reply(srv, &m.u.reply);
		return;
	case PEER_TOUCH:
		forward_on_touch(srv, &m.u.touch);
		return;
	default:
		zab_tick(srv->zab, server_now_ms());
		zab_receive(srv->zab, (uint64_t)id, &m);
		drain(srv);
		zdriver_arm(srv);
	}
}

static int start_peers(struct server *srv)
{
	const struct zabfs_config *cfg = srv->cfg;
	struct peer_net_opts o = {cfg->myid, cfg->servers, cfg->n_servers,
				  cfg->peer_secret};
	struct peer_net_events ev = {on_peer_up, on_peer_down, on_peer_frame,
				     srv};
	return peer_net_start(srv->loop, &o, &ev, &srv->peers);
}

static void on_zab_timer(uv_timer_t *t)
{
	struct server *srv = t->data;
	zab_tick(srv->zab, server_now_ms());
	drain(srv);
	zdriver_arm(srv);
}

int zdriver_arm(struct server *srv)
{
	if (!srv->zab_timer_on) {
		uv_timer_init(srv->loop, &srv->zab_timer);
		srv->zab_timer.data = srv;
		srv->zab_timer_on = true;
		int rc = srv->ensemble ? start_peers(srv) : 0;
		if (rc)
			return rc;
	}
	uint64_t now = server_now_ms(), wake = zab_wakeup_ms(srv->zab);
	uv_timer_start(&srv->zab_timer, on_zab_timer,
		       wake > now ? wake - now : 0, 0);
	return 0;
}

int zdriver_propose(struct server *srv, const struct proposal *p)
{
	if (!srv->leading)
		return ZK_CONNECTIONLOSS;
	int64_t zxid;
	int err = zab_propose(srv->zab, p->txn.buf, p->txn.len, &zxid);
	if (err)
		return err;
	if (zxid != p->zxid) {
		fatal(srv, "numbering a proposal", ZK_RUNTIMEINCONSISTENCY);
		return ZK_RUNTIMEINCONSISTENCY;
	}
	drain(srv);
	return srv->zab_failed ? ZK_IO : 0;
}

void zdriver_durable(struct server *srv, int64_t zxid)
{
	zab_log_durable(srv->zab, zxid);
	drain(srv);
	if (srv->ensemble)
		zdriver_arm(srv);
}

void zdriver_stop(struct server *srv)
{
	if (srv->peers)
		peer_net_stop(srv->peers);
	srv->peers = NULL;
}

void zdriver_free(struct server *srv)
{
	if (srv->zab)
		zab_free(srv->zab);
	srv->zab = NULL;
}
