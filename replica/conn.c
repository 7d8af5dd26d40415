/*
 * conn.c - the client port: connections, framing, the handshake, four-letter
 * words, and the per-connection order of replies.
 *
 * Design
 *   Input accumulates in conn->in; every complete frame is handled in place
 *   (the decoded request is a view into it) and consumed.  A frame whose
 *   length is negative or over jute.maxbuffer closes the connection, as
 *   ZooKeeper's "Len error" does.
 *
 *   State machine (conn->state):
 *     CONN_HANDSHAKE    --ConnectRequest, new session-->  CONN_WAIT_SESSION
 *                       (handle_connect; createSession is proposed)
 *     CONN_HANDSHAKE    --ConnectRequest, known session-> CONN_ACTIVE
 *     CONN_HANDSHAKE    --four-letter word-->             CONN_CLOSING
 *     CONN_WAIT_SESSION --createSession applied-->        CONN_ACTIVE
 *                       (conn_session_ready; held frames are handled then)
 *     any               --error, EOF, close_after reply--> CONN_CLOSING
 *   While CONN_WAIT_SESSION, frames stay unread in conn->in, as ZooKeeper
 *   does not read past the handshake before the session exists.
 *
 *   Reply order (server_i.h invariant 1): a request that can run at once (no
 *   earlier request unanswered) runs without a queue entry and its reply goes
 *   straight to the output.  Otherwise it gets a struct creq at the tail of
 *   conn's queue: a write is prepped at once unless a read waits before it
 *   (writes are ordered by zxid anyway), a read waits.  conn_pump() sends
 *   replies from the head as they become ready and runs the waiting requests
 *   whose turn has come.
 *
 *   Output is gathered in conn->out during a loop iteration and written
 *   once per iteration by the check handle (conn_flush_all), so a
 *   pipelined client gets many replies per write system call: at once
 *   (uv_try_write) as far as the socket takes it, the rest through one
 *   uv_write, during which further output waits in conn->out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_i.h"
#include "fourlw_i.h"
#include "zabfs/err.h"
#include "zabfs/tree.h"

#define CONN_READ_CHUNK 65536
/* A client that stops reading is cut off when this much output waits. */
#define CONN_MAX_PENDING_OUTPUT (64u << 20)
/* Requests queued on one connection before it is read no more. */
#define CONN_MAX_QUEUED 10000

static void on_close(uv_handle_t *h);
static void handle_input(struct conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
void conn_free(struct conn *c);
static void mark_dirty(struct conn *c);

/* True once conn_close has run: nothing more goes out. */
static bool is_closed(struct conn *c)
{
	return c->is_local ? c->local_closed
			   : uv_is_closing((uv_handle_t *)&c->tcp);
}

/* Stops reading; the connection closes once its output is written. */
static void close_after_flush(struct conn *c)
{
	c->state = CONN_CLOSING;
	if (!c->is_local)
		uv_read_stop((uv_stream_t *)&c->tcp);
	mark_dirty(c);
}

bool conn_is_write_op(int32_t type)
{
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
	case ZK_OP_CREATE_TTL:
	case ZK_OP_DELETE:
	case ZK_OP_SET_DATA:
	case ZK_OP_SET_ACL:
	case ZK_OP_MULTI:
	case ZK_OP_CLOSE_SESSION:
	case ZK_OP_SYNC:
	case ZK_OP_RECONFIG:
		return true;
	default:
		return false;
	}
}

static void mark_dirty(struct conn *c)
{
	if (c->dirty || is_closed(c))
		return;
	c->dirty = true;
	c->dirty_next = c->srv->dirty;
	c->srv->dirty = c;
}

void conn_send_frame(struct conn *c, const struct jute_writer *frame)
{
	if (is_closed(c))
		return;
	jute_put_raw(&c->out, frame->buf, frame->len);
	c->packets_out++;
	c->srv->stats.packets_sent++;
	mark_dirty(c);
}

void conn_output_added(struct conn *c, bool close_after)
{
	c->packets_out++;
	c->srv->stats.packets_sent++;
	mark_dirty(c);
	if (close_after)
		close_after_flush(c);
}

