/*
 * The SQLite driver.  Each worker opens the database file itself, in WAL
 * mode with a busy timeout, so that several workers can write: SQLite
 * lets one write at a time, and the others wait their turn instead of
 * failing with "database is locked".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cfg.h"
#include "db.h"
#include "util.h"

/* How long a writer waits for the lock before its statement fails. */
#define BUSY_TIMEOUT_MS	60000

struct db_conn {
	sqlite3		*db;
	sqlite3_stmt	*lookup;
	sqlite3_stmt	*stmt;		/* the [sql] statement */
	int		*map;		/* its parameter k+1 takes value map[k] */
};

static void
set_err(struct db_err *err, sqlite3 *db)
{
	snprintf(err->msg, sizeof(err->msg), "%s", sqlite3_errmsg(db));
	snprintf(err->code, sizeof(err->code), "%d", sqlite3_extended_errcode(db));
	err->lost = false;
}

static struct db_conn *
lite_connect(const struct cfg *cfg, const char *password, struct db_err *err)
{
	sqlite3 *db = NULL;
	const char *path = cfg->db_path ? cfg->db_path : cfg->dbname;

	(void)password;
	if (path == NULL) {
		snprintf(err->msg, sizeof(err->msg), "no database file: set [database] path");
		return NULL;
	}
	/*
	 * A mistyped path must not quietly become an empty database (least of
	 * all under --dry-run): only [database] create = yes makes one.
	 */
	if (!cfg->db_create && access(path, F_OK) < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s (a new database is made only with"
		    " [database] create = yes, and never in a dry run)", path, strerror(errno));
		return NULL;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | (cfg->db_create ? SQLITE_OPEN_CREATE : 0) |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	struct db_conn *c = xcalloc(1, sizeof(*c));
	c->db = db;
	/*
	 * WAL lets readers go on while one worker writes.  Switching a new
	 * database to it needs the file to itself, and SQLite answers
	 * "locked" at once rather than waiting when several workers try
	 * together: so wait here, as the busy timeout would.
	 */
	int rc;
	for (int waited = 0; (rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) == SQLITE_BUSY &&
	    waited < BUSY_TIMEOUT_MS; waited += 10)
		usleep(10000);
	if (rc != SQLITE_OK) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		free(c);
		return NULL;
	}
	return c;
}

static void
put_row(struct buf *out, sqlite3_stmt *st)
{
	int cols = sqlite3_column_count(st);

	for (int f = 0; f < cols; f++) {
		if (f > 0)
			buf_add(out, "\t", 1);
		if (sqlite3_column_type(st, f) == SQLITE_NULL) {
			buf_add(out, "\\N", 2);
		} else {
			const char *v = (const char *)sqlite3_column_text(st, f);
			db_put_value(out, v, (size_t)sqlite3_column_bytes(st, f));
		}
	}
	buf_add(out, "\n", 1);
}

static int
lite_exec(struct db_conn *c, const char *sql, struct buf *out, struct db_err *err)
{
	const char *tail = sql;

	/* Every statement of the line, in turn. */
	while (*tail != '\0') {
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(c->db, tail, -1, &st, &tail);
		if (rc != SQLITE_OK) {
			set_err(err, c->db);
			return -1;
		}
		if (st == NULL)
			continue;	/* only blanks or comments were left */
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if (out != NULL)
				put_row(out, st);
		if (rc != SQLITE_DONE) {
			set_err(err, c->db);
			sqlite3_finalize(st);
			return -1;
		}
		sqlite3_finalize(st);
	}
	return 0;
}

/*
 * The [sql] statement.  SQLite reads $1 as a parameter named "$1", and
 * numbers parameters in the order they first appear: map each back to
 * the value its name says ($N or ?N; a bare ? takes its position).
 */
static int
lite_prepare_stmt(struct db_conn *c, const char *sql, int *nparams, struct db_err *err)
{
	const char *tail = NULL;

	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmt, &tail) != SQLITE_OK) {
		set_err(err, c->db);
		return -1;
	}
	if (c->stmt == NULL || tail[strspn(tail, " \t\n\r;")] != '\0') {
		snprintf(err->msg, sizeof(err->msg), "the statement must be exactly one SQL statement");
		return -1;
	}
	int n = sqlite3_bind_parameter_count(c->stmt);
	c->map = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*c->map));
	*nparams = 0;
	for (int k = 1; k <= n; k++) {
		const char *name = sqlite3_bind_parameter_name(c->stmt, k);
		long v = k;
		if (name != NULL) {
			char *end;
			v = (name[0] == '$' || name[0] == '?') ? strtol(name + 1, &end, 10) : 0;
			if (v < 1 || v > DB_PARAMS_MAX || *end != '\0') {
				snprintf(err->msg, sizeof(err->msg),
				    "parameter %s: name the values $1, $2, ... in the order of the line's fields", name);
				return -1;
			}
		}
		c->map[k - 1] = (int)v - 1;
		if (v > *nparams)
			*nparams = (int)v;
	}
	return 0;
}

static int
lite_exec_prepared(struct db_conn *c, const struct db_params *p, struct buf *out, struct db_err *err)
{
	sqlite3_stmt *st = c->stmt;
	int n = sqlite3_bind_parameter_count(st), rc;

	for (int k = 0; k < n; k++) {
		int v = c->map[k];
		if (p->v[v] == NULL)
			sqlite3_bind_null(st, k + 1);
		else
			sqlite3_bind_text(st, k + 1, p->v[v], p->len[v], SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (out != NULL)
			put_row(out, st);
	if (rc != SQLITE_DONE)
		set_err(err, c->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
lite_prepare(struct db_conn *c, const char *sql, struct db_err *err)
{
	sqlite3_finalize(c->lookup);
	c->lookup = NULL;
	if (sqlite3_prepare_v2(c->db, sql, -1, &c->lookup, NULL) != SQLITE_OK) {
		set_err(err, c->db);
		return -1;
	}
	if (sqlite3_bind_parameter_count(c->lookup) != 1) {
		snprintf(err->msg, sizeof(err->msg), "the lookup must take exactly one parameter (?), it takes %d",
		    sqlite3_bind_parameter_count(c->lookup));
		sqlite3_finalize(c->lookup);
		c->lookup = NULL;
		return -1;
	}
	return 0;
}

static int
lite_lookup(struct db_conn *c, const char *param, char **value, struct db_err *err)
{
	sqlite3_stmt *st = c->lookup;
	int rc;

	*value = NULL;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			rc = 0;
		else {
			*value = xstrdup((const char *)sqlite3_column_text(st, 0));
			rc = 1;
		}
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		set_err(err, c->db);
		rc = -1;
	}
	sqlite3_reset(st);
	return rc;
}

static void
lite_close(struct db_conn *c)
{
	sqlite3_finalize(c->lookup);
	sqlite3_finalize(c->stmt);
	free(c->map);
	sqlite3_close(c->db);
	free(c);
}

const struct db_driver mpw_driver = {
	.name = "sqlite",
	/* Take the write lock at the start, so the busy timeout applies rather than a deadlock error. */
	.begin_sql = "BEGIN IMMEDIATE",
	.connect = lite_connect,
	.exec = lite_exec,
	.prepare_stmt = lite_prepare_stmt,
	.exec_prepared = lite_exec_prepared,
	.prepare = lite_prepare,
	.lookup = lite_lookup,
	.close = lite_close,
};
