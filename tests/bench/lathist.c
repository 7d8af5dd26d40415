/*
 * lathist.c - the log-linear latency histogram of lathist.h.
 *
 * Design
 *   A value v >= 2^(SUB_BITS+1) with its top bit at position e is kept in
 *   bucket ((e - SUB_BITS + 1) << SUB_BITS) + (v >> (e - SUB_BITS)) - 2^SUB_BITS:
 *   its top SUB_BITS+1 bits, above the exact buckets of the values below
 *   2^(SUB_BITS+1).  The mapping is monotonic, so walking the buckets in
 *   order walks the samples in order.
 *
 * Invariants
 *   1. bucket_of(v) < LATHIST_BUCKETS for every uint64_t v.
 *   2. bucket_low(bucket_of(v)) <= v < bucket_low(bucket_of(v)) + bucket_width.
 */
#include <stdio.h>

#include "lathist.h"

#include <math.h>
#include <time.h>

#define SUB_COUNT (1u << LATHIST_SUB_BITS)

uint64_t lathist_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned bucket_of(uint64_t v)
{
	if (v < 2 * SUB_COUNT)
		return (unsigned)v;
	unsigned top = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = top - LATHIST_SUB_BITS;
	return ((shift + 1) << LATHIST_SUB_BITS) + (unsigned)(v >> shift) - SUB_COUNT;
}

static double bucket_mid(unsigned b)
{
	if (b < 2 * SUB_COUNT)
		return b;
	unsigned shift = (b >> LATHIST_SUB_BITS) - 1;
	uint64_t low = (uint64_t)((b & (SUB_COUNT - 1)) + SUB_COUNT) << shift;
	return (double)low + (double)((uint64_t)1 << shift) / 2;
}

void lathist_record(struct lathist *h, uint64_t ns)
{
	h->bucket[bucket_of(ns)]++;
	h->count++;
}

double lathist_percentile_us(const struct lathist *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < LATHIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= rank)
			return bucket_mid(b) / 1000;
	}
	return bucket_mid(LATHIST_BUCKETS - 1) / 1000;
}

void lathist_loop(struct lathist *h, double warmup_s, double dur_s,
		  int (*op)(void *ctx), void *ctx, struct lathist_run *out)
{
	uint64_t start = lathist_now_ns();
	uint64_t measure = start + (uint64_t)(warmup_s * 1e9);
	uint64_t end = measure + (uint64_t)(dur_s * 1e9);
	uint64_t now = start;
	out->ops = out->errors = 0;
	while (now < end) {
		uint64_t t0 = now;
		int ok = op(ctx);
		now = lathist_now_ns();
		if (t0 < measure)
			continue;
		if (!ok) {
			out->errors++;
			continue;
		}
		lathist_record(h, now - t0);
		out->ops++;
	}
	out->secs = now > measure ? (double)(now - measure) / 1e9 : 0;
}

void lathist_print(const struct lathist *h, const struct lathist_run *r)
{
	printf("dur_s=%.2f ops=%llu ops_per_s=%.1f p50_us=%.2f p90_us=%.2f "
	       "p99_us=%.2f errors=%llu",
	       r->secs, (unsigned long long)r->ops,
	       r->secs > 0 ? (double)r->ops / r->secs : 0,
	       lathist_percentile_us(h, 0.5), lathist_percentile_us(h, 0.9),
	       lathist_percentile_us(h, 0.99), (unsigned long long)r->errors);
}
