/*
 * tree_i.h - the tree's internal layout, shared by tree.c (structure and
 * reads), tree_apply.c (transactions), acl_table.c (ACL interning) and
 * snapshot.c (walk and load).
 *
 * Design
 *   Memory per znode is what matters (a million znodes of 64 bytes should
 *   take a third of ZooKeeper's heap), so nothing carries an rcu_head:
 *   what the writer unlinks goes onto a retire batch (struct tree_retire),
 *   and the whole batch is handed to call_rcu once per transaction.  Room
 *   in the batch is reserved before a change starts, so retiring never
 *   fails.
 *
 *   Node (immutable after publication except ver and the list links):
 *     hash-table link, sibling link, children head, parent, ver, link,
 *     czxid, ctime, name length, op index, shape, name bytes.
 *   Version (immutable): mzxid, mtime, pzxid, acl, version, stored
 *   cversion, aversion, numChildren, data length (-1 null), data bytes.
 *   Nodes with a non-zero ephemeralOwner carry a struct tree_link: on their
 *   session's list (ephemerals) or on the special list (containers, TTL).
 *
 * Invariants
 *   1. A node is in the hash table iff it is on its parent's children
 *      list; both change only on the writer thread.
 *   2. ver->num_children equals the length of the children list after
 *      every complete op.
 *   3. An ACL record's refs counts the versions pointing to it (writer
 *      only); at zero it leaves the intern table and is retired.
 *   4. t->digest = sum over nodes of node_digest_data + node_digest_stat.
 */
#ifndef ZABFS_TREE_I_H
#define ZABFS_TREE_I_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu-bp.h>
#include <urcu/rcuhlist.h>
#include <urcu/rculfhash.h>
#include <urcu/rculist.h>

#include "zabfs/tree.h"

/* An interned ACL list.  Immutable except next/refs (writer only). */
struct tree_acl {
	struct tree_acl *next; /* intern chain; writer only */
	uint64_t hash;         /* of raw, fixed seed (digest input) */
	uint32_t refs;         /* writer only */
	struct zk_bytes raw;   /* points into the tail of this record */
	struct zk_acl_list list;
	struct zk_acl v[]; /* list.v == v; then the raw bytes */
};

struct tree_acl_table {
	struct tree_acl **slots; /* writer only */
	size_t nslots;
	size_t count;
};

struct tree_ver {
	int64_t mzxid;
	int64_t mtime;
	int64_t pzxid;
	int64_t acl_mtime; /* time of the last setACL; 0 if none */
	struct tree_acl *acl;
	int32_t version;
	int32_t cversion; /* stored: child creates */
	int32_t aversion;
	int32_t num_children;
	int32_t data_len; /* -1 null */
	uint8_t data[];
};

struct tree_link {
	struct cds_list_head link; /* RCU list: session's or special */
	struct tree_node *node;
	int64_t owner; /* immutable */
};

struct tree_session {
	struct cds_lfht_node hnode; /* in t->sessions, key id */
	int64_t id;
	struct cds_list_head ephemerals; /* of tree_link; RCU */
};

struct tree_node {
	struct cds_lfht_node hnode;       /* t->nodes, key (parent, name) */
	struct cds_hlist_node sibling;    /* parent's children; RCU */
	struct cds_hlist_head children;   /* RCU */
	struct tree_node *parent;         /* immutable; NULL for the root */
	struct tree_ver *ver;             /* RCU: rcu_assign_pointer */
	struct tree_link *link;           /* immutable; NULL if owner 0 */
	int64_t czxid;
	int64_t ctime;
	uint32_t name_len;
	uint16_t op_index;
	uint8_t shape;
	char name[];
};

struct tree_retire {
	struct rcu_head rcu;
	size_t n;
	size_t cap;
	void *p[];
};

