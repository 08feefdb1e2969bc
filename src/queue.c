/* The queue table's SQL: see queue.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "db.h"
#include "queue.h"
#include "util.h"

#define NAME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

bool
queue_on(const struct cfg *cfg)
{
	return cfg->source != NULL && strcmp(cfg->source, "queue") == 0;
}

static bool
pg(const struct cfg *cfg)
{
	return strcmp(cfg->driver, "postgresql") == 0;
}

/* The table's own name, without a schema: indexes and the channel are named from it. */
static const char *
short_name(const struct cfg *cfg)
{
	const char *dot = strrchr(cfg->q_table, '.');

	return dot != NULL ? dot + 1 : cfg->q_table;
}

int
queue_check(const struct cfg *cfg, int *line, char *msg, size_t msglen)
{
	const char *t = cfg->q_table, *n = cfg->q_name, *dot = strchr(t, '.');

	if (!queue_on(cfg))
		return 0;
	*line = cfg_line(cfg, "jobs", "source");
	if (!pg(cfg) && strcmp(cfg->driver, "mysql") != 0)
		return snprintf(msg, msglen, "[jobs] source: a queue lives in PostgreSQL or MariaDB/MySQL"
		    " ([database] driver = postgresql or mysql), not %s", cfg->driver), -1;
	if (cfg->keep_order)
		return snprintf(msg, msglen, "[jobs] source: a queue has no input order to keep:"
		    " [output] keep_order does not apply"), -1;
	if (cfg->watch)
		return snprintf(msg, msglen, "[jobs] source: with a queue, [rename] watch does not apply:"
		    " enqueue the files that arrive"), -1;
	*line = cfg_line(cfg, "queue", "table");
	/* The names go into SQL text: plain names only. */
	if (strspn(t, NAME_CHARS ".") != strlen(t) || strlen(t) > 50 || t[0] == '\0' || t[0] == '.' ||
	    (t[0] >= '0' && t[0] <= '9') || (dot != NULL && (strchr(dot + 1, '.') != NULL || dot[1] == '\0')))
		return snprintf(msg, msglen, "[queue] table: '%s' is not a table name (letters, digits, _,"
		    " and a . before the table for a schema; at most 50)", t), -1;
	*line = cfg_line(cfg, "queue", "name");
	if (strspn(n, NAME_CHARS ".:-") != strlen(n) || strlen(n) > 64 || n[0] == '\0')
		return snprintf(msg, msglen, "[queue] name: '%s' is not a queue name (letters, digits, _ . : -;"
		    " at most 64)", n), -1;
	if (cfg->q_backoff_max < cfg->q_backoff) {
		*line = cfg_line(cfg, "queue", "backoff_max");
		return snprintf(msg, msglen, "[queue] backoff_max: shorter than backoff"), -1;
	}
	return 0;
}

int
queue_set_owner(struct cfg *cfg, char *err, size_t errlen)
{
	char host[64] = "", nonce[9];
	size_t i;

	if (random_hex(nonce, 8) < 0)
		return snprintf(err, errlen, "getrandom: %s", strerror(errno)), -1;
	gethostname(host, sizeof(host) - 1);
	for (i = 0; host[i] != '\0'; i++)
		if (strchr(NAME_CHARS ".-", host[i]) == NULL)
			host[i] = '_';
	snprintf(cfg->q_owner, sizeof(cfg->q_owner), "%s:%d:%s", host[0] ? host : "host", (int)getpid(), nonce);
	return 0;
}

/* "id IN (...) AND owner = 'o' AND (id, attempt) IN (...)": the fence of t[0..n). */
static void
where_tokens(const struct cfg *cfg, const struct qtoken *t, size_t n, struct buf *q)
{
	buf_addstr(q, "id IN (");
	for (size_t i = 0; i < n; i++)
		buf_printf(q, "%s%" PRIu64, i ? "," : "", t[i].id);
	buf_printf(q, ") AND owner = '%s' AND (id, attempt) IN (", cfg->q_owner);
	for (size_t i = 0; i < n; i++)
		buf_printf(q, "%s(%" PRIu64 ",%" PRIu32 ")", i ? "," : "", t[i].id, t[i].attempt);
	buf_addstr(q, ")");
}

