/*
 * snapfmt.c - encoding and decoding of snapshot files (format and
 * invariants in include/zabfs/snapfmt.h).  CRC32C is logfmt_crc32c.
 */
#include <stdio.h>
#include <string.h>

#include "zabfs/err.h"
#include "zabfs/logfmt.h"
#include "zabfs/snapfmt.h"

static uint32_t chain_add(uint32_t chain, uint32_t crc)
{
	uint8_t b[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16),
			(uint8_t)(crc >> 8), (uint8_t)crc};
	return logfmt_crc32c(chain, b, 4);
}

void snapfmt_begin(struct snapfmt_writer *sw, struct jute_writer *w,
		   int64_t zxid)
{
	size_t start = w->len;
	sw->w = w;
	sw->nodes = 0;
	jute_put_int(w, (int32_t)SNAPFMT_MAGIC);
	jute_put_int(w, (int32_t)SNAPFMT_VERSION);
	jute_put_long(w, zxid);
	uint32_t crc = jute_writer_ok(w)
			       ? logfmt_crc32c(0, w->buf + start, 16)
			       : 0;
	jute_put_int(w, (int32_t)crc);
	sw->chain = chain_add(0, crc);
}

/* Reserves the record's length and CRC; returns the body's offset. */
static size_t record_open(struct snapfmt_writer *sw, enum snapfmt_type type)
{
	jute_put_int(sw->w, 0);
	jute_put_int(sw->w, 0);
	size_t off = sw->w->len;
	jute_put_byte(sw->w, (uint8_t)type);
	return off;
}

static void record_close(struct snapfmt_writer *sw, size_t off, bool chained)
{
	struct jute_writer *w = sw->w;
	if (!jute_writer_ok(w))
		return;
	size_t n = w->len - off;
	uint32_t crc = logfmt_crc32c(0, w->buf + off, n);
	jute_patch_int(w, off - 8, (int32_t)n);
	jute_patch_int(w, off - 4, (int32_t)crc);
	if (chained)
		sw->chain = chain_add(sw->chain, crc);
}

void snapfmt_put_acl(struct snapfmt_writer *sw, int32_t ref,
		     struct zk_bytes raw)
{
	size_t off = record_open(sw, SNAPFMT_ACL);
	jute_put_int(sw->w, ref);
	jute_put_buffer(sw->w, raw);
	record_close(sw, off, true);
}

void snapfmt_put_node(struct snapfmt_writer *sw, const struct snapfmt_node *n)
{
	struct jute_writer *w = sw->w;
	size_t off = record_open(sw, SNAPFMT_NODE);
	jute_put_buffer(w, n->path);
	jute_put_buffer(w, n->data);
	jute_put_int(w, n->acl_ref);
	jute_put_long(w, n->czxid);
	jute_put_long(w, n->mzxid);
	jute_put_long(w, n->ctime);
	jute_put_long(w, n->mtime);
	jute_put_int(w, n->version);
	jute_put_int(w, n->cversion);
	jute_put_int(w, n->aversion);
	jute_put_long(w, n->owner);
	jute_put_long(w, n->pzxid);
	jute_put_int(w, n->op_index);
	jute_put_byte(w, n->shape);
	jute_put_long(w, n->acl_mtime);
	record_close(sw, off, true);
	sw->nodes++;
}

void snapfmt_put_children(struct snapfmt_writer *sw, struct zk_bytes path,
			  int32_t cversion, int64_t pzxid)
{
	size_t off = record_open(sw, SNAPFMT_CHILDREN);
	jute_put_buffer(sw->w, path);
	jute_put_int(sw->w, cversion);
	jute_put_long(sw->w, pzxid);
	record_close(sw, off, true);
}

void snapfmt_put_sessions(struct snapfmt_writer *sw, struct zk_bytes blob)
{
	size_t off = record_open(sw, SNAPFMT_SESSIONS);
	jute_put_buffer(sw->w, blob);
	record_close(sw, off, true);
}

void snapfmt_end(struct snapfmt_writer *sw)
{
	size_t off = record_open(sw, SNAPFMT_END);
	jute_put_long(sw->w, (int64_t)sw->nodes);
	jute_put_int(sw->w, (int32_t)sw->chain);
	record_close(sw, off, false);
}

int snapfmt_reader_init(struct snapfmt_reader *r, const void *buf, size_t len,
			int64_t *zxid)
{
	struct jute_reader jr;
	jute_reader_init(&jr, buf, len);
	uint32_t magic = (uint32_t)jute_get_int(&jr);
	uint32_t version = (uint32_t)jute_get_int(&jr);
	int64_t z = jute_get_long(&jr);
	uint32_t crc = (uint32_t)jute_get_int(&jr);
	if (!jute_reader_ok(&jr) || magic != SNAPFMT_MAGIC ||
	    version < SNAPFMT_OLDEST_VERSION || version > SNAPFMT_VERSION || crc != logfmt_crc32c(0, buf, 16))
		return ZK_CORRUPT;
	r->buf = buf;
	r->len = len;
	r->pos = SNAPFMT_HEADER_SIZE;
	r->version = version;
	r->chain = chain_add(0, crc);
	r->nodes = 0;
	*zxid = z;
	return 0;
}

