/*
 * zab_driver.c - the Zab core (zab_i.h) driven by the node: events from
 * the loop go in, the core's actions are carried out on the disk and in
 * the request path.
 *
 * Design
 *   A node is an ensemble of its voters; today that is the node alone
 *   (the peer streams, peer_net_i.h, are not wired in yet), so the core
 *   elects it, runs discovery and synchronisation with a quorum of one,
 *   and then commits each proposal once the log says it is durable.  The
 *   same path will carry an ensemble: only the member list and the
 *   actions that need peers change.
 *
 *     prep -> commit_propose -> zab_propose --APPEND--> txnlog_append
 *     log thread durable -> zab_log_durable --COMMIT(z)--> commit_through
 *     WRITE_EPOCH -> epoch_write (synchronously) -> zab_epoch_written
 *
 *   Boot (zdriver_boot, before the loop runs): the core starts from the
 *   epoch files and the recovered state; everything in the log was
 *   durable on the only voter, so it is committed.  The boot runs the
 *   core with a real clock until it leads, before any client is served.
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
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server_i.h"
#include "epoch_i.h"
#include "txnlog_i.h"
#include "zab_i.h"
#include "zabfs/err.h"

#define BOOT_TIMEOUT_MS 10000

/* Events caused by actions, delivered once the queue is empty. */
struct deferred {
	int n;
	enum zab_epoch_file file[4];
	uint32_t epoch[4];
};

static void fatal(struct server *srv, const char *what, int err)
{
	fprintf(stderr, "zabfs: %s failed (%s); stopping so that a restart "
			"recovers from disk\n",
		what, zk_strerror(err));
	srv->zab_failed = true;
	if (srv->loop)
		server_stop(srv, 2);
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
		break;
	case ZAB_COMMIT:
		commit_through(srv, a->zxid);
		break;
	case ZAB_ROLE:
		srv->leading = a->role == ZAB_LEADING;
		if (srv->leading)
			srv->last_zxid = ZXID_MAKE(a->epoch, 0);
		break;
	case ZAB_SEND:
	case ZAB_SEND_SNAP:
	case ZAB_TRUNCATE:
	case ZAB_INSTALL_SNAP:
		/* Only an ensemble with peers asks for these. */
		fatal(srv, "a peer action without peers", ZK_RUNTIMEINCONSISTENCY);
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
	struct zab_config zc = {
		.id = me,
		.voters = &me,
		.n_voters = 1,
		.tick_ms = (uint32_t)cfg->tick_ms,
		.init_limit = (uint32_t)cfg->init_limit,
		.sync_limit = (uint32_t)cfg->sync_limit,
		.finalize_wait_ms = 0, /* no better vote can come */
		.notify_max_ms = 60000,
		.diff_window = 0,
	};
	struct zab_boot boot = {
		.accepted_epoch = e.accepted,
		.accepted_from = e.accepted_from,
		.current_epoch = e.current,
		.base_zxid = srv->last_applied,
		.committed = srv->last_applied,
	};
	uint64_t start = server_now_ms();
	rc = zab_new(&zc, &boot, start, &srv->zab);
	if (rc)
		return rc;
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

static void on_zab_timer(uv_timer_t *t)
{
	struct server *srv = t->data;
	zab_tick(srv->zab, server_now_ms());
	drain(srv);
	zdriver_arm(srv);
}

void zdriver_arm(struct server *srv)
{
	if (!srv->zab_timer_on) {
		uv_timer_init(srv->loop, &srv->zab_timer);
		srv->zab_timer.data = srv;
		srv->zab_timer_on = true;
	}
	uint64_t now = server_now_ms(), wake = zab_wakeup_ms(srv->zab);
	uv_timer_start(&srv->zab_timer, on_zab_timer,
		       wake > now ? wake - now : 0, 0);
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
}

void zdriver_free(struct server *srv)
{
	if (srv->zab)
		zab_free(srv->zab);
	srv->zab = NULL;
}
