/*
 * logfmt.c - the transaction log's on-disk format (include/zabfs/logfmt.h
 * has the layout tables and the invariants).
 *
 * CRC32C is table-driven, slice-by-8: eight 256-entry tables built once
 * (C11 call_once) from the reflected Castagnoli polynomial; eight input
 * bytes are folded per step, the tail one byte at a time.
 */
#include "zabfs/logfmt.h"

#include <string.h>
#include <threads.h>

#include "zabfs/err.h"

#define CRC32C_POLY 0x82F63B78u

/* Written once by crc_init (under crc_once), read-only afterwards. */
static uint32_t crc_table[8][256];
static once_flag crc_once = ONCE_FLAG_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++)
			crc_table[t][i] =
			    (crc_table[t - 1][i] >> 8) ^
			    crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t logfmt_crc32c(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	call_once(&crc_once, crc_init);
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo =
		    crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
			   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
			      (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

void logfmt_header_encode(uint8_t out[LOGFMT_HEADER_SIZE], int64_t first_zxid)
{
	struct jute_writer w;
	jute_writer_init_fixed(&w, out, LOGFMT_HEADER_SIZE);
	jute_put_int(&w, (int32_t)LOGFMT_MAGIC);
	jute_put_int(&w, (int32_t)LOGFMT_VERSION);
	jute_put_long(&w, first_zxid);
	jute_put_int(&w, (int32_t)logfmt_crc32c(0, out, 16));
}

int logfmt_header_decode(const uint8_t *buf, size_t len, int64_t *first_zxid)
{
	struct jute_reader r;
	if (len < LOGFMT_HEADER_SIZE)
		return ZK_MALFORMED;
	jute_reader_init(&r, buf, LOGFMT_HEADER_SIZE);
	uint32_t magic = (uint32_t)jute_get_int(&r);
	uint32_t version = (uint32_t)jute_get_int(&r);
	int64_t zxid = jute_get_long(&r);
	uint32_t crc = (uint32_t)jute_get_int(&r);
	if (magic != LOGFMT_MAGIC || version != LOGFMT_VERSION ||
	    crc != logfmt_crc32c(0, buf, 16))
		return ZK_CORRUPT;
	*first_zxid = zxid;
	return 0;
}

int logfmt_record_encode(struct jute_writer *w, int64_t zxid,
			 const void *payload, size_t n)
{
	if (n == 0 || n > LOGFMT_MAX_PAYLOAD)
		return ZK_BADARGUMENTS;
	size_t start = w->len;
	jute_put_int(w, (int32_t)n);
	jute_put_int(w, 0); /* the CRC, patched below */
	jute_put_long(w, zxid);
	jute_put_raw(w, payload, n);
	if (!jute_writer_ok(w))
		return ZK_NOMEM;
	uint32_t crc = logfmt_crc32c(0, w->buf + start + 8, 8 + n);
	jute_patch_int(w, start + 4, (int32_t)crc);
	return 0;
}

int logfmt_record_decode(const uint8_t *buf, size_t len,
			 struct logfmt_record *rec)
{
	struct jute_reader r;
	rec->size = 0;
	jute_reader_init(&r, buf, len);
	uint32_t n = (uint32_t)jute_get_int(&r);
	if (!jute_reader_ok(&r))
		return ZK_MALFORMED;
	if (n == 0) {
		/* Padding is all zeros: a zeroed length with anything else
		 * in the record header is damage, not the end. */
		for (size_t i = 4; i < len && i < LOGFMT_RECORD_OVERHEAD; i++)
			if (buf[i])
				return ZK_CORRUPT;
		return LOGFMT_END;
	}
	if (n > LOGFMT_MAX_PAYLOAD)
		return ZK_CORRUPT;
	rec->size = logfmt_record_size(n);
	uint32_t crc = (uint32_t)jute_get_int(&r);
	int64_t zxid = jute_get_long(&r);
	const uint8_t *payload = jute_get_raw(&r, n);
	if (!jute_reader_ok(&r))
		return ZK_MALFORMED;
	if (crc != logfmt_crc32c(0, buf + 8, 8 + (size_t)n))
		return ZK_CORRUPT;
	rec->zxid = zxid;
	rec->payload = zk_bytes_of(payload, n);
	return 0;
}

int logfmt_find_record(const uint8_t *buf, size_t len, size_t from, size_t *off)
{
	struct logfmt_record rec;
	for (size_t i = from; i < len && len - i > LOGFMT_RECORD_OVERHEAD;
	     i++) {
		/* Cheap filter first: most garbage has an impossible length. */
		if (buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 0 &&
		    buf[i + 3] == 0)
			continue;
		if (logfmt_record_decode(buf + i, len - i, &rec) == 0) {
			*off = i;
			return 0;
		}
	}
	return LOGFMT_END;
}

void logfmt_name_format(char out[LOGFMT_NAME_LEN + 1], int64_t first_zxid)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t z = (uint64_t)first_zxid;
	memcpy(out, LOGFMT_NAME_PREFIX, 4);
	for (int i = 15; i >= 0; i--, z >>= 4)
		out[4 + i] = hex[z & 0xf];
	out[LOGFMT_NAME_LEN] = '\0';
}

int logfmt_name_parse(const char *name, int64_t *first_zxid)
{
	uint64_t z = 0;
	if (strncmp(name, LOGFMT_NAME_PREFIX, 4) != 0 ||
	    strlen(name) != LOGFMT_NAME_LEN)
		return ZK_MALFORMED;
	for (size_t i = 4; i < LOGFMT_NAME_LEN; i++) {
		char c = name[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return ZK_MALFORMED;
		z = z << 4 | d;
	}
	*first_zxid = (int64_t)z;
	return 0;
}
