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
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "http.h"
#include "job.h"
#include "groups.h"
#include "joblog.h"
#include "order.h"
#include "results.h"
#include "jobsrc.h"
#include "log.h"
#include "msg.h"
#include "progress.h"
#include "queue.h"
#include "sdnotify.h"
#include "spool.h"
#include "sup.h"
#include "supervisor.h"
#include "util.h"

struct sup sup;

static uint64_t
jobs_finished(void)
{
	return sup.ok + sup.failed + sup.passed;
}

static int
live_workers(void)
{
	int n = 0;

	for (int i = 0; i < sup.nslots; i++)
		if (sup.slots[i]->state != SLOT_EMPTY)
			n++;
	return n;
}

static bool
input_done(void)
{
	return sup.src_eof && sup.pending.n == 0 && sup.retry.n == 0;
}

/*
 * Whether a stop left work undone.  A service's input never ends, so
 * there only jobs already read count.
 */
static bool
jobs_left(void)
{
	return sup.pending.n + sup.retry.n > 0 || (!sup.src_eof && !sup.opt->service);
}

static bool
nothing_in_flight(void)
{
	for (int i = 0; i < sup.nslots; i++)
		if (sup.slots[i]->inflight.n > 0)
			return false;
	return true;
}

static double
rate(void)
{
	double t = now_mono() - sup.started_mono;

	return t > 0 ? (double)jobs_finished() / t : 0;
}

static void
draw_progress(bool force)
{
	char extra[256];

	/* Every turn of the loop comes here: the groups' line is made only when it is drawn. */
	if (!progress_due(force))
		return;
	groups_progress(extra, sizeof(extra));
	progress_draw(jobs_finished(), sup.failed, sup.src_eof ? sup.read - sup.skipped : 0, rate(),
	    groups_on() ? extra : NULL, force);
}

/* --- dispatch ----------------------------------------------------------------- */

/*
 * How many more jobs the workers could start soon than are held, of the
 * most that would be held (*of): a window each, one more, and enough to
 * cover about LOOKAHEAD seconds of their work besides, so that a source
 * across a network (a queue) is asked in good time.
 */
#define LOOKAHEAD	0.05
static size_t
capacity(size_t *of)
{
	size_t held = sup.pending.n + sup.retry.n, ahead = 0;

	if (sup.avg_service > 0)
		ahead = (size_t)fmin(LOOKAHEAD / sup.avg_service + 0.5, (double)sup.window_max);
	*of = (size_t)sup.nworkers * ((size_t)sup.window + 1 + ahead);
	for (int i = 0; i < sup.nslots; i++)
		held += sup.slots[i]->inflight.n;
	return *of > held ? *of - held : 0;
}

/* --resume: whether an earlier run finished job seq, and whether it succeeded there. */
static bool
done_earlier(uint64_t seq)
{
	return seqset_has(sup.skip, seq);
}

static bool
done_ok(uint64_t seq)
{
	return seqset_has(sup.skip_ok != NULL ? sup.skip_ok : sup.skip, seq);
}

/* A job that no attempt could run ends here, failed, with why; retrying cannot help. */
static void
fail_unrunnable(struct job *j, const char *why)
{
	struct msg_result res = { .seq = j->seq, .start = now_wall(), .exitval = 255 };

	j->attempt = (unsigned)sup.cfg->retries;
	j->hopeless = true;
	job_finished(j, &res, why);
}

/*
 * A line read from the source as a job of group g, or NULL when it cannot
 * be run (cut short, or holding a NUL): that one is failed here.
 */
static struct job *
take_line(const struct jobline *jl, struct group *g)
{
	struct job *j = job_new(jl->seq, jl->text, jl->len);
	char why[96];

	j->attempt = jl->attempt;
	j->grp = g;
	j->watched = jl->watched;
	j->too_long = jl->too_long;
	if (!jl->too_long && !jl->has_nul)
		return j;
	if (j->too_long)
		snprintf(why, sizeof(why), "the job line is longer than %u bytes; not run", JOB_MAX_LEN);
	else
		snprintf(why, sizeof(why), "the job line holds a NUL byte at offset %zu; not run", strlen(j->text));
	fail_unrunnable(j, why);
	return NULL;
}

/* Read jobs from the source until enough are queued to keep every worker busy. */
static void
fill_pending(void)
{
	size_t want = (size_t)sup.nworkers * (size_t)sup.window_max + 64;
	struct jobline jl;

	if (!sup.src_eof && sup.stopping == 0) {
		size_t of, n = capacity(&of);
		jobsrc_want(sup.src, n, of);
	} else if (!sup.src_eof) {
		jobsrc_want(sup.src, 0, 0);	/* stopping: nothing more */
	}
	while (!sup.src_eof && sup.pending.n < want && sup.stopping == 0) {
		int r = jobsrc_next(sup.src, &jl);
		if (r == 0)
			return;
		if (r < 0) {
			sup.src_eof = true;
			groups_eof(sup.read);
			return;
		}
		jl.seq += sup.spooled;	/* the spool's jobs come first */
		sup.read++;
		bool earlier = sup.by_name != NULL ? !jl.has_nul && sup.by_name->resume_done(&sup.skip_names, jl.text) :
		    seqset_has(sup.skip, jl.seq);
		struct group *g = groups_line(jl.text, jl.len, earlier, earlier && done_ok(jl.seq));
		if (earlier) {
			sup.skipped++;
			order_done(jl.seq);
			continue;
		}
		struct job *j = take_line(&jl, g);
		if (j != NULL)
			jq_push(&sup.pending, j);
	}
}

/*
 * Queue the [jobs] then and finally steps that are due.  One whose
 * group failed ends here, recorded as failed with the reason.
 */
static void
queue_steps(void)
{
	char why[512];
	struct job *j;

	if (!groups_on() || sup.stopping || sup.exit_code)
		return;
	while ((j = groups_next_step(input_done() && nothing_in_flight(), sup.failed > 0,
	    done_earlier, done_ok, why, sizeof(why))) != NULL) {
		if (why[0] == '\0' && j->len > JOB_MAX_LEN)
			snprintf(why, sizeof(why), "the step, with its group's key, is longer than %u bytes; not run",
			    JOB_MAX_LEN);
		if (why[0] == '\0')
			jq_push(&sup.retry, j);	/* ahead of waiting jobs: a file is joined once its chunks are in */
		else
			fail_unrunnable(j, why);
	}
}

static struct job *
next_job(void)
{
	struct job *j = jq_pop(&sup.retry);

	if (j != NULL)
		return j;
	/* In keep_order, no job too far ahead of the earliest one not yet out. */
	if (sup.pending.head != NULL && !order_admits(sup.pending.head->seq))
		return NULL;
	return jq_pop(&sup.pending);
}

