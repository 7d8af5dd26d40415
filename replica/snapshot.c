/*
 * snapshot.c - writing (fuzzy, under RCU) and loading snapshots of the
 * tree.  Design and invariants in snapshot_i.h; format in snapfmt.h.
 *
 * Design
 *   Writing: the walk (tree_walk) encodes records into a buffer that is
 *   written out whenever it passes FLUSH_AT bytes.  A node's NODE record
 *   is read when the walk enters it, after its first child was read; a
 *   node that had children gets a CHILDREN record once they are written,
 *   with its cversion and pzxid read then.  So the child fields a loaded
 *   node ends with are never older than the children list it was loaded
 *   with, which replay (tree_apply, replay mode) relies on.  ACL records are given
 *   dense refs 0, 1, ... the first time the walk meets an ACL record (a
 *   local hash from record pointer to ref: the records cannot be freed
 *   while the walk holds its read lock).
 *
 *   Loading: the file is mapped and decoded record by record into a tree
 *   that nobody else sees yet.  The parent of a node is almost always the
 *   previous node or one of its ancestors (pre-order), so it is found by
 *   walking up from the previous node; the hash lookup is the fallback.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot_i.h"
#include "tree_i.h"
#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/snapfmt.h"

#define FLUSH_AT (1u << 20)

/* -- writing -- */

struct acl_refs {
	const struct tree_acl **keys; /* open addressing, NULL = free */
	int32_t *vals;
	size_t cap; /* power of two, 0 before the first ACL */
	size_t n;
};

struct walk {
	int fd;
	struct jute_writer w;
	struct snapfmt_writer sw;
	struct acl_refs refs;
};

static size_t ptr_slot(const void *p, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (cap - 1);
}

static void refs_put(struct acl_refs *r, const struct tree_acl *acl,
		     int32_t val)
{
	size_t k = ptr_slot(acl, r->cap);
	while (r->keys[k])
		k = (k + 1) & (r->cap - 1);
	r->keys[k] = acl;
	r->vals[k] = val;
}

