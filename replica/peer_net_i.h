/*
 * peer_net_i.h - the connections between the nodes of an ensemble: one
 * authenticated TCP stream per pair of nodes, carrying length-prefixed
 * frames (the Zab core's messages, encoded by proto/peer.c) in order.
 *
 * Design
 *   Every node listens on its own peer port (server.N=host:PEER:election).
 *   Of two nodes, the one with the smaller id dials and redials (every
 *   PEER_NET_REDIAL_MS while down); the other accepts, so a pair has one
 *   stream and a restarted node is reached again without help.
 *
 *   Handshake, before any frame, in both directions:
 *     hello  "ZBFP" | u16 version | i32 id | 16 random bytes (nonce)
 *     proof  HMAC-SHA1(peerSecret, "zabfs-peer" | dialer nonce |
 *                      acceptor nonce | i32 sender id)   (20 bytes)
 *   The acceptor checks that the dialer's id is a configured server with a
 *   smaller id than its own; each side checks the other's proof.  Without
 *   peerSecret the proof is the HMAC under an empty key (so a node with a
 *   secret never accepts one without).  A failed check closes the stream
 *   and is logged once per peer until it succeeds.
 *
 *   Frames: u32 big-endian length (1 .. PEER_NET_MAX_FRAME) | bytes.  A
 *   larger length, or output queued past PEER_NET_MAX_QUEUE for a peer
 *   that does not read, closes the stream: the Zab core sees the peer go
 *   down and up again, never a gap inside a stream.
 *
 * Threads: everything runs on the loop thread given to peer_net_start.
 *
 * Invariants
 *   1. At most one stream per peer id is up (a newer accepted stream from
 *      the same id replaces the old one, which is closed first).
 *   2. on_up(id) and on_down(id) alternate, starting with on_up; frames
 *      from id are delivered only between them, in the order sent.
 */
#ifndef ZABFS_PEER_NET_I_H
#define ZABFS_PEER_NET_I_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "zabfs/config.h"

#define PEER_NET_REDIAL_MS 250
#define PEER_NET_MAX_FRAME ((256u << 20) + 4096) /* a snapshot (peer.h) */
#define PEER_NET_MAX_QUEUE (512u << 20)

struct peer_net;

struct peer_net_events {
	void (*on_up)(void *ctx, int32_t id);
	void (*on_down)(void *ctx, int32_t id);
	/* p is valid during the call only */
	void (*on_frame)(void *ctx, int32_t id, const uint8_t *p, size_t len);
	void *ctx;
};

struct peer_net_opts {
	int32_t myid;
	const struct zabfs_config_server *servers; /* every member, me too */
	size_t n_servers;
	const char *secret; /* peerSecret or NULL */
};

/* Listens and starts dialing.  0, or a negative libuv error (the port is
 * taken, no such server); logs why. */
int peer_net_start(uv_loop_t *loop, const struct peer_net_opts *opts,
		   const struct peer_net_events *ev, struct peer_net **out);

/* Queues one frame to id.  0; -1 when id is not up (the frame is dropped:
 * the core resends after the peer comes up). */
int peer_net_send(struct peer_net *n, int32_t id, const uint8_t *p,
		  size_t len);

/* Closes everything; the structure is freed once libuv has let go of
 * its handles (run the loop).  No event is delivered after this. */
void peer_net_stop(struct peer_net *n);

#endif
