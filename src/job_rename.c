/*
 * Rename jobs: each job is a file.  The worker looks the file's name up
 * with [rename] lookup, prepared once on its own connection, and renames
 * the file to the name the first column of the first row gives, in the
 * same directory.
 *
 * Safety comes first: a new name must be a plain file name, so a rename
 * can never move a file out of its directory; a rename never replaces a
 * file (renameat2 with RENAME_NOREPLACE, or link and unlink where the
 * file system lacks it, which refuses to replace as well); and a file
 * that is gone by the time its turn comes is a failed job, not an error
 * of the run.
 *
 * A rename is logged as the command that did it, "mv -n -- OLD NEW",
 * shell-quoted, so the joblog can be read by people and by --undo.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "job.h"
#include "rename.h"
#include "template.h"
#include "util.h"

/* The most files a worker holds, and looks up in one pipeline. */
#define RENAME_GROUP_MAX	128

static int
rename_check(const struct cfg *cfg, int *line, char *msg, size_t msglen)
{
	if (cfg->lookup == NULL) {
		*line = cfg_line(cfg, "jobs", "type");
		snprintf(msg, msglen, "[rename] lookup: rename jobs need a lookup statement");
		return -1;
	}
	if (cfg->file == NULL && cfg->job.n == 0 && cfg->extensions == NULL) {
		*line = cfg_line(cfg, "rename", "directory");
		snprintf(msg, msglen, "[rename] extensions: scanning a directory needs the extensions to rename");
		return -1;
	}
	return 0;
}

/* Prepare the lookup once for this worker's connection. */
void
rename_abspath(struct buf *out, const char *path)
{
	static char cwd[PATH_MAX];

	if (path[0] != '/') {
		if (cwd[0] == '\0' && getcwd(cwd, sizeof(cwd)) == NULL)
			cwd[0] = '\0';
		while (path[0] == '.' && path[1] == '/')
			for (path += 2; *path == '/'; path++)
				;
		if (cwd[0] != '\0') {
			buf_addstr(out, cwd);
			if (strcmp(cwd, "/") != 0)
				buf_add(out, "/", 1);
		}
	}
	buf_addstr(out, path);
}

static int
prepare(struct job_ctx *ctx, struct db_err *e)
{
	return ctx->drv->prepare(ctx->db, ctx->cfg->lookup, e);
}

static int
rename_init(struct job_ctx *ctx, char *err, size_t errlen)
{
	struct db_err e = { 0 };

	if (ctx->drv->prepare == NULL) {
		snprintf(err, errlen, "rename jobs need a database driver");
		return -1;
	}
	if (prepare(ctx, &e) < 0) {
		snprintf(err, errlen, "cannot prepare [rename] lookup: %s", e.msg);
		return -1;
	}
	return 0;
}

/*
 * One file's rename: what the job gave (path, seq, ...), where its
 * outcome goes (res, out, detail, target), and the state between the steps
 * before the lookup, the lookup, and the steps after it.  Each job of a
 * group gets one (a worker runs rename jobs as groups, of one file where
 * the driver cannot pipeline lookups).
 */
struct ren {
	struct job_ctx		*ctx;
	const char		*path;
	bool			 watched, has_intent;
	uint64_t		 seq, intent_dev, intent_ino;
	struct job_result	*res;
	struct buf		*out, *detail, *target;

	int			 dirfd;
	const char		*base;
	struct stat		 st;
	enum { R_DONE, R_LOOKUP, R_RETRY } step;	/* what ren_finish() has to do */
	int			 found;		/* the lookup: 1 newname, 0 none, -1 failed */
	char			*newname;
};

/* The reason a lookup failed, in the job's result. */
static void
lookup_failed(struct ren *r, const struct db_err *e)
{
	r->found = -1;
	snprintf(r->res->reason, sizeof(r->res->reason), "lookup failed: %s%s%s%s",
	    e->msg, e->code[0] ? " (" : "", e->code, e->code[0] ? ")" : "");
}

/*
 * Look the file's name up, reconnecting (and preparing again) when the
 * connection is lost.  Sets r->found and r->newname.
 */
static void
lookup(struct ren *r)
{
	struct job_ctx *ctx = r->ctx;
	struct db_err e;

	for (;;) {
		memset(&e, 0, sizeof(e));
		if (ctx->db == NULL) {
			r->found = -1;
			snprintf(r->res->reason, sizeof(r->res->reason), "no database connection");
			return;
		}
		int found = ctx->drv->lookup(ctx->db, r->base, &r->newname, &e);
		if (found >= 0) {
			r->found = found;
			return;
		}
		if (!e.lost) {
			lookup_failed(r, &e);
			return;
		}
		if (job_db_reconnect(ctx, &e) < 0 || prepare(ctx, &e) < 0) {
			r->found = -1;
			snprintf(r->res->reason, sizeof(r->res->reason), "connection lost: %s", e.msg);
			ctx->terminated = true;
			return;
		}
	}
}

