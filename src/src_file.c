/*
 * The file source: [jobs] job lines, [jobs] file (or standard input), a
 * [rename] directory's listing and its [rename] watch.  See jobsrc.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <poll.h>
#include <unistd.h>

#include "cfg.h"
#include "jobsrc.h"
#include "sqlsplit.h"
#include "log.h"
#include "util.h"

#define READ_CHUNK	(64u << 10)
/* How long a file reported by [rename] watch rests before it is a job. */
#define ARRIVAL_SETTLE	0.25

struct filesrc {
	struct jobsrc		 base;		/* first: the source's operations */
	const struct strlist	*inline_jobs;
	size_t			 next_inline;
	char			*path;		/* for messages */
	int			 fd;		/* -1 when there is no file, or it ended */
	bool			 own_fd;
	struct buf		 in;
	bool			 skipping;	/* discarding the rest of an overlong line */
	bool			 sql_lines;	/* SQL a line a job: -- comment lines are not jobs */
	bool			 split;		/* SQL split into statements, not lines */
	struct sqlsplit		 sc;
	bool			 eof;
	bool			 blocking;	/* standard input: read only when poll says so */
	bool			 readable;
	uint64_t		 seq;
	char			*line;		/* copy of the current inline job */

	/* [rename] watch: files arriving in the directory become jobs. */
	int			 ino_fd;	/* -1 when not watching */
	char			*watch_dir;
	char			*extbuf;	/* [rename] extensions, split in place */
	char			**ext;
	size_t			 next;
	struct buf		 arrived;	/* paths reported, one a line, not yet handed out */
	struct strset		 ignore;	/* our own renames' targets */
};

static void emit(struct filesrc *src, struct jobline *jl, char *s, size_t len, bool too_long);
static void file_close(struct filesrc *src);

static void
file_ignore(struct filesrc *src, const char *path)
{
	if (src->ino_fd >= 0)
		strset_add(&src->ignore, path);
}

/* Split [rename] extensions (space- or comma-separated) once, for the scan and the watch. */
static void
parse_extensions(struct filesrc *src, const char *list)
{
	char *save = NULL;

	src->extbuf = xstrdup(list);
	for (char *e = strtok_r(src->extbuf, " ,\t", &save); e != NULL; e = strtok_r(NULL, " ,\t", &save)) {
		src->ext = xrealloc(src->ext, (src->next + 1) * sizeof(*src->ext));
		src->ext[src->next++] = e;
	}
}

/* Whether a file name ends in one of the extensions (and is more than that). */
static bool
ext_wanted(const struct filesrc *src, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < src->next; i++) {
		size_t el = strlen(src->ext[i]);
		if (len > el && strcmp(name + len - el, src->ext[i]) == 0)
			return true;
	}
	return false;
}

/* Take what inotify has reported into the arrivals queue. */
static void
drain_events(struct filesrc *src)
{
	char evbuf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (src->ino_fd < 0)
		return;
	while ((n = read(src->ino_fd, evbuf, sizeof(evbuf))) > 0) {
		for (char *p = evbuf; p < evbuf + n; ) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				log_warnx("[rename] watch: too many arrivals at once, some were missed;"
				    " a restart picks them up");
				continue;
			}
			if (ev->len == 0 || (ev->mask & IN_ISDIR) || !ext_wanted(src, ev->name))
				continue;
			if (strchr(ev->name, '\n') == NULL)
				buf_printf(&src->arrived, "%.3f\t%s/%s\n", now_mono(), src->watch_dir, ev->name);
		}
	}
}

/*
 * Hand out the next arrival once it has settled: 1, or 0 when none is
 * due.  Waiting a moment gives a writer time to finish, and gives the
 * result of our own rename time to reach us, so that its event is known
 * for ours and dropped here.
 */
static int
next_arrival(struct filesrc *src, struct jobline *jl)
{
	for (;;) {
		char *head = buf_head(&src->arrived);
		char *nl = buf_pending(&src->arrived) > 0 ? memchr(head, '\n', buf_pending(&src->arrived)) : NULL;
		char *tab;

		if (nl == NULL)
			return 0;
		*nl = '\0';
		if (now_mono() - strtod(head, &tab) < ARRIVAL_SETTLE) {
			*nl = '\n';
			return 0;
		}
		buf_consume(&src->arrived, (size_t)(nl - head) + 1);
		if (strset_take(&src->ignore, tab + 1))
			continue;
		emit(src, jl, tab + 1, (size_t)(nl - tab - 1), false);
		jl->watched = true;
		return 1;
	}
}

