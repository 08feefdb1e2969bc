/*
 * SQL statement splitting for [jobs] split = statement: the rules psql
 * follows (psqlscan.l), and MySQL's where they differ.
 */
#include "config.h"

#include <string.h>

#include "sqlsplit.h"

enum { S_CODE, S_SQUOTE, S_ESTRING, S_DQUOTE, S_BQUOTE, S_DOLLAR, S_LINE, S_BLOCK };

static bool
ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	    (unsigned char)c >= 0x80;
}

void
sqlsplit_reset(struct sqlsplit *s)
{
	bool mysql = s->mysql;

	memset(s, 0, sizeof(*s));
	s->mysql = mysql;
}

/*
 * At text[i] == '$': the length of a dollar quote's opening tag ($$ or
 * $name$), 0 when this is no tag, or -1 when the text ends before it can
 * tell.
 */
static long
dollar_tag(const char *text, size_t i, size_t len)
{
	size_t j = i + 1;

	if (i > 0 && ident_char(text[i - 1]))
		return 0;	/* part of an identifier, or a parameter such as $1 after a word */
	if (j < len && text[j] >= '0' && text[j] <= '9')
		return 0;	/* $1: a parameter */
	while (j < len && ident_char(text[j]))
		j++;
	if (j == len)
		return -1;
	return text[j] == '$' ? (long)(j - i + 1) : 0;
}

size_t
sqlsplit_scan(struct sqlsplit *s, const char *text, size_t len, bool at_eof)
{
	size_t i;

	for (i = s->pos; i < len; i++) {
		char c = text[i];
		/* Whether the next character is known, and what it is. */
		bool more = i + 1 < len;
		char n = more ? text[i + 1] : '\0';

		switch (s->state) {
		case S_CODE:
			if (c == '-' && (more || at_eof) && n == '-') {
				s->state = S_LINE;
				i++;
			} else if (c == '/' && (more || at_eof) && n == '*') {
				s->state = S_BLOCK;
				s->depth = 1;
				i++;
			} else if (s->mysql && c == '#') {
				s->state = S_LINE;
			} else if ((c == '-' || c == '/') && !more && !at_eof) {
				goto wait;	/* a comment may start here */
			} else if (c == '\'') {
				bool e = !s->mysql && i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e') &&
				    (i < 2 || !ident_char(text[i - 2]));
				s->state = e || s->mysql ? S_ESTRING : S_SQUOTE;
				s->code = true;
			} else if (c == '"') {
				s->state = s->mysql ? S_BQUOTE : S_DQUOTE;
				s->code = true;
				s->tag[0] = '"';
			} else if (c == '`' && s->mysql) {
				s->state = S_BQUOTE;
				s->code = true;
				s->tag[0] = '`';
			} else if (c == '$' && !s->mysql) {
				long t = dollar_tag(text, i, len);
				if (t < 0 && !at_eof)
					goto wait;
				s->code = true;
				if (t > 0 && (size_t)t <= sizeof(s->tag)) {
					memcpy(s->tag, text + i, (size_t)t);
					s->taglen = (size_t)t;
					s->state = S_DOLLAR;
					i += (size_t)t - 1;
				}
			} else if (c == ';') {
				s->pos = i + 1;
				return i + 1;
			} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
				s->code = true;
			}
			break;
		case S_SQUOTE:
		case S_DQUOTE:
			/* A doubled quote is the quote itself: closing and opening again does that. */
			if (c == (s->state == S_SQUOTE ? '\'' : '"'))
				s->state = S_CODE;
			break;
		case S_ESTRING:
		case S_BQUOTE:
			if (c == '\\' && (s->state == S_ESTRING || (s->mysql && s->tag[0] == '"'))) {
				if (!more && !at_eof)
					goto wait;
				i++;
			} else if (c == (s->state == S_ESTRING ? '\'' : s->tag[0])) {
				s->state = S_CODE;
			}
			break;
		case S_DOLLAR:
			if (c == '$') {
				if (len - i < s->taglen && !at_eof)
					goto wait;
				if (len - i >= s->taglen && memcmp(text + i, s->tag, s->taglen) == 0) {
					i += s->taglen - 1;
					s->state = S_CODE;
				}
			}
			break;
		case S_LINE:
			if (c == '\n')
				s->state = S_CODE;
			break;
		case S_BLOCK:
			if (!more && !at_eof && (c == '*' || c == '/'))
				goto wait;
			if (c == '*' && n == '/') {
				i++;
				if (--s->depth == 0)
					s->state = S_CODE;
			} else if (c == '/' && n == '*' && !s->mysql) {
				i++;
				s->depth++;
			}
			break;
		}
	}
wait:
	s->pos = i;
	return 0;
}

char *
sqlsplit_trim(char *text, size_t *len, bool mysql)
{
	char *p = text, *end = text + *len;

	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		/* A comment line: -- (or # for MySQL) to its end. */
		if ((end - p >= 2 && p[0] == '-' && p[1] == '-') || (mysql && p < end && *p == '#')) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl != NULL ? nl + 1 : end;
		} else {
			break;
		}
	}
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	*len = (size_t)(end - p);
	return p;
}
