/*
 * txnlog_seg_i.h - the state of a transaction log and the helpers its
 * files share (txnlog.c, txnlog_recover.c, txnlog_iter.c, txnlog_seg.c).
 * Nothing outside those files includes this; the rest of replica/ uses
 * txnlog_i.h.  The design, invariants and locking rules are in txnlog.c.
 */
#ifndef ZABFS_TXNLOG_SEG_I_H
#define ZABFS_TXNLOG_SEG_I_H

#include <limits.h>
#include <pthread.h>

#include "txnlog_i.h"
#include "zabfs/jute.h"
#include "zabfs/logfmt.h"

#define READ_CHUNK (256u << 10)
#define ERRMSG_LEN 256

struct seg {
	int64_t first_zxid;
	int64_t last_zxid; /* 0: no records yet */
	uint64_t end;      /* byte offset after the last record */
};

struct txnlog {
	/* Set at open, read-only afterwards. */
	char *dir;
	struct storage *st;
	struct storage *own_st; /* the POSIX storage made at open, or NULL */
	uint64_t seg_size;
	bool no_sync;
	txnlog_durable_cb cb;
	void *cb_arg;
	pthread_t thread;

	pthread_mutex_t mu;
	pthread_cond_t work; /* pairs with the log thread's wait in log_main */
	pthread_cond_t idle; /* pairs with admin_begin's wait */
	/* Protected by mu. */
	struct jute_writer pending;
	size_t roll_at; /* offset in pending where a new segment starts */
	int64_t pending_last;
	int64_t last_appended;
	int64_t durable;
	int failed;
	bool stopping;
	bool busy;      /* the log thread is writing a batch */
	bool exclusive; /* an admin op owns the files and cur_fd */
	/* segs: changed under mu only by the log thread (while busy) or an
	 * admin op (while exclusive), which may read it without mu. */
	struct seg *segs;
	size_t nsegs, capsegs;
	uint64_t fsyncs, fsync_ns, bytes_written;
	char errmsg[ERRMSG_LEN];

	/* Log thread only, or the admin op while exclusive. */
	int cur_fd; /* open on segs[nsegs - 1] for appending, or -1 */
	bool dirty; /* cur_fd has writes not yet synced */
	struct jute_writer writing;
};

struct segread {
	struct storage *st;
	int fd;
	uint8_t *buf; /* owned */
	size_t cap, len, pos;
	uint64_t base; /* file offset of buf[0] */
	bool eof;
};

/* The debug-only checker of txnlog.c's invariants 1, 3 and 5 (mu held,
 * or no log thread yet). */
#ifndef NDEBUG
void txnlog_check_state(const struct txnlog *log);
#define TXNLOG_CHECK_STATE(log) txnlog_check_state(log)
#else
#define TXNLOG_CHECK_STATE(log) ((void)0)
#endif

/* The path of the segment for zxid, with suffix sfx ("" or ".tmp"). */
void txnlog_seg_path(const struct txnlog *log, int64_t zxid, const char *sfx,
		     char out[PATH_MAX]);

/* Record the text of a failure in log->errmsg; mu must not be held. */
void txnlog_set_err(struct txnlog *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* fdatasync (data_only) or fsync fd, counted in the stats. */
int txnlog_timed_sync(struct txnlog *log, int fd, bool data_only);

/* fsync the log's directory; on failure the text is in log->errmsg. */
int txnlog_sync_dir(struct txnlog *log);

/* Room for one more entry in log->segs (reallocated under mu). */
int txnlog_segs_reserve(struct txnlog *log);

/* Cut the segment open on fd at off: truncate, preallocate again, fsync. */
int txnlog_cut_at(struct txnlog *log, int fd, uint64_t off, const char *path);

/* Start reading records of the segment open on fd at file offset off. */
void segread_init(struct segread *r, struct storage *st, int fd, uint64_t off);

/* The file offset where the next record would start. */
uint64_t segread_offset(const struct segread *r);

/*
 * The next record and its file offset.  Returns 0, LOGFMT_END (a zero
 * length, or the file ends here in zeros), ZK_CORRUPT (a record that does
 * not decode, or is cut short by the end of the file), or an I/O error.
 * On anything but 0, segread_offset() is where the records stop.  The
 * record's payload is valid until the next call.
 */
int segread_next(struct segread *r, struct logfmt_record *rec, uint64_t *off);

/* Free the reader's buffer (not the fd). */
void segread_free(struct segread *r);

/* Recover the log in log->dir into log->segs, log->cur_fd, log->durable
 * (txnlog.c, "Recovery").  On failure the text is in err. */
int txnlog_recover(struct txnlog *log, char *err, size_t errlen);

#endif
