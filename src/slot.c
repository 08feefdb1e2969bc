/*
 * A worker slot's life: fork a worker into it, talk to it over its pipes,
 * take its results, and when it dies reap it, settle the jobs it held and
 * schedule its replacement.  See supervisor.c for the slot state machine.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "job.h"
#include "groups.h"
#include "joblog.h"
#include "order.h"
#include "results.h"
#include "jobsrc.h"
#include "log.h"
#include "msg.h"
#include "progress.h"
#include "sup.h"
#include "supervisor.h"
#include "util.h"
#include "worker.h"

static void slot_died(struct slot *s, int status);
static int  write_output(int fd, const char *p, size_t n);
static int  job_output(const struct job *j, int stream, const char *p, size_t n);
static void read_pipe(struct slot *s);


struct job *
job_new(uint64_t seq, const char *text, size_t len)
{
	struct job *j = xcalloc(1, sizeof(*j) + len + 1);

	j->seq = seq;
	j->len = len;
	if (text != NULL && len > 0)
		memcpy(j->text, text, len);
	return j;
}

void
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

struct job *
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
void
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

void
jq_free(struct jobq *q)
{
	struct job *j;

	while ((j = jq_pop(q)) != NULL)
		free(j);
}

/* --- workers -------------------------------------------------------------- */

/* The descriptors mpworker was started with, beyond 0-2, sorted: its commands inherit them. */
static int *inherited;
static size_t ninherited;

static int
int_cmp(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

void
slot_note_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		if (fd <= 2 || fd == dirfd(d))
			continue;
		inherited = xrealloc(inherited, (ninherited + 1) * sizeof(*inherited));
		inherited[ninherited++] = fd;
	}
	closedir(d);
	if (ninherited > 1)
		qsort(inherited, ninherited, sizeof(*inherited), int_cmp);
}

/*
 * The descriptors a new worker keeps, sorted: what mpworker was started
 * with, and its two pipe ends a and b.  Made before fork.
 */
static int *
worker_keeps(int a, int b, size_t *n)
{
	int *keep = xmalloc((ninherited + 2) * sizeof(*keep));

	if (ninherited > 0)	/* none under systemd, where it stays NULL */
		memcpy(keep, inherited, ninherited * sizeof(*keep));
	keep[ninherited] = a;
	keep[ninherited + 1] = b;
	*n = ninherited + 2;
	qsort(keep, *n, sizeof(*keep), int_cmp);
	return keep;
}

/*
 * In the child: close every descriptor but the standard streams and keep.
 * Whatever the parent opened (other workers' pipes, the joblog, the job
 * source, the status socket and its clients, result files), a worker
 * holding a copy would keep it open past the parent's close: a client
 * would never see its answer end, a reader never see end of file.
 */
static void
close_parent_fds(const int *keep, size_t n)
{
	int prev = 2;

	for (size_t i = 0; i < n; i++) {
		if (keep[i] > prev + 1)
			close_range((unsigned)prev + 1, (unsigned)keep[i] - 1, 0);
		if (keep[i] > prev)
			prev = keep[i];
	}
	close_range((unsigned)prev + 1, ~0U, 0);
}

/*
 * A worker could not be forked (out of descriptors or processes).  It
 * counts as a failed start: backoff grows, the first failure of a run of
 * them is logged, and a one-shot run gives the slot up after
 * INIT_FAILURES_MAX in a row, as for a failing init hook.  Returns -1.
 */
static int
start_failed(struct slot *s, const char *what)
{
	static bool said, said_giving_up;
	char why[160];

	snprintf(why, sizeof(why), "cannot start: %s: %s", what, strerror(errno));
	/* Said once for the run: with many workers, it would be said for each. */
	if (!said)
		log_warnx("worker %d %s; retrying (said once for every worker)", s->id, why);
	else
		log_debug("worker %d %s", s->id, why);
	said = true;
	free(s->init_err);
	s->init_err = xstrdup(why);
	s->init_failures++;
	s->forked_at = now_mono();	/* it died young: back off */
	s->done = 0;
	if (!sup.opt->service && s->init_failures >= INIT_FAILURES_MAX) {
		if (!said_giving_up)
			log_warnx("worker %d: giving up after %d failed starts; the run goes on with the workers "
			    "that started (said once for every worker)", s->id, s->init_failures);
		said_giving_up = true;
		s->disabled = true;
	}
	return -1;
}

