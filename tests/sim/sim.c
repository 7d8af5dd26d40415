/*
 * sim.c - the simulator's event loop, clock and nodes (sim.h): boots,
 * crashes, ticks each core when it asks, and executes the actions a core
 * queues against the simulated disk and network.
 *
 * Design
 *   Events sit in a binary heap ordered by (time, seq); seq makes equal
 *   times pop in the order they were pushed, so a run is a pure function
 *   of the seed and the script.  An event for a node carries the node's
 *   incarnation; one from before a crash or a restart is dropped (a
 *   client's ping is no node's).  After every event the invariants are
 *   checked (sim_check.c, sim_check_sessions.c); a session ticker's only
 *   checked changes come with the closeSession it proposes, checked
 *   there.
 *
 *   The core's contract is kept exactly: every queued action is executed
 *   (in order) before the next event reaches that core; durability events
 *   come from the disk model, never ahead of the data.
 *
 * Invariants
 *   1. A node is up iff it has a core.
 *   2. Each up node has a tick scheduled no later than zab_wakeup_ms().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_i.h"
#include "zabfs/err.h"

void sim_trace(struct sim *s, const char *fmt, ...)
{
	if (!s->cfg.trace)
		return;
	printf("%8llu ", (unsigned long long)s->now);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
	if (s->failed)
		return;
	s->failed = true;
	int n = snprintf(s->violation, sizeof(s->violation), "t=%llu ms: ",
			 (unsigned long long)s->now);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->violation + n, sizeof(s->violation) - (size_t)n, fmt,
		  ap);
	va_end(ap);
}

uint64_t sim_random(struct sim *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

uint64_t sim_between(struct sim *s, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + sim_random(s) % (hi - lo + 1);
}

/* --- the event heap --- */

static bool earlier(const struct sim_event *a, const struct sim_event *b)
{
	return a->time != b->time ? a->time < b->time : a->seq < b->seq;
}

void sim_push(struct sim *s, const struct sim_event *ev)
{
	if (s->n_ev == s->cap_ev) {
		s->cap_ev = s->cap_ev ? 2 * s->cap_ev : 256;
		s->heap = realloc(s->heap, s->cap_ev * sizeof(*s->heap));
		if (!s->heap)
			abort();
	}
	size_t i = s->n_ev++;
	s->heap[i] = *ev;
	s->heap[i].seq = s->seq++;
	while (i > 0 && earlier(&s->heap[i], &s->heap[(i - 1) / 2])) {
		struct sim_event t = s->heap[i];
		s->heap[i] = s->heap[(i - 1) / 2];
		s->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct sim_event pop(struct sim *s)
{
	struct sim_event top = s->heap[0];
	s->heap[0] = s->heap[--s->n_ev];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->n_ev && earlier(&s->heap[l], &s->heap[m]))
			m = l;
		if (r < s->n_ev && earlier(&s->heap[r], &s->heap[m]))
			m = r;
		if (m == i)
			break;
		struct sim_event t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
	return top;
}

/* --- construction --- */

struct sim_config sim_config_default(size_t voters, size_t observers,
				     uint64_t seed)
{
	struct sim_config c = {
		.n_voters = voters, .n_observers = observers, .seed = seed,
		.tick_ms = 100, .init_limit = 10, .sync_limit = 5,
		.diff_window = 32,
		.net = {.delay_min_ms = 1, .delay_max_ms = 10},
		.disk_min_ms = 1, .disk_max_ms = 8,
		.epoch_min_ms = 1, .epoch_max_ms = 8,
		.trace = getenv("ZABFS_SIM_TRACE") != NULL};
	return c;
}

struct sim *sim_new(const struct sim_config *cfg)
{
	if (cfg->n_voters + cfg->n_observers > SIM_MAX_NODES)
		abort();
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->cfg = *cfg;
	s->rng = cfg->seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
	if (!s->rng)
		s->rng = 1;
	s->n = cfg->n_voters + cfg->n_observers;
	for (size_t i = 0; i < s->n; i++) {
		struct sim_node *nd = &s->nodes[i];
		nd->id = i + 1;
		nd->voter = i < cfg->n_voters;
		nd->drop_type = nd->crash_on_send = -1;
		if (nd->voter)
			s->voter_ids[i] = nd->id;
		else
			s->observer_ids[i - cfg->n_voters] = nd->id;
	}
	return s;
}

void sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->nodes[i].up)
			sessions_destroy(&s->nodes[i].sessions);
		sim_implied_free(&s->nodes[i].implied);
		zab_free(s->nodes[i].core);
		sim_disk_free(&s->nodes[i]);
	}
	for (size_t i = 0; i < s->n_ev; i++)
		free(s->heap[i].bytes);
	free(s->heap);
	sim_txns_clear(&s->hist);
	free(s->hist.v);
	free(s->leaders);
	free(s);
}

