/*
 * The PostgreSQL driver, on libpq.  Besides plain statements it can run a
 * group of them in pipeline mode (libpq 14 and later): one round trip for
 * the whole group instead of one per statement, with a sync point after
 * each statement so that each is still its own transaction.
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "cfg.h"
#include "db.h"
#include "util.h"

#define LOOKUP_NAME	"mpworker_lookup"
#define STMT_NAME	"mpworker_stmt"

struct db_conn {
	PGconn *pg;
};

/*
 * Whether an error result means the session is over even though libpq
 * has not noticed yet: a server shutting down sends a FATAL result
 * (57P01) before it closes the socket.
 */
static bool
conn_ending(const PGresult *res)
{
	const char *sev, *code;

	if (res == NULL)
		return false;
	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (sev != NULL && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
		return true;
	/* connection_exception, and admin, crash or startup shutdown */
	return code != NULL && (strncmp(code, "08", 2) == 0 || strncmp(code, "57P0", 4) == 0);
}

/* libpq ends its messages with a newline; the log adds its own. */
static void
set_err(struct db_err *err, PGconn *pg, const PGresult *res)
{
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);
	const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	size_t n;

	snprintf(err->msg, sizeof(err->msg), "%s", msg && *msg ? msg : "unknown error");
	n = strlen(err->msg);
	while (n > 0 && (err->msg[n - 1] == '\n' || err->msg[n - 1] == ' '))
		err->msg[--n] = '\0';
	/* One line for the log: libpq breaks long messages with newline and tab. */
	char *w = err->msg;
	for (const char *r = err->msg; *r; r++) {
		if (*r == '\n' || *r == '\t') {
			if (w > err->msg && w[-1] != ' ')
				*w++ = ' ';
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
	err->lost = PQstatus(pg) == CONNECTION_BAD || conn_ending(res);
}

static struct db_conn *
pg_connect(const struct cfg *cfg, const char *password, struct db_err *err)
{
	const char *keys[10], *vals[10];
	char port[24], timeout[16];
	int n = 0;

	/* conninfo first, so that the keys given beside it take precedence. */
	if (cfg->conninfo != NULL) {
		keys[n] = "dbname";
		vals[n++] = cfg->conninfo;
	}
	if (cfg->socket != NULL || cfg->host != NULL) {
		keys[n] = "host";
		vals[n++] = cfg->socket != NULL ? cfg->socket : cfg->host;
	}
	if (cfg->port > 0) {
		snprintf(port, sizeof(port), "%ld", cfg->port);
		keys[n] = "port";
		vals[n++] = port;
	}
	if (cfg->user != NULL) {
		keys[n] = "user";
		vals[n++] = cfg->user;
	}
	if (password != NULL) {
		keys[n] = "password";
		vals[n++] = password;
	}
	if (cfg->dbname != NULL) {
		keys[n] = "dbname";
		vals[n++] = cfg->dbname;
	}
	snprintf(timeout, sizeof(timeout), "%d", cfg->connect_timeout < 2 ? 2 : (int)cfg->connect_timeout);
	keys[n] = "connect_timeout";
	vals[n++] = timeout;
	keys[n] = "application_name";
	vals[n++] = "mpworker";
	keys[n] = NULL;
	vals[n] = NULL;

	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		set_err(err, pg, NULL);
		PQfinish(pg);
		return NULL;
	}
	struct db_conn *c = xcalloc(1, sizeof(*c));
	c->pg = pg;
	return c;
}

static void
put_rows(struct buf *out, const PGresult *res)
{
	int rows = PQntuples(res), cols = PQnfields(res);

	for (int r = 0; r < rows; r++) {
		for (int f = 0; f < cols; f++) {
			if (f > 0)
				buf_add(out, "\t", 1);
			if (PQgetisnull(res, r, f))
				buf_add(out, "\\N", 2);
			else
				db_put_value(out, PQgetvalue(res, r, f), (size_t)PQgetlength(res, r, f));
		}
		buf_add(out, "\n", 1);
	}
}

/* Take one result: 0 on success (rows to out), -1 on a failed statement. */
static int
take_result(struct db_conn *c, PGresult *res, struct buf *out, struct db_err *err)
{
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		if (out != NULL)
			put_rows(out, res);
		return 0;
	case PGRES_COMMAND_OK:
	case PGRES_EMPTY_QUERY:
		return 0;
	default:
		set_err(err, c->pg, res);
		return -1;
	}
}

