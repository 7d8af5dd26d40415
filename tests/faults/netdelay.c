/*
 * netdelay.c - a userspace stand-in for tc netem's delay, jitter and
 * reordering, for the fault runner (issue #5): this kernel has no netem.
 *
 *   zabfs_netdelay --queue N [--delay MS] [--jitter MS] [--reorder P]
 *                  [--seed S] [--limit PACKETS]
 *
 * Design
 *   iptables rules send the packets to delay to NFQUEUE queue N (the
 *   runner's rules select node address pairs, netfaults.py).  This
 *   process binds queue N (libnetfilter_queue, copy mode NFQNL_COPY_META:
 *   only the packet id is needed, never the payload) and, for each packet,
 *   either issues its verdict at once or holds it until a due time:
 *
 *     due = arrival + delay + uniform[0, jitter]      (all CLOCK_MONOTONIC)
 *
 *   so every held packet waits at least `delay`, and two packets closer
 *   together than the jitter may leave in either order.  With probability
 *   --reorder a packet skips the delay (netem's "reorder"): it overtakes
 *   every packet held.  The verdict is always NF_ACCEPT (nfq_set_verdict,
 *   by packet id, in due order, not arrival order: the kernel takes
 *   verdicts in any order).
 *
 *   Held packets are a binary min-heap of (due, seq) in an array of
 *   --limit entries allocated at start; seq (arrival number) breaks ties,
 *   so packets with the same due time leave in arrival order.  The loop
 *   is: release every packet that is due; ppoll() on the netlink socket
 *   with the nearest due time as the timeout; read at most DRAIN_BATCH
 *   messages; repeat.  SIGTERM and SIGINT are blocked except inside
 *   ppoll(), whose mask unblocks them, so a signal either interrupts the
 *   wait or is taken at the next one: never between a check of `stopping`
 *   and the wait.  On one, every held packet is accepted, the queue
 *   unbound, and the process exits 0.  SIGUSR1, taken the same way,
 *   drops every packet held at that moment (NF_DROP) and goes on: the
 *   runner's way to lose what a node had sent but the network had not yet
 *   delivered, as a cable pulled mid-flight does (TCP retransmits it, if
 *   its sender is still there and the path still open).
 *
 *   The kernel queue never drops: its maximum length is --limit +
 *   QUEUE_HEADROOM (room for a burst not read yet, so that the limit is
 *   ours to apply) and it is fail-open (NFQA_CFG_F_FAIL_OPEN: when the
 *   queue is full, or when the message cannot be put on our socket, the
 *   kernel accepts the packet itself); the socket's receive buffer is
 *   made large (RCVBUF) so that happens rarely.  NFQA_CFG_F_GSO asks for
 *   GSO packets whole (no segmentation: the payload is never looked at).
 *
 *   The process dies with its parent (PR_SET_PDEATHSIG SIGTERM, so the
 *   clean exit above), so a killed runner leaves no process holding its
 *   queue.  The rules the runner adds use --queue-bypass: while no process
 *   is bound to the queue, packets pass undelayed instead of being dropped.
 *
 *   Output: "ready queue N" on stdout once the queue is bound (the runner
 *   waits for it before adding its rules); at exit one line of counts on
 *   stderr.  Exit status 0 after a signal, 1 if the queue cannot be set
 *   up or the socket fails, 2 on bad arguments.
 *
 * Invariants
 *   1. Every packet this process is given gets exactly one verdict:
 *      NF_DROP if it was held when a SIGUSR1 was taken, else NF_ACCEPT,
 *      at the latest when the process exits on a signal (a SIGKILL
 *      leaves held packets to the kernel, which drops them).
 *   2. At most --limit packets are held; one beyond that is accepted at
 *      once (counted as "over").  Memory is fixed after start.
 *   3. A held packet is released no earlier than arrival + delay; with
 *      --jitter 0 and --reorder 0 verdicts follow arrival order.
 *   4. The same --seed gives the same sequence of delays and reorder
 *      choices (per packet, in arrival order).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define RCVBUF (16u << 20)
#define DRAIN_BATCH 256
#define DEFAULT_LIMIT 4096u
#define QUEUE_HEADROOM 65536u
#define NS_PER_MS 1000000.0

struct held {
	uint64_t due_ns;
	uint64_t seq;
	uint32_t id;
};

/* Everything the loop and the packet callback share; main thread only. */
static struct {
	struct nfq_q_handle *qh;
	struct held *heap; /* min-heap on (due_ns, seq), `held` used */
	uint32_t held, limit;
	uint64_t seq;
	uint64_t delay_ns, jitter_ns;
	double reorder;
	uint64_t rng;
	/* counts, printed at exit */
	uint64_t packets, delayed, reordered, over, dropped, verdict_errors,
		lost, most_held;
} nd;

