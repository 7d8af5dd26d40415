/*
 * config.h - a node's configuration: ZooKeeper's zoo.cfg plus the zabfs keys,
 * and the node id from <dataDir>/myid.
 *
 * Design
 *   config_load reads the whole file once at start-up and returns the final
 *   values the server uses: every default applied, every unit converted (the
 *   field comments give the unit), every cross-key rule checked.  Nothing
 *   else in zabfs parses zoo.cfg or reads myid.
 *
 *   File syntax: the subset of Java properties that zoo.cfg files use.  One
 *   `key=value` per line; whitespace around key and value is dropped; lines
 *   whose first non-blank character is '#' or '!' are comments; blank lines
 *   are skipped.  A key given twice keeps its last value (as in Java) and adds
 *   a warning.  Backslash escapes and line continuations are not supported: a
 *   value ending in '\' is an error rather than being read differently.
 *
 *   Keys: every ZooKeeper key zabfs implements is parsed and checked; known
 *   ZooKeeper keys zabfs does not implement are accepted (some silently, some
 *   with a warning that says what is not supported: the table in config.c);
 *   unknown keys add a warning.  A bad value fails the load with a message
 *   that names the line, the key and the value.
 *
 *   Differences from ZooKeeper: autopurge.purgeInterval defaults to 1 hour
 *   (on) rather than 0 (off); server ids are 1..254 (config.c says why);
 *   unknown words in 4lw.commands.whitelist are warned about; keys that
 *   ZooKeeper reads as system properties (jute.maxbuffer, forceSync, ...)
 *   are read from zoo.cfg, with or without the "zookeeper." prefix where
 *   ZooKeeper users write either.
 *
 * Invariants (of a successfully loaded config)
 *   1. tick_ms > 0; 0 < min_session_timeout_ms <= max_session_timeout_ms.
 *   2. data_dir and data_log_dir are non-NULL.
 *   3. Server ids are unique, in 1..254, and sorted ascending; when there are
 *      servers, myid is one of them; at least one server is a participant.
 *   4. snap_retain_count >= 3.
 *
 * Ownership
 *   Every pointer in struct zabfs_config belongs to the struct and is freed
 *   by config_free.  The struct is read-only after config_load and may be
 *   read from any thread.
 */
#ifndef ZABFS_CONFIG_H
#define ZABFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One `server.N=` line. */
struct zabfs_config_server {
	int32_t id;             /* N, 1..254 (255 is refused, config.c) */
	char *host;             /* name or address; IPv6 without brackets */
	uint16_t peer_port;     /* quorum (Zab) port */
	uint16_t election_port; /* leader election port */
	bool observer;          /* ":observer" suffix */
	char *client_addr;      /* from ";addr:port", NULL if not given */
	uint16_t client_port;   /* from ";[addr:]port", 0 if not given */
};

struct zabfs_config {
	int32_t tick_ms;      /* tickTime */
	int32_t init_limit;   /* initLimit, in ticks */
	int32_t sync_limit;   /* syncLimit, in ticks */
	char *data_dir;       /* dataDir: snapshots and myid */
	char *data_log_dir;   /* dataLogDir: the transaction log */

	/* Client port: clientPort/clientPortAddress, or this server's
	 * ";[addr:]port" suffix.  client_port 0 = no client port. */
	uint16_t client_port;
	char *client_addr;    /* default "0.0.0.0" */
	int32_t max_client_cnxns; /* per client IP; 0 = unlimited */
	int32_t min_session_timeout_ms;
	int32_t max_session_timeout_ms;

	int32_t snap_count;        /* txns between snapshots */
	int32_t commit_log_count;  /* committed txns a leader keeps for DIFF */
	int32_t container_check_ms; /* znode.container.checkIntervalMs:
				     * how often empty containers and
				     * expired TTL nodes are deleted */
	int32_t snap_retain_count; /* snapshots kept by purge, >= 3 */
	int32_t purge_interval_h;  /* hours between purges; 0 = never */
	int64_t prealloc_bytes;    /* preAllocSize (given in KiB) */
	bool force_sync;           /* fsync the log before acknowledging */
	int32_t jute_maxbuffer;    /* bytes: largest frame and znode data */
	bool extended_types;       /* TTL nodes allowed */

	uint32_t four_lw_mask;     /* see config_4lw_allowed */

	struct zabfs_config_server *servers; /* n_servers, ascending id */
	size_t n_servers;
	int32_t myid;              /* this node's id; 1 with no servers */
	bool observer;             /* this node's role (peerType / its line) */

	char *super_digest;  /* "user:<base64 sha1>" or NULL */
	char *mount_point;   /* mountPoint: where to mount the tree, or NULL */
	bool mount_root_super; /* mountRootSuper: uid 0 on the mount is super */
	char *peer_secret;   /* peerSecret: peers prove it, or NULL */

	char **warnings;     /* n_warnings lines for the caller to log */
	size_t n_warnings;
};

/*
 * Reads the file at path into *out.  Returns 0, or ZK_CONFIG with a one-line
 * reason in err (naming the file and line, the key and the bad value, or the
 * myid file), or ZK_NOMEM / ZK_IO.  On failure *out holds nothing to free;
 * on success the caller calls config_free.  err may be NULL if errlen is 0.
 */
int config_load(const char *path, struct zabfs_config *out, char *err,
		size_t errlen);

/* Frees what config_load allocated; *cfg is zeroed.  Safe on a zeroed
 * struct. */
void config_free(struct zabfs_config *cfg);

/*
 * True when the four-letter word cmd (e.g. "mntr") may run: it is in
 * 4lw.commands.whitelist, or the list is "*", or cmd is "srvr" (always
 * allowed, as in ZooKeeper, because zkServer.sh status needs it).
 */
bool config_4lw_allowed(const struct zabfs_config *cfg, const char *cmd);

#endif