/* now() plus secs, on the database's clock. */
static void
later(const struct cfg *cfg, double secs, struct buf *q)
{
	if (pg(cfg))
		buf_printf(q, "now() + interval '%.6f seconds'", secs);
	else
		buf_printf(q, "NOW(6) + INTERVAL %.0f MICROSECOND", secs * 1e6);
}

void
queue_sql_create(const struct cfg *cfg, struct buf *q)
{
	const char *t = cfg->q_table, *s = short_name(cfg);

	if (pg(cfg)) {
		/* Quiet: IF NOT EXISTS notices are no news. */
		buf_addstr(q, "SET client_min_messages = warning;\n");
		buf_printf(q, "CREATE TABLE IF NOT EXISTS %s (id bigserial PRIMARY KEY,"
		    " queue varchar(64) NOT NULL DEFAULT 'default', job text NOT NULL,"
		    " priority integer NOT NULL DEFAULT 0, run_at timestamptz NOT NULL DEFAULT now(),"
		    " attempt integer NOT NULL DEFAULT 0, owner varchar(128), lease_until timestamptz,"
		    " last_error text, created_at timestamptz NOT NULL DEFAULT now());\n", t);
		/* The claim's ORDER BY, over the jobs nobody holds only. */
		buf_printf(q, "CREATE INDEX IF NOT EXISTS %s_ready ON %s (queue, priority, run_at, id)"
		    " WHERE owner IS NULL;\n", s, t);
		buf_printf(q, "CREATE INDEX IF NOT EXISTS %s_owner ON %s (owner) WHERE owner IS NOT NULL;\n", s, t);
		buf_printf(q, "CREATE INDEX IF NOT EXISTS %s_lease ON %s (lease_until) WHERE owner IS NOT NULL;\n", s, t);
		buf_printf(q, "CREATE TABLE IF NOT EXISTS %s_dead (id bigint PRIMARY KEY, queue varchar(64) NOT NULL,"
		    " job text NOT NULL, priority integer NOT NULL, attempt integer NOT NULL, last_error text,"
		    " created_at timestamptz NOT NULL, died_at timestamptz NOT NULL DEFAULT now());\n", t);
		buf_printf(q, "CREATE INDEX IF NOT EXISTS %s_dead_queue ON %s_dead (queue, id)", s, t);
		return;
	}
	/* The ready index serves WHERE queue = ? AND owner IS NULL ORDER BY priority, run_at, id. */
	buf_printf(q, "CREATE TABLE IF NOT EXISTS %s (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
	    " queue VARCHAR(64) NOT NULL DEFAULT 'default', job LONGBLOB NOT NULL,"
	    " priority INT NOT NULL DEFAULT 0, run_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
	    " attempt INT NOT NULL DEFAULT 0, owner VARCHAR(128) NULL, lease_until DATETIME(6) NULL,"
	    " last_error TEXT NULL, created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),"
	    " KEY %s_ready (queue, owner, priority, run_at, id), KEY %s_owner (owner),"
	    " KEY %s_lease (lease_until)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n", t, s, s, s);
	buf_printf(q, "CREATE TABLE IF NOT EXISTS %s_dead (id BIGINT NOT NULL PRIMARY KEY,"
	    " queue VARCHAR(64) NOT NULL, job LONGBLOB NOT NULL, priority INT NOT NULL, attempt INT NOT NULL,"
	    " last_error TEXT NULL, created_at DATETIME(6) NOT NULL,"
	    " died_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY %s_dead_queue (queue, id))"
	    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin", t, s);
}

void
queue_sql_probe(const struct cfg *cfg, struct buf *q)
{
	buf_printf(q, "SELECT id, queue, job, priority, run_at, attempt, owner, lease_until, last_error, created_at"
	    " FROM %s WHERE 1 = 0;\n", cfg->q_table);
	buf_printf(q, "SELECT id, queue, job, priority, attempt, last_error, created_at, died_at"
	    " FROM %s_dead WHERE 1 = 0", cfg->q_table);
}

void
queue_sql_heartbeat(const struct cfg *cfg, double lease, struct buf *q)
{
	buf_printf(q, "UPDATE %s SET lease_until = ", cfg->q_table);
	later(cfg, lease, q);
	/* Rows being completed are locked, and about to go: not waited for. */
	if (pg(cfg))
		buf_printf(q, " WHERE id IN (SELECT id FROM %s WHERE owner = '%s' FOR UPDATE SKIP LOCKED)",
		    cfg->q_table, cfg->q_owner);
	else
		buf_printf(q, " WHERE owner = '%s'", cfg->q_owner);
}

void
queue_sql_exists(const struct cfg *cfg, struct buf *q)
{
	buf_printf(q, "SELECT (SELECT count(*) FROM (SELECT 1 FROM %s WHERE queue = '%s' LIMIT 1) x), ",
	    cfg->q_table, cfg->q_name);
	if (pg(cfg))
		buf_printf(q, "(SELECT round(EXTRACT(EPOCH FROM min(run_at) - now())::numeric, 3) FROM %s"
		    " WHERE queue = '%s' AND owner IS NULL)", cfg->q_table, cfg->q_name);
	else
		buf_printf(q, "(SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), MIN(run_at)) / 1e6 FROM %s"
		    " WHERE queue = '%s' AND owner IS NULL)", cfg->q_table, cfg->q_name);
}

void
queue_sql_counts(const struct cfg *cfg, struct buf *q)
{
	const char *t = cfg->q_table, *n = cfg->q_name;

	if (pg(cfg))
		buf_printf(q, "SELECT count(*) FILTER (WHERE owner IS NULL AND run_at <= now()),"
		    " count(*) FILTER (WHERE owner IS NOT NULL), count(*) FILTER (WHERE owner IS NULL AND run_at > now()),"
		    " (SELECT count(*) FROM %s_dead WHERE queue = '%s'),"
		    " round(COALESCE(EXTRACT(EPOCH FROM now() - min(run_at) FILTER (WHERE owner IS NULL AND run_at <= now())),"
		    " 0)::numeric, 3) FROM %s WHERE queue = '%s'", t, n, t, n);
	else
		buf_printf(q, "SELECT COALESCE(SUM(owner IS NULL AND run_at <= NOW(6)), 0),"
		    " COALESCE(SUM(owner IS NOT NULL), 0), COALESCE(SUM(owner IS NULL AND run_at > NOW(6)), 0),"
		    " (SELECT COUNT(*) FROM %s_dead WHERE queue = '%s'),"
		    " ROUND(COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(IF(owner IS NULL AND run_at <= NOW(6), run_at, NULL)),"
		    " NOW(6)) / 1e6, 0), 3) FROM %s WHERE queue = '%s'", t, n, t, n);
}

void
queue_sql_notify(const struct cfg *cfg, struct buf *q)
{
	if (pg(cfg))
		buf_printf(q, "SELECT pg_notify('%s', '%s')", short_name(cfg), cfg->q_name);
}

void
queue_sql_listen(const struct cfg *cfg, struct buf *q)
{
	if (pg(cfg))
		buf_printf(q, "LISTEN %s", short_name(cfg));
}

int
queue_sql_fence(const struct cfg *cfg, const struct qtoken *t, size_t n, struct buf fence[2])
{
	if (pg(cfg)) {
		buf_printf(&fence[0], "WITH d AS (DELETE FROM %s WHERE ", cfg->q_table);
		where_tokens(cfg, t, n, &fence[0]);
		/* Not every row was ours: a cast that fails, so the transaction cannot commit. */
		buf_printf(&fence[0], " RETURNING 1) SELECT CAST(CASE WHEN count(*) = %zu THEN '1'"
		    " ELSE 'mpworker: lease lost' END AS integer) FROM d", n);
		return 1;
	}
	buf_printf(&fence[0], "DELETE FROM %s WHERE ", cfg->q_table);
	where_tokens(cfg, t, n, &fence[0]);
	/* A subquery of two rows where one is wanted: error 1242, unless every row was ours. */
	buf_printf(&fence[1], "SELECT IF(ROW_COUNT() = %zu, 1, (SELECT 1 UNION ALL SELECT 2))", n);
	return 2;
}

bool
queue_fence_refused(const struct cfg *cfg, const struct db_err *e)
{
	if (pg(cfg))
		return strcmp(e->code, "22P02") == 0 && strstr(e->msg, "mpworker: lease lost") != NULL;
	return strcmp(e->code, "1242") == 0;
}

/* The first column of the last row of out (not empty), as a number. */
static long
last_number(const struct buf *out)
{
	const char *p = out->data, *end = out->data + out->len;

	end--;			/* the last row's newline */
	while (end > p && end[-1] != '\n')
		end--;
	return strtol(end, NULL, 10);
}

/* Run q; the number its last row starts with (a count; none is 0), or -1 with e. */
static long
run_count(const struct db_driver *drv, struct db_conn *c, const char *q, struct db_err *e)
{
	struct buf out = { 0 };
	long v = -1;

	if (drv->exec(c, q, &out, e) == 0)
		v = out.len > 0 ? last_number(&out) : 0;
	buf_free(&out);
	return v;
}

/* Run stmt, counting the rows it changed: "WITH d AS (stmt RETURNING 1) ..." or "stmt; SELECT ROW_COUNT()". */
static long
run_counted(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg, const char *stmt,
    struct db_err *e)
{
	struct buf q = { 0 };
	long r;

	if (pg(cfg))
		buf_printf(&q, "WITH d AS (%s RETURNING 1) SELECT count(*) FROM d", stmt);
	else
		buf_printf(&q, "%s;\nSELECT ROW_COUNT()", stmt);
	r = run_count(drv, c, q.data, e);
	buf_free(&q);
	return r;
}

static void
rollback(const struct db_driver *drv, struct db_conn *c, const struct db_err *e)
{
	struct db_err ignored;

	if (!e->lost)
		drv->exec(c, "ROLLBACK", NULL, &ignored);
}

/* Rows of "id \t attempt \t job" into jobs; how many. */
static size_t
take_jobs(const struct buf *out, struct qjob *jobs, size_t max)
{
	const char *p = out->data, *end = out->data + out->len;
	size_t n = 0;

	while (p != NULL && p < end && n < max) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct db_params f;
		char why[128];
		if (nl == NULL)
			break;
		if (db_params_parse(&f, p, (size_t)(nl - p), why, sizeof(why)) == 0 && f.n == 3 &&
		    f.v[0] != NULL && f.v[1] != NULL && f.v[2] != NULL) {
			jobs[n].t.id = strtoull(f.v[0], NULL, 10);
			jobs[n].t.attempt = (uint32_t)strtoul(f.v[1], NULL, 10);
			jobs[n].len = (size_t)f.len[2];
			jobs[n].text = xmalloc(jobs[n].len + 1);
			memcpy(jobs[n].text, f.v[2], jobs[n].len + 1);
			n++;
		} else {
			/* A job's text with a NUL byte (put in by hand): it goes as a job that says so. */
			const char *tab = memchr(p, '\t', (size_t)(nl - p));
			const char *tab2 = tab != NULL ? memchr(tab + 1, '\t', (size_t)(nl - tab - 1)) : NULL;
			if (tab2 != NULL) {
				jobs[n].t.id = strtoull(p, NULL, 10);
				jobs[n].t.attempt = (uint32_t)strtoul(tab + 1, NULL, 10);
				jobs[n].len = 1;
				jobs[n].text = xmalloc(2);
				memcpy(jobs[n].text, "\0", 2);
				n++;
			}
		}
		db_params_free(&f);
		p = nl + 1;
	}
	return n;
}

