/*
 * pending.c - the overlay of in-flight changes (pending_i.h).
 *
 * Entries live in a hash map by path and on a doubly linked list in
 * last_zxid order (oldest first), so pending_release pops from the front.
 * An entry's ACL bytes are its own copy.
 */
#include <stdlib.h>
#include <string.h>

#include "pending_i.h"
#include "zabfs/jute.h"
#include "zabfs/err.h"
#include "zabfs/tree.h"

struct pending_entry {
	struct hmap_node node;
	struct pending_entry *older, *newer;
	int64_t last_zxid;
	struct node_state st; /* st.acl_raw points at acl */
	uint8_t *acl;
	size_t len;
	char path[];
};

int pending_init(struct pending *p)
{
	memset(p, 0, sizeof(*p));
	return hmap_init(&p->map);
}

static void entry_free(struct pending_entry *e)
{
	free(e->acl);
	free(e);
}

void pending_destroy(struct pending *p)
{
	while (p->oldest) {
		struct pending_entry *e = p->oldest;
		p->oldest = e->newer;
		entry_free(e);
	}
	for (size_t i = 0; i < p->n_undo; i++)
		free(p->undo[i].old_acl);
	free(p->undo);
	hmap_destroy(&p->map);
}

static uint64_t hash_path(struct zk_bytes path)
{
	return hmap_hash_bytes(path.p, path.len > 0 ? (size_t)path.len : 0);
}

static struct pending_entry *find(struct pending *p, struct zk_bytes path)
{
	size_t len = path.len > 0 ? (size_t)path.len : 0;
	struct hmap_node *n;
	HMAP_FOR_EACH_WITH_HASH (n, hash_path(path), &p->map) {
		struct pending_entry *e =
			HMAP_CONTAINER(n, struct pending_entry, node);
		if (e->len == len && memcmp(e->path, path.p, len) == 0)
			return e;
	}
	return NULL;
}

bool pending_has(struct pending *p, struct zk_bytes path)
{
	return find(p, path) != NULL;
}

void pending_get(struct pending *p, const struct tree *t,
		 struct zk_bytes path, struct node_state *out)
{
	struct pending_entry *e = find(p, path);
	if (e) {
		*out = e->st;
		return;
	}
	memset(out, 0, sizeof(*out));
	struct tree_node *n = tree_lookup((struct tree *)t, path);
	if (!n)
		return;
	struct tree_view v;
	tree_node_read(n, &v);
	out->exists = true;
	out->version = v.stat.version;
	out->aversion = v.stat.aversion;
	out->cversion = v.stored_cversion;
	out->num_children = v.stat.num_children;
	out->shape = v.shape;
	out->data_len = v.stat.data_length;
	out->owner = v.owner;
	out->acl_raw = v.acl_raw;
}

static void unlink_entry(struct pending *p, struct pending_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		p->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		p->newest = e->older;
	e->older = e->newer = NULL;
}

static void link_newest(struct pending *p, struct pending_entry *e)
{
	e->older = p->newest;
	e->newer = NULL;
	if (p->newest)
		p->newest->newer = e;
	else
		p->oldest = e;
	p->newest = e;
}

static int copy_acl(struct zk_bytes acl, uint8_t **out)
{
	*out = NULL;
	if (acl.len <= 0)
		return 0;
	*out = malloc((size_t)acl.len);
	if (!*out)
		return ZK_NOMEM;
	memcpy(*out, acl.p, (size_t)acl.len);
	return 0;
}

static int undo_push(struct pending *p, struct pending_entry *e, bool was_new)
{
	if (p->n_undo == p->cap_undo) {
		size_t cap = p->cap_undo ? p->cap_undo * 2 : 16;
		struct pending_undo *u = realloc(p->undo, cap * sizeof(*u));
		if (!u)
			return ZK_NOMEM;
		p->undo = u;
		p->cap_undo = cap;
	}
	struct pending_undo *u = &p->undo[p->n_undo];
	u->entry = e;
	u->was_new = was_new;
	u->old_acl = NULL;
	u->old_zxid = was_new ? 0 : e->last_zxid;
	if (!was_new) {
		u->old = e->st;
		if (copy_acl(e->st.acl_raw, &u->old_acl))
			return ZK_NOMEM;
		u->old.acl_raw.p = u->old_acl;
	}
	p->n_undo++;
	return 0;
}

int pending_put(struct pending *p, struct zk_bytes path,
		const struct node_state *st, int64_t zxid)
{
	struct pending_entry *e = find(p, path);
	bool was_new = !e;
	uint8_t *acl;
	if (copy_acl(st->acl_raw, &acl))
		return ZK_NOMEM;
	if (!e) {
		size_t len = path.len > 0 ? (size_t)path.len : 0;
		e = calloc(1, sizeof(*e) + len + 1);
		if (!e) {
			free(acl);
			return ZK_NOMEM;
		}
		e->len = len;
		memcpy(e->path, path.p, len);
	}
	if (p->in_savepoint && undo_push(p, e, was_new)) {
		free(acl);
		if (was_new)
			free(e);
		return ZK_NOMEM;
	}
	if (was_new) {
		hmap_insert(&p->map, &e->node, hash_path(path));
		p->count++;
	} else {
		unlink_entry(p, e);
		free(e->acl);
	}
	e->st = *st;
	e->acl = acl;
	e->st.acl_raw.p = acl;
	e->last_zxid = zxid;
	link_newest(p, e);
	return 0;
}

static void remove_entry(struct pending *p, struct pending_entry *e)
{
	unlink_entry(p, e);
	hmap_remove(&p->map, &e->node);
	p->count--;
	entry_free(e);
}

void pending_release(struct pending *p, int64_t applied_zxid)
{
	while (p->oldest && p->oldest->last_zxid <= applied_zxid)
		remove_entry(p, p->oldest);
}

void pending_for_each_owned(struct pending *p, int64_t session,
			    void (*fn)(void *ctx, struct zk_bytes path),
			    void *ctx)
{
	for (struct pending_entry *e = p->oldest; e; e = e->newer)
		if (e->st.exists && e->st.owner == session)
			fn(ctx, zk_bytes_of(e->path, e->len));
}

void pending_savepoint(struct pending *p)
{
	p->in_savepoint = true;
	p->n_undo = 0;
}

void pending_commit_savepoint(struct pending *p)
{
	for (size_t i = 0; i < p->n_undo; i++)
		free(p->undo[i].old_acl);
	p->n_undo = 0;
	p->in_savepoint = false;
}

void pending_rollback(struct pending *p)
{
	while (p->n_undo) {
		struct pending_undo *u = &p->undo[--p->n_undo];
		struct pending_entry *e = u->entry;
		if (u->was_new) {
			remove_entry(p, e);
			continue;
		}
		free(e->acl);
		e->st = u->old;
		e->acl = u->old_acl;
		e->st.acl_raw.p = e->acl;
		/* Back to its old place in zxid order: before every newer. */
		unlink_entry(p, e);
		e->last_zxid = u->old_zxid;
		struct pending_entry *at = p->newest;
		while (at && at->last_zxid > e->last_zxid)
			at = at->older;
		e->older = at;
		e->newer = at ? at->newer : p->oldest;
		if (e->newer)
			e->newer->older = e;
		else
			p->newest = e;
		if (at)
			at->newer = e;
		else
			p->oldest = e;
	}
	p->in_savepoint = false;
}
