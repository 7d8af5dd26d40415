/*
 * peer.h - the messages zabfs nodes send each other: election votes (Fast
 * Leader Election notifications) and quorum packets (ZooKeeper's
 * QuorumPacket types, with zabfs's own field layout).  Pure encode/decode
 * over bounded buffers (proto/peer.c); the Zab core (replica/zab*.c) is
 * the only producer and consumer of the decoded form.
 *
 * Design
 *   Every message is declared once, in PEER_MSG_MAP: its name, its type
 *   code (ZooKeeper's Leader.java value for quorum packets) and its field
 *   set.  A field set (PEER_FIELDS_*) lists typed fields; the same lists
 *   generate the structs below and the encoder and decoder in peer.c, so a
 *   field cannot be added to one and forgotten in the other.
 *
 *   Wire layout of one message (the framing, an int32 length before it, is
 *   the transport's):
 *
 *     offset  size  field
 *     0       4     type code (int32, big-endian)
 *     4       ...   the fields of the type's set, in list order:
 *                   u32 = 4 bytes, i64 = 8 bytes, bytes = int32 length
 *                   (0..PEER_MAX_DATA, never -1) then the bytes
 *
 *   Every quorum packet carries the epoch of the leadership it belongs to,
 *   so a receiver can drop a packet of an older leadership that arrives
 *   late; PROPOSAL and INFORM carry the zxid before theirs (prev_zxid), so
 *   a receiver can tell a gap or a reordering from the next entry.
 *
 * Invariants
 *   1. peer_msg_decode never reads outside [buf, buf + len), and succeeds
 *      only if the type is known, every field is present, no bytes are
 *      left over, a vote's state is a known enum peer_state and every
 *      length is in 0..PEER_MAX_DATA.
 *   2. For every message m that decodes, encoding it gives back exactly
 *      the bytes it was decoded from (one encoding per message).
 *   3. Decoded bytes fields are views into the decoder's input.
 */
#ifndef ZABFS_PEER_H
#define ZABFS_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "zabfs/jute.h"
#include "zabfs/types.h"

/* The protocol version a learner announces (ZooKeeper's 0x10000). */
#define PEER_PROTOCOL_VERSION 0x10000u
/* The largest bytes field: a transaction or a snapshot. */
#define PEER_MAX_DATA (256u << 20)

/* A vote's sender state (FLE's ServerState ordinals). */
enum peer_state {
	PEER_LOOKING = 0,
	PEER_FOLLOWING = 1,
	PEER_LEADING = 2,
	PEER_OBSERVING = 3,
};

/* Field kinds: the C type of each. */
#define PEER_CTYPE_u32 uint32_t
#define PEER_CTYPE_i64 int64_t
#define PEER_CTYPE_bytes struct zk_bytes

/* An FLE notification: the sender's state, the vote (leader, its zxid and
 * its epoch) and the sender's election round (logical clock). */
#define PEER_FIELDS_vote(F)                                                  \
	F(u32, state) F(i64, leader) F(i64, zxid) F(i64, round)             \
	F(u32, peer_epoch)
/* FOLLOWERINFO / OBSERVERINFO: the learner's acceptedEpoch and the
 * leader it accepted it from. */
#define PEER_FIELDS_info(F)                                                  \
	F(u32, accepted_epoch) F(i64, accepted_leader) F(u32, protocol)
/* LEADERINFO: the epoch the prospective leader proposes. */
#define PEER_FIELDS_leaderinfo(F) F(u32, epoch) F(u32, protocol)
/* ACKEPOCH: the learner's currentEpoch and last logged zxid. */
#define PEER_FIELDS_ackepoch(F)                                              \
	F(u32, epoch) F(u32, current_epoch) F(i64, zxid)
/* A packet about one zxid of a leadership. */
#define PEER_FIELDS_zxid(F) F(u32, epoch) F(i64, zxid)
/* A transaction, chained to the one before it. */
#define PEER_FIELDS_txn(F)                                                   \
	F(u32, epoch) F(i64, zxid) F(i64, prev_zxid) F(bytes, data)
