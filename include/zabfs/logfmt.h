/*
 * logfmt.h - the on-disk format of the transaction log: segment names,
 * segment headers, records, and CRC32C.  Pure functions over bounded
 * buffers (proto/logfmt.c); the log itself lives in replica/txnlog.c.
 *
 * Design
 *   The log is a sequence of segment files in one directory, each named
 *   "log." followed by the 16 lowercase hex digits of the zxid of its first
 *   record.  A segment is a header followed by records, followed by zeros:
 *   segments are preallocated with zeros, so a record length of zero marks
 *   the end of the records.  Integers are big-endian (the jute cursors).
 *
 *   Segment header (LOGFMT_HEADER_SIZE bytes):
 *
 *     offset  size  field
 *     0       4     magic, LOGFMT_MAGIC ("ZBLG")
 *     4       4     format version, LOGFMT_VERSION
 *     8       8     first zxid (the zxid in the file name)
 *     16      4     CRC32C of bytes 0..15
 *
 *   Record (LOGFMT_RECORD_OVERHEAD + n bytes):
 *
 *     offset  size  field
 *     0       4     length: n, the payload length, 1..LOGFMT_MAX_PAYLOAD
 *     4       4     CRC32C of bytes 8..16+n (zxid and payload)
 *     8       8     zxid
 *     16      n     payload: a transaction's encoding, opaque here
 *
 * Invariants
 *   1. A decoder never reads outside the buffer it is given.
 *   2. A record decodes only if its length is in range, it fits in the
 *      buffer, and its CRC matches; so any change to the zxid or payload,
 *      and any change to the CRC field, is detected.
 *   3. A payload is never empty, so a length of zero can only be padding;
 *      padding is all zeros, so a record header with a zero length and any
 *      other byte set is corrupt, not the end.
 */
#ifndef ZABFS_LOGFMT_H
#define ZABFS_LOGFMT_H

#include <stddef.h>
#include <stdint.h>

#include "zabfs/jute.h"
#include "zabfs/types.h"

#define LOGFMT_MAGIC 0x5A424C47u /* "ZBLG" */
#define LOGFMT_VERSION 1u
#define LOGFMT_HEADER_SIZE 20u
#define LOGFMT_RECORD_OVERHEAD 16u
#define LOGFMT_MAX_PAYLOAD (64u << 20)

#define LOGFMT_NAME_PREFIX "log."
#define LOGFMT_NAME_LEN 20u /* "log." + 16 hex digits */

/* logfmt_record_decode() found the zero length that ends the records. */
#define LOGFMT_END 1

/* A decoded record: a view into the decoder's input buffer. */
struct logfmt_record {
	int64_t zxid;
	struct zk_bytes payload;
	size_t size; /* bytes the record takes: overhead + payload */
};

/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78).  Start with crc 0;
 * pass the previous result to continue over more bytes.  Thread-safe.
 */
uint32_t logfmt_crc32c(uint32_t crc, const void *p, size_t n);

/* Bytes a record with a payload of n bytes takes on disk. */
static inline size_t logfmt_record_size(size_t n)
{
	return LOGFMT_RECORD_OVERHEAD + n;
}

/* Write the segment header for first_zxid into out. */
void logfmt_header_encode(uint8_t out[LOGFMT_HEADER_SIZE], int64_t first_zxid);

/*
 * Decode a segment header from the first len bytes of buf.  Returns 0 and
 * sets *first_zxid; ZK_MALFORMED if len < LOGFMT_HEADER_SIZE; ZK_CORRUPT if
 * the magic, version or CRC is wrong.
 */
int logfmt_header_decode(const uint8_t *buf, size_t len, int64_t *first_zxid);

/*
 * Append one record to w.  Returns 0, ZK_BADARGUMENTS for an empty or too
 * large payload, or ZK_NOMEM if w failed (w is then failed, as jute says).
 */
int logfmt_record_encode(struct jute_writer *w, int64_t zxid,
			 const void *payload, size_t n);

/*
 * Decode the record at the start of buf[0..len).  Returns
 *   0             rec holds a valid record (payload points into buf);
 *   LOGFMT_END    the length field is zero (at least 4 bytes were there)
 *                 and so is the rest of the record header, where present;
 *   ZK_MALFORMED  buf ends inside the record; if the length field was read
 *                 and is in range, rec->size is the size the record claims
 *                 (so a reader knows how much more to read), else 0;
 *   ZK_CORRUPT    the length is out of range or the CRC does not match.
 */
int logfmt_record_decode(const uint8_t *buf, size_t len,
			 struct logfmt_record *rec);

/*
 * The smallest offset >= from at which a valid record starts in buf[0..len).
 * Returns 0 and sets *off, or LOGFMT_END if there is none.  Used by recovery
 * to tell a torn tail (nothing valid follows) from corruption in the middle.
 */
int logfmt_find_record(const uint8_t *buf, size_t len, size_t from,
		       size_t *off);

/* The segment name for first_zxid, NUL-terminated, into out. */
void logfmt_name_format(char out[LOGFMT_NAME_LEN + 1], int64_t first_zxid);

/* Parse a segment name: exactly "log." and 16 lowercase hex digits.
 * Returns 0 and sets *first_zxid, or ZK_MALFORMED. */
int logfmt_name_parse(const char *name, int64_t *first_zxid);

#endif