static bool
slot_accepts(const struct slot *s, int window)
{
	if (s->state != SLOT_READY || s->to < 0 || s->gen != sup.gen)
		return false;
	if ((int)s->inflight.n >= window)
		return false;
	return sup.cfg->max_jobs_per_worker == 0 || s->sent < (unsigned long)sup.cfg->max_jobs_per_worker;
}

static void
send_job(struct slot *s, struct job *j)
{
	struct msg_job mj = {
		.seq = j->seq, .attempt = j->attempt,
		.flags = (j->watched ? MJ_WATCHED : 0) | (j->has_intent ? MJ_INTENT : 0) | (j->step ? MJ_STEP : 0),
		.dev = j->intent_dev, .ino = j->intent_ino,
	};

	if (s->inflight.n == 0)
		s->head_since = now_mono();
	msg_put(&s->wbuf, MSG_JOB, &mj, sizeof(mj), j->text, j->len);
	jq_push(&s->inflight, j);
	s->sent++;
}

/*
 * Hand out jobs round by round, one per worker per round, so that the
 * least loaded workers fill first.  Once the source is spent, a worker
 * holds no more than its share of what is left, rounded up (guided
 * self-scheduling): the first to come back at the tail does not take
 * every last job in one pipeline while the others are a round trip from
 * asking, which would queue long jobs at the end behind one another.
 */
static void
dispatch(void)
{
	if (sup.stopping || sup.exit_code)
		return;
	int limit = sup.window;
	if (sup.src_eof && sup.nworkers > 0) {
		size_t left = sup.pending.n + sup.retry.n;
		size_t share = (left + (size_t)sup.nworkers - 1) / (size_t)sup.nworkers;
		if (share < (size_t)limit)
			limit = (int)share;
	}
	for (int round = 1; round <= limit; round++) {
		bool any = false;
		for (int i = 0; i < sup.nslots; i++) {
			struct slot *s = sup.slots[i];
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
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		/* Recycle a worker that has done its max_jobs_per_worker. */
		if (s->state == SLOT_READY && sup.cfg->max_jobs_per_worker > 0 &&
		    s->sent >= (unsigned long)sup.cfg->max_jobs_per_worker)
			slot_retire(s);
		/* Replace a worker that runs an old configuration once it is idle. */
		if (s->state == SLOT_READY && s->gen != sup.gen && !s->candidate && s->inflight.n == 0)
			slot_retire(s);
	}
}

/* Write what is queued for each worker now, rather than after the next poll. */
static void
flush_slots(void)
{
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		if (buf_pending(&s->wbuf) > 0 || s->state == SLOT_STOPPING)
			slot_write(s);
	}
}

/* --- stopping, reloading, status ------------------------------------------------ */

static void
begin_stop(int how, const char *why)
{
	double now = now_mono();

	if (how <= sup.stopping)
		return;
	if (sup.stopping == 0 && how == 1) {
		log_warnx("%s: finishing the running jobs, then stopping%s", why,
		    sup.signalled ? " (again to stop at once)" : "");
		sdn_send("STOPPING=1");
	}
	sup.stopping = how;
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		s->restart_at = 0;
		if (how == 1)
			slot_drain(s);
	}
	if (how == 1) {
		sup.term_at = sup.cfg->stop_timeout > 0 ? now + sup.cfg->stop_timeout : 0;
	} else {
		if (why != NULL)
			log_warnx("%s: stopping now", why);
		sup.term_at = now;
	}
}

void
sup_check_halt(void)
{
	const struct cfg *c = sup.cfg;
	static const char *const what[] = { "failed", "succeeded", "finished" };
	uint64_t n, total = sup.read - sup.skipped;

	if (c->halt_when == HALT_NEVER || sup.halted)
		return;
	n = c->halt_on == HALT_FAIL ? sup.failed : c->halt_on == HALT_SUCCESS ? sup.ok + sup.passed :
	    sup.ok + sup.passed + sup.failed;
	/* A percentage is of all the run's jobs, as far as the input has been read. */
	if (n == 0 || (c->halt_pct ? (double)n * 100 < c->halt_n * (double)total : (double)n < c->halt_n))
		return;
	sup.halted = true;
	char why[160];
	snprintf(why, sizeof(why), "halt %s: %" PRIu64 " jobs %s", c->halt, n, what[c->halt_on]);
	/* now: the running jobs are stopped, not recorded, and --resume runs them. */
	begin_stop(c->halt_when == HALT_NOW ? 2 : 1, why);
}

void
sup_cannot_record(const char *what, const char *error)
{
	char why[PATH_MAX + 64];

	if (sup.unrecorded)
		return;
	sup.unrecorded = true;
	snprintf(why, sizeof(why), "cannot write %s (%s)", what, error);
	begin_stop(1, why);
}

static void
signal_workers(int sig)
{
	for (int i = 0; i < sup.nslots; i++)
		if (sup.slots[i]->state != SLOT_EMPTY)
			kill(sup.slots[i]->pid, sig);
}

/* A worker's state as --status and the metrics name it. */
enum wstate { WS_BUSY, WS_IDLE, WS_STARTING, WS_STOPPING, WS_RESTARTING, WS_STOPPED, WS_COUNT };
static const char *const wstate_name[WS_COUNT] = {
	"busy", "idle", "starting", "stopping", "restarting", "stopped",
};

static enum wstate
slot_wstate(const struct slot *s)
{
	if (s->state == SLOT_EMPTY)
		return s->restart_at > 0 ? WS_RESTARTING : WS_STOPPED;
	if (s->state == SLOT_STARTING)
		return WS_STARTING;
	if (s->state == SLOT_STOPPING || s->doomed)
		return WS_STOPPING;
	return s->inflight.n > 0 ? WS_BUSY : WS_IDLE;
}

/* STATUS= and SIGUSR1's line: the workers counted as --status names them. */
static void
status_line(char *out, size_t len)
{
	int n[WS_COUNT] = { 0 };
	size_t queued = sup.pending.n + sup.retry.n;

	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		n[slot_wstate(s)]++;
		queued += s->inflight.n > 0 ? s->inflight.n - 1 : 0;
	}
	char src[192];
	jobsrc_status(sup.src, src, sizeof(src));
	char more[64] = "";
	int off = 0;
	if (n[WS_STARTING] > 0)
		off += snprintf(more + off, sizeof(more) - (size_t)off, ", %d starting", n[WS_STARTING]);
	if (n[WS_STOPPING] > 0)
		snprintf(more + off, sizeof(more) - (size_t)off, ", %d stopping", n[WS_STOPPING]);
	snprintf(out, len, "%d busy, %d idle%s workers; %" PRIu64 " done, %" PRIu64 " failed, %zu queued%s%s",
	    n[WS_BUSY], n[WS_IDLE], more, sup.ok, sup.failed, queued,
	    sup.src_eof || src[0] ? "" : " (input not finished)", src);
}

