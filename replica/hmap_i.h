/*
 * hmap_i.h - an intrusive chained hash map for the loop thread's tables
 * (sessions, watches, pending changes).
 *
 * Design
 *   The caller embeds a struct hmap_node in its record, computes the hash,
 *   and compares keys itself while walking the nodes of one hash
 *   (HMAP_FOR_EACH_WITH_HASH).  The map never allocates records, only its
 *   bucket array, which doubles when the load passes 1 and never shrinks.
 *   Not thread-safe: each map belongs to one thread (the loop).
 *
 * Invariants
 *   1. n_buckets is a power of two; a node sits in bucket hash & (n - 1).
 *   2. count is the number of nodes linked in.
 */
#ifndef ZABFS_HMAP_I_H
#define ZABFS_HMAP_I_H

#include <stddef.h>
#include <stdint.h>

struct hmap_node {
	struct hmap_node *next;
	uint64_t hash;
};

struct hmap {
	struct hmap_node **buckets;
	size_t n_buckets;
	size_t count;
};

/* Returns 0 or ZK_NOMEM. */
int hmap_init(struct hmap *m);
void hmap_destroy(struct hmap *m);
/* Inserts node, whose key must not be in the map yet; never fails. */
void hmap_insert(struct hmap *m, struct hmap_node *node, uint64_t hash);
void hmap_remove(struct hmap *m, struct hmap_node *node);
struct hmap_node *hmap_first_with_hash(const struct hmap *m, uint64_t hash);
struct hmap_node *hmap_next_with_hash(const struct hmap_node *node);
/* Iteration over every node: start with *bucket = 0, node = NULL. */
struct hmap_node *hmap_next(const struct hmap *m, size_t *bucket,
			    const struct hmap_node *node);

#define HMAP_FOR_EACH_WITH_HASH(node, hash, map)                             \
	for ((node) = hmap_first_with_hash((map), (hash)); (node);          \
	     (node) = hmap_next_with_hash(node))

/* 64-bit FNV-1a over bytes, then mixed; good enough for paths and ids. */
uint64_t hmap_hash_bytes(const void *p, size_t len);
uint64_t hmap_hash_u64(uint64_t v);

#define HMAP_CONTAINER(ptr, type, member)                                    \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
