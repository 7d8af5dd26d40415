/*
 * txnlog_i.h - the durable transaction log of a node (replica/txnlog.c).
 *
 * Design
 *   The loop thread appends records (zxid + an opaque transaction
 *   encoding); txnlog_append copies the record into a pending batch and
 *   returns at once.  A log thread takes the whole pending batch, writes it
 *   with as few pwrites as it can, calls fdatasync once for the batch
 *   (group commit) and reports the highest durable zxid through durable_cb.
 *   Files and their format: include/zabfs/logfmt.h; every file operation
 *   goes through a struct storage (storage_i.h).
 *
 *   Storage failure is sticky: after a failed write or sync the log refuses
 *   every later append (ZK_FAILED_STORAGE), reports the failure once, and
 *   never retries an fsync.  The node recovers by restarting (txnlog_open).
 *
 * Threads
 *   txnlog_append, txnlog_roll, txnlog_stats, txnlog_errmsg and the
 *   iterators are safe from any thread and never wait for disk (an
 *   iterator reads files itself, on its caller's thread).
 *   txnlog_truncate_after and txnlog_purge_before wait for the log thread
 *   to finish its batch and do disk I/O on the caller's thread: call them
 *   from a thread that may block (startup, sync with the leader, the
 *   snapshot thread), never concurrently with each other.
 */
#ifndef ZABFS_TXNLOG_I_H
#define ZABFS_TXNLOG_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage_i.h"
#include "zabfs/types.h"

#define TXNLOG_DEFAULT_SEGMENT_SIZE (64u << 20)

struct txnlog;
struct txnlog_iter;

/*
 * Called on the log thread, never with a log lock held, and never if
 * txnlog_open failed.  status 0: every record up to zxid is durable (zxid
 * grows from call to call, except after txnlog_truncate_after).  status <
 * 0: the log failed (zxid is the last durable one); this is the last call.
 * The callback must not call back into the log except txnlog_stats and
 * txnlog_errmsg, and must not block for long: it delays the next batch.
 */
typedef void (*txnlog_durable_cb)(void *arg, int64_t zxid, int status);

struct txnlog_options {
	uint64_t segment_size; /* preallocated segment size; 0: default */
	bool no_sync;          /* forceSync=no: never fdatasync records;
				* for benchmarks only: after a power loss
				* the log may even fail to open */
	txnlog_durable_cb durable_cb; /* may be NULL */
	void *cb_arg;
	struct storage *storage; /* NULL: POSIX; else borrowed, must
				  * outlive the log */
};

struct txnlog_stats {
	int64_t first_zxid;        /* first zxid of the oldest segment, 0 */
	int64_t last_durable_zxid; /* 0 when the log is empty */
	uint64_t fsyncs;           /* fdatasync/fsync of segment files */
	uint64_t fsync_ns;         /* total time in them */
	uint64_t bytes_written;    /* record bytes written */
	uint64_t segments;         /* segment files now */
	bool failed;
};

/*
 * Open the log in dir (which must exist), recovering it: keep the longest
 * valid prefix, discard a torn tail, and fail with ZK_CORRUPT on
 * corruption in the middle.  On failure a message naming the file and
 * byte offset is put in errbuf (errlen bytes, may be 0) and *out is unset.
 * On success the log thread runs and *out is the caller's to close.
 */
int txnlog_open(const char *dir, const struct txnlog_options *opts,
		struct txnlog **out, char *errbuf, size_t errlen);

/* Write what is pending, stop the log thread, free the log. */
void txnlog_close(struct txnlog *log);

/*
 * Queue a record; zxid must be greater than every zxid already in the log
 * and > 0; n is 1..LOGFMT_MAX_PAYLOAD.  The payload is copied.  Returns 0
 * (durable_cb says when it is durable), ZK_BADARGUMENTS, ZK_TOOBIG,
 * ZK_NOMEM, ZK_FAILED_STORAGE or ZK_STOPPED.  Never blocks on disk.
 */
int txnlog_append(struct txnlog *log, int64_t zxid, const void *payload,
		  size_t n);

/* The highest zxid appended (durable or not), 0 if none. */
int64_t txnlog_last_zxid(struct txnlog *log);

/* Records appended after this call go to a new segment.  Returns 0 or
 * ZK_FAILED_STORAGE. */
int txnlog_roll(struct txnlog *log);

/*
 * Durably drop every record with a zxid greater than zxid (the ensemble's
 * TRUNC).  Waits until everything appended is written, then truncates;
 * appends must not race with it (a follower truncates before it accepts
 * proposals).  Afterwards appends continue from the new last zxid, in a
 * new segment.  Returns 0, ZK_FAILED_STORAGE, or the storage's error
 * (which fails the log).
 */
int txnlog_truncate_after(struct txnlog *log, int64_t zxid);

/*
 * Delete whole segments all of whose records are < zxid; never the segment
 * holding zxid or later records, never the newest segment.  Returns 0 or a
 * storage error (the log stays usable: purge writes no records).
 */
int txnlog_purge_before(struct txnlog *log, int64_t zxid);

void txnlog_stats(struct txnlog *log, struct txnlog_stats *out);

/* The text of the last failure ("" if none), into buf. */
void txnlog_errmsg(struct txnlog *log, char *buf, size_t len);

/*
 * An iterator over the durable records with zxid > after, as they are when
 * it is opened.  Returns 0, ZK_NOMEM or a storage error.  Segments purged
 * after it opened stay readable through it; a truncate_after of records it
 * would yield makes it fail with ZK_CORRUPT.
 */
int txnlog_iter_open(struct txnlog *log, int64_t after,
		     struct txnlog_iter **out);

/*
 * The next record: returns 0 and sets *zxid and *payload (a view into the
 * iterator, valid until the next call or close), LOGFMT_END when there are
 * no more, or a negative error (txnlog_iter_errmsg says where).
 */
int txnlog_iter_next(struct txnlog_iter *it, int64_t *zxid,
		     struct zk_bytes *payload);

/* Why txnlog_iter_next last failed ("" if it did not). */
const char *txnlog_iter_errmsg(const struct txnlog_iter *it);

void txnlog_iter_close(struct txnlog_iter *it);

#endif
