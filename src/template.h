/*
 * [command] template expansion.  "{}" is the whole job line, "{1}".."{9}"
 * its whitespace-separated fields; each is quoted for where it stands
 * (one single-quoted word outside quotes, escaped inside double quotes),
 * so the shell reads it as data.  Placeholders where no quoting can do
 * that (in single quotes, backquotes, after '$') are refused at load by
 * tpl_check().  Anything else, "{10}" and "{x}" included, is copied as it
 * is.
 */
#ifndef MPW_TEMPLATE_H
#define MPW_TEMPLATE_H

#include <stddef.h>

#include "util.h"

/*
 * Append s, quoted for a POSIX shell, to out: unchanged when it is made
 * only of characters the shell never treats specially, else in single
 * quotes with each ' written as '\''.  The empty string becomes ''.
 */
void tpl_quote(struct buf *out, const char *s, size_t len);

/*
 * Like tpl_quote(), but a string holding a control character (a byte
 * below 0x20, or 0x7f) is written in the $'...' form of bash and
 * POSIX.1-2024, with such bytes as octal escapes: the result is one line
 * of printable text that gives back every byte.  For records (the
 * joblog), not for sh -c, since dash does not read $'...'.
 */
void tpl_quote_line(struct buf *out, const char *s, size_t len);

/*
 * Read one word written by tpl_quote() or tpl_quote_line() (bare, in
 * single quotes with '\'' for a quote, or in $'...') from *p, after any
 * blanks, into out, and advance *p.  0, or -1 when *p holds no such word.
 */
int  tpl_unquote(const char **p, struct buf *out);

/*
 * Check that every placeholder of tpl stands where its shell-quoted value
 * is one plain word: not inside single or double quotes or backquotes
 * (where the quotes mpworker adds are taken literally and the job line's
 * own quotes and $(...) would count), nor right after a '$'.  NULL, or
 * a message that says which placeholder and why.
 */
const char *tpl_check(const char *tpl, char *msg, size_t msglen);

/* Append the expansion of tpl for the job line to out. */
void tpl_expand(struct buf *out, const char *tpl, const char *line, size_t len);
/* The same with each value as it is, unquoted: not for a shell. */
void tpl_expand_raw(struct buf *out, const char *tpl, const char *line, size_t len);

#endif