static void
set_workers(int n)
{
	if (n > sup.nslots) {
		sup.slots = xrealloc(sup.slots, (size_t)n * sizeof(*sup.slots));
		for (int i = sup.nslots; i < n; i++) {
			struct slot *s = xcalloc(1, sizeof(*s));
			s->id = i + 1;
			s->to = s->from = -1;
			sup.slots[i] = s;
		}
		sup.nslots = n;
	}
	sup.nworkers = n;
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		if (s->id > n)
			slot_retire(s);
		else if (s->state == SLOT_EMPTY && !s->disabled && s->restart_at == 0)
			s->restart_at = now_mono();
	}
}

int
sup_apply_overrides(struct cfg *cfg, const struct sup_opts *opts, char *err, size_t errlen)
{
	char msg[512];

	if (opts->workers != NULL && cfg_set(cfg, "pool", "workers", opts->workers, msg, sizeof(msg)) < 0)
		return snprintf(err, errlen, "-j: %s", msg), -1;
	if (opts->joblog != NULL && cfg_set(cfg, "pool", "joblog", opts->joblog, msg, sizeof(msg)) < 0)
		return snprintf(err, errlen, "--joblog: %s", msg), -1;
	/* A dry run changes nothing: not even a new, empty database file.  Its plan reads in input order. */
	if (opts->dry_run) {
		cfg->db_create = false;
		cfg->keep_order = true;
	}
	return 0;
}

/*
 * SIGHUP, or "reload" on the status socket, in service mode: load the
 * INI again, with the command line's overrides; if it is valid, a new
 * pool starts with it beside the old one (see reload_done).  The job
 * source keeps its settings until restart.  0 when the new pool is
 * starting, or -1 with why (logged too) when the reload is not done.
 */
static int
reload(char *why, size_t whylen)
{
	char err[4096];
	struct cfg *n;

	if (!sup.opt->service) {
		snprintf(why, whylen, "only a service reloads its configuration");
		log_info("SIGHUP ignored: %s", why);
		return -1;
	}
	if (sup.opt->config == NULL) {
		snprintf(why, whylen, "the configuration came from the command line, not a file");
		log_info("SIGHUP ignored: %s", why);
		return -1;
	}
	if (sup.next_cfg != NULL) {
		snprintf(why, whylen, "a reload is under way already");
		log_info("SIGHUP ignored: %s", why);
		return -1;
	}
	sdn_send("RELOADING=1");
	n = cfg_load(sup.opt->config, &sup.opt->overrides, err, sizeof(err));
	if (n != NULL && sup_apply_overrides(n, sup.opt, err, sizeof(err)) < 0) {
		cfg_free(n);
		n = NULL;
	}
	if (n == NULL) {
		log_warnx("reload failed; still running the old configuration:\n%s", err);
		snprintf(why, whylen, "%s", err);
	} else if (strcmp(n->type, sup.cfg->type) != 0) {
		snprintf(why, whylen, "[jobs] type changed from %s to %s; that needs a restart", sup.cfg->type, n->type);
	} else if (strcmp(n->source, sup.cfg->source) != 0) {
		snprintf(why, whylen, "[jobs] source changed from %s to %s; that needs a restart",
		    sup.cfg->source, n->source);
	} else {
		why[0] = '\0';
	}
	if (n == NULL || why[0] != '\0') {
		if (n != NULL)
			log_warnx("reload refused: %s", why);
		cfg_free(n);
		sdn_send("READY=1");
		return -1;
	}
	memcpy(n->ledger_run, sup.cfg->ledger_run, sizeof(n->ledger_run));
	memcpy(n->q_owner, sup.cfg->q_owner, sizeof(n->q_owner));
	/* The new workers start beside the old ones, which serve until all of them are ready. */
	sup.next_cfg = n;
	sup.reload_deadline = now_mono() + RELOAD_TIMEOUT;
	sup.slots = xrealloc(sup.slots, (size_t)(sup.nslots + n->workers) * sizeof(*sup.slots));
	for (long i = 0; i < n->workers; i++) {
		struct slot *s = xcalloc(1, sizeof(*s));
		s->id = (int)i + 1;
		s->to = s->from = -1;
		s->candidate = true;
		s->restart_at = now_mono();
		sup.slots[sup.nslots++] = s;
	}
	log_info("reloading %s: starting %ld workers with it", n->path, n->workers);
	return 0;
}

/* A reload's new workers are all ready: they take over, and the old ones go when done. */
static void
reload_done(void)
{
	struct cfg *n = sup.next_cfg;
	struct slot **slots = xcalloc((size_t)sup.nslots, sizeof(*slots));
	int k = 0;

	for (int i = 0; i < sup.nslots; i++)
		if (sup.slots[i]->candidate)
			slots[k++] = sup.slots[i];
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		if (s->candidate) {
			s->candidate = false;
			continue;
		}
		s->doomed = true;
		s->restart_at = 0;
		slot_retire(s);
		slots[k++] = s;
	}
	free(sup.slots);
	sup.slots = slots;
	if (sup.cfg != sup.src_cfg)
		cfg_free(sup.cfg);
	sup.cfg = n;
	sup.next_cfg = NULL;
	sup.nworkers = (int)n->workers;
	window_limits();
	sup.gen++;
	sup.notified_ready = false;
	log_info("reloaded %s: %ld workers", n->path, n->workers);
	char what[600];
	snprintf(what, sizeof(what), "reloaded %s: %ld workers", n->path, n->workers);
	ctl_reload_done(true, what);
}

void
sup_reload_failed(const char *why)
{
	if (sup.next_cfg == NULL)
		return;
	log_errorx("reload failed: %s; still running the old configuration", why);
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		if (!s->candidate)
			continue;
		s->candidate = false;
		s->doomed = true;
		s->restart_at = 0;
		if (s->state != SLOT_EMPTY) {
			s->expect_exit = true;
			kill(s->pid, SIGKILL);
		}
	}
	cfg_free(sup.next_cfg);
	sup.next_cfg = NULL;
	sdn_send("READY=1");
	ctl_reload_done(false, why);
}

/*
 * Each turn: a reload done or timed out, and the slots of old workers
 * that have gone, removed.
 */
static void
tend_slots(double now)
{
	if (sup.next_cfg != NULL) {
		bool all = true;
		for (int i = 0; i < sup.nslots; i++)
			if (sup.slots[i]->candidate && sup.slots[i]->state != SLOT_READY)
				all = false;
		if (sup.stopping)
			sup_reload_failed("mpworker is stopping");
		else if (all)
			reload_done();
		else if (now >= sup.reload_deadline)
			sup_reload_failed("the new workers were not ready in time");
	}
	int k = 0;
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		if (s->doomed && s->state == SLOT_EMPTY) {
			slot_free(s);
			continue;
		}
		sup.slots[k++] = s;
	}
	sup.nslots = k;
}