/*
 * Fork a worker into slot s.  Signals are blocked around fork (as they
 * always are in the parent, which reads them from its signalfd); the child
 * resets every handler, and the worker sets its own mask.
 */
int
slot_start(struct slot *s)
{
	int down[2], up[2];
	sigset_t all, old;
	pid_t pid;

	if (pipe2(down, O_CLOEXEC) < 0)
		return start_failed(s, "pipe");
	if (pipe2(up, O_CLOEXEC) < 0) {
		close(down[0]);
		close(down[1]);
		return start_failed(s, "pipe");
	}
	size_t nkeep;
	int *keep = worker_keeps(down[0], up[1], &nkeep);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		free(keep);
	}
	if (pid < 0) {
		int e = errno;
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		errno = e;
		return start_failed(s, "fork");
	}
	if (pid == 0) {
		struct wrk_args a = {
			.slot = s->id, .cfg = s->candidate ? sup.next_cfg : sup.cfg, .fd_in = down[0], .fd_out = up[1],
			.parent = getppid(), .dry_run = sup.opt->dry_run,
		};
		close_parent_fds(keep, nkeep);
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
	s->starts++;
	s->sent = s->done = 0;
	s->gen = s->candidate ? sup.gen + 1 : sup.gen;
	s->forked_at = now_mono();
	s->restart_at = 0;
	s->expect_exit = s->killed = false;
	s->timed_out = 0;
	s->cmd_pgid = 0;
	s->output_lost = 0;
	s->group_left = 0;
	s->retired_at = 0;
	s->hung = false;
	log_debug("worker %d started (pid %d)", s->id, (int)pid);
	return 0;
}

void
slot_free(struct slot *s)
{
	slot_close_fds(s);
	jq_free(&s->inflight);
	buf_free(&s->rbuf);
	buf_free(&s->wbuf);
	free(s->init_err);
	free(s);
}

/* Ask a worker to finish: close its pipe once what we queued for it is written. */
void
slot_retire(struct slot *s)
{
	if (s->state == SLOT_EMPTY || s->state == SLOT_STOPPING)
		return;
	s->state = SLOT_STOPPING;
	s->expect_exit = true;
}

/* Ask a worker to drain: finish the job in hand, drop the rest, exit. */
void
slot_drain(struct slot *s)
{
	if (s->state == SLOT_EMPTY || s->to < 0)
		return;
	msg_put(&s->wbuf, MSG_DRAIN, NULL, 0, NULL, 0);
	s->state = SLOT_STOPPING;
	s->expect_exit = true;
}

void
slot_close_fds(struct slot *s)
{
	if (s->to >= 0)
		close(s->to);
	if (s->from >= 0)
		close(s->from);
	s->to = s->from = -1;
	buf_reset(&s->rbuf);
	buf_reset(&s->wbuf);
	if (sup.streaming == s)
		sup.streaming = NULL;
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

	if (sup.joblog != NULL && !order_record(&e))
		joblog_add(sup.joblog, &e);
}

/*
 * A job's attempt has ended: log it, and either finish the job or queue
 * it again while it has retries left.  A source that settles its jobs (a
 * queue) hears how the attempt went and retries it itself, or gives it
 * up.  Takes ownership of j.
 */
