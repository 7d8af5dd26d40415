/*
 * snapfmt.h - the on-disk format of a snapshot file.  Pure functions over
 * bounded buffers (proto/snapfmt.c); writing and loading the tree live in
 * replica/snapshot.c.
 *
 * Design
 *   A snapshot of the tree taken at zxid Z is named "snapshot." followed
 *   by the 16 lowercase hex digits of Z.  Integers are big-endian (jute).
 *
 *   Header (SNAPFMT_HEADER_SIZE bytes):
 *     offset size field
 *     0      4    magic SNAPFMT_MAGIC ("ZBSN")
 *     4      4    format version: SNAPFMT_VERSION is written, every
 *                 version from SNAPFMT_OLDEST_VERSION on is read
 *     8      8    Z, the last zxid applied when the snapshot started
 *     16     4    CRC32C of bytes 0..15
 *
 *   Then records, each:
 *     0      4    n, body length, 1..SNAPFMT_MAX_BODY
 *     4      4    CRC32C of the body
 *     8      n    body: byte type, then the fields of that type
 *
 *     type      fields (jute)
 *     ACL       int ref; vector<ACL> raw (as stored)
 *     NODE      ustring path; buffer data (-1 null); int acl_ref;
 *               long czxid, mzxid, ctime, mtime; int version,
 *               stored cversion, aversion; long ephemeralOwner, pzxid;
 *               int op_index (0..65535); byte shape;
 *               long acl_mtime (format 2 on: time of the last setACL)
 *     CHILDREN  ustring path; int stored cversion; long pzxid
 *     SESSIONS  buffer blob (opaque to the tree)
 *     END       long node count; int chain
 *
 *   Nodes come in pre-order (a parent before its children); an ACL record
 *   comes before the first node that refers to it.  A snapshot is fuzzy:
 *   a CHILDREN record follows the children of a node and gives the
 *   child-related fields as they were when its children had been written
 *   (newer than the NODE record's), so that they match the children.  The chain is a CRC32C
 *   over the header CRC followed by every record's CRC (4 big-endian bytes
 *   each), END excluded: with the node count it makes a truncated or
 *   spliced file fail.  END is the last record and ends the file.
 *
 * Invariants
 *   1. The reader never reads outside its buffer and accepts a record only
 *      if its length fits and its CRC matches.
 *   2. snapfmt_next returns SNAPFMT_DONE only after an END whose count and
 *      chain match what came before and which ends the buffer exactly.
 */
#ifndef ZABFS_SNAPFMT_H
#define ZABFS_SNAPFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zabfs/jute.h"
#include "zabfs/types.h"

#define SNAPFMT_MAGIC 0x5A42534Eu /* "ZBSN" */
#define SNAPFMT_VERSION 2u
#define SNAPFMT_OLDEST_VERSION 1u
#define SNAPFMT_HEADER_SIZE 20u
#define SNAPFMT_RECORD_OVERHEAD 8u
#define SNAPFMT_MAX_BODY (1u << 30)
#define SNAPFMT_NAME_PREFIX "snapshot."
#define SNAPFMT_NAME_LEN 25u /* "snapshot." + 16 hex digits */

enum snapfmt_type {
	SNAPFMT_ACL = 1,
	SNAPFMT_NODE = 2,
	SNAPFMT_SESSIONS = 3,
	SNAPFMT_END = 4,
	SNAPFMT_CHILDREN = 5,
};

struct snapfmt_node {
	struct zk_bytes path;
	struct zk_bytes data;
	int32_t acl_ref;
	int64_t czxid, mzxid, ctime, mtime;
	int32_t version, cversion, aversion;
	int64_t owner, pzxid;
	int32_t op_index;
	uint8_t shape;
	int64_t acl_mtime; /* format 2 on; 0 when read from format 1 */
};

/* A decoded record: views into the reader's buffer. */
struct snapfmt_record {
	int type; /* enum snapfmt_type, never SNAPFMT_END */
	union {
		struct {
			int32_t ref;
			struct zk_bytes raw;
		} acl;
		struct snapfmt_node node;
		struct zk_bytes sessions;
		struct {
			struct zk_bytes path;
			int32_t cversion;
			int64_t pzxid;
		} children;
	} u;
};

/* Writer-side state: the chain and the count so far. */
struct snapfmt_writer {
	struct jute_writer *w;
	uint32_t chain;
	uint64_t nodes;
};

/* Appends the header and starts the chain. */
void snapfmt_begin(struct snapfmt_writer *sw, struct jute_writer *w,
		   int64_t zxid);
void snapfmt_put_acl(struct snapfmt_writer *sw, int32_t ref,
		     struct zk_bytes raw);
void snapfmt_put_node(struct snapfmt_writer *sw, const struct snapfmt_node *n);
void snapfmt_put_children(struct snapfmt_writer *sw, struct zk_bytes path,
			  int32_t cversion, int64_t pzxid);
void snapfmt_put_sessions(struct snapfmt_writer *sw, struct zk_bytes blob);
void snapfmt_end(struct snapfmt_writer *sw);

struct snapfmt_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	uint32_t version; /* the file's format version */
	uint32_t chain;
	uint64_t nodes;
};

/* 0 and *zxid, or ZK_CORRUPT (bad magic, version or CRC, too short). */
int snapfmt_reader_init(struct snapfmt_reader *r, const void *buf, size_t len,
			int64_t *zxid);

#define SNAPFMT_DONE 0
#define SNAPFMT_RECORD 1
/* SNAPFMT_RECORD and *rec, SNAPFMT_DONE (invariant 2), or ZK_CORRUPT. */
int snapfmt_next(struct snapfmt_reader *r, struct snapfmt_record *rec);

/* "snapshot.<16 hex>" into buf; 0, or ZK_BADARGUMENTS if it does not
 * fit.  snapfmt_name_parse: 0 and *zxid if name is exactly that form. */
int snapfmt_name(char *buf, size_t cap, int64_t zxid);
int snapfmt_name_parse(const char *name, int64_t *zxid);

#endif