long
queue_claim(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg, double lease,
    size_t want, struct qjob **jobs, struct db_err *e)
{
	struct buf q = { 0 }, out = { 0 };
	long n = -1;

	*jobs = NULL;
	if (pg(cfg)) {
		/* The selection in a CTE: its LIMIT holds, whatever the plan. */
		buf_printf(&q, "WITH c AS (SELECT id FROM %s WHERE queue = '%s' AND owner IS NULL AND run_at <= now()"
		    " ORDER BY priority, run_at, id LIMIT %zu FOR UPDATE SKIP LOCKED)"
		    " UPDATE %s AS j SET owner = '%s', attempt = j.attempt + 1, lease_until = ",
		    cfg->q_table, cfg->q_name, want, cfg->q_table, cfg->q_owner);
		later(cfg, lease, &q);
		buf_addstr(&q, " FROM c WHERE j.id = c.id RETURNING j.id, j.attempt, j.job");
		if (drv->exec(c, q.data, &out, e) == 0)
			n = 0;
	} else {
		/* No UPDATE ... RETURNING: lock the rows, mark them, read them, in one short transaction. */
		buf_printf(&q, "START TRANSACTION;\nSELECT id FROM %s WHERE queue = '%s' AND owner IS NULL"
		    " AND run_at <= NOW(6) ORDER BY priority, run_at, id LIMIT %zu FOR UPDATE SKIP LOCKED",
		    cfg->q_table, cfg->q_name, want);
		if (drv->exec(c, q.data, &out, e) < 0) {
			rollback(drv, c, e);
			goto done;
		}
		if (out.len == 0) {
			n = drv->exec(c, "COMMIT", NULL, e) == 0 ? 0 : -1;
			goto done;
		}
		struct buf ids = { 0 };
		for (char *p = out.data; p < out.data + out.len; ) {
			char *nl = memchr(p, '\n', (size_t)(out.data + out.len - p));
			buf_printf(&ids, "%s%.*s", ids.len ? "," : "", (int)(nl - p), p);
			p = nl + 1;
		}
		buf_reset(&q);
		buf_reset(&out);
		buf_printf(&q, "UPDATE %s SET owner = '%s', attempt = attempt + 1, lease_until = ",
		    cfg->q_table, cfg->q_owner);
		later(cfg, lease, &q);
		buf_printf(&q, " WHERE id IN (%s);\nSELECT id, attempt, job FROM %s WHERE id IN (%s);\nCOMMIT",
		    ids.data, cfg->q_table, ids.data);
		buf_free(&ids);
		if (drv->exec(c, q.data, &out, e) == 0)
			n = 0;
		else
			rollback(drv, c, e);
	}
	if (n == 0) {
		*jobs = xcalloc(want, sizeof(**jobs));
		n = (long)take_jobs(&out, *jobs, want);
	}
done:
	buf_free(&q);
	buf_free(&out);
	return n;
}

