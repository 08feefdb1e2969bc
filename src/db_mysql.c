/*
 * The MySQL/MariaDB driver, on libmysqlclient (MariaDB Connector/C on
 * Debian).  Connections allow several statements per job line, and never
 * reconnect behind our back: a lost connection is reported, and the worker
 * reconnects and runs its init hook again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <errmsg.h>

#include "cfg.h"
#include "db.h"
#include "util.h"

struct db_conn {
	MYSQL		*my;
	MYSQL_STMT	*lookup;
	MYSQL_STMT	*stmt;		/* the [sql] statement */
	int		*map;		/* its k-th '?' takes value map[k] */
	int		 nmarks;
	char		*lookup_sql;	/* the lookup with '?' for its parameter */
	size_t		*lookup_at;	/* where each '?' stands in it */
	int		 lookup_marks;
};

static bool
conn_lost(unsigned int e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
	    e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED || e == 1927 /* connection killed */ ||
	    e == 4031 /* disconnected by the server: idle */ || e == 1053 /* server shutdown */;
}

static void
set_err(struct db_err *err, MYSQL *my)
{
	unsigned int e = mysql_errno(my);

	snprintf(err->msg, sizeof(err->msg), "%s", mysql_error(my));
	snprintf(err->code, sizeof(err->code), "%u", e);
	err->lost = conn_lost(e);
}

static void
set_stmt_err(struct db_err *err, MYSQL_STMT *st)
{
	unsigned int e = mysql_stmt_errno(st);

	snprintf(err->msg, sizeof(err->msg), "%s", mysql_stmt_error(st));
	snprintf(err->code, sizeof(err->code), "%u", e);
	err->lost = conn_lost(e);
}

static struct db_conn *
my_connect(const struct cfg *cfg, const char *password, struct db_err *err)
{
	MYSQL *my = mysql_init(NULL);
	unsigned int timeout = cfg->connect_timeout < 1 ? 1 : (unsigned int)cfg->connect_timeout;
	my_bool off = 0;

	if (my == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(my, MYSQL_OPT_RECONNECT, &off);
	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(my, cfg->socket ? NULL : cfg->host, cfg->user, password,
	    cfg->dbname, (unsigned int)cfg->port, cfg->socket, CLIENT_MULTI_STATEMENTS) == NULL) {
		set_err(err, my);
		mysql_close(my);
		return NULL;
	}
	/*
	 * Connector/C opens its socket without close-on-exec: a command a
	 * worker runs would inherit the connection.
	 */
	if ((int)mysql_get_socket(my) >= 0)
		fd_set_cloexec((int)mysql_get_socket(my));
	struct db_conn *c = xcalloc(1, sizeof(*c));
	c->my = my;
	return c;
}

static void
put_rows(struct buf *out, MYSQL_RES *res)
{
	unsigned int cols = mysql_num_fields(res);
	MYSQL_ROW row;

	while ((row = mysql_fetch_row(res)) != NULL) {
		unsigned long *len = mysql_fetch_lengths(res);
		for (unsigned int f = 0; f < cols; f++) {
			if (f > 0)
				buf_add(out, "\t", 1);
			if (row[f] == NULL)
				buf_add(out, "\\N", 2);
			else
				db_put_value(out, row[f], len[f]);
		}
		buf_add(out, "\n", 1);
	}
}

static int
my_exec(struct db_conn *c, const char *sql, struct buf *out, struct db_err *err)
{
	int status;

	if (mysql_real_query(c->my, sql, strlen(sql)) != 0) {
		set_err(err, c->my);
		return -1;
	}
	/* Take every result of a multi-statement line, or the connection stays busy. */
	do {
		MYSQL_RES *res = mysql_store_result(c->my);
		if (res != NULL) {
			if (out != NULL)
				put_rows(out, res);
			mysql_free_result(res);
		} else if (mysql_field_count(c->my) != 0) {
			set_err(err, c->my);
			return -1;
		}
		status = mysql_next_result(c->my);
		if (status > 0) {
			set_err(err, c->my);
			return -1;
		}
	} while (status == 0);
	return 0;
}