/* A directory listing in progress: where it goes, and what it keeps. */
struct scan {
	const struct filesrc	*src;	/* its extensions */
	int			 out;
	struct buf		 lines;
	bool			 recursive;
	unsigned long		 found;
};

static int
scan_flush(struct scan *sc)
{
	if (write_all(sc->out, sc->lines.data, sc->lines.len) < 0)
		return -1;
	buf_reset(&sc->lines);
	return 0;
}

/*
 * List the regular files under dir whose names end in one of the
 * extensions, one path a line.  Symbolic links are not followed, nor
 * renamed.  A subdirectory that cannot be read is logged and passed over.
 */
static int
scan_dir(struct scan *sc, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		log_warn("[rename] directory: cannot read %s", dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		unsigned char type = de->d_type;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		char *path = xasprintf("%s/%s", dir, n);
		if (type == DT_UNKNOWN) {
			struct stat st;
			type = lstat(path, &st) < 0 ? DT_UNKNOWN : S_ISDIR(st.st_mode) ? DT_DIR :
			    S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
		}
		if (type == DT_DIR && sc->recursive) {
			scan_dir(sc, path);
		} else if (type == DT_REG && ext_wanted(sc->src, n)) {
			if (strchr(path, '\n') != NULL) {
				log_warnx("[rename] directory: passing over a file with a newline in its name in %s", dir);
			} else {
				buf_addstr(&sc->lines, path);
				buf_add(&sc->lines, "\n", 1);
				sc->found++;
			}
		}
		free(path);
		if (sc->lines.len >= READ_CHUNK && scan_flush(sc) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/*
 * Rename jobs without a jobs file: list the directory first, into an
 * unlinked temporary file that is then read like a jobs file.  Memory
 * stays bounded however many files there are, and the listing is a
 * snapshot: a file renamed during the run is never listed again under its
 * new name, so no file is renamed twice.
 */
static int
open_listing(struct filesrc *src, const struct cfg *cfg, char *err, size_t errlen)
{
	struct scan sc = { .src = src, .recursive = cfg->recursive };
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	errno = 0;
	if (stat(cfg->directory, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "[rename] directory: %s: %s", cfg->directory,
		    errno ? strerror(errno) : "not a directory");
		return -1;
	}
	parse_extensions(src, cfg->extensions);
	sc.out = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sc.out < 0) {
		snprintf(err, errlen, "cannot make a file for the directory listing: %s", strerror(errno));
		return -1;
	}
	int r = scan_dir(&sc, cfg->directory);
	if (r == 0)
		r = scan_flush(&sc);
	if (r < 0 || lseek(sc.out, 0, SEEK_SET) < 0) {
		snprintf(err, errlen, "writing the directory listing: %s", strerror(errno));
		close(sc.out);
		sc.out = -1;
	}
	log_info("%lu files to rename in %s", sc.found, cfg->directory);
	buf_free(&sc.lines);
	if (sc.out < 0)
		return -1;
	src->fd = sc.out;
	src->own_fd = true;
	src->path = xstrdup("the directory listing");
	return 0;
}

static struct filesrc *
file_open(const struct cfg *cfg, bool follow, char *err, size_t errlen)
{
	struct filesrc *src = xcalloc(1, sizeof(*src));

	src->inline_jobs = &cfg->job;
	if (cfg->type != NULL && strcmp(cfg->type, "sql") == 0 && cfg->sql_statement == NULL) {
		src->split = cfg->split != NULL && strcmp(cfg->split, "statement") == 0;
		src->sql_lines = !src->split;
		src->sc.mysql = cfg->driver != NULL && strcmp(cfg->driver, "mysql") == 0;
	}
	src->fd = -1;
	src->ino_fd = -1;
	if (cfg->file == NULL && cfg->job.n == 0 && cfg->directory != NULL &&
	    strcmp(cfg->type, "rename") == 0) {
		/* Watch before listing, so that nothing arriving meanwhile is missed. */
		if (follow && cfg->watch) {
			src->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
			if (src->ino_fd < 0 || inotify_add_watch(src->ino_fd, cfg->directory,
			    IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
				snprintf(err, errlen, "[rename] watch: %s: %s", cfg->directory, strerror(errno));
				file_close(src);
				return NULL;
			}
			src->watch_dir = xstrdup(cfg->directory);
		}
		if (open_listing(src, cfg, err, errlen) < 0) {
			file_close(src);
			return NULL;
		}
		return src;
	}
	if (cfg->file == NULL)
		return src;
	src->path = xstrdup(cfg->file);
	if (strcmp(cfg->file, "-") == 0) {
		src->fd = STDIN_FILENO;
		src->blocking = true;
		free(src->path);
		src->path = xstrdup("standard input");
	} else {
		struct stat st;
		int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
		/*
		 * A service reading a FIFO holds it open for writing too, so
		 * that it never sees end of file between writers.
		 */
		if (follow && stat(cfg->file, &st) == 0 && S_ISFIFO(st.st_mode))
			flags = O_RDWR | O_CLOEXEC | O_NONBLOCK;
		src->fd = open(cfg->file, flags);
		if (src->fd < 0) {
			snprintf(err, errlen, "[jobs] file: %s: %s", cfg->file, strerror(errno));
			file_close(src);
			return NULL;
		}
		src->own_fd = true;
	}
	return src;
}

static void
file_readable(struct filesrc *src)
{
	src->readable = true;
}

static int
file_fd(const struct filesrc *src)
{
	if (src->next_inline < src->inline_jobs->n)
		return -1;
	if (src->eof)
		return src->ino_fd;
	return src->fd;
}

static bool
is_job(const struct filesrc *src, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (src->sql_lines && len - i >= 2 && s[i] == '-' && s[i + 1] == '-')
		return false;	/* an SQL comment line */
	return i < len && s[i] != '#';
}

/* Read more of the file into the buffer: 1 read something, 0 would block, -1 end. */
static int
fill(struct filesrc *src)
{
	ssize_t n;

	/*
	 * Standard input may be a terminal shared with the shell that started
	 * us, so it is not made non-blocking under it: it is read once each
	 * time poll says it is readable.
	 */
	if (src->blocking && !src->readable)
		return 0;
	src->readable = false;
	buf_compact(&src->in);
	buf_reserve(&src->in, READ_CHUNK + 1);
	n = read(src->fd, src->in.data + src->in.len, src->in.cap - src->in.len - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		log_warn("reading jobs from %s", src->path);
		return -1;
	}
	if (n == 0)
		return -1;
	src->in.len += (size_t)n;
	src->in.data[src->in.len] = '\0';
	return 1;
}

/*
 * Hand out one line; jl->text points into the buffer until the next call.
 * A line longer than JOB_MAX_LEN is cut to its start and marked too long;
 * a NUL byte is marked too, since everything past it would be lost to
 * every consumer that reads the line as a C string.
 */
static void
emit(struct filesrc *src, struct jobline *jl, char *s, size_t len, bool too_long)
{
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len > JOB_MAX_LEN) {
		too_long = true;
		len = 200;
	}
	jl->has_nul = memchr(s, '\0', len) != NULL;
	s[len] = '\0';
	jl->seq = ++src->seq;
	jl->text = s;
	jl->len = len;
	jl->too_long = too_long;
	jl->watched = false;
}

/*
 * [jobs] split = statement: hand out the next statement of the script,
 * blanks and comment lines before it dropped.  A statement longer than
 * JOB_MAX_LEN is a failed job carrying its start; the rest of it is read
 * and dropped.  At the end, what is left is the last statement.
 */
static int
next_statement(struct filesrc *src, struct jobline *jl)
{
	bool at_eof = false;

	for (;;) {
		char *head = buf_head(&src->in);
		size_t avail = buf_pending(&src->in);
		size_t end = avail > 0 ? sqlsplit_scan(&src->sc, head, avail, at_eof) : 0;
		/* The statement without its ';', which is where emit ends the string. */
		size_t len = end > 0 ? end - 1 : 0;

		if (end == 0 && at_eof)
			end = len = avail;	/* the last statement needs no ';' */
		if (end > 0) {
			bool code = src->sc.code, skipped = src->skipping;
			buf_consume(&src->in, end);
			sqlsplit_reset(&src->sc);
			src->skipping = false;
			if (skipped || !code) {
				if (at_eof && buf_pending(&src->in) == 0)
					return src->eof = true, -1;
				continue;
			}
			char *s = sqlsplit_trim(head, &len, src->sc.mysql);
			emit(src, jl, s, len, false);
			return 1;
		}
		if (at_eof)
			return src->eof = true, -1;
		if (avail > JOB_MAX_LEN && !src->skipping) {
			/* A failed job with the start; what the scan has passed is dropped on the next call. */
			src->skipping = true;
			len = avail;
			emit(src, jl, sqlsplit_trim(head, &len, src->sc.mysql), 200, true);
			return 1;
		}
		if (src->skipping) {
			/* Keep what the scan has not passed; the scan goes on from there. */
			buf_consume(&src->in, src->sc.pos);
			src->sc.pos = 0;
		}
		int r = fill(src);
		if (r == 0)
			return 0;
		if (r < 0)
			at_eof = true;
	}
}

static int
file_next(struct filesrc *src, struct jobline *jl)
{
	while (src->next_inline < src->inline_jobs->n) {
		const char *s = src->inline_jobs->v[src->next_inline++];
		if (!is_job(src, s, strlen(s)))
			continue;
		free(src->line);
		src->line = xstrdup(s);
		emit(src, jl, src->line, strlen(s), false);
		return 1;
	}
	drain_events(src);
	if (src->eof && src->ino_fd >= 0)
		return next_arrival(src, jl);
	if (src->fd < 0 || src->eof)
		return -1;
	if (src->split)
		return next_statement(src, jl);
	for (;;) {
		char *head = buf_head(&src->in);
		size_t avail = buf_pending(&src->in);
		char *nl = avail > 0 ? memchr(head, '\n', avail) : NULL;

		if (nl != NULL) {
			size_t len = (size_t)(nl - head);
			buf_consume(&src->in, len + 1);
			if (src->skipping) {
				src->skipping = false;
				continue;
			}
			if (!is_job(src, head, len))
				continue;
			emit(src, jl, head, len, false);
			return 1;
		}
		if (avail > JOB_MAX_LEN && !src->skipping) {
			/*
			 * An overlong line becomes a failed job carrying its
			 * start; the rest of it is read and dropped.
			 */
			src->skipping = true;
			buf_consume(&src->in, avail);
			emit(src, jl, head, 200, true);
			return 1;
		}
		if (src->skipping)
			buf_reset(&src->in);
		int r = fill(src);
		if (r == 0)
			return 0;
		if (r < 0) {
			src->eof = true;
			if (src->ino_fd >= 0 && buf_pending(&src->in) == 0)
				return next_arrival(src, jl);
			/* A last line without a newline is still a job. */
			if (buf_pending(&src->in) > 0 && !src->skipping) {
				head = buf_head(&src->in);
				avail = buf_pending(&src->in);
				buf_consume(&src->in, avail);
				if (is_job(src, head, avail)) {
					emit(src, jl, head, avail, false);
					return 1;
				}
			}
			return -1;
		}
	}
}

static void
file_close(struct filesrc *src)
{
	if (src == NULL)
		return;
	if (src->own_fd && src->fd >= 0)
		close(src->fd);
	buf_free(&src->in);
	buf_free(&src->arrived);
	if (src->ino_fd >= 0)
		close(src->ino_fd);
	strset_free(&src->ignore);
	free(src->watch_dir);
	free(src->ext);
	free(src->extbuf);
	free(src->line);
	free(src->path);
	free(src);
}

/* The operations, on the base pointer. */
#define FS(s) ((struct filesrc *)(s))

static struct jobsrc *
fs_open(const struct cfg *cfg, bool follow, char *err, size_t errlen)
{
	struct filesrc *src = file_open(cfg, follow, err, errlen);

	return src != NULL ? &src->base : NULL;
}

static int  fs_next(struct jobsrc *s, struct jobline *jl) { return file_next(FS(s), jl); }
static int  fs_fd(const struct jobsrc *s, short *events) { *events = POLLIN; return file_fd(FS(s)); }
static void fs_ready(struct jobsrc *s, short revents) { (void)revents; file_readable(FS(s)); }
static void fs_ignore(struct jobsrc *s, const char *path) { file_ignore(FS(s), path); }
static void fs_close(struct jobsrc *s) { file_close(FS(s)); }

const struct jobsrc_ops jobsrc_file = {
	.name = "file",
	.open = fs_open,
	.next = fs_next,
	.fd = fs_fd,
	.ready = fs_ready,
	.ignore = fs_ignore,
	.close = fs_close,
};