/* A change to the rows of t[0..n) that are still this host's (stmt names the table and what to set). */
static long
fenced_change(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg, const char *stmt,
    const struct qtoken *t, size_t n, struct db_err *e)
{
	struct buf s = { 0 };
	long r;

	buf_printf(&s, "%s WHERE ", stmt);
	where_tokens(cfg, t, n, &s);
	r = run_counted(drv, c, cfg, s.data, e);
	buf_free(&s);
	return r;
}

long
queue_complete(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
    const struct qtoken *t, size_t n, struct db_err *e)
{
	char stmt[128];

	snprintf(stmt, sizeof(stmt), "DELETE FROM %s", cfg->q_table);
	return fenced_change(drv, c, cfg, stmt, t, n, e);
}

long
queue_release(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
    const struct qtoken *t, size_t n, struct db_err *e)
{
	char stmt[160];

	/* Never run: the claim is undone, attempt and all. */
	snprintf(stmt, sizeof(stmt), "UPDATE %s SET owner = NULL, lease_until = NULL, attempt = attempt - 1",
	    cfg->q_table);
	return fenced_change(drv, c, cfg, stmt, t, n, e);
}

long
queue_disown(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
    const struct qtoken *held, size_t n, struct db_err *e)
{
	struct buf s = { 0 };
	long r;

	buf_printf(&s, "UPDATE %s SET last_error = 'its host lost the outcome (its claimer died)', owner = NULL,"
	    " lease_until = NULL, run_at = %s WHERE owner = '%s'", cfg->q_table, pg(cfg) ? "now()" : "NOW(6)",
	    cfg->q_owner);
	if (n > 0) {
		buf_addstr(&s, " AND (id, attempt) NOT IN (");
		for (size_t i = 0; i < n; i++)
			buf_printf(&s, "%s(%" PRIu64 ",%" PRIu32 ")", i ? "," : "", held[i].id, held[i].attempt);
		buf_addstr(&s, ")");
	}
	r = run_counted(drv, c, cfg, s.data, e);
	buf_free(&s);
	return r;
}

