/*
 * test_zkproto.c - ZooKeeper's client protocol: every request record round
 * trips and refuses every truncation, trailing bytes and bad lengths;
 * byte layouts built by hand for the records clients are strict about
 * (ConnectResponse, Stat, multi replies); the list iterators; the
 * four-letter words; a seeded random round trip (--seed N).
 */
#include "check.h"
#include "zabfs/err.h"
#include "zabfs/zkproto.h"

#define MAXBUF ZK_DEFAULT_MAXBUFFER

/* Writers that hold encoded lists for the duration of one test. */
static struct jute_writer pool[64];
static int pool_n;

static struct jute_writer *pool_writer(void)
{
	if (pool_n == (int)(sizeof(pool) / sizeof(pool[0])))
		abort();
	struct jute_writer *w = &pool[pool_n++];
	jute_writer_init(w, 0);
	return w;
}

static void pool_free(void)
{
	while (pool_n > 0)
		jute_writer_free(&pool[--pool_n]);
}

static struct zk_bytes str(const char *s)
{
	return zk_bytes_of(s, strlen(s));
}

static const struct zk_bytes null_bytes = {NULL, -1};

static bool bytes_eq(struct zk_bytes a, const char *s)
{
	if (!s)
		return a.len == -1;
	return a.len == (int32_t)strlen(s) && memcmp(a.p, s, (size_t)a.len) == 0;
}

static struct zk_vec acl_vec(const struct zk_acl *v, int32_t n)
{
	struct jute_writer *w = pool_writer();
	struct zk_acl_list l = {n, v};
	zk_put_acl_list(w, &l);
	struct zk_vec out = {n, zk_bytes_of(w->buf, w->len)};
	return out;
}

static struct zk_vec string_vec(const char *const *s, int32_t n)
{
	struct jute_writer *w = pool_writer();
	struct zk_vec_builder b;
	zk_vec_begin(w, &b);
	for (int32_t i = 0; i < n; i++)
		zk_vec_put_string(w, &b, str(s[i]));
	zk_vec_end(w, &b);
	struct zk_vec out = {n, zk_bytes_of(w->buf, w->len)};
	return out;
}

static const struct zk_acl world_acl[] = {
	{ZK_PERM_ALL, {{(const uint8_t *)"world", 5}, {(const uint8_t *)"anyone", 6}}},
	{ZK_PERM_READ, {{(const uint8_t *)"digest", 6}, {(const uint8_t *)"u:h", 3}}},
};

/* Decoding `bytes` (as a heap copy of exactly len bytes, so that ASan sees
 * any over-read) gives rc. */
static int decode_copy(const uint8_t *bytes, size_t len, int32_t max_len,
		       struct zk_request *out)
{
	uint8_t *p = malloc(len ? len : 1);
	memcpy(p, bytes, len);
	int rc = zk_request_decode(p, len, max_len, out);
	free(p);
	return rc;
}

/*
 * Encodes req, decodes it back, re-encodes the result and compares bytes
 * (equal bytes = equal fields, since the encoding is canonical); then every
 * truncation and one trailing byte must be refused.  Returns the length.
 */
static size_t check_roundtrip(const struct zk_request *req)
{
	struct jute_writer w, w2;
	jute_writer_init(&w, 0);
	jute_writer_init(&w2, 0);
	CHECK_EQ_INT(zk_request_encode(&w, req), 0);
	struct zk_request out;
	memset(&out, 0xA5, sizeof(out));
	CHECK_EQ_INT(zk_request_decode(w.buf, w.len, MAXBUF, &out), 0);
	CHECK_EQ_INT(out.xid, req->xid);
	CHECK_EQ_INT(out.type, req->type);
	CHECK_EQ_INT(zk_request_encode(&w2, &out), 0);
	CHECK(w2.len == w.len && memcmp(w.buf, w2.buf, w.len) == 0);

	for (size_t n = 0; n < w.len; n++) {
		struct zk_request t;
		int rc = decode_copy(w.buf, n, MAXBUF, &t);
		if (rc != ZK_MALFORMED)
			fprintf(stderr, "type %d truncated to %zu: %d\n",
				req->type, n, rc);
		CHECK_EQ_INT(rc, ZK_MALFORMED);
	}
	jute_put_byte(&w, 0);
	struct zk_request t;
	CHECK_EQ_INT(decode_copy(w.buf, w.len, MAXBUF, &t), ZK_MALFORMED);
	size_t len = w.len - 1;
	jute_writer_free(&w);
	jute_writer_free(&w2);
	return len;
}

/* --------------------------------------------------------------- requests */

static void test_create_bytes(void)
{
	/* create("/a", "x", world:anyone ALL, PERSISTENT), xid 1, by hand */
	static const uint8_t frame[] = {
		0, 0, 0, 1, 0, 0, 0, 1,                /* xid, create */
		0, 0, 0, 2, '/', 'a',                  /* path */
		0, 0, 0, 1, 'x',                       /* data */
		0, 0, 0, 1,                            /* one ACL */
		0, 0, 0, 31,                           /* perms */
		0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',   /* scheme */
		0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e', /* id */
		0, 0, 0, 0,                            /* flags */
	};
	struct zk_request r;
	CHECK_EQ_INT(zk_request_decode(frame, sizeof(frame), MAXBUF, &r), 0);
	CHECK_EQ_INT(r.xid, 1);
	CHECK_EQ_INT(r.type, ZK_OP_CREATE);
	CHECK(bytes_eq(r.u.create.path, "/a"));
	CHECK(r.u.create.path.p == frame + 12); /* zero-copy */
	CHECK(bytes_eq(r.u.create.data, "x"));
	CHECK_EQ_INT(r.u.create.flags, 0);
	CHECK_EQ_INT(r.u.create.acl.count, 1);
	CHECK(r.u.create.acl.raw.p == frame + 19);
	CHECK_EQ_INT(r.u.create.acl.raw.len, 4 + 4 + 9 + 10);

	struct zk_vec_iter it;
	struct zk_acl a;
	zk_vec_iter_init(&it, r.u.create.acl.raw);
	CHECK_EQ_INT(zk_vec_next_acl(&it, &a), 1);
	CHECK_EQ_INT(a.perms, 31);
	CHECK(bytes_eq(a.id.scheme, "world"));
	CHECK(bytes_eq(a.id.id, "anyone"));
	CHECK_EQ_INT(zk_vec_next_acl(&it, &a), 0);
	CHECK_EQ_INT(zk_vec_next_acl(&it, &a), 0);

	/* the same through the encoder */
	struct zk_request req = {1, ZK_OP_CREATE, {.create = {
		str("/a"), str("x"), acl_vec(world_acl, 1), 0}}};
	struct jute_writer w;
	jute_writer_init(&w, 0);
	CHECK_EQ_INT(zk_request_encode(&w, &req), 0);
	CHECK(w.len == sizeof(frame) && memcmp(w.buf, frame, w.len) == 0);
	jute_writer_free(&w);
	pool_free();
}

