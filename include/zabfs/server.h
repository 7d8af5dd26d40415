/*
 * server.h - running a zabfs node.
 */
#ifndef ZABFS_SERVER_H
#define ZABFS_SERVER_H

#include "zabfs/config.h"
#include "zabfs/replica.h"

/* Recovers the node's state from disk, starts frontend (may be NULL: the
 * client port only) and serves until SIGTERM or SIGINT (or a storage
 * failure).  Returns the process exit code: 0 after a clean stop, 1 when it
 * could not start, 2 after a storage failure. */
int zabfs_server_run(const struct zabfs_config *cfg,
		     const struct zabfs_frontend *frontend);

#endif
