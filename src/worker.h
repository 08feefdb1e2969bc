/*
 * The worker: a forked child that runs the init hook (its own database
 * connection), then takes jobs from its pipe one at a time and sends back
 * each job's output and result, until the pipe closes or the parent says
 * drain.
 */
#ifndef MPW_WORKER_H
#define MPW_WORKER_H

#include <stdbool.h>
#include <sys/types.h>

struct cfg;

/* Exit codes a worker uses so that the parent knows why it ended. */
enum wrk_exit {
	WEXIT_OK = 0,		/* asked to stop (pipe closed, or drain) */
	WEXIT_INIT = 3,		/* the init hook failed; MSG_INITFAIL said why */
	WEXIT_TIMEOUT = 5,	/* a job timed out: the worker is replaced */
	WEXIT_TERM = 6,		/* SIGTERM: the job in hand was aborted */
	WEXIT_PROTO = 7,	/* the parent sent something malformed */
	WEXIT_SYSTEM = 71,	/* a system call failed (the log says which) */
};

struct wrk_args {
	int			 slot;		/* 1-based, for logs and MPWORKER_SLOT */
	const struct cfg	*cfg;
	int			 fd_in;		/* jobs from the parent */
	int			 fd_out;	/* output and results to the parent */
	pid_t			 parent;
	bool			 dry_run;
};

/* Run the worker.  Called in the child right after fork; never returns. */
void wrk_main(const struct wrk_args *a) __attribute__((noreturn));

#endif
