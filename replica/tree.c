/*
 * tree.c - the znode tree's structure: allocation, linking and unlinking
 * of nodes (writer), the read API (any thread under RCU), the digest and
 * the retire batches.
 *
 * Design
 *   See tree.h for the model and tree_i.h for the layout.  The hash table
 *   is keyed by (parent pointer, name) with a per-tree random seed; the
 *   digest uses fixed seeds so that two replicas agree.
 *
 *   Retiring: the writer pushes what it unlinked onto t->retire (room
 *   reserved beforehand by tree_retire_reserve) and tree_retire_flush
 *   hands the batch to call_rcu, whose callback frees every pointer in it.
 *
 * Invariants
 *   1. (tree_i.h 1-4.)
 *   2. A node's name never contains '/' and is non-empty, except the
 *      root's, which is empty.
 *   3. Counters (node_count, data_size, ephemeral_count, digest,
 *      last_zxid) are stored with TREE_SET (relaxed atomics; last_zxid with
 *      release/acquire) by the writer only.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tree_i.h"
#include "zabfs/err.h"
#include "zabfs/jute.h"

#define DIGEST_SEED 0x7a616266735f6467ull
#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full
#define K3 0x165667b19e3779f9ull

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static inline uint64_t mix_word(uint64_t h, uint64_t w)
{
	h ^= rotl(w * K2, 31) * K1;
	return rotl(h, 27) * 5 + K3;
}

uint64_t tree_hash_bytes(uint64_t seed, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = seed ^ ((uint64_t)n * K1);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = mix_word(h, le64toh(w));
		b += 8;
		n -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)b[i] << (8 * i);
	return fmix(mix_word(h, w));
}

uint64_t tree_node_digest_data(uint64_t path_hash, const struct tree_ver *v)
{
	if (v->data_len < 0)
		return fmix(path_hash ^ K3);
	return tree_hash_bytes(path_hash, v->data, (size_t)v->data_len);
}

uint64_t tree_node_digest_stat(uint64_t path_hash, const struct tree_node *n,
			       const struct tree_ver *v)
{
	uint64_t h = path_hash ^ K2;
	h = mix_word(h, (uint64_t)n->czxid);
	h = mix_word(h, (uint64_t)n->ctime);
	h = mix_word(h, (uint64_t)tree_node_owner(n));
	h = mix_word(h, n->shape);
	h = mix_word(h, (uint64_t)v->mzxid);
	h = mix_word(h, (uint64_t)v->mtime);
	h = mix_word(h, (uint64_t)v->pzxid);
	h = mix_word(h, (uint64_t)v->acl_mtime);
	h = mix_word(h, (uint64_t)(uint32_t)v->version << 32 |
				(uint32_t)v->cversion);
	h = mix_word(h, (uint64_t)(uint32_t)v->aversion << 32 |
				(uint32_t)v->num_children);
	h = mix_word(h, v->acl->hash);
	return fmix(h);
}

static void ask_resize(struct tree *t);

/* -- retire batches -- */

static void retire_free(struct rcu_head *head)
{
	struct tree_retire *r = caa_container_of(head, struct tree_retire, rcu);
	for (size_t i = 0; i < r->n; i++)
		free(r->p[i]);
	free(r);
}

int tree_retire_reserve(struct tree *t, size_t k)
{
	struct tree_retire *r = t->retire;
	size_t n = r ? r->n : 0;
	size_t cap = r ? r->cap : 0;
	if (cap - n >= k)
		return 0;
	size_t ncap = cap ? cap * 2 : 16;
	while (ncap - n < k)
		ncap *= 2;
	struct tree_retire *nr = realloc(r, sizeof(*nr) + ncap * sizeof(void *));
	if (!nr)
		return ZK_NOMEM;
	nr->n = n;
	nr->cap = ncap;
	t->retire = nr;
	return 0;
}

void tree_retire_push(struct tree *t, void *p)
{
	/* Room was reserved: tree_retire_reserve succeeded for this op. */
	t->retire->p[t->retire->n++] = p;
}

void tree_retire_flush(struct tree *t)
{
	struct tree_retire *r = t->retire;
	if (!r || r->n == 0)
		return;
	t->retire = NULL;
	urcu_bp_call_rcu(&r->rcu, retire_free);
}

/* -- nodes -- */

