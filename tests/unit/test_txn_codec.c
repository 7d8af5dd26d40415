/*
 * test_txn_codec.c - transactions: the byte layout, round trips of every
 * type including multi (whole and built op by op), refusal of every
 * truncation, trailing bytes and malformed fields (ZK_CORRUPT), the
 * encoder's refusals, and a seeded random round trip (--seed N).
 */
#include "check.h"
#include "zabfs/err.h"
#include "zabfs/txn_codec.h"
#include "zabfs/zkproto.h"

static struct zk_bytes str(const char *s)
{
	return zk_bytes_of(s, strlen(s));
}

static const struct zk_bytes null_bytes = {NULL, -1};

/* world:anyone ALL, encoded */
static const uint8_t world_acl[] = {0, 0, 0, 1, 0, 0, 0, 31,
				    0, 0, 0, 5, 'w', 'o', 'r', 'l', 'd',
				    0, 0, 0, 6, 'a', 'n', 'y', 'o', 'n', 'e'};
static const uint8_t empty_acl[] = {0, 0, 0, 0};
static const uint8_t null_acl[] = {0xff, 0xff, 0xff, 0xff};

static const struct txn_hdr hdr0 = {0x1122334455667788, 42, 0x100000007,
				    1700000000000, 0};

static int decode_copy(const uint8_t *bytes, size_t len, struct txn *out)
{
	uint8_t *p = malloc(len ? len : 1);
	memcpy(p, bytes, len);
	int rc = txn_decode(p, len, out);
	free(p);
	return rc;
}

/* Encode, decode, re-encode equal; every truncation and a trailing byte
 * refused.  Returns the encoded bytes in *w (caller frees). */
static void check_roundtrip(const struct txn *t, struct jute_writer *w)
{
	struct jute_writer w2;
	jute_writer_init(w, 0);
	jute_writer_init(&w2, 0);
	CHECK_EQ_INT(txn_encode(w, t), 0);
	struct txn out;
	CHECK_EQ_INT(txn_decode(w->buf, w->len, &out), 0);
	CHECK_EQ_INT(out.hdr.session, t->hdr.session);
	CHECK_EQ_INT(out.hdr.cxid, t->hdr.cxid);
	CHECK_EQ_INT(out.hdr.zxid, t->hdr.zxid);
	CHECK_EQ_INT(out.hdr.time, t->hdr.time);
	CHECK_EQ_INT(out.hdr.type, t->hdr.type);
	CHECK_EQ_INT(txn_encode(&w2, &out), 0);
	CHECK(w2.len == w->len && memcmp(w->buf, w2.buf, w->len) == 0);
	for (size_t n = 0; n < w->len; n++) {
		struct txn x;
		int rc = decode_copy(w->buf, n, &x);
		if (rc != ZK_CORRUPT)
			fprintf(stderr, "type %d truncated to %zu: %d\n",
				t->hdr.type, n, rc);
		CHECK_EQ_INT(rc, ZK_CORRUPT);
	}
	jute_put_byte(w, 0);
	CHECK_EQ_INT(decode_copy(w->buf, w->len, &out), ZK_CORRUPT);
	w->len--;
	jute_writer_free(&w2);
}

static struct txn make(int32_t type)
{
	struct txn t;
	memset(&t, 0, sizeof(t));
	t.hdr = hdr0;
	t.hdr.type = type;
	return t;
}

static void test_delete_bytes(void)
{
	struct txn t = make(TXN_DELETE);
	t.u.del.path = str("/a");
	struct jute_writer w;
	check_roundtrip(&t, &w);
	static const uint8_t want[] = {
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* session */
		0, 0, 0, 42,                                    /* cxid */
		0, 0, 0, 1, 0, 0, 0, 7,                         /* zxid */
		0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,       /* time */
		0, 0, 0, 2,                                     /* type */
		0, 0, 0, 2, '/', 'a'};
	CHECK(w.len == sizeof(want) && memcmp(w.buf, want, w.len) == 0);
	struct txn out;
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), 0);
	CHECK(out.u.del.path.p == w.buf + 36); /* a view */
	jute_writer_free(&w);
}

