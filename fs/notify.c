/*
 * notify.c - the change feed on the mount: kernel cache invalidation and
 * inotify events for changes the kernel did not see.
 *
 * Design
 *   fs_feed runs on the replica's loop thread for every tree event, after
 *   the change is visible; it copies the event into a queue and returns.
 *   The notifier thread takes events in order and, for each:
 *     1. invalidates what the kernel may cache: the entry under the
 *        parent (create, delete, a kind change), the inode's attributes
 *        (data, ACL, children);
 *     2. unless the change was made through this mount (the kernel then
 *        saw it and made the events itself), replays it through the
 *        mount so that the kernel makes the inotify events:
 *          create       mknod / mkdir   IN_CREATE (a file made with
 *                       data: and the data change's events)
 *          delete       unlink / rmdir  IN_DELETE (+ IN_DELETE_SELF)
 *          data change  open(O_WRONLY) + ftruncate + close
 *                                       IN_MODIFY, IN_CLOSE_WRITE
 *          ACL change   utimensat       IN_ATTRIB
 *        The handlers recognise the notifier's requests by thread id and
 *        answer them from the tree without changing anything; for a
 *        create the name looks missing to the notifier's lookup, for a
 *        delete the gone node looks present (fs_replay_lookup).
 *   A change is this mount's own when a handler marked it before its call
 *   (fs_own_begin) and gave its zxid after (fs_own_end): the notifier
 *   skips the replay of an event with that zxid, or on that path while
 *   the call is in flight.
 *
 * Invariants
 *   1. Only the notifier thread sends notifications or replays (fs_i.h
 *      invariant 3); fs_feed never blocks (the queue is unbounded).
 *   2. Events are handled one at a time in zxid order; the replay state
 *      is set only around the notifier's own system calls.
 *   3. An own mark with zxid Z is dropped once an event after Z is seen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_i.h"

/* -- the feed (loop thread) -- */

void fs_feed(void *ctx, const struct tree_event *ev)
{
	struct fs *fs = ctx;
	struct fs_notifier *nt = &fs->notifier;
	if (fs_is_contender(tree_node_name(ev->node))) {
		/* a lock's state, not a file: no events; a waiter may go */
		if (ev->type == TREE_DELETED)
			fs_locks_poke(fs);
		return;
	}
	size_t len = ev->path.len > 0 ? (size_t)ev->path.len : 0;
	struct fs_event *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return; /* the kernel caches expire by themselves (1 s) */
	e->next = NULL;
	e->type = ev->type;
	e->zxid = ev->zxid;
	e->path_len = len;
	memcpy(e->path, ev->path.p, len);
	e->path[len] = 0;
	tree_read_lock();
	struct tree_view v;
	tree_node_read(ev->node, &v);
	e->id = v.id;
	e->kind = fs_kind_of(ev->node, &v);
	e->fixed_dir = v.id == TREE_ROOT_ID || v.shape == TXN_SHAPE_DIR;
	e->size = v.stat.data_length;
	e->parent_id = ev->parent ? tree_node_id(ev->parent) : 0;
	tree_read_unlock();
	pthread_mutex_lock(&nt->lock);
	if (nt->tail)
		nt->tail->next = e;
	else
		nt->head = e;
	nt->tail = e;
	pthread_cond_signal(&nt->more);
	pthread_mutex_unlock(&nt->lock);
}

/* -- own changes -- */

struct fs_own *fs_own_begin(struct fs *fs, const char *path, size_t len,
			    bool seq)
{
	struct fs_notifier *nt = &fs->notifier;
	struct fs_own *o = malloc(sizeof(*o) + len + 1);
	if (!o)
		return NULL; /* the change is replayed: a duplicate event */
	o->zxid = 0;
	o->seq = seq;
	o->path_len = len;
	memcpy(o->path, path, len);
	o->path[len] = 0;
	pthread_mutex_lock(&nt->lock);
	o->next = nt->own;
	nt->own = o;
	pthread_mutex_unlock(&nt->lock);
	return o;
}

static void own_unlink(struct fs_notifier *nt, struct fs_own *o)
{
	struct fs_own **pp = &nt->own;
	while (*pp && *pp != o)
		pp = &(*pp)->next;
	if (*pp)
		*pp = o->next;
}

void fs_own_end(struct fs *fs, struct fs_own *o, int64_t zxid)
{
	struct fs_notifier *nt = &fs->notifier;
	pthread_mutex_lock(&nt->lock);
	if (zxid == 0) {
		own_unlink(nt, o);
		free(o);
	} else {
		o->zxid = zxid;
	}
	pthread_mutex_unlock(&nt->lock);
}