const char *sim_violation(const struct sim *s)
{
	return s->failed ? s->violation : NULL;
}

uint64_t sim_now(const struct sim *s)
{
	return s->now;
}

size_t sim_size(const struct sim *s)
{
	return s->n;
}

/* --- nodes --- */

static void schedule_tick(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	uint64_t t = zab_wakeup_ms(nd->core);
	if (t < s->now)
		t = s->now;
	if (nd->tick_at > s->now && nd->tick_at <= t)
		return;
	nd->tick_at = t;
	struct sim_event ev = {.time = t, .kind = SIM_EV_TICK, .node = node,
			       .inc = nd->inc};
	sim_push(s, &ev);
}

void sim_preload(struct sim *s, int node, uint32_t accepted,
		 uint32_t current, const int64_t *zxids, size_t n)
{
	struct sim_node *nd = &s->nodes[node];
	nd->dur.accepted = nd->vol.accepted = accepted;
	nd->dur.current = nd->vol.current = current;
	for (size_t i = 0; i < n; i++) {
		char txt[48];
		/* One zxid, one txn: the same bytes on every node. */
		int len = snprintf(txt, sizeof(txt), "preload-%llx",
				   (unsigned long long)zxids[i]);
		sim_txns_push(&nd->dur.log, zxids[i], txt, (size_t)len);
		sim_txns_push(&nd->vol.log, zxids[i], txt, (size_t)len);
	}
}

/* How far the durable history agrees with what the node had applied. */
static size_t durable_applied(const struct sim_node *nd)
{
	size_t k = 0;
	while (k < nd->applied.n && k < sim_image_len(&nd->dur) &&
	       sim_txn_eq(sim_image_at(&nd->dur, k), &nd->applied.v[k]))
		k++;
	return k;
}

/* Boots the node's core from its disk; its first actions stay queued. */
static void boot_core(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	if (nd->up || s->failed)
		return;
	/* The apply point survives a restart only as far as it was made
	 * durable: anywhere from the snapshot to what was applied and is
	 * still in the log. */
	size_t keep = durable_applied(nd);
	size_t k = (size_t)sim_between(s, nd->dur.snap.n,
				       keep > nd->dur.snap.n ? keep
							     : nd->dur.snap.n);
	sim_txns_clear(&nd->applied);
	for (size_t i = 0; i < k; i++) {
		const struct sim_txn *t = sim_image_at(&nd->dur, i);
		sim_txns_push(&nd->applied, t->zxid, t->data, t->len);
	}
	struct zab_txn *recent = calloc(nd->dur.log.n + 1, sizeof(*recent));
	if (!recent)
		abort();
	for (size_t i = 0; i < nd->dur.log.n; i++)
		recent[i] = (struct zab_txn){
			nd->dur.log.v[i].zxid,
			zk_bytes_of(nd->dur.log.v[i].data, nd->dur.log.v[i].len)};
	struct zab_boot boot = {
		.accepted_epoch = nd->dur.accepted,
		.accepted_from = nd->dur.accepted_from,
		.current_epoch = nd->dur.current,
		.base_zxid = nd->dur.snap_zxid,
		.committed = k ? nd->applied.v[k - 1].zxid : nd->dur.snap_zxid,
		.recent = recent, .n_recent = nd->dur.log.n};
	struct zab_config cfg = {
		.id = nd->id, .voters = s->voter_ids,
		.n_voters = s->cfg.n_voters, .observers = s->observer_ids,
		.n_observers = s->cfg.n_observers, .tick_ms = s->cfg.tick_ms,
		.init_limit = s->cfg.init_limit,
		.sync_limit = s->cfg.sync_limit, .finalize_wait_ms = 20,
		.notify_max_ms = 4 * s->cfg.tick_ms,
		.diff_window = s->cfg.diff_window,
		.max_counter = s->cfg.max_counter};
	int rc = zab_new(&cfg, &boot, s->now, &nd->core);
	free(recent);
	if (rc) {
		sim_fail(s, "node %d: zab_new: %s", node, zk_strerror(rc));
		return;
	}
	nd->up = true;
	nd->inc++;
	nd->role = ZAB_LOOKING;
	nd->tick_at = 0;
	sim_sessions_boot(s, node);
	sim_trace(s, "node %d: start, log to 0x%llx, committed 0x%llx", node,
		  (unsigned long long)zab_last_zxid(nd->core),
		  (unsigned long long)boot.committed);
	sim_check_applied(s, node);
}

