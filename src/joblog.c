/* The joblog: see joblog.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
	struct buf	 pending;	/* records not yet written, whole lines */
	double		 last_sync;
	bool		 dirty;
	int		 error;		/* errno of the first failed write or sync, or 0 */
};

/*
 * Cut a torn last line (a crash mid-write) off a joblog about to be
 * appended to, so that the next record starts a line of its own instead of
 * completing the torn one into a record nobody wrote.  0, or -1 with errno.
 */
static int
drop_torn_tail(int fd, off_t size, const char *path)
{
	char chunk[4096];
	off_t end = size;

	while (end > 0) {
		size_t n = end < (off_t)sizeof(chunk) ? (size_t)end : sizeof(chunk);
		ssize_t r = pread(fd, chunk, n, end - (off_t)n);
		if (r != (ssize_t)n)
			return r < 0 ? -1 : (errno = EIO, -1);
		if (end == size && chunk[n - 1] == '\n')
			return 0;
		char *nl = memrchr(chunk, '\n', n);
		if (nl != NULL) {
			end = end - (off_t)n + (nl - chunk) + 1;
			break;
		}
		end -= (off_t)n;
	}
	log_warnx("joblog %s: dropping a torn last line (%lld bytes), the trace of a crash",
	    path, (long long)(size - end));
	return ftruncate(fd, end);
}

int
joblog_lock(int fd, const char *path, char *err, size_t errlen)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		snprintf(err, errlen, "joblog %s is in use by another mpworker (a run, a --resume or an --undo):"
		    " wait for it to end, or give this run a joblog of its own", path);
	else
		snprintf(err, errlen, "joblog %s: cannot lock it: %s", path, strerror(errno));
	return -1;
}

/*
 * The run named in the header of a joblog that has one ("...Command\tRun=ID"):
 * 0 with run filled in, or -1.
 */
static int
read_run(int fd, char *run)
{
	char line[sizeof(header) + 8 + JOBLOG_RUN_LEN];
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	size_t hl = sizeof(header) - 2;	/* the header without its newline */

	if (n < (ssize_t)(hl + 5 + JOBLOG_RUN_LEN))
		return -1;
	line[n] = '\0';
	if (memcmp(line, header, hl) != 0 || memcmp(line + hl, "\tRun=", 5) != 0 ||
	    strspn(line + hl + 5, "0123456789abcdef") != JOBLOG_RUN_LEN || line[hl + 5 + JOBLOG_RUN_LEN] != '\n')
		return -1;
	memcpy(run, line + hl + 5, JOBLOG_RUN_LEN);
	run[JOBLOG_RUN_LEN] = '\0';
	return 0;
}

struct joblog *
joblog_open(const char *path, bool append, char *run, bool adopt, char *err, size_t errlen)
{
	struct joblog *jl;
	struct stat st;
	int fd;

	/*
	 * Lock before anything changes: a second run on the same joblog would
	 * run every job again (or, truncating, erase the first run's record).
	 */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_APPEND, 0644);
	if (fd >= 0 && joblog_lock(fd, path, err, errlen) < 0) {
		close(fd);
		return NULL;
	}
	if (fd < 0 || (!append && ftruncate(fd, 0) < 0) || fstat(fd, &st) < 0 ||
	    (st.st_size > 0 && drop_torn_tail(fd, st.st_size, path) < 0) || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "joblog %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (run != NULL && adopt && st.st_size > 0 && read_run(fd, run) < 0) {
		snprintf(err, errlen, "joblog %s names no run for [sql] ledger (it was started without one):"
		    " resume it without the ledger, or start it over", path);
		close(fd);
		return NULL;
	}
	jl = xcalloc(1, sizeof(*jl));
	jl->path = xstrdup(path);
	jl->fd = fd;
	jl->last_sync = now_mono();
	if (st.st_size == 0 && run != NULL)
		buf_printf(&jl->pending, "%.*s\tRun=%s\n", (int)sizeof(header) - 2, header, run);
	else if (st.st_size == 0)
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
	/*
	 * The command is the last column and one line: a newline, a carriage
	 * return or a NUL in it is written as \n, \r or \0.  (Renames never
	 * need this: their names are quoted for the shell, control bytes
	 * included, and come back exactly; see log_rename in job_rename.c.)
	 */
	size_t start = 0;
	for (size_t i = 0; i < e->command_len; i++) {
		const char *esc = e->command[i] == '\n' ? "\\n" : e->command[i] == '\r' ? "\\r" :
		    e->command[i] == '\0' ? "\\0" : NULL;
		if (esc == NULL)
			continue;
		buf_add(&jl->pending, e->command + start, i - start);
		buf_add(&jl->pending, esc, 2);
		start = i + 1;
	}
	buf_add(&jl->pending, e->command + start, e->command_len - start);
	buf_add(&jl->pending, "\n", 1);
}