long
queue_fail(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
    const struct qtoken *t, const char *why, double delay, bool dead, struct db_err *e)
{
	struct buf q = { 0 }, lit = { 0 }, w = { 0 };
	long r;

	drv->quote(c, &lit, why, strlen(why));
	where_tokens(cfg, t, 1, &w);
	if (!dead) {
		buf_printf(&q, "UPDATE %s SET last_error = %s, owner = NULL, lease_until = NULL, run_at = ",
		    cfg->q_table, lit.data);
		later(cfg, delay, &q);
		buf_printf(&q, " WHERE %s", w.data);
		r = run_counted(drv, c, cfg, q.data, e);
		goto done;
	}
	if (pg(cfg)) {
		buf_printf(&q, "WITH d AS (DELETE FROM %s WHERE %s RETURNING *), i AS (INSERT INTO %s_dead"
		    " (id, queue, job, priority, attempt, last_error, created_at) SELECT id, queue, job, priority,"
		    " attempt, %s, created_at FROM d RETURNING 1) SELECT count(*) FROM i",
		    cfg->q_table, w.data, cfg->q_table, lit.data);
	} else {
		buf_printf(&q, "START TRANSACTION;\nSELECT id FROM %s WHERE %s FOR UPDATE;\n", cfg->q_table, w.data);
		buf_printf(&q, "INSERT INTO %s_dead (id, queue, job, priority, attempt, last_error, created_at)"
		    " SELECT id, queue, job, priority, attempt, %s, created_at FROM %s WHERE %s;\nSELECT ROW_COUNT();\n",
		    cfg->q_table, lit.data, cfg->q_table, w.data);
		buf_printf(&q, "DELETE FROM %s WHERE %s;\nCOMMIT", cfg->q_table, w.data);
	}
	r = run_count(drv, c, q.data, e);
	if (r < 0 && !pg(cfg))
		rollback(drv, c, e);
done:
	buf_free(&q);
	buf_free(&lit);
	buf_free(&w);
	return r;
}

