/*
 * test_sim_random.c - thousands of random schedules of the simulator:
 * random ensembles (3 or 5 voters, sometimes an observer), random DIFF
 * windows, network faults (loss, duplication, reordering, delays,
 * partitions), crashes that lose un-flushed data, restarts, and clients
 * proposing on whoever leads; in some runs, clients with sessions that
 * crash and move between nodes.  Safety is checked after every step by
 * the simulator; after the chaos every fault heals, a fresh txn must
 * commit on every node with every node serving the leader (got UPTODATE),
 * and every crashed client's session must expire everywhere (liveness).
 *
 *   test_sim_random [--seed N] [--runs N] [--verbose] [--trace]
 *
 * Run i uses seed N + i, so a failure prints the one-line command that
 * replays exactly that run.  The number of runs is $ZABFS_SIM_RUNS if set
 * (for a long run under ctest), else --runs, else 200.
 */
#include <time.h>

#include "check.h"

#include "sim.h"

static uint64_t pick(struct sim *s, uint64_t n)
{
	return sim_random(s) % n;
}

static void random_faults(struct sim *s, struct sim_net_faults *f)
{
	f->loss = pick(s, 3) ? 0 : (uint32_t)pick(s, 60);
	f->dup = pick(s, 3) ? 0 : (uint32_t)pick(s, 40);
	f->reorder = pick(s, 3) ? 0 : (uint32_t)pick(s, 40);
	f->delay_min_ms = 1 + (uint32_t)pick(s, 3);
	f->delay_max_ms = f->delay_min_ms + (uint32_t)pick(s, 40);
}

static void random_partition(struct sim *s)
{
	int group[SIM_MAX_NODES];
	for (size_t i = 0; i < sim_size(s); i++)
		group[i] = (int)pick(s, 2);
	sim_partition(s, group);
}

static void propose_some(struct sim *s)
{
	int l = sim_leader(s);
	int node = l >= 0 && pick(s, 8) ? l : (int)pick(s, sim_size(s));
	uint64_t n = 1 + pick(s, 6);
	int64_t zxid;
	for (uint64_t i = 0; i < n; i++)
		sim_propose(s, node, &zxid);
}

/* A new client, a client crash or a client's move to another node. */
static void client_some(struct sim *s)
{
	size_t n = sim_clients(s);
	uint64_t r = pick(s, 10);
	int node = (int)pick(s, sim_size(s));
	if (r < 4 || n == 0)
		sim_client_new(s, node, 300 + (int32_t)pick(s, 1200));
	else if (r < 7)
		sim_client_crash(s, (int)pick(s, n));
	else
		sim_client_move(s, (int)pick(s, n), node);
}

/* One schedule; returns the violation or NULL.  *sim_ms gets the
 * simulated time the run took. */
static bool trace;

static bool run_one(uint64_t seed, bool verbose, uint64_t *sim_ms)
{
	/* The shape of the run comes from the seed too. */
	struct sim_config probe = sim_config_default(3, 0, seed);
	struct sim *p = sim_new(&probe);
	size_t voters = pick(p, 2) ? 3 : 5;
	size_t observers = pick(p, 4) ? 0 : 1;
	struct sim_config c = sim_config_default(voters, observers, seed);
	c.diff_window = 2 + pick(p, 40);
	c.trace = trace;
	uint64_t chaos_ms = 3000 + pick(p, 9000);
	bool clients = pick(p, 3) == 0;
	sim_free(p);

	struct sim *s = sim_new(&c);
	for (size_t i = 0; i < sim_size(s); i++)
		if (pick(s, 5))
			sim_start(s, (int)i);
	struct sim_net_faults f = c.net;
	random_faults(s, &f);
	sim_set_faults(s, &f);
	uint64_t end = sim_now(s) + chaos_ms;
	while (sim_now(s) < end && !sim_violation(s)) {
		sim_run_for(s, 5 + pick(s, 300));
		uint64_t r = pick(s, 100);
		int node = (int)pick(s, sim_size(s));
		if (r < 50)
			propose_some(s);
		else if (r < 60)
			sim_crash(s, node);
		else if (r < 75)
			sim_start(s, node);
		else if (r < 82)
			random_partition(s);
		else if (r < 92)
			sim_heal(s);
		else {
			random_faults(s, &f);
			sim_set_faults(s, &f);
		}
		if (clients && pick(s, 3) == 0)
			client_some(s);
	}
	sim_check_liveness(s, 30000);
	sim_check_expiry(s, 30000);
	const char *v = sim_violation(s);
	if (v)
		printf("FAIL seed %llu (%zu voters, %zu observers): %s\n",
		       (unsigned long long)seed, voters, observers, v);
	else if (verbose)
		printf("ok seed %llu: %zu voters, %zu observers, %zu clients, "
		       "%zu txns committed, %llu ms simulated\n",
		       (unsigned long long)seed, voters, observers,
		       sim_clients(s), sim_history_len(s),
		       (unsigned long long)sim_now(s));
	*sim_ms = sim_now(s);
	sim_free(s);
	return v == NULL;
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);
	long runs = 200;
	bool verbose = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--verbose") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--trace") == 0)
			trace = verbose = true;
	}
	const char *env = getenv("ZABFS_SIM_RUNS");
	if (env)
		runs = strtol(env, NULL, 10);
	clock_t start = clock();
	uint64_t simulated = 0;
	long failed = 0;
	for (long i = 0; i < runs; i++) {
		uint64_t run_seed = seed + (uint64_t)i, ms;
		if (!run_one(run_seed, verbose, &ms)) {
			failed++;
			printf("  replay: %s --seed %llu --runs 1 --verbose\n",
			       argv[0], (unsigned long long)run_seed);
		}
		simulated += ms;
	}
	printf("%ld runs, %ld failed, %.0f s simulated, %.1f s cpu\n", runs,
	       failed, (double)simulated / 1000.0,
	       (double)(clock() - start) / CLOCKS_PER_SEC);
	return failed ? 1 : 0;
}
