/*
 * dispatch.c - routes one request of an established connection: decodes
 * it, answers the few requests that close or refuse at once, sends writes
 * to prep and everything else to reads.
 *
 * Replies go to q->reply when the request has a queue entry (the conn
 * layer sends them in order), else straight to the connection's output.
 * What ZooKeeper does with bad requests, and so what we do:
 *
 *   | request                         | answer                            |
 *   |---------------------------------|-----------------------------------|
 *   | shorter than a header           | connection closed (conn.c)        |
 *   | body does not decode            | MARSHALLINGERROR                  |
 *   | unknown opcode                  | UNIMPLEMENTED (zxid -1), closed   |
 *   | createSession (-10)             | MARSHALLINGERROR                  |
 *   | deleteContainer (20)            | BADARGUMENTS                      |
 *   | check outside multi             | its result, as a read             |
 *   | auth with an unknown scheme     | AUTHFAILED (xid -4), closed       |
 *   | sasl (not configured)           | UNIMPLEMENTED (zxid -1), closed   |
 *   | reconfig                        | RECONFIGDISABLED                  |
 */
#include "server_i.h"
#include "zabfs/err.h"

/* A null path where ZooKeeper's server dereferences it: it answers
 * MARSHALLINGERROR.  (sync and getEphemerals take a null path: kazoo sends
 * "" as null.) */
static bool null_path(const struct zk_request *req)
{
	switch (req->type) {
	case ZK_OP_EXISTS:
	case ZK_OP_GET_DATA:
	case ZK_OP_GET_CHILDREN:
	case ZK_OP_GET_CHILDREN2:
		return req->u.path_watch.path.len < 0;
	case ZK_OP_GET_ACL:
	case ZK_OP_GET_ALL_CHILDREN_NUMBER:
		return req->u.path.path.len < 0;
	case ZK_OP_DELETE:
	case ZK_OP_CHECK:
		return req->u.path_version.path.len < 0;
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
		return req->u.create.path.len < 0;
	case ZK_OP_CREATE_TTL:
		return req->u.create_ttl.path.len < 0;
	case ZK_OP_SET_DATA:
		return req->u.set_data.path.len < 0;
	case ZK_OP_SET_ACL:
		return req->u.set_acl.path.len < 0;
	case ZK_OP_ADD_WATCH:
	case ZK_OP_CHECK_WATCHES:
	case ZK_OP_REMOVE_WATCHES:
		return req->u.path_type.path.len < 0;
	default:
		return false;
	}
}

static void header_only(struct jute_writer *w, int32_t xid, int64_t zxid,
			int err)
{
	size_t start = zk_reply_begin(w, xid, zxid, zk_err_wire(err));
	zk_frame_end(w, start);
}

void dispatch_request(struct conn *c, const uint8_t *frame, size_t len,
		      struct creq *q)
{
	struct server *srv = c->srv;
	if (forward_request(c, frame, len, q))
		return; /* a follower: the leader runs it */
	struct jute_writer *reply = q ? &q->reply : &c->out;
	struct zk_request req;
	bool close_after = false;
	int64_t zxid = srv->last_applied;
	int rc = zk_request_decode(frame, len, srv->cfg->jute_maxbuffer, &req);
	if (rc == ZK_UNIMPLEMENTED && req.type == ZK_OP_CREATE_SESSION) {
		header_only(reply, req.xid, zxid, ZK_MARSHALLINGERROR);
	} else if (rc == ZK_UNIMPLEMENTED && req.type == ZK_OP_DELETE_CONTAINER) {
		header_only(reply, req.xid, zxid, ZK_BADARGUMENTS);
	} else if (rc == ZK_UNIMPLEMENTED || req.type == ZK_OP_SASL) {
		header_only(reply, req.xid, -1, ZK_UNIMPLEMENTED);
		close_after = true;
	} else if (rc || null_path(&req)) {
		header_only(reply, req.xid, zxid, ZK_MARSHALLINGERROR);
	} else if (req.type == ZK_OP_AUTH) {
		int err = auth_add(&c->ids, req.u.auth.scheme, req.u.auth.auth,
				   srv->cfg);
		size_t start = zk_reply_begin(reply, ZK_XID_AUTH, 0,
					      err ? ZK_AUTHFAILED : 0);
		zk_frame_end(reply, start);
		close_after = err != 0;
	} else if (req.type == ZK_OP_RECONFIG) {
		header_only(reply, req.xid, zxid, ZK_RECONFIGDISABLED);
	} else if (req.type == ZK_OP_CLOSE_SESSION) {
		if (c->session && !c->session->closing &&
		    prep_close_session(srv, c->session, c, q) == 0)
			return;
		header_only(reply, req.xid, zxid, 0);
		close_after = true;
	} else if (q && (req.type == ZK_OP_CREATE || req.type == ZK_OP_CREATE2 ||
			 req.type == ZK_OP_CREATE_CONTAINER ||
			 req.type == ZK_OP_CREATE_TTL ||
			 req.type == ZK_OP_DELETE || req.type == ZK_OP_SET_DATA ||
			 req.type == ZK_OP_SET_ACL || req.type == ZK_OP_MULTI)) {
		if (prep_write(c, &req, q, reply))
			return;
	} else {
		reads_run(c, &req, reply);
	}
	if (!q) {
		conn_output_added(c, close_after);
		return;
	}
	q->close_after = close_after;
	conn_reply_done(c, q);
}
