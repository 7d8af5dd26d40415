/*
 * replica.h - what a running replica offers the frontends that live in its
 * process (the mount, fs/): the tree to read, a door for requests, and the
 * change feed.
 *
 * Design
 *   Requests travel in ZooKeeper's own encoding (RequestHeader + record, as
 *   zk_request_encode writes them) over a *local session*: a session like a
 *   client's, created and closed by transactions, that goes through the same
 *   request path as the client port (conn, prep, commit), so a znode behaves
 *   the same whichever door it came through.  A caller blocks in
 *   zabfs_local_call until its reply frame (ReplyHeader + body) arrives.
 *
 *   Watch events of a local session (when a request set a watch) are not
 *   delivered: a frontend learns about changes from the change feed only.
 *
 * Threads
 *   zabfs_local_* may be called from any thread except the replica's loop
 *   thread (they block on it).  Calls on one local session are answered in
 *   the order they were made; calls on different sessions run concurrently.
 *   The change feed's callback runs on the loop thread, after the change is
 *   visible to tree readers; it must not block and must not call
 *   zabfs_local_* (it copies what it needs and returns).
 *
 * Ownership
 *   The replica owns the tree; readers use it under tree_read_lock().
 *   A struct zabfs_local belongs to its opener until zabfs_local_close.
 */
#ifndef ZABFS_REPLICA_H
#define ZABFS_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zabfs/config.h"
#include "zabfs/jute.h"
#include "zabfs/tree.h"

struct zabfs_replica;
struct zabfs_local;

/*
 * A create request sent by the mount carries the znode's shape (enum
 * txn_shape, TXN_SHAPE_FILE or TXN_SHAPE_DIR) in bits 8-9 of
 * CreateRequest.flags: flags = mode | shape << ZABFS_CREATE_SHAPE_SHIFT.
 * Only a local session (zabfs_local_call) may set these bits; the request
 * path strips them before checking the mode and stores the shape in the
 * create transaction.
 */
#define ZABFS_CREATE_SHAPE_SHIFT 8
#define ZABFS_CREATE_SHAPE_MASK (3 << ZABFS_CREATE_SHAPE_SHIFT)

/* Who makes a call: a process on this machine, as the kernel reports it.
 * ACL entries uid:<n> and gid:<n> match it (gid: its group or any of its
 * supplementary groups); super when mountRootSuper makes root super.  A
 * call with no caller (NULL) has only the world's rights. */
#define ZABFS_CALLER_GROUPS 16
struct zabfs_caller {
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	uint32_t n_groups; /* at most ZABFS_CALLER_GROUPS */
	uint32_t groups[ZABFS_CALLER_GROUPS];
};

/* Whether the node can take writes now: it leads or follows a leader (a
 * lone node always can).  Any thread. */
bool zabfs_replica_serving(struct zabfs_replica *r);

/* The tree, for reads under tree_read_lock() from any thread. */
struct tree *zabfs_replica_tree(struct zabfs_replica *r);
const struct zabfs_config *zabfs_replica_config(struct zabfs_replica *r);

/*
 * Opens a local session (createSession, committed before this returns).
 * timeout_ms is clamped as a client's would be.  Returns 0, ZK_STOPPED (the
 * replica is stopping), ZK_NOMEM.
 */
int zabfs_local_open(struct zabfs_replica *r, int32_t timeout_ms,
		     struct zabfs_local **out);

/* The session id of a local session (the owner of its ephemerals). */
int64_t zabfs_local_session_id(const struct zabfs_local *l);

/*
 * One request: req is RequestHeader + record (its xid is replaced by the
 * session's next one).  Its ACL checks are made as who, when the request
 * reaches the session's queue: the mount sends only writes and sync, which
 * are checked then (a read would be checked when its turn came).  On return, reply holds the ReplyHeader and, when
 * its err is 0, the response record.  Returns 0 (the reply's err says how
 * the request went), ZK_STOPPED, ZK_NOMEM; ZK_SESSIONEXPIRED when the
 * session is gone (then reopen).
 */
int zabfs_local_call(struct zabfs_local *l, const struct zabfs_caller *who,
		     const uint8_t *req, size_t len, struct jute_writer *reply);

/* Closes the session (closeSession: its ephemerals are deleted) and frees
 * l.  Blocks until the close is committed or the replica stops. */
void zabfs_local_close(struct zabfs_local *l);

/*
 * The change feed: every tree event of every applied transaction (struct
 * tree_event, tree.h), in zxid order, on the loop thread.  One listener;
 * set it before the replica serves (from the frontend's start hook).
 */
void zabfs_replica_set_feed(struct zabfs_replica *r,
			    const struct tree_listener *feed);

/*
 * A frontend started with the replica (the mount).  start runs on the loop
 * thread once recovery is done and before clients are served; it returns 0
 * or an error that stops the start.  stop runs when the replica stops,
 * before the tree is freed; after it returns no frontend thread may touch
 * the replica.
 */
struct zabfs_frontend {
	int (*start)(struct zabfs_replica *r, void **state);
	void (*stop)(void *state);
};

#endif