static void test_ping_close_whoami(void)
{
	static const uint8_t ping[] = {0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11};
	struct zk_request r;
	CHECK_EQ_INT(zk_request_decode(ping, sizeof(ping), MAXBUF, &r), 0);
	CHECK_EQ_INT(r.xid, ZK_XID_PING);
	CHECK_EQ_INT(r.type, ZK_OP_PING);
	static const uint8_t close_req[] = {0, 0, 0, 9, 0xff, 0xff, 0xff, 0xf5};
	CHECK_EQ_INT(zk_request_decode(close_req, sizeof(close_req), MAXBUF, &r), 0);
	CHECK_EQ_INT(r.type, ZK_OP_CLOSE_SESSION);
	static const uint8_t who[] = {0, 0, 0, 9, 0, 0, 0, 107};
	CHECK_EQ_INT(zk_request_decode(who, sizeof(who), MAXBUF, &r), 0);
	CHECK_EQ_INT(r.type, ZK_OP_WHO_AM_I);
	/* a body where none belongs */
	static const uint8_t ping_body[] = {0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11, 0};
	CHECK_EQ_INT(zk_request_decode(ping_body, sizeof(ping_body), MAXBUF, &r),
		     ZK_MALFORMED);
}

static void test_unimplemented(void)
{
	static const int32_t codes[] = {0, -1, -10, 10, 20, 23, 99, 108, 999,
					INT32_MIN, INT32_MAX};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		uint8_t frame[8] = {0, 0, 0x12, 0x34};
		uint32_t c = (uint32_t)codes[i];
		frame[4] = (uint8_t)(c >> 24);
		frame[5] = (uint8_t)(c >> 16);
		frame[6] = (uint8_t)(c >> 8);
		frame[7] = (uint8_t)c;
		struct zk_request r;
		CHECK_EQ_INT(zk_request_decode(frame, 8, MAXBUF, &r),
			     ZK_UNIMPLEMENTED);
		CHECK_EQ_INT(r.xid, 0x1234); /* so the server can answer it */
		CHECK_EQ_INT(r.type, codes[i]);
	}
	struct zk_request req = {1, 20, {.path = {str("/")}}};
	struct jute_writer w;
	jute_writer_init(&w, 0);
	CHECK_EQ_INT(zk_request_encode(&w, &req), ZK_UNIMPLEMENTED);
	jute_writer_free(&w);
}

static struct zk_ops multi_ops(const struct zk_multi_op *ops, int n)
{
	struct jute_writer *w = pool_writer();
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(zk_multi_op_encode(w, &ops[i]), 0);
	zk_put_multi_end(w);
	struct zk_ops out = {n, zk_bytes_of(w->buf, w->len)};
	return out;
}

