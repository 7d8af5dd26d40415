/*
 * zab.c - the Zab core's entry points (zab_i.h): construction, the event
 * functions, the action queue, and the helpers the phase files share.
 *
 * Design
 *   Each event function first trims the in-memory log (deferred to here so
 *   that views in the actions of the previous event stay valid until the
 *   caller has drained them), then hands the event to the file of the
 *   current phase: zab_elect.c (LOOKING), zab_lead.c (LEAD_*),
 *   zab_follow.c (FOLLOW_*).  Durability events update the disk mirror
 *   here and then let the phase make progress.
 *
 * Invariants
 *   1. Actions leave in the order they were emitted.
 *   2. Once an allocation fails the core is `failed`: it goes LOOKING and
 *      stays silent, so a node out of memory never acts on a half-made
 *      decision; the caller restarts it.
 */
#include <stdlib.h>
#include <string.h>

#include "zab_state_i.h"
#include "zabfs/err.h"

static bool listed(const uint64_t *ids, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static bool has_duplicates(const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == 0 || listed(ids, i, ids[i]))
			return true;
	return false;
}

static int check_config(const struct zab_config *c)
{
	bool voter = listed(c->voters, c->n_voters, c->id);
	bool observer = listed(c->observers, c->n_observers, c->id);
	if (c->id == 0 || voter == observer || c->n_voters == 0 ||
	    c->n_voters + c->n_observers > ZAB_MAX_SERVERS ||
	    has_duplicates(c->voters, c->n_voters) ||
	    has_duplicates(c->observers, c->n_observers))
		return ZK_BADARGUMENTS;
	for (size_t i = 0; i < c->n_observers; i++)
		if (listed(c->voters, c->n_voters, c->observers[i]))
			return ZK_BADARGUMENTS;
	if (c->tick_ms == 0 || c->init_limit == 0 || c->sync_limit == 0)
		return ZK_BADARGUMENTS;
	return 0;
}

static int check_boot(const struct zab_boot *b)
{
	int64_t prev = b->base_zxid;
	for (size_t i = 0; i < b->n_recent; i++) {
		if (b->recent[i].zxid <= prev || b->recent[i].data.len < 0)
			return ZK_BADARGUMENTS;
		prev = b->recent[i].zxid;
	}
	if (b->base_zxid < 0 || b->committed < b->base_zxid ||
	    b->committed > prev || b->current_epoch > b->accepted_epoch)
		return ZK_BADARGUMENTS;
	return 0;
}

