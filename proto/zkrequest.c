/*
 * zkrequest.c - client requests: decoding (and encoding, for the client
 * side of tests and tools), list iterators, the connect request, the
 * four-letter words.  See include/zabfs/zkproto.h for the design.
 *
 * Every record's decoder and encoder is generated from its ZK_FIELDS_*
 * list: get_<kind> / put_<kind> below handle one field of each kind.  A
 * decoder reads the whole record through the sticky jute_reader and checks
 * once at the end (jute_reader_done), so a decoder never branches on
 * partial results.
 *
 * Wire facts (ZooKeeper 3.9 zookeeper.jute, MultiOperationRecord):
 *   RequestHeader  int xid; int type
 *   ACL            int perms; ustring scheme; ustring id     (>= 12 bytes)
 *   MultiHeader    int type; boolean done; int err           (9 bytes)
 *   multi          { MultiHeader{op, false, -1} record }* MultiHeader{-1,
 *                  true, -1}; the reader stops at the first done != 0 and
 *                  ignores that header's type and err, as ZooKeeper does.
 */
#include "zabfs/zkproto.h"

#include <string.h>

#include "zabfs/err.h"

#define ACL_MIN_SIZE 12
#define STRING_MIN_SIZE 4

/* ----------------------------------------------------------------- lists */

/* Reads one ACL; the reader fails on a bad one. */
static void get_acl(struct jute_reader *r, struct zk_acl *a)
{
	a->perms = jute_get_int(r);
	a->id.scheme = jute_get_buffer(r);
	a->id.id = jute_get_buffer(r);
}

/* A vector of ACLs or of strings, every element read (so checked). */
static struct zk_vec get_vec(struct jute_reader *r, size_t min_elem,
			     bool acl)
{
	struct zk_vec v = {0, {NULL, -1}};
	size_t start = r->pos;
	int32_t n = jute_get_count(r, min_elem);
	for (int32_t i = 0; i < n && jute_reader_ok(r); i++) {
		if (acl) {
			struct zk_acl a;
			get_acl(r, &a);
		} else {
			jute_get_buffer(r);
		}
	}
	if (!jute_reader_ok(r))
		return v;
	v.count = n;
	v.raw = zk_bytes_of(r->buf + start, r->pos - start);
	return v;
}

struct zk_vec zk_get_acls(struct jute_reader *r)
{
	return get_vec(r, ACL_MIN_SIZE, true);
}

struct zk_vec zk_get_strings(struct jute_reader *r)
{
	return get_vec(r, STRING_MIN_SIZE, false);
}

void zk_vec_iter_init(struct zk_vec_iter *it, struct zk_bytes raw)
{
	jute_reader_init(&it->r, raw.p, raw.len < 0 ? 0 : (size_t)raw.len);
	it->remaining = raw.len < 0 ? 0 : jute_get_count(&it->r, 1);
}

/* Common head of the next functions: 1 to read one more, 0 at a clean
 * end, ZK_MALFORMED otherwise. */
static int vec_more(struct zk_vec_iter *it)
{
	if (!jute_reader_ok(&it->r))
		return ZK_MALFORMED;
	if (it->remaining > 0)
		return 1;
	return jute_reader_left(&it->r) == 0 ? 0 : ZK_MALFORMED;
}

int zk_vec_next_acl(struct zk_vec_iter *it, struct zk_acl *out)
{
	int rc = vec_more(it);
	if (rc != 1)
		return rc;
	get_acl(&it->r, out);
	it->remaining--;
	return jute_reader_ok(&it->r) ? 1 : ZK_MALFORMED;
}

int zk_vec_next_string(struct zk_vec_iter *it, struct zk_bytes *out)
{
	int rc = vec_more(it);
	if (rc != 1)
		return rc;
	*out = jute_get_buffer(&it->r);
	it->remaining--;
	return jute_reader_ok(&it->r) ? 1 : ZK_MALFORMED;
}

/* ---------------------------------------------------------------- fields */

static void get_bytes(struct jute_reader *r, struct zk_bytes *v)
{
	*v = jute_get_buffer(r);
}

static void get_i32(struct jute_reader *r, int32_t *v)
{
	*v = jute_get_int(r);
}

static void get_i64(struct jute_reader *r, int64_t *v)
{
	*v = jute_get_long(r);
}

static void get_boolean(struct jute_reader *r, bool *v)
{
	*v = jute_get_bool(r);
}

static void get_acls(struct jute_reader *r, struct zk_vec *v)
{
	*v = zk_get_acls(r);
}

static void get_strings(struct jute_reader *r, struct zk_vec *v)
{
	*v = zk_get_strings(r);
}

