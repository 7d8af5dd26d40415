/* test_err.c - the error table: codes keep ZooKeeper's values, messages
 * exist for every code, internal codes never reach the wire. */
#include "check.h"
#include "zabfs/err.h"

static void test_wire_values(void)
{
	CHECK_EQ_INT(ZK_NONODE, -101);
	CHECK_EQ_INT(ZK_NODEEXISTS, -110);
	CHECK_EQ_INT(ZK_BADARGUMENTS, -8);
	CHECK_EQ_INT(zk_err_wire(ZK_NOMEM), ZK_SYSTEMERROR);
	CHECK_EQ_INT(zk_err_wire(ZK_NOAUTH), ZK_NOAUTH);
}

static void test_messages(void)
{
	CHECK(strcmp(zk_strerror(ZK_NONODE), "no node") == 0);
	CHECK(strcmp(zk_strerror(12345), "unknown error") == 0);
}

int main(void)
{
	RUN_TEST(test_wire_values);
	RUN_TEST(test_messages);
	return check_report();
}