static void add_peer(struct zab *z, uint64_t id, bool voter)
{
	if (id == z->id)
		return;
	struct zab_peer *p = &z->peers[z->n_peers++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->voter = voter;
}

int zab_new(const struct zab_config *cfg, const struct zab_boot *boot,
	    uint64_t now_ms, struct zab **out)
{
	int rc = check_config(cfg);
	if (!rc)
		rc = check_boot(boot);
	if (rc)
		return rc;
	struct zab *z = calloc(1, sizeof(*z));
	if (!z)
		return ZK_NOMEM;
	z->id = cfg->id;
	z->observer = listed(cfg->observers, cfg->n_observers, cfg->id);
	z->n_voters = cfg->n_voters;
	z->quorum = cfg->n_voters / 2 + 1;
	for (size_t i = 0; i < cfg->n_voters; i++)
		add_peer(z, cfg->voters[i], true);
	for (size_t i = 0; i < cfg->n_observers; i++)
		add_peer(z, cfg->observers[i], false);
	z->tick_ms = cfg->tick_ms;
	z->init_limit = cfg->init_limit;
	z->sync_limit = cfg->sync_limit;
	z->finalize_ms = cfg->finalize_wait_ms;
	z->notify_max_ms = cfg->notify_max_ms > cfg->finalize_wait_ms
				   ? cfg->notify_max_ms
				   : cfg->finalize_wait_ms;
	z->window = cfg->diff_window;
	z->max_counter = cfg->max_counter && cfg->max_counter < 0xfffffffeu
				 ? cfg->max_counter
				 : 0xfffffffeu;
	z->now = now_ms;
	z->accepted = z->accepted_asked = boot->accepted_epoch;
	z->accepted_from = boot->accepted_from;
	z->current = z->current_asked = boot->current_epoch;
	zab_log_init(&z->log, boot->base_zxid);
	for (size_t i = 0; i < boot->n_recent; i++) {
		const struct zab_txn *t = &boot->recent[i];
		if (zab_log_append(&z->log, t->zxid, t->data.p,
				   (size_t)t->data.len)) {
			zab_free(z);
			return ZK_NOMEM;
		}
	}
	z->durable = zab_log_last(&z->log);
	z->committed = boot->committed;
	zab_log_trim(&z->log, z->committed, z->window);
	z->role_shown = ZAB_LOOKING;
	zab_look(z, "start");
	*out = z;
	return 0;
}

void zab_free(struct zab *z)
{
	if (!z)
		return;
	zab_log_free(&z->log);
	free(z->q.a);
	free(z);
}

/* --- the action queue --- */

void zab_emit(struct zab *z, const struct zab_action *a)
{
	struct zab_queue *q = &z->q;
	if (z->failed)
		return;
	if (q->head + q->n == q->cap) {
		if (q->head > 0) {
			memmove(q->a, q->a + q->head, q->n * sizeof(*q->a));
			q->head = 0;
		} else {
			size_t cap = q->cap ? 2 * q->cap : 32;
			struct zab_action *na = realloc(q->a, cap * sizeof(*na));
			if (!na) {
				z->failed = true;
				return;
			}
			q->a = na;
			q->cap = cap;
		}
	}
	q->a[q->head + q->n++] = *a;
}

bool zab_next_action(struct zab *z, struct zab_action *a)
{
	struct zab_queue *q = &z->q;
	if (q->n == 0)
		return false;
	*a = q->a[q->head++];
	if (--q->n == 0)
		q->head = 0;
	return true;
}

/* --- helpers shared by the phase files --- */

void zab_send(struct zab *z, uint64_t to, const struct peer_msg *m)
{
	struct zab_action a = {.type = ZAB_SEND, .peer = to, .msg = *m};
	zab_emit(z, &a);
}

void zab_send_zxid(struct zab *z, uint64_t to, enum peer_type type,
		   int64_t zxid)
{
	struct peer_msg m = {.type = type};
	m.u.zxid.epoch = z->epoch;
	m.u.zxid.zxid = zxid;
	zab_send(z, to, &m);
}

void zab_write_epoch(struct zab *z, enum zab_epoch_file file,
		     uint32_t epoch)
{
	uint32_t *asked = file == ZAB_ACCEPTED_EPOCH ? &z->accepted_asked
						     : &z->current_asked;
	if (epoch <= *asked)
		return;
	*asked = epoch;
	struct zab_action a = {.type = ZAB_WRITE_EPOCH, .file = file,
			       .epoch = epoch};
	if (file == ZAB_ACCEPTED_EPOCH)
		a.leader = z->accepted_from;
	zab_emit(z, &a);
}

void zab_commit_to(struct zab *z, int64_t zxid)
{
	if (zxid <= z->committed)
		return;
	z->committed = zxid;
	struct zab_action a = {.type = ZAB_COMMIT, .zxid = zxid};
	zab_emit(z, &a);
}

void zab_show_role(struct zab *z, enum zab_role role)
{
	if (role == z->role_shown)
		return;
	z->role_shown = role;
	struct zab_action a = {.type = ZAB_ROLE, .role = role};
	if (role != ZAB_LOOKING) {
		a.leader = z->leader;
		a.epoch = z->epoch;
	}
	zab_emit(z, &a);
}

struct zab_peer *zab_peer(struct zab *z, uint64_t id)
{
	for (size_t i = 0; i < z->n_peers; i++)
		if (z->peers[i].id == id)
			return &z->peers[i];
	return NULL;
}

bool zab_quorum(const struct zab *z, size_t votes)
{
	return votes >= z->quorum;
}

void zab_look(struct zab *z, const char *why)
{
	z->reason = why;
	z->phase = ZAB_P_LOOKING;
	z->leader = 0;
	z->epoch = 0;
	for (size_t i = 0; i < z->n_peers; i++)
		z->peers[i].ls = ZAB_L_NONE;
	zab_show_role(z, ZAB_LOOKING);
	zab_elect_begin(z);
}

static bool leading(const struct zab *z)
{
	return z->phase >= ZAB_P_LEAD_DISCOVER && z->phase <= ZAB_P_LEAD_BCAST;
}

/* Work that had to wait for the previous event's actions to drain. */
static void begin_event(struct zab *z)
{
	zab_log_trim(&z->log, z->committed, z->window);
}

static void progress(struct zab *z)
{
	if (leading(z))
		zab_lead_progress(z);
	else if (z->phase != ZAB_P_LOOKING)
		zab_follow_progress(z);
}

/* --- events --- */

void zab_tick(struct zab *z, uint64_t now_ms)
{
	begin_event(z);
	if (now_ms > z->now)
		z->now = now_ms;
	if (z->failed)
		return;
	if (z->phase == ZAB_P_LOOKING)
		zab_elect_tick(z);
	else if (leading(z))
		zab_lead_tick(z);
	else
		zab_follow_tick(z);
}

void zab_receive(struct zab *z, uint64_t from, const struct peer_msg *m)
{
	begin_event(z);
	struct zab_peer *p = zab_peer(z, from);
	if (!p || z->failed)
		return;
	p->down = false;
	if (m->type == PEER_VOTE)
		zab_elect_vote(z, p, &m->u.vote);
	else if (leading(z))
		zab_lead_receive(z, p, m);
	else if (z->phase != ZAB_P_LOOKING && from == z->leader)
		zab_follow_receive(z, m);
}

void zab_peer_down(struct zab *z, uint64_t id)
{
	begin_event(z);
	struct zab_peer *p = zab_peer(z, id);
	if (!p || z->failed)
		return;
	p->down = true;
	if (z->phase == ZAB_P_LOOKING)
		zab_elect_peer_down(z);
	else if (!leading(z) && id == z->leader)
		zab_look(z, "the leader's connection closed");
}

void zab_log_durable(struct zab *z, int64_t zxid)
{
	begin_event(z);
	int64_t last = zab_log_last(&z->log);
	if (zxid > last)
		zxid = last;
	if (zxid > z->durable)
		z->durable = zxid;
	progress(z);
}

void zab_epoch_written(struct zab *z, enum zab_epoch_file file,
		       uint32_t epoch)
{
	begin_event(z);
	if (file == ZAB_ACCEPTED_EPOCH && epoch > z->accepted)
		z->accepted = epoch;
	if (file == ZAB_CURRENT_EPOCH && epoch > z->current)
		z->current = epoch;
	progress(z);
}

void zab_snapshot_installed(struct zab *z, int64_t zxid)
{
	begin_event(z);
	if (!z->snap_pending || zxid != z->snap_zxid)
		return;
	z->snap_pending = false;
	if (zxid > z->durable)
		z->durable = zxid;
	progress(z);
}

int zab_propose(struct zab *z, const void *txn, size_t len, int64_t *zxid)
{
	begin_event(z);
	if (z->failed || z->phase != ZAB_P_LEAD_BCAST)
		return ZK_NOTLEADER;
	if (len > PEER_MAX_DATA)
		return ZK_TOOBIG;
	return zab_lead_propose(z, txn, len, zxid);
}

uint64_t zab_wakeup_ms(const struct zab *z)
{
	uint64_t t = z->periodic_ms;
	if (z->decide_ms && z->decide_ms < t)
		t = z->decide_ms;
	return t;
}

enum zab_role zab_role(const struct zab *z)
{
	return z->role_shown;
}

uint64_t zab_leader(const struct zab *z)
{
	return z->role_shown == ZAB_LOOKING ? 0 : z->leader;
}

uint32_t zab_epoch(const struct zab *z)
{
	return z->role_shown == ZAB_LOOKING ? 0 : z->epoch;
}

int64_t zab_last_zxid(const struct zab *z)
{
	return zab_log_last(&z->log);
}

int64_t zab_committed(const struct zab *z)
{
	return z->committed;
}

const char *zab_reason(const struct zab *z)
{
	return z->reason;
}
