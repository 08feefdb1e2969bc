/*
 * The queue table: a table in the [database] that any number of mpworker
 * hosts drain together ([jobs] source = queue).  This module writes its
 * SQL, for PostgreSQL and for MariaDB/MySQL; the claimer (claimer.c)
 * runs it for a host, the workers run the fence of SQL jobs, and the
 * commands of qadmin.c run the rest.
 *
 * A row is a job.  A job nobody holds has owner NULL and is ready once
 * run_at has come; a claim sets owner to the host's owner id, bumps
 * attempt and sets lease_until.  (id, attempt) with the owner is the
 * fencing token: every completion, failure and release names all three,
 * so an attempt whose lease ran out and went to another host changes
 * nothing.  Done jobs are deleted; jobs out of attempts move to the dead
 * table, TABLE_dead.  Every time is the database's clock, never a host's.
 */
#ifndef MPW_QUEUE_H
#define MPW_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct cfg;
struct db_err;

/* The most jobs one claim takes, whatever [queue] batch says. */
#define QUEUE_BATCH_MAX		1000
/* The most expired leases one rescue statement takes back. */
#define QUEUE_RESCUE_MAX	1000

/* Whether cfg takes its jobs from a queue. */
bool queue_on(const struct cfg *cfg);

/*
 * The [queue] keys, and what a queue rules out.  0, or -1 with the
 * message in msg and the key's line in *line.
 */
int  queue_check(const struct cfg *cfg, int *line, char *msg, size_t msglen);

/* This process's owner id: host, pid and a random nonce.  Set once, in the parent. */
int  queue_set_owner(struct cfg *cfg, char *err, size_t errlen);

/* One job's token. */
struct qtoken {
	uint64_t	id;
	uint32_t	attempt;	/* 1 for the first */
};

/* A statement appended to q (no trailing semicolon unless said). */
void queue_sql_create(const struct cfg *cfg, struct buf *q);	/* several, ';'-separated */
void queue_sql_probe(const struct cfg *cfg, struct buf *q);	/* several: fails unless both tables fit */
void queue_sql_heartbeat(const struct cfg *cfg, double lease, struct buf *q);
/* Whether any job of the queue is left (0 or 1), and in how many seconds the next one nobody holds is due (NULL: none). */
void queue_sql_exists(const struct cfg *cfg, struct buf *q);
/* ready, running, waiting, dead, age of the oldest ready job in seconds: one row. */
void queue_sql_counts(const struct cfg *cfg, struct buf *q);
/* Wake the hosts that wait on the queue (PostgreSQL; nothing elsewhere). */
void queue_sql_notify(const struct cfg *cfg, struct buf *q);
/* The channel the claimer listens on (PostgreSQL). */
void queue_sql_listen(const struct cfg *cfg, struct buf *q);

/*
 * The fence of an SQL job, or of a batch of them: the first statements
 * of its transaction.  They delete the jobs' rows, fenced by owner and
 * (id, attempt), and fail unless every one was there, so the
 * transaction's work stands only if the queue still gave it every job:
 * then the job is done exactly once.  Writes one or two statements
 * (returns how many) into fence[0], fence[1].
 */
int  queue_sql_fence(const struct cfg *cfg, const struct qtoken *t, size_t n, struct buf fence[2]);
/* Whether a failed fence statement failed because a job was no longer this host's. */
bool queue_fence_refused(const struct cfg *cfg, const struct db_err *e);

/*
 * Run the claimer's statements on a connection: each returns the number
 * of rows it changed (claim: taken), or -1 with e.
 */
struct db_driver;
struct db_conn;
struct qjob {
	struct qtoken	 t;
	char		*text;	/* malloc'd */
	size_t		 len;
};
long queue_claim(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg, double lease,
	 size_t want, struct qjob **jobs, struct db_err *e);
long queue_complete(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
	 const struct qtoken *t, size_t n, struct db_err *e);
long queue_release(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
	 const struct qtoken *t, size_t n, struct db_err *e);
/* Every job this host owns but those of held[0..n): back to ready, their attempts counted. */
long queue_disown(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
	 const struct qtoken *held, size_t n, struct db_err *e);
/* A failed attempt: back with run_at delay seconds ahead, or to the dead table when dead. */
long queue_fail(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
	 const struct qtoken *t, const char *why, double delay, bool dead, struct db_err *e);
/* Expired leases of the queue: back to ready, or dead when out of attempts.  *died gets those. */
long queue_rescue(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
	 long *died, struct db_err *e);
/* Dead jobs back, ready now, their attempts from none (ids, or all of the queue's when n is 0): how many. */
long queue_revive(const struct db_driver *drv, struct db_conn *c, const struct cfg *cfg,
	 const uint64_t *ids, size_t n, struct db_err *e);

/* The delay before attempt (1-based) is tried again: exponential, with jitter. */
double queue_backoff(const struct cfg *cfg, uint32_t attempt);

#endif