/* One request of every opcode, with non-trivial fields. */
static int all_requests(struct zk_request *reqs)
{
	static const char *const p3[] = {"/a", "/b/c", ""};
	static const char *const p1[] = {"/x"};
	struct zk_vec acl = acl_vec(world_acl, 2);
	struct zk_multi_op wops[] = {
		{ZK_OP_CREATE, {.create = {str("/m1"), str("d"), acl, 0}}},
		{ZK_OP_CREATE2, {.create = {str("/m2"), null_bytes, acl, 2}}},
		{ZK_OP_CREATE_CONTAINER, {.create = {str("/m3"), str(""), acl, 4}}},
		{ZK_OP_CREATE_TTL, {.create_ttl = {str("/m4"), str("t"), acl, 5, 60000}}},
		{ZK_OP_DELETE, {.path_version = {str("/m1"), -1}}},
		{ZK_OP_SET_DATA, {.set_data = {str("/m2"), str("new"), 3}}},
		{ZK_OP_CHECK, {.path_version = {str("/m3"), 7}}},
	};
	struct zk_multi_op rops[] = {
		{ZK_OP_GET_DATA, {.path_watch = {str("/r1"), false}}},
		{ZK_OP_GET_CHILDREN, {.path_watch = {str("/r2"), false}}},
	};
	int n = 0;
#define REQ(t, ...)                                                          \
	do {                                                                 \
		reqs[n] = (struct zk_request){n + 1, t, {__VA_ARGS__}};      \
		n++;                                                         \
	} while (0)
	REQ(ZK_OP_CREATE, .create = {str("/c"), str("data"), acl, 1});
	REQ(ZK_OP_DELETE, .path_version = {str("/c"), 4});
	REQ(ZK_OP_EXISTS, .path_watch = {str("/c"), true});
	REQ(ZK_OP_GET_DATA, .path_watch = {str("/c"), false});
	REQ(ZK_OP_SET_DATA, .set_data = {str("/c"), null_bytes, -1});
	REQ(ZK_OP_GET_ACL, .path = {str("/c")});
	REQ(ZK_OP_SET_ACL, .set_acl = {str("/c"), acl, 2});
	REQ(ZK_OP_GET_CHILDREN, .path_watch = {str("/"), true});
	REQ(ZK_OP_SYNC, .path = {null_bytes});
	REQ(ZK_OP_PING, .path = {null_bytes});
	REQ(ZK_OP_GET_CHILDREN2, .path_watch = {str("/zookeeper"), true});
	REQ(ZK_OP_CHECK, .path_version = {str("/c"), 1});
	REQ(ZK_OP_MULTI, .multi = {multi_ops(wops, 7)});
	REQ(ZK_OP_CREATE2, .create = {str("/c2"), str(""), acl, 3});
	REQ(ZK_OP_RECONFIG, .reconfig = {str("server.4=h:1:2;3"), null_bytes,
					 str(""), -1});
	REQ(ZK_OP_CHECK_WATCHES, .path_type = {str("/c"), 1});
	REQ(ZK_OP_REMOVE_WATCHES, .path_type = {str("/c"), 3});
	REQ(ZK_OP_CREATE_CONTAINER, .create = {str("/cc"), str(""), acl, 4});
	REQ(ZK_OP_CREATE_TTL, .create_ttl = {str("/ttl"), str("v"), acl, 5,
					     (int64_t)1 << 39});
	REQ(ZK_OP_MULTI_READ, .multi = {multi_ops(rops, 2)});
	REQ(ZK_OP_AUTH, .auth = {0, str("digest"), str("user:pass")});
	REQ(ZK_OP_SET_WATCHES, .set_watches = {0x100000005, string_vec(p3, 3),
					       string_vec(p1, 1),
					       string_vec(p3, 0)});
	REQ(ZK_OP_SASL, .sasl = {str("\x60\x82\x01")});
	REQ(ZK_OP_GET_EPHEMERALS, .path = {str("/")});
	REQ(ZK_OP_GET_ALL_CHILDREN_NUMBER, .path = {str("/a")});
	REQ(ZK_OP_SET_WATCHES2, .set_watches2 = {-1, string_vec(p1, 1),
						 string_vec(p3, 2),
						 string_vec(p3, 3),
						 string_vec(p1, 1),
						 string_vec(p3, 1)});
	REQ(ZK_OP_ADD_WATCH, .path_type = {str("/w"), 1});
	REQ(ZK_OP_WHO_AM_I, .path = {null_bytes});
	REQ(ZK_OP_CLOSE_SESSION, .path = {null_bytes});
#undef REQ
	return n;
}

static void test_every_request(void)
{
	struct zk_request reqs[64];
	int n = all_requests(reqs);
	/* every opcode of ZK_OP_MAP is here */
	static const int32_t codes[] = {
#define CODE(name, code, record) code,
		ZK_OP_MAP(CODE)
#undef CODE
	};
	CHECK_EQ_INT(n, sizeof(codes) / sizeof(codes[0]));
	for (int i = 0; i < n; i++) {
		CHECK_EQ_INT(reqs[i].type, codes[i]);
		check_roundtrip(&reqs[i]);
	}
	pool_free();
}

static void test_multi_iter(void)
{
	struct zk_request reqs[64];
	all_requests(reqs);
	const struct zk_request *m = &reqs[12];
	CHECK_EQ_INT(m->type, ZK_OP_MULTI);
	struct jute_writer w;
	jute_writer_init(&w, 0);
	zk_request_encode(&w, m);
	struct zk_request r;
	CHECK_EQ_INT(zk_request_decode(w.buf, w.len, MAXBUF, &r), 0);
	CHECK_EQ_INT(r.u.multi.ops.count, 7);
	CHECK(r.u.multi.ops.raw.p == w.buf + 8);
	CHECK_EQ_INT(r.u.multi.ops.raw.len, w.len - 8);

	struct zk_multi_iter it;
	struct zk_multi_op op;
	zk_multi_iter_init(&it, r.u.multi.ops);
	static const int32_t types[] = {1, 15, 19, 21, 2, 5, 13};
	for (int i = 0; i < 7; i++) {
		CHECK_EQ_INT(zk_multi_next(&it, &op), 1);
		CHECK_EQ_INT(op.type, types[i]);
	}
	CHECK_EQ_INT(zk_multi_next(&it, &op), 0);
	CHECK_EQ_INT(zk_multi_next(&it, &op), 0);

	zk_multi_iter_init(&it, r.u.multi.ops);
	CHECK_EQ_INT(zk_multi_next(&it, &op), 1);
	CHECK(bytes_eq(op.u.create.path, "/m1"));
	CHECK(bytes_eq(op.u.create.data, "d"));
	CHECK_EQ_INT(op.u.create.acl.count, 2);
	zk_multi_next(&it, &op);
	CHECK(bytes_eq(op.u.create.data, NULL));
	CHECK_EQ_INT(op.u.create.flags, 2);
	zk_multi_next(&it, &op);
	zk_multi_next(&it, &op);
	CHECK(bytes_eq(op.u.create_ttl.path, "/m4"));
	CHECK_EQ_INT(op.u.create_ttl.ttl, 60000);
	zk_multi_next(&it, &op);
	CHECK_EQ_INT(op.u.path_version.version, -1);
	zk_multi_next(&it, &op);
	CHECK(bytes_eq(op.u.set_data.data, "new"));
	CHECK_EQ_INT(op.u.set_data.version, 3);
	zk_multi_next(&it, &op);
	CHECK(bytes_eq(op.u.path_version.path, "/m3"));
	CHECK_EQ_INT(op.u.path_version.version, 7);

	/* An empty multi is just the done marker. */
	static const uint8_t empty[] = {0, 0, 0, 1, 0, 0, 0, 14, 0xff, 0xff,
					0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff};
	CHECK_EQ_INT(zk_request_decode(empty, sizeof(empty), MAXBUF, &r), 0);
	CHECK_EQ_INT(r.u.multi.ops.count, 0);
	zk_multi_iter_init(&it, r.u.multi.ops);
	CHECK_EQ_INT(zk_multi_next(&it, &op), 0);

	/* An op type multi does not allow (getACL, 6; sync, 9; multi, 14). */
	static const int32_t bad[] = {6, 9, 14, 0, -1, 100};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t f[] = {0, 0, 0, 1, 0, 0, 0, 14,
			       0, 0, 0, (uint8_t)bad[i], 0, 0xff, 0xff, 0xff, 0xff,
			       0, 0, 0, 1, '/',
			       0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff};
		if (bad[i] < 0)
			f[8] = f[9] = f[10] = 0xff;
		CHECK_EQ_INT(zk_request_decode(f, sizeof(f), MAXBUF, &r),
			     ZK_MALFORMED);
		/* the iterator refuses it too, and stays failed */
		struct zk_ops raw = {1, zk_bytes_of(f + 8, sizeof(f) - 8)};
		zk_multi_iter_init(&it, raw);
		CHECK_EQ_INT(zk_multi_next(&it, &op), ZK_MALFORMED);
		CHECK_EQ_INT(zk_multi_next(&it, &op), ZK_MALFORMED);
	}
	/* Bytes after the done marker: trailing garbage. */
	uint8_t f2[sizeof(empty) + 1];
	memcpy(f2, empty, sizeof(empty));
	f2[sizeof(empty)] = 0;
	CHECK_EQ_INT(zk_request_decode(f2, sizeof(f2), MAXBUF, &r), ZK_MALFORMED);
	struct zk_ops raw2 = {0, zk_bytes_of(f2 + 8, sizeof(f2) - 8)};
	zk_multi_iter_init(&it, raw2);
	CHECK_EQ_INT(zk_multi_next(&it, &op), ZK_MALFORMED);
	CHECK_EQ_INT(zk_multi_next(&it, &op), ZK_MALFORMED);

	jute_writer_free(&w);
	pool_free();
}

