/*
 * call.c - the mount's requests to the replica: local sessions, one call,
 * and ZooKeeper error codes as errno.
 *
 * Design
 *   One shared local session serves every write that does not create an
 *   ephemeral.  A process that creates an ephemeral gets a session of its
 *   own (keyed by its thread group id, read from /proc/<tid>/status since
 *   FUSE reports the calling thread), held for as long as the process
 *   lives: the session thread polls a pidfd per such process and closes
 *   the session when the process exits, which deletes its ephemerals.
 *   Local sessions do not expire while the node runs (replica.h); if the
 *   node dies they expire after their timeout, as a client's would.
 *   A call the node refuses because its ensemble has no leader (the
 *   reply says CONNECTIONLOSS: nothing was done) is tried again every
 *   NO_QUORUM_STEP_MS for NO_QUORUM_WAIT_MS, then fails with EROFS.
 *
 * Invariants
 *   1. A struct fs_proc is closed only when it is off the list and no call
 *      uses it (users == 0), by the session thread.
 *   2. The shared session is replaced (reopened) only under the lock, when
 *      a call found it expired; the old one is then closed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "zabfs/err.h"
#include "zabfs/zkproto.h"
#include "fs_i.h"

#define MAX_POLL 1024
/* How long a write waits for the ensemble to have a leader (EROFS after). */
#define NO_QUORUM_WAIT_MS 10000
#define NO_QUORUM_STEP_MS 100

static int read_reply(struct jute_writer *reply, struct jute_reader *body,
		      int *zk_err, int64_t *zxid);

int fs_errno(int zk_err)
{
	switch (zk_err) {
	case ZK_OK:
		return 0;
	case ZK_NONODE:
		return ENOENT;
	case ZK_NODEEXISTS:
		return EEXIST;
	case ZK_NOTEMPTY:
		return ENOTEMPTY;
	case ZK_BADVERSION:
		return ESTALE;
	case ZK_NOAUTH:
		return EACCES;
	case ZK_NOCHILDRENFOREPHEMERALS:
	case ZK_BADARGUMENTS:
	case ZK_INVALIDACL:
	case ZK_MALFORMED:
		return EINVAL;
	case ZK_TOOBIG:
	case ZK_MARSHALLINGERROR:
		return EFBIG;
	case ZK_NOMEM:
		return ENOMEM;
	case ZK_UNIMPLEMENTED:
		return EOPNOTSUPP;
	case ZK_STOPPED:
		return ENOTCONN;
	case ZK_CONNECTIONLOSS:
	case ZK_OPERATIONTIMEOUT:
		return EROFS;
	case ZK_QUOTAEXCEEDED:
		return EDQUOT;
	default:
		return EIO;
	}
}

int32_t fs_session_timeout(struct fs *fs)
{
	return zabfs_replica_config(fs->r)->max_session_timeout_ms;
}

static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return tid;
	pid_t tgid = tid;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Tgid:", 5)) {
			tgid = (pid_t)atoi(line + 5);
			break;
		}
	}
	fclose(f);
	return tgid;
}

static void wake(struct fs_sessions *s)
{
	uint64_t one = 1;
	ssize_t n = write(s->wake_fd, &one, sizeof(one));
	(void)n; /* a full counter already wakes the thread */
}

/* The session of process tgid, with one more user (lock held).  NULL with
 * *err set when it cannot be opened. */
static struct fs_proc *proc_get(struct fs *fs, pid_t tgid, int *err)
{
	struct fs_sessions *s = &fs->sessions;
	for (struct fs_proc *p = s->procs; p; p = p->next) {
		if (p->tgid == tgid && !p->dead) {
			p->users++;
			return p;
		}
	}
	struct fs_proc *p = calloc(1, sizeof(*p));
	if (!p) {
		*err = ENOMEM;
		return NULL;
	}
	p->tgid = tgid;
	p->pidfd = pidfd_open(tgid, 0);
	if (p->pidfd < 0) {
		*err = ESRCH;
		goto free_p;
	}
	int rc = zabfs_local_open(fs->r, fs_session_timeout(fs), &p->local);
	if (rc) {
		*err = fs_errno(rc);
		goto close_fd;
	}
	p->users = 1;
	p->next = s->procs;
	s->procs = p;
	wake(s);
	return p;
close_fd:
	close(p->pidfd);
free_p:
	free(p);
	return NULL;
}

