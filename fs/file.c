/*
 * file.c - open files: create, open, read, write, flush, fsync, release,
 * and truncate (setattr).  Changes are ZooKeeper requests on a local
 * session (zkop.c, call.c); the reply comes after the change is applied
 * on this node, so the caller sees its own write.
 *
 * Design
 *   An open file is a struct fs_file.  Read-only: a snapshot of the data,
 *   taken again whenever a read starts at offset 0 (so `cat` sees one
 *   value and a reopen or rewind sees the newest).  Writable: a buffer
 *   (the data at open, or empty with O_TRUNC) that write() edits and the
 *   first flush after a write commits with one setData; a handle that only
 *   truncated commits at release.  O_APPEND: the buffer holds only the
 *   bytes to append, and commit is a compare-and-set loop on the current
 *   data and version, so concurrent appenders lose nothing.  Data beyond
 *   jute.maxbuffer fails at write() with EFBIG.  Mode, owner and times
 *   given to setattr are not stored (the ACL is user.zk.acl).
 *
 *   Requests from the notifier thread (fs_is_replay) are answered from
 *   the tree as it is and change nothing (fs_i.h invariant 4).
 *
 * Valid replies: create: create or err; open: open or err; read: buf or
 * err; write: write or err; flush/fsync/release: err; setattr: attr or
 * err.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zabfs/err.h"
#include "zabfs/fs.h"
#include "zabfs/zkproto.h"
#include "fs_i.h"

static struct fs_file *file_new(struct fs_inode *in)
{
	struct fs_file *f = calloc(1, sizeof(*f));
	if (f) {
		pthread_mutex_init(&f->lock, NULL);
		f->inode = in;
	}
	return f;
}

static void file_free(struct fs_file *f)
{
	free(f->buf);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static int file_set(struct fs_file *f, const void *p, size_t len)
{
	if (len + 1 > f->cap) {
		uint8_t *b = realloc(f->buf, len + 1);
		if (!b)
			return ENOMEM;
		f->buf = b;
		f->cap = len + 1;
	}
	if (len)
		memcpy(f->buf, p, len);
	f->len = len;
	return 0;
}

/* Copies the inode's current data into f (read lock taken here). */
static int file_snapshot(struct fs *fs, fuse_req_t req, struct fs_file *f,
			 int32_t need)
{
	tree_read_lock();
	struct tree_view v;
	int err;
	struct tree_node *n = fs_resolve(fs, f->inode, &v, &err);
	if (n) {
		err = 0;
		if (need && !fs_allowed(fs, req, &v, need))
			err = EACCES;
		else
			err = file_set(f, v.data.p,
				       v.data.len > 0 ? (size_t)v.data.len : 0);
	} else if (f->create) {
		err = 0;
		f->len = 0; /* not made yet: empty */
	}
	tree_read_unlock();
	return err;
}

/* Sets up f for the open flags; 0 or errno. */
static int file_open(struct fs *fs, fuse_req_t req, struct fs_file *f,
		     int flags)
{
	int acc = flags & O_ACCMODE;
	f->writable = acc != O_RDONLY;
	f->append = f->writable && (flags & O_APPEND);
	f->trunc = f->writable && (flags & O_TRUNC);
	if (f->writable && fs_is_zookeeper(f->inode->path, f->inode->path_len))
		return EACCES;
	if (f->writable) {
		int werr = fs_wait_writable(fs, req);
		if (werr)
			return werr;
	}
	int32_t need = 0;
	if (acc != O_WRONLY)
		need |= ZK_PERM_READ;
	if (f->writable)
		need |= ZK_PERM_WRITE;
	int err = file_snapshot(fs, req, f, need);
	if (!err && (f->trunc || f->append))
		f->len = 0;
	return err;
}

/* The pending create: the znode with what f holds.  EEXIST when another
 * writer made it first (the caller then writes it as an existing one). */