static void run_first_actions(struct sim *s, int node)
{
	sim_drain(s, node);
	if (s->nodes[node].up)
		schedule_tick(s, node);
}

void sim_start(struct sim *s, int node)
{
	if (s->nodes[node].up)
		return;
	boot_core(s, node);
	if (s->nodes[node].up)
		run_first_actions(s, node);
}

void sim_start_all(struct sim *s)
{
	bool started[SIM_MAX_NODES];
	for (size_t i = 0; i < s->n; i++) {
		started[i] = !s->nodes[i].up;
		boot_core(s, (int)i);
	}
	for (size_t i = 0; i < s->n; i++)
		if (started[i] && s->nodes[i].up)
			run_first_actions(s, (int)i);
}

void sim_crash(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	if (!nd->up)
		return;
	sim_trace(s, "node %d: crash", node);
	zab_free(nd->core);
	nd->core = NULL;
	nd->up = false;
	nd->inc++;
	nd->role = ZAB_LOOKING;
	sim_sessions_crash(s, node);
	sim_disk_crash(nd);
	/* its streams close: the others' transports report it down */
	for (size_t i = 0; i < s->n; i++) {
		struct sim_node *o = &s->nodes[i];
		if ((int)i == node || !o->up)
			continue;
		zab_peer_down(o->core, nd->id);
		sim_drain(s, (int)i);
	}
}

bool sim_is_up(const struct sim *s, int node)
{
	return s->nodes[node].up;
}

/* --- executing actions --- */

static void send_snapshot(struct sim *s, int node, const struct zab_action *a)
{
	struct sim_node *nd = &s->nodes[node];
	int64_t at = nd->applied.n ? nd->applied.v[nd->applied.n - 1].zxid
				   : nd->vol.snap_zxid;
	if (at != a->zxid) {
		sim_fail(s, "node %d: SNAP asked at 0x%llx, applied 0x%llx",
			 node, (unsigned long long)a->zxid,
			 (unsigned long long)at);
		return;
	}
	struct jute_writer w, table;
	jute_writer_init(&w, 0);
	jute_writer_init(&table, 0);
	sessions_encode(&nd->sessions, &table);
	sim_snap_encode(&w, &nd->applied, zk_bytes_of(table.buf, table.len));
	struct peer_msg m = {.type = PEER_SNAP};
	m.u.snap = (struct peer_snap){a->epoch, a->zxid,
				      zk_bytes_of(w.buf, w.len)};
	sim_net_send(s, node, a->peer, &m);
	jute_writer_free(&table);
	jute_writer_free(&w);
}

static void install_snapshot(struct sim *s, int node,
			     const struct zab_action *a)
{
	struct sim_node *nd = &s->nodes[node];
	struct sim_txns snap = {0};
	struct zk_bytes table;
	bool ok = sim_snap_decode(a->txn.data, &snap, &table);
	int64_t last = snap.n ? snap.v[snap.n - 1].zxid : 0;
	if (!ok || last != a->txn.zxid) {
		sim_fail(s, "node %d: snapshot at 0x%llx ends at 0x%llx",
			 node, (unsigned long long)a->txn.zxid,
			 (unsigned long long)last);
	} else {
		sim_disk_install(s, node, a->txn.zxid, &snap);
		sim_txns_copy(&nd->applied, &snap);
		sim_sessions_install(s, node, table);
		sim_check_applied(s, node);
	}
	sim_txns_clear(&snap);
	free(snap.v);
}

