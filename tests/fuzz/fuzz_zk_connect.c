/*
 * fuzz_zk_connect.c - zk_connect_request_decode on arbitrary first frames;
 * a success must re-encode to the same bytes (readOnly read back as 0/1).
 */
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"
#include "zabfs/zkproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zk_connect_request c;
	int rc = zk_connect_request_decode(data, size, ZK_DEFAULT_MAXBUFFER, &c);
	if (rc != 0 && rc != ZK_MALFORMED)
		abort();
	if (rc != 0)
		return 0;
	struct jute_writer w;
	jute_writer_init(&w, 0);
	zk_put_connect_request(&w, &c);
	/* The re-encoding is the prefix the decoder read (bytes after the
	 * readOnly byte are ignored, as ZooKeeper ignores them). */
	if (!jute_writer_ok(&w) || w.len > size)
		abort();
	size_t cmp = c.has_read_only ? w.len - 1 : w.len;
	if (memcmp(w.buf, data, cmp) != 0)
		abort();
	if (c.has_read_only && w.buf[w.len - 1] != (data[w.len - 1] != 0))
		abort();
	jute_writer_free(&w);
	return 0;
}
