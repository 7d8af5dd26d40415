/*
 * zab_log.c - the Zab core's in-memory tail of the transaction log: every
 * entry above the commit point plus a window of committed ones, from which
 * a leader serves DIFF and sync streams.
 *
 * Design
 *   A deque in one array: entries e[head .. head+n), zxids strictly
 *   increasing; each entry owns a copy of its bytes (so views handed out in
 *   actions survive the array growing).  `base` is the zxid just before the
 *   first entry: the last entry dropped, or the snapshot the log continues.
 *
 * Invariants
 *   1. base < e[head].zxid < e[head+1].zxid < ...
 *   2. Only trimming drops entries from the front, and only committed ones.
 *   3. An append that fails (no memory) changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "zab_state_i.h"
#include "zabfs/err.h"

void zab_log_init(struct zab_log *l, int64_t base)
{
	memset(l, 0, sizeof(*l));
	l->base = base;
}

static void free_range(struct zab_log *l, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		free(l->e[l->head + i].data);
}

void zab_log_free(struct zab_log *l)
{
	free_range(l, 0, l->n);
	free(l->e);
	memset(l, 0, sizeof(*l));
}

size_t zab_log_count(const struct zab_log *l)
{
	return l->n;
}

const struct zab_entry *zab_log_at(const struct zab_log *l, size_t i)
{
	return &l->e[l->head + i];
}

int64_t zab_log_last(const struct zab_log *l)
{
	return l->n ? l->e[l->head + l->n - 1].zxid : l->base;
}

int64_t zab_log_prev(const struct zab_log *l, size_t i)
{
	return i == 0 ? l->base : l->e[l->head + i - 1].zxid;
}

size_t zab_log_after(const struct zab_log *l, int64_t zxid)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->e[l->head + mid].zxid <= zxid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool zab_log_has(const struct zab_log *l, int64_t zxid)
{
	if (zxid == l->base)
		return true;
	size_t i = zab_log_after(l, zxid);
	return i > 0 && l->e[l->head + i - 1].zxid == zxid;
}

int zab_log_append(struct zab_log *l, int64_t zxid, const void *p,
		   size_t len)
{
	if (zxid <= zab_log_last(l))
		return ZK_BADARGUMENTS;
	if (l->head + l->n == l->cap) {
		if (l->head > l->cap / 2) {
			memmove(l->e, l->e + l->head, l->n * sizeof(*l->e));
			l->head = 0;
		} else {
			size_t cap = l->cap ? 2 * l->cap : 16;
			struct zab_entry *e = realloc(l->e, cap * sizeof(*e));
			if (!e)
				return ZK_NOMEM;
			l->e = e;
			l->cap = cap;
		}
	}
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return ZK_NOMEM;
	if (len)
		memcpy(copy, p, len);
	l->e[l->head + l->n] = (struct zab_entry){zxid, copy, len};
	l->n++;
	return 0;
}

void zab_log_truncate(struct zab_log *l, int64_t zxid)
{
	size_t keep = zab_log_after(l, zxid);
	free_range(l, keep, l->n);
	l->n = keep;
}

void zab_log_reset(struct zab_log *l, int64_t base)
{
	free_range(l, 0, l->n);
	l->head = 0;
	l->n = 0;
	l->base = base;
}

void zab_log_trim(struct zab_log *l, int64_t committed, size_t keep)
{
	size_t n_committed = zab_log_after(l, committed);
	if (n_committed <= keep)
		return;
	size_t drop = n_committed - keep;
	free_range(l, 0, drop);
	l->base = l->e[l->head + drop - 1].zxid;
	l->head += drop;
	l->n -= drop;
}
