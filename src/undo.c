/*
 * --undo JOBLOG: put back the names a rename run changed.  The joblog
 * records each rename as "mv -n -- OLD NEW"; they are undone newest
 * first (so that a chain a -> b, then b -> c comes apart in the right
 * order), each with the same no-replace rename, and one that cannot be
 * undone is reported and passed over.
 *
 * The joblog is a file anyone with access could have changed, so it is
 * held to the forward rename's rules before anything is renamed: OLD and
 * NEW in the same directory, NEW a plain file name.  One record that breaks
 * them and the whole undo is refused.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "joblog.h"
#include "log.h"
#include "rename.h"
#include "template.h"
#include "util.h"

struct pair {
	char *from;	/* the original name */
	char *to;	/* the name it was given */
};

static const char prefix[] = "mv -n -- ";

/* Parse "mv -n -- OLD NEW"; 0 with both set, -1 for anything else. */
static int
parse_mv(const char *cmd, struct pair *pr)
{
	struct buf a = { 0 }, b = { 0 };
	const char *p = cmd;

	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	p += sizeof(prefix) - 1;
	if (tpl_unquote(&p, &a) < 0 || tpl_unquote(&p, &b) < 0 || *p != '\0' ||
	    memchr(a.data, '\0', a.len) != NULL || memchr(b.data, '\0', b.len) != NULL) {
		buf_free(&a);
		buf_free(&b);
		return -1;
	}
	pr->from = a.data;
	pr->to = b.data;
	return 0;
}

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

/* Why a recorded rename breaks the forward rename's rules, or NULL. */
static const char *
breaks_rules(const struct pair *pr)
{
	const char *fs = strrchr(pr->from, '/'), *ts = strrchr(pr->to, '/');
	const char *fb = fs ? fs + 1 : pr->from, *tb = ts ? ts + 1 : pr->to;
	const char *why;

	if ((fb - pr->from) != (tb - pr->to) || strncmp(pr->from, pr->to, (size_t)(fb - pr->from)) != 0)
		return "OLD and NEW are not in the same directory";
	if ((why = rename_unsafe(tb)) != NULL)
		return "NEW is not a plain file name";
	if (*fb == '\0' || strcmp(fb, ".") == 0 || strcmp(fb, "..") == 0)
		return "OLD is not a file name";
	return NULL;
}

static void
free_pairs(struct pair *pairs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pairs[i].from);
		free(pairs[i].to);
	}
	free(pairs);
}

/* Undo one rename: NEW back to OLD, in their directory.  0, or -1 with errno. */
static int
undo_one(const struct pair *pr)
{
	const char *slash = strrchr(pr->from, '/');
	size_t dirlen = slash == NULL ? 0 : slash == pr->from ? 1 : (size_t)(slash - pr->from);
	const char *tb = strrchr(pr->to, '/');
	int fd = rename_open_dir(pr->from, dirlen, NULL);

	if (fd < 0)
		return -1;
	int r = rename_noreplace_at(fd, tb ? tb + 1 : pr->to, slash ? slash + 1 : pr->from);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
rename_undo(const char *joblog)
{
	FILE *f = fopen(joblog, "re");
	struct pair *pairs = NULL;
	size_t n = 0, cap = 0, undone = 0, failed = 0;
	unsigned long lineno = 0, refused = 0;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;

	char err[512];

	if (f == NULL) {
		log_warn("--undo: %s", joblog);
		return 2;
	}
	/* Not while a run still writes it: its last renames would be missed. */
	if (joblog_lock(fileno(f), joblog, err, sizeof(err)) < 0) {
		log_errorx("--undo: %s", err);
		fclose(f);
		return 2;
	}
	while ((len = getline(&line, &linecap, f)) > 0) {
		char *field = line, *cmd;
		struct pair pr;
		int tabs = 0;
		const char *why;

		lineno++;
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
		if (strncmp(field, "0\t0\t", 4) != 0 || strncmp(cmd, prefix, sizeof(prefix) - 1) != 0)
			continue;
		if (parse_mv(cmd, &pr) < 0) {
			why = "it is not \"mv -n -- OLD NEW\" with two quoted names";
		} else if ((why = breaks_rules(&pr)) != NULL) {
			free(pr.from);
			free(pr.to);
		}
		if (why != NULL) {
			if (refused++ < 20)
				log_errorx("--undo: %s:%lu: refused: %s", joblog, lineno, why);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			pairs = xrealloc(pairs, cap * sizeof(*pairs));
		}
		pairs[n++] = pr;
	}
	free(line);
	fclose(f);
	if (refused > 0) {
		log_errorx("--undo: %lu records of %s break the rules of a rename; nothing was renamed",
		    refused, joblog);
		free_pairs(pairs, n);
		return 2;
	}
	if (n == 0) {
		log_warnx("--undo: %s records no renames", joblog);
		free(pairs);
		return 0;
	}
	for (size_t i = n; i-- > 0;) {
		if (undo_one(&pairs[i]) == 0) {
			undone++;
		} else {
			failed++;
			log_warnx("cannot rename %s back to %s: %s", pairs[i].to, pairs[i].from,
			    errno == EEXIST ? "that name is taken again; nothing was replaced" :
			    errno == ENOENT ? "it is not there any more" : strerror(errno));
		}
	}
	free_pairs(pairs, n);
	fprintf(stderr, "mpworker: undo: %zu renames undone, %zu could not be\n", undone, failed);
	return failed > 0 ? 1 : 0;
}
