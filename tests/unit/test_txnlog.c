/*
 * test_txnlog.c - the transaction log on real files (a mkdtemp directory)
 * and on the fault-injecting storage: append and read back, group commit,
 * torn tails at every length, corruption in the middle, bad headers,
 * failed writes and syncs (every countdown point), power loss over many
 * seeds, roll, purge, truncate, readers while the log runs.
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_i.h"
#include "txnlog_i.h"
#include "zabfs/err.h"
#include "zabfs/logfmt.h"

static uint64_t seed;

/* ---- helpers ---------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static char *make_dir_in(const char *parent)
{
	char tmpl[256];
	snprintf(tmpl, sizeof(tmpl), "%s/zabfs-txnlog-XXXXXX", parent);
	char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

/* Real files on the real disk, for the POSIX storage. */
static char *make_dir(void)
{
	return make_dir_in("/tmp");
}

/* For the fault storage, which simulates durability itself: a tmpfs
 * when there is one, so that its many syncs cost nothing. */
static char *make_fault_dir(void)
{
	struct stat st;
	return make_dir_in(stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)
			       ? "/dev/shm"
			       : "/tmp");
}

static void remove_dir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

static void seg_file(const char *dir, int64_t zxid, char *out, size_t len)
{
	char name[LOGFMT_NAME_LEN + 1];
	logfmt_name_format(name, zxid);
	snprintf(out, len, "%s/%s", dir, name);
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int count_segments(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	int64_t z;
	while (d && (e = readdir(d)) != NULL)
		n += logfmt_name_parse(e->d_name, &z) == 0;
	if (d)
		closedir(d);
	return n;
}

/* The payload of zxid: its size and bytes depend on zxid and salt. */
static size_t payload_of(int64_t zxid, uint32_t salt, uint8_t *buf)
{
	size_t n = 1 + (size_t)(((uint64_t)zxid * 2654435761u + salt) % 150);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((uint64_t)zxid * 31 + i + salt);
	return n;
}

static bool payload_ok(int64_t zxid, uint32_t salt, struct zk_bytes p)
{
	uint8_t buf[256];
	size_t n = payload_of(zxid, salt, buf);
	return p.len == (int32_t)n && memcmp(p.p, buf, n) == 0;
}

static int append_z(struct txnlog *log, int64_t zxid, uint32_t salt)
{
	uint8_t buf[256];
	size_t n = payload_of(zxid, salt, buf);
	return txnlog_append(log, zxid, buf, n);
}

/* What the durable callback saw. */
struct cbstate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t durable;
	int status;
	int calls, fails;
	bool went_back; /* a report below an earlier one */
	bool hold;      /* block the log thread inside the callback */
	bool held;
};

static void cb_init(struct cbstate *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
}

static void cb_fini(struct cbstate *c)
{
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
}

static void on_durable(void *arg, int64_t zxid, int status)
{
	struct cbstate *c = arg;
	pthread_mutex_lock(&c->mu);
	c->calls++;
	if (status != 0) {
		c->fails++;
		c->status = status;
	}
	if (zxid < c->durable)
		c->went_back = true;
	else
		c->durable = zxid;
	c->held = c->hold;
	pthread_cond_broadcast(&c->cv);
	while (c->hold)
		pthread_cond_wait(&c->cv, &c->mu);
	c->held = false;
	pthread_mutex_unlock(&c->mu);
}

