/*
 * txnlog_recover.c - opening the log: find the segments, keep the longest
 * valid prefix, cut a torn tail, refuse corruption in the middle.  The
 * rules are in txnlog.c's header ("Recovery").
 */
#include "txnlog_seg_i.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"

struct name_list {
	struct txnlog *log;
	int64_t *zxids;
	size_t n, cap;
	int rc;
};

static int collect_name(void *arg, const char *name)
{
	struct name_list *l = arg;
	int64_t zxid;
	char base[LOGFMT_NAME_LEN + 1];
	snprintf(base, sizeof(base), "%s", name);
	if (strlen(name) == LOGFMT_NAME_LEN + 4 &&
	    strcmp(name + LOGFMT_NAME_LEN, ".tmp") == 0 &&
	    logfmt_name_parse(base, &zxid) == 0) {
		/* a segment whose creation did not finish */
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", l->log->dir, name);
		l->rc = l->log->st->unlink(l->log->st, path);
		return l->rc;
	}
	if (logfmt_name_parse(name, &zxid) != 0)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		int64_t *v = realloc(l->zxids, cap * sizeof(*v));
		if (!v)
			return l->rc = ZK_NOMEM;
		l->zxids = v;
		l->cap = cap;
	}
	l->zxids[l->n++] = zxid;
	return 0;
}

static int cmp_zxid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/*
 * Find where the non-zero bytes of [from, size) end: *dirty_end = from when
 * they are all zero.
 */
static int find_dirty_end(struct txnlog *log, int fd, uint64_t from,
			  uint64_t size, uint64_t *dirty_end)
{
	uint8_t *buf = malloc(READ_CHUNK);
	if (!buf)
		return ZK_NOMEM;
	int rc = 0;
	*dirty_end = from;
	for (uint64_t off = from; off < size;) {
		size_t want =
		    size - off < READ_CHUNK ? (size_t)(size - off) : READ_CHUNK;
		size_t got;
		rc = log->st->pread(log->st, fd, buf, want, off, &got);
		if (rc != 0 || got == 0)
			break;
		for (size_t i = got; i-- > 0;)
			if (buf[i]) {
				*dirty_end = off + i + 1;
				break;
			}
		off += got;
	}
	free(buf);
	return rc;
}

/* Whether a valid record starts anywhere in [from, size) of fd. */
static int valid_record_after(struct txnlog *log, int fd, uint64_t from,
			      uint64_t size, bool *found, uint64_t *at)
{
	size_t n = (size_t)(size - from), got, off;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return ZK_NOMEM;
	int rc = log->st->pread(log->st, fd, buf, n, from, &got);
	*found = rc == 0 && logfmt_find_record(buf, got, 0, &off) == 0;
	if (*found)
		*at = from + off;
	free(buf);
	return rc;
}

/*
 * Scan one segment (fd open read-write, name zxid `first`), appending it
 * to log->segs.  *prev is the last zxid before it; updated.
 */
