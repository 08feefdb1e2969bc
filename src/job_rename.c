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
rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No RENAME_NOREPLACE here: a hard link refuses to replace too. */
	if (link(from, to) < 0)
		return -1;
	if (unlink(from) < 0) {
		int saved = errno;
		unlink(to);
		errno = saved;
		return -1;
	}
	return 0;
}

static void
fail(struct job_ctx *ctx, const char *fmt, const char *a, const char *b)
{
	ctx->res.exitval = 1;
	snprintf(ctx->res.reason, sizeof(ctx->res.reason), fmt, a, b);
}

/* What the joblog records, and --undo reads: the rename as a command. */
static void
log_rename(struct job_ctx *ctx, const char *from, const char *to)
{
	buf_addstr(&ctx->detail, "mv -n -- ");
	tpl_quote(&ctx->detail, from, strlen(from));
	buf_add(&ctx->detail, " ", 1);
	tpl_quote(&ctx->detail, to, strlen(to));
}

/*
 * A retry whose file is gone: if the worker that held the job died right
 * after renaming it, the file is there under its new name.  That attempt
 * did the work: record it as this one's, so that --undo covers it.
 */
static bool
renamed_before(struct job_ctx *ctx, const char *path, const char *slash, const char *base)
{
	struct buf target = { 0 };
	char *newname = NULL;
	struct stat st;
	bool done = false;

	if (lookup(ctx, base, &newname) == 1 && rename_unsafe(newname) == NULL) {
		if (slash != NULL)
			buf_add(&target, path, (size_t)(slash - path + 1));
		buf_addstr(&target, newname);
		if (lstat(target.data, &st) == 0) {
			log_rename(ctx, path, target.data);
			done = true;
		}
	}
	ctx->res.reason[0] = '\0';
	free(newname);
	buf_free(&target);
	return done;
}

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

	if (lstat(path, &st) < 0) {
		int e = errno;
		/*
		 * A watched arrival that is gone was handled already (it
		 * arrived during the first listing) or moved on by whoever
		 * dropped it: nothing to do.
		 */
		if (e == ENOENT && ctx->watched) {
			ctx->res.flags |= JR_SKIPPED;
			return;
		}
		if (e == ENOENT && ctx->attempt > 0 && renamed_before(ctx, path, slash, base))
			return;
		fail(ctx, "%s: %s", path, e == ENOENT ? "no such file (it vanished?)" : strerror(e));
		return;
	}
	int r = lookup(ctx, base, &newname);
	if (r < 0) {
		ctx->res.exitval = 1;
		return;
	}
	if (r == 0) {
		if (strcmp(ctx->cfg->on_missing, "fail") == 0) {
			fail(ctx, "%s: no mapping%s", path, "");
		} else {
			ctx->res.flags |= JR_SKIPPED;
			if (ctx->dry_run)
				buf_printf(&ctx->out, "%s (no mapping: skipped)\n", path);
		}
		return;
	}
	if ((why = rename_unsafe(newname)) != NULL) {
		fail(ctx, "unsafe new name, %s: refused to rename %s", why, path);
		if (ctx->dry_run)
			buf_printf(&ctx->out, "%s -> (unsafe new name: %s)\n", path, why);
		free(newname);
		return;
	}
	if (slash != NULL)
		buf_add(&target, path, (size_t)(slash - path + 1));
	buf_addstr(&target, newname);
	free(newname);

	if (ctx->dry_run) {
		struct stat t;
		buf_printf(&ctx->out, "%s -> %s%s\n", path, target.data,
		    lstat(target.data, &t) == 0 ? " (conflict: the target exists)" : "");
		/* So that the parent can see two files planned onto one name. */
		log_rename(ctx, path, target.data);
	} else if (strcmp(target.data, path) == 0) {
		/* Already so named: nothing to do, and nothing to undo. */
	} else if (rename_noreplace(path, target.data) < 0) {
		int e = errno;
		ctx->res.exitval = 1;
		snprintf(ctx->res.reason, sizeof(ctx->res.reason), "%s -> %s: %s", path, target.data,
		    e == EEXIST ? "the target exists; nothing was replaced" :
		    e == ENOENT ? "no such file (it vanished?)" : strerror(e));
	} else {
		log_rename(ctx, path, target.data);
	}
	buf_free(&target);
}

const struct job_kind job_rename = {
	.name = "rename",
	.needs_db = true,
	.check = rename_check,
	.init = rename_init,
	.run = rename_run,
};
