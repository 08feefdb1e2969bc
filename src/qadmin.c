/*
 * The queue's commands: --queue-init, --enqueue, --queue-status and
 * --queue-retry.  Each runs in this process on one connection (the
 * supervisor is not involved), and returns an exit code.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "jobsrc.h"
#include "log.h"
#include "qadmin.h"
#include "queue.h"
#include "supervisor.h"
#include "util.h"

/* An --enqueue batch: this many jobs, or this many bytes, whichever comes first. */
#define ENQUEUE_ROWS	1000
#define ENQUEUE_BYTES	(4u << 20)

struct admin {
	const struct cfg	*cfg;
	const struct db_driver	*drv;
	struct db_conn		*db;
	bool			 pg;
};

static int
connect_queue(struct admin *a, const struct cfg *cfg)
{
	char err[1024];

	a->cfg = cfg;
	a->pg = strcmp(cfg->driver, "postgresql") == 0;
	if (!a->pg && strcmp(cfg->driver, "mysql") != 0) {
		log_errorx("a queue lives in PostgreSQL or MariaDB/MySQL: [database] driver = postgresql or mysql, not %s",
		    cfg->driver);
		return MPW_EXIT_USAGE;
	}
	if (db_open(cfg, &a->drv, &a->db, err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		return MPW_EXIT_INIT;
	}
	return 0;
}

static int
failed(struct admin *a, const char *what, const struct db_err *e)
{
	log_errorx("%s: %s%s%s%s", what, e->msg, e->code[0] ? " (" : "", e->code, e->code[0] ? ")" : "");
	db_close(a->drv, a->db);
	return e->lost ? MPW_EXIT_INIT : MPW_EXIT_FAILED;
}

int
qadmin_init(const struct cfg *cfg)
{
	struct admin a;
	struct db_err e = { 0 };
	struct buf q = { 0 };
	int rc = connect_queue(&a, cfg);

	if (rc != 0)
		return rc;
	queue_sql_create(cfg, &q);
	rc = a.drv->exec(a.db, q.data, NULL, &e);
	buf_free(&q);
	if (rc < 0)
		return failed(&a, "cannot make the queue's tables", &e);
	printf("queue table %s and %s_dead are ready\n", cfg->q_table, cfg->q_table);
	db_close(a.drv, a.db);
	return MPW_EXIT_OK;
}

/* Whether s is valid UTF-8 (PostgreSQL's text takes nothing else). */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; ) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
			return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		if ((len == 3 && c == 0xe0 && s[i + 1] < 0xa0) || (len == 3 && c == 0xed && s[i + 1] >= 0xa0) ||
		    (len == 4 && c == 0xf0 && s[i + 1] < 0x90) || (len == 4 && c == 0xf4 && s[i + 1] >= 0x90))
			return false;
		i += len;
	}
	return true;
}

/* One batch in one transaction, with one wake-up.  0, or -1 with e. */
static int
enqueue_batch(struct admin *a, const struct buf *rows, struct db_err *e)
{
	struct buf q = { 0 };
	int rc;

	if (a->drv->exec(a->db, a->drv->begin_sql, NULL, e) < 0)
		return -1;
	if (a->pg) {
		buf_printf(&q, "COPY %s (queue, job, priority) FROM STDIN", a->cfg->q_table);
		rc = a->drv->copy_in(a->db, q.data, rows->data, rows->len, e);
		buf_reset(&q);
		queue_sql_notify(a->cfg, &q);
		if (rc == 0)
			rc = a->drv->exec(a->db, q.data, NULL, e);
	} else {
		rc = a->drv->exec(a->db, rows->data, NULL, e);
	}
	buf_free(&q);
	if (rc == 0 && a->drv->exec(a->db, "COMMIT", NULL, e) == 0)
		return 0;
	struct db_err ignored;
	if (!e->lost)
		a->drv->exec(a->db, "ROLLBACK", NULL, &ignored);
	return -1;
}

