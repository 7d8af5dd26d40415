/*
 * epoch_i.h - files replaced atomically: the acceptedEpoch and
 * currentEpoch files of a node (as
 * ZooKeeper keeps them in dataDir: one decimal number each).  acceptedEpoch
 * may hold a second number, the id of the leader the epoch was accepted
 * from (the Zab core needs it, zab_i.h); a file without it reads as 0.
 *
 * Invariant: a file is replaced atomically (write a temporary, fsync,
 * rename, fsync the directory) before the caller acts on the new value.
 */
#ifndef ZABFS_EPOCH_I_H
#define ZABFS_EPOCH_I_H

#include <stdint.h>

struct epochs {
	uint32_t accepted;
	uint64_t accepted_from; /* 0: unknown */
	uint32_t current;
};

/* Reads both files (missing = 0).  0, ZK_CORRUPT (a file that does not
 * hold an epoch; the message names it), ZK_IO. */
int epoch_read(const char *dir, struct epochs *out);
/* Writes len bytes to tmp, fsyncs, renames it to path and fsyncs dir:
 * 0 or ZK_IO (tmp removed). */
int file_write_atomic(const char *dir, const char *tmp, const char *path,
		      const void *p, size_t len);
/* Writes "acceptedEpoch" (with its leader when not 0) or "currentEpoch"
 * (leader ignored) atomically. */
int epoch_write(const char *dir, const char *name, uint32_t epoch,
		uint64_t leader);

#endif
