/*
 * Splitting a stream of SQL into statements, as psql reads a script: a
 * ';' ends a statement unless it stands in a quoted string, a quoted
 * identifier, a dollar-quoted string or a comment.  The scan is
 * incremental, so a statement may arrive in any number of reads.
 */
#ifndef MPW_SQLSPLIT_H
#define MPW_SQLSPLIT_H

#include <stdbool.h>
#include <stddef.h>

struct sqlsplit {
	bool	 mysql;		/* backslash escapes in quotes, # comments, `identifiers` */
	int	 state;
	int	 depth;		/* nesting of block comments */
	char	 tag[64];	/* the open dollar quote's tag, "$tag$" */
	size_t	 taglen;
	size_t	 pos;		/* how far the text has been scanned */
	bool	 code;		/* something other than blanks and comments was seen */
};

/*
 * Scan text[0..len) on from where the last call stopped.  Returns the
 * offset just past the ';' that ends the statement, or 0 when the text
 * ends first (at_eof: the rest is the last statement).  *code says whether
 * the statement holds anything but blanks and comments.  After a
 * statement is taken, call sqlsplit_reset before scanning what follows.
 */
size_t sqlsplit_scan(struct sqlsplit *s, const char *text, size_t len, bool at_eof);
void   sqlsplit_reset(struct sqlsplit *s);

/* The statement without the blanks and comment lines before it, and blanks after. */
char *sqlsplit_trim(char *text, size_t *len, bool mysql);

#endif
