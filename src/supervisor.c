/*
 * The supervisor's event loop: see supervisor.h.
 *
 * Each worker slot is a small state machine:
 *
 *   EMPTY --fork--> STARTING --MSG_READY--> READY --retire/drain--> STOPPING
 *     ^                |                      |                        |
 *     +----------------+------ reaped --------+------------------------+
 *
 * A reaped slot is refilled (after a backoff when it died young), unless
 * the run is ending.  Jobs sent to a worker sit in the slot's in-flight
 * queue until their result comes back; the worker runs them in order, so
 * the head of that queue is the job in hand.  When a worker dies, the job
 * in hand counts as a failed attempt (retried while retries last) and the
 * ones behind it, never started, go back to the front of the queue.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "job.h"
#include "joblog.h"
#include "jobsrc.h"
#include "log.h"
#include "msg.h"
#include "progress.h"
#include "rename.h"
#include "sdnotify.h"
#include "supervisor.h"
#include "util.h"
#include "worker.h"

/* A dying worker that holds a job gets this long past job_timeout to report it. */
#define TIMEOUT_GRACE		5.0
/* After SIGTERM, workers get this long before SIGKILL. */
#define KILL_GRACE		5.0
/* A worker that lived this long, or finished a job, was healthy: its backoff resets. */
#define HEALTHY_UPTIME		5.0
#define BACKOFF_FIRST		0.1
#define BACKOFF_MAX		10.0
/* One-shot mode gives up on a slot after this many init failures in a row. */
#define INIT_FAILURES_MAX	5
/*
 * Keep about WINDOW_TARGET seconds of work queued in each worker, so that
 * it never waits for us between short jobs.  Until runtimes are measured,
 * and whenever jobs take longer than that, a worker gets one job at a
 * time: a long job must never hold another back while a worker is idle.
 */
#define WINDOW_TARGET		0.005
#define WINDOW_MIN		1
#define WINDOW_MAX		64

struct job {
	struct job	*next;
	uint64_t	 seq;
	unsigned	 attempt;	/* 0 for the first */
	bool		 too_long;
	bool		 watched;	/* a file [rename] watch reported */
	char		*logged;	/* the joblog's command for the last attempt, if not text */
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
	double		 restart_at;	/* EMPTY: when to fork again; 0 = not wanted */
	double		 backoff;
	pid_t		 cmd_pgid;	/* process group of the command in hand */
	bool		 expect_exit;	/* we asked it to go, or it timed a job out */
	uint64_t	 timed_out;	/* the job it timed out, if any */
	bool		 killed;	/* we sent SIGKILL for a job past its timeout */
	bool		 disabled;	/* given up on: its init hook keeps failing */
	int		 init_failures;
	char		*init_err;
};

static struct {
	struct cfg		*cfg;		/* the running configuration */
	struct cfg		*src_cfg;	/* the one the job source reads (kept across reloads) */
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
	struct joblog		*joblog;

	uint64_t		 read;		/* jobs taken from the source */
	uint64_t		 skipped;
	uint64_t		 ok, failed, retried, restarts;
	uint64_t		 passed;	/* finished with nothing to do (JR_SKIPPED) */
	double			 started_mono;
	double			 avg_runtime;	/* moving average, for the window */
	int			 window;

	int			 stopping;	/* 0, 1 = draining, 2 = at once */
	bool			 signalled;	/* SIGTERM or SIGINT asked us to stop */
	double			 term_at;	/* when to SIGTERM the workers */
	double			 kill_at;	/* when to SIGKILL them */
	bool			 finishing;	/* no work left: workers are being retired */
	int			 exit_code;	/* set when the run must end with it */
	bool			 ever_ready;
	bool			 notified_ready;
	struct slot		*streaming;	/* the worker whose output is being written */
	struct strset		 planned;	/* --dry-run: rename targets seen */
	double			 next_status;
	double			 next_watchdog;
} S;

static void slot_died(struct slot *s, int status);
static void write_output(int fd, const char *p, size_t n);

static void
jq_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
}

static struct job *
jq_pop(struct jobq *q)
{
	struct job *j = q->head;

	if (j == NULL)
		return NULL;
	q->head = j->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	return j;
}

/* Put all of from, in order, in front of q. */
static void
jq_prepend(struct jobq *q, struct jobq *from)
{
	if (from->head == NULL)
		return;
	from->tail->next = q->head;
	if (q->tail == NULL)
		q->tail = from->tail;
	q->head = from->head;
	q->n += from->n;
	*from = (struct jobq){ 0 };
}

static void
jq_free(struct jobq *q)
{
	struct job *j;

	while ((j = jq_pop(q)) != NULL)
		free(j);
}

static uint64_t
jobs_finished(void)
{
	return S.ok + S.failed + S.passed;
}

static int
live_workers(void)
{
	int n = 0;

	for (int i = 0; i < S.nslots; i++)
		if (S.slots[i]->state != SLOT_EMPTY)
			n++;
	return n;
}

