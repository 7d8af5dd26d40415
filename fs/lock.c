/*
 * lock.c - flock(2) on the mount as ZooKeeper's lock recipe, the way
 * kazoo's Lock, ReadLock and WriteLock take it.
 *
 * Design
 *   A lock on znode P is a contender under P: an ephemeral sequential
 *   znode named <32 hex>__lock__<seq> (LOCK_EX, kazoo's Lock/WriteLock)
 *   or <32 hex>__rlock__<seq> (LOCK_SH, kazoo's ReadLock), whose data is
 *   host:pid of the taker.  An exclusive contender holds the lock when no
 *   contender has a smaller sequence; a shared one when no exclusive
 *   contender has a smaller sequence.  So a shell's flock and kazoo's
 *   recipes exclude each other both ways.
 *
 *   Each lock has a local session of its own that owns the contender: the
 *   lock belongs to the open file (as flock's does), not to the process
 *   that called flock(2), so `exec 9>f; flock 9` keeps it after flock(1)
 *   exits.  Unlock, the file's last close (release with flock_release) or
 *   a failed wait close that session, which deletes the contender in the
 *   same transaction; if the node dies the session expires.
 *
 *   A blocking request is not answered by its FUSE worker: it joins the
 *   waiting list and the lock thread answers it.  The thread re-checks
 *   every waiter whenever the change feed deletes a contender, when a
 *   waiter joins, and when the kernel interrupts a wait (a signal: EINTR,
 *   so `flock -w` times out).
 *
 *   Contenders are the lock's own state, not the file's: they do not make
 *   a file a directory (fs_kind_of), readdir and lookup skip them, the
 *   notifier does not replay them, and removing a znode that has any
 *   fails with EBUSY (write.c).
 *
 * Invariants
 *   1. A waiting request is answered exactly once, by whoever took its
 *      lock off the waiting list.  The interrupt callback finds a waiter
 *      by its request in the list (libfuse keeps the request alive while
 *      the callback runs), so it never touches a lock that left it.
 *   2. f->flock, the waiting list and the list of all locks change only
 *      under locks.lock; a struct fs_lock is freed only after it left
 *      both lists, after its session was closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "zabfs/err.h"
#include "zabfs/zkproto.h"
#include "fs_i.h"

#define SEQ_DIGITS 10
#define EX_MARK "__lock__"
#define SH_MARK "__rlock__"

struct fs_lock {
	struct fs_lock *next_wait; /* the waiting list */
	struct fs_lock *next_all;  /* every lock, for the stop */
	struct fs_file *file;
	struct zabfs_local *session;
	bool exclusive;
	fuse_req_t waiting; /* the request to answer, NULL once answered */
	bool interrupted;
	char seq[SEQ_DIGITS + 1];
	size_t dir_len;
	char node[]; /* the contender's path; its parent is the lock */
};

/* -- contender names -- */

/* The sequence digits of a contender name (and whether it is exclusive),
 * or NULL for any other name. */
static const uint8_t *contender_seq(struct zk_bytes name, bool *exclusive)
{
	if (name.len < SEQ_DIGITS + (int32_t)strlen(EX_MARK))
		return NULL;
	const uint8_t *seq = name.p + name.len - SEQ_DIGITS;
	for (int i = 0; i < SEQ_DIGITS; i++)
		if ((seq[i] < '0' || seq[i] > '9') && !(i == 0 && seq[i] == '-'))
			return NULL;
	size_t before = (size_t)name.len - SEQ_DIGITS;
	size_t ex = strlen(EX_MARK), sh = strlen(SH_MARK);
	if (before >= sh && !memcmp(seq - sh, SH_MARK, sh)) {
		*exclusive = false;
		return seq;
	}
	if (before >= ex && !memcmp(seq - ex, EX_MARK, ex)) {
		*exclusive = true;
		return seq;
	}
	return NULL;
}

bool fs_is_contender(struct zk_bytes name)
{
	bool ex;
	return contender_seq(name, &ex) != NULL;
}

bool fs_has_contender(const struct tree_node *n)
{
	for (struct tree_node *c = tree_child_first(n); c;
	     c = tree_child_next(c))
		if (fs_is_contender(tree_node_name(c)))
			return true;
	return false;
}

/* Sequences compare as kazoo compares them: as strings. */
static int seq_cmp(const uint8_t *a, const char *b)
{
	return memcmp(a, b, SEQ_DIGITS);
}

/* -- the queue, read from the tree -- */

enum lock_state { LOCK_HELD, LOCK_WAIT, LOCK_GONE };

