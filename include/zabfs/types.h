/*
 * types.h - value types shared by proto/, replica/ and fs/.
 *
 * Design
 *   Plain structs, no behaviour.  Byte strings are views (pointer + length)
 *   into a buffer someone else owns; the owner is named wherever a view is
 *   handed out.  A length of -1 is ZooKeeper's null (jute writes it for a
 *   null string or buffer); 0 is an empty, non-null value.
 */
#ifndef ZABFS_TYPES_H
#define ZABFS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A view of bytes owned elsewhere.  len == -1 means null, p may be NULL. */
struct zk_bytes {
	const uint8_t *p;
	int32_t len;
};

/* ZXID = epoch << 32 | counter. */
#define ZXID_EPOCH(z) ((uint32_t)((uint64_t)(z) >> 32))
#define ZXID_COUNTER(z) ((uint32_t)((uint64_t)(z)&0xffffffffu))
#define ZXID_MAKE(epoch, counter)                                            \
	((int64_t)(((uint64_t)(epoch) << 32) | (uint32_t)(counter)))

/* Permission bits (ZooDefs.Perms). */
enum zk_perm {
	ZK_PERM_READ = 1,
	ZK_PERM_WRITE = 2,
	ZK_PERM_CREATE = 4,
	ZK_PERM_DELETE = 8,
	ZK_PERM_ADMIN = 16,
	ZK_PERM_ALL = 31,
};

struct zk_id {
	struct zk_bytes scheme;
	struct zk_bytes id;
};

struct zk_acl {
	int32_t perms;
	struct zk_id id;
};

/* An ACL list; v points to n entries owned by whoever owns the list. */
struct zk_acl_list {
	int32_t n;
	const struct zk_acl *v;
};

/* CreateMode flags as sent in CreateRequest.flags. */
enum zk_create_mode {
	ZK_MODE_PERSISTENT = 0,
	ZK_MODE_EPHEMERAL = 1,
	ZK_MODE_PERSISTENT_SEQUENTIAL = 2,
	ZK_MODE_EPHEMERAL_SEQUENTIAL = 3,
	ZK_MODE_CONTAINER = 4,
	ZK_MODE_PERSISTENT_WITH_TTL = 5,
	ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL = 6,
};

/*
 * ephemeralOwner as stored (EphemeralType.java): 0 persistent, a session id
 * for an ephemeral, INT64_MIN for a container, 0xFF00.. | ttl for a TTL node.
 * Clients see 0 for containers and TTL nodes (zk_owner_for_client).
 */
#define ZK_OWNER_CONTAINER INT64_MIN
#define ZK_OWNER_TTL_MASK ((int64_t)0xFF00000000000000ull)
#define ZK_TTL_MAX ((int64_t)0xFFFFFFFFFFll) /* 2^40 - 1 ms */

static inline bool zk_owner_is_container(int64_t owner)
{
	return owner == ZK_OWNER_CONTAINER;
}

static inline bool zk_owner_is_ttl(int64_t owner)
{
	return owner != ZK_OWNER_CONTAINER &&
	       (owner & ZK_OWNER_TTL_MASK) == ZK_OWNER_TTL_MASK;
}

static inline int64_t zk_owner_ttl(int64_t owner)
{
	return owner & ~ZK_OWNER_TTL_MASK;
}

static inline bool zk_owner_is_session(int64_t owner)
{
	return owner != 0 && !zk_owner_is_container(owner) &&
	       !zk_owner_is_ttl(owner);
}

static inline int64_t zk_owner_for_client(int64_t owner)
{
	return zk_owner_is_session(owner) ? owner : 0;
}

/*
 * The Stat record as a client sees it (wire order, 68 bytes).  cversion here
 * is the client-visible value (creates + deletes), not the stored one.
 */
struct zk_stat {
	int64_t czxid;
	int64_t mzxid;
	int64_t ctime;
	int64_t mtime;
	int32_t version;
	int32_t cversion;
	int32_t aversion;
	int64_t ephemeral_owner;
	int32_t data_length;
	int32_t num_children;
	int64_t pzxid;
};

/* Watch event types (Watcher.Event.EventType). */
enum zk_event_type {
	ZK_EVENT_NONE = -1,
	ZK_EVENT_CREATED = 1,
	ZK_EVENT_DELETED = 2,
	ZK_EVENT_DATA_CHANGED = 3,
	ZK_EVENT_CHILDREN_CHANGED = 4,
	ZK_EVENT_DATA_WATCH_REMOVED = 5,
	ZK_EVENT_CHILD_WATCH_REMOVED = 6,
	ZK_EVENT_PERSISTENT_WATCH_REMOVED = 7,
};

#define ZK_STATE_SYNC_CONNECTED 3

/* Default jute.maxbuffer: the largest frame and znode data accepted. */
#define ZK_DEFAULT_MAXBUFFER 0xfffff

#endif