static int create_now(struct fs *fs, fuse_req_t req, struct fs_file *f)
{
	const char *path = f->inode->path;
	struct fs_zkcall c;
	fs_zkcall_init(&c);
	struct zk_request r = {.type = ZK_OP_CREATE};
	r.u.create.path = zk_bytes_of(path, f->inode->path_len);
	r.u.create.data = zk_bytes_of(f->buf, f->writable ? f->len : 0);
	r.u.create.acl = fs_world_acl(fs);
	r.u.create.flags = ZK_MODE_PERSISTENT |
			   TXN_SHAPE_FILE << ZABFS_CREATE_SHAPE_SHIFT;
	zk_request_encode(&c.w, &r);
	int err = fs_zkcall_send(fs, req, &c, false, path, false, NULL);
	fs_zkcall_free(&c);
	return err;
}

int fs_file_commit(struct fs *fs, fuse_req_t req, struct fs_file *f)
{
	int err;
	if (f->create) {
		err = create_now(fs, req, f);
		if (err != EEXIST) {
			if (!err) {
				f->create = false;
				f->dirty = false;
				f->trunc = false;
				if (f->append)
					f->len = 0;
			}
			return err;
		}
		f->create = false; /* made meanwhile: `>` replaces, `>>` adds */
	}
	if (!f->writable) {
		err = 0;
	} else if (f->append) {
		err = f->len ? fs_cas_data(fs, req, f->inode->path, f->buf, f->len,
					0)
			     : 0;
		if (!err)
			f->len = 0;
	} else {
		err = fs_set_data(fs, req, f->inode->path, f->buf, f->len,
				    -1);
	}
	if (!err) {
		f->dirty = false;
		f->trunc = false;
	}
	return err;
}

/* A handle on in for the open flags, set in fi; NULL after replying with
 * the error and dropping the caller's lookup of in. */
