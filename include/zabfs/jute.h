/*
 * jute.h - bounds-checked cursors for ZooKeeper's jute binary encoding (and
 * for every other zabfs byte format, which uses the same primitives).
 *
 * Design
 *   A reader walks a bounded buffer it does not own.  Every get checks the
 *   bounds first; the first failure makes the reader "failed" (sticky: later
 *   gets fail too and return zeroes), so a decoder may read a whole record and
 *   test jute_reader_ok() once at the end.  Strings and buffers come out as
 *   views into the input (no copy, no allocation).
 *
 *   A writer appends to a growable heap buffer it owns, or to a fixed buffer
 *   given by the caller (then it never allocates).  A failed allocation or an
 *   overflow of a fixed buffer is sticky in the same way.
 *
 *   All integers are big-endian.  ustring and buffer: int32 length then bytes,
 *   length -1 = null.  vector: int32 count (-1 = null) then elements.
 *
 * Invariants
 *   1. A reader never reads outside [buf, buf + len).
 *   2. A length or count read from input is checked against the bytes left
 *      before anything is done with it, and against r->max_len.
 *   3. After a failed get, r->failed stays set and r->pos does not move.
 *   4. A writer's len <= cap; a fixed writer never calls the allocator.
 */
#ifndef ZABFS_JUTE_H
#define ZABFS_JUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zabfs/types.h"

struct jute_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int32_t max_len; /* largest string/buffer length accepted */
	bool failed;
};

struct jute_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool fixed;  /* buf is the caller's and may not grow */
	bool failed; /* out of memory, or a fixed buffer overflowed */
};

void jute_reader_init(struct jute_reader *r, const void *buf, size_t len);
static inline bool jute_reader_ok(const struct jute_reader *r)
{
	return !r->failed;
}
static inline size_t jute_reader_left(const struct jute_reader *r)
{
	return r->len - r->pos;
}
/* True when the reader is ok and every byte was consumed. */
static inline bool jute_reader_done(const struct jute_reader *r)
{
	return !r->failed && r->pos == r->len;
}

int32_t jute_get_int(struct jute_reader *r);
int64_t jute_get_long(struct jute_reader *r);
bool jute_get_bool(struct jute_reader *r);
uint8_t jute_get_byte(struct jute_reader *r);
/* A ustring or buffer: a view of len bytes, or len -1 for null. */
struct zk_bytes jute_get_buffer(struct jute_reader *r);
/* A vector's count: -1 (null) or 0..n, where each element needs at least
 * min_elem_size bytes (so a count can never promise more than is left). */
int32_t jute_get_count(struct jute_reader *r, size_t min_elem_size);
/* n raw bytes, as a view. */
const uint8_t *jute_get_raw(struct jute_reader *r, size_t n);

/* A growable writer starting with room for cap bytes (cap may be 0). */
void jute_writer_init(struct jute_writer *w, size_t cap);
/* A writer over the caller's buffer; it never grows. */
void jute_writer_init_fixed(struct jute_writer *w, void *buf, size_t cap);
void jute_writer_free(struct jute_writer *w);
/* Forget the contents, keep the buffer. */
static inline void jute_writer_reset(struct jute_writer *w)
{
	w->len = 0;
	w->failed = false;
}
static inline bool jute_writer_ok(const struct jute_writer *w)
{
	return !w->failed;
}

void jute_put_int(struct jute_writer *w, int32_t v);
void jute_put_long(struct jute_writer *w, int64_t v);
void jute_put_bool(struct jute_writer *w, bool v);
void jute_put_byte(struct jute_writer *w, uint8_t v);
void jute_put_buffer(struct jute_writer *w, struct zk_bytes b);
void jute_put_raw(struct jute_writer *w, const void *p, size_t n);
/* A ustring from a NUL-terminated C string (NULL writes null). */
void jute_put_cstring(struct jute_writer *w, const char *s);
/* Reserve n bytes and return them for the caller to fill (NULL on
 * failure, and for n == 0); used to patch a length prefix once the body is
 * written. */
uint8_t *jute_put_reserve(struct jute_writer *w, size_t n);
/* Overwrite a big-endian int32 at byte offset off (< len). */
void jute_patch_int(struct jute_writer *w, size_t off, int32_t v);

static inline struct zk_bytes zk_bytes_of(const void *p, size_t len)
{
	struct zk_bytes b = {(const uint8_t *)p, (int32_t)len};
	return b;
}

#endif