struct creq *conn_creq_new(struct conn *c, int32_t xid, int32_t type)
{
	struct creq *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->xid = xid;
	q->type = type;
	q->start_ns = server_now_ns();
	jute_writer_init(&q->reply, 0);
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	c->n_queued++;
	return q;
}

static void creq_free(struct creq *q)
{
	jute_writer_free(&q->reply);
	free(q->frame);
	free(q);
}

static void record_latency(struct conn *c, uint64_t start_ns)
{
	uint64_t ns = server_now_ns() - start_ns;
	struct server_stats *st = &c->srv->stats;
	c->last_latency_ns = ns;
	if (!c->n_latency || ns < c->min_latency_ns)
		c->min_latency_ns = ns;
	if (ns > c->max_latency_ns)
		c->max_latency_ns = ns;
	c->sum_latency_ns += ns;
	c->n_latency++;
	if (!st->n_latency || ns < st->min_latency_ns)
		st->min_latency_ns = ns;
	if (ns > st->max_latency_ns)
		st->max_latency_ns = ns;
	st->sum_latency_ns += ns;
	st->n_latency++;
}

/* Runs a queued request whose turn has come. */
static void run_waiting(struct conn *c, struct creq *q)
{
	uint8_t *frame = q->frame;
	size_t len = q->frame_len;
	q->frame = NULL;
	dispatch_request(c, frame, len, q);
	free(frame);
}

void conn_pump(struct conn *c)
{
	while (c->head && c->state != CONN_CLOSING) {
		struct creq *q = c->head;
		if (q->state == CREQ_WAITING) {
			run_waiting(c, q);
			continue;
		}
		if (q->state == CREQ_IN_FLIGHT) {
			/* Writes queued behind a waiting read may run once
			 * the read has; nothing else to do until q is done. */
			break;
		}
		jute_put_raw(&c->out, q->reply.buf, q->reply.len);
		if (q->reply.len) {
			c->packets_out++;
			c->srv->stats.packets_sent++;
		}
		record_latency(c, q->start_ns);
		mark_dirty(c);
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		c->n_queued--;
		bool close_after = q->close_after;
		creq_free(q);
		if (close_after) {
			close_after_flush(c);
			break;
		}
	}
	if (c->state == CONN_ACTIVE && !c->head) {
		if (c->throttled) {
			c->throttled = false;
			uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
		}
		handle_input(c); /* frames may have been held back */
	}
}

void conn_reply_done(struct conn *c, struct creq *q)
{
	q->state = CREQ_DONE;
	if (q == c->head)
		conn_pump(c);
}

/* ------------------------------------------------------------ frames in */

void conn_handle_frame(struct conn *c, const uint8_t *frame, size_t len)
{
	c->packets_in++;
	c->srv->stats.packets_received++;
	if (c->session)
		session_touch(c->session, server_now_ms());
	if (len < 8) {
		conn_close(c);
		return;
	}
	int32_t xid = (int32_t)((uint32_t)frame[0] << 24 |
				(uint32_t)frame[1] << 16 |
				(uint32_t)frame[2] << 8 | frame[3]);
	int32_t type = (int32_t)((uint32_t)frame[4] << 24 |
				 (uint32_t)frame[5] << 16 |
				 (uint32_t)frame[6] << 8 | frame[7]);
	if (!c->head) {
		struct creq *q = NULL;
		if (conn_is_write_op(type) && !(q = conn_creq_new(c, xid, type))) {
			conn_close(c);
			return;
		}
		uint64_t start = server_now_ns();
		dispatch_request(c, frame, len, q);
		if (!q)
			record_latency(c, start);
		return;
	}
	bool run_now = conn_is_write_op(type);
	for (struct creq *p = c->head; run_now && p; p = p->next)
		if (p->state == CREQ_WAITING)
			run_now = false;
	struct creq *q = conn_creq_new(c, xid, type);
	if (!q) {
		conn_close(c);
		return;
	}
	if (run_now) {
		dispatch_request(c, frame, len, q);
		return;
	}
	q->state = CREQ_WAITING;
	q->frame = malloc(len);
	if (!q->frame) {
		conn_close(c);
		return;
	}
	memcpy(q->frame, frame, len);
	q->frame_len = len;
}

