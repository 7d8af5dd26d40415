/*
 * sha1_i.h - SHA-1 (FIPS 180-4) and base64 (RFC 4648 §4), the two encodings
 * behind ZooKeeper's digest scheme: an id is "user:" + base64(sha1(
 * "user:password")).
 *
 * Design
 *   SHA-1 is streamed: sha1_init, any number of sha1_update, sha1_final.  It
 *   derives digest ids, which ZooKeeper fixed to SHA-1, and keys HMAC-SHA1
 *   (RFC 2104), the peers' proof of the shared secret; neither needs
 *   collision resistance.  No allocation.
 *
 * Invariants
 *   1. ctx->buf_len < 64 between calls; ctx->bytes counts every byte given to
 *      sha1_update since sha1_init.
 *   2. base64_encode writes exactly BASE64_LEN(n) characters plus a NUL.
 */
#ifndef ZABFS_SHA1_I_H
#define ZABFS_SHA1_I_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

struct sha1_ctx {
	uint32_t h[5];
	uint64_t bytes;   /* message length so far, in bytes */
	uint8_t buf[64];  /* the partial block */
	size_t buf_len;
};

void sha1_init(struct sha1_ctx *ctx);
void sha1_update(struct sha1_ctx *ctx, const void *p, size_t n);
/* Writes the digest; ctx must be initialised again before reuse. */
void sha1_final(struct sha1_ctx *ctx, uint8_t out[SHA1_LEN]);
/* One-shot digest of n bytes. */
void sha1(const void *p, size_t n, uint8_t out[SHA1_LEN]);
/* HMAC-SHA1 of msg under key (RFC 2104). */
void hmac_sha1(const void *key, size_t key_len, const void *msg,
	       size_t msg_len, uint8_t out[SHA1_LEN]);

/* Characters of the padded encoding of n bytes (the NUL not counted). */
#define BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/* Standard alphabet with '=' padding; out holds BASE64_LEN(n) + 1 bytes.
 * Returns the number of characters written before the NUL. */
size_t base64_encode(const uint8_t *in, size_t n, char *out);

#endif
