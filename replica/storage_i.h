/*
 * storage_i.h - the storage seam: every file operation of the transaction
 * log (and of anything else that must survive a crash) goes through a
 * struct storage, so tests can put a fault-injecting one underneath.
 *
 * Design
 *   A small vtable over whole-path and file-descriptor operations.  Files
 *   are named by full paths; an open file is an int handle (a real fd for
 *   the POSIX storage).  Every operation returns 0 or a negative zk_err:
 *   ZK_NOSPACE when the device is full, ZK_IO for any other failure.
 *   errno never leaves an implementation.
 *
 *   storage_posix_new()  - the real thing (replica/storage.c).
 *   storage_fault_new()  - wraps another storage (replica/storage_fault.c):
 *     countdown failures: the Nth pwrite, or the Nth fdatasync/fsync of a
 *     file, fails with ZK_IO (once);
 *     power loss: writes are held in memory per file until that file is
 *     fsynced; a new name (created, or a rename target) is durable only
 *     after the directory is fsynced.  storage_fault_crash() then keeps,
 *     drops or tears (keeps a random prefix of) each un-synced write, and
 *     keeps or removes each un-synced name, from a seed; after it every
 *     operation but close fails with ZK_IO, as on a machine that died.
 *     Not modelled: a lost unlink or rename of an old name coming back.
 *
 * Invariants
 *   1. pwrite writes all n bytes or fails; pread reads n bytes unless the
 *      file ends first (*got says how many).
 *   2. After fdatasync or fsync of a file returns 0, every byte written to
 *      it before the call survives a crash; after sync_dir returns 0, every
 *      name created or renamed in that directory before the call survives.
 *   3. All operations are safe to call from several threads at once.
 *
 * Ownership: the creator of a storage destroys it with s->destroy(s);
 * storage_fault_new takes ownership of the storage it wraps.
 */
#ifndef ZABFS_STORAGE_I_H
#define ZABFS_STORAGE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Flags of storage->open; with neither, the file must exist (read-write). */
enum storage_open_flag {
	STORAGE_CREATE = 1, /* create it; fail if it exists */
	STORAGE_RDONLY = 2, /* open an existing file for reading only */
};

/* Called once per directory entry (not "." or ".."); non-zero stops the
 * listing and is returned by list_dir. */
typedef int (*storage_list_cb)(void *arg, const char *name);

struct storage {
	void *impl; /* the implementation's state */
	int (*open)(struct storage *s, const char *path, int flags, int *fd);
	int (*pwrite)(struct storage *s, int fd, const void *buf, size_t n,
		      uint64_t off);
	int (*pread)(struct storage *s, int fd, void *buf, size_t n,
		     uint64_t off, size_t *got);
	int (*fdatasync)(struct storage *s, int fd);
	int (*fsync)(struct storage *s, int fd);
	int (*size)(struct storage *s, int fd, uint64_t *size);
	int (*truncate)(struct storage *s, int fd, uint64_t size);
	/* Make the file at least size bytes long, allocated, zero-filled. */
	int (*preallocate)(struct storage *s, int fd, uint64_t size);
	int (*rename)(struct storage *s, const char *from, const char *to);
	int (*unlink)(struct storage *s, const char *path);
	int (*sync_dir)(struct storage *s, const char *dir);
	int (*list_dir)(struct storage *s, const char *dir, storage_list_cb cb,
			void *arg);
	int (*close)(struct storage *s, int fd);
	void (*destroy)(struct storage *s);
};

/* The POSIX storage.  Returns 0 and sets *out, or ZK_NOMEM. */
int storage_posix_new(struct storage **out);

/* A fault-injecting storage over base (owned from now on, also on
 * failure).  Power-loss mode is off until storage_fault_hold_writes. */
int storage_fault_new(struct storage *base, struct storage **out);

/* The nth next pwrite (0 = the very next) fails with ZK_IO; -1 = never. */
void storage_fault_fail_write(struct storage *s, int nth);

/* The nth next fdatasync or fsync of a file fails with ZK_IO; -1 = never. */
void storage_fault_fail_sync(struct storage *s, int nth);

/* Start holding writes and new names until they are synced (power-loss
 * mode).  Call before any write that should be at risk. */
void storage_fault_hold_writes(struct storage *s);

/*
 * Simulate power loss: from seed, keep, drop or tear each held write (in
 * the order written) and keep or remove each un-synced name; apply the
 * outcome to the wrapped storage.  Afterwards every operation except close
 * and destroy fails with ZK_IO.  Returns 0 or the wrapped storage's error.
 */
int storage_fault_crash(struct storage *s, uint64_t seed);

#endif
