/*
 * faultshim.c - an LD_PRELOAD library for the fault runner (issue #5):
 * disk faults, clock jumps and a journal of un-synced writes in a running
 * zabfs process, steered from outside through a shared control file.
 *
 * Design
 *   Off unless ZABFS_FAULT_CTL names a control file; then every call below
 *   goes to libc (dlsym RTLD_NEXT) except where a fault is armed.  The
 *   control file (4096 bytes, made by the runner, tests/faults/
 *   diskfaults.py) is mapped MAP_SHARED at first use and read with atomic
 *   loads on each call; the layout, native-endian:
 *
 *     off  type  field
 *       0  u32   magic 0x5A464C54 ("ZFLT"): nothing happens until set
 *       4  u32   version 1
 *       8  i64   ns added to CLOCK_REALTIME(_COARSE), gettimeofday, time
 *      16  u32   fail_fsync   fsync/fdatasync fail with EIO
 *      20  u32   short_write  a write writes half (at least 1 byte)
 *      24  u32   fail_write   a write fails with ENOSPC, writes nothing
 *      28  u32   eio_read     a read fails with EIO
 *   32..56  u64  how many of each were injected, in the order above
 *      64  u32   sync_delay_ms  every fsync/fdatasync sleeps this long
 *                before it syncs (a stalled disk)
 *      72  u64   how many syncs were stalled
 *
 *   The four u32 fields from 16 are countdowns: a faulted call takes one
 *   (atomic compare-and-swap), so N arms exactly N faults; sync_delay_ms
 *   holds until it is set back to 0.  A stall with a kill -9 inside it
 *   is a power cut in the middle of a sync: whatever was written but not
 *   yet synced is what powerloss.py reverts.  Only "data files" are
 *   faulted: regular files opened (open/openat) under ZABFS_FAULT_DIR.
 *   Which descriptors are data files is decided at each open, from the
 *   opened path (/proc/self/fd), into a table indexed by descriptor, and
 *   checked again with fstat at use (a descriptor number that libc never
 *   saw closed may have been reused by a socket).
 *
 *   Journal (ZABFS_FAULT_JOURNAL): before each write, ftruncate or
 *   fallocate of a data file, a WRITE record with what it overwrites (the
 *   old bytes of the range and the file's old size); after each successful
 *   fsync/fdatasync of one, a SYNC record.  Each record is one write(2) to
 *   a file opened O_APPEND, so a kill -9 never leaves half of one.  A
 *   rename of a data file (log segments and snapshots are written under a
 *   temporary name) is a RENAME record whose "old bytes" are the new path,
 *   and the descriptors open on it follow it.  After
 *   the kill, powerloss.py reverts the records after each file's last SYNC
 *   (a power cut).  Record: u32 magic 0x5A464A52 ("ZFJR"), u32 kind
 *   (1 WRITE, 2 SYNC, 3 RENAME), u32 path length, u32 old-bytes length, u64 offset,
 *   u64 old size, then the path and the old bytes.
 *
 * Invariants
 *   1. Without ZABFS_FAULT_CTL, or before the magic is set, every call is
 *      libc's, unchanged, except for the descriptor bookkeeping at open.
 *   2. A fault is counted only when it was injected.
 *   3. Metadata (creates, renames, unlinks, O_TRUNC) is not journalled:
 *      only file contents and sizes are reverted.  Descriptors above
 *      MAX_FDS are never data files.  Paths recorded at open are never
 *      freed (a few bytes per open of a data file).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CTL_MAGIC 0x5A464C54u
#define JOURNAL_MAGIC 0x5A464A52u
#define CTL_SIZE 4096
#define MAX_FDS 4096

enum fault { F_FSYNC, F_SHORT_WRITE, F_WRITE, F_READ, F_COUNT };
enum record { R_WRITE = 1, R_SYNC = 2, R_RENAME = 3 };

struct ctl {
	_Atomic uint32_t magic;
	uint32_t version;
	_Atomic int64_t clock_offset_ns;
	_Atomic uint32_t armed[F_COUNT];
	_Atomic uint64_t injected[F_COUNT];
	_Atomic uint32_t sync_delay_ms;
	uint32_t pad;
	_Atomic uint64_t stalled;
};
_Static_assert(offsetof(struct ctl, injected) == 32 &&
		   offsetof(struct ctl, sync_delay_ms) == 64 &&
		   offsetof(struct ctl, stalled) == 72,
	       "the control file's layout (diskfaults.py reads it too)");

static struct {
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*read)(int, void *, size_t);
	int (*fsync)(int);
	int (*fdatasync)(int);
	int (*ftruncate)(int, off_t);
	int (*fallocate)(int, int, off_t, off_t);
	int (*rename)(const char *, const char *);
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*clock_gettime)(clockid_t, struct timespec *);
	int (*gettimeofday)(struct timeval *, void *);
	time_t (*time)(time_t *);
} real;

static struct ctl *ctl;
static const char *data_dir;
static size_t data_dir_len;
static int journal_fd = -1;
static _Atomic(char *) fd_path[MAX_FDS];

/* libc's function of that name (memcpy: ISO C has no cast from void *
 * to a function pointer). */