static void test_set_watches_iter(void)
{
	struct zk_request reqs[64];
	all_requests(reqs);
	const struct zk_request *sw = &reqs[21];
	CHECK_EQ_INT(sw->type, ZK_OP_SET_WATCHES);
	struct jute_writer w;
	jute_writer_init(&w, 0);
	zk_request_encode(&w, sw);
	struct zk_request r;
	CHECK_EQ_INT(zk_request_decode(w.buf, w.len, MAXBUF, &r), 0);
	CHECK_EQ_INT(r.u.set_watches.relative_zxid, 0x100000005);
	CHECK_EQ_INT(r.u.set_watches.data_watches.count, 3);
	CHECK_EQ_INT(r.u.set_watches.exist_watches.count, 1);
	CHECK_EQ_INT(r.u.set_watches.child_watches.count, 0);

	struct zk_vec_iter it;
	struct zk_bytes s;
	zk_vec_iter_init(&it, r.u.set_watches.data_watches.raw);
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), 1);
	CHECK(bytes_eq(s, "/a"));
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), 1);
	CHECK(bytes_eq(s, "/b/c"));
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), 1);
	CHECK(bytes_eq(s, ""));
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), 0);
	zk_vec_iter_init(&it, r.u.set_watches.child_watches.raw);
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), 0);

	/* a null vector (count -1) decodes and iterates as nothing */
	static const uint8_t nullvec[] = {
		0, 0, 0, 1, 0, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
	CHECK_EQ_INT(zk_request_decode(nullvec, sizeof(nullvec), MAXBUF, &r), 0);
	CHECK_EQ_INT(r.u.set_watches.data_watches.count, -1);
	CHECK_EQ_INT(r.u.set_watches.data_watches.raw.len, 4);
	zk_vec_iter_init(&it, r.u.set_watches.data_watches.raw);
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), 0);

	/* malformed raw: the iterator says so, and keeps saying so */
	static const uint8_t bad[] = {0, 0, 0, 2, 0, 0, 0, 1, 'a'};
	zk_vec_iter_init(&it, zk_bytes_of(bad, sizeof(bad)));
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), 1);
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), ZK_MALFORMED);
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), ZK_MALFORMED);
	zk_vec_iter_init(&it, zk_bytes_of(bad, 2));
	CHECK_EQ_INT(zk_vec_next_string(&it, &s), ZK_MALFORMED);
	struct zk_acl a;
	zk_vec_iter_init(&it, zk_bytes_of(bad, sizeof(bad)));
	CHECK_EQ_INT(zk_vec_next_acl(&it, &a), ZK_MALFORMED);
	jute_writer_free(&w);
	pool_free();
}