static int
pg_exec(struct db_conn *c, const char *sql, struct buf *out, struct db_err *err)
{
	PGresult *res;
	int rc = 0;

	/* PQsendQuery returns every result of a multi-statement string. */
	if (!PQsendQuery(c->pg, sql)) {
		set_err(err, c->pg, NULL);
		return -1;
	}
	while ((res = PQgetResult(c->pg)) != NULL) {
		if (rc == 0 && take_result(c, res, out, err) < 0)
			rc = -1;
		PQclear(res);
	}
	if (rc == 0 && PQstatus(c->pg) == CONNECTION_BAD) {
		set_err(err, c->pg, NULL);
		rc = -1;
	}
	return rc;
}

#ifdef LIBPQ_HAS_PIPELINING
/*
 * Whether sql is one statement.  The extended protocol that pipeline mode
 * uses refuses several statements in one string, so such jobs are run
 * without a pipeline.  A ';' inside quotes or at the very end is fine.
 */
static bool
single_statement(const char *sql)
{
	char quote = 0;

	for (const char *p = sql; *p; p++) {
		if (*p == '\\') {
			return false;	/* E'\'' escapes: leave them to the simple protocol */
		} else if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '$' || (*p == '-' && p[1] == '-') || (*p == '/' && p[1] == '*')) {
			return false;	/* dollar quotes, comments: leave them to the simple protocol */
		} else if (*p == ';') {
			for (p++; *p == ' ' || *p == '\t' || *p == ';'; p++)
				;
			return *p == '\0';
		}
	}
	return true;
}

/* Send what libpq holds, reading input meanwhile so the server never blocks on us. */
static int
flush_all(PGconn *pg)
{
	int r;

	while ((r = PQflush(pg)) == 1) {
		struct pollfd pfd = { .fd = PQsocket(pg), .events = POLLIN | POLLOUT };
		if (poll(&pfd, 1, -1) < 0)
			return -1;
		if ((pfd.revents & POLLIN) && !PQconsumeInput(pg))
			return -1;
	}
	return r;
}

/* The connection broke under a batch: nothing of it stands. */
static int
batch_lost(PGconn *pg, struct db_stmt *st, size_t n, struct db_err *err)
{
	for (size_t i = 0; i < n; i++)
		st[i].status = 1;
	set_err(err, pg, NULL);
	err->lost = true;
	return -1;
}

/*
 * Batches as one simple-protocol query: "BEGIN; s1; ...; sN; COMMIT",
 * again for each further batch of per statements, so that across a
 * network several batches share one round trip.
 * The server parses and runs it in one go, which costs it far less than
 * the extended protocol's messages per statement (105,000 against 64,000
 * inserts a second here).  Each statement yields one result, in order; at
 * the first error the server skips the rest and the block must be rolled
 * back, and then nothing of the batch stands.
 */
static int
pg_batches(struct db_conn *c, struct db_stmt *st, size_t n, size_t per, struct db_err *err)
{
	PGconn *pg = c->pg;
	struct buf q = { 0 };
	PGresult *res;
	size_t i, chunk = 0, pos = 0, m = per < n ? per : n;
	bool failed = false;

	for (size_t k = 0; k < n; k += per) {
		if (k > 0)
			buf_add(&q, ";\n", 2);
		db_batch_sql(&q, "BEGIN", st + k, per < n - k ? per : n - k);
	}
	if (!PQsendQuery(pg, q.data)) {
		buf_free(&q);
		goto lost;
	}
	buf_free(&q);
	/*
	 * Results, per transaction: BEGIN, one per statement, COMMIT.  At the
	 * first error the server skips the rest of the string.
	 */
	while ((res = PQgetResult(pg)) != NULL) {
		bool gone = false;	/* the session ended under it */

		if (!failed && pos >= 1 && pos <= m) {
			i = chunk + pos - 1;
			st[i].status = take_result(c, res, st[i].out, &st[i].err);
			st[i].done_at = now_mono();
			failed = st[i].status < 0;
			gone = failed && st[i].err.lost;
		} else if (!failed && PQresultStatus(res) != PGRES_COMMAND_OK) {
			failed = true;	/* BEGIN or COMMIT failed */
			set_err(err, pg, res);
			gone = err->lost;
		} else if (!failed && pos == m + 1) {
			/* This transaction's COMMIT answered: it stands.  On to the next. */
			chunk += m;
			m = per < n - chunk ? per : n - chunk;
			pos = 0;
			PQclear(res);
			continue;
		}
		pos++;
		PQclear(res);
		if (gone) {
			while ((res = PQgetResult(pg)) != NULL)
				PQclear(res);
			goto lost;
		}
	}
	if (PQstatus(pg) == CONNECTION_BAD)
		goto lost;
	if (failed || chunk < n) {
		/* An error leaves its block open and failed: close it.  Nothing from it on stands. */
		if (PQtransactionStatus(pg) != PQTRANS_IDLE)
			PQclear(PQexec(pg, "ROLLBACK"));
		for (i = chunk; i < n; i++)
			st[i].status = 1;
	}
	return 0;

lost:
	/* The transactions whose COMMIT answered stand; the rest may not. */
	return batch_lost(pg, st + chunk, n - chunk, err);
}

