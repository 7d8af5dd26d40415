/*
 * test_tree_concurrent.c - two reader threads walk the whole tree and read
 * every node while the writer applies thousands of random transactions:
 * no crash (run it under ASan too) and every read is consistent (a data
 * view matches its stat; data written by the generator is one repeated
 * byte, so a torn copy shows).  Seeded: --seed N.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "check.h"

#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/tree.h"
#include "zabfs/txn_codec.h"

#include "test_tree_gen.h"

#define TXNS 20000

static struct tree *tree;
static atomic_int done;

struct reader {
	long nodes;
	long bad;
	long walks;
};

static void visit(struct tree_node *n, struct reader *r, int depth)
{
	struct tree_view v;
	tree_node_read(n, &v);
	r->nodes++;
	if (v.data.len < 0 ? v.stat.data_length != 0
			   : v.data.len != v.stat.data_length)
		r->bad++;
	for (int32_t i = 1; i < v.data.len; i++)
		if (v.data.p[i] != v.data.p[0]) {
			r->bad++;
			break;
		}
	if (v.stat.num_children < 0 || v.acl.n != 1)
		r->bad++;
	if (depth > 200)
		return;
	for (struct tree_node *c = tree_child_first(n); c;
	     c = tree_child_next(c)) {
		if (tree_node_parent(c) != n)
			r->bad++;
		visit(c, r, depth + 1);
	}
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	while (!atomic_load(&done)) {
		tree_read_lock();
		visit(tree_root(tree), r, 0);
		struct tree_node *zk = tree_lookup_child(
			tree, tree_root(tree), zk_bytes_of("zookeeper", 9));
		if (!zk)
			r->bad++;
		tree_read_unlock();
		r->walks++;
	}
	return NULL;
}

static void test_readers_during_writes(uint64_t seed)
{
	struct gen g;
	struct jute_writer w;
	struct txn x;
	pthread_t th[2];
	struct reader rd[2] = {{0, 0, 0}, {0, 0, 0}};
	CHECK_EQ_INT(tree_new(&tree), 0);
	gen_init(&g, seed, 0);
	jute_writer_init(&w, 1024);
	atomic_store(&done, 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader_main, &rd[i]);
	int failed = 0;
	for (int i = 0; i < TXNS; i++) {
		gen_txn(&g, tree, &w);
		if (txn_decode(w.buf, w.len, &x) != 0 ||
		    tree_apply(tree, &x, false, NULL, NULL) != 0)
			failed++;
	}
	atomic_store(&done, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ_INT(failed, 0);
	CHECK_EQ_INT(rd[0].bad + rd[1].bad, 0);
	CHECK(rd[0].walks > 0 && rd[1].walks > 0);
	printf("  %d txns, %llu nodes at the end, readers walked %ld+%ld "
	       "times (%ld nodes read)\n",
	       TXNS, (unsigned long long)tree_node_count(tree), rd[0].walks,
	       rd[1].walks, rd[0].nodes + rd[1].nodes);
	jute_writer_free(&w);
	gen_free(&g);
	tree_free(tree);
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);
	test_readers_during_writes(seed);
	printf("ok   test_readers_during_writes\n");
	return check_report();
}