static void
handle_signals(void)
{
	struct signalfd_siginfo si;
	char line[512];

	while (read(sup.sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap();
			break;
		case SIGINT:
		case SIGTERM:
			sup.signalled = true;
			begin_stop(sup.stopping ? 2 : 1, strsignal((int)si.ssi_signo));
			break;
		case SIGHUP:
			reload(line, sizeof(line));
			break;
		case SIGUSR1:
			status_line(line, sizeof(line));
			log_asked("status: %s", line);
			break;
		}
	}
}

/* --- the loop ----------------------------------------------------------------- */

static void
start_due_workers(double now)
{
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		if (s->state != SLOT_EMPTY || s->restart_at == 0 || s->restart_at > now)
			continue;
		if (!want_workers() || !slot_wanted(s)) {
			s->restart_at = 0;
			continue;
		}
		if (slot_start(s) < 0)
			slot_schedule(s, true);
	}
}

/*
 * When a worker's job in hand has overrun job_timeout and the kill grace.
 * A group's results come at its end, so it gets job_timeout per job.
 */
static double
slot_deadline(const struct slot *s)
{
	double n = s->group_left > 1 ? s->group_left : 1;

	return s->head_since + n * sup.cfg->job_timeout + TIMEOUT_GRACE;
}

/*
 * Kill a worker whose job has overrun job_timeout and its own kill grace,
 * and one that has not exited KILL_GRACE after it was retired with
 * nothing in hand (stopped, or stuck): the run must end.
 */