#define LOAD(name)                                                       \
	do {                                                             \
		void *sym_ = dlsym(RTLD_NEXT, #name);                    \
		memcpy(&real.name, &sym_, sizeof(sym_));                 \
	} while (0)

static void shim_init(void)
{
	LOAD(pwrite);
	LOAD(write);
	LOAD(pread);
	LOAD(read);
	LOAD(fsync);
	LOAD(fdatasync);
	LOAD(ftruncate);
	LOAD(fallocate);
	LOAD(rename);
	LOAD(open);
	LOAD(openat);
	LOAD(clock_gettime);
	LOAD(gettimeofday);
	LOAD(time);
	const char *path = getenv("ZABFS_FAULT_CTL");
	if (!path)
		return;
	int fd = real.open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	void *m = mmap(NULL, CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	ctl = m;
	data_dir = getenv("ZABFS_FAULT_DIR");
	data_dir_len = data_dir ? strlen(data_dir) : 0;
	const char *journal = getenv("ZABFS_FAULT_JOURNAL");
	if (journal)
		journal_fd = real.open(journal,
				       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				       0644);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Every entry point first: libc's functions found, the control file
 * mapped (another library's constructor may call us before ours). */
static void ready(void)
{
	pthread_once(&init_once, shim_init);
}

__attribute__((constructor)) static void shim_load(void)
{
	ready();
}

static bool on(void)
{
	return ctl && atomic_load(&ctl->magic) == CTL_MAGIC;
}

/* Takes one fault of kind f if armed (invariant 2). */
static bool take(enum fault f)
{
	if (!on())
		return false;
	uint32_t n = atomic_load(&ctl->armed[f]);
	while (n > 0)
		if (atomic_compare_exchange_weak(&ctl->armed[f], &n, n - 1)) {
			atomic_fetch_add(&ctl->injected[f], 1);
			return true;
		}
	return false;
}

/* The data file's path for fd, or NULL. */
static const char *data_file(int fd)
{
	if (!ctl || fd < 0 || fd >= MAX_FDS)
		return NULL;
	const char *p = atomic_load(&fd_path[fd]);
	struct stat st;
	if (!p || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	return p;
}

/* Decides at open whether fd is a data file. */
static int opened(int fd)
{
	if (!ctl || fd < 0 || fd >= MAX_FDS || !data_dir_len)
		return fd;
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	char *keep = NULL;
	if (n > 0 && (size_t)n > data_dir_len &&
	    !strncmp(path, data_dir, data_dir_len) && path[data_dir_len] == '/') {
		path[n] = '\0';
		keep = strdup(path);
	}
	atomic_store(&fd_path[fd], keep);
	return fd;
}

static void journal(enum record kind, const char *path, uint64_t off,
		    const void *old, uint32_t old_len, uint64_t old_size)
{
	if (journal_fd < 0 || !on())
		return;
	uint32_t path_len = (uint32_t)strlen(path);
	size_t n = 32 + path_len + old_len;
	uint8_t *rec = malloc(n);
	if (!rec)
		return;
	uint32_t head[4] = {JOURNAL_MAGIC, kind, path_len, old_len};
	memcpy(rec, head, 16);
	memcpy(rec + 16, &off, 8);
	memcpy(rec + 24, &old_size, 8);
	memcpy(rec + 32, path, path_len);
	if (old_len)
		memcpy(rec + 32 + path_len, old, old_len);
	(void)!real.write(journal_fd, rec, n);
	free(rec);
}

/* Journals what a change of [off, off + len) and of the size will undo. */
static void before_change(int fd, const char *path, uint64_t off, size_t len)
{
	if (journal_fd < 0 || !on())
		return;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return;
	uint64_t size = (uint64_t)st.st_size;
	size_t have = off >= size ? 0
				  : (size - off < len ? (size_t)(size - off) : len);
	uint8_t *old = have ? malloc(have) : NULL;
	if (have && (!old || real.pread(fd, old, have, (off_t)off) !=
				     (ssize_t)have)) {
		free(old);
		return;
	}
	journal(R_WRITE, path, off, old, (uint32_t)have, size);
	free(old);
}

static ssize_t faulted_write(int fd, const void *buf, size_t n, off_t off,
			     bool positional)
{
	const char *path = data_file(fd);
	if (!path)
		return positional ? real.pwrite(fd, buf, n, off)
				  : real.write(fd, buf, n);
	if (take(F_WRITE)) {
		errno = ENOSPC;
		return -1;
	}
	if (n > 1 && take(F_SHORT_WRITE))
		n /= 2;
	off_t at = positional ? off : lseek(fd, 0, SEEK_CUR);
	if (at >= 0)
		before_change(fd, path, (uint64_t)at, n);
	return positional ? real.pwrite(fd, buf, n, off)
			  : real.write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ready();
	return faulted_write(fd, buf, n, off, true);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	ready();
	return faulted_write(fd, buf, n, off, true);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	ready();
	return faulted_write(fd, buf, n, 0, false);
}

static bool read_fault(int fd)
{
	if (!on() || atomic_load(&ctl->armed[F_READ]) == 0 || !data_file(fd))
		return false;
	return take(F_READ);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	ready();
	if (read_fault(fd)) {
		errno = EIO;
		return -1;
	}
	return real.pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off);
}

ssize_t read(int fd, void *buf, size_t n)
{
	ready();
	if (read_fault(fd)) {
		errno = EIO;
		return -1;
	}
	return real.read(fd, buf, n);
}

static int faulted_sync(int fd, int (*sync_fn)(int))
{
	const char *path = data_file(fd);
	if (path && take(F_FSYNC)) {
		errno = EIO;
		return -1;
	}
	uint32_t delay_ms = path && on() ? atomic_load(&ctl->sync_delay_ms) : 0;
	if (delay_ms) {
		atomic_fetch_add(&ctl->stalled, 1);
		struct timespec d = {delay_ms / 1000,
				     (long)(delay_ms % 1000) * 1000000};
		while (nanosleep(&d, &d) != 0 && errno == EINTR)
			;
	}
	int rc = sync_fn(fd);
	if (rc == 0 && path)
		journal(R_SYNC, path, 0, NULL, 0, 0);
	return rc;
}

int fsync(int fd)
{
	ready();
	return faulted_sync(fd, real.fsync);
}

int fdatasync(int fd)
{
	ready();
	return faulted_sync(fd, real.fdatasync);
}

int ftruncate(int fd, off_t size)
{
	ready();
	const char *path = data_file(fd);
	if (path)
		before_change(fd, path, (uint64_t)size, 0);
	return real.ftruncate(fd, size);
}

int ftruncate64(int fd, off_t size)
{
	return ftruncate(fd, size);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	ready();
	const char *path = data_file(fd);
	if (path)
		before_change(fd, path, (uint64_t)off, 0);
	return real.fallocate(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

/* The absolute form of path (its directory resolved), into out. */
static bool absolute(const char *path, char *out)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof(dir))
		return false;
	memcpy(dir, path, n);
	dir[n] = '\0';
	char real_dir[PATH_MAX];
	if (!realpath(n ? dir : ".", real_dir))
		return false;
	return snprintf(out, PATH_MAX, "%s/%s", real_dir,
			slash ? slash + 1 : path) < PATH_MAX;
}

int rename(const char *from, const char *to)
{
	ready();
	char a[PATH_MAX], b[PATH_MAX];
	bool mine = ctl && data_dir_len && absolute(from, a) &&
		    !strncmp(a, data_dir, data_dir_len) && absolute(to, b);
	int rc = real.rename(from, to);
	if (rc != 0 || !mine)
		return rc;
	journal(R_RENAME, a, 0, b, (uint32_t)strlen(b), 0);
	char *moved = strdup(b);
	for (int fd = 0; moved && fd < MAX_FDS; fd++) {
		const char *p = atomic_load(&fd_path[fd]);
		if (p && !strcmp(p, a))
			atomic_store(&fd_path[fd], moved);
	}
	return rc;
}

/* The mode argument of an open that creates, else 0. */
#define OPEN_MODE(mode, flags)                                           \
	mode_t mode = 0;                                                 \
	if ((flags) & (O_CREAT | O_TMPFILE)) {                           \
		va_list ap_;                                             \
		va_start(ap_, flags);                                    \
		mode = va_arg(ap_, mode_t);                              \
		va_end(ap_);                                             \
	}

int open(const char *path, int flags, ...)
{
	ready();
	OPEN_MODE(mode, flags);
	return opened(real.open(path, flags, mode));
}

int open64(const char *path, int flags, ...)
{
	ready();
	OPEN_MODE(mode, flags);
	return opened(real.open(path, flags, mode));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	ready();
	OPEN_MODE(mode, flags);
	return opened(real.openat(dirfd, path, flags, mode));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	ready();
	OPEN_MODE(mode, flags);
	return opened(real.openat(dirfd, path, flags, mode));
}

/* -- the wall clock -- */

static int64_t clock_offset(void)
{
	return on() ? atomic_load(&ctl->clock_offset_ns) : 0;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	ready();
	int rc = real.clock_gettime(id, ts);
	int64_t d = clock_offset();
	if (rc == 0 && d &&
	    (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
		int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + d;
		ts->tv_sec = (time_t)(ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
		if (ts->tv_nsec < 0) {
			ts->tv_nsec += 1000000000;
			ts->tv_sec--;
		}
	}
	return rc;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	ready();
	int rc = real.gettimeofday(tv, tz);
	int64_t d = clock_offset();
	if (rc == 0 && d) {
		int64_t us = (int64_t)tv->tv_sec * 1000000 + tv->tv_usec +
			     d / 1000;
		tv->tv_sec = (time_t)(us / 1000000);
		tv->tv_usec = (suseconds_t)(us % 1000000);
		if (tv->tv_usec < 0) {
			tv->tv_usec += 1000000;
			tv->tv_sec--;
		}
	}
	return rc;
}

time_t time(time_t *out)
{
	ready();
	time_t t = real.time(NULL) + (time_t)(clock_offset() / 1000000000);
	if (out)
		*out = t;
	return t;
}
