/*
 * test_jute.c - the jute cursors: big-endian layout, null and empty
 * strings, every bounds check, sticky failure, fixed writers, patching.
 */
#include "check.h"
#include "zabfs/jute.h"

static void test_int_layout(void)
{
	struct jute_writer w;
	jute_writer_init(&w, 0);
	jute_put_int(&w, 0x01020304);
	jute_put_long(&w, -2);
	jute_put_bool(&w, true);
	jute_put_byte(&w, 0xAB);
	static const uint8_t want[] = {1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xfe, 1, 0xAB};
	CHECK(jute_writer_ok(&w));
	CHECK_EQ_INT(w.len, sizeof(want));
	CHECK(memcmp(w.buf, want, sizeof(want)) == 0);

	struct jute_reader r;
	jute_reader_init(&r, w.buf, w.len);
	CHECK_EQ_INT(jute_get_int(&r), 0x01020304);
	CHECK_EQ_INT(jute_get_long(&r), -2);
	CHECK(jute_get_bool(&r));
	CHECK_EQ_INT(jute_get_byte(&r), 0xAB);
	CHECK(jute_reader_done(&r));
	jute_writer_free(&w);
}

static void test_buffers(void)
{
	struct jute_writer w;
	jute_writer_init(&w, 4);
	jute_put_buffer(&w, zk_bytes_of("abc", 3));
	jute_put_buffer(&w, zk_bytes_of("", 0));
	jute_put_cstring(&w, NULL);
	jute_put_cstring(&w, "hi");
	static const uint8_t want[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0,
				       0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0,
				       2, 'h', 'i'};
	CHECK_EQ_INT(w.len, sizeof(want));
	CHECK(memcmp(w.buf, want, sizeof(want)) == 0);

	struct jute_reader r;
	jute_reader_init(&r, w.buf, w.len);
	struct zk_bytes b = jute_get_buffer(&r);
	CHECK(b.len == 3 && memcmp(b.p, "abc", 3) == 0);
	CHECK(b.p == w.buf + 4); /* a view, not a copy */
	CHECK_EQ_INT(jute_get_buffer(&r).len, 0);
	CHECK_EQ_INT(jute_get_buffer(&r).len, -1);
	CHECK_EQ_INT(jute_get_buffer(&r).len, 2);
	CHECK(jute_reader_done(&r));
	jute_writer_free(&w);
}

static void test_bad_lengths(void)
{
	/* length larger than what is left */
	static const uint8_t long_len[] = {0, 0, 0, 5, 'a', 'b'};
	struct jute_reader r;
	jute_reader_init(&r, long_len, sizeof(long_len));
	CHECK_EQ_INT(jute_get_buffer(&r).len, -1);
	CHECK(!jute_reader_ok(&r));
	CHECK_EQ_INT(r.pos, 0);
	/* sticky: the next get fails too, even if it would fit */
	CHECK_EQ_INT(jute_get_int(&r), 0);
	CHECK(!jute_reader_ok(&r));

	/* -2 is not a length */
	static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe, 0, 0};
	jute_reader_init(&r, neg, sizeof(neg));
	jute_get_buffer(&r);
	CHECK(!jute_reader_ok(&r));

	/* over max_len */
	static const uint8_t two[] = {0, 0, 0, 2, 'a', 'b'};
	jute_reader_init(&r, two, sizeof(two));
	r.max_len = 1;
	jute_get_buffer(&r);
	CHECK(!jute_reader_ok(&r));
	jute_reader_init(&r, two, sizeof(two));
	r.max_len = 2;
	CHECK_EQ_INT(jute_get_buffer(&r).len, 2);
	CHECK(jute_reader_done(&r));

	/* truncated ints */
	for (size_t n = 0; n < 8; n++) {
		jute_reader_init(&r, neg, n < 6 ? n : 6);
		jute_get_long(&r);
		CHECK(!jute_reader_ok(&r));
	}
}

static void test_counts(void)
{
	static const uint8_t three[] = {0, 0, 0, 3, 1, 2, 3, 4, 5, 6,
					7, 8, 9, 10, 11, 12};
	struct jute_reader r;
	jute_reader_init(&r, three, sizeof(three));
	CHECK_EQ_INT(jute_get_count(&r, 4), 3);
	jute_reader_init(&r, three, sizeof(three));
	CHECK_EQ_INT(jute_get_count(&r, 5), 0); /* 3 * 5 > 12 left */
	CHECK(!jute_reader_ok(&r));
	static const uint8_t null[] = {0xff, 0xff, 0xff, 0xff};
	jute_reader_init(&r, null, sizeof(null));
	CHECK_EQ_INT(jute_get_count(&r, 4), -1);
	CHECK(jute_reader_done(&r));
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
	jute_reader_init(&r, huge, sizeof(huge));
	jute_get_count(&r, 1);
	CHECK(!jute_reader_ok(&r));
}

static void test_fixed_writer(void)
{
	uint8_t buf[6];
	struct jute_writer w;
	jute_writer_init_fixed(&w, buf, sizeof(buf));
	jute_put_int(&w, 7);
	CHECK(jute_writer_ok(&w));
	jute_put_int(&w, 8); /* does not fit */
	CHECK(!jute_writer_ok(&w));
	CHECK_EQ_INT(w.len, 4);
	jute_put_byte(&w, 1); /* sticky */
	CHECK_EQ_INT(w.len, 4);
	jute_writer_reset(&w);
	CHECK(jute_writer_ok(&w));
	CHECK_EQ_INT(w.len, 0);
	jute_writer_free(&w); /* never frees the caller's buffer */
}

static void test_patch(void)
{
	struct jute_writer w;
	jute_writer_init(&w, 0);
	jute_put_int(&w, 0);
	for (int i = 0; i < 1000; i++) /* grows several times */
		jute_put_long(&w, i);
	jute_patch_int(&w, 0, (int32_t)(w.len - 4));
	struct jute_reader r;
	jute_reader_init(&r, w.buf, w.len);
	CHECK_EQ_INT(jute_get_int(&r), 8000);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ_INT(jute_get_long(&r), i);
	CHECK(jute_reader_done(&r));
	jute_writer_free(&w);
}

int main(void)
{
	RUN_TEST(test_int_layout);
	RUN_TEST(test_buffers);
	RUN_TEST(test_bad_lengths);
	RUN_TEST(test_counts);
	RUN_TEST(test_fixed_writer);
	RUN_TEST(test_patch);
	return check_report();
}
