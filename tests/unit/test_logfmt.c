/*
 * test_logfmt.c - the transaction log's on-disk format: CRC32C vectors,
 * header and record round trips, every truncation and every single-bit
 * flip detected, the resynchronising search, segment names.
 */
#include "check.h"

#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/logfmt.h"

/* Bit-at-a-time CRC32C, the reference for the table-driven one. */
static uint32_t crc_ref(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static uint64_t rng_state;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static void test_crc_vectors(void)
{
	uint8_t buf[32];
	CHECK_EQ_INT(logfmt_crc32c(0, "123456789", 9), 0xE3069283u);
	CHECK_EQ_INT(logfmt_crc32c(0, "", 0), 0);
	/* RFC 3720 B.4 */
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_INT(logfmt_crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	CHECK_EQ_INT(logfmt_crc32c(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	CHECK_EQ_INT(logfmt_crc32c(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	CHECK_EQ_INT(logfmt_crc32c(0, buf, 32), 0x113FDB5Cu);
}

static void test_crc_matches_reference(void)
{
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (size_t off = 0; off < 9; off++)
		for (size_t n = 0; off + n <= sizeof(buf); n += 7) {
			CHECK_EQ_INT(logfmt_crc32c(0, buf + off, n),
				     crc_ref(buf + off, n));
			/* chaining: any split gives the same result */
			size_t half = n / 3;
			uint32_t c = logfmt_crc32c(0, buf + off, half);
			CHECK_EQ_INT(
			    logfmt_crc32c(c, buf + off + half, n - half),
			    crc_ref(buf + off, n));
		}
}

static void test_header(void)
{
	uint8_t h[LOGFMT_HEADER_SIZE];
	int64_t z = 0;
	logfmt_header_encode(h, 0x0000000500000007ll);
	CHECK_EQ_INT(logfmt_header_decode(h, sizeof(h), &z), 0);
	CHECK_EQ_INT(z, 0x0000000500000007ll);
	CHECK(memcmp(h, "ZBLG", 4) == 0);
	for (size_t len = 0; len < sizeof(h); len++)
		CHECK_EQ_INT(logfmt_header_decode(h, len, &z), ZK_MALFORMED);
	for (size_t bit = 0; bit < 8 * sizeof(h); bit++) {
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK_EQ_INT(logfmt_header_decode(h, sizeof(h), &z),
			     ZK_CORRUPT);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	memset(h, 0, sizeof(h));
	CHECK_EQ_INT(logfmt_header_decode(h, sizeof(h), &z), ZK_CORRUPT);
}

static void test_record_round_trip(void)
{
	struct jute_writer w;
	struct logfmt_record rec;
	uint8_t payload[1000];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)rnd();
	jute_writer_init(&w, 0);
	size_t sizes[] = {1, 2, 7, 8, 9, 100, 1000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		CHECK_EQ_INT(
		    logfmt_record_encode(&w, (int64_t)i + 1, payload, sizes[i]),
		    0);
	size_t off = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK_EQ_INT(
		    logfmt_record_decode(w.buf + off, w.len - off, &rec), 0);
		CHECK_EQ_INT(rec.zxid, (int64_t)i + 1);
		CHECK_EQ_INT(rec.payload.len, (int32_t)sizes[i]);
		CHECK(memcmp(rec.payload.p, payload, sizes[i]) == 0);
		CHECK_EQ_INT(rec.size, logfmt_record_size(sizes[i]));
		off += rec.size;
	}
	CHECK_EQ_INT(off, w.len);
	CHECK_EQ_INT(logfmt_record_encode(&w, 9, payload, 0), ZK_BADARGUMENTS);
	CHECK_EQ_INT(logfmt_record_encode(&w, 9, payload,
					  (size_t)LOGFMT_MAX_PAYLOAD + 1),
		     ZK_BADARGUMENTS);
	jute_writer_free(&w);
}

static void test_record_truncated(void)
{
	struct jute_writer w;
	struct logfmt_record rec;
	jute_writer_init(&w, 0);
	CHECK_EQ_INT(logfmt_record_encode(&w, 42, "hello, log", 10), 0);
	for (size_t len = 0; len < w.len; len++) {
		CHECK_EQ_INT(logfmt_record_decode(w.buf, len, &rec),
			     ZK_MALFORMED);
		CHECK_EQ_INT(rec.size, len < 4 ? 0 : w.len);
	}
	jute_writer_free(&w);
}

static void test_record_every_bit_flip(void)
{
	struct jute_writer w;
	struct logfmt_record rec;
	uint8_t payload[64];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)rnd();
	jute_writer_init(&w, 0);
	CHECK_EQ_INT(
	    logfmt_record_encode(&w, 0x100000001ll, payload, sizeof(payload)),
	    0);
	/* A second record after it, so a shortened length still finds
	 * bytes to check a CRC over. */
	CHECK_EQ_INT(
	    logfmt_record_encode(&w, 0x100000002ll, payload, sizeof(payload)),
	    0);
	size_t first = logfmt_record_size(sizeof(payload));
	int undetected = 0;
	for (size_t bit = 0; bit < 8 * first; bit++) {
		w.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = logfmt_record_decode(w.buf, w.len, &rec);
		if (rc == 0 || rc == LOGFMT_END)
			undetected++;
		w.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK_EQ_INT(undetected, 0);
	/* and a few random multi-byte smashes */
	for (int t = 0; t < 2000; t++) {
		uint8_t save[4];
		size_t at = rnd() % (first - 3);
		memcpy(save, w.buf + at, 4);
		uint32_t v = rnd() | 1;
		memcpy(w.buf + at, &v, 4);
		int rc = logfmt_record_decode(w.buf, w.len, &rec);
		if (memcmp(save, w.buf + at, 4) != 0 && rc == 0) {
			undetected++;
			fprintf(stderr, "smash at %zu undetected\n", at);
		}
		memcpy(w.buf + at, save, 4);
	}
	CHECK_EQ_INT(undetected, 0);
	jute_writer_free(&w);
}

static void test_record_end_and_bad_length(void)
{
	uint8_t buf[64] = {0};
	struct logfmt_record rec;
	CHECK_EQ_INT(logfmt_record_decode(buf, sizeof(buf), &rec), LOGFMT_END);
	CHECK_EQ_INT(logfmt_record_decode(buf, 4, &rec), LOGFMT_END);
	CHECK_EQ_INT(logfmt_record_decode(buf, 3, &rec), ZK_MALFORMED);
	buf[0] = 0xff; /* length way over the limit */
	CHECK_EQ_INT(logfmt_record_decode(buf, sizeof(buf), &rec), ZK_CORRUPT);
	buf[0] = 0;
	buf[3] = 8; /* fits, but the CRC of zeros is not zero */
	CHECK_EQ_INT(logfmt_record_decode(buf, sizeof(buf), &rec), ZK_CORRUPT);
}

static void test_find_record(void)
{
	struct jute_writer w;
	size_t off = 0;
	jute_writer_init(&w, 0);
	for (int i = 0; i < 37; i++)
		jute_put_byte(&w, (uint8_t)rnd());
	for (int i = 0; i < 20; i++)
		jute_put_byte(&w, 0);
	size_t at = w.len;
	CHECK_EQ_INT(logfmt_record_encode(&w, 5, "payload", 7), 0);
	CHECK_EQ_INT(logfmt_find_record(w.buf, w.len, 0, &off), 0);
	CHECK_EQ_INT(off, at);
	CHECK_EQ_INT(logfmt_find_record(w.buf, w.len, at + 1, &off),
		     LOGFMT_END);
	CHECK_EQ_INT(logfmt_find_record(w.buf, w.len - 1, 0, &off), LOGFMT_END);
	CHECK_EQ_INT(logfmt_find_record(w.buf, 0, 0, &off), LOGFMT_END);
	jute_writer_free(&w);
}

static void test_names(void)
{
	char name[LOGFMT_NAME_LEN + 1];
	int64_t z = 0;
	logfmt_name_format(name, 0x00000001000000abll);
	CHECK(strcmp(name, "log.00000001000000ab") == 0);
	CHECK_EQ_INT(logfmt_name_parse(name, &z), 0);
	CHECK_EQ_INT(z, 0x00000001000000abll);
	logfmt_name_format(name, 0);
	CHECK(strcmp(name, "log.0000000000000000") == 0);
	const char *bad[] = {"log.00000001000000AB",
			     "log.00000001000000a",
			     "log.00000001000000abc",
			     "snap.0000000100000001",
			     "log.0000000100000001.tmp",
			     "log.000000010000000g",
			     ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(logfmt_name_parse(bad[i], &z), ZK_MALFORMED);
}

int main(int argc, char **argv)
{
	rng_state = check_seed(argc, argv) | 1;
	RUN_TEST(test_crc_vectors);
	RUN_TEST(test_crc_matches_reference);
	RUN_TEST(test_header);
	RUN_TEST(test_record_round_trip);
	RUN_TEST(test_record_truncated);
	RUN_TEST(test_record_every_bit_flip);
	RUN_TEST(test_record_end_and_bad_length);
	RUN_TEST(test_find_record);
	RUN_TEST(test_names);
	return check_report();
}
