/*
 * test_snapshot.c - snapshots: round trip, damaged files rejected and the
 * older snapshot used, fuzzy snapshot taken while the writer applies random
 * transactions + replay of the log = the writer's tree (digest), and a
 * size/speed measurement (--bench: 1,000,000 nodes; otherwise 100,000),
 * and a file of format 1 (before acl_mtime) still loads.
 * Seeded: --seed N.
 */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <urcu-bp.h>

#include "check.h"

#include "snapshot_i.h"
#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/logfmt.h"
#include "zabfs/snapfmt.h"
#include "zabfs/tree.h"
#include "zabfs/txn_codec.h"

#include "test_tree_gen.h"

static char dir[256];
static uint64_t seed;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void clean_dir(void)
{
	int64_t *z;
	size_t n;
	char path[512];
	if (snapshot_list(dir, &z, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/", dir);
			snapfmt_name(path + strlen(path), 64, z[i]);
			unlink(path);
		}
		free(z);
	}
}

/* The encoded transactions applied so far, for replay. */
struct txlog {
	struct jute_writer *v;
	size_t n, cap;
};

static void txlog_add(struct txlog *l, const struct jute_writer *w)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
	}
	jute_writer_init(&l->v[l->n], w->len);
	jute_put_raw(&l->v[l->n], w->buf, w->len);
	l->n++;
}

static void txlog_free(struct txlog *l)
{
	for (size_t i = 0; i < l->n; i++)
		jute_writer_free(&l->v[i]);
	free(l->v);
}

static int apply_random(struct gen *g, struct tree *t, struct jute_writer *w,
			struct txlog *log, int count)
{
	struct txn x;
	int failed = 0;
	for (int i = 0; i < count; i++) {
		gen_txn(g, t, w);
		if (txn_decode(w->buf, w->len, &x) != 0 ||
		    tree_apply(t, &x, false, NULL, NULL) != 0)
			failed++;
		if (log)
			txlog_add(log, w);
	}
	return failed;
}

static int replay(struct tree *t, struct txlog *log, int64_t after)
{
	struct txn x;
	int failed = 0;
	for (size_t i = 0; i < log->n; i++) {
		if (txn_decode(log->v[i].buf, log->v[i].len, &x) != 0)
			failed++;
		else if (x.hdr.zxid > after &&
			 tree_apply(t, &x, true, NULL, NULL) != 0)
			failed++;
	}
	return failed;
}

static void test_round_trip(void)
{
	struct tree *t;
	struct gen g;
	struct jute_writer w;
	struct snapshot_loaded ld;
	int64_t z;
	char path[512];
	clean_dir();
	CHECK_EQ_INT(tree_new(&t), 0);
	gen_init(&g, seed, 0);
	jute_writer_init(&w, 512);
	CHECK_EQ_INT(apply_random(&g, t, &w, NULL, 3000), 0);
	z = tree_last_zxid(t);
	CHECK_EQ_INT(snapshot_write(t, dir, zk_bytes_of("sessions!", 9), z), 0);
	snprintf(path, sizeof(path), "%s/", dir);
	snapfmt_name(path + strlen(path), 64, z);
	CHECK_EQ_INT(snapshot_load(path, &ld), 0);
	CHECK_EQ_INT(ld.zxid, z);
	CHECK(ld.sessions_len == 9 && memcmp(ld.sessions, "sessions!", 9) == 0);
	CHECK(tree_digest(ld.tree) == tree_digest(t));
	CHECK_EQ_INT(tree_node_count(ld.tree), tree_node_count(t));
	CHECK_EQ_INT(tree_data_size(ld.tree), tree_data_size(t));
	CHECK_EQ_INT(tree_ephemeral_count(ld.tree), tree_ephemeral_count(t));
	CHECK_EQ_INT(tree_last_zxid(ld.tree), z);
	/* every node reads the same in both trees */
	tree_read_lock();
	struct tree_node *cfg =
		tree_lookup(ld.tree, zk_bytes_of("/zookeeper/config", 17));
	struct tree_view v;
	CHECK(cfg != NULL);
	if (cfg) {
		tree_node_read(cfg, &v);
		CHECK_EQ_INT(v.acl.v[0].perms, ZK_PERM_READ);
		CHECK_EQ_INT(v.id, 4);
	}
	tree_read_unlock();
	/* the loaded tree goes on exactly like the original */
	struct txlog log = {NULL, 0, 0};
	CHECK_EQ_INT(apply_random(&g, t, &w, &log, 500), 0);
	struct txn x;
	int failed = 0;
	for (size_t i = 0; i < log.n; i++)
		if (txn_decode(log.v[i].buf, log.v[i].len, &x) != 0 ||
		    tree_apply(ld.tree, &x, false, NULL, NULL) != 0)
			failed++;
	CHECK_EQ_INT(failed, 0);
	CHECK(tree_digest(ld.tree) == tree_digest(t));
	txlog_free(&log);
	tree_free(ld.tree);
	free(ld.sessions);
	gen_free(&g);
	jute_writer_free(&w);
	tree_free(t);
}