/* Where l stands in its queue (read lock taken here). */
static enum lock_state lock_state(struct fs *fs, const struct fs_lock *l)
{
	enum lock_state st = LOCK_GONE;
	tree_read_lock();
	struct tree_node *dir =
		tree_lookup(fs->tree, zk_bytes_of(l->node, l->dir_len));
	if (!dir ||
	    !tree_lookup_child(fs->tree, dir,
			       zk_bytes_of(l->node + l->dir_len + 1,
					   strlen(l->node) - l->dir_len - 1)))
		goto out;
	st = LOCK_HELD;
	for (struct tree_node *c = tree_child_first(dir); c;
	     c = tree_child_next(c)) {
		bool ex;
		const uint8_t *seq = contender_seq(tree_node_name(c), &ex);
		if (seq && seq_cmp(seq, l->seq) < 0 && (ex || l->exclusive)) {
			st = LOCK_WAIT;
			break;
		}
	}
out:
	tree_read_unlock();
	return st;
}

/* -- taking and dropping -- */

static void lock_free(struct fs_lock *l)
{
	if (l->session)
		zabfs_local_close(l->session);
	free(l);
}

/* Removes l from the list of all locks (locks lock held). */
static void all_unlink(struct fs_locks *ls, struct fs_lock *l)
{
	struct fs_lock **pp = &ls->all;
	while (*pp && *pp != l)
		pp = &(*pp)->next_all;
	if (*pp)
		*pp = l->next_all;
}

static void wait_unlink(struct fs_locks *ls, struct fs_lock *l)
{
	struct fs_lock **pp = &ls->waiting;
	while (*pp && *pp != l)
		pp = &(*pp)->next_wait;
	if (*pp)
		*pp = l->next_wait;
}

/* Creates l's contender on a new session: 0 or errno. */
static int lock_enqueue(struct fs *fs, fuse_req_t req, struct fs_lock *l,
			const char *dir)
{
	int rc = zabfs_local_open(fs->r, fs_session_timeout(fs), &l->session);
	if (rc) {
		l->session = NULL;
		return fs_errno(rc);
	}
	uint8_t rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return EIO;
	char name[4096];
	int n = snprintf(name, sizeof(name), "%s/", strcmp(dir, "/") ? dir : "");
	for (size_t i = 0; i < sizeof(rnd); i++)
		n += snprintf(name + n, sizeof(name) - (size_t)n, "%02x",
			      rnd[i]);
	snprintf(name + n, sizeof(name) - (size_t)n, "%s",
		 l->exclusive ? EX_MARK : SH_MARK);
	char host[256] = "?", who[300];
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	snprintf(who, sizeof(who), "%s:%d", host, (int)fuse_req_ctx(req)->pid);

	struct jute_writer w, reply;
	struct jute_reader body;
	jute_writer_init(&w, 256);
	jute_writer_init(&reply, 256);
	struct zk_request r = {.type = ZK_OP_CREATE};
	r.u.create.path = zk_bytes_of(name, strlen(name));
	r.u.create.data = zk_bytes_of(who, strlen(who));
	r.u.create.acl = (struct zk_vec){1, zk_bytes_of(fs->world_acl.buf,
							fs->world_acl.len)};
	r.u.create.flags = ZK_MODE_EPHEMERAL_SEQUENTIAL;
	zk_request_encode(&w, &r);
	int zk_err = 0;
	int err = fs_call_on(l->session, req, &w, &reply, &body, &zk_err,
			     NULL);
	if (!err && !(err = fs_errno(zk_err))) {
		struct zk_bytes made = jute_get_buffer(&body);
		size_t cap = strlen(dir) + 1 + 64 + SEQ_DIGITS + 16;
		if (!jute_reader_ok(&body) || made.len < SEQ_DIGITS ||
		    (size_t)made.len >= cap)
			err = EIO;
		else {
			memcpy(l->node, made.p, (size_t)made.len);
			l->node[made.len] = 0;
			memcpy(l->seq, made.p + made.len - SEQ_DIGITS,
			       SEQ_DIGITS);
			l->seq[SEQ_DIGITS] = 0;
		}
	}
	jute_writer_free(&w);
	jute_writer_free(&reply);
	return err;
}

static struct fs_lock *lock_new(struct fs_file *f, bool exclusive)
{
	size_t cap = f->inode->path_len + 1 + 64 + SEQ_DIGITS + 16;
	struct fs_lock *l = calloc(1, sizeof(*l) + cap);
	if (!l)
		return NULL;
	l->file = f;
	l->exclusive = exclusive;
	l->dir_len = f->inode->path_len;
	return l;
}

/* Takes f's lock off it (and off the waiting list, answering a waiter
 * with err) and frees it: the contender goes with its session. */
