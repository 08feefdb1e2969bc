/*
 * SQL statement splitting ([jobs] split = statement): a script cut into
 * reads at any points splits into the same statements as read whole, for
 * both dialects, and every statement lies within the script.
 */
#include "fuzz.h"

#include <string.h>

#include "sqlsplit.h"

/* The offsets where statements end, reading data in pieces of the given sizes. */
static size_t
split(const uint8_t *data, size_t size, bool mysql, size_t piece, size_t *ends, size_t max)
{
	struct sqlsplit s = { .mysql = mysql };
	size_t start = 0, have = 0, n = 0;

	for (;;) {
		bool eof = have == size;
		size_t end = sqlsplit_scan(&s, (const char *)data + start, have - start, eof);
		if (end > 0) {
			FUZZ_ASSERT(start + end <= have);
			if (n < max)
				ends[n++] = start + end;
			start += end;
			sqlsplit_reset(&s);
			continue;
		}
		if (eof)
			return n;
		have = have + piece > size ? size : have + piece;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t whole[256], cut[256];

	if (size == 0)
		return 0;
	for (int mysql = 0; mysql < 2; mysql++) {
		size_t n = split(data + 1, size - 1, mysql, size, whole, 256);
		size_t m = split(data + 1, size - 1, mysql, 1 + data[0] % 7, cut, 256);
		FUZZ_ASSERT(n == m && memcmp(whole, cut, n * sizeof(*whole)) == 0);
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(data[1 + whole[i] - 1] == ';');
	}
	return 0;
}
