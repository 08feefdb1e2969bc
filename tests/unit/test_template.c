/* Unit tests of [command] template expansion and shell quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "template.h"

static char *
expand(const char *tpl, const char *line)
{
	struct buf b = { 0 };

	tpl_expand(&b, tpl, line, strlen(line));
	return b.data;
}

static char *
quote(const char *s)
{
	struct buf b = { 0 };

	tpl_quote(&b, s, strlen(s));
	return b.data;
}

#define EXPECT(got, want) do { char *g_ = (got); assert_string_equal(g_, want); free(g_); } while (0)

static void
quoting(void **state)
{
	(void)state;
	EXPECT(quote("plain_file-1.csv"), "plain_file-1.csv");
	EXPECT(quote("/data/in/a.dat"), "/data/in/a.dat");
	EXPECT(quote(""), "''");
	EXPECT(quote("two words"), "'two words'");
	EXPECT(quote("it's"), "'it'\\''s'");
	EXPECT(quote("$(rm -rf /)"), "'$(rm -rf /)'");
	EXPECT(quote("`id`;x|y&z>w<v*?[]"), "'`id`;x|y&z>w<v*?[]'");
	EXPECT(quote("a=b"), "'a=b'");
	EXPECT(quote("~root"), "'~root'");
	EXPECT(quote("#c"), "'#c'");
	EXPECT(quote("tab\there"), "'tab\there'");
}

static void
whole_line_and_fields(void **state)
{
	(void)state;
	EXPECT(expand("export {1} {2}", "users 2024"), "export users 2024");
	EXPECT(expand("run {}", "a b"), "run 'a b'");
	EXPECT(expand("{2}-{1}", "x  \t y"), "y-x");
	EXPECT(expand("echo {9}", "a b"), "echo ''");
	EXPECT(expand("echo {1}{1}", "ab"), "echo abab");
	EXPECT(expand("no placeholders", "ignored"), "no placeholders");
}

static void
braces_that_are_not_placeholders(void **state)
{
	(void)state;
	EXPECT(expand("awk '{print $1}' {1}", "f.txt"), "awk '{print $1}' f.txt");
	EXPECT(expand("echo {10} {0} {x} {", "a"), "echo {10} {0} {x} {");
	EXPECT(expand("{", "a"), "{");
}

static void
fields_cannot_inject(void **state)
{
	(void)state;
	EXPECT(expand("cat {1}", "';touch /tmp/pwned;'"), "cat ''\\'';touch'");
	EXPECT(expand("cat {}", "';touch /tmp/pwned;'"), "cat ''\\'';touch /tmp/pwned;'\\'''");
	EXPECT(expand("echo {}", "$HOME && reboot"), "echo '$HOME && reboot'");
}

/* Whatever tpl_quote() writes, tpl_unquote() reads back exactly. */
static void
unquote_round_trips(void **state)
{
	const char *words[] = { "plain", "two words", "it's", "''", "a\tb", "-> arrow", "$(x)", "\\", "/d/f.dat" };
	struct buf line = { 0 }, w = { 0 };
	const char *p;

	(void)state;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		buf_reset(&line);
		tpl_quote(&line, words[i], strlen(words[i]));
		buf_add(&line, " ", 1);
		tpl_quote(&line, "next", 4);
		p = line.data;
		assert_int_equal(tpl_unquote(&p, &w), 0);
		assert_string_equal(w.data, words[i]);
		assert_int_equal(tpl_unquote(&p, &w), 0);
		assert_string_equal(w.data, "next");
		assert_int_equal(*p, '\0');
		assert_int_equal(tpl_unquote(&p, &w), -1);
	}
	p = "'unterminated";
	assert_int_equal(tpl_unquote(&p, &w), -1);
	buf_free(&line);
	buf_free(&w);
}

/* Placeholders only where the shell reads their value as data. */
static void
placeholders_in_context(void **state)
{
	char msg[400];

	(void)state;
	assert_null(tpl_check("gzip {} && mv {}.gz out/{1}", msg, sizeof(msg)));
	assert_null(tpl_check("echo \"file: {}\" 'literal' {2}", msg, sizeof(msg)));
	assert_null(tpl_check("echo \\'{1}", msg, sizeof(msg)));
	assert_non_null(tpl_check("sh -c 'echo {1}'", msg, sizeof(msg)));
	assert_non_null(strstr(msg, "{1} is inside single quotes"));
	assert_non_null(tpl_check("echo `cat {}`", msg, sizeof(msg)));
	assert_non_null(strstr(msg, "inside backquotes"));
	assert_non_null(tpl_check("echo \"`cat {}`\"", msg, sizeof(msg)));
	assert_non_null(tpl_check("echo ${}", msg, sizeof(msg)));
	assert_non_null(strstr(msg, "right after a '$'"));
	/* In double quotes a value is escaped for them: data, never syntax. */
	EXPECT(expand("echo \"file: {}\"", "$(touch pwned)"), "echo \"file: \\$(touch pwned)\"");
	EXPECT(expand("echo \"{1}\" {1}", "a\"b`c\\d"), "echo \"a\\\"b\\`c\\\\d\" 'a\"b`c\\d'");
	EXPECT(expand("echo '{' \"{}\"", "x"), "echo '{' \"x\"");
}

/* tpl_quote_line() writes one printable line that gives back every byte. */
static void
quote_line_round_trips(void **state)
{
	const char *words[] = { "plain", "it's", "cr\rlf\n", "tab\there", "back\\slash'\r", "\x01\x7f\x1b[0m",
	    "\xc3\xa9t\xc3\xa9\r" };
	struct buf line = { 0 }, w = { 0 };
	char all[255];
	const char *p;

	(void)state;
	for (int c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	for (size_t i = 0; i <= sizeof(words) / sizeof(words[0]); i++) {
		const char *word = i < sizeof(words) / sizeof(words[0]) ? words[i] : all;
		size_t len = i < sizeof(words) / sizeof(words[0]) ? strlen(words[i]) : sizeof(all);
		buf_reset(&line);
		tpl_quote_line(&line, word, len);
		for (size_t k = 0; k < line.len; k++)
			assert_true((unsigned char)line.data[k] >= 0x20 && line.data[k] != 0x7f);
		buf_add(&line, " next", 5);
		p = line.data;
		assert_int_equal(tpl_unquote(&p, &w), 0);
		assert_int_equal(w.len, len);
		assert_memory_equal(w.data, word, len);
		assert_int_equal(tpl_unquote(&p, &w), 0);
		assert_string_equal(w.data, "next");
	}
	p = "$'unterminated";
	assert_int_equal(tpl_unquote(&p, &w), -1);
	p = "$'bad \\q escape'";
	assert_int_equal(tpl_unquote(&p, &w), -1);
	buf_free(&line);
	buf_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quoting),
		cmocka_unit_test(whole_line_and_fields),
		cmocka_unit_test(braces_that_are_not_placeholders),
		cmocka_unit_test(fields_cannot_inject),
		cmocka_unit_test(unquote_round_trips),
		cmocka_unit_test(quote_line_round_trips),
		cmocka_unit_test(placeholders_in_context),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
