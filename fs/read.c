/*
 * read.c - the operations that only read: lookup, forget, getattr,
 * readdir, access, statfs, getxattr, listxattr.  Each runs on a FUSE
 * worker under tree_read_lock() and never waits for the loop.
 *
 * Valid replies (fuse_lowlevel.h): lookup: entry or err; forget: none;
 * getattr: attr or err; opendir: open or err; readdir: buf or err;
 * releasedir: err(0); access: err; statfs: statfs; getxattr/listxattr:
 * buf, xattr (size probe) or err.
 *
 * DIR/.data is found by lookup only while the directory's data is not
 * empty, as readdir lists it: an empty one looks missing, so that
 * open(O_CREAT|O_EXCL) of it (cp -r into a new directory) creates it
 * (write.c) instead of failing with EEXIST.
 *
 * Timeouts: attributes are never cached (attr_timeout 0: a stat costs one
 * in-memory read and always sees the tree); entries for 1 s, and the
 * notifier invalidates them on every change; a missing name is not cached
 * at all (a plain ENOENT reply).  Names given with .eph/.seq markers get
 * entry timeout 0 (write.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "fs_i.h"

/* The .data entry of directory node n (read lock held). */
static void reply_data_entry(struct fs *fs, fuse_req_t req,
			     const struct fs_inode *dir, struct tree_node *n,
			     const struct tree_view *v)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	struct fs_inode *in = fs_table_ref(&fs->table, v->id, FS_KIND_DATA,
					   dir->path, dir->path_len);
	if (!in) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_fill_attr(fs, n, v, FS_KIND_DATA, &e.attr);
	e.ino = in->ino;
	e.generation = 1;
	e.entry_timeout = FS_ENTRY_TIMEOUT;
	if (fuse_reply_entry(req, &e) != 0)
		fs_table_forget(&fs->table, in->ino, 1);
}

/* A replay of a delete: the node is gone from the tree, the kernel must
 * still find it to unlink it (and emit IN_DELETE). */
static void reply_ghost(struct fs *fs, fuse_req_t req, uint64_t id,
			enum fs_kind kind, const char *path)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	struct fs_inode *in =
		fs_table_ref(&fs->table, id, kind, path, strlen(path));
	if (!in) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	e.ino = in->ino;
	e.generation = 1;
	e.attr.st_ino = in->ino;
	e.attr.st_mode = kind == FS_KIND_DIR ? S_IFDIR | 0755 : S_IFREG | 0644;
	e.attr.st_nlink = kind == FS_KIND_DIR ? 2 : 1;
	if (fuse_reply_entry(req, &e) != 0)
		fs_table_forget(&fs->table, in->ino, 1);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *pin = fs_table_get(&fs->table, parent);
	if (!pin || pin->kind != FS_KIND_DIR) {
		fuse_reply_err(req, pin ? ENOTDIR : ESTALE);
		return;
	}
	if (fs_is_replay(fs, req)) {
		uint64_t id;
		enum fs_kind kind;
		char path[4096];
		enum fs_replay_op op = fs_replay_lookup(fs, parent, name, &id,
							&kind, path,
							sizeof(path));
		if (op == FS_REPLAY_CREATE) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		if (op == FS_REPLAY_DELETE) {
			reply_ghost(fs, req, id, kind, path);
			return;
		}
	}
	tree_read_lock();
	struct tree_view v;
	int err;
	struct tree_node *p = fs_resolve(fs, pin, &v, &err);
	if (!p)
		goto fail;
	struct zk_bytes nb = zk_bytes_of(name, strlen(name));
	struct tree_node *c =
		fs_is_contender(nb) ? NULL : tree_lookup_child(fs->tree, p, nb);
	if (c) {
		struct tree_view cv;
		tree_node_read(c, &cv);
		fs_reply_node(fs, req, c, &cv, FS_ENTRY_TIMEOUT, NULL);
	} else if (!strcmp(name, FS_DATA_NAME) && v.stat.data_length > 0) {
		reply_data_entry(fs, req, pin, p, &v);
	} else {
		err = strlen(name) > 255 ? ENAMETOOLONG : ENOENT;
		goto fail;
	}
	tree_read_unlock();
	return;
fail:
	tree_read_unlock();
	fuse_reply_err(req, err);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	fs_table_forget(&fs_of(req)->table, ino, n);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *list)
{
	struct fs *fs = fs_of(req);
	for (size_t i = 0; i < count; i++)
		fs_table_forget(&fs->table, list[i].ino, list[i].nlookup);
	fuse_reply_none(req);
}