static int
pg_batch(struct db_conn *c, struct db_stmt *st, size_t n, struct db_err *err)
{
	return pg_batches(c, st, n, n, err);
}

/*
 * In a pipeline, after a query's result: read the NULL that ends its
 * results and the sync that follows.  0, or -1 when the connection broke
 * between them (then the query's transaction may not have committed).
 */
static int
sync_follows(PGconn *pg)
{
	PGresult *res;

	PQclear(PQgetResult(pg));
	res = PQgetResult(pg);
	if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/*
 * n queries in one pipeline, each followed by a sync, so that each is its
 * own transaction and one that fails leaves the others their results.
 * send queues query i; take takes its result into the caller's item and
 * returns its status, setting *gone when the session ended under it;
 * settle records that status once the query's sync is back.  0 when every
 * result came back, -1 when the connection failed (err): the queries not
 * settled are to be run again.
 */
struct pipeline {
	int  (*send)(PGconn *pg, void *arg, size_t i);
	int  (*take)(struct db_conn *c, PGresult *res, void *arg, size_t i, bool *gone);
	void (*settle)(void *arg, size_t i, int status);
	void *arg;
};

static int
run_pipeline(struct db_conn *c, const struct pipeline *p, size_t n, struct db_err *err)
{
	PGconn *pg = c->pg;
	size_t i;

	if (!PQenterPipelineMode(pg) || PQsetnonblocking(pg, 1) != 0)
		goto lost;
	for (i = 0; i < n; i++) {
		if (!p->send(pg, p->arg, i) || !PQpipelineSync(pg))
			goto lost;
		/* Keep libpq's output buffer small on long groups. */
		if (i % 16 == 15 && flush_all(pg) < 0)
			goto lost;
	}
	if (flush_all(pg) < 0)
		goto lost;
	PQsetnonblocking(pg, 0);
	/* Results arrive in order: per query, its result, a NULL, then the sync. */
	for (i = 0; i < n; i++) {
		PGresult *res = PQgetResult(pg);
		bool gone = false;
		int status;

		if (res == NULL)
			goto lost;
		status = p->take(c, res, p->arg, i, &gone);
		PQclear(res);
		if (gone || sync_follows(pg) < 0)
			goto lost;
		p->settle(p->arg, i, status);
	}
	if (!PQexitPipelineMode(pg))
		goto lost;
	return 0;

lost:
	set_err(err, pg, NULL);
	err->lost = true;
	return -1;
}

static int
stmt_send(PGconn *pg, void *arg, size_t i)
{
	const struct db_stmt *st = arg;

	if (st[i].params != NULL)
		return PQsendQueryPrepared(pg, STMT_NAME, st[i].params->n, st[i].params->v, NULL, NULL, 0);
	return PQsendQueryParams(pg, st[i].sql, 0, NULL, NULL, NULL, NULL, 0);
}

static int
stmt_take(struct db_conn *c, PGresult *res, void *arg, size_t i, bool *gone)
{
	struct db_stmt *st = arg;
	int status = take_result(c, res, st[i].out, &st[i].err);

	/* The session ended under it: not a failure of the statement. */
	*gone = status < 0 && st[i].err.lost;
	return status;
}

static void
stmt_settle(void *arg, size_t i, int status)
{
	struct db_stmt *st = arg;

	st[i].status = status;
	st[i].done_at = now_mono();
}

/*
 * A batch of prepared statements: BEGIN, each, COMMIT in one pipeline
 * with one sync at the end, so one round trip.  After an error the server
 * skips the rest up to the sync, and the block is left failed: then it is
 * rolled back and nothing of the batch stands.
 */
static int
pg_batch_prepared(struct db_conn *c, struct db_stmt *st, size_t n, struct db_err *err)
{
	PGconn *pg = c->pg;
	PGresult *res;
	size_t i;
	bool failed = false;

	if (!PQenterPipelineMode(pg) || PQsetnonblocking(pg, 1) != 0)
		goto lost;
	if (!PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
		goto lost;
	for (i = 0; i < n; i++) {
		if (!stmt_send(pg, st, i))
			goto lost;
		if (i % 16 == 15 && flush_all(pg) < 0)
			goto lost;
	}
	if (!PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(pg) ||
	    flush_all(pg) < 0)
		goto lost;
	PQsetnonblocking(pg, 0);
	/* Per query its result and a NULL: BEGIN, each statement, COMMIT; then the sync. */
	for (i = 0; i < n + 2; i++) {
		if ((res = PQgetResult(pg)) == NULL)
			goto lost;
		if (i >= 1 && i <= n && !failed) {
			struct db_stmt *s = &st[i - 1];
			s->status = take_result(c, res, s->out, &s->err);
			s->done_at = now_mono();
			if (s->status < 0) {
				failed = true;
				if (s->err.lost) {
					PQclear(res);
					goto lost;
				}
			}
		} else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			if (!failed && PQresultStatus(res) != PGRES_PIPELINE_ABORTED)
				set_err(err, pg, res);
			failed = true;
			if (conn_ending(res)) {
				PQclear(res);
				goto lost;
			}
		}
		PQclear(res);
		PQclear(PQgetResult(pg));	/* the NULL after each query's result */
	}
	res = PQgetResult(pg);
	if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		PQclear(res);
		goto lost;
	}
	PQclear(res);
	if (!PQexitPipelineMode(pg))
		goto lost;
	/* A failed block stays open until rolled back; a failed COMMIT has ended it. */
	if (PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
	for (i = 0; failed && i < n; i++)
		st[i].status = 1;
	return 0;

lost:
	return batch_lost(pg, st, n, err);
}

/* Several batches of per statements in one round trip (see pg_batches). */
static int
pg_exec_batches(struct db_conn *c, struct db_stmt *st, size_t n, size_t per, struct db_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (st[i].params != NULL || !single_statement(st[i].sql))
			return 1;
		st[i].status = 1;
	}
	return pg_batches(c, st, n, per, err);
}

