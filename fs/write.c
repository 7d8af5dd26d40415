/*
 * write.c - open files and every operation that changes the tree: create,
 * mknod, mkdir, unlink, rmdir, rename, setattr (truncate), setxattr,
 * write, flush, fsync, release.  Changes are ZooKeeper requests on a
 * local session (call.c); the reply comes after the change is applied on
 * this node, so the caller sees its own write.
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
 *   jute.maxbuffer fails at write() with EFBIG.
 *
 *   Names ending in .eph / .seq / .eph.seq create ephemeral / sequential
 *   znodes (the kernel asks create/mkdir only after a lookup of the
 *   literal name failed, so a literal name always wins); their entries
 *   get timeout 0 since the kernel's dentry carries the marker name.
 *   Ephemerals are created on the calling process's own session.
 *
 *   Requests from the notifier thread (fs_is_replay) are answered from
 *   the tree as it is and change nothing (fs_i.h invariant 4).
 *
 * Valid replies: create: create or err; mknod/mkdir: entry or err;
 * unlink/rmdir/rename/flush/fsync/release/setxattr: err; open: open or
 * err; read: buf or err; write: write or err; setattr: attr or err.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* RENAME_NOREPLACE */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zabfs/err.h"
#include "zabfs/fs.h"
#include "zabfs/zkproto.h"
#include "fs_i.h"

#define ENTRY_TIMEOUT 1.0
#define CAS_TRIES 1000

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct fs_file *file_of(struct fuse_file_info *fi)
{
	return (struct fs_file *)(uintptr_t)fi->fh;
}

/* -- requests -- */

struct call {
	struct jute_writer w, reply;
	struct jute_reader body;
	int zk_err;
	int64_t zxid;
};

static void call_init(struct call *c)
{
	jute_writer_init(&c->w, 256);
	jute_writer_init(&c->reply, 256);
	c->zk_err = 0;
	c->zxid = 0;
}

static void call_free(struct call *c)
{
	jute_writer_free(&c->w);
	jute_writer_free(&c->reply);
}

/* Sends c->w, marking paths a (and b) as this mount's own change.
 * Returns an errno: of the call, or of the reply's err. */
static int call_send(struct fs *fs, fuse_req_t req, struct call *c,
		     bool ephemeral, const char *a, bool seq, const char *b)
{
	struct fs_own *oa = a ? fs_own_begin(fs, a, strlen(a), seq) : NULL;
	struct fs_own *ob = b ? fs_own_begin(fs, b, strlen(b), false) : NULL;
	int err = fs_call(fs, req, ephemeral, &c->w, &c->reply, &c->body,
			  &c->zk_err, &c->zxid);
	int64_t zxid = err == 0 && c->zk_err == 0 ? c->zxid : 0;
	if (oa)
		fs_own_end(fs, oa, zxid);
	if (ob)
		fs_own_end(fs, ob, zxid);
	if (err)
		return err;
	return fs_errno(c->zk_err);
}

static struct zk_vec world_acl(struct fs *fs)
{
	struct zk_vec v = {1, zk_bytes_of(fs->world_acl.buf,
					  fs->world_acl.len)};
	return v;
}

static int send_set_data(struct fs *fs, fuse_req_t req, const char *path,
			 const uint8_t *data, size_t len, int32_t version)
{
	struct call c;
	call_init(&c);
	struct zk_request r = {.type = ZK_OP_SET_DATA};
	r.u.set_data.path = zk_bytes_of(path, strlen(path));
	r.u.set_data.data = zk_bytes_of(data, len);
	r.u.set_data.version = version;
	zk_request_encode(&c.w, &r);
	int err = call_send(fs, req, &c, false, path, false, NULL);
	call_free(&c);
	return err;
}