static bool
input_done(void)
{
	return S.src_eof && S.pending.n == 0 && S.retry.n == 0;
}

/*
 * Whether a stop left work undone.  A service's input never ends, so
 * there only jobs already read count.
 */
static bool
jobs_left(void)
{
	return S.pending.n + S.retry.n > 0 || (!S.src_eof && !S.opt->service);
}

static bool
nothing_in_flight(void)
{
	for (int i = 0; i < S.nslots; i++)
		if (S.slots[i]->inflight.n > 0)
			return false;
	return true;
}

static double
rate(void)
{
	double t = now_mono() - S.started_mono;

	return t > 0 ? (double)jobs_finished() / t : 0;
}

static void
draw_progress(bool force)
{
	progress_draw(jobs_finished(), S.failed, S.src_eof ? S.read - S.skipped : 0, rate(), force);
}

/* --- workers -------------------------------------------------------------- */

/* In the child: close every descriptor of the parent's that a worker must not hold. */
static void
close_parent_fds(struct slot *self)
{
	close(S.sigfd);
	if (S.src != NULL && jobsrc_file_fd(S.src) >= 0)
		close(jobsrc_file_fd(S.src));
	if (S.joblog != NULL)
		close(joblog_fd(S.joblog));
	for (int i = 0; i < S.nslots; i++) {
		struct slot *o = S.slots[i];
		if (o == self)
			continue;
		if (o->to >= 0)
			close(o->to);
		if (o->from >= 0)
			close(o->from);
	}
}

/*
 * Fork a worker into slot s.  Signals are blocked around fork (as they
 * always are in the parent, which reads them from its signalfd); the child
 * resets every handler, and the worker sets its own mask.
 */
static int
slot_start(struct slot *s)
{
	int down[2], up[2];
	sigset_t all, old;
	pid_t pid;

	if (pipe2(down, O_CLOEXEC) < 0)
		return log_warn("worker %d: pipe", s->id), -1;
	if (pipe2(up, O_CLOEXEC) < 0) {
		close(down[0]);
		close(down[1]);
		return log_warn("worker %d: pipe", s->id), -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_warn("worker %d: fork", s->id);
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		return -1;
	}
	if (pid == 0) {
		struct wrk_args a = {
			.slot = s->id, .cfg = S.cfg, .fd_in = down[0], .fd_out = up[1],
			.parent = getppid(), .dry_run = S.opt->dry_run,
		};
		close(down[1]);
		close(up[0]);
		close_parent_fds(s);
		log_set_before_write(NULL);
		wrk_main(&a);
	}
	close(down[0]);
	close(up[1]);
	s->to = down[1];
	s->from = up[0];
	fd_set_nonblock(s->to);
	fd_set_nonblock(s->from);
	s->pid = pid;
	s->state = SLOT_STARTING;
	s->sent = s->done = 0;
	s->gen = S.gen;
	s->forked_at = now_mono();
	s->restart_at = 0;
	s->expect_exit = s->killed = false;
	s->timed_out = 0;
	s->cmd_pgid = 0;
	log_debug("worker %d started (pid %d)", s->id, (int)pid);
	return 0;
}

/* Ask a worker to finish: close its pipe once what we queued for it is written. */
static void
slot_retire(struct slot *s)
{
	if (s->state == SLOT_EMPTY || s->state == SLOT_STOPPING)
		return;
	s->state = SLOT_STOPPING;
	s->expect_exit = true;
}

/* Ask a worker to drain: finish the job in hand, drop the rest, exit. */
static void
slot_drain(struct slot *s)
{
	if (s->state == SLOT_EMPTY || s->to < 0)
		return;
	msg_put(&s->wbuf, MSG_DRAIN, NULL, 0, NULL, 0);
	s->state = SLOT_STOPPING;
	s->expect_exit = true;
}

static void
slot_close_fds(struct slot *s)
{
	if (s->to >= 0)
		close(s->to);
	if (s->from >= 0)
		close(s->from);
	s->to = s->from = -1;
	buf_reset(&s->rbuf);
	buf_reset(&s->wbuf);
	if (S.streaming == s)
		S.streaming = NULL;
}

/* --- results ---------------------------------------------------------------- */

static void
record(const struct job *j, const struct msg_result *r, const char *cmd, size_t cmdlen)
{
	struct joblog_entry e = {
		.seq = j->seq, .start = r->start, .runtime = r->runtime,
		.send = r->send, .receive = r->receive,
		.exitval = r->exitval, .signal = r->signal,
		.command = cmd, .command_len = cmdlen,
	};

	if (S.joblog != NULL)
		joblog_add(S.joblog, &e);
}

/*
 * A job's attempt has ended: log it, and either finish the job or queue
 * it again while it has retries left.  Takes ownership of j.
 */
