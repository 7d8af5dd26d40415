/*
 * test_peer.c - the peer messages (include/zabfs/peer.h): every message
 * type round trips field for field and byte for byte, every truncation and
 * every extension by a byte is rejected, unknown types and bad vote states
 * and null or oversized bytes fields are refused by both directions.
 */
#include "check.h"

#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/peer.h"

static const uint8_t payload[] = "a transaction's bytes";

/* A message of the given type with every field set to a distinct value. */
static struct peer_msg sample(enum peer_type type)
{
	struct peer_msg m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	switch (type) {
	case PEER_VOTE:
		m.u.vote = (struct peer_vote){PEER_FOLLOWING, 3,
					      ZXID_MAKE(7, 9), 12, 7};
		break;
	case PEER_FOLLOWERINFO:
	case PEER_OBSERVERINFO:
		m.u.info = (struct peer_info){5, 2, PEER_PROTOCOL_VERSION};
		break;
	case PEER_LEADERINFO:
		m.u.leaderinfo = (struct peer_leaderinfo){6, 0x10000};
		break;
	case PEER_ACKEPOCH:
		m.u.ackepoch = (struct peer_ackepoch){6, 4, ZXID_MAKE(4, 77)};
		break;
	case PEER_PROPOSAL:
	case PEER_INFORM:
		m.u.txn = (struct peer_txn){8, ZXID_MAKE(8, 2), ZXID_MAKE(8, 1),
					    zk_bytes_of(payload,
							sizeof(payload))};
		break;
	case PEER_SNAP:
		m.u.snap = (struct peer_snap){9, ZXID_MAKE(8, 100),
					      zk_bytes_of(payload, 5)};
		break;
	case PEER_REQUEST:
		m.u.request = (struct peer_request){
			0x0100000000000002, zk_bytes_of(payload, 6),
			zk_bytes_of(payload + 6, 4)};
		break;
	case PEER_SESSION:
		m.u.session = (struct peer_session){0x0200000000000003, 30000,
						    zk_bytes_of(payload, 16)};
		break;
	case PEER_REPLY:
		m.u.reply = (struct peer_reply){0x0100000000000002,
						zk_bytes_of(payload, 9)};
		break;
	case PEER_TOUCH:
		m.u.touch = (struct peer_touch){zk_bytes_of(payload, 16)};
		break;
	default:
		m.u.zxid = (struct peer_zxid){0xfffffffeu, -2};
		break;
	}
	return m;
}