static int
pg_exec_many(struct db_conn *c, struct db_stmt *st, size_t n, bool in_tx, struct db_err *err)
{
	bool prepared = false;

	for (size_t i = 0; i < n; i++) {
		if (st[i].params != NULL)
			prepared = true;
		else if (!single_statement(st[i].sql))
			return 1;
		st[i].status = 1;
	}
	if (in_tx)
		return prepared ? pg_batch_prepared(c, st, n, err) : pg_batch(c, st, n, err);

	/*
	 * Autocommit: each statement, then a sync, so each is its own
	 * transaction.  It commits at the sync, so a statement is done only
	 * once its sync is back: if the connection goes between the two, it
	 * stays "not run" and is run again.
	 */
	struct pipeline p = { .send = stmt_send, .take = stmt_take, .settle = stmt_settle, .arg = st };
	return run_pipeline(c, &p, n, err);
}
#endif

static int
pg_prepare(struct db_conn *c, const char *sql, struct db_err *err)
{
	PGresult *res = PQprepare(c->pg, LOOKUP_NAME, sql, 1, NULL);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;

	if (rc < 0)
		set_err(err, c->pg, res);
	PQclear(res);
	return rc;
}

static int
pg_prepare_stmt(struct db_conn *c, const char *sql, int *nparams, struct db_err *err)
{
	PGresult *res = PQprepare(c->pg, STMT_NAME, sql, 0, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_err(err, c->pg, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	/* The server counts the values: the highest $N it met. */
	res = PQdescribePrepared(c->pg, STMT_NAME);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_err(err, c->pg, res);
		PQclear(res);
		return -1;
	}
	*nparams = PQnparams(res);
	PQclear(res);
	return 0;
}

static int
pg_exec_prepared(struct db_conn *c, const struct db_params *p, struct buf *out, struct db_err *err)
{
	PGresult *res = PQexecPrepared(c->pg, STMT_NAME, p->n, p->v, NULL, NULL, 0);
	int rc = take_result(c, res, out, err);

	PQclear(res);
	if (rc == 0 && PQstatus(c->pg) == CONNECTION_BAD) {
		set_err(err, c->pg, NULL);
		rc = -1;
	}
	return rc;
}

/* The value of a lookup's result: 1 with *value, 0 none, -1 failed (err). */
static int
lookup_result(struct db_conn *c, PGresult *res, char **value, struct db_err *err)
{
	*value = NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_err(err, c->pg, res);
		return -1;
	}
	if (PQntuples(res) == 0 || PQnfields(res) == 0 || PQgetisnull(res, 0, 0))
		return 0;
	*value = xstrdup(PQgetvalue(res, 0, 0));
	return 1;
}