static void damage_and_check(const char *path, off_t size, int64_t older)
{
	struct snapshot_loaded ld;
	CHECK(snapshot_load(path, &ld) == ZK_CORRUPT);
	CHECK_EQ_INT(snapshot_find_latest(dir, &ld), 0);
	CHECK_EQ_INT(ld.zxid, older);
	tree_free(ld.tree);
	free(ld.sessions);
	(void)size;
}

static void test_damaged(void)
{
	struct tree *t;
	struct gen g;
	struct jute_writer w;
	int64_t z1, z2;
	char path[512];
	struct stat st;
	clean_dir();
	CHECK_EQ_INT(tree_new(&t), 0);
	gen_init(&g, seed + 2, 0);
	jute_writer_init(&w, 512);
	CHECK_EQ_INT(apply_random(&g, t, &w, NULL, 1000), 0);
	z1 = tree_last_zxid(t);
	CHECK_EQ_INT(snapshot_write(t, dir, zk_bytes_of("", 0), z1), 0);
	CHECK_EQ_INT(apply_random(&g, t, &w, NULL, 1000), 0);
	z2 = tree_last_zxid(t);
	CHECK_EQ_INT(snapshot_write(t, dir, zk_bytes_of("", 0), z2), 0);
	CHECK(z2 > z1);
	int64_t *zs;
	size_t n;
	CHECK_EQ_INT(snapshot_list(dir, &zs, &n), 0);
	CHECK(n == 2 && zs[0] == z2 && zs[1] == z1);
	free(zs);
	snprintf(path, sizeof(path), "%s/", dir);
	snapfmt_name(path + strlen(path), 64, z2);
	CHECK_EQ_INT(stat(path, &st), 0);
	int fd = open(path, O_RDWR);
	uint8_t *orig = malloc((size_t)st.st_size);
	CHECK(pread(fd, orig, (size_t)st.st_size, 0) == st.st_size);
	/* truncations: in the header, mid-record, just before the end */
	off_t cuts[] = {0, 10, 30, st.st_size / 2, st.st_size - 1,
			st.st_size - 17};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		CHECK_EQ_INT(ftruncate(fd, cuts[i]), 0);
		damage_and_check(path, cuts[i], z1);
		CHECK(pwrite(fd, orig, (size_t)st.st_size, 0) == st.st_size);
	}
	/* bit flips anywhere */
	struct gen r;
	gen_init(&r, seed + 3, 0);
	for (int i = 0; i < 20; i++) {
		off_t at = (off_t)(gen_rand(&r) % (uint64_t)st.st_size);
		uint8_t b = orig[at] ^ (uint8_t)(1u << (gen_rand(&r) % 8));
		CHECK(pwrite(fd, &b, 1, at) == 1);
		damage_and_check(path, st.st_size, z1);
		CHECK(pwrite(fd, &orig[at], 1, at) == 1);
	}
	/* extra bytes after the end */
	CHECK(pwrite(fd, "x", 1, st.st_size) == 1);
	damage_and_check(path, st.st_size, z1);
	CHECK_EQ_INT(ftruncate(fd, st.st_size), 0);
	struct snapshot_loaded ld;
	CHECK_EQ_INT(snapshot_find_latest(dir, &ld), 0);
	CHECK_EQ_INT(ld.zxid, z2);
	CHECK(tree_digest(ld.tree) == tree_digest(t));
	tree_free(ld.tree);
	free(ld.sessions);
	close(fd);
	free(orig);
	gen_free(&r);
	gen_free(&g);
	jute_writer_free(&w);
	tree_free(t);
	clean_dir();
	CHECK_EQ_INT(snapshot_find_latest(dir, &ld), ZK_NONODE);
}

