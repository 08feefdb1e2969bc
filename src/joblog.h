/*
 * The joblog: GNU parallel's tab-separated format, one line per finished
 * attempt, written by the parent as results arrive.
 *
 *   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 *
 * Lines are written with write(2) at the end of every turn of the event
 * loop, so a kill -9 of the parent loses none that were reported; the file
 * is also fdatasync'ed about once a second against a crash of the machine.
 */
#ifndef MPW_JOBLOG_H
#define MPW_JOBLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct joblog;

struct joblog_entry {
	uint64_t	 seq;
	double		 start;
	double		 runtime;
	uint64_t	 send;
	uint64_t	 receive;
	int		 exitval;
	int		 signal;
	const char	*command;
	size_t		 command_len;
};

/*
 * Take the joblog's lock on fd (flock, exclusive, for as long as fd is
 * open): one mpworker at a time per joblog.  0, or -1 with why in err.
 */
int  joblog_lock(int fd, const char *path, char *err, size_t errlen);
/*
 * Open the joblog at path and lock it: appended to (when resuming, and
 * by a service, whose joblog is its history), else truncated (once
 * locked).  A new or empty file gets the header line.  With run ([sql]
 * ledger), the header names the run: a new header takes run's value; with
 * adopt (resuming), a joblog that has a header already gives its run back
 * in run (it is an error if it names none).  NULL with err on failure.
 */
#define JOBLOG_RUN_LEN	32	/* hex digits */
struct joblog *joblog_open(const char *path, bool append, char *run, bool adopt, char *err, size_t errlen);
void joblog_add(struct joblog *jl, const struct joblog_entry *e);
/*
 * Write what joblog_add() queued, and fdatasync about once a second.  0,
 * or -1 when a write or a sync failed (a full disk, an I/O error): the
 * error is logged once, and what was not written stays queued for
 * joblog_close() to try again.  After a failure it returns -1 at once.
 */
int  joblog_flush(struct joblog *jl);
/* The error of a failed write or sync, or NULL. */
const char *joblog_error(const struct joblog *jl);
const char *joblog_path(const struct joblog *jl);
/*
 * Write what is left, sync and close.  Returns how many records could
 * not be written (0 when all are in the file).
 */
uint64_t joblog_close(struct joblog *jl);

/* A set of job sequence numbers, as a bitmap: 10 million jobs take 1.25 MB. */
struct seqset;
bool seqset_has(const struct seqset *s, uint64_t seq);
void seqset_free(struct seqset *s);

/*
 * Read the joblog at path for --resume: the set of jobs not to run again.
 * It holds every job with a successful attempt (Exitval 0 and Signal 0),
 * and with include_failed every job with a failed one too.  A missing file
 * is an empty set.  Returns 0, or -1 with err when the file is not a
 * joblog.  With each, each of those jobs' Command column is handed to it
 * too, as written (a newline, carriage return or NUL in it escaped).
 * With ok, the same pass also gives the jobs that succeeded, apart.
 */
int  joblog_read_done(const char *path, bool include_failed, struct seqset **out, struct seqset **ok,
    uint64_t *count, void (*each)(void *arg, const char *command), void *arg,
    char *err, size_t errlen);

#endif