static void
check_timeouts(double now)
{
	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		if (s->state == SLOT_STOPPING && s->retired_at > 0 && !s->hung && now >= s->retired_at + KILL_GRACE) {
			s->hung = true;
			kill(s->pid, SIGKILL);
			continue;
		}
		if (sup.cfg->job_timeout <= 0 || s->state == SLOT_EMPTY || s->killed || s->inflight.n == 0)
			continue;
		if (now >= slot_deadline(s)) {
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

	for (int i = 0; i < sup.nworkers && i < sup.nslots; i++)
		if (!sup.slots[i]->disabled)
			all_disabled = false;
	const char *why = jobsrc_failed(sup.src);
	if (why != NULL && sup.exit_code == 0) {
		log_errorx("%s; stopping", why);
		sup.exit_code = MPW_EXIT_INIT;
	}
	if (all_disabled && sup.exit_code == 0 && !input_done()) {
		init_failure_report();
		log_errorx("no worker could start (each tried %d times); stopping", INIT_FAILURES_MAX);
		sup.exit_code = MPW_EXIT_INIT;
	}
	if (sup.exit_code != 0 && sup.stopping < 2)
		begin_stop(2, NULL);
	if (sup.opt->service || sup.finishing || sup.stopping)
		return;
	if (input_done() && nothing_in_flight()) {
		sup.finishing = true;
		for (int i = 0; i < sup.nslots; i++) {
			sup.slots[i]->restart_at = 0;
			slot_retire(sup.slots[i]);
		}
	}
}

static void
notify(double now)
{
	char line[512];

	if (!sup.notified_ready) {
		int ready = 0;
		for (int i = 0; i < sup.nworkers; i++)
			if (sup.slots[i]->state == SLOT_READY && sup.slots[i]->gen == sup.gen)
				ready++;
		if (ready == sup.nworkers || (!sup.opt->service && sup.finishing)) {
			sdn_send("READY=1");
			sup.notified_ready = true;
			log_debug("%s %d worker%s ready after %.3fs", sup.nworkers == 1 ? "the" : "all",
			    sup.nworkers, sup.nworkers == 1 ? "" : "s", now - sup.started_mono);
		}
	}
	if (now >= sup.next_status) {
		status_line(line, sizeof(line));
		sdn_send("STATUS=%s", line);
		sup.next_status = now + 1;
	}
	if (sdn_watchdog_interval() > 0 && now >= sup.next_watchdog) {
		sdn_send("WATCHDOG=1");
		sup.next_watchdog = now + sdn_watchdog_interval() / 2;
	}
}

/* The poll timeout: until the next timer is due, at most a second. */
static int
poll_timeout(double now)
{
	double next = now + 1.0;

	for (int i = 0; i < sup.nslots; i++) {
		struct slot *s = sup.slots[i];
		if (s->state == SLOT_EMPTY && s->restart_at > 0)
			next = fmin(next, s->restart_at);
		if (s->state != SLOT_EMPTY && sup.cfg->job_timeout > 0 && s->inflight.n > 0 && !s->killed)
			next = fmin(next, slot_deadline(s));
		if (s->state == SLOT_STOPPING && s->retired_at > 0 && !s->hung)
			next = fmin(next, s->retired_at + KILL_GRACE);
	}
	double src = jobsrc_timer(sup.src);
	if (src > 0)
		next = fmin(next, src);
	if (sup.term_at > 0)
		next = fmin(next, sup.term_at);
	if (sup.kill_at > 0)
		next = fmin(next, sup.kill_at);
	if (progress_enabled())
		next = fmin(next, now + 0.2);
	if (sdn_watchdog_interval() > 0)
		next = fmin(next, sup.next_watchdog);
	return poll_ms(next - now);
}

static void
record_flush(void)
{
	if (sup.joblog != NULL && joblog_flush(sup.joblog) < 0 && !sup.unrecorded) {
		char what[PATH_MAX + 16];
		snprintf(what, sizeof(what), "the joblog %s", joblog_path(sup.joblog));
		sup_cannot_record(what, joblog_error(sup.joblog));
	}
}

static int
run_loop(void)
{
	struct pollfd *pfd = NULL;
	struct slot **owner = NULL;
	size_t cap = 0;

	for (;;) {
		double now = now_mono();

		if (sup.stopping && sup.term_at > 0 && now >= sup.term_at) {
			signal_workers(SIGTERM);
			sup.term_at = 0;
			sup.kill_at = now + KILL_GRACE;
		}
		if (sup.kill_at > 0 && now >= sup.kill_at) {
			signal_workers(SIGKILL);
			sup.kill_at = now + 3600;
		}
		tend_slots(now);
		start_due_workers(now);
		fill_pending();
		queue_steps();
		dispatch();
		check_finished();
		flush_slots();
		record_flush();
		notify(now);
		draw_progress(false);
		if ((sup.finishing || sup.stopping) && live_workers() == 0)
			break;

		size_t need = (size_t)sup.nslots * 2 + 2 + CTL_CLIENTS + 1 + 1;
		if (need > cap) {
			cap = need;
			pfd = xrealloc(pfd, cap * sizeof(*pfd));
			owner = xrealloc(owner, cap * sizeof(*owner));
		}
		size_t n = 0;
		pfd[n] = (struct pollfd){ .fd = sup.sigfd, .events = POLLIN };
		owner[n++] = NULL;
		short srcev;
		int srcfd = sup.src_eof || sup.stopping ? -1 : jobsrc_fd(sup.src, &srcev);
		/* A source that settles its jobs also takes their outcomes: always heard. */
		if (srcfd >= 0 && (jobsrc_settles(sup.src) ||
		    sup.pending.n < (size_t)sup.nworkers * (size_t)sup.window_max)) {
			pfd[n] = (struct pollfd){ .fd = srcfd, .events = srcev };
			owner[n++] = NULL;
		}
		for (int i = 0; i < sup.nslots; i++) {
			struct slot *s = sup.slots[i];
			if (s->from >= 0 && (sup.streaming == NULL || sup.streaming == s)) {
				pfd[n] = (struct pollfd){ .fd = s->from, .events = POLLIN };
				owner[n++] = s;
			}
			if (s->to >= 0 && buf_pending(&s->wbuf) > 0) {
				pfd[n] = (struct pollfd){ .fd = s->to, .events = POLLOUT };
				owner[n++] = s;
			}
		}
		/* HTTP's descriptor only wakes us: http_run() below does its work every turn. */
		size_t http_at = n, http_n = http_pollfds(pfd + n);
		n += http_n;
		size_t ctl_first = n;
		n += ctl_pollfds(pfd + n);
		int r = poll(pfd, n, poll_timeout(now));
		if (r < 0 && errno != EINTR)
			fatal("poll");
		for (size_t i = 0; r > 0 && i < n; i++) {
			if (pfd[i].revents == 0 || (http_n > 0 && i == http_at))
				continue;
			if (i >= ctl_first)
				ctl_event(&pfd[i]);
			else if (pfd[i].fd == sup.sigfd)
				handle_signals();
			else if (owner[i] == NULL)
				jobsrc_ready(sup.src, pfd[i].revents);
			else if (pfd[i].events & POLLIN)
				slot_read(owner[i]);
			else
				slot_write(owner[i]);
		}
		now = now_mono();
		check_timeouts(now);
		ctl_tick(now);
		http_run();
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
	if (!sup.opt->report)
		return;
	n = snprintf(line, sizeof(line),
	    "%" PRIu64 " job%s: %" PRIu64 " succeeded, %" PRIu64 " failed, %" PRIu64
	    " retried; %" PRIu64 " worker%s replaced; %.2fs, %.1f jobs/s",
	    jobs_finished(), jobs_finished() == 1 ? "" : "s", sup.ok, sup.failed, sup.retried, sup.restarts,
	    sup.restarts == 1 ? "" : "s", wall,
	    wall > 0 ? (double)jobs_finished() / wall : 0.0);
	if (sup.passed > 0 && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n,
		    "; %" PRIu64 " had nothing to do (no mapping)", sup.passed);
	if (sup.skipped > 0 && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n,
		    "; %" PRIu64 " skipped (already in the joblog)", sup.skipped);
	if (sup.fenced > 0 && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n,
		    "; %" PRIu64 " lost their lease (rolled back; the queue has them)", sup.fenced);
	char groups[160];
	groups_summary(groups, sizeof(groups));
	if (groups[0] != '\0' && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, "; %s", groups);
	if ((sup.signalled || sup.halted) && jobs_left() && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, "; %s: %zu%s jobs not run (--resume continues)",
		    sup.halted ? "halted" : "interrupted", sup.pending.n + sup.retry.n, sup.src_eof ? "" : "+");
	log_asked("%s", line);
}

/*
 * Close the joblog, writing what is still queued.  Records that cannot be
 * written are results nobody will know of: say how many, since a --resume
 * would run those jobs again.
 */
static void
close_joblog(void)
{
	char *path, *error;
	uint64_t lost;

	if (sup.joblog == NULL)
		return;
	path = xstrdup(joblog_path(sup.joblog));
	error = joblog_error(sup.joblog) ? xstrdup(joblog_error(sup.joblog)) : NULL;
	lost = joblog_close(sup.joblog);
	sup.joblog = NULL;
	if (lost > 0) {
		log_errorx("joblog %s: %" PRIu64 " results could not be written (%s); "
		    "a --resume would run those jobs again", path, lost, error ? error : "write failed");
		sup.unrecorded = true;
	} else if (error != NULL) {
		log_warnx("joblog %s: every result was written in the end, after: %s", path, error);
	}
	free(path);
	free(error);
}

static void
count_rename(void *arg, const char *command)
{
	if (strncmp(command, "mv -n -- ", 9) == 0)
		(*(uint64_t *)arg)++;
}

/*
 * A run that starts its joblog over would erase the only record --undo
 * has of earlier renames: a rename run refuses to, unless --force.  (The
 * check reads the file without its lock; a run holding it is refused at
 * the lock anyway.)
 */
static int
keeps_undo_record(char *err, size_t errlen)
{
	const struct job_kind *k = job_kind_find(sup.cfg->type);
	struct seqset *done = NULL;
	uint64_t n, renames = 0;

	if (sup.cfg->joblog == NULL || sup.opt->dry_run || sup.opt->resume || sup.opt->resume_failed ||
	    sup.opt->force || k == NULL || k->resume_names == NULL)
		return 0;
	int rc = joblog_read_done(sup.cfg->joblog, false, &done, NULL, &n, count_rename, &renames, err, errlen);
	seqset_free(done);
	if (rc < 0)
		return -1;
	if (renames > 0) {
		snprintf(err, errlen, "joblog %s records %" PRIu64 " renames, which --undo needs:"
		    " continue with --resume, undo them first (--undo), move the joblog away,"
		    " or start it over with --force", sup.cfg->joblog, renames);
		return -1;
	}
	return 0;
}

/* --resume of a kind that knows jobs by text: what the joblog says is done. */
static void
resume_name(void *arg, const char *command)
{
	const struct job_kind *k = arg;

	k->resume_names(command, &sup.skip_names);
}

/* Every job held from the source, for it to tell (jobsrc_held_fn). */
static void
each_held(void (*fn)(void *arg, uint64_t seq, unsigned attempt), void *arg)
{
	const struct jobq *q[] = { &sup.pending, &sup.retry };

	for (size_t i = 0; i < MPW_ARRAY_LEN(q); i++)
		for (const struct job *j = q[i]->head; j != NULL; j = j->next)
			fn(arg, j->seq, j->attempt);
	for (int i = 0; i < sup.nslots; i++)
		for (const struct job *j = sup.slots[i]->inflight.head; j != NULL; j = j->next)
			fn(arg, j->seq, j->attempt);
}

/* --- status and metrics (the status socket) ------------------------------------ */

static const double dur_bounds[] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300 };
_Static_assert(MPW_ARRAY_LEN(dur_bounds) == MPW_ARRAY_LEN(sup.dur_count), "a count for every bucket");

void
sup_observe_duration(double seconds)
{
	for (size_t i = 0; i < MPW_ARRAY_LEN(dur_bounds); i++)
		if (seconds <= dur_bounds[i])
			sup.dur_count[i]++;
	sup.dur_n++;
	sup.dur_sum += seconds;
}

/* s as a JSON string. */
static void
json_str(struct buf *out, const char *s)
{
	buf_add(out, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(out, "\\u%04x", c);
		else
			buf_add(out, s, 1);
	}
	buf_add(out, "\"", 1);
}

static size_t
in_flight(void)
{
	size_t n = 0;

	for (int i = 0; i < sup.nslots; i++)
		n += sup.slots[i]->inflight.n;
	return n;
}

static void
status_report(struct buf *out, bool json)
{
	double now = now_mono(), up = now - sup.started_mono;
	char src[192];
	const struct cfg *c = sup.cfg;

	jobsrc_status(sup.src, src, sizeof(src));
	if (json) {
		buf_printf(out, "{\"pid\":%d,\"service\":%s,\"uptime_seconds\":%.3f,\"config\":", (int)getpid(),
		    sup.opt->service ? "true" : "false", up);
		json_str(out, sup.opt->config != NULL ? sup.opt->config : "");
		buf_printf(out, ",\"type\":");
		json_str(out, c->type);
		buf_printf(out, ",\"workers_wanted\":%d,\"reloading\":%s,\"workers\":[", sup.nworkers,
		    sup.next_cfg != NULL ? "true" : "false");
	} else {
		buf_printf(out, "mpworker %s, pid %d%s, up %.1fs; %s, %s jobs, %d workers%s\n", PACKAGE_VERSION,
		    (int)getpid(), sup.opt->service ? ", service" : "", up,
		    sup.opt->config != NULL ? sup.opt->config : "(command line)", c->type, sup.nworkers,
		    sup.next_cfg != NULL ? " (a reload is starting its workers)" : "");
		buf_printf(out, "%-5s %-8s %-10s %-10s %9s %9s %8s\n", "slot", "pid", "state", "job", "for", "done",
		    "restarts");
	}
	for (int i = 0; i < sup.nslots; i++) {
		const struct slot *s = sup.slots[i];
		const struct job *j = s->inflight.head;
		double held = j != NULL ? now - s->head_since : 0;
		unsigned restarts = s->starts > 0 ? s->starts - 1 : 0;
		if (json) {
			buf_printf(out, "%s{\"slot\":%d,\"pid\":%d,\"state\":\"%s\",\"new\":%s,\"job\":", i ? "," : "",
			    s->id, (int)s->pid, wstate_name[slot_wstate(s)], s->candidate ? "true" : "false");
			if (j != NULL)
				buf_printf(out, "%" PRIu64 ",\"job_seconds\":%.3f", j->seq, held);
			else
				buf_printf(out, "null,\"job_seconds\":null");
			buf_printf(out, ",\"jobs_held\":%zu,\"done\":%lu,\"restarts\":%u}", s->inflight.n, s->done, restarts);
		} else {
			char job[24] = "-", dur[24] = "-";
			if (j != NULL) {
				snprintf(job, sizeof(job), "%" PRIu64, j->seq);
				snprintf(dur, sizeof(dur), "%.2fs", held);
			}
			buf_printf(out, "%-5d %-8d %-10s %-10s %9s %9lu %8u%s\n", s->id, (int)s->pid, wstate_name[slot_wstate(s)],
			    job, dur, s->done, restarts, s->candidate ? "  (new)" : "");
		}
	}
	size_t pending = sup.pending.n + sup.retry.n;
	if (json) {
		buf_printf(out, "],\"totals\":{\"succeeded\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"skipped\":%" PRIu64
		    ",\"retried\":%" PRIu64 ",\"pending\":%zu,\"in_flight\":%zu,\"worker_restarts\":%" PRIu64 ",\"db_reconnects\":%" PRIu64
		    ",\"jobs_per_second\":%.3f},\"source\":", sup.ok, sup.failed, sup.passed, sup.retried, pending,
		    in_flight(), sup.restarts, sup.reconnects, rate());
		json_str(out, src[0] != '\0' ? src + (src[0] == ';' ? 2 : 0) : "");
		buf_printf(out, "}\n");
	} else {
		buf_printf(out, "totals: %" PRIu64 " succeeded, %" PRIu64 " failed, %" PRIu64 " retried; %zu pending,"
		    " %zu in flight; %.1f jobs/s%s\n", sup.ok, sup.failed, sup.retried, pending, in_flight(), rate(), src);
	}
}

static void
metric_head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_report(struct buf *out)
{
	const char *k = sup.cfg->type;
	int n[WS_COUNT] = { 0 };

	for (int i = 0; i < sup.nslots; i++)
		n[slot_wstate(sup.slots[i])]++;
	metric_head(out, "mpworker_jobs_total", "counter", "Jobs finished, by kind and outcome (after retries).");
	buf_printf(out, "mpworker_jobs_total{kind=\"%s\",outcome=\"succeeded\"} %" PRIu64 "\n", k, sup.ok);
	buf_printf(out, "mpworker_jobs_total{kind=\"%s\",outcome=\"failed\"} %" PRIu64 "\n", k, sup.failed);
	buf_printf(out, "mpworker_jobs_total{kind=\"%s\",outcome=\"skipped\"} %" PRIu64 "\n", k, sup.passed);
	metric_head(out, "mpworker_job_retries_total", "counter", "Failed attempts that were tried again.");
	buf_printf(out, "mpworker_job_retries_total{kind=\"%s\"} %" PRIu64 "\n", k, sup.retried);
	metric_head(out, "mpworker_worker_restarts_total", "counter",
	    "Workers replaced after they died or a job ran past its timeout.");
	buf_printf(out, "mpworker_worker_restarts_total %" PRIu64 "\n", sup.restarts);
	struct jobsrc_qstate q;
	bool queue = sup.src != NULL && jobsrc_queue_state(sup.src, &q);
	metric_head(out, "mpworker_db_reconnects_total", "counter",
	    "Database connections lost and opened again, by the process that held them.");
	buf_printf(out, "mpworker_db_reconnects_total{process=\"worker\"} %" PRIu64 "\n", sup.reconnects);
	if (queue)
		buf_printf(out, "mpworker_db_reconnects_total{process=\"claimer\"} %" PRIu64 "\n", q.reconnects);
	if (queue && q.known) {
		metric_head(out, "mpworker_queue_jobs", "gauge", "Jobs in the queue table, by state.");
		buf_printf(out, "mpworker_queue_jobs{state=\"ready\"} %" PRId64 "\n"
		    "mpworker_queue_jobs{state=\"running\"} %" PRId64 "\n"
		    "mpworker_queue_jobs{state=\"waiting\"} %" PRId64 "\n"
		    "mpworker_queue_jobs{state=\"dead\"} %" PRId64 "\n", q.ready, q.running, q.waiting, q.dead);
		metric_head(out, "mpworker_queue_oldest_ready_age_seconds", "gauge",
		    "How long the oldest ready job of the queue has waited.");
		buf_printf(out, "mpworker_queue_oldest_ready_age_seconds %.3f\n", q.oldest_ready);
	}
	metric_head(out, "mpworker_workers", "gauge", "Worker processes, by state.");
	for (enum wstate w = WS_BUSY; w <= WS_STOPPING; w++)	/* processes: not the empty slots */
		buf_printf(out, "mpworker_workers{state=\"%s\"} %d\n", wstate_name[w], n[w]);
	metric_head(out, "mpworker_jobs_in_flight", "gauge", "Jobs handed to workers and not finished.");
	buf_printf(out, "mpworker_jobs_in_flight %zu\n", in_flight());
	metric_head(out, "mpworker_jobs_pending", "gauge", "Jobs read and waiting for a worker.");
	buf_printf(out, "mpworker_jobs_pending %zu\n", sup.pending.n + sup.retry.n);
	metric_head(out, "mpworker_job_duration_seconds", "histogram", "How long job attempts ran.");
	for (size_t i = 0; i < MPW_ARRAY_LEN(dur_bounds); i++)
		buf_printf(out, "mpworker_job_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", dur_bounds[i],
		    sup.dur_count[i]);
	buf_printf(out, "mpworker_job_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", sup.dur_n);
	buf_printf(out, "mpworker_job_duration_seconds_sum %.6f\nmpworker_job_duration_seconds_count %" PRIu64 "\n",
	    sup.dur_sum, sup.dur_n);
	metric_head(out, "mpworker_start_time_seconds", "gauge", "When this mpworker started, since the epoch.");
	buf_printf(out, "mpworker_start_time_seconds %.3f\n", sup.started_wall);
}

static const struct ctl_ops ctl_ops = {
	.status = status_report,
	.metrics = metrics_report,
	.reload = reload,
};

/* --- the spool ------------------------------------------------------------------ */

/* Whether the jobs come from a stream, which cannot be read again: a FIFO, a pipe, a socket. */
static bool
input_is_stream(const struct cfg *cfg)
{
	struct stat st;

	if (cfg->file == NULL)
		return false;
	if (strcmp(cfg->file, "-") == 0 ? fstat(STDIN_FILENO, &st) < 0 : stat(cfg->file, &st) < 0)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode);
}

