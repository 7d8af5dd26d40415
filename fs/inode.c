/*
 * inode.c - the inodes the kernel knows, and how one becomes a tree node
 * and a struct stat.
 *
 * Design
 *   A chained hash table keyed by ino (fs_i.h gives the numbering), one
 *   mutex.  An entry holds the znode's path: znodes never move (a rename
 *   is a create and a delete, so a new id), so resolving is a tree lookup
 *   by path and a check of the id and kind (fs_i.h invariant 2).
 *
 *   A pending inode (FS_PENDING_INO bit) is a file opened with O_CREAT
 *   whose znode is not made yet: file.c creates it, with its data, at the
 *   first flush.  It has no id; it resolves to whatever node its path
 *   names (none until the create), and its number is never reused.
 *
 *   Mode bits and owner come from the ACL (perm.c).  /zookeeper is
 *   read-only.  st_ctime is the later of the znode's mtime and its last
 *   ACL change (the contract's rule); ZooKeeper's ctime, the creation
 *   time, is the xattr user.zk.ctime.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_i.h"

int fs_table_init(struct fs_table *t)
{
	t->n_slots = 1024;
	t->count = 0;
	t->slots = calloc(t->n_slots, sizeof(*t->slots));
	if (!t->slots)
		return -1;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void fs_table_free(struct fs_table *t)
{
	for (size_t i = 0; i < t->n_slots; i++) {
		struct fs_inode *in = t->slots[i];
		while (in) {
			struct fs_inode *next = in->next;
			free(in);
			in = next;
		}
	}
	free(t->slots);
	t->slots = NULL;
	pthread_mutex_destroy(&t->lock);
}

uint64_t fs_ino_of(uint64_t id, enum fs_kind kind)
{
	if (id == TREE_ROOT_ID && kind == FS_KIND_DIR)
		return FUSE_ROOT_ID;
	return id << 2 | (uint64_t)kind;
}

static size_t slot_of(const struct fs_table *t, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 32) & (t->n_slots - 1);
}

struct fs_inode *fs_table_get(struct fs_table *t, uint64_t ino)
{
	pthread_mutex_lock(&t->lock);
	struct fs_inode *in = t->slots[slot_of(t, ino)];
	while (in && in->ino != ino)
		in = in->next;
	pthread_mutex_unlock(&t->lock);
	return in;
}

struct fs_inode *fs_inode_or_reply(struct fs *fs, fuse_req_t req,
				   uint64_t ino)
{
	struct fs_inode *in = fs_table_get(&fs->table, ino);
	if (!in)
		fuse_reply_err(req, ESTALE);
	return in;
}

static void grow(struct fs_table *t)
{
	size_t n = t->n_slots * 2;
	struct fs_inode **slots = calloc(n, sizeof(*slots));
	if (!slots)
		return; /* longer chains, still correct */
	struct fs_inode **old = t->slots;
	size_t old_n = t->n_slots;
	t->slots = slots;
	t->n_slots = n;
	for (size_t i = 0; i < old_n; i++) {
		struct fs_inode *in = old[i];
		while (in) {
			struct fs_inode *next = in->next;
			size_t s = slot_of(t, in->ino);
			in->next = slots[s];
			slots[s] = in;
			in = next;
		}
	}
	free(old);
}

struct fs_inode *fs_table_ref(struct fs_table *t, uint64_t id,
			      enum fs_kind kind, const char *path,
			      size_t path_len)
{
	uint64_t ino = fs_ino_of(id, kind);
	pthread_mutex_lock(&t->lock);
	struct fs_inode *in = t->slots[slot_of(t, ino)];
	while (in && in->ino != ino)
		in = in->next;
	if (!in) {
		in = malloc(sizeof(*in) + path_len + 1);
		if (!in)
			goto out;
		in->ino = ino;
		in->id = id;
		in->kind = kind;
		in->nlookup = 0;
		in->path_len = path_len;
		memcpy(in->path, path, path_len);
		in->path[path_len] = 0;
		size_t s = slot_of(t, ino);
		in->next = t->slots[s];
		t->slots[s] = in;
		if (++t->count > t->n_slots)
			grow(t);
	}
	in->nlookup++;
out:
	pthread_mutex_unlock(&t->lock);
	return in;
}

struct fs_inode *fs_table_add_pending(struct fs_table *t, const char *path,
				      size_t path_len)
{
	struct fs_inode *in = malloc(sizeof(*in) + path_len + 1);
	if (!in)
		return NULL;
	pthread_mutex_lock(&t->lock);
	in->ino = FS_PENDING_INO | ++t->pending;
	in->id = 0;
	in->kind = FS_KIND_FILE;
	in->nlookup = 1;
	in->path_len = path_len;
	memcpy(in->path, path, path_len);
	in->path[path_len] = 0;
	size_t s = slot_of(t, in->ino);
	in->next = t->slots[s];
	t->slots[s] = in;
	if (++t->count > t->n_slots)
		grow(t);
	pthread_mutex_unlock(&t->lock);
	return in;
}