/*
 * Dead jobs back in the queue, ready now with their attempts from none
 * (ids, or all of the queue's when n is 0): how many, or -1 with e.
 */
long
queue_revive(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
    const uint64_t *ids, size_t n, struct db_err *e)
{
	struct buf which = { 0 }, ins = { 0 }, q = { 0 };
	long r;

	buf_printf(&which, "queue = '%s'", cfg->q_name);
	if (n > 0) {
		buf_addstr(&which, " AND id IN (");
		for (size_t i = 0; i < n; i++)
			buf_printf(&which, "%s%" PRIu64, i ? "," : "", ids[i]);
		buf_addstr(&which, ")");
	}
	buf_printf(&ins, "INSERT INTO %s (id, queue, job, priority, run_at, attempt, last_error, created_at)"
	    " SELECT id, queue, job, priority, %s, 0, last_error, created_at FROM %s_dead WHERE %s",
	    cfg->q_table, pg(cfg) ? "now()" : "NOW(6)", cfg->q_table, which.data);
	/* The count is the INSERT's: the DELETE and COMMIT after it return no rows. */
	buf_printf(&q, "%s;\n", pg(cfg) ? "BEGIN" : "START TRANSACTION");
	if (pg(cfg))
		buf_printf(&q, "WITH i AS (%s RETURNING 1) SELECT count(*) FROM i;\n", ins.data);
	else
		buf_printf(&q, "%s;\nSELECT ROW_COUNT();\n", ins.data);
	buf_printf(&q, "DELETE FROM %s_dead WHERE %s;\nCOMMIT", cfg->q_table, which.data);
	r = run_count(drv, c, q.data, e);
	if (r < 0)
		rollback(drv, c, e);
	buf_free(&which);
	buf_free(&ins);
	buf_free(&q);
	return r;
}

