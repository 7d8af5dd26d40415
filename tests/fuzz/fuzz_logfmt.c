/*
 * fuzz_logfmt.c - libFuzzer target over the transaction log's decoders:
 * the input is read as a segment (header, then records until one does not
 * decode), and searched for records the way recovery does.  Every decoded
 * record is re-encoded and must give back the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zabfs/err.h"
#include "zabfs/jute.h"
#include "zabfs/logfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t first;
	struct logfmt_record rec;
	struct jute_writer w;
	size_t off = 0, found;
	if (logfmt_header_decode(data, size, &first) == 0)
		off = LOGFMT_HEADER_SIZE;
	jute_writer_init(&w, 0);
	while (off < size &&
	       logfmt_record_decode(data + off, size - off, &rec) == 0) {
		if (rec.size > size - off || rec.payload.len <= 0)
			abort();
		jute_writer_reset(&w);
		if (logfmt_record_encode(&w, rec.zxid, rec.payload.p,
					 (size_t)rec.payload.len) != 0 ||
		    w.len != rec.size || memcmp(w.buf, data + off, w.len) != 0)
			abort();
		off += rec.size;
	}
	jute_writer_free(&w);
	if (logfmt_find_record(data, size, 0, &found) == 0 &&
	    (found >= size ||
	     logfmt_record_decode(data + found, size - found, &rec) != 0))
		abort();
	char name[LOGFMT_NAME_LEN + 1];
	size_t n = size < LOGFMT_NAME_LEN ? size : LOGFMT_NAME_LEN;
	memcpy(name, data, n);
	name[n] = '\0';
	if (logfmt_name_parse(name, &first) == 0) {
		char again[LOGFMT_NAME_LEN + 1];
		logfmt_name_format(again, first);
		if (strcmp(again, name) != 0)
			abort();
	}
	return 0;
}