struct snap_job {
	struct tree *t;
	atomic_int start;
	int rc;
	int64_t zxid;
	int64_t zxid_end; /* last applied when the write finished */
};

static void *snap_main(void *arg)
{
	struct snap_job *j = arg;
	while (!atomic_load(&j->start))
		usleep(100);
	j->zxid = tree_last_zxid(j->t);
	j->rc = snapshot_write(j->t, dir, zk_bytes_of("s", 1), j->zxid);
	j->zxid_end = tree_last_zxid(j->t);
	return NULL;
}

/* Prints the first few nodes that differ between a and b (paths of a
 * looked up in b, and the counts); returns the number found. */
static int diff_walk(struct tree *a, struct tree *b, struct tree_node *n,
		     char *path, size_t len, int found)
{
	struct tree_view va, vb;
	memset(&va, 0, sizeof(va)); /* stat has padding: memcmp below */
	memset(&vb, 0, sizeof(vb));
	tree_node_read(n, &va);
	struct tree_node *m = tree_lookup(b, zk_bytes_of(path, len ? len : 1));
	if (!m) {
		if (found++ < 5)
			printf("  only in the first tree: %.*s\n", (int)len,
			       path);
		return found;
	}
	tree_node_read(m, &vb);
	if (memcmp(&va.stat, &vb.stat, sizeof(va.stat)) != 0 ||
	    va.stored_cversion != vb.stored_cversion ||
	    va.acl_mtime != vb.acl_mtime || va.data.len != vb.data.len || va.acl_raw.len != vb.acl_raw.len ||
	    (va.data.len > 0 &&
	     memcmp(va.data.p, vb.data.p, (size_t)va.data.len) != 0)) {
		if (found++ < 5)
			printf("  differs: %.*s: mzxid %llx/%llx pzxid %llx/%llx "
			       "cv %d/%d n %d/%d v %d/%d czxid %llx/%llx\n",
			       (int)len, path, (long long)va.stat.mzxid,
			       (long long)vb.stat.mzxid,
			       (long long)va.stat.pzxid,
			       (long long)vb.stat.pzxid, va.stored_cversion,
			       vb.stored_cversion, va.stat.num_children,
			       vb.stat.num_children, va.stat.version,
			       vb.stat.version, (long long)va.stat.czxid,
			       (long long)vb.stat.czxid);
	}
	for (struct tree_node *c = tree_child_first(n); c;
	     c = tree_child_next(c)) {
		struct zk_bytes name = tree_node_name(c);
		path[len] = '/';
		memcpy(path + len + 1, name.p, (size_t)name.len);
		found = diff_walk(a, b, c, path, len + 1 + (size_t)name.len,
				  found);
	}
	return found;
}

static int diff_trees(struct tree *a, struct tree *b)
{
	static char path[8192];
	path[0] = '/';
	tree_read_lock();
	int found = diff_walk(a, b, tree_root(a), path, 0, 0);
	found = diff_walk(b, a, tree_root(b), path, 0, found);
	tree_read_unlock();
	return found;
}

