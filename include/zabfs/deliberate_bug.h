/*
 * deliberate_bug.h - test-only switches, each planting one known
 * replication or durability bug, so that the fault runner (tests/faults)
 * can show it catches them (issue #5).
 *
 * Design
 *   A build chooses at most one bug with the CMake option
 *   ZABFS_DELIBERATE_BUG=<name>, which defines ZABFS_BUG_ID; a normal
 *   build defines nothing, and every ZABFS_BUG(NAME) is then the constant
 *   false, so the compiler drops the planted code.  The names:
 *
 *     ACK_BEFORE_FSYNC   the log reports a batch durable once written,
 *                        before its fdatasync (ZOOKEEPER-4646's class)
 *     SHORT_QUORUM       the leader commits what one vote short of a
 *                        quorum holds
 *     SKIP_TRUNC         a learner told to TRUNC keeps its extra txns
 *     SERVE_BEFORE_SYNC  a new leader serves clients from election on,
 *                        before a quorum has synced with it
 *
 * Invariants
 *   1. Without ZABFS_BUG_ID the binary is exactly the normal one.
 *   2. The zabfs binary prints the planted bug's name at start.
 */
#ifndef ZABFS_DELIBERATE_BUG_H
#define ZABFS_DELIBERATE_BUG_H

#define ZABFS_BUG_NONE 0
#define ZABFS_BUG_ACK_BEFORE_FSYNC 1
#define ZABFS_BUG_SHORT_QUORUM 2
#define ZABFS_BUG_SKIP_TRUNC 3
#define ZABFS_BUG_SERVE_BEFORE_SYNC 4

#ifndef ZABFS_BUG_ID
#define ZABFS_BUG_ID ZABFS_BUG_NONE
#endif

#define ZABFS_BUG(name) (ZABFS_BUG_ID == ZABFS_BUG_##name)

#endif
