/*
 * txn.h - a transaction: what the request path decides, the log stores, the
 * peers replicate, and apply executes.
 *
 * Design
 *   A transaction's canonical form is its encoding (proto/txn_codec.c): the bytes
 *   that are appended to the log and sent to peers.  struct txn is a decoded
 *   *view* of such bytes: every zk_bytes in it points into the encoded buffer,
 *   which the caller keeps alive while the view is used.
 *
 *   Transactions carry outcomes, not requests: prep has already checked
 *   versions, ACLs and existence, resolved sequential names and computed the
 *   new version numbers, so apply is deterministic and replay after a fuzzy
 *   snapshot is idempotent (a create of an existing node or a delete of a
 *   missing one is skipped during replay).
 *
 * Invariants
 *   1. A multi transaction holds one op per request op, in request order;
 *      check ops are kept (as TXN_CHECK, no effect) so results line up.
 *   2. Failed requests never become transactions: their errors are answered
 *      by prep, and no zxid is spent on them.
 *   3. acl_raw is the jute encoding of vector<ACL> exactly as it will be
 *      stored (after "auth" ids were expanded by prep).
 */
#ifndef ZABFS_TXN_H
#define ZABFS_TXN_H

#include "zabfs/types.h"

enum txn_type {
	TXN_CREATE_SESSION = -10,
	TXN_CLOSE_SESSION = -11,
	TXN_CREATE = 1,
	TXN_DELETE = 2,
	TXN_SET_DATA = 5,
	TXN_SET_ACL = 7,
	TXN_CHECK = 13,
	TXN_MULTI = 14,
	TXN_DELETE_CONTAINER = 20,
};

/* What a znode was made as, for the mount (filesystem.md §1). */
enum txn_shape {
	TXN_SHAPE_UNSET = 0, /* made by a ZooKeeper client */
	TXN_SHAPE_FILE = 1,
	TXN_SHAPE_DIR = 2,
};

struct txn_hdr {
	int64_t session; /* the session that asked, 0 for the server */
	int32_t cxid;    /* the client's xid */
	int64_t zxid;
	int64_t time;    /* ms since the epoch, the leader's clock */
	int32_t type;    /* enum txn_type */
};

struct txn_create {
	struct zk_bytes path; /* final path, sequence suffix included */
	struct zk_bytes data;
	struct zk_bytes acl_raw;
	int64_t ephemeral_owner; /* see types.h; TTL and container encoded */
	int32_t parent_cversion; /* the parent's stored cversion after this */
	int32_t shape;           /* enum txn_shape */
};

struct txn_delete {
	struct zk_bytes path;
};

struct txn_set_data {
	struct zk_bytes path;
	struct zk_bytes data;
	int32_t version; /* the node's version after this */
};

struct txn_set_acl {
	struct zk_bytes path;
	struct zk_bytes acl_raw;
	int32_t aversion; /* the node's aversion after this */
};

struct txn_check {
	struct zk_bytes path;
	int32_t version;
};

struct txn_create_session {
	int32_t timeout_ms;
	uint8_t passwd[16];
};

/* The ops of a multi, still encoded; walk them with txn_multi_next(). */
struct txn_multi {
	int32_t count;
	struct zk_bytes ops_raw;
};

/* One op of a multi. */
struct txn_op {
	int32_t type; /* TXN_CREATE, TXN_DELETE, TXN_SET_DATA or TXN_CHECK */
	union {
		struct txn_create create;
		struct txn_delete del;
		struct txn_set_data set_data;
		struct txn_check check;
	} u;
};

struct txn {
	struct txn_hdr hdr;
	union {
		struct txn_create create; /* TXN_CREATE */
		struct txn_delete del;    /* TXN_DELETE, TXN_DELETE_CONTAINER */
		struct txn_set_data set_data;
		struct txn_set_acl set_acl;
		struct txn_create_session create_session;
		struct txn_multi multi;
		/* TXN_CLOSE_SESSION has no body: apply removes the
		 * session's ephemerals, which the tree knows. */
	} u;
};

struct txn_multi_iter {
	const uint8_t *p;
	size_t left;
	int32_t remaining;
};

#endif