static void test_fuzzy_replay(void)
{
	for (int round = 0; round < 3; round++) {
		struct tree *t;
		struct gen g;
		struct jute_writer w;
		struct txlog log = {NULL, 0, 0};
		struct snap_job job = {NULL, 0, -1, 0, 0};
		pthread_t th;
		clean_dir();
		CHECK_EQ_INT(tree_new(&t), 0);
		gen_init(&g, seed + 10 + (uint64_t)round, 0);
		jute_writer_init(&w, 512);
		job.t = t;
		pthread_create(&th, NULL, snap_main, &job);
		int failed = apply_random(&g, t, &w, &log, 15000);
		atomic_store(&job.start, 1);
		failed += apply_random(&g, t, &w, &log, 10000);
		pthread_join(th, NULL);
		CHECK_EQ_INT(failed, 0);
		CHECK_EQ_INT(job.rc, 0);
		struct snapshot_loaded ld;
		int found = snapshot_find_latest(dir, &ld);
		CHECK_EQ_INT(found, 0);
		if (found != 0)
			break;
		CHECK_EQ_INT(ld.zxid, job.zxid);
		CHECK_EQ_INT(replay(ld.tree, &log, ld.zxid), 0);
		CHECK(tree_digest(ld.tree) == tree_digest(t));
		CHECK_EQ_INT(diff_trees(t, ld.tree), 0);
		CHECK_EQ_INT(tree_node_count(ld.tree), tree_node_count(t));
		CHECK_EQ_INT(tree_ephemeral_count(ld.tree),
			     tree_ephemeral_count(t));
		CHECK_EQ_INT(tree_last_zxid(ld.tree), tree_last_zxid(t));
		printf("  round %d: snapshot at %lld, %lld txns applied during "
		       "its write, %lld in all, %llu nodes\n",
		       round, (long long)ld.zxid,
		       (long long)(job.zxid_end - job.zxid),
		       (long long)tree_last_zxid(t),
		       (unsigned long long)tree_node_count(t));
		/* a tree built by replaying the whole log from scratch */
		struct tree *fresh;
		CHECK_EQ_INT(tree_new(&fresh), 0);
		CHECK_EQ_INT(replay(fresh, &log, 0), 0);
		CHECK(tree_digest(fresh) == tree_digest(t));
		tree_free(fresh);
		tree_free(ld.tree);
		free(ld.sessions);
		txlog_free(&log);
		gen_free(&g);
		jute_writer_free(&w);
		tree_free(t);
	}
	clean_dir();
}

/* -- format 1: a NODE record without acl_mtime -- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint32_t chain_crc(uint32_t chain, uint32_t crc)
{
	uint8_t b[4];
	put_be32(b, crc);
	return logfmt_crc32c(chain, b, 4);
}

/* Rewrites a format-2 snapshot in place as format 1: drops each NODE
 * record's trailing acl_mtime and redoes the CRCs and the chain.  Returns
 * the new length. */
static size_t downgrade_to_format1(uint8_t *buf, size_t len)
{
	put_be32(buf + 4, 1);
	uint32_t crc = logfmt_crc32c(0, buf, 16);
	put_be32(buf + 16, crc);
	uint32_t chain = chain_crc(0, crc);
	size_t in = SNAPFMT_HEADER_SIZE, out = SNAPFMT_HEADER_SIZE;
	while (in < len) {
		uint32_t n = get_be32(buf + in);
		uint8_t *body = buf + in + 8;
		uint8_t type = body[0];
		uint32_t m = type == SNAPFMT_NODE ? n - 8 : n;
		memmove(buf + out + 8, body, m);
		body = buf + out + 8;
		if (type == SNAPFMT_END)
			put_be32(body + 9, chain);
		crc = logfmt_crc32c(0, body, m);
		if (type != SNAPFMT_END)
			chain = chain_crc(chain, crc);
		put_be32(buf + out, m);
		put_be32(buf + out + 4, crc);
		in += 8 + n;
		out += 8 + m;
	}
	return out;
}

static int count_acl_times(struct tree_node *n)
{
	struct tree_view v;
	tree_node_read(n, &v);
	int found = v.acl_mtime != 0;
	for (struct tree_node *c = tree_child_first(n); c;
	     c = tree_child_next(c))
		found += count_acl_times(c);
	return found;
}

