/*
 * test_epoch.c - the epoch files: missing files read as 0, acceptedEpoch
 * keeps the leader it was accepted from (and a file without one, as
 * ZooKeeper writes it, reads as leader 0), and a file that does not hold
 * exactly an epoch (and a leader) is refused with ZK_CORRUPT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "epoch_i.h"
#include "zabfs/err.h"

static char dir[64];

static void put(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_round_trip(void)
{
	struct epochs e = {9, 9, 9};
	CHECK_EQ_INT(epoch_read(dir, &e), 0);
	CHECK(e.accepted == 0 && e.accepted_from == 0 && e.current == 0);
	CHECK_EQ_INT(epoch_write(dir, "acceptedEpoch", 7, 3), 0);
	CHECK_EQ_INT(epoch_write(dir, "currentEpoch", 6, 3), 0);
	CHECK_EQ_INT(epoch_read(dir, &e), 0);
	CHECK(e.accepted == 7 && e.accepted_from == 3 && e.current == 6);
	CHECK_EQ_INT(epoch_write(dir, "acceptedEpoch", 4294967295u, 0), 0);
	CHECK_EQ_INT(epoch_read(dir, &e), 0);
	CHECK(e.accepted == 4294967295u && e.accepted_from == 0);
}

static void test_zookeeper_format_and_garbage(void)
{
	struct epochs e;
	put("acceptedEpoch", "12\n");
	put("currentEpoch", "11");
	CHECK_EQ_INT(epoch_read(dir, &e), 0);
	CHECK(e.accepted == 12 && e.accepted_from == 0 && e.current == 11);
	static const char *bad[] = {"", "x", "12 ", "12 x", "4294967296",
				    "-1", "12 3 4"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("acceptedEpoch", bad[i]);
		CHECK_EQ_INT(epoch_read(dir, &e), ZK_CORRUPT);
	}
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/zabfs-epoch-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN_TEST(test_round_trip);
	RUN_TEST(test_zookeeper_format_and_garbage);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return check_report();
}
