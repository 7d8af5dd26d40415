/*
 * watch.c - the watch table of watch_i.h, with ZooKeeper's trigger rules:
 *
 *   | change          | path's watchers fired           | parent's watchers |
 *   |-----------------|---------------------------------|-------------------|
 *   | create          | data, persistent, recursive (+  | child, persistent:|
 *   |                 | recursive of every ancestor):   | ChildrenChanged   |
 *   |                 | NodeCreated                     |                   |
 *   | setData         | data, persistent, recursive (+  | -                 |
 *   |                 | ancestors'): NodeDataChanged    |                   |
 *   | delete          | data, child, persistent,        | child, persistent:|
 *   |                 | recursive (+ ancestors'):       | ChildrenChanged   |
 *   |                 | NodeDeleted                     |                   |
 *
 *   Recursive watches never get NodeChildrenChanged.  One-shot kinds (data,
 *   child) are removed when they fire.  A connection gets one event per
 *   (change, path) even when several of its watches match (the seq stamp).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_i.h"
#include "zabfs/err.h"

struct watcher {
	struct watcher *next;
	struct conn *conn;
	unsigned kinds;
};

struct watch_path {
	struct hmap_node node;
	struct watcher *watchers;
	size_t len;
	char path[];
};

/* Stamps one firing (or one report) so each conn is counted once. */
static uint64_t fire_seq;

int watches_init(struct watches *w)
{
	w->n_watches = 0;
	w->n_recursive = 0;
	return hmap_init(&w->map);
}

static void free_path(struct watch_path *wp)
{
	while (wp->watchers) {
		struct watcher *x = wp->watchers;
		wp->watchers = x->next;
		free(x);
	}
	free(wp);
}

void watches_destroy(struct watches *w)
{
	size_t bucket = 0;
	struct hmap_node *n = hmap_next(&w->map, &bucket, NULL);
	while (n) {
		struct hmap_node *next = hmap_next(&w->map, &bucket, n);
		free_path(HMAP_CONTAINER(n, struct watch_path, node));
		n = next;
	}
	hmap_destroy(&w->map);
}

static struct watch_path *find(const struct watches *w, struct zk_bytes path)
{
	size_t len = path.len > 0 ? (size_t)path.len : 0;
	struct hmap_node *n;
	HMAP_FOR_EACH_WITH_HASH (n, hmap_hash_bytes(path.p, len), &w->map) {
		struct watch_path *wp = HMAP_CONTAINER(n, struct watch_path, node);
		if (wp->len == len && memcmp(wp->path, path.p, len) == 0)
			return wp;
	}
	return NULL;
}

static unsigned popcount(unsigned v)
{
	unsigned n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

static void account(struct watches *w, unsigned kinds, int sign)
{
	uint64_t n = popcount(kinds);
	if (sign > 0)
		w->n_watches += n;
	else
		w->n_watches -= n;
	if (kinds & WATCH_RECURSIVE) {
		if (sign > 0)
			w->n_recursive++;
		else
			w->n_recursive--;
	}
}

int watches_add(struct watches *w, struct zk_bytes path, struct conn *c,
		unsigned kind)
{
	size_t len = path.len > 0 ? (size_t)path.len : 0;
	struct watch_path *wp = find(w, path);
	if (!wp) {
		wp = malloc(sizeof(*wp) + len + 1);
		if (!wp)
			return ZK_NOMEM;
		wp->watchers = NULL;
		wp->len = len;
		memcpy(wp->path, path.p, len);
		wp->path[len] = '\0';
		hmap_insert(&w->map, &wp->node, hmap_hash_bytes(path.p, len));
	}
	struct watcher *x;
	for (x = wp->watchers; x; x = x->next)
		if (x->conn == c)
			break;
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x) {
			if (!wp->watchers) {
				hmap_remove(&w->map, &wp->node);
				free(wp);
			}
			return ZK_NOMEM;
		}
		x->conn = c;
		x->next = wp->watchers;
		wp->watchers = x;
		c->n_watches++;
	}
	unsigned added = kind & ~x->kinds;
	x->kinds |= kind;
	account(w, added, +1);
	return 0;
}