/*
 * Whether sql is one statement (a ';' only inside quotes or at the end):
 * a batch string is split back into per-job results by counting them.
 */
static bool
single_statement(const char *sql)
{
	char quote = 0;

	for (const char *p = sql; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"' || *p == '`') {
			quote = *p;
		} else if (*p == '#' || (*p == '-' && p[1] == '-') || (*p == '/' && p[1] == '*')) {
			return false;	/* comments: leave them to a statement of their own */
		} else if (*p == ';') {
			for (p++; *p == ' ' || *p == '\t' || *p == ';'; p++)
				;
			return *p == '\0';
		}
	}
	return true;
}

/*
 * A batch as one multi-statement query: START TRANSACTION; s1; ...;
 * COMMIT, one round trip instead of one per statement.  The server
 * stops at the first error; then the transaction is rolled back and
 * nothing of the batch stands.  Autocommit groups are not sent this way:
 * each statement must stay its own transaction.
 */
static int
my_exec_many(struct db_conn *c, struct db_stmt *st, size_t n, bool in_tx, struct db_err *err)
{
	struct buf q = { 0 };
	size_t i, got = 0;
	bool failed = false;
	int status;

	if (!in_tx)
		return 1;
	for (i = 0; i < n; i++) {
		/* A prepared statement's values cannot go in query text. */
		if (st[i].params != NULL || !single_statement(st[i].sql))
			return 1;
		st[i].status = 1;
	}
	db_batch_sql(&q, "START TRANSACTION", st, n);
	status = mysql_real_query(c->my, q.data, q.len);
	buf_free(&q);
	if (status != 0) {
		set_err(err, c->my);
		failed = true;
	}
	/* One result per statement: START, each job, COMMIT; none after an error. */
	while (!failed) {
		MYSQL_RES *res = mysql_store_result(c->my);
		if (res == NULL && mysql_field_count(c->my) != 0) {
			set_err(err, c->my);
			failed = true;
			break;
		}
		if (got >= 1 && got <= n) {
			if (res != NULL && st[got - 1].out != NULL)
				put_rows(st[got - 1].out, res);
			st[got - 1].status = 0;
			st[got - 1].done_at = now_mono();
		}
		if (res != NULL)
			mysql_free_result(res);
		got++;
		status = mysql_next_result(c->my);
		if (status > 0) {
			set_err(err, c->my);
			failed = true;
		} else if (status < 0) {
			break;
		}
	}
	if (failed && err->lost) {
		for (i = 0; i < n; i++)
			st[i].status = 1;
		return -1;
	}
	if (failed || got != n + 2) {
		struct db_err ignored;
		my_exec(c, "ROLLBACK", NULL, &ignored);
		for (i = 0; i < n; i++)
			st[i].status = 1;
	}
	return 0;
}

/*
 * The [sql] statement: its $N become '?' for the server, which prepares
 * it once; each job binds its values as strings.
 */
static int
my_prepare_stmt(struct db_conn *c, const char *sql, int *nparams, struct db_err *err)
{
	struct buf q = { 0 };
	int n = db_params_to_qmarks(sql, &q, &c->map, NULL, err->msg, sizeof(err->msg));

	if (n < 0) {
		buf_free(&q);
		return -1;
	}
	c->nmarks = n;
	c->stmt = mysql_stmt_init(c->my);
	if (c->stmt == NULL) {
		buf_free(&q);
		set_err(err, c->my);
		return -1;
	}
	if (mysql_stmt_prepare(c->stmt, q.data, q.len) != 0) {
		buf_free(&q);
		set_stmt_err(err, c->stmt);
		return -1;
	}
	buf_free(&q);
	*nparams = 0;
	for (int k = 0; k < n; k++)
		if (c->map[k] + 1 > *nparams)
			*nparams = c->map[k] + 1;
	return 0;
}