static void test_every_type(void)
{
	struct jute_writer w;
	struct txn out;

	struct txn t = make(TXN_CREATE);
	t.u.create = (struct txn_create){
		str("/q/0000000003"), str("data"),
		zk_bytes_of(world_acl, sizeof(world_acl)),
		ZK_OWNER_TTL_MASK | 5000, 4, TXN_SHAPE_DIR};
	check_roundtrip(&t, &w);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), 0);
	CHECK_EQ_INT(out.u.create.path.len, 13);
	CHECK_EQ_INT(out.u.create.data.len, 4);
	CHECK_EQ_INT(out.u.create.acl_raw.len, sizeof(world_acl));
	CHECK(memcmp(out.u.create.acl_raw.p, world_acl, sizeof(world_acl)) == 0);
	CHECK_EQ_INT(out.u.create.ephemeral_owner, ZK_OWNER_TTL_MASK | 5000);
	CHECK_EQ_INT(out.u.create.parent_cversion, 4);
	CHECK_EQ_INT(out.u.create.shape, TXN_SHAPE_DIR);
	jute_writer_free(&w);

	t.u.create.data = null_bytes; /* null data, null acl vector */
	t.u.create.acl_raw = zk_bytes_of(null_acl, 4);
	check_roundtrip(&t, &w);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), 0);
	CHECK_EQ_INT(out.u.create.data.len, -1);
	jute_writer_free(&w);

	t = make(TXN_DELETE_CONTAINER);
	t.u.del.path = str("/container");
	check_roundtrip(&t, &w);
	jute_writer_free(&w);

	t = make(TXN_SET_DATA);
	t.u.set_data = (struct txn_set_data){str("/a"), str(""), 9};
	check_roundtrip(&t, &w);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), 0);
	CHECK_EQ_INT(out.u.set_data.data.len, 0);
	CHECK_EQ_INT(out.u.set_data.version, 9);
	jute_writer_free(&w);

	t = make(TXN_SET_ACL);
	t.u.set_acl = (struct txn_set_acl){str("/a"),
					   zk_bytes_of(empty_acl, 4), 3};
	check_roundtrip(&t, &w);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), 0);
	CHECK_EQ_INT(out.u.set_acl.aversion, 3);
	jute_writer_free(&w);

	t = make(TXN_CREATE_SESSION);
	t.u.create_session.timeout_ms = 30000;
	for (int i = 0; i < 16; i++)
		t.u.create_session.passwd[i] = (uint8_t)(i * 17);
	check_roundtrip(&t, &w);
	CHECK_EQ_INT(w.len, 32 + 4 + 16);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), 0);
	CHECK_EQ_INT(out.u.create_session.timeout_ms, 30000);
	CHECK(memcmp(out.u.create_session.passwd, t.u.create_session.passwd,
		     16) == 0);
	jute_writer_free(&w);

	t = make(TXN_CLOSE_SESSION);
	check_roundtrip(&t, &w);
	CHECK_EQ_INT(w.len, 32);
	jute_writer_free(&w);
}