static void
job_finished(struct job *j, const struct msg_result *r, const char *reason)
{
	bool success = r->exitval == 0 && r->signal == 0;

	if (j->logged != NULL)
		record(j, r, j->logged, strlen(j->logged));
	else
		record(j, r, j->text, j->len);
	free(j->logged);
	j->logged = NULL;
	if (success) {
		if (r->flags & JR_SKIPPED)
			S.passed++;
		else
			S.ok++;
		free(j);
		return;
	}
	if ((long)j->attempt < S.cfg->retries && S.stopping == 0) {
		log_info("job %" PRIu64 " failed (%s); retrying (%u of %ld)",
		    j->seq, reason, j->attempt + 1, S.cfg->retries);
		j->attempt++;
		S.retried++;
		jq_push(&S.retry, j);
		return;
	}
	log_warnx("job %" PRIu64 " failed: %s: %s", j->seq, reason,
	    j->len > 200 ? "(command too long to show)" : j->text);
	S.failed++;
	free(j);
}

/*
 * The most jobs a worker may hold: WINDOW_MAX, or room for two whole
 * batches, so that a worker always has a full batch queued behind the
 * one it runs.
 */
static int
window_max(void)
{
	long batch = strcmp(S.cfg->type, "sql") == 0 ? S.cfg->sql_batch : 1;

	return batch * 2 > WINDOW_MAX ? (int)(batch * 2) : WINDOW_MAX;
}

static void
update_window(double runtime)
{
	int max = window_max();

	S.avg_runtime = S.avg_runtime == 0 ? runtime : 0.9 * S.avg_runtime + 0.1 * runtime;
	double w = S.avg_runtime > 0 ? WINDOW_TARGET / S.avg_runtime : max;
	S.window = w < WINDOW_MIN ? WINDOW_MIN : w > max ? max : (int)w;
}

static void
on_result(struct slot *s, const struct msg *m)
{
	struct job *j = s->inflight.head;
	const struct msg_result *r = &m->u.result;
	char reason[700];

	if (j == NULL || j->seq != r->seq) {
		log_warnx("worker %d sent a result for job %" PRIu64 " it does not hold; replacing it",
		    s->id, r->seq);
		kill(s->pid, SIGKILL);
		return;
	}
	jq_pop(&s->inflight);
	s->done++;
	s->head_since = now_mono();
	s->cmd_pgid = 0;
	if (S.streaming == s)
		S.streaming = NULL;
	update_window(r->runtime);
	/* The tail: the reason, then optionally a NUL and the command to log. */
	size_t rlen = strnlen(m->tail, m->taillen);
	snprintf(reason, sizeof(reason), "%.*s", (int)rlen, m->tail);
	j->logged = rlen < m->taillen ? xstrndup(m->tail + rlen + 1, m->taillen - rlen - 1) : NULL;
	/* A file we renamed will be reported by [rename] watch: it is no new arrival. */
	char *from, *to;
	if (j->logged != NULL && rename_parse_logged(j->logged, &from, &to) == 0) {
		jobsrc_ignore(S.src, to);
		/* A dry run can foresee two files planned onto one name. */
		if (S.opt->dry_run && !strset_add(&S.planned, to)) {
			char line[PATH_MAX * 2 + 80];
			int n = snprintf(line, sizeof(line), "%s -> %s (conflict: another file is planned onto this name)\n",
			    from, to);
			if (n > 0)
				write_output(STDOUT_FILENO, line, strlen(line));
		}
		free(from);
		free(to);
	}
	if (r->flags & JR_ABORTED) {
		/* Killed because we are stopping: not an attempt, the job is still to do. */
		jq_push(&S.retry, j);
		return;
	}
	if (r->flags & JR_TIMEOUT) {
		s->expect_exit = true;	/* the worker exits and is replaced */
		s->timed_out = j->seq;
	}
	job_finished(j, r, reason);
}

static void
write_output(int fd, const char *p, size_t n)
{
	progress_clear();
	if (write_all(fd, p, n) < 0 && errno != EPIPE)
		log_warn("writing job output");
}

