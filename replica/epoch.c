/*
 * epoch.c - the epoch files of epoch_i.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "epoch_i.h"
#include "zabfs/err.h"

/* Reads "E" or "E L" from dir/name into *epoch (and *leader). */
static int read_one(const char *dir, const char *name, uint32_t *epoch,
		    uint64_t *leader)
{
	char path[4096], buf[64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*epoch = 0;
	*leader = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : ZK_IO;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return ZK_IO;
	buf[n] = '\0';
	char *end, *end2;
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	unsigned long long l = 0;
	end2 = end;
	if (*end == ' ')
		l = strtoull(end + 1, &end2, 10);
	while (*end2 == '\n')
		end2++;
	if (end == buf || (*end == ' ' && end2 == end + 1) || *end2 || errno ||
	    v > UINT32_MAX) {
		fprintf(stderr, "zabfs: %s does not hold an epoch number\n", path);
		return ZK_CORRUPT;
	}
	*epoch = (uint32_t)v;
	*leader = l;
	return 0;
}

int epoch_read(const char *dir, struct epochs *out)
{
	uint64_t ignored;
	int rc = read_one(dir, "acceptedEpoch", &out->accepted,
			  &out->accepted_from);
	return rc ? rc : read_one(dir, "currentEpoch", &out->current, &ignored);
}

int file_write_atomic(const char *dir, const char *tmp, const char *path,
		      const void *p, size_t len)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ZK_IO;
	bool ok = true;
	for (size_t at = 0; ok && at < len;) {
		ssize_t n = write(fd, (const uint8_t *)p + at, len - at);
		ok = n > 0;
		at += ok ? (size_t)n : 0;
	}
	ok = ok && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return ZK_IO;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ZK_IO;
	ok = fsync(dfd) == 0;
	close(dfd);
	return ok ? 0 : ZK_IO;
}

int epoch_write(const char *dir, const char *name, uint32_t epoch,
		uint64_t leader)
{
	char path[4096], tmp[4112], text[48];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int len = leader && !strcmp(name, "acceptedEpoch")
			  ? snprintf(text, sizeof(text), "%u %llu\n", epoch,
				     (unsigned long long)leader)
			  : snprintf(text, sizeof(text), "%u\n", epoch);
	return file_write_atomic(dir, tmp, path, text, (size_t)len);
}
