/*
 * peer_net.c - one authenticated stream per pair of ensemble nodes
 * (design and invariants in peer_net_i.h).
 *
 * Design
 *   A struct link is one TCP stream in any state (handshake or up); a
 *   struct peer is one configured node, with at most one link up and, on
 *   the dialing side, at most one link being dialed.  Input accumulates
 *   in link->in and is consumed a message at a time: hello, proof, then
 *   frames.  Output is corked: the frames sent to a link during one turn
 *   of the loop are appended to its `out` buffer (length prefix and
 *   bytes), and the buffer is written when the turn ends (a prepare
 *   handle before the loop blocks, a check handle after the I/O
 *   callbacks), so a burst of proposals, commits and acks costs one
 *   write(2) per peer, and the peer reads it in one go.  A frame larger
 *   than CORK_MAX is written alone, after what is corked.  A write goes
 *   to the socket at once (uv_try_write) when nothing waits before it;
 *   only what the socket did not take is handed to libuv, and freed when
 *   libuv has written it.  (A write that completes at once costs libuv
 *   no request, no extra turn of the loop and no epoll_ctl.)
 *
 *   A dialed stream leaves from this node's own server.N address (any
 *   port), so a node's traffic is told apart by address alone: packet
 *   filters that cut one pair of nodes (the fault runner's partitions)
 *   need nothing else.
 *
 *   Handles: the listener, the redial timer and each link's TCP handle.
 *   peer_net_stop closes them all; the struct is freed by the last close
 *   callback (net->handles counts the open ones).
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "peer_net_i.h"
#include "sha1_i.h"

#define NONCE_LEN 16
#define HELLO_LEN (4 + 2 + 4 + NONCE_LEN)
#define PROOF_LEN SHA1_LEN
#define VERSION 1

enum link_state { L_HELLO, L_PROOF, L_UP, L_CLOSING };

struct peer;

struct link {
	uv_tcp_t tcp;
	uv_connect_t connect;
	struct peer_net *net;
	struct peer *peer; /* the acceptor learns it from the hello */
	bool dialer;
	enum link_state state;
	uint8_t my_nonce[NONCE_LEN], their_nonce[NONCE_LEN];
	uint8_t *in;
	size_t in_len, in_cap;
	size_t queued; /* bytes corked or handed to uv_write, not written */
	struct wreq *out; /* corked frames, not yet handed to libuv */
	size_t out_cap;
	struct link *next;
};

struct peer {
	int32_t id;
	struct sockaddr_storage addr;
	bool addr_ok;
	struct link *up;
	struct link *dialing;
	bool complained; /* a failure was logged since the last success */
};

struct peer_net {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t redial;
	uv_prepare_t flush_before_poll;
	uv_check_t flush_after_poll;
	int32_t myid;
	struct sockaddr_storage dial_from; /* own peer address, port 0 */
	char *secret;
	struct peer *peers;
	size_t n_peers;
	struct link *links;
	struct peer_net_events ev;
	int handles;
	bool stopping;
};

struct wreq {
	uv_write_t req;
	struct link *link;
	size_t len;
	uint8_t data[];
};

#define CORK_MIN 4096u
#define CORK_MAX (256u << 10)

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static struct peer *peer_of(struct peer_net *n, int32_t id)
{
	for (size_t i = 0; i < n->n_peers; i++)
		if (n->peers[i].id == id)
			return &n->peers[i];
	return NULL;
}

static void complain(struct peer *p, int32_t id, const char *what)
{
	if (p && p->complained)
		return;
	fprintf(stderr, "zabfs: peer %d: %s\n", (int)id, what);
	if (p)
		p->complained = true;
}

static void handle_closed(struct peer_net *n)
{
	if (--n->handles == 0 && n->stopping) {
		free(n->secret);
		free(n->peers);
		free(n);
	}
}

/* -- links -- */