void fs_reply_attr(struct fs *fs, fuse_req_t req, struct fs_inode *in,
		   const struct fs_file *f)
{
	tree_read_lock();
	struct tree_view v;
	int err;
	struct tree_node *n = fs_resolve(fs, in, &v, &err);
	struct stat st;
	memset(&st, 0, sizeof(st));
	if (n) {
		fs_fill_attr(fs, n, &v, in->kind, &st);
	} else if (in->ino & FS_PENDING_INO) {
		/* opened with O_CREAT, made at the first flush */
		st.st_mode = S_IFREG | 0666;
		st.st_nlink = 1;
		st.st_blksize = 4096;
		if (f && f->writable && !f->append)
			st.st_size = (off_t)f->len;
	} else {
		tree_read_unlock();
		fuse_reply_err(req, err);
		return;
	}
	tree_read_unlock();
	st.st_ino = in->ino;
	fuse_reply_attr(req, &st, 0);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	if (!in)
		fuse_reply_err(req, ESTALE);
	else
		fs_reply_attr(fs, req, in, fi ? fs_file_of(fi) : NULL);
}

/* -- directories: the listing is taken at opendir (and again when read
 * from offset 0), as a packed run of struct fuse_direntry records. -- */

static int list_add(fuse_req_t req, struct fs_file *f, const char *name,
		    uint64_t ino, mode_t type)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = type;
	size_t need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	if (f->len + need > f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4096;
		while (cap < f->len + need)
			cap *= 2;
		uint8_t *b = realloc(f->buf, cap);
		if (!b)
			return ENOMEM;
		f->buf = b;
		f->cap = cap;
	}
	fuse_add_direntry(req, (char *)f->buf + f->len, need, name, &st,
			  (off_t)(f->len + need));
	f->len += need;
	return 0;
}

