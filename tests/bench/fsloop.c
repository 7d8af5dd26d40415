/*
 * fsloop.c - what reading a small file costs a program: open, read, close
 * of one path in a loop, for the mount benchmark (the same loop runs on the
 * zabfs mount and on tmpfs).
 *
 *   fsloop PATH DUR_S [WARMUP_S]
 *
 * Runs WARMUP_S seconds (default 1) unmeasured, then DUR_S seconds
 * measured, and prints one line (dur_s is the measured time):
 *   "fsloop path=P bytes=B warmup_s=W dur_s=D ops=N ops_per_s=R
 *    p50_us=.. p90_us=.. p99_us=.. errors=E"
 *
 * Invariants
 *   1. One operation is open(O_RDONLY) + one read of up to 4 KiB + close,
 *      timed as a whole; the file is expected to be smaller than 4 KiB.
 *   2. B is the size of the first read; an operation whose open or read
 *      fails, or whose read returns another size, counts in errors and not
 *      in ops.
 *   3. Bounded: stops after WARMUP_S + DUR_S seconds whatever happens.
 *      Exit 0 when ops > 0 and errors = 0.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lathist.h"

static struct lathist hist;

/* One open/read/close; returns the bytes read, or -1. */
static ssize_t read_once(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size);
	if (close(fd) != 0)
		return -1;
	return n;
}

struct one {
	const char *path;
	char *buf;
	size_t size;
	ssize_t want;
};

/* One measured operation: the whole read of the expected size. */
static int read_one(void *ctx)
{
	struct one *o = ctx;
	return read_once(o->path, o->buf, o->size) == o->want;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fsloop PATH DUR_S [WARMUP_S]\n");
		return 2;
	}
	const char *path = argv[1];
	double dur = atof(argv[2]);
	double warmup = argc > 3 ? atof(argv[3]) : 1;
	char buf[4096];

	ssize_t bytes = read_once(path, buf, sizeof(buf));
	if (bytes < 0) {
		perror(path);
		return 1;
	}
	struct one o = {path, buf, sizeof(buf), bytes};
	struct lathist_run r;
	lathist_loop(&hist, warmup, dur, read_one, &o, &r);
	printf("fsloop path=%s bytes=%zd warmup_s=%g ", path, bytes, warmup);
	lathist_print(&hist, &r);
	printf("\n");
	return r.ops && !r.errors ? 0 : 1;
}
