/*
 * txnlog_iter.c - iterators over durable records (txnlog_i.h has the
 * contract).  An iterator copies the list of segments and the durable
 * zxid when it opens, holds an fd on each segment it will read (so a
 * purge cannot pull a file from under it), and stops after the record
 * whose zxid is that durable zxid: bytes after it may still be in flight.
 */
#include "txnlog_seg_i.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"

struct txnlog_iter {
	struct storage *st;
	int64_t after, limit, last;
	int64_t *firsts; /* first zxid of each segment to read (owned) */
	int *fds;        /* owned, one per segment */
	size_t n, idx;
	bool reading, done;
	struct segread sr;
	char errmsg[ERRMSG_LEN];
};

int txnlog_iter_open(struct txnlog *log, int64_t after,
		     struct txnlog_iter **out)
{
	struct txnlog_iter *it = calloc(1, sizeof(*it));
	int rc = ZK_NOMEM;
	if (!it)
		return rc;
	it->st = log->st;
	it->after = after;
	pthread_mutex_lock(&log->mu);
	it->limit = log->durable;
	size_t k = 0, n = 0;
	for (size_t i = 0; i < log->nsegs; i++)
		if (log->segs[i].first_zxid <= after ||
		    (after < INT64_MAX && log->segs[i].first_zxid == after + 1))
			k = i;
	if (it->limit > after)
		for (size_t i = k; i < log->nsegs; i++)
			if (log->segs[i].first_zxid <= it->limit)
				n = i - k + 1;
	it->firsts = calloc(n ? n : 1, sizeof(*it->firsts));
	it->fds = calloc(n ? n : 1, sizeof(*it->fds));
	for (size_t i = 0; it->firsts && i < n; i++)
		it->firsts[i] = log->segs[k + i].first_zxid;
	/* Opened under mu, so a purge cannot unlink them in between. */
	for (; it->firsts && it->fds && it->n < n; it->n++) {
		char path[PATH_MAX];
		txnlog_seg_path(log, it->firsts[it->n], "", path);
		rc = log->st->open(log->st, path, STORAGE_RDONLY,
				   &it->fds[it->n]);
		if (rc != 0)
			break;
	}
	pthread_mutex_unlock(&log->mu);
	if (!it->firsts || !it->fds || it->n < n)
		goto err;
	it->last = after;
	it->done = n == 0;
	*out = it;
	return 0;
err:
	txnlog_iter_close(it);
	return rc;
}

int txnlog_iter_next(struct txnlog_iter *it, int64_t *zxid,
		     struct zk_bytes *payload)
{
	struct logfmt_record rec;
	uint64_t off;
	char name[LOGFMT_NAME_LEN + 1];
	while (!it->done) {
		if (!it->reading) {
			if (it->idx == it->n) {
				snprintf(it->errmsg, sizeof(it->errmsg),
					 "the log ends at zxid %" PRIx64
					 " before zxid %" PRIx64,
					 (uint64_t)it->last,
					 (uint64_t)it->limit);
				return ZK_CORRUPT;
			}
			segread_init(&it->sr, it->st, it->fds[it->idx],
				     LOGFMT_HEADER_SIZE);
			it->reading = true;
		}
		int rc = segread_next(&it->sr, &rec, &off);
		if (rc == LOGFMT_END) {
			it->reading = false;
			it->idx++;
			continue;
		}
		if (rc != 0) {
			logfmt_name_format(name, it->firsts[it->idx]);
			snprintf(
			    it->errmsg, sizeof(it->errmsg),
			    "%s: bad record at byte offset %" PRIu64 ": %s",
			    name, segread_offset(&it->sr), zk_strerror(rc));
			return rc;
		}
		if (rec.zxid <= it->after)
			continue;
		if (rec.zxid > it->limit)
			break;
		it->last = rec.zxid;
		it->done = rec.zxid == it->limit;
		*zxid = rec.zxid;
		*payload = rec.payload;
		return 0;
	}
	it->done = true;
	return LOGFMT_END;
}

const char *txnlog_iter_errmsg(const struct txnlog_iter *it)
{
	return it->errmsg;
}

void txnlog_iter_close(struct txnlog_iter *it)
{
	for (size_t i = 0; i < it->n; i++)
		it->st->close(it->st, it->fds[i]);
	free(it->fds);
	free(it->firsts);
	segread_free(&it->sr);
	free(it);
}
