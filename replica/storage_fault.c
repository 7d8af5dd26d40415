/*
 * storage_fault.c - a storage that injects faults, for tests (storage_i.h
 * has the contract; the model follows SQLite's crash simulator).
 *
 * Design
 *   Every call goes to the wrapped ("base") storage except where a fault is
 *   due.  In power-loss mode a pwrite is not passed on but kept in memory
 *   as a held write, in the order written, on the file it belongs to (a
 *   struct ffile per path, shared by every fd open on it); reads see base
 *   contents with the held writes laid over them.  fdatasync/fsync of a
 *   file first writes its held writes to base in order, then syncs base.
 *   A file created, or renamed to a new name, is marked name_unsynced until
 *   sync_dir.  storage_fault_crash applies a seeded choice to each held
 *   write (keep / drop / tear to a random prefix) and each un-synced name
 *   (keep / unlink), then refuses everything but close.
 *
 * Invariants
 *   1. Base holds exactly the synced state plus writes made while not in
 *      power-loss mode; everything else is in held writes.
 *   2. A file's held writes are applied in the order they were made, so a
 *      kept write is never overwritten by an older one.
 *   3. An unlinked file has path NULL and no held writes.
 *   4. Every field is protected by mu.
 */
#include "storage_i.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"

struct held_write {
	uint64_t off;
	size_t n;
	struct held_write *next;
	uint8_t data[]; /* n bytes */
};

struct ffile {
	char *path; /* owned; NULL once unlinked */
	bool name_unsynced;
	struct held_write *head, *tail; /* owned, oldest first */
	struct ffile *next;
};

struct fhandle {
	int fd;
	struct ffile *file;
	struct fhandle *next;
};

struct fault {
	struct storage *base; /* owned */
	pthread_mutex_t mu;
	int write_countdown; /* -1: never */
	int sync_countdown;
	bool hold;
	bool crashed;
	struct ffile *files;     /* owned */
	struct fhandle *handles; /* owned */
};

static bool tick(int *countdown)
{
	if (*countdown < 0)
		return false;
	return (*countdown)-- == 0;
}

static void drop_held(struct ffile *f)
{
	struct held_write *w = f->head;
	while (w) {
		struct held_write *next = w->next;
		free(w);
		w = next;
	}
	f->head = f->tail = NULL;
}

