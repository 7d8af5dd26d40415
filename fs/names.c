/*
 * names.c - the namespace: mknod, mkdir, unlink, rmdir, rename, and the
 * create of a znode by name that open(O_CREAT) shares (file.c).
 *
 * Design
 *   Names ending in .eph / .seq / .eph.seq create ephemeral / sequential
 *   znodes (the kernel asks create/mkdir only after a lookup of the
 *   literal name failed, so a literal name always wins); their entries
 *   get timeout 0 since the kernel's dentry carries the marker name.
 *   Ephemerals are created on the calling process's own session.
 *   rename is one multi (create the target with the source's data and
 *   ACL, delete the source, each at the version read) retried while a
 *   version moved; a source with children, an ephemeral or /zookeeper
 *   gives EXDEV so that mv copies instead.  A znode with lock contenders
 *   (lock.c) is not removed: EBUSY.
 *
 *   Requests from the notifier thread (fs_is_replay) are answered from
 *   the tree as it is and change nothing (fs_i.h invariant 4).
 *
 * Valid replies: mknod/mkdir: entry or err; unlink/rmdir/rename: err.
 */
#include <errno.h>
#include <stdio.h> /* RENAME_NOREPLACE */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zabfs/err.h"
#include "zabfs/fs.h"
#include "zabfs/zkpath.h"
#include "zabfs/zkproto.h"
#include "fs_i.h"

/* Strips a .eph / .seq / .eph.seq marker from name into base; sets the
 * create mode. */
static void parse_markers(const char *name, char *base, size_t cap,
			  int32_t *mode, bool *marked)
{
	size_t len = strlen(name);
	*mode = ZK_MODE_PERSISTENT;
	*marked = false;
	static const struct {
		const char *suffix;
		int32_t mode;
	} markers[] = {{".eph.seq", ZK_MODE_EPHEMERAL_SEQUENTIAL},
		       {".seq", ZK_MODE_PERSISTENT_SEQUENTIAL},
		       {".eph", ZK_MODE_EPHEMERAL}};
	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(markers[i].suffix);
		bool seq = markers[i].mode == ZK_MODE_PERSISTENT_SEQUENTIAL ||
			   markers[i].mode == ZK_MODE_EPHEMERAL_SEQUENTIAL;
		/* NAME.eph needs a NAME; a sequential NAME may be empty */
		if (len > sl - (seq ? 1 : 0) &&
		    !strcmp(name + len - sl, markers[i].suffix) &&
		    (len > sl || seq)) {
			len -= sl;
			*mode = markers[i].mode;
			*marked = true;
			break;
		}
	}
	if (len >= cap)
		len = cap - 1;
	memcpy(base, name, len);
	base[len] = 0;
}

bool fs_name_marked(const char *name)
{
	char base[1024];
	int32_t mode;
	bool marked;
	parse_markers(name, base, sizeof(base), &mode, &marked);
	return marked;
}

int fs_create_check(struct fs *fs, fuse_req_t req, const struct fs_inode *p,
		    const char *name, char *out, size_t cap)
{
	long len = fs_path_join(out, cap, p->path, p->path_len, name);
	if (len < 0 || strlen(name) > 255)
		return ENAMETOOLONG;
	struct zk_bytes path = zk_bytes_of(out, (size_t)len);
	if (zk_path_validate(path) != 0)
		return EINVAL;
	if (fs_is_zookeeper(out, (size_t)len))
		return EACCES;
	int err = fs_wait_writable(fs, req);
	if (err)
		return err;
	struct tree_view v;
	tree_read_lock();
	struct tree_node *n = fs_resolve(fs, p, &v, &err);
	if (!n)
		goto out;
	err = 0;
	if (tree_lookup_child(fs->tree, n, zk_path_basename(path)))
		err = EEXIST;
	else if (zk_owner_is_session(v.owner))
		err = EINVAL; /* NOCHILDRENFOREPHEMERALS */
	else if (!fs_allowed(fs, req, &v, ZK_PERM_CREATE))
		err = EACCES;
out:
	tree_read_unlock();
	return err;
}