/* Add one job to the batch: a COPY row, or a row of the INSERT. */
static void
add_row(struct admin *a, struct buf *rows, size_t n, const char *text, size_t len)
{
	if (a->pg) {
		buf_printf(rows, "%s\t", a->cfg->q_name);
		db_put_value(rows, text, len);
		buf_printf(rows, "\t%ld\n", a->cfg->q_priority);
		return;
	}
	if (n == 0)
		buf_printf(rows, "INSERT INTO %s (queue, job, priority) VALUES ", a->cfg->q_table);
	buf_printf(rows, "%s('%s', ", n ? ", " : "", a->cfg->q_name);
	a->drv->quote(a->db, rows, text, len);
	buf_printf(rows, ", %ld)", a->cfg->q_priority);
}

int
qadmin_enqueue(struct cfg *cfg, char **lines, int nlines)
{
	struct admin a;
	struct db_err e = { 0 };
	struct buf rows = { 0 };
	struct jobline jl;
	char err[1024];
	uint64_t added = 0, refused = 0;
	size_t inbatch = 0;
	bool utf8 = false;
	int r, rc = connect_queue(&a, cfg);

	if (rc != 0)
		return rc;
	/* Lines from the command line, standard input with -, or what [jobs] names. */
	if (nlines == 1 && strcmp(lines[0], "-") == 0) {
		strlist_free(&cfg->job);
		free(cfg->file);
		cfg->file = xstrdup("-");
	} else if (nlines > 0) {
		strlist_free(&cfg->job);
		free(cfg->file);
		cfg->file = NULL;
		for (int i = 0; i < nlines; i++)
			strlist_add(&cfg->job, lines[i]);
	}
	if (a.pg) {
		struct buf out = { 0 };
		if (a.drv->exec(a.db, "SHOW server_encoding", &out, &e) == 0)
			utf8 = out.len >= 4 && strncmp(out.data, "UTF8", 4) == 0;
		buf_free(&out);
	}
	struct jobsrc *src = jobsrc_open_lines(cfg, err, sizeof(err));
	if (src == NULL) {
		log_errorx("%s", err);
		db_close(a.drv, a.db);
		return MPW_EXIT_USAGE;
	}
	for (;;) {
		r = jobsrc_next(src, &jl);
		if (r == 0) {
			/* Standard input has nothing yet: wait for it. */
			short ev;
			struct pollfd p = { .fd = jobsrc_fd(src, &ev), .events = POLLIN };
			if (p.fd >= 0 && poll(&p, 1, -1) > 0)
				jobsrc_ready(src, p.revents);
			continue;
		}
		if (r > 0) {
			const char *why = jl.too_long ? "longer than the most a job may be" :
			    jl.has_nul ? "it holds a NUL byte" :
			    utf8 && !utf8_valid((const unsigned char *)jl.text, jl.len) ? "not valid UTF-8" : NULL;
			if (why != NULL) {
				log_warnx("job %" PRIu64 " (%.40s%s): %s; not enqueued", jl.seq, jl.has_nul ? "" : jl.text,
				    jl.len > 40 ? "..." : "", why);
				refused++;
				continue;
			}
			add_row(&a, &rows, inbatch++, jl.text, jl.len);
		}
		if (inbatch > 0 && (r < 0 || inbatch >= ENQUEUE_ROWS || rows.len >= ENQUEUE_BYTES)) {
			if (enqueue_batch(&a, &rows, &e) < 0) {
				log_errorx("cannot enqueue: %s; %" PRIu64 " enqueued before, none of the %zu jobs of this"
				    " batch", e.msg, added, inbatch);
				rc = e.lost ? MPW_EXIT_INIT : MPW_EXIT_FAILED;
				break;
			}
			added += inbatch;
			inbatch = 0;
			buf_reset(&rows);
		}
		if (r < 0)
			break;
	}
	jobsrc_close(src);
	buf_free(&rows);
	db_close(a.drv, a.db);
	printf("enqueued %" PRIu64 " job%s to queue %s of %s", added, added == 1 ? "" : "s", cfg->q_name, cfg->q_table);
	if (refused > 0)
		printf("; %" PRIu64 " refused", refused);
	printf("\n");
	if (rc == 0 && refused > 0)
		rc = MPW_EXIT_FAILED;
	return rc;
}