static int
pg_lookup(struct db_conn *c, const char *param, char **value, struct db_err *err)
{
	const char *params[1] = { param };
	PGresult *res = PQexecPrepared(c->pg, LOOKUP_NAME, 1, params, NULL, NULL, 0);
	int rc = lookup_result(c, res, value, err);

	PQclear(res);
	return rc;
}

#ifdef LIBPQ_HAS_PIPELINING
static int
lookup_send(PGconn *pg, void *arg, size_t i)
{
	const struct db_lookup *l = arg;
	const char *params[1] = { l[i].param };

	return PQsendQueryPrepared(pg, LOOKUP_NAME, 1, params, NULL, NULL, 0);
}

static int
lookup_take(struct db_conn *c, PGresult *res, void *arg, size_t i, bool *gone)
{
	struct db_lookup *l = arg;
	int status = lookup_result(c, res, &l[i].value, &l[i].err);

	*gone = status < 0 && l[i].err.lost;
	return status;
}

static void
lookup_settle(void *arg, size_t i, int status)
{
	struct db_lookup *l = arg;

	l[i].status = status;
	l[i].done_at = now_mono();
}

/* Lookups in one pipeline, as pg_exec_many runs statements. */
static int
pg_lookup_many(struct db_conn *c, struct db_lookup *l, size_t n, struct db_err *err)
{
	struct pipeline p = { .send = lookup_send, .take = lookup_take, .settle = lookup_settle, .arg = l };
	int rc;

	for (size_t i = 0; i < n; i++)
		l[i].status = 2;
	rc = run_pipeline(c, &p, n, err);
	/* A value taken whose sync never came is not a result. */
	for (size_t i = 0; rc < 0 && i < n; i++) {
		if (l[i].status == 2) {
			free(l[i].value);
			l[i].value = NULL;
		}
	}
	return rc;
}
#endif

static int
pg_ping(struct db_conn *c)
{
	struct db_err err;

	return pg_exec(c, "SELECT 1", NULL, &err);
}

static void
pg_quote(struct db_conn *c, struct buf *out, const char *s, size_t len)
{
	char *lit = PQescapeLiteral(c->pg, s, len);

	/* Only a string that is not valid in the client encoding fails: keep its ASCII. */
	if (lit == NULL) {
		buf_addstr(out, "'");
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f && s[i] != '\\')
				buf_add(out, s[i] == '\'' ? "''" : &s[i], s[i] == '\'' ? 2 : 1);
		buf_addstr(out, "'");
		return;
	}
	buf_addstr(out, lit);
	PQfreemem(lit);
}

static int
pg_copy_in(struct db_conn *c, const char *sql, const char *data, size_t len, struct db_err *err)
{
	PGresult *res = PQexec(c->pg, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		set_err(err, c->pg, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	if (PQputCopyData(c->pg, data, (int)len) != 1 || PQputCopyEnd(c->pg, NULL) != 1) {
		set_err(err, c->pg, NULL);
		rc = -1;
	}
	while ((res = PQgetResult(c->pg)) != NULL) {
		if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK) {
			set_err(err, c->pg, res);
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

static int
pg_notify_fd(struct db_conn *c)
{
	return PQsocket(c->pg);
}

static int
pg_notifications(struct db_conn *c)
{
	PGnotify *n;
	int count = 0;

	if (PQconsumeInput(c->pg) == 0)
		return -1;
	while ((n = PQnotifies(c->pg)) != NULL) {
		count++;
		PQfreemem(n);
	}
	return count;
}

static void
pg_close(struct db_conn *c)
{
	PQfinish(c->pg);
	free(c);
}

const struct db_driver mpw_driver = {
	.name = "postgresql",
	.begin_sql = "BEGIN",
	.connect = pg_connect,
	.exec = pg_exec,
#ifdef LIBPQ_HAS_PIPELINING
	.exec_many = pg_exec_many,
	.exec_batches = pg_exec_batches,
#endif
	.prepare_stmt = pg_prepare_stmt,
	.exec_prepared = pg_exec_prepared,
	.prepare = pg_prepare,
	.lookup = pg_lookup,
#ifdef LIBPQ_HAS_PIPELINING
	.lookup_many = pg_lookup_many,
#endif
	.quote = pg_quote,
	.copy_in = pg_copy_in,
	.notify_fd = pg_notify_fd,
	.notifications = pg_notifications,
	.ping = pg_ping,
	.close = pg_close,
};
