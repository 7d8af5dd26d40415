/*
 * test_sha1.c - SHA-1 against the FIPS 180 examples, streaming against
 * one-shot at every block boundary and random splits, and base64 against
 * RFC 4648 §10.
 */
#include "check.h"
#include "sha1_i.h"

#include <stdbool.h>

static void hex(const uint8_t d[SHA1_LEN], char out[2 * SHA1_LEN + 1])
{
	for (int i = 0; i < SHA1_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static bool sha1_is(const char *msg, const char *want)
{
	uint8_t d[SHA1_LEN];
	char h[2 * SHA1_LEN + 1];
	sha1(msg, strlen(msg), d);
	hex(d, h);
	if (strcmp(h, want) != 0)
		fprintf(stderr, "sha1(%.20s...) = %s, want %s\n", msg, h, want);
	return strcmp(h, want) == 0;
}

static void test_fips_vectors(void)
{
	CHECK(sha1_is("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"));
	CHECK(sha1_is("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
	CHECK(sha1_is("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnop"
		      "nopq",
		      "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
	CHECK(sha1_is("abcdefghbcdefghicdefghijdefghijkefghijklfghijklm"
		      "ghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
		      "mnopqrstnopqrstu",
		      "a49b2446a02c645bf419f995b67091253a04a259"));
}

static void test_million_a(void)
{
	/* Streamed in pieces of 1000, and in one call. */
	static char a[1000000];
	memset(a, 'a', sizeof a);
	struct sha1_ctx ctx;
	uint8_t d[SHA1_LEN];
	char h[2 * SHA1_LEN + 1];
	sha1_init(&ctx);
	for (int i = 0; i < 1000; i++)
		sha1_update(&ctx, a, 1000);
	sha1_final(&ctx, d);
	hex(d, h);
	CHECK(strcmp(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0);
	sha1(a, sizeof a, d);
	hex(d, h);
	CHECK(strcmp(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0);
}

/* Every length around the padding boundaries (55/56 bytes in the last
 * block, 64-byte blocks), fed byte by byte and in random splits, gives the
 * one-shot digest. */
static uint64_t seed;

static void test_streaming(void)
{
	uint8_t msg[300];
	uint64_t x = seed | 1;
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof msg; len++) {
		uint8_t one[SHA1_LEN], bytewise[SHA1_LEN], split[SHA1_LEN];
		sha1(msg, len, one);
		struct sha1_ctx c;
		sha1_init(&c);
		for (size_t i = 0; i < len; i++)
			sha1_update(&c, msg + i, 1);
		sha1_final(&c, bytewise);
		sha1_init(&c);
		for (size_t off = 0; off < len;) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t n = (size_t)(x % 80);
			if (n > len - off)
				n = len - off;
			sha1_update(&c, msg + off, n);
			off += n;
		}
		sha1_final(&c, split);
		CHECK(memcmp(one, bytewise, SHA1_LEN) == 0);
		CHECK(memcmp(one, split, SHA1_LEN) == 0);
	}
}

static bool hmac_is(const void *key, size_t key_len, const char *msg,
		    const char *want)
{
	uint8_t d[SHA1_LEN];
	char h[2 * SHA1_LEN + 1];
	hmac_sha1(key, key_len, msg, strlen(msg), d);
	hex(d, h);
	if (strcmp(h, want) != 0)
		fprintf(stderr, "hmac(%.20s...) = %s, want %s\n", msg, h, want);
	return strcmp(h, want) == 0;
}

/* RFC 2202 section 3, cases 1, 2 and 6 (a key longer than a block). */
static void test_hmac_vectors(void)
{
	uint8_t k1[20], k6[80];
	memset(k1, 0x0b, sizeof(k1));
	memset(k6, 0xaa, sizeof(k6));
	CHECK(hmac_is(k1, sizeof(k1), "Hi There",
		      "b617318655057264e28bc0b6fb378c8ef146be00"));
	CHECK(hmac_is("Jefe", 4, "what do ya want for nothing?",
		      "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"));
	CHECK(hmac_is(k6, sizeof(k6),
		      "Test Using Larger Than Block-Size Key - Hash Key First",
		      "aa4ae5e15272d00e95705637ce8a3b55ed402112"));
}

static void test_base64(void)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba",
					 "foobar"};
	static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		char buf[16];
		size_t n = base64_encode((const uint8_t *)in[i], strlen(in[i]),
					 buf);
		CHECK_EQ_INT(n, BASE64_LEN(strlen(in[i])));
		CHECK(strcmp(buf, out[i]) == 0);
	}
	/* The last two alphabet characters. */
	const uint8_t hi[3] = {0xfb, 0xff, 0xbf};
	char buf[8];
	base64_encode(hi, 3, buf);
	CHECK(strcmp(buf, "+/+/") == 0);
}

int main(int argc, char **argv)
{
	seed = check_seed(argc, argv);
	RUN_TEST(test_fips_vectors);
	RUN_TEST(test_million_a);
	RUN_TEST(test_streaming);
	RUN_TEST(test_hmac_vectors);
	RUN_TEST(test_base64);
	return check_report();
}
