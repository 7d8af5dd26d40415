/*
 * zkresponse.c - server-to-client records and framing.  See
 * include/zabfs/zkproto.h for which function writes which record.
 *
 * Wire facts (ZooKeeper 3.9 zookeeper.jute; C client's 41-byte primer):
 *   ReplyHeader       int xid; long zxid; int err                  16 bytes
 *   Stat              long czxid, mzxid, ctime, mtime; int version,
 *                     cversion, aversion; long ephemeralOwner;
 *                     int dataLength, numChildren; long pzxid      68 bytes
 *   ConnectResponse   int protocolVersion; int timeOut; long sessionId;
 *                     buffer passwd (16); [boolean readOnly]    36/37 bytes
 *   WatcherEvent      int type; int state; ustring path
 *   MultiHeader       int type; boolean done; int err               9 bytes
 *
 * Invariant: these functions only append to the writer (or patch bytes they
 * appended); errors stay sticky in the writer until zk_frame_end.
 */
#include "zabfs/zkproto.h"

#include "zabfs/err.h"

void zk_put_reply_header(struct jute_writer *w, int32_t xid, int64_t zxid,
			 int32_t err)
{
	jute_put_int(w, xid);
	jute_put_long(w, zxid);
	jute_put_int(w, err);
}

void zk_put_stat(struct jute_writer *w, const struct zk_stat *st)
{
	jute_put_long(w, st->czxid);
	jute_put_long(w, st->mzxid);
	jute_put_long(w, st->ctime);
	jute_put_long(w, st->mtime);
	jute_put_int(w, st->version);
	jute_put_int(w, st->cversion);
	jute_put_int(w, st->aversion);
	jute_put_long(w, st->ephemeral_owner);
	jute_put_int(w, st->data_length);
	jute_put_int(w, st->num_children);
	jute_put_long(w, st->pzxid);
}

void zk_put_connect_response(struct jute_writer *w,
			     const struct zk_connect_response *c)
{
	jute_put_int(w, c->protocol_version);
	jute_put_int(w, c->timeout_ms);
	jute_put_long(w, c->session_id);
	jute_put_buffer(w, zk_bytes_of(c->passwd, ZK_PASSWD_LEN));
	if (c->has_read_only)
		jute_put_bool(w, c->read_only);
}

void zk_put_watcher_event(struct jute_writer *w, int32_t type, int32_t state,
			  struct zk_bytes path)
{
	jute_put_int(w, type);
	jute_put_int(w, state);
	jute_put_buffer(w, path);
}

void zk_put_acl_list(struct jute_writer *w, const struct zk_acl_list *acl)
{
	jute_put_int(w, acl->n);
	for (int32_t i = 0; i < acl->n; i++) {
		jute_put_int(w, acl->v[i].perms);
		jute_put_buffer(w, acl->v[i].id.scheme);
		jute_put_buffer(w, acl->v[i].id.id);
	}
}

void zk_put_create2_response(struct jute_writer *w, struct zk_bytes path,
			     const struct zk_stat *st)
{
	jute_put_buffer(w, path);
	zk_put_stat(w, st);
}

void zk_put_get_data_response(struct jute_writer *w, struct zk_bytes data,
			      const struct zk_stat *st)
{
	jute_put_buffer(w, data);
	zk_put_stat(w, st);
}

void zk_put_get_acl_response(struct jute_writer *w,
			     const struct zk_acl_list *acl,
			     const struct zk_stat *st)
{
	zk_put_acl_list(w, acl);
	zk_put_stat(w, st);
}

void zk_put_get_acl_response_raw(struct jute_writer *w,
				 struct zk_bytes acl_raw,
				 const struct zk_stat *st)
{
	if (acl_raw.len < 0)
		jute_put_int(w, -1);
	else
		jute_put_raw(w, acl_raw.p, (size_t)acl_raw.len);
	zk_put_stat(w, st);
}

void zk_vec_begin(struct jute_writer *w, struct zk_vec_builder *b)
{
	b->count_off = w->len;
	b->count = 0;
	jute_put_int(w, 0);
}

void zk_vec_put_string(struct jute_writer *w, struct zk_vec_builder *b,
		       struct zk_bytes s)
{
	jute_put_buffer(w, s);
	b->count++;
}

void zk_vec_put_client_info(struct jute_writer *w, struct zk_vec_builder *b,
			    struct zk_bytes scheme, struct zk_bytes user)
{
	jute_put_buffer(w, scheme);
	jute_put_buffer(w, user);
	b->count++;
}

void zk_vec_end(struct jute_writer *w, const struct zk_vec_builder *b)
{
	jute_patch_int(w, b->count_off, b->count);
}

void zk_put_multi_header(struct jute_writer *w, int32_t type, bool done,
			 int32_t err)
{
	jute_put_int(w, type);
	jute_put_bool(w, done);
	jute_put_int(w, err);
}

void zk_put_multi_error(struct jute_writer *w, int32_t err)
{
	zk_put_multi_header(w, ZK_OP_ERROR, false, err);
	jute_put_int(w, err);
}

void zk_put_multi_end(struct jute_writer *w)
{
	zk_put_multi_header(w, ZK_OP_ERROR, true, -1);
}

size_t zk_frame_begin(struct jute_writer *w)
{
	size_t start = w->len;
	jute_put_int(w, 0);
	return start;
}

size_t zk_reply_begin(struct jute_writer *w, int32_t xid, int64_t zxid,
		      int32_t err)
{
	size_t start = zk_frame_begin(w);
	zk_put_reply_header(w, xid, zxid, err);
	return start;
}

int zk_frame_end(struct jute_writer *w, size_t start)
{
	if (!jute_writer_ok(w))
		return ZK_NOMEM;
	size_t body = w->len - start - 4;
	if (body > INT32_MAX)
		return ZK_TOOBIG;
	jute_patch_int(w, start, (int32_t)body);
	return 0;
}