/* Handle every whole message in a worker's read buffer. */
static void
slot_messages(struct slot *s)
{
	struct msg m;
	int r;

	while ((r = msg_get(&s->rbuf, &m)) == 1) {
		switch (m.type) {
		case MSG_READY:
			if (s->state == SLOT_STARTING)
				s->state = SLOT_READY;
			s->init_failures = 0;
			S.ever_ready = true;
			s->head_since = now_mono();
			break;
		case MSG_INITFAIL:
			free(s->init_err);
			s->init_err = xstrndup(m.tail, m.taillen);
			break;
		case MSG_SPAWN:
			s->cmd_pgid = m.u.spawn.pgid;
			break;
		case MSG_OUTPUT:
			if (s->inflight.head == NULL || s->inflight.head->seq != m.u.output.seq)
				break;
			/*
			 * Until this job's result arrives, only this worker is
			 * read, so its output reaches ours as one block.
			 */
			S.streaming = s;
			write_output(m.u.output.stream == 2 ? STDERR_FILENO : STDOUT_FILENO,
			    m.tail, m.taillen);
			break;
		case MSG_RESULT:
			on_result(s, &m);
			break;
		default:
			r = -1;
			break;
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		log_warnx("worker %d sent a malformed message; replacing it", s->id);
		kill(s->pid, SIGKILL);
		slot_close_fds(s);
	}
}

/* Read what a worker has sent; at end of file stop reading it. */
static void
slot_read(struct slot *s)
{
	for (int i = 0; i < 16 && s->from >= 0; i++) {
		ssize_t n = msg_read(s->from, &s->rbuf);
		if (n > 0) {
			slot_messages(s);
			continue;
		}
		if (n == 0 || errno != EAGAIN) {
			close(s->from);
			s->from = -1;
			if (S.streaming == s)
				S.streaming = NULL;
		}
		break;
	}
}

static void
slot_write(struct slot *s)
{
	if (s->to < 0)
		return;
	if (msg_flush(s->to, &s->wbuf) < 0) {
		/* EPIPE: it died; the reaper will tell why. */
		close(s->to);
		s->to = -1;
		buf_reset(&s->wbuf);
		return;
	}
	if (s->state == SLOT_STOPPING && buf_pending(&s->wbuf) == 0 && s->inflight.n == 0) {
		close(s->to);
		s->to = -1;
	}
}

/* --- reaping ---------------------------------------------------------------- */

static void
describe_status(char *out, size_t len, int status)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

static bool
want_workers(void)
{
	if (S.stopping || S.exit_code != 0)
		return false;
	if (S.opt->service)
		return true;
	return !S.finishing;
}

/* Schedule the slot's next worker, with backoff when the last one died young. */
static void
slot_schedule(struct slot *s, bool crashed)
{
	double now = now_mono();
	bool healthy = s->done > 0 || now - s->forked_at >= HEALTHY_UPTIME;

	if (s->id > S.nworkers || s->disabled || !want_workers()) {
		s->restart_at = 0;
		return;
	}
	if (!crashed) {
		s->restart_at = now;
		return;
	}
	if (healthy)
		s->backoff = 0;
	s->restart_at = now + s->backoff;
	s->backoff = s->backoff == 0 ? BACKOFF_FIRST : fmin(s->backoff * 2, BACKOFF_MAX);
}

/*
 * The worker in slot s has exited with status.  Say how, settle the jobs
 * it held, and schedule its replacement.
 */
static void
slot_died(struct slot *s, int status)
{
	char how[128];
	double uptime = now_mono() - s->forked_at;
	bool init_failed = WIFEXITED(status) && WEXITSTATUS(status) == WEXIT_INIT;
	bool planned = WIFEXITED(status) && (WEXITSTATUS(status) == WEXIT_OK ||
	    WEXITSTATUS(status) == WEXIT_TIMEOUT || WEXITSTATUS(status) == WEXIT_TERM);
	struct job *held = NULL;

	/* Whatever it wrote before dying is still in the pipe. */
	slot_read(s);
	slot_close_fds(s);
	describe_status(how, sizeof(how), status);

	/* A command it was running would otherwise outlive it and run twice. */
	if (s->cmd_pgid > 0)
		killpg(s->cmd_pgid, SIGKILL);
	s->cmd_pgid = 0;

	if (!planned && !init_failed)
		held = jq_pop(&s->inflight);
	jq_prepend(&S.retry, &s->inflight);

	if (init_failed) {
		s->init_failures++;
		log_warnx("worker %d could not start: %s", s->id,
		    s->init_err ? s->init_err : "init hook failed");
	} else if (s->killed) {
		log_warnx("worker %d (pid %d) killed: job %" PRIu64 " ran past job_timeout",
		    s->id, (int)s->pid, held ? held->seq : 0);
	} else if (s->timed_out != 0) {
		log_info("worker %d replaced: job %" PRIu64 " timed out", s->id, s->timed_out);
	} else if (!planned || (!s->expect_exit && !S.stopping)) {
		S.restarts++;
		if (held != NULL)
			log_warnx("worker %d (pid %d) %s after %.1fs, holding job %" PRIu64,
			    s->id, (int)s->pid, how, uptime, held->seq);
		else
			log_warnx("worker %d (pid %d) %s after %.1fs", s->id, (int)s->pid, how, uptime);
	} else {
		log_debug("worker %d (pid %d) %s after %.1fs, %lu jobs",
		    s->id, (int)s->pid, how, uptime, s->done);
	}

	if (held != NULL) {
		struct msg_result r = {
			.seq = held->seq, .start = now_wall() - (now_mono() - s->head_since),
			.runtime = now_mono() - s->head_since,
			.exitval = WIFEXITED(status) ? WEXITSTATUS(status) : 0,
			.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		};
		char reason[160];
		if (s->killed)
			snprintf(reason, sizeof(reason), "timed out after %gs; its worker was killed",
			    S.cfg->job_timeout);
		else
			snprintf(reason, sizeof(reason), "its worker %s", how);
		if (r.exitval == 0 && r.signal == 0)
			r.exitval = 255;
		job_finished(held, &r, reason);
	}

	s->state = SLOT_EMPTY;
	s->pid = 0;
	if (init_failed && !S.ever_ready && !S.opt->dry_run) {
		/* Nothing has ever started: the database is down or the config wrong. */
		if (S.exit_code == 0) {
			log_errorx("workers cannot start: %s", s->init_err ? s->init_err : "init hook failed");
			S.exit_code = MPW_EXIT_INIT;
		}
		s->restart_at = 0;
		return;
	}
	if (init_failed && !S.opt->service && s->init_failures >= INIT_FAILURES_MAX) {
		log_warnx("worker %d: giving up after %d failed starts", s->id, s->init_failures);
		s->disabled = true;
	}
	slot_schedule(s, !planned || init_failed);
}

static struct slot *
slot_by_pid(pid_t pid)
{
	for (int i = 0; i < S.nslots; i++)
		if (S.slots[i]->state != SLOT_EMPTY && S.slots[i]->pid == pid)
			return S.slots[i];
	return NULL;
}

/*
 * Reap every child that has exited.  Besides workers these include
 * commands orphaned by a worker's death: mpworker is their subreaper.
 */
static void
reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		struct slot *s = slot_by_pid(pid);
		if (s != NULL)
			slot_died(s, status);
	}
}

