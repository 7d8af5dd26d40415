/*
 * mount.c - the mount's lifecycle: the frontend's start and stop hooks.
 *
 * Design
 *   start (loop thread, after recovery): with no mountPoint it does
 *   nothing.  Otherwise it creates the mount point if missing, detaches a
 *   stale FUSE mount left there by a killed process (stat gives ENOTCONN),
 *   mounts with allow_other (permission checks are ours: no
 *   default_permissions), starts the session thread (local sessions,
 *   call.c), the notifier thread (notify.c) and the FUSE loop thread
 *   (fuse_session_loop_mt, which runs the worker threads), and subscribes
 *   to the change feed.
 *
 *   stop: feed off, notifier joined, then the FUSE loop is told to exit;
 *   the loop notices only when a worker wakes up, so a helper thread
 *   makes one request (a getxattr on the mount root, never cached by the
 *   kernel).  Once the loop is joined, fuse_session_unmount detaches the
 *   mount (MNT_DETACH: processes still inside get ENOTCONN) and closes the
 *   device, which ends the helper's request; then the local sessions are
 *   closed.
 *
 * States: none -> mounted (start) -> stopped (stop); a failed start
 * undoes what it did (goto chain) and leaves nothing mounted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "zabfs/err.h"
#include "zabfs/fs.h"
#include "zabfs/zkproto.h"
#include "fs_i.h"

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
}

static int make_dirs(const char *dir)
{
	char buf[4096];
	size_t len = strlen(dir);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		char c = buf[i];
		buf[i] = 0;
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		buf[i] = c;
	}
	return 0;
}

/* A mount point left by a killed process answers ENOTCONN: detach it. */
static void clear_stale(const char *mnt)
{
	struct stat st;
	if (stat(mnt, &st) != 0 && errno == ENOTCONN) {
		fprintf(stderr, "zabfs: mount: detaching the stale mount at %s\n",
			mnt);
		if (umount2(mnt, MNT_DETACH) != 0)
			fprintf(stderr, "zabfs: mount: umount2 %s: %s\n", mnt,
				strerror(errno));
	}
}

static void *loop_main(void *arg)
{
	struct fs *fs = arg;
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	if (!cfg)
		return NULL;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 16);
	fuse_session_loop_mt(fs->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return NULL;
}

static void fs_free(struct fs *fs)
{
	jute_writer_free(&fs->world_acl);
	fs_table_free(&fs->table);
	free(fs->mnt);
	free(fs);
}

static void feed_off(void *ctx, const struct tree_event *ev)
{
	(void)ctx;
	(void)ev;
}

/* Makes one request to the mount, so that a FUSE worker wakes up and the
 * loop sees it should exit.  libfuse drops that request unanswered, so it
 * runs on a thread of its own: closing the device (fuse_session_unmount)
 * ends it. */
static void *poke_main(void *arg)
{
	struct fs *fs = arg;
	char v[8];
	(void)getxattr(fs->mnt, "user.zk.stop", v, sizeof(v));
	return NULL;
}

static void fs_stop(void *state)
{
	struct fs *fs = state;
	if (!fs)
		return;
	static const struct tree_listener off = {feed_off, NULL};
	zabfs_replica_set_feed(fs->r, &off);
	fs_notifier_stop(fs);
	pthread_t poke;
	bool poked = false;
	if (fs->loop_started) {
		fuse_session_exit(fs->se);
		poked = pthread_create(&poke, NULL, poke_main, fs) == 0;
		pthread_join(fs->loop_thread, NULL);
	}
	fs_locks_stop(fs);
	fuse_session_unmount(fs->se);
	if (poked)
		pthread_join(poke, NULL);
	fuse_session_destroy(fs->se);
	fs_sessions_stop(fs);
	fs_free(fs);
}

static int fs_start(struct zabfs_replica *r, void **state)
{
	const struct zabfs_config *cfg = zabfs_replica_config(r);
	*state = NULL;
	if (!cfg->mount_point)
		return 0;
	struct fs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return ZK_NOMEM;
	fs->r = r;
	fs->tree = zabfs_replica_tree(r);
	fs->max_data = cfg->jute_maxbuffer;
	fs->mnt = strdup(cfg->mount_point);
	fs->sessions.wake_fd = -1;
	jute_writer_init(&fs->world_acl, 64);
	if (!fs->mnt || fs_table_init(&fs->table) != 0)
		goto free_fs;
	static const struct zk_acl world = {
		ZK_PERM_ALL,
		{{(const uint8_t *)"world", 5}, {(const uint8_t *)"anyone", 6}}};
	struct zk_acl_list wl = {1, &world};
	zk_put_acl_list(&fs->world_acl, &wl);
	if (!jute_writer_ok(&fs->world_acl) ||
	    !fs_table_ref(&fs->table, TREE_ROOT_ID, FS_KIND_DIR, "/", 1))
		goto free_fs;

	if (make_dirs(fs->mnt) != 0 && errno != ENOTCONN) {
		fprintf(stderr, "zabfs: mount: cannot create %s: %s\n", fs->mnt,
			strerror(errno));
		goto free_fs;
	}
	clear_stale(fs->mnt);

	struct fuse_lowlevel_ops ops;
	memset(&ops, 0, sizeof(ops));
	ops.init = op_init;
	fs_ops_read(&ops);
	fs_ops_file(&ops);
	fs_ops_names(&ops);
	fs_ops_xattr_set(&ops);
	fs_ops_lock(&ops);
	char *argv[] = {"zabfs", "-o",
			"allow_other,fsname=zabfs,subtype=zabfs", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	fs->se = fuse_session_new(&args, &ops, sizeof(ops), fs);
	fuse_opt_free_args(&args);
	if (!fs->se)
		goto free_fs;
	if (fs_sessions_start(fs) != 0)
		goto destroy_session;
	if (fuse_session_mount(fs->se, fs->mnt) != 0) {
		fprintf(stderr, "zabfs: mount: cannot mount on %s\n", fs->mnt);
		goto stop_sessions;
	}
	if (fs_notifier_start(fs) != 0)
		goto unmount;
	if (fs_locks_start(fs) != 0)
		goto stop_notifier;
	if (pthread_create(&fs->loop_thread, NULL, loop_main, fs) != 0)
		goto stop_locks;
	fs->loop_started = true;
	fs->feed = (struct tree_listener){fs_feed, fs};
	zabfs_replica_set_feed(r, &fs->feed);
	*state = fs;
	return 0;

stop_locks:
	fs_locks_stop(fs);
stop_notifier:
	fs_notifier_stop(fs);
unmount:
	fuse_session_unmount(fs->se);
stop_sessions:
	fs_sessions_stop(fs);
destroy_session:
	fuse_session_destroy(fs->se);
free_fs:
	fs_free(fs);
	return ZK_IO;
}

static const struct zabfs_frontend frontend = {fs_start, fs_stop};

const struct zabfs_frontend *zabfs_fs_frontend(void)
{
	return &frontend;
}