struct node_key {
	const struct tree_node *parent;
	const uint8_t *name;
	uint32_t len;
};

static int node_match(struct cds_lfht_node *hn, const void *key)
{
	const struct tree_node *n =
		caa_container_of(hn, struct tree_node, hnode);
	const struct node_key *k = key;
	return n->parent == k->parent && n->name_len == k->len &&
	       memcmp(n->name, k->name, k->len) == 0;
}

static unsigned long node_hash(const struct tree *t,
			       const struct tree_node *parent,
			       const void *name, size_t len)
{
	uint64_t seed = t->hash_seed ^ ((uint64_t)(uintptr_t)parent * K1);
	return (unsigned long)tree_hash_bytes(seed, name, len);
}

static int session_match(struct cds_lfht_node *hn, const void *key)
{
	const struct tree_session *s =
		caa_container_of(hn, struct tree_session, hnode);
	return s->id == *(const int64_t *)key;
}

static unsigned long session_hash(int64_t id)
{
	return (unsigned long)fmix((uint64_t)id ^ K1);
}

static struct tree_session *session_find(struct tree *t, int64_t id)
{
	struct cds_lfht_iter it;
	cds_lfht_lookup(t->sessions, session_hash(id), session_match, &id, &it);
	struct cds_lfht_node *hn = cds_lfht_iter_get_node(&it);
	return hn ? caa_container_of(hn, struct tree_session, hnode) : NULL;
}

int64_t tree_node_owner(const struct tree_node *n)
{
	return n->link ? n->link->owner : 0;
}

bool tree_node_builtin(const struct tree_node *n)
{
	return n->czxid == 0 && n->op_index >= 1 && n->op_index <= 4;
}

struct tree_ver *tree_ver_alloc(int32_t data_len)
{
	size_t n = data_len > 0 ? (size_t)data_len : 0;
	struct tree_ver *v = malloc(sizeof(*v) + n);
	if (v)
		v->data_len = data_len;
	return v;
}

struct tree_ver *tree_ver_copy(const struct tree_ver *v)
{
	size_t n = sizeof(*v) + (v->data_len > 0 ? (size_t)v->data_len : 0);
	struct tree_ver *c = malloc(n);
	if (c)
		memcpy(c, v, n);
	return c;
}

struct tree_node *tree_node_alloc(struct zk_bytes name, int64_t owner)
{
	struct tree_node *n = malloc(sizeof(*n) + (size_t)name.len);
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	if (owner != 0) {
		n->link = malloc(sizeof(*n->link));
		if (!n->link) {
			free(n);
			return NULL;
		}
		n->link->node = n;
		n->link->owner = owner;
	}
	memcpy(n->name, name.p, (size_t)name.len);
	n->name_len = (uint32_t)name.len;
	CDS_INIT_HLIST_HEAD(&n->children);
	cds_lfht_node_init(&n->hnode);
	return n;
}

void tree_node_dealloc(struct tree_node *n)
{
	free(n->link);
	free(n);
}

int tree_node_link(struct tree *t, struct tree_node *parent,
		   struct tree_node *n)
{
	int64_t owner = tree_node_owner(n);
	struct tree_session *s = NULL;
	struct tree_session *fresh = NULL;
	n->parent = parent;
	if (zk_owner_is_session(owner)) {
		s = session_find(t, owner);
		if (!s) {
			fresh = malloc(sizeof(*fresh));
			if (!fresh)
				return ZK_NOMEM;
			fresh->id = owner;
			cds_lfht_node_init(&fresh->hnode);
			CDS_INIT_LIST_HEAD(&fresh->ephemerals);
		}
	}
	if (parent) {
		struct node_key k = {parent, (const uint8_t *)n->name,
				     n->name_len};
		struct cds_lfht_node *got = cds_lfht_add_unique(
			t->nodes, node_hash(t, parent, n->name, n->name_len),
			node_match, &k, &n->hnode);
		if (got != &n->hnode) {
			free(fresh);
			return ZK_NODEEXISTS;
		}
		cds_hlist_add_head_rcu(&n->sibling, &parent->children);
	} else {
		t->root = n;
	}
	if (fresh) {
		cds_lfht_add(t->sessions, session_hash(owner), &fresh->hnode);
		s = fresh;
	}
	if (s) {
		cds_list_add_rcu(&n->link->link, &s->ephemerals);
		TREE_SET(t->ephemeral_count, t->ephemeral_count + 1);
	} else if (n->link) {
		cds_list_add_rcu(&n->link->link, &t->special);
	}
	TREE_SET(t->node_count, t->node_count + 1);
	if (n->ver->data_len > 0)
		TREE_SET(t->data_size, t->data_size + (uint64_t)n->ver->data_len);
	if (t->node_count > 2 * t->buckets)
		ask_resize(t);
	return 0;
}