/* The parent inode for a namespace op, or NULL with *err. */
struct fs_inode *fs_dir_inode(struct fs *fs, fuse_ino_t parent, int *err)
{
	struct fs_inode *in = fs_table_get(&fs->table, parent);
	if (!in)
		*err = ESTALE;
	else if (in->kind != FS_KIND_DIR)
		*err = ENOTDIR;
	return in && in->kind == FS_KIND_DIR ? in : NULL;
}

/* Replies with the entry for path (after a create or for a replay). */
void fs_reply_path(struct fs *fs, fuse_req_t req, const char *path,
		       double timeout, struct fuse_file_info *fi)
{
	tree_read_lock();
	struct tree_node *n = tree_lookup(fs->tree,
					  zk_bytes_of(path, strlen(path)));
	if (!n) {
		tree_read_unlock();
		fuse_reply_err(req, ENOENT);
		return;
	}
	struct tree_view v;
	tree_node_read(n, &v);
	fs_reply_node(fs, req, n, &v, timeout, fi);
	tree_read_unlock();
}

/* Creates parent/name (markers parsed) with shape; on success the path
 * made is in out.  excl: NODEEXISTS is an error even without markers. */
int fs_make_node(struct fs *fs, fuse_req_t req, const struct fs_inode *p,
		     const char *name, int32_t shape, bool *marked, char *out,
		     size_t cap)
{
	char base[1024];
	int32_t mode;
	parse_markers(name, base, sizeof(base), &mode, marked);
	bool eph = mode == ZK_MODE_EPHEMERAL ||
		   mode == ZK_MODE_EPHEMERAL_SEQUENTIAL;
	bool seq = mode == ZK_MODE_PERSISTENT_SEQUENTIAL ||
		   mode == ZK_MODE_EPHEMERAL_SEQUENTIAL;
	if (eph && shape == TXN_SHAPE_DIR)
		return EINVAL;
	char path[4096];
	if (fs_path_join(path, sizeof(path), p->path, p->path_len, base) < 0)
		return ENAMETOOLONG;
	struct fs_zkcall c;
	fs_zkcall_init(&c);
	struct zk_request r = {.type = ZK_OP_CREATE};
	r.u.create.path = zk_bytes_of(path, strlen(path));
	r.u.create.data = zk_bytes_of("", 0);
	r.u.create.acl = fs_world_acl(fs);
	r.u.create.flags = mode | shape << ZABFS_CREATE_SHAPE_SHIFT;
	zk_request_encode(&c.w, &r);
	int err = fs_zkcall_send(fs, req, &c, eph, path, seq, NULL);
	if (!err) {
		struct zk_bytes made = jute_get_buffer(&c.body);
		if (!jute_reader_ok(&c.body) || made.len <= 0 ||
		    (size_t)made.len >= cap)
			err = EIO;
		else {
			memcpy(out, made.p, (size_t)made.len);
			out[made.len] = 0;
		}
	} else if (err == EEXIST && !*marked) {
		strcpy(out, path); /* the caller may open it */
	}
	fs_zkcall_free(&c);
	return err;
}

/* mknod and mkdir: a file or directory znode named name under parent
 * (a replayed request, from the notifier, only answers the entry). */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		       int32_t shape)
{
	struct fs *fs = fs_of(req);
	int err;
	struct fs_inode *p = fs_dir_inode(fs, parent, &err);
	char path[4096];
	if (!p) {
		fuse_reply_err(req, err);
		return;
	}
	if (fs_is_replay(fs, req)) {
		if (fs_path_join(path, sizeof(path), p->path, p->path_len,
				 name) < 0)
			fuse_reply_err(req, ENAMETOOLONG);
		else
			fs_reply_path(fs, req, path, FS_ENTRY_TIMEOUT, NULL);
		return;
	}
	bool marked;
	err = fs_make_node(fs, req, p, name, shape, &marked, path, sizeof(path));
	if (err)
		fuse_reply_err(req, err);
	else
		fs_reply_path(fs, req, path, marked ? 0 : FS_ENTRY_TIMEOUT, NULL);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)rdev;
	if (!S_ISREG(mode) && !fs_is_replay(fs_of(req), req)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	make_entry(req, parent, name, TXN_SHAPE_FILE);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	(void)mode;
	make_entry(req, parent, name, TXN_SHAPE_DIR);
}