static void on_link_closed(uv_handle_t *h)
{
	struct link *l = h->data;
	struct peer_net *n = l->net;
	struct link **pp = &n->links;
	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp)
		*pp = l->next;
	free(l->in);
	free(l->out);
	free(l);
	handle_closed(n);
}

static void link_close(struct link *l)
{
	if (l->state == L_CLOSING)
		return;
	struct peer_net *n = l->net;
	bool was_up = l->state == L_UP;
	l->state = L_CLOSING;
	struct peer *p = l->peer;
	if (p && p->dialing == l)
		p->dialing = NULL;
	if (p && p->up == l) {
		p->up = NULL;
		if (was_up && !n->stopping)
			n->ev.on_down(n->ev.ctx, p->id);
	}
	uv_close((uv_handle_t *)&l->tcp, on_link_closed);
}

static struct link *link_new(struct peer_net *n)
{
	struct link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->net = n;
	uv_tcp_init(n->loop, &l->tcp);
	l->tcp.data = l;
	n->handles++;
	l->next = n->links;
	n->links = l;
	return l;
}

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	w->link->queued -= w->len;
	if (status < 0)
		link_close(w->link);
	free(w);
}

/* Writes w, at once as far as the socket takes it (uv_try_write fails
 * while earlier writes wait, so the order holds), the rest through
 * uv_write: 0, or -1 after closing the link. */
static int link_submit(struct link *l, struct wreq *w)
{
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	int n = uv_try_write((uv_stream_t *)&l->tcp, &b, 1);
	if (n == UV_EAGAIN || n == UV_ENOSYS)
		n = 0;
	if (n >= 0 && (size_t)n == w->len) {
		l->queued -= w->len;
		free(w);
		return 0;
	}
	if (n >= 0) {
		b = uv_buf_init((char *)w->data + n, (unsigned)(w->len - (size_t)n));
		if (uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1,
			     on_written) == 0) {
			l->queued -= (size_t)n;
			w->len -= (size_t)n;
			return 0;
		}
	}
	free(w);
	link_close(l);
	return -1;
}

/* The corked frames to libuv: 0, or -1 after closing the link. */
static int link_flush(struct link *l)
{
	struct wreq *w = l->out;
	if (!w)
		return 0;
	l->out = NULL;
	l->out_cap = 0;
	return link_submit(l, w);
}

/* Room for `add` more bytes in l->out: false after closing the link. */
static bool cork_room(struct link *l, size_t add)
{
	size_t used = l->out ? l->out->len : 0;
	if (l->out && used + add > CORK_MAX && link_flush(l) < 0)
		return false;
	used = l->out ? l->out->len : 0;
	if (l->out && used + add <= l->out_cap)
		return true;
	size_t cap = l->out_cap ? 2 * l->out_cap : CORK_MIN;
	while (cap < used + add)
		cap *= 2;
	struct wreq *w = realloc(l->out, sizeof(*w) + cap);
	if (!w) {
		link_close(l);
		return false;
	}
	if (!l->out) {
		w->link = l;
		w->len = 0;
	}
	l->out = w;
	l->out_cap = cap;
	return true;
}

static int link_write(struct link *l, const uint8_t *head, size_t head_len,
		      const uint8_t *p, size_t len)
{
	size_t add = head_len + len;
	if (l->queued + add > PEER_NET_MAX_QUEUE) {
		complain(l->peer, l->peer ? l->peer->id : 0,
			 "not reading: stream closed");
		link_close(l);
		return -1;
	}
	struct wreq *w;
	uint8_t *dst;
	if (add > CORK_MAX) {
		/* alone, after what is corked, so the order holds */
		if (link_flush(l) < 0)
			return -1;
		w = malloc(sizeof(*w) + add);
		if (!w) {
			link_close(l);
			return -1;
		}
		w->link = l;
		w->len = add;
		dst = w->data;
	} else {
		if (!cork_room(l, add))
			return -1;
		w = NULL;
		dst = l->out->data + l->out->len;
		l->out->len += add;
	}
	memcpy(dst, head, head_len);
	if (len)
		memcpy(dst + head_len, p, len);
	l->queued += add;
	return w ? link_submit(l, w) : 0;
}