static void get_ops(struct jute_reader *r, struct zk_ops *v);

static void put_bytes(struct jute_writer *w, struct zk_bytes v)
{
	jute_put_buffer(w, v);
}

static void put_i32(struct jute_writer *w, int32_t v)
{
	jute_put_int(w, v);
}

static void put_i64(struct jute_writer *w, int64_t v)
{
	jute_put_long(w, v);
}

static void put_boolean(struct jute_writer *w, bool v)
{
	jute_put_bool(w, v);
}

/* Lists are written back as they were read; a null view (len -1) is
 * written as a null vector, or as an empty multi. */
static void put_acls(struct jute_writer *w, struct zk_vec v)
{
	if (v.raw.len < 0)
		jute_put_int(w, -1);
	else
		jute_put_raw(w, v.raw.p, (size_t)v.raw.len);
}

static void put_strings(struct jute_writer *w, struct zk_vec v)
{
	put_acls(w, v);
}

static void put_ops(struct jute_writer *w, struct zk_ops v)
{
	if (v.raw.len < 0)
		zk_put_multi_end(w);
	else
		jute_put_raw(w, v.raw.p, (size_t)v.raw.len);
}

/* --------------------------------------------------------------- records */

/* decode_<record>(r, body) and encode_<record>(w, body). */
#define GET_FIELD(kind, name) get_##kind(r, &rec->name);
#define PUT_FIELD(kind, name) put_##kind(w, rec->name);
#define RECORD_CODEC(record, FIELDS)                                         \
	static void decode_##record(struct jute_reader *r,                   \
				    union zk_request_body *u)                \
	{                                                                    \
		struct zk_##record##_request *rec = &u->record;              \
		FIELDS(GET_FIELD)                                            \
	}                                                                    \
	static void encode_##record(struct jute_writer *w,                   \
				    const union zk_request_body *u)          \
	{                                                                    \
		const struct zk_##record##_request *rec = &u->record;        \
		FIELDS(PUT_FIELD)                                            \
	}
ZK_RECORD_MAP(RECORD_CODEC)
#undef RECORD_CODEC
#undef PUT_FIELD
#undef GET_FIELD

static void decode_none(struct jute_reader *r, union zk_request_body *u)
{
	(void)r;
	(void)u;
}

static void encode_none(struct jute_writer *w, const union zk_request_body *u)
{
	(void)w;
	(void)u;
}

/* ------------------------------------------------------------------ multi */

/* X(name, record): the op types a multi or multiRead may hold
 * (MultiOperationRecord); mixing reads and writes is the server's check. */
#define MULTI_OP_MAP(X)                                                      \
	X(CREATE, create)                                                    \
	X(CREATE2, create)                                                   \
	X(CREATE_CONTAINER, create)                                          \
	X(CREATE_TTL, create_ttl)                                            \
	X(DELETE, path_version)                                              \
	X(SET_DATA, set_data)                                                \
	X(CHECK, path_version)                                               \
	X(GET_CHILDREN, path_watch)                                          \
	X(GET_DATA, path_watch)

#define MULTI_HEADER_SIZE 9

/* Reads one op at r: 1 (op set), 0 (done marker) or ZK_MALFORMED. */
static int decode_multi_op(struct jute_reader *r, struct zk_multi_op *op)
{
	op->type = jute_get_int(r);
	bool done = jute_get_bool(r);
	jute_get_int(r); /* err: -1 from clients, not checked */
	if (!jute_reader_ok(r))
		return ZK_MALFORMED;
	if (done)
		return 0;
	switch (op->type) {
#define MULTI_DECODE(name, record)                                           \
	case ZK_OP_##name:                                                   \
		decode_##record(r, &op->u);                                  \
		break;
		MULTI_OP_MAP(MULTI_DECODE)
#undef MULTI_DECODE
	default:
		return ZK_MALFORMED;
	}
	return jute_reader_ok(r) ? 1 : ZK_MALFORMED;
}

static void get_ops(struct jute_reader *r, struct zk_ops *v)
{
	size_t start = r->pos;
	struct zk_multi_op op;
	int32_t n = 0;
	int rc;
	v->count = 0;
	v->raw = zk_bytes_of(NULL, 0);
	/* Each op takes at least MULTI_HEADER_SIZE bytes: this ends. */
	while ((rc = decode_multi_op(r, &op)) == 1)
		n++;
	if (rc < 0) {
		r->failed = true;
		return;
	}
	v->count = n;
	v->raw = zk_bytes_of(r->buf + start, r->pos - start);
}

