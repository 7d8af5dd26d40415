/*
 * sim_disk.c - txn lists and the simulated disk of a node: a durable and
 * a volatile image, and the queue of ops between them (design in sim_i.h).
 *
 * Invariants
 *   1. vol = dur with the queued ops replayed, in order.
 *   2. After a flush, dur = vol and the queue is empty; only then does
 *      sim.c tell the core that the log is durable or the snapshot
 *      installed (struct sim_flushed).
 *   3. Memory: each list owns copies of its txns' bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_i.h"

static void *must_alloc(void *p)
{
	if (!p)
		abort();
	return p;
}

void sim_txns_push(struct sim_txns *l, int64_t zxid, const void *p,
		   size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = must_alloc(realloc(l->v, l->cap * sizeof(*l->v)));
	}
	uint8_t *copy = must_alloc(malloc(len ? len : 1));
	if (len)
		memcpy(copy, p, len);
	l->v[l->n++] = (struct sim_txn){zxid, copy, len};
}

void sim_txns_truncate(struct sim_txns *l, int64_t zxid)
{
	while (l->n && l->v[l->n - 1].zxid > zxid)
		free(l->v[--l->n].data);
}

void sim_txns_clear(struct sim_txns *l)
{
	while (l->n)
		free(l->v[--l->n].data);
}

static void txns_free(struct sim_txns *l)
{
	sim_txns_clear(l);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void sim_txns_copy(struct sim_txns *dst, const struct sim_txns *src)
{
	sim_txns_clear(dst);
	for (size_t i = 0; i < src->n; i++)
		sim_txns_push(dst, src->v[i].zxid, src->v[i].data,
			      src->v[i].len);
}

bool sim_txn_eq(const struct sim_txn *a, const struct sim_txn *b)
{
	return a->zxid == b->zxid && a->len == b->len &&
	       memcmp(a->data, b->data, a->len) == 0;
}

size_t sim_image_len(const struct sim_image *im)
{
	return im->snap.n + im->log.n;
}

const struct sim_txn *sim_image_at(const struct sim_image *im, size_t k)
{
	return k < im->snap.n ? &im->snap.v[k] : &im->log.v[k - im->snap.n];
}

static void image_copy(struct sim_image *dst, const struct sim_image *src)
{
	sim_txns_copy(&dst->snap, &src->snap);
	sim_txns_copy(&dst->log, &src->log);
	dst->snap_zxid = src->snap_zxid;
	dst->accepted = src->accepted;
	dst->current = src->current;
	dst->accepted_from = src->accepted_from;
}

void sim_image_free(struct sim_image *im)
{
	txns_free(&im->snap);
	txns_free(&im->log);
}

static void replay(struct sim_image *im, const struct sim_op *op)
{
	switch (op->kind) {
	case SIM_OP_APPEND:
		sim_txns_push(&im->log, op->zxid, op->txns.v[0].data,
			      op->txns.v[0].len);
		break;
	case SIM_OP_TRUNCATE:
		sim_txns_truncate(&im->log, op->zxid);
		break;
	case SIM_OP_INSTALL:
		sim_txns_copy(&im->snap, &op->txns);
		im->snap_zxid = op->zxid;
		sim_txns_clear(&im->log);
		break;
	}
}

static void clear_ops(struct sim_node *nd)
{
	for (size_t i = 0; i < nd->n_ops; i++)
		txns_free(&nd->ops[i].txns);
	nd->n_ops = 0;
}

/* Queues op (taking its txns), applies it to vol, schedules a flush. */
static void queue_op(struct sim *s, int node, struct sim_op *op)
{
	struct sim_node *nd = &s->nodes[node];
	replay(&nd->vol, op);
	if (nd->n_ops == nd->cap_ops) {
		nd->cap_ops = nd->cap_ops ? 2 * nd->cap_ops : 16;
		nd->ops = must_alloc(
			realloc(nd->ops, nd->cap_ops * sizeof(*nd->ops)));
	}
	nd->ops[nd->n_ops++] = *op;
	if (!nd->flush_scheduled) {
		struct sim_event ev = {
			.time = s->now + sim_between(s, s->cfg.disk_min_ms,
						     s->cfg.disk_max_ms),
			.kind = SIM_EV_FLUSH, .node = node, .inc = nd->inc};
		sim_push(s, &ev);
		nd->flush_scheduled = true;
	}
}

void sim_disk_append(struct sim *s, int node, int64_t zxid,
		     struct zk_bytes data)
{
	struct sim_op op = {.kind = SIM_OP_APPEND, .zxid = zxid};
	sim_txns_push(&op.txns, zxid, data.p, (size_t)data.len);
	queue_op(s, node, &op);
}

void sim_disk_truncate(struct sim *s, int node, int64_t zxid)
{
	struct sim_op op = {.kind = SIM_OP_TRUNCATE, .zxid = zxid};
	queue_op(s, node, &op);
}

void sim_disk_install(struct sim *s, int node, int64_t zxid,
		      const struct sim_txns *snap)
{
	struct sim_op op = {.kind = SIM_OP_INSTALL, .zxid = zxid};
	sim_txns_copy(&op.txns, snap);
	queue_op(s, node, &op);
}

struct sim_flushed sim_disk_flush(struct sim *s, int node)
{
	struct sim_node *nd = &s->nodes[node];
	struct sim_flushed f = {0};
	bool shrunk = false;
	nd->flush_scheduled = false;
	for (size_t i = 0; i < nd->n_ops; i++) {
		replay(&nd->dur, &nd->ops[i]);
		f.installed |= nd->ops[i].kind == SIM_OP_INSTALL;
		shrunk |= nd->ops[i].kind != SIM_OP_APPEND;
	}
	clear_ops(nd);
	if (shrunk)
		nd->dur_match = 0;
	f.snap_zxid = nd->dur.snap_zxid;
	f.has_log = nd->dur.log.n > 0;
	if (f.has_log)
		f.durable = nd->dur.log.v[nd->dur.log.n - 1].zxid;
	return f;
}

void sim_disk_crash(struct sim_node *nd)
{
	clear_ops(nd);
	nd->flush_scheduled = false;
	image_copy(&nd->vol, &nd->dur);
}

void sim_disk_free(struct sim_node *nd)
{
	clear_ops(nd);
	free(nd->ops);
	sim_image_free(&nd->dur);
	sim_image_free(&nd->vol);
	txns_free(&nd->applied);
}

void sim_snap_encode(struct jute_writer *w, const struct sim_txns *t,
		     struct zk_bytes sessions)
{
	jute_put_int(w, (int32_t)t->n);
	for (size_t i = 0; i < t->n; i++) {
		jute_put_long(w, t->v[i].zxid);
		jute_put_buffer(w, zk_bytes_of(t->v[i].data, t->v[i].len));
	}
	jute_put_buffer(w, sessions);
}

bool sim_snap_decode(struct zk_bytes b, struct sim_txns *out,
		     struct zk_bytes *sessions)
{
	struct jute_reader r;
	jute_reader_init(&r, b.p, (size_t)b.len);
	int32_t n = jute_get_count(&r, 12);
	sim_txns_clear(out);
	for (int32_t i = 0; i < n && jute_reader_ok(&r); i++) {
		int64_t zxid = jute_get_long(&r);
		struct zk_bytes d = jute_get_buffer(&r);
		if (jute_reader_ok(&r) && d.len >= 0)
			sim_txns_push(out, zxid, d.p, (size_t)d.len);
	}
	*sessions = jute_get_buffer(&r);
	return jute_reader_done(&r) && n >= 0 && out->n == (size_t)n &&
	       sessions->len >= 0;
}
