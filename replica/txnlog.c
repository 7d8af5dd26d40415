/*
 * txnlog.c - the durable transaction log: its design, the log thread
 * (group commit, segment creation and rolling), appends, truncation and
 * purging.  Recovery is in txnlog_recover.c, iterators in txnlog_iter.c,
 * shared helpers in txnlog_seg.c.  (txnlog_i.h has the API;
 * include/zabfs/logfmt.h the on-disk format.)
 *
 * Design
 *   Segments "log.<first zxid>" in one directory, each a header, records,
 *   then zeros (preallocated).  A segment is created atomically: written to
 *   "log.<zxid>.tmp" (header, preallocation, fsync), renamed, directory
 *   fsynced; so a segment name always has a valid header behind it, and a
 *   leftover .tmp is deleted at open.  A segment is created only for the
 *   record about to be written into it, and the previous segment is
 *   fdatasynced first.
 *
 *   Appends go into `pending` (a buffer of encoded records) under mu.  The
 *   log thread swaps it with `writing`, writes it (one pwrite per segment
 *   touched), fdatasyncs once, publishes `durable` and calls durable_cb.
 *
 * Invariants
 *   1. Records are written in zxid order; zxids strictly increase across
 *      the whole log; every record of segment i is < first zxid of i+1.
 *   2. Segment i+1 is created only after segment i is fdatasynced; so
 *      after a crash only the newest segment can end in a torn record.
 *   3. durable <= last_appended; every record <= durable is on disk and
 *      synced (unless no_sync), and no record > durable was reported.
 *   4. Once `failed` is set it stays set: no more writes, no more syncs.
 *   5. Every segment but the one being written holds at least one record
 *      (an empty one is deleted at open).
 *
 * Recovery (txnlog_open), per segment in zxid order: a bad header is
 * corruption.  Records are read until the first that does not decode; the
 * bytes from there to the end of the file are the tail.  A tail of zeros is
 * clean.  A dirty tail is torn (and cut off: truncate, re-preallocate,
 * fsync) only if it is in the newest segment and no valid record starts
 * anywhere in it; otherwise it is corruption in the middle (ZK_CORRUPT,
 * file and byte offset in the message).  A record whose zxid does not
 * exceed the one before is corruption.  Trailing segments without records
 * are deleted; an empty segment before one with records is corruption.
 *
 * States and their transitions:
 *   RUNNING -> FAILED    a write or sync failed     [fail_locked]
 *   RUNNING -> EXCLUSIVE truncate/purge own files   [admin_begin]
 *   EXCLUSIVE -> RUNNING                            [admin_end]
 *   any -> STOPPED                                  [txnlog_close]
 */
#include "txnlog_seg_i.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/deliberate_bug.h"
#include "zabfs/err.h"

#define NO_ROLL SIZE_MAX

/* Enter FAILED (invariant 4); mu held. */
static void fail_locked(struct txnlog *log, int rc)
{
	if (!log->failed)
		log->failed = rc;
}

/* ---- creating and finishing segments ---------------------------------- */

/* Create the segment for zxid and make it current (invariant 2 holds:
 * the caller finished the previous one). */
static int seg_create(struct txnlog *log, int64_t zxid)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	uint8_t hdr[LOGFMT_HEADER_SIZE];
	int fd;
	int rc = txnlog_segs_reserve(log);
	if (rc != 0)
		return rc;
	const char *step = "open";
	txnlog_seg_path(log, zxid, ".tmp", tmp);
	txnlog_seg_path(log, zxid, "", path);
	rc = log->st->open(log->st, tmp, STORAGE_CREATE, &fd);
	if (rc != 0)
		goto err;
	logfmt_header_encode(hdr, zxid);
	step = "writing the header";
	rc = log->st->pwrite(log->st, fd, hdr, sizeof(hdr), 0);
	if (rc != 0)
		goto err_after_open;
	step = "preallocate";
	rc = log->st->preallocate(log->st, fd, log->seg_size);
	if (rc != 0)
		goto err_after_open;
	step = "fsync";
	rc = txnlog_timed_sync(log, fd, false);
	if (rc != 0)
		goto err_after_open;
	step = "rename";
	rc = log->st->rename(log->st, tmp, path);
	if (rc != 0)
		goto err_after_open;
	step = "fsync of the directory";
	rc = log->st->sync_dir(log->st, log->dir);
	if (rc != 0)
		goto err_after_open;
	pthread_mutex_lock(&log->mu);
	log->segs[log->nsegs++] = (struct seg){zxid, 0, LOGFMT_HEADER_SIZE};
	pthread_mutex_unlock(&log->mu);
	log->cur_fd = fd;
	log->dirty = false;
	return 0;