void tree_node_unlink(struct tree *t, struct tree_node *n)
{
	int64_t owner = tree_node_owner(n);
	cds_lfht_del(t->nodes, &n->hnode);
	cds_hlist_del_rcu(&n->sibling);
	if (n->link) {
		cds_list_del_rcu(&n->link->link);
		if (zk_owner_is_session(owner)) {
			struct tree_session *s = session_find(t, owner);
			TREE_SET(t->ephemeral_count, t->ephemeral_count - 1);
			if (s && cds_list_empty(&s->ephemerals)) {
				cds_lfht_del(t->sessions, &s->hnode);
				tree_retire_push(t, s);
			}
		}
		tree_retire_push(t, n->link);
	}
	TREE_SET(t->node_count, t->node_count - 1);
	if (n->ver->data_len > 0)
		TREE_SET(t->data_size, t->data_size - (uint64_t)n->ver->data_len);
	acl_table_unref(t, n->ver->acl);
	tree_retire_push(t, n->ver);
	tree_retire_push(t, n);
}

/* -- walking -- */

static struct tree_node *first_child(const struct tree_node *n)
{
	struct cds_hlist_node *c = rcu_dereference(n->children.next);
	return c ? caa_container_of(c, struct tree_node, sibling) : NULL;
}

static struct tree_node *next_sibling(const struct tree_node *n)
{
	struct cds_hlist_node *c = rcu_dereference(n->sibling.next);
	return c ? caa_container_of(c, struct tree_node, sibling) : NULL;
}

static int path_push(char **buf, size_t *cap, size_t len,
		     const struct tree_node *n)
{
	size_t need = len + 1 + n->name_len + 1;
	if (need > *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		while (ncap < need)
			ncap *= 2;
		char *nb = realloc(*buf, ncap);
		if (!nb)
			return ZK_NOMEM;
		*buf = nb;
		*cap = ncap;
	}
	(*buf)[len] = '/';
	memcpy(*buf + len + 1, n->name, n->name_len);
	return 0;
}

int tree_walk(struct tree *t, tree_walk_fn fn, void *ctx)
{
	char *buf = NULL;
	size_t cap = 0;
	size_t len = 0; /* path length of n; the root's is 0 (shown "/") */
	struct tree_node *n = t->root;
	/* A node's first child is read before fn sees the node, so that
	 * what fn reads of a leaf is at least as new as its emptiness. */
	struct tree_node *c = first_child(n);
	int rc = fn(ctx, n, zk_bytes_of("/", 1), true);
	while (rc == 0) {
		while (!c) {
			if (n == t->root)
				goto out;
			c = next_sibling(n);
			len -= n->name_len + 1;
			if (c)
				break;
			n = n->parent;
			rc = fn(ctx, n, len ? zk_bytes_of(buf, len)
					    : zk_bytes_of("/", 1),
				false);
			if (rc)
				goto out;
		}
		rc = path_push(&buf, &cap, len, c);
		if (rc)
			break;
		n = c;
		len += n->name_len + 1;
		c = first_child(n);
		rc = fn(ctx, n, zk_bytes_of(buf, len), true);
	}
out:
	free(buf);
	return rc;
}

static int digest_one(void *ctx, struct tree_node *n, struct zk_bytes path,
		      bool enter)
{
	struct tree *t = ctx;
	if (!enter)
		return 0;
	uint64_t ph = tree_hash_bytes(DIGEST_SEED, path.p, (size_t)path.len);
	t->digest += tree_node_digest_data(ph, n->ver) +
		     tree_node_digest_stat(ph, n, n->ver);
	return 0;
}

int tree_digest_rebuild(struct tree *t)
{
	t->digest = 0;
	urcu_bp_read_lock();
	int rc = tree_walk(t, digest_one, t);
	urcu_bp_read_unlock();
	return rc;
}