static void test_bad_lengths(void)
{
	/* getData("/ab", watch) with max_len at and below the path length */
	static const uint8_t gd[] = {0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 3,
				     '/', 'a', 'b', 1};
	struct zk_request r;
	CHECK_EQ_INT(zk_request_decode(gd, sizeof(gd), 3, &r), 0);
	CHECK(r.u.path_watch.watch);
	CHECK_EQ_INT(zk_request_decode(gd, sizeof(gd), 2, &r), ZK_MALFORMED);

	/* every length value that is not -1..left */
	static const int32_t lens[] = {-2, -100, INT32_MIN, 4, 5, 0x7fffffff,
				       0x100000};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t f[sizeof(gd)];
		memcpy(f, gd, sizeof(gd));
		uint32_t v = (uint32_t)lens[i];
		f[8] = (uint8_t)(v >> 24);
		f[9] = (uint8_t)(v >> 16);
		f[10] = (uint8_t)(v >> 8);
		f[11] = (uint8_t)v;
		CHECK_EQ_INT(decode_copy(f, sizeof(f), MAXBUF, &r), ZK_MALFORMED);
	}

	/* ACL count larger than the bytes could hold, or negative */
	static const int32_t counts[] = {2, 1000, 0x7fffffff, -2, INT32_MIN};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		uint8_t f[] = {0, 0, 0, 1, 0, 0, 0, 7,   /* setACL */
			       0, 0, 0, 1, '/',
			       0, 0, 0, 0,              /* count, patched */
			       0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
			       0, 0, 0, 0};             /* version */
		uint32_t v = (uint32_t)counts[i];
		f[13] = (uint8_t)(v >> 24);
		f[14] = (uint8_t)(v >> 16);
		f[15] = (uint8_t)(v >> 8);
		f[16] = (uint8_t)v;
		CHECK_EQ_INT(decode_copy(f, sizeof(f), MAXBUF, &r), ZK_MALFORMED);
		f[16] = 1;
		if (counts[i] >= 0) {
			f[13] = f[14] = f[15] = 0;
			CHECK_EQ_INT(decode_copy(f, sizeof(f), MAXBUF, &r), 0);
		}
	}
	/* an ACL string over max_len */
	static const uint8_t sa[] = {0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, '/',
				     0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 'a',
				     'b', 0, 0, 0, 0, 0, 0, 0, 0};
	CHECK_EQ_INT(decode_copy(sa, sizeof(sa), 2, &r), 0);
	CHECK_EQ_INT(decode_copy(sa, sizeof(sa), 1, &r), ZK_MALFORMED);
	/* shorter than a header */
	CHECK_EQ_INT(decode_copy(gd, 0, MAXBUF, &r), ZK_MALFORMED);
	CHECK_EQ_INT(decode_copy(gd, 7, MAXBUF, &r), ZK_MALFORMED);
}

/* ------------------------------------------------------------- handshake */

static void test_connect_request(void)
{
	static const uint8_t body[45] = {
		0, 0, 0, 0,                             /* protocolVersion */
		0, 0, 0, 1, 0, 0, 0, 9,                 /* lastZxidSeen */
		0, 0, 0x75, 0x30,                       /* timeOut 30000 */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* session */
		0, 0, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
		15, 16,                                 /* passwd */
		1,                                      /* readOnly */
	};
	struct zk_connect_request c;
	CHECK_EQ_INT(zk_connect_request_decode(body, 45, MAXBUF, &c), 0);
	CHECK_EQ_INT(c.protocol_version, 0);
	CHECK_EQ_INT(c.last_zxid_seen, 0x100000009);
	CHECK_EQ_INT(c.timeout_ms, 30000);
	CHECK_EQ_INT(c.session_id, 0x1122334455667788);
	CHECK_EQ_INT(c.passwd.len, 16);
	CHECK(c.passwd.p == body + 28);
	CHECK(c.has_read_only && c.read_only);

	struct jute_writer w;
	jute_writer_init(&w, 0);
	zk_put_connect_request(&w, &c);
	CHECK(w.len == 45 && memcmp(w.buf, body, 45) == 0);
	jute_writer_free(&w);

	CHECK_EQ_INT(zk_connect_request_decode(body, 44, MAXBUF, &c), 0);
	CHECK(!c.has_read_only && !c.read_only);
	uint8_t b46[46];
	memcpy(b46, body, 45);
	b46[45] = 0;
	/* Trailing bytes are ignored, as ZooKeeper ignores them. */
	CHECK_EQ_INT(zk_connect_request_decode(b46, 46, MAXBUF, &c), 0);
	CHECK(c.has_read_only && c.session_id == 0x1122334455667788);
	for (size_t n = 0; n < 44; n++) {
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, body, n);
		CHECK_EQ_INT(zk_connect_request_decode(p, n, MAXBUF, &c),
			     ZK_MALFORMED);
		free(p);
	}
	CHECK_EQ_INT(zk_connect_request_decode(body, 45, 15, &c), ZK_MALFORMED);
}

static void test_connect_response(void)
{
	struct zk_connect_response c = {0, 30000, 0x0123456789abcdef, {0},
					true, true};
	for (int i = 0; i < 16; i++)
		c.passwd[i] = (uint8_t)(0xf0 + i);
	static const uint8_t want[41] = {
		0, 0, 0, 37,                            /* frame length */
		0, 0, 0, 0,                             /* protocolVersion */
		0, 0, 0x75, 0x30,                       /* timeOut */
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0, 0, 0, 16,
		0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
		0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
		1,                                      /* readOnly */
	};
	/* the C client's fixed 41-byte primer buffer */
	uint8_t buf[41];
	struct jute_writer w;
	jute_writer_init_fixed(&w, buf, sizeof(buf));
	size_t start = zk_frame_begin(&w);
	zk_put_connect_response(&w, &c);
	CHECK_EQ_INT(zk_frame_end(&w, start), 0);
	CHECK_EQ_INT(w.len, 41);
	CHECK(memcmp(buf, want, 41) == 0);

	/* an old client (44-byte request) gets the 36-byte body */
	c.has_read_only = false;
	jute_writer_init_fixed(&w, buf, sizeof(buf));
	start = zk_frame_begin(&w);
	zk_put_connect_response(&w, &c);
	CHECK_EQ_INT(zk_frame_end(&w, start), 0);
	CHECK_EQ_INT(w.len, 40);
	CHECK_EQ_INT(buf[3], 36);
	CHECK(memcmp(buf + 4, want + 4, 36) == 0);

	/* a fixed buffer that is too small: reported by zk_frame_end */
	jute_writer_init_fixed(&w, buf, 40);
	c.has_read_only = true;
	start = zk_frame_begin(&w);
	zk_put_connect_response(&w, &c);
	CHECK_EQ_INT(zk_frame_end(&w, start), ZK_NOMEM);
}

/* ------------------------------------------------------------- responses */

static const struct zk_stat stat1 = {
	0x0102030405060708, 0x1112131415161718, 0x2122232425262728,
	0x3132333435363738, 0x41424344, 0x51525354, 0x61626364,
	0x7172737475767778, 0x01020304, 0x05060708, -2,
};