/* Wait (at most 10 s) until zxid is durable or the log failed. */
static bool cb_wait(struct cbstate *c, int64_t zxid)
{
	uint64_t deadline = now_ms() + 10000;
	pthread_mutex_lock(&c->mu);
	while (c->durable < zxid && c->fails == 0 && now_ms() < deadline) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	bool ok = c->durable >= zxid;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

static struct txnlog_options opts_for(struct cbstate *c, struct storage *st,
				      uint64_t seg_size)
{
	struct txnlog_options o = {0};
	o.segment_size = seg_size;
	o.durable_cb = c ? on_durable : NULL;
	o.cb_arg = c;
	o.storage = st;
	return o;
}

static struct txnlog *open_log(const char *dir, struct cbstate *c,
			       struct storage *st, uint64_t seg_size)
{
	struct txnlog_options o = opts_for(c, st, seg_size);
	struct txnlog *log = NULL;
	char err[256];
	int rc = txnlog_open(dir, &o, &log, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "txnlog_open: %s (%s)\n", zk_strerror(rc), err);
	CHECK_EQ_INT(rc, 0);
	return log;
}

static struct storage *fault_storage(void)
{
	struct storage *base = NULL, *f = NULL;
	if (storage_posix_new(&base) != 0 || storage_fault_new(base, &f) != 0)
		return NULL;
	return f;
}

/*
 * Read every record after `after`; they must be lo..hi in steps of `step`,
 * with payloads of salt 0 up to cut and salt2 after it.  Returns how many
 * records were read (-1 on an iterator error).
 */
static long expect_records(struct txnlog *log, int64_t after, int64_t lo,
			   int64_t hi, int64_t cut, uint32_t salt2)
{
	struct txnlog_iter *it = NULL;
	int64_t zxid, want = lo;
	struct zk_bytes p;
	long n = 0;
	int rc = txnlog_iter_open(log, after, &it);
	CHECK_EQ_INT(rc, 0);
	if (rc != 0)
		return -1;
	while ((rc = txnlog_iter_next(it, &zxid, &p)) == 0) {
		CHECK_EQ_INT(zxid, want);
		CHECK(payload_ok(zxid, zxid > cut ? salt2 : 0, p));
		want++;
		n++;
	}
	if (rc != LOGFMT_END)
		fprintf(stderr, "iterator: %s\n", txnlog_iter_errmsg(it));
	CHECK_EQ_INT(rc, LOGFMT_END);
	CHECK_EQ_INT(want, hi + 1);
	txnlog_iter_close(it);
	return n;
}

/* ---- tests ------------------------------------------------------------ */

static void test_append_read_reopen(void)
{
	char *dir = make_dir();
	struct cbstate c;
	cb_init(&c);
	struct txnlog *log = open_log(dir, &c, NULL, 1 << 20);
	struct txnlog_stats st;
	txnlog_stats(log, &st);
	CHECK_EQ_INT(st.last_durable_zxid, 0);
	expect_records(log, 0, 1, 0, 0, 0);
	for (int64_t z = 1; z <= 100; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	CHECK(cb_wait(&c, 100));
	CHECK_EQ_INT(append_z(log, 100, 0), ZK_BADARGUMENTS);
	CHECK_EQ_INT(append_z(log, 50, 0), ZK_BADARGUMENTS);
	CHECK_EQ_INT(txnlog_append(log, 101, "x", 0), ZK_BADARGUMENTS);
	CHECK_EQ_INT(txnlog_append(log, 101, "x", LOGFMT_MAX_PAYLOAD + 1u),
		     ZK_TOOBIG);
	CHECK_EQ_INT(txnlog_last_zxid(log), 100);
	expect_records(log, 0, 1, 100, 1000, 0);
	expect_records(log, 50, 51, 100, 1000, 0);
	expect_records(log, 100, 101, 100, 1000, 0);
	txnlog_stats(log, &st);
	CHECK_EQ_INT(st.last_durable_zxid, 100);
	CHECK_EQ_INT(st.first_zxid, 1);
	CHECK(st.fsyncs >= 2);
	CHECK(st.bytes_written > 100 * LOGFMT_RECORD_OVERHEAD);
	CHECK(!c.went_back);
	txnlog_close(log);

	log = open_log(dir, &c, NULL, 1 << 20);
	CHECK_EQ_INT(txnlog_last_zxid(log), 100);
	expect_records(log, 0, 1, 100, 1000, 0);
	for (int64_t z = 101; z <= 120; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	CHECK(cb_wait(&c, 120));
	expect_records(log, 90, 91, 120, 1000, 0);
	CHECK_EQ_INT(count_segments(dir), 1);
	txnlog_close(log);
	cb_fini(&c);
	remove_dir(dir);
}

static void test_group_commit(void)
{
	char *dir = make_dir();
	struct cbstate c;
	cb_init(&c);
	struct txnlog *log = open_log(dir, &c, NULL, 1 << 20);
	/* Park the log thread in the callback of the first batch while the
	 * rest are appended: they must go out as one batch. */
	c.hold = true;
	CHECK_EQ_INT(append_z(log, 1, 0), 0);
	pthread_mutex_lock(&c.mu);
	while (!c.held)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
	for (int64_t z = 2; z <= 1000; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	pthread_mutex_lock(&c.mu);
	c.hold = false;
	pthread_cond_broadcast(&c.cv);
	pthread_mutex_unlock(&c.mu);
	CHECK(cb_wait(&c, 1000));
	struct txnlog_stats st;
	txnlog_stats(log, &st);
	/* segment create (1 fsync) + batch 1 + batch 2..1000 */
	CHECK_EQ_INT(st.fsyncs, 3);
	CHECK(c.calls <= 3);
	expect_records(log, 0, 1, 1000, 1000, 0);
	txnlog_close(log);
	cb_fini(&c);
	remove_dir(dir);
}

static void test_no_sync(void)
{
	char *dir = make_dir();
	struct cbstate c;
	cb_init(&c);
	struct txnlog_options o = opts_for(&c, NULL, 1 << 20);
	o.no_sync = true;
	struct txnlog *log = NULL;
	CHECK_EQ_INT(txnlog_open(dir, &o, &log, NULL, 0), 0);
	for (int64_t z = 1; z <= 200; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	CHECK(cb_wait(&c, 200));
	struct txnlog_stats st;
	txnlog_stats(log, &st);
	CHECK_EQ_INT(st.fsyncs, 1); /* only the new segment's header */
	txnlog_close(log);
	cb_fini(&c);
	remove_dir(dir);
}

/* Write n records into a fresh log in dir and close it; return the byte
 * offset where record `which` starts and its size. */
static void write_records(const char *dir, int64_t n, int64_t which,
			  uint64_t *off, size_t *size)
{
	struct cbstate c;
	cb_init(&c);
	struct txnlog *log = open_log(dir, &c, NULL, 1 << 16);
	for (int64_t z = 1; z <= n; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	CHECK(cb_wait(&c, n));
	txnlog_close(log);
	cb_fini(&c);
	uint8_t buf[256];
	*off = LOGFMT_HEADER_SIZE;
	for (int64_t z = 1; z < which; z++)
		*off += logfmt_record_size(payload_of(z, 0, buf));
	*size = logfmt_record_size(payload_of(which, 0, buf));
}

static void read_file(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	fstat(fd, &st);
	*len = (size_t)st.st_size;
	*buf = malloc(*len);
	CHECK(pread(fd, *buf, *len, 0) == (ssize_t)*len);
	close(fd);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, buf, len, 0) == (ssize_t)len);
	close(fd);
}

static void test_torn_tail_every_length(void)
{
	char *dir = make_dir();
	char path[512];
	uint64_t off;
	size_t size;
	uint8_t *pristine, *img;
	size_t len;
	uint64_t rng = seed;
	write_records(dir, 6, 6, &off, &size);
	seg_file(dir, 1, path, sizeof(path));
	read_file(path, &pristine, &len);
	img = malloc(len);
	for (size_t keep = 0; keep < size; keep++) {
		for (int garbage = 0; garbage < 2; garbage++) {
			memcpy(img, pristine, len);
			/* the torn record: keep bytes, the rest zeros or
			 * (second round) random garbage */
			for (size_t i = keep; i < size; i++)
				img[off + i] =
				    garbage ? (uint8_t)rnd_next(&rng) : 0;
			if (garbage && keep < 4)
				img[off] = 0xff; /* never a zero length */
			/* garbage equal to what it replaced (1 in 256 when
			 * one byte is replaced) leaves the record whole */
			if (!memcmp(img + off + keep, pristine + off + keep,
				    size - keep))
				img[off + size - 1] ^= 0x01;
			write_file(path, img, len);
			struct cbstate c;
			cb_init(&c);
			struct txnlog *log = open_log(dir, &c, NULL, 1 << 16);
			if (!log) {
				fprintf(stderr, "keep %zu garbage %d\n", keep,
					garbage);
				cb_fini(&c);
				continue;
			}
			CHECK_EQ_INT(txnlog_last_zxid(log), 5);
			expect_records(log, 0, 1, 5, 5, 7);
			CHECK_EQ_INT(append_z(log, 6, 7), 0);
			CHECK_EQ_INT(append_z(log, 7, 7), 0);
			CHECK(cb_wait(&c, 7));
			txnlog_close(log);
			log = open_log(dir, &c, NULL, 1 << 16);
			if (log) {
				expect_records(log, 0, 1, 7, 5, 7);
				txnlog_close(log);
			}
			cb_fini(&c);
		}
	}
	free(img);
	free(pristine);
	remove_dir(dir);
}

static void expect_corrupt(const char *dir, const char *name_part)
{
	struct txnlog_options o = opts_for(NULL, NULL, 1 << 16);
	struct txnlog *log = NULL;
	char err[256] = "";
	int rc = txnlog_open(dir, &o, &log, err, sizeof(err));
	CHECK_EQ_INT(rc, ZK_CORRUPT);
	CHECK(strstr(err, name_part) != NULL);
	CHECK(strstr(err, "byte offset") != NULL);
	if (rc == 0)
		txnlog_close(log);
}

static void test_corruption_in_the_middle(void)
{
	char *dir = make_dir();
	char path[512];
	uint64_t off;
	size_t size;
	uint8_t *pristine;
	size_t len;
	write_records(dir, 10, 5, &off, &size);
	seg_file(dir, 1, path, sizeof(path));
	read_file(path, &pristine, &len);
	/* every bit of record 5 (of 10) */
	for (size_t bit = 0; bit < 8 * size; bit++) {
		pristine[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		write_file(path, pristine, len);
		expect_corrupt(dir, "log.0000000000000001");
		pristine[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* a zxid going backwards (a record copied over a later one) */
	uint8_t buf[256];
	size_t s1 = logfmt_record_size(payload_of(1, 0, buf));
	if (s1 <= size) {
		uint8_t *img = malloc(len);
		memcpy(img, pristine, len);
		memcpy(img + off, img + LOGFMT_HEADER_SIZE, s1);
		/* pad the rest of record 5's space so records 6.. follow */
		write_file(path, img, len);
		expect_corrupt(dir, "log.0000000000000001");
		free(img);
	}
	write_file(path, pristine, len);
	struct txnlog *log = open_log(dir, NULL, NULL, 1 << 16);
	if (log) {
		expect_records(log, 0, 1, 10, 10, 0);
		txnlog_close(log);
	}
	free(pristine);
	remove_dir(dir);
}

static void test_corruption_in_older_segment(void)
{
	char *dir = make_dir();
	struct cbstate c;
	cb_init(&c);
	struct txnlog *log = open_log(dir, &c, NULL, 1 << 16);
	for (int64_t z = 1; z <= 10; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	CHECK(cb_wait(&c, 10));
	CHECK_EQ_INT(txnlog_roll(log), 0);
	for (int64_t z = 11; z <= 20; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	CHECK(cb_wait(&c, 20));
	txnlog_close(log);
	cb_fini(&c);
	CHECK_EQ_INT(count_segments(dir), 2);
	/* the last record of the older segment: a torn tail there is
	 * corruption, because a newer segment holds records */
	char path[512];
	uint8_t *img;
	size_t len;
	uint8_t buf[256];
	uint64_t off = LOGFMT_HEADER_SIZE;
	for (int64_t z = 1; z < 10; z++)
		off += logfmt_record_size(payload_of(z, 0, buf));
	seg_file(dir, 1, path, sizeof(path));
	read_file(path, &img, &len);
	img[off + 20] ^= 4;
	write_file(path, img, len);
	expect_corrupt(dir, "log.0000000000000001");
	img[off + 20] ^= 4;
	write_file(path, img, len);
	free(img);
	/* the newer segment's header */
	seg_file(dir, 11, path, sizeof(path));
	read_file(path, &img, &len);
	img[9] ^= 1;
	write_file(path, img, len);
	expect_corrupt(dir, "log.000000000000000b");
	memset(img, 0, LOGFMT_HEADER_SIZE);
	write_file(path, img, len);
	expect_corrupt(dir, "log.000000000000000b");
	write_file(path, img, 0); /* an empty file */
	expect_corrupt(dir, "log.000000000000000b");
	free(img);
	remove_dir(dir);
}

static void test_header_name_mismatch_and_tmp(void)
{
	char *dir = make_dir();
	uint64_t off;
	size_t size;
	char from[512], to[512], tmp[600];
	write_records(dir, 3, 1, &off, &size);
	seg_file(dir, 1, from, sizeof(from));
	seg_file(dir, 2, to, sizeof(to));
	CHECK(rename(from, to) == 0);
	expect_corrupt(dir, "log.0000000000000002");
	CHECK(rename(to, from) == 0);
	/* a leftover temporary segment is deleted */
	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	write_file(tmp, (const uint8_t *)"junk", 4);
	struct txnlog *log = open_log(dir, NULL, NULL, 1 << 16);
	CHECK(!file_exists(tmp));
	if (log) {
		expect_records(log, 0, 1, 3, 3, 0);
		txnlog_close(log);
	}
	remove_dir(dir);
}

/* Run a workload on a fault storage that fails at the nth write or sync;
 * then reopen on POSIX: what was reported durable must be there, and the
 * log must be a clean prefix.  Returns whether the fault was hit. */
static bool run_fail_at(int nth, bool sync)
{
	char *dir = make_fault_dir();
	struct cbstate c;
	cb_init(&c);
	struct storage *fs = fault_storage();
	struct txnlog *log = open_log(dir, &c, fs, 2048);
	if (!log) {
		fs->destroy(fs);
		cb_fini(&c);
		remove_dir(dir);
		return false;
	}
	if (sync)
		storage_fault_fail_sync(fs, nth);
	else
		storage_fault_fail_write(fs, nth);
	int64_t z = 1;
	for (int batch = 0; batch < 8 && c.fails == 0; batch++) {
		for (int i = 0; i < 6; i++, z++) {
			int rc = append_z(&*log, z, 0);
			if (rc != 0) {
				CHECK_EQ_INT(rc, ZK_FAILED_STORAGE);
				break;
			}
		}
		if (batch == 3)
			CHECK(txnlog_roll(log) == 0 || c.fails);
		cb_wait(&c, z - 1);
	}
	bool hit = c.fails > 0;
	if (hit) {
		CHECK_EQ_INT(c.fails, 1);
		CHECK_EQ_INT(c.status, ZK_IO);
		CHECK_EQ_INT(append_z(log, 1000, 0), ZK_FAILED_STORAGE);
		CHECK_EQ_INT(txnlog_roll(log), ZK_FAILED_STORAGE);
		CHECK_EQ_INT(txnlog_truncate_after(log, 1), ZK_FAILED_STORAGE);
		struct txnlog_stats st;
		txnlog_stats(log, &st);
		CHECK(st.failed);
		char msg[256];
		txnlog_errmsg(log, msg, sizeof(msg));
		if (!strstr(msg, sync ? "sync" : "writing"))
			fprintf(stderr, "unexpected message: %s\n", msg);
		CHECK(strstr(msg, sync ? "sync" : "writing") != NULL);
	}
	int64_t durable = c.durable;
	txnlog_close(log);
	CHECK_EQ_INT(c.fails, hit ? 1 : 0); /* reported once */
	fs->destroy(fs);
	log = open_log(dir, NULL, NULL, 2048);
	if (log) {
		int64_t last = txnlog_last_zxid(log);
		CHECK(last >= durable);
		expect_records(log, 0, 1, last, last, 0);
		CHECK_EQ_INT(append_z(log, last + 1, 0), 0);
		txnlog_close(log);
	}
	cb_fini(&c);
	remove_dir(dir);
	return hit;
}

static void test_failed_sync_every_point(void)
{
	int nth = 0;
	while (nth < 100 && run_fail_at(nth, true))
		nth++;
	CHECK(nth > 5);
}

static void test_failed_write_every_point(void)
{
	int nth = 0;
	while (nth < 100 && run_fail_at(nth, false))
		nth++;
	CHECK(nth > 5);
}

/* One power-loss run; returns the number of records checked. */
static long power_loss_run(uint64_t s)
{
	char *dir = make_fault_dir();
	uint64_t rng = s;
	int64_t appended[2000];
	size_t n = 0;
	long checked = 0;
	for (int round = 0; round < 2; round++) {
		struct cbstate c;
		cb_init(&c);
		struct storage *fs = fault_storage();
		storage_fault_hold_writes(fs);
		struct txnlog *log =
		    open_log(dir, &c, fs, 1024 + rnd_next(&rng) % 3000);
		if (!log) {
			fs->destroy(fs);
			cb_fini(&c);
			break;
		}
		int64_t z = n ? appended[n - 1] : 0;
		int batches = 1 + (int)(rnd_next(&rng) % 12);
		for (int b = 0; b < batches; b++) {
			int k = 1 + (int)(rnd_next(&rng) % 20);
			for (int i = 0; i < k && n < 2000; i++) {
				z += 1 + (int64_t)(rnd_next(&rng) % 3);
				if (append_z(log, z, 0) == 0)
					appended[n++] = z;
			}
			switch (rnd_next(&rng) % 4) {
			case 0:
				cb_wait(&c, z);
				break;
			case 1:
				txnlog_roll(log);
				break;
			default:
				break;
			}
		}
		storage_fault_crash(fs, rnd_next(&rng));
		txnlog_close(log);
		int64_t durable = c.durable;
		fs->destroy(fs);
		cb_fini(&c);

		/* reopen on the real files */
		char err[256];
		struct txnlog_options o = opts_for(NULL, NULL, 2048);
		int rc = txnlog_open(dir, &o, &log, err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "seed %" PRIu64 " round %d: %s\n", s,
				round, err);
		CHECK_EQ_INT(rc, 0);
		if (rc != 0)
			break;
		struct txnlog_iter *it;
		int64_t zxid;
		struct zk_bytes p;
		size_t i = 0;
		CHECK_EQ_INT(txnlog_iter_open(log, 0, &it), 0);
		while ((rc = txnlog_iter_next(it, &zxid, &p)) == 0) {
			CHECK(i < n && zxid == appended[i]);
			CHECK(payload_ok(zxid, 0, p));
			i++;
		}
		if (rc != LOGFMT_END)
			fprintf(stderr, "iterator: %s\n",
				txnlog_iter_errmsg(it));
		CHECK_EQ_INT(rc, LOGFMT_END);
		txnlog_iter_close(it);
		/* every durable record is there, nothing after a gap */
		CHECK(i == 0 ? durable == 0 : appended[i - 1] >= durable);
		if (i > 0 && appended[i - 1] < durable)
			fprintf(stderr,
				"seed %" PRIu64 ": lost %" PRId64
				" (have up to %" PRId64 ")\n",
				s, durable, appended[i - 1]);
		CHECK_EQ_INT(txnlog_last_zxid(log), i ? appended[i - 1] : 0);
		checked += (long)i;
		n = i;
		txnlog_close(log);
	}
	remove_dir(dir);
	return checked;
}

static void test_power_loss_many_seeds(void)
{
	uint64_t start = now_ms();
	int runs = 0;
	long records = 0;
	for (uint64_t i = 0; i < 400 && now_ms() - start < 6000; i++, runs++)
		records += power_loss_run(seed + i);
	printf("power loss: %d runs, %ld records checked\n", runs, records);
	CHECK(runs >= 20);
}

static void test_roll_and_purge(void)
{
	char *dir = make_dir();
	struct cbstate c;
	cb_init(&c);
	struct txnlog *log = open_log(dir, &c, NULL, 1024);
	for (int64_t z = 1; z <= 100; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	CHECK(cb_wait(&c, 100));
	struct txnlog_stats st;
	txnlog_stats(log, &st);
	CHECK(st.segments > 5);
	CHECK_EQ_INT((int)st.segments, count_segments(dir));
	/* roll: the next record starts a segment named after it */
	CHECK_EQ_INT(txnlog_roll(log), 0);
	CHECK_EQ_INT(append_z(log, 101, 0), 0);
	CHECK(cb_wait(&c, 101));
	char path[512];
	seg_file(dir, 101, path, sizeof(path));
	CHECK(file_exists(path));
	/* a roll with nothing after it makes no empty segment */
	CHECK_EQ_INT(txnlog_roll(log), 0);
	CHECK_EQ_INT(txnlog_purge_before(log, 0), 0);
	txnlog_stats(log, &st);
	int before = (int)st.segments;
	CHECK_EQ_INT(before, count_segments(dir));
	/* purge: the segment holding 50 stays, all older ones go */
	CHECK_EQ_INT(txnlog_purge_before(log, 50), 0);
	txnlog_stats(log, &st);
	CHECK((int)st.segments < before);
	CHECK_EQ_INT((int)st.segments, count_segments(dir));
	CHECK(st.first_zxid <= 50 && st.first_zxid > 1);
	expect_records(log, 49, 50, 101, 1000, 0);
	expect_records(log, st.first_zxid - 1, st.first_zxid, 101, 1000, 0);
	/* never the newest segment */
	CHECK_EQ_INT(txnlog_purge_before(log, INT64_MAX), 0);
	CHECK_EQ_INT(count_segments(dir), 1);
	CHECK(file_exists(path));
	CHECK_EQ_INT(append_z(log, 102, 0), 0);
	CHECK(cb_wait(&c, 102));
	txnlog_close(log);
	log = open_log(dir, &c, NULL, 1024);
	if (log) {
		expect_records(log, 0, 101, 102, 1000, 0);
		txnlog_close(log);
	}
	cb_fini(&c);
	remove_dir(dir);
}

static void test_truncate_after(void)
{
	char *dir = make_dir();
	struct cbstate c;
	cb_init(&c);
	struct txnlog *log = open_log(dir, &c, NULL, 1024);
	for (int64_t z = 1; z <= 60; z++)
		CHECK_EQ_INT(append_z(log, z, 0), 0);
	CHECK(cb_wait(&c, 60));
	CHECK_EQ_INT(txnlog_truncate_after(log, 100), 0);
	CHECK_EQ_INT(txnlog_last_zxid(log), 60);
	CHECK_EQ_INT(txnlog_truncate_after(log, 30), 0);
	CHECK_EQ_INT(txnlog_last_zxid(log), 30);
	struct txnlog_stats st;
	txnlog_stats(log, &st);
	CHECK_EQ_INT(st.last_durable_zxid, 30);
	expect_records(log, 0, 1, 30, 30, 9);
	/* new records 31.. with other payloads */
	for (int64_t z = 31; z <= 40; z++)
		CHECK_EQ_INT(append_z(log, z, 9), 0);
	CHECK(cb_wait(&c, 40));
	txnlog_close(log);
	log = open_log(dir, &c, NULL, 1024);
	if (log) {
		expect_records(log, 0, 1, 40, 30, 9);
		/* at a segment boundary, and then everything */
		txnlog_stats(log, &st);
		int64_t first_of_newest = 0;
		for (int64_t z = 40; z > 1; z--) {
			char path[512];
			seg_file(dir, z, path, sizeof(path));
			if (file_exists(path)) {
				first_of_newest = z;
				break;
			}
		}
		CHECK(first_of_newest > 1);
		CHECK_EQ_INT(txnlog_truncate_after(log, first_of_newest - 1),
			     0);
		expect_records(log, 0, 1, first_of_newest - 1, 30, 9);
		CHECK_EQ_INT(txnlog_truncate_after(log, 0), 0);
		CHECK_EQ_INT(txnlog_last_zxid(log), 0);
		CHECK_EQ_INT(count_segments(dir), 0);
		CHECK_EQ_INT(append_z(log, 5, 0), 0);
		txnlog_close(log);
	}
	log = open_log(dir, &c, NULL, 1024);
	if (log) {
		expect_records(log, 0, 5, 5, 5, 0);
		txnlog_close(log);
	}
	cb_fini(&c);
	remove_dir(dir);
}

/* A record larger than a segment goes alone into a segment of its own. */
static void test_record_bigger_than_segment(void)
{
	char *dir = make_dir();
	struct cbstate c;
	cb_init(&c);
	struct txnlog *log = open_log(dir, &c, NULL, 1024);
	size_t big = 5000;
	uint8_t *buf = malloc(big);
	for (size_t i = 0; i < big; i++)
		buf[i] = (uint8_t)(i * 7);
	CHECK_EQ_INT(append_z(log, 1, 0), 0);
	CHECK_EQ_INT(txnlog_append(log, 2, buf, big), 0);
	CHECK_EQ_INT(append_z(log, 3, 0), 0);
	CHECK(cb_wait(&c, 3));
	txnlog_close(log);
	CHECK_EQ_INT(count_segments(dir), 3);
	log = open_log(dir, &c, NULL, 1024);
	if (log) {
		struct txnlog_iter *it;
		int64_t zxid;
		struct zk_bytes p;
		CHECK_EQ_INT(txnlog_iter_open(log, 1, &it), 0);
		CHECK_EQ_INT(txnlog_iter_next(it, &zxid, &p), 0);
		CHECK_EQ_INT(zxid, 2);
		CHECK(p.len == (int32_t)big && memcmp(p.p, buf, big) == 0);
		CHECK_EQ_INT(txnlog_iter_next(it, &zxid, &p), 0);
		CHECK_EQ_INT(zxid, 3);
		CHECK_EQ_INT(txnlog_iter_next(it, &zxid, &p), LOGFMT_END);
		txnlog_iter_close(it);
		txnlog_close(log);
	}
	free(buf);
	cb_fini(&c);
	remove_dir(dir);
}

struct writer_arg {
	struct txnlog *log;
	int64_t n;
};

static void *writer_main(void *arg)
{
	struct writer_arg *w = arg;
	for (int64_t z = 1; z <= w->n; z++) {
		append_z(w->log, z, 0);
		if (z % 300 == 0)
			txnlog_roll(w->log);
	}
	return NULL;
}

static void test_readers_while_running(void)
{
	char *dir = make_dir();
	struct cbstate c;
	cb_init(&c);
	struct txnlog *log = open_log(dir, &c, NULL, 4096);
	struct writer_arg w = {log, 3000};
	pthread_t t;
	pthread_create(&t, NULL, writer_main, &w);
	int reads = 0;
	uint64_t start = now_ms();
	while (now_ms() - start < 3000) {
		struct txnlog_stats st;
		txnlog_stats(log, &st);
		struct txnlog_iter *it;
		int64_t zxid, want = 1;
		struct zk_bytes p;
		int rc;
		CHECK_EQ_INT(txnlog_iter_open(log, 0, &it), 0);
		while ((rc = txnlog_iter_next(it, &zxid, &p)) == 0) {
			CHECK_EQ_INT(zxid, want);
			CHECK(payload_ok(zxid, 0, p));
			want++;
		}
		if (rc != LOGFMT_END)
			fprintf(stderr, "iterator: %s\n",
				txnlog_iter_errmsg(it));
		CHECK_EQ_INT(rc, LOGFMT_END);
		CHECK(want - 1 >= st.last_durable_zxid);
		txnlog_iter_close(it);
		reads++;
		if (st.last_durable_zxid == w.n)
			break;
	}
	pthread_join(t, NULL);
	CHECK(cb_wait(&c, w.n));
	CHECK(reads > 0);
	txnlog_close(log);
	cb_fini(&c);
	remove_dir(dir);
}

static void test_fault_storage_power_loss_model(void)
{
	char *dir = make_fault_dir();
	char path[512];
	snprintf(path, sizeof(path), "%s/f", dir);
	struct storage *fs = fault_storage();
	int fd;
	size_t got;
	uint8_t buf[16];
	storage_fault_hold_writes(fs);
	CHECK_EQ_INT(fs->open(fs, path, STORAGE_CREATE, &fd), 0);
	CHECK_EQ_INT(fs->pwrite(fs, fd, "aaaa", 4, 0), 0);
	CHECK_EQ_INT(fs->fdatasync(fs, fd), 0);
	CHECK_EQ_INT(fs->sync_dir(fs, dir), 0);
	CHECK_EQ_INT(fs->pwrite(fs, fd, "bbbbbbbb", 8, 2), 0);
	/* reads see held writes */
	CHECK_EQ_INT(fs->pread(fs, fd, buf, sizeof(buf), 0, &got), 0);
	CHECK_EQ_INT(got, 10);
	CHECK(memcmp(buf, "aabbbbbbbb", 10) == 0);
	uint64_t size = 0;
	CHECK_EQ_INT(fs->size(fs, fd, &size), 0);
	CHECK_EQ_INT(size, 10);
	/* the synced part survives whatever the crash does */
	CHECK_EQ_INT(storage_fault_crash(fs, seed), 0);
	CHECK_EQ_INT(fs->pwrite(fs, fd, "c", 1, 0), ZK_IO);
	fs->close(fs, fd);
	fs->destroy(fs);
	int f = open(path, O_RDONLY);
	CHECK(f >= 0);
	ssize_t r = pread(f, buf, sizeof(buf), 0);
	CHECK(r >= 4 && r <= 10);
	CHECK(memcmp(buf, "aa", 2) == 0);
	close(f);
	remove_dir(dir);
}

int main(int argc, char **argv)
{
	seed = check_seed(argc, argv);
	RUN_TEST(test_fault_storage_power_loss_model);
	RUN_TEST(test_append_read_reopen);
	RUN_TEST(test_group_commit);
	RUN_TEST(test_no_sync);
	RUN_TEST(test_torn_tail_every_length);
	RUN_TEST(test_corruption_in_the_middle);
	RUN_TEST(test_corruption_in_older_segment);
	RUN_TEST(test_header_name_mismatch_and_tmp);
	RUN_TEST(test_failed_sync_every_point);
	RUN_TEST(test_failed_write_every_point);
	RUN_TEST(test_power_loss_many_seeds);
	RUN_TEST(test_roll_and_purge);
	RUN_TEST(test_truncate_after);
	RUN_TEST(test_record_bigger_than_segment);
	RUN_TEST(test_readers_while_running);
	return check_report();
}