static void send_connect_response(struct conn *c, int32_t timeout_ms,
				  int64_t session_id, const uint8_t *passwd)
{
	struct zk_connect_response resp = {
		.protocol_version = 0,
		.timeout_ms = timeout_ms,
		.session_id = session_id,
		.read_only = false,
		.has_read_only = !c->old_client,
	};
	if (passwd)
		memcpy(resp.passwd, passwd, ZK_PASSWD_LEN);
	size_t start = zk_frame_begin(&c->out);
	zk_put_connect_response(&c->out, &resp);
	zk_frame_end(&c->out, start);
	c->packets_out++;
	c->srv->stats.packets_sent++;
	mark_dirty(c);
}

/* Answers "session expired" the way ZooKeeper does, then closes. */
static void refuse_session(struct conn *c)
{
	send_connect_response(c, 0, 0, NULL);
	close_after_flush(c);
}

static void handle_connect(struct conn *c, const uint8_t *frame, size_t len)
{
	struct server *srv = c->srv;
	const struct zabfs_config *cfg = srv->cfg;
	struct zk_connect_request req;
	c->packets_in++;
	srv->stats.packets_received++;
	if (zk_connect_request_decode(frame, len, cfg->jute_maxbuffer, &req)) {
		conn_close(c);
		return;
	}
	c->old_client = !req.has_read_only;
	if (!srv->serving) {
		conn_close(c); /* no leader: the client tries another node */
		return;
	}
	if (req.last_zxid_seen > srv->last_applied) {
		fprintf(stderr,
			"zabfs: refusing session from %s: client has seen zxid "
			"0x%llx, this node is at 0x%llx\n",
			c->peer, (unsigned long long)req.last_zxid_seen,
			(unsigned long long)srv->last_applied);
		conn_close(c);
		return;
	}
	int32_t timeout = conn_session_timeout(cfg, req.timeout_ms);

	if (req.session_id == 0) {
		struct session *s =
			sessions_create(&srv->sessions, timeout, server_now_ms());
		if (!s) {
			conn_close(c);
			return;
		}
		c->session = s;
		s->conn = c;
		c->state = CONN_WAIT_SESSION;
		if (prep_create_session(srv, c, s) != 0)
			conn_close(c);
		return;
	}
	struct session *s = sessions_find(&srv->sessions, req.session_id);
	if (!s || !s->committed || s->closing ||
	    req.passwd.len != ZK_PASSWD_LEN ||
	    memcmp(req.passwd.p, s->passwd, ZK_PASSWD_LEN) != 0) {
		refuse_session(c);
		return;
	}
	if (s->conn && s->conn != c) {
		struct conn *old = s->conn;
		old->session = NULL;
		conn_close(old);
	}
	s->conn = c;
	c->session = s;
	session_touch(s, server_now_ms());
	c->state = CONN_ACTIVE;
	send_connect_response(c, s->timeout_ms, s->id, s->passwd);
}

void conn_session_ready(struct conn *c, int err)
{
	if (c->state != CONN_WAIT_SESSION)
		return;
	struct session *s = c->session;
	if (err || !s) {
		refuse_session(c);
		return;
	}
	c->state = CONN_ACTIVE;
	send_connect_response(c, s->timeout_ms, s->id, s->passwd);
	handle_input(c);
}

static void handle_four_letter_word(struct conn *c, const char *cmd)
{
	struct jute_writer *out = &c->out;
	if (config_4lw_allowed(c->srv->cfg, cmd))
		fourlw_run(c->srv, cmd, out);
	else {
		const char *tail =
			" is not executed because it is not in the whitelist.\n";
		jute_put_raw(out, cmd, strlen(cmd));
		jute_put_raw(out, tail, strlen(tail));
	}
	close_after_flush(c);
}