static const uint8_t stat1_bytes[68] = {
	1, 2, 3, 4, 5, 6, 7, 8,                 /* czxid */
	0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* mzxid */
	0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, /* ctime */
	0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, /* mtime */
	0x41, 0x42, 0x43, 0x44,                 /* version */
	0x51, 0x52, 0x53, 0x54,                 /* cversion */
	0x61, 0x62, 0x63, 0x64,                 /* aversion */
	0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, /* ephemeralOwner */
	1, 2, 3, 4,                             /* dataLength */
	5, 6, 7, 8,                             /* numChildren */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* pzxid */
};

static bool writer_is(const struct jute_writer *w, const uint8_t *want,
		      size_t n)
{
	return jute_writer_ok(w) && w->len == n && memcmp(w->buf, want, n) == 0;
}

static void test_stat(void)
{
	struct jute_writer w;
	jute_writer_init(&w, 0);
	zk_put_stat(&w, &stat1);
	CHECK(writer_is(&w, stat1_bytes, 68));
	jute_writer_free(&w);
}

static void test_reply_frames(void)
{
	/* getData reply: frame + ReplyHeader + GetDataResponse */
	struct jute_writer w;
	jute_writer_init(&w, 0);
	size_t start = zk_reply_begin(&w, 7, 0x100000003, 0);
	zk_put_get_data_response(&w, str("hi"), &stat1);
	CHECK_EQ_INT(zk_frame_end(&w, start), 0);
	uint8_t want[4 + 16 + 6 + 68] = {
		0, 0, 0, 16 + 6 + 68,
		0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0,
		0, 0, 0, 2, 'h', 'i'};
	memcpy(want + 26, stat1_bytes, 68);
	CHECK(writer_is(&w, want, sizeof(want)));

	/* a second frame after the first, and an error reply (header only) */
	start = zk_reply_begin(&w, 8, 0x100000003, ZK_NONODE);
	CHECK_EQ_INT(zk_frame_end(&w, start), 0);
	static const uint8_t err[] = {0, 0, 0, 16, 0, 0, 0, 8, 0, 0, 0, 1,
				      0, 0, 0, 3, 0xff, 0xff, 0xff, 0x9b};
	CHECK_EQ_INT(w.len, sizeof(want) + sizeof(err));
	CHECK(memcmp(w.buf + sizeof(want), err, sizeof(err)) == 0);

	/* a notification */
	jute_writer_reset(&w);
	start = zk_reply_begin(&w, ZK_XID_NOTIFICATION, 0x200000001, 0);
	zk_put_watcher_event(&w, ZK_EVENT_DATA_CHANGED,
			     ZK_STATE_SYNC_CONNECTED, str("/a"));
	CHECK_EQ_INT(zk_frame_end(&w, start), 0);
	static const uint8_t ev[] = {0, 0, 0, 30,
				     0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0, 0, 1,
				     0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3,
				     0, 0, 0, 2, '/', 'a'};
	CHECK(writer_is(&w, ev, sizeof(ev)));
	jute_writer_free(&w);
}

static void test_record_layouts(void)
{
	struct jute_writer w;
	jute_writer_init(&w, 0);

	/* Create2Response */
	zk_put_create2_response(&w, str("/q/0000000001"), &stat1);
	CHECK_EQ_INT(w.len, 4 + 13 + 68);
	CHECK(memcmp(w.buf, "\0\0\0\x0d/q/0000000001", 17) == 0);
	CHECK(memcmp(w.buf + 17, stat1_bytes, 68) == 0);

	/* GetACLResponse, from entries and from raw bytes: the same */
	jute_writer_reset(&w);
	struct zk_acl_list l = {2, world_acl};
	zk_put_get_acl_response(&w, &l, &stat1);
	static const uint8_t acls[] = {
		0, 0, 0, 2,
		0, 0, 0, 31, 0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',
		0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e',
		0, 0, 0, 1, 0, 0, 0, 6, 'd', 'i', 'g', 'e', 's', 't',
		0, 0, 0, 3, 'u', ':', 'h'};
	CHECK_EQ_INT(w.len, sizeof(acls) + 68);
	CHECK(memcmp(w.buf, acls, sizeof(acls)) == 0);
	CHECK(memcmp(w.buf + sizeof(acls), stat1_bytes, 68) == 0);
	struct jute_writer w2;
	jute_writer_init(&w2, 0);
	zk_put_get_acl_response_raw(&w2, zk_bytes_of(acls, sizeof(acls)), &stat1);
	CHECK(writer_is(&w2, w.buf, w.len));
	jute_writer_free(&w2);

	/* GetChildren2Response: names one at a time, count patched */
	jute_writer_reset(&w);
	struct zk_vec_builder b;
	zk_vec_begin(&w, &b);
	zk_vec_put_string(&w, &b, str("zookeeper"));
	zk_vec_put_string(&w, &b, str("a"));
	zk_vec_end(&w, &b);
	zk_put_stat(&w, &stat1);
	static const uint8_t kids[] = {0, 0, 0, 2, 0, 0, 0, 9, 'z', 'o', 'o',
				       'k', 'e', 'e', 'p', 'e', 'r', 0, 0, 0, 1,
				       'a'};
	CHECK_EQ_INT(w.len, sizeof(kids) + 68);
	CHECK(memcmp(w.buf, kids, sizeof(kids)) == 0);

	/* an empty GetChildrenResponse / GetEphemeralsResponse */
	jute_writer_reset(&w);
	zk_vec_begin(&w, &b);
	zk_vec_end(&w, &b);
	static const uint8_t none[] = {0, 0, 0, 0};
	CHECK(writer_is(&w, none, 4));

	/* WhoAmIResponse */
	jute_writer_reset(&w);
	zk_vec_begin(&w, &b);
	zk_vec_put_client_info(&w, &b, str("ip"), str("127.0.0.1"));
	zk_vec_put_client_info(&w, &b, str("digest"), str("u"));
	zk_vec_end(&w, &b);
	static const uint8_t who[] = {
		0, 0, 0, 2, 0, 0, 0, 2, 'i', 'p', 0, 0, 0, 9, '1', '2', '7',
		'.', '0', '.', '0', '.', '1', 0, 0, 0, 6, 'd', 'i', 'g', 'e',
		's', 't', 0, 0, 0, 1, 'u'};
	CHECK(writer_is(&w, who, sizeof(who)));
	jute_writer_free(&w);
}