/* The ref of acl; *fresh when it is met for the first time.  -1 on NOMEM. */
static int32_t acl_ref(struct acl_refs *r, const struct tree_acl *acl,
		       bool *fresh)
{
	for (size_t k = r->cap ? ptr_slot(acl, r->cap) : 0; r->cap;
	     k = (k + 1) & (r->cap - 1)) {
		if (!r->keys[k])
			break;
		if (r->keys[k] == acl) {
			*fresh = false;
			return r->vals[k];
		}
	}
	if (2 * (r->n + 1) > r->cap) {
		struct acl_refs g = {NULL, NULL, r->cap ? r->cap * 2 : 64, r->n};
		g.keys = calloc(g.cap, sizeof(*g.keys));
		g.vals = calloc(g.cap, sizeof(*g.vals));
		if (!g.keys || !g.vals) {
			free(g.keys);
			free(g.vals);
			return -1;
		}
		for (size_t i = 0; i < r->cap; i++)
			if (r->keys[i])
				refs_put(&g, r->keys[i], r->vals[i]);
		free(r->keys);
		free(r->vals);
		*r = g;
	}
	int32_t ref = (int32_t)r->n++;
	refs_put(r, acl, ref);
	*fresh = true;
	return ref;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t got = write(fd, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return ZK_IO;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static int flush_buf(struct walk *wk, size_t at_least)
{
	if (!jute_writer_ok(&wk->w))
		return ZK_NOMEM;
	if (wk->w.len < at_least)
		return 0;
	int rc = write_all(wk->fd, wk->w.buf, wk->w.len);
	jute_writer_reset(&wk->w);
	return rc;
}

static int walk_node(void *ctx, struct tree_node *n, struct zk_bytes path,
		     bool enter)
{
	struct walk *wk = ctx;
	const struct tree_ver *v = rcu_dereference(n->ver);
	if (!enter) {
		snapfmt_put_children(&wk->sw, path, v->cversion, v->pzxid);
		return flush_buf(wk, FLUSH_AT);
	}
	bool fresh;
	int32_t ref = acl_ref(&wk->refs, v->acl, &fresh);
	if (ref < 0)
		return ZK_NOMEM;
	if (fresh)
		snapfmt_put_acl(&wk->sw, ref, v->acl->raw);
	struct snapfmt_node rec = {
		.path = path,
		.data = zk_bytes_of(v->data, 0),
		.acl_ref = ref,
		.czxid = n->czxid,
		.mzxid = v->mzxid,
		.ctime = n->ctime,
		.mtime = v->mtime,
		.version = v->version,
		.cversion = v->cversion,
		.aversion = v->aversion,
		.owner = tree_node_owner(n),
		.pzxid = v->pzxid,
		.acl_mtime = v->acl_mtime,
		.op_index = n->op_index,
		.shape = n->shape,
	};
	rec.data.len = v->data_len;
	snapfmt_put_node(&wk->sw, &rec);
	return flush_buf(wk, FLUSH_AT);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ZK_IO;
	int rc = fsync(fd) ? ZK_IO : 0;
	close(fd);
	return rc;
}

int snapshot_write(struct tree *t, const char *dir, struct zk_bytes sessions,
		   int64_t zxid)
{
	char name[SNAPFMT_NAME_LEN + 1];
	int64_t z = zxid;
	snapfmt_name(name, sizeof(name), z);
	size_t dlen = strlen(dir);
	char *final = malloc(dlen + 1 + sizeof(name) + 4);
	char *tmp = malloc(dlen + 1 + sizeof(name) + 4);
	int rc = ZK_NOMEM;
	if (!final || !tmp)
		goto out_free;
	sprintf(final, "%s/%s", dir, name);
	sprintf(tmp, "%s.tmp", final);

	struct walk wk = {.fd = -1};
	wk.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	rc = ZK_IO;
	if (wk.fd < 0)
		goto out_free;
	jute_writer_init(&wk.w, FLUSH_AT + (64u << 10));
	snapfmt_begin(&wk.sw, &wk.w, z);
	snapfmt_put_sessions(&wk.sw, sessions);
	urcu_bp_read_lock();
	rc = tree_walk(t, walk_node, &wk);
	urcu_bp_read_unlock();
	if (rc)
		goto out_unlink;
	snapfmt_end(&wk.sw);
	rc = flush_buf(&wk, 0);
	if (rc)
		goto out_unlink;
	rc = ZK_IO;
	if (fsync(wk.fd) != 0)
		goto out_unlink;
	if (close(wk.fd) != 0) {
		wk.fd = -1;
		goto out_unlink;
	}
	wk.fd = -1;
	if (rename(tmp, final) != 0)
		goto out_unlink;
	rc = fsync_dir(dir);
	goto out_close;
out_unlink:
	unlink(tmp);
out_close:
	if (wk.fd >= 0)
		close(wk.fd);
	jute_writer_free(&wk.w);
	free(wk.refs.keys);
	free(wk.refs.vals);
out_free:
	free(final);
	free(tmp);
	return rc;
}

/* -- loading -- */

struct load {
	struct tree *t;
	struct tree_acl **acls; /* by ref */
	size_t nacls, cap;
	struct tree_node *last;
	struct zk_bytes last_path;
};

static int load_acl(struct load *ld, int32_t ref, struct zk_bytes raw)
{
	if (ref < 0 || (size_t)ref != ld->nacls)
		return ZK_CORRUPT;
	if (ld->nacls == ld->cap) {
		size_t cap = ld->cap ? ld->cap * 2 : 16;
		struct tree_acl **v = realloc(ld->acls, cap * sizeof(*v));
		if (!v)
			return ZK_NOMEM;
		ld->acls = v;
		ld->cap = cap;
	}
	return acl_table_intern(&ld->t->acls, raw, &ld->acls[ld->nacls++]);
}

static bool valid_path(struct zk_bytes p)
{
	if (p.len < 1 || p.p[0] != '/')
		return false;
	if (p.len == 1)
		return true;
	if (p.p[p.len - 1] == '/')
		return false;
	for (int32_t i = 1; i < p.len; i++)
		if (p.p[i] == '/' && p.p[i - 1] == '/')
			return false;
	return true;
}

/* The node at ppath: usually the last node loaded or an ancestor of it (pre-order), else found by a hash lookup. */
static struct tree_node *find_node(struct load *ld, struct zk_bytes ppath)
{
	if (ppath.len == 1)
		return ld->t->root;
	struct tree_node *c = ld->last;
	size_t len = ld->last_path.len == 1 ? 0 : (size_t)ld->last_path.len;
	while (c && len > (size_t)ppath.len) {
		len -= c->name_len + 1;
		c = c->parent;
	}
	if (c && len == (size_t)ppath.len &&
	    memcmp(ld->last_path.p, ppath.p, len) == 0)
		return c;
	return tree_lookup(ld->t, ppath);
}

static int load_node(struct load *ld, const struct snapfmt_node *r)
{
	struct tree *t = ld->t;
	struct tree_node *parent = NULL;
	struct zk_bytes name = zk_bytes_of("", 0);
	if (!valid_path(r->path) || r->shape > TXN_SHAPE_DIR ||
	    r->acl_ref < 0 || (size_t)r->acl_ref >= ld->nacls ||
	    (r->path.len == 1) != (t->root == NULL) || r->data.len < -1)
		return ZK_CORRUPT;
	if (r->path.len > 1) {
		const uint8_t *slash = r->path.p + r->path.len - 1;
		while (*slash != '/')
			slash--;
		struct zk_bytes ppath =
			zk_bytes_of(r->path.p, (size_t)(slash - r->path.p));
		if (ppath.len == 0)
			ppath.len = 1;
		name = zk_bytes_of(slash + 1,
				   (size_t)(r->path.p + r->path.len - slash - 1));
		parent = find_node(ld, ppath);
		if (!parent)
			return ZK_CORRUPT;
	}
	struct tree_node *n = tree_node_alloc(name, r->owner);
	struct tree_ver *v = tree_ver_alloc(r->data.len);
	if (!n || !v) {
		free(v);
		if (n)
			tree_node_dealloc(n);
		return ZK_NOMEM;
	}
	n->czxid = r->czxid;
	n->ctime = r->ctime;
	n->op_index = (uint16_t)r->op_index;
	n->shape = r->shape;
	v->mzxid = r->mzxid;
	v->mtime = r->mtime;
	v->pzxid = r->pzxid;
	v->acl_mtime = r->acl_mtime;
	v->acl = ld->acls[r->acl_ref];
	v->version = r->version;
	v->cversion = r->cversion;
	v->aversion = r->aversion;
	v->num_children = 0;
	if (r->data.len > 0)
		memcpy(v->data, r->data.p, (size_t)r->data.len);
	n->ver = v;
	int rc = tree_node_link(t, parent, n);
	if (rc) {
		free(v);
		tree_node_dealloc(n);
		return rc == ZK_NODEEXISTS ? ZK_CORRUPT : rc;
	}
	v->acl->refs++;
	if (parent)
		parent->ver->num_children++; /* the tree is not visible yet */
	ld->last = n;
	ld->last_path = r->path;
	return 0;
}

/* The child-related fields of a node whose children were all written. */
static int load_children(struct load *ld, struct zk_bytes path,
			 int32_t cversion, int64_t pzxid)
{
	struct tree_node *n = find_node(ld, path);
	if (!n)
		return ZK_CORRUPT;
	n->ver->cversion = cversion; /* the tree is not visible yet */
	n->ver->pzxid = pzxid;
	return 0;
}

static int load_records(struct snapfmt_reader *r, struct load *ld,
			struct snapshot_loaded *out)
{
	struct snapfmt_record rec;
	int rc;
	while ((rc = snapfmt_next(r, &rec)) == SNAPFMT_RECORD) {
		switch (rec.type) {
		case SNAPFMT_ACL:
			rc = load_acl(ld, rec.u.acl.ref, rec.u.acl.raw);
			break;
		case SNAPFMT_NODE:
			rc = load_node(ld, &rec.u.node);
			break;
		case SNAPFMT_CHILDREN:
			rc = load_children(ld, rec.u.children.path,
					   rec.u.children.cversion,
					   rec.u.children.pzxid);
			break;
		case SNAPFMT_SESSIONS:
			if (out->sessions) {
				rc = ZK_CORRUPT;
				break;
			}
			out->sessions_len = (size_t)rec.u.sessions.len;
			out->sessions = malloc(out->sessions_len + 1);
			rc = out->sessions ? 0 : ZK_NOMEM;
			if (out->sessions && out->sessions_len)
				memcpy(out->sessions, rec.u.sessions.p,
				       out->sessions_len);
			break;
		default:
			rc = ZK_CORRUPT;
		}
		if (rc)
			return rc;
	}
	if (rc == SNAPFMT_DONE && !ld->t->root)
		rc = ZK_CORRUPT;
	return rc;
}

int snapshot_load(const char *path, struct snapshot_loaded *out)
{
	struct snapshot_loaded res = {NULL, 0, NULL, 0};
	struct load ld = {0};
	struct snapfmt_reader r;
	struct stat st;
	int rc = ZK_IO;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ZK_IO;
	if (fstat(fd, &st) != 0)
		goto out_close;
	rc = ZK_CORRUPT;
	if (st.st_size < (off_t)SNAPFMT_HEADER_SIZE)
		goto out_close;
	size_t len = (size_t)st.st_size;
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
			 0);
	rc = ZK_IO;
	if (map == MAP_FAILED)
		goto out_close;
	rc = snapfmt_reader_init(&r, map, len, &res.zxid);
	if (rc)
		goto out_unmap;
	rc = tree_alloc(&ld.t, false, (unsigned long)(len / 160));
	if (rc)
		goto out_unmap;
	urcu_bp_read_lock();
	rc = load_records(&r, &ld, &res);
	/* Drop the refs the ACL records held; unused ones go. */
	if (tree_retire_reserve(ld.t, ld.nacls) == 0) {
		for (size_t i = 0; i < ld.nacls; i++)
			acl_table_unref(ld.t, ld.acls[i]);
	} else if (rc == 0) {
		rc = ZK_NOMEM;
	}
	urcu_bp_read_unlock();
	tree_retire_flush(ld.t);
	if (rc == 0)
		rc = tree_digest_rebuild(ld.t);
	if (rc)
		goto out_free_tree;
	ld.t->last_zxid = res.zxid;
	res.tree = ld.t;
	*out = res;
	goto out_unmap;
out_free_tree:
	tree_free(ld.t);
	free(res.sessions);
out_unmap:
	free(ld.acls);
	munmap(map, len);
out_close:
	close(fd);
	return rc;
}

static int cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

int snapshot_list(const char *dir, int64_t **zxids, size_t *n)
{
	DIR *d = opendir(dir);
	int64_t *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	if (!d)
		return ZK_IO;
	while ((e = readdir(d))) {
		int64_t z;
		if (snapfmt_name_parse(e->d_name, &z) != 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			int64_t *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				free(v);
				closedir(d);
				return ZK_NOMEM;
			}
			v = nv;
		}
		v[cnt++] = z;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_desc);
	*zxids = v;
	*n = cnt;
	return 0;
}

int snapshot_find_latest(const char *dir, struct snapshot_loaded *out)
{
	int64_t *zxids;
	size_t n;
	int rc = snapshot_list(dir, &zxids, &n);
	if (rc)
		return rc;
	size_t dlen = strlen(dir);
	char *path = malloc(dlen + 2 + SNAPFMT_NAME_LEN + 1);
	rc = path ? ZK_NONODE : ZK_NOMEM;
	for (size_t i = 0; path && i < n; i++) {
		memcpy(path, dir, dlen);
		path[dlen] = '/';
		snapfmt_name(path + dlen + 1, SNAPFMT_NAME_LEN + 1, zxids[i]);
		int got = snapshot_load(path, out);
		if (got == 0 || got == ZK_NOMEM) {
			rc = got;
			break;
		}
	}
	free(path);
	free(zxids);
	return rc;
}