static void test_multi(void)
{
	struct txn_hdr h = hdr0;
	h.type = TXN_MULTI;
	struct txn_op ops[5];
	memset(ops, 0, sizeof(ops));
	ops[0].type = TXN_CREATE;
	ops[0].u.create = (struct txn_create){
		str("/m"), str("x"), zk_bytes_of(world_acl, sizeof(world_acl)),
		0x55, 1, TXN_SHAPE_FILE};
	ops[1].type = TXN_CHECK;
	ops[1].u.check = (struct txn_check){str("/m"), 0};
	ops[2].type = TXN_SET_DATA;
	ops[2].u.set_data = (struct txn_set_data){str("/m"), str("y"), 1};
	ops[3].type = TXN_DELETE;
	ops[3].u.del.path = str("/old");
	ops[4].type = TXN_CHECK;
	ops[4].u.check = (struct txn_check){str("/z"), -1};

	/* built op by op */
	struct jute_writer w;
	jute_writer_init(&w, 0);
	struct txn_multi_builder b;
	CHECK_EQ_INT(txn_encode_multi_begin(&w, &h, &b), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(txn_encode_multi_op(&w, &b, &ops[i]), 0);
	CHECK_EQ_INT(txn_encode_multi_end(&w, &b), 0);

	struct txn t;
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &t), 0);
	CHECK_EQ_INT(t.hdr.type, TXN_MULTI);
	CHECK_EQ_INT(t.u.multi.count, 5);
	CHECK(t.u.multi.ops_raw.p == w.buf + 36);
	CHECK_EQ_INT(t.u.multi.ops_raw.len, w.len - 36);

	struct txn_multi_iter it;
	struct txn_op op;
	txn_multi_iter_init(&it, &t.u.multi);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ_INT(txn_multi_next(&it, &op), 1);
		CHECK_EQ_INT(op.type, ops[i].type);
	}
	CHECK_EQ_INT(txn_multi_next(&it, &op), 0);
	CHECK_EQ_INT(txn_multi_next(&it, &op), 0);

	txn_multi_iter_init(&it, &t.u.multi);
	txn_multi_next(&it, &op);
	CHECK_EQ_INT(op.u.create.ephemeral_owner, 0x55);
	CHECK_EQ_INT(op.u.create.shape, TXN_SHAPE_FILE);
	CHECK_EQ_INT(op.u.create.acl_raw.len, sizeof(world_acl));
	txn_multi_next(&it, &op);
	CHECK_EQ_INT(op.u.check.path.len, 2);
	txn_multi_next(&it, &op);
	CHECK_EQ_INT(op.u.set_data.version, 1);
	txn_multi_next(&it, &op);
	CHECK_EQ_INT(op.u.del.path.len, 4);
	txn_multi_next(&it, &op);
	CHECK_EQ_INT(op.u.check.version, -1);

	/* the decoded view through txn_encode gives the same bytes, and the
	 * whole thing refuses every truncation */
	struct jute_writer w2;
	check_roundtrip(&t, &w2);
	CHECK(w2.len == w.len && memcmp(w.buf, w2.buf, w.len) == 0);
	jute_writer_free(&w2);

	/* the count must match the ops */
	w.buf[35] = 4;
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &t), ZK_CORRUPT);
	w.buf[35] = 6;
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &t), ZK_CORRUPT);
	w.buf[32] = 0xff;
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &t), ZK_CORRUPT);
	jute_writer_free(&w);

	/* an empty multi */
	jute_writer_init(&w, 0);
	CHECK_EQ_INT(txn_encode_multi_begin(&w, &h, &b), 0);
	CHECK_EQ_INT(txn_encode_multi_end(&w, &b), 0);
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &t), 0);
	CHECK_EQ_INT(t.u.multi.count, 0);
	txn_multi_iter_init(&it, &t.u.multi);
	CHECK_EQ_INT(txn_multi_next(&it, &op), 0);
	jute_writer_free(&w);

	/* iterator over corrupt ops: fails, and stays failed */
	static const uint8_t bad_ops[] = {0, 0, 0, 7, 0, 0, 0, 1, '/'};
	struct txn_multi m = {1, zk_bytes_of(bad_ops, sizeof(bad_ops))};
	txn_multi_iter_init(&it, &m);
	CHECK_EQ_INT(txn_multi_next(&it, &op), ZK_CORRUPT); /* SET_ACL */
	CHECK_EQ_INT(txn_multi_next(&it, &op), ZK_CORRUPT);
	m.count = 0; /* bytes left over */
	txn_multi_iter_init(&it, &m);
	CHECK_EQ_INT(txn_multi_next(&it, &op), ZK_CORRUPT);
}

