/*
 * fs_i.h - the mount's internals, shared by the files of fs/.
 *
 * Design
 *   The mount has no state of its own about znodes: every request reads
 *   the replica's tree under RCU (reads) or sends a ZooKeeper request
 *   through a local session (writes).  What fs/ keeps is what the kernel
 *   needs to talk about: inodes it was told about (struct fs_inode, in a
 *   table keyed by node id), open handles (struct fs_file: a read snapshot
 *   or a write buffer), the local sessions (one shared, one per process
 *   that creates ephemerals), and the queue of tree changes for the
 *   notifier thread.
 *
 *   Inode numbers are derived, not allocated: a znode's tree_node_id()
 *   and the kind it is shown as give ino = id << 2 | kind (kind 0 file,
 *   1 directory, 2 the virtual DIR/.data file); the root directory is
 *   FUSE's 1.  The kind of a znode is a function of its replicated state
 *   (made by mkdir, or has children: directory; else file), so every node
 *   of an ensemble gives the same numbers, and a kind change gives a new
 *   number (the kernel never sees an inode change type).  Two high bits of
 *   the epoch are lost in the shift: numbers are unique unless epochs
 *   reach 16384.
 *
 * Invariants
 *   1. An fs_inode is in the table from the first reply that names it to
 *      the forget that brings its lookup count to 0; the kernel sends no
 *      request for it afterwards, so handlers use it without the lock.
 *      Its path, id and kind never change.
 *   2. A request resolves its inode to a tree node by path, then checks
 *      the node's id and current kind: a different node or kind is ESTALE,
 *      none is ENOENT.
 *   3. No FUSE handler sends a kernel notification; only the notifier
 *      thread does (fs/notify.c).
 *   4. Requests made by the notifier thread (its replays, recognised by
 *      the caller's thread id) change nothing.
 */
#ifndef ZABFS_FS_I_H
#define ZABFS_FS_I_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "zabfs/jute.h"
#include "zabfs/replica.h"
#include "zabfs/tree.h"

enum fs_kind {
	FS_KIND_FILE = 0,
	FS_KIND_DIR = 1,
	FS_KIND_DATA = 2, /* DIR/.data: the data of directory `path` */
};

#define FS_DATA_NAME ".data"
#define FS_ZK_PREFIX "/zookeeper"

struct fs_inode {
	uint64_t ino;          /* FUSE nodeid == st_ino */
	uint64_t id;           /* tree_node_id() */
	enum fs_kind kind;
	uint64_t nlookup;      /* table lock */
	struct fs_inode *next; /* hash chain, table lock */
	size_t path_len;
	char path[];           /* the znode's path ("/" for the root) */
};

/* The bit of a pending inode's number (inode.c); ids never reach it. */
#define FS_PENDING_INO (UINT64_C(1) << 63)

struct fs_table {
	uint64_t pending; /* pending inodes made, lock */
	pthread_mutex_t lock;
	struct fs_inode **slots;
	size_t n_slots; /* power of two */
	size_t count;
};

/* One process that made ephemerals: its own session, closed when it exits
 * (a pidfd polled by the session thread). */
struct fs_proc {
	pid_t tgid;
	int pidfd;
	struct zabfs_local *local;
	int users;            /* calls in progress; sessions lock */
	bool dead;            /* the process exited; sessions lock */
	struct fs_proc *next; /* sessions lock */
};

struct fs_sessions {
	pthread_mutex_t lock;
	pthread_cond_t idle;       /* a proc's users dropped to 0 */
	struct zabfs_local *shared; /* for everything but ephemerals */
	struct fs_proc *procs;
	int wake_fd;               /* eventfd: the proc list changed, or stop */
	bool stopping;
	pthread_t thread;          /* pidfd poll + pings */
	bool thread_started;
};

/* One change from the feed, copied on the loop thread. */
struct fs_event {
	struct fs_event *next;
	enum tree_change type;
	int64_t zxid;
	uint64_t id;         /* the node's id */
	enum fs_kind kind;   /* its kind after the change (before a delete) */
	uint64_t parent_id;  /* 0 for the root */
	bool fixed_dir;      /* made by mkdir (or the root): always a dir */
	int64_t size;        /* dataLength after the change */
	size_t path_len;
	char path[];
};