/* Deletes parent/name; dir: rmdir (else unlink). */
static void remove_node(fuse_req_t req, fuse_ino_t parent, const char *name,
			bool dir)
{
	struct fs *fs = fs_of(req);
	int err;
	struct fs_inode *p = fs_dir_inode(fs, parent, &err);
	if (!p || fs_is_replay(fs, req)) {
		fuse_reply_err(req, p ? 0 : err);
		return;
	}
	char path[4096];
	if (fs_path_join(path, sizeof(path), p->path, p->path_len, name) < 0) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	tree_read_lock();
	struct tree_node *n = tree_lookup(fs->tree,
					  zk_bytes_of(path, strlen(path)));
	enum fs_kind kind = FS_KIND_FILE;
	bool locked = false;
	if (n) {
		struct tree_view v;
		tree_node_read(n, &v);
		kind = fs_kind_of(n, &v);
		locked = fs_has_contender(n);
	}
	tree_read_unlock();
	if (locked) {
		fuse_reply_err(req, EBUSY);
		return;
	}
	if (!n && !dir && !strcmp(name, FS_DATA_NAME)) {
		/* rm DIR/.data empties the directory's data */
		fuse_reply_err(req, fs_set_data(fs, req, p->path, NULL, 0,
						  -1));
		return;
	}
	if (n && kind == FS_KIND_DIR && !dir) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (n && kind != FS_KIND_DIR && dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fuse_reply_err(req, fs_delete(fs, req, path, -1));
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_node(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_node(req, parent, name, true);
}

/* What a rename needs of its source and target, copied out of RCU. */
struct rename_node {
	bool exists;
	int32_t version, num_children, shape;
	int64_t owner;
	enum fs_kind kind;
	uint8_t *data, *acl;
	size_t data_len, acl_len;
};

static int rename_read(struct fs *fs, const char *path,
		       struct rename_node *out)
{
	memset(out, 0, sizeof(*out));
	int err = 0;
	tree_read_lock();
	struct tree_node *n = tree_lookup(fs->tree,
					  zk_bytes_of(path, strlen(path)));
	if (n) {
		struct tree_view v;
		tree_node_read(n, &v);
		out->exists = true;
		out->version = v.stat.version;
		out->num_children = v.stat.num_children;
		out->shape = v.shape;
		out->owner = v.owner;
		out->kind = fs_kind_of(n, &v);
		out->data_len = v.data.len > 0 ? (size_t)v.data.len : 0;
		out->acl_len = v.acl_raw.len > 0 ? (size_t)v.acl_raw.len : 0;
		out->data = malloc(out->data_len + 1);
		out->acl = malloc(out->acl_len + 1);
		if (!out->data || !out->acl)
			err = ENOMEM;
		else {
			if (out->data_len)
				memcpy(out->data, v.data.p, out->data_len);
			if (out->acl_len)
				memcpy(out->acl, v.acl_raw.p, out->acl_len);
		}
	}
	tree_read_unlock();
	return err;
}

static void rename_free(struct rename_node *n)
{
	free(n->data);
	free(n->acl);
}

/* One try of the rename multi: ESTALE when a version moved meanwhile. */
static int rename_once(struct fs *fs, fuse_req_t req, const char *from,
		       const char *to, unsigned int flags)
{
	struct rename_node s, t;
	int err = rename_read(fs, from, &s);
	if (!err)
		err = rename_read(fs, to, &t);
	else
		memset(&t, 0, sizeof(t));
	if (err)
		goto out;
	if (!s.exists) {
		err = ENOENT;
		goto out;
	}
	if (s.num_children > 0 || zk_owner_is_session(s.owner) ||
	    fs_is_zookeeper(from, strlen(from))) {
		err = EXDEV; /* mv falls back to copy and delete */
		goto out;
	}
	if (t.exists && (flags & RENAME_NOREPLACE)) {
		err = EEXIST;
		goto out;
	}
	if (t.exists && t.kind == FS_KIND_DIR && s.kind != FS_KIND_DIR) {
		err = EISDIR;
		goto out;
	}
	if (t.exists && t.kind != FS_KIND_DIR && s.kind == FS_KIND_DIR) {
		err = ENOTDIR;
		goto out;
	}
	if (t.exists && t.num_children > 0) {
		err = ENOTEMPTY;
		goto out;
	}
	struct fs_zkcall c;
	fs_zkcall_init(&c);
	struct zk_multi_op op;
	struct jute_writer ops;
	jute_writer_init(&ops, 256);
	int32_t count = 0;
	if (t.exists) {
		op = (struct zk_multi_op){.type = ZK_OP_DELETE};
		op.u.path_version.path = zk_bytes_of(to, strlen(to));
		op.u.path_version.version = t.version;
		zk_multi_op_encode(&ops, &op);
		count++;
	}
	op = (struct zk_multi_op){.type = ZK_OP_CREATE};
	op.u.create.path = zk_bytes_of(to, strlen(to));
	op.u.create.data = zk_bytes_of(s.data, s.data_len);
	op.u.create.acl = (struct zk_vec){0, zk_bytes_of(s.acl, s.acl_len)};
	op.u.create.flags = ZK_MODE_PERSISTENT |
			    s.shape << ZABFS_CREATE_SHAPE_SHIFT;
	zk_multi_op_encode(&ops, &op);
	op = (struct zk_multi_op){.type = ZK_OP_DELETE};
	op.u.path_version.path = zk_bytes_of(from, strlen(from));
	op.u.path_version.version = s.version;
	zk_multi_op_encode(&ops, &op);
	count += 2;
	zk_put_multi_end(&ops);
	struct zk_request r = {.type = ZK_OP_MULTI};
	r.u.multi.ops = (struct zk_ops){count, zk_bytes_of(ops.buf, ops.len)};
	zk_request_encode(&c.w, &r);
	err = fs_zkcall_send(fs, req, &c, false, from, false, to);
	if (!err) {
		/* A failed multi may answer err 0 with per-op errors. */
		for (int32_t i = 0; i < count && !err; i++) {
			int32_t type = jute_get_int(&c.body);
			(void)jute_get_bool(&c.body);
			int32_t e = jute_get_int(&c.body);
			if (!jute_reader_ok(&c.body))
				break;
			if (type == ZK_OP_ERROR) {
				(void)jute_get_int(&c.body);
				if (e != 0 && e != ZK_RUNTIMEINCONSISTENCY)
					err = fs_errno(e);
			} else if (type == ZK_OP_CREATE) {
				(void)jute_get_buffer(&c.body);
			}
		}
	}
	jute_writer_free(&ops);
	fs_zkcall_free(&c);
out:
	rename_free(&s);
	rename_free(&t);
	return err;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct fs *fs = fs_of(req);
	int err;
	struct fs_inode *p = fs_dir_inode(fs, parent, &err);
	struct fs_inode *np = p ? fs_dir_inode(fs, newparent, &err) : NULL;
	if (!np) {
		fuse_reply_err(req, err);
		return;
	}
	if (flags & RENAME_EXCHANGE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	char from[4096], to[4096];
	if (fs_path_join(from, sizeof(from), p->path, p->path_len, name) < 0 ||
	    fs_path_join(to, sizeof(to), np->path, np->path_len, newname) <
		    0) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (!strcmp(from, to)) {
		fuse_reply_err(req, 0);
		return;
	}
	if (!strcmp(name, FS_DATA_NAME) || !strcmp(newname, FS_DATA_NAME)) {
		fuse_reply_err(req, EXDEV);
		return;
	}
	err = ESTALE;
	for (int i = 0; i < FS_CAS_TRIES && err == ESTALE; i++)
		err = rename_once(fs, req, from, to, flags);
	fuse_reply_err(req, err);
}

void fs_ops_names(struct fuse_lowlevel_ops *ops)
{
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->rename = op_rename;
}