static int decode_body(struct snapfmt_reader *r, struct jute_reader *jr,
		       uint8_t type, uint32_t crc, struct snapfmt_record *rec)
{
	struct snapfmt_node *n = &rec->u.node;
	switch (type) {
	case SNAPFMT_ACL:
		rec->u.acl.ref = jute_get_int(jr);
		rec->u.acl.raw = jute_get_buffer(jr);
		if (rec->u.acl.raw.len < 0)
			return ZK_CORRUPT;
		break;
	case SNAPFMT_NODE:
		n->path = jute_get_buffer(jr);
		n->data = jute_get_buffer(jr);
		n->acl_ref = jute_get_int(jr);
		n->czxid = jute_get_long(jr);
		n->mzxid = jute_get_long(jr);
		n->ctime = jute_get_long(jr);
		n->mtime = jute_get_long(jr);
		n->version = jute_get_int(jr);
		n->cversion = jute_get_int(jr);
		n->aversion = jute_get_int(jr);
		n->owner = jute_get_long(jr);
		n->pzxid = jute_get_long(jr);
		n->op_index = jute_get_int(jr);
		n->shape = jute_get_byte(jr);
		n->acl_mtime = r->version >= 2 ? jute_get_long(jr) : 0;
		if (n->path.len < 1 || n->op_index < 0 || n->op_index > 65535)
			return ZK_CORRUPT;
		r->nodes++;
		break;
	case SNAPFMT_CHILDREN:
		rec->u.children.path = jute_get_buffer(jr);
		rec->u.children.cversion = jute_get_int(jr);
		rec->u.children.pzxid = jute_get_long(jr);
		if (rec->u.children.path.len < 1)
			return ZK_CORRUPT;
		break;
	case SNAPFMT_SESSIONS:
		rec->u.sessions = jute_get_buffer(jr);
		if (rec->u.sessions.len < 0)
			return ZK_CORRUPT;
		break;
	case SNAPFMT_END: {
		uint64_t count = (uint64_t)jute_get_long(jr);
		uint32_t chain = (uint32_t)jute_get_int(jr);
		if (!jute_reader_done(jr) || count != r->nodes ||
		    chain != r->chain || r->pos != r->len)
			return ZK_CORRUPT;
		return SNAPFMT_DONE;
	}
	default:
		return ZK_CORRUPT;
	}
	if (!jute_reader_done(jr))
		return ZK_CORRUPT;
	r->chain = chain_add(r->chain, crc);
	rec->type = type;
	return SNAPFMT_RECORD;
}

int snapfmt_next(struct snapfmt_reader *r, struct snapfmt_record *rec)
{
	struct jute_reader jr;
	jute_reader_init(&jr, r->buf + r->pos, r->len - r->pos);
	uint32_t n = (uint32_t)jute_get_int(&jr);
	uint32_t crc = (uint32_t)jute_get_int(&jr);
	if (!jute_reader_ok(&jr) || n < 1 || n > SNAPFMT_MAX_BODY ||
	    n > jute_reader_left(&jr))
		return ZK_CORRUPT;
	const uint8_t *body = r->buf + r->pos + SNAPFMT_RECORD_OVERHEAD;
	if (logfmt_crc32c(0, body, n) != crc)
		return ZK_CORRUPT;
	r->pos += SNAPFMT_RECORD_OVERHEAD + n;
	jute_reader_init(&jr, body + 1, n - 1);
	jr.max_len = INT32_MAX;
	return decode_body(r, &jr, body[0], crc, rec);
}

int snapfmt_name(char *buf, size_t cap, int64_t zxid)
{
	int n = snprintf(buf, cap, SNAPFMT_NAME_PREFIX "%016llx",
			 (unsigned long long)zxid);
	return n < 0 || (size_t)n >= cap ? ZK_BADARGUMENTS : 0;
}

int snapfmt_name_parse(const char *name, int64_t *zxid)
{
	size_t plen = strlen(SNAPFMT_NAME_PREFIX);
	if (strlen(name) != SNAPFMT_NAME_LEN ||
	    strncmp(name, SNAPFMT_NAME_PREFIX, plen) != 0)
		return ZK_BADARGUMENTS;
	uint64_t z = 0;
	for (const char *p = name + plen; *p; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			return ZK_BADARGUMENTS;
		z = z << 4 | (uint64_t)d;
	}
	*zxid = (int64_t)z;
	return 0;
}
