/*
 * peer.c - encode and decode of the peer messages declared in
 * include/zabfs/peer.h.
 *
 * Design
 *   The field lists of peer.h generate one put_<set>() and one get_<set>()
 *   per field set; the message table dispatches on the type code.  Decoding
 *   goes through the jute reader, whose failure is sticky, so a decoder
 *   reads every field and checks once at the end (invariants in peer.h).
 */
#include "zabfs/peer.h"

#include "zabfs/err.h"

static void put_u32(struct jute_writer *w, uint32_t v)
{
	jute_put_int(w, (int32_t)v);
}

static void put_i64(struct jute_writer *w, int64_t v)
{
	jute_put_long(w, v);
}

static void put_bytes(struct jute_writer *w, struct zk_bytes b)
{
	jute_put_buffer(w, b);
}

static uint32_t get_u32(struct jute_reader *r)
{
	return (uint32_t)jute_get_int(r);
}

static int64_t get_i64(struct jute_reader *r)
{
	return jute_get_long(r);
}

/* A bytes field: never null (the reader's max_len bounds the length). */
static struct zk_bytes get_bytes(struct jute_reader *r)
{
	struct zk_bytes b = jute_get_buffer(r);
	if (b.len < 0)
		r->failed = true;
	return b;
}

static bool bytes_ok(struct zk_bytes b)
{
	return b.len >= 0 && (uint32_t)b.len <= PEER_MAX_DATA;
}

/* Only bytes fields have a range; integers take any value. */
#define VALID_u32(v) true
#define VALID_i64(v) true
#define VALID_bytes(v) bytes_ok(v)

#define PUT_FIELD(kind, name) put_##kind(w, s->name);
#define GET_FIELD(kind, name) s->name = get_##kind(r);
#define CHECK_FIELD(kind, name) ok = ok && VALID_##kind(s->name);
#define DEFINE_SET(set)                                                      \
	static void put_##set(struct jute_writer *w,                         \
			      const struct peer_##set *s)                    \
	{                                                                    \
		PEER_FIELDS_##set(PUT_FIELD)                                 \
	}                                                                    \
	static void get_##set(struct jute_reader *r, struct peer_##set *s)   \
	{                                                                    \
		PEER_FIELDS_##set(GET_FIELD)                                 \
	}                                                                    \
	static bool valid_##set(const struct peer_##set *s)                  \
	{                                                                    \
		bool ok = true;                                              \
		(void)s;                                                     \
		PEER_FIELDS_##set(CHECK_FIELD)                               \
		return ok;                                                   \
	}
PEER_SET_MAP(DEFINE_SET)
#undef DEFINE_SET
#undef CHECK_FIELD
#undef GET_FIELD
#undef PUT_FIELD

int peer_msg_encode(struct jute_writer *w, const struct peer_msg *m)
{
	if (m->type == PEER_VOTE && m->u.vote.state > PEER_OBSERVING)
		return ZK_BADARGUMENTS;
	switch (m->type) {
#define ENCODE_CASE(name, code, set)                                         \
	case PEER_##name:                                                    \
		if (!valid_##set(&m->u.set))                                 \
			return ZK_BADARGUMENTS;                              \
		jute_put_int(w, (int32_t)(code));                            \
		put_##set(w, &m->u.set);                                     \
		break;
		PEER_MSG_MAP(ENCODE_CASE)
#undef ENCODE_CASE
	default:
		return ZK_BADARGUMENTS;
	}
	return jute_writer_ok(w) ? 0 : ZK_NOMEM;
}

int peer_msg_decode(const void *buf, size_t len, struct peer_msg *m)
{
	struct jute_reader r;
	jute_reader_init(&r, buf, len);
	r.max_len = (int32_t)PEER_MAX_DATA;
	int32_t type = jute_get_int(&r);
	if (!jute_reader_ok(&r))
		return ZK_MALFORMED;
	switch (type) {
#define DECODE_CASE(name, code, set)                                         \
	case (code):                                                         \
		m->type = PEER_##name;                                       \
		get_##set(&r, &m->u.set);                                    \
		break;
		PEER_MSG_MAP(DECODE_CASE)
#undef DECODE_CASE
	default:
		return ZK_MALFORMED;
	}
	if (!jute_reader_done(&r))
		return ZK_MALFORMED;
	if (m->type == PEER_VOTE && m->u.vote.state > PEER_OBSERVING)
		return ZK_MALFORMED;
	return 0;
}

const char *peer_type_name(enum peer_type type)
{
	switch (type) {
#define NAME_CASE(name, code, set)                                           \
	case PEER_##name:                                                    \
		return #name;
		PEER_MSG_MAP(NAME_CASE)
#undef NAME_CASE
	}
	return "?";
}