static void test_refusals(void)
{
	struct jute_writer w;
	jute_writer_init(&w, 0);

	/* encoder refuses what the decoder would refuse */
	static const uint8_t short_acl[] = {0, 0, 0, 1, 0, 0, 0, 31};
	struct txn t = make(TXN_SET_ACL);
	t.u.set_acl = (struct txn_set_acl){
		str("/a"), zk_bytes_of(short_acl, sizeof(short_acl)), 1};
	CHECK_EQ_INT(txn_encode(&w, &t), ZK_BADARGUMENTS);
	t.u.set_acl.acl_raw = zk_bytes_of(world_acl, sizeof(world_acl) - 1);
	CHECK_EQ_INT(txn_encode(&w, &t), ZK_BADARGUMENTS);
	uint8_t long_acl[sizeof(world_acl) + 1];
	memcpy(long_acl, world_acl, sizeof(world_acl));
	long_acl[sizeof(world_acl)] = 0;
	t.u.set_acl.acl_raw = zk_bytes_of(long_acl, sizeof(long_acl));
	CHECK_EQ_INT(txn_encode(&w, &t), ZK_BADARGUMENTS);
	t.u.set_acl.acl_raw = null_bytes;
	CHECK_EQ_INT(txn_encode(&w, &t), ZK_BADARGUMENTS);
	t.u.set_acl.acl_raw = zk_bytes_of(world_acl, sizeof(world_acl));
	t.u.set_acl.path = null_bytes;
	CHECK_EQ_INT(txn_encode(&w, &t), ZK_BADARGUMENTS);

	t = make(TXN_CREATE);
	t.u.create = (struct txn_create){str("/a"), null_bytes,
					 zk_bytes_of(empty_acl, 4), 0, 0, 3};
	CHECK_EQ_INT(txn_encode(&w, &t), ZK_BADARGUMENTS); /* shape */
	t.u.create.shape = 0;
	t.u.create.data.len = -2;
	CHECK_EQ_INT(txn_encode(&w, &t), ZK_BADARGUMENTS);

	static const int32_t bad_types[] = {0, 3, 13, 99, -1, -12};
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		t = make(bad_types[i]);
		t.u.del.path = str("/a");
		CHECK_EQ_INT(txn_encode(&w, &t), ZK_BADARGUMENTS);
	}
	struct txn_multi_builder b;
	CHECK_EQ_INT(txn_encode_multi_begin(&w, &hdr0, &b), ZK_BADARGUMENTS);
	struct txn_hdr h = hdr0;
	h.type = TXN_MULTI;
	CHECK_EQ_INT(txn_encode_multi_begin(&w, &h, &b), 0);
	struct txn_op op;
	memset(&op, 0, sizeof(op));
	op.type = TXN_SET_ACL; /* not a multi op */
	CHECK_EQ_INT(txn_encode_multi_op(&w, &b, &op), ZK_BADARGUMENTS);
	op.type = TXN_DELETE; /* null path */
	op.u.del.path = null_bytes;
	CHECK_EQ_INT(txn_encode_multi_op(&w, &b, &op), ZK_BADARGUMENTS);
	CHECK_EQ_INT(w.len, 36); /* nothing written by the refused ops */
	jute_writer_free(&w);

	/* decoder refusals, from valid bytes changed by hand */
	t = make(TXN_CREATE);
	t.u.create = (struct txn_create){str("/a"), str("d"),
					 zk_bytes_of(world_acl, sizeof(world_acl)),
					 0, 0, TXN_SHAPE_FILE};
	jute_writer_init(&w, 0);
	CHECK_EQ_INT(txn_encode(&w, &t), 0);
	struct txn out;
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), 0);
	size_t shape_at = w.len - 1;
	w.buf[shape_at] = 3;
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), ZK_CORRUPT);
	w.buf[shape_at] = TXN_SHAPE_FILE;
	w.buf[32 + 3] = 0xff; /* path length 0xffffff.. -> bad */
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), ZK_CORRUPT);
	w.buf[32] = w.buf[33] = w.buf[34] = 0xff; /* path length -1: null */
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), ZK_CORRUPT);
	w.buf[32] = w.buf[33] = w.buf[34] = 0;
	w.buf[35] = 2;
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), 0);
	w.buf[31] = 13; /* a standalone check */
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), ZK_CORRUPT);
	w.buf[31] = 1;
	w.buf[32 + 6 + 5 + 3] = 2; /* ACL count 2, only one there */
	CHECK_EQ_INT(txn_decode(w.buf, w.len, &out), ZK_CORRUPT);
	jute_writer_free(&w);
	CHECK_EQ_INT(txn_decode(NULL, 0, &out), ZK_CORRUPT);
}

/* ---------------------------------------------------------------- random */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
	return z ^ (z >> 31);
}

static uint8_t chars[1 << 14];

static struct zk_bytes rand_bytes(bool nullable)
{
	if (nullable && rng() % 8 == 0)
		return null_bytes;
	size_t n = rng() % 30;
	size_t at = rng() % (sizeof(chars) - n);
	return zk_bytes_of(chars + at, n);
}

/* A random well-formed ACL vector in a pooled writer. */
static struct jute_writer acl_pool[16];
static int acl_n;

static struct zk_bytes rand_acl(void)
{
	struct jute_writer *w = &acl_pool[acl_n++];
	jute_writer_init(w, 0);
	struct zk_acl a[3];
	struct zk_acl_list l = {(int32_t)(rng() % 4), a};
	for (int32_t i = 0; i < l.n; i++) {
		a[i].perms = (int32_t)rng();
		a[i].id.scheme = rand_bytes(true);
		a[i].id.id = rand_bytes(true);
	}
	zk_put_acl_list(w, &l);
	return zk_bytes_of(w->buf, w->len);
}