/*
 * Write what is queued (whole lines).  When a write fails part way (the
 * disk filled up mid-line), the part of a line that was written is cut off
 * the file again and stays queued with the rest: the file only ever holds
 * whole records, and a later try (at close, once room was made) goes on
 * exactly where this one stopped.
 */
static int
write_pending(struct joblog *jl)
{
	size_t start = jl->pending.off;

	while (buf_pending(&jl->pending) > 0) {
		ssize_t w = write(jl->fd, buf_head(&jl->pending), buf_pending(&jl->pending));
		if (w < 0 && errno == EINTR)
			continue;
		if (w > 0) {
			jl->pending.off += (size_t)w;
			jl->dirty = true;
			continue;
		}
		int saved = w == 0 ? ENOSPC : errno;
		size_t partial = 0;
		while (jl->pending.off - partial > start && jl->pending.data[jl->pending.off - partial - 1] != '\n')
			partial++;
		off_t end = lseek(jl->fd, 0, SEEK_END);
		if (partial > 0 && end >= (off_t)partial && ftruncate(jl->fd, end - (off_t)partial) == 0)
			jl->pending.off -= partial;
		errno = saved;
		return -1;
	}
	buf_reset(&jl->pending);
	return 0;
}

static int
sync_now(struct joblog *jl)
{
	if (fdatasync(jl->fd) < 0 && errno != EINVAL)
		return -1;
	jl->dirty = false;
	jl->last_sync = now_mono();
	return 0;
}

int
joblog_flush(struct joblog *jl)
{
	int r = 0;

	if (jl->error != 0)
		return -1;
	if (write_pending(jl) < 0 || (jl->dirty && now_mono() - jl->last_sync >= 1.0 && sync_now(jl) < 0))
		r = -1;
	if (r < 0) {
		jl->error = errno;
		log_errorx("cannot write joblog %s: %s", jl->path, strerror(jl->error));
	}
	return r;
}

const char *
joblog_error(const struct joblog *jl)
{
	return jl->error != 0 ? strerror(jl->error) : NULL;
}

const char *
joblog_path(const struct joblog *jl)
{
	return jl->path;
}

uint64_t
joblog_close(struct joblog *jl)
{
	uint64_t lost = 0;

	if (jl == NULL)
		return 0;
	/* One last try: room may have been made since the write failed. */
	if (write_pending(jl) < 0 || sync_now(jl) < 0) {
		if (jl->error == 0)
			jl->error = errno;
		for (size_t i = jl->pending.off; i < jl->pending.len; i++)
			lost += jl->pending.data[i] == '\n';
	}
	close(jl->fd);
	buf_free(&jl->pending);
	free(jl->path);
	free(jl);
	return lost;
}

/*
 * The jobs --resume skips, as sorted, disjoint ranges of Seq.  A joblog's
 * finished jobs are mostly runs of consecutive numbers, so this is small;
 * and since each range comes from at least one line of the file, memory
 * never grows past the file's size, whatever numbers a tampered joblog
 * holds.
 */
struct range {
	uint64_t	lo, hi;		/* inclusive */
};

struct seqset {
	struct range	*r;
	size_t		 n;
};

