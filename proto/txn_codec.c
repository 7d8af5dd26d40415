/*
 * txn_codec.c - transactions to bytes and back; the format is the table in
 * include/zabfs/txn_codec.h.
 *
 * Each body is declared once as a field list (the *_FIELDS macros); the
 * list gives its reader (get_<record>), writer (put_<record>) and the
 * encoder's check (valid_<record>), so the three cannot drift apart.  The
 * per-kind helpers below define what each field kind means; the checks in
 * valid_<kind> are exactly the refusals of get_<kind>, which is what makes
 * invariant 2 of the header hold.
 */
#include "zabfs/txn_codec.h"

#include <string.h>

#include "zabfs/err.h"
#include "zabfs/zkproto.h"

/* --------------------------------------------------------------- fields */

/* path: a non-null ustring. */
static void get_path(struct jute_reader *r, struct zk_bytes *v)
{
	*v = jute_get_buffer(r);
	if (v->len < 0)
		r->failed = true;
}

static void put_path(struct jute_writer *w, struct zk_bytes v)
{
	jute_put_buffer(w, v);
}

static bool valid_path(struct zk_bytes v)
{
	return v.len >= 0;
}

/* bytes: a buffer, -1 = null. */
static void get_bytes(struct jute_reader *r, struct zk_bytes *v)
{
	*v = jute_get_buffer(r);
}

static void put_bytes(struct jute_writer *w, struct zk_bytes v)
{
	jute_put_buffer(w, v);
}

static bool valid_bytes(struct zk_bytes v)
{
	return v.len >= -1;
}

/* acl: an encoded vector<ACL>, kept as its raw bytes. */
static void get_acl(struct jute_reader *r, struct zk_bytes *v)
{
	*v = zk_get_acls(r).raw;
}

static void put_acl(struct jute_writer *w, struct zk_bytes v)
{
	jute_put_raw(w, v.p, (size_t)v.len);
}

static bool valid_acl(struct zk_bytes v)
{
	if (v.len < 0)
		return false;
	struct jute_reader r;
	jute_reader_init(&r, v.p, (size_t)v.len);
	zk_get_acls(&r);
	return jute_reader_done(&r);
}

static void get_i32(struct jute_reader *r, int32_t *v)
{
	*v = jute_get_int(r);
}

static void put_i32(struct jute_writer *w, int32_t v)
{
	jute_put_int(w, v);
}

static bool valid_i32(int32_t v)
{
	(void)v;
	return true;
}

static void get_i64(struct jute_reader *r, int64_t *v)
{
	*v = jute_get_long(r);
}

static void put_i64(struct jute_writer *w, int64_t v)
{
	jute_put_long(w, v);
}

static bool valid_i64(int64_t v)
{
	(void)v;
	return true;
}

/* shape: an int in enum txn_shape. */
static bool valid_shape(int32_t v)
{
	return v == TXN_SHAPE_UNSET || v == TXN_SHAPE_FILE ||
	       v == TXN_SHAPE_DIR;
}

static void get_shape(struct jute_reader *r, int32_t *v)
{
	*v = jute_get_int(r);
	if (!valid_shape(*v))
		r->failed = true;
}

static void put_shape(struct jute_writer *w, int32_t v)
{
	jute_put_int(w, v);
}

/* passwd: 16 raw bytes, no length. */
static void get_passwd(struct jute_reader *r, uint8_t (*v)[16])
{
	const uint8_t *p = jute_get_raw(r, sizeof(*v));
	if (p)
		memcpy(*v, p, sizeof(*v));
	else
		memset(*v, 0, sizeof(*v));
}

static void put_passwd(struct jute_writer *w, const uint8_t *v)
{
	jute_put_raw(w, v, 16);
}

static bool valid_passwd(const uint8_t *v)
{
	(void)v;
	return true;
}

/* --------------------------------------------------------------- bodies */

#define CREATE_FIELDS(X)                                                     \
	X(path, path)                                                        \
	X(bytes, data)                                                       \
	X(acl, acl_raw)                                                      \
	X(i64, ephemeral_owner) X(i32, parent_cversion) X(shape, shape)
#define DELETE_FIELDS(X) X(path, path)
#define SET_DATA_FIELDS(X) X(path, path) X(bytes, data) X(i32, version)
#define SET_ACL_FIELDS(X) X(path, path) X(acl, acl_raw) X(i32, aversion)
#define CHECK_FIELDS(X) X(path, path) X(i32, version)
#define CREATE_SESSION_FIELDS(X) X(i32, timeout_ms) X(passwd, passwd)

