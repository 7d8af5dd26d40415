/*
 * zkpath.c - znode path rules and helpers; see include/zabfs/zkpath.h.
 *
 * Validation is one pass: decode one UTF-8 code point at a time (strictly:
 * shortest form only, no surrogates, at most U+10FFFF), refuse it if Java
 * would have refused the char(s) it turns into, and check the component
 * rules at each '/' and at the end.
 */
#include "zabfs/zkpath.h"

#include <stdio.h>

#include "zabfs/err.h"
#include "zabfs/jute.h"

/* The code point starting at s[*i] (n bytes in all), advancing *i; -1 for
 * malformed UTF-8. */
static int32_t next_code_point(const uint8_t *s, size_t n, size_t *i)
{
	uint8_t b = s[*i];
	size_t more;
	int32_t cp, min;
	if (b < 0x80) {
		(*i)++;
		return b;
	} else if (b >= 0xC2 && b <= 0xDF) {
		more = 1, cp = b & 0x1F, min = 0x80;
	} else if (b >= 0xE0 && b <= 0xEF) {
		more = 2, cp = b & 0x0F, min = 0x800;
	} else if (b >= 0xF0 && b <= 0xF4) {
		more = 3, cp = b & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (more > n - *i - 1)
		return -1;
	for (size_t k = 1; k <= more; k++) {
		uint8_t c = s[*i + k];
		if ((c & 0xC0) != 0x80)
			return -1;
		cp = cp << 6 | (c & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*i += more + 1;
	return cp;
}

/* The character ranges PathUtils refuses; a code point above U+FFFF is a
 * surrogate pair in Java, inside the refused U+D800-U+F8FF. */
static int code_point_refused(int32_t cp)
{
	return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) ||
	       (cp >= 0xD800 && cp <= 0xF8FF) || cp >= 0xFFF0;
}

/* A component [start, end) of s that may not appear: "", "." or "..". */
static int component_refused(const uint8_t *s, size_t start, size_t end)
{
	size_t n = end - start;
	return n == 0 || (n == 1 && s[start] == '.') ||
	       (n == 2 && s[start] == '.' && s[start + 1] == '.');
}

int zk_path_validate(struct zk_bytes path)
{
	if (path.len <= 0 || path.p[0] != '/')
		return ZK_BADARGUMENTS;
	size_t n = (size_t)path.len;
	if (n == 1)
		return 0;
	const uint8_t *s = path.p;
	size_t comp = 1; /* start of the current component */
	size_t i = 1;
	while (i < n) {
		if (s[i] == '/') {
			if (component_refused(s, comp, i))
				return ZK_BADARGUMENTS;
			comp = ++i;
			continue;
		}
		int32_t cp = next_code_point(s, n, &i);
		if (cp < 0 || code_point_refused(cp))
			return ZK_BADARGUMENTS;
	}
	/* Also refuses a trailing '/': the last component is empty. */
	return component_refused(s, comp, n) ? ZK_BADARGUMENTS : 0;
}

struct zk_bytes zk_path_parent(struct zk_bytes path)
{
	struct zk_bytes parent = {path.p, -1};
	if (path.len <= 1)
		return parent;
	int32_t i = path.len - 1;
	while (i > 0 && path.p[i] != '/')
		i--;
	parent.len = i == 0 ? 1 : i;
	return parent;
}

struct zk_bytes zk_path_basename(struct zk_bytes path)
{
	if (path.len <= 0)
		return zk_bytes_of(path.p, 0);
	int32_t i = path.len;
	while (i > 0 && path.p[i - 1] != '/')
		i--;
	struct zk_bytes base = {path.p + i, path.len - i};
	return base;
}

size_t zk_path_seq_suffix(char buf[ZK_SEQ_SUFFIX_SIZE], int32_t seq)
{
	/* C's %010d pads like Java's: sign first, zeroes up to 10 chars. */
	int n = snprintf(buf, ZK_SEQ_SUFFIX_SIZE, "%010d", (int)seq);
	return (size_t)n;
}