struct tree {
	struct cds_lfht *nodes;    /* of tree_node */
	struct cds_lfht *sessions; /* of tree_session */
	struct tree_node *root;
	struct cds_list_head special; /* containers and TTL; RCU */
	struct tree_acl_table acls;   /* writer only */
	struct tree_retire *retire;   /* writer only */
	uint64_t hash_seed;           /* immutable */
	/* The node table grows by a resizer thread of the tree's own (liburcu
	 * 0.13's lazy auto-resize did not grow it here: lookups slowed with
	 * the node count).  The writer asks for a size; the thread resizes. */
	pthread_t resizer;
	bool resizer_started;
	pthread_mutex_t resize_mu;
	pthread_cond_t resize_cv;
	unsigned long buckets;     /* writer only: the size last asked for */
	unsigned long resize_want; /* under resize_mu; 0 = nothing to do */
	bool resize_stop;          /* under resize_mu */
	/* Written by the writer with CMM_STORE_SHARED, read anywhere. */
	int64_t last_zxid;
	uint64_t node_count;
	uint64_t data_size;
	uint64_t ephemeral_count;
	uint64_t digest;
	/* Writer scratch: a path buffer (close-session deletes). */
	char *path_buf;
	size_t path_cap;
};

/* -- tree.c: structure (writer) -- */

/* An empty tree (no root) for the loader, or with the built-ins; the hash
 * table starts with room for about size_hint nodes. */
int tree_alloc(struct tree **out, bool builtins, unsigned long size_hint);
/* Pre-order walk under the caller's read lock: fn(enter = true) for each
 * node, parent before children, each node at most once even while the
 * writer changes the tree; fn(enter = false) for a node whose children
 * were walked, after them.  A node that gets no enter = false call had no
 * children just before its enter = true call.  Stops at fn's first non-zero value and
 * returns it (or ZK_NOMEM).  path is valid during the call only. */
typedef int (*tree_walk_fn)(void *ctx, struct tree_node *n,
			    struct zk_bytes path, bool enter);
int tree_walk(struct tree *t, tree_walk_fn fn, void *ctx);
/* Recomputes t->digest by a walk (a tree being built: writer). */
int tree_digest_rebuild(struct tree *t);
uint64_t tree_path_hash(struct zk_bytes path);
/* The first ephemeral of session, or NULL (writer). */
struct tree_node *tree_session_first(struct tree *t, int64_t session);
uint64_t tree_hash_bytes(uint64_t seed, const void *p, size_t n);
uint64_t tree_node_digest_data(uint64_t path_hash, const struct tree_ver *v);
uint64_t tree_node_digest_stat(uint64_t path_hash, const struct tree_node *n,
			       const struct tree_ver *v);
/* A version with room for data_len bytes (data_len -1 = null). */
struct tree_ver *tree_ver_alloc(int32_t data_len);
struct tree_ver *tree_ver_copy(const struct tree_ver *v);
/* A node not yet linked anywhere; link allocated iff owner != 0. */
struct tree_node *tree_node_alloc(struct zk_bytes name, int64_t owner);
void tree_node_dealloc(struct tree_node *n);
/* Links n (with n->ver set) under parent, or as the root if parent is
 * NULL; ZK_NODEEXISTS if the name is taken, ZK_NOMEM if a new session
 * record cannot be allocated.  Does not touch parent's version. */
int tree_node_link(struct tree *t, struct tree_node *parent,
		   struct tree_node *n);
/* Unlinks n (no children) and retires n, its version and link (needs 4
 * reserved retire slots: node, ver, link, session). */
void tree_node_unlink(struct tree *t, struct tree_node *n);
int64_t tree_node_owner(const struct tree_node *n);
bool tree_node_builtin(const struct tree_node *n);

int tree_retire_reserve(struct tree *t, size_t k);
void tree_retire_push(struct tree *t, void *p);
void tree_retire_flush(struct tree *t);

/* -- acl_table.c (writer) -- */

int acl_table_init(struct tree_acl_table *tab);
/* Frees every record immediately (no reader may remain). */
void acl_table_destroy(struct tree_acl_table *tab);
/* The interned record for raw with one more reference; ZK_CORRUPT if raw
 * is not a jute vector<ACL>, ZK_NOMEM. */
int acl_table_intern(struct tree_acl_table *tab, struct zk_bytes raw,
		     struct tree_acl **out);
/* Drops a reference; at zero the record is unhashed and retired on t
 * (needs one reserved retire slot). */
void acl_table_unref(struct tree *t, struct tree_acl *a);

/* The tree's counters: written by the writer only, read by any thread
 * (relaxed atomics: each value is exact, not ordered with the tree). */
#define TREE_SET(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELAXED)
#define TREE_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif
