/*
 * SQL jobs: each job line is one statement, run on the worker's own
 * connection.  Rows go to the job's output as tab-separated lines.
 *
 * Jobs already queued in the worker are run as a group:
 *  - with [sql] batch = N > 1, up to N of them in one transaction.  If any
 *    fails, or the commit does, the transaction is rolled back and each
 *    job of the batch is run again alone, so one bad statement costs the
 *    others nothing and every job is still recorded on its own;
 *  - with batch = 1 on PostgreSQL, up to pipeline_depth of them pipelined:
 *    one round trip, but each statement still its own transaction, so
 *    results are the same as running them one by one.
 *
 * With [sql] statement, every job runs that one statement, prepared once
 * per connection, and the job line is its values: tab-separated fields in
 * COPY text, never pasted into SQL.
 *
 * When the connection is lost (the server restarted), the worker
 * reconnects with backoff, runs its init hook again (and prepares the
 * statement again), and runs again the jobs whose outcome it had not
 * seen.  A job whose statement reached the server just before the loss
 * may so run twice: jobs should be idempotent where that matters, or use
 * [sql] ledger.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "queue.h"
#include "util.h"

/*
 * How many batches a worker sends in one round trip (PostgreSQL): across
 * a network one batch per round trip leaves the connection idle most of
 * the time.
 */
#define BATCHES_IN_FLIGHT	8

/* How many values the prepared [sql] statement takes, on this worker's connection. */
static int stmt_nparams;

static int
prepare_statement(struct job_ctx *ctx, struct db_err *e)
{
	if (ctx->cfg->sql_statement == NULL)
		return 0;
	if (ctx->drv->prepare_stmt(ctx->db, ctx->cfg->sql_statement, &stmt_nparams, e) < 0)
		return -1;
	if (stmt_nparams == 0) {
		snprintf(e->msg, sizeof(e->msg), "it takes no values: name them $1, $2, ..., one per field of a job line");
		return -1;
	}
	return 0;
}

/* The connection is gone: get it back, with the statement prepared on it. */
static int
reconnect(struct job_ctx *ctx, struct db_err *e)
{
	if (job_db_reconnect(ctx, e) < 0)
		return -1;
	if (prepare_statement(ctx, e) < 0) {
		log_warnx("cannot prepare [sql] statement again: %s", e->msg);
		return -1;
	}
	return 0;
}

/* Whether a statement failed on a key that is there already. */
static bool
duplicate_key(const struct db_err *e)
{
	/* PostgreSQL, MySQL, SQLite (primary key, unique) */
	return strcmp(e->code, "23505") == 0 || strcmp(e->code, "1062") == 0 ||
	    strcmp(e->code, "1555") == 0 || strcmp(e->code, "2067") == 0;
}

/*
 * Make the ledger table if it is not there.  Workers start together, and
 * two CREATE TABLE IF NOT EXISTS at once can still collide on PostgreSQL:
 * then it is there, made by the other.
 */
static int
ledger_create(struct job_ctx *ctx, struct db_err *e)
{
	char *sql = xasprintf("CREATE TABLE IF NOT EXISTS %s (run VARCHAR(64) NOT NULL, seq BIGINT NOT NULL,"
	    " PRIMARY KEY (run, seq))", ctx->cfg->sql_ledger);
	int rc = -1;

	for (int tries = 0; tries < 3 && rc < 0; tries++) {
		memset(e, 0, sizeof(*e));
		rc = ctx->drv->exec(ctx->db, sql, NULL, e);
		if (rc < 0 && !duplicate_key(e))
			break;
	}
	free(sql);
	return rc;
}

static int
sql_check(const struct cfg *cfg, int *line, char *msg, size_t msglen)
{
	const char *s = cfg->sql_statement, *l = cfg->sql_ledger;

	/* The ledger's name goes into SQL text: a plain (optionally schema-qualified) name only. */
	if (l != NULL && (strspn(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != strlen(l) ||
	    strlen(l) > 120 || (l[0] >= '0' && l[0] <= '9') || l[0] == '.')) {
		*line = cfg_line(cfg, "sql", "ledger");
		snprintf(msg, msglen, "[sql] ledger: '%s' is not a table name (letters, digits, _ and a . before"
		    " the table for a schema)", l);
		return -1;
	}
	if (s == NULL)
		return 0;
	*line = cfg_line(cfg, "sql", "statement");
	if (s[strspn(s, " \t;")] == '\0') {
		snprintf(msg, msglen, "[sql] statement: empty");
		return -1;
	}
	if (strpbrk(s, "$?") == NULL) {
		snprintf(msg, msglen, "[sql] statement: it takes no values: name them $1, $2, ...,"
		    " one per tab-separated field of a job line");
		return -1;
	}
	return 0;
}

static int
sql_init(struct job_ctx *ctx, char *err, size_t errlen)
{
	struct db_err e = { 0 };

	if (ctx->drv->exec == NULL) {
		snprintf(err, errlen, "sql jobs need a database driver");
		return -1;
	}
	if (ctx->cfg->sql_statement != NULL && ctx->drv->prepare_stmt == NULL) {
		snprintf(err, errlen, "the %s driver cannot run a [sql] statement", ctx->drv->name);
		return -1;
	}
	if (ctx->cfg->sql_ledger != NULL && !ctx->dry_run && ledger_create(ctx, &e) < 0) {
		snprintf(err, errlen, "cannot make [sql] ledger %s: %s", ctx->cfg->sql_ledger, e.msg);
		return -1;
	}
	if (prepare_statement(ctx, &e) < 0) {
		if (e.code[0] != '\0')
			snprintf(err, errlen, "cannot prepare [sql] statement: %s (%s)", e.msg, e.code);
		else
			snprintf(err, errlen, "cannot prepare [sql] statement: %s", e.msg);
		return -1;
	}
	return 0;
}

/* Run one job's statement: its line, or the prepared statement with its values. */
static int
exec_job(struct job_ctx *ctx, struct job_item *it, struct db_err *e)
{
	if (it->arg != NULL)
		return ctx->drv->exec_prepared(ctx->db, it->arg, &it->out, e);
	return ctx->drv->exec(ctx->db, it->text, &it->out, e);
}

static bool
guarded(const struct job_ctx *ctx)
{
	return ctx->cfg->sql_ledger != NULL || queue_on(ctx->cfg);
}

static size_t
sql_group_max(const struct job_ctx *ctx)
{
	/* Batches (with a guard, every job is in one): several in one round trip where the driver can. */
	if (ctx->cfg->sql_batch > 1 || guarded(ctx))
		return (size_t)ctx->cfg->sql_batch *
		    (ctx->cfg->sql_pipeline && ctx->drv->exec_batches != NULL ? BATCHES_IN_FLIGHT : 1);
	return ctx->cfg->sql_pipeline && ctx->drv->exec_many != NULL ? (size_t)ctx->cfg->sql_depth : 1;
}

/*
 * A worker holds up to pipeline_depth jobs (or two whole batches), and
 * sends them in one round trip: a batch always, autocommit jobs with
 * pipeline = yes.  Whether the driver can pipeline is known in the worker
 * only; one that cannot runs the jobs it holds one by one, which costs only
 * the balance of the run's tail.
 */
static int
sql_window_max(const struct cfg *cfg, bool *pipelines)
{
	long max = cfg->sql_batch > 1 ? cfg->sql_batch * (BATCHES_IN_FLIGHT + 1) : cfg->sql_pipeline ? cfg->sql_depth : 64;

	/* A batch goes in one round trip too, pipeline or not. */
	*pipelines = cfg->sql_pipeline || cfg->sql_batch > 1;
	return max > 64 ? (int)max : 64;
}

static void
set_failed(struct job_item *it, const struct db_err *e)
{
	it->res.exitval = 1;
	if (e->code[0] != '\0')
		snprintf(it->res.reason, sizeof(it->res.reason), "%s (%s)", e->msg, e->code);
	else
		snprintf(it->res.reason, sizeof(it->res.reason), "%s", e->msg);
}

/* The worker could not get its connection back: fail the job, and the worker ends. */
static void
set_lost(struct job_ctx *ctx, struct job_item *it, const struct db_err *e)
{
	it->res.exitval = 1;
	snprintf(it->res.reason, sizeof(it->res.reason), "connection lost: %s", e->msg);
	ctx->terminated = true;
}

/*
 * A guard: the first statements of the transaction a job (or a batch of
 * them) runs in, so that the jobs and their record commit together or not
 * at all.
 *
 * [sql] ledger: the guard records the jobs (this run's name, their
 * numbers) in the ledger table.  A job the ledger has already is done:
 * whether the joblog missed it (mpworker was killed after the commit) or
 * the connection went at the COMMIT, it is not run again.
 *
 * [jobs] source = queue: the guard is the queue's fence.  It deletes the
 * jobs' rows, fenced by owner and (id, attempt), and fails unless the
 * queue still gave this host every one of them; so a job is done exactly
 * once, and an attempt whose lease went to another host never stands.
 */
struct guard {
	struct buf	sql[2];
	int		k;		/* statements: 0 (no guard), 1 or 2 */
};

static void
guard_make(const struct job_ctx *ctx, const struct job_item *items, size_t n, struct guard *g)
{
	memset(g, 0, sizeof(*g));
	if (queue_on(ctx->cfg)) {
		struct qtoken *t = xcalloc(n, sizeof(*t));
		for (size_t i = 0; i < n; i++)
			t[i] = (struct qtoken){ items[i].seq, items[i].attempt + 1 };
		g->k = queue_sql_fence(ctx->cfg, t, n, g->sql);
		free(t);
	} else if (ctx->cfg->sql_ledger != NULL) {
		buf_printf(&g->sql[0], "INSERT INTO %s (run, seq) VALUES ", ctx->cfg->sql_ledger);
		for (size_t i = 0; i < n; i++)
			buf_printf(&g->sql[0], "%s('%s', %" PRIu64 ")", i ? ", " : "", ctx->cfg->ledger_run,
			    items[i].seq);
		g->k = 1;
	}
}

static void
guard_free(struct guard *g)
{
	buf_free(&g->sql[0]);
	buf_free(&g->sql[1]);
}

/* Run the guard's statements: 0, or -1 with e. */
static int
guard_exec(struct job_ctx *ctx, const struct guard *g, struct db_err *e)
{
	for (int i = 0; i < g->k; i++)
		if (ctx->drv->exec(ctx->db, g->sql[i].data, NULL, e) < 0)
			return -1;
	return 0;
}

static void
rollback(struct job_ctx *ctx, const struct db_err *e)
{
	struct db_err ignored;

	if (!e->lost)
		ctx->drv->exec(ctx->db, "ROLLBACK", NULL, &ignored);
}

/* One job in its guarded transaction: 0 settled (done now or before, or fenced off), -1 failed (e). */
static int
guarded_alone(struct job_ctx *ctx, struct job_item *it, struct db_err *e)
{
	struct guard g;
	int rc;

	guard_make(ctx, it, 1, &g);
	if (ctx->drv->exec(ctx->db, ctx->drv->begin_sql, NULL, e) < 0) {
		guard_free(&g);
		return -1;
	}
	rc = guard_exec(ctx, &g, e);
	guard_free(&g);
	if (rc < 0 && ctx->cfg->sql_ledger != NULL && duplicate_key(e)) {
		rollback(ctx, e);
		log_info("job %" PRIu64 " was done before (the ledger has it): not run again", it->seq);
		return 0;
	}
	if (rc < 0 && queue_on(ctx->cfg) && queue_fence_refused(ctx->cfg, e)) {
		rollback(ctx, e);
		it->res.exitval = 1;
		it->res.flags |= JR_FENCED;
		snprintf(it->res.reason, sizeof(it->res.reason), "lease lost: the queue no longer gave this host"
		    " attempt %u of the job; nothing of it stands", it->attempt + 1);
		return 0;
	}
	if (rc < 0 || exec_job(ctx, it, e) < 0) {
		rollback(ctx, e);
		return -1;
	}
	if (ctx->drv->exec(ctx->db, "COMMIT", NULL, e) < 0) {
		rollback(ctx, e);
		return -1;
	}
	return 0;
}

/* Run one job on its own (autocommit), reconnecting as needed. */
static void
run_alone(struct job_ctx *ctx, struct job_item *it)
{
	struct db_err e;
	double t0 = now_mono();

	it->res.start = now_wall();
	for (;;) {
		if (ctx->db == NULL) {
			set_lost(ctx, it, &(struct db_err){ .msg = "no connection" });
			break;
		}
		memset(&e, 0, sizeof(e));
		buf_reset(&it->out);
		int rc = guarded(ctx) && !it->step ? guarded_alone(ctx, it, &e) : exec_job(ctx, it, &e);
		if (rc == 0)
			break;
		if (!e.lost) {
			set_failed(it, &e);
			break;
		}
		buf_reset(&it->out);
		if (reconnect(ctx, &e) < 0) {
			set_lost(ctx, it, &e);
			break;
		}
	}
	it->res.runtime = now_mono() - t0;
}

static void
run_each(struct job_ctx *ctx, struct job_item *items, size_t n)
{
	for (size_t i = 0; i < n && !ctx->terminated; i++)
		run_alone(ctx, &items[i]);
	/* What SIGTERM left unrun is not an attempt. */
	for (size_t i = 0; i < n; i++)
		if (ctx->terminated && items[i].res.start == 0)
			items[i].res.flags |= JR_ABORTED;
}

/*
 * The statements of jobs sent in one round trip: batches of per jobs one
 * after another, each led by its guard's statements (k of them) when the
 * jobs are guarded.  One batch of all the jobs (per = n) for exec_many.
 */
struct stmts {
	struct db_stmt	*st;
	size_t		 total;
	size_t		 k;		/* guard statements in each batch */
	struct guard	*g;		/* each batch's guard, or NULL */
	size_t		 nb;
};

static void
stmts_make(struct job_ctx *ctx, struct job_item *items, size_t n, size_t per, struct stmts *s)
{
	memset(s, 0, sizeof(*s));
	s->nb = (n + per - 1) / per;
	if (guarded(ctx))
		s->g = xcalloc(s->nb, sizeof(*s->g));
	for (size_t b = 0; s->g != NULL && b < s->nb; b++) {
		guard_make(ctx, items + b * per, per < n - b * per ? per : n - b * per, &s->g[b]);
		s->k = (size_t)s->g[b].k;
	}
	s->total = n + s->nb * s->k;
	s->st = xcalloc(s->total, sizeof(*s->st));
	for (size_t b = 0, at = 0; b < s->nb; b++) {
		for (size_t j = 0; j < s->k; j++)
			s->st[at++].sql = s->g[b].sql[j].data;
		for (size_t i = b * per; i < n && i < (b + 1) * per; i++) {
			s->st[at].sql = items[i].text;
			s->st[at].params = items[i].arg;
			s->st[at++].out = &items[i].out;
		}
	}
}

static void
stmts_free(struct stmts *s)
{
	for (size_t b = 0; s->g != NULL && b < s->nb; b++)
		guard_free(&s->g[b]);
	free(s->g);
	free(s->st);
}

/*
 * A group went in one round trip, sent at t0: the results after the first
 * came at the pace of the server's work, so the first one's wait beyond
 * that pace was the round trip.  The supervisor sizes windows from it.
 */
static void
note_latency(struct job_item *items, const struct db_stmt *st, size_t n, double t0)
{
	if (n < 2 || st[0].status == 1 || st[n - 1].status == 1)
		return;
	double pace = (st[n - 1].done_at - st[0].done_at) / (double)(n - 1);
	double wait = st[0].done_at - t0 - pace;
	items[0].res.latency = wait > 0 ? wait : 0;
}

/*
 * The jobs of a group that went in one round trip, sent at t0 (wall clock
 * start): each ran from the result before it to its own.  Statements not
 * run are passed over.
 */
static void
set_times(struct job_item *items, const struct db_stmt *st, size_t n, double t0, double start)
{
	double prev = t0;

	for (size_t i = 0; i < n; i++) {
		if (st[i].status == 1)
			continue;
		items[i].res.start = start;
		items[i].res.runtime = st[i].done_at - prev;
		prev = st[i].done_at;
	}
}

/* Jobs whose group did not stand start over: no output, no result yet. */
static void
start_over(struct job_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		buf_reset(&items[i].out);
		items[i].res = (struct job_result){ 0 };
	}
}