static uint32_t load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Handles every complete frame in c->in, then compacts it. */
static void handle_input(struct conn *c)
{
	if (c->in_input)
		return; /* a reply sent from inside a frame's handling */
	c->in_input = true;
	size_t pos = 0;
	int32_t max = c->srv->cfg->jute_maxbuffer;
	while (c->state == CONN_HANDSHAKE || c->state == CONN_ACTIVE) {
		if (c->state == CONN_ACTIVE && c->n_queued > CONN_MAX_QUEUED) {
			/* A client pipelining faster than we answer: stop
			 * reading until its queue drains (conn_pump). */
			if (!c->throttled && !c->is_local) {
				c->throttled = true;
				uv_read_stop((uv_stream_t *)&c->tcp);
			}
			break;
		}
		if (c->in_len - pos < 4)
			break;
		int32_t flen = (int32_t)load_u32(c->in + pos);
		if (c->state == CONN_HANDSHAKE) {
			const char *cmd = zk_4lw_name(flen);
			if (cmd) {
				handle_four_letter_word(c, cmd);
				break;
			}
		}
		if (flen < 0 || flen > max) {
			fprintf(stderr,
				"zabfs: closing %s: frame length %d is not in "
				"[0, %d] (jute.maxbuffer)\n",
				c->peer, flen, max);
			conn_close(c);
			break;
		}
		if (c->in_len - pos < 4 + (size_t)flen)
			break;
		const uint8_t *frame = c->in + pos + 4;
		pos += 4 + (size_t)flen;
		if (c->state == CONN_HANDSHAKE)
			handle_connect(c, frame, (size_t)flen);
		else
			conn_handle_frame(c, frame, (size_t)flen);
	}
	if (pos) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	c->in_input = false;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)suggested;
	size_t want = CONN_READ_CHUNK;
	if (c->in_len >= 4) {
		int32_t flen = (int32_t)load_u32(c->in);
		if (flen > 0 && (size_t)flen + 4 > c->in_len &&
		    flen <= c->srv->cfg->jute_maxbuffer)
			want = (size_t)flen + 4 - c->in_len;
		if (want < CONN_READ_CHUNK)
			want = CONN_READ_CHUNK;
	}
	if (c->in_cap - c->in_len < want) {
		size_t cap = c->in_len + want;
		uint8_t *in = realloc(c->in, cap);
		if (!in) {
			buf->base = NULL;
			buf->len = 0;
			return;
		}
		c->in = in;
		c->in_cap = cap;
	}
	buf->base = (char *)c->in + c->in_len;
	buf->len = c->in_cap - c->in_len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	(void)buf;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->in_len += (size_t)nread;
	handle_input(c);
}

/* ------------------------------------------------------------ frames out */

static void on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	c->write_in_flight = false;
	jute_writer_reset(&c->sending);
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->out.len)
		mark_dirty(c);
	else if (c->state == CONN_CLOSING)
		conn_close(c);
}

static void flush_one(struct conn *c)
{
	if (c->write_in_flight)
		return;
	if (c->is_local && c->out.len) {
		if (c->remote_peer)
			forward_deliver(c);
		else
			local_deliver(c);
		jute_writer_reset(&c->out);
	}
	if (!c->out.len) {
		if (c->state == CONN_CLOSING)
			conn_close(c);
		return;
	}
	if (!jute_writer_ok(&c->out) || c->out.len > CONN_MAX_PENDING_OUTPUT) {
		conn_close(c);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)c->out.buf, (unsigned int)c->out.len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n == UV_EAGAIN || n == UV_ENOSYS)
		n = 0;
	if (n < 0) {
		conn_close(c);
		return;
	}
	if ((size_t)n == c->out.len) {
		jute_writer_reset(&c->out);
		if (c->state == CONN_CLOSING)
			conn_close(c);
		return;
	}
	struct jute_writer tmp = c->sending;
	c->sending = c->out;
	c->out = tmp;
	jute_writer_reset(&c->out);
	b = uv_buf_init((char *)c->sending.buf + n,
			(unsigned int)(c->sending.len - (size_t)n));
	c->write_req.data = c;
	c->write_in_flight = true;
	if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_write)) {
		c->write_in_flight = false;
		conn_close(c);
	}
}

void conn_flush_all(struct server *srv)
{
	while (srv->dirty) {
		struct conn *c = srv->dirty;
		srv->dirty = c->dirty_next;
		c->dirty = false;
		c->dirty_next = NULL;
		flush_one(c);
	}
	while (srv->graveyard) {
		struct conn *c = srv->graveyard;
		srv->graveyard = c->next;
		conn_free(c);
	}
}

/* ------------------------------------------------------------ lifecycle */

static bool is_listed(const struct server *srv, const struct conn *c)
{
	return c->prev || srv->conns == c;
}