void
job_finished(struct job *j, const struct msg_result *r, const char *reason)
{
	bool success = r->exitval == 0 && r->signal == 0;

	if (!j->hopeless)
		sup_observe_duration(r->runtime);
	if (j->logged != NULL)
		record(j, r, j->logged, strlen(j->logged));
	else
		record(j, r, j->text, j->len);
	free(j->logged);
	j->logged = NULL;
	if (jobsrc_settles(sup.src)) {
		enum jobsrc_end how = success ? JS_OK : (r->flags & JR_FENCED) ? JS_FENCED :
		    j->hopeless ? JS_HOPELESS : JS_FAILED;
		bool final = jobsrc_ended(sup.src, j->seq, j->attempt, how, reason);
		if (how == JS_FENCED || (!success && !final)) {
			if (how == JS_FENCED) {
				sup.fenced++;
			} else {
				log_debug("job %" PRIu64 " attempt %u failed (%s); the queue runs it again",
				    j->seq, j->attempt + 1, reason);
				sup.retried++;
			}
			free(j);
			return;
		}
	} else if (!success && (long)j->attempt < sup.cfg->retries && sup.stopping == 0) {
		log_info("job %" PRIu64 " failed (%s); retrying (%u of %ld)",
		    j->seq, reason, j->attempt + 1, sup.cfg->retries);
		j->attempt++;
		sup.retried++;
		jq_push(&sup.retry, j);
		return;
	}
	if (success && (r->flags & JR_SKIPPED)) {
		sup.passed++;
	} else if (success) {
		sup.ok++;
	} else {
		log_warnx("%s %" PRIu64 " failed: %s: %s", j->step == STEP_THEN ? "step" :
		    j->step == STEP_FINALLY ? "finally step" : "job", j->seq, reason,
		    j->len > 200 ? "(command too long to show)" : j->text);
		sup.failed++;
	}
	groups_job_end(j, success, reason);
	if (j->seq <= sup.spooled && j->step == 0)
		sup_spool_job_done();
	order_done(j->seq);
	free(j);
	sup_check_halt();
}

/*
 * The most jobs a worker may hold, and whether the kind pipelines them:
 * the kind says (its window_max), or WINDOW_MAX one at a time.  They
 * change only with the configuration.
 */
void
window_limits(void)
{
	const struct job_kind *k = job_kind_find(sup.cfg->type);

	sup.pipelines = false;
	sup.window_max = k != NULL && k->window_max != NULL ? k->window_max(sup.cfg, &sup.pipelines) : WINDOW_MAX;
}

/*
 * Size every worker's window from what results say: keep about
 * WINDOW_TARGET seconds of work queued, plus enough to cover the round
 * trip a pipeline waits for (the bandwidth-delay product), so that
 * across a network each worker keeps round trip / service time jobs in
 * flight.  Service time is a result's runtime less the round trip it
 * waited for, so a long job still gets a window of one: it never holds
 * another back while a worker is idle.  A kind that pipelines starts at
 * WINDOW_PROBE, so that groups of two or more form and a round trip can be
 * measured at all; if its first results bring no such measure (the
 * driver does not pipeline), it falls back to one.  A job such a kind ran
 * alone (lone) waited for a round trip too, of the size measured.
 */
static void
update_window(const struct msg_result *r, bool lone)
{
	int max = sup.window_max;
	double service = r->runtime - (r->latency > 0 ? r->latency : lone ? sup.avg_latency : 0);

	if (service < 1e-6)
		service = 1e-6;
	sup.avg_service = sup.avg_service == 0 ? service : 0.9 * sup.avg_service + 0.1 * service;
	if (r->latency > 0)
		sup.avg_latency = sup.avg_latency == 0 ? r->latency : 0.9 * sup.avg_latency + 0.1 * r->latency;
	if (sup.probes > 0)
		sup.probes--;
	int min = sup.probes > 0 && sup.avg_latency == 0 && sup.pipelines ? WINDOW_PROBE : WINDOW_MIN;
	/* Work queued (as many as WINDOW_MAX), plus what covers the round trip. */
	double w = fmin(WINDOW_TARGET / sup.avg_service, WINDOW_MAX) + sup.avg_latency / sup.avg_service;
	sup.window = w < min ? min : w > max ? max : (int)w;
}