/* The rows of the prepared statement's result, each column as text. */
static int
put_stmt_rows(MYSQL_STMT *st, struct buf *out)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	my_bool on = 1;
	int rc = 0;

	if (meta == NULL)
		return 0;
	unsigned cols = mysql_num_fields(meta);
	/* Stored with max_length set, each column's buffer can hold its longest value. */
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	if (mysql_stmt_store_result(st) != 0) {
		mysql_free_result(meta);
		return -1;
	}
	MYSQL_FIELD *f = mysql_fetch_fields(meta);
	MYSQL_BIND *b = xcalloc(cols, sizeof(*b));
	unsigned long *len = xcalloc(cols, sizeof(*len));
	my_bool *isnull = xcalloc(cols, sizeof(*isnull));
	for (unsigned i = 0; i < cols; i++) {
		/* Numbers and dates come as text longer than their binary max_length. */
		b[i].buffer_length = (f[i].max_length > f[i].length ? f[i].max_length : 64) + 64;
		b[i].buffer = xmalloc(b[i].buffer_length);
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].length = &len[i];
		b[i].is_null = &isnull[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		rc = -1;
	} else {
		int r;
		while ((r = mysql_stmt_fetch(st)) == 0 || r == MYSQL_DATA_TRUNCATED) {
			for (unsigned i = 0; i < cols; i++) {
				if (i > 0)
					buf_add(out, "\t", 1);
				if (isnull[i]) {
					buf_add(out, "\\N", 2);
				} else if (len[i] > b[i].buffer_length) {
					char *whole = xmalloc(len[i]);
					MYSQL_BIND again = { .buffer_type = MYSQL_TYPE_STRING, .buffer = whole,
					    .buffer_length = len[i], .length = &len[i] };
					if (mysql_stmt_fetch_column(st, &again, i, 0) == 0)
						db_put_value(out, whole, len[i]);
					else
						rc = -1;
					free(whole);
				} else {
					db_put_value(out, b[i].buffer, len[i]);
				}
			}
			buf_add(out, "\n", 1);
		}
		if (r == 1)
			rc = -1;
	}
	for (unsigned i = 0; i < cols; i++)
		free(b[i].buffer);
	free(b);
	free(len);
	free(isnull);
	mysql_free_result(meta);
	return rc;
}

static int
my_exec_prepared(struct db_conn *c, const struct db_params *p, struct buf *out, struct db_err *err)
{
	MYSQL_STMT *st = c->stmt;
	MYSQL_BIND *in = xcalloc(c->nmarks ? (size_t)c->nmarks : 1, sizeof(*in));
	unsigned long *len = xcalloc(c->nmarks ? (size_t)c->nmarks : 1, sizeof(*len));
	my_bool yes = 1;
	int rc = -1;

	for (int k = 0; k < c->nmarks; k++) {
		int v = c->map[k];
		if (p->v[v] == NULL) {
			in[k].buffer_type = MYSQL_TYPE_NULL;
			in[k].is_null = &yes;
			continue;
		}
		len[k] = (unsigned long)p->len[v];
		in[k].buffer_type = MYSQL_TYPE_STRING;
		in[k].buffer = (void *)p->v[v];
		in[k].buffer_length = len[k];
		in[k].length = &len[k];
	}
	if (mysql_stmt_bind_param(st, in) == 0 && mysql_stmt_execute(st) == 0) {
		struct buf ignored = { 0 };
		rc = 0;
		/* Every result set (a CALL has several), rows to out. */
		do {
			if (put_stmt_rows(st, out != NULL ? out : &ignored) < 0)
				rc = -1;
			mysql_stmt_free_result(st);
		} while (rc == 0 && mysql_stmt_next_result(st) == 0);
		buf_free(&ignored);
	}
	if (rc < 0)
		set_stmt_err(err, st);
	free(in);
	free(len);
	return rc;
}