err_after_open:
	log->st->close(log->st, fd);
err:
	txnlog_set_err(log, "creating segment %s (%s): %s", tmp, step,
		       zk_strerror(rc));
	return rc;
}

/* Sync the current segment if it has unsynced writes. */
static int seg_sync(struct txnlog *log)
{
	if (!log->dirty)
		return 0;
	int rc = txnlog_timed_sync(log, log->cur_fd, true);
	if (rc != 0) {
		char path[PATH_MAX];
		txnlog_seg_path(log, log->segs[log->nsegs - 1].first_zxid, "",
				path);
		txnlog_set_err(log, "fdatasync of %s: %s", path,
			       zk_strerror(rc));
		return rc;
	}
	log->dirty = false;
	return 0;
}

/* Stop appending to the current segment (synced even in no_sync mode, so
 * that invariant 2 holds). */
static int seg_finish(struct txnlog *log)
{
	if (log->cur_fd < 0)
		return 0;
	int rc = seg_sync(log);
	if (rc != 0)
		return rc;
	log->st->close(log->st, log->cur_fd);
	log->cur_fd = -1;
	return 0;
}

/* ---- the log thread --------------------------------------------------- */

static uint32_t rec_len_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t rec_zxid_at(const uint8_t *p)
{
	uint64_t z = 0;
	for (int i = 8; i < 16; i++)
		z = z << 8 | p[i];
	return (int64_t)z;
}

/* Write the batch w (whole encoded records); a new segment starts at
 * roll_at.  One pwrite per segment touched, one sync at the end. */
static int write_batch(struct txnlog *log, const struct jute_writer *w,
		       size_t roll_at)
{
	size_t off = 0;
	int rc;
	while (off < w->len) {
		if (off == roll_at && (rc = seg_finish(log)) != 0)
			return rc;
		if (log->cur_fd < 0 &&
		    (rc = seg_create(log, rec_zxid_at(w->buf + off))) != 0)
			return rc;
		struct seg *s = &log->segs[log->nsegs - 1];
		uint64_t pos = s->end;
		size_t end = off;
		int64_t last = s->last_zxid;
		while (end < w->len && (end == off || end != roll_at)) {
			size_t size =
			    logfmt_record_size(rec_len_at(w->buf + end));
			if (pos + size > log->seg_size &&
			    pos > LOGFMT_HEADER_SIZE)
				break;
			last = rec_zxid_at(w->buf + end);
			pos += size;
			end += size;
		}
		if (end == off) { /* full: the next record needs a new one */
			if ((rc = seg_finish(log)) != 0)
				return rc;
			continue;
		}
		rc = log->st->pwrite(log->st, log->cur_fd, w->buf + off,
				     end - off, s->end);
		if (rc != 0) {
			char path[PATH_MAX];
			txnlog_seg_path(log, s->first_zxid, "", path);
			txnlog_set_err(
			    log, "writing %s at byte offset %" PRIu64 ": %s",
			    path, s->end, zk_strerror(rc));
			return rc;
		}
		log->dirty = true;
		pthread_mutex_lock(&log->mu);
		s->end = pos;
		s->last_zxid = last;
		log->bytes_written += end - off;
		pthread_mutex_unlock(&log->mu);
		off = end;
	}
	if (ZABFS_BUG(ACK_BEFORE_FSYNC) && log->cb)
		log->cb(log->cb_arg, log->segs[log->nsegs - 1].last_zxid, 0);
	if (roll_at == w->len)
		return seg_finish(log);
	return log->no_sync ? 0 : seg_sync(log);
}

