/*
 * test_peer_net.c - the streams between ensemble nodes on real loopback
 * TCP: three nodes in one process on one libuv loop come up pairwise,
 * frames arrive whole and in order (1 byte to 1 MiB), a stopped node is
 * seen down and, restarted, up again; a node with the wrong peerSecret,
 * or none, never comes up.
 *
 * Every wait runs the loop until a condition holds or a deadline passes
 * (then the check fails), so nothing here can hang.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "peer_net_i.h"

#define N 3
#define FRAMES 2000

struct node {
	int32_t id;
	struct peer_net *net;
	int up[N + 2];   /* by id: 1 while up */
	int ups[N + 2];  /* on_up count by id */
	int downs[N + 2];
	uint32_t next_seq[N + 2]; /* the next frame expected from id */
	size_t bytes[N + 2];
	int bad; /* frames out of order or damaged */
};

static uv_loop_t loop;
static struct zabfs_config_server servers[N + 1];
static struct node nodes[N + 1]; /* 1..N */

static void on_up(void *ctx, int32_t id)
{
	struct node *n = ctx;
	n->up[id] = 1;
	n->ups[id]++;
}

static void on_down(void *ctx, int32_t id)
{
	struct node *n = ctx;
	n->up[id] = 0;
	n->downs[id]++;
}

/* A frame: u32 sequence, then (len - 4) bytes of (seq + i) & 0xff. */
static void on_frame(void *ctx, int32_t id, const uint8_t *p, size_t len)
{
	struct node *n = ctx;
	uint32_t seq = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	if (seq != n->next_seq[id])
		n->bad++;
	for (size_t i = 4; i < len; i++)
		if (p[i] != (uint8_t)(seq + i))
			n->bad++;
	n->next_seq[id] = seq + 1;
	n->bytes[id] += len;
}

static int send_frame(struct node *from, int32_t to, uint32_t seq,
		      size_t len)
{
	uint8_t *p = malloc(len);
	p[0] = (uint8_t)(seq >> 24);
	p[1] = (uint8_t)(seq >> 16);
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	for (size_t i = 4; i < len; i++)
		p[i] = (uint8_t)(seq + i);
	int rc = peer_net_send(from->net, to, p, len);
	free(p);
	return rc;
}

static uint16_t free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &al);
	close(s);
	return ntohs(a.sin_port);
}

static int start(int32_t id, int32_t as_id, const char *secret)
{
	struct node *n = &nodes[id];
	memset(n, 0, sizeof(*n));
	n->id = id;
	struct peer_net_opts o = {as_id, servers + 1, N, secret};
	struct peer_net_events ev = {on_up, on_down, on_frame, n};
	return peer_net_start(&loop, &o, &ev, &n->net);
}

static void stop(int32_t id)
{
	peer_net_stop(nodes[id].net);
	nodes[id].net = NULL;
}

static int deadline_hit;
static void on_deadline(uv_timer_t *t)
{
	(void)t;
	deadline_hit = 1;
}

/* Runs the loop until cond() or ms pass; returns cond(). */
static int run_until(int (*cond)(void), int ms)
{
	uv_timer_t t;
	uv_timer_init(&loop, &t);
	deadline_hit = 0;
	uv_timer_start(&t, on_deadline, (uint64_t)ms, 0);
	while (!cond() && !deadline_hit)
		uv_run(&loop, UV_RUN_ONCE);
	uv_timer_stop(&t);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return cond();
}

static int all_up(void)
{
	for (int i = 1; i <= N; i++)
		for (int j = 1; j <= N; j++)
			if (i != j && (!nodes[i].net || !nodes[i].up[j]))
				return 0;
	return 1;
}

static size_t sent_to_2;
static int all_delivered(void)
{
	return nodes[2].bytes[1] + nodes[2].bytes[3] == sent_to_2;
}

static int three_down(void)
{
	return !nodes[1].up[3] && !nodes[2].up[3];
}

static void test_up_and_frames(void)
{
	for (int32_t id = 1; id <= N; id++)
		CHECK_EQ_INT(start(id, id, "s3cret"), 0);
	CHECK(run_until(all_up, 5000));
	/* 1 -> 2 and 3 -> 2 interleaved, sizes 4 B .. ~1 MiB */
	for (uint32_t s = 0; s < FRAMES; s++) {
		size_t len = 4 + (s * 7919u) % 3000u;
		if (s % 500 == 0)
			len = 1u << 20;
		CHECK_EQ_INT(send_frame(&nodes[1], 2, s, len), 0);
		CHECK_EQ_INT(send_frame(&nodes[3], 2, s, len), 0);
		sent_to_2 += 2 * len;
	}
	CHECK(run_until(all_delivered, 10000));
	CHECK_EQ_INT(nodes[2].bad, 0);
	CHECK_EQ_INT((int)nodes[2].next_seq[1], FRAMES);
	CHECK_EQ_INT((int)nodes[2].next_seq[3], FRAMES);
	/* to a node that is not up, or not configured: refused */
	CHECK_EQ_INT(send_frame(&nodes[1], 9, 0, 8), -1);
}

static void test_restart(void)
{
	stop(3);
	CHECK(run_until(three_down, 5000));
	CHECK_EQ_INT(nodes[1].downs[3], 1);
	CHECK_EQ_INT(send_frame(&nodes[1], 3, 0, 8), -1);
	CHECK_EQ_INT(start(3, 3, "s3cret"), 0);
	CHECK(run_until(all_up, 5000));
	CHECK_EQ_INT(nodes[1].ups[3], 2);
	CHECK_EQ_INT(nodes[2].ups[3], 2);
}

static int never(void)
{
	return 0;
}

static void test_wrong_secret_and_id(void)
{
	stop(3);
	CHECK(run_until(three_down, 5000));
	CHECK_EQ_INT(start(3, 3, "guess"), 0);
	run_until(never, 1500);
	CHECK(!nodes[1].up[3] && !nodes[2].up[3]);
	CHECK(!nodes[3].up[1] && !nodes[3].up[2]);
	stop(3);
	/* a node without a secret cannot join nodes that have one */
	CHECK_EQ_INT(start(3, 3, NULL), 0);
	run_until(never, 1000);
	CHECK(!nodes[1].up[3] && !nodes[2].up[3]);
	stop(3);
	/* and with the right one it joins again */
	CHECK_EQ_INT(start(3, 3, "s3cret"), 0);
	CHECK(run_until(all_up, 5000));
}

int main(void)
{
	uv_loop_init(&loop);
	for (int32_t id = 1; id <= N; id++) {
		servers[id].id = id;
		servers[id].host = "127.0.0.1";
		servers[id].peer_port = free_port();
	}
	RUN_TEST(test_up_and_frames);
	RUN_TEST(test_restart);
	RUN_TEST(test_wrong_secret_and_id);
	for (int32_t id = 1; id <= N; id++)
		if (nodes[id].net)
			stop(id);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_EQ_INT(uv_loop_close(&loop), 0);
	return check_report();
}
