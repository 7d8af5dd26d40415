/*
 * fuzz_snapfmt.c - the snapshot decoder on arbitrary bytes: it must never
 * read outside its input, and whatever it accepts must re-encode to the
 * same records (checked through the chain and count of a re-encoding).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/jute.h"
#include "zabfs/snapfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapfmt_reader r;
	struct snapfmt_record rec;
	struct jute_writer w;
	struct snapfmt_writer sw;
	int64_t zxid;
	int rc;
	if (snapfmt_reader_init(&r, data, size, &zxid) != 0)
		return 0;
	jute_writer_init(&w, 256);
	snapfmt_begin(&sw, &w, zxid);
	while ((rc = snapfmt_next(&r, &rec)) == SNAPFMT_RECORD) {
		switch (rec.type) {
		case SNAPFMT_ACL:
			snapfmt_put_acl(&sw, rec.u.acl.ref, rec.u.acl.raw);
			break;
		case SNAPFMT_NODE:
			snapfmt_put_node(&sw, &rec.u.node);
			break;
		case SNAPFMT_CHILDREN:
			snapfmt_put_children(&sw, rec.u.children.path,
					     rec.u.children.cversion,
					     rec.u.children.pzxid);
			break;
		case SNAPFMT_SESSIONS:
			snapfmt_put_sessions(&sw, rec.u.sessions);
			break;
		default:
			abort();
		}
	}
	if (rc == SNAPFMT_DONE) {
		/* an accepted file re-encodes to itself */
		snapfmt_end(&sw);
		if (!jute_writer_ok(&w) || w.len != size ||
		    memcmp(w.buf, data, size) != 0)
			abort();
	}
	jute_writer_free(&w);
	return 0;
}
