/*
 * [output] results = DIR writes job N's stdout and stderr to DIR/N.out and
 * DIR/N.err; a value with braces is a path template instead ({} the job
 * line, {1}..{9} its fields, {#} its number), stderr going to the same path
 * with .err added.  A value put into a path has '/' made '_', and an empty
 * one, "." or ".." is "_", so that no job line can place a file outside
 * where the template says.
 *
 * Output goes to PATH.partial while the attempt runs and is renamed to
 * PATH when it ends; a retry starts its own .partial, and its rename
 * replaces the earlier attempt's files.  An attempt that did not end (its
 * worker died, or mpworker stopped it) leaves no file behind.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "results.h"
#include "util.h"

struct rfile {
	uint64_t	 seq;
	int		 fd[3];		/* [1] stdout, [2] stderr; -1 when not open */
	char		*path[3];	/* their final names; the open files are PATH.partial */
};

static const char *spec;	/* [output] results, or NULL */
static struct rfile *open_files;
static size_t nopen, capopen;

void
results_init(const char *results)
{
	spec = results;
}

bool
results_on(void)
{
	return spec != NULL;
}

/* A value made safe to stand in a path: one component, never . or .. */
static void
add_component(struct buf *b, const char *v, size_t len)
{
	if (len == 0 || (len == 1 && v[0] == '.') || (len == 2 && v[0] == '.' && v[1] == '.')) {
		buf_add(b, "_", 1);
		return;
	}
	for (size_t i = 0; i < len; i++)
		buf_add(b, v[i] == '/' ? "_" : &v[i], 1);
}

/* The final path of a job's output on stream 1 or 2. */
static char *
final_path(uint64_t seq, const char *text, int stream)
{
	struct buf b = { 0 };

	if (strchr(spec, '{') == NULL) {
		buf_printf(&b, "%s/%llu.%s", spec, (unsigned long long)seq, stream == 2 ? "err" : "out");
		return b.data;
	}
	for (const char *p = spec; *p; p++) {
		if (p[0] == '{' && p[1] == '}') {
			add_component(&b, text, strlen(text));
			p++;
		} else if (p[0] == '{' && p[1] == '#' && p[2] == '}') {
			buf_printf(&b, "%llu", (unsigned long long)seq);
			p += 2;
		} else if (p[0] == '{' && p[1] >= '1' && p[1] <= '9' && p[2] == '}') {
			/* The N-th whitespace-separated field, as [command] template splits. */
			const char *f = text;
			size_t flen = 0;
			for (int k = 0; k < p[1] - '0'; k++) {
				f += flen;
				f += strspn(f, " \t");
				flen = strcspn(f, " \t");
			}
			add_component(&b, f, flen);
			p += 2;
		} else {
			buf_add(&b, p, 1);
		}
	}
	if (stream == 2)
		buf_addstr(&b, ".err");
	return b.data;
}

/* mkdir -p of path's directory. */
static int
make_parent(const char *path)
{
	char *d = xstrdup(path);
	char *slash = strrchr(d, '/');
	int rc = 0;

	if (slash != NULL && slash != d) {
		*slash = '\0';
		for (char *p = d + 1; ; p++) {
			if (*p == '/' || *p == '\0') {
				char c = *p;
				*p = '\0';
				if (mkdir(d, 0755) < 0 && errno != EEXIST)
					rc = -1;
				*p = c;
				if (c == '\0')
					break;
			}
		}
	}
	free(d);
	return rc;
}

static struct rfile *
find(uint64_t seq, bool create)
{
	for (size_t i = 0; i < nopen; i++)
		if (open_files[i].seq == seq)
			return &open_files[i];
	if (!create)
		return NULL;
	if (nopen == capopen) {
		capopen = capopen ? capopen * 2 : 8;
		open_files = xrealloc(open_files, capopen * sizeof(*open_files));
	}
	open_files[nopen] = (struct rfile){ .seq = seq, .fd = { -1, -1, -1 } };
	return &open_files[nopen++];
}

/* Close a job's files, each one opened renamed to its final name or unlinked. */
static int
forget(struct rfile *r, bool rename_them)
{
	int err = 0;

	for (int s = 1; s <= 2; s++) {
		if (r->fd[s] >= 0) {
			char *tmp = xasprintf("%s.partial", r->path[s]);
			close(r->fd[s]);
			if (!rename_them) {
				unlink(tmp);
			} else if (rename(tmp, r->path[s]) < 0) {
				err = errno;
				log_warn("[output] results: %s", r->path[s]);
			}
			free(tmp);
		}
		free(r->path[s]);
	}
	*r = open_files[--nopen];
	return err;
}

/* Open (once per attempt) the temporary file of a job's stream. */
static int
temp_fd(struct rfile *r, const char *text, int stream)
{
	if (r->fd[stream] >= 0)
		return r->fd[stream];
	if (r->path[stream] == NULL)
		r->path[stream] = final_path(r->seq, text, stream);
	char *tmp = xasprintf("%s.partial", r->path[stream]);
	if (make_parent(tmp) == 0)
		r->fd[stream] = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (r->fd[stream] < 0)
		log_warn("[output] results: %s", tmp);
	free(tmp);
	return r->fd[stream];
}

int
results_output(uint64_t seq, const char *text, int stream, const char *p, size_t n)
{
	struct rfile *r = find(seq, true);
	int fd = temp_fd(r, text, stream == 2 ? 2 : 1);

	if (fd < 0)
		return errno ? errno : EIO;
	return write_all(fd, p, n) == 0 ? 0 : errno;
}

int
results_finish(uint64_t seq, const char *text)
{
	struct rfile *r = find(seq, true);
	int err = 0;

	/* A job that wrote nothing still gets its (empty) files: they say it ended. */
	for (int s = 1; s <= 2; s++)
		if (temp_fd(r, text, s) < 0)
			err = errno ? errno : EIO;
	int e = forget(r, true);
	return err != 0 ? err : e;
}

void
results_discard(uint64_t seq)
{
	struct rfile *r = find(seq, false);

	if (r != NULL)
		forget(r, false);
}

void
results_close(void)
{
	while (nopen > 0)
		forget(&open_files[0], false);
	free(open_files);
	open_files = NULL;
	capopen = 0;
}
