/*
 * --undo JOBLOG: put back the names a rename run changed.  The joblog
 * records each rename as "mv -n -- OLD NEW"; they are undone newest
 * first (so that a chain a -> b, then b -> c comes apart in the right
 * order), each with the same no-replace rename, and one that cannot be
 * undone is reported and passed over.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rename.h"
#include "template.h"
#include "util.h"

struct pair {
	char *from;	/* the original name */
	char *to;	/* the name it was given */
};

static int parse_mv(const char *cmd, struct pair *pr);

int
rename_parse_logged(const char *cmd, char **from, char **to)
{
	struct pair pr;

	if (parse_mv(cmd, &pr) < 0)
		return -1;
	*from = pr.from;
	*to = pr.to;
	return 0;
}

/* Parse "mv -n -- OLD NEW"; 0 with both set, -1 for any other command. */
static int
parse_mv(const char *cmd, struct pair *pr)
{
	static const char prefix[] = "mv -n -- ";
	struct buf a = { 0 }, b = { 0 };
	const char *p = cmd;

	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	p += sizeof(prefix) - 1;
	if (tpl_unquote(&p, &a) < 0 || tpl_unquote(&p, &b) < 0 || *p != '\0') {
		buf_free(&a);
		buf_free(&b);
		return -1;
	}
	pr->from = a.data;
	pr->to = b.data;
	return 0;
}

int
rename_undo(const char *joblog)
{
	FILE *f = fopen(joblog, "re");
	struct pair *pairs = NULL;
	size_t n = 0, cap = 0, undone = 0, failed = 0;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;

	if (f == NULL) {
		log_warn("--undo: %s", joblog);
		return 2;
	}
	while ((len = getline(&line, &linecap, f)) > 0) {
		char *field = line, *cmd;
		struct pair pr;
		int tabs = 0;

		if (line[len - 1] != '\n')
			break;		/* torn last line */
		line[len - 1] = '\0';
		for (cmd = line; *cmd && tabs < 8; cmd++)
			if (*cmd == '\t')
				tabs++;
		if (tabs < 8)
			continue;
		/* Exitval and Signal: columns 7 and 8. */
		for (int i = 0; i < 6; i++)
			field = strchr(field, '\t') + 1;
		if (strncmp(field, "0\t0\t", 4) != 0 || parse_mv(cmd, &pr) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			pairs = xrealloc(pairs, cap * sizeof(*pairs));
		}
		pairs[n++] = pr;
	}
	free(line);
	fclose(f);
	if (n == 0) {
		log_warnx("--undo: %s records no renames", joblog);
		free(pairs);
		return 0;
	}
	for (size_t i = n; i-- > 0;) {
		if (rename_noreplace(pairs[i].to, pairs[i].from) == 0) {
			undone++;
		} else {
			failed++;
			log_warnx("cannot rename %s back to %s: %s", pairs[i].to, pairs[i].from,
			    errno == EEXIST ? "that name is taken again; nothing was replaced" :
			    errno == ENOENT ? "it is not there any more" : strerror(errno));
		}
		free(pairs[i].from);
		free(pairs[i].to);
	}
	free(pairs);
	fprintf(stderr, "mpworker: undo: %zu renames undone, %zu could not be\n", undone, failed);
	return failed > 0 ? 1 : 0;
}