/* A change this mount is making: the notifier does not replay it (the
 * kernel saw it).  zxid 0 while the call is in flight. */
struct fs_own {
	struct fs_own *next;
	int64_t zxid;
	bool seq; /* path is a prefix: a sequential create's name is unknown */
	size_t path_len;
	char path[];
};

/* What the notifier thread is replaying right now (notifier lock). */
enum fs_replay_op {
	FS_REPLAY_NONE = 0,
	FS_REPLAY_CREATE,  /* lookup of name says ENOENT, mknod/mkdir finds */
	FS_REPLAY_DELETE,  /* lookup of name finds the deleted node */
};

struct fs_notifier {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct fs_event *head, *tail; /* lock */
	struct fs_own *own;           /* lock */
	bool stopping;                /* lock */
	pthread_t thread;
	bool thread_started;
	pid_t tid;                    /* the notifier's thread id, set once */
	/* the replay in progress, lock */
	enum fs_replay_op op;
	uint64_t replay_parent;  /* parent ino */
	char replay_name[256];
	uint64_t replay_id;
	enum fs_kind replay_kind;
	char replay_path[4096];
};

/* flock locks (lock.c). */
struct fs_lock;
struct fs_locks {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct fs_lock *waiting; /* blocking requests not answered yet */
	struct fs_lock *all;     /* every lock taken or asked for */
	bool changed;            /* look at the waiters again */
	bool stopping;
	pthread_t thread;
	bool thread_started;
};

struct fs {
	struct zabfs_replica *r;
	struct tree *tree;
	int32_t max_data; /* jute.maxbuffer */
	char *mnt;        /* the mount point */
	struct fuse_session *se;
	pthread_t loop_thread;
	bool loop_started;
	struct fs_table table;
	struct fs_sessions sessions;
	struct fs_notifier notifier;
	struct fs_locks locks;
	struct jute_writer world_acl; /* vector<ACL> world:anyone:cdrwa */
	struct tree_listener feed;    /* given to zabfs_replica_set_feed */
};

/* An open file or directory (fi->fh). */
struct fs_file {
	pthread_mutex_t lock;
	struct fs_inode *inode;
	bool replay;     /* opened by the notifier: every op is a no-op */
	bool writable;
	bool append;     /* O_APPEND: buf holds the bytes to append */
	bool dirty;      /* written since the last commit */
	bool trunc;      /* O_TRUNC and no commit yet */
	bool failed;     /* a write failed (EFBIG): nothing is committed */
	bool create;     /* the znode is made at the first commit (pending) */
	uint8_t *buf;    /* read snapshot, write buffer, or dir listing */
	size_t len, cap;
	struct fs_lock *flock; /* locks.lock */
};

/* -- inode.c -- */
int fs_table_init(struct fs_table *t);
void fs_table_free(struct fs_table *t);
uint64_t fs_ino_of(uint64_t id, enum fs_kind kind);
/* The inode for ino, or NULL (not known to the kernel). */
struct fs_inode *fs_table_get(struct fs_table *t, uint64_t ino);
/* The same for a request about ino; NULL after replying ESTALE. */
struct fs_inode *fs_inode_or_reply(struct fs *fs, fuse_req_t req,
				   uint64_t ino);
/* Finds or adds the inode and counts one more lookup.  NULL: no memory. */
struct fs_inode *fs_table_ref(struct fs_table *t, uint64_t id,
			      enum fs_kind kind, const char *path,
			      size_t path_len);
void fs_table_forget(struct fs_table *t, uint64_t ino, uint64_t n);
/* A new pending inode for path, looked up once.  NULL: no memory. */
struct fs_inode *fs_table_add_pending(struct fs_table *t, const char *path,
				      size_t path_len);
/* The kind node n (read as v) is shown as now (under the read lock):
 * a directory when made by mkdir or when it has children other than lock
 * contenders. */
enum fs_kind fs_kind_of(const struct tree_node *n, const struct tree_view *v);
/* Under the read lock: the tree node for an inode, or NULL with *err
 * ENOENT / ESTALE.  For FS_KIND_DATA, the directory's node; for a pending
 * inode, the node at its path if there is one. */
struct tree_node *fs_resolve(struct fs *fs, const struct fs_inode *in,
			     struct tree_view *v, int *err);