/*
 * Autocommit jobs in one pipeline.  Statements the pipeline did not
 * settle (the connection broke, or they cannot be pipelined) run alone.
 */
static void
run_pipelined(struct job_ctx *ctx, struct job_item *items, size_t n)
{
	struct stmts s;
	stmts_make(ctx, items, n, n, &s);
	struct db_stmt *st = s.st;
	struct db_err e = { 0 };
	double t0 = now_mono(), start = now_wall();
	int rc = ctx->drv->exec_many(ctx->db, st, n, false, &e);

	if (rc == 0 || rc < 0) {
		set_times(items, st, n, t0, start);
		for (size_t i = 0; i < n; i++)
			if (st[i].status < 0)
				set_failed(&items[i], &st[i].err);
	}
	if (rc == 0)
		note_latency(items, st, n, t0);
	if (rc < 0 && reconnect(ctx, &e) < 0) {
		for (size_t i = 0; i < n; i++)
			if (st[i].status == 1)
				set_lost(ctx, &items[i], &e);
	}
	for (size_t i = 0; i < n && !ctx->terminated; i++)
		if (rc == 1 || st[i].status == 1)
			run_alone(ctx, &items[i]);
	stmts_free(&s);
}

/* Run a batch in one transaction by hand: 0 committed, -1 not (e says whether lost). */
static int
run_tx(struct job_ctx *ctx, struct job_item *items, size_t n, struct db_err *e)
{
	if (ctx->drv->exec(ctx->db, ctx->drv->begin_sql, NULL, e) < 0)
		return -1;
	if (guarded(ctx)) {
		struct guard g;
		guard_make(ctx, items, n, &g);
		int rc = guard_exec(ctx, &g, e);
		guard_free(&g);
		if (rc < 0)
			goto rollback;
	}
	for (size_t i = 0; i < n; i++) {
		double t0 = now_mono();
		items[i].res.start = now_wall();
		if (exec_job(ctx, &items[i], e) < 0)
			goto rollback;
		items[i].res.runtime = now_mono() - t0;
	}
	if (ctx->drv->exec(ctx->db, "COMMIT", NULL, e) == 0)
		return 0;
rollback:
	rollback(ctx, e);
	return -1;
}

/*
 * A batch: one transaction.  If it does not commit, nothing of it
 * stands, and every job runs again alone so that only the bad one fails.
 */
static void
run_batch(struct job_ctx *ctx, struct job_item *items, size_t n)
{
	struct db_err e = { 0 };
	int rc = 1;

	if (ctx->cfg->sql_pipeline && ctx->drv->exec_many != NULL) {
		/* A guard's statements are the batch's first (st[0 .. k)). */
		struct stmts s;
		stmts_make(ctx, items, n, n, &s);
		struct db_stmt *st = s.st;
		size_t k = s.k;
		double t0 = now_mono(), start = now_wall();
		rc = ctx->drv->exec_many(ctx->db, st, n + k, true, &e);
		bool all = rc == 0;
		for (size_t i = 0; all && i < n + k; i++)
			all = st[i].status == 0;
		if (all) {
			set_times(items, st + k, n, t0, start);
			note_latency(items, st + k, n, t0);
		}
		stmts_free(&s);
		if (all)
			return;
		if (rc == 0)
			rc = -1;	/* it ran and failed: no need to try by hand */
		else if (rc < 0 && !e.lost)
			e.lost = true;
	}
	if (rc == 1 && run_tx(ctx, items, n, &e) == 0)
		return;
	start_over(items, n);
	if (e.lost && reconnect(ctx, &e) < 0) {
		for (size_t i = 0; i < n; i++)
			set_lost(ctx, &items[i], &e);
		return;
	}
	run_each(ctx, items, n);
}

static void run_plain(struct job_ctx *ctx, struct job_item *items, size_t n);

/*
 * More than one batch: in one round trip where the driver can.  The
 * batches before one that fails stand; that one's jobs run alone, so only
 * the bad one fails; the batches after it go again.
 */
static void
run_batches(struct job_ctx *ctx, struct job_item *items, size_t n)
{
	size_t per = (size_t)ctx->cfg->sql_batch, first = n;
	struct db_err e = { 0 };
	int rc = 1;

	if (ctx->cfg->sql_pipeline && ctx->drv->exec_batches != NULL) {
		struct stmts s;
		stmts_make(ctx, items, n, per, &s);
		struct db_stmt *ist = xcalloc(n, sizeof(*ist));
		double t0 = now_mono(), start = now_wall();
		rc = ctx->drv->exec_batches(ctx->db, s.st, s.total, per + s.k, &e);
		/* Each job's own statement, in the order of the items. */
		for (size_t i = 0; i < n; i++)
			ist[i] = s.st[(i / per) * (per + s.k) + s.k + i % per];
		for (first = 0; rc != 1 && first < n && ist[first].status == 0; first++)
			;
		if (rc != 1)
			set_times(items, ist, first, t0, start);
		if (rc == 0 && first == n)
			note_latency(items, ist, n, t0);
		free(ist);
		stmts_free(&s);
	}
	if (rc == 1) {
		/* The driver cannot: one batch at a time. */
		for (size_t k = 0; k < n && !ctx->terminated; k += per)
			run_batch(ctx, items + k, per < n - k ? per : n - k);
		return;
	}
	if (first == n)
		return;
	/* From the first batch that did not stand: its jobs' outputs and results start over. */
	first -= first % per;
	start_over(items + first, n - first);
	if (rc < 0 && reconnect(ctx, &e) < 0) {
		for (size_t i = first; i < n; i++)
			set_lost(ctx, &items[i], &e);
		return;
	}
	size_t m = per < n - first ? per : n - first;
	if (rc < 0)
		run_plain(ctx, items + first, n - first);	/* the connection went: all of it again */
	else {
		run_each(ctx, items + first, m);		/* the batch that failed: each alone */
		if (first + m < n)
			run_plain(ctx, items + first + m, n - first - m);
	}
}

static void
run_plain(struct job_ctx *ctx, struct job_item *items, size_t n)
{
	if (ctx->dry_run) {
		for (size_t i = 0; i < n; i++) {
			buf_add(&items[i].out, items[i].text, items[i].len);
			buf_add(&items[i].out, "\n", 1);
		}
		return;
	}
	if (ctx->db == NULL || ctx->terminated) {
		/* An earlier reconnect failed: this worker is on its way out. */
		run_each(ctx, items, n);
		return;
	}
	if ((ctx->cfg->sql_batch > 1 || guarded(ctx)) && n > (size_t)ctx->cfg->sql_batch)
		run_batches(ctx, items, n);
	else if ((ctx->cfg->sql_batch > 1 && n > 1) || guarded(ctx))
		run_batch(ctx, items, n);
	else if (n > 1 && ctx->drv->exec_many != NULL)
		run_pipelined(ctx, items, n);
	else
		run_each(ctx, items, n);
}

/*
 * With [sql] statement: each line's values, checked against the
 * statement before anything runs.  A line that does not fit is a failed
 * job; the runs of good lines between such lines go as groups.
 */
static void
sql_run_group(struct job_ctx *ctx, struct job_item *items, size_t n)
{
	static struct db_params *p;
	static size_t cap;
	char why[256];

	if (n == 1 && items[0].step) {
		/* A step's own statement, in a transaction of its own, unguarded. */
		if (ctx->dry_run || ctx->db == NULL || ctx->terminated)
			run_plain(ctx, items, n);
		else
			run_alone(ctx, &items[0]);
		return;
	}
	if (ctx->cfg->sql_statement == NULL) {
		run_plain(ctx, items, n);
		return;
	}
	if (n > cap) {
		p = xrealloc(p, n * sizeof(*p));
		cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct job_item *it = &items[i];
		if (db_params_parse(&p[i], it->text, it->len, why, sizeof(why)) == 0) {
			if (p[i].n == stmt_nparams) {
				it->arg = &p[i];
				continue;
			}
			snprintf(why, sizeof(why), "the statement takes %d value%s; the line has %d field%s",
			    stmt_nparams, stmt_nparams == 1 ? "" : "s", p[i].n, p[i].n == 1 ? "" : "s");
		}
		it->res.start = now_wall();
		it->res.exitval = 1;
		snprintf(it->res.reason, sizeof(it->res.reason), "%s; not run", why);
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && items[j].arg != NULL; j++)
			;
		if (j > i)
			run_plain(ctx, items + i, j - i);
		else
			j++;
	}
	for (size_t i = 0; i < n; i++)
		db_params_free(&p[i]);
}

/*
 * A worker that has waited a while for work checks that its connection
 * still answers, and if the server went away meanwhile (restarted, or
 * closed an idle session), reconnects now rather than on the next job.
 */
static void
sql_idle(struct job_ctx *ctx)
{
	struct db_err e = { .msg = "the server did not answer a liveness check" };

	if (ctx->dry_run || ctx->db == NULL || ctx->drv->ping == NULL || ctx->drv->ping(ctx->db) == 0)
		return;
	if (reconnect(ctx, &e) < 0)
		ctx->terminated = true;
}

const struct job_kind job_sql = {
	.name = "sql",
	.needs_db = true,
	.check = sql_check,
	.init = sql_init,
	.group_max = sql_group_max,
	.window_max = sql_window_max,
	.run_group = sql_run_group,
	.idle = sql_idle,
};
