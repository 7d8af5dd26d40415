/*
 * check.h - the unit-test harness: a test is a function; CHECK records a
 * failure with its place and goes on; a test binary exits non-zero when any
 * check failed.  Random tests print their seed and take --seed (check_seed).
 */
#ifndef ZABFS_CHECK_H
#define ZABFS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                          \
	do {                                                                 \
		check_count++;                                               \
		if (!(cond)) {                                               \
			check_failures++;                                    \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",         \
				__FILE__, __LINE__, #cond);                  \
		}                                                            \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                   \
	do {                                                                 \
		long long check_a_ = (long long)(a);                         \
		long long check_b_ = (long long)(b);                         \
		check_count++;                                               \
		if (check_a_ != check_b_) {                                  \
			check_failures++;                                    \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, check_a_,        \
				check_b_);                                   \
		}                                                            \
	} while (0)

#define RUN_TEST(fn)                                                         \
	do {                                                                 \
		int check_before_ = check_failures;                          \
		fn();                                                        \
		printf("%s %s\n", check_failures == check_before_ ? "ok  " : "FAIL", #fn); \
	} while (0)

static inline int check_report(void)
{
	printf("%d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}

/* The seed of a random test: --seed N on the command line, else the time.
 * Always printed, so that a failure can be replayed. */
static inline uint64_t check_seed(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL);
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--seed") == 0)
			seed = strtoull(argv[i + 1], NULL, 0);
	printf("seed %" PRIu64 " (rerun with --seed %" PRIu64 ")\n", seed, seed);
	return seed;
}

#endif
