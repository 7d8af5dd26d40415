/*
 * test_sim_sessions.c - scripted runs of session expiry in the simulator
 * (sim.h): clients pinging followers, the leader and observers keep their
 * sessions across many timeouts, leader changes and moves; a crashed
 * client's session, or one whose node is cut off from the leader, expires
 * everywhere after its timeout, and not before.  Each run is
 * deterministic (fixed seed); the simulator checks invariants 5 and 6
 * after every step, and every test ends with both liveness checks.
 */
#include "check.h"

#include "sim.h"
#include "zab_i.h"

#define TIMEOUT 1000
/* A ticker period, a TOUCH's delay, the close's commit and apply. */
#define SLACK 300

static bool settled(struct sim *s, void *arg)
{
	(void)arg;
	return sim_settled(s) >= 0;
}

static struct sim *boot_cfg(const struct sim_config *c)
{
	struct sim *s = sim_new(c);
	sim_start_all(s);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	return s;
}

static struct sim *boot(size_t voters, size_t observers, uint64_t seed)
{
	struct sim_config c = sim_config_default(voters, observers, seed);
	return boot_cfg(&c);
}

static void finish(struct sim *s)
{
	CHECK(sim_check_liveness(s, 30000));
	CHECK(sim_check_expiry(s, 30000));
	const char *v = sim_violation(s);
	if (v)
		fprintf(stderr, "  violation: %s\n", v);
	CHECK(v == NULL);
	sim_free(s);
}

/* The i-th up follower (or observer) of the current leader. */
static int learner(struct sim *s, int i)
{
	for (size_t n = 0; n < sim_size(s); n++) {
		int r = sim_role(s, (int)n);
		if ((r == ZAB_FOLLOWING || r == ZAB_OBSERVING) && i-- == 0)
			return (int)n;
	}
	return -1;
}

struct client_arg {
	int client;
};

static bool on_every_up_node(struct sim *s, void *arg)
{
	int k = ((struct client_arg *)arg)->client;
	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_is_up(s, (int)i) && !sim_session_on(s, (int)i, k))
			return false;
	return true;
}

static bool gone_everywhere(struct sim *s, void *arg)
{
	int k = ((struct client_arg *)arg)->client;
	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_session_on(s, (int)i, k))
			return false;
	return sim_session_closed(s, k);
}

static bool closed(struct sim *s, void *arg)
{
	return sim_session_closed(s, ((struct client_arg *)arg)->client);
}

/* A client on node whose session every up node holds. */
static int client_on(struct sim *s, int node)
{
	struct client_arg a = {sim_client_new(s, node, TIMEOUT)};
	CHECK(a.client >= 0);
	CHECK(sim_run_until(s, 5000, on_every_up_node, &a));
	return a.client;
}

/* The client's session lives: not closed, and on every up node. */
static void check_kept(struct sim *s, int k)
{
	struct client_arg a = {k};
	CHECK(!sim_session_closed(s, k));
	CHECK(on_every_up_node(s, &a));
}

/* The crashed client's session is gone everywhere within [earliest,
 * TIMEOUT + SLACK] ms after `from`. */
static void check_expires(struct sim *s, int k, uint64_t from,
			  uint64_t earliest)
{
	struct client_arg a = {k};
	CHECK(sim_run_until(s, from + TIMEOUT + SLACK - sim_now(s),
			    gone_everywhere, &a));
	CHECK(sim_now(s) - from >= earliest);
}

static void test_follower_pings_keep_session(void)
{
	struct sim *s = boot(3, 0, 101);
	int f = learner(s, 0);
	int k = client_on(s, f);
	int on_leader = client_on(s, sim_leader(s));
	sim_run_for(s, 20 * TIMEOUT);
	check_kept(s, k);
	check_kept(s, on_leader);
	finish(s);
}

/* Two clients, on nodes `at` and `live_at`: the one on `at` crashes and
 * its session expires everywhere; the other's is kept. */
static void crash_one_of_two(struct sim *s, int at, int live_at)
{
	int dead = client_on(s, at);
	int live = client_on(s, live_at);
	sim_run_for(s, 3 * TIMEOUT);
	sim_client_crash(s, dead);
	/* Its last ping was at most TIMEOUT / 3 before. */
	check_expires(s, dead, sim_now(s), TIMEOUT - TIMEOUT / 3);
	sim_run_for(s, 10 * TIMEOUT);
	check_kept(s, live);
	finish(s);
}

static void test_crashed_client_expires(void)
{
	struct sim *s = boot(3, 0, 102);
	crash_one_of_two(s, learner(s, 0), learner(s, 1));
}

