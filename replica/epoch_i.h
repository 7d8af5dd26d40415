/*
 * epoch_i.h - the acceptedEpoch and currentEpoch files of a node (as
 * ZooKeeper keeps them in dataDir: one decimal number each).
 *
 * Invariant: a file is replaced atomically (write a temporary, fsync,
 * rename, fsync the directory) before the caller acts on the new value.
 */
#ifndef ZABFS_EPOCH_I_H
#define ZABFS_EPOCH_I_H

#include <stdint.h>

/* Reads both files (missing = 0).  0, ZK_CORRUPT (a file that is not a
 * number; the message names it), ZK_IO. */
int epoch_read(const char *dir, uint32_t *accepted, uint32_t *current);
/* Writes the file "acceptedEpoch" or "currentEpoch" atomically. */
int epoch_write(const char *dir, const char *name, uint32_t epoch);
/* The start of a term for a node that is its own quorum: the next epoch
 * after every one it has seen (its files and last_zxid_epoch), written to
 * both files before it is returned. */
int epoch_begin(const char *dir, uint32_t last_zxid_epoch, uint32_t *epoch);

#endif
