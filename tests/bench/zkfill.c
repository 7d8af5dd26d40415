/*
 * zkfill.c - fills a ZooKeeper-protocol server with N persistent znodes of
 * a given data size under one parent, pipelined, for the memory and restart
 * benchmarks (the same tool drives zabfs and Apache ZooKeeper).
 *
 *   zkfill HOST PORT COUNT [DATA_BYTES [PARENT]]
 *
 * Creates PARENT (default /fill) if missing, then PARENT/n<i> for i in
 * [0, COUNT), keeping up to 1024 creates in flight.  Existing nodes count as
 * done (NODEEXISTS), so a rerun completes a partial fill.  Prints one line:
 * "zkfill created=N existing=M errors=E secs=S".  Exit 0 when errors = 0.
 * Bounded: gives up after 600 s.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/zkproto.h"

#define WINDOW 1024
#define TIME_LIMIT_S 600

static int fd;
static uint8_t inbuf[1 << 20];
static size_t in_len;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void send_all(const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, 0);
		if (k <= 0) {
			perror("zkfill: send");
			exit(1);
		}
		p += k;
		n -= (size_t)k;
	}
}

/* Reads one frame body into *body (valid until the next call). */
static size_t recv_frame(const uint8_t **body)
{
	static size_t consumed;
	if (consumed) {
		memmove(inbuf, inbuf + consumed, in_len - consumed);
		in_len -= consumed;
		consumed = 0;
	}
	for (;;) {
		if (in_len >= 4) {
			uint32_t len = (uint32_t)inbuf[0] << 24 | (uint32_t)inbuf[1] << 16 |
				       (uint32_t)inbuf[2] << 8 | inbuf[3];
			if (len > sizeof(inbuf) - 4) {
				fprintf(stderr, "zkfill: frame too long\n");
				exit(1);
			}
			if (in_len >= 4 + len) {
				*body = inbuf + 4;
				consumed = 4 + len;
				return len;
			}
		}
		ssize_t k = recv(fd, inbuf + in_len, sizeof(inbuf) - in_len, 0);
		if (k <= 0) {
			fprintf(stderr, "zkfill: connection closed\n");
			exit(1);
		}
		in_len += (size_t)k;
	}
}

static void put_create(struct jute_writer *w, int32_t xid, const char *path,
		       const uint8_t *data, size_t dlen)
{
	static const uint8_t acl[] = {0, 0, 0, 1, 0, 0, 0, 31, 0, 0, 0, 5, 'w',
				      'o', 'r', 'l', 'd', 0, 0, 0, 6, 'a', 'n',
				      'y', 'o', 'n', 'e'};
	struct zk_request req = {.xid = xid, .type = ZK_OP_CREATE};
	req.u.create.path = zk_bytes_of(path, strlen(path));
	req.u.create.data = zk_bytes_of(data, dlen);
	req.u.create.acl.count = 1;
	req.u.create.acl.raw = zk_bytes_of(acl, sizeof(acl));
	size_t start = zk_frame_begin(w);
	zk_request_encode(w, &req);
	zk_frame_end(w, start);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: zkfill HOST PORT COUNT [DATA_BYTES [PARENT]]\n");
		return 2;
	}
	long count = atol(argv[3]);
	size_t dlen = argc > 4 ? (size_t)atol(argv[4]) : 64;
	const char *parent = argc > 5 ? argv[5] : "/fill";
	uint8_t *data = malloc(dlen ? dlen : 1);
	memset(data, 'x', dlen);

	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(argv[2]))};
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("zkfill: connect");
		return 1;
	}
	struct jute_writer w;
	jute_writer_init(&w, 1 << 16);
	uint8_t zero[16] = {0};
	struct zk_connect_request cr = {.timeout_ms = 30000,
					.passwd = zk_bytes_of(zero, 16),
					.has_read_only = true};
	size_t start = zk_frame_begin(&w);
	zk_put_connect_request(&w, &cr);
	zk_frame_end(&w, start);
	send_all(w.buf, w.len);
	const uint8_t *body;
	recv_frame(&body);

	jute_writer_reset(&w);
	put_create(&w, 1, parent, NULL, 0);
	send_all(w.buf, w.len);
	recv_frame(&body);

	long sent = 0, done = 0, created = 0, existing = 0, errors = 0;
	char path[512];
	double t0 = now_s();
	while (done < count) {
		jute_writer_reset(&w);
		while (sent < count && sent - done < WINDOW) {
			snprintf(path, sizeof(path), "%s/n%ld", parent, sent);
			put_create(&w, (int32_t)(sent + 2), path, data, dlen);
			sent++;
		}
		if (w.len)
			send_all(w.buf, w.len);
		size_t n = recv_frame(&body);
		if (n < 16)
			continue;
		int32_t err = (int32_t)((uint32_t)body[12] << 24 | (uint32_t)body[13] << 16 |
					(uint32_t)body[14] << 8 | body[15]);
		if (err == 0)
			created++;
		else if (err == ZK_NODEEXISTS)
			existing++;
		else
			errors++;
		done++;
		if (now_s() - t0 > TIME_LIMIT_S) {
			fprintf(stderr, "zkfill: time limit reached\n");
			break;
		}
	}
	printf("zkfill created=%ld existing=%ld errors=%ld secs=%.2f\n", created,
	       existing, errors, now_s() - t0);
	jute_writer_free(&w);
	free(data);
	close(fd);
	return errors || done < count ? 1 : 0;
}