/* R(record, FIELDS): struct txn_<record> and its fields. */
#define RECORD_MAP(R)                                                        \
	R(create, CREATE_FIELDS)                                             \
	R(delete, DELETE_FIELDS)                                             \
	R(set_data, SET_DATA_FIELDS)                                         \
	R(set_acl, SET_ACL_FIELDS)                                           \
	R(check, CHECK_FIELDS)                                               \
	R(create_session, CREATE_SESSION_FIELDS)

#define GET_FIELD(kind, name) get_##kind(r, &rec->name);
#define PUT_FIELD(kind, name) put_##kind(w, rec->name);
#define VALID_FIELD(kind, name) valid_##kind(rec->name) &&
#define RECORD_CODEC(record, FIELDS)                                         \
	static void get_##record(struct jute_reader *r,                      \
				 struct txn_##record *rec)                   \
	{                                                                    \
		FIELDS(GET_FIELD)                                            \
	}                                                                    \
	static void put_##record(struct jute_writer *w,                      \
				 const struct txn_##record *rec)             \
	{                                                                    \
		FIELDS(PUT_FIELD)                                            \
	}                                                                    \
	static bool valid_##record(const struct txn_##record *rec)           \
	{                                                                    \
		return FIELDS(VALID_FIELD) true;                             \
	}
RECORD_MAP(RECORD_CODEC)
#undef RECORD_CODEC
#undef VALID_FIELD
#undef PUT_FIELD
#undef GET_FIELD

/* X(code, record, member): the bodies of a top-level transaction (besides
 * TXN_MULTI and the empty TXN_CLOSE_SESSION) and of a multi's ops. */
#define TXN_BODY_MAP(X)                                                      \
	X(TXN_CREATE, create, create)                                        \
	X(TXN_DELETE, delete, del)                                           \
	X(TXN_DELETE_CONTAINER, delete, del)                                 \
	X(TXN_SET_DATA, set_data, set_data)                                  \
	X(TXN_SET_ACL, set_acl, set_acl)                                     \
	X(TXN_CREATE_SESSION, create_session, create_session)
#define OP_BODY_MAP(X)                                                       \
	X(TXN_CREATE, create, create)                                        \
	X(TXN_DELETE, delete, del)                                           \
	X(TXN_SET_DATA, set_data, set_data)                                  \
	X(TXN_CHECK, check, check)

/* ------------------------------------------------------------------ ops */

/* An op: int type + body. */
static void get_op(struct jute_reader *r, struct txn_op *op)
{
	op->type = jute_get_int(r);
	if (!jute_reader_ok(r))
		return;
	switch (op->type) {
#define OP_GET(code, record, member)                                         \
	case code:                                                           \
		get_##record(r, &op->u.member);                              \
		return;
		OP_BODY_MAP(OP_GET)
#undef OP_GET
	}
	r->failed = true;
}

