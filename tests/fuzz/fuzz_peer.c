/*
 * fuzz_peer.c - peer_msg_decode on arbitrary bytes.  A decoded message
 * must re-encode to exactly the input (peer.h invariant 2), and must have
 * a name.
 */
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"
#include "zabfs/peer.h"

static void must(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer_msg m;
	int rc = peer_msg_decode(data, size, &m);
	must(rc == 0 || rc == ZK_MALFORMED);
	if (rc != 0)
		return 0;
	must(strcmp(peer_type_name(m.type), "?") != 0);
	struct jute_writer w;
	jute_writer_init(&w, 0);
	must(peer_msg_encode(&w, &m) == 0);
	must(w.len == size && memcmp(w.buf, data, size) == 0);
	jute_writer_free(&w);
	return 0;
}