/* Fills st for a node read as v, shown as kind (under the read lock). */
void fs_fill_attr(struct fs *fs, const struct tree_node *n,
		  const struct tree_view *v, enum fs_kind kind,
		  struct stat *st);
/* -- perm.c -- */
/* The calling process; groups: its supplementary groups too (a read of
 * /proc). */
void fs_caller(fuse_req_t req, bool groups, struct zabfs_caller *who);
/* May the caller do need (ZK_PERM_* bits, all of them) on a node with
 * this ACL?  (read lock held) */
bool fs_allowed(struct fs *fs, fuse_req_t req, const struct tree_view *v,
		int32_t need);
/* st_mode, st_uid and st_gid for the node's ACL. */
void fs_acl_mode(const struct tree_view *v, enum fs_kind kind,
		 bool read_only, struct stat *st);
bool fs_is_zookeeper(const char *path, size_t len);
/* Joins parent path and name into buf (cap bytes); length or -1. */
long fs_path_join(char *buf, size_t cap, const char *parent,
		  size_t parent_len, const char *name);
/* Replies to a lookup-like request with the entry for node n (read lock
 * held), adding it to the table.  timeout: entry timeout in seconds. */
void fs_reply_node(struct fs *fs, fuse_req_t req, struct tree_node *n,
		   const struct tree_view *v, double timeout,
		   struct fuse_file_info *create_fi);

#define FS_ENTRY_TIMEOUT 1.0 /* seconds; the notifier invalidates */
#define FS_CAS_TRIES 1000     /* compare-and-set tries before EBUSY */

static inline struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct fs_file *fs_file_of(struct fuse_file_info *fi)
{
	return (struct fs_file *)(uintptr_t)fi->fh;
}

/* -- the operations: read.c, file.c, names.c, xattr_set.c -- */
void fs_ops_read(struct fuse_lowlevel_ops *ops);
void fs_ops_file(struct fuse_lowlevel_ops *ops);
void fs_ops_names(struct fuse_lowlevel_ops *ops);
void fs_ops_xattr_set(struct fuse_lowlevel_ops *ops);
/* Replies with in's attributes (f: its open file, or NULL). */
void fs_reply_attr(struct fs *fs, fuse_req_t req, struct fs_inode *in,
		   const struct fs_file *f);
/* Commits what f holds (file.c; f->lock held): the pending create, the
 * buffer, or the appends. */
int fs_file_commit(struct fs *fs, fuse_req_t req, struct fs_file *f);

/* -- names.c: what file.c's create shares -- */
/* The parent inode for a namespace op, or NULL with *err. */
struct fs_inode *fs_dir_inode(struct fs *fs, fuse_ino_t parent, int *err);
/* Replies with the entry for path (after a create or for a replay). */
void fs_reply_path(struct fs *fs, fuse_req_t req, const char *path,
		   double timeout, struct fuse_file_info *fi);
/* Can name be created under p now?  0 with the path in out; EEXIST when
 * it exists (open it instead); or the errno a create would give:
 * ENAMETOOLONG, EINVAL (bad name, ephemeral parent), ENOENT, EACCES. */
int fs_create_check(struct fs *fs, fuse_req_t req, const struct fs_inode *p,
		    const char *name, char *out, size_t cap);
/* Does name end in a .eph / .seq marker? */
bool fs_name_marked(const char *name);
/* Creates parent/name (markers parsed) with shape; on success the path
 * made is in out.  NODEEXISTS of a name without marker leaves the path
 * in out too (the caller may open it). */
int fs_make_node(struct fs *fs, fuse_req_t req, const struct fs_inode *p,
		 const char *name, int32_t shape, bool *marked, char *out,
		 size_t cap);

/* -- zkop.c: the requests of the writes -- */
struct fs_zkcall {
	struct jute_writer w, reply;
	struct jute_reader body;
	int zk_err;
	int64_t zxid;
};
void fs_zkcall_init(struct fs_zkcall *c);
void fs_zkcall_free(struct fs_zkcall *c);
/* Sends c->w, marking paths a (and b) as this mount's own change.
 * Returns an errno: of the call, or of the reply's err. */