/* A snapshot: the whole committed state up to zxid, opaque here. */
#define PEER_FIELDS_snap(F) F(u32, epoch) F(i64, zxid) F(bytes, data)
/* The request path between a node and its leader (replica/forward.c),
 * not the core's:
 *   REQUEST  a client request of session (its frame: RequestHeader and
 *            record) with the client's identities (auth_ids_encode)
 *   SESSION  create session id (owned by the sender) with its timeout
 *            and password
 *   REPLY    reply frames for session's connection on the sender of its
 *            requests, each with the zxid it must wait for
 *   TOUCH    ids (8 bytes each) of sessions the sender heard from */
#define PEER_FIELDS_request(F) F(i64, session) F(bytes, frame) F(bytes, ids)
#define PEER_FIELDS_session(F)                                               \
	F(i64, session) F(u32, timeout_ms) F(bytes, passwd)
#define PEER_FIELDS_reply(F) F(i64, session) F(bytes, frames)
#define PEER_FIELDS_touch(F) F(bytes, ids)

/* The field sets, for generating one struct each. */
#define PEER_SET_MAP(S)                                                      \
	S(vote) S(info) S(leaderinfo) S(ackepoch) S(zxid) S(txn) S(snap)     \
	S(request) S(session) S(reply) S(touch)

/* X(NAME, code, field set).  zxid meanings per type are in zab_i.h. */
#define PEER_MSG_MAP(X)                                                      \
	X(PROPOSAL, 2, txn)                                                  \
	X(ACK, 3, zxid)                                                      \
	X(COMMIT, 4, zxid)                                                   \
	X(PING, 5, zxid)                                                     \
	X(INFORM, 8, txn)                                                    \
	X(NEWLEADER, 10, zxid)                                               \
	X(FOLLOWERINFO, 11, info)                                            \
	X(UPTODATE, 12, zxid)                                                \
	X(DIFF, 13, zxid)                                                    \
	X(TRUNC, 14, zxid)                                                   \
	X(SNAP, 15, snap)                                                    \
	X(OBSERVERINFO, 16, info)                                            \
	X(LEADERINFO, 17, leaderinfo)                                        \
	X(ACKEPOCH, 18, ackepoch)                                            \
	X(VOTE, 64, vote)                                                    \
	X(REQUEST, 1, request)                                               \
	X(SESSION, 32, session)                                              \
	X(REPLY, 33, reply)                                                  \
	X(TOUCH, 34, touch)

enum peer_type {
#define PEER_TYPE_ENUM(name, code, set) PEER_##name = (code),
	PEER_MSG_MAP(PEER_TYPE_ENUM)
#undef PEER_TYPE_ENUM
};

#define PEER_FIELD_DECL(kind, name) PEER_CTYPE_##kind name;
#define PEER_SET_STRUCT(set)                                                 \
	struct peer_##set {                                                  \
		PEER_FIELDS_##set(PEER_FIELD_DECL)                           \
	};
PEER_SET_MAP(PEER_SET_STRUCT)
#undef PEER_SET_STRUCT
#undef PEER_FIELD_DECL

/* One message; u holds the member named by its type's field set. */
struct peer_msg {
	enum peer_type type;
	union {
#define PEER_SET_MEMBER(set) struct peer_##set set;
		PEER_SET_MAP(PEER_SET_MEMBER)
#undef PEER_SET_MEMBER
	} u;
};

/* Appends m's encoding to w.  ZK_BADARGUMENTS for an unknown type or a
 * bytes field outside 0..PEER_MAX_DATA (nothing is written then);
 * ZK_NOMEM if the writer failed. */
int peer_msg_encode(struct jute_writer *w, const struct peer_msg *m);

/* Decodes exactly one message from buf; 0, or ZK_MALFORMED (invariant 1). */
int peer_msg_decode(const void *buf, size_t len, struct peer_msg *m);

/* The message's name ("PROPOSAL"), "?" for an unknown type. */
const char *peer_type_name(enum peer_type type);

#endif