/* Drops the kinds of x; unlinks x (and wp) when nothing is left. */
static void drop_kinds(struct watches *w, struct watch_path *wp,
		       struct watcher **link, unsigned kinds)
{
	struct watcher *x = *link;
	unsigned removed = x->kinds & kinds;
	account(w, removed, -1);
	x->kinds &= ~kinds;
	if (x->kinds)
		return;
	*link = x->next;
	x->conn->n_watches--;
	free(x);
	if (!wp->watchers) {
		hmap_remove(&w->map, &wp->node);
		free(wp);
	}
}

int watches_remove(struct watches *w, struct zk_bytes path, struct conn *c,
		   unsigned kinds)
{
	struct watch_path *wp = find(w, path);
	if (!wp)
		return 0;
	for (struct watcher **link = &wp->watchers; *link; link = &(*link)->next)
		if ((*link)->conn == c) {
			int n = (int)popcount((*link)->kinds & kinds);
			drop_kinds(w, wp, link, kinds);
			return n;
		}
	return 0;
}

bool watches_has(const struct watches *w, struct zk_bytes path,
		 const struct conn *c, unsigned kinds)
{
	struct watch_path *wp = find(w, path);
	for (struct watcher *x = wp ? wp->watchers : NULL; x; x = x->next)
		if (x->conn == c)
			return (x->kinds & kinds) != 0;
	return false;
}

void watches_drop_conn(struct watches *w, struct conn *c)
{
	if (!c->n_watches)
		return;
	size_t bucket = 0;
	struct hmap_node *n = hmap_next(&w->map, &bucket, NULL);
	while (n && c->n_watches) {
		struct hmap_node *next = hmap_next(&w->map, &bucket, n);
		struct watch_path *wp = HMAP_CONTAINER(n, struct watch_path, node);
		for (struct watcher **link = &wp->watchers; *link;
		     link = &(*link)->next)
			if ((*link)->conn == c) {
				drop_kinds(w, wp, link, ~0u);
				break;
			}
		n = next;
	}
}

static void notify(struct conn *c, const struct watch_event *ev, int type,
		   struct zk_bytes path, uint64_t seq)
{
	if (c->watch_seq == seq)
		return;
	c->watch_seq = seq;
	if (ev->acl && !auth_permits(ev->acl, &c->ids, ZK_PERM_READ))
		return;
	struct jute_writer frame;
	uint8_t buf[256];
	jute_writer_init_fixed(&frame, buf, sizeof(buf));
	size_t start = zk_reply_begin(&frame, ZK_XID_NOTIFICATION, ev->zxid, 0);
	zk_put_watcher_event(&frame, type, ZK_STATE_SYNC_CONNECTED, path);
	if (zk_frame_end(&frame, start) != 0) {
		/* A long path: build the frame on the heap instead. */
		jute_writer_init(&frame, 0);
		start = zk_reply_begin(&frame, ZK_XID_NOTIFICATION, ev->zxid, 0);
		zk_put_watcher_event(&frame, type, ZK_STATE_SYNC_CONNECTED, path);
		if (zk_frame_end(&frame, start) == 0)
			conn_send_frame(c, &frame);
		jute_writer_free(&frame);
		return;
	}
	conn_send_frame(c, &frame);
}

/* Fires the watchers of one path entry whose kinds are in `fire`; removes
 * the one-shot kinds among them. */
static void fire_path(struct watches *w, struct zk_bytes path,
		      const struct watch_event *ev, int type, unsigned fire,
		      uint64_t seq)
{
	struct watch_path *wp = find(w, path);
	if (!wp)
		return;
	struct watcher **link = &wp->watchers;
	while (*link) {
		struct watcher *x = *link;
		unsigned hit = x->kinds & fire;
		if (!hit) {
			link = &x->next;
			continue;
		}
		notify(x->conn, ev, type, ev->path, seq);
		unsigned one_shot = hit & (WATCH_DATA | WATCH_CHILD);
		if (one_shot && x->kinds == one_shot) {
			drop_kinds(w, wp, link, one_shot); /* may free wp */
			if (!find(w, path))
				return;
			continue;
		}
		if (one_shot)
			drop_kinds(w, wp, link, one_shot);
		link = &x->next;
	}
}

