/*
 * snapshot_i.h - fuzzy snapshots of the tree (replica/snapshot.c; file
 * format in include/zabfs/snapfmt.h).
 *
 * Design
 *   snapshot_write runs on its own thread while the writer keeps applying:
 *   the caller names Z, a zxid already applied when the write starts (the
 *   sessions blob it hands in is as of Z too); the walk goes over the tree
 *   under one RCU read-side critical section and writes every node as it
 *   finds it.  A node may so be written in a state later than Z; replaying
 *   the log from
 *   Z + 1 in replay mode (tree_apply) brings the loaded tree to exactly the
 *   writer's state.  Memory retired by the writer during the walk is freed
 *   only after it (the walk holds the grace period).
 *
 *   Files: "snapshot.<16 hex of Z>", written as "<name>.tmp", fsynced,
 *   renamed, and the directory fsynced.
 *
 * Invariants
 *   1. A file named snapshot.<hex> is complete: it was fsynced before the
 *      rename.
 *   2. snapshot_load returns a tree only if the whole file validates
 *      (snapfmt invariants) and its nodes form a tree with the root first.
 */
#ifndef ZABFS_SNAPSHOT_I_H
#define ZABFS_SNAPSHOT_I_H

#include <stddef.h>
#include <stdint.h>

#include "zabfs/tree.h"
#include "zabfs/types.h"

/* Writes snapshot.<zxid> of t into dir (any thread); every transaction up
 * to zxid must be applied to t before the call.  sessions is stored as it
 * is.  0, ZK_IO (errno-level failure; the temporary file is removed), or
 * ZK_NOMEM. */
int snapshot_write(struct tree *t, const char *dir, struct zk_bytes sessions,
		   int64_t zxid);

/* The result of a load; tree and sessions are the caller's to free
 * (tree_free, free). */
struct snapshot_loaded {
	struct tree *tree;
	int64_t zxid;
	uint8_t *sessions; /* malloc'd; NULL if the file had none */
	size_t sessions_len;
};

/* Builds a fresh tree from the file at path.  0, ZK_CORRUPT, ZK_IO or
 * ZK_NOMEM; on error *out is untouched. */
int snapshot_load(const char *path, struct snapshot_loaded *out);

/* The zxids of the snapshots in dir, newest first, in a malloc'd array
 * (*zxids NULL when *n is 0).  0, ZK_IO or ZK_NOMEM. */
int snapshot_list(const char *dir, int64_t **zxids, size_t *n);

/* Loads the newest snapshot in dir that validates, falling back to older
 * ones.  0, ZK_NONODE (none loads), ZK_IO or ZK_NOMEM. */
int snapshot_find_latest(const char *dir, struct snapshot_loaded *out);

#endif
