/*
 * test_local.c - the in-process door of replica.h, end to end: a real node
 * (zabfs_server_run on a temporary dataDir, client port on loopback) with a
 * test frontend whose thread opens local sessions, makes calls through the
 * request path, and checks what comes back and what the change feed saw;
 * then it stops the node with SIGTERM and the node is restarted to check
 * that what was acknowledged is on disk.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/server.h"
#include "zabfs/zkproto.h"

static atomic_int feed_events;
static pthread_t driver;
static int phase;

static const uint8_t world_all[] = {0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5, 'w',
				    'o', 'r', 'l', 'd', 0, 0, 0, 6, 'a', 'n',
				    'y', 'o', 'n', 'e'};

/* Sends one request; returns the reply's err (or the call's error). */
static int call(struct zabfs_local *l, struct zk_request *req,
		struct jute_writer *reply)
{
	struct jute_writer w;
	jute_writer_init(&w, 256);
	zk_request_encode(&w, req);
	int rc = zabfs_local_call(l, NULL, w.buf, w.len, reply);
	jute_writer_free(&w);
	if (rc)
		return rc;
	struct jute_reader r;
	jute_reader_init(&r, reply->buf, reply->len);
	jute_get_int(&r);
	jute_get_long(&r);
	return jute_get_int(&r);
}

static int create(struct zabfs_local *l, const char *path, const char *data,
		  int32_t flags, struct jute_writer *reply)
{
	struct zk_request req = {.type = ZK_OP_CREATE};
	req.u.create.path = zk_bytes_of(path, strlen(path));
	req.u.create.data = zk_bytes_of(data, strlen(data));
	req.u.create.acl.count = 1;
	req.u.create.acl.raw = zk_bytes_of(world_all, sizeof(world_all));
	req.u.create.flags = flags;
	return call(l, &req, reply);
}

static int get_data(struct zabfs_local *l, const char *path,
		    struct jute_writer *reply)
{
	struct zk_request req = {.type = ZK_OP_GET_DATA};
	req.u.path_watch.path = zk_bytes_of(path, strlen(path));
	return call(l, &req, reply);
}

static void on_feed(void *ctx, const struct tree_event *ev)
{
	(void)ctx;
	(void)ev;
	atomic_fetch_add(&feed_events, 1);
}

static void *drive(void *arg)
{
	struct zabfs_replica *r = arg;
	struct zabfs_local *a, *b;
	struct jute_writer reply;
	jute_writer_init(&reply, 0);
	CHECK_EQ_INT(zabfs_local_open(r, 4000, &a), 0);
	CHECK_EQ_INT(zabfs_local_open(r, 4000, &b), 0);
	CHECK(zabfs_local_session_id(a) != zabfs_local_session_id(b));
	if (phase == 0) {
		CHECK_EQ_INT(create(a, "/app", "v1", 0, &reply), 0);
		CHECK_EQ_INT(create(a, "/app", "v1", 0, &reply), ZK_NODEEXISTS);
		CHECK_EQ_INT(create(b, "/app/eph", "e", ZK_MODE_EPHEMERAL, &reply), 0);
		CHECK_EQ_INT(get_data(a, "/app/eph", &reply), 0);
		/* Closing b removes its ephemeral, seen through a. */
		zabfs_local_close(b);
		CHECK_EQ_INT(get_data(a, "/app/eph", &reply), ZK_NONODE);
		CHECK_EQ_INT(get_data(a, "/app", &reply), 0);
		/* GetDataResponse: header (16) + buffer "v1" + stat. */
		CHECK(reply.len == 16 + 4 + 2 + 68 &&
		      memcmp(reply.buf + 20, "v1", 2) == 0);
		CHECK(atomic_load(&feed_events) >= 4);
	} else {
		/* After a restart: acknowledged writes are there, the
		 * ephemeral of the closed session is not. */
		CHECK_EQ_INT(get_data(a, "/app", &reply), 0);
		CHECK_EQ_INT(get_data(a, "/app/eph", &reply), ZK_NONODE);
		zabfs_local_close(b);
	}
	zabfs_local_close(a);
	jute_writer_free(&reply);
	kill(getpid(), SIGTERM);
	return NULL;
}

static int start(struct zabfs_replica *r, void **state)
{
	struct tree_listener feed = {on_feed, NULL};
	zabfs_replica_set_feed(r, &feed);
	*state = NULL;
	return pthread_create(&driver, NULL, drive, r) ? ZK_NOMEM : 0;
}

static void stop(void *state)
{
	(void)state;
	pthread_join(driver, NULL);
}

static const struct zabfs_frontend frontend = {start, stop};

static void run_node(const char *dir)
{
	char path[512], err[256];
	snprintf(path, sizeof(path), "%s/zoo.cfg", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	/* No clientPort: the local door only. */
	fprintf(f, "tickTime=200\ndataDir=%s/data\n", dir);
	fclose(f);
	struct zabfs_config cfg;
	int rc = config_load(path, &cfg, err, sizeof(err));
	CHECK_EQ_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ_INT(zabfs_server_run(&cfg, &frontend), 0);
	config_free(&cfg);
}

static void test_local_sessions(void)
{
	char dir[] = "/tmp/zabfs-test-local-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	phase = 0;
	run_node(dir);
	phase = 1;
	run_node(dir);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ_INT(system(cmd), 0);
}

int main(void)
{
	RUN_TEST(test_local_sessions);
	return check_report();
}
