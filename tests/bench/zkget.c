/*
 * zkget.c - what reading a small znode costs a program that uses the
 * ZooKeeper C client the ordinary way: a synchronous zoo_get in a loop, one
 * session, one request at a time (the mount benchmark's yardstick, run
 * against Apache ZooKeeper and against zabfs).
 *
 *   zkget HOST:PORT PATH DUR_S [WARMUP_S [DATA_BYTES]]
 *
 * Makes PATH hold DATA_BYTES (default 64) bytes of 'x' (creating it, a
 * persistent znode with the open ACL, if missing; its parent must exist),
 * runs WARMUP_S seconds (default 1) unmeasured, then DUR_S seconds
 * measured, and prints one line (dur_s is the measured time):
 *   "zkget path=P bytes=B warmup_s=W dur_s=D ops=N ops_per_s=R
 *    p50_us=.. p90_us=.. p99_us=.. errors=E hosts=H"
 *
 * Invariants
 *   1. One operation is one zoo_get without a watch, timed from the call to
 *      its return.
 *   2. A get that fails or returns other than DATA_BYTES bytes counts in
 *      errors and not in ops.
 *   3. Bounded: gives up if the session is not connected within 10 s, and
 *      stops after WARMUP_S + DUR_S seconds.  Exit 0 when ops > 0 and
 *      errors = 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* zookeeper.h declares the synchronous calls only for libzookeeper_mt. */
#define THREADED
#include <zookeeper/zookeeper.h>

#include "lathist.h"

#define CONNECT_TIMEOUT_NS 10000000000ull

static struct lathist hist;

static void ignore_event(zhandle_t *zh, int type, int state, const char *path,
			 void *ctx)
{
	(void)zh;
	(void)type;
	(void)state;
	(void)path;
	(void)ctx;
}

static int wait_connected(zhandle_t *zh)
{
	uint64_t give_up = lathist_now_ns() + CONNECT_TIMEOUT_NS;
	const struct timespec tick = {.tv_nsec = 5000000};
	while (zoo_state(zh) != ZOO_CONNECTED_STATE) {
		if (lathist_now_ns() > give_up)
			return -1;
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* Makes path hold data; returns a ZooKeeper error code. */
static int put_data(zhandle_t *zh, const char *path, const char *data, int len)
{
	int rc = zoo_create(zh, path, data, len, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
	if (rc == ZNODEEXISTS)
		rc = zoo_set(zh, path, data, len, -1);
	return rc;
}

struct one {
	zhandle_t *zh;
	const char *path;
	char *buf;
	int want;
};

/* One measured operation: a synchronous get of the expected size. */
static int get_one(void *ctx)
{
	struct one *o = ctx;
	int len = 4096;
	return zoo_get(o->zh, o->path, 0, o->buf, &len, NULL) == ZOK &&
	       len == o->want;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: zkget HOST:PORT PATH DUR_S [WARMUP_S [DATA_BYTES]]\n");
		return 2;
	}
	const char *hosts = argv[1], *path = argv[2];
	double dur = atof(argv[3]);
	double warmup = argc > 4 ? atof(argv[4]) : 1;
	int bytes = argc > 5 ? atoi(argv[5]) : 64;
	char buf[4096];
	if (bytes < 0 || bytes >= (int)sizeof(buf)) {
		fprintf(stderr, "zkget: DATA_BYTES must be below %zu\n", sizeof(buf));
		return 2;
	}

	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	zhandle_t *zh = zookeeper_init(hosts, ignore_event, 30000, NULL, NULL, 0);
	if (!zh || wait_connected(zh) != 0) {
		fprintf(stderr, "zkget: no session with %s within 10 s\n", hosts);
		return 1;
	}
	memset(buf, 'x', (size_t)bytes);
	int rc = put_data(zh, path, buf, bytes);
	if (rc != ZOK) {
		fprintf(stderr, "zkget: writing %s: %s\n", path, zerror(rc));
		zookeeper_close(zh);
		return 1;
	}

	struct one o = {zh, path, buf, bytes};
	struct lathist_run r;
	lathist_loop(&hist, warmup, dur, get_one, &o, &r);
	printf("zkget path=%s bytes=%d warmup_s=%g ", path, bytes, warmup);
	lathist_print(&hist, &r);
	printf(" hosts=%s\n", hosts);
	zookeeper_close(zh);
	return r.ops && !r.errors ? 0 : 1;
}