uint64_t tree_path_hash(struct zk_bytes path)
{
	return tree_hash_bytes(DIGEST_SEED, path.p, (size_t)path.len);
}

/* -- creation and destruction -- */

/* world:anyone with perms, as jute vector<ACL>. */
static struct zk_bytes world_acl(uint8_t buf[32], int32_t perms)
{
	struct jute_writer w;
	jute_writer_init_fixed(&w, buf, 32);
	jute_put_int(&w, 1);
	jute_put_int(&w, perms);
	jute_put_cstring(&w, "world");
	jute_put_cstring(&w, "anyone");
	return zk_bytes_of(buf, w.len);
}

static int builtin_add(struct tree *t, struct tree_node *parent,
		       const char *name, uint16_t index, int32_t perms,
		       struct tree_node **out)
{
	uint8_t buf[32];
	struct tree_acl *acl;
	int rc = acl_table_intern(&t->acls, world_acl(buf, perms), &acl);
	if (rc)
		return rc;
	struct tree_node *n = tree_node_alloc(zk_bytes_of(name, strlen(name)), 0);
	struct tree_ver *v = tree_ver_alloc(-1);
	if (!n || !v) {
		rc = ZK_NOMEM;
		goto err_free;
	}
	memset(v, 0, sizeof(*v));
	v->data_len = -1;
	v->acl = acl;
	n->ver = v;
	n->op_index = index;
	rc = tree_node_link(t, parent, n);
	if (rc)
		goto err_free;
	if (parent) /* the tree is not visible yet: no new version needed */
		parent->ver->num_children++;
	*out = n;
	return 0;
err_free:
	free(v);
	if (n)
		tree_node_dealloc(n);
	acl->refs--; /* the caller frees the tree, and the table with it */
	return rc;
}

/* The resizer thread: grows the node table to what the writer asked. */
static void *resizer_main(void *arg)
{
	struct tree *t = arg;
	pthread_mutex_lock(&t->resize_mu);
	for (;;) {
		while (!t->resize_stop && !t->resize_want)
			pthread_cond_wait(&t->resize_cv, &t->resize_mu);
		if (t->resize_stop)
			break;
		unsigned long want = t->resize_want;
		t->resize_want = 0;
		pthread_mutex_unlock(&t->resize_mu);
		cds_lfht_resize(t->nodes, want); /* concurrent with everyone */
		pthread_mutex_lock(&t->resize_mu);
	}
	pthread_mutex_unlock(&t->resize_mu);
	return NULL;
}

/* Writer: the table should have about one bucket per node. */
static void ask_resize(struct tree *t)
{
	unsigned long want = t->buckets;
	while (want < t->node_count && want < (1ul << 30))
		want <<= 1;
	if (want == t->buckets)
		return;
	t->buckets = want;
	pthread_mutex_lock(&t->resize_mu);
	t->resize_want = want;
	pthread_cond_signal(&t->resize_cv);
	pthread_mutex_unlock(&t->resize_mu);
}

static void stop_resizer(struct tree *t)
{
	if (!t->resizer_started)
		return;
	pthread_mutex_lock(&t->resize_mu);
	t->resize_stop = true;
	pthread_cond_signal(&t->resize_cv);
	pthread_mutex_unlock(&t->resize_mu);
	pthread_join(t->resizer, NULL);
	t->resizer_started = false;
}

int tree_alloc(struct tree **out, bool builtins, unsigned long size_hint)
{
	struct tree *t = calloc(1, sizeof(*t));
	if (!t)
		return ZK_NOMEM;
	CDS_INIT_LIST_HEAD(&t->special);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t->hash_seed = fmix((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)t);
	unsigned long size = 1024;
	while (size < size_hint && size < (1ul << 30))
		size <<= 1;
	t->nodes = cds_lfht_new(size, 1024, 0, 0, NULL);
	t->buckets = size;
	t->sessions = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE, NULL);
	pthread_mutex_init(&t->resize_mu, NULL);
	pthread_cond_init(&t->resize_cv, NULL);
	if (!t->nodes || !t->sessions || acl_table_init(&t->acls) ||
	    pthread_create(&t->resizer, NULL, resizer_main, t) != 0) {
		tree_free(t);
		return ZK_NOMEM;
	}
	t->resizer_started = true;
	if (builtins) {
		struct tree_node *root, *zk, *quota, *config;
		urcu_bp_read_lock();
		int rc = builtin_add(t, NULL, "", 1, ZK_PERM_ALL, &root);
		if (!rc)
			rc = builtin_add(t, root, "zookeeper", 2, ZK_PERM_ALL,
					 &zk);
		if (!rc)
			rc = builtin_add(t, zk, "quota", 3, ZK_PERM_ALL, &quota);
		if (!rc)
			rc = builtin_add(t, zk, "config", 4, ZK_PERM_READ,
					 &config);
		urcu_bp_read_unlock();
		if (!rc)
			rc = tree_digest_rebuild(t);
		if (rc) {
			tree_free(t);
			return rc;
		}
	}
	*out = t;
	return 0;
}

