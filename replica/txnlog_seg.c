/*
 * txnlog_seg.c - what the transaction log's files share (txnlog_seg_i.h):
 * segment paths, error text, timed syncs, cutting a segment, and the
 * segment reader that recovery, truncation and iterators walk records
 * with.  The design and invariants are in txnlog.c.
 */
#include "txnlog_seg_i.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zabfs/err.h"

#ifndef NDEBUG
void txnlog_check_state(const struct txnlog *log)
{
	for (size_t i = 0; i < log->nsegs; i++) {
		const struct seg *s = &log->segs[i];
		assert(s->end >= LOGFMT_HEADER_SIZE);
		assert(s->last_zxid == 0 || s->last_zxid >= s->first_zxid);
		assert(i + 1 == log->nsegs || s->last_zxid != 0);
		assert(i == 0 || s->first_zxid > log->segs[i - 1].last_zxid);
	}
	assert(log->durable <= log->last_appended);
}
#endif

void txnlog_seg_path(const struct txnlog *log, int64_t zxid, const char *sfx,
		     char out[PATH_MAX])
{
	char name[LOGFMT_NAME_LEN + 1];
	logfmt_name_format(name, zxid);
	snprintf(out, PATH_MAX, "%s/%s%s", log->dir, name, sfx);
}

/* Record the text of a failure; mu must not be held. */
void txnlog_set_err(struct txnlog *log, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&log->mu);
	vsnprintf(log->errmsg, sizeof(log->errmsg), fmt, ap);
	pthread_mutex_unlock(&log->mu);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* fdatasync (or fsync) fd, counting it in the stats. */
int txnlog_timed_sync(struct txnlog *log, int fd, bool data_only)
{
	uint64_t t0 = now_ns();
	int rc = data_only ? log->st->fdatasync(log->st, fd)
			   : log->st->fsync(log->st, fd);
	uint64_t dt = now_ns() - t0;
	pthread_mutex_lock(&log->mu);
	log->fsyncs++;
	log->fsync_ns += dt;
	pthread_mutex_unlock(&log->mu);
	return rc;
}

int txnlog_sync_dir(struct txnlog *log)
{
	int rc = log->st->sync_dir(log->st, log->dir);
	if (rc != 0)
		txnlog_set_err(log, "fsync of directory %s: %s", log->dir,
			       zk_strerror(rc));
	return rc;
}

int txnlog_segs_reserve(struct txnlog *log)
{
	if (log->nsegs < log->capsegs)
		return 0;
	size_t cap = log->capsegs ? log->capsegs * 2 : 8;
	/* Under mu: iterators read segs from other threads. */
	pthread_mutex_lock(&log->mu);
	struct seg *v = realloc(log->segs, cap * sizeof(*v));
	if (v) {
		log->segs = v;
		log->capsegs = cap;
	}
	pthread_mutex_unlock(&log->mu);
	return v ? 0 : ZK_NOMEM;
}

/* Cut fd at off: truncate (atomic, unlike overwriting with zeros), extend
 * with zeros again, fsync. */
int txnlog_cut_at(struct txnlog *log, int fd, uint64_t off, const char *path)
{
	int rc = log->st->truncate(log->st, fd, off);
	if (rc == 0)
		rc = log->st->preallocate(log->st, fd, log->seg_size);
	if (rc == 0)
		rc = txnlog_timed_sync(log, fd, false);
	if (rc != 0)
		txnlog_set_err(log, "cutting %s at byte offset %" PRIu64 ": %s",
			       path, off, zk_strerror(rc));
	return rc;
}

void segread_init(struct segread *r, struct storage *st, int fd, uint64_t off)
{
	r->st = st;
	r->fd = fd;
	r->len = r->pos = 0;
	r->base = off;
	r->eof = false;
}

uint64_t segread_offset(const struct segread *r)
{
	return r->base + r->pos;
}

/* Make at least need bytes available from pos, unless the file ends. */
static int sr_fill(struct segread *r, size_t need)
{
	if (r->pos > 0)
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->base += r->pos;
	r->len -= r->pos;
	r->pos = 0;
	size_t want = need > READ_CHUNK ? need : READ_CHUNK;
	if (r->cap < want) {
		uint8_t *b = realloc(r->buf, want);
		if (!b)
			return ZK_NOMEM;
		r->buf = b;
		r->cap = want;
	}
	size_t got;
	int rc = r->st->pread(r->st, r->fd, r->buf + r->len, r->cap - r->len,
			      r->base + r->len, &got);
	if (rc != 0)
		return rc;
	r->eof = got < r->cap - r->len;
	r->len += got;
	return 0;
}

int segread_next(struct segread *r, struct logfmt_record *rec, uint64_t *off)
{
	for (;;) {
		int rc = ZK_MALFORMED;
		rec->size = 0;
		if (r->len > r->pos) /* buf may still be NULL */
			rc = logfmt_record_decode(r->buf + r->pos,
						  r->len - r->pos, rec);
		if (rc == 0) {
			*off = segread_offset(r);
			r->pos += rec->size;
			return 0;
		}
		if (rc != ZK_MALFORMED)
			return rc;
		if (r->eof) {
			/* Fewer zeros than a length field: padding too. */
			for (size_t i = r->pos; i < r->len; i++)
				if (r->buf[i])
					return ZK_CORRUPT;
			return LOGFMT_END;
		}
		rc = sr_fill(r, rec->size ? rec->size : LOGFMT_RECORD_OVERHEAD);
		if (rc != 0)
			return rc;
	}
}

void segread_free(struct segread *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}
