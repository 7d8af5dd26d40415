/*
 * storage.c - the POSIX storage (storage_i.h has the contract).
 *
 * Each operation is one system call or a loop of them: pwrite and pread
 * loop over short transfers and EINTR; preallocate uses fallocate and falls
 * back to ftruncate where the file system cannot allocate.  errno is turned
 * into a zk_err here and nowhere else.
 */
#include "storage_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zabfs/err.h"

static int from_errno(int e)
{
	return (e == ENOSPC || e == EDQUOT) ? ZK_NOSPACE : ZK_IO;
}

static int posix_open(struct storage *s, const char *path, int flags, int *fd)
{
	(void)s;
	int oflags = O_CLOEXEC;
	if (flags & STORAGE_RDONLY)
		oflags |= O_RDONLY;
	else
		oflags |= O_RDWR;
	if (flags & STORAGE_CREATE)
		oflags |= O_CREAT | O_EXCL;
	int f;
	do
		f = open(path, oflags, 0644);
	while (f < 0 && errno == EINTR);
	if (f < 0)
		return from_errno(errno);
	*fd = f;
	return 0;
}

static int posix_pwrite(struct storage *s, int fd, const void *buf, size_t n,
			uint64_t off)
{
	(void)s;
	const char *p = buf;
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return from_errno(errno);
		if (w == 0)
			return ZK_IO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int posix_pread(struct storage *s, int fd, void *buf, size_t n,
		       uint64_t off, size_t *got)
{
	(void)s;
	char *p = buf;
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, p + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return from_errno(errno);
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

static int posix_fdatasync(struct storage *s, int fd)
{
	(void)s;
	return fdatasync(fd) == 0 ? 0 : from_errno(errno);
}

static int posix_fsync(struct storage *s, int fd)
{
	(void)s;
	return fsync(fd) == 0 ? 0 : from_errno(errno);
}

static int posix_size(struct storage *s, int fd, uint64_t *size)
{
	(void)s;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return from_errno(errno);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int posix_truncate(struct storage *s, int fd, uint64_t size)
{
	(void)s;
	int rc;
	do
		rc = ftruncate(fd, (off_t)size);
	while (rc != 0 && errno == EINTR);
	return rc == 0 ? 0 : from_errno(errno);
}

static int posix_preallocate(struct storage *s, int fd, uint64_t size)
{
	uint64_t cur;
	int rc = posix_size(s, fd, &cur);
	if (rc != 0 || cur >= size)
		return rc;
	if (fallocate(fd, 0, 0, (off_t)size) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return from_errno(errno);
	return posix_truncate(s, fd, size);
}

static int posix_rename(struct storage *s, const char *from, const char *to)
{
	(void)s;
	return rename(from, to) == 0 ? 0 : from_errno(errno);
}

static int posix_unlink(struct storage *s, const char *path)
{
	(void)s;
	return unlink(path) == 0 ? 0 : from_errno(errno);
}

static int posix_sync_dir(struct storage *s, const char *dir)
{
	(void)s;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return from_errno(errno);
	int rc = fsync(fd) == 0 ? 0 : from_errno(errno);
	close(fd);
	return rc;
}

static int posix_list_dir(struct storage *s, const char *dir,
			  storage_list_cb cb, void *arg)
{
	(void)s;
	DIR *d = opendir(dir);
	if (!d)
		return from_errno(errno);
	int rc = 0;
	struct dirent *e;
	errno = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = cb(arg, e->d_name);
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = from_errno(errno);
	closedir(d);
	return rc;
}

static int posix_close(struct storage *s, int fd)
{
	(void)s;
	/* Linux closes the fd even when close fails; nothing to retry. */
	return close(fd) == 0 ? 0 : from_errno(errno);
}

static void posix_destroy(struct storage *s)
{
	free(s);
}

int storage_posix_new(struct storage **out)
{
	struct storage *s = calloc(1, sizeof(*s));
	if (!s)
		return ZK_NOMEM;
	s->open = posix_open;
	s->pwrite = posix_pwrite;
	s->pread = posix_pread;
	s->fdatasync = posix_fdatasync;
	s->fsync = posix_fsync;
	s->size = posix_size;
	s->truncate = posix_truncate;
	s->preallocate = posix_preallocate;
	s->rename = posix_rename;
	s->unlink = posix_unlink;
	s->sync_dir = posix_sync_dir;
	s->list_dir = posix_list_dir;
	s->close = posix_close;
	s->destroy = posix_destroy;
	*out = s;
	return 0;
}