static struct ffile *file_by_path(struct fault *ft, const char *path)
{
	for (struct ffile *f = ft->files; f; f = f->next)
		if (f->path && strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

static struct ffile *file_add(struct fault *ft, const char *path)
{
	struct ffile *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->next = ft->files;
	ft->files = f;
	return f;
}

static void file_detach(struct ffile *f)
{
	free(f->path);
	f->path = NULL;
	f->name_unsynced = false;
	drop_held(f);
}

static struct ffile *file_by_fd(struct fault *ft, int fd)
{
	for (struct fhandle *h = ft->handles; h; h = h->next)
		if (h->fd == fd)
			return h->file;
	return NULL;
}

/* Write f's held writes to base in order; stop at the first failure. */
static int flush_held(struct fault *ft, int fd, struct ffile *f)
{
	while (f->head) {
		struct held_write *w = f->head;
		int rc = ft->base->pwrite(ft->base, fd, w->data, w->n, w->off);
		if (rc != 0)
			return rc;
		f->head = w->next;
		free(w);
	}
	f->tail = NULL;
	return 0;
}

static int f_open(struct storage *s, const char *path, int flags, int *fd)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	if (ft->crashed)
		goto out;
	struct fhandle *h = calloc(1, sizeof(*h));
	rc = ZK_NOMEM;
	if (!h)
		goto out;
	struct ffile *f = file_by_path(ft, path);
	if (!f) {
		f = file_add(ft, path);
		if (!f)
			goto err_after_handle;
	}
	rc = ft->base->open(ft->base, path, flags, &h->fd);
	if (rc != 0)
		goto err_after_handle;
	if (flags & STORAGE_CREATE)
		f->name_unsynced = ft->hold;
	h->file = f;
	h->next = ft->handles;
	ft->handles = h;
	*fd = h->fd;
	goto out;
err_after_handle:
	free(h);
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_pwrite(struct storage *s, int fd, const void *buf, size_t n,
		    uint64_t off)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	struct ffile *f = file_by_fd(ft, fd);
	if (ft->crashed || !f || tick(&ft->write_countdown))
		goto out;
	if (!ft->hold) {
		rc = ft->base->pwrite(ft->base, fd, buf, n, off);
		goto out;
	}
	struct held_write *w = malloc(sizeof(*w) + n);
	rc = ZK_NOMEM;
	if (!w)
		goto out;
	w->off = off;
	w->n = n;
	w->next = NULL;
	memcpy(w->data, buf, n);
	if (f->tail)
		f->tail->next = w;
	else
		f->head = w;
	f->tail = w;
	rc = 0;
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_pread(struct storage *s, int fd, void *buf, size_t n, uint64_t off,
		   size_t *got)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	struct ffile *f = file_by_fd(ft, fd);
	if (ft->crashed || !f)
		goto out;
	size_t have;
	rc = ft->base->pread(ft->base, fd, buf, n, off, &have);
	if (rc != 0)
		goto out;
	uint8_t *p = buf;
	for (struct held_write *w = f->head; w; w = w->next) {
		uint64_t s0 = w->off > off ? w->off : off;
		uint64_t e0 = w->off + w->n < off + n ? w->off + w->n : off + n;
		if (s0 >= e0)
			continue;
		if (e0 - off > have) {
			memset(p + have, 0, (size_t)(e0 - off) - have);
			have = (size_t)(e0 - off);
		}
		memcpy(p + (s0 - off), w->data + (s0 - w->off),
		       (size_t)(e0 - s0));
	}
	*got = have;
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int do_sync(struct storage *s, int fd, bool data_only)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	struct ffile *f = file_by_fd(ft, fd);
	if (ft->crashed || !f || tick(&ft->sync_countdown))
		goto out;
	rc = flush_held(ft, fd, f);
	if (rc != 0)
		goto out;
	rc = data_only ? ft->base->fdatasync(ft->base, fd)
		       : ft->base->fsync(ft->base, fd);
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_fdatasync(struct storage *s, int fd)
{
	return do_sync(s, fd, true);
}

static int f_fsync(struct storage *s, int fd)
{
	return do_sync(s, fd, false);
}

static int f_size(struct storage *s, int fd, uint64_t *size)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	struct ffile *f = file_by_fd(ft, fd);
	if (ft->crashed || !f)
		goto out;
	rc = ft->base->size(ft->base, fd, size);
	for (struct held_write *w = f->head; rc == 0 && w; w = w->next)
		if (w->off + w->n > *size)
			*size = w->off + w->n;
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_truncate(struct storage *s, int fd, uint64_t size)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	struct ffile *f = file_by_fd(ft, fd);
	if (ft->crashed || !f)
		goto out;
	for (struct held_write *w = f->head; w; w = w->next) {
		if (w->off >= size)
			w->n = 0;
		else if (w->off + w->n > size)
			w->n = (size_t)(size - w->off);
	}
	rc = ft->base->truncate(ft->base, fd, size);
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_preallocate(struct storage *s, int fd, uint64_t size)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	if (!ft->crashed)
		rc = ft->base->preallocate(ft->base, fd, size);
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_rename(struct storage *s, const char *from, const char *to)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	if (ft->crashed)
		goto out;
	struct ffile *f = file_by_path(ft, from);
	rc = ZK_NOMEM;
	if (!f && !(f = file_add(ft, from)))
		goto out;
	char *p = strdup(to);
	if (!p)
		goto out;
	rc = ft->base->rename(ft->base, from, to);
	if (rc != 0) {
		free(p);
		goto out;
	}
	struct ffile *old = file_by_path(ft, to);
	if (old)
		file_detach(old);
	free(f->path);
	f->path = p;
	f->name_unsynced = ft->hold;
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_unlink(struct storage *s, const char *path)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	if (ft->crashed)
		goto out;
	rc = ft->base->unlink(ft->base, path);
	struct ffile *f = file_by_path(ft, path);
	if (rc == 0 && f)
		file_detach(f);
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_sync_dir(struct storage *s, const char *dir)
{
	struct fault *ft = s->impl;
	int rc = ZK_IO;
	pthread_mutex_lock(&ft->mu);
	if (ft->crashed)
		goto out;
	rc = ft->base->sync_dir(ft->base, dir);
	if (rc != 0)
		goto out;
	size_t n = strlen(dir);
	for (struct ffile *f = ft->files; f; f = f->next)
		if (f->path && strncmp(f->path, dir, n) == 0 &&
		    f->path[n] == '/' && !strchr(f->path + n + 1, '/'))
			f->name_unsynced = false;
out:
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static int f_list_dir(struct storage *s, const char *dir, storage_list_cb cb,
		      void *arg)
{
	struct fault *ft = s->impl;
	pthread_mutex_lock(&ft->mu);
	bool crashed = ft->crashed;
	pthread_mutex_unlock(&ft->mu);
	/* Not under mu: cb may call back into this storage. */
	return crashed ? ZK_IO : ft->base->list_dir(ft->base, dir, cb, arg);
}

static int f_close(struct storage *s, int fd)
{
	struct fault *ft = s->impl;
	pthread_mutex_lock(&ft->mu);
	for (struct fhandle **pp = &ft->handles; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			struct fhandle *h = *pp;
			*pp = h->next;
			free(h);
			break;
		}
	}
	int rc = ft->base->close(ft->base, fd);
	pthread_mutex_unlock(&ft->mu);
	return rc;
}

static void f_destroy(struct storage *s)
{
	struct fault *ft = s->impl;
	while (ft->handles) {
		struct fhandle *h = ft->handles;
		ft->handles = h->next;
		ft->base->close(ft->base, h->fd);
		free(h);
	}
	while (ft->files) {
		struct ffile *f = ft->files;
		ft->files = f->next;
		file_detach(f);
		free(f);
	}
	ft->base->destroy(ft->base);
	pthread_mutex_destroy(&ft->mu);
	free(ft);
	free(s);
}

int storage_fault_new(struct storage *base, struct storage **out)
{
	struct storage *s = calloc(1, sizeof(*s));
	struct fault *ft = calloc(1, sizeof(*ft));
	if (!s || !ft) {
		free(s);
		free(ft);
		base->destroy(base);
		return ZK_NOMEM;
	}
	ft->base = base;
	ft->write_countdown = -1;
	ft->sync_countdown = -1;
	pthread_mutex_init(&ft->mu, NULL);
	s->impl = ft;
	s->open = f_open;
	s->pwrite = f_pwrite;
	s->pread = f_pread;
	s->fdatasync = f_fdatasync;
	s->fsync = f_fsync;
	s->size = f_size;
	s->truncate = f_truncate;
	s->preallocate = f_preallocate;
	s->rename = f_rename;
	s->unlink = f_unlink;
	s->sync_dir = f_sync_dir;
	s->list_dir = f_list_dir;
	s->close = f_close;
	s->destroy = f_destroy;
	*out = s;
	return 0;
}

void storage_fault_fail_write(struct storage *s, int nth)
{
	struct fault *ft = s->impl;
	pthread_mutex_lock(&ft->mu);
	ft->write_countdown = nth;
	pthread_mutex_unlock(&ft->mu);
}

void storage_fault_fail_sync(struct storage *s, int nth)
{
	struct fault *ft = s->impl;
	pthread_mutex_lock(&ft->mu);
	ft->sync_countdown = nth;
	pthread_mutex_unlock(&ft->mu);
}

void storage_fault_hold_writes(struct storage *s)
{
	struct fault *ft = s->impl;
	pthread_mutex_lock(&ft->mu);
	ft->hold = true;
	pthread_mutex_unlock(&ft->mu);
}

/* splitmix64: a small, good-enough generator for crash choices. */
static uint64_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Apply f's held writes to base through a fresh fd, each kept, dropped or
 * torn as the generator says. */
static int crash_file(struct fault *ft, struct ffile *f, uint64_t *rng)
{
	if (!f->head)
		return 0;
	int fd;
	int rc = ft->base->open(ft->base, f->path, 0, &fd);
	if (rc != 0)
		return rc;
	for (struct held_write *w = f->head; rc == 0 && w; w = w->next) {
		size_t n = w->n;
		switch (next_rand(rng) % 3) {
		case 0: /* kept */
			break;
		case 1: /* dropped */
			n = 0;
			break;
		default: /* torn: a prefix survives */
			n = n ? (size_t)(next_rand(rng) % n) : 0;
			break;
		}
		if (n)
			rc = ft->base->pwrite(ft->base, fd, w->data, n, w->off);
	}
	int rc2 = ft->base->close(ft->base, fd);
	return rc ? rc : rc2;
}

int storage_fault_crash(struct storage *s, uint64_t seed)
{
	struct fault *ft = s->impl;
	uint64_t rng = seed;
	int rc = 0;
	pthread_mutex_lock(&ft->mu);
	ft->crashed = true;
	for (struct ffile *f = ft->files; f; f = f->next) {
		if (!f->path)
			continue;
		if (f->name_unsynced && next_rand(&rng) % 2) {
			int r = ft->base->unlink(ft->base, f->path);
			rc = rc ? rc : r;
		} else {
			int r = crash_file(ft, f, &rng);
			rc = rc ? rc : r;
		}
		file_detach(f);
	}
	pthread_mutex_unlock(&ft->mu);
	return rc;
}
