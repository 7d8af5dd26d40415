/*
 * txn_codec.h - the byte encoding of a transaction (include/zabfs/txn.h):
 * the bytes the log appends and the peers replicate.
 *
 * Design
 *   Built from the jute primitives (big-endian ints, int32-length-prefixed
 *   byte strings with -1 = null), with no magic and no version: the log and
 *   peer framing around a transaction carry those.
 *
 *     | part          | fields                                            |
 *     |---------------|---------------------------------------------------|
 *     | header        | long session; int cxid; long zxid; long time;     |
 *     |               | int type                                          |
 *     | CREATE        | path; buffer data; vector<ACL> acl;               |
 *     |               | long ephemeralOwner; int parentCversion;          |
 *     |               | int shape                                         |
 *     | DELETE,       | path                                              |
 *     |  DELETE_CONT. |                                                   |
 *     | SET_DATA      | path; buffer data; int version                    |
 *     | SET_ACL       | path; vector<ACL> acl; int aversion               |
 *     | CHECK         | path; int version              (only inside MULTI)|
 *     | CREATE_SESSION| int timeout; 16 bytes passwd (no length)          |
 *     | CLOSE_SESSION | (nothing)                                         |
 *     | MULTI         | int count; count * (int type; body of that type)  |
 *
 *   path is a non-null ustring; vector<ACL> is the acl_raw bytes as they
 *   are (the jute encoding, count included).  A multi's ops are CREATE,
 *   DELETE, SET_DATA or CHECK.
 *
 *   struct txn is a view: txn_decode fills it with views into the buffer it
 *   was given, so the caller keeps that buffer alive while using it.
 *
 * Invariants
 *   1. txn_decode accepts a buffer only if it is exactly one well-formed
 *      transaction: every byte consumed, every ACL vector and every op of a
 *      multi checked, shape in enum txn_shape.  Anything else: ZK_CORRUPT.
 *   2. What txn_encode (or the multi builder) accepts, txn_decode decodes
 *      back to an equal view: the encoder refuses (ZK_BADARGUMENTS) what the
 *      decoder would refuse, so a bad struct never reaches the log.
 *   3. Neither direction allocates except through the writer.
 */
#ifndef ZABFS_TXN_CODEC_H
#define ZABFS_TXN_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "zabfs/jute.h"
#include "zabfs/txn.h"

/* Appends t's encoding.  0, ZK_BADARGUMENTS (unknown type, null path,
 * malformed acl_raw or multi ops, shape out of range), or ZK_NOMEM when
 * the writer has failed. */
int txn_encode(struct jute_writer *w, const struct txn *t);

/* A multi transaction written op by op:
 *   txn_encode_multi_begin(w, &hdr, &b);
 *   for each op: txn_encode_multi_op(w, &b, &op);
 *   txn_encode_multi_end(w, &b);   (patches the count)
 * If any call returns non-zero, the writer's contents after begin are not a
 * valid transaction: the caller discards them. */
struct txn_multi_builder {
	size_t count_off; /* offset of the op count in the writer */
	int32_t count;
};

/* ZK_BADARGUMENTS if hdr->type is not TXN_MULTI. */
int txn_encode_multi_begin(struct jute_writer *w, const struct txn_hdr *hdr,
			   struct txn_multi_builder *b);
/* ZK_BADARGUMENTS for an op txn_decode would refuse. */
int txn_encode_multi_op(struct jute_writer *w, struct txn_multi_builder *b,
			const struct txn_op *op);
/* 0, or ZK_NOMEM when the writer has failed. */
int txn_encode_multi_end(struct jute_writer *w,
			 const struct txn_multi_builder *b);

/* 0 and *out a view into buf, or ZK_CORRUPT. */
int txn_decode(const uint8_t *buf, size_t len, struct txn *out);

void txn_multi_iter_init(struct txn_multi_iter *it, const struct txn_multi *m);
/* 1 and *op set (views into the multi's bytes), 0 at the end, ZK_CORRUPT
 * if the ops are malformed (never after a successful txn_decode). */
int txn_multi_next(struct txn_multi_iter *it, struct txn_op *op);

#endif
