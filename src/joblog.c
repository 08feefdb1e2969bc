/* The joblog: see joblog.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "joblog.h"
#include "log.h"
#include "util.h"

static const char header[] =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

struct joblog {
	char		*path;
	int		 fd;
	struct buf	 pending;
	double		 last_sync;
	bool		 dirty;
	bool		 failed;
};

struct joblog *
joblog_open(const char *path, bool append, char *err, size_t errlen)
{
	struct joblog *jl;
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND | (append ? 0 : O_TRUNC), 0644);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "joblog %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	jl = xcalloc(1, sizeof(*jl));
	jl->path = xstrdup(path);
	jl->fd = fd;
	jl->last_sync = now_mono();
	if (st.st_size == 0)
		buf_addstr(&jl->pending, header);
	return jl;
}

void
joblog_add(struct joblog *jl, const struct joblog_entry *e)
{
	buf_printf(&jl->pending, "%llu\t:\t%.3f\t%10.3f\t%llu\t%llu\t%d\t%d\t",
	    (unsigned long long)e->seq, e->start, e->runtime,
	    (unsigned long long)e->send, (unsigned long long)e->receive,
	    e->exitval, e->signal);
	/* The command is one line; a tab or newline in it would break the columns. */
	for (size_t i = 0; i < e->command_len; i++) {
		char c = e->command[i];
		buf_add(&jl->pending, (c == '\n' || c == '\r') ? " " : &c, 1);
	}
	buf_add(&jl->pending, "\n", 1);
}

int
joblog_flush(struct joblog *jl)
{
	if (buf_pending(&jl->pending) > 0) {
		if (write_all(jl->fd, buf_head(&jl->pending), buf_pending(&jl->pending)) < 0) {
			if (!jl->failed)
				log_warn("writing joblog %s", jl->path);
			jl->failed = true;
			buf_reset(&jl->pending);
			return -1;
		}
		buf_reset(&jl->pending);
		jl->dirty = true;
	}
	if (jl->dirty && now_mono() - jl->last_sync >= 1.0) {
		fdatasync(jl->fd);
		jl->dirty = false;
		jl->last_sync = now_mono();
	}
	return 0;
}

void
joblog_close(struct joblog *jl)
{
	if (jl == NULL)
		return;
	joblog_flush(jl);
	fdatasync(jl->fd);
	close(jl->fd);
	buf_free(&jl->pending);
	free(jl->path);
	free(jl);
}

int
joblog_fd(const struct joblog *jl)
{
	return jl->fd;
}

struct seqset {
	uint64_t	*bits;
	size_t		 nwords;
};

static void
seqset_add(struct seqset *s, uint64_t seq)
{
	size_t w = (size_t)(seq / 64);

	if (w >= s->nwords) {
		size_t n = s->nwords ? s->nwords : 1024;
		while (n <= w)
			n *= 2;
		s->bits = xrealloc(s->bits, n * sizeof(*s->bits));
		memset(s->bits + s->nwords, 0, (n - s->nwords) * sizeof(*s->bits));
		s->nwords = n;
	}
	s->bits[w] |= (uint64_t)1 << (seq % 64);
}

bool
seqset_has(const struct seqset *s, uint64_t seq)
{
	size_t w = (size_t)(seq / 64);

	return s != NULL && w < s->nwords && (s->bits[w] >> (seq % 64)) & 1;
}

void
seqset_free(struct seqset *s)
{
	if (s == NULL)
		return;
	free(s->bits);
	free(s);
}

/*
 * Parse one joblog line's Seq, Exitval and Signal.  Returns 0, or -1 for a
 * line that is not a joblog entry (a torn last line after a crash).
 */
static int
parse_line(char *line, uint64_t *seq, long *exitval, long *sig)
{
	char *field[9];
	char *p = line;
	char *end;

	for (int i = 0; i < 8; i++) {
		field[i] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			return -1;
		*p++ = '\0';
	}
	errno = 0;
	*seq = strtoull(field[0], &end, 10);
	if (*end != '\0' || errno != 0 || *seq == 0)
		return -1;
	*exitval = strtol(field[6], &end, 10);
	if (*end != '\0')
		return -1;
	*sig = strtol(field[7], &end, 10);
	if (*end != '\0')
		return -1;
	return 0;
}

int
joblog_read_done(const char *path, bool include_failed, struct seqset **out,
    uint64_t *count, char *err, size_t errlen)
{
	struct seqset *set = xcalloc(1, sizeof(*set));
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;

	*out = set;
	*count = 0;
	if (f == NULL)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "joblog %s: %s", path, strerror(errno)), -1);
	while ((n = getline(&line, &cap, f)) > 0) {
		uint64_t seq;
		long exitval, sig;

		lineno++;
		if (line[n - 1] != '\n')
			break;		/* torn by a crash mid-write: not a record */
		line[n - 1] = '\0';
		if (lineno == 1) {
			if (strncmp(line, "Seq\tHost\t", 9) != 0) {
				snprintf(err, errlen, "%s is not a joblog (no Seq/Host header)", path);
				free(line);
				fclose(f);
				return -1;
			}
			continue;
		}
		if (parse_line(line, &seq, &exitval, &sig) < 0)
			continue;
		if ((exitval == 0 && sig == 0) || include_failed) {
			if (!seqset_has(set, seq))
				(*count)++;
			seqset_add(set, seq);
		}
	}
	free(line);
	fclose(f);
	return 0;
}
