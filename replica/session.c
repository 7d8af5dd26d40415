/*
 * session.c - the session table of session_i.h.
 *
 * Session ids are made as ZooKeeper makes them, (server id << 56) | (the
 * wall clock in ms << 24 >> 8), then counted up, so ids from different nodes
 * and different starts do not collide.  Passwords are 16 random bytes from
 * the kernel (getrandom); they travel in the createSession transaction, so
 * every replica can check them.
 *
 * Snapshot encoding (sessions_encode): int count, then per session
 * long id, int timeout_ms, 16 bytes password.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "session_i.h"
#include "zabfs/err.h"

int sessions_init(struct sessions *ss, int32_t server_id, int64_t wall_ms)
{
	ss->next_id = (int64_t)(((uint64_t)(uint32_t)server_id << 56) |
				(((uint64_t)wall_ms << 24) >> 8));
	ss->n_committed = 0;
	return hmap_init(&ss->map);
}

void sessions_destroy(struct sessions *ss)
{
	size_t bucket = 0;
	struct hmap_node *n = hmap_next(&ss->map, &bucket, NULL);
	while (n) {
		struct hmap_node *next = hmap_next(&ss->map, &bucket, n);
		free(HMAP_CONTAINER(n, struct session, node));
		n = next;
	}
	hmap_destroy(&ss->map);
}

struct session *sessions_find(const struct sessions *ss, int64_t id)
{
	struct hmap_node *n;
	HMAP_FOR_EACH_WITH_HASH (n, hmap_hash_u64((uint64_t)id), &ss->map) {
		struct session *s = HMAP_CONTAINER(n, struct session, node);
		if (s->id == id)
			return s;
	}
	return NULL;
}

static struct session *insert(struct sessions *ss, int64_t id,
			      int32_t timeout_ms, uint64_t now_ms)
{
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->id = id;
	s->timeout_ms = timeout_ms;
	session_touch(s, now_ms);
	hmap_insert(&ss->map, &s->node, hmap_hash_u64((uint64_t)id));
	return s;
}

struct session *sessions_create(struct sessions *ss, int32_t timeout_ms,
				uint64_t now_ms)
{
	int64_t id;
	do
		id = ss->next_id++;
	while (id == 0 || sessions_find(ss, id));
	struct session *s = insert(ss, id, timeout_ms, now_ms);
	if (!s)
		return NULL;
	size_t got = 0;
	while (got < sizeof(s->passwd)) {
		ssize_t n = getrandom(s->passwd + got, sizeof(s->passwd) - got, 0);
		if (n <= 0) {
			hmap_remove(&ss->map, &s->node);
			free(s);
			return NULL;
		}
		got += (size_t)n;
	}
	return s;
}

void sessions_touch_all(struct sessions *ss, uint64_t now_ms)
{
	size_t bucket = 0;
	for (struct hmap_node *n = hmap_next(&ss->map, &bucket, NULL); n;
	     n = hmap_next(&ss->map, &bucket, n))
		session_touch(HMAP_CONTAINER(n, struct session, node), now_ms);
}

void sessions_cancel_closes(struct sessions *ss)
{
	size_t bucket = 0;
	for (struct hmap_node *n = hmap_next(&ss->map, &bucket, NULL); n;
	     n = hmap_next(&ss->map, &bucket, n))
		HMAP_CONTAINER(n, struct session, node)->closing = false;
}

struct session *sessions_adopt(struct sessions *ss, int64_t id,
			       int32_t timeout_ms, const uint8_t passwd[16],
			       uint64_t now_ms)
{
	if (id == 0 || sessions_find(ss, id))
		return NULL;
	struct session *s = insert(ss, id, timeout_ms, now_ms);
	if (s)
		memcpy(s->passwd, passwd, sizeof(s->passwd));
	return s;
}

int sessions_apply_create(struct sessions *ss, int64_t id, int32_t timeout_ms,
			  const uint8_t passwd[16], uint64_t now_ms)
{
	struct session *s = sessions_find(ss, id);
	if (!s) {
		s = insert(ss, id, timeout_ms, now_ms);
		if (!s)
			return ZK_NOMEM;
	}
	if (!s->committed) {
		s->committed = true;
		ss->n_committed++;
	}
	s->timeout_ms = timeout_ms;
	memcpy(s->passwd, passwd, sizeof(s->passwd));
	session_touch(s, now_ms);
	if (id >= ss->next_id && (uint64_t)id >> 56 == (uint64_t)ss->next_id >> 56)
		ss->next_id = id + 1;
	return 0;
}

struct conn *sessions_apply_close(struct sessions *ss, int64_t id)
{
	struct session *s = sessions_find(ss, id);
	if (!s)
		return NULL;
	struct conn *c = s->conn;
	if (s->committed)
		ss->n_committed--;
	hmap_remove(&ss->map, &s->node);
	free(s);
	return c;
}

void sessions_expired(struct sessions *ss, uint64_t now_ms,
		      void (*fn)(void *arg, struct session *s), void *arg)
{
	size_t bucket = 0;
	struct hmap_node *n = hmap_next(&ss->map, &bucket, NULL);
	while (n) {
		struct hmap_node *next = hmap_next(&ss->map, &bucket, n);
		struct session *s = HMAP_CONTAINER(n, struct session, node);
		if (s->committed && !s->closing && !s->local &&
		    s->expire_ms < now_ms)
			fn(arg, s);
		n = next;
	}
}

void sessions_take_heard(struct sessions *ss, struct jute_writer *ids)
{
	size_t bucket = 0;
	for (struct hmap_node *n = hmap_next(&ss->map, &bucket, NULL); n;
	     n = hmap_next(&ss->map, &bucket, n)) {
		struct session *s = HMAP_CONTAINER(n, struct session, node);
		if (s->committed && s->conn && (s->heard || s->local))
			jute_put_long(ids, s->id);
		s->heard = false;
	}
}

void sessions_touch_ids(struct sessions *ss, struct zk_bytes ids,
			uint64_t now_ms)
{
	struct jute_reader r;
	jute_reader_init(&r, ids.p, ids.len > 0 ? (size_t)ids.len : 0);
	while (jute_reader_left(&r) >= 8) {
		struct session *s = sessions_find(ss, jute_get_long(&r));
		if (s)
			session_touch(s, now_ms);
	}
}

void sessions_encode(const struct sessions *ss, struct jute_writer *w)
{
	jute_put_int(w, (int32_t)ss->n_committed);
	size_t bucket = 0;
	for (struct hmap_node *n = hmap_next(&ss->map, &bucket, NULL); n;
	     n = hmap_next(&ss->map, &bucket, n)) {
		const struct session *s = HMAP_CONTAINER(n, struct session, node);
		if (!s->committed)
			continue;
		jute_put_long(w, s->id);
		jute_put_int(w, s->timeout_ms);
		jute_put_raw(w, s->passwd, sizeof(s->passwd));
	}
}

int sessions_decode(struct sessions *ss, const uint8_t *buf, size_t len,
		    uint64_t now_ms)
{
	struct jute_reader r;
	jute_reader_init(&r, buf, len);
	int32_t n = jute_get_count(&r, 8 + 4 + 16);
	for (int32_t i = 0; i < n && jute_reader_ok(&r); i++) {
		int64_t id = jute_get_long(&r);
		int32_t timeout = jute_get_int(&r);
		const uint8_t *pw = jute_get_raw(&r, 16);
		if (!pw || timeout <= 0)
			return ZK_CORRUPT;
		int rc = sessions_apply_create(ss, id, timeout, pw, now_ms);
		if (rc)
			return rc;
	}
	return jute_reader_done(&r) && n >= 0 ? 0 : ZK_CORRUPT;
}