static volatile sig_atomic_t stopping, dropping;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dropping = 1;
	else
		stopping = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, seedable, good enough for delays. */
static uint64_t rng_next(void)
{
	uint64_t z = (nd.rng += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(void)
{
	return (double)(rng_next() >> 11) * 0x1.0p-53;
}

static bool before(const struct held *a, const struct held *b)
{
	return a->due_ns < b->due_ns ||
	       (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_swap(uint32_t i, uint32_t j)
{
	struct held t = nd.heap[i];
	nd.heap[i] = nd.heap[j];
	nd.heap[j] = t;
}

/* Caller checked nd.held < nd.limit. */
static void heap_push(struct held h)
{
	uint32_t i = nd.held++;
	nd.heap[i] = h;
	while (i > 0 && before(&nd.heap[i], &nd.heap[(i - 1) / 2])) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	if (nd.held > nd.most_held)
		nd.most_held = nd.held;
}

/* Removes the root; caller checked nd.held > 0. */
static struct held heap_pop(void)
{
	struct held top = nd.heap[0];
	nd.heap[0] = nd.heap[--nd.held];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < nd.held && before(&nd.heap[l], &nd.heap[m]))
			m = l;
		if (r < nd.held && before(&nd.heap[r], &nd.heap[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return top;
}

static void verdict(uint32_t id, uint32_t what)
{
	if (nfq_set_verdict(nd.qh, id, what, 0, NULL) < 0)
		nd.verdict_errors++;
}

static void accept_packet(uint32_t id)
{
	verdict(id, NF_ACCEPT);
}

/* Drops every held packet (SIGUSR1). */
static void drop_held(void)
{
	while (nd.held > 0) {
		verdict(heap_pop().id, NF_DROP);
		nd.dropped++;
	}
}

/* Accepts every held packet due by `now` (all of them for UINT64_MAX). */
static void release_due(uint64_t now)
{
	while (nd.held > 0 && nd.heap[0].due_ns <= now)
		accept_packet(heap_pop().id);
}

/* libnetfilter_queue's callback: one packet queued to us. */
static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg,
		     struct nfq_data *nfa, void *data)
{
	(void)qh;
	(void)msg;
	(void)data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	if (!ph)
		return 0;
	uint32_t id = ntohl(ph->packet_id);
	nd.packets++;
	/* both draws every time, so the sequence depends only on the seed */
	double skip = rng_unit();
	uint64_t extra = (uint64_t)(rng_unit() * (double)nd.jitter_ns);
	if (skip < nd.reorder) {
		nd.reordered++;
		accept_packet(id);
	} else if (nd.delay_ns + extra == 0) {
		accept_packet(id);
	} else if (nd.held >= nd.limit) {
		nd.over++;
		accept_packet(id);
	} else {
		nd.delayed++;
		uint64_t due = now_ns() + nd.delay_ns + extra;
		heap_push((struct held){
			.due_ns = due, .seq = nd.seq++, .id = id});
	}
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s --queue N [--delay MS] [--jitter MS] [--reorder P]"
		" [--seed S] [--limit PACKETS]\n",
		argv0);
}

/* A non-negative number of milliseconds, in ns; false if not one. */
static bool parse_ms(const char *text, uint64_t *ns)
{
	char *end;
	errno = 0;
	double ms = strtod(text, &end);
	if (errno || end == text || *end || !(ms >= 0.0) || ms > 3.6e6)
		return false;
	*ns = (uint64_t)(ms * NS_PER_MS);
	return true;
}

static bool parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 0);
	if (errno || end == text || *end || text[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, uint16_t *queue)
{
	static const struct option opts[] = {
		{"queue", required_argument, NULL, 'q'},
		{"delay", required_argument, NULL, 'd'},
		{"jitter", required_argument, NULL, 'j'},
		{"reorder", required_argument, NULL, 'r'},
		{"seed", required_argument, NULL, 's'},
		{"limit", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	bool have_queue = false;
	uint64_t v;
	char *end;
	int c;
	nd.limit = DEFAULT_LIMIT;
	nd.rng = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (!parse_u64(optarg, UINT16_MAX, &v))
				return -1;
			*queue = (uint16_t)v;
			have_queue = true;
			break;
		case 'd':
			if (!parse_ms(optarg, &nd.delay_ns))
				return -1;
			break;
		case 'j':
			if (!parse_ms(optarg, &nd.jitter_ns))
				return -1;
			break;
		case 'r':
			errno = 0;
			nd.reorder = strtod(optarg, &end);
			if (errno || end == optarg || *end ||
			    !(nd.reorder >= 0.0 && nd.reorder <= 1.0))
				return -1;
			break;
		case 's':
			if (!parse_u64(optarg, UINT64_MAX, &nd.rng))
				return -1;
			break;
		case 'l':
			if (!parse_u64(optarg, 1u << 24, &v) || v == 0)
				return -1;
			nd.limit = (uint32_t)v;
			break;
		default:
			return -1;
		}
	}
	return have_queue && optind == argc ? 0 : -1;
}

/* Reads at most DRAIN_BATCH messages without blocking; -1 on a socket
 * error other than "nothing more" and "buffer overrun". */
static int drain(struct nfq_handle *h, int fd)
{
	static char buf[65536] __attribute__((aligned));
	for (int i = 0; i < DRAIN_BATCH; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == ENOBUFS) {
			/* messages lost: fail-open accepted their packets */
			nd.lost++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			return 0;
		if (n <= 0)
			return -1;
		nfq_handle_packet(h, buf, (int)n);
	}
	return 0;
}

static int run(struct nfq_handle *h, const sigset_t *wait_mask)
{
	int fd = nfq_fd(h);
	while (!stopping) {
		if (dropping) {
			dropping = 0;
			drop_held();
		}
		uint64_t now = now_ns();
		release_due(now);
		struct timespec ts, *timeout = NULL;
		if (nd.held > 0) {
			uint64_t wait = nd.heap[0].due_ns - now;
			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			timeout = &ts;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = ppoll(&p, 1, timeout, wait_mask);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("netdelay: ppoll");
			return -1;
		}
		if (n > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) &&
		    !(p.revents & POLLIN)) {
			fprintf(stderr, "netdelay: socket error\n");
			return -1;
		}
		if (n > 0 && drain(h, fd) < 0) {
			perror("netdelay: recv");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint16_t queue = 0;
	if (parse_args(argc, argv, &queue) < 0) {
		usage(argv[0]);
		return 2;
	}
	nd.heap = calloc(nd.limit, sizeof(*nd.heap));
	if (!nd.heap) {
		perror("netdelay: calloc");
		return 1;
	}

	/* signals only inside ppoll (header) */
	sigset_t block, wait_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGUSR1);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	pid_t parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && getppid() != parent)
		stopping = 1; /* the parent is already gone */

	int rc = 1;
	struct nfq_handle *h = nfq_open();
	if (!h) {
		perror("netdelay: nfq_open");
		goto out_heap;
	}
	nd.qh = nfq_create_queue(h, queue, on_packet, NULL);
	if (!nd.qh) {
		fprintf(stderr,
			"netdelay: cannot bind queue %u (in use, or not root):"
			" %s\n",
			queue, strerror(errno));
		goto out_close;
	}
	if (nfq_set_mode(nd.qh, NFQNL_COPY_META, 0) < 0) {
		perror("netdelay: nfq_set_mode");
		goto out_queue;
	}
	if (nfq_set_queue_maxlen(nd.qh, nd.limit + QUEUE_HEADROOM) < 0) {
		perror("netdelay: nfq_set_queue_maxlen");
		goto out_queue;
	}
	uint32_t flags = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
	if (nfq_set_queue_flags(nd.qh, flags, flags) < 0) {
		perror("netdelay: nfq_set_queue_flags (fail-open)");
		goto out_queue;
	}
	nfnl_rcvbufsiz(nfq_nfnlh(h), RCVBUF);

	printf("ready queue %u\n", queue);
	fflush(stdout);
	rc = run(h, &wait_mask) < 0 ? 1 : 0;
	release_due(UINT64_MAX); /* invariant 1 */
	fprintf(stderr,
		"netdelay: queue %u: %" PRIu64 " packets, %" PRIu64
		" delayed, %" PRIu64 " reordered, %" PRIu64
		" over the limit, %" PRIu64 " dropped, most held %" PRIu64
		", %" PRIu64 " lost messages, %" PRIu64 " verdict errors\n",
		queue, nd.packets, nd.delayed, nd.reordered, nd.over,
		nd.dropped, nd.most_held, nd.lost, nd.verdict_errors);
out_queue:
	nfq_destroy_queue(nd.qh);
out_close:
	nfq_close(h);
out_heap:
	free(nd.heap);
	return rc;
}