static void lock_drop(struct fs *fs, struct fs_file *f, int err)
{
	struct fs_locks *ls = &fs->locks;
	pthread_mutex_lock(&ls->lock);
	struct fs_lock *l = f->flock;
	f->flock = NULL;
	fuse_req_t req = NULL;
	if (l) {
		all_unlink(ls, l);
		if (l->waiting) {
			wait_unlink(ls, l);
			req = l->waiting;
			l->waiting = NULL;
		}
	}
	pthread_mutex_unlock(&ls->lock);
	if (req)
		fuse_reply_err(req, err);
	if (l)
		lock_free(l);
}

/* The kernel interrupted a request (a signal).  Runs on a FUSE worker;
 * finds the waiter by its request, since the lock may be gone. */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct fs_locks *ls = data;
	pthread_mutex_lock(&ls->lock);
	for (struct fs_lock *l = ls->waiting; l; l = l->next_wait) {
		if (l->waiting == req) {
			l->interrupted = true;
			ls->changed = true;
			pthread_cond_signal(&ls->wake);
		}
	}
	pthread_mutex_unlock(&ls->lock);
}

static void op_flock(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi, int op)
{
	(void)ino;
	struct fs *fs = fuse_req_userdata(req);
	struct fs_file *f = fs_file_of(fi);
	struct fs_locks *ls = &fs->locks;
	int kind = op & (LOCK_SH | LOCK_EX | LOCK_UN);
	if (f->replay) {
		fuse_reply_err(req, 0);
		return;
	}
	if (kind != LOCK_SH && kind != LOCK_EX && kind != LOCK_UN) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	pthread_mutex_lock(&ls->lock);
	struct fs_lock *cur = f->flock;
	bool busy = cur && cur->waiting;
	bool same = cur && !busy && cur->exclusive == (kind == LOCK_EX);
	pthread_mutex_unlock(&ls->lock);
	if (busy && kind != LOCK_UN) {
		fuse_reply_err(req, EDEADLK); /* another thread waits on f */
		return;
	}
	if (kind == LOCK_UN || !same)
		lock_drop(fs, f, EINTR); /* flock converts by unlock + lock */
	if (kind == LOCK_UN || same) {
		fuse_reply_err(req, 0);
		return;
	}
	if (f->create) { /* flock(1) creates the file it locks: make it now */
		pthread_mutex_lock(&f->lock);
		int cerr = f->create ? fs_file_commit(fs, req, f) : 0;
		pthread_mutex_unlock(&f->lock);
		if (cerr) {
			fuse_reply_err(req, cerr);
			return;
		}
	}
	struct fs_lock *l = lock_new(f, kind == LOCK_EX);
	int err = l ? lock_enqueue(fs, req, l, f->inode->path) : ENOMEM;
	if (!err && (op & LOCK_NB)) {
		enum lock_state st = lock_state(fs, l);
		err = st == LOCK_HELD ? 0
		      : st == LOCK_WAIT ? EWOULDBLOCK
					: ENOLCK;
	}
	if (err) {
		if (l)
			lock_free(l);
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&ls->lock);
	f->flock = l;
	l->next_all = ls->all;
	ls->all = l;
	pthread_mutex_unlock(&ls->lock);
	if (op & LOCK_NB) {
		fuse_reply_err(req, 0);
		return;
	}
	/* Joins the waiters; the lock thread answers, and looks at once.
	 * The callback may run from here on (at once if the request was
	 * interrupted already), so it is set before the request is listed
	 * and the flag is read after. */
	fuse_req_interrupt_func(req, on_interrupt, ls);
	pthread_mutex_lock(&ls->lock);
	l->waiting = req;
	l->interrupted = fuse_req_interrupted(req);
	l->next_wait = ls->waiting;
	ls->waiting = l;
	ls->changed = true;
	pthread_cond_signal(&ls->wake);
	pthread_mutex_unlock(&ls->lock);
}

void fs_lock_release(struct fs *fs, struct fs_file *f)
{
	lock_drop(fs, f, EINTR);
}

/* -- the lock thread -- */

struct answer {
	struct fs_lock *l;
	fuse_req_t req;
	int err;
};