static void *log_main(void *arg)
{
	struct txnlog *log = arg;
	pthread_mutex_lock(&log->mu);
	for (;;) {
		while (log->exclusive ||
		       (!log->stopping && log->pending.len == 0 &&
			log->roll_at == NO_ROLL))
			pthread_cond_wait(&log->work, &log->mu);
		if (log->pending.len == 0 && log->roll_at == NO_ROLL)
			break; /* stopping, nothing left */
		struct jute_writer tmp = log->writing;
		log->writing = log->pending;
		log->pending = tmp;
		jute_writer_reset(&log->pending);
		size_t roll_at = log->roll_at;
		log->roll_at = NO_ROLL;
		int64_t last = log->pending_last;
		bool had_failed = log->failed != 0;
		log->busy = true;
		pthread_mutex_unlock(&log->mu);

		int rc =
		    had_failed ? 0 : write_batch(log, &log->writing, roll_at);
		bool records = log->writing.len > 0;
		jute_writer_reset(&log->writing);

		pthread_mutex_lock(&log->mu);
		log->busy = false;
		bool report = !had_failed && (rc != 0 || records);
		if (rc != 0)
			fail_locked(log, rc);
		else if (report)
			log->durable = last;
		int64_t durable = log->durable;
		TXNLOG_CHECK_STATE(log);
		pthread_cond_broadcast(&log->idle);
		pthread_mutex_unlock(&log->mu);
		if (report && log->cb)
			log->cb(log->cb_arg, durable, rc);
		pthread_mutex_lock(&log->mu);
	}
	pthread_mutex_unlock(&log->mu);
	return NULL;
}

/* ---- lifecycle -------------------------------------------------------- */

int txnlog_open(const char *dir, const struct txnlog_options *opts,
		struct txnlog **out, char *errbuf, size_t errlen)
{
	char scratch[ERRMSG_LEN];
	if (errlen == 0) {
		errbuf = scratch;
		errlen = sizeof(scratch);
	}
	errbuf[0] = '\0';
	struct txnlog *log = calloc(1, sizeof(*log));
	int rc = ZK_NOMEM;
	if (!log)
		goto err;
	log->dir = strdup(dir);
	if (!log->dir)
		goto err_after_alloc;
	log->seg_size = opts->segment_size ? opts->segment_size
					   : TXNLOG_DEFAULT_SEGMENT_SIZE;
	log->no_sync = opts->no_sync;
	log->cb = opts->durable_cb;
	log->cb_arg = opts->cb_arg;
	log->st = opts->storage;
	if (!log->st) {
		rc = storage_posix_new(&log->own_st);
		if (rc != 0)
			goto err_after_dir;
		log->st = log->own_st;
	}
	log->roll_at = NO_ROLL;
	log->cur_fd = -1;
	jute_writer_init(&log->pending, 0);
	jute_writer_init(&log->writing, 0);
	pthread_mutex_init(&log->mu, NULL);
	pthread_cond_init(&log->work, NULL);
	pthread_cond_init(&log->idle, NULL);
	rc = txnlog_recover(log, errbuf, errlen);
	if (rc != 0)
		goto err_after_sync;
	TXNLOG_CHECK_STATE(log);
	rc = ZK_NOMEM;
	if (pthread_create(&log->thread, NULL, log_main, log) != 0) {
		snprintf(errbuf, errlen, "cannot start the log thread");
		goto err_after_recover;
	}
	*out = log;
	return 0;
err_after_recover:
	if (log->cur_fd >= 0)
		log->st->close(log->st, log->cur_fd);
err_after_sync:
	pthread_cond_destroy(&log->idle);
	pthread_cond_destroy(&log->work);
	pthread_mutex_destroy(&log->mu);
	jute_writer_free(&log->writing);
	jute_writer_free(&log->pending);
	free(log->segs);
	if (log->own_st)
		log->own_st->destroy(log->own_st);
err_after_dir:
	free(log->dir);
err_after_alloc:
	free(log);
err:
	if (!errbuf[0])
		snprintf(errbuf, errlen, "%s", zk_strerror(rc));
	return rc;
}

