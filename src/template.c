/* Template expansion and shell quoting: see template.h. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "template.h"

static int
shell_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 || strchr("_-./:@%+,", c) != NULL;
}

void
tpl_quote(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!shell_safe((unsigned char)s[i]))
			break;
	/*
	 * '=' is left out of the safe set: as a first word, a=b would be an
	 * assignment, not a command.  '~' and '#' are out for the same reason.
	 */
	if (len > 0 && i == len) {
		buf_add(out, s, len);
		return;
	}
	buf_add(out, "'", 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '\'')
			buf_add(out, "'\\''", 4);
		else
			buf_add(out, &s[i], 1);
	}
	buf_add(out, "'", 1);
}

void
tpl_quote_line(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			break;
	if (i == len) {
		tpl_quote(out, s, len);
		return;
	}
	buf_add(out, "$'", 2);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' || c == '\'') {
			buf_add(out, "\\", 1);
			buf_add(out, &s[i], 1);
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(out, "\\%03o", c);
		} else {
			buf_add(out, &s[i], 1);
		}
	}
	buf_add(out, "'", 1);
}

/* Read the body of a $'...' word after its opening quote: -1 when unterminated. */
static int
unquote_ansi(const char **p, struct buf *out)
{
	const char *s = *p;

	for (;;) {
		if (*s == '\0')
			return -1;
		if (*s == '\'') {
			*p = s + 1;
			return 0;
		}
		if (*s != '\\') {
			buf_add(out, s++, 1);
			continue;
		}
		s++;
		if (*s >= '0' && *s <= '7') {
			unsigned v = 0;
			for (int k = 0; k < 3 && *s >= '0' && *s <= '7'; k++)
				v = v * 8 + (unsigned)(*s++ - '0');
			char c = (char)v;
			buf_add(out, &c, 1);
			continue;
		}
		const char *from = "abefnrtv", *to = "\a\b\033\f\n\r\t\v";
		const char *k = *s != '\0' ? strchr(from, *s) : NULL;
		if (k != NULL)
			buf_add(out, &to[k - from], 1);
		else if (*s == '\\' || *s == '\'' || *s == '"' || *s == '?')
			buf_add(out, s, 1);
		else
			return -1;
		s++;
	}
}

/* The length of the placeholder at p ({} or {1}..{9}), or 0. */
static size_t
placeholder(const char *p)
{
	if (p[0] == '{' && p[1] == '}')
		return 2;
	if (p[0] == '{' && p[1] >= '1' && p[1] <= '9' && p[2] == '}')
		return 3;
	return 0;
}

/*
 * The shell's quoting state through a template, enough to tell where a
 * placeholder stands.  Fed one character at a time (placeholders aside).
 */
enum qstate { Q_BARE, Q_SINGLE, Q_DOUBLE };

struct lexer {
	enum qstate	st;
	bool		backquote;
	bool		escaped;	/* the last character was an unquoted backslash */
};

static void
lex(struct lexer *lx, char c)
{
	if (lx->escaped) {
		lx->escaped = false;
		return;
	}
	if (lx->st == Q_SINGLE) {
		if (c == '\'')
			lx->st = Q_BARE;
	} else if (c == '\\') {
		lx->escaped = true;
	} else if (c == '\'' && lx->st == Q_BARE) {
		lx->st = Q_SINGLE;
	} else if (c == '"') {
		lx->st = lx->st == Q_DOUBLE ? Q_BARE : Q_DOUBLE;
	} else if (c == '`') {
		lx->backquote = !lx->backquote;
	}
}

const char *
tpl_check(const char *tpl, char *msg, size_t msglen)
{
	struct lexer lx = { Q_BARE, false, false };

	for (const char *p = tpl; *p != '\0'; p++) {
		size_t n = lx.escaped ? 0 : placeholder(p);
		if (n == 0) {
			lex(&lx, *p);
			continue;
		}
		const char *where = lx.st == Q_SINGLE ? "inside single quotes" :
		    lx.backquote ? "inside backquotes" : p > tpl && p[-1] == '$' ? "right after a '$'" : NULL;
		if (where != NULL) {
			snprintf(msg, msglen, "%.*s is %s, where no quoting can keep the job line's text from "
			    "being read as shell syntax; put it outside quotes or in double quotes",
			    (int)n, p, where);
			return msg;
		}
		p += n - 1;
	}
	return NULL;
}

/* Append s for the inside of double quotes: ", \, $ and ` escaped. */
static void
quote_in_double(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (strchr("\"\\$`", s[i]) != NULL && s[i] != '\0')
			buf_add(out, "\\", 1);
		buf_add(out, &s[i], 1);
	}
}

/* Find field n (1-based) of line: whitespace-separated, like awk. */
static int
field(const char *line, size_t len, int n, const char **start, size_t *flen)
{
	size_t i = 0;

	for (int f = 1; ; f++) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			return -1;
		size_t b = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		if (f == n) {
			*start = line + b;
			*flen = i - b;
			return 0;
		}
	}
}

static void
expand(struct buf *out, const char *tpl, const char *line, size_t len, bool quote)
{
	struct lexer lx = { Q_BARE, false, false };
	const char *p = tpl;

	buf_reserve(out, strlen(tpl) + len + 16);
	while (*p != '\0') {
		size_t n = lx.escaped ? 0 : placeholder(p);
		if (n == 0) {
			lex(&lx, *p);
			buf_add(out, p++, 1);
			continue;
		}
		const char *v = line;
		size_t vlen = len;
		if (n == 3 && field(line, len, p[1] - '0', &v, &vlen) < 0)
			vlen = 0;
		/* tpl_check() has refused every other place. */
		if (!quote)
			buf_add(out, v, vlen);
		else if (lx.st == Q_DOUBLE)
			quote_in_double(out, v, vlen);
		else
			tpl_quote(out, v, vlen);
		p += n;
	}
	if (out->data == NULL)
		buf_add(out, "", 0);
}

void
tpl_expand(struct buf *out, const char *tpl, const char *line, size_t len)
{
	expand(out, tpl, line, len, true);
}

void
tpl_expand_raw(struct buf *out, const char *tpl, const char *line, size_t len)
{
	expand(out, tpl, line, len, false);
}

int
tpl_unquote(const char **p, struct buf *out)
{
	const char *s = *p;
	bool any = false;

	while (*s == ' ')
		s++;
	buf_reset(out);
	while (*s != '\0' && *s != ' ') {
		if (s[0] == '$' && s[1] == '\'') {
			s += 2;
			if (unquote_ansi(&s, out) < 0)
				return -1;
		} else if (*s == '\'') {
			const char *end = strchr(s + 1, '\'');
			if (end == NULL)
				return -1;
			buf_add(out, s + 1, (size_t)(end - s - 1));
			s = end + 1;
		} else if (s[0] == '\\' && s[1] == '\'') {
			buf_add(out, "'", 1);
			s += 2;
		} else {
			buf_add(out, s, 1);
			s++;
		}
		any = true;
	}
	if (!any)
		return -1;
	if (out->data == NULL)
		buf_add(out, "", 0);
	*p = s;
	return 0;
}