static void
on_result(struct slot *s, const struct msg *m)
{
	struct job *j = s->inflight.head;
	struct msg_result r = m->u.result;
	char reason[700];

	if (j == NULL || j->seq != r.seq) {
		log_warnx("worker %d sent a result for job %" PRIu64 " it does not hold; replacing it",
		    s->id, r.seq);
		kill(s->pid, SIGKILL);
		return;
	}
	jq_pop(&s->inflight);
	s->done++;
	s->head_since = now_mono();
	bool lone = s->group_left == 0;
	if (s->group_left > 0)
		s->group_left--;
	s->cmd_pgid = 0;
	if (sup.streaming == s)
		sup.streaming = NULL;
	update_window(&r, lone && sup.pipelines);
	/* The tail: the reason; then optionally a NUL and the command to log, and a NUL and a rename's target. */
	size_t rlen = strnlen(m->tail, m->taillen);
	snprintf(reason, sizeof(reason), "%.*s", (int)rlen, m->tail);
	const char *rest = rlen < m->taillen ? m->tail + rlen + 1 : NULL;
	size_t restlen = rest != NULL ? m->taillen - rlen - 1 : 0;
	size_t dlen = rest != NULL ? strnlen(rest, restlen) : 0;
	j->logged = dlen > 0 ? xstrndup(rest, dlen) : NULL;
	if (rest != NULL && dlen < restlen) {
		char *to = xstrndup(rest + dlen + 1, restlen - dlen - 1);
		/* A file we renamed will be reported by [rename] watch: it is no new arrival. */
		jobsrc_ignore(sup.src, to);
		/*
		 * A dry run's plan, one line per file, with the conflicts it
		 * can foresee: the target exists (the worker saw it), or two
		 * files are planned onto one name (only we can see it).  Either
		 * fails the job, as the rename would.
		 */
		if (sup.opt->dry_run) {
			struct buf line = { 0 };
			bool twice = !strset_add(&sup.planned, to);
			if (twice && r.exitval == 0) {
				r.exitval = 1;
				snprintf(reason, sizeof(reason), "conflict: another file is planned onto this name");
			}
			buf_printf(&line, "%s -> %s", j->text, to);
			if (r.exitval != 0)
				buf_printf(&line, " (%s)", reason);
			buf_add(&line, "\n", 1);
			if (s->output_lost == 0)
				s->output_lost = job_output(j, 1, line.data, line.len);
			buf_free(&line);
		}
		free(to);
	}
	if (r.flags & JR_ABORTED) {
		/* Killed because we are stopping: not an attempt, the job is still to do. */
		s->output_lost = 0;
		results_discard(j->seq);
		jq_push(&sup.retry, j);
		return;
	}
	/* The attempt ended: its result files take their names. */
	if (results_on() && j->step == 0) {
		int e = results_finish(j->seq, j->text);
		if (e != 0 && s->output_lost == 0) {
			s->output_lost = e;
			sup_cannot_record("[output] results", strerror(e));
		}
	}
	if (r.flags & JR_TIMEOUT) {
		s->expect_exit = true;	/* the worker exits and is replaced */
		s->timed_out = j->seq;
	}
	if (s->output_lost != 0) {
		/*
		 * Its output is lost: no success anyone can rely on.  It
		 * fails, unretried since we are stopping, and --resume-failed
		 * runs it again once output can be written.
		 */
		r.exitval = 255;
		snprintf(reason, sizeof(reason), "its output could not be written: %s", strerror(s->output_lost));
		s->output_lost = 0;
	}
	job_finished(j, &r, reason);
}

/*
 * Write job output to our own stdout or stderr.  0, or the errno of a
 * failed write.  Once a write to a stream has failed, nothing more is
 * written to it: what follows would be glued to a line cut short, and
 * each job that had output for it fails instead (see on_result).
 */
int
sup_write_output(int stream, const char *p, size_t n)
{
	return write_output(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, p, n);
}

/*
 * Where a job's output goes: its own files ([output] results), or our
 * stdout/stderr (stream 1 or 2), in input order with keep_order.  0, or
 * the errno of a failed write.
 */