/* A new leader gives every session a full timeout (touch_all): the live
 * ones survive the change, a crashed client's expires a timeout after
 * the new leader took over. */
static void test_leader_crash(void)
{
	struct sim *s = boot(5, 0, 103);
	int l = sim_leader(s);
	int f = learner(s, 0), g = learner(s, 1);
	int live = client_on(s, f);
	int dead = client_on(s, f);
	int moving = client_on(s, l);
	sim_run_for(s, 2 * TIMEOUT);
	sim_client_crash(s, dead);
	sim_run_for(s, TIMEOUT / 2);
	CHECK(!sim_session_closed(s, dead));
	sim_crash(s, l);
	sim_client_move(s, moving, g);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	/* The leader touched every session a few ms before every node was
	 * synced. */
	check_expires(s, dead, sim_now(s), TIMEOUT - 50);
	sim_run_for(s, 10 * TIMEOUT);
	check_kept(s, live);
	check_kept(s, moving);
	finish(s);
}

static void test_client_moves(void)
{
	struct sim *s = boot(3, 1, 104);
	int a = learner(s, 0), b = learner(s, 1);
	int k = client_on(s, a);
	sim_run_for(s, 3 * TIMEOUT);
	/* Its node dies; it reconnects to another. */
	sim_crash(s, a);
	sim_client_move(s, k, b);
	sim_run_for(s, 5 * TIMEOUT);
	check_kept(s, k);
	sim_start(s, a);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	sim_client_move(s, k, sim_leader(s));
	sim_run_for(s, 5 * TIMEOUT);
	sim_client_move(s, k, a);
	sim_run_for(s, 5 * TIMEOUT);
	check_kept(s, k);
	finish(s);
}

/* A follower cut off from the leader: its client's pings reach nobody
 * who counts, so that session expires on the majority side; a client
 * that moved to the majority side keeps its own. */
static void test_partitioned_follower(void)
{
	struct sim *s = boot(5, 0, 105);
	int cut = learner(s, 0), other = learner(s, 1);
	int stays = client_on(s, cut);
	int moves = client_on(s, cut);
	sim_run_for(s, 2 * TIMEOUT);
	int group[5] = {0};
	group[cut] = 1;
	sim_partition(s, group);
	sim_client_move(s, moves, other);
	struct client_arg a = {stays};
	uint64_t t0 = sim_now(s);
	CHECK(sim_run_until(s, TIMEOUT + SLACK, closed, &a));
	CHECK(sim_now(s) - t0 >= TIMEOUT - TIMEOUT / 3);
	sim_run_for(s, 5 * TIMEOUT);
	check_kept(s, moves);
	/* Healed, the cut node learns of the close too. */
	sim_heal(s);
	CHECK(sim_run_until(s, 5000, gone_everywhere, &a));
	check_kept(s, moves);
	finish(s);
}

static void test_observer_clients(void)
{
	crash_one_of_two(boot(3, 1, 106), 3, 3);
}

/* A node far behind gets the leader's session table in a SNAP (checked
 * against the txns, invariant 5), and serves those sessions after. */
static void test_snap_carries_sessions(void)
{
	struct sim_config c = sim_config_default(3, 0, 107);
	c.diff_window = 4;
	struct sim *s = boot_cfg(&c);
	int behind = learner(s, 0), other = learner(s, 1);
	sim_crash(s, behind);
	int a = client_on(s, other);
	int b = client_on(s, sim_leader(s));
	int gone = client_on(s, other);
	sim_client_crash(s, gone);
	struct client_arg g = {gone};
	CHECK(sim_run_until(s, TIMEOUT + SLACK, closed, &g));
	int64_t zxid;
	for (int i = 0; i < 20; i++)
		CHECK_EQ_INT(sim_propose(s, sim_leader(s), &zxid), 0);
	sim_start(s, behind);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK_EQ_INT(sim_received(s, behind, PEER_SNAP), 1);
	CHECK(!sim_session_on(s, behind, gone));
	sim_client_move(s, a, behind);
	sim_run_for(s, 5 * TIMEOUT);
	check_kept(s, a);
	check_kept(s, b);
	finish(s);
}

int main(void)
{
	RUN_TEST(test_follower_pings_keep_session);
	RUN_TEST(test_crashed_client_expires);
	RUN_TEST(test_leader_crash);
	RUN_TEST(test_client_moves);
	RUN_TEST(test_partitioned_follower);
	RUN_TEST(test_observer_clients);
	RUN_TEST(test_snap_carries_sessions);
	return check_report();
}