static int
my_prepare(struct db_conn *c, const char *sql, struct db_err *err)
{
	c->lookup = mysql_stmt_init(c->my);
	if (c->lookup == NULL) {
		set_err(err, c->my);
		return -1;
	}
	/* $1 as on the other servers, or the server's own ?. */
	struct buf q = { 0 };
	int *map = NULL;
	free(c->lookup_sql);
	free(c->lookup_at);
	c->lookup_sql = NULL;
	c->lookup_marks = db_params_to_qmarks(sql, &q, &map, &c->lookup_at, err->msg, sizeof(err->msg));
	for (int k = 0; k < c->lookup_marks; k++) {
		if (map[k] != 0) {
			snprintf(err->msg, sizeof(err->msg), "the lookup takes one value, $1: it names $%d", map[k] + 1);
			c->lookup_marks = -1;
		}
	}
	free(map);
	if (c->lookup_marks < 0) {
		buf_free(&q);
		return -1;
	}
	if (mysql_stmt_prepare(c->lookup, q.data, q.len) != 0) {
		buf_free(&q);
		set_stmt_err(err, c->lookup);
		return -1;
	}
	/* Kept for lookup_many, which sends many at once as text. */
	c->lookup_sql = q.data;
	if (c->lookup_marks == 0) {
		snprintf(err->msg, sizeof(err->msg), "the lookup must take the file's name as $1 (or ?)");
		return -1;
	}
	return 0;
}

static int
my_lookup(struct db_conn *c, const char *param, char **value, struct db_err *err)
{
	MYSQL_STMT *st = c->lookup;
	MYSQL_BIND *in = xcalloc((size_t)c->lookup_marks, sizeof(*in)), out = { 0 };
	unsigned long inlen = strlen(param), outlen = 0;
	my_bool isnull = 0, trunc = 0;
	char small[512];
	int rc;

	*value = NULL;
	/* $1 may stand more than once: each '?' takes the name. */
	for (int k = 0; k < c->lookup_marks; k++) {
		in[k].buffer_type = MYSQL_TYPE_STRING;
		in[k].buffer = (void *)param;
		in[k].buffer_length = inlen;
		in[k].length = &inlen;
	}
	rc = mysql_stmt_bind_param(st, in) != 0 || mysql_stmt_execute(st) != 0;
	free(in);
	if (rc)
		goto fail;
	out.buffer_type = MYSQL_TYPE_STRING;
	out.buffer = small;
	out.buffer_length = sizeof(small);
	out.length = &outlen;
	out.is_null = &isnull;
	out.error = &trunc;
	if (mysql_stmt_bind_result(st, &out) != 0)
		goto fail;
	rc = mysql_stmt_fetch(st);
	if (rc == 1)
		goto fail;
	if (rc == MYSQL_NO_DATA || isnull) {
		mysql_stmt_free_result(st);
		return 0;
	}
	*value = xmalloc(outlen + 1);
	if (rc == MYSQL_DATA_TRUNCATED) {
		MYSQL_BIND again = { .buffer_type = MYSQL_TYPE_STRING, .buffer = *value,
		    .buffer_length = outlen + 1, .length = &outlen };
		if (mysql_stmt_fetch_column(st, &again, 0, 0) != 0) {
			free(*value);
			*value = NULL;
			goto fail;
		}
	} else {
		memcpy(*value, small, outlen);
	}
	(*value)[outlen] = '\0';
	mysql_stmt_free_result(st);
	return 1;

fail:
	set_stmt_err(err, st);
	mysql_stmt_free_result(st);
	return -1;
}

/*
 * Many lookups in one round trip.  The server has no pipeline for
 * prepared statements, so they go as one multi-statement query, the
 * lookup once per name with the name as a quoted literal (escaped by the
 * client library for the connection's character set, the way the prepared
 * statement's own text protocol would).  Each answers with a result of its
 * own, in order; an error stops the server there, and the lookups after
 * it are left "not run", to be done alone.
 */