static int
job_output(const struct job *j, int stream, const char *p, size_t n)
{
	/* A step's output is the run's, not a job line's. */
	if (results_on() && j->step == 0)
		return results_output(j->seq, j->text, stream, p, n);
	if (order_on())
		return order_output(j->seq, stream, p, n);
	return sup_write_output(stream, p, n);
}

static int
write_output(int fd, const char *p, size_t n)
{
	static int broken[3];

	if (broken[fd] != 0)
		return broken[fd];
	progress_clear();
	if (write_all(fd, p, n) == 0)
		return 0;
	broken[fd] = errno;
	sup_cannot_record("job output", strerror(errno));
	return broken[fd];
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
			if (s->state == SLOT_STARTING) {
				s->state = SLOT_READY;
				log_debug("worker %d (pid %d) ready in %.1f ms", s->id, (int)s->pid,
				    (now_mono() - s->forked_at) * 1000);
			}
			s->init_failures = 0;
			sup.ever_ready = true;
			s->head_since = now_mono();
			break;
		case MSG_RECONNECTED:
			sup.reconnects++;
			break;
		case MSG_INITFAIL:
			free(s->init_err);
			s->init_err = xstrndup(m.tail, m.taillen);
			break;
		case MSG_SPAWN:
			s->cmd_pgid = m.u.spawn.pgid;
			break;
		case MSG_GROUP:
			if (s->inflight.head != NULL && s->inflight.head->seq == m.u.group.seq) {
				s->group_left = m.u.group.n;
				s->head_since = now_mono();
			}
			break;
		case MSG_INTENT:
			/* Any job of a group in hand, not only the head, may be renaming. */
			for (struct job *j = s->inflight.head; j != NULL; j = j->next) {
				if (j->seq == m.u.intent.seq) {
					j->has_intent = true;
					j->intent_dev = m.u.intent.dev;
					j->intent_ino = m.u.intent.ino;
					break;
				}
			}
			break;
		case MSG_OUTPUT:
			if (s->inflight.head == NULL || s->inflight.head->seq != m.u.output.seq)
				break;
			/*
			 * Until this job's result arrives, only this worker is
			 * read, so its output reaches ours as one block.
			 */
			if (!sup.cfg->line_buffer)
				sup.streaming = s;
			if (s->output_lost == 0)
				s->output_lost = job_output(s->inflight.head, m.u.output.stream == 2 ? 2 : 1,
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
read_pipe(struct slot *s)
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
			if (sup.streaming == s)
				sup.streaming = NULL;
		}
		break;
	}
}

/*
 * While another worker's job is writing its output, this one waits in its
 * pipe: both may have been ready in one poll, and the first one read may
 * have started a block the second must not break into.
 */
void
slot_read(struct slot *s)
{
	if (sup.streaming == NULL || sup.streaming == s)
		read_pipe(s);
}

void
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
		s->retired_at = now_mono();
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

bool
slot_wanted(const struct slot *s)
{
	if (s->doomed || s->disabled)
		return false;
	return s->id <= (s->candidate ? (int)sup.next_cfg->workers : sup.nworkers);
}

bool
want_workers(void)
{
	if (sup.stopping || sup.exit_code != 0)
		return false;
	if (sup.opt->service)
		return true;
	return !sup.finishing;
}