static void *lock_thread(void *arg)
{
	struct fs *fs = arg;
	struct fs_locks *ls = &fs->locks;
	pthread_mutex_lock(&ls->lock);
	for (;;) {
		while (!ls->changed && !ls->stopping)
			pthread_cond_wait(&ls->wake, &ls->lock);
		if (ls->stopping)
			break;
		ls->changed = false;
		/* Decides every waiter, then answers outside the lock. */
		size_t n = 0, cap = 16;
		struct answer *a = malloc(cap * sizeof(*a));
		struct fs_lock **pp = &ls->waiting;
		while (a && *pp) {
			struct fs_lock *l = *pp;
			enum lock_state st =
				l->interrupted ? LOCK_GONE : lock_state(fs, l);
			if (st == LOCK_WAIT) {
				pp = &l->next_wait;
				continue;
			}
			if (n == cap) {
				struct answer *b =
					realloc(a, 2 * cap * sizeof(*a));
				if (!b)
					break;
				a = b;
				cap *= 2;
			}
			*pp = l->next_wait;
			a[n].l = l;
			a[n].req = l->waiting;
			a[n].err = st == LOCK_HELD ? 0
				   : l->interrupted ? EINTR
						    : ENOLCK;
			l->waiting = NULL;
			if (a[n].err) { /* not held: off the file */
				l->file->flock = NULL;
				all_unlink(ls, l);
			}
			n++;
		}
		if (!a)
			ls->changed = true; /* try again */
		pthread_mutex_unlock(&ls->lock);
		for (size_t i = 0; i < n; i++) {
			fuse_reply_err(a[i].req, a[i].err);
			if (a[i].err)
				lock_free(a[i].l);
		}
		free(a);
		pthread_mutex_lock(&ls->lock);
	}
	pthread_mutex_unlock(&ls->lock);
	return NULL;
}

void fs_locks_poke(struct fs *fs)
{
	struct fs_locks *ls = &fs->locks;
	pthread_mutex_lock(&ls->lock);
	if (ls->waiting) {
		ls->changed = true;
		pthread_cond_signal(&ls->wake);
	}
	pthread_mutex_unlock(&ls->lock);
}

int fs_locks_start(struct fs *fs)
{
	struct fs_locks *ls = &fs->locks;
	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->wake, NULL);
	if (pthread_create(&ls->thread, NULL, lock_thread, fs) != 0)
		return -1;
	ls->thread_started = true;
	return 0;
}

/* After the FUSE loop ended: nobody can still wait, take or drop a lock.
 * Every lock's session is closed (its contender goes). */
void fs_locks_stop(struct fs *fs)
{
	struct fs_locks *ls = &fs->locks;
	if (!ls->thread_started)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->stopping = true;
	pthread_cond_signal(&ls->wake);
	pthread_mutex_unlock(&ls->lock);
	pthread_join(ls->thread, NULL);
	ls->thread_started = false;
	while (ls->all) {
		struct fs_lock *l = ls->all;
		ls->all = l->next_all;
		if (l->waiting)
			fuse_reply_err(l->waiting, EINTR);
		l->file->flock = NULL;
		lock_free(l);
	}
	ls->waiting = NULL;
	pthread_cond_destroy(&ls->wake);
	pthread_mutex_destroy(&ls->lock);
}

/* -- user.zk.lock -- */

struct contender {
	const uint8_t *seq;
	bool exclusive;
	struct zk_bytes name, data;
};

static int contender_cmp(const void *a, const void *b)
{
	const struct contender *x = a, *y = b;
	return memcmp(x->seq, y->seq, SEQ_DIGITS);
}

size_t fs_lock_text(const struct tree_node *n, char *out, size_t cap)
{
	size_t count = 0, len = 0;
	for (struct tree_node *c = tree_child_first(n); c;
	     c = tree_child_next(c))
		count += fs_is_contender(tree_node_name(c));
	if (count == 0)
		return 0;
	struct contender *cs = malloc(count * sizeof(*cs));
	if (!cs)
		return 0;
	size_t k = 0;
	for (struct tree_node *c = tree_child_first(n); c && k < count;
	     c = tree_child_next(c)) {
		struct zk_bytes name = tree_node_name(c);
		bool ex;
		const uint8_t *seq = contender_seq(name, &ex);
		if (!seq)
			continue;
		struct tree_view v;
		tree_node_read(c, &v);
		cs[k++] = (struct contender){seq, ex, name, v.data};
	}
	qsort(cs, k, sizeof(*cs), contender_cmp);
	bool exclusive_before = false;
	for (size_t i = 0; i < k; i++) {
		bool held = cs[i].exclusive ? i == 0 : !exclusive_before;
		exclusive_before |= cs[i].exclusive;
		char line[1024];
		int dl = cs[i].data.len > 0 && cs[i].data.len < 256
				 ? cs[i].data.len
				 : 0;
		int nl = snprintf(line, sizeof(line), "%s %s %.*s %.*s\n",
				  held ? "held" : "waiting",
				  cs[i].exclusive ? "exclusive" : "shared", dl,
				  dl ? (const char *)cs[i].data.p : "",
				  (int)cs[i].name.len,
				  (const char *)cs[i].name.p);
		if (nl > 0 && (size_t)nl < sizeof(line)) {
			if (len + (size_t)nl <= cap)
				memcpy(out + len, line, (size_t)nl);
			len += (size_t)nl;
		}
	}
	free(cs);
	return len;
}

void fs_ops_lock(struct fuse_lowlevel_ops *ops)
{
	ops->flock = op_flock;
}