static void test_format1_loads(void)
{
	struct tree *t;
	struct gen g;
	struct jute_writer w;
	struct snapshot_loaded ld;
	char path[512];
	clean_dir();
	CHECK_EQ_INT(tree_new(&t), 0);
	gen_init(&g, seed, 0);
	jute_writer_init(&w, 512);
	CHECK_EQ_INT(apply_random(&g, t, &w, NULL, 3000), 0);
	int64_t z = tree_last_zxid(t);
	CHECK_EQ_INT(snapshot_write(t, dir, zk_bytes_of("s", 1), z), 0);
	snprintf(path, sizeof(path), "%s/", dir);
	snapfmt_name(path + strlen(path), 64, z);
	int fd = open(path, O_RDWR);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	uint8_t *buf = malloc((size_t)st.st_size);
	CHECK(buf && read(fd, buf, (size_t)st.st_size) == st.st_size);
	size_t n = downgrade_to_format1(buf, (size_t)st.st_size);
	CHECK(pwrite(fd, buf, n, 0) == (ssize_t)n && ftruncate(fd, (off_t)n) == 0);
	close(fd);
	free(buf);
	CHECK_EQ_INT(snapshot_load(path, &ld), 0);
	CHECK_EQ_INT(ld.zxid, z);
	CHECK_EQ_INT(tree_node_count(ld.tree), tree_node_count(t));
	CHECK_EQ_INT(tree_data_size(ld.tree), tree_data_size(t));
	tree_read_lock();
	CHECK(count_acl_times(tree_root(t)) > 0);
	CHECK_EQ_INT(count_acl_times(tree_root(ld.tree)), 0);
	tree_read_unlock();
	tree_free(ld.tree);
	free(ld.sessions);
	gen_free(&g);
	jute_writer_free(&w);
	tree_free(t);
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void test_size(long count)
{
	struct tree *t;
	struct txn x;
	char path[64], data[64];
	uint8_t acl[40];
	struct jute_writer aw;
	jute_writer_init_fixed(&aw, acl, sizeof(acl));
	jute_put_int(&aw, 1);
	jute_put_int(&aw, ZK_PERM_ALL);
	jute_put_cstring(&aw, "world");
	jute_put_cstring(&aw, "anyone");
	memset(data, 'd', sizeof(data));
	clean_dir();
	malloc_trim(0);
	long before = rss_kb();
	CHECK_EQ_INT(tree_new(&t), 0);
	int64_t z = 0;
	int32_t cv[8] = {0};
	double t0 = now();
	for (long i = 0; i < 8 + count; i++) {
		memset(&x, 0, sizeof(x));
		x.hdr.zxid = ++z;
		x.hdr.time = 1700000000000 + z;
		x.hdr.type = TXN_CREATE;
		if (i < 8) {
			snprintf(path, sizeof(path), "/parent%ld", i);
			x.u.create.parent_cversion = (int32_t)i + 1;
		} else {
			snprintf(path, sizeof(path), "/parent%ld/node%010ld",
				 i % 8, i);
			x.u.create.parent_cversion = ++cv[i % 8];
		}
		x.u.create.path = zk_bytes_of(path, strlen(path));
		x.u.create.data = zk_bytes_of(data, 64);
		x.u.create.acl_raw = zk_bytes_of(acl, aw.len);
		if (tree_apply(t, &x, false, NULL, NULL) != 0) {
			CHECK(0);
			break;
		}
	}
	double t1 = now();
	urcu_bp_barrier();
	malloc_trim(0);
	long after = rss_kb();
	CHECK_EQ_INT(tree_node_count(t), (uint64_t)count + 12);
	int64_t sz;
	double t2 = now();
	sz = tree_last_zxid(t);
	CHECK_EQ_INT(snapshot_write(t, dir, zk_bytes_of("", 0), sz), 0);
	double t3 = now();
	struct snapshot_loaded ld;
	CHECK_EQ_INT(snapshot_find_latest(dir, &ld), 0);
	double t4 = now();
	CHECK(tree_digest(ld.tree) == tree_digest(t));
	printf("  %ld nodes of 64 bytes: RSS +%ld kB = %.0f bytes/node; "
	       "build %.2f s, snapshot write %.2f s, load %.2f s\n",
	       count, after - before,
	       (double)(after - before) * 1024.0 / (double)count, t1 - t0,
	       t3 - t2, t4 - t3);
	tree_free(ld.tree);
	free(ld.sessions);
	tree_free(t);
	clean_dir();
}

int main(int argc, char **argv)
{
	bool bench = false;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--bench") == 0)
			bench = true;
	seed = check_seed(argc, argv);
	snprintf(dir, sizeof(dir), "/tmp/zabfs-test-snapshot.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(test_round_trip);
	RUN_TEST(test_damaged);
	RUN_TEST(test_fuzzy_replay);
	RUN_TEST(test_format1_loads);
	test_size(bench ? 1000000 : 100000);
	printf("ok   test_size\n");
	rmdir(dir);
	return check_report();
}