/* Reads the data and version of path (copy in *data, malloc'd). */
static int read_data(struct fs *fs, const char *path, uint8_t **data,
		     size_t *len, int32_t *version)
{
	int err = 0;
	tree_read_lock();
	struct tree_node *n = tree_lookup(fs->tree,
					  zk_bytes_of(path, strlen(path)));
	if (!n) {
		err = ENOENT;
		goto out;
	}
	struct tree_view v;
	tree_node_read(n, &v);
	*len = v.data.len > 0 ? (size_t)v.data.len : 0;
	*version = v.stat.version;
	*data = malloc(*len + 1);
	if (!*data)
		err = ENOMEM;
	else if (*len)
		memcpy(*data, v.data.p, *len);
out:
	tree_read_unlock();
	return err;
}

/* Sets path's data to f(current) with compare-and-set: append (add, n)
 * or resize to size (add NULL). */
static int cas_data(struct fs *fs, fuse_req_t req, const char *path,
		    const uint8_t *add, size_t n, size_t size)
{
	for (int i = 0; i < CAS_TRIES; i++) {
		uint8_t *cur;
		size_t len;
		int32_t version;
		int err = read_data(fs, path, &cur, &len, &version);
		if (err)
			return err;
		size_t want = add ? len + n : size;
		if (want > (size_t)fs->max_data) {
			free(cur);
			return EFBIG;
		}
		uint8_t *nb = realloc(cur, want + 1);
		if (!nb) {
			free(cur);
			return ENOMEM;
		}
		if (add)
			memcpy(nb + len, add, n);
		else if (want > len)
			memset(nb + len, 0, want - len);
		err = send_set_data(fs, req, path, nb, want, version);
		free(nb);
		if (err != ESTALE)
			return err;
	}
	return EBUSY;
}

/* -- names -- */

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

/* The parent inode for a namespace op, or NULL with *err. */
static struct fs_inode *dir_inode(struct fs *fs, fuse_ino_t parent, int *err)
{
	struct fs_inode *in = fs_table_get(&fs->table, parent);
	if (!in)
		*err = ESTALE;
	else if (in->kind != FS_KIND_DIR)
		*err = ENOTDIR;
	return in && in->kind == FS_KIND_DIR ? in : NULL;
}

