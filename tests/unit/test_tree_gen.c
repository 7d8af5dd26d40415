/*
 * test_tree_gen.c - a generator of random valid transactions for the tree
 * tests (concurrent readers, fuzzy snapshot + replay).  It plays prep: it
 * looks at the tree (on the writer thread) to decide outcomes, and encodes
 * each transaction with txn_codec so that it can be replayed later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/tree.h"
#include "zabfs/txn_codec.h"
#include "test_tree_gen.h"


uint64_t gen_rand(struct gen *g)
{
	uint64_t x = g->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return g->rng = x;
}

static size_t world(uint8_t *buf, int32_t perms)
{
	struct jute_writer w;
	jute_writer_init_fixed(&w, buf, 40);
	jute_put_int(&w, 1);
	jute_put_int(&w, perms);
	jute_put_cstring(&w, "world");
	jute_put_cstring(&w, "anyone");
	return w.len;
}

void gen_init(struct gen *g, uint64_t seed, int64_t first_zxid)
{
	memset(g, 0, sizeof(*g));
	g->rng = seed ? seed : 1;
	g->zxid = first_zxid;
	g->acl_len[0] = world(g->acl[0], ZK_PERM_ALL);
	g->acl_len[1] = world(g->acl[1], ZK_PERM_READ);
	g->cap = 1024;
	g->paths = malloc(g->cap * sizeof(char *));
	g->paths[g->n++] = strdup("/");
}

void gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->paths[i]);
	free(g->paths);
}

static void add_path(struct gen *g, const char *p)
{
	if (g->n == g->cap) {
		g->cap *= 2;
		g->paths = realloc(g->paths, g->cap * sizeof(char *));
	}
	g->paths[g->n++] = strdup(p);
}

/* A live path from the candidates (stale ones are dropped), with its
 * node; under the caller's read lock. */
static const char *pick(struct gen *g, struct tree *t, struct tree_node **out)
{
	while (g->n > 0) {
		size_t i = gen_rand(g) % g->n;
		struct tree_node *n = tree_lookup(
			t, zk_bytes_of(g->paths[i], strlen(g->paths[i])));
		if (n) {
			*out = n;
			return g->paths[i];
		}
		free(g->paths[i]);
		g->paths[i] = g->paths[--g->n];
	}
	return NULL;
}

static struct zk_bytes B(const char *s)
{
	return zk_bytes_of(s, strlen(s));
}

/* Encodes one random valid transaction into out (reset first). */
void gen_txn(struct gen *g, struct tree *t, struct jute_writer *out)
{
	static char data[200];
	static char path[4096], path2[4096];
	struct txn x;
	struct tree_view v;
	struct tree_node *n = NULL;
	memset(&x, 0, sizeof(x));
	memset(data, 'a' + (int)(gen_rand(g) % 26), sizeof(data));
	jute_writer_reset(out);
	x.hdr.zxid = ++g->zxid;
	x.hdr.time = 1000000 + g->zxid;
	x.hdr.session = (int64_t)(gen_rand(g) % 4) + 1;
	tree_read_lock();
	const char *p = pick(g, t, &n);
	tree_node_read(n, &v);
	unsigned r = (unsigned)(gen_rand(g) % 100);
	bool leaf = v.stat.num_children == 0 && v.id > 4;
	if (r < 40 && v.owner != x.hdr.session && !(v.owner > 0 &&
						      v.owner < 100)) {
		snprintf(path, sizeof(path), "%s/n%u", strcmp(p, "/") ? p : "",
			 (unsigned)(gen_rand(g) % 50));
		if (tree_lookup(t, B(path)))
			goto set_data;
		x.hdr.type = TXN_CREATE;
		x.u.create.path = B(path);
		x.u.create.data = zk_bytes_of(data, gen_rand(g) % 100);
		if (gen_rand(g) % 10 == 0)
			x.u.create.data.len = -1;
		int k = (int)(gen_rand(g) % 2);
		x.u.create.acl_raw = zk_bytes_of(g->acl[k], g->acl_len[k]);
		unsigned kind = (unsigned)(gen_rand(g) % 10);
		x.u.create.ephemeral_owner = kind < 3   ? x.hdr.session
					     : kind == 3 ? ZK_OWNER_CONTAINER
						      : 0;
		x.u.create.parent_cversion = v.stored_cversion + 1;
		x.u.create.shape = (int32_t)(gen_rand(g) % 3);
		add_path(g, path);
	} else if (r < 60 && leaf) {
		x.hdr.type = TXN_DELETE;
		x.u.del.path = B(p);
	} else if (r < 66 && v.id > 4) {
		x.hdr.type = TXN_SET_ACL;
		int k = (int)(gen_rand(g) % 2);
		x.u.set_acl.path = B(p);
		x.u.set_acl.acl_raw = zk_bytes_of(g->acl[k], g->acl_len[k]);
		x.u.set_acl.aversion = v.stat.aversion + 1;
	} else if (r < 68) {
		x.hdr.type = TXN_CLOSE_SESSION;
	} else if (r < 75 && v.owner == 0) {
		/* multi: create a child, set its data, check the parent */
		struct txn_multi_builder b;
		struct txn_op op;
		snprintf(path2, sizeof(path2), "%s/m%u", strcmp(p, "/") ? p : "",
			 (unsigned)(gen_rand(g) % 50));
		if (tree_lookup(t, B(path2)))
			goto set_data;
		x.hdr.type = TXN_MULTI;
		tree_read_unlock();
		txn_encode_multi_begin(out, &x.hdr, &b);
		memset(&op, 0, sizeof(op));
		op.type = TXN_CREATE;
		op.u.create.path = B(path2);
		op.u.create.data = zk_bytes_of(data, 10);
		op.u.create.acl_raw = zk_bytes_of(g->acl[0], g->acl_len[0]);
		op.u.create.parent_cversion = v.stored_cversion + 1;
		txn_encode_multi_op(out, &b, &op);
		memset(&op, 0, sizeof(op));
		op.type = TXN_SET_DATA;
		op.u.set_data.path = B(path2);
		op.u.set_data.data = zk_bytes_of(data, 20);
		op.u.set_data.version = 1;
		txn_encode_multi_op(out, &b, &op);
		memset(&op, 0, sizeof(op));
		op.type = TXN_CHECK;
		op.u.check.path = B(p);
		op.u.check.version = v.stat.version;
		txn_encode_multi_op(out, &b, &op);
		txn_encode_multi_end(out, &b);
		add_path(g, path2);
		return;
	} else {
	set_data:
		x.hdr.type = TXN_SET_DATA;
		x.u.set_data.path = B(p);
		x.u.set_data.data = zk_bytes_of(data, gen_rand(g) % 150);
		x.u.set_data.version = v.stat.version + 1;
	}
	tree_read_unlock();
	if (txn_encode(out, &x) != 0) {
		fprintf(stderr, "gen_txn: encode failed\n");
		abort();
	}
}
