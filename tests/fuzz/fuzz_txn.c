/*
 * fuzz_txn.c - txn_decode on arbitrary bytes.  On success every multi op
 * and every ACL vector must iterate cleanly, and txn_encode of the view
 * must give back exactly the input (the format has one encoding per
 * transaction).
 */
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"
#include "zabfs/txn_codec.h"
#include "zabfs/zkproto.h"

static void must(int cond)
{
	if (!cond)
		abort();
}

static void walk_acl(struct zk_bytes raw)
{
	struct zk_vec_iter it;
	struct zk_acl a;
	int rc;
	zk_vec_iter_init(&it, raw);
	while ((rc = zk_vec_next_acl(&it, &a)) == 1)
		;
	must(rc == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct txn t;
	int rc = txn_decode(data, size, &t);
	must(rc == 0 || rc == ZK_CORRUPT);
	if (rc != 0)
		return 0;
	if (t.hdr.type == TXN_CREATE)
		walk_acl(t.u.create.acl_raw);
	if (t.hdr.type == TXN_SET_ACL)
		walk_acl(t.u.set_acl.acl_raw);
	if (t.hdr.type == TXN_MULTI) {
		struct txn_multi_iter it;
		struct txn_op op;
		int32_t n = 0;
		txn_multi_iter_init(&it, &t.u.multi);
		while ((rc = txn_multi_next(&it, &op)) == 1) {
			if (op.type == TXN_CREATE)
				walk_acl(op.u.create.acl_raw);
			n++;
		}
		must(rc == 0 && n == t.u.multi.count);
	}
	struct jute_writer w;
	jute_writer_init(&w, 0);
	must(txn_encode(&w, &t) == 0);
	must(w.len == size && memcmp(w.buf, data, size) == 0);
	jute_writer_free(&w);
	return 0;
}