/*
 * A service reading a stream keeps, next to its joblog, the jobs a stop
 * left unrun (spool.h); at start they are the first jobs.
 */
static int
open_spool(char *err, size_t errlen)
{
	const struct cfg *c = sup.cfg;

	if (!sup.opt->service || sup.opt->dry_run || c->joblog == NULL || queue_on(c) ||
	    strcmp(c->type, "rename") == 0 || !input_is_stream(c))
		return 0;
	sup.spool = xasprintf("%s.spool", c->joblog);
	long n = spool_load(sup.spool, &sup.pending, err, errlen);
	if (n < 0)
		return -1;
	if (n > 0) {
		sup.spooled = sup.spool_left = (uint64_t)n;
		sup.read = (uint64_t)n;
		log_info("%ld jobs an earlier stop left unrun are run first (from %s)", n, sup.spool);
	}
	return 0;
}

void
sup_spool_job_done(void)
{
	char err[512];
	static const struct jobq none;

	if (sup.spool_left == 0 || --sup.spool_left > 0)
		return;
	if (spool_save(sup.spool, &none, &none, err, sizeof(err)) < 0)
		log_warnx("%s", err);
	else
		log_debug("every job of the spool %s has run; removed it", sup.spool);
}

/*
 * At a service's stop: what it read and did not run, and what the
 * stream already holds, goes to the spool.
 */
