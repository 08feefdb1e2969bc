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
 * Look name up, reconnecting (and preparing again) when the connection
 * is lost.  1 found, 0 no mapping, -1 failed (reason set).
 */
static int
lookup(struct job_ctx *ctx, const char *name, char **value)
{
	struct db_err e;

	for (;;) {
		memset(&e, 0, sizeof(e));
		if (ctx->db == NULL) {
			snprintf(ctx->res.reason, sizeof(ctx->res.reason), "no database connection");
			return -1;
		}
		int r = ctx->drv->lookup(ctx->db, name, value, &e);
		if (r >= 0)
			return r;
		if (!e.lost) {
			snprintf(ctx->res.reason, sizeof(ctx->res.reason), "lookup failed: %s%s%s%s",
			    e.msg, e.code[0] ? " (" : "", e.code, e.code[0] ? ")" : "");
			return -1;
		}
		if (job_db_reconnect(ctx, &e) < 0 || prepare(ctx, &e) < 0) {
			snprintf(ctx->res.reason, sizeof(ctx->res.reason), "connection lost: %s", e.msg);
			ctx->terminated = true;
			return -1;
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
fail(struct job_ctx *ctx, const char *fmt, const char *a, const char *b)
{
	ctx->res.exitval = 1;
	snprintf(ctx->res.reason, sizeof(ctx->res.reason), fmt, a, b);
}

/*
 * What the joblog records, and --undo reads: the rename as a command; and
 * for the supervisor, the new path as it is.
 */
static void
log_rename(struct job_ctx *ctx, const char *from, const char *to)
{
	buf_reset(&ctx->target);
	buf_addstr(&ctx->target, to);
	buf_addstr(&ctx->detail, "mv -n -- ");
	tpl_quote_line(&ctx->detail, from, strlen(from));
	buf_add(&ctx->detail, " ", 1);
	tpl_quote_line(&ctx->detail, to, strlen(to));
}

/* The path of name in the directory of path. */
static void
sibling(struct buf *out, const char *path, const char *base, const char *name)
{
	buf_reset(out);
	buf_add(out, path, (size_t)(base - path));
	buf_addstr(out, name);
}

/*
 * A retry whose file is gone: if the worker that held the job died right
 * after renaming it, the file is there under its new name.  It counts as
 * done only when that is the very file the earlier attempt said it was
 * renaming (the same inode), never an unrelated file that has the name.
 * Then that attempt did the work: record it as this one's, so that --undo
 * covers it.
 */
static bool
renamed_before(struct job_ctx *ctx, int dirfd, const char *path, const char *base)
{
	char *newname = NULL;
	struct stat st;
	bool done = false;

	if (!ctx->has_intent)
		return false;
	if (lookup(ctx, base, &newname) == 1 && rename_unsafe(newname) == NULL &&
	    fstatat(dirfd, newname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (uint64_t)st.st_dev == ctx->intent_dev && (uint64_t)st.st_ino == ctx->intent_ino) {
		struct buf target = { 0 };
		sibling(&target, path, base, newname);
		log_rename(ctx, path, target.data);
		buf_free(&target);
		done = true;
	}
	ctx->res.reason[0] = '\0';
	free(newname);
	return done;
}

/* Whether rename jobs come from scanning [rename] directory (or watching it). */
static bool
scanning(const struct cfg *cfg)
{
	return cfg->file == NULL && cfg->job.n == 0 && cfg->directory != NULL;
}

/*
 * Every step works relative to the directory that holds the file, opened
 * once: a directory on the path swapped for a symbolic link after the
 * listing cannot send the rename elsewhere (below a scanned directory no
 * component may be a link), and the file checked is the file renamed.
 */
static void
rename_run(struct job_ctx *ctx)
{
	const char *path = ctx->text;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	struct buf target = { 0 };
	char *newname = NULL;
	const char *why;
	struct stat st;
	int dirfd = rename_open_dir(path, slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path),
	    scanning(ctx->cfg) ? ctx->cfg->directory : NULL);

	if (dirfd < 0) {
		int e = errno;
		if (e == ENOENT && ctx->watched)
			ctx->res.flags |= JR_SKIPPED;
		else
			fail(ctx, "%s: cannot open its directory: %s", path,
			    e == ELOOP || e == ENOTDIR ? "a directory on its path is now a symbolic link or no directory" :
			    strerror(e));
		goto out;
	}
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		/*
		 * A watched arrival that is gone was handled already (it
		 * arrived during the first listing) or moved on by whoever
		 * dropped it: nothing to do.
		 */
		if (e == ENOENT && ctx->watched)
			ctx->res.flags |= JR_SKIPPED;
		else if (!(e == ENOENT && ctx->attempt > 0 && renamed_before(ctx, dirfd, path, base)))
			fail(ctx, "%s: %s", path, e == ENOENT ? "no such file (it vanished?)" : strerror(e));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		/* The scan passes over links and the like; an arrival too. */
		if (ctx->watched)
			ctx->res.flags |= JR_SKIPPED;
		else
			fail(ctx, "%s: not a regular file%s; not renamed", path,
			    S_ISLNK(st.st_mode) ? " (a symbolic link)" : S_ISDIR(st.st_mode) ? " (a directory)" : "");
		goto out;
	}
	int r = lookup(ctx, base, &newname);
	if (r < 0) {
		ctx->res.exitval = 1;
		goto out;
	}
	if (r == 0) {
		if (strcmp(ctx->cfg->on_missing, "fail") == 0) {
			fail(ctx, "%s: no mapping%s", path, "");
		} else {
			ctx->res.flags |= JR_SKIPPED;
			if (ctx->dry_run)
				buf_printf(&ctx->out, "%s (no mapping: skipped)\n", path);
		}
		goto out;
	}
	if ((why = rename_unsafe(newname)) != NULL) {
		fail(ctx, "unsafe new name, %s: refused to rename %s", why, path);
		if (ctx->dry_run)
			buf_printf(&ctx->out, "%s -> (unsafe new name: %s)\n", path, why);
		goto out;
	}
	sibling(&target, path, base, newname);

	if (ctx->dry_run) {
		struct stat t;
		buf_printf(&ctx->out, "%s -> %s%s\n", path, target.data,
		    fstatat(dirfd, newname, &t, AT_SYMLINK_NOFOLLOW) == 0 ? " (conflict: the target exists)" : "");
		/* So that the parent can see two files planned onto one name. */
		log_rename(ctx, path, target.data);
	} else if (strcmp(newname, base) == 0) {
		/* Already so named: nothing to do, and nothing to undo. */
	} else {
		ctx->intent(ctx, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		if (rename_noreplace_at(dirfd, base, newname) < 0) {
			int e = errno;
			ctx->res.exitval = 1;
			snprintf(ctx->res.reason, sizeof(ctx->res.reason), "%s -> %s: %s", path, target.data,
			    e == EEXIST ? "the target exists; nothing was replaced" :
			    e == ENOENT ? "no such file (it vanished?)" : strerror(e));
		} else {
			log_rename(ctx, path, target.data);
		}
	}
out:
	/*
	 * Whatever did not rename is logged as its quoted path: one line
	 * whatever bytes the name holds, and never mistaken by --undo for
	 * a rename, even when a file is named like one.
	 */
	if (ctx->detail.len == 0)
		tpl_quote_line(&ctx->detail, path, strlen(path));
	free(newname);
	buf_free(&target);
	if (dirfd >= 0)
		close(dirfd);
}

const struct job_kind job_rename = {
	.name = "rename",
	.needs_db = true,
	.check = rename_check,
	.init = rename_init,
	.run = rename_run,
};
