/*
 * test_tree_gen.h - the random transaction generator shared by the tree
 * tests (test_tree_gen.c says how it works).
 */
#ifndef ZABFS_TEST_TREE_GEN_H
#define ZABFS_TEST_TREE_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "zabfs/jute.h"
#include "zabfs/tree.h"

struct gen {
	uint64_t rng;
	int64_t zxid;
	char **paths;
	size_t n, cap;
	uint8_t acl[2][40];
	size_t acl_len[2];
};

void gen_init(struct gen *g, uint64_t seed, int64_t first_zxid);
void gen_free(struct gen *g);
/* The next transaction for tree t (on the writer thread), encoded. */
void gen_txn(struct gen *g, struct tree *t, struct jute_writer *out);
uint64_t gen_rand(struct gen *g);

#endif