bool
seqset_has(const struct seqset *s, uint64_t seq)
{
	size_t lo = 0, hi = s != NULL ? s->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (seq < s->r[mid].lo)
			hi = mid;
		else if (seq > s->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

void
seqset_free(struct seqset *s)
{
	if (s == NULL)
		return;
	free(s->r);
	free(s);
}

static int
cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort the ranges and merge those that overlap or touch. */
static void
seqset_normalize(struct seqset *s)
{
	size_t out = 0;

	if (s->n < 2)
		return;
	qsort(s->r, s->n, sizeof(*s->r), cmp_range);
	for (size_t i = 0; i < s->n; i++) {
		if (out > 0 && (s->r[out - 1].hi == UINT64_MAX || s->r[i].lo <= s->r[out - 1].hi + 1)) {
			if (s->r[i].hi > s->r[out - 1].hi)
				s->r[out - 1].hi = s->r[i].hi;
			continue;
		}
		s->r[out++] = s->r[i];
	}
	s->n = out;
}

/*
 * Add seq.  Jobs finish roughly in order, so most extend the last range;
 * the others are appended and merged in from time to time (when the count
 * has doubled), which keeps the set near its merged size as it grows.
 */
static void
seqset_add(struct seqset *s, uint64_t seq, size_t *merged_at, size_t *cap)
{
	if (s->n > 0 && seq >= s->r[s->n - 1].lo &&
	    (seq <= s->r[s->n - 1].hi || seq - 1 == s->r[s->n - 1].hi)) {
		if (seq > s->r[s->n - 1].hi)
			s->r[s->n - 1].hi = seq;
		return;
	}
	if (s->n >= 2 * *merged_at && s->n >= 1024) {
		seqset_normalize(s);
		*merged_at = s->n;
	}
	if (s->n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		s->r = xrealloc(s->r, *cap * sizeof(*s->r));
	}
	s->r[s->n++] = (struct range){ seq, seq };
}

static uint64_t
seqset_count(const struct seqset *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->r[i].hi - s->r[i].lo + 1;
	return n;
}

/* A whole unsigned decimal number, nothing else: 0, or -1. */
static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

static int
parse_int(const char *s, long *out)
{
	char *end;

	if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')))
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	return *end != '\0' || errno != 0 || *out < INT_MIN || *out > INT_MAX ? -1 : 0;
}

/*
 * Parse one joblog line's Seq, Exitval and Signal, and find its Command
 * column (the columns before it are cut apart).  Returns 0, or -1 with why
 * for a line that is not a joblog entry.
 */
static int
parse_line(char *line, uint64_t *seq, long *exitval, long *sig, const char **command, const char **why)
{
	char *field[9];
	char *p = line;

	for (int i = 0; i < 8; i++) {
		field[i] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			return *why = "fewer than 9 tab-separated columns", -1;
		*p++ = '\0';
	}
	*command = p;
	if (parse_u64(field[0], seq) < 0 || *seq == 0)
		return *why = "its Seq is not a job number (1, 2, ...)", -1;
	if (parse_int(field[6], exitval) < 0)
		return *why = "its Exitval is not a number", -1;
	if (parse_int(field[7], sig) < 0)
		return *why = "its Signal is not a number", -1;
	return 0;
}

int
joblog_read_done(const char *path, bool include_failed, struct seqset **out, struct seqset **ok,
    uint64_t *count, void (*each)(void *arg, const char *command), void *arg,
    char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct seqset *set = xcalloc(1, sizeof(*set));
	struct seqset *okset = ok != NULL ? xcalloc(1, sizeof(*okset)) : NULL;
	size_t merged_at = 0, setcap = 0, ok_merged_at = 0, okcap = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int rc = 0;

	*out = set;
	if (ok != NULL)
		*ok = okset;
	*count = 0;
	if (f == NULL)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "joblog %s: %s", path, strerror(errno)), -1);
	while ((n = getline(&line, &cap, f)) > 0) {
		uint64_t seq;
		long exitval, sig;
		const char *why, *cmd;

		lineno++;
		if (line[n - 1] != '\n')
			break;		/* torn by a crash mid-write: not a record */
		line[n - 1] = '\0';
		if (lineno == 1) {
			if (strncmp(line, "Seq\tHost\t", 9) != 0) {
				snprintf(err, errlen, "%s is not a joblog (no Seq/Host header)", path);
				rc = -1;
				break;
			}
			continue;
		}
		if (memchr(line, '\0', (size_t)n - 1) != NULL) {
			snprintf(err, errlen, "%s:%lu: not a joblog record: it holds a NUL byte", path, lineno);
			rc = -1;
			break;
		}
		if (parse_line(line, &seq, &exitval, &sig, &cmd, &why) < 0) {
			snprintf(err, errlen, "%s:%lu: not a joblog record: %s; "
			    "mend or remove the line, or run without --resume", path, lineno, why);
			rc = -1;
			break;
		}
		if (okset != NULL && exitval == 0 && sig == 0)
			seqset_add(okset, seq, &ok_merged_at, &okcap);
		if ((exitval == 0 && sig == 0) || include_failed) {
			seqset_add(set, seq, &merged_at, &setcap);
			if (each != NULL)
				each(arg, cmd);
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "joblog %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	seqset_normalize(set);
	if (okset != NULL)
		seqset_normalize(okset);
	*count = seqset_count(set);
	return rc;
}