static void
save_spool(void)
{
	char err[512];
	struct jobline jl;

	if (sup.spool == NULL)
		return;
	while (sup.src != NULL && !sup.src_eof && jobsrc_next(sup.src, &jl) == 1) {
		/* Taken as fill_pending takes lines: one that cannot run is failed, not spooled. */
		jl.seq += sup.spooled;
		struct job *j = take_line(&jl, NULL);
		if (j != NULL)
			jq_push(&sup.pending, j);
	}
	size_t n = sup.retry.n + sup.pending.n;
	if (spool_save(sup.spool, &sup.retry, &sup.pending, err, sizeof(err)) < 0) {
		log_errorx("%s: %zu jobs read and not run are lost", err, n);
		return;
	}
	if (n > 0)
		log_info("%zu job%s read and not run kept in %s: the next start runs %s first", n,
		    n == 1 ? "" : "s", sup.spool, n == 1 ? "it" : "them");
	jq_free(&sup.retry);
	jq_free(&sup.pending);
}

static int
setup(char *err, size_t errlen)
{
	sigemptyset(&sup.sigmask);
	sigaddset(&sup.sigmask, SIGCHLD);
	sigaddset(&sup.sigmask, SIGTERM);
	sigaddset(&sup.sigmask, SIGINT);
	sigaddset(&sup.sigmask, SIGHUP);
	sigaddset(&sup.sigmask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &sup.sigmask, NULL) < 0)
		return snprintf(err, errlen, "sigprocmask: %s", strerror(errno)), -1;
	sup.sigfd = signalfd(-1, &sup.sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sup.sigfd < 0)
		return snprintf(err, errlen, "signalfd: %s", strerror(errno)), -1;
	/* Writes to a worker that died must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* Commands orphaned by a dead worker come to us, so we can stop and reap them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	if (sup.cfg->watch && !sup.opt->service)
		log_info("[rename] watch takes effect with --service only");
	if (queue_on(sup.cfg)) {
		if (sup.opt->dry_run)
			return snprintf(err, errlen, "--dry-run does not claim jobs from a queue;"
			    " mpworker --queue-status shows what waits there"), -1;
		if (sup.opt->resume || sup.opt->resume_failed)
			return snprintf(err, errlen, "%s: the queue itself keeps what is left to do; run again without it",
			    sup.opt->resume ? "--resume" : "--resume-failed"), -1;
		if (queue_set_owner(sup.cfg, err, errlen) < 0)
			return -1;
		log_debug("queue: this host is %s", sup.cfg->q_owner);
	}
	sup.src = jobsrc_open(sup.src_cfg, sup.opt->service, err, errlen);
	if (sup.src != NULL)
		sup.src->held = each_held;
	if (sup.src != NULL && jobsrc_failed(sup.src) != NULL) {
		snprintf(err, errlen, "%s", jobsrc_failed(sup.src));
		sup.exit_code = MPW_EXIT_INIT;
		return -1;
	}
	if (sup.src == NULL) {
		/* Name the configuration line that asked for it. */
		int line = cfg_line(sup.src_cfg, "jobs", "file");
		if (line > 0) {
			char *e = xstrdup(err);
			snprintf(err, errlen, "%s:%d: %s", sup.src_cfg->path, line, e);
			free(e);
		}
		return -1;
	}
	if (keeps_undo_record(err, errlen) < 0)
		return -1;
	if (sup.cfg->sql_ledger != NULL && sup.cfg->joblog == NULL && !sup.opt->dry_run) {
		snprintf(err, errlen, "[sql] ledger needs a joblog ([pool] joblog or --joblog): it names the run");
		return -1;
	}
	/* The joblog is locked first, so that no other run changes it under the reading. */
	if (sup.cfg->joblog != NULL && !sup.opt->dry_run) {
		/* A new run gets a new name in the ledger; a resumed one keeps its own. */
		char *run = NULL;
		if (sup.cfg->sql_ledger != NULL) {
			if (random_hex(sup.cfg->ledger_run, JOBLOG_RUN_LEN) < 0)
				return snprintf(err, errlen, "getrandom: %s", strerror(errno)), -1;
			run = sup.cfg->ledger_run;
		}
		/*
		 * A service appends, so that a restart keeps the history; its
		 * jobs are new ones (a stream's numbers start again), so its
		 * ledger run is new too unless it resumes.
		 */
		bool resuming = sup.opt->resume || sup.opt->resume_failed;
		sup.joblog = joblog_open(sup.cfg->joblog, resuming || sup.opt->service, run, resuming, err, errlen);
		if (sup.joblog == NULL)
			return -1;
	}
	if (sup.cfg->joblog != NULL && (sup.opt->resume || sup.opt->resume_failed)) {
		uint64_t n;
		const struct job_kind *k = job_kind_find(sup.cfg->type);
		sup.by_name = k != NULL && k->resume_names != NULL ? k : NULL;
		/* Steps run only after jobs that succeeded: which those are, where the set has failed ones too. */
		bool apart = (sup.cfg->group != NULL || sup.cfg->finally != NULL) && !sup.opt->resume_failed;
		if (joblog_read_done(sup.cfg->joblog, !sup.opt->resume_failed, &sup.skip, apart ? &sup.skip_ok : NULL,
		    &n, sup.by_name ? resume_name : NULL, (void *)k, err, errlen) < 0)
			return -1;
		log_info("resuming: %" PRIu64 " jobs in %s are not run again", n, sup.cfg->joblog);
	} else if (sup.opt->resume || sup.opt->resume_failed) {
		snprintf(err, errlen, "%s needs a joblog ([pool] joblog or --joblog)",
		    sup.opt->resume_failed ? "--resume-failed" : "--resume");
		return -1;
	}
	const char *sock = ctl_path(sup.cfg->status_socket, NULL);
	if (sock != NULL && (sup.cfg->status_socket != NULL || sup.opt->service) &&
	    ctl_open(sock, sup.opt->config, &ctl_ops, err, errlen) < 0)
		return -1;
	if (sup.cfg->status_listen != NULL && !sup.opt->dry_run &&
	    http_open(sup.cfg->status_listen, &ctl_ops, err, errlen) < 0)
		return -1;
	return open_spool(err, errlen);
}