int tree_new(struct tree **out)
{
	return tree_alloc(out, true, 0);
}

void tree_free(struct tree *t)
{
	struct cds_lfht_iter it;
	struct tree_node *n;
	struct tree_session *s, *sessions = NULL;
	if (!t)
		return;
	stop_resizer(t);
	tree_retire_flush(t);
	free(t->retire);
	/* Empty the tables; a resize may still be walking them, so nothing
	 * is freed before a grace period and the tables' destruction. */
	urcu_bp_read_lock();
	if (t->nodes)
		cds_lfht_for_each_entry(t->nodes, &it, n, hnode)
			cds_lfht_del(t->nodes, &n->hnode);
	if (t->sessions) {
		cds_lfht_for_each_entry(t->sessions, &it, s, hnode) {
			cds_lfht_del(t->sessions, &s->hnode);
			s->ephemerals.next = (struct cds_list_head *)sessions;
			sessions = s;
		}
	}
	urcu_bp_read_unlock();
	urcu_bp_synchronize_rcu();
	if (t->nodes)
		cds_lfht_destroy(t->nodes, NULL);
	if (t->sessions)
		cds_lfht_destroy(t->sessions, NULL);
	while ((s = sessions)) {
		sessions = (struct tree_session *)s->ephemerals.next;
		free(s);
	}
	/* Free the nodes bottom-up through the children lists. */
	n = t->root;
	while (n) {
		struct cds_hlist_node *c = n->children.next;
		if (c) {
			n->children.next = c->next;
			n = caa_container_of(c, struct tree_node, sibling);
			continue;
		}
		struct tree_node *parent = n->parent;
		free(n->ver);
		tree_node_dealloc(n);
		n = parent;
	}
	if (t->acls.slots)
		acl_table_destroy(&t->acls);
	free(t->path_buf);
	pthread_cond_destroy(&t->resize_cv);
	pthread_mutex_destroy(&t->resize_mu);
	free(t);
	/* Let queued batches run, so that nothing is left at exit. */
	urcu_bp_barrier();
}

/* -- readers -- */

void tree_read_lock(void)
{
	urcu_bp_read_lock();
}

void tree_read_unlock(void)
{
	urcu_bp_read_unlock();
}

struct tree_node *tree_root(struct tree *t)
{
	return t->root;
}

struct tree_node *tree_lookup_child(struct tree *t,
				    const struct tree_node *parent,
				    struct zk_bytes name)
{
	struct cds_lfht_iter it;
	if (name.len <= 0)
		return NULL;
	struct node_key k = {parent, name.p, (uint32_t)name.len};
	cds_lfht_lookup(t->nodes,
			node_hash(t, parent, name.p, (size_t)name.len),
			node_match, &k, &it);
	struct cds_lfht_node *hn = cds_lfht_iter_get_node(&it);
	return hn ? caa_container_of(hn, struct tree_node, hnode) : NULL;
}

struct tree_node *tree_lookup(struct tree *t, struct zk_bytes path)
{
	if (path.len < 1 || path.p[0] != '/')
		return NULL;
	struct tree_node *n = t->root;
	size_t i = 1, len = (size_t)path.len;
	if (len == 1)
		return n;
	while (n && i <= len) {
		const uint8_t *s = path.p + i;
		const uint8_t *e = memchr(s, '/', len - i);
		size_t clen = e ? (size_t)(e - s) : len - i;
		n = tree_lookup_child(t, n, zk_bytes_of(s, clen));
		i += clen + 1;
	}
	return n;
}