/* --- dispatch ----------------------------------------------------------------- */

/* Read jobs from the source until enough are queued to keep every worker busy. */
static void
fill_pending(void)
{
	size_t want = (size_t)S.nworkers * (size_t)window_max() + 64;
	struct jobline jl;

	while (!S.src_eof && S.pending.n < want && S.stopping == 0) {
		int r = jobsrc_next(S.src, &jl);
		if (r == 0)
			return;
		if (r < 0) {
			S.src_eof = true;
			return;
		}
		S.read++;
		if (seqset_has(S.skip, jl.seq)) {
			S.skipped++;
			continue;
		}
		struct job *j = xmalloc(sizeof(*j) + jl.len + 1);
		j->seq = jl.seq;
		j->attempt = 0;
		j->logged = NULL;
		j->watched = jl.watched;
		j->too_long = jl.too_long;
		j->len = jl.len;
		memcpy(j->text, jl.text, jl.len);
		j->text[jl.len] = '\0';
		if (j->too_long) {
			struct msg_result res = { .seq = j->seq, .start = now_wall(), .exitval = 255 };
			char why[64];
			snprintf(why, sizeof(why), "the job line is longer than %u bytes", JOB_MAX_LEN);
			j->attempt = (unsigned)S.cfg->retries;	/* no point retrying */
			job_finished(j, &res, why);
			continue;
		}
		jq_push(&S.pending, j);
	}
}

static struct job *
next_job(void)
{
	struct job *j = jq_pop(&S.retry);

	return j != NULL ? j : jq_pop(&S.pending);
}

static bool
slot_accepts(const struct slot *s, int window)
{
	if (s->state != SLOT_READY || s->to < 0 || s->gen != S.gen)
		return false;
	if ((int)s->inflight.n >= window)
		return false;
	return S.cfg->max_jobs_per_worker == 0 || s->sent < (unsigned long)S.cfg->max_jobs_per_worker;
}

static void
send_job(struct slot *s, struct job *j)
{
	struct msg_job mj = { .seq = j->seq, .attempt = j->attempt, .flags = j->watched ? MJ_WATCHED : 0 };

	if (s->inflight.n == 0)
		s->head_since = now_mono();
	msg_put(&s->wbuf, MSG_JOB, &mj, sizeof(mj), j->text, j->len);
	jq_push(&s->inflight, j);
	s->sent++;
}

/*
 * Hand out jobs round by round, one per worker per round, so that the
 * least loaded workers fill first and the tail of the run stays balanced.
 */
static void
dispatch(void)
{
	if (S.stopping || S.exit_code)
		return;
	for (int round = 1; round <= S.window; round++) {
		bool any = false;
		for (int i = 0; i < S.nslots; i++) {
			struct slot *s = S.slots[i];
			if (!slot_accepts(s, round))
				continue;
			struct job *j = next_job();
			if (j == NULL)
				goto out;
			send_job(s, j);
			any = true;
		}
		if (!any)
			break;
	}
out:
	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		/* Recycle a worker that has done its max_jobs_per_worker. */
		if (s->state == SLOT_READY && S.cfg->max_jobs_per_worker > 0 &&
		    s->sent >= (unsigned long)S.cfg->max_jobs_per_worker)
			slot_retire(s);
		/* Replace a worker that runs an old configuration once it is idle. */
		if (s->state == SLOT_READY && s->gen != S.gen && s->inflight.n == 0)
			slot_retire(s);
	}
}