/* Jobs the source handed out that never ran: it may want them back (a queue). */
static void
give_back(const struct jobq *q)
{
	for (const struct job *j = q->head; sup.src != NULL && j != NULL; j = j->next)
		jobsrc_unused(sup.src, j->seq, j->attempt);
}

static void
teardown(void)
{
	for (int i = 0; i < sup.nslots; i++)
		slot_free(sup.slots[i]);
	free(sup.slots);
	if (sup.next_cfg != NULL)
		cfg_free(sup.next_cfg);
	give_back(&sup.retry);
	give_back(&sup.pending);
	jq_free(&sup.pending);
	jq_free(&sup.retry);
	jobsrc_close(sup.src);
	close_joblog();
	seqset_free(sup.skip);
	seqset_free(sup.skip_ok);
	free(sup.spool);
	ctl_close();
	http_close();
	groups_free();
	strset_free(&sup.skip_names);
	strset_free(&sup.planned);
	if (sup.sigfd >= 0)
		close(sup.sigfd);
	if (sup.cfg != sup.src_cfg)
		cfg_free(sup.cfg);
	cfg_free(sup.src_cfg);
}

int
sup_run(struct cfg *cfg, const struct sup_opts *opts)
{
	char err[1024];
	int code;

	sup.cfg = sup.src_cfg = cfg;
	sup.opt = opts;
	sup.sigfd = -1;
	sup.window = WINDOW_MIN;
	sup.probes = WINDOW_PROBES;
	window_limits();
	sup.started_mono = now_mono();
	sup.started_wall = now_wall();
	slot_note_inherited();	/* before we open anything of our own */
	progress_init(opts->progress);
	log_set_before_write(progress_clear);
	if (setup(err, sizeof(err)) < 0) {
		log_errorx("%s", err);
		teardown();
		return sup.exit_code != 0 ? sup.exit_code : MPW_EXIT_USAGE;
	}
	order_init(cfg->keep_order);
	groups_init(cfg);
	results_init(opts->dry_run ? NULL : cfg->results);
	set_workers((int)cfg->workers);
	run_loop();
	reap();
	save_spool();
	init_failure_report();
	free(sup.init_said);
	results_close();
	uint64_t unwritten = order_finish();
	if (unwritten > 0) {
		log_errorx("%" PRIu64 " finished jobs' output could not be written, so they are not in the joblog;"
		    " a --resume runs them again", unwritten);
		sup.unrecorded = true;
	}
	sdn_send("STOPPING=1");
	close_joblog();
	report(now_mono() - sup.started_mono);

	if (sup.exit_code != 0)
		code = sup.exit_code;
	else if (sup.unrecorded)
		code = MPW_EXIT_UNRECORDED;
	else if (sup.halted && sup.cfg->halt_on == HALT_SUCCESS)
		code = sup.failed > 0 ? MPW_EXIT_FAILED : MPW_EXIT_OK;	/* what was looked for was found */
	else if (sup.halted)
		code = MPW_EXIT_HALTED;
	else if (sup.stopping && jobs_left())
		code = MPW_EXIT_INTERRUPTED;
	else if (sup.opt->service && sup.signalled)
		code = MPW_EXIT_OK;	/* stopped as asked, nothing left: failures are in the joblog */
	else
		code = sup.failed > 0 ? MPW_EXIT_FAILED : MPW_EXIT_OK;
	teardown();
	return code;
}