static int
my_lookup_many(struct db_conn *c, struct db_lookup *l, size_t n, struct db_err *err)
{
	struct buf q = { 0 };
	size_t i, got = 0;
	int status;

	for (i = 0; i < n; i++)
		l[i].status = 2;
	if (c->lookup_sql == NULL || !single_statement(c->lookup_sql))
		return 0;
	for (i = 0; i < n; i++) {
		size_t plen = strlen(l[i].param), from = 0;
		char *lit = xmalloc(plen * 2 + 1);
		unsigned long litlen = mysql_real_escape_string(c->my, lit, l[i].param, plen);
		if (i > 0)
			buf_add(&q, ";\n", 2);
		for (int k = 0; k < c->lookup_marks; k++) {
			buf_add(&q, c->lookup_sql + from, c->lookup_at[k] - from);
			buf_add(&q, "'", 1);
			buf_add(&q, lit, litlen);
			buf_add(&q, "'", 1);
			from = c->lookup_at[k] + 1;
		}
		size_t len = strlen(c->lookup_sql + from);
		while (len > 0 && strchr("; \t\n", c->lookup_sql[from + len - 1]) != NULL)
			len--;
		buf_add(&q, c->lookup_sql + from, len);
		free(lit);
	}
	status = mysql_real_query(c->my, q.data, q.len);
	buf_free(&q);
	if (status != 0)
		goto failed;
	for (got = 0; got < n; got++) {
		MYSQL_RES *res = mysql_store_result(c->my);
		l[got].value = NULL;
		if (res == NULL) {
			if (mysql_field_count(c->my) != 0)
				goto failed;
			l[got].status = 0;
		} else {
			MYSQL_ROW row = mysql_fetch_row(res);
			unsigned long *len = row != NULL ? mysql_fetch_lengths(res) : NULL;
			if (row == NULL || mysql_num_fields(res) == 0 || row[0] == NULL) {
				l[got].status = 0;
			} else {
				l[got].value = xstrndup(row[0], len[0]);
				l[got].status = 1;
			}
			mysql_free_result(res);
		}
		l[got].done_at = now_mono();
		status = mysql_next_result(c->my);
		if (status > 0) {
			got++;
			goto failed;
		}
		if (status < 0)
			break;
	}
	return 0;

failed:
	set_err(err, c->my);
	if (err->lost) {
		for (i = 0; i < n; i++) {
			free(l[i].value);
			l[i].value = NULL;
			l[i].status = 2;
		}
		return -1;
	}
	/* The lookup at got failed: the server's answer for it; the rest are not run. */
	if (got < n) {
		l[got].status = -1;
		l[got].err = *err;
		l[got].done_at = now_mono();
	}
	/* Take what remains so that the connection is usable again. */
	while (mysql_more_results(c->my) && mysql_next_result(c->my) == 0)
		mysql_free_result(mysql_store_result(c->my));
	return 0;
}

static int
my_ping(struct db_conn *c)
{
	return mysql_ping(c->my) == 0 ? 0 : -1;
}

static void
my_quote(struct db_conn *c, struct buf *out, const char *s, size_t len)
{
	char *lit = xmalloc(len * 2 + 1);
	unsigned long n = mysql_real_escape_string(c->my, lit, s, len);

	buf_addstr(out, "'");
	buf_add(out, lit, n);
	buf_addstr(out, "'");
	free(lit);
}

static void
my_close(struct db_conn *c)
{
	if (c->lookup != NULL)
		mysql_stmt_close(c->lookup);
	if (c->stmt != NULL)
		mysql_stmt_close(c->stmt);
	free(c->map);
	free(c->lookup_sql);
	free(c->lookup_at);
	mysql_close(c->my);
	free(c);
}

const struct db_driver mpw_driver = {
	.name = "mysql",
	.begin_sql = "START TRANSACTION",
	.connect = my_connect,
	.exec = my_exec,
	.exec_many = my_exec_many,
	.prepare_stmt = my_prepare_stmt,
	.exec_prepared = my_exec_prepared,
	.prepare = my_prepare,
	.lookup = my_lookup,
	.lookup_many = my_lookup_many,
	.quote = my_quote,
	.ping = my_ping,
	.close = my_close,
};