/* 0, or ZK_BADARGUMENTS if op is not one get_op would give back. */
static int put_op(struct jute_writer *w, const struct txn_op *op)
{
	switch (op->type) {
#define OP_PUT(code, record, member)                                         \
	case code:                                                           \
		if (!valid_##record(&op->u.member))                          \
			return ZK_BADARGUMENTS;                              \
		jute_put_int(w, op->type);                                   \
		put_##record(w, &op->u.member);                              \
		return 0;
		OP_BODY_MAP(OP_PUT)
#undef OP_PUT
	}
	return ZK_BADARGUMENTS;
}

void txn_multi_iter_init(struct txn_multi_iter *it, const struct txn_multi *m)
{
	it->p = m->ops_raw.p;
	it->left = m->ops_raw.len < 0 ? 0 : (size_t)m->ops_raw.len;
	it->remaining = m->count;
}

/* An iterator that found corruption keeps remaining < 0: it stays failed. */
int txn_multi_next(struct txn_multi_iter *it, struct txn_op *op)
{
	if (it->remaining == 0 && it->left == 0)
		return 0;
	if (it->remaining <= 0) {
		it->remaining = -1;
		return ZK_CORRUPT;
	}
	struct jute_reader r;
	jute_reader_init(&r, it->p, it->left);
	get_op(&r, op);
	if (!jute_reader_ok(&r)) {
		it->remaining = -1;
		return ZK_CORRUPT;
	}
	it->p += r.pos;
	it->left -= r.pos;
	it->remaining--;
	return 1;
}

/* True if m's ops are exactly count well-formed ops. */
static bool valid_multi(const struct txn_multi *m)
{
	struct txn_multi_iter it;
	struct txn_op op;
	int rc;
	if (m->count < 0 || m->ops_raw.len < 0)
		return false;
	txn_multi_iter_init(&it, m);
	while ((rc = txn_multi_next(&it, &op)) == 1)
		;
	return rc == 0;
}

/* ------------------------------------------------------------ top level */

static void put_hdr(struct jute_writer *w, const struct txn_hdr *h)
{
	jute_put_long(w, h->session);
	jute_put_int(w, h->cxid);
	jute_put_long(w, h->zxid);
	jute_put_long(w, h->time);
	jute_put_int(w, h->type);
}

int txn_encode(struct jute_writer *w, const struct txn *t)
{
	switch (t->hdr.type) {
#define TXN_PUT(code, record, member)                                        \
	case code:                                                           \
		if (!valid_##record(&t->u.member))                           \
			return ZK_BADARGUMENTS;                              \
		put_hdr(w, &t->hdr);                                         \
		put_##record(w, &t->u.member);                               \
		break;
		TXN_BODY_MAP(TXN_PUT)
#undef TXN_PUT
	case TXN_CLOSE_SESSION:
		put_hdr(w, &t->hdr);
		break;
	case TXN_MULTI:
		if (!valid_multi(&t->u.multi))
			return ZK_BADARGUMENTS;
		put_hdr(w, &t->hdr);
		jute_put_int(w, t->u.multi.count);
		jute_put_raw(w, t->u.multi.ops_raw.p,
			     (size_t)t->u.multi.ops_raw.len);
		break;
	default:
		return ZK_BADARGUMENTS;
	}
	return jute_writer_ok(w) ? 0 : ZK_NOMEM;
}

int txn_encode_multi_begin(struct jute_writer *w, const struct txn_hdr *hdr,
			   struct txn_multi_builder *b)
{
	if (hdr->type != TXN_MULTI)
		return ZK_BADARGUMENTS;
	put_hdr(w, hdr);
	b->count_off = w->len;
	b->count = 0;
	jute_put_int(w, 0);
	return 0;
}

int txn_encode_multi_op(struct jute_writer *w, struct txn_multi_builder *b,
			const struct txn_op *op)
{
	int rc = put_op(w, op);
	if (rc == 0)
		b->count++;
	return rc;
}

int txn_encode_multi_end(struct jute_writer *w,
			 const struct txn_multi_builder *b)
{
	jute_patch_int(w, b->count_off, b->count);
	return jute_writer_ok(w) ? 0 : ZK_NOMEM;
}

int txn_decode(const uint8_t *buf, size_t len, struct txn *out)
{
	struct jute_reader r;
	jute_reader_init(&r, buf, len);
	out->hdr.session = jute_get_long(&r);
	out->hdr.cxid = jute_get_int(&r);
	out->hdr.zxid = jute_get_long(&r);
	out->hdr.time = jute_get_long(&r);
	out->hdr.type = jute_get_int(&r);
	if (!jute_reader_ok(&r))
		return ZK_CORRUPT;
	switch (out->hdr.type) {
#define TXN_GET(code, record, member)                                        \
	case code:                                                           \
		get_##record(&r, &out->u.member);                            \
		break;
		TXN_BODY_MAP(TXN_GET)
#undef TXN_GET
	case TXN_CLOSE_SESSION:
		break;
	case TXN_MULTI:
		out->u.multi.count = jute_get_int(&r);
		if (!jute_reader_ok(&r) || out->u.multi.count < 0 ||
		    jute_reader_left(&r) > INT32_MAX)
			return ZK_CORRUPT;
		out->u.multi.ops_raw = zk_bytes_of(r.buf + r.pos,
						   jute_reader_left(&r));
		if (!valid_multi(&out->u.multi))
			return ZK_CORRUPT;
		r.pos = r.len;
		break;
	default:
		return ZK_CORRUPT;
	}
	return jute_reader_done(&r) ? 0 : ZK_CORRUPT;
}
