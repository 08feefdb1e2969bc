/*
 * COPY text both ways.  Row output: any value is written as one field (no
 * tab, newline or carriage return) that decodes back to the same bytes,
 * by hand and by the [sql] statement's parser.  The parser, given the
 * input as a job line, finds one value per tab-separated field, each
 * within its bounds, or refuses the line.
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

	struct db_params p;
	char err[256];
	int rc = db_params_parse(&p, out.data ? out.data : "", out.len, err, sizeof(err));
	if (memchr(data, '\0', size) != NULL) {
		FUZZ_ASSERT(rc < 0);
	} else {
		FUZZ_ASSERT(rc == 0 && p.n == 1);
		FUZZ_ASSERT(p.v[0] != NULL || (out.len == 2 && memcmp(out.data, "\\N", 2) == 0));
		if (p.v[0] != NULL)
			FUZZ_ASSERT((size_t)p.len[0] == size && memcmp(p.v[0], data, size) == 0);
	}
	db_params_free(&p);

	size_t tabs = 0;
	for (size_t i = 0; i < size; i++)
		tabs += data[i] == '\t';
	if (db_params_parse(&p, (const char *)data, size, err, sizeof(err)) == 0) {
		FUZZ_ASSERT((size_t)p.n == tabs + 1);
		for (int i = 0; i < p.n; i++)
			FUZZ_ASSERT(p.v[i] == NULL || strlen(p.v[i]) == (size_t)p.len[i]);
	}
	db_params_free(&p);
	buf_free(&out);
	buf_free(&back);
	return 0;
}