const char *
rename_unsafe(const char *name)
{
	if (name[0] == '\0')
		return "it is empty";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "it is . or ..";
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p == '/')
			return "it contains '/'";
		if (*p < 0x20 || *p == 0x7f)
			return "it contains a control character";
	}
	return NULL;
}

int
rename_noreplace_at(int dirfd, const char *from, const char *to)
{
	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No RENAME_NOREPLACE here: a hard link refuses to replace too. */
	if (linkat(dirfd, from, dirfd, to, 0) < 0)
		return -1;
	if (unlinkat(dirfd, from, 0) < 0) {
		int saved = errno;
		unlinkat(dirfd, to, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

int
rename_open_dir(const char *path, size_t len, const char *root)
{
	char *dir = len == 0 ? xstrdup(".") : xstrndup(path, len);
	size_t rl = root != NULL ? strlen(root) : 0;
	int fd;

	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (root == NULL || strncmp(dir, root, rl) != 0 || (dir[rl] != '\0' && dir[rl] != '/')) {
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		free(dir);
		return fd;
	}
	/* Below the root, no component may be a symbolic link. */
	char *root_dir = xstrndup(dir, rl);
	fd = open(root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(root_dir);
	char *save = NULL;
	for (char *c = strtok_r(dir + rl, "/", &save); fd >= 0 && c != NULL; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int saved = errno;
		close(fd);
		fd = next;
		errno = saved;
	}
	free(dir);
	return fd;
}

static void
fail(struct ren *r, const char *fmt, const char *a, const char *b)
{
	r->res->exitval = 1;
	snprintf(r->res->reason, sizeof(r->res->reason), fmt, a, b);
}

/*
 * What the joblog records, and --undo reads: the rename as a command, with
 * both paths made absolute so that --undo and --resume work from any
 * directory; and for the supervisor, the new path as it is.
 */
static void
log_rename(struct ren *r, const char *to)
{
	struct buf abs = { 0 };

	buf_reset(r->target);
	buf_addstr(r->target, to);
	buf_reset(r->detail);
	buf_addstr(r->detail, "mv -n -- ");
	rename_abspath(&abs, r->path);
	tpl_quote_line(r->detail, abs.data, abs.len);
	buf_add(r->detail, " ", 1);
	buf_reset(&abs);
	rename_abspath(&abs, to);
	tpl_quote_line(r->detail, abs.data, abs.len);
	buf_free(&abs);
}

/* The path of name in the directory of path. */
static void
sibling(struct buf *out, const char *path, const char *base, const char *name)
{
	buf_reset(out);
	buf_add(out, path, (size_t)(base - path));
	buf_addstr(out, name);
}

/* Whether rename jobs come from scanning [rename] directory (or watching it). */
static bool
scanning(const struct cfg *cfg)
{
	return cfg->file == NULL && cfg->job.n == 0 && cfg->directory != NULL;
}

/*
 * The steps before the lookup.  Every step works relative to the directory
 * that holds the file, opened once: a directory on the path swapped for a
 * symbolic link after the listing cannot send the rename elsewhere (below
 * a scanned directory no component may be a link), and the file checked is
 * the file renamed.  Leaves r->step R_LOOKUP when the name is to be looked
 * up, R_RETRY when a gone file's earlier attempt may have renamed it, or
 * R_DONE with the outcome set.
 */
static void
ren_start(struct ren *r)
{
	const char *slash = strrchr(r->path, '/');

	r->base = slash ? slash + 1 : r->path;
	r->step = R_DONE;
	r->dirfd = rename_open_dir(r->path, slash == NULL ? 0 : slash == r->path ? 1 : (size_t)(slash - r->path),
	    scanning(r->ctx->cfg) ? r->ctx->cfg->directory : NULL);
	if (r->dirfd < 0) {
		int e = errno;
		if (e == ENOENT && r->watched)
			r->res->flags |= JR_SKIPPED;
		else
			fail(r, "%s: cannot open its directory: %s", r->path,
			    e == ELOOP || e == ENOTDIR ? "a directory on its path is now a symbolic link or no directory" :
			    strerror(e));
		return;
	}
	if (fstatat(r->dirfd, r->base, &r->st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		/*
		 * A watched arrival that is gone was handled already (it
		 * arrived during the first listing) or moved on by whoever
		 * dropped it: nothing to do.
		 */
		if (e == ENOENT && r->watched)
			r->res->flags |= JR_SKIPPED;
		else if (e == ENOENT && r->has_intent)
			r->step = R_RETRY;
		else
			fail(r, "%s: %s", r->path, e == ENOENT ? "no such file (it vanished?)" : strerror(e));
		return;
	}
	if (!S_ISREG(r->st.st_mode)) {
		/* The scan passes over links and the like; an arrival too. */
		if (r->watched)
			r->res->flags |= JR_SKIPPED;
		else
			fail(r, "%s: not a regular file%s; not renamed", r->path,
			    S_ISLNK(r->st.st_mode) ? " (a symbolic link)" : S_ISDIR(r->st.st_mode) ? " (a directory)" : "");
		return;
	}
	r->step = R_LOOKUP;
}

/*
 * A retry whose file is gone: if the worker that held the job died right
 * after renaming it, the file is there under its new name.  It counts as
 * done only when that is the very file the earlier attempt said it was
 * renaming (the same inode), never an unrelated file that has the name.
 * Then that attempt did the work: record it as this one's, so that --undo
 * covers it.
 */
static void
ren_retried(struct ren *r)
{
	struct stat st;

	if (r->found == 1 && rename_unsafe(r->newname) == NULL &&
	    fstatat(r->dirfd, r->newname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (uint64_t)st.st_dev == r->intent_dev && (uint64_t)st.st_ino == r->intent_ino) {
		struct buf target = { 0 };
		sibling(&target, r->path, r->base, r->newname);
		log_rename(r, target.data);
		buf_free(&target);
		r->res->reason[0] = '\0';
		return;
	}
	fail(r, "%s: %s", r->path, "no such file (it vanished?)");
}

/* The steps after the lookup: check the new name, and rename (or plan it). */
static void
ren_finish(struct ren *r)
{
	struct job_ctx *ctx = r->ctx;
	struct buf target = { 0 };
	const char *why;

	if (r->step == R_RETRY) {
		ren_retried(r);
	} else if (r->step != R_LOOKUP) {
		/* Settled before the lookup. */
	} else if (r->found < 0) {
		r->res->exitval = 1;
	} else if (r->found == 0) {
		if (strcmp(ctx->cfg->on_missing, "fail") == 0) {
			fail(r, "%s: no mapping%s", r->path, "");
		} else {
			r->res->flags |= JR_SKIPPED;
			if (ctx->dry_run)
				buf_printf(r->out, "%s (no mapping: skipped)\n", r->path);
		}
	} else if ((why = rename_unsafe(r->newname)) != NULL) {
		fail(r, "unsafe new name, %s: refused to rename %s", why, r->path);
		if (ctx->dry_run)
			buf_printf(r->out, "%s -> (unsafe new name: %s)\n", r->path, why);
	} else {
		sibling(&target, r->path, r->base, r->newname);
		if (ctx->dry_run) {
			struct stat t;
			/* A foreseen conflict fails, as the rename would. */
			if (fstatat(r->dirfd, r->newname, &t, AT_SYMLINK_NOFOLLOW) == 0 && strcmp(r->newname, r->base) != 0)
				fail(r, "%s%s", "conflict: the target exists", "");
			/*
			 * The parent prints the plan, old -> new, once it has seen
			 * whether another file is planned onto the same name.
			 */
			log_rename(r, target.data);
		} else if (strcmp(r->newname, r->base) == 0) {
			/* Already so named: nothing to do, and nothing to undo. */
		} else {
			ctx->intent(ctx, r->seq, (uint64_t)r->st.st_dev, (uint64_t)r->st.st_ino);
			if (rename_noreplace_at(r->dirfd, r->base, r->newname) < 0) {
				int e = errno;
				r->res->exitval = 1;
				snprintf(r->res->reason, sizeof(r->res->reason), "%s -> %s: %s", r->path, target.data,
				    e == EEXIST ? "the target exists; nothing was replaced" :
				    e == ENOENT ? "no such file (it vanished?)" : strerror(e));
			} else {
				log_rename(r, target.data);
			}
		}
	}
	/*
	 * Whatever did not rename is logged as its quoted path: one line
	 * whatever bytes the name holds, and never mistaken by --undo for
	 * a rename, even when a file is named like one.
	 */
	if (r->detail->len == 0)
		tpl_quote_line(r->detail, r->path, strlen(r->path));
	free(r->newname);
	r->newname = NULL;
	buf_free(&target);
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
}

/*
 * The files a worker holds, their names looked up in one round trip where
 * the driver pipelines (lookup_many), then each checked and renamed in
 * turn.  Lookups the pipeline did not settle (the connection went) are
 * done one by one, reconnecting.
 */
static void
rename_run_group(struct job_ctx *ctx, struct job_item *items, size_t n)
{
	struct ren *r = xcalloc(n, sizeof(*r));
	struct db_lookup *l = xcalloc(n, sizeof(*l));
	size_t *which = xcalloc(n, sizeof(*which));
	size_t nl = 0;
	double t0 = now_mono(), start = now_wall();

	for (size_t i = 0; i < n; i++) {
		r[i] = (struct ren){
			.ctx = ctx, .path = items[i].text, .seq = items[i].seq,
			.watched = items[i].watched, .has_intent = items[i].has_intent,
			.intent_dev = items[i].intent_dev, .intent_ino = items[i].intent_ino,
			.res = &items[i].res, .out = &items[i].out, .detail = &items[i].detail,
			.target = &items[i].target,
		};
		items[i].res.start = start;
		ren_start(&r[i]);
		if (r[i].step != R_DONE) {
			l[nl].param = r[i].base;
			which[nl++] = i;
		}
	}
	int rc = -1;
	for (size_t k = 0; k < nl; k++)
		l[k].status = 2;
	if (nl >= 2 && ctx->db != NULL) {
		struct db_err e = { 0 };
		rc = ctx->drv->lookup_many(ctx->db, l, nl, &e);
		if (rc < 0 && job_db_reconnect(ctx, &e) == 0)
			prepare(ctx, &e);
	}
	double prev = t0;
	for (size_t k = 0; k < nl; k++) {
		struct ren *ri = &r[which[k]];
		if (ctx->terminated) {
			/* The connection is gone for good: not an attempt, the job is still to do. */
			ri->res->flags |= JR_ABORTED;
			ri->step = R_DONE;
			continue;
		}
		if (nl < 2 || l[k].status == 2) {
			/* Not settled by a pipeline: alone. */
			double a = now_mono();
			lookup(ri);
			ri->res->runtime = now_mono() - a;
			continue;
		}
		ri->found = l[k].status;
		ri->newname = l[k].value;
		if (l[k].status < 0)
			lookup_failed(ri, &l[k].err);
		ri->res->runtime = l[k].done_at - prev;
		prev = l[k].done_at;
	}
	/* The lookups' round trip, as a pipeline of SQL jobs reports it. */
	if (rc == 0 && nl >= 2 && l[0].status != 2 && l[nl - 1].status != 2) {
		double pace = (l[nl - 1].done_at - l[0].done_at) / (double)(nl - 1);
		double wait = l[0].done_at - t0 - pace;
		r[which[0]].res->latency = wait > 0 ? wait : 0;
	}
	for (size_t i = 0; i < n; i++)
		ren_finish(&r[i]);
	free(which);
	free(l);
	free(r);
}

/* Groups only where the driver pipelines lookups; else one file at a time. */
static size_t
rename_group_max(const struct job_ctx *ctx)
{
	return ctx->drv != NULL && ctx->drv->lookup_many != NULL ? RENAME_GROUP_MAX : 1;
}

/*
 * A rename's joblog record names the file by both its names: a resumed
 * run passes over either, so that a file renamed before is neither
 * renamed again nor looked up under its new name.  A file recorded
 * otherwise (no mapping, or failed) is recorded by its path.
 */
static void
add_abspath(struct strset *done, const char *path)
{
	struct buf abs = { 0 };

	rename_abspath(&abs, path);
	strset_add(done, abs.data);
	buf_free(&abs);
}

static void
rename_resume_names(const char *command, struct strset *done)
{
	char *from, *to;

	if (rename_parse_logged(command, &from, &to) == 0) {
		add_abspath(done, from);
		add_abspath(done, to);
		free(from);
		free(to);
	} else {
		add_abspath(done, command);
	}
}

/* Paths are compared absolute: a record may be, a job line may not. */
static bool
rename_resume_done(const struct strset *done, const char *text)
{
	struct buf abs = { 0 };
	bool found;

	rename_abspath(&abs, text);
	found = strset_has(done, abs.data);
	buf_free(&abs);
	return found;
}

static int
rename_window_max(const struct cfg *cfg, bool *pipelines)
{
	(void)cfg;
	*pipelines = true;
	return RENAME_GROUP_MAX;
}

const struct job_kind job_rename = {
	.name = "rename",
	.needs_db = true,
	.check = rename_check,
	.init = rename_init,
	.group_max = rename_group_max,
	.run_group = rename_run_group,
	.window_max = rename_window_max,
	.resume_names = rename_resume_names,
	.resume_done = rename_resume_done,
};
