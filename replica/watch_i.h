/*
 * watch_i.h - the client port's watches: one-shot data and child watches,
 * persistent and persistent-recursive watches, per connection.
 *
 * Design
 *   One table by path (hmap) whose entries list (connection, kinds) pairs.
 *   A change applied to the tree triggers the watches of its path (and, for
 *   recursive watches, of every ancestor), as ZooKeeper's WatchManager does:
 *   one-shot kinds are removed as they fire; a connection gets at most one
 *   event per change even when several of its watches match; events go out
 *   only to connections whose identities may READ the node.
 *   Loop thread only.
 *
 * Invariants
 *   1. A watch_path entry with no watchers is removed at once.
 *   2. n_recursive counts recursive registrations, so that changes skip the
 *      ancestor walk when it is 0.
 */
#ifndef ZABFS_WATCH_I_H
#define ZABFS_WATCH_I_H

#include <stdbool.h>
#include <stdint.h>

#include "hmap_i.h"
#include "zabfs/types.h"

struct conn;
struct jute_writer;

enum watch_kind {
	WATCH_DATA = 1,       /* getData / exists: one-shot */
	WATCH_CHILD = 2,      /* getChildren: one-shot */
	WATCH_PERSISTENT = 4, /* addWatch mode 0 */
	WATCH_RECURSIVE = 8,  /* addWatch mode 1 */
};

struct watches {
	struct hmap map;
	uint64_t n_watches;   /* (path, conn, kind) registrations */
	uint64_t n_recursive;
};

/* The change being announced, as the tree reports it. */
struct watch_event {
	int type; /* enum zk_event_type */
	struct zk_bytes path;
	int64_t zxid;
	const struct zk_acl_list *acl; /* the node's ACL; NULL = anyone */
};

int watches_init(struct watches *w);
void watches_destroy(struct watches *w);
int watches_add(struct watches *w, struct zk_bytes path, struct conn *c,
		unsigned kind);
/* Removes conn's watches of the given kinds on path; returns how many. */
int watches_remove(struct watches *w, struct zk_bytes path, struct conn *c,
		   unsigned kinds);
bool watches_has(const struct watches *w, struct zk_bytes path,
		 const struct conn *c, unsigned kinds);
void watches_drop_conn(struct watches *w, struct conn *c);
/* Fires what ev triggers; the events are queued on the connections. */
void watches_trigger(struct watches *w, const struct watch_event *ev);
/* The wchs / wchc / wchp four-letter words. */
void watches_report(const struct watches *w, int which,
		    struct jute_writer *out);

#endif