/* The end of a turn of the loop: every link's corked frames go out. */
static void flush_all(struct peer_net *n)
{
	for (struct link *l = n->links; l; l = l->next)
		if (l->out && l->state != L_CLOSING)
			link_flush(l);
}

static void on_prepare(uv_prepare_t *h)
{
	flush_all(h->data);
}

static void on_check(uv_check_t *h)
{
	flush_all(h->data);
}

static void send_hello(struct link *l)
{
	uint8_t h[HELLO_LEN];
	memcpy(h, "ZBFP", 4);
	h[4] = 0;
	h[5] = VERSION;
	put32(h + 6, (uint32_t)l->net->myid);
	if (getrandom(l->my_nonce, NONCE_LEN, 0) != NONCE_LEN) {
		link_close(l);
		return;
	}
	memcpy(h + 10, l->my_nonce, NONCE_LEN);
	link_write(l, h, sizeof(h), NULL, 0);
}

/* The proof that the sender of a link's hello knows the secret. */
static void proof_of(const struct link *l, int32_t sender,
		     uint8_t out[PROOF_LEN])
{
	const char *secret = l->net->secret ? l->net->secret : "";
	uint8_t msg[10 + 2 * NONCE_LEN + 4];
	memcpy(msg, "zabfs-peer", 10);
	memcpy(msg + 10, l->dialer ? l->my_nonce : l->their_nonce, NONCE_LEN);
	memcpy(msg + 10 + NONCE_LEN, l->dialer ? l->their_nonce : l->my_nonce,
	       NONCE_LEN);
	put32(msg + 10 + 2 * NONCE_LEN, (uint32_t)sender);
	hmac_sha1(secret, strlen(secret), msg, sizeof(msg), out);
}

/* A hello arrived: 0, or -1 after closing the link. */
static int got_hello(struct link *l, const uint8_t *h)
{
	struct peer_net *n = l->net;
	int32_t id = (int32_t)get32(h + 6);
	if (memcmp(h, "ZBFP", 4) != 0 || h[4] != 0 || h[5] != VERSION) {
		complain(NULL, id, "not a zabfs peer (or another version)");
		link_close(l);
		return -1;
	}
	struct peer *p = peer_of(n, id);
	bool ok = p && id != n->myid &&
		  (l->dialer ? p == l->peer : id < n->myid);
	if (!ok) {
		complain(p, id, "unexpected server id: stream closed");
		link_close(l);
		return -1;
	}
	l->peer = p;
	memcpy(l->their_nonce, h + 10, NONCE_LEN);
	uint8_t proof[PROOF_LEN];
	proof_of(l, n->myid, proof);
	l->state = L_PROOF;
	return link_write(l, proof, sizeof(proof), NULL, 0);
}

static int got_proof(struct link *l, const uint8_t *proof)
{
	struct peer_net *n = l->net;
	struct peer *p = l->peer;
	uint8_t want[PROOF_LEN];
	proof_of(l, p->id, want);
	unsigned diff = 0;
	for (size_t i = 0; i < PROOF_LEN; i++)
		diff |= (unsigned)(want[i] ^ proof[i]);
	if (diff) {
		complain(p, p->id, "failed authentication (peerSecret)");
		link_close(l);
		return -1;
	}
	if (p->up)
		link_close(p->up); /* a newer stream replaces it */
	if (p->dialing == l)
		p->dialing = NULL;
	p->up = l;
	p->complained = false;
	l->state = L_UP;
	n->ev.on_up(n->ev.ctx, p->id);
	return 0;
}

