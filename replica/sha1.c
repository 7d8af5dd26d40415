/*
 * sha1.c - SHA-1 as specified in FIPS 180-4 §6.1.
 *
 * Each 64-byte block is expanded into an 80-word schedule and folded into the
 * five state words by 80 rounds in four groups of 20 (f = Ch, Parity, Maj,
 * Parity).  The final block is padded with 0x80, zeroes, and the message
 * length in bits as a big-endian 64-bit integer.  See sha1_i.h.
 */
#include "sha1_i.h"

#include <string.h>

static uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void compress(uint32_t h[5], const uint8_t block[64])
{
	uint32_t w[80];
	for (int t = 0; t < 16; t++)
		w[t] = (uint32_t)block[4 * t] << 24 |
		       (uint32_t)block[4 * t + 1] << 16 |
		       (uint32_t)block[4 * t + 2] << 8 | block[4 * t + 3];
	for (int t = 16; t < 80; t++)
		w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int t = 0; t < 80; t++) {
		uint32_t f, k;
		if (t < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999u;
		} else if (t < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1u;
		} else if (t < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdcu;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6u;
		}
		uint32_t tmp = rol(a, 5) + f + e + k + w[t];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = tmp;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void sha1_init(struct sha1_ctx *ctx)
{
	ctx->h[0] = 0x67452301u;
	ctx->h[1] = 0xefcdab89u;
	ctx->h[2] = 0x98badcfeu;
	ctx->h[3] = 0x10325476u;
	ctx->h[4] = 0xc3d2e1f0u;
	ctx->bytes = 0;
	ctx->buf_len = 0;
}

void sha1_update(struct sha1_ctx *ctx, const void *p, size_t n)
{
	const uint8_t *in = p;
	ctx->bytes += n;
	if (ctx->buf_len > 0) {
		size_t take = 64 - ctx->buf_len < n ? 64 - ctx->buf_len : n;
		memcpy(ctx->buf + ctx->buf_len, in, take);
		ctx->buf_len += take;
		in += take;
		n -= take;
		if (ctx->buf_len < 64)
			return;
		compress(ctx->h, ctx->buf);
		ctx->buf_len = 0;
	}
	for (; n >= 64; in += 64, n -= 64)
		compress(ctx->h, in);
	memcpy(ctx->buf, in, n);
	ctx->buf_len = n;
}

void sha1_final(struct sha1_ctx *ctx, uint8_t out[SHA1_LEN])
{
	uint64_t bits = ctx->bytes * 8;
	ctx->buf[ctx->buf_len++] = 0x80;
	if (ctx->buf_len > 56) {
		memset(ctx->buf + ctx->buf_len, 0, 64 - ctx->buf_len);
		compress(ctx->h, ctx->buf);
		ctx->buf_len = 0;
	}
	memset(ctx->buf + ctx->buf_len, 0, 56 - ctx->buf_len);
	for (int i = 0; i < 8; i++)
		ctx->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	compress(ctx->h, ctx->buf);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(ctx->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(ctx->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(ctx->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)ctx->h[i];
	}
}

void sha1(const void *p, size_t n, uint8_t out[SHA1_LEN])
{
	struct sha1_ctx ctx;
	sha1_init(&ctx);
	sha1_update(&ctx, p, n);
	sha1_final(&ctx, out);
}

void hmac_sha1(const void *key, size_t key_len, const void *msg,
	       size_t msg_len, uint8_t out[SHA1_LEN])
{
	uint8_t k[64] = {0}, pad[64], inner[SHA1_LEN];
	if (key_len > sizeof(k))
		sha1(key, key_len, k);
	else if (key_len)
		memcpy(k, key, key_len);
	struct sha1_ctx ctx;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	sha1_init(&ctx);
	sha1_update(&ctx, pad, sizeof(pad));
	sha1_update(&ctx, msg, msg_len);
	sha1_final(&ctx, inner);
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	sha1_init(&ctx);
	sha1_update(&ctx, pad, sizeof(pad));
	sha1_update(&ctx, inner, sizeof(inner));
	sha1_final(&ctx, out);
}