/* Replies with the entry for path (after a create or for a replay). */
static void reply_path(struct fs *fs, fuse_req_t req, const char *path,
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
static int make_node(struct fs *fs, fuse_req_t req, const struct fs_inode *p,
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
	struct call c;
	call_init(&c);
	struct zk_request r = {.type = ZK_OP_CREATE};
	r.u.create.path = zk_bytes_of(path, strlen(path));
	r.u.create.data = zk_bytes_of("", 0);
	r.u.create.acl = world_acl(fs);
	r.u.create.flags = mode | shape << ZABFS_CREATE_SHAPE_SHIFT;
	zk_request_encode(&c.w, &r);
	int err = call_send(fs, req, &c, eph, path, seq, NULL);
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
	call_free(&c);
	return err;
}

/* -- open files -- */

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
static int file_snapshot(struct fs *fs, struct fs_file *f, int32_t need)
{
	tree_read_lock();
	struct tree_view v;
	int err;
	struct tree_node *n = fs_resolve(fs, f->inode, &v, &err);
	if (n) {
		err = 0;
		if (need && !(fs_world_perms(&v) & need))
			err = EACCES;
		else
			err = file_set(f, v.data.p,
				       v.data.len > 0 ? (size_t)v.data.len : 0);
	}
	tree_read_unlock();
	return err;
}

/* Sets up f for the open flags; 0 or errno. */
static int file_open(struct fs *fs, struct fs_file *f, int flags)
{
	int acc = flags & O_ACCMODE;
	f->writable = acc != O_RDONLY;
	f->append = f->writable && (flags & O_APPEND);
	f->trunc = f->writable && (flags & O_TRUNC);
	if (f->writable && fs_is_zookeeper(f->inode->path, f->inode->path_len))
		return EACCES;
	int32_t need = 0;
	if (acc != O_WRONLY)
		need |= ZK_PERM_READ;
	if (f->writable)
		need |= ZK_PERM_WRITE;
	int err = file_snapshot(fs, f, need);
	if (!err && (f->trunc || f->append))
		f->len = 0;
	return err;
}

static int commit(struct fs *fs, fuse_req_t req, struct fs_file *f)
{
	int err;
	if (f->append) {
		err = f->len ? cas_data(fs, req, f->inode->path, f->buf, f->len,
					0)
			     : 0;
		if (!err)
			f->len = 0;
	} else {
		err = send_set_data(fs, req, f->inode->path, f->buf, f->len,
				    -1);
	}
	if (!err) {
		f->dirty = false;
		f->trunc = false;
	}
	return err;
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
	struct fs_file *f = file_new(in);
	if (!f || (err = file_open(fs, f, fi->flags)) != 0) {
		fs_table_forget(&fs->table, in->ino, 1);
		if (f)
			file_free(f);
		fuse_reply_err(req, f ? err : ENOMEM);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	e.ino = in->ino;
	e.generation = 1;
	e.entry_timeout = 0;
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
	struct fs_inode *p = dir_inode(fs, parent, &err);
	if (!p) {
		fuse_reply_err(req, err);
		return;
	}
	if (!strcmp(name, FS_DATA_NAME)) {
		create_data(fs, req, p, fi);
		return;
	}
	char path[4096];
	bool marked;
	err = make_node(fs, req, p, name, TXN_SHAPE_FILE, &marked, path,
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
	struct fs_file *f = in ? file_new(in) : NULL;
	if (!f || (err = file_open(fs, f, fi->flags)) != 0) {
		if (in)
			fs_table_forget(&fs->table, in->ino, 1);
		if (f)
			file_free(f);
		fuse_reply_err(req, f ? err : ENOMEM);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	reply_path(fs, req, path, marked ? 0 : ENTRY_TIMEOUT, fi);
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
		err = file_open(fs, f, fi->flags);
	if (err) {
		file_free(f);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;
	if (fuse_reply_open(req, fi) != 0)
		file_free(f);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	struct fs *fs = fs_of(req);
	struct fs_file *f = file_of(fi);
	if (f->replay) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (f->append) {
		/* the buffer holds pending appends: read the tree instead */
		struct fs_file tmp = {.inode = f->inode};
		int err = file_snapshot(fs, &tmp, 0);
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
		err = file_snapshot(fs, f, ZK_PERM_READ);
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
	struct fs_file *f = file_of(fi);
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
		if (read_data(fs, f->inode->path, &cur, &len, &version) == 0) {
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
	struct fs_file *f = file_of(fi);
	int err = 0;
	pthread_mutex_lock(&f->lock);
	if (f->failed)
		err = EFBIG;
	else if (!f->replay && f->dirty)
		err = commit(fs_of(req), req, f);
	pthread_mutex_unlock(&f->lock);
	fuse_reply_err(req, err);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	struct fs_file *f = file_of(fi);
	/* the lock also waits for an interrupted request still running */
	pthread_mutex_lock(&f->lock);
	if (!f->replay && !f->failed && (f->dirty || f->trunc))
		commit(fs_of(req), req, f); /* the kernel ignores the error */
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
	struct fs_file *f = fi ? file_of(fi) : NULL;
	int err = 0;
	if (f && !f->replay && f->inode->kind != FS_KIND_DIR) {
		pthread_mutex_lock(&f->lock);
		if (f->dirty)
			err = commit(fs, req, f);
		pthread_mutex_unlock(&f->lock);
	}
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	if (!err && in) {
		struct call c;
		call_init(&c);
		struct zk_request r = {.type = ZK_OP_SYNC};
		r.u.path.path = zk_bytes_of(in->path, in->path_len);
		zk_request_encode(&c.w, &r);
		err = call_send(fs, req, &c, false, NULL, false, NULL);
		call_free(&c);
	}
	fuse_reply_err(req, err);
}

/* -- the namespace -- */

/* mknod and mkdir: a file or directory znode named name under parent
 * (a replayed request, from the notifier, only answers the entry). */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		       int32_t shape)
{
	struct fs *fs = fs_of(req);
	int err;
	struct fs_inode *p = dir_inode(fs, parent, &err);
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
			reply_path(fs, req, path, ENTRY_TIMEOUT, NULL);
		return;
	}
	bool marked;
	err = make_node(fs, req, p, name, shape, &marked, path, sizeof(path));
	if (err)
		fuse_reply_err(req, err);
	else
		reply_path(fs, req, path, marked ? 0 : ENTRY_TIMEOUT, NULL);
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
	struct fs_inode *p = dir_inode(fs, parent, &err);
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
		fuse_reply_err(req, send_set_data(fs, req, p->path, NULL, 0,
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
	struct call c;
	call_init(&c);
	struct zk_request r = {.type = ZK_OP_DELETE};
	r.u.path_version.path = zk_bytes_of(path, strlen(path));
	r.u.path_version.version = -1;
	zk_request_encode(&c.w, &r);
	err = call_send(fs, req, &c, false, path, false, NULL);
	call_free(&c);
	fuse_reply_err(req, err);
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
	struct call c;
	call_init(&c);
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
	err = call_send(fs, req, &c, false, from, false, to);
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
	call_free(&c);
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
	struct fs_inode *p = dir_inode(fs, parent, &err);
	struct fs_inode *np = p ? dir_inode(fs, newparent, &err) : NULL;
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
	for (int i = 0; i < CAS_TRIES && err == ESTALE; i++)
		err = rename_once(fs, req, from, to, flags);
	fuse_reply_err(req, err);
}

static void reply_attr(struct fs *fs, fuse_req_t req, struct fs_inode *in)
{
	tree_read_lock();
	struct tree_view v;
	int err;
	struct tree_node *n = fs_resolve(fs, in, &v, &err);
	struct stat st;
	if (n)
		fs_fill_attr(fs, n, &v, in->kind, &st);
	tree_read_unlock();
	if (n)
		fuse_reply_attr(req, &st, 0);
	else
		fuse_reply_err(req, err);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	if (!in) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	int err = 0;
	/* Mode, owner and times are not stored: accepted and ignored, so
	 * that cp, touch and tar work (the ACL is user.zk.acl). */
	if ((to_set & FUSE_SET_ATTR_SIZE) && !fs_is_replay(fs, req)) {
		size_t size = (size_t)attr->st_size;
		struct fs_file *f = fi ? file_of(fi) : NULL;
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
			err = cas_data(fs, req, in->path, NULL, 0, size);
		}
	}
	if (err)
		fuse_reply_err(req, err);
	else
		reply_attr(fs, req, in);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)flags;
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	int err;
	if (!in)
		err = ESTALE;
	else if (fs_is_replay(fs, req))
		err = 0;
	else if (!strcmp(name, "user.zk.data") && in->kind == FS_KIND_DIR)
		err = size > (size_t)fs->max_data
			      ? EFBIG
			      : send_set_data(fs, req, in->path,
					      (const uint8_t *)value, size, -1);
	else if (!strncmp(name, "user.zk.", 8))
		err = EPERM; /* read-only stat fields */
	else
		err = ENOTSUP;
	fuse_reply_err(req, err);
}

void fs_ops_write(struct fuse_lowlevel_ops *ops)
{
	ops->create = op_create;
	ops->open = op_open;
	ops->read = op_read;
	ops->write = op_write;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
	ops->fsyncdir = op_fsync;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->rename = op_rename;
	ops->setattr = op_setattr;
	ops->setxattr = op_setxattr;
}
