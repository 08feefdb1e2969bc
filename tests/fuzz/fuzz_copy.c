/*
 * Row output in COPY text: any value is written as one field (no tab,
 * newline or carriage return) that decodes back to the same bytes.
 */
#include "fuzz.h"

#include <string.h>

#include "db.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = { 0 }, back = { 0 };

	db_put_value(&out, (const char *)data, size);
	for (size_t i = 0; i < out.len; i++)
		FUZZ_ASSERT(out.data[i] != '\t' && out.data[i] != '\n' && out.data[i] != '\r');
	for (size_t i = 0; i < out.len; i++) {
		char c = out.data[i];
		if (c == '\\') {
			FUZZ_ASSERT(i + 1 < out.len);
			c = out.data[++i];
			c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
			FUZZ_ASSERT(strchr("\t\n\r\\", c) != NULL);
		}
		buf_add(&back, &c, 1);
	}
	FUZZ_ASSERT(back.len == size && (size == 0 || memcmp(back.data, data, size) == 0));
	buf_free(&out);
	buf_free(&back);
	return 0;
}
