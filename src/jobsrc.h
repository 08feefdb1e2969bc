/*
 * Where jobs come from.  The file source (src_file.c): the inline [jobs]
 * job = lines first, then the lines of [jobs] file ("-" is standard
 * input), or for rename jobs the files of [rename] directory, and with
 * [rename] watch in service mode the files that arrive there afterwards.
 * A file is streamed through a fixed buffer and never read whole, so a
 * jobs file of ten million lines runs in bounded memory.  Blank lines and
 * lines whose first non-blank character is '#' are not jobs.
 *
 * The queue source (src_queue.c): a table in the database that many
 * hosts drain.
 */
#ifndef MPW_JOBSRC_H
#define MPW_JOBSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cfg;
struct jobsrc;

/* A job line longer than this is a failed job, never run. */
#define JOB_MAX_LEN	((1u << 20) - 64)

struct jobline {
	uint64_t	 seq;		/* position among the jobs, from 1; a queue's job id */
	unsigned	 attempt;	/* attempts made before this one (a queue's count) */
	const char	*text;		/* valid until the next jobsrc_next() */
	size_t		 len;
	bool		 too_long;	/* text holds only its start */
	bool		 has_nul;	/* text holds a NUL byte: never run, it would run cut short */
	bool		 watched;	/* reported by [rename] watch, not listed */
};

/*
 * How an attempt of a job ended, for a source that settles its jobs
 * itself (a queue): the supervisor tells it through the same path that
 * writes the joblog.
 */
enum jobsrc_end {
	JS_OK,		/* succeeded */
	JS_FAILED,	/* failed: the source retries it, or gives it up */
	JS_HOPELESS,	/* failed in a way no attempt can mend (a line cut short) */
	JS_FENCED,	/* not this host's any more: its work did not stand, nothing to say */
};

/* What a queue source knows of its queue (jobsrc_queue_state). */
struct jobsrc_qstate {
	bool		known;		/* the counts below have come in */
	int64_t		ready, running, waiting, dead;
	double		oldest_ready;	/* age in seconds of the oldest ready job */
	uint64_t	reconnects;	/* of the claimer to the database */
};

/*
 * A source is a table of operations, like the job kinds and the drivers.
 * Only open, next, fd, ready and close are required.
 */
struct jobsrc_ops {
	const char *name;
	struct jobsrc *(*open)(const struct cfg *cfg, bool follow, char *err, size_t errlen);
	int  (*next)(struct jobsrc *src, struct jobline *jl);
	/* The descriptor to poll (events: POLLIN, POLLOUT), or -1. */
	int  (*fd)(const struct jobsrc *src, short *events);
	void (*ready)(struct jobsrc *src, short revents);
	void (*ignore)(struct jobsrc *src, const char *path);
	/*
	 * The host could take n more jobs now than it holds, of the `of` it
	 * would hold when full (a queue claims for it).
	 */
	void (*want)(struct jobsrc *src, size_t n, size_t of);
	/*
	 * Attempts end here: the source, not the supervisor, retries them.
	 * Returns whether the job is finished for good after a failure (no
	 * attempt is left).
	 */
	bool (*ended)(struct jobsrc *src, uint64_t seq, unsigned attempt, enum jobsrc_end how, const char *why);
	/* A job handed out was never run (a stop): give it back. */
	void (*unused)(struct jobsrc *src, uint64_t seq, unsigned attempt);
	/* A child process of ours that is not a worker ended: 1 when it was the source's. */
	int  (*reaped)(struct jobsrc *src, pid_t pid, int status);
	/* When the source next needs time (monotonic seconds), 0 for never. */
	double (*timer)(struct jobsrc *src);
	/* A short word on the source's state for STATUS=, or nothing. */
	void (*status)(const struct jobsrc *src, char *out, size_t len);
	/* A queue's counts and its claimer's reconnects, for the metrics: false when none. */
	bool (*queue)(const struct jobsrc *src, struct jobsrc_qstate *q);
	/* Why the source cannot go on (then the run stops, MPW_EXIT_INIT), or NULL. */
	const char *(*failed)(const struct jobsrc *src);
	void (*close)(struct jobsrc *src);
};

/*
 * Calls fn for every job the supervisor holds from the source: queued,
 * or in a worker's hands.  The supervisor sets it after open.
 */
typedef void jobsrc_held_fn(void (*fn)(void *arg, uint64_t seq, unsigned attempt), void *arg);

/* What every source starts with. */
struct jobsrc {
	const struct jobsrc_ops	*ops;
	jobsrc_held_fn		*held;
};

extern const struct jobsrc_ops jobsrc_file;
extern const struct jobsrc_ops jobsrc_queue;

/*
 * Open the source the config names ([jobs] source).  With follow (service
 * mode), a FIFO is opened so that it never reaches end of file: jobs
 * written to it at any time are run.  NULL with err on failure.
 */
struct jobsrc *jobsrc_open(const struct cfg *cfg, bool follow, char *err, size_t errlen);

/* The file source whatever [jobs] source says: what --enqueue reads. */
struct jobsrc *jobsrc_open_lines(const struct cfg *cfg, char *err, size_t errlen);

/*
 * The next job.  Returns 1 with *jl filled, 0 when the source has nothing
 * now (poll jobsrc_fd() for more), -1 at the end of every source.  A read
 * error is logged and ends the input.
 */
int  jobsrc_next(struct jobsrc *src, struct jobline *jl);

/* The descriptor to poll for more, with the events to poll for, or -1 when none needs polling. */
int  jobsrc_fd(const struct jobsrc *src, short *events);

/* Tell the source that poll found jobsrc_fd() ready. */
void jobsrc_ready(struct jobsrc *src, short revents);

/*
 * [rename] watch: a file mpworker itself renamed to path is not a new
 * arrival; its event is dropped when it comes.
 */
void jobsrc_ignore(struct jobsrc *src, const char *path);

void jobsrc_want(struct jobsrc *src, size_t n, size_t of);
/* Whether attempts end at the source (jobsrc_ended), not with the supervisor's retries. */
bool jobsrc_settles(const struct jobsrc *src);
bool jobsrc_ended(struct jobsrc *src, uint64_t seq, unsigned attempt, enum jobsrc_end how, const char *why);
void jobsrc_unused(struct jobsrc *src, uint64_t seq, unsigned attempt);
int  jobsrc_reaped(struct jobsrc *src, pid_t pid, int status);
double jobsrc_timer(struct jobsrc *src);
void jobsrc_status(const struct jobsrc *src, char *out, size_t len);
bool jobsrc_queue_state(const struct jobsrc *src, struct jobsrc_qstate *q);
const char *jobsrc_failed(const struct jobsrc *src);

void jobsrc_close(struct jobsrc *src);

#endif