static const enum peer_type all_types[] = {
#define TYPE_ENTRY(name, code, set) PEER_##name,
	PEER_MSG_MAP(TYPE_ENTRY)
#undef TYPE_ENTRY
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

static bool bytes_eq(struct zk_bytes a, struct zk_bytes b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* Field-by-field equality, generated from the same field lists. */
static bool same(const struct peer_msg *a, const struct peer_msg *b)
{
	if (a->type != b->type)
		return false;
	bool eq = true;
	switch (a->type) {
#define EQ_u32(x, y) ((x) == (y))
#define EQ_i64(x, y) ((x) == (y))
#define EQ_bytes(x, y) bytes_eq(x, y)
#define EQ_FIELD(kind, name) eq = eq && EQ_##kind(s->name, t->name);
#define EQ_CASE(name, code, set)                                             \
	case PEER_##name: {                                                  \
		const struct peer_##set *s = &a->u.set, *t = &b->u.set;      \
		PEER_FIELDS_##set(EQ_FIELD) break;                           \
	}
		PEER_MSG_MAP(EQ_CASE)
	}
	return eq;
}

static void test_round_trip_every_type(void)
{
	for (size_t i = 0; i < N_TYPES; i++) {
		struct peer_msg m = sample(all_types[i]), d;
		struct jute_writer w, w2;
		jute_writer_init(&w, 0);
		jute_writer_init(&w2, 0);
		CHECK_EQ_INT(peer_msg_encode(&w, &m), 0);
		CHECK_EQ_INT(peer_msg_decode(w.buf, w.len, &d), 0);
		CHECK(same(&m, &d));
		CHECK_EQ_INT(peer_msg_encode(&w2, &d), 0);
		CHECK(w2.len == w.len && memcmp(w.buf, w2.buf, w.len) == 0);
		CHECK(strcmp(peer_type_name(m.type), "?") != 0);
		jute_writer_free(&w);
		jute_writer_free(&w2);
	}
}

static void test_layout(void)
{
	struct peer_msg m = sample(PEER_ACK);
	uint8_t buf[64];
	struct jute_writer w;
	jute_writer_init_fixed(&w, buf, sizeof(buf));
	CHECK_EQ_INT(peer_msg_encode(&w, &m), 0);
	const uint8_t want[] = {0, 0, 0, 3, 0xff, 0xff, 0xff, 0xfe,
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
	CHECK_EQ_INT(w.len, sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
}

static void test_every_truncation_and_extension(void)
{
	for (size_t i = 0; i < N_TYPES; i++) {
		struct peer_msg m = sample(all_types[i]), d;
		struct jute_writer w;
		jute_writer_init(&w, 0);
		CHECK_EQ_INT(peer_msg_encode(&w, &m), 0);
		for (size_t len = 0; len < w.len; len++)
			CHECK_EQ_INT(peer_msg_decode(w.buf, len, &d),
				     ZK_MALFORMED);
		jute_put_byte(&w, 0);
		CHECK_EQ_INT(peer_msg_decode(w.buf, w.len, &d), ZK_MALFORMED);
		jute_writer_free(&w);
	}
}

static void test_unknown_type(void)
{
	struct peer_msg d;
	const uint8_t one[] = {0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0};
	const uint8_t neg[] = {0xff, 0xff, 0xff, 0xff};
	CHECK_EQ_INT(peer_msg_decode(one, sizeof(one), &d), ZK_MALFORMED);
	CHECK_EQ_INT(peer_msg_decode(neg, sizeof(neg), &d), ZK_MALFORMED);
	CHECK_EQ_INT(peer_msg_decode(NULL, 0, &d), ZK_MALFORMED);
	struct peer_msg m = sample(PEER_ACK);
	m.type = (enum peer_type)99;
	struct jute_writer w;
	jute_writer_init(&w, 0);
	CHECK_EQ_INT(peer_msg_encode(&w, &m), ZK_BADARGUMENTS);
	CHECK_EQ_INT(w.len, 0);
	jute_writer_free(&w);
	CHECK(strcmp(peer_type_name((enum peer_type)99), "?") == 0);
}

static void test_bad_vote_state(void)
{
	struct peer_msg m = sample(PEER_VOTE), d;
	struct jute_writer w;
	jute_writer_init(&w, 0);
	m.u.vote.state = 4;
	CHECK_EQ_INT(peer_msg_encode(&w, &m), ZK_BADARGUMENTS);
	m.u.vote.state = PEER_OBSERVING;
	CHECK_EQ_INT(peer_msg_encode(&w, &m), 0);
	w.buf[7] = 4; /* the low byte of state */
	CHECK_EQ_INT(peer_msg_decode(w.buf, w.len, &d), ZK_MALFORMED);
	w.buf[7] = 3;
	CHECK_EQ_INT(peer_msg_decode(w.buf, w.len, &d), 0);
	jute_writer_free(&w);
}

static void test_bad_lengths(void)
{
	struct peer_msg m = sample(PEER_PROPOSAL), d;
	struct jute_writer w;
	jute_writer_init(&w, 0);
	m.u.txn.data.len = -1;
	CHECK_EQ_INT(peer_msg_encode(&w, &m), ZK_BADARGUMENTS);
	m.u.txn.data.len = (int32_t)PEER_MAX_DATA + 1;
	CHECK_EQ_INT(peer_msg_encode(&w, &m), ZK_BADARGUMENTS);
	CHECK_EQ_INT(w.len, 0);
	/* Hand-made: a null, a negative and an oversized length. */
	const size_t len_at = 4 + 4 + 8 + 8;
	int32_t bad[] = {-1, -7, (int32_t)PEER_MAX_DATA + 1, INT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m.u.txn.data = zk_bytes_of(payload, 4);
		jute_writer_reset(&w);
		CHECK_EQ_INT(peer_msg_encode(&w, &m), 0);
		jute_patch_int(&w, len_at, bad[i]);
		CHECK_EQ_INT(peer_msg_decode(w.buf, w.len, &d), ZK_MALFORMED);
	}
	/* An empty payload is fine. */
	m.u.txn.data = zk_bytes_of(payload, 0);
	jute_writer_reset(&w);
	CHECK_EQ_INT(peer_msg_encode(&w, &m), 0);
	CHECK_EQ_INT(peer_msg_decode(w.buf, w.len, &d), 0);
	CHECK_EQ_INT(d.u.txn.data.len, 0);
	jute_writer_free(&w);
}

static void test_fixed_writer_overflow(void)
{
	struct peer_msg m = sample(PEER_PROPOSAL);
	uint8_t buf[10];
	struct jute_writer w;
	jute_writer_init_fixed(&w, buf, sizeof(buf));
	CHECK_EQ_INT(peer_msg_encode(&w, &m), ZK_NOMEM);
}

int main(void)
{
	RUN_TEST(test_round_trip_every_type);
	RUN_TEST(test_layout);
	RUN_TEST(test_every_truncation_and_extension);
	RUN_TEST(test_unknown_type);
	RUN_TEST(test_bad_vote_state);
	RUN_TEST(test_bad_lengths);
	RUN_TEST(test_fixed_writer_overflow);
	return check_report();
}
