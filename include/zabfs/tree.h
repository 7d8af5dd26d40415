/*
 * tree.h - the in-memory znode tree of a zabfs node: read by any thread
 * under RCU, written by exactly one thread (the apply thread) through
 * tree_apply().
 *
 * Design
 *   Every znode is a struct tree_node that never moves while it exists.
 *   What changes (stat fields, data, ACL) lives in an immutable version
 *   record the node points to; a change builds a new record and publishes
 *   it with one pointer store, so a reader always sees a stat and data that
 *   belong together.  Old records, removed nodes and unused ACLs are freed
 *   after an RCU grace period (urcu-bp flavour: FUSE worker threads come
 *   and go and need no registration).
 *
 *   Lookups go through one lock-free hash table keyed by (parent, name);
 *   a path lookup walks its components.  The children of a node are on an
 *   RCU list in no particular order.  The read path takes no lock and
 *   allocates nothing.
 *
 *   Apply trusts a transaction (prep validated it) but checks what it needs
 *   not to corrupt itself: a transaction that does not fit the tree is
 *   refused with an error and changes nothing.  In replay mode (after a
 *   fuzzy snapshot) it follows ZooKeeper's replay: a create of an existing
 *   node or a delete of a missing one is skipped, but the parent's
 *   cversion / pzxid still take the transaction's values (but never move
 *   back: in replay both only grow), and an op that does not fit is
 *   skipped.
 *
 * Invariants
 *   1. Only the writer thread calls tree_apply and the other functions
 *      marked "writer"; everything else may run on any thread between
 *      tree_read_lock() and tree_read_unlock(), and what it returns stays
 *      valid until the unlock.
 *   2. Listener callbacks run on the writer thread, after the change they
 *      report is visible to readers; the pointers in an event are valid
 *      during the callback only.  A callback never calls tree_apply.
 *   3. tree_digest() is a function of the tree's content alone (paths,
 *      data, ACLs and stored stat fields), independent of the order of
 *      nodes and of how the tree was built (apply, snapshot load, replay).
 *   4. The client-visible cversion is stored_cversion * 2 - numChildren.
 */
#ifndef ZABFS_TREE_H
#define ZABFS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zabfs/txn.h"
#include "zabfs/types.h"

struct tree;
struct tree_node;

/* The root's id; the built-in /zookeeper, /zookeeper/quota and
 * /zookeeper/config have ids 2, 3 and 4.  Other ids are >= 65536. */
#define TREE_ROOT_ID 1u

/* A consistent read of one node (tree_node_read).  Views valid until
 * tree_read_unlock(). */
struct tree_view {
	struct zk_stat stat;     /* as a client sees it */
	struct zk_bytes data;    /* len -1 for null data */
	struct zk_bytes acl_raw; /* jute vector<ACL> */
	struct zk_acl_list acl;  /* acl_raw decoded */
	int64_t owner;           /* ephemeralOwner as stored (types.h) */
	int64_t acl_mtime;       /* time of the last setACL; 0 if none */
	int32_t stored_cversion; /* the count of child creates */
	int32_t shape;           /* enum txn_shape */
	uint64_t id;             /* tree_node_id() */
};

/* -- readers (any thread) -- */

void tree_read_lock(void);
void tree_read_unlock(void);

struct tree_node *tree_root(struct tree *t);
/* The node at path, or NULL (also for an invalid path). */
struct tree_node *tree_lookup(struct tree *t, struct zk_bytes path);
struct tree_node *tree_lookup_child(struct tree *t,
				    const struct tree_node *parent,
				    struct zk_bytes name);
/* NULL for the root. */
struct tree_node *tree_node_parent(const struct tree_node *n);
/* The last component; "" for the root. */
struct zk_bytes tree_node_name(const struct tree_node *n);
/* Stable for the node's life and across restarts; derived from czxid and
 * the op's index in its multi: (epoch & 0xffff) << 48 | counter << 16 |
 * (index & 0xffff).  Unique unless epochs wrap 65536 or a multi creates
 * more than 65536 nodes. */
uint64_t tree_node_id(const struct tree_node *n);
void tree_node_read(const struct tree_node *n, struct tree_view *v);
/* Writes the node's path into buf (NUL-terminated when it fits) and
 * returns its length without the NUL; the path fits iff result < cap. */
size_t tree_node_path(const struct tree_node *n, char *buf, size_t cap);
/* Children in no particular order; a child removed meanwhile still leads
 * on to the rest.  NULL at the end. */
struct tree_node *tree_child_first(const struct tree_node *parent);
struct tree_node *tree_child_next(const struct tree_node *child);

int64_t tree_last_zxid(const struct tree *t);
uint64_t tree_node_count(const struct tree *t);
uint64_t tree_data_size(const struct tree *t); /* sum of data lengths */
uint64_t tree_ephemeral_count(const struct tree *t);
/* Order-independent 64-bit digest of the whole tree (invariant 3).
 * Exact on the writer thread; elsewhere it may lag an apply. */
uint64_t tree_digest(const struct tree *t);

/* Calls fn for each ephemeral node of session (under the caller's read
 * lock); stops early and returns fn's value when it is non-zero. */
int tree_ephemerals_foreach(struct tree *t, int64_t session,
			    int (*fn)(void *ctx, struct tree_node *n),
			    void *ctx);

/* -- writer -- */

enum tree_change {
	TREE_CREATED = 1,
	TREE_DELETED,
	TREE_DATA_CHANGED,
	TREE_CHILDREN_CHANGED, /* reported on the parent */
	TREE_ACL_CHANGED,
};

struct tree_event {
	enum tree_change type;
	int64_t zxid;
	struct zk_bytes path;     /* the node the event is about */
	const struct tree_node *node;
	const struct tree_node *parent; /* node's parent; NULL for the root */
};

struct tree_listener {
	void (*fn)(void *ctx, const struct tree_event *ev);
	void *ctx;
};

/* A fresh tree holding the root, /zookeeper, /zookeeper/quota and
 * /zookeeper/config.  0 or ZK_NOMEM. */
int tree_new(struct tree **out);
/* Frees everything; no reader may still use the tree. */
void tree_free(struct tree *t);

/*
 * Applies one committed transaction (writer).  listener may be NULL.
 * op_stats may be NULL, else it receives one stat per op (1 for a single
 * txn, multi.count for a multi; nothing for session txns): the node's stat
 * right after the op (for a delete, its last stat; for a check, its
 * current stat or zeros).
 *
 * Returns 0, or without changing anything: ZK_NONODE, ZK_NODEEXISTS,
 * ZK_NOTEMPTY, ZK_NOCHILDRENFOREPHEMERALS, ZK_BADARGUMENTS (bad path, a
 * built-in node, zxid not above the last applied one), ZK_CORRUPT (bad ACL
 * or multi encoding), ZK_NOMEM.  Exception: ZK_NOMEM in the middle of a
 * multi or a close-session leaves the ops before it applied; the replica
 * must then stop and recover from disk.  In replay mode a transaction at
 * or below the last applied zxid is skipped (returns 0).
 */
int tree_apply(struct tree *t, const struct txn *txn, bool replay,
	       const struct tree_listener *listener, struct zk_stat *op_stats);

/* Calls fn for each container and TTL node (writer, under its read lock,
 * which tree_apply does not hold: take tree_read_lock around it).  fn must
 * not apply transactions; it collects candidates for deletion. */
int tree_special_foreach(struct tree *t,
			 int (*fn)(void *ctx, struct tree_node *n), void *ctx);

#endif