void zk_multi_iter_init(struct zk_multi_iter *it, struct zk_ops ops)
{
	jute_reader_init(&it->r, ops.raw.p,
			 ops.raw.len < 0 ? 0 : (size_t)ops.raw.len);
	it->done = ops.raw.len < 0;
}

/* After an error the reader stays failed, so every later call fails too. */
int zk_multi_next(struct zk_multi_iter *it, struct zk_multi_op *op)
{
	if (it->done)
		return 0;
	int rc = decode_multi_op(&it->r, op);
	if (rc == 0 && jute_reader_left(&it->r) != 0)
		rc = ZK_MALFORMED;
	if (rc < 0)
		it->r.failed = true;
	it->done = rc == 0;
	return rc;
}

int zk_multi_op_encode(struct jute_writer *w, const struct zk_multi_op *op)
{
	switch (op->type) {
#define MULTI_ENCODE(name, record)                                           \
	case ZK_OP_##name:                                                   \
		zk_put_multi_header(w, op->type, false, -1);                 \
		encode_##record(w, &op->u);                                  \
		return 0;
		MULTI_OP_MAP(MULTI_ENCODE)
#undef MULTI_ENCODE
	}
	return ZK_UNIMPLEMENTED;
}

/* --------------------------------------------------------------- requests */

int zk_request_decode(const uint8_t *frame, size_t len, int32_t max_len,
		      struct zk_request *out)
{
	struct jute_reader r;
	jute_reader_init(&r, frame, len);
	r.max_len = max_len;
	out->xid = jute_get_int(&r);
	out->type = jute_get_int(&r);
	if (!jute_reader_ok(&r))
		return ZK_MALFORMED;
	switch (out->type) {
#define REQUEST_DECODE(name, code, record)                                   \
	case ZK_OP_##name:                                                   \
		decode_##record(&r, &out->u);                                \
		break;
		ZK_OP_MAP(REQUEST_DECODE)
#undef REQUEST_DECODE
	default:
		return ZK_UNIMPLEMENTED;
	}
	return jute_reader_done(&r) ? 0 : ZK_MALFORMED;
}

int zk_request_encode(struct jute_writer *w, const struct zk_request *req)
{
	switch (req->type) {
#define REQUEST_ENCODE(name, code, record)                                   \
	case ZK_OP_##name:                                                   \
		jute_put_int(w, req->xid);                                   \
		jute_put_int(w, req->type);                                  \
		encode_##record(w, &req->u);                                 \
		break;
		ZK_OP_MAP(REQUEST_ENCODE)
#undef REQUEST_ENCODE
	default:
		return ZK_UNIMPLEMENTED;
	}
	return jute_writer_ok(w) ? 0 : ZK_NOMEM;
}

/* -------------------------------------------------------------- handshake */

int zk_connect_request_decode(const uint8_t *frame, size_t len,
			      int32_t max_len, struct zk_connect_request *out)
{
	struct jute_reader r;
	jute_reader_init(&r, frame, len);
	r.max_len = max_len;
	out->protocol_version = jute_get_int(&r);
	out->last_zxid_seen = jute_get_long(&r);
	out->timeout_ms = jute_get_int(&r);
	out->session_id = jute_get_long(&r);
	out->passwd = jute_get_buffer(&r);
	out->has_read_only = jute_reader_ok(&r) && jute_reader_left(&r) > 0;
	out->read_only = out->has_read_only && jute_get_bool(&r);
	/* Bytes after readOnly are ignored, as ZooKeeper ignores them. */
	return jute_reader_ok(&r) ? 0 : ZK_MALFORMED;
}

void zk_put_connect_request(struct jute_writer *w,
			    const struct zk_connect_request *c)
{
	jute_put_int(w, c->protocol_version);
	jute_put_long(w, c->last_zxid_seen);
	jute_put_int(w, c->timeout_ms);
	jute_put_long(w, c->session_id);
	jute_put_buffer(w, c->passwd);
	if (c->has_read_only)
		jute_put_bool(w, c->read_only);
}

/* ------------------------------------------------------ four-letter words */

/* FourLetterCommands: every command the client port answers. */
static const char *const four_letter_words[] = {
	"ruok", "srvr", "stat", "mntr", "conf", "cons", "crst", "srst", "wchs",
	"wchc", "wchp", "dump", "envi", "dirs", "isro", "gtmk", "stmk", "hash",
};

const char *zk_4lw_name(int32_t first_word)
{
	uint32_t v = (uint32_t)first_word;
	char s[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8),
		     (char)v};
	size_t n = sizeof(four_letter_words) / sizeof(four_letter_words[0]);
	for (size_t i = 0; i < n; i++)
		if (memcmp(four_letter_words[i], s, 4) == 0)
			return four_letter_words[i];
	return NULL;
}