void txnlog_close(struct txnlog *log)
{
	pthread_mutex_lock(&log->mu);
	log->stopping = true;
	pthread_cond_signal(&log->work);
	pthread_mutex_unlock(&log->mu);
	pthread_join(log->thread, NULL);
	if (log->cur_fd >= 0)
		log->st->close(log->st, log->cur_fd);
	pthread_cond_destroy(&log->idle);
	pthread_cond_destroy(&log->work);
	pthread_mutex_destroy(&log->mu);
	jute_writer_free(&log->writing);
	jute_writer_free(&log->pending);
	free(log->segs);
	if (log->own_st)
		log->own_st->destroy(log->own_st);
	free(log->dir);
	free(log);
}

/* ---- the loop thread's side ------------------------------------------- */

int txnlog_append(struct txnlog *log, int64_t zxid, const void *payload,
		  size_t n)
{
	if (n > LOGFMT_MAX_PAYLOAD)
		return ZK_TOOBIG;
	if (n == 0 || zxid <= 0)
		return ZK_BADARGUMENTS;
	int rc;
	pthread_mutex_lock(&log->mu);
	if (log->failed)
		rc = ZK_FAILED_STORAGE;
	else if (log->stopping)
		rc = ZK_STOPPED;
	else if (zxid <= log->last_appended)
		rc = ZK_BADARGUMENTS;
	else {
		size_t before = log->pending.len;
		rc = logfmt_record_encode(&log->pending, zxid, payload, n);
		if (rc == 0) {
			log->last_appended = log->pending_last = zxid;
			pthread_cond_signal(&log->work);
		} else {
			log->pending.len = before;
			log->pending.failed = false;
		}
	}
	pthread_mutex_unlock(&log->mu);
	return rc;
}

int64_t txnlog_last_zxid(struct txnlog *log)
{
	pthread_mutex_lock(&log->mu);
	int64_t z = log->last_appended;
	pthread_mutex_unlock(&log->mu);
	return z;
}

int txnlog_roll(struct txnlog *log)
{
	int rc = 0;
	pthread_mutex_lock(&log->mu);
	if (log->failed) {
		rc = ZK_FAILED_STORAGE;
	} else {
		log->roll_at = log->pending.len;
		pthread_cond_signal(&log->work);
	}
	pthread_mutex_unlock(&log->mu);
	return rc;
}

void txnlog_stats(struct txnlog *log, struct txnlog_stats *out)
{
	pthread_mutex_lock(&log->mu);
	out->first_zxid = log->nsegs ? log->segs[0].first_zxid : 0;
	out->last_durable_zxid = log->durable;
	out->fsyncs = log->fsyncs;
	out->fsync_ns = log->fsync_ns;
	out->bytes_written = log->bytes_written;
	out->segments = log->nsegs;
	out->failed = log->failed != 0;
	pthread_mutex_unlock(&log->mu);
}

void txnlog_errmsg(struct txnlog *log, char *buf, size_t len)
{
	if (len == 0)
		return;
	pthread_mutex_lock(&log->mu);
	snprintf(buf, len, "%s", log->errmsg);
	pthread_mutex_unlock(&log->mu);
}

/* ---- truncate and purge ----------------------------------------------- */

/* Wait until the log thread is between batches (and, with drain, until
 * everything appended so far is written), then own the files. */
static int admin_begin(struct txnlog *log, bool drain)
{
	pthread_mutex_lock(&log->mu);
	while (!log->failed &&
	       (log->busy ||
		(drain && (log->pending.len > 0 || log->roll_at != NO_ROLL))))
		pthread_cond_wait(&log->idle, &log->mu);
	int rc = log->failed ? ZK_FAILED_STORAGE : 0;
	if (rc == 0)
		log->exclusive = true;
	pthread_mutex_unlock(&log->mu);
	return rc;
}

static void admin_end(struct txnlog *log, int rc)
{
	pthread_mutex_lock(&log->mu);
	if (rc != 0)
		fail_locked(log, rc);
	log->exclusive = false;
	TXNLOG_CHECK_STATE(log);
	pthread_cond_signal(&log->work);
	pthread_mutex_unlock(&log->mu);
}

/* In the segment open on fd, find the offset after the last record <=
 * zxid and that record's zxid. */