static struct fs_file *open_handle(struct fs *fs, fuse_req_t req,
				   struct fs_inode *in,
				   struct fuse_file_info *fi)
{
	int err = ENOMEM;
	struct fs_file *f = file_new(in);
	if (!f || (err = file_open(fs, req, f, fi->flags)) != 0) {
		fs_table_forget(&fs->table, in->ino, 1);
		if (f)
			file_free(f);
		fuse_reply_err(req, err);
		return NULL;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	return f;
}

/* open(O_CREAT) of DIR/.data while the data is empty (lookup said it is
 * missing): opens the directory's data like an existing .data. */
static void create_data(struct fs *fs, fuse_req_t req, struct fs_inode *p,
			struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	tree_read_lock();
	struct tree_view v;
	int err;
	struct tree_node *n = fs_resolve(fs, p, &v, &err);
	struct fs_inode *in = NULL;
	if (n && v.stat.data_length > 0 && (fi->flags & O_EXCL))
		err = EEXIST;
	else if (n && !(in = fs_table_ref(&fs->table, v.id, FS_KIND_DATA,
					  p->path, p->path_len)))
		err = ENOMEM;
	if (in)
		fs_fill_attr(fs, n, &v, FS_KIND_DATA, &e.attr);
	tree_read_unlock();
	if (!in) {
		fuse_reply_err(req, err);
		return;
	}
	struct fs_file *f = open_handle(fs, req, in, fi);
	if (!f)
		return;
	e.ino = in->ino;
	e.generation = 1;
	e.entry_timeout = 0;
	if (fuse_reply_create(req, &e, fi) != 0) {
		fs_table_forget(&fs->table, in->ino, 1);
		file_free(f);
	}
}

/* open(O_CREAT) of a plain name that is missing: a pending inode; the
 * znode is created with its data at the first flush, so nobody sees it
 * empty first.  Others do not find the name until then. */
static void create_pending(struct fs *fs, fuse_req_t req, const char *path,
			   struct fuse_file_info *fi)
{
	struct fs_inode *in = fs_table_add_pending(&fs->table, path,
						   strlen(path));
	struct fs_file *f = in ? file_new(in) : NULL;
	if (!f) {
		if (in)
			fs_table_forget(&fs->table, in->ino, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int acc = fi->flags & O_ACCMODE;
	f->writable = acc != O_RDONLY;
	f->append = f->writable && (fi->flags & O_APPEND);
	f->create = true;
	f->dirty = true; /* even with nothing written, close creates it */
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	e.ino = in->ino;
	e.generation = 1;
	e.attr.st_ino = in->ino;
	e.attr.st_mode = S_IFREG | 0666;
	e.attr.st_nlink = 1;
	e.attr.st_blksize = 4096;
	if (fuse_reply_create(req, &e, fi) != 0) {
		fs_table_forget(&fs->table, in->ino, 1);
		file_free(f);
	}
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	struct fs *fs = fs_of(req);
	int err;
	struct fs_inode *p = fs_dir_inode(fs, parent, &err);
	if (!p) {
		fuse_reply_err(req, err);
		return;
	}
	if (!strcmp(name, FS_DATA_NAME)) {
		create_data(fs, req, p, fi);
		return;
	}
	char path[4096];
	bool marked = fs_name_marked(name);
	if (!marked && !(fi->flags & O_EXCL)) {
		err = fs_create_check(fs, req, p, name, path, sizeof(path));
		if (!err) {
			create_pending(fs, req, path, fi);
			return;
		}
		if (err != EEXIST) {
			fuse_reply_err(req, err);
			return;
		}
	}
	err = fs_make_node(fs, req, p, name, TXN_SHAPE_FILE, &marked, path,
			   sizeof(path));
	if (err == EEXIST && !marked && !(fi->flags & O_EXCL))
		err = 0; /* made by someone else meanwhile: open it */
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	/* The inode is added by the reply; the handle needs it first. */
	tree_read_lock();
	struct tree_node *n = tree_lookup(fs->tree,
					  zk_bytes_of(path, strlen(path)));
	struct tree_view v;
	enum fs_kind kind = FS_KIND_FILE;
	if (n) {
		tree_node_read(n, &v);
		kind = fs_kind_of(n, &v);
	}
	tree_read_unlock();
	if (!n) {
		fuse_reply_err(req, ENOENT); /* deleted already */
		return;
	}
	struct fs_inode *in =
		fs_table_ref(&fs->table, v.id, kind, path, strlen(path));
	if (!in) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (!open_handle(fs, req, in, fi))
		return;
	fs_reply_path(fs, req, path, marked ? 0 : FS_ENTRY_TIMEOUT, fi);
	fs_table_forget(&fs->table, in->ino, 1);
}

static void op_open(fuse_req_t req, fuse_ino_t ino,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	if (!in || in->kind == FS_KIND_DIR) {
		fuse_reply_err(req, in ? EISDIR : ESTALE);
		return;
	}
	struct fs_file *f = file_new(in);
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int err = 0;
	if (fs_is_replay(fs, req))
		f->replay = true;
	else
		err = file_open(fs, req, f, fi->flags);
	if (err) {
		file_free(f);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	/* nothing to commit at close: spare the kernel's FLUSH round trip */
	fi->noflush = !f->writable;
	if (fuse_reply_open(req, fi) != 0)
		file_free(f);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	struct fs *fs = fs_of(req);
	struct fs_file *f = fs_file_of(fi);
	if (f->replay) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (f->append) {
		/* the buffer holds pending appends: read the tree instead */
		struct fs_file tmp = {.inode = f->inode};
		int err = file_snapshot(fs, req, &tmp, 0);
		size_t start = (size_t)off < tmp.len ? (size_t)off : tmp.len;
		size_t n = tmp.len - start < size ? tmp.len - start : size;
		if (err)
			fuse_reply_err(req, err);
		else
			fuse_reply_buf(req, (const char *)tmp.buf + start, n);
		free(tmp.buf);
		return;
	}
	pthread_mutex_lock(&f->lock);
	int err = 0;
	if (!f->writable && off == 0)
		err = file_snapshot(fs, req, f, ZK_PERM_READ);
	if (err) {
		pthread_mutex_unlock(&f->lock);
		fuse_reply_err(req, err);
		return;
	}
	size_t start = (size_t)off < f->len ? (size_t)off : f->len;
	size_t n = f->len - start < size ? f->len - start : size;
	fuse_reply_buf(req, (const char *)f->buf + start, n);
	pthread_mutex_unlock(&f->lock);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	struct fs *fs = fs_of(req);
	struct fs_file *f = fs_file_of(fi);
	if (f->replay) {
		fuse_reply_write(req, size);
		return;
	}
	if (!f->writable) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&f->lock);
	size_t at = f->append ? f->len : (size_t)off;
	size_t end = at + size;
	int err = 0;
	if (f->append) {
		uint8_t *cur;
		size_t len;
		int32_t version;
		if (fs_read_data(fs, f->inode->path, &cur, &len, &version) == 0) {
			free(cur);
			if (len + end > (size_t)fs->max_data)
				err = EFBIG;
		}
	} else if (end > (size_t)fs->max_data) {
		err = EFBIG;
	}
	if (!err && end + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 256;
		while (cap < end + 1)
			cap *= 2;
		uint8_t *b = realloc(f->buf, cap);
		if (!b)
			err = ENOMEM;
		else {
			f->buf = b;
			f->cap = cap;
		}
	}
	if (err == EFBIG)
		f->failed = true; /* a failed write commits nothing */
	if (!err) {
		if (at > f->len)
			memset(f->buf + f->len, 0, at - f->len);
		memcpy(f->buf + at, buf, size);
		if (end > f->len)
			f->len = end;
		f->dirty = true;
	}
	pthread_mutex_unlock(&f->lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	(void)ino;
	struct fs_file *f = fs_file_of(fi);
	int err = 0;
	pthread_mutex_lock(&f->lock);
	if (f->failed)
		err = EFBIG;
	else if (!f->replay && f->dirty)
		err = fs_file_commit(fs_of(req), req, f);
	pthread_mutex_unlock(&f->lock);
	fuse_reply_err(req, err);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	struct fs_file *f = fs_file_of(fi);
	/* the lock also waits for an interrupted request still running */
	pthread_mutex_lock(&f->lock);
	if (!f->replay && !f->failed && (f->dirty || f->trunc))
		fs_file_commit(fs_of(req), req, f); /* the kernel ignores the error */
	pthread_mutex_unlock(&f->lock);
	fs_lock_release(fs_of(req), f);
	file_free(f);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)datasync;
	struct fs *fs = fs_of(req);
	struct fs_file *f = fi ? fs_file_of(fi) : NULL;
	int err = 0;
	if (f && !f->replay && f->inode->kind != FS_KIND_DIR) {
		pthread_mutex_lock(&f->lock);
		if (f->dirty)
			err = fs_file_commit(fs, req, f);
		pthread_mutex_unlock(&f->lock);
	}
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	if (!err && in) {
		struct fs_zkcall c;
		fs_zkcall_init(&c);
		struct zk_request r = {.type = ZK_OP_SYNC};
		r.u.path.path = zk_bytes_of(in->path, in->path_len);
		zk_request_encode(&c.w, &r);
		err = fs_zkcall_send(fs, req, &c, false, NULL, false, NULL);
		fs_zkcall_free(&c);
	}
	fuse_reply_err(req, err);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_inode_or_reply(fs, req, ino);
	if (!in)
		return;
	int err = 0;
	/* Mode, owner and times are not stored: accepted and ignored, so
	 * that cp, touch and tar work (the ACL is user.zk.acl). */
	if ((to_set & FUSE_SET_ATTR_SIZE) && !fs_is_replay(fs, req)) {
		size_t size = (size_t)attr->st_size;
		struct fs_file *f = fi ? fs_file_of(fi) : NULL;
		if (in->kind == FS_KIND_DIR)
			err = EISDIR;
		else if (size > (size_t)fs->max_data)
			err = EFBIG;
		else if (f && f->writable && !f->append && !f->replay) {
			pthread_mutex_lock(&f->lock);
			size_t old = f->len;
			if (size + 1 > f->cap) {
				uint8_t *b = realloc(f->buf, size + 1);
				if (!b)
					err = ENOMEM;
				else {
					f->buf = b;
					f->cap = size + 1;
				}
			}
			if (!err) {
				if (size > old)
					memset(f->buf + old, 0, size - old);
				f->len = size;
				f->dirty = true;
			}
			pthread_mutex_unlock(&f->lock);
		} else {
			err = fs_cas_data(fs, req, in->path, NULL, 0, size);
		}
	}
	if (err)
		fuse_reply_err(req, err);
	else
		fs_reply_attr(fs, req, in, fi ? fs_file_of(fi) : NULL);
}

void fs_ops_file(struct fuse_lowlevel_ops *ops)
{
	ops->create = op_create;
	ops->open = op_open;
	ops->read = op_read;
	ops->write = op_write;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
	ops->fsyncdir = op_fsync;
	ops->setattr = op_setattr;
}
