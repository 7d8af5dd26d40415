/*
 * err.h - the one error space of zabfs.
 *
 * Design
 *   Every fallible function returns an int: 0 on success, a negative code
 *   below on failure.  ZooKeeper's own codes keep their wire values (so a
 *   code can be put in a ReplyHeader as it is); codes that exist only inside
 *   zabfs live at -1000 and below and never reach the wire.  errno appears
 *   only at the fs/ edge, translated from these codes there.
 *
 * Invariants
 *   1. ZK_OK == 0; every other code is negative.
 *   2. Internal codes (<= ZK_INTERNAL_BASE) are never sent to a client:
 *      zk_err_wire() maps them to ZK_SYSTEMERROR.
 */
#ifndef ZABFS_ERR_H
#define ZABFS_ERR_H

/* X(name, code, message).  Wire codes from ZooKeeper's KeeperException. */
#define ZK_ERR_MAP(X)                                                        \
	X(OK, 0, "ok")                                                       \
	X(SYSTEMERROR, -1, "system error")                                   \
	X(RUNTIMEINCONSISTENCY, -2, "runtime inconsistency")                 \
	X(DATAINCONSISTENCY, -3, "data inconsistency")                       \
	X(CONNECTIONLOSS, -4, "connection loss")                             \
	X(MARSHALLINGERROR, -5, "marshalling error")                         \
	X(UNIMPLEMENTED, -6, "unimplemented")                                \
	X(OPERATIONTIMEOUT, -7, "operation timeout")                         \
	X(BADARGUMENTS, -8, "bad arguments")                                 \
	X(UNKNOWNSESSION, -12, "unknown session")                            \
	X(NEWCONFIGNOQUORUM, -13, "new config has no quorum")                \
	X(RECONFIGINPROGRESS, -14, "reconfig in progress")                   \
	X(APIERROR, -100, "api error")                                       \
	X(NONODE, -101, "no node")                                           \
	X(NOAUTH, -102, "not authenticated")                                 \
	X(BADVERSION, -103, "bad version")                                   \
	X(NOCHILDRENFOREPHEMERALS, -108, "no children for ephemerals")       \
	X(NODEEXISTS, -110, "node exists")                                   \
	X(NOTEMPTY, -111, "directory not empty")                             \
	X(SESSIONEXPIRED, -112, "session expired")                           \
	X(INVALIDCALLBACK, -113, "invalid callback")                         \
	X(INVALIDACL, -114, "invalid acl")                                   \
	X(AUTHFAILED, -115, "authentication failed")                         \
	X(SESSIONMOVED, -118, "session moved")                               \
	X(NOTREADONLY, -119, "not a read-only call")                         \
	X(EPHEMERALONLOCALSESSION, -120, "ephemeral on local session")       \
	X(NOWATCHER, -121, "no such watcher")                                \
	X(RECONFIGDISABLED, -123, "reconfig disabled")                       \
	X(QUOTAEXCEEDED, -125, "quota exceeded")                             \
	X(THROTTLEDOP, -127, "throttled")                                    \
	X(NOMEM, -1000, "out of memory")                                     \
	X(IO, -1001, "i/o error")                                            \
	X(CORRUPT, -1002, "corrupt data")                                    \
	X(MALFORMED, -1003, "malformed input")                               \
	X(TOOBIG, -1004, "over the size limit")                              \
	X(NOSPACE, -1005, "no space left")                                   \
	X(CONFIG, -1006, "invalid configuration")                            \
	X(STOPPED, -1007, "stopped")                                         \
	X(FAILED_STORAGE, -1008, "storage failed earlier; restart to recover") \
	X(NOTLEADER, -1009, "not the established leader")

enum zk_err {
#define ZK_ERR_ENUM(name, code, msg) ZK_##name = (code),
	ZK_ERR_MAP(ZK_ERR_ENUM)
#undef ZK_ERR_ENUM
};

#define ZK_INTERNAL_BASE (-1000)

/* Human-readable message for any code; "unknown error" for others. */
const char *zk_strerror(int err);

/* The code to put on the wire: internal codes become ZK_SYSTEMERROR. */
static inline int zk_err_wire(int err)
{
	return err <= ZK_INTERNAL_BASE ? ZK_SYSTEMERROR : err;
}

#endif
