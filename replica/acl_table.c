/*
 * acl_table.c - interning of ACL lists: identical lists (by their jute
 * bytes) share one immutable, refcounted record.
 *
 * Design
 *   A chained hash table owned by the writer thread (apply, or the loader
 *   building a fresh tree).  Readers reach records only through a node's
 *   version, never through the table, so the table needs no RCU; a record
 *   whose count drops to zero is unhashed at once and freed after a grace
 *   period through the tree's retire batch.
 *
 *   Record layout: header, decoded entries v[n] (views into the copy), then
 *   the raw bytes.  One allocation.
 *
 * Invariants
 *   1. Every record in the table has refs > 0 and distinct raw bytes.
 *   2. count <= nslots (the table doubles before that).
 */
#include <stdlib.h>
#include <string.h>

#include "tree_i.h"
#include "zabfs/err.h"
#include "zabfs/jute.h"

#define ACL_SEED 0x5a41434cull

int acl_table_init(struct tree_acl_table *tab)
{
	tab->nslots = 16;
	tab->count = 0;
	tab->slots = calloc(tab->nslots, sizeof(*tab->slots));
	return tab->slots ? 0 : ZK_NOMEM;
}

void acl_table_destroy(struct tree_acl_table *tab)
{
	for (size_t i = 0; i < tab->nslots; i++) {
		struct tree_acl *a = tab->slots[i];
		while (a) {
			struct tree_acl *next = a->next;
			free(a);
			a = next;
		}
	}
	free(tab->slots);
	tab->slots = NULL;
}

static int grow(struct tree_acl_table *tab)
{
	size_t n = tab->nslots * 2;
	struct tree_acl **slots = calloc(n, sizeof(*slots));
	if (!slots)
		return ZK_NOMEM;
	for (size_t i = 0; i < tab->nslots; i++) {
		struct tree_acl *a = tab->slots[i];
		while (a) {
			struct tree_acl *next = a->next;
			size_t k = a->hash & (n - 1);
			a->next = slots[k];
			slots[k] = a;
			a = next;
		}
	}
	free(tab->slots);
	tab->slots = slots;
	tab->nslots = n;
	return 0;
}

/* Counts the entries of raw and checks its shape; -1 if malformed. */
static int32_t count_entries(struct zk_bytes raw)
{
	struct jute_reader r;
	if (raw.len < 0)
		return -1;
	jute_reader_init(&r, raw.p, (size_t)raw.len);
	int32_t n = jute_get_count(&r, 12);
	for (int32_t i = 0; i < n; i++) {
		jute_get_int(&r);
		jute_get_buffer(&r);
		jute_get_buffer(&r);
	}
	if (!jute_reader_done(&r))
		return -1;
	return n < 0 ? 0 : n;
}

int acl_table_intern(struct tree_acl_table *tab, struct zk_bytes raw,
		     struct tree_acl **out)
{
	int32_t n = count_entries(raw);
	if (n < 0)
		return ZK_CORRUPT;
	uint64_t h = tree_hash_bytes(ACL_SEED, raw.p, (size_t)raw.len);
	for (struct tree_acl *a = tab->slots[h & (tab->nslots - 1)]; a;
	     a = a->next) {
		if (a->hash == h && a->raw.len == raw.len &&
		    memcmp(a->raw.p, raw.p, (size_t)raw.len) == 0) {
			a->refs++;
			*out = a;
			return 0;
		}
	}
	if (tab->count >= tab->nslots && grow(tab) != 0)
		return ZK_NOMEM;
	size_t vsize = (size_t)n * sizeof(struct zk_acl);
	struct tree_acl *a = malloc(sizeof(*a) + vsize + (size_t)raw.len);
	if (!a)
		return ZK_NOMEM;
	uint8_t *copy = (uint8_t *)a->v + vsize;
	memcpy(copy, raw.p, (size_t)raw.len);
	a->raw = zk_bytes_of(copy, (size_t)raw.len);
	a->hash = h;
	a->refs = 1;
	a->list.n = n;
	a->list.v = a->v;
	struct jute_reader r;
	jute_reader_init(&r, copy, (size_t)raw.len);
	jute_get_count(&r, 12);
	for (int32_t i = 0; i < n; i++) {
		a->v[i].perms = jute_get_int(&r);
		a->v[i].id.scheme = jute_get_buffer(&r);
		a->v[i].id.id = jute_get_buffer(&r);
	}
	size_t k = h & (tab->nslots - 1);
	a->next = tab->slots[k];
	tab->slots[k] = a;
	tab->count++;
	*out = a;
	return 0;
}

void acl_table_unref(struct tree *t, struct tree_acl *a)
{
	if (--a->refs > 0)
		return;
	struct tree_acl_table *tab = &t->acls;
	struct tree_acl **pp = &tab->slots[a->hash & (tab->nslots - 1)];
	while (*pp != a)
		pp = &(*pp)->next;
	*pp = a->next;
	tab->count--;
	tree_retire_push(t, a);
}
