/*
 * The INI file, parsed with inih into one struct.  Every key lives in one
 * table (config.c) that says its section, type, default and where it
 * lands; parsing, defaults, validation and --check-config all come from it.
 */
#ifndef MPW_CFG_H
#define MPW_CFG_H

#include <stdbool.h>
#include <stdio.h>

/* A key that may repeat (init =, job =), in file order. */
struct strlist {
	char  **v;
	size_t  n;
};

/* Append a copy of v. */
void strlist_add(struct strlist *sl, const char *v);
/* Append v (malloc'd), taking it. */
void strlist_take(struct strlist *sl, char *v);
void strlist_free(struct strlist *sl);

struct cfg {
	char   *path;		/* the INI file as named */
	char   *dir;		/* its directory: relative paths in it start here */

	/* [pool] */
	long    workers;
	long    max_jobs_per_worker;
	double  job_timeout;	/* seconds; 0 = none */
	long    retries;
	char   *joblog;
	double  stop_timeout;	/* how long SIGTERM waits for running jobs */
	char   *halt;		/* when to stop early, GNU parallel's --halt syntax */
	int     halt_when;	/* HALT_NEVER, HALT_SOON (finish the running jobs), HALT_NOW (stop them) */
	int     halt_on;	/* HALT_FAIL, HALT_SUCCESS or HALT_DONE */
	double  halt_n;		/* that many jobs, or that percentage of them */
	bool    halt_pct;

	/* [database] */
	char   *driver;
	char   *host;
	long    port;
	char   *socket;
	char   *user;
	char   *password;
	char   *password_file;
	char   *dbname;
	char   *db_path;
	char   *conninfo;
	double  connect_timeout;
	bool    db_create;	/* SQLite: make the database file when it is not there */
	struct strlist init;

	/* [jobs] */
	char   *type;
	char   *file;
	struct strlist job;
	char   *split;		/* "line", or "statement": SQL split as psql does */
	char   *source;		/* "file" (file, job, [rename] directory), or "queue" */
	char   *group;		/* the group a job line belongs to: a template of its fields */
	char   *then;		/* run once per group when all of its jobs succeeded */
	char   *finally;	/* run once when every job (and step) succeeded */

	/* [queue] */
	char   *q_table;	/* the queue table; TABLE_dead holds the jobs out of attempts */
	char   *q_name;		/* the queue within it */
	double  q_lease;	/* how long a claimed job stays this host's without a heartbeat */
	long    q_batch;	/* the most jobs one claim takes */
	long    q_attempts;	/* attempts before a job is dead */
	double  q_backoff;	/* the wait after a first failed attempt; doubled after each */
	double  q_backoff_max;
	double  q_poll;		/* how often an idle host looks for jobs (jittered) */
	long    q_priority;	/* --enqueue: the jobs' priority, lower first */
	char    q_owner[160];	/* this host's owner id: set by the supervisor */

	/* [sql] */
	long    sql_batch;	/* jobs per transaction */
	bool    sql_pipeline;	/* PostgreSQL: send queued jobs in one round trip */
	long    sql_depth;	/* the most jobs a worker holds, and pipelines at once */
	char   *sql_statement;	/* one statement for every job, its values the line's fields */
	char   *sql_ledger;	/* a table that records each job done, in its own transaction */
	char    ledger_run[33];	/* this run's name there: set by the supervisor, from the joblog */

	/* [rename] */
	char   *directory;
	char   *extensions;
	char   *lookup;
	char   *on_missing;
	bool    recursive;	/* scan subdirectories too */
	bool    watch;		/* --service: rename files as they arrive (inotify) */

	/* [output] */
	bool    line_buffer;	/* a command's output a line at a time, as it comes */
	bool    tag;		/* each output line starts with its job's line and a tab */
	bool    keep_order;	/* output (and joblog records) in input order */
	char   *status_socket;	/* [status] socket: where --status, --metrics and --reload reach a run */
	char   *status_listen;	/* [status] listen: ADDRESS:PORT for HTTP /metrics and /status */
	char   *results;	/* each job's output to files of its own: a directory, or a path template */

	/* [command] */
	char   *template;
	char   *shell;

	int    *lines;		/* line each key was set on; 0 = default, -1 = command line */
};

/*
 * Parse and validate the INI file at path.  Returns the config, or NULL
 * with every problem found written to err as "file:line: [section] key:
 * message" lines.  Warnings (a password in a file others can read) are
 * logged.
 *
 * overrides (may be NULL) are "section.key=value" settings from the
 * command line (-o), applied over the file's before defaults and checks;
 * a path in one is relative to the current directory.  With path NULL
 * there is no file: the overrides are the whole configuration.
 */
enum { HALT_NEVER, HALT_SOON, HALT_NOW };
enum { HALT_FAIL, HALT_SUCCESS, HALT_DONE };

struct cfg *cfg_load(const char *path, const struct strlist *overrides, char *err, size_t errlen);
void        cfg_free(struct cfg *cfg);

/* Write the effective settings as an INI file that cfg_load() accepts. */
void        cfg_print(const struct cfg *cfg, FILE *out);

/*
 * Parse a duration: seconds with optional decimals, or a number with an
 * ms, s, m or h suffix.  Returns 0, or -1 when s is not a duration.
 */
int         cfg_parse_duration(const char *s, double *secs);

/*
 * Override one key from the command line (-j, --joblog).  Returns 0, or -1
 * with the reason in err.  A path given here is relative to the current
 * directory, as command-line paths are.
 */
int         cfg_set(struct cfg *cfg, const char *section, const char *name,
                const char *value, char *err, size_t errlen);

/* The line a key was set on: 0 when it kept its default, -1 from the command line. */
int         cfg_line(const struct cfg *cfg, const char *section, const char *name);

#endif
