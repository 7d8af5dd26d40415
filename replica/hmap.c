/*
 * hmap.c - the intrusive hash map of hmap_i.h.
 */
#include "hmap_i.h"

#include <stdlib.h>

#include "zabfs/err.h"

#define HMAP_INITIAL_BUCKETS 16

int hmap_init(struct hmap *m)
{
	m->buckets = calloc(HMAP_INITIAL_BUCKETS, sizeof(*m->buckets));
	if (!m->buckets)
		return ZK_NOMEM;
	m->n_buckets = HMAP_INITIAL_BUCKETS;
	m->count = 0;
	return 0;
}

void hmap_destroy(struct hmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->n_buckets = m->count = 0;
}

static int grow(struct hmap *m)
{
	size_t n = m->n_buckets * 2;
	struct hmap_node **b = calloc(n, sizeof(*b));
	if (!b)
		return ZK_NOMEM;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct hmap_node *node = m->buckets[i];
		while (node) {
			struct hmap_node *next = node->next;
			size_t j = node->hash & (n - 1);
			node->next = b[j];
			b[j] = node;
			node = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
	return 0;
}

void hmap_insert(struct hmap *m, struct hmap_node *node, uint64_t hash)
{
	if (m->count >= m->n_buckets)
		(void)grow(m); /* on failure the chains only get longer */
	size_t i = hash & (m->n_buckets - 1);
	node->hash = hash;
	node->next = m->buckets[i];
	m->buckets[i] = node;
	m->count++;
}

void hmap_remove(struct hmap *m, struct hmap_node *node)
{
	struct hmap_node **pp = &m->buckets[node->hash & (m->n_buckets - 1)];
	while (*pp && *pp != node)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = node->next;
		m->count--;
	}
}

struct hmap_node *hmap_first_with_hash(const struct hmap *m, uint64_t hash)
{
	struct hmap_node *node = m->buckets[hash & (m->n_buckets - 1)];
	while (node && node->hash != hash)
		node = node->next;
	return node;
}

struct hmap_node *hmap_next_with_hash(const struct hmap_node *node)
{
	uint64_t hash = node->hash;
	node = node->next;
	while (node && node->hash != hash)
		node = node->next;
	return (struct hmap_node *)node;
}

struct hmap_node *hmap_next(const struct hmap *m, size_t *bucket,
			    const struct hmap_node *node)
{
	if (node && node->next)
		return node->next;
	if (node)
		(*bucket)++;
	for (; *bucket < m->n_buckets; (*bucket)++)
		if (m->buckets[*bucket])
			return m->buckets[*bucket];
	return NULL;
}

uint64_t hmap_hash_u64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ull;
	v ^= v >> 33;
	return v;
}

uint64_t hmap_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return hmap_hash_u64(h);
}