int
qadmin_status(const struct cfg *cfg)
{
	struct admin a;
	struct db_err e = { 0 };
	struct buf q = { 0 }, out = { 0 };
	int rc = connect_queue(&a, cfg);

	if (rc != 0)
		return rc;
	queue_sql_counts(cfg, &q);
	if (a.drv->exec(a.db, q.data, &out, &e) < 0 || out.len == 0) {
		buf_free(&q);
		buf_free(&out);
		return failed(&a, "cannot read the queue", &e);
	}
	char *p = out.data;
	long long ready = strtoll(p, &p, 10), running = strtoll(p, &p, 10), waiting = strtoll(p, &p, 10);
	long long dead = strtoll(p, &p, 10);
	double age = strtod(p, NULL);
	printf("queue %s of %s\n", cfg->q_name, cfg->q_table);
	printf("  ready     %lld\n  running   %lld\n  waiting   %lld (failed, to be tried again)\n  dead      %lld\n",
	    ready, running, waiting, dead);
	printf("  oldest ready job: %.1fs\n", age);
	buf_reset(&q);
	buf_reset(&out);
	buf_printf(&q, "SELECT owner, count(*) FROM %s WHERE queue = '%s' AND owner IS NOT NULL GROUP BY owner"
	    " ORDER BY owner", cfg->q_table, cfg->q_name);
	if (a.drv->exec(a.db, q.data, &out, &e) == 0 && out.len > 0) {
		printf("  running on:\n");
		for (char *l = out.data; l < out.data + out.len; ) {
			char *nl = strchr(l, '\n'), *tab = strchr(l, '\t');
			*nl = '\0';
			if (tab != NULL)
				*tab = '\0';
			printf("    %-40s %s\n", l, tab != NULL ? tab + 1 : "");
			l = nl + 1;
		}
	}
	buf_free(&q);
	buf_free(&out);
	db_close(a.drv, a.db);
	return MPW_EXIT_OK;
}

int
qadmin_retry(const struct cfg *cfg, char **args, int nargs)
{
	struct admin a;
	struct db_err e = { 0 };
	struct buf q = { 0 };
	uint64_t *ids = xcalloc(nargs > 0 ? (size_t)nargs : 1, sizeof(*ids));
	size_t n = 0;
	int rc;

	if (nargs == 0) {
		free(ids);
		log_errorx("--queue-retry: name the dead jobs to put back (their ids), or all");
		return MPW_EXIT_USAGE;
	}
	for (int i = 0; i < nargs; i++) {
		char *end;
		if (strcmp(args[i], "all") == 0 && nargs == 1)
			break;
		errno = 0;
		ids[n++] = strtoull(args[i], &end, 10);
		if (errno != 0 || *end != '\0' || end == args[i] || args[i][0] == '-') {
			free(ids);
			log_errorx("--queue-retry: '%s' is not a job id (or all)", args[i]);
			return MPW_EXIT_USAGE;
		}
	}
	if ((rc = connect_queue(&a, cfg)) != 0) {
		free(ids);
		return rc;
	}
	long revived = queue_revive(a.drv, a.db, cfg, ids, n, &e);
	free(ids);
	if (revived < 0)
		return failed(&a, "cannot put dead jobs back", &e);
	queue_sql_notify(cfg, &q);
	if (q.len > 0)
		a.drv->exec(a.db, q.data, NULL, &e);
	buf_free(&q);
	db_close(a.drv, a.db);
	printf("%ld dead job%s put back in queue %s\n", revived, revived == 1 ? "" : "s", cfg->q_name);
	return MPW_EXIT_OK;
}