int fs_zkcall_send(struct fs *fs, fuse_req_t req, struct fs_zkcall *c,
		   bool ephemeral, const char *a, bool seq, const char *b);
/* world:anyone:cdrwa, the ACL of what the mount creates. */
struct zk_vec fs_world_acl(struct fs *fs);
/* Each returns 0 or an errno (ESTALE: the version moved). */
int fs_set_data(struct fs *fs, fuse_req_t req, const char *path,
		const uint8_t *data, size_t len, int32_t version);
int fs_delete(struct fs *fs, fuse_req_t req, const char *path,
	      int32_t version);
int fs_set_acl(struct fs *fs, fuse_req_t req, const char *path,
	       struct zk_vec acl, int32_t version);
/* Reads the data (a malloc'd copy) and version of path. */
int fs_read_data(struct fs *fs, const char *path, uint8_t **data,
		 size_t *len, int32_t *version);
/* Sets path's data to f(current) by compare-and-set: append (add, n), or
 * resize to size (add NULL). */
int fs_cas_data(struct fs *fs, fuse_req_t req, const char *path,
		const uint8_t *add, size_t n, size_t size);

/* -- call.c: requests through local sessions -- */
int fs_sessions_start(struct fs *fs);
void fs_sessions_stop(struct fs *fs);
/* Sends req (RequestHeader + record).  ephemeral: on the calling
 * process's own session.  On return *zk_err holds the reply's err and
 * reply the record (positioned after the ReplyHeader: *body).  Returns 0
 * or an errno (the call itself failed). */
int fs_call(struct fs *fs, fuse_req_t req, bool ephemeral,
	    struct jute_writer *w, struct jute_writer *reply,
	    struct jute_reader *body, int *zk_err, int64_t *zxid);
/* The same, on local session l (no reopen when it expired). */
int fs_call_on(struct zabfs_local *l, fuse_req_t req, struct jute_writer *w,
	       struct jute_writer *reply, struct jute_reader *body,
	       int *zk_err, int64_t *zxid);
int fs_errno(int zk_err);
/* 0 once the node can take writes; EROFS if it cannot within the bound
 * (its ensemble has no leader).  Opening for writing waits here, so that
 * the shell sees the error (it ignores those of close). */
int fs_wait_writable(struct fs *fs, fuse_req_t req);
/* The timeout asked for the mount's local sessions. */
int32_t fs_session_timeout(struct fs *fs);

/* -- lock.c: flock -- */
void fs_ops_lock(struct fuse_lowlevel_ops *ops);
int fs_locks_start(struct fs *fs);
void fs_locks_stop(struct fs *fs);
/* The file is closed: its lock (held or awaited) goes. */
void fs_lock_release(struct fs *fs, struct fs_file *f);
/* A contender was deleted: waiters may have their turn (loop thread). */
void fs_locks_poke(struct fs *fs);
/* Lock contender names (<any>__lock__<seq> / <any>__rlock__<seq>). */
bool fs_is_contender(struct zk_bytes name);
bool fs_has_contender(const struct tree_node *n);
/* Text for user.zk.lock: holders, then the queue, one per line (read
 * lock held).  Length written (at most cap), or the length needed. */
size_t fs_lock_text(const struct tree_node *n, char *out, size_t cap);

/* -- notify.c -- */
int fs_notifier_start(struct fs *fs);
void fs_notifier_stop(struct fs *fs);
/* True when req comes from the notifier thread. */
bool fs_is_replay(struct fs *fs, fuse_req_t req);
/* For a lookup by the notifier: FS_REPLAY_CREATE when name under parent
 * must look missing, FS_REPLAY_DELETE when the deleted node must look
 * present (*id, *kind, path set), FS_REPLAY_NONE for an ordinary one. */
enum fs_replay_op fs_replay_lookup(struct fs *fs, uint64_t parent,
				   const char *name, uint64_t *id,
				   enum fs_kind *kind, char *path,
				   size_t cap);
/* Marks a change about to be made by this mount at path; fs_own_end
 * with the zxid it got (0 when it failed). */
struct fs_own *fs_own_begin(struct fs *fs, const char *path, size_t len,
			    bool seq);
void fs_own_end(struct fs *fs, struct fs_own *o, int64_t zxid);
void fs_feed(void *ctx, const struct tree_event *ev);

#endif