static void rand_op(int32_t type, struct txn_op *op)
{
	op->type = type;
	switch (type) {
	case TXN_CREATE:
		op->u.create = (struct txn_create){
			rand_bytes(false), rand_bytes(true), rand_acl(),
			(int64_t)rng(), (int32_t)rng(), (int32_t)(rng() % 3)};
		break;
	case TXN_DELETE:
		op->u.del.path = rand_bytes(false);
		break;
	case TXN_SET_DATA:
		op->u.set_data = (struct txn_set_data){
			rand_bytes(false), rand_bytes(true), (int32_t)rng()};
		break;
	default:
		op->u.check = (struct txn_check){rand_bytes(false),
						 (int32_t)rng()};
		break;
	}
}

static uint64_t random_seed;

static void test_random_roundtrip(void)
{
	rng_state = random_seed;
	for (size_t i = 0; i < sizeof(chars); i++)
		chars[i] = (uint8_t)rng();
	static const int32_t types[] = {
		TXN_CREATE, TXN_DELETE, TXN_DELETE_CONTAINER, TXN_SET_DATA,
		TXN_SET_ACL, TXN_CREATE_SESSION, TXN_CLOSE_SESSION, TXN_MULTI};
	static const int32_t op_types[] = {TXN_CREATE, TXN_DELETE,
					   TXN_SET_DATA, TXN_CHECK};
	for (int i = 0; i < 500; i++) {
		struct txn t = make(types[rng() % 8]);
		t.hdr.session = (int64_t)rng();
		t.hdr.cxid = (int32_t)rng();
		t.hdr.zxid = (int64_t)rng();
		t.hdr.time = (int64_t)rng();
		struct jute_writer mw;
		jute_writer_init(&mw, 0);
		struct txn_op ops[6];
		int nops = 0;
		switch (t.hdr.type) {
		case TXN_CREATE:
		case TXN_DELETE:
		case TXN_SET_DATA: {
			struct txn_op op;
			rand_op(t.hdr.type, &op);
			if (t.hdr.type == TXN_CREATE)
				t.u.create = op.u.create;
			else if (t.hdr.type == TXN_DELETE)
				t.u.del = op.u.del;
			else
				t.u.set_data = op.u.set_data;
			break;
		}
		case TXN_DELETE_CONTAINER:
			t.u.del.path = rand_bytes(false);
			break;
		case TXN_SET_ACL:
			t.u.set_acl = (struct txn_set_acl){
				rand_bytes(false), rand_acl(), (int32_t)rng()};
			break;
		case TXN_CREATE_SESSION:
			t.u.create_session.timeout_ms = (int32_t)rng();
			for (int k = 0; k < 16; k++)
				t.u.create_session.passwd[k] = (uint8_t)rng();
			break;
		case TXN_MULTI: {
			struct txn_multi_builder b;
			nops = (int)(rng() % 6);
			txn_encode_multi_begin(&mw, &t.hdr, &b);
			for (int k = 0; k < nops; k++) {
				rand_op(op_types[rng() % 4], &ops[k]);
				CHECK_EQ_INT(txn_encode_multi_op(&mw, &b, &ops[k]), 0);
			}
			CHECK_EQ_INT(txn_encode_multi_end(&mw, &b), 0);
			CHECK_EQ_INT(txn_decode(mw.buf, mw.len, &t), 0);
			break;
		}
		default:
			break;
		}
		struct jute_writer w;
		check_roundtrip(&t, &w);
		if (t.hdr.type == TXN_MULTI) {
			struct txn_multi_iter it;
			struct txn_op op;
			txn_multi_iter_init(&it, &t.u.multi);
			for (int k = 0; k < nops; k++) {
				CHECK_EQ_INT(txn_multi_next(&it, &op), 1);
				CHECK_EQ_INT(op.type, ops[k].type);
			}
			CHECK_EQ_INT(txn_multi_next(&it, &op), 0);
		}
		/* byte flips: any result but a crash */
		for (int k = 0; k < 20 && w.len; k++) {
			size_t at = rng() % w.len;
			uint8_t old = w.buf[at];
			w.buf[at] = (uint8_t)rng();
			struct txn out;
			int rc = decode_copy(w.buf, w.len, &out);
			CHECK(rc == 0 || rc == ZK_CORRUPT);
			w.buf[at] = old;
		}
		jute_writer_free(&w);
		jute_writer_free(&mw);
		while (acl_n > 0)
			jute_writer_free(&acl_pool[--acl_n]);
	}
}

int main(int argc, char **argv)
{
	random_seed = check_seed(argc, argv);
	RUN_TEST(test_delete_bytes);
	RUN_TEST(test_every_type);
	RUN_TEST(test_multi);
	RUN_TEST(test_refusals);
	RUN_TEST(test_random_roundtrip);
	return check_report();
}