static void note_role(struct sim *s, int node, const struct zab_action *a)
{
	struct sim_node *nd = &s->nodes[node];
	sim_trace(s, "node %d: role %d leader %llu epoch %u (%s)", node,
		  (int)a->role, (unsigned long long)a->leader, a->epoch,
		  zab_reason(nd->core));
	int old_role = nd->role;
	nd->role = (int)a->role;
	nd->leader = a->leader;
	nd->epoch = a->epoch;
	if (a->role == ZAB_LEADING)
		sim_check_leading(s, node);
	sim_sessions_role(s, node, old_role);
}

static void execute(struct sim *s, int node, const struct zab_action *a)
{
	struct sim_node *nd = &s->nodes[node];
	switch (a->type) {
	case ZAB_SEND:
		sim_net_send(s, node, a->peer, &a->msg);
		break;
	case ZAB_SEND_SNAP:
		send_snapshot(s, node, a);
		break;
	case ZAB_APPEND:
		sim_disk_append(s, node, a->txn.zxid, a->txn.data);
		break;
	case ZAB_TRUNCATE:
		sim_trace(s, "node %d: truncate to 0x%llx", node,
			  (unsigned long long)a->zxid);
		if (nd->applied.n && nd->applied.v[nd->applied.n - 1].zxid >
					     a->zxid)
			sim_fail(s, "node %d truncates to 0x%llx below what "
				 "it applied", node,
				 (unsigned long long)a->zxid);
		sim_disk_truncate(s, node, a->zxid);
		break;
	case ZAB_INSTALL_SNAP:
		install_snapshot(s, node, a);
		break;
	case ZAB_WRITE_EPOCH: {
		/* Writes of one file complete in the order they were made. */
		uint64_t t = s->now + sim_between(s, s->cfg.epoch_min_ms,
						  s->cfg.epoch_max_ms);
		if (t < nd->epoch_at[a->file])
			t = nd->epoch_at[a->file];
		nd->epoch_at[a->file] = t;
		struct sim_event ev = {.time = t, .kind = SIM_EV_EPOCH,
				       .node = node, .inc = nd->inc,
				       .file = a->file, .epoch = a->epoch,
				       .leader = a->leader};
		sim_push(s, &ev);
		break;
	}
	case ZAB_COMMIT:
		sim_trace(s, "node %d: commit 0x%llx", node,
			  (unsigned long long)a->zxid);
		sim_apply(s, node, a->zxid);
		break;
	case ZAB_ROLE:
		note_role(s, node, a);
		break;
	}
}

void sim_drain(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	struct zab_action a;
	while (nd->up && zab_next_action(nd->core, &a)) {
		execute(s, node, &a);
		int sent = a.type == ZAB_SEND	   ? (int)a.msg.type
			   : a.type == ZAB_SEND_SNAP ? PEER_SNAP
						     : -1;
		if (sent >= 0 && sent == nd->crash_on_send) {
			sim_crash(s, node);
			return;
		}
	}
}

/* --- the loop --- */

static void epoch_written(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *nd = &s->nodes[ev->node];
	uint32_t *dur = ev->file == ZAB_ACCEPTED_EPOCH ? &nd->dur.accepted
						       : &nd->dur.current;
	uint32_t *vol = ev->file == ZAB_ACCEPTED_EPOCH ? &nd->vol.accepted
						       : &nd->vol.current;
	*dur = *vol = ev->epoch;
	if (ev->file == ZAB_ACCEPTED_EPOCH)
		nd->dur.accepted_from = nd->vol.accepted_from = ev->leader;
	zab_epoch_written(nd->core, ev->file, ev->epoch);
}

static void flushed(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	struct sim_flushed f = sim_disk_flush(s, node);
	if (f.installed) {
		zab_snapshot_installed(nd->core, f.snap_zxid);
		sim_drain(s, node);
	}
	if (f.has_log && nd->up)
		zab_log_durable(nd->core, f.durable);
}