long
queue_rescue(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg, long *died, struct db_err *e)
{
	struct buf q = { 0 }, out = { 0 };
	const char *t = cfg->q_table;
	long back = -1;

	*died = 0;
	if (pg(cfg)) {
		/* One guarded statement: rows being completed or heartbeated are locked, and passed over. */
		buf_printf(&q, "WITH x AS (SELECT id, attempt, owner FROM %s WHERE queue = '%s' AND owner IS NOT NULL"
		    " AND lease_until < now() ORDER BY id LIMIT %d FOR UPDATE SKIP LOCKED),"
		    " d AS (DELETE FROM %s j USING x WHERE j.id = x.id AND x.attempt >= %ld RETURNING j.*),"
		    " i AS (INSERT INTO %s_dead (id, queue, job, priority, attempt, last_error, created_at)"
		    " SELECT id, queue, job, priority, attempt, 'its lease expired on ' || owner, created_at FROM d"
		    " RETURNING 1),"
		    " u AS (UPDATE %s j SET last_error = 'its lease expired on ' || x.owner, owner = NULL,"
		    " lease_until = NULL, run_at = now() FROM x WHERE j.id = x.id AND x.attempt < %ld RETURNING 1)"
		    " SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM i)",
		    t, cfg->q_name, QUEUE_RESCUE_MAX, t, cfg->q_attempts, t, t, cfg->q_attempts);
		if (drv->exec(c, q.data, &out, e) == 0 && out.len > 0) {
			char *tab;
			back = strtol(out.data, &tab, 10);
			*died = strtol(tab, NULL, 10);
		}
		goto done;
	}
	buf_printf(&q, "START TRANSACTION;\nSELECT id, attempt FROM %s WHERE lease_until < NOW(6) AND queue = '%s'"
	    " AND owner IS NOT NULL LIMIT %d FOR UPDATE SKIP LOCKED", t, cfg->q_name, QUEUE_RESCUE_MAX);
	if (drv->exec(c, q.data, &out, e) < 0) {
		rollback(drv, c, e);
		goto done;
	}
	struct buf dead = { 0 }, live = { 0 };
	for (char *p = out.data; p != NULL && p < out.data + out.len; ) {
		char *tab, *nl = memchr(p, '\n', (size_t)(out.data + out.len - p));
		unsigned long long id = strtoull(p, &tab, 10);
		long attempt = strtol(tab, NULL, 10);
		struct buf *to = attempt >= cfg->q_attempts ? &dead : &live;
		buf_printf(to, "%s%llu", to->len ? "," : "", id);
		if (to == &dead)
			(*died)++;
		else
			back = back < 0 ? 1 : back + 1;
		p = nl + 1;
	}
	if (back < 0)
		back = 0;
	buf_reset(&q);
	if (dead.len > 0) {
		buf_printf(&q, "INSERT INTO %s_dead (id, queue, job, priority, attempt, last_error, created_at)"
		    " SELECT id, queue, job, priority, attempt, CONCAT('its lease expired on ', owner), created_at"
		    " FROM %s WHERE id IN (%s);\nDELETE FROM %s WHERE id IN (%s);\n", t, t, dead.data, t, dead.data);
	}
	if (live.len > 0)
		buf_printf(&q, "UPDATE %s SET last_error = CONCAT('its lease expired on ', owner), owner = NULL,"
		    " lease_until = NULL, run_at = NOW(6) WHERE id IN (%s);\n", t, live.data);
	buf_addstr(&q, "COMMIT");
	if (drv->exec(c, q.data, NULL, e) < 0) {
		rollback(drv, c, e);
		back = -1;
		*died = 0;
	}
	buf_free(&dead);
	buf_free(&live);
done:
	buf_free(&q);
	buf_free(&out);
	return back;
}

double
queue_backoff(const struct cfg *cfg, uint32_t attempt)
{
	double d = cfg->q_backoff * pow(2, attempt > 1 ? attempt - 1 : 0);

	if (d > cfg->q_backoff_max)
		d = cfg->q_backoff_max;
	/* Full jitter over the upper half: retries of a burst of failures spread out. */
	return d * (0.5 + 0.5 * random_fraction());
}
