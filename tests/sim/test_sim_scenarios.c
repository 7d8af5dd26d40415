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
	sim_start_all(s);
	return s;
}

/* An established leader, and every up node synced with it. */
static bool settled(struct sim *s, void *arg)
{
	(void)arg;
	return sim_settled(s) >= 0;
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

static struct sim *boot_cfg(struct sim_config *c)
{
	struct sim *s = sim_new(c);
	sim_start_all(s);
	return s;
}

static bool role_is(struct sim *s, int node, int role)
{
	return sim_is_up(s, node) && sim_role(s, node) == role;
}

struct node_arg {
	int node;
};

static bool looking(struct sim *s, void *arg)
{
	return role_is(s, ((struct node_arg *)arg)->node, ZAB_LOOKING);
}

/* A follower of the current leader. */
static int some_follower(struct sim *s)
{
	for (size_t i = 0; i < sim_size(s); i++)
		if (role_is(s, (int)i, ZAB_FOLLOWING))
			return (int)i;
	return -1;
}

static bool applied_by_leader(struct sim *s, void *arg)
{
	int l = sim_leader(s);
	return l >= 0 && sim_has_applied(s, l, ((struct applied_arg *)arg)->zxid);
}

/* Like commit_n, but waits only for the leader (part of the ensemble
 * is cut off). */
static int64_t commit_n_quorum(struct sim *s, int n)
{
	int l = sim_leader(s);
	struct applied_arg a = {0};
	CHECK(l >= 0);
	if (l < 0)
		return 0;
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(sim_propose(s, l, &a.zxid), 0);
	CHECK(sim_run_until(s, 5000, applied_by_leader, &a));
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

static void test_election_one_late(void)
{
	struct sim_config c = sim_config_default(3, 0, 2);
	struct sim *s = sim_new(&c);
	sim_start(s, 0);
	sim_start(s, 1);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK_EQ_INT(sim_leader(s), 1);
	int64_t z = commit_n(s, 5);
	/* The late node (the highest id) joins the established leader
	 * instead of taking over, and catches up. */
	sim_start(s, 2);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK_EQ_INT(sim_leader(s), 1);
	CHECK(role_is(s, 2, ZAB_FOLLOWING));
	CHECK(sim_has_applied(s, 2, z));
	CHECK_EQ_INT(sim_received(s, 2, PEER_DIFF), 1);
	finish(s);
}

static void test_election_order(void)
{
	const int64_t two[] = {ZXID_MAKE(1, 1), ZXID_MAKE(1, 2)};
	const int64_t one[] = {ZXID_MAKE(1, 1)};
	/* Same epoch: the longer log wins over a higher id. */
	struct sim_config c = sim_config_default(3, 0, 3);
	struct sim *s = sim_new(&c);
	sim_preload(s, 0, 1, 1, two, 2);
	sim_preload(s, 1, 1, 1, one, 1);
	sim_preload(s, 2, 1, 1, one, 1);
	sim_start_all(s);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK_EQ_INT(sim_leader(s), 0);
	finish(s);
	/* A later currentEpoch wins over a longer log; equal votes go to
	 * the highest id. */
	s = sim_new(&c);
	sim_preload(s, 0, 1, 1, two, 2);
	sim_preload(s, 1, 2, 2, one, 1);
	sim_preload(s, 2, 2, 2, one, 1);
	sim_start_all(s);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK_EQ_INT(sim_leader(s), 2);
	/* Node 0's (1,2) was never committed: TRUNC removes it. */
	CHECK(sim_received(s, 0, PEER_TRUNC) >= 1);
	CHECK_EQ_INT(sim_log_last(s, 0) == two[1], 0);
	finish(s);
}

static void test_broadcast_pipelined(void)
{
	struct sim *s = boot(5, 0, 4);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	int64_t z = commit_n(s, 100);
	/* All 100 were in flight at once, committed in order everywhere. */
	CHECK(sim_max_inflight(s) >= 100);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ_INT(sim_applied_count(s, i), 100);
		CHECK_EQ_INT(sim_applied_last(s, i), z);
	}
	finish(s);
}

static void test_diff_after_restart(void)
{
	struct sim *s = boot(3, 0, 5);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	commit_n(s, 10);
	int f = some_follower(s);
	sim_crash(s, f);
	int64_t z = commit_n(s, 10);
	sim_start(s, f);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	struct applied_arg a = {z};
	CHECK(sim_run_until(s, 5000, applied_by_all_up, &a));
	CHECK_EQ_INT(sim_received(s, f, PEER_DIFF), 2);
	CHECK_EQ_INT(sim_received(s, f, PEER_SNAP), 0);
	CHECK_EQ_INT(sim_received(s, f, PEER_TRUNC), 0);
	finish(s);
}

/* ZOOKEEPER-1154/1156 (testHighestZxidJoinLate): the leader logs a txn
 * no follower gets, dies, the others move on; when it comes back it must
 * not keep the txn it alone had, and must not lose what came after. */
static void test_trunc_uncommitted_from_old_epoch(void)
{
	struct sim *s = boot(3, 0, 6);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	commit_n(s, 5);
	int l = sim_leader(s);
	int group[3] = {1, 1, 1};
	group[l] = 0;
	sim_partition(s, group);
	int64_t lone;
	CHECK_EQ_INT(sim_propose(s, l, &lone), 0);
	sim_run_for(s, 50); /* durable on the old leader only */
	sim_crash(s, l);
	sim_heal(s);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK(sim_leader(s) != l);
	int64_t z = commit_n(s, 5);
	sim_start(s, l);
	struct applied_arg a = {z};
	CHECK(sim_run_until(s, 5000, applied_by_all_up, &a));
	CHECK_EQ_INT(sim_received(s, l, PEER_TRUNC), 1);
	for (int i = 0; i < 3; i++)
		CHECK(!sim_has_applied(s, i, lone));
	finish(s);
}

/* testFailedTxnAsPartOfQuorumLoss: a txn written only by an isolated
 * leader is truncated once it rejoins, and stays gone after a restart. */
static void test_isolated_leader_txn_truncated(void)
{
	struct sim *s = boot(3, 0, 7);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	commit_n(s, 3);
	int l = sim_leader(s);
	int group[3] = {1, 1, 1};
	group[l] = 0;
	sim_partition(s, group);
	int64_t lone;
	CHECK_EQ_INT(sim_propose(s, l, &lone), 0);
	struct node_arg n = {l};
	CHECK(sim_run_until(s, 5000, looking, &n)); /* lost its quorum */
	sim_run_for(s, 2000);
	commit_n_quorum(s, 3);
	sim_heal(s);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK(sim_received(s, l, PEER_TRUNC) >= 1);
	CHECK(sim_log_last(s, l) != lone);
	sim_crash(s, l);
	sim_start(s, l);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	for (int i = 0; i < 3; i++)
		CHECK(!sim_has_applied(s, i, lone));
	finish(s);
}

static void test_snap_far_behind(void)
{
	struct sim_config c = sim_config_default(3, 0, 8);
	c.diff_window = 4;
	struct sim *s = boot_cfg(&c);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	commit_n(s, 5);
	int f = some_follower(s);
	sim_crash(s, f);
	int64_t z = commit_n(s, 40);
	sim_start(s, f);
	struct applied_arg a = {z};
	CHECK(sim_run_until(s, 5000, applied_by_all_up, &a));
	CHECK_EQ_INT(sim_received(s, f, PEER_SNAP), 1);
	CHECK_EQ_INT(sim_applied_count(s, f), 45);
	/* A short lag is still served by DIFF after the SNAP (once it
	 * is synced, the snapshot is durable). */
	CHECK(sim_run_until(s, 5000, settled, NULL));
	uint64_t diffs = sim_received(s, f, PEER_DIFF);
	sim_crash(s, f);
	z = commit_n(s, 2);
	sim_start(s, f);
	a.zxid = z;
	CHECK(sim_run_until(s, 5000, applied_by_all_up, &a));
	CHECK_EQ_INT(sim_received(s, f, PEER_SNAP), 1);
	CHECK_EQ_INT(sim_received(s, f, PEER_DIFF), diffs + 1);
	finish(s);
}

static void test_observer(void)
{
	struct sim *s = boot(3, 1, 9);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK(role_is(s, 3, ZAB_OBSERVING));
	CHECK(sim_leader(s) != 3);
	int64_t z = commit_n(s, 10);
	CHECK(sim_has_applied(s, 3, z));
	CHECK(sim_received(s, 3, PEER_INFORM) >= 10);
	CHECK_EQ_INT(sim_received(s, 3, PEER_PROPOSAL), 0);
	/* The observer never counts: with two voters down nothing commits
	 * and the leader steps down, though the observer is there. */
	int l = sim_leader(s);
	for (int i = 0; i < 3; i++)
		if (i != l)
			sim_crash(s, i);
	int64_t stuck;
	CHECK_EQ_INT(sim_propose(s, l, &stuck), 0);
	struct node_arg n = {l};
	CHECK(sim_run_until(s, 5000, looking, &n));
	CHECK(!sim_has_applied(s, l, stuck));
	CHECK(!sim_has_applied(s, 3, stuck));
	/* An observer that restarts far behind gets a SNAP. */
	finish(s);
	struct sim_config c = sim_config_default(3, 1, 10);
	c.diff_window = 4;
	s = boot_cfg(&c);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	sim_crash(s, 3);
	commit_n(s, 20);
	sim_start(s, 3);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK_EQ_INT(sim_received(s, 3, PEER_SNAP), 1);
	finish(s);
}

static void test_leader_crash_mid_broadcast(void)
{
	struct sim *s = boot(5, 0, 11);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	commit_n(s, 5);
	int l = sim_leader(s);
	int64_t z;
	for (int i = 0; i < 20; i++)
		CHECK_EQ_INT(sim_propose(s, l, &z), 0);
	sim_run_for(s, 4); /* some proposals out, some acks back */
	sim_crash(s, l);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK(sim_leader(s) != l);
	commit_n(s, 5);
	finish(s);
}

static void test_leader_partitioned_into_minority(void)
{
	struct sim *s = boot(5, 0, 12);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	commit_n(s, 5);
	int l = sim_leader(s);
	uint32_t old_epoch = sim_epoch(s, l);
	int group[5] = {1, 1, 1, 1, 1};
	group[l] = 0;
	group[(l + 1) % 5] = 0;
	sim_partition(s, group);
	int64_t minority;
	CHECK_EQ_INT(sim_propose(s, l, &minority), 0);
	/* It steps down within syncLimit (5 ticks of 100 ms) and a tick. */
	struct node_arg n = {l};
	uint64_t t0 = sim_now(s);
	CHECK(sim_run_until(s, 5000, looking, &n));
	CHECK(sim_now(s) - t0 <= 600 + 100);
	int64_t z;
	CHECK(sim_propose(s, l, &z) != 0);
	CHECK(sim_run_until(s, 5000, settled, NULL) || sim_leader(s) >= 0);
	int l2 = sim_leader(s);
	CHECK(l2 >= 0 && group[l2] == 1 && sim_epoch(s, l2) > old_epoch);
	commit_n_quorum(s, 5);
	sim_heal(s);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	for (int i = 0; i < 5; i++)
		CHECK(!sim_has_applied(s, i, minority));
	finish(s);
}

/* ZOOKEEPER-3911 / -4643 / -4646: a learner that acks NEWLEADER and dies
 * at once must already hold the synced txns durably and the epoch. */
static void test_crash_right_after_newleader_ack(void)
{
	struct sim *s = boot(3, 0, 13);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	int l = sim_leader(s);
	int f = some_follower(s);
	int lagging = 3 - l - f;
	sim_crash(s, lagging);
	commit_n(s, 10);
	/* The old leader goes; the lagging node syncs with the new one
	 * and dies right after acking NEWLEADER; then the new leader dies
	 * too.  Nothing committed may be lost. */
	sim_crash(s, l);
	sim_crash_on_send(s, lagging, PEER_ACK);
	sim_start(s, lagging);
	sim_run_for(s, 3000);
	CHECK(!sim_is_up(s, lagging));
	sim_crash(s, f);
	sim_start(s, lagging);
	sim_start(s, l);
	CHECK(sim_run_until(s, 10000, settled, NULL));
	finish(s);
}

static bool got_newleader(struct sim *s, void *arg)
{
	return sim_received(s, ((struct node_arg *)arg)->node,
			    PEER_NEWLEADER) > 0;
}

/* ZOOKEEPER-4643: a learner writes currentEpoch, then crashes before its
 * synced txns are durable.  Its newer epoch on a shorter log would win
 * the next election and truncate committed txns, so the epoch must wait
 * for the log.  Here log flushes are slow and epoch writes fast. */
static void test_epoch_not_ahead_of_log(void)
{
	struct sim_config c = sim_config_default(3, 0, 19);
	c.disk_min_ms = c.disk_max_ms = 60;
	c.epoch_min_ms = c.epoch_max_ms = 1;
	struct sim *s = sim_new(&c);
	sim_start(s, 0);
	sim_start(s, 1);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK_EQ_INT(sim_leader(s), 1);
	commit_n(s, 2);
	/* Node 0 leads the next epoch and syncs the empty node 2, which
	 * dies 20 ms after NEWLEADER: its epoch file could be written by
	 * then, its log not. */
	sim_crash(s, 1);
	sim_start(s, 2);
	struct node_arg n = {2};
	CHECK(sim_run_until(s, 5000, got_newleader, &n));
	sim_run_for(s, 20);
	sim_crash(s, 2);
	sim_crash(s, 0);
	/* Node 1 (the txns, an older epoch) and node 2 elect. */
	sim_start(s, 1);
	sim_start(s, 2);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK_EQ_INT(sim_leader(s), 1);
	finish(s);
}

/* ZOOKEEPER-3642: the leader dies after sending SNAP, before NEWLEADER;
 * the learner restarts and later syncs by DIFF from what it installed. */
static void test_leader_crash_after_snap(void)
{
	struct sim_config c = sim_config_default(3, 0, 14);
	c.diff_window = 2;
	struct sim *s = boot_cfg(&c);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	int l = sim_leader(s);
	int f = some_follower(s);
	int lagging = 3 - l - f;
	sim_crash(s, lagging);
	commit_n(s, 20);
	sim_crash_on_send(s, l, PEER_SNAP);
	sim_start(s, lagging);
	sim_run_for(s, 500);
	CHECK(!sim_is_up(s, l));
	/* the dead leader's, and maybe the next leader's (the crash closes
	 * the streams, so the others elect at once) */
	CHECK(sim_received(s, lagging, PEER_SNAP) >= 1);
	sim_crash(s, lagging);
	sim_start(s, lagging);
	CHECK(sim_run_until(s, 10000, settled, NULL));
	commit_n(s, 3);
	finish(s);
}

/* ZOOKEEPER-5094: a TRUNC sync is cut before NEWLEADER; the learner must
 * not end up with a gap (disk at Z1, then Z3) when it syncs again. */
static void test_interrupted_trunc_sync(void)
{
	struct sim *s = boot(3, 0, 15);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	commit_n(s, 3);
	int l = sim_leader(s);
	int group[3] = {1, 1, 1};
	group[l] = 0;
	sim_partition(s, group);
	int64_t lone;
	for (int i = 0; i < 3; i++)
		sim_propose(s, l, &lone);
	sim_run_for(s, 50);
	sim_crash(s, l);
	sim_heal(s);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	int l2 = sim_leader(s);
	commit_n(s, 3);
	/* The old leader comes back; its TRUNC sync loses NEWLEADER. */
	sim_drop_type(s, l2, PEER_NEWLEADER);
	sim_start(s, l);
	sim_run_for(s, 300);
	CHECK_EQ_INT(sim_received(s, l, PEER_TRUNC), 1);
	sim_drop_type(s, l2, -1);
	sim_run_for(s, 3000);
	commit_n(s, 3);
	CHECK(!sim_has_applied(s, l, lone));
	finish(s);
}

/* ZOOKEEPER-1277: the zxid counter runs out; the leader steps down and
 * a new epoch carries on. */
static void test_zxid_rollover(void)
{
	struct sim_config c = sim_config_default(3, 0, 16);
	c.max_counter = 10;
	struct sim *s = boot_cfg(&c);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	int l = sim_leader(s);
	uint32_t e = sim_epoch(s, l);
	int64_t z = commit_n(s, 10);
	CHECK_EQ_INT(z, ZXID_MAKE(e, 10));
	int64_t next;
	CHECK(sim_propose(s, l, &next) != 0);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	CHECK(sim_epoch(s, sim_leader(s)) > e);
	z = commit_n(s, 1);
	CHECK(ZXID_EPOCH(z) > e && ZXID_COUNTER(z) == 1);
	finish(s);
}

/* ZOOKEEPER-4925: a follower must reject a discontinuous proposal rather
 * than log it with a hole before it. */
static void test_gap_rejected(void)
{
	struct sim *s = boot(3, 0, 17);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	int64_t z = commit_n(s, 3);
	int l = sim_leader(s);
	int f = some_follower(s);
	struct peer_msg m = {.type = PEER_PROPOSAL};
	static const uint8_t txn[] = "a txn after a hole";
	m.u.txn = (struct peer_txn){sim_epoch(s, l), z + 5, z + 4,
				    zk_bytes_of(txn, sizeof(txn))};
	sim_inject(s, l, f, &m);
	struct node_arg n = {f};
	CHECK(sim_run_until(s, 100, looking, &n));
	CHECK_EQ_INT(sim_log_last(s, f), z);
	finish(s);
}

/* ZOOKEEPER-1319: restart the leader and a follower with data, then add
 * the third: all three end with all the data. */
static void test_restart_then_add_third(void)
{
	struct sim_config c = sim_config_default(3, 0, 18);
	struct sim *s = sim_new(&c);
	sim_start(s, 0);
	sim_start(s, 1);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	int64_t z = commit_n(s, 10);
	sim_crash(s, 0);
	sim_crash(s, 1);
	sim_start(s, 0);
	sim_start(s, 1);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	sim_start(s, 2);
	struct applied_arg a = {z};
	CHECK(sim_run_until(s, 5000, applied_by_all_up, &a));
	finish(s);
}

struct count_arg {
	int node;
	enum peer_type type;
	uint64_t before;
};

static bool received_more(struct sim *s, void *arg)
{
	struct count_arg *c = arg;
	return sim_received(s, c->node, c->type) > c->before;
}

/* One lost message, not a broken stream: a learner whose ack of NEWLEADER
 * never arrives acks and applies the leader's stream, but the leader
 * holds it SYNCING and never sends UPTODATE.  It must not stay out of
 * sync for good: within initLimit of its FOLLOWERINFO it looks again
 * (and the leader drops it), and it rejoins. */
static void test_newleader_ack_lost(void)
{
	struct sim *s = boot(3, 0, 19);
	CHECK(sim_run_until(s, 5000, settled, NULL));
	int f = some_follower(s);
	sim_crash(s, f);
	commit_n(s, 3);
	struct count_arg nl = {f, PEER_NEWLEADER,
			       sim_received(s, f, PEER_NEWLEADER)};
	sim_drop_type(s, f, PEER_ACK);
	sim_start(s, f);
	CHECK(sim_run_until(s, 5000, received_more, &nl));
	sim_run_for(s, 50); /* its ack went, and was lost */
	sim_drop_type(s, f, -1);
	commit_n(s, 3); /* it acks and applies these... */
	CHECK(!role_is(s, f, ZAB_FOLLOWING)); /* ...but does not serve */
	uint64_t init_ms = 10 * 100;
	CHECK(sim_run_until(s, 2 * init_ms, settled, NULL));
	CHECK(role_is(s, f, ZAB_FOLLOWING));
	finish(s);
}

int main(void)
{
	RUN_TEST(test_election_all_start_together);
	RUN_TEST(test_election_one_late);
	RUN_TEST(test_election_order);
	RUN_TEST(test_broadcast_pipelined);
	RUN_TEST(test_diff_after_restart);
	RUN_TEST(test_trunc_uncommitted_from_old_epoch);
	RUN_TEST(test_isolated_leader_txn_truncated);
	RUN_TEST(test_snap_far_behind);
	RUN_TEST(test_observer);
	RUN_TEST(test_leader_crash_mid_broadcast);
	RUN_TEST(test_leader_partitioned_into_minority);
	RUN_TEST(test_crash_right_after_newleader_ack);
	RUN_TEST(test_epoch_not_ahead_of_log);
	RUN_TEST(test_leader_crash_after_snap);
	RUN_TEST(test_interrupted_trunc_sync);
	RUN_TEST(test_zxid_rollover);
	RUN_TEST(test_gap_rejected);
	RUN_TEST(test_restart_then_add_third);
	RUN_TEST(test_newleader_ack_lost);
	return check_report();
}