static void step(struct sim *s)
{
	struct sim_event ev = pop(s);
	s->now = ev.time;
	if (ev.kind == SIM_EV_PING) {
		sim_client_ping(s, ev.client);
		sim_check_step(s);
		return;
	}
	struct sim_node *nd = &s->nodes[ev.node];
	if (!nd->up || ev.inc != nd->inc) {
		free(ev.bytes);
		return;
	}
	switch (ev.kind) {
	case SIM_EV_DELIVER:
		sim_net_deliver(s, &ev);
		break;
	case SIM_EV_TICK:
		if (ev.time != nd->tick_at)
			return;
		zab_tick(nd->core, s->now);
		break;
	case SIM_EV_FLUSH:
		flushed(s, ev.node);
		break;
	case SIM_EV_EPOCH:
		epoch_written(s, &ev);
		break;
	case SIM_EV_TICKER: /* not the core's; a close it proposes is
			     * checked by sim_propose_txn */
		sim_sessions_tick(s, ev.node);
		return;
	case SIM_EV_PING: /* not a node's: above */
		return;
	}
	sim_drain(s, ev.node); /* actions may point into ev.bytes */
	free(ev.bytes);
	if (nd->up)
		schedule_tick(s, ev.node);
	sim_check_step(s);
}

bool sim_run_until(struct sim *s, uint64_t ms,
		   bool (*pred)(struct sim *, void *), void *arg)
{
	uint64_t end = s->now + ms;
	while (!s->failed) {
		if (pred && pred(s, arg))
			return true;
		if (s->n_ev == 0 || s->heap[0].time > end)
			break;
		step(s);
	}
	if (!s->failed && end > s->now)
		s->now = end;
	return !s->failed && pred && pred(s, arg);
}

void sim_run_for(struct sim *s, uint64_t ms)
{
	sim_run_until(s, ms, NULL, NULL);
}

/* --- clients and queries --- */

int sim_propose_txn(struct sim *s, int node, const void *p, size_t len,
		    int64_t *zxid)
{
	struct sim_node *nd = &s->nodes[node];
	if (!nd->up || s->failed)
		return ZK_NOTLEADER;
	int rc = zab_propose(nd->core, p, len, zxid);
	uint64_t inflight = sim_image_len(&nd->vol) - nd->applied.n + !rc;
	if (inflight > s->max_inflight)
		s->max_inflight = inflight;
	sim_drain(s, node);
	if (nd->up)
		schedule_tick(s, node);
	sim_check_step(s);
	return rc;
}

int sim_propose(struct sim *s, int node, int64_t *zxid)
{
	char txt[32];
	int len = snprintf(txt, sizeof(txt), "txn-%llu",
			   (unsigned long long)++s->next_txn);
	return sim_propose_txn(s, node, txt, (size_t)len, zxid);
}

int sim_leader(const struct sim *s)
{
	int best = -1;
	for (size_t i = 0; i < s->n; i++) {
		const struct sim_node *nd = &s->nodes[i];
		if (nd->up && nd->role == ZAB_LEADING &&
		    (best < 0 || nd->epoch > s->nodes[best].epoch))
			best = (int)i;
	}
	return best;
}

int sim_settled(const struct sim *s)
{
	int l = sim_leader(s);
	for (size_t i = 0; l >= 0 && i < s->n; i++) {
		const struct sim_node *nd = &s->nodes[i];
		if (nd->up && (nd->role == ZAB_LOOKING ||
			       nd->epoch != s->nodes[l].epoch))
			return -1;
	}
	return l;
}

int sim_role(const struct sim *s, int node)
{
	return s->nodes[node].up ? s->nodes[node].role : -1;
}

uint32_t sim_epoch(const struct sim *s, int node)
{
	return s->nodes[node].epoch;
}

int64_t sim_applied_last(const struct sim *s, int node)
{
	const struct sim_node *nd = &s->nodes[node];
	return nd->applied.n ? nd->applied.v[nd->applied.n - 1].zxid : 0;
}

size_t sim_applied_count(const struct sim *s, int node)
{
	return s->nodes[node].applied.n;
}

int64_t sim_log_last(const struct sim *s, int node)
{
	const struct sim_image *im = &s->nodes[node].vol;
	size_t n = sim_image_len(im);
	return n ? sim_image_at(im, n - 1)->zxid : 0;
}

bool sim_has_applied(const struct sim *s, int node, int64_t zxid)
{
	const struct sim_txns *a = &s->nodes[node].applied;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].zxid == zxid)
			return true;
	return false;
}

uint64_t sim_received(const struct sim *s, int node, enum peer_type type)
{
	return (size_t)type <= PEER_VOTE ? s->nodes[node].received[type] : 0;
}

uint64_t sim_max_inflight(const struct sim *s)
{
	return s->max_inflight;
}

size_t sim_history_len(const struct sim *s)
{
	return s->hist.n;
}
