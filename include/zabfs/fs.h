/*
 * fs.h - the mount: the znode tree as a FUSE filesystem inside the zabfs
 * process (fs/, contract in design/filesystem.md).
 *
 * The server starts it like any frontend (replica.h): start on the loop
 * thread after recovery and before serving, stop when the replica stops.
 * With no mountPoint in the config, start does nothing and returns 0.
 */
#ifndef ZABFS_FS_H
#define ZABFS_FS_H

#include "zabfs/replica.h"


/* The mount as a frontend; static storage, never NULL. */
const struct zabfs_frontend *zabfs_fs_frontend(void);

#endif
