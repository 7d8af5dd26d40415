/*
 * jute.c - the cursors declared in include/zabfs/jute.h.
 *
 * The readers' bounds check is one comparison against the bytes left; the
 * writer grows by doubling.  See jute.h for the invariants.
 */
#include "zabfs/jute.h"

#include <stdlib.h>
#include <string.h>

void jute_reader_init(struct jute_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
	r->max_len = INT32_MAX;
	r->failed = false;
}

/* The next n bytes, or NULL (and the reader failed) if there are fewer. */
static const uint8_t *take(struct jute_reader *r, size_t n)
{
	if (r->failed || n > r->len - r->pos) {
		r->failed = true;
		return NULL;
	}
	const uint8_t *p = r->buf + r->pos;
	r->pos += n;
	return p;
}

static uint64_t load_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int32_t jute_get_int(struct jute_reader *r)
{
	const uint8_t *p = take(r, 4);
	return p ? (int32_t)(uint32_t)load_be(p, 4) : 0;
}

int64_t jute_get_long(struct jute_reader *r)
{
	const uint8_t *p = take(r, 8);
	return p ? (int64_t)load_be(p, 8) : 0;
}

uint8_t jute_get_byte(struct jute_reader *r)
{
	const uint8_t *p = take(r, 1);
	return p ? p[0] : 0;
}

bool jute_get_bool(struct jute_reader *r)
{
	return jute_get_byte(r) != 0;
}

struct zk_bytes jute_get_buffer(struct jute_reader *r)
{
	struct zk_bytes b = {NULL, -1};
	size_t start = r->pos;
	int32_t len = jute_get_int(r);
	if (r->failed || len == -1)
		return b;
	if (len < -1 || len > r->max_len) {
		r->failed = true;
		r->pos = start;
		return b;
	}
	const uint8_t *p = take(r, (size_t)len);
	if (!p) {
		r->pos = start;
		return b;
	}
	b.p = p;
	b.len = len;
	return b;
}

int32_t jute_get_count(struct jute_reader *r, size_t min_elem_size)
{
	size_t start = r->pos;
	int32_t n = jute_get_int(r);
	if (r->failed || n == -1)
		return r->failed ? 0 : -1;
	if (n < -1 || (min_elem_size > 0 &&
		       (size_t)n > jute_reader_left(r) / min_elem_size)) {
		r->failed = true;
		r->pos = start;
		return 0;
	}
	return n;
}

const uint8_t *jute_get_raw(struct jute_reader *r, size_t n)
{
	return take(r, n);
}

void jute_writer_init(struct jute_writer *w, size_t cap)
{
	w->buf = cap ? malloc(cap) : NULL;
	w->len = 0;
	w->cap = w->buf ? cap : 0;
	w->fixed = false;
	w->failed = cap && !w->buf;
}

void jute_writer_init_fixed(struct jute_writer *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->fixed = true;
	w->failed = false;
}

void jute_writer_free(struct jute_writer *w)
{
	if (!w->fixed)
		free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

uint8_t *jute_put_reserve(struct jute_writer *w, size_t n)
{
	if (w->failed || n == 0)
		return NULL; /* nothing to fill (and no NULL + 0) */
	if (n > w->cap - w->len) {
		if (w->fixed || n > SIZE_MAX / 2 - w->len) {
			w->failed = true;
			return NULL;
		}
		size_t cap = w->cap ? w->cap : 64;
		while (cap - w->len < n)
			cap *= 2;
		uint8_t *buf = realloc(w->buf, cap);
		if (!buf) {
			w->failed = true;
			return NULL;
		}
		w->buf = buf;
		w->cap = cap;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

static void store_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = n; i-- > 0; v >>= 8)
		p[i] = (uint8_t)v;
}

void jute_put_int(struct jute_writer *w, int32_t v)
{
	uint8_t *p = jute_put_reserve(w, 4);
	if (p)
		store_be(p, (uint32_t)v, 4);
}

void jute_put_long(struct jute_writer *w, int64_t v)
{
	uint8_t *p = jute_put_reserve(w, 8);
	if (p)
		store_be(p, (uint64_t)v, 8);
}

void jute_put_byte(struct jute_writer *w, uint8_t v)
{
	uint8_t *p = jute_put_reserve(w, 1);
	if (p)
		p[0] = v;
}

void jute_put_bool(struct jute_writer *w, bool v)
{
	jute_put_byte(w, v ? 1 : 0);
}

void jute_put_raw(struct jute_writer *w, const void *src, size_t n)
{
	uint8_t *p = jute_put_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}

void jute_put_buffer(struct jute_writer *w, struct zk_bytes b)
{
	if (b.len < 0) {
		jute_put_int(w, -1);
		return;
	}
	jute_put_int(w, b.len);
	jute_put_raw(w, b.p, (size_t)b.len);
}

void jute_put_cstring(struct jute_writer *w, const char *s)
{
	if (!s) {
		jute_put_int(w, -1);
		return;
	}
	jute_put_buffer(w, zk_bytes_of(s, strlen(s)));
}

void jute_patch_int(struct jute_writer *w, size_t off, int32_t v)
{
	if (!w->failed && off + 4 <= w->len)
		store_be(w->buf + off, (uint32_t)v, 4);
}
