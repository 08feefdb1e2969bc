/*
 * What the supervisor's two files share: supervisor.c (the loop, dispatch,
 * stopping, reloading, the report) and slot.c (a worker slot's life:
 * fork, pipes, results, reaping, backoff).  Private to them: other
 * modules see supervisor.h.
 */
#ifndef MPW_SUP_H
#define MPW_SUP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "msg.h"
#include "util.h"

struct cfg;
struct group;
struct jobsrc;
struct joblog;
struct seqset;
struct sup_opts;


/* A dying worker that holds a job gets this long past job_timeout to report it. */
#define TIMEOUT_GRACE		5.0
/* After SIGTERM, workers get this long before SIGKILL. */
#define KILL_GRACE		5.0
/* How long a reload's new workers have to pass their init hooks before it is given up. */
#define RELOAD_TIMEOUT		60.0
/* A worker that lived this long, or finished a job, was healthy: its backoff resets. */
#define HEALTHY_UPTIME		5.0
#define BACKOFF_FIRST		0.1
#define BACKOFF_MAX		10.0
/* One-shot mode gives up on a slot after this many init failures in a row. */
#define INIT_FAILURES_MAX	5
/*
 * Keep about WINDOW_TARGET seconds of work queued in each worker, so that
 * it never waits for us between short jobs, plus what covers the round
 * trip where the kind pipelines (see update_window).  Until runtimes are
 * measured, and whenever jobs take longer than that, a worker gets one job
 * at a time: a long job must never hold another back while a worker is
 * idle.  The first WINDOW_PROBES results may be taken at a window of
 * WINDOW_PROBE, to measure a round trip.
 */
#define WINDOW_TARGET		0.005
#define WINDOW_MIN		1
#define WINDOW_MAX		64
#define WINDOW_PROBES		32
#define WINDOW_PROBE		4

/* What a job is, when it is not a job line: see groups.h. */
#define STEP_THEN	1
#define STEP_FINALLY	2

struct job {
	struct job	*next;
	uint64_t	 seq;
	unsigned	 attempt;	/* 0 for the first */
	bool		 too_long;
	bool		 hopeless;	/* cut short, or holds a NUL: no attempt can run it */
	bool		 watched;	/* a file [rename] watch reported */
	bool		 has_intent;	/* an attempt was about to rename this file: */
	uint64_t	 intent_dev, intent_ino;
	char		*logged;	/* the joblog's command for the last attempt, if not text */
	struct group	*grp;		/* its [jobs] group, or the group whose step it is */
	unsigned char	 step;		/* STEP_THEN or STEP_FINALLY: a step, not a job line */
	size_t		 len;
	char		 text[];
};

struct jobq {
	struct job	*head, *tail;
	size_t		 n;
};

enum slot_state { SLOT_EMPTY, SLOT_STARTING, SLOT_READY, SLOT_STOPPING };

struct slot {
	int		 id;		/* 1-based */
	enum slot_state	 state;
	pid_t		 pid;
	int		 to, from;	/* our ends of its pipes, -1 when closed */
	struct buf	 rbuf, wbuf;
	struct jobq	 inflight;
	unsigned long	 sent;		/* jobs sent to this process */
	unsigned long	 done;		/* results from this process */
	unsigned	 gen;		/* configuration generation it runs */
	double		 forked_at;
	double		 head_since;	/* when the job in hand started, about */
	unsigned	 group_left;	/* results still to come of the group in hand */
	double		 retired_at;	/* when we closed its pipe with nothing in flight */
	bool		 hung;		/* killed for not exiting after it was retired */
	double		 restart_at;	/* EMPTY: when to fork again; 0 = not wanted */
	double		 backoff;
	pid_t		 cmd_pgid;	/* process group of the command in hand */
	bool		 expect_exit;	/* we asked it to go, or it timed a job out */
	uint64_t	 timed_out;	/* the job it timed out, if any */
	bool		 killed;	/* we sent SIGKILL for a job past its timeout */
	int		 output_lost;	/* errno of a failed write of the job in hand's output */
	bool		 disabled;	/* given up on: its init hook keeps failing */
	bool		 candidate;	/* started with the configuration a reload tries (next_cfg) */
	bool		 doomed;	/* of a configuration replaced, or a reload given up: goes when done */
	int		 init_failures;
	unsigned	 starts;	/* workers forked in it */
	char		*init_err;
};

struct sup {
	struct cfg		*cfg;		/* the running configuration */
	struct cfg		*src_cfg;	/* the one the job source reads (kept across reloads) */
	struct cfg		*next_cfg;	/* a reload's, until its workers are all ready */
	char			*spool;		/* a service's spool (spool.h), when its input is a stream */
	uint64_t		 spooled;	/* jobs 1 .. spooled came from the spool */
	uint64_t		 spool_left;	/* of them, not finished yet */
	/* How long attempts ran, for the metrics: counts per DURATION_BUCKETS bucket, and in all. */
	uint64_t		 dur_count[11];
	uint64_t		 dur_n;
	double			 dur_sum;
	double			 reload_deadline;
	const struct sup_opts	*opt;
	unsigned		 gen;
	int			 sigfd;
	sigset_t		 sigmask;
	struct slot		**slots;
	int			 nslots;	/* slots allocated */
	int			 nworkers;	/* slots wanted */