/* Write what is queued for each worker now, rather than after the next poll. */
static void
flush_slots(void)
{
	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		if (buf_pending(&s->wbuf) > 0 || s->state == SLOT_STOPPING)
			slot_write(s);
	}
}

/* --- stopping, reloading, status ------------------------------------------------ */

static void
begin_stop(int how, const char *why)
{
	double now = now_mono();

	if (how <= S.stopping)
		return;
	if (S.stopping == 0 && how == 1) {
		log_warnx("%s: finishing the running jobs, then stopping (again to stop at once)", why);
		sdn_send("STOPPING=1");
	}
	S.stopping = how;
	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		s->restart_at = 0;
		if (how == 1)
			slot_drain(s);
	}
	if (how == 1) {
		S.term_at = S.cfg->stop_timeout > 0 ? now + S.cfg->stop_timeout : 0;
	} else {
		if (why != NULL)
			log_warnx("%s: stopping now", why);
		S.term_at = now;
	}
}

static void
signal_workers(int sig)
{
	for (int i = 0; i < S.nslots; i++)
		if (S.slots[i]->state != SLOT_EMPTY)
			kill(S.slots[i]->pid, sig);
}

static void
status_line(char *out, size_t len)
{
	int busy = 0, idle = 0;
	size_t queued = S.pending.n + S.retry.n;

	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		if (s->state == SLOT_EMPTY)
			continue;
		if (s->inflight.n > 0)
			busy++;
		else
			idle++;
		queued += s->inflight.n > 0 ? s->inflight.n - 1 : 0;
	}
	snprintf(out, len, "%d busy, %d idle workers; %" PRIu64 " done, %" PRIu64 " failed, %zu queued%s",
	    busy, idle, S.ok, S.failed, queued, S.src_eof ? "" : " (input not finished)");
}

static void
set_workers(int n)
{
	if (n > S.nslots) {
		S.slots = xrealloc(S.slots, (size_t)n * sizeof(*S.slots));
		for (int i = S.nslots; i < n; i++) {
			struct slot *s = xcalloc(1, sizeof(*s));
			s->id = i + 1;
			s->to = s->from = -1;
			S.slots[i] = s;
		}
		S.nslots = n;
	}
	S.nworkers = n;
	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		if (s->id > n)
			slot_retire(s);
		else if (s->state == SLOT_EMPTY && !s->disabled && s->restart_at == 0)
			s->restart_at = now_mono();
	}
}

/*
 * SIGHUP in service mode: load the INI again; if it is valid, new workers
 * start with it and the old ones are retired as they go idle.  The job
 * source keeps its settings until restart.
 */
static void
reload(void)
{
	char err[4096];
	struct cfg *n;

	if (!S.opt->service) {
		log_info("SIGHUP ignored: only a service reloads its configuration");
		return;
	}
	sdn_send("RELOADING=1");
	n = cfg_load(S.cfg->path, err, sizeof(err));
	if (n == NULL) {
		log_warnx("reload failed; still running the old configuration:\n%s", err);
		sdn_send("READY=1");
		return;
	}
	if (strcmp(n->type, S.cfg->type) != 0) {
		log_warnx("reload refused: [jobs] type changed from %s to %s; that needs a restart",
		    S.cfg->type, n->type);
		cfg_free(n);
		sdn_send("READY=1");
		return;
	}
	if (S.cfg != S.src_cfg)
		cfg_free(S.cfg);
	S.cfg = n;
	S.gen++;
	S.notified_ready = false;
	set_workers((int)n->workers);
	log_info("reloaded %s: %ld workers", n->path, n->workers);
}

static void
handle_signals(void)
{
	struct signalfd_siginfo si;
	char line[256];

	while (read(S.sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap();
			break;
		case SIGINT:
		case SIGTERM:
			S.signalled = true;
			begin_stop(S.stopping ? 2 : 1, strsignal((int)si.ssi_signo));
			break;
		case SIGHUP:
			reload();
			break;
		case SIGUSR1:
			status_line(line, sizeof(line));
			log_warnx("status: %s", line);
			break;
		}
	}
}

/* --- the loop ----------------------------------------------------------------- */

static void
start_due_workers(double now)
{
	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		if (s->state != SLOT_EMPTY || s->restart_at == 0 || s->restart_at > now)
			continue;
		if (!want_workers() || s->id > S.nworkers || s->disabled) {
			s->restart_at = 0;
			continue;
		}
		if (slot_start(s) < 0)
			slot_schedule(s, true);
	}
}

/* Kill a worker whose job has overrun job_timeout and its own kill grace. */
static void
check_timeouts(double now)
{
	if (S.cfg->job_timeout <= 0)
		return;
	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		if (s->state == SLOT_EMPTY || s->killed || s->inflight.n == 0)
			continue;
		if (now >= s->head_since + S.cfg->job_timeout + TIMEOUT_GRACE) {
			s->killed = true;
			if (s->cmd_pgid > 0)
				killpg(s->cmd_pgid, SIGKILL);
			kill(s->pid, SIGKILL);
		}
	}
}

