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

static int read_one(const char *dir, const char *name, uint32_t *out)
{
	char path[4096], buf[32];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*out = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : ZK_IO;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return ZK_IO;
	buf[n] = '\0';
	char *end;
	errno = 0;
	unsigned long v = strtoul(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (end == buf || *end || errno || v > UINT32_MAX) {
		fprintf(stderr, "zabfs: %s does not hold an epoch number\n", path);
		return ZK_CORRUPT;
	}
	*out = (uint32_t)v;
	return 0;
}

int epoch_read(const char *dir, uint32_t *accepted, uint32_t *current)
{
	int rc = read_one(dir, "acceptedEpoch", accepted);
	return rc ? rc : read_one(dir, "currentEpoch", current);
}

int epoch_write(const char *dir, const char *name, uint32_t epoch)
{
	char path[4096], tmp[4112], text[16];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int len = snprintf(text, sizeof(text), "%u\n", epoch);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ZK_IO;
	bool ok = write(fd, text, (size_t)len) == len && fsync(fd) == 0;
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

int epoch_begin(const char *dir, uint32_t last_zxid_epoch, uint32_t *epoch)
{
	uint32_t accepted, current;
	int rc = epoch_read(dir, &accepted, &current);
	if (rc)
		return rc;
	uint32_t e = last_zxid_epoch;
	if (accepted > e)
		e = accepted;
	if (current > e)
		e = current;
	e++;
	rc = epoch_write(dir, "acceptedEpoch", e);
	if (!rc)
		rc = epoch_write(dir, "currentEpoch", e);
	if (rc) {
		fprintf(stderr, "zabfs: cannot write the epoch files in %s: %s\n",
			dir, strerror(errno));
		return rc;
	}
	*epoch = e;
	return 0;
}