/* Consumes what link->in holds; stops at a partial message. */
static void consume(struct link *l)
{
	size_t at = 0;
	while (l->state != L_CLOSING) {
		const uint8_t *p = l->in + at;
		size_t left = l->in_len - at;
		if (l->state == L_HELLO) {
			if (left < HELLO_LEN || got_hello(l, p) != 0)
				break;
			at += HELLO_LEN;
		} else if (l->state == L_PROOF) {
			if (left < PROOF_LEN || got_proof(l, p) != 0)
				break;
			at += PROOF_LEN;
		} else {
			if (left < 4)
				break;
			uint32_t len = get32(p);
			if (len == 0 || len > PEER_NET_MAX_FRAME) {
				complain(l->peer, l->peer->id,
					 "bad frame length: stream closed");
				link_close(l);
				break;
			}
			if (left - 4 < len)
				break;
			l->net->ev.on_frame(l->net->ev.ctx, l->peer->id, p + 4,
					    len);
			at += 4 + (size_t)len;
		}
	}
	if (l->state != L_CLOSING && at > 0) {
		memmove(l->in, l->in + at, l->in_len - at);
		l->in_len -= at;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct link *l = h->data;
	size_t want = hint < 65536 ? 65536 : hint;
	if (l->in_cap - l->in_len < want) {
		size_t cap = l->in_cap ? l->in_cap : 65536;
		while (cap - l->in_len < want)
			cap *= 2;
		uint8_t *b = realloc(l->in, cap);
		if (!b) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		l->in = b;
		l->in_cap = cap;
	}
	*buf = uv_buf_init((char *)l->in + l->in_len,
			   (unsigned)(l->in_cap - l->in_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	struct link *l = s->data;
	if (nread < 0) {
		link_close(l);
		return;
	}
	l->in_len += (size_t)nread;
	consume(l);
}

static void link_start(struct link *l)
{
	uv_tcp_nodelay(&l->tcp, 1);
	l->state = L_HELLO;
	if (uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read) != 0) {
		link_close(l);
		return;
	}
	send_hello(l);
}

/* -- dialing and accepting -- */

/* A dial to a local port nobody listens on can connect the socket to
 * itself (the kernel picked the same port as the source): it would hold
 * the peer's port until the handshake fails.  Such a link is dropped at
 * once. */
static bool self_connected(struct link *l)
{
	struct sockaddr_storage me, them;
	int ml = sizeof(me), tl = sizeof(them);
	return uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&me, &ml) == 0 &&
	       uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&them, &tl) ==
		       0 &&
	       ml == tl && memcmp(&me, &them, (size_t)ml) == 0;
}

static void on_connected(uv_connect_t *req, int status)
{
	struct link *l = req->data;
	if (l->state == L_CLOSING)
		return;
	if (status < 0 || self_connected(l)) {
		link_close(l);
		return;
	}
	link_start(l);
}

static void dial(struct peer_net *n, struct peer *p)
{
	struct link *l = link_new(n);
	if (!l)
		return;
	l->dialer = true;
	l->peer = p;
	l->state = L_HELLO;
	p->dialing = l;
	l->connect.data = l;
	if (uv_tcp_bind(&l->tcp, (const struct sockaddr *)&n->dial_from, 0) !=
		    0 ||
	    uv_tcp_connect(&l->connect, &l->tcp,
			   (const struct sockaddr *)&p->addr,
			   on_connected) != 0)
		link_close(l);
}

static void on_redial(uv_timer_t *t)
{
	struct peer_net *n = t->data;
	for (size_t i = 0; i < n->n_peers; i++) {
		struct peer *p = &n->peers[i];
		if (p->id > n->myid && p->addr_ok && !p->up && !p->dialing)
			dial(n, p);
	}
}

static void on_accept(uv_stream_t *listener, int status)
{
	struct peer_net *n = listener->data;
	if (status < 0)
		return;
	struct link *l = link_new(n);
	if (!l)
		return;
	if (uv_accept(listener, (uv_stream_t *)&l->tcp) != 0) {
		link_close(l);
		return;
	}
	link_start(l);
}