static int recover_seg(struct txnlog *log, int fd, int64_t first, bool newest,
		       int64_t *prev, char *err, size_t errlen)
{
	char path[PATH_MAX];
	uint8_t hdr[LOGFMT_HEADER_SIZE];
	uint64_t size, off = 0;
	size_t got;
	int64_t hzxid;
	struct segread sr = {0};
	struct logfmt_record rec;
	struct seg s = {first, 0, LOGFMT_HEADER_SIZE};
	txnlog_seg_path(log, first, "", path);
	int rc = log->st->size(log->st, fd, &size);
	if (rc == 0)
		rc = log->st->pread(log->st, fd, hdr, sizeof(hdr), 0, &got);
	if (rc != 0) {
		snprintf(err, errlen, "reading %s: %s", path, zk_strerror(rc));
		return rc;
	}
	if (logfmt_header_decode(hdr, got, &hzxid) != 0 || hzxid != first) {
		snprintf(err, errlen, "%s: bad segment header at byte offset 0",
			 path);
		return ZK_CORRUPT;
	}
	segread_init(&sr, log->st, fd, LOGFMT_HEADER_SIZE);
	while ((rc = segread_next(&sr, &rec, &off)) == 0) {
		if (s.last_zxid == 0 && rec.zxid != first) {
			snprintf(
			    err, errlen,
			    "%s: first record at byte offset %" PRIu64
			    " has zxid %" PRIx64 ", the name says %" PRIx64,
			    path, off, (uint64_t)rec.zxid, (uint64_t)first);
			rc = ZK_CORRUPT;
			goto out;
		}
		if (rec.zxid <= *prev) {
			snprintf(err, errlen,
				 "%s: record at byte offset %" PRIu64
				 " has zxid %" PRIx64 ", not above %" PRIx64,
				 path, off, (uint64_t)rec.zxid,
				 (uint64_t)*prev);
			rc = ZK_CORRUPT;
			goto out;
		}
		*prev = s.last_zxid = rec.zxid;
	}
	if (rc != LOGFMT_END && rc != ZK_CORRUPT) {
		snprintf(err, errlen, "reading %s: %s", path, zk_strerror(rc));
		goto out;
	}
	s.end = segread_offset(&sr);
	uint64_t dirty_end;
	rc = find_dirty_end(log, fd, s.end, size, &dirty_end);
	if (rc != 0) {
		snprintf(err, errlen, "reading %s: %s", path, zk_strerror(rc));
		goto out;
	}
	if (dirty_end > s.end) {
		bool found;
		uint64_t at;
		rc = valid_record_after(log, fd, s.end, size, &found, &at);
		if (rc != 0) {
			snprintf(err, errlen, "reading %s: %s", path,
				 zk_strerror(rc));
			goto out;
		}
		if (found || !newest) {
			rc = ZK_CORRUPT;
			if (found)
				snprintf(
				    err, errlen,
				    "%s: bad record at byte offset %" PRIu64
				    " followed by a valid record at byte"
				    " offset %" PRIu64,
				    path, s.end, at);
			else
				snprintf(
				    err, errlen,
				    "%s: bad record at byte offset %" PRIu64
				    " and newer segments follow",
				    path, s.end);
			goto out;
		}
		rc = txnlog_cut_at(log, fd, s.end, path); /* a torn tail */
		if (rc != 0) {
			snprintf(err, errlen, "%s", log->errmsg);
			goto out;
		}
	}
	rc = txnlog_segs_reserve(log);
	if (rc == 0)
		log->segs[log->nsegs++] = s;
out:
	segread_free(&sr);
	return rc;
}

int txnlog_recover(struct txnlog *log, char *err, size_t errlen)
{
	struct name_list names = {.log = log};
	int64_t prev = 0;
	int fd = -1;
	int rc = log->st->list_dir(log->st, log->dir, collect_name, &names);
	if (rc != 0) {
		snprintf(err, errlen, "listing %s: %s", log->dir,
			 zk_strerror(names.rc ? names.rc : rc));
		goto out;
	}
	if (names.n > 1)
		qsort(names.zxids, names.n, sizeof(int64_t), cmp_zxid);
	for (size_t i = 0; i < names.n; i++) {
		char path[PATH_MAX];
		txnlog_seg_path(log, names.zxids[i], "", path);
		if (fd >= 0)
			log->st->close(log->st, fd);
		fd = -1;
		rc = log->st->open(log->st, path, 0, &fd);
		if (rc != 0) {
			snprintf(err, errlen, "opening %s: %s", path,
				 zk_strerror(rc));
			goto out;
		}
		rc = recover_seg(log, fd, names.zxids[i], i + 1 == names.n,
				 &prev, err, errlen);
		if (rc != 0)
			goto out;
		if (log->nsegs >= 2 &&
		    log->segs[log->nsegs - 2].last_zxid == 0 &&
		    log->segs[log->nsegs - 1].last_zxid != 0) {
			char empty[PATH_MAX];
			txnlog_seg_path(log,
					log->segs[log->nsegs - 2].first_zxid,
					"", empty);
			snprintf(err, errlen,
				 "%s: segment holds no records but %s does",
				 empty, path);
			rc = ZK_CORRUPT;
			goto out;
		}
	}
	/* Trailing segments without records were never written to. */
	bool removed = false;
	while (log->nsegs > 0 && log->segs[log->nsegs - 1].last_zxid == 0) {
		char path[PATH_MAX];
		txnlog_seg_path(log, log->segs[log->nsegs - 1].first_zxid, "",
				path);
		if (fd >= 0)
			log->st->close(log->st, fd);
		fd = -1;
		rc = log->st->unlink(log->st, path);
		if (rc != 0) {
			snprintf(err, errlen, "removing %s: %s", path,
				 zk_strerror(rc));
			goto out;
		}
		log->nsegs--;
		removed = true;
	}
	if (removed && (rc = txnlog_sync_dir(log)) != 0) {
		snprintf(err, errlen, "%s", log->errmsg);
		goto out;
	}
	log->cur_fd = fd; /* the newest segment, kept open for appending */
	fd = -1;
	log->durable = log->last_appended = prev;
out:
	if (fd >= 0)
		log->st->close(log->st, fd);
	free(names.zxids);
	return rc;
}