/* Schedule the slot's next worker, with backoff when the last one died young. */
void
slot_schedule(struct slot *s, bool crashed)
{
	double now = now_mono();
	bool healthy = s->done > 0 || now - s->forked_at >= HEALTHY_UPTIME;

	if (!slot_wanted(s) || !want_workers()) {
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

	/* Whatever it wrote before dying is still in the pipe: its results above all. */
	read_pipe(s);
	slot_close_fds(s);
	describe_status(how, sizeof(how), status);

	/* A command it was running would otherwise outlive it and run twice. */
	if (s->cmd_pgid > 0)
		killpg(s->cmd_pgid, SIGKILL);
	s->cmd_pgid = 0;

	if (!planned && !init_failed)
		held = jq_pop(&s->inflight);
	jq_prepend(&sup.retry, &s->inflight);

	if (s->candidate) {
		/* It never held a job: the reload it was started for is over. */
		char why[800];
		snprintf(why, sizeof(why), "new worker %d %s", s->id,
		    init_failed && s->init_err != NULL ? s->init_err : how);
		sup_reload_failed(why);
	} else if (s->doomed) {
		log_debug("worker %d (pid %d) of an old configuration %s", s->id, (int)s->pid, how);
	} else if (init_failed) {
		const char *why = s->init_err ? s->init_err : "init hook failed";
		s->init_failures++;
		if (!sup.ever_ready && !sup.opt->dry_run && !sup.opt->service) {
			/* Said once, with the count, as the run ends (init_failure_report). */
			if (sup.init_fatal == NULL)
				sup.init_fatal = xstrdup(why);
			sup.init_fatal_n++;
		} else if (sup.init_said != NULL && strcmp(sup.init_said, why) == 0) {
			sup.init_same++;
			log_debug("worker %d could not start: %s", s->id, why);
		} else {
			init_failure_report();
			log_warnx("worker %d could not start: %s", s->id, why);
			free(sup.init_said);
			sup.init_said = xstrdup(why);
		}
	} else if (s->hung) {
		log_warnx("worker %d (pid %d) killed: it did not exit %.0fs after it was retired (stopped?)",
		    s->id, (int)s->pid, KILL_GRACE);
	} else if (s->killed) {
		sup.restarts++;
		log_warnx("worker %d (pid %d) killed: job %" PRIu64 " ran past job_timeout",
		    s->id, (int)s->pid, held ? held->seq : 0);
	} else if (s->timed_out != 0) {
		sup.restarts++;
		log_info("worker %d replaced: job %" PRIu64 " timed out", s->id, s->timed_out);
	} else if (!planned || (!s->expect_exit && !sup.stopping)) {
		sup.restarts++;
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
			    sup.cfg->job_timeout);
		else
			snprintf(reason, sizeof(reason), "its worker %s", how);
		if (r.exitval == 0 && r.signal == 0)
			r.exitval = 255;
		results_discard(held->seq);
		job_finished(held, &r, reason);
	}

	s->state = SLOT_EMPTY;
	s->pid = 0;
	if (init_failed && !sup.ever_ready && !sup.opt->dry_run && !sup.opt->service) {
		/* Nothing has ever started: the database is down or the config wrong. */
		if (sup.exit_code == 0)
			sup.exit_code = MPW_EXIT_INIT;
		s->restart_at = 0;
		return;
	}
	if (init_failed && !sup.opt->service && s->init_failures >= INIT_FAILURES_MAX) {
		log_debug("worker %d: giving up after %d failed starts", s->id, s->init_failures);
		s->disabled = true;
	}
	slot_schedule(s, !planned || init_failed);
}

/*
 * Say what start-up failures were not said one by one: before any worker
 * started, the reason and how many failed; later, how many more failed
 * the same way as the last one logged.
 */
void
init_failure_report(void)
{
	if (sup.init_fatal != NULL) {
		char n[48] = "";
		if (sup.init_fatal_n > 1)
			snprintf(n, sizeof(n), " (%u workers failed)", sup.init_fatal_n);
		log_errorx("workers cannot start: %s%s", sup.init_fatal, n);
		free(sup.init_fatal);
		sup.init_fatal = NULL;
	}
	if (sup.init_same > 0)
		log_warnx("%u more worker starts failed the same way", sup.init_same);
	sup.init_same = 0;
}

static struct slot *
slot_by_pid(pid_t pid)
{
	for (int i = 0; i < sup.nslots; i++)
		if (sup.slots[i]->state != SLOT_EMPTY && sup.slots[i]->pid == pid)
			return sup.slots[i];
	return NULL;
}

/*
 * Reap every child that has exited.  Besides workers these include
 * commands orphaned by a worker's death: mpworker is their subreaper.
 */
void
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
		else
			jobsrc_reaped(sup.src, pid, status);
	}
}

