/*
 * fuzz_zk_request.c - zk_request_decode on arbitrary frames.  On success it
 * walks every list the request holds (ACLs, setWatches paths, multi ops
 * and their ACLs), which must never fail after a successful decode
 * (zkproto.h invariants 3 and 4), runs the path helpers on every path, and
 * checks that re-encoding gives a frame of the same length that decodes to
 * the same encoding again.
 */
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"
#include "zabfs/zkpath.h"
#include "zabfs/zkproto.h"

static void must(int cond)
{
	if (!cond)
		abort();
}

static void walk_path(struct zk_bytes p)
{
	int rc = zk_path_validate(p);
	must(rc == 0 || rc == ZK_BADARGUMENTS);
	if (rc == 0) {
		struct zk_bytes parent = zk_path_parent(p);
		struct zk_bytes base = zk_path_basename(p);
		must(parent.len < p.len && base.len < p.len);
		must(parent.len == -1 || zk_path_validate(parent) == 0);
	}
}

static void walk_acls(struct zk_vec v)
{
	struct zk_vec_iter it;
	struct zk_acl a;
	int32_t n = 0;
	int rc;
	zk_vec_iter_init(&it, v.raw);
	while ((rc = zk_vec_next_acl(&it, &a)) == 1)
		n++;
	must(rc == 0 && n == (v.count < 0 ? 0 : v.count));
}

static void walk_strings(struct zk_vec v)
{
	struct zk_vec_iter it;
	struct zk_bytes s;
	int32_t n = 0;
	int rc;
	zk_vec_iter_init(&it, v.raw);
	while ((rc = zk_vec_next_string(&it, &s)) == 1) {
		walk_path(s);
		n++;
	}
	must(rc == 0 && n == (v.count < 0 ? 0 : v.count));
}

static void walk_body(int32_t type, const union zk_request_body *u)
{
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATE_CONTAINER:
		walk_path(u->create.path);
		walk_acls(u->create.acl);
		break;
	case ZK_OP_CREATE_TTL:
		walk_path(u->create_ttl.path);
		walk_acls(u->create_ttl.acl);
		break;
	case ZK_OP_SET_ACL:
		walk_path(u->set_acl.path);
		walk_acls(u->set_acl.acl);
		break;
	case ZK_OP_SET_WATCHES:
		walk_strings(u->set_watches.data_watches);
		walk_strings(u->set_watches.exist_watches);
		walk_strings(u->set_watches.child_watches);
		break;
	case ZK_OP_SET_WATCHES2:
		walk_strings(u->set_watches2.data_watches);
		walk_strings(u->set_watches2.exist_watches);
		walk_strings(u->set_watches2.child_watches);
		walk_strings(u->set_watches2.persistent_watches);
		walk_strings(u->set_watches2.persistent_recursive_watches);
		break;
	case ZK_OP_MULTI:
	case ZK_OP_MULTI_READ: {
		struct zk_multi_iter it;
		struct zk_multi_op op;
		int32_t n = 0;
		int rc;
		zk_multi_iter_init(&it, u->multi.ops);
		while ((rc = zk_multi_next(&it, &op)) == 1) {
			walk_body(op.type, &op.u);
			n++;
		}
		must(rc == 0 && n == u->multi.ops.count);
		break;
	}
	case ZK_OP_DELETE:
	case ZK_OP_CHECK:
		walk_path(u->path_version.path);
		break;
	case ZK_OP_EXISTS:
	case ZK_OP_GET_DATA:
	case ZK_OP_GET_CHILDREN:
	case ZK_OP_GET_CHILDREN2:
		walk_path(u->path_watch.path);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks a small or the default max_len. */
	if (size < 1)
		return 0;
	int32_t max_len = data[0] & 1 ? data[0] >> 1 : ZK_DEFAULT_MAXBUFFER;
	data++;
	size--;
	struct zk_request req;
	int rc = zk_request_decode(data, size, max_len, &req);
	must(rc == 0 || rc == ZK_MALFORMED || rc == ZK_UNIMPLEMENTED);
	if (rc != 0)
		return 0;
	walk_body(req.type, &req.u);

	struct jute_writer w, w2;
	jute_writer_init(&w, 0);
	jute_writer_init(&w2, 0);
	must(zk_request_encode(&w, &req) == 0);
	must(w.len == size);
	struct zk_request again;
	must(zk_request_decode(w.buf, w.len, max_len, &again) == 0);
	must(zk_request_encode(&w2, &again) == 0);
	must(w2.len == w.len && memcmp(w.buf, w2.buf, w.len) == 0);
	jute_writer_free(&w);
	jute_writer_free(&w2);
	return 0;
}
