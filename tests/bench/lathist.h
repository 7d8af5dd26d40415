/*
 * lathist.h - the latency histogram of the mount benchmark's C loops
 * (fsloop, zkget): one sample per operation, in nanoseconds, read back as
 * percentiles in microseconds.
 *
 * Design
 *   Log-linear buckets, as HdrHistogram lays them out: values below 128 ns
 *   each have their own bucket; above, every power of two is cut into 64
 *   equal buckets.  So memory is fixed (LATHIST_BUCKETS counters, whatever
 *   the duration of the run) and a percentile is within 1/64 (1.6 %) of the
 *   true sample.
 *
 * Invariants
 *   1. count is the sum of every bucket; a percentile of an empty
 *      histogram is 0.
 *   2. lathist_percentile_us() returns the midpoint of the bucket holding
 *      the sample of rank ceil(q * count) (nearest-rank percentile).
 */
#ifndef ZABFS_BENCH_LATHIST_H
#define ZABFS_BENCH_LATHIST_H

#include <stdint.h>

#define LATHIST_SUB_BITS 6
#define LATHIST_BUCKETS ((64 - LATHIST_SUB_BITS + 1) << LATHIST_SUB_BITS)

struct lathist {
	uint64_t count;
	uint64_t bucket[LATHIST_BUCKETS];
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t lathist_now_ns(void);

void lathist_record(struct lathist *h, uint64_t ns);

/* The q-quantile (0 < q <= 1) of the recorded samples, in microseconds. */
double lathist_percentile_us(const struct lathist *h, double q);

/* A timed loop: op(ctx) runs for warmup_s seconds unrecorded, then for
 * dur_s seconds; each call that returns 1 is an op (its latency recorded),
 * each that returns 0 an error. */
struct lathist_run {
	double secs; /* the measured time */
	uint64_t ops, errors;
};
void lathist_loop(struct lathist *h, double warmup_s, double dur_s,
		  int (*op)(void *ctx), void *ctx, struct lathist_run *out);
/* Prints "dur_s=.. ops=.. ops_per_s=.. p50_us=.. p90_us=.. p99_us=..
 * errors=.." (no newline). */
void lathist_print(const struct lathist *h, const struct lathist_run *r);

#endif
