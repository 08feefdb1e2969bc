/*
 * [command] template expansion.  "{}" is the whole job line, "{1}".."{9}"
 * its whitespace-separated fields; each is substituted shell-quoted, so a
 * field can never inject shell syntax.  Anything else, "{10}" and "{x}"
 * included, is copied as it is.
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
 * Read one word written by tpl_quote() (bare, or in single quotes with
 * '\'' for a quote) from *p, after any blanks, into out, and advance *p.
 * 0, or -1 when *p holds no such word.
 */
int  tpl_unquote(const char **p, struct buf *out);

/* Append the expansion of tpl for the job line to out. */
void tpl_expand(struct buf *out, const char *tpl, const char *line, size_t len);

#endif
