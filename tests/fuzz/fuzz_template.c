/*
 * Template expansion and quoting.  The input is a template, a NUL, and a
 * job line.  Checks: a template tpl_check() accepts expands without
 * error; every quoted word reads back exactly; tpl_quote_line() gives one
 * printable line.
 */
#include "fuzz.h"

#include <string.h>

#include "template.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *sep = memchr(data, '\0', size);
	char *tpl = strndup((const char *)data, sep ? (size_t)(sep - (const char *)data) : size);
	const char *line = sep ? sep + 1 : "";
	size_t len = sep ? size - (size_t)(sep - (const char *)data) - 1 : 0;
	struct buf out = { 0 }, w = { 0 };
	char msg[400];
	const char *p;

	if (tpl_check(tpl, msg, sizeof(msg)) == NULL) {
		tpl_expand(&out, tpl, line, len);
		FUZZ_ASSERT(out.data != NULL);
	}
	/* A word without NUL: tpl_quote and tpl_quote_line round-trip. */
	size_t wl = strnlen(line, len);
	buf_reset(&out);
	tpl_quote(&out, line, wl);
	buf_add(&out, " x", 2);
	p = out.data;
	FUZZ_ASSERT(tpl_unquote(&p, &w) == 0 && w.len == wl && memcmp(w.data, line, wl) == 0);
	buf_reset(&out);
	tpl_quote_line(&out, line, wl);
	for (size_t i = 0; i < out.len; i++)
		FUZZ_ASSERT((unsigned char)out.data[i] >= 0x20 && out.data[i] != 0x7f);
	p = out.data;
	FUZZ_ASSERT(tpl_unquote(&p, &w) == 0 && w.len == wl && memcmp(w.data, line, wl) == 0);
	/* And any text at all either reads as words or is refused. */
	p = tpl;
	while (*p != '\0' && tpl_unquote(&p, &w) == 0)
		;
	free(tpl);
	buf_free(&out);
	buf_free(&w);
	return 0;
}
