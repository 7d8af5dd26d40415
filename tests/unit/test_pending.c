/*
 * test_pending.c - the overlay of in-flight changes prep reads through:
 * overlay over tree, release in zxid order, and a multi's savepoint and
 * rollback (including an entry touched twice, and entries new to the
 * overlay), checked against a model over random operations.
 */
#include "check.h"
#include "pending_i.h"
#include "zabfs/jute.h"
#include "zabfs/tree.h"

static struct zk_bytes b(const char *s)
{
	return zk_bytes_of(s, strlen(s));
}

static struct node_state st(bool exists, int32_t version)
{
	struct node_state s = {.exists = exists, .version = version};
	s.acl_raw = b("acl");
	return s;
}

static void test_overlay_and_release(void)
{
	struct tree *t;
	struct pending p;
	struct node_state s;
	CHECK_EQ_INT(tree_new(&t), 0);
	CHECK_EQ_INT(pending_init(&p), 0);
	tree_read_lock();
	pending_get(&p, t, b("/zookeeper"), &s);
	CHECK(s.exists); /* from the tree */
	pending_get(&p, t, b("/a"), &s);
	CHECK(!s.exists);
	struct node_state a = st(true, 0);
	CHECK_EQ_INT(pending_put(&p, b("/a"), &a, 5), 0);
	struct node_state z = st(false, 0);
	CHECK_EQ_INT(pending_put(&p, b("/zookeeper/quota"), &z, 6), 0);
	pending_get(&p, t, b("/a"), &s);
	CHECK(s.exists && s.acl_raw.len == 3 && memcmp(s.acl_raw.p, "acl", 3) == 0);
	pending_get(&p, t, b("/zookeeper/quota"), &s);
	CHECK(!s.exists); /* the overlay wins over the tree */
	/* Touching /a again at 7 keeps it past the release of 6. */
	a.version = 1;
	CHECK_EQ_INT(pending_put(&p, b("/a"), &a, 7), 0);
	pending_release(&p, 6);
	CHECK(pending_has(&p, b("/a")));
	CHECK(!pending_has(&p, b("/zookeeper/quota")));
	pending_get(&p, t, b("/a"), &s);
	CHECK_EQ_INT(s.version, 1);
	pending_release(&p, 7);
	CHECK(!pending_has(&p, b("/a")));
	CHECK_EQ_INT(p.count, 0);
	tree_read_unlock();
	pending_destroy(&p);
	tree_free(t);
}

static void test_rollback(void)
{
	struct pending p;
	struct node_state s;
	CHECK_EQ_INT(pending_init(&p), 0);
	struct node_state x = st(true, 1);
	CHECK_EQ_INT(pending_put(&p, b("/x"), &x, 10), 0);
	struct node_state y = st(true, 1);
	CHECK_EQ_INT(pending_put(&p, b("/y"), &y, 11), 0);
	pending_savepoint(&p);
	x.version = 2;
	CHECK_EQ_INT(pending_put(&p, b("/x"), &x, 12), 0);
	x.version = 3;
	CHECK_EQ_INT(pending_put(&p, b("/x"), &x, 12), 0);
	struct node_state n = st(true, 0);
	CHECK_EQ_INT(pending_put(&p, b("/new"), &n, 12), 0);
	pending_rollback(&p);
	CHECK(!pending_has(&p, b("/new")));
	tree_read_lock();
	pending_get(&p, NULL, b("/x"), &s);
	tree_read_unlock();
	CHECK_EQ_INT(s.version, 1);
	CHECK(s.acl_raw.len == 3 && memcmp(s.acl_raw.p, "acl", 3) == 0);
	/* The zxid order survived: releasing 10 frees /x, not /y. */
	pending_release(&p, 10);
	CHECK(!pending_has(&p, b("/x")));
	CHECK(pending_has(&p, b("/y")));
	/* A committed savepoint keeps its changes. */
	pending_savepoint(&p);
	y.version = 9;
	CHECK_EQ_INT(pending_put(&p, b("/y"), &y, 13), 0);
	pending_commit_savepoint(&p);
	pending_release(&p, 12);
	CHECK(pending_has(&p, b("/y")));
	pending_release(&p, 13);
	CHECK_EQ_INT(p.count, 0);
	pending_destroy(&p);
}

/* Random puts, savepoints, rollbacks and releases against a model. */
static void test_random(uint64_t seed)
{
	enum { PATHS = 8 };
	struct model {
		bool present;
		int32_t version;
		int64_t zxid;
	} m[PATHS] = {{0}}, saved[PATHS];
	char names[PATHS][8];
	struct pending p;
	CHECK_EQ_INT(pending_init(&p), 0);
	for (int i = 0; i < PATHS; i++)
		snprintf(names[i], sizeof(names[i]), "/p%d", i);
	int64_t zxid = 0, released = 0;
	bool in_sp = false;
	srand((unsigned)seed);
	for (int step = 0; step < 20000; step++) {
		int r = rand() % 10;
		int i = rand() % PATHS;
		if (r < 5) {
			if (!in_sp || rand() % 3 == 0)
				zxid++;
			struct node_state s = st(true, rand() % 100);
			CHECK_EQ_INT(pending_put(&p, b(names[i]), &s, zxid), 0);
			m[i] = (struct model){true, s.version, zxid};
		} else if (r == 5 && !in_sp) {
			pending_savepoint(&p);
			memcpy(saved, m, sizeof(m));
			in_sp = true;
		} else if (r == 6 && in_sp) {
			pending_rollback(&p);
			memcpy(m, saved, sizeof(m));
			in_sp = false;
		} else if (r == 7 && in_sp) {
			pending_commit_savepoint(&p);
			in_sp = false;
		} else if (r == 8 && !in_sp && released < zxid) {
			released += 1 + rand() % (int)(zxid - released);
			pending_release(&p, released);
			for (int k = 0; k < PATHS; k++)
				if (m[k].present && m[k].zxid <= released)
					m[k].present = false;
		}
		for (int k = 0; k < PATHS; k++) {
			bool has = pending_has(&p, b(names[k]));
			CHECK(has == m[k].present);
			if (has) {
				struct node_state s;
				pending_get(&p, NULL, b(names[k]), &s);
				CHECK_EQ_INT(s.version, m[k].version);
			}
		}
		if (check_failures)
			break;
	}
	pending_destroy(&p);
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);
	RUN_TEST(test_overlay_and_release);
	RUN_TEST(test_rollback);
	test_random(seed);
	printf("%s test_random\n", check_failures ? "FAIL" : "ok  ");
	return check_report();
}
