/*
 * session_i.h - the sessions a node knows: created and closed by
 * transactions, kept alive by the traffic of their connection, expired by
 * the loop's ticker.
 *
 * Design
 *   A table by id (hmap), owned by the loop thread.  A session exists from
 *   the moment its id is handed out (committed == false until the
 *   createSession transaction is applied) until its closeSession transaction
 *   is applied.  Expiry is a deadline on the monotonic clock, pushed forward
 *   by every packet of the session's connection; the leader's ticker proposes
 *   a closeSession for each committed session past its deadline, and a
 *   follower or observer reports the sessions it heard from to its leader
 *   (TOUCH), which pushes their deadlines there.
 *
 * Invariants
 *   1. closing is set when a closeSession has been prepped, and cleared at
 *      a change of role, when that proposal's fate is the new epoch's; no
 *      write of the session is accepted while it is set.
 *   2. conn is the connection currently attached, or NULL; a connection
 *      points back through conn->session.
 */
#ifndef ZABFS_SESSION_I_H
#define ZABFS_SESSION_I_H

#include <stdbool.h>
#include <stdint.h>

#include "hmap_i.h"
#include "zabfs/jute.h"

struct conn;

struct session {
	struct hmap_node node;
	int64_t id;
	int32_t timeout_ms;
	uint8_t passwd[16];
	uint64_t expire_ms; /* monotonic deadline */
	bool committed;
	bool closing;
	bool local; /* a local session (local.c): never expires here */
	bool heard; /* touched since a follower last told its leader */
	struct conn *conn;
};

struct sessions {
	struct hmap map;
	int64_t next_id;
	uint64_t n_committed;
};

int sessions_init(struct sessions *ss, int32_t server_id, int64_t wall_ms);
void sessions_destroy(struct sessions *ss);
struct session *sessions_find(const struct sessions *ss, int64_t id);
/* A new session with a fresh id and random password, not yet committed. */
struct session *sessions_create(struct sessions *ss, int32_t timeout_ms,
				uint64_t now_ms);
/* Every session's deadline a full timeout from now (a new leader). */
void sessions_touch_all(struct sessions *ss, uint64_t now_ms);
/* No session is closing any more: at a change of role (a new epoch), every
 * closeSession prepped before either committed in the sync, and so is
 * applied, or was dropped with its epoch and will never be. */
void sessions_cancel_closes(struct sessions *ss);
/* The leader's copy of a session another node made (forward.c): id and
 * password as given, not yet committed.  NULL: id 0 or known, no memory. */
struct session *sessions_adopt(struct sessions *ss, int64_t id,
			       int32_t timeout_ms, const uint8_t passwd[16],
			       uint64_t now_ms);
/* Apply of createSession: marks it committed (creating it when replaying). */
int sessions_apply_create(struct sessions *ss, int64_t id, int32_t timeout_ms,
			  const uint8_t passwd[16], uint64_t now_ms);
/* Apply of closeSession: forgets it; returns the attached conn, if any. */
struct conn *sessions_apply_close(struct sessions *ss, int64_t id);
static inline void session_touch(struct session *s, uint64_t now_ms)
{
	s->expire_ms = now_ms + (uint64_t)s->timeout_ms;
	s->heard = true;
}
/* The liveness policy, shared by the node (server.c, forward.c) and the
 * simulator (tests/sim):
 * sessions_expired calls fn for each session the leader's ticker expires:
 * committed, not closing, not local, its deadline before now.  fn may
 * remove that session from the table, no other. */
void sessions_expired(struct sessions *ss, uint64_t now_ms,
		      void (*fn)(void *arg, struct session *s), void *arg);
/* What a follower's TOUCH tells its leader: puts the id (a long) of each
 * committed session with a connection that was heard from since the last
 * call, or is local (the mount's never ping), into ids; after it no
 * session is heard. */
void sessions_take_heard(struct sessions *ss, struct jute_writer *ids);
/* The leader's side of a TOUCH: touches each session of ids (longs) that
 * it knows. */
void sessions_touch_ids(struct sessions *ss, struct zk_bytes ids,
			uint64_t now_ms);
/* The committed sessions, for snapshots: encode / decode. */
void sessions_encode(const struct sessions *ss, struct jute_writer *w);
int sessions_decode(struct sessions *ss, const uint8_t *buf, size_t len,
		    uint64_t now_ms);

#endif