static bool own_matches(const struct fs_own *o, const struct fs_event *e)
{
	if (o->zxid != 0)
		return o->zxid == e->zxid;
	if (!o->seq)
		return o->path_len == e->path_len &&
		       !memcmp(o->path, e->path, e->path_len);
	if (e->path_len <= o->path_len ||
	    memcmp(o->path, e->path, o->path_len) != 0)
		return false;
	for (size_t i = o->path_len; i < e->path_len; i++)
		if ((e->path[i] < '0' || e->path[i] > '9') && e->path[i] != '-')
			return false;
	return true;
}

static bool is_own(struct fs_notifier *nt, const struct fs_event *e)
{
	bool own = false;
	pthread_mutex_lock(&nt->lock);
	for (struct fs_own **pp = &nt->own; *pp;) {
		struct fs_own *o = *pp;
		if (o->zxid != 0 && o->zxid < e->zxid) {
			*pp = o->next;
			free(o);
			continue;
		}
		if (own_matches(o, e))
			own = true;
		pp = &o->next;
	}
	pthread_mutex_unlock(&nt->lock);
	return own;
}

/* -- replays -- */

bool fs_is_replay(struct fs *fs, fuse_req_t req)
{
	pid_t tid = __atomic_load_n(&fs->notifier.tid, __ATOMIC_ACQUIRE);
	return tid != 0 && fuse_req_ctx(req)->pid == tid;
}

enum fs_replay_op fs_replay_lookup(struct fs *fs, uint64_t parent,
				   const char *name, uint64_t *id,
				   enum fs_kind *kind, char *path, size_t cap)
{
	struct fs_notifier *nt = &fs->notifier;
	enum fs_replay_op op = FS_REPLAY_NONE;
	pthread_mutex_lock(&nt->lock);
	if (nt->op != FS_REPLAY_NONE && nt->replay_parent == parent &&
	    !strcmp(nt->replay_name, name)) {
		op = nt->op;
		*id = nt->replay_id;
		*kind = nt->replay_kind;
		size_t l = strlen(nt->replay_path);
		if (l >= cap)
			l = cap - 1;
		memcpy(path, nt->replay_path, l);
		path[l] = 0;
	}
	pthread_mutex_unlock(&nt->lock);
	return op;
}

static const char *base_name(const struct fs_event *e)
{
	const char *slash = strrchr(e->path, '/');
	return slash ? slash + 1 : e->path;
}

static uint64_t dir_ino(uint64_t id)
{
	return fs_ino_of(id, FS_KIND_DIR);
}

static void replay_set(struct fs_notifier *nt, enum fs_replay_op op,
		       const struct fs_event *e)
{
	pthread_mutex_lock(&nt->lock);
	nt->op = op;
	if (op != FS_REPLAY_NONE) {
		nt->replay_parent = dir_ino(e->parent_id);
		snprintf(nt->replay_name, sizeof(nt->replay_name), "%s",
			 base_name(e));
		nt->replay_id = e->id;
		nt->replay_kind = e->kind;
		snprintf(nt->replay_path, sizeof(nt->replay_path), "%s",
			 e->path);
	}
	pthread_mutex_unlock(&nt->lock);
}

static bool mount_path(struct fs *fs, const char *path, const char *suffix,
		       char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s%s%s", fs->mnt, path, suffix);
	return n > 0 && (size_t)n < cap;
}

/* A data change: open for writing, truncate to the size, close (the
 * kernel makes IN_MODIFY and IN_CLOSE_WRITE). */
static void replay_data(struct fs *fs, const struct fs_event *e)
{
	char p[4200];
	const char *suffix = e->kind == FS_KIND_DIR ? "/" FS_DATA_NAME : "";
	if (e->id == TREE_ROOT_ID)
		suffix = FS_DATA_NAME;
	if (!mount_path(fs, e->path, suffix, p, sizeof(p)))
		return;
	int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		(void)ftruncate(fd, e->size);
		close(fd);
	}
}

