/*
 * sim_net.c - the simulated network: every message is encoded with the
 * real peer codec (proto/peer.c), delayed, maybe lost, duplicated or
 * reordered, and decoded again on delivery.
 *
 * Design
 *   A link (from, to) is FIFO like a TCP stream: a message is delivered no
 *   earlier than the one sent before it, unless the reorder fault lets it
 *   overtake.  A message is dropped if, at sending or at delivery, the two
 *   nodes are in different partition groups, or if the receiver crashed or
 *   restarted in between (its connection broke).  What a node sent before
 *   it crashed may still arrive, as bytes already on the wire do.  Faults are chances per
 *   message (sim.h); sim_drop_type and sim_crash_on_send let a scenario cut
 *   a conversation at one exact message.
 *
 * Invariants
 *   1. Everything a core sends encodes; everything delivered decodes to
 *      the same message (else a violation).
 */
#include <stdlib.h>
#include <string.h>

#include "sim_i.h"

static bool chance(struct sim *s, uint32_t per_mille)
{
	return per_mille && sim_random(s) % 1000 < per_mille;
}

static void schedule(struct sim *s, int from, int to, const uint8_t *bytes,
		     size_t len, bool may_reorder)
{
	const struct sim_net_faults *f = &s->cfg.net;
	uint64_t t = s->now + sim_between(s, f->delay_min_ms, f->delay_max_ms);
	if (!(may_reorder && chance(s, f->reorder)) &&
	    t < s->link_last[from][to])
		t = s->link_last[from][to];
	if (t > s->link_last[from][to])
		s->link_last[from][to] = t;
	struct sim_event ev = {.time = t, .kind = SIM_EV_DELIVER, .node = to,
			       .inc = s->nodes[to].inc, .from = from,
			       .len = len};
	ev.bytes = malloc(len);
	if (!ev.bytes)
		abort();
	memcpy(ev.bytes, bytes, len);
	sim_push(s, &ev);
}

void sim_net_send(struct sim *s, int from, uint64_t to_id,
		  const struct peer_msg *m)
{
	if (to_id == 0 || to_id > s->n) {
		sim_fail(s, "node %d sends to unknown id %llu", from,
			 (unsigned long long)to_id);
		return;
	}
	int to = (int)to_id - 1;
	struct jute_writer w;
	jute_writer_init(&w, 64);
	int rc = peer_msg_encode(&w, m);
	if (rc)
		sim_fail(s, "node %d: %s does not encode", from,
			 peer_type_name(m->type));
	const struct sim_node *src = &s->nodes[from];
	bool dropped = rc || s->group[from] != s->group[to] ||
		       src->drop_type == SIM_DROP_ALL ||
		       src->drop_type == (int)m->type ||
		       chance(s, s->cfg.net.loss);
	if (!dropped) {
		schedule(s, from, to, w.buf, w.len, true);
		if (chance(s, s->cfg.net.dup))
			schedule(s, from, to, w.buf, w.len, true);
	}
	jute_writer_free(&w);
}

void sim_net_deliver(struct sim *s, struct sim_event *ev)
{
	struct sim_node *src = &s->nodes[ev->from];
	struct sim_node *dst = &s->nodes[ev->node];
	if (s->group[ev->from] != s->group[ev->node])
		return;
	struct peer_msg m;
	if (peer_msg_decode(ev->bytes, ev->len, &m)) {
		sim_fail(s, "a message from node %d does not decode", ev->from);
		return;
	}
	if ((size_t)m.type <= PEER_VOTE)
		dst->received[m.type]++;
	if (m.type == PEER_TOUCH) { /* the request path's, not the core's */
		sim_sessions_touch(s, ev->node, &m.u.touch);
		return;
	}
	if (m.type == PEER_VOTE)
		sim_trace(s, "%d -> %d VOTE state %u leader %lld zxid 0x%llx "
			  "round %lld epoch %u", ev->from, ev->node,
			  m.u.vote.state, (long long)m.u.vote.leader,
			  (unsigned long long)m.u.vote.zxid,
			  (long long)m.u.vote.round, m.u.vote.peer_epoch);
	else
		sim_trace(s, "%d -> %d %s epoch %u zxid 0x%llx", ev->from,
			  ev->node, peer_type_name(m.type), m.u.zxid.epoch,
			  (unsigned long long)(m.type == PEER_PROPOSAL ||
							m.type == PEER_INFORM
						? m.u.txn.zxid
						: m.u.zxid.zxid));
	zab_receive(dst->core, src->id, &m);
}

void sim_inject(struct sim *s, int from, int to, const struct peer_msg *m)
{
	struct jute_writer w;
	jute_writer_init(&w, 64);
	if (peer_msg_encode(&w, m) == 0) {
		struct sim_event ev = {.time = s->now, .kind = SIM_EV_DELIVER,
				       .node = to, .inc = s->nodes[to].inc,
				       .from = from, .len = w.len};
		ev.bytes = w.buf;
		sim_push(s, &ev);
	} else {
		jute_writer_free(&w);
	}
}

void sim_partition(struct sim *s, const int *group)
{
	for (size_t i = 0; i < s->n; i++)
		s->group[i] = group[i];
	s->net_gen++;
}

void sim_heal(struct sim *s)
{
	memset(s->group, 0, sizeof(s->group));
	s->net_gen++;
}

void sim_set_faults(struct sim *s, const struct sim_net_faults *f)
{
	s->cfg.net = *f;
	s->net_gen++;
}

void sim_drop_type(struct sim *s, int from, int type)
{
	s->nodes[from].drop_type = type;
	s->net_gen++;
}

void sim_crash_on_send(struct sim *s, int node, int type)
{
	s->nodes[node].crash_on_send = type;
}
