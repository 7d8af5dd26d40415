/*
 * pending_i.h - the changes prep has made that apply has not yet: what the
 * tree will look like once every in-flight transaction is applied.
 *
 * Design
 *   An overlay by path over the tree.  prep reads a node through
 *   pending_get(), which answers from the overlay when the path has an
 *   in-flight change and from the tree otherwise, and records its own
 *   decisions with pending_put().  Entries are kept on a list in the order of
 *   the zxid that last touched them; once apply has caught up with that zxid
 *   the tree says the same and the entry is released (pending_release).
 *   A multi is all-or-nothing: pending_savepoint() starts an undo log and
 *   pending_rollback() restores every entry touched since.
 *   Loop thread only.
 *
 * Invariants
 *   1. For every entry, last_zxid is the largest zxid of an in-flight
 *      transaction that changed the path; the list is ordered by it.
 *   2. An entry's state equals the tree's state of the path after every
 *      transaction up to last_zxid is applied.
 */
#ifndef ZABFS_PENDING_I_H
#define ZABFS_PENDING_I_H

#include <stdbool.h>
#include <stdint.h>

#include "hmap_i.h"
#include "zabfs/types.h"

struct tree;

/* What prep needs to know of a node. */
struct node_state {
	bool exists;
	int32_t version;
	int32_t aversion;
	int32_t cversion; /* stored: the number of child creates */
	int32_t num_children;
	int32_t shape;
	int32_t data_len;
	int64_t owner;
	struct zk_bytes acl_raw; /* valid until the next pending_* call */
};

struct pending_entry;

struct pending_undo {
	struct pending_entry *entry;
	bool was_new;
	struct node_state old;
	uint8_t *old_acl;
	int64_t old_zxid;
};

struct pending {
	struct hmap map;
	struct pending_entry *oldest, *newest;
	size_t count;
	/* Undo log of the current multi; active when in_savepoint. */
	struct pending_undo *undo;
	size_t n_undo, cap_undo;
	bool in_savepoint;
};

int pending_init(struct pending *p);
void pending_destroy(struct pending *p);
/* The state of path: the overlay's when it has one, else the tree's.
 * The caller holds the tree's read lock. */
void pending_get(struct pending *p, const struct tree *t,
		 struct zk_bytes path, struct node_state *out);
/* Records the state of path after transaction zxid.  st->acl_raw is
 * copied.  Returns 0 or ZK_NOMEM. */
int pending_put(struct pending *p, struct zk_bytes path,
		const struct node_state *st, int64_t zxid);
/* Apply has reached zxid: forget entries no newer than it. */
void pending_release(struct pending *p, int64_t applied_zxid);
/* Every in-flight ephemeral of session, for closeSession: calls fn with
 * each existing path whose owner is session. */
void pending_for_each_owned(struct pending *p, int64_t session,
			    void (*fn)(void *ctx, struct zk_bytes path),
			    void *ctx);
bool pending_has(struct pending *p, struct zk_bytes path);
void pending_savepoint(struct pending *p);
void pending_commit_savepoint(struct pending *p);
void pending_rollback(struct pending *p);

#endif