static int list_dir(fuse_req_t req, struct fs *fs, struct fs_file *f)
{
	f->len = 0;
	tree_read_lock();
	struct tree_view v;
	int err;
	struct tree_node *n = fs_resolve(fs, f->inode, &v, &err);
	if (!n)
		goto out;
	if (!fs_allowed(fs, req, &v, ZK_PERM_READ)) {
		err = EACCES;
		goto out;
	}
	struct tree_node *parent = tree_node_parent(n);
	uint64_t pino = FUSE_ROOT_ID;
	if (parent) {
		struct tree_view pv;
		tree_node_read(parent, &pv);
		pino = fs_ino_of(pv.id, FS_KIND_DIR);
	}
	err = list_add(req, f, ".", f->inode->ino, S_IFDIR);
	if (!err)
		err = list_add(req, f, "..", pino, S_IFDIR);
	bool shadowed = tree_lookup_child(fs->tree, n,
					  zk_bytes_of(FS_DATA_NAME, 5)) != NULL;
	if (!err && !shadowed && v.stat.data_length > 0)
		err = list_add(req, f, FS_DATA_NAME,
			       fs_ino_of(v.id, FS_KIND_DATA), S_IFREG);
	char name[1024];
	for (struct tree_node *c = tree_child_first(n); c && !err;
	     c = tree_child_next(c)) {
		struct zk_bytes nb = tree_node_name(c);
		if (nb.len <= 0 || (size_t)nb.len >= sizeof(name) ||
		    fs_is_contender(nb))
			continue;
		memcpy(name, nb.p, (size_t)nb.len);
		name[nb.len] = 0;
		struct tree_view cv;
		tree_node_read(c, &cv);
		enum fs_kind k = fs_kind_of(c, &cv);
		err = list_add(req, f, name, fs_ino_of(cv.id, k),
			       k == FS_KIND_DIR ? S_IFDIR : S_IFREG);
	}
out:
	tree_read_unlock();
	return err;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	if (!in || in->kind != FS_KIND_DIR) {
		fuse_reply_err(req, in ? ENOTDIR : ESTALE);
		return;
	}
	struct fs_file *f = calloc(1, sizeof(*f));
	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->inode = in;
	int err = list_dir(req, fs, f);
	if (err) {
		free(f->buf);
		pthread_mutex_destroy(&f->lock);
		free(f);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	if (fuse_reply_open(req, fi) != 0) {
		free(f->buf);
		pthread_mutex_destroy(&f->lock);
		free(f);
	}
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	struct fs *fs = fs_of(req);
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	pthread_mutex_lock(&f->lock);
	int err = 0;
	if (off == 0)
		err = list_dir(req, fs, f); /* (re)start: a fresh listing */
	if (err) {
		pthread_mutex_unlock(&f->lock);
		fuse_reply_err(req, err);
		return;
	}
	/* Records end at the offsets they carry: send whole records only. */
	size_t start = (size_t)off, end = start;
	while (end < f->len) {
		/* struct fuse_dirent: ino, off (u64), namelen, type (u32),
		 * name; padded to 8 bytes */
		uint32_t namelen;
		memcpy(&namelen, f->buf + end + 16, sizeof(namelen));
		size_t rec = (24 + (size_t)namelen + 7) & ~(size_t)7;
		if (end + rec - start > size)
			break;
		end += rec;
	}
	if (start >= f->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, (char *)f->buf + start, end - start);
	pthread_mutex_unlock(&f->lock);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	struct fs_file *f = (struct fs_file *)(uintptr_t)fi->fh;
	/* an interrupted readdir may still be replying */
	pthread_mutex_lock(&f->lock);
	pthread_mutex_unlock(&f->lock);
	free(f->buf);
	pthread_mutex_destroy(&f->lock);
	free(f);
	fuse_reply_err(req, 0);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_inode_or_reply(fs, req, ino);
	if (!in)
		return;
	tree_read_lock();
	struct tree_view v;
	int err;
	struct tree_node *n = fs_resolve(fs, in, &v, &err);
	if (n) {
		bool dir = in->kind == FS_KIND_DIR;
		int32_t need = 0;
		if (mask & R_OK)
			need |= ZK_PERM_READ;
		if (mask & W_OK)
			need |= dir ? ZK_PERM_CREATE : ZK_PERM_WRITE;
		err = 0;
		if ((mask & W_OK) &&
		    fs_is_zookeeper(in->path, in->path_len))
			err = EROFS;
		else if ((mask & X_OK) && !dir)
			err = EACCES;
		else if (!fs_allowed(fs, req, &v, need))
			err = EACCES;
	}
	tree_read_unlock();
	fuse_reply_err(req, err);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct fs *fs = fs_of(req);
	struct statvfs s;
	memset(&s, 0, sizeof(s));
	s.f_bsize = 4096;
	s.f_frsize = 4096;
	s.f_namemax = 255;
	s.f_files = tree_node_count(fs->tree);
	s.f_blocks = (tree_data_size(fs->tree) + 4095) / 4096;
	fuse_reply_statfs(req, &s);
}

/* -- xattrs: user.zk.* -- */

static const char *const xattr_names[] = {
	"user.zk.czxid",    "user.zk.mzxid",       "user.zk.pzxid",
	"user.zk.ctime",    "user.zk.mtime",       "user.zk.version",
	"user.zk.cversion", "user.zk.aversion",    "user.zk.ephemeralOwner",
	"user.zk.dataLength", "user.zk.numChildren", "user.zk.type",
	"user.zk.acl",      "user.zk.name",        "user.zk.path",
};

static const char *type_name(const struct tree_view *v)
{
	if (zk_owner_is_container(v->owner))
		return "container";
	if (zk_owner_is_ttl(v->owner))
		return "ttl";
	if (zk_owner_is_session(v->owner))
		return "ephemeral";
	return "persistent";
}

static void perms_text(int32_t p, char *out)
{
	size_t i = 0;
	if (p & ZK_PERM_CREATE)
		out[i++] = 'c';
	if (p & ZK_PERM_DELETE)
		out[i++] = 'd';
	if (p & ZK_PERM_READ)
		out[i++] = 'r';
	if (p & ZK_PERM_WRITE)
		out[i++] = 'w';
	if (p & ZK_PERM_ADMIN)
		out[i++] = 'a';
	out[i] = 0;
}

/* The value of xattr name for node n into a malloc'd buffer (read lock
 * held).  Returns its length, or -errno. */
static long xattr_value(struct tree_node *n, const struct tree_view *v,
			const char *name, char **out)
{
	const struct zk_stat *s = &v->stat;
	char num[64];
	const char *text = NULL;
	size_t len = 0;
	if (strncmp(name, "user.zk.", 8) != 0)
		return -ENODATA;
	const char *k = name + 8;
	if (!strcmp(k, "czxid"))
		snprintf(num, sizeof(num), "0x%" PRIx64, (uint64_t)s->czxid);
	else if (!strcmp(k, "mzxid"))
		snprintf(num, sizeof(num), "0x%" PRIx64, (uint64_t)s->mzxid);
	else if (!strcmp(k, "pzxid"))
		snprintf(num, sizeof(num), "0x%" PRIx64, (uint64_t)s->pzxid);
	else if (!strcmp(k, "ctime"))
		snprintf(num, sizeof(num), "%" PRId64, s->ctime);
	else if (!strcmp(k, "mtime"))
		snprintf(num, sizeof(num), "%" PRId64, s->mtime);
	else if (!strcmp(k, "version"))
		snprintf(num, sizeof(num), "%" PRId32, s->version);
	else if (!strcmp(k, "cversion"))
		snprintf(num, sizeof(num), "%" PRId32, s->cversion);
	else if (!strcmp(k, "aversion"))
		snprintf(num, sizeof(num), "%" PRId32, s->aversion);
	else if (!strcmp(k, "ephemeralOwner"))
		snprintf(num, sizeof(num), "0x%" PRIx64,
			 (uint64_t)s->ephemeral_owner);
	else if (!strcmp(k, "dataLength"))
		snprintf(num, sizeof(num), "%" PRId32, s->data_length);
	else if (!strcmp(k, "numChildren"))
		snprintf(num, sizeof(num), "%" PRId32, s->num_children);
	else if (!strcmp(k, "type"))
		text = type_name(v);
	else if (!strcmp(k, "data")) {
		len = v->data.len > 0 ? (size_t)v->data.len : 0;
		*out = malloc(len + 1);
		if (!*out)
			return -ENOMEM;
		if (len)
			memcpy(*out, v->data.p, len);
		return (long)len;
	} else if (!strcmp(k, "name") || !strcmp(k, "path")) {
		char path[4096];
		size_t pl = tree_node_path(n, path, sizeof(path));
		if (pl >= sizeof(path))
			return -ENAMETOOLONG;
		const char *p = path;
		if (!strcmp(k, "name")) {
			struct zk_bytes b = tree_node_name(n);
			p = (const char *)b.p;
			pl = (size_t)b.len;
		}
		*out = malloc(pl + 1);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, p, pl);
		return (long)pl;
	} else if (!strcmp(k, "lock")) {
		len = fs_lock_text(n, NULL, 0);
		*out = malloc(len + 1);
		if (!*out)
			return -ENOMEM;
		return (long)fs_lock_text(n, *out, len);
	} else if (!strcmp(k, "acl")) {
		size_t cap = 1;
		for (int32_t i = 0; i < v->acl.n; i++)
			cap += (size_t)v->acl.v[i].id.scheme.len +
			       (size_t)v->acl.v[i].id.id.len + 9;
		char *b = malloc(cap);
		if (!b)
			return -ENOMEM;
		for (int32_t i = 0; i < v->acl.n; i++) {
			const struct zk_acl *a = &v->acl.v[i];
			char p[8];
			perms_text(a->perms, p);
			len += (size_t)snprintf(b + len, cap - len, "%.*s:%.*s:%s\n",
						(int)a->id.scheme.len,
						(const char *)a->id.scheme.p,
						(int)a->id.id.len,
						(const char *)a->id.id.p, p);
		}
		*out = b;
		return (long)len;
	} else {
		return -ENODATA;
	}
	if (!text)
		text = num;
	len = strlen(text);
	*out = malloc(len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, text, len);
	return (long)len;
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_inode_or_reply(fs, req, ino);
	if (!in)
		return;
	tree_read_lock();
	struct tree_view v;
	int err;
	char *val = NULL;
	long len;
	struct tree_node *n = fs_resolve(fs, in, &v, &err);
	if (!n)
		len = -err;
	else if (!strcmp(name, "user.zk.data") && in->kind != FS_KIND_DIR)
		len = -ENODATA;
	else if (!strcmp(name, "user.zk.data") &&
		 !fs_allowed(fs, req, &v, ZK_PERM_READ))
		len = -EACCES;
	else
		len = xattr_value(n, &v, name, &val);
	tree_read_unlock();
	if (len < 0)
		fuse_reply_err(req, (int)-len);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, (size_t)len);
	free(val);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = fs_of(req);
	struct fs_inode *in = fs_inode_or_reply(fs, req, ino);
	if (!in)
		return;
	char buf[512];
	size_t len = 0;
	for (size_t i = 0; i < sizeof(xattr_names) / sizeof(xattr_names[0]);
	     i++) {
		size_t l = strlen(xattr_names[i]) + 1;
		memcpy(buf + len, xattr_names[i], l);
		len += l;
	}
	if (in->kind == FS_KIND_DIR) {
		memcpy(buf + len, "user.zk.data", 13);
		len += 13;
	}
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, len);
}

void fs_ops_read(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->releasedir = op_releasedir;
	ops->access = op_access;
	ops->statfs = op_statfs;
	ops->getxattr = op_getxattr;
	ops->listxattr = op_listxattr;
}