static void replay(struct fs *fs, const struct fs_event *e)
{
	struct fs_notifier *nt = &fs->notifier;
	char p[4200];
	switch (e->type) {
	case TREE_CREATED:
		if (!mount_path(fs, e->path, "", p, sizeof(p)))
			return;
		replay_set(nt, FS_REPLAY_CREATE, e);
		if (e->kind == FS_KIND_DIR)
			(void)mkdir(p, 0755);
		else
			(void)mknod(p, S_IFREG | 0644, 0);
		replay_set(nt, FS_REPLAY_NONE, e);
		/* made with its data, as `echo v > f` makes a file: the
		 * events of that write too */
		if (e->kind == FS_KIND_FILE && e->size > 0)
			replay_data(fs, e);
		break;
	case TREE_DELETED:
		if (!mount_path(fs, e->path, "", p, sizeof(p)))
			return;
		replay_set(nt, FS_REPLAY_DELETE, e);
		if (e->kind == FS_KIND_DIR)
			(void)rmdir(p);
		else
			(void)unlink(p);
		replay_set(nt, FS_REPLAY_NONE, e);
		break;
	case TREE_DATA_CHANGED:
		replay_data(fs, e);
		break;
	case TREE_ACL_CHANGED:
		if (mount_path(fs, e->path, "", p, sizeof(p)))
			(void)utimensat(AT_FDCWD, p, NULL, AT_SYMLINK_NOFOLLOW);
		break;
	case TREE_CHILDREN_CHANGED:
		break;
	}
}

/* Step 1 of the design: what the kernel may cache about e. */
static void invalidate(struct fs *fs, const struct fs_event *e)
{
	struct fuse_session *se = fs->se;
	const char *name = base_name(e);
	size_t nl = strlen(name);
	switch (e->type) {
	case TREE_CREATED:
		if (e->parent_id)
			fuse_lowlevel_notify_inval_entry(se, dir_ino(e->parent_id),
							 name, nl);
		break;
	case TREE_DELETED:
		if (e->parent_id)
			fuse_lowlevel_notify_delete(se, dir_ino(e->parent_id),
						    fs_ino_of(e->id, e->kind),
						    name, nl);
		break;
	case TREE_DATA_CHANGED:
	case TREE_ACL_CHANGED:
		for (int k = FS_KIND_FILE; k <= FS_KIND_DATA; k++)
			if (fs_table_get(&fs->table,
					 fs_ino_of(e->id, (enum fs_kind)k)))
				fuse_lowlevel_notify_inval_inode(
					se, fs_ino_of(e->id, (enum fs_kind)k),
					-1, 0);
		break;
	case TREE_CHILDREN_CHANGED:
		if (fs_table_get(&fs->table, dir_ino(e->id)))
			fuse_lowlevel_notify_inval_inode(se, dir_ino(e->id), -1,
							 0);
		/* A znode shown as file or directory by its children may
		 * have changed kind: the kernel must look it up again. */
		if (!e->fixed_dir && e->parent_id)
			fuse_lowlevel_notify_inval_entry(
				se, dir_ino(e->parent_id), name, nl);
		break;
	}
}

static void *notifier_thread(void *arg)
{
	struct fs *fs = arg;
	struct fs_notifier *nt = &fs->notifier;
	__atomic_store_n(&nt->tid, gettid(), __ATOMIC_RELEASE);
	pthread_mutex_lock(&nt->lock);
	for (;;) {
		while (!nt->head && !nt->stopping)
			pthread_cond_wait(&nt->more, &nt->lock);
		if (nt->stopping)
			break;
		struct fs_event *e = nt->head;
		nt->head = e->next;
		if (!nt->head)
			nt->tail = NULL;
		pthread_mutex_unlock(&nt->lock);
		bool own = is_own(nt, e);
		if (!own && e->type == TREE_DELETED)
			replay(fs, e); /* before the entry is dropped */
		invalidate(fs, e);
		if (!own && e->type != TREE_DELETED)
			replay(fs, e);
		free(e);
		pthread_mutex_lock(&nt->lock);
	}
	pthread_mutex_unlock(&nt->lock);
	return NULL;
}

int fs_notifier_start(struct fs *fs)
{
	struct fs_notifier *nt = &fs->notifier;
	pthread_mutex_init(&nt->lock, NULL);
	pthread_cond_init(&nt->more, NULL);
	if (pthread_create(&nt->thread, NULL, notifier_thread, fs) != 0)
		return -1;
	nt->thread_started = true;
	return 0;
}

void fs_notifier_stop(struct fs *fs)
{
	struct fs_notifier *nt = &fs->notifier;
	if (nt->thread_started) {
		pthread_mutex_lock(&nt->lock);
		nt->stopping = true;
		pthread_cond_signal(&nt->more);
		pthread_mutex_unlock(&nt->lock);
		pthread_join(nt->thread, NULL);
		nt->thread_started = false;
	}
	while (nt->head) {
		struct fs_event *e = nt->head;
		nt->head = e->next;
		free(e);
	}
	nt->tail = NULL;
	while (nt->own) {
		struct fs_own *o = nt->own;
		nt->own = o->next;
		free(o);
	}
	pthread_cond_destroy(&nt->more);
	pthread_mutex_destroy(&nt->lock);
}