static void
check_finished(void)
{
	bool all_disabled = true;

	for (int i = 0; i < S.nworkers && i < S.nslots; i++)
		if (!S.slots[i]->disabled)
			all_disabled = false;
	if (all_disabled && S.exit_code == 0 && !input_done()) {
		log_errorx("no worker could start; stopping");
		S.exit_code = MPW_EXIT_INIT;
	}
	if (S.exit_code != 0 && S.stopping < 2)
		begin_stop(2, NULL);
	if (S.opt->service || S.finishing || S.stopping)
		return;
	if (input_done() && nothing_in_flight()) {
		S.finishing = true;
		for (int i = 0; i < S.nslots; i++) {
			S.slots[i]->restart_at = 0;
			slot_retire(S.slots[i]);
		}
	}
}

static void
notify(double now)
{
	char line[256];

	if (!S.notified_ready) {
		int ready = 0;
		for (int i = 0; i < S.nworkers; i++)
			if (S.slots[i]->state == SLOT_READY && S.slots[i]->gen == S.gen)
				ready++;
		if (ready == S.nworkers || (!S.opt->service && S.finishing)) {
			sdn_send("READY=1");
			S.notified_ready = true;
			log_debug("all %d workers ready after %.3fs", S.nworkers, now - S.started_mono);
		}
	}
	if (now >= S.next_status) {
		status_line(line, sizeof(line));
		sdn_send("STATUS=%s", line);
		S.next_status = now + 1;
	}
	if (sdn_watchdog_interval() > 0 && now >= S.next_watchdog) {
		sdn_send("WATCHDOG=1");
		S.next_watchdog = now + sdn_watchdog_interval() / 2;
	}
}

/* The poll timeout: until the next timer is due, at most a second. */
static int
poll_timeout(double now)
{
	double next = now + 1.0;

	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		if (s->state == SLOT_EMPTY && s->restart_at > 0)
			next = fmin(next, s->restart_at);
		if (s->state != SLOT_EMPTY && S.cfg->job_timeout > 0 && s->inflight.n > 0 && !s->killed)
			next = fmin(next, s->head_since + S.cfg->job_timeout + TIMEOUT_GRACE);
	}
	if (S.term_at > 0)
		next = fmin(next, S.term_at);
	if (S.kill_at > 0)
		next = fmin(next, S.kill_at);
	if (progress_enabled())
		next = fmin(next, now + 0.2);
	if (sdn_watchdog_interval() > 0)
		next = fmin(next, S.next_watchdog);
	return next <= now ? 0 : (int)ceil((next - now) * 1000);
}

static int
run_loop(void)
{
	struct pollfd *pfd = NULL;
	struct slot **owner = NULL;
	size_t cap = 0;

	for (;;) {
		double now = now_mono();

		if (S.stopping && S.term_at > 0 && now >= S.term_at) {
			signal_workers(SIGTERM);
			S.term_at = 0;
			S.kill_at = now + KILL_GRACE;
		}
		if (S.kill_at > 0 && now >= S.kill_at) {
			signal_workers(SIGKILL);
			S.kill_at = now + 3600;
		}
		start_due_workers(now);
		fill_pending();
		dispatch();
		check_finished();
		flush_slots();
		if (S.joblog != NULL)
			joblog_flush(S.joblog);
		notify(now);
		draw_progress(false);
		if ((S.finishing || S.stopping) && live_workers() == 0)
			break;

		size_t need = (size_t)S.nslots * 2 + 2;
		if (need > cap) {
			cap = need;
			pfd = xrealloc(pfd, cap * sizeof(*pfd));
			owner = xrealloc(owner, cap * sizeof(*owner));
		}
		size_t n = 0;
		pfd[n] = (struct pollfd){ .fd = S.sigfd, .events = POLLIN };
		owner[n++] = NULL;
		int srcfd = S.src_eof || S.stopping ? -1 : jobsrc_fd(S.src);
		if (srcfd >= 0 && S.pending.n < (size_t)S.nworkers * (size_t)window_max()) {
			pfd[n] = (struct pollfd){ .fd = srcfd, .events = POLLIN };
			owner[n++] = NULL;
		}
		for (int i = 0; i < S.nslots; i++) {
			struct slot *s = S.slots[i];
			if (s->from >= 0 && (S.streaming == NULL || S.streaming == s)) {
				pfd[n] = (struct pollfd){ .fd = s->from, .events = POLLIN };
				owner[n++] = s;
			}
			if (s->to >= 0 && buf_pending(&s->wbuf) > 0) {
				pfd[n] = (struct pollfd){ .fd = s->to, .events = POLLOUT };
				owner[n++] = s;
			}
		}
		int r = poll(pfd, n, poll_timeout(now));
		if (r < 0 && errno != EINTR)
			fatal("poll");
		for (size_t i = 0; r > 0 && i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == S.sigfd)
				handle_signals();
			else if (owner[i] == NULL)
				jobsrc_readable(S.src);
			else if (pfd[i].events & POLLIN)
				slot_read(owner[i]);
			else
				slot_write(owner[i]);
		}
		now = now_mono();
		check_timeouts(now);
	}
	free(pfd);
	free(owner);
	return 0;
}

