/*
 * Job kinds: what a worker does with one job line.  Each kind is a const
 * table entry (job_command.c, and the database kinds), chosen by [jobs]
 * type.  The worker owns the loop; a kind only runs one job and says how
 * it went.
 */
#ifndef MPW_JOB_H
#define MPW_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct cfg;
struct strset;
struct db_conn;
struct db_driver;

/* Result flags, carried in MSG_RESULT. */
#define JR_TIMEOUT	0x01	/* killed for running past job_timeout */
#define JR_ABORTED	0x02	/* killed because mpworker is stopping: not an attempt */
#define JR_SKIPPED	0x04	/* nothing to do (a file with no mapping): not a failure */
#define JR_FENCED	0x08	/* a queue's job that was no longer this host's: its work was rolled back */

struct job_result {
	double		start;		/* epoch seconds */
	double		runtime;	/* seconds */
	int		exitval;
	int		signal;
	uint64_t	send;		/* bytes given to the job */
	/*
	 * Of runtime, the part that was waiting for a round trip rather than
	 * work, where the kind could tell (the first job of a pipeline); 0
	 * when unknown.  The supervisor sizes each worker's window from it.
	 */
	double		latency;
	unsigned	flags;
	char		reason[640];	/* why it failed, for the log */
};

/* Everything a kind needs to run one job, filled in by the worker. */
struct job_ctx {
	const struct cfg	*cfg;
	const struct db_driver	*drv;	/* the worker's driver, loaded by db_open */
	struct db_conn		*db;
	int			 slot;
	uint64_t		 seq;
	unsigned		 attempt;
	const char		*text;	/* the job line, NUL-terminated */
	size_t			 len;
	bool			 step;	/* text is a step's command itself: no [command] template */
	bool			 dry_run;
	int			 sigfd;	/* the worker's signalfd: SIGCHLD, SIGTERM */
	int			 out_fd;	/* files that collect a child's stdout, stderr */
	int			 err_fd;
	struct buf		 out;	/* output produced in process (rows, plans) */
	struct buf		 errout;
	/* Called with the process group of a child the job started, or 0 when it ended. */
	void			(*spawned)(struct job_ctx *ctx, pid_t pgid);
	/*
	 * Called, and sent to the parent at once, just before a rename: job
	 * seq's file's device and inode.  A retry of the job after the worker
	 * died gets them back in its job_item's has_intent, intent_dev and
	 * intent_ino.
	 */
	void			(*intent)(struct job_ctx *ctx, uint64_t seq, uint64_t dev, uint64_t ino);
	/* Called when the connection was lost and a new one is open (the metrics count them). */
	void			(*reconnected)(struct job_ctx *ctx);
	/*
	 * When set ([output] line_buffer), called about every TICK_SECONDS
	 * while a command runs, to pass on the whole lines it has written.
	 */
	void			(*tick)(struct job_ctx *ctx);
	bool			 terminated;	/* the worker got SIGTERM during the job */
	/*
	 * The job left processes behind that may still write to out_fd and
	 * err_fd: the worker gives the next job files of its own.
	 */
	bool			 leftovers;
	struct job_result	 res;
};

/* One job of a group handed to run_group. */
struct job_item {
	uint64_t		 seq;
	unsigned		 attempt;
	bool			 watched;	/* a file [rename] watch reported */
	bool			 has_intent;	/* an earlier attempt was renaming this file */
	uint64_t		 intent_dev, intent_ino;
	bool			 step;		/* a step's SQL: run alone, as it is */
	const char		*text;
	size_t			 len;
	struct buf		 out;	/* its output: rows, a dry run's plan */
	struct buf		 detail;	/* what the joblog records as the command, if not the job */
	struct buf		 target;	/* the path a rename gave the file ([rename] watch, dry-run conflicts) */
	void			*arg;	/* the kind's own, for the length of run_group */
	struct job_result	 res;
};

struct job_kind {
	const char *name;
	bool        needs_db;
	/*
	 * Checks of the kind's own config keys, run by the parent at load.
	 * 0, or -1 with the message in msg and the line to blame in *line.
	 */
	int  (*check)(const struct cfg *cfg, int *line, char *msg, size_t msglen);
	/* Per-worker set-up after the init hook.  0, or -1 with err. */
	int  (*init)(struct job_ctx *ctx, char *err, size_t errlen);
	/* Run ctx->text, filling ctx->res. */
	void (*run)(struct job_ctx *ctx);
	/*
	 * Optional, instead of run: run several queued jobs at once
	 * (batches, pipelining), filling each item's res and out.
	 * group_max says how many the worker may hand over.
	 */
	size_t (*group_max)(const struct job_ctx *ctx);
	void   (*run_group)(struct job_ctx *ctx, struct job_item *items, size_t n);
	void (*fini)(struct job_ctx *ctx);
	/*
	 * Optional: the most jobs a worker may hold for this kind (default
	 * 64), and whether it sends several at once (a pipeline), so that a
	 * round trip can be measured and covered.  The supervisor's window
	 * adapts below this.
	 */
	int  (*window_max)(const struct cfg *cfg, bool *pipelines);
	/* Optional: called when the worker has had no job for WRK_IDLE_CHECK seconds. */
	void (*idle)(struct job_ctx *ctx);
	/*
	 * Optional: the kind knows a job by its text, not by its place in the
	 * input (a rename's file: the listing changes as files are renamed).
	 * --resume hands resume_names each finished job's joblog Command
	 * column, to add to done what it names; resume_done then says whether
	 * a job line is among them.
	 */
	void (*resume_names)(const char *command, struct strset *done);
	bool (*resume_done)(const struct strset *done, const char *text);
};

#define TICK_SECONDS	0.1

/* How long a worker waits for a job before it calls its kind's idle hook. */
#define WRK_IDLE_CHECK	30

/*
 * The worker's connection is gone: open a new one and run the init hook
 * again, with backoff (0.1 s doubling to 5 s) for up to a minute.  0 once
 * connected; -1 when it could not, or SIGTERM came (ctx->terminated).
 */
struct db_err;
int job_db_reconnect(struct job_ctx *ctx, const struct db_err *why);

const struct job_kind *job_kind_find(const char *name);
const char *job_kind_names(void);

extern const struct job_kind job_command;
extern const struct job_kind job_sql;
extern const struct job_kind job_rename;

#endif