static void test_multi_response(void)
{
	/* A multi of three ops whose second failed with NONODE. */
	struct jute_writer w;
	jute_writer_init(&w, 0);
	size_t start = zk_reply_begin(&w, 5, 0x100000002, 0);
	zk_put_multi_error(&w, 0);
	zk_put_multi_error(&w, ZK_NONODE);
	zk_put_multi_error(&w, ZK_RUNTIMEINCONSISTENCY);
	zk_put_multi_end(&w);
	CHECK_EQ_INT(zk_frame_end(&w, start), 0);
	static const uint8_t want[] = {
		0, 0, 0, 16 + 3 * 13 + 9,
		0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, /* header */
		0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,          /* {-1,f,0} */
		0, 0, 0, 0,                                     /* err 0 */
		0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x9b, /* -101 */
		0xff, 0xff, 0xff, 0x9b,
		0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xfe, /* -2 */
		0xff, 0xff, 0xff, 0xfe,
		0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, /* end */
	};
	CHECK(writer_is(&w, want, sizeof(want)));

	/* A successful one: create2, delete, setData. */
	jute_writer_reset(&w);
	zk_put_multi_header(&w, ZK_OP_CREATE2, false, 0);
	zk_put_create2_response(&w, str("/x"), &stat1);
	zk_put_multi_header(&w, ZK_OP_DELETE, false, 0);
	zk_put_multi_header(&w, ZK_OP_SET_DATA, false, 0);
	zk_put_stat(&w, &stat1);
	zk_put_multi_end(&w);
	CHECK_EQ_INT(w.len, 9 + 6 + 68 + 9 + 9 + 68 + 9);
	static const uint8_t h0[] = {0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 2,
				     '/', 'x'};
	CHECK(memcmp(w.buf, h0, sizeof(h0)) == 0);
	static const uint8_t h1[] = {0, 0, 0, 2, 0, 0, 0, 0, 0,
				     0, 0, 0, 5, 0, 0, 0, 0, 0};
	CHECK(memcmp(w.buf + 83, h1, sizeof(h1)) == 0);
	jute_writer_free(&w);
}

static void test_four_letter_words(void)
{
	static const char *const words[] = {
		"ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "srst",
		"wchs", "wchc", "wchp", "dump", "envi", "dirs", "isro", "gtmk",
		"stmk", "hash"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const uint8_t *s = (const uint8_t *)words[i];
		int32_t v = (int32_t)((uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 |
				      (uint32_t)s[2] << 8 | s[3]);
		const char *name = zk_4lw_name(v);
		CHECK(name && strcmp(name, words[i]) == 0);
	}
	CHECK_EQ_INT(zk_4lw_name(0x72756f6b) != NULL, 1); /* "ruok" */
	CHECK(zk_4lw_name(0x72756f6c) == NULL);
	CHECK(zk_4lw_name(0x52554f4b) == NULL);          /* "RUOK" */
	CHECK(zk_4lw_name(45) == NULL);
	CHECK(zk_4lw_name(ZK_DEFAULT_MAXBUFFER) == NULL);
	CHECK(zk_4lw_name((int32_t)0xfff4fffd) == NULL); /* telnet close */
	CHECK(zk_4lw_name(0) == NULL);
	CHECK(zk_4lw_name(-1) == NULL);
}

/* ---------------------------------------------------------------- random */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
	return z ^ (z >> 31);
}

static uint8_t rand_chars[1 << 16];
static size_t rand_used;

/* A random string (sometimes null or empty) in rand_chars. */
static struct zk_bytes rand_bytes(void)
{
	uint64_t k = rng() % 10;
	if (k == 0)
		return null_bytes;
	size_t n = k == 1 ? 0 : rng() % 40;
	if (rand_used + n > sizeof(rand_chars))
		rand_used = 0;
	uint8_t *p = rand_chars + rand_used;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
	rand_used += n;
	return zk_bytes_of(p, n);
}

static struct zk_vec rand_acls(void)
{
	struct zk_acl a[4];
	int32_t n = (int32_t)(rng() % 5);
	for (int32_t i = 0; i < n; i++) {
		a[i].perms = (int32_t)rng();
		a[i].id.scheme = rand_bytes();
		a[i].id.id = rand_bytes();
	}
	if (rng() % 8 == 0) { /* null vector */
		struct jute_writer *w = pool_writer();
		jute_put_int(w, -1);
		struct zk_vec v = {-1, zk_bytes_of(w->buf, w->len)};
		return v;
	}
	return acl_vec(a, n);
}

static struct zk_vec rand_strings(void)
{
	struct jute_writer *w = pool_writer();
	struct zk_vec_builder b;
	int32_t n = (int32_t)(rng() % 4);
	zk_vec_begin(w, &b);
	for (int32_t i = 0; i < n; i++)
		zk_vec_put_string(w, &b, rand_bytes());
	zk_vec_end(w, &b);
	struct zk_vec v = {n, zk_bytes_of(w->buf, w->len)};
	return v;
}

static bool rand_bool(void)
{
	return rng() & 1;
}

/* Fills the body of type t at random. */
static void rand_body(int32_t t, union zk_request_body *u);

static struct zk_ops rand_ops(void)
{
	static const int32_t types[] = {1, 15, 19, 21, 2, 5, 13, 8, 4};
	struct jute_writer *w = pool_writer();
	int n = (int)(rng() % 5);
	for (int i = 0; i < n; i++) {
		struct zk_multi_op op;
		op.type = types[rng() % 9];
		rand_body(op.type, &op.u);
		CHECK_EQ_INT(zk_multi_op_encode(w, &op), 0);
	}
	zk_put_multi_end(w);
	struct zk_ops o = {n, zk_bytes_of(w->buf, w->len)};
	return o;
}