/* -- the interface -- */

static bool resolve(const char *host, uint16_t port,
		    struct sockaddr_storage *out)
{
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", (unsigned)port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return false;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return true;
}

static void on_handle_closed(uv_handle_t *h)
{
	handle_closed(h->data);
}

int peer_net_start(uv_loop_t *loop, const struct peer_net_opts *opts,
		   const struct peer_net_events *ev, struct peer_net **out)
{
	struct peer_net *n = calloc(1, sizeof(*n));
	if (!n)
		return UV_ENOMEM;
	n->loop = loop;
	n->myid = opts->myid;
	n->ev = *ev;
	n->peers = calloc(opts->n_servers ? opts->n_servers : 1,
			  sizeof(*n->peers));
	n->secret = opts->secret ? strdup(opts->secret) : NULL;
	if (!n->peers || (opts->secret && !n->secret)) {
		free(n->peers);
		free(n->secret);
		free(n);
		return UV_ENOMEM;
	}
	struct sockaddr_storage me;
	bool have_me = false;
	for (size_t i = 0; i < opts->n_servers; i++) {
		const struct zabfs_config_server *s = &opts->servers[i];
		if (s->id == opts->myid) {
			have_me = resolve(s->host, s->peer_port, &me);
			continue;
		}
		struct peer *p = &n->peers[n->n_peers++];
		p->id = s->id;
		p->addr_ok = resolve(s->host, s->peer_port, &p->addr);
		if (!p->addr_ok)
			fprintf(stderr, "zabfs: peer %d: cannot resolve %s\n",
				(int)s->id, s->host);
	}
	if (!have_me) {
		fprintf(stderr, "zabfs: peers: no address for myid %d\n",
			(int)opts->myid);
		free(n->peers);
		free(n->secret);
		free(n);
		return UV_EINVAL;
	}
	n->dial_from = me;
	if (me.ss_family == AF_INET)
		((struct sockaddr_in *)&n->dial_from)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&n->dial_from)->sin6_port = 0;
	uv_tcp_init(loop, &n->listener);
	n->listener.data = n;
	uv_timer_init(loop, &n->redial);
	n->redial.data = n;
	uv_prepare_init(loop, &n->flush_before_poll);
	n->flush_before_poll.data = n;
	uv_prepare_start(&n->flush_before_poll, on_prepare);
	uv_check_init(loop, &n->flush_after_poll);
	n->flush_after_poll.data = n;
	uv_check_start(&n->flush_after_poll, on_check);
	n->handles = 4;
	int rc = uv_tcp_bind(&n->listener, (const struct sockaddr *)&me, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&n->listener, 64, on_accept);
	if (rc != 0) {
		fprintf(stderr, "zabfs: peers: cannot listen on the peer port: "
				"%s\n",
			uv_strerror(rc));
		peer_net_stop(n);
		return rc;
	}
	uv_timer_start(&n->redial, on_redial, 0, PEER_NET_REDIAL_MS);
	*out = n;
	return 0;
}

int peer_net_send(struct peer_net *n, int32_t id, const uint8_t *p,
		  size_t len)
{
	struct peer *peer = peer_of(n, id);
	if (!peer || !peer->up || len == 0 || len > PEER_NET_MAX_FRAME)
		return -1;
	uint8_t head[4];
	put32(head, (uint32_t)len);
	return link_write(peer->up, head, sizeof(head), p, len);
}

void peer_net_stop(struct peer_net *n)
{
	n->stopping = true;
	for (struct link *l = n->links; l; l = l->next)
		link_close(l);
	uv_close((uv_handle_t *)&n->redial, on_handle_closed);
	uv_close((uv_handle_t *)&n->listener, on_handle_closed);
	uv_close((uv_handle_t *)&n->flush_before_poll, on_handle_closed);
	uv_close((uv_handle_t *)&n->flush_after_poll, on_handle_closed);
}