static void proc_put(struct fs_sessions *s, struct fs_proc *p)
{
	pthread_mutex_lock(&s->lock);
	if (--p->users == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

/* Takes p off the list, waits for its calls, closes it (session thread or
 * stop; lock held, released while closing). */
static void proc_close(struct fs_sessions *s, struct fs_proc *p)
{
	struct fs_proc **pp = &s->procs;
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	p->dead = true;
	while (p->users > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	zabfs_local_close(p->local);
	close(p->pidfd);
	free(p);
	pthread_mutex_lock(&s->lock);
}

static void *session_thread(void *arg)
{
	struct fs *fs = arg;
	struct fs_sessions *s = &fs->sessions;
	struct pollfd pfd[MAX_POLL];
	struct fs_proc *who[MAX_POLL];
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		size_t n = 0;
		pfd[n++] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
		for (struct fs_proc *p = s->procs; p && n < MAX_POLL;
		     p = p->next) {
			who[n] = p;
			pfd[n++] = (struct pollfd){.fd = p->pidfd,
						   .events = POLLIN};
		}
		pthread_mutex_unlock(&s->lock);
		(void)poll(pfd, n, -1);
		if (pfd[0].revents & POLLIN) {
			uint64_t v;
			ssize_t got = read(s->wake_fd, &v, sizeof(v));
			(void)got;
		}
		pthread_mutex_lock(&s->lock);
		if (s->stopping)
			break;
		for (size_t i = 1; i < n; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				who[i]->dead = true;
		/* proc_close drops the lock: rescan after each one */
		for (struct fs_proc *p = s->procs; p;) {
			if (!p->dead) {
				p = p->next;
				continue;
			}
			proc_close(s, p);
			p = s->procs;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int fs_sessions_start(struct fs *fs)
{
	struct fs_sessions *s = &fs->sessions;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		return ZK_IO;
	if (pthread_create(&s->thread, NULL, session_thread, fs) != 0)
		return ZK_NOMEM;
	s->thread_started = true;
	return 0;
}

void fs_sessions_stop(struct fs *fs)
{
	struct fs_sessions *s = &fs->sessions;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	if (s->thread_started) {
		wake(s);
		pthread_join(s->thread, NULL);
		s->thread_started = false;
	}
	pthread_mutex_lock(&s->lock);
	while (s->procs)
		proc_close(s, s->procs);
	struct zabfs_local *shared = s->shared;
	s->shared = NULL;
	pthread_mutex_unlock(&s->lock);
	if (shared)
		zabfs_local_close(shared);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	s->wake_fd = -1;
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
}

/* The shared session, opened on first use or after it expired (stale:
 * the one that expired, or NULL). */
static int shared_get(struct fs *fs, struct zabfs_local *stale,
		      struct zabfs_local **out)
{
	struct fs_sessions *s = &fs->sessions;
	int rc = 0;
	struct zabfs_local *old = NULL;
	pthread_mutex_lock(&s->lock);
	if (!s->shared || s->shared == stale) {
		old = s->shared;
		s->shared = NULL;
		rc = zabfs_local_open(fs->r, fs_session_timeout(fs), &s->shared);
		if (rc)
			s->shared = NULL;
	}
	*out = s->shared;
	pthread_mutex_unlock(&s->lock);
	if (old)
		zabfs_local_close(old);
	return rc;
}

static int call_once(struct fs *fs, fuse_req_t req, bool ephemeral,
	    struct jute_writer *w, struct jute_writer *reply,
	    struct jute_reader *body, int *zk_err, int64_t *zxid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct zabfs_caller who;
	fs_caller(req, true, &who);
	struct fs_sessions *s = &fs->sessions;
	if (!jute_writer_ok(w))
		return ENOMEM;
	int rc = ZK_SESSIONEXPIRED;
	for (int attempt = 0; attempt < 2 && rc == ZK_SESSIONEXPIRED;
	     attempt++) {
		jute_writer_reset(reply);
		if (ephemeral) {
			int err = 0;
			pthread_mutex_lock(&s->lock);
			struct fs_proc *p = proc_get(fs, tgid_of(ctx->pid), &err);
			pthread_mutex_unlock(&s->lock);
			if (!p)
				return err;
			rc = zabfs_local_call(p->local, &who, w->buf, w->len,
					      reply);
			if (rc == ZK_SESSIONEXPIRED) {
				pthread_mutex_lock(&s->lock);
				p->dead = true; /* the next call opens anew */
				pthread_mutex_unlock(&s->lock);
				wake(s);
			}
			proc_put(s, p);
		} else {
			struct zabfs_local *l;
			int orc = shared_get(fs, NULL, &l);
			if (orc)
				return fs_errno(orc);
			rc = zabfs_local_call(l, &who, w->buf, w->len, reply);
			if (rc == ZK_SESSIONEXPIRED &&
			    (orc = shared_get(fs, l, &l)) != 0)
				return fs_errno(orc);
		}
	}
	if (rc)
		return fs_errno(rc);
	return read_reply(reply, body, zk_err, zxid);
}

int fs_call_on(struct zabfs_local *l, fuse_req_t req, struct jute_writer *w,
	       struct jute_writer *reply, struct jute_reader *body,
	       int *zk_err, int64_t *zxid)
{
	struct zabfs_caller who;
	fs_caller(req, true, &who);
	if (!jute_writer_ok(w))
		return ENOMEM;
	jute_writer_reset(reply);
	int rc = zabfs_local_call(l, &who, w->buf, w->len, reply);
	if (rc)
		return fs_errno(rc);
	return read_reply(reply, body, zk_err, zxid);
}

int fs_wait_writable(struct fs *fs, fuse_req_t req)
{
	for (uint64_t waited = 0; !zabfs_replica_serving(fs->r);
	     waited += NO_QUORUM_STEP_MS) {
		if (waited >= NO_QUORUM_WAIT_MS || fuse_req_interrupted(req))
			return EROFS;
		struct timespec ts = {0, NO_QUORUM_STEP_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	return 0;
}

int fs_call(struct fs *fs, fuse_req_t req, bool ephemeral,
	    struct jute_writer *w, struct jute_writer *reply,
	    struct jute_reader *body, int *zk_err, int64_t *zxid)
{
	/* Refused before it reached a leader (the ensemble is electing
	 * one): nothing was done, so it is tried again, for a bounded time,
	 * and then fails with EROFS. */
	uint64_t waited = 0;
	for (;;) {
		int err = call_once(fs, req, ephemeral, w, reply, body, zk_err,
				    zxid);
		if (err || *zk_err != ZK_CONNECTIONLOSS ||
		    waited >= NO_QUORUM_WAIT_MS || fuse_req_interrupted(req))
			return err;
		struct timespec ts = {0, NO_QUORUM_STEP_MS * 1000000L};
		nanosleep(&ts, NULL);
		waited += NO_QUORUM_STEP_MS;
	}
}

static int read_reply(struct jute_writer *reply, struct jute_reader *body,
		      int *zk_err, int64_t *zxid)
{
	jute_reader_init(body, reply->buf, reply->len);
	body->max_len = INT32_MAX;
	(void)jute_get_int(body); /* xid */
	int64_t z = jute_get_long(body);
	int32_t err = jute_get_int(body);
	if (!jute_reader_ok(body))
		return EIO;
	*zk_err = err;
	if (zxid)
		*zxid = z;
	return 0;
}