static void rand_body(int32_t t, union zk_request_body *u)
{
	switch (t) {
	case ZK_OP_CREATE: case ZK_OP_CREATE2: case ZK_OP_CREATE_CONTAINER:
		u->create = (struct zk_create_request){
			rand_bytes(), rand_bytes(), rand_acls(), (int32_t)rng()};
		break;
	case ZK_OP_CREATE_TTL:
		u->create_ttl = (struct zk_create_ttl_request){
			rand_bytes(), rand_bytes(), rand_acls(), (int32_t)rng(),
			(int64_t)rng()};
		break;
	case ZK_OP_DELETE: case ZK_OP_CHECK:
		u->path_version = (struct zk_path_version_request){
			rand_bytes(), (int32_t)rng()};
		break;
	case ZK_OP_EXISTS: case ZK_OP_GET_DATA: case ZK_OP_GET_CHILDREN:
	case ZK_OP_GET_CHILDREN2:
		u->path_watch = (struct zk_path_watch_request){rand_bytes(),
							       rand_bool()};
		break;
	case ZK_OP_SET_DATA:
		u->set_data = (struct zk_set_data_request){
			rand_bytes(), rand_bytes(), (int32_t)rng()};
		break;
	case ZK_OP_GET_ACL: case ZK_OP_SYNC: case ZK_OP_GET_EPHEMERALS:
	case ZK_OP_GET_ALL_CHILDREN_NUMBER:
		u->path = (struct zk_path_request){rand_bytes()};
		break;
	case ZK_OP_SET_ACL:
		u->set_acl = (struct zk_set_acl_request){
			rand_bytes(), rand_acls(), (int32_t)rng()};
		break;
	case ZK_OP_MULTI: case ZK_OP_MULTI_READ:
		u->multi = (struct zk_multi_request){rand_ops()};
		break;
	case ZK_OP_RECONFIG:
		u->reconfig = (struct zk_reconfig_request){
			rand_bytes(), rand_bytes(), rand_bytes(), (int64_t)rng()};
		break;
	case ZK_OP_CHECK_WATCHES: case ZK_OP_REMOVE_WATCHES: case ZK_OP_ADD_WATCH:
		u->path_type = (struct zk_path_type_request){rand_bytes(),
							     (int32_t)rng()};
		break;
	case ZK_OP_AUTH:
		u->auth = (struct zk_auth_request){(int32_t)rng(), rand_bytes(),
						   rand_bytes()};
		break;
	case ZK_OP_SASL:
		u->sasl = (struct zk_sasl_request){rand_bytes()};
		break;
	case ZK_OP_SET_WATCHES:
		u->set_watches = (struct zk_set_watches_request){
			(int64_t)rng(), rand_strings(), rand_strings(),
			rand_strings()};
		break;
	case ZK_OP_SET_WATCHES2:
		u->set_watches2 = (struct zk_set_watches2_request){
			(int64_t)rng(), rand_strings(), rand_strings(),
			rand_strings(), rand_strings(), rand_strings()};
		break;
	default:
		break;
	}
}

static uint64_t random_seed;

static void test_random_roundtrip(void)
{
	static const int32_t codes[] = {
#define CODE(name, code, record) code,
		ZK_OP_MAP(CODE)
#undef CODE
	};
	rng_state = random_seed;
	size_t ncodes = sizeof(codes) / sizeof(codes[0]);
	for (int i = 0; i < 300; i++) {
		struct zk_request req;
		req.xid = (int32_t)rng();
		req.type = codes[rng() % ncodes];
		rand_body(req.type, &req.u);
		size_t len = check_roundtrip(&req);

		/* Random single-byte corruption: any result but a crash;
		 * a success must re-encode to the same bytes. */
		struct jute_writer w, w2;
		jute_writer_init(&w, 0);
		jute_writer_init(&w2, 0);
		zk_request_encode(&w, &req);
		CHECK_EQ_INT(w.len, len);
		for (int k = 0; k < 20; k++) {
			size_t at = rng() % w.len;
			uint8_t old = w.buf[at];
			w.buf[at] = (uint8_t)rng();
			/* an exact-size copy, alive while out is used */
			uint8_t *copy = malloc(w.len);
			memcpy(copy, w.buf, w.len);
			struct zk_request out;
			int rc = zk_request_decode(copy, w.len, MAXBUF, &out);
			CHECK(rc == 0 || rc == ZK_MALFORMED ||
			      rc == ZK_UNIMPLEMENTED);
			if (rc == 0) {
				jute_writer_reset(&w2);
				CHECK_EQ_INT(zk_request_encode(&w2, &out), 0);
				/* same length; bools may read back canonical */
				CHECK_EQ_INT(w2.len, w.len);
			}
			free(copy);
			w.buf[at] = old;
		}
		jute_writer_free(&w);
		jute_writer_free(&w2);
		pool_free();
	}
}

int main(int argc, char **argv)
{
	random_seed = check_seed(argc, argv);
	RUN_TEST(test_create_bytes);
	RUN_TEST(test_ping_close_whoami);
	RUN_TEST(test_unimplemented);
	RUN_TEST(test_every_request);
	RUN_TEST(test_multi_iter);
	RUN_TEST(test_set_watches_iter);
	RUN_TEST(test_bad_lengths);
	RUN_TEST(test_connect_request);
	RUN_TEST(test_connect_response);
	RUN_TEST(test_stat);
	RUN_TEST(test_reply_frames);
	RUN_TEST(test_record_layouts);
	RUN_TEST(test_multi_response);
	RUN_TEST(test_four_letter_words);
	RUN_TEST(test_random_roundtrip);
	return check_report();
}