static int find_cut(struct txnlog *log, int fd, int64_t zxid, uint64_t *cut,
		    int64_t *last)
{
	struct segread sr = {0};
	struct logfmt_record rec;
	uint64_t off;
	int rc;
	segread_init(&sr, log->st, fd, LOGFMT_HEADER_SIZE);
	*cut = LOGFMT_HEADER_SIZE;
	*last = 0;
	while ((rc = segread_next(&sr, &rec, &off)) == 0 && rec.zxid <= zxid) {
		*cut = off + rec.size;
		*last = rec.zxid;
	}
	segread_free(&sr);
	return rc < 0 && rc != ZK_CORRUPT ? rc : 0;
}

int txnlog_truncate_after(struct txnlog *log, int64_t zxid)
{
	char path[PATH_MAX];
	int rc = admin_begin(log, true);
	if (rc != 0)
		return rc;
	rc = seg_finish(log);
	if (rc != 0)
		goto out;
	/* Newest first, so a crash in between leaves a prefix (inv. 1). */
	bool removed = false;
	while (log->nsegs > 0 && log->segs[log->nsegs - 1].first_zxid > zxid) {
		txnlog_seg_path(log, log->segs[log->nsegs - 1].first_zxid, "",
				path);
		rc = log->st->unlink(log->st, path);
		if (rc != 0) {
			txnlog_set_err(log, "removing %s: %s", path,
				       zk_strerror(rc));
			goto out;
		}
		pthread_mutex_lock(&log->mu);
		log->nsegs--;
		pthread_mutex_unlock(&log->mu);
		removed = true;
	}
	if (removed && (rc = txnlog_sync_dir(log)) != 0)
		goto out;
	int64_t last = 0;
	if (log->nsegs > 0) {
		struct seg *s = &log->segs[log->nsegs - 1];
		last = s->last_zxid;
		if (s->last_zxid > zxid) {
			int fd;
			uint64_t cut;
			txnlog_seg_path(log, s->first_zxid, "", path);
			rc = log->st->open(log->st, path, 0, &fd);
			if (rc == 0)
				rc = find_cut(log, fd, zxid, &cut, &last);
			if (rc != 0) {
				txnlog_set_err(log, "reading %s: %s", path,
					       zk_strerror(rc));
				goto out;
			}
			rc = txnlog_cut_at(log, fd, cut, path);
			log->st->close(log->st, fd);
			if (rc != 0)
				goto out;
			pthread_mutex_lock(&log->mu);
			s->end = cut;
			s->last_zxid = last;
			pthread_mutex_unlock(&log->mu);
		}
	}
	pthread_mutex_lock(&log->mu);
	log->durable = last;
	log->last_appended = log->pending.len ? log->pending_last : last;
	pthread_mutex_unlock(&log->mu);
out:
	admin_end(log, rc);
	return rc;
}

int txnlog_purge_before(struct txnlog *log, int64_t zxid)
{
	char path[PATH_MAX];
	int rc = admin_begin(log, false);
	if (rc != 0)
		return rc;
	/* Out of the list first (under mu), then unlinked: an iterator
	 * either never sees a purged segment or already holds it open. */
	size_t n = 0;
	while (n + 1 < log->nsegs && log->segs[n + 1].first_zxid <= zxid)
		n++;
	int64_t *gone = malloc((n ? n : 1) * sizeof(*gone));
	if (!gone) {
		admin_end(log, 0);
		return ZK_NOMEM;
	}
	pthread_mutex_lock(&log->mu);
	for (size_t i = 0; i < n; i++)
		gone[i] = log->segs[i].first_zxid;
	memmove(log->segs, log->segs + n,
		(log->nsegs - n) * sizeof(*log->segs));
	log->nsegs -= n;
	pthread_mutex_unlock(&log->mu);
	for (size_t i = 0; i < n && rc == 0; i++) {
		txnlog_seg_path(log, gone[i], "", path);
		rc = log->st->unlink(log->st, path);
		if (rc != 0)
			txnlog_set_err(log, "removing %s: %s", path,
				       zk_strerror(rc));
	}
	free(gone);
	if (n > 0 && rc == 0)
		rc = txnlog_sync_dir(log);
	/* Purge writes no records: a failed unlink does not fail the log
	 * (a segment left behind is found again at the next open). */
	admin_end(log, 0);
	return rc;
}