/* Recursive watchers of every proper ancestor of path. */
static void fire_ancestors(struct watches *w, const struct watch_event *ev,
			   uint64_t seq)
{
	if (!w->n_recursive)
		return;
	struct zk_bytes p = ev->path;
	while (p.len > 1) {
		int32_t i = p.len - 1;
		while (i > 0 && p.p[i] != '/')
			i--;
		p.len = i > 0 ? i : 1;
		fire_path(w, p, ev, ev->type, WATCH_RECURSIVE, seq);
	}
}

void watches_trigger(struct watches *w, const struct watch_event *ev)
{
	if (!w->n_watches)
		return;
	uint64_t seq = ++fire_seq;
	switch (ev->type) {
	case ZK_EVENT_CREATED:
	case ZK_EVENT_DATA_CHANGED:
		fire_path(w, ev->path, ev, ev->type,
			  WATCH_DATA | WATCH_PERSISTENT | WATCH_RECURSIVE, seq);
		fire_ancestors(w, ev, seq);
		break;
	case ZK_EVENT_DELETED:
		fire_path(w, ev->path, ev, ev->type,
			  WATCH_DATA | WATCH_CHILD | WATCH_PERSISTENT |
				  WATCH_RECURSIVE,
			  seq);
		fire_ancestors(w, ev, seq);
		break;
	case ZK_EVENT_CHILDREN_CHANGED:
		/* ev->path is the parent whose children changed. */
		fire_path(w, ev->path, ev, ev->type,
			  WATCH_CHILD | WATCH_PERSISTENT, seq);
		break;
	default:
		break;
	}
}

static void put_str(struct jute_writer *out, const char *s)
{
	jute_put_raw(out, s, strlen(s));
}

void watches_report(const struct watches *w, int which,
		    struct jute_writer *out)
{
	char line[128];
	size_t bucket = 0;
	if (which == 's') {
		/* "N connections watching M paths\nTotal watches:K\n" */
		size_t conns = 0;
		uint64_t stamp = ++fire_seq; /* counts each conn once */
		for (struct hmap_node *n = hmap_next(&w->map, &bucket, NULL); n;
		     n = hmap_next(&w->map, &bucket, n)) {
			const struct watch_path *wp =
				HMAP_CONTAINER(n, struct watch_path, node);
			for (const struct watcher *x = wp->watchers; x; x = x->next)
				if (x->conn->watch_seq != stamp) {
					x->conn->watch_seq = stamp;
					conns++;
				}
		}
		snprintf(line, sizeof(line),
			 "%zu connections watching %zu paths\nTotal watches:%" PRIu64
			 "\n",
			 conns, w->map.count, w->n_watches);
		put_str(out, line);
		return;
	}
	/* wchp: by path; wchc: by session. */
	for (struct hmap_node *n = hmap_next(&w->map, &bucket, NULL); n;
	     n = hmap_next(&w->map, &bucket, n)) {
		const struct watch_path *wp =
			HMAP_CONTAINER(n, struct watch_path, node);
		if (which == 'p') {
			put_str(out, wp->path);
			put_str(out, "\n");
		}
		for (const struct watcher *x = wp->watchers; x; x = x->next) {
			int64_t sid = x->conn->session ? x->conn->session->id : 0;
			if (which == 'p')
				snprintf(line, sizeof(line), "\t0x%" PRIx64 "\n",
					 (uint64_t)sid);
			else
				snprintf(line, sizeof(line), "0x%" PRIx64 "\n\t%s\n",
					 (uint64_t)sid, wp->path);
			put_str(out, line);
		}
	}
}