struct tree_node *tree_node_parent(const struct tree_node *n)
{
	return n->parent;
}

struct zk_bytes tree_node_name(const struct tree_node *n)
{
	return zk_bytes_of(n->name, n->name_len);
}

uint64_t tree_node_id(const struct tree_node *n)
{
	uint64_t z = (uint64_t)n->czxid;
	return (uint64_t)(ZXID_EPOCH(z) & 0xffff) << 48 |
	       (uint64_t)ZXID_COUNTER(z) << 16 | n->op_index;
}

void tree_node_read(const struct tree_node *n, struct tree_view *v)
{
	const struct tree_ver *ver = rcu_dereference(n->ver);
	int64_t owner = tree_node_owner(n);
	v->stat.czxid = n->czxid;
	v->stat.mzxid = ver->mzxid;
	v->stat.ctime = n->ctime;
	v->stat.mtime = ver->mtime;
	v->stat.version = ver->version;
	v->stat.cversion = (int32_t)((uint32_t)ver->cversion * 2u -
				     (uint32_t)ver->num_children);
	v->stat.aversion = ver->aversion;
	v->stat.ephemeral_owner = zk_owner_for_client(owner);
	v->stat.data_length = ver->data_len < 0 ? 0 : ver->data_len;
	v->stat.num_children = ver->num_children;
	v->stat.pzxid = ver->pzxid;
	v->data.p = ver->data;
	v->data.len = ver->data_len;
	v->acl_raw = ver->acl->raw;
	v->acl = ver->acl->list;
	v->owner = owner;
	v->acl_mtime = ver->acl_mtime;
	v->stored_cversion = ver->cversion;
	v->shape = n->shape;
	v->id = tree_node_id(n);
}

size_t tree_node_path(const struct tree_node *n, char *buf, size_t cap)
{
	size_t len = 0;
	for (const struct tree_node *p = n; p->parent; p = p->parent)
		len += p->name_len + 1;
	if (len == 0) {
		if (cap >= 2)
			memcpy(buf, "/", 2);
		return 1;
	}
	if (len >= cap)
		return len;
	buf[len] = '\0';
	size_t end = len;
	for (const struct tree_node *p = n; p->parent; p = p->parent) {
		end -= p->name_len;
		memcpy(buf + end, p->name, p->name_len);
		buf[--end] = '/';
	}
	return len;
}

struct tree_node *tree_child_first(const struct tree_node *parent)
{
	return first_child(parent);
}

struct tree_node *tree_child_next(const struct tree_node *child)
{
	return next_sibling(child);
}

int64_t tree_last_zxid(const struct tree *t)
{
	/* Acquire: pairs with the release in tree_apply, so what z's
	 * transaction did is visible to the caller. */
	return __atomic_load_n(&t->last_zxid, __ATOMIC_ACQUIRE);
}

uint64_t tree_node_count(const struct tree *t)
{
	return TREE_GET(t->node_count);
}

uint64_t tree_data_size(const struct tree *t)
{
	return TREE_GET(t->data_size);
}

uint64_t tree_ephemeral_count(const struct tree *t)
{
	return TREE_GET(t->ephemeral_count);
}

uint64_t tree_digest(const struct tree *t)
{
	return TREE_GET(t->digest);
}

int tree_ephemerals_foreach(struct tree *t, int64_t session,
			    int (*fn)(void *ctx, struct tree_node *n),
			    void *ctx)
{
	struct tree_session *s = session_find(t, session);
	struct tree_link *l;
	if (!s)
		return 0;
	cds_list_for_each_entry_rcu(l, &s->ephemerals, link) {
		int rc = fn(ctx, l->node);
		if (rc)
			return rc;
	}
	return 0;
}

int tree_special_foreach(struct tree *t,
			 int (*fn)(void *ctx, struct tree_node *n), void *ctx)
{
	struct tree_link *l;
	cds_list_for_each_entry_rcu(l, &t->special, link) {
		int rc = fn(ctx, l->node);
		if (rc)
			return rc;
	}
	return 0;
}

struct tree_node *tree_session_first(struct tree *t, int64_t session)
{
	struct tree_session *s = session_find(t, session);
	if (!s || cds_list_empty(&s->ephemerals))
		return NULL;
	return caa_container_of(s->ephemerals.next, struct tree_link, link)
		->node;
}
