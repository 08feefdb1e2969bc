/*
 * The claimer: the queue source's own process, forked by the parent
 * (which never loads a database driver).  On a control connection of its
 * own it claims jobs for the host in batches sized to what the parent
 * says it could take, extends the leases of all the host's running jobs
 * in one statement per heartbeat, rescues expired leases of any host,
 * and settles attempts the parent reports (completions batched, fenced
 * by owner and (id, attempt)).  It wakes on NOTIFY (PostgreSQL) or a
 * jittered poll that backs off while the queue is idle.
 *
 * It talks to the parent over a socket with msg.h's framing: MSG_Q_WANT,
 * MSG_Q_DONE, MSG_Q_FAIL, MSG_Q_RELEASE in; MSG_READY, MSG_INITFAIL,
 * MSG_Q_JOB, MSG_Q_STATE out.  At end of file on the socket it settles
 * what it was told and exits.
 */
#ifndef MPW_CLAIMER_H
#define MPW_CLAIMER_H

#include <stdbool.h>
#include <sys/types.h>

struct cfg;

struct claimer_args {
	const struct cfg	*cfg;
	int			 fd;		/* the socket to the parent */
	pid_t			 parent;
	bool			 service;	/* retry a database that is down at start, forever */
	bool			 restarted;	/* not the first: the database was reached before */
};

void claimer_main(const struct claimer_args *a) __attribute__((noreturn));

#endif