/* --- set-up and the report ------------------------------------------------------ */

static void
report(double wall)
{
	char line[512];
	int n;

	draw_progress(true);
	progress_finish();
	if (!S.opt->report)
		return;
	n = snprintf(line, sizeof(line),
	    "mpworker: %" PRIu64 " jobs: %" PRIu64 " succeeded, %" PRIu64 " failed, %" PRIu64
	    " retried; %" PRIu64 " workers restarted; %.2fs, %.1f jobs/s",
	    jobs_finished(), S.ok, S.failed, S.retried, S.restarts, wall,
	    wall > 0 ? (double)jobs_finished() / wall : 0.0);
	if (S.passed > 0 && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n,
		    "; %" PRIu64 " had nothing to do (no mapping)", S.passed);
	if (S.skipped > 0 && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n,
		    "; %" PRIu64 " skipped (already in the joblog)", S.skipped);
	if (S.signalled && jobs_left() && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, "; interrupted: %zu%s jobs not run (--resume continues)",
		    S.pending.n + S.retry.n, S.src_eof ? "" : "+");
	fprintf(stderr, "%s\n", line);
}

static int
setup(char *err, size_t errlen)
{
	sigemptyset(&S.sigmask);
	sigaddset(&S.sigmask, SIGCHLD);
	sigaddset(&S.sigmask, SIGTERM);
	sigaddset(&S.sigmask, SIGINT);
	sigaddset(&S.sigmask, SIGHUP);
	sigaddset(&S.sigmask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &S.sigmask, NULL) < 0)
		return snprintf(err, errlen, "sigprocmask: %s", strerror(errno)), -1;
	S.sigfd = signalfd(-1, &S.sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (S.sigfd < 0)
		return snprintf(err, errlen, "signalfd: %s", strerror(errno)), -1;
	/* Writes to a worker that died must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* Commands orphaned by a dead worker come to us, so we can stop and reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	if (S.cfg->watch && !S.opt->service)
		log_info("[rename] watch takes effect with --service only");
	S.src = jobsrc_open(S.src_cfg, S.opt->service, err, errlen);
	if (S.src == NULL)
		return -1;
	if (S.cfg->joblog != NULL && (S.opt->resume || S.opt->resume_failed)) {
		uint64_t n;
		if (joblog_read_done(S.cfg->joblog, !S.opt->resume_failed, &S.skip, &n, err, errlen) < 0)
			return -1;
		log_info("resuming: %" PRIu64 " jobs in %s are not run again", n, S.cfg->joblog);
	} else if (S.opt->resume || S.opt->resume_failed) {
		snprintf(err, errlen, "--resume needs a joblog ([pool] joblog or --joblog)");
		return -1;
	}
	if (S.cfg->joblog != NULL && !S.opt->dry_run) {
		S.joblog = joblog_open(S.cfg->joblog, S.opt->resume || S.opt->resume_failed, err, errlen);
		if (S.joblog == NULL)
			return -1;
	}
	return 0;
}

static void
teardown(void)
{
	for (int i = 0; i < S.nslots; i++) {
		struct slot *s = S.slots[i];
		slot_close_fds(s);
		jq_free(&s->inflight);
		buf_free(&s->rbuf);
		buf_free(&s->wbuf);
		free(s->init_err);
		free(s);
	}
	free(S.slots);
	jq_free(&S.pending);
	jq_free(&S.retry);
	jobsrc_close(S.src);
	joblog_close(S.joblog);
	seqset_free(S.skip);
	strset_free(&S.planned);
	if (S.sigfd >= 0)
		close(S.sigfd);
	if (S.cfg != S.src_cfg)
		cfg_free(S.cfg);
	cfg_free(S.src_cfg);
}

int
sup_run(struct cfg *cfg, const struct sup_opts *opts)
{
	char err[1024];
	int code;

	S.cfg = S.src_cfg = cfg;
	S.opt = opts;
	S.sigfd = -1;
	S.window = WINDOW_MIN;
	S.started_mono = now_mono();
	progress_init(opts->progress);
	log_set_before_write(progress_clear);
	if (setup(err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		teardown();
		return MPW_EXIT_USAGE;
	}
	set_workers((int)cfg->workers);
	run_loop();
	reap();
	if (S.joblog != NULL)
		joblog_flush(S.joblog);
	sdn_send("STOPPING=1");
	report(now_mono() - S.started_mono);

	if (S.exit_code != 0)
		code = S.exit_code;
	else if (S.stopping && jobs_left())
		code = MPW_EXIT_INTERRUPTED;
	else
		code = S.failed > 0 ? MPW_EXIT_FAILED : MPW_EXIT_OK;
	teardown();
	return code;
}