	struct jobsrc		*src;
	bool			 src_eof;
	struct jobq		 pending;	/* read from the source, not yet sent */
	struct jobq		 retry;		/* to be sent before pending */
	struct seqset		*skip;		/* --resume: jobs the joblog has finished */
	struct seqset		*skip_ok;	/* --resume with groups: those of them that succeeded */
	struct strset		 skip_names;	/* --resume, a kind that knows jobs by text: those finished */
	const struct job_kind	*by_name;	/* that kind: skip by skip_names, not by position */
	struct joblog		*joblog;

	uint64_t		 read;		/* jobs taken from the source */
	uint64_t		 skipped;
	uint64_t		 ok, failed, retried, restarts;
	uint64_t		 reconnects;	/* of workers to their database */
	uint64_t		 fenced;	/* attempts whose lease was lost: their work did not stand */
	uint64_t		 passed;	/* finished with nothing to do (JR_SKIPPED) */
	double			 started_mono;
	double			 started_wall;
	double			 avg_service;	/* moving averages of results, for the window: */
	double			 avg_latency;	/* service time, and round trip (0 unknown) */
	int			 probes;	/* results left to measure a round trip in */
	int			 window;
	int			 window_max;	/* the most jobs a worker may hold (window_limits) */
	bool			 pipelines;	/* the kind sends several at once */

	int			 stopping;	/* 0, 1 = draining, 2 = at once */
	bool			 signalled;	/* SIGTERM or SIGINT asked us to stop */
	double			 term_at;	/* when to SIGTERM the workers */
	double			 kill_at;	/* when to SIGKILL them */
	bool			 finishing;	/* no work left: workers are being retired */
	int			 exit_code;	/* set when the run must end with it */
	bool			 unrecorded;	/* the joblog or job output could not be written */
	bool			 halted;	/* [pool] halt's condition was met */
	bool			 ever_ready;
	/* Why workers could not start: said once, however many failed the same way. */
	char			*init_said;	/* the last reason logged */
	unsigned		 init_same;	/* failures since, for the same reason, not logged again */
	char			*init_fatal;	/* before any worker started: the first reason */
	unsigned		 init_fatal_n;	/* how many failed then */
	bool			 notified_ready;
	struct slot		*streaming;	/* the worker whose output is being written */
	struct strset		 planned;	/* --dry-run: rename targets seen */
	double			 next_status;
	double			 next_watchdog;
};

/* The one supervisor of this process. */
extern struct sup sup;

/* Job queues. */
/* A job of seq with text (len bytes, or left zero when text is NULL), every other field zero. */
struct job *job_new(uint64_t seq, const char *text, size_t len);
void jq_push(struct jobq *q, struct job *j);
struct job *jq_pop(struct jobq *q);
void jq_prepend(struct jobq *q, struct jobq *from);
void jq_free(struct jobq *q);

/* slot.c: a worker slot's life. */
/* Note the descriptors mpworker was started with: workers keep them for their commands. */
void slot_note_inherited(void);
int  slot_start(struct slot *s);
void slot_retire(struct slot *s);
void slot_drain(struct slot *s);
void slot_close_fds(struct slot *s);
/* Free an empty slot's memory. */
void slot_free(struct slot *s);
void slot_read(struct slot *s);
void slot_write(struct slot *s);
void slot_schedule(struct slot *s, bool crashed);
bool want_workers(void);
/* Whether slot s is one of those to keep a worker in (of the pool, or of a reload's). */
bool slot_wanted(const struct slot *s);
/* A reload's worker died before the reload was done: the reload is given up, why says why. */
void sup_reload_failed(const char *why);
void reap(void);
void init_failure_report(void);
/* Set sup.window_max and sup.pipelines from the running configuration's job kind. */
void window_limits(void);
/*
 * Results can no longer be recorded (what: "the joblog FILE" or "job
 * output", error: why): take no new jobs, let those in hand finish, and end with
 * MPW_EXIT_UNRECORDED.
 */
void sup_cannot_record(const char *what, const char *error);
/* Write job output to our stdout (stream 1) or stderr (2).  0, or the errno of a failed write. */
int  sup_write_output(int stream, const char *p, size_t n);
/* A job has finished: stop early if [pool] halt says so. */
void sup_check_halt(void);
/* An attempt ended: log it, and finish the job or queue it again.  Takes j. */
void job_finished(struct job *j, const struct msg_result *r, const char *reason);
/* A job of the spool has finished: the last one removes the spool. */
void sup_spool_job_done(void);
/* An attempt ran this long: for the metrics' histogram. */
void sup_observe_duration(double seconds);

#endif