void fs_table_forget(struct fs_table *t, uint64_t ino, uint64_t n)
{
	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&t->lock);
	struct fs_inode **pp = &t->slots[slot_of(t, ino)];
	while (*pp && (*pp)->ino != ino)
		pp = &(*pp)->next;
	struct fs_inode *in = *pp;
	if (in) {
		in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
		if (in->nlookup == 0) {
			*pp = in->next;
			t->count--;
			free(in);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

enum fs_kind fs_kind_of(const struct tree_node *n, const struct tree_view *v)
{
	if (v->id == TREE_ROOT_ID || v->shape == TXN_SHAPE_DIR)
		return FS_KIND_DIR;
	if (v->stat.num_children == 0)
		return FS_KIND_FILE;
	for (struct tree_node *c = tree_child_first(n); c;
	     c = tree_child_next(c))
		if (!fs_is_contender(tree_node_name(c)))
			return FS_KIND_DIR;
	return FS_KIND_FILE;
}

struct tree_node *fs_resolve(struct fs *fs, const struct fs_inode *in,
			     struct tree_view *v, int *err)
{
	struct tree_node *n =
		tree_lookup(fs->tree, zk_bytes_of(in->path, in->path_len));
	if (!n) {
		*err = ENOENT;
		return NULL;
	}
	tree_node_read(n, v);
	if (in->ino & FS_PENDING_INO)
		return n;
	enum fs_kind now = fs_kind_of(n, v);
	enum fs_kind want = in->kind == FS_KIND_DATA ? FS_KIND_DIR : in->kind;
	if (v->id != in->id || now != want) {
		*err = v->id != in->id ? ENOENT : ESTALE;
		return NULL;
	}
	return n;
}

bool fs_is_zookeeper(const char *path, size_t len)
{
	size_t n = strlen(FS_ZK_PREFIX);
	return len >= n && !memcmp(path, FS_ZK_PREFIX, n) &&
	       (len == n || path[n] == '/');
}

long fs_path_join(char *buf, size_t cap, const char *parent,
		  size_t parent_len, const char *name)
{
	size_t nl = strlen(name);
	bool root = parent_len == 1 && parent[0] == '/';
	size_t len = (root ? 0 : parent_len) + 1 + nl;
	if (len + 1 > cap)
		return -1;
	size_t at = 0;
	if (!root) {
		memcpy(buf, parent, parent_len);
		at = parent_len;
	}
	buf[at++] = '/';
	memcpy(buf + at, name, nl);
	buf[len] = 0;
	return (long)len;
}

/* ZooKeeper times are milliseconds since the epoch. */
static struct timespec timespec_of_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000};
	return ts;
}

void fs_fill_attr(struct fs *fs, const struct tree_node *n,
		  const struct tree_view *v, enum fs_kind kind, struct stat *st)
{
	char path[64];
	size_t plen = tree_node_path(n, path, sizeof(path));
	bool ro = plen < sizeof(path) && fs_is_zookeeper(path, plen);
	memset(st, 0, sizeof(*st));
	st->st_ino = fs_ino_of(v->id, kind);
	fs_acl_mode(v, kind, ro, st);
	st->st_size = v->stat.data_length;
	if (kind == FS_KIND_DIR) {
		nlink_t links = 2;
		for (struct tree_node *c = tree_child_first(n); c;
		     c = tree_child_next(c)) {
			struct tree_view cv;
			tree_node_read(c, &cv);
			if (fs_kind_of(c, &cv) == FS_KIND_DIR)
				links++;
		}
		st->st_nlink = links;
	} else {
		st->st_nlink = 1;
	}
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim = timespec_of_ms(v->stat.mtime);
	st->st_ctim = timespec_of_ms(v->acl_mtime > v->stat.mtime
					     ? v->acl_mtime
					     : v->stat.mtime);
	st->st_atim = st->st_mtim;
	(void)fs;
}

void fs_reply_node(struct fs *fs, fuse_req_t req, struct tree_node *n,
		   const struct tree_view *v, double timeout,
		   struct fuse_file_info *create_fi)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof(e));
	enum fs_kind kind = fs_kind_of(n, v);
	char path[4096];
	size_t len = tree_node_path(n, path, sizeof(path));
	if (len >= sizeof(path)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	struct fs_inode *in = fs_table_ref(&fs->table, v->id, kind, path, len);
	if (!in) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_fill_attr(fs, n, v, kind, &e.attr);
	e.ino = in->ino;
	e.generation = 1;
	e.attr_timeout = 0;
	e.entry_timeout = timeout;
	int rc = create_fi ? fuse_reply_create(req, &e, create_fi)
			   : fuse_reply_entry(req, &e);
	if (rc != 0) /* the request was interrupted: the kernel keeps nothing */
		fs_table_forget(&fs->table, in->ino, 1);
}