void conn_close(struct conn *c)
{
	struct server *srv = c->srv;
	if (is_closed(c))
		return;
	c->state = CONN_CLOSING;
	if (c->dirty) {
		for (struct conn **pp = &srv->dirty; *pp; pp = &(*pp)->dirty_next)
			if (*pp == c) {
				*pp = c->dirty_next;
				break;
			}
		c->dirty = false;
	}
	if (is_listed(srv, c)) {
		if (c->prev)
			c->prev->next = c->next;
		else
			srv->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		c->prev = c->next = NULL;
		srv->n_conns--;
	}
	if (c->session && c->session->conn == c)
		c->session->conn = NULL;
	c->session = NULL;
	watches_drop_conn(&srv->watches, c);
	for (struct proposal *p = srv->inflight_head; p; p = p->next)
		if (p->conn == c) {
			p->conn = NULL;
			p->creq = NULL;
		}
	while (c->head) {
		struct creq *q = c->head;
		c->head = q->next;
		creq_free(q);
	}
	c->tail = NULL;
	if (c->is_local) {
		/* No handle to close: freed once the loop is out of it. */
		c->local_closed = true;
		local_conn_closed(c);
		c->next = srv->graveyard;
		srv->graveyard = c;
		return;
	}
	uv_close((uv_handle_t *)&c->tcp, on_close);
}

void conn_free(struct conn *c)
{
	jute_writer_free(&c->out);
	jute_writer_free(&c->sending);
	auth_ids_free(&c->ids);
	free(c->in);
	free(c);
}

static void on_close(uv_handle_t *h)
{
	conn_free(h->data);
}

static size_t conns_from(const struct server *srv, const char *ip)
{
	size_t n = 0;
	for (const struct conn *c = srv->conns; c; c = c->next)
		if (strcmp(c->peer_ip, ip) == 0)
			n++;
	return n;
}

struct conn *conn_new(struct server *srv)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = srv;
	c->id = ++srv->next_conn_id;
	c->state = CONN_HANDSHAKE;
	c->connected_ms = server_now_ms();
	jute_writer_init(&c->out, 0);
	jute_writer_init(&c->sending, 0);
	return c;
}

void conn_link(struct conn *c)
{
	struct server *srv = c->srv;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
}

int32_t conn_session_timeout(const struct zabfs_config *cfg, int32_t asked)
{
	if (asked < cfg->min_session_timeout_ms)
		return cfg->min_session_timeout_ms;
	if (asked > cfg->max_session_timeout_ms)
		return cfg->max_session_timeout_ms;
	return asked;
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct server *srv = listener->data;
	if (status < 0)
		return;
	struct conn *c = conn_new(srv);
	if (!c)
		return;
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp)) {
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	char host[48] = "?";
	int port = 0;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(a, host, sizeof(host));
			port = ntohs(a->sin6_port);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			uv_ip4_name(a, host, sizeof(host));
			port = ntohs(a->sin_port);
		}
	}
	snprintf(c->peer_ip, sizeof(c->peer_ip), "%s", host);
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	if (srv->cfg->max_client_cnxns > 0 &&
	    conns_from(srv, c->peer_ip) >= (size_t)srv->cfg->max_client_cnxns) {
		fprintf(stderr,
			"zabfs: too many connections from %s - max is %d\n",
			c->peer_ip, srv->cfg->max_client_cnxns);
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	if (auth_ids_init(&c->ids, c->peer_ip) != 0) {
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	conn_link(c);
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int conn_listen(struct server *srv)
{
	const struct zabfs_config *cfg = srv->cfg;
	struct sockaddr_storage addr;
	int rc = uv_ip4_addr(cfg->client_addr, cfg->client_port,
			     (struct sockaddr_in *)&addr);
	if (rc)
		rc = uv_ip6_addr(cfg->client_addr, cfg->client_port,
				 (struct sockaddr_in6 *)&addr);
	if (rc) {
		fprintf(stderr, "zabfs: clientPortAddress '%s' is not an address\n",
			cfg->client_addr);
		return ZK_CONFIG;
	}
	rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
	if (!rc)
		rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
	if (rc) {
		fprintf(stderr, "zabfs: cannot listen on %s:%u: %s\n",
			cfg->client_addr, cfg->client_port, uv_strerror(rc));
		return ZK_IO;
	}
	return 0;
}
